import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer

from skillcircle import InputError, InputFileNotFoundError
from skillcircle.inputs.population import (
    UNIT_COLUMNS,
    DemandUnits,
    build_population,
    calibrate_to_census,
    units_from_raster,
)
from skillcircle.network.model import Network

# Study-area origin in EPSG:4547 (metres), a multiple of 100 so 100 m grids align with it.
X0, Y0 = 400_000.0, 2_550_000.0

# 3 x 4 population raster: nodata, NaN, zero and a negative value are all skipped.
VALUES = np.array(
    [
        [10.0, 0.0, -9999.0, 3.5],
        [-9999.0, 20.0, 7.0, -1.0],
        [np.nan, 0.0, 4.0, 6.0],
    ],
    dtype=np.float32,
)
# (row, col, population) of the populated cells, row-major
POPULATED = [(0, 0, 10.0), (0, 3, 3.5), (1, 1, 20.0), (1, 2, 7.0), (2, 2, 4.0), (2, 3, 6.0)]


def from_origin(west: float, north: float, xsize: float, ysize: float) -> Affine:
    return Affine(xsize, 0.0, west, 0.0, -ysize, north)


def write_raster(path: Path, values: np.ndarray, *, transform, crs: str, nodata=-9999.0) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype=values.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


def districts_frame(boxes: dict[str, tuple[float, float, float, float]], crs="EPSG:4547"):
    codes = list(boxes)
    return gpd.GeoDataFrame(
        {"district_code": codes, "district_name": [f"D{c[-1]}" for c in codes]},
        geometry=[shapely.box(*b) for b in boxes.values()],
        crs=crs,
    )


def census_frame(pops: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"district_code": list(pops), "population": list(pops.values())})


def units_frame(points, pops, crs="EPSG:4547") -> gpd.GeoDataFrame:
    n = len(pops)
    return gpd.GeoDataFrame(
        {"unit_id": np.arange(n), "population": np.asarray(pops, dtype=float)},
        geometry=shapely.points(np.asarray(points, dtype=float)),
        crs=crs,
    )


