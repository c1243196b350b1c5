"""`review numbers`: every number the review reports, or what moved since a saved snapshot.

Without options it prints one `key: value` line per number; `--json` prints the snapshot
that `review render` keeps in `_output/numbers.json`; `--against FILE` compares the
current numbers with a snapshot saved earlier and prints only what changed. The
committed record, checked by CI, is `numbers.lock` (`review check`, `review lock`).
"""

from __future__ import annotations

import json

from ..paths import project_root


def add_arguments(parser) -> None:
    parser.add_argument("--root", default=None, help="project folder (default: found from the cwd)")
    parser.add_argument("--json", action="store_true",
                        help="print JSON (the snapshot, or with --against the list of changes)")
    parser.add_argument("--against", metavar="FILE", default=None,
                        help="print what changed since this snapshot (e.g. _output/numbers.json)")


def run(args) -> int:
    from ..living.numbers import diff_numbers, dumps, format_changes, format_numbers, project_numbers, read_snapshot

    root = project_root(args.root)
    against = args.against
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
    return 0
