"""Every number the review reports, as one flat mapping, and what moved between two of them.

`collect_numbers(sheets, plan)` gives a sorted mapping from stable, readable keys
(``analysis.OUTCOME.estimate``, ``safety.EVENT.active.events``, ``ledger.CLAIM.status``,
``studies.by_design.rct``) to JSON values. Floats are rounded to `DIGITS` significant
digits so that float noise between two runs never shows as a change; NaN, NA and None
all become null. `diff_numbers(old, new)` lists what was added, removed or changed, and
`format_changes` prints it one line per key.

Keys use the study key of `studies.csv` (``smith2020``), never its label, so relabelling a
study does not look like a moved number. Nothing here fits anything new: every value is
read from the synthesis, the safety tally, the ledger or the sheets.
"""

from __future__ import annotations

import json
import math
import numbers as _abc
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError

DIGITS = 6
SNAPSHOT = "numbers.json"

# PoolResult fields reported for a pooled outcome (metafor's names).
POOL_FIELDS = ("estimate", "se", "ci_lb", "ci_ub", "pval", "pi_lb", "pi_ub", "tau2",
               "tau2_ci_lb", "tau2_ci_ub", "tau2_ci_ub_capped", "i2", "i2_ci_lb", "i2_ci_ub", "q", "q_pval")
STUDY_FIELDS = ("yi", "ci_lb", "ci_ub", "weight")
SUBGROUP_FIELDS = ("k", "estimate", "ci_lb", "ci_ub", "status")
SUBGROUP_TEST_FIELDS = ("groups", "q", "df", "pval")
METAREG_FIELDS = ("k", "intercept", "slope", "slope_se", "slope_ci_lb", "slope_ci_ub", "slope_pval",
                  "qm", "qm_df", "qm_pval", "tau2", "i2", "r2", "status")
SAFETY_FIELDS = ("events", "at_risk", "studies", "proportion", "ci_lb", "ci_ub")
SAFETY_POOLED_FIELDS = ("k", "estimate", "ci_lb", "ci_ub", "exp_estimate", "exp_ci_lb", "exp_ci_ub", "pval", "i2")
# Sheets without which there is nothing to collect (a project that only renders text).
REQUIRED_FILES = ("datapackage.json", "studies.csv", "arms.csv", "outcomes.csv", "adverse_events.csv")


# --- values -----------------------------------------------------------------------------

def _missing(x) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    return isinstance(x, float) and math.isnan(x)


def clean(x):
    """A JSON value: None for missing, ints as ints, floats to DIGITS significant digits."""
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):  # numpy / pandas scalars
        try:
            x = x.item()
        except (ValueError, AttributeError):
            pass
    if _missing(x):
        return None
    if isinstance(x, bool):
        return x
    if isinstance(x, _abc.Integral):
        return int(x)
    if isinstance(x, _abc.Real):
        x = float(x)
        if math.isinf(x):
            return None
        x = float(f"{x:.{DIGITS}g}")
        # 2.0 and 2 are the same count; an int reads better and compares the same.
        return int(x) if x.is_integer() and abs(x) < 2**53 else x
    if isinstance(x, str):
        return x.strip()
    return str(x)


def _part(x) -> str:
    """One dot-separated piece of a key: no dots or spaces inside it."""
    text = "" if _missing(x) else str(x).strip()
    return re.sub(r"[^\w-]+", "_", text).strip("_") or "not_reported"


def _text(x) -> str:
    return "" if _missing(x) else str(x).strip()


# --- collecting -------------------------------------------------------------------------

def _analyses(syn, out: dict) -> None:
    for a in syn.analyses:
        base = f"analysis.{_part(a.outcome)}"
        out[f"{base}.k"] = a.k
        out[f"{base}.measure"] = a.measure
        out[f"{base}.participants"] = a.participants
        out[f"{base}.status"] = a.status
        out[f"{base}.studies"] = ", ".join(a.studies)
        if a.pooling != "inverse_variance":
            out[f"{base}.pooling"] = a.pooling
        if a.log_scale:
            # estimates and limits of RR and OR are kept as log ratios, as metafor reports them
            out[f"{base}.scale"] = "log"
        # An outcome that is not pooled has no pooled numbers; they appear as "added"
        # once enough studies contribute.
        if a.result is not None:
            for f in POOL_FIELDS:
                out[f"{base}.{f}"] = getattr(a.result, f)
        for _, e in a.effects.iterrows():
            for f in STUDY_FIELDS:
                out[f"{base}.study.{_part(e['study'])}.{f}"] = e[f]
        for _, g in a.subgroups.iterrows():
            sg = f"{base}.subgroup.{_part(g['by'])}.{_part(g['group'])}"
            for f in SUBGROUP_FIELDS:
                out[f"{sg}.{f}"] = g[f]
        for _, t in a.subgroup_tests.iterrows():
            for f in SUBGROUP_TEST_FIELDS:
                out[f"{base}.subgroup_test.{_part(t['by'])}.{f}"] = t[f]
        for _, m in a.metaregression.iterrows():
            for f in METAREG_FIELDS:
                out[f"{base}.metareg.{_part(m['by'])}.{f}"] = m[f]


