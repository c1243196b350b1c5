"""Leave-one-out and cumulative meta-analysis plots from the frames of analysis.stats.sensitivity."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import style
from ._common import NothingToDraw, fmt_num, fmt_tick, get, identity, is_ratio, measure_name, nice_ratio_ticks
from ._rowchart import RowChartLayout, row_chart
from .alt import sensitivity_alt

LABEL_COLUMNS = ("study", "label", "omitted", "added")


def _label_column(frame: pd.DataFrame) -> str:
    for c in LABEL_COLUMNS:
        if c in frame.columns:
            return c
    raise ValueError(f"sensitivity frame needs one of the columns {', '.join(LABEL_COLUMNS)}")


def _plot(kind: str, frame: pd.DataFrame, result, *, transform, xlabel, title, digits, measure) -> tuple[Figure, RowChartLayout]:
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
    if result is not None:
        est, lb, ub = (float(get(result, a)) for a in ("estimate", "ci_lb", "ci_ub"))
        reference = (est, lb, ub)
        rows.append({"label": "", "cells": ["", ""]})
        rows.append(
            {
                "label": f"All studies (k = {get(result, 'k')})",
                "bold": True,
                "est": est,
                "lb": lb,
                "ub": ub,
                "marker": "D",
                "colour": style.POOLED_COLOUR,
                "cells": [f"{fmt_num(t(est), digits)} [{fmt_num(t(lb), digits)}, {fmt_num(t(ub), digits)}]", f"{fmt_num(get(result, 'i2'), 1)}%"],
            }
        )
    vals = [v for r in rows for v in (r.get("lb"), r.get("ub")) if v is not None]
    lo, hi = min(vals + [0.0]), max(vals + [0.0])
    pad = 0.05 * (hi - lo or 1.0)
    xlim = (lo - pad, hi + pad)
    ticks = None
    if ratio:
        tv = nice_ratio_ticks(*xlim)
        ticks = ([math.log(v) for v in tv], [fmt_tick(v) for v in tv])
    name = measure_name(measure)
    level = fmt_num(get(result, "level", default=95), 0)
    layout = row_chart(
        rows,
        headers=[f"{measure if measure != 'GEN' else 'Estimate'} [{level}% CI]", "I\u00b2"],
        label_header="Omitted study" if kind == "leave_one_out" else "Study added",
        xlim=xlim,
        xlabel=xlabel or (f"{name} (log scale)" if ratio else name),
        ticks=ticks,
        reference=reference,
        null=0.0,
        title=title,
    )
    layout.alt = sensitivity_alt(kind, frame.reset_index(drop=True), label_col, t, name)
    if result is not None:
        layout.alt += f" All studies together: {fmt_num(t(reference[0]))} ({level}% CI {fmt_num(t(reference[1]))} to {fmt_num(t(reference[2]))})."
    return layout.fig, layout


def leave_one_out_plot(frame: pd.DataFrame, result=None, *, transform: Callable | None = None, xlabel: str | None = None,
                       title: str | None = None, digits: int = 2, measure: str | None = None) -> tuple[Figure, RowChartLayout]:
    """One row per omitted study (columns study, estimate, ci_lb, ci_ub, i2), the full model at the bottom."""
    return _plot("leave_one_out", frame, result, transform=transform, xlabel=xlabel, title=title, digits=digits, measure=measure)


def cumulative_plot(frame: pd.DataFrame, result=None, *, transform: Callable | None = None, xlabel: str | None = None,
                    title: str | None = None, digits: int = 2, measure: str | None = None) -> tuple[Figure, RowChartLayout]:
    """One row per study added, in the frame's order; each row pools the studies so far."""
    return _plot("cumulative", frame, result, transform=transform, xlabel=xlabel, title=title, digits=digits, measure=measure)
