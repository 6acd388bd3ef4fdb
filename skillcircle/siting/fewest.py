"""Fewest sites for a coverage target, with a proven lower bound on their number.

The plan found for a target has ``K`` sites. Upper bounds on what any plan of ``K - 1``,
``K - 2``, … sites can add (MILP, LP, Lagrangian or submodular, as for the plan's certificate)
prove how many sites are needed at least: the first ``k`` whose bound falls short of the
target proves that ``k + 1`` are needed. When the exact MILP finds a plan of ``k`` sites
that reaches the target, it replaces the plan and the search goes on below it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from skillcircle._errors import InfeasibleError
from skillcircle.siting.bounds import _upper_bound
from skillcircle.siting.greedy import _greedy_order
from skillcircle.siting.localsearch import _SwapContext

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FewestSites:
    """The smallest plan found for a target and the proven least number of sites.

    Attributes
    ----------
    selected, gains
        The plan (reduced-problem candidate indices, greedy order) and each pick's gain.
    lower_bound
        No plan with fewer sites reaches the goal (same quotas and spacing rule).
    bound_method
        The bound that proved it for ``lower_bound - 1`` sites (``"trivial"`` for none).
    """

    selected: IntArray
    gains: FloatArray
    lower_bound: int
    bound_method: str


def fewest_sites(
    ctx: _SwapContext,
    sel: IntArray,
    goal: float,
    *,
    quotas: bool,
    min_sites: int,
    bound: str,
    time_limit_s: float,
    exact_max_size: int,
    lp_max_size: int,
) -> FewestSites:
    """Prove how many sites reaching ``goal`` (added population) needs at least.

    Parameters
    ----------
    ctx
        The reduced model.
    sel
        A plan reaching ``goal``.
    goal
        Population the new sites must add (reduced problem).
    quotas
        Whether group quotas apply.
    min_sites
        Sites the minimum quotas need in any case (sum of the group minimums).
    bound, exact_max_size, lp_max_size
        As in :meth:`~skillcircle.siting.problem.CoverageProblem.solve`.
    time_limit_s
        Time for all bounds together; past it only the fast Lagrangian and submodular bounds
        are used (each still valid, just looser).

    Returns
    -------
    FewestSites
    """
    indptr = ctx.A.indptr.astype(np.int64)
    indices = ctx.A.indices.astype(np.int64)
    sel, gains = _greedy_order(indptr, indices, ctx.w, sel)
    deadline = time.perf_counter() + time_limit_s
    k = int(sel.size) - 1
    while True:
        if k < 0 or k < min_sites or goal <= 0:
            need = max(k + 1, 0) if goal > 0 else 0
            return FewestSites(sel, gains, need, "trivial")
        left = deadline - time.perf_counter()
        method = bound if left > 0 else "lagrangian"
        prefix = sel[:k]
        try:
            ub, label, picks = _upper_bound(
                ctx,
                prefix,
                float(gains[:k].sum()),
                k,
                quotas=quotas,
                method=method,
                time_limit_s=max(left, 1.0),
                exact_max_size=exact_max_size,
                lp_max_size=lp_max_size,
            )
        except InfeasibleError:  # no plan of k sites meets the quotas and spacing at all
            return FewestSites(sel, gains, k + 1, "milp-optimal")
        if picks is not None and ctx.value(picks) >= goal:
            order, order_gains = _greedy_order(indptr, indices, ctx.w, picks)
            useful = order_gains > 0 if not quotas else np.ones(order.size, dtype=bool)
            sel, gains = order[useful], order_gains[useful]
            logger.info("the exact model reaches the target with %d sites", sel.size)
            k = int(sel.size) - 1
            continue
        if ub < goal - ctx.tol:
            return FewestSites(sel, gains, k + 1, label)
        if label == "none":
            return FewestSites(sel, gains, 0, "none")
        k -= 1
