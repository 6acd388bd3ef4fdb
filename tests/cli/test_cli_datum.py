"""A GCJ-02 ledger with a 所属街道 column: the datum check stops, ``--coords auto`` finds it."""

import json

import pandas as pd
import pytest

from skillcircle.cli import main
from skillcircle.demo import demo_study
from skillcircle.inputs.coords import wgs84_to_gcj02
from skillcircle.inputs.datasets import get_path

pytestmark = pytest.mark.data


@pytest.fixture
def gcj_args(data_root, tmp_path):
    ledger = pd.read_csv(get_path("yuexiu_stations"), dtype=str)
    lon, lat = wgs84_to_gcj02(ledger["经度"].astype(float), ledger["纬度"].astype(float))
    ledger["经度"] = [f"{v:.6f}" for v in lon]
    ledger["纬度"] = [f"{v:.6f}" for v in lat]
    ledger = ledger.rename(columns={"街道": "所属街道"})
    path = tmp_path / "ledger_gcj02.csv"
    ledger.to_csv(path, index=False, encoding="utf-8")
    study = demo_study(data_root=data_root)
    return [
        "--stations",
        str(path),
        "--network",
        str(study.network),
        "--population",
        str(study.population),
        "--districts",
        str(study.districts),
        "--subdistricts",
        str(study.subdistricts),
    ]


def test_gcj02_ledger_without_coords_stops_with_the_hint(gcj_args, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["report", *gcj_args, "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert not out.exists()
    # every demo station lies in its 街道 under GCJ-02 (checked on the WGS84 ledger: 21 of 21)
    assert "under gcj02 (21 of 21) but not under wgs84" in err[0]
    assert "add --coords gcj02" in err[0]


def test_coords_auto_matches_coords_gcj02(gcj_args, tmp_path, capsys):
    runs = {}
    for coords in ("gcj02", "auto"):
        out = tmp_path / coords
        assert main(["report", *gcj_args, "--coords", coords, "--out", str(out)]) == 0
        said = "--coords auto: read the ledger as gcj02" in capsys.readouterr().out
        assert said == (coords == "auto")
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        runs[coords] = (summary, pd.read_csv(out / "stations.csv"))
    (s_g, t_g), (s_a, t_a) = runs["gcj02"], runs["auto"]
    assert s_a["coords"] == s_g["coords"] == "gcj02"
    assert (s_a["coords_auto"], s_g["coords_auto"]) == (True, False)
    assert s_a["coords_fit"]["gcj02"] == {"in_area": 21, "rows": 21}
    assert s_a["coords_fit"]["wgs84"]["in_area"] < 21
    for key in ("population", "covered_population", "coverage_pct", "stations"):
        assert s_a[key] == s_g[key]
    pd.testing.assert_frame_equal(t_a, t_g)
