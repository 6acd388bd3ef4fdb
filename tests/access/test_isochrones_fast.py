"""The raster isochrones (distance field + marching squares) against the exact buffer.

``method="raster"`` (the default) must draw the same polygons as ``method="exact"`` (buffer
every reached piece, union): intersection-over-union ≥ 0.98, every reached piece inside, no
hole invented (every raster hole lies outside the exact polygon) and every exact hole larger
than a few cells kept. Speed is measured by benchmarks/bench_coverage.py, not here.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillcircle import InputError
from skillcircle.access.isochrones import (
    DEFAULT_CELL_M,
    add_access_legs,
    isochrones,
    reached_edges,
    service_area,
)
from skillcircle.access.routing import balls
from skillcircle.access.snapping import Snapped, snap_points
from skillcircle.network.model import Network
from tests.access.test_isochrones import CRS, edge_row, grid, random_network, station


def iou(a, b) -> float:
    return float(shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b)))


def holes(poly) -> list:
    return [shapely.Polygon(r) for p in poly.geoms for r in p.interiors]


def both(net, sts, **kw):
    fast = isochrones(net, sts, **kw)
    exact = isochrones(net, sts, method="exact", **kw)
    return fast, exact


def assert_faithful(fast, exact, pieces, cell: float) -> None:
    """The raster polygon is the exact one up to the cell: the checks of the issue."""
    assert fast.is_valid
    assert fast.geom_type == "MultiPolygon"
    assert iou(fast, exact) >= 0.98
    # every reached street inside
    assert np.all(shapely.length(shapely.difference(pieces, fast)) < 1e-6)
    # no hole invented: what the raster leaves open, the exact buffer leaves open too
    for h in holes(fast):
        assert shapely.area(shapely.intersection(h, exact)) <= 0.02 * h.area + cell * cell
    # every exact hole larger than a few cells is there
    for h in holes(exact):
        if h.area > 4 * cell * cell:
            match = [g for g in holes(fast) if g.intersects(h)]
            assert match, h.wkt
            # its area, to the cell along its boundary
            assert abs(sum(g.area for g in match) - h.area) <= 0.5 * cell * h.length


# ------------------------------------------------------------------------- by hand
@pytest.mark.parametrize("cell", [None, 1.0, 0.25])
def test_straight_street_area_by_hand(cell):
    # a 200 m piece buffered by r = 20 m: 2 r L + pi r^2 (the exact buffer's circle is a polygon)
    net = Network.from_edges([0, 1000], [0, 0], [0], [1], crs=CRS)
    sts = snap_points(net, [500.0], [10.0], max_snap_m=50)
    poly = isochrones(net, sts, limit_m=100, half_width_m=20, cell_m=cell).geometry.iloc[0]
    step = 4.0 if cell is None else cell  # the default: a fifth of the half-width here
    r, length = 20.0, 200.0
    by_hand = 2 * r * length + math.pi * r * r
    perimeter = 2 * length + 2 * math.pi * r
    # the drawing is sub-cell: off by far less than a cell along the boundary
    assert abs(poly.area - by_hand) <= 0.01 * step * perimeter
    assert poly.is_valid
    assert len(poly.geoms) == 1
    assert not holes(poly)
    np.testing.assert_allclose(poly.bounds, (380, -20, 620, 20), atol=0.01 * step)
    # the straight sides are exact: the iso-line of a distance field that is linear there
    assert shapely.contains(poly, shapely.points([[400, 19.99], [600, -19.99], [380.01, 0]])).all()
    assert not shapely.intersects(poly, shapely.points([[500, 20.01], [620.01, 0]])).any()


def test_a_grid_by_hand_against_the_exact_buffer():
    g3 = grid(3, 3)
    st0 = station(g3, edge_row(g3, 0, 1), 30.0, 30.0, 0.0)
    for limit, half in [(180.0, 15.0), (250.0, 10.0), (400.0, 30.0)]:
        fast, exact = both(g3, st0, limit_m=limit, half_width_m=half)
        pieces = reached_edges(g3, balls(g3, st0, limit=limit), st0, limit).geometry.to_numpy()
        assert_faithful(fast.geometry.iloc[0], exact.geometry.iloc[0], pieces, half / 5)
    # 250 m reach the block 0-1-4-3; its 80 m x 80 m inside is the one hole, as in the exact
    fast = isochrones(g3, st0, limit_m=250.0, half_width_m=10.0).geometry.iloc[0]
    (hole,) = holes(fast)
    assert hole.area == pytest.approx(6400.0, rel=1e-3)
    np.testing.assert_allclose(hole.bounds, (10, 10, 90, 90), atol=0.01)
    assert not fast.contains(shapely.Point(50, 50))
    # the cut at the walk limit: street 0-3-6 ends at y = 150 + 15 (exact: 165)
    fast = isochrones(g3, st0, limit_m=180.0, half_width_m=15.0).geometry.iloc[0]
    cut = shapely.intersection(fast, shapely.LineString([(0, -100), (0, 400)]))
    np.testing.assert_allclose(cut.bounds[1::2], (-15, 165), atol=0.01)


def test_raster_is_the_default_and_options_are_checked():
    g3 = grid(3, 3)
    st0 = station(g3, 0, 50.0)
    default = isochrones(g3, st0, limit_m=150, half_width_m=10).geometry.iloc[0]
    raster = isochrones(g3, st0, limit_m=150, half_width_m=10, method="raster")
    assert shapely.equals_exact(default, raster.geometry.iloc[0], 0.0)
    assert DEFAULT_CELL_M == 5.0
    with pytest.raises(InputError, match="method"):
        isochrones(g3, st0, limit_m=150, half_width_m=10, method="fast")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="cell_m"):
        isochrones(g3, st0, limit_m=150, half_width_m=10, cell_m=6.0)
    with pytest.raises(InputError, match="cell_m"):
        isochrones(g3, st0, limit_m=150, half_width_m=10, cell_m=0.0)
    with pytest.raises(InputError, match="method"):
        service_area(gpd.GeoDataFrame(geometry=[], crs=CRS), method="raster")  # type: ignore[arg-type]


def test_a_tiny_half_width_is_drawn_exactly():
    # 1 mm around a 1 km walk would need a grid of 10^11 nodes: the exact buffer is used
    net = Network.from_edges([0, 1000], [0, 0], [0], [1], crs=CRS)
    sts = snap_points(net, [500.0], [0.0], max_snap_m=50)
    fast, exact = both(net, sts, limit_m=1000, half_width_m=1e-3)
    assert shapely.equals_exact(fast.geometry.iloc[0], exact.geometry.iloc[0], 0.0)


def test_off_network_stations_stay_empty():
    g3 = grid(3, 3)
    two = Snapped(
        edge=np.array([edge_row(g3, 0, 1), 0]),
        offset_m=np.array([50.0, 0.0]),
        distance_m=np.array([0.0, 900.0]),
        x=np.array([50.0, 0.0]),
        y=np.array([0.0, 0.0]),
        on_network=np.array([True, False]),
        network=g3.fingerprint,
    )
    iso = isochrones(g3, two, limit_m=100.0, half_width_m=10.0)
    assert iso.geometry.is_empty.tolist() == [False, True]
    assert (iso.geom_type == "MultiPolygon").all()
    area = service_area(iso)
    assert area["stations"].tolist() == [1]
    assert area.geometry.iloc[0].equals(iso.geometry.iloc[0])


# ------------------------------------------------------------------------- property
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    limit=st.floats(20, 800),
    half_width=st.floats(2, 60),
    where=st.floats(0, 1),
)
def test_property_raster_matches_the_exact_buffer(seed, limit, half_width, where):
    net = random_network(seed)
    e0 = seed % net.n_edges
    st0 = station(net, e0, where * net.edge_length[e0])
    fast, exact = both(net, st0, limit_m=limit, half_width_m=half_width)
    pieces = reached_edges(net, balls(net, st0, limit=limit), st0, limit).geometry.to_numpy()
    cell = min(DEFAULT_CELL_M, half_width / 5)
    assert_faithful(fast.geometry.iloc[0], exact.geometry.iloc[0], pieces, cell)
    # nothing farther than the half-width (and a cell) from the reached streets is inside
    pts = shapely.points(net.x, net.y)
    far = shapely.distance(pts, shapely.union_all(pieces)) > half_width + cell
    assert not shapely.intersects(fast.geometry.iloc[0], pts[far]).any()


# ------------------------------------------------------------------------- service area
def _grid_stations(net: Network, n: int, seed: int) -> Snapped:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 1900, n), rng.uniform(0, 1900, n)
    return snap_points(net, x, y, max_snap_m=100)


def test_service_area_is_drawn_once_and_matches_the_union():
    net = grid(20, 20, spacing=100.0)
    sts = _grid_stations(net, 12, seed=3)
    fast, exact = both(net, sts, limit_m=400.0, half_width_m=20.0)
    for a, b in zip(fast.geometry, exact.geometry, strict=True):
        assert iou(a, b) >= 0.98
    drawn = service_area(fast)  # one distance field for the overlapping stations
    union = service_area(exact)
    assert drawn["stations"].tolist() == union["stations"].tolist() == [12]
    assert drawn["reach_m"].tolist() == [400.0]
    a, b = drawn.geometry.iloc[0], union.geometry.iloc[0]
    assert a.is_valid
    assert iou(a, b) >= 0.98
    assert drawn["area_km2"].iloc[0] == pytest.approx(union["area_km2"].iloc[0], rel=0.01)
    # the holes of the union (blocks no station walks round) are the same
    big = sorted(h.area for h in holes(b) if h.area > 100)
    assert sorted(h.area for h in holes(a) if h.area > 100) == pytest.approx(big, rel=0.02)
    # the same frame unioned with shapely instead: the same area to the cell
    plain = service_area(fast, method="exact")
    assert plain["area_km2"].iloc[0] == pytest.approx(drawn["area_km2"].iloc[0], rel=1e-3)


def test_service_area_of_far_apart_stations_keeps_their_polygons():
    net = grid(30, 30, spacing=100.0)
    sts = snap_points(net, [200.0, 2700.0], [200.0, 2700.0], max_snap_m=100)
    iso = isochrones(net, sts, limit_m=300.0, half_width_m=20.0)
    area = service_area(iso)
    parts = shapely.get_parts(area.geometry.iloc[0])
    assert len(parts) == 2
    expected = iso.geometry.iloc[0].area + iso.geometry.iloc[1].area
    assert area["area_km2"].iloc[0] == pytest.approx(expected / 1e6, rel=1e-12)


def test_service_area_of_a_changed_frame_is_a_plain_union():
    net = grid(20, 20, spacing=100.0)
    sts = _grid_stations(net, 6, seed=5)
    iso = isochrones(net, sts, limit_m=300.0, half_width_m=20.0)
    changed = iso.copy()
    changed.geometry = changed.geometry.translate(1000.0, 0.0)
    area = service_area(changed)
    union = shapely.union_all(changed.geometry.to_numpy())
    assert area["area_km2"].iloc[0] == pytest.approx(union.area / 1e6, rel=1e-12)


def test_service_area_in_another_crs():
    net = grid(20, 20, spacing=100.0)
    sts = _grid_stations(net, 6, seed=6)
    here = isochrones(net, sts, limit_m=300.0, half_width_m=20.0)
    there = isochrones(net, sts, limit_m=300.0, half_width_m=20.0, crs_out="EPSG:4326")
    a, b = service_area(here), service_area(there)
    assert b.crs == "EPSG:4326"
    # drawn in the network CRS, then reprojected: the shapely union of the frame, to the cell
    plain = service_area(there, method="exact")
    assert b["area_km2"].iloc[0] == pytest.approx(plain["area_km2"].iloc[0], rel=2e-3)
    back = b.to_crs(CRS).geometry.iloc[0]
    assert iou(back, a.geometry.iloc[0]) >= 0.999


def test_access_legs_are_in_the_drawn_service_area():
    net = Network.from_edges([0.0, 200.0, 200.0], [0.0, 0.0, 1000.0], [0, 1], [1, 2], crs=CRS)
    points = shapely.points([[50.0, 120.0], [330.0, 800.0]])
    sts = snap_points(net, [50.0, 330.0], [120.0, 800.0], max_snap_m=500.0)
    iso = isochrones(net, sts, limit_m=100.0, half_width_m=10.0)
    legged = add_access_legs(iso, points, sts, half_width_m=10.0)
    assert shapely.contains(legged.geometry.to_numpy(), points).all()
    area = service_area(legged).geometry.iloc[0]
    assert shapely.contains(area, points).all()
    union = shapely.union_all(legged.geometry.to_numpy())
    assert iou(area, union) >= 0.99


# ------------------------------------------------------------------------- real streets
@pytest.mark.data
def test_yuexiu_raster_matches_the_exact_buffer(data_root):
    from skillcircle.inputs.datasets import get_path
    from skillcircle.network.build import build_roads_network

    roads = gpd.read_file(data_root / "yuexiu" / "roads_osm.gpkg")
    net = build_roads_network(roads).largest_component()
    ledger = pd.read_csv(get_path("yuexiu_stations"))  # the demo's (illustrative) stations
    pts = gpd.GeoSeries(gpd.points_from_xy(ledger["经度"], ledger["纬度"]), crs="EPSG:4326").to_crs(
        net.crs
    )
    rng = np.random.default_rng(2)
    i = rng.choice(net.n_nodes, 40, replace=False)
    x = np.concatenate([pts.x.to_numpy(), net.x[i] + 30])
    y = np.concatenate([pts.y.to_numpy(), net.y[i] + 30])
    sts = snap_points(net, x, y, max_snap_m=500)
    fast, exact = both(net, sts, limit_m=1000.0, half_width_m=50.0)
    pieces = reached_edges(net, balls(net, sts, limit=1000.0), sts, 1000.0)
    on = np.flatnonzero(sts.on_network)
    assert on.size >= 50
    for k in on.tolist():
        mine = pieces.geometry[pieces["station"] == k].to_numpy()
        assert_faithful(fast.geometry.iloc[k], exact.geometry.iloc[k], mine, DEFAULT_CELL_M)
    drawn, union = service_area(fast), service_area(exact)
    assert iou(drawn.geometry.iloc[0], union.geometry.iloc[0]) >= 0.98
    assert drawn["area_km2"].iloc[0] == pytest.approx(union["area_km2"].iloc[0], rel=0.01)
