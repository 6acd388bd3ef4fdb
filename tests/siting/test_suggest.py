"""suggest() on the hand-made study (tests/conftest.py): one uncovered node, (0, 200), 10 people."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from skillcircle import InputError
from skillcircle.access.analysis import analyse
from skillcircle.network.model import Network
from skillcircle.siting.suggest import check_plan_options, generate_candidates, suggest


@pytest.fixture
def hand(hand_study):
    return analyse(**hand_study, with_isochrones=False, with_gaps=False)


def _ledger(path, rows):
    pts = gpd.GeoSeries(shapely.points([(x, y) for _, x, y in rows]), crs="EPSG:4547")
    ll = pts.to_crs("EPSG:4326")
    frame = pd.DataFrame({"名称": [n for n, _, _ in rows], "经度": ll.x, "纬度": ll.y})
    frame.to_csv(path, index=False)
    return path


def test_candidate_file_names_its_sites_and_rejects_are_kept(hand, hand_origin, tmp_path):
    X0, Y0 = hand_origin
    path = _ledger(
        tmp_path / "cand.csv",
        [("社区中心", X0, Y0 + 190), ("党群服务中心", X0 + 200, Y0), ("学校", X0 + 100, Y0 + 100)],
    )
    text = path.read_text(encoding="utf-8").splitlines()
    text[3] = "学校,,"  # the school lost its coordinates
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    plan = suggest(hand, add=1, candidates=path, phases=None)
    assert plan.suggestions["name"].tolist() == ["社区中心"]
    assert plan.suggestions["added_population"].tolist() == [10.0]
    assert plan.candidates_rejected["row"].tolist() == [3]
    assert plan.summary.plan.candidates == 2
    assert plan.summary.plan.candidates_rejected == 1


def test_target_stations_exact_bound_and_target_coverage(hand):
    plan = suggest(hand, target_stations=4, exact=True, candidate_spacing_m=100.0, phases=None)
    assert plan.summary.plan.added_sites == 1
    assert plan.summary.plan.bound_method.startswith("milp")
    assert plan.summary.plan.optimality_gap_pct == pytest.approx(0.0)
    full = suggest(hand, target_coverage_pct=100.0, candidate_spacing_m=100.0, phases=None)
    assert full.summary.plan.added_sites == 1
    assert full.summary.plan.coverage_pct_after == pytest.approx(100.0)


def test_candidates_only_near_gaps(hand, hand_origin):
    X0, Y0 = hand_origin
    plan = suggest(hand, add=1, only_near_gaps=True, candidate_spacing_m=100.0, phases=None)
    # every candidate lies within 160 m (straight line) of the one uncovered node (0, 200)
    cand = plan.candidates.to_crs("EPSG:4547")
    d = np.hypot(cand.geometry.x - X0, cand.geometry.y - (Y0 + 200))
    assert len(cand) >= 1
    assert d.max() <= 160.0 + 1e-6
    assert plan.suggestions["added_population"].tolist() == [10.0]


def test_generated_candidates_one_per_cell():
    xs, ys = np.meshgrid(np.arange(0.0, 500.0, 50.0), np.arange(0.0, 500.0, 50.0))
    n = xs.size
    idx = np.arange(n).reshape(10, 10)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    net = Network.from_edges(xs.ravel(), ys.ravel(), u, v, crs="EPSG:4547")
    cand = generate_candidates(net, area=None, spacing_m=200.0)
    cells = {
        (int(x // 200), int(y // 200))
        for x, y in zip(cand.geometry.x, cand.geometry.y, strict=True)
    }
    assert len(cand) == len(cells) == 9  # 3 x 3 cells of 200 m over a 450 m square
    # the node nearest each cell centre: (100, 100) is a node of the 50 m grid
    assert ((cand.geometry.x == 100.0) & (cand.geometry.y == 100.0)).any()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"add": 0}, "--add"),
        ({"add": 1, "target_stations": 5}, "either"),
        ({"target_coverage_pct": 0}, "--target-coverage"),
        ({"candidate_spacing_m": 0}, "--candidate-spacing"),
        ({"time_limit_s": 0}, "--time-limit"),
        ({"min_spacing_m": -1}, "--min-spacing-m"),
    ],
)
def test_impossible_options_are_refused_first(options, message):
    with pytest.raises(InputError, match=message):
        check_plan_options(**options)


def test_target_below_existing_is_refused(hand):
    with pytest.raises(InputError, match="not above the 3 existing"):
        suggest(hand, target_stations=3)
