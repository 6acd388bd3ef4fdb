"""Which coordinate datum fits a ledger: rows that land in the 区/街道 their own columns name.

A ledger with a 区 or 街道 column (所属街道 …) says where each station is. Read under the
wrong datum (GCJ-02 coordinates taken as WGS84, ~500 m off in Chinese cities), many rows fall
outside their stated area. :func:`datum_fit` counts, for WGS84, GCJ-02 and BD-09, how many
rows fall in their stated area; :func:`better_datum` says when another datum fits clearly
better than the one given.
"""

from __future__ import annotations

import logging
import os
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd

from skillcircle._errors import InputError
from skillcircle.inputs.areas import assign_areas
from skillcircle.inputs.coords import COORD_SYSTEMS, CoordSystem, to_wgs84
from skillcircle.inputs.stations import StationsRead, read_stations

__all__ = [
    "DatumFit",
    "area_key",
    "best_datum",
    "better_datum",
    "datum_fit",
    "datum_hint",
    "is_auto",
    "read_stations_datum",
    "same_area",
]

logger = logging.getLogger(__name__)

#: Per datum: (rows in their stated area, rows that state an area found on the map).
DatumFit = dict[CoordSystem, tuple[int, int]]

#: Another datum "fits clearly better" with at least this many more rows in their area …
MIN_MORE_ROWS = 2
#: … and at least this share of the rows more.
MIN_MORE_SHARE = 0.1

_SUFFIXES = ("街道办事处", "街道办", "街道", "镇", "街", "区")


def area_key(text: object) -> str:
    """An area name without spaces and its suffix (街道, 街, 区 …): what is compared.

    Parameters
    ----------
    text
        The name (blank or NaN gives ``""``).

    Returns
    -------
    key
        E.g. ``"洪桥"`` for ``"洪桥街道"``.
    """
    s = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    s = "".join(s.split())
    for suffix in _SUFFIXES:
        if s.endswith(suffix) and len(s) > len(suffix):
            return s[: -len(suffix)]
    return s


def same_area(a: object, b: object) -> bool:
    """Whether two area names agree once suffixes (街道, 街, 区 …) and spaces are dropped.

    Parameters
    ----------
    a, b
        Area names (either may be blank or NaN: then False).

    Returns
    -------
    same
        E.g. ``same_area("洪桥街", "洪桥街道")`` is True.
    """
    ka, kb = area_key(a), area_key(b)
    return bool(ka and kb) and (ka == kb or ka.startswith(kb) or kb.startswith(ka))


