"""The live review, rendered once, against the invariants that hold for any valid sheets.

This is the one test module that reads the live sheets at the top of the repository (with
`review check`, which `make test` runs first). It asserts no value of today's data: after a
correct update and `review lock` it still passes, and a broken sentence, an unresolved
reference, a pooled analysis without its figure or a pooled estimate missing from the text
fails it. The invariants themselves are in tests/review_invariants.py; the first tests
here show that each of them can fail.
"""

from __future__ import annotations

import shutil

import pytest

from analysis.data.plan import load_plan
from analysis.living.numbers import project_numbers
from analysis.render import render_project
from fixture_paths import REPO
from review_invariants import (estimate_problems, estimate_text, figure_problems, html_captions, html_text,
                               outcome_name, pdf_problems, reference_problems, review_problems, sentence_problems)

LIVE = ["review.qmd", "_quarto.yml", "style", "author-date-initials.csl", "review_tables.py",
        "analysis_plan.yml", "references.bib", "references-sources.csv", "extraction", "numbers.lock", "_version.yml"]


# --- the invariants can fail ------------------------------------------------------------

@pytest.mark.parametrize("broken", [
    "For one outcomes a single study gives usable data.",
    "As a result, the no single-study effects come from , and the estimate mixes metrics.",
    "For no outcomes a single study gives usable data, rather than pooled: .",
    "It was pooled from two studies and None participants.",
    "The estimate is nan (95% CI nan to nan).",
    "The review includes `{python} n` studies.",
    "The studies were  Smith 2020 and Lee 2021.",
    "Pooled from Smith 2020,, Lee 2021.",
    "Pooled from Smith 2020 and .",
    "The single-study effects come from the .",
    "Both were pooled ().",
    "No other studies was identified.",
])
def test_each_broken_sentence_is_caught(broken):
    assert sentence_problems(broken)


@pytest.mark.parametrize("fine", [
    "None of the three planned main analyses could be pooled: all have no usable data.",
    "One main analysis reached the plan\u2019s threshold of two studies: Berg Balance Scale, MD 3.12 "
    "(95% CI 1.40 to 4.84), I\u00b2 = 0%, from two studies and 72 participants (Im 2022 and Fixture 2026).",
    "Of the 30 statements of the published review in the ledger, four differ (C04, C07, C11 and C16) and "
    "one cannot be checked.",
    "For one outcome a single study gives usable data; p < 0.001 and 12.5% (n = 20).",
    "They were read from; for most trials only the abstract could be read, and, for the others, words.",
])
def test_correct_sentences_pass(fine):
    assert sentence_problems(fine) == []


def test_unresolved_references_are_caught():
    assert reference_problems("as shown in ?@fig-forest-tug and Table ??") != []
    assert len(reference_problems("see @tbl-results")) == 1
    assert reference_problems("see Figure 2 and Table 5; write to a@b.org") == []


def test_a_pooled_analysis_needs_its_own_figure():
    pooled = {"BBS": "Berg Balance Scale", "BBS_SMD": "Berg Balance Scale, change or percent change (SMD)",
              "TUG": "Timed Up and Go (s)"}
    caps = ["Figure 1: PRISMA 2020 flow.", "Figure 2: Berg Balance Scale, mean difference in points.",
            "Figure 3: Exploratory forest plot of the Berg Balance Scale as a standardised mean difference."]
    assert figure_problems(caps, pooled) == [
        "pooled analysis TUG (Timed Up and Go (s)) has no figure whose caption names it"]
    # one figure cannot serve two analyses of the same outcome
    assert len(figure_problems(caps[:2], {k: pooled[k] for k in ("BBS", "BBS_SMD")})) == 1
    assert figure_problems(caps + ["Figure 4: Timed Up and Go, seconds."], pooled) == []
    assert outcome_name("Timed Up and Go (s)") == "Timed Up and Go"
    assert outcome_name("10-m walk test, time (s)") == "10-m walk test"


def test_a_pooled_estimate_must_be_in_the_text():
    class Plan:
        outcomes = [type("O", (), {"id": "X", "label": "Pain"})(), type("O", (), {"id": "R", "label": "Death"})()]

    numbers = {"analysis.X.status": "pooled", "analysis.X.measure": "MD", "analysis.X.estimate": -0.5,
               "analysis.X.ci_lb": -1.254, "analysis.X.ci_ub": 0.2, "analysis.X.level": 95,
               "analysis.R.status": "pooled", "analysis.R.measure": "RR", "analysis.R.estimate": 0.0,
               "analysis.R.ci_lb": -0.6931471805599453, "analysis.R.ci_ub": 0.6931471805599453,
               "analysis.R.level": 95}
    assert estimate_text(numbers, "X") == "MD \u22120.50 (95% CI \u22121.25 to 0.20)"
    assert estimate_text(numbers, "R") == "RR 1.00 (95% CI 0.50 to 2.00)"
    text = "Pain, MD \u22120.50 (95% CI \u22121.25 to 0.20), from two studies; death, RR 1.00 (95% CI 0.50 to 2.00)."
    assert estimate_problems(text, numbers, Plan) == []
    assert len(estimate_problems(text.replace("0.20", "0.21"), numbers, Plan)) == 1
    # the mapping keeps six significant digits: an upper limit of 10.875 there was 10.87499...
    # or 10.87501... before, so the text may round it either way, but to nothing else
    numbers["analysis.X.ci_ub"] = 10.875
    for said, ok in (("10.87", True), ("10.88", True), ("10.86", False), ("10.89", False)):
        found = estimate_problems(text.replace("to 0.20", f"to {said}"), numbers, Plan)
        assert (found == []) is ok, said


def test_text_and_captions_of_an_html_page():
    page = ('<html><head><style>p {}</style></head><body><p>One\nsentence, <em>here</em>.</p>'
            '<figure><img src="data:x"/><figcaption>Figure 1: Berg&nbsp;Balance</figcaption></figure>'
            '<div id="refs"><p>Bi, and Poo . ,</p></div></body></html>')
    assert html_text(page).splitlines() == ["One sentence, here.", "Figure 1: Berg Balance"]
    assert html_captions(page) == ["Figure 1: Berg Balance"]
    assert "Poo" in html_text(page, references=True)


# --- the live review --------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    root = tmp_path_factory.mktemp("live") / "review"
    root.mkdir()
    for name in LIVE:
        src = REPO / name  # live: the review as the author has it, checked only by invariants
        if src.exists():
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    render_project(root, engine="builtin")
    return root, project_numbers(root), load_plan(root)


def test_live_review_html_keeps_every_invariant(live):
    root, numbers, plan = live
    html = (root / "_output" / "review.html").read_text(encoding="utf-8")
    assert html_captions(html), "no figure caption found: the text extraction is broken"
    assert review_problems(html, numbers, plan) == []


def test_live_review_pdf_has_no_broken_sentence_or_reference(live):
    root, _, _ = live
    assert pdf_problems(root / "_output" / "review.pdf") == []


def test_live_review_snapshot_is_the_numbers_mapping(live):
    from analysis.living.numbers import SNAPSHOT, read_snapshot

    root, numbers, _ = live
    assert read_snapshot(root / "_output" / SNAPSHOT) == numbers
