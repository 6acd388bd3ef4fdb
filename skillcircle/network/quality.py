"""How usable a walking network is: pieces, dead ends, likely gaps, what was dropped.

OpenStreetMap exports filtered by tag often fall apart into many small pieces; a resident next to
a piece cut off from the rest seems to reach nothing. :func:`network_quality` measures this, and
:func:`bridge_gaps` can (optionally) join dead ends to a nearby piece with virtual links.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree

from skillcircle._errors import InputError
from skillcircle._validate import positive
from skillcircle.network.model import Network

__all__ = [
    "FRAGMENTED_SHARE",
    "VIRTUAL_LINK",
    "NetworkQuality",
    "bridge_gaps",
    "network_quality",
]

logger = logging.getLogger(__name__)

#: Below this share of street length in the largest piece, a warning is logged.
FRAGMENTED_SHARE = 0.9

#: ``highway`` value of links added by :func:`bridge_gaps`.
VIRTUAL_LINK = "virtual_link"


@dataclass(frozen=True, kw_only=True)
class NetworkQuality:
    """Summary of a walking network's size and connectivity.

    Attributes
    ----------
    n_nodes, n_edges
        Size of the network.
    total_length_m
        Sum of edge lengths, metres.
    length_by_highway_m
        Edge length per ``highway`` value (``""`` when unknown), metres, largest first.
    n_components
        Number of connected pieces.
    largest_component_length_share, largest_component_node_share
        Share (0-1) of the length and of the nodes in the largest piece (the piece with the
        most nodes, :meth:`~skillcircle.network.model.Network.largest_component_label`).
    n_dead_ends
        Nodes with exactly one edge end.
    n_likely_gaps
        Dead ends within ``gap_m`` of a node of another piece: probably a missing link in
        the data rather than a real dead end.
    gap_m
        Distance used for ``n_likely_gaps``, metres.
    n_virtual_links
        Links added by :func:`bridge_gaps` (edges whose ``highway`` is ``virtual_link``).
    reduced_to_largest
        Whether the network was cut down to its largest piece when loaded.
    raw_n_components
        Pieces before that step (``None`` when unknown).
    raw_largest_length_share
        Share (0-1) of the length in the largest piece before that step (``None`` when
        unknown): how fragmented the data really is.
    raw_likely_gaps
        Likely gaps before that step (``None`` when unknown): the missing links worth mapping
        or bridging (see :func:`bridge_gaps`).
    dropped_nodes, dropped_length_m
        Nodes and length (metres) that step removed (0 when nothing was removed).
    invalid_features
        Road features dropped as unusable when the network was built, per reason (see
        :data:`skillcircle.network.build.INVALID_REASONS`; empty when none or unknown).
    """

    n_nodes: int
    n_edges: int
    total_length_m: float
    length_by_highway_m: dict[str, float]
    n_components: int
    largest_component_length_share: float
    largest_component_node_share: float
    n_dead_ends: int
    n_likely_gaps: int
    gap_m: float
    n_virtual_links: int
    reduced_to_largest: bool
    raw_n_components: int | None
    raw_largest_length_share: float | None
    raw_likely_gaps: int | None
    dropped_nodes: int
    dropped_length_m: float
    invalid_features: dict[str, int] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary of every field."""
        out = dataclasses.asdict(self)
        out["length_by_highway_m"] = dict(self.length_by_highway_m)
        out["invalid_features"] = dict(self.invalid_features)
        return out


def _largest(net: Network) -> tuple[int, npt.NDArray[np.int64], float, float]:
    """Component count, labels, and the largest piece's length and node shares."""
    n, labels = net.component_labels()
    best = net.largest_component_label((n, labels))
    length = np.bincount(labels[net.edge_u], weights=net.edge_length, minlength=n)
    nodes = np.bincount(labels, minlength=n)
    total = float(length.sum())
    length_share = float(length[best] / total) if total > 0 else 1.0
    return n, labels, length_share, float(nodes[best] / net.n_nodes)


