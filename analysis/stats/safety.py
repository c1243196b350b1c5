"""Adverse-event tallies over the ``adverse_events`` and ``arms`` sheets, with exact CIs.

Rules (docs/architecture.md, sheet ``adverse_events.csv``):

* ``reported`` rows give counts. Several rows for one study, arm and term (split by
  severity) are summed.
* ``reported_none`` is a real zero: with ``event = any`` it is zero for every event term of
  that study (or arm), with a specific term zero for that term only. A row for the term
  itself takes precedence over the study's ``any`` row.
* ``not_reported`` is missing: listed in ``missing``, never counted as zero. A study that
  reports some terms but not a given one is missing for that term, not zero.
* The number at risk is the row's ``at_risk``, else the arm's ``n_analysed``, else its
  ``n_randomised`` (for a whole-study row, the sum over the study's arms). If still unknown
  the events are counted but no proportion is computed for the group, and ``note`` says why.

Event terms are whatever the sheet holds, in order of first appearance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..data.cells import is_blank as _blank
from .binary import mantel_haenszel, peto
from ..errors import InputError, StatsError

STATUSES = ("reported", "reported_none", "not_reported")
AE_COLUMNS = ("study", "arm", "event", "events", "at_risk", "status")
ARM_COLUMNS = ("study", "arm", "role", "n_randomised", "n_analysed")
ANY = "any"
TOTAL = "total"

PER_STUDY_COLUMNS = ["study", "arm", "role", "event", "events", "at_risk", "at_risk_source",
                     "status", "severity"]
TOTALS_COLUMNS = ["event", "role", "events", "at_risk", "studies", "proportion", "ci_lb",
                  "ci_ub", "note"]
MISSING_COLUMNS = ["event", "study", "reason"]
POOLED_COLUMNS = ["event", "code", "method", "measure", "k", "estimate", "se", "ci_lb", "ci_ub", "zval",
                  "pval", "q", "q_pval", "i2", "exp_estimate", "exp_ci_lb", "exp_ci_ub",
                  "studies", "reason"]


def clopper_pearson(x, n, level=95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for x events in n, as R's ``binom.test``."""
    if not 0 < level < 100:
        raise StatsError(f"level must be between 0 and 100, got {level}")
    try:
        x, n = float(x), float(n)
    except (TypeError, ValueError) as exc:
        raise StatsError(f"events and number at risk must be numbers, got {x!r} and {n!r}") from exc
    if not (np.isfinite(x) and np.isfinite(n)):
        raise StatsError(f"events and number at risk must be known, got {x} and {n}")
    if n <= 0 or x < 0 or x > n or x != int(x) or n != int(n):
        raise StatsError(f"need whole numbers 0 <= events <= at risk and at risk > 0, "
                         f"got {x:g} of {n:g}")
    alpha = 1 - level / 100
    lo = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    hi = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lo, hi


@dataclass(frozen=True)
class SafetyTally:
    per_study: pd.DataFrame
    totals: pd.DataFrame
    missing: pd.DataFrame
    pooled: pd.DataFrame
    level: float
    events: list[str]
    pooled_results: dict  # (event, "RD" | "PETO") -> BinaryPoolResult




def _num(x) -> float:
    if _blank(x):
        return float("nan")
    try:
        return float(x)
    except (TypeError, ValueError) as exc:
        raise InputError(f"expected a number, got {x!r}") from exc


def _text(x) -> str:
    return "" if _blank(x) else str(x).strip()


def _check_columns(df: pd.DataFrame, needed, sheet):
    lacking = [c for c in needed if c not in df.columns]
    if lacking:
        raise InputError(f"{sheet}: missing column(s) {', '.join(lacking)}")


