"""OSM PBF loading: the whole file and a streamed study area, against pyrosm and osmnx.

The files are generated each run, in a temporary folder, from the real Wuhan street network
(``$SKILLCIRCLE_DATA/bench/wuhan_roads_osm.parquet``, 92 667 edges): one OSM node per distinct
vertex (coordinates rounded to 1e-7°, ids 1..n in coordinate order), one way per edge
(``highway=<class>``), written with pyosmium as ``wuhan.osm.pbf`` and, with the same content,
as OSM XML ``wuhan.osm`` for osmnx, which reads XML only. Quick mode keeps the edges within
3 km of the network's centre.

Every reader runs in a fresh subprocess of its own. It imports its libraries, warms up on a
tiny file of the same kind (so numba compilation and lazy imports are not counted), then
reads the file once: the wall time of that call is measured, and so is the process's peak
resident memory during it (the peak is reset after the warm-up through
``/proc/self/clear_refs`` and read with ``ru_maxrss`` at the end), shown against its resident
memory before the call. Full sizes report the fastest of two such processes per reader.

* skillcircle: :func:`~skillcircle.network.load.load_network` on the PBF, the whole file
  (``retain_all=True``), then with a square study area around the centre (streamed: three
  passes that keep only what lies in the area's box grown by ``buffer_m`` +
  :data:`~skillcircle.network.load.PBF_BOX_MARGIN_M`), and the same call with streaming
  turned off (the whole file read, then clipped) for comparison; its XML loader (osmnx's
  parser and ``simplify_graph`` behind skillcircle's walk filter) checks the PBF path's
  answer.
* pyrosm: ``OSM(pbf).get_network(network_type="all", nodes=True)``, and with
  ``bounding_box=`` the box skillcircle reads.
* osmnx: ``graph_from_xml(wuhan.osm, simplify=True, retain_all=True)``.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

if __name__ == "__main__":  # run as a script: make ``benchmarks.common`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import data_path, report, section

__all__ = ["run"]

ROOT = Path(__file__).resolve().parents[1]

CRS = "EPSG:32650"
#: Quick mode keeps the edges within this distance of the network's centre, metres.
QUICK_RADIUS_M = 3_000.0
#: Side of the square study area around the centre, metres (full, quick).
AREA_SIDE_M = {False: 5_000.0, True: 1_500.0}
BUFFER_M = 1_000.0
#: Runs of each reader (each a fresh process); the fastest is reported (full, quick).
REPEAT = {False: 2, True: 1}
#: Guangdong's land area, km² (for the order-of-magnitude memory estimate).
GUANGDONG_KM2 = 179_800.0
#: The warm-up file: this many edges nearest the centre.
TINY_EDGES = 40

_CHILD = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from benchmarks.bench_pbf import _child_main; _child_main(sys.argv[1])"
)


# ------------------------------------------------------------------------ the generated files
def _write_osm(path: Path, lonlat: Any, way_nodes: list[list[int]], classes: Sequence[str]) -> None:
    """Write nodes (ids 1..n, sorted) then ways (ids 1..m) with pyosmium (format by name)."""
    import osmium

    header = osmium.io.Header()
    west, south = (float(v) for v in lonlat.min(axis=0))
    east, north = (float(v) for v in lonlat.max(axis=0))
    header.add_box(
        osmium.osm.Box(osmium.osm.Location(west, south), osmium.osm.Location(east, north))
    )
    header.set("generator", "skillcircle benchmarks/bench_pbf.py")
    node = osmium.osm.mutable.Node
    way = osmium.osm.mutable.Way
    with osmium.SimpleWriter(str(path), header=header, overwrite=True) as writer:
        for i, (lon, lat) in enumerate(lonlat.tolist(), start=1):
            writer.add_node(node(id=i, location=(lon, lat), version=1))
        for j, (ids, cls) in enumerate(zip(way_nodes, classes, strict=True), start=1):
            writer.add_way(way(id=j, nodes=ids, tags={"highway": cls}, version=1))


def _osm_content(roads: Any) -> tuple[Any, list[list[int]], list[str]]:
    """Nodes (distinct vertices at 1e-7°, sorted) and ways (node ids per edge) of a layer."""
    import numpy as np
    import shapely

    lonlat = roads.to_crs("EPSG:4326")
    coords, part = shapely.get_coordinates(lonlat.geometry.values, return_index=True)
    nodes, inverse = np.unique(np.round(coords, 7), axis=0, return_inverse=True)
    ids = inverse.ravel() + 1
    bounds = np.searchsorted(part, np.arange(len(lonlat) + 1))
    way_nodes = [ids[a:b].tolist() for a, b in itertools.pairwise(bounds)]
    return nodes, way_nodes, [str(v) for v in lonlat["highway"]]


def _make_files(source: Path, folder: Path, quick: bool) -> dict[str, Any]:
    """Write ``wuhan.osm.pbf``, ``wuhan.osm`` and the tiny warm-up pair; describe them."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from skillcircle.network.walk import walk_filter_mask

    roads = gpd.read_parquet(source).to_crs(CRS)
    west, south, east, north = (float(v) for v in roads.total_bounds)
    centre = shapely.Point((west + east) / 2, (south + north) / 2)
    n_source = len(roads)
    if quick:
        roads = roads[shapely.dwithin(roads.geometry.values, centre, QUICK_RADIUS_M)]
    roads = roads.reset_index(drop=True)
    nodes, way_nodes, classes = _osm_content(roads)
    start = time.perf_counter()
    files = {"pbf": folder / "wuhan.osm.pbf", "xml": folder / "wuhan.osm"}
    for path in files.values():
        _write_osm(path, nodes, way_nodes, classes)
    write_s = time.perf_counter() - start
    near = np.argsort(shapely.distance(roads.geometry.values, centre))[:TINY_EDGES]
    tiny = roads.iloc[np.sort(near)]
    t_nodes, t_ways, t_classes = _osm_content(tiny)
    files["tiny_pbf"] = folder / "tiny.osm.pbf"
    files["tiny_xml"] = folder / "tiny.osm"
    _write_osm(files["tiny_pbf"], t_nodes, t_ways, t_classes)
    _write_osm(files["tiny_xml"], t_nodes, t_ways, t_classes)
    walk = walk_filter_mask(roads)
    dropped = roads.loc[~walk, "highway"].value_counts()
    vertices = shapely.multipoints(shapely.get_coordinates(roads.geometry.values))
    return {
        "files": files,
        "centre": (centre.x, centre.y),
        "tiny_centre": tuple(float(v) for v in tiny.total_bounds.reshape(2, 2).mean(axis=0)),
        "n_source_edges": n_source,
        "n_edges": len(roads),
        "n_nodes": len(nodes),
        "n_ways": len(way_nodes),
        "n_segments": sum(len(w) - 1 for w in way_nodes),
        "lonlat_box": [float(v) for v in (*nodes.min(axis=0), *nodes.max(axis=0))],
        "classes": sorted(set(classes)),
        "walk_dropped": {str(k): int(v) for k, v in dropped.items()},
        "hull_km2": float(shapely.convex_hull(vertices).area) / 1e6,
        "write_s": write_s,
    }


