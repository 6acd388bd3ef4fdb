"""The web map in a real headless Chromium, offline, opened from ``file://``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``); skipped when ``/usr/bin/chromium`` is absent.

:func:`check_map_in_browser` holds every check so that other maps (the Yuexiu demo's
``map.html``) can be put through the same tests.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point, box

from skillcircle.access.coverage import compute_coverage
from skillcircle.outputs.webmap import LAYER_NAMES, build_map, write_map

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Base-map tile hosts: their failed image loads are expected offline.
TILE_HOSTS = ("openstreetmap.org", "autonavi.com", "tianditu.gov.cn")
XSS = "<img src=x onerror=alert(1)>"
NAMES = ["Alpha 站", "Beta", XSS, "Delta & Co", "Epsilon"]
REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium "
        "chromium-driver)",
    ),
]

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# ------------------------------------------------------------------------------------------
# browser helpers


def start_chromium(user_data_dir: Path, *, size: tuple[int, int] = (1280, 900)) -> Any:
    """A headless Chromium that stays off the (closed) network and keeps console logs."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--window-size={size[0]},{size[1]}",
        f"--user-data-dir={user_data_dir}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Leave alert() dialogs open so that the test can see them.
    options.set_capability("unhandledPromptBehavior", "ignore")
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    return webdriver.Chrome(options=options, service=service)


def set_viewport(driver: Any, size: tuple[int, int]) -> None:
    """Make the page itself ``size`` (``--window-size`` counts the window's frame too)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
    )


def _is_tile_failure(entry: dict[str, Any], tile_hosts: Sequence[str]) -> bool:
    """A console error about a base-map tile image that could not be fetched."""
    first = str(entry.get("message", "")).split(" ", 1)[0]
    host = urlparse(first).hostname or ""
    return any(host == h or host.endswith("." + h) for h in tile_hosts)


def _distinct_colours(png: Path) -> int:
    """Number of distinct RGB colours in a PNG (PIL when available, else -1)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow comes with matplotlib
        return -1
    with Image.open(png) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 24)
    return len(colours or [])


def _wait_until_still(driver: Any, timeout_s: float) -> None:
    """Wait until the initial zoom animation is over (markers stop moving)."""
    rects = (
        "return JSON.stringify(Array.from(document.querySelectorAll('.leaflet-marker-icon'))"
        ".map(function (e) { var r = e.getBoundingClientRect(); return [r.x, r.y]; }));"
    )
    deadline = time.monotonic() + timeout_s
    before = driver.execute_script(rects)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = driver.execute_script(rects)
        if now == before:
            return
        before = now
    raise AssertionError("the map kept moving")


