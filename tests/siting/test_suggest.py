"""suggest() on the hand-made study (tests/conftest.py): one uncovered node, (0, 200), 10 people."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from skillcircle import InputError
from skillcircle.access.analysis import analyse
from skillcircle.network.model import Network
from skillcircle.siting.suggest import check_plan_options, generate_candidates, suggest


@pytest.fixture
def hand(hand_study):
    return analyse(**hand_study, with_isochrones=False, with_gaps=False)


def _ledger(path, rows):
    pts = gpd.GeoSeries(shapely.points([(x, y) for _, x, y in rows]), crs="EPSG:4547")
    ll = pts.to_crs("EPSG:4326")
    frame = pd.DataFrame({"名称": [n for n, _, _ in rows], "经度": ll.x, "纬度": ll.y})
    frame.to_csv(path, index=False)
    return path


def test_candidate_file_names_its_sites_and_rejects_are_kept(hand, hand_origin, tmp_path):
    X0, Y0 = hand_origin
    path = _ledger(
        tmp_path / "cand.csv",
        [("社区中心", X0, Y0 + 190), ("党群服务中心", X0 + 200, Y0), ("学校", X0 + 100, Y0 + 100)],
    )
    text = path.read_text(encoding="utf-8").splitlines()
    text[3] = "学校,,"  # the school lost its coordinates
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    plan = suggest(hand, add=1, candidates=path, phases=None)
    assert plan.suggestions["name"].tolist() == ["社区中心"]
    assert plan.suggestions["added_population"].tolist() == [10.0]
    assert plan.candidates_rejected["row"].tolist() == [3]
    assert plan.summary["candidates"] == 2
    assert plan.summary["candidates_rejected"] == 1


def test_target_stations_exact_bound_and_target_coverage(hand):
    plan = suggest(hand, target_stations=4, exact=True, candidate_spacing_m=100.0, phases=None)
    assert plan.summary["added_sites"] == 1
    assert plan.summary["bound_method"].startswith("milp")
    assert plan.summary["optimality_gap_pct"] == pytest.approx(0.0)
    full = suggest(hand, target_coverage_pct=100.0, candidate_spacing_m=100.0, phases=None)
    assert full.summary["added_sites"] == 1
    assert full.summary["coverage_pct_after"] == pytest.approx(100.0)


def test_candidates_only_near_gaps(hand, hand_origin):
    X0, Y0 = hand_origin
    plan = suggest(hand, add=1, only_near_gaps=True, candidate_spacing_m=100.0, phases=None)
    # every candidate lies within 160 m (straight line) of the one uncovered node (0, 200)
    cand = plan.candidates.to_crs("EPSG:4547")
    d = np.hypot(cand.geometry.x - X0, cand.geometry.y - (Y0 + 200))
    assert len(cand) >= 1
    assert d.max() <= 160.0 + 1e-6
    assert plan.suggestions["added_population"].tolist() == [10.0]


def test_generated_candidates_one_per_cell():
    xs, ys = np.meshgrid(np.arange(0.0, 500.0, 50.0), np.arange(0.0, 500.0, 50.0))
    n = xs.size
    idx = np.arange(n).reshape(10, 10)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    net = Network.from_edges(xs.ravel(), ys.ravel(), u, v, crs="EPSG:4547")
    cand = generate_candidates(net, area=None, spacing_m=200.0)
    cells = {
        (int(x // 200), int(y // 200))
        for x, y in zip(cand.geometry.x, cand.geometry.y, strict=True)
    }
    assert len(cand) == len(cells) == 9  # 3 x 3 cells of 200 m over a 450 m square
    # the node nearest each cell centre: (100, 100) is a node of the 50 m grid
    assert ((cand.geometry.x == 100.0) & (cand.geometry.y == 100.0)).any()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"add": 0}, "^add must"),
        ({"add": 1, "target_stations": 5}, "either"),
        ({"target_coverage_pct": 0}, "^target_coverage_pct"),
        ({"candidate_spacing_m": 0}, "^candidate_spacing_m"),
        ({"time_limit_s": 0}, "^time_limit_s"),
        ({"min_spacing_m": -1}, "^min_spacing_m"),
    ],
)
def test_impossible_options_are_refused_first(options, message):
    with pytest.raises(InputError, match=message):
        check_plan_options(**options)


def test_target_below_existing_is_refused(hand):
    with pytest.raises(InputError, match="not above the 3 existing"):
        suggest(hand, target_stations=3)


def test_phases_are_opt_in(hand):
    plan = suggest(hand, add=1, candidate_spacing_m=100.0)
    assert plan.suggestions["phase"].tolist() == [""]  # no schedule, no year
    assert plan.summary["phases"] is None


def test_picks_beyond_the_last_phase_are_labelled_after_it(hand):
    # The hand-made study has 3 stations and one uncovered node: one useful pick.
    assert len(hand.headline.stations) == 3
    within = suggest(hand, add=1, candidate_spacing_m=100.0, phases=((2026, 4), (2027, 5)))
    assert within.suggestions["phase"].tolist() == ["2026"]  # station 4: the 2026 target
    assert within.summary["phases"] == [[2026, 4], [2027, 5]]
    # Both targets (2 and 3 stations) are met already: station 4 is beyond the schedule.
    beyond = suggest(hand, add=1, candidate_spacing_m=100.0, phases=((2026, 2), (2027, 3)))
    assert beyond.suggestions["phase"].tolist() == ["after 2027"]
    assert not beyond.suggestions["phase"].isna().any()


def _fake_analysis(districts):
    from types import SimpleNamespace

    return SimpleNamespace(inputs=SimpleNamespace(districts=districts))


def test_programme_phases_only_for_the_whole_city():
    from skillcircle.inputs.boundaries import read_districts
    from skillcircle.profiles.guangzhou import GUANGZHOU
    from skillcircle.siting.suggest import programme_phases

    city = read_districts(GUANGZHOU.districts)
    assert programme_phases(_fake_analysis(city)) == GUANGZHOU.phases
    one = city.loc[city["district_code"] == "440104"]
    assert programme_phases(_fake_analysis(one)) is None  # a city target means nothing here
    assert programme_phases(_fake_analysis(None)) is None
    assert programme_phases(_fake_analysis(read_districts("cnmaps:110101"))) is None


def test_cli_phases_option():
    import datetime

    from skillcircle.cli import _parse_phases, _phase_years
    from skillcircle.inputs.boundaries import read_districts
    from skillcircle.profiles.guangzhou import GUANGZHOU

    beijing = _fake_analysis(read_districts("cnmaps:110101"))
    yuexiu = _fake_analysis(read_districts("cnmaps:440104"))
    explicit = _parse_phases("2031=30,2032=40")
    assert _phase_years(explicit, True, beijing) == ((2031, 30), (2032, 40))
    plain = _parse_phases("30,40,50")
    this_year = datetime.date.today().year
    assert _phase_years(plain, True, beijing) == tuple(
        (this_year + i, t) for i, t in enumerate((30, 40, 50))
    )
    first = GUANGZHOU.phases[0][0]  # in a profiled city, plain totals follow its programme
    assert _phase_years(plain, True, yuexiu) == ((first, 30), (first + 1, 40), (first + 2, 50))
    assert _phase_years(_parse_phases("none"), True, yuexiu) is None
    assert _phase_years(None, False, yuexiu) is None  # no option, not the whole city
    for bad in ("30,20", "a,b", "2031=30,40", "0,10"):
        with pytest.raises(InputError, match="--phases"):
            _parse_phases(bad)


def test_candidates_and_stations_get_the_study_area_rule(hand_study, hand_origin, tmp_path):
    # One district exactly under the population raster (no city profile: no census, no
    # calibration). Walk 160 m + snap 100 m = 260 m of reach beyond it.
    X0, Y0 = hand_origin
    district = gpd.GeoDataFrame(
        {"district_code": ["110101"], "district_name": ["测试区"]},
        geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 250, Y0 + 250)],
        crs="EPSG:4547",
    )
    district.to_crs("EPSG:4326").to_file(tmp_path / "district.geojson")
    a = analyse(
        **{**hand_study, "districts": str(tmp_path / "district.geojson")},
        with_isochrones=False,
        with_gaps=False,
    )
    # station C at (X0 - 300, Y0 - 300) is 354 m from the district corner: refused
    rejected = a.inputs.stations.rejected
    assert rejected["row"].tolist() == [3]
    assert rejected["reason"].iloc[0].startswith("outside the study area (0.4 km away)")
    path = _ledger(
        tmp_path / "cand.csv",
        [("社区中心", X0, Y0 + 190), ("边上", X0 + 350, Y0 + 100), ("远处", X0 + 2000, Y0)],
    )
    plan = suggest(a, add=1, candidates=path)
    # 边上 is 100 m outside: kept as a (cross-border) candidate; 远处 is 1 750 grid metres
    # out, 1 749.9 m on the ellipsoid (EPSG:4547's scale factor here is 1.00007): "1.7 km"
    assert plan.summary["candidates"] == 2
    assert plan.candidates_rejected["row"].tolist() == [3]
    assert (
        plan.candidates_rejected["reason"]
        .iloc[0]
        .startswith("outside the study area (1.7 km away)")
    )
