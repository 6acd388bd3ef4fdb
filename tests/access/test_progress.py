"""Coverage at each year end equals a plain analysis of the stations built by then."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skillcircle.access.analysis import Analysis, Inputs, analyse, load_inputs
from skillcircle.access.progress import build_years, progress_coverage
from skillcircle.study import Study


def _subset_analysis(inputs: Inputs, mask: np.ndarray) -> Analysis:
    kept = inputs.stations.stations[mask].reset_index(drop=True)
    stations = dataclasses.replace(inputs.stations, stations=kept)
    sub = dataclasses.replace(inputs, stations=stations)
    return analyse(inputs=sub, with_isochrones=False, with_gaps=False)


def test_hand_years(hand_study: dict, tmp_path: Path) -> None:
    ledger = pd.read_csv(hand_study["stations"])
    ledger["建成日期"] = ["2025-03-01", "2026-11-30", "2026"]
    path = tmp_path / "dated.csv"
    ledger.to_csv(path, index=False)
    study = Study.from_options(**{**hand_study, "stations": path, "speed_kmh": (4.0,)})
    inputs = load_inputs(study)
    built = build_years(inputs.stations.stations)
    assert built.tolist() == [2025, 2026, 2026]
    got = progress_coverage(inputs, years=(2024, 2025, 2026, 2027))
    assert got.years == (2025, 2026, 2027)  # 2024: no station yet
    assert got.totals["stations"].tolist() == [1, 3, 3]
    for year, pct in zip(got.years, got.totals["coverage_pct"], strict=True):
        plain = _subset_analysis(inputs, built <= year)
        assert pct == pytest.approx(plain.headline.coverage_pct, abs=1e-9)
    assert got.totals["population"].iloc[0] == pytest.approx(450.0)
    assert got.totals["coverage_pct"].iloc[1] == got.totals["coverage_pct"].iloc[2]


@pytest.mark.data
def test_yuexiu_years_equal_report(data_root: Path) -> None:
    from skillcircle.demo import demo_study

    inputs = load_inputs(demo_study(data_root=data_root))
    built = build_years(inputs.stations.stations)
    got = progress_coverage(inputs, years=tuple(range(2023, 2028)))
    assert got.totals["stations"].tolist() == [13, 21, 21, 21, 21]
    assert got.districts_without_station[2023] == ()
    assert got.by_subdistrict is not None
    for year in (2023, 2024):
        plain = _subset_analysis(inputs, built <= year)
        pct = got.totals.set_index("year").loc[year, "coverage_pct"]
        assert pct == pytest.approx(plain.headline.coverage_pct, abs=0.01)
        assert plain.by_subdistrict is not None
        rows = got.by_subdistrict[got.by_subdistrict["year"] == year].drop(columns="year")
        pd.testing.assert_frame_equal(
            rows.reset_index(drop=True), plain.by_subdistrict.reset_index(drop=True)
        )
