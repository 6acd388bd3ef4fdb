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
* **when** — :func:`phase_plan` splits the ordered picks into the programme's yearly phases.

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

import itertools
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
from scipy import optimize, sparse
from scipy.spatial import cKDTree

from skillcircle._errors import InfeasibleError, InputError

__all__ = [
    "BOUND_METHODS",
    "CoverageProblem",
    "Reduction",
    "SitingSolution",
    "phase_plan",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Accepted values of ``bound`` in :meth:`CoverageProblem.solve`.
BOUND_METHODS = ("auto", "milp", "lp", "lagrangian", "submodular", "none")

_NO_LIMIT = np.iinfo(np.int64).max // 4
_HASH_SEED = 20240515


# ====================================================================== numba kernels
@numba.njit(cache=True)
def _row_gains(indptr, indices, w, covered):  # pragma: no cover - compiled
    """Uncovered weight of every row."""
    n = indptr.shape[0] - 1
    out = np.zeros(n, dtype=np.float64)
    for j in range(n):
        s = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            if not covered[i]:
                s += w[i]
        out[j] = s
    return out


@numba.njit(cache=True)
def _better(ga, ja, gb, jb):  # pragma: no cover - compiled
    """Heap order: larger gain first, then lower index."""
    return ga > gb or (ga == gb and ja < jb)


@numba.njit(cache=True)
def _sift_down(hg, hj, pos, size):  # pragma: no cover - compiled
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        best = left
        right = left + 1
        if right < size and _better(hg[right], hj[right], hg[left], hj[left]):
            best = right
        if _better(hg[best], hj[best], hg[pos], hj[pos]):
            hg[best], hg[pos] = hg[pos], hg[best]
            hj[best], hj[pos] = hj[pos], hj[best]
            pos = best
        else:
            return


@numba.njit(cache=True)
def _celf(
    indptr,
    indices,
    w,
    covered,
    gain0,
    eligible,
    k_max,
    target,
    group,
    gmin,
    gmax,
    gcount,
    nb_indptr,
    nb_indices,
    stop_at_zero,
):  # pragma: no cover - compiled
    """Lazy greedy maximal covering with quotas, spacing and a coverage target.

    ``covered``, ``eligible`` and ``gcount`` are updated in place. Returns the picks in order,
    their marginal gains, and the number of groups whose minimum could not be met.
    """
    n = gain0.shape[0]
    hg = np.empty(n, dtype=np.float64)
    hj = np.empty(n, dtype=np.int64)
    size = 0
    for j in range(n):
        if eligible[j]:
            hg[size] = gain0[j]
            hj[size] = j
            size += 1
    for pos in range(size // 2 - 1, -1, -1):
        _sift_down(hg, hj, pos, size)
    stamp = np.zeros(n, dtype=np.int64)
    unmet = 0
    for g in range(gmin.shape[0]):
        if gcount[g] < gmin[g]:
            unmet += gmin[g] - gcount[g]
    k_cap = min(k_max, n)
    sel = np.empty(k_cap, dtype=np.int64)
    gains = np.empty(k_cap, dtype=np.float64)
    npick = 0
    covered_w = 0.0
    while npick < k_max and size > 0:
        g = hg[0]
        j = hj[0]
        done_target = covered_w >= target
        zero = g <= 0.0
        if unmet == 0 and (done_target or (zero and stop_at_zero)):
            break
        # pop
        size -= 1
        hg[0] = hg[size]
        hj[0] = hj[size]
        _sift_down(hg, hj, 0, size)
        if not eligible[j]:
            continue
        gj = group[j]
        if gj >= 0 and gcount[gj] >= gmax[gj]:
            eligible[j] = False
            continue
        restricted = unmet > 0 and (k_max - npick <= unmet or done_target or zero)
        if restricted and not (gj >= 0 and gcount[gj] < gmin[gj]):
            eligible[j] = False
            continue
        if stamp[j] != npick:
            s = 0.0
            for k in range(indptr[j], indptr[j + 1]):
                i = indices[k]
                if not covered[i]:
                    s += w[i]
            stamp[j] = npick
            # push back with the fresh gain
            pos = size
            hg[pos] = s
            hj[pos] = j
            size += 1
            while pos > 0:
                parent = (pos - 1) // 2
                if _better(hg[pos], hj[pos], hg[parent], hj[parent]):
                    hg[pos], hg[parent] = hg[parent], hg[pos]
                    hj[pos], hj[parent] = hj[parent], hj[pos]
                    pos = parent
                else:
                    break
            continue
        # accept j: its fresh gain is the best (ties to the lowest index)
        s = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            if not covered[i]:
                s += w[i]
                covered[i] = True
        sel[npick] = j
        gains[npick] = s
        npick += 1
        covered_w += s
        eligible[j] = False
        if gj >= 0:
            if gcount[gj] < gmin[gj]:
                unmet -= 1
            gcount[gj] += 1
        for k in range(nb_indptr[j], nb_indptr[j + 1]):
            eligible[nb_indices[k]] = False
    return sel[:npick], gains[:npick], unmet


@numba.njit(cache=True)
def _cover_counts(indptr, indices, sel, n_units):  # pragma: no cover - compiled
    cnt = np.zeros(n_units, dtype=np.int64)
    for j in sel:
        for k in range(indptr[j], indptr[j + 1]):
            cnt[indices[k]] += 1
    return cnt


@numba.njit(cache=True)
def _unique_owner(indptr, indices, sel, cnt, w):  # pragma: no cover - compiled
    """Units covered by exactly one selected site: owner position and the loss of each site."""
    n_units = cnt.shape[0]
    owner = np.full(n_units, -1, dtype=np.int64)
    loss = np.zeros(sel.shape[0], dtype=np.float64)
    for p in range(sel.shape[0]):
        j = sel[p]
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            if cnt[i] == 1:
                owner[i] = p
                loss[p] += w[i]
    return owner, loss


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
            if not np.isfinite(min_spacing_m) or min_spacing_m < 0:
                raise InputError(f"min_spacing_m must be >= 0, got {min_spacing_m!r}")

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
                # fewer stations may reach the target once improved by swaps
                while sel.size > 1 and time.perf_counter() - t0 < time_limit_s:
                    trial, n_sw = ctx.local_search(
                        _greedy_order(indptr, indices, w, sel)[0][:-1],
                        deadline=time.perf_counter() + time_limit_s,
                    )
                    if ctx.value(trial) >= target_w:
                        sel = trial
                        swaps += n_sw
                    else:
                        break
        sel, gains = _greedy_order(indptr, indices, w, sel)
        timings["swap"] = time.perf_counter() - t0
        value = float(gains.sum())

        # ---- certificate
        t0 = time.perf_counter()
        k_bound = int(add) if add is not None else int(sel.size)
        ub, method = _upper_bound(
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
        timings["bound"] = time.perf_counter() - t0
        covered = base + value
        if math.isnan(ub):
            ub_total, gap = math.nan, math.nan
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
        if add is not None and sel.size < add:
            logger.warning("only %d of %d requested stations add coverage", sel.size, add)
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
        )


# ====================================================================== helpers
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


def _spacing_neighbours(
    xy: FloatArray | None, min_spacing_m: float | None, n: int
) -> tuple[IntArray, IntArray]:
    """CSR of candidate pairs closer than ``min_spacing_m`` (empty when no spacing rule)."""
    if xy is None or not min_spacing_m or n == 0:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pairs = cKDTree(xy).query_pairs(np.nextafter(min_spacing_m, 0.0), output_type="ndarray")
    a = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.int64)
    b = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.int64)
    m = sparse.csr_array((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    m.sort_indices()
    return m.indptr.astype(np.int64), m.indices.astype(np.int64)


def _greedy_order(
    indptr: IntArray, indices: IntArray, w: FloatArray, sel: IntArray
) -> tuple[IntArray, FloatArray]:
    """Order a fixed set greedily by marginal gain (every member kept, ties to lowest index)."""
    n_c = indptr.shape[0] - 1
    eligible = np.zeros(n_c, dtype=np.bool_)
    eligible[sel] = True
    gain0 = np.zeros(n_c, dtype=np.float64)
    gain0[sel] = _row_gains(indptr, indices, w, np.zeros(w.shape[0], dtype=np.bool_))[sel]
    empty_i = np.zeros(0, dtype=np.int64)
    order, gains, _ = _celf(
        indptr,
        indices,
        w,
        np.zeros(w.shape[0], dtype=np.bool_),
        gain0,
        eligible,
        int(sel.size),
        math.inf,
        np.full(n_c, -1, dtype=np.int64),
        empty_i,
        empty_i,
        empty_i,
        np.zeros(n_c + 1, dtype=np.int64),
        empty_i,
        False,
    )
    return order, gains


@dataclass(frozen=True)
class _Quotas:
    """Group codes and per-group minimum / maximum new stations."""

    gid: IntArray  # per original candidate, -1 = no group
    names: npt.NDArray[np.object_]
    gmin: IntArray
    gmax: IntArray

    @classmethod
    def build(
        cls,
        groups: npt.NDArray[Any] | None,
        min_per_group: int | Mapping[Any, int] | None,
        max_per_group: int | Mapping[Any, int] | None,
        k: int | None,
    ) -> _Quotas | None:
        if min_per_group is None and max_per_group is None:
            return None
        if groups is None:
            raise InputError("min_per_group / max_per_group need candidate_group")
        codes, uniques = pd.factorize(pd.Series(groups, dtype=object), sort=True)
        names = np.asarray(uniques, dtype=object)
        gid = np.asarray(codes, dtype=np.int64)
        index = {name: g for g, name in enumerate(names.tolist())}
        size = np.bincount(gid[gid >= 0], minlength=names.size)

        def table(spec: int | Mapping[Any, int] | None, default: int, what: str) -> IntArray:
            out = np.full(names.size, default, dtype=np.int64)
            if spec is None:
                return out
            if isinstance(spec, Mapping):
                for name, value in spec.items():
                    value = _count(value, what, name)
                    if name in index:
                        out[index[name]] = value
                    elif what == "min_per_group" and value > 0:
                        raise InfeasibleError(
                            f"group {name!r} has a minimum of {value} but no candidate"
                        )
                return out
            out[:] = _count(spec, what, None)
            return out

        gmin = table(min_per_group, 0, "min_per_group")
        gmax = table(max_per_group, _NO_LIMIT, "max_per_group")
        for g in range(names.size):
            if gmax[g] < gmin[g]:
                raise InfeasibleError(
                    f"group {names[g]!r}: maximum {gmax[g]} is below minimum {gmin[g]}"
                )
            if gmin[g] > size[g]:
                raise InfeasibleError(
                    f"group {names[g]!r} needs {gmin[g]} station(s) but has {size[g]} candidate(s)"
                )
        if k is not None and gmin.sum() > k:
            raise InfeasibleError(
                f"the per-group minimums add up to {gmin.sum()} stations, more than add={k}"
            )
        return cls(gid, names, gmin, gmax)


def _count(value: Any, what: str, name: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        where = f" for group {name!r}" if name is not None else ""
        raise InputError(f"{what}{where} must be a non-negative integer, got {value!r}")
    return int(value)


class _SwapContext:
    """Arrays the local search and the bounds share (reduced problem)."""

    def __init__(
        self,
        A: sparse.csr_array,
        w: FloatArray,
        gid: IntArray,
        gmin: IntArray,
        gmax: IntArray,
        nb_indptr: IntArray,
        nb_indices: IntArray,
    ) -> None:
        self.A = A
        self.Af = sparse.csr_array(
            (np.ones(A.nnz, dtype=np.float64), A.indices, A.indptr), shape=A.shape
        )
        self.indptr = A.indptr.astype(np.int64)
        self.indices = A.indices.astype(np.int64)
        at = sparse.csr_array(A.T)  # unit-major: candidates covering each unit
        at.sort_indices()
        self.t_indptr = at.indptr.astype(np.int64)
        self.t_indices = at.indices.astype(np.int64)
        self.w = w
        self.gid = gid
        self.gmin = gmin
        self.gmax = gmax
        self.nb_indptr = nb_indptr
        self.nb_indices = nb_indices
        self.tol = 1e-9 * max(float(w.sum()), 1.0)

    @property
    def n_candidates(self) -> int:
        return int(self.A.shape[0])

    def value(self, sel: IntArray) -> float:
        cnt = _cover_counts(self.indptr, self.indices, sel, self.w.shape[0])
        return float(self.w[cnt > 0].sum())

    def marginal_gains(self, sel: IntArray) -> FloatArray:
        cnt = _cover_counts(self.indptr, self.indices, sel, self.w.shape[0])
        return self.Af @ (self.w * (cnt == 0))

    def local_search(self, sel: IntArray, *, deadline: float) -> tuple[IntArray, int]:
        """Best-improvement 1-swap until no feasible swap improves coverage."""
        sel = np.array(sel, dtype=np.int64)
        k = sel.size
        n_c = self.n_candidates
        n_u = self.w.shape[0]
        if k == 0 or k >= n_c:
            return sel, 0
        gid, gmin, gmax = self.gid, self.gmin, self.gmax
        grouped = gmin.size > 0
        spacing = self.nb_indices.size > 0
        max_rounds = 50 * k + 100
        swaps = 0
        chunk = max(1, int(4_000_000 // max(n_c, 1)))
        for _ in range(max_rounds):
            if time.perf_counter() > deadline:
                logger.info("1-swap stopped by the time limit after %d swaps", swaps)
                break
            cnt = _cover_counts(self.indptr, self.indices, sel, n_u)
            g0 = _row_gains(self.indptr, self.indices, self.w, cnt > 0)
            owner, loss = _unique_owner(self.indptr, self.indices, sel, cnt, self.w)
            allowed_c = np.ones(n_c, dtype=np.bool_)
            allowed_c[sel] = False
            if grouped:
                gcount = np.bincount(gid[sel][gid[sel] >= 0], minlength=gmin.size)
                cg = gid
                c_room = np.where(
                    cg >= 0, gcount[np.maximum(cg, 0)] < gmax[np.maximum(cg, 0)], True
                )
            if spacing:
                pos_of = np.full(n_c, -1, dtype=np.int64)
                pos_of[sel] = np.arange(k)
                nb_cnt, nb_sel_pos = _selected_neighbours(self.nb_indptr, self.nb_indices, pos_of)
                allowed_c &= nb_cnt <= 1
            best_delta, best_p, best_c = self.tol, -1, -1
            for start in range(0, k, chunk):
                stop = min(k, start + chunk)
                D = _swap_gain(self.t_indptr, self.t_indices, self.w, owner, start, stop, n_c)
                D += g0[:, None]
                D -= loss[None, start:stop]
                ok = np.broadcast_to(allowed_c[:, None], D.shape).copy()
                if grouped:
                    sg = gid[sel[start:stop]]
                    s_free = np.where(
                        sg >= 0, gcount[np.maximum(sg, 0)] > gmin[np.maximum(sg, 0)], True
                    )
                    same = cg[:, None] == sg[None, :]
                    ok &= same | (c_room[:, None] & s_free[None, :])
                if spacing:
                    ok &= (nb_cnt[:, None] == 0) | (
                        nb_sel_pos[:, None] == np.arange(start, stop)[None, :]
                    )
                D[~ok] = -np.inf
                flat = int(np.argmax(D.T))  # position-major: lowest position, then candidate
                p_rel, c = divmod(flat, n_c)
                if D[c, p_rel] > best_delta:
                    best_delta, best_p, best_c = float(D[c, p_rel]), start + p_rel, c
            if best_p < 0:
                break
            sel[best_p] = best_c
            swaps += 1
        return sel, swaps


@numba.njit(cache=True)
def _swap_gain(t_indptr, t_indices, w, owner, start, stop, n_c):  # pragma: no cover - compiled
    """``D[c, p - start]``: weight covered only by the pick at position ``p`` that ``c`` covers."""
    out = np.zeros((n_c, stop - start), dtype=np.float64)
    for i in range(owner.shape[0]):
        p = owner[i]
        if p >= start and p < stop:
            for k in range(t_indptr[i], t_indptr[i + 1]):
                out[t_indices[k], p - start] += w[i]
    return out


@numba.njit(cache=True)
def _selected_neighbours(nb_indptr, nb_indices, pos_of):  # pragma: no cover - compiled
    """Per candidate: how many picks lie too close, and the position of (one of) them."""
    n = nb_indptr.shape[0] - 1
    count = np.zeros(n, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int64)
    for c in range(n):
        for k in range(nb_indptr[c], nb_indptr[c + 1]):
            p = pos_of[nb_indices[k]]
            if p >= 0:
                count[c] += 1
                pos[c] = p
    return count, pos


# ====================================================================== bounds
def _upper_bound(
    ctx: _SwapContext,
    sel: IntArray,
    value: float,
    k: int,
    *,
    quotas: bool,
    method: str,
    time_limit_s: float,
    exact_max_size: int,
    lp_max_size: int,
    known: tuple[float | None, str] | None = None,
) -> tuple[float, str]:
    """Best valid upper bound on the added population (reduced problem) and its method."""
    if method == "none":
        return math.nan, "none"
    if ctx.w.size == 0 or k == 0:
        return 0.0, "trivial"
    # submodular (Nemhauser-Wolsey / Minoux) bound: f(S) + sum of the k largest gains w.r.t. S.
    # Quotas and spacing only shrink the feasible set, so it stays valid.
    gains = ctx.marginal_gains(sel)
    top = np.sort(gains)[::-1][:k]
    bounds: list[tuple[float, str]] = [(value + float(top.sum()), "submodular")]
    if known is not None and known[0] is not None:
        bounds.append((float(known[0]), known[1]))
    nnz = int(ctx.A.nnz)
    if method == "auto":
        method = "milp" if nnz <= exact_max_size else "lp" if nnz <= lp_max_size else "lagrangian"
    if method == "lp" or (method == "milp" and known is None):
        ub, label, _ = _solve_highs(ctx, k, integer=method == "milp", time_limit_s=time_limit_s)
        if ub is not None:
            bounds.append((ub, label))
    if method == "lagrangian" or (method in ("lp", "milp") and len(bounds) == 1):
        # asked for, or HiGHS stopped without any bound: fall back to the Lagrangian bound
        lag = _lagrangian_bound(ctx, k, value, quotas=quotas, time_limit_s=time_limit_s)
        bounds.append((lag, "lagrangian"))
    ub, name = min(bounds, key=lambda b: b[0])
    for value_opt, label in bounds:
        # a proven optimum is the most informative label when it ties the smallest bound
        if label == "milp-optimal" and value_opt <= ub + ctx.tol:
            ub, name = value_opt, label
    return ub, name


def _solve_highs(
    ctx: _SwapContext, k: int, *, integer: bool, time_limit_s: float
) -> tuple[float | None, str, IntArray | None]:
    """LP relaxation or MILP of the reduced model with HiGHS (through scipy).

    Returns the upper bound on the added population (``None`` when HiGHS gave none), its label,
    and the best integer plan found (MILP only, else ``None``).
    """
    A, w = ctx.Af, ctx.w
    n_c, n_u = A.shape
    rows = [sparse.hstack([-A.T, sparse.eye_array(n_u)], format="csr")]
    lo = [np.full(n_u, -np.inf)]
    hi = [np.zeros(n_u)]
    ones = sparse.csr_array(np.ones((1, n_c)))
    rows.append(sparse.hstack([ones, sparse.csr_array((1, n_u))], format="csr"))
    lo.append(np.array([-np.inf]))
    hi.append(np.array([float(k)]))
    if ctx.gmin.size:
        has = ctx.gid >= 0
        G = sparse.csr_array(
            (np.ones(int(has.sum())), (ctx.gid[has], np.flatnonzero(has))),
            shape=(ctx.gmin.size, n_c),
        )
        rows.append(sparse.hstack([G, sparse.csr_array((ctx.gmin.size, n_u))], format="csr"))
        lo.append(ctx.gmin.astype(np.float64))
        hi.append(np.where(ctx.gmax >= _NO_LIMIT, np.inf, ctx.gmax).astype(np.float64))
    if ctx.nb_indices.size:
        a = np.repeat(np.arange(n_c), np.diff(ctx.nb_indptr))
        b = ctx.nb_indices
        keep = a < b
        npair = int(keep.sum())
        P = sparse.csr_array(
            (np.ones(2 * npair), (np.tile(np.arange(npair), 2), np.r_[a[keep], b[keep]])),
            shape=(npair, n_c),
        )
        rows.append(sparse.hstack([P, sparse.csr_array((npair, n_u))], format="csr"))
        lo.append(np.full(npair, -np.inf))
        hi.append(np.ones(npair))
    M = sparse.vstack(rows, format="csr")
    c = np.r_[np.zeros(n_c), -w]
    integrality = np.r_[np.full(n_c, int(integer)), np.zeros(n_u)]
    options: dict[str, Any] = {"time_limit": float(time_limit_s), "disp": False}
    if integer:
        options["mip_rel_gap"] = 1e-9
    t0 = time.perf_counter()
    res = optimize.milp(
        c,
        integrality=integrality,
        bounds=optimize.Bounds(0.0, 1.0),
        constraints=optimize.LinearConstraint(M, np.concatenate(lo), np.concatenate(hi)),
        options=options,
    )
    logger.info(
        "HiGHS %s: %s (%.2fs)", "MILP" if integer else "LP", res.message, time.perf_counter() - t0
    )
    if res.status == 2:
        raise InfeasibleError("the quotas and spacing rule admit no plan (HiGHS: infeasible)")
    if not integer:
        return (-float(res.fun) if res.status == 0 else None), "lp", None
    picks = None if res.x is None else np.flatnonzero(res.x[:n_c] > 0.5).astype(np.int64)
    dual = getattr(res, "mip_dual_bound", None)
    ub = -float(dual) if dual is not None and np.isfinite(dual) else None
    return ub, "milp-optimal" if res.status == 0 else "milp", picks


def _topk_quota(c: FloatArray, k: int, ctx: _SwapContext, quotas: bool) -> IntArray:
    """Indices maximising ``sum(c[x])`` with ``|x| <= k`` and the group quotas (greedy is exact)."""
    if not quotas:
        k = min(k, c.size)
        part = np.argpartition(-c, k - 1)[:k] if k < c.size else np.arange(c.size)
        return part[c[part] > 0]
    gid, gmin, gmax = ctx.gid, ctx.gmin, ctx.gmax
    order = np.lexsort((np.arange(c.size), -c, gid))  # by group, then value desc
    g_sorted = gid[order]
    first = np.searchsorted(g_sorted, g_sorted, side="left")
    rank = np.arange(c.size) - first
    gs = np.maximum(g_sorted, 0)
    forced = (g_sorted >= 0) & (rank < gmin[gs])
    room = (g_sorted < 0) | (rank < np.minimum(gmax[gs], _NO_LIMIT))
    chosen = order[forced]
    rest = order[room & ~forced]
    rest = rest[c[rest] > 0]
    free = k - chosen.size
    if free > 0 and rest.size:
        if rest.size > free:
            rest = rest[np.argpartition(-c[rest], free - 1)[:free]]
        chosen = np.concatenate([chosen, rest])
    return chosen


def _lagrangian_bound(
    ctx: _SwapContext, k: int, lb: float, *, quotas: bool, time_limit_s: float
) -> float:
    """Lagrangian relaxation of the cover constraints, by projected subgradient.

    For multipliers ``0 <= lam <= w`` the bound is ``sum(w - lam) + max_x (A lam) . x`` over
    the quota polytope (spacing relaxed): every iterate gives a valid upper bound and the best
    converges to the LP bound from above. Polyak steps towards the solution value ``lb``; the
    step factor halves after 10 rounds without progress. Only the multipliers of units that
    the current ``x`` covers (or that are below their weight) move, so ``A lam`` is updated
    incrementally and recomputed exactly every 25 rounds and at the end.
    """
    A, w = ctx.Af, ctx.w
    lam = w.copy()
    cvec = A @ lam
    best, best_lam = math.inf, lam.copy()
    theta, stall = 2.0, 0
    deadline = time.perf_counter() + time_limit_s
    for it in range(1, 1001):
        x = _topk_quota(cvec, k, ctx, quotas)
        val = float((w - lam).sum() + cvec[x].sum())
        if not math.isfinite(best) or val < best - 1e-9 * best:
            best, best_lam, stall = val, lam.copy(), 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2.0, 0
        if best - lb <= 1e-7 * max(best, 1.0) or theta < 1e-3 or time.perf_counter() > deadline:
            break
        moved = _lagrange_step(
            ctx.indptr, ctx.indices, ctx.t_indptr, ctx.t_indices, w, lam, cvec, x, theta, val - lb
        )
        if not moved:
            break
        if it % 25 == 0:
            cvec = A @ lam
    # exact value at the best multipliers (no incremental round-off)
    cvec = A @ best_lam
    x = _topk_quota(cvec, k, ctx, quotas)
    return float((w - best_lam).sum() + cvec[x].sum())


@numba.njit(cache=True)
def _lagrange_step(
    indptr, indices, t_indptr, t_indices, w, lam, cvec, x, theta, excess
):  # pragma: no cover - compiled
    """One projected subgradient step on ``lam`` (in place), updating ``cvec = A lam``."""
    n_u = w.shape[0]
    sub = np.full(n_u, -1.0)
    for j in x:
        for k in range(indptr[j], indptr[j + 1]):
            sub[indices[k]] += 1.0
    norm = 0.0
    for i in range(n_u):
        g = sub[i]
        if (g > 0 and lam[i] <= 0) or (g < 0 and lam[i] >= w[i]):
            sub[i] = 0.0
        else:
            norm += g * g
    if norm == 0.0:
        return False
    step = theta * excess / norm
    for i in range(n_u):
        if sub[i] != 0.0:
            new = min(max(lam[i] - step * sub[i], 0.0), w[i])
            delta = new - lam[i]
            if delta != 0.0:
                lam[i] = new
                for k in range(t_indptr[i], t_indptr[i + 1]):
                    cvec[t_indices[k]] += delta
    return True


# ====================================================================== phases
def phase_plan(
    solution: SitingSolution,
    *,
    existing_stations: int,
    phases: tuple[int, ...],
    years: tuple[int, ...],
) -> pd.DataFrame:
    """Split the ordered picks into the programme's yearly phases.

    Parameters
    ----------
    solution
        A solved plan (picks in order of value).
    existing_stations
        Stations open today.
    phases
        *Total* station counts to reach by the end of each phase, increasing.
    years
        Label of each phase.

    Returns
    -------
    pandas.DataFrame
        :meth:`SitingSolution.cumulative` plus ``station_total`` (existing + rank) and
        ``phase`` (the year; ``<NA>`` for picks beyond the last phase). ``attrs["phases"]``
        lists per phase the stations planned, needed and whether the phase is short.

    Examples
    --------
    With ``phases=(30, 40, 50)``, ``years=(2031, 2032, 2033)`` and 25 stations today, the
    first 5 picks bring the total to 30 (2031), the next 10 to 40 (2032), then up to 10 more
    go to 2033.
    """
    if len(phases) != len(years) or not phases:
        raise InputError("phases and years must be non-empty and of equal length")
    if any(b <= a for a, b in itertools.pairwise(phases)):
        raise InputError(f"phases must be increasing totals, got {phases!r}")
    if isinstance(existing_stations, bool) or existing_stations < 0:
        raise InputError(f"existing_stations must be >= 0, got {existing_stations!r}")
    df = solution.cumulative()
    total = existing_stations + df["rank"].to_numpy()
    df["station_total"] = total
    ends = np.asarray(phases, dtype=np.int64)
    idx = np.searchsorted(ends, total, side="left")  # first phase whose total covers the pick
    label = np.asarray(years, dtype=object)[np.minimum(idx, len(years) - 1)]
    phase = pd.array(label.tolist(), dtype="Int64")
    phase[idx >= len(years)] = pd.NA
    df["phase"] = phase
    summary = []
    prev = existing_stations
    for end, year in zip(phases, years, strict=True):
        needed = max(0, end - max(prev, existing_stations))
        planned = int((df["phase"] == year).sum())
        short = planned < needed
        if short:
            logger.info("phase %s is short: %d of %d new stations planned", year, planned, needed)
        summary.append(
            {
                "phase": year,
                "target_total": end,
                "needed": needed,
                "planned": planned,
                "short": short,
            }
        )
        prev = max(prev, end)
    beyond = int(df["phase"].isna().sum())
    if beyond:
        logger.warning("%d pick(s) go beyond the last phase (%d stations)", beyond, phases[-1])
    df.attrs["phases"] = summary
    return df
