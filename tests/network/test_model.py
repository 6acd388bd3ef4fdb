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
