"""Where to put the next stations: :func:`suggest` builds and solves the siting problem.

Candidates (a user file, or network nodes thinned to one per grid cell) are snapped like
stations; each candidate's coverage set is the set of demand units within the walking
distance, measured exactly as in the coverage report, so that a suggested site's added
population equals the report's coverage change when the site is added to the ledger.
The optimisation itself lives in :mod:`skillcircle.siting.problem`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from skillcircle._errors import InputError, InputFileNotFoundError
from skillcircle.access.analysis import Analysis, Progress, log_step
from skillcircle.access.routing import reach_pairs
from skillcircle.access.snapping import snap_geoseries
from skillcircle.access.summary import PlanFigures, Summary
from skillcircle.inputs.areas import assign_areas
from skillcircle.inputs.boundaries import cnmaps_codes
from skillcircle.inputs.files import split_layer
from skillcircle.inputs.stations import read_stations
from skillcircle.network.model import Network
from skillcircle.profiles import profile_for
from skillcircle.siting.capacitated import CapacitatedProblem, CapacitatedSolution
from skillcircle.siting.phases import PhaseStatus, phase_plan
from skillcircle.siting.problem import CoverageProblem, SitingSolution
from skillcircle.siting.totals import area_quotas

__all__ = [
    "OBJECTIVES",
    "PLAN_COLUMNS",
    "PLAN_EXTRA_COLUMNS",
    "PhaseStatus",
    "Plan",
    "check_plan_options",
    "generate_candidates",
    "programme_phases",
    "suggest",
]

logger = logging.getLogger(__name__)

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
    candidates_rejected
        Rows of a user's candidate file that were refused (``row``, ``reason`` and the
        original columns): unreadable coordinates, duplicates, outside the districts.
    summary
        The analysis summary with its plan section (:class:`PlanFigures`) filled in: what
        ``summary.json`` holds.
    phases
        Per phase, its target and how many sites the plan gives it (empty without phases).
    capacitated
        With ``objective="capacitated"``: the served-demand solution and its certificate
        (``solution`` then counts the residents within the walk of the same picks).
    capacitated_problem
        With ``objective="capacitated"``: the problem solved (its candidates are those of
        ``candidates``), e.g. to recount the trainings another plan would serve with
        :meth:`~skillcircle.siting.capacitated.CapacitatedProblem.served`.
    """

    suggestions: gpd.GeoDataFrame
    solution: SitingSolution
    candidates: gpd.GeoDataFrame
    candidates_rejected: pd.DataFrame
    summary: Summary
    phases: tuple[PhaseStatus, ...] = ()
    capacitated: CapacitatedSolution | None = None
    capacitated_problem: CapacitatedProblem | None = None


def programme_phases(analysis: Analysis) -> tuple[tuple[int, int], ...] | None:
    """The city programme's phases when the study is the whole city, else ``None``.

    Parameters
    ----------
    analysis
        A coverage analysis.

    Returns
    -------
    tuple of (year, total stations) or None
        The city profile's :attr:`~skillcircle.profiles.base.CityProfile.phases` when the
        study's districts are exactly all of the profile's districts (e.g. every district of
        the city code); ``None`` for a part of a city, a city without a profile or a study
        without districts: a city-wide target means nothing for a part of it.
    """
    districts = analysis.inputs.districts
    if districts is None or len(districts) == 0:
        return None
    return city_phases(districts["district_code"].astype(str))


def city_phases(district_codes: Iterable[str]) -> tuple[tuple[int, int], ...] | None:
    """The city profile's phases when ``district_codes`` are exactly all of its districts.

    Parameters
    ----------
    district_codes
        The study's district codes.

    Returns
    -------
    tuple of (year, total stations) or None
        As :func:`programme_phases`.
    """
    codes = sorted(set(district_codes))
    if not codes:
        return None
    profile = profile_for(codes)
    if profile is None or not profile.phases:
        return None
    if codes != cnmaps_codes(profile.adcode):
        return None
    return profile.phases


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


#: Columns a plan adds after :data:`PLAN_COLUMNS` when it has them: the sites' names (a user's
#: candidate file), and with the capacitated objective the trainings a year each site adds to
#: the demand served and the running total (existing stations included).
PLAN_EXTRA_COLUMNS = ("name", "added_served_demand", "cumulative_served_demand")

