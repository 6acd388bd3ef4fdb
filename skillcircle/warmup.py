"""Compile the numba kernels ahead of the first run, in a background process.

numba compiles a kernel the first time it is called and keeps the machine code in its cache
folder (``cache=True``); on a fresh install that first compilation costs the first command
about as much again as the command itself. :func:`start_in_background` starts, once per
cache folder and skillcircle version, a low-priority process (``python -m
skillcircle.warmup``) that calls every kernel on a tiny synthetic study in the order a
``report`` meets them — network building, snapping, routing, isochrones — so on a machine
with a spare core the command finds most kernels already in the cache instead of compiling
them itself. The process writes only into numba's cache folder and a marker file there
(:data:`MARKER`); it never touches the command's inputs or outputs, and the command never
waits for it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from skillcircle import __version__

__all__ = ["MARKER", "STARTED", "compile_kernels", "start_in_background"]

logger = logging.getLogger(__name__)

#: Written into the kernel cache folder when every kernel of this version is compiled.
MARKER = f"skillcircle-{__version__}.compiled"
#: Written when a background process starts; another is not started while it is fresh.
STARTED = f"skillcircle-{__version__}.compiling"
#: Seconds after which a :data:`STARTED` file without a :data:`MARKER` counts as abandoned.
STALE_S = 600.0


def compile_kernels() -> None:
    """Call every numba kernel once on a tiny synthetic study (fills numba's cache)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from skillcircle.access.coverage import compute_coverage
    from skillcircle.access.isochrones import isochrones
    from skillcircle.access.routing import balls, nearest, node_distances, reach_pairs
    from skillcircle.access.snapping import snap_points
    from skillcircle.network.build import build_roads_network
    from skillcircle.network.synthetic import grid_city, random_points
    from skillcircle.settings import Settings

    crs = "EPSG:32650"
    # network building first: a report meets it first
    lines = [
        shapely.LineString([(0, 0), (100, 0), (200, 0)]),
        shapely.LineString([(100, 0), (100, 100)]),
        shapely.LineString([(200, 0), (200, 100), (100, 100)]),
    ]
    roads = gpd.GeoDataFrame(
        {"highway": ["footway", "residential", "path"]}, geometry=lines, crs=crs
    )
    build_roads_network(roads, crs=crs)
    net = grid_city(400, seed=0)
    sx, sy = random_points(net, 5, seed=0)
    ux, uy = random_points(net, 50, seed=1)
    stations = snap_points(net, sx, sy, max_snap_m=500.0)
    units = snap_points(net, ux, uy, max_snap_m=500.0)
    node_distances(net, stations, limit=1_000.0)
    nearest(net, stations, units, limit=1_000.0)
    reach_pairs(net, stations, units, limit=1_000.0)
    balls(net, stations, limit=1_000.0)
    st = gpd.GeoDataFrame(geometry=shapely.points(sx, sy), crs=net.crs)
    un = gpd.GeoDataFrame(
        {"population": np.ones(ux.size)}, geometry=shapely.points(ux, uy), crs=net.crs
    )
    compute_coverage(net, st, un, settings=Settings(crs=net.crs))
    isochrones(net, stations, limit_m=1_000.0, half_width_m=50.0)


def start_in_background() -> bool:
    """Start :func:`compile_kernels` in a detached low-priority process, if it is needed.

    Needed when numba's cache folder (``NUMBA_CACHE_DIR``, set by the command-line entry
    point) has no :data:`MARKER`. Returns whether a process was started.
    """
    folder = os.environ.get("NUMBA_CACHE_DIR")
    if not folder or os.environ.get("SKILLCIRCLE_NO_WARMUP"):
        return False
    root = Path(folder)
    started = root / STARTED
    if (root / MARKER).exists():
        return False
    try:
        if time.time() - started.stat().st_mtime < STALE_S:
            return False  # another process is compiling them now
    except OSError:
        pass
    try:
        root.mkdir(parents=True, exist_ok=True)
        started.write_text(f"{os.getpid()}\n", encoding="utf-8")
        subprocess.Popen(
            [sys.executable, "-m", "skillcircle.warmup"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "SKILLCIRCLE_NO_WARMUP": "1"},
        )
    except OSError:  # no process could be started: the command compiles what it needs
        return False
    return True


def _main() -> None:
    folder = Path(os.environ["NUMBA_CACHE_DIR"])
    if hasattr(os, "nice"):
        os.nice(10)  # the command in the foreground comes first
    compile_kernels()
    (folder / MARKER).write_text(f"{__version__}\n", encoding="utf-8")


if __name__ == "__main__":
    _main()
