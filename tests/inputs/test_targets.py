"""Targets: the targets file (names or codes, rejects with reasons) and the profile's defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skillcircle._errors import InputError
from skillcircle.inputs.targets import profile_targets, read_targets, status_text
from skillcircle.profiles.base import CityProfile

DISTRICTS = {"990101": "东区", "990102": "西区"}
PROFILE = CityProfile(
    key="test",
    name="测试市 Test",
    adcode="9901",
    districts="cnmaps:9901",
    crs="EPSG:4547",
    phases=((2025, 10), (2026, 12)),
    trainings_target=5000,
    every_district_by=2025,
)


def _file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "targets.csv"
    path.write_text("区,年份,站点数,培训人次\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_read_by_name_and_code(tmp_path: Path) -> None:
    path = _file(tmp_path, ["东区,2025,4,1000", "990102,2025,3,", "东区,2026,6,2500"])
    got = read_targets(path, districts=DISTRICTS)
    assert got.source == "file"
    rows = got.by_district
    assert rows["district_code"].tolist() == ["990101", "990102", "990101"]
    assert rows["year"].tolist() == [2025, 2025, 2026]
    assert rows["stations"].tolist() == [4, 3, 6]
    assert rows["trainings"].iloc[0] == 1000
    assert np.isnan(rows["trainings"].iloc[1])
    # city-wide: the sum when every district has a target that year, else none
    city = got.city.set_index("year")
    assert city.loc[2025, "stations"] == 7
    assert np.isnan(city.loc[2025, "trainings"])  # 西区 has none
    assert np.isnan(city.loc[2026, "stations"])  # 西区 has none


def test_bad_rows_all_listed(tmp_path: Path) -> None:
    path = _file(tmp_path, ["东城,2025,4,1000", "西区,25,3,", "西区,2026,-2,", "东区,2026,1.5,"])
    with pytest.raises(InputError) as info:
        read_targets(path, districts=DISTRICTS)
    text = str(info.value)
    assert "4 bad row(s)" in text
    assert "'东城' is not in the study; closest: 东区" in text
    assert "year '25'" in text
    assert "'-2' is not a whole number" in text
    assert "'1.5' is not a whole number" in text


def test_second_row_for_a_year_rejected(tmp_path: Path) -> None:
    path = _file(tmp_path, ["东区,2025,4,", "990101,2025,5,"])
    with pytest.raises(InputError, match="second row for 2025"):
        read_targets(path, districts=DISTRICTS)


def test_profile_targets_whole_city() -> None:
    got = profile_targets(
        PROFILE, district_codes=list(DISTRICTS), years=(2024, 2025, 2026), whole_city=True
    )
    assert got.source == "profile"
    # every district needs one station from 2025 on, none before
    assert sorted(zip(got.by_district["district_code"], got.by_district["year"], strict=True)) == [
        ("990101", 2025),
        ("990101", 2026),
        ("990102", 2025),
        ("990102", 2026),
    ]
    assert (got.by_district["stations"] == 1).all()
    city = got.city.set_index("year")
    assert np.isnan(city.loc[2024, "stations"])
    assert city.loc[2025, "stations"] == 10
    assert city.loc[2026, "stations"] == 12
    assert np.isnan(city.loc[2025, "trainings"])
    assert city.loc[2026, "trainings"] == 5000


def test_profile_targets_part_of_city_has_no_city_totals() -> None:
    got = profile_targets(PROFILE, district_codes=["990101"], years=(2025, 2026), whole_city=False)
    assert got.by_district["stations"].tolist() == [1, 1]
    assert got.city[["stations", "trainings"]].isna().all().all()


@pytest.mark.parametrize(
    ("actual", "target", "text"),
    [(3, 2, "达标 met"), (2, 2, "达标 met"), (240, 250, "差 10 behind by 10"), (1, np.nan, "")],
)
def test_status_text(actual: float, target: float, text: str) -> None:
    assert status_text(actual, target) == text
