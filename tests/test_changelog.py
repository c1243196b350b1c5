"""`changelog.describe`: what moved between two sets of numbers, as the sentences a reader sees.

Every case is a pair of small hand-built number sets (the keys `numbers.collect_numbers`
writes) and the exact sentences they must give; no project is needed. Values follow the
snapshot's conventions: floats to six significant digits, whole numbers stored as ints.
"""

from __future__ import annotations

import math

from analysis.living.changelog import Names, describe, names_for
from analysis.living.numbers import clean

from fixture_paths import BUNDLED

MINUS = "\u2212"

NAMES = Names(
    outcomes={"TUG": "Timed Up and Go (s)", "BBS": "Berg Balance Scale", "SMD": "Balance (SMD)"},
    studies={"im2022": "Im 2022", "kim2014": "Kim 2014", "fixture2026": "Fixture 2026"},
    prisma={"total_studies": "Total studies included", "records_screened": "Records screened",
            "dbr_excluded.Duplicate_reports": "Duplicate reports"},
    reasons={"not_reported": "not reported", "only_p-values_or_F_statistics": "only p-values or F statistics"},
)


def _outcome(name: str, **fields) -> dict:
    return {f"analysis.{name}.{k.replace('__', '.')}": v for k, v in fields.items()}


# A pooled outcome of two studies (SMD), as the bundled review reports its exploratory one.
POOLED = _outcome(
    "SMD", k=2, measure="SMD", status="pooled", studies="im2022, kim2014", participants=60,
    estimate=0.421925, se=0.309, ci_lb=-0.18, ci_ub=1.03, i2=41.2, pi_lb=-1.5, pi_ub=2.3, pval=0.17,
    study__im2022__yi=0.2, study__im2022__ci_lb=-0.4, study__im2022__ci_ub=0.8, study__im2022__weight=50,
    study__kim2014__yi=0.6, study__kim2014__ci_lb=0.1, study__kim2014__ci_ub=1.1, study__kim2014__weight=50,
)


def _with(base: dict, **fields) -> dict:
    """`base` with some fields of analysis.SMD replaced (None: the key is dropped)."""
    out = dict(base)
    for k, v in fields.items():
        key = f"analysis.SMD.{k.replace('__', '.')}"
        if v is None:
            out.pop(key, None)
        else:
            out[key] = v
    return out


# --- studies ----------------------------------------------------------------------------

def test_a_count_change():
    assert describe({"studies.included": 14}, {"studies.included": 15}) == [
        "Studies: included studies 15 instead of 14."]


def test_a_new_study_with_its_n():
    old = {"studies.included": 14, "studies.participants": 72, "studies.n_total.im2022": 32}
    new = {"studies.included": 15, "studies.participants": 112, "studies.n_total.im2022": 32,
           "studies.n_total.fixture2026": 40, "studies.n_total.zz2030": None}
    assert describe(old, new, NAMES) == [
        "Studies: included studies 15 instead of 14; participants 112 instead of 72; "
        "new: Fixture 2026 (n = 40), zz2030 (n = not available)."]


def test_a_removed_study_and_a_changed_n():
    old = {"studies.included": 14, "studies.n_total.im2022": 32, "studies.n_total.kim2014": 26}
    new = {"studies.included": 13, "studies.n_total.im2022": 30}
    assert describe(old, new, NAMES) == [
        "Studies: included studies 13 instead of 14; removed: Kim 2014; Im 2022 n = 30 instead of 32."]


def test_counts_by_column_value():
    old = {"studies.by_design.rct": 1, "studies.by_scope.chronic": 2}
    new = {"studies.by_design.rct": 2, "studies.by_design.crossover": 1}
    assert describe(old, new) == [
        "Studies: design crossover: 1 study instead of 0; design rct: 2 studies instead of 1; "
        "scope chronic: 0 studies instead of 2."]


# --- outcomes ---------------------------------------------------------------------------

SINGLE = _outcome(
    "BBS", k=1, measure="MD", status="single study", studies="im2022", participants=32,
    study__im2022__yi=2.5, study__im2022__ci_lb=-1.25, study__im2022__ci_ub=6.25, study__im2022__weight=100)
NOW_POOLED = _outcome(
    "BBS", k=2, measure="MD", status="pooled", studies="fixture2026, im2022", participants=72,
    estimate=3.1, se=1.2, ci_lb=0.75, ci_ub=5.45, i2=0, pi_lb=None, pi_ub=None,
    study__im2022__yi=2.5, study__im2022__ci_lb=-1.25, study__im2022__ci_ub=6.25, study__im2022__weight=45.5,
    study__fixture2026__yi=3.8, study__fixture2026__ci_lb=0.6, study__fixture2026__ci_ub=7, study__fixture2026__weight=54.5)


