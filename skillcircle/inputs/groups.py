"""Who the stations serve: the demand group counted in the accessibility figures.

A demand group is a share of each district's residents: every resident (``total``), the
working-age residents aged 15-59 (``working_age``: the city profile's census age structure,
see :mod:`skillcircle.profiles`), or the shares of a file (one row per district: code,
share). The share multiplies the population of every demand unit of the district.

>>> g = demand_group("total", district_codes=["110101"])
>>> g.label, g.share_of("110101")
('residents 常住人口', 1.0)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from skillcircle._errors import InputError, InputFileNotFoundError
from skillcircle.inputs.stations import _key, _read_table, split_sheet
from skillcircle.profiles import profile_for

__all__ = ["GROUPS", "DemandGroup", "demand_group"]

logger = logging.getLogger(__name__)

#: Named groups (any other value is a file of shares).
GROUPS = ("total", "working_age")

_LABELS = {
    "total": "residents 常住人口",
    "working_age": "working-age residents (15-59) 劳动年龄人口",
}
_CODE_HEADERS = ("district_code", "code", "adcode", "区代码", "区划代码", "代码")
_SHARE_HEADERS = ("share", "share_pct", "占比", "比例", "份额")  # compared after ``_key``


@dataclass(frozen=True, kw_only=True)
class DemandGroup:
    """A demand group: the share of each district's residents it counts.

    Attributes
    ----------
    key
        ``"total"``, ``"working_age"`` or ``"file"``.
    label
        How reports name the people counted, English with Chinese.
    shares
        District code → share (0-1); districts not listed take ``default_share``.
    default_share
        Share of a district not in ``shares``.
    source
        Where the shares come from (a census bulletin, a file path).
    """

    key: str
    label: str
    shares: Mapping[str, float] = field(default_factory=dict)
    default_share: float = 1.0
    source: str = ""

    def share_of(self, district_code: str) -> float:
        """The share (0-1) of a district's residents in the group."""
        return float(self.shares.get(str(district_code), self.default_share))

    def weights(self, district_codes: Sequence[str] | pd.Series) -> np.ndarray:
        """Per demand unit, the share of its residents in the group.

        Parameters
        ----------
        district_codes
            Each unit's district code.

        Returns
        -------
        numpy.ndarray
            One share (0-1) per unit.
        """
        codes = pd.Series(district_codes, dtype=object).fillna("").astype(str)
        return np.array([self.share_of(c) for c in codes], dtype=np.float64)


def _working_age(district_codes: Sequence[str]) -> DemandGroup:
    profile = profile_for(district_codes)
    if profile is None or profile.age_file is None:
        raise InputError(
            "no census age structure is known for these districts: give group as a file of "
            "shares (district code, share)",
            param="group",
        )
    path = Path(str(resources.files("skillcircle") / "data" / profile.age_file))
    table = pd.read_csv(path, comment="#", dtype={"area_code": str})
    row = table.iloc[0]
    share = float(row["age_15_59_pct"]) / 100.0
    return DemandGroup(
        key="working_age",
        label=_LABELS["working_age"],
        default_share=share,
        source=f"{profile.name}: 2020 census, {row['age_15_59_pct']} % aged 15-59 ({path.name})",
    )


def _read_shares(path: Path, district_codes: Sequence[str]) -> DemandGroup:
    if not split_sheet(path)[0].is_file():
        raise InputFileNotFoundError(path, "group shares file")
    path, table = _read_table(path)  # CSV (UTF-8 or GB18030) or XLSX, as a ledger is read
    keys = [_key(c) for c in table.columns]
    code_at = next((keys.index(_key(h)) for h in _CODE_HEADERS if _key(h) in keys), None)
    share_at = next((keys.index(_key(h)) for h in _SHARE_HEADERS if _key(h) in keys), None)
    if code_at is None or share_at is None:
        raise InputError(
            "a group shares file needs a district code column (district_code/区代码) and a "
            "share column (share/占比)",
            path=path,
        )
    texts = [row[share_at].strip() for row in table.rows]
    percent = keys[share_at] == _key("share_pct") or any(t.endswith("%") for t in texts)
    shares: dict[str, float] = {}
    for line, row, text in zip(table.row_numbers, table.rows, texts, strict=True):
        try:
            value = float(text.rstrip("%"))
        except ValueError:
            raise InputError(f"share {text!r} is not a number", path=path, row=line) from None
        value = value / 100.0 if percent else value
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise InputError(
                f"share {text!r} is not between 0 and 1 (or 0 % and 100 %)", path=path, row=line
            )
        shares[row[code_at].strip()] = value
    missing = sorted(set(map(str, district_codes)) - set(shares))
    if missing:
        raise InputError(f"no share for district(s) {', '.join(missing)} of the study", path=path)
    return DemandGroup(
        key="file",
        label=f"group of {path.name}",
        shares=shares,
        default_share=0.0,
        source=str(path),
    )


def demand_group(spec: str, *, district_codes: Sequence[str]) -> DemandGroup:
    """The demand group a study counts.

    Parameters
    ----------
    spec
        ``"total"``, ``"working_age"``, or the path of a CSV of shares per district
        (``district_code``/区代码 and ``share``/占比: 0-1, or per cent with a ``%`` sign or a
        ``share_pct`` header).
    district_codes
        The study's district codes: a profile gives the working-age share; a file must
        give every one of them.

    Returns
    -------
    DemandGroup

    Raises
    ------
    InputError
        A city without a census age structure for ``working_age``; a shares file that is
        missing, unreadable, lacks a column, holds a share outside 0-1 or misses a district.
    """
    text = str(spec).strip()
    if text == "total":
        return DemandGroup(key="total", label=_LABELS["total"], source="every resident")
    if text == "working_age":
        return _working_age(district_codes)
    return _read_shares(Path(text), district_codes)
