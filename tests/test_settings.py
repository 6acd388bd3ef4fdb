import os
from pathlib import Path

import numpy as np
import pytest

from skillcircle import InputError, Settings, SettingsError
from skillcircle._validate import positive
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


# ------------------------------------------------------------------ the one number validator
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (0, "0"),
        (-2.5, "-2.5"),
        (True, "True"),
        ("15", "'15'"),
        (None, "None"),
        (np.float64("nan"), "nan"),
    ],
)
def test_positive_refuses_with_the_parameter_name(value, shown):
    with pytest.raises(InputError) as info:
        positive(value, "minutes")
    assert str(info.value) == f"minutes must be a positive number, got {shown}"


def test_positive_accepts_numbers_and_options():
    assert positive(15, "minutes") == 15.0
    assert type(positive(np.int64(3), "n")) is float
    assert positive(np.float32(0.5), "x") == 0.5
    assert positive(0, "limit", allow_zero=True) == 0.0
    assert positive(float("inf"), "limit", allow_inf=True) == float("inf")
    with pytest.raises(InputError, match="limit must be a non-negative number, got -1"):
        positive(-1, "limit", allow_zero=True, allow_inf=True)
    with pytest.raises(InputError, match="got nan"):
        positive(float("nan"), "limit", allow_zero=True, allow_inf=True)
    with pytest.raises(SettingsError) as info:
        positive(0, "speed_kmh", error=SettingsError)
    assert str(info.value) == "setting speed_kmh must be a positive number, got 0"


def test_every_copy_now_uses_the_validator():
    from skillcircle.access import gapzones, isochrones, routing, snapping
    from skillcircle.network import quality

    for module in (gapzones, isochrones, routing, snapping, quality):
        assert module.positive is positive
    with pytest.raises(SettingsError, match="setting minutes must be a positive number, got nan"):
        Settings(minutes=float("nan"))


# ---------------------------------------------------------------------------- test isolation
def test_tests_never_use_the_users_cache(isolated_caches):
    # tests/conftest.py points SKILLCIRCLE_CACHE and XDG_CACHE_HOME at a session temp folder
    assert Settings().cache_dir.is_relative_to(isolated_caches)
    assert not Settings().cache_dir.is_relative_to(Path.home() / ".cache")
    assert Path(os.environ["XDG_CACHE_HOME"]).is_relative_to(isolated_caches)
    from skillcircle.study import Study

    study = Study(stations=Path("a.csv"), network="b.gpkg")
    assert study.settings().cache_dir.is_relative_to(isolated_caches)


def test_numba_kernels_are_not_cached_in_the_users_cache():
    import numba

    import skillcircle

    if numba.config.CACHE_DIR:  # set by tests/conftest.py for a read-only install
        assert not Path(numba.config.CACHE_DIR).is_relative_to(Path.home() / ".cache")
    else:  # numba caches beside the kernels' source, inside the package
        assert os.access(Path(skillcircle.__file__).parent, os.W_OK)
