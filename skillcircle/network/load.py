"""Walking-network loaders: OSM files, osmnx graphs, road layers → one :class:`Network`.

Every loader returns the same compact :class:`~skillcircle.network.model.Network` in the projected
CRS
of :class:`~skillcircle.settings.Settings`, built the same way:

1. read the ways and keep those a pedestrian may use (:func:`walk_filter_mask`, the rules of
   osmnx's ``network_type="walk"`` query);
2. node them into a graph. Ways are joined only where they share a vertex (OSM node), never
   where they merely cross: a bridge over a road stays unconnected. Vertex coordinates are
   snap-merged by rounding to 1e-3 m in the projected CRS (two vertices closer than about a
   millimetre are one node); the geometry keeps the first vertex's exact coordinates;
3. simplify like ``osmnx.simplify_graph``: a node that joins exactly two edges leading to two
   different neighbours (and is not on a self-loop) is only a bend and is merged away, even where
   the highway class changes (osmnx's default, ``edge_attrs_differ=None``); isolated rings that
   have no such junction at all are dropped (osmnx's ``remove_rings=True``). Edges merged from
   several ways carry their sorted, distinct ``highway`` and ``name`` values joined by ``";"``
   and the smallest ``osm_id``;
4. clip to a study-area boundary buffered by ``buffer_m`` (edges that touch it are kept whole);
5. optionally bridge tiny gaps (:func:`skillcircle.network.quality.bridge_gaps`), then keep only the
   largest connected piece unless ``retain_all=True``.

Provenance (source, its SHA-256, loader, CRS, what the largest-component step dropped) goes to
``network.meta``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from skillcircle._errors import InputError, InputFileNotFoundError, NetworkError
from skillcircle.inputs.files import sha256_file
from skillcircle.network.model import Network, _join_values, _present
from skillcircle.profiles import metric_crs_of
from skillcircle.settings import Settings

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "LOADER_VERSION",
    "ROAD_LAYER_SUFFIXES",
    "WALK_EXCLUDED_HIGHWAY",
    "build_roads_network",
    "keep_largest_piece",
    "load_network",
    "read_osm_pbf_ways",
    "walk_filter_mask",
]

logger = logging.getLogger(__name__)

#: Bumped whenever a loader's output changes; part of the network cache key.
LOADER_VERSION = 2

#: File endings read as a GIS layer of road lines.
ROAD_LAYER_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".parquet")

#: osmnx's ``walk`` filter: ways whose ``highway`` value *contains* one of these words (the
#: Overpass query uses an unanchored regular expression, so ``motor`` also drops ``motorway``
#: and ``motorway_link``) are not walkable.
WALK_EXCLUDED_HIGHWAY = (
    "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|raceway|"
    "razed|rest_area|services"
)

#: Other tags of the osmnx ``walk`` filter: a way is dropped when the tag matches the pattern.
_WALK_EXCLUDED_TAGS = {
    "area": "yes",
    "access": "private",
    "foot": "no",
    "service": "private",
    "sidewalk": "separate",
    "sidewalk:both": "separate",
    "sidewalk:left": "separate",
    "sidewalk:right": "separate",
}

#: Snap-merge resolution of vertex coordinates (metres): coordinates are rounded to this.
_SNAP_M = 1e-3

_KEPT_ATTRS = ("highway", "name", "osm_id")


# ---------------------------------------------------------------------------- walk filter
def walk_filter_mask(ways: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Tell which ways a pedestrian may use, by osmnx's ``network_type="walk"`` rules.

    A way is kept when it has a ``highway`` value that contains none of
    :data:`WALK_EXCLUDED_HIGHWAY`, and, where those columns exist, is not ``area=yes``,
    ``access=private``, ``foot=no``, ``service=private`` or ``sidewalk*=separate`` (patterns
    matched anywhere in the value, as the Overpass query does). Missing tags never exclude.

    Parameters
    ----------
    ways
        One row per way, with a ``highway`` column and optionally the other tag columns.

    Returns
    -------
    numpy.ndarray
        Boolean mask, ``True`` for walkable ways.

    Examples
    --------
    >>> df = pd.DataFrame({"highway": ["footway", "motorway_link", None, "primary"],
    ...                    "foot": [None, None, None, "no"]})
    >>> walk_filter_mask(df).tolist()
    [True, False, False, False]
    """
    if "highway" not in ways.columns:
        raise InputError("a road layer needs a 'highway' column", field="highway")
    highway = ways["highway"].astype("string")
    keep = highway.notna() & (highway.str.len() > 0)
    keep &= ~highway.str.contains(WALK_EXCLUDED_HIGHWAY, regex=True, na=False)
    for tag, pattern in _WALK_EXCLUDED_TAGS.items():
        if tag in ways.columns:
            keep &= ~ways[tag].astype("string").str.contains(pattern, regex=True, na=False)
    return keep.to_numpy(dtype=bool)


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