def _availability(syn, out: dict) -> None:
    """Per outcome: how many included studies contribute, and how many do not for each reason."""
    av = syn.availability
    for outcome, rows in av.groupby("outcome", sort=True):
        base = f"availability.{_part(outcome)}"
        contributes = [_text(v) == "yes" for v in rows["contributes"]]
        out[f"{base}.contributing"] = sum(contributes)
        for reason in rows.loc[[not c for c in contributes], "reason"]:
            key = f"{base}.not_pooled.{_part(reason)}"
            out[key] = out.get(key, 0) + 1


def _safety(syn, out: dict) -> None:
    for _, t in syn.safety.totals.iterrows():
        base = f"safety.{_part(t['event'])}.{_part(t['role'])}"
        for f in SAFETY_FIELDS:
            out[f"{base}.{f}"] = t[f]
    for _, p in syn.safety.pooled.iterrows():
        base = f"safety.pooled.{_part(p['event'])}.{_part(p['code'])}"
        out[f"{base}.k"] = p["k"]
        if _text(p["reason"]):  # not pooled: only how many studies there were
            continue
        for f in SAFETY_POOLED_FIELDS:
            out[f"{base}.{f}"] = p[f]


def _studies(sheets, out: dict, counted=()) -> None:
    """Study counts; `counted`: the columns of studies.csv counted by value (the plan's `counts`)."""
    st = sheets["studies"]
    included = st[st["included"].map(_text) != "no"] if "included" in st else st
    out["studies.in_sheet"] = len(st)
    out["studies.included"] = len(included)
    # which studies, by key in the sheet's order: the version note names those added and removed
    out["studies.list"] = ", ".join(_part(s) for s in included["study"])
    if "identified" in included:
        out["studies.identified"] = sum(_text(v) != "no" for v in included["identified"])
    for col in counted:
        if col not in included:
            continue
        for v in included[col]:
            key = f"studies.by_{col}.{_part(v)}"
            out[key] = out.get(key, 0) + 1
    if "n_total" in included:
        known = [v for v in included["n_total"] if not _missing(v)]
        out["studies.participants"] = sum(known) if known else None
        out["studies.participants_unknown"] = len(included) - len(known)
        for s, v in zip(included["study"], included["n_total"]):
            out[f"studies.n_total.{_part(s)}"] = v


def _prisma(sheets, out: dict) -> None:
    pr = sheets.get("prisma")
    if pr is None or not {"data", "n"} <= set(pr.columns):
        return
    for key, n in zip(prisma_keys(pr["data"], pr["label"]), pr["n"]):
        out[f"prisma.{key}"] = n


def prisma_keys(datas, labels) -> list[str]:
    """The key of each PRISMA row after `prisma.`: its box, and its label where rows share a box.

    PRISMA2020's `data` names a box; boxes listing several sources (databases, reasons for
    exclusion) repeat it, and those rows are told apart by their label.
    """
    datas = [_text(d) for d in datas]
    repeated = {d for d in datas if datas.count(d) > 1}
    return [f"{_part(d)}.{_part(label)}" if d in repeated else _part(d) for d, label in zip(datas, labels)]


def _search(sheets, out: dict) -> None:
    """What the Methods report of the search: sources by kind and when each was searched."""
    se = sheets.get("search")
    if se is None or "source_name" not in se.columns:
        return
    out["search.sources"] = len(se)
    for kind in se["kind"]:
        key = f"search.by_kind.{_part(kind)}"
        out[key] = out.get(key, 0) + 1
    for _, r in se.iterrows():
        base = f"search.source.{_part(r['source_name'])}"
        out[f"{base}.date_searched"] = r["date_searched"]
        out[f"{base}.date_qualifier"] = r["date_qualifier"]


def _ledger(sheets, claims, out: dict) -> None:
    from ..review.ledger import evaluate

    for _, r in evaluate(sheets, claims).iterrows():
        base = f"ledger.{_part(r['claim_id'])}"
        out[f"{base}.reproduced"] = r["reproduced"]
        out[f"{base}.status"] = r["status"]


