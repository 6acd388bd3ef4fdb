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
GCJ-02, so every overlay is shifted WGS84 → GCJ-02 to line up (see :mod:`.basemaps`).

Modules: :mod:`.page` (the public functions), :mod:`.layers` (overlays and styles),
:mod:`.elements` (inlined assets, custom Leaflet elements), :mod:`.basemaps` (tiles).
"""

from skillcircle.outputs.webmap.basemaps import ATTRIBUTION, BASEMAPS, TIANDITU_ENV, check_basemap
from skillcircle.outputs.webmap.layers import (
    GAP_LABELS_MAX,
    LAYER_NAMES,
    PHASE_COLOURS,
    STATION_COLOURS,
    UNCOVERED_CIRCLES_MAX,
    layer_names,
)
from skillcircle.outputs.webmap.page import (
    OUTPUT_LAYERS,
    build_map,
    map_from_dir,
    map_titles,
    write_map,
)

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
    "map_titles",
    "write_map",
]
