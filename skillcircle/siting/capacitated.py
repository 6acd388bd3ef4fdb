"""Capacity-aware siting: new stations that serve the most demand when each station is limited.

A station trains at most its capacity a year, and a resident may be served only by a station
within the walk. For a set of open stations the *served demand* is the maximum flow of the
transportation problem units → stations (:mod:`skillcircle.siting.flow`). The capacitated
maximal covering problem picks ``K`` candidates, the existing stations staying open, that
maximise it::

    max  Σ_ij x_ij
    s.t. Σ_j x_ij ≤ d_i                 every unit i (trainings wanted a year)
         Σ_i x_ij ≤ c_j                 every existing station j
         Σ_i x_ij ≤ c_j y_j             every candidate j
         x_ij ≤ d_i y_j                 every candidate pair (tightens the LP)
         Σ_j y_j ≤ K, group quotas, y_a + y_b ≤ 1 for candidates closer than the spacing
         x ≥ 0, y ∈ {0, 1},  x_ij only for pairs within the walk.

spopt has no capacitated MCLP (pysal/spopt#222, #415) and ArcGIS's "maximize capacitated
coverage" gives no bound. Here:

* **Plan**: lazy greedy (CELF) on exact marginal served demand, each evaluated by an
  incremental augmenting-path maximum flow, with the quotas and the spacing rule of the
  uncapacitated solver. The served demand is monotone submodular in the set of stations, so
  stale gains are valid upper bounds and the greedy keeps ``1 - 1/e`` of the optimum
  without side constraints. When the plan leaves a site unfilled, a second greedy pass
  breaks ties between equal gains the other way (the site with the least demand left in its
  walk first), each pass is improved by 1-swaps, and the better plan is kept.
* **Certificate**: the capacity bound (served today plus the ``K`` largest candidate
  capacities: a plan whose every pick is filled is optimal, and then no swap or relaxation
  is run), the submodular bound (served demand plus the ``K`` largest exact marginal gains,
  computed lazily), the Lagrangian relaxation of the units' demand rows (one fractional
  knapsack per station, subgradient steps until within 0.1 % of the plan), and when the
  model is small enough the exact MILP (HiGHS), whose proven optimum replaces the greedy
  plan when it is better. The smallest bound is reported with ``optimality_gap_pct``.
* **When capacity never binds** (every station's capacity is at least the demand within its
  walk), the problem *is* the uncapacitated maximal covering problem weighted by demand, and
  it is solved by :meth:`~skillcircle.siting.problem.CoverageProblem.solve` (greedy, swaps and
  its certificate): the same plan exactly.

Examples
--------
Two units wanting 10 trainings each, one existing station of capacity 5 reaching both, and
two candidates of capacity 10 (candidate 0 reaches unit 0, candidate 1 both):

>>> import numpy as np
>>> p = CapacitatedProblem.from_pairs(
...     [0, 1, 1], [0, 0, 1], [0, 0], [0, 1], n_candidates=2, n_units=2, n_existing=1,
...     demand=[10.0, 10.0], existing_capacity=[5.0], candidate_capacity=[10.0, 10.0])
>>> s = p.solve(add=1)
>>> s.served_demand, s.base_served_demand, s.upper_bound_served_demand
(15.0, 5.0, 15.0)
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from scipy import optimize, sparse

from skillcircle._errors import InfeasibleError, InputError
from skillcircle.siting.flow import FlowState
from skillcircle.siting.problem import CoverageProblem, _identical_rows
from skillcircle.siting.quotas import _NO_LIMIT, _Quotas, _spacing_neighbours

__all__ = ["CapacitatedProblem", "CapacitatedSolution"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Bound methods of :meth:`CapacitatedProblem.solve`.
CAPACITATED_BOUNDS = ("auto", "milp", "lp", "lagrangian", "submodular", "none")


@dataclass(frozen=True, eq=False)
class CapacitatedSolution:
    """The chosen new sites and how close their served demand is to the best possible.

    Demand figures are trainings a year and *include* what the existing stations serve.

    Attributes
    ----------
    selected
        Candidate indices in pick order (each pick adds most to those before it).
    added_served
        Served demand each pick adds, in that order.
    base_served_demand
        Demand the existing stations serve on their own (the maximum flow).
    served_demand
        Demand served by the existing stations and all picks.
    total_demand
        Demand of all units (served or not).
    upper_bound_served_demand
        No plan with as many new sites and the same rules serves more (``nan`` with
        ``bound="none"``).
    bound_method
        ``"milp-optimal"``, ``"milp"``, ``"lp"``, ``"lagrangian"``, ``"submodular"``,
        ``"capacity"`` (served today plus the ``K`` largest candidate capacities, or all the
        demand within reach: reached when every pick is filled), ``"trivial"``, ``"none"``,
        or the uncapacitated solver's method when capacity never binds.
    optimality_gap_pct
        ``(upper_bound - served) / upper_bound * 100``.
    plan_method
        ``"greedy"``, ``"milp-optimal"``, ``"milp"``, or ``"uncapacitated: <method>"`` when
        capacity never binds and the uncapacitated solver made the plan.
    capacity_binds
        Whether some station's capacity is below the demand within its walk (when not, the
        plan is the uncapacitated one).
    swaps
        Number of 1-swaps that improved the greedy plan.
    reduction
        Model sizes before and after merging units with the same stations.
    selected_group
        Group of each pick, or ``None``.
    cut_short
        Why the plan has fewer sites than asked, or ``None``.
    timings
        Seconds per phase.
    """

    selected: IntArray
    added_served: FloatArray
    base_served_demand: float
    served_demand: float
    total_demand: float
    upper_bound_served_demand: float
    bound_method: str
    optimality_gap_pct: float
    plan_method: str
    capacity_binds: bool
    reduction: Mapping[str, int]
    swaps: int = 0
    selected_group: npt.NDArray[np.object_] | None = None
    cut_short: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)

    @property
    def n_selected(self) -> int:
        """Number of new sites."""
        return int(self.selected.shape[0])


@dataclass(frozen=True, eq=False)
class CapacitatedProblem:
    """Capacitated maximal covering on sparse reach matrices.

    Attributes
    ----------
    coverage
        Boolean sparse matrix, candidates × units: candidate ``j`` may serve unit ``i``.
    existing
        Boolean sparse matrix, existing stations × units.
    demand
        Trainings a year wanted by each unit, shape ``(n_units,)``.
    existing_capacity, candidate_capacity
        Trainings a year each existing station / candidate offers.
    candidate_group, candidate_xy
        As in :class:`~skillcircle.siting.problem.CoverageProblem` (quotas, spacing).
    """

    coverage: sparse.csr_array
    existing: sparse.csr_array
    demand: FloatArray
    existing_capacity: FloatArray
    candidate_capacity: FloatArray
    candidate_group: npt.NDArray[Any] | None = None
    candidate_xy: FloatArray | None = None

    def __post_init__(self) -> None:
        cov = _bool_csr(self.coverage, "coverage")
        ex = _bool_csr(self.existing, "existing")
        n_c, n_u = cov.shape
        if ex.shape[1] != n_u:
            raise InputError(f"existing has {ex.shape[1]} units but coverage has {n_u}")
        d = _non_negative(self.demand, n_u, "demand")
        ce = _non_negative(self.existing_capacity, ex.shape[0], "existing_capacity")
        cc = _non_negative(self.candidate_capacity, n_c, "candidate_capacity")
        grp = None
        if self.candidate_group is not None:
            grp = np.asarray(self.candidate_group, dtype=object).reshape(-1)
            if grp.shape != (n_c,):
                raise InputError(f"candidate_group has {grp.size} values for {n_c} candidates")
        xy = None
        if self.candidate_xy is not None:
            xy = np.array(self.candidate_xy, dtype=np.float64)
            if xy.shape != (n_c, 2) or not np.all(np.isfinite(xy)):
                raise InputError(f"candidate_xy must be finite with shape ({n_c}, 2)")
        for name, value in (
            ("coverage", cov),
            ("existing", ex),
            ("demand", d),
            ("existing_capacity", ce),
            ("candidate_capacity", cc),
            ("candidate_group", grp),
            ("candidate_xy", xy),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def from_pairs(
        cls,
        candidate: npt.ArrayLike,
        unit: npt.ArrayLike,
        station: npt.ArrayLike,
        station_unit: npt.ArrayLike,
        *,
        n_candidates: int,
        n_units: int,
        n_existing: int,
        demand: npt.ArrayLike,
        existing_capacity: npt.ArrayLike,
        candidate_capacity: npt.ArrayLike | float,
        candidate_group: npt.ArrayLike | None = None,
        candidate_xy: npt.ArrayLike | None = None,
    ) -> CapacitatedProblem:
        """Build a problem from (candidate, unit) and (existing station, unit) reach pairs.

        Parameters
        ----------
        candidate, unit
            Candidate ``candidate[k]`` may serve unit ``unit[k]``.
        station, station_unit
            Existing station ``station[k]`` may serve unit ``station_unit[k]``.
        n_candidates, n_units, n_existing
            Sizes.
        demand
            Trainings a year wanted by each unit.
        existing_capacity
            Trainings a year of each existing station.
        candidate_capacity
            Trainings a year of each candidate, or one number for all.
        candidate_group, candidate_xy
            As in the class attributes.

        Returns
        -------
        CapacitatedProblem
        """
        cov = _pairs_matrix(candidate, unit, n_candidates, n_units, "candidate")
        ex = _pairs_matrix(station, station_unit, n_existing, n_units, "station")
        cc = np.broadcast_to(np.asarray(candidate_capacity, dtype=np.float64), (n_candidates,))
        return cls(
            cov,
            ex,
            np.asarray(demand, dtype=np.float64),
            np.asarray(existing_capacity, dtype=np.float64),
            cc.copy(),
            None if candidate_group is None else np.asarray(candidate_group, dtype=object),
            None if candidate_xy is None else np.asarray(candidate_xy, dtype=np.float64),
        )

    @property
    def n_candidates(self) -> int:
        """Number of candidate sites."""
        return int(self.coverage.shape[0])

    @property
    def n_existing(self) -> int:
        """Number of existing stations."""
        return int(self.existing.shape[0])

    @property
    def capacity_binds(self) -> bool:
        """Whether some station offers less than the demand within its walk."""
        d = self.demand
        return bool(
            np.any(self.coverage @ d > self.candidate_capacity)
            or np.any(self.existing @ d > self.existing_capacity)
        )

    def served(self, selected: npt.ArrayLike = ()) -> float:
        """Demand served (maximum flow) by the existing stations and the candidates ``selected``.

        Parameters
        ----------
        selected
            Candidate indices.

        Returns
        -------
        float
        """
        state = self._state(self._model())
        for j in np.asarray(selected, dtype=np.int64).reshape(-1):
            state.open(self.n_existing + int(j))
        return state.served

    # ------------------------------------------------------------------ model
    def _model(self) -> _Model:
        """Units reached by no station or wanting nothing dropped, same-station units merged."""
        stations = sparse.csr_array(sparse.vstack([self.existing, self.coverage], format="csr"))
        d = self.demand
        unit_major = sparse.csr_array(stations.T)
        unit_major.sort_indices()
        live = (np.diff(unit_major.indptr) > 0) & (d > 0)
        live_idx = np.flatnonzero(live)
        sub = unit_major[live_idx]
        sub.sort_indices()
        rep = _identical_rows(sub) if live_idx.size else np.zeros(0, dtype=np.int64)
        reps, new_id = np.unique(rep, return_inverse=True)
        demand = np.bincount(new_id, weights=d[live_idx], minlength=reps.size)
        reach = sparse.csr_array(sub[reps].T)  # stations x merged units
        reach.sort_indices()
        capacity = np.r_[self.existing_capacity, self.candidate_capacity]
        sizes = {
            "units_before": int(d.size),
            "units_after": int(reps.size),
            "units_unreachable": int(((np.diff(unit_major.indptr) == 0) & (d > 0)).sum()),
            "units_merged": int(live_idx.size - reps.size),
            "pairs_before": int(stations.nnz),
            "pairs_after": int(reach.nnz),
            "candidates": self.n_candidates,
            "existing": self.n_existing,
        }
        return _Model(reach, demand.astype(np.float64), capacity, sizes)

    def _state(self, model: _Model) -> FlowState:
        total = float(model.demand.sum())
        state = FlowState(model.reach, model.demand, model.capacity, tol=1e-12 * max(total, 1.0))
        for e in range(self.n_existing):
            state.open(e)
        return state

    # ------------------------------------------------------------------ solving
    def solve(
        self,
        *,
        add: int,
        min_per_group: int | Mapping[Any, int] | None = None,
        max_per_group: int | Mapping[Any, int] | None = None,
        min_spacing_m: float | None = None,
        swap: bool = True,
        bound: str = "auto",
        time_limit_s: float = 60.0,
        exact_max_size: int = 20_000,
        rule_names: Mapping[str, str] | None = None,
    ) -> CapacitatedSolution:
        """Pick at most ``add`` new sites serving the most demand, with a certificate.

        Parameters
        ----------
        add
            Number of new stations ``K``.
        min_per_group, max_per_group, min_spacing_m
            Quotas and spacing rule, as in
            :meth:`~skillcircle.siting.problem.CoverageProblem.solve`.
        swap
            Improve the greedy plan by 1-swaps: each pick in turn is taken out and replaced by
            the site that then adds most served demand, when it adds more (first
            improvement, until a pass changes nothing or the time limit).
        bound
            ``"auto"`` (the exact MILP when the merged model has at most ``exact_max_size``
            reach pairs, else the Lagrangian relaxation; the submodular bound always),
            ``"milp"`` (the exact MILP, solved even when the capacity bound already proves
            the plan optimal), ``"lp"`` (LP relaxation, HiGHS), ``"lagrangian"``,
            ``"submodular"`` or ``"none"``. The capacity bound is always tried first; the
            smallest valid bound is reported.
        time_limit_s
            Time limit of the swap pass and of each HiGHS solve, seconds.
        exact_max_size
            Size threshold of ``bound="auto"`` (reach pairs of the merged model).
        rule_names
            The caller's names of the rules, for the message of a plan cut short.

        Returns
        -------
        CapacitatedSolution

        Raises
        ------
        InputError
            On malformed arguments.
        InfeasibleError
            When the quotas and spacing admit no plan.
        """
        t_all = time.perf_counter()
        if bound not in CAPACITATED_BOUNDS:
            raise InputError(f"bound must be one of {', '.join(CAPACITATED_BOUNDS)}, got {bound!r}")
        if isinstance(add, bool) or not isinstance(add, int | np.integer) or add < 0:
            raise InputError(f"add must be a non-negative integer, got {add!r}")
        if min_spacing_m is not None and self.candidate_xy is None:
            raise InputError("min_spacing_m needs candidate_xy")
        if not self.capacity_binds:
            return self._uncapacitated(
                add=int(add),
                min_per_group=min_per_group,
                max_per_group=max_per_group,
                min_spacing_m=min_spacing_m,
                bound=bound,
                time_limit_s=time_limit_s,
                rule_names=rule_names,
            )
        quotas = _Quotas.build(self.candidate_group, min_per_group, max_per_group, int(add))
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        model = self._model()
        state = self._state(model)
        base = state.served
        timings["reduce"] = time.perf_counter() - t0
        n_c, n_e = self.n_candidates, self.n_existing
        if quotas is not None:
            gid, gmin, gmax = quotas.gid, quotas.gmin, quotas.gmax
        else:
            gid = np.full(n_c, -1, dtype=np.int64)
            gmin = gmax = np.zeros(0, dtype=np.int64)
        nb_ptr, nb_idx = _spacing_neighbours(self.candidate_xy, min_spacing_m, n_c)

        t0 = time.perf_counter()
        greedy = _Greedy(state, model, n_e, gid, gmin, gmax, nb_ptr, nb_idx)
        sel, gains = greedy.run(int(add))
        timings["greedy"] = time.perf_counter() - t0
        logger.info("capacitated greedy: %d picks serve %.1f more trainings", sel.size, gains.sum())
        # every new site adds at most its capacity, and no plan serves more than is wanted
        # within reach: a bound that proves many plans optimal at once (each pick filled)
        top_caps = np.sort(self.candidate_capacity)[::-1][: int(add)]
        capacity_ub = min(base + float(top_caps.sum()), float(model.demand.sum()))
        filled = base + float(gains.sum()) >= capacity_ub - state.tol * 1e3
        t0 = time.perf_counter()
        deadline = time.perf_counter() + time_limit_s

        def improve(g: _Greedy, sel: IntArray, gains: FloatArray) -> tuple[Any, ...]:
            n_swaps = 0
            st = g.state
            if swap and sel.size:
                sel, n_swaps = g.local_search(sel, deadline=deadline)
                if n_swaps:
                    sel, gains = self._order(model, sel)
                    st = self._state(model)
                    for j in sel:
                        st.open(n_e + int(j))
                    g.restart(st, sel)
            return g, st, sel, gains, n_swaps

        swaps = 0
        if not filled:
            greedy, state, sel, gains, swaps = improve(greedy, sel, gains)
            # a second pass breaking ties the other way (see _Greedy._tie_key); the better
            # plan is kept. Both are greedy plans: the bound below holds for either.
            other = _Greedy(
                self._state(model), model, n_e, gid, gmin, gmax, nb_ptr, nb_idx, tie=1.0
            )
            o_sel, o_gains = other.run(int(add))
            other, o_state, o_sel, o_gains, o_swaps = improve(other, o_sel, o_gains)
            if float(o_gains.sum()) > float(gains.sum()) + state.tol * 1e3:
                greedy, state, sel, gains, swaps = other, o_state, o_sel, o_gains, o_swaps
        timings["swap"] = time.perf_counter() - t0
        served = base + float(gains.sum())

        t0 = time.perf_counter()
        bounds: list[tuple[float, str]] = []
        plan_method = "greedy+swap" if swaps else "greedy"
        total = float(model.demand.sum())
        if bound == "none":
            ub, method = math.nan, "none"
        elif add == 0 or total == 0:
            ub, method = served, "trivial"
        elif bound != "milp" and served >= capacity_ub - state.tol * 1e3:
            ub, method = served, "capacity"
        else:
            bounds.append((capacity_ub, "capacity"))
            bounds.append((greedy.submodular_bound(int(add)), "submodular"))
            nnz = int(model.reach.nnz)
            use = bound
            if bound == "auto":
                use = "milp" if nnz <= exact_max_size else "lagrangian"
            if use in ("milp", "lp"):
                ub_h, label, picks = _solve_highs(
                    model,
                    n_e,
                    int(add),
                    gid,
                    gmin,
                    gmax,
                    nb_ptr,
                    nb_idx,
                    integer=use == "milp",
                    time_limit_s=time_limit_s,
                )
                if ub_h is not None:
                    bounds.append((ub_h, label))
                if picks is not None:
                    value = self._order(model, picks)
                    if float(value[1].sum()) > float(gains.sum()) + state.tol * 1e3:
                        sel, gains = value
                        served = base + float(gains.sum())
                        plan_method = label
                    if label == "milp-optimal":
                        bounds.append((served, "milp-optimal"))
            if use == "lagrangian" or (use in ("milp", "lp") and len(bounds) == 1):
                lag = _lagrangian_bound(
                    model, state, n_e, int(add), served, time_limit_s=time_limit_s
                )
                bounds.append((lag, "lagrangian"))
            ub, method = min(bounds, key=lambda b: b[0])
            for value_opt, label in bounds:
                if label == "milp-optimal" and value_opt <= ub + 1e-9 * max(ub, 1.0):
                    ub, method = value_opt, label
            if ub < served - 1e-6 * max(served, 1.0):
                logger.warning("bound %.3f below the plan %.3f: numerical trouble", ub, served)
            ub = max(ub, served)
        timings["bound"] = time.perf_counter() - t0
        gap = math.nan if math.isnan(ub) else (ub - served) / ub * 100.0 if ub > 0 else 0.0
        timings["total"] = time.perf_counter() - t_all
        cut = None
        if sel.size < add:
            cut = greedy.cut_short(sel, int(add), rule_names or {})
            logger.warning("%s", cut)
        return CapacitatedSolution(
            selected=sel.astype(np.int64),
            added_served=gains.astype(np.float64),
            base_served_demand=base,
            served_demand=served,
            total_demand=float(self.demand.sum()),
            upper_bound_served_demand=ub,
            bound_method=method,
            optimality_gap_pct=gap,
            plan_method=plan_method,
            capacity_binds=True,
            reduction=model.sizes,
            swaps=int(swaps),
            selected_group=None if self.candidate_group is None else self.candidate_group[sel],
            cut_short=cut,
            timings=timings,
        )

    def _order(self, model: _Model, picks: IntArray) -> tuple[IntArray, FloatArray]:
        """``picks`` ordered greedily by the served demand each adds to those before it."""
        state = self._state(model)
        left = [int(j) for j in picks]
        order: list[int] = []
        gains: list[float] = []
        while left:
            g = [state.gain(self.n_existing + j) for j in left]
            b = int(np.argmax(g))
            j = left.pop(b)
            gains.append(state.open(self.n_existing + j))
            order.append(j)
        return np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=np.float64)

    def _uncapacitated(
        self,
        *,
        add: int,
        min_per_group: int | Mapping[Any, int] | None,
        max_per_group: int | Mapping[Any, int] | None,
        min_spacing_m: float | None,
        bound: str,
        time_limit_s: float,
        rule_names: Mapping[str, str] | None,
    ) -> CapacitatedSolution:
        """Capacity never binds: the maximal covering problem weighted by demand."""
        covered0 = np.asarray(self.existing.sum(axis=0)).reshape(-1) > 0
        problem = CoverageProblem(
            self.coverage, self.demand, covered0, self.candidate_group, self.candidate_xy
        )
        sol = problem.solve(
            add=add,
            min_per_group=min_per_group,
            max_per_group=max_per_group,
            min_spacing_m=min_spacing_m,
            bound=bound,
            time_limit_s=time_limit_s,
            rule_names=rule_names,
        )
        red = sol.reduction
        return CapacitatedSolution(
            selected=sol.selected,
            added_served=sol.added_population,
            base_served_demand=sol.base_covered_population,
            served_demand=sol.covered_population,
            total_demand=sol.total_population,
            upper_bound_served_demand=sol.upper_bound_covered_population,
            bound_method=sol.bound_method,
            optimality_gap_pct=sol.optimality_gap_pct,
            plan_method=f"uncapacitated: {sol.plan_method}",
            capacity_binds=False,
            swaps=int(sol.swaps),
            reduction={
                "units_before": red.n_units_before,
                "units_after": red.n_units_after,
                "units_unreachable": red.units_unreachable,
                "units_merged": red.units_merged,
                "pairs_before": red.nnz_before,
                "pairs_after": red.nnz_after,
                "candidates": red.n_candidates_before,
                "existing": self.n_existing,
            },
            selected_group=sol.selected_group,
            cut_short=sol.cut_short,
            timings=dict(sol.timings),
        )


# ====================================================================== internals
@dataclass(frozen=True, eq=False)
class _Model:
    """The merged model: stations (existing first, then candidates) × merged units."""

    reach: sparse.csr_array
    demand: FloatArray
    capacity: FloatArray
    sizes: dict[str, int]


class _Greedy:
    """Lazy greedy (CELF) on exact marginal served demand, with quotas and spacing."""

    def __init__(
        self,
        state: FlowState,
        model: _Model,
        n_existing: int,
        gid: IntArray,
        gmin: IntArray,
        gmax: IntArray,
        nb_ptr: IntArray,
        nb_idx: IntArray,
        *,
        tie: float = 0.0,
    ) -> None:
        self.state, self.n_e = state, n_existing
        self.tie = float(tie)
        self.gid, self.gmin, self.gmax = gid, gmin, gmax
        self.nb_ptr, self.nb_idx = nb_ptr, nb_idx
        reach = model.reach
        n_c = reach.shape[0] - n_existing
        self.model = model
        reach_demand = (reach @ model.demand)[n_existing:]
        # an upper bound of every candidate's gain whatever else is open
        self.ub0 = np.minimum(model.capacity[n_existing:], reach_demand)
        self.ub = np.minimum(self.ub0, float(state.resid.sum()))
        self.fresh = np.full(n_c, -1, dtype=np.int64)  # round of the last exact evaluation
        self.round = 0
        self.selected: list[int] = []

    def restart(self, state: FlowState, selected: IntArray) -> None:
        """Continue from another plan's flow: gains known so far are forgotten."""
        self.state = state
        self.selected = [int(j) for j in selected]
        self.ub = self.ub0.copy()
        self.round += 1
        self.fresh[:] = -1

    def _state_without(self, sel: IntArray, drop: int) -> FlowState:
        model, n_e = self.model, self.n_e
        total = float(model.demand.sum())
        state = FlowState(model.reach, model.demand, model.capacity, tol=1e-12 * max(total, 1.0))
        for e in range(n_e):
            state.open(e)
        for r, j in enumerate(sel):
            if r != drop:
                state.open(n_e + int(j))
        return state

    def local_search(self, sel: IntArray, *, deadline: float) -> tuple[IntArray, int]:
        """1-swaps with exact served demand (first improvement per position, see ``solve``)."""
        sel = sel.copy()
        n_c = self.ub0.size
        tol = self.state.tol * 1e3
        swaps = 0
        improved = True
        while improved and time.perf_counter() < deadline:
            improved = False
            for r in range(sel.size):
                if time.perf_counter() >= deadline:
                    break
                state = self._state_without(sel, r)
                rest = np.delete(sel, r)
                current = state.gain(self.n_e + int(sel[r]))
                eligible = np.ones(n_c, dtype=bool)
                eligible[sel] = False
                for j in rest:
                    eligible[self.nb_idx[self.nb_ptr[j] : self.nb_ptr[j + 1]]] = False
                if self.gmin.size:
                    has = self.gid[rest] >= 0
                    count = np.bincount(self.gid[rest][has], minlength=self.gmin.size)
                    g = self.gid
                    full = (g >= 0) & (count[np.maximum(g, 0)] >= self.gmax[np.maximum(g, 0)])
                    eligible &= ~full
                    short = np.flatnonzero(count < self.gmin)
                    if short.size:  # the pick taken out keeps a minimum: same group only
                        eligible &= np.isin(g, short)
                cand = np.flatnonzero(eligible & (self.ub0 > current + tol))
                heap = [(-float(self.ub0[j]), int(j), False) for j in cand]
                heapq.heapify(heap)
                while heap:
                    neg, jj, exact = heapq.heappop(heap)
                    if -neg <= current + tol:
                        break
                    if exact:
                        sel[r] = jj
                        swaps += 1
                        improved = True
                        break
                    heapq.heappush(heap, (-state.gain(self.n_e + jj), jj, True))
        return sel, swaps

    def _gain(self, j: int) -> float:
        g = self.state.gain(self.n_e + j)
        self.ub[j] = g
        self.fresh[j] = self.round
        return g

    def _tie_key(self, j: int) -> float:
        """Second key among equal gains (the lowest index comes third).

        With ``tie`` 1 the site whose walk has the least demand left unserved goes first (it
        fills up where nobody else would), keeping the crowded places for later picks.
        """
        if not self.tie:
            return 0.0
        r = self.model.reach
        s = self.n_e + j
        return self.tie * float(self.state.resid[r.indices[r.indptr[s] : r.indptr[s + 1]]].sum())

    def run(self, k: int) -> tuple[IntArray, FloatArray]:
        n_c = self.ub.size
        tol = self.state.tol * 1e3
        count = np.zeros(self.gmin.size, dtype=np.int64)
        banned = np.zeros(n_c, dtype=bool)
        heap = [(-float(self.ub[j]), 0.0, j) for j in range(n_c)]
        heapq.heapify(heap)
        gains: list[float] = []
        while len(self.selected) < k:
            unmet = np.maximum(self.gmin - count, 0)
            restrict = int(unmet.sum()) >= k - len(self.selected)
            best = None
            while heap:
                neg, _, j = heapq.heappop(heap)
                if banned[j]:
                    continue
                g_id = self.gid[j]
                if g_id >= 0 and count[g_id] >= self.gmax[g_id]:
                    banned[j] = True
                    continue
                if restrict and (g_id < 0 or unmet[g_id] == 0):
                    banned[j] = True  # only unmet groups may be picked from now on
                    continue
                if self.fresh[j] == self.round:
                    best = (j, -neg)
                    break
                gain = self._gain(j)
                heapq.heappush(heap, (-gain, self._tie_key(j), j))
            if best is None or best[1] <= tol:
                if best is not None:
                    heapq.heappush(heap, (-best[1], 0.0, best[0]))
                if unmet.sum() == 0:
                    break  # nothing left to serve
                # the rest adds nothing: meet the minimums with the first sites of unmet groups
                open_ = ~banned & (self.gid >= 0)
                open_[open_] = unmet[self.gid[open_]] > 0
                if not open_.any():
                    break
                best = (int(np.flatnonzero(open_)[0]), 0.0)
            j = best[0]
            gains.append(self.state.open(self.n_e + j))
            self.selected.append(j)
            banned[j] = True
            if self.gid[j] >= 0:
                count[self.gid[j]] += 1
            banned[self.nb_idx[self.nb_ptr[j] : self.nb_ptr[j + 1]]] = True
            self.round += 1
        if int(np.maximum(self.gmin - count, 0).sum()) > 0:
            raise InfeasibleError(
                "no plan found that meets the per-group minimums with the spacing rule "
                f"({int(np.maximum(self.gmin - count, 0).sum())} station(s) short)"
            )
        return np.asarray(self.selected, dtype=np.int64), np.asarray(gains, dtype=np.float64)

    def submodular_bound(self, k: int) -> float:
        """Served demand plus the ``k`` largest exact marginal gains (lazily found)."""
        chosen = np.zeros(self.ub.size, dtype=bool)
        chosen[self.selected] = True
        heap: list[tuple[float, int]] = [
            (-float(self.ub[j]), int(j)) for j in np.flatnonzero(~chosen)
        ]
        heapq.heapify(heap)
        top: list[float] = []
        while heap and len(top) < k:
            neg, j = heapq.heappop(heap)
            if self.fresh[j] == self.round:
                top.append(-neg)
            else:
                heapq.heappush(heap, (-self._gain(int(j)), int(j)))
        return self.state.served + float(sum(top))

    def cut_short(self, sel: IntArray, add: int, names: Mapping[str, str]) -> str:
        rules = []
        if self.gmax.size:
            rules.append(f"the per-group maximum ({names.get('max_per_group', 'max_per_group')})")
        if self.nb_idx.size:
            rules.append(f"the spacing rule ({names.get('min_spacing_m', 'min_spacing_m')})")
        if rules:
            return (
                f"only {sel.size} of {add} requested stations: no other site adds served "
                f"demand within {' and '.join(rules)}"
            )
        return f"only {sel.size} of {add} requested stations add served demand"


