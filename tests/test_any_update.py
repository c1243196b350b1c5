"""Any valid update of the frozen review keeps it valid, computable and readable.

Hypothesis draws updates of a copy of tests/fixtures/bundled: 1 to 15 synthetic trials from
benchmarks/scale.py's generator (2 or 3 arms; change, final-value, contrast, percent-change,
p-value-only and narrative outcomes; harms as counts, as none and as not reported), some of
them with harms whose number at risk is not given, some trials removed again and some values
corrected, with PRISMA counts that add up. After each update the sheets validate, the
synthesis runs, and the sentences of analysis/review/report.py that review.qmd prints pass
the invariants of tests/review_invariants.py for none, one, two and many of what they count.
Two fixed updates are rendered in full and checked the same way.
"""

from __future__ import annotations

import csv
import random
import re
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analysis.data.claims import load_claims
from analysis.data.load import load_sheets
from analysis.data.plan import load_plan
from analysis.data.validate import validate_project
from analysis.living.numbers import collect_numbers
from analysis.review import report as R
from analysis.review.ledger import evaluate
from analysis.review.synthesis import POOLED, synthesise
from fixture_paths import BUNDLED, REPO, merged_bibliography
from trial_fixture import read_sheet, write_sheet
from review_invariants import (estimate_problems, figure_problems, html_captions, html_text, pooled_analyses,
                               pdf_problems, reference_problems, sentence_problems)

sys.path.insert(0, str(REPO / "benchmarks"))
from scale import SOURCE, _prisma, generate  # noqa: E402

HAVE = sum(1 for _ in csv.DictReader((BUNDLED / "extraction" / "studies.csv").open(encoding="utf-8")))
SHEETS = ("studies", "arms", "outcomes", "adverse_events")


def _synthetic(root: Path) -> list[str]:
    _, studies = read_sheet(root / "extraction" / "studies.csv")
    return [r["study"] for r in studies if r["source"] == SOURCE]


def remove_trials(root: Path, keys: set[str]) -> None:
    """Every row of these trials out of the sheets and their entries out of references.bib."""
    ext = root / "extraction"
    for sheet in SHEETS:
        header, rows = read_sheet(ext / f"{sheet}.csv")
        write_sheet(ext / f"{sheet}.csv", header, [r for r in rows if r["study"] not in keys])
    bib = (root / "references.bib").read_text(encoding="utf-8")
    for key in keys:
        bib = re.sub(rf"\n@article\{{{re.escape(key)},.*?\n\}}\n", "\n", bib, flags=re.S)
    (root / "references.bib").write_text(bib, encoding="utf-8")
    _prisma(ext / "prisma.csv")


def drop_denominators(root: Path, keys: set[str]) -> None:
    """These trials' harms as the sources sometimes give them: events without the number at risk."""
    path = root / "extraction" / "adverse_events.csv"
    header, rows = read_sheet(path)
    for r in rows:
        if r["study"] in keys and r["status"] == "reported":
            r["at_risk"] = ""
    write_sheet(path, header, rows)


def correct_values(root: Path, keys: set[str], rng: random.Random) -> None:
    """A published correction: one SD and one arm's analysed count of each trial change."""
    path = root / "extraction" / "outcomes.csv"
    header, rows = read_sheet(path)
    for key in keys:
        numeric = [r for r in rows if r["study"] == key and r["sd"] and r["n"]]
        if numeric:
            r = rng.choice(numeric)
            r["sd"] = f"{float(r['sd']) * rng.uniform(0.5, 1.5):.4g}"
            r["n"] = str(max(2, int(float(r["n"])) - 1))
    write_sheet(path, header, rows)


@st.composite
def updates(draw):
    n = draw(st.integers(1, 15))
    return dict(n=n, seed=draw(st.integers(0, 2**31 - 1)),
                drop=draw(st.sets(st.integers(0, n - 1), max_size=n)),
                remove=draw(st.sets(st.integers(0, n - 1), max_size=max(0, n - 1))),
                correct=draw(st.sets(st.integers(0, n - 1), max_size=n)))


def apply_update(dest: Path, n: int, seed: int, drop=(), remove=(), correct=()) -> Path:
    """The frozen review with `n` synthetic trials added, then some without denominators,
    some removed and some corrected (indices into the added trials)."""
    root = generate(dest, HAVE + n, seed=seed, base=BUNDLED)
    shutil.copy2(BUNDLED / "review_tables.py", root / "review_tables.py")
    added = _synthetic(root)
    assert len(added) == n
    pick = lambda idx: {added[i] for i in idx}  # noqa: E731
    drop_denominators(root, pick(drop))
    correct_values(root, pick(correct) - pick(remove), random.Random(seed))
    if remove:
        remove_trials(root, pick(remove))
    return root


