from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely import Point, box

from skillcircle import InputError, InputFileNotFoundError
from skillcircle.inputs.boundaries import read_districts, read_subdistricts
from skillcircle.inputs.coords import wgs84_to_bd09, wgs84_to_gcj02
from skillcircle.inputs.datasets import get_path
from skillcircle.inputs.stations import (
    STATION_COLUMNS,
    normalise_type,
    read_stations,
    station_counts,
    write_stations,
)

HERE = Path(__file__).resolve().parents[1]
FIXTURES = HERE / "data" / "stations"
HEADER = "名称,类型,区,街道,经度,纬度"
# The true WGS84 positions behind gbk_gcj02.csv (see tests/data/README.md).
TRUE_A = (113.266000, 23.139500)
TRUE_B = (113.324520, 23.106420)


def metres(lon1, lat1, lon2, lat2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(h))


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def yuexiu_box() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"district_code": ["440104", "440105"], "district_name": ["越秀区", "海珠区"]},
        geometry=[box(113.23, 23.11, 113.32, 23.17), box(113.23, 23.05, 113.40, 23.11)],
        crs="EPSG:4326",
    )


# --- the acceptance fixture ------------------------------------------------------------------


def test_gbk_gcj02_ledger():
    path = FIXTURES / "gbk_gcj02.csv"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really GBK
    result = read_stations(path, coords="gcj02")
    assert result.encoding == "gb18030"
    assert result.format == "csv"
    assert result.coords == "gcj02"
    assert result.path == path
    st = result.stations
    assert st.crs == "EPSG:4326"
    assert tuple(st.columns[: len(STATION_COLUMNS)]) == STATION_COLUMNS
    assert st["name"].tolist() == ["越秀公园社区技能加油站", "广州塔园区技能加油站"]
    assert st["type"].tolist() == ["community", "park"]
    assert st["row"].tolist() == [1, 2]
    # Within 1 m (in fact ~0.1 m: the GCJ-02 values were rounded to 6 decimals).
    err = metres(st["lon"].to_numpy(), st["lat"].to_numpy(), *np.array([TRUE_A, TRUE_B]).T)
    assert err.max() < 1.0
    assert np.allclose(st.geometry.x, st["lon"])
    assert np.allclose(st.geometry.y, st["lat"])
    # The ledger's own values are kept.
    assert st["ledger_lon"].tolist() == [113.271331, 113.329941]
    assert st["address"].tolist() == ["解放北路示例地址", "阅江西路示例地址"]
    assert st["capacity"].tolist() == [60, 120]
    assert st["year"].tolist() == [2023, 2024]
    # No polygons: the ledger's district is looked up among Guangzhou's districts.
    assert st["district_code"].tolist() == ["440104", "440105"]
    assert st["subdistrict_name"].tolist() == ["流花街道", "赤岗街道"]

    rej = result.rejected
    assert rej["row"].tolist() == [3, 4, 5]
    reasons = rej["reason"].tolist()
    assert reasons[0].startswith(
        "latitude and longitude look swapped (经度=23.170000, 纬度=113.266000)"
    )
    assert reasons[1] == "missing coordinate"
    assert reasons[2] == "duplicate of row 1 (same name within 30 m)"
    assert len(set(reasons)) == 3
    # Rejected rows keep every original column, as text.
    assert list(rej.columns) == [
        "row",
        "reason",
        "名称",
        "类型",
        "区",
        "街道",
        "地址",
        "经度",
        "纬度",
        "容量",
        "建成年份",
    ]
    assert rej["名称"].tolist() == [
        "三元里社区技能加油站",
        "东山社区技能加油站",
        "越秀公园社区技能加油站",
    ]
    assert rej["经度"].tolist() == ["23.170000", "", "113.271401"]


def test_reading_gcj02_as_wgs84_puts_stations_about_600_m_off():
    result = read_stations(FIXTURES / "gbk_gcj02.csv")  # wrong system on purpose
    err = metres(result.stations["lon"].iloc[0], result.stations["lat"].iloc[0], *TRUE_A)
    assert 550 < err < 700


