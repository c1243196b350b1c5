"""The bundled review after a large update, rendered once: the 12 synthetic trials of the scale
benchmark's generator, the trial of tests/fixtures/new_trial and 12 two-arm trials reporting BBS
and TUG (tests/trial_fixture.add_balance_trials), so that outcomes are pooled, BBS and TUG reach
the plan's threshold for small-study effects, subgroups meet the plan's rule and harms are pooled.

What must hold for any valid sheets: every pooled analysis has its forest, funnel plot and Egger's
test appear wherever k reaches the plan's threshold, the pooled harms are in the body, subgroup
forests stand where the rule is met, every figure and table is numbered once and in order, and
no generated sentence is broken."""

from __future__ import annotations

import html as htmlmod
import re
import shutil
import sys
from pathlib import Path

import pytest

from analysis.data.load import load_sheets
from analysis.data.plan import load_plan
from analysis.render import render_project
from analysis.review import displays as D
from analysis.review.synthesis import synthesise

from chromium import pdf_text
from trial_fixture import add_balance_trials, add_trial

from fixture_paths import BUNDLED, REPO, merged_bibliography  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
import scale  # noqa: E402

# Sentences the helpers once produced, and any other sign of a computed part gone wrong.
BROKEN = [
    r"\bone (outcomes|studies|analyses|trials|event terms)\b",
    r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d\d+) (outcome|study|analysis|trial) ",
    r"\bthe no\b", r"\bfor no outcomes\b", r"\bcome from ,", r": \.", r"\(\)", r",\s*and\s*\.",
    r"\bone study in [^.;]* are\b", r"\bone degrees\b", r"\b1 degrees\b",
    r"`\{python\}", r"[a-z,] None\b", r"\bnan\b", r"np\.(int|float)64", r"\?\?", r"\?@",
]


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    root = tmp_path_factory.mktemp("grown") / "review"
    # the frozen data of tests/fixtures/bundled (15 rows) and 12 synthetic trials, with the live
    # review's text and style, so an update of the live sheets does not move what is asserted here
    scale.generate(root, 27, base=BUNDLED)
    for extra in ("review.qmd", "_quarto.yml", "style", "author-date-initials.csl"):
        src, dst = REPO / extra, root / extra
        if dst.exists():
            shutil.rmtree(dst) if dst.is_dir() else dst.unlink()
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    bib = merged_bibliography(REPO / "references.bib", root / "references.bib")  # live: cited entries only
    (root / "references.bib").write_text(bib, encoding="utf-8")
    add_trial(root)
    add_balance_trials(root, 12)
    render_project(root, engine="builtin")
    synth = synthesise(load_sheets(root), load_plan(root))
    page = (root / "_output/review.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", htmlmod.unescape(re.sub(r"<[^>]+>", " ", re.sub(
        r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)))).replace("\xa0", " ")
    return root, synth, page, text


def _ids(page: str, prefix: str) -> list[str]:
    return re.findall(rf'id="({prefix}-[\w-]+)"', page)


def test_every_pooled_analysis_has_its_forest(grown):
    _, synth, page, _ = grown
    pooled = [a for a in synth.analyses if a.status == "pooled"]
    assert {"BBS", "TUG"} <= {a.outcome for a in pooled}
    for a in synth.analyses:
        if a.k:
            assert f'id="fig-forest-{D.slug(a.outcome)}"' in page, a.outcome


def test_funnel_and_egger_wherever_k_reaches_the_threshold(grown):
    _, synth, page, text = grown
    big = [a for a in synth.analyses if a.status == "pooled" and a.k >= synth.plan.sensitivity.small_study_effects]
    assert {"BBS", "TUG"} <= {a.outcome for a in big}
    for a in big:
        assert f'id="fig-funnel-{D.slug(a.outcome)}"' in page, a.outcome
        assert f"For the {a.label} ({D.R.words(a.k)} studies), Egger's regression test for funnel asymmetry gives p" \
            in text.replace("’", "'"), a.outcome
        assert f'id="fig-leave-one-out-{D.slug(a.outcome)}"' in page
        assert f'id="fig-cumulative-{D.slug(a.outcome)}"' in page
    small = [a for a in synth.analyses if a.status == "pooled" and a not in big]
    for a in small:
        assert f'id="fig-funnel-{D.slug(a.outcome)}"' not in page


def test_subgroup_forests_where_the_rule_is_met(grown):
    _, synth, page, text = grown
    met = [(a, t["by"]) for a in synth.analyses for _, t in a.subgroup_tests.iterrows()]
    assert met, "the grown review meets a subgroup rule"
    for a, by in met:
        assert f'id="fig-subgroups-{D.slug(a.outcome)}-{D.slug(by)}"' in page
    assert "the test for subgroup differences gives Q = " in text


def test_pooled_harms_are_in_the_body(grown):
    _, synth, page, text = grown
    terms = {t for t, _ in synth.safety.pooled_results}
    assert {"headache", "dizziness"} <= terms
    assert 'id="tbl-harms-pooled"' in page
    for t in terms:
        assert f'id="fig-harms-{D.slug(t)}"' in page
    table = page[page.index('id="tbl-harms-pooled"'):]
    table = table[:table.index("</table>")]
    assert "Mantel-Haenszel risk difference" in table and "Peto odds ratio" in table
    abstract = text[text.index("Results. "):text.index("Conclusions. ")]
    assert f"{D.R.cap(D.R.words(len(terms)))} adverse events were pooled: " in abstract


def test_figures_and_tables_numbered_once_in_order(grown):
    root, _, page, _ = grown
    figs = re.findall(r"Figure\xa0(\d+):", page)
    tbls = re.findall(r"Table\xa0(\d+):", page)
    assert figs == [str(i) for i in range(1, len(figs) + 1)] and len(figs) >= 30
    assert tbls == [str(i) for i in range(1, len(tbls) + 1)]
    pdf = re.sub(r"\s+", " ", pdf_text(root / "_output/review.pdf"))
    assert f"Figure {len(figs)}:" in pdf and f"Figure {len(figs) + 1}:" not in pdf
    assert "Egger" in pdf


def test_no_broken_or_contradicting_sentence(grown):
    _, synth, _, text = grown
    body = text[text.index("Background."):text.rindex("References")]
    assert len(body) > 20000
    for pattern in BROKEN:
        found = re.search(pattern, body)
        assert not found, body[max(0, found.start() - 120):found.end() + 120]
    for a in synth.analyses:
        if a.status == "pooled":
            assert f"No other identified study measured the {a.label}" not in body
    assert "PRISMA 2020 flow of this version" in body and "flow of the published review" not in body
    assert "Characteristics of the studies counted by the published review" not in body
    # long study lists are shortened in the running text
    assert re.search(r"usable between-arm data come from [^.]*? and \d+ others", body)
    # and, in the results, point to the figure that names every study
    assert re.search(r"from 1\d studies and \d+ participants \(\s*[^()]*? and \d+ others, Figure \d+\s*\)", body)
