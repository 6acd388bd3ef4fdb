from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from skillcircle import InputError
from skillcircle.network.model import Network
from skillcircle.network.quality import VIRTUAL_LINK, bridge_gaps, network_quality


@pytest.fixture
def net() -> Network:
    """Main piece: a 100 m square (0,0)-(100,0)-(100,100)-(0,100) with a 50 m spur to (150,0).

    Second piece: (160,0)-(200,0), 40 m, 10 m east of the spur's end.
    Third piece: (0,300)-(0,330), 30 m, far from everything.
    """
    x = [0, 100, 100, 0, 150, 160, 200, 0, 0]
    y = [0, 0, 100, 100, 0, 0, 0, 300, 330]
    u = [0, 1, 2, 3, 1, 5, 7]
    v = [1, 2, 3, 0, 4, 6, 8]
    hw = ["footway", "footway", "residential", "residential", "path", "footway", "service"]
    return Network.from_edges(x, y, u, v, crs="EPSG:4547", edge_attrs={"highway": hw})


def test_quality_counts(net: Network, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="skillcircle.network.quality")
    q = network_quality(net)
    assert (q.n_nodes, q.n_edges) == (9, 7)
    assert q.total_length_m == pytest.approx(520.0)
    assert q.length_by_highway_m == {
        "footway": 240.0,
        "residential": 200.0,
        "path": 50.0,
        "service": 30.0,
    }
    assert list(q.length_by_highway_m) == ["footway", "residential", "path", "service"]
    assert q.n_components == 3
    assert q.largest_component_length_share == pytest.approx(450 / 520)
    assert q.largest_component_node_share == pytest.approx(5 / 9)
    # dead ends: (150,0), (160,0), (200,0), (0,300), (0,330)
    assert q.n_dead_ends == 5
    # (150,0) and (160,0) are 10 m apart in different pieces: two likely gaps
    assert q.n_likely_gaps == 2
    assert network_quality(net, gap_m=5.0).n_likely_gaps == 0
    assert q.n_virtual_links == 0
    assert (q.reduced_to_largest, q.raw_n_components, q.dropped_nodes) == (False, None, 0)
    assert "OSM walking network is fragmented: it falls into 3 separate pieces" in caplog.text
    assert "86.5 %" in caplog.text


def test_quality_reports_what_the_largest_component_step_dropped(net: Network) -> None:
    kept = net.largest_component()
    q = network_quality(kept, raw=net)
    assert (q.n_components, q.raw_n_components, q.reduced_to_largest) == (1, 3, True)
    assert q.dropped_nodes == 4
    assert q.dropped_length_m == pytest.approx(70.0)
    assert q.n_likely_gaps == 0
    # the same from the provenance a loader writes into meta
    with_meta = Network.from_edges(
        kept.x,
        kept.y,
        kept.edge_u,
        kept.edge_v,
        crs=kept.crs,
        meta={"raw": {"n_components": 3, "n_nodes": 9, "total_length_m": 520.0}},
    )
    q2 = network_quality(with_meta)
    assert (q2.raw_n_components, q2.dropped_nodes, q2.dropped_length_m) == (3, 4, 70.0)
    assert q2.reduced_to_largest is True


def test_quality_is_json_ready(net: Network) -> None:
    d = network_quality(net).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["n_components"] == 3
    assert d["length_by_highway_m"]["footway"] == 240.0


def test_no_warning_when_connected(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="skillcircle.network.quality")
    line = Network.from_edges([0, 10], [0, 0], [0], [1], crs="EPSG:4547")
    q = network_quality(line)
    assert (q.n_components, q.largest_component_length_share, q.n_dead_ends) == (1, 1.0, 2)
    assert q.length_by_highway_m == {}
    assert caplog.text == ""


def test_bridge_gaps_adds_one_virtual_link(net: Network) -> None:
    bridged, n = bridge_gaps(net, max_gap_m=15.0)
    assert n == 1
    assert bridged.n_edges == net.n_edges + 1
    assert bridged.component_labels()[0] == 2  # the far piece stays apart
    assert bridged.edge_attrs["highway"][-1] == VIRTUAL_LINK
    assert bridged.edge_length[-1] == pytest.approx(10.0)
    assert {int(bridged.edge_u[-1]), int(bridged.edge_v[-1])} == {4, 5}
    assert bridged.meta["virtual_links"] == 1
    q = network_quality(bridged)
    assert (q.n_virtual_links, q.n_dead_ends, q.n_likely_gaps) == (1, 3, 0)
    assert net.n_edges == 7  # input untouched
    # up to 210 m: (150,0)-(160,0) 10 m, (200,0)-(150,0) 50 m (its nearest node of another
    # piece), (0,300)-(0,100) 200 m; (0,330) is 230 m from (0,100), too far
    bridged_far, n_far = bridge_gaps(net, max_gap_m=210.0)
    assert n_far == 3
    lengths = np.sort(bridged_far.edge_length[-n_far:])
    assert lengths == pytest.approx([10.0, 50.0, 200.0])
    assert bridged_far.component_labels()[0] == 1


def test_bridge_gaps_nothing_to_do_and_errors(net: Network) -> None:
    same, n = bridge_gaps(net, max_gap_m=1.0)
    assert n == 0
    assert same is net
    with pytest.raises(InputError):
        bridge_gaps(net, max_gap_m=0.0)
    with pytest.raises(InputError):
        network_quality(net, gap_m=-1.0)


def test_raw_fragmentation_and_gaps_are_kept_after_the_largest_piece_step() -> None:
    # 0-100-200 and 210-300: the dead ends at 200 and 210 are 10 m apart (a likely gap)
    raw = Network.from_edges(
        [0, 100, 200, 210, 300], [0, 0, 0, 0, 0], [0, 1, 3], [1, 2, 4], crs="EPSG:4547"
    )
    kept = raw.largest_component()
    q = network_quality(kept, raw=raw, gap_m=15.0)
    assert q.n_components == 1
    assert q.n_likely_gaps == 0
    assert q.raw_n_components == 2
    assert q.raw_likely_gaps == 2
    assert q.raw_largest_length_share == pytest.approx(200 / 290)
    assert q.dropped_nodes == 2
    assert q.dropped_length_m == pytest.approx(90.0)
