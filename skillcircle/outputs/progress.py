"""Programme progress outputs: ``progress_by_district.csv``, ``progress.xlsx``, ``progress.html``.

Written all or nothing through :class:`~skillcircle.outputs.folder.RunFolder`; the page holds
PNG charts (matplotlib) inline and is laid out for A4 printing.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skillcircle._errors import InputError
from skillcircle._escaping import neutralise_frame
from skillcircle.access.progress import ProgressCoverage
from skillcircle.inputs.groups import demand_group
from skillcircle.inputs.targets import Targets, status_text
from skillcircle.inputs.trainings import Trainings
from skillcircle.outputs import schema
from skillcircle.outputs.folder import RunFolder

__all__ = ["city_table", "progress_table", "status_table", "write_progress"]

logger = logging.getLogger(__name__)

_HEADERS_ZH = {
    "district_code": "区划代码 district code",
    "district_name": "区 district",
    "year": "年份 year",
    "stations": "站点数 stations",
    "stations_target": "站点目标 stations target",
    "trainings": "培训人次 trainings",
    "trainings_cumulative": "累计培训人次 cumulative trainings",
    "coverage_pct": "15分钟覆盖率 coverage %",
    "stations_status": "站点进度 stations status",
    "trainings_target": "累计培训目标 cumulative trainings target",
    "trainings_status": "培训进度 trainings status",
    "population": "常住人口 residents",
    "covered_population": "覆盖人口 covered residents",
    "residents": "常住人口 residents",
    "period": "季度 quarter",
}


def _training_codes(trainings: Trainings, stations: pd.DataFrame, areas: pd.DataFrame) -> list[str]:
    """District code of each training row: its station's, or its district name's."""
    rows = trainings.rows
    code_of_station = dict(
        zip(stations["name"], stations["district_code"].astype(str), strict=True)
    )
    code_of_name = dict(zip(areas["district_name"], areas["district_code"], strict=False))
    codes = [
        code_of_station.get(s, "") if s else code_of_name.get(d, "")
        for s, d in zip(rows["station"], rows["district"], strict=True)
    ]
    unplaced = sum(1 for c in codes if not c)
    if unplaced:
        logger.warning("%d training row(s) name a district outside the study", unplaced)
    return codes


def progress_table(
    coverage: ProgressCoverage,
    *,
    stations: pd.DataFrame,
    trainings: Trainings | None = None,
    targets: Targets | None = None,
) -> pd.DataFrame:
    """One row per district × year end, the columns of ``progress_by_district.csv``.

    Parameters
    ----------
    coverage
        Coverage at each year end.
    stations
        The station ledger's stations (``name``, ``district_code``), to place station-level
        training rows in their district.
    trainings
        The training ledger, if any; district-level rows are placed by district name.
    targets
        Targets per district and year, if any; ``stations_target`` is empty otherwise.

    Returns
    -------
    pandas.DataFrame
    """
    t = coverage.by_district[["district_code", "district_name", "year", "stations", "coverage_pct"]]
    t = t.copy()
    t["trainings"] = 0
    if trainings is not None and len(trainings.rows):
        rows = trainings.rows
        codes = _training_codes(trainings, stations, t)
        per = pd.DataFrame({"district_code": codes, "year": rows["year"], "n": rows["trainings"]})
        sums = per.groupby(["district_code", "year"])["n"].sum()
        t["trainings"] = [
            int(sums.get((c, y), 0)) for c, y in zip(t["district_code"], t["year"], strict=True)
        ]
    t = t.sort_values(["district_code", "year"], kind="stable").reset_index(drop=True)
    t["trainings_cumulative"] = t.groupby("district_code")["trainings"].cumsum()
    if trainings is not None and len(trainings.rows) and len(t):
        # rows dated before the first year end count in the first cumulative figure
        first = int(t["year"].min())
        early = per[per["year"] < first].groupby("district_code")["n"].sum()
        t["trainings_cumulative"] += [int(early.get(c, 0)) for c in t["district_code"]]
    t["stations_target"] = np.nan
    if targets is not None and len(targets.by_district):
        goal = targets.by_district.set_index(["district_code", "year"])["stations"]
        t["stations_target"] = [
            goal.get((str(c), int(y)), np.nan)
            for c, y in zip(t["district_code"], t["year"], strict=True)
        ]
    t["coverage_pct"] = t["coverage_pct"].round(2)
    return t[list(schema.PROGRESS_COLUMNS)]


def status_table(table: pd.DataFrame, targets: Targets | None) -> pd.DataFrame:
    """Status per district and year: stations and cumulative trainings against the targets.

    Parameters
    ----------
    table
        :func:`progress_table`.
    targets
        The targets (file or profile), or ``None``.

    Returns
    -------
    pandas.DataFrame
        ``district_code, district_name, year, stations, stations_target, stations_status,
        trainings_cumulative, trainings_target, trainings_status``; a status is
        ``达标 met``, ``差 N behind by N`` or empty without a target.
    """
    keep = ["district_code", "district_name", "year", "stations", "stations_target"]
    t = table[[*keep, "trainings_cumulative"]].copy()
    t["trainings_target"] = np.nan
    if targets is not None and len(targets.by_district):
        goal = targets.by_district.set_index(["district_code", "year"])["trainings"]
        t["trainings_target"] = [
            goal.get((str(c), int(y)), np.nan)
            for c, y in zip(t["district_code"], t["year"], strict=True)
        ]
    t["stations_status"] = [
        status_text(a, g) for a, g in zip(t["stations"], t["stations_target"], strict=True)
    ]
    t["trainings_status"] = [
        status_text(a, g)
        for a, g in zip(t["trainings_cumulative"], t["trainings_target"], strict=True)
    ]
    return t[list(_STATUS_COLUMNS)]


_STATUS_COLUMNS = (
    "district_code",
    "district_name",
    "year",
    "stations",
    "stations_target",
    "stations_status",
    "trainings_cumulative",
    "trainings_target",
    "trainings_status",
)


def city_table(
    coverage: ProgressCoverage, table: pd.DataFrame, targets: Targets | None
) -> pd.DataFrame:
    """The whole study per year end: stations, trainings, coverage and status.

    Parameters
    ----------
    coverage
        Coverage at each year end.
    table
        :func:`progress_table`.
    targets
        The targets (file or profile), or ``None``.

    Returns
    -------
    pandas.DataFrame
        ``year, stations, stations_target, stations_status, trainings,
        trainings_cumulative, trainings_target, trainings_status, population,
        covered_population, coverage_pct``.
    """
    totals = coverage.totals[coverage.totals["year"].isin(table["year"])]
    t = totals[["year", "stations", "population", "covered_population", "coverage_pct"]].copy()
    per_year = table.groupby("year")[["trainings", "trainings_cumulative"]].sum()
    t["trainings"] = [int(per_year["trainings"].get(y, 0)) for y in t["year"]]
    t["trainings_cumulative"] = [int(per_year["trainings_cumulative"].get(y, 0)) for y in t["year"]]
    t["stations_target"] = np.nan
    t["trainings_target"] = np.nan
    if targets is not None and len(targets.city):
        goal = targets.city.set_index("year")
        t["stations_target"] = [goal["stations"].get(y, np.nan) for y in t["year"]]
        t["trainings_target"] = [goal["trainings"].get(y, np.nan) for y in t["year"]]
    t["stations_status"] = [
        status_text(a, g) for a, g in zip(t["stations"], t["stations_target"], strict=True)
    ]
    t["trainings_status"] = [
        status_text(a, g)
        for a, g in zip(t["trainings_cumulative"], t["trainings_target"], strict=True)
    ]
    t["coverage_pct"] = t["coverage_pct"].round(2)
    t["population"] = t["population"].round(0)
    t["covered_population"] = t["covered_population"].round(0)
    columns = ["year", "stations", "stations_target", "stations_status", "trainings"]
    columns += ["trainings_cumulative", "trainings_target", "trainings_status"]
    columns += ["population", "covered_population", "coverage_pct"]
    return t[columns].reset_index(drop=True)


#: Training types in the order of the programme's list; others follow as written.
TRAINING_TYPES = ("技能提升", "学徒制", "项目制", "岗前", "公益性", "创业指导", "生活服务类")
_NO_TYPE = "未填 unspecified"
#: Header of the per-resident rate over residents of every age.
PER_1000_HEADER = "每千常住人口培训人次 per 1 000 residents (全部年龄 all ages)"
#: Header of the rate over working-age residents (15-59, the city's census share).
PER_1000_WORKING_HEADER = "每千劳动年龄人口培训人次 per 1 000 working-age residents (15-59)"


def type_table(
    coverage: ProgressCoverage,
    table: pd.DataFrame,
    *,
    stations: pd.DataFrame,
    trainings: Trainings | None,
) -> pd.DataFrame:
    """Person-trainings per district × year by training type, and per 1 000 residents.

    Parameters
    ----------
    coverage
        Coverage at each year end (its district populations are the denominators).
    table
        :func:`progress_table`.
    stations
        The station ledger's stations.
    trainings
        The training ledger, or ``None`` (an empty table).

    Returns
    -------
    pandas.DataFrame
        ``district_code, district_name, year``, one column per training type present,
        ``trainings``, ``trainings_cumulative``, ``residents``, ``per_1000`` (cumulative
        person-trainings per 1 000 residents of all ages) and, when the city's census gives a
        working-age share (:func:`~skillcircle.inputs.groups.demand_group`),
        ``per_1000_working_age`` (per 1 000 residents aged 15-59). A last block of rows,
        ``district_name == "合计 total"``, sums the study.
    """
    base = table[["district_code", "district_name", "year"]].copy()
    pop = coverage.by_district.drop_duplicates("district_code").set_index("district_code")[
        "population"
    ]
    if trainings is None or not len(trainings.rows):
        types: list[str] = []
        long = pd.DataFrame({"district_code": [], "year": [], "type": [], "n": []})
    else:
        codes = _training_codes(trainings, stations, table)
        kinds = [k if k else _NO_TYPE for k in trainings.rows["type"]]
        present = set(kinds)
        types = [k for k in TRAINING_TYPES if k in present]
        types += sorted(present - set(types) - {_NO_TYPE})
        types += [_NO_TYPE] if _NO_TYPE in present else []
        long = pd.DataFrame(
            {
                "district_code": codes,
                "year": trainings.rows["year"],
                "type": kinds,
                "n": trainings.rows["trainings"],
            }
        )
    sums = long.groupby(["district_code", "year", "type"])["n"].sum()
    for kind in types:
        base[kind] = [
            int(sums.get((c, y, kind), 0))
            for c, y in zip(base["district_code"], base["year"], strict=True)
        ]
    total = base.groupby("year")[types].sum().reset_index() if types else None
    if total is None:
        total = pd.DataFrame({"year": sorted(base["year"].unique())})
    total.insert(0, "district_name", "合计 total")
    total.insert(0, "district_code", "")
    out = pd.concat([base, total], ignore_index=True)
    out["trainings"] = out[types].sum(axis=1).astype("int64") if types else 0
    cumulative = table.set_index(["district_code", "year"])["trainings_cumulative"]
    city = table.groupby("year")["trainings_cumulative"].sum()
    out["trainings_cumulative"] = [
        int(city.get(y, 0)) if name == "合计 total" else int(cumulative.get((c, y), 0))
        for c, name, y in zip(out["district_code"], out["district_name"], out["year"], strict=True)
    ]
    residents = [
        float(pop.sum()) if name == "合计 total" else float(pop.get(code, np.nan))
        for code, name in zip(out["district_code"], out["district_name"], strict=True)
    ]
    out["residents"] = np.round(residents, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 1000.0 * out["trainings_cumulative"] / out["residents"]
    out["per_1000"] = rate.where(out["residents"] > 0).round(2)
    codes = [str(c) for c in pop.index]
    try:
        working = demand_group("working_age", district_codes=codes)
    except InputError:  # no census age structure for this city: all ages only
        return out
    shares = [
        float(np.average([working.share_of(c) for c in codes], weights=pop.to_numpy()))
        if name == "合计 total" and len(codes)
        else working.share_of(code)
        for code, name in zip(out["district_code"], out["district_name"], strict=True)
    ]
    out["per_1000_working_age"] = (rate / np.asarray(shares)).where(out["residents"] > 0).round(2)
    return out


def quarter_table(
    coverage: ProgressCoverage,
    *,
    stations: pd.DataFrame,
    trainings: Trainings | None,
) -> pd.DataFrame | None:
    """One row per district × quarter end (``--by quarter``), else ``None``.

    Parameters
    ----------
    coverage
        Coverage computed with ``by="quarter"``.
    stations
        The station ledger's stations.
    trainings
        The training ledger, or ``None``.

    Returns
    -------
    pandas.DataFrame or None
        ``district_code, district_name, period, stations, trainings,
        trainings_cumulative, coverage_pct``.
    """
    if coverage.quarterly is None:
        return None
    q = coverage.quarterly
    t = q[["district_code", "district_name", "period", "year", "quarter", "stations"]].copy()
    t["coverage_pct"] = q["coverage_pct"].round(2)
    t["trainings"] = 0
    if trainings is not None and len(trainings.rows):
        codes = _training_codes(trainings, stations, t)
        per = pd.DataFrame(
            {
                "district_code": codes,
                "year": trainings.rows["year"],
                "quarter": trainings.rows["quarter"],
                "n": trainings.rows["trainings"],
            }
        )
        sums = per.groupby(["district_code", "year", "quarter"])["n"].sum()
        t["trainings"] = [
            int(sums.get((c, y, k), 0))
            for c, y, k in zip(t["district_code"], t["year"], t["quarter"], strict=True)
        ]
    t = t.sort_values(["district_code", "year", "quarter"], kind="stable")
    t["trainings_cumulative"] = t.groupby("district_code")["trainings"].cumsum()
    if trainings is not None and len(trainings.rows) and len(t):
        # rows dated before the first quarter end count in the first cumulative figure
        first = int((t["year"] * 4 + t["quarter"]).min())
        early = per[per["year"] * 4 + per["quarter"] < first].groupby("district_code")["n"].sum()
        t["trainings_cumulative"] += [int(early.get(c, 0)) for c in t["district_code"]]
    columns = ["district_code", "district_name", "period", "stations", "trainings"]
    return t[[*columns, "trainings_cumulative", "coverage_pct"]].reset_index(drop=True)


def _quarter_totals(coverage: ProgressCoverage, quarters: pd.DataFrame) -> pd.DataFrame:
    """The quarter table summed over the districts, with the study's coverage."""
    sums = quarters.groupby("period", sort=False)[
        ["stations", "trainings", "trainings_cumulative"]
    ].sum()
    totals = coverage.quarterly_totals
    if totals is None:
        return quarters
    out = totals[["period"]].copy()
    for col in ("stations", "trainings", "trainings_cumulative"):
        out[col] = [int(sums[col].get(p, 0)) for p in out["period"]]
    out["stations"] = totals["stations"].to_numpy()
    out["coverage_pct"] = totals["coverage_pct"].round(2).to_numpy()
    return out.reset_index(drop=True)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