def xy(units: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(units.geometry.to_numpy())


# ------------------------------------------------------------------------ raster units


def test_units_from_projected_raster(tmp_path, settings):
    path = write_raster(
        tmp_path / "pop.tif",
        VALUES,
        transform=from_origin(X0, Y0 + 300, 100, 100),
        crs="EPSG:4547",
    )
    units = units_from_raster(path, settings=settings)
    assert list(units.columns) == [*UNIT_COLUMNS, "geometry"]
    assert units.crs == "EPSG:4547"
    assert units["unit_id"].tolist() == list(range(6))
    assert units["population"].tolist() == [p for _, _, p in POPULATED]
    expected = [(X0 + 100 * c + 50, Y0 + 300 - 100 * r - 50) for r, c, _ in POPULATED]
    np.testing.assert_allclose(xy(units), expected, atol=1e-6, rtol=0)
    assert (units["district_code"] == "").all()
    assert units.attrs["cell_size_m"] == pytest.approx(100.0)


def test_units_from_geographic_raster_are_reprojected(tmp_path, settings):
    # same values on a 0.001 degree grid whose top-left corner is 113.0 E, 23.1 N
    path = write_raster(
        tmp_path / "pop4326.tif",
        VALUES,
        transform=from_origin(113.0, 23.1, 0.001, 0.001),
        crs="EPSG:4326",
    )
    units = units_from_raster(path, settings=settings)
    assert units.crs == "EPSG:4547"
    assert units["population"].tolist() == [p for _, _, p in POPULATED]
    lon = np.array([113.0 + 0.001 * c + 0.0005 for _, c, _ in POPULATED])
    lat = np.array([23.1 - 0.001 * r - 0.0005 for r, _, _ in POPULATED])
    ex, ey = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(xy(units), np.column_stack([ex, ey]), atol=1e-3, rtol=0)
    # 113 E is 1 degree west of the CM 114E: x = 500 000 - ~102.4 km at 23.1 N
    assert 397_000 < units.geometry.x.min() < 398_000
    # 0.001 degree is ~102 m E-W and ~111 m N-S at 23.1 N
    assert units.attrs["cell_size_m"] == pytest.approx(np.sqrt(102.4 * 110.8), rel=0.01)


def test_units_from_raster_reads_only_the_requested_bounds(tmp_path, settings):
    path = write_raster(
        tmp_path / "pop.tif", VALUES, transform=from_origin(X0, Y0 + 300, 100, 100), crs="EPSG:4547"
    )
    # a box over the two right-hand columns, rows 1-2: cells (1,2)=7, (2,2)=4, (2,3)=6
    units = units_from_raster(
        path, settings=settings, bounds=(X0 + 210, Y0 + 10, X0 + 390, Y0 + 190)
    )
    assert units["population"].tolist() == [7.0, 4.0, 6.0]
    np.testing.assert_allclose(
        xy(units), [(X0 + 250, Y0 + 150), (X0 + 250, Y0 + 50), (X0 + 350, Y0 + 50)], atol=1e-6
    )


# ------------------------------------------------------------------------ calibration


@pytest.fixture
def two_districts() -> gpd.GeoDataFrame:
    return districts_frame(
        {"440101": (X0, Y0, X0 + 200, Y0 + 100), "440102": (X0 + 200, Y0, X0 + 400, Y0 + 100)}
    )


CAL_POINTS = [(X0 + 50, Y0 + 50), (X0 + 150, Y0 + 50), (X0 + 250, Y0 + 50), (X0 + 350, Y0 + 50)]
CAL_POPS = [10.0, 30.0, 5.0, 15.0]


def test_calibration_scales_each_district_and_excludes_outsiders(two_districts, caplog):
    units = units_frame([*CAL_POINTS, (X0 + 500, Y0 + 50)], [*CAL_POPS, 7.0])
    # census also lists a district that is not in the study: ignored
    census = census_frame({"440101": 80, "440102": 10, "440199": 999})
    with caplog.at_level(logging.WARNING, logger="skillcircle.inputs.population"):
        out, table, n_out, pop_out = calibrate_to_census(
            units, districts=two_districts, census=census
        )
    # factors: 80 / (10 + 30) = 2 and 10 / (5 + 15) = 0.5
    assert out["population"].tolist() == [20.0, 60.0, 2.5, 7.5]
    assert out["district_code"].tolist() == ["440101", "440101", "440102", "440102"]
    assert out["district_name"].tolist() == ["D1", "D1", "D2", "D2"]
    assert out["unit_id"].tolist() == [0, 1, 2, 3]
    assert (n_out, pop_out) == (1, 7.0)
    assert "7 residents (1 populated cells) live outside every district" in caplog.text
    assert table.to_dict("list") == {
        "district_code": ["440101", "440102"],
        "district_name": ["D1", "D2"],
        "raster_population": [40.0, 20.0],
        "census_population": [80.0, 10.0],
        "factor": [2.0, 0.5],
        "units": [2, 2],
    }
    assert units["population"].tolist() == [*CAL_POPS, 7.0]  # input untouched


def test_calibration_keeps_border_units_once(two_districts):
    # a unit exactly on the shared border x = X0 + 200 goes to the first district only
    units = units_frame([*CAL_POINTS, (X0 + 200, Y0 + 50)], [*CAL_POPS, 4.0])
    census = census_frame({"440101": 88, "440102": 10})
    out, table, n_out, _ = calibrate_to_census(units, districts=two_districts, census=census)
    assert n_out == 0
    assert table["raster_population"].tolist() == [44.0, 20.0]
    assert table["factor"].tolist() == pytest.approx([2.0, 0.5])
    assert out["population"].tolist() == pytest.approx([20.0, 60.0, 2.5, 7.5, 8.0])
    assert out["population"].sum() == pytest.approx(98.0, abs=1e-9)


def test_calibration_reprojects_the_districts(two_districts):
    units = units_frame(CAL_POINTS, CAL_POPS)
    census = census_frame({"440101": 80, "440102": 10})
    out, _, _, _ = calibrate_to_census(
        units, districts=two_districts.to_crs("EPSG:4326"), census=census
    )
    assert out.crs == "EPSG:4547"
    assert out["population"].tolist() == pytest.approx([20.0, 60.0, 2.5, 7.5])
    np.testing.assert_allclose(xy(out), CAL_POINTS)


def test_calibration_warns_for_a_district_without_units(caplog):
    districts = districts_frame(
        {"440101": (X0, Y0, X0 + 200, Y0 + 100), "440103": (X0, Y0 + 500, X0 + 100, Y0 + 600)}
    )
    units = units_frame(CAL_POINTS[:2], CAL_POPS[:2])
    census = census_frame({"440101": 80, "440103": 500})
    with caplog.at_level(logging.WARNING, logger="skillcircle.inputs.population"):
        out, table, _, _ = calibrate_to_census(units, districts=districts, census=census)
    assert "district 440103 D3 has 500 census residents but no populated raster cell" in caplog.text
    assert out["population"].sum() == pytest.approx(80.0)
    assert table["units"].tolist() == [2, 0]
    assert np.isnan(table["factor"].iloc[1])


def test_calibration_needs_a_census_row_for_every_district(two_districts):
    units = units_frame(CAL_POINTS, CAL_POPS)
    with pytest.raises(InputError, match="no census population for district\\(s\\) 440102"):
        calibrate_to_census(units, districts=two_districts, census=census_frame({"440101": 1}))


# ------------------------------------------------------------------------ build_population


@pytest.fixture
def pop_raster(tmp_path) -> Path:
    return write_raster(
        tmp_path / "pop.tif", VALUES, transform=from_origin(X0, Y0 + 300, 100, 100), crs="EPSG:4547"
    )


def test_build_from_raster_alone(pop_raster, settings):
    du = build_population(pop_raster, settings=settings)
    assert isinstance(du, DemandUnits)
    assert du.model_key == "raster"
    assert du.model == "population raster pop.tif (100 m cells)"
    assert du.calibration is None
    assert du.total_population == pytest.approx(50.5)
    assert du.n_units == 6
    assert du.source["population_raster"] == str(pop_raster)
    assert len(du.source["sha256"]) == 64


def test_build_from_raster_with_census(pop_raster, settings):
    # district A covers columns 0-1 (cells 10 and 20), B columns 2-3 rows 1-2 (7, 4, 6);
    # the 3.5 cell at row 0, column 3 is outside both
    districts = districts_frame(
        {"440101": (X0, Y0, X0 + 200, Y0 + 300), "440102": (X0 + 200, Y0, X0 + 400, Y0 + 200)}
    )
    census = census_frame({"440101": 60, "440102": 34})
    du = build_population(pop_raster, settings=settings, districts=districts, census=census)
    assert du.model_key == "raster+census"
    assert du.model.endswith("calibrated to the census by district")
    assert (du.excluded_units, du.excluded_population) == (1, 3.5)
    assert du.units["population"].tolist() == pytest.approx([20.0, 40.0, 14.0, 8.0, 12.0])
    assert du.calibration["factor"].tolist() == pytest.approx([2.0, 2.0])
    # switched off: raw counts kept, outsiders still left out
    raw = build_population(
        pop_raster, settings=settings, districts=districts, census=census, calibrate=False
    )
    assert raw.model_key == "raster"
    assert raw.units["population"].tolist() == [10.0, 20.0, 7.0, 4.0, 6.0]
    assert raw.excluded_units == 1


def test_subdistricts_are_filled_within_the_own_district(pop_raster, settings):
    districts = districts_frame({"440101": (X0, Y0, X0 + 400, Y0 + 300)})
    subs = gpd.GeoDataFrame(
        {
            "subdistrict_code": ["440101001", "440101002", "440199001"],
            "subdistrict_name": ["left", "right", "foreign"],
            "district_code": ["440101", "440101", "440199"],
        },
        # the foreign sub-district overlaps the top-right cell (3.5): not taken
        geometry=[
            shapely.box(X0, Y0, X0 + 200, Y0 + 300),
            shapely.box(X0 + 200, Y0, X0 + 400, Y0 + 200),
            shapely.box(X0 + 300, Y0 + 200, X0 + 400, Y0 + 300),
        ],
        crs="EPSG:4547",
    ).to_crs("EPSG:4326")
    du = build_population(pop_raster, settings=settings, districts=districts, subdistricts=subs)
    assert du.units["subdistrict_name"].tolist() == ["left", "", "left", "right", "right", "right"]
    assert du.units["subdistrict_code"].iloc[0] == "440101001"
    assert (du.units["district_code"] == "440101").all()


# ------------------------------------------------------------------------ census-only grid


@pytest.fixture
def grid_districts() -> gpd.GeoDataFrame:
    # A: 4 x 2 cells of 100 m; B: a single cell to the right of A
    return districts_frame(
        {"440101": (X0, Y0, X0 + 400, Y0 + 200), "440102": (X0 + 400, Y0, X0 + 500, Y0 + 100)}
    )


def test_census_grid_uniform(grid_districts, settings):
    census = census_frame({"440101": 600, "440102": 50})
    du = build_population(settings=settings, districts=grid_districts, census=census)
    assert du.model_key == "census-grid"
    assert du.model == "census district totals spread over a 100 m grid, spread evenly"
    assert du.units["population"].tolist() == [75.0] * 8 + [50.0]
    assert du.total_population == 650.0
    assert du.units["district_code"].tolist() == ["440101"] * 8 + ["440102"]
    expected_a = [(X0 + 50 + 100 * i, Y0 + 50 + 100 * j) for j in range(2) for i in range(4)]
    np.testing.assert_allclose(xy(du.units), [*expected_a, (X0 + 450, Y0 + 50)], atol=1e-9)
    # a 250 m grid: A's centres at x = 125, 375 (y = 125): 2 cells; B has none -> one unit
    coarse = build_population(
        settings=settings, districts=grid_districts, census=census, grid_m=250
    )
    assert coarse.units["population"].tolist() == [300.0, 300.0, 50.0]
    assert coarse.total_population == 650.0


def test_census_grid_landcover_puts_everyone_in_the_built_up_half(
    tmp_path, grid_districts, settings, caplog
):
    # 10 m land-cover pixels over A only: class 50 where x < X0 + 200, class 10 (trees) elsewhere;
    # one nodata row at the top does not dilute the shares
    classes = np.full((20, 40), 10, dtype=np.int16)
    classes[:, :20] = 50
    classes[0, :] = -9999
    lc = write_raster(
        tmp_path / "lc.tif", classes, transform=from_origin(X0, Y0 + 200, 10, 10), crs="EPSG:4547"
    )
    census = census_frame({"440101": 600, "440102": 50})
    with caplog.at_level(logging.WARNING, logger="skillcircle.inputs.population"):
        du = build_population(
            settings=settings, districts=grid_districts, census=census, landcover=lc
        )
    assert du.model.endswith("weighted by built-up land cover (lc.tif)")
    a = du.units[du.units["district_code"] == "440101"]
    # four cells in the left half, share 1 each; the right half gets no unit at all
    assert a["population"].tolist() == [150.0] * 4
    assert (a.geometry.x < X0 + 200).all()
    # B has no land-cover pixel: falls back to the even spread, with a warning
    assert "district 440102 D2: every grid cell has zero weight" in caplog.text
    assert du.total_population == 650.0


def test_census_grid_landcover_shares_in_another_crs(tmp_path, grid_districts, settings):
    # ~1 m land-cover pixels in EPSG:4326 over A; a pixel is built-up when its centre, in
    # EPSG:4547, lies west of x = X0 + 150: the second column of cells is half built-up
    to_geo = Transformer.from_crs("EPSG:4547", "EPSG:4326", always_xy=True)
    to_m = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    west, north = to_geo.transform(X0 - 20, Y0 + 220)
    east, south = to_geo.transform(X0 + 420, Y0 - 20)
    res = 0.00001
    ncols, nrows = int((east - west) / res) + 1, int((north - south) / res) + 1
    lon = west + (np.arange(ncols) + 0.5) * res
    lat = north - (np.arange(nrows) + 0.5) * res
    px, _ = to_m.transform(*np.meshgrid(lon, lat))
    classes = np.where(px < X0 + 150, 50, 10).astype(np.int16)
    lc = write_raster(
        tmp_path / "lc4326.tif",
        classes,
        transform=from_origin(west, north, res, res),
        crs="EPSG:4326",
    )
    census = census_frame({"440101": 600, "440102": 50})
    du = build_population(settings=settings, districts=grid_districts, census=census, landcover=lc)
    a = du.units[du.units["district_code"] == "440101"]
    # weights per row: 1, 0.5 (0 for the last two cells) -> 600 * (1, .5, 1, .5) / 3
    assert a["population"].tolist() == pytest.approx([200.0, 100.0, 200.0, 100.0], rel=0.01)
    np.testing.assert_allclose(
        xy(a), [(X0 + 50, Y0 + 50), (X0 + 150, Y0 + 50), (X0 + 50, Y0 + 150), (X0 + 150, Y0 + 150)]
    )
    assert a["population"].sum() == pytest.approx(600.0, abs=1e-9)


def test_census_grid_network_weighted(grid_districts, settings):
    # 200 m of street along y = 50 (cells 0 and 1), 100 m along y = 150 from x = 250 to 350
    # (half in cell 2, half in cell 3 of the top row)
    net = Network.from_edges(
        [X0, X0 + 200, X0 + 250, X0 + 350],
        [Y0 + 50, Y0 + 50, Y0 + 150, Y0 + 150],
        [0, 2],
        [1, 3],
        crs="EPSG:4547",
    )
    census = census_frame({"440101": 3000, "440102": 50})
    du = build_population(settings=settings, districts=grid_districts, census=census, network=net)
    assert du.model.endswith("weighted by walkable street length")
    a = du.units[du.units["district_code"] == "440101"]
    assert a["population"].tolist() == pytest.approx([1000.0, 1000.0, 500.0, 500.0])
    np.testing.assert_allclose(
        xy(a),
        [(X0 + 50, Y0 + 50), (X0 + 150, Y0 + 50), (X0 + 250, Y0 + 150), (X0 + 350, Y0 + 150)],
    )
    assert du.total_population == pytest.approx(3050.0, abs=1e-9)


def test_census_grid_needs_districts_and_census(grid_districts, settings):
    with pytest.raises(InputError, match="census-only model needs district polygons"):
        build_population(settings=settings, districts=grid_districts)
    with pytest.raises(InputError, match="440102"):
        build_population(
            settings=settings, districts=grid_districts, census=census_frame({"440101": 5})
        )


# ------------------------------------------------------------------------ errors


def test_missing_raster(tmp_path, settings):
    missing = tmp_path / "nope.tif"
    with pytest.raises(InputFileNotFoundError) as err:
        build_population(missing, settings=settings)
    assert str(missing) in str(err.value)
    assert "population raster not found" in str(err.value)


def test_unreadable_raster(tmp_path, settings):
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster")
    with pytest.raises(InputError) as err:
        units_from_raster(bad, settings=settings)
    assert str(bad) in str(err.value)


def test_all_nodata_raster(tmp_path, settings):
    values = np.array([[-9999.0, np.nan], [0.0, -9999.0]], dtype=np.float32)
    path = write_raster(
        tmp_path / "empty.tif", values, transform=from_origin(X0, Y0, 100, 100), crs="EPSG:4547"
    )
    with pytest.raises(InputError, match="has no populated cells") as err:
        build_population(path, settings=settings)
    assert str(path) in str(err.value)


def test_raster_not_overlapping_the_districts(pop_raster, settings):
    far = districts_frame({"440118": (X0 + 50_000, Y0, X0 + 51_000, Y0 + 1000)})
    far.attrs["source"] = "districts.gpkg"
    with pytest.raises(InputError, match="does not overlap the districts") as err:
        build_population(pop_raster, settings=settings, districts=far)
    assert str(pop_raster) in str(err.value)
    assert "districts.gpkg (440118)" in str(err.value)


def test_raster_overlapping_only_the_bounding_box(pop_raster, settings):
    # an L-shaped district whose bounding box covers the raster but whose polygon holds no
    # populated cell centre
    poly = shapely.Polygon(
        [
            (X0 - 1000, Y0 - 1000),
            (X0 + 1000, Y0 - 1000),
            (X0 + 1000, Y0 - 900),
            (X0 - 900, Y0 - 900),
            (X0 - 900, Y0 + 1000),
            (X0 - 1000, Y0 + 1000),
        ]
    )
    district = gpd.GeoDataFrame(
        {"district_code": ["440101"], "district_name": ["L"]}, geometry=[poly], crs="EPSG:4547"
    )
    with pytest.raises(InputError, match="does not overlap the districts \\(440101\\)") as err:
        build_population(pop_raster, settings=settings, districts=district)
    assert str(pop_raster) in str(err.value)


def test_bad_band(pop_raster, settings):
    with pytest.raises(InputError, match="band 2 was asked for"):
        units_from_raster(pop_raster, settings=settings, band=2)


def test_districts_without_crs(pop_raster, settings):
    districts = districts_frame({"440101": (X0, Y0, X0 + 100, Y0 + 100)}).set_crs(
        None, allow_override=True
    )
    with pytest.raises(InputError, match="no coordinate reference system"):
        build_population(pop_raster, settings=settings, districts=districts)


# ------------------------------------------------------------------------ real data (Yuexiu)


@pytest.fixture(scope="module")
def yuexiu(data_root):
    boundary = gpd.read_file(data_root / "yuexiu" / "boundary_osm.gpkg")
    districts = gpd.GeoDataFrame(
        {"district_code": ["440104"], "district_name": ["越秀区"]},
        geometry=boundary.geometry.to_numpy()[:1],
        crs=boundary.crs,
    )
    raw = pd.read_csv(data_root / "guangzhou" / "census2020_districts.csv", dtype={"adcode": str})
    census = pd.DataFrame({"district_code": raw["adcode"], "population": raw["pop_2020_census"]})
    subs = gpd.read_file(data_root / "yuexiu" / "subdistricts_osm.gpkg")
    subdistricts = gpd.GeoDataFrame(
        {"subdistrict_code": subs["ref:admin:CN:nbs"], "subdistrict_name": subs["name"]},
        geometry=subs.geometry.to_numpy(),
        crs=subs.crs,
    )
    return data_root, districts, census, subdistricts


@pytest.mark.data
def test_yuexiu_worldpop_calibrated_to_census(yuexiu, settings):
    root, districts, census, subdistricts = yuexiu
    raster = root / "yuexiu" / "worldpop.tif"
    raw = units_from_raster(raster, settings=settings)
    assert 1_520_000 < raw["population"].sum() < 1_540_000
    assert raw.attrs["cell_size_m"] == pytest.approx(89.64, abs=0.01)
    du = build_population(
        raster, settings=settings, districts=districts, census=census, subdistricts=subdistricts
    )
    assert du.model == "WorldPop raster (90 m cells), calibrated to the census by district"
    assert du.total_population == pytest.approx(1_038_643, abs=1.0)
    assert du.n_units == 3919
    assert du.excluded_units == 0
    assert du.calibration["factor"].iloc[0] == pytest.approx(1_038_643 / raw["population"].sum())
    # every unit lands in one of Yuexiu's 18 sub-districts
    assert du.units["subdistrict_code"].str.startswith("440104").all()
    assert du.units["subdistrict_code"].nunique() == 18


@pytest.mark.data
def test_yuexiu_census_only_with_worldcover(yuexiu, settings):
    root, districts, census, _ = yuexiu
    du = build_population(
        settings=settings,
        districts=districts,
        census=census,
        landcover=root / "yuexiu" / "worldcover.tif",
    )
    assert du.model_key == "census-grid"
    assert du.total_population == pytest.approx(1_038_643, abs=1.0)
    # Yuexiu is ~33.8 km2 -> ~3 400 cells of 1 ha, built-up almost everywhere
    assert 2_500 < du.n_units < 3_400
