"""Coverage on a 3 × 3 street grid, every figure computed by hand.

Grid nodes at x, y ∈ {0, 100, 200} m, streets along every grid line (12 edges).
Walk distance 150 m (4 km/h × 2.25 min), snapping limit 50 m.

Stations: A (50, 0) on the bottom street (snap 0); B (210, 180) 10 m east of the right street;
C (-300, -300) 424 m from the network: off-network.

Units (population): u1 (0, 30) 100 → A: 30 + 50 = 80, covered.
u2 (150, 105) 200 → snap 5; B: 50 + 80 + 5 + 10 = 145, covered (A: 205).
u3 (100, 200) 300 → B: 100 + 20 + 10 = 130, covered.
u4 (200, 0) 50 → A: exactly 150, covered (limit inclusive).
u5 (20, 160) 400 → snap 20; A: 160 + 50 + 20 = 230, not covered.
u6 (1000, 1000) 1000 → off-network.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillcircle import InputError, Settings
from skillcircle.access.coverage import compute_coverage, coverage_table
from skillcircle.access.isochrones import isochrones
from skillcircle.access.snapping import snap_geoseries
from skillcircle.network.model import Network

CRS = "EPSG:4547"


@pytest.fixture
def grid() -> Network:
    xs, ys = np.meshgrid([0.0, 100.0, 200.0], [0.0, 100.0, 200.0])
    x, y = xs.ravel(), ys.ravel()
    idx = np.arange(9).reshape(3, 3)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return Network.from_edges(x, y, u, v, crs=CRS)


@pytest.fixture
def stations() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["A", "B", "C"], "district_code": ["d1", "d2", "d2"]},
        geometry=shapely.points([(50, 0), (210, 180), (-300, -300)]),
        crs=CRS,
    )


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "population": [100.0, 200.0, 300.0, 50.0, 400.0, 1000.0],
            "district_code": ["d1", "d1", "d2", "d1", "d2", "d2"],
        },
        geometry=shapely.points(
            [(0, 30), (150, 105), (100, 200), (200, 0), (20, 160), (1000, 1000)]
        ),
        crs=CRS,
    )


@pytest.fixture
def small(tmp_path) -> Settings:
    return Settings(minutes=2.25, speed_kmh=4.0, max_snap_m=50.0, cache_dir=tmp_path)


def test_unit_distances_and_coverage(grid, stations, units, small):
    cov = compute_coverage(grid, stations, units, settings=small)
    assert cov.walk_distance_m == pytest.approx(150.0)
    u = cov.units
    np.testing.assert_allclose(
        u["distance_m"].to_numpy()[:5], [80.0, 145.0, 130.0, 150.0, 230.0], atol=1e-6
    )
    assert np.isnan(u["distance_m"].iloc[5])
    assert u["covered"].tolist() == [True, True, True, True, False, False]
    assert u["off_network"].tolist() == [False] * 5 + [True]
    assert u["nearest_station"].tolist()[:5] == [0, 1, 1, 0, 0]
    np.testing.assert_allclose(u["snap_distance_m"].to_numpy()[:5], [0, 5, 0, 0, 20], atol=1e-9)
    assert cov.population == 2050
    assert cov.covered_population == 650
    assert cov.offnetwork_population == 1000
    assert cov.coverage_pct == pytest.approx(100 * 650 / 2050)


def test_station_reach_and_next_station(grid, stations, units, small):
    st = compute_coverage(grid, stations, units, settings=small).stations
    assert st["reach_population"].tolist() == [150.0, 500.0, 0.0]
    assert st["on_network"].tolist() == [True, True, False]
    np.testing.assert_allclose(st["snap_distance_m"].to_numpy()[:2], [0.0, 10.0], atol=1e-9)
    # A → (100,0) 50 → (200,0) 100 → (200,180) 180, + B's 10 m snap = 340
    np.testing.assert_allclose(st["next_station_m"].to_numpy()[:2], [340.0, 340.0], atol=1e-6)
    assert np.isnan(st["next_station_m"].iloc[2])


def test_tables_by_district_add_up(grid, stations, units, small):
    cov = compute_coverage(grid, stations, units, settings=small)
    table = coverage_table(cov, by=["district_code"])
    assert table["district_code"].tolist() == ["d1", "d2"]  # one row per area, no total
    rows = table.set_index("district_code")
    assert rows.loc["d1", "population"] == 350
    assert rows.loc["d1", "covered_population"] == 350
    assert rows.loc["d1", "stations"] == 1
    assert rows.loc["d2", "population"] == 1700
    assert rows.loc["d2", "covered_population"] == 300
    assert rows.loc["d2", "uncovered_population"] == 1400
    assert rows.loc["d2", "offnetwork_population"] == 1000
    assert rows.loc["d2", "stations"] == 2
    assert rows.loc["d2", "population_per_station"] == 850


def test_reprojected_inputs_give_the_same_answer(grid, stations, units, small):
    a = compute_coverage(grid, stations, units, settings=small)
    b = compute_coverage(
        grid, stations.to_crs("EPSG:4326"), units.to_crs("EPSG:4326"), settings=small
    )
    np.testing.assert_allclose(
        a.units["distance_m"].to_numpy(), b.units["distance_m"].to_numpy(), atol=1e-5
    )


def test_slower_walkers_lose_the_boundary_unit(grid, stations, units, small):
    slow = compute_coverage(grid, stations, units, settings=small.replace(speed_kmh=3.0))
    # 112.5 m: only u1 (80) stays covered
    assert slow.covered_population == 100


def test_no_station_on_the_network_is_an_input_error(grid, units, small):
    far = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(5000, 5000)], crs=CRS)
    with pytest.raises(InputError, match="none of the 1 stations"):
        compute_coverage(grid, far, units, settings=small)


# ------------------------------------------------------------------ invariants (property tests)


def _random_grid(seed: int) -> Network:
    rng = np.random.default_rng(seed)
    n = 6
    xs, ys = np.meshgrid(np.arange(n) * 100.0, np.arange(n) * 100.0)
    x = xs.ravel() + rng.uniform(-20, 20, n * n)
    y = ys.ravel() + rng.uniform(-20, 20, n * n)
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(u.size) > 0.2
    return Network.from_edges(x, y, u[keep], v[keep], crs=CRS)


def _points(rng: np.random.Generator, k: int) -> gpd.GeoSeries:
    return gpd.GeoSeries(shapely.points(rng.uniform(-50, 550, (k, 2))), crs=CRS)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_st=st.integers(1, 4), minutes=st.floats(1.0, 6.0))
def test_coverage_never_drops_with_more_stations_or_minutes(seed, n_st, minutes):
    rng = np.random.default_rng(seed)
    net = _random_grid(seed)
    units = gpd.GeoDataFrame(
        {"population": rng.integers(1, 100, 40).astype(float)}, geometry=_points(rng, 40)
    )
    stations = gpd.GeoDataFrame(
        {"name": list("abcde")[: n_st + 1]}, geometry=_points(rng, n_st + 1)
    )
    s = Settings(minutes=minutes, max_snap_m=80.0)
    try:
        fewer = compute_coverage(net, stations.iloc[:n_st], units, settings=s)
    except InputError:  # no station near the network in this draw
        return
    more = compute_coverage(net, stations, units, settings=s)
    longer = compute_coverage(
        net, stations.iloc[:n_st], units, settings=s.replace(minutes=minutes + 2)
    )
    assert more.covered_population >= fewer.covered_population
    assert longer.covered_population >= fewer.covered_population
    assert set(np.flatnonzero(fewer.units["covered"])) <= set(np.flatnonzero(more.units["covered"]))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), minutes=st.floats(1.0, 6.0))
def test_isochrones_contain_every_covered_units_snapped_point(seed, minutes):
    rng = np.random.default_rng(seed)
    net = _random_grid(seed)
    units = gpd.GeoDataFrame({"population": np.ones(60)}, geometry=_points(rng, 60))
    stations = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=_points(rng, 2))
    s = Settings(minutes=minutes, max_snap_m=80.0)
    try:
        cov = compute_coverage(net, stations, units, settings=s)
    except InputError:
        return
    st_snap = snap_geoseries(net, stations, max_snap_m=s.max_snap_m)
    un_snap = snap_geoseries(net, units, max_snap_m=s.max_snap_m)
    # the isochrone as the report draws it: the walk to the street counts against the limit
    iso = isochrones(net, st_snap, limit_m=s.walk_distance_m, half_width_m=1e-3, include_snap=True)
    union = shapely.union_all(iso.geometry.to_numpy())
    covered = np.flatnonzero(cov.units["covered"].to_numpy())
    pts = shapely.points(un_snap.x[covered], un_snap.y[covered])
    assert shapely.contains(shapely.buffer(union, 1e-6), pts).all()
