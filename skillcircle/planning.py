"""Where to put the next stations: :func:`suggest` builds and solves the siting problem.

Candidates (a user file, or network nodes thinned to one per grid cell) are snapped like
stations; each candidate's coverage set is the set of demand units within the walking
distance, measured exactly as in the coverage report, so that a suggested site's added
population equals the report's coverage change when the site is added to the ledger.
The optimisation itself lives in :mod:`skillcircle.siting`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from skillcircle._errors import InputError
from skillcircle.analysis import Analysis, Progress, log_step
from skillcircle.boundaries import assign_areas
from skillcircle.graph import Network
from skillcircle.routing import reach_pairs
from skillcircle.siting import CoverageProblem, SitingSolution, phase_plan
from skillcircle.snapping import snap_geoseries
from skillcircle.stations import read_stations

__all__ = ["DEFAULT_PHASES", "Plan", "generate_candidates", "suggest"]

logger = logging.getLogger(__name__)

#: Programme targets (total stations): ≥250 by end 2025, ≥300 by 2026, ≥350 by 2027.
DEFAULT_PHASES: tuple[tuple[int, int], ...] = ((2025, 250), (2026, 300), (2027, 350))

PLAN_COLUMNS = [
    "rank",
    "phase",
    "lon",
    "lat",
    "district_code",
    "district_name",
    "subdistrict_code",
    "subdistrict_name",
    "added_population",
    "cumulative_covered_population",
    "cumulative_coverage_pct",
]


@dataclass(frozen=True)
class Plan:
    """Suggested new sites and how good the plan is.

    Attributes
    ----------
    suggestions
        One row per new site in pick order, WGS84 points, columns :data:`PLAN_COLUMNS`.
    solution
        The solver's result (bound, gap, swaps, model reduction).
    candidates
        All candidates considered (WGS84), with ``candidate`` index and ``selected`` flag.
    summary
        The analysis summary extended with the plan's figures (``summary.json``).
    """

    suggestions: gpd.GeoDataFrame
    solution: SitingSolution
    candidates: gpd.GeoDataFrame
    summary: dict[str, Any]


def generate_candidates(
    net: Network,
    *,
    area: shapely.Geometry | None,
    spacing_m: float = 200.0,
    near: gpd.GeoDataFrame | None = None,
    near_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Network nodes thinned to one per ``spacing_m`` grid cell.

    Parameters
    ----------
    net
        The walking network.
    area
        Keep nodes inside this polygon (network CRS); all nodes when ``None``.
    spacing_m
        Grid cell size; the node nearest each occupied cell's centre is kept.
    near, near_m
        When given, keep only cells within ``near_m`` (straight line) of these points (e.g.
        uncovered residents) — a candidate farther than that cannot reach them on foot.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in the network CRS with the column ``node``.
    """
    if spacing_m <= 0:
        raise InputError(f"candidate spacing must be positive, got {spacing_m}")
    x, y = net.x, net.y
    keep = np.ones(net.n_nodes, dtype=bool)
    if area is not None:
        keep &= shapely.contains_xy(area, x, y)
    if near is not None and near_m is not None and len(near):
        from scipy.spatial import cKDTree

        tree = cKDTree(shapely.get_coordinates(near.geometry.to_numpy()))
        d, _ = tree.query(np.column_stack([x, y]), distance_upper_bound=near_m)
        keep &= np.isfinite(d)
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return gpd.GeoDataFrame({"node": []}, geometry=[], crs=net.crs)
    cx = np.floor(x[idx] / spacing_m)
    cy = np.floor(y[idx] / spacing_m)
    d2 = (x[idx] - (cx + 0.5) * spacing_m) ** 2 + (y[idx] - (cy + 0.5) * spacing_m) ** 2
    order = np.lexsort((idx, d2, cy, cx))
    cells = np.column_stack([cx[order], cy[order]])
    first = np.ones(order.size, dtype=bool)
    first[1:] = np.any(cells[1:] != cells[:-1], axis=1)
    chosen = np.sort(idx[order[first]])
    return gpd.GeoDataFrame(
        {"node": chosen}, geometry=shapely.points(x[chosen], y[chosen]), crs=net.crs
    )


