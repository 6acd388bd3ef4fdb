"""City profile lookup and the UTM fallback."""

from __future__ import annotations

import pytest

from skillcircle.profiles import PROFILES, default_crs, metric_crs_of, profile_for, utm_crs
from skillcircle.profiles.guangzhou import GUANGZHOU


def test_profile_for_needs_every_code_in_the_city():
    assert profile_for(["440104"]) is GUANGZHOU
    assert profile_for(["440104", "440106"]) is GUANGZHOU
    assert profile_for(["440104", "440604"]) is None  # one district in 佛山
    assert profile_for(["110101"]) is None
    assert profile_for([]) is None
    assert GUANGZHOU in PROFILES


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (116.397, 39.909, "EPSG:32650"),  # Beijing: zone 50 spans 114-120 E
        (113.26, 23.13, "EPSG:32649"),  # zone 49: 108-114 E
        (114.0, 22.5, "EPSG:32650"),  # on the 114 E border: the eastern zone
        (-0.1, 51.5, "EPSG:32630"),
        (151.2, -33.9, "EPSG:32756"),  # southern hemisphere
        (180.0, 0.0, "EPSG:32660"),
        (-180.0, 0.0, "EPSG:32601"),
    ],
)
def test_utm_zone(lon, lat, epsg):
    assert utm_crs(lon, lat) == epsg


def test_utm_refuses_non_degrees():
    with pytest.raises(ValueError, match="longitude"):
        utm_crs(500_000.0, 2_500_000.0)


def test_default_crs_profile_first_then_utm():
    assert default_crs(["440104"], 113.26, 23.13) == GUANGZHOU.crs
    assert default_crs(["110101"], 116.4, 39.9) == "EPSG:32650"
    assert default_crs([], 121.47, 31.23) == "EPSG:32651"  # Shanghai, no districts


def test_metric_crs_of_keeps_projected_and_picks_utm_for_degrees():
    assert metric_crs_of((0, 0, 10, 10), "EPSG:32650") == "EPSG:32650"
    assert metric_crs_of((116.3, 39.8, 116.5, 40.0), "EPSG:4326") == "EPSG:32650"
