"""A study: every input and option of one coverage analysis, from a TOML file or keywords.

A study file lets a district office keep its set-up next to its ledgers::

    # yuexiu.toml
    stations = "ledger_2025q3.xlsx"
    coords = "gcj02"
    network = "${SKILLCIRCLE_DATA}/yuexiu/roads_osm.gpkg"
    population = "${SKILLCIRCLE_DATA}/yuexiu/worldpop.tif"
    districts = "cnmaps:440104"
    subdistricts = "${SKILLCIRCLE_DATA}/yuexiu/subdistricts_osm.gpkg"
    minutes = 15
    speed_kmh = [4.0, 3.0]

Relative paths are read relative to the study file; ``${VAR}`` is expanded from the
environment. Command-line flags override the file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skillcircle._errors import InputError, InputFileNotFoundError
from skillcircle.settings import DEFAULT_CRS, Settings

__all__ = ["Study", "parse_speeds"]

_PATH_FIELDS = ("stations", "subdistricts", "landcover", "candidates")
_SOURCE_FIELDS = ("network", "population", "districts", "boundary")


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
        When a value is not a number (booleans included), none is given, or a speed is not
        strictly between 0 and 50 km/h.

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
        raise InputError(f"speed_kmh: expected numbers like 4.0,3.0, got {value!r}")
    try:
        speeds = tuple(float(v) for v in items)
    except (TypeError, ValueError) as exc:
        raise InputError(f"speed_kmh: expected numbers like 4.0,3.0, got {value!r}") from exc
    if not speeds or any(not (0 < s < 50) for s in speeds):
        raise InputError(f"speed_kmh: expected walking speeds in km/h, got {value!r}")
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
        District polygons: ``cnmaps:<adcode>`` (``cnmaps:4401`` = Guangzhou's 11 districts) or a
        GIS file; ``"none"`` for a study without districts (no census calibration).
    subdistricts
        街道 polygons (GIS file), optional.
    landcover
        WorldCover-style raster to weight the census-only model, optional.
    boundary
        Area to clip the network to (``cnmaps:<adcode>`` or a file); defaults to the districts.
    candidates
        Candidate sites for ``suggest`` (same formats as stations); generated when ``None``.
    minutes, speeds_kmh, max_snap_m, crs
        Walking time, one or more speeds (the first is the headline, the others a
        sensitivity table), snapping limit and projected CRS.
    calibrate
        Scale raster population to the census total of each district.
    retain_all
        Keep every network component instead of the largest.
    buffer_m
        Buffer around the boundary when clipping the network.
    """

    stations: Path
    network: str
    coords: str = "wgs84"
    population: str | None = None
    districts: str | None = "cnmaps:4401"
    subdistricts: Path | None = None
    landcover: Path | None = None
    boundary: str | None = None
    candidates: Path | None = None
    minutes: float = 15.0
    speeds_kmh: tuple[float, ...] = (4.0,)
    max_snap_m: float = 500.0
    crs: str = DEFAULT_CRS
    calibrate: bool = True
    retain_all: bool = False
    buffer_m: float = 1000.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("minutes", "max_snap_m", "buffer_m"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError(f"{name} must be a number, got {value!r}", field=name)
        for name in ("calibrate", "retain_all"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(
                    f"{name} must be true or false, got {getattr(self, name)!r}", field=name
                )
        for name in ("coords", "network", "crs"):
            if not isinstance(getattr(self, name), str):
                raise InputError(f"{name} must be text, got {getattr(self, name)!r}", field=name)

    def settings(self, *, cache_dir: Path | None = None) -> Settings:
        """The :class:`~skillcircle.settings.Settings` of the headline speed."""
        kw: dict[str, Any] = {
            "minutes": self.minutes,
            "speed_kmh": self.speeds_kmh[0],
            "max_snap_m": self.max_snap_m,
            "crs": self.crs,
        }
        if cache_dir is not None:
            kw["cache_dir"] = cache_dir
        return Settings(**kw)

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
        for key in ("districts", "population", "boundary"):
            if isinstance(opts.get(key), str) and opts[key].strip().lower() in ("", "none"):
                opts[key] = None  # "none" switches an input off (e.g. --districts none)
        if "speed_kmh" in opts:
            opts["speeds_kmh"] = parse_speeds(opts.pop("speed_kmh"))
        elif "speeds_kmh" in opts:
            opts["speeds_kmh"] = parse_speeds(opts["speeds_kmh"])
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(opts) - names)
        if unknown:
            raise InputError(f"unknown study option(s): {', '.join(unknown)}")
        for key in ("stations", "network"):
            if key not in opts:
                raise InputError(f"the study needs {key!r} (a file or --{key} option)")
        for key in _PATH_FIELDS:
            if opts.get(key) is not None:
                opts[key] = _resolve(opts[key], base_dir)
        for key in _SOURCE_FIELDS:
            if opts.get(key) is not None:
                opts[key] = _resolve_source(str(opts[key]), base_dir)
        return cls(**opts)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **overrides: Any) -> Study:
        """Read a study file; keyword ``overrides`` (e.g. command-line flags) win."""
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
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.from_options(**data)
        except InputError as exc:
            raise InputError(exc.reason, path=path) from exc


def _resolve(value: Any, base_dir: Path | None) -> Path:
    p = Path(os.path.expandvars(str(value))).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p


def _resolve_source(value: str, base_dir: Path | None) -> str:
    scheme = value.split(":", 1)[0] if ":" in value.split("/")[0] else ""
    if scheme.isalnum() and not Path(value).exists():
        return value  # "cnmaps:440104", "place:越秀区, 广州"; not "roads.gpkg:layer"
    return str(_resolve(value, base_dir))