# --- formats and encodings ------------------------------------------------------------------


def _same_stations(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    cols = [
        "name",
        "type",
        "district_code",
        "district_name",
        "subdistrict_name",
        "capacity",
        "year",
    ]
    pd.testing.assert_frame_equal(
        pd.DataFrame(a[cols]).reset_index(drop=True),
        pd.DataFrame(b[cols]).reset_index(drop=True),
        check_dtype=False,
    )
    np.testing.assert_allclose(a["lon"], b["lon"], atol=1e-12)
    np.testing.assert_allclose(a["lat"], b["lat"], atol=1e-12)


def _xlsx_from_csv(csv_path: Path, xlsx_path: Path, title: str | None = None) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    lines = csv_path.read_text("utf-8").splitlines()
    sheet.append(lines[0].split(","))
    for line in lines[1:]:
        cells = line.split(",")
        # Numbers as Excel numbers, as a user's workbook would hold them.
        sheet.append([float(c) if c.replace(".", "").isdigit() else c for c in cells])
    book.save(xlsx_path)
    return xlsx_path


def test_xlsx_and_geojson_read_to_the_same_stations_as_the_csv(tmp_path):
    csv_result = read_stations(FIXTURES / "ledger_wgs84.csv")
    assert len(csv_result.stations) == 3
    assert csv_result.stations["type"].tolist() == ["community", "park", "institution"]
    assert csv_result.encoding == "utf-8"
    xlsx = read_stations(_xlsx_from_csv(FIXTURES / "ledger_wgs84.csv", tmp_path / "l.xlsx"))
    assert xlsx.format == "xlsx"
    assert xlsx.encoding is None
    _same_stations(csv_result.stations, xlsx.stations)
    geo = read_stations(FIXTURES / "ledger_wgs84.geojson")
    assert geo.format == "geojson"
    _same_stations(csv_result.stations, geo.stations)
    assert geo.stations["row"].tolist() == [1, 2, 3]
    assert csv_result.stations["lon"].tolist() == [113.266, 113.32452, 113.291]


def test_xlsx_title_row_is_skipped_and_rows_count_under_the_header(tmp_path):
    path = _xlsx_from_csv(
        FIXTURES / "ledger_wgs84.csv", tmp_path / "t.xlsx", title="越秀区站点台账"
    )
    result = read_stations(path)
    assert len(result.stations) == 3
    assert result.stations["row"].tolist() == [1, 2, 3]


def test_geopackage_in_a_projected_crs(tmp_path):
    geo = gpd.read_file(FIXTURES / "ledger_wgs84.geojson").to_crs("EPSG:4547")
    geo.to_file(tmp_path / "l.gpkg")
    result = read_stations(tmp_path / "l.gpkg")
    assert result.format == "gpkg"
    np.testing.assert_allclose(result.stations["lon"], [113.266, 113.32452, 113.291], atol=1e-9)
    np.testing.assert_allclose(result.stations["lat"], [23.1395, 23.10642, 23.128], atol=1e-9)


def test_geojson_polygon_feature_is_rejected(tmp_path):
    fc = json.loads((FIXTURES / "ledger_wgs84.geojson").read_text("utf-8"))
    fc["features"][1]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[113.3, 23.1], [113.31, 23.1], [113.31, 23.11], [113.3, 23.1]]],
    }
    path = tmp_path / "p.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    result = read_stations(path)
    assert result.stations["row"].tolist() == [1, 3]
    assert result.rejected["row"].tolist() == [2]
    assert result.rejected["reason"].tolist() == ["geometry is a Polygon, not a point"]
    assert result.rejected["名称"].tolist() == ["广州塔园区技能加油站"]


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("utf-16", "utf-16")],
)
def test_encodings(tmp_path, encoding, reported):
    path = write_csv(
        tmp_path / "e.csv", [HEADER, "越秀公园站,社区型,越秀区,流花街道,113.266,23.1395"], encoding
    )
    result = read_stations(path)
    assert result.encoding == reported
    assert result.stations["name"].tolist() == ["越秀公园站"]


