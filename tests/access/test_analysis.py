"""analyse() end to end: files in, hand-computed figures out; and Yuexiu with one station per 街道.

Hand-made study (EPSG:4547, offset to central Guangzhou): a 3 × 3 grid of footways, 100 m
apart; a population raster of 100 m cells centred on the nine grid nodes; stations A on the
bottom street 50 m from the corner, B 10 m east of the right street, C 424 m off the grid.
Walk distance 160 m (4 km/h × 2.4 min): no node sits exactly on the limit, since station
coordinates pass through WGS84 degrees in the ledger (a round trip of ~1e-9 m).

Node distances to the nearest station (walking distance, station snap legs included):
    (0,200): A 250, B 200+20+10=230 → uncovered       (100,200): B 130   (200,200): B 30
    (0,100): A 150 (covered)       (100,100): A 150  (200,100): B 90
    (0,0): A 50                      (100,0): A 50     (200,0): A 150
Raster rows (top y=200 to bottom y=0): [10, 20, 30], [40, 50, 60], [70, 80, 90].
Covered 450 − 10 = 440 of 450. Reach: A = 70+80+90+40+50 = 330; B = 60+20+30 = 110.
"""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from skillcircle.access.analysis import analyse
from skillcircle.outputs.datafiles import write_report
from skillcircle.siting.suggest import suggest


def test_hand_made_study_end_to_end(hand_study, tmp_path):
    a = analyse(**hand_study)
    s = a.summary
    assert s["population"] == 450
    assert s["covered_population"] == 440
    assert s["walk_distance_m"] == pytest.approx(160.0)
    assert s["population_model_key"] == "raster"
    assert s["fragment_population"] == 0  # one connected grid
    st = a.headline.stations
    np.testing.assert_allclose(st["reach_population"], [330.0, 110.0, 0.0])
    np.testing.assert_allclose(st["snap_distance_m"][:2], [0.0, 10.0], atol=1e-6)
    assert st["on_network"].tolist() == [True, True, False]
    units = a.headline.units.sort_values("population")
    np.testing.assert_allclose(
        units["distance_m"],
        [230.0, 130.0, 30.0, 150.0, 150.0, 90.0, 50.0, 50.0, 150.0],
        atol=1e-6,
    )
    files = write_report(a, tmp_path / "out")
    summary = json.loads(files["summary.json"].read_text(encoding="utf-8"))
    assert summary["coverage_pct"] == pytest.approx(100 * 440 / 450, abs=1e-4)
    stations = gpd.read_file(files["stations.geojson"])
    assert stations.crs.to_epsg() == 4326
    assert stations["reach_population"].tolist() == [330.0, 110.0, 0.0]
    assert "440" in files["report.md"].read_text(encoding="utf-8")


def test_hand_made_plan_covers_the_last_node(hand_study):
    a = analyse(**hand_study, with_isochrones=False)
    plan = suggest(a, add=1, candidate_spacing_m=100.0, phases=None)
    assert plan.suggestions["added_population"].tolist() == [10.0]
    assert plan.summary["coverage_pct_after"] == pytest.approx(100.0)
    assert plan.summary["optimality_gap_pct"] == pytest.approx(0.0)


@pytest.mark.data
def test_yuexiu_one_station_per_subdistrict(data_root, tmp_path):
    sub = gpd.read_file(data_root / "yuexiu" / "subdistricts_osm.gpkg")
    mine = sub.loc[sub["ref:admin:CN:nbs"].fillna("").str.startswith("440104")]
    assert len(mine) == 18
    pts = mine.geometry.representative_point().to_crs("EPSG:4326")
    ledger = tmp_path / "rep.csv"
    pd.DataFrame(
        {"name": mine["name"].to_numpy(), "type": "community", "lon": pts.x, "lat": pts.y}
    ).to_csv(ledger, index=False)
    y = data_root / "yuexiu"
    a = analyse(
        stations=ledger,
        network=str(y / "roads_osm.gpkg"),
        population=str(y / "worldpop.tif"),
        districts="cnmaps:440104",
        subdistricts=y / "subdistricts_osm.gpkg",
    )
    row = a.by_district.loc[a.by_district["district_code"] == "440104"].iloc[0]
    assert abs(row["population"] - 1_038_643) <= 1
    parts = a.by_subdistrict.loc[a.by_subdistrict["district_code"] == "440104"]
    for col in ("population", "covered_population", "offnetwork_population", "stations"):
        assert parts[col].sum() == pytest.approx(row[col], abs=1e-6)
    on = a.headline.stations["on_network"].to_numpy()
    st = a.headline.stations.to_crs(a.isochrones.crs)
    for i, geom in enumerate(a.isochrones.geometry):
        if on[i]:
            assert geom.is_valid
            assert geom.contains(st.geometry.iloc[i])
    plan = suggest(a, add=10)
    assert len(plan.suggestions) == 10
    assert plan.summary["optimality_gap_pct"] <= 1.0
    assert plan.summary["coverage_pct_after"] > plan.summary["coverage_pct"]


@pytest.mark.data
def test_census_only_model_as_the_online_demo_uses_it(data_root):
    """No raster: the census total spread on a 100 m grid by street length (what --online does)."""
    from skillcircle.inputs.datasets import get_path

    a = analyse(
        stations=get_path("yuexiu_stations"),
        network=str(data_root / "yuexiu" / "roads_osm.gpkg"),
        districts="cnmaps:440104",
        with_isochrones=False,
        with_gaps=False,
    )
    s = a.summary
    assert s["population_model_key"] == "census-grid"
    assert abs(s["population"] - 1_038_643) <= 1
    assert 0 < s["coverage_pct"] < 100


def test_online_demo_study_needs_no_data_folder(monkeypatch):
    from skillcircle.demo import YUEXIU_PLACE, demo_study

    monkeypatch.delenv("SKILLCIRCLE_DATA", raising=False)
    study = demo_study(online=True)
    assert study.network == f"place:{YUEXIU_PLACE}"
    assert study.population is None
    assert study.districts == "cnmaps:440104"
    assert study.speeds_kmh == (4.0, 3.0)
