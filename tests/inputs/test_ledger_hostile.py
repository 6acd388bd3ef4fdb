"""Station ledgers from a hostile user: every bad file is one skillcircle error naming it.

Each case either raises :class:`~skillcircle.InputError` (or
:class:`~skillcircle.InputFileNotFoundError`) whose message names the file (and the sheet), or
reads correctly. Workbooks with entity bombs, undefined entities and broken XML are built by
writing a valid workbook with openpyxl and rewriting one part inside the zip.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely import LineString, Point

from skillcircle import InputError, InputFileNotFoundError
from skillcircle.inputs import stations as st
from skillcircle.inputs.stations import (
    MAX_LEDGER_ROWS,
    check_ledger,
    read_stations,
    split_sheet,
)

HEADER = ["名称", "类型", "经度", "纬度"]
ROWS = [["甲站", "社区型", "113.266", "23.1395"], ["乙站", "园区型", "113.32452", "23.10642"]]


def _csv(path: Path, rows: list[list[str]], *, sep: str = ",", title: str | None = None) -> Path:
    lines = ([title] if title else []) + [sep.join(r) for r in [HEADER, *rows]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _workbook(path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _rewrite_part(path: Path, part: str, new: bytes) -> Path:
    """Replace one member of the zip at ``path``."""
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in members:
            dst.writestr(info.filename, new if info.filename == part else data)
        if part not in {info.filename for info, _ in members}:
            dst.writestr(part, new)
    path.write_bytes(buffer.getvalue())
    return path


SST = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def _with_shared_strings(path: Path, xml: bytes) -> Path:
    """Add ``xl/sharedStrings.xml`` (openpyxl writes inline strings) and declare it."""
    with zipfile.ZipFile(path) as z:
        types = z.read("[Content_Types].xml")
    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST}"/>'.encode()
    _rewrite_part(path, "[Content_Types].xml", types.replace(b"</Types>", override + b"</Types>"))
    return _rewrite_part(path, "xl/sharedStrings.xml", xml)


def _error(path: Path, match: str, source: Path | str | None = None) -> str:
    """The message of reading ``source`` (default ``path``); it must name ``path``."""
    with pytest.raises((InputError, InputFileNotFoundError), match=match) as info:
        read_stations(source if source is not None else path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------- not a ledger file
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".geojson"])
def test_empty_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    assert _error(path, "the file is empty") == f"{path}: the file is empty"


@pytest.mark.parametrize(
    ("suffix", "match"),
    [
        (".csv", "looks like a binary file"),
        (".xlsx", r"not a zip archive\)$"),
        (".geojson", "cannot read as a geojson file"),
    ],
)
def test_binary_garbage(tmp_path: Path, suffix: str, match: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(np.random.default_rng(7).bytes(4096))
    _error(path, match)


def test_folder_missing_and_special_files(tmp_path: Path) -> None:
    _error(tmp_path, "is a folder, not a ledger file")
    with pytest.raises(InputFileNotFoundError, match="station ledger not found"):
        read_stations(tmp_path / "nope.csv")
    _error(Path("/dev/zero"), r"not a regular file")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading it would block forever: it is refused before being opened
    _error(fifo, r"not a regular file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_permissions(tmp_path: Path) -> None:
    path = _csv(tmp_path / "locked.csv", ROWS)
    path.chmod(0)
    try:
        _error(path, r"cannot read the file \(permission denied\)")
    finally:
        path.chmod(0o644)


def test_csv_without_header_and_header_only(tmp_path: Path) -> None:
    no_header = tmp_path / "no_header.csv"
    no_header.write_text("甲站,社区型,113.266,23.1395\n", encoding="utf-8")
    _error(no_header, r"no coordinate columns .* found columns: 甲站, 社区型, 113\.266")
    header_only = _csv(tmp_path / "header.csv", [])
    assert _error(header_only, "no data rows") == f"{header_only}: no data rows under the header"


def test_undecodable_text_and_csv_error(tmp_path: Path) -> None:
    bad_bytes = tmp_path / "bytes.csv"
    bad_bytes.write_bytes("名称,类型,经度,纬度\n".encode() + b"\xff\xff,x,1,2\n")
    _error(bad_bytes, r"cannot decode the text \(tried UTF-8 and GBK/GB18030\)")
    huge_field = tmp_path / "field.csv"
    huge_field.write_text('名称,类型,经度,纬度\n"' + "x" * 200_000 + '",a,1,2\n', encoding="utf-8")
    _error(huge_field, r"cannot read as CSV near line \d+ \(field larger than field limit")


def test_xlsx_that_is_a_csv_renamed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    path.write_text(",".join(HEADER) + "\n" + ",".join(ROWS[0]) + "\n", encoding="utf-8")
    _error(path, r"not a zip archive\): it looks like a text \(CSV\) file, rename it to \.csv")


def test_geojson_without_features_or_points(tmp_path: Path) -> None:
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    assert _error(empty, "no features") == f"{empty}: the file is empty (no features)"
    lines = tmp_path / "lines.geojson"
    gpd.GeoDataFrame(
        {"名称": ["甲站", "乙站"], "类型": ["社区型", "园区型"]},
        geometry=[LineString([(113.26, 23.13), (113.27, 23.14)])] * 2,
        crs="EPSG:4326",
    ).to_file(lines, driver="GeoJSON")
    result = read_stations(lines)  # read: every row rejected with its reason
    assert len(result.stations) == 0
    assert result.rejected["reason"].tolist() == ["geometry is a LineString, not a point"] * 2
    out = tmp_path / "out"
    with pytest.raises(InputError) as info:
        check_ledger(lines, out)
    rejects = out / "stations_rejected.csv"
    assert str(info.value) == (
        f"{lines}: no usable station: every row was rejected (see {rejects})"
    )
    assert sorted(p.name for p in out.iterdir()) == ["stations_rejected.csv"]
    assert pd.read_csv(rejects, encoding="utf-8-sig")["row"].tolist() == [1, 2]


# ---------------------------------------------------------------------------- size limits
def test_more_than_the_row_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    body = "甲站,社区型,113.266,23.1395\n" * (MAX_LEDGER_ROWS + 1)
    path.write_text(",".join(HEADER) + "\n" + body, encoding="utf-8")
    message = _error(path, "more than 200,000 data rows")
    assert message == (
        f"{path}: the ledger has more than 200,000 data rows (the ledger limit): split it "
        "into several ledgers"
    )


@pytest.mark.parametrize("title", [None, "羊城技能加油站台账"])
def test_row_limit_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, title: str | None
) -> None:
    monkeypatch.setattr(st, "MAX_LEDGER_ROWS", 3)
    rows = [[f"站{i}", "社区型", "113.266", f"23.1{i}"] for i in range(3)]
    at_limit = _csv(tmp_path / "three.csv", rows, title=title)
    assert read_stations(at_limit).stations["name"].tolist() == ["站0", "站1", "站2"]
    over = _csv(tmp_path / "four.csv", [*rows, ["站3", "社区型", "113.266", "23.13"]], title=title)
    _error(over, "more than 3 data rows")
    book = _workbook(tmp_path / "four.xlsx", {"台账": [HEADER, *rows, rows[0]]})
    _error(book, r"the sheet '台账' has more than 3 data rows")
    points = tmp_path / "four.geojson"
    gpd.GeoDataFrame(
        {"名称": ["a", "b", "c", "d"], "类型": ["社区型"] * 4},
        geometry=[Point(113.26 + i / 100, 23.13) for i in range(4)],
        crs="EPSG:4326",
    ).to_file(points, driver="GeoJSON")
    _error(points, "more than 3 data rows")


def test_file_over_200_mb_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("wb") as fh:  # sparse: no disk used, and never read
        fh.truncate(200_000_001)
    assert _error(path, "200 MB") == (
        f"{path}: the file is 200 MB, more than the ledger limit of 200 MB: split it into "
        "several ledgers"
    )


# ---------------------------------------------------------------------------- delimiters
@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_is_detected(tmp_path: Path, sep: str) -> None:
    # a title row with a comma above the header used to make the file one comma column
    path = _csv(tmp_path / "ledger.csv", ROWS, sep=sep, title="台账, 2025年第三季度")
    result = read_stations(path)
    assert result.stations["name"].tolist() == ["甲站", "乙站"]
    assert result.stations["lon"].tolist() == [113.266, 113.32452]
    assert result.stations["row"].tolist() == [1, 2]
    assert len(result.rejected) == 0


def test_semicolon_ledger_with_a_comma_pair_column(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("名称;类型;经纬度\n甲站;社区型;113.266,23.1395\n乙站;园区型;113.3,23.1\n")
    result = read_stations(path)
    assert result.stations["lat"].tolist() == [23.1395, 23.1]


# ---------------------------------------------------------------------------- sheets and layers
def test_several_sheets_must_be_named(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "ledger.xlsx",
        {"2024": [HEADER, ROWS[0]], "2025": [HEADER, *ROWS], "备注": []},
    )
    message = _error(path, "2 sheets with values")
    assert message == (
        f"{path}: the workbook has 2 sheets with values ('2024', '2025'): name the ledger's "
        f"sheet, e.g. {path}:2024"
    )
    assert read_stations(f"{path}:2025").stations["name"].tolist() == ["甲站", "乙站"]
    assert read_stations(f"{path}:2024").stations["name"].tolist() == ["甲站"]
    _error(
        path, r"no sheet '2026' in the workbook; its sheets: '2024', '2025', '备注'", f"{path}:2026"
    )


def test_study_file_names_a_sheet(tmp_path: Path) -> None:
    from skillcircle.study import Study

    book = _workbook(tmp_path / "ledger.xlsx", {"A": [HEADER, ROWS[0]], "B": [HEADER, *ROWS]})
    toml = tmp_path / "study.toml"
    toml.write_text('stations = "ledger.xlsx:B"\nnetwork = "roads.gpkg"\n', encoding="utf-8")
    study = Study.from_toml(toml)
    assert study.stations == Path(f"{book}:B")  # relative to the study file, sheet kept
    assert read_stations(study.stations).stations["name"].tolist() == ["甲站", "乙站"]


def test_only_sheet_with_values_is_read(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "ledger.xlsx", {"说明": [], "台账": [HEADER, *ROWS], "空": []})
    result = read_stations(path)
    assert result.stations["name"].tolist() == ["甲站", "乙站"]
    _error(path, r"the sheet '说明' is empty \(no cells with values\)", f"{path}:说明")


def test_split_sheet() -> None:
    assert split_sheet("a/b.xlsx:Sheet 2") == (Path("a/b.xlsx"), "Sheet 2")
    assert split_sheet("b.GPKG:points") == (Path("b.GPKG"), "points")
    assert split_sheet("C:/ledgers/b.xlsx") == (Path("C:/ledgers/b.xlsx"), None)
    assert split_sheet("b.csv:x") == (Path("b.csv:x"), None)


def test_geopackage_with_several_layers(tmp_path: Path) -> None:
    path = tmp_path / "ledger.gpkg"
    for layer, names in (("old", ["甲站"]), ("new", ["甲站", "乙站"])):
        gpd.GeoDataFrame(
            {"名称": names, "类型": ["社区型"] * len(names)},
            geometry=[Point(113.26 + i / 100, 23.13) for i in range(len(names))],
            crs="EPSG:4326",
        ).to_file(path, layer=layer, driver="GPKG")
    _error(path, r"2 layers with features \('old', 'new'\): name the ledger's layer, e\.g\. ")
    assert read_stations(f"{path}:new").stations["name"].tolist() == ["甲站", "乙站"]
    _error(path, r"no layer 'x' in the file; its layers: 'old', 'new'", f"{path}:x")


# ---------------------------------------------------------------------------- hostile XML
BOMB = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE lolz [\n'
    b'<!ENTITY lol "lol">\n'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    b"</sheetData></worksheet>"
)


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"])
def test_entity_bomb_is_refused_without_expanding(tmp_path: Path, part: str) -> None:
    path = _workbook(tmp_path / "bomb.xlsx", {"台账": [HEADER, *ROWS]})
    if part == "xl/sharedStrings.xml":
        _with_shared_strings(path, BOMB)
    else:
        _rewrite_part(path, part, BOMB)
    start = time.perf_counter()
    _error(path, f"the workbook part {part} declares an XML DOCTYPE/entities")
    print(f"entity bomb in {part} refused in {time.perf_counter() - start:.3f} s")


def test_undefined_entity_and_broken_sheet_xml(tmp_path: Path) -> None:
    book = _workbook(tmp_path / "ok.xlsx", {"台账": [HEADER, *ROWS]})
    with zipfile.ZipFile(book) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    # raised lazily, while the sheet's rows are read
    undefined = tmp_path / "undefined.xlsx"
    undefined.write_bytes(book.read_bytes())
    cell = b'<c r="A5" t="inlineStr"><is><t>&nope;</t></is></c>'
    _rewrite_part(
        undefined, "xl/worksheets/sheet1.xml", sheet.replace(b"</row>", cell + b"</row>", 1)
    )
    _error(
        undefined,
        r"cannot read the sheet '台账' of the Excel workbook \(ParseError: undefined entity",
    )
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(book.read_bytes())
    _rewrite_part(broken, "xl/worksheets/sheet1.xml", sheet[: len(sheet) * 2 // 3])
    _error(broken, r"cannot read the sheet '台账' of the Excel workbook \(ParseError: ")
    # the shared strings are read when the workbook is opened
    bad_strings = tmp_path / "strings.xlsx"
    bad_strings.write_bytes(book.read_bytes())
    _with_shared_strings(
        bad_strings,
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        b'uniqueCount="1"><si><t>&nope;</t></si></sst>',
    )
    _error(bad_strings, r"cannot read as an Excel \.xlsx workbook \(undefined entity")


# ---------------------------------------------------------------------------- every row rejected
def test_every_row_rejected(tmp_path: Path) -> None:
    path = _csv(tmp_path / "bad.csv", [["甲站", "社区型", "东经113度", "北纬23度"]])
    result = read_stations(path)
    assert result.rejected["reason"].tolist() == ["non-numeric coordinate '东经113度'"]
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"no usable station: every row was rejected"):
        check_ledger(path, out)
    assert [p.name for p in out.iterdir()] == ["stations_rejected.csv"]


# ---------------------------------------------------------------------------- duplicates
def _random_ledger(rng: np.random.Generator, n: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Few names, points in tight clusters (so chains and near misses are common)."""
    names = [f"站{k}" for k in rng.integers(0, max(1, n // 8), n)]
    centres = rng.uniform([113.2, 23.0], [113.4, 23.2], size=(max(1, n // 20), 2))
    pick = centres[rng.integers(0, len(centres), n)]
    spread = rng.choice([1e-5, 1e-4, 5e-4], size=(n, 1))
    pts = pick + rng.normal(0.0, 1.0, (n, 2)) * spread
    return names, pts[:, 0], pts[:, 1]


@pytest.mark.parametrize("seed", range(12))
def test_grid_duplicates_equal_the_pairwise_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 1500))
    names, lon, lat = _random_ledger(rng, n)
    candidate = rng.random(n) > 0.1
    for duplicate_m in (0.0, 0.5, 3.0, 30.0, 75.0, 2_000.0):
        fast = st._duplicates(names, lon, lat, candidate, duplicate_m)
        slow = st._duplicates_pairwise(names, lon, lat, candidate, duplicate_m)
        assert fast == slow
    assert slow  # the generator makes duplicates


def test_duplicate_chain_and_exact_ties() -> None:
    # A, B 20 m east of A, C 20 m east of B (40 m from A); D on A exactly, E on B exactly
    dlon = 20 / (111_195.08 * np.cos(np.radians(23.13)))
    lon = np.array([113.26, 113.26 + dlon, 113.26 + 2 * dlon, 113.26, 113.26 + dlon])
    lat = np.full(5, 23.13)
    names = ["甲"] * 5
    candidate = np.ones(5, dtype=bool)
    expected = {1: 0, 3: 0, 4: 0}  # B and E duplicate A; C is near B only (not kept): kept
    assert st._duplicates(names, lon, lat, candidate, 30.0) == expected
    assert st._duplicates_pairwise(names, lon, lat, candidate, 30.0) == expected
    assert st._duplicates(names, lon, lat, candidate, 0.0) == {3: 0, 4: 1}


def test_duplicate_chain_through_read_stations(tmp_path: Path) -> None:
    # 0.0002 deg of latitude = 22.2 m: B is 22 m from A, C 22 m from B and 44 m from A.
    rows = [["甲站", "社区型", "113.266", f"{23.1395 + k * 0.0002:.4f}"] for k in range(3)]
    result = read_stations(_csv(tmp_path / "chain.csv", rows))
    assert result.stations["row"].tolist() == [1, 3]
    assert result.rejected["reason"].tolist() == ["duplicate of row 1 (same name within 30 m)"]
