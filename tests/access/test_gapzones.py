import logging

import geopandas as gpd
import numpy as np
import pytest
import shapely

from skillcircle import InputError
from skillcircle.access.gapzones import ZONE_COLUMNS, gap_zones

CRS = "EPSG:4547"


@pytest.fixture
def units() -> tuple[gpd.GeoDataFrame, np.ndarray]:
    # Cluster A: a 100 m square of four units, 1 000 residents; X holds 3 units but Y most people.
    # Cluster B: a triangle of three units, 800 residents.
    # Noise: three isolated units (100 + 50 + 450 = 600; 450 < 500 is not enough on its own).
    # Covered: two big units sitting in the clusters, which must never join a zone.
    rows = [
        # x, y, population, covered, district_code, district_name
        (0, 0, 100, False, "X", "区X"),
        (100, 0, 150, False, "X", "区X"),
        (0, 100, 150, False, "X", "区X"),
        (100, 100, 600, False, "Y", "区Y"),
        (5000, 5000, 300, False, "Z", "区Z"),
        (5200, 5000, 300, False, "Z", "区Z"),
        (5100, 5100, 200, False, "X", "区X"),
        (2000, 0, 100, False, "X", "区X"),
        (0, 3000, 50, False, "X", "区X"),
        (8000, 1000, 450, False, "X", "区X"),
        (200, 0, 1000, True, "X", "区X"),
        (5100, 5000, 5000, True, "Z", "区Z"),
        (3000, 3000, 0, False, "X", "区X"),  # nobody lives here: ignored
    ]
    x, y, pop, cov, code, name = zip(*rows, strict=True)
    gdf = gpd.GeoDataFrame(
        {
            "unit_id": np.arange(len(rows)),
            "population": np.array(pop, dtype=float),
            "district_code": list(code),
            "district_name": list(name),
        },
        geometry=gpd.points_from_xy(x, y),
        crs=CRS,
    )
    return gdf, np.array(cov)


def test_two_zones_with_hand_computed_figures(units, caplog):
    gdf, cov = units
    before = gdf.copy()
    with caplog.at_level(logging.INFO, logger="skillcircle.access.gapzones"):
        z = gap_zones(gdf, covered=cov)
    assert list(z.columns) == [*ZONE_COLUMNS, "geometry"]
    assert z.crs == CRS
    assert z["zone_id"].tolist() == [1, 2]
    assert z["population"].tolist() == [1000.0, 800.0]
    assert z["units"].tolist() == [4, 3]
    # weighted centres: A x = (150*100 + 600*100)/1000 = 75, y likewise;
    # B x = (300*5000 + 300*5200 + 200*5100)/800 = 5100, y = (600*5000 + 200*5100)/800 = 5025
    np.testing.assert_allclose(z["centre_x"], [75.0, 5100.0], atol=1e-9)
    np.testing.assert_allclose(z["centre_y"], [75.0, 5025.0], atol=1e-9)
    # convex hulls: 100 m x 100 m square and a triangle of base 200 m, height 100 m
    np.testing.assert_allclose(z["area_km2"], [0.01, 0.01], atol=1e-12)
    # district by population majority: A has 3 "X" units (350 people) and 1 "Y" unit (600)
    assert z["district_code"].tolist() == ["Y", "Z"]
    assert z["district_name"].tolist() == ["区Y", "区Z"]
    assert z["subdistrict_code"].tolist() == ["", ""]
    # zone polygon: the hull buffered by eps/2 = 150 m
    np.testing.assert_allclose(z.geometry.iloc[0].bounds, (-150, -150, 250, 250), atol=1e-9)
    np.testing.assert_allclose(z.geometry.iloc[1].bounds, (4850, 4850, 5350, 5250), atol=1e-9)
    assert z.attrs["noise_population"] == 600.0
    assert z.attrs["noise_units"] == 3
    assert "600 more in 3 scattered units" in caplog.text
    # covered units are in no zone, even though they lie inside the zone polygons
    covered_pts = gdf.geometry[cov]
    total_uncovered = gdf.loc[~cov, "population"].sum()
    assert z["population"].sum() + z.attrs["noise_population"] == total_uncovered
    assert all(
        z.geometry.iloc[0].contains(p) or z.geometry.iloc[1].contains(p) for p in covered_pts
    )
    # input untouched
    assert gdf.equals(before)


