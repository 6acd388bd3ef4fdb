"""Benchmark of the siting solver (:mod:`skillcircle.siting`).

Synthetic, geographically plausible instance: residential units and candidate sites scattered
over a 40 x 40 km square (dense urban cores plus a thinner background, like Guangzhou's
districts), a candidate covers the units within 800 m (straight line, a stand-in for the
walking-network builder), 245 existing stations already cover their surroundings.

* full size: 20 000 candidates, 1 000 000 units, K = 50 — time of greedy + 1-swap, the
  Lagrangian (LP-converging) bound and the gap;
* a sub-square, reduced, solved by spopt's ``MCLP`` (PuLP + CBC), by the exact HiGHS MILP and by
  skillcircle's greedy + swap at equal size — timing ratios measured in the same run.

Run ``python benchmarks/bench_siting.py`` (or ``--quick``), or through ``scripts/bench.py``,
which calls :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

if __name__ == "__main__":  # run as a script: make ``benchmarks.common`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import report, section, timed
from skillcircle.siting import CoverageProblem

__all__ = ["build_instance", "run"]

logger = logging.getLogger(__name__)

SIDE_M = 40_000.0
RADIUS_M = 800.0
WINDOW_M = 4_000.0


def _scatter(rng: np.random.Generator, n: int, cores: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Points: 70 % around urban cores (Gaussian), 30 % uniform background, in the square."""
    n_core = int(0.7 * n)
    which = rng.integers(0, cores.shape[0], n_core)
    pts = cores[which] + rng.normal(size=(n_core, 2)) * spread[which, None]
    pts = np.vstack([pts, rng.uniform(0, SIDE_M, (n - n_core, 2))])
    return np.clip(pts, 0, SIDE_M)


