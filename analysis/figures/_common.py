"""Small helpers shared by the figure modules: duck-typed access, number text, geometry."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

RATIO_MEASURES = {"RR", "OR", "HR", "IRR", "ROM", "PETO", "PETO_OR", "MH_RR", "MH_OR", "LOG_RR", "LOG_OR"}
MEASURE_NAMES = {
    "RR": "Risk ratio",
    "OR": "Odds ratio",
    "HR": "Hazard ratio",
    "IRR": "Rate ratio",
    "ROM": "Ratio of means",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference",
    "SMDH": "Standardised mean difference",
    "RD": "Risk difference",
    "GEN": "Effect size",
}


class NothingToDraw(Exception):
    """The input holds nothing to plot; the caller should say so instead of showing an empty figure."""


def get(obj: Any, *names: str, default: Any = None) -> Any:
    """First attribute (or mapping key) of `obj` among `names` that exists and is not None."""
    for name in names:
        if isinstance(obj, dict):
            value = obj.get(name)
        else:
            value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(np.isnan(value))
    except (TypeError, ValueError):
        return False


def is_ratio(measure: str | None) -> bool:
    return (measure or "").upper() in RATIO_MEASURES


def measure_name(measure: str | None) -> str:
    return MEASURE_NAMES.get((measure or "GEN").upper(), measure or "Effect size")


def fmt_num(value: Any, digits: int = 2) -> str:
    """Fixed decimals with a true minus sign; missing shows as an en dash."""
    if is_missing(value):
        return "\u2013"
    text = f"{float(value):.{digits}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]  # -0.00 reads as a sign error
    return text.replace("-", "\u2212")


def fmt_p(p: Any) -> str:
    if is_missing(p):
        return "p = \u2013"
    p = float(p)
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def fmt_cell(value: Any) -> str:
    """Arm-level data: integers stay integers, other numbers keep at most two decimals."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return "\u2013"
    if isinstance(value, str):
        return value
    v = float(value)
    if v.is_integer():
        return f"{int(v)}".replace("-", "\u2212")
    return f"{v:.2f}".rstrip("0").rstrip(".").replace("-", "\u2212")


def identity(x):
    return x


@dataclass
class TextBox:
    """A drawn string and its bounding box in display pixels (x0, y0, x1, y1)."""

    text: str
    bbox: tuple[float, float, float, float]
    role: str = ""


def text_boxes(fig, artists: Iterable, roles: Sequence[str] | None = None) -> list[TextBox]:
    renderer = fig.canvas.get_renderer()
    out = []
    for i, art in enumerate(artists):
        if not art.get_visible() or not art.get_text():
            continue
        bb = art.get_window_extent(renderer)
        out.append(TextBox(art.get_text(), (bb.x0, bb.y0, bb.x1, bb.y1), roles[i] if roles else ""))
    return out


def overlapping_pairs(boxes: Sequence[TextBox], tol: float = 0.5) -> list[tuple[TextBox, TextBox]]:
    """Pairs of boxes whose interiors intersect by more than `tol` pixels each way."""
    if len(boxes) < 2:
        return []
    b = np.array([t.bbox for t in boxes])
    w = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    h = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    hit = (w > tol) & (h > tol)
    i, j = np.nonzero(np.triu(hit, 1))
    return [(boxes[a], boxes[c]) for a, c in zip(i, j)]


def text_width_in(fig, strings: Iterable[str], **text_kw) -> float:
    """Widest of `strings` in inches when drawn on `fig` with `text_kw`."""
    renderer = fig.canvas.get_renderer()
    widest = 0.0
    probe = fig.text(0, 0, "", **text_kw)
    for s in strings:
        if not s:
            continue
        probe.set_text(s)
        widest = max(widest, probe.get_window_extent(renderer).width)
    probe.remove()
    return widest / fig.dpi


def nice_ratio_ticks(lo: float, hi: float) -> list[float]:
    """Back-transformed tick values (1, 2, 5 x 10^n) inside [exp(lo), exp(hi)] on a log axis."""
    a, b = math.exp(lo), math.exp(hi)
    cands = []
    for e in range(-4, 5):
        for m in (1, 2, 5):
            cands.append(m * 10.0**e)
    ticks = [c for c in cands if a <= c <= b]
    if len(ticks) > 7:
        ticks = [c for c in ticks if math.log10(c).is_integer() or c == 1]
    if len(ticks) < 3:
        extra = [0.25, 0.33, 0.5, 0.67, 0.8, 1.25, 1.5, 2, 3, 4]
        ticks = sorted(set(ticks) | {c for c in extra if a <= c <= b})
    return ticks


def fmt_tick(v: float) -> str:
    if v >= 1 and float(v).is_integer():
        return f"{int(v)}"
    return f"{v:g}"


def new_figure():
    """A Figure with an Agg canvas, outside pyplot so nothing accumulates in a long session."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    return fig


def row_axes(fig, *, left_in, plot_width_in, width_in, top_in, footer_in, n_rows, xlim):
    """Size `fig` for `n_rows` rows between a top band and a footer and add the plot axes:
    row 0 at the top, only the bottom spine, transparent. Returns (height_in, ax, tr), where
    `tr` places x in figure fraction and y in rows, for the text columns beside the plot."""
    from matplotlib.transforms import blended_transform_factory

    from . import style

    rows_in = n_rows * style.ROW_HEIGHT_IN
    height = top_in + rows_in + footer_in
    fig.set_size_inches(width_in, height)
    ax = fig.add_axes((left_in / width_in, footer_in / height, plot_width_in / width_in, rows_in / height))
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_xlim(*xlim)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.patch.set_alpha(0.0)
    return height, ax, blended_transform_factory(fig.transFigure, ax.transData)


def page_chunks(body: list, tail: list, room: int) -> list[list]:
    """`body` then `tail` as few pages of at most `room` rows as hold them: the body spread as
    evenly as the last page's room for the tail allows, the tail whole on the last page."""
    n = len(body)
    count = max(1, math.ceil((n + len(tail)) / room))
    per = max(math.ceil(n / count), math.ceil((n + len(tail) - room) / (count - 1))) if count > 1 else n
    return [body[i * per:(i + 1) * per] for i in range(count - 1)] + [body[per * (count - 1):] + tail]
