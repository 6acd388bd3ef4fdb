"""``skillcircle progress`` on the hand-made study: files written, bad ledgers exit 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from skillcircle.cli import main


def _args(hand_study: dict, tmp_path: Path) -> list[str]:
    ledger = pd.read_csv(hand_study["stations"])
    ledger["建成年份"] = [2025, 2026, 2026]
    path = tmp_path / "dated.csv"
    ledger.to_csv(path, index=False)
    return [
        "progress",
        "--stations",
        str(path),
        "--network",
        hand_study["network"],
        "--population",
        hand_study["population"],
        "--districts",
        "none",
        "--crs",
        hand_study["crs"],
        "--minutes",
        "2.4",
        "--max-snap-m",
        "100",
    ]


def _trainings(tmp_path: Path, quarter: str) -> Path:
    path = tmp_path / "trainings.csv"
    path.write_text(f"站点,季度,培训人次\nA站,2025Q2,30\nB站,{quarter},12\n", encoding="utf-8")
    return path


def test_progress_writes_files(hand_study: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [*_args(hand_study, tmp_path), "--trainings", str(_trainings(tmp_path, "2026Q4"))]
    assert main([*args, "--out", str(out)]) == 0
    csv = pd.read_csv(out / "progress_by_district.csv")
    assert csv["year"].tolist() == [2025, 2026]
    assert csv["stations"].tolist() == [1, 3]
    assert csv["trainings"].tolist() == [30, 12]
    assert csv["trainings_cumulative"].tolist() == [30, 42]
    assert (out / "progress.xlsx").is_file()
    assert (out / "progress.html").is_file()


@pytest.mark.parametrize("quarter", ["2025Q5", "2025-13-01"])
def test_progress_bad_quarter_exits_2(
    hand_study: dict, tmp_path: Path, quarter: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = [*_args(hand_study, tmp_path), "--trainings", str(_trainings(tmp_path, quarter))]
    assert main([*args, "--out", str(out)]) == 2
    assert quarter in capsys.readouterr().err
    assert not out.exists()
