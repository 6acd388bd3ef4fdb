from __future__ import annotations

import pytest

from skillcircle import InputError, InputFileNotFoundError
from skillcircle.inputs.census import census_for, district_names, load_census, packaged_census
from skillcircle.profiles.guangzhou import GUANGZHOU

CENSUS_FILE = GUANGZHOU.census_file


def test_packaged_census_totals():
    census = load_census(profile=GUANGZHOU)
    assert len(census) == 11
    assert list(census.columns[:3]) == ["district_code", "district_name", "population"]
    assert census["population"].dtype == "int64"
    assert int(census["population"].sum()) == 18_676_605
    yuexiu = census.set_index("district_code").loc["440104"]
    assert yuexiu["district_name"] == "越秀区"
    assert int(yuexiu["population"]) == 1_038_643
    # Other columns are kept: male + female = population for every district.
    assert (census["male"].astype(int) + census["female"].astype(int) == census["population"]).all()


def test_census_of_the_study_city(caplog):
    # A study in the profiled city gets its census; a Beijing study gets none, and says so.
    census = census_for(["440104"])
    assert census is not None
    assert len(census) == 11
    assert packaged_census(GUANGZHOU).name == CENSUS_FILE
    with caplog.at_level("INFO", logger="skillcircle.inputs.census"):
        assert census_for(["110101"]) is None
    assert "no census table for districts 110101" in caplog.text
    with pytest.raises(InputError, match="needs a path"):
        load_census()


def test_district_names():
    names = district_names()
    assert names == {
        "440103": "荔湾区",
        "440104": "越秀区",
        "440105": "海珠区",
        "440106": "天河区",
        "440111": "白云区",
        "440112": "黄埔区",
        "440113": "番禺区",
        "440114": "花都区",
        "440115": "南沙区",
        "440117": "从化区",
        "440118": "增城区",
    }
    names["440104"] = "changed"
    assert district_names()["440104"] == "越秀区"  # each call returns a fresh copy


def test_user_table_with_aliases_and_gbk(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_bytes(
        '区划代码,名称,常住人口\n440104,越秀区,"1,038,643"\n440105,海珠区,10\n'.encode("gbk")
    )
    census = load_census(path)
    assert census["district_code"].tolist() == ["440104", "440105"]
    assert census["population"].tolist() == [1_038_643, 10]


@pytest.mark.data
def test_matches_the_shared_data_folder(data_root):
    shared = load_census(data_root / "guangzhou" / "census2020_districts.csv")
    ours = load_census(profile=GUANGZHOU)
    assert shared["district_code"].tolist() == ours["district_code"].tolist()
    assert shared["population"].tolist() == ours["population"].tolist()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,name\n440104,越秀区\n", "no population column"),
        (
            "code,name,population\n4401,越秀区,5\n",
            "row 1, field 'district_code': district code '4401'",
        ),
        ("code,name,population\n440104,越秀区,-5\n", "row 1, field 'population'"),
        ("code,name,population\n440104,a,1\n440104,b,2\n", "440104 appears more than once"),
    ],
)
def test_bad_tables(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_census(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileNotFoundError, match="census table not found"):
        load_census(tmp_path / "nope.csv")
