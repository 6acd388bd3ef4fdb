"""Shared fixtures of the network tests: a hand-made road layer."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, MultiLineString


# ---------------------------------------------------------------------------- hand-made layer
@pytest.fixture
def roads() -> gpd.GeoDataFrame:
    """Metric road layer (EPSG:4547 offsets from a Yuexiu point) with hand-computable lengths.

    A  footway      (0,0)-(100,0)-(200,0)
    B  residential  (100,0)-(100,100)          shares vertex (100,0) with A
    C  footway      (100,100)-(50,100)-(50,-50) crosses A at (50,0) with NO shared vertex
    D  footway      (210,0)-(260,0) + (260,0)-(260,60)  a separate piece (MultiLineString)
    E  motorway     (0,0)-(0,-100)              not walkable
    G  footway      (200,0)-(200,50) foot=no    not walkable
    """
    x0, y0 = 430_000.0, 2_558_000.0

    def line(*pts: tuple[float, float]) -> LineString:
        return LineString([(x0 + x, y0 + y) for x, y in pts])

    d = MultiLineString(
        [line((210, 0), (260, 0)).coords, line((260, 0), (260, 60)).coords],
    )
    return gpd.GeoDataFrame(
        {
            "osm_id": [1, 2, 3, 4, 5, 6],
            "highway": ["footway", "residential", "footway", "footway", "motorway", "footway"],
            "name": ["A", "B", None, "D", "E", "G"],
            "foot": [None, None, None, None, None, "no"],
        },
        geometry=[
            line((0, 0), (100, 0), (200, 0)),
            line((100, 0), (100, 100)),
            line((100, 100), (50, 100), (50, -50)),
            d,
            line((0, 0), (0, -100)),
            line((200, 0), (200, 50)),
        ],
        crs="EPSG:4547",
    )
