"""`review render`: render review.qmd to _output/review.html, review.pdf and review.docx."""

from __future__ import annotations

import sys

from ..paths import project_root


def add_arguments(parser) -> None:
    parser.add_argument("--to", type=_formats, default="all", metavar="FORMATS",
                        help="html, pdf, docx, a comma-separated list of them (html,pdf) or all "
                             "(the default: html, pdf and docx)")
    parser.add_argument("--engine", choices=("auto", "quarto", "builtin"), default="auto",
                        help="auto: quarto when on PATH, else the built-in renderer")
    parser.add_argument("--force", action="store_true", help="render even when nothing changed")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--root", default=None, help="project folder (default: found from the cwd)")


def _formats(value: str):
    import argparse
    names = [v.strip() for v in value.split(",") if v.strip()]
    if value.strip() == "all":
        return "all"
    if not names or any(n not in ("html", "pdf", "docx") for n in names):
        raise argparse.ArgumentTypeError(f"{value!r}: use html, pdf, docx, a list of them such as html,pdf, or all")
    return tuple(names)


def run(args) -> int:
    from ..render import render_project
    root = project_root(args.root)
    progress = None if args.quiet else (lambda msg: print(f"render: {msg}", file=sys.stderr, flush=True))
    report = render_project(root, to=args.to, engine=args.engine, force=args.force, progress=progress)
    if report.up_to_date:
        print(f"up to date: {', '.join(_shown(root, p) for p in report.outputs.values())}")
    else:
        print(f"rendered with {report.engine} in {report.timings['total']:.1f} s: "
              f"{', '.join(_shown(root, p) for p in report.outputs.values())}")
        report_numbers(root, report, quiet=args.quiet)
    return 0


def _shown(root, path) -> str:
    return str(path.relative_to(root)) if root in path.parents else str(path)


def report_numbers(root, report, quiet=False) -> None:
    """After a render: which numbers moved since the snapshot it replaced (the snapshot itself is
    written by the render, in the same step as the outputs)."""
    from ..living.numbers import diff_numbers, format_changes, read_snapshot

    if report.numbers_problem:
        print(f"render: {report.numbers_problem}", file=sys.stderr, flush=True)
    if quiet or report.numbers is None:
        return
    shown = _shown(root, report.numbers)
    if report.previous_numbers is None:
        print(f"render: numbers recorded in {shown} (no earlier snapshot to compare with)",
              file=sys.stderr, flush=True)
        return
    changes = diff_numbers(report.previous_numbers, read_snapshot(report.numbers))
    if changes:
        print("numbers moved since the last render:\n" + format_changes(changes), file=sys.stderr, flush=True)
    else:
        print("no number moved since the last render", file=sys.stderr, flush=True)
