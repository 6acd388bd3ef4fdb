"""Write a coverage analysis to data files a planner opens in Excel, QGIS and a browser.

:func:`write_report` writes, into one folder, the data files named in
:mod:`skillcircle.outputs.schema`: ``summary.json``; ``coverage_by_district.csv``,
``coverage_by_subdistrict.csv`` (with 街道), ``coverage_sensitivity.csv`` and
``coverage_sensitivity_by_subdistrict.csv`` (every speed side by side), each ending with the
``合计 total`` row; ``districts.geojson`` and ``subdistricts.geojson`` (polygons with
coverage); ``stations.geojson`` and ``stations_rejected.csv``; ``isochrones.geojson``,
``service_area.geojson`` and ``gaps.geojson``; ``units.parquet``; ``report.md``
(:mod:`skillcircle.outputs.markdown`); and, with a plan, ``suggestions.csv``,
``suggestions.geojson``, ``candidates.geojson`` and ``candidates_rejected.csv``. CSV files are
UTF-8 with a byte-order mark so that Excel shows Chinese names; GeoJSON is in longitude and
latitude (WGS84). Every file is written atomically.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from skillcircle._escaping import neutralise_frame
from skillcircle.access.analysis import DISTRICT_KEYS, SUBDISTRICT_KEYS, Analysis
from skillcircle.inputs.coords import with_gcj02_columns
from skillcircle.inputs.files import output_dir, write_json, write_text, write_with
from skillcircle.outputs import schema
from skillcircle.outputs.markdown import markdown_report
from skillcircle.outputs.schema import with_total
from skillcircle.siting.suggest import Plan

__all__ = [
    "area_layers",
    "gap_layer",
    "station_layer",
    "to_lonlat",
    "write_csv",
    "write_geojson",
    "write_report",
]

logger = logging.getLogger(__name__)


def to_lonlat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject a layer to longitude and latitude (WGS84, EPSG:4326), as GeoJSON wants.

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
    Text cells that a spreadsheet would run as a formula get a leading ``'``
    (:func:`~skillcircle._escaping.neutralise_frame`); numbers stay numbers.

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
    safe = neutralise_frame(frame)
    return write_with(path, lambda tmp: safe.to_csv(tmp, index=False, encoding="utf-8-sig"))


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    """Write a layer as a WGS84 GeoJSON file, atomically.

    The layer is reprojected with :func:`to_lonlat`; geometry columns other than the active
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
    out = to_lonlat(gdf)
    out = out.loc[:, [c for c in out.columns if not _is_object_of_geoms(out, c)]]

    def _write(tmp: Path) -> None:
        tmp.write_text(out.to_json(drop_id=True, ensure_ascii=False, to_wgs84=False), "utf-8")

    return write_with(path, _write)


def _is_object_of_geoms(gdf: gpd.GeoDataFrame, column: str) -> bool:
    return column != gdf.geometry.name and isinstance(gdf[column].dtype, gpd.array.GeometryDtype)


def _units_frame(analysis: Analysis) -> gpd.GeoDataFrame:
    units = analysis.headline.units
    if analysis.unit_access is not None:
        units = units.join(analysis.unit_access.drop(columns=units.columns, errors="ignore"))
    keep = [c for c in schema.UNITS_COLUMNS if c in units.columns and c != "geometry"]
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
    st = to_lonlat(analysis.headline.stations)
    for col in ("reach_population", "snap_distance_m", "next_station_m"):
        if col in st.columns:
            st[col] = st[col].round(1)
    table = analysis.stations_table
    if table is not None and len(table) == len(st):  # the station table's columns too
        for col in table.columns:
            if col not in st.columns or col in ("lon_gcj02", "lat_gcj02"):
                st[col] = table[col].to_numpy()
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
        merged = to_lonlat(inputs.districts).merge(table, on="district_code", how="left")
        layers[schema.DISTRICTS_GEOJSON] = _with_access(merged, analysis, level="district")
    if inputs.subdistricts is not None and analysis.by_subdistrict is not None:
        rows = analysis.by_subdistrict
        sums = (
            rows.groupby("subdistrict_code")[list(schema.SUBDISTRICT_LAYER_COLUMNS[:-1])]
            .sum()
            .reset_index()
        )
        sums["coverage_pct"] = np.where(
            sums["population"] > 0, 100.0 * sums["covered_population"] / sums["population"], np.nan
        )
        sub = to_lonlat(inputs.subdistricts)
        sub = sub.loc[sub["subdistrict_code"].fillna("").astype(str).isin(sums["subdistrict_code"])]
        merged = sub.merge(sums, on="subdistrict_code", how="left")
        layers[schema.SUBDISTRICTS_GEOJSON] = _with_access(merged, analysis, level="subdistrict")
    return layers


