"""`review validate [--root DIR]`: print every problem of the inputs (schema, sheets, references.bib, plan,
claims, project options, front matter)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import ReviewError
from ..paths import project_root
from ..data.schema import SCHEMA_FILE


def add_arguments(parser) -> None:
    parser.add_argument("--root", help="project root (default: the review project at or above the current folder)")


def _root(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    try:
        return project_root()
    except ReviewError:
        # A project may not have its review.qmd yet; its sheets can still be checked.
        here = Path(os.environ.get("REVIEW_ROOT") or Path.cwd())
        if (here / "extraction" / SCHEMA_FILE).exists():
            return here
        raise


def run(args) -> int:
    from ..data.bibliography import bibliography_warnings
    from ..data.validate import BIB_FILE, validation

    root = _root(args.root)
    sheets, problems, plan_warnings = validation(root)
    # Incomplete references are reported, not failed: some cannot be completed from any source.
    warnings = bibliography_warnings(root / BIB_FILE)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if warnings:
        print(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''} about {BIB_FILE}", file=sys.stderr)
    for w in plan_warnings:
        print(f"warning: {w}", file=sys.stderr)
    for p in problems:
        print(p)
    if problems:
        files = len({p.file for p in problems})
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {files} file{'s' if files != 1 else ''}")
        return 1
    rows = sum(len(s.rows) for s in sheets.values())
    print(f"ok: {len(sheets)} sheets, {rows} rows")
    return 0
