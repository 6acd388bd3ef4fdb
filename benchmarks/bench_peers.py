"""Head-to-head with pandana and cityseer: coverage of 350 stations within 1 000 m, one run.

On the synthetic grid city of the other benchmarks (``grid_city(1_010_000, seed=1)``) and on
the real Wuhan street network (``$SKILLCIRCLE_DATA/bench/wuhan_roads_osm.parquet``, noded as in
the network benchmark), 350 stations and 1 M demand units (population 1–100 each) are scattered
within 60 m of the streets. Every tool gets the same street graph (node coordinates, edge ends,
lengths and geometries of one :class:`~skillcircle.network.model.Network`) and the same points,
moved to their nearest node (pandana's rule; a scipy ``cKDTree`` for skillcircle and
cityseer), and answers the coverage questions of the stations within 1 000 m:

* **pandana**: ``pandana.Network`` (graph + contraction hierarchy); ``set_pois`` +
  ``nearest_pois`` (distance from every node to the nearest station); ``set`` +
  ``aggregate(type="sum", decay="flat")`` (population within 1 000 m of every node, read at
  the station nodes), also after ``precompute(1000)`` and through ``nodes_in_range`` of the
  station nodes — pandana is credited with its fastest route.
* **cityseer**: a primal ``rustalgos.graph.NetworkStructure`` built edge by edge (no
  decomposition, so its nodes are the network's nodes); ``DataMap.assign_data_to_network`` of
  the stations and of the units; ``DataMap.accessibility`` (nearest station and number of
  stations within 1 000 m of every node); ``DataMap.stats`` (population sum within 1 000 m,
  only from the station nodes, marked the only ``live`` nodes).
* **skillcircle**, from the same nodes (:func:`~skillcircle.access.snapping.at_nodes`):
  :func:`~skillcircle.access.routing.node_distances`,
  :func:`~skillcircle.access.routing.reach_pairs` to every node (stations per node) and
  ``reach_pairs`` to the unit nodes + a population sum per station; its own definition
  (:func:`~skillcircle.access.snapping.snap_points` edge snapping, snap legs counted) is timed
  too, for scale.

Setup (graph building, contraction, precompute, point assignment) and queries are timed
separately; end to end = setup + queries. The answers are compared node by node (reached
sets, distances to 1 cm) and station by station (population), on the graph each peer really
stores (pandana: edge lengths truncated to whole millimetres) and on the exact lengths. On
Wuhan (and in quick mode) cityseer also runs on the stations' own coordinates (its edge
assignment), compared with skillcircle's edge snapping: a difference of definitions, measured.
Every tool is warmed up on a tiny network first (numba compile time excluded). cityseer's
accessibility is one search per node, each slower on a larger network (tens of minutes for
all 1 M nodes): on the 1 M-node city it runs from 10 000 random nodes, its time extrapolated
linearly to every node (said so on the page) and its answers checked on those nodes.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import io
import logging
import os
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree

if __name__ == "__main__":  # run as a script: make ``benchmarks.common`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import peak_rss_mb, report, section, timed
from skillcircle.access.routing import node_distances, reach_pairs
from skillcircle.access.snapping import Snapped, at_nodes, snap_points
from skillcircle.network.model import Network
from skillcircle.network.synthetic import grid_city, random_points

__all__ = ["run"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LIMIT = 1000.0
#: Largest snap / assignment distance, metres (skillcircle's Settings() default); every point
#: lies within 60 m of a street, so it never binds.
MAX_SNAP = 500.0
#: Distances are compared to this tolerance (1 cm).
TOLERANCE_M = 0.01

FULL: dict[str, Any] = {
    "stations": 350,
    "city_nodes": 1_010_000,
    "city_units": 1_000_000,
    "city_cityseer_sample": 10_000,
    "wuhan_units": 1_000_000,
    "wuhan_radius_m": None,
}
QUICK: dict[str, Any] = {
    "stations": 35,
    "city_nodes": 2_500,
    "city_units": 2_500,
    "city_cityseer_sample": None,
    "wuhan_units": 20_000,
    "wuhan_radius_m": 2_500.0,
}


# ------------------------------------------------------------------------- helpers
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _import(name: str) -> tuple[Any, str]:
    """Import a peer; return ``(module or None, why not)``."""
    try:
        return importlib.import_module(name), ""
    except ImportError as exc:  # the benchmark still runs without the peer
        return None, f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence what pandana prints on file descriptor 1 (C++ progress lines, Python prints).

    ``scripts/bench.py --quick`` prints the page on stdout: stray progress dots would land in it.
    """
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    libc.fflush(None)
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            with contextlib.redirect_stdout(io.StringIO()):
                yield
    finally:
        libc.fflush(None)
        os.dup2(saved, 1)
        os.close(saved)