def test_covered_units_would_change_the_zones(units):
    gdf, _ = units
    z = gap_zones(gdf, covered=np.zeros(len(gdf), dtype=bool))
    # now the two covered units join: A gets 1 000 more, B 5 000 more (and becomes zone 1)
    assert z["population"].tolist() == [5800.0, 2000.0]
    assert z["units"].tolist() == [4, 5]


def test_polygons_give_areas_by_centre(units):
    gdf, cov = units
    districts = gpd.GeoDataFrame(
        {"district_code": ["440104", "440105"], "district_name": ["越秀区", "海珠区"]},
        geometry=[shapely.box(-1000, -1000, 3000, 3000), shapely.box(3000, 3000, 9000, 9000)],
        crs=CRS,
    ).to_crs("EPSG:4326")
    subdistricts = gpd.GeoDataFrame(
        {"subdistrict_code": ["440104001"], "subdistrict_name": ["洪桥街道"]},
        geometry=[shapely.box(0, 0, 80, 80)],  # holds A's centre (75, 75), not its units' majority
        crs=CRS,
    )
    z = gap_zones(gdf, covered=cov, districts=districts, subdistricts=subdistricts)
    assert z["district_code"].tolist() == ["440104", "440105"]
    assert z["district_name"].tolist() == ["越秀区", "海珠区"]
    assert z["subdistrict_code"].tolist() == ["440104001", ""]
    assert z["subdistrict_name"].tolist() == ["洪桥街道", ""]


def test_threshold_and_eps(units):
    gdf, cov = units
    none = gap_zones(gdf, covered=cov, min_cluster_population=1200.0)
    assert len(none) == 0
    assert list(none.columns) == [*ZONE_COLUMNS, "geometry"]
    assert none.attrs["noise_population"] == 2400.0
    # a 100 m radius splits B: (5000,5000)-(5200,5000) are 200 m apart, (5100,5100) is 141 m
    # from both, so B has no unit with 500 people within 100 m -> noise
    small = gap_zones(gdf, covered=cov, eps_m=100.0)
    assert small["population"].tolist() == [1000.0]
    assert small.attrs["noise_population"] == 1400.0
    # min_population drops small units before clustering (and from the noise figure)
    big = gap_zones(gdf, covered=cov, min_population=120.0)
    # A loses its 100-resident unit: 900 left; noise keeps only the 450 unit
    assert big["population"].tolist() == [900.0, 800.0]
    assert big.attrs["noise_population"] == 450.0


def test_geographic_units_are_projected(units):
    gdf, cov = units
    z = gap_zones(gdf.to_crs("EPSG:4326"), covered=cov, metric_crs=CRS)
    assert z.crs == CRS
    np.testing.assert_allclose(z["centre_x"], [75.0, 5100.0], atol=1e-3)
    # without metric_crs: the UTM zone of the units (x = 0 of EPSG:4547 lies near 109.1 E)
    assert gap_zones(gdf.to_crs("EPSG:4326"), covered=cov).crs == "EPSG:32649"
    assert z["population"].tolist() == [1000.0, 800.0]


def test_bad_inputs(units):
    gdf, cov = units
    with pytest.raises(InputError, match="one flag per unit"):
        gap_zones(gdf, covered=cov[:-1])
    with pytest.raises(InputError, match="boolean"):
        gap_zones(gdf, covered=cov.astype(int))
    with pytest.raises(InputError, match="population"):
        gap_zones(gdf.drop(columns="population"), covered=cov)
    neg = gdf.copy()
    neg.loc[3, "population"] = -1.0
    with pytest.raises(InputError, match="row 4"):
        gap_zones(neg, covered=cov)
    with pytest.raises(InputError, match="eps_m"):
        gap_zones(gdf, covered=cov, eps_m=0)
    with pytest.raises(InputError, match="district_name"):
        gap_zones(gdf, covered=cov, districts=gdf[["district_code", "geometry"]])


