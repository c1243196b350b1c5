"""analysis.review.report: the counts, lists and formatted numbers the review's prose uses,
checked against the bundled sheets and against small hand-made frames."""

import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from analysis.review import report as R
from analysis.data.claims import load_claims
from analysis.review.ledger import evaluate
from analysis.data.plan import load_plan
from analysis.data.load import load_sheets
from analysis.review.synthesis import synthesise
from fixture_paths import BUNDLED, REPO

ROOT = BUNDLED  # the frozen copy of the bundled review (tests/fixtures/bundled)


@pytest.fixture(scope="module")
def bundled():
    sheets = load_sheets(ROOT)
    synth = synthesise(sheets, load_plan(ROOT))
    ledger = evaluate(sheets, load_claims(ROOT))
    return sheets, synth, ledger


def test_counts_of_included_studies(bundled):
    sheets, _, _ = bundled
    assert R.n_included(sheets) == 14          # the published review's count
    assert R.n_identified(sheets) == 12        # two slots could not be matched
    assert R.n_included(sheets, scope="upper-limb") == 2
    assert R.n_included(sheets, design="rct") == 8
    # dai2023 is in the sheet but not included.
    assert R.count_where(sheets, "studies", study="dai2023") == 1
    assert R.n_included(sheets, study="dai2023") == 0


def test_count_by_groups_empty_cells_as_not_reported(bundled):
    sheets, _, _ = bundled
    fam = R.count_by(sheets, "studies", "protocol_family", included="yes", identified="yes")
    assert fam == {"LF-rTMS": 2, "iTBS": 7, "LF-rTMS+cTBS": 1, "PAS": 1, "not reported": 1}


def test_study_list_in_year_order_with_filters(bundled):
    sheets, _, _ = bundled
    assert R.study_list(sheets, scope="upper-limb") == "Chen 2021 and Rosso 2022"
    assert R.study_list(sheets, phase="acute") == "Kim 2014 and Xie 2021"
    assert R.study_list(sheets, protocol_family=["LF-rTMS", "PAS"]) == "Kim 2014, Im 2022 and Rosso 2022"
    assert R.study_list(sheets, study=[]) == ""


def test_values_and_arm_sizes(bundled):
    sheets, _, _ = bundled
    assert R.n_total(sheets, "kim2014") == 32
    assert R.n_total(sheets, "rosso2022") is None
    assert R.arm_sizes(sheets, "kim2014") == [22, 10]
    assert R.arm_sizes(sheets, "koch2019") == [None, None]
    st = sheets["studies"]
    named = st[(st["included"] == "yes") & (st["identified"] == "yes")]
    assert R.participants(sheets, identified="yes") == int(named["n_total"].dropna().sum())
    assert R.arm_mean_sd(sheets, "im2022", "rtms", "BBS", "T0-T2") == "4.40 \u00b1 3.66"
    assert R.arm_mean_sd(sheets, "kim2014", "real", "10MWT_time", "post", 1) == "\u221216.7 \u00b1 35.1"
    with pytest.raises(LookupError):
        R.value(sheets, "studies", "year", included="yes")


def test_number_formatting():
    assert R.words(3) == "three" and R.words(0) == "no" and R.words(14) == "14"
    assert R.cap("no main analysis") == "No main analysis"
    assert R.fmt_num(-0.001) == "0.00"
    assert R.fmt_num(-1.5, 1) == "\u22121.5"
    assert R.fmt_num(None) == "not reported" and R.fmt_num(math.nan) == "not reported"
    assert R.fmt_p(0.0004) == "p < 0.001"
    assert R.fmt_p(0.0072) == "p = 0.007"
    assert R.fmt_p(0.04) == "p = 0.04"
    assert R.join_words(["a"]) == "a"
    assert R.join_words(["a", "b", "c"], "or") == "a, b or c"


