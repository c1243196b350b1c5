"""`review check` and `review lock`: the numbers lock on the command line.

`review check` recomputes every number from the sheets (no rendering) and exits 1 with a
table of what moved when any differs from `numbers.lock`; `review lock` rewrites the lock
after an intended change and prints the same table.
"""

from __future__ import annotations

import sys

from ..errors import ReviewError
from ..paths import project_root


def add_arguments(parser) -> None:
    parser.add_argument("--root", default=None, help="project folder (default: found from the cwd)")


def run(args) -> int:
    from ..living.lock import LOCK_FILE, changes_table, check, counts, lock, lock_path, read_lock
    from ..living.versions import VERSION_FILE, read_version, version_problem

    root = project_root(args.root)
    if args.command == "lock":
        changes = lock(root)
        print(changes_table(changes))
        version = read_version(root)
        print(f"{LOCK_FILE} written ({counts(changes)}); {VERSION_FILE}: {version.describe()}", file=sys.stderr)
        return 0
    changes = check(root)
    if not changes:
        problem = version_problem(root, read_lock(lock_path(root)))
        if problem:
            raise ReviewError(problem)
        print(f"every number follows from the sheets: {LOCK_FILE} is up to date")
        return 0
    print(changes_table(changes))
    raise ReviewError(f"{len(changes)} number(s) differ from {LOCK_FILE} ({counts(changes)}); "
                      "if the change is intended, run `review lock` and commit the lock with it")
