"""Hostile network inputs: every bad file is one skillcircle error naming it; bad features drop.

Each hostile file is made here in ``tmp_path``. A layer with unusable features must give the
same network and the same quality figures as the same layer without them, and say what it
dropped (``meta["invalid_features"]``, one warning naming the file).
"""

from __future__ import annotations

import json
import logging
import os
import struct
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from pyogrio.raw import write
from shapely.geometry import LineString, Point, Polygon

from skillcircle._errors import InputError, NetworkError, SkillcircleError
from skillcircle.network.build import MAX_SEGMENT_M
from skillcircle.network.cache import is_network_file, load_network_file, save_network
from skillcircle.network.load import load_network, split_layer
from skillcircle.network.quality import network_quality
from skillcircle.settings import Settings

X0, Y0 = 430_000.0, 2_558_000.0
CRS = "EPSG:4547"


def _line(*pts: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


def _clean() -> list[tuple[bytes | None, str]]:
    """(WKB, highway) of a layer whose network is known by hand.

    A (0,0)-(100,0)-(200,0) and B (100,0)-(100,100) share (100,0); C (100,100)-(50,100)-(50,-50)
    continues B; D (210,0)-(260,0)-(260,60) is a separate piece; E is a motorway (not walkable).
    Walkable length 610 m; the largest piece A+B+C holds 500 m (82 %: fragmented).
    """
    feats = [
        (_line((0, 0), (100, 0), (200, 0)), "footway"),
        (_line((100, 0), (100, 100)), "residential"),
        (_line((100, 100), (50, 100), (50, -50)), "footway"),
        (_line((210, 0), (260, 0), (260, 60)), "footway"),
        (_line((0, 0), (0, -100)), "motorway"),
    ]
    return [(shapely.to_wkb(g), h) for g, h in feats]


def _one_point_wkb(x: float, y: float) -> bytes:
    """WKB of a LineString with a single point (GEOS refuses to build one)."""
    return struct.pack("<BIIdd", 1, 2, 1, x, y)


def _nan_line_wkb() -> bytes:
    """WKB of a two-point LineString whose second x is NaN."""
    return struct.pack("<BIIdddd", 1, 2, 2, X0 + 300, Y0, float("nan"), Y0 + 10)


BAD: dict[str, tuple[bytes | None, str]] = {
    "unreadable": (_one_point_wkb(X0 + 500, Y0), "footway"),
    "no_geometry": (None, "footway"),
    "empty": (shapely.to_wkb(LineString()), "footway"),
    "not_a_line": (shapely.to_wkb(Point(X0 + 5, Y0 + 5)), "footway"),
    "non_finite": (_nan_line_wkb(), "footway"),
    "zero_length": (shapely.to_wkb(_line((400, 0), (400, 0))), "footway"),
    "too_long": (shapely.to_wkb(_line((0, 0), (1e18, 1e18))), "footway"),
}


def _gpkg(path: Path, feats: list[tuple[bytes | None, str]], **kw: Any) -> Path:
    write(
        path,
        np.array([w for w, _ in feats], dtype=object),
        [np.array([h for _, h in feats], dtype=object), np.arange(len(feats), dtype=np.int64)],
        fields=["highway", "osm_id"],
        geometry_type="Unknown",
        crs=kw.pop("crs", CRS),
        driver="GPKG",
        **kw,
    )
    return path


def _settings(tmp_path: Path) -> Settings:
    return Settings(crs=CRS, cache_dir=tmp_path / "cache")


def _load(path: str | Path, tmp_path: Path, **kw: Any) -> Any:
    return load_network(path, settings=_settings(tmp_path), use_cache=False, **kw)


def _shape(net: Any) -> tuple[int, int, float]:
    return net.n_nodes, net.n_edges, round(net.total_length_m, 6)


# ---------------------------------------------------------------------------- unreadable files
SUFFIXES = (".gpkg", ".geojson", ".shp", ".parquet", ".osm", ".osm.pbf", ".graphml", ".npz")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_empty_file_is_one_input_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"roads{suffix}"
    path.write_bytes(b"")
    with pytest.raises(InputError) as info:
        _load(path, tmp_path)
    assert str(info.value) == f"{path}: the file is empty"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_random_bytes_are_one_skillcircle_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"roads{suffix}"
    path.write_bytes(np.random.default_rng(7).bytes(3000))
    with pytest.raises(SkillcircleError) as info:
        _load(path, tmp_path)
    text = str(info.value)
    assert text.startswith(f"{path}: ")
    assert "\n" not in text
    assert "It might help" not in text  # GDAL's boilerplate is cut


def test_valid_geopackage_without_features(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "none.gpkg", [])
    with pytest.raises(NetworkError, match="the road layer has no features") as info:
        _load(path, tmp_path)
    assert str(info.value).startswith(f"{path}: ")


def test_geopackage_with_two_layers_needs_the_layer_named(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "two.gpkg", _clean(), layer="roads")
    _gpkg(path, _clean()[:2], layer="archive", append=True)
    with pytest.raises(InputError) as info:
        _load(path, tmp_path)
    assert str(info.value) == (
        f"{path}: the file has 2 layers (roads, archive); name the road layer as "
        "two.gpkg:<layer>, e.g. two.gpkg:roads"
    )
    roads = _load(f"{path}:roads", tmp_path, retain_all=True)
    assert _shape(roads) == (6, 4, 610.0)
    assert roads.meta["layer"] == "roads"
    archive = _load(f"{path}:archive", tmp_path, retain_all=True)
    assert _shape(archive) == (4, 3, 300.0)  # A and B: (0,0) (100,0) (200,0) (100,100)
    with pytest.raises(InputError) as info:
        _load(f"{path}:nope", tmp_path)
    assert str(info.value) == f"{path}: no layer 'nope' in the file (layers: roads, archive)"


def test_layer_suffix_is_cached_separately(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "two.gpkg", _clean(), layer="roads")
    _gpkg(path, _clean()[:2], layer="archive", append=True)
    settings = _settings(tmp_path)
    a = load_network(f"{path}:roads", settings=settings, retain_all=True)
    b = load_network(f"{path}:archive", settings=settings, retain_all=True)
    again = load_network(f"{path}:roads", settings=settings, retain_all=True)
    assert (a.total_length_m, b.total_length_m, again.total_length_m) == (610.0, 300.0, 610.0)


def test_split_layer_keeps_plain_and_absolute_paths(tmp_path: Path) -> None:
    assert split_layer("/data/roads.gpkg:main") == ("/data/roads.gpkg", "main")
    assert split_layer("roads.GPKG:main") == ("roads.GPKG", "main")
    assert split_layer("/data/roads.gpkg") == ("/data/roads.gpkg", None)
    assert split_layer("place:越秀区, 广州") == ("place:越秀区, 广州", None)
    assert split_layer("roads.geojson:x") == ("roads.geojson:x", None)  # not a layer suffix
    odd = tmp_path / "odd.gpkg:name"  # a file really named so wins
    odd.write_bytes(b"x")
    assert split_layer(odd) == (str(odd), None)


def test_layer_without_highway_column(tmp_path: Path) -> None:
    path = tmp_path / "nohw.gpkg"
    frame = gpd.GeoDataFrame({"kind": ["a"]}, geometry=[_line((0, 0), (1, 0))], crs=CRS)
    frame.to_file(path)
    with pytest.raises(InputError) as info:
        _load(path, tmp_path)
    assert str(info.value) == (
        f"{path}, field 'highway': a road layer needs a 'highway' column (the OSM way class)"
    )


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_layer_without_crs(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "nocrs.gpkg", _clean(), crs=None)
    with pytest.raises(InputError) as info:
        _load(path, tmp_path)
    assert str(info.value) == f"{path}: the road layer has no coordinate reference system"


def test_garbage_npz_and_inconsistent_npz(tmp_path: Path) -> None:
    text = tmp_path / "notes.npz"
    text.write_text("a note, not a network")
    assert not is_network_file(text)
    with pytest.raises(SkillcircleError, match=r"not an \.npz archive"):
        load_network_file(text)
    other = tmp_path / "arrays.npz"
    np.savez(other, a=np.arange(3))
    assert not is_network_file(other)
    with pytest.raises(SkillcircleError, match=r"missing x, y"):
        load_network_file(other)


# ---------------------------------------------------------------------------- bad features
@pytest.mark.parametrize("reason", sorted(BAD))
def test_bad_feature_is_dropped_and_counted(
    tmp_path: Path, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    clean = _load(_gpkg(tmp_path / "clean.gpkg", _clean()), tmp_path, retain_all=True)
    assert _shape(clean) == (6, 4, 610.0)  # hand-computed, see _clean
    # the bad feature in the middle, plus a non-walkable bad one that is not counted
    feats = [*_clean()[:2], BAD[reason], *_clean()[2:], (BAD[reason][0], "motorway")]
    path = _gpkg(tmp_path / "bad.gpkg", feats)
    with caplog.at_level(logging.WARNING, logger="skillcircle.network.build"):
        net = _load(path, tmp_path, retain_all=True)
    assert _shape(net) == _shape(clean)
    assert np.array_equal(np.sort(net.edge_length), np.sort(clean.edge_length))
    assert net.meta["invalid_features"] == {reason: 1}
    assert clean.meta["invalid_features"] == {}
    warnings = [r.getMessage() for r in caplog.records if r.name == "skillcircle.network.build"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{path}: dropped 1 of 5 walkable road features: 1 ")
    assert warnings[0].endswith("(row 3)")


def test_all_bad_features_together(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "all.gpkg", [*BAD.values(), *_clean(), *BAD.values()])
    net = _load(path, tmp_path, retain_all=True)
    assert _shape(net) == (6, 4, 610.0)
    assert net.meta["invalid_features"] == {reason: 2 for reason in BAD}
    assert network_quality(net).invalid_features == {reason: 2 for reason in BAD}


def test_polygon_and_infinite_and_unprojectable(tmp_path: Path) -> None:
    square = Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 10)])
    feats = [
        *_clean(),
        (shapely.to_wkb(square), "footway"),
        (shapely.to_wkb(_line((0, 0), (float("inf"), 0))), "footway"),
    ]
    net = _load(_gpkg(tmp_path / "mixed.gpkg", feats), tmp_path, retain_all=True)
    assert net.meta["invalid_features"] == {"not_a_line": 1, "non_finite": 1}
    # latitude 1000° exists in no CRS: projecting it gives infinity
    wgs = [
        (shapely.to_wkb(LineString([(113.0, 23.0), (113.001, 23.0)])), "footway"),
        (shapely.to_wkb(LineString([(113.0, 1000.0), (113.1, 23.0)])), "footway"),
    ]
    net = _load(_gpkg(tmp_path / "wgs.gpkg", wgs, crs="EPSG:4326"), tmp_path, retain_all=True)
    assert net.meta["invalid_features"] == {"unprojectable": 1}
    assert net.n_edges == 1
    assert net.total_length_m == pytest.approx(102.5, abs=0.5)  # 0.001° of longitude at 23° N


