"""The output contract: every file name, every written table's columns, the summary record.

Writers (:mod:`~skillcircle.outputs.datafiles`, :mod:`~skillcircle.outputs.publish`) and readers
(:func:`skillcircle.outputs.webmap.map_from_dir`) take names from here, never from literals.

* File names: one constant per file, :data:`DATA_FILES` (what
  :func:`~skillcircle.outputs.datafiles.write_report` may write) and :data:`OUTPUT_FILES`
  (every file the tool writes into an output folder: the data files, ``map.html`` and
  ``report.html``).
* Columns: the tables as written (CSV) and the layers (GeoJSON); the producers own the
  column lists (imports run one way, so the stages cannot import this module) and this module
  gathers them.
* Totals: tables returned to Python have one row per area; the ``合计 total`` row is added
  only when a table is written, by :func:`with_total`.
* The summary: :class:`Summary` (with its :class:`PlanFigures` section and
  :class:`InputFile` records), re-exported from :mod:`skillcircle.access.summary` where the
  analysis builds it; ``summary.json`` is :meth:`Summary.to_json` and
  :func:`read_summary` reads it back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from skillcircle._errors import InputError
from skillcircle.access.accessibility import ACCESS_AREA_COLUMNS, ACCESS_UNIT_COLUMNS
from skillcircle.access.analysis import DISTRICT_KEYS, SUBDISTRICT_KEYS
from skillcircle.access.coverage import COVERAGE_UNIT_COLUMNS, TABLE_COLUMNS
from skillcircle.access.gapzones import ZONE_COLUMNS
from skillcircle.access.stationtable import STATION_TABLE_COLUMNS
from skillcircle.access.summary import InputFile, PlanFigures, Summary
from skillcircle.inputs.population import UNIT_COLUMNS
from skillcircle.network.quality import NetworkQuality
from skillcircle.siting.suggest import PLAN_COLUMNS

__all__ = [
    "AREA_ACCESS_COLUMNS",
    "CANDIDATES_GEOJSON",
    "CANDIDATES_REJECTED_CSV",
    "DATA_FILES",
    "DISTRICTS_GEOJSON",
    "DISTRICT_CSV",
    "DISTRICT_TABLE_COLUMNS",
    "GAPS_GEOJSON",
    "GAP_LAYER_COLUMNS",
    "GPKG",
    "ISOCHRONES_GEOJSON",
    "MAP_HTML",
    "OUTPUT_FILES",
    "PLAN_FILES",
    "REPORT_HTML",
    "REPORT_MD",
    "REPORT_XLSX",
    "SENSITIVITY_BY_SUBDISTRICT_CSV",
    "SENSITIVITY_CSV",
    "SERVICE_AREA_GEOJSON",
    "STATIONS_CSV",
    "STATIONS_CSV_COLUMNS",
    "STATIONS_GEOJSON",
    "STATIONS_REJECTED_CSV",
    "STATION_COVERAGE_COLUMNS",
    "SUBDISTRICTS_GEOJSON",
    "SUBDISTRICT_CSV",
    "SUBDISTRICT_LAYER_COLUMNS",
    "SUBDISTRICT_TABLE_COLUMNS",
    "SUGGESTIONS_COLUMNS",
    "SUGGESTIONS_CSV",
    "SUGGESTIONS_GEOJSON",
    "SUMMARY_JSON",
    "TABLE_CSV",
    "TOTAL_LABEL",
    "UNITS_COLUMNS",
    "UNITS_PARQUET",
    "WALK_GRID_PARQUET",
    "InputFile",
    "NetworkQuality",
    "PlanFigures",
    "Summary",
    "read_summary",
    "sensitivity_columns",
    "with_total",
]

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------------------ file names
SUMMARY_JSON = "summary.json"
DISTRICT_CSV = "coverage_by_district.csv"
SUBDISTRICT_CSV = "coverage_by_subdistrict.csv"
SENSITIVITY_CSV = "coverage_sensitivity.csv"
SENSITIVITY_BY_SUBDISTRICT_CSV = "coverage_sensitivity_by_subdistrict.csv"
STATIONS_GEOJSON = "stations.geojson"
STATIONS_REJECTED_CSV = "stations_rejected.csv"
STATIONS_CSV = "stations.csv"
ISOCHRONES_GEOJSON = "isochrones.geojson"
SERVICE_AREA_GEOJSON = "service_area.geojson"
GAPS_GEOJSON = "gaps.geojson"
DISTRICTS_GEOJSON = "districts.geojson"
SUBDISTRICTS_GEOJSON = "subdistricts.geojson"
UNITS_PARQUET = "units.parquet"
REPORT_MD = "report.md"
SUGGESTIONS_CSV = "suggestions.csv"
SUGGESTIONS_GEOJSON = "suggestions.geojson"
CANDIDATES_GEOJSON = "candidates.geojson"
CANDIDATES_REJECTED_CSV = "candidates_rejected.csv"
MAP_HTML = "map.html"
#: Walk-time grid cells (GeoParquet, network CRS): what the map's click lookup reads.
WALK_GRID_PARQUET = "walk_grid.parquet"
REPORT_HTML = "report.html"
REPORT_XLSX = "report.xlsx"
GPKG = "skillcircle.gpkg"

#: The coverage tables, by file: written with a total row (:func:`with_total`).
TABLE_CSV = (DISTRICT_CSV, SUBDISTRICT_CSV, SENSITIVITY_CSV, SENSITIVITY_BY_SUBDISTRICT_CSV)

#: Files only a siting plan writes.
PLAN_FILES = (SUGGESTIONS_CSV, SUGGESTIONS_GEOJSON, CANDIDATES_GEOJSON, CANDIDATES_REJECTED_CSV)

#: Every data file :func:`~skillcircle.outputs.datafiles.write_report` may write. Those a run
#: does not write are removed from the folder, so a map or report never shows layers left by
#: an earlier run.
DATA_FILES = (
    SUMMARY_JSON,
    *TABLE_CSV,
    STATIONS_GEOJSON,
    STATIONS_REJECTED_CSV,
    STATIONS_CSV,
    ISOCHRONES_GEOJSON,
    SERVICE_AREA_GEOJSON,
    GAPS_GEOJSON,
    DISTRICTS_GEOJSON,
    SUBDISTRICTS_GEOJSON,
    UNITS_PARQUET,
    REPORT_MD,
    *PLAN_FILES,
)

#: Every file the tool writes into an output folder (:func:`~skillcircle.outputs.publish.publish`
#: writes all that apply; ``skillcircle map --from`` reads them).
OUTPUT_FILES = (*DATA_FILES, WALK_GRID_PARQUET, MAP_HTML, REPORT_HTML, REPORT_XLSX, GPKG)

# ------------------------------------------------------------------------------ columns
#: ``coverage_by_district.csv`` (and :attr:`Analysis.by_district`).
DISTRICT_TABLE_COLUMNS = (*DISTRICT_KEYS, *TABLE_COLUMNS)
#: ``coverage_by_subdistrict.csv`` (and :attr:`Analysis.by_subdistrict`).
SUBDISTRICT_TABLE_COLUMNS = (*SUBDISTRICT_KEYS, *TABLE_COLUMNS)
#: ``suggestions.csv``: these (GCJ-02 ``lon_gcj02``/``lat_gcj02`` after WGS84 ``lat``, to paste
#: into AMap), then ``name`` when the candidates were named.
SUGGESTIONS_COLUMNS = tuple(
    c for p in PLAN_COLUMNS for c in ((p, "lon_gcj02", "lat_gcj02") if p == "lat" else (p,))
)
#: ``stations.csv``: the per-station table with its flags (and ``stations.geojson`` properties).
STATIONS_CSV_COLUMNS = STATION_TABLE_COLUMNS
#: Columns coverage adds to each station (``stations.geojson`` also keeps the ledger's).
STATION_COVERAGE_COLUMNS = ("snap_distance_m", "on_network", "reach_population", "next_station_m")
#: ``units.parquet`` (besides ``geometry``; columns a unit lacks are left out).
UNITS_COLUMNS = tuple(dict.fromkeys((*UNIT_COLUMNS, *COVERAGE_UNIT_COLUMNS, *ACCESS_UNIT_COLUMNS)))
#: ``gaps.geojson`` (besides ``geometry``): the zones with their centres in longitude/latitude.
GAP_LAYER_COLUMNS = (
    *(c for c in ZONE_COLUMNS if c not in ("centre_x", "centre_y")),
    "centre_lon",
    "centre_lat",
)
#: ``subdistricts.geojson`` adds these to the 街道 polygons.
SUBDISTRICT_LAYER_COLUMNS = (
    "population",
    "covered_population",
    "offnetwork_population",
    "stations",
    "coverage_pct",
)
#: ... then, when stations have a capacity, these (``subdistricts.geojson`` and
#: ``districts.geojson``): the group's residents, those within the walk, access per 1 000.
AREA_ACCESS_COLUMNS = ACCESS_AREA_COLUMNS


def sensitivity_columns(keys: Sequence[str], speeds_kmh: Iterable[float]) -> tuple[str, ...]:
    """Columns of a speeds-side-by-side table (``coverage_sensitivity*.csv``).

    Parameters
    ----------
    keys
        The area columns (:data:`DISTRICT_KEYS` or :data:`SUBDISTRICT_KEYS`).
    speeds_kmh
        The walking speeds, in the analysis order.

    Returns
    -------
    columns
        ``keys``, ``population``, then ``covered_population_<speed>kmh`` and
        ``coverage_pct_<speed>kmh`` per speed (``<speed>`` formatted with ``:g``).

    Examples
    --------
    >>> sensitivity_columns(["district_code"], [4.0, 3.5])[1:]
    ('population', 'covered_population_4kmh', 'coverage_pct_4kmh', 'covered_population_3.5kmh', 'coverage_pct_3.5kmh')
    """  # noqa: E501
    out = [*keys, "population"]
    for speed in speeds_kmh:
        out += [f"covered_population_{speed:g}kmh", f"coverage_pct_{speed:g}kmh"]
    return tuple(out)


# ------------------------------------------------------------------------------ totals
#: Label of the total row of written tables (in the first area column).
TOTAL_LABEL = "合计 total"


def with_total(
    frame: pd.DataFrame, *, keys: Sequence[str], label: str = TOTAL_LABEL
) -> pd.DataFrame:
    """Append the total row to a coverage table, for writing it.

    Counts (``population``, ``covered_population*``, ``offnetwork_population``, ``stations``)
    are summed; the derived columns are recomputed from the sums: ``coverage_pct*`` = 100 ×
    covered / population (0 without residents), ``uncovered_population`` = population −
    covered, ``population_per_station`` = population / stations (NaN without stations).

    Parameters
    ----------
    frame
        A table of :class:`~skillcircle.access.analysis.Analysis` (one row per area).
    keys
        Its area columns: the first gets ``label``, the others an empty string.
    label
        The total row's label.

    Returns
    -------
    pandas.DataFrame
        A copy with one more row; same columns and column types (``frame`` is not changed).

    Raises
    ------
    InputError
        When a key is not a column of ``frame``.
    """
    missing = [k for k in keys if k not in frame.columns]
    if missing or not keys:
        raise InputError(f"the table has no area column {missing or list(keys)!r}", field="keys")
    total: dict[str, object] = dict.fromkeys(keys, "")
    total[keys[0]] = label
    counts = [
        c
        for c in frame.columns
        if c in ("population", "offnetwork_population", "stations")
        or c.startswith("covered_population")
    ]
    for col in counts:
        total[col] = frame[col].sum()
    pop = float(total.get("population", np.nan))  # type: ignore[arg-type]
    for col in frame.columns:
        if col.startswith("coverage_pct"):
            covered = float(total["covered_population" + col[len("coverage_pct") :]])  # type: ignore[arg-type]
            total[col] = 100.0 * covered / pop if pop > 0 else 0.0
    if "uncovered_population" in frame.columns:
        total["uncovered_population"] = pop - float(total["covered_population"])  # type: ignore[arg-type]
    if "population_per_station" in frame.columns:
        n = int(total["stations"])  # type: ignore[call-overload]
        total["population_per_station"] = pop / n if n > 0 else np.nan
    row = pd.DataFrame([total], columns=frame.columns)
    out = pd.concat([frame, row], ignore_index=True)
    for col in frame.columns:
        if pd.api.types.is_integer_dtype(frame[col].dtype):
            out[col] = out[col].astype(frame[col].dtype)
    return out


# ------------------------------------------------------------------------------ summary
def read_summary(folder: str | Path) -> Summary | None:
    """Read ``summary.json`` of an output folder.

    Parameters
    ----------
    folder
        The output folder.

    Returns
    -------
    Summary or None
        The summary; ``None`` (with a warning logged) when the file is missing, unreadable
        or not a summary of this version of skillcircle.
    """
    path = Path(folder) / SUMMARY_JSON
    if not path.is_file():
        return None
    try:
        return Summary.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # InputError is a ValueError
        logger.warning("%s unreadable (%s)", path, exc)
        return None


# ------------------------------------------------------------------------------ progress
#: ``skillcircle progress``: one row per district × year end.
PROGRESS_BY_DISTRICT_CSV = "progress_by_district.csv"
PROGRESS_XLSX = "progress.xlsx"
PROGRESS_HTML = "progress.html"
#: Stations with their batch (build) year and its colour, WGS84.
PROGRESS_STATIONS_GEOJSON = "progress_stations.geojson"
#: Columns of ``progress_by_district.csv``.
PROGRESS_COLUMNS = (
    "district_code",
    "district_name",
    "year",
    "stations",
    "stations_target",
    "trainings",
    "trainings_cumulative",
    "coverage_pct",
)
#: Every file a progress run writes (its own output contract).
PROGRESS_FILES = (
    PROGRESS_BY_DISTRICT_CSV,
    PROGRESS_XLSX,
    PROGRESS_HTML,
    PROGRESS_STATIONS_GEOJSON,
)