#: What a plan maximises: residents within the walk (``"coverage"``, the maximal covering
#: problem) or demand served when each station trains at most its capacity (``"capacitated"``,
#: :mod:`skillcircle.siting.capacitated`).
OBJECTIVES = ("coverage", "capacitated")

#: Largest grid spacing of generated candidates: 5 km (a walking circle is ~1 km across, so
#: candidates farther apart leave most of the ground unreachable by any of them).
MAX_CANDIDATE_SPACING_M = 5000.0


def check_plan_options(
    *,
    add: int | None = None,
    target_stations: int | None = None,
    target_coverage_pct: float | None = None,
    candidates: str | Path | gpd.GeoDataFrame | None = None,
    candidate_spacing_m: float = 200.0,
    min_per_district: int | Mapping[str, int] | None = None,
    max_per_district: int | Mapping[str, int] | None = None,
    min_spacing_m: float | None = None,
    phases: tuple[tuple[int, int], ...] | None = None,
    time_limit_s: float = 60.0,
    min_stations_per_district: int | None = None,
    min_stations_per_subdistrict: int | None = None,
    objective: str = "coverage",
    capacity_per_site: float | None = None,
) -> None:
    """Refuse impossible siting options before any input is read.

    Everything that can be judged without the data is checked: each number's type and range,
    and the quotas against each other and against the number of sites (a total of minimums
    above ``add``, a district whose minimum is above its maximum). What needs the data (how
    many candidates a district has, the existing stations against ``target_stations``) is
    checked by :func:`suggest`.

    Parameters
    ----------
    add, target_stations, target_coverage_pct, candidates, candidate_spacing_m,
    min_per_district, max_per_district, min_spacing_m, phases, time_limit_s,
    min_stations_per_district, min_stations_per_subdistrict, objective, capacity_per_site
        As in :func:`suggest`.

    Raises
    ------
    InputError
        With one line naming the option (its ``params``), also when the quotas contradict
        each other or the number of sites.
    InputFileNotFoundError
        When the candidate file does not exist.
    """
    if add is not None and target_stations is not None:
        raise InputError(
            "give either add or target_stations, not both", param=("add", "target_stations")
        )
    if objective not in OBJECTIVES:
        raise InputError(
            f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}",
            param="objective",
        )
    if capacity_per_site is not None and not (
        _is_real(capacity_per_site) and 0 < capacity_per_site < math.inf
    ):
        raise InputError(
            f"capacity_per_site must be a positive number of trainings a year, "
            f"got {capacity_per_site}",
            param="capacity_per_site",
        )
    if objective == "capacitated" and target_coverage_pct is not None:
        raise InputError(
            "target_coverage_pct works with the coverage objective only: give the number of "
            "sites (add or target_stations) for the capacitated objective",
            param=("target_coverage_pct", "objective"),
        )
    if add is not None and (not _is_int(add) or add <= 0):
        raise InputError(f"add must be a positive number of sites, got {add}", param="add")
    if target_stations is not None and (not _is_int(target_stations) or target_stations <= 0):
        raise InputError(
            f"target_stations must be a positive number of stations, got {target_stations}",
            param="target_stations",
        )
    if target_coverage_pct is not None and not (
        _is_real(target_coverage_pct) and 0 < target_coverage_pct <= 100
    ):
        raise InputError(
            f"target_coverage_pct must be in (0, 100] %, got {target_coverage_pct}",
            param="target_coverage_pct",
        )
    if not (_is_real(candidate_spacing_m) and 0 < candidate_spacing_m <= MAX_CANDIDATE_SPACING_M):
        raise InputError(
            f"candidate_spacing_m must be a positive number of metres up to "
            f"{MAX_CANDIDATE_SPACING_M:,.0f}, got {candidate_spacing_m}",
            param="candidate_spacing_m",
        )
    if min_spacing_m is not None and not (
        _is_real(min_spacing_m) and 0 <= min_spacing_m < math.inf
    ):
        raise InputError(
            f"min_spacing_m must be a finite, non-negative number of metres, got {min_spacing_m}",
            param="min_spacing_m",
        )
    if not (_is_real(time_limit_s) and 0 < time_limit_s < math.inf):
        raise InputError(
            f"time_limit_s must be a finite, positive number of seconds, got {time_limit_s}",
            param="time_limit_s",
        )
    _check_totals(
        min_stations_per_district,
        min_stations_per_subdistrict,
        min_per_district=min_per_district,
        max_per_district=max_per_district,
    )
    _check_quotas(
        min_per_district,
        max_per_district,
        sites=add if add is not None else target_stations,
        sites_param="add" if add is not None else "target_stations",
        phases=phases if target_coverage_pct is None else None,
    )
    if isinstance(candidates, str | Path):  # "sites.xlsx:Sheet2" names a sheet of sites.xlsx
        name, _ = split_layer(candidates, suffixes=(".xlsx", ".xlsm", ".gpkg"))
        if not Path(name).is_file():
            raise InputFileNotFoundError(candidates, "candidate file")


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and not math.isnan(float(value))
    )