def test_an_outcome_becoming_pooled():
    # the new study's own numbers go with "adds", I² with "now pooled"; the standard error
    # and Im 2022's weight (100 -> 45.5) are counted, not listed
    assert describe(SINGLE, NOW_POOLED, NAMES) == [
        "Berg Balance Scale: 2 studies instead of 1; now pooled; adds Fixture 2026; "
        "72 instead of 32 participants; pooled MD 3.10 (0.75 to 5.45); 2 other numbers moved with them."]


def test_an_outcome_no_longer_pooled():
    assert describe(NOW_POOLED, SINGLE, NAMES) == [
        "Berg Balance Scale: 1 study instead of 2; no longer pooled (single study); drops Fixture 2026; "
        "32 instead of 72 participants; 2 other numbers moved with them."]


def test_a_pooled_estimate_that_moved_is_printed_to_two_decimals_with_a_true_minus():
    new = _with(POOLED, estimate=-0.2561, ci_lb=-0.904, ci_ub=0.396)
    out = describe(POOLED, new, NAMES)
    assert out == ["Balance (SMD): pooled SMD \u22120.26 (\u22120.90 to 0.40) instead of 0.42 (\u22120.18 to 1.03)."]
    assert "-" not in out[0]


def test_an_estimate_that_is_a_whole_number_keeps_its_decimals():
    # the snapshot stores 1.0 as 1; the sentence must still read 1.00, not 1
    new = _with(POOLED, estimate=clean(1.0), ci_lb=clean(-1.0), ci_ub=clean(3.0))
    assert new["analysis.SMD.estimate"] == 1 and type(new["analysis.SMD.estimate"]) is int
    assert describe(POOLED, new, NAMES) == [
        f"Balance (SMD): pooled SMD 1.00 ({MINUS}1.00 to 3.00) instead of 0.42 ({MINUS}0.18 to 1.03)."]


def test_a_move_beyond_the_second_decimal_is_counted_not_printed():
    out = describe(POOLED, _with(POOLED, estimate=0.4241), NAMES)
    assert out == ["Balance (SMD): 1 number moved beyond the reported precision (weights, standard errors, tests)."]
    # with a standard error and two weights that moved too
    new = _with(POOLED, estimate=0.4241, se=0.311, study__im2022__weight=49.5, study__kim2014__weight=50.5)
    assert describe(POOLED, new, NAMES) == [
        "Balance (SMD): 4 numbers moved beyond the reported precision (weights, standard errors, tests)."]
    # next to a described change, the same numbers are "other numbers"
    new = _with(new, k=3, studies="im2022, kim2014", )
    assert describe(POOLED, new, NAMES) == [
        "Balance (SMD): 3 studies instead of 2; 4 other numbers moved with them."]


def test_i2_in_whole_percent():
    assert describe(POOLED, _with(POOLED, i2=43.7), NAMES) == ["Balance (SMD): I² 44% instead of 41%."]
    # 41.2 -> 41.4 reads 41% both times
    assert describe(POOLED, _with(POOLED, i2=41.4), NAMES) == [
        "Balance (SMD): 1 number moved beyond the reported precision (weights, standard errors, tests)."]
    assert describe(_with(POOLED, i2=0), _with(POOLED, i2=12.6), NAMES) == ["Balance (SMD): I² 13% instead of 0%."]


def test_a_prediction_interval_that_moved_or_went():
    assert describe(POOLED, _with(POOLED, pi_lb=-1.6), NAMES) == [
        f"Balance (SMD): prediction interval {MINUS}1.60 to 2.30 instead of {MINUS}1.50 to 2.30."]
    assert describe(POOLED, _with(POOLED, pi_lb=None, pi_ub=None), NAMES) == [
        f"Balance (SMD): prediction interval not available instead of {MINUS}1.50 to 2.30."]


def test_per_study_effects():
    new = _with(POOLED, study__im2022__yi=0.25, study__im2022__ci_lb=-0.35, study__im2022__ci_ub=0.85,
                study__im2022__weight=52, study__kim2014__weight=48)
    assert describe(POOLED, new, NAMES) == [
        f"Balance (SMD): Im 2022 SMD 0.25 ({MINUS}0.35 to 0.85) instead of 0.20 ({MINUS}0.40 to 0.80); "
        "2 other numbers moved with them."]
    # an effect that moved only in its third decimal is counted
    assert describe(POOLED, _with(POOLED, study__kim2014__yi=0.6012), NAMES) == [
        "Balance (SMD): 1 number moved beyond the reported precision (weights, standard errors, tests)."]


