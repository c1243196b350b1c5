"""`review lint [FILE]`: numbers typed into the prose of review.qmd."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..paths import project_root
from ..review.lint import LintProblem, lint_qmd


def add_arguments(parser) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="the Quarto file to check (default: review.qmd of the project)")
    parser.add_argument("--root", help="project folder (default: found from the current folder)")


def run(args) -> int:
    if args.file:
        path, shown = Path(args.file), args.file
    else:
        root = Path(args.root) if getattr(args, "root", None) else project_root()
        path, shown = root / "review.qmd", "review.qmd"
    if not path.exists():
        raise InputError(f"{shown}: no such file")
    problems = [LintProblem(shown, p.line, p.col, p.number) for p in lint_qmd(path)]
    for problem in problems:
        print(problem)
    return 1 if problems else 0
