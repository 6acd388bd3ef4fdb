from pathlib import Path

import pytest

from skillcircle import Settings, SettingsError
from skillcircle.settings import default_cache_dir


def test_defaults_give_the_gb50180_kilometre():
    s = Settings()
    assert s.minutes == 15
    assert s.speed_kmh == 4.0
    assert s.walk_distance_m == pytest.approx(1000.0)
    assert s.crs is None  # resolved from the study area by load_inputs
    assert s.max_snap_m == 500


def test_elderly_speed_shrinks_the_circle():
    assert Settings(speed_kmh=3.0).walk_distance_m == pytest.approx(750.0)
    assert Settings(minutes=10, speed_kmh=4.8).walk_distance_m == pytest.approx(800.0)


@pytest.mark.parametrize(
    "change",
    [
        {"minutes": 0},
        {"speed_kmh": -1},
        {"max_snap_m": float("nan")},
        {"minutes": "15"},
        {"minutes": True},
    ],
)
def test_bad_numbers_are_refused(change):
    with pytest.raises(SettingsError) as info:
        Settings(**change)
    assert isinstance(info.value, ValueError)
    assert next(iter(change)) in str(info.value)


def test_crs_must_be_projected():
    with pytest.raises(SettingsError, match="projected"):
        Settings(crs="EPSG:4326")
    with pytest.raises(SettingsError, match="not a known CRS"):
        Settings(crs="EPSG:999999")
    assert Settings(crs="EPSG:32649").crs == "EPSG:32649"


def test_replace_validates_and_keeps_the_original():
    s = Settings()
    t = s.replace(minutes=10)
    assert (s.minutes, t.minutes) == (15, 10)
    with pytest.raises(SettingsError):
        s.replace(minutes=-5)


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SKILLCIRCLE_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SKILLCIRCLE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "skillcircle"
    assert isinstance(Settings(cache_dir="rel").cache_dir, Path)
