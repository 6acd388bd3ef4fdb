import logging
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import csgraph
from scipy.spatial import Delaunay

from skillcircle import InputError
from skillcircle.access.isochrones import add_access_legs, isochrones, reached_edges, service_area
from skillcircle.access.routing import balls
from skillcircle.access.snapping import Snapped, snap_points
from skillcircle.network.model import Network

CRS = "EPSG:4547"


def grid(n_rows: int, n_cols: int, spacing: float = 100.0) -> Network:
    """Node r*n_cols + c at (c*spacing, r*spacing); edges drawn west->east and south->north."""
    r, c = np.divmod(np.arange(n_rows * n_cols), n_cols)
    ids = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    return Network.from_edges(c * spacing, r * spacing, u, v, crs=CRS)


def station(
    net: Network, edge: int, offset: float, x: float = 0.0, y: float = 0.0, on: bool = True
) -> Snapped:
    return Snapped(
        edge=np.array([edge]),
        offset_m=np.array([offset]),
        distance_m=np.array([0.0]),
        x=np.array([x]),
        y=np.array([y]),
        on_network=np.array([on]),
        network=net.fingerprint,
    )


def edge_row(net: Network, a: int, b: int) -> int:
    return int(np.flatnonzero((net.edge_u == a) & (net.edge_v == b))[0])


def pieces_by_ends(net: Network, pieces: gpd.GeoDataFrame) -> dict:
    out: dict = {}
    for e, s, t in pieces[["edge", "start_m", "end_m"]].itertuples(index=False):
        key = (int(net.edge_u[e]), int(net.edge_v[e]))
        out.setdefault(key, []).append((round(s, 9), round(t, 9)))
    return out


@pytest.fixture
def g3() -> Network:
    return grid(3, 3)


# ------------------------------------------------------------------------- reached pieces
def test_reached_pieces_on_a_grid_by_hand(g3):
    # station 30 m east of node 0 on edge 0-1; walk 180 m. Node distances by hand:
    # 0: 30, 1: 70, 3: 130, 2: 170, 4: 170 (the rest > 180)
    st0 = station(g3, edge_row(g3, 0, 1), 30.0, 30.0, 0.0)
    hand = SimpleNamespace(
        indptr=np.array([0, 5]),
        node=np.array([0, 1, 2, 3, 4]),
        distance_m=np.array([30.0, 70.0, 170.0, 130.0, 170.0]),
    )
    expected = {
        (0, 1): [(0, 100)],
        (1, 2): [(0, 100)],
        (0, 3): [(0, 100)],
        (1, 4): [(0, 100)],
        (3, 4): [(0, 50), (90, 100)],  # 180-130 from node 3, 180-170 back from node 4
        (2, 5): [(0, 10)],
        (4, 5): [(0, 10)],
        (3, 6): [(0, 50)],
        (4, 7): [(0, 10)],
    }
    pieces = reached_edges(g3, hand, st0, 180.0)
    assert pieces.crs == CRS
    assert pieces_by_ends(g3, pieces) == expected
    # the routing module gives the same distances, hence the same pieces
    routed = reached_edges(g3, balls(g3, st0, limit=180.0), st0, 180.0)
    assert pieces_by_ends(g3, routed) == expected
    # cut geometries: the exact cut points
    by = {
        (int(g3.edge_u[e]), int(g3.edge_v[e]), s): geom
        for e, s, geom in zip(pieces["edge"], pieces["start_m"], pieces.geometry, strict=True)
    }
    np.testing.assert_allclose(shapely.get_coordinates(by[(3, 4, 0.0)]), [[0, 100], [50, 100]])
    top = by[(3, 4, 90.0)]
    np.testing.assert_allclose(shapely.get_coordinates(top), [[90, 100], [100, 100]], atol=1e-9)
    vert = by[(3, 6, 0.0)]
    np.testing.assert_allclose(shapely.get_coordinates(vert), [[0, 100], [0, 150]], atol=1e-9)
    np.testing.assert_allclose(shapely.get_coordinates(by[(2, 5, 0.0)]), [[200, 0], [200, 10]])
    np.testing.assert_allclose(shapely.length(pieces.geometry), pieces.end_m - pieces.start_m)


