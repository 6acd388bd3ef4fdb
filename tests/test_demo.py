"""The demo on real Yuexiu data: outputs, figures that must hold, and the no-data error."""

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from skillcircle.cli import main

pytestmark = pytest.mark.data

YUEXIU_CENSUS_2020 = 1_038_643


def test_demo_writes_every_output(yuexiu_demo):
    out = yuexiu_demo.files["map.html"].parent
    for name in (
        "map.html",
        "report.html",
        "summary.json",
        "suggestions.csv",
        "report.md",
        "coverage_by_district.csv",
        "coverage_by_subdistrict.csv",
        "isochrones.geojson",
        "gaps.geojson",
        "units.parquet",
        "stations.geojson",
        "stations_rejected.csv",
    ):
        assert (out / name).is_file(), name
    assert not list(out.glob("*.tmp"))
    assert [p.name for p in out.glob(".*")] == [".skillcircle-manifest.json"]  # no temporaries


def test_demo_population_is_calibrated_to_the_census(yuexiu_demo):
    s = json.loads(yuexiu_demo.files["summary.json"].read_text(encoding="utf-8"))
    assert abs(s["population"] - YUEXIU_CENSUS_2020) <= 1
    assert s["stations"] == 21
    assert s["walk_distance_m"] == 1000.0
    assert 0 < s["coverage_pct"] < 100
    assert s["population_model_key"] == "raster+census"
    # a quarter of Yuexiu lives nearest to a street piece the OSM export leaves disconnected
    assert 0.2 < s["fragment_population"] / s["population"] < 0.32


def test_subdistrict_rows_add_up_to_the_district(yuexiu_demo):
    out = yuexiu_demo.files["summary.json"].parent
    d = pd.read_csv(out / "coverage_by_district.csv", dtype={"district_code": str})
    sd = pd.read_csv(out / "coverage_by_subdistrict.csv", dtype={"district_code": str})
    row = d.loc[d["district_code"] == "440104"].iloc[0]
    mine = sd.loc[sd["district_code"] == "440104"]
    for col in ("population", "covered_population", "offnetwork_population", "stations"):
        assert mine[col].sum() == pytest.approx(row[col], abs=1e-6), col
    assert abs(row["population"] - YUEXIU_CENSUS_2020) <= 1


def test_isochrones_are_valid_and_hold_their_station(yuexiu_demo):
    a = yuexiu_demo.analysis
    iso = a.isochrones
    on = a.headline.stations["on_network"].to_numpy()
    assert len(iso) == len(on)
    st = a.headline.stations.to_crs(iso.crs)
    for i, geom in enumerate(iso.geometry):
        if not on[i]:
            assert geom.is_empty
            continue
        assert geom.is_valid
        assert geom.geom_type == "MultiPolygon"
        assert geom.contains(st.geometry.iloc[i])


def test_plan_is_certified_and_phased(yuexiu_demo):
    plan = yuexiu_demo.plan
    s = plan.summary.plan
    assert s.added_sites == 10
    assert s.optimality_gap_pct <= 1.0
    assert s.upper_bound_covered_population >= s.covered_population_after - 1e-6
    sug = pd.read_csv(yuexiu_demo.files["suggestions.csv"])
    assert sug["rank"].tolist() == list(range(1, 11))
    assert (np.diff(sug["cumulative_coverage_pct"]) > 0).all()
    # a one-district study gets no programme phases (they are the whole city's): no year
    assert sug["phase"].isna().all()
    assert s.phases is None
    assert sug["cumulative_coverage_pct"].iloc[-1] == pytest.approx(s.coverage_pct_after)


