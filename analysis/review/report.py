"""Small pure helpers that review.qmd calls to put counts, study lists and formatted
numbers into its prose.

Every number the text states is computed here from the sheets, the synthesis or the
ledger, so that a change in a sheet changes the sentence. Nothing here fits a model or
draws; formatting only (numbers to text, lists to "A, B and C").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

from ..data.cells import is_blank as _blank, text as _text

MINUS = "\u2212"  # typographic minus: a hyphen before a number reads as a dash in prose
_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve")


# --- cell handling ----------------------------------------------------------------------



def _matches(column: pd.Series, wanted) -> pd.Series:
    """Rows whose cell equals `wanted`; a list, tuple or set means "any of"; None means empty."""
    cells = column.map(_text)
    if wanted is None:
        return cells == ""
    if isinstance(wanted, (list, tuple, set, frozenset)):
        return cells.isin({str(w) for w in wanted})
    return cells == str(wanted)


def rows(sheets: Mapping, sheet: str, **filters) -> pd.DataFrame:
    """Rows of one sheet matching every filter (column=value, or column=[values])."""
    frame = sheets[sheet]
    keep = pd.Series(True, index=frame.index)
    for column, wanted in filters.items():
        if column not in frame.columns:
            raise KeyError(f"{sheet}.csv has no column {column!r}")
        keep &= _matches(frame[column], wanted)
    return frame[keep]


def count_where(sheets: Mapping, sheet: str, **filters) -> int:
    """How many rows of `sheet` match the filters."""
    return int(len(rows(sheets, sheet, **filters)))


def count_by(sheets: Mapping, sheet: str, column: str, **filters) -> dict[str, int]:
    """Rows per value of `column` (empty cells under "not reported"), in order of first appearance."""
    frame = rows(sheets, sheet, **filters)
    out: dict[str, int] = {}
    for v in frame[column]:
        key = _text(v) or "not reported"
        out[key] = out.get(key, 0) + 1
    return out


def value(sheets: Mapping, sheet: str, column: str, **filters):
    """The one value of `column` in the single row matching the filters."""
    frame = rows(sheets, sheet, **filters)
    if len(frame) != 1:
        raise LookupError(f"{sheet}.csv: {len(frame)} rows match {filters}, expected 1")
    v = frame[column].iloc[0]
    if _blank(v):
        return None
    # a plain Python value: Quarto writes an inline result as its repr, and numpy's is
    # "np.int64(10)", not "10"
    return v.item() if hasattr(v, "item") else v


# --- included studies -------------------------------------------------------------------

def included(sheets: Mapping, **filters) -> pd.DataFrame:
    """Included studies matching the filters, ordered by year then key (unknown years last)."""
    frame = rows(sheets, "studies", included="yes", **filters)
    years = [float(y) if not _blank(y) else math.inf for y in frame["year"]]
    return (frame.assign(_y=years, _k=frame["study"].map(_text))
            .sort_values(["_y", "_k"], kind="stable").drop(columns=["_y", "_k"]))


def n_included(sheets: Mapping, **filters) -> int:
    """Studies counted as included (rows with included = yes, unidentified slots too)."""
    return int(len(included(sheets, **filters)))


def n_identified(sheets: Mapping, **filters) -> int:
    """Included studies whose publication is known."""
    return n_included(sheets, identified="yes", **filters)


def join_words(items: Iterable[str], conjunction: str = "and") -> str:
    """"A", "A and B", "A, B and C"."""
    items = [str(i) for i in items]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


# A list of names in running text is given in full up to LIST_MAX names; a longer one names
# the first LIST_HEAD and counts the others ("Kim 2014, Im 2022 and 258 others").
LIST_MAX = 6
LIST_HEAD = 2


def name_list(items: Iterable[str], conjunction: str = "and", where: str = "",
              most: int = LIST_MAX) -> str:
    """Names as prose, shortened when there are more than `most`: "A, B and 258 others",
    followed by `where` (e.g. " (@tbl-x)", the table holding the full list) when shortened."""
    items = [str(i) for i in items]
    if len(items) <= most:
        return join_words(items, conjunction)
    rest = len(items) - LIST_HEAD
    return ", ".join(items[:LIST_HEAD]) + f" {conjunction} {rest} others" + where


def study_list(sheets: Mapping, conjunction: str = "and", where: str = "", **filters) -> str:
    """Labels of the matching included studies as prose: "Smith 2020, Jones 2021 and Lee 2022"
    (a long list shortened, see name_list)."""
    return name_list(included(sheets, **filters)["label"].map(_text), conjunction, where)


def labels(sheets: Mapping, keys: Iterable[str], where: str = "") -> str:
    """Labels of the given study keys, in the order given, as prose (a long list shortened)."""
    by_key = dict(zip(sheets["studies"]["study"].map(_text), sheets["studies"]["label"].map(_text)))
    return name_list((by_key[k] for k in keys), where=where)


def n_total(sheets: Mapping, study: str) -> int | None:
    """Participants in one study as the sources state it (None when not reported)."""
    v = value(sheets, "studies", "n_total", study=study)
    return None if v is None else int(v)


def arm_sizes(sheets: Mapping, study: str, column: str = "n_randomised") -> list[int | None]:
    """Per-arm sizes of one study, in sheet order (None where not reported)."""
    frame = rows(sheets, "arms", study=study)
    return [None if _blank(v) else int(v) for v in frame[column]]


def participants(sheets: Mapping, **filters) -> int:
    """Sum of n_total over the matching included studies; studies without a total add nothing."""
    col = included(sheets, **filters)["n_total"]
    return int(sum(int(v) for v in col if not _blank(v)))


# --- numbers as text --------------------------------------------------------------------

def words(n: int) -> str:
    """Small counts as words ("three"), larger ones as digits."""
    n = int(n)
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def cap(text: str) -> str:
    """First letter upper case, for a sentence that starts with a computed word."""
    return text[:1].upper() + text[1:]


def fmt_num(x, digits: int = 2) -> str:
    """A number with fixed decimals and a typographic minus; "not reported" when empty."""
    if _blank(x) or not math.isfinite(float(x)):
        return "not reported"
    text = f"{float(x):.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return text.replace("-", MINUS)


def fmt_p(p) -> str:
    """p as reported in prose: "p = 0.17", "p < 0.001"."""
    if _blank(p) or not math.isfinite(float(p)):
        return "p not available"
    p = float(p)
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def fmt_interval(lb, ub, digits: int = 2) -> str:
    return f"{fmt_num(lb, digits)} to {fmt_num(ub, digits)}"


RATIO_MEASURES = ("RR", "OR")


def natural(measure: str, x):
    """A value on the scale a reader sees: exp() of a log risk or odds ratio, else as it is."""
    if _blank(x):
        return x
    return math.exp(float(x)) if str(measure).upper() in RATIO_MEASURES else x


def fmt_effect(result, digits: int = 2) -> str:
    """A pooled result: "SMD 0.42 (95% CI −0.18 to 1.03)"; a risk or odds ratio as a ratio."""
    level = f"{float(result.level):g}"
    m = result.measure
    return (f"{m} {fmt_num(natural(m, result.estimate), digits)} "
            f"({level}% CI {fmt_interval(natural(m, result.ci_lb), natural(m, result.ci_ub), digits)})")


def fmt_heterogeneity(result) -> str:
    """"I² = 27%, τ² = 0.05" for a pooled result (no τ² for a common-effect method such as
    Mantel-Haenszel, which estimates none)."""
    text = f"I\u00b2 = {float(result.i2):.0f}%"
    tau2 = result.tau2
    return text if _blank(tau2) or not math.isfinite(float(tau2)) else f"{text}, \u03c4\u00b2 = {fmt_num(tau2)}"


def fmt_prediction(result, digits: int = 2) -> str:
    level = f"{float(result.level):g}"
    m = result.measure
    return (f"{level}% prediction interval "
            f"{fmt_interval(natural(m, result.pi_lb), natural(m, result.pi_ub), digits)}")


def study_effect(analysis, study: str, digits: int = 2) -> str:
    """One study's effect in an outcome analysis: "MD 2.52 (95% CI 0.16 to 4.88)"."""
    eff = analysis.effects[analysis.effects["study"] == study]
    if eff.empty:
        raise LookupError(f"{study} does not contribute to {analysis.outcome}")
    e = eff.iloc[0]
    level = f"{float(analysis.level):g}"
    m = analysis.measure
    return (f"{m} {fmt_num(natural(m, e['yi']), digits)} "
            f"({level}% CI {fmt_interval(natural(m, e['ci_lb']), natural(m, e['ci_ub']), digits)})")


