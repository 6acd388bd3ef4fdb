"""skillcircle: how well service stations cover people within a 15-minute walk.

The pipeline runs one way: inputs (stations, boundaries, census) → walking network → reach →
population and coverage → siting → outputs (report, web map) → command line.
"""

from __future__ import annotations

__version__ = "0.1.0"

from skillcircle._errors import (
    CacheError,
    DataFolderError,
    InfeasibleError,
    InputError,
    InputFileNotFoundError,
    NetworkError,
    SettingsError,
    SkillcircleError,
)
from skillcircle.settings import Settings

__all__ = [
    "CacheError",
    "DataFolderError",
    "InfeasibleError",
    "InputError",
    "InputFileNotFoundError",
    "NetworkError",
    "Settings",
    "SettingsError",
    "SkillcircleError",
    "__version__",
]
