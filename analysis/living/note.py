"""The version note for readers: what changed in the evidence since the previous version.

`evidence_changes(old, new, names)` reads two sets of the review's numbers (the keys of
`numbers.collect_numbers`) and says, in plain sentences, what a reader of the review needs:

- studies added, removed or whose data were corrected, by their labels, and the totals;
- for each outcome, the pooled estimate with its confidence interval before and after
  (ratios on their own scale), an outcome newly pooled or no longer pooled, and which
  studies joined or left it; subgroup estimates that appeared, went or moved;
- for each adverse event, the counts that moved and the pooled estimates.

`record_changes(old, new, names)` lists, briefly and apart, what moved that is not new
evidence: the record of the search, the PRISMA counts and the reproduction ledger (where a
sheet that is new to the project makes values appear that no one measured again). Nothing
is computed here beyond comparing the two sets; `names` turns keys into words.
"""

from __future__ import annotations

import math

from .names import Names
from .numbers import diff_numbers
from ..review.report import cap, count_noun, fmt_num, fmt_p, join_words, words

EFFECT_FIELDS = ("yi", "ci_lb", "ci_ub")
POOLED = "pooled"
EVENT_METHODS = {"MH_RD": "Mantel-Haenszel risk difference", "PETO_OR": "Peto odds ratio"}
ROLES = (("active", "active arms"), ("control", "control arms"))


def _group(numbers: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in numbers.items() if k.startswith(prefix)}


def _natural(d: dict, x):
    return math.exp(x) if d.get("scale") == "log" and x is not None else x


def _level(names: Names, outcome: str) -> str:
    level = names.levels.get(outcome, 95)
    return f"{float(level):g}% CI"


def _estimate(d: dict, est: str, lb: str, ub: str, level: str, measure: str = "") -> str | None:
    """"MD 3.12 (95% CI 1.40 to 4.84)"; None when `d` has no estimate."""
    if d.get(est) is None:
        return None
    lead = f"{measure} " if measure else ""
    return (f"{lead}{fmt_num(_natural(d, d[est]))} ({level} {fmt_num(_natural(d, d.get(lb)))} "
            f"to {fmt_num(_natural(d, d.get(ub)))})")


def _studies_of(d: dict) -> list[str]:
    return [s for s in (d.get("studies") or "").split(", ") if s]


def _labels(keys, names: Names) -> str:
    return join_words(names.study(k) for k in keys)


def _sorted_by_label(keys, names: Names) -> list[str]:
    return sorted(keys, key=lambda k: (names.study(k), k))


# --- studies ----------------------------------------------------------------------------

def _n_label(n) -> str:
    return "number of participants not reported" if n is None else count_noun(n, "participant")


def _corrected(old: dict, new: dict, both: set[str]) -> dict[str, list[str]]:
    """Studies in both versions whose own data moved: study -> the outcomes (keys) concerned."""
    out: dict[str, list[str]] = {}
    for c in diff_numbers(old, new):
        parts = c.key.split(".")
        if parts[0] == "analysis" and len(parts) == 5 and parts[2] == "study" and parts[4] in EFFECT_FIELDS:
            s, outcome = parts[3], parts[1]
            if s in both and f"analysis.{outcome}.study.{s}.yi" in old and f"analysis.{outcome}.study.{s}.yi" in new:
                out.setdefault(s, [])
                if outcome not in out[s]:
                    out[s].append(outcome)
        elif parts[0] == "studies" and parts[1] == "n_total" and parts[2] in both and c.kind == "changed":
            out.setdefault(parts[2], [])
    return out


