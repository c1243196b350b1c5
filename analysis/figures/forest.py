"""Forest plot drawn from a pooled result; every number shown comes from the result objects."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from . import style
from ._common import (
    NothingToDraw,
    TextBox,
    new_figure,
    row_axes,
    fmt_cell,
    fmt_num,
    fmt_p,
    fmt_tick,
    get,
    identity,
    is_missing,
    is_ratio,
    measure_name,
    nice_ratio_ticks,
    page_chunks,
    text_boxes,
    text_width_in,
)

MARGIN_IN = 0.1  # the pad a tight bounding box adds, so the saved width is the planned one
GAP_IN = 0.06  # between columns under one header
GROUP_GAP_IN = 0.1  # before a column group (an arm) and after the study labels
PLOT_GAP_IN = 0.1  # either side of the plot
MIN_PLOT_IN = 0.8  # narrower than this, the compact layout drops the arms' means and SDs
TITLE_IN = 0.25
FOOTER_IN = 0.72  # tick labels, favours labels and the axis label
ROB_COL_IN = 0.17
ROB_DOT_PT2 = 80  # a judgement dot, big enough for its 7 pt symbol
SUBGROUP_INDENT_IN = 0.08
DIAMOND_HALF = 0.36  # half height of a diamond, in rows
# Columns the compact layout keeps: the arms' sizes and event counts.
COMPACT_KEEP = ("n1", "n2", "ai", "ci", "n")
# Rows of one page-sized figure: what fits the PDF text block under a caption of about
# four lines (0.8 in), with the title and the axis.
CAPTION_IN = 0.8
ROWS_PER_PAGE = int((style.TEXT_HEIGHT_IN - CAPTION_IN - MARGIN_IN - TITLE_IN - FOOTER_IN) / style.ROW_HEIGHT_IN)


@dataclass(frozen=True)
class Unpooled:
    """Studies to draw without a pooled estimate, as RevMan shows an outcome with too few
    studies: the rows, and why there is no diamond."""

    frame: pd.DataFrame  # label, yi, ci_lb, ci_ub (as a PoolResult's study_frame)
    measure: str
    level: float
    reason: str

    def study_frame(self) -> pd.DataFrame:
        return self.frame


@dataclass
class ForestLayout:
    """Where everything went, so tests and captions can read the geometry back."""

    fig: Figure
    ax: Any
    rows: list[dict] = field(default_factory=list)  # kind, label, y
    squares: list[dict] = field(default_factory=list)  # label, x, y, weight, area_pt2
    diamonds: list[dict] = field(default_factory=list)  # label, kind, vertices (data coords)
    ci_lines: list[dict] = field(default_factory=list)  # label, y, x0, x1, clipped_left, clipped_right
    arrows: list[dict] = field(default_factory=list)  # label, y, side
    pi: tuple[float, float, float] | None = None  # (lb, ub, y)
    xlim: tuple[float, float] = (0.0, 1.0)
    transform: Callable = identity
    texts: list = field(default_factory=list)  # the Text artists placed by the plot
    alt: str = ""
    page: int = 1  # of `pages`, for a forest split over several figures
    pages: int = 1
    dropped_columns: list[str] = field(default_factory=list)  # left out by the compact layout

    def row_y(self, label: str, kind: str = "study") -> float:
        for r in self.rows:
            if r["label"] == label and r["kind"] == kind:
                return r["y"]
        raise KeyError(label)

    def text_boxes(self) -> list[TextBox]:
        """Bounding boxes (display pixels) of every string in the figure, tick labels included."""
        self.fig.canvas.draw()
        arts = list(self.texts) + list(self.ax.get_xticklabels()) + [self.ax.xaxis.label]
        return text_boxes(self.fig, arts)


# ----------------------------------------------------------------------------- inputs


def _study_frame(result) -> pd.DataFrame:
    sf = getattr(result, "study_frame", None)
    if sf is None:
        raise TypeError("forest_plot needs a result with study_frame() (label, yi, vi, se, ci_lb, ci_ub, weight)")
    frame = sf() if callable(sf) else sf
    return frame.reset_index(drop=True)


def _subgroup_parts(sg) -> tuple[list[tuple[str, Any]], Any, Any, Any, Any]:
    groups = get(sg, "groups", "results", "subgroups", "by_group")
    if groups is None:
        raise TypeError("subgroups needs a mapping of group name to pooled result")
    items = list(groups.items()) if hasattr(groups, "items") else list(groups)
    q = get(sg, "q_between", "qb", "qm")
    df = get(sg, "df", "q_between_df", "qm_df")
    p = get(sg, "q_between_pval", "p", "pval", "q_between_p", "qm_p")
    overall = get(sg, "overall")
    return items, q, df, p, overall


def _columns(columns) -> list[tuple[str, str, str]]:
    """Normalise `columns` into (data column, header, spanning group header)."""
    if columns is None:
        return []
    if isinstance(columns, dict):
        columns = list(columns.items())
    out = []
    for c in columns:
        if isinstance(c, str):
            out.append((c, c, ""))
        elif len(c) == 2:
            name, head = c
            if isinstance(head, tuple):
                out.append((name, head[1], head[0]))
            else:
                out.append((name, head, ""))
        else:
            out.append((c[0], c[1], c[2]))
    return out


def _data_lookup(data: pd.DataFrame | None, labels: Sequence[str]) -> Callable[[str, int], dict]:
    if data is None:
        return lambda label, i: {}
    if "label" in data.columns:
        by = {str(l): row for l, row in zip(data["label"], data.to_dict("records"))}
        return lambda label, i: by.get(str(label), {})
    if len(data) == len(labels) and not isinstance(data.index, pd.RangeIndex):
        by = {str(l): row for l, row in zip(data.index, data.to_dict("records"))}
        return lambda label, i: by.get(str(label), {})
    if len(data) == len(labels):
        recs = data.to_dict("records")
        return lambda label, i: recs[i]
    raise ValueError("data must have a 'label' column or one row per study")


def _fmt_effect(t, est, lb, ub, digits=2) -> str:
    return f"{fmt_num(t(est), digits)} [{fmt_num(t(lb), digits)}, {fmt_num(t(ub), digits)}]"


def _method_label(result) -> str:
    method = str(get(result, "method", default="")).upper()
    if method == "MH":
        return "Mantel-Haenszel (common effect)"
    if method == "PETO":
        return "Peto (common effect)"
    if method in {"FE", "EE", "CE"}:
        return "Common-effect model"
    hk = " (HK)" if get(result, "test") == "t" else ""
    return f"Random-effects model ({method}){hk}" if method else "Pooled"


def _het_text(result, compact: bool = False) -> str:
    k = get(result, "k", default=0)
    if k is None or k < 2:
        return "Heterogeneity: not estimable (k = 1)"
    # common-effect fits (Mantel-Haenszel, Peto) estimate no tau^2
    tau2 = "" if is_missing(get(result, "tau2")) else f"\u03c4\u00b2 = {fmt_num(get(result, 'tau2'), 2)}; "
    i2 = f"I\u00b2 = {fmt_num(get(result, 'i2'), 1)}%"
    q_df = get(result, "q_df")
    q = f"Q = {fmt_num(get(result, 'q'), 2)}, df = {fmt_num(q_df, 0)}, {fmt_p(get(result, 'q_pval'))}"
    if not compact:
        lo, hi = get(result, "i2_ci_lb"), get(result, "i2_ci_ub")
        if not (is_missing(lo) or is_missing(hi)):
            # ">": the upper bound stopped at the search limit (metafor's tau2.max)
            over = ">" if get(result, "tau2_ci_ub_capped", default=False) else ""
            i2 += f" [{fmt_num(lo, 1)}, {over}{fmt_num(hi, 1)}]"
    return f"Heterogeneity: {tau2}{i2}; {q}"


def _test_text(result) -> str:
    if get(result, "test") == "t":
        stat = f"t({fmt_num(get(result, 'df'), 0)}) = {fmt_num(get(result, 'tval'), 2)}"
    else:
        stat = f"z = {fmt_num(get(result, 'zval'), 2)}"
    return f"Test for overall effect: {stat}, {fmt_p(get(result, 'pval'))}"


# ----------------------------------------------------------------------------- rows


def _study_rows(frame: pd.DataFrame, weights_by_label: dict | None, lookup) -> list[dict]:
    rows = []
    for i, r in frame.iterrows():
        w = r.get("weight")
        if weights_by_label is not None and str(r["label"]) in weights_by_label:
            w = weights_by_label[str(r["label"])]
        rows.append(
            {
                "kind": "study",
                "label": str(r["label"]),
                "est": float(r["yi"]),
                "lb": float(r["ci_lb"]),
                "ub": float(r["ci_ub"]),
                "weight": None if is_missing(w) else float(w),
                "data": lookup(str(r["label"]), i),
            }
        )
    return rows


def _pooled_rows(result, kind: str, label: str, show_pi: bool, compact: bool, show_test: bool = True) -> list[dict]:
    rows = [
        {
            "kind": kind,
            "label": label,
            "est": float(get(result, "estimate")),
            "lb": float(get(result, "ci_lb")),
            "ub": float(get(result, "ci_ub")),
        }
    ]
    pi_lb, pi_ub = get(result, "pi_lb"), get(result, "pi_ub")
    # with fewer than three studies the interval only restates the CI (tau^2 barely estimable)
    k = get(result, "k", default=0) or 0
    if show_pi and k >= 2 and not (is_missing(pi_lb) or is_missing(pi_ub)) and kind == "pooled":
        rows.append({"kind": "pi", "label": "Prediction interval", "lb": float(pi_lb), "ub": float(pi_ub)})
    if kind == "pooled":
        rows.append({"kind": "note", "label": _method_label(result)})
    rows.append({"kind": "note", "label": _het_text(result, compact=compact)})
    if kind == "pooled":
        # an exploratory estimate is not a test of one effect: its z test is left out
        rows.append({"kind": "note", "label": _test_text(result) if show_test else
                     "Exploratory analysis: no test for overall effect"})
    return rows


def _xlim(rows: list[dict], null: float | None, ratio: bool) -> tuple[tuple[float, float], list[float] | None]:
    """Axis limits and ticks (in the plotted scale). With a null the axis is symmetric about
    it, as RevMan draws it, so both sides of no effect show."""
    studies = [r for r in rows if r["kind"] == "study" and np.isfinite(r["est"])]
    ests = [r["est"] for r in studies]
    core = ests + [v for r in rows if r["kind"] in {"pooled", "subtotal", "pi"} for v in (r["lb"], r["ub"]) if np.isfinite(v)]
    if not any(r["kind"] in {"pooled", "subtotal"} for r in rows):
        # nothing pooled: the studies' own intervals set the scale
        core += [v for r in studies for v in (r["lb"], r["ub"]) if np.isfinite(v)]
    if null is not None:
        # symmetric about the null and wide enough for the estimates, the pooled interval
        # and the prediction interval; a whisker reaching beyond is cut with an arrow
        half = max(abs(v - null) for v in core) or 1.0
        return _symmetric(null, half, ratio)
    lo, hi = min(core), max(core)
    span = hi - lo if hi > lo else 1.0
    lows = [r["lb"] for r in studies] + [lo]
    highs = [r["ub"] for r in studies] + [hi]
    # Long whiskers are cut at 60% of the core span beyond it and marked with arrows,
    # so one imprecise study cannot squash the rest.
    lo = max(min(lows), lo - 0.6 * span)
    hi = min(max(highs), hi + 0.6 * span)
    pad = 0.04 * (hi - lo)
    return (lo - pad, hi + pad), None


def _symmetric(null: float, half: float, ratio: bool) -> tuple[tuple[float, float], list[float]]:
    if ratio:
        # back-transformed limits 1/L and L: ticks at 1, 2, 5 x 10^n and their inverses
        for top, ticks in RATIO_AXES:
            if math.log(top) >= half:
                return (null - math.log(top), null + math.log(top)), [null + math.log(t) for t in ticks]
        top, ticks = RATIO_AXES[-1]
        return (null - math.log(top), null + math.log(top)), [null + math.log(t) for t in ticks]
    step = 10.0 ** math.floor(math.log10(half))
    limit = next(m * step for m in (1, 2, 5, 10) if m * step >= half)
    return (null - limit, null + limit), [null + f * limit for f in (-1, -0.5, 0, 0.5, 1)]


# Ratio axes: the upper limit and the ticks shown.
RATIO_AXES = [
    (1.5, (0.67, 1, 1.5)),
    (2, (0.5, 0.7, 1, 1.5, 2)),
    (5, (0.2, 0.5, 1, 2, 5)),
    (10, (0.1, 0.2, 0.5, 1, 2, 5, 10)),
    (100, (0.01, 0.1, 1, 10, 100)),
    (1000, (0.001, 0.01, 0.1, 1, 10, 100, 1000)),
    (1e4, (1e-4, 0.01, 1, 100, 1e4)),
]


def _tick_label(v: float, ratio: bool) -> str:
    if ratio:
        return fmt_tick(v)
    text = f"{v:.10g}"
    return "0" if float(text) == 0 else text.replace("-", "\u2212")


def _decimals(values) -> int:
    """Decimals a column needs to show each of its values as typed (at most 2)."""
    most = 0
    for v in values:
        if is_missing(v) or isinstance(v, str):
            continue
        text = repr(float(v))
        if "e" in text:
            return 2
        most = max(most, len(text.split(".")[1].rstrip("0")))
    return min(most, 2)


def _cells(rows, cols, totals: dict, units: dict, unit_columns: set, decimals: dict) -> list[list[str]]:
    """Text of each data column, row by row: studies' values at the column's decimals with
    their unit, the given totals in the Total row. Columns under one header (Mean of both
    arms) share their decimals."""
    values = {name: [r["data"].get(name) for r in rows if r["kind"] == "study"] for name, _, _ in cols}
    by_head: dict[str, int] = {}
    for name, head, _ in cols:
        by_head[head] = max(by_head.get(head, 0), _decimals(values[name]))
    out = []
    for name, head, _ in cols:
        places = decimals.get(name, by_head[head])
        cells = []
        for r in rows:
            if r["kind"] == "study":
                v = r["data"].get(name)
                text = fmt_cell(v) if is_missing(v) or isinstance(v, str) else fmt_num(v, places)
                cells.append(text + (units.get(r["label"], "") if name in unit_columns and text != "\u2013" else ""))
            elif r["kind"] in {"pooled", "total"} and totals.get(name) is not None:
                cells.append(fmt_num(totals[name], 0))
            else:
                cells.append("")
        out.append(cells)
    return out


# ----------------------------------------------------------------------------- drawing


@dataclass
class _Plan:
    """Everything a forest figure shows, with its columns placed; pages are drawn from it."""

    result: Any
    rows: list[dict]
    cols: list[tuple[str, str, str]]
    col_cells: list[list[str]]
    eff_text: list[str]
    wt_text: list[str]
    ci_head: str
    rob_domains: list[str]
    rob_map: dict
    t: Callable
    ratio: bool
    measure: str
    null: float | None
    xlim: tuple[float, float]
    ticks: list[float] | None
    pooled: bool
    subgroups: Any
    higher_is_better: bool
    favours: tuple[str, str]
    xlabel: str
    title: str | None
    width: float = 0.0
    x_label: float = 0.0
    col_right: list[float] = field(default_factory=list)
    w_cols: list[float] = field(default_factory=list)
    x_plot: float = 0.0
    plot_w: float = 0.0
    x_eff_right: float = 0.0
    x_wt_right: float = 0.0
    x_rob: list[float] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _plan(
    result,
    *,
    data=None,
    columns=None,
    subgroups=None,
    rob=None,
    higher_is_better=True,
    favours=("Favours control", "Favours treatment"),
    xlabel=None,
    transform=None,
    show_pi=True,
    title=None,
    digits=2,
    null=0.0,
    totals=None,
    units=None,
    unit_columns=(),
    decimals=None,
    show_test=True,
    footnotes=(),
    width_in=None,
    compact_keep=COMPACT_KEEP,
) -> _Plan:
    if subgroups is not None and result is None:
        result = _subgroup_parts(subgroups)[4]
    measure = str(get(result, "measure", default="GEN"))
    ratio = is_ratio(measure)
    t = transform or (np.exp if ratio else identity)
    level = get(result, "level", default=95)
    ci_head = f"{measure if measure != 'GEN' else 'Estimate'} [{fmt_num(level, 0)}% CI]"

    overall_frame = _study_frame(result)
    if overall_frame.empty:
        raise NothingToDraw("the result holds no studies")
    labels = [str(l) for l in overall_frame["label"]]
    lookup = _data_lookup(data, labels)
    cols = _columns(columns if columns is not None or data is None else [c for c in data.columns if c != "label"])

    # ---- rows, top to bottom
    rows: list[dict] = []
    if any(g for _, _, g in cols):
        rows.append({"kind": "header0", "label": ""})
    rows.append({"kind": "header", "label": "Study"})
    if subgroups is not None:
        items, qb, qb_df, qb_p, _ = _subgroup_parts(subgroups)
        w_overall = {str(l): float(w) for l, w in zip(overall_frame["label"], overall_frame["weight"])}
        for name, gres in items:
            gframe = _study_frame(gres)
            found = all(str(l) in w_overall for l in gframe["label"])
            rows.append({"kind": "group", "label": f"{name} (k = {get(gres, 'k', default=len(gframe))})"})
            rows += _study_rows(gframe, w_overall if found else None, lookup)
            rows += _pooled_rows(gres, "subtotal", "Subtotal", show_pi=False, compact=True)
            rows.append({"kind": "blank", "label": ""})
    else:
        rows += _study_rows(overall_frame, None, lookup)
        rows.append({"kind": "blank", "label": ""})
    pooled = not is_missing(get(result, "estimate"))
    if pooled:
        rows += _pooled_rows(result, "pooled", f"Total ({fmt_num(level, 0)}% CI)", show_pi, compact=False, show_test=show_test)
    else:
        if totals:
            rows.append({"kind": "total", "label": "Total"})
        rows.append({"kind": "note", "label": f"Not pooled: {get(result, 'reason', default='too few studies')}"})
    if subgroups is not None:
        rows.append({"kind": "note", "label": f"Test for subgroup differences: Q = {fmt_num(qb, 2)}, df = {qb_df}, {fmt_p(qb_p)}"})
    rows += [{"kind": "note", "label": str(n)} for n in footnotes]

    # ---- risk-of-bias columns
    rob_domains: list[str] = []
    rob_map: dict[tuple[str, str], str] = {}
    if rob is not None and len(rob):
        from .rob import domain_order

        key = "label" if "label" in rob.columns else "study"
        rob_domains = domain_order(rob["domain"])
        for k_, d_, j_ in zip(rob[key], rob["domain"], rob["judgement"]):
            rob_map[(str(k_), str(d_))] = j_

    eff_text, wt_text = [], []
    for r in rows:
        if r["kind"] == "study" and not np.isfinite(r["est"]):
            eff_text.append("not estimable")
        elif r["kind"] in {"study", "pooled", "subtotal"}:
            eff_text.append(_fmt_effect(t, r["est"], r["lb"], r["ub"], digits))
        elif r["kind"] == "pi":
            eff_text.append(f"[{fmt_num(t(r['lb']), digits)}, {fmt_num(t(r['ub']), digits)}]")
        else:
            eff_text.append("")
        if r["kind"] == "study":
            wt_text.append("" if r["weight"] is None else f"{r['weight']:.1f}%")
        elif r["kind"] == "pooled":
            wt_text.append("100.0%")
        else:
            wt_text.append("")
    xlim, ticks = _xlim(rows, null, ratio)
    plan = _Plan(result=result, rows=rows, cols=cols, col_cells=[], eff_text=eff_text, wt_text=wt_text,
                 ci_head=ci_head, rob_domains=rob_domains, rob_map=rob_map, t=t, ratio=ratio, measure=measure,
                 null=null, xlim=xlim, ticks=ticks, pooled=pooled, subgroups=subgroups,
                 higher_is_better=higher_is_better, favours=favours,
                 xlabel=xlabel or (f"{measure_name(measure)} (log scale)" if ratio else measure_name(measure)),
                 title=title)
    cells = _cells(rows, cols, totals or {}, units or {}, set(unit_columns), decimals or {})
    width = float(width_in or style.TEXT_WIDTH_IN)
    _place(plan, cols, cells, width)
    if plan.plot_w < MIN_PLOT_IN and any(name not in compact_keep for name, _, _ in cols):
        # too wide for the page: the compact layout keeps only the arms' sizes (or counts)
        keep = [i for i, (name, _, _) in enumerate(cols) if name in compact_keep]
        plan.dropped = [cols[i][0] for i in range(len(cols)) if i not in keep]
        heads = list(dict.fromkeys(cols[i][1] for i in range(len(cols)) if i not in keep))
        rows.append({"kind": "note", "label": f"Left out to fit the page: the {' and '.join(heads)} columns."})
        eff_text.append("")
        wt_text.append("")
        cells = [col + [""] for col in cells]
        _place(plan, [cols[i] for i in keep], [cells[i] for i in keep], width)
    return plan


def _place(plan: _Plan, cols, cells, width: float) -> None:
    """Lay the columns out left to right in inches; the plot takes the width left over."""
    fig = new_figure()
    kw = {"fontsize": style.FONT_SIZE}
    bold = dict(fontweight="bold", **kw)
    rows = plan.rows
    indent = SUBGROUP_INDENT_IN if plan.subgroups is not None else 0.0
    w_label = max(text_width_in(fig, [r["label"] for r in rows if r["kind"] == "study"], **kw) + indent,
                  text_width_in(fig, ["Study"], **bold))
    w_cols = [text_width_in(fig, [c for c in col if c] + [head], **bold) for col, (_, head, _) in zip(cells, cols)]
    gaps = [GAP_IN if i and cols[i][2] == cols[i - 1][2] else GROUP_GAP_IN for i in range(len(cols))]
    # Rows without study data (Total, subgroup, prediction interval) may run into the data
    # columns they leave empty, up to their first filled cell or the plot.
    offsets, x = [], 0.0
    for g, w in zip(gaps, w_cols):
        offsets.append(x + g)  # left edge of each column's widest text, from the label column's right
        x += g + w
    room_to_plot = x + PLOT_GAP_IN
    for i, r in enumerate(rows):
        if r["kind"] not in {"group", "pooled", "subtotal", "pi", "total"}:
            continue
        filled = [offsets[c] for c in range(len(cols)) if cells[c][i]]
        room = (min(filled) - GAP_IN) if filled else room_to_plot - GAP_IN
        need = text_width_in(fig, [r["label"]], **(bold if r["kind"] in {"group", "pooled", "total"} else kw))
        w_label = max(w_label, need - room)
    w_eff = text_width_in(fig, [s for s in plan.eff_text if s] + [plan.ci_head], **bold)
    w_wt = text_width_in(fig, [s for s in plan.wt_text if s] + ["Weight"], **bold)
    w_rob = (GAP_IN / 2 + ROB_COL_IN * len(plan.rob_domains)) if plan.rob_domains else 0.0

    plan.width, plan.x_label = width, MARGIN_IN
    x = MARGIN_IN + w_label
    plan.col_right = []
    for g, w in zip(gaps, w_cols):
        x += g + w
        plan.col_right.append(x)
    plan.x_plot = x + PLOT_GAP_IN
    right = width - MARGIN_IN - w_rob
    plan.x_wt_right = right
    plan.x_eff_right = right - w_wt - GAP_IN
    plan.plot_w = plan.x_eff_right - w_eff - PLOT_GAP_IN - plan.x_plot
    plan.x_rob = [right + GAP_IN / 2 + ROB_COL_IN * (i + 0.5) for i in range(len(plan.rob_domains))]
    plan.cols, plan.col_cells, plan.w_cols = list(cols), list(cells), w_cols


def _draw(plan: _Plan, rows: list[dict], *, title: str | None, alt: str) -> tuple[Figure, ForestLayout]:
    """One figure of `rows` (a slice of plan.rows, headers included), at the plan's geometry."""
    rows = [dict(r, y=float(y)) for y, r in enumerate(rows)]
    fig = new_figure()
    width, xlim, t = plan.width, plan.xlim, plan.t
    top = MARGIN_IN + (TITLE_IN if title else 0.0)
    height, ax, tr = row_axes(fig, left_in=plan.x_plot, plot_width_in=max(plan.plot_w, 0.1), width_in=width, top_in=top,
                              footer_in=FOOTER_IN, n_rows=len(rows), xlim=xlim)
    layout = ForestLayout(fig=fig, ax=ax, xlim=xlim, transform=t)
    texts = layout.texts
    cols, col_right, col_cells = plan.cols, plan.col_right, plan.col_cells

    def put(xin, y, s, ha="left", **extra):
        if not s:
            return None
        txt = ax.text(xin / width, y, s, transform=tr, ha=ha, va="center", fontsize=style.FONT_SIZE, **extra)
        texts.append(txt)
        return txt

    # ---- axis: ticks back-transformed for ratios
    body = [r["y"] for r in rows if r["kind"] in {"study", "pooled", "subtotal", "pi"}]
    ax.spines["bottom"].set_bounds(*xlim)
    if plan.ticks is not None:
        ax.set_xticks(plan.ticks, [_tick_label(t(v) if plan.ratio else v, plan.ratio) for v in plan.ticks])
    elif plan.ratio:
        tv = nice_ratio_ticks(*xlim)
        ax.set_xticks([math.log(v) for v in tv], [fmt_tick(v) for v in tv])
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    null = plan.null
    if null is not None and xlim[0] <= null <= xlim[1] and body:
        ax.plot([null, null], [min(body) - 0.5, max(body) + 0.5], color=style.INK, lw=0.6, zorder=1)
    ax.set_xlabel(plan.xlabel, labelpad=15)
    # favours labels sit between the tick labels and the axis label, either side of the null line
    left_fav, right_fav = plan.favours if plan.higher_is_better else plan.favours[::-1]
    fav_x = null if (null is not None and xlim[0] <= null <= xlim[1]) else sum(xlim) / 2
    fav_kw = dict(xycoords=("data", "axes fraction"), textcoords="offset points", va="top", fontsize=style.FONT_SIZE, color=style.MUTED)
    texts.append(ax.annotate(f"\u2190 {left_fav}", (fav_x, 0), xytext=(-4, -18), ha="right", **fav_kw))
    texts.append(ax.annotate(f"{right_fav} \u2192", (fav_x, 0), xytext=(4, -18), ha="left", **fav_kw))

    # ---- header rows
    for r in rows:
        y = r["y"]
        if r["kind"] == "header":
            put(plan.x_label, y, "Study", fontweight="bold")
            for (name, head, _), right in zip(cols, col_right):
                put(right, y, head, ha="right", fontweight="bold")
            put(plan.x_eff_right, y, plan.ci_head, ha="right", fontweight="bold")
            put(plan.x_wt_right, y, "Weight", ha="right", fontweight="bold")
            for d, xr in zip(plan.rob_domains, plan.x_rob):
                put(xr, y, _rob_short(d, plan.rob_domains), ha="center", fontweight="bold")
        if r["kind"] == "header0":
            groups: dict[str, list[float]] = {}
            for (name, head, g), right, w in zip(cols, col_right, plan.w_cols):
                if g:
                    groups.setdefault(g, []).extend([right - w, right])
            for g, xs in groups.items():
                put((min(xs) + max(xs)) / 2, y, g, ha="center", fontweight="bold")
                fig.add_artist(_hline(fig, min(xs) / width, max(xs) / width, y + 0.42, tr))

    # ---- body
    wmax = max((r["weight"] for r in plan.rows if r["kind"] == "study" and r["weight"] is not None), default=None)
    side_max_pt = 0.82 * style.ROW_HEIGHT_IN * 72
    indent = SUBGROUP_INDENT_IN if plan.subgroups is not None else 0.0
    for r in rows:
        y, kind, i = r["y"], r["kind"], r["index"]
        if kind == "group":
            put(plan.x_label, y, r["label"], fontweight="bold")
        elif kind == "study":
            put(plan.x_label + indent, y, r["label"])
            for right, cells in zip(col_right, col_cells):
                put(right, y, cells[i], ha="right")
            if not np.isfinite(r["est"]):
                # e.g. a double-zero table Mantel-Haenszel drops: listed, nothing drawn
                put(plan.x_eff_right, y, plan.eff_text[i], ha="right", color=style.MUTED)
                put(plan.x_wt_right, y, plan.wt_text[i], ha="right")
                layout.rows.append({"kind": kind, "label": r["label"], "y": y})
                continue
            lo, hi = max(r["lb"], xlim[0]), min(r["ub"], xlim[1])
            ax.plot([lo, hi], [y, y], color=style.INK, lw=0.8, zorder=2, solid_capstyle="butt")
            layout.ci_lines.append({"label": r["label"], "y": y, "x0": lo, "x1": hi, "clipped_left": r["lb"] < xlim[0], "clipped_right": r["ub"] > xlim[1]})
            for side, cond, edge, marker in (("left", r["lb"] < xlim[0], xlim[0], "<"), ("right", r["ub"] > xlim[1], xlim[1], ">")):
                if cond:
                    ax.plot([edge], [y], marker=marker, ms=3.5, color=style.INK, mew=0, zorder=3, clip_on=False)
                    layout.arrows.append({"label": r["label"], "y": y, "side": side})
            if not plan.pooled:  # no weights without pooling: every study gets the same square
                area = 0.5 * side_max_pt**2
                ax.scatter([r["est"]], [y], s=[area], marker="s", color=style.STUDY_COLOUR, linewidths=0, zorder=4)
                layout.squares.append({"label": r["label"], "x": r["est"], "y": y, "weight": None, "area_pt2": area})
            elif r["weight"] is not None and wmax:
                area = (r["weight"] / wmax) * side_max_pt**2
                ax.scatter([r["est"]], [y], s=[area], marker="s", color=style.STUDY_COLOUR, linewidths=0, zorder=4)
                layout.squares.append({"label": r["label"], "x": r["est"], "y": y, "weight": r["weight"], "area_pt2": area})
            put(plan.x_eff_right, y, plan.eff_text[i], ha="right")
            put(plan.x_wt_right, y, plan.wt_text[i], ha="right")
            if plan.rob_domains:
                from .rob import judgement_style

                for d, xr in zip(plan.rob_domains, plan.x_rob):
                    j = plan.rob_map.get((r["label"], d))
                    if j is not None:
                        colour, symbol = judgement_style(j)
                        ax.scatter([xr / width], [y], s=ROB_DOT_PT2, color=colour, transform=tr, clip_on=False, zorder=4, linewidths=0)
                        put(xr, y, symbol, ha="center", color="white", fontweight="bold")
        elif kind == "total":
            put(plan.x_label, y, r["label"], fontweight="bold")
            for right, cells in zip(col_right, col_cells):
                put(right, y, cells[i], ha="right", fontweight="bold")
        elif kind in {"pooled", "subtotal"}:
            bold = {"fontweight": "bold"} if kind == "pooled" else {}
            put(plan.x_label, y, r["label"], **bold)
            for right, cells in zip(col_right, col_cells):
                put(right, y, cells[i], ha="right", **bold)
            verts = np.array([[r["lb"], y], [r["est"], y - DIAMOND_HALF], [r["ub"], y], [r["est"], y + DIAMOND_HALF]])
            colour = style.POOLED_COLOUR if kind == "pooled" else style.SUBGROUP_COLOUR
            ax.add_patch(Polygon(verts, closed=True, facecolor=colour, edgecolor=colour, lw=0.6, zorder=4))
            layout.diamonds.append({"label": r["label"], "kind": kind, "vertices": verts})
            put(plan.x_eff_right, y, plan.eff_text[i], ha="right", **bold)
            put(plan.x_wt_right, y, plan.wt_text[i], ha="right", **bold)
        elif kind == "pi":
            put(plan.x_label, y, r["label"], color=style.PI_COLOUR)
            ax.plot([r["lb"], r["ub"]], [y, y], color=style.PI_COLOUR, lw=1.4, zorder=3)
            ax.plot([r["lb"], r["lb"]], [y - 0.22, y + 0.22], color=style.PI_COLOUR, lw=1.0)
            ax.plot([r["ub"], r["ub"]], [y - 0.22, y + 0.22], color=style.PI_COLOUR, lw=1.0)
            layout.pi = (r["lb"], r["ub"], y)
            put(plan.x_eff_right, y, plan.eff_text[i], ha="right", color=style.PI_COLOUR)
        elif kind == "note":
            put(plan.x_label, y, r["label"], color=style.MUTED)
        layout.rows.append({"kind": kind, "label": r["label"], "y": y})

    if title:
        texts.append(fig.text(MARGIN_IN / width, 1 - MARGIN_IN / height, title, ha="left", va="top",
                              fontsize=style.TITLE_SIZE, fontweight="bold"))
    layout.dropped_columns = list(plan.dropped)
    layout.alt = alt
    return fig, layout


