"""Synthetic grid city and scattered points."""

from __future__ import annotations

import numpy as np
import pytest

from skillcircle._errors import InputError
from skillcircle.access.snapping import snap_points
from skillcircle.network.synthetic import GRID_CENTRE, grid_city, random_points


def test_plain_grid_is_exact() -> None:
    net = grid_city(100, spacing_m=100.0, jitter_m=0.0, drop_fraction=0.0)
    assert (net.n_nodes, net.n_edges) == (100, 180)  # 10 x 10 nodes, 2 * 10 * 9 streets
    np.testing.assert_allclose(net.edge_length, 100.0)
    assert (net.x.mean(), net.y.mean()) == pytest.approx(GRID_CENTRE)
    assert (net.x.max() - net.x.min(), net.y.max() - net.y.min()) == (900.0, 900.0)
    # Arterials: the 9 streets of grid row 0 and the 9 of grid column 0.
    assert int((net.edge_attrs["highway"] == "primary").sum()) == 18
    assert net.crs == "EPSG:32649"
    assert net.meta["source"] == "skillcircle.network.synthetic.grid_city"


def test_jitter_and_lengths() -> None:
    net = grid_city(400, spacing_m=80.0, jitter_m=10.0, drop_fraction=0.0, seed=4)
    row, col = np.divmod(np.arange(400), 20)
    x0 = GRID_CENTRE[0] - 19 * 80 / 2
    y0 = GRID_CENTRE[1] - 19 * 80 / 2
    assert np.abs(net.x - (x0 + col * 80)).max() <= 10.0
    assert np.abs(net.y - (y0 + row * 80)).max() <= 10.0
    assert np.abs(net.x - (x0 + col * 80)).max() > 5.0  # jitter really applied
    ends = np.hypot(net.x[net.edge_u] - net.x[net.edge_v], net.y[net.edge_u] - net.y[net.edge_v])
    np.testing.assert_allclose(net.edge_length, ends)
    # along the street 80 +- 20 m, across it +- 20 m
    assert net.edge_length.min() >= 60.0
    assert net.edge_length.max() <= np.hypot(100.0, 20.0)


def test_dropped_streets_leave_one_connected_piece() -> None:
    full = grid_city(10_000, drop_fraction=0.0, seed=1)
    net = grid_city(10_000, drop_fraction=0.3, seed=1)
    assert full.n_edges == 2 * 100 * 99
    assert net.component_labels()[0] == 1
    assert 9_000 < net.n_nodes <= 10_000
    assert 0.6 * full.n_edges < net.n_edges < 0.75 * full.n_edges


def test_seed_is_deterministic() -> None:
    a, b = grid_city(900, seed=7), grid_city(900, seed=7)
    assert np.array_equal(a.x, b.x)
    assert np.array_equal(a.edge_u, b.edge_u)
    assert not np.array_equal(a.x, grid_city(900, seed=8).x)


def test_random_points_near_streets() -> None:
    net = grid_city(900, seed=2)
    x, y = random_points(net, 2000, seed=3, spread_m=60.0)
    s = snap_points(net, x, y, max_snap_m=1e9)
    assert s.distance_m.max() <= 60.0 + 1e-9
    assert s.distance_m.mean() > 10.0
    x0, y0 = random_points(net, 500, seed=3, spread_m=0.0)
    assert snap_points(net, x0, y0, max_snap_m=1e9).distance_m.max() < 1e-6
    again = random_points(net, 2000, seed=3, spread_m=60.0)
    assert np.array_equal(again[0], x)
    assert random_points(net, 0, seed=1)[0].shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_nodes_approx": 3}, "n_nodes_approx"),
        ({"spacing_m": 0.0}, "spacing_m"),
        ({"jitter_m": 50.0}, "jitter_m"),
        ({"drop_fraction": 1.0}, "drop_fraction"),
    ],
)
def test_grid_city_rejects_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    args = {"n_nodes_approx": 100, **kwargs}
    with pytest.raises(InputError, match=match):
        grid_city(**args)  # type: ignore[arg-type]


def test_random_points_rejects_bad_arguments() -> None:
    net = grid_city(100)
    with pytest.raises(InputError, match="spread_m"):
        random_points(net, 5, seed=0, spread_m=-1.0)
    with pytest.raises(InputError, match="non-negative"):
        random_points(net, -5, seed=0)