def check_map_in_browser(
    path: str | os.PathLike[str],
    *,
    expected_layers: Sequence[str],
    n_stations: int,
    click_name: str,
    driver: Any = None,
    screenshot: str | os.PathLike[str] | None = None,
    min_colours: int = 32,
    tile_hosts: Sequence[str] = TILE_HOSTS,
    timeout_s: float = 20.0,
) -> dict[str, Any]:
    """Open a skillcircle ``map.html`` offline and check it like a planner would.

    Asserts: no console error except failed base-map tile loads; the layer control lists
    exactly ``expected_layers``; there are ``n_stations`` station markers; hovering the station
    called ``click_name`` shows its name in a tooltip and clicking it shows the name in its
    popup, as literal text (no element injected, no ``alert``); the screenshot is not blank.

    Returns
    -------
    dict
        ``layers``, ``n_stations``, ``tooltips`` (texts of the open tooltips),
        ``popup_text``, ``popup_html``, ``console`` (all entries), ``errors`` (unexpected
        SEVERE entries), ``screenshot``, ``colours``.
    """
    own = driver is None
    tmp = Path(tempfile.mkdtemp(prefix="sc-chromium-")) if own else None
    if own:
        driver = start_chromium(tmp)  # type: ignore[arg-type]
    try:
        driver.get_log("browser")  # drain what earlier pages left
        driver.get(Path(path).resolve().as_uri())
        wait = WebDriverWait(driver, timeout_s)
        wait.until(
            lambda d: d.execute_script(
                "return document.readyState === 'complete' && typeof L !== 'undefined' &&"
                " document.querySelector('.leaflet-control-layers') !== null"
            )
        )
        _wait_until_still(driver, timeout_s)
        out: dict[str, Any] = {}
        out["layers"] = driver.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-control-layers label'))"
            ".map(function (l) { return l.textContent.trim(); });"
        )
        assert sorted(out["layers"]) == sorted(expected_layers), out["layers"]

        # The initial view, before any hover or click.
        if screenshot is not None:
            shot = Path(screenshot)
            shot.parent.mkdir(parents=True, exist_ok=True)
            assert driver.save_screenshot(str(shot))
            out["screenshot"] = shot
            out["colours"] = _distinct_colours(shot)
            if out["colours"] >= 0:
                assert out["colours"] > min_colours
            else:  # pragma: no cover
                assert shot.stat().st_size > 20_000

        markers = driver.find_elements(By.CSS_SELECTOR, ".sc-station")
        out["n_stations"] = len(markers)
        assert out["n_stations"] == n_stations

        marker = next((m for m in markers if m.get_attribute("data-sc-name") == click_name), None)
        assert marker is not None, f"no station marker named {click_name!r}"
        # Pan the marker to the map centre so no control covers it.
        driver.execute_script(
            """
            var el = arguments[0];
            var box = document.querySelector('.folium-map');
            var map = window[box.id];
            var r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
            map.panBy([r.left + r.width / 2 - (b.left + b.width / 2),
                       r.top + r.height / 2 - (b.top + b.height / 2)], {animate: false});
            """,
            marker,
        )
        _wait_until_still(driver, timeout_s)
        ActionChains(driver).move_to_element(marker).perform()
        read_tooltips = (
            "return Array.from(document.querySelectorAll('.leaflet-tooltip'))"
            ".map(function (t) { return t.innerText.trim(); });"
        )
        wait.until(lambda d: click_name.strip() in d.execute_script(read_tooltips))
        out["tooltips"] = driver.execute_script(read_tooltips)

        marker.click()
        popup = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-popup-content"))
        read_popup = (
            "var p = document.querySelector('.leaflet-popup-content'); return p ? p.innerText : '';"
        )
        wait.until(lambda d: d.execute_script(read_popup).strip())
        out["popup_text"] = driver.execute_script(read_popup)
        out["popup_html"] = popup.get_attribute("innerHTML")
        assert click_name.strip() in out["popup_text"]
        assert popup.find_elements(By.CSS_SELECTOR, "*:not(b):not(br)") == []
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert  # noqa: B018  (property access is the check)
        injected = driver.execute_script(
            "return document.querySelectorAll('img[src=\"x\"], script[src]').length;"
        )
        assert injected == 0

        out["console"] = driver.get_log("browser")
        out["errors"] = [
            e
            for e in out["console"]
            if e["level"] == "SEVERE" and not _is_tile_failure(e, tile_hosts)
        ]
        assert out["errors"] == []
        return out
    finally:
        if own:
            driver.quit()
            shutil.rmtree(tmp, ignore_errors=True)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# a small synthetic map: 3 districts, 5 stations, walking areas, gaps, 3 suggestions

CRS = "EPSG:4547"


