"""--dask and --parts-by on report and suggest (also study-file keys); Dask only when asked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skillcircle import InputError
from skillcircle.cli import main


class StopError(InputError):
    """Raised by the fake analysis once it has the study."""


def _placeholder_inputs(folder: Path) -> None:
    (folder / "a.csv").write_text("never read", encoding="utf-8")
    (folder / "b.gpkg").write_bytes(b"never read")


@pytest.fixture
def captured(monkeypatch):
    studies = []

    def fake_analyse(study, **kwargs):
        studies.append(study)
        raise StopError("stopped before the analysis")

    monkeypatch.setattr("skillcircle.access.analysis.analyse", fake_analyse)
    return studies


def _args(command: str) -> list[str]:
    args = [command, "--stations", "a.csv", "--network", "b.gpkg", "--out", "out"]
    return [*args, "--add", "1"] if command == "suggest" else args


@pytest.mark.parametrize("command", ["report", "suggest"])
@pytest.mark.parametrize(
    ("flags", "dask", "parts_by"),
    [
        ([], None, "district"),
        (["--dask", "local"], "local", "district"),
        (["--dask", "local:2", "--parts-by", "subdistrict"], "local:2", "subdistrict"),
        (
            ["--dask", "tcp://10.0.0.5:8786", "--parts-by", "GRID:2.5"],
            "tcp://10.0.0.5:8786",
            "grid:2.5",
        ),
    ],
)
def test_flags_reach_the_study(command, flags, dask, parts_by, captured, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _placeholder_inputs(tmp_path)
    assert main([*_args(command), *flags]) == 2  # the fake analysis stops
    (study,) = captured
    assert (study.dask, study.parts_by) == (dask, parts_by)


def test_study_file_keys_and_flags_override_them(captured, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _placeholder_inputs(tmp_path)
    (tmp_path / "s.toml").write_text(
        'stations = "a.csv"\nnetwork = "b.gpkg"\ndask = "local:3"\nparts_by = "grid:4"\n',
        encoding="utf-8",
    )
    assert main(["report", "--study", "s.toml", "--out", "out"]) == 2
    assert main(["report", "--study", "s.toml", "--out", "out", "--parts-by", "district"]) == 2
    assert [(s.dask, s.parts_by) for s in captured] == [
        ("local:3", "grid:4"),
        ("local:3", "district"),
    ]


@pytest.mark.parametrize("command", ["report", "suggest"])
@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (
            ["--dask", "local:0"],
            "error: --dask must be local, local:N (1-1024 workers) or tcp://HOST:PORT, "
            "got 'local:0'",
        ),
        (
            ["--dask", "http://x:1"],
            "error: --dask must be local, local:N (1-1024 workers) or tcp://HOST:PORT, "
            "got 'http://x:1'",
        ),
        (
            ["--parts-by", "city"],
            "error: --parts-by must be district, subdistrict or grid:<km> (0 < km <= 1000), "
            "got 'city'",
        ),
        (
            ["--parts-by", "grid:0"],
            "error: --parts-by must be district, subdistrict or grid:<km> (0 < km <= 1000), "
            "got 'grid:0'",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_flag(command, flags, line, capsys, tmp_path):
    args = [command, "--stations", "a.csv", "--network", "b.gpkg", "--out", str(tmp_path / "o")]
    if command == "suggest":
        args += ["--add", "1"]
    assert main([*args, *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [line]
    assert not (tmp_path / "o").exists()


def test_without_dask_no_dask_module_is_imported(tmp_path):
    """A report with --parts-by but no --dask, run until it reads the (unreadable) network."""
    _placeholder_inputs(tmp_path)
    code = (
        "import json, sys\n"
        "from skillcircle.study import Study\n"
        "import skillcircle.cli, skillcircle.access.analysis, skillcircle.access.distributed\n"
        "Study.from_options(stations='a.csv', network='b.gpkg', parts_by='subdistrict')\n"
        "code = skillcircle.cli.main(['report', '--stations', 'a.csv', '--network', 'b.gpkg',"
        " '--parts-by', 'subdistrict', '--out', 'out'])\n"
        "assert code == 2, code\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('dask', 'distributed'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