class _Clock:
    """Times the steps of one tool and keeps them as table rows."""

    def __init__(self, tool: str, *, quiet: bool = False) -> None:
        self.tool = tool
        self.quiet = quiet
        self.rows: list[dict[str, Any]] = []
        self.by: dict[str, float] = {}

    def __call__(
        self, key: str, step: str, stage: str, fn: Callable[[], T], *, once: bool = False
    ) -> T:
        """Time ``fn``: best of 3 when the first call is under 1 s (or ``once``: a single call)."""
        with _quiet_stdout() if self.quiet else contextlib.nullcontext():
            s, result = timed(fn)
            if s < 1.0 and not once:
                again, result = timed(fn, repeat=2)
                s = min(s, again)
        self.by[key] = s
        self.rows.append({"tool": self.tool, "step": step, "stage": stage, "s": s})
        return result

    def s(self, *keys: str) -> float:
        """Sum of the times of ``keys``."""
        return float(sum(self.by[k] for k in keys))


def _compare(ours: FloatArray, theirs: FloatArray) -> dict[str, Any]:
    """Node-by-node comparison of two distance arrays (``inf`` = not reached)."""
    a, b = np.isfinite(ours), np.isfinite(theirs)
    both, differ = a & b, a != b
    gap = np.abs(np.where(a, ours, theirs)[differ] - LIMIT)
    worst = float(np.max(np.abs(ours[both] - theirs[both]))) if both.any() else 0.0
    return {
        "reached": int(a.sum()),
        "differ": int(differ.sum()),
        "rim": float(gap.max()) if gap.size else 0.0,
        "worst": worst,
    }


def _says(c: dict[str, Any]) -> str:
    """The wording of a node-by-node comparison in a Check line."""
    text = f"same reached nodes: {c['differ'] == 0} ({c['reached']:,} nodes"
    if c["differ"]:
        text += f"; {c['differ']:,} differ, all within {c['rim']:.1e} m of the {LIMIT:.0f} m limit"
    return (
        text + f"); largest distance difference {c['worst']:.1e} m, within "
        f"{TOLERANCE_M * 100:.0f} cm: {c['worst'] <= TOLERANCE_M}"
    )


def _population(rp: Any, pop: FloatArray, n: int) -> FloatArray:
    """Population reached per origin, from reach pairs."""
    return np.bincount(rp.origin, weights=pop[rp.target], minlength=n)


def _wuhan_network(radius_m: float | None) -> Network | None:
    """The Wuhan network of the network benchmark; ``radius_m``: only its centre (quick)."""
    from benchmarks.bench_network import _wuhan_network as load

    net = load()
    if net is None or radius_m is None:
        return net
    cx, cy = float(np.median(net.x)), float(np.median(net.y))
    return net.subnetwork(np.hypot(net.x - cx, net.y - cy) <= radius_m).largest_component()


# ------------------------------------------------------------------------- skillcircle
def _skillcircle(
    net: Network, sx: FloatArray, sy: FloatArray, ux: FloatArray, uy: FloatArray, pop: FloatArray
) -> tuple[_Clock, dict[str, Any]]:
    """Time the steps of skillcircle; its answers from the nearest nodes and edge-snapped."""
    clock = _Clock("skillcircle")
    out: dict[str, Any] = {}
    n_st = sx.size
    own: Network = clock(
        "net", "Network.from_edges(x, y, u, v, geometry, length): CSR adjacency", "setup",
        lambda: Network.from_edges(
            net.x, net.y, net.edge_u, net.edge_v, crs=net.crs,
            edge_geometry=net.edge_geometry, edge_length=net.edge_length,
        ),
    )  # fmt: skip

    def station_nodes() -> tuple[Any, IntArray]:
        tree = cKDTree(np.column_stack([own.x, own.y]))
        return tree, tree.query(np.column_stack([sx, sy]))[1].astype(np.int64)

    tree, st_node = clock(
        "tree", "scipy cKDTree of the nodes + nearest node of each station", "setup",
        station_nodes,
    )  # fmt: skip
    un_node = clock(
        "un_node", "nearest node of each unit (cKDTree query)", "setup",
        lambda: tree.query(np.column_stack([ux, uy]))[1].astype(np.int64),
    )  # fmt: skip
    out["st_node"], out["un_node"] = st_node, un_node
    st_at = clock("st_at", "at_nodes(station nodes)", "setup", lambda: at_nodes(own, st_node))
    un_at = clock("un_at", "at_nodes(unit nodes)", "setup", lambda: at_nodes(own, un_node))
    every = clock(
        "every", "at_nodes(every node) (targets of the station count, for cityseer)", "setup",
        lambda: at_nodes(own, np.arange(own.n_nodes)),
    )  # fmt: skip
    out["nearest"] = clock(
        "nd", "node_distances(station nodes): nearest station per node", "query",
        lambda: node_distances(own, st_at, limit=LIMIT).distance_m,
    )  # fmt: skip
    out["count"] = clock(
        "count", "reach_pairs(station nodes, every node): stations within reach per node "
        "(for cityseer)", "query",
        lambda: np.bincount(
            reach_pairs(own, st_at, every, limit=LIMIT).target, minlength=own.n_nodes
        ).astype(np.float64),
    )  # fmt: skip
    out["pop"] = clock(
        "pop", "reach_pairs(station nodes, unit nodes) + population sum per station", "query",
        lambda: _population(reach_pairs(own, st_at, un_at, limit=LIMIT), pop, n_st),
    )  # fmt: skip

    # ------------------------------------------------ its own definition: edge snapping
    st_snap: Snapped = clock(
        "snap_st", "own definition: snap_points(stations) (first call: builds the segment index)",
        "setup", lambda: snap_points(own, sx, sy, max_snap_m=MAX_SNAP), once=True,
    )  # fmt: skip
    un_snap: Snapped = clock(
        "snap_un", "own definition: snap_points(units)", "setup",
        lambda: snap_points(own, ux, uy, max_snap_m=MAX_SNAP),
    )  # fmt: skip
    out["nearest_snapped"] = clock(
        "nd_e", "own definition: node_distances(snapped stations), snap legs counted", "query",
        lambda: node_distances(own, st_snap, limit=LIMIT).distance_m,
    )  # fmt: skip
    out["pop_snapped"] = clock(
        "pop_e", "own definition: reach_pairs(snapped stations, snapped units) + population sum",
        "query", lambda: _population(reach_pairs(own, st_snap, un_snap, limit=LIMIT), pop, n_st),
    )  # fmt: skip
    return clock, out


