"""The version note a reader sees, and the version file `review lock` writes, on git histories
of a small synthetic project.

The project is `review new --example` cut down to three BCG trials (tuberculosis, a risk
ratio pooled on the log scale) and one stroke-unit study (length of stay, so a single study
and not pooled). Each test commits versions of it with a fixed clock and date, locks each
one, and compares the note's exact text: a study added, removed or corrected, an estimate
that moved, an outcome newly pooled or no longer pooled, harms that moved, a change that is
not evidence (a sheet new to the project), none, one and many studies at once.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.cli.new import create_project
from analysis.living.changelog import version_note
from analysis.living.lock import lock, lock_path, read_lock
from analysis.living.versions import (
    VERSION_FILE, Version, digest, parse_version, read_version, version_problem,
)
from analysis.errors import InputError
from trial_fixture import read_sheet, write_sheet

GIT = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
KEEP = {"bcg01", "bcg02", "bcg03", "normand1"}
SHEETS = ("studies.csv", "arms.csv", "outcomes.csv", "adverse_events.csv")


def _git(root, *args, day=1):
    date = f"2026-03-{day:02d}T12:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return subprocess.run([*GIT, "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout


def _keep(root: Path, studies: set[str]) -> None:
    for name in SHEETS:
        path = root / "extraction" / name
        header, rows = read_sheet(path)
        write_sheet(path, header, [r for r in rows if r["study"] in studies])


def _edit(root: Path, name: str, match: dict, column: str, value: str) -> None:
    path = root / "extraction" / name
    header, rows = read_sheet(path)
    hits = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(hits) == 1, hits
    hits[0][column] = value
    write_sheet(path, header, rows)


def _append(root: Path, name: str, rows: list[dict]) -> None:
    path = root / "extraction" / name
    header, old = read_sheet(path)
    write_sheet(path, header, old + [{k: r.get(k, "") for k in header} for r in rows])


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """The whole example once, to take rows from."""
    return create_project(tmp_path_factory.mktemp("full") / "example", example=True)


def _from_full(full: Path, root: Path, studies: set[str]) -> None:
    """Add the rows of `studies` from the whole example to the project at `root`."""
    for name in SHEETS:
        _, rows = read_sheet(full / "extraction" / name)
        _append(root, name, [r for r in rows if r["study"] in studies])


def _version(root: Path, message: str, day: int) -> None:
    """Lock on 2026-03-<day> and commit everything as one version."""
    lock(root, today=f"2026-03-{day:02d}")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message, day=day)


@pytest.fixture
def project(full, tmp_path):
    root = tmp_path / "small"
    import shutil

    shutil.copytree(full, root)
    _keep(root, KEEP)
    (root / VERSION_FILE).unlink()  # a project of its own, starting at version 1
    _git(root, "init", "-q")
    _version(root, "Three BCG trials and one stroke-unit study", day=1)
    return root


def _note(root: Path) -> list[str]:
    return version_note(root).splitlines()


def _headache(study: str, active: int, control: int, n: int = 100) -> list[dict]:
    base = {"study": study, "event": "headache", "severity": "mild", "status": "reported",
            "source": "synthetic", "location": "table 3"}
    return [dict(base, arm="vaccinated", events=str(active), at_risk=str(n)),
            dict(base, arm="control", events=str(control), at_risk=str(n))]


# --- the version file -------------------------------------------------------------------

def test_the_first_lock_is_version_1_and_each_lock_that_moves_a_number_the_next(project, full):
    v1 = read_version(project)
    assert (v1.number, v1.date) == (1, "2026-03-01")
    assert v1.digest == digest(read_lock(lock_path(project)))
    text = (project / VERSION_FILE).read_text(encoding="utf-8")
    assert text.splitlines()[-3:] == ["date: 2026-03-01", "version: 1", f"numbers-digest: {v1.digest}"]
    assert parse_version(text) == v1

    # a lock that moves nothing leaves the version as it is
    lock(project, today="2026-03-09")
    assert read_version(project) == v1

    # an update locked twice before it is committed stays one version, dated by the last lock
    _from_full(full, project, {"normand2"})
    lock(project, today="2026-03-10")
    assert (read_version(project).number, read_version(project).date) == (2, "2026-03-10")
    _edit(project, "outcomes.csv", {"study": "normand2", "arm": "routine"}, "sd", "20")
    lock(project, today="2026-03-11")
    assert (read_version(project).number, read_version(project).date) == (2, "2026-03-11")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "Add Orpington-Mild", day=11)
    _edit(project, "outcomes.csv", {"study": "normand2", "arm": "routine"}, "sd", "19")
    lock(project, today="2026-03-12")
    assert (read_version(project).number, read_version(project).date) == (3, "2026-03-12")


def test_numbers_moved_by_code_alone_keep_the_version(project):
    # a lock rewritten while the sheets stay as committed: what a change of the toolkit does
    v1 = read_version(project)
    path = lock_path(project)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(l for l in lines if not l.startswith("studies.list ")), encoding="utf-8")
    assert [c.key for c in lock(project, today="2026-03-20")] == ["studies.list"]
    assert read_version(project) == v1


def test_check_fails_when_the_version_file_does_not_go_with_the_lock(project, capsys):
    assert main(["check", "--root", str(project)]) == 0
    capsys.readouterr()
    path = project / VERSION_FILE
    good = path.read_text(encoding="utf-8")

    path.write_text(good.replace("date: 2026-03-01", "date: 2026-03-05").replace(
        f"numbers-digest: {read_version(project).digest}", "numbers-digest: 0000000000000000"), encoding="utf-8")
    assert main(["check", "--root", str(project)]) == 1
    assert capsys.readouterr().err == (
        f"review check: {VERSION_FILE} (version 1, 2026-03-05) was not written with this numbers.lock; "
        "run `review lock` so that the review's date and version follow its numbers\n")

    path.write_text(good.replace("date: 2026-03-01", "date: March"), encoding="utf-8")
    assert main(["check", "--root", str(project)]) == 1
    assert capsys.readouterr().err == f"review check: {VERSION_FILE}:5: date: not a date YYYY-MM-DD (March)\n"

    path.unlink()
    assert main(["check", "--root", str(project)]) == 1
    assert capsys.readouterr().err == (
        f"review check: {VERSION_FILE} is missing; `review lock` writes it with the review's date and version\n")

    path.write_text(good, encoding="utf-8")
    quarto = project / "_quarto.yml"
    quarto.write_text(quarto.read_text(encoding="utf-8").replace("  - _version.yml\n", ""), encoding="utf-8")
    assert version_problem(project, read_lock(lock_path(project))) == (
        f"_quarto.yml does not name {VERSION_FILE} under metadata-files, so the title block would not "
        f"show the review's date; add `metadata-files: [{VERSION_FILE}]`")


def test_a_broken_version_file_is_one_line():
    with pytest.raises(InputError) as exc:
        parse_version("date: 2026-03-01\nversion: two\nnumbers-digest: ab\n")
    assert str(exc.value) == f"{VERSION_FILE}:2: version: not a whole number (two)"
    with pytest.raises(InputError) as exc:
        parse_version("date: 2026-03-01\nnumbers-digest: ab\n")
    assert str(exc.value) == f"{VERSION_FILE}: no `version:` line; rewrite it with `review lock`"
    assert parse_version("date: '2026-03-01'\nversion: 3\nnumbers-digest: ab\n") == Version(3, "2026-03-01", "ab")


def test_the_title_block_date_is_the_version_files_in_the_built_in_renderer(project):
    from analysis.render import config

    meta = config.resolve(config.load_project(project), {}, "typst")
    assert str(meta["date"]) == "2026-03-01" and meta["version"] == 1
    # a new version is a new input of the render (its cache key changes with it)
    assert (project / VERSION_FILE).resolve() in config.named_files(project)


# --- the note ---------------------------------------------------------------------------

def test_no_earlier_version(project):
    assert version_note(project) == ("No earlier version of the extraction sheets is in this copy's "
                                     "history, so there is nothing to compare these numbers with.")


def test_a_study_added_makes_an_outcome_pooled(project, full):
    _from_full(full, project, {"normand2"})
    _version(project, "Add Orpington-Mild", day=8)
    assert _note(project) == [
        "This is version 2 of the review, dated 8 March 2026. Since version 1 (1 March 2026), "
        "the evidence changed as follows:",
        "",
        "- One study added: Orpington-Mild.",
        "- The review now includes five studies (previously four).",
        "- Length of hospital stay (days): now pooled from two studies (Edinburgh and Orpington-Mild): "
        "MD −9.93 (95% CI −27.45 to 7.58). Before, only Edinburgh gave usable data.",
        "- Length of hospital stay, standardised: now pooled from two studies (Edinburgh and Orpington-Mild): "
        "SMD −0.35 (95% CI −0.56 to −0.15). Before, only Edinburgh gave usable data.",
    ]


def test_a_study_removed_makes_an_outcome_no_longer_pooled(project, full):
    _from_full(full, project, {"normand2"})
    _version(project, "Add Orpington-Mild", day=8)
    _keep(project, KEEP)
    _version(project, "Orpington-Mild was not randomised", day=9)
    assert _note(project)[2:] == [
        "- One study removed: Orpington-Mild.",
        "- The review now includes four studies (previously five).",
        "- Length of hospital stay (days): no longer pooled; now only Edinburgh gives usable data. "
        "Before, MD −9.93 (95% CI −27.45 to 7.58) from two studies.",
        "- Length of hospital stay, standardised: no longer pooled; now only Edinburgh gives usable data. "
        "Before, SMD −0.35 (95% CI −0.56 to −0.15) from two studies.",
    ]
    assert _note(project)[0].startswith("This is version 3 of the review, dated 9 March 2026. Since version 2 (8 March 2026)")


def test_a_corrected_value_moves_its_study_and_the_estimates_on_the_ratio_scale(project):
    _edit(project, "outcomes.csv", {"study": "bcg02", "arm": "control"}, "events", "20")
    _version(project, "Ferguson & Simes 1949: 20 cases among the controls", day=4)
    assert _note(project)[2:] == [
        "- Data corrected in one study: Ferguson & Simes 1949.",
        "- Ferguson & Simes 1949, Tuberculosis, risk ratio (random effects): RR 0.30 (95% CI 0.12 to 0.73), "
        "was 0.20 (95% CI 0.09 to 0.49).",
        "- Ferguson & Simes 1949, Tuberculosis, risk ratio (Mantel-Haenszel): RR 0.30 (95% CI 0.12 to 0.73), "
        "was 0.20 (95% CI 0.09 to 0.49).",
        "- Tuberculosis, risk ratio (random effects): RR 0.32 (95% CI 0.17 to 0.59) from three studies, "
        "was 0.26 (95% CI 0.14 to 0.48).",
        "- Tuberculosis, risk ratio (Mantel-Haenszel): RR 0.32 (95% CI 0.17 to 0.58) from three studies, "
        "was 0.26 (95% CI 0.14 to 0.47).",
    ]


def test_harms_that_moved_and_became_pooled(project):
    _append(project, "adverse_events.csv", _headache("bcg01", 3, 1))
    _version(project, "Headache in Aronson 1948", day=5)
    assert _note(project)[2:] == [
        "- Adverse events, headache: first reported: 3 of 100 participants in active arms and 1 of 100 in control arms.",
    ]
    _append(project, "adverse_events.csv", _headache("bcg02", 4, 2))
    _version(project, "Headache in Ferguson & Simes 1949", day=6)
    assert _note(project)[2:] == [
        "- Adverse events, headache: 7 of 200 participants in active arms (was 3 of 100) and 3 of 200 in "
        "control arms (was 1 of 100); now pooled from two studies: Mantel-Haenszel risk difference 0.02 (95% CI −0.01 "
        "to 0.05) and Peto odds ratio 2.26 (95% CI 0.65 to 7.93).",
    ]


def test_several_studies_at_once_and_an_estimate_that_moved(project, full):
    _from_full(full, project, {"bcg04", "bcg05", "bcg06"})
    _version(project, "Three more BCG trials", day=7)
    note = _note(project)
    assert note[2:4] == [
        "- Three studies added: Frimodt-Moller et al 1973, Hart & Sutherland 1977 and Stein & Aronson 1953.",
        "- The review now includes seven studies (previously four).",
    ]
    assert note[4] == (
        "- Tuberculosis, risk ratio (random effects): RR 0.37 (95% CI 0.23 to 0.59) from six studies, was 0.26 "
        "(95% CI 0.14 to 0.48) from three; Stein & Aronson 1953, Frimodt-Moller et al 1973 and Hart & "
        "Sutherland 1977 added; I\u00b2 84%, was 0%.")
    # the plan's subgroups by allocation have two studies in each group now
    assert note[5] == (
        "- Tuberculosis, risk ratio (random effects), subgroups by method of treatment allocation: now compared, "
        "alternate RR 0.58 (95% CI 0.34 to 1.01) from two studies and random RR 0.24 (95% CI 0.19 to 0.31) "
        "from four studies; test for subgroup differences p = 0.004.")


def test_a_change_that_is_not_evidence_is_listed_apart(project):
    _append(project, "prisma.csv", [
        {"data": "total_studies", "label": "Total studies included", "n": "4", "status": "reported",
         "source": "synthetic", "location": "flow"}])
    _version(project, "Record the study flow", day=3)
    assert version_note(project) == (
        "This is version 2 of the review, dated 3 March 2026. No study, estimate or adverse-event count "
        "changed since version 1 (1 March 2026).\n\n"
        "Also changed, without new evidence: the study flow (PRISMA) is now recorded in its own sheet.")


def test_nothing_changed(project):
    bib = project / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + "\n% checked again\n", encoding="utf-8")
    _version(project, "A comment in the bibliography", day=2)
    assert version_note(project) == (
        "This is version 1 of the review, dated 1 March 2026. The last change to its sheets moved none of "
        "the numbers it reports.")


# --- records that are not evidence, from the numbers alone --------------------------------

def test_a_search_sheet_new_to_the_project_is_not_a_new_search():
    from analysis.living.note import evidence_changes, record_changes

    old = {"studies.included": 2, "ledger.C39.reproduced": None, "ledger.C39.status": "cannot be checked"}
    new = {"studies.included": 2, "search.sources": 5, "search.by_kind.database": 4,
           "search.source.PubMed.date_searched": "2024-03-01", "search.source.PubMed.date_qualifier": "before",
           "ledger.C39.reproduced": "2024-03-01", "ledger.C39.status": "reproduced"}
    assert evidence_changes(old, new) == []
    assert record_changes(old, new) == [
        "the searches are now recorded in their own sheet (five sources); this records how the studies "
        "were found, it is not a new search",
        "the reproduction ledger's check of one statement of the published review (C39)"]
    rerun = dict(new, **{"search.source.PubMed.date_searched": "2026-02-01",
                         "search.source.PubMed.date_qualifier": "on"})
    assert record_changes(new, rerun) == ["the record of the searches changed (PubMed)"]
