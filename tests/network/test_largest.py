"""One "largest component" rule (most nodes, as osmnx) everywhere it is used."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString

from skillcircle.network.load import keep_largest_piece, load_network
from skillcircle.network.model import Network
from skillcircle.network.quality import network_quality
from skillcircle.settings import Settings

X0, Y0 = 430_000.0, 2_558_000.0


@pytest.fixture
def star_and_line() -> Network:
    """A 3-armed star of 10 m arms (4 nodes, 30 m) and one 1 000 m street (2 nodes, 1 000 m).

    By nodes the star is the largest piece, by length the street.
    """
    x = [0, 10, 0, -10, 500, 1500]
    y = [0, 0, 10, 0, 500, 500]
    return Network.from_edges(
        np.add(x, X0), np.add(y, Y0), [0, 0, 0, 4], [1, 2, 3, 5], crs="EPSG:4547"
    )


def test_model_picks_the_piece_with_most_nodes(star_and_line: Network) -> None:
    n, labels = star_and_line.component_labels()
    assert n == 2
    assert star_and_line.largest_component_label((n, labels)) == labels[0]
    assert star_and_line.largest_component_mask().tolist() == [True] * 4 + [False] * 2
    kept = star_and_line.largest_component()
    assert (kept.n_nodes, kept.n_edges, kept.total_length_m) == (4, 3, pytest.approx(30.0))


def test_quality_report_and_keep_largest_piece_agree(star_and_line: Network) -> None:
    q = network_quality(star_and_line)
    assert q.largest_component_node_share == pytest.approx(4 / 6)
    assert q.largest_component_length_share == pytest.approx(30 / 1030)
    kept = keep_largest_piece(star_and_line)
    assert (kept.n_nodes, kept.total_length_m) == (4, pytest.approx(30.0))
    assert kept.meta["retain_all"] is False


def test_equal_node_counts_go_to_the_longer_piece() -> None:
    # Two 2-node pieces: 5 m and 7 m; then the lowest label on a full tie.
    net = Network.from_edges([0, 5, 100, 107], [0, 0, 0, 0], [0, 2], [1, 3], crs="EPSG:4547")
    assert net.largest_component_mask().tolist() == [False, False, True, True]
    tie = Network.from_edges([0, 5, 100, 105], [0, 0, 0, 0], [0, 2], [1, 3], crs="EPSG:4547")
    assert tie.largest_component_mask().tolist() == [True, True, False, False]


def test_load_network_keeps_the_same_piece(settings: Settings, tmp_path: Path) -> None:
    def line(*pts: tuple[float, float]) -> LineString:
        return LineString([(X0 + x, Y0 + y) for x, y in pts])

    roads = gpd.GeoDataFrame(
        {"osm_id": [1, 2, 3, 4], "highway": ["footway", "residential", "path", "footway"]},
        geometry=[
            line((0, 0), (10, 0)),
            line((0, 0), (0, 10)),
            line((0, 0), (-10, 0)),
            line((500, 500), (1500, 500)),
        ],
        crs="EPSG:4547",
    )
    path = tmp_path / "roads.gpkg"
    roads.to_file(path)
    net = load_network(path, settings=settings, use_cache=False)
    assert (net.n_nodes, net.n_edges) == (4, 3)
    assert net.total_length_m == pytest.approx(30.0)
    assert net.meta["raw"]["largest_component_node_share"] == pytest.approx(4 / 6)
    assert net.meta["raw"]["largest_component_length_share"] == pytest.approx(30 / 1030)
    everything = load_network(path, settings=settings, use_cache=False, retain_all=True)
    kept = keep_largest_piece(everything)
    assert (kept.n_nodes, kept.total_length_m) == (4, pytest.approx(30.0))
    q = network_quality(kept, raw=everything)
    assert q.raw_largest_length_share == pytest.approx(30 / 1030)
    assert q.dropped_length_m == pytest.approx(1000.0)
