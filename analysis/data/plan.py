"""The pre-specified analysis plan, `analysis_plan.yml`, read and checked.

The plan is data: which outcomes are pooled, with which effect measure, from which
data forms and time points, with which estimator and interval, and which analyses are
only exploratory. `load_plan(root)` refuses anything it does not understand (an unknown
key or value is an InputError naming its path in the file), so a typo cannot silently
change an analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import InputError

PLAN_FILE = "analysis_plan.yml"

CONTINUOUS = ("MD", "SMD")
BINARY = ("RR", "OR", "RD")
MEASURES = (*CONTINUOUS, *BINARY, "GEN")
RATIO_MEASURES = ("RR", "OR")  # pooled on the log scale, reported as ratios
FORMS = ("change", "post", "contrast", "percent_change", "events")
# Which data forms each kind of measure can be computed from.
FORMS_FOR = {**{m: ("change", "post", "contrast", "percent_change") for m in CONTINUOUS},
             **{m: ("events", "contrast") for m in BINARY}, "GEN": ("contrast",)}
TIMEPOINT_CLASSES = ("end_of_treatment", "follow_up", "during_treatment", "baseline")
PREFERRED_TIMEPOINTS = ("end_of_treatment", "follow_up", "during_treatment")
FALLBACKS = ("earliest_follow_up", "none")
ESTIMATORS = ("REML", "ML", "DL", "HE", "FE")
# ML/REML tau^2: metafor's Fisher-scoring stopping point (default) or the true optimum
TAU2_CONVERGENCE = ("metafor", "optimum")
# Inverse-variance pooling of the studies' effects (`estimator` decides random or fixed
# effect), or the 2x2-table methods: Mantel-Haenszel (RR, OR, RD) and Peto (OR).
POOLING = ("inverse_variance", "mantel_haenszel", "peto")
CONTINUITY_TO = ("only0", "all", "if0all", "none")
MULTI_ARM = ("combine_active", "exclude")
SAFETY_METHODS = ("MH_RD", "PETO_OR")
SAFETY_STUDIES = ("included", "all_in_sheet")

FORM_WORDS = {
    "change": "change from baseline",
    "post": "value after treatment",
    "contrast": "between-arm contrast with its SE or CI",
    "percent_change": "percent change from baseline",
    "events": "events and participants per arm (2x2 table)",
}
POOLING_WORDS = {"inverse_variance": "inverse variance", "mantel_haenszel": "Mantel-Haenszel",
                 "peto": "Peto"}
TIMEPOINT_WORDS = {"end_of_treatment": "the end of treatment", "follow_up": "follow-up",
                   "during_treatment": "during treatment"}


@dataclass(frozen=True)
class TimepointRule:
    prefer: str
    fallback: str


@dataclass(frozen=True)
class SubgroupPlan:
    by: str
    min_per_group: int
    label: str


@dataclass(frozen=True)
class MetaRegressionPlan:
    by: str            # a numeric column of studies.csv
    label: str
    min_studies: int   # studies with a value needed to fit it


@dataclass(frozen=True)
class Continuity:
    """Zero-cell rule for 2x2 tables; None fields mean metafor's default for the method."""
    add: float | None = None
    to: str | None = None
    drop00: bool | None = None

    def kwargs(self) -> dict:
        return {k: v for k, v in (("add", self.add), ("to", self.to), ("drop00", self.drop00))
                if v is not None}


@dataclass(frozen=True)
class OutcomePlan:
    id: str
    label: str
    codes: tuple[str, ...]
    measure: str
    data_forms: tuple[str, ...]
    higher_is_better: bool
    timepoint: TimepointRule
    estimator: str
    hartung_knapp: bool
    level: float
    min_studies: int
    exploratory: bool
    rationale: str
    pooling: str = "inverse_variance"
    continuity: Continuity = field(default_factory=Continuity)
    tau2_convergence: str = "metafor"

    @property
    def binary(self) -> bool:
        return self.measure in BINARY

    @property
    def log_scale(self) -> bool:
        """Pooled on the log scale and reported as a ratio (RR, OR)."""
        return self.measure in RATIO_MEASURES


