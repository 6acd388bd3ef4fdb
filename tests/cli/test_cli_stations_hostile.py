"""`skillcircle stations check` and `report --stations` on hostile ledgers.

Every bad ledger is exit code 2 and exactly one stderr line naming the file, never a
traceback; the ledger is left byte for byte as it was, and nothing is written — except that a
ledger whose every row is rejected still gets its ``stations_rejected.csv`` from ``stations
check`` (the reasons are what the user needs).
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from skillcircle.cli import main
from skillcircle.inputs import stations as st

HEADER = "名称,类型,经度,纬度"
ROW = "甲站,社区型,113.266,23.1395"


def _sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _book(path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _one_sheet(path: Path) -> Path:
    return _book(path, {"台账": [HEADER.split(","), ROW.split(",")]})


def _rewrite(path: Path, part: str, edit: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, src.read(info)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in members:
            dst.writestr(name, edit(data) if name == part else data)
    path.write_bytes(buffer.getvalue())
    return path


BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE b [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY a{i} "{("&a" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData><row r='1'><c r='A1' t='inlineStr'><is><t>&a9;</t></is></c></row>"
    b"</sheetData></worksheet>"
)


def _text(name: str, text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(data)
        return path

    return make


GARBAGE = np.random.default_rng(11).bytes(2048)

#: case → (make the ledger in a folder, the source to pass (None: the file), expected text)
CASES: dict[str, tuple[Callable[[Path], Path], str | None, str]] = {
    "empty csv": (_bytes("e.csv", b""), None, "the file is empty"),
    "garbage csv": (_bytes("g.csv", GARBAGE), None, "looks like a binary file"),
    "garbage xlsx": (_bytes("g.xlsx", GARBAGE), None, "not a zip archive"),
    "garbage geojson": (_bytes("g.geojson", GARBAGE), None, "cannot read as a geojson file"),
    "folder": (lambda tmp: tmp, None, "is a folder"),
    "missing": (lambda tmp: tmp / "nope.csv", None, "station ledger not found"),
    "no header": (_text("n.csv", ROW + "\n"), None, "no coordinate columns"),
    "header only": (_text("h.csv", HEADER + "\n"), None, "no data rows under the header"),
    "csv named xlsx": (_text("c.xlsx", f"{HEADER}\n{ROW}\n"), None, "rename it to .csv"),
    "empty geojson": (
        _text("f.geojson", '{"type": "FeatureCollection", "features": []}'),
        None,
        "the file is empty (no features)",
    ),
    "two sheets": (
        lambda tmp: _book(tmp / "two.xlsx", {"A": [[HEADER]], "B": [[HEADER]]}),
        None,
        "the workbook has 2 sheets with values ('A', 'B'): name the ledger's sheet, e.g. ",
    ),
    "missing sheet": (
        lambda tmp: _one_sheet(tmp / "one.xlsx"),
        ":Sheet9",
        "no sheet 'Sheet9' in the workbook; its sheets: '台账'",
    ),
    "entity bomb": (
        lambda tmp: _rewrite(
            _one_sheet(tmp / "bomb.xlsx"), "xl/worksheets/sheet1.xml", lambda _: BOMB
        ),
        None,
        "declares an XML DOCTYPE/entities",
    ),
    "undefined entity": (
        lambda tmp: _rewrite(
            _one_sheet(tmp / "u.xlsx"),
            "xl/worksheets/sheet1.xml",
            lambda x: x.replace(
                b"</row>", b"<c r='Z1' t='inlineStr'><is><t>&x;</t></is></c></row>", 1
            ),
        ),
        None,
        "cannot read the sheet '台账' of the Excel workbook (ParseError: undefined entity",
    ),
    "broken sheet xml": (
        lambda tmp: _rewrite(
            _one_sheet(tmp / "b.xlsx"), "xl/worksheets/sheet1.xml", lambda x: x[:-40]
        ),
        None,
        "cannot read the sheet '台账' of the Excel workbook (ParseError",
    ),
    "dev zero": (lambda tmp: Path("/dev/zero"), None, "not a regular file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_check_bad_ledger_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    make, suffix, expected = CASES[case]
    src_dir = tmp_path / "in"
    src_dir.mkdir()
    path = make(src_dir)
    before = _sha(path)
    out = tmp_path / "out"
    code = main(["stations", "check", f"{path}{suffix or ''}", "--out", str(out)])
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, captured
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {path}")
    assert expected in err[0]
    assert "Traceback" not in captured.err + captured.out
    assert _sha(path) == before
    assert not out.exists()


def test_check_fifo_is_refused_without_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "ledger.csv"
    os.mkfifo(fifo)
    code = main(["stations", "check", str(fifo), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"error: {fifo}: not a regular file (a device, pipe or socket)"]


def test_check_too_many_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(st, "MAX_LEDGER_ROWS", 2)
    path = tmp_path / "long.csv"
    path.write_text("\n".join([HEADER, ROW, ROW, ROW]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["stations", "check", str(path), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        f"error: {path}: the ledger has more than 2 data rows (the ledger limit): split it into "
        "several ledgers"
    ]
    assert not out.exists()


def test_check_every_row_rejected_writes_only_the_rejects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\n甲站,社区型,,\n乙站,食堂,113.2,23.1\n", encoding="utf-8")
    before = _sha(path)
    out = tmp_path / "out"
    code = main(["stations", "check", str(path), "--out", str(out)])
    captured = capsys.readouterr()
    rejects = out / "stations_rejected.csv"
    assert code == 2
    assert captured.err.strip().splitlines() == [
        f"error: {path}: no usable station: every row was rejected (see {rejects})"
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        ".skillcircle-manifest.json",
        "stations_rejected.csv",
    ]
    table = pd.read_csv(rejects, encoding="utf-8-sig")
    assert table["row"].tolist() == [1, 2]
    assert table["reason"].str.startswith(("missing coordinate", "unknown station type")).all()
    assert _sha(path) == before


def test_check_named_sheet_and_semicolons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = _book(
        tmp_path / "ledger.xlsx",
        {"旧": [HEADER.split(","), ROW.split(",")], "新": [HEADER.split(","), ROW.split(",")]},
    )
    out = tmp_path / "out"
    assert main(["stations", "check", f"{book}:新", "--out", str(out)]) == 0
    assert "kept 1 stations, rejected 0 rows" in capsys.readouterr().out
    semi = tmp_path / "semi.csv"
    semi.write_text(
        "台账, 2025\n名称;类型;经度;纬度\n甲站;社区型;113.266;23.1395\n", encoding="utf-8"
    )
    assert main(["stations", "check", str(semi), "--out", str(tmp_path / "o2")]) == 0
    assert "kept 1 stations, rejected 0 rows" in capsys.readouterr().out


@pytest.mark.data
@pytest.mark.parametrize("command", ["report", "suggest"])
def test_report_with_every_row_rejected_writes_nothing(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    ledger = tmp_path / "semicolons.csv"
    # every row is rejected: non-numeric and missing coordinates
    ledger.write_text("名称,类型,经度,纬度\n甲站,社区型,x,y\n乙站,园区型,,\n", encoding="utf-8")
    y = data_root / "yuexiu"
    out = tmp_path / "r"
    code = main(
        [
            command, "--stations", str(ledger), "--network", str(y / "roads_osm.gpkg"),
            "--population", str(y / "worldpop.tif"), "--districts", "cnmaps:440104",
            "--out", str(out),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {ledger}: none of the 2 stations in the ledger is kept")
    assert not out.exists()
