"""Exact bounded walking distances on a :class:`~skillcircle.network.model.Network` (numba kernels).

Every question the coverage, isochrone and siting steps ask reduces to "which places lie
within ``limit`` metres of walking from here?". This module answers it exactly, with
Dijkstra searches that stop at ``limit`` and reuse their buffers, so the cost of one search is
proportional to the size of its ball, never to the size of the city.

Distances between points
------------------------
Points are :class:`~skillcircle.access.snapping.Snapped` positions on edges. The walking distance
from an origin ``a`` (edge ``e_a``, offset ``o_a``, snap distance ``s_a``) to a target ``b``
(edge ``e_b``, offset ``o_b``, snap distance ``s_b``) is::

    s_a + network(a, b) + s_b              (the snaps only when include_snap=True)

where ``network(a, b)`` is the shortest path between the two snapped points: the smaller of

* ``min(d(u_b) + o_b, d(v_b) + len_b - o_b)``, ``d`` being the network distance from ``a``
  (which starts at ``edge_u`` with ``o_a`` and at ``edge_v`` with ``len_a - o_a``), and
* ``|o_a - o_b|`` when both points lie on the same edge row (parallel edges between the same
  two nodes are different rows).

All limits are inclusive (``<= limit``). Points with ``on_network=False`` reach nothing and
are reached by nothing.

Functions
---------
:func:`node_distances`
    One multi-source pass: distance from every node to its nearest origin.
:func:`nearest`
    Per target, the walking distance to the nearest origin and which origin it is.
:func:`reach_pairs`
    Every (origin, target) pair within the limit (a sparse coverage matrix).
:func:`balls`
    Per origin, the nodes within the limit (what isochrones are drawn from).

Examples
--------
A 100 m street ``0-1`` and a 50 m street ``1-2``; one origin 30 m along the first street:

>>> from skillcircle.network.model import Network
>>> from skillcircle.access.snapping import snap_points
>>> net = Network.from_edges([0, 100, 100], [0, 0, 50], [0, 1], [1, 2], crs="EPSG:32649")
>>> origin = snap_points(net, [30], [0], max_snap_m=10)
>>> node_distances(net, origin, limit=100).distance_m.tolist()
[30.0, 70.0, inf]
>>> targets = snap_points(net, [0, 100, 50], [0, 20, 0], max_snap_m=10)
>>> nearest(net, origin, targets, limit=100).distance_m.tolist()
[30.0, 90.0, 20.0]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import numpy.typing as npt
from numba import njit
from scipy import sparse

from skillcircle._errors import InputError
from skillcircle._parallel import block_bounds, n_threads, run_blocks
from skillcircle._validate import positive
from skillcircle.access.snapping import Snapped, check_network
from skillcircle.network.model import Network

__all__ = [
    "Balls",
    "Nearest",
    "NodeDistances",
    "ReachPairs",
    "balls",
    "nearest",
    "node_distances",
    "reach_pairs",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Origins handed to one parallel kernel call per thread (bounds output buffers).
_ORIGINS_PER_BLOCK = 512
#: Initial output capacity (entries) per thread block; doubled when an origin overflows it.
_INITIAL_CAP = 1 << 18


# ---------------------------------------------------------------------------- result objects
@dataclass(frozen=True)
class NodeDistances:
    """Distance from every node to its nearest origin (one multi-source search).

    Attributes
    ----------
    distance_m
        Per node, the walking distance to the nearest origin, ``np.inf`` beyond ``limit``.
    origin
        Per node, the index (into the origins) of that nearest origin, ``-1`` when unreached.
    limit
        The search limit in metres (inclusive).
    include_snap
        Whether the origins' snap distances are part of ``distance_m``.
    """

    distance_m: FloatArray
    origin: IntArray
    limit: float
    include_snap: bool

    @property
    def reached(self) -> BoolArray:
        """Nodes within ``limit`` of some origin."""
        return self.origin >= 0


@dataclass(frozen=True)
class Nearest:
    """Per target, the nearest origin by walking distance.

    Attributes
    ----------
    distance_m
        Walking distance to the nearest origin, ``np.inf`` when none is within the limit or
        the target (or every origin) is off the network.
    origin
        Index of that origin, ``-1`` when unreached. Among origins at exactly equal
        distance, which one is reported is unspecified.
    """

    distance_m: FloatArray
    origin: IntArray

    @property
    def reached(self) -> BoolArray:
        """Targets within the limit of some origin."""
        return self.origin >= 0

    def __len__(self) -> int:
        return int(self.origin.shape[0])


@dataclass(frozen=True)
class ReachPairs:
    """Every (origin, target) pair within the walking limit, as COO arrays.

    Pairs are sorted by origin, then by target.

    Attributes
    ----------
    origin
        Origin index of each pair.
    target
        Target index of each pair.
    distance_m
        Walking distance of each pair (``<= limit``).
    n_origins, n_targets
        Number of origins and targets asked about (the shape of the matrix).
    """

    origin: IntArray
    target: IntArray
    distance_m: FloatArray
    n_origins: int
    n_targets: int

    def __len__(self) -> int:
        return int(self.origin.shape[0])

    def by_origin(self) -> tuple[IntArray, IntArray, FloatArray]:
        """Return ``(indptr, target, distance_m)`` grouped by origin (CSR layout).

        The targets reached from origin ``i`` are ``target[indptr[i]:indptr[i + 1]]``.
        """
        origin, target, dist = self.origin, self.target, self.distance_m
        if origin.size > 1 and np.any(
            (origin[1:] < origin[:-1]) | ((origin[1:] == origin[:-1]) & (target[1:] < target[:-1]))
        ):
            order = np.lexsort((target, origin))
            origin, target, dist = origin[order], target[order], dist[order]
        indptr = np.zeros(self.n_origins + 1, dtype=np.int64)
        np.cumsum(np.bincount(origin, minlength=self.n_origins), out=indptr[1:])
        return indptr, target, dist

    def to_csr(self, values: Literal["distance", "bool"] = "distance") -> sparse.csr_array:
        """Return the ``n_origins x n_targets`` matrix of the pairs.

        Parameters
        ----------
        values
            ``"distance"``: stored entries are distances in metres (a pair at distance 0 is
            kept as an explicit zero, so test membership with the sparsity pattern, not the
            value); ``"bool"``: stored entries are ``True``.

        Returns
        -------
        scipy.sparse.csr_array
        """
        indptr, target, dist = self.by_origin()
        if values == "distance":
            data: npt.NDArray[np.generic] = dist
        elif values == "bool":
            data = np.ones(target.size, dtype=bool)
        else:
            raise InputError(f"values must be 'distance' or 'bool', got {values!r}")
        return sparse.csr_array(
            (data, target.astype(np.int64), indptr), shape=(self.n_origins, self.n_targets)
        )


@dataclass(frozen=True)
class Balls:
    """Per origin, the nodes within the walking limit and their distances (CSR layout).

    Attributes
    ----------
    indptr
        Shape ``(n_origins + 1,)``: origin ``i``'s nodes are ``node[indptr[i]:indptr[i + 1]]``.
    node
        Reached node indices, by non-decreasing distance within each origin (the order the
        search settled them).
    distance_m
        Walking distance from the origin to each reached node.
    n_nodes
        Number of nodes in the network (the width of :meth:`to_csr`).
    """

    indptr: IntArray
    node: IntArray
    distance_m: FloatArray
    n_nodes: int

    def __len__(self) -> int:
        return int(self.indptr.shape[0] - 1)

    def of(self, i: int) -> tuple[IntArray, FloatArray]:
        """Return ``(node, distance_m)`` of origin ``i``."""
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.node[lo:hi], self.distance_m[lo:hi]

    def sizes(self) -> IntArray:
        """Number of reached nodes per origin."""
        return np.diff(self.indptr)

    def to_csr(self) -> sparse.csr_array:
        """Return the ``n_origins x n_nodes`` matrix of distances (explicit zeros kept)."""
        matrix = sparse.csr_array(
            (self.distance_m, self.node, self.indptr), shape=(len(self), self.n_nodes)
        )
        matrix.sort_indices()
        return matrix


# ---------------------------------------------------------------------------- heap + Dijkstra
@njit(cache=True, inline="always")
def _heap_push(hkey, hnode, pos, size, node, key):  # type: ignore[no-untyped-def]
    """Insert ``node`` with ``key`` or lower its key; return the new heap size.

    ``pos[node]`` is the node's slot in the heap, ``-1`` when it is not in the heap.
    """
    i = pos[node]
    if i < 0:
        i = size
        size += 1
    while i > 0:
        parent = (i - 1) >> 1
        if hkey[parent] <= key:
            break
        hkey[i] = hkey[parent]
        hnode[i] = hnode[parent]
        pos[hnode[i]] = i
        i = parent
    hkey[i] = key
    hnode[i] = node
    pos[node] = i
    return size


@njit(cache=True, inline="always")
def _heap_pop(hkey, hnode, pos, size):  # type: ignore[no-untyped-def]
    """Remove the minimum; return ``(node, key, new size)``."""
    node = hnode[0]
    key = hkey[0]
    pos[node] = -1
    size -= 1
    if size > 0:
        last_key = hkey[size]
        last_node = hnode[size]
        i = 0
        while True:
            child = 2 * i + 1
            if child >= size:
                break
            if child + 1 < size and hkey[child + 1] < hkey[child]:
                child += 1
            if hkey[child] >= last_key:
                break
            hkey[i] = hkey[child]
            hnode[i] = hnode[child]
            pos[hnode[i]] = i
            i = child
        hkey[i] = last_key
        hnode[i] = last_node
        pos[last_node] = i
    return node, key, size


@njit(cache=True)
def _dijkstra(  # type: ignore[no-untyped-def]
    indptr, indices, weight, seed_node, seed_dist, seed_label, limit,
    dist, label, pos, hkey, hnode, touched,
):  # fmt: skip
    """Bounded multi-source Dijkstra into caller-owned buffers.

    On entry ``dist`` must be ``inf``, ``label`` ``-1`` and ``pos`` ``-1`` everywhere (the
    state :func:`_reset` restores). Fills ``dist``/``label`` for every node within ``limit``
    and lists those nodes in ``touched`` in the order they are settled, i.e. by
    non-decreasing distance (every node given a distance is pushed and later popped exactly
    once); returns how many there are.
    """
    n_touched = 0
    size = 0
    labelled = label.shape[0] > 0  # single-source callers pass an empty label array
    for k in range(seed_node.shape[0]):
        v = seed_node[k]
        d = seed_dist[k]
        if d <= limit and d < dist[v]:
            dist[v] = d
            if labelled:
                label[v] = seed_label[k]
            size = _heap_push(hkey, hnode, pos, size, v, d)
    while size > 0:
        u, d, size = _heap_pop(hkey, hnode, pos, size)
        touched[n_touched] = u
        n_touched += 1
        lab = label[u] if labelled else -1
        for k in range(indptr[u], indptr[u + 1]):
            v = indices[k]
            nd = d + weight[k]
            if nd <= limit and nd < dist[v]:
                dist[v] = nd
                if labelled:
                    label[v] = lab
                size = _heap_push(hkey, hnode, pos, size, v, nd)
    return n_touched


@njit(cache=True, inline="always")
def _reset(dist, label, touched, n_touched):  # type: ignore[no-untyped-def]
    """Restore ``dist``/``label`` to their empty state on the touched nodes only."""
    labelled = label.shape[0] > 0
    for k in range(n_touched):
        v = touched[k]
        dist[v] = np.inf
        if labelled:
            label[v] = -1


@njit(cache=True, inline="always")
def _offer(best, tlist, n_t, t, cost):  # type: ignore[no-untyped-def]
    """Keep ``cost`` for target ``t`` if it beats the best so far; return the list length."""
    if cost < best[t]:
        if best[t] == np.inf:
            tlist[n_t] = t
            n_t += 1
        best[t] = cost
    return n_t


@njit(cache=True)
def _heapsort(a, n):  # type: ignore[no-untyped-def]
    """Sort ``a[:n]`` (integers) in place.

    A few lines that compile quickly, where ``ndarray.sort`` pulls in numba's generic
    quicksort (seconds of compilation on a first run). One sift-down loop serves both the
    heap construction and the extractions (it is compiled once, not inlined twice). Callers
    pass ``n`` as an int64 variable, never a literal, so that one specialisation is compiled.
    """
    start = n // 2
    end = n
    while end > 1:
        if start > 0:  # building the heap: sift the next root down
            start -= 1
        else:  # extracting: move the largest behind the heap, sift the new root down
            end -= 1
            a[0], a[end] = a[end], a[0]
        root = start
        while True:
            child = 2 * root + 1
            if child >= end:
                break
            if child + 1 < end and a[child] < a[child + 1]:
                child += 1
            if a[root] >= a[child]:
                break
            a[root], a[child] = a[child], a[root]
            root = child


# ---------------------------------------------------------------------------- kernels
@njit(cache=True)
def _multi_source(indptr, indices, weight, seed_node, seed_dist, seed_label, limit, n):  # type: ignore[no-untyped-def]
    """One multi-source search over the whole network; returns ``(dist, label)``."""
    dist = np.empty(n, dtype=np.float64)
    label = np.empty(n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    for v in range(n):  # (filled by hand: np.full compiles far slower)
        dist[v] = np.inf
        label[v] = -1
        pos[v] = -1
    hkey = np.empty(n, dtype=np.float64)
    hnode = np.empty(n, dtype=np.int64)
    touched = np.empty(n, dtype=np.int64)
    _dijkstra(
        indptr, indices, weight, seed_node, seed_dist, seed_label, limit,
        dist, label, pos, hkey, hnode, touched,
    )  # fmt: skip
    return dist, label


def _nearest_kernel(  # type: ignore[no-untyped-def]
    dist, label, edge_u, edge_v, edge_len,
    t_edge, t_off, t_cost, t_on,
    o_indptr, o_ids, o_off, o_cost, limit,
):  # fmt: skip
    """Per target: best of the two edge ends and of the origins on the same edge."""
    n = t_edge.shape[0]
    out_d = np.full(n, np.inf)
    out_o = np.full(n, -1, dtype=np.int64)
    bounds = block_bounds(n, min(n_threads(), max(1, n // 10_000)))
    run_blocks(
        len(bounds),
        lambda b: _nearest_block(
            bounds[b][0], bounds[b][1], dist, label, edge_u, edge_v, edge_len,
            t_edge, t_off, t_cost, t_on, o_indptr, o_ids, o_off, o_cost, limit, out_d, out_o,
        ),
    )  # fmt: skip
    return out_d, out_o


@njit(cache=True, nogil=True)
def _nearest_block(  # type: ignore[no-untyped-def]
    lo, hi, dist, label, edge_u, edge_v, edge_len,
    t_edge, t_off, t_cost, t_on,
    o_indptr, o_ids, o_off, o_cost, limit, out_d, out_o,
):  # fmt: skip
    """:func:`_nearest_kernel` for targets ``lo`` to ``hi`` (one thread's block)."""
    for i in range(lo, hi):
        if not t_on[i]:
            continue
        e = t_edge[i]
        off = t_off[i]
        best = (dist[edge_u[e]] + off) + t_cost[i]
        who = label[edge_u[e]]
        c = (dist[edge_v[e]] + (edge_len[e] - off)) + t_cost[i]
        if c < best:
            best = c
            who = label[edge_v[e]]
        for k in range(o_indptr[e], o_indptr[e + 1]):
            c = (o_cost[k] + abs(o_off[k] - off)) + t_cost[i]
            if c < best:
                best = c
                who = o_ids[k]
        if best <= limit:
            out_d[i] = best
            out_o[i] = who


def _balls_kernel(  # type: ignore[no-untyped-def]
    indptr, indices, weight, jobs, seed_u, seed_v, cost_u, cost_v, limit,
    dist2, label2, pos2, hkey2, hnode2, touched2,
    out_node, out_dist, count, done, need, per_job,
):  # fmt: skip
    """Bounded single-source searches for ``jobs``, split in one block per thread.

    Block ``b`` writes its origins' nodes (by distance) one after another into ``out_node[b]``;
    it stops early when the next origin does not fit and records that origin's size in
    ``need[b]``. ``done[b]`` counts the origins it finished, ``per_job`` their sizes.
    """
    run_blocks(
        out_node.shape[0],
        lambda b: _balls_block(
            b, indptr, indices, weight, jobs, seed_u, seed_v, cost_u, cost_v, limit,
            dist2[b], label2[b], pos2[b], hkey2[b], hnode2[b], touched2[b],
            out_node, out_dist, count, done, need, per_job,
        ),
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _balls_block(  # type: ignore[no-untyped-def]
    b, indptr, indices, weight, jobs, seed_u, seed_v, cost_u, cost_v, limit,
    dist, label, pos, hkey, hnode, touched,
    out_node, out_dist, count, done, need, per_job,
):  # fmt: skip
    """Block ``b`` of :func:`_balls_kernel` (its own buffers ``dist`` … ``touched``)."""
    n_blocks = out_node.shape[0]
    cap = out_node.shape[1]
    n_jobs = jobs.shape[0]
    seeds = np.empty(2, dtype=np.int64)
    seed_d = np.empty(2, dtype=np.float64)
    zero = np.empty(2, dtype=np.int64)  # (not np.zeros: one allocation routine to compile)
    zero[0] = 0
    zero[1] = 0
    lo = b * n_jobs // n_blocks
    hi = (b + 1) * n_jobs // n_blocks
    for j in range(lo, hi):
        o = jobs[j]
        seeds[0] = seed_u[o]
        seeds[1] = seed_v[o]
        seed_d[0] = cost_u[o]
        seed_d[1] = cost_v[o]
        k = _dijkstra(
            indptr, indices, weight, seeds, seed_d, zero, limit,
            dist, label, pos, hkey, hnode, touched,
        )  # fmt: skip
        if count[b] + k > cap:
            need[b] = k
            _reset(dist, label, touched, k)
            break
        start = count[b]
        for m in range(k):
            out_node[b, start + m] = touched[m]
            out_dist[b, start + m] = dist[touched[m]]
        count[b] = start + k
        per_job[j] = k
        done[b] += 1
        _reset(dist, label, touched, k)


def _reach_kernel(  # type: ignore[no-untyped-def]
    indptr, indices, weight, csr_edge, edge_u, edge_v, edge_len,
    jobs, o_edge, o_off, o_cost, limit,
    t_indptr, t_ids, t_off, t_cost,
    dist2, label2, pos2, hkey2, hnode2, touched2, best2, tlist2,
    out_target, out_dist, count, done, need, per_job,
):  # fmt: skip
    """Per origin: bounded search, then scan the edges at reached nodes for targets.

    Same block/overflow protocol as :func:`_balls_kernel`; each origin's targets are written
    sorted, each once with its smallest distance.
    """
    run_blocks(
        out_target.shape[0],
        lambda b: _reach_block(
            b, indptr, indices, weight, csr_edge, edge_u, edge_v, edge_len,
            jobs, o_edge, o_off, o_cost, limit, t_indptr, t_ids, t_off, t_cost,
            dist2[b], label2[b], pos2[b], hkey2[b], hnode2[b], touched2[b], best2[b], tlist2[b],
            out_target, out_dist, count, done, need, per_job,
        ),
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _reach_block(  # type: ignore[no-untyped-def]
    b, indptr, indices, weight, csr_edge, edge_u, edge_v, edge_len,
    jobs, o_edge, o_off, o_cost, limit,
    t_indptr, t_ids, t_off, t_cost,
    dist, label, pos, hkey, hnode, touched, best, tlist,
    out_target, out_dist, count, done, need, per_job,
):  # fmt: skip
    """Block ``b`` of :func:`_reach_kernel` (its own buffers ``dist`` … ``tlist``)."""
    n_blocks = out_target.shape[0]
    cap = out_target.shape[1]
    n_jobs = jobs.shape[0]
    seeds = np.empty(2, dtype=np.int64)
    seed_d = np.empty(2, dtype=np.float64)
    zero = np.empty(2, dtype=np.int64)  # (not np.zeros: one allocation routine to compile)
    zero[0] = 0
    zero[1] = 0
    lo = b * n_jobs // n_blocks
    hi = (b + 1) * n_jobs // n_blocks
    for j in range(lo, hi):
        o = jobs[j]
        e0 = o_edge[o]
        c0 = o_cost[o]
        seeds[0] = edge_u[e0]
        seeds[1] = edge_v[e0]
        seed_d[0] = c0 + o_off[o]
        seed_d[1] = c0 + (edge_len[e0] - o_off[o])
        k = _dijkstra(
            indptr, indices, weight, seeds, seed_d, zero, limit,
            dist, label, pos, hkey, hnode, touched,
        )  # fmt: skip
        n_t = np.int64(0)  # not a literal 0: _heapsort is compiled for int64 only
        for m in range(k):
            a = touched[m]
            d = dist[a]
            for kk in range(indptr[a], indptr[a + 1]):
                e = csr_edge[kk]
                for s in range(t_indptr[e], t_indptr[e + 1]):
                    if edge_u[e] == a:
                        c = (d + t_off[s]) + t_cost[s]
                        if c <= limit:
                            n_t = _offer(best, tlist, n_t, t_ids[s], c)
                    if edge_v[e] == a:
                        c = (d + (edge_len[e] - t_off[s])) + t_cost[s]
                        if c <= limit:
                            n_t = _offer(best, tlist, n_t, t_ids[s], c)
        for s in range(t_indptr[e0], t_indptr[e0 + 1]):
            c = (c0 + abs(o_off[o] - t_off[s])) + t_cost[s]
            if c <= limit:
                n_t = _offer(best, tlist, n_t, t_ids[s], c)
        _reset(dist, label, touched, k)
        if count[b] + n_t > cap:
            need[b] = n_t
            for m in range(n_t):
                best[tlist[m]] = np.inf
            break
        _heapsort(tlist, n_t)
        start = count[b]
        for m in range(n_t):
            t = tlist[m]
            out_target[b, start + m] = t
            out_dist[b, start + m] = best[t]
            best[t] = np.inf
        count[b] = start + n_t
        per_job[j] = n_t
        done[b] += 1


@njit(cache=True)
def _scatter(indptr, origins, counts, idx, dst, out_idx, out_dist):  # type: ignore[no-untyped-def]
    """Copy consecutive per-origin runs ``idx``/``dst`` to their CSR rows."""
    k = 0
    for i in range(origins.shape[0]):
        start = indptr[origins[i]]
        for m in range(counts[i]):
            out_idx[start + m] = idx[k]
            out_dist[start + m] = dst[k]
            k += 1


# ---------------------------------------------------------------------------- helpers
def _check_snapped(net: Network, pts: Snapped, what: str) -> None:
    check_network(net, pts, what)
    n = len(pts)
    for name in ("offset_m", "distance_m", "x", "y", "on_network"):
        if getattr(pts, name).shape != (n,):
            raise InputError(f"{what}: field {name} does not have one value per point")
    if n and (pts.edge.min() < 0 or pts.edge.max() >= net.n_edges):
        raise InputError(
            f"{what}: edge row out of range 0..{net.n_edges - 1} "
            "(were the points snapped to a different network?)"
        )


def _costs(pts: Snapped, include_snap: bool) -> FloatArray:
    """Snap distance per point when it counts, else zeros (always float64, contiguous)."""
    if include_snap:
        return np.ascontiguousarray(pts.distance_m, dtype=np.float64)
    return np.zeros(len(pts), dtype=np.float64)


def _group_by_edge(
    n_edges: int, pts: Snapped, cost: FloatArray
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """CSR index edge → on-network points on it: ``(indptr, ids, offset, cost)``."""
    ids = np.flatnonzero(pts.on_network).astype(np.int64)
    edges = pts.edge[ids]
    order = np.argsort(edges, kind="stable")
    ids = ids[order]
    indptr = np.zeros(n_edges + 1, dtype=np.int64)
    np.cumsum(np.bincount(edges, minlength=n_edges), out=indptr[1:])
    return (
        indptr,
        ids,
        np.ascontiguousarray(pts.offset_m[ids], dtype=np.float64),
        np.ascontiguousarray(cost[ids], dtype=np.float64),
    )


def _spread_bits(v: IntArray) -> IntArray:
    """Interleave zeros between the low 16 bits of ``v`` (for a Morton code)."""
    v = v & 0xFFFF
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    return (v | (v << 1)) & 0x55555555


def _spatial_order(net: Network, nodes: IntArray) -> IntArray:
    """Positions of ``nodes`` sorted along a Z-order curve of their coordinates.

    Searching from nearby origins one after another reuses the same graph memory, which
    roughly halves the time per search on city-sized networks.
    """
    if nodes.size < 2:
        return np.arange(nodes.size, dtype=np.int64)
    x, y = net.x[nodes], net.y[nodes]
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9)
    qx = ((x - x.min()) / span * 65535).astype(np.int64)
    qy = ((y - y.min()) / span * 65535).astype(np.int64)
    return np.argsort(_spread_bits(qx) | (_spread_bits(qy) << 1), kind="stable")


def _thread_buffers(
    n_blocks: int, n: int
) -> tuple[FloatArray, IntArray, IntArray, FloatArray, IntArray, IntArray]:
    """Per-thread search state: dist, label, heap position, heap keys/nodes, touched list.

    The label rows are empty: single-source searches do not track which origin won.
    """
    return (
        np.full((n_blocks, n), np.inf),
        np.full((n_blocks, 0), -1, dtype=np.int64),
        np.full((n_blocks, n), -1, dtype=np.int64),
        np.empty((n_blocks, n), dtype=np.float64),
        np.empty((n_blocks, n), dtype=np.int64),
        np.empty((n_blocks, n), dtype=np.int64),
    )


def _run_blocks(
    n_items: int,
    jobs: IntArray,
    call: object,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Drive a block kernel over ``jobs`` and assemble a CSR over ``n_items`` origins.

    ``call(chunk, out_idx, out_dist, count, done, need, per_job)`` runs the kernel on one
    chunk. Origins that did not fit in the output buffers are queued again with bigger
    buffers. Returns ``(indptr, index, distance)``.
    """
    n_blocks = max(1, numba.get_num_threads())
    chunk_size = n_blocks * _ORIGINS_PER_BLOCK
    cap = _INITIAL_CAP
    sizes = np.zeros(n_items, dtype=np.int64)
    pieces: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    pending = jobs
    while pending.size:
        chunk, pending = pending[:chunk_size], pending[chunk_size:]
        nb = min(n_blocks, chunk.size)
        out_idx = np.empty((nb, cap), dtype=np.int64)
        out_dist = np.empty((nb, cap), dtype=np.float64)
        count = np.zeros(nb, dtype=np.int64)
        done = np.zeros(nb, dtype=np.int64)
        need = np.zeros(nb, dtype=np.int64)
        per_job = np.zeros(chunk.size, dtype=np.int64)
        call(chunk, out_idx, out_dist, count, done, need, per_job)  # type: ignore[operator]
        retry = []
        for b in range(nb):
            lo = b * chunk.size // nb
            hi = (b + 1) * chunk.size // nb
            finished = chunk[lo : lo + done[b]]
            sizes[finished] = per_job[lo : lo + done[b]]
            pieces.append((finished, per_job[lo : lo + done[b]], out_idx[b, : count[b]].copy(),
                           out_dist[b, : count[b]].copy()))  # fmt: skip
            if lo + done[b] < hi:
                retry.append(chunk[lo + done[b] : hi])
                cap = max(cap, 2 * int(need[b]), 2 * cap)
        if retry:
            logger.debug("routing: output buffers grown to %d entries per thread", cap)
            pending = np.concatenate([*retry, pending])
    indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    index = np.empty(int(indptr[-1]), dtype=np.int64)
    dist = np.empty(int(indptr[-1]), dtype=np.float64)
    for finished, counts, idx, dst in pieces:
        _scatter(indptr, finished, counts, idx, dst, index, dist)
    return indptr, index, dist


# ---------------------------------------------------------------------------- public API
def node_distances(
    net: Network, origins: Snapped, *, limit: float, include_snap: bool = True
) -> NodeDistances:
    """Distance from every node to its nearest origin, in one multi-source search.

    Parameters
    ----------
    net
        The walking network.
    origins
        Snapped origins (stations). Those with ``on_network=False`` are ignored.
    limit
        Search radius in metres (inclusive); ``np.inf`` for no limit.
    include_snap
        Add each origin's snap distance to the distances it produces.

    Returns
    -------
    NodeDistances
        An origin on edge ``e`` at offset ``o`` reaches ``edge_u[e]`` at ``cost0 + o`` and
        ``edge_v[e]`` at ``cost0 + (edge_length[e] - o)`` (``cost0`` its snap distance or 0),
        and everything else through the network.

    Raises
    ------
    InputError
        A negative or NaN limit, or origins snapped to another network.
    """
    limit = positive(limit, "limit", allow_zero=True, allow_inf=True)
    _check_snapped(net, origins, "origins")
    ids = np.flatnonzero(origins.on_network).astype(np.int64)
    e = origins.edge[ids]
    c0 = _costs(origins, include_snap)[ids]
    off = origins.offset_m[ids]
    seed_node = np.concatenate([net.edge_u[e], net.edge_v[e]])
    seed_dist = np.concatenate([c0 + off, c0 + (net.edge_length[e] - off)])
    seed_label = np.concatenate([ids, ids])
    dist, label = _multi_source(
        net.indptr, net.indices, net.csr_length,
        seed_node, seed_dist, seed_label, limit, net.n_nodes,
    )  # fmt: skip
    return NodeDistances(distance_m=dist, origin=label, limit=limit, include_snap=include_snap)


def nearest(
    net: Network,
    origins: Snapped,
    targets: Snapped,
    *,
    limit: float,
    include_snap: bool = True,
) -> Nearest:
    """Walking distance from each target to its nearest origin.

    Parameters
    ----------
    net
        The walking network.
    origins
        Snapped origins (stations).
    targets
        Snapped targets (residents, demand points).
    limit
        Largest distance reported, metres (inclusive).
    include_snap
        Count both snap distances (origin to street, street to target) in the distance.

    Returns
    -------
    Nearest
        ``np.inf`` / ``-1`` for targets beyond the limit or off the network.

    Raises
    ------
    InputError
        A negative or NaN limit, or points snapped to another network.

    Notes
    -----
    Costs one multi-source search plus O(1) work per target, however many origins there are.
    """
    _check_snapped(net, targets, "targets")
    nd = node_distances(net, origins, limit=limit, include_snap=include_snap)
    o_cost = _costs(origins, include_snap)
    o_indptr, o_ids, o_off, o_c = _group_by_edge(net.n_edges, origins, o_cost)
    dist, who = _nearest_kernel(
        nd.distance_m, nd.origin, net.edge_u, net.edge_v, net.edge_length,
        np.ascontiguousarray(targets.edge, dtype=np.int64),
        np.ascontiguousarray(targets.offset_m, dtype=np.float64),
        _costs(targets, include_snap),
        np.ascontiguousarray(targets.on_network, dtype=np.bool_),
        o_indptr, o_ids, o_off, o_c, nd.limit,
    )  # fmt: skip
    return Nearest(distance_m=dist, origin=who)


def reach_pairs(
    net: Network,
    origins: Snapped,
    targets: Snapped,
    *,
    limit: float,
    include_snap: bool = True,
) -> ReachPairs:
    """Every (origin, target) pair within walking distance ``limit``.

    Parameters
    ----------
    net
        The walking network.
    origins
        Snapped origins (stations or candidate sites).
    targets
        Snapped targets (residents, demand points).
    limit
        Largest distance kept, metres (inclusive).
    include_snap
        Count both snap distances in the distance.

    Returns
    -------
    ReachPairs
        Sorted by origin, then target; each pair once, with its shortest distance.

    Raises
    ------
    InputError
        A negative or NaN limit, or points snapped to another network.

    Notes
    -----
    One bounded search per origin, run in parallel over origins (one block of origins per
    numba thread, each with its own reusable buffers). After the search, the edges at every
    reached node are scanned for targets through an edge → targets index, so the cost per
    origin is proportional to its ball, not to the number of targets.
    """
    limit = positive(limit, "limit", allow_zero=True, allow_inf=True)
    _check_snapped(net, origins, "origins")
    _check_snapped(net, targets, "targets")
    o_cost = _costs(origins, include_snap)
    t_indptr, t_ids, t_off, t_cost = _group_by_edge(
        net.n_edges, targets, _costs(targets, include_snap)
    )
    jobs = np.flatnonzero(origins.on_network).astype(np.int64)
    jobs = jobs[_spatial_order(net, net.edge_u[origins.edge[jobs]])]
    n_blocks = max(1, min(numba.get_num_threads(), jobs.size))
    state = _thread_buffers(n_blocks, net.n_nodes) if jobs.size else None
    best = np.full((n_blocks, len(targets)), np.inf)
    tlist = np.empty((n_blocks, len(targets)), dtype=np.int64)
    o_edge = np.ascontiguousarray(origins.edge, dtype=np.int64)
    o_off = np.ascontiguousarray(origins.offset_m, dtype=np.float64)

    def call(chunk, out_idx, out_dist, count, done, need, per_job):  # type: ignore[no-untyped-def]
        nb = out_idx.shape[0]
        dist, label, pos, hkey, hnode, touched = state  # type: ignore[misc]
        _reach_kernel(
            net.indptr, net.indices, net.csr_length, net.csr_edge,
            net.edge_u, net.edge_v, net.edge_length,
            chunk, o_edge, o_off, o_cost, limit,
            t_indptr, t_ids, t_off, t_cost,
            dist[:nb], label[:nb], pos[:nb], hkey[:nb], hnode[:nb], touched[:nb],
            best[:nb], tlist[:nb],
            out_idx, out_dist, count, done, need, per_job,
        )  # fmt: skip

    indptr, target, dist = _run_blocks(len(origins), jobs, call)
    origin = np.repeat(np.arange(len(origins), dtype=np.int64), np.diff(indptr))
    return ReachPairs(
        origin=origin,
        target=target,
        distance_m=dist,
        n_origins=len(origins),
        n_targets=len(targets),
    )


def balls(net: Network, origins: Snapped, *, limit: float, include_snap: bool = False) -> Balls:
    """Per origin, every node within walking distance ``limit`` and its distance.

    Parameters
    ----------
    net
        The walking network.
    origins
        Snapped origins. Off-network origins get an empty ball.
    limit
        Search radius in metres (inclusive).
    include_snap
        Start each search at the origin's snap distance instead of 0. The default (False)
        measures from the snapped point, which is what isochrone polygons are grown from.

    Returns
    -------
    Balls
        CSR layout over origins; within each origin, nodes by non-decreasing distance.

    Raises
    ------
    InputError
        A negative or NaN limit, or origins snapped to another network.
    """
    limit = positive(limit, "limit", allow_zero=True, allow_inf=True)
    _check_snapped(net, origins, "origins")
    e = np.ascontiguousarray(origins.edge, dtype=np.int64)
    c0 = _costs(origins, include_snap)
    seed_u = net.edge_u[e]
    seed_v = net.edge_v[e]
    cost_u = c0 + origins.offset_m
    cost_v = c0 + (net.edge_length[e] - origins.offset_m)
    jobs = np.flatnonzero(origins.on_network).astype(np.int64)
    jobs = jobs[_spatial_order(net, seed_u[jobs])]
    n_blocks = max(1, min(numba.get_num_threads(), jobs.size))
    state = _thread_buffers(n_blocks, net.n_nodes) if jobs.size else None

    def call(chunk, out_idx, out_dist, count, done, need, per_job):  # type: ignore[no-untyped-def]
        nb = out_idx.shape[0]
        dist, label, pos, hkey, hnode, touched = state  # type: ignore[misc]
        _balls_kernel(
            net.indptr, net.indices, net.csr_length,
            chunk, seed_u, seed_v, cost_u, cost_v, limit,
            dist[:nb], label[:nb], pos[:nb], hkey[:nb], hnode[:nb], touched[:nb],
            out_idx, out_dist, count, done, need, per_job,
        )  # fmt: skip

    indptr, node, dist = _run_blocks(len(origins), jobs, call)
    return Balls(indptr=indptr, node=node, distance_m=dist, n_nodes=net.n_nodes)
