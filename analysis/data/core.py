"""The schema's generic core, which the toolkit defines (`core.json`), and the check that a
review's `extraction/datapackage.json` keeps to it.

The core declares the sheets the toolkit reads (studies, arms, outcomes, adverse events,
PRISMA counts), their keys and provenance columns, the arms' roles, the outcome data
forms and contrast measures, the adverse-event statuses and the PRISMA 2020 fields. A
review's schema is the core plus its own vocabulary: allowed outcome codes and event
terms, its study key pattern, its designs and any further columns. `review new` starts a
project from the core; `review validate` reports where a review's schema departs from it.
"""

from __future__ import annotations

import json
from pathlib import Path

from .schema import Problem

CORE_FILE = Path(__file__).with_name("core.json")
# Columns every review declares; the core's other columns may be left out.
REQUIRED = {
    "studies": ("study", "label", "included"),
    "arms": ("study", "arm", "role"),
    "outcomes": ("study", "arm", "outcome", "timepoint", "form"),
    "adverse_events": ("study", "arm", "event", "events", "at_risk", "status"),
    "prisma": ("data", "n", "status"),
}
SHOWN = "datapackage.json"


def core_package() -> dict:
    """The core data package (a fresh copy each call)."""
    return json.loads(CORE_FILE.read_text(encoding="utf-8"))


def check_schema(pkg: dict) -> list[Problem]:
    """Where a review's data package departs from the core: a core sheet or required column
    missing, a core column of another type, or allowed values the toolkit does not know."""
    problems = []
    mine = {r["name"]: r for r in pkg.get("resources", [])}
    for res in core_package()["resources"]:
        name = res["name"]
        if name not in mine:
            problems.append(Problem(SHOWN, None, name, "sheet missing: the toolkit reads it"))
            continue
        fields = {f["name"]: f for f in mine[name]["schema"]["fields"]}
        for core in res["schema"]["fields"]:
            col, where = core["name"], f"{name}.{core['name']}"
            f = fields.get(col)
            if f is None:
                if col in REQUIRED.get(name, ()) or (col in ("source", "location") and name != "prisma"):
                    problems.append(Problem(SHOWN, None, where, "column missing: the toolkit reads it"))
                continue
            if f.get("type", "string") != core.get("type", "string"):
                problems.append(Problem(SHOWN, None, where, f"type {f.get('type', 'string')}; the toolkit "
                                        f"reads it as {core.get('type', 'string')}"))
            known = core.get("constraints", {}).get("enum")
            allowed = f.get("constraints", {}).get("enum")
            if known is not None and allowed is not None:
                extra = [v for v in allowed if v not in known]
                if extra:
                    problems.append(Problem(SHOWN, None, where, "allowed values the toolkit does not know: "
                                            + ", ".join(map(str, extra)) + "; it knows " + ", ".join(known)))
    return problems
