from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import shapely

from skillcircle import CacheError, InputFileNotFoundError
from skillcircle.network import cache as nc
from skillcircle.network.load import load_network
from skillcircle.network.model import Network
from skillcircle.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "network"


@pytest.fixture
def net() -> Network:
    bend = shapely.LineString([(100, 0), (150, 40), (100, 100)])
    return Network.from_edges(
        [0.0, 100.0, 100.0, 100.0],
        [0.0, 0.0, 100.0, 100.0],
        [0, 1, 1, 2],
        [1, 2, 2, 2],
        crs="EPSG:4547",
        edge_geometry=[
            shapely.LineString([(0, 0), (100, 0)]),
            bend,
            shapely.LineString([(100, 0), (100, 100)]),
            shapely.LineString([(100, 100), (120, 120), (80, 120), (100, 100)]),
        ],
        edge_attrs={
            "highway": np.array(["footway", "residential", "path", "footway"]),
            "name": np.array(["越秀路", "", "", "环"]),
            "osm_id": np.array([5, 6, -1, 7]),
            "width": np.array([1.5, np.nan, 2.0, 0.25]),
        },
        node_id=[101, 102, 103, 104],
        meta={"source": "hand", "raw": {"n_components": 2}},
    )


def _assert_same(a: Network, b: Network) -> None:
    for field in (
        "x",
        "y",
        "edge_u",
        "edge_v",
        "edge_length",
        "indptr",
        "indices",
        "csr_length",
        "csr_edge",
        "node_id",
    ):
        left, right = getattr(a, field), getattr(b, field)
        assert left.dtype == right.dtype
        assert np.array_equal(left, right), field
    assert a.crs == b.crs
    assert shapely.to_wkb(a.edge_geometry).tolist() == shapely.to_wkb(b.edge_geometry).tolist()
    assert list(a.edge_attrs) == list(b.edge_attrs)
    for k in a.edge_attrs:
        assert np.array_equal(a.edge_attrs[k], b.edge_attrs[k], equal_nan=k == "width"), k
    assert a.meta == b.meta


def test_npz_round_trip_is_exact(net: Network, tmp_path: Path) -> None:
    path = nc.save_network(net, tmp_path / "net.npz")
    assert path == tmp_path / "net.npz"
    back = nc.load_network_file(path)
    _assert_same(net, back)
    assert back.edge_length.tolist() == [100.0, net.edge_length[1], 100.0, net.edge_length[3]]
    assert back.edge_attrs["name"][0] == "越秀路"


def test_any_file_name_and_object_attributes(net: Network, tmp_path: Path) -> None:
    odd = Network.from_edges(
        net.x,
        net.y,
        net.edge_u,
        net.edge_v,
        crs=net.crs,
        edge_attrs={"ref": np.array(["A1", None, 3, "x"], dtype=object)},
    )
    back = nc.load_network_file(nc.save_network(odd, tmp_path / "net.bin"))
    assert back.edge_attrs["ref"].tolist() == ["A1", "", "3", "x"]
    assert not (tmp_path / "net.bin.npz").exists()