def arm_mean_sd(sheets: Mapping, study: str, arm: str, outcome: str, timepoint: str,
                digits: int = 2) -> str:
    """"4.40 ± 3.66" for one arm's row of outcomes.csv."""
    r = rows(sheets, "outcomes", study=study, arm=arm, outcome=outcome, timepoint=timepoint)
    if len(r) != 1:
        raise LookupError(f"{len(r)} outcome rows for {study}/{arm}/{outcome}/{timepoint}")
    return f"{fmt_num(r['mean'].iloc[0], digits)} \u00b1 {fmt_num(r['sd'].iloc[0], digits)}"


# --- synthesis --------------------------------------------------------------------------

def analyses_with(synth, status: str, exploratory: bool | None = None) -> list:
    """Outcome analyses with the given status (pooled, single study, no usable data, ...)."""
    return [a for a in synth.analyses if a.status == status
            and (exploratory is None or bool(a.exploratory) == exploratory)]


def outcome_labels(analyses, lower: bool = True) -> str:
    """Labels of several outcome analyses as prose."""
    return join_words(a.label[:1].lower() + a.label[1:] if lower else a.label for a in analyses)


# Why a study does not contribute, as a phrase after the study's name.
_REASON_PHRASES = {
    "percent change on a different metric": "reports only percent change from baseline",
    "only p-values or F statistics": "reports only p-values or test statistics",
    "narrative only": "describes the result in words only",
    "single arm/no control": "has no control arm",
    "incomplete arm data": "gives incomplete arm data",
    "different time point": "reports another time point only",
    "measured, but no values in the sources read": "measured it, but no values were in the sources read",
    "measured, but the values were not found": "measured it, but its values were not found",
}


