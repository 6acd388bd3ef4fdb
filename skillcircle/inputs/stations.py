"""Read, validate and clean a station ledger (站点台账).

A ledger is whatever the district offices keep: a CSV saved by Excel (UTF-8, UTF-8 with BOM or
GBK/GB18030), an ``.xlsx`` workbook, or a GeoJSON/GeoPackage of points. Column names may be
Chinese or English (名称/name, 经度/lon, 纬度/lat, 类型/type, 区/district, 街道/subdistrict,
地址/address, 容量/capacity, 建成年份/year, …; case, spaces and bracketed units are ignored), and
coordinates may be WGS84, GCJ-02 (AMap/Tencent) or BD-09 (Baidu).

:func:`read_stations` never drops anything silently: every data row ends up either in
``stations`` (valid, converted to WGS84, assigned to a district and 街道) or in ``rejected`` with
its row number and the reason. Problems with the file as a whole (missing, empty, binary,
unreadable, no coordinate columns) raise :class:`~skillcircle.InputError` or
:class:`~skillcircle.InputFileNotFoundError` naming the file.

**Hostile files.** A ledger is refused with one :class:`~skillcircle.InputError` naming the file
(and sheet) — never a traceback, never unbounded memory — when it is not a regular file, is
larger than :data:`MAX_LEDGER_BYTES` or has more than :data:`MAX_LEDGER_ROWS` data rows (CSV and
sheets are streamed and counted while read), is a workbook whose XML declares entities (an
entity bomb is refused before parsing) or is broken, or has several sheets/layers with values and
none is named (``ledger.xlsx:Sheet2``, :func:`split_sheet`).

**Row numbers** count data rows, 1-based, header excluded: row 1 is the first line under the
header, so a spreadsheet whose header is on its first line shows row *r* on sheet line *r* + 1.
Blank lines are counted (so numbers match the sheet) but are not stations. For GeoJSON and
GeoPackage, row *r* is the *r*-th feature.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import logging
import math
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from skillcircle._errors import InputError, InputFileNotFoundError
from skillcircle._escaping import neutralise_frame
from skillcircle.inputs.areas import assign_areas
from skillcircle.inputs.census import district_names
from skillcircle.inputs.coords import CoordSystem, check_coords, to_wgs84
from skillcircle.inputs.files import split_layer, write_with
from skillcircle.profiles import PROFILES, profile_for, utm_crs
from skillcircle.settings import Settings

__all__ = [
    "DEFAULT_MAX_DISTANCE_M",
    "MAX_LEDGER_BYTES",
    "MAX_LEDGER_ROWS",
    "STATION_COLUMNS",
    "STATION_TYPES",
    "StationsRead",
    "check_ledger",
    "normalise_type",
    "read_stations",
    "split_sheet",
    "station_counts",
    "write_stations",
]

logger = logging.getLogger(__name__)

#: The four kinds of 羊城技能加油站, as normalised in the ``type`` column.
STATION_TYPES = ("community", "rural", "park", "institution")
#: Default farthest distance of a station outside the study area (walk distance + max snap
#: distance of the default :class:`~skillcircle.settings.Settings`: 1 000 + 500 m).
DEFAULT_MAX_DISTANCE_M = Settings().walk_distance_m + Settings().max_snap_m
#: Leading columns of :attr:`StationsRead.stations` (then ``district_flag``, ``row``, the ledger's
#: other columns and ``geometry``).
STATION_COLUMNS = (
    "name",
    "type",
    "district_code",
    "district_name",
    "subdistrict_code",
    "subdistrict_name",
    "lon",
    "lat",
)

#: Most data rows a ledger may have; a longer one is refused, not read.
MAX_LEDGER_ROWS = 200_000
#: Largest ledger file (bytes, 200 MB) read; a larger one is refused before reading.
MAX_LEDGER_BYTES = 200_000_000

_EARTH_RADIUS_M = 6_371_008.8
#: ``ledger.xlsx:Sheet2`` / ``ledger.gpkg:layer`` names one sheet or layer of the file.
_HEADER_SEARCH_ROWS = 10

# field → header aliases (space separated), compared after _key() normalisation; for each
# field the first alias found in the header wins.
_FIELDS: dict[str, tuple[str, ...]] = {
    field: tuple(aliases.split())
    for field, aliases in {
        "name": "名称 站点名称 站名 加油站名称 名字 name station stationname sitename",
        "lon": "经度 lng lon long longitude x",
        "lat": "纬度 lat latitude y",
        "lonlat": "经纬度 坐标 经纬度坐标 lnglat lonlat coordinates location",
        "type": "类型 站点类型 类别 站点类别 type sitetype stationtype category",
        "district": "区 所属区 区县 行政区 所在区 所属区县 district county",
        "subdistrict": "街道 所属街道 镇街 街镇 所在街道 街道镇 subdistrict street town township",
        "address": "地址 详细地址 站点地址 address addr",
        "capacity": "容量 可容纳人数 培训容量 capacity",
        "year": "建成年份 年份 建设年份 成立年份 建成时间 建成日期 挂牌时间 挂牌日期 "
        "year yearbuilt built opened",
        "ledger_id": "序号 编号 站点编号 id no number",
    }.items()
}

_TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    kind: tuple(aliases.split())
    for kind, aliases in {
        "community": "社区型 社区 社区类 community",
        "rural": "乡村型 乡村 农村 农村型 乡镇 乡镇型 rural village",
        "park": "园区型 园区 产业园区 工业园区 园区类 park industrialpark",
        "institution": "院校机构型 院校机构 院校 机构 学校 院校型 机构型 培训机构 职业院校 "
        "institution school college",
    }.items()
}


def _key(text: object) -> str:
    """Normalise a header or type: NFKC, lower case, no spaces/_/-//, no bracketed suffix."""
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    s = re.sub(r"[(\[].*?[)\]]", "", s)  # 经度(GCJ-02), capacity [people]
    return re.sub(r"[\s_\-/:.]+", "", s)


_TYPE_LOOKUP = {_key(a): t for t, aliases in _TYPE_ALIASES.items() for a in aliases}


def normalise_type(text: object) -> str | None:
    """Map a ledger's station type to ``community``, ``rural``, ``park`` or ``institution``.

    Parameters
    ----------
    text
        Chinese (社区型, 乡村/农村, 园区型, 院校机构型/院校/机构/学校, optionally ending in 站/站点)
        or English.

    Returns
    -------
    str or None
        The normalised type, or None when the text is not a known type.

    Examples
    --------
    >>> normalise_type("社区型"), normalise_type(" Rural "), normalise_type("院校机构型站点")
    ('community', 'rural', 'institution')
    >>> normalise_type("食堂") is None
    True
    """
    key = _key(text)
    for suffix in ("站点", "站"):
        if key.endswith(suffix) and key[: -len(suffix)] in _TYPE_LOOKUP:
            key = key[: -len(suffix)]
    return _TYPE_LOOKUP.get(key)