def test_report_with_the_suggested_sites_reproduces_the_plan(yuexiu_demo, tmp_path):
    """Add the suggested sites to the ledger, run `skillcircle report`: same coverage."""
    from skillcircle.inputs.datasets import get_path

    ledger = pd.read_csv(get_path("yuexiu_stations"))
    sug = pd.read_csv(yuexiu_demo.files["suggestions.csv"])
    extra = pd.DataFrame(
        {
            "名称": [f"建议站点{r}" for r in sug["rank"]],
            "类型": "社区型",
            "区": "越秀区",
            "经度": sug["lon"],
            "纬度": sug["lat"],
        }
    )
    path = tmp_path / "with_suggestions.csv"
    pd.concat([ledger, extra], ignore_index=True).to_csv(path, index=False)
    study = yuexiu_demo.analysis.inputs.study
    out = tmp_path / "again"
    code = main(
        [
            "report",
            "--stations", str(path),
            "--network", study.network,
            "--population", str(study.population),
            "--districts", str(study.districts),
            "--subdistricts", str(study.subdistricts),
            "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    again = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert again["stations"] == 31
    assert again["coverage_pct"] == pytest.approx(sug["cumulative_coverage_pct"].iloc[-1], abs=0.01)


def test_demo_command_exits_0(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKILLCIRCLE_DATA", str(data_root))
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    for name in ("map.html", "report.html", "summary.json", "suggestions.csv"):
        assert (out / name).is_file()
    assert "Adding 10 sites" in capsys.readouterr().out


def test_demo_outputs_say_the_stations_are_illustrative(yuexiu_demo):
    from skillcircle.demo import DEMO_NOTE

    for name in ("map.html", "report.html", "summary.json"):
        text = yuexiu_demo.files[name].read_text(encoding="utf-8")
        assert "not the official list" in text, name
    assert "示例站点" in DEMO_NOTE


def test_demo_layers_are_wgs84(yuexiu_demo):
    out = yuexiu_demo.files["map.html"].parent
    g = gpd.read_file(out / "suggestions.geojson")
    assert g.crs.to_epsg() == 4326
    assert g.total_bounds[0] > 113.2
    assert g.total_bounds[2] < 113.33


def test_demo_with_a_wrong_data_folder_says_so(monkeypatch, capsys, tmp_path):
    """A folder that was asked for is never silently replaced by the shipped sample."""
    monkeypatch.setenv("SKILLCIRCLE_DATA", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    code = main(["demo", "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "SKILLCIRCLE_DATA" in err[0]
    assert str(tmp_path / "empty") in err[0]
    assert not (tmp_path / "d").exists()


def test_demo_data_resolution(monkeypatch, tmp_path):
    """SKILLCIRCLE_DATA if set, else ../shared/data if present, else the shipped sample."""
    from skillcircle.demo import demo_study
    from skillcircle.inputs.datasets import get_path

    monkeypatch.delenv("SKILLCIRCLE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    sample = demo_study()
    assert sample.network == str(get_path("yuexiu_roads"))
    assert sample.population == str(get_path("yuexiu_worldpop"))
    assert str(sample.subdistricts) == str(get_path("yuexiu_subdistricts"))
    assert sample.districts == "cnmaps:440104"
    # the CLI adds ../shared/data (the CI layout): a fake one is picked up, and found incomplete
    work = tmp_path / "repo"
    (tmp_path / "shared" / "data" / "yuexiu").mkdir(parents=True)
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["demo", "--out", str(tmp_path / "d")]) == 2
    assert not (tmp_path / "d").exists()


def test_console_script_exit_code(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SKILLCIRCLE_DATA": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "skillcircle", "demo", "--out", str(tmp_path / "x")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1


@pytest.fixture(scope="module")
def sample_demo(tmp_path_factory):
    """The demo from the sample shipped in the package, run through the CLI without data."""
    out = tmp_path_factory.mktemp("sample-demo") / "demo"
    mp = pytest.MonkeyPatch()
    try:
        mp.delenv("SKILLCIRCLE_DATA", raising=False)
        mp.chdir(out.parent)
        assert main(["demo", "--out", str(out)]) == 0
    finally:
        mp.undo()
    return out


def test_demo_from_the_sample_gives_the_figures_of_the_shared_data(sample_demo, yuexiu_demo):
    mine = json.loads((sample_demo / "summary.json").read_text(encoding="utf-8"))
    shared = json.loads(yuexiu_demo.files["summary.json"].read_text(encoding="utf-8"))
    assert mine["inputs"]["network"]["path"].endswith("skillcircle/data/yuexiu/roads.parquet")
    assert shared["inputs"]["network"]["path"].endswith("yuexiu/roads_osm.gpkg")
    for key in (
        "population",
        "covered_population",
        "coverage_pct",
        "offnetwork_population",
        "fragment_population",
        "gap_zone_population",
        "stations",
        "network",
        "network_sensitivity",
        "covered_population_after",
        "coverage_pct_after",
        "upper_bound_covered_population",
    ):
        assert mine[key] == shared[key], key
    # the headline figures of the README
    assert round(mine["coverage_pct"], 1) == 45.2
    assert round(mine["coverage_pct_after"], 1) == 75.8
    assert round(mine["population"]) == YUEXIU_CENSUS_2020
    for name in ("coverage_sensitivity.csv", "coverage_by_subdistrict.csv", "suggestions.csv"):
        assert (sample_demo / name).read_bytes() == (
            yuexiu_demo.files["summary.json"].parent / name
        ).read_bytes(), name
    sens = pd.read_csv(sample_demo / "coverage_sensitivity.csv", dtype={"district_code": str})
    assert round(sens["coverage_pct_3kmh"].iloc[0], 1) == 26.3