def test_availability_reason_counts():
    old = {"availability.SMD.contributing": 2, "availability.SMD.not_pooled.not_reported": 9,
           "availability.SMD.not_pooled.only_p-values_or_F_statistics": 1}
    new = {"availability.SMD.contributing": 3, "availability.SMD.not_pooled.not_reported": 8,
           "availability.SMD.not_pooled.different_time_point": 1}
    # contributing is the same count as k, which is not in these dicts: never a sentence of its own
    assert describe(old, new, NAMES) == [
        "Balance (SMD): different time point: 1 study instead of 0; not reported: 8 studies instead of 9; "
        "only p-values or F statistics: 0 studies instead of 1."]
    assert describe({"analysis.SMD.k": 2, "availability.SMD.contributing": 2},
                    {"analysis.SMD.k": 3, "availability.SMD.contributing": 3}, NAMES) == [
        "Balance (SMD): 3 studies instead of 2."]


def test_outcomes_that_only_gained_non_reporting_studies_share_one_sentence():
    # a new trial that did not measure the TUG, the BBS or the SMD outcome: the same move in
    # each, said once in plan order; an outcome with another move keeps its own sentence
    names = Names(outcomes={"TUG": "Timed Up and Go (s)", "BBS": "Berg Balance Scale",
                            "W": "10-m walk test, time (s)", "SMD": "Balance (SMD)"},
                  reasons=NAMES.reasons)
    old = {"availability.TUG.not_pooled.not_reported": 11, "availability.BBS.not_pooled.not_reported": 8,
           "availability.W.not_pooled.not_reported": 11, "availability.SMD.not_pooled.not_reported": 8,
           "availability.SMD.not_pooled.only_p-values_or_F_statistics": 1}
    new = {"availability.TUG.not_pooled.not_reported": 12, "availability.BBS.not_pooled.not_reported": 9,
           "availability.W.not_pooled.not_reported": 12, "availability.SMD.not_pooled.not_reported": 9,
           "availability.SMD.not_pooled.only_p-values_or_F_statistics": 0}
    assert describe(old, new, names) == [
        "Not reported (+1 study): Timed Up and Go (s); Berg Balance Scale; 10-m walk test, time (s).",
        "Not reported (+1 study), only p-values or F statistics (\u22121 study): Balance (SMD).",
    ]


def test_an_outcome_added_to_or_removed_from_the_plan():
    assert describe({}, POOLED, NAMES) == [
        "Balance (SMD): new outcome in the plan; 2 studies: Im 2022, Kim 2014; 60 participants; "
        f"pooled SMD 0.42 ({MINUS}0.18 to 1.03); 2 other numbers moved with them."]  # se, pval
    assert describe(POOLED, {}, NAMES) == ["Balance (SMD): no longer in the plan."]


# --- adverse events ---------------------------------------------------------------------

def _events(event: str, **roles) -> dict:
    out = {}
    for role, (events, at_risk, studies) in roles.items():
        base = f"safety.{event}.{role}"
        out.update({f"{base}.events": events, f"{base}.at_risk": at_risk, f"{base}.studies": studies})
        if at_risk:
            out[f"{base}.proportion"] = clean(events / at_risk)
    return out


def test_adverse_event_counts_with_and_without_at_risk():
    # headache: no denominators in the bundled review; vertigo: denominators known
    old = {**_events("headache", active=(2, None, 3), control=(1, None, 2), total=(3, None, 3)),
           **_events("vertigo", active=(1, 38, 2), control=(0, 10, 1), total=(1, 48, 2))}
    new = {**_events("headache", active=(4, None, 4), control=(2, None, 3), total=(6, None, 4)),
           **_events("vertigo", active=(2, 38, 2), control=(0, 10, 1), total=(2, 48, 2))}
    assert describe(old, new) == [
        "Adverse events, headache: active arms 4 instead of 2; control arms 2 instead of 1; all arms 6 instead of 3.",
        "Adverse events, vertigo: active arms 2 of 38 instead of 1 of 38; all arms 2 of 48 instead of 1 of 48.",
    ]


def test_adverse_event_denominator_appearing_new_and_unquoted():
    old = _events("headache", active=(2, None, 3))
    new = _events("headache", active=(2, 40, 3), total=(3, 50, 3))
    # a side without a denominator is not "of not available"; a new role is "added"
    assert describe(old, new) == [
        "Adverse events, headache: active arms 2 of 40 instead of 2; all arms added (3 of 50)."]
    # only the number of reporting studies moved: counted, not dropped
    assert describe(old, _events("headache", active=(2, None, 4))) == [
        "Adverse events, headache: 1 number moved that this note does not quote."]