@dataclass(frozen=True)
class StationsRead:
    """Result of :func:`read_stations`.

    Attributes
    ----------
    stations
        Valid stations, EPSG:4326, one per accepted row, in file order. Columns ``name``,
        ``type`` (community/rural/park/institution), ``district_code``, ``district_name``,
        ``subdistrict_code``, ``subdistrict_name``, ``lon``, ``lat`` (WGS84 degrees),
        ``district_flag`` (text, ``""`` when the ledger's district agrees with the polygons),
        ``cross_border`` (bool: outside the study area but within reach of it, see
        :func:`read_stations`), ``row`` (ledger row number), then the ledger's own values:
        ``ledger_type``,
        ``ledger_district``, ``ledger_subdistrict``, ``ledger_lon``/``ledger_lat`` (coordinates
        as given, before conversion), ``address``, ``capacity``, ``year``, ``ledger_id`` when
        present, any other column under its own name, and ``geometry``.
    rejected
        One row per rejected ledger row: ``row``, ``reason`` and every original column as text.
    path
        The ledger file.
    encoding
        Text encoding used for CSV (``"utf-8"``, ``"utf-8-sig"``, ``"gb18030"`` or
        ``"utf-16"``); None for other formats.
    coords
        Coordinate system the ledger's coordinates were read as.
    format
        ``"csv"``, ``"xlsx"``, ``"geojson"`` or ``"gpkg"`` (any other GIS file: ``"gis"``).
    """

    stations: gpd.GeoDataFrame
    rejected: pd.DataFrame
    path: Path
    encoding: str | None
    coords: CoordSystem
    format: str


