"""Walking-network engine: snapping and bounded routing against networkx and scipy.

On a synthetic ≥ 1 M-node grid city (and the real Wuhan street network when
``$SKILLCIRCLE_DATA`` is set) this measures:

* building the network and snapping 1 M points (vs a shapely STRtree on a subset);
* (a) one-pass coverage from 350 sources within 1 000 m: :func:`~skillcircle.access.routing.
  node_distances` and :func:`~skillcircle.access.routing.nearest` to 1 M points, vs networkx
  ``multi_source_dijkstra_path_length(cutoff=)`` and scipy ``dijkstra(min_only=True, limit=)``;
* (b) per-source balls within 1 000 m for 10 000 sources, vs networkx ``ego_graph`` and
  ``single_source_dijkstra_path_length`` and scipy ``dijkstra(limit=)`` per source on a
  subset;
* the sparse coverage matrix :func:`~skillcircle.access.routing.reach_pairs` (10 000 sources × 1 M
  points).
"""

from __future__ import annotations

import logging
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
from scipy.sparse import csgraph

from benchmarks.common import data_path, peak_rss_mb, report, section, timed
from skillcircle.access.routing import balls, nearest, node_distances, reach_pairs
from skillcircle.access.snapping import at_nodes, snap_points
from skillcircle.network.model import Network
from skillcircle.network.synthetic import grid_city, random_points

__all__ = ["run"]

logger = logging.getLogger(__name__)

LIMIT = 1000.0

FULL = {
    "nodes": 1_010_000,
    "points": 1_000_000,
    "sources_a": 350,
    "sources_b": 10_000,
    "baseline_b": 100,
    "shapely_snap": 100_000,
    "wuhan_sources": 5_000,
    "wuhan_baseline": 100,
}
QUICK = {
    "nodes": 40_000,
    "points": 40_000,
    "sources_a": 35,
    "sources_b": 500,
    "baseline_b": 10,
    "shapely_snap": 5_000,
    "wuhan_sources": 200,
    "wuhan_baseline": 5,
}


def _warm_up() -> float:
    """Compile (or load from cache) every numba kernel on a tiny network."""

    def go() -> None:
        net = grid_city(400, seed=0)
        x, y = random_points(net, 50, seed=0)
        s = snap_points(net, x, y, max_snap_m=500)
        node_distances(net, s, limit=300)
        nearest(net, s, s, limit=300)
        balls(net, s, limit=300)
        reach_pairs(net, s, s, limit=300)

    return timed(go)[0]


def _to_networkx(net: Network) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(range(net.n_nodes))
    # Keep the shortest of parallel edges: a simple Graph answers the same distance questions.
    order = np.argsort(-net.edge_length)
    graph.add_weighted_edges_from(
        zip(
            net.edge_u[order].tolist(),
            net.edge_v[order].tolist(),
            net.edge_length[order].tolist(),
            strict=True,
        ),
        weight="length",
    )
    return graph


