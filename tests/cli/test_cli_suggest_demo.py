"""``skillcircle suggest`` on the Yuexiu demo data through typer's CliRunner."""

from __future__ import annotations

import csv
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


# ------------------------------------------------------------------ capacitated objective
def test_capacitated_plan_fills_every_new_site(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [
        *_demo_args(data_root, out),
        "--objective",
        "capacitated",
        "--add",
        "5",
        "--capacity-per-site",
        "950",
    ]
    args += ["--group", "working_age"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["objective"] == "capacitated"
    assert s["capacity_binds"] is True
    assert s["capacity_per_site"] == 950
    # the stations' own capacities (ledger column 容量) bound what they serve today
    with open(get_path("yuexiu_stations"), encoding="utf-8-sig") as f:
        ledger_capacity = sum(float(r["容量"]) for r in csv.DictReader(f))
    assert 0 < s["base_served_demand"] <= ledger_capacity
    # demand = working-age residents x participation rate, far above what 26 sites offer
    assert s["total_demand"] > s["base_served_demand"] + 5 * 950
    # each new site adds at most its 950 a year: base + 5 x 950 is an upper bound by hand,
    # and here every new site is filled, so the plan is optimal and the certificate says so
    assert s["served_demand"] == pytest.approx(s["base_served_demand"] + 5 * 950, abs=1e-6)
    assert s["upper_bound_served_demand"] == pytest.approx(s["served_demand"], abs=1e-6)
    assert s["optimality_gap_pct"] == pytest.approx(0.0, abs=1e-9)
    # covered_population keeps meaning residents within the walk of the plan's stations
    assert s["covered_population_after"] > s["covered_population"]
    with open(out / "suggestions.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5
    assert [float(r["added_served_demand"]) for r in rows] == [950.0] * 5
    assert float(rows[-1]["cumulative_served_demand"]) == pytest.approx(s["served_demand"])
    assert float(rows[-1]["cumulative_covered_population"]) == pytest.approx(
        s["covered_population_after"]
    )
    words = " ".join(result.stdout.split())
    assert "Sites were chosen by demand served / 按服务人次选址" in words
    assert "This plan is optimal (proven) / 最优方案（已证明）: every new site is filled" in words
    assert s["bound_method"] == "capacity"


def test_capacitated_refuses_a_coverage_target(data_root: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    args = [
        *_demo_args(data_root, out),
        "--objective",
        "capacitated",
        "--target-coverage",
        "80",
        "--capacity-per-site",
        "950",
    ]
    assert main(args) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1
    assert "--target-coverage" in err[0]
    assert "capacitated" in err[0]
    assert not out.exists()