def _quota_values(spec: int | Mapping[str, int] | None, name: str) -> dict[str | None, int]:
    """A quota as ``{district or None (every district): count}``, each checked."""
    if spec is None:
        return {}
    items = spec.items() if isinstance(spec, Mapping) else [(None, spec)]
    out: dict[str | None, int] = {}
    for code, value in items:
        if not _is_int(value) or value < 0:
            where = "" if code is None else f" for district {code}"
            raise InputError(
                f"{name}{where} must be a whole number of sites, 0 or more, got {value!r}",
                param=name,
            )
        out[None if code is None else str(code)] = int(value)
    return out


def _check_quotas(
    min_per_district: int | Mapping[str, int] | None,
    max_per_district: int | Mapping[str, int] | None,
    *,
    sites: int | None,
    sites_param: str,
    phases: tuple[tuple[int, int], ...] | None,
) -> None:
    """The quota rules that need no data (see :func:`check_plan_options`)."""
    both = ("min_per_district", "max_per_district")
    low = _quota_values(min_per_district, "min_per_district")
    high = _quota_values(max_per_district, "max_per_district")
    if high.get(None) == 0 and isinstance(max_per_district, int):
        raise InputError(
            "max_per_district 0 allows no new site in any district", param="max_per_district"
        )
    every_min, every_max = low.get(None, 0), high.get(None)
    for code in sorted({c for c in (*low, *high) if c is not None} | {None}, key=str):
        lo = low.get(code, every_min)
        hi = high.get(code, every_max)
        if hi is not None and lo > hi:
            where = "every district" if code is None else f"district {code}"
            raise InputError(
                f"min_per_district is above max_per_district for {where} ({lo} > {hi})",
                param=both,
            )
    # a single number applies to every district (at least one); a table adds up its entries
    needed = every_min if None in low else sum(low.values())
    if sites is None and phases:
        sites, sites_param = phases[-1][1], "phases"
    if sites is not None and needed > sites:
        asked = (
            f"min_per_district={needed} asks for at least {needed} new site(s) in each district"
            if None in low
            else f"the per-district minimums (min_per_district) total {needed} new sites"
        )
        limit = (
            f"the last phase total of {sites} stations"
            if sites_param == "phases"
            else f"{sites_param}={sites}"
        )
        raise InputError(f"{asked}, more than {limit}", param=("min_per_district", sites_param))


def _check_totals(
    per_district: int | None,
    per_subdistrict: int | None,
    *,
    min_per_district: int | Mapping[str, int] | None,
    max_per_district: int | Mapping[str, int] | None,
) -> None:
    """The rules of the quotas on totals that need no data (see :func:`check_plan_options`)."""
    for value, name in (
        (per_district, "min_stations_per_district"),
        (per_subdistrict, "min_stations_per_subdistrict"),
    ):
        if value is not None and (not _is_int(value) or value < 0):
            raise InputError(
                f"{name} must be a whole number of stations, 0 or more, got {value!r}", param=name
            )
    if per_district is not None and per_subdistrict is not None:
        raise InputError(
            "give min_stations_per_district or min_stations_per_subdistrict, not both",
            param=("min_stations_per_district", "min_stations_per_subdistrict"),
        )
    if per_subdistrict is not None:
        for spec, name in (
            (min_per_district, "min_per_district"),
            (max_per_district, "max_per_district"),
        ):
            if spec is not None and not isinstance(spec, Mapping):
                raise InputError(
                    f"{name}={spec} counts per district; with min_stations_per_subdistrict "
                    "give it per 街道 as CODE=N",
                    param=(name, "min_stations_per_subdistrict"),
                )