def _shapely_snap(net: Network, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Any:
    """Snap distances the plain shapely way (STRtree nearest edge, then locate on it)."""
    import shapely

    pts = shapely.points(x, y)
    tree = shapely.STRtree(net.edge_geometry)
    (_, ei), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    shapely.line_locate_point(net.edge_geometry[ei], pts)
    return dist


def _ball_benchmarks(
    net: Network, graph: nx.Graph, sources: npt.NDArray[np.int64], n_base: int, label: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """(b): our balls for all sources vs networkx / scipy per source on a prefix subset."""
    origins = at_nodes(net, sources)
    t_ours, b = timed(lambda: balls(net, origins, limit=LIMIT), repeat=2)
    per_ours = t_ours / sources.size
    subset = sources[:n_base]
    t_ego, egos = timed(
        lambda: [nx.ego_graph(graph, int(s), radius=LIMIT, distance="length") for s in subset]
    )
    t_sssp, sssp = timed(
        lambda: [
            nx.single_source_dijkstra_path_length(graph, int(s), cutoff=LIMIT, weight="length")
            for s in subset
        ]
    )
    adj = net.adjacency()
    t_sp, sp = timed(
        lambda: [csgraph.dijkstra(adj, directed=True, indices=int(s), limit=LIMIT) for s in subset]
    )
    # Check: same node sets and distances as networkx on the subset.
    worst, same_sets = 0.0, True
    for i in range(n_base):
        node, dist = b.of(i)
        ref = sssp[i]
        same_sets &= sorted(ref) == sorted(node.tolist()) and len(egos[i]) == node.size
        worst = max(worst, float(np.max(np.abs(dist - [ref[k] for k in node.tolist()]))))
        worst = max(worst, float(np.max(np.abs(sp[i][node] - dist))))
    rows = [
        {"method": "skillcircle balls", "sources": int(sources.size), "total s": t_ours,
         "per source ms": per_ours * 1e3, "speed-up vs this": 1.0},
        {"method": "networkx ego_graph(radius=1000, distance='length')", "sources": n_base,
         "total s": t_ego, "per source ms": t_ego / n_base * 1e3,
         "speed-up vs this": t_ego / n_base / per_ours},
        {"method": "networkx single_source_dijkstra_path_length(cutoff=1000)", "sources": n_base,
         "total s": t_sssp, "per source ms": t_sssp / n_base * 1e3,
         "speed-up vs this": t_sssp / n_base / per_ours},
        {"method": "scipy csgraph.dijkstra(indices=s, limit=1000)", "sources": n_base,
         "total s": t_sp, "per source ms": t_sp / n_base * 1e3,
         "speed-up vs this": t_sp / n_base / per_ours},
    ]  # fmt: skip
    notes = [
        f"{label}: mean ball {b.sizes().mean():.0f} nodes within {LIMIT:.0f} m "
        f"({b.node.size:,} (source, node) entries in total).",
        f"Check on the {n_base} baseline sources: node sets identical to networkx: {same_sets}; "
        f"largest distance difference vs networkx and scipy {worst:.1e} m.",
        "'speed-up vs this' = baseline time per source / skillcircle time per source "
        "(ego_graph also copies the subgraph, which is part of what callers pay for).",
    ]
    return rows, notes


def _wuhan_network() -> Network | None:
    path = data_path("bench", "wuhan_roads_osm.parquet")
    if path is None:
        return None
    import geopandas as gpd
    import shapely

    roads = gpd.read_parquet(path)
    geoms = np.asarray(roads.geometry.array, dtype=object)
    first = shapely.get_coordinates(shapely.get_point(geoms, 0))
    last = shapely.get_coordinates(shapely.get_point(geoms, -1))
    # Node by identical end coordinates (the u/v ids in the file are not reliable).
    ends = np.round(np.vstack([first, last]), 3)
    uniq, inverse = np.unique(ends, axis=0, return_inverse=True)
    n = len(geoms)
    return Network.from_edges(
        uniq[:, 0], uniq[:, 1], inverse[:n], inverse[n:], crs=str(roads.crs),
        edge_geometry=geoms,
    ).largest_component()  # fmt: skip


def run(quick: bool) -> dict[str, Any]:
    """Run the network benchmarks (``quick``: small sizes for a smoke test)."""
    size = QUICK if quick else FULL
    rng = np.random.default_rng(42)
    t_warm = _warm_up()

    # ---------------------------------------------------------------- setup + snapping
    t_build, net = timed(lambda: grid_city(size["nodes"], seed=1))
    t_pts, (x, y) = timed(lambda: random_points(net, size["points"], seed=2, spread_m=60.0))
    t_snap_first, targets = timed(lambda: snap_points(net, x, y, max_snap_m=500.0))
    t_snap, targets = timed(lambda: snap_points(net, x, y, max_snap_m=500.0), repeat=2)
    m = size["shapely_snap"]
    t_shp, shp_dist = timed(lambda: _shapely_snap(net, x[:m], y[:m]))
    snap_diff = float(np.max(np.abs(shp_dist - targets.distance_m[:m])))
    t_nx, graph = timed(lambda: _to_networkx(net))
    setup = section(
        f"Setup: synthetic grid city, {net.n_nodes:,} nodes, {net.n_edges:,} edges",
        [
            {"step": "numba warm-up (compile or cache load, tiny network)", "s": t_warm},
            {"step": f"grid_city({size['nodes']:,})", "s": t_build},
            {"step": f"random_points({size['points']:,})", "s": t_pts},
            {
                "step": f"snap_points {size['points']:,} points (first call: builds index)",
                "s": t_snap_first,
            },
            {"step": f"snap_points {size['points']:,} points (index cached)", "s": t_snap},
            {
                "step": f"shapely STRtree query_nearest + line_locate_point, {m:,} points",
                "s": t_shp,
                "per 1 M points (extrapolated) s": t_shp * 1e6 / m,
            },
            {"step": "build networkx Graph (baseline only)", "s": t_nx},
        ],
        description="Building the inputs every routing benchmark below uses.",
        notes=[
            f"Snap distances agree with shapely on those {m:,} points: largest difference "
            f"{snap_diff:.1e} m (edges may differ only where several are equally near)."
        ],
    )

    # ---------------------------------------------------------------- (a) one pass
    src_a = rng.choice(net.n_nodes, size=size["sources_a"], replace=False)
    origins_a = at_nodes(net, src_a)
    t_nd, nd = timed(lambda: node_distances(net, origins_a, limit=LIMIT), repeat=3)
    t_near, near = timed(lambda: nearest(net, origins_a, targets, limit=LIMIT), repeat=3)
    t_nxa, ref = timed(
        lambda: nx.multi_source_dijkstra_path_length(
            graph, [int(s) for s in src_a], cutoff=LIMIT, weight="length"
        )
    )
    adj = net.adjacency()
    t_spa, sp = timed(
        lambda: csgraph.dijkstra(adj, directed=True, indices=src_a, limit=LIMIT, min_only=True)
    )
    keys = np.fromiter(ref.keys(), dtype=np.int64)
    vals = np.fromiter(ref.values(), dtype=np.float64)
    same = set(keys.tolist()) == set(np.flatnonzero(nd.reached).tolist())
    ours = np.where(nd.reached, nd.distance_m, -1.0)
    diff_a = max(
        float(np.max(np.abs(nd.distance_m[keys] - vals))),
        float(np.max(np.abs(np.where(np.isinf(sp), -1.0, sp) - ours))),
    )
    one_pass = section(
        f"(a) One-pass coverage: {size['sources_a']} sources, {LIMIT:.0f} m",
        [
            {"method": "skillcircle node_distances (all nodes)", "s": t_nd, "vs this": 1.0},
            {
                "method": f"skillcircle nearest ({len(targets):,} snapped points; includes "
                "node_distances)",
                "s": t_near,
                "vs this": t_near / t_nd,
            },
            {
                "method": "networkx multi_source_dijkstra_path_length(cutoff=1000)",
                "s": t_nxa,
                "vs this": t_nxa / t_nd,
            },
            {
                "method": "scipy csgraph.dijkstra(indices=sources, min_only=True, limit=1000)",
                "s": t_spa,
                "vs this": t_spa / t_nd,
            },
        ],
        description="Distance from every node (and every point) to its nearest source: what "
        "coverage of existing stations needs.",
        notes=[
            f"{int(nd.reached.sum()):,} nodes and {int(near.reached.sum()):,} of "
            f"{len(targets):,} points lie within {LIMIT:.0f} m.",
            f"Same reached node set as networkx: {same}; largest difference vs networkx and "
            f"scipy {diff_a:.1e} m.",
        ],
    )

    # ---------------------------------------------------------------- (b) balls
    src_b = rng.choice(net.n_nodes, size=size["sources_b"], replace=False)
    rows_b, notes_b = _ball_benchmarks(net, graph, src_b, size["baseline_b"], "grid city")
    ball_sec = section(
        f"(b) Per-source balls: {size['sources_b']:,} sources, {LIMIT:.0f} m",
        rows_b,
        description="Per source, the nodes within walking distance: what isochrones and "
        "candidate siting need. Baselines run on the first sources only.",
        notes=notes_b,
    )

    # ---------------------------------------------------------------- reach pairs
    origins_b = at_nodes(net, src_b)
    t_rp, rp = timed(lambda: reach_pairs(net, origins_b, targets, limit=LIMIT), repeat=2)
    pairs_sec = section(
        f"Coverage matrix: reach_pairs, {size['sources_b']:,} sources x {len(targets):,} points",
        [
            {
                "sources": size["sources_b"],
                "points": len(targets),
                "pairs": len(rp),
                "s": t_rp,
                "per source ms": t_rp / size["sources_b"] * 1e3,
                "peak RSS of the run MB": peak_rss_mb(),
            },
        ],
        description="Every (source, point) pair within the limit, as a sparse matrix: the input "
        "of maximal-covering siting.",
    )
    graph.clear()  # free the baseline's memory before the next network

    # ---------------------------------------------------------------- real network
    sections = [setup, one_pass, ball_sec, pairs_sec]
    t_wuhan, wuhan = timed(_wuhan_network)
    if wuhan is None:
        sections.append(
            section("Real network: Wuhan", [], notes=["$SKILLCIRCLE_DATA not set: skipped."])
        )
    else:
        wgraph = _to_networkx(wuhan)
        n_src = min(size["wuhan_sources"], wuhan.n_nodes)
        src_w = rng.choice(wuhan.n_nodes, size=n_src, replace=False)
        rows_w, notes_w = _ball_benchmarks(wuhan, wgraph, src_w, size["wuhan_baseline"], "Wuhan")
        sections.append(
            section(
                f"Real network: Wuhan drive network, {wuhan.n_nodes:,} nodes, "
                f"{wuhan.n_edges:,} edges, balls of {LIMIT:.0f} m",
                rows_w,
                description=f"OSM streets of Wuhan (bench/wuhan_roads_osm.parquet, noded by end "
                f"coordinates in {t_wuhan:.1f} s): a real street pattern at city scale.",
                notes=notes_w,
            )
        )
    return report("Walking network: snapping and bounded routing", sections)
