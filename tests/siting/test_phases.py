"""Tests of the phase plan: the ordered picks split into the programme's yearly totals."""

from __future__ import annotations

import numpy as np
import pytest

from skillcircle._errors import InputError
from skillcircle.siting.phases import phase_plan
from skillcircle.siting.problem import CoverageProblem, SitingSolution


def fake_solution(n: int) -> SitingSolution:
    p = CoverageProblem.from_pairs(
        np.arange(n), np.arange(n), n_candidates=n, n_units=n, weights=np.arange(n, 0, -1)
    )
    return p.solve(add=n, swap=False, bound="none")


def test_phase_plan_splits_picks() -> None:
    sol = fake_solution(60)
    assert sol.selected.tolist() == list(range(60))
    df, status = phase_plan(
        sol, existing_stations=245, phases=(250, 300, 350), years=(2025, 2026, 2027)
    )
    counts = df["phase"].value_counts().to_dict()
    assert counts == {2025: 5, 2026: 50, 2027: 5}
    assert df["station_total"].iloc[[0, 4, 5, 54, 55, 59]].tolist() == [
        246,
        250,
        251,
        300,
        301,
        305,
    ]
    assert df["phase"].iloc[[4, 5, 54, 55]].tolist() == [2025, 2026, 2026, 2027]
    summary = {row.phase: row for row in status}
    assert summary[2027].needed == 50
    assert summary[2027].planned == 5
    assert summary[2027].short is True
    assert summary[2026].short is False


def test_phase_plan_overflow_and_errors() -> None:
    sol = fake_solution(12)
    df, _ = phase_plan(sol, existing_stations=0, phases=(5, 10), years=(2025, 2026))
    assert df["phase"].isna().sum() == 2
    assert df["phase"].value_counts().to_dict() == {2025: 5, 2026: 5}
    with pytest.raises(InputError):
        phase_plan(sol, existing_stations=0, phases=(10, 5), years=(2025, 2026))