def _resolve_add(
    *,
    add: int | None,
    target_stations: int | None,
    existing: int,
    phases: tuple[tuple[int, int], ...] | None,
    target_coverage_pct: float | None,
) -> int | None:
    if target_stations is not None:
        add = target_stations - existing
        if add <= 0:
            raise InputError(
                f"target_stations {target_stations} is not above the {existing} existing stations",
                param="target_stations",
            )
    if add is None and target_coverage_pct is None:
        if not phases:
            raise InputError(
                "give the number of new sites: add, target_stations or phases",
                param=("add", "target_stations", "phases"),
            )
        add = phases[-1][1] - existing
        if add <= 0:
            raise InputError(
                f"the {existing} existing stations already reach the last phase target "
                f"({phases[-1][1]} in {phases[-1][0]}): give the number of new sites as add",
                param="add",
            )
        logger.info(
            "add not given: adding %d sites to reach %d stations (%d target)",
            add,
            phases[-1][1],
            phases[-1][0],
        )
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
    phases: tuple[tuple[int, int], ...] | None = None,
    exact: bool = False,
    time_limit_s: float = 60.0,
    progress: Progress | None = None,
    min_stations_per_district: int | None = None,
    min_stations_per_subdistrict: int | None = None,
    objective: str = "coverage",
    capacity_per_site: float | None = None,
    client: Any = None,
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
        Quotas of new sites per area: one number for every district, or a mapping whose
        keys are district or 街道 codes or names (``{"110101": 2}``, ``{"东华门街道": 1}``).
    min_spacing_m
        Minimum straight-line distance between new sites.
    phases
        ``(year, total stations)`` pairs, opt-in (default ``None``: no schedule, the
        ``phase`` column stays empty); each suggestion is labelled with the year whose target
        it helps reach, and picks beyond the last target with ``"after <last year>"``.
        :func:`programme_phases` gives the city programme's targets for a whole-city study.
    exact
        Always solve the exact MILP for the certificate (with ``time_limit_s``).
    time_limit_s
        Time limit of the exact solver.
    progress
        Progress hook.
    min_stations_per_district, min_stations_per_subdistrict
        Every district / 街道 with residents ends with at least this many stations,
        existing ones counted ("每个街道至少一个站点"): a minimum of new sites per area of
        ``max(0, N − existing)`` (:mod:`skillcircle.siting.totals`).
    objective
        ``"coverage"`` (default): the most residents within the walk. ``"capacitated"``: the
        most trainings a year *served* when each station trains at most its capacity (the
        ledger's 容量, else the study's ``default_capacity``) and each new site
        ``capacity_per_site``, residents being served only within the walk; demand is the
        study's group × its participation rate, as in the accessibility figures
        (:mod:`skillcircle.siting.capacitated`). Quotas, spacing and phases apply as for
        coverage; ``target_coverage_pct`` does not.
    capacity_per_site
        Trainings a year of each new site (capacitated objective; default: the study's
        ``default_capacity``).
    client
        A ``dask.distributed`` client: the candidates' cover sets are computed part by part
        on its cluster (the study's ``parts_by``), gathered and solved here, the same pairs
        and plan as without it. Without one, the study's ``dask`` cluster is used when set.

    Returns
    -------
    Plan
    """
    check_plan_options(
        add=add,
        target_stations=target_stations,
        target_coverage_pct=target_coverage_pct,
        candidates=candidates,
        candidate_spacing_m=candidate_spacing_m,
        min_per_district=min_per_district,
        max_per_district=max_per_district,
        min_spacing_m=min_spacing_m,
        phases=phases,
        time_limit_s=time_limit_s,
        min_stations_per_district=min_stations_per_district,
        min_stations_per_subdistrict=min_stations_per_subdistrict,
        objective=objective,
        capacity_per_site=capacity_per_site,
    )
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
        cand, cand_rejected = _candidates(
            analysis,
            candidates,
            coords=candidate_coords,
            spacing_m=candidate_spacing_m,
            only_near_gaps=only_near_gaps,
        )
        if len(cand) == 0:
            raise InputError("no candidate sites: none lies inside the study area")
        quotas = area_quotas(
            candidates=cand,
            units=head.units,
            stations=head.stations,
            has_subdistricts=inputs.subdistricts is not None,
            add=k,
            min_per_district=min_per_district,
            max_per_district=max_per_district,
            min_stations_per_district=min_stations_per_district,
            min_stations_per_subdistrict=min_stations_per_subdistrict,
        )
        cand_snap = snap_geoseries(net, cand, max_snap_m=settings.max_snap_m)
    with step(f"Coverage sets of {len(cand):,} candidates"):
        if client is not None or inputs.study.dask is not None:
            pairs = _pairs_on_dask(analysis, cand, cand_snap, client=client, step=step)
        else:
            pairs = reach_pairs(net, cand_snap, inputs.units_snapped, limit=head.walk_distance_m)
        units = head.units
        problem = CoverageProblem.from_pairs(
            pairs.origin,
            pairs.target,
            n_candidates=len(cand),
            n_units=len(units),
            weights=units["population"].to_numpy(dtype=np.float64),
            covered0=units["covered"].to_numpy(dtype=bool),
            candidate_group=quotas.groups,
            candidate_xy=shapely.get_coordinates(cand.to_crs(net.crs).geometry.to_numpy()),
        )
    capacitated, per_site, cap_problem = None, None, None
    if objective == "capacitated":
        with step("Choosing sites by served demand (greedy + bound)"):
            cap_problem, per_site = _capacitated_problem(
                analysis, problem, capacity_per_site=capacity_per_site
            )
            capacitated = _solve_capacitated(
                cap_problem,
                add=int(k or 0),
                min_per_group=quotas.min_per_group,
                max_per_group=quotas.max_per_group,
                min_spacing_m=min_spacing_m,
                exact=exact,
                time_limit_s=time_limit_s,
            )
            solution = _coverage_of(problem, capacitated)
    else:
        with step("Choosing sites (greedy + swaps + bound)"):
            solution = problem.solve(
                add=k,
                target_coverage_pct=target_coverage_pct,
                min_per_group=quotas.min_per_group,
                max_per_group=quotas.max_per_group,
                min_spacing_m=min_spacing_m,
                bound="milp" if exact else "auto",
                time_limit_s=time_limit_s,
                rule_names={"max_per_group": "max_per_district"},
            )
    suggestions, phase_status = _suggestion_frame(
        solution, cand, existing=existing, phases=phases, capacitated=capacitated
    )
    cand_out = cand.to_crs("EPSG:4326")
    cand_out["candidate"] = np.arange(len(cand))
    cand_out["selected"] = np.isin(cand_out["candidate"], solution.selected)
    figures = PlanFigures(
        greedy_covered_population=round(solution.greedy_covered_population, 3),
        covered_population_after=round(solution.covered_population, 3),
        coverage_pct_after=round(100.0 * solution.covered_population / solution.total_population, 4)
        if solution.total_population > 0
        else 0.0,
        upper_bound_covered_population=None
        if capacitated is not None
        else round(solution.upper_bound_covered_population, 3),
        optimality_gap_pct=round(
            solution.optimality_gap_pct if capacitated is None else capacitated.optimality_gap_pct,
            4,
        ),
        bound_method=solution.bound_method if capacitated is None else capacitated.bound_method,
        swaps=solution.swaps if capacitated is None else capacitated.swaps,
        added_sites=len(solution.selected),
        candidates=len(cand),
        candidates_rejected=len(cand_rejected),
        reduced_units=solution.reduction.n_units_after,
        reduction=_reduction_dict(solution),
        phases=tuple((int(y), int(t)) for y, t in phases) if phases else None,
        plan_method=solution.plan_method if capacitated is None else capacitated.plan_method,
        target_coverage_pct=solution.target_coverage_pct,
        target_reached=solution.target_reached,
        max_reachable_coverage_pct=None
        if solution.target_coverage_pct is None
        else round(100.0 * solution.max_covered_population / solution.total_population, 4)
        if solution.total_population > 0
        else 0.0,
        sites_lower_bound=solution.sites_lower_bound,
        cut_short=solution.cut_short,
        **_served_figures(capacitated, per_site),
    )
    return Plan(
        suggestions=suggestions,
        solution=solution,
        candidates=cand_out,
        candidates_rejected=cand_rejected,
        summary=dataclasses.replace(analysis.summary, plan=figures),
        phases=phase_status,
        capacitated=capacitated,
        capacitated_problem=cap_problem,
    )


def _pairs_on_dask(
    analysis: Analysis, cand: gpd.GeoDataFrame, cand_snap: Any, *, client: Any, step: Progress
) -> Any:
    """The candidates' cover pairs, part by part on a Dask cluster (the study's split)."""
    from skillcircle.access.distributed import connect, dask_runner
    from skillcircle.access.partition import part_pairs, partitioned_reach_pairs

    inputs, head = analysis.inputs, analysis.headline
    study = inputs.study
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(connect(str(study.dask)))
        pairs, n_parts = partitioned_reach_pairs(
            inputs.network,
            cand.to_crs(inputs.network.crs),
            cand_snap,
            head.units,
            inputs.units_snapped,
            settings=inputs.settings.replace(speed_kmh=head.speed_kmh),
            parts_by=study.parts_by,
            run=dask_runner(client, step=step, task=part_pairs),
        )
    logger.info("cover sets of %d candidates from %d parts on Dask", len(cand), n_parts)
    return pairs


def _capacitated_problem(
    analysis: Analysis, problem: CoverageProblem, *, capacity_per_site: float | None
) -> tuple[CapacitatedProblem, float]:
    """The capacitated problem of the study's candidates, and the new sites' capacity.

    The existing stations' capacities and the group's demand are those of the accessibility
    figures (:func:`~skillcircle.access.analysis.station_capacities`,
    :func:`~skillcircle.access.analysis.group_demand`).
    """
    from skillcircle.access.analysis import group_demand, station_capacities

    inputs, head = analysis.inputs, analysis.headline
    found = station_capacities(inputs, head)
    if found is None:
        raise InputError(
            "objective capacitated needs the stations' capacities: a ledger column 容量 / "
            "capacity or default_capacity",
            param=("objective", "default_capacity"),
        )
    capacity, _ = found
    per_site = capacity_per_site or inputs.study.default_capacity
    if per_site is None:
        raise InputError(
            "objective capacitated needs the new sites' capacity: give capacity_per_site "
            "(or default_capacity)",
            param="capacity_per_site",
        )
    residents, _, rate = group_demand(inputs, head)
    st_pairs = reach_pairs(
        inputs.network, head.stations_snapped, inputs.units_snapped, limit=head.walk_distance_m
    )
    cov = sparse.coo_array(problem.coverage)
    cap_problem = CapacitatedProblem.from_pairs(
        cov.row,
        cov.col,
        st_pairs.origin,
        st_pairs.target,
        n_candidates=problem.n_candidates,
        n_units=problem.n_units,
        n_existing=len(head.stations),
        demand=residents * rate,
        existing_capacity=capacity,
        candidate_capacity=float(per_site),
        candidate_group=problem.candidate_group,
        candidate_xy=problem.candidate_xy,
    )
    return cap_problem, float(per_site)


def _solve_capacitated(
    cap_problem: CapacitatedProblem,
    *,
    add: int,
    min_per_group: Any,
    max_per_group: Any,
    min_spacing_m: float | None,
    exact: bool,
    time_limit_s: float,
) -> CapacitatedSolution:
    """The capacitated plan with its certificate (the exact MILP with ``exact``)."""
    return cap_problem.solve(
        add=add,
        min_per_group=min_per_group,
        max_per_group=max_per_group,
        min_spacing_m=min_spacing_m,
        bound="milp" if exact else "auto",
        time_limit_s=time_limit_s,
        rule_names={"max_per_group": "max_per_district"},
    )


def _coverage_of(problem: CoverageProblem, plan: CapacitatedSolution) -> SitingSolution:
    """Residents within the walk of a capacitated plan's picks, in its order (no bound)."""
    covered = problem.covered0.copy()
    w = problem.weights
    added = np.zeros(plan.n_selected, dtype=np.float64)
    for r, j in enumerate(plan.selected):
        units = problem.coverage.indices[
            problem.coverage.indptr[j] : problem.coverage.indptr[j + 1]
        ]
        new = units[~covered[units]]
        added[r] = float(w[new].sum())
        covered[new] = True
    _, info = problem.reduced()
    base = float(w[problem.covered0].sum())
    return SitingSolution(
        selected=plan.selected,
        added_population=added,
        base_covered_population=base,
        total_population=float(w.sum()),
        covered_population=base + float(added.sum()),
        greedy_covered_population=base + float(added.sum()),
        swaps=0,
        upper_bound_covered_population=math.nan,
        bound_method="none",
        optimality_gap_pct=math.nan,
        reduction=info,
        selected_group=plan.selected_group,
        plan_method=f"capacitated: {plan.plan_method}",
        cut_short=plan.cut_short,
    )