def _study_sentences(old: dict, new: dict, names: Names) -> list[str]:
    o, n = _group(old, "studies."), _group(new, "studies.")
    was, now = (set(filter(None, (d.get("list") or "").split(", "))) for d in (o, n))
    out = []
    added, removed = _sorted_by_label(now - was, names), _sorted_by_label(was - now, names)
    if added:
        items = [f"{names.study(s)} ({_n_label(n[f'n_total.{s}'])})" if f"n_total.{s}" in n else names.study(s)
                 for s in added]
        out.append(f"{cap(count_noun(len(added), 'study', 'studies'))} added: {join_words(items)}.")
    if removed:
        out.append(f"{cap(count_noun(len(removed), 'study', 'studies'))} removed: {_labels(removed, names)}.")
    corrected = _corrected(old, new, was & now)
    if corrected:
        out.append(f"Data corrected in {count_noun(len(corrected), 'study', 'studies')}: "
                   f"{_labels(_sorted_by_label(corrected, names), names)}.")
    for s in _sorted_by_label(corrected, names):
        n_old, n_new = o.get(f"n_total.{s}"), n.get(f"n_total.{s}")
        if n_old != n_new:
            out.append(f"{names.study(s)}: {_n_label(n_new)}, was {'not reported' if n_old is None else n_old}.")
        for outcome in corrected[s]:
            go, gn = _group(old, f"analysis.{outcome}."), _group(new, f"analysis.{outcome}.")
            measure = gn.get("measure") or go.get("measure") or ""
            level = _level(names, outcome)
            fields = (f"study.{s}.yi", f"study.{s}.ci_lb", f"study.{s}.ci_ub")
            e_new, e_old = _estimate(gn, *fields, level, measure), _estimate(go, *fields, level)
            if e_new != f"{measure} {e_old}".strip():
                out.append(f"{names.study(s)}, {names.outcome(outcome)}: {e_new}, was {e_old}.")
    inc_o, inc_n = o.get("included"), n.get("included")
    ppl_o, ppl_n = o.get("participants"), n.get("participants")
    if (inc_o, ppl_o) != (inc_n, ppl_n) and inc_n is not None:
        total = f"The review now includes {count_noun(inc_n, 'study', 'studies')}"
        if ppl_n is not None:
            total += f" with {count_noun(ppl_n, 'participant')}"
        if inc_o is not None:
            total += f" (previously {words(inc_o)}" + (f" with {ppl_o})" if ppl_o is not None else ")")
        out.append(total + ".")
    return out


# --- outcomes ---------------------------------------------------------------------------

def _usable(d: dict, names: Names, past: bool = False) -> str:
    """Who gives usable data in a version of an outcome that is not pooled."""
    studies = _studies_of(d)
    if not studies:
        return f"no study {'gave' if past else 'gives'} usable data"
    if len(studies) == 1:
        return f"only {names.study(studies[0])} {'gave' if past else 'gives'} usable data"
    return (f"{count_noun(len(studies), 'study', 'studies')} ({_labels(studies, names)}) "
            f"{'gave' if past else 'give'} usable data, not pooled")


def _outcome_sentence(outcome: str, old: dict, new: dict, names: Names) -> str | None:
    go, gn = _group(old, f"analysis.{outcome}."), _group(new, f"analysis.{outcome}.")
    label = names.outcome(outcome)
    if "k" not in gn and "k" not in go:
        return None
    if "k" not in gn:
        return f"{label}: no longer analysed (removed from the analysis plan)."
    measure = gn.get("measure") or go.get("measure") or ""
    level = _level(names, outcome)
    e_new = _estimate(gn, "estimate", "ci_lb", "ci_ub", level, measure)
    e_old = _estimate(go, "estimate", "ci_lb", "ci_ub", level, measure) if "k" in go else None
    s_new, s_old = _studies_of(gn), _studies_of(go)
    joined = [s for s in s_new if s not in s_old]
    left = [s for s in s_old if s not in s_new]
    k_new = count_noun(len(s_new), "study", "studies")
    pooled_new, pooled_old = gn.get("status") == POOLED and e_new, go.get("status") == POOLED and e_old
    if "k" not in go:
        head = f"{label}: new in the analysis plan; "
        body = f"pooled from {k_new} ({_labels(s_new, names)}): {e_new}." if pooled_new else f"{_usable(gn, names)}."
        return head + body
    if pooled_new and not pooled_old:
        return (f"{label}: now pooled from {k_new} ({_labels(s_new, names)}): {e_new}. "
                f"Before, {_usable(go, names, past=True)}.")
    if pooled_old and not pooled_new:
        return (f"{label}: no longer pooled; now {_usable(gn, names)}. "
                f"Before, {e_old} from {count_noun(len(s_old), 'study', 'studies')}.")
    changes = []
    if joined:
        changes.append(f"{_labels(joined, names)} added")
    if left:
        changes.append(f"{_labels(left, names)} left out")
    if pooled_new and pooled_old:
        if e_new == e_old and not changes:
            return None  # moved beyond the printed decimals
        was = e_old[len(measure) + 1:] if measure else e_old
        sentence = f"{label}: {e_new} from {k_new}, was {was}"
        if len(s_old) != len(s_new):
            sentence += f" from {words(len(s_old))}"
        for change in changes:
            sentence += f"; {change}"
        i2o, i2n = go.get("i2"), gn.get("i2")
        if i2o is not None and i2n is not None and f"{i2o:.0f}" != f"{i2n:.0f}":
            sentence += f"; I\u00b2 {i2n:.0f}%, was {i2o:.0f}%"
        return sentence + "."
    if changes or gn.get("status") != go.get("status"):
        return f"{label}: now {_usable(gn, names)}; before, {_usable(go, names, past=True)}."
    return None


