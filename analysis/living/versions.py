"""The review's version: a number and the date of the last change to its data, kept beside the lock.

`_version.yml` holds three lines that `review lock` writes:

    date: 2026-11-25
    version: 4
    numbers-digest: 3f2a9c0d1b7e6a55

A version is one state of the review's data and the numbers computed from them. Each
`review lock` that moves a number after a change to the sheets, the plan or the
bibliography starts a new version: its number is one more than the version last committed
(so locking again before the commit keeps the same number) and its date is the day of the
lock, the day the data last changed. A lock that moves nothing, or moves numbers only
because the toolkit's code changed, keeps the version and its date. The
digest ties the file to `numbers.lock`; `review check` fails when they disagree, so the
date cannot stay behind the numbers.

The project's `_quarto.yml` names the file under `metadata-files`, the Quarto option that
merges a YAML file into the project's metadata (quarto-cli src/config/metadata.ts,
`includedMetadata`). Quarto and the built-in renderer both read the date from it into the
title block, and the version note reads the number. The leading underscore keeps Quarto
from treating it as a document to render.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import write_text_atomic

VERSION_FILE = "_version.yml"
HEADER = (
    "# The review's version, written by `review lock`: do not edit by hand.\n"
    "# date: the day the review's numbers last changed (the title block shows it);\n"
    "# version: counts the locks that moved a number; numbers-digest: ties this file to numbers.lock.\n"
    "# _quarto.yml names this file under metadata-files, so Quarto and the built-in renderer read it.\n"
)
_LINE = re.compile(r"^(date|version|numbers-digest):\s*(.*?)\s*$")


@dataclass(frozen=True)
class Version:
    number: int
    date: str      # YYYY-MM-DD
    digest: str

    def describe(self) -> str:
        return f"version {self.number} ({long_date(self.date)})"


def long_date(iso: str) -> str:
    """'25 November 2026' for 2026-11-25; the text itself when it is not a date."""
    try:
        d = _dt.date.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    return f"{d.day} {d:%B} {d.year}"


def digest(numbers: dict) -> str:
    """A short fingerprint of a set of numbers, as the lock writes them."""
    text = "\n".join(f"{k} = {json.dumps(numbers[k], ensure_ascii=False)}" for k in sorted(numbers))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def version_path(root) -> Path:
    return Path(root) / VERSION_FILE


def dumps_version(v: Version) -> str:
    return HEADER + f"date: {v.date}\nversion: {v.number}\nnumbers-digest: {v.digest}\n"


def parse_version(text: str, file: str = VERSION_FILE) -> Version:
    """The version in a file's text; InputError naming the line that is wrong or the field missing."""
    found: dict = {}
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise InputError(f"{file}:{i}: expected `date:`, `version:` or `numbers-digest:`, got {line.strip()[:60]!r}")
        key, value = m.group(1), m.group(2).strip("'\"")
        if key == "date":
            try:
                _dt.date.fromisoformat(value)
            except ValueError:
                raise InputError(f"{file}:{i}: date: not a date YYYY-MM-DD ({value})") from None
        if key == "version" and not value.isdigit():
            raise InputError(f"{file}:{i}: version: not a whole number ({value})")
        found[key] = value
    for key in ("date", "version", "numbers-digest"):
        if key not in found:
            raise InputError(f"{file}: no `{key}:` line; rewrite it with `review lock`")
    return Version(int(found["version"]), found["date"], found["numbers-digest"])


def read_version(root) -> Version | None:
    """The project's version; None when it has no version file yet."""
    path = version_path(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    return parse_version(text, path.name)


def version_at(root, sha: str) -> Version | None:
    """The version file as committed at `sha`; None when that commit has none (or it does not parse)."""
    from .gitrepo import git

    try:
        text = git(root, "show", f"{sha}:./{VERSION_FILE}")
        return parse_version(text, f"{VERSION_FILE} at {sha[:7]}")
    except InputError:
        return None


def _committed(root) -> Version | None:
    try:
        return version_at(root, "HEAD")
    except InputError:
        return None


def _last_data_date(root) -> str | None:
    """The committer date of the last commit that changed the review's inputs, if any."""
    from .gitrepo import INPUTS, git

    try:
        out = git(root, "log", "-1", "--format=%cs", "--", *INPUTS).strip()
    except InputError:
        return None
    return out or None


def data_changed_since_version(root) -> bool:
    """Whether the review's inputs changed since the version file was last committed: they
    have uncommitted changes, or a commit after the version file's last one changed them.
    True without git history (every moved number then counts)."""
    from .gitrepo import INPUTS, git, inputs_changed

    try:
        if inputs_changed(root):
            return True
        last = git(root, "log", "-1", "--format=%H", "--", VERSION_FILE).strip()
        if not last:
            return True
        return int(git(root, "rev-list", "--count", f"{last}..HEAD", "--", *INPUTS).strip() or 0) > 0
    except InputError:
        return True


def next_version(root, numbers: dict, moved: bool, today: str | None = None) -> Version | None:
    """The version to write after a lock of `numbers`; None when the file stays as it is.

    `moved`: whether the lock moved a number. Numbers that moved while the sheets, plan and
    bibliography did not (a change of the toolkit's code) keep the version and its date.
    The first version of a project is 1, dated by the last commit that changed its data
    (today when it has none, or changes are not committed yet).
    """
    today = today or _dt.date.today().isoformat()
    current = read_version(root) if version_path(root).exists() else None
    fingerprint = digest(numbers)
    if current is not None and (not moved or not data_changed_since_version(root)):
        if current.digest == fingerprint:
            return None
        return Version(current.number, current.date, fingerprint)
    committed = _committed(root)
    base = committed or current
    if base is None:
        from .gitrepo import inputs_changed

        try:
            pending = inputs_changed(root)
        except InputError:
            pending = True
        date = today if moved and pending else (_last_data_date(root) or today)
        return Version(1, date, fingerprint)
    return Version(base.number + 1, today, fingerprint)


def write_version(root, v: Version) -> None:
    write_text_atomic(version_path(root), dumps_version(v))


def version_problem(root, locked: dict) -> str | None:
    """Why the version file does not go with the lock `locked`, or None when it does."""
    path = version_path(root)
    try:
        v = read_version(root)
    except InputError as exc:
        return str(exc)
    if v is None:
        return f"{VERSION_FILE} is missing; `review lock` writes it with the review's date and version"
    if v.digest != digest(locked):
        return (f"{VERSION_FILE} (version {v.number}, {v.date}) was not written with this numbers.lock; "
                "run `review lock` so that the review's date and version follow its numbers")
    problem = _named_in_quarto(path.parent)
    return problem


def _named_in_quarto(root: Path) -> str | None:
    """_quarto.yml, when the project has one, must name the version file under metadata-files."""
    import yaml

    quarto = root / "_quarto.yml"
    if not quarto.is_file():
        return None
    try:
        data = yaml.safe_load(quarto.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # review validate and the render report a broken _quarto.yml
    files = data.get("metadata-files") if isinstance(data, dict) else None
    if not isinstance(files, list) or VERSION_FILE not in [str(f) for f in files]:
        return (f"_quarto.yml does not name {VERSION_FILE} under metadata-files, so the title block "
                f"would not show the review's date; add `metadata-files: [{VERSION_FILE}]`")
    return None
