"""Join points (stations, candidates, residents) to the nearest point of the walking network.

A point is snapped to the nearest point on the nearest *edge*, not to the nearest node: a
station in the middle of a 300 m block starts walking from the middle of the block. The result,
:class:`Snapped`, records the edge, how far along it the snapped point lies and how far the
point had to move. Points farther than ``max_snap_m`` from every street are still located but
flagged ``on_network=False``; the routing kernels in :mod:`skillcircle.access.routing` treat them as
unreachable.

Examples
--------
>>> from skillcircle.network.model import Network
>>> net = Network.from_edges([0, 100, 100], [0, 0, 50], [0, 1], [1, 2], crs="EPSG:32649")
>>> s = snap_points(net, [30, 130, 500], [5, 20, 500], max_snap_m=100)
>>> s.edge.tolist(), s.offset_m.tolist(), s.distance_m.round(1).tolist()
([0, 1, 1], [30.0, 20.0, 50.0], [5.0, 30.0, 602.1])
>>> s.on_network.tolist()
[True, True, False]
"""

from __future__ import annotations

import logging
import math
import weakref
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from numba import njit

from skillcircle._errors import InputError
from skillcircle._parallel import block_bounds, n_threads, run_blocks
from skillcircle._validate import positive
from skillcircle.network.model import Network

