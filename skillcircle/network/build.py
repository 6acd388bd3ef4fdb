"""Building a :class:`~skillcircle.network.model.Network` from road lines and OSM files.

Road layers and OSM PBF ways are noded at shared vertices (snap-merged to 1e-3 m) and simplified
as ``osmnx.simplify_graph`` does; OSM XML and GraphML files go through osmnx. The rules are
those of steps 1-3 of the pipeline described in :mod:`skillcircle.network.load`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from skillcircle._errors import InputError, NetworkError
from skillcircle.network.model import Network, _join_values, _present
from skillcircle.network.walk import _WALK_EXCLUDED_TAGS, walk_filter_mask
from skillcircle.profiles import metric_crs_of

__all__ = [
    "INVALID_REASONS",
    "MAX_SEGMENT_M",
    "ROAD_LAYER_SUFFIXES",
    "build_roads_network",
    "list_road_layers",
    "read_osm_pbf_ways",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: File endings read as a GIS layer of road lines.
ROAD_LAYER_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".parquet")

#: Snap-merge resolution of vertex coordinates (metres): coordinates are rounded to this.
_SNAP_M = 1e-3

_KEPT_ATTRS = ("highway", "name", "osm_id")

#: Longest straight segment (metres, in the projected CRS) a road line may have. A walkable way
#: is cut by OSM at every junction, so a single segment this long is a coordinate error (a
#: swapped or mistyped coordinate, a vertex at 0,0), and keeping it would swamp every length
#: figure; a feature with such a segment is dropped whole.
MAX_SEGMENT_M = 100_000.0

#: Why a road feature is dropped (key recorded in ``meta["invalid_features"]``: plain words).
INVALID_REASONS = {
    "unreadable": "unreadable geometry (e.g. a line with one point)",
    "no_geometry": "no geometry",
    "empty": "empty geometry",
    "not_a_line": "not a line (point or polygon)",
    "non_finite": "non-finite coordinates (NaN or infinity)",
    "unprojectable": "coordinates the target CRS cannot represent",
    "zero_length": "zero length",
    "too_long": f"a segment longer than {MAX_SEGMENT_M / 1000:g} km",
}


# ---------------------------------------------------------------------------- noding
@numba.njit(cache=True)
def _walk_one(
    v: int,
    s: int,
    seg_a: npt.NDArray[np.int64],
    seg_b: npt.NDArray[np.int64],
    inc: npt.NDArray[np.int64],
    inc_ptr: npt.NDArray[np.int64],
    is_end: npt.NDArray[np.bool_],
    used: npt.NDArray[np.bool_],
    seg_edge: npt.NDArray[np.int64],
    vseq: npt.NDArray[np.int64],
    nv: int,
    edge: int,
) -> int:  # pragma: no cover - compiled
    """Follow segments from node ``v`` over segment ``s`` until the next node; return new nv."""
    vseq[nv] = v
    nv += 1
    cur = v
    while True:
        used[s] = True
        seg_edge[s] = edge
        nxt = seg_b[s] if seg_a[s] == cur else seg_a[s]
        vseq[nv] = nxt
        nv += 1
        if is_end[nxt]:
            return nv
        first = inc[inc_ptr[nxt]]
        s = inc[inc_ptr[nxt] + 1] if first == s else first
        cur = nxt


@numba.njit(cache=True)
def _walk_chains(
    n_vertices: int,
    seg_a: npt.NDArray[np.int64],
    seg_b: npt.NDArray[np.int64],
    is_end: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Merge chains of segments between node vertices into edges.

    Returns the vertex sequence of every edge (``vseq`` split by ``eptr``) and the edge of each
    segment (``-1`` for segments on isolated rings, which are dropped).
    """  # pragma: no cover - compiled
    m = seg_a.shape[0]
    # plain loops instead of np.zeros / np.full / .copy(): far quicker to compile
    inc_ptr = np.empty(n_vertices + 1, dtype=np.int64)
    for i in range(n_vertices + 1):
        inc_ptr[i] = 0
    for s in range(m):
        inc_ptr[seg_a[s] + 1] += 1
        inc_ptr[seg_b[s] + 1] += 1
    for i in range(n_vertices):
        inc_ptr[i + 1] += inc_ptr[i]
    fill = np.empty(n_vertices, dtype=np.int64)
    for i in range(n_vertices):
        fill[i] = inc_ptr[i]
    inc = np.empty(2 * m, dtype=np.int64)
    for s in range(m):
        inc[fill[seg_a[s]]] = s
        fill[seg_a[s]] += 1
        inc[fill[seg_b[s]]] = s
        fill[seg_b[s]] += 1
    used = np.empty(m, dtype=np.bool_)
    seg_edge = np.empty(m, dtype=np.int64)
    for s in range(m):
        used[s] = False
        seg_edge[s] = -1
    vseq = np.empty(2 * m, dtype=np.int64)
    eptr = np.empty(m + 1, dtype=np.int64)  # eptr[: ne + 1] is written below
    eptr[0] = 0
    # int64 from the start (not literal zeros), so that _walk_one compiles once
    nv = np.int64(0)
    ne = np.int64(0)
    for v in range(n_vertices):
        if not is_end[v]:
            continue
        for k in range(inc_ptr[v], inc_ptr[v + 1]):
            s = inc[k]
            if used[s]:
                continue
            nv = _walk_one(v, s, seg_a, seg_b, inc, inc_ptr, is_end, used, seg_edge, vseq, nv, ne)  # type: ignore[assignment,arg-type]
            ne += 1
            eptr[ne] = nv
    return vseq[:nv], eptr[: ne + 1], seg_edge


