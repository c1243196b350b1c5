"""Every analysis of the review, from the sheets and the pre-specified plan.

For each outcome of `analysis_plan.yml`: which included studies give data the plan accepts,
their effect sizes (`effects.escalc`), and the pooled result (`pooling.rma`) when enough
studies contribute. Each study's part in each outcome is recorded with the reason when it
does not contribute, so the review can say why an outcome could not be pooled. Nothing
here draws or formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..data.cells import is_blank as _blank, text as _t
from ..stats.binary import mantel_haenszel, peto
from ..stats.effects import escalc, from_contrast
from ..errors import InputError, StatsError
from ..data.plan import AnalysisPlan, OutcomePlan
from ..stats.pooling import PoolResult, rma
from ..stats.subgroups import metareg
from ..stats.safety import SafetyTally, tally

# Why a study does not contribute to an outcome (the `reason` column of `availability`).
NOT_IDENTIFIED = "study not identified"
NOT_REPORTED = "not reported"
NO_CONTROL = "single arm/no control"
P_ONLY = "only p-values or F statistics"
NARRATIVE = "narrative only"
PERCENT = "percent change on a different metric"
TIMEPOINT = "different time point"
INCOMPLETE = "incomplete arm data"

POOLED, SINGLE, TOO_FEW, NO_DATA, FAILED = (
    "pooled", "single study", "too few studies", "no usable data", "not pooled")

# ai, ci: events in the active and control arms (2x2 tables), metafor's names.
EFFECT_COLUMNS = ["study", "label", "year", "code", "timepoint", "timepoint_class", "form",
                  "m1", "sd1", "n1", "m2", "sd2", "n2", "ai", "ci", "yi", "vi", "se", "ci_lb", "ci_ub",
                  "weight", "note"]
# Outcome columns that a review's schema may leave out; absent, they are empty.
OPTIONAL_OUTCOME_COLUMNS = ("mean", "sd", "n", "events", "contrast_measure", "contrast", "ci_lb",
                            "ci_ub", "se")
AVAILABILITY_COLUMNS = ["study", "label", "outcome", "outcome_label", "exploratory",
                        "contributes", "reason", "detail", "timepoint", "form"]
SUBGROUP_COLUMNS = ["by", "group", "k", "studies", "estimate", "ci_lb", "ci_ub", "status"]
SUBGROUP_TEST_COLUMNS = ["by", "groups", "q", "df", "pval"]
# One row per planned meta-regression: the moderator's coefficient, QM, residual tau^2, R^2.
METAREG_COLUMNS = ["by", "k", "studies", "intercept", "slope", "slope_se", "slope_ci_lb",
                   "slope_ci_ub", "slope_pval", "qm", "qm_df", "qm_pval", "tau2", "i2", "r2", "status"]


@dataclass
class OutcomeAnalysis:
    outcome: str
    label: str
    measure: str
    exploratory: bool
    rationale: str
    k: int
    studies: tuple[str, ...]
    participants: int
    result: PoolResult | None
    effects: pd.DataFrame
    higher_is_better: bool
    status: str
    reason: str
    level: float
    subgroups: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SUBGROUP_COLUMNS))
    pooling: str = "inverse_variance"
    log_scale: bool = False  # yi, estimate and limits are log ratios; report exp() of them
    subgroup_tests: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SUBGROUP_TEST_COLUMNS))
    metaregression: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=METAREG_COLUMNS))
    # participants per arm summed over the studies (n1, n2), None where a study's is unknown;
    # the forest plot's Total row shows them
    arm_totals: dict = field(default_factory=dict)


@dataclass
class Synthesis:
    plan: AnalysisPlan
    analyses: list[OutcomeAnalysis]
    availability: pd.DataFrame
    safety: SafetyTally
    labels: dict = field(default_factory=dict)      # study key -> label, every study in the sheet
    arm_labels: dict = field(default_factory=dict)  # (study, arm) -> arm label
    attrs: dict = field(default_factory=dict)       # included study key -> its studies.csv row

    def analysis(self, outcome_id: str) -> OutcomeAnalysis:
        for a in self.analyses:
            if a.outcome == outcome_id:
                return a
        raise KeyError(outcome_id)


# --- cell helpers: sheets come typed (pd.NA) or as plain CSV text --------------------------



def _f(x) -> float:
    if _blank(x):
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        raise InputError(f"expected a number, got {x!r}") from None


def _need(sheets, name, columns):
    if name not in sheets:
        raise InputError(f"{name}.csv: sheet missing")
    lacking = [c for c in columns if c not in sheets[name].columns]
    if lacking:
        raise InputError(f"{name}.csv: missing column(s) {', '.join(lacking)}")
    return sheets[name]


def study_order(studies: pd.DataFrame) -> pd.DataFrame:
    """Included studies, by year then key; slots without a year come last."""
    inc = studies[studies["included"].map(_t) != "no"] if "included" in studies else studies
    keyed = inc.assign(_y=[_f(v) if not _blank(v) else math.inf for v in inc["year"]],
                       _k=[_t(v) for v in inc["study"]])
    return keyed.sort_values(["_y", "_k"], kind="stable").drop(columns=["_y", "_k"])


# --- one study, one outcome -------------------------------------------------------------

def _combine(groups):
    """One group from several (Cochrane Handbook 6.5.2.10): (mean, sd, n)."""
    n1, m1, s1 = groups[0][2], groups[0][0], groups[0][1]
    for m2, s2, n2 in groups[1:]:
        n = n1 + n2
        m = (n1 * m1 + n2 * m2) / n
        s = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2
                       + n1 * n2 / n * (m1**2 + m2**2 - 2 * m1 * m2)) / (n - 1))
        m1, s1, n1 = m, s, n
    return m1, s1, n1


def _arm_complete(r) -> bool:
    return all(not math.isnan(_f(r[c])) for c in ("mean", "sd", "n")) and _f(r["n"]) > 0


def _events_complete(r) -> bool:
    e, n = _f(r["events"]), _f(r["n"])
    return not (math.isnan(e) or math.isnan(n)) and n > 0


def _contrast_complete(r, measure) -> bool:
    if _t(r["contrast_measure"]) != measure or math.isnan(_f(r["contrast"])):
        return False
    return not math.isnan(_f(r["se"])) or not (math.isnan(_f(r["ci_lb"])) or math.isnan(_f(r["ci_ub"])))


def _study_effect(study, rows, roles, plan: AnalysisPlan, op: OutcomePlan, arm_n=None):
    """(record or None, reason, detail) for one study and one planned outcome.

    `rows` are the study's outcome rows for the outcome's codes, as dicts (sheet order).
    """
    actives = [a for a, r in roles.items() if r == "active"]
    controls = [a for a, r in roles.items() if r == "control"]
    if not controls or not actives:
        return None, NO_CONTROL, "no control arm" if actives else "no active arm"
    if len(actives) > 1 and plan.multi_arm == "exclude":
        return None, NO_CONTROL, "several active arms; the plan excludes multi-arm trials"

    forms = [_t(r["form"]) for r in rows]
    accepted = [r for r, f in zip(rows, forms) if f in op.data_forms]
    groups: dict[tuple[str, str], list] = {}
    for r in accepted:
        groups.setdefault((_t(r["timepoint"]), _t(r["form"])), []).append(r)
    usable = []  # (timepoint, form, kind, payload)
    for tp, form in sorted(groups):
        grp = groups[(tp, form)]
        if form == "contrast":
            for r in grp:
                if _contrast_complete(r, op.measure):
                    usable.append((tp, form, "contrast", r))
            continue
        if form == "events":
            by_arm = {_t(r["arm"]): r for r in grp if _events_complete(r)}
            act = [(_f(by_arm[a]["events"]), _f(by_arm[a]["n"])) for a in actives if a in by_arm]
            con = [(_f(by_arm[a]["events"]), _f(by_arm[a]["n"])) for a in controls if a in by_arm]
            if act and con:
                usable.append((tp, form, "counts", (act, con)))
            continue
        by_arm = {_t(r["arm"]): r for r in grp if _arm_complete(r)}
        act = [(_f(by_arm[a]["mean"]), _f(by_arm[a]["sd"]), _f(by_arm[a]["n"])) for a in actives if a in by_arm]
        con = [(_f(by_arm[a]["mean"]), _f(by_arm[a]["sd"]), _f(by_arm[a]["n"])) for a in controls if a in by_arm]
        if act and con:
            usable.append((tp, form, "arms", (act, con)))

    if not usable:
        present = set(forms)
        if not accepted:
            if "percent_change" in present:
                return None, PERCENT, "percent change from baseline, not on the scale's units"
            if "p_value_only" in present:
                return None, P_ONLY, "only p-values or test statistics, no means"
            if "narrative" in present:
                return None, NARRATIVE, "described in words, no numbers"
            return None, NOT_REPORTED, "no accepted data form (" + ", ".join(sorted(present)) + ")"
        has_means = any(not math.isnan(_f(r["mean"])) for r in accepted)
        has_numbers = has_means or any(not math.isnan(_f(r[c])) for r in accepted for c in ("contrast", "events"))
        other = {_t(r["contrast_measure"]) for r in accepted} - {"", op.measure}
        if other and not has_means:
            return None, INCOMPLETE, (f"contrast given as {', '.join(sorted(other))}; "
                                      f"the plan needs {op.measure}")
        if has_numbers and op.binary:
            return None, INCOMPLETE, "events without n, or data for one arm only"
        if has_numbers:
            return None, INCOMPLETE, "means without SD or n, or data for one arm only"
        return None, NOT_REPORTED, "measured, but the values were not found"

    classed = [(plan.classify_timepoint(study, tp), tp, form, kind, payload)
               for tp, form, kind, payload in usable]
    chosen = [c for c in classed if c[0] == op.timepoint.prefer]
    note = ""
    if not chosen and op.timepoint.fallback == "earliest_follow_up":
        follow = sorted((c for c in classed if c[0] == "follow_up"), key=lambda c: c[1])
        chosen = follow[:1]
        note = f"follow-up value: no {op.timepoint.prefer.replace('_', '-')} value reported"
    if not chosen:
        labels = ", ".join(sorted({c[1] + (f" ({c[0]})" if c[0] else " (not classified in the plan)")
                                   for c in classed}))
        return None, TIMEPOINT, f"data only at {labels}"
    # Within the chosen time point, the plan's order of forms decides (change before post).
    chosen.sort(key=lambda c: (op.data_forms.index(c[2]), c[3] == "contrast"))
    cls, tp, form, kind, payload = chosen[0]
    rec = dict(study=study, timepoint=tp, timepoint_class=cls, form=form, note=note,
               ai=math.nan, ci=math.nan)
    if kind == "counts":
        act, con = payload
        for arms_, what in ((act, "active"), (con, "control")):
            if len(arms_) > 1:
                rec["note"] = "; ".join(filter(None, [rec["note"], f"{len(arms_)} {what} arms combined"]))
        # several arms of one kind are one group: their events and participants add up
        rec.update(ai=sum(e for e, _ in act), n1=sum(n for _, n in act),
                   ci=sum(e for e, _ in con), n2=sum(n for _, n in con),
                   m1=math.nan, sd1=math.nan, m2=math.nan, sd2=math.nan, kind="counts")
    elif kind == "arms":
        act, con = payload
        if len(act) > 1:
            rec["note"] = "; ".join(filter(None, [note, f"{len(act)} active arms combined"]))
        if len(con) > 1:
            rec["note"] = "; ".join(filter(None, [rec["note"], f"{len(con)} control arms combined"]))
        rec.update(zip(("m1", "sd1", "n1"), _combine(act)))
        rec.update(zip(("m2", "sd2", "n2"), _combine(con)))
        rec["kind"] = "arms"
    else:
        r = payload
        se = _f(r["se"])
        # a ratio is given as a ratio with its limits; its SE (when given) is the log ratio's
        yi, vi = from_contrast(_f(r["contrast"]), ci_lb=_f(r["ci_lb"]), ci_ub=_f(r["ci_ub"]),
                               se=None if math.isnan(se) else se, level=op.level,
                               log_scale=op.log_scale)
        arm_n = arm_n or {}
        # A contrast row has no arm means; the arms' sizes still count the participants.
        n1 = sum(arm_n.get(a, math.nan) for a in actives)
        n2 = sum(arm_n.get(a, math.nan) for a in controls)
        rec.update(yi=float(yi), vi=float(vi), kind="contrast",
                   m1=math.nan, sd1=math.nan, n1=n1, m2=math.nan, sd2=math.nan, n2=n2)
    return rec, "", ""


def _check_direction(op: OutcomePlan, study: str, rows: list) -> None:
    """The plan and the sheet must agree on which direction is better."""
    want = "yes" if op.higher_is_better else "no"
    for r in rows:
        got = _t(r.get("higher_is_better"))
        if got and got != want:
            raise InputError(
                f"analysis_plan.yml: outcome {op.id} has higher_is_better: "
                f"{str(op.higher_is_better).lower()}, but outcomes.csv gives "
                f"higher_is_better={got} for {study}")


def _effects_frame(records, op: OutcomePlan, labels, years, codes_by_study) -> pd.DataFrame:
    if not records:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    df = pd.DataFrame(records)
    for c in ("ai", "ci"):
        if c not in df:
            df[c] = math.nan
    counts = df["kind"] == "counts"
    if counts.any():
        es = escalc(op.measure, ai=df.loc[counts, "ai"], n1i=df.loc[counts, "n1"],
                    ci=df.loc[counts, "ci"], n2i=df.loc[counts, "n2"],
                    labels=list(df.loc[counts, "study"]), **op.continuity.kwargs())
        df.loc[counts, "yi"] = es.yi
        df.loc[counts, "vi"] = es.vi
    arms = df["kind"] == "arms"
    if arms.any():
        es = escalc(op.measure, m1i=df.loc[arms, "m1"], sd1i=df.loc[arms, "sd1"],
                    n1i=df.loc[arms, "n1"], m2i=df.loc[arms, "m2"], sd2i=df.loc[arms, "sd2"],
                    n2i=df.loc[arms, "n2"], labels=list(df.loc[arms, "study"]))
        df.loc[arms, "yi"] = es.yi
        df.loc[arms, "vi"] = es.vi
    z = stats.norm.isf((1 - op.level / 100) / 2)
    df["yi"] = df["yi"].astype(float)
    df["vi"] = df["vi"].astype(float)
    df["se"] = np.sqrt(df["vi"])
    df["ci_lb"] = df["yi"] - z * df["se"]
    df["ci_ub"] = df["yi"] + z * df["se"]
    df["label"] = [labels[s] for s in df["study"]]
    df["year"] = [years[s] for s in df["study"]]
    df["code"] = [codes_by_study[s] for s in df["study"]]
    df["weight"] = math.nan
    return df[EFFECT_COLUMNS].reset_index(drop=True)


def _as_pool(b, measure: str) -> PoolResult:
    """A Mantel-Haenszel or Peto result in PoolResult's fields: a common-effect model, so no
    tau^2 and no prediction interval (metafor's rma.mh and rma.peto report neither)."""
    nan = math.nan
    return PoolResult(
        measure=measure, method=b.method, k=b.k, level=b.level, test="z", estimate=b.estimate,
        se=b.se, ci_lb=b.ci_lb, ci_ub=b.ci_ub, zval=b.zval, tval=nan, df=nan, pval=b.pval,
        tau2=nan, tau2_ci_lb=nan, tau2_ci_ub=nan, tau=nan, i2=b.i2, h2=b.h2, i2_ci_lb=nan,
        i2_ci_ub=nan, q=b.q, q_df=b.q_df, q_pval=b.q_pval, pi_lb=nan, pi_ub=nan,
        yi=b.yi, vi=b.vi, weights=b.weights, labels=tuple(b.labels))


def pool(op: OutcomePlan, effects: pd.DataFrame) -> PoolResult:
    """The studies of `effects` pooled as the plan says (inverse variance, MH or Peto)."""
    labels = list(effects["label"])
    if op.pooling == "inverse_variance":
        return rma(effects["yi"].to_numpy(float), effects["vi"].to_numpy(float),
                   method=op.estimator, hk=op.hartung_knapp, level=op.level, labels=labels,
                   measure=op.measure, tau2_convergence=op.tau2_convergence)
    ai, ci = effects["ai"].to_numpy(float), effects["ci"].to_numpy(float)
    bi, di = effects["n1"].to_numpy(float) - ai, effects["n2"].to_numpy(float) - ci
    kw = op.continuity.kwargs()
    if op.pooling == "mantel_haenszel":
        b = mantel_haenszel(ai, bi, ci, di, measure=op.measure, level=op.level, labels=labels, **kw)
    else:
        b = peto(ai, bi, ci, di, level=op.level, labels=labels, **kw)
    return _as_pool(b, op.measure)


def _study_values(attrs: dict, column: str, keys) -> list:
    """One studies.csv column's values for the given study keys (None where empty or absent)."""
    values = [attrs[k].get(column) if k in attrs else None for k in keys]
    return [None if _blank(v) else v for v in values]


def _subgroups(op: OutcomePlan, plan: AnalysisPlan, effects: pd.DataFrame, studies: dict):
    rows, tests = [], []
    for sg in plan.subgroups:
        groups: dict[str, list[int]] = {}
        for i, v in enumerate(_study_values(studies, sg.by, effects["study"])):
            groups.setdefault(_t(v) or "not reported", []).append(i)
        big = {g: v for g, v in groups.items() if len(v) >= sg.min_per_group and g != "not reported"}
        feasible = len(big) >= 2
        pooled = {}
        for g in sorted(groups):
            members = effects.iloc[groups[g]]
            row = dict(by=sg.by, group=g, k=len(members), studies=", ".join(members["label"]),
                       estimate=math.nan, ci_lb=math.nan, ci_ub=math.nan)
            if feasible and g in big:
                try:
                    res = pool(op, members)
                    pooled[g] = res
                    row.update(estimate=res.estimate, ci_lb=res.ci_lb, ci_ub=res.ci_ub, status=POOLED)
                except StatsError as exc:
                    row["status"] = f"not pooled: {exc}"
            elif feasible:
                row["status"] = f"fewer than {sg.min_per_group} studies in the group"
            else:
                row["status"] = (f"not run: needs {sg.min_per_group} or more studies in each of "
                                 "two or more groups")
            rows.append(row)
        if len(pooled) >= 2:
            # the test for subgroup differences: fixed-effect Q across the subgroup estimates,
            # metafor's rma(estimates, sei = ses, method = "FE")$QE (as stats.subgroups)
            est = [r.estimate for r in pooled.values()]
            var = [r.se ** 2 for r in pooled.values()]
            q = rma(est, var, method="FE", labels=list(pooled))
            tests.append(dict(by=sg.by, groups=len(pooled), q=q.q, df=q.q_df, pval=q.q_pval))
    return (pd.DataFrame(rows, columns=SUBGROUP_COLUMNS),
            pd.DataFrame(tests, columns=SUBGROUP_TEST_COLUMNS))


def _metaregressions(op: OutcomePlan, plan: AnalysisPlan, effects: pd.DataFrame,
                     studies: dict) -> pd.DataFrame:
    rows = []
    for m in plan.meta_regression:
        values = [_f(v) for v in _study_values(studies, m.by, effects["study"])]
        keep = [i for i, v in enumerate(values) if not math.isnan(v)]
        row = dict(by=m.by, k=len(keep), studies=", ".join(effects["label"].iloc[keep]))
        if op.pooling != "inverse_variance":
            row["status"] = "not run: a meta-regression needs inverse-variance pooling"
        elif len(keep) < m.min_studies:
            row["status"] = f"not run: {len(keep)} studies report {m.by}; the plan needs {m.min_studies}"
        else:
            sub = effects.iloc[keep]
            try:
                r = metareg(sub["yi"].to_numpy(float), sub["vi"].to_numpy(float),
                            np.array([values[i] for i in keep]), method=op.estimator,
                            hk=op.hartung_knapp, level=op.level, tau2_convergence=op.tau2_convergence)
                row.update(intercept=r.coef[0], slope=r.coef[1], slope_se=r.se[1],
                           slope_ci_lb=r.ci_lb[1], slope_ci_ub=r.ci_ub[1], slope_pval=r.pval[1],
                           qm=r.qm, qm_df=r.qm_df, qm_pval=r.qm_pval, tau2=r.tau2, i2=r.i2,
                           r2=r.r2, status=POOLED)
            except StatsError as exc:
                row["status"] = f"not run: {exc}"
        rows.append(row)
    return pd.DataFrame(rows, columns=METAREG_COLUMNS)


@dataclass
class _Sheets:
    """The sheets read once into plain rows, indexed by study (the synthesis's only pass over them)."""
    studies: list          # included studies in review order, dicts with "_key"
    attrs: dict            # study key -> its row
    outcomes: dict         # study key -> its outcome rows (dicts with "_code"), sheet order
    roles: dict            # study key -> {arm: role}
    arm_n: dict            # study key -> {arm: analysed, else randomised n}


def _read(studies: pd.DataFrame, arms: pd.DataFrame, outcomes: pd.DataFrame) -> _Sheets:
    srows = studies.to_dict("records")
    for r in srows:
        r["_key"] = _t(r["study"])
    by_study: dict[str, list] = {}
    for r in outcomes.to_dict("records"):
        r["_code"] = _t(r["outcome"])
        by_study.setdefault(_t(r["study"]), []).append(r)
    roles: dict[str, dict] = {}
    arm_n: dict[str, dict] = {}
    for a in arms.to_dict("records"):
        key, arm = _t(a["study"]), _t(a["arm"])
        roles.setdefault(key, {})[arm] = _t(a["role"])
        n = _f(a.get("n_analysed"))
        arm_n.setdefault(key, {})[arm] = n if not math.isnan(n) else _f(a.get("n_randomised"))
    return _Sheets(studies=srows, attrs={r["_key"]: r for r in srows}, outcomes=by_study,
                   roles=roles, arm_n=arm_n)


def _analyse_outcome(op: OutcomePlan, plan, sheets: _Sheets, avail_rows):
    records = []
    labels, years, codes_by_study = {}, {}, {}
    codes = set(op.codes)
    mine = {}  # study key -> its availability row for this outcome
    for s in sheets.studies:
        key = s["_key"]
        labels[key] = _t(s["label"]) or key
        years[key] = _f(s["year"])
        base = dict(study=key, label=labels[key], outcome=op.id, outcome_label=op.label,
                    exploratory=op.exploratory, timepoint="", form="")
        if _t(s.get("identified", "yes")) == "no":
            avail_rows.append(dict(base, contributes="no", reason=NOT_IDENTIFIED,
                                   detail="the publication behind this slot of the review's count is not known"))
            continue
        rows = [r for r in sheets.outcomes.get(key, ()) if r["_code"] in codes]
        if not rows:
            measured = set(_t(s.get("outcomes_measured", "")).replace(" ", "").split(";"))
            detail = ("measured, but no values in the sources read" if measured & codes
                      else "not measured or not found")
            avail_rows.append(dict(base, contributes="no", reason=NOT_REPORTED, detail=detail))
            continue
        _check_direction(op, key, rows)
        rec, reason, detail = _study_effect(key, rows, sheets.roles.get(key, {}), plan, op,
                                            sheets.arm_n.get(key, {}))
        if rec is None:
            avail_rows.append(dict(base, contributes="no", reason=reason, detail=detail))
            continue
        codes_by_study[key] = "; ".join(sorted({r["_code"] for r in rows}))
        records.append(rec)
        mine[key] = dict(base, contributes="yes", reason="", detail=rec["note"],
                         timepoint=rec["timepoint"], form=rec["form"])
        avail_rows.append(mine[key])

    effects = _effects_frame(records, op, labels, years, codes_by_study)
    if op.pooling == "inverse_variance" and len(effects):
        # a 2x2 table left with a zero cell (no continuity correction) has no finite effect
        bad = ~np.isfinite(effects["yi"].to_numpy(float))
        for key in effects.loc[bad, "study"]:
            mine[key].update(contributes="no", reason=INCOMPLETE,
                             detail="a zero cell without continuity correction: no finite effect")
        effects = effects[~bad].reset_index(drop=True)
    k = len(effects)
    participants = int(np.nansum(effects["n1"].astype(float)) + np.nansum(effects["n2"].astype(float))) if k else 0
    arm_totals = {c: (int(effects[c].astype(float).sum()) if effects[c].notna().all() else None) for c in ("n1", "n2")} if k else {}
    studies_used = tuple(effects["study"])
    result, status, reason = None, NO_DATA, ""
    if k == 0:
        reason = "no included study gives data the plan accepts"
    elif k < op.min_studies:
        status = SINGLE if k == 1 else TOO_FEW
        names = ", ".join(effects["label"])
        reason = (f"only {names} gives usable data; pooling needs {op.min_studies} or more studies"
                  if k == 1 else f"{k} studies ({names}); the plan pools {op.min_studies} or more")
        effects["weight"] = 100.0 if k == 1 else math.nan
    else:
        try:
            result = pool(op, effects)
            status = POOLED
            effects["weight"] = np.asarray(result.weights, dtype=float)
            if op.pooling != "inverse_variance":
                # the study effects shown are the method's own (rma.mh's zero-cell rule)
                effects["yi"], effects["vi"] = np.asarray(result.yi, float), np.asarray(result.vi, float)
                z = stats.norm.isf((1 - op.level / 100) / 2)
                effects["se"] = np.sqrt(effects["vi"])
                effects["ci_lb"] = effects["yi"] - z * effects["se"]
                effects["ci_ub"] = effects["yi"] + z * effects["se"]
        except StatsError as exc:
            status, reason = FAILED, str(exc)
    sub, tests = ((_subgroups(op, plan, effects, sheets.attrs)) if status == POOLED
                  else (pd.DataFrame(columns=SUBGROUP_COLUMNS), pd.DataFrame(columns=SUBGROUP_TEST_COLUMNS)))
    mr = (_metaregressions(op, plan, effects, sheets.attrs) if status == POOLED
          else pd.DataFrame(columns=METAREG_COLUMNS))
    return OutcomeAnalysis(
        outcome=op.id, label=op.label, measure=op.measure, exploratory=op.exploratory,
        rationale=op.rationale, k=k, studies=studies_used, participants=participants,
        result=result, effects=effects, higher_is_better=op.higher_is_better, status=status,
        reason=reason, level=op.level, subgroups=sub, pooling=op.pooling, log_scale=op.log_scale,
        subgroup_tests=tests, metaregression=mr, arm_totals=arm_totals)


def synthesise(sheets: dict, plan: AnalysisPlan) -> Synthesis:
    """Every planned outcome analysed, study availability, and the safety tally."""
    studies = study_order(_need(sheets, "studies", ("study", "label", "year")))
    arms = _need(sheets, "arms", ("study", "arm", "role"))
    outcomes = _need(sheets, "outcomes", ("study", "arm", "outcome", "timepoint", "form"))
    lacking = [c for c in OPTIONAL_OUTCOME_COLUMNS if c not in outcomes.columns]
    if lacking:
        outcomes = outcomes.assign(**{c: pd.NA for c in lacking})
    read = _read(studies, arms, outcomes)
    avail_rows: list[dict] = []
    analyses = [_analyse_outcome(op, plan, read, avail_rows) for op in plan.outcomes]
    availability = pd.DataFrame(avail_rows, columns=AVAILABILITY_COLUMNS)
    order = {o.id: i for i, o in enumerate(plan.outcomes)}
    sorder = {r["_key"]: i for i, r in enumerate(read.studies)}
    availability = availability.sort_values(
        ["outcome", "study"], key=lambda c: c.map(order) if c.name == "outcome" else c.map(sorder),
        kind="stable").reset_index(drop=True)

    ae = _need(sheets, "adverse_events", ("study", "arm", "event", "events", "at_risk", "status"))
    if plan.safety.studies == "included":
        keep = set(sorder)
        ae = ae[ae["study"].map(_t).isin(keep)]
    safety = tally(ae, arms, level=plan.safety.level, methods=plan.safety.methods,
                   min_studies=plan.safety.min_studies)
    all_studies = sheets["studies"]
    labels = {_t(k): _t(v) or _t(k) for k, v in zip(all_studies["study"], all_studies["label"])}
    arm_labels = {(_t(s), _t(a)): _t(lab) or _t(a) for s, a, lab in
                  zip(arms["study"], arms["arm"], arms["label"] if "label" in arms else arms["arm"])}
    return Synthesis(plan=plan, analyses=analyses, availability=availability, safety=safety,
                     labels=labels, arm_labels=arm_labels, attrs=read.attrs)
