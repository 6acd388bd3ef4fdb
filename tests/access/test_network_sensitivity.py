"""Coverage on other readings of the network: hand-made pieces, then the real Yuexiu data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from skillcircle.access.coverage import compute_coverage
from skillcircle.access.network_sensitivity import NetworkSensitivity, network_sensitivity
from skillcircle.network.model import Network
from skillcircle.settings import Settings

CRS = "EPSG:32649"


def _pieces() -> Network:
    """Main piece 0-1-2 along y=0; piece B 10 m past node 2 going north; piece C 60 m above 0.

    ::

        C: 5 (0,60) — 6 (100,60)                 4 (810,600)
                                                  |  B
        A: 0 (0,0) — 1 (400,0) — 2 (800,0)  ·  3 (810,0)
    """
    x = [0.0, 400.0, 800.0, 810.0, 810.0, 0.0, 100.0]
    y = [0.0, 0.0, 0.0, 0.0, 600.0, 60.0, 60.0]
    return Network.from_edges(x, y, [0, 1, 3, 5], [1, 2, 4, 6], crs=CRS)


def _case() -> tuple[Network, gpd.GeoDataFrame, gpd.GeoDataFrame, Settings]:
    net = _pieces()
    stations = gpd.GeoDataFrame(geometry=[Point(400, 0)], crs=CRS)
    units = gpd.GeoDataFrame(
        {
            "population": [10.0, 20.0, 30.0],
            "district_code": ["1", "1", "2"],
            "district_name": ["甲区", "甲区", "乙区"],
        },
        geometry=[Point(400, 5), Point(815, 550), Point(50, 70)],
        crs=CRS,
    )
    return net, stations, units, Settings(crs=CRS)  # 1 000 m walk, 500 m snap, 15 m gaps


def test_three_readings_by_hand() -> None:
    net, stations, units, settings = _case()
    main = net.largest_component()
    head = compute_coverage(main, stations, units, settings=settings)
    # u1: 5 m from the station's street: covered everywhere.
    # u2: 550 m from the main piece (off-network there), 5 m from piece B: covered only when
    #     B is joined through the 10 m gap (400 + 10 + 550 + 5 = 965 m).
    # u3: 70 m from the main piece (420 m walk), 10 m from piece C (60 m gap, never joined):
    #     covered unless every piece is kept (it then snaps to C, which reaches no station).
    assert head.units["covered"].tolist() == [True, False, True]
    ns = network_sensitivity(
        net,
        stations,
        units,
        settings=settings,
        headline="main",
        headline_covered=head.units["covered"].to_numpy(),
    )
    assert ns.links == 1
    assert ns.covered_population == {"main": 40.0, "all_pieces": 10.0, "bridged": 60.0}
    assert ns.coverage_pct == pytest.approx(
        {"main": 200 / 3, "all_pieces": 100 / 6, "bridged": 100.0}, abs=1e-4
    )
    by = {a.name: a.coverage_pct for a in ns.by_district}
    assert by["甲区"] == pytest.approx(
        {"main": 100 / 3, "all_pieces": 100 / 3, "bridged": 100.0}, abs=1e-4
    )
    assert by["乙区"] == {"main": 100.0, "all_pieces": 0.0, "bridged": 100.0}
    assert ns.by_subdistrict is None
    # both districts differ by more than 5 points; the wider spread (乙区, 100) first
    assert [a.name for a in ns.differing] == ["乙区", "甲区"]
    assert ns.spread_pp == pytest.approx(100 - 100 / 6, abs=1e-4)


def test_the_headline_reading_does_not_change_the_figures() -> None:
    net, stations, units, settings = _case()
    kept = compute_coverage(net, stations, units, settings=settings)  # every piece kept
    assert kept.units["covered"].tolist() == [True, False, False]
    ns = network_sensitivity(
        net,
        stations,
        units,
        settings=settings,
        headline="all_pieces",
        headline_covered=kept.units["covered"].to_numpy(),
    )
    assert ns.headline == "all_pieces"
    assert ns.covered_population == {"main": 40.0, "all_pieces": 10.0, "bridged": 60.0}


def test_no_joined_reading_with_a_zero_gap_and_json_round_trip() -> None:
    net, stations, units, settings = _case()
    head = compute_coverage(net.largest_component(), stations, units, settings=settings)
    ns = network_sensitivity(
        net,
        stations,
        units,
        settings=settings.replace(network_gap_m=0.0),
        headline="main",
        headline_covered=head.units["covered"].to_numpy(),
    )
    assert list(ns.coverage_pct) == ["main", "all_pieces"]
    assert ns.links == 0
    assert ns.gap_m == 0.0
    back = NetworkSensitivity.from_json(json.loads(json.dumps(ns.to_json())))
    assert back == ns
    frame = ns.frame()
    assert list(frame.columns) == [
        "district_code",
        "district_name",
        "population",
        "coverage_pct_main",
        "coverage_pct_all_pieces",
        "spread_pp",
    ]
    assert frame["spread_pp"].tolist() == pytest.approx([0.0, 100.0])


def test_a_bad_headline_is_refused() -> None:
    net, stations, units, settings = _case()
    with pytest.raises(Exception, match="headline must be"):
        network_sensitivity(
            net,
            stations,
            units,
            settings=settings,
            headline="bridged",
            headline_covered=np.zeros(3, dtype=bool),
        )


# --------------------------------------------------------------------------- real Yuexiu data
def test_yuexiu_figures_and_words(yuexiu_demo: Any, data_root: Path) -> None:
    from skillcircle.access.analysis import analyse
    from skillcircle.access.coverage import coverage_table
    from skillcircle.demo import demo_study
    from skillcircle.inputs.areas import SUBDISTRICT_KEYS
    from skillcircle.network.load import keep_largest_piece
    from skillcircle.network.quality import bridge_gaps

    folder = Path(yuexiu_demo.files["summary.json"]).parent
    s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    ns = s["network_sensitivity"]
    assert ns["headline"] == "main"
    assert ns["coverage_pct"]["main"] == s["coverage_pct"]  # the headline itself
    assert ns["covered_population"]["main"] == s["covered_population"]
    assert ns["links"] == 141
    assert ns["gap_m"] == 15.0
    assert {k: round(v, 1) for k, v in ns["coverage_pct"].items()} == {
        "main": 45.2,
        "all_pieces": 37.2,
        "bridged": 48.2,
    }
    assert len(ns["by_subdistrict"]) == 18

    # independent runs: every piece kept as the headline, and the joined network by hand
    study = demo_study(data_root=data_root)
    kept = analyse(
        dataclasses.replace(study, retain_all=True), with_isochrones=False, with_gaps=False
    )
    assert kept.summary.coverage_pct == pytest.approx(ns["coverage_pct"]["all_pieces"], abs=1e-4)
    assert kept.summary.network_sensitivity is not None
    assert kept.summary.network_sensitivity.headline == "all_pieces"
    assert kept.summary.network_sensitivity.coverage_pct == ns["coverage_pct"]
    inp = kept.inputs
    joined, _ = bridge_gaps(inp.network, max_gap_m=15.0)
    joined = keep_largest_piece(joined)
    by_hand = compute_coverage(
        joined, inp.stations.stations, inp.population.units, settings=inp.settings
    )
    assert by_hand.coverage_pct == pytest.approx(ns["coverage_pct"]["bridged"], abs=1e-4)
    table = coverage_table(by_hand, by=SUBDISTRICT_KEYS).set_index("subdistrict_name")
    for area in ns["by_subdistrict"]:
        expected = table.loc[area["name"], "coverage_pct"]
        assert area["coverage_pct"]["bridged"] == pytest.approx(expected, abs=1e-3)

    # 街道 whose readings differ by more than 5 points are named, widest first
    assert ns["differing_subdistricts"][:2] == ["珠光街道", "流花街道"]
    sub = {a["name"]: a["coverage_pct"] for a in ns["by_subdistrict"]}
    assert round(sub["流花街道"]["main"]) == 22
    assert round(sub["流花街道"]["bridged"]) == 47
    assert "光塔街道" not in ns["differing_subdistricts"]  # 95.1 % on every reading
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert (
        "45.2 % on the main street network 主路网 (the headline); 37.2 % keeping every "
        "cut-off piece 保留全部断开路段; 48.2 % if the 141 gaps under 15 m are real connections"
    ) in report
    assert "流花街道 22 / 21 / 47 %" in report
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "路网敏感性 Network sensitivity: 45.2 %" in html
    assert "珠光街道 86 / 9 / 85 %" in html
