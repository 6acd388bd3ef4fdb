"""Exact partitioned coverage: split a study into parts, measure each, merge.

A *part* owns a set of demand units (its *core*: one district, one 街道 or one grid tile) and
the stations nearest to them. It carries a clip of the network and of the stations: every
street within ``reach + max_snap_m`` of an owned point (the *halo*) and every station within
``reach`` of one, where ``reach`` is the farthest distance coverage measures
(:data:`~skillcircle.access.coverage.FAR_FACTOR` × the longest walk distance). Why that is
enough: a walk of length ``d`` from a resident to a station never leaves the disc of radius
``d`` around the resident (a street is never shorter than the straight line), the station is
inside that disc, and the street it snaps to is within ``max_snap_m`` of it. So every path,
every station and every snap edge that can decide a core unit's distance is in the part, and
the part measures each core unit exactly as the single run does; the same holds for an owned
station's distance to the next station. Every unit belongs to exactly one core, so merging
counts a resident on a border once.

The parts reuse the single run's snapping (each unit and station keeps the street point it
snapped to in the whole network, renumbered into the clip), and
:func:`~skillcircle.access.coverage.compute_coverage` measures each part: there is one rule
for coverage. :func:`split` builds the parts, :func:`measure_part` runs one (a task on a
cluster: :mod:`skillcircle.access.distributed`), :func:`merge` puts the results back in the
order of the single run.

Siting uses the same parts with the candidate sites in the place of the stations:
:func:`part_pairs` lists, in one part, every (candidate, core unit) pair within the walk, and
:func:`partitioned_reach_pairs` gathers them: the single run's
:func:`~skillcircle.access.routing.reach_pairs` exactly (each unit is in one core, so each
pair comes once), for the siting solver to solve globally.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree

from skillcircle._errors import InputError
from skillcircle.access.coverage import FAR_FACTOR, Coverage, check_stations, compute_coverage
from skillcircle.access.routing import ReachPairs, reach_pairs
from skillcircle.access.snapping import Snapped
from skillcircle.network.model import Network
from skillcircle.settings import Settings

__all__ = [
    "PARTS_BY",
    "Part",
    "PartPairs",
    "PartResult",
    "check_parts_by",
    "halo_m",
    "measure_part",
    "merge",
    "part_keys",
    "part_pairs",
    "partitioned_coverage",
    "partitioned_reach_pairs",
    "split",
]

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]

#: The ways to split a study (``grid:<km>`` is a tile grid with tiles of that side).
PARTS_BY = ("district", "subdistrict", "grid:<km>")

_GRID = re.compile(r"^grid:(\d+(?:\.\d*)?|\.\d+)$")


def check_parts_by(value: str) -> str:
    """Return ``value`` if it names a way to split a study, else raise.

    Parameters
    ----------
    value
        ``"district"``, ``"subdistrict"`` or ``"grid:<km>"`` (a positive tile side, km).

    Returns
    -------
    str
        ``value``, stripped and lower-cased.

    Raises
    ------
    InputError
        Naming ``parts_by``.

    Examples
    --------
    >>> check_parts_by("grid:2.5")
    'grid:2.5'
    """
    text = str(value).strip().lower() if isinstance(value, str) else ""
    m = _GRID.match(text)
    if text in ("district", "subdistrict") or (m and 0 < float(m.group(1)) <= 1000):
        return text
    raise InputError(
        f"parts_by must be district, subdistrict or grid:<km> (0 < km <= 1000), got {value!r}",
        param="parts_by",
    )


def halo_m(settings: Settings, speeds_kmh: Sequence[float] = ()) -> tuple[float, float]:
    """The reach and the halo of a part, metres.

    Parameters
    ----------
    settings
        Minutes and ``max_snap_m`` (and the speed, when ``speeds_kmh`` is empty).
    speeds_kmh
        Every speed the study measures; the fastest sets the reach.

    Returns
    -------
    reach, halo : float
        ``reach`` = :data:`FAR_FACTOR` × the longest walk distance (stations are kept within
        it of an owned point); ``halo`` = ``reach + max_snap_m`` (streets are kept within it).

    Examples
    --------
    >>> halo_m(Settings(), [4.0, 3.0])
    (3000.0, 3500.0)
    """
    fastest = max(speeds_kmh) if speeds_kmh else settings.speed_kmh
    reach = FAR_FACTOR * settings.replace(speed_kmh=fastest).walk_distance_m
    return reach, reach + settings.max_snap_m


def part_keys(units: gpd.GeoDataFrame, *, parts_by: str) -> npt.NDArray[np.object_]:
    """The part each demand unit belongs to.

    Parameters
    ----------
    units
        Demand units in a projected CRS, with ``district_code`` (``district``) or
        ``subdistrict_code`` (``subdistrict``) columns; ``grid:<km>`` uses the coordinates.
    parts_by
        See :func:`check_parts_by`.

    Returns
    -------
    numpy.ndarray
        One key (text) per unit; units without an area share the key ``""``.
    """
    parts_by = check_parts_by(parts_by)
    if parts_by.startswith("grid:"):
        side = 1000.0 * float(parts_by.split(":", 1)[1])
        x = np.floor(units.geometry.x.to_numpy() / side).astype(np.int64)
        y = np.floor(units.geometry.y.to_numpy() / side).astype(np.int64)
        return np.array([f"{i}_{j}" for i, j in zip(x, y, strict=True)], dtype=object)
    column = "district_code" if parts_by == "district" else "subdistrict_code"
    if column not in units.columns:
        raise InputError(
            f"parts_by={parts_by}: the demand units have no {column!r} column "
            "(give the district or 街道 polygons, or use grid:<km>)",
            param="parts_by",
        )
    return units[column].fillna("").astype(str).to_numpy(dtype=object)


@dataclass(frozen=True)
class Part:
    """One part of a study, ready to be measured on its own (picklable).

    Attributes
    ----------
    key
        The district / 街道 code or grid tile of the core.
    network
        The clip of the walking network (streets within the halo of an owned point).
    units, units_snapped
        The core's demand units (projected CRS) and their snapped points in ``network``.
    stations, stations_snapped
        The stations within reach of an owned point and their snapped points.
    unit_ids, station_ids
        Row positions of ``units`` and ``stations`` in the whole study.
    owned
        Positions (in ``stations``) of the stations this part owns (reports their distance to
        the next station).
    settings, speeds_kmh
        Settings of the headline speed, and every speed to measure.
    """

    key: str
    network: Network
    units: gpd.GeoDataFrame
    units_snapped: Snapped
    stations: gpd.GeoDataFrame
    stations_snapped: Snapped
    unit_ids: IntArray
    station_ids: IntArray
    owned: IntArray
    settings: Settings
    speeds_kmh: tuple[float, ...]


@dataclass(frozen=True)
class PartResult:
    """What one part measured, per speed, in the numbering of the whole study.

    Attributes
    ----------
    key, unit_ids, station_ids, owned
        As in :class:`Part` (``owned`` as positions in ``station_ids``).
    distance_m, nearest_station
        Per speed, per core unit: distance to the nearest station (NaN beyond the far range)
        and its row in the whole study's stations (−1 when none).
    reach_population
        Per speed, per station of the part: population of the core units within the walk
        distance (summed over the parts, the single run's ``reach_population``).
    next_station_m
        Per speed, per owned station: walking distance to the nearest other station.
    """

    key: str
    unit_ids: IntArray
    station_ids: IntArray
    owned: IntArray
    distance_m: dict[float, npt.NDArray[np.float64]]
    nearest_station: dict[float, IntArray]
    reach_population: dict[float, npt.NDArray[np.float64]]
    next_station_m: dict[float, npt.NDArray[np.float64]]


def _renumber(snapped: Snapped, rows: IntArray, new_edge: IntArray, net: Network) -> Snapped:
    """Rows of ``snapped`` with their edges renumbered into the clip ``net``.

    An off-network point may have snapped to a street outside the clip: it routes nowhere,
    so it gets edge 0 (its ``on_network`` is already false).
    """
    sub = snapped.subset(rows)
    edge = new_edge[sub.edge]
    if np.any((edge < 0) & sub.on_network):
        raise InputError("a snapped point's street is outside its part (halo too small)")
    return Snapped(
        edge=np.where(edge < 0, 0, edge).astype(np.int64),
        offset_m=sub.offset_m,
        distance_m=sub.distance_m,
        x=sub.x,
        y=sub.y,
        on_network=sub.on_network,
        network=net.fingerprint,
    )


def _within(points: np.ndarray, seeds: cKDTree | None, distance: float) -> IntArray:
    """Positions in ``points`` within ``distance`` of any seed (sorted; exact).

    ``seeds`` is a k-d tree of the seed coordinates (``None``: no seeds). One nearest-seed
    query per point: a point is within ``distance`` of some seed exactly when its nearest
    seed is.
    """
    if len(points) == 0 or seeds is None:
        return np.zeros(0, dtype=np.int64)
    d, _ = seeds.query(shapely.get_coordinates(points), k=1, distance_upper_bound=distance)
    return np.flatnonzero(d <= distance).astype(np.int64)


def _edge_boxes(network: Network) -> npt.NDArray[np.float64]:
    """Bounding box ``(xmin, ymin, xmax, ymax)`` of every edge's shape, from its coordinates."""
    start = network.edge_offsets[:-1]
    xy = network.edge_coords
    return np.column_stack([
        np.minimum.reduceat(xy[:, 0], start), np.minimum.reduceat(xy[:, 1], start),
        np.maximum.reduceat(xy[:, 0], start), np.maximum.reduceat(xy[:, 1], start),
    ])  # fmt: skip


def _edges_within(
    boxes: npt.NDArray[np.float64], seeds: cKDTree | None, distance: float
) -> IntArray:
    """Edge rows that may come within ``distance`` of a seed point: every one that does.

    An edge lies inside the disc of radius ``r`` (its box's half diagonal) around its box's
    centre ``c``, so its distance to a seed is at least ``|seed - c| - r``: edges whose
    nearest seed is farther than ``distance + r`` from ``c`` are surely out, and the rest are
    kept. The kept set holds every edge within ``distance`` (a few just beyond it, which a
    part may carry without changing any answer), found with one query of the seeds' k-d
    tree per edge.
    """
    if seeds is None:
        return np.zeros(0, dtype=np.int64)
    (x0, y0), (x1, y1) = seeds.mins, seeds.maxes
    # boxes farther than ``distance`` from the seeds' own box: out, without a query
    near = np.flatnonzero(
        (boxes[:, 2] >= x0 - distance) & (boxes[:, 0] <= x1 + distance)
        & (boxes[:, 3] >= y0 - distance) & (boxes[:, 1] <= y1 + distance)
    )  # fmt: skip
    if near.size == 0:
        return near.astype(np.int64)
    b = boxes[near]
    centre = np.column_stack([b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]]) / 2
    r = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / 2
    d, _ = seeds.query(centre, k=1, distance_upper_bound=distance + float(r.max()))
    return near[d <= distance + r].astype(np.int64)