def build_roads_network(
    roads: gpd.GeoDataFrame,
    *,
    crs: str | None = None,
    walk_filter: bool = True,
    simplify: bool = True,
    meta: dict[str, Any] | None = None,
    source: str | Path | None = None,
) -> Network:
    """Node a layer of road lines into a walking network.

    Parameters
    ----------
    roads
        (Multi)LineStrings with a ``highway`` column (``name``, ``osm_id``, ``foot``,
        ``access``, ``service`` … are used when present), in any CRS. Not modified.
    crs
        Projected CRS of the result; the layer is reprojected to it first. Default: the
        layer's own CRS if projected, else the UTM zone of its centre.
    walk_filter
        Keep only walkable ways (:func:`walk_filter_mask`).
    simplify
        Merge chains of two-edge bend nodes into single edges as ``osmnx.simplify_graph`` does
        (see the module notes). Without it a node is every vertex that is a way end or that
        appears more than once (in two ways, or twice in one), and ways are split only there.
    meta
        Provenance to attach.
    source
        The file the layer was read from, named in messages.

    Returns
    -------
    Network
        All pieces, connected or not (the largest-component step is :func:`load_network`'s).
        Edge attributes ``highway``, ``name`` (``""`` when unnamed) and ``osm_id`` (``-1`` when
        unknown). ``meta["invalid_features"]`` counts the walkable features dropped as
        unusable, per reason (:data:`INVALID_REASONS`).

    Raises
    ------
    InputError
        No CRS, no ``highway`` column.
    NetworkError
        Nothing walkable is left.

    Notes
    -----
    Walkable features that cannot be a street are dropped whole, counted per reason in
    ``meta["invalid_features"]`` and logged as one warning naming ``source`` and the first rows
    (1-based, in layer order): missing, empty or unreadable geometry, points or polygons,
    NaN or infinite coordinates (before or after projecting), zero length, and any straight
    segment longer than :data:`MAX_SEGMENT_M` (100 km). What is left is built exactly as a
    layer without those features would be.
    """
    return _build_roads(
        roads,
        crs=crs,
        walk_filter=walk_filter,
        simplify=simplify,
        meta=meta,
        source=source,
        unreadable=None,
    )


