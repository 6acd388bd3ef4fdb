"""2SFCA and E2SFCA by hand (three stations, five units), groups, and the Yuexiu figures."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skillcircle._errors import InputError
from skillcircle.access.accessibility import (
    AccessSummary,
    catchment_weights,
    floating_catchment,
)
from skillcircle.inputs.groups import demand_group

# Three stations, five units, walk limit 1 000 m. Unit 4 is 1 200 m from station 2: outside
# every catchment.
#   station 0 (100 trainings): unit 0 at 200 m, unit 1 at 500 m, unit 2 at 800 m
#   station 1 (60): unit 1 at 100 m, unit 2 at 400 m
#   station 2 (90): unit 3 at 700 m, unit 4 at 1 200 m
STATION = [0, 0, 0, 1, 1, 2, 2]
UNIT = [0, 1, 2, 1, 2, 3, 4]
DIST = [200.0, 500.0, 800.0, 100.0, 400.0, 700.0, 1200.0]
CAP = [100.0, 60.0, 90.0]
DEMAND = [10.0, 20.0, 30.0, 40.0, 50.0]


def test_2sfca_by_hand() -> None:
    a = floating_catchment(
        STATION, UNIT, DIST, capacity=CAP, demand=DEMAND, limit_m=1000, method="2sfca"
    )
    # step 1: demand within reach 10+20+30 = 60, 20+30 = 50, 40 → ratios 100/60, 60/50, 90/40
    assert a.weighted_demand.tolist() == [60.0, 50.0, 40.0]
    assert a.station_ratio == pytest.approx([5 / 3, 1.2, 2.25], abs=1e-12)
    # step 2: unit 0 sees station 0; units 1 and 2 see 0 and 1; unit 3 sees 2; unit 4 none
    expected = [5 / 3, 5 / 3 + 1.2, 5 / 3 + 1.2, 2.25, 0.0]
    assert a.unit_access == pytest.approx(expected, abs=1e-9)
    assert a.per_1000[4] == 0.0
    # supply is conserved: Σ A_i D_i = Σ S_j (every station reaches someone)
    assert float(np.dot(a.unit_access, DEMAND)) == pytest.approx(250.0, abs=1e-9)


def test_e2sfca_by_hand() -> None:
    a = floating_catchment(
        STATION, UNIT, DIST, capacity=CAP, demand=DEMAND, limit_m=1000, method="e2sfca"
    )
    # weights by thirds of 1 000 m: ≤ 333 m 1.00, ≤ 667 m 0.68, ≤ 1 000 m 0.22
    r0 = 100 / (10 * 1.0 + 20 * 0.68 + 30 * 0.22)  # 100 / 30.2
    r1 = 60 / (20 * 1.0 + 30 * 0.68)  # 60 / 40.4
    r2 = 90 / (40 * 0.22)  # 90 / 8.8
    assert a.station_ratio == pytest.approx([r0, r1, r2], abs=1e-12)
    expected = [r0, 0.68 * r0 + r1, 0.22 * r0 + 0.68 * r1, 0.22 * r2, 0.0]
    assert a.unit_access == pytest.approx(expected, abs=1e-9)
    assert float(np.dot(a.unit_access, DEMAND)) == pytest.approx(250.0, abs=1e-9)


def test_a_station_reaching_nobody_and_oversubscription() -> None:
    a = floating_catchment(
        [0, 0], [0, 1], [100.0, 300.0], capacity=[50.0, 80.0], demand=[10.0, 30.0], limit_m=1000
    )
    assert a.station_ratio.tolist() == [1.25, 0.0]  # station 1 reaches nobody
    assert a.unit_access.tolist() == [1.25, 1.25]
    # 40 residents × 2 trainings wanted a year = 80 > 50 offered: over-subscribed
    assert a.oversubscribed(2.0).tolist() == [True, False]
    assert a.oversubscribed(1.0).tolist() == [False, False]


def test_weights_and_bad_inputs() -> None:
    assert catchment_weights([0, 1000, 1000.5], limit_m=1000, method="2sfca").tolist() == [
        1.0,
        1.0,
        0.0,
    ]
    with pytest.raises(InputError, match="access_method must be one of 2sfca, e2sfca"):
        catchment_weights([1.0], limit_m=1000, method="3sfca")
    with pytest.raises(InputError, match="capacity must be finite and ≥ 0"):
        floating_catchment([0], [0], [1.0], capacity=[-1.0], demand=[1.0], limit_m=10)


def test_groups(tmp_path: Path) -> None:
    work = demand_group("working_age", district_codes=["440104"])
    assert work.share_of("440104") == pytest.approx(0.7472)
    assert "74.72 %" in work.source
    with pytest.raises(InputError, match="no census age structure"):
        demand_group("working_age", district_codes=["110101"])
    f = tmp_path / "shares.csv"
    f.write_text("区代码,占比\n110101,60%\n110102,55%\n", encoding="utf-8")
    g = demand_group(str(f), district_codes=["110101", "110102"])
    assert g.weights(["110101", "110102", "110101"]).tolist() == [0.6, 0.55, 0.6]
    with pytest.raises(InputError, match=r"no share for district\(s\) 110105"):
        demand_group(str(f), district_codes=["110101", "110105"])
    f.write_text("district_code,share\n110101,1.4\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 1") as info:  # data rows count from 1, as in ledgers
        demand_group(str(f), district_codes=["110101"])
    assert "not between 0 and 1" in str(info.value)


# --------------------------------------------------------------------------- real Yuexiu data
@pytest.mark.data
def test_yuexiu_access_is_conserved_and_counts_the_group(yuexiu_demo: Any, data_root: Path) -> None:
    from skillcircle.access.analysis import analyse
    from skillcircle.demo import demo_study

    folder = Path(yuexiu_demo.files["summary.json"]).parent
    s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    acc = AccessSummary.from_json(s["access"])
    assert acc is not None
    assert acc.method == "2sfca"
    assert acc.group == "total"
    assert acc.total_capacity == 1670.0  # the sample ledger's 容量 column
    assert acc.stations_with_capacity == 21
    assert acc.group_population == pytest.approx(s["population"], abs=0.01)
    assert acc.group_covered_population == pytest.approx(s["covered_population"], abs=0.01)
    # 1 000 000 trainings over 2025-2027 for Guangzhou's 18 676 605 residents
    assert acc.participation_rate == pytest.approx(1e6 / 3 / 18_676_605)
    # supply conserved: what the residents can count on = capacity of the stations reaching
    # anyone (the two off-network stations reach no one)
    table = yuexiu_demo.analysis.stations_table
    reaching = table["reach_population"].to_numpy() > 0
    ledger_capacity = yuexiu_demo.analysis.headline.stations["capacity"].to_numpy(float)
    assert acc.per_1000 * acc.group_population / 1000 == pytest.approx(
        ledger_capacity[reaching].sum(),
        rel=1e-4,  # per_1000 is stored to 0.0001
    )
    by_sub = {a.name: a for a in acc.by_subdistrict or ()}
    assert by_sub["矿泉街道"].per_1000 == 0.0  # nobody there reaches a station
    assert len(acc.oversubscribed) == 18  # seat counts (40-200) against a year's demand
    # the 街道 figures add up to the district's
    assert sum(a.group_population for a in by_sub.values()) == pytest.approx(
        acc.group_population, abs=0.1
    )
    # working-age: 74.72 % of every district's residents, so the same coverage share
    study = dataclasses.replace(
        demo_study(data_root=data_root), group="working_age", access_method="e2sfca"
    )
    work = analyse(study, with_isochrones=False, with_gaps=False).summary.access
    assert work is not None
    assert work.group_population == pytest.approx(0.7472 * acc.group_population, rel=1e-6)
    assert work.group_coverage_pct == pytest.approx(acc.group_coverage_pct, abs=1e-3)
    assert work.method == "e2sfca"
    assert work.participation_rate == pytest.approx(1e6 / 3 / (18_676_605 * 0.7472))
    # the words of the report
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "培训供给可达性 Training capacity within reach (2SFCA, residents 常住人口)" in report
    assert "超额 Over-subscribed (18)" in report


@pytest.mark.data
def test_yuexiu_access_columns_in_every_output(yuexiu_demo: Any) -> None:
    """units.parquet, stations.csv and subdistricts.geojson carry the accessibility figures."""
    import geopandas as gpd
    import pandas as pd

    from skillcircle.access.coverage import compute_coverage

    a = yuexiu_demo.analysis
    folder = Path(yuexiu_demo.files["summary.json"]).parent
    acc = a.summary.access
    units = gpd.read_parquet(folder / "units.parquet")
    # per unit: the group (here all residents) and its access; the 街道 mean is the
    # group-weighted mean of the units' access
    assert np.allclose(units["group_population"], units["population"])
    sub = gpd.read_file(folder / "subdistricts.geojson")
    for code, rows in units.groupby("subdistrict_code"):
        mean = float(np.average(rows["access_per_1000"], weights=rows["group_population"]))
        row = sub.loc[sub["subdistrict_code"] == code]
        if len(row):
            assert float(row["access_per_1000"].iloc[0]) == pytest.approx(mean, abs=1e-4), code
    assert sub.loc[sub["subdistrict_name"] == "矿泉街道", "access_per_1000"].iloc[0] == 0.0
    # per station: capacity from the ledger; trainings wanted = rate x residents within its
    # walk, recounted here with the coverage engine on that station alone
    table = pd.read_csv(folder / "stations.csv")
    st = a.headline.stations
    assert np.allclose(table["capacity_used"], st["capacity"].to_numpy(float))
    assert sorted(table.loc[table["oversubscribed"], "name"]) == sorted(acc.oversubscribed)
    on = np.flatnonzero(st["on_network"].to_numpy(bool))
    for j in (on[0], on[len(on) // 2], on[-1]):
        alone = compute_coverage(
            a.inputs.network, st.iloc[[j]], a.headline.units, settings=a.inputs.settings
        )
        within = alone.units["covered"].to_numpy()
        wanted = acc.participation_rate * float(units.loc[within, "group_population"].sum())
        assert table["trainings_wanted"].iloc[j] == pytest.approx(wanted, rel=1e-6)
        if wanted > 0:
            ratio = table["capacity_used"].iloc[j] / wanted
            assert table["supply_ratio"].iloc[j] == pytest.approx(ratio, rel=1e-6)
            assert bool(table["oversubscribed"].iloc[j]) == (ratio < 1)


@pytest.mark.data
def test_yuexiu_report_names_the_least_served_subdistricts(yuexiu_demo: Any) -> None:
    acc = yuexiu_demo.analysis.summary.access
    ranked = sorted(
        (a for a in acc.by_subdistrict if a.group_population > 0),
        key=lambda a: (a.per_1000, a.name),
    )
    assert ranked[0].name == "矿泉街道"  # no station within reach of anyone there
    low = ", ".join(f"{a.name} {a.per_1000:.1f}" for a in ranked[:3])
    line = (
        "街道可达性 By sub-district, trainings a year per 1 000 residents within reach: "
        f"lowest {low}; highest {ranked[-1].name} {ranked[-1].per_1000:.1f} "
        "(all 18: workbook sheet 可达性, map layer 可达性)."
    )
    folder = Path(yuexiu_demo.files["summary.json"]).parent
    assert line in (folder / "report.md").read_text(encoding="utf-8")
    assert line in (folder / "report.html").read_text(encoding="utf-8")