def reason_phrase(reason: str, detail: str = "") -> str:
    """A synthesis reason (or its detail, for "not reported") as a short phrase."""
    key = detail if reason == "not reported" else reason
    return _REASON_PHRASES.get(key, key)


def non_contributors(synth, outcome: str, where: str = "") -> str:
    """Identified studies that measured an outcome but give nothing the plan accepts, with why:
    "Smith 2020 (reports only percent change from baseline) and Brown 2019 (...)".
    Studies that did not report the outcome at all are left out."""
    av = synth.availability
    sub = av[(av["outcome"] == outcome) & (av["contributes"] == "no")]
    parts = []
    for _, r in sub.iterrows():
        if r["reason"] == "study not identified" or (
                r["reason"] == "not reported" and not str(r["detail"]).startswith("measured")):
            continue
        parts.append(f"{r['label']} ({reason_phrase(r['reason'], str(r['detail']))})")
    return name_list(parts, where=where)


def reason_counts(synth, exploratory: bool = False) -> dict[str, int]:
    """How many study-by-outcome cells fall under each reason for not contributing."""
    av = synth.availability
    av = av[av["exploratory"] == exploratory]
    out: dict[str, int] = {}
    for reason in av.loc[av["contributes"] == "no", "reason"]:
        out[reason] = out.get(reason, 0) + 1
    return out


def contributing_studies(synth, exploratory: bool = False) -> list[str]:
    """Study labels that contribute to at least one (main or exploratory) analysis."""
    av = synth.availability
    av = av[(av["exploratory"] == exploratory) & (av["contributes"] == "yes")]
    return list(dict.fromkeys(av["label"]))


# --- safety -----------------------------------------------------------------------------

def ae_events(sheets: Mapping, study: str | None = None, event: str | None = None,
              arm: str | None = None, role: str | None = None) -> int:
    """Participants with an event, summed over matching adverse_events rows (reported only)."""
    ae = sheets["adverse_events"]
    keep = ae["status"].map(_text) == "reported"
    if study is not None:
        keep &= ae["study"].map(_text) == study
    if event is not None:
        keep &= ae["event"].map(_text) == event
    if arm is not None:
        keep &= ae["arm"].map(_text) == arm
    if role is not None:
        arms = sheets["arms"]
        roles = {(_text(s), _text(a)): _text(r) for s, a, r in zip(arms["study"], arms["arm"], arms["role"])}
        keep &= pd.Series([roles.get((_text(s), _text(a)), "") == role
                           for s, a in zip(ae["study"], ae["arm"])], index=ae.index)
    return int(sum(int(v) for v in ae.loc[keep, "events"] if not _blank(v)))


def ae_studies(sheets: Mapping, status: str, only_included: bool = False) -> list[str]:
    """Study keys with at least one adverse_events row of the given status, in study order."""
    keys = set(rows(sheets, "adverse_events", status=status)["study"].map(_text))
    order = sheets["studies"]
    if only_included:
        order = included(sheets)
    else:
        years = [float(y) if not _blank(y) else math.inf for y in order["year"]]
        order = order.assign(_y=years, _k=order["study"].map(_text)).sort_values(["_y", "_k"], kind="stable")
    return [k for k in order["study"].map(_text) if k in keys]


# --- reproduction ledger ----------------------------------------------------------------

def ledger_count(ledger: pd.DataFrame, status: str) -> int:
    """Claims of the ledger with a given status (`analysis.review.ledger.STATUSES`)."""
    return int((ledger["status"].map(_text) == status).sum())


def _counted(parts, whole: str) -> str:
    """"Of the 14 WHOLE, three A, one B and two C" from (count, phrase for one, for several),
    leaving out the parts that count nothing; semicolons when a phrase has a comma."""
    parts = [(c, one, many) for c, one, many in parts if c]
    said = [f"{words(c)} {one if c == 1 else many}" for c, one, many in parts]
    sep = "; " if any("," in p for p in said) else ", "
    if len(said) > 2:
        return f"Of the {whole}, " + sep.join(said[:-1]) + ("; and " if sep == "; " else " and ") + said[-1]
    return f"Of the {whole}, " + " and ".join(said)


