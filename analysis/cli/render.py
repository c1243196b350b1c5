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
    from ..render import render_project
    root = project_root(args.root)
    progress = None if args.quiet else (lambda msg: print(f"render: {msg}", file=sys.stderr, flush=True))
    report = render_project(root, to=args.to, engine=args.engine, force=args.force, progress=progress)
    if report.up_to_date:
        print(f"up to date: {', '.join(str(p.relative_to(root)) for p in report.outputs.values())}")
    else:
        print(f"rendered with {report.engine} in {report.timings['total']:.1f} s: "
              f"{', '.join(str(p.relative_to(root)) for p in report.outputs.values())}")
        out_dir = next(iter(report.outputs.values())).parent
        record_numbers(root, out_dir, quiet=args.quiet)
    return 0


def record_numbers(root, out_dir, quiet=False) -> None:
    """After a render that succeeded: snapshot the numbers and say which moved since the last one.

    Written only after the outputs were replaced, so a failed render keeps the previous
    snapshot. A project without extraction sheets has no numbers and is skipped silently.
    A problem here does not undo the render; it is reported and the old snapshot kept.
    """
    from ..errors import ReviewError
    from ..files import write_text_atomic
    from ..living.numbers import SNAPSHOT, diff_numbers, dumps, format_changes, has_sheets, project_numbers, read_snapshot

    if not has_sheets(root):
        return
    path = out_dir / SNAPSHOT
    try:
        numbers = project_numbers(root)
    except ReviewError as exc:
        print(f"render: numbers not recorded: {exc}", file=sys.stderr, flush=True)
        return
    previous = None
    if path.exists():
        try:
            previous = read_snapshot(path)
        except ReviewError:
            previous = None  # an unreadable snapshot is replaced, not compared
    write_text_atomic(path, dumps(numbers))
    if quiet:
        return
    shown = path.relative_to(root) if root in path.parents else path
    if previous is None:
        print(f"render: numbers recorded in {shown} (no earlier snapshot to compare with)",
              file=sys.stderr, flush=True)
        return
    changes = diff_numbers(previous, numbers)
    if changes:
        print("numbers moved since the last render:\n" + format_changes(changes), file=sys.stderr, flush=True)
    else:
        print("no number moved since the last render", file=sys.stderr, flush=True)
