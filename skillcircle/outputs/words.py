"""Plain-words pieces shared by the reports and the console: rules, figures, caveats.

Every function here turns typed results (:class:`~skillcircle.outputs.schema.Summary`,
:class:`~skillcircle.network.quality.NetworkQuality`) into text; none writes anything.
"""

from __future__ import annotations

from skillcircle._errors import InputError
from skillcircle.access.summary import PlanFigures, Summary
from skillcircle.network.quality import NetworkQuality

__all__ = [
    "OSM_WARNING",
    "access_lines",
    "coverage_definition",
    "fragment_line",
    "network_sensitivity_lines",
    "network_words",
    "plan_words",
    "summary_rows",
]

OSM_WARNING = (
    "OpenStreetMap in Chinese cities is incomplete: many footways, alleys (巷) and paths inside "
    "residential compounds are missing and pieces of the network are not joined. Walking "
    "distances are therefore upper bounds and coverage a lower bound; residents nearest to a "
    "disconnected fragment are measured on the main network."
)


def coverage_definition(walk_distance_m: float, speed_kmh: float, minutes: float) -> str:
    """State the coverage rule in plain words.

    The figures are only formatted: ``walk_distance_m`` is not recomputed from the speed and
    the minutes.

    Parameters
    ----------
    walk_distance_m
        The longest walk that counts as covered, in metres.
    speed_kmh
        The walking speed, in km/h.
    minutes
        The walking time.

    Returns
    -------
    text
        A short paragraph: the rule, how walking distance is measured and how off-network
        residents are counted.
    """
    return (
        f"A resident is covered when the walking distance to the nearest station is at most "
        f"{walk_distance_m:,.0f} m ({speed_kmh:g} km/h × {minutes:g} min). Walking distance = "
        "distance from the home cell to the nearest street + distance along the walking network "
        "+ distance from the network to the station. Cells farther than the snapping limit from "
        "any street are off-network and counted as uncovered."
    )


def network_words(q: NetworkQuality) -> str:
    """Describe the walking network's size and fragmentation in one sentence.

    Parameters
    ----------
    q
        The network quality report.

    Returns
    -------
    text
        Nodes, edges and length, then (when measured) how many separate pieces the raw data
        formed, the largest piece's share, likely small gaps and what was dropped; ends with
        a full stop.
    """
    text = f"{q.n_nodes:,} nodes, {q.n_edges:,} edges, {q.total_length_m / 1000:,.1f} km"
    if q.raw_n_components:
        text += (
            f"; the data fell into {q.raw_n_components:,} separate pieces"
            + (
                f", the largest holding {100 * q.raw_largest_length_share:.1f} % of the "
                "street length"
                if q.raw_largest_length_share is not None
                else ""
            )
            + (
                f" ({q.raw_likely_gaps:,} likely gaps of ≤ {q.gap_m:g} m)"
                if q.raw_likely_gaps
                else ""
            )
        )
        if q.reduced_to_largest:
            text += f"; only the largest was kept ({q.dropped_length_m / 1000:,.1f} km dropped)"
    return text + "."


#: Each reading of the network (see :mod:`skillcircle.access.network_sensitivity`): how the
#: sentence names it, and its short name in the per-街道 figures. The ``bridged`` sentence
#: words carry the gap count and length, so they are written where they are used.
_READINGS = {
    "main": ("on the main street network 主路网", "main"),
    "all_pieces": ("keeping every cut-off piece 保留全部断开路段", "every piece"),
    "bridged": ("", "gaps joined"),
}


def network_sensitivity_lines(s: Summary) -> list[str]:
    """Say how the headline coverage depends on the network's gaps, in plain text.

    Parameters
    ----------
    s
        An analysis summary.

    Returns
    -------
    lines
        Empty when the sensitivity was not measured; else one sentence with the coverage on
        each reading of the network, the headline's marked ("45.2 % on the main street
        network (the headline); 37.2 % keeping every cut-off piece; 48.2 % if the 141 gaps
        under 15 m are real connections"), then, when some 街道 (districts without 街道)
        differ by more than the threshold, a sentence naming them with their coverage on
        each reading, widest spread first. Names are data: escape them for the medium.

    Examples
    --------
    >>> from skillcircle.access.network_sensitivity import AreaSensitivity, NetworkSensitivity
    >>> from types import SimpleNamespace
    >>> pct = {"main": 45.23, "all_pieces": 37.18, "bridged": 48.24}
    >>> area = AreaSensitivity(code="1", name="流花街道", population=27_890.0,
    ...                        coverage_pct={"main": 22.2, "all_pieces": 21.2, "bridged": 46.9})
    >>> ns = NetworkSensitivity(headline="main", gap_m=15.0, links=141, coverage_pct=pct,
    ...                         covered_population={}, by_district=(), by_subdistrict=(area,))
    >>> for line in network_sensitivity_lines(SimpleNamespace(network_sensitivity=ns)):
    ...     print(line)
    路网敏感性 Network sensitivity: 45.2 % on the main street network 主路网 (the headline); 37.2 % keeping every cut-off piece 保留全部断开路段; 48.2 % if the 141 gaps under 15 m are real connections 若 15 米内断口实为连通.
    街道 differing by more than 5 points 差异超过 5 个百分点 (main / every piece / gaps joined): 流花街道 22 / 21 / 47 %.
    """  # noqa: E501
    ns = s.network_sensitivity
    if ns is None:
        return []
    parts = []
    for key, pct in ns.coverage_pct.items():
        if key == "bridged":
            words = (
                f"if the {ns.links:,} gaps under {ns.gap_m:g} m are real connections "
                f"若 {ns.gap_m:g} 米内断口实为连通"
            )
        else:
            words = _READINGS.get(key, (key, key))[0]
        parts.append(f"{pct:.1f} % {words}" + (" (the headline)" if key == ns.headline else ""))
    lines = ["路网敏感性 Network sensitivity: " + "; ".join(parts) + "."]
    differing = ns.differing
    if differing:
        what = "街道" if ns.by_subdistrict is not None else "Districts 区"
        order = " / ".join(_READINGS.get(k, (k, k))[1] for k in ns.coverage_pct)
        named = ", ".join(
            f"{a.name} " + " / ".join(f"{v:.0f}" for v in a.coverage_pct.values()) + " %"
            for a in differing
        )
        lines.append(
            f"{what} differing by more than {ns.threshold_pp:g} points 差异超过 "
            f"{ns.threshold_pp:g} 个百分点 ({order}): {named}."
        )
    return lines


