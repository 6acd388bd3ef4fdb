"""The output contract: typed summary round trip, totals only in written tables, file list."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from skillcircle._errors import InputError
from skillcircle.access.accessibility import ACCESS_UNIT_COLUMNS
from skillcircle.access.analysis import analyse
from skillcircle.outputs import schema
from skillcircle.outputs.publish import publish
from skillcircle.outputs.schema import TOTAL_LABEL, PlanFigures, Summary, with_total
from skillcircle.siting.suggest import PhaseStatus, suggest

from .conftest import EAST, EAST_HIGH, EAST_LOW, WEST, WEST_SUB


def _via_json(s: Summary) -> Summary:
    return Summary.from_json(json.loads(json.dumps(s.to_json(), ensure_ascii=False)))


def test_summary_round_trips_through_json(hand_areas, tmp_path):
    a = analyse(**hand_areas, with_isochrones=False)
    assert _via_json(a.summary) == a.summary
    plan = suggest(a, add=1, candidate_spacing_m=100.0, phases=((2030, 3),))
    # typed fields instead of DataFrame.attrs: raster cells of 100 m; phases of the plan
    assert a.inputs.population.cell_size_m == pytest.approx(100.0)
    assert plan.phases == (
        PhaseStatus(phase=2030, target_total=3, needed=1, planned=1, short=False),
    )
    # the one uncovered resident group (10 people) is too small for a zone: scattered
    assert (a.summary.gap_zone_population, a.summary.scattered_uncovered_population) == (0, 10)
    noted = dataclasses.replace(plan.summary, note="示例 only")
    back = _via_json(noted)
    assert back == noted
    assert back.plan is not None
    assert back.plan.phases == ((2030, 3),)
    # summary.json is exactly to_json(), and reads back to the same record
    publish(a, tmp_path / "out", plan=plan, note="示例 only")
    raw = json.loads((tmp_path / "out" / schema.SUMMARY_JSON).read_text(encoding="utf-8"))
    assert raw == json.loads(json.dumps(noted.to_json()))
    assert schema.read_summary(tmp_path / "out") == noted


def test_summary_json_keys_are_the_old_ones(make_summary):
    s = make_summary()
    assert list(s.to_json()) == [
        "population",
        "covered_population",
        "coverage_pct",
        "offnetwork_population",
        "gap_zone_population",
        "scattered_uncovered_population",
        "fragment_population",
        "stations",
        "stations_rejected",
        "minutes",
        "speed_kmh",
        "walk_distance_m",
        "speeds_kmh",
        "population_model",
        "population_model_key",
        "excluded_units",
        "excluded_population",
        "districts",
        "dropped_districts",
        "network",
        "network_sensitivity",
        "access",
        "crs",
        "max_snap_m",
        "inputs",
        "version",
        "generated",
        "engine",
        "scheduler",
        "parts",
    ]
    figures = PlanFigures(
        greedy_covered_population=445.0,
        covered_population_after=450.0,
        coverage_pct_after=100.0,
        upper_bound_covered_population=450.0,
        optimality_gap_pct=0.0,
        bound_method="milp",
        swaps=1,
        added_sites=1,
        candidates=9,
        candidates_rejected=0,
        reduced_units=1,
        reduction={"n_units_before": 9},
    )
    planned = dataclasses.replace(s, plan=figures, note="n").to_json()
    assert list(planned)[27:] == [
        "greedy_covered_population",
        "covered_population_after",
        "coverage_pct_after",
        "upper_bound_covered_population",
        "optimality_gap_pct",
        "bound_method",
        "swaps",
        "added_sites",
        "candidates",
        "candidates_rejected",
        "reduced_units",
        "reduction",
        "phases",
        "plan_method",
        "target_coverage_pct",
        "target_reached",
        "max_reachable_coverage_pct",
        "sites_lower_bound",
        "cut_short",
        "objective",
        "served_demand",
        "base_served_demand",
        "upper_bound_served_demand",
        "total_demand",
        "capacity_per_site",
        "capacity_binds",
        "note",
        "engine",
        "scheduler",
        "parts",
    ]
    assert Summary.from_json(planned).plan == figures


@pytest.mark.parametrize(
    "change",
    [{"minutes": "ten"}, {"stations": 2.5}, {"note": 5}, {"network": []}, {"inputs": {"x": 1}}],
)
def test_summary_from_json_refuses_wrong_types(make_summary, change):
    data = {**make_summary().to_json(), **change}
    with pytest.raises(InputError):
        Summary.from_json(data)


def test_summary_from_json_names_a_missing_key(make_summary):
    data = make_summary().to_json()
    del data["walk_distance_m"]
    with pytest.raises(InputError, match="walk_distance_m"):
        Summary.from_json(data)


def test_api_tables_have_no_total_but_written_tables_end_with_it(hand_areas, tmp_path):
    a = analyse(**hand_areas, with_isochrones=False)
    for frame in (a.by_district, a.by_subdistrict, a.sensitivity, a.sensitivity_by_subdistrict):
        assert TOTAL_LABEL not in frame["district_code"].tolist()
    # one row per area (station C lies 424 m outside both districts, farther than walk + snap
    # = 260 m: rejected as outside the study area, so no blank row)
    assert a.inputs.stations.rejected["reason"].str.contains("outside the study area").all()
    assert a.by_district["district_code"].tolist() == [WEST, EAST]
    assert a.by_subdistrict["subdistrict_code"].tolist() == [WEST_SUB, EAST_LOW, EAST_HIGH]
    assert a.by_district["population"].tolist() == [270.0, 180.0]
    assert a.by_subdistrict["population"].tolist() == [270.0, 150.0, 30.0]
    assert list(a.by_district.columns) == list(schema.DISTRICT_TABLE_COLUMNS)
    assert list(a.by_subdistrict.columns) == list(schema.SUBDISTRICT_TABLE_COLUMNS)
    assert a.summary.districts == (WEST, EAST)

    files = publish(a, tmp_path / "out")
    for name, keys in (
        (schema.DISTRICT_CSV, ["district_code", "district_name"]),
        (schema.SUBDISTRICT_CSV, ["district_code", "subdistrict_code"]),
        (schema.SENSITIVITY_CSV, ["district_code"]),
        (schema.SENSITIVITY_BY_SUBDISTRICT_CSV, ["district_code", "subdistrict_code"]),
    ):
        table = pd.read_csv(files[name], encoding="utf-8-sig", dtype=str, keep_default_na=False)
        rows, total = table.iloc[:-1], table.iloc[-1]
        assert total["district_code"] == TOTAL_LABEL, name
        assert (total[keys[1:]] == "").all(), name
        assert TOTAL_LABEL not in rows["district_code"].tolist(), name
        counts = [
            c
            for c in table.columns
            if c in ("population", "offnetwork_population", "stations")
            or c.startswith("covered_population")
        ]
        for col in counts:
            assert float(total[col]) == pytest.approx(rows[col].astype(float).sum()), (name, col)
        for col in (c for c in table.columns if c.startswith("coverage_pct")):
            covered = float(total[col.replace("coverage_pct", "covered_population")])
            assert float(total[col]) == pytest.approx(100 * covered / 450), (name, col)
    district = pd.read_csv(files[schema.DISTRICT_CSV], encoding="utf-8-sig")
    assert district.iloc[-1][["population", "covered_population", "stations"]].tolist() == [
        450,
        440,
        2,
    ]
    sens = pd.read_csv(files[schema.SENSITIVITY_CSV], encoding="utf-8-sig")
    assert list(sens.columns) == list(
        schema.sensitivity_columns(["district_code", "district_name"], [4.0, 3.0])
    )
    # the Markdown and HTML tables end with the total row too
    md = files[schema.REPORT_MD].read_text(encoding="utf-8")
    assert f"| {TOTAL_LABEL} |  | 450 | 440 | 97.8 | 2 | 225 | 10 | 0 |" in md
    assert TOTAL_LABEL in files[schema.REPORT_HTML].read_text(encoding="utf-8")


def test_publish_writes_exactly_the_files_of_the_contract(hand_areas, tmp_path):
    a = analyse(**hand_areas)
    plan = suggest(a, add=1, candidate_spacing_m=100.0, phases=None)
    out = tmp_path / "out"
    files = publish(a, out, plan=plan)
    assert sorted(files) == sorted(schema.OUTPUT_FILES)
    listed = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert listed == sorted(schema.OUTPUT_FILES)
    assert len(set(schema.OUTPUT_FILES)) == len(schema.OUTPUT_FILES)
    # without a plan, the plan's files are gone and nothing else is missing
    again = publish(a, out)
    assert sorted(again) == sorted(set(schema.OUTPUT_FILES) - set(schema.PLAN_FILES))
    listed = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert listed == sorted(again)
    assert [p.name for p in out.glob(".*")] == [".skillcircle-manifest.json"]


def test_with_total_sums_counts_and_recomputes_shares():
    frame = pd.DataFrame(
        {
            "district_code": ["a", "b"],
            "district_name": ["A", "B"],
            "population": [300.0, 100.0],
            "covered_population": [150.0, 50.0],
            "coverage_pct": [50.0, 50.0],
            "stations": np.array([0, 0], dtype=np.int64),
            "population_per_station": [np.nan, np.nan],
            "uncovered_population": [150.0, 50.0],
            "offnetwork_population": [10.0, 0.0],
        }
    )
    out = with_total(frame, keys=["district_code", "district_name"])
    assert len(frame) == 2  # not changed
    total = out.iloc[-1]
    assert total["district_code"] == TOTAL_LABEL
    assert total["district_name"] == ""
    assert total[["population", "covered_population", "uncovered_population"]].tolist() == [
        400.0,
        200.0,
        200.0,
    ]
    assert total["coverage_pct"] == 50.0
    assert total["offnetwork_population"] == 10.0
    assert np.isnan(total["population_per_station"])  # no station at all
    assert out["stations"].dtype == np.int64
    empty = with_total(frame.iloc[:0], keys=["district_code", "district_name"])
    assert empty["population"].tolist() == [0.0]
    assert empty["coverage_pct"].tolist() == [0.0]  # no residents: 0 %, not NaN
    with pytest.raises(InputError, match="area column"):
        with_total(frame, keys=["subdistrict_code"])


def test_units_and_gap_layer_columns_follow_the_contract(hand_areas, tmp_path):
    import geopandas as gpd

    # stations with a capacity (here the default for every row): every column of the contract
    a = analyse(**hand_areas, with_isochrones=False, default_capacity=100)
    files = publish(a, tmp_path / "out")
    units = gpd.read_parquet(files[schema.UNITS_PARQUET])
    assert [c for c in units.columns if c != "geometry"] == list(schema.UNITS_COLUMNS)
    # without any capacity the accessibility columns are left out, the rest in order
    bare = publish(analyse(**hand_areas, with_isochrones=False), tmp_path / "bare")
    bare_units = gpd.read_parquet(bare[schema.UNITS_PARQUET])
    assert [c for c in bare_units.columns if c != "geometry"] == [
        c for c in schema.UNITS_COLUMNS if c not in ACCESS_UNIT_COLUMNS
    ]
    gaps = gpd.read_file(files[schema.GAPS_GEOJSON])
    assert set(gaps.columns) - {"geometry"} <= set(schema.GAP_LAYER_COLUMNS)
    stations = gpd.read_file(files[schema.STATIONS_GEOJSON])
    assert set(schema.STATION_COVERAGE_COLUMNS) <= set(stations.columns)


def test_gap_figures_are_none_when_gap_zones_were_not_computed(hand_study):
    a = analyse(**hand_study, with_isochrones=False, with_gaps=False)
    assert a.summary.gap_zone_population is None
    assert a.summary.scattered_uncovered_population is None
    assert a.summary.to_json()["gap_zone_population"] is None
    assert Summary.from_json(json.loads(json.dumps(a.summary.to_json()))) == a.summary