def test_touching_intervals_make_the_whole_edge(g3):
    # mid-edge station, 200 m: node 3 and node 4 both at 150 m, edge 3-4 gets [0,50] and [50,100]
    st0 = station(g3, edge_row(g3, 0, 1), 50.0)
    pieces = reached_edges(g3, balls(g3, st0, limit=200.0), st0, 200.0)
    got = pieces_by_ends(g3, pieces)
    assert got[(3, 4)] == [(0.0, 100.0)]
    assert got[(4, 5)] == [(0.0, 50.0)]


def test_own_edge_interval_and_vertices_inside_a_piece():
    # edge 0: a 1000 m detour 0 -> (0,450) -> (100,450) -> 1; edge 1: the 100 m straight 1 -> 0.
    # station at offset 900 of edge 0, i.e. (100, 100): reaches node 1 at 100, node 0 at 200.
    geom = [
        shapely.LineString([(0, 0), (0, 450), (100, 450), (100, 0)]),
        shapely.LineString([(100, 0), (0, 0)]),
    ]
    net = Network.from_edges([0, 100], [0, 0], [0, 1], [1, 0], crs=CRS, edge_geometry=geom)
    st0 = snap_points(net, [100.0], [100.0], max_snap_m=10)
    assert st0.edge.tolist() == [0]
    assert st0.offset_m.tolist() == [900.0]
    p = reached_edges(net, balls(net, st0, limit=300.0), st0, 300.0)
    # edge 0: [0, 300-200] from node 0, [600, 1000] around the station ([800, 1000] from node 1)
    assert pieces_by_ends(net, p) == {(0, 1): [(0, 100), (600, 1000)], (1, 0): [(0, 100)]}
    np.testing.assert_allclose(shapely.get_coordinates(p.geometry.iloc[0]), [[0, 0], [0, 100]])
    np.testing.assert_allclose(
        shapely.get_coordinates(p.geometry.iloc[1]), [[100, 400], [100, 0]], atol=1e-9
    )
    # 400 m: [0, 200] and [500, 1000]; the second keeps the two inner vertices
    p = reached_edges(net, balls(net, st0, limit=400.0), st0, 400.0)
    assert pieces_by_ends(net, p)[(0, 1)] == [(0, 200), (500, 1000)]
    np.testing.assert_allclose(
        shapely.get_coordinates(p.geometry.iloc[1]),
        [[50, 450], [100, 450], [100, 0]],
        atol=1e-9,
    )


def test_station_alone_on_a_long_street():
    net = Network.from_edges([0, 1000], [0, 0], [0], [1], crs=CRS)
    st0 = station(net, 0, 500.0)
    p = reached_edges(net, balls(net, st0, limit=100.0), st0, 100.0)
    assert p[["edge", "start_m", "end_m"]].to_numpy().tolist() == [[0, 400.0, 600.0]]
    np.testing.assert_allclose(shapely.get_coordinates(p.geometry.iloc[0]), [[400, 0], [600, 0]])


# ------------------------------------------------------------------------- polygons
def axis_extent(poly, a, b) -> list[tuple[float, float]]:
    """Intervals of the line a->b inside poly, as distances from a."""
    cut = shapely.intersection(poly, shapely.LineString([a, b]))
    parts = shapely.get_parts(cut)
    pa = shapely.Point(a)
    return sorted(
        tuple(sorted(shapely.distance(pa, shapely.points(shapely.get_coordinates(g))).tolist()))
        for g in parts
    )


def test_isochrone_boundary_is_half_width_beyond_the_cut(g3):
    st0 = station(g3, edge_row(g3, 0, 1), 30.0, 30.0, 0.0)
    iso = isochrones(g3, st0, limit_m=180.0, half_width_m=15.0, method="exact")
    assert iso.crs == CRS
    assert iso.columns.tolist() == ["station", "reach_m", "geometry"]
    assert iso["station"].tolist() == [0]
    assert iso["reach_m"].tolist() == [180.0]
    poly = iso.geometry.iloc[0]
    assert poly.geom_type == "MultiPolygon"
    assert poly.is_valid
    assert poly.contains(shapely.Point(30, 0))
    # along y = 100 (street 3-4-5): cuts at 50 and 90 from node 3, and 10 m past node 4
    ext = axis_extent(poly, (-100, 100), (400, 100))
    np.testing.assert_allclose(ext, [(100 - 15, 100 + 65), (100 + 75, 100 + 125)], atol=1e-6)
    # along x = 0 (street 0-3-6): cut at y = 150
    np.testing.assert_allclose(axis_extent(poly, (0, -100), (0, 400)), [(85, 265)], atol=1e-6)
    # along x = 200 (street 2-5): cut at y = 10
    np.testing.assert_allclose(axis_extent(poly, (200, -100), (200, 400)), [(85, 125)], atol=1e-6)
    np.testing.assert_allclose(poly.bounds, (-15, -15, 215, 165), atol=1e-6)