def synthetic_layers() -> dict[str, gpd.GeoDataFrame]:
    """Layers around Canton Tower, in EPSG:4547 (the map converts them)."""
    tower = gpd.GeoSeries([Point(113.3245, 23.1064)], crs="EPSG:4326").to_crs(CRS).iloc[0]
    x0, y0 = tower.x, tower.y
    districts = gpd.GeoDataFrame(
        {
            "district_code": ["440103", "440104", "440105"],
            "district_name": ["荔湾区", "越秀<区>", "海珠区"],
            "population": [1000, 2000, 3000],
            "covered_population": [500, 1500, 300],
            "coverage_pct": [50.0, 75.0, 10.0],
        },
        geometry=[
            box(x0 - 3000 + i * 2000, y0 - 1200, x0 - 1000 + i * 2000, y0 + 1200) for i in range(3)
        ],
        crs=CRS,
    )
    points = [Point(x0 - 2500 + i * 1200, y0 + (i % 2) * 400) for i in range(5)]
    stations = gpd.GeoDataFrame(
        {
            "name": NAMES,
            "type": ["community", "rural", "park", "institution", "community"],
            "district_name": ["荔湾区", "荔湾区", "越秀<区>", "海珠区", "海珠区"],
            "reach_population": [100, 200, 300, 400, 500],
            "next_station_m": [1200.0, 1264.9, 1264.9, 1264.9, 1264.9],
        },
        geometry=points,
        crs=CRS,
    )
    isochrones = gpd.GeoDataFrame(
        {"station": range(5), "name": NAMES}, geometry=[p.buffer(700) for p in points], crs=CRS
    )
    service_area = gpd.GeoDataFrame(geometry=[isochrones.union_all()], crs=CRS)
    gaps = gpd.GeoDataFrame(
        {
            "zone_id": [1, 2],
            "population": [1234.4, 56.0],
            "area_km2": [0.27, 0.16],
            "district_name": ["荔湾区", "海珠区"],
            "subdistrict_name": ["沙面街", "<b>x</b>"],
        },
        geometry=[
            box(x0 - 2900, y0 - 1150, x0 - 2000, y0 - 850),
            box(x0 + 2500, y0 + 700, x0 + 2900, y0 + 1100),
        ],
        crs=CRS,
    )
    rng = np.random.default_rng(7)
    uncovered = gpd.GeoDataFrame(
        {"population": rng.integers(1, 50, 60)},
        geometry=[
            Point(x0 + dx, y0 + dy) for dx, dy in rng.uniform([-2900, -1150], [2900, -800], (60, 2))
        ],
        crs=CRS,
    )
    suggestions = gpd.GeoDataFrame(
        {
            "rank": [2, 1, 3],
            "phase": [1, 1, 2],
            "added_population": [300, 500, 100],
            "cumulative_coverage_pct": [60.0, 55.0, 62.0],
        },
        geometry=[Point(x0 + 2200, y0 + 1000), Point(x0 - 1700, y0 - 1000), Point(x0, y0 - 900)],
        crs=CRS,
    )
    return {
        "stations": stations,
        "districts": districts,
        "isochrones": isochrones,
        "service_area": service_area,
        "gaps": gaps,
        "uncovered": uncovered,
        "suggestions": suggestions,
    }


EXPECTED_OVERLAYS = [
    LAYER_NAMES[k]
    for k in (
        "districts",
        "service_area",
        "isochrones",
        "uncovered",
        "gaps",
        "stations",
        "suggestions",
    )
]
BASE_LAYER = {"osm": "OpenStreetMap", "amap": "AMap 高德地图"}


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # the planner's screen of the issue (and of docs/map.png): 1400 x 1000
    d = start_chromium(tmp_path_factory.mktemp("chromium-profile"), size=(1400, 1000))
    set_viewport(d, (1400, 1000))
    yield d
    d.quit()


