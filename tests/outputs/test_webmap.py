"""Unit tests of skillcircle.outputs.webmap on the generated HTML.

No browser here: see test_webmap_browser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point, box

from skillcircle._errors import InputError
from skillcircle.outputs.webmap import (
    ATTRIBUTION,
    GAP_LABELS_MAX,
    LAYER_NAMES,
    PHASE_COLOURS,
    STATION_COLOURS,
    build_map,
    check_basemap,
    layer_names,
    map_from_dir,
    map_titles,
    write_map,
)
from skillcircle.outputs.webmap.layers import _access_ceiling, _legend_html

CRS = "EPSG:4547"
XSS = "<img src=x onerror=alert(1)>"
TOWER = (113.3245, 23.1064)  # Canton Tower, WGS84 lon, lat


def html_of(m: folium.Map) -> str:
    return m.get_root().render()


def marker_rows(html: str) -> list[list[dict[str, Any]]]:
    """The JSON payload of every marker layer, in page order."""
    found = re.findall(r"\(function \(group\) \{\s*(\[.*?\])\.forEach", html, re.S)
    return [json.loads(f) for f in found]


def geojson_layers(html: str) -> list[dict[str, Any]]:
    """The GeoJSON FeatureCollection of every polygon layer, in page order."""
    found = re.findall(r"L\.geoJSON\((\{.*?\}), \{\s*interactive", html, re.S)
    return [json.loads(f) for f in found]


def title_box(html: str) -> str:
    """The HTML of the title box (title and note)."""
    (found,) = re.findall(r'div\.innerHTML = ("\\u003cdiv class=\\"sc-title.*?");', html)
    return str(json.loads(found))


def points(lonlat: list[tuple[float, float]], crs: str = "EPSG:4326", **cols: Any) -> Any:
    return gpd.GeoDataFrame(cols, geometry=[Point(x, y) for x, y in lonlat], crs=crs)


@pytest.fixture
def tower_station() -> gpd.GeoDataFrame:
    return points([TOWER], name=["Canton Tower station"])


# ------------------------------------------------------------------------------------------
# offline


def test_written_file_links_no_external_script_or_stylesheet(
    tower_station: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    uncovered = points([(113.32 + i * 1e-3, 23.10) for i in range(40)], population=[5.0] * 40)
    path = write_map(build_map(stations=tower_station, uncovered=uncovered), tmp_path / "map.html")
    text = path.read_text(encoding="utf-8")
    assert re.findall(r"<script[^>]*\bsrc=", text) == []
    assert re.findall(r"<link[^>]*\bhref=", text) == []
    assert re.findall(r"@import|url\(\s*['\"]?https?:", text) == []
    assert "Leaflet 1.9.4" in text  # inlined library
    assert "L.heatLayer=function" in text  # inlined Leaflet.heat, used by the heat map
    assert "data:image/png;base64," in text  # leaflet.css images inlined
    assert "jquery" not in text.lower()
    assert "$(`" not in text  # no jQuery-based folium popup


def test_heat_plugin_only_inlined_when_needed(tower_station: gpd.GeoDataFrame) -> None:
    assert "L.heatLayer=function" not in html_of(build_map(stations=tower_station))


def test_same_input_gives_byte_identical_html(tower_station: gpd.GeoDataFrame) -> None:
    assert html_of(build_map(stations=tower_station)) == html_of(build_map(stations=tower_station))


def test_write_map_is_atomic_and_returns_path(
    tower_station: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "map.html"
    assert write_map(build_map(stations=tower_station), target) == target
    assert target.read_text(encoding="utf-8") == html_of(build_map(stations=tower_station))
    assert sorted(p.name for p in target.parent.iterdir()) == ["map.html"]


# ------------------------------------------------------------------------------------------
# escaping


def test_user_text_is_html_escaped_and_json_encoded() -> None:
    stations = points(
        [(113.30, 23.10), (113.31, 23.10)],
        name=[XSS, "</script><script>alert(2)</script>"],
        type=["community", "<b>park</b>"],
        district_name=["越秀区 & <i>co</i>", "${alert(3)}`"],
        address=["1 \"Road\" 'x'", None],
        reach_population=[1234.6, np.nan],
        next_station_m=[1023.4, 1023.4],
    )
    districts = gpd.GeoDataFrame(
        {"district_name": [XSS], "district_code": ["440104"], "coverage_pct": [50.0]},
        geometry=[box(113.29, 23.09, 113.32, 23.11)],
        crs="EPSG:4326",
    )
    html = html_of(build_map(stations=stations, districts=districts, title="<b>T</b>"))
    # No user text reaches the page unescaped.
    assert "<img src=x" not in html
    assert "</script><script>alert(2)" not in html
    assert "${alert(3)}`" not in html.replace("\\u0060", "`").split("<script>", 1)[0]
    assert "<title>&lt;b&gt;T&lt;/b&gt;</title>" in html

    (rows,) = marker_rows(html)
    assert rows[0]["popup"] == (
        "<b>&lt;img src=x onerror=alert(1)&gt;</b><br>Type: community<br>"
        "District: 越秀区 &amp; &lt;i&gt;co&lt;/i&gt;<br>"
        "Address: 1 &quot;Road&quot; &#x27;x&#x27;<br>"
        "Residents within 15 min: 1,235<br>Nearest other station: 1,023 m"
    )
    assert rows[0]["tip"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert rows[0]["name"] == XSS  # raw: set with setAttribute, never parsed as HTML
    # Unknown type: escaped in the popup, "other" colour class; missing population left out.
    assert rows[1]["cls"] == "sc-station sc-station-other"
    assert rows[1]["popup"] == (
        "<b>&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;</b><br>"
        "Type: &lt;b&gt;park&lt;/b&gt;<br>District: ${alert(3)}`<br>"
        "Nearest other station: 1,023 m"
    )
    (district_layer,) = geojson_layers(html)
    assert district_layer["features"][0]["properties"]["tip"] == (
        "<b>&lt;img src=x onerror=alert(1)&gt; (440104)</b><br>Coverage: 50.0 %"
    )


def test_missing_optional_columns_leave_lines_out() -> None:
    (rows,) = marker_rows(html_of(build_map(stations=points([TOWER]))))
    assert rows[0]["popup"] == "<b>Station 1</b>"
    assert rows[0]["name"] is None
    assert rows[0]["cls"] == "sc-station sc-station-other"


def test_attribution_is_shown_escaped(tower_station: gpd.GeoDataFrame) -> None:
    html = html_of(build_map(stations=tower_station))
    assert json.dumps(ATTRIBUTION).replace("©", "\\u00a9") in html
    html = html_of(build_map(stations=tower_station, attribution="<script>x</script> © me"))
    assert (
        '"attribution": "\\u0026lt;script\\u0026gt;x\\u0026lt;/script\\u0026gt; \\u00a9 me"' in html
    )


# ------------------------------------------------------------------------------------------
# base maps and GCJ-02


def test_amap_shifts_every_overlay_by_the_gcj02_offset(tower_station: gpd.GeoDataFrame) -> None:
    square = gpd.GeoDataFrame(
        {"coverage_pct": [80.0]},
        geometry=[box(TOWER[0], TOWER[1], TOWER[0] + 0.01, TOWER[1] + 0.01)],
        crs="EPSG:4326",
    )
    layers = {"stations": tower_station, "districts": square}
    osm = html_of(build_map(**layers, simplify_m=0))
    amap = html_of(build_map(**layers, basemap="amap", simplify_m=0))
    assert "webrd0{s}.is.autonavi.com/appmaptile" in amap
    assert "tile.openstreetmap.org" not in amap

    (p_osm,), (p_amap,) = marker_rows(osm)[0], marker_rows(amap)[0]
    assert (p_osm["lon"], p_osm["lat"]) == TOWER
    # GCJ-02 minus WGS84 at Canton Tower: +0.0054° east, -0.0026° north (≈ 550 m, ≈ 290 m).
    assert p_amap["lon"] - TOWER[0] == pytest.approx(0.0054, abs=1e-4)
    assert p_amap["lat"] - TOWER[1] == pytest.approx(-0.0026, abs=1e-4)

    ring_osm = geojson_layers(osm)[0]["features"][0]["geometry"]["coordinates"][0]
    ring_amap = geojson_layers(amap)[0]["features"][0]["geometry"]["coordinates"][0]
    shift = np.array(ring_amap) - np.array(ring_osm)
    assert shift[:, 0] == pytest.approx(0.0054, abs=2e-4)
    assert shift[:, 1] == pytest.approx(-0.0026, abs=2e-4)


def test_any_input_crs_is_shown_in_wgs84(tower_station: gpd.GeoDataFrame) -> None:
    projected = tower_station.to_crs(CRS)
    (rows,) = marker_rows(html_of(build_map(stations=projected)))
    assert rows[0]["lon"] == pytest.approx(TOWER[0], abs=2e-6)
    assert rows[0]["lat"] == pytest.approx(TOWER[1], abs=2e-6)


def test_tianditu_needs_a_key(
    tower_station: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(InputError, match="TIANDITU_KEY"):
        build_map(stations=tower_station, basemap="tianditu")
    monkeypatch.setenv("TIANDITU_KEY", "abc123")
    html = html_of(build_map(stations=tower_station, basemap="tianditu"))
    assert "tianditu.gov.cn/vec_w/wmts?" in html
    assert "tianditu.gov.cn/cva_w/wmts?" in html
    assert html.count("tk=abc123") == 2


def test_custom_tile_url_and_unknown_basemap(tower_station: gpd.GeoDataFrame) -> None:
    url = "http://tiles.intranet.gz/{z}/{x}/{y}.png"
    assert f'"{url}"' in html_of(build_map(stations=tower_station, basemap=url))
    with pytest.raises(InputError, match="basemap must be one of osm, amap, tianditu"):
        build_map(stations=tower_station, basemap="google")


def test_check_basemap_validates_without_building(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    for ok in ("osm", " AMap ", "OSM", "http://tiles.intranet.gz/{z}/{x}/{y}.png"):
        check_basemap(ok)  # no error
    with pytest.raises(InputError, match="TIANDITU_KEY") as err:
        check_basemap("tianditu")
    assert err.value.field == "basemap"
    monkeypatch.setenv("TIANDITU_KEY", "   ")
    with pytest.raises(InputError, match="TIANDITU_KEY"):
        check_basemap("Tianditu")
    monkeypatch.setenv("TIANDITU_KEY", "abc123")
    check_basemap("tianditu")
    for bad in ("google", "", "http://tiles.intranet.gz/{z}/{x}.png"):
        with pytest.raises(InputError, match="basemap must be one of osm, amap, tianditu"):
            check_basemap(bad)
    with pytest.raises(InputError, match="basemap must be a string"):
        check_basemap(None)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# layers


def _groups(m: folium.Map) -> dict[str, Any]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.map.Layer)}


def test_isochrones_hidden_at_load() -> None:
    """Walk areas start hidden whatever their number (issue 12: off by default)."""
    stations = points([(113.30 + i * 0.01, 23.10) for i in range(3)], name=["a", "b", "c"])
    iso = gpd.GeoDataFrame(
        {"station": [0, 1, 2], "name": ["a", "b", "c"]},
        geometry=stations.to_crs(CRS).buffer(500).to_numpy(),
        crs=CRS,
    )
    for limit, shown in ((3, False), (2, False)):
        m = build_map(stations=stations, isochrones=iso, isochrones_shown_max=limit)
        group = _groups(m)[LAYER_NAMES["isochrones"]]
        assert group.show is shown
        added = f"{group.get_name()}.addTo(" in html_of(m)
        assert added is shown
    with pytest.raises(InputError, match="isochrones_shown_max"):
        build_map(stations=stations, isochrones_shown_max=-1)


def test_choropleth_colours_and_tooltips() -> None:
    districts = gpd.GeoDataFrame(
        {
            "district_code": ["1", "2", "3", "4"],
            "district_name": ["zero", "half", "full", "unknown"],
            "population": [1000, 2000, 3000, 10],
            "covered_population": [0, 1000, 3000, np.nan],
            "coverage_pct": [0.0, 50.0, 100.0, np.nan],
        },
        geometry=[box(113.30 + i * 0.01, 23.10, 113.31 + i * 0.01, 23.11) for i in range(4)],
        crs="EPSG:4326",
    )
    m = build_map(stations=points([TOWER]), districts=districts)
    (layer,) = geojson_layers(html_of(m))
    fills = [f["properties"]["style"]["fillColor"] for f in layer["features"]]
    # viridis: 0 % dark purple, 50 % teal (the middle stop), 100 % yellow; no data grey
    assert fills == ["#450559", "#21918c", "#fde725", "#bdbdbd"]
    tips = [f["properties"]["tip"] for f in layer["features"]]
    assert (
        tips[1]
        == "<b>half (2)</b><br>Coverage: 50.0 %<br>Covered residents: 1,000<br>Residents: 2,000"
    )
    assert tips[3] == "<b>unknown (4)</b><br>Residents: 10"
    assert _groups(m)[LAYER_NAMES["districts"]].show is True
    with pytest.raises(InputError, match="coverage_pct"):
        build_map(stations=points([TOWER]), districts=districts.drop(columns="coverage_pct"))


def test_subdistricts_shown_and_districts_hidden_when_both_given() -> None:
    poly = gpd.GeoDataFrame(
        {"coverage_pct": [10.0]}, geometry=[box(113.3, 23.1, 113.31, 23.11)], crs="EPSG:4326"
    )
    groups = _groups(build_map(stations=points([TOWER]), districts=poly, subdistricts=poly))
    assert groups[LAYER_NAMES["districts"]].show is False
    assert groups[LAYER_NAMES["subdistricts"]].show is True


def test_station_marker_classes_by_type() -> None:
    types = ["community", "rural", "park", "institution", "Park ", None]
    stations = points([(113.30 + i * 0.001, 23.10) for i in range(6)], type=types)
    (rows,) = marker_rows(html_of(build_map(stations=stations)))
    assert [r["cls"] for r in rows] == [
        "sc-station sc-station-community",
        "sc-station sc-station-rural",
        "sc-station sc-station-park",
        "sc-station sc-station-institution",
        "sc-station sc-station-park",
        "sc-station sc-station-other",
    ]
    assert STATION_COLOURS["rural"] in rows[1]["html"]


def test_suggestions_numbered_by_rank_and_coloured_by_phase() -> None:
    suggestions = points(
        [(113.30, 23.10), (113.31, 23.10), (113.32, 23.10)],
        rank=[2, 1, 3],
        phase=["1", "1", "2"],
        added_population=[300.0, 512.5, 100.0],
        cumulative_coverage_pct=[60.04, 55.0, 62.0],
    )
    html = html_of(build_map(stations=points([TOWER]), suggestions=suggestions))
    _stations, sugg = marker_rows(html)
    assert [r["name"] for r in sugg] == ["#1", "#2", "#3"]
    assert [r["lon"] for r in sugg] == [113.31, 113.30, 113.32]
    assert sugg[0]["html"] == f'<div style="background:{PHASE_COLOURS[0]}">1</div>'
    assert sugg[2]["html"] == f'<div style="background:{PHASE_COLOURS[1]}">3</div>'
    assert sugg[1]["popup"] == (
        "<b>Suggested site #2</b><br>Phase: 1<br>Adds residents: 300<br>Coverage after: 60.0 %"
    )
    assert "phase 1\\u003cbr\\u003e" in html  # legend (JSON-encoded HTML)
    assert "phase 2\\u003cbr\\u003e" in html


def test_gap_zones_labelled_with_population_at_centre() -> None:
    square = box(430_000, 2_556_000, 431_000, 2_557_000)  # 1 km², EPSG:4547
    gaps = gpd.GeoDataFrame(
        {
            "zone_id": [7],
            "population": [1234.4],
            "area_km2": [1.0],
            "district_name": ["越秀区"],
            "subdistrict_name": ["北京街"],
        },
        geometry=[square],
        crs=CRS,
    )
    html = html_of(build_map(stations=points([TOWER]), gaps=gaps))
    labels, _stations = marker_rows(html)
    centre = gpd.GeoSeries([Point(430_500, 2_556_500)], crs=CRS).to_crs("EPSG:4326").iloc[0]
    assert labels == [
        {
            "lat": round(centre.y, 6),
            "lon": round(centre.x, 6),
            "cls": "sc-label sc-gap-label",
            "html": "<span>#7 · 1,234</span>",
            "priority": 1e12,  # above every 街道 name in the declutter
            "tip": None,
            "popup": None,
            "name": None,
        }
    ]
    (layer,) = geojson_layers(html)
    assert layer["features"][0]["properties"]["tip"] == (
        "<b>Gap zone 7</b><br>Where: 越秀区 / 北京街<br>Uncovered residents: 1,234<br>"
        "Area: 1.00 km²"
    )


def test_uncovered_heat_map_or_circles() -> None:
    many = points([(113.30 + i * 1e-3, 23.10) for i in range(40)], population=range(40))
    m = build_map(stations=points([TOWER]), uncovered=many)
    heat = _groups(m)[LAYER_NAMES["uncovered"]]
    assert type(heat).__name__ == "_OfflineHeatMap"
    assert len(heat.data) == 39  # the zero-population point is dropped
    assert heat.data[0] == [23.1, 113.301, 1.0]

    few = many.iloc[:5]
    group = _groups(build_map(stations=points([TOWER]), uncovered=few))[LAYER_NAMES["uncovered"]]
    circles = [c for c in group._children.values() if isinstance(c, folium.CircleMarker)]
    radii = [c.options["radius"] for c in circles]
    assert radii == pytest.approx([4 + 12 * np.sqrt(p / 4) for p in (1, 2, 3, 4)])
    with pytest.raises(InputError, match="population"):
        build_map(stations=points([TOWER]), uncovered=many.drop(columns="population"))


def test_subdistrict_names_labelled_by_population() -> None:
    subs = gpd.GeoDataFrame(
        {
            "subdistrict_code": ["a", "b", "c"],
            "subdistrict_name": ["北京街", "<i>x</i>", " "],
            "population": [100, 300, 50],
            "coverage_pct": [10.0, 20.0, 30.0],
        },
        geometry=[
            box(430_000 + 2000 * i, 2_556_000, 431_000 + 2000 * i, 2_557_000) for i in range(3)
        ],
        crs=CRS,
    )
    labels, _stations = marker_rows(html_of(build_map(stations=points([TOWER]), subdistricts=subs)))
    # blank names get no label; names escaped; priority = residents; shown from zoom 12
    assert [(r["html"], r["priority"], r["minzoom"]) for r in labels] == [
        ("<span>北京街</span>", 100.0, 12),
        ("<span>&lt;i&gt;x&lt;/i&gt;</span>", 300.0, 12),
    ]
    assert {r["cls"] for r in labels} == {"sc-label sc-area-label"}
    centre = gpd.GeoSeries([Point(430_500, 2_556_500)], crs=CRS).to_crs("EPSG:4326").iloc[0]
    assert (labels[0]["lat"], labels[0]["lon"]) == (round(centre.y, 6), round(centre.x, 6))


def _luminance(hex_colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_scales_are_sequential_and_in_the_legend() -> None:
    m = _every_layer()
    (html,) = [
        c.content for c in m._children.values() if getattr(c, "css_class", "") == "sc-box sc-legend"
    ]
    # legend: both ramps, Chinese with English
    assert "15 分钟步行覆盖率 Residents within 15-min walk" in html
    assert "未覆盖居民 Uncovered residents" in html
    cov = ["#450559", "#3b528b", "#21918c", "#5ec962", "#fde725"]  # viridis
    unc = ["#fcfdbf", "#fe9f6d", "#de4968", "#8c2981", "#3b0f70"]  # magma, light → dark
    assert f"linear-gradient(to right, {', '.join(cov)})" in html
    assert f"linear-gradient(to right, {', '.join(unc)})" in html
    # sequential: lightness changes one way only, so the order reads without hue (and so for
    # red-green colour-blind readers); no red-green pair as in the old ramp
    lum_cov = [_luminance(c) for c in cov]
    lum_unc = [_luminance(c) for c in unc]
    assert lum_cov == sorted(lum_cov)
    assert len(set(lum_cov)) == 5
    assert lum_unc == sorted(lum_unc, reverse=True)
    assert len(set(lum_unc)) == 5
    # the heat map uses that scale (many points: heat map)
    many = points([(113.30 + i * 1e-3, 23.10) for i in range(40)], population=range(40))
    heat = _groups(build_map(stations=points([TOWER]), uncovered=many))[LAYER_NAMES["uncovered"]]
    assert heat.options["gradient"] == dict(zip([0.2, 0.4, 0.6, 0.8, 1.0], unc, strict=True))


def test_layer_control_lists_every_given_layer() -> None:
    poly = gpd.GeoDataFrame(
        {"coverage_pct": [10.0], "access_per_1000": [2.0]},
        geometry=[box(113.3, 23.1, 113.31, 23.11)],
        crs="EPSG:4326",
    )
    m = build_map(
        stations=points([TOWER]),
        districts=poly,
        subdistricts=poly,
        isochrones=poly,
        service_area=poly.geometry,
        uncovered=points([TOWER], population=[3]),
        gaps=poly,
        suggestions=points([TOWER], rank=[1]),
    )
    assert set(_groups(m)) == {"OpenStreetMap", *LAYER_NAMES.values()}
    html = html_of(m)
    for name in LAYER_NAMES.values():
        assert f"{json.dumps(name)} : feature_group_" in html


def _every_layer(**kw: Any) -> folium.Map:
    poly = gpd.GeoDataFrame(
        {"coverage_pct": [10.0], "station": [0], "name": ["a"], "access_per_1000": [1.0]},
        geometry=[box(113.3, 23.1, 113.31, 23.11)],
        crs="EPSG:4326",
    )
    return build_map(
        stations=points([TOWER], name=["a"], reach_population=[1000]),
        districts=poly,
        subdistricts=poly,
        isochrones=poly,
        service_area=poly.geometry,
        uncovered=points([TOWER], population=[3]),
        gaps=poly,
        suggestions=points([TOWER], rank=[1]),
        **kw,
    )


def test_walking_minutes_in_every_label() -> None:
    assert layer_names() == LAYER_NAMES
    assert LAYER_NAMES["service_area"] == "15-min service area"
    assert layer_names(7.5)["isochrones"] == "7.5-min walk area per station"
    assert layer_names(10)["service_area"] == "10-min service area"

    default = html_of(_every_layer())
    assert "15-min" in default
    assert "Residents within 15 min: 1,000" in default

    m = _every_layer(minutes=10)
    assert set(_groups(m)) == {"OpenStreetMap", *layer_names(10).values()}
    html = html_of(m)
    assert "15-min" not in html
    assert "15 min" not in html
    for label in (
        "10-min service area",
        "10-min walk area per station",
        "Residents within 10-min walk",
        "10-min walking service area",
        "10-min walk area of a station",
        "10-min walk from \\u003cb\\u003ea\\u003c/b\\u003e",
    ):
        assert label in html, label
    (_labels, stations, _suggestions) = marker_rows(html)
    assert "Residents within 10 min: 1,000" in stations[0]["popup"]

    for bad in (0, -5, float("nan"), float("inf"), True, "15"):
        with pytest.raises(InputError, match="minutes must be a number > 0"):
            build_map(stations=points([TOWER]), minutes=bad)  # type: ignore[arg-type]
        with pytest.raises(InputError, match="minutes"):
            layer_names(bad)  # type: ignore[arg-type]


def test_note_is_shown_under_the_title_escaped(tower_station: gpd.GeoDataFrame) -> None:
    plain = html_of(build_map(stations=tower_station, title="T"))
    assert title_box(plain) == '<div class="sc-title">T</div>'
    note = "Illustrative stations, <b>not</b> the official list & co"
    html = html_of(build_map(stations=tower_station, title="T", note=f"  {note} "))
    assert title_box(html) == (
        '<div class="sc-title">T</div><div class="sc-note">'
        "Illustrative stations, &lt;b&gt;not&lt;/b&gt; the official list &amp; co</div>"
    )
    assert "<b>not</b>" not in html
    assert html_of(build_map(stations=tower_station, title="T", note="  ")) == plain
    with pytest.raises(InputError, match="note must be a string"):
        build_map(stations=tower_station, note=3)  # type: ignore[arg-type]


def _output_folder(folder: Path, summary: bytes | None) -> Path:
    folder.mkdir()
    points([TOWER], name=["a"], reach_population=[1000]).to_file(
        folder / "stations.geojson", driver="GeoJSON"
    )
    gpd.GeoDataFrame(
        {"station": [0], "name": ["a"]},
        geometry=[box(113.3, 23.1, 113.31, 23.11)],
        crs="EPSG:4326",
    ).to_file(folder / "isochrones.geojson", driver="GeoJSON")
    if summary is not None:
        (folder / "summary.json").write_bytes(summary)
    return folder


def test_map_from_dir_reads_minutes_and_note_from_summary(
    tmp_path: Path, make_summary: Any
) -> None:
    s = make_summary(minutes=10, note="Illustrative <b>only</b>")
    summary = json.dumps(s.to_json(), ensure_ascii=False)
    folder = _output_folder(tmp_path / "out", summary.encode())
    m = map_from_dir(folder)
    assert set(_groups(m)) == {
        "OpenStreetMap",
        layer_names(10)["isochrones"],
        layer_names(10)["stations"],
    }
    html = html_of(m)
    assert "15-min" not in html
    assert "10-min walk area of a station" in html
    # no districts.geojson: the walk and speed only; the subtitle in English
    assert title_box(html) == (
        '<div class="sc-title">10 分钟步行 · 4 km/h</div>'
        '<div class="sc-subtitle">10-min walk at 4 km/h · 3 stations</div>'
        '<div class="sc-note">Illustrative &lt;b&gt;only&lt;/b&gt;</div>'
    )
    # The keyword wins over summary.json.
    assert title_box(html_of(map_from_dir(folder, title="T", note="Other"))) == (
        '<div class="sc-title">T</div><div class="sc-note">Other</div>'
    )


def test_map_title_names_the_districts_and_the_settings(tmp_path: Path, make_summary: Any) -> None:
    s = make_summary(minutes=12.5, speed_kmh=3.0, stations=2)
    folder = _output_folder(tmp_path / "out", json.dumps(s.to_json()).encode())
    names = ["甲区", "乙区", None, "甲区"]
    gpd.GeoDataFrame(
        {"district_code": ["1", "2", "3", "1"], "district_name": names, "coverage_pct": 5.0},
        geometry=[box(113.3 + i * 0.01, 23.1, 113.31 + i * 0.01, 23.11) for i in range(4)],
        crs="EPSG:4326",
    ).to_file(folder / "districts.geojson", driver="GeoJSON")
    assert map_titles(folder) == (
        "甲区、乙区 · 12.5 分钟步行 · 3 km/h",
        "12.5-min walk at 3 km/h · 2 stations",
    )
    html = html_of(map_from_dir(folder))
    assert "<title>甲区、乙区 · 12.5 分钟步行 · 3 km/h</title>" in html
    assert "15" not in title_box(html)
    # more than three districts: the first three and the count
    many = [f"{c}区" for c in "甲乙丙丁"]
    gpd.GeoDataFrame(
        {"district_code": list("1234"), "district_name": many, "coverage_pct": 5.0},
        geometry=[box(113.3 + i * 0.01, 23.1, 113.31 + i * 0.01, 23.11) for i in range(4)],
        crs="EPSG:4326",
    ).to_file(folder / "districts.geojson", driver="GeoJSON")
    assert map_titles(folder)[0] == "甲区、乙区、丙区 等 4 区 · 12.5 分钟步行 · 3 km/h"
    # no readable summary: the folder's name, no subtitle
    (folder / "summary.json").write_text("{}")
    assert map_titles(folder) == ("skillcircle · out", None)


@pytest.mark.parametrize(
    "summary",
    [
        None,
        b"{not json",
        b"[1, 2]",
        b'{"minutes": "ten", "note": 5}',
        b'{"minutes": 10}',  # not a whole summary
        "minutes=-1",
        b"\xff{",
    ],
)
def test_map_from_dir_defaults_to_15_minutes(
    tmp_path: Path, summary: bytes | str | None, make_summary: Any
) -> None:
    if isinstance(summary, str):  # a whole summary with an unusable walking time
        summary = json.dumps(make_summary(minutes=-1.0).to_json()).encode()
    m = map_from_dir(_output_folder(tmp_path / "out", summary), title="T")
    assert LAYER_NAMES["isochrones"] in _groups(m)
    html = html_of(m)
    assert "15-min walk area of a station" in html
    assert title_box(html) == '<div class="sc-title">T</div>'


# ------------------------------------------------------------------------------------------
# size and input checks


def test_file_size_stays_small_for_hundreds_of_polygons(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform([420_000, 2_550_000], [440_000, 2_570_000], (300, 2))
    stations = gpd.GeoDataFrame(
        {
            "name": [f"站点{i}" for i in range(300)],
            "type": "community",
            "district_name": "越秀区",
            "reach_population": 1000,
            "next_station_m": 800.0,
        },
        geometry=[Point(x, y) for x, y in xy],
        crs=CRS,
    )
    iso = gpd.GeoDataFrame(
        {"station": range(300), "name": stations["name"]},
        geometry=stations.buffer(700, quad_segs=32).to_numpy(),  # 129 vertices each
        crs=CRS,
    )
    layers = {"stations": stations, "isochrones": iso, "service_area": iso.union_all()}
    layers["service_area"] = gpd.GeoSeries([layers["service_area"]], crs=CRS)
    raw = write_map(build_map(**layers, simplify_m=0), tmp_path / "raw.html").stat().st_size
    size = write_map(build_map(**layers), tmp_path / "map.html").stat().st_size
    assert size < 1_500_000  # budget: 1.5 MB for 300 stations + 300 walking areas + union
    assert size < 0.7 * raw  # the 2 m display simplification pays
    text = (tmp_path / "map.html").read_text(encoding="utf-8")
    coords = re.findall(r"\[(1\d\d\.\d+), (2\d\.\d+)\]", text)
    assert len(coords) > 1000
    assert max(len(c.split(".")[1]) for pair in coords for c in pair) == 6


def test_bad_layers_raise_input_error() -> None:
    with pytest.raises(InputError, match="no CRS"):
        build_map(stations=gpd.GeoDataFrame(geometry=[Point(0, 0)]))
    with pytest.raises(InputError, match="stations are required"):
        build_map(stations=None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be a GeoDataFrame, got DataFrame"):
        build_map(stations=points([TOWER]), gaps=pd.DataFrame({"a": [1]}))
    with pytest.raises(
        InputError, match="gaps must hold MultiPolygon or Polygon geometries, found Point"
    ):
        build_map(stations=points([TOWER]), gaps=points([TOWER]))
    with pytest.raises(InputError, match="simplify_m"):
        build_map(stations=points([TOWER]), simplify_m=-1)


def test_features_without_geometry_are_left_off(caplog: pytest.LogCaptureFixture) -> None:
    stations = gpd.GeoDataFrame(
        {"name": ["a", "b"]}, geometry=[Point(TOWER), None], crs="EPSG:4326"
    )
    with caplog.at_level("INFO", logger="skillcircle.outputs.webmap"):
        (rows,) = marker_rows(html_of(build_map(stations=stations)))
    assert [r["name"] for r in rows] == ["a"]
    assert "1 feature(s) without geometry" in caplog.text


def test_input_frames_are_not_modified(tower_station: gpd.GeoDataFrame) -> None:
    projected = tower_station.to_crs(CRS)
    before = projected.copy()
    build_map(stations=projected, basemap="amap")
    assert projected.crs == before.crs
    assert projected.geom_equals_exact(before, tolerance=0).all()


def test_only_the_most_populous_gap_zones_are_labelled() -> None:
    n = GAP_LABELS_MAX + 5
    gaps = gpd.GeoDataFrame(
        {"zone_id": np.arange(1, n + 1), "population": np.arange(n, 0, -1) * 100.0},
        geometry=[
            box(430_000 + 300 * i, 2_556_000, 430_200 + 300 * i, 2_556_200) for i in range(n)
        ],
        crs=CRS,
    )
    labels, _stations = marker_rows(html_of(build_map(stations=points([TOWER]), gaps=gaps)))
    shown = sorted(lab["html"] for lab in labels)
    assert len(labels) == GAP_LABELS_MAX == 10
    # zone k holds (n + 1 - k) * 100 residents: zones 1-10 are labelled, number and residents
    assert shown == sorted(f"<span>#{k} · {(n + 1 - k) * 100:,}</span>" for k in range(1, 11))


def _map_view(html: str) -> tuple[list[float], int]:
    """The ``center`` and ``zoom`` the page's map is created with."""
    created = html[html.index("L.map(") :]
    centre = re.search(r"center: \[([-\d.]+), ([-\d.]+)\]", created)
    zoom = re.search(r'"zoom": (\d+)', created)
    assert centre
    assert zoom
    return [float(centre.group(1)), float(centre.group(2))], int(zoom.group(1))


