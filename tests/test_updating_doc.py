"""docs/updating.md shows the rows of the synthetic trial that tests/test_update.py adds:
every CSV and BibTeX example in it must be exactly the fixture, so following the
walkthrough by hand does what the tests check."""

import re
from pathlib import Path

from trial_fixture import NEW_TRIAL

DOC = Path(__file__).resolve().parents[1] / "docs" / "updating.md"
APPENDED = ("studies.csv", "arms.csv", "outcomes.csv", "adverse_events.csv")


def _blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [b.strip("\n") for b in re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)]


def _fixture(name: str) -> str:
    return (NEW_TRIAL / name).read_text(encoding="utf-8").strip("\n")


def test_the_rows_to_append_are_shown_exactly():
    blocks = _blocks()
    for name in APPENDED:
        header = _fixture(name).splitlines()[0]
        shown = [b for b in blocks if b.splitlines()[0] == header]
        assert shown == [_fixture(name)], name


def test_the_prisma_change_is_the_fixture_rows():
    # shown as a diff: the added lines are the fixture's rows, replacing the same two keys
    diff = next(b for b in _blocks() if b.startswith("-new_studies"))
    added = [line[1:] for line in diff.splitlines() if line.startswith("+")]
    removed = [line[1:].split(",")[0] for line in diff.splitlines() if line.startswith("-")]
    assert added == _fixture("prisma.csv").splitlines()[1:]
    assert removed == [row.split(",")[0] for row in added] == ["new_studies", "total_studies"]


def test_the_bibtex_entry_is_the_fixture_entry():
    assert _fixture("references.bib") in _blocks()
