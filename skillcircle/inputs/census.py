"""District populations of Guangzhou from the 2020 (7th) national population census.

The figures ship with the package (``skillcircle/data/census2020_guangzhou_districts.csv``, a
byte-identical copy of the repository's ``data/census2020_guangzhou_districts.csv``). Source:
National Bureau of Statistics of China, *Tabulation on the 2020 China Population Census by
County* (中国人口普查分县资料-2020), resident population on 2020-11-01; public facts. The column
``area_poly_amap_km2`` is the area of the AMap district polygon, computed, not official.

Examples
--------
>>> census = load_census()
>>> int(census["population"].sum())
18676605
>>> district_names()["440104"]
'越秀区'
"""

from __future__ import annotations

import functools
import logging
import os
import re
from importlib import resources
from pathlib import Path

import pandas as pd

from skillcircle._errors import InputError, InputFileNotFoundError

__all__ = ["CENSUS_FILE", "district_names", "load_census"]

logger = logging.getLogger(__name__)

#: File name of the packaged census table (in ``skillcircle/data`` and the repository's ``data``).
CENSUS_FILE = "census2020_guangzhou_districts.csv"

_ALIASES: dict[str, tuple[str, ...]] = {
    "district_code": ("district_code", "adcode", "code", "区划代码", "行政区划代码", "代码"),
    "district_name": ("district_name", "name", "区", "名称", "区名", "地区"),
    "population": ("population", "pop_2020_census", "pop", "常住人口", "人口"),
}


def _key(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def _packaged_csv() -> Path:
    return Path(str(resources.files("skillcircle") / "data" / CENSUS_FILE))


def load_census(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Read a table of district populations.

    Parameters
    ----------
    path
        A CSV with a district code column (``district_code``/``adcode``/``code``/区划代码), a
        name column (``district_name``/``name``/区) and a population column
        (``population``/``pop_2020_census``/常住人口). Default: the packaged 2020 census of
        Guangzhou's 11 districts. UTF-8 (with or without BOM) or GB18030.

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
        If a required column is missing, a code is not 6 digits or repeated, or a population is
        not a non-negative whole number.
    """
    source = _packaged_csv() if path is None else Path(path)
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
    census = load_census()
    return tuple(zip(census["district_code"], census["district_name"], strict=True))


def district_names() -> dict[str, str]:
    """Map Guangzhou district codes to Chinese names (from the packaged census table).

    Returns
    -------
    dict of str to str
        For example ``{"440104": "越秀区", ...}`` (11 entries), a fresh copy on each call.
    """
    return dict(_names())