@dataclass(frozen=True)
class SafetyPlan:
    events: str
    studies: str
    methods: tuple[str, ...]
    min_studies: int
    level: float
    rule: str


@dataclass(frozen=True)
class SensitivityPlan:
    """When the review draws the sensitivity analyses of a pooled (inverse-variance) outcome:
    leave-one-out and cumulative pooling from `leave_one_out` and `cumulative` studies (with
    two, leaving one out leaves a single study, which says nothing new), cumulative pooling in
    order of `cumulative_order` (a numeric studies.csv column), and the funnel plot, Egger's
    test and trim-and-fill from `small_study_effects` studies (below ten they have too little
    power to mean anything)."""
    leave_one_out: int = 3
    cumulative: int = 3
    cumulative_order: str = "year"
    small_study_effects: int = 10


@dataclass(frozen=True)
class AnalysisPlan:
    version: int
    title: str
    multi_arm: str
    outcomes: tuple[OutcomePlan, ...]
    subgroups: tuple[SubgroupPlan, ...]
    safety: SafetyPlan
    timepoint_labels: dict = field(default_factory=dict)  # study or "any_study" -> label -> class
    meta_regression: tuple[MetaRegressionPlan, ...] = ()
    # columns of studies.csv shown in the characteristics table, in order (empty: the table's default)
    characteristics: tuple[str, ...] = ()
    # columns of studies.csv whose values are counted among the included studies (the numbers'
    # studies.by_COLUMN.VALUE); default: its columns with allowed values (an enum)
    counts: tuple[str, ...] = ()
    sensitivity: SensitivityPlan = field(default_factory=SensitivityPlan)
    # a table with one row per study (or per study and arm) longer than this is printed in the
    # appendix instead of the body, where a thousand rows would bury the results
    study_tables_max_rows: int = 60

    def outcome(self, outcome_id: str) -> OutcomePlan:
        for o in self.outcomes:
            if o.id == outcome_id:
                return o
        raise KeyError(outcome_id)

    def classify_timepoint(self, study: str, label) -> str | None:
        """The class (end_of_treatment, follow_up, ...) of a study's time-point label, or None."""
        label = "" if label is None else str(label).strip()
        own = self.timepoint_labels.get(study, {})
        if label in own:
            return own[label]
        return self.timepoint_labels.get("any_study", {}).get(label)

    def to_markdown(self) -> str:
        """The plan as the methods section states it: prose bullets and one line per outcome."""
        d = self.outcomes[0] if self.outcomes else None
        lines = ["**Pre-specified analysis plan** (`analysis_plan.yml`).", ""]
        if d is not None:
            hk = "with" if d.hartung_knapp else "without"
            prefer = TIMEPOINT_WORDS[d.timepoint.prefer]
            model = ("Fixed-effect (inverse-variance) model" if d.estimator == "FE" else
                     f"Random-effects model, {d.estimator} estimate of the between-study variance")
            lines += [
                f"- {model}, "
                f"{hk} the Hartung-Knapp adjustment; {d.level:g}% confidence and prediction intervals."
                + (" The between-study variance is the maximum of the likelihood, not the point where "
                   "metafor's Fisher scoring stops (its steps stop once they change it by less than 1e-5)."
                   if d.tau2_convergence == "optimum" and d.estimator in ("ML", "REML") else ""),
                f"- An outcome is pooled when at least {d.min_studies} studies give usable data; "
                "otherwise the single study is shown alone or the outcome is reported as having no usable data.",
                f"- Time point: {prefer}; "
                + ("when a study reports the outcome only later, its earliest follow-up is used and flagged."
                   if d.timepoint.fallback == "earliest_follow_up"
                   else f"a study without a value at {prefer} does not contribute."),
            ]
        lines += [
            "- Multi-arm trials: " + ("the active arms are combined into one group against the control."
                                      if self.multi_arm == "combine_active"
                                      else "trials with more than one active arm do not contribute."),
        ]
        if any(o.measure in CONTINUOUS for o in self.outcomes):
            lines.append("- Percent change from baseline is not on the scale's units and is never mixed with "
                         "absolute change in a primary analysis.")
        if any(o.binary for o in self.outcomes):
            lines.append("- Binary outcomes: from each arm's events and participants (2x2 tables), zero "
                         "cells handled as metafor does unless the plan says otherwise; risk and odds "
                         "ratios are pooled on the log scale and reported as ratios.")
        for s in self.subgroups:
            lines.append(f"- Subgroups by {s.label}, run only with at least {s.min_per_group} "
                         "studies in each of two or more groups.")
        for m in self.meta_regression:
            lines.append(f"- Meta-regression on {m.label}, run when at least {m.min_studies} "
                         "pooled studies report it.")
        sens = self.sensitivity
        lines.append(f"- Sensitivity: for an outcome pooled by inverse variance, leave-one-out pooling "
                     f"when at least {sens.leave_one_out} studies contribute and cumulative pooling "
                     f"(studies added in order of {sens.cumulative_order}) when at least "
                     f"{sens.cumulative} do; the funnel plot, Egger's regression test and "
                     f"trim-and-fill when at least {sens.small_study_effects} do.")
        methods = " and ".join({"MH_RD": "Mantel-Haenszel risk difference",
                                "PETO_OR": "Peto odds ratio"}[m] for m in self.safety.methods)
        scope = ("the included studies" if self.safety.studies == "included"
                 else "every study in the adverse-event sheet, including trials cited only for safety")
        lines.append(f"- Safety: adverse events of {scope}, tallied per event term as recorded; {methods} "
                     f"when at least {self.safety.min_studies} studies report the event in both "
                     "arms with known denominators; exact (Clopper-Pearson) intervals for proportions.")
        lines += ["", "| Outcome | Measure | Data accepted | Direction | Analysis |",
                  "| --- | --- | --- | --- | --- |"]
        for o in self.outcomes:
            forms = ", ".join(FORM_WORDS[f] for f in o.data_forms)
            direction = "higher is better" if o.higher_is_better else "lower is better"
            kind = "exploratory: " + o.rationale if o.exploratory else "main analysis"
            measure = o.measure if o.pooling == "inverse_variance" else \
                f"{o.measure} ({POOLING_WORDS[o.pooling]})"
            cells = [o.label, measure, forms, direction, kind]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(lines) + "\n"


