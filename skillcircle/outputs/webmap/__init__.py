"""The interactive web map (``map.html``); being split into modules, see :mod:`.layers`."""

from skillcircle.outputs.webmap.layers import *  # noqa: F403
from skillcircle.outputs.webmap.layers import __all__ as __all__