# ------------------------------------------------------------------------- pandana
def _pandana(
    pandana: Any, net: Network, sx: FloatArray, sy: FloatArray, ux: FloatArray,
    uy: FloatArray, pop: FloatArray,
) -> tuple[_Clock, dict[str, Any]]:  # fmt: skip
    """Time the steps of pandana; its answers (per node, and at the station nodes)."""
    import pandas as pd

    clock = _Clock("pandana", quiet=True)
    out: dict[str, Any] = {}
    pn = clock(
        "build", "pandana.Network(x, y, u, v, length): graph + contraction hierarchy", "setup",
        lambda: pandana.Network(
            pd.Series(net.x), pd.Series(net.y), pd.Series(net.edge_u), pd.Series(net.edge_v),
            pd.DataFrame({"length": net.edge_length}), twoway=True,
        ),
        once=True,
    )  # fmt: skip
    clock(
        "pois",
        "set_pois(stations, maxdist=1000, maxitems=1): nearest node + POI index",
        "setup",
        lambda: pn.set_pois(
            "station", maxdist=LIMIT, maxitems=1, x_col=pd.Series(sx), y_col=pd.Series(sy)
        ),
    )
    un_ids = clock(
        "un_ids", "get_node_ids(units): nearest node (sklearn KDTree)", "setup",
        lambda: pn.get_node_ids(pd.Series(ux), pd.Series(uy)),
    )  # fmt: skip
    out["un_node"] = un_ids.to_numpy(dtype=np.int64)
    st_node = pn.get_node_ids(pd.Series(sx), pd.Series(sy)).to_numpy(dtype=np.int64)
    out["st_node"] = st_node
    out["nearest"] = clock(
        "near", "nearest_pois(1000, 'station'): nearest station per node", "query",
        lambda: pn.nearest_pois(LIMIT, "station", num_pois=1, max_distance=np.inf)[1].to_numpy(),
    )  # fmt: skip
    clock("set", "set(unit nodes, population)", "setup",
          lambda: pn.set(un_ids, variable=pd.Series(pop), name="population"))  # fmt: skip

    def aggregate() -> FloatArray:
        agg = pn.aggregate(LIMIT, type="sum", decay="flat", name="population")
        return agg.to_numpy(dtype=np.float64)[st_node]

    out["pop"] = clock(
        "agg", "aggregate(1000, 'sum', decay='flat'): population per node, read at stations",
        "query", aggregate,
    )  # fmt: skip
    clock("pre", "precompute(1000): range queries of every node", "setup",
          lambda: pn.precompute(LIMIT), once=True)  # fmt: skip
    out["pop_precomputed"] = clock("agg2", "aggregate(...) after precompute", "query", aggregate)
    uniq, back = np.unique(st_node, return_inverse=True)

    def in_range() -> FloatArray:
        node_pop = np.bincount(out["un_node"], weights=pop, minlength=net.n_nodes)
        df = pn.nodes_in_range(uniq, LIMIT)
        summed = np.bincount(
            np.searchsorted(uniq, df["source"].to_numpy()),
            weights=node_pop[df["destination"].to_numpy()],
            minlength=uniq.size,
        )
        return summed[back]

    out["pop_in_range"] = clock(
        "nir", "nodes_in_range(station nodes, 1000) + population sum per station", "query",
        in_range,
    )  # fmt: skip
    routes = {
        "set + aggregate": clock.s("set", "agg"),
        "set + precompute + aggregate": clock.s("set", "pre", "agg2"),
        "nodes_in_range": clock.s("nir"),
    }
    out["pop_route"] = min(routes, key=routes.__getitem__)
    out["pop_route_s"] = routes[out["pop_route"]]
    return clock, out


