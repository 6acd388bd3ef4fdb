"""The one point-in-area rule (skillcircle.inputs.areas), shared by stations and residents."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import Point, box

from skillcircle import InputError
from skillcircle.inputs import population
from skillcircle.inputs.areas import (
    AREA_COLUMNS,
    assign_areas,
    district_index,
    subdistrict_districts,
    subdistrict_index,
)
from skillcircle.inputs.boundaries import read_districts, read_subdistricts
from skillcircle.inputs.stations import read_stations


def _districts(order=(0, 1)):
    codes = ["440104", "440105"]
    names = ["越秀区", "海珠区"]
    geoms = [box(0, 0, 1, 1), box(1, 0, 2, 1)]
    return gpd.GeoDataFrame(
        {
            "district_code": [codes[i] for i in order],
            "district_name": [names[i] for i in order],
        },
        geometry=[geoms[i] for i in order],
        crs="EPSG:4326",
    )


def _subs():
    # 东山 (越秀) spills 0.1 over the border into 海珠's polygon, as OSM and AMap borders do.
    return gpd.GeoDataFrame(
        {
            "subdistrict_code": ["440104011", "440105005"],
            "subdistrict_name": ["东山街道", "滨江街道"],
            "district_code": ["440104", "440105"],
        },
        geometry=[box(0, 0, 1.1, 1), box(1, 0, 2, 1)],
        crs="EPSG:4326",
    )


def _pts(*xy, crs="EPSG:4326"):
    return gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in xy], crs=crs)


def _residents(points: gpd.GeoDataFrame, districts, subs):
    """The population path: district assignment (drops outside units), then 街道."""
    units = points.copy()
    units["population"] = 1.0
    for c in AREA_COLUMNS:
        units[c] = ""
    units["unit_id"] = np.arange(len(units))
    inside, _, _ = population._assign_districts(units, districts)
    return population._assign_subdistricts(inside, subs, districts)


def test_border_point_takes_the_lowest_row_and_reordering_flips_it():
    pts = _pts((1.0, 0.5), (1.0, 1.0), (0.5, 0.5))  # on the shared edge, on a shared vertex
    assert district_index(pts, _districts()).tolist() == [0, 0, 0]
    flipped = _districts(order=(1, 0))
    assert district_index(pts, flipped).tolist() == [0, 0, 1]
    out = assign_areas(pts, districts=flipped)
    assert out["district_code"].tolist() == ["440105", "440105", "440104"]


def test_four_squares_meeting_at_a_vertex():
    quads = gpd.GeoDataFrame(
        {"district_code": ["a", "b", "c", "d"], "district_name": ["A", "B", "C", "D"]},
        geometry=[box(1, 1, 2, 2), box(0, 1, 1, 2), box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs="EPSG:4326",
    )
    pts = _pts((1, 1), (1, 1.5), (0.5, 1), (2.5, 2.5))
    assert district_index(pts, quads).tolist() == [0, 0, 1, -1]


def test_a_subdistrict_counts_only_inside_its_own_district():
    d, s = _districts(), _subs()
    # a: 东山 inside 越秀; b: 东山's spill into 海珠 → 滨江; c: on the 越秀/海珠 border →
    # district 越秀 (row 0), so 东山 (滨江 also covers it, but belongs to 海珠); e: outside.
    pts = _pts((0.5, 0.5), (1.05, 0.5), (1.0, 0.5), (5, 5))
    out = assign_areas(pts, districts=d, subdistricts=s)
    assert out["district_code"].tolist() == ["440104", "440105", "440104", ""]
    assert out["subdistrict_code"].tolist() == ["440104011", "440105005", "440104011", ""]
    assert out["subdistrict_name"].tolist() == ["东山街道", "滨江街道", "东山街道", ""]
    # Without 滨江, the spill point is in 海珠 and in no 海珠 街道: no 街道 at all.
    only_dongshan = s.iloc[[0]]
    out = assign_areas(pts, districts=d, subdistricts=only_dongshan)
    assert out["subdistrict_code"].tolist() == ["440104011", "", "440104011", ""]
    # Residents get exactly the same (the outside point is dropped from the study).
    res = _residents(pts, d, only_dongshan)
    assert res["district_code"].tolist() == ["440104", "440105", "440104"]
    assert res["subdistrict_code"].tolist() == ["440104011", "", "440104011"]


def test_without_districts_the_subdistrict_gives_the_district():
    s = _subs()
    pts = _pts((1.05, 0.5), (1.5, 0.5), (5, 5))
    out = assign_areas(pts, subdistricts=s)
    # (1.05, 0.5) is covered by both 街道: lowest row, 东山, hence 越秀.
    assert out["subdistrict_code"].tolist() == ["440104011", "440105005", ""]
    assert out["district_code"].tolist() == ["440104", "440105", ""]
    assert out["district_name"].tolist() == ["越秀区", "海珠区", ""]
    assert subdistrict_index(pts, s).tolist() == [0, 1, -1]


def test_home_district_of_a_codeless_subdistrict_is_by_largest_overlap():
    d = _districts()
    s = gpd.GeoDataFrame(
        {"subdistrict_code": ["", "", ""], "subdistrict_name": ["x", "y", "z"]},
        geometry=[box(0.2, 0, 1.3, 1), box(0.8, 0, 1.9, 1), box(5, 5, 6, 6)],
        crs="EPSG:4326",
    )
    assert subdistrict_districts(s, d).tolist() == ["440104", "440105", ""]
    assert subdistrict_districts(s).tolist() == ["", "", ""]
    # A code or a district_code column decides before any geometry.
    coded = s.assign(subdistrict_code=["440105001", "", ""], district_code=["", "440104", ""])
    assert subdistrict_districts(coded, d).tolist() == ["440105", "440104", ""]
    pts = _pts((1.1, 0.5), (0.9, 0.5))
    out = assign_areas(pts, districts=d, subdistricts=s)
    assert out["district_code"].tolist() == ["440105", "440104"]
    assert out["subdistrict_name"].tolist() == ["y", "x"]


def test_points_are_tested_in_the_polygons_crs():
    d = gpd.GeoDataFrame(
        _districts().drop(columns="geometry"),
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
        crs="EPSG:4547",
    )
    # The same border point given in EPSG:4547 itself is exactly on the border → row 0;
    # given in another CRS it is transformed to the polygons' CRS, never the other way round.
    pts = _pts((1000.0, 500.0), crs="EPSG:4547")
    assert district_index(pts, d).tolist() == [0]
    far = _pts((1500.0, 500.0), crs="EPSG:4547").to_crs("EPSG:4326")
    assert district_index(far, d).tolist() == [1]
    out = assign_areas(far, districts=d)
    assert out.crs == "EPSG:4326"  # the points keep their CRS


def test_assign_areas_keeps_input_and_fills_missing_columns():
    pts = _pts((0.5, 0.5))
    pts["name"] = ["a"]
    before = pts.copy()
    out = assign_areas(pts, districts=_districts())
    assert out["district_name"].tolist() == ["越秀区"]
    assert out["subdistrict_code"].tolist() == [""]
    assert list(pts.columns) == ["geometry", "name"]
    assert pts.equals(before)
    assert assign_areas(pts)["district_code"].tolist() == [""]


def test_assign_areas_needs_crs():
    with pytest.raises(InputError, match="points layer has no CRS"):
        assign_areas(gpd.GeoDataFrame(geometry=[Point(0, 0)]))
    with pytest.raises(InputError, match="districts layer has no CRS"):
        assign_areas(_pts((0, 0)), districts=gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]))


@pytest.mark.data
def test_assign_real_yuexiu_point(data_root):
    subs = read_subdistricts(data_root / "yuexiu" / "subdistricts_osm.gpkg")
    districts = read_districts("cnmaps:4401")
    # The centre of the largest circle inside 东山街道 (see data/samples/README).
    out = assign_areas(_pts((113.299962, 23.121084)), districts=districts, subdistricts=subs)
    assert out.loc[0, "district_code"] == "440104"
    assert out.loc[0, "subdistrict_code"] == "440104011"
    assert out.loc[0, "subdistrict_name"] == "东山街道"


# ------------------------------------------------------------------ property: real polygons


@pytest.fixture(scope="module")
def yuexiu_layers(data_root):
    districts = read_districts("cnmaps:4401")
    subs = read_subdistricts(data_root / "yuexiu" / "subdistricts_osm.gpkg")
    yuexiu = districts.geometry[districts["district_code"] == "440104"].iloc[0]
    frame = yuexiu.buffer(0.01)
    # Vertices near Yuexiu of every polygon: AMap district vertices lie exactly on borders
    # (shared with the neighbour when both trace it), OSM 街道 vertices on 街道 borders.
    coords = np.vstack(
        [shapely.get_coordinates(g.intersection(frame)) for g in districts.geometry]
        + [shapely.get_coordinates(g) for g in subs.geometry]
    )
    coords = np.unique(coords, axis=0)
    # Midpoints of the Yuexiu border's segments (on, or within rounding of, the border).
    ring = shapely.get_coordinates(yuexiu.boundary)
    mids = (ring[1:] + ring[:-1]) / 2
    return districts, subs, coords, mids, frame.bounds


def _station_csv(path, lons, lats):
    rows = ["名称,类型,经度,纬度"]
    pairs = enumerate(zip(lons, lats, strict=True))
    rows += [f"站{i},社区型,{lon!r},{lat!r}" for i, (lon, lat) in pairs]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.mark.data
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_station_and_resident_at_the_same_point_share_district_and_subdistrict(
    yuexiu_layers, tmp_path, data
):
    districts, subs, vertices, mids, (x0, y0, x1, y1) = yuexiu_layers
    n = 12
    kind = data.draw(st.lists(st.sampled_from(["vertex", "mid", "near", "any"]), min_size=n))
    kind = kind[:n] + ["any"] * (n - len(kind[:n]))
    lons, lats = [], []
    for k in kind:
        if k == "vertex":
            i = data.draw(st.integers(0, len(vertices) - 1))
            lon, lat = vertices[i]
        elif k == "mid":
            i = data.draw(st.integers(0, len(mids) - 1))
            lon, lat = mids[i]
        elif k == "near":
            i = data.draw(st.integers(0, len(vertices) - 1))
            d = st.floats(-2e-5, 2e-5, allow_nan=False)  # within ~2 m of a vertex
            lon, lat = vertices[i][0] + data.draw(d), vertices[i][1] + data.draw(d)
        else:
            lon = data.draw(st.floats(x0, x1, allow_nan=False))
            lat = data.draw(st.floats(y0, y1, allow_nan=False))
        lons.append(float(lon))
        lats.append(float(lat))
    csv = tmp_path / "s.csv"
    _station_csv(csv, lons, lats)
    stations = read_stations(csv, districts=districts, subdistricts=subs, duplicate_m=0.0).stations
    assert len(stations) == n
    assert np.array_equal(shapely.get_x(stations.geometry.to_numpy()), lons)
    assert np.array_equal(shapely.get_y(stations.geometry.to_numpy()), lats)
    points = gpd.GeoDataFrame(geometry=shapely.points(lons, lats), crs="EPSG:4326")
    units = points.copy()
    units["unit_id"] = np.arange(n)
    units["population"] = 1.0
    for c in AREA_COLUMNS:
        units[c] = ""
    inside_mask = stations["district_code"].to_numpy() != ""
    if not inside_mask.any():
        return  # the population path refuses a study with no unit in any district
    inside, n_out, _ = population._assign_districts(units, districts)
    residents = population._assign_subdistricts(inside, subs, districts)
    assert n_out == int((~inside_mask).sum())
    # A unit outside every district leaves the study; a station there has no 区 and no 街道.
    assert (stations.loc[~inside_mask, "subdistrict_code"] == "").all()
    got = residents[list(AREA_COLUMNS)].reset_index(drop=True)
    want = stations.loc[inside_mask, list(AREA_COLUMNS)].reset_index(drop=True)
    assert got.astype(str).equals(want.astype(str))
    # And a resident 街道 is always one of its own district.
    has_sub = residents["subdistrict_code"] != ""
    assert (
        residents.loc[has_sub, "subdistrict_code"].str[:6]
        == residents.loc[has_sub, "district_code"]
    ).all()
