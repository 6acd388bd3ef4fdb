"""Acceptance (issue 14): a synthetic 4-city study split by city on a 2-worker LocalCluster.

Four grid cities (2 x 2, 300 m apart); cities 0-1 and 1-3 touch through three streets each,
so a station near a border reaches residents of the neighbouring city (the halo carries it).
The partitioned run must equal one run unit by unit and table by table.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from skillcircle import Settings
from skillcircle.access.coverage import compute_coverage, coverage_table
from skillcircle.access.partition import partitioned_coverage
from skillcircle.access.snapping import snap_geoseries
from skillcircle.network.synthetic import random_points, synthetic_province

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def province():
    p = synthetic_province(4, 2_500, gap_m=300.0, touching=[(0, 1), (1, 3)], links=3, seed=7)
    net = p.network
    ux, uy = random_points(net, 6_000, seed=1, spread_m=60.0)
    rng = np.random.default_rng(2)
    units = gpd.GeoDataFrame(
        {"population": rng.integers(1, 50, ux.size).astype(float)},
        geometry=shapely.points(ux, uy),
        crs=net.crs,
    )
    units = units.sjoin(p.cities, how="left", predicate="within").drop(columns="index_right")
    sx, sy = random_points(net, 16, seed=3, spread_m=40.0)
    # and one station on each link between touching cities: it serves both sides
    ends = p.city_of_node[net.edge_u] != p.city_of_node[net.edge_v]
    mid = shapely.line_interpolate_point(net.edge_geometry[ends], 0.5, normalized=True)
    xy = np.vstack([np.column_stack([sx, sy]), shapely.get_coordinates(mid)])
    stations = gpd.GeoDataFrame(
        {"name": [f"S{i}" for i in range(len(xy))]}, geometry=shapely.points(xy), crs=net.crs
    )
    stations = stations.sjoin(p.cities, how="left", predicate="within").drop(columns="index_right")
    return p, units.reset_index(drop=True), stations.reset_index(drop=True)


def test_four_cities_split_by_city_equal_the_single_run(province, tmp_path):
    from skillcircle.access.distributed import dask_runner

    p, units, stations = province
    net = p.network
    settings = Settings(crs=net.crs, cache_dir=tmp_path)
    u_snap = snap_geoseries(net, units, max_snap_m=settings.max_snap_m)
    s_snap = snap_geoseries(net, stations, max_snap_m=settings.max_snap_m)
    single = compute_coverage(
        net, stations, units, settings=settings, units_snapped=u_snap, stations_snapped=s_snap
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        cov, parts = partitioned_coverage(
            net,
            stations,
            units,
            settings=settings,
            units_snapped=u_snap,
            stations_snapped=s_snap,
            parts_by="district",
            run=dask_runner(client),
        )
    assert parts == 4
    split = cov[settings.speed_kmh]
    for col in ("distance_m", "snap_distance_m"):
        np.testing.assert_allclose(split.units[col], single.units[col], atol=1e-9)
    for col in ("nearest_station", "covered", "off_network"):
        assert split.units[col].tolist() == single.units[col].tolist()
    for col in ("reach_population", "next_station_m"):
        np.testing.assert_allclose(split.stations[col], single.stations[col], atol=1e-9)
    assert coverage_table(split).equals(coverage_table(single))
    assert split.covered_population == pytest.approx(single.covered_population, abs=1e-9)
    # the stations on the links really serve two cities: residents of both sides walk to them
    border = np.arange(16, len(stations))
    served = single.units.loc[single.units["nearest_station"].isin(border)]
    cities_served = served.groupby("nearest_station")["district_code"].nunique()
    assert (cities_served >= 2).any()
    # every city has residents and some coverage: the split is not trivial
    table = coverage_table(single)
    assert len(table) == 4
    assert (table["covered_population"] > 0).all()