def forest_plot(result, **kwargs) -> tuple[Figure, ForestLayout]:
    """Draw a forest plot of `result` (a PoolResult) and return the figure and its layout.

    Keyword arguments:
    `data`/`columns` add arm-level columns (matched on a `label` column), each shown with one
    number of decimals (`decimals` by column, else the most any of its values has, at most 2);
    `totals` (column -> value, e.g. summed participants per arm) fills those columns in the
    Total row; `units` (study label -> suffix, e.g. "%") is appended to that study's
    `unit_columns`; `show_test=False` leaves out the test for overall effect (an exploratory
    estimate); `footnotes` are printed under the notes.
    `subgroups` (a SubgroupResult) groups the studies with a diamond per group;
    `rob` (risk_of_bias rows with label or study, domain, judgement) adds coloured dots.
    Ratio measures (RR, OR, ...) are drawn on the log scale with back-transformed ticks; with
    a `null` (default 0) the axis is symmetric about it.
    The figure is `width_in` wide (default the PDF text width); when the columns leave the plot
    less than MIN_PLOT_IN, only the `compact_keep` columns (the arms' sizes) are kept.
    """
    plan = _plan(result, **kwargs)
    for i, r in enumerate(plan.rows):
        r["index"] = i
    from .alt import forest_alt

    alt = forest_alt(plan.result, plan.rows, plan.t, plan.ratio, subgroups=plan.subgroups)
    return _draw(plan, plan.rows, title=plan.title, alt=alt)


