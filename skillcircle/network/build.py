"""Building a :class:`~skillcircle.network.model.Network` from road lines and OSM files.

Road layers and OSM PBF ways are noded at shared vertices (snap-merged to 1e-3 m) and simplified
as ``osmnx.simplify_graph`` does; OSM XML and GraphML files go through osmnx. The rules are
those of steps 1-3 of the pipeline described in :mod:`skillcircle.network.load`.
"""

from __future__ import annotations

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
    "ROAD_LAYER_SUFFIXES",
    "build_roads_network",
    "read_osm_pbf_ways",
]

logger = logging.getLogger(__name__)

#: File endings read as a GIS layer of road lines.
ROAD_LAYER_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".parquet")

#: Snap-merge resolution of vertex coordinates (metres): coordinates are rounded to this.
_SNAP_M = 1e-3

_KEPT_ATTRS = ("highway", "name", "osm_id")


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
    inc_ptr = np.zeros(n_vertices + 1, np.int64)
    for s in range(m):
        inc_ptr[seg_a[s] + 1] += 1
        inc_ptr[seg_b[s] + 1] += 1
    for i in range(n_vertices):
        inc_ptr[i + 1] += inc_ptr[i]
    fill = inc_ptr[:-1].copy()
    inc = np.empty(2 * m, np.int64)
    for s in range(m):
        inc[fill[seg_a[s]]] = s
        fill[seg_a[s]] += 1
        inc[fill[seg_b[s]]] = s
        fill[seg_b[s]] += 1
    used = np.zeros(m, np.bool_)
    seg_edge = np.full(m, -1, np.int64)
    vseq = np.empty(2 * m, np.int64)
    eptr = np.zeros(m + 1, np.int64)
    nv = 0
    ne = 0
    for v in range(n_vertices):
        if not is_end[v]:
            continue
        for k in range(inc_ptr[v], inc_ptr[v + 1]):
            s = inc[k]
            if used[s]:
                continue
            nv = _walk_one(v, s, seg_a, seg_b, inc, inc_ptr, is_end, used, seg_edge, vseq, nv, ne)
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

    Returns
    -------
    Network
        All pieces, connected or not (the largest-component step is :func:`load_network`'s).
        Edge attributes ``highway``, ``name`` (``""`` when unnamed) and ``osm_id`` (``-1`` when
        unknown).

    Raises
    ------
    InputError
        No CRS, no ``highway`` column.
    NetworkError
        Nothing walkable is left.
    """
    if roads.crs is None:
        raise InputError("the road layer has no coordinate reference system")
    if "highway" not in roads.columns:
        raise InputError("a road layer needs a 'highway' column", field="highway")
    keep = walk_filter_mask(roads) if walk_filter else np.ones(len(roads), dtype=bool)
    geoms = np.asarray(roads.geometry.values, dtype=object)
    is_line = np.isin(shapely.get_type_id(geoms), (1, 5))  # LineString, MultiLineString
    if np.any(~is_line & keep & ~shapely.is_missing(geoms)):
        logger.info("ignored %d non-line geometries", int(np.sum(~is_line & keep)))
    keep &= is_line & ~shapely.is_empty(geoms)
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        raise NetworkError("no walkable road lines in the layer")
    layer = gpd.GeoSeries(geoms[rows], crs=roads.crs)
    crs = crs or metric_crs_of(tuple(layer.total_bounds), roads.crs)
    layer = layer.to_crs(crs)
    parts, part_row = shapely.get_parts(np.asarray(layer.values, dtype=object), return_index=True)
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
        raise NetworkError("the walkable road lines have no length")
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
        raise NetworkError("the walkable road lines form no usable edges")
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
        edge_geometry=net.edge_geometry,
        edge_length=net.edge_length,
        edge_attrs={"highway": highway, "name": name, "osm_id": osm_id},
        node_id=net.node_id,
        meta=net.meta,
    )


# ---------------------------------------------------------------------------- readers
def _read_roads_file(path: Path) -> gpd.GeoDataFrame:
    """Read a GIS layer of road lines."""
    try:
        if path.suffix.lower() == ".parquet":
            return gpd.read_parquet(path)
        return gpd.read_file(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the road layer ({exc})", path=path) from exc


def read_osm_pbf_ways(path: str | Path) -> gpd.GeoDataFrame:
    """Read the ``highway`` ways of an ``.osm.pbf`` file as lines (EPSG:4326) with pyosmium.

    Parameters
    ----------
    path
        The OSM PBF (or any format pyosmium reads) file.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per way: ``osm_id``, ``highway``, ``name`` and the walk-filter tags, geometry in
        EPSG:4326 built from the way's node locations.
    """
    import osmium  # local: only this loader needs it

    tags_kept = ("highway", "name", *_WALK_EXCLUDED_TAGS)
    rows: list[dict[str, Any]] = []
    lines: list[Any] = []
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in processor:
            if not isinstance(obj, osmium.osm.Way):
                continue
            coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            if len(coords) < 2:
                continue
            tags = {k: obj.tags.get(k) for k in tags_kept}
            rows.append({"osm_id": int(obj.id), **tags})
            lines.append(coords)
    except RuntimeError as exc:
        raise InputError(f"cannot read the OSM file ({exc})", path=path) from exc
    geometry = [shapely.LineString(c) for c in lines]
    frame = pd.DataFrame(rows, columns=["osm_id", *tags_kept])
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


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
        raise InputError(f"cannot read the OSM XML file ({exc})", path=path) from exc
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
    return _standard_attrs(Network.from_networkx(G, crs=crs))


def _load_graphml(path: Path, crs: str | None) -> Network:
    """An osmnx GraphML file (assumed already a walking network)."""
    import osmnx as ox

    try:
        G = ox.load_graphml(path)
    except Exception as exc:
        raise InputError(f"cannot read the GraphML file ({exc})", path=path) from exc
    return _standard_attrs(Network.from_networkx(G, crs=crs))


def _load_pbf(path: Path, crs: str | None) -> Network:
    """OSM PBF through pyosmium and the road-layer builder (same topology)."""
    return build_roads_network(read_osm_pbf_ways(path), crs=crs)


def _load_roads(path: Path, crs: str | None) -> Network:
    """A GIS road layer."""
    return build_roads_network(_read_roads_file(path), crs=crs)
