"""A labelled dot-and-whisker chart, one row per line of text, shared by the sensitivity and safety plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

from . import style
from ._common import TextBox, new_figure, row_axes, text_boxes, text_width_in

MARGIN_IN = 0.1  # the pad a tight bounding box adds, so the saved width is the planned one
GAP_IN = 0.12
FOOTER_IN = 0.5
TITLE_IN = 0.25
LEGEND_IN = 0.24  # one line of legend under the axis label


@dataclass
class RowChartLayout:
    fig: Figure
    ax: Any
    rows: list[dict] = field(default_factory=list)  # label, y, est, lb, ub, texts
    points: list[dict] = field(default_factory=list)  # label, x, y, marker, colour
    whiskers: list[dict] = field(default_factory=list)  # label, y, x0, x1
    reference: tuple[float, float, float] | None = None  # estimate, ci_lb, ci_ub
    legend: list[dict] = field(default_factory=list)  # label, marker, colour
    texts: list = field(default_factory=list)
    alt: str = ""
    page: int = 1  # of `pages`, for a chart drawn over page-sized figures
    pages: int = 1

    def text_boxes(self) -> list[TextBox]:
        self.fig.canvas.draw()
        return text_boxes(self.fig, list(self.texts) + list(self.ax.get_xticklabels()) + [self.ax.xaxis.label])


def _widths(fig, rows, headers, label_header) -> tuple[float, list[float]]:
    kw = {"fontsize": style.FONT_SIZE}
    w_label = max(
        text_width_in(fig, [("   " * r.get("indent", 0)) + r["label"] for r in rows if not r.get("bold")], **kw),
        text_width_in(fig, [r["label"] for r in rows if r.get("bold")] + [label_header], fontweight="bold", **kw),
    )
    w_cols = [
        text_width_in(fig, [r.get("cells", [""] * len(headers))[i] for r in rows] + [h], fontweight="bold", **kw)
        for i, h in enumerate(headers)
    ]
    return w_label, w_cols


def column_widths(rows: Sequence[dict], headers: Sequence[str], label_header: str) -> tuple[float, list[float]]:
    """The widths (label, one per column) in inches that row_chart gives `rows`."""
    return _widths(new_figure(), rows, headers, label_header)  # outside pyplot: nothing to close


# Rows of one page-sized chart: what fits the PDF text block under a caption of about four
# lines (0.8 in), with the title, the header row and the axis.
CAPTION_IN = 0.8
ROWS_PER_PAGE = int((style.TEXT_HEIGHT_IN - CAPTION_IN - 2 * MARGIN_IN - TITLE_IN - FOOTER_IN) / style.ROW_HEIGHT_IN) - 1


def row_chart(
    rows: Sequence[dict],
    *,
    headers: Sequence[str],
    label_header: str,
    xlim: tuple[float, float],
    xlabel: str,
    ticks: tuple[Sequence[float], Sequence[str]] | None = None,
    reference: tuple[float, float, float] | None = None,
    null: float | None = None,
    title: str | None = None,
    width_in: float | None = None,
    legend: Sequence[tuple[str, str, str]] = (),
    widths: tuple[float, list[float]] | None = None,
) -> RowChartLayout:
    """Rows: dicts with label, and optional bold, indent, est, lb, ub, colour, marker, cells (one per header).

    The chart is `width_in` wide (default the PDF text width); the plot takes what the label
    and the columns leave: `widths` (label, columns) in inches, default `column_widths(rows,
    ...)`; a chart drawn over pages passes those of all its rows, so that its columns stand
    in the same place on each page. `legend`: (label, marker, colour) entries, drawn in one
    line under the axis label."""
    fig = new_figure()
    n = len(rows) + 1
    w_label, w_cols = widths or _widths(fig, rows, headers, label_header)
    width = float(width_in or style.TEXT_WIDTH_IN)
    x_plot = MARGIN_IN + w_label + GAP_IN
    rights = []
    x = width - MARGIN_IN
    for w in reversed(w_cols):
        rights.insert(0, x)
        x -= w + GAP_IN
    plot_width_in = max(x - x_plot, 0.5)
    top = MARGIN_IN + (TITLE_IN if title else 0.0)
    footer = FOOTER_IN + (LEGEND_IN if legend else 0.0)
    height, ax, tr = row_axes(fig, left_in=x_plot, plot_width_in=plot_width_in, width_in=width, top_in=top,
                              footer_in=footer, n_rows=n, xlim=xlim)
    layout = RowChartLayout(fig=fig, ax=ax, reference=reference)

    def put(xin, y, s, ha="left", **extra):
        if s:
            layout.texts.append(ax.text(xin / width, y, s, transform=tr, ha=ha, va="center", fontsize=style.FONT_SIZE, **extra))

    put(MARGIN_IN, 0, label_header, fontweight="bold")
    for h, r in zip(headers, rights):
        put(r, 0, h, ha="right", fontweight="bold")
    if reference is not None:
        est, lb, ub = reference
        ax.axvspan(lb, ub, ymin=0, ymax=1 - 1 / n, color=style.GRID_COLOUR, alpha=0.6, lw=0, zorder=0)
        ax.plot([est, est], [0.5, n - 0.5], color=style.INK, ls="--", lw=0.7, zorder=1)
    if null is not None and xlim[0] <= null <= xlim[1]:
        ax.plot([null, null], [0.5, n - 0.5], color=style.INK, lw=0.6, zorder=1)
    for i, r in enumerate(rows, start=1):
        y = float(i)
        put(MARGIN_IN, y, ("   " * r.get("indent", 0)) + r["label"], fontweight="bold" if r.get("bold") else "normal", color=r.get("text_colour", style.INK))
        for s, right in zip(r.get("cells", []), rights):
            put(right, y, s, ha="right")
        est = r.get("est")
        entry = {"label": r["label"], "y": y, "est": est, "lb": r.get("lb"), "ub": r.get("ub")}
        layout.rows.append(entry)
        if est is None or not np.isfinite(est):
            continue
        colour = r.get("colour", style.STUDY_COLOUR)
        if r.get("lb") is not None and np.isfinite(r["lb"]) and np.isfinite(r["ub"]):
            lo, hi = max(r["lb"], xlim[0]), min(r["ub"], xlim[1])
            ax.plot([lo, hi], [y, y], color=colour, lw=0.9, zorder=2)
            layout.whiskers.append({"label": r["label"], "y": y, "x0": lo, "x1": hi})
        marker = r.get("marker", "s")
        ax.plot([est], [y], marker=marker, ms=r.get("ms", 4.5), color=colour, mew=0, zorder=3)
        layout.points.append({"label": r["label"], "x": est, "y": y, "marker": marker, "colour": colour})
    if ticks is not None:
        ax.set_xticks(list(ticks[0]), list(ticks[1]))
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_xlabel(xlabel)
    if legend:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], ls="none", marker=m, ms=4.5, mew=0, color=c, label=lab) for lab, m, c in legend]
        # centred under the plot, in figure fraction so a tight bounding box moves it with the rest
        leg = fig.legend(handles=handles, loc="lower center", ncols=len(handles), frameon=False,
                         bbox_to_anchor=((x_plot + plot_width_in / 2) / width, MARGIN_IN / 2 / height),
                         fontsize=style.FONT_SIZE, handletextpad=0.3, columnspacing=1.2, borderpad=0.2)
        layout.legend = [{"label": lab, "marker": m, "colour": c} for lab, m, c in legend]
        layout.texts.extend(leg.get_texts())
    if title:
        layout.texts.append(fig.text(MARGIN_IN / width, 1 - MARGIN_IN / height, title, ha="left", va="top", fontsize=style.TITLE_SIZE, fontweight="bold"))
    return layout
