"""The Excel workbook ``report.xlsx``: every table of a run, one sheet each, for planners.

The sheets are read back from the staged data files (so the workbook's figures are the CSVs'
figures) and given Chinese-with-English headers, a frozen header row, number formats
(thousands separators, one decimal for percentages, six for coordinates) and column widths.
The static map (:mod:`~skillcircle.outputs.figure`) sits on the first sheet. Text cells are
neutralised against formula injection (:func:`~skillcircle._escaping.neutralise_frame`).

The sheet list is generic, ``(name, frame, description)`` triples, so more tables (a
per-station table, a walk-time grid) join by appending to :func:`workbook_sheets`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from skillcircle._escaping import neutralise_frame
from skillcircle.access.accessibility import AccessSummary
from skillcircle.access.network_sensitivity import NetworkSensitivity
from skillcircle.inputs.files import write_with
from skillcircle.outputs import schema
from skillcircle.outputs.labels import header_label

__all__ = ["Sheet", "workbook_sheets", "write_workbook"]

#: A sheet: its name (≤ 31 characters), the table, and a one-line description.
Sheet = tuple[str, pd.DataFrame, str]


def _number_format(column: str) -> str | None:
    if "pct" in column:
        return "0.0"
    if column.endswith(("lon", "lat", "_gcj02")):
        return "0.000000"
    if column.endswith("km2"):
        return "0.00"
    if column.endswith("_m"):
        return "#,##0.0"
    if "population" in column or column in ("stations", "units"):
        return "#,##0"
    return None


def _read_csv(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / name
    return pd.read_csv(path, keep_default_na=False, na_values=[""]) if path.is_file() else None


def _read_layer(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / name
    if not path.is_file():
        return None
    frame = gpd.read_file(path)
    return pd.DataFrame(frame.drop(columns="geometry"))


def _summary_rows(data: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assumptions (flattened ``summary.json``) and inputs tables; ``data`` is not modified."""
    inputs = data.get("inputs") or {}
    rows: list[tuple[str, str]] = []

    def flat(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if prefix in _OWN_SHEETS and k in ("by_district", "by_subdistrict"):
                    continue  # these tables have their own sheets
                flat(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):
            rows.append((prefix, ", ".join(map(str, value))))
        else:
            rows.append((prefix, "" if value is None else str(value)))

    flat("", {k: v for k, v in data.items() if k != "inputs"})
    facts = pd.DataFrame(rows, columns=["item", "value"])
    files = pd.DataFrame(
        [(k, v.get("path", ""), v.get("sha256") or "") for k, v in inputs.items()],
        columns=["item", "path", "sha256"],
    )
    return facts, files


#: ``summary.json`` blocks whose per-area tables get a sheet of their own.
_OWN_SHEETS = ("network_sensitivity", "access")


def _summary_tables(data: dict[str, Any]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The per-area tables of ``summary.json``: network sensitivity and accessibility.

    Each is ``None`` when the run did not measure it.
    """
    network = NetworkSensitivity.from_json(data.get("network_sensitivity"))
    access = AccessSummary.from_json(data.get("access"))
    return (
        None if network is None else network.frame(),
        None if access is None else access.frame(),
    )


def workbook_sheets(folder: str | Path) -> list[Sheet]:
    """The workbook's sheets, read from the data files written in ``folder``.

    Parameters
    ----------
    folder
        An output (or staging) folder written by
        :func:`~skillcircle.outputs.datafiles.write_report`.

    Returns
    -------
    list
        ``(name, frame, description)``: 区, 街道, speeds side by side (区 and 街道), stations,
        suggestions, gap zones, rejected rows, the network-sensitivity table, assumptions and
        inputs, those the run wrote.
    """
    folder = Path(folder)
    wanted: list[tuple[str, pd.DataFrame | None, str]] = [
        ("区 districts", _read_csv(folder, schema.DISTRICT_CSV), "Coverage by district 分区覆盖"),
        (
            "街道 sub-districts",
            _read_csv(folder, schema.SUBDISTRICT_CSV),
            "Coverage by sub-district 街道覆盖",
        ),
        (
            "步速 speeds (区)",
            _read_csv(folder, schema.SENSITIVITY_CSV),
            "Walking speeds side by side, by district 步速敏感性",
        ),
        (
            "步速 speeds (街道)",
            _read_csv(folder, schema.SENSITIVITY_BY_SUBDISTRICT_CSV),
            "Walking speeds side by side, by sub-district 街道步速敏感性",
        ),
        ("站点 stations", _read_layer(folder, schema.STATIONS_GEOJSON), "Stations 站点"),
        (
            "建议 suggestions",
            _read_csv(folder, schema.SUGGESTIONS_CSV),
            "Suggested new sites 建议新增站点",
        ),
        ("空白区 gap zones", _read_layer(folder, schema.GAPS_GEOJSON), "Gap zones 服务空白区"),
        (
            "剔除站点 rejected stations",
            _read_csv(folder, schema.STATIONS_REJECTED_CSV),
            "Ledger rows left out 剔除的站点行",
        ),
        (
            "剔除候选 rejected sites",
            _read_csv(folder, schema.CANDIDATES_REJECTED_CSV),
            "Candidate sites left out 剔除的候选点",
        ),
    ]
    sheets: list[Sheet] = [(n, f, d) for n, f, d in wanted if f is not None]
    path = folder / schema.SUMMARY_JSON
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    network, access = _summary_tables(data) if data is not None else (None, None)
    if network is not None:
        sheets.append(
            (
                "路网 network",
                network,
                "Coverage on other readings of the walking network 路网敏感性 "
                "(main network / every cut-off piece kept / short gaps joined)",
            )
        )
    if access is not None:
        sheets.append(
            (
                "可达性 access",
                access,
                "Training capacity within reach 培训供给可达性 (two-step floating catchment)",
            )
        )
    if data is not None:
        facts, files = _summary_rows(data)
        sheets += [
            ("口径 assumptions", facts, "Settings and figures of the run 口径与假设"),
            ("输入 inputs", files, "Input files and their hashes 输入数据"),
        ]
    return sheets


def _fill_sheet(ws: object, frame: pd.DataFrame, *, first_row: int) -> None:
    """Write ``frame`` with its header at ``first_row`` (1-based) of the worksheet."""
    safe = neutralise_frame(frame)
    header_fill = PatternFill("solid", fgColor="DDE8F3")
    for j, col in enumerate(safe.columns, start=1):
        cell = ws.cell(row=first_row, column=j, value=header_label(str(col)))  # type: ignore[attr-defined]
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        fmt = _number_format(str(col))
        values = safe[col].tolist()
        for i, value in enumerate(values, start=first_row + 1):
            if isinstance(value, float) and pd.isna(value):
                value = None
            elif isinstance(value, str):  # control characters cannot be stored: shown as "?"
                value = ILLEGAL_CHARACTERS_RE.sub("?", value)
            c = ws.cell(row=i, column=j, value=value)  # type: ignore[attr-defined]
            if fmt is not None and isinstance(value, int | float) and not isinstance(value, bool):
                c.number_format = fmt
        longest = max([len(str(v)) for v in values[:200]] + [min(len(cell.value), 24) // 2 + 4])
        ws.column_dimensions[get_column_letter(j)].width = min(40, max(8, longest + 2))  # type: ignore[attr-defined]
    ws.freeze_panes = ws.cell(row=first_row + 1, column=1)  # type: ignore[attr-defined]


def write_workbook(
    path: str | Path, sheets: Sequence[Sheet], *, image_png: bytes | None = None
) -> Path:
    """Write the sheets to an Excel file, atomically.

    Parameters
    ----------
    path
        The ``.xlsx`` file to write.
    sheets
        ``(name, frame, description)`` triples, in order (see :func:`workbook_sheets`).
    image_png
        A PNG placed on the first sheet, right of its table (the static map).

    Returns
    -------
    path
        ``path`` as a :class:`~pathlib.Path`.
    """
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for k, (name, frame, description) in enumerate(sheets):
        ws = wb.create_sheet(title=name[:31])
        ws.cell(row=1, column=1, value=description).font = Font(bold=True, size=12)
        _fill_sheet(ws, frame, first_row=2)
        if k == 0 and image_png is not None:
            img = Image(io.BytesIO(image_png))
            scale = 520 / img.width
            img.width, img.height = int(img.width * scale), int(img.height * scale)
            ws.add_image(img, f"{get_column_letter(len(frame.columns) + 2)}2")
    if not sheets:
        wb.create_sheet(title="空 empty")
    return write_with(path, lambda p: wb.save(p))
