"""The lazy greedy of the maximal covering solver (CELF, Leskovec et al. 2007).

Numba kernels that pick, one at a time, the candidate adding the most uncovered weight (with
quotas, a spacing rule and a coverage target), and that order a fixed set of picks greedily.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