def access_lines(s: Summary) -> list[str]:
    """Say how much training capacity the demand group can reach, in plain text.

    Parameters
    ----------
    s
        An analysis summary.

    Returns
    -------
    lines
        Empty when no station has a capacity; else the group's coverage and its trainings
        per 1 000 residents within reach (with the method), the 街道 with the least and the
        most of it, how many stations took the default capacity or have none, and the
        over-subscribed stations by name. Names are data: escape them for the medium.
    """
    a = s.access
    if a is None:
        return []
    method = {"2sfca": "2SFCA", "e2sfca": "E2SFCA"}.get(a.method, a.method)
    lines = [
        f"培训供给可达性 Training capacity within reach ({method}, {a.group_label}): "
        f"{a.group_covered_population:,.0f} of {a.group_population:,.0f} "
        f"({a.group_coverage_pct:.1f} %) within the walk; the stations' {a.total_capacity:,.0f} "
        f"trainings a year give {a.per_1000:.1f} per 1 000 residents within reach."
    ]
    if a.stations_default_capacity:
        lines.append(
            f"{a.stations_default_capacity} station(s) give no capacity (容量) in the ledger "
            f"and count {a.default_capacity:,.0f} trainings a year (the default capacity)."
        )
    if a.stations_without_capacity:
        lines.append(
            f"{a.stations_without_capacity} station(s) give no capacity (容量) in the ledger and "
            "count 0: give a default capacity to count them."
        )
    areas = [x for x in a.by_subdistrict or () if x.group_population > 0]
    if len(areas) >= 2:
        ranked = sorted(areas, key=lambda x: (x.per_1000, x.name))
        low = ", ".join(f"{x.name} {x.per_1000:.1f}" for x in ranked[:3])
        high = ranked[-1]
        lines.append(
            f"街道可达性 By sub-district, trainings a year per 1 000 residents within reach: "
            f"lowest {low}; highest {high.name} {high.per_1000:.1f} "
            f"(all {len(areas)}: workbook sheet 可达性, map layer 可达性)."
        )
    if a.oversubscribed:
        lines.append(
            f"超额 Over-subscribed ({len(a.oversubscribed)}): more trainings are wanted within "
            f"their walk than they offer, at {a.participation_rate:.4f} trainings per resident a "
            f"year: {', '.join(a.oversubscribed)}."
        )
    return lines


def fragment_line(s: Summary) -> list[str]:
    """Build the Markdown line on residents nearest a cut-off piece of the network.

    Parameters
    ----------
    s
        An analysis summary.

    Returns
    -------
    lines
        One Markdown bullet with the count and share of those residents, or an empty list
        when ``fragment_population`` is ``None`` or zero.
    """
    frag = s.fragment_population
    if not frag:
        return []
    pct = 100 * frag / s.population if s.population else 0.0
    return [
        f"- Residents whose nearest street is on a piece cut off from the main network "
        f"(incomplete OSM data): {frag:,.0f} ({pct:.1f} %)"
    ]


