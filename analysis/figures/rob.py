"""Risk-of-bias traffic-light plot and summary bar chart, in robvis colours and layout."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.transforms import Affine2D

from . import style
from ._common import NothingToDraw, new_figure, text_width_in

# robvis colours and symbols, keyed by normalised judgement.
JUDGEMENTS = {
    "low": ("#02C100", "+", "Low"),
    "some concerns": ("#E2DF07", "\u2212", "Some concerns"),
    "moderate": ("#E2DF07", "\u2212", "Moderate"),
    "high": ("#BF0000", "\u00d7", "High"),
    "serious": ("#BF0000", "\u00d7", "Serious"),
    "critical": ("#820000", "!", "Critical"),
    "no information": ("#4EA1F7", "?", "No information"),
}
ORDER = {
    "RoB2": ["low", "some concerns", "high", "no information"],
    "ROBINS-I": ["low", "moderate", "serious", "critical", "no information"],
}
SYNONYMS = {"some": "some concerns", "ni": "no information", "unclear": "no information", "no info": "no information"}


def normalise_judgement(j: Any) -> str | None:
    if j is None or (isinstance(j, float) and np.isnan(j)):
        return None
    s = " ".join(str(j).strip().lower().replace("_", " ").split())
    s = SYNONYMS.get(s, s)
    return s if s in JUDGEMENTS else None


def judgement_style(j: Any) -> tuple[str, str]:
    """(colour, symbol) of a judgement; unknown text draws as no information."""
    key = normalise_judgement(j) or "no information"
    colour, symbol, _ = JUDGEMENTS[key]
    return colour, symbol


def domain_order(domains) -> list[str]:
    """Domains in first-seen order with the overall judgement last."""
    seen: list[str] = []
    for d in domains:
        d = str(d)
        if d not in seen:
            seen.append(d)
    rest = [d for d in seen if not d.strip().lower().startswith("overall")]
    overall = [d for d in seen if d.strip().lower().startswith("overall")]
    return rest + overall


@dataclass
class RobLayout:
    fig: Figure
    tools: list[str] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)  # tool, study, domain, judgement, x, y
    bars: list[dict] = field(default_factory=list)  # tool, domain, judgement, left, width
    texts: list = field(default_factory=list)
    alt: str = ""


def _usable(rob: pd.DataFrame | None) -> pd.DataFrame:
    if rob is None or len(rob) == 0:
        raise NothingToDraw("no risk-of-bias assessments")
    frame = rob.copy()
    frame["_j"] = [normalise_judgement(j) for j in frame["judgement"]]
    frame = frame[frame["_j"].notna()]
    if frame.empty:
        raise NothingToDraw("no risk-of-bias judgements recorded")
    if "tool" not in frame.columns:
        frame["tool"] = "RoB2"
    frame["tool"] = frame["tool"].astype(str)
    return frame


def _study_key(frame: pd.DataFrame) -> str:
    return "label" if "label" in frame.columns else "study"


def _select(rob: pd.DataFrame, tool: str | None) -> pd.DataFrame:
    """The usable assessments, of one tool when asked; NothingToDraw when none are left."""
    frame = _usable(rob)
    if tool is not None:
        frame = frame[frame["tool"] == tool]
        if frame.empty:
            raise NothingToDraw(f"no {tool} assessments")
    return frame


def rob_traffic_light(rob: pd.DataFrame, *, tool: str | None = None) -> tuple[Figure, RobLayout]:
    """One row per study, one column per domain plus overall; a panel per tool present."""
    frame = _select(rob, tool)
    key = _study_key(frame)
    tools = list(dict.fromkeys(frame["tool"]))
    fig = new_figure()
    kw = {"fontsize": style.FONT_SIZE}
    w_study = text_width_in(fig, [str(s) for s in frame[key]], **kw) + 0.2
    panels = []
    for tl in tools:
        sub = frame[frame["tool"] == tl]
        panels.append((tl, sub, list(dict.fromkeys(sub[key].astype(str))), domain_order(sub["domain"])))
    max_dom = max(len(p[3]) for p in panels)
    # at most the PDF text width: many domains get smaller cells
    cell = min(0.32, (style.TEXT_WIDTH_IN - w_study - 0.4) / max_dom)
    w_dom_names = text_width_in(fig, [f"D{i+1}: {d}" for p in panels for i, d in enumerate(p[3])], fontsize=style.FONT_SIZE)
    w_judg = text_width_in(fig, [JUDGEMENTS[j][2] for j in JUDGEMENTS], fontsize=style.FONT_SIZE) + 0.7
    width = min(max(w_study + max_dom * cell + 0.4, w_dom_names + w_judg + 0.5), style.TEXT_WIDTH_IN)
    # key lines under each grid: the domain names, or the judgement legend if longer
    heights = [0.5 + len(p[2]) * cell + 0.25 + max(len(p[3]) - 1, len(ORDER.get(p[0], JUDGEMENTS)) + 1) * 0.15 + 0.1 for p in panels]
    height = sum(heights)
    fig.set_size_inches(width, height)
    layout = RobLayout(fig=fig, tools=tools)
    top = height
    for (tl, sub, studies, domains), h in zip(panels, heights):
        grid_h = len(studies) * cell
        ax = fig.add_axes((w_study / width, (top - 0.5 - grid_h) / height, len(domains) * cell / width, grid_h / height))
        ax.set_xlim(-0.5, len(domains) - 0.5)
        ax.set_ylim(len(studies) - 0.5, -0.5)
        ax.set_xticks(range(len(domains)), [f"D{i+1}" if not d.lower().startswith("overall") else "Overall" for i, d in enumerate(domains)])
        ax.xaxis.tick_top()
        ax.set_yticks(range(len(studies)), studies)
        ax.tick_params(length=0)
        for s in ax.spines.values():
            s.set_visible(False)
        ax.set_title(tl, loc="left", fontsize=style.TITLE_SIZE, fontweight="bold", pad=18)
        for st, d, j in zip(sub[key].astype(str), sub["domain"].astype(str), sub["_j"]):
            x, y = domains.index(d), studies.index(st)
            colour, symbol, _ = JUDGEMENTS[j]
            ax.scatter([x], [y], s=(cell * 72 * 0.78) ** 2, color=colour, linewidths=0, zorder=3)
            layout.texts.append(ax.text(x, y, symbol, ha="center", va="center", color="white", fontweight="bold", fontsize=style.FONT_SIZE + 1, zorder=4))
            layout.cells.append({"tool": tl, "study": st, "domain": d, "judgement": j, "x": x, "y": y})
        ax.hlines(np.arange(len(studies) + 1) - 0.5, -0.5, len(domains) - 0.5, color=style.GRID_COLOUR, lw=0.5, zorder=1)
        # domain key and judgement legend under the grid
        y0 = (top - 0.5 - grid_h - 0.2) / height
        for i, d in enumerate(domains):
            if d.lower().startswith("overall"):
                continue
            layout.texts.append(fig.text(0.1 / width, y0 - i * 0.15 / height, f"D{i+1}: {d}", fontsize=style.FONT_SIZE, va="top"))
        present = [j for j in ORDER.get(tl, list(JUDGEMENTS)) if j in set(sub["_j"])] or sorted(set(sub["_j"]))
        handles = [Patch(facecolor=JUDGEMENTS[j][0], label=f"{JUDGEMENTS[j][1]}  {JUDGEMENTS[j][2]}") for j in present]
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(1 - 0.05 / width, y0 + 0.02 / height), fontsize=style.FONT_SIZE, title="Judgement", title_fontsize=style.FONT_SIZE, alignment="left")
        top -= h
    n_st = frame[key].nunique()
    layout.alt = (
        f"Risk-of-bias traffic-light plot of {n_st} {'study' if n_st == 1 else 'studies'} "
        f"({', '.join(tools)}): one coloured circle per study and domain. "
        + _judgement_counts_sentence(frame)
    )
    return fig, layout


def _judgement_counts_sentence(frame: pd.DataFrame) -> str:
    ov = frame[frame["domain"].astype(str).str.lower().str.startswith("overall")]
    if ov.empty:
        return "No overall judgement is recorded."
    counts = ov["_j"].value_counts()
    order = [j for j in JUDGEMENTS if j in counts.index]
    return "Overall: " + ", ".join(f"{JUDGEMENTS[j][2].lower()} {int(counts[j])}" for j in order) + "."


def rob_summary(rob: pd.DataFrame, *, weights: dict | None = None, tool: str | None = None) -> tuple[Figure, RobLayout]:
    """Stacked bars: share of studies (or of weight, when `weights` maps study to weight) per judgement and domain."""
    frame = _select(rob, tool)
    key = _study_key(frame)
    tools = list(dict.fromkeys(frame["tool"]))
    fig = new_figure()
    doms_all = [(tl, domain_order(frame[frame["tool"] == tl]["domain"])) for tl in tools]
    w_names = text_width_in(fig, [d for _, ds in doms_all for d in ds], fontsize=style.FONT_SIZE) + 0.25
    width = style.TEXT_WIDTH_IN
    bar_w = max(width - w_names - 0.3, 1.5)
    bar_h = 0.26
    heights = [0.45 + len(ds) * bar_h + 0.6 for _, ds in doms_all]
    height = sum(heights)
    fig.set_size_inches(width, height)
    layout = RobLayout(fig=fig, tools=tools)
    top = height
    for (tl, domains), h in zip(doms_all, heights):
        sub = frame[frame["tool"] == tl]
        ax = fig.add_axes((w_names / width, (top - 0.45 - len(domains) * bar_h) / height, bar_w / width, len(domains) * bar_h / height))
        order = [j for j in ORDER.get(tl, list(JUDGEMENTS)) if j in set(sub["_j"])]
        for yi, d in enumerate(domains):
            rows = sub[sub["domain"].astype(str) == d]
            w = np.array([float(weights.get(s, np.nan)) if weights else 1.0 for s in rows[key].astype(str)])
            if weights and np.isnan(w).any():
                missing = rows[key].astype(str)[np.isnan(w)].tolist()
                raise ValueError(f"no weight for {', '.join(missing)}")
            total = w.sum()
            left = 0.0
            for j in order:
                share = float(w[(rows["_j"] == j).to_numpy()].sum() / total * 100) if total else 0.0
                if share <= 0:
                    continue
                ax.barh(yi, share, left=left, height=0.72, color=JUDGEMENTS[j][0], edgecolor="white", lw=0.4)
                layout.bars.append({"tool": tl, "domain": d, "judgement": j, "left": left, "width": share})
                left += share
        ax.set_ylim(len(domains) - 0.5, -0.5)
        ax.set_xlim(0, 100)
        ax.set_yticks(range(len(domains)), domains)
        ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
        for s in ("top", "right", "left"):
            ax.spines[s].set_visible(False)
        ax.tick_params(axis="y", length=0)
        what = "weight" if weights else "studies"
        ax.set_title(f"{tl} (share of {what})", loc="left", fontsize=style.TITLE_SIZE, fontweight="bold")
        handles = [Patch(facecolor=JUDGEMENTS[j][0], label=JUDGEMENTS[j][2]) for j in order]
        # placed in inches below the axis so it keeps its distance whatever the panel height
        bottom_in = top - 0.45 - len(domains) * bar_h
        # in inches through the figure transform, so a tight bounding box moves it with the bars
        inch = Affine2D().scale(1 / width, 1 / height) + fig.transFigure
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(w_names + bar_w / 2, bottom_in - 0.27), bbox_transform=inch, ncols=len(handles), fontsize=style.FONT_SIZE, handlelength=1.0, columnspacing=1.0)
        top -= h
    layout.alt = (
        f"Risk-of-bias summary ({', '.join(tools)}): for each domain a bar split by judgement, as a share of "
        f"{'meta-analysis weight' if weights else 'studies'}. " + _judgement_counts_sentence(frame)
    )
    return fig, layout
