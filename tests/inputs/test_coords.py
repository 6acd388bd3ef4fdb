from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point, Polygon, get_coordinates

from skillcircle import InputError
from skillcircle.inputs.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_coords,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    transform_geometry,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# Guangzhou's bounding box (WGS84).
LON0, LON1, LAT0, LAT1 = 112.9, 114.1, 22.5, 23.95


def metres(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(h))


def grid(n=50):
    lon, lat = np.meshgrid(np.linspace(LON0, LON1, n), np.linspace(LAT0, LAT1, n))
    return lon.ravel(), lat.ravel()


def test_published_reference_pairs():
    # Reference values from wandergis/coordtransform (MIT), test/app.js, "//result" block:
    #   wgs84togcj02(116.404, 39.915) -> [116.41024449916938, 39.91640428150164]
    #   gcj02tobd09(116.404, 39.915)  -> [116.41036949371029, 39.92133699351021]
    #   bd09togcj02(116.404, 39.915)  -> [116.39762729119315, 39.90865673957631]  (one-step approx.)
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert float(lon) == pytest.approx(116.41024449916938, abs=1e-12)
    assert float(lat) == pytest.approx(39.91640428150164, abs=1e-12)
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert float(lon) == pytest.approx(116.41036949371029, abs=1e-12)
    assert float(lat) == pytest.approx(39.92133699351021, abs=1e-12)
    # Our BD-09 inverse is exact; the published one-step value is within 5 cm of it.
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert metres(lon, lat, 116.39762729119315, 39.90865673957631) < 0.05


def test_gcj02_offset_in_guangzhou_matches_the_data_readme():
    # Canton Tower: GCJ-02 is shifted about +0.0054 deg E and -0.0026 deg N from WGS84.
    lon, lat = wgs84_to_gcj02(113.3245, 23.1064)
    assert float(lon) - 113.3245 == pytest.approx(0.0054, abs=0.0001)
    assert float(lat) - 23.1064 == pytest.approx(-0.0026, abs=0.0001)
    # ... which is about 620 m.
    assert 550 < metres(113.3245, 23.1064, lon, lat) < 700


def test_gcj02_round_trip_on_a_50_by_50_grid_is_below_half_a_metre():
    lon, lat = grid()
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    err = metres(lon, lat, back_lon, back_lat)
    assert err.shape == (2500,)
    assert err.max() < 0.5
    # The iteration runs to 1e-9 degrees: in fact the error is sub-millimetre.
    assert err.max() < 1e-3
    # The inverse also works the other way: forward(inverse(g)) == g.
    g_lon, g_lat = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert metres(lon, lat, g_lon, g_lat).max() < 1e-3


def test_one_step_inverse_would_be_metres_off():
    # Why we iterate: the popular "w = 2g - forward(g)" inverse is off by up to a few metres.
    lon, lat = grid(20)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    f_lon, f_lat = wgs84_to_gcj02(g_lon, g_lat)
    naive = metres(lon, lat, 2 * g_lon - f_lon, 2 * g_lat - f_lat)
    assert naive.max() > 0.5


def test_bd09_round_trips_below_one_metre():
    lon, lat = grid()
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    back_lon, back_lat = bd09_to_wgs84(b_lon, b_lat)
    assert metres(lon, lat, back_lon, back_lat).max() < 1.0
    assert metres(lon, lat, back_lon, back_lat).max() < 1e-3
    # BD-09 is a further ~ +0.0065 E / +0.006 N away from GCJ-02.
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert np.all(np.abs(b_lon - g_lon - 0.0065) < 0.0005)
    assert np.all(np.abs(b_lat - g_lat - 0.006) < 0.0005)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=LON0, max_value=LON1),
    st.floats(min_value=LAT0, max_value=LAT1),
    st.sampled_from(["gcj02", "bd09"]),
)
def test_round_trip_property(lon, lat, system):
    out_lon, out_lat = from_wgs84(lon, lat, system)
    assert metres(lon, lat, out_lon, out_lat) > 100  # a real shift happened
    back_lon, back_lat = to_wgs84(out_lon, out_lat, system)
    assert abs(float(back_lon) - lon) < 1e-8
    assert abs(float(back_lat) - lat) < 1e-8


