"""The review's own checks: the sheets validate, every number follows from them (numbers.lock),
and the review renders with the built-in engine."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_sheets_and_bibliography_validate():
    from analysis.data.validate import validate_project

    assert [str(p) for p in validate_project(ROOT)] == []


def test_every_number_follows_from_the_sheets():
    from analysis.living.lock import check

    assert [c.key for c in check(ROOT)] == []


def test_review_renders(tmp_path):
    from analysis.render import render_project

    copy = tmp_path / "review"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("_output", ".review-cache", ".git"))
    report = render_project(copy, to="html", engine="builtin")
    html = (copy / "_output" / "review.html").read_text(encoding="utf-8")
    assert report.outputs and "Results" in html