def _served_figures(plan: CapacitatedSolution | None, per_site: float | None) -> dict[str, Any]:
    """The served-demand keys of :class:`PlanFigures` (empty for the coverage objective)."""
    if plan is None:
        return {}
    return {
        "objective": "capacitated",
        "served_demand": round(plan.served_demand, 3),
        "base_served_demand": round(plan.base_served_demand, 3),
        "upper_bound_served_demand": round(plan.upper_bound_served_demand, 3),
        "total_demand": round(plan.total_demand, 3),
        "capacity_per_site": per_site,
        "capacity_binds": plan.capacity_binds,
    }


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
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Candidate sites (WGS84, with areas) and the user's candidate rows that were refused."""
    inputs = analysis.inputs
    net = inputs.network
    rejected = pd.DataFrame({"row": pd.Series(dtype=np.int64), "reason": pd.Series(dtype=str)})
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
        cand["row"] = np.arange(1, len(cand) + 1)
    else:
        settings = inputs.settings
        read = read_stations(
            source,
            coords=coords,
            require_type=False,
            districts=inputs.districts,
            subdistricts=inputs.subdistricts,
            max_distance_m=analysis.headline.walk_distance_m + settings.max_snap_m,
        )
        rejected = read.rejected
        cand = read.stations
    cand = assign_areas(cand, districts=inputs.districts, subdistricts=inputs.subdistricts)
    if inputs.districts is not None and isinstance(source, gpd.GeoDataFrame):
        dist = _distance_m(cand, inputs.districts)
        far = dist > analysis.headline.walk_distance_m + inputs.settings.max_snap_m
        if far.any():
            extra = pd.DataFrame(cand.loc[far].drop(columns=cand.geometry.name))
            extra.insert(
                0,
                "reason",
                [f"outside the study area ({d / 1000:.1f} km away)" for d in dist[far]],
            )
            keep_cols = ["row", "reason"] + [c for c in extra.columns if c not in ("row", "reason")]
            rejected = pd.concat([rejected, extra[keep_cols]], ignore_index=True)
        cand = cand.loc[~far]
    elif inputs.districts is not None and source is None:
        cand = cand.loc[cand["district_code"].fillna("").astype(str) != ""]
    if len(rejected):
        logger.warning(
            "%d candidate row(s) refused (candidates_rejected.csv gives the reasons)", len(rejected)
        )
    return cand.reset_index(drop=True), rejected


