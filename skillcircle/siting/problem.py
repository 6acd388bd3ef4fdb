"""Where to put the next stations: maximal covering with a certificate of quality.

This is the pure optimisation layer. It works on a sparse *coverage matrix* (candidate ``j``
covers residential unit ``i`` when ``i`` lies within the walking budget of ``j``), the
population of each unit, and the units the existing stations already cover. The geographic
builder that fills the matrix from the walking network lives elsewhere.

The solver answers four planners' questions:

* **where and in which order** — a lazy greedy (CELF, Leskovec et al. 2007) picks the candidate
  that adds the most uncovered population, then a 1-swap local search improves the set; the
  result is re-ordered greedily so the first picks are the most valuable;
* **how good is the plan** — an upper bound on the best possible coverage for the same number
  of stations and constraints (exact MILP on small instances, LP relaxation on medium ones,
  Lagrangian relaxation on huge ones, all via HiGHS / NumPy), and the gap in per cent;
* **how many stations does a coverage target need** — greedy set cover, then local search at
  fewer stations;
* **when** — :func:`~skillcircle.siting.phases.phase_plan` splits the ordered picks into the
  programme's yearly phases.

This module holds the problem, its model reduction and :meth:`CoverageProblem.solve`; the
greedy, the local search, the bounds, the quota and spacing rules and the phases live in the
sibling modules :mod:`~skillcircle.siting.greedy`, :mod:`~skillcircle.siting.localsearch`,
:mod:`~skillcircle.siting.bounds`, :mod:`~skillcircle.siting.quotas` and
:mod:`~skillcircle.siting.phases`.

Constraints: district quotas (``min_per_group`` / ``max_per_group``, e.g. "一区一特色": every
district gets at least one new station) and a minimum spacing between new stations.

Examples
--------
Three units of 10, 10 and 11 residents, three candidates:

>>> import numpy as np
>>> p = CoverageProblem.from_pairs(
...     [0, 0, 1, 2], [0, 1, 1, 2], n_candidates=3, n_units=3, weights=[10, 10, 11]
... )
>>> sol = p.solve(add=2)
>>> sol.selected.tolist(), sol.covered_population, sol.optimality_gap_pct
([0, 2], 31.0, 0.0)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from skillcircle._errors import InfeasibleError, InputError
from skillcircle._validate import positive
from skillcircle.siting.bounds import _solve_highs, _upper_bound
from skillcircle.siting.fewest import fewest_sites
from skillcircle.siting.greedy import _celf, _greedy_order, _row_gains
from skillcircle.siting.localsearch import _SwapContext
from skillcircle.siting.quotas import _NO_LIMIT, _Quotas, _spacing_neighbours

__all__ = [
    "BOUND_METHODS",
    "CoverageProblem",
    "Reduction",
    "SitingSolution",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Accepted values of ``bound`` in :meth:`CoverageProblem.solve`.
BOUND_METHODS = ("auto", "milp", "lp", "lagrangian", "submodular", "none")

_HASH_SEED = 20240515


# ====================================================================== data classes
@dataclass(frozen=True, eq=False)
class Reduction:
    """How :meth:`CoverageProblem.reduced` shrank a problem, and how to map results back.

    Attributes
    ----------
    n_candidates_before, n_candidates_after
        Candidate counts before and after (candidates covering nothing new are dropped).
    n_units_before, n_units_after
        Unit counts before and after (covered, unreachable and empty units dropped, units with
        identical candidate sets merged into one).
    nnz_before, nnz_after
        Stored (candidate, unit) cover pairs before and after.
    units_already_covered
        Units dropped because the existing stations already cover them.
    units_unreachable
        Uncovered units that no candidate reaches (nobody can fix them by siting).
    units_zero_weight
        Uncovered, reachable units with no population.
    units_merged
        Units folded into another unit with the same candidate set.
    candidates_dropped
        Candidates dropped because they cover no uncovered population.
    base_covered_population
        Population of the units already covered.
    unreachable_population
        Population no candidate can reach.
    total_population
        Population of all units.
    candidate_index
        Original index of each kept candidate, shape ``(n_candidates_after,)``.
    unit_index
        Reduced unit of each original unit, ``-1`` when dropped, shape ``(n_units_before,)``.
    """

    n_candidates_before: int
    n_candidates_after: int
    n_units_before: int
    n_units_after: int
    nnz_before: int
    nnz_after: int
    units_already_covered: int
    units_unreachable: int
    units_zero_weight: int
    units_merged: int
    candidates_dropped: int
    base_covered_population: float
    unreachable_population: float
    total_population: float
    candidate_index: IntArray
    unit_index: IntArray

    @property
    def shrink_factor(self) -> float:
        """``nnz_before / nnz_after`` (how many times smaller the model became)."""
        return self.nnz_before / self.nnz_after if self.nnz_after else math.inf

    def summary(self) -> str:
        """One line for logs and reports."""
        return (
            f"candidates {self.n_candidates_before:,} -> {self.n_candidates_after:,}, "
            f"units {self.n_units_before:,} -> {self.n_units_after:,} "
            f"({self.units_already_covered:,} already covered, {self.units_unreachable:,} "
            f"unreachable, {self.units_merged:,} merged), "
            f"cover pairs {self.nnz_before:,} -> {self.nnz_after:,}"
        )


@dataclass(frozen=True, eq=False)
class SitingSolution:
    """The chosen new sites, their order, and how close they are to the best possible.

    All populations count residents of the original problem; "covered" figures always
    *include* the population the existing stations already cover.

    Attributes
    ----------
    selected
        Candidate indices (of the original problem) in pick order. After the swap phase the
        set is re-ordered greedily, so each pick is the one adding most to those before it.
    added_population
        Marginal population of each pick in that order.
    base_covered_population
        Population covered by the existing stations alone.
    total_population
        Population of all units.
    covered_population
        Population covered by existing stations plus all picks.
    greedy_covered_population
        The same after the greedy phase, before any swap (when the spacing rule keeps the
        greedy from meeting the minimums, the exact MILP's plan replaces the greedy one).
    swaps
        Improving 1-swaps applied by the local search.
    upper_bound_covered_population
        An upper bound on the covered population any feasible plan with the same number of new
        stations and the same constraints can reach (``nan`` when ``bound="none"``).
    bound_method
        Where the bound comes from: ``"milp-optimal"`` (proven optimum), ``"milp"`` (HiGHS dual
        bound after a time-out), ``"lp"`` (LP relaxation), ``"lagrangian"`` (Lagrangian
        relaxation, converging to the LP bound from above), ``"submodular"`` (data-dependent
        greedy bound: value plus the K largest marginal gains), ``"trivial"`` (nothing left
        to cover) or ``"none"``.
    optimality_gap_pct
        ``(upper_bound - covered) / upper_bound * 100``, both *including* the base coverage,
        so the gap reads as "at most this per cent of the best reachable covered population is
        missed". The optimum lies in ``[covered_population, upper_bound_covered_population]``.
    reduction
        How the model was shrunk before solving.
    max_covered_population
        Population covered if every candidate were built (the ceiling of any target).
    target_coverage_pct
        The requested coverage target in per cent of ``total_population``, or ``None``.
    target_reached
        Whether the target was reached (``None`` without a target).
    selected_group
        Group (e.g. district) of each pick, or ``None`` when the problem has no groups.
    timings
        Seconds spent per phase (``reduce``, ``greedy``, ``swap``, ``bound``).
    plan_method
        Which method produced the plan: ``"milp-optimal"`` (the MILP solved to proven
        optimality: the plan *is* its solution, gap 0), ``"milp"`` (the MILP's incumbent at
        the time limit beat greedy + swap) or ``"greedy+swap"``.
    sites_lower_bound
        With a coverage target: no plan with fewer new sites reaches it (or, when it is out
        of reach, reaches ``max_covered_population``), proven by upper bounds for fewer
        sites; ``None`` without a target or with ``bound="none"``.
    cut_short
        Why the plan has fewer sites than ``add`` asked (the quota or spacing rule that
        stopped it, in the words of ``rule_names``), or ``None`` when it has them all.
    """

    selected: IntArray
    added_population: FloatArray
    base_covered_population: float
    total_population: float
    covered_population: float
    greedy_covered_population: float
    swaps: int
    upper_bound_covered_population: float
    bound_method: str
    optimality_gap_pct: float
    reduction: Reduction
    max_covered_population: float = math.nan
    target_coverage_pct: float | None = None
    target_reached: bool | None = None
    selected_group: npt.NDArray[np.object_] | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    plan_method: str = "greedy+swap"
    sites_lower_bound: int | None = None
    cut_short: str | None = None

    @property
    def n_selected(self) -> int:
        """Number of new sites."""
        return int(self.selected.shape[0])

    @property
    def coverage_pct(self) -> float:
        """Covered population in per cent of the total."""
        return _pct(self.covered_population, self.total_population)

    def cumulative(self) -> pd.DataFrame:
        """One row per pick, in order, with running totals.

        Returns
        -------
        pandas.DataFrame
            Columns ``rank`` (1-based), ``candidate``, ``added_population``,
            ``cumulative_covered_population`` (including the base coverage),
            ``cumulative_coverage_pct`` (of ``total_population``), plus ``group`` when the
            problem has groups.
        """
        cum = self.base_covered_population + np.cumsum(self.added_population)
        df = pd.DataFrame(
            {
                "rank": np.arange(1, self.n_selected + 1, dtype=np.int64),
                "candidate": self.selected.astype(np.int64),
                "added_population": self.added_population.astype(np.float64),
                "cumulative_covered_population": cum,
                "cumulative_coverage_pct": (
                    cum / self.total_population * 100.0
                    if self.total_population > 0
                    else np.zeros_like(cum)
                ),
            }
        )
        if self.selected_group is not None:
            df["group"] = pd.Series(self.selected_group, dtype=object)
        return df


def _pct(part: float, whole: float) -> float:
    return part / whole * 100.0 if whole > 0 else 0.0


# ====================================================================== the problem
@dataclass(frozen=True, eq=False)
class CoverageProblem:
    """A maximal covering problem on a sparse candidate × unit coverage matrix.

    Attributes
    ----------
    coverage
        Boolean sparse matrix, ``n_candidates × n_units``: ``coverage[j, i]`` is true when
        candidate ``j`` covers unit ``i``.
    weights
        Population of each unit, non-negative, shape ``(n_units,)``.
    covered0
        Units already covered by the existing (fixed) stations, shape ``(n_units,)``.
    candidate_group
        Group of each candidate (e.g. the district code), used by quotas; ``None`` for none.
    candidate_xy
        Candidate coordinates in metres, shape ``(n_candidates, 2)``, used by the spacing rule.
    """

    coverage: sparse.csr_array
    weights: FloatArray
    covered0: BoolArray
    candidate_group: npt.NDArray[Any] | None = None
    candidate_xy: FloatArray | None = None

    def __post_init__(self) -> None:
        cov = self.coverage
        if not sparse.issparse(cov) or cov.ndim != 2:
            raise InputError("coverage must be a 2-D scipy sparse matrix (candidates x units)")
        cov = sparse.csr_array(cov, dtype=np.bool_)
        cov.sum_duplicates()
        cov.eliminate_zeros()
        cov.sort_indices()
        n_c, n_u = cov.shape
        w = np.array(self.weights, dtype=np.float64).reshape(-1)
        if w.shape != (n_u,):
            raise InputError(f"weights has {w.shape[0]} values but there are {n_u} units")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise InputError("weights must be finite and non-negative")
        c0 = np.array(self.covered0, dtype=np.bool_).reshape(-1)
        if c0.shape != (n_u,):
            raise InputError(f"covered0 has {c0.shape[0]} values but there are {n_u} units")
        grp = None
        if self.candidate_group is not None:
            grp = np.asarray(self.candidate_group, dtype=object).reshape(-1)
            if grp.shape != (n_c,):
                raise InputError(
                    f"candidate_group has {grp.shape[0]} values but there are {n_c} candidates"
                )
        xy = None
        if self.candidate_xy is not None:
            xy = np.array(self.candidate_xy, dtype=np.float64)
            if xy.shape != (n_c, 2) or not np.all(np.isfinite(xy)):
                raise InputError(f"candidate_xy must be finite with shape ({n_c}, 2)")
        for name, value in (
            ("coverage", cov),
            ("weights", w),
            ("covered0", c0),
            ("candidate_group", grp),
            ("candidate_xy", xy),
        ):
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_cost_matrix(
        cls,
        cost: npt.ArrayLike | sparse.sparray | sparse.spmatrix,
        weights: npt.ArrayLike,
        *,
        max_cost: float,
        covered0: npt.ArrayLike | None = None,
        candidate_group: npt.ArrayLike | None = None,
        candidate_xy: npt.ArrayLike | None = None,
    ) -> CoverageProblem:
        """Build a problem from a candidate × unit cost (e.g. walking distance) matrix.

        Parameters
        ----------
        cost
            Dense array (``nan`` / ``inf`` = unreachable) or scipy sparse matrix whose stored
            entries are finite costs (missing entries are unreachable; stored zeros are a cost
            of 0, i.e. covering), shape ``(n_candidates, n_units)``. Unlike spopt, rows are
            candidates.
        weights
            Population of each unit.
        max_cost
            Candidate ``j`` covers unit ``i`` when ``cost[j, i] <= max_cost``.
        covered0, candidate_group, candidate_xy
            As in the class attributes.

        Returns
        -------
        CoverageProblem
        """
        if not np.isfinite(max_cost):
            raise InputError(f"max_cost must be a finite number, got {max_cost!r}")
        if sparse.issparse(cost):
            coo = sparse.coo_array(cost)
            keep = coo.data <= max_cost
            shape = coo.shape
            rows, cols = coo.row[keep], coo.col[keep]
        else:
            arr = np.asarray(cost, dtype=np.float64)
            if arr.ndim != 2:
                raise InputError("cost must be a 2-D matrix (candidates x units)")
            shape = arr.shape
            with np.errstate(invalid="ignore"):
                rows, cols = np.nonzero(arr <= max_cost)
        return cls.from_pairs(
            rows,
            cols,
            n_candidates=shape[0],
            n_units=shape[1],
            weights=weights,
            covered0=covered0,
            candidate_group=candidate_group,
            candidate_xy=candidate_xy,
        )

    @classmethod
    def from_pairs(
        cls,
        candidate: npt.ArrayLike,
        unit: npt.ArrayLike,
        *,
        n_candidates: int,
        n_units: int,
        weights: npt.ArrayLike,
        covered0: npt.ArrayLike | None = None,
        candidate_group: npt.ArrayLike | None = None,
        candidate_xy: npt.ArrayLike | None = None,
    ) -> CoverageProblem:
        """Build a problem from (candidate, unit) covering pairs.

        Parameters
        ----------
        candidate, unit
            Equal-length index arrays: candidate ``candidate[k]`` covers unit ``unit[k]``
            (duplicates are fine).
        n_candidates, n_units
            Matrix shape.
        weights
            Population of each unit.
        covered0
            Units already covered by the existing stations (default: none).
        candidate_group, candidate_xy
            As in the class attributes.

        Returns
        -------
        CoverageProblem
        """
        rows = np.asarray(candidate, dtype=np.int64).reshape(-1)
        cols = np.asarray(unit, dtype=np.int64).reshape(-1)
        if rows.shape != cols.shape:
            raise InputError("candidate and unit index arrays must have the same length")
        if n_candidates < 0 or n_units < 0:
            raise InputError("n_candidates and n_units must be non-negative")
        if rows.size and (rows.min() < 0 or rows.max() >= n_candidates):
            raise InputError(f"a candidate index is outside 0..{n_candidates - 1}")
        if cols.size and (cols.min() < 0 or cols.max() >= n_units):
            raise InputError(f"a unit index is outside 0..{n_units - 1}")
        cov = sparse.csr_array(
            (np.ones(rows.size, dtype=np.bool_), (rows, cols)), shape=(n_candidates, n_units)
        )
        c0 = np.zeros(n_units, dtype=np.bool_) if covered0 is None else covered0
        try:
            w = np.asarray(weights, dtype=np.float64)
            xy = None if candidate_xy is None else np.asarray(candidate_xy, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"weights and candidate_xy must be numeric: {exc}") from exc
        grp = None if candidate_group is None else np.asarray(candidate_group, dtype=object)
        return cls(cov, w, np.asarray(c0, dtype=np.bool_), grp, xy)

    # ------------------------------------------------------------------ properties
    @property
    def n_candidates(self) -> int:
        """Number of candidate sites."""
        return int(self.coverage.shape[0])

    @property
    def n_units(self) -> int:
        """Number of demand units."""
        return int(self.coverage.shape[1])

    # ------------------------------------------------------------------ reduction
    def reduced(self) -> tuple[CoverageProblem, Reduction]:
        """Return an equivalent, smaller problem and the map back to this one.

        Units already covered, reached by no candidate, or with no population are dropped;
        units with identical candidate sets are merged (weights summed); candidates covering
        no remaining unit are dropped. Any selection of kept candidates covers exactly the same
        *additional* population in both problems, so the optimum is preserved.

        Returns
        -------
        tuple of CoverageProblem and Reduction
            The reduced problem (``covered0`` all false) and the bookkeeping.
        """
        return self._reduce(keep_candidates=None)

    def _reduce(self, *, keep_candidates: BoolArray | None) -> tuple[CoverageProblem, Reduction]:
        cov, w, c0 = self.coverage, self.weights, self.covered0
        n_c, n_u = cov.shape
        unit_major = sparse.csr_array(cov.T)  # units x candidates, CSR
        unit_major.sort_indices()
        deg = np.diff(unit_major.indptr)
        reach = deg > 0
        live = ~c0 & reach & (w > 0)
        live_idx = np.flatnonzero(live)
        sub = unit_major[live_idx]
        sub.sort_indices()
        rep_of = _identical_rows(sub)  # position of the representative row of each live unit
        reps, new_id = np.unique(rep_of, return_inverse=True)
        new_w = np.bincount(new_id, weights=w[live_idx], minlength=reps.size).astype(np.float64)
        red_units = sub[reps]  # reduced units x candidates
        red = sparse.csr_array(red_units.T)  # candidates x reduced units
        cand_keep = np.diff(red.indptr) > 0
        if keep_candidates is not None:
            cand_keep |= keep_candidates
        cand_idx = np.flatnonzero(cand_keep)
        red = red[cand_idx]
        unit_index = np.full(n_u, -1, dtype=np.int64)
        unit_index[live_idx] = new_id
        grp = None if self.candidate_group is None else self.candidate_group[cand_idx]
        xy = None if self.candidate_xy is None else self.candidate_xy[cand_idx]
        problem = CoverageProblem(
            sparse.csr_array(red), new_w, np.zeros(reps.size, dtype=np.bool_), grp, xy
        )
        info = Reduction(
            n_candidates_before=n_c,
            n_candidates_after=int(cand_idx.size),
            n_units_before=n_u,
            n_units_after=int(reps.size),
            nnz_before=int(cov.nnz),
            nnz_after=int(problem.coverage.nnz),
            units_already_covered=int(c0.sum()),
            units_unreachable=int((~c0 & ~reach).sum()),
            units_zero_weight=int((~c0 & reach & (w <= 0)).sum()),
            units_merged=int(live_idx.size - reps.size),
            candidates_dropped=int(n_c - cand_idx.size),
            base_covered_population=float(w[c0].sum()),
            unreachable_population=float(w[~c0 & ~reach].sum()),
            total_population=float(w.sum()),
            candidate_index=cand_idx.astype(np.int64),
            unit_index=unit_index,
        )
        return problem, info

    # ------------------------------------------------------------------ solving
    def solve(
        self,
        *,
        add: int | None = None,
        target_coverage_pct: float | None = None,
        min_per_group: int | Mapping[Any, int] | None = None,
        max_per_group: int | Mapping[Any, int] | None = None,
        min_spacing_m: float | None = None,
        swap: bool = True,
        bound: str = "auto",
        time_limit_s: float = 60.0,
        exact_max_size: int = 100_000,
        lp_max_size: int = 500_000,
        rule_names: Mapping[str, str] | None = None,
    ) -> SitingSolution:
        """Choose new sites: lazy greedy, 1-swap local search, and an optimality certificate.

        Parameters
        ----------
        add
            Number of new stations ``K`` (at most ``K`` are picked: picks that add nobody are
            left out unless a quota needs them). Give exactly one of ``add`` and
            ``target_coverage_pct``.
        target_coverage_pct
            Pick the fewest stations whose coverage (existing included) reaches this per cent
            of the total population. When it cannot be reached, all useful picks are returned
            with ``target_reached=False`` and ``max_covered_population`` tells the ceiling.
        min_per_group, max_per_group
            Quotas of new stations per candidate group: a dict ``{group: count}`` or one int
            for every group present among the candidates. Needs ``candidate_group``.
        min_spacing_m
            New stations must be at least this far apart (straight line, metres): candidates
            closer than this to a pick become ineligible. Needs ``candidate_xy``.
        swap
            Run the 1-swap local search after the greedy phase.
        bound
            How to certify the result (see :data:`BOUND_METHODS`): ``"auto"`` solves the exact
            MILP when the reduced matrix has at most ``exact_max_size`` nonzeros, the LP
            relaxation up to ``lp_max_size``, else the Lagrangian relaxation; the cheap
            submodular bound is always computed and the smallest valid bound is reported.
        time_limit_s
            Time limit for the local search and for each HiGHS solve, seconds.
        exact_max_size, lp_max_size
            Size thresholds (nonzeros of the reduced coverage matrix) of ``bound="auto"``.
        rule_names
            The caller's names of ``max_per_group`` and ``min_spacing_m`` (e.g.
            ``{"max_per_group": "max_per_district"}``), used in the message of a plan cut short.

        Returns
        -------
        SitingSolution

        Raises
        ------
        InfeasibleError
            When quotas contradict each other or the number of stations, or when no plan
            meeting the minimums and the spacing was found.
        InputError
            On malformed arguments.

        Notes
        -----
        *Greedy.* CELF lazy evaluation: stale marginal gains are upper bounds (coverage is
        submodular), so a popped candidate whose gain is fresh for the current round is the
        best one; ties go to the lowest index. Without side constraints the greedy value is at
        least ``1 - 1/e`` of the optimum (of the population the new stations can add). With
        quotas, once the free slots equal the unmet minimums only candidates of unmet groups
        are eligible.

        *1-swap.* Best improvement: each round evaluates every (selected, unselected) pair at
        once from per-unit cover counts — the loss of removing site ``s`` is the weight of the
        units it covers alone; the gain of adding ``c`` in its place is the weight of ``c``'s
        uncovered units plus that of the units ``s`` covers alone — and applies the best
        feasible improving swap (ties: lowest position, then lowest candidate), until none
        improves, ``50 K + 100`` rounds, or the time limit.
        """
        t_all = time.perf_counter()
        timings: dict[str, float] = {}
        if bound not in BOUND_METHODS:
            raise InputError(f"bound must be one of {', '.join(BOUND_METHODS)}, got {bound!r}")
        if (add is None) == (target_coverage_pct is None):
            raise InputError(
                "give exactly one of add= (number of stations) and target_coverage_pct="
            )
        if add is not None and (isinstance(add, bool) or int(add) != add or add < 0):
            raise InputError(f"add must be a non-negative integer, got {add!r}")
        if target_coverage_pct is not None and not 0 <= target_coverage_pct <= 100:
            raise InputError(f"target_coverage_pct must be in 0..100, got {target_coverage_pct!r}")
        if min_spacing_m is not None:
            if self.candidate_xy is None:
                raise InputError("min_spacing_m needs candidate_xy")
            positive(min_spacing_m, "min_spacing_m", allow_zero=True)

        quotas = _Quotas.build(self.candidate_group, min_per_group, max_per_group, add)

        # ---- reduce (keep candidates a minimum may need even if they add nobody)
        t0 = time.perf_counter()
        keep = None
        if quotas is not None and np.any(quotas.gmin > 0):
            keep = (quotas.gid >= 0) & (quotas.gmin[np.maximum(quotas.gid, 0)] > 0)
        red, info = self._reduce(keep_candidates=keep)
        timings["reduce"] = time.perf_counter() - t0
        A = red.coverage
        w = red.weights
        n_c, n_u = A.shape
        indptr = A.indptr.astype(np.int64)
        indices = A.indices.astype(np.int64)
        base = info.base_covered_population
        total = info.total_population
        max_covered = base + float(w.sum())
        if quotas is not None:
            gid = quotas.gid[info.candidate_index]
            gmin, gmax = quotas.gmin, quotas.gmax
        else:
            gid = np.full(n_c, -1, dtype=np.int64)
            gmin = np.zeros(0, dtype=np.int64)
            gmax = np.zeros(0, dtype=np.int64)
        nb_indptr, nb_indices = _spacing_neighbours(red.candidate_xy, min_spacing_m, n_c)

        # ---- greedy
        t0 = time.perf_counter()
        if add is not None:
            k_max = int(add)
            target_w = math.inf
        else:
            k_max = _NO_LIMIT
            target_w = max(0.0, target_coverage_pct / 100.0 * total - base)  # type: ignore[operator]
            target_w -= 1e-9 * max(total, 1.0)
        gain0 = _row_gains(indptr, indices, w, np.zeros(n_u, dtype=np.bool_))
        gcount = np.zeros(gmin.shape[0], dtype=np.int64)
        sel, gains, unmet = _celf(
            indptr,
            indices,
            w,
            np.zeros(n_u, dtype=np.bool_),
            gain0,
            np.ones(n_c, dtype=np.bool_),
            k_max,
            target_w,
            gid,
            gmin,
            gmax,
            gcount,
            nb_indptr,
            nb_indices,
            True,
        )
        timings["greedy"] = time.perf_counter() - t0
        ctx = _SwapContext(A, w, gid, gmin, gmax, nb_indptr, nb_indices)
        known = None
        if unmet > 0:
            # the spacing rule trapped the greedy: ask HiGHS for any plan meeting the minimums
            if add is None:
                raise InfeasibleError(
                    f"no plan found that meets the per-group minimums ({unmet} station(s) short)"
                )
            ub, label, picks = _solve_highs(ctx, int(add), integer=True, time_limit_s=time_limit_s)
            if picks is None:
                raise InfeasibleError(
                    f"no plan found within {time_limit_s:g} s that meets the per-group minimums"
                    " with the spacing rule"
                )
            known = (ub, label)
            sel, gains = _greedy_order(indptr, indices, w, picks)
            timings["greedy"] = time.perf_counter() - t0
        greedy_value = float(gains.sum())
        logger.info("greedy: %d picks add %.1f people (%s)", sel.size, greedy_value, info.summary())

        # ---- 1-swap local search
        t0 = time.perf_counter()
        swaps = 0
        if swap and sel.size > 0:
            sel, n_sw = ctx.local_search(sel, deadline=time.perf_counter() + time_limit_s)
            swaps += n_sw
            if target_coverage_pct is not None and gmin.sum() == 0:
                # fewer stations may reach the target (or, when it is out of reach, the
                # most any plan covers) once improved by swaps
                goal = min(target_w, ctx.value(sel) - ctx.tol)
                while sel.size > 1 and time.perf_counter() - t0 < time_limit_s:
                    trial, n_sw = ctx.local_search(
                        _greedy_order(indptr, indices, w, sel)[0][:-1],
                        deadline=time.perf_counter() + time_limit_s,
                    )
                    if ctx.value(trial) >= goal:
                        sel = trial
                        swaps += n_sw
                    else:
                        break
        sel, gains = _greedy_order(indptr, indices, w, sel)
        timings["swap"] = time.perf_counter() - t0
        value = float(gains.sum())

        # ---- fewest sites for a target, and the proven least number
        sites_lower_bound = None
        if target_coverage_pct is not None:
            t0 = time.perf_counter()
            few = fewest_sites(
                ctx,
                sel,
                min(target_w, value - ctx.tol),
                quotas=quotas is not None,
                min_sites=int(gmin.sum()),
                bound=bound,
                time_limit_s=time_limit_s,
                exact_max_size=exact_max_size,
                lp_max_size=lp_max_size,
            )
            sel, gains = few.selected, few.gains
            value = float(gains.sum())
            sites_lower_bound = None if few.bound_method == "none" else few.lower_bound
            timings["fewest"] = time.perf_counter() - t0

        # ---- certificate
        t0 = time.perf_counter()
        k_bound = int(add) if add is not None else int(sel.size)
        ub, method, milp_picks = _upper_bound(
            ctx,
            sel,
            value,
            k_bound,
            quotas=quotas is not None,
            method=bound,
            time_limit_s=time_limit_s,
            exact_max_size=exact_max_size,
            lp_max_size=lp_max_size,
            known=known,
        )
        plan_method = "greedy+swap" if known is None else str(known[1])
        if milp_picks is not None:
            sel, gains, plan_method = _adopt_milp(
                ctx, sel, gains, milp_picks, label=method, keep_zero=bool(gmin.sum() > 0)
            )
            value = float(gains.sum())
        timings["bound"] = time.perf_counter() - t0
        covered = base + value
        if math.isnan(ub):
            ub_total, gap = math.nan, math.nan
        elif plan_method == "milp-optimal":
            ub_total, gap = covered, 0.0  # the plan is the proven optimum
        else:
            ub_total = base + ub
            if ub_total < covered - 1e-6 * max(covered, 1.0):
                logger.warning("bound %.3f below the solution %.3f: numerical trouble", ub, value)
            ub_total = max(ub_total, covered)
            gap = (ub_total - covered) / ub_total * 100.0 if ub_total > 0 else 0.0
        timings["total"] = time.perf_counter() - t_all

        target_reached = None
        if target_coverage_pct is not None:
            target_reached = bool(value >= target_w)
            if not target_reached:
                logger.warning(
                    "coverage target %.2f%% not reachable: all candidates reach %.2f%%",
                    target_coverage_pct,
                    _pct(max_covered, total),
                )
        cut_short = None
        if add is not None and sel.size < add:
            cut_short = _short_plan_reason(ctx, sel, int(add), rule_names or {})
            logger.warning("%s", cut_short)
        orig = info.candidate_index[sel]
        groups = None if self.candidate_group is None else self.candidate_group[orig]
        return SitingSolution(
            selected=orig.astype(np.int64),
            added_population=gains.astype(np.float64),
            base_covered_population=base,
            total_population=total,
            covered_population=covered,
            greedy_covered_population=base + greedy_value,
            swaps=swaps,
            upper_bound_covered_population=ub_total,
            bound_method=method,
            optimality_gap_pct=gap,
            reduction=info,
            max_covered_population=max_covered,
            target_coverage_pct=target_coverage_pct,
            target_reached=target_reached,
            selected_group=groups,
            timings=timings,
            plan_method=plan_method,
            sites_lower_bound=sites_lower_bound,
            cut_short=cut_short,
        )


# ====================================================================== helpers
def _short_plan_reason(ctx: _SwapContext, sel: IntArray, add: int, names: Mapping[str, str]) -> str:
    """Why a plan has fewer sites than asked: the rule that stopped it, or no coverage left."""
    gains = ctx.marginal_gains(sel)
    open_ = gains > ctx.tol
    open_[sel] = False
    rules = []
    if ctx.gmax.size and open_.any():
        has = ctx.gid[sel] >= 0
        count = np.bincount(ctx.gid[sel][has], minlength=ctx.gmax.size)
        full = (ctx.gid >= 0) & (count[np.maximum(ctx.gid, 0)] >= ctx.gmax[np.maximum(ctx.gid, 0)])
        if (open_ & full).any():
            rules.append(f"the per-group maximum ({names.get('max_per_group', 'max_per_group')})")
        open_ &= ~full
    if ctx.nb_indices.size and open_.any():
        near = np.zeros(open_.size, dtype=bool)
        for j in sel:
            near[ctx.nb_indices[ctx.nb_indptr[j] : ctx.nb_indptr[j + 1]]] = True
        if (open_ & near).any():
            rules.append(f"the spacing rule ({names.get('min_spacing_m', 'min_spacing_m')})")
    if rules:
        return (
            f"only {sel.size} of {add} requested stations: {' and '.join(rules)} rules out "
            "every other site that would add coverage"
        )
    return f"only {sel.size} of {add} requested stations add coverage"


def _adopt_milp(
    ctx: _SwapContext,
    sel: IntArray,
    gains: FloatArray,
    picks: IntArray,
    *,
    label: str,
    keep_zero: bool,
) -> tuple[IntArray, FloatArray, str]:
    """The MILP's plan when it is proven optimal or better than greedy + swap, else the latter.

    When greedy + swap ties the MILP its plan is kept. The adopted plan is ordered greedily
    within itself (each pick adds most to those before it, for phasing); picks adding nobody
    are dropped unless a minimum quota may need them.
    """
    proven = label == "milp-optimal"
    value = float(gains.sum())
    if ctx.value(picks) <= value + ctx.tol:
        # greedy + swap already reaches the MILP's value: keep its plan (ties stay stable),
        # which is then a proven optimum too
        return sel, gains, "milp-optimal" if proven else "greedy+swap"
    indptr = ctx.A.indptr.astype(np.int64)
    indices = ctx.A.indices.astype(np.int64)
    order, order_gains = _greedy_order(indptr, indices, ctx.w, picks)
    if not keep_zero:
        useful = order_gains > 0
        order, order_gains = order[useful], order_gains[useful]
    if proven and float(order_gains.sum()) < value - ctx.tol:
        # numerically the MILP's plan is worse than the heuristic's: keep the latter
        logger.warning("MILP plan %.3f below greedy + swap %.3f", order_gains.sum(), value)
        return sel, gains, "greedy+swap"
    return order, order_gains, "milp-optimal" if proven else "milp"


def _identical_rows(m: sparse.csr_array) -> IntArray:
    """For each row, the first row with exactly the same column set (rows must be sorted).

    Rows are bucketed by a 64-bit random-sum hash, then every merge is verified entry by
    entry, so a hash collision can only prevent a merge, never cause a wrong one.
    """
    n = m.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(_HASH_SEED)
    r = rng.integers(0, 2**63, size=m.shape[1], dtype=np.uint64)
    indptr = m.indptr.astype(np.int64)
    indices = m.indices.astype(np.int64)
    key = np.add.reduceat(r[indices], indptr[:-1])  # rows are non-empty here
    key += np.diff(indptr).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    rep = first[inverse.reshape(-1)].astype(np.int64)
    _verify_identical(indptr, indices, rep)
    return rep


@numba.njit(cache=True)
def _verify_identical(indptr, indices, rep):  # pragma: no cover - compiled
    """Undo the merge of rows whose column sets differ from their representative's."""
    for u in range(rep.shape[0]):
        r = rep[u]
        if r == u:
            continue
        same = indptr[u + 1] - indptr[u] == indptr[r + 1] - indptr[r]
        if same:
            for k in range(indptr[u + 1] - indptr[u]):
                if indices[indptr[u] + k] != indices[indptr[r] + k]:
                    same = False
                    break
        if not same:
            rep[u] = u
