"""A study: every input and option of one coverage analysis, from a TOML file or keywords.

A study file lets a district office keep its set-up next to its ledgers::

    # dongcheng.toml
    stations = "ledger_2025q3.xlsx"
    coords = "gcj02"
    network = "${SKILLCIRCLE_DATA}/yuexiu/roads_osm.gpkg"
    population = "${SKILLCIRCLE_DATA}/yuexiu/worldpop.tif"
    districts = "cnmaps:110101"
    subdistricts = "${SKILLCIRCLE_DATA}/yuexiu/subdistricts_osm.gpkg"
    minutes = 15
    speed_kmh = [4.0, 3.0]
    # every Settings field may be given: minutes, speed_kmh, max_snap_m, crs, cache_dir,
    # walkway_half_width_m, network_gap_m (omitted ones take the Settings defaults)

    [suggest]                      # options of `skillcircle suggest`, same names as its flags
    add = 10
    min_stations_per_subdistrict = 1
    max_per_district = { "110101" = 6 }
    phases = { 2026 = 30, 2027 = 40 }

Relative paths are read relative to the study file; ``${VAR}`` is expanded from the
environment. Command-line flags override the file.

A study is the only place that turns study options into a :class:`~skillcircle.settings.Settings`
(:meth:`Study.settings`), and it checks its numbers by building one, so a study and the settings
can never disagree about what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skillcircle._errors import InputError, InputFileNotFoundError, SettingsError
from skillcircle._validate import positive
from skillcircle.access.accessibility import METHODS as ACCESS_METHODS
from skillcircle.settings import Settings

__all__ = [
    "MAX_BUFFER_M",
    "PROGRESS_PERIODS",
    "SUGGEST_KEYS",
    "Study",
    "build_settings",
    "check_buffer_m",
    "check_input_file",
    "check_input_files",
    "parse_speeds",
]

#: Largest margin around the study area when clipping the network: 50 km (a walking study
#: needs the walk distance around its districts, ~1 km; 50 km is a whole metropolitan fringe).
MAX_BUFFER_M = 50_000.0

_PATH_FIELDS = (
    "stations",
    "subdistricts",
    "landcover",
    "candidates",
    "trainings",
    "targets",
    "cache_dir",
)
#: Period ends of ``progress`` (:attr:`Study.progress_by`).
PROGRESS_PERIODS = ("year", "quarter")
_SOURCE_FIELDS = ("network", "population", "districts", "boundary")

#: Keys of a study file's ``[suggest]`` table: the options of ``skillcircle suggest`` (its flag
#: names in snake_case), each meaning what the flag means; a flag given on the command line wins.
#: ``min_per_district``/``max_per_district`` take a number or a table ``{ CODE = N }``;
#: ``phases`` a list of totals, a table ``{ YEAR = TOTAL }`` or ``"none"``.
SUGGEST_KEYS = (
    "add",
    "target_stations",
    "target_coverage",
    "candidate_coords",
    "candidate_spacing",
    "only_near_gaps",
    "min_per_district",
    "max_per_district",
    "min_spacing_m",
    "min_stations_per_district",
    "min_stations_per_subdistrict",
    "phases",
    "exact",
    "time_limit",
    "objective",
    "capacity_per_site",
)


def build_settings(**values: Any) -> Settings:
    """Build :class:`~skillcircle.settings.Settings`, naming the parameter of any bad value.

    Each value is checked by :class:`~skillcircle.settings.Settings` itself (the one set of
    rules), one at a time, so the error says which parameter is wrong.

    Parameters
    ----------
    **values
        Settings fields; ``None`` values are left at the Settings default.

    Returns
    -------
    settings : Settings
        The settings.

    Raises
    ------
    InputError
        When a value is refused; its ``params`` name the parameter.

    Examples
    --------
    >>> build_settings(minutes=10, crs=None).minutes
    10
    """
    given = {k: v for k, v in values.items() if v is not None}
    known = {f.name for f in dataclasses.fields(Settings)}
    for name, value in given.items():
        if name not in known:
            raise InputError(f"{name} is not a setting", param=name)
        _check_setting(name, value)
    try:
        return Settings(**given)
    except (SettingsError, TypeError, ValueError) as exc:  # a rule across several fields
        raise InputError(str(exc), param=tuple(given)) from exc


def _check_setting(name: str, value: Any) -> None:
    """Refuse a value that :class:`Settings` refuses, naming the parameter."""
    if name == "cache_dir" and not isinstance(value, str | os.PathLike):
        raise InputError(f"cache_dir must be a folder path, got {value!r}", param=name)
    try:
        Settings(**{name: value})
    except (SettingsError, TypeError, ValueError) as exc:
        raise InputError(str(exc), param=name) from exc


def check_buffer_m(value: Any) -> float:
    """Return the network buffer as a float if it is a finite number in [0, 50 000] metres.

    Parameters
    ----------
    value
        The ``buffer_m`` option.

    Returns
    -------
    float

    Raises
    ------
    InputError
        Naming ``buffer_m`` when it is not a number, NaN, infinite, negative or above
        :data:`MAX_BUFFER_M`.

    Examples
    --------
    >>> check_buffer_m(1000)
    1000.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"buffer_m must be a number of metres, got {value!r}", param="buffer_m")
    number = float(value)
    if not (math.isfinite(number) and 0 <= number <= MAX_BUFFER_M):
        raise InputError(
            f"buffer_m must be between 0 and {MAX_BUFFER_M:,.0f} metres, got {number!r}",
            param="buffer_m",
        )
    return number


