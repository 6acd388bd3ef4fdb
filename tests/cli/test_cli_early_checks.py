"""Option, quota, output-folder and input-path errors come before any input is loaded.

The loaders are replaced by functions that fail the test when called; each bad command must
exit with code 2 and exactly one non-empty stderr line (no traceback), and leave its input
files byte for byte as they were.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from skillcircle import cli
from skillcircle.access import analysis
from skillcircle.cli import main

LOADERS = ("load_network", "read_stations_datum", "read_districts", "build_population")


def _never(name: str) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{name} was called before the options were checked")

    return fail


@pytest.fixture
def no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every loader, where the analysis looks it up, fails the test if called."""
    for name in LOADERS:
        monkeypatch.setattr(analysis, name, _never(name))


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLCIRCLE_CACHE", str(tmp_path / "cache"))


def _sha(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def _inputs(hand_study: dict) -> list[Path]:
    return [Path(hand_study[k]) for k in ("stations", "network", "population")]


def _args(command: str, hand_study: dict, out: Path) -> list[str]:
    return [
        command,
        "--stations",
        str(hand_study["stations"]),
        "--network",
        hand_study["network"],
        "--population",
        hand_study["population"],
        "--districts",
        "none",
        "--crs",
        hand_study["crs"],
        "--out",
        str(out),
    ]


def _one_line(capsys: pytest.CaptureFixture[str], code: int) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    assert "Traceback" not in err[0]
    return err[0]


# ---------------------------------------------------------------------------- suggest options
@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (
            ["--min-per-district", "5", "--add", "3"],
            "error: --min-per-district=5 asks for at least 5 new site(s) in each district, "
            "more than --add=3",
        ),
        (
            ["--min-per-district", "440104=3,440103=3", "--add", "5"],
            "error: the per-district minimums (--min-per-district) total 6 new sites, "
            "more than --add=5",
        ),
        (
            ["--min-per-district", "4", "--target-stations", "3"],
            "error: --min-per-district=4 asks for at least 4 new site(s) in each district, "
            "more than --target-stations=3",
        ),
        (
            ["--min-per-district", "3", "--max-per-district", "2", "--add", "5"],
            "error: --min-per-district is above --max-per-district for every district (3 > 2)",
        ),
        (
            ["--max-per-district", "0", "--add", "5"],
            "error: --max-per-district 0 allows no new site in any district",
        ),
        (
            ["--min-per-district=-1", "--add", "5"],
            "error: --min-per-district must be a whole number of sites, 0 or more, got -1",
        ),
        (
            ["--target-stations", "0"],
            "error: --target-stations must be a positive number of stations, got 0",
        ),
        (
            ["--target-coverage", "100.5"],
            "error: --target-coverage must be in (0, 100] %, got 100.5",
        ),
        (
            ["--add", "1", "--min-spacing-m=-5"],
            "error: --min-spacing-m must be a finite, non-negative number of metres, got -5.0",
        ),
        (
            ["--add", "1", "--time-limit", "inf"],
            "error: --time-limit must be a finite, positive number of seconds, got inf",
        ),
        (
            ["--add", "1", "--candidate-spacing", "0"],
            "error: --candidate-spacing must be a positive number of metres up to 5,000, got 0.0",
        ),
        (
            ["--add", "1", "--phases", "30,20"],
            "error: --phases: totals must be positive and increasing, got '30,20'",
        ),
        (
            ["--add", "1", "--min-stations-per-subdistrict=-1"],
            "error: --min-stations-per-subdistrict must be a whole number of stations, 0 or "
            "more, got -1",
        ),
        (
            [
                "--add",
                "1",
                "--min-stations-per-district",
                "1",
                "--min-stations-per-subdistrict",
                "1",
            ],
            "error: give --min-stations-per-district or --min-stations-per-subdistrict, not both",
        ),
        (
            ["--add", "1", "--min-stations-per-subdistrict", "1", "--max-per-district", "2"],
            "error: --max-per-district=2 counts per district; with --min-stations-per-subdistrict "
            "give it per 街道 as CODE=N",
        ),
    ],
)
@pytest.mark.usefixtures("no_loading")
def test_suggest_option_errors_come_before_any_loader(
    hand_study: dict,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    line: str,
) -> None:
    before = _sha(_inputs(hand_study))
    out = tmp_path / "out"
    assert _one_line(capsys, main([*_args("suggest", hand_study, out), *flags])) == line
    assert _sha(_inputs(hand_study)) == before
    assert not out.exists()