__all__ = ["Snapped", "at_nodes", "check_network", "snap_geoseries", "snap_points"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Points handled per STRtree query; bounds temporary memory for millions of points.
_CHUNK = 250_000


@dataclass(frozen=True)
class Snapped:
    """Points joined to a network, one row per input point (in input order).

    Attributes
    ----------
    edge
        Row of the nearest edge in the network's edge arrays.
    offset_m
        Distance along the edge from its ``edge_u`` end to the snapped point, in the units of
        ``edge_length`` (metres; equal to the distance along ``edge_geometry`` whenever
        ``edge_length`` is the geometric length, as in every loader). Always within
        ``[0, edge_length[edge]]``.
    distance_m
        Straight-line distance from the input point to the snapped point (the snap distance).
    x, y
        Coordinates of the snapped point, in the network's CRS.
    on_network
        ``distance_m <= max_snap_m``: the point is close enough to a street to be routed.
    network
        :attr:`~skillcircle.network.model.Network.fingerprint` of the network the points were
        snapped to. Routing, coverage and isochrones refuse a set snapped to another network
        (:func:`check_network`): its edge rows would point at the wrong streets.
    """

    edge: IntArray
    offset_m: FloatArray
    distance_m: FloatArray
    x: FloatArray
    y: FloatArray
    on_network: BoolArray
    network: str

    def __len__(self) -> int:
        return int(self.edge.shape[0])

    def subset(self, mask_or_index: npt.ArrayLike) -> Snapped:
        """Return the rows selected by a boolean mask or an integer index array.

        Parameters
        ----------
        mask_or_index
            Boolean mask of length ``len(self)`` or integer positions (order kept, repeats
            allowed).

        Returns
        -------
        Snapped
            A new object; the arrays are copies.
        """
        sel = np.asarray(mask_or_index)
        if sel.dtype == np.bool_:
            if sel.shape != (len(self),):
                raise InputError(f"boolean mask has length {sel.shape}, expected {len(self)}")
        elif sel.size and not np.issubdtype(sel.dtype, np.integer):
            raise InputError("subset needs a boolean mask or integer positions")
        else:
            sel = sel.astype(np.int64)
        return Snapped(
            edge=self.edge[sel],
            offset_m=self.offset_m[sel],
            distance_m=self.distance_m[sel],
            x=self.x[sel],
            y=self.y[sel],
            on_network=self.on_network[sel],
            network=self.network,
        )

    @property
    def n_on_network(self) -> int:
        """Number of points close enough to a street to be routed."""
        return int(np.count_nonzero(self.on_network))


def check_network(net: Network, points: Snapped, what: str = "points") -> None:
    """Raise unless ``points`` were snapped to ``net`` (same :attr:`Network.fingerprint`).

    Parameters
    ----------
    net
        The network about to be used.
    points
        A snapped set.
    what
        How to name the set in the message (``"origins"``, ``"stations"``…).

    Raises
    ------
    InputError
        If the set records another network.
    """
    if points.network != net.fingerprint:
        raise InputError(
            f"{what} were snapped to another network ({points.network or 'none recorded'}), "
            f"not to this one ({net.fingerprint}): snap them to this network first "
            "(snap_points, snap_geoseries or at_nodes)"
        )


# ---------------------------------------------------------------------------- segment grid


@dataclass(frozen=True)
class _SegmentIndex:
    """Every straight segment of every edge, bucketed in a uniform grid of square cells.

    A segment is listed in every cell its bounding box overlaps, so a point's nearest segment
    is found by scanning rings of cells around the point's cell: once the best distance is at
    most ``k * cell`` after ring ``k``, no unscanned segment can be nearer.
    """

    ax: FloatArray
    ay: FloatArray
    bx: FloatArray
    by: FloatArray
    seg_edge: IntArray
    seg_start: FloatArray
    edge_geom_length: FloatArray
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    cell_indptr: IntArray
    cell_seg: IntArray


_INDEX_CACHE: weakref.WeakKeyDictionary[Network, _SegmentIndex] = weakref.WeakKeyDictionary()


def _segment_index(net: Network) -> _SegmentIndex:
    """Build (or fetch the cached) segment grid of a network."""
    cached = _INDEX_CACHE.get(net)
    if cached is not None:
        return cached
    coords, owner = net.edge_coords, net.edge_vertex_owner()
    same = owner[1:] == owner[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    seg_edge = owner[:-1][same].astype(np.int64)
    seg_len = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    # Distance along its edge at which each segment starts (cumulative within the edge).
    first = np.ones(seg_edge.size, dtype=bool)
    first[1:] = seg_edge[1:] != seg_edge[:-1]
    run = np.cumsum(seg_len) - seg_len
    seg_start = run - run[np.flatnonzero(first)][np.cumsum(first) - 1]
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    width, height = max(hi[0] - lo[0], 1.0), max(hi[1] - lo[1], 1.0)
    cell = max(math.sqrt(width * height / max(seg_edge.size, 1)) * 1.5, 1.0)
    margin = 4 * cell
    x0, y0 = float(lo[0] - margin), float(lo[1] - margin)
    nx = int((hi[0] + margin - x0) // cell) + 1
    ny = int((hi[1] + margin - y0) // cell) + 1
    # Renumber segments in grid-cell order of their midpoints: neighbours in space become
    # neighbours in memory, which keeps the ring search in cache.
    mid_cell = _cell_of((a[:, 0] + b[:, 0]) / 2, (a[:, 1] + b[:, 1]) / 2, x0, y0, cell, nx, ny)
    order = np.argsort(mid_cell, kind="stable")
    a, b, seg_edge, seg_start = a[order], b[order], seg_edge[order], seg_start[order]
    ax, ay = np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1])
    bx, by = np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1])
    cell_indptr, cell_seg = _register_segments(ax, ay, bx, by, x0, y0, cell, nx, ny)
    index = _SegmentIndex(
        ax=ax,
        ay=ay,
        bx=bx,
        by=by,
        seg_edge=seg_edge,
        seg_start=seg_start,
        edge_geom_length=net.shape_lengths(),
        x0=x0,
        y0=y0,
        cell=cell,
        nx=nx,
        ny=ny,
        cell_indptr=cell_indptr,
        cell_seg=cell_seg,
    )
    _INDEX_CACHE[net] = index
    return index


def _cell_of(
    x: FloatArray, y: FloatArray, x0: float, y0: float, cell: float, nx: int, ny: int
) -> IntArray:
    """Row-major grid cell of each point, clamped to the grid."""
    i = np.clip(np.floor((x - x0) / cell), 0, nx - 1).astype(np.int64)
    j = np.clip(np.floor((y - y0) / cell), 0, ny - 1).astype(np.int64)
    return j * nx + i


@njit(cache=True)
def _cell_range(lo, hi, origin, cell, n):  # type: ignore[no-untyped-def]
    """Cells ``[first, last]`` covered by the interval ``[lo, hi]``, clamped to the grid."""
    first = min(max(np.floor((lo - origin) / cell), 0.0), n - 1.0)
    last = min(max(np.floor((hi - origin) / cell), 0.0), n - 1.0)
    return int(first), int(last)


