"""Where people live: demand units with a population each.

A *demand unit* is a point carrying a number of residents. Coverage counts the residents of the
units a station reaches, so every later number (coverage by district and sub-district, gap zones,
siting) is only as good as these units. Three models build them:

``"raster"``
    One unit per populated cell of a gridded population raster (WorldPop ships ~90 m cells in
    EPSG:4326), at the cell centre, carrying the cell's count.
``"raster+census"``
    The same units, each district's units scaled so they sum to that district's census figure.
    WorldPop's modelled counts overshoot dense central districts by about half (Yuexiu:
    ~1.53 M in the raster, 1 038 643 in the 2020 census), so calibration is on whenever both
    district polygons and census totals are given.
``"census-grid"``
    No raster at all: each district's census total is spread over a regular grid (100 m by
    default) of cells whose centre lies in the district, weighted by the share of built-up land
    cover in the cell, else by the length of walkable street in the cell, else evenly.

Units are always returned in the projected CRS of :class:`~skillcircle.settings.Settings`. A unit
belongs to the district (and sub-district) whose polygon holds its centre, by the same rule as
stations (:mod:`skillcircle.inputs.areas`); units outside every district are left out of the
study and counted in :attr:`DemandUnits.excluded_units`.

Examples
--------
>>> import geopandas as gpd, pandas as pd, shapely
>>> from skillcircle.settings import Settings
>>> districts = gpd.GeoDataFrame(
...     {"district_code": ["110101"], "district_name": ["东城区"]},
...     geometry=[shapely.box(0, 0, 200, 100)], crs="EPSG:32650")
>>> census = pd.DataFrame({"district_code": ["110101"], "population": [1000]})
>>> du = build_population(settings=Settings(crs="EPSG:32650"), districts=districts, census=census)
>>> du.model_key, len(du.units), du.units["population"].tolist()
('census-grid', 2, [500.0, 500.0])
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import shapely
from pyproj import CRS, Transformer
from rasterio.errors import RasterioError
from rasterio.windows import Window

from skillcircle._errors import InputError, InputFileNotFoundError
from skillcircle._validate import positive
from skillcircle.inputs.areas import district_index, subdistrict_districts, subdistrict_index
from skillcircle.inputs.files import sha256_file
from skillcircle.settings import Settings

if TYPE_CHECKING:  # the census-only model reads a network's arrays; no runtime import
    from skillcircle.network.model import Network

__all__ = [
    "BUILT_UP_CLASS",
    "NETWORK_SAMPLE_M",
    "UNIT_COLUMNS",
    "DemandUnits",
    "build_population",
    "calibrate_to_census",
    "check_raster",
    "units_from_raster",
]

logger = logging.getLogger(__name__)

#: ESA WorldCover class code of "built-up" land.
BUILT_UP_CLASS = 50

#: Spacing (metres) of the sample points laid along streets for the network-weighted grid.
NETWORK_SAMPLE_M = 10.0

#: Columns of every demand-unit frame, in order (plus ``geometry``).
UNIT_COLUMNS = (
    "unit_id",
    "population",
    "district_code",
    "district_name",
    "subdistrict_code",
    "subdistrict_name",
)

#: Pixels read at a time when aggregating a land-cover raster.
_CHUNK_PIXELS = 4_000_000

PathLike = str | os.PathLike[str]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class DemandUnits:
    """Demand units and how they were made.

    Attributes
    ----------
    units
        One row per unit, index ``0..n-1``: ``unit_id`` (equal to the row position),
        ``population`` (residents, float), ``district_code``, ``district_name``,
        ``subdistrict_code``, ``subdistrict_name`` (empty strings when unknown) and a Point
        ``geometry`` in the projected CRS of the settings.
    model
        The population model in plain words, for reports (e.g. "WorldPop raster (90 m cells),
        calibrated to the census by district").
    model_key
        ``"raster"``, ``"raster+census"`` or ``"census-grid"``.
    calibration
        For ``"raster+census"``, one row per district: ``district_code``, ``district_name``,
        ``raster_population`` (the raster's sum over the district's units),
        ``census_population``, ``factor`` (census / raster; NaN for a district with no unit) and
        ``units`` (number of units). ``None`` for the other models.
    excluded_units
        Units whose centre lies outside every district polygon, left out of the study.
    excluded_population
        Their (uncalibrated) population.
    source
        Inputs for provenance: file paths and hashes, grid size, network description.
    cell_size_m
        Side of the ground cell one unit stands for (the raster cell, or the census grid's
        spacing), metres; ``None`` when unknown.
    """

    units: gpd.GeoDataFrame
    model: str
    model_key: str
    calibration: pd.DataFrame | None = None
    excluded_units: int = 0
    excluded_population: float = 0.0
    source: dict[str, Any] = field(default_factory=dict)
    cell_size_m: float | None = None

    @property
    def total_population(self) -> float:
        """Sum of the units' populations."""
        return float(self.units["population"].sum())

    @property
    def n_units(self) -> int:
        """Number of demand units."""
        return len(self.units)


# ---------------------------------------------------------------------------------- raster


def units_from_raster(
    path: PathLike,
    *,
    settings: Settings,
    band: int = 1,
    bounds: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Read a population raster into one demand unit per populated cell.

    Every cell holding a finite count above zero becomes a unit at the cell centre (computed
    from the raster's affine transform), carrying that count. Nodata, masked, NaN, zero and
    negative cells are skipped. Centres are transformed to ``settings.crs``.

    Parameters
    ----------
    path
        A GeoTIFF (or any raster GDAL reads) in any CRS.
    settings
        Gives the output CRS.
    band
        1-based band holding the counts.
    bounds
        ``(minx, miny, maxx, maxy)`` in ``settings.crs``: read only the cells overlapping this
        box (a study area inside a country-wide raster). ``None`` reads the whole raster.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`UNIT_COLUMNS` and ``geometry`` (district and sub-district columns empty),
        in raster row-major order, CRS ``settings.crs``. ``attrs["cell_size_m"]`` holds the
        approximate cell size in metres.

    Raises
    ------
    InputFileNotFoundError
        The file does not exist.
    InputError
        The file is not a readable raster, has no CRS, has no such band, has no populated cell,
        or does not overlap ``bounds``.
    """
    path = Path(path)
    with _open_raster(path, what="population raster") as src:
        if not 1 <= band <= src.count:
            raise InputError(f"has {src.count} band(s), band {band} was asked for", path=path)
        src_crs = _raster_crs(src, path)
        window = _window(src, path, bounds, src_crs, settings.metric_crs)
        try:
            data = src.read(band, window=window, masked=True)
        except RasterioError as exc:
            raise InputError(f"cannot read the raster cells ({exc})", path=path) from exc
        transform = src.transform
        row0, col0 = (0, 0) if window is None else (int(window.row_off), int(window.col_off))
        mid_row = row0 + data.shape[0] // 2
        mid_col = col0 + data.shape[1] // 2
        cell_m = _cell_size_m(transform, src_crs, settings.metric_crs, row=mid_row, col=mid_col)
    values = np.ma.filled(data.astype(np.float64), np.nan)
    populated = np.isfinite(values) & (values > 0)
    if not populated.any():
        where = "" if bounds is None else " inside the study area"
        raise InputError(f"has no populated cells{where} (all nodata, zero or NaN)", path=path)
    rows, cols = np.nonzero(populated)
    x, y = _cell_centres(transform, rows + row0, cols + col0)
    x, y = _to_crs(x, y, src_crs, settings.metric_crs)
    units = _unit_frame(x, y, values[rows, cols], crs=settings.metric_crs)
    units.attrs["cell_size_m"] = cell_m
    logger.info(
        "%s: %d populated cells (~%.0f m), %.0f people",
        path,
        len(units),
        cell_m,
        values[rows, cols].sum(),
    )
    return units


def check_raster(
    path: PathLike,
    *,
    what: str = "population raster",
    crs: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> tuple[float, float, float, float]:
    """Check, before any work, that a raster can be used; return its bounds.

    The file must open as a raster with a coordinate reference system and at least one
    valid cell: for a population raster a finite count above zero, for a land-cover raster
    a class other than nodata and 0. Only the cells overlapping ``bounds`` are looked at when
    given (they are the ones read later), else the raster's blocks until a valid cell is met.

    Parameters
    ----------
    path
        The raster.
    what
        ``"population raster"`` (default) or ``"land-cover raster"``: the validity rule and
        the words of the messages.
    crs
        CRS of the returned bounds and of ``bounds``; the raster's own when ``None``.
    bounds
        ``(minx, miny, maxx, maxy)`` in ``crs``: the study area's box.

    Returns
    -------
    tuple of float
        The raster's bounds in ``crs`` (its own CRS when ``crs`` is ``None``).

    Raises
    ------
    InputFileNotFoundError
        The file does not exist.
    InputError
        One line naming the file: not a readable raster (garbage bytes, empty file), no CRS,
        no band, or no valid cell (in the study area). A raster that misses ``bounds``
        altogether passes: its bounds tell the caller which areas it does not cover.
    """
    from rasterio.warp import transform_bounds

    path = Path(path)
    with _open_raster(path, what=what) as src:
        if src.count < 1:
            raise InputError(f"the {what} has no band", path=path)
        src_crs = _raster_crs(src, path)
        try:
            box = (
                tuple(float(v) for v in src.bounds)
                if crs is None
                else tuple(float(v) for v in transform_bounds(src_crs, crs, *src.bounds))
            )
        except Exception as exc:  # pyproj/GDAL: bounds outside the target CRS' domain
            raise InputError(
                f"the {what}'s extent cannot be expressed in {crs} ({exc})", path=path
            ) from exc
        if not all(math.isfinite(v) for v in box):
            raise InputError(f"the {what}'s extent cannot be expressed in {crs}", path=path)
        if bounds is None:
            windows: Any = (w for _, w in src.block_windows(1))
        else:
            try:
                windows = iter([_window(src, path, bounds, src_crs, crs or src_crs.to_wkt())])
            except _NoOverlapError:
                return box  # type: ignore[return-value]  # the callers say which areas it misses
        if not _any_valid(src, windows, path, landcover=what != "population raster"):
            where = "" if bounds is None else " inside the study area"
            if what == "population raster":  # the words of units_from_raster
                message = f"has no populated cells{where} (all nodata, zero or NaN)"
            else:
                message = f"has no valid cell{where} (all nodata or class 0)"
            raise InputError(f"the {what} {message}", path=path)
    return box  # type: ignore[return-value]


def _any_valid(src: rasterio.DatasetReader, windows: Any, path: Path, *, landcover: bool) -> bool:
    """Whether any cell of band 1 in the given windows is valid (stops at the first)."""
    for window in windows:
        try:
            data = src.read(1, window=window, masked=True)
        except RasterioError as exc:
            raise InputError(f"cannot read the raster cells ({exc})", path=path) from exc
        mask = np.ma.getmaskarray(data)
        if landcover:
            ok = ~mask & (np.ma.filled(data, 0) != 0)
        else:
            values = np.ma.filled(data.astype(np.float64), np.nan)
            ok = ~mask & np.isfinite(values) & (values > 0)
        if ok.any():
            return True
    return False


# ---------------------------------------------------------------------------------- census


def calibrate_to_census(
    units: gpd.GeoDataFrame,
    *,
    districts: gpd.GeoDataFrame,
    census: pd.DataFrame,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, int, float]:
    """Scale each district's units so they sum to the district's census population.

    Units are assigned to the district whose polygon holds their centre, by the rule of
    :mod:`skillcircle.inputs.areas` (the one stations follow: tested in the districts' CRS, a
    centre on a shared border goes to the first district in ``districts``). Units outside every
    district are dropped and reported. A district that has a census figure but no unit keeps
    population 0: it is logged as a warning and appears in the calibration table with
    ``units == 0`` and a NaN factor.

    Parameters
    ----------
    units
        Demand units with ``population`` and Point geometry (e.g. from :func:`units_from_raster`).
    districts
        District polygons with ``district_code`` and ``district_name``, any CRS.
    census
        ``district_code`` and ``population``; one row per district. Rows for districts not in
        ``districts`` are ignored.

    Returns
    -------
    units : geopandas.GeoDataFrame
        The units inside a district, with ``district_code``/``district_name`` filled and
        ``population`` scaled, renumbered ``0..n-1``.
    calibration : pandas.DataFrame
        One row per district: ``district_code``, ``district_name``, ``raster_population``,
        ``census_population``, ``factor``, ``units``.
    excluded_units : int
        Number of units outside every district.
    excluded_population : float
        Their population before scaling.

    Raises
    ------
    InputError
        Missing columns, a district without a census row, a bad census figure, or no unit inside
        any district.
    """
    _check_polygons(districts, "districts")
    totals = _census_totals(census, districts)
    inside, excluded_units, excluded_population = _assign_districts(units, districts)
    codes = districts["district_code"].astype(str).str.strip().to_numpy()
    names = _names(districts, "district_name")
    raster_pop = (
        inside.groupby("district_code", sort=False)["population"]
        .sum()
        .reindex(codes, fill_value=0.0)
    )
    counts = inside.groupby("district_code", sort=False).size().reindex(codes, fill_value=0)
    census_pop = totals.reindex(codes).to_numpy(dtype=np.float64)
    raster_arr = raster_pop.to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(raster_arr > 0, census_pop / raster_arr, np.nan)
    calibration = pd.DataFrame(
        {
            "district_code": codes,
            "district_name": names,
            "raster_population": raster_arr,
            "census_population": census_pop,
            "factor": factor,
            "units": counts.to_numpy(dtype=np.int64),
        }
    )
    for code, name, n, pop in zip(codes, names, counts, census_pop, strict=True):
        if n == 0 and pop > 0:
            logger.warning(
                "district %s %s has %d census residents but no populated raster cell: "
                "it will show population 0",
                code,
                name,
                int(pop),
            )
    by_code = pd.Series(factor, index=codes)
    scaled = inside.copy()
    scaled["population"] = scaled["population"].to_numpy() * by_code.reindex(
        scaled["district_code"]
    ).to_numpy(dtype=np.float64)
    logger.info(
        "calibrated %d units to the census: raster %.0f → census %.0f people",
        len(scaled),
        raster_arr.sum(),
        float(np.nansum(census_pop[counts.to_numpy() > 0])),
    )
    return _renumber(scaled), calibration, excluded_units, excluded_population


# ---------------------------------------------------------------------------------- pipeline


def build_population(
    source: PathLike | None = None,
    *,
    settings: Settings,
    districts: gpd.GeoDataFrame | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
    census: pd.DataFrame | None = None,
    calibrate: bool = True,
    landcover: PathLike | None = None,
    network: Network | None = None,
    grid_m: float = 100.0,
) -> DemandUnits:
    """Build the demand units of a study area.

    With a population raster (``source``), units are its populated cells; when ``districts``
    are given only cells within the districts' bounding box are read and units outside every
    district are left out; when ``census`` is given too and ``calibrate`` is true, each
    district's units are scaled to its census total (:func:`calibrate_to_census`).

    Without a raster (``source=None``), each district's census total is spread over a regular
    ``grid_m`` grid of cells whose centre lies in the district, weighted by

    1. the share of built-up pixels (WorldCover class :data:`BUILT_UP_CLASS`) among the valid
       pixels whose centre falls in the cell, when ``landcover`` is given (pixels valued 0 or
       nodata are not valid); else
    2. the length of walkable street in the cell, when ``network`` is given: points are laid
       along every edge every :data:`NETWORK_SAMPLE_M` metres or less (at the middles of equal
       pieces), each carrying its piece's length, and counted into the cell holding them. This
       is exact up to one piece (≤ 10 m) per edge and cell border crossed, and much cheaper than
       clipping every edge against every cell; else
    3. evenly.

    Cells of zero weight get no unit. A district whose cells all weigh zero (no built-up pixel,
    no street) falls back to the even spread, with a warning; a district smaller than one cell
    gets one unit at a point inside it.

    Parameters
    ----------
    source
        Population raster (GeoTIFF, any CRS), or ``None`` for the census-only model.
    settings
        Gives the projected CRS of the units.
    districts
        District polygons: ``district_code``, ``district_name``, geometry, any CRS.
    subdistricts
        Sub-district polygons: ``subdistrict_code``, ``subdistrict_name`` and optionally
        ``district_code``; used to fill the units' sub-district columns by centre-in-polygon. A
        unit is only given a sub-district of its own district.
    census
        ``district_code`` and ``population`` per district.
    calibrate
        Scale raster units to the census totals (needs ``districts`` and ``census``).
    landcover
        WorldCover-style land-cover raster (any CRS) for the census-only model.
    network
        Walking network for the census-only model (used when ``landcover`` is not given).
    grid_m
        Cell size of the census-only grid, metres.

    Returns
    -------
    DemandUnits

    Raises
    ------
    InputFileNotFoundError
        A raster file does not exist.
    InputError
        Unreadable or empty raster, a raster that does not overlap the districts, districts
        without a census row, or a census-only request without districts and census.
    """
    grid_m = positive(grid_m, "grid_m")
    # Areas are decided in the polygons' own CRS (skillcircle.inputs.areas), like stations';
    # grids, bounds and overlap checks work on the copy in settings.crs.
    districts_a = None if districts is None else _repaired(districts, "districts")
    districts_p = None if districts is None else _prepare_polygons(districts, settings, "districts")
    if source is None:
        result = _census_grid(
            settings=settings,
            districts=districts_p,
            areas=districts_a,
            census=census,
            landcover=None if landcover is None else Path(landcover),
            network=network,
            grid_m=float(grid_m),
        )
    else:
        if landcover is not None or network is not None:
            logger.warning(
                "landcover and network only weight the census-only model; ignored with a raster"
            )
        result = _raster_model(
            Path(source),
            settings=settings,
            districts=districts_p,
            areas=districts_a,
            census=census,
            calibrate=calibrate,
        )
    units = result.units
    if subdistricts is not None:
        subs = _repaired(subdistricts, "subdistricts")
        units = _assign_subdistricts(units, subs, districts_a)
    units = _renumber(units)
    logger.info(
        "%s: %d demand units, %.0f people", result.model, len(units), units["population"].sum()
    )
    return DemandUnits(
        units=units,
        model=result.model,
        model_key=result.model_key,
        calibration=result.calibration,
        excluded_units=result.excluded_units,
        excluded_population=result.excluded_population,
        source=result.source,
        cell_size_m=result.cell_size_m,
    )


def _raster_model(
    path: Path,
    *,
    settings: Settings,
    districts: gpd.GeoDataFrame | None,
    areas: gpd.GeoDataFrame | None,
    census: pd.DataFrame | None,
    calibrate: bool,
) -> DemandUnits:
    """Units from a population raster, optionally assigned to districts and calibrated.

    ``districts`` are in ``settings.crs``; ``areas`` are the same polygons in their own CRS,
    used to assign units to districts.
    """
    bounds = None
    if districts is not None:
        minx, miny, maxx, maxy = (float(v) for v in districts.total_bounds)
        bounds = (minx, miny, maxx, maxy)
    try:
        units = units_from_raster(path, settings=settings, bounds=bounds)
    except _NoOverlapError as exc:
        raise InputError(
            f"does not overlap the districts {_describe(districts)} ({exc.detail})", path=path
        ) from None
    cell_m = float(units.attrs.get("cell_size_m", float("nan")))
    label = (
        "WorldPop raster" if "worldpop" in path.name.lower() else f"population raster {path.name}"
    )
    model = f"{label} ({cell_m:.0f} m cells)"
    source: dict[str, Any] = {"population_raster": str(path), "sha256": sha256_file(path)}
    if districts is None:
        if census is not None:
            logger.warning("census totals given without district polygons: not calibrated")
        return DemandUnits(
            units=units, model=model, model_key="raster", source=source, cell_size_m=cell_m
        )
    _check_overlap(units, districts, path)
    areas = districts if areas is None else areas
    if calibrate and census is not None:
        inside, table, n_out, pop_out = calibrate_to_census(units, districts=areas, census=census)
        return DemandUnits(
            units=inside,
            model=f"{model}, calibrated to the census by district",
            model_key="raster+census",
            calibration=table,
            excluded_units=n_out,
            excluded_population=pop_out,
            source=source,
            cell_size_m=cell_m,
        )
    inside, n_out, pop_out = _assign_districts(units, areas)
    return DemandUnits(
        units=_renumber(inside),
        model=f"{model}, not calibrated to the census",
        model_key="raster",
        excluded_units=n_out,
        excluded_population=pop_out,
        source=source,
        cell_size_m=cell_m,
    )


def _check_overlap(units: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, path: Path) -> None:
    """Raise when no raster unit lies inside any district polygon."""
    tree = shapely.STRtree(districts.geometry.to_numpy())
    hits = tree.query(units.geometry.to_numpy(), predicate="intersects")
    if hits.shape[1] == 0:
        raise InputError(
            f"does not overlap the districts {_describe(districts)}: no populated cell lies "
            "inside any district polygon",
            path=path,
        )


# ---------------------------------------------------------------------------------- census grid


def _census_grid(
    *,
    settings: Settings,
    districts: gpd.GeoDataFrame | None,
    areas: gpd.GeoDataFrame | None,
    census: pd.DataFrame | None,
    landcover: Path | None,
    network: Network | None,
    grid_m: float,
) -> DemandUnits:
    """Spread each district's census total over a weighted regular grid.

    A cell belongs to the district that holds its centre by the area rule
    (:func:`skillcircle.inputs.areas.district_index`, on ``areas``: the polygons in their own
    CRS), the same rule as stations and raster units.
    """
    if districts is None or census is None:
        raise InputError(
            "no population raster given: the census-only model needs district polygons and "
            "census totals"
        )
    totals = _census_totals(census, districts)
    grid = _Grid.around(districts, grid_m)
    source: dict[str, Any] = {"census": "district totals", "grid_m": grid_m}
    if landcover is not None:
        weights = _landcover_weights(landcover, grid, settings, districts)
        how = f"weighted by built-up land cover ({landcover.name})"
        source |= {"landcover": str(landcover), "landcover_sha256": sha256_file(landcover)}
    elif network is not None:
        weights = _network_weights(network, grid, settings)
        if not np.any(weights > 0):
            raise InputError(
                f"the walking network does not overlap the districts {_describe(districts)}"
            )
        how = "weighted by walkable street length"
        source |= {"network": dict(network.meta) or f"{network.n_edges} edges"}
    else:
        weights = None
        how = "spread evenly"
    model = f"census district totals spread over a {grid_m:g} m grid, {how}"

    codes = districts["district_code"].astype(str).str.strip().to_numpy()
    names = _names(districts, "district_name")
    candidates = np.unique(np.concatenate([grid.keys_in(g) for g in districts.geometry]))
    cx, cy = grid.centres(candidates)
    owner = district_index(
        gpd.GeoSeries(shapely.points(cx, cy), crs=settings.crs),
        districts if areas is None else areas,
    )
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    pops: list[FloatArray] = []
    dcode: list[str] = []
    dname: list[str] = []
    for i, (geom, code, name) in enumerate(
        zip(districts.geometry.to_numpy(), codes, names, strict=True)
    ):
        total = float(totals[code])
        keys = candidates[owner == i]
        if keys.size == 0:
            point = shapely.point_on_surface(geom)
            x, y = np.array([point.x]), np.array([point.y])
            pop = np.array([total])
            logger.info("district %s %s is smaller than one grid cell: one unit", code, name)
        else:
            w = np.ones(keys.size) if weights is None else weights[keys]
            if weights is not None and not np.any(w > 0):
                logger.warning(
                    "district %s %s: every grid cell has zero weight; spread evenly instead",
                    code,
                    name,
                )
                w = np.ones(keys.size)
            keep = w > 0
            keys, w = keys[keep], w[keep]
            x, y = grid.centres(keys)
            pop = total * w / w.sum()
        xs.append(x)
        ys.append(y)
        pops.append(pop)
        dcode += [code] * x.size
        dname += [name] * x.size
    units = _unit_frame(
        np.concatenate(xs), np.concatenate(ys), np.concatenate(pops), crs=settings.metric_crs
    )
    units["district_code"] = dcode
    units["district_name"] = dname
    units = units[units["population"] > 0]
    return DemandUnits(
        units=_renumber(units),
        model=model,
        model_key="census-grid",
        source=source,
        cell_size_m=grid_m,
    )


@dataclass(frozen=True)
class _Grid:
    """A regular grid of square cells aligned on multiples of the cell size."""

    x0: float
    y0: float
    size: float
    nx: int
    ny: int

    @classmethod
    def around(cls, polygons: gpd.GeoDataFrame, size: float) -> _Grid:
        minx, miny, maxx, maxy = polygons.total_bounds
        x0 = math.floor(minx / size) * size
        y0 = math.floor(miny / size) * size
        nx = max(1, math.ceil((maxx - x0) / size))
        ny = max(1, math.ceil((maxy - y0) / size))
        return cls(x0=x0, y0=y0, size=size, nx=nx, ny=ny)

    @property
    def n_cells(self) -> int:
        return self.nx * self.ny

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (
            self.x0,
            self.y0,
            self.x0 + self.nx * self.size,
            self.y0 + self.ny * self.size,
        )

    def key_of(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Cell key of each point (``-1`` outside the grid)."""
        ix = np.floor((x - self.x0) / self.size).astype(np.int64)
        iy = np.floor((y - self.y0) / self.size).astype(np.int64)
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        return np.where(ok, iy * self.nx + ix, -1)

    def centres(self, keys: IntArray) -> tuple[FloatArray, FloatArray]:
        iy, ix = np.divmod(keys, self.nx)
        return self.x0 + (ix + 0.5) * self.size, self.y0 + (iy + 0.5) * self.size

    def keys_in(self, geom: shapely.Geometry) -> IntArray:
        """Keys of the cells whose centre lies in (or on the border of) a polygon."""
        minx, miny, maxx, maxy = geom.bounds
        i0 = max(0, math.floor((minx - self.x0) / self.size))
        i1 = min(self.nx, math.ceil((maxx - self.x0) / self.size))
        j0 = max(0, math.floor((miny - self.y0) / self.size))
        j1 = min(self.ny, math.ceil((maxy - self.y0) / self.size))
        ix, iy = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1))
        keys = (iy * self.nx + ix).ravel().astype(np.int64)
        x, y = self.centres(keys)
        shapely.prepare(geom)
        return keys[shapely.intersects_xy(geom, x, y)]


def _landcover_weights(
    path: Path, grid: _Grid, settings: Settings, districts: gpd.GeoDataFrame
) -> FloatArray:
    """Share of built-up pixels among the valid pixels whose centre falls in each grid cell."""
    built = np.zeros(grid.n_cells)
    valid = np.zeros(grid.n_cells)
    with _open_raster(path, what="land-cover raster") as src:
        src_crs = _raster_crs(src, path)
        try:
            window = _window(src, path, grid.bounds, src_crs, settings.metric_crs)
        except _NoOverlapError as exc:
            raise InputError(
                f"does not overlap the districts {_describe(districts)} ({exc.detail})", path=path
            ) from None
        if window is None:  # pragma: no cover - bounds are always given
            raise InputError("internal: no window", path=path)
        row0, col0 = int(window.row_off), int(window.col_off)
        nrows, ncols = int(window.height), int(window.width)
        step = max(1, _CHUNK_PIXELS // max(ncols, 1))
        for r in range(row0, row0 + nrows, step):
            h = min(step, row0 + nrows - r)
            try:
                data = src.read(1, window=Window(col0, r, ncols, h), masked=True)
            except RasterioError as exc:
                raise InputError(f"cannot read the raster cells ({exc})", path=path) from exc
            classes = np.ma.filled(data, 0)
            ok = ~np.ma.getmaskarray(data) & (classes != 0)
            rows, cols = np.nonzero(ok)
            x, y = _cell_centres(src.transform, rows + r, cols + col0)
            x, y = _to_crs(x, y, src_crs, settings.metric_crs)
            keys = grid.key_of(x, y)
            inside = keys >= 0
            valid += np.bincount(keys[inside], minlength=grid.n_cells)
            is_built = classes[rows, cols][inside] == BUILT_UP_CLASS
            built += np.bincount(keys[inside][is_built], minlength=grid.n_cells)
    if not valid.any():
        raise InputError(
            f"has no valid land-cover pixel inside the districts {_describe(districts)}",
            path=path,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(valid > 0, built / valid, 0.0)


def _network_weights(network: Network, grid: _Grid, settings: Settings) -> FloatArray:
    """Walkable street length (metres) falling in each grid cell, by sampling along edges."""
    geoms = np.asarray(network.edge_geometry, dtype=object)
    lengths = shapely.length(geoms)
    pieces = np.maximum(1, np.ceil(lengths / NETWORK_SAMPLE_M)).astype(np.int64)
    edge = np.repeat(np.arange(geoms.size), pieces)
    start = np.cumsum(pieces) - pieces
    k = np.arange(edge.size) - np.repeat(start, pieces)
    piece_len = lengths / pieces
    dist = (k + 0.5) * piece_len[edge]
    points = shapely.line_interpolate_point(geoms[edge], dist)
    x, y = shapely.get_x(points), shapely.get_y(points)
    x, y = _to_crs(x, y, CRS.from_user_input(network.crs), settings.metric_crs)
    keys = grid.key_of(x, y)
    inside = keys >= 0
    weights = np.bincount(keys[inside], weights=piece_len[edge][inside], minlength=grid.n_cells)
    return weights.astype(np.float64)


# ---------------------------------------------------------------------------------- helpers


class _NoOverlapError(InputError):
    """The requested bounds miss the raster (callers re-raise it naming the districts)."""

    def __init__(self, detail: str, *, path: PathLike) -> None:
        self.detail = detail
        super().__init__(f"does not overlap the study area ({detail})", path=path)


def _open_raster(path: Path, *, what: str) -> rasterio.DatasetReader:
    """Open a raster, turning failures into our errors."""
    if not path.exists():
        raise InputFileNotFoundError(path, what)
    if path.is_dir():
        raise InputError(f"is a folder, not a {what}", path=path)
    try:
        return rasterio.open(path)
    except (RasterioError, OSError) as exc:  # garbage bytes, an empty file, no permission
        raise InputError(
            f"cannot read the {what}: not a raster GDAL reads ({exc})", path=path
        ) from exc


def _raster_crs(src: rasterio.DatasetReader, path: Path) -> CRS:
    if src.crs is None:
        raise InputError("the raster has no coordinate reference system", path=path)
    return CRS.from_user_input(src.crs.to_wkt())


def _window(
    src: rasterio.DatasetReader,
    path: Path,
    bounds: tuple[float, float, float, float] | None,
    src_crs: CRS,
    crs: str,
) -> Window | None:
    """The window of raster cells overlapping ``bounds`` (given in ``crs``)."""
    if bounds is None:
        return None
    minx, miny, maxx, maxy = bounds
    # Densify the box edges so a reprojected box (e.g. to degrees) still encloses the area.
    t = np.linspace(0.0, 1.0, 21)
    bx = np.concatenate(
        [minx + (maxx - minx) * t, np.full(21, maxx), maxx - (maxx - minx) * t, np.full(21, minx)]
    )
    by = np.concatenate(
        [np.full(21, miny), miny + (maxy - miny) * t, np.full(21, maxy), maxy - (maxy - miny) * t]
    )
    rx, ry = _to_crs(bx, by, CRS.from_user_input(crs), src_crs)
    inv = ~src.transform
    cols = inv.a * rx + inv.b * ry + inv.c
    rows = inv.d * rx + inv.e * ry + inv.f
    col0 = max(0, math.floor(np.min(cols)))
    col1 = min(src.width, math.ceil(np.max(cols)))
    row0 = max(0, math.floor(np.min(rows)))
    row1 = min(src.height, math.ceil(np.max(rows)))
    if col0 >= col1 or row0 >= row1:
        raster_bounds = ", ".join(f"{v:.6g}" for v in src.bounds)
        area = ", ".join(f"{v:.1f}" for v in bounds)
        raise _NoOverlapError(
            f"raster bounds {raster_bounds} in {src.crs}; study area {area} in {crs}", path=path
        )
    return Window(col0, row0, col1 - col0, row1 - row0)


def _cell_centres(transform: Any, rows: IntArray, cols: IntArray) -> tuple[FloatArray, FloatArray]:
    """Coordinates of the centres of the given cells under an affine transform."""
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    cx = cols.astype(np.float64) + 0.5
    ry = rows.astype(np.float64) + 0.5
    return a * cx + b * ry + c, d * cx + e * ry + f


def _cell_size_m(transform: Any, src_crs: CRS, crs: str, *, row: int, col: int) -> float:
    """Approximate side of a (square-ish) raster cell in metres, measured at a given cell."""
    x, y = _cell_centres(transform, np.array([row, row, row + 1]), np.array([col, col + 1, col]))
    px, py = _to_crs(x, y, src_crs, crs)
    dx = math.hypot(px[1] - px[0], py[1] - py[0])
    dy = math.hypot(px[2] - px[0], py[2] - py[0])
    return math.sqrt(dx * dy)


def _to_crs(
    x: FloatArray, y: FloatArray, src: CRS, dst: str | CRS
) -> tuple[FloatArray, FloatArray]:
    """Transform coordinates (axis order x/lon, y/lat), a no-op when the CRSs are equal."""
    dst_crs = CRS.from_user_input(dst)
    if src == dst_crs:
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    tr = Transformer.from_crs(src, dst_crs, always_xy=True)
    tx, ty = tr.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


def _unit_frame(
    x: FloatArray, y: FloatArray, population: FloatArray, *, crs: str
) -> gpd.GeoDataFrame:
    """A demand-unit frame with empty district and sub-district columns."""
    n = int(np.asarray(x).size)
    empty = np.full(n, "", dtype=object)
    return gpd.GeoDataFrame(
        {
            "unit_id": np.arange(n, dtype=np.int64),
            "population": np.asarray(population, dtype=np.float64),
            "district_code": empty,
            "district_name": empty.copy(),
            "subdistrict_code": empty.copy(),
            "subdistrict_name": empty.copy(),
        },
        geometry=shapely.points(x, y),
        crs=crs,
    )


def _renumber(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reset the index and ``unit_id`` to ``0..n-1``."""
    out = units.reset_index(drop=True)
    out["unit_id"] = np.arange(len(out), dtype=np.int64)
    return out


def _check_polygons(gdf: gpd.GeoDataFrame, what: str) -> None:
    """Check that a polygon layer is a GeoDataFrame with a CRS, a code column, unique codes."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what} must be a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise InputError(f"{what} have no coordinate reference system")
    code = "district_code" if what == "districts" else "subdistrict_code"
    if code not in gdf.columns:
        raise InputError(f"{what} have no {code!r} column", field=code)
    if len(gdf) == 0:
        raise InputError(f"{what}: the layer has no polygon")
    codes = gdf[code].astype(str).str.strip()
    dup = codes[codes.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"{what}: code(s) {', '.join(dup)} appear more than once", field=code)


def _make_valid(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = gdf.geometry.to_numpy()
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
        gdf = gdf.set_geometry(geoms)
    return gdf


def _repaired(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Check a polygon layer and repair invalid polygons, in its own CRS (for the area rule)."""
    _check_polygons(gdf, what)
    out = _make_valid(gdf.copy())
    out.attrs = dict(gdf.attrs)
    return out


def _prepare_polygons(gdf: gpd.GeoDataFrame, settings: Settings, what: str) -> gpd.GeoDataFrame:
    """Check a polygon layer and reproject it to ``settings.crs`` (for geometry work)."""
    _check_polygons(gdf, what)
    out = _make_valid(gdf.to_crs(settings.crs))
    out.attrs = dict(gdf.attrs)
    return out


def _census_totals(census: pd.DataFrame, districts: gpd.GeoDataFrame) -> pd.Series:
    """Census population by district code, for every district; checked."""
    for col in ("district_code", "population"):
        if col not in census.columns:
            raise InputError(f"the census table has no {col!r} column", field=col)
    codes = census["district_code"].astype(str).str.strip()
    dup = codes[codes.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"the census table lists district(s) {', '.join(dup)} more than once")
    pop = pd.to_numeric(census["population"], errors="coerce")
    totals = pd.Series(pop.to_numpy(dtype=np.float64), index=codes.to_numpy())
    wanted = districts["district_code"].astype(str).str.strip()
    missing = [c for c in wanted if c not in totals.index or not np.isfinite(totals[c])]
    if missing:
        raise InputError(f"no census population for district(s) {', '.join(missing)}")
    negative = [c for c in wanted if totals[c] < 0]
    if negative:
        raise InputError(f"negative census population for district(s) {', '.join(negative)}")
    return totals


def _assign_districts(
    units: gpd.GeoDataFrame, districts: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, int, float]:
    """Fill the district columns by centre-in-polygon and drop units outside every district."""
    if units.crs is None:
        raise InputError("the demand units have no coordinate reference system")
    if "population" not in units.columns:
        raise InputError("the demand units have no 'population' column", field="population")
    hit = district_index(units, districts)
    inside = hit >= 0
    n_out = int((~inside).sum())
    pop_out = float(units["population"].to_numpy()[~inside].sum())
    if not inside.any():
        raise InputError(f"no demand unit lies inside any of the districts {_describe(districts)}")
    if n_out:
        logger.warning(
            "%s residents (%d populated cells) live outside every district and are left out",
            f"{pop_out:,.0f}",
            n_out,
        )
    out = units.loc[inside].copy()
    out["district_code"] = (
        districts["district_code"].astype(str).str.strip().to_numpy()[hit[inside]]
    )
    out["district_name"] = _names(districts, "district_name")[hit[inside]]
    return out, n_out, pop_out


def _assign_subdistricts(
    units: gpd.GeoDataFrame, subs: gpd.GeoDataFrame, districts: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """Fill the sub-district columns by the area rule (:mod:`skillcircle.inputs.areas`).

    With ``districts``, a unit only gets a 街道 of its own district; without, any 街道
    covering it, and the unit's district becomes that 街道's.
    """
    codes = subs["subdistrict_code"].astype(str).str.strip().to_numpy()
    names = _names(subs, "subdistrict_name")
    if districts is None:
        hit = subdistrict_index(units, subs)
    else:
        hit = subdistrict_index(
            units, subs, point_districts=units["district_code"].to_numpy(), districts=districts
        )
    ok = hit >= 0
    out = units.copy()
    sub_code = out["subdistrict_code"].to_numpy(dtype=object).copy()
    sub_name = out["subdistrict_name"].to_numpy(dtype=object).copy()
    sub_code[ok] = codes[hit[ok]]
    sub_name[ok] = names[hit[ok]]
    out["subdistrict_code"] = sub_code
    out["subdistrict_name"] = sub_name
    if districts is None:
        homes = subdistrict_districts(subs)
        dist = out["district_code"].to_numpy(dtype=object).copy()
        dist[ok] = homes[hit[ok]]
        out["district_code"] = dist
    if (~ok).any():
        logger.warning(
            "%s residents (%d populated cells) lie in no sub-district (街道) of their district",
            f"{float(out['population'].to_numpy()[~ok].sum()):,.0f}",
            int((~ok).sum()),
        )
    return out


def _names(gdf: pd.DataFrame, column: str) -> npt.NDArray[np.object_]:
    """A name column as an object array of strings (empty when absent or missing)."""
    if column not in gdf.columns:
        return np.full(len(gdf), "", dtype=object)
    return gdf[column].fillna("").astype(str).to_numpy(dtype=object)


def _describe(districts: gpd.GeoDataFrame | None) -> str:
    """Name a district layer in messages: its source file if known, else its codes."""
    if districts is None:
        return "(none)"
    attrs: Mapping[str, Any] = districts.attrs
    src = attrs.get("source") or attrs.get("path")
    codes = ", ".join(districts["district_code"].astype(str).str.strip().tolist()[:12])
    more = " …" if len(districts) > 12 else ""
    return f"{src} ({codes}{more})" if src else f"({codes}{more})"