class _Arms:
    """Arm roles and denominators by study."""

    def __init__(self, arms: pd.DataFrame):
        _check_columns(arms, ARM_COLUMNS, "arms.csv")
        self.by_study: dict[str, list[dict]] = {}
        for study, arm, role, n_an, n_rand in zip(arms["study"], arms["arm"], arms["role"],
                                                  arms["n_analysed"], arms["n_randomised"]):
            self.by_study.setdefault(_text(study), []).append({
                "arm": _text(arm), "role": _text(role),
                "n_analysed": _num(n_an), "n_randomised": _num(n_rand),
            })

    def arms_of(self, study):
        return self.by_study.get(study, [])

    def find(self, study, arm):
        for a in self.arms_of(study):
            if a["arm"] == arm:
                return a
        return None

    @staticmethod
    def _arm_n(a):
        if np.isfinite(a["n_analysed"]):
            return a["n_analysed"], "n_analysed"
        if np.isfinite(a["n_randomised"]):
            return a["n_randomised"], "n_randomised"
        return float("nan"), "unknown"

    def denominator(self, study, arm, at_risk):
        if np.isfinite(at_risk):
            return at_risk, "at_risk"
        if arm:
            a = self.find(study, arm)
            return self._arm_n(a) if a else (float("nan"), "unknown")
        arms = self.arms_of(study)
        ns = [self._arm_n(a) for a in arms]
        if arms and all(np.isfinite(n) for n, _ in ns):
            sources = sorted({s for _, s in ns})
            return float(sum(n for n, _ in ns)), "+".join(sources) + " (all arms)"
        return float("nan"), "unknown"


def _records(study, term, rows, arms: _Arms, via_any: bool):
    """Per-study records and missing entries for one study and term from its status rows (dicts)."""
    recs, missing, empty_arms = [], [], set()
    reported = [r for r in rows if r["_status"] == "reported"]
    none_rows = [r for r in rows if r["_status"] == "reported_none"]
    not_rep = [r for r in rows if r["_status"] == "not_reported"]

    # Sum reported rows by arm (severity splits); a reported row with empty count is missing.
    by_arm: dict[str, list] = {}
    for r in reported:
        by_arm.setdefault(r["_arm"], []).append(r)
    for arm, grp in by_arm.items():
        ev = [r["_events"] for r in grp]
        if any(np.isnan(e) for e in ev):
            missing.append((term, study, f"status reported but events empty"
                                         f"{' for arm ' + arm if arm else ''}"))
            empty_arms.add(arm)
            continue
        at_risk = [r["_at_risk"] for r in grp if not np.isnan(r["_at_risk"])]
        n, src = arms.denominator(study, arm, float(max(at_risk)) if at_risk else np.nan)
        sev = "; ".join(s for s in dict.fromkeys(r["_severity"] for r in grp) if s)
        recs.append(dict(study=study, arm=arm, event=term, events=float(sum(ev)), at_risk=n,
                         at_risk_source=src, status="reported", severity=sev))

    for r in none_rows:
        targets = [r["_arm"]] if r["_arm"] else [a["arm"] for a in arms.arms_of(study)] or [""]
        for arm in targets:
            at_risk = r["_at_risk"] if (r["_arm"] or len(targets) == 1) else np.nan
            n, src = arms.denominator(study, arm, at_risk)
            recs.append(dict(study=study, arm=arm, event=term, events=0.0, at_risk=n,
                             at_risk_source=src,
                             status="reported_none" + (" (any)" if via_any else ""),
                             severity=""))

    # Arm-level counts that leave out an arm of the study: that arm is missing, not zero.
    covered = {r["arm"] for r in recs} | {r["_arm"] for r in not_rep} | empty_arms
    if recs and "" not in covered:
        for a in arms.arms_of(study):
            if a["arm"] not in covered:
                missing.append((term, study, f"{term} not given for arm {a['arm']}"))

    for r in not_rep:
        where = f" for arm {r['_arm']}" if r["_arm"] else ""
        generic = via_any or term == ANY
        missing.append((ANY if via_any else term, study,
                        f"adverse events not reported{where}" if generic
                        else f"{term} not reported{where}"))
    return recs, missing