def forest_pages(result, *, rows_per_page: int | None = None, **kwargs) -> list[tuple[Figure, ForestLayout]]:
    """The forest plot of `result` as page-sized figures of at most `rows_per_page` rows each
    (default ROWS_PER_PAGE, what fits the PDF text block under a caption).

    Every page repeats the column headers and the axis, at the same scale and column
    positions; the studies run on in order, and the last page carries the Total row, the
    diamond, the prediction interval and the notes. One page when everything fits. Takes
    the keyword arguments of forest_plot.
    """
    limit = int(rows_per_page or ROWS_PER_PAGE)
    plan = _plan(result, **kwargs)
    for i, r in enumerate(plan.rows):
        r["index"] = i
    head = [r for r in plan.rows if r["kind"] in {"header0", "header"}]
    rest = [r for r in plan.rows if r["kind"] not in {"header0", "header"}]
    # the tail: the overall Total (or, with nothing pooled, the notes after the last study),
    # with the blank row before it
    kinds = [r["kind"] for r in rest]
    cut = next((j for j, k in enumerate(kinds) if k in {"pooled", "total"}), None)
    if cut is None:
        cut = max(j for j, k in enumerate(kinds) if k in {"study", "subtotal", "group"}) + 1
    while cut > 0 and kinds[cut - 1] == "blank":
        cut -= 1
    body, tail = rest[:cut], rest[cut:]
    room = limit - len(head)
    if room < len(tail) or room < 1:
        raise ValueError(f"rows_per_page = {limit} leaves no room for the {len(tail)} closing rows and a study under the header")
    chunks = page_chunks(body, tail, room)
    from .alt import forest_alt

    alt = forest_alt(plan.result, plan.rows, plan.t, plan.ratio, subgroups=plan.subgroups)
    pages = []
    for n, chunk in enumerate(chunks, 1):
        while chunk and chunk[0]["kind"] == "blank":
            chunk = chunk[1:]  # a page never opens on a blank row
        many = len(chunks) > 1
        title = plan.title
        if many:
            title = f"{plan.title or 'Forest plot'} ({n} of {len(chunks)})"
        page_alt = alt if not many else f"{alt} Page {n} of {len(chunks)}: " + (
            f"studies {chunk[0]['label']} to {[r for r in chunk if r['kind'] == 'study'][-1]['label']}."
            if any(r["kind"] == "study" for r in chunk) else "the pooled estimate and notes.")
        fig, layout = _draw(plan, head + chunk, title=title, alt=page_alt)
        layout.page, layout.pages = n, len(chunks)
        pages.append((fig, layout))
    return pages


