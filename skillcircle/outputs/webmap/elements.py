"""Self-contained pieces of the web map page: inlined offline assets and custom elements.

Leaflet (BSD-2-Clause) and Leaflet.heat (BSD-2-Clause) are vendored under
``skillcircle/assets/`` and read with :mod:`importlib.resources` (so they are found wherever
skillcircle is installed); they are inlined so the map works without internet. The custom
Leaflet elements here receive their data as JSON (Jinja's ``tojson``), never as source text.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections import OrderedDict
from functools import cache
from importlib import resources
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.plugins import HeatMap
from folium.template import Template

_CSS = """
.sc-station{border-radius:50%;border:2px solid #fff;box-sizing:border-box;
  box-shadow:0 0 3px rgba(0,0,0,.7)}
.sc-suggestion div{width:26px;height:26px;border-radius:50%;border:2px solid #fff;
  box-sizing:border-box;color:#fff;font:bold 12px/22px sans-serif;text-align:center;
  box-shadow:0 0 4px rgba(0,0,0,.7)}
.sc-gap-label span{display:inline-block;transform:translate(-50%,-50%);white-space:nowrap;
  background:rgba(255,255,255,.85);border:1px solid #b2182b;border-radius:3px;color:#b2182b;
  font:bold 11px sans-serif;padding:1px 4px}
.sc-area-label span{display:inline-block;transform:translate(-50%,-50%);white-space:nowrap;
  color:#111;font:bold 12px sans-serif;padding:0 2px;
  text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff}
.sc-box{background:rgba(255,255,255,.92);border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.35);
  font:12px/1.45 sans-serif;padding:6px 9px;max-width:260px}
.sc-title{font-weight:bold;font-size:14px}
.sc-subtitle{color:#333;margin-top:1px}
.sc-note{font-style:italic;color:#555;margin-top:2px}
.sc-box .sw{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px;
  border:1px solid rgba(0,0,0,.3);box-sizing:border-box}
.sc-box .dot{border-radius:50%}
.sc-ramp{height:10px;width:200px;border:1px solid rgba(0,0,0,.3)}
.sc-ramp-labels{display:flex;justify-content:space-between;width:202px;font-size:11px}
.sc-box h4{margin:6px 0 2px;font-size:12px}
.sc-box h4:first-child{margin-top:0}
.sc-legend{max-height:calc(100vh - 400px);min-height:120px;overflow-y:auto}
"""


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
                    if (!el) { return; }
                    if (r.name !== null) { el.setAttribute("data-sc-name", r.name); }
                    if (r.priority !== undefined) {
                        el.setAttribute("data-sc-priority", String(r.priority));
                    }
                    if (r.minzoom !== undefined) {
                        el.setAttribute("data-sc-minzoom", String(r.minzoom));
                    }
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


class _Declutter(MacroElement):
    """Hides labels (``.sc-label``) that would overlap a more important one.

    After every zoom, pan and layer switch, labels are taken by ``data-sc-priority``
    (highest first); one is shown only when the map is at its ``data-sc-minzoom`` or closer
    and its box (with a 2 px margin) meets no station or suggested-site marker and no label
    already shown, at its anchor or moved 18 or 36 px down or up; else it gets
    ``visibility: hidden``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var pending = false;
            var SHIFTS = [0, 18, -18, 36, -36];
            function meets(a, b) {
                return a.left < b.right + 2 && b.left < a.right + 2 &&
                       a.top < b.bottom + 2 && b.top < a.bottom + 2;
            }
            function run() {
                pending = false;
                var zoom = map.getZoom();
                var els = Array.from(map.getContainer().querySelectorAll(".sc-label"));
                els.sort(function (a, b) {
                    return Number(b.getAttribute("data-sc-priority") || 0) -
                           Number(a.getAttribute("data-sc-priority") || 0);
                });
                // station and suggested-site markers are obstacles: a label never hides one
                var kept = Array.from(map.getContainer().querySelectorAll(
                    ".sc-station, .sc-suggestion"
                )).map(function (el) { return el.getBoundingClientRect(); });
                els.forEach(function (el) {
                    var span = el.firstElementChild || el;
                    var ok = false;
                    if (zoom >= Number(el.getAttribute("data-sc-minzoom") || 0)) {
                        // at its anchor, else just below or above it
                        for (var k = 0; !ok && k < SHIFTS.length; k++) {
                            span.style.transform = SHIFTS[k] ?
                                "translate(-50%, calc(-50% + " + SHIFTS[k] + "px))" : "";
                            var box = span.getBoundingClientRect();
                            ok = box.width > 0;
                            for (var i = 0; ok && i < kept.length; i++) {
                                if (meets(box, kept[i])) { ok = false; }
                            }
                            if (ok) { kept.push(box); }
                        }
                    }
                    if (!ok) { span.style.transform = ""; }
                    el.style.visibility = ok ? "" : "hidden";
                });
                map.getContainer().setAttribute("data-sc-decluttered", String(zoom));
            }
            function later() {
                if (!pending) { pending = true; setTimeout(run, 0); }
            }
            map.on("zoomend moveend overlayadd overlayremove resize", later);
            map.whenReady(later);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "Declutter"


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