def _resolve_add(
    *,
    add: int | None,
    target_stations: int | None,
    existing: int,
    phases: tuple[tuple[int, int], ...] | None,
    target_coverage_pct: float | None,
) -> int | None:
    if add is not None and target_stations is not None:
        raise InputError("give either --add or --target-stations, not both")
    if target_stations is not None:
        add = target_stations - existing
        if add <= 0:
            raise InputError(
                f"--target-stations {target_stations} is not above the {existing} existing stations"
            )
    if add is None and target_coverage_pct is None:
        if not phases:
            raise InputError("say how many sites to add: --add, --target-stations or --phases")
        add = max(phases[-1][1] - existing, 0)
    if add is not None and add < 0:
        raise InputError(f"--add must be a positive number, got {add}")
    return add


def suggest(
    analysis: Analysis,
    *,
    add: int | None = None,
    target_stations: int | None = None,
    target_coverage_pct: float | None = None,
    candidates: str | Path | gpd.GeoDataFrame | None = None,
    candidate_coords: str = "wgs84",
    candidate_spacing_m: float = 200.0,
    only_near_gaps: bool = False,
    min_per_district: int | dict[str, int] | None = None,
    max_per_district: int | dict[str, int] | None = None,
    min_spacing_m: float | None = None,
    phases: tuple[tuple[int, int], ...] | None = DEFAULT_PHASES,
    exact: bool = False,
    time_limit_s: float = 60.0,
    progress: Progress | None = None,
) -> Plan:
    """Suggest new station sites that add the most covered residents.

    Parameters
    ----------
    analysis
        A coverage analysis of the existing stations (kept fixed).
    add
        Number of new sites.
    target_stations
        Total number of stations wanted (adds ``target_stations − existing``).
    target_coverage_pct
        Fewest new sites that reach this coverage (0-100).
    candidates
        Candidate sites: a ledger file (same formats and ``candidate_coords`` as stations) or
        a GeoDataFrame; generated from the network when ``None``.
    candidate_coords
        Coordinate system of a candidate file.
    candidate_spacing_m
        Grid spacing for generated candidates.
    only_near_gaps
        Generate candidates only within walking range of uncovered residents.
    min_per_district, max_per_district
        Quotas of new sites per district (one number for every district, or a mapping).
    min_spacing_m
        Minimum straight-line distance between new sites.
    phases
        ``(year, total stations)`` pairs; each suggestion is labelled with the year whose
        target it helps reach.
    exact
        Always solve the exact MILP for the certificate (with ``time_limit_s``).
    time_limit_s
        Time limit of the exact solver.
    progress
        Progress hook.

    Returns
    -------
    Plan
    """
    step = progress or log_step
    inputs = analysis.inputs
    net = inputs.network
    head = analysis.headline
    settings = inputs.settings.replace(speed_kmh=head.speed_kmh)
    existing = len(head.stations)
    k = _resolve_add(
        add=add,
        target_stations=target_stations,
        existing=existing,
        phases=phases,
        target_coverage_pct=target_coverage_pct,
    )
    with step("Preparing candidate sites"):
        cand = _candidates(
            analysis,
            candidates,
            coords=candidate_coords,
            spacing_m=candidate_spacing_m,
            only_near_gaps=only_near_gaps,
        )
        if len(cand) == 0:
            raise InputError("no candidate sites: none lies inside the study area")
        cand_snap = snap_geoseries(net, cand, max_snap_m=settings.max_snap_m)
    with step(f"Coverage sets of {len(cand):,} candidates"):
        pairs = reach_pairs(net, cand_snap, inputs.units_snapped, limit=head.walk_distance_m)
        units = head.units
        problem = CoverageProblem.from_pairs(
            pairs.origin,
            pairs.target,
            n_candidates=len(cand),
            n_units=len(units),
            weights=units["population"].to_numpy(dtype=np.float64),
            covered0=units["covered"].to_numpy(dtype=bool),
            candidate_group=cand["district_code"].fillna("").astype(str).to_numpy(),
            candidate_xy=shapely.get_coordinates(cand.to_crs(net.crs).geometry.to_numpy()),
        )
    with step("Choosing sites (greedy + swaps + bound)"):
        solution = problem.solve(
            add=k,
            target_coverage_pct=target_coverage_pct,
            min_per_group=min_per_district,
            max_per_group=max_per_district,
            min_spacing_m=min_spacing_m,
            bound="milp" if exact else "auto",
            time_limit_s=time_limit_s,
        )
    suggestions = _suggestion_frame(solution, cand, existing=existing, phases=phases)
    cand_out = cand.to_crs("EPSG:4326")
    cand_out["candidate"] = np.arange(len(cand))
    cand_out["selected"] = np.isin(cand_out["candidate"], solution.selected)
    summary = dict(analysis.summary)
    summary.update(
        {
            "greedy_covered_population": round(solution.greedy_covered_population, 3),
            "covered_population_after": round(solution.covered_population, 3),
            "coverage_pct_after": round(
                100.0 * solution.covered_population / solution.total_population, 4
            )
            if solution.total_population > 0
            else 0.0,
            "upper_bound_covered_population": round(solution.upper_bound_covered_population, 3),
            "optimality_gap_pct": round(solution.optimality_gap_pct, 4),
            "bound_method": solution.bound_method,
            "swaps": solution.swaps,
            "added_sites": len(solution.selected),
            "candidates": len(cand),
            "reduced_units": solution.reduction.n_units_after,
            "reduction": _reduction_dict(solution),
            "phases": [list(p) for p in phases] if phases else None,
        }
    )
    return Plan(suggestions=suggestions, solution=solution, candidates=cand_out, summary=summary)