def _load_online(
    place: str | None, boundary: gpd.GeoDataFrame | None, buffer_m: float, settings: Settings
) -> Network:
    """Download the walking network with osmnx (HTTP responses cached in ``cache_dir/osmnx``)."""
    import osmnx as ox

    ox.settings.use_cache = True
    ox.settings.cache_folder = str(settings.cache_dir / "osmnx")
    if place:
        G = ox.graph_from_place(place, network_type="walk", retain_all=True, simplify=True)
    else:
        if boundary is None:
            raise InputError("an online network needs place:<name> or a boundary")
        crs = settings.crs or metric_crs_of(
            tuple(boundary.to_crs("EPSG:4326").total_bounds), "EPSG:4326"
        )
        area = _buffered_area(boundary, buffer_m, crs)
        polygon = gpd.GeoSeries([area], crs=crs).to_crs("EPSG:4326").iloc[0]
        G = ox.graph_from_polygon(polygon, network_type="walk", retain_all=True, simplify=True)
    return _standard_attrs(Network.from_networkx(G, crs=settings.crs))


def _read_boundary(spec: str | Path | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A study-area boundary: a GeoDataFrame, a polygon file, or ``cnmaps:<adcode>``."""
    if isinstance(spec, gpd.GeoDataFrame):
        frame = spec
    elif str(spec).startswith("cnmaps:"):
        from skillcircle.inputs.boundaries import read_districts

        frame = read_districts(str(spec))
    else:
        path = Path(spec)
        if not path.is_file():
            raise InputFileNotFoundError(path, "boundary file")
        try:
            frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the boundary ({exc})", path=path) from exc
    if frame.crs is None:
        raise InputError("the boundary has no coordinate reference system")
    types = set(frame.geom_type.dropna())
    if not types or not types <= {"Polygon", "MultiPolygon"}:
        raise InputError(f"the boundary must be polygons, got {sorted(types) or 'nothing'}")
    return frame


def _buffered_area(boundary: gpd.GeoDataFrame, buffer_m: float, crs: str) -> BaseGeometry:
    """The boundary's union in ``crs``, grown by ``buffer_m`` metres."""
    area = boundary.to_crs(crs).union_all()
    return area.buffer(buffer_m) if buffer_m > 0 else area


def _edge_subnetwork(net: Network, keep: npt.NDArray[np.bool_]) -> Network:
    """Network of the kept edges and the nodes they use."""
    used = np.zeros(net.n_nodes, dtype=bool)
    used[net.edge_u[keep]] = True
    used[net.edge_v[keep]] = True
    new = np.cumsum(used) - 1
    return Network.from_edges(
        net.x[used],
        net.y[used],
        new[net.edge_u[keep]],
        new[net.edge_v[keep]],
        crs=net.crs,
        edge_geometry=net.edge_geometry[keep],
        edge_length=net.edge_length[keep],
        edge_attrs={k: v[keep] for k, v in net.edge_attrs.items()},
        node_id=None if net.node_id is None else net.node_id[used],
        meta=dict(net.meta),
    )


def _clip(net: Network, boundary: gpd.GeoDataFrame, buffer_m: float) -> Network:
    """Keep edges that touch the buffered boundary (whole, not cut)."""
    area = _buffered_area(boundary, buffer_m, net.crs)
    shapely.prepare(area)
    keep = shapely.intersects(area, net.edge_geometry)
    if not keep.any():
        raise NetworkError("no walking network inside the study area (check the boundary)")
    return _edge_subnetwork(net, keep)


# ---------------------------------------------------------------------------- entry point
def _kind(source: str | Path) -> str:
    """Loader name from the source's form and file ending."""
    text = str(source)
    if text.startswith("place:") or text == "online":
        return "online"
    name = Path(text).name.lower()
    if name.endswith((".osm", ".osm.xml")):
        return "osm_xml"
    if name.endswith(".osm.pbf") or name.endswith(".pbf"):
        return "osm_pbf"
    if name.endswith(".graphml"):
        return "graphml"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(ROAD_LAYER_SUFFIXES):
        return "roads"
    raise InputError(
        "unknown network source: use place:<name>, an .osm/.osm.xml/.osm.pbf/.graphml file, "
        f"a road layer ({' '.join(ROAD_LAYER_SUFFIXES)}) or a built .npz",
        path=text,
    )


def _component_stats(net: Network) -> dict[str, Any]:
    """Node, edge, length and component counts (stored in ``meta``)."""
    from skillcircle.network.quality import network_quality

    q = network_quality(net)
    return {
        "n_nodes": q.n_nodes,
        "n_edges": q.n_edges,
        "total_length_m": q.total_length_m,
        "n_components": q.n_components,
        "largest_component_length_share": q.largest_component_length_share,
        "largest_component_node_share": q.largest_component_node_share,
        "n_likely_gaps": q.n_likely_gaps,
        "gap_m": q.gap_m,
    }


def load_network(
    source: str | Path,
    *,
    settings: Settings,
    boundary: gpd.GeoDataFrame | str | Path | None = None,
    buffer_m: float = 1000.0,
    retain_all: bool = False,
    bridge_gaps_m: float | None = None,
    use_cache: bool = True,
) -> Network:
    """Load a walking network from a file or from OpenStreetMap.

    Parameters
    ----------
    source
        ``place:<name>`` (download with osmnx), ``online`` (download the ``boundary`` area), or a
        file: ``.osm`` / ``.osm.xml`` (OSM XML), ``.osm.pbf``, osmnx ``.graphml``, a road layer
        (``.gpkg .shp .geojson .json .parquet`` with a ``highway`` column) or a network built
        before (``.npz``).
    settings
        Target CRS (``settings.crs``; when ``None``, a projected source keeps its own CRS and a
        geographic one goes to the UTM zone of its centre) and cache folder.
    boundary
        Study area (polygons in any CRS, a polygon file or ``cnmaps:<adcode>``): only edges that
        touch it, grown by ``buffer_m``, are kept.
    buffer_m
        Margin around the boundary in metres, so walks may leave the area and come back.
    retain_all
        Keep every connected piece; by default only the largest (by length) is kept, as osmnx
        does.
    bridge_gaps_m
        Join dead ends to the nearest node of another piece within this distance by virtual
        straight links (:func:`skillcircle.network.quality.bridge_gaps`). Off by default.
    use_cache
        Reuse a network built before from the same file and options (files only).

    Returns
    -------
    Network
        In ``settings.crs`` (or the CRS derived from the data); ``meta`` records the source,
        its SHA-256, the loader and the
        piece counts before (``meta["raw"]``) and after the largest-component step.

    Raises
    ------
    InputFileNotFoundError
        The source file does not exist.
    InputError
        Unknown source form or unreadable file.
    NetworkError
        Nothing walkable, or nothing inside the boundary.
    """
    kind = _kind(source)
    area = _read_boundary(boundary) if boundary is not None else None
    if bridge_gaps_m is not None and not bridge_gaps_m > 0:
        raise InputError(f"bridge_gaps_m must be positive, got {bridge_gaps_m!r}")
    if kind == "online":
        place = str(source)[len("place:") :] if str(source).startswith("place:") else None
        raw = _load_online(place, area, buffer_m, settings)
        meta: dict[str, Any] = {"source": str(source), "source_sha256": None}
        return _finish(raw, kind, meta, area, buffer_m, retain_all, bridge_gaps_m, settings)
    path = Path(source)
    if not path.is_file():
        raise InputFileNotFoundError(path, "walking network source")
    if kind == "npz":
        from skillcircle.network.cache import load_network_file

        net = load_network_file(path)
        if settings.crs is not None and net.crs != settings.crs:
            raise NetworkError(f"{path}: network is in {net.crs}, settings ask for {settings.crs}")
        if area is None and bridge_gaps_m is None:  # keep the file's own provenance
            return net if retain_all else net.largest_component()
        meta = dict(net.meta)
        meta.pop("raw", None)
        return _finish(net, kind, meta, area, buffer_m, retain_all, bridge_gaps_m, settings)

    def build() -> Network:
        raw = _LOADERS[kind](path, settings.crs)  # None: derived from the data
        meta = {"source": str(path.resolve()), "source_sha256": sha256_file(path)}
        return _finish(raw, kind, meta, area, buffer_m, retain_all, bridge_gaps_m, settings)

    if not use_cache:
        return build()
    from skillcircle.network.cache import cached_network

    options = {
        "loader": kind,
        "loader_version": LOADER_VERSION,
        "retain_all": retain_all,
        "buffer_m": buffer_m if area is not None else None,
        "boundary": _boundary_hash(area),
        "bridge_gaps_m": bridge_gaps_m,
    }
    return cached_network(path, settings, build, options=options)


def _boundary_hash(area: gpd.GeoDataFrame | None) -> str | None:
    """Stable hash of a boundary's geometry and CRS (for the cache key)."""
    if area is None:
        return None
    import hashlib

    digest = hashlib.sha256(str(area.crs.to_wkt()).encode())
    for blob in shapely.to_wkb(np.asarray(area.geometry.values, dtype=object)):
        digest.update(blob)
    return digest.hexdigest()


def _finish(
    raw: Network,
    kind: str,
    meta: dict[str, Any],
    area: gpd.GeoDataFrame | None,
    buffer_m: float,
    retain_all: bool,
    bridge_gaps_m: float | None,
    settings: Settings,
) -> Network:
    """Clip, bridge, keep the largest piece, and record provenance."""
    if area is not None:
        raw = _clip(raw, area, buffer_m)
    n_links = 0
    if bridge_gaps_m is not None:
        from skillcircle.network.quality import bridge_gaps

        raw, n_links = bridge_gaps(raw, max_gap_m=bridge_gaps_m)
    raw_stats = _component_stats(raw)
    net = raw if retain_all else raw.largest_component()
    meta = {
        **meta,
        "loader": kind,
        "loader_version": LOADER_VERSION,
        "crs": net.crs,
        "boundary": area is not None,
        "buffer_m": buffer_m if area is not None else None,
        "retain_all": retain_all,
        "bridge_gaps_m": bridge_gaps_m,
        "virtual_links": n_links,
        "raw": raw_stats,
    }
    json.dumps(meta)  # provenance must stay JSON-ready
    result = Network.from_edges(
        net.x,
        net.y,
        net.edge_u,
        net.edge_v,
        crs=net.crs,
        edge_geometry=net.edge_geometry,
        edge_length=net.edge_length,
        edge_attrs=net.edge_attrs,
        node_id=net.node_id,
        meta=meta,
    )
    logger.info(
        "walking network from %s: %d nodes, %d edges, %.1f km (of %d pieces kept %s)",
        meta["source"],
        result.n_nodes,
        result.n_edges,
        result.total_length_m / 1000,
        raw_stats["n_components"],
        "all" if retain_all else "the largest",
    )
    return result


def keep_largest_piece(net: Network) -> Network:
    """The largest piece of a network loaded with ``retain_all=True``.

    Gives the same network, with the same provenance, as loading with ``retain_all=False``,
    without loading twice (e.g. to measure who lives near the dropped pieces first).

    Parameters
    ----------
    net
        A network from :func:`load_network` with ``retain_all=True``.

    Returns
    -------
    Network
    """
    kept = net.largest_component()
    return dataclasses.replace(kept, meta={**kept.meta, "retain_all": False})


def _load_pbf(path: Path, crs: str | None) -> Network:
    """OSM PBF through pyosmium and the road-layer builder (same topology)."""
    return build_roads_network(read_osm_pbf_ways(path), crs=crs)


def _load_roads(path: Path, crs: str | None) -> Network:
    """A GIS road layer."""
    return build_roads_network(_read_roads_file(path), crs=crs)


_LOADERS: Mapping[str, Callable[[Path, str | None], Network]] = {
    "osm_xml": _load_osm_xml,
    "osm_pbf": _load_pbf,
    "graphml": _load_graphml,
    "roads": _load_roads,
}