def test_pooled_effect_text(bundled):
    _, synth, _ = bundled
    res = synth.analysis("BBS_SMD_any_change").result
    # Kim 2014 (percent change) and Im 2022 (change), REML. The same data in R, metafor 3.8.1:
    # escalc("SMD", m1i=c(46.4, 4.40), sd1i=c(100.2, 3.66), n1i=c(22, 16), m2i=c(36.6, 1.88),
    # sd2i=c(71.6, 3.14), n2i=c(10, 16)); rma(yi, vi, method="REML") gives 0.4219
    # [-0.1825, 1.0264], I^2 26.82%, tau^2 0.0511; predict(): PI [-0.3275, 1.1713].
    assert R.fmt_effect(res) == "SMD 0.42 (95% CI \u22120.18 to 1.03)"
    assert R.fmt_heterogeneity(res) == "I\u00b2 = 27%, \u03c4\u00b2 = 0.05"
    assert R.fmt_prediction(res) == "95% prediction interval \u22120.33 to 1.17"
    fake = SimpleNamespace(measure="MD", estimate=-2.0, ci_lb=-3.5, ci_ub=-0.5, level=90.0)
    assert R.fmt_effect(fake, 1) == "MD \u22122.0 (90% CI \u22123.5 to \u22120.5)"


def test_single_study_effect_is_the_mean_difference_of_the_arms(bundled):
    _, synth, _ = bundled
    # Im 2022 BBS change T0-T2: 4.40 - 1.88 = 2.52 points.
    assert R.study_effect(synth.analysis("BBS"), "im2022") == "MD 2.52 (95% CI 0.16 to 4.88)"
    assert R.study_effect(synth.analysis("TUG"), "im2022").startswith("MD \u22124.37 ")
    with pytest.raises(LookupError):
        R.study_effect(synth.analysis("BBS"), "kim2014")


def test_analyses_by_status(bundled):
    _, synth, _ = bundled
    assert [a.outcome for a in R.analyses_with(synth, "pooled")] == ["BBS_SMD_any_change"]
    assert R.analyses_with(synth, "pooled", exploratory=False) == []
    assert [a.outcome for a in R.analyses_with(synth, "single study")] == ["BBS", "TUG", "ABC"]
    singles = R.analyses_with(synth, "single study")
    assert R.outcome_labels(singles[:2], lower=False) == "Berg Balance Scale and Timed Up and Go (s)"


def test_non_contributors_name_studies_that_measured_the_outcome(bundled):
    _, synth, _ = bundled
    assert R.non_contributors(synth, "BBS") == (
        "Kim 2014 (reports only percent change from baseline), "
        "Koch 2019 (reports only p-values or test statistics), "
        "Liao 2021 (describes the result in words only) and "
        "Liao 2024 (measured it, but no values were in the sources read)")
    assert R.non_contributors(synth, "TUG") == ""
    assert R.non_contributors(synth, "MAS") == \
        "Chen 2021 (describes the result in words only) and Li 2021 (has no control arm)"


def test_reason_counts_and_contributors(bundled):
    _, synth, _ = bundled
    counts = R.reason_counts(synth)
    assert counts["narrative only"] == 6
    assert counts["percent change on a different metric"] == 3
    assert counts["study not identified"] == 20     # two slots x ten main outcomes
    assert sum(counts.values()) + 3 == 140          # three cells contribute (Im 2022)
    assert R.contributing_studies(synth) == ["Im 2022"]
    assert R.contributing_studies(synth, exploratory=True) == ["Kim 2014", "Im 2022"]


def test_adverse_event_sums(bundled):
    sheets, _, _ = bundled
    assert R.ae_events(sheets, study="dai2023", arm="bilateral") == 14
    assert R.ae_events(sheets, event="twitching", role="active") == 22
    assert R.ae_events(sheets, event="discomfort", role="control") == 2
    # Kim 2014's explicit zeros are reported_none rows, not events.
    assert R.ae_events(sheets, study="kim2014") == 0
    assert R.ae_studies(sheets, "reported_none") == ["kim2014"]
    assert R.ae_studies(sheets, "reported") == ["liao2021", "im2022", "rosso2022", "dai2023"]
    assert R.ae_studies(sheets, "not_reported", only_included=True) == [
        "bonni2014", "koch2019", "chen2021", "li2021", "xie2021", "xia2022", "einstein2023", "liao2024"]


def test_ledger_helpers(bundled):
    _, _, ledger = bundled
    assert R.claim(ledger, "C07") == "differs"
    assert R.claim(ledger, "C07", "reproduced") == "subacute"
    assert R.claim(ledger, "C11", "published") == "11"
    assert (R.ledger_count(ledger, "reproduced") + R.ledger_count(ledger, "consistent (taken from the review)")
            + R.ledger_count(ledger, "differs") + R.ledger_count(ledger, "cannot be checked")) == len(ledger)
    assert R.ledger_count(ledger, "differs") == 4