@pytest.fixture(scope="module", params=["osm", "amap"])
def map_file(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    m = build_map(
        **synthetic_layers(), basemap=request.param, title="Test <map>", note="Not <b>official</b>"
    )
    return request.param, write_map(m, tmp_path_factory.mktemp("map") / "map.html")


def test_map_works_offline(driver: Any, map_file: tuple[str, Path]) -> None:
    basemap, path = map_file
    out = check_map_in_browser(
        path,
        expected_layers=[BASE_LAYER[basemap], *EXPECTED_OVERLAYS],
        n_stations=5,
        click_name="Beta",
        driver=driver,
    )
    assert out["n_stations"] == 5
    lines = out["popup_text"].splitlines()
    assert lines == [
        "Beta",
        "Type: rural",
        "District: 荔湾区",
        "Residents within 15 min: 200",
        "Nearest other station: 1,265 m",
    ]
    assert out["errors"] == []


def test_hostile_station_name_stays_text(driver: Any, map_file: tuple[str, Path]) -> None:
    basemap, path = map_file
    out = check_map_in_browser(
        path,
        expected_layers=[BASE_LAYER[basemap], *EXPECTED_OVERLAYS],
        n_stations=5,
        click_name=XSS,
        driver=driver,
    )
    assert out["popup_text"].splitlines()[0] == XSS
    assert XSS in out["tooltips"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in out["popup_html"]
    assert "<img" not in out["popup_html"]


def test_page_title_and_suggestion_numbers(driver: Any, map_file: tuple[str, Path]) -> None:
    _, path = map_file
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".sc-suggestion"))
    assert driver.title == "Test <map>"
    numbers = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".sc-suggestion")]
    assert numbers == ["1", "2", "3"]  # drawn in rank order
    # gap zones are off at load: no label until the planner turns the layer on
    assert driver.find_elements(By.CSS_SELECTOR, ".sc-gap-label") == []
    driver.execute_script(
        "for (const l of document.querySelectorAll('.leaflet-control-layers-overlays label')) {"
        "  if (l.textContent.includes(arguments[0])) { l.querySelector('input').click(); }"
        "}",
        LAYER_NAMES["gaps"],
    )
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".sc-gap-label")]
    assert labels == ["#1 · 1,234", "#2 · 56"]
    title = driver.find_element(By.CSS_SELECTOR, ".sc-title")
    assert title.text == "Test <map>"
    note = driver.find_element(By.CSS_SELECTOR, ".sc-note")
    assert note.text == "Not <b>official</b>"  # shown as text, under the title
    assert note.location["y"] >= title.location["y"] + title.size["height"]


def test_screenshot_is_not_blank(driver: Any, tmp_path: Path) -> None:
    m = build_map(**synthetic_layers(), title="skillcircle — synthetic test map")
    path = write_map(m, tmp_path / "map.html")
    out = check_map_in_browser(
        path,
        expected_layers=["OpenStreetMap", *EXPECTED_OVERLAYS],
        n_stations=5,
        click_name="Alpha 站",
        driver=driver,
        screenshot=tmp_path / "map.png",
    )
    assert out["screenshot"].stat().st_size > 10_000
    assert out["colours"] > 32


@pytest.mark.data
def test_the_yuexiu_demo_map(driver: Any, yuexiu_demo: Any, tmp_path: Path) -> None:
    """The demo's own map.html, opened from disk: every layer, every station, a real popup."""
    out_dir = yuexiu_demo.files["map.html"].parent
    stations = gpd.read_file(out_dir / "stations.geojson")
    name = str(stations["name"].iloc[0])
    out = check_map_in_browser(
        yuexiu_demo.files["map.html"],
        expected_layers=[
            "OpenStreetMap",
            *list(LAYER_NAMES.values())[:6],
            "步行时间 Walk time to nearest station",
            *list(LAYER_NAMES.values())[6:],
        ],
        n_stations=len(stations),
        click_name=name,
        driver=driver,
        screenshot=tmp_path / "yuexiu.png",
    )
    assert out["n_stations"] == len(stations) == 21
    assert out["errors"] == []
    lines = out["popup_text"].splitlines()
    assert lines[0] == name
    reach = f"{stations['reach_population'].iloc[0]:,.0f}"
    assert f"Residents within 15 min: {reach}" in lines
    numbers = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".sc-suggestion")]
    assert numbers == [str(i) for i in range(1, 11)]
    # titled after the study and its settings (not the folder, no fixed "15")
    summary = yuexiu_demo.analysis.summary
    title = driver.find_element(By.CSS_SELECTOR, ".sc-title").text
    assert title == f"越秀区 · {summary.minutes:g} 分钟步行 · {summary.speed_kmh:g} km/h"
    assert title == "越秀区 · 15 分钟步行 · 4 km/h"
    subtitle = driver.find_element(By.CSS_SELECTOR, ".sc-subtitle").text
    assert subtitle == "15-min walk at 4 km/h · 21 stations"
    assert driver.title == title
    if os.environ.get("SKILLCIRCLE_UPDATE_SCREENSHOT") == "1":  # refresh the README picture
        from PIL import Image

        shot = Image.open(out["screenshot"]).convert("RGB")
        shot.quantize(colors=128).save(REPO / "docs" / "map.png", optimize=True)


