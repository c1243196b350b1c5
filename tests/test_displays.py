"""The results section's display records (analysis.review.displays) and the sentences of the
results, limitations and conclusions (analysis.review.report), on synthetic syntheses of 0, 1, 2
and many studies: which figures and tables are chosen, their labels and captions, the one
sentence said instead of a figure the data do not support, and sentences right for each count."""

import re

import numpy as np
import pandas as pd
import pytest

from analysis.data.plan import parse_plan
from analysis.errors import InputError
from analysis.review import displays as D
from analysis.review import report as R
from analysis.review.synthesis import synthesise

PLAN = {
    "version": 1, "title": "t",
    "defaults": {"measure": "MD", "data_forms": ["change", "post"],
                 "timepoint": {"prefer": "end_of_treatment", "fallback": "none"},
                 "estimator": "REML", "hartung_knapp": False, "level": 95, "min_studies": 2},
    "timepoint_labels": {"any_study": {"post": "end_of_treatment"}},
    "outcomes": [{"id": "Y", "label": "Walking score", "codes": ["Y"], "higher_is_better": True},
                 {"id": "Z", "label": "Grip strength", "codes": ["Z"], "higher_is_better": True}],
    "subgroups": [{"by": "phase", "label": "stroke phase", "min_per_group": 2}],
    "safety": {"events": "as_in_sheet", "studies": "included", "methods": ["MH_RD", "PETO_OR"],
               "min_studies": 2, "level": 95, "rule": "two studies with denominators"},
}


def _sheets(k, events=0, phases=None):
    """k studies with change data on Y (none on Z); the first `events` report a headache count
    in both arms with numbers at risk."""
    keys = [f"s{i:02d}" for i in range(max(k, 1))]
    rng = np.random.default_rng(k)
    studies = pd.DataFrame({"study": keys, "label": [f"Trial{i} {2000 + i}" for i in range(len(keys))],
                            "year": [2000 + i for i in range(len(keys))], "identified": "yes",
                            "included": "yes", "phase": phases or ["chronic"] * len(keys),
                            "outcomes_measured": "Y"})
    arms = pd.DataFrame([(s, a, r, 20, 20) for s in keys for a, r in (("act", "active"), ("con", "control"))],
                        columns=["study", "arm", "role", "n_randomised", "n_analysed"])
    rows = []
    for s in keys[:k]:
        d = rng.normal(3, 1)
        rows += [(s, "act", "Y", "post", "change", 5.0 + d, 3.0 + rng.uniform(0, 2), 20),
                 (s, "con", "Y", "post", "change", 5.0, 3.0, 20)]
    out = pd.DataFrame(rows, columns=["study", "arm", "outcome", "timepoint", "form", "mean", "sd", "n"])
    for c in ("contrast", "ci_lb", "ci_ub", "se", "events"):
        out[c] = np.nan
    out["contrast_measure"] = pd.Series([None] * len(out), dtype=object)
    ae = pd.DataFrame([(s, a, "headache", e, 20, "reported") for i, s in enumerate(keys[:events])
                       for a, e in (("act", 2 + i % 3), ("con", i % 2))],
                      columns=["study", "arm", "event", "events", "at_risk", "status"])
    return {"studies": studies, "arms": arms, "outcomes": out, "adverse_events": ae}


def _synth(k, events=0, phases=None, plan=PLAN):
    return synthesise(_sheets(k, events, phases), parse_plan(plan))


def _kinds(records, subject="Y"):
    return [d.kind for d in records if d.subject == subject]


def test_no_study_no_figure_and_one_sentence_naming_the_outcome():
    recs = D.displays(_synth(0))
    assert not [d for d in recs if d.is_figure]
    texts = [d.text for d in recs if d.kind == D.TEXT]
    assert "No forest plot is drawn for two outcomes, for which no study gives data the plan accepts: " \
           "Walking score and Grip strength." in texts
    assert texts[-1].startswith("No adverse event could be pooled")


