"""District populations from the 2020 (7th) national population census, per city profile.

A city profile (:mod:`skillcircle.profiles`) may name a census table shipped in
``skillcircle/data`` (:attr:`~skillcircle.profiles.base.CityProfile.census_file`, a
byte-identical copy of the repository's ``data/`` file). Source: National Bureau of Statistics
of China, *Tabulation on the 2020 China Population Census by County* (中国人口普查分县资料-2020),
resident population on 2020-11-01; public facts. The column ``area_poly_amap_km2`` is the area
of the AMap district polygon, computed, not official. A study in a city without such a table
is not calibrated (:func:`census_for` says so in the log).

Examples
--------
>>> from skillcircle.profiles import PROFILES
>>> census = load_census(profile=PROFILES[0])
>>> int(census["population"].sum())
18676605
>>> code, name = census["district_code"].iloc[1], census["district_name"].iloc[1]
>>> district_names()[code] == name
True
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import pandas as pd

from skillcircle._errors import InputError, InputFileNotFoundError
from skillcircle.profiles import PROFILES, CityProfile, profile_for

__all__ = ["census_for", "district_names", "load_census", "packaged_census"]

logger = logging.getLogger(__name__)

_ALIASES: dict[str, tuple[str, ...]] = {
    "district_code": ("district_code", "adcode", "code", "区划代码", "行政区划代码", "代码"),
    "district_name": ("district_name", "name", "区", "名称", "区名", "地区"),
    "population": ("population", "pop_2020_census", "pop", "常住人口", "人口"),
}


def _key(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def packaged_census(profile: CityProfile) -> Path | None:
    """Path of the census table shipped for a city profile, or ``None`` when it has none."""
    if profile.census_file is None:
        return None
    return Path(str(resources.files("skillcircle") / "data" / profile.census_file))


def census_for(district_codes: Iterable[str]) -> pd.DataFrame | None:
    """The packaged census of the city holding these districts, or ``None``.

    Parameters
    ----------
    district_codes
        The study's district codes.

    Returns
    -------
    pandas.DataFrame or None
        :func:`load_census` of the city profile's table; ``None`` (logged: no calibration)
        when the districts are in no profiled city or the city ships no census.
    """
    codes = list(district_codes)
    profile = profile_for(codes)
    path = packaged_census(profile) if profile is not None else None
    if path is None:
        logger.info(
            "no census table for districts %s: population is not calibrated to a census",
            ", ".join(codes) or "(none)",
        )
        return None
    return load_census(path)


def load_census(
    path: str | os.PathLike[str] | None = None, *, profile: CityProfile | None = None
) -> pd.DataFrame:
    """Read a table of district populations.

    Parameters
    ----------
    path
        A CSV with a district code column (``district_code``/``adcode``/``code``/区划代码), a
        name column (``district_name``/``name``/区) and a population column
        (``population``/``pop_2020_census``/常住人口). UTF-8 (with or without BOM) or GB18030.
    profile
        Without ``path``: read the census table shipped for this city profile.

    Returns
    -------
    pandas.DataFrame
        ``district_code`` (6-digit str), ``district_name`` (str), ``population`` (int64), then
        the file's other columns, one row per district, in file order.

    Raises
    ------
    InputFileNotFoundError
        If ``path`` does not exist.
    InputError
        If neither ``path`` nor a profile with a census table is given, a required column
        is missing, a code is not 6 digits or repeated, or a population is
        not a non-negative whole number.
    """
    if path is not None:
        source = Path(path)
    else:
        packaged = packaged_census(profile) if profile is not None else None
        if packaged is None:
            raise InputError("load_census needs a path, or a profile that ships a census table")
        source = packaged
    if not source.is_file():
        raise InputFileNotFoundError(source, "census table")
    raw = source.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError("not a text CSV file (neither UTF-8 nor GB18030)", path=source)
    from io import StringIO

    try:
        table = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read as CSV ({exc})", path=source) from exc
    keys = {_key(c): c for c in table.columns}
    rename: dict[str, str] = {}
    for field, aliases in _ALIASES.items():
        found = next((keys[_key(a)] for a in aliases if _key(a) in keys), None)
        if found is None:
            raise InputError(
                f"no {field} column (expected one of {', '.join(aliases)}; "
                f"found {', '.join(map(str, table.columns))})",
                path=source,
            )
        rename[found] = field
    table = table.rename(columns=rename)
    ordered = ["district_code", "district_name", "population"]
    table = table[ordered + [c for c in table.columns if c not in ordered]].copy()
    table["district_code"] = table["district_code"].str.strip()
    table["district_name"] = table["district_name"].str.strip()
    for i, (code, pop) in enumerate(zip(table["district_code"], table["population"], strict=True)):
        if not re.fullmatch(r"\d{6}", code):
            raise InputError(
                f"district code {code!r} is not 6 digits",
                path=source,
                row=i + 1,
                field="district_code",
            )
        if not re.fullmatch(r"\d+", pop.strip().replace(",", "")):
            raise InputError(
                f"population {pop!r} is not a non-negative whole number",
                path=source,
                row=i + 1,
                field="population",
            )
    repeated = table["district_code"][table["district_code"].duplicated()]
    if len(repeated):
        raise InputError(
            f"district code {repeated.iloc[0]} appears more than once",
            path=source,
            field="district_code",
        )
    table["population"] = table["population"].str.replace(",", "").astype("int64")
    logger.info(
        "census: %d districts, %d residents from %s", len(table), table["population"].sum(), source
    )
    return table.reset_index(drop=True)


@functools.cache
def _names() -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for profile in PROFILES:
        if profile.census_file is not None:
            census = load_census(profile=profile)
            out.extend(zip(census["district_code"], census["district_name"], strict=True))
    return tuple(out)


def district_names() -> dict[str, str]:
    """Map district codes to Chinese names, from the census tables of the city profiles.

    Returns
    -------
    dict of str to str
        ``{code: name}`` for every district of a profiled city with a census table, a fresh
        copy on each call.
    """
    return dict(_names())