# ------------------------------------------------------------------------------------------
# walk-time grid and click-anywhere lookup (Yuexiu demo)

POPUP = re.compile(r"最近站点 nearest: (.+) · 步行 (\d+) 分钟 \(([\d,]+) m\)")


@pytest.fixture(scope="module")
def chromium_small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    d = start_chromium(tmp_path_factory.mktemp("chromium"), size=(1024, 700))
    set_viewport(d, (1024, 700))
    yield d
    d.quit()


def _engine_distance(analysis: Any, points: gpd.GeoSeries) -> tuple[np.ndarray, list[str]]:
    """The coverage engine's walking distance and nearest station for residents at points."""
    units = gpd.GeoDataFrame(
        {"population": np.ones(len(points))}, geometry=points.to_numpy(), crs=points.crs
    )
    head = analysis.headline
    cov = compute_coverage(
        analysis.inputs.network,
        head.stations,
        units,
        settings=analysis.inputs.settings,
        stations_snapped=head.stations_snapped,
    )
    names = head.stations["name"].to_numpy()
    return cov.units["distance_m"].to_numpy(), [str(names[i]) for i in cov.units["nearest_station"]]


def test_demo_map_size_and_grid(yuexiu_demo: Any) -> None:
    """The map stays within 2 MB; the grid has ≤ 100 m cells and names real stations."""
    html = yuexiu_demo.files["map.html"]
    assert html.stat().st_size <= 2 * 1024 * 1024
    cells = gpd.read_parquet(html.parent / "walk_grid.parquet")
    side = np.sqrt(cells.geometry.area.to_numpy())
    assert np.allclose(side, 100.0)
    names = set(yuexiu_demo.analysis.headline.stations["name"])
    assert set(cells["name"].dropna()) <= names


def test_click_anywhere_gives_the_engine_distance(chromium_small: Any, yuexiu_demo: Any) -> None:
    """Three clicks: the popup names the engine's nearest station, its walk within one cell."""
    analysis = yuexiu_demo.analysis
    chromium_small.get(yuexiu_demo.files["map.html"].resolve().as_uri())
    time.sleep(2.0)
    map_id = chromium_small.execute_script("return document.querySelector('.folium-map').id;")
    # three points around three stations (≈ 300-600 m away), all inside Yuexiu
    st = analysis.headline.stations.to_crs(4326)
    picks = [(0, 0.003, 0.002), (5, -0.004, 0.001), (12, 0.002, -0.005)]
    cells = gpd.read_parquet(yuexiu_demo.files["map.html"].parent / "walk_grid.parquet")
    checked = 0
    for i, dx, dy in picks:
        lon, lat = st.geometry.iloc[i].x + dx, st.geometry.iloc[i].y + dy
        here = gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(cells.crs)
        cell = cells.loc[cells.contains(here.iloc[0])]
        assert len(cell) == 1
        col, row = int(cell["col"].iloc[0]), int(cell["row"].iloc[0])
        near = cells.loc[(abs(cells["col"] - col) <= 1) & (abs(cells["row"] - row) <= 1)]
        # the engine at the clicked point and at the centres of its cell and the 8 around it
        probes = gpd.GeoSeries([here.iloc[0], *near.geometry.centroid], crs=cells.crs)
        dist, names = _engine_distance(analysis, probes)
        chromium_small.execute_script(
            f"var m = window['{map_id}']; m.setView([{lat}, {lon}], 16, {{animate: false}});"
            f"m.fire('click', {{latlng: L.latLng({lat}, {lon})}});"
        )
        time.sleep(0.3)
        text = chromium_small.find_element(By.CSS_SELECTOR, ".sc-walk-popup").text
        got = POPUP.fullmatch(text)
        assert got, text
        metres = float(got.group(3).replace(",", ""))
        centre = next(
            k
            for k, (c, r) in enumerate(zip(near["col"], near["row"], strict=True))
            if (c, r) == (col, row)
        )
        # the popup is the engine's distance at the centre of the clicked cell (to the metre)
        assert abs(metres - dist[1 + centre]) <= 0.5, (text, dist[1 + centre])
        assert got.group(1) == names[1 + centre]
        # and the engine's distance at the clicked point is within one grid cell's values
        assert dist[1:].min() - 1 <= dist[0] <= dist[1:].max() + 1, (dist[0], dist[1:])
        speed = analysis.headline.speed_kmh * 1000 / 60
        assert int(got.group(2)) == round(metres / speed)
        checked += 1
    assert checked == 3
    errors = [
        e
        for e in chromium_small.get_log("browser")
        if e["level"] == "SEVERE" and not _is_tile_failure(e, ("openstreetmap.org",))
    ]
    assert errors == []


