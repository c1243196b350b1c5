"""`review reconcile DIR_A DIR_B`: every cell where two reviewers' extraction folders disagree.

Prints a table (or with `--csv` a CSV) of the disagreements and exits 1 when there are any,
so the two extractions can be resolved before the data are used.
"""

from __future__ import annotations

import csv
import io
import os
import sys

from ..errors import ReviewError

HEADER = ("study", "sheet", "row", "column", "A", "B")
CSV_HEADER = ("study", "sheet", "row", "column", "value_a", "value_b")
WIDTH = 40  # long notes are cut to this many characters around where they first differ


def add_arguments(parser) -> None:
    parser.add_argument("dir_a", help="first reviewer's extraction folder, or a project root holding extraction/")
    parser.add_argument("dir_b", help="second reviewer's extraction folder, or a project root holding extraction/")
    parser.add_argument("--ignore", metavar="COLUMN", action="append", default=[],
                        help="do not compare this column, e.g. --ignore note (repeatable)")
    parser.add_argument("--csv", action="store_true", help="print the disagreements as CSV with the full values")


def _clip(a: str, b: str) -> tuple[str, str]:
    """Both values on one line; long ones shown around the first character where they differ."""
    a, b = " ".join(a.split()), " ".join(b.split())
    if max(len(a), len(b)) <= WIDTH:
        return a or "(empty)", b or "(empty)"
    start = max(0, len(os.path.commonprefix([a, b])) - 10)

    def window(s: str) -> str:
        if not s:
            return "(empty)"
        return ("…" if start else "") + s[start:start + WIDTH] + ("…" if start + WIDTH < len(s) else "")

    return window(a), window(b)


def format_table(found) -> str:
    rows = [HEADER] + [(d.study, d.sheet, d.row, d.column, *_clip(d.a, d.b)) for d in found]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    rows.insert(1, tuple("-" * w for w in widths))
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n" for r in rows)


def format_csv(found) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows((d.study, d.sheet, d.row, d.column, d.a, d.b) for d in found)
    return buf.getvalue()


def run(args) -> int:
    from ..living.reconcile import declared_sheets, reconcile

    found = reconcile(args.dir_a, args.dir_b, set(args.ignore))
    if args.csv:
        print(format_csv(found), end="")  # the header alone when they agree, so scripts can always parse it
    elif found:
        print(format_table(found), end="")
    if found:
        n = len(found)
        raise ReviewError(f"{n} disagreement{'s' if n != 1 else ''} between {args.dir_a} and {args.dir_b}")
    n = len(declared_sheets(args.dir_a))
    # with --csv, stdout stays pure CSV
    print(f"no disagreements: {args.dir_a} and {args.dir_b} agree on every cell of {n} sheet{'s' if n != 1 else ''}",
          file=sys.stderr if args.csv else sys.stdout)
    return 0
