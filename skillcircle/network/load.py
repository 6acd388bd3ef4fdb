"""Walking-network loaders: OSM files, osmnx graphs, road layers → one :class:`Network`.

Every loader returns the same compact :class:`~skillcircle.network.model.Network` in the projected
CRS
of :class:`~skillcircle.settings.Settings`, built the same way:

1. read the ways and keep those a pedestrian may use
   (:func:`~skillcircle.network.walk.walk_filter_mask`, the rules of
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
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from skillcircle._errors import InputError, InputFileNotFoundError, NetworkError
from skillcircle._validate import positive
from skillcircle.inputs.files import sha256_file, split_layer
from skillcircle.network.build import (
    ROAD_LAYER_SUFFIXES,
    _load_graphml,
    _load_osm_xml,
    _load_pbf,
    _load_roads,
)
from skillcircle.network.model import Network
from skillcircle.network.online import _buffered_area, _load_online
from skillcircle.settings import Settings

__all__ = [
    "LOADER_VERSION",
    "keep_largest_piece",
    "load_network",
    "split_layer",
]

logger = logging.getLogger(__name__)

#: Bumped whenever a loader's output changes; part of the network cache key.
LOADER_VERSION = 4


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


def _clip(net: Network, boundary: gpd.GeoDataFrame, buffer_m: float) -> Network:
    """Keep edges that touch the buffered boundary (whole, not cut)."""
    area = _buffered_area(boundary, buffer_m, net.crs)
    shapely.prepare(area)
    keep = shapely.intersects(area, net.edge_geometry)
    if not keep.any():
        raise NetworkError("no walking network inside the study area (check the boundary)")
    return net.edge_subnetwork(keep)


# ---------------------------------------------------------------------------- entry point
#: ``roads.gpkg:layer`` names one layer of a GeoPackage that holds several.
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
        before (``.npz``). A GeoPackage with several layers must name one:
        ``roads.gpkg:<layer>`` (also in a study file's ``network``).
    settings
        Target CRS (``settings.crs``; when ``None``, a projected source keeps its own CRS and a
        geographic one goes to the UTM zone of its centre) and cache folder.
    boundary
        Study area (polygons in any CRS, a polygon file or ``cnmaps:<adcode>``): only edges that
        touch it, grown by ``buffer_m``, are kept.
    buffer_m
        Margin around the boundary in metres, so walks may leave the area and come back.
    retain_all
        Keep every connected piece; by default only the largest (the one with the most nodes,
        as osmnx's ``retain_all=False``) is kept.
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
        Unknown source form, empty or unreadable file, a GeoPackage with several layers and
        none named, no CRS or no ``highway`` column. Messages name the file (and layer).
    NetworkError
        Nothing walkable, or nothing inside the boundary.

    Notes
    -----
    Road features that cannot be streets (no or unreadable geometry, points or polygons, NaN or
    infinite coordinates, zero length, a segment over
    :data:`~skillcircle.network.build.MAX_SEGMENT_M`) are dropped, logged as a warning and
    counted per reason in ``meta["invalid_features"]``.
    """
    positive(buffer_m, "buffer_m", allow_zero=True)
    text, layer = split_layer(source)
    kind = _kind(text)
    if layer is not None and kind != "roads":  # pragma: no cover - the pattern ends in .gpkg
        raise InputError("only a GeoPackage road layer takes a ':<layer>' suffix", path=text)
    area = _read_boundary(boundary) if boundary is not None else None
    if bridge_gaps_m is not None:
        bridge_gaps_m = positive(bridge_gaps_m, "bridge_gaps_m")
    if kind == "online":
        place = str(source)[len("place:") :] if str(source).startswith("place:") else None
        raw = _load_online(place, area, buffer_m, settings)
        meta: dict[str, Any] = {"source": str(source), "source_sha256": None}
        return _finish(raw, kind, meta, area, buffer_m, retain_all, bridge_gaps_m, settings)
    path = Path(text)
    if not path.is_file():
        raise InputFileNotFoundError(path, "walking network source")
    if path.stat().st_size == 0:
        raise InputError("the file is empty", path=path)
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

    built: list[bool] = []

    def build() -> Network:
        built.append(True)
        if kind == "roads":
            raw = _load_roads(path, settings.crs, layer)
        elif kind == "osm_pbf" and area is not None:  # stream only the study area's box
            raw = _load_pbf(path, settings.crs, bbox=_reading_box(area, buffer_m))
        else:
            raw = _LOADERS[kind](path, settings.crs)
        meta = {
            "source": str(path.resolve()),
            "source_sha256": sha256_file(path),
            "layer": layer,
            "invalid_features": dict(raw.meta.get("invalid_features", {})),
        }
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
        "layer": layer,
    }
    net = cached_network(path, settings, build, options=options)
    invalid = net.meta.get("invalid_features") or {}
    if invalid and not built:  # the builder's warning was logged when the cache was written
        logger.warning(
            "%s: %d unusable road features were dropped when this network was built (%s)",
            text,
            sum(invalid.values()),
            ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in invalid.items()),
        )
    return net


#: Margin (metres) around the buffered study area within which a PBF way needs one node to
#: be read: a street crossing the area with no node inside area + buffer + margin is missed.
PBF_BOX_MARGIN_M = 2_000.0


def _reading_box(area: gpd.GeoDataFrame, buffer_m: float) -> tuple[float, float, float, float]:
    """Longitude/latitude box of the study area grown by ``buffer_m`` + :data:`PBF_BOX_MARGIN_M`."""
    west, south, east, north = (float(v) for v in area.to_crs("EPSG:4326").total_bounds)
    grow = buffer_m + PBF_BOX_MARGIN_M
    d_lat = grow / 110_574.0  # metres per degree of latitude, at most 111 694
    d_lon = grow / (111_320.0 * max(math.cos(math.radians(max(abs(south), abs(north)))), 0.01))
    return (west - d_lon, south - d_lat, east + d_lon, north + d_lat)


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
        edge_coords=net.edge_coords,
        edge_offsets=net.edge_offsets,
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


_LOADERS: Mapping[str, Callable[[Path, str | None], Network]] = {
    "osm_xml": _load_osm_xml,
    "osm_pbf": _load_pbf,
    "graphml": _load_graphml,
    "roads": _load_roads,
}