def test_plan_rules_stop_before_the_table(bundled):
    _, synth, _ = bundled
    text = R.plan_rules(synth.plan)
    assert "|" not in text
    assert "REML" in text and text.startswith("**Pre-specified analysis plan**")


def test_split_table_separates_a_trailing_legend():
    table, legend = R.split_table("| a | b |\n| --- | --- |\n| 1 | 2 |\n\nyes: contributes.\n")
    assert table == "| a | b |\n| --- | --- |\n| 1 | 2 |\n"
    assert legend == "yes: contributes."
    assert R.split_table("| a |\n| --- |\n") == ("| a |\n| --- |\n", "")


def test_filters_on_unknown_columns_are_refused():
    sheets = {"studies": pd.DataFrame({"study": ["a"], "included": ["yes"], "year": [2020], "label": ["A 2020"]})}
    with pytest.raises(KeyError):
        R.rows(sheets, "studies", nope="x")
    assert R.study_list(sheets) == "A 2020"
    assert R.count_where(sheets, "studies", label=None) == 0


def test_count_noun_and_measured_by(bundled):
    _, synth, _ = bundled
    assert R.count_noun(0, "main outcome") == "no main outcomes"
    assert R.count_noun(1, "trial") == "one trial"
    assert R.count_noun(3, "analysis", "analyses") == "three analyses"
    assert R.measured_by(synth, "TUG") == ["Im 2022"]
    assert R.measured_by(synth, "BBS") == ["Kim 2014", "Koch 2019", "Liao 2021", "Im 2022", "Liao 2024"]
    assert R.measured_by(synth, "FMA_LE") == ["Liao 2021", "Xie 2021", "Liao 2024"]


def test_estimator_words_follow_the_plan_code():
    assert R.estimator_words("REML") == "restricted maximum likelihood"
    assert R.estimator_words("dl") == "the DerSimonian-Laird method"
    with pytest.raises(KeyError):
        R.estimator_words("XYZ")


# --- sentences that must stay true when a trial is added --------------------------------

def _updated(tmp_path):
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from test_numbers import copy_project
    from trial_fixture import add_trial

    root = copy_project(tmp_path / "review")
    add_trial(root)
    return synthesise(load_sheets(root), load_plan(root))


def test_pooled_and_single_study_sentences_on_the_bundled_sheets(bundled):
    _, synth, _ = bundled
    pooled = R.analyses_with(synth, "pooled", exploratory=False)
    single = R.analyses_with(synth, "single study", exploratory=False)
    assert R.pooled_clause(pooled) == ""
    assert R.single_study_list(single) == (
        "Berg Balance Scale, MD 2.52 (95% CI 0.16 to 4.88) from Im 2022 (32 participants; "
        "follow-up value: no end-of-treatment value reported); "
        "Timed Up and Go (s), MD \u22124.37 (95% CI \u22127.24 to \u22121.50) from Im 2022 (32 participants); "
        "Activities-specific Balance Confidence scale, MD 7.94 (95% CI 3.83 to 12.05) from Im 2022 (32 participants)")
    assert R.measured_elsewhere(synth, single).startswith(
        "No other identified study measured the Timed Up and Go (s) or the Activities-specific Balance "
        "Confidence scale, so no comparison across trials is possible there. Other studies measured the "
        "Berg Balance Scale but could not contribute: Kim 2014 (reports only percent change from baseline), ")
    x = synth.analysis("BBS_SMD_any_change")
    assert R.forms_in(x) == "percent change from baseline (Kim 2014) and change from baseline (Im 2022)"
    assert R.follow_up_sentence(x) == "Im 2022 contributes a value measured at follow-up, after treatment had ended."
    assert R.study_effects(x) == (
        "SMD 0.10 (95% CI \u22120.64 to 0.85) for Kim 2014 and SMD 0.72 (95% CI 0.01 to 1.44) for Im 2022 "
        "(follow-up value: no end-of-treatment value reported)")


