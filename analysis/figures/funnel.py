"""Contour-enhanced funnel plot with the pooled line and, when given, trim-and-fill studies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.lines import Line2D

from . import style
from ._common import NothingToDraw, fmt_tick, get, identity, is_ratio, measure_name, new_figure, nice_ratio_ticks
from .alt import funnel_alt

# Two-sided significance levels of the shaded contours around the null, and their z values
# (fixed constants of the display, not estimates).
CONTOURS = ((0.10, 1.6448536269514722, "#eeeeee"), (0.05, 1.959963984540054, "#d9d9d9"), (0.01, 2.5758293035489004, "#c2c2c2"))
Z95 = 1.959963984540054


FUNNEL_HEIGHT_IN = 3.2
AXIS_LEFT_IN = 0.55  # tick labels and the axis label
AXIS_BOTTOM_IN = 0.45
LEGEND_IN = 1.75  # room right of the axes for the legend

@dataclass
class FunnelLayout:
    fig: Figure
    ax: Any
    observed: np.ndarray  # (k, 2): yi, se
    filled: np.ndarray  # (k0, 2)
    pooled_x: float
    adjusted_x: float | None
    se_max: float
    transform: Callable = identity
    alt: str = ""


def _filled_points(trimfill) -> tuple[np.ndarray, np.ndarray, Any]:
    """The imputed studies of a trim-and-fill result, and its adjusted pooled result."""
    if trimfill is None:
        return np.empty(0), np.empty(0), None
    adjusted = get(trimfill, "result", "pooled", "adjusted", "fit")
    yi = get(trimfill, "filled_yi", "yi_filled", "fill_yi")
    vi = get(trimfill, "filled_vi", "vi_filled", "fill_vi")
    if yi is None:
        # a combined vector with a mask marking the imputed entries (metafor's `fill`)
        mask = np.asarray(get(trimfill, "fill", "filled", default=[]), dtype=bool)
        all_yi = np.asarray(get(trimfill, "yi", default=get(adjusted, "yi", default=[])), dtype=float)
        all_vi = np.asarray(get(trimfill, "vi", default=get(adjusted, "vi", default=[])), dtype=float)
        if len(mask) != len(all_yi):
            return np.empty(0), np.empty(0), adjusted
        yi, vi = all_yi[mask], all_vi[mask]
    return np.asarray(yi, dtype=float), np.asarray(vi, dtype=float), adjusted


def funnel_plot(
    result,
    *,
    funnel=None,
    trimfill=None,
    transform: Callable | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    null: float = 0.0,
    contours: bool = True,
) -> tuple[Figure, FunnelLayout]:
    """Effect (x) against standard error (y, 0 at the top) for `result` (a PoolResult).

    `funnel` (analysis.stats.sensitivity.FunnelData) supplies the points and the pseudo
    confidence lines; without it they come from the result's yi and vi.
    Shaded regions mark where a study would be significant at 10%, 5% and 1% around
    `null`; dashed lines are the pseudo 95% confidence region around the pooled estimate.
    """
    measure = str(get(result, "measure", default="GEN"))
    ratio = is_ratio(measure)
    t = transform or (np.exp if ratio else identity)
    if funnel is not None:
        yi = funnel.points["yi"].to_numpy(dtype=float)
        se = funnel.points["sei"].to_numpy(dtype=float)
    else:
        yi = np.asarray(get(result, "yi"), dtype=float)
        se = np.sqrt(np.asarray(get(result, "vi"), dtype=float))
    # tables a common-effect method dropped (NaN) have no point to draw
    keep = np.isfinite(yi) & np.isfinite(se)
    yi, se = yi[keep], se[keep]
    if yi.size == 0:
        raise NothingToDraw("no study has an estimate to plot")
    f_yi, f_vi, adjusted = _filled_points(trimfill)
    f_se = np.sqrt(f_vi)
    est = float(get(result, "estimate"))

    se_max = float(max(np.max(se), np.max(f_se) if len(f_se) else 0.0)) * 1.08
    fig = new_figure()
    # the PDF text width; the legend takes the right-hand LEGEND_IN
    width, height = style.TEXT_WIDTH_IN, FUNNEL_HEIGHT_IN
    top = 0.35 if title else 0.12
    fig.set_size_inches(width, height)
    ax = fig.add_axes((AXIS_LEFT_IN / width, AXIS_BOTTOM_IN / height, (width - AXIS_LEFT_IN - LEGEND_IN) / width,
                       (height - AXIS_BOTTOM_IN - top) / height))
    s_grid = np.array([0.0, se_max])
    z_out = CONTOURS[-1][1] if contours else 0.0
    xs = np.concatenate([yi, f_yi, [est, null]])
    lo = min(xs.min(), est - Z95 * se_max, null - z_out * se_max)
    hi = max(xs.max(), est + Z95 * se_max, null + z_out * se_max)
    pad = 0.04 * (hi - lo)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(se_max, 0)
    handles = []
    if contours:
        # Band i holds studies with z between z_i and z_(i+1) around the null; the last
        # band runs to the plot edge (p below the smallest level).
        labels = ["0.10 > p > 0.05", "0.05 > p > 0.01", "p < 0.01"]
        for i, (p, z, colour) in enumerate(CONTOURS):
            for sign in (-1, 1):
                inner = null + sign * z * s_grid
                if i + 1 < len(CONTOURS):
                    outer = null + sign * CONTOURS[i + 1][1] * s_grid
                else:
                    outer = np.full(2, hi + pad if sign > 0 else lo - pad)
                ax.fill_betweenx(s_grid, inner, outer, color=colour, lw=0, zorder=0)
            handles.append(Patch(facecolor=colour, label=labels[i]))
    if funnel is not None:
        c = funnel.contour
        ax.plot(c["ci_lb"], c["sei"], ls="--", color=style.INK, lw=0.7, zorder=2)
        ax.plot(c["ci_ub"], c["sei"], ls="--", color=style.INK, lw=0.7, zorder=2)
    else:
        ax.plot([est - Z95 * se_max, est, est + Z95 * se_max], [se_max, 0, se_max], ls="--", color=style.INK, lw=0.7, zorder=2)
    ax.axvline(est, color=style.INK, lw=0.9, zorder=2)
    handles.append(Line2D([], [], color=style.INK, lw=0.9, label="Pooled estimate"))
    adj_x = None
    if adjusted is not None and len(f_yi):
        adj_x = float(get(adjusted, "estimate"))
        ax.axvline(adj_x, color=style.PI_COLOUR, lw=0.9, ls=":", zorder=2)
        handles.append(Line2D([], [], color=style.PI_COLOUR, lw=0.9, ls=":", label="Adjusted (trim-and-fill)"))
    ax.scatter(yi, se, s=22, color=style.STUDY_COLOUR, edgecolor="white", linewidths=0.5, zorder=4)
    handles.append(Line2D([], [], marker="o", ls="", color=style.STUDY_COLOUR, label="Study"))
    if len(f_yi):
        ax.scatter(f_yi, f_se, s=22, facecolor="white", edgecolor=style.PI_COLOUR, linewidths=0.9, zorder=4)
        handles.append(Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor=style.PI_COLOUR, color=style.PI_COLOUR, label="Imputed (trim-and-fill)"))
    if ratio:
        x0, x1 = ax.get_xlim()
        ticks = nice_ratio_ticks(x0, x1)
        ax.set_xticks(np.log(ticks), [fmt_tick(v) for v in ticks])
    ax.set_xlabel(xlabel or (f"{measure_name(measure)} (log scale)" if ratio else measure_name(measure)))
    ax.set_ylabel("Standard error")
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(1.0, 0.0), fontsize=style.FONT_SIZE, borderaxespad=0.3)
    if title:
        ax.set_title(title, loc="left", fontweight="bold", fontsize=style.TITLE_SIZE)
    layout = FunnelLayout(
        fig=fig, ax=ax, observed=np.column_stack([yi, se]), filled=np.column_stack([f_yi, f_se]) if len(f_yi) else np.empty((0, 2)),
        pooled_x=est, adjusted_x=adj_x, se_max=se_max, transform=t,
    )
    layout.alt = funnel_alt(result, len(f_yi), t, ratio)
    return fig, layout
