"""`review render`: render review.qmd to _output/review.html and _output/review.pdf."""

from __future__ import annotations

import sys

from ..paths import project_root


def add_arguments(parser) -> None:
    parser.add_argument("--to", choices=("html", "pdf", "all"), default="all", help="output format (default all)")
    parser.add_argument("--engine", choices=("auto", "quarto", "builtin"), default="auto",
                        help="auto: quarto when on PATH, else the built-in renderer")
    parser.add_argument("--force", action="store_true", help="render even when nothing changed")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--root", default=None, help="project folder (default: found from the cwd)")


def run(args) -> int:
    from . import render_project
    root = project_root(args.root)
    progress = None if args.quiet else (lambda msg: print(f"render: {msg}", file=sys.stderr, flush=True))
    report = render_project(root, to=args.to, engine=args.engine, force=args.force, progress=progress)
    if report.up_to_date:
        print(f"up to date: {', '.join(str(p.relative_to(root)) for p in report.outputs.values())}")
    else:
        print(f"rendered with {report.engine} in {report.timings['total']:.1f} s: "
              f"{', '.join(str(p.relative_to(root)) for p in report.outputs.values())}")
    return 0
