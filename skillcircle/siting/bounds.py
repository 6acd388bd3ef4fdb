"""Upper bounds that certify a siting plan: MILP, LP relaxation, Lagrangian, submodular.

HiGHS (through scipy) solves the exact MILP or its LP relaxation; the Lagrangian relaxation of
the cover constraints (projected subgradient, NumPy / numba) serves huge models.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from scipy import optimize, sparse

from skillcircle._errors import InfeasibleError
from skillcircle.siting.localsearch import _SwapContext
from skillcircle.siting.quotas import _NO_LIMIT

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
) -> tuple[float, str, IntArray | None]:
    """Best valid upper bound on the added population (reduced problem) and its method.

    The third value is the MILP's best integer plan when HiGHS solved the MILP (proven
    optimal or its incumbent at the time limit), else ``None``: the caller adopts it when it
    beats the greedy + swap plan.
    """
    if method == "none":
        return math.nan, "none", None
    if ctx.w.size == 0 or k == 0:
        return 0.0, "trivial", None
    # submodular (Nemhauser-Wolsey / Minoux) bound: f(S) + sum of the k largest gains w.r.t. S.
    # Quotas and spacing only shrink the feasible set, so it stays valid.
    gains = ctx.marginal_gains(sel)
    top = np.sort(gains)[::-1][:k]
    bounds: list[tuple[float, str]] = [(value + float(top.sum()), "submodular")]
    if known is not None and known[0] is not None:
        bounds.append((float(known[0]), known[1]))
    picks: IntArray | None = None
    nnz = int(ctx.A.nnz)
    if method == "auto":
        method = "milp" if nnz <= exact_max_size else "lp" if nnz <= lp_max_size else "lagrangian"
    if method == "lp" or (method == "milp" and known is None):
        ub, label, picks = _solve_highs(ctx, k, integer=method == "milp", time_limit_s=time_limit_s)
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
    return ub, name, picks


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