def test_longest_segment_threshold(tmp_path: Path) -> None:
    just = MAX_SEGMENT_M - 1.0
    feats = [
        *_clean(),
        (shapely.to_wkb(_line((1000, 0), (1000 + just, 0))), "footway"),
        (shapely.to_wkb(_line((1000, 10), (1000 + MAX_SEGMENT_M + 1, 10))), "footway"),
    ]
    net = _load(_gpkg(tmp_path / "long.gpkg", feats), tmp_path, retain_all=True)
    assert net.meta["invalid_features"] == {"too_long": 1}
    assert net.total_length_m == pytest.approx(610.0 + just)


def test_absurd_line_leaves_quality_figures_unchanged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clean_path = _gpkg(tmp_path / "clean.gpkg", _clean())
    bad_path = _gpkg(tmp_path / "absurd.gpkg", [*_clean(), BAD["too_long"]])
    with caplog.at_level(logging.WARNING, logger="skillcircle.network.quality"):
        q_clean = network_quality(_load(clean_path, tmp_path)).to_dict()
        q_bad = network_quality(_load(bad_path, tmp_path)).to_dict()
    fragmented = [r for r in caplog.records if "fragmented" in r.getMessage()]
    assert len(fragmented) == 2  # the warning is not hidden by the absurd line
    assert q_bad.pop("invalid_features") == {"too_long": 1}
    assert q_clean.pop("invalid_features") == {}
    assert q_bad == q_clean
    assert q_bad["dropped_length_m"] == pytest.approx(110.0)  # piece D
    assert q_bad["raw_largest_length_share"] == pytest.approx(500 / 610)


