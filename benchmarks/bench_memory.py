"""Memory of a coverage run on the synthetic city, step by step, in a fresh process.

The other benchmarks run many steps and baselines in one process, so their peak resident
memory is the sum of everything they kept. Here one subprocess does only what a coverage
run does — build the network, make the demand units and stations, run
:func:`~skillcircle.access.coverage.compute_coverage` — and reports after each step its
current resident memory (``VmRSS``) and its peak so far (``ru_maxrss``). The issue's goal
(issue 15) is a peak of at most 1.6 GB for the 1 M-node run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: make ``benchmarks.common`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import report, section

__all__ = ["run"]

#: The issue's goal for the peak of the 1 M-node coverage run, MB (1.6 GB).
GOAL_PEAK_MB = 1_600.0

DESCRIPTION = (
    "One subprocess does only what a coverage run does (build the network, make the demand "
    "units and stations, compute_coverage) and reports after each step its resident memory "
    "(VmRSS) and its peak so far (ru_maxrss). The other benchmarks keep many steps and "
    "baselines in one process, so their peaks add everything up."
)

_CHILD = r"""
import json, resource, sys

def mem():
    cur = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                cur = int(line.split()[1]) / 1024
    return cur, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

steps = []
import numpy as np, geopandas as gpd
from skillcircle.access.coverage import compute_coverage
from skillcircle.network.synthetic import grid_city, random_points
from skillcircle.settings import Settings
steps.append(("imports (numpy, geopandas, numba, skillcircle)", *mem()))
nodes, n_units = int(sys.argv[1]), int(sys.argv[2])
net = grid_city(nodes, seed=1)
steps.append((f"network: grid_city({nodes:,}), {net.n_nodes:,} nodes, {net.n_edges:,} edges",
              *mem()))
ux, uy = random_points(net, n_units, seed=2, spread_m=60.0)
sx, sy = random_points(net, 350, seed=3, spread_m=60.0)
pop = np.random.default_rng(5).integers(1, 101, n_units).astype(float)
units = gpd.GeoDataFrame({"population": pop}, geometry=gpd.points_from_xy(ux, uy), crs=net.crs)
stations = gpd.GeoDataFrame({"name": [str(i) for i in range(350)]},
                            geometry=gpd.points_from_xy(sx, sy), crs=net.crs)
steps.append((f"{n_units:,} demand units and 350 stations (GeoDataFrames)", *mem()))
cov = compute_coverage(net, stations, units, settings=Settings(crs=net.crs))
steps.append(("compute_coverage (snapping, segment index, nearest station)", *mem()))
print(json.dumps({"steps": steps, "covered": float(cov.covered_population)}))
"""


def run(quick: bool = False) -> dict[str, Any]:
    """Measure the steps in a subprocess; ``quick`` uses a 20 000-node city.

    Returns
    -------
    dict
        A :func:`benchmarks.common.report`.
    """
    nodes, n_units = (20_000, 20_000) if quick else (1_010_000, 1_000_000)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(nodes), str(n_units)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    rows = [
        {"step": s, "resident MB": cur, "peak so far MB": peak} for s, cur, peak in out["steps"]
    ]
    peak = max(r["peak so far MB"] for r in rows)
    notes = []
    if not quick:
        verdict = "met" if peak <= GOAL_PEAK_MB else "NOT met"
        notes.append(
            f"Goal peak ≤ {GOAL_PEAK_MB:,.0f} MB for the 1 M-node run: {verdict} ({peak:,.0f} MB)."
        )
    notes.append(
        "Resident memory is what the operating system reports; freed memory that the allocator "
        "keeps for reuse still counts, so 'resident' can stay near the peak after a step."
    )
    title = f"Coverage run in a fresh process: {nodes:,}-node city, {n_units:,} units"
    return report(
        "Memory of a coverage run",
        [
            section(
                title, rows, description=__doc__.split("\n\n")[1].replace("\n", " "), notes=notes
            )
        ],
    )


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2, default=str))
