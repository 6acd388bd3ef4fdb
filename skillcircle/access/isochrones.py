"""Walking isochrones: the streets a station reaches within the limit, drawn as polygons.

The construction is exact on the network and only approximate in the drawing:

1. :func:`skillcircle.access.routing.balls` gives, per station, every node within ``limit_m``
   and its
   network distance from the snapped station point.
2. :func:`reached_edges` turns those node distances into the reached *pieces* of each edge. An
   edge of length ``L`` whose ends are reached at ``du`` and ``dv`` (``inf`` when not reached) is
   reached on ``[0, min(L, limit − du)]`` from ``u`` and on ``[max(0, L − (limit − dv)), L]``
   from ``v``; intervals that overlap or touch merge (the whole edge when they meet). The
   station's own edge is also reached on ``[o − limit, o + limit] ∩ [0, L]`` around the snapped
   offset ``o``. Pieces are cut out of the edge geometries with vectorised NumPy (no per-edge
   Python loop).
3. :func:`isochrones` buffers the pieces of each station by ``half_width_m`` (round caps and
   joins) and unions them per station, so the polygon boundary lies ``half_width_m`` beyond
   every cut point; holes (unreached block interiors) are kept.

Distances along an edge are network metres (``edge_length``); they are mapped onto the drawn
geometry proportionally, which is the identity when ``edge_length`` is the geometric length
(the default of :meth:`~skillcircle.network.model.Network.from_edges`). The snap distance from the
station to the street is *not* part of the walk by default (``include_snap=False``): the
isochrone is what the station reaches once on the street. With ``include_snap=True`` the walk
to the street counts against the limit, exactly as in the coverage figures.
"""

from __future__ import annotations

import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from skillcircle._errors import InputError
from skillcircle._validate import positive
from skillcircle.access.routing import Balls, balls
from skillcircle.access.snapping import Snapped, check_network
from skillcircle.network.model import Network
from skillcircle.profiles import metric_crs_of