#: Colour of each batch year on the station map (colour-blind safe, Okabe-Ito).
_YEAR_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


def batch_colours(years: Iterable[int]) -> dict[int, str]:
    """Colour of each batch (build) year, in year order.

    Parameters
    ----------
    years
        Build years.

    Returns
    -------
    dict
        Year → hex colour.
    """
    ordered = sorted({int(y) for y in years})
    return {y: _YEAR_COLOURS[i % len(_YEAR_COLOURS)] for i, y in enumerate(ordered)}


def _charts(
    coverage: ProgressCoverage,
    table: pd.DataFrame,
    *,
    targets: Targets | None,
    station_map: tuple[Any, Any | None] | None = None,
) -> list[tuple[str, str]]:
    """(caption, base64 PNG) of each chart; matplotlib's state is left as found."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    out: list[tuple[str, str]] = []
    years = list(coverage.years)
    city = targets.city if targets is not None else None
    goal_st = city.dropna(subset=["stations"]) if city is not None else None
    goal_tr = city.dropna(subset=["trainings"]) if city is not None else None
    with mpl.rc_context({"font.size": 8}):
        fig = Figure(figsize=(6.5, 2.1))
        ax = fig.subplots()
        ax.bar(years, coverage.totals["stations"], color="#3b7dd8", label="stations")
        if goal_st is not None and len(goal_st):
            ax.plot(goal_st["year"], goal_st["stations"], "r--o", label="target")
        ax.set_xticks(years)
        ax.set_ylabel("stations")
        ax.legend()
        out.append(("站点数与目标 Stations vs target", _png(fig)))

        fig = Figure(figsize=(6.5, 2.1))
        ax = fig.subplots()
        cumulative = table.groupby("year")["trainings"].sum().cumsum()
        ax.plot(cumulative.index, cumulative.to_numpy(), "-o", label="cumulative trainings")
        if goal_tr is not None and len(goal_tr):
            ax.plot(goal_tr["year"], goal_tr["trainings"], "r--o", label="target")
        ax.set_xticks(years)
        ax.legend()
        out.append(("累计培训人次 Cumulative person-trainings", _png(fig)))

        fig = Figure(figsize=(6.5, 2.1))
        ax = fig.subplots()
        # labelled by district code: matplotlib's default font has no Chinese glyphs
        for code, rows in table.groupby("district_code"):
            ax.plot(rows["year"], rows["coverage_pct"], "-o", label=str(code) or "(none)")
        ax.set_xticks(years)
        ax.set_ylim(0, 100)
        ax.set_ylabel("coverage %")
        ax.legend(fontsize=6, ncol=4)
        out.append(("各区覆盖率 Coverage by district (区划代码 district code)", _png(fig)))

        if station_map is not None:
            points, areas = station_map
            fig = Figure(figsize=(6.5, 3.0))
            ax = fig.subplots()
            if areas is not None and len(areas):
                areas.boundary.plot(ax=ax, color="#888888", linewidth=0.6)
            colours = batch_colours(points["batch_year"])
            for year, colour in colours.items():
                sel = points[points["batch_year"] == year]
                ax.scatter(
                    sel.geometry.x,
                    sel.geometry.y,
                    s=14,
                    color=colour,
                    edgecolor="black",
                    linewidth=0.3,
                    label=f"{year} ({len(sel)})",
                )
            ax.set_aspect("equal")
            ax.set_axis_off()
            ax.legend(title="batch year", fontsize=6, loc="best")
            out.append(("站点建成批次 Stations by batch (build) year", _png(fig)))
    return out


def _cell_text(column: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if pd.isna(value):
        return ""
    if column in ("coverage_pct", "per_1000", "per_1000_working_age"):
        return f"{value:.1f}"
    if column in ("district_code", "district_name", "year", "period"):
        return str(value)
    return f"{value:,.0f}"


def _header(column: str) -> str:
    if column == "per_1000":
        return PER_1000_HEADER
    if column == "per_1000_working_age":
        return PER_1000_WORKING_HEADER
    return _HEADERS_ZH.get(column, column)


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(_header(str(c)))}</th>" for c in table.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_cell_text(str(k), v))}</td>" for k, v in row.items())
        + "</tr>"
        for _, row in table.iterrows()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _page(
    sections: Sequence[tuple[str, pd.DataFrame]],
    charts: Iterable[tuple[str, str]],
    missing: dict[int, tuple[str, ...]],
    *,
    notes: Sequence[str] = (),
) -> str:
    figs = "".join(
        f'<figure><img alt="{html.escape(c)}" src="data:image/png;base64,{b}">'
        f"<figcaption>{html.escape(c)}</figcaption></figure>"
        for c, b in charts
    )
    gaps = "".join(
        f"<li>{y}: {html.escape('、'.join(names))}</li>" for y, names in missing.items() if names
    )
    tables = "".join(
        f"<h2>{html.escape(title)}</h2>{_html_table(frame)}" for title, frame in sections
    )
    note = "".join(f"<p class=note>{html.escape(n)}</p>" for n in notes)
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        "<title>进展 Progress</title><style>@page{size:A4;margin:12mm}"
        "body{font-family:sans-serif;font-size:9pt}img{width:100%}"
        "h1{font-size:14pt;margin:0 0 2mm}h2{font-size:11pt;margin:3mm 0 1mm}"
        "figure{margin:0 0 2mm;break-inside:avoid}figcaption{font-size:8pt}"
        "table{border-collapse:collapse;font-size:7pt;max-width:100%}"
        "tr{break-inside:avoid}td,th{border:1px solid #999;padding:0 3px}"
        ".note{font-size:7.5pt;color:#444;margin:1mm 0}</style></head><body>"
        "<h1>项目进展 Programme progress</h1>"
        f"{note}{figs}"
        + (f"<h2>无站点的区 Districts with no station</h2><ul>{gaps}</ul>" if gaps else "")
        + tables
        + "</body></html>"
    )


#: The workbook's sheets: name → (table key, Chinese headers).
_SHEET_NAMES = {
    "city": "全市 total",
    "district": "分区分年 by district",
    "status": "进度 status",
    "types": "培训类型 by type",
    "quarter": "分季度 by quarter",
}


def _zh(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: _header(str(c)) for c in frame.columns})


def write_progress(
    out_dir: str | os.PathLike[str],
    coverage: ProgressCoverage,
    table: pd.DataFrame,
    *,
    targets: Targets | None = None,
    stations: Any = None,
    trainings: Trainings | None = None,
    areas: Any = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the progress files into ``out_dir``, all or nothing.

    Parameters
    ----------
    out_dir
        The output folder.
    coverage
        Coverage at each year (and quarter) end.
    table
        :func:`progress_table`.
    targets
        The targets (file or profile): status columns and the target lines of the charts.
    stations
        The stations (GeoDataFrame with a ``batch_year`` column), for the map layer
        ``progress_stations.geojson`` and the map chart; none without.
    trainings
        The training ledger, for the totals by type.
    areas
        District polygons drawn under the station map, optional.
    inputs
        Input paths (none may lie in ``out_dir``).
    overwrite
        Replace files the tool did not write.

    Returns
    -------
    dict
        File name → path written.
    """
    run = RunFolder(out_dir, names=schema.PROGRESS_FILES, inputs=inputs, overwrite=overwrite)
    run.check()
    ledger = stations if stations is not None else pd.DataFrame({"name": [], "district_code": []})
    city = city_table(coverage, table, targets)
    status = status_table(table, targets)
    types = type_table(coverage, table, stations=ledger, trainings=trainings)
    quarters = quarter_table(coverage, stations=ledger, trainings=trainings)
    staging = run.stage()
    try:
        csv = staging / schema.PROGRESS_BY_DISTRICT_CSV
        neutralise_frame(table).to_csv(csv, index=False, encoding="utf-8-sig")
        sheets = {"city": city, "district": table, "status": status, "types": types}
        if quarters is not None:
            sheets["quarter"] = quarters
        with pd.ExcelWriter(staging / schema.PROGRESS_XLSX) as xl:
            for key, frame in sheets.items():
                neutralise_frame(_zh(frame)).to_excel(xl, sheet_name=_SHEET_NAMES[key], index=False)
        station_map = None
        if stations is not None and "batch_year" in getattr(stations, "columns", ()):
            layer = stations[["name", "district_code", "batch_year", "geometry"]].copy()
            colours = batch_colours(layer["batch_year"])
            layer["batch_colour"] = [colours[int(y)] for y in layer["batch_year"]]
            layer["marker-color"] = layer["batch_colour"]  # simplestyle: coloured in viewers
            layer.to_crs("EPSG:4326").to_file(
                staging / schema.PROGRESS_STATIONS_GEOJSON, driver="GeoJSON", engine="pyogrio"
            )
            station_map = (
                layer.to_crs(stations.crs),
                areas.to_crs(stations.crs) if areas is not None else None,
            )
        charts = _charts(coverage, table, targets=targets, station_map=station_map)
        notes = []
        if targets is not None and targets.source == "profile":
            city_goals = bool(targets.city[["stations", "trainings"]].notna().any().any())
            notes.append(
                "目标来自城市配置 Targets from the city profile: every district ≥ 1 station "
                "from the first-batch year"
                + (
                    "; city-wide station and person-training targets."
                    if city_goals
                    else "; the city-wide targets apply to the whole city only, not to this "
                    "part of it."
                )
            )
        if targets is not None and targets.source == "file":
            notes.append("目标来自目标文件 Targets from the targets file.")
        # the page keeps to totals where the workbook has every district (A4, ≤ 3 pages)
        sections = [
            ("全市分年 Whole study by year", city),
            ("分区进度 Status by district and year", status),
            (
                "培训类型（全部区合计）Trainings by type, all districts (per district: xlsx)",
                types[types["district_name"] == "合计 total"].drop(
                    columns=["district_code", "district_name"]
                ),
            ),
        ]
        if quarters is not None:
            sections.append(
                (
                    "分季度（全部区合计）By quarter, all districts (per district: xlsx)",
                    _quarter_totals(coverage, quarters),
                )
            )
        page = _page(
            sections,
            charts,
            coverage.districts_without_station,
            notes=notes,
        )
        (staging / schema.PROGRESS_HTML).write_text(page, encoding="utf-8")
        run.commit()
    except BaseException:
        run.abort()
        raise
    return {
        name: run.target / name for name in schema.PROGRESS_FILES if (run.target / name).is_file()
    }