def _subgroup_sentences(outcome: str, old: dict, new: dict, names: Names) -> list[str]:
    """Per subgroup variable of an outcome: groups whose estimate appeared, went or moved."""
    go, gn = _group(old, f"analysis.{outcome}.subgroup."), _group(new, f"analysis.{outcome}.subgroup.")
    label = names.outcome(outcome)
    level = _level(names, outcome)
    measure = (new.get(f"analysis.{outcome}.measure") or old.get(f"analysis.{outcome}.measure") or "")
    scale = {"scale": new.get(f"analysis.{outcome}.scale") or old.get(f"analysis.{outcome}.scale")}
    out = []
    for by in sorted({k.split(".")[0] for k in (*go, *gn)}):
        groups = sorted({k.split(".")[1] for k in (*go, *gn) if k.startswith(f"{by}.")})
        run_new, run_old, moved = [], [], []
        for g in groups:
            fields = (f"{by}.{g}.estimate", f"{by}.{g}.ci_lb", f"{by}.{g}.ci_ub")
            e_new = _estimate({**scale, **gn}, *fields, level, measure)
            e_old = _estimate({**scale, **go}, *fields, level, measure)
            k_new = gn.get(f"{by}.{g}.k") or 0
            name = g.replace("_", " ")
            if e_new:
                run_new.append(f"{name} {e_new} from {count_noun(k_new, 'study', 'studies')}")
            if e_old:
                run_old.append(g)
            if e_new and e_old and e_new != e_old:
                moved.append(f"{name} {e_new}, was {e_old[len(measure) + 1:] if measure else e_old}")
        what = f"{label}, subgroups by {names.subgroups.get(by, by.replace('_', ' '))}"
        pval = new.get(f"analysis.{outcome}.subgroup_test.{by}.pval")
        test = f"; test for subgroup differences {fmt_p(pval)}" if pval is not None else ""
        if run_new and not run_old:
            out.append(f"{what}: now compared, {join_words(run_new)}{test}.")
        elif run_old and not run_new:
            out.append(f"{what}: no longer compared (too few studies in each group).")
        elif moved:
            out.append(f"{what}: {'; '.join(moved)}.")
    return out


# --- adverse events ---------------------------------------------------------------------

def _tally(d: dict, role: str) -> str | None:
    if f"{role}.events" not in d:
        return None
    events, at_risk = d.get(f"{role}.events"), d.get(f"{role}.at_risk")
    text = "not reported" if events is None else str(events)
    return f"{text} of {at_risk}" if at_risk is not None and events is not None else text


def _event_sentence(event: str, old: dict, new: dict, names: Names) -> str | None:
    go, gn = _group(old, f"safety.{event}."), _group(new, f"safety.{event}.")
    po, pn = _group(old, f"safety.pooled.{event}."), _group(new, f"safety.pooled.{event}.")
    label = f"Adverse events, {event.replace('_', ' ')}"
    parts = []
    if gn and not go:
        tallies = [f"{_tally(gn, r)} in {w}" for r, w in ROLES if _tally(gn, r) is not None]
        if tallies:
            tallies[0] = tallies[0].replace(" in ", " participants in " if not tallies[0].startswith("1 ")
                                            else " participant in ", 1)
        parts.append("first reported" + (f": {join_words(tallies)}" if tallies else ""))
    elif go and not gn:
        parts.append("no longer reported by any included study")
    else:
        tallies = []
        for role, words in ROLES:
            t_old, t_new = _tally(go, role), _tally(gn, role)
            if t_old != t_new:
                who = " participants" if not tallies and t_new not in (None, "1") else (
                    " participant" if not tallies and t_new == "1" else "")
                tallies.append(f"{t_new or 'none'}{who} in {words} (was {t_old or 'none'})")
        if tallies:
            parts.append(join_words(tallies))
    level = "95% CI"
    now_pooled, k_pooled = [], 0
    for code in sorted({k.split(".")[0] for k in (*po, *pn)}):
        what = EVENT_METHODS.get(code, code.replace("_", " "))
        ratio = any(d.get(f"{code}.exp_estimate") is not None for d in (po, pn))
        fields = [f"{code}.{'exp_' if ratio else ''}{f}" for f in ("estimate", "ci_lb", "ci_ub")]
        e_new, e_old = _estimate(pn, *fields, level), _estimate(po, *fields, level)
        k_new = pn.get(f"{code}.k") or 0
        if e_new and not e_old:
            now_pooled.append(f"{what} {e_new}")
            k_pooled = max(k_pooled, k_new)
        elif e_old and not e_new:
            parts.append(f"no longer pooled by {what} (was {e_old})")
        elif e_new and e_new != e_old:
            parts.append(f"{what} {e_new} from {count_noun(k_new, 'study', 'studies')}, was {e_old}")
    if now_pooled:
        parts.append(f"now pooled from {count_noun(k_pooled, 'study', 'studies')}: {join_words(now_pooled)}")
    if not parts:
        return None
    return f"{label}: {'; '.join(parts)}."


