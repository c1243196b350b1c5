"""PRISMA 2020 flow diagram from the prisma sheet (field names of the PRISMA2020 R package template).

The template follows the sheet: the one for updated reviews when it reports studies of a
previous version, the one for new reviews otherwise. Given the search sheet, only the
kinds of source that were searched are listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.transforms import Affine2D

from . import style
from ._common import NothingToDraw, is_missing, new_figure, text_width_in

NOT_REPORTED = "not reported"
MARGIN_IN = 0.1  # the pad a tight bounding box adds, so the saved width is the planned one
PAD_X_IN = 0.07  # text to box edge
PAD_Y_IN = 0.06
SIDE_GAP_IN = 0.18  # a box and its side box
BRANCH_GAP_IN = 0.28  # between branches
ROW_GAP_IN = 0.22
BAR_IN = 0.24  # the blue section bars on the left
BAR_GAP_IN = 0.1
LINESPACING = 1.25

# Wording of the PRISMA2020 package's template, used when the sheet gives no label.
WORDING = {
    "database_results": "Databases",
    "register_results": "Registers",
    "website_results": "Websites",
    "organisation_results": "Organisations",
    "citations_results": "Citation searching",
    "duplicates": "Duplicate records removed",
    "excluded_automatic": "Records marked as ineligible by automation tools",
    "excluded_other": "Records removed for other reasons",
    "records_screened": "Records screened",
    "records_excluded": "Records excluded",
    "dbr_sought_reports": "Reports sought for retrieval",
    "dbr_notretrieved_reports": "Reports not retrieved",
    "other_sought_reports": "Reports sought for retrieval",
    "other_notretrieved_reports": "Reports not retrieved",
    "dbr_assessed": "Reports assessed for eligibility",
    "dbr_excluded": "Reports excluded",
    "other_assessed": "Reports assessed for eligibility",
    "other_excluded": "Reports excluded",
}
# The boxes of included studies are worded by the template, whatever the sheet's labels:
# a new review has one box, an updated review a box of new and one of total studies.
NEW_REVIEW = {"studies": "Studies included in review", "reports": "Reports of included studies"}
UPDATED = {
    "new_studies": "New studies included in review",
    "new_reports": "Reports of new included studies",
    "total_studies": "Total studies included in review",
    "total_reports": "Reports of total included studies",
    "previous_studies": "Studies included in previous version of review",
    "previous_reports": "Reports of studies included in previous version of review",
}
# The search sheet's kind of source for each identification field.
SOURCE_KIND = {
    "database_results": "database",
    "register_results": "register",
    "website_results": "website",
    "organisation_results": "organisation",
    "citations_results": "citation_searching",
}
MAIN_SOURCES = ("database_results", "register_results")
OTHER_SOURCES = ("website_results", "organisation_results", "citations_results")
OTHER_COUNTS = ("other_sought_reports", "other_notretrieved_reports", "other_assessed", "other_excluded")
HEADER_COLOURS = {"main": "#fbe7a1", "other": "#e3e3e3", "previous": "#e3e3e3"}
BAR_COLOUR = "#9ec4e6"


@dataclass
class PrismaLayout:
    fig: Figure
    template: str = "new"  # "new" or "updated"
    boxes: dict[str, dict] = field(default_factory=dict)  # id -> text, fields, bbox (inches x0, y0, x1, y1), text_bbox
    headers: list[dict] = field(default_factory=list)  # text, bbox, text_bbox
    bars: list[dict] = field(default_factory=list)  # text, bbox, text_bbox
    arrows: list[tuple[str, str]] = field(default_factory=list)
    texts: list = field(default_factory=list)
    alt: str = ""


def _count_text(n: Any, status: Any) -> str:
    if str(status).strip().lower() != "reported" or is_missing(n) or (isinstance(n, str) and not n.strip()):
        return NOT_REPORTED
    v = float(n)
    return f"n = {int(v)}" if v.is_integer() else f"n = {v}"


def _entries(counts: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    need = {"data", "n"}
    if not need <= set(counts.columns):
        raise ValueError(f"prisma sheet needs columns {sorted(need)}")
    out: dict[str, list[tuple[str, str]]] = {}
    for rec in counts.to_dict("records"):
        key = str(rec["data"]).strip()
        label = rec.get("label")
        label = WORDING.get(key, key) if is_missing(label) or not str(label).strip() else str(label)
        status = rec.get("status", "reported" if not is_missing(rec["n"]) else "not_reported")
        out.setdefault(key, []).append((label, _count_text(rec["n"], status)))
    return out


def _reported(entries, key) -> bool:
    return any(c != NOT_REPORTED for _, c in entries.get(key, []))


def _searched_kinds(search) -> set[str] | None:
    if search is None:
        return None
    kinds = search["kind"] if isinstance(search, pd.DataFrame) else search
    return {str(k).strip() for k in kinds if not is_missing(k)}


def _shown_sources(entries, keys, kinds) -> list[str]:
    """Identification fields to list: those searched (a count the sheet reports is always shown)."""
    if kinds is None:
        return [k for k in keys if k in entries]
    return [k for k in keys if (SOURCE_KIND[k] in kinds and k in entries) or _reported(entries, k)]


# ----------------------------------------------------------------------------- text


def _wrap(fig, text: str, width_in: float, **kw) -> str:
    """Greedy word wrap by measured width; a count such as "(n = 12)" is never split."""
    keep = lambda m: m.group(0).replace(" ", "\u00a0")  # noqa: E731
    out = []
    for line in re.sub(r"\((?:n = [^)]*|not reported)\)", keep, text).split("\n"):
        words, current = line.split(" "), ""
        for w in words:
            trial = f"{current} {w}" if current else w
            if current and text_width_in(fig, [trial.replace("\u00a0", " ")], **kw) > width_in:
                out.append(current)
                current = w
            else:
                current = trial
        out.append(current)
    return "\n".join(out).replace("\u00a0", " ")


def _single(entries, key, reasons: bool = False) -> tuple[str, list[str]]:
    if key not in entries:
        return f"{WORDING[key]}\n({NOT_REPORTED})", [key]
    items = entries[key]
    # exclusion rows carry a reason as label; keep the standard heading above them
    if len(items) == 1 and not (reasons and items[0][0] != WORDING[key]):
        label, count = items[0]
        return f"{label}\n({count})", [key]
    return f"{WORDING[key]}:\n" + "\n".join(f"{lab} ({c})" for lab, c in items), [key]


def _listing(entries, head, keys, always=()) -> tuple[str, list[str]]:
    lines, used = [head], []
    for key in keys:
        if key in entries:
            used.append(key)
            lines += [f"{lab} ({c})" for lab, c in entries[key]]
        elif key in always:
            lines.append(f"{WORDING[key]} ({NOT_REPORTED})")
    return "\n".join(lines), used


def _pair(entries, keys: tuple[str, str], wording: tuple[str, str]) -> tuple[str, list[str]]:
    """A box of studies and reports: the template's wording, the sheet's first count for each."""
    lines, used = [], []
    for options, words in zip(keys, wording):
        key = next((k for k in options if k in entries), None)
        count = entries[key][0][1] if key else NOT_REPORTED
        used += [key] if key else []
        lines.append(f"{words}\n({count})")
    return "\n".join(lines), used


# ----------------------------------------------------------------------------- drawing


def prisma_flow(counts: pd.DataFrame, *, search=None, width_in: float | None = None) -> tuple[Figure, PrismaLayout]:
    """Draw the PRISMA 2020 flow diagram `width_in` wide; an unreported count reads "not reported".

    `search` (the search sheet, or its `kind` values) limits the sources listed to the kinds
    searched; without it every source in the counts is listed.
    """
    if counts is None or len(counts) == 0:
        raise NothingToDraw("the prisma sheet has no rows")
    e = _entries(counts)
    kinds = _searched_kinds(search)
    width = float(width_in or style.TEXT_WIDTH_IN)
    previous = _reported(e, "previous_studies") or _reported(e, "previous_reports")
    main_sources = _shown_sources(e, MAIN_SOURCES, kinds)
    other_sources = _shown_sources(e, OTHER_SOURCES, kinds)
    other = bool(other_sources) or any(_reported(e, k) for k in OTHER_COUNTS)
    new = "new " if previous else ""

    # (id, column, row, text, fields); columns: "prev", "main", "side", "other", "other_side"
    specs: list[tuple[str, str, int, str, list[str]]] = []
    text, used = _listing(e, "Records identified from:", main_sources,
                          always=() if kinds is not None and "database" not in kinds else ("database_results",))
    specs.append(("identified", "main", 0, text, used))
    text, used = _listing(e, "Records removed before screening:", ["duplicates", "excluded_automatic", "excluded_other"], always=["duplicates"])
    specs.append(("removed", "side", 0, text, used))
    for sid, col, row, key, reasons in (("screened", "main", 1, "records_screened", False),
                                        ("screen_excluded", "side", 1, "records_excluded", False),
                                        ("sought", "main", 2, "dbr_sought_reports", False),
                                        ("not_retrieved", "side", 2, "dbr_notretrieved_reports", False),
                                        ("assessed", "main", 3, "dbr_assessed", False),
                                        ("excluded", "side", 3, "dbr_excluded", True)):
        specs.append((sid, col, row, *_single(e, key, reasons)))
    if previous:
        specs.append(("included", "main", 4, *_pair(e, (("new_studies",), ("new_reports",)),
                                                     (UPDATED["new_studies"], UPDATED["new_reports"]))))
        specs.append(("total", "main", 5, *_pair(e, (("total_studies",), ("total_reports",)),
                                                  (UPDATED["total_studies"], UPDATED["total_reports"]))))
        specs.append(("previous", "prev", 0, *_pair(e, (("previous_studies",), ("previous_reports",)),
                                                     (UPDATED["previous_studies"], UPDATED["previous_reports"]))))
    else:
        # in a new review the new studies are all the studies: either field gives the count
        specs.append(("included", "main", 4, *_pair(e, (("new_studies", "total_studies"), ("new_reports", "total_reports")),
                                                     (NEW_REVIEW["studies"], NEW_REVIEW["reports"]))))
    if other:
        specs.append(("other_identified", "other", 0, *_listing(e, "Records identified from:", other_sources)))
        for sid, col, row, key, reasons in (("other_sought", "other", 2, "other_sought_reports", False),
                                            ("other_not_retrieved", "other_side", 2, "other_notretrieved_reports", False),
                                            ("other_assessed", "other", 3, "other_assessed", False),
                                            ("other_excluded", "other_side", 3, "other_excluded", True)):
            specs.append((sid, col, row, *_single(e, key, reasons)))
    n_rows = 6 if previous else 5

    # ---- columns: equal widths that fill the width left by the bars and the gaps
    order = (["prev"] if previous else []) + ["main", "side"] + (["other", "other_side"] if other else [])
    gaps = [SIDE_GAP_IN if c in ("side", "other_side") else BRANCH_GAP_IN for c in order[1:]]
    x_first = MARGIN_IN + BAR_IN + BAR_GAP_IN
    col_w = (width - MARGIN_IN - x_first - sum(gaps)) / len(order)
    col_x, x = {}, x_first
    for i, c in enumerate(order):
        x += gaps[i - 1] if i else 0.0
        col_x[c] = x
        x += col_w

    fig = new_figure()
    # IPython's inline display skips a figure without axes, so the figure holds an invisible
    # one, a speck in its middle so that a tight bounding box is set by the boxes alone.
    fig.add_axes((0.5, 0.5, 1e-4, 1e-4)).set_axis_off()
    kw = {"fontsize": style.FONT_SIZE}
    line_in = style.FONT_SIZE * LINESPACING / 72

    def height_of(text: str) -> float:
        return (text.count("\n") + 1) * line_in

    raw = {sid: text for sid, _, _, text, _ in specs}
    specs = [(sid, col, row, _wrap(fig, text, col_w - 2 * PAD_X_IN, **kw), used) for sid, col, row, text, used in specs]

    # ---- headers over each branch, wrapped to their span
    branches = [("main", "main", "side", f"Identification of {new}studies via databases and registers")]
    if previous:
        branches.insert(0, ("previous", "prev", "prev", "Previous studies"))
    if other:
        branches.append(("other", "other", "other_side", f"Identification of {new}studies via other methods"))
    headers = []
    for kind, c0, c1, text in branches:
        x0, x1 = col_x[c0], col_x[c1] + col_w
        headers.append((kind, x0, x1, _wrap(fig, text, x1 - x0 - 2 * PAD_X_IN, fontweight="bold", **kw)))
    header_h = max(height_of(t) for *_, t in headers) + 2 * PAD_Y_IN

    # ---- rows: as tall as their tallest box, and a one-row section as tall as its name
    row_h = [0.0] * n_rows
    for sid, col, row, text, _ in specs:
        row_h[row] = max(row_h[row], height_of(text) + 2 * PAD_Y_IN)
    sections = [("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, n_rows - 1)]
    for name, r0, r1 in sections:
        need = text_width_in(fig, [name], fontweight="bold", **kw) + 2 * PAD_Y_IN
        span = sum(row_h[r0:r1 + 1]) + ROW_GAP_IN * (r1 - r0)
        if span < need:
            row_h[r1] += need - span
    height = 2 * MARGIN_IN + header_h + ROW_GAP_IN + sum(row_h) + ROW_GAP_IN * (n_rows - 1)
    row_top = [height - MARGIN_IN - header_h - ROW_GAP_IN]
    for r in range(1, n_rows):
        row_top.append(row_top[-1] - row_h[r - 1] - ROW_GAP_IN)
    fig.set_size_inches(width, height)
    # Everything is placed in inches through the figure transform, so a tight bounding box
    # at save time moves boxes and their text together.
    inch = Affine2D().scale(1 / width, 1 / height) + fig.transFigure
    layout = PrismaLayout(fig=fig, template="updated" if previous else "new")

    def put(x, y, text, **extra):
        t = fig.text(x, y, text, transform=inch, fontsize=style.FONT_SIZE, linespacing=LINESPACING, **extra)
        layout.texts.append(t)
        return t

    header_texts = []
    y0 = height - MARGIN_IN - header_h
    for kind, x0, x1, text in headers:
        fig.add_artist(Rectangle((x0, y0), x1 - x0, header_h, transform=inch, facecolor=HEADER_COLOURS[kind], edgecolor=style.INK, lw=0.6))
        t = put((x0 + x1) / 2, y0 + header_h / 2, text, ha="center", va="center", multialignment="center", fontweight="bold")
        header_texts.append((t, {"text": text, "bbox": (x0, y0, x1, y0 + header_h)}))

    bar_texts = []
    for name, r0, r1 in sections:
        top, bottom = row_top[r0], row_top[r1] - row_h[r1]
        fig.add_artist(FancyBboxPatch((MARGIN_IN, bottom), BAR_IN, top - bottom, boxstyle="round,pad=0,rounding_size=0.05",
                                      transform=inch, facecolor=BAR_COLOUR, edgecolor="none"))
        t = put(MARGIN_IN + BAR_IN / 2, (top + bottom) / 2, name, rotation=90, ha="center", va="center", fontweight="bold")
        bar_texts.append((t, {"text": name, "bbox": (MARGIN_IN, bottom, MARGIN_IN + BAR_IN, top)}))

    box_texts = []
    for sid, col, row, text, fields in specs:
        # each box as tall as its text, centred in its row, so side arrows stay level
        h = height_of(text) + 2 * PAD_Y_IN
        x0, y1 = col_x[col], row_top[row] - (row_h[row] - h) / 2
        y0 = y1 - h
        face = "white" if col in ("main", "side") else "#f2f2f2"
        fig.add_artist(Rectangle((x0, y0), col_w, h, transform=inch, facecolor=face, edgecolor=style.INK, lw=0.7))
        t = put(x0 + PAD_X_IN, (y0 + y1) / 2, text, ha="left", va="center")
        layout.boxes[sid] = {"text": text, "fields": fields, "bbox": (x0, y0, x0 + col_w, y1)}
        box_texts.append((sid, t))

    def arrow(points):
        from matplotlib.path import Path

        codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
        fig.add_artist(FancyArrowPatch(path=Path(points, codes), transform=inch, arrowstyle="-|>", mutation_scale=8,
                                       color=style.INK, lw=0.7))

    def mid(sid):
        x0, y0, x1, y1 = layout.boxes[sid]["bbox"]
        return (x0 + x1) / 2, (y0 + y1) / 2

    def link(a, b, kind):
        ax0, ay0, ax1, ay1 = layout.boxes[a]["bbox"]
        bx0, by0, bx1, by1 = layout.boxes[b]["bbox"]
        if kind == "down":
            x = (ax0 + ax1) / 2
            arrow([(x, ay0), (x, by1)])
        elif kind == "right":
            y = (by0 + by1) / 2
            arrow([(ax1, y), (bx0, y)])
        else:  # from a side branch: down to the target's middle, then across into it
            x, y = (ax0 + ax1) / 2, (by0 + by1) / 2
            arrow([(x, ay0), (x, y), (bx1 if x > bx1 else bx0, y)])
        layout.arrows.append((a, b))

    for a, b in (("identified", "screened"), ("screened", "sought"), ("sought", "assessed"), ("assessed", "included")):
        link(a, b, "down")
    for a, b in (("identified", "removed"), ("screened", "screen_excluded"), ("sought", "not_retrieved"), ("assessed", "excluded")):
        link(a, b, "right")
    if other:
        link("other_identified", "other_sought", "down")
        link("other_sought", "other_assessed", "down")
        link("other_sought", "other_not_retrieved", "right")
        link("other_assessed", "other_excluded", "right")
        link("other_assessed", "included", "elbow")
    if previous:
        link("included", "total", "down")
        link("previous", "total", "elbow")

    renderer = fig.canvas.get_renderer()

    def extent(t):
        bb = t.get_window_extent(renderer)
        return (bb.x0 / fig.dpi, bb.y0 / fig.dpi, bb.x1 / fig.dpi, bb.y1 / fig.dpi)

    for sid, t in box_texts:
        layout.boxes[sid]["text_bbox"] = extent(t)
    layout.headers = [dict(info, text_bbox=extent(t)) for t, info in header_texts]
    layout.bars = [dict(info, text_bbox=extent(t)) for t, info in bar_texts]

    shown = [c for b in layout.boxes.values() for c in re.findall(r"\((n = [^)]*|not reported)\)", b["text"].replace("\n", " "))]
    studies = raw["total" if previous else "included"].split("\n")[:2]
    layout.alt = (
        f"PRISMA 2020 flow diagram ({'updated' if previous else 'new'} review) of study selection via "
        + _join([{"database_results": "databases", "register_results": "registers"}[k] for k in main_sources] or ["databases"])
        + (" and other methods" if other else "")
        + f". {studies[0]} {studies[1]}. "
        + f"{sum(c == NOT_REPORTED for c in shown)} of {len(shown)} counts are not reported by the source."
    )
    return fig, layout


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