# ------------------------------------------------------------------------- cityseer
def _cityseer_network(rustalgos: Any, net: Network) -> tuple[Any, IntArray]:
    """A primal cityseer NetworkStructure of ``net`` and the cityseer index of every node."""
    ns = rustalgos.graph.NetworkStructure()
    keys = [str(i) for i in range(net.n_nodes)]
    idx = np.fromiter(
        (ns.add_street_node(k, x, y, True, 1.0)
         for k, x, y in zip(keys, net.x.tolist(), net.y.tolist(), strict=True)),
        dtype=np.int64, count=net.n_nodes,
    )  # fmt: skip
    fwd = shapely.to_wkt(net.edge_geometry, rounding_precision=-1)
    rev = shapely.to_wkt(shapely.reverse(net.edge_geometry), rounding_precision=-1)
    us, vs = idx[net.edge_u].tolist(), idx[net.edge_v].tolist()
    for k, (u, v) in enumerate(zip(us, vs, strict=True)):
        # Both directions, geometry from the start node (as io.network_structure_from_nx does).
        ns.add_street_edge(u, v, k, keys[u], keys[v], fwd[k])
        ns.add_street_edge(v, u, k, keys[v], keys[u], rev[k])
    ns.validate()
    ns.build_edge_rtree()
    return ns, idx


def _cityseer_map(rustalgos: Any, ns: Any, x: FloatArray, y: FloatArray) -> Any:
    """A cityseer DataMap of points, assigned to the network."""
    dm = rustalgos.data.DataMap()
    for j, wkt in enumerate(shapely.to_wkt(shapely.points(x, y), rounding_precision=-1)):
        dm.insert(j, wkt)
    dm.assign_data_to_network(ns, MAX_SNAP, 50)
    return dm