def split(
    network: Network,
    units: gpd.GeoDataFrame,
    units_snapped: Snapped,
    stations: gpd.GeoDataFrame,
    stations_snapped: Snapped,
    *,
    settings: Settings,
    parts_by: str = "district",
    speeds_kmh: Sequence[float] = (),
) -> list[Part]:
    """Split a study into parts that each measure their core exactly.

    Parameters
    ----------
    network
        The whole walking network (projected CRS).
    units, units_snapped
        Every demand unit and its snapped point in ``network``.
    stations, stations_snapped
        Every station and its snapped point in ``network``.
    settings
        Minutes, speed and ``max_snap_m``.
    parts_by
        How to split (:func:`check_parts_by`).
    speeds_kmh
        Every speed to measure (the headline one when empty).

    Returns
    -------
    list of Part
        Sorted by key; each unit is in exactly one core, each station owned by exactly one
        part (the part of the unit nearest to it in a straight line).
    """
    speeds = tuple(speeds_kmh) or (settings.speed_kmh,)
    reach, halo = halo_m(settings, speeds)
    un = units.to_crs(network.crs) if units.crs != network.crs else units
    st = stations.to_crs(network.crs) if stations.crs != network.crs else stations
    keys = part_keys(un, parts_by=parts_by)
    names = sorted(set(keys.tolist()))
    index = {k: i for i, k in enumerate(names)}
    unit_part = np.array([index[k] for k in keys], dtype=np.int64)
    unit_pts = un.geometry.to_numpy()
    st_pts = st.geometry.to_numpy()
    station_part = np.zeros(len(st), dtype=np.int64)
    if len(st) and len(un):
        where = shapely.STRtree(unit_pts).query_nearest(st_pts, all_matches=False)
        station_part[where[0]] = unit_part[where[1]]
    boxes = _edge_boxes(network)
    parts: list[Part] = []
    for i, key in enumerate(names):
        unit_ids = np.flatnonzero(unit_part == i).astype(np.int64)
        owned_ids = np.flatnonzero(station_part == i).astype(np.int64)
        seeds = np.concatenate([unit_pts[unit_ids], st_pts[owned_ids]])
        tree = cKDTree(shapely.get_coordinates(seeds)) if len(seeds) else None
        station_ids = np.union1d(_within(st_pts, tree, reach), owned_ids).astype(np.int64)
        keep = np.zeros(network.n_edges, dtype=bool)
        keep[_edges_within(boxes, tree, halo)] = True
        # the snap streets of kept points (within the halo already, unless off-network)
        keep[units_snapped.edge[unit_ids][units_snapped.on_network[unit_ids]]] = True
        keep[stations_snapped.edge[station_ids][stations_snapped.on_network[station_ids]]] = True
        sub = network.edge_subnetwork(keep, meta={"part": key})
        new_edge = np.cumsum(keep) - 1
        new_edge[~keep] = -1
        parts.append(
            Part(
                key=key,
                network=sub,
                units=un.iloc[unit_ids][["population", "geometry"]].reset_index(drop=True),
                units_snapped=_renumber(units_snapped, unit_ids, new_edge, sub),
                stations=st.iloc[station_ids][["geometry"]].reset_index(drop=True),
                stations_snapped=_renumber(stations_snapped, station_ids, new_edge, sub),
                unit_ids=unit_ids,
                station_ids=station_ids,
                owned=np.searchsorted(station_ids, owned_ids).astype(np.int64),
                settings=settings,
                speeds_kmh=speeds,
            )
        )
    logger.info(
        "%d parts by %s: %s units, %s streets in the largest (of %d)",
        len(parts),
        parts_by,
        max((len(p.units) for p in parts), default=0),
        max((p.network.n_edges for p in parts), default=0),
        network.n_edges,
    )
    return parts


