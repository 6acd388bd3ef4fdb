"""`skillcircle network build/stats` and `report --network` on hostile inputs.

Every bad input is exit code 2 and exactly one stderr line naming the file, never a traceback,
and the input file is left byte for byte as it was. Bad features are dropped and said so.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyogrio.raw import write
from shapely.geometry import LineString

from skillcircle.cli import main
from skillcircle.inputs.datasets import get_path
from skillcircle.network.cache import is_network_file, load_network_file

X0, Y0 = 430_000.0, 2_558_000.0
ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = (".gpkg", ".geojson", ".shp", ".parquet", ".osm", ".osm.pbf", ".graphml", ".npz")


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLCIRCLE_CACHE", str(tmp_path / "cache"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wkb_line(*pts: tuple[float, float]) -> bytes:
    return shapely.to_wkb(LineString([(X0 + x, Y0 + y) for x, y in pts]))


def _layer(path: Path, extra: Sequence[bytes | None] = (), **kw: Any) -> Path:
    """A+B+C (500 m, one piece) and D (110 m, apart), all footways, plus ``extra`` footways."""
    wkb = [
        _wkb_line((0, 0), (100, 0), (200, 0)),
        _wkb_line((100, 0), (100, 100)),
        _wkb_line((100, 100), (50, 100), (50, -50)),
        _wkb_line((210, 0), (260, 0), (260, 60)),
        *extra,
    ]
    fields = kw.pop("fields", ["highway"])
    write(
        path,
        np.array(wkb, dtype=object),
        [np.array(["footway"] * len(wkb), dtype=object)],
        fields=fields,
        geometry_type="Unknown",
        crs=kw.pop("crs", "EPSG:4547"),
        driver="GPKG",
        **kw,
    )
    return path


def _one_error(capsys: pytest.CaptureFixture[str], code: int, path: Path) -> str:
    """The single stderr line of a failed command, which must name ``path``."""
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    assert str(path) in err[0]
    assert "Traceback" not in err[0]
    return err[0]


# ---------------------------------------------------------------------------- unreadable sources
@pytest.mark.parametrize("content", ["empty", "random"])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_build_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str, content: str
) -> None:
    src = tmp_path / f"roads{suffix}"
    src.write_bytes(b"" if content == "empty" else np.random.default_rng(3).bytes(4096))
    before = _sha(src)
    out = tmp_path / "net.npz"
    code = main(["network", "build", str(src), "--out", str(out)])
    line = _one_error(capsys, code, src)
    if content == "empty":
        assert line == f"error: {src}: the file is empty"
    assert _sha(src) == before
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".gpkg", ".npz", ".osm"])
def test_stats_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    src = tmp_path / f"roads{suffix}"
    src.write_bytes(np.random.default_rng(5).bytes(4096))
    before = _sha(src)
    _one_error(capsys, main(["network", "stats", str(src)]), src)
    assert _sha(src) == before


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("two_layers", "the file has 2 layers (roads, archive); name the road layer as "),
        ("no_highway", "a road layer needs a 'highway' column"),
        ("no_crs", "the road layer has no coordinate reference system"),
        ("no_features", "the road layer has no features"),
    ],
)
@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_build_unusable_layer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    src = tmp_path / "roads.gpkg"
    if case == "two_layers":
        _layer(src, layer="roads")
        _layer(src, layer="archive", append=True)
    elif case == "no_highway":
        _layer(src, fields=["kind"])
    elif case == "no_crs":
        _layer(src, crs=None)
    else:
        write(
            src,
            np.array([], dtype=object),
            [np.array([], dtype=object)],
            fields=["highway"],
            geometry_type="LineString",
            crs="EPSG:4547",
            driver="GPKG",
        )
    before = _sha(src)
    out = tmp_path / "net.npz"
    line = _one_error(capsys, main(["network", "build", str(src), "--out", str(out)]), src)
    assert expected in line
    assert _sha(src) == before
    assert not out.exists()


def test_build_named_layer_of_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _layer(tmp_path / "roads.gpkg", layer="roads")
    _layer(src, [_wkb_line((0, 500), (100, 500))], layer="archive", append=True)
    out = tmp_path / "net.npz"
    assert main(["network", "build", f"{src}:archive", "--out", str(out), "--retain-all"]) == 0
    net = load_network_file(out)
    assert (net.n_nodes, net.n_edges, net.total_length_m) == (8, 5, pytest.approx(710.0))
    assert net.meta["layer"] == "archive"


# ---------------------------------------------------------------------------- bad features
def test_build_drops_bad_features_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_point = struct.pack("<BIIdd", 1, 2, 1, X0, Y0)
    absurd = _wkb_line((0, 0), (1e18, 1e18))
    src = _layer(tmp_path / "bad.gpkg", [one_point, absurd, _wkb_line((5, 5), (5, 5))])
    clean = _layer(tmp_path / "clean.gpkg")
    out, ref = tmp_path / "bad.npz", tmp_path / "clean.npz"
    assert main(["network", "build", str(clean), "--out", str(ref)]) == 0
    capsys.readouterr()
    assert main(["network", "build", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "dropped unusable road features: 1 unreadable, 1 zero length, 1 too long" in printed
    assert "0.11 km" in printed  # piece D is what the largest-piece step drops
    assert main(["network", "stats", str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert main(["network", "stats", str(ref), "--json"]) == 0
    ref_stats = json.loads(capsys.readouterr().out)
    assert stats.pop("invalid_features") == {"unreadable": 1, "zero_length": 1, "too_long": 1}
    assert ref_stats.pop("invalid_features") == {}
    assert stats == ref_stats
    assert stats["dropped_length_m"] == pytest.approx(110.0)
    assert stats["total_length_m"] == pytest.approx(500.0)


# ---------------------------------------------------------------------------- --out
def test_out_without_suffix_gets_npz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _layer(tmp_path / "roads.gpkg")
    out = tmp_path / "yuexiu"
    assert main(["network", "build", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"note: --out has no suffix, writing {out}.npz" in printed
    assert not out.exists()
    assert is_network_file(tmp_path / "yuexiu.npz")
    assert main(["network", "stats", str(tmp_path / "yuexiu.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_edges"] == 3


def test_out_equal_to_input_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _layer(tmp_path / "roads.gpkg")
    before = _sha(src)
    line = _one_error(capsys, main(["network", "build", str(src), "--out", str(src)]), src)
    assert "--out must be a .npz network file" in line
    net_src = tmp_path / "net.npz"
    assert main(["network", "build", str(src), "--out", str(net_src)]) == 0
    capsys.readouterr()
    net_before = _sha(net_src)
    code = main(["network", "build", str(net_src), "--out", str(net_src)])
    assert "--out would overwrite an input file" in _one_error(capsys, code, net_src)
    assert (_sha(src), _sha(net_src)) == (before, net_before)


def test_out_wrong_suffix_or_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _layer(tmp_path / "roads.gpkg")
    other = tmp_path / "other.gpkg"
    code = main(["network", "build", str(src), "--out", str(other)])
    assert "'other.gpkg'" in _one_error(capsys, code, other)
    assert not other.exists()
    folder = tmp_path / "dir.npz"
    folder.mkdir()
    code = main(["network", "build", str(src), "--out", str(folder)])
    assert "is a folder" in _one_error(capsys, code, folder)


def test_out_existing_foreign_file_needs_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _layer(tmp_path / "roads.gpkg")
    foreign = tmp_path / "arrays.npz"
    np.savez(foreign, population=np.arange(5))  # an .npz, but not a network
    before = _sha(foreign)
    code = main(["network", "build", str(src), "--out", str(foreign)])
    line = _one_error(capsys, code, foreign)
    assert line.endswith(
        "exists and is not a skillcircle network file; use --overwrite to replace it"
    )
    assert _sha(foreign) == before
    assert main(["network", "build", str(src), "--out", str(foreign), "--overwrite"]) == 0
    assert is_network_file(foreign)
    # an existing network file is simply replaced
    capsys.readouterr()
    assert main(["network", "build", str(src), "--out", str(foreign), "--retain-all"]) == 0
    assert load_network_file(foreign).n_edges == 4


# ---------------------------------------------------------------------------- real processes
def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SKILLCIRCLE_CACHE": str(cwd / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "skillcircle", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def test_subprocess_one_stderr_line(tmp_path: Path) -> None:
    garbage = tmp_path / "roads.gpkg"
    garbage.write_bytes(np.random.default_rng(1).bytes(4096))
    two = _layer(tmp_path / "two.gpkg", layer="roads")
    _layer(two, layer="archive", append=True)
    for src in (garbage, two):
        before = _sha(src)
        done = _run("network", "build", str(src), "--out", "x.npz", cwd=tmp_path)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2, done.stderr
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: {src}: ")
        assert "Traceback" not in done.stderr
        assert _sha(src) == before
    bad = _layer(tmp_path / "bad.gpkg", [struct.pack("<BIIdd", 1, 2, 1, X0, Y0)])
    done = _run("network", "build", str(bad), "--out", "bad", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        f"注意 note: {bad}: dropped 1 of 5 walkable road features: "
        "1 unreadable geometry (e.g. a line with one point) (row 5)\n"
        "注意 note: OSM walking network is fragmented: it falls into "
        "2 separate pieces and the largest holds only 82.0 % of the street length; people near "
        "the other pieces look cut off (often an export that left out some kinds of path)"
    )
    assert is_network_file(tmp_path / "bad.npz")


@pytest.mark.data
def test_report_with_garbage_network(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "roads.gpkg"
    src.write_bytes(np.random.default_rng(2).bytes(4096))
    before = _sha(src)
    out = tmp_path / "r"
    args = ["report", "--stations", str(get_path("yuexiu_stations")), "--network", str(src)]
    code = main([*args, "--districts", "cnmaps:440104", "--out", str(out)])
    line = _one_error(capsys, code, src)
    assert "cannot read the road layer" in line
    assert _sha(src) == before
    assert not out.exists()
