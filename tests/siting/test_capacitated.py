"""Tests of capacity-aware siting: the incremental max flow, the plan, the bounds.

Every served figure is checked against an independent computation: the transportation LP
solved by ``scipy.optimize.linprog`` (HiGHS), and brute force over every set of sites.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize

from skillcircle._errors import InfeasibleError, InputError
from skillcircle.siting.capacitated import CapacitatedProblem
from skillcircle.siting.flow import FlowState
from skillcircle.siting.problem import CoverageProblem


def lp_served(
    reach: np.ndarray, demand: np.ndarray, capacity: np.ndarray, open_: np.ndarray
) -> float:
    """Maximum served demand by linear programming (independent of FlowState)."""
    rows, cols = np.nonzero(reach & open_[:, None])
    if rows.size == 0:
        return 0.0
    n = rows.size
    a = []
    b = []
    for i in np.unique(cols):  # unit rows: sum_j x_ij <= d_i
        a.append((cols == i).astype(float))
        b.append(demand[i])
    for j in np.unique(rows):  # station rows: sum_i x_ij <= c_j
        a.append((rows == j).astype(float))
        b.append(capacity[j])
    res = optimize.linprog(-np.ones(n), A_ub=np.array(a), b_ub=np.array(b), bounds=(0, None))
    assert res.status == 0
    return float(-res.fun)


def random_instance(seed: int, *, n_c: int = 7, n_u: int = 14, n_e: int = 2):
    rng = np.random.default_rng(seed)
    cand = rng.random((n_c, n_u)) < rng.uniform(0.15, 0.4)
    ex = rng.random((n_e, n_u)) < 0.2
    demand = rng.integers(0, 12, n_u).astype(float)
    cap_e = rng.integers(0, 15, n_e).astype(float)
    cap_c = rng.integers(3, 25, n_c).astype(float)
    k = int(rng.integers(1, 4))
    p = CapacitatedProblem.from_pairs(
        *np.nonzero(cand),
        *np.nonzero(ex),
        n_candidates=n_c,
        n_units=n_u,
        n_existing=n_e,
        demand=demand,
        existing_capacity=cap_e,
        candidate_capacity=cap_c,
    )
    return p, k, (cand, ex, demand, cap_e, cap_c)


def brute_force(p: CapacitatedProblem, k: int, raw, ok=None) -> tuple[float, tuple[int, ...]]:
    cand, ex, demand, cap_e, cap_c = raw
    reach = np.vstack([ex, cand])
    cap = np.r_[cap_e, cap_c]
    best, best_set = -1.0, ()
    for r in range(k + 1):
        for combo in itertools.combinations(range(p.n_candidates), r):
            if ok is not None and not ok(combo):
                continue
            open_ = np.zeros(reach.shape[0], dtype=bool)
            open_[: ex.shape[0]] = True
            open_[ex.shape[0] + np.array(combo, dtype=int)] = True
            val = lp_served(reach, demand, cap, open_)
            if val > best + 1e-9:
                best, best_set = val, combo
    return best, best_set


# --------------------------------------------------------------------------- by hand
def test_hand_example() -> None:
    # Existing E (capacity 5) reaches U0 (wants 4) and U1 (wants 4).
    # Candidates of capacity 6: c0 reaches U1 and U2 (wants 3); c1 reaches U0; c2 reaches U2.
    # Today E serves 5 of 11. Opening c0: E serves U0 4 + U1 1, c0 serves U1 3 + U2 3 -> 11.
    # c1: U0 4 by c1, E serves U1 4 -> 8.  c2: 5 + 3 = 8.
    p = CapacitatedProblem.from_pairs(
        [0, 0, 1, 2],
        [1, 2, 0, 2],
        [0, 0],
        [0, 1],
        n_candidates=3,
        n_units=3,
        n_existing=1,
        demand=[4.0, 4.0, 3.0],
        existing_capacity=[5.0],
        candidate_capacity=6.0,
    )
    assert p.capacity_binds
    assert p.served() == 5.0
    assert [p.served([j]) for j in range(3)] == [11.0, 8.0, 8.0]
    assert p.served([1, 2]) == 11.0
    sol = p.solve(add=1)
    assert sol.selected.tolist() == [0]
    assert sol.base_served_demand == 5.0
    assert sol.served_demand == 11.0
    assert sol.added_served.tolist() == [6.0]
    assert sol.total_demand == 11.0
    assert sol.upper_bound_served_demand == 11.0
    assert sol.optimality_gap_pct == 0.0
    assert sol.capacity_binds


def test_flow_state_gain_leaves_state_unchanged() -> None:
    rng = np.random.default_rng(7)
    reach = rng.random((12, 40)) < 0.25
    demand = rng.integers(0, 10, 40).astype(float)
    cap = rng.integers(0, 30, 12).astype(float)
    from scipy import sparse

    state = FlowState(sparse.csr_array(reach), demand, cap, tol=1e-9)
    open_ = np.zeros(12, dtype=bool)
    for j in rng.permutation(12):
        before = state.served
        g = state.gain(int(j))
        assert state.served == before
        assert state.open(int(j)) == pytest.approx(g, abs=1e-9)
        open_[j] = True
        assert state.served == pytest.approx(lp_served(reach, demand, cap, open_), abs=1e-7)
        station, unit, amount = state.assignment()
        # a feasible flow: within reach, no unit or station over its limit
        assert reach[station, unit].all()
        assert np.all(np.bincount(unit, amount, 40) <= demand + 1e-9)
        assert np.all(np.bincount(station, amount, 12) <= cap + 1e-9)
        assert amount.sum() == pytest.approx(state.served)


# --------------------------------------------------------------------------- optimality
@pytest.mark.parametrize("seed", range(25))
def test_random_instances_against_brute_force(seed: int) -> None:
    p, k, raw = random_instance(seed)
    opt, _ = brute_force(p, k, raw)
    sol = p.solve(add=k, bound="milp")
    # the plan is the MILP optimum, which brute force confirms
    assert sol.served_demand == pytest.approx(opt, abs=1e-7)
    assert sol.upper_bound_served_demand == pytest.approx(opt, abs=1e-6)
    assert sol.optimality_gap_pct == pytest.approx(0.0, abs=1e-6)
    assert p.served(sol.selected) == pytest.approx(sol.served_demand, abs=1e-9)
    assert sol.base_served_demand + sol.added_served.sum() == pytest.approx(sol.served_demand)
    # every bound is valid, the plans never beat the optimum
    for method in ("lp", "lagrangian", "submodular"):
        other = p.solve(add=k, bound=method)
        assert other.upper_bound_served_demand >= opt - 1e-6, method
        assert other.served_demand <= opt + 1e-7, method
    # (1 - 1/e) of the optimal gain: served demand is monotone submodular in the sites
    greedy = p.solve(add=k, swap=False, bound="none")
    assert math.isnan(greedy.optimality_gap_pct)
    base = greedy.base_served_demand
    assert greedy.served_demand - base >= (1 - 1 / math.e) * (opt - base) - 1e-7


@pytest.mark.parametrize("seed", range(8))
def test_quotas_and_spacing_against_brute_force(seed: int) -> None:
    p0, k, raw = random_instance(100 + seed, n_c=8)
    rng = np.random.default_rng(seed)
    group = np.array(["a", "b"])[rng.integers(0, 2, p0.n_candidates)]
    xy = rng.uniform(0, 1000, (p0.n_candidates, 2))
    p = CapacitatedProblem(
        p0.coverage,
        p0.existing,
        p0.demand,
        p0.existing_capacity,
        p0.candidate_capacity,
        candidate_group=group,
        candidate_xy=xy,
    )
    k = 3

    def ok(combo: tuple[int, ...]) -> bool:
        if sum(group[j] == "a" for j in combo) > 1:
            return False
        return all(np.hypot(*(xy[a] - xy[b])) >= 300 for a, b in itertools.combinations(combo, 2))

    opt, _ = brute_force(p, k, raw, ok)
    sol = p.solve(add=k, max_per_group={"a": 1}, min_spacing_m=300, bound="milp")
    assert ok(tuple(sol.selected.tolist()))
    assert sol.served_demand == pytest.approx(opt, abs=1e-7)
    heur = p.solve(add=k, max_per_group={"a": 1}, min_spacing_m=300, bound="lagrangian")
    assert ok(tuple(heur.selected.tolist()))
    assert heur.upper_bound_served_demand >= opt - 1e-6


def test_minimum_quota_and_infeasible() -> None:
    p, _, _ = random_instance(3)
    group = np.array(["a"] * 6 + ["b"])
    q = CapacitatedProblem(
        p.coverage,
        p.existing,
        p.demand,
        p.existing_capacity,
        p.candidate_capacity,
        candidate_group=group,
    )
    sol = q.solve(add=2, min_per_group={"b": 1}, bound="milp")
    assert "b" in sol.selected_group.tolist()
    with pytest.raises(InfeasibleError):
        q.solve(add=2, min_per_group={"b": 2})


# --------------------------------------------------------------------------- reductions
@pytest.mark.parametrize("seed", range(10))
def test_large_capacities_give_the_uncapacitated_plan(seed: int) -> None:
    p, k, (_, ex, demand, _, _) = random_instance(seed, n_c=12, n_u=40)
    big = CapacitatedProblem(
        p.coverage, p.existing, p.demand, np.full(2, 1e6), np.full(p.n_candidates, 1e6)
    )
    assert not big.capacity_binds
    sol = big.solve(add=k)
    ref = CoverageProblem(p.coverage, demand, ex.any(axis=0)).solve(add=k)
    assert sol.plan_method == f"uncapacitated: {ref.plan_method}"
    assert sol.selected.tolist() == ref.selected.tolist()
    assert sol.served_demand == ref.covered_population
    assert sol.upper_bound_served_demand == ref.upper_bound_covered_population
    # and the max flow agrees: with ample capacity everyone within reach is served
    assert big.served(sol.selected) == pytest.approx(sol.served_demand)


def test_merging_keeps_the_answer() -> None:
    # units 0 and 1 are reached by the same stations: merged into one of demand 7
    p = CapacitatedProblem.from_pairs(
        [0, 0, 1],
        [0, 1, 2],
        [],
        [],
        n_candidates=2,
        n_units=4,
        n_existing=0,
        demand=[3.0, 4.0, 5.0, 9.0],
        existing_capacity=[],
        candidate_capacity=[6.0, 10.0],
    )
    sol = p.solve(add=1, bound="milp")
    assert sol.reduction["units_after"] == 2
    assert sol.reduction["units_merged"] == 1
    assert sol.reduction["units_unreachable"] == 1
    assert sol.selected.tolist() == [0]
    assert sol.served_demand == 6.0
    assert p.solve(add=2).served_demand == 11.0


def test_input_errors() -> None:
    def build(**kw):
        args = dict(
            n_candidates=1,
            n_units=1,
            n_existing=0,
            demand=[1.0],
            existing_capacity=[],
            candidate_capacity=[1.0],
        )
        args.update(kw)
        return CapacitatedProblem.from_pairs([0], [0], [], [], **args)

    with pytest.raises(InputError, match="demand"):
        build(demand=[-1.0])
    with pytest.raises(InputError, match="candidate_capacity"):
        build(candidate_capacity=[math.nan])
    with pytest.raises(InputError, match="add"):
        build().solve(add=-1)
    with pytest.raises(InputError, match="bound"):
        build().solve(add=1, bound="magic")
    with pytest.raises(InputError, match="min_spacing_m"):
        build().solve(add=1, min_spacing_m=100)