def _with_access(layer: gpd.GeoDataFrame, analysis: Analysis, *, level: str) -> gpd.GeoDataFrame:
    """``layer`` with :data:`~skillcircle.outputs.schema.AREA_ACCESS_COLUMNS` when known."""
    access = analysis.summary.access
    if access is None:
        return layer
    areas = access.by_district if level == "district" else access.by_subdistrict
    if not areas:
        return layer
    values = pd.DataFrame(
        {
            f"{level}_code": [a.code for a in areas],
            "group_population": [a.group_population for a in areas],
            "group_covered_population": [a.group_covered_population for a in areas],
            "access_per_1000": [a.per_1000 for a in areas],
            "group_label": access.group_label,
        }
    ).drop_duplicates(f"{level}_code")
    keep = layer.drop(columns=list(schema.AREA_ACCESS_COLUMNS), errors="ignore")
    key = keep[f"{level}_code"].fillna("").astype(str)
    out = keep.assign(**{f"_{level}_key": key}).merge(
        values.rename(columns={f"{level}_code": f"_{level}_key"}), on=f"_{level}_key", how="left"
    )
    return out.drop(columns=f"_{level}_key")


def write_report(
    analysis: Analysis, out_dir: str | Path, *, plan: Plan | None = None
) -> dict[str, Path]:
    """Write every data file of an analysis (and of its siting plan) into ``out_dir``.

    Each file is written atomically; nothing else in ``out_dir`` is touched. This is the
    low-level writer: :func:`skillcircle.outputs.publish.publish` calls it on a staging folder
    and moves the files into the planner's folder only when the run is complete (see
    :mod:`skillcircle.outputs.folder`). Coverage tables are written with their total row
    (:func:`~skillcircle.outputs.schema.with_total`).

    Parameters
    ----------
    analysis
        The result of :func:`skillcircle.access.analysis.analyse`.
    out_dir
        Output folder, created if missing.
    plan
        The siting plan of :func:`skillcircle.siting.suggest.suggest`, if any: adds
        ``suggestions.csv`` (longitude and latitude columns), ``suggestions.geojson``,
        ``candidates.geojson``, ``candidates_rejected.csv``, and the plan to ``summary.json``
        and ``report.md``.

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
    written: dict[str, Path] = {}
    written[schema.SUMMARY_JSON] = write_json(out / schema.SUMMARY_JSON, summary.to_json())
    totalled = {
        schema.DISTRICT_CSV: (analysis.by_district, DISTRICT_KEYS),
        schema.SUBDISTRICT_CSV: (analysis.by_subdistrict, SUBDISTRICT_KEYS),
        schema.SENSITIVITY_CSV: (analysis.sensitivity, DISTRICT_KEYS),
        schema.SENSITIVITY_BY_SUBDISTRICT_CSV: (
            analysis.sensitivity_by_subdistrict,
            SUBDISTRICT_KEYS,
        ),
    }
    tables: dict[str, pd.DataFrame | None] = {
        name: None if frame is None else with_total(frame, keys=keys)
        for name, (frame, keys) in totalled.items()
    }
    tables[schema.STATIONS_REJECTED_CSV] = analysis.inputs.stations.rejected
    tables[schema.STATIONS_CSV] = analysis.stations_table
    if plan is not None:
        tables[schema.SUGGESTIONS_CSV] = with_gcj02_columns(
            pd.DataFrame(plan.suggestions.drop(columns="geometry"))
        )
        tables[schema.CANDIDATES_REJECTED_CSV] = plan.candidates_rejected
    for name, frame in tables.items():
        if frame is not None:
            written[name] = write_csv(frame, out / name)
    layers: dict[str, gpd.GeoDataFrame] = {
        schema.STATIONS_GEOJSON: station_layer(analysis),
        schema.ISOCHRONES_GEOJSON: analysis.isochrones,
        schema.SERVICE_AREA_GEOJSON: analysis.service_area,
        schema.GAPS_GEOJSON: gap_layer(analysis.gaps),
        **area_layers(analysis),
    }
    if plan is not None:
        layers[schema.SUGGESTIONS_GEOJSON] = with_gcj02_columns(plan.suggestions)
        layers[schema.CANDIDATES_GEOJSON] = plan.candidates
    for name, layer in layers.items():
        written[name] = write_geojson(layer, out / name)
    units = _units_frame(analysis)
    written[schema.UNITS_PARQUET] = write_with(out / schema.UNITS_PARQUET, units.to_parquet)
    written[schema.REPORT_MD] = write_text(
        out / schema.REPORT_MD, markdown_report(analysis, plan=plan)
    )
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
