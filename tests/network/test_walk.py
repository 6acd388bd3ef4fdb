from __future__ import annotations

from skillcircle.network.walk import walk_filter_mask


def test_walk_filter_follows_osmnx_walk_rules() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "highway": [
                "footway",
                "motorway",
                "motorway_link",
                "cycleway",
                "primary",
                "service",
                "service",
                "steps",
                "proposed",
                None,
                "residential",
            ],
            "foot": [None, None, None, None, "no", None, None, None, None, None, "yes"],
            "service": [None, None, None, None, None, "private", "alley", None, None, None, None],
            "access": [None] * 10 + ["private"],
        }
    )
    assert walk_filter_mask(frame).tolist() == [
        True,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        False,
        False,
        False,
    ]
