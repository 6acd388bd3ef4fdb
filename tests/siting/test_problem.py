"""Tests of the siting solver: greedy, 1-swap, bounds, quotas, spacing and targets."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import sparse

from skillcircle._errors import InfeasibleError, InputError
from skillcircle.siting.problem import CoverageProblem

# --------------------------------------------------------------------------- fixtures
# Units:       A1  A2  B1  B2  M
# weights:      3   3   3   3  1        (total 13)
# c0 covers        A2  B1      M   -> 7  (the "middle" site greedy loves)
# c1 covers    A1  A2              -> 6
# c2 covers            B1  B2      -> 6
# K = 2. Greedy: c0 (7), then c1 and c2 both add 3 -> c1 (lowest index): 10.
# Optimum: {c1, c2} = 12. Swap c0 -> c2 finds it.  LP bound >= 12.
W5 = [3.0, 3.0, 3.0, 3.0, 1.0]
PAIRS5 = ([0, 0, 0, 1, 1, 2, 2], [1, 2, 4, 0, 1, 2, 3])


@pytest.fixture
def trap() -> CoverageProblem:
    return CoverageProblem.from_pairs(*PAIRS5, n_candidates=3, n_units=5, weights=W5)


def brute_force(
    p: CoverageProblem, k: int, ok: callable | None = None
) -> tuple[float, tuple[int, ...]]:
    """Best covered population (base included) over all sets of at most k candidates."""
    dense = p.coverage.toarray()
    best, best_set = -1.0, ()
    for r in range(k + 1):
        for combo in itertools.combinations(range(p.n_candidates), r):
            if ok is not None and not ok(combo):
                continue
            cov = p.covered0 | dense[list(combo)].any(axis=0)
            val = float(p.weights[cov].sum())
            if val > best + 1e-9:
                best, best_set = val, combo
    return best, best_set


def random_problem(seed: int, n_c: int = 10, n_u: int = 30) -> tuple[CoverageProblem, int]:
    rng = np.random.default_rng(seed)
    dense = rng.random((n_c, n_u)) < rng.uniform(0.08, 0.3)
    weights = rng.integers(0, 30, n_u).astype(float)
    covered0 = rng.random(n_u) < 0.1
    k = int(rng.integers(2, 5))
    prob = CoverageProblem.from_pairs(
        *np.nonzero(dense), n_candidates=n_c, n_units=n_u, weights=weights, covered0=covered0
    )
    return prob, k


# --------------------------------------------------------------------------- greedy + swap
def test_greedy_trap_swap_finds_optimum(trap: CoverageProblem) -> None:
    greedy = trap.solve(add=2, swap=False, bound="lagrangian")
    assert greedy.selected.tolist() == [0, 1]
    assert greedy.covered_population == 10.0
    assert greedy.plan_method == "greedy+swap"
    assert greedy.upper_bound_covered_population >= 12.0 - 1e-9
    # with the exact MILP the plan is its proven optimum, even without the swap phase
    exact = trap.solve(add=2, swap=False, bound="milp")
    assert exact.selected.tolist() == [1, 2]
    assert exact.covered_population == 12.0
    assert exact.bound_method == exact.plan_method == "milp-optimal"
    assert exact.optimality_gap_pct == 0.0

    sol = trap.solve(add=2, bound="milp")
    assert sol.greedy_covered_population == 10.0
    assert sol.swaps == 1
    assert sorted(sol.selected.tolist()) == [1, 2]
    assert sol.covered_population == 12.0
    assert sol.optimality_gap_pct == pytest.approx(0.0)
    # re-ordered greedily: both add 6, tie goes to the lower index
    assert sol.selected.tolist() == [1, 2]
    assert sol.added_population.tolist() == [6.0, 6.0]

    lp = trap.solve(add=2, bound="lp")
    assert lp.bound_method in {"lp", "submodular"}
    assert lp.upper_bound_covered_population >= 12.0 - 1e-9
    lag = trap.solve(add=2, swap=False, bound="lagrangian")
    assert lag.upper_bound_covered_population >= 12.0 - 1e-9
    assert brute_force(trap, 2) == (12.0, (1, 2))


def test_cumulative_table(trap: CoverageProblem) -> None:
    sol = trap.solve(add=3)
    df = sol.cumulative()
    # greedy order of {c0, c1, c2}: c0 adds 7, then c1 adds 3, then c2 adds 3
    assert df["candidate"].tolist() == [0, 1, 2]
    assert df["rank"].tolist() == [1, 2, 3]
    assert df["added_population"].tolist() == [7.0, 3.0, 3.0]
    assert df["cumulative_covered_population"].tolist() == [7.0, 10.0, 13.0]
    assert df["cumulative_coverage_pct"].iloc[-1] == pytest.approx(100.0)
    assert sol.coverage_pct == pytest.approx(100.0)


def test_base_coverage_counts_in_gap() -> None:
    # existing stations cover A1: c0 adds {A2, B1, M} = 7, c2 adds {B2} after it.
    p = CoverageProblem.from_pairs(
        *PAIRS5, n_candidates=3, n_units=5, weights=W5, covered0=[True, False, False, False, False]
    )
    sol = p.solve(add=1, bound="milp")
    assert sol.base_covered_population == 3.0
    assert sol.selected.tolist() == [0]
    assert sol.covered_population == 10.0
    assert sol.upper_bound_covered_population == 10.0
    assert sol.total_population == 13.0


@pytest.mark.parametrize("seed", range(20))
def test_random_instances_against_brute_force(seed: int) -> None:
    p, k = random_problem(seed)
    opt, _ = brute_force(p, k)
    base = float(p.weights[p.covered0].sum())
    sol = p.solve(add=k, bound="milp")
    assert sol.bound_method == "milp-optimal"
    assert sol.upper_bound_covered_population == pytest.approx(opt)
    assert sol.optimality_gap_pct == pytest.approx(
        (opt - sol.covered_population) / opt * 100, abs=1e-9
    )
    assert sol.covered_population <= opt + 1e-9
    greedy = p.solve(add=k, swap=False, bound="none")
    assert math.isnan(greedy.optimality_gap_pct)
    # (1 - 1/e) guarantee on the population the new sites add
    assert greedy.covered_population - base >= (1 - 1 / math.e) * (opt - base) - 1e-9
    assert sol.covered_population >= greedy.covered_population
    assert sum(sol.added_population) == pytest.approx(sol.covered_population - base)
    for method in ("lp", "lagrangian", "submodular"):
        other = p.solve(add=k, bound=method)
        assert other.upper_bound_covered_population >= opt - 1e-6, method


def test_reduction_preserves_optimum_and_counts() -> None:
    # units 0 and 1 have the same candidate set {0, 1}; unit 2 is covered already,
    # unit 3 is reachable by nobody; candidate 2 only reaches the covered unit 2.
    p = CoverageProblem.from_pairs(
        [0, 0, 1, 1, 1, 2, 3],
        [0, 1, 0, 1, 4, 2, 5],
        n_candidates=4,
        n_units=6,
        weights=[2, 5, 7, 11, 1, 4],
        covered0=[False, False, True, False, False, False],
    )
    r, info = p.reduced()
    assert (info.n_candidates_before, info.n_candidates_after) == (4, 3)
    assert info.candidate_index.tolist() == [0, 1, 3]
    assert (info.n_units_before, info.n_units_after) == (6, 3)
    assert info.units_already_covered == 1
    assert info.units_unreachable == 1
    assert info.units_merged == 1
    assert info.unit_index.tolist() == [0, 0, -1, -1, 1, 2]
    assert r.weights.tolist() == [7.0, 1.0, 4.0]
    assert info.base_covered_population == 7.0
    assert info.unreachable_population == 11.0
    assert (info.nnz_before, info.nnz_after) == (7, 4)
    assert info.shrink_factor == pytest.approx(7 / 4)
    for k in (1, 2):
        opt, _ = brute_force(p, k)
        opt_r, _ = brute_force(r, k)
        assert opt == opt_r + info.base_covered_population
    sol = p.solve(add=1)
    assert sol.selected.tolist() == [1]  # 2 + 5 + 1 = 8 > 4
    assert sol.covered_population == 15.0


def test_reduction_of_random_instances_preserves_optimum() -> None:
    for seed in range(5):
        p, k = random_problem(100 + seed, n_c=8, n_u=60)
        r, info = p.reduced()
        assert brute_force(p, k)[0] == pytest.approx(
            brute_force(r, k)[0] + info.base_covered_population
        )


# --------------------------------------------------------------------------- constructors
def test_from_cost_matrix_dense_and_sparse_agree() -> None:
    cost = np.array(
        [
            [100.0, 900.0, np.inf, 0.0],
            [np.nan, 1000.0, 1001.0, 50.0],
        ]
    )
    dense = CoverageProblem.from_cost_matrix(cost, [1, 2, 3, 4], max_cost=1000)
    stored = sparse.csr_array(
        (
            np.array([100.0, 900.0, 0.0, 1000.0, 1001.0, 50.0]),
            ([0, 0, 0, 1, 1, 1], [0, 1, 3, 1, 2, 3]),
        ),
        shape=(2, 4),
    )
    assert stored.nnz == 6  # the explicit zero is a stored cost of 0
    sp = CoverageProblem.from_cost_matrix(stored, [1, 2, 3, 4], max_cost=1000)
    expected = [[True, True, False, True], [False, True, False, True]]
    assert dense.coverage.toarray().tolist() == expected
    assert sp.coverage.toarray().tolist() == expected
    assert dense.solve(add=1).covered_population == sp.solve(add=1).covered_population == 7.0


def test_input_errors() -> None:
    with pytest.raises(InputError, match="weights"):
        CoverageProblem.from_pairs([0], [0], n_candidates=1, n_units=2, weights=[1])
    with pytest.raises(InputError, match="non-negative"):
        CoverageProblem.from_pairs([0], [0], n_candidates=1, n_units=1, weights=[-1])
    with pytest.raises(InputError, match="unit index"):
        CoverageProblem.from_pairs([0], [3], n_candidates=1, n_units=1, weights=[1])
    p = CoverageProblem.from_pairs([0], [0], n_candidates=1, n_units=1, weights=[1])
    with pytest.raises(InputError, match="exactly one"):
        p.solve()
    with pytest.raises(InputError, match="candidate_group"):
        p.solve(add=1, min_per_group=1)
    with pytest.raises(InputError, match="candidate_xy"):
        p.solve(add=1, min_spacing_m=10)
    with pytest.raises(InputError, match="bound"):
        p.solve(add=1, bound="magic")


# --------------------------------------------------------------------------- constraints
def grouped(groups: list[str], xy: list[tuple[float, float]] | None = None) -> CoverageProblem:
    return CoverageProblem.from_pairs(
        *PAIRS5, n_candidates=3, n_units=5, weights=W5, candidate_group=groups, candidate_xy=xy
    )


def test_min_per_group_forces_each_district() -> None:
    # Without quotas the best pair is {c1, c2} (both district "X");
    # every district needs one: c0 is the only "Y" site -> {c0, c1} or {c0, c2}, value 10.
    p = grouped(["Y", "X", "X"])
    sol = p.solve(add=2, min_per_group=1, bound="milp")
    groups = sol.selected_group.tolist()
    assert sorted(groups) == ["X", "Y"]
    assert sol.covered_population == 10.0
    assert sol.upper_bound_covered_population == pytest.approx(10.0)
    assert sol.cumulative()["group"].tolist() == groups


def test_max_per_group_is_respected_by_swap() -> None:
    p = grouped(["X", "Y", "Y"])
    sol = p.solve(add=2, max_per_group={"Y": 1}, bound="milp")
    # {c1, c2} is forbidden (two in Y) -> best is c0 + one of them = 10
    assert sol.covered_population == 10.0
    assert sol.selected_group.tolist().count("Y") == 1
    assert sol.optimality_gap_pct == pytest.approx(0.0)


def test_a_plan_cut_short_names_the_rule(caplog: pytest.LogCaptureFixture) -> None:
    p = grouped(["Y", "Y", "Y"], xy=[(0, 1000), (-150, 0), (150, 0)])
    with caplog.at_level("WARNING"):
        sol = p.solve(add=3, max_per_group={"Y": 1})
    assert sol.n_selected == 1
    assert "only 1 of 3 requested stations: the per-group maximum (max_per_group)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        sol = p.solve(add=3, min_spacing_m=500)  # c1 and c2 are 300 m apart
    assert sol.n_selected == 2
    assert "the spacing rule (min_spacing_m) rules out" in caplog.text


def test_spacing_is_respected() -> None:
    # c1 and c2 are 300 m apart, c0 is 1 km from both: with 500 m spacing {c1, c2} is out.
    p = grouped(["X", "X", "X"], xy=[(0, 1000), (-150, 0), (150, 0)])
    sol = p.solve(add=2, min_spacing_m=500, bound="milp")
    assert sorted(sol.selected.tolist()) == [0, 1]
    assert sol.covered_population == 10.0
    assert sol.upper_bound_covered_population == pytest.approx(10.0)
    xy = np.array([(0, 1000), (-150, 0), (150, 0)], dtype=float)[sol.selected]
    assert np.linalg.norm(xy[0] - xy[1]) >= 500
    # at exactly 300 m spacing the pair is allowed again
    assert p.solve(add=2, min_spacing_m=300).covered_population == 12.0


SPACING = 250.0


def constrained_ok(groups: np.ndarray, xy: np.ndarray) -> callable:
    def ok(combo: tuple[int, ...]) -> bool:
        g = groups[list(combo)].tolist()
        if any(g.count(x) < 1 for x in "abc") or any(g.count(x) > 2 for x in "abc"):
            return False
        pairs = itertools.combinations(combo, 2)
        return all(np.linalg.norm(xy[a] - xy[b]) >= SPACING for a, b in pairs)

    return ok


@pytest.mark.parametrize("seed", range(8))
def test_random_constrained_instances(seed: int) -> None:
    # every district a/b/c gets 1..2 of 3 new sites, 250 m apart. Seeds 0 and 5 trap the
    # greedy (spacing leaves a district without an eligible site): the exact MILP takes over.
    p0, _ = random_problem(200 + seed, n_c=9, n_u=30)
    rng = np.random.default_rng(seed)
    groups = np.array(["a", "b", "c"])[rng.integers(0, 3, 9)]
    groups[:3] = ["a", "b", "c"]
    xy = rng.uniform(0, 1000, (9, 2))
    p = CoverageProblem(p0.coverage, p0.weights, p0.covered0, groups, xy)
    ok = constrained_ok(groups, xy)
    opt, _ = brute_force(p, 3, ok)
    sol = p.solve(add=3, min_per_group=1, max_per_group=2, min_spacing_m=SPACING, bound="milp")
    assert ok(tuple(sol.selected.tolist()))
    assert sol.covered_population <= opt + 1e-9
    assert sol.upper_bound_covered_population == pytest.approx(opt)
    assert sol.bound_method == "milp-optimal"
    if seed in (0, 5):
        assert sol.covered_population == opt  # the MILP plan itself
    # the cheap bounds are valid with the side constraints too
    for method in ("lp", "lagrangian", "submodular"):
        other = p.solve(
            add=3, min_per_group=1, max_per_group=2, min_spacing_m=SPACING, bound=method
        )
        assert other.upper_bound_covered_population >= opt - 1e-6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"add": 1, "min_per_group": 1}, "add up to 2"),
        ({"add": 3, "min_per_group": {"Z": 1}}, "'Z' has a minimum"),
        ({"add": 3, "min_per_group": {"X": 2}, "max_per_group": {"X": 1}}, "below minimum"),
        ({"add": 3, "min_per_group": {"Y": 2}}, "has 1 candidate"),
    ],
)
def test_infeasible_quotas(kwargs: dict, message: str) -> None:
    with pytest.raises(InfeasibleError, match=message):
        grouped(["Y", "X", "X"]).solve(**kwargs)


def test_spacing_makes_minimum_infeasible() -> None:
    # both "X" candidates sit within 500 m of the only "Y" one... and each other.
    p = grouped(["Y", "X", "X"], xy=[(0, 0), (100, 0), (0, 100)])
    with pytest.raises(InfeasibleError, match="admit no plan"):
        p.solve(add=2, min_per_group=1, min_spacing_m=500)


def test_quota_candidates_that_add_nobody_are_kept() -> None:
    # c3 (district "Z") covers only an already-covered unit; the quota still gets it built.
    p = CoverageProblem.from_pairs(
        [*PAIRS5[0], 3],
        [*PAIRS5[1], 5],
        n_candidates=4,
        n_units=6,
        weights=[*W5, 9],
        covered0=[False] * 5 + [True],
        candidate_group=["X", "X", "X", "Z"],
    )
    sol = p.solve(add=2, min_per_group=1, bound="milp")
    assert sol.selected.tolist() == [0, 3]
    assert sol.added_population.tolist() == [7.0, 0.0]
    assert sol.covered_population == 9.0 + 7.0
    assert sol.upper_bound_covered_population == pytest.approx(16.0)


# --------------------------------------------------------------------------- targets
def test_target_fewest_sites(trap: CoverageProblem) -> None:
    # 92 % of 13 = 11.96: greedy set cover needs c0, c1, c2 (7, 10, 13);
    # swaps show two sites suffice ({c1, c2} = 12); one site reaches at most 7.
    greedy = trap.solve(target_coverage_pct=92, swap=False, bound="none")
    assert greedy.n_selected == 3
    sol = trap.solve(target_coverage_pct=92)
    assert sol.target_reached is True
    assert sorted(sol.selected.tolist()) == [1, 2]
    assert sol.covered_population == 12.0
    # 50 % (6.5) needs one site: c0 with 7
    assert trap.solve(target_coverage_pct=50).selected.tolist() == [0]


def test_target_unreachable_is_flagged() -> None:
    # an extra unit of 5 people no candidate reaches: the ceiling is 13 of 18 = 72.2 %
    p = CoverageProblem.from_pairs(*PAIRS5, n_candidates=3, n_units=6, weights=[*W5, 5])
    sol = p.solve(target_coverage_pct=90)
    assert sol.target_reached is False
    assert sol.max_covered_population == 13.0
    assert sol.covered_population == 13.0
    assert sol.n_selected == 3
    assert sol.coverage_pct == pytest.approx(13 / 18 * 100)
    assert sol.reduction.unreachable_population == 5.0
    # M, A1 and B2 each have one candidate only: all three are needed for the ceiling
    assert sol.sites_lower_bound == 3
    assert sol.added_population.min() > 0


def test_target_states_a_proven_least_number_of_sites(trap: CoverageProblem) -> None:
    sol = trap.solve(target_coverage_pct=92)  # 11.96 of 13: the best single site adds 7
    assert sol.n_selected == 2
    assert sol.sites_lower_bound == 2
    assert trap.solve(add=3).sites_lower_bound is None


@pytest.mark.parametrize("seed", range(12))
def test_target_lower_bound_against_brute_force(seed: int) -> None:
    p, _ = random_problem(seed)
    total = float(p.weights.sum())
    ceiling, _ = brute_force(p, p.n_candidates)
    target = 0.9 * ceiling / total * 100 if total else 50.0
    sol = p.solve(target_coverage_pct=target)
    need = next(
        k for k in range(p.n_candidates + 1) if brute_force(p, k)[0] >= target / 100 * total - 1e-9
    )
    assert sol.target_reached is True
    assert sol.n_selected == need  # small models: the exact MILP finds the fewest
    assert sol.sites_lower_bound == need


# --------------------------------------------------------------------------- exact when provable
# Six candidates, eight units, K = 3: greedy + swap stops at a plan covering 26 that no
# single swap improves, while the best 3-set covers 27 (found by a search over random
# instances; checked here by brute force).
SWAP_TRAP = [
    [0, 0, 0, 0, 0, 1, 0, 0],
    [0, 1, 1, 0, 0, 0, 0, 1],
    [0, 1, 0, 1, 1, 0, 0, 0],
    [0, 0, 1, 0, 1, 1, 0, 0],
    [1, 0, 0, 1, 0, 0, 0, 0],
    [1, 1, 1, 0, 1, 0, 0, 0],
]
SWAP_TRAP_W = [6.0, 3.0, 9.0, 1.0, 5.0, 2.0, 3.0, 1.0]


def test_plan_is_the_milp_optimum_when_greedy_swap_is_not() -> None:
    dense = np.array(SWAP_TRAP, dtype=bool)
    p = CoverageProblem(sparse.csr_array(dense), np.array(SWAP_TRAP_W), np.zeros(8, bool))
    heuristic = p.solve(add=3, bound="none")
    best, best_set = brute_force(p, 3)
    assert best == 27.0
    assert heuristic.covered_population == 26.0  # greedy + swap alone is suboptimal here
    assert heuristic.plan_method == "greedy+swap"
    exact = p.solve(add=3, bound="milp")
    assert exact.covered_population == best
    assert sorted(exact.selected.tolist()) == sorted(best_set)
    assert exact.plan_method == "milp-optimal"
    assert exact.bound_method == "milp-optimal"
    assert exact.optimality_gap_pct == 0.0
    assert exact.upper_bound_covered_population == best
    # ordered for phasing: each pick adds most to those before it
    assert exact.added_population.tolist() == sorted(exact.added_population.tolist(), reverse=True)
    assert float(exact.added_population.sum()) == best
    # "auto" solves this small model exactly too
    assert p.solve(add=3).plan_method == "milp-optimal"