# --- validation -------------------------------------------------------------------------

def _fail(path: str, what: str):
    raise InputError(f"{PLAN_FILE}: {path}: {what}")


def _mapping(value, path, allowed, required=()):
    if not isinstance(value, dict):
        _fail(path, f"expected a mapping, got {type(value).__name__}")
    for key in value:
        if key not in allowed:
            _fail(f"{path}.{key}" if path else str(key),
                  f"unknown key; allowed: {', '.join(allowed)}")
    for key in required:
        if key not in value:
            _fail(f"{path}.{key}" if path else key, "missing")
    return value


def _choice(value, path, allowed):
    if value not in allowed:
        _fail(path, f"unknown value {value!r}; allowed: {', '.join(map(str, allowed))}")
    return value


def _bool(value, path):
    if not isinstance(value, bool):
        _fail(path, f"expected true or false, got {value!r}")
    return value


def _int(value, path, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(path, f"expected a whole number >= {minimum}, got {value!r}")
    return value


def _number(value, path, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        _fail(path, f"expected a number >= {minimum:g}, got {value!r}")
    return float(value)


def _level(value, path):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 50 <= value < 100:
        _fail(path, f"expected a confidence level between 50 and 100, got {value!r}")
    return float(value)


def _text(value, path):
    if not isinstance(value, str) or not value.strip():
        _fail(path, f"expected text, got {value!r}")
    return value.strip()


def _list(value, path, allowed=None):
    if not isinstance(value, list) or not value:
        _fail(path, f"expected a non-empty list, got {value!r}")
    out = []
    for i, v in enumerate(value):
        if allowed is not None:
            _choice(v, f"{path}[{i}]", allowed)
        else:
            _text(v, f"{path}[{i}]")
        out.append(str(v))
    if len(set(out)) != len(out):
        _fail(path, "has repeated entries")
    return tuple(out)


_REQUIRED_DEFAULTS = ("measure", "data_forms", "timepoint", "estimator", "hartung_knapp", "level",
                      "min_studies")
_ANALYSIS_KEYS = (*_REQUIRED_DEFAULTS, "pooling", "continuity", "tau2_convergence")
_OUTCOME_KEYS = ("id", "label", "codes", "higher_is_better", "exploratory", "rationale",
                 *_ANALYSIS_KEYS)


def _timepoint(value, path):
    _mapping(value, path, ("prefer", "fallback"), ("prefer", "fallback"))
    return TimepointRule(_choice(value["prefer"], f"{path}.prefer", PREFERRED_TIMEPOINTS),
                         _choice(value["fallback"], f"{path}.fallback", FALLBACKS))


def _continuity(value, path) -> Continuity:
    if value is None:
        return Continuity()
    _mapping(value, path, ("add", "to", "drop00"))
    return Continuity(
        add=_number(value["add"], f"{path}.add", 0) if "add" in value else None,
        to=_choice(value["to"], f"{path}.to", CONTINUITY_TO) if "to" in value else None,
        drop00=_bool(value["drop00"], f"{path}.drop00") if "drop00" in value else None)


def _outcome(raw, path, defaults) -> OutcomePlan:
    _mapping(raw, path, _OUTCOME_KEYS, ("id", "label", "codes", "higher_is_better"))
    merged = {**defaults, **raw}

    def at(key):  # a value inherited from the defaults is reported where it is written
        return f"{path}.{key}" if key in raw else f"defaults.{key}"

    oid = _text(raw["id"], f"{path}.id")
    measure = _choice(merged["measure"], at("measure"), MEASURES)
    forms = _list(merged["data_forms"], at("data_forms"), FORMS)
    exploratory = _bool(raw.get("exploratory", False), f"{path}.exploratory")
    rationale = raw.get("rationale", "")
    if exploratory:
        rationale = _text(rationale, f"{path}.rationale")
    if "percent_change" in forms and len(forms) > 1:
        # Percent change is on another metric: mixing it with absolute values is only
        # acceptable as a flagged, standardised, exploratory analysis.
        if not exploratory or measure != "SMD":
            _fail(at("data_forms"), "percent_change mixed with other forms needs "
                  "measure SMD and exploratory: true")
    if measure == "SMD" and {"change", "post"} <= set(forms) and not exploratory:
        # Change and final-value SDs differ, so standardising by them gives unlike units
        # (Cochrane Handbook 10.5.2).
        where = at("data_forms") if "data_forms" in raw or "measure" not in raw else at("measure")
        _fail(where, "an SMD must not mix change and post values unless exploratory: true")
    if "percent_change" in forms and measure == "MD" and not exploratory:
        _fail(at("data_forms"), "percent change is not on the scale's units; "
              "an MD from it must be exploratory")
    wrong = [f for f in forms if f not in FORMS_FOR[measure]]
    if wrong:
        # reported where the outcome departs from the defaults, so the fix is found there
        where = at("measure") if "measure" in raw and "data_forms" not in raw else at("data_forms")
        _fail(where, f"measure {measure} cannot be computed from {', '.join(wrong)}; "
              f"it needs {' or '.join(FORMS_FOR[measure])}")
    pooling = _choice(merged.get("pooling", "inverse_variance"), at("pooling"), POOLING)
    if pooling == "mantel_haenszel" and measure not in BINARY:
        _fail(at("pooling"), f"Mantel-Haenszel pools 2x2 tables (RR, OR or RD), not {measure}")
    if pooling == "peto" and measure != "OR":
        _fail(at("pooling"), f"Peto's method gives an odds ratio; the measure is {measure}")
    if pooling != "inverse_variance" and "contrast" in forms:
        _fail(at("data_forms"), f"{POOLING_WORDS[pooling]} pooling needs 2x2 tables; "
              "a contrast has none (use events only, or inverse_variance)")
    return OutcomePlan(
        id=oid,
        label=_text(raw["label"], f"{path}.label"),
        codes=_list(raw["codes"], f"{path}.codes"),
        measure=measure,
        data_forms=forms,
        higher_is_better=_bool(raw["higher_is_better"], f"{path}.higher_is_better"),
        timepoint=_timepoint(merged["timepoint"], at("timepoint")),
        estimator=_choice(merged["estimator"], at("estimator"), ESTIMATORS),
        hartung_knapp=_bool(merged["hartung_knapp"], at("hartung_knapp")),
        level=_level(merged["level"], at("level")),
        min_studies=_int(merged["min_studies"], at("min_studies"), 1),
        exploratory=exploratory,
        rationale=rationale,
        pooling=pooling,
        continuity=_continuity(merged.get("continuity"), at("continuity")),
        tau2_convergence=_choice(merged.get("tau2_convergence", "metafor"), at("tau2_convergence"),
                                 TAU2_CONVERGENCE),
    )


DEFAULT_SAFETY = {"events": "as_in_sheet", "studies": "included", "methods": ["MH_RD", "PETO_OR"],
                  "min_studies": 2, "level": 95,
                  "rule": "an event term is pooled when at least two studies report it in both arms "
                          "with known numbers at risk; a term a study did not report is missing, never zero"}


def _column(value, path, columns, numeric=False):
    """A column of studies.csv; checked against the schema's columns when they are known."""
    name = _text(value, path)
    if columns is not None:
        allowed = [c for c, f in columns.items() if not numeric or f.get("type") in ("integer", "number")]
        if name not in allowed:
            what = "a numeric column of studies.csv" if numeric else "a column of studies.csv"
            _fail(path, f"unknown value {name!r}; expected {what}: {', '.join(allowed)}")
    return name


def parse_plan(raw, study_columns: dict | None = None) -> AnalysisPlan:
    """Check a plan already read from YAML and build the AnalysisPlan.

    `study_columns` (name -> schema field of each studies.csv column) lets subgroups,
    meta-regressions and characteristics be checked against the sheet's columns.
    """
    top = ("version", "title", "defaults", "multi_arm", "timepoint_labels", "outcomes",
           "subgroups", "meta_regression", "characteristics", "counts", "safety", "sensitivity",
           "study_tables")
    _mapping(raw, "", top, ("version", "title", "defaults", "outcomes"))
    if raw["version"] != 1:
        _fail("version", f"unknown value {raw['version']!r}; allowed: 1")
    defaults = _mapping(raw["defaults"], "defaults", _ANALYSIS_KEYS, _REQUIRED_DEFAULTS)
    multi_arm = _choice(raw.get("multi_arm", "combine_active"), "multi_arm", MULTI_ARM)

    labels = {}
    raw_labels = raw.get("timepoint_labels") or {}
    _mapping(raw_labels, "timepoint_labels", tuple(raw_labels))
    for study, mapping in raw_labels.items():
        p = f"timepoint_labels.{study}"
        _mapping(mapping, p, tuple(mapping or ()))
        labels[str(study)] = {str(k): _choice(v, f"{p}.{k}", TIMEPOINT_CLASSES)
                              for k, v in mapping.items()}

    if not isinstance(raw["outcomes"], list) or not raw["outcomes"]:
        _fail("outcomes", "expected a non-empty list")
    outcomes = tuple(_outcome(o, f"outcomes[{i}]", defaults) for i, o in enumerate(raw["outcomes"]))
    ids = [o.id for o in outcomes]
    for i, oid in enumerate(ids):
        if oid in ids[:i]:
            _fail(f"outcomes[{i}].id", f"repeated id {oid!r}")

    subgroups = []
    raw_sub = raw.get("subgroups", [])
    if not isinstance(raw_sub, list):
        _fail("subgroups", "expected a list")
    for i, s in enumerate(raw_sub):
        p = f"subgroups[{i}]"
        _mapping(s, p, ("by", "label", "min_per_group"), ("by", "label", "min_per_group"))
        subgroups.append(SubgroupPlan(_column(s["by"], f"{p}.by", study_columns),
                                      _int(s["min_per_group"], f"{p}.min_per_group", 1),
                                      _text(s["label"], f"{p}.label")))

    metareg = []
    raw_mr = raw.get("meta_regression", [])
    if not isinstance(raw_mr, list):
        _fail("meta_regression", "expected a list")
    for i, m in enumerate(raw_mr):
        p = f"meta_regression[{i}]"
        _mapping(m, p, ("by", "label", "min_studies"), ("by", "label"))
        metareg.append(MetaRegressionPlan(_column(m["by"], f"{p}.by", study_columns, numeric=True),
                                          _text(m["label"], f"{p}.label"),
                                          _int(m.get("min_studies", 3), f"{p}.min_studies", 3)))

    def columns(key):
        if raw.get(key) is None:
            return None
        names = _list(raw[key], key)
        for i, c in enumerate(names):
            _column(c, f"{key}[{i}]", study_columns)
        return names

    characteristics = columns("characteristics") or ()
    counts = columns("counts")
    if counts is None and study_columns is not None:
        # every categorical column (one with allowed values) but the row flags
        counts = tuple(c for c, f in study_columns.items() if "enum" in f.get("constraints", {})
                       and c not in ("included", "identified"))
    elif counts is None:
        counts = tuple(dict.fromkeys(sg.by for sg in subgroups))

    skeys = ("events", "studies", "methods", "min_studies", "level", "rule")
    s = _mapping(raw.get("safety", DEFAULT_SAFETY), "safety", skeys, skeys)
    safety = SafetyPlan(_choice(s["events"], "safety.events", ("as_in_sheet",)),
                        _choice(s["studies"], "safety.studies", SAFETY_STUDIES),
                        _list(s["methods"], "safety.methods", SAFETY_METHODS),
                        _int(s["min_studies"], "safety.min_studies", 2),
                        _level(s["level"], "safety.level"),
                        _text(s["rule"], "safety.rule"))
    sensitivity = _sensitivity(raw.get("sensitivity"), study_columns)
    tables = _mapping(raw.get("study_tables", {}), "study_tables", ("max_rows",))
    max_rows = _int(tables.get("max_rows", AnalysisPlan.study_tables_max_rows), "study_tables.max_rows", 1)
    return AnalysisPlan(version=1, title=_text(raw["title"], "title"), multi_arm=multi_arm,
                        outcomes=outcomes, subgroups=tuple(subgroups), safety=safety,
                        timepoint_labels=labels, meta_regression=tuple(metareg),
                        characteristics=characteristics, counts=counts, sensitivity=sensitivity,
                        study_tables_max_rows=max_rows)


def _sensitivity(raw, study_columns) -> SensitivityPlan:
    """The `sensitivity` block: each key optional, the defaults of SensitivityPlan otherwise."""
    if raw is None:
        return SensitivityPlan()
    keys = ("leave_one_out", "cumulative", "cumulative_order", "small_study_effects")
    _mapping(raw, "sensitivity", keys)
    d = SensitivityPlan()
    order = raw.get("cumulative_order", d.cumulative_order)
    order = _column(order, "sensitivity.cumulative_order", study_columns, numeric=True)
    return SensitivityPlan(
        leave_one_out=_int(raw.get("leave_one_out", d.leave_one_out), "sensitivity.leave_one_out", 2),
        cumulative=_int(raw.get("cumulative", d.cumulative), "sensitivity.cumulative", 2),
        cumulative_order=order,
        small_study_effects=_int(raw.get("small_study_effects", d.small_study_effects),
                                 "sensitivity.small_study_effects", 3))


def study_columns(root) -> dict | None:
    """studies.csv's columns (name -> schema field) from the project's schema, or None without one."""
    from .schema import resources

    try:
        res = resources(root).get("studies")
    except InputError:
        return None
    if res is None:
        return None
    return {f["name"]: f for f in res["schema"]["fields"]}


def load_plan(root) -> AnalysisPlan:
    """Read and check `analysis_plan.yml` in the project folder `root`."""
    path = Path(root) / PLAN_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{PLAN_FILE}: not found in {Path(root)}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{PLAN_FILE}: not valid YAML{where}") from None
    return parse_plan(raw, study_columns(root))
