import json

import geopandas as gpd
import pandas as pd
import pytest

from skillcircle.access.analysis import analyse
from skillcircle.outputs.datafiles import write_report
from skillcircle.outputs.markdown import markdown_report
from skillcircle.outputs.publish import publish
from skillcircle.siting.suggest import suggest


def test_report_files_hold_the_hand_computed_figures(hand_study, tmp_path):
    a = analyse(**hand_study)
    files = write_report(a, tmp_path / "out")
    assert sorted(files) == sorted(
        [
            "summary.json",
            "coverage_by_district.csv",
            "coverage_sensitivity.csv",
            "stations.geojson",
            "stations.csv",
            "stations_rejected.csv",
            "isochrones.geojson",
            "service_area.geojson",
            "gaps.geojson",
            "units.parquet",
            "report.md",
        ]
    )
    raw = files["coverage_by_district.csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel shows Chinese names
    table = pd.read_csv(files["coverage_by_district.csv"], encoding="utf-8-sig")
    total = table.iloc[-1]
    assert total["population"] == 450
    assert total["covered_population"] == 440
    assert total["stations"] == 3
    units = gpd.read_parquet(files["units.parquet"])
    assert units.crs.to_epsg() == 4547
    assert units["covered"].sum() == 8
    iso = gpd.read_file(files["isochrones.geojson"])
    assert iso.crs.to_epsg() == 4326
    assert len(iso) == 3
    summary = json.loads(files["summary.json"].read_text(encoding="utf-8"))
    for key in (
        "population",
        "covered_population",
        "coverage_pct",
        "offnetwork_population",
        "stations",
        "minutes",
        "speed_kmh",
        "walk_distance_m",
        "population_model",
        "inputs",
        "version",
    ):
        assert key in summary
    assert summary["inputs"]["stations"]["sha256"] is not None
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_plan_files_and_words(hand_study, tmp_path):
    a = analyse(**hand_study, with_isochrones=False)
    plan = suggest(a, add=1, candidate_spacing_m=100.0, phases=None)
    files = write_report(a, tmp_path / "plan", plan=plan)
    sug = pd.read_csv(files["suggestions.csv"], encoding="utf-8-sig")
    assert list(sug.columns) == [
        "rank",
        "phase",
        "lon",
        "lat",
        "lon_gcj02",
        "lat_gcj02",
        "district_code",
        "district_name",
        "subdistrict_code",
        "subdistrict_name",
        "added_population",
        "cumulative_covered_population",
        "cumulative_coverage_pct",
    ]
    assert sug["added_population"].tolist() == [10.0]
    assert sug["cumulative_coverage_pct"].tolist() == pytest.approx([100.0])
    summary = json.loads(files["summary.json"].read_text(encoding="utf-8"))
    for key in (
        "greedy_covered_population",
        "upper_bound_covered_population",
        "optimality_gap_pct",
        "bound_method",
        "candidates",
        "reduced_units",
    ):
        assert key in summary
    md = markdown_report(a, plan=plan)
    assert "Adding 1 sites" in md
    assert "optimal (proven)" in md  # a tiny model: the exact MILP solves it


def test_a_report_removes_what_an_earlier_plan_left(hand_study, tmp_path):
    a = analyse(**hand_study, with_isochrones=False)
    plan = suggest(a, add=1, candidate_spacing_m=100.0, phases=None)
    out = tmp_path / "same"
    first = publish(a, out, plan=plan)
    assert (out / "suggestions.csv").is_file()
    assert (out / "candidates_rejected.csv").is_file()
    again = publish(a, out)  # the previous run's plan files are its own: removed
    assert not (out / "suggestions.csv").exists()
    assert not (out / "suggestions.geojson").exists()
    assert not (out / "candidates.geojson").exists()
    assert set(again) < set(first)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "optimality_gap_pct" not in summary


def test_output_folder_that_is_a_file_is_refused(hand_study, tmp_path):
    from skillcircle import InputError

    a = analyse(**hand_study, with_isochrones=False, with_gaps=False)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        write_report(a, blocker)
    assert blocker.read_text() == "x"