def _build_roads(
    roads: gpd.GeoDataFrame,
    *,
    crs: str | None,
    walk_filter: bool,
    simplify: bool,
    meta: dict[str, Any] | None,
    source: str | Path | None,
    unreadable: npt.NDArray[np.bool_] | None,
) -> Network:
    """:func:`build_roads_network`, knowing which rows had geometry the reader could not decode."""
    where = f"{source}: " if source is not None else ""
    if roads.crs is None:
        raise InputError("the road layer has no coordinate reference system", path=source)
    if "highway" not in roads.columns:
        raise InputError(
            "a road layer needs a 'highway' column (the OSM way class)",
            path=source,
            field="highway",
        )
    if len(roads) == 0:
        raise NetworkError(f"{where}the road layer has no features")
    keep = walk_filter_mask(roads) if walk_filter else np.ones(len(roads), dtype=bool)
    if not keep.any():
        raise NetworkError(f"{where}no walkable road lines in the layer")
    geoms = np.asarray(roads.geometry.values, dtype=object)
    with np.errstate(invalid="ignore", over="ignore"):  # bad rows are counted, not warned
        rows, layer_geoms, invalid, crs = _usable_lines(
            geoms, keep, crs_from=roads.crs, crs_to=crs, unreadable=unreadable
        )
    n_invalid = {k: int(v.size) for k, v in invalid.items() if v.size}
    if n_invalid:
        _log_invalid(invalid, source=source, n_walkable=int(keep.sum()))
    meta = {**(meta or {}), "invalid_features": n_invalid}
    if rows.size == 0:
        raise NetworkError(f"{where}no usable walkable road lines in the layer")
    parts, part_row = shapely.get_parts(layer_geoms, return_index=True)
    coords, vert_part = shapely.get_coordinates(parts, return_index=True)
    way = rows[part_row]  # original row of each part

    vid, rep = _snap_vertices(coords)
    # drop consecutive repeated vertices inside a part
    dup = np.zeros(vid.size, dtype=bool)
    dup[1:] = (vert_part[1:] == vert_part[:-1]) & (vid[1:] == vid[:-1])
    vid, vert_part = vid[~dup], vert_part[~dup]
    same = vert_part[1:] == vert_part[:-1]
    seg_a = np.ascontiguousarray(vid[:-1][same])
    seg_b = np.ascontiguousarray(vid[1:][same])
    seg_way = way[vert_part[:-1][same]]
    if seg_a.size == 0:
        raise NetworkError(f"{where}the walkable road lines have no length")
    n_vertices = rep.shape[0]
    if simplify:
        is_end = _osmnx_endpoints(n_vertices, seg_a, seg_b)
    else:
        counts = np.bincount(vid, minlength=n_vertices)
        first = np.ones(vid.size, dtype=bool)
        first[1:] = vert_part[1:] != vert_part[:-1]
        last = np.ones(vid.size, dtype=bool)
        last[:-1] = vert_part[1:] != vert_part[:-1]
        is_end = counts >= 2
        is_end[vid[first | last]] = True
    vseq, eptr, seg_edge = _walk_chains(n_vertices, seg_a, seg_b, is_end)
    if np.any(seg_edge < 0):
        logger.info("dropped %d segments on isolated rings", int(np.sum(seg_edge < 0)))
    n_edges = eptr.size - 1
    if n_edges == 0:
        raise NetworkError(f"{where}the walkable road lines form no usable edges")
    edge_of_vertex = np.repeat(np.arange(n_edges), np.diff(eptr))
    geometry = shapely.linestrings(rep[vseq], indices=edge_of_vertex)
    length = shapely.length(geometry)
    u_vid = vseq[eptr[:-1]]
    v_vid = vseq[eptr[1:] - 1]
    attrs = _edge_attributes(roads, seg_edge, seg_way, n_edges)
    ok = length > 0
    if not np.all(ok):
        logger.info("dropped %d zero-length edges", int(np.sum(~ok)))
    used_vid, inverse = np.unique(np.concatenate([u_vid[ok], v_vid[ok]]), return_inverse=True)
    n_ok = int(ok.sum())
    return Network.from_edges(
        rep[used_vid, 0],
        rep[used_vid, 1],
        inverse[:n_ok],
        inverse[n_ok:],
        crs=crs,
        edge_geometry=geometry[ok],
        edge_length=length[ok],
        edge_attrs={k: v[ok] for k, v in attrs.items()},
        meta=meta,
    )


def _usable_lines(
    geoms: npt.NDArray[np.object_],
    keep: npt.NDArray[np.bool_],
    *,
    crs_from: Any,
    crs_to: str | None,
    unreadable: npt.NDArray[np.bool_] | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_], dict[str, npt.NDArray[np.int64]], str]:
    """Usable rows, their geometry in the target CRS, dropped rows per reason, the target CRS.

    The target CRS is ``crs_to``, or (when ``None``) derived from the usable lines' extent.
    """
    bad = np.zeros(geoms.size, dtype=object)  # reason key per row, 0 while usable
    missing = shapely.is_missing(geoms)
    if unreadable is not None:
        bad[unreadable & missing] = "unreadable"
    bad[missing & (bad == 0)] = "no_geometry"
    present = ~missing
    bad[present & shapely.is_empty(geoms)] = "empty"
    is_line = np.isin(shapely.get_type_id(geoms), (1, 5))  # LineString, MultiLineString
    bad[present & ~is_line & (bad == 0)] = "not_a_line"
    lines = np.flatnonzero(keep & (bad == 0))
    coords, row_of = shapely.get_coordinates(geoms[lines], return_index=True)
    finite = np.ones(lines.size, dtype=bool)
    np.logical_and.at(finite, row_of, np.isfinite(coords).all(axis=1))
    bad[lines[~finite]] = "non_finite"
    lines = lines[finite]

    def target_of(rows: npt.NDArray[np.int64]) -> str:
        if crs_to is not None:
            return crs_to
        if rows.size == 0:
            return str(crs_from)
        return metric_crs_of(tuple(shapely.total_bounds(geoms[rows])), crs_from)

    target = target_of(lines)
    projected, why = _projected_checks(geoms[lines], crs_from, target)
    if crs_to is None and np.any((why == "unprojectable") | (why == "too_long")):
        # a derived CRS is chosen from the data's extent: choose it again without the outliers
        bad[lines[why != 0]] = why[why != 0]
        lines = lines[why == 0]
        target = target_of(lines)
        projected, why = _projected_checks(geoms[lines], crs_from, target)
    bad[lines[why != 0]] = why[why != 0]
    ok = why == 0
    invalid = {key: np.flatnonzero(keep & (bad == key)) for key in INVALID_REASONS}
    return lines[ok], projected[ok], invalid, target


