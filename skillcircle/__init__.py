"""skillcircle: how well service stations cover people within a 15-minute walk.

The pipeline runs one way: inputs (stations, boundaries, census) → walking network → reach →
population and coverage → siting → outputs (report, web map) → command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

#: The one place the version is written (pyproject.toml reads it; CHANGELOG.md's top entry).
__version__ = "0.2.0"

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

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and editors
    from skillcircle.access.analysis import Analysis, analyse
    from skillcircle.access.summary import Summary
    from skillcircle.demo import run_demo
    from skillcircle.inputs.boundaries import read_districts, read_subdistricts
    from skillcircle.inputs.datasets import get_path
    from skillcircle.inputs.stations import read_stations
    from skillcircle.network.load import load_network
    from skillcircle.network.model import Network
    from skillcircle.outputs.publish import publish
    from skillcircle.siting.suggest import Plan, suggest
    from skillcircle.study import Study

# The heavy public API is imported on first use, so `import skillcircle` and `--version` stay fast.
_LAZY = {
    "analyse": "skillcircle.access.analysis",
    "Analysis": "skillcircle.access.analysis",
    "Study": "skillcircle.study",
    "suggest": "skillcircle.siting.suggest",
    "Plan": "skillcircle.siting.suggest",
    "publish": "skillcircle.outputs.publish",
    "read_stations": "skillcircle.inputs.stations",
    "read_districts": "skillcircle.inputs.boundaries",
    "read_subdistricts": "skillcircle.inputs.boundaries",
    "load_network": "skillcircle.network.load",
    "Network": "skillcircle.network.model",
    "run_demo": "skillcircle.demo",
    "get_path": "skillcircle.inputs.datasets",
    "Summary": "skillcircle.access.summary",
}


def __getattr__(name: str) -> object:
    """Import the public API lazily (PEP 562)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'skillcircle' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, the lazy public API included."""
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Analysis",
    "CacheError",
    "DataFolderError",
    "InfeasibleError",
    "InputError",
    "InputFileNotFoundError",
    "Network",
    "NetworkError",
    "Plan",
    "Settings",
    "SettingsError",
    "SkillcircleError",
    "Study",
    "Summary",
    "__version__",
    "analyse",
    "get_path",
    "load_network",
    "publish",
    "read_districts",
    "read_stations",
    "read_subdistricts",
    "run_demo",
    "suggest",
]