def _rob_short(domain: str, domains: list[str]) -> str:
    if str(domain).strip().lower().startswith("overall"):
        return "O"
    return f"D{domains.index(domain) + 1}"


def _hline(fig, x0, x1, y, tr):
    from matplotlib.lines import Line2D

    return Line2D([x0, x1], [y, y], transform=tr, color=style.INK, lw=0.5)


# Arm-level columns as named in analysis.review.synthesis effect frames (group 1 = active arm).
CONTINUOUS_COLUMNS = [
    ("m1", ("Active", "Mean")),
    ("sd1", ("Active", "SD")),
    ("n1", ("Active", "N")),
    ("m2", ("Control", "Mean")),
    ("sd2", ("Control", "SD")),
    ("n2", ("Control", "N")),
]
BINARY_COLUMNS = [
    ("ai", ("Active", "Events")),
    ("n1", ("Active", "Total")),
    ("ci", ("Control", "Events")),
    ("n2", ("Control", "Total")),
]


# Suffix of a study's arm values, by the form of its data (outcomes.csv `form`).
FORM_UNITS = {"percent_change": "%"}
UNIT_NOTES = {"%": "Values marked % are percent changes from baseline."}


def _outcome_args(analysis, columns, kwargs) -> tuple[Any, dict]:
    """The result and forest_plot arguments for one OutcomeAnalysis."""
    result = getattr(analysis, "result", None)
    effects = getattr(analysis, "effects", None)
    if result is None:
        # too few studies to pool: their effects are still shown, without a diamond; the
        # synthesis gives a single study its 100% weight
        if effects is None or not len(effects):
            raise NothingToDraw(f"{getattr(analysis, 'label', 'outcome')}: no study gives usable data")
        frame = effects[["label", "yi", "ci_lb", "ci_ub"]].assign(
            weight=effects["weight"] if "weight" in effects.columns else np.nan)
        result = Unpooled(frame=frame, measure=analysis.measure, level=analysis.level,
                          reason=getattr(analysis, "reason", "") or getattr(analysis, "status", "not pooled"))
    if columns is None and effects is not None:
        # the synthesis carries both kinds of column; the filled ones say which data these are
        binary = {"ai", "ci"} <= set(effects.columns) and effects[["ai", "ci"]].notna().any().any()
        wanted = BINARY_COLUMNS if binary else CONTINUOUS_COLUMNS
        columns = [c for c in wanted if c[0] in effects.columns] or None
    shown = [c[0] if isinstance(c, tuple) else c for c in columns or ()]
    unit_columns = [c for c in ("m1", "sd1", "m2", "sd2") if c in shown]
    if unit_columns and "form" in effects.columns:
        units = {str(l): FORM_UNITS[f] for l, f in zip(effects["label"], effects["form"]) if f in FORM_UNITS}
        if units:
            kwargs.setdefault("units", units)
            kwargs.setdefault("unit_columns", unit_columns)
            kwargs.setdefault("footnotes", [UNIT_NOTES[u] for u in dict.fromkeys(units.values())])
    if getattr(analysis, "arm_totals", None):
        kwargs.setdefault("totals", analysis.arm_totals)
    kwargs.setdefault("show_test", not bool(getattr(analysis, "exploratory", False)))
    kwargs.setdefault("higher_is_better", bool(getattr(analysis, "higher_is_better", True)))
    kwargs.setdefault("title", getattr(analysis, "label", None))
    kwargs.update(data=effects if columns else None, columns=columns)
    return result, kwargs


def forest_for_outcome(analysis, *, columns=None, **kwargs) -> tuple[Figure, ForestLayout]:
    """Forest plot of one `analysis.review.synthesis.OutcomeAnalysis`: its pooled result, arm
    columns with each study's unit, the summed arm sizes in the Total row, the direction, and
    no test for overall effect when the plan marks the analysis exploratory."""
    result, kwargs = _outcome_args(analysis, columns, kwargs)
    return forest_plot(result, **kwargs)


def forest_pages_for_outcome(analysis, *, rows_per_page: int | None = None, columns=None,
                             **kwargs) -> list[tuple[Figure, ForestLayout]]:
    """forest_for_outcome as page-sized figures (see forest_pages)."""
    result, kwargs = _outcome_args(analysis, columns, kwargs)
    return forest_pages(result, rows_per_page=rows_per_page, **kwargs)
