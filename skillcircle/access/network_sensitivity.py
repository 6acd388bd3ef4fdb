"""Coverage under network uncertainty: the same stations on three readings of the streets.

OpenStreetMap in Chinese cities falls into pieces: a footway that stops a few metres short
of a street, a compound's paths never joined to the road outside, an export that leaves out
steps and service roads. Which pieces count changes coverage by several points, and by tens
of points in a single 街道. This module measures the headline coverage three ways:

``main``
    The largest connected piece (the default headline: every resident is measured on it).
``all_pieces``
    Every piece kept: residents whose nearest street is on a cut-off piece reach only what
    that piece reaches.
``bridged``
    Dead ends joined to the nearest node of another piece within ``network_gap_m``
    (:func:`~skillcircle.network.quality.bridge_gaps`: digitising gaps taken as real
    connections), then the largest piece.

Nothing here changes the headline; the figures sit next to it in every report and in
``summary.json["network_sensitivity"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from skillcircle._errors import InputError
from skillcircle.access.routing import nearest
from skillcircle.access.snapping import snap_geoseries
from skillcircle.inputs.areas import sums_by_area
from skillcircle.network.model import Network
from skillcircle.network.quality import VIRTUAL_LINK, bridge_gaps
from skillcircle.settings import Settings

__all__ = [
    "DIFFERENCE_PP",
    "VARIANTS",
    "AreaSensitivity",
    "NetworkSensitivity",
    "network_sensitivity",
]

logger = logging.getLogger(__name__)

#: The readings of the network, in the order they are reported.
VARIANTS = ("main", "all_pieces", "bridged")

#: An area whose coverage differs by more than this many percentage points between two
#: readings is named in the reports.
DIFFERENCE_PP = 5.0


@dataclass(frozen=True, kw_only=True)
class AreaSensitivity:
    """Coverage of one 区 or 街道 under each reading of the network.

    Attributes
    ----------
    code, name
        The area's code and name.
    population
        Its residents.
    coverage_pct
        Reading (a key of :data:`VARIANTS`) → coverage, 0-100.
    """

    code: str
    name: str
    population: float
    coverage_pct: dict[str, float]

    @property
    def spread_pp(self) -> float:
        """Highest minus lowest coverage across the readings, percentage points."""
        values = list(self.coverage_pct.values())
        return max(values) - min(values) if values else 0.0

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict (figures as stored: populations to 0.001, percentages to 0.0001)."""
        return {
            "code": self.code,
            "name": self.name,
            "population": round(self.population, 3),
            "coverage_pct": {k: round(v, 4) for k, v in self.coverage_pct.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AreaSensitivity:
        """Read what :meth:`to_json` wrote."""
        return cls(
            code=str(data["code"]),
            name=str(data["name"]),
            population=float(data["population"]),
            coverage_pct={str(k): float(v) for k, v in dict(data["coverage_pct"]).items()},
        )


@dataclass(frozen=True, kw_only=True)
class NetworkSensitivity:
    """The headline coverage under each reading of the network, overall and by area.

    Attributes
    ----------
    headline
        The reading the headline figures use (``"main"``, or ``"all_pieces"`` when every
        piece was kept).
    gap_m
        Longest gap joined in the ``bridged`` reading, metres (0: no such reading).
    links
        Gaps joined in the ``bridged`` reading's main piece.
    coverage_pct, covered_population
        Reading → coverage (0-100) and residents covered, the whole study area.
    by_district, by_subdistrict
        The same per 区 and per 街道 (``None`` without 街道 polygons).
    threshold_pp
        Areas whose readings differ by more than this are :attr:`differing`.
    """

    headline: str
    gap_m: float
    links: int
    coverage_pct: dict[str, float]
    covered_population: dict[str, float]
    by_district: tuple[AreaSensitivity, ...]
    by_subdistrict: tuple[AreaSensitivity, ...] | None
    threshold_pp: float = DIFFERENCE_PP

    @property
    def spread_pp(self) -> float:
        """Highest minus lowest overall coverage across the readings, percentage points."""
        values = list(self.coverage_pct.values())
        return max(values) - min(values)

    @property
    def differing(self) -> tuple[AreaSensitivity, ...]:
        """街道 (districts without 街道) whose readings differ by more than the threshold.

        Widest spread first; areas without residents are left out.
        """
        areas = self.by_subdistrict if self.by_subdistrict is not None else self.by_district
        found = [a for a in areas if a.population > 0 and a.spread_pp > self.threshold_pp]
        return tuple(sorted(found, key=lambda a: (-a.spread_pp, a.code)))

    def frame(self, *, subdistricts: bool = True) -> pd.DataFrame:
        """The figures by area as a table, one row per 街道 (or per district).

        Parameters
        ----------
        subdistricts
            One row per 街道 when measured (else per district, as with ``False``).

        Returns
        -------
        pandas.DataFrame
            ``subdistrict_code, subdistrict_name`` (``district_code, district_name``),
            ``population``, ``coverage_pct_<reading>`` for each reading, ``spread_pp``;
            sorted by code.
        """
        sub = subdistricts and self.by_subdistrict is not None
        areas = self.by_subdistrict if sub and self.by_subdistrict else self.by_district
        level = "subdistrict" if sub else "district"
        keys = list(self.coverage_pct)
        rows = [
            {
                f"{level}_code": a.code,
                f"{level}_name": a.name,
                "population": a.population,
                **{f"coverage_pct_{k}": a.coverage_pct.get(k, np.nan) for k in keys},
                "spread_pp": a.spread_pp,
            }
            for a in areas
        ]
        columns = [
            f"{level}_code",
            f"{level}_name",
            "population",
            *[f"coverage_pct_{k}" for k in keys],
            "spread_pp",
        ]
        return pd.DataFrame(rows, columns=columns)

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict written as ``summary.json["network_sensitivity"]``."""
        return {
            "headline": self.headline,
            "gap_m": self.gap_m,
            "links": self.links,
            "coverage_pct": {k: round(v, 4) for k, v in self.coverage_pct.items()},
            "covered_population": {k: round(v, 3) for k, v in self.covered_population.items()},
            "threshold_pp": self.threshold_pp,
            "differing_subdistricts"
            if self.by_subdistrict is not None
            else "differing_districts": [a.name for a in self.differing],
            "by_district": [a.to_json() for a in self.by_district],
            "by_subdistrict": None
            if self.by_subdistrict is None
            else [a.to_json() for a in self.by_subdistrict],
        }

    @classmethod
    def from_json(cls, data: Any) -> NetworkSensitivity | None:
        """Read what :meth:`to_json` wrote; ``None`` when ``data`` is not a mapping.

        Raises
        ------
        InputError
            When a mapping lacks a key or holds a value of the wrong type.
        """
        if not isinstance(data, Mapping):
            return None
        try:
            sub = data.get("by_subdistrict")
            return cls(
                headline=str(data["headline"]),
                gap_m=float(data["gap_m"]),
                links=int(data["links"]),
                coverage_pct={str(k): float(v) for k, v in dict(data["coverage_pct"]).items()},
                covered_population={
                    str(k): float(v) for k, v in dict(data["covered_population"]).items()
                },
                by_district=tuple(AreaSensitivity.from_json(a) for a in data["by_district"]),
                by_subdistrict=None
                if sub is None
                else tuple(AreaSensitivity.from_json(a) for a in sub),
                threshold_pp=float(data.get("threshold_pp", DIFFERENCE_PP)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"summary 'network_sensitivity' unreadable ({exc})", field="network_sensitivity"
            ) from exc


def _covered(
    net: Network, stations: gpd.GeoDataFrame, units: gpd.GeoDataFrame, settings: Settings
) -> np.ndarray:
    """Which units are within the walk of a station on ``net`` (no warnings: a what-if)."""
    st = snap_geoseries(net, stations, max_snap_m=settings.max_snap_m)
    un = snap_geoseries(net, units, max_snap_m=settings.max_snap_m)
    if not st.on_network.any():
        return np.zeros(len(units), dtype=bool)
    limit = settings.walk_distance_m
    found = nearest(net, st, un, limit=limit)
    return np.asarray(np.nan_to_num(found.distance_m, nan=np.inf) <= limit)


def _by_area(
    units: gpd.GeoDataFrame,
    covered: Mapping[str, np.ndarray],
    *,
    code: str,
    name: str,
) -> tuple[AreaSensitivity, ...]:
    """One :class:`AreaSensitivity` per value of the ``code`` column, sorted by code."""
    pop = units["population"].to_numpy(dtype=np.float64)
    values = {"population": pop, **{k: np.where(f, pop, 0.0) for k, f in covered.items()}}
    sums = sums_by_area(units, values, code=code, name=name)
    return tuple(
        AreaSensitivity(
            code=str(area_code),
            name=str(area_name),
            population=round(float(row["population"]), 3),
            coverage_pct={
                k: round(100.0 * float(row[k]) / float(row["population"]), 4)
                if row["population"] > 0
                else 0.0
                for k in covered
            },
        )
        for (area_code, area_name), row in sums.iterrows()
    )


def network_sensitivity(
    all_pieces: Network,
    stations: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    settings: Settings,
    headline: str,
    headline_covered: np.ndarray,
    area_columns: Sequence[tuple[str, str]] = (("district_code", "district_name"),),
) -> NetworkSensitivity:
    """Measure the headline coverage on every reading of the network.

    Parameters
    ----------
    all_pieces
        The network with every piece kept (as loaded with ``retain_all=True``).
    stations
        The stations (any CRS).
    units
        Demand units (any CRS) with ``population`` and the ``area_columns``.
    settings
        Walk distance, ``max_snap_m`` and ``network_gap_m`` (0: no ``bridged`` reading).
    headline
        The reading the headline used, ``"main"`` or ``"all_pieces"``; its figures are taken
        from ``headline_covered`` (so they equal the headline exactly), not recomputed.
    headline_covered
        Per unit, whether the headline covers it.
    area_columns
        ``(code, name)`` column pairs of ``units``: the districts', then (optionally) the
        街道's.

    Returns
    -------
    NetworkSensitivity
        Populations rounded to 0.001, percentages to 0.0001 (as in ``summary.json``).

    Examples
    --------
    Two streets 10 m apart, a station on one and a resident on the other:

    >>> import geopandas as gpd, numpy as np
    >>> from shapely.geometry import Point
    >>> net = Network.from_edges([0, 100, 110, 300], [0, 0, 0, 0], [0, 2], [1, 3],
    ...                          crs="EPSG:32649")
    >>> st = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:32649")
    >>> un = gpd.GeoDataFrame({"population": [10.0], "district_code": ["1"],
    ...                        "district_name": ["A"]}, geometry=[Point(300, 0)],
    ...                       crs="EPSG:32649")
    >>> ns = network_sensitivity(net, st, un, settings=Settings(crs="EPSG:32649"),
    ...                          headline="main", headline_covered=np.array([False]))
    >>> ns.coverage_pct, ns.links
    ({'main': 0.0, 'all_pieces': 0.0, 'bridged': 100.0}, 1)
    """
    if headline not in ("main", "all_pieces"):
        raise InputError(f"headline must be 'main' or 'all_pieces', got {headline!r}")
    covered: dict[str, np.ndarray] = {}
    main = all_pieces.largest_component()
    covered["main"] = (
        headline_covered if headline == "main" else _covered(main, stations, units, settings)
    )
    covered["all_pieces"] = (
        headline_covered
        if headline == "all_pieces"
        else _covered(all_pieces, stations, units, settings)
    )
    links = 0
    if settings.network_gap_m > 0:
        joined, _ = bridge_gaps(all_pieces, max_gap_m=settings.network_gap_m)
        joined = joined.largest_component()
        links = int((joined.edge_attrs["highway"] == VIRTUAL_LINK).sum())
        covered["bridged"] = _covered(joined, stations, units, settings)
    pop = units["population"].to_numpy(dtype=np.float64)
    total = float(pop.sum())
    covered_pop = {k: round(float(pop[v].sum()), 3) for k, v in covered.items()}
    pcts = {k: round(100.0 * v / total, 4) if total > 0 else 0.0 for k, v in covered_pop.items()}
    tables = [_by_area(units, covered, code=c, name=n) for c, n in area_columns]
    return NetworkSensitivity(
        headline=headline,
        gap_m=float(settings.network_gap_m),
        links=links,
        coverage_pct=pcts,
        covered_population=covered_pop,
        by_district=tables[0],
        by_subdistrict=tables[1] if len(tables) > 1 else None,
    )