# --- the sentences, for none, one, two and many -----------------------------------------

def _sizes(items: list) -> list[list]:
    """The list cut to none, one, two and all of its items (those it has)."""
    return [items[:k] for k in sorted({0, 1, 2, len(items)}) if k <= len(items)]


def _check(text: str, what: str, sentence: bool = False) -> list[str]:
    problems = sentence_problems(text, f"{what}: ")
    if text != text.strip():
        problems.append(f"{what}: leading or trailing space in {text!r}")
    if sentence and text and not (text[0].isupper() and text.endswith(".")):
        problems.append(f"{what}: not a sentence: {text!r}")
    return problems


def sentence_report(sheets, synth, ledger) -> list[str]:
    """Every report helper review.qmd uses, on these sheets, for none, one, two and many."""
    problems = []
    main = [a for a in synth.analyses if not a.exploratory]
    pooled = [a for a in synth.analyses if a.status == POOLED]
    single = [a for a in synth.analyses if a.status == "single study"]
    labels = list(sheets["studies"]["label"].astype(str))
    for n in (0, 1, 2, 3, 12):
        for noun in (("study", "studies"), ("outcome", None), ("main analysis", "main analyses"), ("event term", None)):
            problems += _check(R.count_noun(n, *noun), "count_noun")
    for items in _sizes(labels):
        joined = R.join_words(items)
        problems += _check(joined, "join_words")
        assert (joined == "") == (items == [])
    problems += _check(R.study_list(sheets), "study_list")
    problems += _check(R.study_list(sheets, study=[]), "study_list")
    for these in _sizes(pooled):
        problems += _check(R.pooled_clause(these).removeprefix(": "), "pooled_clause")
        problems += _check(R.outcome_labels(these), "outcome_labels")
    for these in _sizes(single):
        problems += _check(R.single_study_list(these), "single_study_list")
    for these in _sizes(pooled + single):
        said = R.measured_elsewhere(synth, these)
        problems += _check(said, "measured_elsewhere", sentence=True)
        # a pooled outcome has trials to compare: "no comparison across trials" must not name it
        for a in these:
            if a.status == POOLED and a.label in said:
                alone = re.search(r"No other identified study measured the (.*?), so no comparison", said)
                if alone and a.label in alone.group(1):
                    problems.append(f"measured_elsewhere: says {a.label} cannot be compared, yet it is pooled "
                                    f"from {a.k} studies")
    for a in synth.analyses:
        problems += _check(R.non_contributors(synth, a.outcome), "non_contributors")
        if a.status == POOLED:
            problems += _check(R.study_effects(a), "study_effects")
            problems += _check(R.forms_in(a), "forms_in")
            problems += _check(R.follow_up_sentence(a), "follow_up_sentence", sentence=True)
    for name, text in (("abstract_results", R.abstract_results(sheets, synth, ledger)),
                       ("analyses_sentence", R.analyses_sentence(synth)),
                       ("exploratory_sentence", R.exploratory_sentence(synth)),
                       ("harms_sentence", R.harms_sentence(sheets)),
                       ("included_sentence", R.included_sentence(sheets)),
                       ("ledger_sentence", R.ledger_sentence(ledger)),
                       ("ledger_sentence short", R.ledger_sentence(ledger, short=True))):
        problems += _check(text, name, sentence=True)
    assert main, "the plan names main analyses"
    return problems


def facts_report(sheets, synth, ledger, plan) -> list[str]:
    """The abstract states the counts and every pooled estimate of the numbers mapping."""
    numbers = collect_numbers(sheets, plan, load_claims(BUNDLED))
    abstract = R.abstract_results(sheets, synth, ledger)
    problems = estimate_problems(abstract, numbers, plan)
    n = numbers["studies.included"]
    if R.count_noun(n, "study", "studies") not in abstract and n:
        problems.append(f"abstract: the {n} included studies are not stated: {abstract!r}")
    main_pooled = [a for a in synth.analyses if a.status == POOLED and not a.exploratory]
    for a in main_pooled:
        if a.label not in abstract:
            problems.append(f"abstract: pooled main analysis {a.label} not named")
    return problems