def ledger_sentence(ledger: pd.DataFrame, short: bool = False) -> str:
    """The ledger in one sentence: how many claims were reproduced independently, agree only
    because the sheets took the value from the published review, differ (named) and cannot be
    checked, right for none, one and many of each. `short` leaves out the names and reasons."""
    from .ledger import DIFFERS, NO_SHEET, REPRODUCED, TAKEN, UNCHECKABLE, outcome_groups

    n = len(ledger)
    if n == 0:
        return "The ledger holds no statement of the published review."
    groups = outcome_groups(ledger)
    g = {k: len(v) for k, v in groups.items()}
    differing = "" if short else f" ({join_words(groups[DIFFERS]['claim_id'].map(_text))})"
    unchecked = g[UNCHECKABLE] + g[NO_SHEET]
    why = ""
    if short:
        pass
    elif g[NO_SHEET] and g[NO_SHEET] < unchecked:
        why = f", {words(g[NO_SHEET])} of them because no sheet records such a quantity"
    elif g[NO_SHEET]:
        why = ", no sheet recording such a quantity"
    whole = "" if short else ", in whole or in part,"
    # (count, verb phrase for one, for several)
    parts = [(g[REPRODUCED], "was reproduced independently from the study reports",
              "were reproduced independently from the study reports"),
             (g[TAKEN], "agrees with the sheets only because the sheets took the value from the "
              "published review itself",
              f"agree with the sheets only because the sheets took the value{whole} "
              "from the published review itself"),
             (g[DIFFERS], f"differs{differing}", f"differ{differing}"),
             (unchecked, f"cannot be checked{why}", f"cannot be checked{why}")]
    parts = [(c, one, many) for c, one, many in parts if c]
    if len(parts) == 1:
        c, one, many = parts[0]
        subject = ("The one statement" if n == 1 else "Both statements" if n == 2 else f"All {words(n)} statements")
        return f"{subject} of the published review in the ledger {one if n == 1 else many}."
    return _counted(parts, f"{words(n)} statements of the published review in the ledger") + "."


def included_sentence(sheets: Mapping) -> str:
    """"The review includes 14 studies, twelve of them identified by name." (none, one, all, some)."""
    n, k = n_included(sheets), n_identified(sheets)
    if n == 0:
        return "The review includes no study."
    head = f"The review includes {count_noun(n, 'study', 'studies')}"
    if k == n:
        return head + "."
    if k == 0:
        return head + (", whose publication could not be identified." if n == 1 else
                       ", none of them identified by name.")
    return head + f", {words(k)} of them identified by name."


# What became of a planned analysis, for one and for several (`analyses_sentence`).
_STATUS_PHRASES = {
    "single study": ("rests on a single study", "rest on a single study each"),
    "too few studies": ("has too few studies for pooling", "have too few studies for pooling"),
    "no usable data": ("has no usable data", "have no usable data"),
    "not pooled": ("could not be fitted", "could not be fitted"),
}


def analyses_sentence(synth) -> str:
    """What became of the planned main analyses: how many were pooled (with their estimates)
    and, for the others, why not (a single study, too few studies, no usable data)."""
    main = [a for a in synth.analyses if not a.exploratory]
    if not main:
        return "The plan names no main analysis."
    pooled = [a for a in main if a.status == "pooled"]
    estimates = "; ".join(f"{a.label}, {fmt_effect(a.result)} from {words(a.k)} studies" for a in pooled)
    parts = [(len(pooled), f"was pooled ({estimates})", f"were pooled ({estimates})")] if pooled else []
    for status, (one, many) in _STATUS_PHRASES.items():
        these = [a for a in main if a.status == status]
        if status == "single study" and these:
            named = f" ({outcome_labels(these, lower=False)})"
            one, many = one + named, many + named
        parts.append((len(these), one, many))
    whole = f"{words(len(main))} planned main {'analysis' if len(main) == 1 else 'analyses'}"
    if len(main) == 1:
        a = main[0]
        if pooled:
            return f"The one planned main analysis was pooled ({estimates})."
        return f"The one planned main analysis {_STATUS_PHRASES.get(a.status, (a.status,))[0]}."
    if not pooled:
        rest = [(c, one, many) for c, one, many in parts if c]
        if len(rest) == 1:
            return f"None of the {whole} could be pooled: all {rest[0][2]}."
        return _counted(rest, whole).replace(f"Of the {whole}, ", f"None of the {whole} could be pooled: ", 1) + "."
    return _counted(parts, whole) + "."


def exploratory_sentence(synth) -> str:
    """Each pooled exploratory analysis with its estimate, or "" when none was pooled."""
    done = analyses_with(synth, "pooled", exploratory=True)
    return " ".join(f"The exploratory analysis \u201c{a.label}\u201d gives {fmt_effect(a.result)} from "
                    f"{words(a.k)} studies and {a.participants} participants; the plan marks it as "
                    "exploratory, not as an estimate of a planned effect." for a in done)