def parse_speeds(value: Any) -> tuple[float, ...]:
    """Read walking speeds from ``4.0``, ``"4.0,3.0"`` or ``[4.0, 3.0]``.

    Parameters
    ----------
    value
        One number, comma-separated text, or a sequence of numbers (or numeric text), in
        km/h; the first is the headline speed.

    Returns
    -------
    speeds : tuple of float
        The speeds, in the order given.

    Raises
    ------
    InputError
        When a value is not a number (booleans included), none is given, or a speed is one
        that :class:`~skillcircle.settings.Settings` refuses as ``speed_kmh``.

    Examples
    --------
    >>> parse_speeds("4.0, 3")
    (4.0, 3.0)
    """
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, int | float):
        items = [items]
    if (
        isinstance(items, bool)
        or not isinstance(items, list | tuple)
        or any(isinstance(v, bool) for v in items)
    ):
        raise InputError(
            f"speed_kmh: expected numbers like 4.0,3.0, got {value!r}",
            param="speed_kmh",
        )
    try:
        speeds = tuple(float(v) for v in items)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"speed_kmh: expected numbers like 4.0,3.0, got {value!r}",
            param="speed_kmh",
        ) from exc
    if not speeds:
        raise InputError(
            f"speed_kmh: expected at least one walking speed, got {value!r}",
            param="speed_kmh",
        )
    for speed in speeds:
        _check_setting("speed_kmh", speed)
    return speeds