def test_english_headers_any_case_and_semicolons(tmp_path):
    path = write_csv(
        tmp_path / "en.csv",
        [
            " Station Name ;TYPE;District;Longitude (WGS84);Lat;Opened;Owner",
            "Park A;Park;440104;113.266;23.1395;2024;city",
        ],
    )
    st = read_stations(path).stations
    assert st["name"].tolist() == ["Park A"]
    assert st["type"].tolist() == ["park"]
    assert st["district_name"].tolist() == ["越秀区"]
    assert st["year"].tolist() == [2024]
    assert st["Owner"].tolist() == ["city"]  # unknown columns keep their name


def test_combined_lonlat_column_and_bd09(tmp_path):
    b_lon, b_lat = (float(v) for v in wgs84_to_bd09(*TRUE_A))
    path = write_csv(
        tmp_path / "bd.csv",
        [
            "名称,类型,经纬度",
            f'A站,社区型,"{b_lon:.6f},{b_lat:.6f}"',
            'B站,社区型,"113.3 x"',
            'C站,社区型,"113.3,23.1,5"',
        ],
    )
    result = read_stations(path, coords="bd09")
    assert metres(result.stations["lon"].iloc[0], result.stations["lat"].iloc[0], *TRUE_A) < 1.0
    assert result.rejected["reason"].tolist() == [
        "non-numeric coordinate 'x'",
        "non-numeric coordinate '113.3,23.1,5'",
    ]


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path):
    path = write_csv(
        tmp_path / "b.csv",
        [HEADER, "A站,社区型,,,113.266,23.1395", ",,,,,", "", "B站,外星型,,,113.27,23.14"],
    )
    result = read_stations(path)
    assert result.stations["row"].tolist() == [1]
    assert result.rejected["row"].tolist() == [4]


# --- row validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("社区型", "community"), ("社区", "community"), ("Community", "community"),
        ("乡村型", "rural"), ("农村", "rural"), ("乡村", "rural"), ("RURAL", "rural"),
        ("园区型", "park"), ("园区", "park"), ("park", "park"),
        ("院校机构型", "institution"), ("院校", "institution"), ("机构", "institution"),
        ("学校", "institution"), ("Institution", "institution"), ("社区型站点", "community"),
        ("食堂", None), ("", None), ("站", None),
    ],
)  # fmt: skip
def test_normalise_type(text, expected):
    assert normalise_type(text) == expected


def test_each_row_problem_has_its_own_reason(tmp_path):
    path = write_csv(
        tmp_path / "v.csv",
        [
            HEADER,
            "好站,社区型,,,113.266,23.1395",  # 1 kept
            "坏经度,社区型,,,abc,23.1",  # 2
            "超范围,社区型,,,200,95",  # 3
            "米制,社区型,,,38000000,2550000",  # 4
            "北京,社区型,,,116.404,39.915",  # 5
            ",社区型,,,113.27,23.14",  # 6
            "无类型,,,,113.28,23.14",  # 7
            "怪类型,食堂,,,113.29,23.14",  # 8
            "半缺,社区型,,,113.3,",  # 9
            "两个问题,食堂,,,,",  # 10
        ],
    )
    result = read_stations(path)
    # No districts, no study area: any valid lon/lat is kept (row 5 is in Beijing).
    assert result.stations["row"].tolist() == [1, 5]
    assert result.stations["cross_border"].tolist() == [False, False]
    reasons = dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))
    assert reasons[2] == "non-numeric coordinate 'abc'"
    assert reasons[3] == "coordinate out of range (longitude must be within ±180, latitude ±90)"
    assert reasons[4].endswith("these look like projected metres, not degrees")
    assert reasons[6] == "missing station name"
    assert reasons[7] == "missing station type"
    assert reasons[8].startswith("unknown station type '食堂' (expected 社区型")
    assert reasons[9] == "missing coordinate"
    assert reasons[10].startswith("missing coordinate; unknown station type '食堂'")
    assert len(result.stations) + len(result.rejected) == 10  # nothing dropped


