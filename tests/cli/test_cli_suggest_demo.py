"""``skillcircle suggest`` on the Yuexiu demo data through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skillcircle import cli
from skillcircle.cli import main
from skillcircle.inputs.datasets import find_yuexiu, get_path
from skillcircle.profiles.guangzhou import YUEXIU_ADCODE

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLCIRCLE_CACHE", str(tmp_path / "cache"))


def _demo_args(data_root: Path, out: Path) -> list[str]:
    data = find_yuexiu(data_root)
    return [
        "suggest",
        "--stations",
        str(get_path("yuexiu_stations")),
        "--network",
        str(data.roads),
        "--population",
        str(data.worldpop),
        "--districts",
        f"cnmaps:{YUEXIU_ADCODE}",
        "--subdistricts",
        str(data.subdistricts),
        "--out",
        str(out),
    ]


def test_target_coverage_99_states_unreachable_and_exits_0(data_root: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.app, [*_demo_args(data_root, out), "--target-coverage", "99"])
    assert result.exit_code == 0, result.output
    assert "Target 99 % cannot be reached" in " ".join(result.stdout.split())
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["target_reached"] is False
    assert summary["target_coverage_pct"] == 99


def test_infeasible_subdistrict_total_is_one_line_and_writes_nothing(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "out"
    args = [*_demo_args(data_root, out), "--add", "10", "--min-stations-per-subdistrict", "2"]
    assert main(args) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err[-1] == (
        "error: --min-stations-per-subdistrict=2 needs 15 new sites in 15 街道, more than --add=10"
    )
    assert not out.exists()


def test_a_plan_cut_short_names_the_flag(data_root: Path, tmp_path: Path):
    out = tmp_path / "out"
    args = [*_demo_args(data_root, out), "--add", "3", "--max-per-district", "1"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    words = " ".join(result.stdout.split())
    assert (
        "Plan cut short / 站点数不足: only 1 of 3 requested stations: the per-group maximum "
        "(--max-per-district) rules out every other site that would add coverage." in words
    )
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["added_sites"] == 1
    assert summary["cut_short"].endswith(
        "(max_per_district) rules out every other site that would add coverage"
    )