def _projected_checks(
    geoms: npt.NDArray[np.object_], crs_from: Any, crs_to: str
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """Lines in ``crs_to`` and, per line, ``0`` or why it is unusable there."""
    projected = np.asarray(gpd.GeoSeries(geoms, crs=crs_from).to_crs(crs_to).values, dtype=object)
    why = np.zeros(geoms.size, dtype=object)
    coords, row_of = shapely.get_coordinates(projected, return_index=True)
    finite = np.ones(geoms.size, dtype=bool)
    np.logical_and.at(finite, row_of, np.isfinite(coords).all(axis=1))
    why[~finite] = "unprojectable"
    why[finite & (shapely.length(projected) == 0)] = "zero_length"
    parts, part_row = shapely.get_parts(projected, return_index=True)
    coords, vert_part = shapely.get_coordinates(parts, return_index=True)
    same = vert_part[1:] == vert_part[:-1]
    step = np.hypot(*np.diff(coords, axis=0).T)
    longest = np.zeros(geoms.size)
    np.maximum.at(longest, part_row[vert_part[1:][same]], np.where(same, step, 0)[same])
    why[finite & (why == 0) & (longest > MAX_SEGMENT_M)] = "too_long"
    return projected, why


def _log_invalid(
    invalid: dict[str, npt.NDArray[np.int64]], *, source: str | Path | None, n_walkable: int
) -> None:
    """One warning naming the file and the dropped count (and first rows) per reason."""
    parts = []
    for key, rows in invalid.items():
        if rows.size:
            shown = ", ".join(str(r + 1) for r in rows[:5]) + (" …" if rows.size > 5 else "")
            parts.append(f"{rows.size} {INVALID_REASONS[key]} (row {shown})")
    total = sum(r.size for r in invalid.values())
    logger.warning(
        "%s: dropped %d of %d walkable road features: %s",
        source if source is not None else "road layer",
        total,
        n_walkable,
        "; ".join(parts),
    )


def _snap_vertices(
    coords: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Vertex id of every coordinate (rounded to 1e-3 m) and each id's first exact coordinate."""
    key = np.round(coords / _SNAP_M).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), coords[first]


def _osmnx_endpoints(
    n_vertices: int, seg_a: npt.NDArray[np.int64], seg_b: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """The "true endpoint" rule of osmnx on an undirected segment graph without self-loops.

    A vertex is a bend (not an endpoint) only when it has exactly two segment ends leading to
    two different neighbours.
    """
    ends = np.concatenate([seg_a, seg_b])
    other = np.concatenate([seg_b, seg_a])
    degree = np.bincount(ends, minlength=n_vertices)
    order = np.argsort(ends, kind="stable")
    start = np.zeros(n_vertices + 1, dtype=np.int64)
    np.cumsum(degree, out=start[1:])
    two = np.flatnonzero(degree == 2)
    nb = other[order]
    distinct = nb[start[two]] != nb[start[two] + 1]
    is_end = degree != 2
    is_end[two[~distinct]] = True
    return is_end


def _edge_attributes(
    roads: pd.DataFrame,
    seg_edge: npt.NDArray[np.int64],
    seg_way: npt.NDArray[np.int64],
    n_edges: int,
) -> dict[str, npt.NDArray[Any]]:
    """``highway``, ``name``, ``osm_id`` of each edge from the way(s) it was built from."""
    ok = seg_edge >= 0
    pairs = np.unique(np.column_stack([seg_edge[ok], seg_way[ok]]), axis=0)
    n_ways = np.bincount(pairs[:, 0], minlength=n_edges)
    starts = np.searchsorted(pairs[:, 0], np.arange(n_edges + 1))
    first_way = pairs[starts[:-1], 1]
    columns: dict[str, list[Any]] = {}
    for col in ("highway", "name"):
        values = (
            roads[col].to_numpy(dtype=object) if col in roads.columns else np.full(len(roads), "")
        )
        columns[col] = [v if _present(v) else "" for v in values]
    if "osm_id" in roads.columns:
        ids = pd.to_numeric(roads["osm_id"], errors="coerce").fillna(-1).to_numpy(np.int64)
    else:
        ids = np.full(len(roads), -1, dtype=np.int64)
    highway = np.array([str(columns["highway"][w]) for w in first_way], dtype=object)
    name = np.array([str(columns["name"][w]) for w in first_way], dtype=object)
    osm_id = ids[first_way].copy()
    for e in np.flatnonzero(n_ways > 1):
        ways = pairs[starts[e] : starts[e + 1], 1]
        highway[e] = _join_values([columns["highway"][w] for w in ways])
        name[e] = _join_values([columns["name"][w] for w in ways])
        valid = ids[ways][ids[ways] >= 0]
        osm_id[e] = valid.min() if valid.size else -1
    return {"highway": highway.astype(str), "name": name.astype(str), "osm_id": osm_id}


# ---------------------------------------------------------------------------- graph files
def _drop_invalid_edges(net: Network, source: Path, *, non_finite: int = 0) -> Network:
    """Drop edges of a graph file with NaN / infinite coordinates or an absurd segment.

    The graph-file counterpart of the road-layer rules (:data:`INVALID_REASONS`): counts go to
    ``meta["invalid_features"]`` and one warning names the file. ``non_finite`` edges were
    already removed with their NaN / infinite nodes (counted, not dropped, here).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        coords, edge_of = net.edge_coords, net.edge_vertex_owner()
        finite = np.ones(net.n_edges, dtype=bool)
        np.logical_and.at(finite, edge_of, np.isfinite(coords).all(axis=1))
        for ends in (net.edge_u, net.edge_v):
            finite &= np.isfinite(net.x[ends]) & np.isfinite(net.y[ends])
        finite &= np.isfinite(net.edge_length)
        same = edge_of[1:] == edge_of[:-1]
        step = np.hypot(*np.diff(coords, axis=0).T)
        longest = np.zeros(net.n_edges)
        np.maximum.at(longest, edge_of[1:][same], np.where(np.isfinite(step), step, 0)[same])
    too_long = finite & (longest > MAX_SEGMENT_M)
    ok = finite & ~too_long
    n_invalid = {
        k: int(n)
        for k, n in (("non_finite", (~finite).sum() + non_finite), ("too_long", too_long.sum()))
        if n
    }
    if not n_invalid:
        return dataclasses.replace(net, meta={**net.meta, "invalid_features": {}})
    logger.warning(
        "%s: dropped %d of %d edges: %s",
        source,
        int((~ok).sum()) + non_finite,
        net.n_edges + non_finite,
        "; ".join(f"{n} {INVALID_REASONS[k]}" for k, n in n_invalid.items()),
    )
    if not ok.any():
        raise NetworkError(f"{source}: no usable edges in the graph")
    if ok.all():
        return dataclasses.replace(net, meta={**net.meta, "invalid_features": n_invalid})
    return net.edge_subnetwork(ok, meta={**net.meta, "invalid_features": n_invalid})


def _graph_network(G: Any, crs: str | None, path: Path) -> Network:
    """:meth:`Network.from_networkx` with messages naming the file, then the edge checks."""

    def finite(value: Any) -> bool:
        try:
            return bool(np.isfinite(float(value)))
        except (TypeError, ValueError):
            return False

    bad = [n for n, d in G.nodes(data=True) if not (finite(d.get("x")) and finite(d.get("y")))]
    n_bad_edges = sum(1 for _ in G.edges(bad)) if bad else 0  # each edge once, even if both
    neighbours = {m for n in bad for m in nx.all_neighbors(G, n)} - set(bad)
    G.remove_nodes_from(bad)
    G.remove_nodes_from([m for m in neighbours if G.degree(m) == 0])  # left alone by the cut
    try:
        net = Network.from_networkx(G, crs=crs)
    except NetworkError as exc:
        raise NetworkError(f"{path}: {exc}") from exc
    except (ValueError, TypeError, KeyError, shapely.errors.ShapelyError) as exc:
        raise InputError(f"cannot use the graph ({_one_line(exc)})", path=path) from exc
    return _drop_invalid_edges(_standard_attrs(net), path, non_finite=n_bad_edges)


# ---------------------------------------------------------------------------- attributes
def _standard_attrs(net: Network) -> Network:
    """Reduce a network's edge attributes to ``highway``, ``name``, ``osm_id``."""
    n = net.n_edges
    attrs = net.edge_attrs
    highway = attrs["highway"].astype(str) if "highway" in attrs else np.full(n, "", dtype=str)
    name = attrs["name"].astype(str) if "name" in attrs else np.full(n, "", dtype=str)
    raw = attrs.get("osm_id", attrs.get("osmid"))
    osm_id = np.full(n, -1, dtype=np.int64)
    if raw is not None:
        for i, value in enumerate(raw.tolist()):
            parts = [p for p in str(value).split(";") if p.strip().lstrip("-").isdigit()]
            if parts:
                osm_id[i] = min(int(p) for p in parts)
    return Network.from_edges(
        net.x,
        net.y,
        net.edge_u,
        net.edge_v,
        crs=net.crs,
        edge_coords=net.edge_coords,
        edge_offsets=net.edge_offsets,
        edge_length=net.edge_length,
        edge_attrs={"highway": highway, "name": name, "osm_id": osm_id},
        node_id=net.node_id,
        meta=net.meta,
    )


# ---------------------------------------------------------------------------- readers
def _one_line(exc: BaseException, path: str | Path | None = None) -> str:
    """An exception's text on one line, without the file name and GDAL's boilerplate advice."""
    text = " ".join(str(exc).split())
    if path is not None:
        text = text.replace(f"'{path}' ", "").replace(f"'{path}'", "the file")
    return text.split("; It might help", 1)[0].rstrip(".; ") or type(exc).__name__


#: What reading a malformed GIS file can raise (GDAL, Arrow, GEOS, PROJ, JSON, decoding).
_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    RuntimeError,  # pyogrio.errors.* and pyproj's CRSError derive from it or ValueError
    KeyError,
    TypeError,
    shapely.errors.ShapelyError,
)


def list_road_layers(path: str | Path) -> list[str]:
    """Names of the layers with geometry in a GIS file.

    Parameters
    ----------
    path
        A GeoPackage, Shapefile, GeoJSON … file (not GeoParquet, which has one table).

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        The file cannot be opened as a GIS data source.
    """
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
    except _READ_ERRORS as exc:
        raise InputError(f"cannot read the road layer ({_one_line(exc, path)})", path=path) from exc
    return [str(name) for name, geom_type in layers if geom_type is not None]


def _read_roads_file(
    path: Path, layer: str | None = None
) -> tuple[gpd.GeoDataFrame, npt.NDArray[np.bool_]]:
    """Read a GIS layer of road lines, and which rows had geometry that could not be decoded.

    Geometry is decoded leniently (a line with one point becomes a missing geometry flagged in
    the mask) so that one bad feature cannot make the whole file unreadable.
    """
    if path.suffix.lower() == ".parquet":
        if layer is not None:
            raise InputError(
                f"a GeoParquet file has a single layer; drop the ':{layer}' suffix", path=path
            )
        try:
            return _read_geoparquet(path)
        except InputError:
            raise
        except _READ_ERRORS as exc:
            raise InputError(
                f"cannot read the road layer ({_one_line(exc, path)})", path=path
            ) from exc
    from pyogrio.raw import read

    names = list_road_layers(path)
    if layer is None:
        if not names:
            raise InputError("the file has no layer with geometry", path=path)
        if len(names) > 1:
            raise InputError(
                f"the file has {len(names)} layers ({', '.join(names)}); name the road layer "
                f"as {path.name}:<layer>, e.g. {path.name}:{names[0]}",
                path=path,
            )
        layer = names[0]
    elif layer not in names:
        raise InputError(
            f"no layer {layer!r} in the file (layers: {', '.join(names) or 'none'})", path=path
        )
    try:
        info, _, wkb, values = read(path, layer=layer)
        frame = pd.DataFrame(dict(zip(info["fields"], values, strict=True)))
        geometry, unreadable = _decode_wkb(wkb)
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=info["crs"]), unreadable
    except _READ_ERRORS as exc:
        raise InputError(
            f"cannot read the road layer {layer!r} ({_one_line(exc, path)})", path=path
        ) from exc


