"""One GeoPackage ``skillcircle.gpkg`` with every layer of a run, for QGIS users.

Each layer carries a description (``gpkg_contents.description``). The layers are read back
from the staged files, so each has exactly the features of its GeoJSON file. The list is
generic, ``(name, frame, description)`` triples: more layers (a walk-time grid) join by
appending to :func:`gpkg_layers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd

from skillcircle.inputs.files import write_with
from skillcircle.outputs import schema

__all__ = ["Layer", "gpkg_layers", "write_geopackage"]

#: A layer: its name, the features, and a one-line description.
Layer = tuple[str, gpd.GeoDataFrame, str]

_LAYERS = (
    ("stations", schema.STATIONS_GEOJSON, "Stations with their coverage 站点"),
    ("suggestions", schema.SUGGESTIONS_GEOJSON, "Suggested new sites by rank 建议新增站点"),
    ("candidates", schema.CANDIDATES_GEOJSON, "Candidate sites considered 候选点"),
    ("isochrones", schema.ISOCHRONES_GEOJSON, "Walk area of each station 站点步行范围"),
    ("service_area", schema.SERVICE_AREA_GEOJSON, "Union of the walk areas 服务范围"),
    ("gap_zones", schema.GAPS_GEOJSON, "Clusters of residents beyond the walk 服务空白区"),
    ("districts", schema.DISTRICTS_GEOJSON, "Districts 区"),
    ("subdistricts", schema.SUBDISTRICTS_GEOJSON, "Sub-districts with coverage 街道"),
)


def gpkg_layers(folder: str | Path) -> list[Layer]:
    """The layers of the GeoPackage, read from the files written in ``folder``.

    Parameters
    ----------
    folder
        An output (or staging) folder written by
        :func:`~skillcircle.outputs.datafiles.write_report`.

    Returns
    -------
    list
        ``(name, frame, description)`` for every GeoJSON layer written and the population
        cells (``units``, from ``units.parquet``).
    """
    folder = Path(folder)
    out: list[Layer] = []
    for name, file, description in _LAYERS:
        path = folder / file
        if path.is_file():
            out.append((name, gpd.read_file(path), description))
    units = folder / schema.UNITS_PARQUET
    if units.is_file():
        out.append(
            (
                "units",
                gpd.read_parquet(units),
                "Population cells with their walking distance 人口网格",
            )
        )
    return out


def write_geopackage(path: str | Path, layers: Sequence[Layer]) -> Path:
    """Write the layers into one GeoPackage, atomically.

    Parameters
    ----------
    path
        The ``.gpkg`` file to write.
    layers
        ``(name, frame, description)`` triples (see :func:`gpkg_layers`); frames without a
        CRS or without a feature are written as they are (an empty layer keeps its columns).

    Returns
    -------
    path
        ``path`` as a :class:`~pathlib.Path`.
    """

    def write(target: Path) -> None:
        for name, frame, description in layers:
            frame.to_file(
                target,
                layer=name,
                driver="GPKG",
                engine="pyogrio",
                layer_options={"DESCRIPTION": description, "IDENTIFIER": name},
            )

    return write_with(path, write)