def _reduction_dict(solution: SitingSolution) -> dict[str, Any]:
    """The model reduction's counts (no index arrays), JSON-ready."""
    red = solution.reduction
    out = {
        f.name: getattr(red, f.name)
        for f in dataclasses.fields(red)
        if f.name not in ("candidate_index", "unit_index")
    }
    out["summary"] = red.summary()
    return out


def _candidates(
    analysis: Analysis,
    source: str | Path | gpd.GeoDataFrame | None,
    *,
    coords: str,
    spacing_m: float,
    only_near_gaps: bool,
) -> gpd.GeoDataFrame:
    inputs = analysis.inputs
    net = inputs.network
    if source is None:
        area = None
        if inputs.districts is not None:
            area = shapely.union_all(inputs.districts.to_crs(net.crs).geometry.to_numpy())
        near = None
        if only_near_gaps:
            units = analysis.headline.units
            near = units.loc[~units["covered"].to_numpy()]
        cand = generate_candidates(
            net,
            area=area,
            spacing_m=spacing_m,
            near=near,
            near_m=analysis.headline.walk_distance_m,
        )
        cand = cand.to_crs("EPSG:4326")
    elif isinstance(source, gpd.GeoDataFrame):
        cand = source.to_crs("EPSG:4326")
    else:
        read = read_stations(source, coords=coords, require_type=False)
        if len(read.rejected):
            logger.warning("%d candidate rows rejected (see the log)", len(read.rejected))
        cand = read.stations
    cand = assign_areas(cand, districts=inputs.districts, subdistricts=inputs.subdistricts)
    if inputs.districts is not None:
        cand = cand.loc[cand["district_code"].fillna("").astype(str) != ""]
    return cand.reset_index(drop=True)


def _suggestion_frame(
    solution: SitingSolution,
    cand: gpd.GeoDataFrame,
    *,
    existing: int,
    phases: tuple[tuple[int, int], ...] | None,
) -> gpd.GeoDataFrame:
    cum = solution.cumulative()
    picked = cand.iloc[solution.selected].to_crs("EPSG:4326").reset_index(drop=True)
    lon = picked.geometry.x.to_numpy()
    lat = picked.geometry.y.to_numpy()
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, len(picked) + 1),
            "phase": "",
            "lon": np.round(lon, 7),
            "lat": np.round(lat, 7),
        }
    )
    for col in ("district_code", "district_name", "subdistrict_code", "subdistrict_name"):
        frame[col] = picked[col].fillna("").to_numpy() if col in picked.columns else ""
    frame["added_population"] = cum["added_population"].to_numpy()
    frame["cumulative_covered_population"] = cum["cumulative_covered_population"].to_numpy()
    frame["cumulative_coverage_pct"] = cum["cumulative_coverage_pct"].to_numpy()
    if phases:
        labelled = phase_plan(
            solution,
            existing_stations=existing,
            phases=tuple(t for _, t in phases),
            years=tuple(y for y, _ in phases),
        )
        frame["phase"] = labelled["phase"].astype(str).to_numpy()
    return gpd.GeoDataFrame(
        frame[PLAN_COLUMNS],
        geometry=shapely.points(frame["lon"], frame["lat"]),
        crs="EPSG:4326",
    )
