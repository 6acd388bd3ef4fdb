"""Population coverage: who can walk to a station within the time budget.

The definition the whole project uses (also written in the README):

* the network is the walking network as loaded (largest connected component by default);
* demand units and stations are snapped to the nearest point of the nearest edge;
* the walking distance from a unit to a station is
  ``unit snap distance + network distance between the snapped points + station snap distance``;
* a unit is **covered** when its distance to the nearest station is at most
  ``speed_kmh × minutes`` (4.0 km/h × 15 min = 1 000 m by default);
* a unit (or station) farther than ``max_snap_m`` from the network is **off-network**: it is
  never covered (nor covering), and off-network population is counted separately.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from skillcircle._errors import InputError
from skillcircle.access.routing import nearest, reach_pairs
from skillcircle.access.snapping import Snapped, check_network, snap_geoseries
from skillcircle.network.model import Network
from skillcircle.settings import Settings

__all__ = [
    "COVERAGE_UNIT_COLUMNS",
    "FAR_FACTOR",
    "Coverage",
    "check_stations",
    "compute_coverage",
    "coverage_table",
]

logger = logging.getLogger(__name__)

#: Distances to the nearest station are measured up to this multiple of the walk distance
#: (for "how far off" maps); farther units get ``distance_m = NaN``.
FAR_FACTOR = 3.0

#: Columns :func:`compute_coverage` adds to each demand unit.
COVERAGE_UNIT_COLUMNS = (
    "snap_distance_m",
    "off_network",
    "distance_m",
    "nearest_station",
    "covered",
)

TABLE_COLUMNS = [
    "population",
    "covered_population",
    "coverage_pct",
    "stations",
    "population_per_station",
    "uncovered_population",
    "offnetwork_population",
]


@dataclass(frozen=True)
class Coverage:
    """Coverage of demand units by stations at one walking distance.

    Attributes
    ----------
    units
        The demand units (projected CRS) with added columns ``snap_distance_m``,
        ``off_network``, ``distance_m`` (walking distance to the nearest station, NaN when
        beyond ``FAR_FACTOR × walk_distance_m`` or unreachable), ``nearest_station`` (row
        position in ``stations``, −1 when none within that range) and ``covered``.
    stations
        The stations (projected CRS) with ``snap_distance_m``, ``on_network``,
        ``reach_population`` (population of all units within the walk distance of this
        station, whether or not another station is nearer) and ``next_station_m`` (walking
        distance to the nearest other station, NaN when beyond the far range).
    walk_distance_m
        The coverage threshold in metres.
    speed_kmh, minutes
        The walking speed and time budget that gave ``walk_distance_m``.
    stations_snapped
        The stations snapped to the network (reused for isochrones and siting).
    """

    units: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    walk_distance_m: float
    speed_kmh: float
    minutes: float
    stations_snapped: Snapped

    @property
    def population(self) -> float:
        """Total population of the demand units."""
        return float(self.units["population"].sum())

    @property
    def covered_population(self) -> float:
        """Population of covered units."""
        return float(self.units.loc[self.units["covered"], "population"].sum())

    @property
    def offnetwork_population(self) -> float:
        """Population of units farther than ``max_snap_m`` from the network."""
        return float(self.units.loc[self.units["off_network"], "population"].sum())

    @property
    def coverage_pct(self) -> float:
        """Covered share of the population, 0-100."""
        total = self.population
        return 100.0 * self.covered_population / total if total > 0 else 0.0


def compute_coverage(
    net: Network,
    stations: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    settings: Settings,
    units_snapped: Snapped | None = None,
    stations_snapped: Snapped | None = None,
) -> Coverage:
    """Compute which demand units are within walking distance of a station.

    Parameters
    ----------
    net
        The walking network (projected CRS).
    stations
        Station points in any CRS.
    units
        Demand-unit points in any CRS with a ``population`` column.
    settings
        Walk speed, minutes and ``max_snap_m``.
    units_snapped
        The units already snapped to ``net`` (reused across speeds); snapped here when omitted.
    stations_snapped
        The stations already snapped to ``net`` (reused across speeds); snapped here, with a
        warning about stations off the network, when omitted.

    Returns
    -------
    Coverage

    Raises
    ------
    InputError
        When no station lies within ``max_snap_m`` of the network, or a snapped set given
        was snapped to another network.
    """
    if "population" not in units.columns:
        raise InputError("demand units have no 'population' column")
    limit = settings.walk_distance_m
    st = stations.to_crs(net.crs) if stations.crs != net.crs else stations.copy()
    un = units.to_crs(net.crs) if units.crs != net.crs else units.copy()
    for given, what in ((stations_snapped, "stations_snapped"), (units_snapped, "units_snapped")):
        if given is not None:
            check_network(net, given, what)
    st_snap = stations_snapped or snap_geoseries(net, st, max_snap_m=settings.max_snap_m)
    un_snap = units_snapped or snap_geoseries(net, un, max_snap_m=settings.max_snap_m)
    check_stations(st, st_snap, settings=settings, warn=stations_snapped is None)

    far = nearest(net, st_snap, un_snap, limit=FAR_FACTOR * limit)
    dist = np.where(np.isfinite(far.distance_m), far.distance_m, np.nan)
    un["snap_distance_m"] = un_snap.distance_m
    un["off_network"] = ~un_snap.on_network
    un["distance_m"] = dist
    un["nearest_station"] = far.origin.astype(np.int64)
    un["covered"] = np.nan_to_num(dist, nan=np.inf) <= limit

    pairs = reach_pairs(net, st_snap, un_snap, limit=limit)
    pop = un["population"].to_numpy(dtype=np.float64)
    st["snap_distance_m"] = st_snap.distance_m
    st["on_network"] = st_snap.on_network
    st["reach_population"] = np.bincount(pairs.origin, weights=pop[pairs.target], minlength=len(st))
    st["next_station_m"] = _next_station_distance(net, st_snap, limit=FAR_FACTOR * limit)
    return Coverage(
        units=un,
        stations=st,
        walk_distance_m=limit,
        speed_kmh=settings.speed_kmh,
        minutes=settings.minutes,
        stations_snapped=st_snap,
    )


def check_stations(
    stations: gpd.GeoDataFrame, snapped: Snapped, *, settings: Settings, warn: bool = True
) -> None:
    """Refuse stations none of which is on the network; warn about those off it.

    Parameters
    ----------
    stations
        The stations.
    snapped
        Their snapped points.
    settings
        ``max_snap_m``, for the messages.
    warn
        Log a warning naming how many stations are off the network.

    Raises
    ------
    InputError
        When there are stations and none lies within ``max_snap_m`` of the network.
    """
    if len(stations) and not snapped.on_network.any():
        raise InputError(
            f"none of the {len(stations)} stations lies within {settings.max_snap_m:g} m of the "
            "walking network: check the stations' coordinate system (coords) and the network's "
            "area",
            param="coords",
        )
    n_off = int((~snapped.on_network).sum())
    if n_off and warn:
        logger.warning(
            "%d station(s) lie farther than %g m from the walking network and reach no one "
            "(flagged off_network in the station table)",
            n_off,
            settings.max_snap_m,
        )


def _next_station_distance(net: Network, snapped: Snapped, *, limit: float) -> np.ndarray:
    """Walking distance from each station to the nearest *other* station (NaN beyond limit)."""
    out = np.full(len(snapped), np.nan)
    if len(snapped) < 2:
        return out
    pairs = reach_pairs(net, snapped, snapped, limit=limit)
    other = pairs.origin != pairs.target
    if other.any():
        frame = pd.DataFrame(
            {"target": pairs.target[other], "distance": pairs.distance_m[other]}
        ).groupby("target")["distance"]
        best = frame.min()
        out[best.index.to_numpy()] = best.to_numpy()
    return out


def coverage_table(
    coverage: Coverage,
    *,
    by: Sequence[str] = ("district_code", "district_name"),
) -> pd.DataFrame:
    """Population, covered population and stations per area.

    Parameters
    ----------
    coverage
        The coverage result.
    by
        Unit and station columns to group by (e.g. district code and name, or district code,
        街道 code and 街道 name). Units without a value are grouped under an empty string so
        that rows always add up to their parent area.

    Returns
    -------
    pandas.DataFrame
        Columns ``by`` followed by ``population, covered_population, coverage_pct, stations,
        population_per_station, uncovered_population, offnetwork_population``; one row per
        area, sorted by ``by``, without a total row (files get one when they are written).
    """
    keys = list(by)
    units = coverage.units
    for key in keys:
        if key not in units.columns:
            raise InputError(f"demand units have no {key!r} column to group by")
    u = pd.DataFrame({k: units[k].fillna("").astype(str) for k in keys})
    pop = units["population"].to_numpy(dtype=np.float64)
    u["population"] = pop
    u["covered_population"] = np.where(units["covered"].to_numpy(), pop, 0.0)
    u["offnetwork_population"] = np.where(units["off_network"].to_numpy(), pop, 0.0)
    table = u.groupby(keys, sort=True, dropna=False)[
        ["population", "covered_population", "offnetwork_population"]
    ].sum()

    st = coverage.stations
    if all(k in st.columns for k in keys):
        s = pd.DataFrame({k: st[k].fillna("").astype(str) for k in keys})
        counts = s.groupby(keys, dropna=False).size()
        table = table.join(counts.rename("stations"), how="outer")
    else:
        table["stations"] = 0
    table = table.fillna(0.0).reset_index()
    table["stations"] = table["stations"].astype(np.int64)
    table["coverage_pct"] = np.where(
        table["population"] > 0, 100.0 * table["covered_population"] / table["population"], 0.0
    )
    table["uncovered_population"] = table["population"] - table["covered_population"]
    table["population_per_station"] = np.where(
        table["stations"] > 0, table["population"] / table["stations"].clip(lower=1), np.nan
    )
    return table[[*keys, *TABLE_COLUMNS]]