def test_study_area_polygon(tmp_path):
    path = write_csv(
        tmp_path / "s.csv", [HEADER, "内,社区型,,,113.266,23.1395", "外,社区型,,,113.5,23.3"]
    )
    area = gpd.GeoDataFrame(geometry=[box(113.2, 23.1, 113.3, 23.2)], crs="EPSG:4326").to_crs(
        "EPSG:4547"
    )
    result = read_stations(path, study_area=area)
    assert result.stations["name"].tolist() == ["内"]
    # Nearest point of the box: its corner (113.3, 23.2); geodesic 23.3 km (pyproj.Geod).
    assert result.rejected["reason"].tolist() == [
        "outside the study area (23.3 km away): WGS84 113.500000, 23.300000"
    ]
    # Within max_distance_m it is kept, as a cross-border station.
    wide = read_stations(path, study_area=area, max_distance_m=30_000)
    assert wide.stations["name"].tolist() == ["内", "外"]
    assert wide.stations["cross_border"].tolist() == [False, True]
    with pytest.raises(InputError, match="max_distance_m"):
        read_stations(path, study_area=area, max_distance_m=-1)
    with pytest.raises(InputError, match="no CRS"):
        read_stations(path, study_area=gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]))


def test_duplicates_depend_on_distance(tmp_path):
    # 0.0005 deg of latitude = 55.6 m.
    path = write_csv(
        tmp_path / "d.csv",
        [
            HEADER,
            "同名站,社区型,,,113.266,23.1395",
            "同名 站,社区型,,,113.266,23.14",
            "同名站,园区型,,,113.266,23.1396",
        ],
    )
    result = read_stations(path)
    assert result.stations["row"].tolist() == [1, 2]  # 56 m apart: two stations
    assert result.rejected["reason"].tolist() == ["duplicate of row 1 (same name within 30 m)"]
    wide = read_stations(path, duplicate_m=100)
    assert wide.rejected["reason"].tolist() == [
        "duplicate of row 1 (same name within 100 m)",
        "duplicate of row 1 (same name within 100 m)",
    ]
    assert len(read_stations(path, duplicate_m=0).stations) == 3
    with pytest.raises(InputError, match="duplicate_m"):
        read_stations(path, duplicate_m=-1)


def test_district_flags_with_polygons(tmp_path):
    path = write_csv(
        tmp_path / "f.csv",
        [
            HEADER,
            "甲,社区型,越秀区,,113.266,23.1395",
            "乙,社区型,越秀,,113.267,23.1395",
            "丙,社区型,440104,,113.268,23.1395",
            "丁,社区型,广州市越秀区,,113.269,23.1395",
            "戊,社区型,海珠区,,113.270,23.1395",
            "己,社区型,,,113.271,23.1395",
            "庚,社区型,越秀区,,113.266,23.1727",  # 300 m north of the box: cross-border
            "辛,社区型,越秀区,,113.6,23.5",  # 38 km away: outside the study area
        ],
    )
    result = read_stations(path, districts=yuexiu_box())
    st = result.stations
    assert st["district_code"].tolist() == ["440104"] * 6 + [""]
    assert st["cross_border"].tolist() == [False] * 6 + [True]
    assert result.rejected["row"].tolist() == [8]
    assert result.rejected["reason"].iloc[0].startswith("outside the study area (")
    flags = st["district_flag"].tolist()
    assert flags[:4] == ["", "", "", ""]
    assert flags[4] == "ledger says 海珠区 but the point lies in 越秀区 (440104)"
    assert flags[5] == ""
    assert flags[6] == "not inside any district polygon (ledger says 越秀区)"
    assert st["ledger_district"].tolist()[4] == "海珠区"  # the ledger's value is kept


