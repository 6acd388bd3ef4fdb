"""The one settings object of skillcircle.

Nothing in skillcircle reads global state: every function that needs a walking speed, a time
budget, a coordinate reference system or a cache folder takes a :class:`Settings` explicitly.

>>> s = Settings()
>>> round(s.walk_distance_m, 6)
1000.0
>>> round(s.replace(speed_kmh=3.0).walk_distance_m, 6)
750.0
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError

from skillcircle._errors import SettingsError
from skillcircle._validate import positive
from skillcircle.profiles import guangzhou

__all__ = ["Settings", "default_cache_dir"]

#: Deprecated, not a default of anything: kept only so that ``skillcircle.outputs`` still
#: imports until the output contract lands; remove it then. Use ``Settings.metric_crs``.
DEFAULT_CRS = guangzhou.PROFILE.crs


def default_cache_dir() -> Path:
    """Return the default cache folder.

    ``$SKILLCIRCLE_CACHE`` if set, else ``$XDG_CACHE_HOME/skillcircle``, else
    ``~/.cache/skillcircle``.
    """
    if env := os.environ.get("SKILLCIRCLE_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "skillcircle"


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """How far people walk, where metric maths happens, and where caches live.

    Attributes
    ----------
    minutes
        The time budget of the walking circle. The programme's "15-minute skills-training
        circle" (15 分钟技能培训圈) gives the default, 15.
    speed_kmh
        Walking speed. The default, 4.0 km/h, makes 15 minutes = 1 000 m, the top of the
        800-1 000 m walking radius of the 15-minute life circle in the national standard
        GB 50180-2018 (城市居住区规划设计标准). Use 3.0 km/h for elderly or disabled walkers.
    max_snap_m
        Farthest a station, a candidate or a resident may be from the walking network and
        still be joined to it. Anything farther is "off-network": flagged, never silently
        snapped.
    crs
        Projected coordinate reference system (metres) for all distance and area maths.
        ``None`` (default) means "choose from the study area":
        :func:`~skillcircle.access.analysis.load_inputs` resolves it once, to the city
        profile's CRS (:mod:`skillcircle.profiles`) or else the UTM zone of the study area,
        and hands every later stage the resolved settings.
    cache_dir
        Folder for cached networks and osmnx's HTTP cache.
    walkway_half_width_m
        Half-width of the buffer drawn around reached streets to make isochrone polygons.
    """

    minutes: float = 15.0
    speed_kmh: float = 4.0
    max_snap_m: float = 500.0
    crs: str | None = None
    cache_dir: Path = field(default_factory=default_cache_dir)
    walkway_half_width_m: float = 50.0

    def __post_init__(self) -> None:
        for name in ("minutes", "speed_kmh", "max_snap_m", "walkway_half_width_m"):
            positive(getattr(self, name), name, error=SettingsError)
        if self.crs is not None:
            if not isinstance(self.crs, str):
                raise SettingsError(f"setting crs must be text like 'EPSG:32650', got {self.crs!r}")
            try:
                crs = CRS.from_user_input(self.crs)
            except CRSError as exc:
                raise SettingsError(f"setting crs: {self.crs!r} is not a known CRS") from exc
            if not crs.is_projected:
                raise SettingsError(f"setting crs: {self.crs!r} is not a projected (metric) CRS")
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))

    @property
    def metric_crs(self) -> str:
        """The resolved projected CRS.

        Raises
        ------
        SettingsError
            If ``crs`` is still ``None`` (not resolved from a study area).
        """
        if self.crs is None:
            raise SettingsError(
                "setting crs is not resolved: give crs (e.g. 'EPSG:32650'), or let "
                "load_inputs choose it from the study area"
            )
        return self.crs

    @property
    def walk_distance_m(self) -> float:
        """Walking distance reachable in ``minutes`` at ``speed_kmh``, in metres."""
        return self.speed_kmh * 1000.0 * self.minutes / 60.0

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
