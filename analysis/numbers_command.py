"""`review numbers`: every number the review reports, or what moved since a saved snapshot.

Without options it prints one `key: value` line per number; `--json` prints the snapshot
that `review render` keeps in `_output/numbers.json`; `--against FILE` compares the
current numbers with a snapshot saved earlier and prints only what changed; `--check
FILE` does the same but exits 1 when anything moved, so CI can prove that the committed
numbers still follow from the sheets.
"""

from __future__ import annotations

import json

from .errors import ReviewError
from .paths import project_root


def add_arguments(parser) -> None:
    parser.add_argument("--root", default=None, help="project folder (default: found from the cwd)")
    parser.add_argument("--json", action="store_true",
                        help="print JSON (the snapshot, or with --against the list of changes)")
    parser.add_argument("--against", metavar="FILE", default=None,
                        help="print what changed since this snapshot (e.g. _output/numbers.json)")
    parser.add_argument("--check", metavar="FILE", default=None,
                        help="like --against, but exit 1 when any number moved (for CI)")


def run(args) -> int:
    from .numbers import diff_numbers, dumps, format_changes, format_numbers, project_numbers, read_snapshot

    root = project_root(args.root)
    against = args.check or args.against
    # Read the snapshot first: a wrong path should not wait for the whole synthesis.
    old = read_snapshot(against) if against else None
    numbers = project_numbers(root)
    if old is None:
        print(dumps(numbers) if args.json else format_numbers(numbers), end="" if args.json else "\n")
        return 0
    changes = diff_numbers(old, numbers)
    if args.json:
        print(json.dumps([{"key": c.key, "change": c.kind, "old": c.old, "new": c.new} for c in changes],
                         indent=1, ensure_ascii=False))
    else:
        print(format_changes(changes))
    if args.check and changes:
        raise ReviewError(f"{len(changes)} number(s) differ from {args.check}; if the change is intended, "
                          f"regenerate it with `review numbers --json > {args.check}`")
    return 0