def test_one_study_forest_without_diamond_says_why():
    recs = D.displays(_synth(1))
    forest = [d for d in recs if d.kind == D.FOREST]
    assert [d.label for d in forest] == ["fig-forest-y"]
    assert "without a pooled estimate, because only one study gives usable data and the plan pools two or more" \
        in forest[0].caption
    assert forest[0].text == "@fig-forest-y shows the Walking score for its one study; there is no pooled estimate."
    # unpooled: no sensitivity analysis and no sentence about one either
    assert _kinds(recs) == [D.FOREST]
    assert "No forest plot is drawn for the Grip strength: no study gives data the plan accepts for it." \
        in [d.text for d in recs]


def test_two_studies_pooled_forest_and_the_reason_there_is_no_sensitivity_plot():
    recs = D.displays(_synth(2))
    assert _kinds(recs) == [D.FOREST, D.TEXT]
    f = recs[0]
    assert "two studies and 80 participants" in f.caption and "prediction interval" in f.caption
    assert recs[1].text == ("With two studies, the Walking score is too small for leave-one-out and cumulative "
                            "pooling (the plan asks for three studies) and a funnel plot, Egger's test and "
                            "trim-and-fill (the plan asks for ten), which are not drawn.")


def test_many_studies_every_display_and_the_subgroup_forest_when_the_rule_is_met():
    phases = ["acute"] * 6 + ["chronic"] * 6
    synth = _synth(12, events=3, phases=phases)
    recs = D.displays(synth)
    assert _kinds(recs) == [D.FOREST, D.SUBGROUP, D.LEAVE_ONE_OUT, D.CUMULATIVE, D.FUNNEL]
    labels = D.labels_of(recs)
    assert len(labels) == len(set(labels))
    assert labels == ["fig-forest-y", "fig-subgroups-y-phase", "fig-leave-one-out-y", "fig-cumulative-y",
                      "fig-funnel-y", "tbl-harms-pooled", "fig-harms-headache"]
    sub = next(d for d in recs if d.kind == D.SUBGROUP)
    test = synth.analysis("Y").subgroup_tests.iloc[0]
    assert sub.result.q_between == pytest.approx(test["q"])
    assert f"Q = {R.fmt_num(test['q'])} on one degree of freedom" in sub.text
    funnel = next(d for d in recs if d.kind == D.FUNNEL)
    assert funnel.extra["egger"].k == 12
    assert re.search(r"Egger's regression test for funnel asymmetry gives p [=<] [0-9.]+ and trim-and-fill "
                     r"imputes \w+ stud", funnel.text)
    loo = next(d for d in recs if d.kind == D.LEAVE_ONE_OUT)
    assert len(loo.result) == 12
    cum = next(d for d in recs if d.kind == D.CUMULATIVE)
    assert list(cum.result["study"]) == [f"Trial{i} {2000 + i}" for i in range(12)]
    harms = next(d for d in recs if d.kind == D.HARMS_TABLE)
    assert harms.text == ("One event term met the plan's rule for pooling (headache); "
                          "@tbl-harms-pooled gives the estimates.")
    headers, rows = D.harms_rows(harms.result)
    assert [r[:3] for r in rows] == [["Headache", "Mantel-Haenszel risk difference", "3"],
                                     ["Headache", "Peto odds ratio", "3"]]
    forest = next(d for d in recs if d.kind == D.HARMS_FOREST)
    assert forest.result.labels == ["Trial0 2000", "Trial1 2001", "Trial2 2002"]


def test_subgroup_forest_only_where_the_rule_is_met():
    # 11 chronic and one acute study: one subgroup of two or more, no test
    recs = D.displays(_synth(12, phases=["acute"] + ["chronic"] * 11))
    assert D.SUBGROUP not in _kinds(recs)