def harms_sentence(sheets: Mapping) -> str:
    """How many identified included studies record adverse events, state that none occurred, or
    say nothing about harms."""
    k = n_identified(sheets)
    if k == 0:
        return ""
    reported = ae_studies(sheets, "reported", only_included=True)
    none = [s for s in ae_studies(sheets, "reported_none", only_included=True) if s not in reported]
    silent = k - len(reported) - len(none)
    parts = [(len(reported), "has adverse events recorded", "have adverse events recorded"),
             (len(none), "states that none occurred", "state that none occurred"),
             (silent, "says nothing about harms in the sources read",
              "say nothing about harms in the sources read")]
    said = [(c, one, many) for c, one, many in parts if c]
    if len(said) == 1:  # every study the same way
        _, one, many = said[0]
        subject = ("The one identified study" if k == 1 else "Both identified studies" if k == 2
                   else f"All {words(k)} identified studies")
        return f"{subject} {one if k == 1 else many}."
    return _counted(parts, f"{words(k)} identified studies") + "."


_HARMS_METHODS = {"RD": "Mantel-Haenszel risk difference", "PETO": "Peto odds ratio"}


def harms_pooled_sentence(synth) -> str:
    """The pooled adverse events, each term with the plan's first method's estimate:
    "One adverse event was pooled: nausea, Mantel-Haenszel risk difference 0.02 (95% CI ...) from 13 studies.";
    "" when no term was pooled."""
    pooled = synth.safety.pooled_results
    if not pooled:
        return ""
    first: dict = {}
    for (term, measure), res in pooled.items():
        first.setdefault(term, (measure, res))
    level = f"{float(synth.safety.level):g}"
    parts = []
    for term, (measure, res) in first.items():
        est, lb, ub = res.back_transformed()
        name = "any adverse event" if term == "any" else term
        parts.append(f"{name}, {_HARMS_METHODS.get(measure, measure)} {fmt_num(est)} "
                     f"({level}% CI {fmt_interval(lb, ub)}) from {words(res.k)} studies")
    head = "One adverse event was pooled: " if len(parts) == 1 else \
        f"{cap(words(len(parts)))} adverse events were pooled: "
    return head + "; ".join(parts) + "."


def abstract_results(sheets: Mapping, synth, ledger: pd.DataFrame | None = None) -> str:
    """The Results part of a structured abstract, every number computed: studies, the planned
    analyses, the exploratory estimates, harms and, when there is one, the ledger."""
    parts = [included_sentence(sheets), analyses_sentence(synth), exploratory_sentence(synth),
             harms_sentence(sheets), harms_pooled_sentence(synth)]
    if ledger is not None:
        parts.append(ledger_sentence(ledger, short=True))
    return " ".join(p for p in parts if p)


def claim(ledger: pd.DataFrame, claim_id: str, column: str = "status") -> str:
    """One cell of the ledger, as text."""
    r = ledger[ledger["claim_id"].map(_text) == claim_id]
    if len(r) != 1:
        raise LookupError(f"ledger has {len(r)} rows for {claim_id}")
    return _text(r[column].iloc[0])


def plan_rules(plan) -> str:
    """The rules part of `AnalysisPlan.to_markdown()` (heading line and bullets), without its
    table, so that the table can be printed in its own captioned cell (`tables.plan_table`)."""
    kept = []
    for line in plan.to_markdown().splitlines():
        if line.startswith("|"):
            break
        kept.append(line)
    return "\n".join(kept).strip() + "\n"


def split_table(markdown: str) -> tuple[str, str]:
    """A printed table split into (pipe-table lines, text after it).

    Some tables end with a legend paragraph; a caption must follow the table directly, so
    the legend is printed separately."""
    lines = markdown.strip("\n").splitlines()
    n = 0
    while n < len(lines) and lines[n].startswith("|"):
        n += 1
    return "\n".join(lines[:n]) + "\n", "\n".join(lines[n:]).strip()


def count_noun(n: int, singular: str, plural: str | None = None) -> str:
    """"no main outcome", "one trial", "two trials"."""
    n = int(n)
    return f"{words(n)} {singular if n == 1 else (plural or singular + 's')}"


def measured_by(synth, outcome: str) -> list[str]:
    """Labels of identified studies that measured an outcome, whether or not they contribute."""
    av = synth.availability
    sub = av[av["outcome"] == outcome]
    keep = (sub["contributes"] == "yes") | (
        (sub["reason"] != "study not identified")
        & ~((sub["reason"] == "not reported") & ~sub["detail"].astype(str).str.startswith("measured")))
    return list(sub.loc[keep, "label"])


