from pathlib import Path

import pytest

from skillcircle import InputError, InputFileNotFoundError
from skillcircle.study import Study, parse_speeds


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