def test_cached_network_keeps_and_repeats_the_drop_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _gpkg(tmp_path / "bad.gpkg", [*_clean(), BAD["zero_length"]])
    settings = _settings(tmp_path)
    load_network(path, settings=settings, retain_all=True)
    with caplog.at_level(logging.WARNING):
        net = load_network(path, settings=settings, retain_all=True)
    assert net.meta["invalid_features"] == {"zero_length": 1}
    assert [
        r.getMessage() for r in caplog.records if r.name.startswith("skillcircle.network.l")
    ] == [
        f"{path}: 1 unusable road features were dropped when this network was built (1 zero length)"
    ]
    saved = save_network(net, tmp_path / "net.npz")
    assert is_network_file(saved)
    assert load_network_file(saved).meta["invalid_features"] == {"zero_length": 1}


def test_geojson_with_one_point_line(tmp_path: Path) -> None:
    feats = [shapely.from_wkb(w) for w, _ in _clean()]
    frame = gpd.GeoDataFrame({"highway": [h for _, h in _clean()]}, geometry=feats, crs=CRS).to_crs(
        "EPSG:4326"
    )
    doc = json.loads(frame.to_json())
    doc["features"].insert(
        1,
        {
            "type": "Feature",
            "properties": {"highway": "footway"},
            "geometry": {"type": "LineString", "coordinates": [[113.3, 23.1]]},
        },
    )
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(doc))
    net = _load(path, tmp_path, retain_all=True)
    assert (net.n_nodes, net.n_edges) == (6, 4)
    assert net.total_length_m == pytest.approx(610.0, abs=1e-3)
    assert net.meta["invalid_features"] == {"unreadable": 1}