@njit(cache=True)
def _register_segments(ax, ay, bx, by, x0, y0, cell, nx, ny):  # type: ignore[no-untyped-def]
    """CSR lists cell → segments whose bounding box overlaps the cell (segments ascending)."""
    # plain loops instead of np.zeros / np.cumsum / .copy(): far quicker to compile
    n_cells = nx * ny
    counts = np.empty(n_cells + 1, dtype=np.int64)
    for c in range(n_cells + 1):
        counts[c] = 0
    for s in range(ax.shape[0]):
        i0, i1 = _cell_range(min(ax[s], bx[s]), max(ax[s], bx[s]), x0, cell, nx)
        j0, j1 = _cell_range(min(ay[s], by[s]), max(ay[s], by[s]), y0, cell, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                counts[j * nx + i + 1] += 1
    indptr = counts
    for c in range(n_cells):
        indptr[c + 1] += indptr[c]
    fill = np.empty(n_cells, dtype=np.int64)
    for c in range(n_cells):
        fill[c] = indptr[c]
    segs = np.empty(indptr[n_cells], dtype=np.int64)
    for s in range(ax.shape[0]):
        i0, i1 = _cell_range(min(ax[s], bx[s]), max(ax[s], bx[s]), x0, cell, nx)
        j0, j1 = _cell_range(min(ay[s], by[s]), max(ay[s], by[s]), y0, cell, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                segs[fill[j * nx + i]] = s
                fill[j * nx + i] += 1
    return indptr, segs


def _grid_nearest(  # type: ignore[no-untyped-def]
    px, py, order, ax, ay, bx, by, seg_edge, seg_start, x0, y0, cell, nx, ny, indptr, segs, kmax,
    out_edge, out_dist, out_along, out_x, out_y, found,
):  # fmt: skip
    """Nearest segment of each point by ring search; ``found`` False where not certain.

    Points are visited in ``order`` (sorted by grid cell, for memory locality), in one
    contiguous block of ``order`` per thread.

    Ties (equal distance) go to the lowest edge row, then the smallest offset along it.
    """
    n = order.shape[0]
    bounds = block_bounds(n, min(n_threads(), max(1, n // 2_000)))
    run_blocks(
        len(bounds),
        lambda b: _grid_nearest_block(
            bounds[b][0], bounds[b][1], px, py, order, ax, ay, bx, by, seg_edge, seg_start,
            x0, y0, cell, nx, ny, indptr, segs, kmax,
            out_edge, out_dist, out_along, out_x, out_y, found,
        ),
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _grid_nearest_block(  # type: ignore[no-untyped-def]
    lo, hi, px, py, order, ax, ay, bx, by, seg_edge, seg_start, x0, y0, cell, nx, ny, indptr,
    segs, kmax, out_edge, out_dist, out_along, out_x, out_y, found,
):  # fmt: skip
    """:func:`_grid_nearest` for ``order[lo:hi]`` (one thread's block)."""
    for r in range(lo, hi):
        p = order[r]
        x, y = px[p], py[p]
        fi, fj = np.floor((x - x0) / cell), np.floor((y - y0) / cell)
        if fi < 0 or fi >= nx or fj < 0 or fj >= ny:
            continue
        ci, cj = int(fi), int(fj)
        best, best_e, best_a, best_x, best_y = np.inf, -1, 0.0, 0.0, 0.0
        for k in range(kmax + 1):
            for j in range(max(cj - k, 0), min(cj + k, ny - 1) + 1):
                border_row = j == cj - k or j == cj + k
                step = 1 if border_row or k == 0 else 2 * k
                for i in range(ci - k, ci + k + 1, step):
                    if i < 0 or i >= nx:
                        continue
                    c = j * nx + i
                    for q in range(indptr[c], indptr[c + 1]):
                        s = segs[q]
                        dx, dy = bx[s] - ax[s], by[s] - ay[s]
                        ll = dx * dx + dy * dy
                        t = 0.0
                        if ll > 0:
                            t = min(max(((x - ax[s]) * dx + (y - ay[s]) * dy) / ll, 0.0), 1.0)
                        qx, qy = ax[s] + t * dx, ay[s] + t * dy
                        d = math.hypot(x - qx, y - qy)
                        e = seg_edge[s]
                        a = seg_start[s] + t * math.sqrt(ll)
                        if d < best or (d == best and (e < best_e or (e == best_e and a < best_a))):
                            best, best_e, best_a, best_x, best_y = d, e, a, qx, qy
            # Every segment not yet seen lies outside the scanned block of cells.
            # (nested two-argument min: the same left fold as min() of four, without
            # compiling the four-argument version)
            outside = min(
                min(
                    min(x - (x0 + (ci - k) * cell), x0 + (ci + k + 1) * cell - x),
                    y - (y0 + (cj - k) * cell),
                ),
                y0 + (cj + k + 1) * cell - y,
            )
            whole = ci - k <= 0 and cj - k <= 0 and ci + k >= nx - 1 and cj + k >= ny - 1
            if best <= outside or whole:
                found[p] = best_e >= 0
                break
        if found[p]:
            out_edge[p] = best_e
            out_dist[p] = best
            out_along[p] = best_a
            out_x[p] = best_x
            out_y[p] = best_y


def snap_points(net: Network, x: npt.ArrayLike, y: npt.ArrayLike, *, max_snap_m: float) -> Snapped:
    """Snap points given as coordinate arrays (in ``net.crs``) to their nearest edge.

    Parameters
    ----------
    net
        The walking network.
    x, y
        Point coordinates in the network's CRS (metres), 1-D and of equal length.
    max_snap_m
        Points farther than this from every edge are flagged ``on_network=False``.

    Returns
    -------
    Snapped
        One row per point. When a point is equally near several edges, the lowest edge row
        wins (deterministic).

    Raises
    ------
    InputError
        Coordinates that are not finite, arrays of different lengths, or a negative
        ``max_snap_m``.

    Notes
    -----
    The answer is the same as shapely's ``STRtree.query_nearest`` followed by
    ``line_locate_point`` (the tests check it), computed faster: every straight segment of
    every edge is bucketed in a uniform grid (built once per network and cached), and a
    parallel numba kernel scans rings of cells around each point until no unscanned segment
    can be nearer. Points the rings cannot settle within ``max_snap_m`` (far from every
    street) are handed to an STRtree. One million points take about a second.
    """
    xs = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    ys = np.ascontiguousarray(y, dtype=np.float64).reshape(-1)
    if xs.shape != ys.shape:
        raise InputError(f"x and y have different lengths ({xs.size} and {ys.size})")
    max_snap_m = positive(max_snap_m, "max_snap_m", allow_zero=True)
    bad = ~(np.isfinite(xs) & np.isfinite(ys))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} point(s) have missing or infinite coordinates", row=first + 1
        )
    n = xs.size
    edge = np.zeros(n, dtype=np.int64)
    dist = np.full(n, np.inf)
    along = np.zeros(n, dtype=np.float64)
    sx = np.zeros(n, dtype=np.float64)
    sy = np.zeros(n, dtype=np.float64)
    if n:
        idx = _segment_index(net)
        kmax = min(math.ceil(max_snap_m / idx.cell) + 1, max(idx.nx, idx.ny))
        found = np.zeros(n, dtype=np.bool_)
        order = np.argsort(_cell_of(xs, ys, idx.x0, idx.y0, idx.cell, idx.nx, idx.ny))
        _grid_nearest(
            xs, ys, order, idx.ax, idx.ay, idx.bx, idx.by, idx.seg_edge, idx.seg_start,
            idx.x0, idx.y0, idx.cell, idx.nx, idx.ny, idx.cell_indptr, idx.cell_seg, kmax,
            edge, dist, along, sx, sy, found,
        )  # fmt: skip
        rest = np.flatnonzero(~found)
        if rest.size:
            # Far from every street (or outside the grid): exact answer from an STRtree.
            logger.debug("snap: %d point(s) located with the STRtree fallback", rest.size)
            for lo in range(0, rest.size, _CHUNK):
                sel = rest[lo : lo + _CHUNK]
                e, d, a, qx, qy = _nearest_shapely(net, xs[sel], ys[sel])
                edge[sel], dist[sel], along[sel], sx[sel], sy[sel] = e, d, a, qx, qy
        # Express the position in edge_length units (identical for geometric lengths).
        glen = idx.edge_geom_length[edge]
        elen = net.edge_length[edge]
        scale = np.divide(elen, glen, out=np.ones_like(glen), where=glen > 0)
        offset = np.clip(along * scale, 0.0, elen)
    else:
        offset = along
    on = dist <= max_snap_m
    if n and not on.all():
        logger.info(
            "%d of %d point(s) lie farther than %g m from the network (off-network)",
            int(n - on.sum()),
            n,
            max_snap_m,
        )
    return Snapped(
        edge=edge,
        offset_m=offset,
        distance_m=dist,
        x=sx,
        y=sy,
        on_network=on,
        network=net.fingerprint,
    )


def _nearest_shapely(
    net: Network, x: FloatArray, y: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Nearest edge with an STRtree: ``(edge, distance, along-geometry, x, y)``.

    Equally near edges resolve to the lowest edge row.
    """
    geoms = net.edge_geometry
    pts = shapely.points(x, y)
    (qi, ei), d = shapely.STRtree(geoms).query_nearest(pts, return_distance=True, all_matches=True)
    order = np.lexsort((ei, qi))
    qi, ei, d = qi[order], ei[order].astype(np.int64), d[order]
    first = np.ones(qi.size, dtype=bool)
    first[1:] = qi[1:] != qi[:-1]
    qi, ei, d = qi[first], ei[first], d[first]
    along = shapely.line_locate_point(geoms[ei], pts[qi])
    coords = shapely.get_coordinates(shapely.line_interpolate_point(geoms[ei], along))
    out = np.argsort(qi)  # one row per point, back in input order
    return ei[out], d[out], along[out], coords[out, 0], coords[out, 1]


def snap_geoseries(
    net: Network, points: gpd.GeoSeries | gpd.GeoDataFrame, *, max_snap_m: float
) -> Snapped:
    """Snap point geometries to the network, reprojecting them to ``net.crs`` first.

    Parameters
    ----------
    net
        The walking network.
    points
        Point geometries with a CRS (a GeoDataFrame's active geometry column is used).
        The input is not modified.
    max_snap_m
        Points farther than this from every edge are flagged ``on_network=False``.

    Returns
    -------
    Snapped
        One row per input row, in input order.

    Raises
    ------
    InputError
        No CRS, or a row whose geometry is missing, empty or not a point.
    """
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if not isinstance(geo, gpd.GeoSeries):
        raise InputError("points must be a GeoSeries or a GeoDataFrame")
    if geo.crs is None:
        raise InputError("the points have no CRS: set one (e.g. EPSG:4326) before snapping")
    if len(geo) and not geo.crs.equals(net.crs):
        geo = geo.to_crs(net.crs)
    arr = np.asarray(geo.array, dtype=object)
    kind = shapely.get_type_id(arr)
    bad = (kind != shapely.GeometryType.POINT) | shapely.is_empty(arr)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} geometr(y/ies) are missing, empty or not points",
            row=first + 1,
            field=geo.name if isinstance(geo.name, str) else None,
        )
    return snap_points(net, shapely.get_x(arr), shapely.get_y(arr), max_snap_m=max_snap_m)


def at_nodes(net: Network, nodes: npt.ArrayLike) -> Snapped:
    """Place points exactly on network nodes (snap distance 0).

    Useful for candidate sites or origins that already are nodes; routing from such a point
    gives the same distances as starting a Dijkstra search at the node.

    Parameters
    ----------
    net
        The walking network.
    nodes
        Node indices (0-based).

    Returns
    -------
    Snapped
        Each point lies at the end of one edge incident to its node (offset 0 or the edge
        length) and is on the network.

    Raises
    ------
    InputError
        A node index out of range, or an isolated node (no incident edge).
    """
    idx = np.ascontiguousarray(nodes, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= net.n_nodes):
        raise InputError(f"node index out of range 0..{net.n_nodes - 1}")
    start = net.indptr[idx]
    if np.any(net.indptr[idx + 1] == start):
        raise InputError("cannot place a point on an isolated node (no incident edge)")
    edge = net.csr_edge[start].astype(np.int64)
    offset = np.where(net.edge_u[edge] == idx, 0.0, net.edge_length[edge])
    zero = np.zeros(idx.size, dtype=np.float64)
    return Snapped(
        edge=edge,
        offset_m=offset,
        distance_m=zero,
        x=net.x[idx].copy(),
        y=net.y[idx].copy(),
        on_network=np.ones(idx.size, dtype=bool),
        network=net.fingerprint,
    )
