"""Acceptance (issue 14): Yuexiu split into its 街道 on a 2-worker LocalCluster equals one run."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow]

distributed = pytest.importorskip("distributed")

# what summary.json says about coverage (every figure but the run metadata)
FIGURES = (
    "population",
    "covered_population",
    "coverage_pct",
    "offnetwork_population",
    "gap_zone_population",
    "scattered_uncovered_population",
    "fragment_population",
    "stations",
    "stations_rejected",
    "walk_distance_m",
)


@pytest.fixture(scope="module")
def runs(data_root):
    """The single run and the split one, each with a 10-site plan (the split's on Dask)."""
    from skillcircle.access.analysis import analyse, load_inputs
    from skillcircle.demo import demo_study
    from skillcircle.siting.suggest import suggest

    study = dataclasses.replace(demo_study(data_root=data_root), parts_by="subdistrict")
    inputs = load_inputs(study)
    single = analyse(inputs=inputs, with_isochrones=False)
    single_plan = suggest(single, add=10)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        split = analyse(inputs=inputs, client=client, with_isochrones=False)
        split_plan = suggest(split, add=10, client=client)
    return single, split, single_plan, split_plan


@pytest.fixture(scope="module")
def both_runs(runs):
    return runs[0], runs[1]


def test_siting_on_the_split_study_gives_the_same_plan_and_bound(runs):
    """Cover sets computed per 街道 on the cluster, gathered, solved here: the same plan."""
    *_, single_plan, split_plan = runs
    a, b = single_plan.solution, split_plan.solution
    # the same problem: every (candidate, unit) cover pair, computed part by part
    np.testing.assert_array_equal(b.selected, a.selected)
    assert b.reduction.summary() == a.reduction.summary()
    assert b.covered_population == pytest.approx(a.covered_population, abs=1e-9, rel=0)
    assert b.upper_bound_covered_population == pytest.approx(
        a.upper_bound_covered_population, abs=1e-6, rel=0
    )
    assert (b.bound_method, b.plan_method) == (a.bound_method, a.plan_method)
    pd.testing.assert_frame_equal(
        split_plan.suggestions.drop(columns="geometry"),
        single_plan.suggestions.drop(columns="geometry"),
    )


def test_summary_records_the_engine(both_runs):
    single, split = both_runs
    assert (single.summary.engine, single.summary.scheduler, single.summary.parts) == (
        "local",
        "local",
        1,
    )
    assert split.summary.engine == "dask"
    assert split.summary.scheduler == "local"
    # one part per 街道 holding residents: the number of distinct 街道 among the units
    units = single.inputs.population.units
    assert split.summary.parts == units["subdistrict_code"].nunique() > 10


def test_coverage_figures_equal_the_single_run(both_runs):
    single, split = both_runs
    a, b = single.summary.to_json(), split.summary.to_json()
    for key in FIGURES:
        assert b[key] == pytest.approx(a[key], abs=1e-9, rel=0), key
    assert b["speeds_kmh"] == a["speeds_kmh"]


@pytest.mark.parametrize(
    "table", ["by_district", "by_subdistrict", "sensitivity", "sensitivity_by_subdistrict"]
)
def test_tables_equal_the_single_run(both_runs, table):
    single, split = both_runs
    left, right = getattr(single, table), getattr(split, table)
    assert left is not None
    assert len(left) > 0
    pd.testing.assert_frame_equal(right, left, check_exact=False, atol=1e-9, rtol=0)


def test_the_same_units_are_covered_at_every_speed(both_runs):
    single, split = both_runs
    assert list(split.coverage) == list(single.coverage) == [4.0, 3.0]
    for speed, cov in single.coverage.items():
        other = split.coverage[speed]
        assert other.units["covered"].sum() == cov.units["covered"].sum() > 0
        np.testing.assert_array_equal(
            other.units["covered"].to_numpy(), cov.units["covered"].to_numpy()
        )
        np.testing.assert_allclose(
            other.units["distance_m"].to_numpy(),
            cov.units["distance_m"].to_numpy(),
            atol=1e-9,
            rtol=0,
        )


def test_the_study_option_starts_and_stops_its_own_cluster(both_runs):
    """``dask = "local:2"`` in the study: skillcircle opens the LocalCluster for the call."""
    from skillcircle.access.analysis import analyse

    single, _ = both_runs
    study = dataclasses.replace(single.inputs.study, dask="local:2", parts_by="district")
    inputs = dataclasses.replace(single.inputs, study=study)
    run = analyse(inputs=inputs, with_isochrones=False, with_gaps=False)
    assert (run.summary.engine, run.summary.scheduler, run.summary.parts) == ("dask", "local", 1)
    assert run.summary.covered_population == pytest.approx(
        single.summary.covered_population, abs=1e-9, rel=0
    )
    pd.testing.assert_frame_equal(
        run.by_subdistrict, single.by_subdistrict, check_exact=False, atol=1e-9, rtol=0
    )