def _analyse(root: Path):
    assert [str(p) for p in validate_project(root)] == []
    sheets = load_sheets(root)
    plan = load_plan(root)
    synth = synthesise(sheets, plan)
    ledger = evaluate(sheets, load_claims(root))
    return sheets, plan, synth, ledger


# Derandomised: the same 25 updates on every run, so that CI cannot fail on one run and pass on
# the next; the update that once showed the numbers mapping's rounding is kept as an example.
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(update=updates())
@example(update={"n": 1, "seed": 2097152, "drop": set(), "remove": set(), "correct": set()})
def test_any_update_validates_and_reads_well(tmp_path_factory, update):
    root = apply_update(tmp_path_factory.mktemp("update") / "review", **update)
    sheets, plan, synth, ledger = _analyse(root)
    kept = update["n"] - len(update["remove"])
    assert R.n_included(sheets) == R.n_included(load_sheets(BUNDLED)) + kept
    assert sentence_report(sheets, synth, ledger) == []
    assert facts_report(sheets, synth, ledger, plan) == []


def test_the_frozen_review_reads_well_too():
    sheets, plan, synth, ledger = _analyse(BUNDLED)
    assert sentence_report(sheets, synth, ledger) == []
    assert facts_report(sheets, synth, ledger, plan) == []


def test_updates_cover_the_shapes(tmp_path):
    """The generator gives what the properties are about: 2 and 3 arms, every data form,
    harms with and without denominators, and outcomes that become pooled."""
    root = apply_update(tmp_path / "review", 15, 7, drop={0, 1, 2}, remove={3}, correct={4, 5})
    sheets, _, synth, _ = _analyse(root)
    added = set(_synthetic(root))
    assert len(added) == 14
    arms = sheets["arms"][sheets["arms"]["study"].isin(added)].groupby("study").size()
    assert set(arms) == {2, 3}
    forms = set(sheets["outcomes"][sheets["outcomes"]["study"].isin(added)]["form"])
    assert {"change", "post", "contrast", "percent_change", "p_value_only"} <= forms
    ae = sheets["adverse_events"][sheets["adverse_events"]["study"].isin(added)]
    reported = ae[ae["status"] == "reported"]
    assert reported["at_risk"].isna().any() and reported["at_risk"].notna().any()
    assert {"reported_none", "not_reported"} <= set(ae["status"])
    assert sum(a.status == POOLED and not a.exploratory for a in synth.analyses) >= 2
    _, prisma = read_sheet(root / "extraction" / "prisma.csv")
    total = next(r for r in prisma if r["data"] == "total_studies")
    assert int(total["n"]) == R.n_included(sheets)


# --- two updates rendered in full -------------------------------------------------------

RENDERED = {"three_trials": dict(n=3, seed=11, drop={1}), "twelve_trials": dict(n=12, seed=5, remove={0}, correct={2})}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Each fixed update rendered once (HTML and PDF), with the live review's text."""
    from analysis.living.numbers import project_numbers
    from analysis.render import render_project

    done = {}

    def get(name):
        if name not in done:
            root = apply_update(tmp_path_factory.mktemp(name) / "review", **RENDERED[name])
            for extra in ("style", "review.qmd", "_quarto.yml"):  # the live review's text on the updated data
                src, dst = REPO / extra, root / extra
                if dst.exists():
                    shutil.rmtree(dst) if dst.is_dir() else dst.unlink()
                (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
            (root / "references.bib").write_text(
                merged_bibliography(REPO / "references.bib", root / "references.bib"),  # live: cited entries only
                encoding="utf-8")
            render_project(root, engine="builtin")
            html = (root / "_output" / "review.html").read_text(encoding="utf-8")
            done[name] = html, project_numbers(root), load_plan(root), root / "_output" / "review.pdf"
        return done[name]

    return get


@pytest.mark.parametrize("check", ["sentences", "references", "figures", "estimates", "pdf"])
@pytest.mark.parametrize("name", sorted(RENDERED))
def test_rendered_update_keeps_the_invariants(rendered, name, check):
    html, numbers, plan, pdf = rendered(name)
    text = html_text(html)
    problems = {"pdf": lambda: pdf_problems(pdf),
                "sentences": lambda: sentence_problems(text),
                "references": lambda: reference_problems(text),
                "figures": lambda: figure_problems(html_captions(html), pooled_analyses(numbers, plan)),
                "estimates": lambda: estimate_problems(text, numbers, plan)}[check]()
    assert problems == []
    assert html_captions(html) and len(text) > 10000  # the render is a whole review