def test_unknown_ledger_district_without_polygons(tmp_path):
    path = write_csv(tmp_path / "u.csv", [HEADER, "甲,社区型,火星区,,113.266,23.1395"])
    st = read_stations(path).stations
    assert st["district_code"].tolist() == [""]
    assert st["district_name"].tolist() == ["火星区"]


# --- file-level errors ----------------------------------------------------------------------


def test_file_errors(tmp_path):
    with pytest.raises(InputFileNotFoundError, match=r"nope\.csv: station ledger not found"):
        read_stations(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
        read_stations(empty)
    blank = write_csv(tmp_path / "blank.csv", ["", "  ", ""])
    with pytest.raises(InputError, match="the file is empty"):
        read_stations(blank)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match=r"binary\.csv: looks like a binary file"):
        read_stations(binary)
    with pytest.raises(
        InputError, match=r"no coordinate columns .* found columns: 名称, 类型, 地址"
    ):
        read_stations(FIXTURES / "no_coordinates.csv")
    header_only = write_csv(tmp_path / "h.csv", [HEADER])
    with pytest.raises(InputError, match="no data rows"):
        read_stations(header_only)
    no_type = write_csv(tmp_path / "t.csv", ["名称,经度,纬度", "甲,113.266,23.1395"])
    with pytest.raises(InputError, match="no station type column"):
        read_stations(no_type)
    with pytest.raises(InputError, match="is a folder"):
        read_stations(tmp_path)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=r"save it as \.xlsx"):
        read_stations(xls)
    bad_xlsx = tmp_path / "bad.xlsx"
    bad_xlsx.write_text("not a zip", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.xlsx: cannot read as an Excel"):
        read_stations(bad_xlsx)
    with pytest.raises(InputError, match="unknown coordinate system"):
        read_stations(FIXTURES / "ledger_wgs84.csv", coords="utm")


def test_input_file_is_not_modified(tmp_path):
    before = (FIXTURES / "gbk_gcj02.csv").read_bytes()
    read_stations(FIXTURES / "gbk_gcj02.csv", coords="gcj02")
    assert (FIXTURES / "gbk_gcj02.csv").read_bytes() == before


# --- writing and counting -------------------------------------------------------------------


def test_write_stations(tmp_path):
    result = read_stations(FIXTURES / "gbk_gcj02.csv", coords="gcj02")
    written = write_stations(result, tmp_path / "out")
    assert written == {
        "stations": tmp_path / "out" / "stations.geojson",
        "rejected": tmp_path / "out" / "stations_rejected.csv",
    }
    raw = written["rejected"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    rejected = pd.read_csv(
        written["rejected"], encoding="utf-8-sig", dtype=str, keep_default_na=False
    )
    assert rejected["row"].tolist() == ["3", "4", "5"]
    assert rejected["名称"].tolist()[1] == "东山社区技能加油站"
    back = gpd.read_file(written["stations"])
    assert back.crs == "EPSG:4326"
    assert back["name"].tolist() == ["越秀公园社区技能加油站", "广州塔园区技能加油站"]
    np.testing.assert_allclose(back.geometry.x, result.stations["lon"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "stations.geojson",
        "stations_rejected.csv",
    ]
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a folder"):
        write_stations(result, not_a_dir)


@pytest.mark.parametrize("chunk", [1, 2, 5000])
def test_stations_geojson_is_written_in_chunks_as_to_json_would(tmp_path, monkeypatch, chunk):
    import skillcircle.inputs.stations as st

    monkeypatch.setattr(st, "_GEOJSON_CHUNK", chunk)
    result = read_stations(FIXTURES / "ledger_wgs84.csv")  # Int64 capacity, text, floats
    assert len(result.stations) >= 3
    written = write_stations(result, tmp_path / "out")["stations"]
    expected = result.stations.to_json(drop_id=True, ensure_ascii=False, na="null") + "\n"
    assert written.read_text(encoding="utf-8") == expected
    empty = st.StationsRead(
        result.stations.iloc[:0], result.rejected, result.path, None, "wgs84", "csv"
    )
    written = write_stations(empty, tmp_path / "empty")["stations"]
    assert written.read_text(encoding="utf-8") == '{"type": "FeatureCollection", "features": []}\n'


def test_station_counts(tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        [
            HEADER,
            "a,社区型,越秀区,,113.266,23.1395",
            "b,园区型,越秀区,,113.267,23.1395",
            "c,社区型,海珠区,,113.30,23.10",
            "d,院校,,,113.31,23.10",
        ],
    )
    counts = station_counts(read_stations(path).stations)
    assert counts.index.tolist() == ["越秀区", "海珠区", "(none)", "total"]
    assert counts.columns.tolist() == ["community", "rural", "park", "institution", "total"]
    assert counts.loc["越秀区"].tolist() == [1, 0, 1, 0, 2]
    assert counts.loc["海珠区"].tolist() == [1, 0, 0, 0, 1]
    assert counts.loc["(none)"].tolist() == [0, 0, 0, 1, 1]
    assert counts.loc["total"].tolist() == [2, 0, 1, 1, 4]


# --- the shipped samples --------------------------------------------------------------------


def test_yuexiu_sample_is_fully_accepted_by_cnmaps_yuexiu():
    result = read_stations(get_path("yuexiu_stations"), districts=read_districts("cnmaps:440104"))
    assert len(result.rejected) == 0
    st = result.stations
    assert len(st) == 21
    assert (st["district_code"] == "440104").all()
    assert (st["district_flag"] == "").all()
    assert st["type"].value_counts().to_dict() == {"community": 17, "institution": 3, "park": 1}
    assert st["ledger_subdistrict"].nunique() == 18


@pytest.mark.data
def test_yuexiu_sample_lies_in_its_own_subdistricts(data_root):
    subs = read_subdistricts(data_root / "yuexiu" / "subdistricts_osm.gpkg")
    result = read_stations(
        get_path("yuexiu_stations"),
        districts=read_districts("cnmaps:440104"),
        subdistricts=subs,
    )
    st = result.stations
    assert (st["subdistrict_name"] == st["ledger_subdistrict"]).all()
    assert st["subdistrict_code"].str.startswith("440104").all()
    small = read_stations(FIXTURES / "stations_sample.csv", subdistricts=subs)
    assert len(small.stations) == 7
    assert len(small.rejected) == 0
    assert small.stations["ledger_id"].tolist() == [str(i) for i in range(1, 8)]
    assert (small.stations["district_name"] == "越秀区").all()
    assert (small.stations["district_flag"] == "").all()


def test_gcj02_point_in_polygon_needs_conversion():
    # A station 150 m inside 越秀区's edge in WGS84 lands outside it if read as GCJ-02 unconverted.
    g_lon, g_lat = wgs84_to_gcj02(113.266, 23.1395)
    assert metres(113.266, 23.1395, float(g_lon), float(g_lat)) > 500
    assert Point(113.266, 23.1395).within(yuexiu_box().geometry.iloc[0])


def test_require_type_false_for_candidate_sites(tmp_path):
    no_type = write_csv(
        tmp_path / "cand.csv", ["名称,经度,纬度", "候选一,113.266,23.1395", "候选二,113.27,23.14"]
    )
    result = read_stations(no_type, require_type=False)
    assert result.stations["type"].tolist() == ["", ""]
    assert len(result.rejected) == 0
    mixed = write_csv(
        tmp_path / "mixed.csv",
        [
            "名称,类型,经度,纬度",
            "甲,,113.266,23.1395",
            "乙,园区,113.27,23.14",
            "丙,食堂,113.28,23.14",
        ],
    )
    result = read_stations(mixed, require_type=False)
    assert result.stations["type"].tolist() == ["", "park"]
    assert result.rejected["row"].tolist() == [3]
    assert read_stations(mixed).rejected["reason"].tolist()[0] == "missing station type"