def test_wide_uncovered_areas_are_split_into_station_sized_zones():
    # a 3 km x 200 m strip of 100 m cells with 200 residents each: DBSCAN alone chains it whole
    xs, ys = np.meshgrid(np.arange(0.0, 3000.0, 100.0), [0.0, 100.0, 200.0])
    strip = gpd.GeoDataFrame(
        {"population": np.full(xs.size, 200.0)},
        geometry=gpd.points_from_xy(xs.ravel(), ys.ravel()),
        crs="EPSG:4547",
    )
    covered = np.zeros(len(strip), dtype=bool)
    whole = gap_zones(strip, covered=covered, max_radius_m=None)
    assert len(whole) == 1
    assert whole["population"].iloc[0] == 18000.0
    zones = gap_zones(strip, covered=covered, max_radius_m=600.0)
    # bisected 3000 m → 2 x 1500 m (radius ~750 m, still too wide) → 4 columns of 7 / 9 cells
    assert zones["population"].tolist() == [5400.0, 4200.0, 4200.0, 4200.0]
    assert zones["units"].tolist() == [27, 21, 21, 21]
    assert zones["centre_x"].tolist() == [2500.0, 300.0, 1000.0, 1700.0]
    assert zones["centre_y"].tolist() == [100.0] * 4
    # every zone fits: farthest cell from its centre <= 600 m (the 9-cell one: hypot(400, 100))
    for cx, n in zip(zones["centre_x"], zones["units"] // 3, strict=True):
        assert np.hypot((n - 1) / 2 * 100.0, 100.0) <= 600.0
        assert cx % 100.0 == 0.0


def test_zone_area_from_cells_when_the_cell_size_is_known():
    xs, ys = np.meshgrid(np.arange(0.0, 3000.0, 100.0), [0.0, 100.0, 200.0])
    strip = gpd.GeoDataFrame(
        {"population": np.full(xs.size, 200.0)},
        geometry=gpd.points_from_xy(xs.ravel(), ys.ravel()),
        crs="EPSG:4547",
    )
    zones = gap_zones(strip, covered=np.zeros(len(strip), dtype=bool), unit_area_m2=100.0**2)
    # 27 and 21 cells of 100 m x 100 m
    np.testing.assert_allclose(zones["area_km2"], [0.27, 0.21, 0.21, 0.21])
    # drawn as the union of their cells: the drawn area is the table's area, and the zones
    # tile the strip without overlapping (4 zones, 90 cells, 0.9 km² in all)
    np.testing.assert_allclose(zones.geometry.area / 1e6, [0.27, 0.21, 0.21, 0.21])
    assert shapely.union_all(zones.geometry.to_numpy()).area == pytest.approx(0.9e6)
    # the 27-cell zone is the 9 columns x = 2100 .. 2900 m: its cells span 2050 .. 2950 m
    np.testing.assert_allclose(zones.geometry.iloc[0].bounds, (2050, -50, 2950, 250))
    assert zones.geometry.iloc[0].geom_type == "Polygon"


def test_hull_zones_never_overlap():
    # two clusters 250 m apart: their hulls buffered by 150 m would overlap by a 50 m band
    pts = gpd.GeoDataFrame(
        {"population": [600.0, 600.0, 400.0, 400.0]},
        geometry=gpd.points_from_xy([0, 0, 250, 250], [0, 100, 0, 100]),
        crs="EPSG:4547",
    )
    z = gap_zones(pts, covered=np.zeros(4, dtype=bool), eps_m=200.0, min_cluster_population=700)
    assert z["population"].tolist() == [1200.0, 800.0]
    assert z.geometry.iloc[0].intersection(z.geometry.iloc[1]).area == pytest.approx(0, abs=1e-6)
    # the more populous zone keeps its full shape: 100 m segment buffered by 100 m
    assert z.geometry.iloc[0].area == pytest.approx(200 * 100 + np.pi * 100**2, rel=1e-2)


def test_cells_of_a_slightly_stretched_grid_join_into_one_polygon():
    # a 90 m raster read in another CRS: centres 91.5 m apart leave 1.5 m slivers between the
    # 90 m squares; the zone is still one polygon: the block from the first cell's edge to the
    # last's, (4 x 91.5 + 90) x (3 x 91.5 + 90) m, 2.6 % more than 20 cells of 90 m x 90 m
    xs, ys = np.meshgrid(np.arange(5) * 91.5, np.arange(4) * 91.5)
    cells = gpd.GeoDataFrame(
        {"population": np.full(xs.size, 100.0)},
        geometry=gpd.points_from_xy(xs.ravel(), ys.ravel()),
        crs="EPSG:4547",
    )
    (zone,) = gap_zones(
        cells, covered=np.zeros(20, dtype=bool), unit_area_m2=90.0**2, max_radius_m=None
    ).geometry
    assert zone.geom_type == "Polygon"
    assert len(zone.interiors) == 0
    assert zone.area == pytest.approx(456.0 * 364.5)
    assert zone.area / (20 * 90.0**2) == pytest.approx(1.026, abs=1e-3)
