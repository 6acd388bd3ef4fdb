"""The per-station table: hand-made points for the arithmetic, the Yuexiu demo for the flags."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from skillcircle.access.accessibility import ACCESS_STATION_COLUMNS
from skillcircle.access.stationtable import (
    STATION_TABLE_COLUMNS,
    flagged_lines,
    station_table,
)
from skillcircle.inputs.coords import gcj02_to_wgs84

CRS = "EPSG:4547"
X0, Y0 = 426_000.0, 2_560_000.0


def _coverage() -> SimpleNamespace:
    # units: 100 people at the origin, 50 at 300 m east, 1000 at 2 km east
    units = gpd.GeoDataFrame(
        {"population": [100.0, 50.0, 1000.0]},
        geometry=[shapely.Point(X0, Y0), shapely.Point(X0 + 300, Y0), shapely.Point(X0 + 2000, Y0)],
        crs=CRS,
    )
    pts = gpd.GeoSeries(
        [shapely.Point(X0, Y0), shapely.Point(X0 + 400, Y0), shapely.Point(X0 + 400, Y0 + 310)],
        crs=CRS,
    )
    ll = pts.to_crs("EPSG:4326")
    stations = gpd.GeoDataFrame(
        {
            "name": ["甲", "乙", "丙"],
            "type": ["community"] * 3,
            "district_name": ["越秀区"] * 3,
            "subdistrict_name": ["洪桥街道", "北京街道", "北京街道"],
            "ledger_district": ["越秀", "越秀区", ""],
            "ledger_subdistrict": ["洪桥街", "六榕街道", None],
            "lon": ll.x.to_numpy(),
            "lat": ll.y.to_numpy(),
            "snap_distance_m": [5.0, 20.0, 700.0],
            "on_network": [True, True, False],
            "reach_population": [150.0, 10.0, 0.0],
        },
        geometry=pts,
        crs=CRS,
    )
    return SimpleNamespace(units=units, stations=stations, walk_distance_m=500.0)


def test_station_table_hand_computed():
    t = station_table(_coverage(), cut_off=np.array([False, True, True]))  # type: ignore[arg-type]
    assert tuple(t.columns) == STATION_TABLE_COLUMNS
    # within 500 m as the crow flies: 甲 and 乙 (400 m east) reach the units at 0 and 300 m;
    # 丙 (400, 310) is 510 m from the first unit and 326 m from the second
    assert t["straight_line_population"].tolist() == [150.0, 150.0, 50.0]
    assert t["reach_share_pct"].tolist() == [100.0, pytest.approx(6.7), 0.0]
    assert t["nearest_station_m"].tolist() == [400.0, 310.0, 310.0]
    assert t["off_network"].tolist() == [False, False, True]
    assert t["cut_off_piece"].tolist() == [False, True, False]  # off the network: no piece
    assert t["network_piece"].tolist() == ["main", "cut-off", "none"]
    assert t["poorly_connected"].tolist() == [False, True, False]
    assert t["ledger_area_match"].tolist() == [True, False, None]
    assert t["ledger_area_mismatch"].tolist() == [False, True, False]
    assert flagged_lines(t) == [
        "偏离路网 off the network (no street within the snap limit) (1): 丙",
        "位于断开路段 on a cut-off piece of the network (1): 乙",
        "连通性差 poorly connected (reach below 25 % of the straight-line figure: "
        "check its position on the street) (1): 乙",
        "台账区/街道不符 ledger 区/街道 differs from the map (1): 乙",
    ]


def test_cut_off_of_another_station_set_is_not_guessed():
    t = station_table(_coverage(), cut_off=np.array([True]))  # type: ignore[arg-type]
    assert not t["cut_off_piece"].any()


def test_gcj02_columns_convert_back_to_wgs84():
    cov = _coverage()
    t = station_table(cov)  # type: ignore[arg-type]
    lon, lat = gcj02_to_wgs84(t["lon_gcj02"].to_numpy(), t["lat_gcj02"].to_numpy())
    # 1e-8 degrees rounding: about 1 mm
    dx = (lon - cov.stations["lon"].to_numpy()) * 111_320 * np.cos(np.radians(23.1))
    dy = (lat - cov.stations["lat"].to_numpy()) * 110_574
    assert np.hypot(dx, dy).max() < 0.01
    # and GCJ-02 is really offset (hundreds of metres in Guangzhou)
    assert (
        np.hypot(
            (t["lon_gcj02"] - t["lon"]).to_numpy() * 102_000,
            (t["lat_gcj02"] - t["lat"]).to_numpy() * 110_574,
        ).min()
        > 100
    )


@pytest.mark.data
def test_demo_station_table(yuexiu_demo):
    a = yuexiu_demo.analysis
    t = pd.read_csv(yuexiu_demo.files["stations.csv"])
    table = a.stations_table
    assert len(table) == a.summary.stations
    off = set(table.loc[table["off_network"], "name"])
    st = a.headline.stations
    assert off == set(st.loc[~st["on_network"], "name"])
    assert len(off) == 2
    assert t["name"].tolist() == table["name"].tolist()
    # the demo ledger gives every station a capacity (容量): the accessibility columns follow
    assert tuple(t.columns) == (*STATION_TABLE_COLUMNS, *ACCESS_STATION_COLUMNS)
    # the table's reach is coverage's; its straight-line figure never falls below it
    assert np.allclose(t["reach_population"], st["reach_population"].round(1))
    assert (t["straight_line_population"] >= t["reach_population"] - 1).all()
    # every output with coordinates carries GCJ-02 too, within 0.01 m of the WGS84 point
    for name in ("stations.csv", "suggestions.csv", "stations.geojson", "suggestions.geojson"):
        path = yuexiu_demo.files[name]
        frame = pd.read_csv(path) if name.endswith(".csv") else gpd.read_file(path)
        lon, lat = gcj02_to_wgs84(frame["lon_gcj02"].to_numpy(), frame["lat_gcj02"].to_numpy())
        dx = (lon - frame["lon"].to_numpy()) * 111_320 * np.cos(np.radians(23.1))
        dy = (lat - frame["lat"].to_numpy()) * 110_574
        assert np.hypot(dx, dy).max() < 0.01, name
        assert (frame["lon_gcj02"] - frame["lon"]).abs().min() > 1e-3  # really shifted
    for page in ("report.md", "report.html"):
        text = yuexiu_demo.files[page].read_text(encoding="utf-8")
        line = next(x for x in text.splitlines() if "off the network" in x)
        assert all(name in line for name in off), page