def test_the_plan_sets_the_sensitivity_rules():
    plan = dict(PLAN, sensitivity={"leave_one_out": 2, "cumulative": 5, "small_study_effects": 3})
    recs = D.displays(_synth(3, plan=plan))
    assert _kinds(recs) == [D.FOREST, D.LEAVE_ONE_OUT, D.TEXT, D.FUNNEL]
    assert "too small for cumulative pooling" in recs[2].text
    assert "leave-one-out pooling when at least 2 studies" in parse_plan(plan).to_markdown()


@pytest.mark.parametrize("bad, message", [
    ({"leave_one_out": 1}, "sensitivity.leave_one_out: expected a whole number >= 2"),
    ({"funnel": 10}, "sensitivity.funnel: unknown key"),
    ({"small_study_effects": "ten"}, "sensitivity.small_study_effects: expected a whole number"),
])
def test_a_wrong_sensitivity_block_is_refused(bad, message):
    with pytest.raises(InputError, match=re.escape(message)):
        parse_plan(dict(PLAN, sensitivity=bad))


def test_figure_records_are_drawn_and_saved_with_their_alt_text(tmp_path):
    from analysis.figures import draw

    recs = D.displays(_synth(12, events=3, phases=["acute"] * 6 + ["chronic"] * 6))
    for d in recs:
        if not d.is_figure:
            continue
        pages = draw.save(d, tmp_path)
        assert [p["label"] for p in pages][0] == d.label
        for p in pages:
            for ext in ("svg", "png"):
                assert (tmp_path / f"{p['label']}.{ext}").stat().st_size > 1000
            assert not (tmp_path / f"{p['label']}.pdf").exists()  # the PDF takes the SVG
            assert p["alt"]


# --- sentences for none, one, two and many ------------------------------------------------

@pytest.mark.parametrize("n, text", [
    (0, ""), (1, "A"), (2, "A and B"), (6, "A, B, C, D, E and F"), (260, "A, B and 258 others (@tbl-x)")])
def test_name_list_shortens_long_lists(n, text):
    names = [chr(65 + i) if i < 26 else f"N{i}" for i in range(n)]
    assert R.name_list(names, where=" (@tbl-x)") == text


@pytest.mark.parametrize("k, pooled, single", [
    (0, "No main analysis reached the plan's threshold of two studies.",
     "No main outcome rests on a single study."),
    (1, "No main analysis reached the plan's threshold of two studies.",
     "For one outcome a single study gives usable data, and its effect is shown alone rather than pooled: "
     "Walking score, MD"),
    (2, "One main analysis reached the plan's threshold of two studies: Walking score, MD",
     "No main outcome rests on a single study."),
    (12, "One main analysis reached the plan's threshold of two studies: Walking score, MD",
     "No main outcome rests on a single study."),
])
def test_results_sentences(k, pooled, single):
    synth = _synth(k)
    main = [a for a in synth.analyses if not a.exploratory]
    p = R.pooled_sentence([a for a in main if a.status == "pooled"], 2)
    s = R.single_study_sentence([a for a in main if a.status == "single study"])
    assert p.startswith(pooled) and s.startswith(single)
    if k == 12:
        assert "from twelve studies and 480 participants (Trial0 2000, Trial1 2001 and 10 others)" in p
    for text in (p, s):
        assert not re.search(r"\b(one|1) (outcomes|studies)\b|\bno single|: \.|, and \.|\(\)", text)


def test_single_study_sentence_for_two_outcomes():
    synth = _synth(1)
    a = synth.analysis("Y")
    text = R.single_study_sentence([a, a])
    assert text.startswith("For two outcomes a single study each gives usable data, and their effects are")


@pytest.mark.parametrize("k, text", [
    (0, "For none of the two main outcomes does any study give usable data; for the Walking score, for "
        "example, the studies that measured it were Trial0 2000 (measured it, but no values were in the "
        "sources read)."),
    (2, "For the Grip strength, no study gives usable data."),
    (1, "For the Grip strength, no study gives usable data."),
])
def test_no_data_sentence(k, text):
    synth = _synth(k)
    assert R.no_data_sentence(synth, [a for a in synth.analyses if a.k == 0]) == text
    assert R.no_data_sentence(synth, []) == "Every planned main outcome has usable data from at least one study."


