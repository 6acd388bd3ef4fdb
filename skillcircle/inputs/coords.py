"""Chinese map coordinate systems: WGS84 ↔ GCJ-02 ↔ BD-09, vectorised with NumPy.

Station ledgers copied from AMap (高德) or Tencent maps carry **GCJ-02** ("Mars") coordinates,
ledgers copied from Baidu maps carry **BD-09**; OpenStreetMap, GPS and every CRS that pyproj knows
use **WGS84**. GCJ-02 shifts points by a few hundred metres (≈ +0.0054° E / −0.0026° N in
southern China), so mixing systems puts stations on the wrong street.

The forward obfuscation (WGS84 → GCJ-02) is the widely published algorithm on the Krasovsky 1940
ellipsoid (a = 6 378 245 m, e² = 0.00669342162296594323); BD-09 adds a small polar twist and a
constant offset to GCJ-02 (x_pi = π·3000/180). The inverses have no closed form: this module
inverts them iteratively (fixed-point iteration, which converges because both maps are within
10⁻⁴ of the identity in slope) until the step is below 10⁻⁹ degrees (≈ 0.1 mm), so round trips are
exact to far below a metre, unlike the one-step "approximate inverse" that many libraries use
(1-2 m off).

Points outside the usual rough mainland-China box (lon 72.004-137.8347, lat 0.8293-55.8271) are
returned unchanged by every conversion, as the public implementations do. A point with a NaN
coordinate comes back as NaN, NaN.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(113.3245, 23.1064)
>>> round(float(lon) - 113.3245, 4), round(float(lat) - 23.1064, 4)
(0.0054, -0.0026)
>>> back = gcj02_to_wgs84(lon, lat)
>>> [round(float(v), 9) for v in back]
[113.3245, 23.1064]
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast, get_args

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from skillcircle._errors import InputError

__all__ = [
    "COORD_SYSTEMS",
    "CoordSystem",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_coords",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "transform_geometry",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "with_gcj02_columns",
]

logger = logging.getLogger(__name__)

#: Names of the coordinate systems a ledger or boundary file may use.
CoordSystem = Literal["wgs84", "gcj02", "bd09"]
COORD_SYSTEMS: tuple[str, ...] = get_args(CoordSystem)

_A = 6378245.0  # Krasovsky 1940 semi-major axis (m)
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0  # BD-09 twist constant
_TOL_DEG = 1e-9  # stop the inverse iterations below this step (≈ 0.1 mm)
_MAX_ITER = 50

Pair = tuple[NDArray[np.float64], NDArray[np.float64]]
G = TypeVar("G")
F = TypeVar("F", bound=pd.DataFrame)


def _as_float(lon: ArrayLike, lat: ArrayLike) -> Pair:
    lon_a, lat_a = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return lon_a.copy(), lat_a.copy()


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return True where a point lies outside the rough mainland-China box.

    The box (lon 72.004-137.8347, lat 0.8293-55.8271) is the one the public GCJ-02 code uses;
    points outside it are never shifted. A NaN coordinate does not count as outside, so a point
    with a NaN comes back from the conversions as NaN in both coordinates.

    Examples
    --------
    >>> out_of_china([113.3, 2.35], [23.1, 48.85]).tolist()
    [False, True]
    """
    lon_a, lat_a = _as_float(lon, lat)
    with np.errstate(invalid="ignore"):
        outside = (lon_a < 72.004) | (lon_a > 137.8347) | (lat_a < 0.8293) | (lat_a > 55.8271)
    return outside


def _gcj_offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Pair:
    """GCJ-02 minus WGS84 (degrees) at WGS84 points, ignoring the China box."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert WGS84 longitude/latitude (degrees) to GCJ-02.

    Parameters
    ----------
    lon, lat
        Scalars or arrays (broadcast together).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude, float64, in the broadcast shape.
    """
    lon_a, lat_a = _as_float(lon, lat)
    dlon, dlat = _gcj_offset(lon_a, lat_a)
    keep = out_of_china(lon_a, lat_a)
    return np.where(keep, lon_a, lon_a + dlon), np.where(keep, lat_a, lat_a + dlat)