def _pairs(tree_units: cKDTree, xy: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(site, unit) pairs within ``radius``, built in chunks to bound memory."""
    rows, cols = [], []
    for start in range(0, xy.shape[0], 2_000):
        hits = tree_units.query_ball_point(xy[start : start + 2_000], radius, return_sorted=False)
        lens = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        rows.append(np.repeat(np.arange(start, start + len(hits)), lens))
        cols.append(
            np.fromiter((i for h in hits for i in h), dtype=np.int64, count=int(lens.sum()))
        )
    return np.concatenate(rows), np.concatenate(cols)


def build_instance(
    *,
    n_candidates: int,
    n_units: int,
    n_existing: int = 245,
    seed: int = 0,
    window_m: float | None = None,
) -> CoverageProblem:
    """Random plausible instance over the 40 km square.

    With ``window_m``, only the points inside a ``window_m``-wide square centred on the
    densest urban core are kept: a subset of the *same* instance, at the same density.
    """
    rng = np.random.default_rng(seed)
    cores = rng.uniform(3_000, SIDE_M - 3_000, (30, 2))  # 30 town centres, 2-5 km wide
    spread = rng.uniform(2_000, 5_000, 30)
    units = _scatter(rng, n_units, cores, spread)
    cands = _scatter(rng, n_candidates, cores, spread)
    existing = _scatter(rng, n_existing, cores, spread)
    weights = np.round(rng.lognormal(2.5, 0.6, n_units))  # ~ 15 residents per unit
    if window_m is not None:
        lo = cores[np.argmin(spread)] - window_m / 2.0

        def inside(pts: np.ndarray) -> np.ndarray:
            return np.all((pts >= lo) & (pts < lo + window_m), axis=1)

        keep = inside(units)
        units, weights = units[keep], weights[keep]
        cands, existing = cands[inside(cands)], existing[inside(existing)]
    tree = cKDTree(units)
    covered0 = np.zeros(units.shape[0], dtype=bool)
    if existing.shape[0]:
        _, hit = _pairs(tree, existing, RADIUS_M)
        covered0[hit] = True
    rows, cols = _pairs(tree, cands, RADIUS_M)
    return CoverageProblem.from_pairs(
        rows,
        cols,
        n_candidates=cands.shape[0],
        n_units=units.shape[0],
        weights=weights,
        covered0=covered0,
        candidate_xy=cands,
    )


def _spopt_and_highs(problem: CoverageProblem, k: int, time_limit_s: float) -> dict[str, Any]:
    """Same reduced instance through spopt MCLP (CBC), HiGHS MILP and skillcircle."""
    reduced, info = problem.reduced()
    out: dict[str, Any] = {
        "candidates": info.n_candidates_after,
        "units": info.n_units_after,
        "nnz": info.nnz_after,
        "k": k,
    }
    reduced.solve(add=k, bound="none")  # warm-up: load the compiled numba kernels
    t0 = time.perf_counter()
    ours = reduced.solve(add=k, bound="none")
    out["skillcircle_s"] = time.perf_counter() - t0
    out["skillcircle_covered"] = ours.covered_population

    t0 = time.perf_counter()
    exact = reduced.solve(add=k, bound="milp", time_limit_s=time_limit_s)
    out["highs_milp_s"] = exact.timings["bound"]
    out["highs_optimum"] = exact.upper_bound_covered_population
    out["highs_status"] = exact.bound_method
    out["skillcircle_gap_pct"] = exact.optimality_gap_pct

    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:  # the bench extra is not installed
        out["spopt"] = "not installed"
        return out
    cost = np.where(reduced.coverage.T.toarray(), 0.0, 2.0 * RADIUS_M)  # clients x facilities
    t0 = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, reduced.weights, RADIUS_M, p_facilities=k, name="bench")
    model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
    out["spopt_s"] = time.perf_counter() - t0
    out["spopt_status"] = pulp.LpStatus[model.problem.status]
    chosen = np.flatnonzero([v.value() > 0.5 for v in model.fac_vars])
    covered = reduced.coverage[chosen].toarray().any(axis=0)
    out["spopt_covered"] = float(reduced.weights[covered].sum())
    out["speedup_vs_spopt"] = out["spopt_s"] / out["skillcircle_s"]
    out["speedup_vs_highs"] = out["highs_milp_s"] / out["skillcircle_s"]
    return out


def _full(quick: bool) -> dict[str, Any]:
    """Greedy + swap + Lagrangian bound on the full instance (20-fold smaller when quick)."""
    scale = 20 if quick else 1
    n_c, n_u, k = 20_000 // scale, 1_000_000 // scale, 50
    build_s, problem = timed(lambda: build_instance(n_candidates=n_c, n_units=n_u, seed=1))
    problem.solve(add=5, bound="none")  # warm-up: load the compiled numba kernels
    sol = problem.solve(add=k, bound="lagrangian", time_limit_s=60.0)
    t = sol.timings
    added_ub = sol.upper_bound_covered_population - sol.base_covered_population
    return {
        "candidates": n_c,
        "units": n_u,
        "nnz": int(problem.coverage.nnz),
        "k": k,
        "build_s": build_s,
        "reduce_s": t["reduce"],
        "greedy_s": t["greedy"],
        "swap_s": t["swap"],
        "greedy_plus_swap_s": t["greedy"] + t["swap"],
        "bound_s": t["bound"],
        "total_s": t["total"],
        "reduction": sol.reduction.summary(),
        "base_covered": sol.base_covered_population,
        "greedy_covered": sol.greedy_covered_population,
        "covered": sol.covered_population,
        "swaps": sol.swaps,
        "upper_bound": sol.upper_bound_covered_population,
        "bound_method": sol.bound_method,
        "gap_pct": sol.optimality_gap_pct,
        "gap_pct_of_added": (
            (sol.upper_bound_covered_population - sol.covered_population) / added_ub * 100.0
            if added_ub > 0
            else 0.0
        ),
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; ``quick`` shrinks the full instance 20-fold and the window.

    Returns
    -------
    dict
        A :func:`benchmarks.common.report`; its ``raw`` entry keeps every number.
    """
    full = _full(quick)
    # equal-size comparison on a window of the same instance (spopt builds its PuLP model in
    # Python, so the window is kept small enough for it to finish in well under a minute)
    n_c, n_u = full["candidates"], full["units"]
    window, sub_k = (3_000.0, 10) if quick else (WINDOW_M, 15)
    small = build_instance(n_candidates=n_c, n_units=n_u, seed=1, window_m=window)
    eq = {"window_m": window, **_spopt_and_highs(small, sub_k, 120.0)}

    sections = [
        section(
            "Full instance: lazy greedy + 1-swap + Lagrangian bound",
            [
                {
                    "candidates": full["candidates"],
                    "units": full["units"],
                    "cover pairs": full["nnz"],
                    "K": full["k"],
                    "reduce s": full["reduce_s"],
                    "greedy s": full["greedy_s"],
                    "1-swap s": full["swap_s"],
                    "bound s": full["bound_s"],
                    "total s": full["total_s"],
                    "swaps": full["swaps"],
                    "covered": full["covered"],
                    "upper bound": full["upper_bound"],
                    "gap %": full["gap_pct"],
                    "gap % of added": full["gap_pct_of_added"],
                }
            ],
            description=(
                "Units and candidates scattered over a 40 x 40 km square around 30 town "
                "centres; a candidate covers the units within 800 m; 245 existing stations. "
                "Gap = (bound - covered) / bound, both including the existing coverage."
            ),
            notes=[
                f"reduction: {full['reduction']}",
                f"greedy covered {full['greedy_covered']:,.0f}, after swaps "
                f"{full['covered']:,.0f} (base {full['base_covered']:,.0f})",
                f"goals: total < 20 s: {full['total_s'] < 20}; gap <= 0.5 %: "
                f"{full['gap_pct'] <= 0.5}",
            ],
        ),
        section(
            "Equal size: skillcircle vs spopt MCLP (CBC) vs HiGHS MILP",
            [
                {
                    "solver": name,
                    "seconds": eq.get(f"{key}_s"),
                    "covered": eq.get(f"{key}_covered", eq.get("highs_optimum")),
                    "slower than skillcircle": (
                        eq[f"{key}_s"] / eq["skillcircle_s"] if f"{key}_s" in eq else None
                    ),
                }
                for name, key in (
                    ("skillcircle greedy + 1-swap", "skillcircle"),
                    ("spopt MCLP + CBC (exact)", "spopt"),
                    ("HiGHS MILP (exact)", "highs_milp"),
                )
            ],
            description=(
                f"The reduced problem of a {eq['window_m'] / 1000:g} km window of the same "
                f"instance ({eq['candidates']} candidates, {eq['units']:,} units, "
                f"{eq['nnz']:,} cover pairs), K = {eq['k']}, timed in the same run."
            ),
            notes=[
                f"spopt status: {eq.get('spopt_status', eq.get('spopt'))}; HiGHS: "
                f"{eq['highs_status']}; skillcircle gap to the MILP bound "
                f"{eq['skillcircle_gap_pct']:.3g} %",
            ],
        ),
    ]
    out = report("Siting (maximal covering)", sections)
    out["raw"] = {"full": full, "equal_size": eq}
    return out


def main() -> None:
    """Command-line entry: print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f ms %(message)s")
    print(json.dumps(run(quick=args.quick), indent=2, default=float))


if __name__ == "__main__":
    main()