def _gap_pairs(
    net: Network, labels: npt.NDArray[np.int64], max_gap_m: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """For each dead end with a node of another piece within reach: (dead end, nearest, dist)."""
    dead = np.flatnonzero(net.degree() == 1)
    empty = np.empty(0, dtype=np.int64)
    if dead.size == 0:
        return empty, empty, np.empty(0)
    xy = np.column_stack([net.x, net.y])
    pairs = (
        cKDTree(xy[dead])
        .sparse_distance_matrix(cKDTree(xy), max_gap_m, output_type="coo_matrix")
        .tocoo()
    )
    rows, cols, dist = pairs.row.astype(np.int64), pairs.col.astype(np.int64), pairs.data
    other = labels[dead[rows]] != labels[cols]
    rows, cols, dist = rows[other], cols[other], dist[other]
    if rows.size == 0:
        return empty, empty, np.empty(0)
    order = np.lexsort((cols, dist, rows))
    rows, cols, dist = rows[order], cols[order], dist[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    return dead[rows[first]], cols[first], dist[first]


def network_quality(
    net: Network, *, raw: Network | None = None, gap_m: float = 15.0
) -> NetworkQuality:
    """Measure a walking network.

    Logs a warning when the largest connected piece holds less than 90 % of the length.

    Parameters
    ----------
    net
        The network.
    raw
        The network before it was cut to its largest piece, to report what was dropped. When
        omitted, ``net.meta["raw"]`` (written by :func:`skillcircle.network.load.load_network`) is
        used if present.
    gap_m
        A dead end this close (metres) to a node of another piece counts as a likely gap.

    Returns
    -------
    NetworkQuality

    Examples
    --------
    >>> net = Network.from_edges([0, 100, 300, 310], [0, 0, 0, 0], [0, 2], [1, 3],
    ...                          crs="EPSG:32649")
    >>> q = network_quality(net, gap_m=150)
    >>> q.n_components, q.largest_component_length_share, q.n_dead_ends, q.n_likely_gaps
    (2, 0.9090909090909091, 4, 0)
    >>> network_quality(net, gap_m=205).n_likely_gaps  # nodes 1 and 2 are 200 m apart
    2
    """
    if not gap_m >= 0:
        raise InputError(f"gap_m must be zero or positive, got {gap_m!r}")
    n_comp, labels, length_share, node_share = _largest(net)
    highway = net.edge_attrs.get("highway")
    by_class: dict[str, float] = {}
    if highway is not None:
        keys, inverse = np.unique(highway.astype(str), return_inverse=True)
        sums = np.bincount(inverse.reshape(-1), weights=net.edge_length, minlength=keys.size)
        by_class = {
            str(k): float(s) for k, s in sorted(zip(keys, sums, strict=True), key=lambda t: -t[1])
        }
    n_virtual = int(np.sum(highway.astype(str) == VIRTUAL_LINK)) if highway is not None else 0
    gaps_from, _, _ = _gap_pairs(net, labels, gap_m)

    raw_components: int | None = None
    raw_share: float | None = None
    raw_gaps: int | None = None
    dropped_nodes, dropped_length = 0, 0.0
    reduced = False
    if raw is not None:
        raw_components, raw_labels, raw_share, _ = _largest(raw)
        raw_gaps = int(_gap_pairs(raw, raw_labels, gap_m)[0].size)
        dropped_nodes = raw.n_nodes - net.n_nodes
        dropped_length = raw.total_length_m - net.total_length_m
        reduced = True
    elif isinstance(net.meta.get("raw"), dict):
        stats = net.meta["raw"]
        raw_components = int(stats["n_components"])
        if "largest_component_length_share" in stats:
            raw_share = float(stats["largest_component_length_share"])
        if "n_likely_gaps" in stats and float(stats.get("gap_m", -1)) == float(gap_m):
            raw_gaps = int(stats["n_likely_gaps"])
        dropped_nodes = int(stats["n_nodes"]) - net.n_nodes
        dropped_length = float(stats["total_length_m"]) - net.total_length_m
        reduced = not net.meta.get("retain_all", False)
    if length_share < FRAGMENTED_SHARE:
        logger.warning(
            "OSM walking network is fragmented: it falls into %d separate pieces and the "
            "largest holds only %.1f %% of the street length; people near the other pieces "
            "look cut off (often an export that left out some kinds of path)",
            n_comp,
            100 * length_share,
        )
    return NetworkQuality(
        n_nodes=net.n_nodes,
        n_edges=net.n_edges,
        total_length_m=net.total_length_m,
        length_by_highway_m=by_class,
        n_components=n_comp,
        largest_component_length_share=length_share,
        largest_component_node_share=node_share,
        n_dead_ends=int(np.sum(net.degree() == 1)),
        n_likely_gaps=int(gaps_from.size),
        gap_m=float(gap_m),
        n_virtual_links=n_virtual,
        reduced_to_largest=reduced,
        raw_n_components=raw_components,
        raw_largest_length_share=raw_share,
        raw_likely_gaps=raw_gaps,
        dropped_nodes=int(dropped_nodes),
        dropped_length_m=float(max(dropped_length, 0.0)),
        invalid_features={
            str(k): int(v) for k, v in dict(net.meta.get("invalid_features") or {}).items()
        },
    )


def bridge_gaps(net: Network, *, max_gap_m: float) -> tuple[Network, int]:
    """Join dead ends to the nearest node of another piece by straight virtual links.

    Each dead end (a node with one edge end) gets a link to the nearest node of a different
    connected piece within ``max_gap_m``; a pair found from both sides is linked once. Links
    have ``highway="virtual_link"``, an empty ``name`` and ``osm_id`` ``-1`` (other attributes
    get an empty / zero value).

    Parameters
    ----------
    net
        The network (not modified).
    max_gap_m
        Longest link, metres.

    Returns
    -------
    tuple of (Network, int)
        The bridged network and the number of links added.

    Examples
    --------
    >>> net = Network.from_edges([0, 100, 110, 200], [0, 0, 0, 0], [0, 2], [1, 3],
    ...                          crs="EPSG:32649", edge_attrs={"highway": ["footway"] * 2})
    >>> bridged, n = bridge_gaps(net, max_gap_m=15)
    >>> n, bridged.component_labels()[0], bridged.edge_attrs["highway"].tolist()
    (1, 1, ['footway', 'footway', 'virtual_link'])
    """
    max_gap_m = positive(max_gap_m, "max_gap_m")
    _, labels = net.component_labels()
    src, dst, _ = _gap_pairs(net, labels, max_gap_m)
    if src.size == 0:
        return net, 0
    pair = np.unique(np.column_stack([np.minimum(src, dst), np.maximum(src, dst)]), axis=0)
    a, b = pair[:, 0], pair[:, 1]
    k = a.size
    coords = np.stack(
        [np.column_stack([net.x[a], net.y[a]]), np.column_stack([net.x[b], net.y[b]])], 1
    )
    links = shapely.linestrings(coords)
    attrs: dict[str, npt.NDArray[Any]] = {}
    for name, values in net.edge_attrs.items():
        if name == "highway":
            fill: Any = np.full(k, VIRTUAL_LINK)
        elif name == "osm_id":
            fill = np.full(k, -1, dtype=values.dtype)
        elif values.dtype.kind in "US":
            fill = np.full(k, "", dtype=values.dtype)
        else:
            fill = np.zeros(k, dtype=values.dtype)
        attrs[name] = np.concatenate([values, fill])
    if "highway" not in attrs:
        attrs["highway"] = np.concatenate([np.full(net.n_edges, ""), np.full(k, VIRTUAL_LINK)])
    bridged = Network.from_edges(
        net.x,
        net.y,
        np.concatenate([net.edge_u, a]),
        np.concatenate([net.edge_v, b]),
        crs=net.crs,
        edge_geometry=np.concatenate([net.edge_geometry, links]),
        edge_length=np.concatenate([net.edge_length, shapely.length(links)]),
        edge_attrs=attrs,
        node_id=net.node_id,
        meta={**net.meta, "virtual_links": int(k)},
    )
    logger.info("bridged %d gaps of at most %.1f m with virtual links", k, max_gap_m)
    return bridged, int(k)
