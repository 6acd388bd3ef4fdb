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

from skillcircle._escaping import neutralise_frame
from skillcircle.access.progress import ProgressCoverage
from skillcircle.inputs.trainings import Trainings
from skillcircle.outputs import schema
from skillcircle.outputs.folder import RunFolder

__all__ = ["progress_table", "write_progress"]

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
}


def progress_table(
    coverage: ProgressCoverage,
    *,
    stations: pd.DataFrame,
    trainings: Trainings | None = None,
    targets: pd.DataFrame | None = None,
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
        Station targets per district (``district_code``, ``year``, ``stations``), if any;
        ``stations_target`` is empty otherwise.

    Returns
    -------
    pandas.DataFrame
    """
    t = coverage.by_district[["district_code", "district_name", "year", "stations", "coverage_pct"]]
    t = t.copy()
    t["trainings"] = 0
    if trainings is not None and len(trainings.rows):
        rows = trainings.rows
        code_of_station = dict(
            zip(stations["name"], stations["district_code"].astype(str), strict=True)
        )
        code_of_name = dict(zip(t["district_name"], t["district_code"], strict=False))
        codes = [
            code_of_station.get(s, "") if s else code_of_name.get(d, "")
            for s, d in zip(rows["station"], rows["district"], strict=True)
        ]
        unplaced = sum(1 for c in codes if not c)
        if unplaced:
            logger.warning("%d training row(s) name a district outside the study", unplaced)
        per = pd.DataFrame({"district_code": codes, "year": rows["year"], "n": rows["trainings"]})
        sums = per.groupby(["district_code", "year"])["n"].sum()
        t["trainings"] = [
            int(sums.get((c, y), 0)) for c, y in zip(t["district_code"], t["year"], strict=True)
        ]
    t = t.sort_values(["district_code", "year"], kind="stable").reset_index(drop=True)
    t["trainings_cumulative"] = t.groupby("district_code")["trainings"].cumsum()
    t["stations_target"] = np.nan
    if targets is not None:
        goal = targets.set_index(["district_code", "year"])["stations"]
        t["stations_target"] = [
            goal.get((c, y), np.nan) for c, y in zip(t["district_code"], t["year"], strict=True)
        ]
    t["coverage_pct"] = t["coverage_pct"].round(2)
    return t[list(schema.PROGRESS_COLUMNS)]


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _charts(
    coverage: ProgressCoverage,
    table: pd.DataFrame,
    *,
    phases: Sequence[tuple[int, int]],
    trainings_target: int | None,
) -> list[tuple[str, str]]:
    """(caption, base64 PNG) of each chart; matplotlib's state is left as found."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    out: list[tuple[str, str]] = []
    years = list(coverage.years)
    with mpl.rc_context({"font.size": 8}):
        fig = Figure(figsize=(6.5, 2.4))
        ax = fig.subplots()
        ax.bar(years, coverage.totals["stations"], color="#3b7dd8", label="stations")
        if phases:
            ax.plot([y for y, _ in phases], [n for _, n in phases], "r--o", label="target")
        ax.set_xticks(years)
        ax.set_ylabel("stations")
        ax.legend()
        out.append(("站点数与目标 Stations vs target", _png(fig)))

        fig = Figure(figsize=(6.5, 2.4))
        ax = fig.subplots()
        cumulative = table.groupby("year")["trainings"].sum().cumsum()
        ax.plot(cumulative.index, cumulative.to_numpy(), "-o", label="cumulative trainings")
        if trainings_target:
            ax.axhline(trainings_target, color="r", ls="--", label="target")
        ax.set_xticks(years)
        ax.legend()
        out.append(("累计培训人次 Cumulative person-trainings", _png(fig)))

        fig = Figure(figsize=(6.5, 2.4))
        ax = fig.subplots()
        # labelled by district code: matplotlib's default font has no Chinese glyphs
        for code, rows in table.groupby("district_code"):
            ax.plot(rows["year"], rows["coverage_pct"], "-o", label=str(code) or "(none)")
        ax.set_xticks(years)
        ax.set_ylim(0, 100)
        ax.set_ylabel("coverage %")
        ax.legend(fontsize=6, ncol=4)
        out.append(("各区覆盖率 Coverage by district (区划代码 district code)", _png(fig)))
    return out


def _cell_text(column: str, value: Any) -> str:
    if pd.isna(value):
        return ""
    if column == "coverage_pct":
        return f"{value:.1f}"
    if column in ("district_code", "district_name", "year"):
        return str(value)
    return f"{value:,.0f}"


def _page(
    table: pd.DataFrame, charts: Iterable[tuple[str, str]], missing: dict[int, tuple[str, ...]]
) -> str:
    head = "".join(f"<th>{html.escape(_HEADERS_ZH[c])}</th>" for c in table.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_cell_text(k, v))}</td>" for k, v in row.items())
        + "</tr>"
        for _, row in table.iterrows()
    )
    figs = "".join(
        f'<figure><img alt="{html.escape(c)}" src="data:image/png;base64,{b}">'
        f"<figcaption>{html.escape(c)}</figcaption></figure>"
        for c, b in charts
    )
    gaps = "".join(
        f"<li>{y}: {html.escape('、'.join(names))}</li>" for y, names in missing.items() if names
    )
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        "<title>进展 Progress</title><style>@page{size:A4;margin:12mm}"
        "body{font-family:sans-serif;font-size:10pt}img{width:100%}"
        "figure{margin:0 0 4mm;break-inside:avoid}table{border-collapse:collapse;font-size:8pt}"
        "td,th{border:1px solid #999;padding:1px 4px}</style></head><body>"
        "<h1>项目进展 Programme progress</h1>"
        f"{figs}"
        + (f"<h2>无站点的区 Districts with no station</h2><ul>{gaps}</ul>" if gaps else "")
        + f"<h2>分区分年 By district and year</h2><table><tr>{head}</tr>{body}</table>"
        "</body></html>"
    )