def test_load_errors(net: Network, tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFoundError):
        nc.load_network_file(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not a network")
    with pytest.raises(CacheError, match="not a readable network file"):
        nc.load_network_file(tmp_path / "text.npz")
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(CacheError, match="missing"):
        nc.load_network_file(tmp_path / "other.npz")
    path = nc.save_network(net, tmp_path / "net.npz", key="abc")
    with pytest.raises(CacheError, match="stale"):
        nc.load_network_file(path, expected_key="def")


def test_checksum_detects_changed_array(net: Network, tmp_path: Path) -> None:
    path = nc.save_network(net, tmp_path / "net.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["edge_length"] = arrays["edge_length"] + 1.0  # a valid zip with tampered data
    np.savez(path, **arrays)
    with pytest.raises(CacheError, match="checksum"):
        nc.load_network_file(path)


def test_other_format_version_is_refused(
    net: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nc, "FORMAT_VERSION", 0)
    path = nc.save_network(net, tmp_path / "net.npz")
    monkeypatch.undo()
    with pytest.raises(CacheError, match="format version 0, expected 1 or 2"):
        nc.load_network_file(path)


def test_cached_network_builds_once_then_reuses(
    net: Network, settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "roads.geojson"
    source.write_text("{}")
    builds: list[int] = []

    def build() -> Network:
        builds.append(1)
        return net

    first = nc.cached_network(source, settings, build, options={"retain_all": False})
    second = nc.cached_network(source, settings, build, options={"retain_all": False})
    assert len(builds) == 1
    _assert_same(first, second)
    files = list((settings.cache_dir / "networks").glob("*.npz"))
    assert len(files) == 1
    assert files[0].name.startswith("roads.geojson.")
    # other options, other CRS or other file bytes: another key, a new build
    nc.cached_network(source, settings, build, options={"retain_all": True})
    nc.cached_network(source, settings.replace(crs="EPSG:32649"), build)
    source.write_text('{"changed": 1}')
    nc.cached_network(source, settings, build, options={"retain_all": False})
    assert len(builds) == 4


@pytest.mark.parametrize("damage", ["truncate", "flip", "stale"])
def test_damaged_cache_is_rebuilt_identically(
    settings: Settings, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    source = FIXTURES / "walk_small.geojson"
    reference = load_network(source, settings=settings)
    (cache_file,) = (settings.cache_dir / "networks").glob("*.npz")
    data = cache_file.read_bytes()
    if damage == "truncate":
        cache_file.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        pos = data.index(reference.edge_length.tobytes()) + 3  # inside the stored lengths
        cache_file.write_bytes(data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1 :])
    else:
        nc.save_network(reference, cache_file, key="0" * 64)  # valid file, another key
    caplog.set_level(logging.WARNING, logger="skillcircle.network.cache")
    rebuilt = load_network(source, settings=settings)
    assert "network cache not usable, rebuilding" in caplog.text
    _assert_same(reference, rebuilt)
    # the rebuilt cache is good again
    caplog.clear()
    again = load_network(source, settings=settings)
    assert "not usable" not in caplog.text
    _assert_same(reference, again)


def test_cache_write_failure_is_not_fatal(
    net: Network, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "roads.geojson"
    source.write_text("{}")
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache folder should be")
    settings = Settings(cache_dir=blocker)
    caplog.set_level(logging.WARNING, logger="skillcircle.network.cache")
    out = nc.cached_network(source, settings, lambda: net)
    assert out is net
    assert "could not write the network cache" in caplog.text


def test_load_network_reads_a_built_file(settings: Settings, tmp_path: Path) -> None:
    built = load_network(FIXTURES / "walk_small.geojson", settings=settings)
    path = nc.save_network(built, tmp_path / "built.npz")
    again = load_network(path, settings=settings)
    _assert_same(built, again)
    assert again.meta["raw"]["n_components"] == 2  # provenance of the original build kept


def test_a_version_1_file_with_wkb_shapes_still_reads(net: Network, tmp_path: Path) -> None:
    # the layout skillcircle 0.2 wrote: shapes as WKB blobs cut by byte offsets
    path = nc.save_network(net, tmp_path / "new.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files if k not in {"edge_coords", "edge_offsets"}}
    wkb = shapely.to_wkb(net.edge_geometry).tolist()
    arrays["geom_wkb"] = np.frombuffer(b"".join(wkb), dtype=np.uint8)
    arrays["geom_offsets"] = np.cumsum([0] + [len(b) for b in wkb]).astype(np.int64)
    header = json.loads(arrays["header"].tobytes().decode("utf-8")) | {"format_version": 1}
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    del arrays["checksum"]
    arrays["checksum"] = np.frombuffer(nc._checksum(arrays).encode("ascii"), dtype=np.uint8)
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    assert nc.is_network_file(old)
    back = nc.load_network_file(old)
    _assert_same(net, back)
    assert back.edge_offsets.tolist() == net.edge_offsets.tolist()
    assert np.array_equal(back.edge_coords, net.edge_coords)
