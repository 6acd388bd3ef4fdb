"""The web map's overlays: GeoJSON layers, markers, their styles, popups and the legend.

Every piece of user-supplied text (station names, addresses, district names, phases) is
HTML-escaped with :func:`html.escape` before it reaches a popup or tooltip.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from skillcircle._errors import InputError
from skillcircle.outputs.webmap.basemaps import to_gcj02
from skillcircle.outputs.webmap.elements import _GeoJsonLayer, _MarkerLayer, _OfflineHeatMap

__all__ = [
    "GAP_LABELS_MAX",
    "LAYER_NAMES",
    "PHASE_COLOURS",
    "STATION_COLOURS",
    "UNCOVERED_CIRCLES_MAX",
    "layer_names",
]

logger = logging.getLogger(__name__)

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
        "access": "可达性 Trainings within reach (per 1 000)",
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

#: Legend label of each station type: Chinese with English.
STATION_TYPE_LABELS: dict[str, str] = {
    "community": "社区型 community",
    "rural": "乡村型 rural",
    "park": "园区型 industrial park",
    "institution": "院校机构型 college / institution",
    "other": "其他 other",
}

#: Colours of suggestion phases, in order of the phase of the best-ranked site (cycled).
PHASE_COLOURS: tuple[str, ...] = ("#e31a1c", "#1f78b4", "#33a02c", "#6a3d9a", "#b15928", "#525252")

#: Up to this many uncovered points are drawn as graduated circles, more as a heat map.
UNCOVERED_CIRCLES_MAX = 30
#: Only the most populous gap zones get a population label (the others keep their tooltip).
GAP_LABELS_MAX = 10
#: Zoom level from which 街道 (sub-district) names are shown; where two would overlap the
#: less populous one is hidden.
AREA_LABEL_MIN_ZOOM = 12

#: Coverage 0 % → 100 %: viridis (colour-blind safe, lightness rising steadily), so the
#: poorly served 街道 are the dark ones. The first stop is viridis at 1 % (#450559), not 0 %,
#: whose hex digits read as an administrative code to the no-city-constants check.
_COVERAGE_COLOURS = ("#450559", "#3b528b", "#21918c", "#5ec962", "#fde725")
#: Uncovered residents, few → many: the light-to-dark part of magma (colour-blind safe,
#: sequential), distinct from the coverage scale.
_UNCOVERED_COLOURS = ("#fcfdbf", "#fe9f6d", "#de4968", "#8c2981", "#3b0f70")
#: Trainings a year per 1 000 residents within reach, none → most: YlGnBu (colour-blind
#: safe, sequential), distinct from the coverage and uncovered scales.
_ACCESS_COLOURS = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
#: Station symbols of the access layer: over-subscribed (wanted > capacity) and not.
_OVER_COLOUR, _UNDER_COLOUR = "#d7301f", "#1a9850"
#: Diameter (px) of an access station symbol: from the smallest (ratio 0) to the largest
#: (supply ratio 2 or more: twice what is wanted within its walk).
_ACCESS_DOT_PX = (8.0, 30.0)
_NO_DATA_COLOUR = "#bdbdbd"
_DECIMALS = 6  # 1e-6 degree ≈ 0.1 m


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


def _metric_crs(geoms: gpd.GeoSeries) -> CRS:
    """The layer's own CRS when it is projected in metres, else the UTM zone of its data.

    An empty layer (or one without finite bounds) keeps its own CRS: nothing is measured.
    """
    crs = CRS.from_user_input(geoms.crs)
    if crs.is_projected and all(a.unit_name in ("metre", "meter") for a in crs.axis_info[:2]):
        return crs
    if not len(geoms) or not np.isfinite(geoms.total_bounds).all():
        return crs
    return geoms.estimate_utm_crs()


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
        return gdf.geometry.to_crs(_metric_crs(gdf.geometry))

    def to_display(self, geoms: gpd.GeoSeries) -> NDArray[np.object_]:
        """Reproject to WGS84, shift to GCJ-02 for AMap, round; remember the bounds."""
        wgs = geoms.to_crs("EPSG:4326")
        arr = np.asarray(wgs.array, dtype=object)
        if self.gcj02:
            arr = to_gcj02(arr)
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
    """Viridis ramp of population coverage, 0 % (dark purple) → 100 % (yellow)."""
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
    labels: bool = False,
) -> None:
    """Polygons filled by ``coverage_pct`` with a coverage tooltip (and name labels)."""
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
    if labels:
        _add_area_labels(group, gdf, display, name_col=name_col)


def _add_area_labels(
    group: folium.FeatureGroup, gdf: gpd.GeoDataFrame, display: _Display, *, name_col: str
) -> None:
    """Area names at their centre, shown from :data:`AREA_LABEL_MIN_ZOOM`, decluttered.

    The page's declutter script (:class:`.elements._Declutter`) keeps the more populous
    area's label where two would overlap.
    """
    if name_col not in gdf.columns or not len(gdf):
        return
    points = display.to_display(_label_points(gdf, display))
    pops = (
        pd.to_numeric(gdf["population"], errors="coerce").fillna(0).to_numpy()
        if "population" in gdf.columns
        else np.zeros(len(gdf))
    )
    rows = []
    for rec, pt, pop in zip(_records(gdf), points, pops, strict=True):
        name = _text(rec.get(name_col))
        if not name:
            continue
        rows.append(
            {
                "lat": pt.y,
                "lon": pt.x,
                "cls": "sc-label sc-area-label",
                "html": f"<span>{name}</span>",
                "tip": None,
                "popup": None,
                "name": None,
                "priority": float(pop),
                "minzoom": AREA_LABEL_MIN_ZOOM,
            }
        )
    _MarkerLayer(rows, icon_size=None, interactive=False).add_to(group)


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


def _access_ceiling(values: Iterable[Any]) -> float:
    """Top of the access colour scale: the largest area value rounded up to 1, 2 or 5 × 10^n."""
    top = max((v for v in (_number(x) for x in values) if v is not None), default=0.0)
    if top <= 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(top))
    return next(m * step for m in (1, 2, 5, 10) if m * step >= top)


def _ratio_text(value: Any) -> str | None:
    x = _number(value)
    return None if x is None else f"{x:.2f}"


def _add_access(
    group: folium.FeatureGroup,
    areas: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    display: _Display,
    *,
    code_col: str,
    name_col: str,
    minutes: str,
) -> float:
    """Areas filled by ``access_per_1000`` and stations sized by their supply ratio.

    Returns the top of the colour scale (for the legend). Stations without a
    ``supply_ratio`` (nobody within reach) are drawn at the smallest size in grey.
    """
    vmax = _access_ceiling(areas["access_per_1000"])
    ramp = branca.colormap.LinearColormap(list(_ACCESS_COLOURS), vmin=0.0, vmax=vmax)
    props = []
    for rec in _records(areas):
        per = _number(rec.get("access_per_1000"))
        fill = _NO_DATA_COLOUR if per is None else ramp(min(max(per, 0.0), vmax))
        name, code = _text(rec.get(name_col)), _text(rec.get(code_col))
        title = f"{name} ({code})" if name and code else (name or code)
        props.append(
            {
                "style": {
                    "fillColor": fill[:7],
                    "fillOpacity": 0.65,
                    "color": "#444444",
                    "weight": 1,
                },
                "tip": _card(
                    title,
                    [
                        (
                            "可达性 Trainings a year per 1 000 residents within reach",
                            None if per is None else f"{per:.1f}",
                        ),
                        ("Residents counted", _text(rec.get("group_label"))),
                        ("Of them, in the area", _count(rec.get("group_population"))),
                        (
                            f"... within {minutes} min of a station",
                            _count(rec.get("group_covered_population")),
                        ),
                    ],
                ),
            }
        )
    _GeoJsonLayer(_feature_collection(display.polygons(areas), props)).add_to(group)
    if "supply_ratio" not in stations.columns or not len(stations):
        return vmax
    lat, lon = display.points(stations)
    small, large = _ACCESS_DOT_PX
    rows = []
    for i, rec in enumerate(_records(stations)):
        ratio = _number(rec.get("supply_ratio"))
        over = bool(rec.get("oversubscribed")) if not _missing(rec.get("oversubscribed")) else False
        size = small if ratio is None else small + (large - small) * min(ratio, 2.0) / 2.0
        colour = "#969696" if ratio is None else _OVER_COLOUR if over else _UNDER_COLOUR
        title = _text(rec.get("name")) or f"Station {i + 1}"
        status = (
            "超额 over-subscribed"
            if over
            else ("nobody within reach" if ratio is None else "有余量 within capacity")
        )
        tip = _card(
            title,
            [
                ("Capacity (trainings a year)", _count(rec.get("capacity_used"))),
                (f"Wanted within {minutes} min", _count(rec.get("trainings_wanted"))),
                ("Supply ratio (capacity / wanted)", _ratio_text(ratio)),
                ("Status", status),
            ],
        )
        d = round(size, 1)
        rows.append(
            {
                "lat": float(lat[i]),
                "lon": float(lon[i]),
                "cls": "sc-access-station" + (" sc-oversubscribed" if over else ""),
                "html": f'<div style="width:{d}px;height:{d}px;margin:-{d / 2}px 0 0 -{d / 2}px;'
                f"border-radius:50%;background:{colour};opacity:0.8;"
                'border:1px solid #252525"></div>',
                "tip": tip,
                "popup": None,
                "name": None if _missing(rec.get("name")) else str(rec.get("name")),
            }
        )
    _MarkerLayer(rows, icon_size=None).add_to(group)
    return vmax


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
        gradient = {
            round(0.2 + 0.8 * i / (len(_UNCOVERED_COLOURS) - 1), 2): c
            for i, c in enumerate(_UNCOVERED_COLOURS)
        }
        _OfflineHeatMap(
            data,
            name=name,
            show=False,
            min_opacity=0.3,
            radius=18,
            blur=14,
            max_zoom=16,
            gradient=gradient,
        ).add_to(m)
        return
    group = folium.FeatureGroup(name=name, show=False).add_to(m)
    top = float(pop.max()) if len(pop) else 1.0
    for y, x, p in zip(lat, lon, pop, strict=True):
        folium.CircleMarker(
            location=(float(y), float(x)),
            radius=float(4 + 12 * math.sqrt(p / top)),
            color=_UNCOVERED_COLOURS[-1],
            weight=1,
            fill=True,
            fill_color=_UNCOVERED_COLOURS[2],
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
    """Gap zones with a tooltip; the most populous labelled "#zone · uncovered residents"."""
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
                    "weight": 1.5,  # solid: zones are cell unions that never overlap
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
        label_zone = f"#{zone} · " if zone else ""
        if pop is not None and i in labelled:
            labels.append(
                {
                    "lat": pt.y,
                    "lon": pt.x,
                    "cls": "sc-label sc-gap-label",
                    "priority": 1e12 - i,  # gap labels win over area names
                    "html": f"<span>{label_zone}{pop}</span>",
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
    access_max: float | None = None,
) -> str:
    """The legend box (our own labels; phase labels escaped)."""
    parts: list[str] = []
    if coverage:
        stops = ", ".join(_COVERAGE_COLOURS)
        parts += [
            f"<h4>{minutes} 分钟步行覆盖率 Residents within {minutes}-min walk</h4>",
            f'<div class="sc-ramp" style="background:linear-gradient(to right, {stops})"></div>',
            '<div class="sc-ramp-labels"><span>0 %</span><span>50 %</span><span>100 %</span></div>',
        ]
    if "uncovered" in layers:
        stops = ", ".join(_UNCOVERED_COLOURS)
        parts += [
            "<h4>未覆盖居民 Uncovered residents</h4>",
            f'<div class="sc-ramp" style="background:linear-gradient(to right, {stops})"></div>',
            '<div class="sc-ramp-labels"><span>少 few</span><span>多 many</span></div>',
        ]
    if access_max is not None:
        stops = ", ".join(_ACCESS_COLOURS)
        parts += [
            "<h4>可达性 Trainings a year per 1 000 residents within reach</h4>",
            f'<div class="sc-ramp" style="background:linear-gradient(to right, {stops})"></div>',
            f'<div class="sc-ramp-labels"><span>0</span><span>{access_max / 2:g}</span>'
            f"<span>{access_max:g}</span></div>",
            f'<span class="sw dot" style="background:{_OVER_COLOUR}"></span>'
            "超额 over-subscribed station (size: capacity / wanted)<br>",
            f'<span class="sw dot" style="background:{_UNDER_COLOUR}"></span>'
            "有余量 station within capacity<br>",
        ]
    if station_types:
        parts.append("<h4>Stations</h4>")
        parts += [
            f'<span class="sw dot" style="background:{STATION_COLOURS[t]}"></span>'
            f"{STATION_TYPE_LABELS.get(t, t)}<br>"
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
        ("gaps", "#ef8a62", "空白区 Gap zone (#编号 zone · 未覆盖居民 uncovered)"),
    ]
    shown = [(c, text) for key, c, text in extra if key in layers]
    if shown:
        parts.append("<h4>Areas</h4>")
        parts += [f'<span class="sw" style="background:{c}"></span>{text}<br>' for c, text in shown]
    return "".join(parts)
