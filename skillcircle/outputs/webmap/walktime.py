"""The walk-time surface and the click-anywhere nearest-station lookup of the web map.

The grid (:mod:`skillcircle.access.walkgrid`) is written as ``walk_grid.parquet`` and drawn
as one layer of walk-time classes; the same grid is embedded in the page as base64 ``uint16``
arrays (metres and station index per cell), so a click anywhere shows the nearest station and
the walk without a server.
"""

from __future__ import annotations

import base64
import itertools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template

from skillcircle.access.walkgrid import WALK_CLASSES_MIN, analysis_walk_grid, grid_frame
from skillcircle.outputs import schema

if TYPE_CHECKING:
    from skillcircle.access.analysis import Analysis
    from skillcircle.outputs.webmap.layers import _Display

__all__ = ["WALK_COLOURS", "write_walk_grid"]

logger = logging.getLogger(__name__)

#: Fill of each walk-time class (0-5, 5-10, 10-15, 15-20, 20-30, > 30 min): sequential,
#: colour-blind safe (ColorBrewer YlGnBu, reversed: near is dark).
WALK_COLOURS: tuple[str, ...] = ("#253494", "#2c7fb8", "#41b6c4", "#a1dab4", "#ffffcc", "#fdae61")

_NONE = 65535  # outside the area / no station
_FAR = 65534  # beyond the search limit or off the network


def write_walk_grid(analysis: Analysis, folder: Path) -> dict[str, Path]:
    """Write ``walk_grid.parquet`` (the cells of the walk-time grid) into ``folder``.

    Parameters
    ----------
    analysis
        The coverage analysis.
    folder
        The (staging) output folder.

    Returns
    -------
    dict
        ``{name: path}``; empty when the study has no station.
    """
    grid = analysis_walk_grid(analysis)
    if grid is None:
        return {}
    stations = analysis.headline.stations
    names = stations["name"].to_numpy(dtype=object) if "name" in stations else None
    path = folder / schema.WALK_GRID_PARQUET
    grid_frame(grid, names).to_parquet(path)
    return {schema.WALK_GRID_PARQUET: path}


def _class_of(minutes: np.ndarray) -> np.ndarray:
    """Walk-time class index (0..5) per cell (``inf`` in the last class)."""
    return np.searchsorted(np.asarray(WALK_CLASSES_MIN), minutes, side="left")


def class_labels() -> list[str]:
    """Legend labels of the classes (``"0–5 分钟 min"`` … ``"> 30 分钟 min"``)."""
    bounds = (0.0, *WALK_CLASSES_MIN)
    out = [f"{a:g}–{b:g} 分钟 min" for a, b in itertools.pairwise(bounds)]
    return [*out, f"> {WALK_CLASSES_MIN[-1]:g} 分钟 min"]


