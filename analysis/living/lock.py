"""The numbers lock: every number the review reports, committed next to the sheets.

`numbers.lock` holds one `key = value` line per number, sorted by key, values written
as JSON (strings quoted, `null` for an empty cell) and floats to `numbers.DIGITS`
significant digits, so `git diff numbers.lock` shows each moved number on its own line.

`check(root)` recomputes the numbers from the sheets and compares them with the lock;
`lock(root)` rewrites it. Both return the list of changes, which `changes_table` prints
as name, locked value, new value and difference. Tolerance: a float counts as unchanged
when it differs from the locked value by at most one unit in its sixth significant
digit (`numbers.within_tolerance`); integers, text and empty values must match exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from ..files import write_text_atomic
from .numbers import ADDED, CHANGED, REMOVED, Change, DIGITS, diff_numbers, is_number, project_numbers, show

LOCK_FILE = "numbers.lock"
HEADER = (
    "# Every number the review reports, recomputed from the sheets by `review check`.\n"
    "# After an intended change, rewrite it with `review lock` and commit it with the sheets.\n"
    f"# One `key = value` line per number; floats to {DIGITS} significant digits.\n"
)
SEPARATOR = " = "


def lock_path(root) -> Path:
    return Path(root) / LOCK_FILE


def dumps_lock(numbers: dict) -> str:
    """The lock's text: the header, then one sorted `key = json` line per number."""
    lines = [f"{k}{SEPARATOR}{json.dumps(numbers[k], ensure_ascii=False, allow_nan=False)}"
             for k in sorted(numbers)]
    return HEADER + "\n".join(lines) + "\n"


def parse_lock(text: str, file: str = LOCK_FILE) -> dict:
    """key -> value from a lock's text; InputError naming the line that is not `key = value`."""
    numbers: dict = {}
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, raw = line.partition(SEPARATOR)
        key = key.strip()
        if not sep or not key or " " in key:
            raise InputError(f"{file}:{i}: expected `key = value`, got {line.strip()[:60]!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            raise InputError(f"{file}:{i}: {key}: value {raw.strip()[:40]!r} is not a number, "
                             "quoted text, true/false or null") from None
        if isinstance(value, (list, dict)):
            raise InputError(f"{file}:{i}: {key}: a single value is expected, not {raw.strip()[:40]}")
        if key in numbers:
            raise InputError(f"{file}:{i}: {key} appears twice")
        numbers[key] = value
    return numbers


def read_lock(path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: not found; create it with `review lock`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    return parse_lock(text, path.name)


def check(root) -> list[Change]:
    """What moved between the committed lock and the numbers recomputed from the sheets."""
    locked = read_lock(lock_path(root))  # first: a missing lock should not wait for the synthesis
    return diff_numbers(locked, project_numbers(root))


def lock(root, today: str | None = None) -> list[Change]:
    """Rewrite the lock from the sheets; the changes against the previous lock (all added when new).

    When a number moved, the review's version file (`versions.VERSION_FILE`) gets the next
    version number, dated `today` (default: the date of the lock).
    """
    from .versions import next_version, write_version

    path = lock_path(root)
    try:
        previous = read_lock(path)
    except InputError:  # no lock yet, or one that no longer parses: it is rebuilt either way
        previous = {}
    numbers = project_numbers(root)
    changes = diff_numbers(previous, numbers)
    version = next_version(root, numbers, moved=bool(changes), today=today)
    write_text_atomic(path, dumps_lock(numbers))
    if version is not None:
        write_version(root, version)
    return changes


# --- the table of what moved ------------------------------------------------------------

def difference(c: Change) -> str:
    """new - locked for two numbers; otherwise the kind of change."""
    if c.kind == ADDED:
        return "added"
    if c.kind == REMOVED:
        return "removed"
    a, b = c.old, c.new
    if is_number(a) and is_number(b):
        d = b - a
        return f"{d:+d}" if isinstance(d, int) else f"{d:+.{DIGITS}g}"
    return "changed"


TABLE_CELL = 60  # characters of a value shown in the table; `review numbers --json` has them whole


def _clip(text: str) -> str:
    """A long value (the list of a thousand studies' keys) cut short: every row is padded to the
    widest cell, so one such value would otherwise make the table gigabytes long."""
    return text if len(text) <= TABLE_CELL else text[: TABLE_CELL - 3] + "..."


def changes_table(changes: list[Change], old_label: str = "locked", new_label: str = "new") -> str:
    """An aligned table: number, locked, new, difference (one row per change)."""
    if not changes:
        return "no number moved"
    rows = [("number", old_label, new_label, "difference")]
    for c in changes:
        rows.append((c.key, "" if c.kind == ADDED else _clip(show(c.old)),
                     "" if c.kind == REMOVED else _clip(show(c.new)), difference(c)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out = []
    for j, r in enumerate(rows):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(r[:3], widths)) + "  " + r[3])
        if j == 0:
            out.append("  ".join("-" * w for w in widths) + "  " + "-" * len("difference"))
    return "\n".join(line.rstrip() for line in out)


def counts(changes: list[Change]) -> str:
    n = {k: sum(c.kind == k for c in changes) for k in (CHANGED, ADDED, REMOVED)}
    return ", ".join(f"{v} {k}" for k, v in n.items() if v) or "none"