def _distance_m(points: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> Any:
    """Distance of each point from the districts (0 inside), metres in their UTM zone."""
    from skillcircle.profiles import utm_crs

    centre = districts.to_crs("EPSG:4326").union_all().centroid
    crs = utm_crs(centre.x, centre.y)
    area = districts.to_crs(crs).union_all()
    return np.asarray(shapely.distance(area, points.to_crs(crs).geometry.to_numpy()))


def _suggestion_frame(
    solution: SitingSolution,
    cand: gpd.GeoDataFrame,
    *,
    existing: int,
    phases: tuple[tuple[int, int], ...] | None,
    capacitated: CapacitatedSolution | None = None,
) -> tuple[gpd.GeoDataFrame, tuple[PhaseStatus, ...]]:
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
    if "name" in picked.columns:  # a user's candidate file names its sites
        frame["name"] = picked["name"].fillna("").astype(str).to_numpy()
    frame["added_population"] = cum["added_population"].to_numpy()
    frame["cumulative_covered_population"] = cum["cumulative_covered_population"].to_numpy()
    frame["cumulative_coverage_pct"] = cum["cumulative_coverage_pct"].to_numpy()
    status: tuple[PhaseStatus, ...] = ()
    if phases:
        labelled, status = phase_plan(
            solution,
            existing_stations=existing,
            phases=tuple(t for _, t in phases),
            years=tuple(y for y, _ in phases),
        )
        after = f"after {phases[-1][0]}"
        frame["phase"] = [after if pd.isna(p) else str(p) for p in labelled["phase"]]
    if capacitated is not None:  # trainings a year each pick adds, and the running total
        frame["added_served_demand"] = np.round(capacitated.added_served, 3)
        frame["cumulative_served_demand"] = np.round(
            capacitated.base_served_demand + np.cumsum(capacitated.added_served), 3
        )
    extra = [c for c in PLAN_EXTRA_COLUMNS if c in frame.columns]
    out = gpd.GeoDataFrame(
        frame[[*PLAN_COLUMNS, *extra]],
        geometry=shapely.points(frame["lon"], frame["lat"]),
        crs="EPSG:4326",
    )
    return out, status
