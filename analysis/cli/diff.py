"""`review diff [REV]`: the numbers at a git revision against now, as changelog sentences.

The numbers at REV (default: the last commit) are computed from the sheets as they were
then, with the code that runs now, so the sentences show what the data changed.
`--lock` compares with the numbers.lock committed at REV instead (what that version
reported, code changes included). `--table` prints the key-by-key table of `review check`.
"""

from __future__ import annotations

from ..paths import project_root


def add_arguments(parser) -> None:
    parser.add_argument("rev", nargs="?", default="HEAD", help="git revision to compare with (default: HEAD)")
    parser.add_argument("--root", default=None, help="project folder (default: found from the cwd)")
    parser.add_argument("--lock", action="store_true",
                        help="compare with the numbers.lock committed at REV, not with its recomputed sheets")
    parser.add_argument("--table", action="store_true", help="print every moved number as a table")


def run(args) -> int:
    from ..living.changelog import describe, names_for
    from ..living.lock import changes_table
    from ..living.numbers import diff_numbers, project_numbers
    from ..living.revisions import lock_at, names_at, numbers_at

    root = project_root(args.root)
    old, rev = (lock_at if args.lock else numbers_at)(root, args.rev)
    new = project_numbers(root)
    if args.table:
        print(changes_table(diff_numbers(old, new), old_label=f"at {rev.short}", new_label="now"))
        return 0
    sentences = describe(old, new, names_for(root).merged(names_at(root, rev)))
    if not sentences:
        print(f"No number of the review moved since {rev.describe()}.")
        return 0
    print(f"Since {rev.describe()} ({rev.subject}):")
    for s in sentences:
        print(f"- {s}")
    return 0
