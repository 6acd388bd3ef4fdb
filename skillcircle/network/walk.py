"""The OSM walk filter: which ways a pedestrian may use (osmnx's ``network_type="walk"``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from skillcircle._errors import InputError

__all__ = ["WALK_EXCLUDED_HIGHWAY", "walk_filter_mask"]

#: osmnx's ``walk`` filter: ways whose ``highway`` value *contains* one of these words (the
#: Overpass query uses an unanchored regular expression, so ``motor`` also drops ``motorway``
#: and ``motorway_link``) are not walkable.
WALK_EXCLUDED_HIGHWAY = (
    "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|raceway|"
    "razed|rest_area|services"
)

#: Other tags of the osmnx ``walk`` filter: a way is dropped when the tag matches the pattern.
_WALK_EXCLUDED_TAGS = {
    "area": "yes",
    "access": "private",
    "foot": "no",
    "service": "private",
    "sidewalk": "separate",
    "sidewalk:both": "separate",
    "sidewalk:left": "separate",
    "sidewalk:right": "separate",
}


def walk_filter_mask(ways: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Tell which ways a pedestrian may use, by osmnx's ``network_type="walk"`` rules.

    A way is kept when it has a ``highway`` value that contains none of
    :data:`WALK_EXCLUDED_HIGHWAY`, and, where those columns exist, is not ``area=yes``,
    ``access=private``, ``foot=no``, ``service=private`` or ``sidewalk*=separate`` (patterns
    matched anywhere in the value, as the Overpass query does). Missing tags never exclude.

    Parameters
    ----------
    ways
        One row per way, with a ``highway`` column and optionally the other tag columns.

    Returns
    -------
    numpy.ndarray
        Boolean mask, ``True`` for walkable ways.

    Examples
    --------
    >>> df = pd.DataFrame({"highway": ["footway", "motorway_link", None, "primary"],
    ...                    "foot": [None, None, None, "no"]})
    >>> walk_filter_mask(df).tolist()
    [True, False, False, False]
    """
    if "highway" not in ways.columns:
        raise InputError("a road layer needs a 'highway' column", field="highway")
    highway = ways["highway"].astype("string")
    keep = highway.notna() & (highway.str.len() > 0)
    keep &= ~highway.str.contains(WALK_EXCLUDED_HIGHWAY, regex=True, na=False)
    for tag, pattern in _WALK_EXCLUDED_TAGS.items():
        if tag in ways.columns:
            keep &= ~ways[tag].astype("string").str.contains(pattern, regex=True, na=False)
    return keep.to_numpy(dtype=bool)