def test_holes_are_kept(g3):
    # 250 m reach the whole block 0-1-4-3; a 10 m half-width leaves its 80 m x 80 m inside empty
    st0 = station(g3, edge_row(g3, 0, 1), 30.0, 30.0, 0.0)
    poly = isochrones(g3, st0, limit_m=250.0, half_width_m=10.0, method="exact").geometry.iloc[0]
    assert poly.is_valid
    holes = [shapely.Polygon(r) for p in poly.geoms for r in p.interiors]
    assert len(holes) == 1
    assert holes[0].area == pytest.approx(6400.0, abs=1e-6)
    np.testing.assert_allclose(holes[0].bounds, (10, 10, 90, 90), atol=1e-9)
    assert not poly.contains(shapely.Point(50, 50))


def test_off_network_station_and_crs_out(g3, caplog):
    two = Snapped(
        edge=np.array([edge_row(g3, 0, 1), 0]),
        offset_m=np.array([50.0, 0.0]),
        distance_m=np.array([0.0, 900.0]),
        x=np.array([50.0, 0.0]),
        y=np.array([0.0, 0.0]),
        on_network=np.array([True, False]),
        network=g3.fingerprint,
    )
    with caplog.at_level(logging.INFO, logger="skillcircle.access.isochrones"):
        iso = isochrones(g3, two, limit_m=100.0, half_width_m=10.0, crs_out="EPSG:4326")
    assert "1 of 2 stations are off the walking network" in caplog.text
    assert iso.crs == "EPSG:4326"
    assert iso.geometry.is_empty.tolist() == [False, True]
    assert iso.geometry.iloc[1].geom_type == "MultiPolygon"
    area = service_area(iso)
    assert area.crs == "EPSG:4326"
    assert area["stations"].tolist() == [1]
    # a geographic frame is measured in its UTM zone: within 0.2 % of the geodesic area
    from pyproj import Geod

    geodesic, _ = Geod(ellps="WGS84").geometry_area_perimeter(iso.geometry.iloc[0])
    assert area["area_km2"].iloc[0] == pytest.approx(abs(geodesic) / 1e6, rel=2e-3)


def test_service_area_unions_overlaps(g3):
    sts = Snapped(
        edge=np.array([edge_row(g3, 0, 1), edge_row(g3, 1, 2)]),
        offset_m=np.array([50.0, 50.0]),
        distance_m=np.zeros(2),
        x=np.array([50.0, 150.0]),
        y=np.zeros(2),
        on_network=np.ones(2, dtype=bool),
        network=g3.fingerprint,
    )
    iso = isochrones(g3, sts, limit_m=50.0, half_width_m=10.0, quad_segs=64, method="exact")
    # each: a 100 m street buffered by 10 m; together the 200 m street 0-1-2
    area = service_area(iso)
    assert area["stations"].tolist() == [2]
    assert area["reach_m"].tolist() == [50.0]
    expected = 200 * 20 + shapely.Point(0, 0).buffer(10, quad_segs=64).area
    assert area["area_km2"].iloc[0] == pytest.approx(expected / 1e6, rel=1e-9)


def test_bad_options(g3):
    st0 = station(g3, 0, 50.0)
    with pytest.raises(InputError, match="limit_m"):
        isochrones(g3, st0, limit_m=0, half_width_m=10)
    with pytest.raises(InputError, match="half_width_m"):
        isochrones(g3, st0, limit_m=100, half_width_m=float("nan"))
    with pytest.raises(InputError, match="does not have"):
        isochrones(g3, station(g3, 99, 0.0), limit_m=100, half_width_m=10)
    with pytest.raises(InputError, match="origins"):
        reached_edges(g3, SimpleNamespace(indptr=np.array([0]), node=[], distance_m=[]), st0, 1.0)


