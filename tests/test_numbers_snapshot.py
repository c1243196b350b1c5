"""CI's proof that the review's numbers follow from the sheets.

`results/numbers.json` is the committed snapshot of every number the review reports.
Recomputing it from the sheets must give the same snapshot; when a sheet, the plan or the
code changes a number, this test lists exactly which ones, and the snapshot is updated
in the same commit (`make numbers`), so the change is visible in review.
"""

import json
import shutil

from analysis.cli import main
from analysis.numbers import diff_numbers, format_changes, project_numbers, read_snapshot

from test_review_rendered import REPO, _copy_project

SNAPSHOT = REPO / "results" / "numbers.json"


def test_committed_numbers_follow_from_the_sheets():
    changes = diff_numbers(read_snapshot(SNAPSHOT), project_numbers(REPO))
    assert not changes, "numbers moved; run `make numbers` if intended:\n" + format_changes(changes)


def test_check_fails_and_names_the_number_that_moved(tmp_path, capsys):
    root = _copy_project(tmp_path / "review")
    stale = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    key = "analysis.BBS_SMD_any_change.estimate"
    stale[key] = round(stale[key] + 0.1, 6)
    snap = tmp_path / "numbers.json"
    snap.write_text(json.dumps(stale), encoding="utf-8")
    assert main(["numbers", "--root", str(root), "--check", str(snap)]) == 1
    out, err = capsys.readouterr()
    assert out.strip().splitlines() == [f"{key}: {stale[key]} -> {round(stale[key] - 0.1, 6)}"]
    assert "1 number(s) differ" in err
    shutil.copy(SNAPSHOT, snap)
    assert main(["numbers", "--root", str(root), "--check", str(snap)]) == 0