@dataclass(frozen=True, kw_only=True)
class Study:
    """Inputs and options of one analysis.

    Attributes
    ----------
    stations
        Station ledger (CSV, XLSX, GeoJSON, GeoPackage).
    coords
        Coordinate system of the ledger: ``wgs84``, ``gcj02`` or ``bd09``.
    network
        Walking network source: a roads layer, ``.osm``/``.osm.pbf``/``.graphml`` file, a built
        ``.npz`` network, or ``place:<name>`` (online).
    population
        Population raster (GeoTIFF); ``None`` for the census-only model.
    districts
        District polygons: ``cnmaps:<adcode>`` (a 6-digit code for one district, a 4-digit city
        code for all its districts) or a GIS file. They are the study area: stations farther
        from them than the walk distance plus ``max_snap_m`` are rejected, and they give the
        district tables, the census calibration (in a city with a profile, see
        :mod:`skillcircle.profiles`) and the default CRS. Default ``None`` (or ``"none"``): no
        districts, so no study-area check, no district tables and no calibration — there is
        no city default; give your district(s) for a planning study.
    subdistricts
        街道 polygons (GIS file), optional.
    landcover
        WorldCover-style raster to weight the census-only model, optional.
    boundary
        Area to clip the network to (``cnmaps:<adcode>`` or a file); defaults to the districts.
    candidates
        Candidate sites for ``suggest`` (same formats as stations); generated when ``None``.
    trainings
        Training ledger 培训台账 for ``progress`` (CSV/XLSX), optional.
    targets
        Targets file for ``progress`` (district, year, stations, trainings), replacing the
        city profile's targets; optional.
    progress_by
        Period ends of ``progress``: ``"year"`` (default) or ``"quarter"``.
    group
        The demand group of the accessibility figures: ``"total"`` (default),
        ``"working_age"`` (15-59, from the city's census) or a CSV of shares per district
        (:func:`~skillcircle.inputs.groups.demand_group`).
    access_method
        ``"2sfca"`` (default) or ``"e2sfca"``
        (:mod:`~skillcircle.access.accessibility`).
    default_capacity
        Trainings per year of a station whose ledger row gives no capacity (容量); ``None``
        counts such a station 0.
    participation_rate
        Trainings per resident of the group per year that count as demand; ``None`` derives
        it from the city profile's target (trainings over the programme's years per
        resident of the group) or takes
        :data:`~skillcircle.access.accessibility.DEFAULT_PARTICIPATION`.
    minutes, max_snap_m, cache_dir, walkway_half_width_m, network_gap_m
        The :class:`~skillcircle.settings.Settings` fields of the same names: walking time,
        snapping limit, cache folder, isochrone half-width and the longest gap joined in the
        network-sensitivity figures. ``None`` (not given) takes the
        Settings default; after construction each holds the value in force.
    speeds_kmh
        One or more walking speeds: the first is the headline (``Settings.speed_kmh``), the
        others a sensitivity table. Empty (not given) takes the Settings default speed.
    crs
        Projected CRS of the maths. Default ``None`` (``"auto"`` in a study file): chosen
        when the inputs are read — the city profile's CRS when the districts are in a
        profiled city, else the UTM zone of the districts' centroid (of the stations' without
        districts).
    calibrate
        Scale raster population to the census total of each district.
    retain_all
        Keep every network component instead of the largest.
    suggest
        Options of ``skillcircle suggest`` from the study file's ``[suggest]`` table (keys in
        :data:`SUGGEST_KEYS`); empty by default. Values are checked when the plan is made.
    buffer_m
        Buffer around the boundary when clipping the network, metres: finite, between 0 and
        :data:`MAX_BUFFER_M` (50 000).
    dask
        Where to compute coverage: ``None`` (default) in this process, without importing
        Dask; ``"local"`` / ``"local:N"`` on a ``LocalCluster`` of N worker processes started
        for the run; ``"tcp://HOST:PORT"`` on a running Dask scheduler
        (:mod:`skillcircle.access.distributed`).
    parts_by
        How a Dask run splits the study into parts, one task each: ``"district"`` (default),
        ``"subdistrict"`` (街道) or ``"grid:<km>"`` (square tiles of that side); every part
        measures its residents exactly as a single run (:mod:`skillcircle.access.partition`).
        Unused without ``dask``.
    """

    stations: Path
    network: str
    coords: str = "wgs84"
    population: str | None = None
    districts: str | None = None
    subdistricts: Path | None = None
    landcover: Path | None = None
    boundary: str | None = None
    candidates: Path | None = None
    trainings: Path | None = None
    targets: Path | None = None
    progress_by: str = "year"
    group: str = "total"
    access_method: str = "2sfca"
    default_capacity: float | None = None
    participation_rate: float | None = None
    minutes: float | None = None
    speeds_kmh: tuple[float, ...] = ()
    max_snap_m: float | None = None
    crs: str | None = None
    cache_dir: Path | None = None
    walkway_half_width_m: float | None = None
    network_gap_m: float | None = None
    calibrate: bool = True
    retain_all: bool = False
    buffer_m: float = 1000.0
    suggest: dict[str, Any] = field(default_factory=dict)
    dask: str | None = None
    parts_by: str = "district"
    extra: dict[str, Any] = field(default_factory=dict)
    _settings: Settings = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_buffer_m(self.buffer_m)
        from skillcircle.access.distributed import check_dask  # imports no Dask
        from skillcircle.access.partition import check_parts_by

        object.__setattr__(self, "parts_by", check_parts_by(self.parts_by))
        if self.dask is not None:
            object.__setattr__(self, "dask", check_dask(self.dask))
        if not isinstance(self.suggest, dict):
            raise InputError(
                f"suggest must be a table of options, got {self.suggest!r}", param="suggest"
            )
        unknown = sorted(set(self.suggest) - set(SUGGEST_KEYS))
        if unknown:
            raise InputError(
                f"unknown suggest option(s): {', '.join(unknown)} "
                f"(known: {', '.join(SUGGEST_KEYS)})",
                param="suggest",
                field=f"suggest.{unknown[0]}",
            )
        for name in ("calibrate", "retain_all"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(
                    f"{name} must be true or false, got {getattr(self, name)!r}",
                    param=name,
                )
        if self.progress_by not in PROGRESS_PERIODS:
            raise InputError(
                f"progress_by must be one of {', '.join(PROGRESS_PERIODS)}, "
                f"got {self.progress_by!r}",
                param="progress_by",
            )
        if self.access_method not in ACCESS_METHODS:
            raise InputError(
                f"access_method must be one of {', '.join(ACCESS_METHODS)}, "
                f"got {self.access_method!r}",
                param="access_method",
            )
        for name in ("default_capacity", "participation_rate"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, positive(getattr(self, name), name))
        for name in ("coords", "network", "group"):
            if not isinstance(getattr(self, name), str):
                raise InputError(f"{name} must be text, got {getattr(self, name)!r}", param=name)
        # the numbers, the CRS and the cache folder are checked by Settings' own rules
        speeds = parse_speeds(self.speeds_kmh) if self.speeds_kmh != () else ()
        # every Settings field is a study field of the same name (the speed is a list here)
        given = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(Settings)
            if f.name != "speed_kmh"
        }
        settings = build_settings(**given, speed_kmh=speeds[0] if speeds else None)
        object.__setattr__(self, "_settings", settings)
        for name in given:  # what is in force, defaults included
            object.__setattr__(self, name, getattr(settings, name))
        object.__setattr__(self, "speeds_kmh", speeds or (settings.speed_kmh,))

    def settings(self) -> Settings:
        """The :class:`~skillcircle.settings.Settings` of the study, at the headline speed.

        This is the only place a study becomes settings: every Settings field comes from the
        study field of the same name (``speed_kmh`` from the first of ``speeds_kmh``).
        """
        return self._settings

    @classmethod
    def from_options(cls, *, base_dir: Path | None = None, **options: Any) -> Study:
        """Build a study from keyword options (``None`` values are ignored).

        Parameters
        ----------
        base_dir
            Folder that relative paths are resolved against (the study file's folder).
        **options
            Field values; ``speed_kmh`` accepts ``"4.0,3.0"`` or a list.
        """
        opts = {k: v for k, v in options.items() if v is not None}
        for key in ("districts", "population", "boundary", "dask"):
            if isinstance(opts.get(key), str) and opts[key].strip().lower() in ("", "none"):
                opts[key] = None  # "none" switches an input off (e.g. districts="none")
        if isinstance(opts.get("crs"), str) and opts["crs"].strip().lower() == "auto":
            opts.pop("crs")  # "auto": chosen from the study area (the default)
        if "speed_kmh" in opts:
            opts["speeds_kmh"] = parse_speeds(opts.pop("speed_kmh"))
        elif "speeds_kmh" in opts:
            opts["speeds_kmh"] = parse_speeds(opts["speeds_kmh"])
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(opts) - names)
        if unknown:
            raise InputError(f"unknown study option(s): {', '.join(unknown)}", param=unknown)
        for key in ("stations", "network"):
            if key not in opts:
                raise InputError(
                    f"the study needs {key}: give it in the study file or as an option", param=key
                )
        for key in _PATH_FIELDS:
            if opts.get(key) is not None:
                opts[key] = _resolve(opts[key], base_dir)
        group = opts.get("group")
        if isinstance(group, str | os.PathLike) and str(group) not in ("total", "working_age"):
            opts["group"] = str(_resolve(group, base_dir))  # a file of shares
        for key in _SOURCE_FIELDS:
            if opts.get(key) is not None:
                opts[key] = _resolve_source(str(opts[key]), base_dir)
        return cls(**opts)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **overrides: Any) -> Study:
        """Read a study file; keyword ``overrides`` (e.g. command-line flags) win.

        An error about a value of the file names the file and the key; one about an override
        names the parameter only.
        """
        path = Path(path)
        if not path.is_file():
            raise InputFileNotFoundError(path, "study file")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"not a valid TOML study file ({exc})", path=path) from exc
        # the file's relative paths are relative to the file; the flags' to the current folder
        for key in (*_PATH_FIELDS, *_SOURCE_FIELDS):
            if isinstance(data.get(key), str):
                data[key] = (
                    str(_resolve(data[key], path.parent))
                    if key in _PATH_FIELDS
                    else _resolve_source(data[key], path.parent)
                )
        group = data.get("group")
        if isinstance(group, str) and group not in ("total", "working_age"):
            data["group"] = str(_resolve(group, path.parent))
        given = {k: v for k, v in overrides.items() if v is not None}
        data.update(given)
        try:
            study = cls.from_options(**data)
        except InputError as exc:
            if exc.params and set(exc.params) <= set(given) | _speed_names(given):
                raise  # about an override, not the file
            # about a key of the file: name the file (and the key), not a parameter
            raise InputError(exc.reason, path=path, field=exc.field) from exc
        return dataclasses.replace(study, extra={**study.extra, "study_file": str(path)})

    def input_paths(self) -> list[Path]:
        """Every local file this study reads (the study file too): outputs must not touch them.

        Online sources (``place:…``, ``cnmaps:…``) are not files and are left out; a
        ``file:layer`` source gives the file.
        """
        paths: list[Path] = []
        for key in (*_PATH_FIELDS, *_SOURCE_FIELDS):
            if key == "cache_dir":
                continue
            value = getattr(self, key)
            if value is None:
                continue
            text = _without_layer(str(value))
            if ":" in text.split("/")[0] and not Path(text).exists():
                continue  # "cnmaps:<adcode>", "place:<name>"
            paths.append(Path(text))
        if self.group not in ("total", "working_age"):
            paths.append(Path(self.group))  # a file of shares
        if isinstance(self.extra.get("study_file"), str):
            paths.append(Path(self.extra["study_file"]))
        return paths


