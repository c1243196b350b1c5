"""Adverse-event proportions with exact (Clopper-Pearson) intervals, by event term and arm role."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from . import style
from ._common import NothingToDraw, fmt_num
from ._rowchart import RowChartLayout, row_chart

ROLE_NAMES = {"active": "Active", "control": "Control", "total": "All arms"}
ROLE_MARKERS = {"active": "o", "control": "s", "total": "D"}


def _count(v) -> str:
    v = float(v)
    return f"{int(v)}" if v.is_integer() else f"{v:g}"


def safety_plot(tally, *, roles=("active", "control", "total"), title: str | None = None) -> tuple[Figure, RowChartLayout]:
    """`tally` is a SafetyTally (or its `.totals` frame): event, role, events, at_risk, studies, proportion, ci_lb, ci_ub."""
    totals = getattr(tally, "totals", tally)
    level = getattr(tally, "level", 95)
    if totals is None or len(totals) == 0:
        raise NothingToDraw("no adverse-event tallies")
    totals = totals[totals["role"].isin(roles)]
    if totals.empty or totals["proportion"].notna().sum() == 0:
        raise NothingToDraw("no adverse event has a known number at risk")
    rows, drawn = [], set()
    for event in dict.fromkeys(totals["event"]):
        rows.append({"label": str(event).replace("_", " ").capitalize(), "bold": True})
        sub = totals[totals["event"] == event]
        for role in roles:
            rec = sub[sub["role"] == role]
            if rec.empty:
                continue
            r = rec.iloc[0]
            known = np.isfinite(r["proportion"])
            if known:
                drawn.add(role)
            count = f"{_count(r['events'])}/{_count(r['at_risk'])}" if known else f"{_count(r['events'])}/?"
            rows.append(
                {
                    "label": ROLE_NAMES.get(role, str(role)),
                    "indent": 1,
                    "est": float(r["proportion"]) * 100 if known else None,
                    "lb": float(r["ci_lb"]) * 100 if known else None,
                    "ub": float(r["ci_ub"]) * 100 if known else None,
                    "colour": style.ARM_COLOURS.get(role, style.POOLED_COLOUR),
                    "marker": ROLE_MARKERS.get(role, "o"),
                    "cells": [
                        count,
                        str(int(r["studies"])),
                        f"{fmt_num(r['proportion'] * 100, 1)}% [{fmt_num(r['ci_lb'] * 100, 1)}, {fmt_num(r['ci_ub'] * 100, 1)}]"
                        if known else "at risk unknown",
                    ],
                }
            )
    hi = float(np.nanmax(totals["ci_ub"].to_numpy(dtype=float))) * 100
    xlim = (-0.02 * max(hi, 1.0), max(hi, 1.0) * 1.05)
    layout = row_chart(
        rows,
        headers=["Events/at risk", "Studies", f"% [{fmt_num(level, 0)}% CI]"],
        label_header="Event",
        xlim=xlim,
        xlabel=f"Participants with the event, % (exact {fmt_num(level, 0)}% CI)",
        null=0.0,
        title=title,
        # the arms' markers and colours, for the rows whose proportion is drawn
        legend=[(ROLE_NAMES.get(r, str(r)), ROLE_MARKERS.get(r, "o"), style.ARM_COLOURS.get(r, style.POOLED_COLOUR)) for r in roles if r in drawn],
    )
    events = list(dict.fromkeys(totals["event"]))
    parts, current = [], None
    for r in rows:
        if r.get("bold"):
            current = [r["label"]]
            parts.append(current)
        else:
            current.append(f"{r['label'].lower()} {r['cells'][0]} ({r['cells'][2]})")
    layout.alt = (
        f"Adverse events: share of participants with each of {len(events)} event terms by arm, "
        f"with exact {fmt_num(level, 0)}% confidence intervals. "
        + " ".join(f"{p[0]}: {'; '.join(p[1:])}." for p in parts)
    )
    return layout.fig, layout