class _WalkLookup(MacroElement):
    """Click on the map → popup with the nearest station and the walk, from the embedded grid."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var g = {{ this.grid|tojson }};
            function dec(s) {
                var b = atob(s), u = new Uint8Array(b.length);
                for (var i = 0; i < b.length; i++) { u[i] = b.charCodeAt(i); }
                return new Uint16Array(u.buffer);
            }
            var dist = dec(g.dist), who = dec(g.station);
            window.scWalkLookup = function (lat, lon) {
                var c = Math.round(g.a[0] * lon + g.a[1] * lat + g.a[2]);
                var r = Math.round(g.a[3] * lon + g.a[4] * lat + g.a[5]);
                if (c < 0 || r < 0 || c >= g.cols || r >= g.rows) { return null; }
                var k = r * g.cols + c;
                if (dist[k] === 65535) { return null; }
                if (dist[k] === 65534 || who[k] === 65535) { return {far: true}; }
                return {name: g.names[who[k]], metres: dist[k],
                        minutes: Math.round(dist[k] / g.m_per_min)};
            };
            map.on("click", function (e) {
                var hit = window.scWalkLookup(e.latlng.lat, e.latlng.lng);
                if (hit === null) { return; }
                var div = document.createElement("div");
                div.className = "sc-walk-popup";
                if (hit.far) {
                    div.textContent = g.far_text;
                } else {
                    div.textContent = "最近站点 nearest: " + hit.name + " · 步行 " + hit.minutes
                        + " 分钟 (" + hit.metres.toLocaleString("en-US") + " m)";
                }
                L.popup().setLatLng(e.latlng).setContent(div).openOn(map);
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, grid: dict[str, Any]) -> None:
        super().__init__()
        self._name = "WalkLookup"
        self.grid = grid


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(values.astype("<u2").tobytes()).decode("ascii")


def add_walk_time(
    m: folium.Map,
    cells: gpd.GeoDataFrame,
    display: _Display,
    *,
    name: str,
    speed_kmh: float,
) -> None:
    """Add the walk-time surface (hidden at load) and the click lookup to ``m``.

    Parameters
    ----------
    m
        The map.
    cells
        ``walk_grid.parquet`` rows (``col``, ``row``, ``distance_m``, ``station``, ``name``).
    display
        The map's display transform.
    name
        Layer name in the layer control.
    speed_kmh
        Walking speed of the grid (minutes in the popup).
    """
    from skillcircle.outputs.webmap.elements import _GeoJsonLayer
    from skillcircle.outputs.webmap.layers import _feature_collection

    if not len(cells):
        return
    metric = display.metric(cells)
    m_per_min = speed_kmh * 1000.0 / 60.0
    dist = cells["distance_m"].to_numpy(dtype=np.float64)
    klass = _class_of(dist / m_per_min)
    arr = np.asarray(metric.array, dtype=object)
    geoms, props = [], []
    labels = class_labels()
    for k in range(len(WALK_COLOURS)):
        sel = klass == k
        if not sel.any():
            continue
        geoms.append(shapely.union_all(arr[sel], grid_size=0.01))
        props.append(
            {
                "style": {
                    "fillColor": WALK_COLOURS[k],
                    "fillOpacity": 0.55,
                    "weight": 0,
                    "color": WALK_COLOURS[k],
                },
                "tip": f"步行 walk {labels[k]}",
            }
        )
    surface = gpd.GeoDataFrame(geometry=geoms, crs=metric.crs)
    group = folium.FeatureGroup(name=name, show=False).add_to(m)
    _GeoJsonLayer(_feature_collection(display.polygons(surface), props), interactive=False).add_to(
        group
    )

    # grid (col, row) from display lon/lat: an affine fit on the cell centres (exact to well
    # under a metre over a district-sized area)
    col = cells["col"].to_numpy(dtype=np.int64)
    row = cells["row"].to_numpy(dtype=np.int64)
    centres = display.to_display(gpd.GeoSeries(shapely.centroid(arr), crs=metric.crs))
    lon, lat = shapely.get_x(centres), shapely.get_y(centres)
    design = np.column_stack([lon, lat, np.ones_like(lon)])
    a_col = np.linalg.lstsq(design, col.astype(np.float64), rcond=None)[0]
    a_row = np.linalg.lstsq(design, row.astype(np.float64), rcond=None)[0]
    n_cols, n_rows = int(col.max()) + 1, int(row.max()) + 1
    flat_d = np.full(n_cols * n_rows, _NONE, dtype=np.int64)
    flat_s = np.full(n_cols * n_rows, _NONE, dtype=np.int64)
    k = row * n_cols + col
    reach = np.isfinite(dist)
    flat_d[k] = np.where(reach, np.minimum(np.round(np.nan_to_num(dist, posinf=0)), _FAR - 1), _FAR)
    st = cells["station"].to_numpy(dtype=np.int64)
    flat_s[k] = np.where(st >= 0, st, _NONE)
    raw = cells["name"].to_numpy(dtype=object) if "name" in cells else np.full(len(cells), None)
    names: dict[int, str] = {}
    for s, n in zip(st, raw, strict=True):
        if s >= 0 and s not in names:
            names[int(s)] = "" if n is None else str(n)
    table = [names.get(i, f"#{i + 1}") for i in range((max(names) + 1) if names else 0)]
    _WalkLookup(
        {
            "cols": n_cols,
            "rows": n_rows,
            "a": [float(v) for v in (*a_col, *a_row)],
            "dist": _b64(flat_d),
            "station": _b64(flat_s),
            "names": table,
            "m_per_min": m_per_min,
            "far_text": "步行可达范围内无站点 no station within reach",
        }
    ).add_to(m)
