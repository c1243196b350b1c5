"""The review's inputs at a git revision, and which revision counts as the previous version.

`numbers_at(root, rev)` checks the sheets and the plan out of git into a temporary folder
and computes the numbers from them with the code that is running now, so a comparison
with the current numbers shows what the data changed, not what the code changed.
`lock_at` reads the lock committed at a revision instead (what that version reported).
Every git failure is one InputError line; nothing here writes into the project.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import with_path

from .gitrepo import INPUTS, git, inputs_changed  # noqa: F401  (also read from here)


@dataclass(frozen=True)
class Revision:
    sha: str
    short: str
    date: str      # committer date, YYYY-MM-DD
    subject: str

    def describe(self) -> str:
        return f"commit {self.short}, {self.date}"


def _prefix(root) -> str:
    """The project folder's path inside its repository ('' at the top, else 'sub/dir/')."""
    return git(root, "rev-parse", "--show-prefix").strip()


def resolve(root, rev: str) -> Revision:
    """The commit `rev` names; InputError when it names none."""
    if rev.startswith("-"):  # never let a revision be read as an option
        raise InputError(f"{rev}: not a revision")
    _prefix(root)  # fails first, and clearly, outside a repository
    try:
        out = git(root, "log", "-1", "--format=%H%x00%h%x00%cs%x00%s", f"{rev}^{{commit}}", "--")
    except InputError:
        raise InputError(f"{rev}: no such revision in {root}") from None
    sha, short, date, subject = out.rstrip("\n").split("\x00", 3)
    return Revision(sha, short, date, subject)


def export_inputs(root, rev: Revision, dest: Path) -> Path:
    """Write the review's inputs at `rev` under `dest`; the project folder inside it is returned."""
    prefix = _prefix(root)
    # ls-tree and archive read paths relative to the folder git runs in (and archive also
    # writes them so): run both at the top of the repository, with the prefix spelled out.
    top = git(root, "rev-parse", "--show-toplevel").strip()
    wanted = [prefix + p for p in INPUTS]
    present = [p for p in git(top, "ls-tree", "-z", "--name-only", rev.sha, "--", *wanted).split("\0") if p]
    if prefix + "extraction" not in present:
        raise InputError(f"{rev.short}: has no {prefix}extraction/ folder")
    data = git(top, "archive", "--format=tar", rev.sha, "--", *present, binary=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        # the data filter refuses links and absolute paths that could write outside dest
        try:
            tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        except OSError as exc:  # a full temporary folder: name it, the write did not
            raise with_path(exc, dest) from None
    return dest / prefix


def numbers_at(root, rev: str) -> tuple[dict, Revision]:
    """The numbers computed now from the sheets as they were at `rev`."""
    from .numbers import project_numbers

    revision = resolve(root, rev)
    with tempfile.TemporaryDirectory(prefix="review-rev-") as tmp:
        project = export_inputs(root, revision, Path(tmp))
        try:
            return project_numbers(project), revision
        except InputError as exc:
            raise InputError(f"the sheets at {revision.short} cannot be read by this version: {exc}") from None


def names_at(root, rev: Revision):
    """Study, outcome and PRISMA names as they were at `rev` (for studies since removed)."""
    from .names import names_for

    with tempfile.TemporaryDirectory(prefix="review-rev-") as tmp:
        return names_for(export_inputs(root, rev, Path(tmp)))


def lock_at(root, rev: str) -> tuple[dict, Revision]:
    """The numbers lock as committed at `rev`."""
    from .lock import LOCK_FILE, parse_lock

    revision = resolve(root, rev)
    try:
        text = git(root, "show", f"{revision.sha}:./{LOCK_FILE}")
    except InputError:
        raise InputError(f"{revision.short}: has no {LOCK_FILE}") from None
    return parse_lock(text, f"{LOCK_FILE} at {revision.short}"), revision


def previous_version(root) -> Revision | None:
    """The version the current numbers are compared with in the review's version note.

    While the inputs have uncommitted changes, that is the last commit; once they are
    committed, it is the commit before the last one that changed them. Both name the same
    commit, so committing an update does not change the note. None without history.
    """
    if inputs_changed(root):
        try:
            return _with_sheets(root, resolve(root, "HEAD"))
        except InputError:  # a repository without commits yet
            return None
    last = git(root, "log", "-1", "--format=%H", "--", *INPUTS).strip()
    if not last:
        return None
    try:
        return _with_sheets(root, resolve(root, f"{last}^"))
    except InputError:  # the inputs were added by the first commit (or history is shallow)
        return None


def _with_sheets(root, rev: Revision) -> Revision | None:
    """`rev`, or None when it has no extraction folder yet (the sheets were added after it,
    e.g. in a repository that started with a README): it is no earlier version of them."""
    try:
        git(root, "cat-file", "-e", f"{rev.sha}:./extraction")
    except InputError:
        return None
    return rev