@numba.njit(cache=True)
def _knapsacks(s_ptr, s_unit, demand, cap, lam, rows, usage):  # pragma: no cover - compiled
    """Fractional knapsack of each station in ``rows`` on profits ``1 - lam`` of its units.

    Returns each station's value; when ``usage`` is non-empty it accumulates per unit the
    amount the stations take.
    """
    out = np.zeros(rows.shape[0], dtype=np.float64)
    for r in range(rows.shape[0]):
        j = rows[r]
        a, b = s_ptr[j], s_ptr[j + 1]
        if b == a:
            continue
        prof = np.empty(b - a, dtype=np.float64)
        for t in range(a, b):
            prof[t - a] = 1.0 - lam[s_unit[t]]
        order = np.argsort(-prof)
        room = cap[j]
        v = 0.0
        for t in order:
            p = prof[t]
            if p <= 0.0 or room <= 0.0:
                break
            i = s_unit[a + t]
            take = min(room, demand[i])
            v += p * take
            room -= take
            if usage.shape[0] > 0:
                usage[i] += take
        out[r] = v
    return out


def _lagrangian_bound(
    model: _Model,
    state: FlowState,
    n_e: int,
    k: int,
    lower: float,
    *,
    time_limit_s: float,
    iterations: int = 400,
    gap_target: float = 1e-3,
) -> float:
    """Upper bound from relaxing the units' demand rows (projected subgradient).

    For multipliers ``lam >= 0`` on ``Σ_j x_ij <= d_i`` the relaxed problem splits into one
    fractional knapsack per station (profit ``1 - lam_i``, item size ``d_i``, capacity
    ``c_j``), the existing stations always open and the ``k`` most valuable candidates
    chosen (quotas and spacing dropped, which only raises the bound). Every iterate is a
    valid upper bound; the start is the minimum cut of the plan's maximum flow (``lam = 1``
    on units the source cannot reach in the residual graph), which is already a bound.
    The iterations stop when the bound is within ``gap_target`` (relative) of ``lower``,
    when the step has shrunk to nothing, or at the time limit.
    """
    d = model.demand
    cap = model.capacity
    n_s = cap.size
    s_ptr, s_unit = state.s_ptr, state.s_unit
    lam = np.where(_source_side(state), 0.0, 1.0)
    every = np.arange(n_s, dtype=np.int64)
    empty = np.zeros(0, dtype=np.float64)
    best = math.inf
    theta = 1.0
    stall = 0
    deadline = time.perf_counter() + time_limit_s
    for _ in range(iterations):
        values = _knapsacks(s_ptr, s_unit, d, cap, lam, every, empty)
        cand = values[n_e:]
        top = np.argpartition(-cand, k - 1)[:k] if k < cand.size else np.arange(cand.size)
        top = top[cand[top] > 0]
        value = float(lam @ d) + float(values[:n_e].sum()) + float(cand[top].sum())
        if value < best:
            improved = value < best - 1e-9 * max(value, 1.0)
            best = value
            stall = 0 if improved else stall + 1
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2.0, 0
        if (
            best - lower <= gap_target * max(best, 1.0)
            or theta < 1e-4
            or time.perf_counter() > deadline
        ):
            break
        usage = np.zeros(d.size, dtype=np.float64)
        rows = np.r_[np.arange(n_e, dtype=np.int64), n_e + top.astype(np.int64)]
        _knapsacks(s_ptr, s_unit, d, cap, lam, rows, usage)
        g = d - usage  # subgradient of the dual function at lam
        g[(lam <= 0) & (g > 0)] = 0.0  # projected: lam cannot go below 0
        norm = float(g @ g)
        if norm <= 0:
            break
        lam = np.clip(lam - theta * (value - lower) / norm * g, 0.0, 1.0)
    return best


