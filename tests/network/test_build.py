from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from scipy.sparse import csgraph

from skillcircle.network.build import build_roads_network
from skillcircle.network.model import Network


def _local_nodes(net: Network) -> set[tuple[float, float]]:
    return {
        (round(x - 430_000.0, 6), round(y - 2_558_000.0, 6))
        for x, y in zip(net.x, net.y, strict=True)
    }


def test_roads_layer_nodes_at_shared_vertices_not_crossings(roads: gpd.GeoDataFrame) -> None:
    net = build_roads_network(roads, crs="EPSG:4547")
    # bends (100,100) where B continues into C, and (260,0) inside D, are merged away
    assert _local_nodes(net) == {(0, 0), (100, 0), (200, 0), (50, -50), (210, 0), (260, 60)}
    assert (50.0, 0.0) not in _local_nodes(net)
    assert net.n_edges == 4
    assert np.allclose(np.sort(net.edge_length), [100.0, 100.0, 110.0, 300.0], atol=1e-9)
    assert net.component_labels()[0] == 2
    merged = int(np.argmax(net.edge_length))
    assert net.edge_attrs["highway"][merged] == "footway;residential"
    assert net.edge_attrs["name"][merged] == "B"
    assert net.edge_attrs["osm_id"][merged] == 2
    # walking from (0,0) to (50,-50) must go round by B and C (400 m), not across the bridge
    nodes = {p: i for i, p in enumerate(zip(net.x - 430_000.0, net.y - 2_558_000.0, strict=True))}
    dist = csgraph.dijkstra(net.adjacency(), indices=nodes[(0.0, 0.0)])
    assert dist[nodes[(50.0, -50.0)]] == pytest.approx(400.0, abs=1e-9)
    # and skillcircle's own routing agrees: no shortcut across the bridge
    from skillcircle.access.routing import nearest, reach_pairs
    from skillcircle.access.snapping import snap_points

    a = snap_points(net, [430_000.0], [2_558_000.0], max_snap_m=5.0)
    b = snap_points(net, [430_050.0], [2_557_950.0], max_snap_m=5.0)
    assert nearest(net, a, b, limit=1000.0).distance_m[0] == pytest.approx(400.0, abs=1e-6)
    assert len(reach_pairs(net, a, b, limit=399.0).origin) == 0
    assert reach_pairs(net, a, b, limit=400.0).distance_m.tolist() == pytest.approx([400.0])


def test_roads_layer_without_simplification_or_filter(roads: gpd.GeoDataFrame) -> None:
    raw = build_roads_network(roads, crs="EPSG:4547", simplify=False)
    assert _local_nodes(raw) == {
        (0, 0),
        (100, 0),
        (200, 0),
        (100, 100),
        (50, -50),
        (210, 0),
        (260, 0),
        (260, 60),
    }
    assert raw.n_edges == 6
    everything = build_roads_network(roads, crs="EPSG:4547", walk_filter=False)
    assert everything.total_length_m == pytest.approx(610.0 + 100.0 + 50.0)
    assert (0.0, 0.0) not in _local_nodes(everything)  # now only a bend between A and E


def test_roads_layer_reprojects_and_keeps_input(roads: gpd.GeoDataFrame) -> None:
    before = roads.copy()
    net = build_roads_network(roads.to_crs("EPSG:4326"), crs="EPSG:4547")
    assert net.crs == "EPSG:4547"
    assert net.total_length_m == pytest.approx(610.0, abs=1e-6)
    assert roads.equals(before)