def test_points_outside_china_are_unchanged():
    lon = np.array([2.3522, -74.006, 113.3245, 139.69])  # Paris, New York, Guangzhou, Tokyo
    lat = np.array([48.8566, 40.7128, 23.1064, 35.6895])
    assert out_of_china(lon, lat).tolist() == [True, True, False, True]
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02):
        out_lon, out_lat = func(lon, lat)
        outside = [0, 1, 3]
        np.testing.assert_array_equal(out_lon[outside], lon[outside])
        np.testing.assert_array_equal(out_lat[outside], lat[outside])
        assert out_lon[2] != lon[2]


def test_nan_and_shapes():
    lon, lat = gcj02_to_wgs84([np.nan, 113.3], [23.1, 23.1])
    assert np.isnan(lon[0])
    assert np.isnan(lat[0])
    assert np.isfinite(lon[1])
    lon, lat = gcj02_to_wgs84(np.nan, np.nan)
    assert lon.shape == ()
    assert np.isnan(lon)
    lon, lat = wgs84_to_gcj02(np.zeros((2, 3)) + 113.3, 23.1)  # broadcasting
    assert lon.shape == (2, 3)
    assert lat.shape == (2, 3)
    lon, lat = gcj02_to_wgs84([], [])
    assert lon.shape == (0,)


def test_inputs_are_not_modified():
    lon = np.array([113.3, 113.4])
    lat = np.array([23.1, 23.2])
    gcj02_to_wgs84(lon, lat)
    bd09_to_wgs84(lon, lat)
    assert lon.tolist() == [113.3, 113.4]
    assert lat.tolist() == [23.1, 23.2]


def test_check_coords_and_dispatch():
    assert check_coords("GCJ-02") == "gcj02"
    assert check_coords(" bd_09 ") == "bd09"
    assert check_coords("WGS84") == "wgs84"
    with pytest.raises(InputError, match="unknown coordinate system 'utm'"):
        check_coords("utm")
    with pytest.raises(InputError):
        to_wgs84(113.3, 23.1, "epsg:4326")
    with pytest.raises(InputError):
        from_wgs84(113.3, 23.1, "mars")
    lon, lat = to_wgs84([113.3], [23.1], "wgs84")
    assert lon.tolist() == [113.3]
    assert lat.tolist() == [23.1]
    assert to_wgs84(113.3, 23.1, "gcj02")[0] == gcj02_to_wgs84(113.3, 23.1)[0]
    assert to_wgs84(113.3, 23.1, "bd09")[1] == bd09_to_wgs84(113.3, 23.1)[1]


def test_transform_geometry_converts_every_vertex():
    ring = [(113.2, 23.1), (113.3, 23.1), (113.3, 23.2), (113.2, 23.2), (113.2, 23.1)]
    poly = Polygon(ring)
    out = transform_geometry(poly, gcj02_to_wgs84)
    xy = np.array(ring)
    exp_lon, exp_lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    np.testing.assert_allclose(get_coordinates(out), np.column_stack([exp_lon, exp_lat]))
    assert poly.exterior.coords[0] == (113.2, 23.1)  # input untouched


def test_transform_geometry_on_geodataframe_and_geoseries():
    gdf = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[Point(113.3245, 23.1064), Point(2.35, 48.85)],
        crs="EPSG:4326",
        index=[10, 20],
    )
    out = transform_geometry(gdf, wgs84_to_gcj02)
    assert out is not gdf
    assert list(out.index) == [10, 20]
    assert out["name"].tolist() == ["a", "b"]
    assert out.crs == gdf.crs
    assert out.geometry.iloc[0].x == pytest.approx(float(wgs84_to_gcj02(113.3245, 23.1064)[0]))
    assert out.geometry.iloc[1].equals(Point(2.35, 48.85))  # outside China: unchanged
    assert gdf.geometry.iloc[0].x == 113.3245  # input untouched
    series = transform_geometry(gdf.geometry, wgs84_to_gcj02)
    assert isinstance(series, gpd.GeoSeries)
    assert list(series.index) == [10, 20]
    assert series.iloc[0].equals(out.geometry.iloc[0])


def test_a_nan_coordinate_makes_the_whole_point_nan():
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02):
        lon, lat = func([np.nan, 113.3], [23.1, np.nan])
        assert np.isnan(lon).all()
        assert np.isnan(lat).all()
