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

MEASURES = ("MD", "SMD")
FORMS = ("change", "post", "contrast", "percent_change")
TIMEPOINT_CLASSES = ("end_of_treatment", "follow_up", "during_treatment", "baseline")
FALLBACKS = ("earliest_follow_up", "none")
ESTIMATORS = ("REML", "ML", "DL", "HE", "FE")
MULTI_ARM = ("combine_active", "exclude")
SUBGROUP_VARIABLES = ("protocol_family", "phase", "coil_type", "scope", "limb_focus", "design")
SAFETY_METHODS = ("MH_RD", "PETO_OR")
SAFETY_STUDIES = ("included", "all_in_sheet")

FORM_WORDS = {
    "change": "change from baseline",
    "post": "value after treatment",
    "contrast": "between-arm contrast with its SE or CI",
    "percent_change": "percent change from baseline",
}


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


@dataclass(frozen=True)
class SafetyPlan:
    events: str
    studies: str
    methods: tuple[str, ...]
    min_studies: int
    level: float
    rule: str


@dataclass(frozen=True)
class AnalysisPlan:
    version: int
    title: str
    multi_arm: str
    outcomes: tuple[OutcomePlan, ...]
    subgroups: tuple[SubgroupPlan, ...]
    safety: SafetyPlan
    timepoint_labels: dict = field(default_factory=dict)  # study or "any_study" -> label -> class

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
            lines += [
                f"- Random-effects model, {d.estimator} estimate of the between-study variance, "
                f"{hk} the Hartung-Knapp adjustment; {d.level:g}% confidence and prediction intervals.",
                f"- An outcome is pooled when at least {d.min_studies} studies give usable data; "
                "otherwise the single study is shown alone or the outcome is reported as having no usable data.",
                "- Time point: the end of treatment; "
                + ("when a study reports the outcome only later, its earliest follow-up is used and flagged."
                   if d.timepoint.fallback == "earliest_follow_up"
                   else "a study without an end-of-treatment value does not contribute."),
            ]
        lines += [
            "- Multi-arm trials: " + ("active cerebellar arms are combined into one group against the control."
                                      if self.multi_arm == "combine_active"
                                      else "trials with more than one active arm do not contribute."),
            "- Percent change from baseline is not on the scale's units and is never mixed with "
            "absolute change in a primary analysis.",
        ]
        for s in self.subgroups:
            lines.append(f"- Subgroups by {s.label}, run only with at least {s.min_per_group} "
                         "studies in each of two or more groups.")
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
            cells = [o.label, o.measure, forms, direction, kind]
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


_ANALYSIS_KEYS = ("measure", "data_forms", "timepoint", "estimator", "hartung_knapp", "level",
                  "min_studies")
_OUTCOME_KEYS = ("id", "label", "codes", "higher_is_better", "exploratory", "rationale",
                 *_ANALYSIS_KEYS)


def _timepoint(value, path):
    _mapping(value, path, ("prefer", "fallback"), ("prefer", "fallback"))
    return TimepointRule(_choice(value["prefer"], f"{path}.prefer", ("end_of_treatment",)),
                         _choice(value["fallback"], f"{path}.fallback", FALLBACKS))


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
    )


def parse_plan(raw) -> AnalysisPlan:
    """Check a plan already read from YAML and build the AnalysisPlan."""
    top = ("version", "title", "defaults", "multi_arm", "timepoint_labels", "outcomes",
           "subgroups", "safety")
    _mapping(raw, "", top, top)
    if raw["version"] != 1:
        _fail("version", f"unknown value {raw['version']!r}; allowed: 1")
    defaults = _mapping(raw["defaults"], "defaults", _ANALYSIS_KEYS, _ANALYSIS_KEYS)
    multi_arm = _choice(raw["multi_arm"], "multi_arm", MULTI_ARM)

    labels = {}
    _mapping(raw["timepoint_labels"], "timepoint_labels", tuple(raw["timepoint_labels"] or ()))
    for study, mapping in raw["timepoint_labels"].items():
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
    if not isinstance(raw["subgroups"], list):
        _fail("subgroups", "expected a list")
    for i, s in enumerate(raw["subgroups"]):
        p = f"subgroups[{i}]"
        _mapping(s, p, ("by", "label", "min_per_group"), ("by", "label", "min_per_group"))
        subgroups.append(SubgroupPlan(_choice(s["by"], f"{p}.by", SUBGROUP_VARIABLES),
                                      _int(s["min_per_group"], f"{p}.min_per_group", 1),
                                      _text(s["label"], f"{p}.label")))

    skeys = ("events", "studies", "methods", "min_studies", "level", "rule")
    s = _mapping(raw["safety"], "safety", skeys, skeys)
    safety = SafetyPlan(_choice(s["events"], "safety.events", ("as_in_sheet",)),
                        _choice(s["studies"], "safety.studies", SAFETY_STUDIES),
                        _list(s["methods"], "safety.methods", SAFETY_METHODS),
                        _int(s["min_studies"], "safety.min_studies", 2),
                        _level(s["level"], "safety.level"),
                        _text(s["rule"], "safety.rule"))
    return AnalysisPlan(version=1, title=_text(raw["title"], "title"), multi_arm=multi_arm,
                        outcomes=outcomes, subgroups=tuple(subgroups), safety=safety,
                        timepoint_labels=labels)


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
    return parse_plan(raw)
