"""Programme targets per district and year: a targets file, or the city profile's defaults.

A targets file (CSV/XLSX) has one row per district and year: district (区/district, a name
or a 6-digit code), year (年份/year), stations (站点数/stations: stations built by that year
end) and trainings (培训人次/trainings: cumulative person-trainings by that year end). An
empty cell means "no target". A file with any bad row is rejected as a whole, every reason
listed.

Without a file, a city profile gives: one station in every district from
``every_district_by`` on (the first batch "basically covers" every district), and city-wide
station totals (``phases``) and person-trainings (``trainings_target``, by the last phase
year).
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skillcircle._errors import InputError
from skillcircle.inputs.stations import _key, _read_table
from skillcircle.profiles.base import CityProfile

__all__ = ["TARGET_COLUMNS", "Targets", "profile_targets", "read_targets", "status_text"]

#: Columns of :attr:`Targets.by_district` (``stations``/``trainings`` are floats, NaN = none).
TARGET_COLUMNS = ("district_code", "year", "stations", "trainings")

_FIELDS: dict[str, tuple[str, ...]] = {
    field: tuple(aliases.split())
    for field, aliases in {
        "district": "区 所属区 区县 区划代码 district districtcode districtname",
        "year": "年份 年度 year",
        "stations": "站点数 站点目标 站点 stations stationstarget",
        "trainings": "培训人次 培训目标 累计培训人次 trainings trainingstarget",
    }.items()
}
_MAX_REASONS = 10


@dataclass(frozen=True)
class Targets:
    """Targets per district and year, and city-wide.

    Attributes
    ----------
    by_district
        One row per district × year: ``district_code, year, stations, trainings`` (NaN:
        no target for that district and year).
    city
        One row per year: ``year, stations, trainings`` (NaN: no target), for the whole study.
    source
        Where they come from: ``"file"``, ``"profile"`` or ``"none"``.
    """

    by_district: pd.DataFrame
    city: pd.DataFrame
    source: str


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})


def _number(text: str) -> float:
    s = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")
    if not s:
        return float("nan")
    try:
        value = float(s)
    except ValueError:
        raise InputError(f"{text!r} is not a number") from None
    if not np.isfinite(value) or value < 0 or value != int(value):
        raise InputError(f"{text!r} is not a whole number ≥ 0")
    return value


def read_targets(source: str | os.PathLike[str], *, districts: Mapping[str, str]) -> Targets:
    """Read and validate a targets file.

    Parameters
    ----------
    source
        The file (CSV/XLSX; ``file.xlsx:Sheet2`` names a sheet).
    districts
        District code → name of the study; a row naming another district is a reject
        (closest names suggested).

    Returns
    -------
    Targets
        ``source == "file"``; the city-wide target of a year is the sum over the districts
        when every district of the study has one that year, else none.

    Raises
    ------
    InputError
        When a column is missing or any row is bad (one message, every reason).
    """
    path, table = _read_table(Path(source))
    keys = [_key(c) for c in table.columns]
    fields: dict[str, int] = {}
    for name, aliases in _FIELDS.items():
        for alias in aliases:
            if _key(alias) in keys:
                fields[name] = keys.index(_key(alias))
                break
    for name, label in (("district", "区/district"), ("year", "年份/year")):
        if name not in fields:
            raise InputError(f"no {label} column", path=path)
    if "stations" not in fields and "trainings" not in fields:
        raise InputError("no stations (站点数) or trainings (培训人次) column", path=path)
    code_of = {str(name): str(code) for code, name in districts.items()}
    codes = {str(c) for c in districts}
    records: list[dict[str, object]] = []
    reasons: list[str] = []
    seen: set[tuple[str, int]] = set()
    for number, cells in zip(table.row_numbers, table.rows, strict=True):

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[fields[name]].strip() if name in fields else ""

        text = unicodedata.normalize("NFKC", cell("district")).strip()
        try:
            code = text if text in codes else code_of.get(text, "")
            if not code:
                close = difflib.get_close_matches(text, list(code_of), n=3, cutoff=0.4)
                hint = f"; closest: {', '.join(close)}" if close else ""
                raise InputError(f"district {text!r} is not in the study" + hint)
            m = re.fullmatch(r"(\d{4})(?:\.0)?", unicodedata.normalize("NFKC", cell("year")))
            if not m or not 2000 <= int(m.group(1)) <= 2100:
                raise InputError(f"year {cell('year')!r} is not a year (2000-2100)")
            year = int(m.group(1))
            if (code, year) in seen:
                raise InputError(f"district {text!r} has a second row for {year}")
            seen.add((code, year))
            stations, trainings = _number(cell("stations")), _number(cell("trainings"))
        except InputError as exc:
            reasons.append(f"row {number}: {exc.reason}")
            continue
        records.append(
            {"district_code": code, "year": year, "stations": stations, "trainings": trainings}
        )
    if reasons:
        more = f" (and {len(reasons) - _MAX_REASONS} more)" if len(reasons) > _MAX_REASONS else ""
        raise InputError(
            f"{len(reasons)} bad row(s), file rejected: "
            + "; ".join(reasons[:_MAX_REASONS])
            + more,
            path=path,
        )
    by = pd.DataFrame.from_records(records, columns=list(TARGET_COLUMNS))
    by["year"] = by["year"].astype("int64")
    city = []
    for year, rows in by.groupby("year"):
        row: dict[str, float] = {"year": float(year)}
        for col in ("stations", "trainings"):
            full = set(rows.loc[rows[col].notna(), "district_code"]) >= codes
            row[col] = float(rows[col].sum()) if full and codes else float("nan")
        city.append(row)
    city_frame = pd.DataFrame(city, columns=["year", "stations", "trainings"])
    city_frame["year"] = city_frame["year"].astype("int64")
    return Targets(by_district=by, city=city_frame, source="file")


def profile_targets(
    profile: CityProfile | None,
    *,
    district_codes: list[str],
    years: tuple[int, ...],
    whole_city: bool = True,
) -> Targets:
    """The targets a city profile implies for the study's districts and years.

    Parameters
    ----------
    profile
        The city profile, or ``None`` (no targets).
    district_codes
        The study's districts.
    years
        The year ends of the report.
    whole_city
        Whether the study is the whole city: the city-wide targets (stations, trainings)
        mean nothing for a part of it and are left out otherwise.

    Returns
    -------
    Targets
        Per district: 1 station from ``every_district_by`` on, no trainings target;
        city-wide: the ``phases`` station totals and ``trainings_target`` (cumulative) by
        the last phase year.
    """
    if profile is None:
        return Targets(
            _empty(TARGET_COLUMNS), _empty(("year", "stations", "trainings")), source="none"
        )
    by = [
        {"district_code": code, "year": year, "stations": 1.0, "trainings": float("nan")}
        for code in district_codes
        for year in years
        if profile.every_district_by is not None and year >= profile.every_district_by
    ]
    goal = dict(profile.phases) if whole_city else {}
    last = max(goal) if goal else (max(dict(profile.phases)) if profile.phases else None)
    city = [
        {
            "year": year,
            "stations": float(goal[year]) if year in goal else float("nan"),
            "trainings": (
                float(profile.trainings_target)
                if whole_city and profile.trainings_target is not None and year == last
                else float("nan")
            ),
        }
        for year in years
    ]
    by_frame = pd.DataFrame(by, columns=list(TARGET_COLUMNS))
    by_frame["year"] = by_frame["year"].astype("int64")
    city_frame = pd.DataFrame(city, columns=["year", "stations", "trainings"])
    city_frame["year"] = city_frame["year"].astype("int64")
    return Targets(by_frame, city_frame, source="profile")


def status_text(actual: float, target: float) -> str:
    """``达标 met``, ``差 N behind by N`` or ``""`` when there is no target.

    Parameters
    ----------
    actual
        What was reached by the period end.
    target
        The target for it (NaN: none).

    Returns
    -------
    str

    Examples
    --------
    >>> status_text(3, 2), status_text(240, 250), status_text(5, float("nan"))
    ('达标 met', '差 10 behind by 10', '')
    """
    if target is None or pd.isna(target):
        return ""
    gap = round(float(target) - float(actual))
    return "达标 met" if gap <= 0 else f"差 {gap:,} behind by {gap:,}"