def _source_side(state: FlowState) -> BoolArray:
    """Units the source reaches in the residual graph of the current maximum flow."""
    return _reach_from_source(
        state.u_ptr, state.u_sta, state.x, state.s_ptr, state.s_unit, state.s_pos,
        state.is_open, state.resid, state.tol,
    )  # fmt: skip


@numba.njit(cache=True)
def _reach_from_source(
    u_ptr, u_sta, x, s_ptr, s_unit, s_pos, is_open, resid, tol
):  # pragma: no cover - compiled
    """Breadth-first search of the residual graph from the source (units with demand left)."""
    n_u = u_ptr.shape[0] - 1
    n_s = s_ptr.shape[0] - 1
    seen_u = np.zeros(n_u, dtype=np.bool_)
    seen_s = np.zeros(n_s, dtype=np.bool_)
    queue = np.empty(n_u, dtype=np.int64)
    head = 0
    tail = 0
    for i in range(n_u):
        if resid[i] > tol:
            seen_u[i] = True
            queue[tail] = i
            tail += 1
    while head < tail:
        i = queue[head]
        head += 1
        for q in range(u_ptr[i], u_ptr[i + 1]):
            k = u_sta[q]
            if seen_s[k] or not is_open[k]:
                continue
            seen_s[k] = True
            for p in range(s_ptr[k], s_ptr[k + 1]):
                i2 = s_unit[p]
                # station k hands a unit back only along a positive flow
                if not seen_u[i2] and x[s_pos[p]] > tol:
                    seen_u[i2] = True
                    queue[tail] = i2
                    tail += 1
    return seen_u


