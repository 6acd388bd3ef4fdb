"""Snapping points to the nearest edge: hand-computed cases and agreement with shapely."""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from skillcircle._errors import InputError
from skillcircle.access.coverage import compute_coverage
from skillcircle.access.isochrones import isochrones
from skillcircle.access.routing import nearest, node_distances
from skillcircle.access.snapping import (
    Snapped,
    at_nodes,
    check_network,
    snap_geoseries,
    snap_points,
)
from skillcircle.network.cache import load_network_file, save_network
from skillcircle.network.model import Network
from skillcircle.network.synthetic import grid_city, random_points
from skillcircle.settings import Settings


@pytest.fixture
def bent() -> Network:
    """One L-shaped edge (0,0)->(100,0)->(100,50) and one straight edge (100,50)->(100,150)."""
    geoms = [
        shapely.LineString([(0, 0), (100, 0), (100, 50)]),
        shapely.LineString([(100, 50), (100, 150)]),
    ]
    return Network.from_edges([0, 100, 100], [0, 50, 150], [0, 1], [1, 2], crs="EPSG:4547",
                              edge_geometry=geoms)  # fmt: skip


def test_offset_runs_along_the_geometry(bent: Network) -> None:
    s = snap_points(bent, [110, 40, 95], [20, -7, 120], max_snap_m=50)
    assert s.edge.tolist() == [0, 0, 1]
    np.testing.assert_allclose(s.offset_m, [120, 40, 70])
    np.testing.assert_allclose(s.distance_m, [10, 7, 5])
    np.testing.assert_allclose(s.x, [100, 40, 100])
    np.testing.assert_allclose(s.y, [20, 0, 120])
    assert s.on_network.all()
    assert len(s) == 3


def test_offset_in_edge_length_units() -> None:
    geom = [shapely.LineString([(0, 0), (100, 0)])]
    net = Network.from_edges([0, 100], [0, 0], [0], [1], crs="EPSG:4547", edge_geometry=geom,
                             edge_length=[250.0])  # fmt: skip
    s = snap_points(net, [40, 150], [3, 0], max_snap_m=10)
    np.testing.assert_allclose(s.offset_m, [100, 250])  # 40 % and 100 % of 250 m
    np.testing.assert_allclose(s.distance_m, [3, 50])
    assert s.on_network.tolist() == [True, False]


def test_equidistant_edges_resolve_to_lowest_row() -> None:
    # row 0 along y = 20, row 1 along y = 0: the point (50, 10) is 10 m from both.
    net = Network.from_edges([0, 100, 0, 100], [20, 20, 0, 0], [0, 2], [1, 3], crs="EPSG:4547")
    s = snap_points(net, [50, 50], [10, 9], max_snap_m=100)
    assert s.edge.tolist() == [0, 1]
    np.testing.assert_allclose(s.distance_m, [10, 9])


def test_max_snap_boundary_and_far_points(bent: Network) -> None:
    s = snap_points(bent, [100, 100, 1e6], [175, 175.001, 1e6], max_snap_m=25)
    assert s.on_network.tolist() == [True, False, False]  # exactly 25 m is on the network
    far = math.hypot(1e6 - 100, 1e6 - 150)  # nearest is node (100, 150), end of edge 1
    np.testing.assert_allclose(s.distance_m, [25, 25.001, far], rtol=1e-12)
    assert s.edge.tolist() == [1, 1, 1]
    np.testing.assert_allclose(s.offset_m, [100, 100, 100])


def shapely_reference(net: Network, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    pts = shapely.points(x, y)
    (qi, ei), d = shapely.STRtree(net.edge_geometry).query_nearest(
        pts, return_distance=True, all_matches=True
    )
    order = np.lexsort((ei, qi))
    qi, ei, d = qi[order], ei[order], d[order]
    keep = np.r_[True, qi[1:] != qi[:-1]]
    ei, d = ei[keep], d[keep]
    return ei, d, shapely.line_locate_point(net.edge_geometry[ei], pts)


@pytest.mark.parametrize("spread", [0.0, 60.0, 700.0])
def test_matches_shapely_on_a_synthetic_city(spread: float) -> None:
    net = grid_city(2500, spacing_m=80, jitter_m=15, drop_fraction=0.2, seed=3)
    x, y = random_points(net, 4000, seed=5, spread_m=spread)
    x[:5] += 5e4  # far outside the network: handled by the fallback
    s = snap_points(net, x, y, max_snap_m=100)
    edge, dist, along = shapely_reference(net, x, y)
    np.testing.assert_allclose(s.distance_m, dist, atol=1e-9)
    assert np.array_equal(s.edge, edge)
    np.testing.assert_allclose(s.offset_m, along, atol=1e-6)
    np.testing.assert_allclose(np.hypot(s.x - x, s.y - y), dist, atol=1e-6)
    assert np.array_equal(s.on_network, dist <= 100)
    assert not s.on_network[:5].any()


def test_snap_geoseries_reprojects(bent: Network) -> None:
    shift = np.array([426_000.0, 2_560_000.0])
    xy = np.array([[110.0, 20.0], [40.0, -7.0]]) + shift
    shifted = Network.from_edges(
        bent.x + 426_000, bent.y + 2_560_000, bent.edge_u, bent.edge_v, crs="EPSG:4547",
        edge_geometry=shapely.transform(bent.edge_geometry, lambda c: c + shift),
    )  # fmt: skip
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:4547").to_crs(4326)
    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=pts)
    before = frame.copy()
    for given in (pts, frame):
        s = snap_geoseries(shifted, given, max_snap_m=50)
        np.testing.assert_allclose(s.offset_m, [120, 40], atol=1e-6)
        np.testing.assert_allclose(s.distance_m, [10, 7], atol=1e-6)
    assert frame.equals(before)  # input untouched