@dataclass
class _Table:
    """A ledger as text cells, before validation."""

    columns: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    encoding: str | None
    format: str
    #: Field → column index forced by the reader (geometry coordinates of GIS files).
    forced: dict[str, int] = field(default_factory=dict)
    #: Row index → reason found while reading (e.g. a polygon where a point was expected).
    pre_reasons: dict[int, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Reading files into a _Table
# --------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.date | datetime.time):  # Excel date cells
        return value.isoformat()
    return str(value).strip()


def _unique_headers(header: Sequence[str]) -> list[str]:
    out: list[str] = []
    for j, h in enumerate(header):
        name = h.strip().lstrip("\ufeff") or f"column_{j + 1}"
        base, k = name, 2
        while name in out:
            name, k = f"{base}_{k}", k + 1
        out.append(name)
    return out


def _find_fields(columns: Sequence[str]) -> dict[str, int]:
    """Field → column index, by alias priority (first alias of a field wins over later ones)."""
    keys = [_key(c) for c in columns]
    found: dict[str, int] = {}
    used: set[int] = set()
    for name, aliases in _FIELDS.items():
        for alias in aliases:
            idx = next((j for j, k in enumerate(keys) if k == _key(alias) and j not in used), None)
            if idx is not None:
                found[name] = idx
                used.add(idx)
                break
    return found


def _has_coordinates(fields: dict[str, int]) -> bool:
    return ("lon" in fields and "lat" in fields) or "lonlat" in fields


def _table_from_grid(
    grid: list[Sequence[str]], *, path: Path, encoding: str | None, fmt: str, where: str = ""
) -> _Table:
    """Find the header row (the first with coordinate columns, within the first rows).

    The rows of ``grid`` (lists of stripped cell texts; blank rows may be empty) become the
    table's rows in place, so the cells are not copied.
    """
    nonblank = [i for i, r in enumerate(grid[: _HEADER_SEARCH_ROWS * 100]) if any(r)]
    if not nonblank:
        if not any(any(r) for r in grid):
            raise InputError(f"the {where or 'file'} is empty (no rows)", path=path)
        nonblank = [next(i for i, r in enumerate(grid) if any(r))]
    header_at = nonblank[0]
    for i in nonblank[:_HEADER_SEARCH_ROWS]:
        if _has_coordinates(_find_fields(grid[i])):
            header_at = i
            break
    rows: list[list[str]] = []
    numbers: list[int] = []
    for i in range(header_at + 1, len(grid)):
        cells = grid[i]
        if any(cells):
            rows.append(cells if isinstance(cells, list) else list(cells))
            numbers.append(i - header_at)
    if len(rows) > MAX_LEDGER_ROWS:
        raise _too_many_rows(path, where)
    width = max([len(grid[header_at]), *(len(r) for r in rows)])
    header = _unique_headers([*grid[header_at], *[""] * (width - len(grid[header_at]))])
    for r in rows:
        if len(r) < width:
            r.extend([""] * (width - len(r)))
    # Drop header-less trailing columns that hold nothing at all (Excel's ragged right edge).
    keep = [
        j for j, h in enumerate(header) if not h.startswith("column_") or any(r[j] for r in rows)
    ]
    if len(keep) < width:
        header = [header[j] for j in keep]
        for k, r in enumerate(rows):
            rows[k] = [r[j] for j in keep]
    return _Table(header, rows, numbers, encoding, fmt)


def _one_line(exc: BaseException) -> str:
    """An exception's text on one line (GDAL and XML parsers may span several)."""
    return " ".join(str(exc).split())


def _too_many_rows(path: Path, where: str = "") -> InputError:
    return InputError(
        f"the {where or 'ledger'} has more than {MAX_LEDGER_ROWS:,} data rows (the ledger "
        "limit): split it into several ledgers",
        path=path,
    )


def _sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample.

    ``csv.Sniffer`` among ``, ; tab |``; when it cannot tell (e.g. a title line above the
    header), the candidate that occurs the same non-zero number of times on the most lines
    (``,`` when none occurs at all).
    """
    lines = [line for line in sample.splitlines() if line.strip()]
    if len(lines) > 1:
        try:
            return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
        except csv.Error:
            pass
    best, best_lines = ",", 0
    for delimiter in (",", ";", "\t", "|"):
        counts = Counter(line.count(delimiter) for line in lines)
        counts.pop(0, None)
        consistent = max(counts.values(), default=0)
        if consistent > best_lines:
            best, best_lines = delimiter, consistent
    return best


def _text_encodings(head: bytes, path: Path) -> list[str]:
    """Encodings to try, in order, from the first bytes of a text ledger."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ["utf-16"]
    if b"\x00" in head:
        raise InputError("looks like a binary file, not a text (CSV) ledger", path=path)
    return ["utf-8-sig", "gb18030"]


def _read_csv(path: Path) -> _Table:
    """Stream a CSV ledger: rows are counted while reading and refused past the limit."""
    with _open_binary(path) as fh:
        head = fh.read(65536)
    if not head.strip() and len(head) < 65536:
        raise InputError("the file is empty", path=path)
    encodings = _text_encodings(head, path)
    # The header is within the first rows; the rest are data rows (blank ones are not kept).
    limit = MAX_LEDGER_ROWS + _HEADER_SEARCH_ROWS
    for n_try, encoding in enumerate(encodings):
        grid: list[Sequence[str]] = []
        blank: tuple[str, ...] = ()
        try:
            with open(path, encoding=encoding, newline="") as text:
                sample = text.read(1024) + text.readline()
                delimiter = _sniff_delimiter(sample)
                text.seek(0)
                reader = csv.reader(text, delimiter=delimiter)
                nonblank = 0
                for record in reader:
                    cells = [c.strip() for c in record]
                    if any(cells):
                        nonblank += 1
                        if nonblank > limit:
                            raise _too_many_rows(path)
                        grid.append(cells)
                    else:
                        grid.append(blank)
        except UnicodeDecodeError as exc:
            if n_try + 1 < len(encodings):
                continue
            what = "the UTF-16 text" if encoding == "utf-16" else "the text"
            tried = "" if encoding == "utf-16" else " (tried UTF-8 and GBK/GB18030)"
            raise InputError(f"cannot decode {what}{tried}", path=path) from exc
        except csv.Error as exc:
            raise InputError(
                f"cannot read as CSV near line {reader.line_num} ({_one_line(exc)})", path=path
            ) from exc
        except OSError as exc:
            raise _os_error(path, exc) from exc
        if encoding == "utf-8-sig" and not head.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"
        if not any(any(r) for r in grid):
            raise InputError("the file is empty", path=path)
        return _table_from_grid(grid, path=path, encoding=encoding, fmt="csv")
    raise InputError("cannot decode the text", path=path)  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Workbooks
# --------------------------------------------------------------------------------------------

#: Total uncompressed size of a workbook's parts beyond which it is refused (a zip bomb).
_MAX_UNZIPPED_BYTES = 1_000_000_000
_XML_ELEMENT = re.compile(rb"<[A-Za-z_]")


def _check_workbook_zip(path: Path) -> None:
    """Refuse a workbook that is no zip, expands too far, or declares XML entities.

    Excel never writes a DOCTYPE: one in any XML part is refused before openpyxl parses it, so
    an entity bomb ("billion laughs") or an external entity is never expanded.
    """
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    if not is_zip:
        with _open_binary(path) as fh:
            head = fh.read(4096)
        hint = (
            ": it looks like a text (CSV) file, rename it to .csv"
            if head.strip() and b"\x00" not in head
            else ""
        )
        raise InputError(
            f"cannot read as an Excel .xlsx workbook (not a zip archive){hint}", path=path
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            if total > _MAX_UNZIPPED_BYTES:
                raise InputError(
                    f"the workbook expands to {total / 1e6:,.0f} MB (more than "
                    f"{_MAX_UNZIPPED_BYTES / 1e6:,.0f} MB): refused",
                    path=path,
                )
            for member in members:
                if member.filename.lower().endswith((".xml", ".rels", ".vml")):
                    with archive.open(member) as part:
                        _check_xml_prologue(part.read(1 << 20), path, member.filename)
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, zlib.error) as exc:
        # a corrupt member raises BadZipFile, EOFError or zlib.error; an odd method NotImplemented
        raise _not_a_workbook(path, exc) from exc


def _not_a_workbook(path: Path, exc: BaseException) -> InputError:
    return InputError(f"cannot read as an Excel .xlsx workbook ({_one_line(exc)})", path=path)


def _check_xml_prologue(head: bytes, path: Path, part: str) -> None:
    """Refuse an XML part whose prologue (before the root element) has a DOCTYPE."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    match = _XML_ELEMENT.search(head)
    prologue = head if match is None else head[: match.start()]
    upper = prologue.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise InputError(
            f"the workbook part {part} declares an XML DOCTYPE/entities, which Excel never "
            "writes: refused (possible entity bomb)",
            path=path,
        )


def _sheet_rows(path: Path, sheet: Any) -> list[Sequence[str]]:
    """Every row of a read-only sheet as stripped texts, bounded by the row limit."""
    grid: list[Sequence[str]] = []
    blank: tuple[str, ...] = ()
    nonblank = 0
    limit = MAX_LEDGER_ROWS + _HEADER_SEARCH_ROWS
    for values in sheet.iter_rows(values_only=True):
        cells = [_cell(v) for v in values]
        if any(cells):
            nonblank += 1
            if nonblank > limit:
                raise _too_many_rows(path, f"sheet {sheet.title!r}")
            grid.append(cells)
        else:
            grid.append(blank)
    return grid


def _sheet_has_values(sheet: Any) -> bool:
    return any(
        any(v is not None and str(v).strip() for v in row)
        for row in sheet.iter_rows(values_only=True)
    )


def _read_xlsx(path: Path, sheet_name: str | None = None) -> _Table:
    import openpyxl

    _check_workbook_zip(path)
    where = "workbook"
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises anything from a hostile workbook
        raise _not_a_workbook(path, exc) from exc
    try:
        names = list(book.sheetnames)
        listed = ", ".join(repr(n) for n in names)
        if sheet_name is not None:
            if sheet_name not in names:
                raise InputError(
                    f"no sheet {sheet_name!r} in the workbook; its sheets: {listed}", path=path
                )
            chosen = sheet_name
        else:
            with_values = []
            for n in names if len(names) > 1 else ():
                where = f"sheet {n!r}"
                if _sheet_has_values(book[n]):
                    with_values.append(n)
            if len(names) == 1:
                with_values = names
            if not with_values:
                raise InputError("the workbook is empty (no cells with values)", path=path)
            if len(with_values) > 1:
                raise InputError(
                    f"the workbook has {len(with_values)} sheets with values ("
                    + ", ".join(repr(n) for n in with_values)
                    + f"): name the ledger's sheet, e.g. {path}:{with_values[0]}",
                    path=path,
                )
            chosen = with_values[0]
            if len(names) > 1:
                logger.info("%s: reading sheet %r (the others are empty)", path, chosen)
        where = f"sheet {chosen!r}"
        grid = _sheet_rows(path, book[chosen])
    except InputError:
        raise
    except Exception as exc:  # a broken sheet XML raises while its rows are read
        raise InputError(
            f"cannot read the {where} of the Excel workbook "
            f"({type(exc).__name__}: {_one_line(exc)})",
            path=path,
        ) from exc
    finally:
        book.close()
    if not any(any(r) for r in grid):
        raise InputError(f"the sheet {chosen!r} is empty (no cells with values)", path=path)
    return _table_from_grid(grid, path=path, encoding=None, fmt="xlsx", where=f"sheet {chosen!r}")


# --------------------------------------------------------------------------------------------
# GIS files
# --------------------------------------------------------------------------------------------


def _gis_layer(path: Path, layer: str | None, fmt: str) -> str | None:
    """The layer to read: the named one, else the only one with features."""
    import pyogrio

    if fmt != "gpkg" and layer is None:
        try:
            features = int(pyogrio.read_info(path)["features"])
        except Exception:  # gpd.read_file reports an unreadable file below
            features = 0
        if features > MAX_LEDGER_ROWS:
            raise _too_many_rows(path)
        return None
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio's DataSourceError family and friends
        raise InputError(f"cannot read as a {fmt} file ({_one_line(exc)})", path=path) from exc
    listed = ", ".join(repr(n) for n in layers)
    chosen: str | None
    if layer is not None:
        if layer not in layers:
            raise InputError(f"no layer {layer!r} in the file; its layers: {listed}", path=path)
        chosen = layer
    elif len(layers) <= 1:
        chosen = layers[0] if layers else None
    else:
        counts: dict[str, int] = {}
        for name in layers:
            try:
                counts[name] = int(pyogrio.read_info(path, layer=name)["features"])
            except Exception as exc:  # pyogrio's DataSourceError family and friends
                message = f"cannot read layer {name!r} ({_one_line(exc)})"
                raise InputError(message, path=path) from exc
        with_features = [n for n in layers if counts[n] != 0]
        if len(with_features) > 1:
            raise InputError(
                f"the file has {len(with_features)} layers with features ("
                + ", ".join(repr(n) for n in with_features)
                + f"): name the ledger's layer, e.g. {path}:{with_features[0]}",
                path=path,
            )
        chosen = with_features[0] if with_features else layers[0]
    if chosen is not None:
        try:
            features = int(pyogrio.read_info(path, layer=chosen)["features"])
        except Exception as exc:  # pyogrio's DataSourceError family and friends
            raise InputError(f"cannot read as a {fmt} file ({_one_line(exc)})", path=path) from exc
        if features > MAX_LEDGER_ROWS:
            raise _too_many_rows(path, f"layer {chosen!r}" if len(layers) > 1 else "")
    return chosen


def _read_gis(path: Path, fmt: str, layer: str | None = None) -> _Table:
    chosen = _gis_layer(path, layer, fmt)
    try:
        gdf = gpd.read_file(path, layer=chosen) if chosen is not None else gpd.read_file(path)
    except Exception as exc:  # pyogrio's DataSourceError family and friends
        raise InputError(f"cannot read as a {fmt} file ({_one_line(exc)})", path=path) from exc
    if len(gdf) == 0:
        raise InputError("the file is empty (no features)", path=path)
    has_geom = isinstance(gdf, gpd.GeoDataFrame) and not gdf.geometry.isna().all()
    props = gdf.drop(columns=gdf.geometry.name) if isinstance(gdf, gpd.GeoDataFrame) else gdf
    columns = _unique_headers([str(c) for c in props.columns])
    rows = [[_cell(v) for v in rec] for rec in props.itertuples(index=False, name=None)]
    table = _Table(columns, rows, list(range(1, len(rows) + 1)), None, fmt)
    if not has_geom:
        return table
    geoms = gdf.geometry
    if geoms.crs is not None and not geoms.crs.equals("EPSG:4326"):
        geoms = geoms.to_crs("EPSG:4326")
    kinds = geoms.geom_type.to_numpy()
    is_point = (kinds == "Point") & ~geoms.is_empty.to_numpy()
    xs = np.where(is_point, shapely.get_x(geoms.array), np.nan)
    ys = np.where(is_point, shapely.get_y(geoms.array), np.nan)
    for i, kind in enumerate(kinds):
        if kind is not None and kind != "Point":
            table.pre_reasons[i] = f"geometry is a {kind}, not a point"
    lon_name, lat_name = _unique_headers([*columns, "geometry_lon", "geometry_lat"])[-2:]
    table.columns = [*columns, lon_name, lat_name]
    table.rows = [
        [*r, "" if np.isnan(x) else repr(float(x)), "" if np.isnan(y) else repr(float(y))]
        for r, x, y in zip(rows, xs, ys, strict=True)
    ]
    table.forced = {"lon": len(columns), "lat": len(columns) + 1}
    return table


def _os_error(path: Path, exc: OSError) -> InputError:
    if isinstance(exc, PermissionError):
        return InputError("cannot read the file (permission denied)", path=path)
    if isinstance(exc, IsADirectoryError):
        return InputError("is a folder, not a ledger file", path=path)
    return InputError(f"cannot read the file ({exc.strerror or exc})", path=path)


@contextlib.contextmanager
def _open_binary(path: Path) -> Iterator[Any]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _os_error(path, exc) from exc
    with fh:
        yield fh


def split_sheet(source: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """Split ``ledger.xlsx:Sheet2`` (or ``ledger.gpkg:layer``) into the file and the sheet.

    The same ``path:name`` form as a network's GeoPackage layer
    (:func:`skillcircle.inputs.files.split_layer`): a source that is an existing file as
    written (even with a colon in its name) or that does not end in ``.xlsx``/``.xlsm``/
    ``.gpkg`` + ``:<name>`` has no sheet part.

    Parameters
    ----------
    source
        A ledger as :func:`read_stations` takes it.

    Returns
    -------
    tuple of (pathlib.Path, str or None)
        The file, and the sheet or layer (``None`` when not given).

    Examples
    --------
    >>> split_sheet("ledgers/2025.xlsx:Sheet2")
    (PosixPath('ledgers/2025.xlsx'), 'Sheet2')
    >>> split_sheet("ledger.csv")
    (PosixPath('ledger.csv'), None)
    """
    path, sheet = split_layer(source, suffixes=(".xlsx", ".xlsm", ".gpkg"))
    return Path(path), sheet


def _read_table(source: Path) -> tuple[Path, _Table]:
    """The ledger file (without its sheet part) and its cells."""
    path, sheet = split_sheet(source)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileNotFoundError(path, "station ledger") from None
    except OSError as exc:
        raise _os_error(path, exc) from exc
    if stat.S_ISDIR(info.st_mode):
        raise InputError("is a folder, not a ledger file", path=path)
    if not stat.S_ISREG(info.st_mode):
        raise InputError("not a regular file (a device, pipe or socket)", path=path)
    if info.st_size > MAX_LEDGER_BYTES:
        raise InputError(
            f"the file is {info.st_size / 1e6:,.0f} MB, more than the ledger limit of "
            f"{MAX_LEDGER_BYTES / 1e6:,.0f} MB: split it into several ledgers",
            path=path,
        )
    if info.st_size == 0:
        raise InputError("the file is empty", path=path)
    suffix = path.suffix.lower()
    if suffix in {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".parquet"}:
        fmt = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg"}.get(suffix, "gis")
        return path, _read_gis(path, fmt, sheet)
    if suffix == ".xls":
        raise InputError("old Excel .xls format: save it as .xlsx or CSV", path=path)
    with _open_binary(path) as fh:
        magic = fh.read(4)
    if suffix in {".xlsx", ".xlsm"} or magic == b"PK\x03\x04":
        return path, _read_xlsx(path, sheet)
    return path, _read_csv(path)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _numbers(texts: Sequence[str]) -> NDArray[np.float64]:
    cleaned = [unicodedata.normalize("NFKC", t).strip().rstrip("°").strip() for t in texts]
    return pd.to_numeric(pd.Series(cleaned, dtype=object), errors="coerce").to_numpy(np.float64)


def _study_area_polygon(study_area: Any) -> shapely.Geometry | None:
    """The study area as one WGS84 (multi)polygon, or ``None``."""
    if study_area is None:
        return None
    if isinstance(study_area, gpd.GeoDataFrame | gpd.GeoSeries):
        if study_area.crs is None:
            raise InputError("the study area has no CRS (expected WGS84 polygons)")
        area = study_area.to_crs("EPSG:4326").union_all()
    elif isinstance(study_area, shapely.Geometry):
        area = study_area
    else:
        raise InputError(f"study_area must be a GeoDataFrame of polygons, got {type(study_area)}")
    if area is None or area.is_empty or area.area == 0:
        raise InputError("the study area holds no polygon")
    return area


class _AreaTest:
    """Distance (metres) of WGS84 points from a study area, measured in its UTM zone."""

    def __init__(self, area: shapely.Geometry) -> None:
        from pyproj import Transformer

        centre = area.centroid
        crs = utm_crs(centre.x, centre.y)
        self._fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self._back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        self.area = shapely.transform(
            area, lambda c: np.column_stack(self._fwd.transform(c[:, 0], c[:, 1]))
        )
        shapely.prepare(self.area)

    def distance_m(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
        """0 inside, else the distance to the area (NaN for missing points)."""
        out = np.full(lon.shape, np.nan)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if ok.any():
            x, y = self._fwd.transform(lon[ok], lat[ok])
            out[ok] = shapely.distance(self.area, shapely.points(x, y))
        return out

    def geodesic_km(self, lon: float, lat: float) -> float:
        """Ellipsoidal distance from a point to the nearest point of the area, in km."""
        from pyproj import Geod

        x, y = self._fwd.transform(lon, lat)
        line = shapely.shortest_line(self.area, shapely.Point(x, y))
        near_lon, near_lat = self._back.transform(*line.coords[0])
        _, _, dist = Geod(ellps="WGS84").inv(lon, lat, near_lon, near_lat)
        return float(dist) / 1000.0


def _km_text(km: float) -> str:
    return f"{km:.1f}" if km < 100 else f"{km:.0f}"


def _haversine_m(
    lon1: float, lat1: float, lon2: NDArray[np.float64], lat2: NDArray[np.float64]
) -> NDArray[np.float64]:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


#: Offsets of the 27 grid cells around (and including) a cell.
_NEIGHBOUR_CELLS = tuple(
    (dx, dy, dz) for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dz in (-1, 0, 1)
)


def _duplicates(
    keys: Sequence[str],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    candidate: NDArray[np.bool_],
    duplicate_m: float,
) -> dict[int, int]:
    """Row index → index of the earlier kept row it duplicates.

    A candidate row is a duplicate of the *first* (in file order) earlier *kept* row with the
    same key within ``duplicate_m`` (haversine); a duplicate is not kept, so a row near only a
    duplicate is kept (A–B–C: B duplicates A, C near B only stays).

    Kept rows of one key are more than ``duplicate_m`` apart, so few of them lie near any
    point: each key's kept rows go into a grid of cubes of side ``duplicate_m`` (at least
    1 m) in Earth-centred 3-D coordinates, and a row is compared with the kept rows of the
    27 cubes around it only. The straight (chord) distance is never longer than the
    haversine one, so every kept row within ``duplicate_m`` is among them: the result is the
    same as comparing with every earlier kept row (:func:`_duplicates_pairwise`), in
    O(n) expected time.
    """
    rows = np.flatnonzero(candidate).tolist()
    counts = Counter(keys[i] for i in rows)
    groups: dict[str, list[int]] = {}
    for i in rows:
        if counts[keys[i]] > 1:  # a name met once has no duplicate: no list for it
            groups.setdefault(keys[i], []).append(i)
    del counts
    # slightly larger than the distance: rounding cannot move a near pair two cells apart
    side = max(float(duplicate_m), 1.0) * (1 + 1e-6) + 1e-3
    out: dict[int, int] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        idx = np.asarray(members)
        phi, lam = np.radians(lat[idx]), np.radians(lon[idx])
        xyz = _EARTH_RADIUS_M * np.column_stack(
            (np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi))
        )
        cells = np.floor(xyz / side).astype(np.int64).tolist()
        grid: dict[tuple[int, int, int], list[int]] = {}
        for i, (cx, cy, cz) in zip(members, cells, strict=True):
            near = [
                k
                for dx, dy, dz in _NEIGHBOUR_CELLS
                for k in grid.get((cx + dx, cy + dy, cz + dz), ())
            ]
            if near:
                near.sort()  # file order: the first kept row within the distance wins
                kept_idx = np.asarray(near)
                dist = _haversine_m(lon[i], lat[i], lon[kept_idx], lat[kept_idx])
                hit = np.flatnonzero(dist <= duplicate_m)
                if hit.size:
                    out[i] = int(kept_idx[hit[0]])
                    continue
            grid.setdefault((cx, cy, cz), []).append(i)
    return out


def _duplicates_pairwise(
    keys: Sequence[str],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    candidate: NDArray[np.bool_],
    duplicate_m: float,
) -> dict[int, int]:
    """:func:`_duplicates` by comparing each row with every earlier kept row, O(n²).

    The reference the grid version is tested and benchmarked against (the rule as it was
    first written); not used by :func:`read_stations`.
    """
    kept_by_name: dict[str, list[int]] = {}
    out: dict[int, int] = {}
    for i in np.flatnonzero(candidate).tolist():
        earlier = kept_by_name.setdefault(keys[i], [])
        if earlier:
            kept_idx = np.array(earlier)
            dist = _haversine_m(lon[i], lat[i], lon[kept_idx], lat[kept_idx])
            near = np.flatnonzero(dist <= duplicate_m)
            if near.size:
                out[i] = int(kept_idx[near[0]])
                continue
        earlier.append(i)
    return out


def _name_key(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).lower()


def _district_key(text: str, prefixes: Sequence[str] = ()) -> str:
    """``"<省><市>越秀区"``, ``"越秀区"``, ``"越秀"`` → ``"越秀"``; 6-digit codes are kept.

    ``prefixes`` (a city profile's province and city names) are stripped from the front.
    """
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    s = re.sub(r"\.0+$", "", s)
    for prefix in prefixes:
        s = s.removeprefix(prefix)
    if re.fullmatch(r"\d{6}", s):
        return s
    return s[:-1] if len(s) > 1 and s[-1] in "区县市" else s


def _same_district(text: str, name: str, prefixes: Sequence[str]) -> bool:
    """Whether a ledger's district text names the district ``name``.

    Equal keys (:func:`_district_key`), or the text is the full name preceded by a province,
    city or prefecture name (``"…省…市越秀区"``): no city list is needed for that form.
    """
    if not name:
        return False
    key = _district_key(text, prefixes)
    if key == _district_key(name, prefixes):
        return True
    full = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    head = full[: -len(name)] if full.endswith(name) and len(full) > len(name) else ""
    return bool(head) and head[-1] in "省市州盟"


def _known_prefixes(district_codes: Sequence[str]) -> tuple[str, ...]:
    """Name prefixes of the city of these codes; of every profile when the city is unknown."""
    profile = profile_for(district_codes)
    if profile is not None:
        return profile.name_prefixes
    return tuple(p for prof in PROFILES for p in prof.name_prefixes)


def _match_ledger_district(text: str) -> tuple[str, str]:
    """(code, name) of a ledger's district among the known census tables; ("", text) else."""
    names = district_names()
    prefixes = _known_prefixes(list(names))
    key = _district_key(text, prefixes)
    if key in names:
        return key, names[key]
    for code, name in names.items():
        if _same_district(text, name, prefixes):
            return code, name
    return "", text


def _to_int_if_whole(values: list[str]) -> pd.Series | list[str]:
    """Nullable integers when every non-empty value is a whole number, else the text."""
    nums = _numbers(values)
    given = np.array([v != "" for v in values], dtype=bool)
    if given.any() and np.all(np.isfinite(nums[given])) and np.all(nums[given] % 1 == 0):
        return pd.array(
            [int(n) if g else None for n, g in zip(nums, given, strict=True)], dtype="Int64"
        )
    return values


def read_stations(
    path: str | os.PathLike[str],
    *,
    coords: str = "wgs84",
    study_area: gpd.GeoDataFrame | None = None,
    max_distance_m: float | None = None,
    districts: gpd.GeoDataFrame | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
    duplicate_m: float = 30.0,
    require_type: bool = True,
) -> StationsRead:
    """Read a station ledger, validate every row and convert coordinates to WGS84.

    Parameters
    ----------
    path
        CSV (UTF-8, UTF-8-BOM, GBK/GB18030 or UTF-16; the delimiter — comma, semicolon, tab
        or ``|`` — is detected), ``.xlsx`` (title rows above the header are skipped), GeoJSON
        or GeoPackage (point geometry gives the coordinates; other attributes are read like
        columns). Needs a name column, a type column and coordinates (经度 + 纬度, lon + lat,
        …, or one 经纬度 column holding ``"lon,lat"``). A workbook (GeoPackage) whose only
        sheet (layer) with values is one of several is read without asking; when several
        hold values, name one as ``ledger.xlsx:Sheet2`` (``ledger.gpkg:layer``, see
        :func:`split_sheet`). A ledger of more than :data:`MAX_LEDGER_ROWS` data rows or
        :data:`MAX_LEDGER_BYTES` bytes is refused, as is anything but a regular file
        (``/dev/zero``, a pipe).
    coords
        System of the ledger's coordinates: ``"wgs84"`` (GPS, OpenStreetMap), ``"gcj02"``
        (AMap/Tencent) or ``"bd09"`` (Baidu).
    study_area
        Polygons (any CRS) of the study area; default: the union of ``districts``. Without
        either, there is no study-area check (coordinates must still be valid degrees).
    max_distance_m
        A station outside the study area but at most this far from it (the walk distance plus
        the farthest snapping distance: it can still serve residents inside) is kept, with
        ``cross_border`` set, and logged; one farther is rejected with the reason ``outside
        the study area (N km away)``. Default :data:`DEFAULT_MAX_DISTANCE_M`.
    districts
        District polygons (:func:`~skillcircle.inputs.boundaries.read_districts`). When given,
        they are the default study area and set ``district_code``/``district_name``; a ledger
        district (name or code) that disagrees is flagged in ``district_flag`` and the polygon
        wins. Without them, the ledger's district is looked up in the census tables of the city
        profiles (:mod:`skillcircle.profiles`).
    subdistricts
        街道 polygons (:func:`~skillcircle.inputs.boundaries.read_subdistricts`); without them the
        ledger's 街道 text is kept as ``subdistrict_name``.
    duplicate_m
        A row whose normalised name equals that of an earlier kept row within this distance
        (metres) is rejected as its duplicate.
    require_type
        If False (e.g. for a file of candidate sites), a missing type column or an empty type
        cell is allowed and gives ``type == ""``; a non-empty unknown type is still rejected.

    Returns
    -------
    StationsRead
        Accepted stations and rejected rows. Reasons (one or more, joined by ``"; "``):
        ``missing coordinate``, ``non-numeric coordinate``, ``latitude and longitude look
        swapped``, ``coordinate out of range``, ``outside the study area (N km away)``, ``missing
        station name``, ``missing station type``, ``unknown station type``, ``geometry is a …,
        not a point``, ``duplicate of row N (same name within D m)``.

    Raises
    ------
    InputFileNotFoundError
        If the file does not exist.
    InputError
        If the file is empty, binary, undecodable, unreadable, too large or not a regular file;
        if a workbook has several sheets with values and none is named, or the named sheet
        (layer) does not exist; if a workbook part declares XML entities or is broken; if the
        file lacks a coordinate, name or type column; or if an option is invalid. The message
        names the file (and the sheet).
    """
    file = Path(path)
    system = check_coords(coords)
    if not (
        isinstance(duplicate_m, int | float) and math.isfinite(duplicate_m) and duplicate_m >= 0
    ):
        raise InputError(f"duplicate_m must be a distance >= 0 in metres, got {duplicate_m!r}")
    limit = DEFAULT_MAX_DISTANCE_M if max_distance_m is None else max_distance_m
    if (
        isinstance(limit, bool)
        or not isinstance(limit, int | float)
        or not math.isfinite(limit)
        or limit < 0
    ):
        raise InputError(
            f"max_distance_m must be a distance >= 0 in metres, got {max_distance_m!r}"
        )
    area = _study_area_polygon(study_area if study_area is not None else districts)
    area_test = _AreaTest(area) if area is not None else None
    _, table = _read_table(file)
    fields = _find_fields(table.columns)
    for name, idx in table.forced.items():
        fields[name] = idx
    if not _has_coordinates(fields):
        raise InputError(
            "no coordinate columns (expected 经度 and 纬度, lon/lng/longitude/x and "
            f"lat/latitude/y, or 经纬度); found columns: {', '.join(table.columns)}",
            path=file,
        )
    required_fields = [("name", "名称/站点名称/name")]
    if require_type:
        required_fields.append(("type", "类型/站点类型/type"))
    for required, expected in required_fields:
        if required not in fields:
            raise InputError(
                f"no station {required} column (expected {expected}); found columns: "
                f"{', '.join(table.columns)}",
                path=file,
            )
    if not table.rows:
        raise InputError("no data rows under the header", path=file)
    logger.info(
        "%s: %d rows, %s%s, coordinates %s",
        file,
        len(table.rows),
        table.format,
        f" ({table.encoding})" if table.encoding else "",
        system,
    )

    n = len(table.rows)

    def column(name: str) -> list[str]:
        return [r[fields[name]] for r in table.rows] if name in fields else [""] * n

    if "lon" in fields and "lat" in fields:
        lon_txt, lat_txt = column("lon"), column("lat")
        lon_label = table.columns[fields["lon"]]
        lat_label = table.columns[fields["lat"]]
    else:
        parts = [
            re.split(r"[,，;；\s]+", unicodedata.normalize("NFKC", t).strip())
            for t in column("lonlat")
        ]
        given = column("lonlat")
        # A malformed pair keeps its text on both sides so that it is reported as non-numeric.
        lon_txt = [p[0] if len(p) == 2 else t for p, t in zip(parts, given, strict=True)]
        lat_txt = [p[1] if len(p) == 2 else t for p, t in zip(parts, given, strict=True)]
        lon_label = lat_label = table.columns[fields["lonlat"]]
    reasons: list[list[str]] = [[] for _ in range(n)]
    for i, why in table.pre_reasons.items():
        reasons[i].append(why)

    lon_raw, lat_raw = _numbers(lon_txt), _numbers(lat_txt)
    missing = np.array([not a or not b for a, b in zip(lon_txt, lat_txt, strict=True)])
    finite = np.isfinite(lon_raw) & np.isfinite(lat_raw)
    with np.errstate(invalid="ignore"):
        in_range = finite & (np.abs(lon_raw) <= 180) & (np.abs(lat_raw) <= 90)
        swapped_range = finite & (np.abs(lat_raw) <= 180) & (np.abs(lon_raw) <= 90)
    lon_w, lat_w = to_wgs84(
        np.where(in_range, lon_raw, np.nan), np.where(in_range, lat_raw, np.nan), system
    )
    lon_s, lat_s = to_wgs84(
        np.where(swapped_range, lat_raw, np.nan), np.where(swapped_range, lon_raw, np.nan), system
    )
    if area_test is None:
        dist_m = np.where(np.isfinite(lon_w) & np.isfinite(lat_w), 0.0, np.nan)
        dist_s = np.where(np.isfinite(lon_s) & np.isfinite(lat_s), 0.0, np.nan)
    else:
        dist_m = area_test.distance_m(lon_w, lat_w)
        dist_s = area_test.distance_m(lon_s, lat_s)
    with np.errstate(invalid="ignore"):
        inside = dist_m <= limit  # NaN (no valid point) compares False
        inside_swapped = dist_s <= limit
    for i in range(n):
        if table.pre_reasons.get(i):
            continue
        if missing[i]:
            reasons[i].append("missing coordinate")
        elif not finite[i]:
            bad = lon_txt[i] if not np.isfinite(lon_raw[i]) else lat_txt[i]
            reasons[i].append(f"non-numeric coordinate {bad!r}")
        elif not inside[i] and inside_swapped[i]:
            reasons[i].append(
                f"latitude and longitude look swapped ({lon_label}={lon_txt[i]}, "
                f"{lat_label}={lat_txt[i]}): swap them in the ledger"
            )
        elif not in_range[i]:
            hint = (
                ": these look like projected metres, not degrees"
                if max(abs(lon_raw[i]), abs(lat_raw[i])) > 1000
                else ""
            )
            reasons[i].append(
                f"coordinate out of range (longitude must be within ±180, latitude ±90){hint}"
            )
        elif not inside[i] and area_test is not None:
            km = _km_text(area_test.geodesic_km(float(lon_w[i]), float(lat_w[i])))
            reasons[i].append(
                f"outside the study area ({km} km away): WGS84 {lon_w[i]:.6f}, {lat_w[i]:.6f}"
            )

    names = column("name")
    type_txt = column("type")
    types: list[str] = []
    for i in range(n):
        if not names[i]:
            reasons[i].append("missing station name")
        kind = normalise_type(type_txt[i]) if type_txt[i] else None
        if not type_txt[i] and require_type:
            reasons[i].append("missing station type")
        elif type_txt[i] and kind is None:
            reasons[i].append(
                f"unknown station type {type_txt[i]!r} (expected 社区型, 乡村型, 园区型 or "
                "院校机构型 / community, rural, park, institution)"
            )
        types.append(kind or "")

    # Duplicates: same normalised name within duplicate_m of an earlier *kept* row.
    candidate = np.array([not r for r in reasons], dtype=bool)
    keys = [_name_key(t) for t in names]
    for i, first in _duplicates(keys, lon_w, lat_w, candidate, duplicate_m).items():
        reasons[i].append(
            f"duplicate of row {table.row_numbers[first]} (same name within {duplicate_m:g} m)"
        )
    del keys, candidate  # freed before the station table is built (the peak of memory)

    ok = np.array([not r for r in reasons], dtype=bool)
    rejected = pd.DataFrame(
        {
            "row": pd.array([table.row_numbers[i] for i in range(n) if not ok[i]], dtype="int64"),
            "reason": pd.array(
                ["; ".join(reasons[i]) for i in range(n) if not ok[i]], dtype=object
            ),
        }
    )
    originals = pd.DataFrame(
        [table.rows[i] for i in range(n) if not ok[i]], columns=table.columns, dtype=object
    )
    extra_names = [c for c in originals.columns if c not in ("row", "reason")]
    rejected = pd.concat([rejected, originals[extra_names].reset_index(drop=True)], axis=1)

    stations = _build_stations(
        table,
        fields,
        ok,
        names=names,
        types=types,
        lon_w=lon_w,
        lat_w=lat_w,
        lon_raw=lon_raw,
        lat_raw=lat_raw,
        districts=districts,
        subdistricts=subdistricts,
    )
    cross = dist_m[ok] > 0
    stations.insert(stations.columns.get_loc("district_flag") + 1, "cross_border", cross)
    if cross.any():
        logger.warning(
            "%s: %d station(s) outside the study area kept as cross-border (within %g m): %s",
            file,
            int(cross.sum()),
            limit,
            ", ".join(
                f"{name} ({d:.0f} m)"
                for name, d in zip(stations.loc[cross, "name"], dist_m[ok][cross], strict=True)
            ),
        )
    logger.info("%s: %d stations kept, %d rows rejected", file, len(stations), len(rejected))
    return StationsRead(
        stations=stations,
        rejected=rejected,
        path=file,
        encoding=table.encoding,
        coords=system,
        format=table.format,
    )


def _build_stations(
    table: _Table,
    fields: dict[str, int],
    ok: NDArray[np.bool_],
    *,
    names: list[str],
    types: list[str],
    lon_w: NDArray[np.float64],
    lat_w: NDArray[np.float64],
    lon_raw: NDArray[np.float64],
    lat_raw: NDArray[np.float64],
    districts: gpd.GeoDataFrame | None,
    subdistricts: gpd.GeoDataFrame | None,
) -> gpd.GeoDataFrame:
    idx = np.flatnonzero(ok)
    rows = [table.rows[i] for i in idx]

    def col(name: str) -> list[str]:
        return [r[fields[name]] for r in rows] if name in fields else [""] * len(idx)

    ledger_district = col("district")
    ledger_sub = col("subdistrict")
    data: dict[str, Any] = {
        "name": [names[i] for i in idx],
        "type": [types[i] for i in idx],
        "district_code": [""] * len(idx),
        "district_name": [""] * len(idx),
        "subdistrict_code": [""] * len(idx),
        "subdistrict_name": [""] * len(idx),
        "lon": lon_w[idx],
        "lat": lat_w[idx],
        "district_flag": [""] * len(idx),
        "row": pd.array([table.row_numbers[i] for i in idx], dtype="int64"),
        "ledger_type": col("type"),
        "ledger_district": ledger_district,
        "ledger_subdistrict": ledger_sub,
        "ledger_lon": lon_raw[idx],
        "ledger_lat": lat_raw[idx],
    }
    for name in ("address", "capacity", "year", "ledger_id"):
        if name in fields:
            values = col(name)
            data[name] = _to_int_if_whole(values) if name in ("capacity", "year") else values
    used = set(fields.values())
    for j, column_name in enumerate(table.columns):
        if j in used:
            continue
        out_name = column_name
        while out_name in data or out_name == "geometry":
            out_name = f"{out_name}_ledger"
        data[out_name] = [r[j] for r in rows]
    gdf = gpd.GeoDataFrame(
        data, geometry=gpd.points_from_xy(lon_w[idx], lat_w[idx]), crs="EPSG:4326"
    )
    if districts is None and subdistricts is None:
        matched = [_match_ledger_district(t) if t else ("", "") for t in ledger_district]
        gdf["district_code"] = [m[0] for m in matched]
        gdf["district_name"] = [m[1] for m in matched]
        gdf["subdistrict_name"] = ledger_sub
        return gdf
    gdf = assign_areas(gdf, districts=districts, subdistricts=subdistricts)
    if districts is None:  # districts come from sub-district codes; only 街道-less rows unknown
        gdf["district_flag"] = _district_flags(gdf, ledger_district, where="sub-district")
        return gdf
    gdf["district_flag"] = _district_flags(gdf, ledger_district, where="district")
    return gdf


def _district_flags(gdf: gpd.GeoDataFrame, ledger: list[str], *, where: str) -> list[str]:
    prefixes = _known_prefixes([c for c in gdf["district_code"] if c])
    flags = []
    for text, code, name in zip(ledger, gdf["district_code"], gdf["district_name"], strict=True):
        if not code:
            flags.append(
                f"not inside any {where} polygon" + (f" (ledger says {text})" if text else "")
            )
            continue
        if not text:
            flags.append("")
            continue
        key = _district_key(text, prefixes)
        agrees = (
            key == code if re.fullmatch(r"\d{6}", key) else _same_district(text, name, prefixes)
        )
        flags.append(
            "" if agrees else f"ledger says {text} but the point lies in {name or code} ({code})"
        )
    return flags


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_stations(result: StationsRead, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the cleaned stations and the rejected rows.

    Parameters
    ----------
    result
        From :func:`read_stations`.
    out_dir
        Folder to write into (created if needed).

    Returns
    -------
    dict of str to pathlib.Path
        ``{"stations": out_dir/stations.geojson, "rejected": out_dir/stations_rejected.csv}``.
        The GeoJSON is WGS84 (RFC 7946); the CSV is UTF-8 with a BOM so Excel shows Chinese
        correctly. Both are written atomically.

    Raises
    ------
    InputError
        If ``out_dir`` exists and is not a folder.
    """
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError("output path exists and is not a folder", path=folder)
    geojson = _write_geojson(result.stations.to_crs("EPSG:4326"), folder / "stations.geojson")

    rejected = _write_rejects(result.rejected, folder / "stations_rejected.csv")
    logger.info("wrote %s and %s", geojson, rejected)
    return {"stations": geojson, "rejected": rejected}


def _write_rejects(rejected: pd.DataFrame, target: Path) -> Path:
    """The rejected rows as CSV for Excel: UTF-8 with a BOM, formula-like text neutralised."""
    safe = neutralise_frame(rejected)
    return write_with(target, lambda tmp: safe.to_csv(tmp, index=False, encoding="utf-8-sig"))


#: Features serialised at a time by :func:`_write_geojson`.
_GEOJSON_CHUNK = 5_000


def _write_geojson(stations: gpd.GeoDataFrame, target: Path) -> Path:
    """Write WGS84 stations as GeoJSON, a chunk of features at a time (atomically).

    The bytes are those of ``stations.to_json(drop_id=True, ensure_ascii=False, na="null")``
    plus a newline, without ever holding every feature as Python objects at once.
    """

    def _write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write('{"type": "FeatureCollection", "features": [')
            sep = ""
            for start in range(0, len(stations), _GEOJSON_CHUNK):
                chunk = stations.iloc[start : start + _GEOJSON_CHUNK]
                for feature in chunk.iterfeatures(na="null", drop_id=True):
                    fh.write(sep + json.dumps(feature, ensure_ascii=False))
                    sep = ", "
            fh.write("]}\n")

    return write_with(target, _write)


def station_counts(stations: gpd.GeoDataFrame) -> pd.DataFrame:
    """Count stations by district and type, with totals.

    Parameters
    ----------
    stations
        :attr:`StationsRead.stations`.

    Returns
    -------
    pandas.DataFrame
        Index: district names (``district_name``, else the code, else ``"(none)"``) in code
        order, then ``"total"``; columns: the four :data:`STATION_TYPES` and ``total`` (int).
    """
    label = [
        name or code or "(none)"
        for name, code in zip(stations["district_name"], stations["district_code"], strict=True)
    ]
    order = {
        lab: code or "999999" for lab, code in zip(label, stations["district_code"], strict=True)
    }
    counts = pd.crosstab(
        pd.Series(label, name="district"), pd.Series(list(stations["type"]), name="type")
    )
    counts = counts.reindex(columns=list(STATION_TYPES), fill_value=0)
    counts = counts.loc[sorted(counts.index, key=lambda lab: (order[lab], lab))]
    counts["total"] = counts.sum(axis=1)
    counts.loc["total"] = counts.sum(axis=0)
    counts.columns.name = None
    return counts.astype("int64")


def check_ledger(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    coords: str = "wgs84",
    districts: str | os.PathLike[str] | None = None,
    subdistricts: str | os.PathLike[str] | None = None,
    duplicate_m: float = 30.0,
    max_distance_m: float | None = None,
) -> tuple[StationsRead, dict[str, Path]]:
    """Read, validate and write a ledger: the work behind ``skillcircle stations check``.

    Everything is read and validated before anything is written, so on any error no output
    file (and no output folder) is created — except when every row is rejected: then only
    ``stations_rejected.csv`` is written (the reasons are what the user needs) and an
    :class:`~skillcircle.InputError` says so.

    Parameters
    ----------
    path
        The ledger (see :func:`read_stations`).
    out_dir
        Output folder for ``stations.geojson`` and ``stations_rejected.csv``.
    coords
        Coordinate system of the ledger.
    districts
        ``"cnmaps:<adcode>"`` source or a GIS file
        (:func:`~skillcircle.inputs.boundaries.read_districts`): the study area.
    subdistricts
        GIS file of 街道 polygons (:func:`~skillcircle.inputs.boundaries.read_subdistricts`).
    duplicate_m
        Duplicate distance (see :func:`read_stations`).
    max_distance_m
        Farthest a kept station may be outside the districts (see :func:`read_stations`;
        default: the walk distance plus the snapping limit of the default settings).

    Returns
    -------
    tuple of StationsRead and dict of str to pathlib.Path
        The result and the files written (see :func:`write_stations`).

    Raises
    ------
    InputError
        As :func:`read_stations`; and ``no usable station: every row was rejected (see
        …/stations_rejected.csv)`` when no row is kept.
    """
    from skillcircle.inputs.boundaries import read_districts, read_subdistricts

    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError("output path exists and is not a folder", path=folder)
    district_polys = None if districts is None else read_districts(districts)
    sub_polys = None if subdistricts is None else read_subdistricts(subdistricts)
    result = read_stations(
        path,
        coords=coords,
        districts=district_polys,
        subdistricts=sub_polys,
        duplicate_m=duplicate_m,
        max_distance_m=max_distance_m,
    )
    if len(result.stations) == 0:
        # nothing usable: the rejected rows (with their reasons) are the only useful output
        rejected = _write_rejects(result.rejected, folder / "stations_rejected.csv")
        raise InputError(
            f"no usable station: every row was rejected (see {rejected})", path=result.path
        )
    return result, write_stations(result, folder)