def measure_part(part: Part) -> PartResult:
    """Measure one part at every speed (a task of its own on a cluster).

    Parameters
    ----------
    part
        A part from :func:`split`.

    Returns
    -------
    PartResult
    """
    n_units, n_st = len(part.units), len(part.stations)
    distance: dict[float, npt.NDArray[np.float64]] = {}
    nearest: dict[float, IntArray] = {}
    reach: dict[float, npt.NDArray[np.float64]] = {}
    nxt: dict[float, npt.NDArray[np.float64]] = {}
    routable = bool(part.stations_snapped.on_network.any())
    for speed in part.speeds_kmh:
        if not routable:  # no station can reach this core: nobody covered, nothing near
            distance[speed] = np.full(n_units, np.nan)
            nearest[speed] = np.full(n_units, -1, dtype=np.int64)
            reach[speed] = np.zeros(n_st)
            nxt[speed] = np.full(len(part.owned), np.nan)
            continue
        cov = compute_coverage(
            part.network,
            part.stations,
            part.units,
            settings=part.settings.replace(speed_kmh=speed),
            units_snapped=part.units_snapped,
            stations_snapped=part.stations_snapped,
        )
        local = cov.units["nearest_station"].to_numpy(dtype=np.int64)
        distance[speed] = cov.units["distance_m"].to_numpy(dtype=np.float64)
        nearest[speed] = np.where(local >= 0, part.station_ids[np.maximum(local, 0)], -1)
        reach[speed] = cov.stations["reach_population"].to_numpy(dtype=np.float64)
        nxt[speed] = cov.stations["next_station_m"].to_numpy(dtype=np.float64)[part.owned]
    return PartResult(
        key=part.key,
        unit_ids=part.unit_ids,
        station_ids=part.station_ids,
        owned=part.owned,
        distance_m=distance,
        nearest_station=nearest,
        reach_population=reach,
        next_station_m=nxt,
    )


