"""`skillcircle report` / `suggest` / `map` on the real Yuexiu data: outputs and one-line errors."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from skillcircle.cli import main
from skillcircle.inputs.datasets import get_path

pytestmark = pytest.mark.data


@pytest.fixture
def base_args(data_root):
    y = data_root / "yuexiu"
    return [
        "--stations",
        str(get_path("yuexiu_stations")),
        "--network",
        str(y / "roads_osm.gpkg"),
        "--population",
        str(y / "worldpop.tif"),
        "--districts",
        "cnmaps:440104",
    ]


def _one_line_error(capsys, code, out_dir):
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    assert not out_dir.exists()
    return err[0]


def test_report_writes_tables_with_two_speeds(base_args, data_root, tmp_path):
    out = tmp_path / "r"
    sub = str(data_root / "yuexiu" / "subdistricts_osm.gpkg")
    code = main(
        ["report", *base_args, "--subdistricts", sub, "--speed-kmh", "4.0,3.0", "--out", str(out)]
    )
    assert code == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert abs(s["population"] - 1_038_643) <= 1
    assert s["speeds_kmh"] == [4.0, 3.0]
    sens = pd.read_csv(out / "coverage_sensitivity.csv", dtype={"district_code": str})
    assert list(sens.columns) == [
        "district_code",
        "district_name",
        "population",
        "covered_population_4kmh",
        "coverage_pct_4kmh",
        "covered_population_3kmh",
        "coverage_pct_3kmh",
    ]
    yx = sens.loc[sens["district_code"] == "440104"].iloc[0]
    assert yx["coverage_pct_3kmh"] < yx["coverage_pct_4kmh"]
    assert yx["coverage_pct_4kmh"] == pytest.approx(s["coverage_pct"], abs=1e-3)
    by_sd = pd.read_csv(out / "coverage_by_subdistrict.csv", dtype={"district_code": str})
    assert list(by_sd.columns[:4]) == [
        "district_code",
        "district_name",
        "subdistrict_code",
        "subdistrict_name",
    ]
    assert by_sd["population"].iloc[-1] == pytest.approx(s["population"])  # total row
    sens_sd = pd.read_csv(out / "coverage_sensitivity_by_subdistrict.csv")
    assert len(sens_sd) == len(by_sd)
    by_d = pd.read_csv(out / "coverage_by_district.csv", encoding="utf-8-sig")
    assert list(by_d.columns) == [
        "district_code",
        "district_name",
        "population",
        "covered_population",
        "coverage_pct",
        "stations",
        "population_per_station",
        "uncovered_population",
        "offnetwork_population",
    ]
    for name in ("map.html", "report.html", "report.md", "units.parquet", "isochrones.geojson"):
        assert (out / name).is_file()
    units = gpd.read_parquet(out / "units.parquet")
    assert {"population", "distance_m", "covered"} <= set(units.columns)
    assert units["population"].sum() == pytest.approx(s["population"])
    assert units.loc[units["covered"], "population"].sum() == pytest.approx(s["covered_population"])


def test_study_file_with_flag_override(base_args, data_root, tmp_path):
    y = data_root / "yuexiu"
    study = tmp_path / "s.toml"
    study.write_text(
        f'stations = "{get_path("yuexiu_stations")}"\nnetwork = "{y / "roads_osm.gpkg"}"\n'
        f'population = "{y / "worldpop.tif"}"\ndistricts = "cnmaps:440104"\nminutes = 15\n',
        encoding="utf-8",
    )
    out = tmp_path / "r"
    assert main(["report", "--study", str(study), "--minutes", "10", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["minutes"] == 10
    assert s["walk_distance_m"] == pytest.approx(4000 * 10 / 60)


def test_no_station_near_the_network(base_args, tmp_path, capsys):
    ledger = tmp_path / "far.csv"
    # inside Guangzhou (花都区) but 25 km from the Yuexiu network
    ledger.write_text("名称,类型,经度,纬度\n远站,社区型,113.22,23.40\n", encoding="utf-8")
    args = list(base_args)
    args[1] = str(ledger)
    out = tmp_path / "r"
    line = _one_line_error(capsys, main(["report", *args, "--out", str(out)]), out)
    assert "none of the 1 stations" in line


def _raster(path, *, x0, y0, value):
    data = np.full((5, 5), value, dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=5,
        height=5,
        count=1,
        dtype="float32",
        crs="EPSG:4547",
        transform=Affine(90, 0, x0, 0, -90, y0),
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)


def test_raster_that_misses_the_districts(base_args, tmp_path, capsys):
    tif = tmp_path / "elsewhere.tif"
    _raster(tif, x0=300_000, y0=2_500_000, value=10.0)
    args = list(base_args)
    args[5] = str(tif)
    out = tmp_path / "r"
    line = _one_line_error(capsys, main(["report", *args, "--out", str(out)]), out)
    assert "does not cover" in line


def test_all_nodata_raster(base_args, data_root, tmp_path, capsys):
    with rasterio.open(data_root / "yuexiu" / "worldpop.tif") as src:
        profile = src.profile
        shape = src.shape
    tif = tmp_path / "empty.tif"
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(np.full(shape, -9999, dtype=profile["dtype"]), 1)
    args = list(base_args)
    args[5] = str(tif)
    out = tmp_path / "r"
    line = _one_line_error(capsys, main(["report", *args, "--out", str(out)]), out)
    assert "empty.tif" in line
    assert "no populated cells" in line


def test_district_file_without_code_column(base_args, data_root, tmp_path, capsys):
    poly = gpd.read_file(data_root / "yuexiu" / "boundary_osm.gpkg")[["geometry"]]
    poly["label"] = "越秀"
    f = tmp_path / "districts.geojson"
    poly.to_file(f)
    args = list(base_args)
    args[7] = str(f)
    out = tmp_path / "r"
    line = _one_line_error(capsys, main(["report", *args, "--out", str(out)]), out)
    assert "districts.geojson" in line
    assert "code" in line


def test_suggest_with_spacing_and_map_redraw(base_args, tmp_path):
    out = tmp_path / "s"
    code = main(
        [
            "suggest",
            *base_args,
            "--add",
            "4",
            "--min-spacing-m",
            "900",
            "--phases",
            "23,30",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    sug = pd.read_csv(out / "suggestions.csv")
    assert len(sug) == 4
    assert sug["phase"].tolist() == [2025, 2025, 2026, 2026]  # 21 existing: 2 to reach 23
    pts = gpd.GeoSeries(shapely.points(sug["lon"], sug["lat"]), crs="EPSG:4326").to_crs("EPSG:4547")
    d = np.array([[a.distance(b) for b in pts] for a in pts])
    assert d[np.triu_indices(4, 1)].min() >= 900
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["optimality_gap_pct"] >= 0
    assert s["upper_bound_covered_population"] >= s["covered_population_after"] - 1e-6
    before = (out / "map.html").read_bytes()
    assert (
        main(["map", "--from", str(out), "--basemap", "amap", "--out", str(tmp_path / "amap.html")])
        == 0
    )
    assert (tmp_path / "amap.html").read_bytes() != before


def test_infeasible_quota_is_one_line(base_args, tmp_path, capsys):
    out = tmp_path / "s"
    code = main(["suggest", *base_args, "--add", "2", "--min-per-district", "3", "--out", str(out)])
    line = _one_line_error(capsys, code, out)
    assert "min" in line.lower()


def test_network_sensitivity_on_the_terminal_and_its_gap_flag(base_args, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["report", *base_args, "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert (
        "路网敏感性 Network sensitivity: 45.2 % on the main street network 主路网 (the "
        "headline); 37.2 % keeping every cut-off piece 保留全部断开路段; 48.2 % if the 141 "
        "gaps under 15 m are real connections"
    ) in printed
    # no 街道 polygons here: the districts are compared (one, 越秀区: 37.2-48.2 %)
    assert "Districts 区 differing by more than 5 points" in printed
    assert "越秀区 45 / 37 / 48 %" in printed
    # 30 m gaps from a study file, then no joined figure at all from the flag
    study = tmp_path / "s.toml"
    study.write_text("network_gap_m = 30\n", encoding="utf-8")
    out2 = tmp_path / "r2"
    assert main(["report", *base_args, "--study", str(study), "--out", str(out2)]) == 0
    s = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))["network_sensitivity"]
    assert s["gap_m"] == 30.0
    assert round(s["coverage_pct"]["bridged"], 1) == 50.6
    out3 = tmp_path / "r3"
    code = main(["report", *base_args, "--network-gap-m", "0", "--out", str(out3)])
    assert code == 0
    s = json.loads((out3 / "summary.json").read_text(encoding="utf-8"))["network_sensitivity"]
    assert list(s["coverage_pct"]) == ["main", "all_pieces"]
    assert "gaps under" not in (out3 / "report.md").read_text(encoding="utf-8")
