"""Figures: each function takes computed results and returns (Figure, layout); nothing here computes statistics.

Importing the package applies the shared style, so inline figures in a notebook
match saved ones. Every layout carries an `alt` string for Quarto's fig-alt.
"""

from . import style as _style

_style.apply()

from ._common import NothingToDraw  # noqa: E402
from ._rowchart import RowChartLayout  # noqa: E402
from .forest import ForestLayout, forest_for_outcome, forest_pages, forest_pages_for_outcome, forest_plot  # noqa: E402
from .funnel import FunnelLayout, funnel_plot  # noqa: E402
from .prisma import PrismaLayout, prisma_flow  # noqa: E402
from .rob import RobLayout, rob_summary, rob_traffic_light  # noqa: E402
from .safety_plot import safety_plot  # noqa: E402
from .save import formats_wanted, save_figure  # noqa: E402
from .sensitivity_plots import cumulative_pages, cumulative_plot, leave_one_out_pages, leave_one_out_plot  # noqa: E402


def alt_text(layout) -> str:
    """The alt text of a drawn figure (its layout's `alt`), for Quarto's fig-alt."""
    return layout.alt


__all__ = [
    "NothingToDraw",
    "ForestLayout",
    "FunnelLayout",
    "PrismaLayout",
    "RobLayout",
    "RowChartLayout",
    "alt_text",
    "cumulative_pages",
    "cumulative_plot",
    "forest_for_outcome",
    "forest_pages",
    "forest_pages_for_outcome",
    "forest_plot",
    "funnel_plot",
    "leave_one_out_pages",
    "leave_one_out_plot",
    "prisma_flow",
    "rob_summary",
    "rob_traffic_light",
    "safety_plot",
    "save_figure",
    "formats_wanted",
]