def plan_words(s: Summary) -> str:
    """Describe a siting plan's gain and its optimality certificate in plain words.

    Parameters
    ----------
    s
        The plan's summary (:attr:`skillcircle.siting.suggest.Plan.summary`).

    Returns
    -------
    text
        A paragraph: sites added, coverage before and after, the upper bound on what any plan
        of that size could cover, the gap to it, and what the swap pass improved.

    Raises
    ------
    InputError
        When ``s`` has no plan section.
    """
    p = s.plan
    if p is None:
        raise InputError("the summary has no plan section (plan is None)", field="plan")
    gain = (
        f"Adding {p.added_sites} sites (chosen among {p.candidates:,} candidates) raises "
        f"coverage from {s.coverage_pct:.2f} % to {p.coverage_pct_after:.2f} % "
        f"({p.covered_population_after - s.covered_population:,.0f} more residents "
        f"within the walk). "
    )
    gain += _target_words(p)
    if p.cut_short:
        gain += f"Plan cut short / 站点数不足: {p.cut_short}. "
    if p.objective == "capacitated":
        return gain + _served_words(p)
    if p.plan_method == "milp-optimal":
        return gain + (
            "This plan is optimal (proven) / 最优方案（已证明）: the exact model (HiGHS MILP) "
            "was solved to optimality, so no plan with the same number of sites and the same "
            "rules covers more residents (gap 0 %). Sites are listed in the order each adds "
            "most to those before it."
        )
    source = (
        "the exact model's best plan within its time limit, better than greedy + swap"
        if p.plan_method == "milp"
        else f"greedy + swap ({p.swaps} swap(s) improved the greedy pass)"
    )
    return gain + (
        f"No plan with the same number of sites and the same rules can "
        f"cover more than {p.upper_bound_covered_population:,.0f} residents "
        f"({p.bound_method} bound), so this plan is within {p.optimality_gap_pct:.2f} % of the "
        f"best possible. The plan comes from {source}."
    )


def _served_words(p: PlanFigures) -> str:
    """The capacitated plan's sentences: trainings served, the bound, how the plan was made."""
    served = p.served_demand or 0.0
    base = p.base_served_demand or 0.0
    total = p.total_demand or 0.0
    share = f" of the {total:,.0f} wanted" if total > 0 else ""
    per_site = f"{p.capacity_per_site:,.0f}" if p.capacity_per_site else "?"
    text = (
        f"Sites were chosen by demand served / 按服务人次选址: each station trains at most its "
        f"capacity (new sites {per_site} a year) and serves residents only within the walk. "
        f"The stations serve {base:,.0f} trainings a year today and {served:,.0f} with the "
        f"plan{share} (+{served - base:,.0f}). "
    )
    if not p.capacity_binds:
        return text + (
            "No station's capacity is below the demand within its walk, so this is the coverage "
            f"plan weighted by demand, within {p.optimality_gap_pct:.2f} % of the best possible "
            f"({p.bound_method} bound)."
        )
    if p.bound_method == "milp-optimal":
        return text + (
            "This plan is optimal (proven) / 最优方案（已证明）: the exact model (HiGHS MILP) "
            "was solved, so no plan with the same number of sites and rules serves more."
        )
    if p.bound_method == "capacity":
        return text + (
            "This plan is optimal (proven) / 最优方案（已证明）: every new site is filled to its "
            "capacity (or all the demand within reach is served), so no plan with as many "
            "sites can serve more."
        )
    bound = p.upper_bound_served_demand
    made = {
        "milp": "the exact model's best plan within its time limit, better than the greedy",
        "greedy+swap": "the lazy greedy on demand served, improved by swapping sites",
    }.get(p.plan_method, "the lazy greedy on demand served")
    return text + (
        f"No plan with the same number of sites and the same rules can serve more than "
        f"{bound or 0.0:,.0f} trainings a year ({p.bound_method} bound), so this plan is within "
        f"{p.optimality_gap_pct:.2f} % of the best possible. The plan comes from {made}."
    )


def _target_words(p: PlanFigures) -> str:
    """The coverage target's sentence: sites needed and their proven least number."""
    if p.target_coverage_pct is None:
        return ""
    n, lb, target = p.added_sites, p.sites_lower_bound, p.target_coverage_pct
    if lb is None:
        proof = ""
    elif lb >= n:
        proof = f"; no plan with {n - 1} can reach it" if n > 0 else ""
    else:
        proof = f"; at least {lb} are needed (proven)"
    if p.target_reached:
        return f"Target {target:g} % / 目标覆盖率: {n} sites reach it{proof}. "
    return (
        f"Target {target:g} % cannot be reached / 目标无法达到: with every candidate built "
        f"coverage is at most {p.max_reachable_coverage_pct:.2f} %; this plan reaches that "
        f"maximum with {n} sites, none adding nobody"
        + (f" (at least {lb} are needed for it)" if lb is not None else "")
        + ". "
    )


def summary_rows(s: Summary) -> list[tuple[str, str]]:
    """List the headline figures as (label, value) pairs for a console table.

    Parameters
    ----------
    s
        An analysis or plan summary (:attr:`skillcircle.access.analysis.Analysis.summary`).

    Returns
    -------
    rows : list of tuple
        Seven ``(label, formatted value)`` pairs: residents, covered, coverage, off-network,
        stations, walk distance and population model.
    """
    return [
        ("居民 Residents", f"{s.population:,.0f}"),
        ("步行可达 Covered", f"{s.covered_population:,.0f}"),
        ("覆盖率 Coverage", f"{s.coverage_pct:.1f} %"),
        ("离路网过远 Far from streets", f"{s.offnetwork_population:,.0f}"),
        ("站点 Stations", str(s.stations)),
        ("步行距离 Walk distance", f"{s.walk_distance_m:,.0f} m"),
        ("人口模型 Population model", s.population_model),
    ]