def test_the_same_sentences_after_a_trial_is_added(tmp_path):
    synth = _updated(tmp_path)
    pooled = R.analyses_with(synth, "pooled", exploratory=False)
    single = R.analyses_with(synth, "single study", exploratory=False)
    assert [a.outcome for a in pooled] == ["BBS"] and [a.outcome for a in single] == ["TUG", "ABC"]
    bbs = pooled[0]
    assert R.pooled_clause(pooled) == (
        f": Berg Balance Scale, {R.fmt_effect(bbs.result)}, {R.fmt_heterogeneity(bbs.result)}, "
        "from two studies and 72 participants (Im 2022 and Fixture 2026)")
    assert R.fmt_effect(bbs.result) == "MD 3.12 (95% CI 1.40 to 4.84)"
    assert "Berg Balance Scale" not in R.single_study_list(single)
    x = synth.analysis("BBS_SMD_any_change")
    assert R.forms_in(x) == ("percent change from baseline (Kim 2014) and "
                             "change from baseline (Im 2022 and Fixture 2026)")
    assert R.study_effects(x).endswith("for Fixture 2026")
    assert R.follow_up_sentence(x) == "Im 2022 contributes a value measured at follow-up, after treatment had ended."


def test_measured_elsewhere_never_says_a_pooled_outcome_cannot_be_compared():
    # twelve trials pooled, none left out: there is a comparison across trials (issue found by
    # tests/test_any_update.py on generated updates)
    synth = SimpleNamespace(availability=pd.DataFrame(columns=["outcome", "contributes", "reason", "detail",
                                                               "label"]))
    pooled = SimpleNamespace(label="Timed Up and Go (s)", outcome="TUG", k=12)
    single = SimpleNamespace(label="Pain score", outcome="PAIN", k=1)
    assert R.measured_elsewhere(synth, [pooled]) == ""
    assert R.measured_elsewhere(synth, [pooled, single]) == (
        "No other identified study measured the Pain score, so no comparison across trials is possible there.")


def test_count_since_publication_only_speaks_when_the_count_moved():
    than = "the published review"
    assert R.count_since_publication(14, 14, than=than) == ""
    assert R.count_since_publication(15, 14, than=than) == " This version counts 15 included studies, one more than the published review."
    assert R.count_since_publication(12, 14, than="the protocol") == " This version counts 12 included studies, two fewer than the protocol."


def test_search_when_reads_the_search_sheet(bundled):
    sheets, _, _ = bundled
    assert R.search_when(sheets) == "before 1 March 2024"
    one = {"search": pd.DataFrame({"date_searched": ["2025-02-15", "2025-02-15"], "date_qualifier": ["on", "on"]})}
    assert R.search_when(one) == "on 15 February 2025"
    two = {"search": pd.DataFrame({"date_searched": ["2025-02-15", "2025-01-02", pd.NA],
                                   "date_qualifier": ["on", "on", pd.NA]})}
    assert R.search_when(two) == "on dates from 2 January 2025 to 15 February 2025"
    none = {"search": pd.DataFrame({"date_searched": [pd.NA], "date_qualifier": [pd.NA]})}
    assert R.search_when(none) == "at a date the review does not report"


# --- the ledger and the abstract's results, at every count ------------------------------

def _ledger(statuses):
    """A ledger whose claims have these outcomes ("no sheet": cannot be checked, no sheet)."""
    return pd.DataFrame([dict(claim_id=f"C{i}", status="cannot be checked" if st == "no sheet" else st,
                              sheet="" if st == "no sheet" else "studies")
                         for i, st in enumerate(statuses, 1)])


TAKEN = "consistent (taken from the review)"


def test_ledger_sentence_at_every_count():
    assert R.ledger_sentence(_ledger([])) == "The ledger holds no statement of the published review."
    assert R.ledger_sentence(_ledger(["differs"])) == \
        "The one statement of the published review in the ledger differs (C1)."
    assert R.ledger_sentence(_ledger(["no sheet", "no sheet"])) == (
        "Both statements of the published review in the ledger cannot be checked, no sheet "
        "recording such a quantity.")
    assert R.ledger_sentence(_ledger(["reproduced", TAKEN])) == (
        "Of the two statements of the published review in the ledger, one was reproduced "
        "independently from the study reports and one agrees with the sheets only because the "
        "sheets took the value from the published review itself.")
    many = _ledger(["reproduced"] * 2 + [TAKEN] * 3 + ["differs"] * 2 + ["cannot be checked", "no sheet"])
    assert R.ledger_sentence(many) == (
        "Of the nine statements of the published review in the ledger, two were reproduced "
        "independently from the study reports; three agree with the sheets only because the sheets "
        "took the value, in whole or in part, from the published review itself; two differ (C6 and "
        "C7); and two cannot be checked, one of them because no sheet records such a quantity.")
    assert R.ledger_sentence(many, short=True) == (
        "Of the nine statements of the published review in the ledger, two were reproduced "
        "independently from the study reports, three agree with the sheets only because the sheets "
        "took the value from the published review itself, two differ and two cannot be checked.")


