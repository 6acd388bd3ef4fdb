"""Synthetic street networks and scattered points for tests and benchmarks.

:func:`grid_city` builds a city-sized walking network in seconds: a jittered square grid with
a share of its street segments removed (only the largest connected piece is kept), centred on
:data:`GRID_CENTRE` of UTM zone 49N (EPSG:32649) unless told otherwise.
:func:`random_points` scatters points (demand
units, stations, candidates) near its streets.

Examples
--------
>>> net = grid_city(100, spacing_m=100.0, jitter_m=0.0, drop_fraction=0.0)
>>> net.n_nodes, net.n_edges, net.total_length_m
(100, 180, 18000.0)
>>> x, y = random_points(net, 3, seed=1)
>>> x.shape
(3,)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from skillcircle._errors import InputError
from skillcircle._validate import positive
from skillcircle.network.model import Network

__all__ = ["GRID_CENTRE", "Province", "grid_city", "random_points", "synthetic_province"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Default grid centre (x, y) in metres: the central meridian of UTM zone 49N at about 22.6 N.
GRID_CENTRE = (500_000.0, 2_500_000.0)

#: Every ``_ARTERIAL_EVERY``-th grid row and column is tagged ``highway="primary"``.
_ARTERIAL_EVERY = 10


def grid_city(
    n_nodes_approx: int = 1_000_000,
    *,
    spacing_m: float = 80.0,
    jitter_m: float = 10.0,
    drop_fraction: float = 0.08,
    seed: int = 0,
    centre: tuple[float, float] = GRID_CENTRE,
    crs: str = "EPSG:32649",
) -> Network:
    """Build a perturbed square-grid street network.

    Parameters
    ----------
    n_nodes_approx
        Target node count; the grid is ``ceil(sqrt(n))`` nodes on a side, so the result has
        about this many nodes (a little fewer once dropped streets cut pieces off).
    spacing_m
        Distance between neighbouring grid nodes before jitter.
    jitter_m
        Each node moves by up to this much in x and in y (uniform), so street lengths vary.
    drop_fraction
        Share of street segments removed at random (dead ends, missing links). Only the
        largest connected piece is kept.
    seed
        Random seed; the same arguments always give the same network.
    centre
        (x, y) of the grid's centre, in ``crs`` metres.
    crs
        CRS label of the (metric) coordinates: give the projected CRS whose ``centre`` you
        chose (the default centre is in UTM zone 49N).

    Returns
    -------
    Network
        Straight edges, ``edge_attrs["highway"]`` ("primary" on every tenth row and column,
        else "residential"), ``meta`` recording the arguments.

    Raises
    ------
    InputError
        Out-of-range arguments.
    """
    if n_nodes_approx < 4:
        raise InputError(f"n_nodes_approx must be at least 4, got {n_nodes_approx}")
    positive(spacing_m, "spacing_m")
    if positive(jitter_m, "jitter_m", allow_zero=True) >= spacing_m / 2:
        raise InputError(f"jitter_m must be in [0, spacing_m / 2), got {jitter_m}")
    if not 0 <= drop_fraction < 1:
        raise InputError(f"drop_fraction must be in [0, 1), got {drop_fraction}")
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n_nodes_approx))
    n = side * side
    row, col = np.divmod(np.arange(n, dtype=np.int64), side)
    half = (side - 1) * spacing_m / 2
    x = centre[0] - half + col * spacing_m + rng.uniform(-jitter_m, jitter_m, n)
    y = centre[1] - half + row * spacing_m + rng.uniform(-jitter_m, jitter_m, n)
    ids = np.arange(n, dtype=np.int64).reshape(side, side)
    horiz_u, horiz_v = ids[:, :-1].ravel(), ids[:, 1:].ravel()
    vert_u, vert_v = ids[:-1, :].ravel(), ids[1:, :].ravel()
    u = np.concatenate([horiz_u, vert_u])
    v = np.concatenate([horiz_v, vert_v])
    arterial = np.concatenate(
        [row[horiz_u] % _ARTERIAL_EVERY == 0, col[vert_u] % _ARTERIAL_EVERY == 0]
    )
    keep = rng.random(u.size) >= drop_fraction
    u, v, arterial = u[keep], v[keep], arterial[keep]
    # Largest connected piece, found before any geometry is built.
    adj = sparse.coo_array((np.ones(u.size), (u, v)), shape=(n, n))
    _, labels = csgraph.connected_components(adj, directed=False)
    big = np.bincount(labels).argmax()
    node_keep = labels == big
    new_index = np.cumsum(node_keep) - 1
    ekeep = node_keep[u]
    u, v, arterial = new_index[u[ekeep]], new_index[v[ekeep]], arterial[ekeep]
    logger.info(
        "grid_city: %d x %d grid, kept %d of %d nodes and %d edges",
        side,
        side,
        int(node_keep.sum()),
        n,
        u.size,
    )
    return Network.from_edges(
        x[node_keep],
        y[node_keep],
        u,
        v,
        crs=crs,
        # two shared str objects, 8 bytes an edge (a fixed-width <U11 array takes 44)
        edge_attrs={"highway": np.array(["residential", "primary"], dtype=object)[arterial * 1]},
        meta={
            "source": "skillcircle.network.synthetic.grid_city",
            "n_nodes_approx": int(n_nodes_approx),
            "spacing_m": float(spacing_m),
            "jitter_m": float(jitter_m),
            "drop_fraction": float(drop_fraction),
            "seed": int(seed),
        },
    )


def random_points(
    net: Network, n: int, *, seed: int, spread_m: float = 60.0
) -> tuple[FloatArray, FloatArray]:
    """Scatter points near the streets of a network.

    Each point picks an edge with probability proportional to its length, a uniform
    position along it, then moves uniformly within a disc of radius ``spread_m``.

    Parameters
    ----------
    net
        The network to scatter around.
    n
        Number of points.
    seed
        Random seed.
    spread_m
        Largest distance of a point from its street position (0 puts points on streets).

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, y)`` in the network's CRS.

    Raises
    ------
    InputError
        A negative ``n`` or ``spread_m``, or a network of zero total length.
    """
    if n < 0:
        raise InputError(f"n must be non-negative, got {n}")
    positive(spread_m, "spread_m", allow_zero=True)
    total = net.total_length_m
    if total <= 0:
        raise InputError("the network has zero total length: nowhere to put points")
    rng = np.random.default_rng(seed)
    edges = rng.choice(net.n_edges, size=n, p=net.edge_length / total)
    frac = rng.random(n)
    on_street = shapely.line_interpolate_point(net.edge_lines(edges), frac, normalized=True)
    xy = shapely.get_coordinates(on_street)
    radius = spread_m * np.sqrt(rng.random(n))
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    return xy[:, 0] + radius * np.cos(angle), xy[:, 1] + radius * np.sin(angle)


@dataclass(frozen=True)
class Province:
    """Several synthetic cities in one network (see :func:`synthetic_province`).

    Attributes
    ----------
    network
        Every city's streets, plus the links of the touching pairs.
    cities
        One polygon per city (its streets' bounding box grown by half the gap), with
        ``district_code`` (``"C01"``, ``"C02"``, …) and ``district_name``, in the network's CRS.
    city_of_node
        Per node, the index of its city.
    """

    network: Network
    cities: gpd.GeoDataFrame
    city_of_node: npt.NDArray[np.int64]


def synthetic_province(
    n_cities: int,
    nodes_per_city: int,
    *,
    gap_m: float = 3_000.0,
    touching: Sequence[tuple[int, int]] = (),
    links: int = 3,
    seed: int = 0,
    per_row: int | None = None,
    spacing_m: float = 80.0,
) -> Province:
    """Cities of :func:`grid_city` on a grid of rows, separated by rural gaps.

    Parameters
    ----------
    n_cities
        Number of cities.
    nodes_per_city
        Approximate node count of each city (each its own seed).
    gap_m
        Empty land between neighbouring cities, metres.
    touching
        Pairs of neighbouring cities (indices) whose streets meet: ``links`` straight
        streets join the closest nodes across their gap.
    links
        Streets across each touching pair.
    seed
        Random seed (city ``i`` uses ``seed + i``).
    per_row
        Cities per row (default: ``ceil(sqrt(n_cities))``).
    spacing_m
        Street spacing of every city.

    Returns
    -------
    Province

    Examples
    --------
    >>> p = synthetic_province(3, 100, gap_m=500.0, touching=[(0, 1)], links=2)
    >>> p.cities["district_code"].tolist()
    ['C01', 'C02', 'C03']
    >>> int(p.network.n_nodes) == int(p.city_of_node.size)
    True
    """
    if n_cities < 1:
        raise InputError(f"n_cities must be at least 1, got {n_cities}")
    positive(gap_m, "gap_m", allow_zero=True)
    per_row = per_row or math.ceil(math.sqrt(n_cities))
    side = (math.ceil(math.sqrt(nodes_per_city)) - 1) * spacing_m
    step = side + 2 * spacing_m + gap_m
    xs, ys, us, vs, kinds, owner, boxes = [], [], [], [], [], [], []
    offset = 0
    for i in range(n_cities):
        r, c = divmod(i, per_row)
        centre = (GRID_CENTRE[0] + c * step, GRID_CENTRE[1] + r * step)
        city = grid_city(nodes_per_city, seed=seed + i, centre=centre, spacing_m=spacing_m)
        xs.append(city.x)
        ys.append(city.y)
        us.append(city.edge_u + offset)
        vs.append(city.edge_v + offset)
        kinds.append(np.asarray(city.edge_attrs["highway"], dtype=object))
        owner.append(np.full(city.n_nodes, i, dtype=np.int64))
        half = gap_m / 2 + spacing_m
        boxes.append(
            shapely.box(
                city.x.min() - half, city.y.min() - half, city.x.max() + half, city.y.max() + half
            )
        )
        offset += city.n_nodes
    x, y = np.concatenate(xs), np.concatenate(ys)
    city_of_node = np.concatenate(owner)
    u, v, kind = list(us), list(vs), list(kinds)
    for a, b in touching:
        ia, ib = np.flatnonzero(city_of_node == a), np.flatnonzero(city_of_node == b)
        dist, near = cKDTree(np.column_stack([x[ib], y[ib]])).query(np.column_stack([x[ia], y[ia]]))
        closest = np.argsort(dist, kind="stable")
        picked: list[int] = []
        for k in closest:  # ``links`` links, spread along the border (at least 400 m apart)
            if all(math.hypot(x[ia[k]] - x[ia[j]], y[ia[k]] - y[ia[j]]) >= 400 for j in picked):
                picked.append(int(k))
            if len(picked) == links:
                break
        u.append(ia[picked])
        v.append(ib[near[picked]])
        kind.append(np.full(len(picked), "primary", dtype=object))
    net = Network.from_edges(
        x,
        y,
        np.concatenate(u),
        np.concatenate(v),
        crs="EPSG:32649",
        edge_attrs={"highway": np.concatenate(kind)},
        meta={
            "source": "skillcircle.network.synthetic.synthetic_province",
            "n_cities": int(n_cities),
            "nodes_per_city": int(nodes_per_city),
            "gap_m": float(gap_m),
            "touching": [list(map(int, t)) for t in touching],
            "seed": int(seed),
        },
    )
    cities = gpd.GeoDataFrame(
        {
            "district_code": [f"C{i + 1:02d}" for i in range(n_cities)],
            "district_name": [f"City {i + 1}" for i in range(n_cities)],
        },
        geometry=boxes,
        crs=net.crs,
    )
    return Province(network=net, cities=cities, city_of_node=city_of_node)
