"""Fixtures of the output tests: a typed summary, and the hand-made study with areas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely

from skillcircle.outputs.schema import InputFile, NetworkQuality, Summary

#: As in tests/conftest.py (the hand-made study's CRS and grid origin).
HAND_CRS = "EPSG:4547"
X0, Y0 = 426_000.0, 2_560_000.0

#: Districts and 街道 of :func:`hand_areas` (codes are made up).
WEST, EAST = "110101", "110102"
WEST_SUB, EAST_LOW, EAST_HIGH = "110101001", "110102001", "110102002"


def _quality() -> NetworkQuality:
    return NetworkQuality(
        n_nodes=9,
        n_edges=12,
        total_length_m=1200.0,
        length_by_highway_m={"footway": 1200.0},
        n_components=1,
        largest_component_length_share=1.0,
        largest_component_node_share=1.0,
        n_dead_ends=0,
        n_likely_gaps=0,
        gap_m=15.0,
        n_virtual_links=0,
        reduced_to_largest=True,
        raw_n_components=1,
        raw_largest_length_share=1.0,
        raw_likely_gaps=0,
        dropped_nodes=0,
        dropped_length_m=0.0,
    )


@pytest.fixture
def make_summary() -> Callable[..., Summary]:
    """Build a complete :class:`Summary` by hand; keywords override fields."""

    def make(**overrides: Any) -> Summary:
        fields: dict[str, Any] = {
            "population": 450.0,
            "covered_population": 440.0,
            "coverage_pct": 97.7778,
            "offnetwork_population": 0.0,
            "gap_zone_population": 0.0,
            "scattered_uncovered_population": 10.0,
            "fragment_population": 0.0,
            "stations": 3,
            "stations_rejected": 0,
            "minutes": 15.0,
            "speed_kmh": 4.0,
            "walk_distance_m": 1000.0,
            "speeds_kmh": (4.0,),
            "population_model": "a raster",
            "population_model_key": "raster",
            "excluded_units": 0,
            "excluded_population": 0.0,
            "districts": ("",),
            "dropped_districts": (),
            "network": _quality(),
            "crs": HAND_CRS,
            "max_snap_m": 100.0,
            "inputs": {"stations": InputFile(path="ledger.csv", sha256="ab" * 32)},
            "version": "0",
            "generated": "2026-01-01T00:00:00+0000",
        }
        fields.update(overrides)
        return Summary(**fields)

    return make


@pytest.fixture
def hand_areas(hand_study: dict, tmp_path: Path) -> dict:
    """The hand-made study with two districts and three 街道 (GeoPackage files, WGS84).

    The raster spans x in [X0-50, X0+250], y in [Y0-50, Y0+250] (EPSG:4547). West district:
    x < X0+150 (grid columns x = 0 and 100: residents 10+20+40+50+70+80 = 270, station A);
    east district: the rest (column x = 200: 30+60+90 = 180, station B). 街道: the west
    district whole; the east one cut at y = Y0+150 (below: 60+90 = 150, above: 30).
    Station C lies outside both districts.
    """
    left, right, bottom, top = X0 - 50, X0 + 250, Y0 - 50, Y0 + 250
    cut_x, cut_y = X0 + 150, Y0 + 150
    districts = gpd.GeoDataFrame(
        {"district_code": [WEST, EAST], "district_name": ["西区", "东区"]},
        geometry=[shapely.box(left, bottom, cut_x, top), shapely.box(cut_x, bottom, right, top)],
        crs=HAND_CRS,
    ).to_crs("EPSG:4326")
    subdistricts = gpd.GeoDataFrame(
        {
            "subdistrict_code": [WEST_SUB, EAST_LOW, EAST_HIGH],
            "subdistrict_name": ["西街道", "东下街道", "东上街道"],
        },
        geometry=[
            shapely.box(left, bottom, cut_x, top),
            shapely.box(cut_x, bottom, right, cut_y),
            shapely.box(cut_x, cut_y, right, top),
        ],
        crs=HAND_CRS,
    ).to_crs("EPSG:4326")
    districts.to_file(tmp_path / "districts.gpkg")
    subdistricts.to_file(tmp_path / "subdistricts.gpkg")
    return {
        **hand_study,
        "districts": str(tmp_path / "districts.gpkg"),
        "subdistricts": tmp_path / "subdistricts.gpkg",
        "calibrate": False,
        "speed_kmh": (4.0, 3.0),
    }