def tally(adverse_events: pd.DataFrame, arms: pd.DataFrame, *, level=95,
          methods=("MH_RD", "PETO_OR"), min_studies=2) -> SafetyTally:
    """Tally adverse events per study and arm, totals by role with exact CIs, and pooling.

    ``methods`` (analysis plan codes): ``MH_RD`` Mantel-Haenszel risk difference,
    ``PETO_OR`` Peto odds ratio; each is computed per event term when at least
    ``min_studies`` studies give counts and denominators for an active and a control arm.
    """
    methods = tuple(methods)
    unknown = [m for m in methods if m not in _METHODS]
    if unknown:
        raise StatsError(f"unknown safety method(s) {', '.join(unknown)}; use MH_RD or PETO_OR")
    if int(min_studies) < 1:
        raise StatsError(f"min_studies must be at least 1, got {min_studies}")
    _check_columns(adverse_events, AE_COLUMNS, "adverse_events.csv")
    arm_info = _Arms(arms)
    ae = adverse_events.copy()
    ae["_study"] = ae["study"].map(_text)
    ae["_arm"] = ae["arm"].map(_text)
    ae["_event"] = ae["event"].map(lambda x: _text(x).lower() if _text(x).lower() == ANY
                                   else _text(x))
    ae["_status"] = ae["status"].map(_text)
    ae["_severity"] = ae["severity"].map(_text) if "severity" in ae.columns else ""
    for col, src in (("_events", "events"), ("_at_risk", "at_risk")):
        ae[col] = [_num(v) for v in ae[src]]
    bad = ae[~ae["_status"].isin(STATUSES)]
    if len(bad):
        raise InputError(f"adverse_events.csv: status must be one of {', '.join(STATUSES)}, "
                         f"got {bad['_status'].iloc[0]!r} (study {bad['_study'].iloc[0]})")
    if (ae["_event"] == "").any():
        raise InputError("adverse_events.csv: empty event term "
                         f"(study {ae.loc[ae['_event'] == '', '_study'].iloc[0]})")

    terms = list(dict.fromkeys(ae["_event"]))
    studies = list(dict.fromkeys(list(ae["_study"]) + list(arm_info.by_study)))

    # The sheet's rows by study, then by term, in sheet order: one pass, not one per study.
    by_study: dict[str, dict[str, list]] = {}
    cols = ("_study", "_arm", "_event", "_status", "_severity", "_events", "_at_risk")
    for row in zip(*(ae[c] for c in cols)):
        r = dict(zip(cols, row))
        by_study.setdefault(r["_study"], {}).setdefault(r["_event"], []).append(r)

    recs, missing = [], []
    for study in studies:
        srows = by_study.get(study)
        if not srows:
            missing.append((ANY, study, "no row in adverse_events.csv for this study"))
            continue
        any_rows = srows.get(ANY, [])
        for term in terms:
            trows = srows.get(term)
            if trows:
                r, m = _records(study, term, trows, arm_info, via_any=False)
            elif term != ANY and any(a["_status"] != "reported" for a in any_rows):
                # The study-wide statement (none, or not reported) covers this term.
                usable = [a for a in any_rows if a["_status"] != "reported"]
                r, m = _records(study, term, usable, arm_info, via_any=True)
            elif term == ANY:
                r, m = [], [(term, study, "no count of participants with any adverse event")]
            else:
                r, m = [], [(term, study, "study reports adverse events but not this term")]
            recs += r
            missing += m

    per_study = pd.DataFrame(recs, columns=[c for c in PER_STUDY_COLUMNS if c != "role"])
    per_study.insert(2, "role", [
        (arm_info.find(s, a) or {}).get("role", "") if a else "" for s, a in
        zip(per_study["study"], per_study["arm"])])
    per_study = per_study[PER_STUDY_COLUMNS]
    for _, r in per_study[per_study["at_risk"].isna()].iterrows():
        missing.append((r["event"], r["study"],
                        "number at risk unknown (no at_risk, n_analysed or n_randomised): "
                        "events counted, proportion not computed"))
    missing_df = pd.DataFrame(missing, columns=MISSING_COLUMNS).drop_duplicates(ignore_index=True)

    totals = _totals(per_study, terms, level)
    pooled, results = _pooled(per_study, terms, level, methods, int(min_studies))
    return SafetyTally(per_study=per_study, totals=totals, missing=missing_df, pooled=pooled,
                       level=float(level), events=terms, pooled_results=results)


