"""report.html printed by real headless Chromium: A4, ≤ 4 pages, the map image, no table cut.

Set ``SKILLCIRCLE_SCREENSHOT_DIR`` to keep the print-media screenshot of the first page.
"""

from __future__ import annotations

import base64
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.outputs.test_webmap_browser import start_chromium

pypdf = pytest.importorskip("pypdf")

A4_WIDTH_PX = 794  # 210 mm at 96 px per inch
MARGIN_PX = 2 * 12 / 25.4 * 96  # @page margin 12 mm each side


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    d = start_chromium(tmp_path_factory.mktemp("chromium"), size=(A4_WIDTH_PX, 1123))
    yield d
    d.quit()


def test_demo_report_prints_on_four_a4_pages(driver: Any, yuexiu_demo: Any) -> None:
    page = Path(yuexiu_demo.files["report.html"])
    driver.get(page.as_uri())
    pdf = base64.b64decode(
        driver.execute_cdp_cmd(
            "Page.printToPDF",
            {"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True},
        )["data"]
    )
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert 1 <= len(reader.pages) <= 4
    width_pt, height_pt = (float(v) for v in reader.pages[0].mediabox[2:])
    assert abs(width_pt - 595.3) < 1
    assert abs(height_pt - 841.9) < 1
    assert any(page.images for page in reader.pages)  # the static map is printed
    text = "".join(p.extract_text() for p in reader.pages)
    assert "3 km/h" in text or "3kmh" in text.replace(" ", "")  # the second speed by 街道

    # in print media, at the printable width, nothing is wider than the page
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.set_window_size(int(A4_WIDTH_PX - MARGIN_PX), 1123)
    inner = driver.execute_script("return document.documentElement.clientWidth")
    widths = driver.execute_script(
        "return [...document.querySelectorAll('table, img')].map("
        "e => [e.tagName, e.getBoundingClientRect().right, e.scrollWidth, e.clientWidth])"
    )
    assert len([w for w in widths if w[0] == "TABLE"]) >= 4
    for tag, right, scroll, client in widths:
        assert right <= inner + 1, (tag, right, inner)
        if tag == "TABLE":
            assert scroll <= client + 1, (tag, scroll, client)
    shown = driver.execute_script(
        "const i = document.querySelector('img.printmap');"
        "return [getComputedStyle(i).display, i.naturalWidth,"
        " getComputedStyle(document.querySelector('iframe')).display]"
    )
    assert shown[0] == "block"
    assert shown[1] > 500
    assert shown[2] == "none"
    keep = os.environ.get("SKILLCIRCLE_SCREENSHOT_DIR")
    if keep:
        driver.set_window_size(A4_WIDTH_PX, 1123)
        driver.save_screenshot(str(Path(keep) / "report_first_page.png"))

    # on screen: the live map, not the image
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "screen"})
    shown = driver.execute_script(
        "return [getComputedStyle(document.querySelector('img.printmap')).display,"
        " getComputedStyle(document.querySelector('iframe')).display]"
    )
    assert shown[0] == "none"
    assert shown[1] != "none"


def test_suggested_sites_keep_six_decimals(yuexiu_demo: Any) -> None:
    from skillcircle.inputs.coords import gcj02_to_wgs84

    page = Path(yuexiu_demo.files["report.html"]).read_text(encoding="utf-8")
    plan = yuexiu_demo.plan.suggestions
    for lon, lat in zip(plan["lon"], plan["lat"], strict=True):
        assert f"{lon:.6f}" in page
        assert f"{lat:.6f}" in page
    section = page[page.index("建议新增站点") :]
    rows = re.findall(r"<td>(11[34]\.\d{6})</td>\s*<td>(2[23]\.\d{6})</td>", section)
    # each site: WGS84 then GCJ-02 pair
    assert len(rows) == 2 * len(plan)
    for k, (lon, lat) in enumerate(zip(plan["lon"], plan["lat"], strict=True)):
        gl, ga = (float(v) for v in rows[2 * k + 1])
        back_lon, back_lat = gcj02_to_wgs84(gl, ga)
        # 6 decimals of a degree ≈ 0.1 m: the printed GCJ-02 goes back within 0.2 m
        assert abs(float(back_lon) - lon) * 102_000 < 0.2
        assert abs(float(back_lat) - lat) * 111_000 < 0.2


def test_flagged_stations_are_named(yuexiu_demo: Any) -> None:
    page = Path(yuexiu_demo.files["report.html"]).read_text(encoding="utf-8")
    stations = yuexiu_demo.analysis.headline.stations
    off = stations[~stations["on_network"].astype(bool)]
    assert len(off) == 2  # the demo's two stations beyond the 500 m snapping limit
    section = page[page.index("站点一览") :]
    line = next(li for li in section.split("<li>") if li.startswith("偏离路网 off the network"))
    assert "(2)" in line.split(":")[0]
    for name in off["name"]:
        assert name in line