def _cityseer_nearest(
    ns: Any, dm: Any, n_stations: int, idx: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Nearest station and stations within reach per node (cityseer accessibility)."""
    acc = dm.accessibility(
        ns, dict.fromkeys(range(n_stations), "station"), ["station"], distances=[int(LIMIT)],
        speed_m_s=1.0, decay_fn="1", pbar_disabled=True,
    )  # fmt: skip
    res = acc.result["station"]
    to_node = np.empty(idx.size, dtype=np.int64)
    to_node[idx] = np.arange(idx.size)
    at = to_node[np.asarray(acc.node_indices, dtype=np.int64)]
    nearest = np.full(idx.size, np.inf)
    nearest[at] = np.nan_to_num(np.asarray(res.distance[int(LIMIT)]), nan=np.inf)
    count = np.zeros(idx.size)
    count[at] = np.asarray(res.count[int(LIMIT)])
    return nearest, count


def _cityseer(
    rustalgos: Any, net: Network, st_node: IntArray, un_node: IntArray, pop: FloatArray,
    sample: int | None = None,
) -> tuple[_Clock, dict[str, Any], Any]:  # fmt: skip
    """Time the steps of cityseer; its answers (per node, and at the station nodes).

    Stations and units are given at the coordinates of their nearest node, as pandana sees
    them. ``sample``: run the per-node accessibility from that many random nodes only (the
    others not ``live``) and extrapolate its time to every node (one search per node, so the
    time is linear in the number of live nodes); ``out["computed"]`` marks the nodes answered.
    Also returns the NetworkStructure (for the raw-coordinate comparison).
    """
    clock = _Clock("cityseer")
    out: dict[str, Any] = {}
    big = net.n_nodes > 100_000 or un_node.size > 100_000
    ns, idx = clock(
        "build", "NetworkStructure: nodes + both directions of every edge (WKT), validate, "
        "build_edge_rtree", "setup", lambda: _cityseer_network(rustalgos, net), once=True,
    )  # fmt: skip
    st_map = clock(
        "st_map", "DataMap of the stations (at their nodes) + assign_data_to_network", "setup",
        lambda: _cityseer_map(rustalgos, ns, net.x[st_node], net.y[st_node]),
    )  # fmt: skip
    un_map = clock(
        "un_map", "DataMap of the units (at their nodes) + assign_data_to_network", "setup",
        lambda: _cityseer_map(rustalgos, ns, net.x[un_node], net.y[un_node]), once=big,
    )  # fmt: skip
    step = "accessibility(stations, 1000 m): nearest station + stations within reach per node"
    out["computed"] = np.ones(net.n_nodes, dtype=bool)
    if sample is not None and sample < net.n_nodes:
        chosen = np.random.default_rng(0).choice(net.n_nodes, size=sample, replace=False)
        out["computed"][:] = False
        out["computed"][chosen] = True
        for i, on in zip(idx.tolist(), out["computed"].tolist(), strict=True):
            ns.set_node_live(i, on)  # benchmark-only step, not timed
        out["nearest"], out["count"] = clock(
            "acc_sample", f"{step}, from {sample:,} random live nodes only (measured)", "query",
            lambda: _cityseer_nearest(ns, st_map, st_node.size, idx), once=True,
        )  # fmt: skip
        clock.by["acc"] = clock.by["acc_sample"] * net.n_nodes / sample
        clock.rows.append(
            {"tool": "cityseer", "step": f"{step}, every node: extrapolated (measured x "
             f"{net.n_nodes:,} / {sample:,}), not run", "stage": "query", "s": clock.by["acc"]}
        )  # fmt: skip
    else:
        out["nearest"], out["count"] = clock(
            "acc", step, "query", lambda: _cityseer_nearest(ns, st_map, st_node.size, idx),
            once=big,
        )  # fmt: skip
    stations = set(idx[st_node].tolist())

    def live() -> None:
        for i in idx.tolist():
            ns.set_node_live(i, i in stations)

    clock("live", "mark the station nodes the only live nodes (set_node_live on every node)",
          "setup", live)  # fmt: skip

    def stats() -> FloatArray:
        res = un_map.stats(
            ns, [dict(enumerate(pop.tolist()))], distances=[int(LIMIT)], speed_m_s=1.0,
            decay_fn="1", measures=["sum"], pbar_disabled=True,
        )  # fmt: skip
        per_node = np.zeros(net.n_nodes)
        to_node = np.empty(net.n_nodes, dtype=np.int64)
        to_node[idx] = np.arange(net.n_nodes)
        per_node[to_node[np.asarray(res.node_indices, dtype=np.int64)]] = np.nan_to_num(
            np.asarray(res.result[0].sum[int(LIMIT)])
        )
        return per_node[st_node]

    out["pop"] = clock(
        "stats", "stats(population, 'sum', 1000 m) from the live station nodes", "query", stats
    )
    for i in idx.tolist():  # every node live again, for the raw-coordinate comparison
        ns.set_node_live(i, True)
    out["idx"] = idx
    return clock, out, ns


# ------------------------------------------------------------------------- warm-up
def _warm_up(pandana: Any, rustalgos: Any) -> float:
    """Run every code path once on a tiny network: numba compiles, the peers load."""

    def go() -> None:
        net = grid_city(400, seed=0)
        sx, sy = random_points(net, 5, seed=0)
        ux, uy = random_points(net, 50, seed=1)
        pop = np.ones(50)
        _, ours = _skillcircle(net, sx, sy, ux, uy, pop)
        if pandana is not None:
            _pandana(pandana, net, sx, sy, ux, uy, pop)
        if rustalgos is not None:
            _, cs, ns = _cityseer(rustalgos, net, ours["st_node"], ours["un_node"], pop)
            _cityseer_nearest(ns, _cityseer_map(rustalgos, ns, sx, sy), sx.size, cs["idx"])

    return timed(go)[0]


# ------------------------------------------------------------------------- one network
def _faster(peer: str, label: str, pairs: list[tuple[str, float, float]]) -> str:
    """Say where ``peer`` beats skillcircle (``pairs``: what, peer s, skillcircle s)."""
    faster = [
        f"{what} ({peer} {p:.3g} s vs skillcircle {s:.3g} s: {peer} {s / p:.1f}x faster)"
        for what, p, s in pairs
        if p < s
    ]
    if not faster:
        return f"{peer} is faster than skillcircle at no step on {label} (setup, each query)."
    return f"Where {peer} is faster than skillcircle on {label}: " + "; ".join(faster) + "."


def _head_to_head(
    net: Network, label: str, n_stations: int, n_units: int, seed: int, pandana: Any,
    rustalgos: Any, *, why_no_pandana: str, why_no_cityseer: str, raw_cityseer: bool,
    cityseer_sample: int | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """All three tools on one network: its two sections and its summary rows.

    ``pandana`` / ``rustalgos`` ``None``: that peer is skipped, saying why. ``raw_cityseer``:
    also run cityseer's accessibility on the stations' own coordinates (its edge assignment)
    against skillcircle's edge snapping (untimed, a semantics comparison). ``cityseer_sample``:
    cityseer's per-node accessibility from that many random nodes, time extrapolated.
    """
    rng = np.random.default_rng(seed)
    sx, sy = random_points(net, n_stations, seed=seed + 1, spread_m=60.0)
    ux, uy = random_points(net, n_units, seed=seed + 2, spread_m=60.0)
    pop = rng.integers(1, 101, n_units).astype(np.float64)
    logger.info("peers on %s: skillcircle", label)
    sc, ours = _skillcircle(net, sx, sy, ux, uy, pop)
    st_node, un_node = ours["st_node"], ours["un_node"]
    rows = list(sc.rows)
    notes: list[str] = []
    summary: list[dict[str, Any]] = []
    goals: list[str] = []

    def line(tool: str, setup: float, q1: float, q2: float, ref: float | None) -> dict:
        e2e = setup + q1 + q2
        return {"network": label, "tool": tool, "setup s": setup, "per-node query s": q1,
                "population per station s": q2, "end to end s": e2e,
                "vs skillcircle": None if ref is None else e2e / ref}  # fmt: skip

    # ------------------------------------------------------------ pandana
    if pandana is not None:
        logger.info("peers on %s: pandana", label)
        pc, pd_out = _pandana(pandana, net, sx, sy, ux, uy, pop)
        rows += pc.rows
        # pandana keeps each edge as whole millimetres (length x 1000, truncated): the same
        # graph as pandana sees it, for skillcircle, has those truncated lengths.
        mm = Network.from_edges(
            net.x, net.y, net.edge_u, net.edge_v, crs=net.crs, edge_geometry=net.edge_geometry,
            edge_length=np.floor(net.edge_length * 1000.0) / 1000.0,
        )  # fmt: skip
        mm_st = at_nodes(mm, st_node)
        c_mm = _compare(node_distances(mm, mm_st, limit=LIMIT).distance_m, pd_out["nearest"])
        mm_pop = _population(
            reach_pairs(mm, mm_st, at_nodes(mm, un_node), limit=LIMIT), pop, n_stations
        )
        c_exact = _compare(ours["nearest"], pd_out["nearest"])
        same_nodes = bool(
            np.array_equal(pd_out["st_node"], st_node)
            and np.array_equal(pd_out["un_node"], un_node)
        )
        mm_pop_diff = float(np.max(np.abs(pd_out["pop"] - mm_pop)))
        pop_diff = float(np.max(np.abs(pd_out["pop"] - ours["pop"])))
        route_diff = max(
            float(np.max(np.abs(pd_out["pop"] - pd_out["pop_precomputed"]))),
            float(np.max(np.abs(pd_out["pop"] - pd_out["pop_in_range"]))),
        )
        shorter = pd_out["nearest"] <= ours["nearest"] + 1e-4
        notes += [
            f"Check pandana's nearest node of every station and unit (sklearn KDTree) against "
            f"skillcircle's (scipy cKDTree): identical: {same_nodes}.",
            f"Check pandana nearest_pois against skillcircle node_distances from the same "
            f"station nodes on the graph as pandana stores it (every edge length truncated to "
            f"whole millimetres): {_says(c_mm)}.",
            f"Check pandana aggregate at the station nodes against skillcircle reach_pairs from "
            f"the same nodes to the same unit nodes on that graph: population per station "
            f"equal: {mm_pop_diff == 0.0}; pandana's three routes (aggregate, aggregate after "
            f"precompute, nodes_in_range) agree: {route_diff == 0.0}.",
            f"Against skillcircle on the exact edge lengths, pandana's distances are short by "
            f"its truncation (up to 1 mm per edge walked; pandana never longer: "
            f"{bool(shorter[np.isfinite(ours['nearest'])].all())}): {_says(c_exact)}; "
            f"population per station equal: {pop_diff == 0.0} (largest difference "
            f"{pop_diff:,.0f} people; {ours['pop'].mean():,.0f} per station on average).",
        ]
        p_setup = pc.s("build", "pois", "un_ids")
        p_pop = pd_out["pop_route_s"]
        s_setup = sc.s("net", "tree", "un_node", "st_at", "un_at")
        s_e2e = s_setup + sc.s("nd", "pop")
        p_row = line("pandana", p_setup, pc.s("near"), p_pop, s_e2e)
        s_row = line("skillcircle (vs pandana)", s_setup, sc.s("nd"), sc.s("pop"), s_e2e)
        summary += [p_row, s_row]
        notes.append(
            f"In the end-to-end table pandana's setup is Network + set_pois + get_node_ids and "
            f"its population per station is its fastest route, {pd_out['pop_route']} "
            f"({p_pop:.3g} s, set() and precompute() included when the route needs them)."
        )
        p_e2e = p_row["end to end s"]
        goals += [
            f"Goal: skillcircle at least as fast as pandana end to end on {label}: "
            f"{'met' if s_e2e <= p_e2e else 'NOT met'} (pandana {p_e2e:.3g} s, skillcircle "
            f"{s_e2e:.3g} s: pandana / skillcircle = {p_e2e / s_e2e:.1f}).",
            _faster("pandana", label, [
                ("setup", p_setup, s_setup),
                ("nearest station per node", pc.s("near"), sc.s("nd")),
                ("population per station", p_pop, sc.s("pop")),
            ]),
        ]  # fmt: skip
    else:
        notes.append(f"pandana: not run on this network ({why_no_pandana}).")
        goals.append(f"pandana: no head-to-head on {label} ({why_no_pandana}).")

    # ------------------------------------------------------------ cityseer
    if rustalgos is not None:
        logger.info("peers on %s: cityseer", label)
        cc, cs_out, ns = _cityseer(rustalgos, net, st_node, un_node, pop, cityseer_sample)
        rows += cc.rows
        on = cs_out["computed"]
        c_near = _compare(ours["nearest"][on], cs_out["nearest"][on])
        count_diff = int(np.max(np.abs(ours["count"][on] - cs_out["count"][on])))
        where = "" if on.all() else f" on the {int(on.sum()):,} sampled nodes"
        pop_diff = float(np.max(np.abs(cs_out["pop"] - ours["pop"])))
        notes += [
            f"Check cityseer accessibility (nearest station) against skillcircle node_distances "
            f"from the same station nodes{where}: {_says(c_near)}.",
            f"Check cityseer accessibility (stations within {LIMIT:.0f} m of each node) against "
            f"skillcircle reach_pairs to every node{where}: equal on every node: "
            f"{count_diff == 0} (largest difference {count_diff}).",
            f"Check cityseer stats (population sum) at the station nodes against skillcircle "
            f"reach_pairs from the same nodes to the same unit nodes: population per station "
            f"equal: {pop_diff == 0.0} (largest difference {pop_diff:,.0f} people).",
            "cityseer keeps edge lengths and distances in float32 (about 1e-4 m at 1 km). It gets "
            "the stations and units at the coordinates of their nearest node, so all three "
            "tools answer the same questions. Its 'per-node query' is one accessibility call "
            "(nearest station and station count per node); skillcircle's is node_distances + "
            "reach_pairs to every node, the same two answers.",
        ]
        if raw_cityseer:
            raw_map = _cityseer_map(rustalgos, ns, sx, sy)
            raw = _cityseer_nearest(ns, raw_map, n_stations, cs_out["idx"])[0]
            c_raw = _compare(ours["nearest_snapped"], raw)
            snapped = ours["nearest_snapped"]
            both = np.isfinite(raw) & np.isfinite(snapped)
            apart = int(np.count_nonzero(np.abs(raw[both] - snapped[both]) > TOLERANCE_M))
            attached: dict[str, list[int]] = {}
            for node, entries in raw_map.node_data_map.items():
                for entry in entries:
                    attached.setdefault(entry[0], []).append(int(node))
            st_snap = snap_points(net, sx, sy, max_snap_m=MAX_SNAP)
            street_ends = [{int(net.edge_u[e]), int(net.edge_v[e])} for e in st_snap.edge.tolist()]
            nodes_of = [set(attached.get(f"int:{k}", [])) for k in range(n_stations)]
            single = sum(len(nodes) < 2 for nodes in nodes_of)
            foreign = sum(
                not nodes <= ends for nodes, ends in zip(nodes_of, street_ends, strict=True)
            )
            notes.append(
                f"Not a Check, a difference of definitions: on the stations' own coordinates "
                f"cityseer's assignment (nearest street, setback counted) against skillcircle's "
                f"edge snapping (snap legs counted) reaches {c_raw['differ']:,} of "
                f"{c_raw['reached']:,} nodes differently and puts {apart:,} more than 1 cm "
                f"apart. cityseer attached {single} of the {n_stations} stations to a single "
                f"node, and {foreign} to a node that is not an end of the street skillcircle "
                f"snaps them to (its docs: the assignment 'considers barriers and street "
                f"intersections'); skillcircle starts from the snapped point both ways along "
                f"its street. With the stations at their nearest node (the Checks above) the two "
                f"agree."
            )
        c_setup = cc.s("build", "st_map", "un_map", "live") + sc.s("tree", "un_node")
        s_setup = sc.s("net", "tree", "un_node", "st_at", "un_at", "every")
        s_q1 = sc.s("nd", "count")
        s_e2e = s_setup + s_q1 + sc.s("pop")
        c_row = line("cityseer", c_setup, cc.s("acc"), cc.s("stats"), s_e2e)
        s_row = line("skillcircle (vs cityseer)", s_setup, s_q1, sc.s("pop"), s_e2e)
        summary += [c_row, s_row]
        notes.append(
            "cityseer's setup in the end-to-end table includes the cKDTree that finds the "
            "nearest node of every station and unit (the same step as skillcircle's)."
        )
        c_e2e = c_row["end to end s"]
        if not on.all():
            k = int(on.sum())
            measured = c_e2e - cc.s("acc") + cc.s("acc_sample")
            notes.append(
                f"cityseer's accessibility is one search per live node: from {k:,} random "
                f"nodes it took {cc.s('acc_sample'):.3g} s ({cc.s('acc_sample') / k * 1e3:.3g} ms "
                f"per node), so every node of this network would take about "
                f"{cc.s('acc') / 60:,.0f} min — extrapolated, not run (the end-to-end figures "
                f"use it). Its answers are checked on the sampled nodes."
            )
            goals.append(
                f"cityseer's end-to-end time on {label} uses its extrapolated accessibility; "
                f"counting only what was measured (the {k:,}-node sample) it is "
                f"{measured:.3g} s, {measured / s_e2e:.1f}x skillcircle's whole run."
            )
        goals += [
            f"Goal: skillcircle at least as fast as cityseer end to end on {label}: "
            f"{'met' if s_e2e <= c_e2e else 'NOT met'} (cityseer {c_e2e:.3g} s, skillcircle "
            f"{s_e2e:.3g} s: cityseer / skillcircle = {c_e2e / s_e2e:.1f}).",
            _faster("cityseer", label, [
                ("setup", c_setup, s_setup),
                ("nearest station and station count per node", cc.s("acc"), s_q1),
                ("population per station", cc.s("stats"), sc.s("pop")),
            ]),
        ]  # fmt: skip
    else:
        notes.append(f"cityseer: not run ({why_no_cityseer}).")
        goals.append(f"cityseer: no head-to-head on {label} ({why_no_cityseer}).")

    summary.append(
        line(
            "skillcircle, own definition (edge snapping; other answers)",
            sc.s("net", "snap_st", "snap_un"), sc.s("nd_e"), sc.s("pop_e"), None,
        )
    )  # fmt: skip
    steps_sec = section(
        f"Steps on {label}: {net.n_nodes:,} nodes, {net.n_edges:,} edges, {n_stations} "
        f"stations, {n_units:,} units",
        rows,
        description="Every step of every tool, timed separately. Stations and units are moved "
        "to their nearest node (pandana's rule) for all three tools; skillcircle's own "
        "definition (edge snapping, snap legs counted) is timed as well. Steps under 1 s: best "
        f"of 3; slower ones run once. Population 1–100 per unit ({pop.sum():,.0f} in total).",
        notes=notes,
    )
    end_sec = section(
        f"End to end on {label}",
        summary,
        description="Setup + queries, each peer followed by skillcircle answering the same "
        "questions (for cityseer also the station count per node). 'vs skillcircle' = the "
        "tool's end-to-end time / skillcircle's in the next row (above 1: skillcircle is "
        "faster). The last row is skillcircle's own coverage definition, for scale.",
        notes=goals,
    )
    return [steps_sec, end_sec], summary


# ------------------------------------------------------------------------- run
def run(quick: bool) -> dict[str, Any]:
    """Run the head-to-head (``quick``: small sizes for a smoke test)."""
    size = QUICK if quick else FULL
    pandana, why_p = _import("pandana")
    rustalgos, why_c = _import("cityseer.rustalgos")
    no_p = f"not installed: {why_p}"
    no_c = f"not installed: {why_c}"
    # cityseer logs every data assignment at INFO level: keep its warnings only.
    logging.getLogger("cityseer").setLevel(logging.WARNING)
    t_warm = _warm_up(pandana, rustalgos)
    n_st = size["stations"]
    sections: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []

    # ------------------------------------------------------------ the synthetic city
    t_city, city = timed(lambda: grid_city(size["city_nodes"], seed=1))
    city_label = f"the synthetic city ({city.n_nodes:,} nodes)"
    secs, rows = _head_to_head(
        city, city_label, n_st, size["city_units"], 10, pandana, rustalgos,
        why_no_pandana=no_p, why_no_cityseer=no_c, raw_cityseer=quick,
        cityseer_sample=size["city_cityseer_sample"],
    )  # fmt: skip
    sections += secs
    summary += rows
    del city

    # ------------------------------------------------------------ Wuhan
    t_wuhan, wuhan = timed(lambda: _wuhan_network(size["wuhan_radius_m"]))
    if wuhan is None:
        sections.append(
            section("Real network: Wuhan", [], notes=["$SKILLCIRCLE_DATA not set: skipped."])
        )
    else:
        label = (
            "the Wuhan network"
            if size["wuhan_radius_m"] is None
            else f"the Wuhan network within {size['wuhan_radius_m'] / 1000:g} km of its centre"
        )
        secs, rows = _head_to_head(
            wuhan, label, n_st, size["wuhan_units"], 30, pandana, rustalgos,
            why_no_pandana=no_p, why_no_cityseer=no_c, raw_cityseer=True,
        )  # fmt: skip
        sections += secs
        summary += rows

    # ------------------------------------------------------------ summary first
    versions = (
        f"pandana {_version('pandana')}"
        + ("" if pandana is not None else f" ({why_p})")
        + f", cityseer {_version('cityseer')}"
        + ("" if rustalgos is not None else f" ({why_c})")
    )
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    sections.insert(
        0,
        section(
            "Summary: end to end per network and peer",
            summary,
            description=f"Coverage of {n_st} stations within {LIMIT:.0f} m, end to end (setup + "
            "queries), each peer against skillcircle answering the same questions from the same "
            "points. 'vs skillcircle' = the tool's end-to-end time / skillcircle's (above 1: "
            "skillcircle is faster). Ratios measured in this run; the goal lines and the steps "
            "where a peer is faster are under each network's end-to-end table.",
            notes=[
                f"Peers: {versions}. Every tool was warmed up on a tiny network first "
                f"({t_warm:.1f} s); building the synthetic city took {t_city:.1f} s and loading "
                f"Wuhan {t_wuhan:.1f} s (inputs shared by all tools, not counted).",
                f"Peak RSS of the run {peak_rss_mb():,.0f} MB; load average at the end {load} "
                "(a shared machine: absolute times are noisy).",
            ],
        ),
    )
    return report(
        "Head-to-head with pandana and cityseer"
        if not quick
        else "Head-to-head with pandana and cityseer (quick sizes)",
        sections,
    )


if __name__ == "__main__":
    import argparse

    from benchmarks.common import machine_info, render

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    sys.stdout.write(render([run(args.quick)], machine_info(), quick=args.quick))
