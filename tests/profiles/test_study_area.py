"""The study area is the union of the districts: far stations are refused, near ones flagged."""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Transformer

from skillcircle.access.analysis import _study_crs
from skillcircle.cli import main
from skillcircle.inputs.boundaries import read_districts
from skillcircle.inputs.stations import read_stations
from skillcircle.settings import Settings

HEADER = "名称,类型,经度,纬度"
YUEXIU_STATION = ("洪桥街社区技能加油站", 113.262250, 23.139661)  # from the shipped sample
OTHERS = {
    "北京站点": (116.397, 39.909),
    "佛山站点": (113.12, 23.02),
    "深圳站点": (114.0579, 22.5431),
}
LIMIT_M = Settings().walk_distance_m + Settings().max_snap_m  # 1 000 m walk + 500 m snap


def _ledger(path, rows):
    lines = [HEADER, *(f"{n},社区型,{lon},{lat}" for n, lon, lat in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _km_from(polygons, lon, lat):
    """Distance (km) from a point to polygons, in an equidistant projection centred on it."""
    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")
    area = polygons.to_crs(aeqd).union_all()
    return shapely.distance(area, shapely.Point(0, 0)) / 1000.0


@pytest.fixture(scope="module")
def yuexiu():
    return read_districts("cnmaps:440104")


def test_other_cities_are_refused_with_their_distance(tmp_path, yuexiu):
    rows = [YUEXIU_STATION, *((n, lon, lat) for n, (lon, lat) in OTHERS.items())]
    path = _ledger(tmp_path / "mixed.csv", rows)
    result = read_stations(path, districts=yuexiu, max_distance_m=LIMIT_M)
    st = result.stations
    assert st["name"].tolist() == [YUEXIU_STATION[0]]
    assert st["district_code"].tolist() == ["440104"]
    assert st["cross_border"].tolist() == [False]
    rej = result.rejected
    assert rej["row"].tolist() == [2, 3, 4]
    assert rej["名称"].tolist() == list(OTHERS)  # the rejected rows keep their columns
    for reason, (lon, lat) in zip(rej["reason"], OTHERS.values(), strict=True):
        m = re.fullmatch(r"outside the study area \(([\d.]+) km away\): WGS84 .*", reason)
        assert m, reason
        expected = _km_from(yuexiu, lon, lat)
        assert float(m.group(1)) == pytest.approx(expected, rel=0.01, abs=0.1)
    # magnitudes, for the record: Foshan ~ 10 km, Shenzhen ~ 100 km, Beijing ~ 1 900 km
    km = [float(re.search(r"\(([\d.]+) km", r).group(1)) for r in rej["reason"]]
    assert 1800 < km[0] < 2000
    assert 5 < km[1] < 30
    assert 80 < km[2] < 130


def test_beijing_ledger_in_a_beijing_study(tmp_path):
    dongcheng = read_districts("cnmaps:110101")
    path = _ledger(tmp_path / "bj.csv", [("天安门站点", *OTHERS["北京站点"])])
    result = read_stations(path, districts=dongcheng, max_distance_m=LIMIT_M)
    assert result.stations["name"].tolist() == ["天安门站点"]
    assert result.stations["district_code"].tolist() == ["110101"]
    assert len(result.rejected) == 0
    # No city profile for Beijing: the CRS is the UTM zone of the districts (50N).
    assert _study_crs(dongcheng, codes=["110101"]) == "EPSG:32650"
    # ... and of the stations when there are no districts.
    assert _study_crs(result.stations, codes=[]) == "EPSG:32650"


def test_a_yuexiu_study_uses_the_city_profile_crs(yuexiu):
    from skillcircle.profiles.guangzhou import GUANGZHOU

    assert _study_crs(yuexiu, codes=["440104"]) == GUANGZHOU.crs


def _north_of(districts, metres):
    """WGS84 point ``metres`` due north of the districts' northernmost vertex (UTM 49N)."""
    utm = "EPSG:32649"
    xy = shapely.get_coordinates(districts.to_crs(utm).union_all())
    top = xy[np.argmax(xy[:, 1])]
    return Transformer.from_crs(utm, "EPSG:4326", always_xy=True).transform(top[0], top[1] + metres)


def test_station_300_m_outside_is_kept_as_cross_border(tmp_path, yuexiu, caplog):
    # 300 m due north of the northernmost vertex of 越秀区: 300 m from the district.
    lon, lat = _north_of(yuexiu, 300.0)
    path = _ledger(tmp_path / "edge.csv", [YUEXIU_STATION, ("边界站点", lon, lat)])
    with caplog.at_level(logging.WARNING, logger="skillcircle.inputs.stations"):
        result = read_stations(path, districts=yuexiu, max_distance_m=LIMIT_M)
    st = result.stations
    assert st["name"].tolist() == [YUEXIU_STATION[0], "边界站点"]
    assert st["cross_border"].tolist() == [False, True]
    assert st["district_code"].tolist() == ["440104", ""]
    assert "cross-border" in caplog.text
    assert "边界站点 (300 m)" in caplog.text
    # with a tighter limit the same station is refused, 0.3 km away
    tight = read_stations(path, districts=yuexiu, max_distance_m=200.0)
    assert tight.rejected["reason"].iloc[0].startswith("outside the study area (0.3 km away)")


def test_no_districts_no_study_area_check(tmp_path):
    rows = [YUEXIU_STATION, *((n, lon, lat) for n, (lon, lat) in OTHERS.items())]
    result = read_stations(_ledger(tmp_path / "all.csv", rows))
    assert len(result.stations) == 4
    assert not result.stations["cross_border"].any()


def test_stations_check_cli_uses_the_same_rule(tmp_path, capsys, yuexiu):
    rows = [
        YUEXIU_STATION,
        ("深圳站点", *OTHERS["深圳站点"]),
        ("边界站点", *_north_of(yuexiu, 300)),
    ]
    path = _ledger(tmp_path / "l.csv", rows)
    out = tmp_path / "out"
    code = main(["stations", "check", str(path), "--districts", "cnmaps:440104", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "kept 2 stations, rejected 1 rows, 1 district flags, 1 cross-border" in captured.out
    rejected = pd.read_csv(out / "stations_rejected.csv", encoding="utf-8-sig")
    assert rejected["reason"].iloc[0].startswith("outside the study area (")
    # a Beijing ledger checked against a Beijing district keeps its station
    bj = _ledger(tmp_path / "bj.csv", [("天安门站点", *OTHERS["北京站点"])])
    out_bj = tmp_path / "out_bj"
    code = main(
        ["stations", "check", str(bj), "--districts", "cnmaps:110101", "--out", str(out_bj)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "kept 1 stations, rejected 0 rows" in captured.out
