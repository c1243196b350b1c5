"""Leave-one-out and cumulative meta-analysis plots from the frames of analysis.stats.sensitivity."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import style
from ._common import NothingToDraw, fmt_num, fmt_tick, get, identity, is_ratio, measure_name, nice_ratio_ticks, page_chunks
from ._rowchart import ROWS_PER_PAGE, RowChartLayout, column_widths, row_chart
from .alt import sensitivity_alt

LABEL_COLUMNS = ("study", "label", "omitted", "added")


def _label_column(frame: pd.DataFrame) -> str:
    for c in LABEL_COLUMNS:
        if c in frame.columns:
            return c
    raise ValueError(f"sensitivity frame needs one of the columns {', '.join(LABEL_COLUMNS)}")


def _plot(kind: str, frame: pd.DataFrame, result, *, transform, xlabel, title, digits, measure,
          rows_per_page: int | None = None) -> list[tuple[Figure, RowChartLayout]]:
    """The chart as pages of at most `rows_per_page` rows (default ROWS_PER_PAGE, what fits
    the PDF text block under a caption; 0 for one figure however long), each with the column
    headers, the axis and the columns at the same scale and place; the studies run on in
    order and the last page ends with the row of all studies."""
    if frame is None or len(frame) == 0:
        raise NothingToDraw(f"no {kind.replace('_', '-')} rows")
    label_col = _label_column(frame)
    measure = measure or str(get(result, "measure", default="GEN"))
    ratio = is_ratio(measure)
    t = transform or (np.exp if ratio else identity)
    prefix = "Omitting " if kind == "leave_one_out" else "+ "
    rows = []
    for rec in frame.to_dict("records"):
        i2 = rec.get("i2")
        rows.append(
            {
                "label": prefix + str(rec[label_col]),
                "est": float(rec["estimate"]),
                "lb": float(rec["ci_lb"]),
                "ub": float(rec["ci_ub"]),
                "cells": [
                    f"{fmt_num(t(rec['estimate']), digits)} [{fmt_num(t(rec['ci_lb']), digits)}, {fmt_num(t(rec['ci_ub']), digits)}]",
                    "" if i2 is None else f"{fmt_num(i2, 1)}%",
                ],
            }
        )
    reference = None
    tail = []
    if result is not None:
        est, lb, ub = (float(get(result, a)) for a in ("estimate", "ci_lb", "ci_ub"))
        reference = (est, lb, ub)
        tail = [{"label": "", "cells": ["", ""]},
                {
                    "label": f"All studies (k = {get(result, 'k')})",
                    "bold": True,
                    "est": est,
                    "lb": lb,
                    "ub": ub,
                    "marker": "D",
                    "colour": style.POOLED_COLOUR,
                    "cells": [f"{fmt_num(t(est), digits)} [{fmt_num(t(lb), digits)}, {fmt_num(t(ub), digits)}]", f"{fmt_num(get(result, 'i2'), 1)}%"],
                }]
    vals = [v for r in rows + tail for v in (r.get("lb"), r.get("ub")) if v is not None]
    lo, hi = min(vals + [0.0]), max(vals + [0.0])
    pad = 0.05 * (hi - lo or 1.0)
    xlim = (lo - pad, hi + pad)
    ticks = None
    if ratio:
        tv = nice_ratio_ticks(*xlim)
        ticks = ([math.log(v) for v in tv], [fmt_tick(v) for v in tv])
    name = measure_name(measure)
    level = fmt_num(get(result, "level", default=95), 0)
    headers = [f"{measure if measure != 'GEN' else 'Estimate'} [{level}% CI]", "I\u00b2"]
    label_header = "Omitted study" if kind == "leave_one_out" else "Study added"
    alt = sensitivity_alt(kind, frame.reset_index(drop=True), label_col, t, name)
    if result is not None:
        alt += f" All studies together: {fmt_num(t(reference[0]))} ({level}% CI {fmt_num(t(reference[1]))} to {fmt_num(t(reference[2]))})."
    limit = ROWS_PER_PAGE if rows_per_page is None else int(rows_per_page)
    chunks = _chunks(rows, tail, limit) if limit > 0 else [rows + tail]
    widths = column_widths(rows + tail, headers, label_header) if len(chunks) > 1 else None
    pages = []
    for n, chunk in enumerate(chunks, 1):
        many = len(chunks) > 1
        studies = [r["label"] for r in chunk if r.get("est") is not None and not r.get("bold")]
        layout = row_chart(
            chunk,
            headers=headers,
            label_header=label_header,
            xlim=xlim,
            xlabel=xlabel or (f"{name} (log scale)" if ratio else name),
            ticks=ticks,
            reference=reference,
            null=0.0,
            title=f"{title or 'Sensitivity analysis'} ({n} of {len(chunks)})" if many else title,
            widths=widths,
        )
        layout.alt = alt if not many else f"{alt} Page {n} of {len(chunks)}: " + (
            f"rows {studies[0]} to {studies[-1]}." if studies else "all studies together.")
        layout.page, layout.pages = n, len(chunks)
        pages.append((layout.fig, layout))
    return pages


def _chunks(rows: list[dict], tail: list[dict], limit: int) -> list[list[dict]]:
    if limit < len(tail) + 1:
        raise ValueError(f"rows_per_page = {limit} leaves no room for the {len(tail)} closing rows and a study")
    return page_chunks(rows, tail, limit)


def leave_one_out_pages(frame: pd.DataFrame, result=None, *, transform: Callable | None = None,
                        xlabel: str | None = None, title: str | None = None, digits: int = 2,
                        measure: str | None = None, rows_per_page: int | None = None) -> list[tuple[Figure, RowChartLayout]]:
    """leave_one_out_plot as page-sized figures (see _plot): one page when everything fits."""
    return _plot("leave_one_out", frame, result, transform=transform, xlabel=xlabel, title=title, digits=digits,
                 measure=measure, rows_per_page=rows_per_page)


def cumulative_pages(frame: pd.DataFrame, result=None, *, transform: Callable | None = None,
                     xlabel: str | None = None, title: str | None = None, digits: int = 2,
                     measure: str | None = None, rows_per_page: int | None = None) -> list[tuple[Figure, RowChartLayout]]:
    """cumulative_plot as page-sized figures (see _plot): one page when everything fits."""
    return _plot("cumulative", frame, result, transform=transform, xlabel=xlabel, title=title, digits=digits,
                 measure=measure, rows_per_page=rows_per_page)


def leave_one_out_plot(frame: pd.DataFrame, result=None, *, transform: Callable | None = None, xlabel: str | None = None,
                       title: str | None = None, digits: int = 2, measure: str | None = None) -> tuple[Figure, RowChartLayout]:
    """One row per omitted study (columns study, estimate, ci_lb, ci_ub, i2), the full model at the bottom."""
    return _plot("leave_one_out", frame, result, transform=transform, xlabel=xlabel, title=title, digits=digits,
                 measure=measure, rows_per_page=0)[0]


def cumulative_plot(frame: pd.DataFrame, result=None, *, transform: Callable | None = None, xlabel: str | None = None,
                    title: str | None = None, digits: int = 2, measure: str | None = None) -> tuple[Figure, RowChartLayout]:
    """One row per study added, in the frame's order; each row pools the studies so far."""
    return _plot("cumulative", frame, result, transform=transform, xlabel=xlabel, title=title, digits=digits,
                 measure=measure, rows_per_page=0)[0]