# --- the whole note ---------------------------------------------------------------------

def _outcomes_in_order(old: dict, new: dict, names: Names) -> list[str]:
    found = {k.split(".")[1] for k in (*old, *new) if k.startswith("analysis.")}
    order = {o: i for i, o in enumerate(names.outcomes)}
    return sorted(found, key=lambda o: (order.get(o, len(order)), o))


def _events_in_order(old: dict, new: dict) -> list[str]:
    return sorted({k.split(".")[1] if not k.startswith("safety.pooled.") else k.split(".")[2]
                   for k in (*old, *new) if k.startswith("safety.")})


def evidence_changes(old: dict, new: dict, names: Names | None = None) -> list[str]:
    """Plain sentences on what changed in the evidence from `old` to `new`; [] when nothing did."""
    names = names or Names()
    out = _study_sentences(old, new, names)
    for outcome in _outcomes_in_order(old, new, names):
        out.append(_outcome_sentence(outcome, old, new, names))
        out += _subgroup_sentences(outcome, old, new, names)
    for event in _events_in_order(old, new):
        out.append(_event_sentence(event, old, new, names))
    return [s for s in out if s]


def _claims(d: dict) -> set[str]:
    return {k.split(".")[1] for k in d if k.startswith("ledger.")}


def record_changes(old: dict, new: dict, names: Names | None = None) -> list[str]:
    """What moved that is not evidence, one short phrase per record; [] when nothing did."""
    names = names or Names()
    moved = {c.key for c in diff_numbers(old, new)}
    out = []
    so, sn = _group(old, "search."), _group(new, "search.")
    if sn and not so:
        out.append(f"the searches are now recorded in their own sheet "
                   f"({count_noun(sn.get('sources') or 0, 'source')}); this records how the studies were "
                   "found, it is not a new search")
    elif so and not sn:
        out.append("the record of the searches was removed")
    elif any(k.startswith("search.") for k in moved):
        dated = sorted({k.split(".")[2] for k in moved if k.startswith("search.source.")})
        out.append("the record of the searches changed" +
                   (f" ({join_words(s.replace('_', ' ') for s in dated)})" if dated else ""))
    po, pn = _group(old, "prisma."), _group(new, "prisma.")
    if pn and not po:
        out.append("the study flow (PRISMA) is now recorded in its own sheet")
    elif any(k.startswith("prisma.") for k in moved):
        rows = sorted({k[len("prisma."):] for k in moved if k.startswith("prisma.")})
        items = [f"{names.prisma.get(r, r.replace('_', ' '))} {pn.get(r, 'not reported')}, "
                 f"was {po.get(r, 'not reported')}" for r in rows]
        out.append(f"the PRISMA counts ({'; '.join(items)})")
    co, cn = _claims(old), _claims(new)
    if cn and not co:
        out.append(f"the reproduction ledger was added ({count_noun(len(cn), 'statement')} of the published review)")
    else:
        changed = sorted({k.split(".")[1] for k in moved if k.startswith("ledger.")})
        if changed:
            out.append(f"the reproduction ledger's check of {count_noun(len(changed), 'statement')} of the "
                       f"published review ({join_words(changed)})")
    return out


def note_text(old: dict, new: dict, names: Names | None, lead: str, previous: str) -> str:
    """The version note: `lead` names this version ("This is version 4 of the review, dated ..."),
    or is empty; `previous` names the version compared with ("version 3 (20 November 2026)")."""
    evidence = evidence_changes(old, new, names)
    records = record_changes(old, new, names)
    lead = f"{lead} " if lead else ""
    if evidence:
        text = (f"{lead}Since {previous}, the evidence changed as follows:\n\n"
                + "\n".join(f"- {s}" for s in evidence))
    else:
        text = f"{lead}No study, estimate or adverse-event count changed since {previous}."
    if records:
        text += ("\n\nAlso changed, without new evidence: " + "; ".join(records) + ".")
    return text