def _totals(per_study, terms, level):
    rows = []
    by_term = dict(tuple(per_study.groupby("event", sort=False)))
    for term in terms:
        sub = by_term.get(term, per_study.iloc[:0])
        for role in ("active", "control", TOTAL):
            grp = sub if role == TOTAL else sub[sub["role"] == role]
            if grp.empty:
                continue
            events = float(grp["events"].sum())
            unknown = grp[grp["at_risk"].isna()]
            at_risk = float(grp["at_risk"].sum(min_count=1))
            if len(unknown):
                at_risk = float("nan")
                note = ("number at risk unknown for " + ", ".join(dict.fromkeys(unknown["study"]))
                        + ": proportion not computed")
                prop = lo = hi = float("nan")
            else:
                note = ""
                prop = events / at_risk if at_risk > 0 else float("nan")
                lo, hi = clopper_pearson(events, at_risk, level) if at_risk > 0 else (np.nan, np.nan)
            rows.append(dict(event=term, role=role, events=events, at_risk=at_risk,
                             studies=int(grp["study"].nunique()), proportion=prop, ci_lb=lo,
                             ci_ub=hi, note=note))
    return pd.DataFrame(rows, columns=TOTALS_COLUMNS)


_METHODS = {"MH_RD": ("MH", "RD"), "PETO_OR": ("Peto", "PETO")}


def _pooled(per_study, terms, level, methods, min_studies):
    rows, results = [], {}
    # term -> study -> role -> [events, at risk, any at risk unknown], in order of first row.
    arms_of: dict[str, dict[str, dict[str, list]]] = {}
    for term, study, role, ev, n in zip(per_study["event"], per_study["study"], per_study["role"],
                                        per_study["events"], per_study["at_risk"]):
        if role not in ("active", "control"):
            continue
        cell = arms_of.setdefault(term, {}).setdefault(study, {}).setdefault(role, [0.0, 0.0, False])
        cell[0] += ev
        if np.isnan(n):
            cell[2] = True
        else:
            cell[1] += n
    for term in terms:
        tables, labels = [], []
        for study, by_role in arms_of.get(term, {}).items():
            # Arms sharing a role (two active doses, say) are combined into one group.
            if all(r in by_role and not by_role[r][2] for r in ("active", "control")):
                (a, n1, _), (c, n2, _) = by_role["active"], by_role["control"]
                tables.append((a, n1 - a, c, n2 - c))
                labels.append(study)
        base = dict(event=term, k=len(tables), studies=", ".join(labels))
        if len(tables) < min_studies:
            reason = (f"{len(tables)} stud{'y' if len(tables) == 1 else 'ies'} with counts and "
                      f"denominators in both an active and a control arm; pooling needs "
                      f"{min_studies} or more")
            for code in methods:
                method, measure = _METHODS[code]
                rows.append(dict(base, code=code, method=method, measure=measure, reason=reason))
            continue
        ai, bi, ci, di = (np.array(x, dtype=float) for x in zip(*tables))
        for code in methods:
            method, measure = _METHODS[code]
            base["code"] = code
            try:
                res = (mantel_haenszel(ai, bi, ci, di, measure="RD", level=level, labels=labels)
                       if method == "MH" else peto(ai, bi, ci, di, level=level, labels=labels))
            except StatsError as exc:
                rows.append(dict(base, method=method, measure=measure, reason=str(exc)))
                continue
            results[(term, measure)] = res
            row = dict(base, method=method, measure=measure, estimate=res.estimate, se=res.se,
                       ci_lb=res.ci_lb, ci_ub=res.ci_ub, zval=res.zval, pval=res.pval, q=res.q,
                       q_pval=res.q_pval, i2=res.i2, reason="")
            if measure == "PETO":
                row.update(zip(("exp_estimate", "exp_ci_lb", "exp_ci_ub"), res.back_transformed()))
            rows.append(row)
    return pd.DataFrame(rows, columns=POOLED_COLUMNS), results