def _invert(
    forward: Callable[[NDArray[np.float64], NDArray[np.float64]], Pair],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    start: Pair | None = None,
) -> Pair:
    """Solve ``forward(w) == (lon, lat)`` by fixed-point iteration ``w ← w − (forward(w) − g)``."""
    w_lon, w_lat = (lon.copy(), lat.copy()) if start is None else start
    for _ in range(_MAX_ITER):
        f_lon, f_lat = forward(w_lon, w_lat)
        step_lon = f_lon - lon
        step_lat = f_lat - lat
        w_lon = w_lon - step_lon
        w_lat = w_lat - step_lat
        # fmax ignores NaN in one operand; NaN in both (a NaN input) counts as converged.
        step = np.nan_to_num(np.fmax(np.abs(step_lon), np.abs(step_lat)), nan=0.0)
        if float(np.max(step, initial=0.0)) < _TOL_DEG:
            break
    else:  # pragma: no cover - the maps are near-identities: 3-5 iterations suffice
        logger.warning("coordinate inverse did not converge to %g degrees", _TOL_DEG)
    return w_lon, w_lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert GCJ-02 longitude/latitude to WGS84 by iterating the forward map.

    Accurate to about 10⁻⁹ degrees (well under a millimetre), not the metre-level error of the
    one-step approximate inverse.

    Parameters
    ----------
    lon, lat
        GCJ-02 scalars or arrays (broadcast together).

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude.
    """
    lon_a, lat_a = _as_float(lon, lat)
    keep = out_of_china(lon_a, lat_a)
    w_lon, w_lat = _invert(wgs84_to_gcj02, lon_a, lat_a)
    return np.where(keep, lon_a, w_lon), np.where(keep, lat_a, w_lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert GCJ-02 longitude/latitude to Baidu BD-09.

    Parameters
    ----------
    lon, lat
        GCJ-02 scalars or arrays (broadcast together).

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitude and latitude.
    """
    lon_a, lat_a = _as_float(lon, lat)
    z = np.hypot(lon_a, lat_a) + 0.00002 * np.sin(lat_a * _X_PI)
    theta = np.arctan2(lat_a, lon_a) + 0.000003 * np.cos(lon_a * _X_PI)
    keep = out_of_china(lon_a, lat_a)
    return (
        np.where(keep, lon_a, z * np.cos(theta) + 0.0065),
        np.where(keep, lat_a, z * np.sin(theta) + 0.006),
    )


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert Baidu BD-09 longitude/latitude to GCJ-02.

    Starts from the usual closed-form approximate inverse and refines it by fixed-point
    iteration to 10⁻⁹ degrees.

    Parameters
    ----------
    lon, lat
        BD-09 scalars or arrays (broadcast together).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude.
    """
    lon_a, lat_a = _as_float(lon, lat)
    x = lon_a - 0.0065
    y = lat_a - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    start = (z * np.cos(theta), z * np.sin(theta))
    g_lon, g_lat = _invert(gcj02_to_bd09, lon_a, lat_a, start=start)
    keep = out_of_china(lon_a, lat_a)
    return np.where(keep, lon_a, g_lon), np.where(keep, lat_a, g_lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert WGS84 longitude/latitude to Baidu BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat
        WGS84 scalars or arrays (broadcast together).

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitude and latitude.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert Baidu BD-09 longitude/latitude to WGS84 (through GCJ-02).

    Parameters
    ----------
    lon, lat
        BD-09 scalars or arrays (broadcast together).

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def check_coords(coords: str) -> CoordSystem:
    """Normalise a coordinate-system name (``"GCJ-02"`` → ``"gcj02"``) or raise.

    Parameters
    ----------
    coords
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``; case, ``-`` and ``_`` are ignored.

    Raises
    ------
    InputError
        For any other value.

    Examples
    --------
    >>> check_coords("GCJ-02")
    'gcj02'
    """
    key = str(coords).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in COORD_SYSTEMS:
        raise InputError(
            f"unknown coordinate system {coords!r}: use one of {', '.join(COORD_SYSTEMS)} "
            "(gcj02 = AMap/Tencent, bd09 = Baidu, wgs84 = GPS/OpenStreetMap)",
            field="coords",
        )
    return cast(CoordSystem, key)


def to_wgs84(lon: ArrayLike, lat: ArrayLike, coords: str) -> Pair:
    """Convert coordinates given in ``coords`` to WGS84.

    Parameters
    ----------
    lon, lat
        Scalars or arrays in the system named by ``coords``.
    coords
        ``"wgs84"`` (returned as float arrays, unchanged), ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude.

    Raises
    ------
    InputError
        If ``coords`` is not a known system.
    """
    system = check_coords(coords)
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        return bd09_to_wgs84(lon, lat)
    return _as_float(lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, coords: str) -> Pair:
    """Convert WGS84 coordinates to the system named by ``coords``.

    Parameters
    ----------
    lon, lat
        WGS84 scalars or arrays.
    coords
        Target system: ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    tuple of numpy.ndarray
        Longitude and latitude in ``coords``.

    Raises
    ------
    InputError
        If ``coords`` is not a known system.
    """
    system = check_coords(coords)
    if system == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if system == "bd09":
        return wgs84_to_bd09(lon, lat)
    return _as_float(lon, lat)


def transform_geometry(
    geoms: G, func: Callable[[NDArray[np.float64], NDArray[np.float64]], Pair]
) -> G:
    """Apply a (lon, lat) → (lon, lat) conversion to every vertex of some geometries.

    Vectorised: all vertices of all geometries go through ``func`` in one call
    (:func:`shapely.transform`). Z values are dropped.

    Parameters
    ----------
    geoms
        A shapely geometry, an array of them, a GeoSeries or a GeoDataFrame (its active
        geometry column is converted; other columns and the CRS label are kept). The input is
        not modified.
    func
        For example :func:`gcj02_to_wgs84`.

    Returns
    -------
    Same kind as ``geoms``
        The converted geometries.

    Examples
    --------
    >>> from shapely import Point
    >>> p = transform_geometry(Point(113.3245, 23.1064), wgs84_to_gcj02)
    >>> round(p.x, 4), round(p.y, 4)
    (113.3299, 23.1038)
    """

    def _xy(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = func(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    import geopandas as gpd  # local: keep this module importable cheaply

    if isinstance(geoms, gpd.GeoDataFrame):
        out = geoms.copy()
        out[out.geometry.name] = transform_geometry(geoms.geometry, func)
        return cast(G, out)
    if isinstance(geoms, gpd.GeoSeries):
        values = shapely.transform(np.asarray(geoms.array, dtype=object), _xy)
        return cast(G, gpd.GeoSeries(values, index=geoms.index, crs=geoms.crs, name=geoms.name))
    result: Any = shapely.transform(geoms, _xy)
    return cast(G, result)


def with_gcj02_columns(frame: F) -> F:
    """A copy of a table with ``lon_gcj02``/``lat_gcj02`` after its WGS84 ``lon``/``lat``.

    A site pasted from these columns into AMap (or Tencent Maps) lands where the WGS84 point
    does. Values are rounded to 8 decimals (about 1 mm); a table without ``lon``/``lat`` is
    returned unchanged (a copy).

    Parameters
    ----------
    frame
        A DataFrame or GeoDataFrame with WGS84 ``lon`` and ``lat`` columns.

    Returns
    -------
    frame
        The copy, ``lon_gcj02`` and ``lat_gcj02`` placed right after ``lat``.
    """
    out = frame.copy()
    if "lon" not in out.columns or "lat" not in out.columns:
        return out
    glon, glat = wgs84_to_gcj02(
        out["lon"].to_numpy(dtype=np.float64), out["lat"].to_numpy(dtype=np.float64)
    )
    out = out.drop(columns=[c for c in ("lon_gcj02", "lat_gcj02") if c in out.columns])
    at = list(out.columns).index("lat") + 1
    out.insert(at, "lon_gcj02", np.round(glon, 8))
    out.insert(at + 1, "lat_gcj02", np.round(glat, 8))
    return out