def _decode_wkb(
    wkb: npt.NDArray[np.object_] | None,
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Geometries from WKB (``None`` where undecodable) and the mask of undecodable ones."""
    if wkb is None:
        return np.empty(0, dtype=object), np.zeros(0, dtype=bool)
    blobs = np.asarray(wkb, dtype=object)
    with np.errstate(invalid="ignore"):  # NaN coordinates are reported by the builder
        geometry = np.asarray(shapely.from_wkb(blobs, on_invalid="ignore"), dtype=object)
    unreadable = shapely.is_missing(geometry) & np.array([b is not None for b in blobs], bool)
    return geometry, unreadable


def _read_geoparquet(path: Path) -> tuple[gpd.GeoDataFrame, npt.NDArray[np.bool_]]:
    """A GeoParquet file with WKB geometry, decoded leniently (see :func:`_read_roads_file`)."""
    import json

    import pyarrow.parquet as pq
    from pyproj import CRS

    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(b"geo")
    if raw is None:
        raise InputError("not a GeoParquet file (no 'geo' metadata)", path=path)
    geo = json.loads(raw)
    column = geo["primary_column"]
    spec = geo["columns"][column]
    if spec.get("encoding", "WKB").upper() != "WKB":
        frame = gpd.read_parquet(path)
        return frame, np.zeros(len(frame), dtype=bool)
    crs_spec = spec.get("crs", "OGC:CRS84")  # the GeoParquet default when the key is absent
    crs = None if crs_spec is None else CRS.from_user_input(crs_spec)
    frame = table.drop([column]).to_pandas()
    geometry, unreadable = _decode_wkb(table[column].to_numpy(zero_copy_only=False))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs), unreadable


def read_osm_pbf_ways(
    path: str | Path, *, bbox: tuple[float, float, float, float] | None = None
) -> gpd.GeoDataFrame:
    """Read the ``highway`` ways of an ``.osm.pbf`` file as lines (EPSG:4326) with pyosmium.

    Parameters
    ----------
    path
        The OSM PBF (or any format pyosmium reads) file.
    bbox
        ``(west, south, east, north)`` in degrees: read only the ways with at least one node
        inside, each whole (its nodes outside included). The file is streamed in passes that
        keep only what lies inside: the ids of the nodes in the box, the ways that use them,
        then those ways' node locations — so a regional extract many times the study area
        is never held whole. ``None``: every highway way of the file (a location index of
        all its nodes is built).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per way: ``osm_id``, ``highway``, ``name`` and the walk-filter tags, geometry in
        EPSG:4326 built from the way's node locations.
    """
    import osmium  # local: only this loader needs it

    tags_kept = ("highway", "name", *_WALK_EXCLUDED_TAGS)
    try:
        if bbox is None:
            ways = (
                osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
                .with_locations()
                .with_filter(osmium.filter.KeyFilter("highway"))
            )
            rows, lon, lat, owner = _collect_ways(osmium, ways, tags_kept, None)
        else:
            rows, lon, lat, owner = _pbf_ways_in_box(osmium, Path(path), bbox, tags_kept)
    except RuntimeError as exc:
        raise InputError(f"cannot read the OSM file ({exc})", path=path) from exc
    frame = pd.DataFrame(rows, columns=["osm_id", *tags_kept])
    geometry = np.empty(len(rows), dtype=object)
    if len(rows):
        geometry[:] = shapely.linestrings(lon, lat, indices=owner)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def _collect_ways(
    osmium: Any,
    ways: Any,
    tags_kept: tuple[str, ...],
    where: dict[int, tuple[float, float]] | None,
) -> tuple[list[dict[str, Any]], FloatArray, FloatArray, IntArray]:
    """Rows and flat vertex arrays ``(lon, lat, way index)`` of the ways a processor yields.

    Node locations come from the processor (``where`` ``None``) or from ``where``; nodes
    without a location are skipped and ways left with fewer than two are dropped.
    """
    rows: list[dict[str, Any]] = []
    lon: list[float] = []
    lat: list[float] = []
    count: list[int] = []
    for way in ways:
        if not isinstance(way, osmium.osm.Way):
            continue
        if where is None:
            coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
        else:
            coords = [where[n.ref] for n in way.nodes if n.ref in where]
        if len(coords) < 2:
            continue
        tags = way.tags
        if len(tags) == 1:  # highway only (common in extracts): one lookup, not ten
            rows.append({"osm_id": int(way.id), **dict.fromkeys(tags_kept)})
            rows[-1]["highway"] = tags.get("highway")
        else:
            rows.append({"osm_id": int(way.id), **{k: tags.get(k) for k in tags_kept}})
        xs, ys = zip(*coords, strict=True)
        lon.extend(xs)
        lat.extend(ys)
        count.append(len(coords))
    owner = np.repeat(np.arange(len(count), dtype=np.int64), np.asarray(count, dtype=np.int64))
    return rows, np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64), owner


def _pbf_ways_in_box(
    osmium: Any, path: Path, bbox: tuple[float, float, float, float], tags_kept: tuple[str, ...]
) -> tuple[list[dict[str, Any]], FloatArray, FloatArray, IntArray]:
    """The highway ways of ``path`` with a node in ``bbox``, in streaming passes."""
    west, south, east, north = bbox
    # 1. ids of the nodes inside the box (only node locations are read)
    inside = osmium.IdTracker()
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
        loc = node.location
        if loc.valid() and west <= loc.lon <= east and south <= loc.lat <= north:
            inside.add_node(node.id)
    # 2. the ways using one of them (libosmium's own pass), then their node ids
    inside.complete_forward_references(str(path))
    wanted = osmium.IdTracker()
    picked = (
        osmium.FileProcessor(str(path), osmium.osm.WAY)
        .with_filter(osmium.filter.KeyFilter("highway"))
        .with_filter(inside.id_filter())
    )
    n_ways = 0
    for way in picked:
        wanted.add_references(way)
        n_ways += 1
    # 3. the locations of those ways' nodes (an id filter: the rest is skipped unread)
    where: dict[int, tuple[float, float]] = {}
    nodes = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(wanted.id_filter())
    for node in nodes:
        if node.location.valid():
            where[node.id] = (node.location.lon, node.location.lat)
    # 4. the same ways again, now with their geometry (the chosen ones only)
    again = (
        osmium.FileProcessor(str(path), osmium.osm.WAY)
        .with_filter(osmium.filter.KeyFilter("highway"))
        .with_filter(inside.id_filter())
    )
    out = _collect_ways(osmium, again, tags_kept, where)
    logger.info(
        "%s: %d highway ways with a node in the box %.4f,%.4f,%.4f,%.4f, %d nodes located",
        path.name, n_ways, west, south, east, north, len(where),
    )  # fmt: skip
    return out


def _load_osm_xml(path: Path, crs: str | None) -> Network:
    """OSM XML through osmnx: walk-filter the raw ways, then simplify as osmnx does."""
    import osmnx as ox

    extra = [t for t in _WALK_EXCLUDED_TAGS if t not in ox.settings.useful_tags_way]
    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = saved + extra
    try:
        # unsimplified first: filtering after simplification would see merged tag lists
        G = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
    except Exception as exc:
        raise InputError(
            f"cannot read the OSM XML file ({_one_line(exc, path)})", path=path
        ) from exc
    finally:
        ox.settings.useful_tags_way = saved
    edges = list(G.edges(keys=True, data=True))
    frame = pd.DataFrame([d for *_, d in edges])
    if "highway" not in frame.columns:
        raise NetworkError(f"{path}: no highway ways in the OSM file")
    keep = walk_filter_mask(frame)
    G.remove_edges_from([(u, v, k) for (u, v, k, _), ok in zip(edges, keep, strict=True) if not ok])
    G.remove_nodes_from(list(nx.isolates(G)))
    if G.number_of_edges() == 0:
        raise NetworkError(f"{path}: no walkable ways in the OSM file")
    G = ox.simplify_graph(G)
    return _graph_network(G, crs, path)


def _load_graphml(path: Path, crs: str | None) -> Network:
    """An osmnx GraphML file (assumed already a walking network)."""
    import osmnx as ox

    try:
        G = ox.load_graphml(path)
    except Exception as exc:
        raise InputError(
            f"cannot read the GraphML file ({_one_line(exc, path)})", path=path
        ) from exc
    return _graph_network(G, crs, path)


def _load_pbf(
    path: Path, crs: str | None, *, bbox: tuple[float, float, float, float] | None = None
) -> Network:
    """OSM PBF through pyosmium and the road-layer builder (same topology).

    ``bbox`` (degrees): stream only the ways with a node inside (:func:`read_osm_pbf_ways`).
    """
    return build_roads_network(read_osm_pbf_ways(path, bbox=bbox), crs=crs, source=path)


def _load_roads(path: Path, crs: str | None, layer: str | None = None) -> Network:
    """A GIS road layer (``layer`` names one of a GeoPackage's layers)."""
    roads, unreadable = _read_roads_file(path, layer)
    source = f"{path}:{layer}" if layer is not None else path
    return _build_roads(
        roads,
        crs=crs,
        walk_filter=True,
        simplify=True,
        meta={"layer": layer} if layer is not None else None,
        source=source,
        unreadable=unreadable,
    )
