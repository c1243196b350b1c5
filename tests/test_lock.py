"""The numbers lock: its format, its tolerance, and `review check` / `review lock`.

CI's proof that the review's numbers follow from the sheets is `review check` against the
committed `numbers.lock` (run by `make test` before pytest, and again here).
"""

import math
import shutil

import pytest

from analysis.cli import main
from analysis.errors import InputError
from analysis.living.lock import (
    HEADER, LOCK_FILE, changes_table, check, dumps_lock, lock, parse_lock, read_lock,
)
from analysis.living.numbers import ADDED, CHANGED, REMOVED, Change, diff_numbers, project_numbers, within_tolerance

from fixture_paths import BUNDLED, REPO
from test_numbers import copy_project, edit_cell

KEY = "analysis.BBS_SMD_any_change.estimate"


@pytest.mark.parametrize("root", [BUNDLED, REPO], ids=["fixture", "live"])
def test_committed_lock_follows_from_the_sheets(root):
    # `review check`: holds for the live review after any update that was locked
    changes = check(root)
    assert not changes, "numbers moved; run `review lock` if intended:\n" + changes_table(changes)


def test_lock_text_is_sorted_one_number_per_line_and_round_trips():
    numbers = {"b.k": 3, "a.estimate": 0.421925, "a.status": "pooled", "c": None, "d": True, "e": "Bonnì"}
    text = dumps_lock(numbers)
    assert text.startswith(HEADER)
    assert text[len(HEADER):].splitlines() == [
        'a.estimate = 0.421925', 'a.status = "pooled"', 'b.k = 3', 'c = null', 'd = true', 'e = "Bonnì"']
    assert parse_lock(text) == numbers


@pytest.mark.parametrize("root", [BUNDLED, REPO], ids=["fixture", "live"])
def test_committed_lock_is_the_bundled_numbers_in_lock_format(root):
    text = (root / LOCK_FILE).read_text(encoding="utf-8")
    assert text == dumps_lock(read_lock(root / LOCK_FILE))


def test_fixture_lock_holds_the_bundled_estimate():
    assert read_lock(BUNDLED / LOCK_FILE)[KEY] == pytest.approx(0.421925)


@pytest.mark.parametrize("line, message", [
    ("just words", "numbers.lock:4: expected `key = value`"),
    ("a.k = [1, 2]", "numbers.lock:4: a.k: a single value is expected"),
    ("a.k = pooled", "numbers.lock:4: a.k: value 'pooled' is not a number"),
    ("x.y = 2", "numbers.lock:4: x.y appears twice"),
])
def test_a_damaged_lock_is_one_line_naming_the_line(line, message):
    text = HEADER.rstrip("\n").split("\n")[0] + "\n" + "x.y = 1\n\n" + line + "\n"
    with pytest.raises(InputError) as err:
        parse_lock(text)
    assert str(err.value).startswith(message)


def test_tolerance_is_one_unit_in_the_sixth_significant_digit():
    assert within_tolerance(0.421925, 0.421926)      # rounding noise between machines
    assert not within_tolerance(0.421925, 0.421927)
    assert within_tolerance(1234.56, 1234.57)
    assert not within_tolerance(1234.56, 1234.58)
    assert within_tolerance(1.2e-8, 1.20001e-8)       # relative, so tiny p-values still count
    assert not within_tolerance(1.2e-8, 1.3e-8)
    assert not within_tolerance(3, 4)                 # counts are exact
    assert within_tolerance(100, 99.9999)            # a weight of 100 written as an integer
    assert diff_numbers({"p": 0.421925}, {"p": 0.421926}) == []
    assert diff_numbers({"p": 0.0}, {"p": 1e-300}) != []