def datum_fit(
    stations: gpd.GeoDataFrame,
    *,
    districts: gpd.GeoDataFrame | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> DatumFit | None:
    """Count, under each datum, the rows that fall in the area their ledger columns name.

    Parameters
    ----------
    stations
        :attr:`~skillcircle.inputs.stations.StationsRead.stations` (uses ``ledger_lon``,
        ``ledger_lat``, ``ledger_district`` and ``ledger_subdistrict``).
    districts, subdistricts
        The area polygons. The 街道 column is used when the ledger has one and 街道
        polygons are given, else the 区 column with the districts.

    Returns
    -------
    fit
        ``{datum: (rows in their stated area, rows stating an area)}``; ``None`` when the
        ledger states no area that the polygons can test.
    """
    if len(stations) == 0 or "ledger_lon" not in stations.columns:
        return None
    use: tuple[str, str] | None = None
    for column, polygons, name in (
        ("ledger_subdistrict", subdistricts, "subdistrict_name"),
        ("ledger_district", districts, "district_name"),
    ):
        stated_col = stations[column] if column in stations.columns else None
        if (
            polygons is not None
            and stated_col is not None
            and stated_col.map(area_key).astype(bool).any()
        ):
            use = (column, name)
            break
    if use is None:
        return None
    column, name = use
    stated = stations[column].to_numpy()
    known = np.array([bool(area_key(v)) for v in stated])
    lon = pd.to_numeric(stations["ledger_lon"], errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(stations["ledger_lat"], errors="coerce").to_numpy(dtype=np.float64)
    fit: DatumFit = {}
    for datum in cast(tuple[CoordSystem, ...], COORD_SYSTEMS):
        x, y = to_wgs84(lon, lat, datum)
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")
        found = assign_areas(points, districts=districts, subdistricts=subdistricts)[name]
        hits = sum(
            same_area(s, f) for s, f, k in zip(stated, found.to_numpy(), known, strict=True) if k
        )
        fit[datum] = (int(hits), int(known.sum()))
    return fit


def better_datum(fit: DatumFit | None, given: CoordSystem) -> CoordSystem | None:
    """The datum that fits clearly better than ``given``, or ``None``.

    Parameters
    ----------
    fit
        From :func:`datum_fit`.
    given
        The datum the ledger was read as (given or defaulted).

    Returns
    -------
    datum
        The best-fitting datum when it puts at least :data:`MIN_MORE_ROWS` more rows, and
        :data:`MIN_MORE_SHARE` of the rows more, in their stated area than ``given``.
    """
    if not fit:
        return None
    best = max(fit, key=lambda d: (fit[d][0], d == given))
    hits, rows = fit[best]
    more = hits - fit[given][0]
    if best != given and more >= MIN_MORE_ROWS and more >= MIN_MORE_SHARE * rows:
        return best
    return None


def datum_hint(fit: DatumFit, given: CoordSystem, best: CoordSystem) -> str:
    """The one line that stops a run read under the wrong datum.

    Parameters
    ----------
    fit
        From :func:`datum_fit`.
    given, best
        The datum used and the one that fits better.

    Returns
    -------
    line
        E.g. ``"rows fit their 街道 under gcj02 (15 of 16) but not under wgs84 (10 of 16):
        add coords gcj02 (or coords auto)"`` (the CLI says ``--coords gcj02``).
    """
    return (
        f"the ledger's rows fit their stated 区/街道 under {best} ({fit[best][0]} of "
        f"{fit[best][1]}) but not under {given} ({fit[given][0]} of {fit[given][1]}): "
        f"add coords {best} (or coords auto)"
    )


def best_datum(fit: DatumFit | None, default: CoordSystem) -> CoordSystem:
    """The datum putting the most rows in their stated area (``default`` on a tie or no fit).

    Parameters
    ----------
    fit
        From :func:`datum_fit`.
    default
        The datum kept when no other fits more rows.

    Returns
    -------
    datum
        What ``coords="auto"`` reads the ledger as.
    """
    if not fit:
        return default
    return max(fit, key=lambda d: (fit[d][0], d == default))


def is_auto(coords: object) -> bool:
    """Whether ``coords`` asks for the best-fitting datum (``"auto"``).

    Parameters
    ----------
    coords
        The ``coords`` option.

    Returns
    -------
    auto
    """
    return str(coords).strip().lower() == "auto"


def read_stations_datum(
    path: str | os.PathLike[str],
    *,
    coords: str,
    districts: gpd.GeoDataFrame | None,
    subdistricts: gpd.GeoDataFrame | None,
    max_distance_m: float,
) -> tuple[StationsRead, DatumFit | None]:
    """Read a ledger and check its datum against its own 区/街道 columns.

    Parameters
    ----------
    path
        The ledger (see :func:`~skillcircle.inputs.stations.read_stations`).
    coords
        ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or ``"auto"`` (the datum putting most rows in their
        stated area; WGS84 on a tie or when the ledger states no area).
    districts, subdistricts, max_distance_m
        As for :func:`~skillcircle.inputs.stations.read_stations`.

    Returns
    -------
    stations, fit
        The ledger read under the chosen datum, and :func:`datum_fit`'s counts.

    Raises
    ------
    InputError
        When a datum other than the one given fits clearly better (:func:`better_datum`):
        one line naming it (:func:`datum_hint`).
    """
    auto = is_auto(coords)

    def read(system: str) -> StationsRead:
        return read_stations(
            path,
            coords=system,
            districts=districts,
            subdistricts=subdistricts,
            max_distance_m=max_distance_m,
        )

    stations = read("wgs84" if auto else coords)
    fit = datum_fit(stations.stations, districts=districts, subdistricts=subdistricts)
    if auto:
        best = best_datum(fit, stations.coords)
        logger.info("coords='auto': reading the ledger as %s (rows in their area: %s)", best, fit)
        return (read(best) if best != stations.coords else stations), fit
    better = better_datum(fit, stations.coords)
    if fit is not None and better is not None:
        raise InputError(
            datum_hint(fit, stations.coords, better), path=stations.path, param="coords"
        )
    return stations, fit
