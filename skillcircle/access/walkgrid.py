"""Walk-time grid: walking distance from the centre of every grid cell to its nearest station.

The same walking rule as coverage (:func:`skillcircle.access.coverage.compute_coverage`): the
cell centre is snapped to the nearest street (:func:`~skillcircle.access.snapping.snap_geoseries`,
within ``max_snap_m``), then the snap legs plus the network distance to the nearest station
(:func:`~skillcircle.access.routing.nearest`, snap legs included) give the distance; minutes
are that distance at the study speed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from skillcircle._errors import InputError
from skillcircle._validate import positive
from skillcircle.access.routing import nearest
from skillcircle.access.snapping import Snapped, snap_geoseries
from skillcircle.network.model import Network

if TYPE_CHECKING:
    from skillcircle.access.analysis import Analysis

__all__ = ["WALK_CLASSES_MIN", "WalkGrid", "analysis_walk_grid", "grid_frame", "walk_grid"]

logger = logging.getLogger(__name__)

#: Upper bounds (minutes) of the walk-time classes drawn on the map; the last class is "more".
WALK_CLASSES_MIN: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)

#: Largest cell side accepted, metres.
_MAX_CELL_M = 100.0


@dataclass(frozen=True)
class WalkGrid:
    """Walking distance to the nearest station on a regular grid (network CRS, metres).

    Attributes
    ----------
    x0, y0
        Centre of the first cell (column 0, row 0: the south-west corner), metres.
    cell_m
        Cell side, metres.
    n_cols, n_rows
        Grid shape; arrays are row-major (``row * n_cols + col``), rows going north.
    distance_m
        Per cell, the walking distance to the nearest station; ``np.inf`` when beyond
        ``limit_m`` or off the network; ``np.nan`` outside the study area.
    station
        Per cell, the index (into the stations) of that nearest station, ``-1`` when none.
    speed_kmh
        Walking speed used for :attr:`minutes`.
    limit_m
        Search limit in metres.
    crs
        CRS of the coordinates (the network's).
    """

    x0: float
    y0: float
    cell_m: float
    n_cols: int
    n_rows: int
    distance_m: NDArray[np.float64]
    station: NDArray[np.int64]
    speed_kmh: float
    limit_m: float
    crs: object

    @property
    def minutes(self) -> NDArray[np.float64]:
        """Walking minutes per cell (``inf`` beyond the limit, ``nan`` outside the area)."""
        return self.distance_m / (self.speed_kmh * 1000.0 / 60.0)

    @property
    def inside(self) -> NDArray[np.bool_]:
        """Cells inside the study area."""
        return ~np.isnan(self.distance_m)

    def centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cell-centre coordinates (x, y), one per cell, row-major."""
        cols = np.tile(np.arange(self.n_cols), self.n_rows)
        rows = np.repeat(np.arange(self.n_rows), self.n_cols)
        x = (self.x0 + cols * self.cell_m).astype(np.float64)
        return x, (self.y0 + rows * self.cell_m).astype(np.float64)

    def cells(self) -> gpd.GeoDataFrame:
        """The cells inside the area as squares with ``distance_m``, ``minutes``, ``station``."""
        x, y = self.centres()
        keep = self.inside
        h = self.cell_m / 2
        boxes = shapely.box(x[keep] - h, y[keep] - h, x[keep] + h, y[keep] + h)
        return gpd.GeoDataFrame(
            {
                "distance_m": self.distance_m[keep],
                "minutes": self.minutes[keep],
                "station": self.station[keep],
            },
            geometry=boxes,
            crs=self.crs,
        )


def walk_grid(
    net: Network,
    stations: Snapped,
    area: shapely.Geometry,
    *,
    speed_kmh: float,
    max_snap_m: float,
    cell_m: float = 100.0,
    limit_m: float | None = None,
) -> WalkGrid:
    """Walking distance from each grid cell inside ``area`` to its nearest station.

    Parameters
    ----------
    net
        The walking network.
    stations
        The stations snapped to ``net`` (as coverage snapped them).
    area
        Study area in the network CRS (e.g. the union of the districts); cells whose centre
        lies outside it are left out (``nan``).
    speed_kmh
        Walking speed, km/h.
    max_snap_m
        A cell centre farther than this from every street is off the network (``inf``).
    cell_m
        Cell side in metres, at most 100.
    limit_m
        Search limit in metres; one hour at ``speed_kmh`` when omitted (beyond: ``inf``).

    Returns
    -------
    WalkGrid

    Raises
    ------
    InputError
        ``cell_m`` not in (0, 100], an empty area or a non-positive speed.
    """
    positive(cell_m, "cell_m")
    positive(speed_kmh, "speed_kmh")
    if cell_m > _MAX_CELL_M:
        raise InputError(
            f"cell_m must be at most {_MAX_CELL_M:g} m, got {cell_m!r}", field="cell_m"
        )
    if area is None or shapely.is_empty(area):
        raise InputError("the walk-time grid needs a non-empty study area", field="area")
    limit = speed_kmh * 1000.0 if limit_m is None else float(limit_m)
    west, south, east, north = shapely.bounds(area)
    n_cols = max(1, int(np.ceil((east - west) / cell_m)))
    n_rows = max(1, int(np.ceil((north - south) / cell_m)))
    x0, y0 = west + cell_m / 2, south + cell_m / 2
    cols = np.tile(np.arange(n_cols), n_rows)
    rows = np.repeat(np.arange(n_rows), n_cols)
    pts = shapely.points(x0 + cols * cell_m, y0 + rows * cell_m)
    shapely.prepare(area)
    inside = shapely.contains_xy(area, x0 + cols * cell_m, y0 + rows * cell_m)
    dist = np.full(pts.shape[0], np.nan)
    who = np.full(pts.shape[0], -1, dtype=np.int64)
    if inside.any():
        snapped = snap_geoseries(
            net, gpd.GeoSeries(pts[inside], crs=net.crs), max_snap_m=max_snap_m
        )
        near = nearest(net, stations, snapped, limit=limit, include_snap=True)
        dist[inside] = near.distance_m
        who[inside] = near.origin
    logger.info(
        "walk-time grid: %d × %d cells of %g m, %d inside", n_cols, n_rows, cell_m, inside.sum()
    )
    return WalkGrid(
        x0=float(x0),
        y0=float(y0),
        cell_m=float(cell_m),
        n_cols=n_cols,
        n_rows=n_rows,
        distance_m=dist,
        station=who,
        speed_kmh=float(speed_kmh),
        limit_m=limit,
        crs=net.crs,
    )


def analysis_walk_grid(analysis: Analysis, *, cell_m: float = 100.0) -> WalkGrid | None:
    """The walk-time grid of an analysis at its headline speed (``None`` without stations).

    The area is the union of the districts, or the convex hull of the demand units when the
    study has no district polygons.

    Parameters
    ----------
    analysis
        A coverage analysis.
    cell_m
        Cell side in metres, at most 100.

    Returns
    -------
    WalkGrid or None
    """
    head = analysis.headline
    if not len(head.stations):
        return None
    net = analysis.inputs.network
    districts = analysis.inputs.districts
    if districts is not None and len(districts):
        area = shapely.union_all(districts.to_crs(net.crs).geometry.to_numpy())
    else:
        area = shapely.convex_hull(
            shapely.union_all(analysis.inputs.population.units.to_crs(net.crs).geometry.to_numpy())
        )
    return walk_grid(
        net,
        head.stations_snapped,
        area,
        speed_kmh=head.speed_kmh,
        max_snap_m=analysis.inputs.settings.max_snap_m,
        cell_m=cell_m,
    )


def grid_frame(grid: WalkGrid, names: NDArray[np.object_] | None = None) -> gpd.GeoDataFrame:
    """The grid as cells (``col``, ``row``, ``distance_m``, ``minutes``, ``station``, ``name``).

    Parameters
    ----------
    grid
        A walk-time grid.
    names
        Station names by station index (``name`` left empty when omitted).

    Returns
    -------
    geopandas.GeoDataFrame
        One square per cell inside the area, in the grid's CRS.
    """
    cells = grid.cells()
    keep = np.flatnonzero(grid.inside)
    cells.insert(0, "row", keep // grid.n_cols)
    cells.insert(0, "col", keep % grid.n_cols)
    st = cells["station"].to_numpy()
    if names is not None:
        cells["name"] = np.where(st >= 0, np.asarray(names, dtype=object)[np.maximum(st, 0)], None)
    else:
        cells["name"] = None
    return cells