def _solve_highs(
    model: _Model,
    n_e: int,
    k: int,
    gid: IntArray,
    gmin: IntArray,
    gmax: IntArray,
    nb_ptr: IntArray,
    nb_idx: IntArray,
    *,
    integer: bool,
    time_limit_s: float,
) -> tuple[float | None, str, IntArray | None]:
    """The MILP (or its LP relaxation) of the merged model with HiGHS.

    Returns the upper bound on the served demand (``None`` when HiGHS gave none), its label
    and the MILP's best plan (candidate indices) or ``None``.
    """
    reach = model.reach  # stations x units
    n_s, n_u = reach.shape
    n_c = n_s - n_e
    coo = sparse.coo_array(reach)
    sta, unit = coo.row.astype(np.int64), coo.col.astype(np.int64)
    n_p = sta.size
    p_idx = np.arange(n_p)
    blocks: list[sparse.csr_array] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []

    def add_rows(m: sparse.csr_array, low: FloatArray, high: FloatArray) -> None:
        blocks.append(sparse.csr_array(m))
        lo.append(low)
        hi.append(high)

    # units: sum_j x_ij <= d_i
    add_rows(
        sparse.csr_array((np.ones(n_p), (unit, p_idx)), shape=(n_u, n_p + n_c)),
        np.full(n_u, -np.inf),
        model.demand,
    )
    # stations: sum_i x_ij - c_j y_j <= 0 (existing: <= c_j)
    cand = sta >= n_e
    rows = np.r_[sta, n_e + np.arange(n_c)]
    cols = np.r_[p_idx, n_p + np.arange(n_c)]
    vals = np.r_[np.ones(n_p), -model.capacity[n_e:]]
    high_s = np.r_[model.capacity[:n_e], np.zeros(n_c)]
    add_rows(
        sparse.csr_array((vals, (rows, cols)), shape=(n_s, n_p + n_c)),
        np.full(n_s, -np.inf),
        high_s,
    )
    # pairs of candidates: x_ij - d_i y_j <= 0
    pc = np.flatnonzero(cand)
    m = pc.size
    add_rows(
        sparse.csr_array(
            (
                np.r_[np.ones(m), -model.demand[unit[pc]]],
                (np.r_[np.arange(m), np.arange(m)], np.r_[pc, n_p + sta[pc] - n_e]),
            ),
            shape=(m, n_p + n_c),
        ),
        np.full(m, -np.inf),
        np.zeros(m),
    )
    # number of new sites
    add_rows(
        sparse.csr_array(
            (np.ones(n_c), (np.zeros(n_c, dtype=np.int64), n_p + np.arange(n_c))),
            shape=(1, n_p + n_c),
        ),
        np.array([-np.inf]),
        np.array([float(k)]),
    )
    if gmin.size:
        has = gid >= 0
        add_rows(
            sparse.csr_array(
                (np.ones(int(has.sum())), (gid[has], n_p + np.flatnonzero(has))),
                shape=(gmin.size, n_p + n_c),
            ),
            gmin.astype(np.float64),
            np.where(gmax >= _NO_LIMIT, np.inf, gmax).astype(np.float64),
        )
    if nb_idx.size:
        a = np.repeat(np.arange(n_c), np.diff(nb_ptr))
        keep = a < nb_idx
        npair = int(keep.sum())
        add_rows(
            sparse.csr_array(
                (
                    np.ones(2 * npair),
                    (np.tile(np.arange(npair), 2), n_p + np.r_[a[keep], nb_idx[keep]]),
                ),
                shape=(npair, n_p + n_c),
            ),
            np.full(npair, -np.inf),
            np.ones(npair),
        )
    matrix = sparse.vstack(blocks, format="csr")
    c = np.r_[-np.ones(n_p), np.zeros(n_c)]
    upper = np.r_[np.full(n_p, np.inf), np.ones(n_c)]
    integrality = np.r_[np.zeros(n_p), np.full(n_c, int(integer))]
    options: dict[str, Any] = {"time_limit": float(time_limit_s), "disp": False}
    if integer:
        options["mip_rel_gap"] = 1e-9
    t0 = time.perf_counter()
    res = optimize.milp(
        c,
        integrality=integrality,
        bounds=optimize.Bounds(np.zeros(n_p + n_c), upper),
        constraints=optimize.LinearConstraint(matrix, np.concatenate(lo), np.concatenate(hi)),
        options=options,
    )
    logger.info(
        "HiGHS capacitated %s: %s (%.2fs)",
        "MILP" if integer else "LP",
        res.message,
        time.perf_counter() - t0,
    )
    if res.status == 2:
        raise InfeasibleError("the quotas and spacing rule admit no plan (HiGHS: infeasible)")
    if not integer:
        return (-float(res.fun) if res.status == 0 else None), "lp", None
    picks = None if res.x is None else np.flatnonzero(res.x[n_p:] > 0.5).astype(np.int64)
    dual = getattr(res, "mip_dual_bound", None)
    ub = -float(dual) if dual is not None and np.isfinite(dual) else None
    return ub, "milp-optimal" if res.status == 0 else "milp", picks