ESTIMATOR_WORDS = {"REML": "restricted maximum likelihood", "ML": "maximum likelihood",
                   "DL": "the DerSimonian-Laird method", "HE": "the Hedges (variance components) method",
                   "FE": "a fixed-effect (inverse-variance) model"}


def estimator_words(code: str) -> str:
    """The plan's estimator code as words for the methods text."""
    return ESTIMATOR_WORDS[str(code).upper()]


# --- sentences that follow the analyses, whatever the sheets hold ----------------------
# The review's prose must stay true when a trial is added: which outcomes are pooled,
# which rest on one study and which studies could not contribute all come from here.

FORM_PHRASES = {"change": "change from baseline", "post": "final value",
                "percent_change": "percent change from baseline", "contrast": "between-arm contrast"}


def _effect_note(e) -> str:
    """Why a study's effect is not an end-of-treatment value (e.g. a follow-up value), or ""."""
    note = str(e.get("note") or "").strip()
    return note if note and e.get("timepoint_class") != "end_of_treatment" else ""


def study_effects(analysis, digits: int = 2) -> str:
    """Every contributing study's effect: "SMD 0.10 (95% CI ...) for Smith 2020 and ..."."""
    parts = []
    for _, e in analysis.effects.iterrows():
        note = _effect_note(e)
        parts.append(f"{study_effect(analysis, e['study'], digits)} for {e['label']}" + (f" ({note})" if note else ""))
    return join_words(parts)


def slug(text: str) -> str:
    """A Quarto label part from an outcome id or event term: lower case, [a-z0-9-]."""
    import re as _re

    return _re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def forest_label(outcome: str) -> str:
    """The label of an outcome's forest plot in the results (analysis.review.displays)."""
    return f"fig-forest-{slug(outcome)}"


def pooled_clause(analyses, digits: int = 2, refs: bool = False) -> str:
    """": Pain score, MD 3.12 (...), I² = 0%, ..., from two studies and 72 participants"
    for each pooled analysis, or "" when none is. With `refs`, a shortened list of studies
    points to the analysis's forest plot, which names them all."""
    parts = [f"{a.label}, {fmt_effect(a.result, digits)}, {fmt_heterogeneity(a.result)}, "
             f"from {words(a.k)} studies and {a.participants} participants "
             f"({name_list(a.effects['label'], where=f', @{forest_label(a.outcome)}' if refs else '')})"
             for a in analyses]
    return ": " + "; ".join(parts) if parts else ""


def single_study_list(analyses, digits: int = 2) -> str:
    """Each single-study outcome with its one effect: "Walking speed (m/s), MD ... from Jones 2021 (32 participants)"."""
    parts = []
    for a in analyses:
        e = a.effects.iloc[0]
        note = _effect_note(e)
        parts.append(f"{a.label}, {study_effect(a, e['study'], digits)} from {e['label']} "
                     f"({a.participants} participants" + (f"; {note})" if note else ")"))
    return "; ".join(parts)


def measured_elsewhere(synth, analyses, where: str = "") -> str:
    """Sentences on the other studies that measured these outcomes and why they could not
    contribute; single-study outcomes that no other identified study measured are named
    together. A pooled outcome whose every measuring study contributes needs no sentence,
    so the text may be "" (print it from an `asis` cell)."""
    alone, sentences = [], []
    for a in analyses:
        others = non_contributors(synth, a.outcome, where)
        if others:
            sentences.append(f"Other studies measured the {a.label} but could not "
                             f"contribute: {others}.")
        elif a.k == 1:
            alone.append(a.label)
    if alone:
        sentences.insert(0, f"No other identified study measured the {join_words(alone, 'or the')}, "
                            "so no comparison across trials is possible there.")
    return " ".join(sentences)



def forms_in(analysis) -> str:
    """The data forms an analysis combines, with their studies:
    "percent change from baseline (Smith 2020) and change from baseline (Jones 2021 and Fixture 2026)"."""
    groups: dict[str, list[str]] = {}
    for _, e in analysis.effects.iterrows():
        groups.setdefault(FORM_PHRASES.get(e["form"], str(e["form"])), []).append(e["label"])
    return join_words(f"{form} ({join_words(labels)})" for form, labels in groups.items())


def follow_up_studies(analysis) -> list[str]:
    """Labels of the studies whose effect in this analysis is a follow-up value."""
    return [e["label"] for _, e in analysis.effects.iterrows() if e["timepoint_class"] == "follow_up"]


def follow_up_sentence(analysis) -> str:
    """A sentence naming the studies that contribute a follow-up value, or "" when none does."""
    labels = follow_up_studies(analysis)
    if not labels:
        return ""
    verb = "contributes a value" if len(labels) == 1 else "contribute values"
    return f"{join_words(labels)} {verb} measured at follow-up, after treatment had ended."


