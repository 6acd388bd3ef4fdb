"""Programme progress: coverage at each year (or quarter) end from the stations' build dates.

The network, the population and the snapping of units and stations are done once
(:func:`~skillcircle.access.analysis.load_inputs` and one station snapping); each period end
then keeps the stations built by then and recomputes coverage on that subset, so the figure
for a period equals a ``report`` run on that period's stations.

A build date (``2025-08-15``) places a station in its quarter; a bare year (``2025``) counts
it from the end of that year only (Q4), since the quarter is not known.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillcircle._errors import InputError
from skillcircle.access.analysis import Inputs
from skillcircle.access.coverage import compute_coverage, coverage_table
from skillcircle.access.snapping import snap_geoseries
from skillcircle.inputs.areas import DISTRICT_KEYS, SUBDISTRICT_KEYS
from skillcircle.study import PROGRESS_PERIODS

__all__ = [
    "PERIODS",
    "ProgressCoverage",
    "build_quarters",
    "build_years",
    "period_label",
    "progress_coverage",
]

#: Period lengths of :func:`progress_coverage` (the study's rule).
PERIODS = PROGRESS_PERIODS

logger = logging.getLogger(__name__)

_YEAR = re.compile(r"^\s*(\d{4})(?:\D.*)?$")
_MONTH = re.compile(r"^\s*\d{4}\s*[-/.年]\s*(\d{1,2})(?:\D.*)?$")


def period_label(year: int, quarter: int | None = None) -> str:
    """``"2025"`` or ``"2025Q3"``.

    Examples
    --------
    >>> period_label(2025), period_label(2025, 3)
    ('2025', '2025Q3')
    """
    return str(year) if quarter is None else f"{year}Q{quarter}"


@dataclass(frozen=True)
class ProgressCoverage:
    """Coverage at each year end.

    Attributes
    ----------
    years
        The year ends, ascending.
    totals
        One row per year: ``year, stations, population, covered_population, coverage_pct``.
    quarterly
        With ``by="quarter"``: one row per quarter end × district, ``period, year, quarter``
        then the columns of :func:`~skillcircle.access.coverage.coverage_table`; else ``None``.
    quarterly_totals
        With ``by="quarter"``: one row per quarter end, ``period, year, quarter, stations,
        population, covered_population, coverage_pct``; else ``None``.
    by_district, by_subdistrict
        One row per year × district (resp. 街道): ``year`` then the columns of
        :func:`~skillcircle.access.coverage.coverage_table`; ``by_subdistrict`` is ``None``
        without 街道 polygons.
    districts_without_station
        Year → names of the study's districts with no station built by its end.
    """

    years: tuple[int, ...]
    totals: pd.DataFrame
    by_district: pd.DataFrame
    by_subdistrict: pd.DataFrame | None
    districts_without_station: dict[int, tuple[str, ...]]
    quarterly: pd.DataFrame | None = None
    quarterly_totals: pd.DataFrame | None = None


def build_years(stations: pd.DataFrame) -> np.ndarray:
    """Build year of each station from the ledger's ``year`` column (a year or a date).

    Parameters
    ----------
    stations
        Stations as read by :func:`~skillcircle.inputs.stations.read_stations`.

    Returns
    -------
    numpy.ndarray
        One int per station.

    Raises
    ------
    InputError
        When the ledger has no build-year column or a value is not a year or a date.
    """
    if "year" not in stations.columns:
        raise InputError(
            "the station ledger has no build-year column (建成年份/建成日期/挂牌时间)",
            param="stations",
        )
    out = np.empty(len(stations), dtype=np.int64)
    for i, (value, row) in enumerate(zip(stations["year"], stations["row"], strict=True)):
        m = _YEAR.match(str(value))
        if not m:
            raise InputError(
                f"build year {value!r} of station {stations['name'].iloc[i]!r} is not a year "
                "or a date",
                row=int(row),
                field="year",
            )
        out[i] = int(m.group(1))
    return out


def build_quarters(stations: pd.DataFrame) -> np.ndarray:
    """Build quarter of each station as ``year * 4 + quarter - 1``.

    A date gives its quarter; a bare year gives its fourth quarter (counted from the year end).

    Parameters
    ----------
    stations
        Stations as read by :func:`~skillcircle.inputs.stations.read_stations`.

    Returns
    -------
    numpy.ndarray
        One int per station.

    Raises
    ------
    InputError
        As :func:`build_years`, or when a month is not 1-12.
    """
    years = build_years(stations)
    out = years * 4 + 3
    for i, value in enumerate(stations["year"]):
        m = _MONTH.match(str(value))
        if m:
            month = int(m.group(1))
            if not 1 <= month <= 12:
                raise InputError(
                    f"build date {value!r} of station {stations['name'].iloc[i]!r} has no "
                    "month 1-12",
                    row=int(stations["row"].iloc[i]),
                    field="year",
                )
            out[i] = years[i] * 4 + (month - 1) // 3
    return out


def progress_coverage(
    inputs: Inputs, *, years: tuple[int, ...], by: str = "year"
) -> ProgressCoverage:
    """Coverage of the stations built by each year end, reusing one load and one snapping.

    Parameters
    ----------
    inputs
        Inputs from :func:`~skillcircle.access.analysis.load_inputs`; the stations need a
        build year.
    years
        The year ends to compute; those before the earliest build year are left out (no
        station, nothing to measure).
    by
        ``"year"`` or ``"quarter"`` (also every quarter end of those years, from the
        earliest build quarter on; the year ends are the fourth quarters).

    Returns
    -------
    ProgressCoverage
    """
    if by not in PERIODS:
        raise InputError(
            f"progress_by must be one of {', '.join(PERIODS)}, got {by!r}", param="progress_by"
        )
    stations = inputs.stations.stations
    built = build_quarters(stations)
    net = inputs.network
    settings = inputs.settings
    units = inputs.population.units
    st = stations.to_crs(net.crs)
    snapped = snap_geoseries(net, st, max_snap_m=settings.max_snap_m)
    district_names = (
        dict(zip(inputs.districts["district_code"], inputs.districts["district_name"], strict=True))
        if inputs.districts is not None
        else {}
    )
    totals, by_d, by_s, q_totals, q_d = [], [], [], [], []
    missing: dict[int, tuple[str, ...]] = {}
    years = tuple(sorted(y for y in set(years) if y >= built.min() // 4)) if len(built) else ()
    ends = [
        y * 4 + q
        for y in years
        for q in ((0, 1, 2, 3) if by == "quarter" else (3,))
        if y * 4 + q >= built.min()
    ]
    for end in ends:
        year, quarter = divmod(end, 4)
        quarter += 1
        mask = built <= end
        cov = compute_coverage(
            net,
            st[mask],
            units,
            settings=settings,
            units_snapped=inputs.units_snapped,
            stations_snapped=snapped.subset(mask),
        )
        table = coverage_table(cov, by=DISTRICT_KEYS)
        covered, population = cov.covered_population, cov.population
        row = {
            "stations": int(mask.sum()),
            "population": population,
            "covered_population": covered,
            "coverage_pct": 100.0 * covered / population if population > 0 else 0.0,
        }
        if by == "quarter":
            label = period_label(year, quarter)
            q_d.append(table.assign(period=label, year=year, quarter=quarter))
            q_totals.append({"period": label, "year": year, "quarter": quarter, **row})
            logger.info("%s: %d stations, coverage %.1f %%", label, mask.sum(), row["coverage_pct"])
        if quarter != 4:
            continue
        sub = coverage_table(cov, by=SUBDISTRICT_KEYS) if inputs.subdistricts is not None else None
        by_d.append(table.assign(year=year))
        if sub is not None:
            by_s.append(sub.assign(year=year))
        with_station = set(st.loc[mask, "district_code"].astype(str))
        missing[year] = tuple(
            name for code, name in district_names.items() if str(code) not in with_station
        )
        totals.append({"year": year, **row})
        logger.info("%d: %d stations, coverage %.1f %%", year, mask.sum(), row["coverage_pct"])

    def first_year(frames: list[pd.DataFrame]) -> pd.DataFrame:
        frame = pd.concat(frames, ignore_index=True)
        return frame[["year", *[c for c in frame.columns if c != "year"]]]

    def first(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
        frame = pd.concat(frames, ignore_index=True)
        return frame[[*keys, *[c for c in frame.columns if c not in keys]]]

    return ProgressCoverage(
        years=years,
        totals=pd.DataFrame(totals),
        by_district=first_year(by_d),
        by_subdistrict=first_year(by_s) if by_s else None,
        districts_without_station=missing,
        quarterly=first(q_d, ["period", "year", "quarter"]) if q_d else None,
        quarterly_totals=pd.DataFrame(q_totals) if q_totals else None,
    )