def test_default_layers(chromium_small: Any, yuexiu_demo: Any) -> None:
    """At load only the 街道 choropleth, stations and suggested sites are on."""
    chromium_small.get(yuexiu_demo.files["map.html"].resolve().as_uri())
    time.sleep(2.0)
    rows = chromium_small.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(function (l) { return [l.textContent.trim(), l.querySelector('input').checked]; });"
    )
    on = sorted(name for name, checked in rows if checked)
    assert on == sorted(
        ["Sub-district coverage (街道)", "Stations (技能加油站)", "Suggested sites"]
    )
    assert "步行时间 Walk time to nearest station" in [name for name, _ in rows]


@pytest.fixture(scope="module")
def chromium_large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    d = start_chromium(tmp_path_factory.mktemp("chromium-large"), size=(1920, 1080))
    set_viewport(d, (1920, 1080))
    yield d
    d.quit()


VISIBLE_LABELS = """
return Array.from(document.querySelectorAll('.sc-label')).filter(function (el) {
    return getComputedStyle(el).visibility !== 'hidden';
}).map(function (el) {
    var r = (el.firstElementChild || el).getBoundingClientRect();
    return [el.className, el.textContent, r.left, r.top, r.right, r.bottom];
});
"""


MARKERS = """
return Array.from(document.querySelectorAll('.sc-station, .sc-suggestion')).map(function (el) {
    var r = el.getBoundingClientRect();
    return ['marker', 'marker', r.left, r.top, r.right, r.bottom];
});
"""


def _labels_after_declutter(driver: Any, zoom: int | None = None) -> list[Any]:
    """Visible label boxes once the declutter script has run (at ``zoom`` if given)."""
    map_id = driver.execute_script("return document.querySelector('.folium-map').id;")
    if zoom is not None:
        driver.execute_script(
            f"document.getElementById('{map_id}').removeAttribute('data-sc-decluttered');"
            f"window['{map_id}'].setZoom({zoom}, {{animate: false}});"
        )
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script(
            f"return document.getElementById('{map_id}').hasAttribute('data-sc-decluttered');"
        )
    )
    time.sleep(0.2)
    return driver.execute_script(VISIBLE_LABELS)


def _overlaps(boxes: list[Any]) -> list[tuple[str, str]]:
    """Pairs of label texts whose boxes overlap (touching edges do not count)."""
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a[2] < b[4] and b[2] < a[4] and a[3] < b[5] and b[3] < a[5]:
                out.append((a[1], b[1]))
    return out


