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
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyproj import CRS, Proj
from pyproj.exceptions import CRSError

from skillcircle._errors import SettingsError
from skillcircle._validate import positive
from skillcircle.profiles import guangzhou, utm_crs

__all__ = ["LIMITS", "MAX_SCALE_ERROR", "Settings", "check_crs_distortion", "default_cache_dir"]

#: Upper limits of the numeric settings, in their own units. A planning study walks; a value
#: beyond these is a typo or a unit mix-up (km for m, km/h of a car), not a study:
#:
#: - ``minutes`` ≤ 120: two hours on foot (the longest "life circle" in GB 50180-2018 is 15
#:   minutes; 120 leaves room for rural what-ifs);
#: - ``speed_kmh`` ≤ 10: a brisk walk is 5-6 km/h, a jog 8-10; a bus or a bicycle is not a
#:   walking circle;
#: - ``max_snap_m`` ≤ 5 000: a resident 5 km from any street is not "near" one;
#: - ``walkway_half_width_m`` ≤ 200: the drawn strip along a street, not a district;
#: - ``network_gap_m`` ≤ 100: a digitising gap, not a missing street (0 is allowed: no
#:   joined-gaps figure).
LIMITS: dict[str, float] = {
    "minutes": 120.0,
    "speed_kmh": 10.0,
    "max_snap_m": 5000.0,
    "walkway_half_width_m": 200.0,
    "network_gap_m": 100.0,
}

#: Settings that may be 0.
_ZERO_ALLOWED = frozenset({"network_gap_m"})

#: Deprecated, not a default of anything: kept only so that ``skillcircle.outputs`` still
#: imports until the output contract lands; remove it then. Use ``Settings.metric_crs``.
DEFAULT_CRS = guangzhou.PROFILE.crs

#: Largest scale error of a projected CRS at the study area: 1 % (Web Mercator at 23° N is
#: about 9 % too long; a UTM zone is within 0.1 % across its width).
MAX_SCALE_ERROR = 0.01


def check_crs_distortion(crs: str, *, lon: float, lat: float) -> float:
    """Refuse a projected CRS whose distances are off by more than 1 % at a place.

    Parameters
    ----------
    crs
        The projected CRS (e.g. ``"EPSG:32650"``).
    lon, lat
        The centre of the study area, degrees (WGS84).

    Returns
    -------
    float
        The scale error there (0.0004 for ``0.9996``): the larger of the meridional and the
        parallel one.

    Raises
    ------
    SettingsError
        When the error exceeds :data:`MAX_SCALE_ERROR` or cannot be measured there; the
        message names the error and suggests the UTM zone of the place.

    Examples
    --------
    >>> round(check_crs_distortion("EPSG:32649", lon=111.0, lat=23.0), 4)
    0.0004
    >>> check_crs_distortion("EPSG:3857", lon=113.3, lat=23.1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    skillcircle._errors.SettingsError: setting crs: EPSG:3857 stretches distances by 8.7 % ...
    """
    try:
        factors = Proj(CRS.from_user_input(crs)).get_factors(lon, lat)
        scales = (float(factors.meridional_scale), float(factors.parallel_scale))
    except Exception:  # pyproj raises several kinds outside the projection's domain
        scales = (math.nan, math.nan)
    error = max(abs(k - 1.0) for k in scales) if all(math.isfinite(k) for k in scales) else None
    if error is not None and error <= MAX_SCALE_ERROR:
        return error
    how = (
        "cannot be used"
        if error is None
        else f"stretches distances by {100 * error:.1f} %"
        if max(scales) > 1
        else f"shrinks distances by {100 * error:.1f} %"
    )
    raise SettingsError(
        f"setting crs: {crs} {how} at {lon:.3f}, {lat:.3f} (more than "
        f"{100 * MAX_SCALE_ERROR:g} %): use its UTM zone {utm_crs(lon, lat)}, or leave crs "
        "unset (the city profile's CRS or the UTM zone is then chosen)",
        param="crs",
    )


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
        The time budget of the walking circle, at most 120 (see :data:`LIMITS`). The
        programme's "15-minute skills-training circle" (15 分钟技能培训圈) gives the default,
        15.
    speed_kmh
        Walking speed, at most 10 km/h (see :data:`LIMITS`). The default, 4.0 km/h, makes
        15 minutes = 1 000 m, the top of the 800-1 000 m walking radius of the 15-minute
        life circle in the national standard GB 50180-2018 (城市居住区规划设计标准). Use
        3.0 km/h for elderly or disabled walkers.
    max_snap_m
        Farthest a station, a candidate or a resident may be from the walking network and
        still be joined to it (at most 5 000 m). Anything farther is "off-network": flagged,
        never silently snapped.
    crs
        Projected coordinate reference system (metres) for all distance and area maths.
        ``None`` (default) means "choose from the study area":
        :func:`~skillcircle.access.analysis.load_inputs` resolves it once, to the city
        profile's CRS (:mod:`skillcircle.profiles`) or else the UTM zone of the study area,
        and hands every later stage the resolved settings.
    cache_dir
        Folder for cached networks and osmnx's HTTP cache.
    walkway_half_width_m
        Half-width of the buffer drawn around reached streets to make isochrone polygons
        (at most 200 m).
    network_gap_m
        Longest gap, metres, between a dead end and another piece of the network that the
        network-sensitivity figures treat as a real connection (an OSM digitising gap: a
        footway that stops a few metres short of a street); see
        :mod:`skillcircle.access.network_sensitivity`. The default, 15 m, is the width of a
        two-lane street with its pavements. 0 leaves the joined-gaps figure out; at most 100.
        It never changes the headline coverage.
    """

    minutes: float = 15.0
    speed_kmh: float = 4.0
    max_snap_m: float = 500.0
    crs: str | None = None
    cache_dir: Path = field(default_factory=default_cache_dir)
    walkway_half_width_m: float = 50.0
    network_gap_m: float = 15.0

    def __post_init__(self) -> None:
        for name, limit in LIMITS.items():
            value = positive(
                getattr(self, name), name, allow_zero=name in _ZERO_ALLOWED, error=SettingsError
            )
            if value > limit:
                raise SettingsError(
                    f"setting {name} must be at most {limit:g}, got {getattr(self, name)!r}",
                    param=name,
                )
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
