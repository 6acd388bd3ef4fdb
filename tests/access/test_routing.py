"""Exact bounded routing: hand-computed distances, brute-force properties, real Yuexiu data."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import csgraph

from skillcircle._errors import InputError
from skillcircle.access.routing import balls, nearest, node_distances, reach_pairs
from skillcircle.access.snapping import Snapped, at_nodes, snap_points
from skillcircle.network.model import Network
from skillcircle.settings import Settings

INF = math.inf
SQ2 = math.sqrt(2.0)

# ------------------------------------------------------------------ the hand-made network
#
#   F(300,700) ---300--- E(600,700)          H(2000,0) --100-- I(2100,0)   (disconnected)
#      |           ___/   |  \ curved D-E (edge 9) via (680,550): 170 + 170 = 340
#     300    diag 300√2  300  )
#      |   /              |  /
#   C(300,400) --300--- D(600,400)
#    /   |
#  500  400        edges: 0 A-B 300, 1 B-C 400, 2 A-C 500, 3 C-D 300, 4 D-E 300,
#  /     |                5 E-F 300, 6 F-C 300, 7 C-E 300√2, 8 B-G 200 (dead end),
# A(0,0)-300-B(300,0)     9 D-E curved 340 (parallel to 4), 10 H-I 100
#           |
#          200
#           |
#         G(300,-200)
A, B, C, D, E, F, G, H, I = range(9)  # noqa: E741


@pytest.fixture(scope="module")
def net() -> Network:
    x = [0, 300, 300, 600, 600, 300, 300, 2000, 2100]
    y = [0, 0, 400, 400, 700, 700, -200, 0, 0]
    u = [A, B, A, C, D, E, F, C, B, D, H]
    v = [B, C, C, D, E, F, C, E, G, E, I]
    geoms = [shapely.LineString([(x[a], y[a]), (x[b], y[b])]) for a, b in zip(u, v, strict=True)]
    geoms[9] = shapely.LineString([(600, 400), (680, 550), (600, 700)])
    return Network.from_edges(x, y, u, v, crs="EPSG:4547", edge_geometry=geoms)


def pts(net: Network, xy: list[tuple[float, float]], max_snap_m: float = 50.0) -> Snapped:
    arr = np.asarray(xy, dtype=float)
    return snap_points(net, arr[:, 0], arr[:, 1], max_snap_m=max_snap_m)


def test_fixture_lengths(net: Network) -> None:
    expected = [300, 400, 500, 300, 300, 300, 300, 300 * SQ2, 200, 340, 100]
    np.testing.assert_allclose(net.edge_length, expected, atol=1e-9)


def test_node_distances_from_a_node(net: Network) -> None:
    origin = pts(net, [(0, 0)])  # exactly on A
    nd = node_distances(net, origin, limit=1000)
    expected = [0, 300, 500, 800, 500 + 300 * SQ2, 800, 500, INF, INF]
    np.testing.assert_allclose(nd.distance_m, expected, atol=1e-6)
    assert nd.origin.tolist() == [0, 0, 0, 0, 0, 0, 0, -1, -1]


def test_limit_is_inclusive(net: Network) -> None:
    origin = pts(net, [(0, 0)])
    nd = node_distances(net, origin, limit=800)  # D and F lie exactly at 800 m
    np.testing.assert_allclose(nd.distance_m, [0, 300, 500, 800, INF, 800, 500, INF, INF])
    nd = node_distances(net, origin, limit=799.999)
    assert np.isinf(nd.distance_m[[D, E, F]]).all()
    target = pts(net, [(150, 0)])  # on A-B, 150 m from A, snap 0
    assert nearest(net, origin, target, limit=150).distance_m[0] == 150.0
    assert np.isinf(nearest(net, origin, target, limit=149.999).distance_m[0])
    assert reach_pairs(net, origin, target, limit=150).distance_m.tolist() == [150.0]
    assert len(reach_pairs(net, origin, target, limit=149.999)) == 0


def test_origin_mid_edge_with_and_without_snap(net: Network) -> None:
    origin = pts(net, [(150, 30)])  # edge A-B, offset 150, snap 30
    assert (origin.edge[0], origin.offset_m[0], origin.distance_m[0]) == (0, 150.0, 30.0)
    with_snap = node_distances(net, origin, limit=1000)
    np.testing.assert_allclose(
        with_snap.distance_m, [180, 180, 580, 880, INF, 880, 380, INF, INF], atol=1e-6
    )
    without = node_distances(net, origin, limit=1000, include_snap=False)
    np.testing.assert_allclose(
        without.distance_m, [150, 150, 550, 850, 550 + 300 * SQ2, 850, 350, INF, INF], atol=1e-6
    )


def test_nearest_hand_computed(net: Network) -> None:
    origins = pts(net, [(150, 30), (5000, 5000), (590, 500)])
    # origin 0: edge A-B offset 150 snap 30; origin 1 off-network; origin 2: edge D-E
    # (straight, row 4) offset 100 snap 10.
    assert origins.on_network.tolist() == [True, False, True]
    assert (origins.edge[2], origins.offset_m[2]) == (4, 100.0)
    targets = pts(
        net,
        [
            (250, -10),  # same edge as origin 0: offset 250 snap 10 -> 30 + 100 + 10
            (310, -200),  # dead end G: edge 8 offset 200 snap 10 -> 30 + 150 + 200 + 10
            (690, 550),  # curved parallel edge 9 at its bend, offset 170 snap 10
            (610, 650),  # straight D-E offset 250 snap 10: same edge as origin 2
            (2050, 5),  # disconnected piece
            (9000, 0),  # off-network target
            (300, 420),  # near C on C-E? nearest is F-C (x=300) or C-D: snap to edge 6
        ],
    )
    assert targets.edge[:5].tolist() == [0, 8, 9, 4, 10]
    np.testing.assert_allclose(targets.offset_m[:5], [250, 200, 170, 250, 50], atol=1e-9)
    res = nearest(net, origins, targets, limit=1000)
    # target 2: origin 2 reaches D at 10+100=110, then 170 along the curve, + 10 snap = 290
    # (NOT |100 - 170| on the parallel edge). target 6 at (300, 420): nearest edge row with
    # distance 0 is F-C (row 6, from F(300,700) down to C): offset 280 -> C at 20 m.
    # From origin 0: C = 580, + 20 = 600; from origin 2: C = 10 + 100 + 300 = 410, + 20 = 430.
    expected = [140, 390, 290, 170, INF, INF, 430]
    np.testing.assert_allclose(res.distance_m, expected, atol=1e-6)
    assert res.origin.tolist() == [0, 0, 2, 2, -1, -1, 2]
    no_snap = nearest(net, origins, targets, limit=1000, include_snap=False)
    np.testing.assert_allclose(no_snap.distance_m, [100, 350, 270, 150, INF, INF, 420], atol=1e-6)


def test_reach_pairs_hand_computed(net: Network) -> None:
    origins = pts(net, [(0, 0), (5000, 5000), (150, 30)])
    targets = pts(net, [(250, -10), (600, 390), (2050, 5), (300, -100)])
    # targets: 0 edge A-B off 250 snap 10; 1 10 m below D (ties -> row 3, C-D, offset 300);
    # 2 disconnected;
    # 3 on the dead end B-G at offset 100, snap 0.
    pairs = reach_pairs(net, origins, targets, limit=500)
    got = {
        (int(o), int(t)): d
        for o, t, d in zip(pairs.origin, pairs.target, pairs.distance_m, strict=True)
    }
    assert set(got) == {(0, 0), (0, 3), (2, 0), (2, 3)}
    assert got[0, 0] == pytest.approx(260, abs=1e-6)  # 250 + 10
    assert got[0, 3] == pytest.approx(400, abs=1e-6)  # 300 + 100
    assert got[2, 0] == pytest.approx(140, abs=1e-6)  # 30 + 100 + 10 (same edge)
    assert got[2, 3] == pytest.approx(280, abs=1e-6)  # 30 + 150 + 100
    # Only origin 0 -> target 1 would need 800 + 10 m; limit 810 adds it, exactly at the limit.
    pairs = reach_pairs(net, origins, targets, limit=810)
    assert (0, 1) in set(zip(pairs.origin.tolist(), pairs.target.tolist(), strict=True))
    assert pairs.n_origins == 3
    assert pairs.n_targets == 4
    dense = pairs.to_csr().toarray()
    assert dense[0, 1] == pytest.approx(810, abs=1e-6)
    assert pairs.to_csr("bool").toarray().sum(axis=1).tolist() == [3, 0, 2]
    indptr, tgt, dist = pairs.by_origin()
    assert indptr.tolist() == [0, 3, 3, 5]
    assert tgt.tolist() == [0, 1, 3, 0, 3]
    np.testing.assert_allclose(dist, [260, 810, 400, 140, 280])
    # origin 2 would need 30 + 150 + 400 + 300 + 10 = 890 m to target 1


def test_balls_hand_computed(net: Network) -> None:
    origins = pts(net, [(150, 30), (5000, 5000), (0, 0)])
    b = balls(net, origins, limit=850)
    assert len(b) == 3
    assert b.sizes().tolist() == [6, 0, 6]
    node, dist = b.of(0)
    assert np.all(np.diff(dist) >= 0)  # settled order: nearest first
    assert as_dict(node, dist) == pytest.approx({A: 150, B: 150, C: 550, D: 850, F: 850, G: 350})
    node, dist = b.of(2)
    # nearest first; ties (C and G at 500 m, D and F at 800 m) in either order
    assert node[:2].tolist() == [A, B]
    assert set(node[2:4].tolist()) == {C, G}
    assert set(node[4:].tolist()) == {D, F}
    assert as_dict(node, dist) == pytest.approx({A: 0, B: 300, C: 500, D: 800, F: 800, G: 500})
    snapped = balls(net, origins, limit=850, include_snap=True)
    node, dist = snapped.of(0)
    assert as_dict(node, dist) == pytest.approx({A: 180, B: 180, C: 580, G: 380})
    matrix = snapped.to_csr()
    assert matrix.has_sorted_indices
    assert matrix[[0], :].toarray()[0, [A, B, C, G]].tolist() == [180, 180, 580, 380]
    assert matrix.shape == (3, 9)


def as_dict(node: np.ndarray, dist: np.ndarray) -> dict[int, float]:
    return dict(zip(node.tolist(), dist.tolist(), strict=True))


def test_multi_source_labels(net: Network) -> None:
    origins = at_nodes(net, [A, E])
    nd = node_distances(net, origins, limit=INF)
    np.testing.assert_allclose(
        nd.distance_m, [0, 300, 300 * SQ2, 300, 0, 300, 500, INF, INF], atol=1e-6
    )
    assert nd.origin[[A, B, G, D, F]].tolist() == [0, 0, 0, 1, 1]


def test_off_network_origins_reach_nothing(net: Network) -> None:
    origins = pts(net, [(5000, 5000)])
    targets = pts(net, [(0, 0)])
    assert np.isinf(node_distances(net, origins, limit=1e9).distance_m).all()
    assert nearest(net, origins, targets, limit=1e9).origin.tolist() == [-1]
    assert len(reach_pairs(net, origins, targets, limit=1e9)) == 0
    assert balls(net, origins, limit=1e9).indptr.tolist() == [0, 0]


def test_bad_inputs(net: Network) -> None:
    origin = pts(net, [(0, 0)])
    with pytest.raises(InputError, match="limit"):
        node_distances(net, origin, limit=-1)
    with pytest.raises(InputError, match="limit"):
        balls(net, origin, limit=float("nan"))
    alien = Snapped(
        edge=np.array([99]),
        offset_m=np.zeros(1),
        distance_m=np.zeros(1),
        x=np.zeros(1),
        y=np.zeros(1),
        on_network=np.ones(1, dtype=bool),
        network=net.fingerprint,
    )
    with pytest.raises(InputError, match="different network"):
        reach_pairs(net, origin, alien, limit=10)
    with pytest.raises(InputError, match="values"):
        reach_pairs(net, origin, origin, limit=10).to_csr("count")  # type: ignore[arg-type]


def test_output_buffers_grow(net: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    import skillcircle.access.routing as routing

    monkeypatch.setattr(routing, "_INITIAL_CAP", 2)
    monkeypatch.setattr(routing, "_ORIGINS_PER_BLOCK", 1)
    origins = pts(net, [(0, 0), (150, 30), (610, 650), (2050, 5)])
    b = routing.balls(net, origins, limit=1000)
    assert b.sizes().tolist() == [7, 7, 6, 2]
    np.testing.assert_allclose(b.of(3)[1], [50, 50])
    targets = pts(net, [(0, 0), (300, 0), (300, 400), (2100, 0)])
    p = routing.reach_pairs(net, origins, targets, limit=1000)
    assert p.origin.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert p.target.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 3]
    # origin 2 (edge D-E, offset 250, snap 10): E 60, C 60 + 300√2, B +400, A +500.
    c2 = 60 + 300 * SQ2
    expected = [0, 300, 500, 180, 180, 580, c2 + 500, c2 + 400, c2, 55]
    np.testing.assert_allclose(p.distance_m, expected, atol=1e-6)


# ------------------------------------------------------------------ brute-force properties
@st.composite
def random_case(draw: st.DrawFn) -> tuple[Network, Snapped, Snapped, float]:
    n = draw(st.integers(2, 10))
    coord = st.integers(0, 1000).map(float)
    x = draw(st.lists(coord, min_size=n, max_size=n))
    y = draw(st.lists(coord, min_size=n, max_size=n))
    node = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(node, node), min_size=1, max_size=18))
    detour = draw(st.lists(st.floats(1.0, 2.0), min_size=len(edges), max_size=len(edges)))
    u = np.array([a for a, _ in edges])
    v = np.array([b for _, b in edges])
    straight = np.hypot(np.array(x)[u] - np.array(x)[v], np.array(y)[u] - np.array(y)[v])
    net = Network.from_edges(x, y, u, v, crs="EPSG:4547", edge_length=straight * detour)
    point = st.tuples(st.floats(-100, 1100), st.floats(-100, 1100))
    o = draw(st.lists(point, min_size=1, max_size=6))
    t = draw(st.lists(point, min_size=1, max_size=8))
    # Targets next to origins: often on the same edge, where the direct route matters.
    nudge = st.tuples(st.floats(-30, 30), st.floats(-30, 30))
    near = draw(st.lists(nudge, min_size=len(o), max_size=len(o)))
    t += [(ox + dx, oy + dy) for (ox, oy), (dx, dy) in zip(o, near, strict=True)]
    max_snap = draw(st.floats(20, 400))
    limit = draw(st.floats(0, 3000))
    return net, pts(net, o, max_snap), pts(net, t, max_snap), limit


def all_pairs(net: Network) -> np.ndarray:
    """Unbounded node-to-node distances, parallel edges reduced to the shortest."""
    w = np.full((net.n_nodes, net.n_nodes), np.inf)
    np.minimum.at(w, (net.edge_u, net.edge_v), net.edge_length)
    np.minimum.at(w, (net.edge_v, net.edge_u), net.edge_length)
    graph = csgraph.csgraph_from_dense(w, null_value=np.inf)
    return csgraph.dijkstra(graph, directed=False)


def ends(net: Network, s: Snapped, i: int, snap: bool) -> list[tuple[int, float]]:
    e, off = int(s.edge[i]), float(s.offset_m[i])
    c0 = float(s.distance_m[i]) if snap else 0.0
    return [(int(net.edge_u[e]), c0 + off), (int(net.edge_v[e]), c0 + net.edge_length[e] - off)]


def point_to_point(net: Network, dd: np.ndarray, o: Snapped, i: int, t: Snapped, j: int) -> float:
    best = min(
        ca + dd[a, b] + cb for a, ca in ends(net, o, i, True) for b, cb in ends(net, t, j, True)
    )
    if o.edge[i] == t.edge[j]:
        best = min(best, o.distance_m[i] + abs(o.offset_m[i] - t.offset_m[j]) + t.distance_m[j])
    return float(best)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EPS = 1e-7


@FAST
@given(random_case())
def test_node_distances_match_csgraph(case: tuple[Network, Snapped, Snapped, float]) -> None:
    net, origins, _, limit = case
    dd = all_pairs(net)
    ref = np.full(net.n_nodes, np.inf)
    for i in np.flatnonzero(origins.on_network):
        for a, ca in ends(net, origins, i, True):
            ref = np.minimum(ref, ca + dd[a])
    got = node_distances(net, origins, limit=limit).distance_m
    inside = ref <= limit - EPS
    np.testing.assert_allclose(got[inside], ref[inside], atol=1e-6)
    assert np.isinf(got[ref > limit + EPS]).all()


@FAST
@given(random_case())
def test_reach_pairs_and_nearest_match_brute_force(
    case: tuple[Network, Snapped, Snapped, float],
) -> None:
    net, origins, targets, limit = case
    dd = all_pairs(net)
    ref = np.full((len(origins), len(targets)), np.inf)
    for i in np.flatnonzero(origins.on_network):
        for j in np.flatnonzero(targets.on_network):
            ref[i, j] = point_to_point(net, dd, origins, i, targets, j)
    pairs = reach_pairs(net, origins, targets, limit=limit)
    got = np.full_like(ref, np.inf)
    got[pairs.origin, pairs.target] = pairs.distance_m
    assert len(pairs) == len(set(zip(pairs.origin.tolist(), pairs.target.tolist(), strict=True)))
    assert np.all(pairs.distance_m <= limit)
    inside = ref <= limit - EPS
    np.testing.assert_allclose(got[inside], ref[inside], atol=1e-6)
    assert np.isinf(got[ref > limit + EPS]).all()
    near = nearest(net, origins, targets, limit=limit)
    best = got.min(axis=0)
    clear = (best <= limit - EPS) | np.isinf(best)
    np.testing.assert_allclose(near.distance_m[clear], best[clear], atol=1e-6)
    for j in np.flatnonzero(near.reached & clear):
        assert got[near.origin[j], j] == pytest.approx(near.distance_m[j], abs=1e-6)


@FAST
@given(random_case(), st.booleans())
def test_balls_match_bounded_dijkstra(
    case: tuple[Network, Snapped, Snapped, float], include_snap: bool
) -> None:
    net, origins, _, limit = case
    dd = all_pairs(net)
    b = balls(net, origins, limit=limit, include_snap=include_snap)
    assert len(b) == len(origins)
    for i in range(len(origins)):
        node, dist = b.of(i)
        assert np.unique(node).size == node.size
        assert np.all(np.diff(dist) >= 0)
        assert np.all(dist <= limit)
        if not origins.on_network[i]:
            assert node.size == 0
            continue
        ref = np.full(net.n_nodes, np.inf)
        for a, ca in ends(net, origins, i, include_snap):
            ref = np.minimum(ref, ca + dd[a])
        got = np.full(net.n_nodes, np.inf)
        got[node] = dist
        inside = ref <= limit - EPS
        np.testing.assert_allclose(got[inside], ref[inside], atol=1e-6)
        assert np.isinf(got[ref > limit + EPS]).all()


# ------------------------------------------------------------------ real data
@pytest.mark.data
def test_yuexiu_node_distances_match_networkx(data_root: Path, tmp_path: Path) -> None:
    from skillcircle.network.load import load_network

    net = load_network(
        data_root / "yuexiu" / "roads_osm.gpkg",
        settings=Settings(cache_dir=tmp_path),
        use_cache=False,
    )
    assert net.n_nodes > 2000
    assert net.component_labels()[0] == 1
    graph = nx.MultiGraph()
    graph.add_weighted_edges_from(
        zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length.tolist(), strict=True),
        weight="length",
    )
    rng = np.random.default_rng(7)
    sources = rng.choice(net.n_nodes, size=20, replace=False)
    b = balls(net, at_nodes(net, sources), limit=1000.0)
    for i, s in enumerate(sources):
        ref = nx.single_source_dijkstra_path_length(graph, int(s), cutoff=1000.0, weight="length")
        node, dist = b.of(i)
        assert sorted(ref) == sorted(node.tolist())
        np.testing.assert_allclose(dist, [ref[k] for k in node.tolist()], atol=1e-6)
        single = node_distances(net, at_nodes(net, [s]), limit=1000.0).distance_m
        np.testing.assert_allclose(single[node], dist, atol=1e-9)
        assert np.isinf(single).sum() == net.n_nodes - node.size