def _studies(identified, reported=(), none=(), silent=()):
    keys = [f"s{i}" for i in range(len(identified))]
    studies = pd.DataFrame({"study": keys, "label": [f"Study {i}" for i in range(len(keys))],
                            "year": [2000 + i for i in range(len(keys))], "included": ["yes"] * len(keys),
                            "identified": identified})
    ae = pd.DataFrame({"study": list(reported) + list(none) + list(silent),
                       "status": ["reported"] * len(reported) + ["reported_none"] * len(none)
                       + ["not_reported"] * len(silent)})
    return {"studies": studies, "adverse_events": ae}


def test_included_and_harms_sentences_at_every_count():
    assert R.included_sentence(_studies([])) == "The review includes no study."
    assert R.included_sentence(_studies(["no"])) == \
        "The review includes one study, whose publication could not be identified."
    assert R.included_sentence(_studies(["yes", "yes"])) == "The review includes two studies."
    assert R.included_sentence(_studies(["yes", "no", "no"])) == \
        "The review includes three studies, one of them identified by name."
    assert R.included_sentence(_studies(["no", "no"])) == \
        "The review includes two studies, none of them identified by name."
    assert R.harms_sentence(_studies([])) == ""
    assert R.harms_sentence(_studies(["yes"], silent=["s0"])) == \
        "The one identified study says nothing about harms in the sources read."
    assert R.harms_sentence(_studies(["yes"] * 3, none=["s0", "s1", "s2"])) == \
        "All three identified studies state that none occurred."
    assert R.harms_sentence(_studies(["yes"] * 4, reported=["s0", "s1"], none=["s2"], silent=["s3"])) == (
        "Of the four identified studies, two have adverse events recorded, one states that none "
        "occurred and one says nothing about harms in the sources read.")


def _analysis(label, status, exploratory=False, k=0):
    result = SimpleNamespace(measure="MD", estimate=-1.5, ci_lb=-3.0, ci_ub=0.25, level=95) if status == "pooled" else None
    return SimpleNamespace(label=label, status=status, exploratory=exploratory, k=k, result=result,
                           participants=40 * k)


def test_analyses_and_exploratory_sentences_at_every_count():
    synth = lambda *a: SimpleNamespace(analyses=list(a))  # noqa: E731
    assert R.analyses_sentence(synth()) == "The plan names no main analysis."
    assert R.analyses_sentence(synth(_analysis("Pain", "single study", k=1))) == \
        "The one planned main analysis rests on a single study."
    assert R.analyses_sentence(synth(_analysis("Pain", "pooled", k=3))) == \
        "The one planned main analysis was pooled (Pain, MD \u22121.50 (95% CI \u22123.00 to 0.25) from three studies)."
    assert R.analyses_sentence(synth(_analysis("Pain", "no usable data"), _analysis("Mood", "no usable data"))) == \
        "None of the two planned main analyses could be pooled: all have no usable data."
    assert R.analyses_sentence(synth(_analysis("Pain", "single study", k=1), _analysis("Mood", "no usable data"),
                                     _analysis("Gait", "no usable data"))) == (
        "None of the three planned main analyses could be pooled: one rests on a single study (Pain) "
        "and two have no usable data.")
    mixed = synth(_analysis("Pain", "pooled", k=2), _analysis("Mood", "too few studies", k=2),
                  _analysis("Gait", "single study", k=1), _analysis("Sleep", "pooled", exploratory=True, k=4))
    assert R.analyses_sentence(mixed) == (
        "Of the three planned main analyses, one was pooled (Pain, MD \u22121.50 (95% CI \u22123.00 to 0.25) "
        "from two studies); one rests on a single study (Gait); and one has too few studies for pooling.")
    assert R.exploratory_sentence(mixed) == (
        "The exploratory analysis \u201cSleep\u201d gives MD \u22121.50 (95% CI \u22123.00 to 0.25) from four "
        "studies and 160 participants; the plan marks it as exploratory, not as an estimate of a planned effect.")
    assert R.exploratory_sentence(synth(_analysis("Pain", "pooled", k=2))) == ""