#: What each input of a study is, as the file errors name it.
_INPUT_WHAT = {
    "stations": "station ledger",
    "network": "network file",
    "population": "population raster",
    "landcover": "land-cover raster",
    "districts": "district file",
    "subdistricts": "sub-district file",
    "boundary": "boundary file",
    "candidates": "candidate file",
    "trainings": "training ledger",
    "targets": "targets file",
}


def check_input_files(study: Study) -> None:
    """Check that every input file of a study exists and can be read, before any work.

    Online and built-in sources (``place:<name>``, ``cnmaps:<code>``) are not files and are
    skipped; ``roads.gpkg:<layer>`` is checked as ``roads.gpkg``. Only existence, type and
    readability are checked here (the first byte is read); each reader checks the content.

    Parameters
    ----------
    study
        The study.

    Raises
    ------
    InputFileNotFoundError
        When a file does not exist ("worldpop.tiff: population raster not found").
    InputError
        When a path is a folder (other than a ``.gdb`` geodatabase), is empty (0 bytes) or
        cannot be read; the message names the file.
    """
    for key, what in _INPUT_WHAT.items():
        value = getattr(study, key)
        if value is None:
            continue
        text = str(value)
        if text == "online" or text.lower().startswith(("place:", "cnmaps:")):
            continue
        check_input_file(_without_layer(text), what)