def count_since_publication(n_now: int, n_published: int, than: str) -> str:
    """" This version counts 15 included studies, one more than THAN." or "" when the counts agree;
    `than` names what the count is compared with, in the review's words."""
    if n_now == n_published:
        return ""
    diff = n_now - n_published
    more = f"{words(abs(diff))} {'more' if diff > 0 else 'fewer'}"
    return f" This version counts {n_now} included studies, {more} than {than}."


def _long_date(iso: str) -> str:
    import datetime

    d = datetime.date.fromisoformat(iso)
    return f"{d.day} {d:%B} {d.year}"


def search_when(sheets: Mapping) -> str:
    """When the search ran, from the search sheet: "before 1 March 2024", "on 15 February 2024",
    or, when the sources were searched on different days, "on dates from X to Y"."""
    se = sheets["search"]
    dated = {(str(d), str(q)) for d, q in zip(se["date_searched"], se["date_qualifier"]) if not _blank(d)}
    if not dated:
        return "at a date the review does not report"
    if len(dated) == 1:
        (d, q), = dated
        return f"{'before' if q == 'before' else 'on'} {_long_date(d)}"
    days = sorted(d for d, _ in dated)
    return f"on dates from {_long_date(days[0])} to {_long_date(days[-1])}"


# --- whole sentences of the results, limitations and conclusions ------------------------
# Each returns a complete sentence, right for none, one, two and many, and never "".

def unpooled_reason(analysis) -> str:
    """Why an analysis has no pooled estimate, as a clause after "because"."""
    k, status = analysis.k, analysis.status
    if status == "not pooled":
        return f"the model could not be fitted ({analysis.reason})"
    if k == 0:
        return "no study gives data the plan accepts"
    need = _min_studies(analysis)
    if k == 1:
        return (f"only one study gives usable data and the plan pools {words(need)} or more"
                if need else "only one study gives usable data")
    return f"{words(k)} studies give usable data and the plan pools {words(need)} or more"


def _min_studies(analysis) -> int:
    import re as _re

    m = _re.search(r"(\d+) or more", str(analysis.reason))
    return int(m.group(1)) if m else 0


def pooled_sentence(analyses, min_k: int, digits: int = 2, refs: bool = False) -> str:
    """"No main analysis reached the plan's threshold of two studies." or "One main analysis
    reached ...: Label, MD ... from two studies ..."; "Two main analyses reached ..."."""
    n = len(analyses)
    head = ("No main analysis" if n == 0 else cap(count_noun(n, "main analysis", "main analyses")))
    verb = "reached"
    return f"{head} {verb} the plan's threshold of {words(min_k)} studies{pooled_clause(analyses, digits, refs)}."


def single_study_sentence(analyses, digits: int = 2) -> str:
    """The outcomes that rest on one study each, with its effect (none, one, several)."""
    n = len(analyses)
    if n == 0:
        return "No main outcome rests on a single study."
    if n == 1:
        return ("For one outcome a single study gives usable data, and its effect is shown alone "
                f"rather than pooled: {single_study_list(analyses, digits)}.")
    return (f"For {words(n)} outcomes a single study each gives usable data, and their effects are "
            f"shown alone rather than pooled: {single_study_list(analyses, digits)}.")


def no_data_sentence(synth, analyses, where: str = "") -> str:
    """The outcomes no study gives usable data for, with the studies that measured the first of
    them that has any, and why they could not contribute."""
    n = len(analyses)
    if n == 0:
        return "Every planned main outcome has usable data from at least one study."
    example = next(((a, non_contributors(synth, a.outcome, where)) for a in analyses
                    if non_contributors(synth, a.outcome)), None)
    if n == 1:
        a = analyses[0]
        head = f"For the {a.label}, no study gives usable data"
        return head + (f"; the studies that measured it were {example[1]}." if example else ".")
    others = [a for a in synth.analyses if not a.exploratory and a.k > 0]
    head = (f"For the remaining {words(n)} main outcomes no study gives usable data" if others else
            f"For none of the {words(n)} main outcomes does any study give usable data")
    if example is None:
        return head + "."
    return head + f"; for the {example[0].label}, for example, the studies that measured it were {example[1]}."


def plan_count_sentence(synth) -> str:
    """"The plan names ten main outcome analyses and one exploratory analysis." (none, one, many)."""
    main = [a for a in synth.analyses if not a.exploratory]
    expl = [a for a in synth.analyses if a.exploratory]
    m = count_noun(len(main), "main outcome analysis", "main outcome analyses")
    e = count_noun(len(expl), "exploratory analysis", "exploratory analyses")
    return f"The plan names {m} and {e}."


