"""Figures: each function takes computed results and returns (Figure, layout); nothing here computes statistics.

Importing the package applies the shared style, so inline figures in a notebook
match saved ones.
"""

from . import style as _style

_style.apply()

from ._common import NothingToDraw  # noqa: E402
from .forest import ForestLayout, forest_plot  # noqa: E402
from .rob import RobLayout, rob_summary, rob_traffic_light  # noqa: E402
from .save import save_figure  # noqa: E402

__all__ = [
    "NothingToDraw",
    "ForestLayout",
    "forest_plot",
    "RobLayout",
    "rob_summary",
    "rob_traffic_light",
    "save_figure",
]
