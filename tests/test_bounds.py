"""Every number of a study has planner-sensible bounds, checked in one place, named in errors.

Limits (skillcircle.settings.LIMITS, skillcircle.study.MAX_BUFFER_M,
skillcircle.siting.suggest): minutes (0, 120], speed_kmh (0, 10], max_snap_m (0, 5000],
walkway_half_width_m (0, 200], buffer_m [0, 50 000]; a projected CRS whose scale error at the
study area exceeds 1 % is refused.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from skillcircle._errors import InputError, SettingsError, SkillcircleError
from skillcircle.settings import LIMITS, MAX_SCALE_ERROR, Settings, check_crs_distortion
from skillcircle.siting.suggest import check_plan_options
from skillcircle.study import MAX_BUFFER_M, Study, build_settings, check_buffer_m


# ---------------------------------------------------------------------------- Settings limits
@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("minutes", 10_000.0),
        ("minutes", 1e300),
        ("speed_kmh", 60.0),  # a car, not a walk
        ("max_snap_m", 5_000.5),
        ("walkway_half_width_m", 250.0),
        ("network_gap_m", 150.0),
    ],
)
def test_a_setting_above_its_limit_is_refused_naming_it(name: str, bad: float) -> None:
    with pytest.raises(SettingsError) as info:
        Settings(**{name: bad})
    assert str(info.value) == f"setting {name} must be at most {LIMITS[name]:g}, got {bad!r}"
    assert info.value.params == (name,)


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_each_limit_itself_is_allowed(name: str) -> None:
    s = Settings(**{name: LIMITS[name]})
    assert getattr(s, name) == LIMITS[name]


def test_limits_are_the_documented_ones() -> None:
    assert LIMITS == {
        "minutes": 120.0,
        "speed_kmh": 10.0,
        "max_snap_m": 5000.0,
        "walkway_half_width_m": 200.0,
        "network_gap_m": 100.0,
    }
    assert Settings(network_gap_m=0).network_gap_m == 0  # no joined-gaps figure
    # at the limits a circle is 20 km of walking: still finite, still a walk
    assert Settings(minutes=120, speed_kmh=10).walk_distance_m == pytest.approx(20_000.0)


def test_study_file_minutes_1e300_names_the_file_and_the_key(tmp_path: Path) -> None:
    f = tmp_path / "study.toml"
    f.write_text('stations = "a.csv"\nnetwork = "b.gpkg"\nminutes = 1e300\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        Study.from_toml(f)
    assert str(info.value) == f"{f}: setting minutes must be at most 120, got 1e+300"


def test_flag_value_above_a_limit_names_the_parameter() -> None:
    with pytest.raises(InputError) as info:
        build_settings(minutes=10_000.0)
    assert info.value.params == ("minutes",)
    with pytest.raises(InputError, match=r"speed_kmh must be at most 10, got 60\.0"):
        Study.from_options(stations="a.csv", network="b.gpkg", speed_kmh="4.0,60")


# ---------------------------------------------------------------------------- buffer_m
@pytest.mark.parametrize("bad", [math.nan, -1e9, -0.5, math.inf, MAX_BUFFER_M + 1])
def test_buffer_m_out_of_range_is_refused(bad: float) -> None:
    with pytest.raises(InputError) as info:
        Study(stations=Path("a.csv"), network="b.gpkg", buffer_m=bad)
    assert info.value.params == ("buffer_m",)
    assert str(info.value) == f"buffer_m must be between 0 and 50,000 metres, got {bad!r}"


@pytest.mark.parametrize("bad", ["1000", True, None])
def test_buffer_m_must_be_a_number(bad: object) -> None:
    with pytest.raises(InputError, match=r"^buffer_m must be a number of metres"):
        check_buffer_m(bad)


@pytest.mark.parametrize("good", [0, 0.0, 1000, MAX_BUFFER_M])
def test_buffer_m_in_range_is_kept(good: float) -> None:
    assert Study(stations=Path("a.csv"), network="b.gpkg", buffer_m=good).buffer_m == good


# ---------------------------------------------------------------------------- CRS distortion
def test_web_mercator_in_guangzhou_is_refused_with_its_error_and_the_utm_zone() -> None:
    lat = 23.13
    with pytest.raises(SettingsError) as info:
        check_crs_distortion("EPSG:3857", lon=113.26, lat=lat)
    expected = 100 * (1 / math.cos(math.radians(lat)) - 1)  # Mercator scale is sec(lat): 8.7 %
    assert f"stretches distances by {expected:.1f} %" in str(info.value)
    assert "EPSG:32649" in str(info.value)  # 113.26° E lies in UTM zone 49 (108-114° E)
    assert info.value.params == ("crs",)
    assert "\n" not in str(info.value)


def test_web_mercator_on_the_equator_and_utm_in_its_zone_are_fine() -> None:
    assert check_crs_distortion("EPSG:3857", lon=10.0, lat=0.0) == pytest.approx(0.0, abs=1e-9)
    # UTM: scale 0.9996 on the central meridian (111° E for zone 49)
    assert check_crs_distortion("EPSG:32649", lon=111.0, lat=23.0) == pytest.approx(4e-4, abs=1e-6)
    # CGCS2000 3-degree Gauss-Krüger on 114° E at Guangzhou: scale 1 + (Δλ cos φ)² / 2
    d = math.radians(114.0 - 113.26) * math.cos(math.radians(23.13))
    error = check_crs_distortion("EPSG:4547", lon=113.26, lat=23.13)
    assert error == pytest.approx(d * d / 2, rel=0.02)
    assert error < MAX_SCALE_ERROR


def test_utm_zone_far_from_the_study_area_is_refused() -> None:
    # UTM 50N (117° E) used for Urumqi (87.6° E): ~30° off its central meridian
    with pytest.raises(SettingsError, match="EPSG:32650 stretches distances by"):
        check_crs_distortion("EPSG:32650", lon=87.6, lat=43.8)


# ---------------------------------------------------------------------------- plan options
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"add": 3, "min_per_district": 5}, "^min_per_district=5 asks for at least 5 new site"),
        (
            {"add": 3, "min_per_district": {"110101": 2, "110102": 2}},
            "^the per-district minimums \\(min_per_district\\) total 4 new sites, more than add=3$",
        ),
        ({"target_stations": 2, "min_per_district": 3}, "more than target_stations=2$"),
        (
            {"phases": ((2030, 4),), "min_per_district": {"110101": 5}},
            "more than the last phase total of 4 stations$",
        ),
        ({"add": 5, "min_per_district": 3, "max_per_district": 2}, "every district \\(3 > 2\\)"),
        (
            {"add": 5, "min_per_district": {"110101": 3}, "max_per_district": 2},
            "for district 110101 \\(3 > 2\\)",
        ),
        (
            {"add": 5, "min_per_district": 1, "max_per_district": {"110102": 0}},
            "for district 110102 \\(1 > 0\\)",
        ),
        ({"add": 5, "max_per_district": 0}, "^max_per_district 0 allows no new site"),
        ({"add": 5, "min_per_district": -1}, "^min_per_district must be a whole number"),
        ({"add": 5, "max_per_district": {"110101": 1.5}}, "for district 110101 must be a whole"),
        ({"add": 2.5}, "^add must be a positive"),
        ({"add": -1}, "^add must be a positive"),
        ({"target_stations": 0}, "^target_stations must be a positive"),
        ({"target_coverage_pct": 100.5}, "^target_coverage_pct must be in"),
        ({"target_coverage_pct": math.nan}, "^target_coverage_pct must be in"),
        ({"add": 1, "min_spacing_m": math.inf}, "^min_spacing_m must be a finite"),
        ({"add": 1, "min_spacing_m": math.nan}, "^min_spacing_m must be a finite"),
        ({"add": 1, "time_limit_s": math.inf}, "^time_limit_s must be a finite"),
        ({"add": 1, "time_limit_s": -3}, "^time_limit_s must be a finite"),
        ({"add": 1, "candidate_spacing_m": math.nan}, "^candidate_spacing_m must be"),
        ({"add": 1, "candidate_spacing_m": 1e6}, "^candidate_spacing_m must be .* up to 5,000"),
    ],
)
def test_impossible_plan_options_are_refused_without_data(options: dict, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        check_plan_options(**options)
    assert info.value.params  # the CLI turns them into its flags
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "options",
    [
        {"add": 3, "min_per_district": 3},
        {"add": 3, "min_per_district": {"110101": 2, "110102": 1}, "max_per_district": 2},
        {"add": 3, "max_per_district": {"110101": 0}},  # exclude one district: allowed
        {"target_coverage_pct": 100, "min_per_district": 9, "phases": ((2030, 4),)},
        {"add": 1, "min_spacing_m": 0, "candidate_spacing_m": 5000},
    ],
)
def test_feasible_plan_options_pass(options: dict) -> None:
    assert check_plan_options(**options) is None


def test_every_bound_error_is_a_skillcircle_error() -> None:
    for call in (
        lambda: Settings(minutes=121),
        lambda: check_buffer_m(-1),
        lambda: check_crs_distortion("EPSG:3857", lon=113.0, lat=23.0),
        lambda: check_plan_options(add=1, min_per_district=2),
    ):
        with pytest.raises(SkillcircleError):
            call()