def test_snap_geoseries_rejects_bad_input(bent: Network) -> None:
    no_crs = gpd.GeoSeries(gpd.points_from_xy([0], [0]))
    with pytest.raises(InputError, match="no CRS"):
        snap_geoseries(bent, no_crs, max_snap_m=10)
    mixed = gpd.GeoSeries(
        [shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)]), None], crs="EPSG:4547"
    )
    with pytest.raises(InputError, match="row 2") as err:
        snap_geoseries(bent, mixed, max_snap_m=10)
    assert "2 geometr" in str(err.value)


def test_snap_points_rejects_bad_input(bent: Network) -> None:
    with pytest.raises(InputError, match="row 2"):
        snap_points(bent, [0, np.nan], [0, 0], max_snap_m=10)
    with pytest.raises(InputError, match="different lengths"):
        snap_points(bent, [0, 1], [0], max_snap_m=10)
    with pytest.raises(InputError, match="max_snap_m"):
        snap_points(bent, [0], [0], max_snap_m=-1)
    empty = snap_points(bent, [], [], max_snap_m=10)
    assert len(empty) == 0
    assert empty.edge.dtype == np.int64


def test_subset(bent: Network) -> None:
    s = snap_points(bent, [110, 40, 95], [20, -7, 120], max_snap_m=8)
    assert s.n_on_network == 2
    picked = s.subset(s.on_network)
    assert picked.offset_m.tolist() == [40.0, 70.0]
    again = s.subset([2, 2, 0])
    assert again.edge.tolist() == [1, 1, 0]
    assert again.on_network.tolist() == [True, True, False]
    assert isinstance(s.subset([]), Snapped)
    with pytest.raises(InputError, match="mask"):
        s.subset(np.array([True, False]))


def test_at_nodes(bent: Network) -> None:
    s = at_nodes(bent, [0, 1, 2])
    assert s.edge.tolist() == [0, 0, 1]
    np.testing.assert_allclose(s.offset_m, [0, 150, 100])
    np.testing.assert_allclose(s.x, [0, 100, 100])
    assert s.distance_m.tolist() == [0, 0, 0]
    assert s.on_network.all()
    with pytest.raises(InputError, match="out of range"):
        at_nodes(bent, [3])


# ------------------------------------------------------------ a snapped set knows its network
def test_snapped_sets_record_their_network(bent: Network, tmp_path) -> None:
    s = snap_points(bent, [110, 95], [20, 120], max_snap_m=50)
    assert s.network == bent.fingerprint
    assert s.network.startswith("3n-2e-")
    assert s.subset([1]).network == bent.fingerprint
    assert at_nodes(bent, [0]).network == bent.fingerprint
    # Same rows, same fingerprint: a copy with other metadata, the cache round trip.
    assert dataclasses.replace(bent, meta={"x": 1}).fingerprint == bent.fingerprint
    save_network(bent, tmp_path / "n.npz")
    assert load_network_file(tmp_path / "n.npz").fingerprint == bent.fingerprint
    # One edge 1 m longer is another network.
    longer = Network.from_edges(
        bent.x, bent.y, bent.edge_u, bent.edge_v, crs=bent.crs,
        edge_geometry=bent.edge_geometry, edge_length=bent.edge_length + np.array([0.0, 1.0]),
    )  # fmt: skip
    assert longer.fingerprint != bent.fingerprint
    check_network(bent, s)
    with pytest.raises(InputError, match=r"stations were snapped to another network \(3n-2e-"):
        check_network(longer, s, "stations")


def test_routing_coverage_and_isochrones_refuse_a_set_from_another_network(
    bent: Network,
) -> None:
    other = bent.subnetwork([True, True, False])  # edge 0 only: edge rows still in range
    s = snap_points(bent, [110, 40], [20, -7], max_snap_m=50)
    assert s.edge.tolist() == [0, 0]
    with pytest.raises(InputError, match="origins were snapped to another network"):
        node_distances(other, s, limit=100)
    with pytest.raises(InputError, match="targets were snapped to another network"):
        nearest(other, snap_points(other, [40], [0], max_snap_m=50), s, limit=100)
    with pytest.raises(InputError, match="stations were snapped to another network"):
        isochrones(other, s, limit_m=50, half_width_m=5)
    pts = gpd.GeoDataFrame(
        {"population": [1.0, 2.0]}, geometry=gpd.points_from_xy([110, 40], [20, -7]),
        crs="EPSG:4547",
    )  # fmt: skip
    with pytest.raises(InputError, match="stations_snapped were snapped to another network"):
        compute_coverage(other, pts, pts, settings=Settings(), stations_snapped=s)
    with pytest.raises(InputError, match="units_snapped were snapped to another network"):
        compute_coverage(other, pts, pts, settings=Settings(), units_snapped=s)
    # The same sets on their own network work (and give the hand-computed distance).
    d = nearest(bent, s.subset([1]), s.subset([0]), limit=1000)
    assert d.distance_m.tolist() == pytest.approx([7 + (120 - 40) + 10])