@pytest.mark.usefixtures("no_loading")
def test_suggest_quota_error_through_typer_cli_runner(hand_study: dict, tmp_path: Path) -> None:
    """The same check through typer's runner: the quota error is raised before any loader."""
    args = [*_args("suggest", hand_study, tmp_path / "o"), "--min-per-district", "5", "--add", "3"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "InputError"  # main() turns it into exit 2
    assert result.exception.params == ("min_per_district", "add")  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- output folder
@pytest.mark.parametrize("command", ["report", "suggest"])
@pytest.mark.usefixtures("no_loading")
def test_unusable_output_folder_comes_before_any_loader(
    hand_study: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a planner's file", encoding="utf-8")
    before = _sha([*_inputs(hand_study), blocker])
    extra = ["--add", "1"] if command == "suggest" else []
    line = _one_line(capsys, main([*_args(command, hand_study, blocker / "out"), *extra]))
    assert str(blocker) in line
    assert _sha([*_inputs(hand_study), blocker]) == before


# ---------------------------------------------------------------------------- settings bounds
@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (["--minutes", "10000"], "error: setting --minutes must be at most 120, got 10000.0"),
        (["--speed-kmh", "60"], "error: setting --speed-kmh must be at most 10, got 60.0"),
        (
            ["--max-snap-m", "1e9"],
            "error: setting --max-snap-m must be at most 5000, got 1000000000.0",
        ),
        (
            ["--walkway-half-width-m", "1000"],
            "error: setting --walkway-half-width-m must be at most 200, got 1000.0",
        ),
    ],
)
@pytest.mark.parametrize("command", ["report", "suggest"])
@pytest.mark.usefixtures("no_loading")
def test_out_of_range_setting_comes_before_any_loader(
    hand_study: dict,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    flags: list[str],
    line: str,
) -> None:
    extra = ["--add", "1"] if command == "suggest" else []
    code = main([*_args(command, hand_study, tmp_path / "o"), *flags, *extra])
    assert _one_line(capsys, code) == line


@pytest.mark.usefixtures("no_loading")
def test_study_file_minutes_1e300_is_one_line_naming_the_file(
    hand_study: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "study.toml"
    f.write_text(
        f'stations = "{hand_study["stations"]}"\nnetwork = "{hand_study["network"]}"\n'
        "minutes = 1e300\n",
        encoding="utf-8",
    )
    before = _sha([f])
    code = main(["report", "--study", str(f), "--out", str(tmp_path / "o")])
    assert _one_line(capsys, code) == f"error: {f}: setting minutes must be at most 120, got 1e+300"
    assert _sha([f]) == before


@pytest.mark.parametrize("value", ["nan", "-1e9", "inf", "60000"])
def test_network_build_buffer_out_of_range(
    hand_study: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    roads = Path(hand_study["network"])
    before = _sha([roads])
    out = tmp_path / "net.npz"
    code = main(["network", "build", str(roads), "--out", str(out), f"--buffer-m={value}"])
    line = _one_line(capsys, code)
    assert line.startswith("error: --buffer-m must be between 0 and 50,000 metres, got ")
    assert _sha([roads]) == before
    assert not out.exists()


def test_web_mercator_is_refused_before_the_network_is_loaded(
    hand_study: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    for name in ("load_network", "build_population"):
        monkeypatch.setattr(analysis, name, _never(name))
    args = _args("report", hand_study, tmp_path / "o")
    args[args.index("--crs") + 1] = "EPSG:3857"
    line = _one_line(capsys, main(args))
    assert line.startswith("error: setting --crs: EPSG:3857 stretches distances by 8.")
    assert "EPSG:32649" in line  # the hand study lies in UTM zone 49 (central Guangzhou)


# ---------------------------------------------------------------------------- input paths
@pytest.mark.parametrize(
    ("flag", "what"),
    [
        ("--population", "population raster"),
        ("--stations", "station ledger"),
        ("--network", "network file"),
        ("--subdistricts", "sub-district file"),
        ("--districts", "district file"),
    ],
)
@pytest.mark.usefixtures("no_loading")
def test_a_typo_in_an_input_path_is_one_line_before_any_loader(
    hand_study: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, what: str
) -> None:
    typo = tmp_path / "worldpop.tiff"
    args = _args("report", hand_study, tmp_path / "o")
    if flag in args:
        args[args.index(flag) + 1] = str(typo)
    else:
        args += [flag, str(typo)]
    assert _one_line(capsys, main(args)) == f"error: {typo}: {what} not found"


@pytest.mark.usefixtures("no_loading")
def test_a_missing_candidate_file_is_one_line_before_any_loader(
    hand_study: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "sites.csvv"
    args = [*_args("suggest", hand_study, tmp_path / "o"), "--add", "1", "--candidates", str(typo)]
    assert _one_line(capsys, main(args)) == f"error: {typo}: candidate file not found"


@pytest.mark.parametrize("content", ["garbage", "empty"])
def test_a_bad_population_raster_is_one_line(
    hand_study: dict,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: str,
) -> None:
    for name in ("read_stations_datum", "load_network", "build_population"):
        monkeypatch.setattr(analysis, name, _never(name))
    bad = tmp_path / "worldpop.tif"
    bad.write_bytes(np.random.default_rng(2).bytes(1024) if content == "garbage" else b"")
    before = _sha([bad])
    args = _args("report", hand_study, tmp_path / "o")
    args[args.index("--population") + 1] = str(bad)
    line = _one_line(capsys, main(args))
    assert line.startswith(f"error: {bad}: ")
    if content == "empty":
        assert line == f"error: {bad}: the population raster is empty (0 bytes)"
    assert _sha([bad]) == before


@pytest.mark.filterwarnings("ignore:GPKG. bad application_id")
def test_a_garbage_district_file_is_one_line(
    hand_study: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    for name in ("read_stations_datum", "load_network", "build_population"):
        monkeypatch.setattr(analysis, name, _never(name))
    bad = tmp_path / "districts.gpkg"
    bad.write_bytes(b"SQLite format 3\x00" + bytes(200))
    before = _sha([bad])
    args = _args("report", hand_study, tmp_path / "o")
    args[args.index("--districts") + 1] = str(bad)
    line = _one_line(capsys, main(args))
    assert line.startswith(f"error: {bad}: cannot read as a GIS file (")
    assert _sha([bad]) == before