def subgroup_sentence(synth) -> str:
    """What the plan's subgroup rules asked for and how many subgroup estimates could be computed."""
    plan = synth.plan
    if not plan.subgroups:
        return "The plan names no subgroup analysis."
    rules = join_words(f"by {s.label}" for s in plan.subgroups)
    need = {s.min_per_group for s in plan.subgroups}
    need_text = (f"{words(need.pop())} studies in each of two groups" if len(need) == 1
                 else "the number of studies per group the plan sets")
    run = sum(int((a.subgroups["status"] == "pooled").sum()) for a in synth.analyses if len(a.subgroups))
    what = "Subgroup analysis " if len(plan.subgroups) == 1 else "Subgroup analyses "
    verb = "needs" if len(plan.subgroups) == 1 else "need"
    done = count_noun(run, "subgroup estimate")
    return f"{what}{rules} {verb} {need_text}; {done} could be computed."


def analyses_outcome_sentence(synth, sheets: Mapping | None = None) -> str:
    """For the limitations: how many main analyses could be pooled and where the single-study
    effects come from."""
    main = [a for a in synth.analyses if not a.exploratory]
    pooled = [a for a in main if a.status == "pooled"]
    single = [a for a in main if a.status == "single study"]
    p = ("no main analysis could be pooled" if not pooled else
         f"{count_noun(len(pooled), 'main analysis', 'main analyses')} could be pooled")
    sources = list(dict.fromkeys(lab for a in single for lab in a.effects["label"]))
    if not single:
        return f"As a result, {p} and no outcome rests on a single study."
    effects = ("the one single-study effect comes from" if len(single) == 1
               else f"the {words(len(single))} single-study effects come from")
    return f"As a result, {p}, and {effects} {name_list(sources)}."


def evidence_sentence(synth) -> str:
    """For the conclusions: which studies give usable between-arm data and how many main
    outcomes could be pooled."""
    contributors = contributing_studies(synth)
    main = [a for a in synth.analyses if not a.exploratory]
    pooled = [a for a in main if a.status == "pooled"]
    pooled_text = ("no main outcome could be pooled" if not pooled else
                   f"{count_noun(len(pooled), 'main outcome')} could be pooled")
    if not contributors:
        return f"In this reproduction no study gives usable between-arm data, so {pooled_text}."
    alone = " alone" if len(contributors) <= LIST_MAX else ""
    return (f"In this reproduction usable between-arm data come from {name_list(contributors)}{alone}, "
            f"and {pooled_text}.")


def none_reported_sentence(sheets: Mapping, keys) -> str:
    """Which included studies state that no adverse event occurred (none, one, many)."""
    keys = list(keys)
    if not keys:
        return "No included study states explicitly that no adverse event occurred."
    if len(keys) == 1:
        return f"Among the included studies, only {labels(sheets, keys)} states explicitly that no adverse event occurred in either arm."
    return (f"Among the included studies, {labels(sheets, keys)} state explicitly that no adverse "
            "event occurred in any arm.")


def missing_harms_sentence(sheets: Mapping, keys) -> str:
    """The included studies whose sources say nothing about adverse events."""
    keys = list(keys)
    if not keys:
        return "Every included study's sources say something about adverse events."
    who = study_list(sheets, study=keys)
    if len(keys) == 1:
        return (f"For one included study, {who}, the sources read say nothing about adverse events, "
                "which is recorded as missing, not as zero.")
    return (f"For {words(len(keys))} included studies, {who}, the sources read say nothing about "
            "adverse events, which is recorded as missing, not as zero.")


def prisma_caption(sheets: Mapping, n_published: int | None = None) -> str:
    """The flow diagram's caption: whose flow it is (the published review's while the count of
    included studies is the published one, this version's once studies were added or removed)
    and, when some counts are not reported, that those boxes say so."""
    n = n_included(sheets)
    if n_published is None or n == n_published:
        whose = "PRISMA 2020 flow of the published review."
    else:
        diff = n - n_published
        whose = (f"PRISMA 2020 flow of this version, which includes {count_noun(n, 'study', 'studies')}, "
                 f"{words(abs(diff))} {'more' if diff > 0 else 'fewer'} than the published review.")
    pr = sheets.get("prisma")
    missing = 0 if pr is None or "status" not in pr.columns else int((pr["status"].map(_text) == "not_reported").sum())
    if not missing:
        return whose
    return whose + (" A step whose count the sources do not report reads not reported.")


def characteristics_caption(sheets: Mapping, n_published: int | None = None) -> str:
    """The characteristics table's caption (the published review's studies only while the count
    is the published one; the note on unidentified rows only when there are any)."""
    n, k = n_included(sheets), n_identified(sheets)
    whose = ("the studies counted by the published review" if n_published is not None and n == n_published
             else "the included studies")
    cap_ = f"Characteristics of {whose}, as found in the sources read; NR: not reported in the sources read."
    if n > k:
        cap_ += (" The rows for studies that could not be identified are kept so that the count matches"
                 " the published review's.")
    return cap_
