"""Progress files on the Yuexiu sample: exact CSV columns, trainings sums, A4 page count."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
import pytest

from skillcircle.access.analysis import load_inputs
from skillcircle.access.progress import build_years, progress_coverage
from skillcircle.inputs.datasets import get_path
from skillcircle.inputs.targets import profile_targets
from skillcircle.inputs.trainings import read_trainings
from skillcircle.outputs import schema
from skillcircle.outputs.progress import progress_table, write_progress
from skillcircle.profiles.guangzhou import GUANGZHOU


@pytest.mark.data
def test_yuexiu_progress_files(data_root: Path, tmp_path: Path) -> None:
    from skillcircle.demo import demo_study

    inputs = load_inputs(demo_study(data_root=data_root))
    stations = inputs.stations.stations
    trainings = read_trainings(get_path("yuexiu_trainings"), station_names=list(stations["name"]))
    cov = progress_coverage(inputs, years=tuple(range(2023, 2028)))
    goals = profile_targets(GUANGZHOU, district_codes=["440104"], years=cov.years)
    table = progress_table(cov, stations=stations, trainings=trainings, targets=goals)
    written = write_progress(
        tmp_path / "out",
        cov,
        table,
        targets=goals,
        stations=stations.assign(batch_year=build_years(stations)),
        trainings=trainings,
        areas=inputs.districts,
    )
    csv = pd.read_csv(written[schema.PROGRESS_BY_DISTRICT_CSV], dtype={"district_code": str})
    assert tuple(csv.columns) == schema.PROGRESS_COLUMNS
    assert csv["year"].tolist() == [2023, 2024, 2025, 2026, 2027]
    assert csv["stations"].tolist() == [13, 21, 21, 21, 21]
    # independent sums of the illustrative ledger
    raw = pd.read_csv(get_path("yuexiu_trainings"))
    by_year = raw.assign(year=raw["季度"].str[:4].astype(int)).groupby("year")["培训人次"].sum()
    assert csv["trainings"].tolist() == [by_year.get(y, 0) for y in range(2023, 2028)]
    assert csv["trainings_cumulative"].iloc[-1] == raw["培训人次"].sum()
    assert csv["coverage_pct"].tolist() == cov.totals["coverage_pct"].round(2).tolist()

    # trainings per 1 000 residents, and per 1 000 working-age residents (74.72 % in 2020)
    from openpyxl import load_workbook

    ws = load_workbook(written[schema.PROGRESS_XLSX])["培训类型 by type"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    last = next(r for r in rows if r["年份 year"] == 2027 and r["区 district"] == "越秀区")
    residents = 1_038_643
    all_ages = last["每千常住人口培训人次 per 1 000 residents (全部年龄 all ages)"]
    assert all_ages == pytest.approx(1000 * raw["培训人次"].sum() / residents, abs=0.01)
    working = last["每千劳动年龄人口培训人次 per 1 000 working-age residents (15-59)"]
    assert working == pytest.approx(1000 * raw["培训人次"].sum() / (0.7472 * residents), abs=0.01)

    pages = _print_pages(written[schema.PROGRESS_HTML], tmp_path)
    assert 1 <= pages <= 3
    assert written[schema.PROGRESS_HTML].read_text(encoding="utf-8").count("data:image/png") == 4


def _print_pages(page: Path, tmp_path: Path) -> int:
    webdriver = pytest.importorskip("selenium.webdriver")
    pypdf = pytest.importorskip("pypdf")
    import shutil

    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("headless Chromium is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chrome'}")
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=driver_path)
    )
    try:
        driver.get(page.as_uri())
        pdf = driver.execute_cdp_cmd(
            "Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True}
        )
    finally:
        driver.quit()
    out = tmp_path / "progress.pdf"
    out.write_bytes(base64.b64decode(pdf["data"]))
    return len(pypdf.PdfReader(out).pages)
