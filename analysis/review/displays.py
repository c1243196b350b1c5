"""What the results section shows, chosen from the plan and the synthesis: a list of display
records, pure data.

For every planned analysis, whatever became of it, `displays(synth)` returns the records a
reader of a RevMan or metafor report expects, in the order the review prints them: the forest
plot (pooled, or the study rows with the reason there is no diamond), a subgroup forest with
the test for subgroup differences for every subgroup rule the data meet, leave-one-out and
cumulative pooling and the funnel plot with Egger's test and trim-and-fill when the plan's
`sensitivity` rules are met, and, for the adverse events, a table of every pooled event term
and a forest per term. What the data do not support is a `text` record: one sentence saying
why it is not drawn. Each figure or table record carries its Quarto label, its caption and
the computed results the drawing needs; nothing here draws (analysis.figures.draw does) or
prints (review.qmd loops over the records).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.cells import text as _t

from ..errors import StatsError
from ..stats.sensitivity import cumulative, egger_test, funnel_data, leave_one_out, trimfill
from ..stats.subgroups import subgroup_analysis
from . import report as R
from .synthesis import POOLED

FOREST, SUBGROUP, LEAVE_ONE_OUT, CUMULATIVE, FUNNEL = (
    "forest", "subgroup_forest", "leave_one_out", "cumulative", "funnel")
HARMS_TABLE, HARMS_FOREST, TEXT = "harms_table", "harms_forest", "text"
FIGURE_KINDS = (FOREST, SUBGROUP, LEAVE_ONE_OUT, CUMULATIVE, FUNNEL, HARMS_FOREST)

MEASURE_WORDS = {"MD": "mean difference", "SMD": "standardised mean difference (Hedges' g)",
                 "RR": "risk ratio", "OR": "odds ratio", "RD": "risk difference",
                 "GEN": "effect", "PETO": "Peto odds ratio"}
METHOD_WORDS = {"RD": "Mantel-Haenszel risk difference", "PETO": "Peto odds ratio"}


@dataclass(frozen=True)
class Display:
    """One thing the results section shows. `kind` is one of the constants above; `label` the
    Quarto label (`fig-...` or `tbl-...`, "" for text); `caption` the caption; `text` the sentence
    printed before it (for a `text` record, the sentence saying why nothing is drawn);
    `subject` the outcome id or event term; `analysis` the OutcomeAnalysis, `result` the
    computed object to draw (PoolResult, SubgroupResult, leave-one-out or cumulative frame,
    funnel data), `extra` what else the drawing or the table needs."""

    kind: str
    subject: str
    label: str = ""
    caption: str = ""
    text: str = ""
    analysis: Any = None
    result: Any = None
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def is_figure(self) -> bool:
        return self.kind in FIGURE_KINDS


slug = R.slug


def _measure(a) -> str:
    return MEASURE_WORDS.get(a.measure, a.measure)


def _forest(a, synth) -> Display:
    label = R.forest_label(a.outcome)
    what = (f"{a.label}: {_measure(a)} between active and control arms"
            + (", an exploratory analysis" if a.exploratory else ""))
    if a.status == POOLED:
        caption = (f"{what}, {R.count_noun(a.k, 'study', 'studies')} and {a.participants} participants. "
                   f"The diamond is the pooled estimate with its {a.level:g}% confidence interval, "
                   f"the line through it the {a.level:g}% prediction interval; heterogeneity is given under the studies.")
        text = (f"@{label} shows the {a.label} study by study with the pooled estimate.")
    else:
        caption = (f"{what}: the {'study' if a.k == 1 else 'studies'} with usable data, without a pooled "
                   f"estimate, because {R.unpooled_reason(a)}.")
        text = (f"@{label} shows the {a.label} "
                + ("for its one study; there is no pooled estimate." if a.k == 1 else
                   f"for its {R.words(a.k)} studies, which were not pooled."))
    return Display(FOREST, a.outcome, label, caption, text, analysis=a, result=a.result)


def _subgroups(a, synth) -> list[Display]:
    out = []
    plan = synth.plan
    if a.status != POOLED or a.pooling != "inverse_variance":
        return out
    op = plan.outcome(a.outcome)
    for sg in plan.subgroups:
        rows = a.subgroups[a.subgroups["by"] == sg.by] if len(a.subgroups) else a.subgroups
        pooled = rows[rows["status"] == POOLED] if len(rows) else rows
        if len(pooled) < 2:
            continue
        keep_groups = set(pooled["group"])
        groups = [_value(synth, s, sg.by) or "not reported" for s in a.effects["study"]]
        keep = [i for i, g in enumerate(groups) if g in keep_groups]
        sub = a.effects.iloc[keep]
        try:
            res = subgroup_analysis(sub["yi"].to_numpy(float), sub["vi"].to_numpy(float),
                                    [groups[i] for i in keep], method=op.estimator,
                                    hk=op.hartung_knapp, labels=list(sub["label"]), level=op.level,
                                    measure=a.measure, tau2_convergence=op.tau2_convergence)
        except StatsError:
            continue
        label = f"fig-subgroups-{slug(a.outcome)}-{slug(sg.by)}"
        left_out = a.k - len(keep)
        caption = (f"{a.label} by {sg.label}: a pooled estimate for each of the "
                   f"{R.words(len(keep_groups))} subgroups with at least {R.words(sg.min_per_group)} "
                   f"studies, and the test for subgroup differences"
                   + (f"; {R.count_noun(left_out, 'study', 'studies')} in smaller or unreported subgroups "
                      + ("is" if left_out == 1 else "are") + " not shown" if left_out else "") + ".")
        text = (f"By {sg.label}, the test for subgroup differences gives "
                f"Q = {R.fmt_num(res.q_between)} on {R.count_noun(res.q_between_df, 'degree')} of freedom, "
                f"{R.fmt_p(res.q_between_pval)} (@{label}).")
        out.append(Display(SUBGROUP, a.outcome, label, caption, text, analysis=a, result=res,
                           extra={"by": sg.by, "by_label": sg.label}))
    return out


def _sensitivity(a, synth) -> list[Display]:
    sens = synth.plan.sensitivity
    if a.status != POOLED or a.pooling != "inverse_variance":
        return []
    op = synth.plan.outcome(a.outcome)
    yi, vi = a.effects["yi"].to_numpy(float), a.effects["vi"].to_numpy(float)
    labels = list(a.effects["label"])
    kw = dict(method=op.estimator, hk=op.hartung_knapp, labels=labels, level=op.level,
              tau2_convergence=op.tau2_convergence)
    out, skipped = [], []
    if a.k >= sens.leave_one_out:
        try:
            frame = leave_one_out(yi, vi, **kw)
            label = f"fig-leave-one-out-{slug(a.outcome)}"
            out.append(Display(LEAVE_ONE_OUT, a.outcome, label,
                               f"{a.label}: leave-one-out analysis, the pooled estimate with each study "
                               "left out in turn, the estimate from all studies at the bottom.",
                               f"@{label} pools the {a.label} again without each study in turn.",
                               analysis=a, result=frame))
        except StatsError:
            pass
    else:
        skipped.append("leave-one-out")
    if a.k >= sens.cumulative:
        key = [_float(_value(synth, s, sens.cumulative_order)) for s in a.effects["study"]]
        if all(math.isfinite(k) for k in key):
            try:
                frame = cumulative(yi, vi, order=key, **kw)
                label = f"fig-cumulative-{slug(a.outcome)}"
                out.append(Display(CUMULATIVE, a.outcome, label,
                                   f"{a.label}: cumulative meta-analysis, the studies added one at a time "
                                   f"in order of {sens.cumulative_order}, each row pooling the studies so far.",
                                   f"@{label} adds the studies of the {a.label} one at a time.",
                                   analysis=a, result=frame))
            except StatsError:
                pass
    else:
        skipped.append("cumulative")
    if a.k < sens.small_study_effects:
        few = (f"{' and '.join(skipped)} pooling (the plan asks for "
               f"{R.words(min(sens.leave_one_out, sens.cumulative))} studies) and " if skipped else "")
        out.append(Display(TEXT, a.outcome, text=(
            f"With {R.count_noun(a.k, 'study', 'studies')}, the {a.label} is too small for {few}"
            f"a funnel plot, Egger's test and trim-and-fill (the plan asks for "
            f"{R.words(sens.small_study_effects)}{'' if skipped else ' studies'}), which are not drawn.")))
    else:
        if skipped:
            out.append(Display(TEXT, a.outcome, text=(
                f"With {R.count_noun(a.k, 'study', 'studies')}, the {a.label} is too small for "
                f"{' and '.join(skipped)} pooling (the plan asks for "
                f"{R.words(min(sens.leave_one_out, sens.cumulative))} studies), which is not drawn.")))
        try:
            egger = egger_test(yi, vi, min_k=sens.small_study_effects, method=op.estimator,
                               hk=op.hartung_knapp, level=op.level, tau2_convergence=op.tau2_convergence)
            tf = trimfill(yi, vi, method=op.estimator, hk=op.hartung_knapp, level=op.level,
                          labels=labels, measure=a.measure, tau2_convergence=op.tau2_convergence)
            fd = funnel_data(yi, vi, a.result.estimate, level=op.level, labels=labels)
        except StatsError:
            return out
        label = f"fig-funnel-{slug(a.outcome)}"
        filled = (f"trim-and-fill imputes {R.count_noun(tf.k0, 'study', 'studies')} on the {tf.side}"
                  + (f", giving {R.fmt_effect(_as_reported(tf.pooled, a))}" if tf.k0 else ""))
        text = (f"For the {a.label} ({R.words(a.k)} studies), Egger's regression test for funnel "
                f"asymmetry gives {R.fmt_p(egger.pval)} and {filled} (@{label}).")
        out.append(Display(FUNNEL, a.outcome, label,
                           f"{a.label}: funnel plot of the {a.k} studies' effects against their standard "
                           f"errors, with the pseudo {a.level:g}% confidence region and the studies "
                           "trim-and-fill imputes (open points).",
                           text, analysis=a, result=a.result,
                           extra={"funnel": fd, "trimfill": tf, "egger": egger}))
    return out


def _as_reported(pool, a):
    """A PoolResult as report.fmt_effect reads it (the outcome's measure and level)."""
    return dataclasses.replace(pool, measure=a.measure) if dataclasses.is_dataclass(pool) else pool


def _value(synth, study: str, column: str) -> str:
    """One studies.csv cell of a study as text ("" when empty)."""
    return _t((getattr(synth, "attrs", {}) or {}).get(study, {}).get(column))


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def outcome_displays(synth) -> list[Display]:
    """The records of every planned analysis, in the plan's order; outcomes with no usable data
    are named together in one text record."""
    out, nodata = [], []
    for a in synth.analyses:
        if a.k == 0:
            nodata.append(a)
            continue
        out.append(_forest(a, synth))
        out += _subgroups(a, synth)
        out += _sensitivity(a, synth)
    if nodata:
        names = [a.label for a in nodata]
        sep = "; " if any("," in n for n in names) else ", "
        listed = (R.join_words(names) if sep == ", " else
                  names[0] if len(names) == 1 else sep.join(names[:-1]) + f"{sep}and " + names[-1])
        out.append(Display(TEXT, "", text=(
            (f"No forest plot is drawn for the {listed}: no study gives data the plan accepts for it."
             if len(nodata) == 1 else
             f"No forest plot is drawn for {R.words(len(nodata))} outcomes, for which no study gives data "
             f"the plan accepts: {listed}."))))
    return out


def _event_words(term: str) -> str:
    return "any adverse event" if term == "any" else str(term)


def harms_displays(synth) -> list[Display]:
    """The pooled adverse events: a table of every event term the plan pools and a forest per
    term (the first of the plan's methods), or one sentence saying that none could be pooled."""
    safety = synth.safety
    pooled = safety.pooled_results
    plan = synth.plan.safety
    if not pooled:
        terms = list(dict.fromkeys(safety.pooled["event"])) if len(safety.pooled) else []
        return [Display(TEXT, "", text=(
            "No adverse event could be pooled: no event term is reported with numbers at risk in "
            f"both arms of at least {R.words(plan.min_studies)} studies, as the plan asks."))]
    terms = list(dict.fromkeys(t for t, _ in pooled))
    labels = synth.labels or {}
    out = [Display(HARMS_TABLE, "", "tbl-harms-pooled",
                   "Pooled adverse events: for each event term the plan pools, the number of studies, the "
                   + " and the ".join(METHOD_WORDS[m] for m in dict.fromkeys(m for _, m in pooled))
                   + f" with {plan.level:g}% confidence intervals, and heterogeneity.",
                   f"{R.cap(R.count_noun(len(terms), 'event term'))} met the plan's rule for pooling "
                   f"({R.join_words(_event_words(t) for t in terms)}); @tbl-harms-pooled gives the estimates.",
                   result=safety.pooled)]
    for term in terms:
        measure = next(m for t, m in pooled if t == term)
        res = pooled[(term, measure)]
        res = dataclasses.replace(res, labels=[labels.get(k, k) for k in res.labels])
        label = f"fig-harms-{slug(term)}"
        out.append(Display(HARMS_FOREST, term, label,
                           f"{R.cap(_event_words(term))}: {METHOD_WORDS.get(measure, measure)} between active "
                           f"and control arms, {R.count_noun(res.k, 'study', 'studies')} with numbers at risk "
                           "in both arms.",
                           f"@{label} shows {_event_words(term)} study by study.",
                           result=res, extra={"measure": measure}))
    return out


def displays(synth) -> list[Display]:
    """Every display of the results section: the outcomes', then the harms'."""
    return outcome_displays(synth) + harms_displays(synth)


def labels_of(records, kind: str | None = None) -> list[str]:
    """The labels of the figure and table records (of one kind)."""
    return [d.label for d in records if d.label and (kind is None or d.kind == kind)]


def harms_rows(pooled_frame, level: float = 95) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the pooled adverse-events table (tables.pipe_table prints them)."""
    headers = ["Event", "Method", "Studies", f"Estimate ({level:g}% CI)", "I²", "p"]
    rows = []
    for _, r in pooled_frame.iterrows():
        if str(r.get("reason") or ""):
            continue
        if r["measure"] == "PETO":
            est, lb, ub = r["exp_estimate"], r["exp_ci_lb"], r["exp_ci_ub"]
        else:
            est, lb, ub = r["estimate"], r["ci_lb"], r["ci_ub"]
        rows.append([R.cap(_event_words(r["event"])), METHOD_WORDS.get(r["measure"], r["measure"]),
                     str(int(r["k"])), f"{R.fmt_num(est)} ({R.fmt_interval(lb, ub)})",
                     f"{float(r['i2']):.0f}%" if np.isfinite(float(r["i2"])) else "NA",
                     R.fmt_p(r["pval"]).replace("p = ", "").replace("p ", "")])
    return headers, rows


# --- long study-level tables -----------------------------------------------------------------

def table_rows(markdown: str) -> int:
    """Body rows of a pipe table (the lines after its rule line)."""
    lines = [l for l in markdown.strip().splitlines() if l.startswith("|")]
    return max(0, len(lines) - 2)


def in_appendix(markdown: str, plan) -> bool:
    """A study-level table longer than the plan's `study_tables.max_rows` goes to the appendix."""
    return table_rows(markdown) > plan.study_tables_max_rows


def appendix_sentence(what: str, markdown: str, label: str) -> str:
    """The sentence left in the body where a long table would have been."""
    return (f"With {R.count_noun(table_rows(markdown), 'row')}, the table of {what} is printed in "
            f"the appendix (@{label}).")
