"""Training capacity within reach: two-step floating catchment area (2SFCA, E2SFCA).

Coverage says who *can* walk to a station; accessibility says how much training each resident
can count on, once every station's capacity is shared among everyone who can reach it. On
the exact walking distances of the coverage engine (a resident's walk ``d_ij`` to station
``j``, at most the walk distance), with capacity ``S_j`` (trainings per year) and demand
``D_i`` (the demand group's residents of unit ``i``):

1. each station's supply ratio ``R_j = S_j / Σ_i w(d_ij) D_i`` (trainings per resident
   within its reach; 0 when nobody is within reach);
2. each unit's accessibility ``A_i = Σ_j w(d_ij) R_j`` (trainings per year per resident),
   reported per 1 000 residents.

``method="2sfca"`` weighs every walk within the limit 1 (Luo & Wang 2003). ``"e2sfca"`` (Luo &
Qi 2009) weighs the nearest third of the walk 1.00, the middle third 0.68 and the farthest
third 0.22, their stepped Gaussian weights. With the same weights in both steps, supply is
conserved: ``Σ_i A_i D_i = Σ_j S_j`` over the stations that reach anyone.

A station is **over-subscribed** when the trainings wanted within its reach (weighted demand ×
the participation rate, trainings per resident per year) exceed its capacity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from skillcircle._errors import InputError
from skillcircle.inputs.areas import sums_by_area

__all__ = [
    "ACCESS_AREA_COLUMNS",
    "ACCESS_STATION_COLUMNS",
    "ACCESS_UNIT_COLUMNS",
    "DEFAULT_PARTICIPATION",
    "E2SFCA_WEIGHTS",
    "METHODS",
    "AccessSummary",
    "Accessibility",
    "AreaAccess",
    "access_summary",
    "catchment_weights",
    "floating_catchment",
]

#: Accessibility methods.
METHODS = ("2sfca", "e2sfca")

#: E2SFCA weights of the nearest, middle and farthest third of the walk (Luo & Qi 2009).
E2SFCA_WEIGHTS = (1.0, 0.68, 0.22)

FloatArray = npt.NDArray[np.float64]


def catchment_weights(distance_m: npt.ArrayLike, *, limit_m: float, method: str) -> FloatArray:
    """Weight of each walk in a catchment.

    Parameters
    ----------
    distance_m
        Walking distances, metres.
    limit_m
        The walk distance: farther walks weigh 0.
    method
        ``"2sfca"`` (1 within the limit) or ``"e2sfca"`` (:data:`E2SFCA_WEIGHTS` by thirds).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> catchment_weights([0, 300, 500, 900, 1001], limit_m=1000, method="e2sfca").tolist()
    [1.0, 1.0, 0.68, 0.22, 0.0]
    """
    if method not in METHODS:
        raise InputError(
            f"access_method must be one of {', '.join(METHODS)}, got {method!r}",
            param="access_method",
        )
    d = np.asarray(distance_m, dtype=np.float64)
    inside = np.isfinite(d) & (d <= limit_m)
    if method == "2sfca":
        return inside.astype(np.float64)
    third = limit_m / 3.0
    w = np.select([d <= third, d <= 2 * third, inside], list(E2SFCA_WEIGHTS), default=0.0).astype(
        np.float64
    )
    return np.where(inside, w, 0.0)


@dataclass(frozen=True)
class Accessibility:
    """Accessibility of every unit and the supply ratio of every station.

    Attributes
    ----------
    method
        ``"2sfca"`` or ``"e2sfca"``.
    unit_access
        Per unit, trainings per year per resident of the group (``A_i``).
    station_ratio
        Per station, trainings per resident within its reach (``R_j``); 0 when it reaches
        nobody.
    weighted_demand
        Per station, the group's residents within reach, weighted (``Σ_i w D_i``).
    capacity
        Per station, trainings per year (``S_j``).
    """

    method: str
    unit_access: FloatArray
    station_ratio: FloatArray
    weighted_demand: FloatArray
    capacity: FloatArray

    @property
    def per_1000(self) -> FloatArray:
        """Per unit, trainings per year per 1 000 residents of the group."""
        return 1000.0 * self.unit_access

    def wanted(self, participation_rate: float) -> FloatArray:
        """Per station, trainings per year wanted within its reach (weighted demand × rate)."""
        return self.weighted_demand * float(participation_rate)

    def oversubscribed(self, participation_rate: float) -> npt.NDArray[np.bool_]:
        """Per station, whether more trainings are wanted within its reach than it offers."""
        return self.wanted(participation_rate) > self.capacity

    def unit_frame(self, group: npt.ArrayLike, *, index: pd.Index | None = None) -> pd.DataFrame:
        """Per unit: :data:`ACCESS_UNIT_COLUMNS` (the group's residents, access per 1 000)."""
        return pd.DataFrame(
            {
                "group_population": np.asarray(group, dtype=np.float64),
                "access_per_1000": self.per_1000,
            },
            index=index,
        )

    def station_frame(self, participation_rate: float) -> pd.DataFrame:
        """Per station: :data:`ACCESS_STATION_COLUMNS`.

        ``supply_ratio`` is the capacity over the trainings wanted within the station's reach
        (below 1: over-subscribed; NaN when nobody is within reach).
        """
        wanted = self.wanted(participation_rate)
        ratio = np.divide(
            self.capacity, wanted, out=np.full(wanted.shape, np.nan), where=wanted > 0
        )
        return pd.DataFrame(
            {
                "capacity_used": self.capacity,
                "trainings_wanted": wanted,
                "supply_ratio": ratio,
                "oversubscribed": self.oversubscribed(participation_rate),
            }
        )


def floating_catchment(
    station: npt.ArrayLike,
    unit: npt.ArrayLike,
    distance_m: npt.ArrayLike,
    *,
    capacity: npt.ArrayLike,
    demand: npt.ArrayLike,
    limit_m: float,
    method: str = "2sfca",
) -> Accessibility:
    """Two-step floating catchment accessibility from station-unit walks.

    Parameters
    ----------
    station, unit, distance_m
        One entry per (station, unit) pair within reach: the station's and the unit's
        positions, and the walk in metres (e.g. :func:`~skillcircle.access.routing.reach_pairs`).
    capacity
        Per station, trainings per year (≥ 0).
    demand
        Per unit, the group's residents (≥ 0).
    limit_m
        The walk distance.
    method
        ``"2sfca"`` or ``"e2sfca"``.

    Returns
    -------
    Accessibility

    Examples
    --------
    One station of 100 trainings a year, two units of 30 and 70 residents within reach:

    >>> a = floating_catchment([0, 0], [0, 1], [100.0, 900.0], capacity=[100.0],
    ...                        demand=[30.0, 70.0], limit_m=1000)
    >>> a.station_ratio.tolist(), a.per_1000.tolist()
    ([1.0], [1000.0, 1000.0])
    """
    s = np.asarray(station, dtype=np.int64)
    u = np.asarray(unit, dtype=np.int64)
    cap = np.asarray(capacity, dtype=np.float64)
    dem = np.asarray(demand, dtype=np.float64)
    if not (s.shape == u.shape == np.shape(distance_m)):
        raise InputError("station, unit and distance_m must have the same length")
    for name, values in (("capacity", cap), ("demand", dem)):
        if values.size and not (np.isfinite(values).all() and (values >= 0).all()):
            raise InputError(f"{name} must be finite and ≥ 0", param=name)
    if s.size and (s.min() < 0 or s.max() >= cap.size or u.min() < 0 or u.max() >= dem.size):
        raise InputError("station or unit index out of range")
    w = catchment_weights(distance_m, limit_m=limit_m, method=method)
    weighted = np.bincount(s, weights=w * dem[u], minlength=cap.size).astype(np.float64)
    ratio = np.divide(cap, weighted, out=np.zeros_like(cap), where=weighted > 0)
    access = np.bincount(u, weights=w * ratio[s], minlength=dem.size).astype(np.float64)
    return Accessibility(
        method=method,
        unit_access=access,
        station_ratio=ratio,
        weighted_demand=weighted,
        capacity=cap,
    )


#: Columns :meth:`Accessibility.unit_frame` gives each demand unit (``units.parquet``).
ACCESS_UNIT_COLUMNS = ("group_population", "access_per_1000")
#: Columns :meth:`Accessibility.station_frame` adds to the station table (``stations.csv``).
ACCESS_STATION_COLUMNS = ("capacity_used", "trainings_wanted", "supply_ratio", "oversubscribed")
#: Columns the 区 and 街道 layers gain from the accessibility block.
ACCESS_AREA_COLUMNS = (
    "group_population",
    "group_covered_population",
    "access_per_1000",
    "group_label",
)

#: Trainings per resident of the group per year when no city profile gives a target: two per
#: hundred residents, about what one million person-trainings over three years mean for a
#: city of 18.7 M residents (0.018).
DEFAULT_PARTICIPATION = 0.02


@dataclass(frozen=True, kw_only=True)
class AreaAccess:
    """Accessibility figures of one 区 or 街道.

    Attributes
    ----------
    code, name
        The area.
    group_population, group_covered_population
        The group's residents, and those within the walk of a station.
    per_1000
        Trainings per year per 1 000 residents of the group within reach: the
        group-weighted mean of the units' accessibility × 1 000.
    """

    code: str
    name: str
    group_population: float
    group_covered_population: float
    per_1000: float

    @property
    def coverage_pct(self) -> float:
        """Share (0-100) of the group within the walk."""
        return (
            100.0 * self.group_covered_population / self.group_population
            if (self.group_population > 0)
            else 0.0
        )

    def to_json(self) -> dict[str, object]:
        """The JSON-ready dict."""
        return {
            "code": self.code,
            "name": self.name,
            "group_population": self.group_population,
            "group_covered_population": self.group_covered_population,
            "per_1000": self.per_1000,
        }


@dataclass(frozen=True, kw_only=True)
class AccessSummary:
    """The accessibility block of ``summary.json`` (``summary.json["access"]``).

    Attributes
    ----------
    method
        ``"2sfca"`` or ``"e2sfca"``.
    group, group_label, group_source
        The demand group's key, its words, and where its shares come from.
    participation_rate
        Trainings per resident of the group per year that count as demand.
    total_capacity
        Trainings per year offered by the stations.
    stations_with_capacity, stations_default_capacity, stations_without_capacity
        Stations whose ledger row gives a capacity; that took the default capacity; that
        have none (counted 0).
    default_capacity
        The capacity given to rows without one, or ``None``.
    group_population, group_covered_population
        The group's residents, and those within the walk of a station.
    per_1000
        Trainings per year per 1 000 residents of the group, the study area's mean.
    oversubscribed
        Names of the stations within whose walk more trainings are wanted than they offer.
    by_district, by_subdistrict
        Per area (``by_subdistrict`` is ``None`` without 街道).
    """

    method: str
    group: str
    group_label: str
    group_source: str
    participation_rate: float
    total_capacity: float
    stations_with_capacity: int
    stations_default_capacity: int
    stations_without_capacity: int
    default_capacity: float | None
    group_population: float
    group_covered_population: float
    per_1000: float
    oversubscribed: tuple[str, ...]
    by_district: tuple[AreaAccess, ...]
    by_subdistrict: tuple[AreaAccess, ...] | None

    @property
    def group_coverage_pct(self) -> float:
        """Share (0-100) of the group within the walk."""
        if self.group_population <= 0:
            return 0.0
        return 100.0 * self.group_covered_population / self.group_population

    def frame(self, *, subdistricts: bool = True) -> pd.DataFrame:
        """Per 街道 (or per district) table: code, name, group residents, covered, %, per 1 000."""
        sub = subdistricts and self.by_subdistrict is not None
        areas = self.by_subdistrict if sub and self.by_subdistrict else self.by_district
        level = "subdistrict" if sub else "district"
        return pd.DataFrame(
            [
                {
                    f"{level}_code": a.code,
                    f"{level}_name": a.name,
                    "group_population": a.group_population,
                    "group_covered_population": a.group_covered_population,
                    "group_coverage_pct": a.coverage_pct,
                    "trainings_per_1000": a.per_1000,
                }
                for a in areas
            ],
            columns=[
                f"{level}_code",
                f"{level}_name",
                "group_population",
                "group_covered_population",
                "group_coverage_pct",
                "trainings_per_1000",
            ],
        )

    def to_json(self) -> dict[str, object]:
        """The JSON-ready dict written as ``summary.json["access"]``."""
        return {
            "method": self.method,
            "group": self.group,
            "group_label": self.group_label,
            "group_source": self.group_source,
            "participation_rate": self.participation_rate,
            "total_capacity": self.total_capacity,
            "stations_with_capacity": self.stations_with_capacity,
            "stations_default_capacity": self.stations_default_capacity,
            "stations_without_capacity": self.stations_without_capacity,
            "default_capacity": self.default_capacity,
            "group_population": self.group_population,
            "group_covered_population": self.group_covered_population,
            "group_coverage_pct": round(self.group_coverage_pct, 4),
            "per_1000": self.per_1000,
            "oversubscribed": list(self.oversubscribed),
            "by_district": [a.to_json() for a in self.by_district],
            "by_subdistrict": None
            if self.by_subdistrict is None
            else [a.to_json() for a in self.by_subdistrict],
        }

    @classmethod
    def from_json(cls, data: object) -> AccessSummary | None:
        """Read what :meth:`to_json` wrote; ``None`` when ``data`` is not a mapping."""
        if not isinstance(data, Mapping):
            return None

        def areas(rows: object) -> tuple[AreaAccess, ...]:
            return tuple(
                AreaAccess(
                    code=str(r["code"]),
                    name=str(r["name"]),
                    group_population=float(r["group_population"]),
                    group_covered_population=float(r["group_covered_population"]),
                    per_1000=float(r["per_1000"]),
                )
                for r in rows  # type: ignore[attr-defined]
            )

        try:
            sub = data.get("by_subdistrict")
            default = data.get("default_capacity")
            return cls(
                method=str(data["method"]),
                group=str(data["group"]),
                group_label=str(data["group_label"]),
                group_source=str(data["group_source"]),
                participation_rate=float(data["participation_rate"]),
                total_capacity=float(data["total_capacity"]),
                stations_with_capacity=int(data["stations_with_capacity"]),
                stations_default_capacity=int(data["stations_default_capacity"]),
                stations_without_capacity=int(data["stations_without_capacity"]),
                default_capacity=None if default is None else float(default),
                group_population=float(data["group_population"]),
                group_covered_population=float(data["group_covered_population"]),
                per_1000=float(data["per_1000"]),
                oversubscribed=tuple(str(n) for n in data["oversubscribed"]),
                by_district=areas(data["by_district"]),
                by_subdistrict=None if sub is None else areas(sub),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"summary 'access' unreadable ({exc})", field="access") from exc


def _areas(
    units: pd.DataFrame,
    group: FloatArray,
    covered: npt.NDArray[np.bool_],
    access: FloatArray,
    *,
    code: str,
    name: str,
) -> tuple[AreaAccess, ...]:
    values = {"group": group, "covered": np.where(covered, group, 0.0), "weighted": access * group}
    sums = sums_by_area(units, values, code=code, name=name)
    return tuple(
        AreaAccess(
            code=str(area_code),
            name=str(area_name),
            group_population=round(float(row["group"]), 3),
            group_covered_population=round(float(row["covered"]), 3),
            per_1000=round(1000.0 * float(row["weighted"]) / float(row["group"]), 4)
            if row["group"] > 0
            else 0.0,
        )
        for (area_code, area_name), row in sums.iterrows()
    )


def access_summary(
    access: Accessibility,
    units: pd.DataFrame,
    *,
    group: FloatArray,
    covered: npt.NDArray[np.bool_],
    station_names: Sequence[str],
    participation_rate: float,
    group_key: str,
    group_label: str,
    group_source: str,
    capacity_counts: tuple[int, int, int],
    default_capacity: float | None,
    area_columns: Sequence[tuple[str, str]],
) -> AccessSummary:
    """Gather the accessibility figures of a study (see :class:`AccessSummary`).

    Parameters
    ----------
    access
        :func:`floating_catchment` on the study's walks.
    units
        The demand units with the ``area_columns``.
    group
        Per unit, the group's residents (the demand of :func:`floating_catchment`).
    covered
        Per unit, whether it is within the walk of a station.
    station_names
        Per station, its name.
    participation_rate, group_key, group_label, group_source, default_capacity
        As in :class:`AccessSummary`.
    capacity_counts
        Stations with a capacity, with the default one, with none.
    area_columns
        ``(code, name)`` column pairs of ``units``: districts, then (optionally) 街道.

    Returns
    -------
    AccessSummary
    """
    total = float(group.sum())
    over = access.oversubscribed(participation_rate)
    tables = [
        _areas(units, group, covered, access.unit_access, code=c, name=n) for c, n in area_columns
    ]
    return AccessSummary(
        method=access.method,
        group=group_key,
        group_label=group_label,
        group_source=group_source,
        participation_rate=float(participation_rate),
        total_capacity=round(float(access.capacity.sum()), 3),
        stations_with_capacity=capacity_counts[0],
        stations_default_capacity=capacity_counts[1],
        stations_without_capacity=capacity_counts[2],
        default_capacity=default_capacity,
        group_population=round(total, 3),
        group_covered_population=round(float(group[covered].sum()), 3),
        per_1000=round(1000.0 * float((access.unit_access * group).sum()) / total, 4)
        if total > 0
        else 0.0,
        oversubscribed=tuple(str(station_names[int(j)]) for j in np.flatnonzero(over)),
        by_district=tables[0],
        by_subdistrict=tables[1] if len(tables) > 1 else None,
    )