def _pooled(event: str, code: str, **fields) -> dict:
    return {f"safety.pooled.{event}.{code}.{k}": v for k, v in fields.items()}


def test_pooled_harms_ratio_is_shown_on_its_own_scale():
    old = _pooled("headache", "PETO_OR", k=1)
    fields = dict(k=2, estimate=clean(math.log(2)), ci_lb=clean(math.log(0.6)), ci_ub=clean(math.log(6.7)),
                  exp_estimate=clean(2.0), exp_ci_lb=0.6, exp_ci_ub=6.7, pval=0.33, i2=0)
    new = _pooled("headache", "PETO_OR", **fields)
    out = describe(old, new)
    assert out == ["Pooled adverse events, headache: Peto odds ratio now pooled from 2 studies: 2.00 (0.60 to 6.70)."]
    assert "0.69" not in out[0]  # the log odds ratio is not what a reader is shown
    moved = _pooled("headache", "PETO_OR", **{**fields, "k": 3, "estimate": clean(math.log(1.5)),
                                                "exp_estimate": 1.5, "exp_ci_lb": 0.5, "exp_ci_ub": 4.5})
    assert describe(new, moved) == [
        "Pooled adverse events, headache: Peto odds ratio 3 studies instead of 2, 1.50 (0.50 to 4.50) "
        "instead of 2.00 (0.60 to 6.70)."]
    assert describe(new, old) == ["Pooled adverse events, headache: Peto odds ratio no longer pooled (1 study)."]


def test_pooled_harms_risk_difference():
    old = _pooled("vertigo", "MH_RD", k=2, estimate=0.05, ci_lb=-0.1, ci_ub=0.2, exp_estimate=None,
                  exp_ci_lb=None, exp_ci_ub=None, pval=0.5, i2=0)
    new = _pooled("vertigo", "MH_RD", k=3, estimate=-0.031, ci_lb=-0.15, ci_ub=0.09, exp_estimate=None,
                  exp_ci_lb=None, exp_ci_ub=None, pval=0.61, i2=0)
    assert describe(old, new) == [
        "Pooled adverse events, vertigo: Mantel-Haenszel risk difference 3 studies instead of 2, "
        f"{MINUS}0.03 ({MINUS}0.15 to 0.09) instead of 0.05 ({MINUS}0.10 to 0.20)."]
    # same k, the estimate only in its fourth decimal: no "2 studies instead of 2"
    same = {**old, "safety.pooled.vertigo.MH_RD.estimate": 0.0501}
    assert describe(old, same) == ["Pooled adverse events, vertigo: 1 number moved that this note does not quote."]


# --- PRISMA, ledger, anything else ------------------------------------------------------

def test_prisma_rows():
    old = {"prisma.total_studies": 14, "prisma.records_screened": None, "prisma.citations_results": 3}
    new = {"prisma.total_studies": 15, "prisma.records_screened": 200, "prisma.dbr_excluded.Duplicate_reports": None,
           "prisma.new_reports": 3}
    assert describe(old, new, NAMES) == [
        "PRISMA flow: citations results removed; Duplicate reports added (not reported); new reports added (3); "
        "Records screened 200 instead of not reported; Total studies included 15 instead of 14."]


def test_ledger_status_changes():
    old = {"ledger.C04.reproduced": "14", "ledger.C04.status": "reproduced",
           "ledger.C27.reproduced": "1", "ledger.C27.status": "reproduced",
           "ledger.C36.reproduced": "", "ledger.C36.status": "cannot be checked",
           "ledger.C57.reproduced": "", "ledger.C57.status": "cannot be checked"}
    new = {"ledger.C04.reproduced": "15", "ledger.C04.status": "differs",
           "ledger.C27.reproduced": "1", "ledger.C27.status": "differs",
           "ledger.C36.reproduced": "3", "ledger.C36.status": "cannot be checked",
           "ledger.C58.reproduced": "2", "ledger.C58.status": "reproduced"}
    out = describe(old, new)
    assert out == [
        "Reproduction ledger: C04 reproduced value 15 instead of 14, differs (was reproduced); "
        "C27 differs (was reproduced); C36 reproduced value 3 instead of not available; "
        "C57 removed (status cannot be checked, reproduced value not available); "
        "C58 added (status reproduced, reproduced value 2)."]
    assert "None" not in out[0]


def test_an_unknown_key_gets_a_generic_sentence():
    assert describe({"extra.x": 1, "gone": 0.5}, {"extra.x": 2, "fresh": "yes"}) == [
        "extra.x: 2 instead of 1.", "fresh: added (yes).", "gone: removed (was 0.50)."]