def _square(centre: tuple[float, float], side_m: float) -> list[float]:
    half = side_m / 2
    return [centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half]


# --------------------------------------------------------------------------- the child side
def _canonical_lines(net: Any) -> list[list[list[float]]]:
    """Each edge's vertices rounded to 1 mm, in the direction that sorts first; sorted."""
    import numpy as np

    coords = np.round(np.asarray(net.edge_coords, dtype=float), 3).tolist()
    offsets = np.asarray(net.edge_offsets).tolist()
    lines = []
    for a, b in itertools.pairwise(offsets):
        line = coords[a:b]
        lines.append(min(line, line[::-1]))
    lines.sort()
    return lines


def _classes(values: Any) -> list[str]:
    out: set[str] = set()
    for value in values:
        if isinstance(value, list | tuple):
            out.update(str(v) for v in value)
        elif isinstance(value, str):
            out.update(v for v in value.split(";") if v)
    return sorted(out)


def _skillcircle_child(spec: dict[str, Any]) -> tuple[Any, Any]:
    """Return (warm-up, measured call) for the skillcircle variants."""
    import geopandas as gpd
    import osmium  # noqa: F401 - imported before the baseline, as the loader will
    import shapely

    import skillcircle.network.build as B  # noqa: N812
    import skillcircle.network.load as L  # noqa: N812
    import skillcircle.network.quality  # noqa: F401 - imported lazily by the loader
    from skillcircle.settings import Settings

    if spec["mode"] == "clip":  # streaming off: read the whole file, then clip
        whole = L._load_pbf

        def read_whole(path: Any, crs: str | None, bbox: Any = None) -> Any:
            return whole(path, crs)

        L._load_pbf = read_whole
    settings = Settings(crs=CRS)

    def area(box: list[float] | None) -> gpd.GeoDataFrame | None:
        if box is None:
            return None
        return gpd.GeoDataFrame(geometry=[shapely.box(*box)], crs=CRS)

    def call(path: str, box: list[float] | None) -> Any:
        return L.load_network(
            path,
            settings=settings,
            boundary=area(box),
            buffer_m=BUFFER_M,
            retain_all=True,
            use_cache=False,
        )

    split = {"read_s": 0.0, "build_s": 0.0}

    def timed_step(fn: Any, key: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                split[key] += time.perf_counter() - start

        return wrapper

    B.read_osm_pbf_ways = timed_step(B.read_osm_pbf_ways, "read_s")  # type: ignore[assignment]
    B.build_roads_network = timed_step(B.build_roads_network, "build_s")  # type: ignore[assignment]

    def warm() -> None:
        call(spec["tiny"], spec.get("tiny_box"))
        split.update(read_s=0.0, build_s=0.0)

    return warm, lambda: (call(spec["path"], spec.get("box")), split)


def _rss_mb() -> float:
    """Current resident memory of this process, MB (``VmRSS``)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - Linux always reports it


def _reset_peak() -> bool:
    """Reset this process's peak resident memory (Linux ≥ 4.0); ``False`` if impossible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def _child_main(arg: str) -> None:
    """Run one reader as a benchmark child; print its JSON result as the last line."""
    import resource

    spec = json.loads(arg)
    reader = spec["reader"]

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    try:
        import geopandas  # noqa: F401 - the common stack, imported by every reader
        import numpy as np
        import pandas  # noqa: F401
        import pyproj
        import shapely  # noqa: F401

        if reader == "skillcircle":
            warm, measure = _skillcircle_child(spec)
        elif reader == "skillcircle_xml":
            import osmnx  # noqa: F401

            import skillcircle.network.load as L  # noqa: N812
            from skillcircle.settings import Settings

            def load(path: str) -> Any:
                return L.load_network(
                    path, settings=Settings(crs=CRS), retain_all=True, use_cache=False
                )

            def warm() -> None:
                load(spec["tiny"])

            def measure() -> Any:
                return load(spec["path"]), None

        elif reader == "pyrosm":
            import pyrosm

            def read(path: str, box: list[float] | None) -> Any:
                osm = pyrosm.OSM(path, bounding_box=box, progress=False)
                return osm.get_network(network_type="all", nodes=True)

            def warm() -> None:
                read(spec["tiny"], None)

            def measure() -> Any:
                return read(spec["path"], spec.get("box")), None

        elif reader == "osmnx":
            import osmnx as ox

            def warm() -> None:
                ox.graph_from_xml(spec["tiny"], simplify=True, retain_all=True)

            def measure() -> Any:
                return ox.graph_from_xml(spec["path"], simplify=True, retain_all=True), None

        else:
            raise ValueError(f"unknown reader {reader!r}")
    except ImportError as exc:
        print(json.dumps({"missing": str(exc.name or exc)}))
        return
    import_s = time.perf_counter() - start
    warm()
    gc.collect()
    reset = _reset_peak()
    base_mb = _rss_mb() if reset else peak_mb()
    start = time.perf_counter()
    result, split = measure()
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {
        "import_s": import_s,
        "seconds": seconds,
        "base_mb": base_mb,
        "peak_mb": peak_mb(),
        "peak_reset": reset,
    }
    if split is not None:
        out.update(split)
    # ---- answers, after the memory was read
    if reader in ("skillcircle", "skillcircle_xml"):
        net = result
        out.update(
            nodes=int(net.n_nodes),
            edges=int(net.n_edges),
            km=float(net.total_length_m) / 1000,
            classes=_classes(net.edge_attrs["highway"]),
        )
        lines = _canonical_lines(net)
        box = spec.get("reading_box")
        if box is not None:  # which edges stay inside the box the streamed read reads
            to_lonlat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
            inside = []
            for line in lines:
                lon, lat = to_lonlat.transform(*np.asarray(line).T)
                inside.append(
                    bool(
                        (lon >= box[0]).all()
                        and (lon <= box[2]).all()
                        and (lat >= box[1]).all()
                        and (lat <= box[3]).all()
                    )
                )
            out["inside_box"] = inside
        out["lines"] = lines
        node_xy = cast(list[list[float]], np.round(np.c_[net.x, net.y], 3).tolist())
        out["node_xy"] = sorted(node_xy)
    elif reader == "pyrosm":
        nodes, edges = result
        out.update(
            nodes=len(nodes),
            edges=len(edges),
            classes=_classes(edges["highway"]),
            km=float(edges["length"].sum()) / 1000,
        )
    elif reader == "osmnx":
        G = result
        directed = G.number_of_edges()
        reciprocal = sum(1 for u, v in G.edges() if G.has_edge(v, u))
        out.update(
            nodes=G.number_of_nodes(),
            directed_edges=directed,
            all_reciprocal=reciprocal == directed,
            edges=directed // 2 if reciprocal == directed else None,
            km=sum(d["length"] for *_, d in G.edges(data=True)) / 2000,
            classes=_classes(d["highway"] for *_, d in G.edges(data=True)),
        )
    print(json.dumps(out))


# -------------------------------------------------------------------------- the parent side
def _child(spec: dict[str, Any], tmp: Path, repeat: int = 1) -> dict[str, Any]:
    """The fastest of ``repeat`` runs of one reader, each in a fresh process."""
    runs = [_one_child(spec, tmp) for _ in range(max(1, repeat))]
    timed_runs = [r for r in runs if "seconds" in r]
    return min(timed_runs, key=lambda r: r["seconds"]) if timed_runs else runs[0]


def _one_child(spec: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Run one reader in a fresh process; its JSON result (or why there is none)."""
    home = Path(tempfile.mkdtemp(prefix=f"{spec['reader']}-", dir=tmp))  # pyrosm's cache
    env = {**os.environ, "TMPDIR": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(root=str(ROOT)), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        if spec["reader"].startswith("skillcircle"):
            raise RuntimeError(f"{spec['reader']} child failed: {done.stderr[-2000:]}")
        return {"failed": (done.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    out: dict[str, Any] = json.loads(lines[-1])
    return out


def _reading_box(box_m: list[float]) -> list[float]:
    """The lon/lat box skillcircle's streamed read covers for this study area."""
    import geopandas as gpd
    import shapely

    from skillcircle.network.load import _reading_box as box

    area = gpd.GeoDataFrame(geometry=[shapely.box(*box_m)], crs=CRS)
    return list(box(area, BUFFER_M))


def _row(name: str, reads: str, got: dict[str, Any], ref: dict[str, Any] | None) -> dict[str, Any]:
    if "missing" in got or "failed" in got:
        why = "not installed" if "missing" in got else f"failed: {got['failed']}"
        return {"reader": name, "reads": reads, "seconds": why}
    over = got["peak_mb"] - got["base_mb"]
    row = {
        "reader": name,
        "reads": reads,
        "import s": got["import_s"],
        "seconds": got["seconds"],
        "peak MB": got["peak_mb"],
        "MB over imports": over,
        "nodes": got.get("nodes"),
        "edges": got.get("edges"),
        "km": got.get("km"),
    }
    if ref is not None and "seconds" in ref:
        ref_over = ref["peak_mb"] - ref["base_mb"]
        row["time / skillcircle"] = got["seconds"] / ref["seconds"]
        row["memory / skillcircle"] = over / ref_over if ref_over > 0 else None
    return row


def _compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Nodes and edge geometries of two skillcircle results, side by side.

    The edges are compared as multisets (a network may hold parallel edges with the same
    vertices); ``only_a`` / ``only_b`` are the indices of the edges without a match.
    """
    unmatched_b: dict[str, list[int]] = {}
    for i, line in enumerate(b["lines"]):
        unmatched_b.setdefault(json.dumps(line), []).append(i)
    only_a = []
    for i, line in enumerate(a["lines"]):
        match = unmatched_b.get(json.dumps(line))
        if match:
            match.pop()
        else:
            only_a.append(i)
    only_b = sorted(i for rest in unmatched_b.values() for i in rest)
    na = {tuple(p) for p in a["node_xy"]}
    nb = {tuple(p) for p in b["node_xy"]}
    return {
        "same": not only_a and not only_b and na == nb and len(a["node_xy"]) == len(b["node_xy"]),
        "only_a": only_a,
        "only_b": only_b,
        "nodes_differ": len(na ^ nb),
    }


def _line_m(line: list[list[float]]) -> float:
    return sum(math.dist(p, q) for p, q in itertools.pairwise(line))


def _title(quick: bool) -> str:
    return "OSM PBF loading vs pyrosm and osmnx" + (" (quick sizes)" if quick else "")


def _missing_data(quick: bool) -> dict[str, Any]:
    note = ["Needs $SKILLCIRCLE_DATA/bench/wuhan_roads_osm.parquet (the real Wuhan network)."]
    return report(
        _title(quick),
        [
            section("Files", [], notes=note),
            section("Whole file: load time and peak memory", [], notes=note),
            section("Study area streamed from the file", [], notes=note),
        ],
    )


def run(quick: bool = False) -> dict[str, Any]:
    """Generate the files, run every reader in a subprocess of its own, compare.

    Returns
    -------
    dict
        A :func:`benchmarks.common.report`.
    """
    source = data_path("bench", "wuhan_roads_osm.parquet")
    if source is None:
        return _missing_data(quick)
    with tempfile.TemporaryDirectory(prefix="skillcircle-pbf-") as folder:
        tmp = Path(folder)
        info = _make_files(source, tmp, quick)
        files = {k: str(v) for k, v in info["files"].items()}
        sizes = {k: Path(v).stat().st_size / 1e6 for k, v in files.items()}
        info.update(pbf_mb=sizes["pbf"], xml_mb=sizes["xml"])
        box_m = _square(info["centre"], AREA_SIDE_M[quick])
        reading_box = _reading_box(box_m)
        tiny_box = _square(info["tiny_centre"], 200.0)
        rep = REPEAT[quick]
        pbf = {"tiny": files["tiny_pbf"], "path": files["pbf"]}
        xml_file = {"tiny": files["tiny_xml"], "path": files["xml"]}
        sc = {"reader": "skillcircle", **pbf}
        whole = _child({**sc, "mode": "whole"}, tmp, rep)
        xml = _child({"reader": "skillcircle_xml", **xml_file}, tmp, rep)
        pyrosm_whole = _child({"reader": "pyrosm", **pbf}, tmp, rep)
        osmnx_whole = _child({"reader": "osmnx", **xml_file}, tmp, rep)
        area = {**sc, "box": box_m, "tiny_box": tiny_box, "reading_box": reading_box}
        streamed = _child({**area, "mode": "stream"}, tmp, rep)
        clipped = _child({**area, "mode": "clip"}, tmp, rep)
        pyrosm_box = _child({"reader": "pyrosm", **pbf, "box": reading_box}, tmp, rep)
    return report(
        _title(quick),
        [
            _files_section(info, sizes, quick),
            _whole_section(info, whole, xml, pyrosm_whole, osmnx_whole, quick),
            _area_section(info, box_m, reading_box, streamed, clipped, pyrosm_box, whole, quick),
        ],
    )


def _files_section(info: dict[str, Any], sizes: dict[str, float], quick: bool) -> dict[str, Any]:
    rows = [
        {"file": "wuhan.osm.pbf (PBF, pyosmium SimpleWriter)", "MB": sizes["pbf"],
         "nodes": info["n_nodes"], "ways": info["n_ways"]},
        {"file": "wuhan.osm (OSM XML, the same content, for osmnx)", "MB": sizes["xml"],
         "nodes": info["n_nodes"], "ways": info["n_ways"]},
    ]  # fmt: skip
    subset = (
        f"Quick mode: only the {info['n_edges']:,} of {info['n_source_edges']:,} edges within "
        f"{QUICK_RADIUS_M / 1000:g} km of the network's centre."
        if quick
        else f"All {info['n_edges']:,} edges of the network."
    )
    notes = [
        subset,
        f"Highway classes in the file ({len(info['classes'])}): {', '.join(info['classes'])}.",
        f"Written in {info['write_s']:.1f} s (both files). A tiny pair of files "
        f"({TINY_EDGES} edges near the centre) warms each reader up first.",
    ]
    description = (
        "Generated each run in a temporary folder from wuhan_roads_osm.parquet: one node per "
        "distinct vertex (1e-7°), one way per edge with its highway class, nodes before ways."
    )
    return section("Files", rows, description=description, notes=notes)


def _whole_section(
    info: dict[str, Any],
    whole: dict[str, Any],
    xml: dict[str, Any],
    pyrosm_whole: dict[str, Any],
    osmnx_whole: dict[str, Any],
    quick: bool,
) -> dict[str, Any]:
    rows = [
        _row("skillcircle load_network", "PBF, walkable ways, simplified", whole, whole),
        _row("pyrosm OSM.get_network('all', nodes=True)", "PBF, every way segment", pyrosm_whole,
             whole),
        _row("osmnx graph_from_xml(simplify=True)", "XML, all ways, simplified", osmnx_whole,
             whole),
        _row("skillcircle load_network on the .osm (osmnx parser + simplify_graph)",
             "XML, walkable ways, simplified", xml, whole),
    ]  # fmt: skip
    dropped = info["walk_dropped"]
    n_dropped = sum(dropped.values())
    notes = [
        "Ratios: the reader's seconds and MB over imports divided by skillcircle's (PBF). "
        "'MB over imports' is the process's peak resident memory during the read (its peak is "
        "reset after imports and the warm-up through /proc/self/clear_refs, then read with "
        "ru_maxrss) minus its resident memory at that moment; 'peak MB' is that peak, imports "
        "included. 'import s' is the libraries' import time, not counted in 'seconds'."
        + ("" if whole.get("peak_reset", True) else " (The peak could not be reset here: "
           "'peak MB' is the process's lifetime peak.)"),
        "osmnx reads OSM XML only (graph_from_xml; it has no PBF reader), so it reads "
        f"wuhan.osm, the same {info['n_nodes']:,} nodes and {info['n_ways']:,} ways as the PBF, "
        f"in XML ({info['xml_mb']:.1f} MB against {info['pbf_mb']:.1f} MB).",
    ]  # fmt: skip
    check = _compare(whole, xml)
    notes.append(
        "Check: skillcircle's PBF loader (pyosmium, its own noder and simplifier) and its XML "
        "loader (osmnx's parser and osmnx.simplify_graph after the same walk filter) give the "
        "same network (node coordinates, edge count and every edge's vertices to 1 mm): "
        f"{check['same']}."
    )
    if n_dropped:
        classes = ", ".join(f"{k} ({v:,})" for k, v in sorted(dropped.items()))
        notes.append(
            "skillcircle keeps the walkable ways only: its walk filter (osmnx's 'walk' rules) "
            f"drops {n_dropped:,} of the {info['n_ways']:,} ways by design: {classes}. pyrosm "
            "('all') and osmnx (graph_from_xml reads every way) keep every class."
        )
    else:
        notes.append(
            "Every way of this file is walkable (no motorway class in it), so all four readers "
            "read every way."
        )
    if "nodes" in osmnx_whole:
        recip = osmnx_whole["all_reciprocal"]
        text = (
            f"osmnx returns a directed graph of {osmnx_whole['directed_edges']:,} edges; no way "
            f"has a oneway tag, so every edge has its reverse ({recip}) and the undirected "
            f"count is {osmnx_whole['edges']:,} edges on {osmnx_whole['nodes']:,} nodes, "
            f"{osmnx_whole['km']:,.1f} km, {len(osmnx_whole['classes'])} classes. "
        )
        if n_dropped:
            text += (
                f"skillcircle's {whole['edges']:,} edges on {whole['nodes']:,} nodes "
                f"({whole['km']:,.1f} km) are fewer because of the {n_dropped:,} motorway ways "
                "it drops (their junctions with other roads become bends, merged away); with "
                "the same filter, osmnx's simplify_graph gives exactly skillcircle's network "
                "(the check above)."
            )
        else:
            same = (osmnx_whole["nodes"], osmnx_whole["edges"]) == (whole["nodes"], whole["edges"])
            text += f"Check: the same node and edge counts as skillcircle's: {same}."
        notes.append(text)
    if "nodes" in pyrosm_whole:
        same = (pyrosm_whole["edges"], pyrosm_whole["nodes"]) == (
            info["n_segments"],
            info["n_nodes"],
        )
        notes.append(
            "pyrosm does not simplify: with nodes=True it returns one row per way segment and "
            f"every node of the ways (equal to the file's {info['n_segments']:,} segments and "
            f"{info['n_nodes']:,} nodes: {same}), {len(pyrosm_whole['classes'])} classes, "
            f"{pyrosm_whole['km']:,.1f} km; its edge count is not comparable with the "
            "simplified graphs'."
        )
    if "read_s" in whole:
        notes.append(
            f"Where skillcircle's {whole['seconds']:.2f} s go: {whole['read_s']:.2f} s reading "
            f"the ways with pyosmium (read_osm_pbf_ways: a Python object per way, its tags and "
            f"coordinate list, a shapely LineString), {whole['build_s']:.2f} s building the "
            "network (build_roads_network: projecting, noding, simplifying), the rest the piece "
            "statistics and provenance (the file's SHA-256)."
        )
    description = (
        "Each reader in a fresh subprocess, warmed up on a tiny file first; the wall time of "
        "the read call and the process's peak resident memory during it. "
        f"The fastest of {REPEAT[quick]} run(s) of each, each in a new process."
    )
    return section(
        "Whole file: load time and peak memory", rows, description=description, notes=notes
    )


def _area_section(
    info: dict[str, Any],
    box_m: list[float],
    reading_box: list[float],
    streamed: dict[str, Any],
    clipped: dict[str, Any],
    pyrosm_box: dict[str, Any],
    whole: dict[str, Any],
    quick: bool,
) -> dict[str, Any]:
    side_km = (box_m[2] - box_m[0]) / 1000
    rows = [
        _row("skillcircle, streamed (three passes over the file)", "PBF, the reading box",
             streamed, streamed),
        _row("skillcircle, streaming off (whole file read, then clipped)", "PBF, whole file",
             clipped, streamed),
        _row("pyrosm OSM(bounding_box=reading box).get_network('all', nodes=True)",
             "PBF, the reading box", pyrosm_box, streamed),
    ]  # fmt: skip
    for row in rows:  # the ratios here are against skillcircle streamed
        for key in ("time / skillcircle", "memory / skillcircle"):
            if key in row:
                row[key.replace("skillcircle", "streamed")] = row.pop(key)
    w, s, e, n = reading_box
    grow_km = (BUFFER_M + _margin()) / 1000
    notes = [
        f"Study area: a {side_km:g} km × {side_km:g} km square around the centre, buffer_m="
        f"{BUFFER_M:g}; the streamed read covers the lon/lat box grown by buffer_m + "
        f"PBF_BOX_MARGIN_M = {grow_km:g} km on each side: [{w:.4f}, {s:.4f}, {e:.4f}, {n:.4f}] "
        "(pyrosm is given the same box).",
    ]
    fw, fs, fe, fn = info["lonlat_box"]
    if w <= fw and s <= fs and e >= fe and n >= fn:
        notes.append(
            "The reading box holds the whole file here, so the streamed read reads every way, "
            "in three passes where the whole-file read makes one."
        )
    cmp = _compare(streamed, clipped)
    differ = [("streamed", i, streamed) for i in cmp["only_a"]] + [
        ("whole-then-clip", i, clipped) for i in cmp["only_b"]
    ]
    notes.append(
        "The streamed network and the whole-file-then-clipped one are identical (node "
        f"coordinates, edge count and every edge's vertices to 1 mm): {cmp['same']} "
        f"({streamed['nodes']:,} vs {clipped['nodes']:,} nodes, {streamed['edges']:,} vs "
        f"{clipped['edges']:,} edges, {streamed['km']:.3f} vs {clipped['km']:.3f} km)."
    )
    if not cmp["same"]:
        past = all(not res["inside_box"][i] for _, i, res in differ)
        lengths = "; ".join(f"{name} {_line_m(res['lines'][i]):,.0f} m" for name, i, res in differ)
        notes.append(
            f"Check: every edge that differs reaches past the reading box (a chain of bends "
            f"that the streamed read cuts where its ways stop having a node in the box, so "
            f"simplification ends it early): {past}. {len(cmp['only_a'])} streamed edge(s) vs "
            f"{len(cmp['only_b'])} whole-file edge(s), {cmp['nodes_differ']} node(s) differ: "
            f"{lengths}. Every other edge is identical."
        )
    else:
        notes.append("Check: the streamed read gives the whole-file-then-clipped network: True.")
    if "nodes" in pyrosm_box:
        notes.append(
            f"pyrosm's bounding-box read returns {pyrosm_box['edges']:,} way segments and "
            f"{pyrosm_box['nodes']:,} nodes (unsimplified, every class)."
        )
    if "read_s" in streamed:
        notes.append(
            f"Where the streamed {streamed['seconds']:.2f} s go: {streamed['read_s']:.2f} s in "
            "the three pyosmium passes (read_osm_pbf_ways; passes 1 and 2 visit every node and "
            "every highway way of the file as a Python object, so this part grows with the "
            f"file, not the area), {streamed['build_s']:.2f} s building the area's network, "
            "the rest clipping and provenance."
        )
    notes.append(_estimate(info, whole, streamed, quick))
    description = (
        "load_network with a boundary streams the PBF (node ids in the box, the highway ways "
        "using one, those ways' node locations); compared with reading the whole file and "
        "clipping, and with pyrosm's bounding-box read. Same measurement as above."
    )
    return section("Study area streamed from the file", rows, description=description, notes=notes)


def _margin() -> float:
    from skillcircle.network.load import PBF_BOX_MARGIN_M

    return float(PBF_BOX_MARGIN_M)


def _estimate(
    info: dict[str, Any], whole: dict[str, Any], streamed: dict[str, Any], quick: bool
) -> str:
    """The memory a Guangdong-size file would need, read whole vs streamed (an estimate)."""
    whole_mb = whole["peak_mb"] - whole["base_mb"]
    stream_mb = streamed["peak_mb"] - streamed["base_mb"]
    per_node_kb = whole_mb * 1024 / info["n_nodes"]
    density = info["n_nodes"] / info["hull_km2"]
    nodes_gd = density * GUANGDONG_KM2
    gd_gb = per_node_kb * nodes_gd / 1024**2
    scale = nodes_gd / info["n_nodes"]
    passes_s = streamed.get("read_s", streamed["seconds"])
    size = " (quick sizes: the per-node figure is less reliable)" if quick else ""
    return (
        f"Estimate{size}, not a measurement: reading whole, skillcircle needed {whole_mb:,.0f} MB "
        f"over imports for {info['n_nodes']:,} file nodes = {per_node_kb:.2f} KB per node. A "
        f"Guangdong-size file with this file's node density ({info['n_nodes']:,} nodes on "
        f"{info['hull_km2']:,.0f} km² = {density:,.1f} per km²) over the province's "
        f"{GUANGDONG_KM2:,.0f} km² holds ≈ {nodes_gd / 1e6:,.1f} M highway nodes "
        f"({scale:,.0f} × this file), so a whole read needs ≈ {per_node_kb:.2f} KB × "
        f"{nodes_gd / 1e6:,.1f} M ≈ {gd_gb:,.1f} GB (and ≈ {whole['seconds']:.2f} s × "
        f"{scale:,.0f} ≈ {whole['seconds'] * scale / 60:,.1f} min). Streamed, the memory "
        f"follows the reading box, not the file: ≈ {stream_mb:,.0f} MB for this study area "
        "whatever the file's size; the passes' time still grows with the file: "
        f"{passes_s:.2f} s × {scale:,.0f} ≈ {passes_s * scale / 60:,.1f} min. (Real extracts "
        "also hold non-highway nodes and more shape nodes per street than this generated file: "
        "the whole read indexes every node's location, the streamed passes visit every node "
        "but keep only the box's.)"
    )


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2, default=str))