# ------------------------------------------------------------------------- property
def random_network(seed: int) -> Network:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 25))
    pts = rng.uniform(0, 1000, size=(n, 2))
    tri = Delaunay(pts)
    e = np.concatenate(
        [tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]], tri.simplices[:, [0, 2]]]
    )
    e = np.unique(np.sort(e, axis=1), axis=0)
    e = e[rng.random(e.shape[0]) < 0.8]
    if e.shape[0] == 0:
        e = np.array([[0, 1]])
    flip = rng.random(e.shape[0]) < 0.5
    e[flip] = e[flip][:, ::-1]
    geoms = []
    for a, b in e:
        mid = (pts[a] + pts[b]) / 2 + rng.normal(0, 30, size=2) * (rng.random() < 0.5)
        geoms.append(shapely.LineString([pts[a], mid, pts[b]]))
    return Network.from_edges(pts[:, 0], pts[:, 1], e[:, 0], e[:, 1], crs=CRS, edge_geometry=geoms)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    limit=st.floats(20, 800),
    half_width=st.floats(2, 60),
    where=st.floats(0, 1),
)
def test_property_isochrone_contains_reach_and_nothing_far(seed, limit, half_width, where):
    net = random_network(seed)
    e0 = seed % net.n_edges
    st0 = station(net, e0, where * net.edge_length[e0])
    # independent distances: scipy Dijkstra from both ends of the station's edge
    d_end = csgraph.dijkstra(net.adjacency(), indices=[net.edge_u[e0], net.edge_v[e0]])
    o, length0 = st0.offset_m[0], net.edge_length[e0]
    dist = np.minimum(o + d_end[0], length0 - o + d_end[1])

    pieces = reached_edges(net, balls(net, st0, limit=limit), st0, limit)
    poly = isochrones(
        net, st0, limit_m=limit, half_width_m=half_width, method="exact"
    ).geometry.iloc[0]
    assert poly.is_valid
    assert poly.geom_type == "MultiPolygon"

    # reached intervals agree with the distances, sampled along every edge
    du, dv = dist[net.edge_u], dist[net.edge_v]
    for e in range(net.n_edges):
        length = net.edge_length[e]
        t = np.linspace(0, length, 41)
        reach = np.minimum(du[e] + t, dv[e] + length - t)
        if e == e0:
            reach = np.minimum(reach, np.abs(t - o))
        mine = pieces[pieces["edge"] == e]
        inside = np.zeros(t.shape, dtype=bool)
        for s, f in zip(mine["start_m"], mine["end_m"], strict=True):
            inside |= (t >= s - 1e-6) & (t <= f + 1e-6)
        assert not np.any((reach <= limit - 1e-6) & ~inside)
        assert not np.any((reach >= limit + 1e-6) & inside)

    # every node within the limit is inside; every piece lies within the polygon
    pts = shapely.points(net.x, net.y)
    assert shapely.intersects(poly, pts[dist <= limit]).all()
    assert np.all(shapely.length(shapely.difference(pieces.geometry.to_numpy(), poly)) < 1e-6)
    # nodes farther than half_width from every reached piece are outside
    lines = shapely.union_all(pieces.geometry.to_numpy())
    far = shapely.distance(pts, lines) > half_width + 1e-6
    assert not shapely.intersects(poly, pts[far]).any()


# ------------------------------------------------------------------------- many stations
def test_many_stations_on_a_large_grid():
    # speed is measured by benchmarks/bench_coverage.py (350 stations, 1 M nodes), not here
    net = grid(200, 200, spacing=100.0)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0, 19_900, 60), rng.uniform(0, 19_900, 60)
    sts = snap_points(net, x, y, max_snap_m=100)
    iso = isochrones(net, sts, limit_m=1000.0, half_width_m=50.0, method="exact")
    assert len(iso) == 60
    assert iso.geometry.is_valid.all()
    # away from the border, the own street is walked 1000 m both ways: extent 2 * (1000 + 50)
    inner = (x > 2000) & (x < 17_900) & (y > 2000) & (y < 17_900)
    assert inner.sum() >= 30
    b = np.stack([g.bounds for g in iso.geometry[inner]])
    extent = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    np.testing.assert_allclose(extent, 2100.0, atol=1e-6)


