"""The web map page: :func:`build_map`, :func:`write_map` and :func:`map_from_dir`."""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
from branca.element import Figure

from skillcircle._errors import InputError
from skillcircle._validate import positive
from skillcircle.inputs.files import write_text
from skillcircle.outputs import schema
from skillcircle.outputs.webmap.basemaps import ATTRIBUTION, add_basemap, check_basemap
from skillcircle.outputs.webmap.elements import (
    _BoxControl,
    _Declutter,
    _MetricScale,
    _offline_assets,
    _OfflineMap,
    _RawHtml,
    _stable_ids,
)
from skillcircle.outputs.webmap.layers import (
    _DEFAULT_MINUTES,
    _add_access,
    _add_choropleth,
    _add_gaps,
    _add_isochrones,
    _add_service_area,
    _add_stations,
    _add_suggestions,
    _add_uncovered,
    _as_frame,
    _clean,
    _coverage_colormap,
    _Display,
    _legend_html,
    _minutes_label,
    _valid_minutes,
    layer_names,
)
from skillcircle.outputs.webmap.walktime import add_walk_time

__all__ = ["OUTPUT_LAYERS", "build_map", "map_from_dir", "map_titles", "write_map"]

logger = logging.getLogger(__name__)

#: Where an empty map opens (lat, lon) when no centre is given: the whole world.
_WORLD = (20.0, 0.0)


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
    subtitle: str | None = None,
    centre: tuple[float, float] | None = None,
    walk_grid: gpd.GeoDataFrame | None = None,
    speed_kmh: float | None = None,
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
        choropleth shown at load (its names labelled from zoom 12, decluttered) and the
        district one starts hidden.
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
    subtitle
        A plain-text line (HTML-escaped) under the title, before ``note`` (e.g. the walk and
        speed in English, see :func:`map_titles`); none when omitted or blank.
    centre
        ``(lat, lon)`` the map opens on when no layer has any feature (e.g. the city
        profile's centre); a world view when omitted. A map with data opens on its data.
    walk_grid
        Walk-time grid cells (``walk_grid.parquet``: ``col``, ``row``, ``distance_m``,
        ``station``, ``name``): drawn as the walk-time surface (hidden at load) and embedded
        for the click-anywhere nearest-station popup.
    speed_kmh
        Walking speed of ``walk_grid`` (needed with it).

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
    positive(simplify_m, "simplify_m", allow_zero=True)
    mins = _minutes_label(minutes)
    names = layer_names(minutes)
    if note is not None and not isinstance(note, str):
        raise InputError(f"note must be a string, got {type(note).__name__}", field="note")
    note = note.strip() if note else None
    if subtitle is not None and not isinstance(subtitle, str):
        raise InputError(
            f"subtitle must be a string, got {type(subtitle).__name__}", field="subtitle"
        )
    subtitle = subtitle.strip() if subtitle else None

    if stations is None:
        raise InputError("stations are required (a point GeoDataFrame)", field="stations")
    check_basemap(basemap)
    if centre is None:
        m = _OfflineMap(location=_WORLD, zoom_start=2, tiles=None)
    else:
        m = _OfflineMap(location=(float(centre[0]), float(centre[1])), zoom_start=11, tiles=None)
    gcj02 = add_basemap(m, basemap, attribution)
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
            labels=True,
        )
    if "service_area" in layers:
        _add_service_area(group("service_area", show=False), layers["service_area"], display)
    if "isochrones" in layers:
        n_iso = len(layers["isochrones"])
        show_iso = False  # off at load: the map opens on the choropleth, stations and sites
        logger.debug("%d walking areas (shown-max %d)", n_iso, isochrones_shown_max)
        _add_isochrones(
            group("isochrones", show=show_iso), layers["isochrones"], display, minutes=mins
        )
    if "uncovered" in layers:
        _add_uncovered(m, layers["uncovered"], display, name=names["uncovered"])
    if "gaps" in layers:
        _add_gaps(group("gaps", show=False), layers["gaps"], display)
    if walk_grid is not None and speed_kmh is not None:
        add_walk_time(
            m, walk_grid, display, name="步行时间 Walk time to nearest station", speed_kmh=speed_kmh
        )
    access_max = None
    access_areas = next(
        (
            (layer, key)
            for layer, key in (("subdistricts", "subdistrict"), ("districts", "district"))
            if layer in layers and "access_per_1000" in layers[layer].columns
        ),
        None,
    )
    if access_areas is not None:
        layer, key = access_areas
        access_max = _add_access(
            group("access", show=False),
            layers[layer],
            layers["stations"],
            display,
            code_col=f"{key}_code",
            name_col=f"{key}_name",
            minutes=mins,
        )
    station_types = _add_stations(group("stations"), layers["stations"], display, minutes=mins)
    phases: dict[str, str] = {}
    if "suggestions" in layers:
        phases = _add_suggestions(group("suggestions"), layers["suggestions"], display)

    _MetricScale().add_to(m)
    _Declutter().add_to(m)
    title_box = f'<div class="sc-title">{html.escape(title)}</div>'
    if subtitle:
        title_box += f'<div class="sc-subtitle">{html.escape(subtitle)}</div>'
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
        access_max=access_max,
    )
    if legend:
        _BoxControl(legend, position="bottomright", css_class="sc-box sc-legend").add_to(m)

    if display.bounds:
        b = np.vstack(display.bounds)
        west, south = b[:, 0].min(), b[:, 1].min()
        east, north = b[:, 2].max(), b[:, 3].max()
        m.location = [float(south + north) / 2, float(west + east) / 2]
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
    "districts": schema.DISTRICTS_GEOJSON,
    "subdistricts": schema.SUBDISTRICTS_GEOJSON,
    "isochrones": schema.ISOCHRONES_GEOJSON,
    "service_area": schema.SERVICE_AREA_GEOJSON,
    "gaps": schema.GAPS_GEOJSON,
    "suggestions": schema.SUGGESTIONS_GEOJSON,
}


