from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from skillcircle.cli import main
from skillcircle.inputs.datasets import get_path

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "stations"


def test_check_gbk_gcj02_ledger(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "stations", "check", str(FIXTURES / "gbk_gcj02.csv"),
            "--coords", "gcj02", "--districts", "cnmaps:4401", "--out", str(out),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    assert "kept 2 stations, rejected 3 rows" in captured.out
    assert "越秀区" in captured.out
    assert "海珠区" in captured.out
    assert "missing coordinate" in captured.out
    assert sorted(p.name for p in out.iterdir()) == [
        ".skillcircle-manifest.json",  # what the run wrote: a rerun replaces only these
        "stations.geojson",
        "stations_rejected.csv",
    ]
    stations = gpd.read_file(out / "stations.geojson")
    assert stations["district_code"].tolist() == ["440104", "440105"]
    assert stations["district_flag"].fillna("").tolist() == ["", ""]
    rejected = pd.read_csv(out / "stations_rejected.csv", encoding="utf-8-sig")
    assert rejected["row"].tolist() == [3, 4, 5]
    assert rejected["reason"].nunique() == 3


def _assert_one_line_error(capsys, name: str, out: Path, code: int) -> str:
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert name in lines[0]
    assert "Traceback" not in captured.err
    assert not out.exists()
    return lines[0]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "station ledger not found"),
        (b"", "the file is empty"),
        (bytes(range(256)) * 8, "looks like a binary file"),
        ("名称,类型,地址\n甲,社区型,某路\n".encode(), "no coordinate columns"),
    ],
    ids=["missing", "empty", "binary", "no-coordinates"],
)
def test_file_errors_exit_2_with_one_line(tmp_path, capsys, content, fragment):
    ledger = tmp_path / "ledger.csv"
    if content is not None:
        ledger.write_bytes(content)
    out = tmp_path / "out"
    code = main(["stations", "check", str(ledger), "--out", str(out)])
    line = _assert_one_line_error(capsys, str(ledger), out, code)
    assert fragment in line


def test_no_coordinates_fixture(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["stations", "check", str(FIXTURES / "no_coordinates.csv"), "--out", str(out)])
    line = _assert_one_line_error(capsys, "no_coordinates.csv", out, code)
    assert line.endswith("found columns: 名称, 类型, 地址")


def test_bad_options_write_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    ledger = str(FIXTURES / "ledger_wgs84.csv")
    code = main(["stations", "check", ledger, "--coords", "utm", "--out", str(out)])
    line = _assert_one_line_error(capsys, "utm", out, code)
    assert "unknown coordinate system" in line
    code = main(["stations", "check", ledger, "--districts", "cnmaps:999999", "--out", str(out)])
    _assert_one_line_error(capsys, "cnmaps:999999", out, code)
    missing = tmp_path / "subs.gpkg"
    code = main(["stations", "check", ledger, "--subdistricts", str(missing), "--out", str(out)])
    _assert_one_line_error(capsys, str(missing), out, code)


def test_out_is_a_file(tmp_path, capsys):
    out = tmp_path / "out.txt"
    out.write_text("keep me", encoding="utf-8")
    code = main(["stations", "check", str(FIXTURES / "ledger_wgs84.csv"), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1
    assert "not a folder" in captured.err
    assert out.read_text(encoding="utf-8") == "keep me"


def test_out_is_required(tmp_path, capsys):
    code = main(["stations", "check", str(FIXTURES / "ledger_wgs84.csv")])
    assert code == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.data
def test_check_with_subdistricts(tmp_path, capsys, data_root):
    out = tmp_path / "out"
    sample = get_path("yuexiu_stations")
    subs = data_root / "yuexiu" / "subdistricts_osm.gpkg"
    code = main(
        [
            "stations", "check", str(sample), "--districts", "cnmaps:440104",
            "--subdistricts", str(subs), "--out", str(out),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "kept 21 stations, rejected 0 rows" in captured.out
    stations = gpd.read_file(out / "stations.geojson")
    assert stations["subdistrict_code"].str.startswith("440104").all()
    assert stations["subdistrict_code"].nunique() == 18
