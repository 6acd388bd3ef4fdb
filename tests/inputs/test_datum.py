"""Datum fit on hand-made 街道 squares: which datum puts the rows in their stated area."""

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from skillcircle.inputs.coords import wgs84_to_gcj02
from skillcircle.inputs.datum import best_datum, better_datum, datum_fit, datum_hint, same_area


def _squares() -> gpd.GeoDataFrame:
    # two 0.004° (≈ 400 m) squares side by side in Guangzhou; GCJ-02 shifts ≈ 550 m
    return gpd.GeoDataFrame(
        {
            "subdistrict_code": ["1", "2"],
            "subdistrict_name": ["甲街道", "乙街道"],
            "district_code": ["440104", "440104"],
        },
        geometry=[
            shapely.box(113.260, 23.130, 113.264, 23.134),
            shapely.box(113.264, 23.130, 113.268, 23.134),
        ],
        crs="EPSG:4326",
    )


def _ledger(lon, lat, stated) -> pd.DataFrame:
    return pd.DataFrame({"ledger_lon": lon, "ledger_lat": lat, "ledger_subdistrict": stated})


def test_gcj02_ledger_fits_under_gcj02_only():
    lon = np.array([113.261, 113.263, 113.265, 113.267])
    lat = np.full(4, 23.132)
    glon, glat = wgs84_to_gcj02(lon, lat)
    ledger = _ledger(glon, glat, ["甲街", "甲街道", "乙街道", "乙"])
    fit = datum_fit(ledger, subdistricts=_squares())
    assert fit is not None
    assert fit["gcj02"] == (4, 4)
    assert fit["wgs84"][0] <= 1  # ~550 m off: out of both 400 m squares or in the wrong one
    assert better_datum(fit, "wgs84") == "gcj02"
    assert best_datum(fit, "wgs84") == "gcj02"
    hint = datum_hint(fit, "wgs84", "gcj02")
    assert "under gcj02 (4 of 4) but not under wgs84" in hint
    assert hint.endswith("add coords gcj02 (or coords auto)")


def test_a_fitting_ledger_or_no_stated_area_keeps_the_given_datum():
    ledger = _ledger([113.261, 113.265], [23.132, 23.132], ["甲街道", "乙街道"])
    fit = datum_fit(ledger, subdistricts=_squares())
    assert fit is not None
    assert fit["wgs84"] == (2, 2)
    assert better_datum(fit, "wgs84") is None
    assert best_datum(fit, "wgs84") == "wgs84"
    assert datum_fit(_ledger([113.261], [23.132], [""]), subdistricts=_squares()) is None
    assert best_datum(None, "bd09") == "bd09"


def test_one_row_more_is_not_clearly_better():
    fit = {"wgs84": (9, 10), "gcj02": (10, 10), "bd09": (0, 10)}
    assert better_datum(fit, "wgs84") is None  # needs 2 rows and 10 % more
    assert better_datum({**fit, "gcj02": (10, 10), "wgs84": (8, 10)}, "wgs84") == "gcj02"


def test_same_area_ignores_suffixes():
    assert same_area("洪桥街", "洪桥街道")
    assert same_area("越秀", "越秀区")
    assert not same_area("洪桥街道", "北京街道")
    assert not same_area("", "北京街道")
    assert not same_area(float("nan"), "北京街道")
