import numpy as np
import pytest
import shapely

from skillcircle import NetworkError
from skillcircle.network.model import Network


@pytest.fixture
def two_pieces() -> Network:
    # 0-1-2 (100 m + 50 m) and a separate 3-4 piece of 500 m; plus a parallel 0-1 edge of 130 m
    geom = [
        shapely.LineString([(0, 0), (100, 0)]),
        shapely.LineString([(100, 0), (100, 50)]),
        shapely.LineString([(1000, 0), (1500, 0)]),
        shapely.LineString([(0, 0), (50, 40), (100, 0)]),
    ]
    return Network.from_edges(
        [0, 100, 100, 1000, 1500],
        [0, 0, 50, 0, 0],
        [0, 1, 3, 0],
        [1, 2, 4, 1],
        crs="EPSG:4547",
        edge_geometry=geom,
        edge_attrs={"highway": np.array(["footway", "primary", "path", "footway"])},
    )


def test_lengths_come_from_geometry(two_pieces):
    expected = [100.0, 50.0, 500.0, 2 * np.hypot(50, 40)]
    np.testing.assert_allclose(two_pieces.edge_length, expected, atol=1e-9)


def test_csr_holds_each_edge_both_ways(two_pieces):
    net = two_pieces
    assert net.indptr.tolist() == [0, 2, 5, 6, 7, 8]
    # node 1 sees node 0 twice (two parallel edges) and node 2 once
    nbrs = net.indices[net.indptr[1] : net.indptr[2]]
    assert sorted(nbrs.tolist()) == [0, 0, 2]
    for k in range(net.indices.size):
        e = net.csr_edge[k]
        assert net.csr_length[k] == net.edge_length[e]
    assert net.degree().tolist() == [2, 3, 1, 1, 1]


def test_largest_component_by_node_count(two_pieces):
    n, _ = two_pieces.component_labels()
    assert n == 2
    lcc = two_pieces.largest_component()
    # 3 nodes (278 m) beat the 2-node piece even though that one is 500 m long, as in osmnx
    assert lcc.n_nodes == 3
    assert lcc.n_edges == 3
    assert lcc.edge_attrs["highway"].tolist() == ["footway", "primary", "footway"]
    assert lcc.total_length_m == pytest.approx(150 + 2 * np.hypot(50, 40))


def test_bad_edges_are_refused():
    with pytest.raises(NetworkError, match="does not exist"):
        Network.from_edges([0, 1], [0, 0], [0], [2], crs="EPSG:4547")
    with pytest.raises(NetworkError, match="empty"):
        Network.from_edges([0, 1], [0, 0], [], [], crs="EPSG:4547")


def test_largest_component_mask(two_pieces):
    assert two_pieces.largest_component_mask().tolist() == [True, True, True, False, False]


def test_shapes_are_flat_coordinates_and_lines_on_demand(two_pieces):
    net = two_pieces
    assert net.edge_offsets.tolist() == [0, 2, 4, 6, 9]
    assert net.edge_coords[6:9].tolist() == [[0, 0], [50, 40], [100, 0]]
    assert "edge_geometry" not in net.__dict__  # nothing built yet
    some = net.edge_lines([3, 1])  # only these two are made
    assert [g.wkt for g in some] == ["LINESTRING (0 0, 50 40, 100 0)", "LINESTRING (100 0, 100 50)"]
    assert "edge_geometry" not in net.__dict__
    every = net.edge_geometry
    assert every[2].equals(shapely.LineString([(1000, 0), (1500, 0)]))
    assert net.edge_lines([2])[0] is every[2]  # taken from the built ones now
    np.testing.assert_allclose(net.shape_lengths(), [100, 50, 500, 2 * np.hypot(50, 40)])


def test_edge_shapes_feed_a_subnetwork(two_pieces):
    picked = two_pieces.edge_shapes([3, 0])
    assert picked["edge_offsets"].tolist() == [0, 3, 5]
    sub = Network.from_edges([0, 100], [0, 0], [0, 0], [1, 1], crs="EPSG:4547", **picked)
    np.testing.assert_allclose(sub.edge_length, [2 * np.hypot(50, 40), 100.0])
    assert sub.edge_geometry[0].wkt == "LINESTRING (0 0, 50 40, 100 0)"


def test_pickle_leaves_the_lines_behind(two_pieces):
    import pickle

    two_pieces.edge_geometry  # noqa: B018 - build them
    back = pickle.loads(pickle.dumps(two_pieces))
    assert "edge_geometry" not in back.__dict__
    assert [g.wkt for g in back.edge_geometry] == [g.wkt for g in two_pieces.edge_geometry]


def test_shapes_that_are_not_lines_are_refused():
    with pytest.raises(NetworkError, match="edge geometry 1 is not a LineString"):
        Network.from_edges(
            [0, 1, 2], [0, 0, 0], [0, 1], [1, 2], crs="EPSG:4547",
            edge_geometry=[shapely.LineString([(0, 0), (1, 0)]), shapely.Point(1, 0)],
        )  # fmt: skip
    with pytest.raises(NetworkError, match="edge_offsets must start at 0"):
        Network.from_edges(
            [0, 1], [0, 0], [0], [1], crs="EPSG:4547",
            edge_coords=[[0, 0], [1, 0]], edge_offsets=[0, 3],
        )  # fmt: skip
