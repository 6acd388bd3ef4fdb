"""The quarterly training ledger (培训台账): person-trainings per station (or district) and quarter.

Columns, Chinese or English (first alias found wins): station (站点/站点名称/名称/station) or
district (区/district), quarter (季度/quarter, or a date 日期/date: ``2025Q3``, ``2025-Q3``,
``2025年第3季度``, ``2025-08-15``), person-trainings (培训人次/人次/trainings), optional training
type (培训类型/type) and group (群体/group). A file with any bad row is rejected as a whole,
every reason listed; a station name matching no station suggests the closest names.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from skillcircle._errors import InputError
from skillcircle.inputs.stations import _key, _read_table

__all__ = ["TRAINING_COLUMNS", "Trainings", "parse_quarter", "read_trainings"]

#: Columns of :attr:`Trainings.rows`.
TRAINING_COLUMNS = ("station", "district", "year", "quarter", "trainings", "type", "group")

_FIELDS: dict[str, tuple[str, ...]] = {
    field: tuple(aliases.split())
    for field, aliases in {
        "station": "站点 站点名称 名称 站名 加油站名称 station stationname",
        "district": "区 所属区 区县 district",
        "quarter": "季度 quarter 日期 时间 date period",
        "trainings": "培训人次 人次 培训人数 trainings persontrainings count",
        "type": "培训类型 类型 type",
        "group": "群体 人群 培训群体 group",
    }.items()
}

#: Most reasons listed in one rejection message.
_MAX_REASONS = 10

_QUARTER = re.compile(r"^(\d{4})\s*(?:-|年)?\s*(?:q|第)\s*(\d+)\s*(?:季度?)?$")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?$")


@dataclass(frozen=True)
class Trainings:
    """A validated training ledger.

    Attributes
    ----------
    rows
        One row per ledger row: ``station`` (``""`` for a district-level row), ``district``
        (ledger text), ``year``, ``quarter`` (1-4), ``trainings`` (int), ``type``, ``group``.
    path
        The ledger file.
    """

    rows: pd.DataFrame
    path: Path

    @property
    def total(self) -> int:
        """All person-trainings of the ledger."""
        return int(self.rows["trainings"].sum())


def parse_quarter(text: str) -> tuple[int, int]:
    """Year and quarter of ``2025Q3``, ``2025-Q3``, ``2025年第3季度`` or a date.

    Parameters
    ----------
    text
        The ledger cell.

    Returns
    -------
    tuple of int
        (year, quarter 1-4).

    Raises
    ------
    InputError
        When the text is neither a quarter 1-4 nor a valid date.

    Examples
    --------
    >>> parse_quarter("2025Q3"), parse_quarter("2026-02-10")
    ((2025, 3), (2026, 1))
    """
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    s = s.split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2} ", s) else s  # Excel datetime
    m = _QUARTER.match(s)
    if m:
        year, q = int(m.group(1)), int(m.group(2))
        if not 1 <= q <= 4:
            raise InputError(f"quarter {text!r}: a year has quarters 1 to 4 (e.g. 2025Q3)")
        return year, q
    m = _DATE.match(s)
    if m:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
        try:
            dt.date(year, month, day)
        except ValueError:
            raise InputError(f"date {text!r} does not exist") from None
        return year, (month - 1) // 3 + 1
    raise InputError(f"{text!r} is not a quarter (2025Q3) or a date (2025-08-15)")


def _closest(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    return f"; closest: {', '.join(close)}" if close else ""


def read_trainings(source: str | os.PathLike[str], *, station_names: Sequence[str]) -> Trainings:
    """Read and validate a training ledger (CSV or XLSX).

    Parameters
    ----------
    source
        The ledger file (``ledger.xlsx:Sheet2`` names a sheet).
    station_names
        Names of the stations of the station ledger; a row naming another station is a
        reject.

    Returns
    -------
    Trainings

    Raises
    ------
    InputError
        When a column is missing or any row is bad: one message listing every reason
        (first ten), with the row numbers.
    """
    path, table = _read_table(Path(source))
    keys = [_key(c) for c in table.columns]
    fields: dict[str, int] = {}
    for name, aliases in _FIELDS.items():
        for alias in aliases:
            if _key(alias) in keys:
                fields[name] = keys.index(_key(alias))
                break
    if "station" not in fields and "district" not in fields:
        raise InputError("no station (站点) or district (区) column", path=path)
    for name, label in (("quarter", "季度/quarter"), ("trainings", "培训人次/trainings")):
        if name not in fields:
            raise InputError(f"no {label} column", path=path)
    known = list(dict.fromkeys(station_names))
    known_set = set(known)
    records: list[dict[str, object]] = []
    reasons: list[str] = []
    for number, cells in zip(table.row_numbers, table.rows, strict=True):

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[fields[name]].strip() if name in fields else ""

        station, district = cell("station"), cell("district")
        try:
            if station and station not in known_set:
                raise InputError(
                    f"station {station!r} is not in the station ledger" + _closest(station, known)
                )
            if not station and not district:
                raise InputError("neither a station nor a district")
            year, quarter = parse_quarter(cell("quarter"))
            text = (
                unicodedata.normalize("NFKC", cell("trainings")).replace(",", "").replace(" ", "")
            )
            try:
                count = float(text)
            except ValueError:
                raise InputError(
                    f"person-trainings {cell('trainings')!r} is not a number"
                ) from None
            if count < 0 or count != int(count):
                raise InputError(
                    f"person-trainings {cell('trainings')!r} is not a whole number ≥ 0"
                )
        except InputError as exc:
            reasons.append(f"row {number}: {exc.reason}")
            continue
        records.append(
            {
                "station": station,
                "district": district,
                "year": year,
                "quarter": quarter,
                "trainings": int(count),
                "type": cell("type"),
                "group": cell("group"),
            }
        )
    if reasons:
        more = f" (and {len(reasons) - _MAX_REASONS} more)" if len(reasons) > _MAX_REASONS else ""
        raise InputError(
            f"{len(reasons)} bad row(s), file rejected: "
            + "; ".join(reasons[:_MAX_REASONS])
            + more,
            path=path,
        )
    rows = pd.DataFrame.from_records(records, columns=list(TRAINING_COLUMNS))
    rows["trainings"] = rows["trainings"].astype("int64")
    return Trainings(rows=rows, path=path)