def collect_numbers(sheets: dict, plan, claims: pd.DataFrame | None = None) -> dict[str, object]:
    """Every reported number, key -> JSON value, sorted by key.

    `claims` is the claims sheet (`analysis.data.claims.load_claims(root)`); without it the ledger's
    numbers are left out.
    """
    from ..review.synthesis import synthesise

    syn = synthesise(sheets, plan)
    out: dict[str, object] = {}
    _studies(sheets, out, plan.counts)
    _analyses(syn, out)
    _availability(syn, out)
    _safety(syn, out)
    _prisma(sheets, out)
    _search(sheets, out)
    if claims is not None:
        _ledger(sheets, claims, out)
    return {k: clean(out[k]) for k in sorted(out)}


def has_sheets(root) -> bool:
    """Whether the project at `root` has the extraction sheets the numbers come from."""
    ext = Path(root) / "extraction"
    return all((ext / name).is_file() for name in REQUIRED_FILES) and (Path(root) / "analysis_plan.yml").is_file()


def project_numbers(root) -> dict[str, object]:
    """`collect_numbers` for the project at `root` (sheets, plan and, when present, claims)."""
    from ..data.claims import CLAIMS_FILE, load_claims
    from ..data.plan import load_plan
    from ..data.load import load_sheets

    root = Path(root)
    if not has_sheets(root):
        raise InputError(f"{root}: no extraction sheets or analysis_plan.yml, so no numbers to collect")
    sheets = load_sheets(root)
    plan = load_plan(root)
    claims = load_claims(root) if (root / "extraction" / CLAIMS_FILE).is_file() else None
    return collect_numbers(sheets, plan, claims)


# --- snapshots --------------------------------------------------------------------------

def dumps(numbers: dict) -> str:
    """The snapshot text: sorted keys, one per line, so that git diffs it line by line."""
    return json.dumps({k: numbers[k] for k in sorted(numbers)}, indent=1, ensure_ascii=False,
                      allow_nan=False) + "\n"


def read_snapshot(path) -> dict:
    """A saved snapshot; InputError when it is not a JSON object of key -> value."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a numbers snapshot ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a numbers snapshot (expected a JSON object)")
    return data


# --- changes ----------------------------------------------------------------------------

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class Change:
    key: str
    kind: str      # added / removed / changed
    old: object    # None for added (and for a null old value)
    new: object    # None for removed


def is_number(x) -> bool:
    # true == 1 in Python, but a flag turning into a count is a change.
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def within_tolerance(a: float, b: float) -> bool:
    """Whether two numbers agree to one unit in the DIGITS-th significant digit.

    Both sides are rounded to DIGITS significant digits; two machines can round a value
    that sits on a rounding boundary to neighbouring last digits, which is noise, not a
    moved number. Integers must be equal.
    """
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if a == b:
        return True
    big = max(abs(a), abs(b))
    unit = 10.0 ** (math.floor(math.log10(big)) - (DIGITS - 1))
    return abs(a - b) <= unit * (1 + 1e-9)


def _same(a, b) -> bool:
    if is_number(a) and is_number(b):
        return within_tolerance(a, b)
    return type(a) is type(b) and a == b


def diff_numbers(old: dict, new: dict) -> list[Change]:
    """What was added, removed or changed from `old` to `new`, sorted by key."""
    changes = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            changes.append(Change(key, ADDED, None, new[key]))
        elif key not in new:
            changes.append(Change(key, REMOVED, old[key], None))
        elif not _same(old[key], new[key]):
            changes.append(Change(key, CHANGED, old[key], new[key]))
    return changes


def show(value) -> str:
    """A value as JSON writes it: strings quoted, null for missing."""
    return json.dumps(value, ensure_ascii=False)


def format_numbers(numbers: dict) -> str:
    return "\n".join(f"{k}: {show(numbers[k])}" for k in sorted(numbers))


def format_changes(changes: list[Change]) -> str:
    """One line per change: `key: old -> new`, `key: added value`, `key: removed (was value)`."""
    if not changes:
        return "no number moved"
    lines = []
    for c in changes:
        if c.kind == ADDED:
            lines.append(f"{c.key}: added {show(c.new)}")
        elif c.kind == REMOVED:
            lines.append(f"{c.key}: removed (was {show(c.old)})")
        else:
            lines.append(f"{c.key}: {show(c.old)} -> {show(c.new)}")
    return "\n".join(lines)