def test_empty_map_opens_on_the_given_centre_or_the_world() -> None:
    empty = points([])
    assert _map_view(html_of(build_map(stations=empty))) == ([20.0, 0.0], 2)
    assert _map_view(html_of(build_map(stations=empty, centre=(48.85, 2.35)))) == (
        [48.85, 2.35],
        11,
    )


def test_map_with_data_opens_on_its_data() -> None:
    two = points([(10.0, 50.0), (10.2, 50.4)], name=["a", "b"])
    (lat, lon), _ = _map_view(html_of(build_map(stations=two, centre=(0.0, 0.0))))
    assert (lat, lon) == pytest.approx((50.2, 10.1))
    assert "fitBounds" in html_of(build_map(stations=two))


# ------------------------------------------------------------------------------------------
# accessibility layer (issue 13): 街道 by trainings per 1 000, stations sized by supply ratio


def test_access_layer_colours_sizes_and_legend() -> None:
    areas = gpd.GeoDataFrame(
        {
            "subdistrict_code": ["001", "002"],
            "subdistrict_name": ["甲街道", "乙街道"],
            "coverage_pct": [40.0, 60.0],
            "access_per_1000": [0.5, 3.0],
            "group_population": [1000.0, 2000.0],
            "group_covered_population": [400.0, 1200.0],
            "group_label": ["working-age residents <15-59>"] * 2,
        },
        geometry=[box(113.30, 23.10, 113.31, 23.11), box(113.31, 23.10, 113.32, 23.11)],
        crs="EPSG:4326",
    )
    stations = points(
        [(113.301, 23.101), (113.311, 23.101), (113.315, 23.105)],
        name=["over", "spare", "nobody"],
        capacity_used=[100.0, 500.0, 50.0],
        trainings_wanted=[200.0, 200.0, 0.0],
        supply_ratio=[0.5, 2.5, np.nan],
        oversubscribed=[True, False, False],
    )
    m = build_map(stations=stations, subdistricts=areas)
    group = _groups(m)[LAYER_NAMES["access"]]
    assert group.show is False  # off at load: the map opens on coverage
    html = html_of(m)
    # the access layer's markers come before the station markers
    access_rows = next(r for r in marker_rows(html) if r and "sc-access-station" in r[0]["cls"])
    by_name = {r["name"]: r for r in access_rows}
    # diameter 8 px at ratio 0, 30 px at ratio 2 or more, linear between
    assert "width:13.5px" in by_name["over"]["html"]  # 8 + 22 * 0.5 / 2
    assert "width:30.0px" in by_name["spare"]["html"]  # ratio 2.5, capped at 2
    assert "width:8.0px" in by_name["nobody"]["html"]
    assert by_name["over"]["cls"] == "sc-access-station sc-oversubscribed"
    assert "#d7301f" in by_name["over"]["html"]
    assert "#1a9850" in by_name["spare"]["html"]
    assert "#969696" in by_name["nobody"]["html"]
    assert "Supply ratio (capacity / wanted): 0.50" in by_name["over"]["tip"]
    assert "Wanted within 15 min: 200" in by_name["over"]["tip"]
    # 街道 filled on a 0-5 scale (3.0 rounded up to 5): the darker one has more access
    polys = geojson_layers(html)
    access_polys = polys[-1]["features"]
    tips = [f["properties"]["tip"] for f in access_polys]
    assert "per 1 000 residents within reach: 3.0" in tips[1]
    assert "Residents counted: working-age residents &lt;15-59&gt;" in tips[1]  # data: escaped
    assert "Of them, in the area: 2,000" in tips[1]
    assert "... within 15 min of a station: 1,200" in tips[1]
    fills = [f["properties"]["style"]["fillColor"] for f in access_polys]
    assert fills[0] != fills[1]
    assert _access_ceiling(areas["access_per_1000"]) == 5.0
    assert _access_ceiling([0.5, 12.0, None]) == 20.0
    assert _access_ceiling([0.0]) == 1.0
    legend = _legend_html(
        coverage=False, station_types=set(), phases={}, layers=set(), minutes="15", access_max=5.0
    )
    assert "<h4>可达性 Trainings a year per 1 000 residents within reach</h4>" in legend
    assert "<span>0</span><span>2.5</span><span>5</span>" in legend


def test_no_access_layer_without_capacity() -> None:
    poly = gpd.GeoDataFrame(
        {"coverage_pct": [10.0]}, geometry=[box(113.3, 23.1, 113.31, 23.11)], crs="EPSG:4326"
    )
    m = build_map(stations=points([TOWER]), subdistricts=poly)
    assert LAYER_NAMES["access"] not in _groups(m)
