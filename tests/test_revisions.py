"""The review's inputs at a git revision, the previous version, and the version note.

Every test builds its own git repository under pytest's tmp_path (below /tmp, outside any
other repository). Small synthetic projects test which commit counts as the previous
version; a committed copy of the bundled review tests the numbers recomputed at a revision
and the version note's exact text.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from analysis.living.changelog import version_note
from analysis.errors import InputError
from analysis.living.lock import LOCK_FILE, read_lock
from analysis.living.versions import long_date, read_version
from analysis.living.numbers import clean, diff_numbers, project_numbers
from analysis.render.api import inputs_digest
from analysis.living.revisions import (
    Revision, export_inputs, inputs_changed, lock_at, names_at, numbers_at, previous_version, resolve,
)

from test_numbers import copy_project, edit_cell

GIT = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]

NO_HISTORY = ("This copy of the review carries no revision history, so it cannot list what "
              "changed since an earlier version of the extraction sheets.")
NO_EARLIER = ("No earlier version of the extraction sheets is in this copy's history, so there "
              "is nothing to compare these numbers with.")


def _git(cwd, *args: str, day: int = 1) -> str:
    """git in `cwd`; commits get a fixed date, 2024-03-<day>, so that their description is known."""
    date = f"2024-03-{day:02d}T12:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return subprocess.run([*GIT, "-C", str(cwd), *args], check=True, capture_output=True, text=True,
                          env=env).stdout


def _commit(repo, message: str, day: int) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, day=day)
    return _git(repo, "rev-parse", "HEAD").strip()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _project(root: Path) -> Path:
    """A minimal project: what previous_version looks at, and a document that is not an input."""
    _write(root / "extraction" / "studies.csv", "study,label\nab2020,Ab 2020\n")
    _write(root / "analysis_plan.yml", "outcomes: []\n")
    _write(root / "references.bib", "@article{ab2020, title = {A}}\n")
    _write(root / "review.qmd", "# Review\n")
    return root


def _repo(tmp_path: Path) -> Path:
    root = _project(tmp_path / "review")
    _git(root, "init", "-q")
    return root


def _sha(repo, rev: str = "HEAD") -> str:
    return _git(repo, "rev-parse", rev).strip()


def _short(repo, rev: str = "HEAD") -> str:
    return _git(repo, "rev-parse", "--short", rev).strip()


def test_tmp_path_is_outside_any_repository(tmp_path):
    # what the tests below rely on: a folder that is not in a repository is really not
    proc = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "--git-dir"], capture_output=True, text=True)
    assert proc.returncode != 0 and "not a git repository" in proc.stderr


# --- resolve ----------------------------------------------------------------------------

def test_resolve_head_a_tag_and_an_unknown_name(tmp_path):
    root = _repo(tmp_path)
    first = _commit(root, "Sheets as published", day=4)
    _git(root, "tag", "v1")
    _git(root, "tag", "-a", "v1-annotated", "-m", "the published version")
    _write(root / "review.qmd", "# Review, revised\n")
    second = _commit(root, "Revise the text", day=9)

    assert resolve(root, "HEAD") == Revision(second, _short(root, second), "2024-03-09", "Revise the text")
    assert resolve(root, "v1") == Revision(first, _short(root, first), "2024-03-04", "Sheets as published")
    assert resolve(root, "v1-annotated").sha == first  # a tag object names its commit
    assert resolve(root, "HEAD~1").describe() == f"commit {_short(root, first)}, 2024-03-04"

    for name in ("no-such-tag", "HEAD~2", "v1:review.qmd"):
        with pytest.raises(InputError) as exc:
            resolve(root, name)
        assert str(exc.value) == f"{name}: no such revision in {root}"
    with pytest.raises(InputError) as exc:
        resolve(root, "--all")
    assert str(exc.value) == "--all: not a revision"
    with pytest.raises(InputError) as exc:
        resolve(root, "-1")
    assert str(exc.value) == "-1: not a revision"


def test_outside_any_repository(tmp_path):
    root = _project(tmp_path / "review")
    for call, command in ((lambda: resolve(root, "HEAD"), "rev-parse"), (lambda: previous_version(root), "status"),
                          (lambda: numbers_at(root, "HEAD"), "rev-parse"), (lambda: lock_at(root, "HEAD"), "rev-parse")):
        with pytest.raises(InputError) as exc:
            call()
        assert str(exc.value) == (f"git {command} failed in {root}: "
                                  "fatal: not a git repository (or any of the parent directories): .git")
    assert version_note(root) == NO_HISTORY
    assert inputs_digest(root, "builtin", "html") == inputs_digest(root, "builtin", "html")


# --- the previous version ---------------------------------------------------------------

def test_previous_version_follows_the_inputs(tmp_path):
    root = _repo(tmp_path)
    c1 = _commit(root, "Sheets", day=1)
    # (d) the inputs came with the first commit and have not changed since
    assert previous_version(root) is None
    _write(root / "review.qmd", "# Review, revised\n")
    _commit(root, "Text only", day=2)
    assert previous_version(root) is None                    # (c) the text is not an input

    _write(root / "extraction" / "studies.csv", "study,label\nab2020,Ab 2020\ncd2021,Cd 2021\n")
    # (a) an uncommitted change to the sheets: compared with the last commit
    assert inputs_changed(root)
    c2 = _sha(root)
    assert previous_version(root).sha == c2
    c3 = _commit(root, "Add Cd 2021", day=3)
    # (b) once committed: the parent of that commit, the same one as before committing
    assert previous_version(root) == resolve(root, c2)
    _write(root / "review.qmd", "# Review, revised again\n")
    _write(root / "README.md", "notes\n")
    _commit(root, "Text and notes", day=4)
    assert previous_version(root).sha == c2                  # (c) still
    _write(root / "analysis_plan.yml", "outcomes: [] # revised\n")
    c5 = _commit(root, "Revise the plan", day=5)
    assert previous_version(root).sha == _sha(root, f"{c5}^")
    _write(root / "references.bib", "@article{ab2020, title = {A, corrected}}\n")
    c6 = _commit(root, "Correct a reference", day=6)
    assert previous_version(root).sha == _sha(root, f"{c6}^")
    # (e) a new file in extraction/, not yet added to git, is a change
    _write(root / "extraction" / "notes.csv", "note\nx\n")
    assert inputs_changed(root)
    assert previous_version(root).sha == c6
    assert len({c1, c2, c3, c5, c6}) == 5


def test_previous_version_is_none_when_the_sheets_came_after_the_first_commit(tmp_path):
    # a repository that starts with a README: the commit before the sheets is no version of them
    repo = tmp_path / "review"
    _write(repo / "README.md", "a review\n")
    _git(repo, "init", "-q")
    readme = _commit(repo, "README", day=1)
    _project(repo)
    assert inputs_changed(repo) and previous_version(repo) is None   # untracked sheets, HEAD has none
    _commit(repo, "Sheets", day=2)
    assert previous_version(repo) is None
    assert version_note(repo) == NO_EARLIER
    with pytest.raises(InputError) as exc:
        export_inputs(repo, resolve(repo, readme), tmp_path / "out")
    assert str(exc.value) == f"{_short(repo, readme)}: has no extraction/ folder"


def test_a_repository_without_commits(tmp_path):
    root = _repo(tmp_path)
    assert inputs_changed(root)  # everything is untracked
    assert previous_version(root) is None
    assert version_note(root) == NO_EARLIER
    with pytest.raises(InputError) as exc:
        resolve(root, "HEAD")
    assert str(exc.value) == f"HEAD: no such revision in {root}"


def test_export_inputs_writes_only_the_inputs(tmp_path):
    root = _repo(tmp_path)
    _commit(root, "Sheets", day=1)
    _write(root / "extraction" / "studies.csv", "study,label\nchanged,Changed\n")  # not committed
    dest = tmp_path / "out"
    project = export_inputs(root, resolve(root, "HEAD"), dest)
    assert project == dest
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == ["analysis_plan.yml", "extraction/studies.csv", "references.bib"]
    assert (dest / "extraction" / "studies.csv").read_text(encoding="utf-8") == "study,label\nab2020,Ab 2020\n"
    assert names_at(root, resolve(root, "HEAD")).studies == {"ab2020": "Ab 2020"}


def test_lock_at_a_revision_without_a_lock(tmp_path):
    root = _repo(tmp_path)
    _commit(root, "Sheets", day=1)
    with pytest.raises(InputError) as exc:
        lock_at(root, "HEAD")
    assert str(exc.value) == f"{_short(root)}: has no numbers.lock"
    _write(root / LOCK_FILE, "studies.included = 1\nanalysis.X.status = \"pooled\"\n")
    _commit(root, "Lock", day=2)
    numbers, rev = lock_at(root, "HEAD")
    assert numbers == {"studies.included": 1, "analysis.X.status": "pooled"}
    assert rev.subject == "Lock"
    # a broken lock names itself and the commit
    _write(root / LOCK_FILE, "studies.included 1\n")
    _commit(root, "Broken lock", day=3)
    with pytest.raises(InputError) as exc:
        lock_at(root, "HEAD")
    assert str(exc.value) == f"numbers.lock at {_short(root)}:1: expected `key = value`, got 'studies.included 1'"


def test_a_project_in_a_subfolder_of_the_repository(tmp_path):
    repo = tmp_path / "repo"
    # the repository has inputs of its own at the top, which are not the project's
    _write(repo / "extraction" / "top.csv", "x\n1\n")
    _write(repo / LOCK_FILE, "top.only = 1\n")
    root = _project(repo / "sub dir" / "review")
    _write(root / LOCK_FILE, "studies.included = 1\n")
    _git(repo, "init", "-q")
    c1 = _commit(repo, "Everything", day=1)
    assert previous_version(root) is None

    _write(repo / "extraction" / "top.csv", "x\n2\n")
    assert not inputs_changed(root)               # the top's sheets are not the project's
    assert previous_version(root) is None
    _commit(repo, "Top sheets only", day=2)
    assert previous_version(root) is None
    _write(root / "extraction" / "studies.csv", "study,label\nab2020,Ab 2020\ncd2021,Cd 2021\n")
    assert inputs_changed(root) and previous_version(root).sha == _sha(repo)
    c3 = _commit(repo, "Add Cd 2021", day=3)
    assert previous_version(root).sha == _sha(repo, f"{c3}^")

    dest = tmp_path / "out"
    project = export_inputs(root, resolve(root, c1), dest)
    assert project == dest / "sub dir" / "review"
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == ["sub dir/review/analysis_plan.yml", "sub dir/review/extraction/studies.csv",
                     "sub dir/review/references.bib"]
    assert (project / "extraction" / "studies.csv").read_text(encoding="utf-8") == "study,label\nab2020,Ab 2020\n"
    assert names_at(root, resolve(root, "HEAD")).studies == {"ab2020": "Ab 2020", "cd2021": "Cd 2021"}
    assert lock_at(root, "HEAD")[0] == {"studies.included": 1}
    assert lock_at(repo, "HEAD")[0] == {"top.only": 1}


def test_the_render_cache_key_follows_the_previous_version(tmp_path):
    root = _repo(tmp_path)
    _commit(root, "Sheets", day=1)
    _write(root / "extraction" / "studies.csv", "study,label\nab2020,Ab 2020\ncd2021,Cd 2021\n")
    _commit(root, "Add Cd 2021", day=2)
    key = inputs_digest(root, "builtin", "html")
    assert inputs_digest(root, "builtin", "html") == key
    assert inputs_digest(root, "builtin", "pdf") != key

    # a committed file that is neither an input nor read by the render: same key
    _write(root / "README.md", "notes\n")
    _commit(root, "Notes", day=3)
    assert inputs_digest(root, "builtin", "html") == key

    # an update, before and after it is committed: one key (the note compares with the same commit)
    _write(root / "extraction" / "studies.csv", "study,label\nab2020,Ab 2020\n")
    before = _sha(root)
    updated = inputs_digest(root, "builtin", "html")
    assert updated != key
    _commit(root, "Drop Cd 2021", day=4)
    assert previous_version(root).sha == before
    assert inputs_digest(root, "builtin", "html") == updated

    # the same files compared with another version: another key
    _write(root / "extraction" / "studies.csv", "study,label\nab2020,Ab 2020\nef2022,Ef 2022\n")
    _commit(root, "Add Ef 2022", day=5)
    _write(root / "extraction" / "studies.csv", "study,label\nab2020,Ab 2020\n")
    _commit(root, "Drop Ef 2022 again", day=6)
    assert previous_version(root).sha == _sha(root, "HEAD~1")
    assert inputs_digest(root, "builtin", "html") != updated


# --- the bundled review at its revisions ------------------------------------------------

VERTIGO = {"study": "im2022", "event": "vertigo"}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """The bundled review committed three times: as published; with an uncited reference
    added (no number moves); with a second vertigo in Im 2022."""
    root = copy_project(tmp_path_factory.mktemp("revisions") / "review")
    _git(root, "init", "-q")
    published_sha = _commit(root, "Review as published", day=1)
    published = project_numbers(root)
    bib = root / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + "\n@misc{uncited2024,\n  author = {Nobody},\n  year = {2024},\n  title = {Not cited}\n}\n",
                   encoding="utf-8")
    uncited_sha = _commit(root, "Add an uncited reference", day=2)
    edit_cell(root / "extraction" / "adverse_events.csv", VERTIGO, "events", "2")
    edited_sha = _commit(root, "Second vertigo in Im 2022", day=3)
    edited = project_numbers(root)
    return root, {"published": published_sha, "uncited": uncited_sha, "edited": edited_sha}, published, edited


def test_numbers_at_a_revision_are_its_sheets_recomputed(history):
    root, shas, published, _ = history
    numbers, rev = numbers_at(root, "HEAD~2")
    assert rev == resolve(root, shas["published"]) and rev.subject == "Review as published"
    assert numbers == published
    assert numbers["studies.included"] == 14
    # nothing is written into the project
    assert _git(root, "status", "--porcelain") == ""


def test_numbers_at_head_after_an_edit_differ_in_exactly_the_edited_numbers(history):
    root, _, published, edited = history
    numbers, rev = numbers_at(root, "HEAD")
    assert numbers == edited and rev.subject == "Second vertigo in Im 2022"
    changes = {c.key: (c.old, c.new) for c in diff_numbers(published, numbers)}
    assert set(changes) == {f"safety.vertigo.{role}.{f}" for role in ("active", "total")
                            for f in ("events", "proportion", "ci_lb", "ci_ub")} | {
        "ledger.C27.reproduced", "ledger.C27.status"}
    assert changes["safety.vertigo.active.events"] == (1, 2)
    assert changes["safety.vertigo.total.events"] == (1, 2)
    assert changes["safety.vertigo.active.proportion"] == (clean(1 / 38), clean(2 / 38))
    assert changes["safety.vertigo.total.proportion"] == (clean(1 / 48), clean(2 / 48))
    assert changes["ledger.C27.reproduced"] == ("1", "2")
    assert changes["ledger.C27.status"] == ("consistent (taken from the review)", "differs")


def test_lock_at_reads_the_committed_lock(history):
    root, shas, _, _ = history
    numbers, rev = lock_at(root, shas["published"])
    assert rev.sha == shas["published"]
    assert numbers == read_lock(root / LOCK_FILE)  # the lock was not changed since
    assert numbers["ledger.C27.status"] == "consistent (taken from the review)"


def test_version_note_when_something_moved(history):
    root, shas, _, edited = history
    # the last commit changed the sheets: compared with the one before it
    assert previous_version(root).sha == shas["uncited"]
    note = version_note(root, edited)
    # the copy carries the bundled review's version file, not locked again in this history
    v = read_version(root)
    assert note.splitlines() == [
        f"Since version {v.number} ({long_date(v.date)}), the evidence changed as follows:",
        "",
        "- Adverse events, vertigo: 2 of 38 participants in active arms (was 1 of 38).",
        "",
        "Also changed, without new evidence: the reproduction ledger's check of one statement of the "
        "published review (C27).",
    ]


def test_version_note_when_nothing_moved(history, tmp_path):
    root, shas, _, edited = history
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(root), str(clone))
    # an uncommitted change to an input that moves no number: compared with the last commit
    bib = clone / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + "\n% a comment\n", encoding="utf-8")
    assert previous_version(clone).sha == shas["edited"]
    v = read_version(clone)
    assert version_note(clone, edited) == (
        f"This is version {v.number} of the review, dated {long_date(v.date)}. The last change to its sheets "
        "moved none of the numbers it reports.")


def test_version_note_when_the_previous_sheets_cannot_be_read(history, tmp_path):
    # a previous version whose sheets this version refuses: the note says so in one sentence
    root, shas, _, edited = history
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(root), str(clone))
    edit_cell(clone / "extraction" / "adverse_events.csv", VERTIGO, "events", "-1")
    bad = _commit(clone, "A negative count", day=4)
    edit_cell(clone / "extraction" / "adverse_events.csv", VERTIGO, "events", "2")
    _commit(clone, "Count corrected", day=5)
    assert previous_version(clone).sha == bad
    note = version_note(clone, edited)
    short = _short(clone, bad)
    line = next(i for i, r in enumerate((clone / "extraction/adverse_events.csv").read_text().splitlines(), 1)
                if r.startswith("im2022,rtms,vertigo,"))
    v = read_version(clone)
    assert short not in note
    assert note == (f"The numbers could not be compared with version {v.number} ({long_date(v.date)}): its sheets "
                    "cannot be read by this version of the toolkit: "
                    f"adverse_events.csv:{line}:events: below the minimum 0 (-1).")