def check_input_file(path: str | os.PathLike[str], what: str) -> Path:
    """Check that one input file exists, is a file (or a ``.gdb`` folder) and can be read.

    Parameters
    ----------
    path
        The file.
    what
        What it is, for the message (``"population raster"``).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputFileNotFoundError, InputError
        As :func:`check_input_files`.
    """
    file = Path(path)
    if not file.exists():
        raise InputFileNotFoundError(file, what)
    if file.is_dir():
        if file.suffix.lower() == ".gdb":  # an Esri file geodatabase is a folder
            return file
        raise InputError(f"is a folder, not a {what}", path=file)
    try:
        with file.open("rb") as handle:
            first = handle.read(1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"cannot read the {what} ({reason})", path=file) from exc
    if not first:
        raise InputError(f"the {what} is empty (0 bytes)", path=file)
    return file


def _without_layer(text: str) -> str:
    """``roads.gpkg:layer`` → ``roads.gpkg``, ``ledger.xlsx:Sheet2`` → ``ledger.xlsx``."""
    from skillcircle.inputs.files import split_layer

    return split_layer(text, suffixes=(".gpkg", ".xlsx", ".xlsm"))[0]


def _speed_names(given: dict[str, Any]) -> set[str]:
    """The speed is ``speed_kmh`` or ``speeds_kmh``, whichever name the override used."""
    return {"speed_kmh", "speeds_kmh"} if {"speed_kmh", "speeds_kmh"} & set(given) else set()


def _resolve(value: Any, base_dir: Path | None) -> Path:
    p = Path(os.path.expandvars(str(value))).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p


def _resolve_source(value: str, base_dir: Path | None) -> str:
    scheme = value.split(":", 1)[0] if ":" in value.split("/")[0] else ""
    if scheme.isalnum() and not Path(value).exists():
        return value  # "cnmaps:110101", "place:东城区, 北京"; not "roads.gpkg:layer"
    return str(_resolve(value, base_dir))
