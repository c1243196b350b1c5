"""Readable names for the keys of the numbers: studies, outcomes, PRISMA rows and reasons."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .numbers import _part, prisma_keys


@dataclass
class Names:
    outcomes: dict = field(default_factory=dict)   # outcome id (key part) -> label, in plan order
    studies: dict = field(default_factory=dict)    # study key -> label
    prisma: dict = field(default_factory=dict)     # prisma key part -> label
    reasons: dict = field(default_factory=dict)    # reason key part -> reason text
    levels: dict = field(default_factory=dict)     # outcome id (key part) -> confidence level (95)
    subgroups: dict = field(default_factory=dict)  # subgroup column (key part) -> the plan's label

    def study(self, key: str) -> str:
        return self.studies.get(key, key)

    def outcome(self, key: str) -> str:
        return self.outcomes.get(key, key)

    def merged(self, older: "Names") -> "Names":
        """These names, falling back on `older` ones (for studies or outcomes since removed)."""
        return Names(*({**o, **n} for o, n in ((older.outcomes, self.outcomes), (older.studies, self.studies),
                                               (older.prisma, self.prisma), (older.reasons, self.reasons),
                                               (older.levels, self.levels), (older.subgroups, self.subgroups))))


def _csv_rows(path: Path) -> list[dict]:
    # plain CSV, no schema: names are also read from revisions whose datapackage is older
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def names_for(root) -> Names:
    """Readable names from a project's plan and sheets; a key stands for itself when unknown."""
    from ..review import synthesis
    from ..errors import InputError
    from ..data.plan import load_plan

    root = Path(root)
    names = Names()
    try:
        plan = load_plan(root)
        names.outcomes = {_part(o.id): o.label for o in plan.outcomes}
        names.levels = {_part(o.id): o.level for o in plan.outcomes}
        names.subgroups = {_part(g.by): g.label for g in plan.subgroups}
    except InputError:
        pass
    ext = root / "extraction"
    names.studies = {r["study"]: r.get("label") or r["study"] for r in _csv_rows(ext / "studies.csv") if r.get("study")}
    prisma = _csv_rows(ext / "prisma.csv")
    for key, r in zip(prisma_keys([r.get("data", "") for r in prisma], [r.get("label", "") for r in prisma]), prisma):
        names.prisma[key] = " ".join((r.get("label") or r.get("data", "")).split())
    reasons = (synthesis.NOT_IDENTIFIED, synthesis.NOT_REPORTED, synthesis.NO_CONTROL, synthesis.P_ONLY,
               synthesis.NARRATIVE, synthesis.PERCENT, synthesis.TIMEPOINT, synthesis.INCOMPLETE)
    names.reasons = {_part(r): r for r in reasons}
    return names