def test_changes_table_has_locked_new_and_difference():
    changes = [Change("a.estimate", CHANGED, 0.421925, 0.557374), Change("a.k", CHANGED, 2, 3),
               Change("a.status", CHANGED, "single study", "pooled"), Change("b.n", ADDED, None, 40),
               Change("c.n", REMOVED, 12, None)]
    lines = changes_table(changes).splitlines()
    assert lines[0].split() == ["number", "locked", "new", "difference"]
    assert set(lines[1]) == {"-", " "}
    assert [line.split() for line in lines[2:]] == [
        ["a.estimate", "0.421925", "0.557374", "+0.135449"],
        ["a.k", "2", "3", "+1"],
        ["a.status", '"single', 'study"', '"pooled"', "changed"],
        ["b.n", "40", "added"],
        ["c.n", "12", "removed"],
    ]
    assert changes_table([]) == "no number moved"


def test_changed_cell_fails_check_naming_the_number_and_reverting_passes(tmp_path, capsys):
    root = copy_project(tmp_path / "review")
    sheet = root / "extraction" / "outcomes.csv"
    original = sheet.read_text(encoding="utf-8")
    row = {"study": "im2022", "arm": "rtms", "outcome": "BBS", "timepoint": "T0-T2"}
    edit_cell(sheet, row, "mean", "5.4")  # was 4.4
    assert main(["check", "--root", str(root)]) == 1
    out, err = capsys.readouterr()
    moved = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]}
    assert "analysis.BBS.study.im2022.yi" in moved
    assert moved["analysis.BBS.study.im2022.yi"] == ["2.52", "3.52", "+1"]
    assert KEY in moved and float(moved[KEY][1]) > float(moved[KEY][0])
    # everything named follows from that one cell: BBS outcomes and the ledger's BBS claims only
    assert all(k.startswith(("analysis.BBS", "ledger.")) for k in moved), sorted(moved)
    assert err.startswith("review check: ") and "differ from numbers.lock" in err and err.count("\n") == 1
    sheet.write_text(original, encoding="utf-8")
    assert main(["check", "--root", str(root)]) == 0
    assert "numbers.lock is up to date" in capsys.readouterr().out


def test_lock_rewrites_the_lock_and_then_check_passes(tmp_path, capsys):
    root = copy_project(tmp_path / "review")
    edit_cell(root / "extraction" / "outcomes.csv",
              {"study": "im2022", "arm": "sham", "outcome": "TUG", "timepoint": "T0-T1"}, "sd", "3.97")
    assert main(["check", "--root", str(root)]) == 1
    assert "analysis.TUG.study.im2022.ci_lb" in capsys.readouterr().out
    assert main(["lock", "--root", str(root)]) == 0
    out, err = capsys.readouterr()
    assert "numbers.lock written" in err
    table = {line.split()[0] for line in out.splitlines()[2:]}
    assert table == {c.key for c in diff_numbers(read_lock(BUNDLED / LOCK_FILE), project_numbers(root))}
    assert table  # the edit moved something
    assert main(["check", "--root", str(root)]) == 0
    # lock is idempotent: a second run moves nothing
    assert lock(root) == []


def test_check_without_a_lock_says_how_to_make_one(tmp_path, capsys):
    root = copy_project(tmp_path / "review")
    (root / LOCK_FILE).unlink()
    assert main(["check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert err.strip().endswith("numbers.lock: not found; create it with `review lock`")
    assert main(["lock", "--root", str(root)]) == 0
    assert (root / LOCK_FILE).read_text(encoding="utf-8") == (BUNDLED / LOCK_FILE).read_text(encoding="utf-8")


def test_the_table_cuts_long_values_so_rows_stay_short():
    from analysis.living.lock import TABLE_CELL, changes_table
    from analysis.living.numbers import ADDED, CHANGED, Change

    keys = ", ".join(f"study{i:05d}" for i in range(10_000))
    table = changes_table([Change("analysis.X.studies", CHANGED, "a, b", keys),
                           Change("analysis.X.k", ADDED, None, 10_000)])
    lines = table.splitlines()
    assert len(lines) == 4
    assert max(len(line) for line in lines) < 2 * TABLE_CELL + 40
    assert lines[2].split("  ") == ["analysis.X.studies", '"a, b"',
                                    '"study00000, study00001, study00002, study00003, study000...', "changed"]
    assert lines[3].split() == ["analysis.X.k", "10000", "added"]
