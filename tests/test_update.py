"""Adding a trial end to end, as docs/updating.md tells an author to.

A temporary copy of the bundled review is committed to its own git repository (the
previous version), then the synthetic trial of tests/fixtures/new_trial is added: its
rows in each sheet, its BibTeX entry and the new PRISMA counts. `review check` must then
fail and name the numbers the trial moved, `review diff` must say it in sentences,
`review lock` must make `review check` pass, and the render must show the trial in the
study table, the forest plot, the counts and the version note.
"""

import base64
import re
import subprocess

import pytest

from analysis.cli import main
from analysis.living.lock import LOCK_FILE, read_lock
from analysis.living.numbers import project_numbers
from analysis.render import render_project
from analysis.data.validate import validate_project

from chromium import pdf_text
from test_numbers import REPO, copy_project
from trial_fixture import add_trial

GIT = ["git", "-c", "user.name=Review Author", "-c", "user.email=author@example.org",
       "-c", "commit.gpgsign=false"]


def _git(root, *args):
    return subprocess.run([*GIT, "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def _table(out: str) -> dict:
    """`review check` / `review lock` table rows: key -> [locked, new, difference] (text)."""
    rows = {}
    for line in out.splitlines()[2:]:
        key, rest = line.split(" ", 1)
        rows[key] = re.split(r"\s{2,}", rest.strip())
    return rows


@pytest.fixture(scope="module")
def updated(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("update") / "review")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "Review as published")
    add_trial(root)
    return root


def test_the_trial_passes_validation(updated):
    assert validate_project(updated) == []


def test_check_fails_naming_what_the_trial_moved_and_lock_makes_it_pass(updated, tmp_path, capsys):
    assert main(["check", "--root", str(updated)]) == 1
    out, err = capsys.readouterr()
    moved = _table(out)
    assert moved["studies.included"] == ["14", "15", "+1"]
    assert moved["prisma.total_studies"] == ["14", "15", "+1"]
    assert moved["studies.n_total.fixture2026"] == ["40", "added"]
    assert moved["analysis.BBS.k"] == ["1", "2", "+1"]
    assert moved["analysis.BBS.status"] == ['"single study"', '"pooled"', "changed"]
    # the trial's own effect: change 6.1 vs 2.3 points
    assert moved["analysis.BBS.study.fixture2026.yi"] == ["3.8", "added"]
    assert moved["analysis.BBS_SMD_any_change.k"] == ["2", "3", "+1"]
    assert moved["safety.headache.active.events"] == ["2", "4", "+2"]
    assert moved["ledger.C04.status"] == ['"consistent (taken from the review)"', '"differs"', "changed"]
    assert "differ from numbers.lock" in err
    # nothing about the outcomes the trial did not report moved, beyond who reports them
    assert not any(k.startswith(("analysis.TUG.", "analysis.ABC.")) for k in moved)

    # the author accepts the change: lock, then check passes
    copy = copy_project(tmp_path / "review")
    add_trial(copy)
    assert main(["lock", "--root", str(copy)]) == 0
    lock_out, lock_err = capsys.readouterr()
    assert _table(lock_out) == moved
    assert "numbers.lock written" in lock_err
    assert main(["check", "--root", str(copy)]) == 0
    assert read_lock(copy / LOCK_FILE) == project_numbers(copy)


def test_diff_tells_the_update_in_sentences(updated, capsys):
    numbers = project_numbers(updated)
    assert main(["diff", "--root", str(updated)]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = _git(updated, "log", "-1", "--format=%h %cs").split()
    assert lines[0] == f"Since commit {head[0]}, {head[1]} (Review as published):"
    assert lines[1].startswith("- Studies: included studies 15 instead of 14; identified studies 13 instead of 12; ")
    assert "new: Fixture 2026 (n = 40)" in lines[1]
    bbs = next(line for line in lines if line.startswith("- Berg Balance Scale: "))
    est, lb, ub = (numbers[f"analysis.BBS.{f}"] for f in ("estimate", "ci_lb", "ci_ub"))
    assert bbs.startswith("- Berg Balance Scale: 2 studies instead of 1; now pooled; adds Fixture 2026; "
                          f"72 instead of 32 participants; pooled MD {est:.2f} ({lb:.2f} to {ub:.2f})")
    smd = next(line for line in lines if line.startswith("- Berg Balance Scale, change or percent change (SMD): "))
    assert "3 studies instead of 2; adds Fixture 2026" in smd
    assert f"pooled SMD {numbers['analysis.BBS_SMD_any_change.estimate']:.2f}" in smd
    assert "instead of 0.42 (\u22120.18 to 1.03)" in smd   # the bundled exploratory estimate
    assert "- Adverse events, headache: active arms 4 instead of 2; control arms 2 instead of 1; " \
           "all arms 6 instead of 3." in lines
    assert "- PRISMA flow: Studies included in review 15 instead of 14; Total studies included 15 instead of 14." \
        in lines
    # --table: the same moves key by key, headed by the revision compared with
    assert main(["diff", "--root", str(updated), "--table"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["number", "at", head[0], "now", "difference"]
    assert any(line.split()[:4] == ["studies.included", "14", "15", "+1"] for line in table[2:])
    # the committed lock gives the same numbers as the committed sheets, so --lock agrees
    assert main(["diff", "--root", str(updated), "--lock"]) == 0
    assert capsys.readouterr().out.splitlines() == lines


def test_diff_refuses_a_revision_that_does_not_exist(updated, capsys):
    assert main(["diff", "no-such-tag", "--root", str(updated)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("review diff: no-such-tag: no such revision in ") and err.count("\n") == 1


def _embedded_svgs(html: str) -> list[str]:
    return [base64.b64decode(m).decode("utf-8")
            for m in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]


def _figure(html: str, label: str) -> str:
    """The SVG of the figure `label`, with its texts (matplotlib keeps each as a comment)."""
    start = html.index(f'id="{label}"')
    return _embedded_svgs(html[start:])[0]


def test_render_shows_the_trial_everywhere(updated):
    report = render_project(updated, engine="builtin")
    html = (updated / "_output" / "review.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    # the study table: a row for the new trial, cited from references.bib
    table = html[html.index('id="tbl-characteristics"'):]
    table = table[:table.index("</table>")]
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)) for r in re.findall(r"<tr.*?</tr>", table, re.S)]
    # the study cell is its citation, resolved from the new BibTeX entry
    row = [r for r in rows if re.search(r"Fixture and Example \(\s*2026\s*\)", r)]
    assert len(row) == 1
    assert all(cell in row[0] for cell in ("RCT", "subacute", "40 (20/20)", "iTBS", "double-cone coil"))
    # the forest plot has a row for it
    forest = _figure(html, "fig-forest-bbs-smd-any-change")
    labels = re.findall(r"<!-- (.*?) -->", forest)
    assert "Fixture 2026" in labels and "Kim 2014" in labels and "Im 2022" in labels
    # the main Berg Balance Scale forest: Im 2022 alone before, now both trials and a diamond
    main_forest = re.findall(r"<!-- (.*?) -->", _figure(html, "fig-forest-bbs"))
    assert "Fixture 2026" in main_forest and "Im 2022" in main_forest
    assert "3.12 [1.40, 4.84]" in main_forest and not any(t.startswith("Not pooled") for t in main_forest)
    # the counts: 15 studies in the text and in the PRISMA diagram
    assert "14 in all" in text  # the published review's count stays its own
    assert "This version counts 15 included studies, one more than the published review." in text
    # headache is now pooled (by Mantel-Haenszel and by Peto): one event term, not two
    assert "One event term met the plan’s rule for pooling" in text
    # the prose follows: the BBS is now a pooled main analysis, no longer a single-study one
    assert ("One main analysis reached the plan’s threshold of two studies: Berg Balance Scale, "
            "MD 3.12 (95% CI 1.40 to 4.84)") in text
    assert "For two outcomes a single study each gives usable data" in text
    # captions follow the count: the flow and the study table are this version's
    assert "PRISMA 2020 flow of this version, which includes 15 studies, one more than the published review." in text
    assert "Characteristics of the included studies, as found in the sources read" in text
    # the pooled harms are in the body: their table and a forest
    assert 'id="tbl-harms-pooled"' in html and 'id="fig-harms-headache"' in html
    prisma = re.findall(r"<!-- (.*?) -->", _figure(html, "fig-prisma"))
    # a new review: one box of included studies (the new-review template), whose count moved
    assert prisma.count("(n = 15)") == 1 and "(n = 14)" not in prisma
    # the version note names what moved since the committed version
    note = html[html.index('id="sec-version"'):html.index('id="sec-intro"')]
    note = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", note))
    # in plain sentences, the previous version named by its number and date, not a commit
    assert "One study added: Fixture 2026 (40 participants)." in note
    assert ("Berg Balance Scale: now pooled from two studies (Im 2022 and Fixture 2026): "
            "MD 3.12 (95% CI 1.40 to 4.84). Before, only Im 2022 gave usable data.") in note
    assert "Since version 1 (" in note and "commit" not in note and "instead of" not in note
    pdf = re.sub(r"\s+", " ", pdf_text(updated / "_output" / "review.pdf"))
    assert "One study added: Fixture 2026 (40 participants)." in pdf
    assert report.outputs
