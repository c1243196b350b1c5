"""After a correct update and `review lock`, the toolkit's tests still pass.

A copy of the repository gets the trial of tests/fixtures/new_trial in its live sheets and
a new lock (tests/update_suite.py), and the test modules that once asserted today's sheets
(issue: an author's CI turned red on a correct update) run there with pytest. The whole suite
in the copy takes as long as `make test`, so it is run by hand
(`python tests/update_suite.py DEST`); here the modules that read the bundled data the most.
A control test in the copy that does read the live sheets fails, so the update did move them.
"""

from __future__ import annotations

import pytest

from update_suite import run_tests, updated_copy

MODULES = ["tests/test_report.py", "tests/test_synthesis.py", "tests/test_figures_bundled.py", "tests/test_ledger.py",
           "tests/test_sheets.py", "tests/test_tables.py", "tests/test_plan.py", "tests/test_lock.py",
           "tests/test_changelog.py", "tests/test_bibliography.py", "tests/test_data_dictionary.py",
           "tests/test_generic.py", "tests/test_figures_prisma.py", "tests/test_figures_rob.py",
           "tests/test_reconcile.py", "tests/test_fixture_guard.py"]
CONTROL = '''
from analysis.data.load import load_sheets
from analysis.review import report as R
from fixture_paths import BUNDLED, REPO


def test_live_count_is_the_frozen_count():
    assert R.n_included(load_sheets(REPO)) == R.n_included(load_sheets(BUNDLED))  # live: the control
'''


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    return updated_copy(tmp_path_factory.mktemp("updated") / "repo")


def test_toolkit_tests_pass_on_an_updated_copy(copy):
    proc = run_tests(copy, MODULES, extra=("-x",))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_the_update_moved_the_live_sheets(copy):
    (copy / "tests" / "test_control_live.py").write_text(CONTROL, encoding="utf-8")
    proc = run_tests(copy, ["tests/test_control_live.py"])
    assert proc.returncode == 1 and "1 failed" in proc.stdout, proc.stdout[-2000:]
    assert "fixture2026" in (copy / "extraction" / "studies.csv").read_text(encoding="utf-8")