def test_geoparquet_with_one_point_line_and_nan(tmp_path: Path) -> None:
    clean = gpd.GeoDataFrame(
        {"highway": [h for _, h in _clean()]},
        geometry=[shapely.from_wkb(w) for w, _ in _clean()],
        crs=CRS,
    )
    src = tmp_path / "clean.parquet"
    clean.to_parquet(src)
    table = pq.read_table(src)
    wkb = [*table["geometry"].to_pylist(), _one_point_wkb(X0, Y0), BAD["non_finite"][0]]
    highway = [*table["highway"].to_pylist(), "footway", "footway"]
    bad = pa.table(
        {"highway": highway, "geometry": pa.array(wkb, pa.binary())},
        metadata=table.schema.metadata,
    )
    path = tmp_path / "bad.parquet"
    pq.write_table(bad, path)
    net = _load(path, tmp_path, retain_all=True)
    assert _shape(net) == (6, 4, 610.0)
    assert net.meta["invalid_features"] == {"unreadable": 1, "non_finite": 1}


def test_plain_parquet_without_geo_metadata(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"
    pq.write_table(pa.table({"highway": ["footway"]}), path)
    with pytest.raises(InputError) as info:
        _load(path, tmp_path)
    assert str(info.value) == f"{path}: not a GeoParquet file (no 'geo' metadata)"


def test_inputs_are_not_modified(tmp_path: Path) -> None:
    path = _gpkg(tmp_path / "all.gpkg", [*_clean(), *BAD.values()])
    before = path.read_bytes()
    stat = os.stat(path)
    _load(path, tmp_path)
    assert path.read_bytes() == before
    assert os.stat(path).st_mtime_ns == stat.st_mtime_ns


def test_study_file_layer_source_is_relative_to_the_file(tmp_path: Path) -> None:
    from skillcircle.study import Study

    path = _gpkg(tmp_path / "two.gpkg", _clean(), layer="roads")
    _gpkg(path, _clean()[:2], layer="archive", append=True)
    study_file = tmp_path / "study.toml"
    study_file.write_text(
        'stations = "ledger.csv"\nnetwork = "two.gpkg:archive"\ndistricts = "cnmaps:440104"\n',
        encoding="utf-8",
    )
    study = Study.from_toml(study_file)
    assert study.network == f"{path}:archive"
    assert study.districts == "cnmaps:440104"
    assert _shape(_load(study.network, tmp_path, retain_all=True)) == (4, 3, 300.0)


# ---------------------------------------------------------------------------- graph files
FIXTURE_OSM = Path(__file__).resolve().parents[1] / "data" / "network" / "walk_small.osm"


def test_osm_xml_with_absurd_and_nan_nodes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clean = _load(FIXTURE_OSM, tmp_path, retain_all=True)
    text = FIXTURE_OSM.read_text(encoding="utf-8")
    extra = """
  <node id="12" lat="50.0" lon="113.2700"/>
  <node id="13" lat="23.1400" lon="113.2700"/>
  <way id="107"><nd ref="12"/><nd ref="13"/><tag k="highway" v="footway"/></way>
</osm>"""
    path = tmp_path / "far.osm"
    path.write_text(text.replace("</osm>", extra), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="skillcircle.network.build"):
        net = _load(path, tmp_path, retain_all=True)
    assert _shape(net) == _shape(clean)
    assert net.meta["invalid_features"] == {"too_long": 1}
    assert clean.meta["invalid_features"] == {}
    assert [r.getMessage() for r in caplog.records if r.name.endswith("build")] == [
        f"{path}: dropped 1 of {clean.n_edges + 1} edges: 1 a segment longer than 100 km"
    ]
    # osmnx itself cannot take a NaN latitude: one error naming the file
    nan = tmp_path / "nan.osm"
    nan.write_text(text.replace("</osm>", extra.replace('"50.0"', '"nan"')), encoding="utf-8")
    with pytest.raises(InputError) as info:
        _load(nan, tmp_path)
    assert str(info.value).startswith(f"{nan}: cannot read the OSM XML file (")


def test_graphml_with_nan_node(tmp_path: Path) -> None:
    import osmnx as ox

    graph = ox.graph_from_xml(FIXTURE_OSM, bidirectional=True, retain_all=True)
    good = tmp_path / "good.graphml"
    ox.save_graphml(graph, good)
    clean = _load(good, tmp_path, retain_all=True)
    far = max(graph.nodes)
    graph.add_node(far + 1, x=113.28, y=float("nan"))
    graph.add_node(far + 2, x=113.28, y=23.14)
    graph.add_edge(far + 1, far + 2, 0, highway="footway", length=1.0)
    bad = tmp_path / "bad.graphml"
    ox.save_graphml(graph, bad)
    net = _load(bad, tmp_path, retain_all=True)
    assert _shape(net) == _shape(clean)
    assert net.meta["invalid_features"] == {"non_finite": 1}


def test_derived_crs_ignores_an_outlier_line() -> None:
    from skillcircle.network.build import build_roads_network

    feats = [shapely.from_wkb(w) for w, _ in _clean()]
    clean = gpd.GeoDataFrame({"highway": [h for _, h in _clean()]}, geometry=feats, crs=CRS).to_crs(
        "EPSG:4326"
    )
    null_island = LineString([(0.0, 0.0), (113.3, 23.1)])  # a vertex left at 0,0
    bad = gpd.GeoDataFrame(
        {"highway": [*clean["highway"], "footway"]},
        geometry=[*clean.geometry, null_island],
        crs="EPSG:4326",
    )
    ref = build_roads_network(clean, crs=None)
    net = build_roads_network(bad, crs=None)
    assert ref.crs == "EPSG:32649"  # UTM 49N, Guangzhou's zone
    assert net.crs == ref.crs  # the outlier does not drag the zone west
    assert net.meta["invalid_features"] == {"too_long": 1}
    assert _shape(net) == _shape(ref)