def write_progress(
    out_dir: str | os.PathLike[str],
    coverage: ProgressCoverage,
    table: pd.DataFrame,
    *,
    phases: Sequence[tuple[int, int]] = (),
    trainings_target: int | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the progress files into ``out_dir``, all or nothing.

    Parameters
    ----------
    out_dir
        The output folder.
    coverage
        Coverage at each year end.
    table
        :func:`progress_table`.
    phases
        City-wide station targets as (year, stations).
    trainings_target
        City-wide person-trainings target.
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
    staging = run.stage()
    try:
        csv = staging / schema.PROGRESS_BY_DISTRICT_CSV
        neutralise_frame(table).to_csv(csv, index=False, encoding="utf-8-sig")
        with pd.ExcelWriter(staging / schema.PROGRESS_XLSX) as xl:
            neutralise_frame(table.rename(columns=_HEADERS_ZH)).to_excel(
                xl, sheet_name="分区分年", index=False
            )
            coverage.totals.to_excel(xl, sheet_name="全市 total", index=False)
        charts = _charts(coverage, table, phases=phases, trainings_target=trainings_target)
        page = _page(table, charts, coverage.districts_without_station)
        (staging / schema.PROGRESS_HTML).write_text(page, encoding="utf-8")
        run.commit()
    except BaseException:
        run.abort()
        raise
    return {name: run.target / name for name in schema.PROGRESS_FILES}


def run_progress(
    study: Any,
    out_dir: str | os.PathLike[str],
    *,
    trainings: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: Any = None,
) -> tuple[ProgressCoverage, pd.DataFrame]:
    """Programme progress of a study: load once, coverage per year end, write the files.

    Parameters
    ----------
    study
        The :class:`~skillcircle.study.Study` (its station ledger needs build years).
    out_dir
        The output folder.
    trainings
        The training ledger (CSV/XLSX), if any.
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
    from skillcircle.access.progress import build_years, progress_coverage
    from skillcircle.inputs.trainings import read_trainings
    from skillcircle.profiles import profile_for

    step = progress or log_step
    inputs_paths = [*study.input_paths(), *([Path(trainings)] if trainings else [])]
    RunFolder(
        out_dir, names=schema.PROGRESS_FILES, inputs=inputs_paths, overwrite=overwrite
    ).check()
    inputs = load_inputs(study, progress=step)
    stations = inputs.stations.stations
    ledger = read_trainings(trainings, station_names=list(stations["name"])) if trainings else None
    built = build_years(stations)
    codes = (
        list(inputs.districts["district_code"].astype(str)) if inputs.districts is not None else []
    )
    profile = profile_for(codes) if codes else None
    phases = profile.phases if profile is not None else ()
    last = max([int(built.max()), *(y for y, _ in phases)])
    with step("Coverage at each year end"):
        cov = progress_coverage(inputs, years=tuple(range(int(built.min()), last + 1)))
    table = progress_table(cov, stations=stations, trainings=ledger)
    with step(f"Writing {out_dir}"):
        write_progress(
            out_dir,
            cov,
            table,
            phases=phases,
            trainings_target=profile.trainings_target if profile is not None else None,
            inputs=inputs_paths,
            overwrite=overwrite,
        )
    return cov, table
