"""Served demand under station capacities: an incremental maximum flow on the reach graph.

Residents (demand units, each wanting ``d_i`` trainings a year) may be served by any open
station within the walk; station ``j`` serves at most ``c_j``. The demand served by a set of
open stations is the maximum flow of the network source → unit (capacity ``d_i``) → station
(unbounded, for every pair within the walk) → sink (capacity ``c_j``): a transportation
problem whose optimum is what a planner can at best hope the stations absorb.

:class:`FlowState` keeps a maximum flow for the open stations and opens one more station at a
time with :meth:`FlowState.open`: first straight from its units' unserved demand, then along
augmenting paths that move residents between stations to free room for those who have none
(a breadth-first search backwards from the new station). Only paths into the new station are
needed: when the flow is maximal before it opens, every node the source reaches stays inside
the same reachable set and every station in it is full, so the result is again a maximum
flow. :meth:`FlowState.gain` does the same and undoes it, giving the exact marginal served
demand of a station. The served demand is monotone and submodular in the set of open stations
(it is the rank function of the polymatroid the reach graph induces), which the lazy greedy
and the bound of :mod:`skillcircle.siting.capacitated` rely on.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt
from scipy import sparse

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["FlowState"]


@numba.njit(cache=True)
def _grow(a, n):  # pragma: no cover - compiled
    out = np.empty(max(2 * a.shape[0], n), dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True)
def _open(
    j,
    cap,
    u_ptr,
    u_sta,
    x,
    s_ptr,
    s_unit,
    s_pos,
    is_open,
    resid,
    load,
    ustamp,
    sstamp,
    stamp,
    u_from_pos,
    s_from_unit,
    s_from_pos,
    queue,
    tol,
    log_pos,
    log_dx,
    log_unit,
    log_du,
    record,
):  # pragma: no cover - compiled
    """Open station ``j`` and push as much flow into it as the residual graph allows.

    Returns (gained, stamp, n_x_changes, n_unit_changes, log arrays); when ``record`` is
    true every change of ``x`` and ``resid`` is logged so that it can be undone.
    """
    n_log = 0
    n_ulog = 0
    gained = 0.0
    is_open[j] = True
    room = cap - load[j]
    # straight from the station's own units
    for p in range(s_ptr[j], s_ptr[j + 1]):
        if gained >= room - tol:
            break
        i = s_unit[p]
        r = resid[i]
        if r > tol:
            d = min(r, room - gained)
            q = s_pos[p]
            x[q] += d
            resid[i] -= d
            gained += d
            if record:
                if n_log >= log_pos.shape[0]:
                    log_pos = _grow(log_pos, n_log + 1)
                    log_dx = _grow(log_dx, n_log + 1)
                if n_ulog >= log_unit.shape[0]:
                    log_unit = _grow(log_unit, n_ulog + 1)
                    log_du = _grow(log_du, n_ulog + 1)
                log_pos[n_log] = q
                log_dx[n_log] = d
                n_log += 1
                log_unit[n_ulog] = i
                log_du[n_ulog] = d
                n_ulog += 1
    # then along augmenting paths that move residents between stations
    while gained < room - tol:
        stamp += 1
        sstamp[j] = stamp
        head = 0
        tail = 0
        queue[tail] = j
        tail += 1
        found = -1
        while head < tail and found < 0:
            k = queue[head]
            head += 1
            for p in range(s_ptr[k], s_ptr[k + 1]):
                i = s_unit[p]
                if ustamp[i] == stamp:
                    continue
                ustamp[i] = stamp
                u_from_pos[i] = s_pos[p]
                if resid[i] > tol:
                    found = i
                    break
                for q in range(u_ptr[i], u_ptr[i + 1]):
                    k2 = u_sta[q]
                    if sstamp[k2] != stamp and is_open[k2] and x[q] > tol:
                        sstamp[k2] = stamp
                        s_from_unit[k2] = i
                        s_from_pos[k2] = q
                        queue[tail] = k2
                        tail += 1
        if found < 0:
            break
        # bottleneck along the path unit(found) -> k ... -> j
        delta = min(room - gained, resid[found])
        i = found
        while True:
            q = u_from_pos[i]
            k = u_sta[q]
            if k == j:
                break
            q2 = s_from_pos[k]
            if x[q2] < delta:
                delta = x[q2]
            i = s_from_unit[k]
        if delta <= tol:
            break
        i = found
        resid[found] -= delta
        if record:
            if n_ulog >= log_unit.shape[0]:
                log_unit = _grow(log_unit, n_ulog + 1)
                log_du = _grow(log_du, n_ulog + 1)
            log_unit[n_ulog] = found
            log_du[n_ulog] = delta
            n_ulog += 1
        while True:
            q = u_from_pos[i]
            k = u_sta[q]
            x[q] += delta
            if record:
                if n_log + 2 > log_pos.shape[0]:
                    log_pos = _grow(log_pos, n_log + 2)
                    log_dx = _grow(log_dx, n_log + 2)
                log_pos[n_log] = q
                log_dx[n_log] = delta
                n_log += 1
            if k == j:
                break
            q2 = s_from_pos[k]
            x[q2] -= delta
            if record:
                log_pos[n_log] = q2
                log_dx[n_log] = -delta
                n_log += 1
            i = s_from_unit[k]
        gained += delta
    load[j] += gained
    return gained, stamp, n_log, n_ulog, log_pos, log_dx, log_unit, log_du


@numba.njit(cache=True)
def _undo(
    j, gained, x, resid, load, is_open, log_pos, log_dx, n_log, log_unit, log_du, n_ulog
):  # pragma: no cover - compiled
    """Undo a recorded :func:`_open` of a station that was closed."""
    for t in range(n_log - 1, -1, -1):
        x[log_pos[t]] -= log_dx[t]
    for t in range(n_ulog - 1, -1, -1):
        resid[log_unit[t]] += log_du[t]
    load[j] -= gained
    is_open[j] = False


class FlowState:
    """A maximum flow of demand into the open stations, opened one station at a time.

    Parameters
    ----------
    reach
        Boolean sparse matrix, stations × units: station ``j`` may serve unit ``i``.
    demand
        Trainings a year wanted by each unit (non-negative).
    capacity
        Trainings a year each station offers (non-negative).
    tol
        Amounts below this count as zero.

    Notes
    -----
    Mutable on purpose (it is the solver's working state); results handed to users are
    frozen copies.
    """

    def __init__(
        self, reach: sparse.csr_array, demand: FloatArray, capacity: FloatArray, *, tol: float
    ) -> None:
        sta_major = sparse.csr_array(reach, dtype=np.bool_)
        sta_major.sort_indices()
        n_s, n_u = sta_major.shape
        unit_major = sparse.csr_array(sta_major.T)
        unit_major.sort_indices()
        self.u_ptr = unit_major.indptr.astype(np.int64)
        self.u_sta = unit_major.indices.astype(np.int64)
        # position in the unit-major order of every station-major entry
        pos = sparse.csr_array(
            (
                np.arange(unit_major.nnz, dtype=np.float64) + 1.0,
                unit_major.indices,
                unit_major.indptr,
            ),
            shape=unit_major.shape,
        )
        st_pos = sparse.csr_array(pos.T)
        st_pos.sort_indices()
        self.s_ptr = st_pos.indptr.astype(np.int64)
        self.s_unit = st_pos.indices.astype(np.int64)
        self.s_pos = (st_pos.data - 1.0).astype(np.int64)
        self.n_stations, self.n_units = int(n_s), int(n_u)
        self.capacity = np.asarray(capacity, dtype=np.float64)
        self.x = np.zeros(unit_major.nnz, dtype=np.float64)
        self.resid = np.asarray(demand, dtype=np.float64).copy()
        self.load = np.zeros(n_s, dtype=np.float64)
        self.is_open = np.zeros(n_s, dtype=np.bool_)
        self._ustamp = np.zeros(n_u, dtype=np.int64)
        self._sstamp = np.zeros(n_s, dtype=np.int64)
        self._stamp = 0
        self._u_from_pos = np.zeros(n_u, dtype=np.int64)
        self._s_from_unit = np.zeros(n_s, dtype=np.int64)
        self._s_from_pos = np.zeros(n_s, dtype=np.int64)
        self._queue = np.zeros(n_s + 1, dtype=np.int64)
        self._logs = (
            np.zeros(1024, dtype=np.int64),
            np.zeros(1024, dtype=np.float64),
            np.zeros(1024, dtype=np.int64),
            np.zeros(1024, dtype=np.float64),
        )
        self.tol = float(tol)

    @property
    def served(self) -> float:
        """Demand served by the open stations (the maximum flow)."""
        return float(self.load.sum())

    def _run(self, j: int, *, record: bool) -> tuple[float, int, int]:
        gained, self._stamp, n_log, n_ulog, *logs = _open(
            int(j),
            float(self.capacity[j]),
            self.u_ptr,
            self.u_sta,
            self.x,
            self.s_ptr,
            self.s_unit,
            self.s_pos,
            self.is_open,
            self.resid,
            self.load,
            self._ustamp,
            self._sstamp,
            self._stamp,
            self._u_from_pos,
            self._s_from_unit,
            self._s_from_pos,
            self._queue,
            self.tol,
            *self._logs,
            record,
        )
        self._logs = tuple(logs)  # type: ignore[assignment]
        return float(gained), int(n_log), int(n_ulog)

    def open(self, j: int) -> float:
        """Open station ``j`` (keeping the flow maximal); returns the demand it adds."""
        return self._run(j, record=False)[0]

    def gain(self, j: int) -> float:
        """Demand station ``j`` would add if opened now (the state is left unchanged)."""
        if self.is_open[j]:
            return 0.0
        gained, n_log, n_ulog = self._run(j, record=True)
        log_pos, log_dx, log_unit, log_du = self._logs
        _undo(
            int(j), gained, self.x, self.resid, self.load, self.is_open,
            log_pos, log_dx, n_log, log_unit, log_du, n_ulog,
        )  # fmt: skip
        return gained

    def assignment(self) -> tuple[IntArray, IntArray, FloatArray]:
        """The flow as (station, unit, trainings) triples with a positive amount."""
        unit = np.repeat(np.arange(self.n_units, dtype=np.int64), np.diff(self.u_ptr))
        keep = self.x > self.tol
        return self.u_sta[keep], unit[keep], self.x[keep].copy()