def run_progress(
    study: Any,
    out_dir: str | os.PathLike[str],
    *,
    trainings: str | os.PathLike[str] | None = None,
    targets: str | os.PathLike[str] | None = None,
    by: str | None = None,
    overwrite: bool = False,
    progress: Any = None,
) -> tuple[ProgressCoverage, pd.DataFrame]:
    """Programme progress of a study: load once, coverage per period end, write the files.

    Parameters
    ----------
    study
        The :class:`~skillcircle.study.Study` (its station ledger needs build years).
    out_dir
        The output folder.
    trainings
        The training ledger (CSV/XLSX); default the study's ``trainings``.
    targets
        A targets file (district, year, stations, trainings) replacing the city profile's
        targets; default the study's ``targets``.
    by
        ``"year"`` or ``"quarter"`` (adds the quarter ends); default the study's
        ``progress_by``.
    overwrite
        Replace files the tool did not write.
    progress
        Progress hook (:data:`~skillcircle.access.analysis.Progress`).

    Returns
    -------
    tuple
        The coverage per year end and the ``progress_by_district.csv`` table.
    """
    from skillcircle.access.analysis import load_inputs, log_step
    from skillcircle.access.progress import PERIODS, build_years, progress_coverage
    from skillcircle.inputs.targets import profile_targets, read_targets
    from skillcircle.inputs.trainings import read_trainings
    from skillcircle.profiles import profile_for
    from skillcircle.siting.suggest import city_phases

    trainings = trainings if trainings is not None else getattr(study, "trainings", None)
    targets = targets if targets is not None else getattr(study, "targets", None)
    by = by if by is not None else getattr(study, "progress_by", "year")
    if by not in PERIODS:
        raise InputError(
            f"progress_by must be one of {', '.join(PERIODS)}, got {by!r}", param="progress_by"
        )
    step = progress or log_step
    extra = [Path(p) for p in (trainings, targets) if p]
    inputs_paths = list(dict.fromkeys([*study.input_paths(), *extra]))
    RunFolder(
        out_dir, names=schema.PROGRESS_FILES, inputs=inputs_paths, overwrite=overwrite
    ).check()
    inputs = load_inputs(study, progress=step)
    stations = inputs.stations.stations
    ledger = read_trainings(trainings, station_names=list(stations["name"])) if trainings else None
    built = build_years(stations)
    districts = (
        dict(
            zip(
                inputs.districts["district_code"].astype(str),
                inputs.districts["district_name"].astype(str),
                strict=True,
            )
        )
        if inputs.districts is not None
        else {}
    )
    profile = profile_for(list(districts)) if districts else None
    goal_file = read_targets(targets, districts=districts) if targets else None
    phases = profile.phases if profile is not None else ()
    last = max([int(built.max()), *(y for y, _ in phases)])
    if goal_file is not None and len(goal_file.by_district):
        last = max(last, int(goal_file.by_district["year"].max()))
    years = tuple(range(int(built.min()), last + 1))
    with step("Coverage at each period end"):
        cov = progress_coverage(inputs, years=years, by=by)
    goals = goal_file or profile_targets(
        profile,
        district_codes=list(districts),
        years=cov.years,
        whole_city=city_phases(districts) is not None,
    )
    table = progress_table(cov, stations=stations, trainings=ledger, targets=goals)
    with step(f"Writing {out_dir}"):
        write_progress(
            out_dir,
            cov,
            table,
            targets=goals,
            stations=stations.assign(batch_year=built),
            trainings=ledger,
            areas=inputs.districts,
            inputs=inputs_paths,
            overwrite=overwrite,
        )
    return cov, table