# ------------------------------------------------------------------------- real streets
@pytest.mark.data
def test_yuexiu_streets(data_root):
    from skillcircle.network.build import build_roads_network

    roads = gpd.read_file(data_root / "yuexiu" / "roads_osm.gpkg")
    net = build_roads_network(roads).largest_component()
    rng = np.random.default_rng(1)
    i = rng.choice(net.n_nodes, 20, replace=False)
    sts = snap_points(net, net.x[i] + 30, net.y[i] + 30, max_snap_m=500)
    iso = isochrones(net, sts, limit_m=1000.0, half_width_m=50.0)
    ball = balls(net, sts, limit=1000.0)
    pieces = reached_edges(net, ball, sts, 1000.0)
    assert iso.geometry.is_valid.all()
    assert (iso.geom_type == "MultiPolygon").all()
    # cuts on curved multi-vertex streets: each piece is exactly as long as its interval
    np.testing.assert_allclose(
        shapely.length(pieces.geometry), pieces.end_m - pieces.start_m, atol=1e-6
    )
    for k in range(len(sts)):
        poly = iso.geometry.iloc[k]
        assert poly.contains(shapely.Point(sts.x[k], sts.y[k]))
        nodes = ball.node[ball.indptr[k] : ball.indptr[k + 1]]
        assert shapely.intersects(poly, shapely.points(net.x[nodes], net.y[nodes])).all()
        mine = pieces.geometry[pieces["station"] == k].to_numpy()
        assert np.all(shapely.length(shapely.difference(mine, poly)) < 1e-6)
    whole = service_area(iso)
    assert whole["stations"].tolist() == [20]
    # drawn once from all the reached segments: the union of the polygons to a cell's sliver
    union = shapely.union_all(iso.geometry).area / 1e6
    assert whole["area_km2"].iloc[0] == pytest.approx(union, rel=1e-3)
    exact = service_area(iso, method="exact")
    assert exact["area_km2"].iloc[0] == pytest.approx(union)


def test_access_leg_puts_an_off_street_station_inside_its_isochrone():
    net = Network.from_edges([0.0, 200.0], [0.0, 0.0], [0], [1], crs="EPSG:4547")
    station = shapely.Point(50.0, 120.0)
    snapped = snap_points(net, [50.0], [120.0], max_snap_m=500.0)
    iso = isochrones(net, snapped, limit_m=100.0, half_width_m=10.0, method="exact")
    assert not iso.geometry.iloc[0].contains(station)
    legged = add_access_legs(iso, [station], snapped, half_width_m=10.0)
    geom = legged.geometry.iloc[0]
    assert geom.contains(station)
    assert geom.geom_type == "MultiPolygon"
    assert geom.is_valid
    # street reach [0, 150] buffered 10 m; leg (50, 0)-(50, 120) buffered 10 m
    np.testing.assert_allclose(geom.bounds, (-10.0, -10.0, 160.0, 130.0), atol=1e-9)
    assert iso.geometry.iloc[0].bounds[3] == pytest.approx(10.0)


def test_include_snap_counts_the_walk_to_the_street():
    net = Network.from_edges([0.0, 1000.0], [0.0, 0.0], [0], [1], crs="EPSG:4547")
    st = snap_points(net, [500.0], [30.0], max_snap_m=50.0)  # 30 m off the street
    plain = isochrones(net, st, limit_m=100.0, half_width_m=20.0, method="exact")
    counted = isochrones(
        net, st, limit_m=100.0, half_width_m=20.0, include_snap=True, method="exact"
    )
    np.testing.assert_allclose(plain.total_bounds, [380.0, -20.0, 620.0, 20.0], atol=1e-9)
    # 100 m budget - 30 m to the street = 70 m each way along it
    np.testing.assert_allclose(counted.total_bounds, [410.0, -20.0, 590.0, 20.0], atol=1e-9)
    assert counted["reach_m"].tolist() == [70.0]
    far = snap_points(net, [500.0], [130.0], max_snap_m=500.0)  # the walk to the street alone
    assert (
        isochrones(net, far, limit_m=100.0, half_width_m=20.0, include_snap=True)
        .geometry[0]
        .is_empty
    )