def merge(
    results: Sequence[PartResult],
    network: Network,
    units: gpd.GeoDataFrame,
    units_snapped: Snapped,
    stations: gpd.GeoDataFrame,
    stations_snapped: Snapped,
    *,
    settings: Settings,
    speeds_kmh: Sequence[float] = (),
) -> dict[float, Coverage]:
    """Put the parts' results back together: the single run's coverage at every speed.

    Parameters
    ----------
    results
        One result per part of :func:`split` (any order).
    network, units, units_snapped, stations, stations_snapped, settings, speeds_kmh
        As given to :func:`split`.

    Returns
    -------
    dict
        :class:`~skillcircle.access.coverage.Coverage` keyed by speed, the headline first:
        the same units and stations, columns and values as
        :func:`~skillcircle.access.coverage.compute_coverage` on the whole study.

    Raises
    ------
    InputError
        When the results do not cover every unit exactly once.
    """
    speeds = tuple(speeds_kmh) or (settings.speed_kmh,)
    seen = np.zeros(len(units), dtype=np.int64)
    for r in results:
        np.add.at(seen, r.unit_ids, 1)
    if np.any(seen != 1):
        raise InputError(
            f"the parts cover {int(np.count_nonzero(seen == 0))} unit(s) none and "
            f"{int(np.count_nonzero(seen > 1))} more than once"
        )
    out: dict[float, Coverage] = {}
    for speed in speeds:
        s = settings.replace(speed_kmh=speed)
        limit = s.walk_distance_m
        un = units.to_crs(network.crs) if units.crs != network.crs else units.copy()
        st = stations.to_crs(network.crs) if stations.crs != network.crs else stations.copy()
        dist = np.full(len(un), np.nan)
        who = np.full(len(un), -1, dtype=np.int64)
        reach = np.zeros(len(st))
        nxt = np.full(len(st), np.nan)
        for r in results:
            dist[r.unit_ids] = r.distance_m[speed]
            who[r.unit_ids] = r.nearest_station[speed]
            np.add.at(reach, r.station_ids, r.reach_population[speed])
            nxt[r.station_ids[r.owned]] = r.next_station_m[speed]
        un["snap_distance_m"] = units_snapped.distance_m
        un["off_network"] = ~units_snapped.on_network
        un["distance_m"] = dist
        un["nearest_station"] = who
        un["covered"] = np.nan_to_num(dist, nan=np.inf) <= limit
        st["snap_distance_m"] = stations_snapped.distance_m
        st["on_network"] = stations_snapped.on_network
        st["reach_population"] = reach
        st["next_station_m"] = nxt
        out[speed] = Coverage(
            units=un,
            stations=st,
            walk_distance_m=limit,
            speed_kmh=speed,
            minutes=s.minutes,
            stations_snapped=stations_snapped,
        )
    return out


