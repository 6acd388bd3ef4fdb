"""The training ledger: quarters, totals, rejects with closest names."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillcircle._errors import InputError
from skillcircle.inputs.trainings import parse_quarter, read_trainings

STATIONS = ["洪桥街社区技能加油站", "北京街社区技能加油站", "六榕街社区技能加油站"]


def _ledger(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "trainings.csv"
    path.write_text("站点,季度,培训人次,培训类型\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025Q3", (2025, 3)),
        ("2025-q1", (2025, 1)),
        ("2026年第4季度", (2026, 4)),
        ("2025-08-15", (2025, 3)),
        ("2026/02/01", (2026, 1)),
        ("2025-12-31 00:00:00", (2025, 4)),
    ],
)
def test_parse_quarter(text: str, expected: tuple[int, int]) -> None:
    assert parse_quarter(text) == expected


@pytest.mark.parametrize("text", ["2025Q5", "2025Q0", "2025-13-01", "2025-02-30", "soon"])
def test_parse_quarter_rejects(text: str) -> None:
    with pytest.raises(InputError, match=text.split(" ")[0]):
        parse_quarter(text)


def test_read_totals(tmp_path: Path) -> None:
    path = _ledger(
        tmp_path,
        [
            "洪桥街社区技能加油站,2025Q3,120,技能提升",
            "洪桥街社区技能加油站,2025Q4,80,学徒制",
            "北京街社区技能加油站,2026-02-10,1 000,岗前",
        ],
    )
    got = read_trainings(path, station_names=STATIONS)
    assert got.total == 1200
    assert got.rows[["year", "quarter"]].values.tolist() == [[2025, 3], [2025, 4], [2026, 1]]
    assert got.rows["type"].tolist() == ["技能提升", "学徒制", "岗前"]


def test_unknown_station_suggests_closest(tmp_path: Path) -> None:
    path = _ledger(tmp_path, ["洪桥社区技能加油站,2025Q3,10,技能提升"])
    with pytest.raises(InputError) as info:
        read_trainings(path, station_names=STATIONS)
    message = str(info.value)
    assert "row 1" in message
    assert "'洪桥社区技能加油站' is not in the station ledger" in message
    assert "closest: 洪桥街社区技能加油站" in message


def test_bad_quarter_rejects_file(tmp_path: Path) -> None:
    path = _ledger(
        tmp_path, ["洪桥街社区技能加油站,2025Q3,10,技能提升", "北京街社区技能加油站,2025Q5,10,岗前"]
    )
    with pytest.raises(InputError, match=r"1 bad row\(s\), file rejected: row 2: quarter '2025Q5'"):
        read_trainings(path, station_names=STATIONS)