__all__ = ["add_access_legs", "isochrones", "reached_edges", "service_area"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# ---------------------------------------------------------------------------------------------
# reached pieces
# ---------------------------------------------------------------------------------------------
def _station_arrays(net: Network, stations: Snapped) -> tuple[IntArray, FloatArray, Any]:
    """Station edge rows, offsets and on-network flags, validated against ``net``."""
    check_network(net, stations, "stations")
    edge = np.asarray(stations.edge, dtype=np.int64)
    offset = np.asarray(stations.offset_m, dtype=np.float64)
    on = np.asarray(stations.on_network, dtype=bool)
    if not (edge.shape == offset.shape == on.shape) or edge.ndim != 1:
        raise InputError("snapped stations: edge, offset_m and on_network differ in length")
    bad = on & ((edge < 0) | (edge >= net.n_edges))
    if bad.any():
        raise InputError(
            f"snapped station {int(np.flatnonzero(bad)[0])} refers to an edge the network "
            "does not have (snapped to another network?)"
        )
    return edge, offset, on


def _reach_intervals(
    net: Network,
    balls: Balls,
    st_edge: IntArray,
    st_offset: FloatArray,
    on: npt.NDArray[np.bool_],
    limit: float,
    own_radius: FloatArray | None = None,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Merged reached intervals: ``(station, edge, start_m, end_m)`` sorted by station, edge.

    ``own_radius`` is how far each station reaches along its own edge from the snapped point
    (``limit`` when omitted; ``limit`` minus the snap distance when the walk to the street
    counts).
    """
    n_st = st_edge.shape[0]
    m = net.n_edges
    indptr = np.asarray(balls.indptr, dtype=np.int64)
    if indptr.shape != (n_st + 1,):
        raise InputError(
            f"the reach result has {indptr.shape[0] - 1} origins but there are {n_st} stations"
        )
    node = np.asarray(balls.node, dtype=np.int64)
    dist = np.asarray(balls.distance_m, dtype=np.float64)
    st = np.repeat(np.arange(n_st, dtype=np.int64), np.diff(indptr))
    keep = on[st] & (dist <= limit)
    st, node, dist = st[keep], node[keep], dist[keep]

    # Every reached node hands its distance to each incident edge (CSR entries, vectorised).
    first = net.indptr[node]
    deg = net.indptr[node + 1] - first
    owner = np.repeat(np.arange(node.shape[0], dtype=np.int64), deg)
    starts = np.cumsum(deg) - deg
    k = first[owner] + (np.arange(owner.shape[0], dtype=np.int64) - starts[owner])
    e = net.csr_edge[k]
    s = st[owner]
    d = dist[owner]
    nd = node[owner]

    # The stations' own edges, reached around the snapped point.
    own_st = np.flatnonzero(on).astype(np.int64)
    keys = np.concatenate([s * m + e, own_st * m + st_edge[own_st]])
    uniq, inv = np.unique(keys, return_inverse=True)
    g = uniq.shape[0]
    du = np.full(g, np.inf)
    dv = np.full(g, np.inf)
    inv_nodes = inv[: e.shape[0]]
    is_u = nd == net.edge_u[e]
    is_v = nd == net.edge_v[e]
    np.minimum.at(du, inv_nodes[is_u], d[is_u])
    np.minimum.at(dv, inv_nodes[is_v], d[is_v])

    gs = uniq // m
    ge = uniq % m
    length = net.edge_length[ge]
    lo = np.full((g, 3), np.inf)
    hi = np.full((g, 3), -np.inf)
    ok = du <= limit
    lo[ok, 0] = 0.0
    hi[ok, 0] = np.minimum(length[ok], limit - du[ok])
    ok = dv <= limit
    lo[ok, 1] = np.maximum(0.0, length[ok] - (limit - dv[ok]))
    hi[ok, 1] = length[ok]
    own = st_edge[gs] == ge
    own &= on[gs]
    radius = np.full(n_st, limit) if own_radius is None else own_radius
    o = np.clip(st_offset[gs[own]], 0.0, length[own])
    r = radius[gs[own]]
    lo[own, 2] = np.maximum(0.0, o - r)
    hi[own, 2] = np.minimum(length[own], o + r)

    # Union of (at most) three intervals per row: sort by start, sweep.
    order = np.argsort(lo, axis=1, kind="stable")
    lo = np.take_along_axis(lo, order, axis=1)
    hi = np.take_along_axis(hi, order, axis=1)
    out_row: list[IntArray] = []
    out_lo: list[FloatArray] = []
    out_hi: list[FloatArray] = []
    rows = np.arange(g, dtype=np.int64)
    cur_lo = lo[:, 0].copy()
    cur_hi = hi[:, 0].copy()
    for j in (1, 2):
        nxt_lo, nxt_hi = lo[:, j], hi[:, j]
        valid = nxt_lo <= nxt_hi
        join = valid & (nxt_lo <= cur_hi)
        cur_hi = np.where(join, np.maximum(cur_hi, nxt_hi), cur_hi)
        split = valid & ~join
        emit = split & (cur_lo <= cur_hi)
        out_row.append(rows[emit])
        out_lo.append(cur_lo[emit])
        out_hi.append(cur_hi[emit])
        cur_lo = np.where(split, nxt_lo, cur_lo)
        cur_hi = np.where(split, nxt_hi, cur_hi)
    emit = cur_lo <= cur_hi
    out_row.append(rows[emit])
    out_lo.append(cur_lo[emit])
    out_hi.append(cur_hi[emit])
    row = np.concatenate(out_row)
    start = np.concatenate(out_lo)
    end = np.concatenate(out_hi)
    srt = np.lexsort((start, row))
    row, start, end = row[srt], start[srt], end[srt]
    return gs[row], ge[row], start, end


def _cut(
    net: Network, edge: IntArray, start: FloatArray, end: FloatArray
) -> npt.NDArray[np.object_]:
    """Sub-lines ``[start, end]`` (network metres) of ``edge_geometry[edge]``, vectorised."""
    out = np.empty(edge.shape[0], dtype=object)
    length = net.edge_length[edge]
    whole = (start <= 0.0) & (end >= length)
    out[whole] = net.edge_geometry[edge[whole]]
    part = np.flatnonzero(~whole)
    if part.size == 0:
        return out
    geoms = net.edge_geometry[edge[part]]
    glen = shapely.length(geoms)
    scale = np.divide(glen, length[part], out=np.zeros_like(glen), where=length[part] > 0)
    a = start[part] * scale
    b = end[part] * scale
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    seg = np.zeros(idx.shape[0])
    seg[1:] = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    new_line = np.ones(idx.shape[0], dtype=bool)
    new_line[1:] = idx[1:] != idx[:-1]
    seg[new_line] = 0.0
    cum = np.cumsum(seg)
    line_first = np.flatnonzero(new_line)
    cum -= cum[line_first][idx]
    inner = (cum > a[idx]) & (cum < b[idx])
    p_start = shapely.get_coordinates(shapely.line_interpolate_point(geoms, a))
    p_end = shapely.get_coordinates(shapely.line_interpolate_point(geoms, b))
    n = part.shape[0]
    pid = np.concatenate([np.arange(n), idx[inner], np.arange(n)])
    slot = np.concatenate([np.zeros(n), np.ones(int(inner.sum())), np.full(n, 2.0)])
    pos = np.concatenate([np.zeros(n), np.flatnonzero(inner).astype(np.float64), np.zeros(n)])
    xy = np.concatenate([p_start, coords[inner], p_end])
    order = np.lexsort((pos, slot, pid))
    out[part] = shapely.linestrings(xy[order], indices=pid[order])
    return out


def reached_edges(
    net: Network, balls_result: Balls, stations: Snapped, limit: float
) -> gpd.GeoDataFrame:
    """Return the reached pieces of every edge, per station.

    Parameters
    ----------
    net
        The walking network the stations were snapped to.
    balls_result
        :func:`skillcircle.access.routing.balls` of ``stations`` on ``net`` with a limit of at least
        ``limit`` (CSR over stations: ``indptr``, ``node``, ``distance_m``). Nodes farther than
        ``limit`` are ignored.
    stations
        The snapped stations (:class:`skillcircle.access.snapping.Snapped`). Off-network stations
        get
        no pieces.
    limit
        Walking distance in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per reached piece: ``station`` (position in ``stations``), ``edge`` (edge row),
        ``start_m`` and ``end_m`` (network metres from ``edge_u`` along the edge,
        ``start_m <= end_m``) and the piece as a LineString (a zero-length piece, an edge end
        reached exactly at the limit, is a two-point LineString of equal points). Sorted by
        station, edge, start. CRS ``net.crs``.

    Examples
    --------
    A 200 m street, a station 50 m from its west end, 100 m of walking:

    >>> from types import SimpleNamespace
    >>> net = Network.from_edges([0, 200], [0, 0], [0], [1], crs="EPSG:32649")
    >>> from skillcircle.access.snapping import snap_points
    >>> st = snap_points(net, [50.0], [0.0], max_snap_m=10)
    >>> ball = SimpleNamespace(indptr=np.array([0, 1]), node=np.array([0]),
    ...                        distance_m=np.array([50.0]))
    >>> reached_edges(net, ball, st, 100.0)[["station", "edge", "start_m", "end_m"]].to_numpy()
    array([[  0.,   0.,   0., 150.]])
    """
    limit = positive(limit, "limit")
    st_edge, st_offset, on = _station_arrays(net, stations)
    station, edge, start, end = _reach_intervals(net, balls_result, st_edge, st_offset, on, limit)
    return gpd.GeoDataFrame(
        {"station": station, "edge": edge, "start_m": start, "end_m": end},
        geometry=_cut(net, edge, start, end),
        crs=net.crs,
    )


# ---------------------------------------------------------------------------------------------
# polygons
# ---------------------------------------------------------------------------------------------
def _as_multipolygons(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Each geometry as a MultiPolygon of its polygonal parts (empty when none)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    out = np.array([shapely.MultiPolygon() for _ in range(geoms.shape[0])], dtype=object)
    if poly.any():
        shapely.multipolygons(parts[poly], indices=idx[poly], out=out)
    return out


def _station_polygons(
    pieces: npt.NDArray[np.object_],
    station: IntArray,
    stations: IntArray,
    half_width_m: float,
    quad_segs: int,
) -> list[Any]:
    """Buffer every piece, then union each station's buffers, on all cores.

    Buffering the pieces one by one and unioning them is about a quarter faster than
    buffering one MultiLineString per station (fewer coincident round caps to node at once),
    for the same polygon. Shapely releases the GIL in both calls, so threads scale.
    """
    bounds = np.searchsorted(station, np.arange(int(stations.max()) + 2))

    def work(ids: IntArray) -> list[Any]:
        out = []
        for i in ids:
            part = pieces[bounds[i] : bounds[i + 1]]
            buf = shapely.buffer(
                part, half_width_m, quad_segs=quad_segs, cap_style="round", join_style="round"
            )
            out.append(shapely.make_valid(shapely.union_all(buf)))
        return out

    workers = max(1, min(os.cpu_count() or 1, stations.shape[0]))
    if workers == 1:
        return work(stations)
    # Interleave so that big and small isochrones spread over the workers.
    chunks = [stations[i::workers] for i in range(workers)]
    result: dict[int, Any] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for ids, polys in zip(chunks, pool.map(work, chunks), strict=True):
            result.update(zip(ids.tolist(), polys, strict=True))
    return [result[i] for i in stations.tolist()]


def isochrones(
    net: Network,
    stations: Snapped,
    *,
    limit_m: float,
    half_width_m: float,
    crs_out: str | CRS | None = None,
    quad_segs: int = 8,
    include_snap: bool = False,
) -> gpd.GeoDataFrame:
    """Draw each station's walking isochrone as a MultiPolygon.

    Parameters
    ----------
    net
        The walking network (projected CRS, metres).
    stations
        Stations snapped to ``net`` (:func:`skillcircle.access.snapping.snap_points`).
    limit_m
        Walking distance in metres (``Settings.walk_distance_m``).
    half_width_m
        Buffer around the reached streets (``Settings.walkway_half_width_m``).
    crs_out
        Reproject the result to this CRS (e.g. ``"EPSG:4326"`` for a web map); ``net.crs`` when
        omitted.
    quad_segs
        Segments per quarter circle of the round buffer caps and joins.
    include_snap
        Count the walk from the station to the street (its snap distance) against
        ``limit_m``, as the coverage figures do (:mod:`skillcircle.access.coverage`): a station
        200 m
        from the street then reaches ``limit_m − 200`` m along it. Off by default (the
        isochrone grows the full ``limit_m`` from the snapped point).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per station, in order: ``station`` (position in ``stations``), ``reach_m``
        (the distance walked along the streets: ``limit_m``, less the snap distance with
        ``include_snap``), ``geometry`` (MultiPolygon, holes kept; empty for an off-network
        station, which is logged as a warning).

    Examples
    --------
    >>> from skillcircle.access.snapping import snap_points
    >>> net = Network.from_edges([0, 1000], [0, 0], [0], [1], crs="EPSG:32649")
    >>> st = snap_points(net, [500.0], [10.0], max_snap_m=50)
    >>> iso = isochrones(net, st, limit_m=100, half_width_m=20)
    >>> iso.total_bounds.round(6).tolist()
    [380.0, -20.0, 620.0, 20.0]
    """
    limit_m = positive(limit_m, "limit_m")
    half_width_m = positive(half_width_m, "half_width_m")
    if int(quad_segs) < 1:
        raise InputError(f"quad_segs must be at least 1, got {quad_segs!r}", field="quad_segs")
    st_edge, st_offset, on = _station_arrays(net, stations)
    n_st = st_edge.shape[0]
    snap = np.asarray(stations.distance_m, dtype=np.float64) if include_snap else np.zeros(n_st)
    reach = limit_m - snap
    on = on & (reach >= 0)
    off = np.flatnonzero(~on)
    if off.size:
        logger.info(
            "%d of %d stations are off the walking network and get an empty isochrone "
            "(positions %s)",
            off.size,
            n_st,
            ", ".join(map(str, off[:10].tolist())) + (" …" if off.size > 10 else ""),
        )
    geometry = np.array([shapely.MultiPolygon() for _ in range(n_st)], dtype=object)
    if on.any():
        ball = balls(net, stations, limit=limit_m, include_snap=include_snap)
        station, edge, start, end = _reach_intervals(
            net, ball, st_edge, st_offset, on, limit_m, own_radius=reach
        )
        pieces = _cut(net, edge, start, end)
        todo = np.flatnonzero(on).astype(np.int64)
        polys = _station_polygons(pieces, station, todo, half_width_m, int(quad_segs))
        arr = np.empty(len(polys), dtype=object)
        arr[:] = polys
        geometry[todo] = _as_multipolygons(arr)
        logger.info(
            "isochrones: %d stations, %d reached edge pieces, %.0f m + %.0f m buffer",
            on.sum(),
            edge.shape[0],
            limit_m,
            half_width_m,
        )
    gdf = gpd.GeoDataFrame(
        {"station": np.arange(n_st, dtype=np.int64), "reach_m": np.where(on, reach, 0.0)},
        geometry=geometry,
        crs=net.crs,
    )
    if crs_out is not None:
        gdf = gdf.to_crs(crs_out)
    return gdf


def service_area(isochrone_gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Union the isochrones into the whole service area.

    Parameters
    ----------
    isochrone_gdf
        The result of :func:`isochrones` (any CRS; not modified).

    Returns
    -------
    geopandas.GeoDataFrame
        One row: ``stations`` (number of non-empty isochrones), ``reach_m`` (the common reach,
        NaN if they differ), ``area_km2`` (measured in the frame's CRS when projected, else in
        the UTM zone of the union's centre) and the union as a MultiPolygon, in the input's CRS.

    Examples
    --------
    >>> sq = [shapely.box(0, 0, 1000, 1000), shapely.box(500, 0, 1500, 1000)]
    >>> iso = gpd.GeoDataFrame({"reach_m": [1000.0, 1000.0]}, geometry=sq, crs="EPSG:32649")
    >>> service_area(iso)[["stations", "reach_m", "area_km2"]].to_numpy().tolist()
    [[2.0, 1000.0, 1.5]]
    """
    if not isinstance(isochrone_gdf, gpd.GeoDataFrame) or isochrone_gdf.crs is None:
        raise InputError("service_area needs a GeoDataFrame with a CRS")
    geoms = np.asarray(isochrone_gdf.geometry.array, dtype=object)
    union = shapely.make_valid(shapely.union_all(geoms))
    union = _as_multipolygons(np.array([union], dtype=object))[0]
    reach = (
        np.unique(np.asarray(isochrone_gdf["reach_m"], dtype=np.float64))
        if "reach_m" in isochrone_gdf and len(isochrone_gdf)
        else np.array([])
    )
    out = gpd.GeoDataFrame(
        {
            "stations": [int((~shapely.is_empty(geoms)).sum())],
            "reach_m": [float(reach[0]) if reach.size == 1 else math.nan],
        },
        geometry=[union],
        crs=isochrone_gdf.crs,
    )
    metric = (
        out if out.crs.is_projected else out.to_crs(metric_crs_of(tuple(out.total_bounds), out.crs))
    )
    out["area_km2"] = metric.geometry.area.to_numpy() / 1e6
    return out


def add_access_legs(
    iso: gpd.GeoDataFrame,
    points: npt.ArrayLike,
    stations: Snapped,
    *,
    half_width_m: float,
    quad_segs: int = 8,
) -> gpd.GeoDataFrame:
    """Add to each isochrone the walk from the station itself to the street it snapped to.

    A station 120 m from the nearest mapped street is reached along that 120 m too; drawing
    the leg (buffered like the streets) makes every on-network station lie inside its own
    isochrone. Stations with an empty isochrone (off-network, or whose walk to the street
    alone exceeds the limit) keep it empty.

    Parameters
    ----------
    iso
        The result of :func:`isochrones` (network CRS), one row per station in order.
    points
        The stations' own points (shapely Points in the network CRS).
    stations
        The same stations snapped to the network.
    half_width_m
        Buffer half-width, as for the streets.
    quad_segs
        Segments per quarter circle of the buffer.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``iso`` with the legs unioned in.
    """
    pts = np.asarray(points, dtype=object)
    legs = shapely.linestrings(
        np.stack([shapely.get_coordinates(pts), np.column_stack([stations.x, stations.y])], axis=1)
    )
    grown = shapely.union(
        iso.geometry.to_numpy(), shapely.buffer(legs, half_width_m, quad_segs=quad_segs)
    )
    current = iso.geometry.to_numpy()
    geoms = np.where(stations.on_network & ~shapely.is_empty(current), grown, current)
    as_multi = [
        g if g.is_empty or g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g])
        for g in geoms
    ]
    out = iso.copy()
    out.geometry = gpd.GeoSeries(as_multi, crs=iso.crs, index=iso.index)
    return out