#: Runs :func:`measure_part` (or :func:`part_pairs`) over parts: the local loop by default,
#: a Dask client's map.
Runner = Callable[[list[Part]], list[Any]]


def partitioned_coverage(
    network: Network,
    stations: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    settings: Settings,
    units_snapped: Snapped,
    stations_snapped: Snapped,
    parts_by: str = "district",
    speeds_kmh: Sequence[float] = (),
    run: Runner | None = None,
) -> tuple[dict[float, Coverage], int]:
    """Coverage at every speed, measured part by part (see the module notes).

    Parameters
    ----------
    network, stations, units, settings, units_snapped, stations_snapped
        As for :func:`~skillcircle.access.coverage.compute_coverage` (both snapped sets
        required: the parts reuse them).
    parts_by
        How to split (:func:`check_parts_by`).
    speeds_kmh
        Every speed (the headline first); the settings' speed when empty.
    run
        Measures a list of parts (default: one after the other in this process).

    Returns
    -------
    coverage : dict
        As :func:`merge`.
    parts : int
        How many parts were measured.
    """
    check_stations(stations, stations_snapped, settings=settings, warn=False)
    st = stations.to_crs(network.crs) if stations.crs != network.crs else stations
    un = units.to_crs(network.crs) if units.crs != network.crs else units
    parts = split(
        network,
        un,
        units_snapped,
        st,
        stations_snapped,
        settings=settings,
        parts_by=parts_by,
        speeds_kmh=speeds_kmh,
    )
    results = run(parts) if run is not None else [measure_part(p) for p in parts]
    coverage = merge(
        results,
        network,
        units,
        units_snapped,
        stations,
        stations_snapped,
        settings=settings,
        speeds_kmh=speeds_kmh,
    )
    return coverage, len(parts)


