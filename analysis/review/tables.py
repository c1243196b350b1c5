"""Markdown pipe tables for the review, from the sheets, the synthesis and the ledger.

Every table goes through `pipe_table`, so cells are escaped and empty cells are written
the same way everywhere. Numbers: effects and their limits with 2 decimals, proportions
as percentages with 1 decimal, counts as whole numbers. Nothing here computes a statistic.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from ..data.cells import is_blank as is_empty
from .ledger import NO_SHEET, outcome_groups
from .synthesis import (INCOMPLETE, NARRATIVE, NO_CONTROL, NOT_IDENTIFIED, NOT_REPORTED, P_ONLY,
                        PERCENT, POOLED, SINGLE, TIMEPOINT, study_order)

EMPTY = "—"
NOT_REPORTED_TEXT = "not reported"
NOT_REPORTED_SHORT = "NR"  # in the wide characteristics table; its caption spells it out
MINUS = "\u2212"  # one minus sign in every table; a hyphen reads as a dash beside it
NBSP = "\u00a0"  # keeps an interval ("0.16 to 4.88") on one line


# --- formatting -------------------------------------------------------------------------



def cell(x, empty: str = EMPTY) -> str:
    """Text for one cell: pipes escaped, line breaks flattened, empty as `empty`."""
    if is_empty(x):
        return empty
    # ASCII white space only: a non-breaking space is kept
    text = " ".join(re.split(r"[ \t\r\n]+", str(x).strip()))
    return text.replace("\\", "\\\\").replace("|", "\\|")


def num(x, digits: int = 2, empty: str = EMPTY) -> str:
    """A number with a fixed count of decimals (no "-0.00")."""
    if is_empty(x):
        return empty
    x = float(x)
    if not math.isfinite(x):
        return empty
    text = f"{x:.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return text.replace("-", MINUS)


def count(x, empty: str = EMPTY) -> str:
    if is_empty(x):
        return empty
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def interval(lb, ub, digits: int = 2, empty: str = EMPTY) -> str:
    if is_empty(lb) or is_empty(ub) or not (math.isfinite(float(lb)) and math.isfinite(float(ub))):
        return empty
    return f"{num(lb, digits)}{NBSP}to{NBSP}{num(ub, digits)}"


def pipe_table(headers, rows, align=None, widths=None, line_chars: int | None = None) -> str:
    """A pipe table; `align` is one of l, r, c per column (default l).

    The dashes of the rule line follow the column's longest cell (capped) and longest word, because
    pandoc sizes wide tables in proportion to them: short codes get narrow columns and
    prose gets room, instead of every column getting the same width. `widths` (dashes per
    column) sets those proportions instead, for a table whose one prose column needs most room.
    `line_chars` is what fits across the page when it is not a portrait page (LANDSCAPE_LINE_CHARS).
    """
    headers = [cell(h, "") for h in headers]
    align = list(align or "l" * len(headers))
    if len(align) != len(headers):
        raise ValueError("align needs one letter per column")
    body = []
    for row in rows:
        row = list(row)
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} cells for {len(headers)} columns")
        body.append([c if isinstance(c, str) and c else cell(c) for c in row])
    if widths is None:
        widths = _rule_widths([[h] + [r[j] for r in body] for j, h in enumerate(headers)], line_chars)
    elif len(widths) != len(headers):
        raise ValueError("widths needs one number per column")
    # left alignment is explicit, else Typst centres "default" columns
    rule = {"l": ":{}", "r": "{}:", "c": ":{}:"}
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join(rule[a].format("-" * w) for a, w in zip(align, widths)) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"


LINE_CHARS = 100  # characters of table text that fit across the page, roughly
# A table of WIDE_TABLE columns or more prints in smaller text (style/review.typ), so more fit.
WIDE_TABLE, WIDE_LINE_CHARS = 9, 110
SHORT_WORD = 10  # when not every word fits whole, words up to this long still do
LANDSCAPE_LINE_CHARS = 160  # a landscape A4 page (`::: {.landscape}`) holds 1.6 times the text


def _rule_widths(columns: list[list[str]], line_chars: int | None = None) -> list[int]:
    """Dashes per column: each column gets its longest word, and the room left on a line
    goes to the columns with long text, in proportion to what they could use. When the longest
    words do not fit on one line together, each column gets its longest word of up to SHORT_WORD
    characters, so that only long words are hyphenated (pandoc scales the widths to the line)."""
    line = line_chars or (WIDE_LINE_CHARS if len(columns) >= WIDE_TABLE else LINE_CHARS)
    longest = [max((len(w) for c in col for w in c.split(" ")), default=0) for col in columns]
    least = [n + 2 for n in longest]
    if sum(least) > line:
        least = [min(n, SHORT_WORD) + 2 for n in longest]
    wanted = [max(lo, min(max((len(c) for c in col), default=0), 40)) for lo, col in zip(least, columns)]
    spare = line - sum(least)
    extra = sum(w - lo for w, lo in zip(wanted, least))
    if sum(wanted) <= line or spare <= 0 or extra == 0:
        return wanted if sum(wanted) <= line else least
    return [lo + round(spare * (w - lo) / extra) for w, lo in zip(wanted, least)]


def _t(x) -> str:
    return "" if is_empty(x) else str(x).strip()


# --- study characteristics ----------------------------------------------------------------

def n_per_arm(s, arms) -> str:
    """"32 (22/10)": the study's total with its arms' sizes (or the number analysed), from
    studies.csv `n_total`/`n_analysed_total` and arms.csv; "" when none is known."""
    study = _t(s["study"])
    mine = arms.loc[arms["study"].map(_t) == study]
    arm_n = list(mine["n_randomised"]) if "n_randomised" in mine else []
    known = len(arm_n) > 1 and all(not is_empty(n) for n in arm_n)
    per_arm = "/".join(count(n) for n in arm_n) if known else ""
    if not is_empty(s.get("n_total")):
        analysed = s.get("n_analysed_total")
        extra = per_arm or (f"{count(analysed)} analysed" if not is_empty(analysed) else "")
        return count(s["n_total"]) + (f" ({extra})" if extra else "")
    if not is_empty(s.get("n_analysed_total")):
        return f"{count(s['n_analysed_total'])} analysed"
    return per_arm


def _column_spec(c, studies):
    """(header, cell function, alignment) for one entry of a characteristics table."""
    if callable(c) or isinstance(c, (tuple, list)):
        header, fn, *align = c
        return header, fn, (align[0] if align else "l")
    numeric = c in studies and str(studies[c].dtype) in ("Int64", "Float64")
    header = "n (per arm)" if c == "n_per_arm" else c.replace("_", " ").capitalize()
    if c == "n_per_arm":
        return header, n_per_arm, "r"
    if numeric:
        return header, lambda s, arms, c=c: count(s.get(c), ""), "r"
    return header, lambda s, arms, c=c: _t(s.get(c)), "l"


def characteristics_table(sheets, columns, cite: bool = False, line_chars: int | None = None) -> str:
    """One row per included study: its label, then one cell per entry of `columns`.

    An entry is a column of studies.csv (the plan's `characteristics`), `n_per_arm` (the
    study's size and its arms'), or `(header, function(study_row, arms) -> text[, "l"|"r"])`
    for a cell the review composes itself. Empty cells read NR. A study row with
    `identified = no` (a slot of a count that names no publication) keeps its place with
    empty cells. `line_chars`: as for pipe_table, for a table printed on a landscape page.
    """
    studies = study_order(sheets["studies"])
    arms = sheets["arms"]
    specs = [_column_spec(c, studies) for c in columns]
    if "n_per_arm" not in columns and not any(isinstance(c, (tuple, list)) for c in columns):
        specs.append(_column_spec("n_per_arm", studies))
    rows = []
    for _, s in studies.iterrows():
        key, label = _t(s["study"]), _t(s["label"]) or _t(s["study"])
        if _t(s.get("identified")) == "no":
            rows.append([cell(f"{label} (not identified)")] + [EMPTY] * len(specs))
            continue
        # the citation prints the label's author and year itself ("Smith et al. (2020)"): no label beside it
        values = [f"@{key}" if cite else label] + [fn(s, arms) for _, fn, _ in specs]
        rows.append([cell(v, NOT_REPORTED_SHORT) for v in values])
    return pipe_table(["Study"] + [h for h, _, _ in specs], rows, "l" + "".join(a for _, _, a in specs),
                      line_chars=line_chars)


# --- safety -------------------------------------------------------------------------------

STATUS_WORDS = {"reported": "reported", "reported_none": "none (stated)",
                "not_reported": NOT_REPORTED_TEXT}


def _events(events, at_risk) -> str:
    if is_empty(events):
        return EMPTY
    return f"{count(events)}/{count(at_risk, '?')}"


def safety_by_study(synth) -> str:
    """Adverse events per study and arm as recorded, then the studies that report none."""
    per = synth.safety.per_study
    # Rows the tally derives from a study-wide "none" statement repeat it once per term;
    # the statement itself (event "any") is shown instead.
    per = per[~per["status"].astype(str).str.endswith("(any)")]
    rows = []
    for _, r in per.iterrows():
        study, arm = _t(r["study"]), _t(r["arm"])
        arm_text = synth.arm_labels.get((study, arm), arm) if arm else "whole study"
        rows.append([cell(synth.labels.get(study, study)), cell(arm_text), cell(r["role"]),
                     cell(r["event"]), _events(r["events"], r["at_risk"]),
                     cell(r["severity"]), STATUS_WORDS.get(_t(r["status"]), cell(r["status"]))])
    shown = set(per["study"].map(_t))
    missing = synth.safety.missing
    for study in dict.fromkeys(missing["study"].map(_t)):
        if study and study not in shown:
            rows.append([cell(synth.labels.get(study, study)), "whole study", EMPTY, "any", EMPTY,
                         EMPTY, NOT_REPORTED_TEXT])
    return pipe_table(["Study", "Arm", "Role", "Event", "Participants with event / at risk",
                       "Severity", "Status"], rows, "lllllll")


def _safety_total_notes(synth) -> list[str]:
    """Per row of the totals: which studies leave the number at risk unknown, by label."""
    per = synth.safety.per_study
    notes = []
    for _, r in synth.safety.totals.iterrows():
        if not _t(r["note"]):
            notes.append("")
            continue
        grp = per[per["event"] == r["event"]]
        if r["role"] in ("active", "control"):
            grp = grp[grp["role"] == r["role"]]
        keys = dict.fromkeys(grp.loc[grp["at_risk"].isna(), "study"])
        names = [synth.labels.get(k, k) for k in keys]
        names = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        notes.append(f"Number at risk unknown for {names}, so no proportion is computed.")
    return notes


def safety_totals(synth) -> str:
    """Per event term and arm role: events over participants at risk, proportion and exact CI;
    a letter on the events marks a note (`safety_totals_notes`, printed under the table)."""
    tot = synth.safety.totals
    level = synth.safety.level
    marks, _ = _footnotes(_safety_total_notes(synth))
    rows = []
    for (_, r), mark in zip(tot.iterrows(), marks):
        prop = num(100 * r["proportion"], 1) if not is_empty(r["proportion"]) else EMPTY
        ci = (interval(100 * r["ci_lb"], 100 * r["ci_ub"], 1)
              if not is_empty(r["ci_lb"]) else EMPTY)
        rows.append([cell(r["event"]), cell(r["role"]), _events(r["events"], r["at_risk"]) + mark,
                     count(r["studies"]), prop, ci])
    return pipe_table(["Event", "Arms", "Events / at risk", "Studies", "Proportion (%)",
                       f"{level:g}% CI (exact, %)"], rows, "llrrrr")


def safety_totals_notes(synth) -> str:
    """The notes of `safety_totals`, one paragraph per letter; "" when no row has one."""
    notes = _safety_total_notes(synth)
    return "\n\n".join(_footnotes(notes)[1]) + ("\n" if any(notes) else "")


# --- results ------------------------------------------------------------------------------

def _note(a) -> str:
    """What a reader needs beside an outcome's numbers: why it is exploratory, why it was not
    pooled, a follow-up value standing in for the end of treatment."""
    parts = []
    if a.exploratory:
        parts.append("Exploratory: " + a.rationale.rstrip("."))
    if a.status == SINGLE:
        parts.append(f"One study ({', '.join(a.effects['label'])}), so not pooled: imprecise and unreplicated")
    elif a.status != POOLED and a.reason:
        parts.append(a.reason[:1].upper() + a.reason[1:].rstrip("."))
    follow = a.effects.loc[a.effects["note"].astype(str).str.contains("follow-up"), "label"]
    if len(follow):
        parts.append("a follow-up rather than an end-of-treatment value for " + ", ".join(follow))
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "." if text else ""


LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _footnotes(notes: list[str]) -> tuple[list[str], list[str]]:
    """A letter per distinct note (the same note, the same letter), in order of first use:
    (mark per row, "" where the row has no note; the notes as "^a^ text" lines)."""
    letters: dict[str, str] = {}
    for n in notes:
        if n and n not in letters:
            i = len(letters)
            letters[n] = LETTERS[i % 26] * (i // 26 + 1)
    return ([f"^{letters[n]}^" if n else "" for n in notes],
            [f"^{mark}^ {cell(text)}" for text, mark in letters.items()])


def _natural(a, x):
    """exp() of a log risk or odds ratio, so that the table shows the ratio itself."""
    return x if not a.log_scale or is_empty(x) else math.exp(float(x))


def _results_rows(synth):
    rows, notes = [], []
    for a in synth.analyses:
        effect = ci = pi = i2 = EMPTY
        nat = lambda x, a=a: _natural(a, x)  # noqa: E731
        if a.status == POOLED and a.result is not None:
            r = a.result
            effect, ci, pi, i2 = num(nat(r.estimate)), interval(nat(r.ci_lb), nat(r.ci_ub)), \
                interval(nat(r.pi_lb), nat(r.pi_ub)), f"{num(r.i2, 0)}%"
        elif a.status == SINGLE:
            e = a.effects.iloc[0]
            effect, ci = num(nat(e["yi"])), interval(nat(e["ci_lb"]), nat(e["ci_ub"]))
        measure = a.measure if a.pooling == "inverse_variance" else \
            f"{a.measure} ({'MH' if a.pooling == 'mantel_haenszel' else 'Peto'})"
        rows.append([cell(a.label), measure, count(a.k), count(a.participants) if a.k else EMPTY,
                     effect, ci, pi, i2, cell(a.status)])
        notes.append(_note(a))
    return rows, notes


def results_summary(synth) -> str:
    """One row per planned outcome: k, participants, effect with CI and PI, I^2 and status,
    the status marked with a letter for its note (`results_notes`, printed under the table).
    Risk and odds ratios are shown as ratios (the numbers lock keeps their logarithms)."""
    rows, notes = _results_rows(synth)
    marks, _ = _footnotes(notes)
    for row, mark in zip(rows, marks):
        row[-1] += mark
    level = synth.analyses[0].level if synth.analyses else 95
    # the outcome's name needs the room the notes column used to take
    return pipe_table(["Outcome", "Measure", "Studies", "Participants", "Effect",
                       f"{level:g}% CI", f"{level:g}% PI", "I²", "Status"],
                      rows, "llrrrrrrl", widths=[26, 9, 9, 14, 7, 15, 15, 5, 14])


def results_notes(synth) -> str:
    """The notes of `results_summary`, one paragraph per letter; "" when no row has one."""
    _, notes = _results_rows(synth)
    return "\n\n".join(_footnotes(notes)[1]) + ("\n" if any(notes) else "")


def _p(p) -> str:
    """"p = 0.394", "p < 0.001"."""
    if is_empty(p) or not math.isfinite(float(p)):
        return EMPTY
    return "p < 0.001" if float(p) < 0.001 else f"p = {num(p, 3)}"


def subgroup_table(synth) -> str:
    """Every planned subgroup analysis of every pooled outcome: each group's estimate, then the
    test for subgroup differences (fixed-effect Q across the group estimates)."""
    rows = []
    for a in synth.analyses:
        tests = {t.by: t for t in a.subgroup_tests.itertuples(index=False)}
        for by, groups in a.subgroups.groupby("by", sort=False):
            for g in groups.itertuples(index=False):
                rows.append([cell(a.label), cell(by), cell(g.group), count(g.k),
                             num(_natural(a, g.estimate)), interval(_natural(a, g.ci_lb), _natural(a, g.ci_ub)),
                             cell(g.status)])
            t = tests.get(by)
            if t is not None:
                rows.append([cell(a.label), cell(by), "test for subgroup differences", count(t.groups),
                             f"Q = {num(t.q)}, df = {count(t.df)}", _p(t.pval), ""])
    level = synth.analyses[0].level if synth.analyses else 95
    return pipe_table(["Outcome", "By", "Group", "Studies", "Effect", f"{level:g}% CI", "Status"],
                      rows, "lllrrrl")


def metaregression_table(synth) -> str:
    """Every planned meta-regression: the moderator's slope (on the analysis scale: log ratio for
    RR and OR), QM test, residual tau^2 and R^2 (metafor's pseudo-R^2)."""
    rows = []
    for a in synth.analyses:
        for m in a.metaregression.itertuples(index=False):
            scale = f"log {a.measure}" if a.log_scale else a.measure
            slope = EMPTY if num(m.slope, 4) == EMPTY else f"{num(m.slope, 4)} ({scale})"
            rows.append([cell(a.label), cell(m.by), count(m.k), slope,
                         interval(m.slope_ci_lb, m.slope_ci_ub, 4),
                         EMPTY if is_empty(m.qm) else f"{num(m.qm)} (df {count(m.qm_df)}), {_p(m.qm_pval)}",
                         num(m.tau2, 4), EMPTY if is_empty(m.r2) else f"{num(m.r2, 1)}%", cell(m.status)])
    level = synth.analyses[0].level if synth.analyses else 95
    return pipe_table(["Outcome", "Moderator", "Studies", "Slope per unit", f"{level:g}% CI", "QM",
                       "Residual τ²", "R²", "Status"], rows, "llrrrrrrl")


REASON_CODES = {
    NOT_REPORTED: "NR", P_ONLY: "P", NARRATIVE: "W", PERCENT: "%", TIMEPOINT: "T",
    NO_CONTROL: "NC", NOT_IDENTIFIED: "NI", INCOMPLETE: "INC",
}
NOT_MEASURED = "NM"  # "not reported" split: nothing says the study measured the outcome
# What each code means, in the order the legend gives them.
CODE_WORDS = {
    "yes": "contributes data the plan accepts",
    NOT_MEASURED: "not measured, as far as the sources read say",
    "NR": "measured, but no usable values in the sources read",
    "P": "only p-values or test statistics", "W": "result in words only",
    "%": "percent change from baseline, not on the scale's units", "T": "another time point only",
    "NC": "no control arm", "INC": "incomplete arm data", "NI": "study not identified",
}


def availability_code(contributes, reason, detail) -> str:
    """The code of one study-by-outcome cell: `yes`, or why the study gives nothing usable.

    A study that reported nothing on the outcome is NM when no source says it was measured and
    NR when one does (measured, values not in the sources read), so that the table shows
    outcomes left unreported, which may be selective reporting."""
    if contributes == "yes":
        return "yes"
    if reason == NOT_REPORTED and str(detail).startswith("not measured"):
        return NOT_MEASURED
    return REASON_CODES.get(reason, cell(reason))


def data_availability(synth, include_exploratory: bool = False) -> str:
    """Studies by planned outcome: `yes` when the study contributes, else a reason code; then
    a legend of the codes the table uses."""
    av = synth.availability
    outcomes = [o for o in synth.plan.outcomes if include_exploratory or not o.exploratory]
    studies = list(dict.fromkeys(av["study"]))
    look = {(r.study, r.outcome): r for r in av.itertuples(index=False)}
    rows, used = [], set()
    for s in studies:
        row = [cell(synth.labels.get(s, s))]
        for o in outcomes:
            r = look[(s, o.id)]
            code = availability_code(r.contributes, r.reason, r.detail)
            used.add(code)
            row.append(code)
        rows.append(row)
    table = pipe_table(["Study"] + [o.id.replace("_", " ") for o in outcomes], rows,
                       "l" + "c" * len(outcomes))
    legend = "; ".join(f"{code}: {words}" for code, words in CODE_WORDS.items() if code in used)
    legend += "".join(f"; {code}: {code}" for code in sorted(used - set(CODE_WORDS)))
    return table + "\n" + legend + ".\n"


LEDGER_HEADERS = ["Claim", "Published section", "Statement", "Published", "Sheets", "Status",
                  "Explanation"]


def ledger_table(ledger_df: pd.DataFrame) -> str:
    """The full ledger: every claim with the published review's section number, the published
    and recomputed values, the status and the explanation in words."""
    rows = [[cell(r.claim_id), cell(r.section), cell(r.description), cell(r.published),
             cell(r.reproduced), cell(r.status), cell(r.explanation)]
            for r in ledger_df.itertuples(index=False)]
    # the explanation is the point of the appendix: it gets most of the line
    return pipe_table(LEDGER_HEADERS, rows, "lllrrll", widths=[6, 10, 22, 9, 9, 12, 44])


def _id_runs(ids: list[str], order: list[str]) -> str:
    """"C04, C08–C10, C14": claim ids, runs of three or more neighbours in the claims sheet's
    order written as a range."""
    pos = {c: i for i, c in enumerate(order)}
    runs: list[list[str]] = []
    for c in sorted(ids, key=lambda c: pos[c]):
        if runs and pos[c] == pos[runs[-1][-1]] + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    # word joiners keep a range on one line
    return ", ".join(f"{r[0]}\u2060\u2013\u2060{r[-1]}" if len(r) > 2 else ", ".join(r) for r in runs)


LEDGER_GROUPS = (
    ("reproduced", "Reproduced independently (the sheets found the value in the study reports)"),
    ("consistent (taken from the review)",
     "Consistent only because the sheets took the value, in whole or in part, from the published review"),
    ("differs", "Differs from the sheets"),
    ("cannot be checked", "Cannot be checked: the sheets lack the data"),
    (NO_SHEET, "Cannot be checked: no sheet records such a quantity"),
)


def ledger_summary(ledger_df: pd.DataFrame) -> str:
    """The ledger in a few rows: how many claims had each outcome, which ones, and for each
    that differs what was published and what the sheets give."""
    order = list(ledger_df["claim_id"].map(_t))
    groups = outcome_groups(ledger_df)
    rows = []
    for key, label in LEDGER_GROUPS:
        part = groups[key]
        if key == "differs":
            which = "; ".join(f"{_t(r.claim_id)}: {_t(r.description)[:1].lower()}{_t(r.description)[1:]} "
                              f"(published {_t(r.published)}, sheets {_t(r.reproduced) or 'nothing'})"
                              for r in part.itertuples(index=False))
        else:
            which = _id_runs(list(part["claim_id"].map(_t)), order)
        rows.append([cell(label), count(len(part)), cell(which)])
    return pipe_table(["Outcome of the check", "Statements", "Claims"], rows, "lrl")


MIN_ROWS_TO_LIFT = 3  # a column the same in fewer rows than this stays a column


def lift_constant(headers, rows, keep: int = 1):
    """(headers, rows, lifted): columns after the first `keep` whose cell is the same in every
    row (of at least MIN_ROWS_TO_LIFT) are taken out, as (header, cell) pairs for a note."""
    if len(rows) < MIN_ROWS_TO_LIFT:
        return list(headers), [list(r) for r in rows], []
    same = [j for j in range(keep, len(headers)) if len({r[j] for r in rows}) == 1]
    kept = [j for j in range(len(headers)) if j not in same]
    return ([headers[j] for j in kept], [[r[j] for j in kept] for r in rows],
            [(headers[j], rows[0][j]) for j in same])


def lifted_note(lifted) -> str:
    """"The same in every row: model: REML, z, 95% CI; minimum studies: 2." or ""."""
    if not lifted:
        return ""
    return "The same in every row: " + "; ".join(f"{h[:1].lower()}{h[1:]}: {v}" for h, v in lifted) + ".\n"


def _plan_rows(plan):
    rows = []
    for o in plan.outcomes:
        model = f"{o.estimator}, {'Hartung-Knapp' if o.hartung_knapp else 'z'}, {o.level:g}% CI"
        tp = "end of treatment" + (", else earliest follow-up" if o.timepoint.fallback == "earliest_follow_up" else "")
        rows.append([cell(o.label), cell(", ".join(o.codes)), o.measure,
                     cell(", ".join(o.data_forms).replace("_", " ")), tp, cell(model),
                     count(o.min_studies), "yes" if o.exploratory else "no"])
    return lift_constant(["Outcome", "Codes", "Measure", "Data accepted", "Time point", "Model",
                          "Minimum studies", "Exploratory"], rows)


def plan_table(plan) -> str:
    """The planned analyses; a column the same for every outcome is left to `plan_table_note`."""
    headers, rows, _ = _plan_rows(plan)
    align = {"Exploratory": "c"}
    return pipe_table(headers, rows, "".join(align.get(h, "l") for h in headers))


def plan_table_note(plan) -> str:
    return lifted_note(_plan_rows(plan)[2])


SEARCH_KINDS = {"database": "database", "register": "register", "website": "website",
                "organisation": "organisation", "citation_searching": "citation searching"}


def search_date(date, qualifier) -> str:
    """"2024-03-01" with its qualifier as a reader says it: "before 2024-03-01", "2024-02-15"."""
    if not _t(date):
        return "not reported"
    return f"before {_t(date)}" if _t(qualifier) == "before" else _t(date)


def _search_rows(sheets):
    rows = []
    for _, r in sheets["search"].iterrows():
        rows.append([cell(r["source_name"]), SEARCH_KINDS.get(_t(r["kind"]), cell(r["kind"])),
                     cell(r["query"], empty="none (not a string search)" if _t(r["kind"]) == "citation_searching"
                          else "not reported"),
                     search_date(r["date_searched"], r["date_qualifier"]),
                     cell(r["limits"], empty="none reported")])
    return lift_constant(["Source", "Kind", "Search string", "Date searched", "Limits"], rows)


def search_table(sheets) -> str:
    """The search as PRISMA 2020 items 6 and 7 ask: each source, its string, date and limits;
    a column the same for every source is left to `search_table_note`."""
    headers, rows, _ = _search_rows(sheets)
    return pipe_table(headers, rows, "l" * len(headers))


def search_table_note(sheets) -> str:
    return lifted_note(_search_rows(sheets)[2])