def test_measured_elsewhere_says_nothing_false_about_a_pooled_outcome():
    synth = _synth(12)
    assert R.measured_elsewhere(synth, [synth.analysis("Y")]) == ""
    one = _synth(1)
    assert R.measured_elsewhere(one, [one.analysis("Y")]) == (
        "No other identified study measured the Walking score, so no comparison across trials is possible there.")


@pytest.mark.parametrize("k, limitation, conclusion", [
    (0, "As a result, no main analysis could be pooled and no outcome rests on a single study.",
     "In this reproduction no study gives usable between-arm data, so no main outcome could be pooled."),
    (1, "As a result, no main analysis could be pooled, and the one single-study effect comes from Trial0 2000.",
     "In this reproduction usable between-arm data come from Trial0 2000 alone, and no main outcome could be pooled."),
    (2, "As a result, one main analysis could be pooled and no outcome rests on a single study.",
     "In this reproduction usable between-arm data come from Trial0 2000 and Trial1 2001 alone, and one main "
     "outcome could be pooled."),
    (12, "As a result, one main analysis could be pooled and no outcome rests on a single study.",
     "In this reproduction usable between-arm data come from Trial0 2000, Trial1 2001 and 10 others, and one "
     "main outcome could be pooled."),
])
def test_limitations_and_conclusions_sentences(k, limitation, conclusion):
    synth = _synth(k)
    assert R.analyses_outcome_sentence(synth) == limitation
    assert R.evidence_sentence(synth) == conclusion


def test_plan_and_subgroup_sentences():
    synth = _synth(12, phases=["acute"] * 6 + ["chronic"] * 6)
    assert R.plan_count_sentence(synth) == "The plan names two main outcome analyses and no exploratory analyses."
    assert R.subgroup_sentence(synth) == ("Subgroup analysis by stroke phase needs two studies in each of two "
                                          "groups; two subgroup estimates could be computed.")
    assert R.subgroup_sentence(_synth(2)).endswith("; no subgroup estimates could be computed.")


@pytest.mark.parametrize("n, none, missing", [
    (0, "No included study states explicitly that no adverse event occurred.",
     "Every included study's sources say something about adverse events."),
    (1, "Among the included studies, only Trial0 2000 states explicitly that no adverse event occurred in either arm.",
     "For one included study, Trial0 2000, the sources read say nothing about adverse events, which is recorded "
     "as missing, not as zero."),
    (2, "Among the included studies, Trial0 2000 and Trial1 2001 state explicitly that no adverse event occurred "
        "in any arm.",
     "For two included studies, Trial0 2000 and Trial1 2001, the sources read say nothing about adverse events, "
     "which is recorded as missing, not as zero."),
    (9, "Among the included studies, Trial0 2000, Trial1 2001 and 7 others state",
     "For nine included studies, Trial0 2000, Trial1 2001 and 7 others, the sources"),
])
def test_harms_sentences(n, none, missing):
    sheets = _sheets(12)
    keys = list(sheets["studies"]["study"][:n])
    assert R.none_reported_sentence(sheets, keys).startswith(none)
    assert R.missing_harms_sentence(sheets, keys).startswith(missing)


def test_captions_follow_the_count_of_studies():
    sheets = _sheets(12)
    sheets["prisma"] = pd.DataFrame({"data": ["included"], "n": [12], "status": ["reported"]})
    assert R.prisma_caption(sheets, 12) == "PRISMA 2020 flow of the published review."
    assert R.prisma_caption(sheets, 11) == ("PRISMA 2020 flow of this version, which includes twelve studies, "
                                            "one more than the published review.")
    assert "published review" not in R.characteristics_caption(sheets, 11)
    assert R.characteristics_caption(sheets, 12).startswith("Characteristics of the studies counted by the published")
    sheets["prisma"].loc[0, "status"] = "not_reported"
    assert R.prisma_caption(sheets, 12).endswith(" A step whose count the sources do not report reads not reported.")


