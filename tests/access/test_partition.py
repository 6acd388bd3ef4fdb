"""Exact partitioning on a hand-made street, every figure computed by hand.

One straight street along y = 0 from x = 0 to 3 000 m (nodes every 100 m). Walk 400 m
(4 km/h × 6 min), snapping limit 50 m: reach = 3 × 400 = 1 200 m, halo = 1 250 m.

District d1 holds the residents with x ≤ 1 000, d2 the others. Stations (all coded d2):
S (1 300, 0), 300 m outside d1's core; T (2 400, 0); U (1 500, 800), 800 m off the street.
1 km grid tiles: 0_0 holds R1 and R3, 1_0 holds R2 and R5, 2_0 holds R4.

Residents (population, district) and their walks:
R1 (950, 10)   100 d1 → S: 10 + 350 = 360, covered (by a station outside its part's core);
R2 (1000, 0)    50 d1 → S: 300, covered (on the border between the cores, and between the
                         1 km grid tiles 0 and 1: it belongs to tile 1 only);
R3 (200, 0)     70 d1 → S: 1 100, not covered (within the 1 200 m far range);
R4 (2500, 30)   30 d2 → T: 30 + 100 = 130, covered;
R5 (1200, 0)    40 d2 → S: 100, covered.
S reaches R1, R2, R5 (190 residents); T reaches R4 (30); S–T is 1 100 m.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from skillcircle import InputError, Settings
from skillcircle.access.coverage import compute_coverage, coverage_table
from skillcircle.access.partition import (
    check_parts_by,
    halo_m,
    part_keys,
    partitioned_coverage,
    split,
)
from skillcircle.access.snapping import snap_geoseries
from skillcircle.network.model import Network

CRS = "EPSG:4547"


@pytest.fixture
def street() -> Network:
    x = np.arange(0.0, 3001.0, 100.0)
    n = len(x)
    return Network.from_edges(x, np.zeros(n), np.arange(n - 1), np.arange(1, n), crs=CRS)


@pytest.fixture
def stations() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["S", "T", "U"], "district_code": ["d2"] * 3, "district_name": ["D2"] * 3},
        geometry=shapely.points([(1300, 0), (2400, 0), (1500, 800)]),
        crs=CRS,
    )


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "population": [100.0, 50.0, 70.0, 30.0, 40.0],
            "district_code": ["d1", "d1", "d1", "d2", "d2"],
            "district_name": ["D1", "D1", "D1", "D2", "D2"],
        },
        geometry=shapely.points([(950, 10), (1000, 0), (200, 0), (2500, 30), (1200, 0)]),
        crs=CRS,
    )


@pytest.fixture
def small(tmp_path) -> Settings:
    return Settings(minutes=6.0, speed_kmh=4.0, max_snap_m=50.0, crs=CRS, cache_dir=tmp_path)


def _snaps(street, stations, units, small):
    return (
        snap_geoseries(street, units, max_snap_m=small.max_snap_m),
        snap_geoseries(street, stations, max_snap_m=small.max_snap_m),
    )


def test_halo_and_keys(units, small):
    assert halo_m(small) == pytest.approx((1200.0, 1250.0))
    assert halo_m(small, [4.0, 3.0]) == pytest.approx((1200.0, 1250.0))  # the fastest
    assert part_keys(units, parts_by="district").tolist() == ["d1", "d1", "d1", "d2", "d2"]
    # R2 at x = 1 000 is on the tile border: tile 1 only
    assert part_keys(units, parts_by="grid:1").tolist() == ["0_0", "1_0", "0_0", "2_0", "1_0"]
    assert check_parts_by(" Grid:0.5 ") == "grid:0.5"
    for bad in ("city", "grid:0", "grid:-1", "grid:x", 3):
        with pytest.raises(InputError, match="parts_by"):
            check_parts_by(bad)  # type: ignore[arg-type]


def test_parts_clip_the_halo(street, stations, units, small):
    u_snap, s_snap = _snaps(street, stations, units, small)
    parts = split(street, units, u_snap, stations, s_snap, settings=small, parts_by="district")
    d1, d2 = parts
    assert (d1.key, d2.key) == ("d1", "d2")
    assert d1.unit_ids.tolist() == [0, 1, 2]
    assert d2.unit_ids.tolist() == [3, 4]
    # S is nearest to R5 (100 m): d2 owns it, T and the off-network U too
    assert d1.owned.tolist() == []
    assert d2.station_ids[d2.owned].tolist() == [0, 1, 2]
    # d1 sees S (300 m from R2) and U (943 m) but not T (1 400 m, beyond the 1 200 m reach)
    assert d1.station_ids.tolist() == [0, 2]
    # d1's streets end within 1 250 m of R2: x ≤ 2 300 (the edge 2 200-2 300 touches the halo)
    assert d1.network.n_edges == 23
    assert float(d1.network.x.max()) == pytest.approx(2300.0)


@pytest.mark.parametrize("parts_by", ["district", "grid:1", "grid:0.3"])
def test_partitioned_equals_single_run(street, stations, units, small, parts_by):
    u_snap, s_snap = _snaps(street, stations, units, small)
    cov, n = partitioned_coverage(
        street,
        stations,
        units,
        settings=small,
        units_snapped=u_snap,
        stations_snapped=s_snap,
        parts_by=parts_by,
        speeds_kmh=(4.0, 3.0),
    )
    assert n == {"district": 2, "grid:1": 3, "grid:0.3": 4}[parts_by]
    assert list(cov) == [4.0, 3.0]
    head = cov[4.0]
    u = head.units
    np.testing.assert_allclose(u["distance_m"], [360.0, 300.0, 1100.0, 130.0, 100.0], atol=1e-9)
    assert u["nearest_station"].tolist() == [0, 0, 0, 1, 0]
    assert u["covered"].tolist() == [True, True, False, True, True]
    # the border resident R2 is counted once: 290 residents, 220 covered
    assert head.population == pytest.approx(290.0)
    assert head.covered_population == pytest.approx(220.0)
    st = head.stations
    np.testing.assert_allclose(st["reach_population"], [190.0, 30.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(st["next_station_m"], [1100.0, 1100.0, np.nan], atol=1e-9)
    assert st["on_network"].tolist() == [True, True, False]
    # 3 km/h: walk 300 m (R2 at exactly 300 m is in), far range 900 m (R3 beyond it)
    slow = cov[3.0].units
    assert slow["covered"].tolist() == [False, True, False, True, True]
    assert np.isnan(slow["distance_m"].iloc[2])
    assert slow["nearest_station"].iloc[2] == -1
    # and everything equals the single run, tables included
    for speed in (4.0, 3.0):
        single = compute_coverage(street, stations, units, settings=small.replace(speed_kmh=speed))
        for col in ("distance_m", "snap_distance_m"):
            np.testing.assert_allclose(cov[speed].units[col], single.units[col], atol=1e-9)
        for col in ("nearest_station", "covered", "off_network"):
            assert cov[speed].units[col].tolist() == single.units[col].tolist()
        for col in ("reach_population", "next_station_m", "snap_distance_m"):
            np.testing.assert_allclose(cov[speed].stations[col], single.stations[col], atol=1e-9)
        a = coverage_table(cov[speed])
        b = coverage_table(single)
        assert a.equals(b)
    table = coverage_table(head)
    assert table["population"].tolist() == [220.0, 70.0]
    assert table["covered_population"].tolist() == [150.0, 70.0]
    assert table["stations"].tolist() == [0, 3]


def test_no_station_in_reach_of_a_part(street, units, small):
    """A part no station can reach: its residents are uncovered, with no nearest station."""
    far = gpd.GeoDataFrame({"name": ["T"]}, geometry=shapely.points([(2900, 0)]), crs=CRS)
    u_snap, s_snap = _snaps(street, far, units, small)
    cov, n = partitioned_coverage(
        street, far, units, settings=small, units_snapped=u_snap, stations_snapped=s_snap
    )
    u = cov[4.0].units
    assert n == 2
    assert not u["covered"].any()
    # only R4 is within the 1 200 m far range of T (430 m); R5 is 1 700 m away
    assert u["nearest_station"].tolist() == [-1, -1, -1, 0, -1]
    np.testing.assert_allclose(u["distance_m"], [np.nan] * 3 + [430.0, np.nan], atol=1e-9)


@pytest.mark.parametrize("parts_by", ["district", "grid:0.3"])
def test_partitioned_reach_pairs_equal_the_single_run(street, stations, units, small, parts_by):
    """Siting's cover pairs, part by part: the single run's pairs, distances and order."""
    from skillcircle.access.partition import partitioned_reach_pairs
    from skillcircle.access.routing import reach_pairs

    u_snap, s_snap = _snaps(street, stations, units, small)
    pairs, n = partitioned_reach_pairs(
        street, stations, s_snap, units, u_snap, settings=small, parts_by=parts_by
    )
    single = reach_pairs(street, s_snap, u_snap, limit=small.walk_distance_m)
    assert n == {"district": 2, "grid:0.3": 4}[parts_by]
    # by hand (walk 400 m): S reaches R1 (360), R2 (300), R5 (100); T reaches R4 (130)
    assert list(zip(pairs.origin.tolist(), pairs.target.tolist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (0, 4),
        (1, 3),
    ]
    np.testing.assert_allclose(pairs.distance_m, [360.0, 300.0, 100.0, 130.0], atol=1e-9)
    np.testing.assert_array_equal(pairs.origin, single.origin)
    np.testing.assert_array_equal(pairs.target, single.target)
    np.testing.assert_allclose(pairs.distance_m, single.distance_m, atol=1e-9)
