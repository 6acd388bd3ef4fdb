"""Programme progress: coverage at each year end from the stations' build years.

The network, the population and the snapping of units and stations are done once
(:func:`~skillcircle.access.analysis.load_inputs` and one station snapping); each year end
then keeps the stations built by then (build year ≤ year) and recomputes coverage on that
subset, so the figure for a year equals a ``report`` run on that year's stations.
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

__all__ = ["ProgressCoverage", "build_years", "progress_coverage"]

logger = logging.getLogger(__name__)

_YEAR = re.compile(r"^\s*(\d{4})(?:\D.*)?$")


@dataclass(frozen=True)
class ProgressCoverage:
    """Coverage at each year end.

    Attributes
    ----------
    years
        The year ends, ascending.
    totals
        One row per year: ``year, stations, population, covered_population, coverage_pct``.
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


def progress_coverage(inputs: Inputs, *, years: tuple[int, ...]) -> ProgressCoverage:
    """Coverage of the stations built by each year end, reusing one load and one snapping.

    Parameters
    ----------
    inputs
        Inputs from :func:`~skillcircle.access.analysis.load_inputs`; the stations need a
        build year.
    years
        The year ends to compute; those before the earliest build year are left out (no
        station, nothing to measure).

    Returns
    -------
    ProgressCoverage
    """
    stations = inputs.stations.stations
    built = build_years(stations)
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
    totals, by_d, by_s = [], [], []
    missing: dict[int, tuple[str, ...]] = {}
    years = tuple(sorted(y for y in set(years) if y >= built.min())) if len(built) else ()
    for year in years:
        mask = built <= year
        cov = compute_coverage(
            net,
            st[mask],
            units,
            settings=settings,
            units_snapped=inputs.units_snapped,
            stations_snapped=snapped.subset(mask),
        )
        table = coverage_table(cov, by=DISTRICT_KEYS)
        sub = coverage_table(cov, by=SUBDISTRICT_KEYS) if inputs.subdistricts is not None else None
        covered, population = cov.covered_population, cov.population
        by_d.append(table.assign(year=year))
        if sub is not None:
            by_s.append(sub.assign(year=year))
        with_station = set(st.loc[mask, "district_code"].astype(str))
        missing[year] = tuple(
            name for code, name in district_names.items() if str(code) not in with_station
        )
        totals.append(
            {
                "year": year,
                "stations": int(mask.sum()),
                "population": population,
                "covered_population": covered,
                "coverage_pct": 100.0 * covered / population if population > 0 else 0.0,
            }
        )
        logger.info(
            "%d: %d stations, coverage %.1f %%", year, mask.sum(), totals[-1]["coverage_pct"]
        )

    def first_year(frames: list[pd.DataFrame]) -> pd.DataFrame:
        frame = pd.concat(frames, ignore_index=True)
        return frame[["year", *[c for c in frame.columns if c != "year"]]]

    return ProgressCoverage(
        years=years,
        totals=pd.DataFrame(totals),
        by_district=first_year(by_d),
        by_subdistrict=first_year(by_s) if by_s else None,
        districts_without_station=missing,
    )