def test_a_forest_longer_than_a_page_continues_over_pages(tmp_path):
    from analysis.figures import draw
    from analysis.figures.forest import ROWS_PER_PAGE

    synth = _synth(ROWS_PER_PAGE + 10)
    forest = next(d for d in D.displays(synth) if d.kind == D.FOREST)
    pages = draw.save(forest, tmp_path)
    assert [p["label"] for p in pages] == ["fig-forest-y"] + [f"fig-forest-y-{n}" for n in range(2, len(pages) + 1)]
    assert len(pages) >= 2 and all(p["pages"] == len(pages) for p in pages)
    assert "Page 2 of" in pages[1]["alt"]


def test_figures_saved_in_worker_processes_are_the_bytes_saved_in_one(tmp_path, monkeypatch):
    from analysis.figures import draw

    records = [d for d in D.displays(_synth(12)) if d.is_figure]
    assert len(records) >= 4
    saved = {}
    for jobs in ("1", "2"):
        monkeypatch.setenv(draw.JOBS_ENV, jobs)
        assert draw.figure_jobs(len(records)) == int(jobs)
        saved[jobs] = draw.save_all(records, tmp_path / jobs)
    as_files = lambda jobs: {p.name: p.read_bytes() for p in sorted((tmp_path / jobs).iterdir())}  # noqa: E731
    assert as_files("1") == as_files("2") and len(as_files("1")) >= 2 * len(records)
    # the same pages, in the records' order, with paths under the folder each was given
    strip = lambda pages: [[{k: v for k, v in p.items() if k != "path"} for p in r] for r in pages]  # noqa: E731
    assert strip(saved["1"]) == strip(saved["2"])
    assert [r[0]["label"] for r in saved["2"]] == [d.label for d in records]


def test_a_figure_that_fails_in_a_worker_fails_the_call(tmp_path, monkeypatch):
    import dataclasses

    from analysis.figures import draw

    good = next(d for d in D.displays(_synth(3)) if d.is_figure)
    bad = dataclasses.replace(good, kind="not-a-figure", label="fig-bad")
    monkeypatch.setenv(draw.JOBS_ENV, "2")
    with pytest.raises(ValueError, match="not a figure record: not-a-figure"):
        draw.save_all([good, bad], tmp_path)


def test_how_many_figure_processes(monkeypatch):
    from analysis.figures import draw

    for named, n, jobs in (("3", 10, 3), ("3", 2, 2), ("1", 10, 1), ("x", 1, 1), ("0", 0, 1)):
        monkeypatch.setenv(draw.JOBS_ENV, named)
        assert draw.figure_jobs(n) == jobs
    monkeypatch.delenv(draw.JOBS_ENV)
    import os
    assert draw.figure_jobs(1000) == len(os.sched_getaffinity(0))


def test_shortened_lists_point_to_the_display_naming_them_all():
    synth = _synth(12)
    pooled = [a for a in synth.analyses if a.status == "pooled"]
    assert "(Trial0 2000, Trial1 2001 and 10 others, @fig-forest-y)" in R.pooled_sentence(pooled, 2, refs=True)
    assert "and 10 others)" in R.pooled_sentence(pooled, 2)
    short = _synth(3)
    assert "(Trial0 2000, Trial1 2001 and Trial2 2002)" in R.pooled_sentence(
        [a for a in short.analyses if a.status == "pooled"], 2, refs=True)


@pytest.mark.parametrize("events, text", [
    (0, ""),
    (3, "One adverse event was pooled: headache, Mantel-Haenszel risk difference "),
])
def test_pooled_harms_in_the_abstract(events, text):
    synth = _synth(12, events=events)
    got = R.harms_pooled_sentence(synth)
    assert got.startswith(text) and (not text or got.endswith("from three studies."))
    if text:
        assert got in R.abstract_results(_sheets(12, events), synth)
