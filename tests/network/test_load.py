from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Geod
from scipy.sparse import csgraph
from shapely.geometry import LineString, box

from skillcircle import InputError, InputFileNotFoundError, NetworkError
from skillcircle.network.build import build_roads_network
from skillcircle.network.load import load_network
from skillcircle.network.model import Network
from skillcircle.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "network"


def test_load_network_keeps_largest_component_and_records_provenance(
    roads: gpd.GeoDataFrame, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "roads.gpkg"
    roads.to_file(path)
    net = load_network(path, settings=settings, use_cache=False)
    assert (net.n_nodes, net.n_edges) == (4, 3)
    assert net.total_length_m == pytest.approx(500.0)
    assert net.meta["raw"]["n_components"] == 2
    assert net.meta["raw"]["n_nodes"] == 6
    assert net.meta["raw"]["total_length_m"] == pytest.approx(610.0)
    assert net.meta["loader"] == "roads"
    assert net.meta["crs"] == "EPSG:4547"
    assert len(net.meta["source_sha256"]) == 64
    everything = load_network(path, settings=settings, use_cache=False, retain_all=True)
    assert (everything.n_nodes, everything.n_edges) == (6, 4)
    assert everything.component_labels()[0] == 2


def test_boundary_clip_keeps_touching_edges_whole(
    roads: gpd.GeoDataFrame, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "roads.gpkg"
    roads.to_file(path)
    area = gpd.GeoDataFrame(
        geometry=[box(430_000 - 10, 2_558_000 - 10, 430_000 + 20, 2_558_000 + 10)], crs="EPSG:4547"
    )
    small = load_network(path, settings=settings, boundary=area, buffer_m=0.0, use_cache=False)
    assert (small.n_nodes, small.n_edges) == (2, 1)
    assert small.total_length_m == pytest.approx(100.0)  # the edge (0,0)-(100,0), not cut
    # the same boundary as a file in another CRS, grown by 60 m (x ≤ 80): now also touches
    # C at x = 50, so the whole B+C edge (300 m) comes in; (100,0)-(200,0) stays out
    boundary_file = tmp_path / "area.geojson"
    area.to_crs("EPSG:4326").to_file(boundary_file)
    grown = load_network(
        path, settings=settings, boundary=boundary_file, buffer_m=60.0, use_cache=False
    )
    assert (grown.n_nodes, grown.n_edges) == (3, 2)
    assert grown.total_length_m == pytest.approx(400.0)
    assert grown.meta["boundary"] is True


def test_boundary_errors(roads: gpd.GeoDataFrame, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "roads.gpkg"
    roads.to_file(path)
    with pytest.raises(InputFileNotFoundError):
        load_network(path, settings=settings, boundary=tmp_path / "none.gpkg")
    with pytest.raises(InputError, match="polygons"):
        load_network(path, settings=settings, boundary=roads)
    far = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="EPSG:4547")
    with pytest.raises(NetworkError, match="study area"):
        load_network(path, settings=settings, boundary=far, buffer_m=0.0, use_cache=False)


def test_source_errors(roads: gpd.GeoDataFrame, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFoundError, match="not found"):
        load_network(tmp_path / "missing.gpkg", settings=settings)
    (tmp_path / "roads.txt").write_text("x")
    with pytest.raises(InputError, match="unknown network source"):
        load_network(tmp_path / "roads.txt", settings=settings)
    roads.drop(columns="highway").to_file(tmp_path / "nohighway.gpkg")
    with pytest.raises(InputError, match="highway"):
        load_network(tmp_path / "nohighway.gpkg", settings=settings, use_cache=False)
    only_motorway = roads[roads["highway"] == "motorway"]
    with pytest.raises(NetworkError, match="no walkable"):
        build_roads_network(only_motorway, crs="EPSG:4547")


# ---------------------------------------------------------------------------- OSM files
def _signature(net: Network) -> tuple[int, int, list[float], list[str]]:
    return (
        net.n_nodes,
        net.n_edges,
        np.sort(net.edge_length).tolist(),
        sorted(net.edge_attrs["highway"].tolist()),
    )


@pytest.fixture
def pbf_file(tmp_path: Path) -> Path:
    """The .osm fixture converted to .osm.pbf with pyosmium."""
    import osmium

    target = tmp_path / "walk_small.osm.pbf"
    with osmium.SimpleWriter(str(target)) as writer:
        for obj in osmium.FileProcessor(str(FIXTURES / "walk_small.osm")):
            writer.add(obj)
    return target


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [
        # only node 1 inside: way 101 (nodes 1, 2, 3) is read whole, nodes outside included
        ((113.2595, 23.1295, 113.2605, 23.1305), {101: [(113.26, 23.13), (113.261, 23.13),
                                                       (113.262, 23.13)]}),
        # only node 9: the path 105 from node 5
        ((113.2604, 23.1318, 113.2606, 23.1322), {105: [(113.261, 23.131), (113.2605, 23.132)]}),
        # node 2 is shared by 101, 102 and the motorway 103 (the walk filter drops it later)
        ((113.2609, 23.1299, 113.2611, 23.1301), {101: 3, 102: 4, 103: 2}),
        ((100.0, 10.0, 100.1, 10.1), {}),  # nothing there
    ],
)  # fmt: skip
def test_pbf_box_reads_the_ways_with_a_node_inside(pbf_file: Path, bbox, expected) -> None:
    from skillcircle.network.build import read_osm_pbf_ways

    frame = read_osm_pbf_ways(pbf_file, bbox=bbox)
    assert sorted(frame["osm_id"].tolist()) == sorted(expected)
    for osm_id, want in expected.items():
        line = frame.geometry[frame["osm_id"] == osm_id].iloc[0]
        if isinstance(want, int):
            assert len(line.coords) == want
        else:
            np.testing.assert_allclose(np.asarray(line.coords), want, atol=1e-9)
    assert frame.crs == "EPSG:4326"
    every = read_osm_pbf_ways(pbf_file)
    assert sorted(every["osm_id"].tolist()) == [101, 102, 103, 104, 105, 106]


def test_pbf_with_a_boundary_streams_the_same_network_as_osm_xml(
    settings: Settings, pbf_file: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    import skillcircle.network.load as load_module

    monkeypatch.setattr(load_module, "PBF_BOX_MARGIN_M", 0.0)  # the box is the boundary's
    # the block of nodes 1-5: the XML path reads everything then clips; the PBF path reads
    # only the box around the boundary, then clips the same way
    area = gpd.GeoDataFrame(geometry=[box(113.2598, 23.1298, 113.2622, 23.1312)], crs=4326)
    xml = load_network(FIXTURES / "walk_small.osm", settings=settings, boundary=area,
                       buffer_m=0.0, retain_all=True, use_cache=False)  # fmt: skip
    with caplog.at_level("INFO", logger="skillcircle.network.build"):
        pbf = load_network(pbf_file, settings=settings, boundary=area, buffer_m=0.0,
                           retain_all=True, use_cache=False)  # fmt: skip
    assert _signature(pbf) == _signature(xml)
    assert _signature(pbf)[:2] == (4, 4)  # 1-2-3-4-5-2 and the motorway gone, 9 outside
    # the island way 106 was never read: 101-105 have a node in the box
    assert "5 highway ways with a node in the box" in caplog.text
    # and the same as reading the whole file before clipping
    whole = load_module._load_pbf
    monkeypatch.setattr(load_module, "_load_pbf", lambda path, crs, bbox=None: whole(path, crs))
    unboxed = load_network(pbf_file, settings=settings, boundary=area, buffer_m=0.0,
                           retain_all=True, use_cache=False)  # fmt: skip
    assert np.array_equal(unboxed.edge_coords, pbf.edge_coords)
    assert np.array_equal(unboxed.edge_u, pbf.edge_u)
    assert np.array_equal(unboxed.x, pbf.x)


@pytest.mark.parametrize("retain_all", [True, False])
def test_osm_xml_pbf_and_roads_layer_agree(
    settings: Settings, pbf_file: Path, retain_all: bool
) -> None:
    xml = load_network(FIXTURES / "walk_small.osm", settings=settings, retain_all=retain_all)
    layer = load_network(FIXTURES / "walk_small.geojson", settings=settings, retain_all=retain_all)
    pbf = load_network(pbf_file, settings=settings, retain_all=retain_all)
    n_xml, e_xml, len_xml, hw_xml = _signature(xml)
    for other in (layer, pbf):
        n, e, lengths, highways = _signature(other)
        assert (n, e) == (n_xml, e_xml)
        assert np.allclose(lengths, len_xml, rtol=0, atol=1e-6)
        assert highways == hw_xml
    # hand-made: 6 nodes / 5 edges; the island way 106 is dropped unless retain_all
    assert (n_xml, e_xml) == ((6, 5) if retain_all else (4, 4))
    assert set(xml.node_id.tolist()) == ({1, 2, 5, 9, 10, 11} if retain_all else {1, 2, 5, 9})
    # the motorway and the foot=no tertiary are gone; 3 and 4 became bends of one edge
    assert hw_xml == sorted(
        ["residential", "footway", "footway;residential", "path"]
        + (["footway"] if retain_all else [])
    )
    # node 1 → node 2 runs 0.001° of longitude along 23.13° N: geodesic 102.4 m
    geodesic = Geod(ellps="GRS80").inv(113.26, 23.13, 113.261, 23.13)[2]
    first = xml.edge_length[xml.edge_attrs["highway"] == "residential"][0]
    assert first == pytest.approx(geodesic, abs=0.05)  # Gauss-Kruger scale error ~1e-4
    assert xml.edge_attrs["name"][xml.edge_attrs["highway"] == "residential"][0] == "测试路"


def test_graphml_source(settings: Settings, tmp_path: Path) -> None:
    import osmnx as ox

    G = ox.graph_from_xml(FIXTURES / "walk_small.osm", bidirectional=True, retain_all=True)
    ox.save_graphml(G, tmp_path / "g.graphml")
    net = load_network(tmp_path / "g.graphml", settings=settings, retain_all=True)
    direct = Network.from_networkx(G, crs=settings.crs)
    assert (net.n_nodes, net.n_edges) == (direct.n_nodes, direct.n_edges)
    assert net.total_length_m == pytest.approx(direct.total_length_m, abs=1e-6)
    # no walk filter on GraphML (osmnx already filtered): the motorway 7-2 is still there
    assert "motorway" in net.edge_attrs["highway"].tolist()


# ---------------------------------------------------------------------------- networkx
def _osmnx_like_graph() -> nx.MultiDiGraph:
    """A tiny unprojected osmnx-style MultiDiGraph: 4 nodes, 2 two-way streets, 1 one-way."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_node(10, x=113.2600, y=23.1300)
    G.add_node(20, x=113.2610, y=23.1300)
    G.add_node(30, x=113.2610, y=23.1310)
    G.add_node(40, x=113.2600, y=23.1310)
    bend = LineString([(113.2610, 23.1300), (113.2615, 23.1305), (113.2610, 23.1310)])
    G.add_edge(10, 20, highway="footway", osmid=1, length=999.0)
    G.add_edge(20, 10, highway="footway", osmid=1, length=999.0)
    G.add_edge(20, 30, highway="residential", osmid=[3, 2], geometry=bend)
    G.add_edge(30, 20, highway="residential", osmid=[2, 3], geometry=shapely.reverse(bend))
    G.add_edge(30, 40, highway="primary", osmid=4, oneway=True)
    return G


def test_from_networkx_collapses_reciprocal_edges_and_projects() -> None:
    net = Network.from_networkx(_osmnx_like_graph())
    assert net.crs == "EPSG:32649"  # a lon/lat graph goes to its UTM zone (49N at 113.26 E)
    assert (net.n_nodes, net.n_edges) == (4, 3)
    assert sorted(net.node_id.tolist()) == [10, 20, 30, 40]
    geod = Geod(ellps="GRS80")
    straight = geod.inv(113.2600, 23.1300, 113.2610, 23.1300)[2]
    hw = net.edge_attrs["highway"].tolist()
    # lengths come from projected geometry, never the graph's "length"
    assert net.edge_length[hw.index("footway")] == pytest.approx(straight, abs=0.05)
    bend = geod.line_length([113.2610, 113.2615, 113.2610], [23.1300, 23.1305, 23.1310])
    assert net.edge_length[hw.index("residential")] == pytest.approx(bend, abs=0.05)
    assert net.edge_attrs["osmid"][hw.index("residential")] == "2;3"
    # geometry runs from edge_u to edge_v
    for i in range(net.n_edges):
        start = shapely.get_coordinates(net.edge_geometry[i])[0]
        assert np.allclose(start, [net.x[net.edge_u[i]], net.y[net.edge_u[i]]])


def test_networkx_round_trip(roads: gpd.GeoDataFrame) -> None:
    net = build_roads_network(roads, crs="EPSG:4547")
    G = net.to_networkx()
    assert isinstance(G, nx.MultiGraph)
    assert not G.is_directed()
    assert G.graph["crs"] == "EPSG:4547"
    assert (G.number_of_nodes(), G.number_of_edges()) == (6, 4)
    assert set(G.nodes[0]) == {"x", "y", "osmid"}
    assert {"length", "geometry", "highway", "name", "osm_id"} <= set(next(iter(G.edges.values())))
    back = Network.from_networkx(G)
    assert (back.n_nodes, back.n_edges) == (net.n_nodes, net.n_edges)
    assert back.total_length_m == pytest.approx(net.total_length_m, abs=1e-9)
    assert np.array_equal(np.sort(back.edge_length), np.sort(net.edge_length))
    assert sorted(back.edge_attrs["highway"].tolist()) == sorted(net.edge_attrs["highway"].tolist())
    assert back.edge_attrs["osm_id"].dtype == np.int64


def test_from_networkx_errors() -> None:
    G = nx.MultiGraph()
    G.add_edge(1, 2)
    with pytest.raises(NetworkError, match="crs"):
        Network.from_networkx(G)
    G.graph["crs"] = "EPSG:4547"
    with pytest.raises(NetworkError, match="'x' and 'y'"):
        Network.from_networkx(G)
    with pytest.raises(NetworkError, match="projected"):
        Network.from_networkx(_osmnx_like_graph(), crs="EPSG:4326")


# ---------------------------------------------------------------------------- online
def test_place_source_uses_osmnx_walk_network(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import osmnx as ox

    monkeypatch.setattr(ox.settings, "cache_folder", ox.settings.cache_folder)
    monkeypatch.setattr(ox.settings, "use_cache", ox.settings.use_cache)
    calls: list[tuple[str, dict[str, object]]] = []
    during: list[tuple[object, object]] = []

    def fake_graph_from_place(query: str, **kwargs: object) -> nx.MultiDiGraph:
        calls.append((query, kwargs))
        during.append((ox.settings.cache_folder, ox.settings.use_cache))
        return _osmnx_like_graph()

    monkeypatch.setattr(ox, "graph_from_place", fake_graph_from_place)
    before = (ox.settings.cache_folder, ox.settings.use_cache)
    net = load_network("place:越秀区, 广州市", settings=settings)
    assert calls == [
        ("越秀区, 广州市", {"network_type": "walk", "retain_all": True, "simplify": True})
    ]
    assert during == [(str(settings.cache_dir / "osmnx"), True)]
    assert (ox.settings.cache_folder, ox.settings.use_cache) == before  # restored
    assert (net.n_nodes, net.n_edges) == (4, 3)
    assert net.meta["loader"] == "online"
    assert net.meta["source"] == "place:越秀区, 广州市"


@pytest.mark.web
@pytest.mark.skipif(os.environ.get("SKILLCIRCLE_WEB") != "1", reason="set SKILLCIRCLE_WEB=1")
def test_place_source_downloads(settings: Settings) -> None:  # pragma: no cover - needs internet
    net = load_network("place:Ersha Island, Guangzhou, China", settings=settings)
    assert net.n_edges > 10
    assert net.component_labels()[0] == 1


# ---------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def yuexiu(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Network:
    settings = Settings(cache_dir=tmp_path_factory.mktemp("cache"))
    return load_network(data_root / "yuexiu" / "roads_osm.gpkg", settings=settings)


@pytest.mark.data
def test_yuexiu_roads_layer(yuexiu: Network) -> None:
    raw = yuexiu.meta["raw"]
    # data README: ~350 pieces, largest ~84 %. Walk filter + osmnx ring removal: 333, 86.9 %.
    assert 300 <= raw["n_components"] <= 380
    assert raw["largest_component_length_share"] == pytest.approx(0.869, abs=0.01)
    assert raw["n_nodes"] == pytest.approx(4610, rel=0.02)
    assert yuexiu.component_labels()[0] == 1
    assert (yuexiu.n_nodes, yuexiu.n_edges) == (
        pytest.approx(3589, rel=0.02),
        pytest.approx(4762, rel=0.02),
    )
    assert yuexiu.total_length_m == pytest.approx(462_819, rel=0.01)
    assert "motorway" not in set(yuexiu.edge_attrs["highway"].tolist())
    assert "cycleway" not in set(yuexiu.edge_attrs["highway"].tolist())


@pytest.mark.data
def test_yuexiu_scipy_and_networkx_distances_agree(yuexiu: Network) -> None:
    rng = np.random.default_rng(20240615)
    origins = rng.choice(yuexiu.n_nodes, size=20, replace=False)
    dist = csgraph.dijkstra(yuexiu.adjacency(), directed=False, indices=origins)
    G = yuexiu.to_networkx()
    for row, origin in enumerate(origins):
        lengths = nx.single_source_dijkstra_path_length(G, int(origin), weight="length")
        expected = np.full(yuexiu.n_nodes, np.inf)
        expected[list(lengths)] = list(lengths.values())
        assert np.all(np.isfinite(expected))  # one component
        assert np.max(np.abs(dist[row] - expected)) < 1e-6


@pytest.mark.data
@pytest.mark.slow
def test_wuhan_parquet_builds(data_root: Path, settings: Settings) -> None:
    net = load_network(
        data_root / "bench" / "wuhan_roads_osm.parquet", settings=settings, use_cache=False
    )
    assert net.meta["raw"]["n_components"] == 2
    assert net.total_length_m == pytest.approx(6_683_087, rel=0.01)  # 7 185 km less motorways
