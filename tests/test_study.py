import dataclasses
import json
from pathlib import Path

import pytest

from skillcircle import InputError, InputFileNotFoundError, Settings, SettingsError
from skillcircle.study import Study, build_settings, parse_speeds


def test_speeds_from_text_list_or_number():
    assert parse_speeds("4.0,3.0") == (4.0, 3.0)
    assert parse_speeds([4, 3.5]) == (4.0, 3.5)
    assert parse_speeds(5) == (5.0,)
    with pytest.raises(InputError, match="speed_kmh"):
        parse_speeds("fast")
    with pytest.raises(InputError, match="speed_kmh"):
        parse_speeds("0")


def test_toml_paths_are_relative_to_the_file_and_flags_win(tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLCIRCLE_DATA", "/data/shared")
    f = tmp_path / "yuexiu.toml"
    f.write_text(
        'stations = "ledger.xlsx"\n'
        'coords = "gcj02"\n'
        'network = "${SKILLCIRCLE_DATA}/yuexiu/roads_osm.gpkg"\n'
        'districts = "cnmaps:440104"\n'
        "minutes = 15\n"
        "speed_kmh = [4.0, 3.0]\n",
        encoding="utf-8",
    )
    s = Study.from_toml(f, minutes=10, coords=None)
    assert s.stations == tmp_path / "ledger.xlsx"
    assert s.network == "/data/shared/yuexiu/roads_osm.gpkg"
    assert s.districts == "cnmaps:440104"
    assert s.coords == "gcj02"
    assert s.minutes == 10
    assert s.speeds_kmh == (4.0, 3.0)
    assert s.settings().walk_distance_m == pytest.approx(4000 * 10 / 60)


def test_study_errors(tmp_path):
    with pytest.raises(InputFileNotFoundError):
        Study.from_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("stations = [", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.toml"):
        Study.from_toml(bad)
    with pytest.raises(InputError, match="network"):
        Study.from_options(stations=Path("a.csv"))
    with pytest.raises(InputError, match="unknown study option"):
        Study.from_options(stations="a.csv", network="b.gpkg", colour="red")


def test_none_switches_districts_off():
    s = Study.from_options(stations="a.csv", network="b.gpkg", districts="none")
    assert s.districts is None
    # No city default: without districts there are none (and no study-area check).
    plain = Study.from_options(stations="a.csv", network="b.gpkg")
    assert plain.districts is None
    # The CRS is chosen from the study area when the inputs are read ("auto").
    assert plain.crs is None
    assert plain.settings().crs is None
    explicit = Study.from_options(stations="a.csv", network="b.gpkg", crs="EPSG:32650")
    assert explicit.settings().crs == "EPSG:32650"
    assert Study.from_options(stations="a.csv", network="b.gpkg", crs="auto").crs is None


def test_flag_paths_are_relative_to_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "studies").mkdir()
    f = tmp_path / "studies" / "s.toml"
    f.write_text('stations = "ledger.csv"\nnetwork = "roads.gpkg"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    from_file = Study.from_toml(f)
    assert from_file.stations == tmp_path / "studies" / "ledger.csv"
    flagged = Study.from_toml(f, stations="mine.csv")
    assert flagged.stations == Path("mine.csv")  # the flag's path, read from the current folder
    assert flagged.network == str(tmp_path / "studies" / "roads.gpkg")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("minutes", "true"),
        ("calibrate", '"no"'),
        ("retain_all", "1"),
        ("buffer_m", '"x"'),
        ("speed_kmh", "true"),
    ],
)
def test_wrong_types_in_a_study_file_are_refused(tmp_path, key, value):
    f = tmp_path / "s.toml"
    f.write_text(f'stations = "a.csv"\nnetwork = "b.gpkg"\n{key} = {value}\n', encoding="utf-8")
    with pytest.raises(InputError, match=key) as info:
        Study.from_toml(f)
    assert "s.toml" in str(info.value)


def test_speeds_of_the_wrong_kind():
    for bad in (None, True, {"a": 1}):
        with pytest.raises(InputError, match="speed_kmh"):
            parse_speeds(bad)


# ---------------------------------------------------------------------- one configuration path
#: A value other than the default for every Settings field. A new Settings field makes the
#: wiring tests below fail until it has a value here and is a study option and a flag.
NOT_DEFAULT = {
    "minutes": 7.5,
    "speed_kmh": 3.3,
    "max_snap_m": 123.0,
    "crs": "EPSG:32649",
    "cache_dir": "my-cache",
    "walkway_half_width_m": 12.5,
    "network_gap_m": 30.0,
}


