from __future__ import annotations

import json
from pathlib import Path

import pytest

from skillcircle.cli import main
from skillcircle.network.cache import load_network_file

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "network"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLCIRCLE_CACHE", str(tmp_path / "cache"))


def test_build_and_stats_small_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "net.npz"
    code = main(["network", "build", str(FIXTURES / "walk_small.osm"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "connected components" in printed
    assert "components before" in printed
    assert "4 / 4" in printed  # nodes / edges after keeping the largest piece
    net = load_network_file(out)
    assert (net.n_nodes, net.n_edges) == (4, 4)
    assert net.meta["raw"]["n_components"] == 2

    assert main(["network", "stats", str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["n_components"] == 1
    assert stats["raw_n_components"] == 2
    assert stats["dropped_nodes"] == 2
    assert stats["n_dead_ends"] == 2

    # --retain-all keeps the island; stats straight from a source file
    assert (
        main(
            [
                "network",
                "build",
                str(FIXTURES / "walk_small.geojson"),
                "--out",
                str(out),
                "--retain-all",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert load_network_file(out).n_nodes == 6
    assert main(["network", "stats", str(FIXTURES / "walk_small.geojson")]) == 0
    assert "components before" in capsys.readouterr().out


def test_build_with_boundary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    area = tmp_path / "area.geojson"
    # around node 1 (113.2600, 23.1300) only
    gpd.GeoDataFrame(geometry=[box(113.2598, 23.1298, 113.2602, 23.1302)], crs="EPSG:4326").to_file(
        area
    )
    out = tmp_path / "net.npz"
    code = main(
        [
            "network",
            "build",
            str(FIXTURES / "walk_small.osm"),
            "--out",
            str(out),
            "--boundary",
            str(area),
            "--buffer-m",
            "0",
        ]
    )
    assert code == 0
    net = load_network_file(out)
    assert (net.n_nodes, net.n_edges) == (2, 1)
    assert net.edge_attrs["highway"].tolist() == ["residential"]


@pytest.mark.parametrize(
    "args",
    [
        ["network", "build", "no/such/roads.gpkg", "--out", "x.npz"],
        ["network", "stats", "no/such/net.npz"],
        ["network", "build", "roads.xyz", "--out", "x.npz"],
        [
            "network",
            "build",
            str(FIXTURES / "walk_small.osm"),
            "--out",
            "x.npz",
            "--crs",
            "EPSG:4326",
        ],
    ],
)
def test_user_errors_exit_2_with_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ")
    assert "\n" not in err
    assert "Traceback" not in err


@pytest.mark.data
def test_build_yuexiu(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "yuexiu.npz"
    roads = data_root / "yuexiu" / "roads_osm.gpkg"
    assert main(["network", "build", str(roads), "--out", str(out)]) == 0
    assert out.is_file()
    capsys.readouterr()
    assert main(["network", "stats", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "connected components" in printed
    assert "components before" in printed
    assert main(["network", "stats", str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["n_components"] == 1
    assert 300 <= stats["raw_n_components"] <= 380
    assert stats["dropped_length_m"] == pytest.approx(69_632, rel=0.02)