@dataclass(frozen=True)
class PartPairs:
    """The (source, unit) pairs within the walk of one part's core units, study-numbered.

    Attributes
    ----------
    key
        The part.
    origin, target, distance_m
        Source row, unit row (both in the whole study) and walking distance of each pair.
    """

    key: str
    origin: IntArray
    target: IntArray
    distance_m: npt.NDArray[np.float64]


def part_pairs(part: Part) -> PartPairs:
    """Every (source, core unit) pair of a part within its walk (a task of its own).

    ``part.stations`` are the sources (candidate sites): those within reach of a core unit.

    Parameters
    ----------
    part
        A part from :func:`split` with the sources as its stations.

    Returns
    -------
    PartPairs
    """
    if not part.stations_snapped.on_network.any():
        empty = np.zeros(0, dtype=np.int64)
        return PartPairs(part.key, empty, empty.copy(), np.zeros(0, dtype=np.float64))
    pairs = reach_pairs(
        part.network,
        part.stations_snapped,
        part.units_snapped,
        limit=part.settings.walk_distance_m,
    )
    return PartPairs(
        key=part.key,
        origin=part.station_ids[pairs.origin],
        target=part.unit_ids[pairs.target],
        distance_m=pairs.distance_m,
    )


def partitioned_reach_pairs(
    network: Network,
    sources: gpd.GeoDataFrame,
    sources_snapped: Snapped,
    units: gpd.GeoDataFrame,
    units_snapped: Snapped,
    *,
    settings: Settings,
    parts_by: str = "district",
    run: Runner | None = None,
) -> tuple[ReachPairs, int]:
    """:func:`~skillcircle.access.routing.reach_pairs` within the walk, part by part.

    Parameters
    ----------
    network
        The whole walking network.
    sources, sources_snapped
        The origins (candidate sites) and their snapped points in ``network``.
    units, units_snapped
        The demand units (with the columns ``parts_by`` needs) and their snapped points.
    settings
        Walk distance and ``max_snap_m``.
    parts_by
        How to split (:func:`check_parts_by`).
    run
        Runs :func:`part_pairs` over the parts (default: one after the other here).

    Returns
    -------
    pairs : ReachPairs
        The same pairs, distances and order as ``reach_pairs(network, sources_snapped,
        units_snapped, limit=settings.walk_distance_m)``.
    parts : int
        How many parts were measured.
    """
    parts = split(
        network,
        units,
        units_snapped,
        sources,
        sources_snapped,
        settings=settings,
        parts_by=parts_by,
    )
    results: list[PartPairs] = run(parts) if run is not None else [part_pairs(p) for p in parts]
    origin = np.concatenate([r.origin for r in results] or [np.zeros(0, dtype=np.int64)])
    target = np.concatenate([r.target for r in results] or [np.zeros(0, dtype=np.int64)])
    dist = np.concatenate([r.distance_m for r in results] or [np.zeros(0)])
    order = np.lexsort((target, origin))
    return (
        ReachPairs(
            origin=origin[order].astype(np.int64),
            target=target[order].astype(np.int64),
            distance_m=dist[order].astype(np.float64),
            n_origins=len(sources),
            n_targets=len(units),
        ),
        len(parts),
    )