# --- order, and silence -----------------------------------------------------------------

def test_sentences_come_in_a_fixed_order():
    old = {"ledger.C04.reproduced": "14", "ledger.C04.status": "reproduced", "prisma.total_studies": 14,
           "safety.pooled.vertigo.MH_RD.k": 1, "safety.vertigo.total.events": 1, "safety.headache.total.events": 3,
           "analysis.BBS.k": 1, "analysis.TUG.k": 2, "analysis.ZZZ.k": 1, "analysis.AAA.k": 1,
           "studies.included": 14, "other.thing": 1}
    new = {"ledger.C04.reproduced": "14", "ledger.C04.status": "differs", "prisma.total_studies": 15,
           "safety.pooled.vertigo.MH_RD.k": 2, "safety.vertigo.total.events": 2, "safety.headache.total.events": 4,
           "analysis.BBS.k": 2, "analysis.TUG.k": 3, "analysis.ZZZ.k": 2, "analysis.AAA.k": 2,
           "studies.included": 15, "other.thing": 2}
    assert describe(old, new, NAMES) == [
        "Studies: included studies 15 instead of 14.",
        # plan order (TUG before BBS, as Names.outcomes lists them), then outcomes not in the plan by key
        "Timed Up and Go (s): 3 studies instead of 2.",
        "Berg Balance Scale: 2 studies instead of 1.",
        "AAA: 2 studies instead of 1.",
        "ZZZ: 2 studies instead of 1.",
        "Adverse events, headache: all arms 4 instead of 3.",
        "Adverse events, vertigo: all arms 2 instead of 1.",
        "Pooled adverse events, vertigo: Mantel-Haenszel risk difference 2 studies instead of 1.",
        "PRISMA flow: Total studies included 15 instead of 14.",
        "Reproduction ledger: C04 differs (was reproduced).",
        "other.thing: 2 instead of 1.",
    ]


def test_nothing_moved_gives_no_sentence():
    numbers = {**POOLED, **SINGLE, "studies.included": 14, "ledger.C04.status": "reproduced",
               **_events("vertigo", active=(1, 38, 2))}
    assert describe({}, {}) == []
    assert describe(numbers, dict(numbers), NAMES) == []
    # float noise: the 7th significant digit, and one unit in the 6th (two machines' rounding)
    noisy = {**numbers, "analysis.SMD.estimate": 0.4219254, "analysis.SMD.i2": 41.20001,
             "analysis.BBS.study.im2022.yi": 2.500001, "safety.vertigo.active.proportion": 0.02631581}
    assert describe(numbers, noisy, NAMES) == []
    assert describe(numbers, {**numbers, "analysis.SMD.estimate": 0.421926}, NAMES) == []


# --- names ------------------------------------------------------------------------------

def test_names_from_the_bundled_project_and_merging():
    names = names_for(BUNDLED)
    assert list(names.outcomes)[:3] == ["BBS", "TUG", "ABC"]
    assert names.outcome("BBS_SMD_any_change") == "Berg Balance Scale, change or percent change (SMD)"
    assert names.study("bonni2014") == "Bonnì 2014" and names.study("nobody") == "nobody"
    assert names.prisma["total_studies"] == "Total studies included"
    assert names.prisma["dbr_excluded.Missing_outcome_information"] == "Missing outcome information"
    assert names.reasons["only_p-values_or_F_statistics"] == "only p-values or F statistics"
    # a study since removed keeps the name it had; a current name wins over an older one
    older = Names(studies={"gone2020": "Gone 2020", "im2022": "Im et al. 2022"})
    merged = names.merged(older)
    assert merged.study("gone2020") == "Gone 2020" and merged.study("im2022") == "Im 2022"
    assert list(merged.outcomes) == list(names.outcomes)
    assert names_for(BUNDLED / "no-such-folder") == Names(reasons=names.reasons)


def test_search_sources_and_dates():
    old = {"search.sources": 5, "search.by_kind.database": 4,
           "search.source.PubMed.date_searched": "2024-03-01", "search.source.PubMed.date_qualifier": "before"}
    new = {"search.sources": 6, "search.by_kind.database": 5,
           "search.source.PubMed.date_searched": "2025-01-10", "search.source.PubMed.date_qualifier": "on",
           "search.source.Scopus.date_searched": "2025-01-10", "search.source.Scopus.date_qualifier": "on"}
    assert describe(old, new, NAMES) == [
        "Search: sources 6 instead of 5; database 5 instead of 4; PubMed searched 2025-01-10 "
        "(was before 2024-03-01); Scopus added (searched 2025-01-10)."]
