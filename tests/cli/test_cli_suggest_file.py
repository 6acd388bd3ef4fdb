"""A study file's ``[suggest]`` table reaches every plan option; a flag wins over the file."""

from pathlib import Path
from typing import Any

import pytest

from skillcircle import InputError
from skillcircle.cli import main
from skillcircle.study import SUGGEST_KEYS, Study


class StopError(InputError):
    """Raised by the fake suggest once it has the plan options."""


@pytest.fixture
def plan_options(monkeypatch) -> list[dict[str, Any]]:
    """Fake analyse (returns a stand-in) and suggest (keeps its options, then stops)."""
    seen: list[dict[str, Any]] = []

    def fake_suggest(analysis, **kwargs):
        seen.append(kwargs)
        raise StopError("stopped before the plan")

    monkeypatch.setattr("skillcircle.access.analysis.analyse", lambda study, **kw: object())
    monkeypatch.setattr("skillcircle.siting.suggest.suggest", fake_suggest)
    return seen


def _study_file(folder: Path, suggest_table: str) -> Path:
    (folder / "a.csv").write_text("never read", encoding="utf-8")
    (folder / "b.gpkg").write_bytes(b"never read")
    f = folder / "s.toml"
    f.write_text(f'stations = "a.csv"\nnetwork = "b.gpkg"\n\n[suggest]\n{suggest_table}\n', "utf-8")
    return f


def _error_line(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


TABLE = """add = 3
candidate_coords = "gcj02"
candidate_spacing = 150
only_near_gaps = true
max_per_district = { "110101" = 2, "110101001" = 1 }
min_spacing_m = 300
min_stations_per_subdistrict = 1
phases = { 2026 = 5, 2027 = 8 }
exact = true
time_limit = 12
objective = "capacitated"
capacity_per_site = 950
"""


def test_every_plan_option_comes_from_the_file(plan_options, tmp_path):
    f = _study_file(tmp_path, TABLE)
    assert main(["suggest", "--study", str(f), "--out", str(tmp_path / "o")]) == 2
    (kw,) = plan_options
    assert kw["add"] == 3
    assert kw["candidate_coords"] == "gcj02"
    assert kw["candidate_spacing_m"] == 150
    assert kw["only_near_gaps"] is True
    assert kw["max_per_district"] == {"110101": 2, "110101001": 1}
    assert kw["min_per_district"] is None
    assert kw["min_spacing_m"] == 300
    assert kw["min_stations_per_subdistrict"] == 1
    assert kw["phases"] == ((2026, 5), (2027, 8))
    assert kw["exact"] is True
    assert kw["time_limit_s"] == 12
    assert kw["objective"] == "capacitated"
    assert kw["capacity_per_site"] == 950
    assert not (tmp_path / "o").exists()


def test_a_flag_wins_over_the_file(plan_options, tmp_path):
    f = _study_file(tmp_path, TABLE)
    args = ["suggest", "--study", str(f), "--out", str(tmp_path / "o")]
    assert (
        main([*args, "--add", "2", "--max-per-district", "110101001=4", "--time-limit", "5"]) == 2
    )
    (kw,) = plan_options
    assert (kw["add"], kw["time_limit_s"]) == (2, 5)
    assert kw["max_per_district"] == {"110101001": 4}
    assert kw["phases"] == ((2026, 5), (2027, 8))  # not given as a flag: the file's


def test_without_a_table_the_defaults_hold(plan_options, tmp_path):
    f = _study_file(tmp_path, "")
    args = ["suggest", "--study", str(f), "--out", str(tmp_path / "o"), "--phases", "2030=9"]
    assert main(args) == 2
    (kw,) = plan_options
    assert kw["candidate_coords"] == "wgs84"
    assert kw["candidate_spacing_m"] == 200.0
    assert kw["only_near_gaps"] is False
    assert kw["exact"] is False
    assert kw["time_limit_s"] == 60.0
    assert kw["add"] is None


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("colour = 3", "unknown suggest option(s): colour"),
        ("exact = 'yes'", "expected true or false, got 'yes'"),
        ("phases = 'x,y'", "expected station totals like 30,40,50"),
        ("max_per_district = { '110101' = 'two' }", "per-district quota"),
    ],
)
def test_a_bad_value_names_the_file_and_nothing_is_written(table, words, capsys, tmp_path):
    f = _study_file(tmp_path, table)
    assert main(["suggest", "--study", str(f), "--out", str(tmp_path / "o")]) == 2
    line = _error_line(capsys)
    assert line.startswith(f"error: {f}"), line
    assert words in line, line
    assert not (tmp_path / "o").exists()


def test_the_keys_are_the_flags_of_suggest():
    from skillcircle.cli import _flag_names

    flags = set(_flag_names().values())
    assert {"--" + key.replace("_", "-") for key in SUGGEST_KEYS} <= flags
    study = Study(stations=Path("a.csv"), network="b.gpkg", suggest={"add": 1})
    assert study.suggest == {"add": 1}