def test_every_setting_has_a_test_value():
    names = [f.name for f in dataclasses.fields(Settings)]
    assert sorted(names) == sorted(NOT_DEFAULT), "wire the new Settings field, then add it here"
    for name in names:
        assert getattr(Settings(), name) != NOT_DEFAULT[name]


def test_every_setting_comes_from_the_study_file(tmp_path):
    f = tmp_path / "s.toml"
    lines = ['stations = "a.csv"', 'network = "b.gpkg"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in NOT_DEFAULT.items()]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = Study.from_toml(f).settings()
    for name, value in NOT_DEFAULT.items():
        if name == "cache_dir":
            assert s.cache_dir == tmp_path / "my-cache"  # relative to the study file
        else:
            assert getattr(s, name) == value, name


def test_study_defaults_are_the_settings_defaults():
    s = Study(stations=Path("a.csv"), network="b.gpkg")
    assert s.settings() == Settings()
    assert (s.minutes, s.speeds_kmh, s.max_snap_m, s.crs) == (15.0, (4.0,), 500.0, Settings().crs)
    assert s.walkway_half_width_m == Settings().walkway_half_width_m
    assert s.cache_dir == Settings().cache_dir


def test_settings_use_the_headline_speed():
    s = Study.from_options(stations="a.csv", network="b.gpkg", speed_kmh="3.0,4.5", minutes=20)
    assert s.speeds_kmh == (3.0, 4.5)
    assert s.settings().speed_kmh == 3.0
    assert s.settings().walk_distance_m == pytest.approx(1000.0)  # 3 km/h x 20 min


def _refusal(make, error):
    """The exception ``make()`` raises (of class ``error``), or ``None`` when it succeeds."""
    try:
        make()
    except error as exc:
        return exc
    return None


@pytest.mark.parametrize(
    "name", ["minutes", "speed_kmh", "max_snap_m", "walkway_half_width_m", "network_gap_m"]
)
@pytest.mark.parametrize("value", [0, -2.5, float("nan"), float("inf"), True, "15", 1e-3, 60.0])
def test_study_and_settings_agree_on_numbers(name, value):
    key = "speeds_kmh" if name == "speed_kmh" else name
    if name == "speed_kmh" and isinstance(value, str):  # speeds are text in a study: "4.0,3.0"
        # "15" is read as 15 km/h: above the walking limit (10 km/h), as Settings refuses it
        with pytest.raises(InputError, match=r"speed_kmh must be at most 10, got 15\.0"):
            Study(stations=Path("a.csv"), network="b.gpkg", speeds_kmh=value)
        assert Study(stations=Path("a.csv"), network="b.gpkg", speeds_kmh="4.5").speeds_kmh == (
            4.5,
        )
        return
    by_settings = _refusal(lambda: Settings(**{name: value}), SettingsError)
    by_study = _refusal(
        lambda: Study(stations=Path("a.csv"), network="b.gpkg", **{key: value}), InputError
    )
    assert (by_study is None) == (by_settings is None)
    if by_study is not None:
        assert by_study.params == (name,)
        assert name in str(by_study)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:999999", "EPSG:32650"])
def test_study_and_settings_agree_on_the_crs(crs):
    by_settings = _refusal(lambda: Settings(crs=crs), SettingsError)
    by_study = _refusal(
        lambda: Study(stations=Path("a.csv"), network="b.gpkg", crs=crs), InputError
    )
    assert str(by_study) == str(by_settings)  # the same words (or both None)
    if by_study is not None:
        assert by_study.params == ("crs",)


def test_a_bad_file_value_names_the_file_a_bad_override_does_not(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('stations = "a.csv"\nnetwork = "b.gpkg"\nmax_snap_m = -1\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        Study.from_toml(f)
    assert str(info.value) == f"{f}: setting max_snap_m must be a positive number, got -1"
    assert info.value.params == ()  # a key of the file, not a parameter
    with pytest.raises(InputError) as info:
        Study.from_toml(f, max_snap_m=50.0, speed_kmh="4,0")
    assert str(info.value) == "setting speed_kmh must be a positive number, got 0.0"
    assert info.value.params == ("speed_kmh",)
    assert Study.from_toml(f, max_snap_m=50.0).settings().max_snap_m == 50.0


def test_cache_dir_must_be_a_path():
    with pytest.raises(InputError, match="cache_dir") as info:
        Study(stations=Path("a.csv"), network="b.gpkg", cache_dir=3)
    assert info.value.params == ("cache_dir",)


def test_build_settings_names_the_bad_parameter():
    assert build_settings(minutes=None, crs="EPSG:32650").crs == "EPSG:32650"
    with pytest.raises(InputError) as info:
        build_settings(minutes=10, max_snap_m=0)
    assert info.value.params == ("max_snap_m",)
    with pytest.raises(InputError, match="colour is not a setting"):
        build_settings(colour="red")
