"""The 1-swap local search of the maximal covering solver.

:class:`_SwapContext` holds the arrays of a reduced problem that the local search and the
bounds share, and runs the best-improvement 1-swap; the numba kernels count covers per unit and
price every (selected, unselected) swap at once.
"""

from __future__ import annotations

import logging
import time

import numba
import numpy as np
import numpy.typing as npt
from scipy import sparse

from skillcircle.siting.greedy import _row_gains

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
