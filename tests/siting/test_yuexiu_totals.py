"""Yuexiu: "每个街道至少一个站点" (--min-stations-per-subdistrict), counted independently."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from skillcircle._errors import InfeasibleError
from skillcircle.outputs.markdown import markdown_report
from skillcircle.siting.suggest import suggest

pytestmark = [pytest.mark.data, pytest.mark.slow]


def _stations_per_subdistrict(analysis, plan) -> pd.Series:
    """Existing + suggested stations per 街道 polygon, by a plain spatial join."""
    subs = analysis.inputs.subdistricts.to_crs("EPSG:4326")
    points = pd.concat(
        [
            analysis.headline.stations.to_crs("EPSG:4326")[["geometry"]],
            plan.suggestions[["geometry"]],
        ],
        ignore_index=True,
    )
    joined = gpd.sjoin(gpd.GeoDataFrame(points, crs="EPSG:4326"), subs, predicate="within")
    joined = joined.loc[~joined.index.duplicated()]
    return joined["subdistrict_code"].astype(str).value_counts()


def _with_residents(analysis) -> set[str]:
    units = analysis.headline.units
    return set(units.loc[units["population"] > 0, "subdistrict_code"].astype(str)) - {""}


@pytest.mark.parametrize(("n", "add"), [(1, 10), (2, 20)])
def test_every_subdistrict_with_residents_ends_with_n_stations(yuexiu_demo, n, add):
    a = yuexiu_demo.analysis
    plan = suggest(a, add=add, min_stations_per_subdistrict=n)
    counts = _stations_per_subdistrict(a, plan)
    areas = _with_residents(a)
    assert len(areas) == 18  # Yuexiu's 18 街道
    short = {code: int(counts.get(code, 0)) for code in areas if counts.get(code, 0) < n}
    assert short == {}
    assert len(plan.suggestions) == add


def test_two_per_subdistrict_needs_more_sites_than_ten(yuexiu_demo):
    a = yuexiu_demo.analysis
    stations = a.headline.stations["subdistrict_code"].astype(str).value_counts()
    short = sum(max(0, 2 - int(stations.get(c, 0))) for c in _with_residents(a))
    with pytest.raises(InfeasibleError) as err:
        suggest(a, add=10, min_stations_per_subdistrict=2)
    assert str(err.value) == (
        f"min_stations_per_subdistrict=2 needs {short} new sites in {short} 街道, more than add=10"
    )


def test_a_plan_cut_short_names_the_option_the_user_passed(yuexiu_demo, caplog):
    a = yuexiu_demo.analysis
    with caplog.at_level("WARNING", logger="skillcircle"):
        plan = suggest(a, add=3, max_per_district={"越秀区": 1})
    assert len(plan.suggestions) == 1
    assert (
        "only 1 of 3 requested stations: the per-group maximum (max_per_district) rules out"
        in caplog.text
    )
    assert plan.summary.plan is not None
    reason = plan.summary.plan.cut_short
    assert reason is not None
    assert reason in caplog.text
    assert f"Plan cut short / 站点数不足: {reason}." in markdown_report(a, plan=plan)