def map_titles(out_dir: str | os.PathLike[str]) -> tuple[str, str | None]:
    """Title and subtitle of an output folder's map, from its study's areas and settings.

    The title names the districts of ``districts.geojson`` (up to three, joined by "、"; "等
    N 区" for more), the walking time and the speed of ``summary.json``:
    ``"<district> · 15 分钟步行 · 4 km/h"``; the subtitle says the same in English with the
    station count: ``"15-min walk at 4 km/h · 21 stations"``. Without a readable summary the
    title is ``"skillcircle · <folder name>"`` and there is no subtitle.

    Parameters
    ----------
    out_dir
        An output folder written by ``report``, ``suggest`` or the demo.

    Returns
    -------
    tuple[str, str | None]
        Title and subtitle.
    """
    folder = Path(out_dir)
    summary = schema.read_summary(folder)
    if summary is None or not _valid_minutes(summary.minutes):
        return f"skillcircle · {folder.name}", None
    names: list[str] = []
    districts_path = folder / schema.DISTRICTS_GEOJSON
    if districts_path.is_file():
        frame = gpd.read_file(districts_path, ignore_geometry=True)
        if "district_name" in frame.columns:
            for value in frame["district_name"]:
                text = "" if value is None or value != value else str(value).strip()
                if text and text not in names:
                    names.append(text)
    mins = _minutes_label(summary.minutes)
    speed = f"{summary.speed_kmh:g} km/h"
    walk = f"{mins} 分钟步行 · {speed}"
    area = "、".join(names[:3]) + (f" 等 {len(names)} 区" if len(names) > 3 else "")
    title = f"{area} · {walk}" if area else walk
    n = summary.stations
    subtitle = f"{mins}-min walk at {speed} · {n:,} station{'s' if n != 1 else ''}"
    return title, subtitle


def map_from_dir(
    out_dir: str | os.PathLike[str],
    *,
    basemap: str = "osm",
    title: str | None = None,
    note: str | None = None,
    centre: tuple[float, float] | None = None,
) -> folium.Map:
    """Build the map of an output folder written by ``report``, ``suggest`` or the demo.

    Reads ``stations.geojson`` (required), the layers in :data:`OUTPUT_LAYERS` that exist, the
    uncovered residents from ``units.parquet`` and, from ``summary.json`` when it is a
    readable :class:`~skillcircle.outputs.schema.Summary`, the walking time (``minutes``, 15
    otherwise) and ``note``. The map a command writes is built this way too, so
    ``skillcircle map --from DIR`` redraws exactly the same map (e.g. with another base map).

    Parameters
    ----------
    out_dir
        The output folder.
    basemap
        ``osm``, ``amap``, ``tianditu`` or a tile URL template.
    title
        Page title; from the study's districts and settings when omitted (see
        :func:`map_titles`), which also gives the subtitle.
    note
        Line shown under the title; the summary's ``note`` when omitted.
    centre
        ``(lat, lon)`` for a map without any feature (see :func:`build_map`).

    Returns
    -------
    folium.Map

    Raises
    ------
    InputError
        When the folder holds no ``stations.geojson``.
    """
    folder = Path(out_dir)
    stations_path = folder / schema.STATIONS_GEOJSON
    if not stations_path.is_file():
        raise InputError(
            f"not an output folder of skillcircle (no {schema.STATIONS_GEOJSON}): run "
            "`skillcircle report` first",
            path=folder,
        )
    layers: dict[str, Any] = {"stations": gpd.read_file(stations_path)}
    for key, name in OUTPUT_LAYERS.items():
        path = folder / name
        if path.is_file():
            layer = gpd.read_file(path)
            layers[key] = layer if len(layer) or key != "suggestions" else None
    units_path = folder / schema.UNITS_PARQUET
    if units_path.is_file():
        units = gpd.read_parquet(units_path, columns=["population", "covered", "geometry"])
        layers["uncovered"] = units.loc[~units["covered"].to_numpy(dtype=bool)]
    grid_path = folder / schema.WALK_GRID_PARQUET
    summary = schema.read_summary(folder)
    if grid_path.is_file() and summary is not None:
        layers["walk_grid"] = gpd.read_parquet(grid_path)
        layers["speed_kmh"] = summary.speed_kmh
    minutes = _DEFAULT_MINUTES if summary is None else summary.minutes
    if not _valid_minutes(minutes):
        logger.warning("summary minutes %r invalid: map labels use 15", minutes)
        minutes = _DEFAULT_MINUTES
    if note is None and summary is not None:
        note = summary.note
    auto_title, subtitle = map_titles(folder)
    return build_map(
        basemap=basemap,
        title=title or auto_title,
        subtitle=None if title else subtitle,
        minutes=minutes,
        note=note,
        centre=centre,
        **layers,
    )