def _bool_csr(m: Any, name: str) -> sparse.csr_array:
    if not sparse.issparse(m) or m.ndim != 2:
        raise InputError(f"{name} must be a 2-D scipy sparse matrix")
    out = sparse.csr_array(m, dtype=np.bool_)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _non_negative(values: Any, n: int, name: str) -> FloatArray:
    try:
        arr = np.array(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric: {exc}") from exc
    if arr.shape != (n,):
        raise InputError(f"{name} has {arr.size} values but {n} are needed")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InputError(f"{name} must be finite and non-negative")
    return arr


def _pairs_matrix(rows: Any, cols: Any, n_rows: int, n_cols: int, what: str) -> sparse.csr_array:
    r = np.asarray(rows, dtype=np.int64).reshape(-1)
    c = np.asarray(cols, dtype=np.int64).reshape(-1)
    if r.shape != c.shape:
        raise InputError(f"{what} and unit index arrays must have the same length")
    if r.size and (r.min() < 0 or r.max() >= n_rows):
        raise InputError(f"a {what} index is outside 0..{n_rows - 1}")
    if c.size and (c.min() < 0 or c.max() >= n_cols):
        raise InputError(f"a unit index is outside 0..{n_cols - 1}")
    return sparse.csr_array((np.ones(r.size, dtype=np.bool_), (r, c)), shape=(n_rows, n_cols))
