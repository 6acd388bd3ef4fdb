"""Every Settings field is a flag of report and suggest; errors name flags on the command line."""

import dataclasses
import inspect
from pathlib import Path

import pytest

from skillcircle import InputError, Settings
from skillcircle.cli import (
    STUDY_FLAGS,
    _cli_message,
    _flag_names,
    main,
    network_build_cmd,
    network_stats_cmd,
    report_cmd,
    suggest_cmd,
)

#: A value other than the default for every Settings field, as typed on the command line.
FLAG_VALUES = {
    "minutes": ("7.5", 7.5),
    "speed_kmh": ("3.3", 3.3),
    "max_snap_m": ("123", 123.0),
    "crs": ("EPSG:32649", "EPSG:32649"),
    "cache_dir": ("my-cache", Path("my-cache")),
    "walkway_half_width_m": ("12.5", 12.5),
    "network_gap_m": ("30", 30.0),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class StopError(InputError):
    """Raised by the fake analysis once it has the study."""


def _placeholder_inputs(folder: Path) -> None:
    """a.csv and b.gpkg: the inputs exist (checked before the analysis), never read here."""
    (folder / "a.csv").write_text("never read", encoding="utf-8")
    (folder / "b.gpkg").write_bytes(b"never read")


@pytest.fixture
def captured(monkeypatch):
    """Replace analyse() by a fake that keeps the study it is given and stops."""
    studies = []

    def fake_analyse(study, **kwargs):
        studies.append(study)
        raise StopError("stopped before the analysis")

    monkeypatch.setattr("skillcircle.access.analysis.analyse", fake_analyse)
    return studies


def test_every_setting_has_a_flag_value():
    assert sorted(f.name for f in dataclasses.fields(Settings)) == sorted(FLAG_VALUES), (
        "a new Settings field: add it to Study, STUDY_FLAGS and the report/suggest options"
    )


@pytest.mark.parametrize("command", [report_cmd, suggest_cmd])
def test_every_setting_is_an_option_of_the_study_commands(command):
    options = inspect.signature(command).parameters
    flags = _flag_names()
    for f in dataclasses.fields(Settings):
        assert f.name in options, f"{command.__name__} lacks {f.name}"
        assert f.name in STUDY_FLAGS
        assert flags[f.name] == _flag(f.name)


@pytest.mark.parametrize("command", ["report", "suggest"])
def test_every_setting_flag_reaches_the_settings(command, captured, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _placeholder_inputs(tmp_path)
    args = [command, "--stations", "a.csv", "--network", "b.gpkg", "--out", "out"]
    for name, (text, _) in FLAG_VALUES.items():
        args += [_flag(name), text]
    if command == "suggest":
        args += ["--add", "1"]
    assert main(args) == 2
    (study,) = captured
    settings = study.settings()
    for name, (_, value) in FLAG_VALUES.items():
        assert getattr(settings, name) == value, name


def test_flags_override_every_setting_of_the_study_file(captured, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _placeholder_inputs(tmp_path)
    (tmp_path / "s.toml").write_text(
        'stations = "a.csv"\nnetwork = "b.gpkg"\nminutes = 30\ncache_dir = "file-cache"\n'
        "walkway_half_width_m = 80\n",
        encoding="utf-8",
    )
    args = ["report", "--study", "s.toml", "--out", "out", "--walkway-half-width-m", "12.5"]
    assert main(args) == 2
    settings = captured[0].settings()
    assert settings.minutes == 30
    assert settings.cache_dir.resolve() == tmp_path / "file-cache"  # beside the file
    assert settings.walkway_half_width_m == 12.5


@pytest.mark.parametrize(
    ("command", "source"), [(network_build_cmd, "x.osm"), (network_stats_cmd, "x.osm")]
)
def test_network_commands_take_crs_and_cache_dir(command, source, monkeypatch, tmp_path):
    seen = []

    def fake_load_network(src, *, settings, **kwargs):
        seen.append(settings)
        raise StopError("stopped before loading")

    monkeypatch.setattr("skillcircle.network.load.load_network", fake_load_network)
    name = "build" if command is network_build_cmd else "stats"
    args = ["network", name, source, "--crs", "EPSG:32650", "--cache-dir", str(tmp_path / "c")]
    if name == "build":
        args += ["--out", str(tmp_path / "n.npz")]
    assert main(args) == 2
    assert seen[0].crs == "EPSG:32650"
    assert seen[0].cache_dir == tmp_path / "c"
    assert seen[0].minutes == Settings().minutes


# ---------------------------------------------------------------------------- error lines
def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_library_error_names_the_parameter_the_cli_the_flag(capsys, tmp_path):
    from skillcircle.siting.suggest import check_plan_options

    with pytest.raises(InputError) as info:
        check_plan_options(add=0)
    assert str(info.value) == "add must be a positive number of sites, got 0"
    assert info.value.params == ("add",)
    out = tmp_path / "o"
    args = ["suggest", "--stations", "a.csv", "--network", "b.gpkg", "--add", "0"]
    code = main([*args, "--out", str(out)])
    assert code == 2
    assert _error_line(capsys) == "error: --add must be a positive number of sites, got 0"


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (
            ["--speed-kmh", "4,-1"],
            "error: setting --speed-kmh must be a positive number, got -1.0",
        ),
        (
            ["--walkway-half-width-m", "0"],
            "error: setting --walkway-half-width-m must be a positive number, got 0.0",
        ),
        (
            ["--crs", "EPSG:4326"],
            "error: setting --crs: 'EPSG:4326' is not a projected (metric) CRS",
        ),
    ],
)
def test_setting_errors_name_the_flag(flags, line, capsys, tmp_path):
    args = ["report", "--stations", "a.csv", "--network", "b.gpkg", "--out", str(tmp_path / "o")]
    assert main([*args, *flags]) == 2
    assert _error_line(capsys) == line
    assert not (tmp_path / "o").exists()


def test_suggest_option_names_differ_from_the_api(capsys, tmp_path):
    args = ["suggest", "--stations", "a.csv", "--network", "b.gpkg", "--out", str(tmp_path / "o")]
    assert main([*args, "--add", "1", "--target-stations", "3"]) == 2
    assert _error_line(capsys) == "error: give either --add or --target-stations, not both"
    assert main([*args, "--target-coverage", "0"]) == 2
    assert _error_line(capsys) == "error: --target-coverage must be in (0, 100] %, got 0.0"


def test_a_study_file_error_keeps_the_key_name(capsys, tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('stations = "a.csv"\nnetwork = "b.gpkg"\nminutes = 0\n', encoding="utf-8")
    assert main(["report", "--study", str(f), "--out", str(tmp_path / "o")]) == 2
    assert _error_line(capsys) == f"error: {f}: setting minutes must be a positive number, got 0"


def test_only_declared_words_become_flags():
    # a declared parameter becomes its flag (so messages never use its name as a plain word);
    # a name no option sets is left alone, and so is an undeclared word
    exc = InputError("add must be positive, not like colour_depth or phases", param="add")
    assert _cli_message(exc) == "--add must be positive, not like colour_depth or phases"
    assert _cli_message(InputError("bridge_gaps_m must be positive")) == (
        "--bridge-gaps-m must be positive"
    )
    # an error about a file keeps its words (they are the file's keys)
    assert _cli_message(InputError("max_snap_m is bad", path="s.toml")) == (
        "s.toml: max_snap_m is bad"
    )


def test_every_mapped_flag_is_a_real_option():
    flags = _flag_names()
    assert flags["target_coverage_pct"] == "--target-coverage"
    assert flags["time_limit_s"] == "--time-limit"
    assert flags["candidate_spacing_m"] == "--candidate-spacing"
    assert flags["speeds_kmh"] == "--speed-kmh"
    assert flags["online"] == "--online"
    assert all(flag.startswith("--") for flag in flags.values())
