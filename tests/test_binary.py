"""Mantel-Haenszel and Peto pooling against metafor's rma.mh / rma.peto.

Reference values: tests/reference/reference_binary.json, written by
tests/reference/make_reference_binary.R. All are closed forms: relative tolerance 1e-6.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.stats.binary import BinaryPoolResult, mantel_haenszel, peto
from analysis.errors import StatsError

REF = json.loads((Path(__file__).parent / "reference" / "reference_binary.json").read_text())
RTOL = 1e-6


def _nan(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _check(res: BinaryPoolResult, exp: dict):
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("zval", "zval"),
                         ("pval", "pval"), ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub"),
                         ("q", "q"), ("q_pval", "q_pval"), ("i2", "i2"), ("h2", "h2")):
        assert getattr(res, ours) == pytest.approx(exp[theirs], rel=RTOL, abs=1e-12), ours
    assert res.k == exp["k"]
    assert res.k_yi == exp["k_yi"]
    assert res.q_df == exp["k_yi"] - 1
    np.testing.assert_allclose(res.yi, _nan(exp["yi"]), rtol=RTOL)
    np.testing.assert_allclose(res.vi, _nan(exp["vi"]), rtol=RTOL)
    np.testing.assert_allclose(res.weights, _nan(exp["weights"]), rtol=RTOL)


# --- source of truth: metafor rma.mh / rma.peto -------------------------------------------

CASES = [(ds, m) for ds in ("bcg", "nielweise2007") for m in ("OR", "RR", "RD")]


@pytest.mark.parametrize("dataset,measure", CASES)
def test_mantel_haenszel_matches_rma_mh(dataset, measure):
    t = REF["tables"][dataset]
    res = mantel_haenszel(t["ai"], t["bi"], t["ci"], t["di"], measure=measure, labels=t["labels"])
    _check(res, REF["binary"][dataset][measure])
    assert res.measure == measure and res.method == "MH"
    assert res.labels == t["labels"]


@pytest.mark.parametrize("dataset", ["bcg", "nielweise2007"])
def test_mh_odds_ratio_cmh_and_tarone_match(dataset):
    t = REF["tables"][dataset]
    exp = REF["binary"][dataset]["OR"]
    res = mantel_haenszel(t["ai"], t["bi"], t["ci"], t["di"], measure="OR")
    assert res.cmh == pytest.approx(exp["cmh"], rel=RTOL)
    assert res.cmh_pval == pytest.approx(exp["cmh_pval"], rel=RTOL)
    assert res.tarone == pytest.approx(exp["tarone"], rel=RTOL)
    assert res.tarone_pval == pytest.approx(exp["tarone_pval"], rel=RTOL)
    assert res.extra["breslow_day"] == pytest.approx(exp["breslow_day"], rel=RTOL)


def test_mantel_haenszel_level_90():
    t = REF["tables"]["bcg"]
    res = mantel_haenszel(t["ai"], t["bi"], t["ci"], t["di"], measure="RR", level=90)
    _check(res, REF["binary"]["bcg"]["RR_level90"])


@pytest.mark.parametrize("dataset", ["bcg", "nielweise2007"])
def test_peto_matches_rma_peto(dataset):
    t = REF["tables"][dataset]
    res = peto(t["ai"], t["bi"], t["ci"], t["di"])
    _check(res, REF["binary"][dataset]["PETO"])
    assert res.measure == "PETO" and res.method == "Peto"


# --- source of truth: the zero-cell rules as documented in rma.mh ---------------------------

def test_double_zero_table_enters_estimate_but_not_q():
    t = REF["tables"]["nielweise2007"]
    res = mantel_haenszel(t["ai"], t["bi"], t["ci"], t["di"], measure="RD", labels=t["labels"])
    i = t["labels"].index("Yucel 2004")
    assert np.isnan(res.yi[i]) and np.isnan(res.vi[i])
    assert res.k == 18 and res.k_yi == 17
    assert "1 table(s) with no events" in res.correction
    # 0.5 is added to each table with a zero cell that is not a double zero,
    # never to the tables behind the pooled estimate.
    a, c = np.array(t["ai"]), np.array(t["ci"])
    n_single_zero = int((((a == 0) | (c == 0)) & ~((a == 0) & (c == 0))).sum())
    assert f"({n_single_zero} table(s) corrected)" in res.correction
    assert "uncorrected" in res.correction


def test_back_transformed_ratio_is_exponentiated():
    t = REF["tables"]["bcg"]
    res = mantel_haenszel(t["ai"], t["bi"], t["ci"], t["di"], measure="OR")
    est, lb, ub = res.back_transformed()
    ref = REF["binary"]["bcg"]["OR"]
    assert est == pytest.approx(np.exp(ref["estimate"]), rel=RTOL)
    assert (lb, ub) == pytest.approx((np.exp(ref["ci_lb"]), np.exp(ref["ci_ub"])), rel=RTOL)


# --- source of truth: guards -----------------------------------------------------------------

def test_no_events_in_any_table_raises():
    with pytest.raises(StatsError, match="odds ratio undefined"):
        mantel_haenszel([0, 0], [10, 12], [0, 0], [11, 9], measure="OR")
    with pytest.raises(StatsError, match="risk ratio undefined"):
        mantel_haenszel([0, 0], [10, 12], [0, 0], [11, 9], measure="RR")
    with pytest.raises(StatsError, match="zero variance"):
        mantel_haenszel([0, 0], [10, 12], [0, 0], [11, 9], measure="RD")
    with pytest.raises(StatsError, match="never occurred"):
        peto([0, 0], [10, 12], [0, 0], [11, 9])


def test_events_in_one_group_only_gives_rd_but_not_or():
    # MH RD is defined when only one group has events; OR/RR are not (sum b*c/n = 0).
    res = mantel_haenszel([2, 1], [8, 11], [0, 0], [11, 9], measure="RD")
    n1, n2 = np.array([10, 12]), np.array([11, 9])
    n = n1 + n2
    expected = np.sum(np.array([2, 1]) * n2 / n) / np.sum(n1 * n2 / n)
    assert res.estimate == pytest.approx(expected, rel=1e-12)
    with pytest.raises(StatsError):
        mantel_haenszel([2, 1], [8, 11], [0, 0], [11, 9], measure="OR")


def test_bad_inputs_raise():
    with pytest.raises(StatsError, match="k = 0"):
        mantel_haenszel([], [], [], [])
    with pytest.raises(StatsError, match="missing count ci in study B"):
        mantel_haenszel([1, 2], [5, 5], [1, np.nan], [5, 5], labels=["A", "B"])
    with pytest.raises(StatsError, match="negative"):
        peto([1, -2], [5, 5], [1, 1], [5, 5])
    with pytest.raises(StatsError, match="same length"):
        mantel_haenszel([1, 2], [5], [1, 1], [5, 5])
    with pytest.raises(StatsError, match="measure"):
        mantel_haenszel([1], [5], [1], [5], measure="SMD")


def test_single_table_has_no_heterogeneity():
    res = mantel_haenszel([3], [7], [5], [5], measure="OR")
    assert res.estimate == pytest.approx(np.log(3 * 5 / (7 * 5)), rel=1e-12)
    assert (res.q, res.q_pval, res.i2, res.h2, res.q_df) == (0.0, 1.0, 0.0, 1.0, 0)


# --- source of truth: symmetry of the estimators ----------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_table = st.tuples(*[st.integers(1, 40)] * 4)


@settings(max_examples=40, deadline=None)
@given(st.lists(_table, min_size=2, max_size=6))
def test_swapping_groups_negates_estimate(tables):
    ai, bi, ci, di = (np.array(x) for x in zip(*tables))
    for measure in ("OR", "RR", "RD"):
        a = mantel_haenszel(ai, bi, ci, di, measure=measure)
        b = mantel_haenszel(ci, di, ai, bi, measure=measure)
        assert b.estimate == pytest.approx(-a.estimate, rel=1e-9, abs=1e-12)
        assert b.se == pytest.approx(a.se, rel=1e-9)
        assert b.q == pytest.approx(a.q, rel=1e-9, abs=1e-9)
    a, b = peto(ai, bi, ci, di), peto(ci, di, ai, bi)
    assert b.estimate == pytest.approx(-a.estimate, rel=1e-9, abs=1e-12)
    assert b.se == pytest.approx(a.se, rel=1e-9)


def test_study_frame_rows_and_weights():
    t = REF["tables"]["nielweise2007"]
    res = mantel_haenszel(t["ai"], t["bi"], t["ci"], t["di"], measure="OR", labels=t["labels"])
    f = res.study_frame()
    assert list(f["label"]) == t["labels"]
    assert f["weight"].sum() == pytest.approx(100)
    row = f.iloc[0]
    assert row["ci_ub"] - row["yi"] == pytest.approx(1.959963984540054 * np.sqrt(row["vi"]))
    assert f["yi"].isna().sum() == 1


# --- more of metadat (tests/reference/reference_metadat.json) ------------------------------
# dat.yusuf1985 table 9 (beta blockers after myocardial infarction, Peto's own example; six
# double-zero trials), dat.hahn2001 (three double-zero trials) and dat.lau1992.

META = json.loads((Path(__file__).parent / "reference" / "reference_metadat.json").read_text())
META_CASES = [(ds, m) for ds in ("yusuf1985_table9", "hahn2001", "lau1992")
              for m in ("OR", "RR", "RD", "PETO")]


@pytest.mark.parametrize("dataset,measure", META_CASES)
def test_metadat_mh_and_peto_match_metafor(dataset, measure):
    t = META["data"][dataset]
    if measure == "PETO":
        res = peto(t["ai"], t["bi"], t["ci"], t["di"], labels=t["labels"])
    else:
        res = mantel_haenszel(t["ai"], t["bi"], t["ci"], t["di"], measure=measure,
                              labels=t["labels"])
    _check(res, META["binary"][dataset][measure])


def test_peto_with_double_zero_trials():
    t = META["data"]["yusuf1985_table9"]
    double_zero = [(a == 0 and c == 0) for a, c in zip(t["ai"], t["ci"])]
    assert sum(double_zero) == 6
    res = peto(t["ai"], t["bi"], t["ci"], t["di"])
    # the double-zero trials have no yi and carry no weight, as in rma.peto
    assert np.isnan(res.yi[double_zero]).all()
    assert (res.weights[double_zero] == 0).all()
    assert res.k == 26 and res.k_yi == 20