@pytest.mark.data
@pytest.mark.parametrize("size", ["1024x700", "1920x1080"])
def test_labels_never_collide(
    size: str, chromium_small: Any, chromium_large: Any, yuexiu_demo: Any
) -> None:
    """街道 names and gap labels: measured boxes never overlap, at load and zoomed in."""
    driver = chromium_small if size == "1024x700" else chromium_large
    driver.get(yuexiu_demo.files["map.html"].resolve().as_uri())
    _wait_until_still(driver, 20.0)
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    assert f"{width}x{height}" == size
    subdistricts = gpd.read_file(yuexiu_demo.files["map.html"].parent / "subdistricts.geojson")
    names = set(subdistricts["subdistrict_name"])
    # the gap zones layer on, so that its labels compete with the 街道 names
    driver.execute_script(
        "for (const l of document.querySelectorAll('.leaflet-control-layers-overlays label')) {"
        "  if (l.textContent.trim() === arguments[0]) { l.querySelector('input').click(); } }",
        LAYER_NAMES["gaps"],
    )
    zoom0 = driver.execute_script(
        "return window[document.querySelector('.folium-map').id].getZoom();"
    )
    shown_by_zoom = {}
    for zoom in (zoom0, zoom0 + 1, zoom0 + 2):
        boxes = _labels_after_declutter(driver, zoom)
        assert _overlaps(boxes) == [], (size, zoom)
        # nor does a label cover a station or a suggested site
        markers = driver.execute_script(MARKERS)
        crossed = [o for o in _overlaps(boxes + markers) if o.count("marker") == 1]
        assert crossed == [], (size, zoom)
        area = [b[1] for b in boxes if "sc-area-label" in b[0]]
        assert set(area) <= names
        shown_by_zoom[zoom] = area
        # every box has a real size (a label is text, not an empty marker)
        assert all(b[4] - b[2] > 10 and b[5] - b[3] > 8 for b in boxes)
    # at load the district is whole on screen and some 街道 are named; closer, no fewer
    assert zoom0 >= 12
    assert len(shown_by_zoom[zoom0]) >= 5, shown_by_zoom
    if size == "1920x1080":  # nearly every one of the 18 names fits (17 when measured:
        # one gives way to a gap label)
        assert len(shown_by_zoom[zoom0]) >= len(names) - 3, shown_by_zoom
    gaps = [b for b in driver.execute_script(VISIBLE_LABELS) if "sc-gap-label" in b[0]]
    assert all(b[1].startswith("#") for b in gaps)


@pytest.mark.data
def test_access_layer_in_the_demo_map(chromium_small: Any, yuexiu_demo: Any) -> None:
    """Ticking 可达性 shows every station sized by its supply ratio, over-subscribed in red."""
    summary = yuexiu_demo.analysis.summary
    table = yuexiu_demo.analysis.stations_table
    chromium_small.get(yuexiu_demo.files["map.html"].resolve().as_uri())
    time.sleep(2.0)
    assert not chromium_small.find_elements(By.CSS_SELECTOR, ".sc-access-station")  # off at load
    for label in chromium_small.find_elements(
        By.CSS_SELECTOR, ".leaflet-control-layers-overlays label"
    ):
        if label.text.strip() == LAYER_NAMES["access"]:
            label.find_element(By.TAG_NAME, "input").click()
    time.sleep(1.0)
    dots = chromium_small.execute_script(
        "return Array.from(document.querySelectorAll('.sc-access-station')).map(function (e) {"
        " var d = e.firstElementChild.getBoundingClientRect();"
        " return [e.getAttribute('data-sc-name'), e.classList.contains('sc-oversubscribed'),"
        " d.width]; });"
    )
    assert len(dots) == len(table) == 21
    over = sorted(name for name, is_over, _ in dots if is_over)
    assert over == sorted(summary.access.oversubscribed)
    assert over == sorted(table.loc[table["oversubscribed"], "name"])
    # diameter 8 px + 22 px x min(ratio, 2) / 2, plus its 1 px border, as drawn
    ratio = dict(zip(table["name"], table["supply_ratio"], strict=True))
    for name, _, width in dots:
        r = ratio[name]
        expected = 8.0 if np.isnan(r) else 8.0 + 22.0 * min(r, 2.0) / 2.0
        assert width == pytest.approx(round(expected, 1) + 2.0, abs=0.3), name
