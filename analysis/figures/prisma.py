"""PRISMA 2020 flow diagram from the prisma sheet (field names of the PRISMA2020 R package template)."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from . import style
from ._common import NothingToDraw, is_missing, new_figure

NOT_REPORTED = "not reported"
PAD_IN = 0.09  # text to box edge
COL_GAP_IN = 0.35
ROW_GAP_IN = 0.32
BAR_IN = 0.26  # the blue section bars on the left
HEADER_IN = 0.34
BOX_MIN_W_IN = 1.9

# Standard PRISMA 2020 wording, used when the sheet gives no label for a field.
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
    "new_studies": "New studies included in review",
    "new_reports": "Reports of new included studies",
    "total_studies": "Total studies included in review",
    "total_reports": "Reports of total included studies",
    "previous_studies": "Studies included in previous version of review",
    "previous_reports": "Reports of studies included in previous version of review",
}
OTHER_FIELDS = {"website_results", "organisation_results", "citations_results", "other_sought_reports",
                "other_notretrieved_reports", "other_assessed", "other_excluded"}


@dataclass
class PrismaLayout:
    fig: Figure
    boxes: dict[str, dict] = field(default_factory=dict)  # id -> text, fields, bbox (inches x0, y0, x1, y1), text_bbox
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


WRAP_CHARS = 34  # longest line of box text, in characters


def _wrap(text: str) -> str:
    # a count, "(n = 12)" or "(not reported)", is never split across lines
    def keep(m):
        return m.group(0).replace(" ", "\u00a0")

    lines = []
    for line in re.sub(r"\((?:n = [^)]*|not reported)\)", keep, text).split("\n"):
        lines.append(textwrap.fill(line, WRAP_CHARS, break_long_words=False, break_on_hyphens=False) or line)
    return "\n".join(lines).replace("\u00a0", " ")


def _single(entries, key, reasons: bool = False) -> str:
    if key not in entries:
        return f"{WORDING[key]}\n({NOT_REPORTED})"
    items = entries[key]
    # exclusion rows carry a reason as label; keep the standard heading above them
    if len(items) == 1 and not (reasons and items[0][0] != WORDING[key]):
        label, count = items[0]
        return f"{label}\n({count})"
    return f"{WORDING[key]}:\n" + "\n".join(f"{lab} ({c})" for lab, c in items)


def _listing(entries, head, keys, always=()) -> tuple[str, list[str]]:
    lines, used = [head], []
    for key in keys:
        if key in entries:
            used.append(key)
            for lab, c in entries[key]:
                lines.append(f"{lab} ({c})")
        elif key in always:
            lines.append(f"{WORDING[key]} ({NOT_REPORTED})")
    return "\n".join(lines), used


def prisma_flow(counts: pd.DataFrame) -> tuple[Figure, PrismaLayout]:
    """Draw the PRISMA 2020 flow diagram; an unreported count reads "not reported"."""
    if counts is None or len(counts) == 0:
        raise NothingToDraw("the prisma sheet has no rows")
    e = _entries(counts)
    other = any(k in e for k in OTHER_FIELDS)
    previous = any(k in e for k in ("previous_studies", "previous_reports"))

    # (id, column, row, text, fields); columns: 0 main, 1 main side, 2 other, 3 other side
    specs: list[tuple[str, int, int, str, list[str]]] = []
    text, used = _listing(e, "Records identified from:", ["database_results", "register_results"], always=["database_results"])
    specs.append(("identified", 0, 0, text, used))
    text, used = _listing(e, "Records removed before screening:", ["duplicates", "excluded_automatic", "excluded_other"], always=["duplicates"])
    specs.append(("removed", 1, 0, text, used))
    specs.append(("screened", 0, 1, _single(e, "records_screened"), ["records_screened"]))
    specs.append(("screen_excluded", 1, 1, _single(e, "records_excluded"), ["records_excluded"]))
    specs.append(("sought", 0, 2, _single(e, "dbr_sought_reports"), ["dbr_sought_reports"]))
    specs.append(("not_retrieved", 1, 2, _single(e, "dbr_notretrieved_reports"), ["dbr_notretrieved_reports"]))
    specs.append(("assessed", 0, 3, _single(e, "dbr_assessed"), ["dbr_assessed"]))
    specs.append(("excluded", 1, 3, _single(e, "dbr_excluded", reasons=True), ["dbr_excluded"]))
    inc_keys = [k for k in ("new_studies", "new_reports", "total_studies", "total_reports") if k in e] or ["total_studies"]
    inc_lines = []
    for k in inc_keys:
        for lab, c in e.get(k, [(WORDING[k], NOT_REPORTED)]):
            inc_lines.append(f"{lab}\n({c})")
    specs.append(("included", 0, 4, "\n".join(inc_lines), inc_keys))
    if previous:
        prev_lines = []
        for k in ("previous_studies", "previous_reports"):
            for lab, c in e.get(k, []):
                prev_lines.append(f"{lab}\n({c})")
        specs.append(("previous", -1, 0, "\n".join(prev_lines), [k for k in ("previous_studies", "previous_reports") if k in e]))
    if other:
        text, used = _listing(e, "Records identified from:", ["website_results", "organisation_results", "citations_results"])
        specs.append(("other_identified", 2, 0, text, used))
        specs.append(("other_sought", 2, 2, _single(e, "other_sought_reports"), ["other_sought_reports"]))
        specs.append(("other_not_retrieved", 3, 2, _single(e, "other_notretrieved_reports"), ["other_notretrieved_reports"]))
        specs.append(("other_assessed", 2, 3, _single(e, "other_assessed"), ["other_assessed"]))
        specs.append(("other_excluded", 3, 3, _single(e, "other_excluded", reasons=True), ["other_excluded"]))

    # Long lines are wrapped so the diagram stays narrow enough to read at page width.
    specs = [(sid, col, row, _wrap(text), used) for sid, col, row, text, used in specs]
    fig = new_figure()
    # IPython's inline display skips a figure without axes, so the boxes sit on an
    # invisible full-size one.
    fig.add_axes((0, 0, 1, 1)).set_axis_off()
    renderer = fig.canvas.get_renderer()
    probe = fig.text(0, 0, "", fontsize=style.FONT_SIZE, linespacing=1.3)
    sizes = {}
    for sid, col, row, text, _ in specs:
        probe.set_text(text)
        bb = probe.get_window_extent(renderer)
        sizes[sid] = (bb.width / fig.dpi + 2 * PAD_IN, bb.height / fig.dpi + 2 * PAD_IN)
    # a section bar must be as tall as its rotated name
    sections = [("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4)]
    section_len = {}
    probe.set_fontweight("bold")
    for name, _, _ in sections:
        probe.set_text(name)
        section_len[name] = probe.get_window_extent(renderer).width / fig.dpi + 0.2
    probe.remove()
    order = ([-1] if previous else []) + [0, 1] + ([2, 3] if other else [])
    col_w = {c: BOX_MIN_W_IN for c in order}
    row_h = [0.0] * 5
    for sid, col, row, _, _ in specs:
        col_w[col] = max(col_w[col], sizes[sid][0])
        row_h[row] = max(row_h[row], sizes[sid][1])
    for name, r0, r1 in sections:
        if r0 == r1:
            row_h[r0] = max(row_h[r0], section_len[name])
    col_x = {}
    x = 0.12 + BAR_IN + 0.15
    for i, c in enumerate(order):
        if i:
            # branches stand further apart than a box and its side box
            x += COL_GAP_IN * (1.6 if c in (0, 2) else 1.0)
        col_x[c] = x
        x += col_w[c]
    width = x + 0.12
    height = 0.12 + HEADER_IN + 0.15 + sum(row_h) + ROW_GAP_IN * 4 + 0.12
    row_top = [height - 0.12 - HEADER_IN - 0.15]
    for r in range(1, 5):
        row_top.append(row_top[-1] - row_h[r - 1] - ROW_GAP_IN)
    fig.set_size_inches(width, height)
    tr = fig.dpi_scale_trans
    layout = PrismaLayout(fig=fig)

    # headers over each branch
    def header(x0, x1, text, colour):
        fig.add_artist(Rectangle((x0, height - 0.12 - HEADER_IN), x1 - x0, HEADER_IN, transform=tr, facecolor=colour, edgecolor=style.INK, lw=0.6))
        layout.texts.append(fig.text((x0 + x1) / 2 / width, (height - 0.12 - HEADER_IN / 2) / height, text, ha="center", va="center", fontsize=style.FONT_SIZE, fontweight="bold"))

    header(col_x[0], col_x[1] + col_w[1], "Identification of studies via databases and registers", "#fbe7a1")
    if previous:
        header(col_x[-1], col_x[-1] + col_w[-1], "Previous studies", "#e3e3e3")
    if other:
        header(col_x[2], col_x[3] + col_w[3], "Identification of studies via other methods", "#e3e3e3")

    # section bars
    for name, r0, r1 in sections:
        top, bottom = row_top[r0], row_top[r1] - row_h[r1]
        fig.add_artist(FancyBboxPatch((0.12, bottom), BAR_IN, top - bottom, boxstyle="round,pad=0,rounding_size=0.05", transform=tr, facecolor="#9ec4e6", edgecolor="none"))
        layout.texts.append(fig.text((0.12 + BAR_IN / 2) / width, (top + bottom) / 2 / height, name, rotation=90, ha="center", va="center", fontsize=style.FONT_SIZE, fontweight="bold"))

    for sid, col, row, text, fields in specs:
        w, h = col_w[col], sizes[sid][1]
        x0 = col_x[col]
        y1 = row_top[row] - (row_h[row] - h) / 2
        y0 = y1 - h
        face = "#f2f2f2" if col >= 2 or col < 0 else "white"
        fig.add_artist(Rectangle((x0, y0), w, h, transform=tr, facecolor=face, edgecolor=style.INK, lw=0.7))
        t = fig.text((x0 + PAD_IN) / width, (y0 + y1) / 2 / height, text, ha="left", va="center", fontsize=style.FONT_SIZE, linespacing=1.3)
        layout.texts.append(t)
        layout.boxes[sid] = {"text": text, "fields": fields, "bbox": (x0, y0, x0 + w, y1)}

    def arrow(a, b, kind):
        ax0, ay0, ax1, ay1 = layout.boxes[a]["bbox"]
        bx0, by0, bx1, by1 = layout.boxes[b]["bbox"]
        if kind == "down":
            start, end = ((ax0 + ax1) / 2, ay0), ((bx0 + bx1) / 2, by1)
        elif kind == "right":
            y = (by0 + by1) / 2
            start, end = (ax1, y), (bx0, y)
        else:  # from a side branch into the included box: down, then across
            x = (ax0 + ax1) / 2
            y = (by0 + by1) / 2
            fig.add_artist(FancyArrowPatch((x, ay0), (bx1 if x > bx1 else bx0, y), connectionstyle="angle,angleA=-90,angleB=180,rad=0", arrowstyle="-|>", mutation_scale=8, transform=tr, color=style.INK, lw=0.7, shrinkA=0, shrinkB=0))
            layout.arrows.append((a, b))
            return
        fig.add_artist(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=8, transform=tr, color=style.INK, lw=0.7, shrinkA=0, shrinkB=0))
        layout.arrows.append((a, b))

    for a, b in (("identified", "screened"), ("screened", "sought"), ("sought", "assessed"), ("assessed", "included")):
        arrow(a, b, "down")
    for a, b in (("identified", "removed"), ("screened", "screen_excluded"), ("sought", "not_retrieved"), ("assessed", "excluded")):
        arrow(a, b, "right")
    if other:
        arrow("other_identified", "other_sought", "down")
        arrow("other_sought", "other_assessed", "down")
        arrow("other_sought", "other_not_retrieved", "right")
        arrow("other_assessed", "other_excluded", "right")
        arrow("other_assessed", "included", "elbow")
    if previous:
        arrow("previous", "included", "elbow")

    renderer = fig.canvas.get_renderer()
    for (sid, *_), t in zip(specs, layout.texts[-len(specs):]):
        bb = t.get_window_extent(renderer)
        layout.boxes[sid]["text_bbox"] = (bb.x0 / fig.dpi, bb.y0 / fig.dpi, bb.x1 / fig.dpi, bb.y1 / fig.dpi)

    reported = [f"{lab} ({c})" for k in ("records_screened", "dbr_assessed", "new_studies", "total_studies") for lab, c in e.get(k, [])]
    n_nr = sum(c == NOT_REPORTED for items in e.values() for _, c in items)
    layout.alt = (
        "PRISMA 2020 flow diagram of study selection"
        + (" via databases, registers and other methods" if other else " via databases and registers")
        + ". "
        + ("; ".join(reported).replace("\n", " ") + ". " if reported else "")
        + f"{n_nr} of {sum(len(v) for v in e.values())} counts are not reported by the source."
    )
    return fig, layout
