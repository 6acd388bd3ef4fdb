"""City profiles: the defaults that belong to one city, chosen from the study area.

A study whose district codes all start with a profile's ``adcode`` is in that city and gets
its defaults (projected CRS, census table, programme targets, name prefixes, map centre).
Anywhere else the defaults are generic: the CRS is the UTM zone of the study area, there is no
census calibration and no programme schedule.

>>> utm_crs(116.397, 39.909)
'EPSG:32650'
>>> profile_for(["110101"]) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from skillcircle.profiles import guangzhou
from skillcircle.profiles.base import CityProfile

__all__ = [
    "PROFILES",
    "CityProfile",
    "default_crs",
    "metric_crs_of",
    "profile_for",
    "utm_crs",
]

#: Every known city profile.
PROFILES: tuple[CityProfile, ...] = (guangzhou.PROFILE,)


def profile_for(district_codes: Iterable[str]) -> CityProfile | None:
    """Return the profile of the city holding every one of ``district_codes``.

    Parameters
    ----------
    district_codes
        6-digit administrative codes of the study's districts.

    Returns
    -------
    CityProfile or None
        The profile whose ``adcode`` prefixes all codes; ``None`` when there is no code or
        the codes are not all in one known city.
    """
    codes = [str(c).strip() for c in district_codes]
    if not codes:
        return None
    for profile in PROFILES:
        if all(c.startswith(profile.adcode) for c in codes):
            return profile
    return None


def utm_crs(lon: float, lat: float) -> str:
    """Return the WGS84 UTM zone (``"EPSG:326zz"`` north, ``"EPSG:327zz"`` south) of a point.

    Parameters
    ----------
    lon, lat
        WGS84 degrees.

    Returns
    -------
    str
        The EPSG code of the zone; its projection is metric with < 0.1 % scale error over a
        city.

    Raises
    ------
    ValueError
        If the point is not a finite longitude/latitude.
    """
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"not a WGS84 longitude/latitude: {lon!r}, {lat!r}")
    zone = min(int((lon + 180) // 6) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def metric_crs_of(bounds: tuple[float, float, float, float], crs: object) -> str:
    """Return a metric CRS for data with these bounds: its own CRS if projected, else UTM.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` of the data in ``crs``.
    crs
        The data's CRS (anything :meth:`pyproj.CRS.from_user_input` reads).

    Returns
    -------
    str
        ``crs`` itself when projected, else the UTM zone of the centre of ``bounds``.
    """
    from pyproj import CRS, Transformer

    source = CRS.from_user_input(crs)
    if source.is_projected:
        return source.to_string()
    x, y = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    lon, lat = Transformer.from_crs(source, "EPSG:4326", always_xy=True).transform(x, y)
    return utm_crs(float(lon), float(lat))


def default_crs(district_codes: Iterable[str], lon: float, lat: float) -> str:
    """Return the default projected CRS of a study.

    Parameters
    ----------
    district_codes
        The study's district codes (may be empty).
    lon, lat
        WGS84 centre of the study area (the centroid of its districts, or of its stations).

    Returns
    -------
    str
        The city profile's CRS when the districts are in a known city, else the UTM zone of
        the centre.
    """
    profile = profile_for(district_codes)
    return profile.crs if profile is not None else utm_crs(lon, lat)
