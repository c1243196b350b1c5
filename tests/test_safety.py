"""Adverse-event tallies and Clopper-Pearson intervals.

Sources of truth: R's binom.test (tests/reference/reference_binary.json) for the intervals;
the counting rules of docs/architecture.md, applied by hand to small frames, for the tallies.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.binary import mantel_haenszel, peto
from analysis.errors import InputError, StatsError
from analysis.stats.safety import clopper_pearson, tally

REF = json.loads((Path(__file__).parent / "reference" / "reference_binary.json").read_text())


# --- source of truth: R binom.test ------------------------------------------------------------

@pytest.mark.parametrize("case", REF["clopper_pearson"], ids=lambda c: f"{c['x']}of{c['n']}")
def test_clopper_pearson_matches_binom_test(case):
    for level, key in ((95, "ci95"), (90, "ci90")):
        lo, hi = clopper_pearson(case["x"], case["n"], level)
        assert lo == pytest.approx(case[key][0], rel=1e-6, abs=1e-12)
        assert hi == pytest.approx(case[key][1], rel=1e-6, abs=1e-12)


def test_clopper_pearson_guards():
    for x, n in ((3, 2), (-1, 5), (1, 0), (np.nan, 5), (1.5, 4)):
        with pytest.raises(StatsError):
            clopper_pearson(x, n)


# --- source of truth: the counting rules, on hand-made sheets ---------------------------------

ARMS = pd.DataFrame([
    dict(study="alpha2019", arm="tms", role="active", n_randomised=12, n_analysed=11),
    dict(study="alpha2019", arm="sham", role="control", n_randomised=12, n_analysed=None),
    dict(study="beta2020", arm="tms", role="active", n_randomised=15, n_analysed=None),
    dict(study="beta2020", arm="sham", role="control", n_randomised=14, n_analysed=13),
    dict(study="gamma2021", arm="tms", role="active", n_randomised=20, n_analysed=20),
    dict(study="gamma2021", arm="sham", role="control", n_randomised=20, n_analysed=20),
    dict(study="delta2022", arm="tms", role="active", n_randomised=None, n_analysed=None),
    dict(study="delta2022", arm="sham", role="control", n_randomised=None, n_analysed=None),
])


def _ae(rows):
    cols = ["study", "arm", "event", "events", "at_risk", "severity", "status"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols)


AE = _ae([
    ("alpha2019", "tms", "headache", 1, None, "mild", "reported"),
    ("alpha2019", "tms", "headache", 1, None, "moderate", "reported"),
    ("alpha2019", "sham", "headache", 1, 10, "mild", "reported"),
    ("alpha2019", "tms", "twitching", 1, None, "mild", "reported"),
    ("beta2020", "", "any", None, None, "", "reported_none"),
    ("gamma2021", "", "any", None, None, "", "not_reported"),
    ("delta2022", "tms", "headache", 3, None, "", "reported"),
    ("delta2022", "sham", "headache", 0, None, "", "reported"),
])


@pytest.fixture(scope="module")
def result():
    return tally(AE, ARMS)


def _cell(df, **where):
    sel = np.ones(len(df), bool)
    for k, v in where.items():
        sel &= (df[k] == v).to_numpy()
    assert sel.sum() == 1, where
    return df[sel].iloc[0]


def test_event_terms_come_from_the_sheet(result):
    assert result.events == ["headache", "twitching", "any"]


def test_severity_rows_are_summed_and_denominator_falls_back(result):
    r = _cell(result.per_study, study="alpha2019", arm="tms", event="headache")
    assert (r["events"], r["at_risk"], r["at_risk_source"]) == (2, 11, "n_analysed")
    assert r["severity"] == "mild; moderate" and r["role"] == "active"
    r = _cell(result.per_study, study="alpha2019", arm="sham", event="headache")
    assert (r["events"], r["at_risk"], r["at_risk_source"]) == (1, 10, "at_risk")


def test_reported_none_any_is_zero_for_every_term(result):
    for term in ("headache", "twitching", "any"):
        tms = _cell(result.per_study, study="beta2020", arm="tms", event=term)
        sham = _cell(result.per_study, study="beta2020", arm="sham", event=term)
        assert (tms["events"], tms["at_risk"], tms["at_risk_source"]) == (0, 15, "n_randomised")
        assert (sham["events"], sham["at_risk"]) == (0, 13)
        assert tms["status"].startswith("reported_none")


def test_not_reported_is_missing_and_never_counted(result):
    assert "gamma2021" not in set(result.per_study["study"])
    m = result.missing[result.missing["study"] == "gamma2021"]
    assert list(m["event"]) == ["any"]
    assert m["reason"].iloc[0] == "adverse events not reported"
    # gamma2021's 20 control participants are in no denominator: only beta2020's 13.
    tot = _cell(result.totals, event="twitching", role="control")
    assert (tot["events"], tot["at_risk"], tot["studies"]) == (0, 13, 1)


def test_unknown_denominator_lists_events_without_proportion(result):
    r = _cell(result.per_study, study="delta2022", arm="tms", event="headache")
    assert r["events"] == 3 and np.isnan(r["at_risk"]) and r["at_risk_source"] == "unknown"
    tot = _cell(result.totals, event="headache", role="active")
    # alpha 2 + beta 0 + delta 3 events; delta's denominator is unknown.
    assert tot["events"] == 5 and tot["studies"] == 3
    assert np.isnan(tot["proportion"]) and np.isnan(tot["ci_lb"]) and np.isnan(tot["at_risk"])
    assert "delta2022" in tot["note"] and "not computed" in tot["note"]
    reasons = result.missing[(result.missing["study"] == "delta2022")
                             & (result.missing["event"] == "headache")]["reason"]
    assert reasons.str.contains("number at risk unknown").all() and len(reasons) == 1


def test_totals_with_known_denominators_use_clopper_pearson(result):
    tot = _cell(result.totals, event="twitching", role="active")
    # alpha tms 1/11 plus beta tms 0/15 (reported_none any).
    assert (tot["events"], tot["at_risk"], tot["studies"]) == (1, 26, 2)
    assert tot["proportion"] == pytest.approx(1 / 26)
    lo, hi = clopper_pearson(1, 26)
    assert (tot["ci_lb"], tot["ci_ub"]) == (pytest.approx(lo), pytest.approx(hi))
    tot = _cell(result.totals, event="any", role="total")
    assert (tot["events"], tot["at_risk"], tot["studies"]) == (0, 28, 1)
    assert tot["ci_lb"] == 0 and tot["ci_ub"] == pytest.approx(1 - 0.025 ** (1 / 28))


def test_arm_without_a_row_for_a_term_is_missing(result):
    m = result.missing
    assert ((m["event"] == "twitching") & (m["study"] == "alpha2019")
            & m["reason"].str.contains("arm sham")).sum() == 1
    assert ((m["event"] == "twitching") & (m["study"] == "delta2022")
            & m["reason"].str.contains("not this term")).sum() == 1
    assert not ((result.per_study["study"] == "alpha2019")
                & (result.per_study["event"] == "twitching")
                & (result.per_study["arm"] == "sham")).any()


def test_pooling_uses_studies_with_both_arms_and_denominators(result):
    p = result.pooled
    rd = _cell(p, event="headache", method="MH")
    assert rd["k"] == 2 and rd["studies"] == "alpha2019, beta2020" and rd["reason"] == ""
    ai, bi, ci, di = [2, 0], [9, 15], [1, 0], [9, 13]
    exp = mantel_haenszel(ai, bi, ci, di, measure="RD")
    assert rd["estimate"] == pytest.approx(exp.estimate, rel=1e-12)
    assert rd["se"] == pytest.approx(exp.se, rel=1e-12)
    pe = _cell(p, event="headache", method="Peto")
    exp = peto(ai, bi, ci, di)
    assert pe["estimate"] == pytest.approx(exp.estimate, rel=1e-12)
    assert pe["exp_estimate"] == pytest.approx(np.exp(exp.estimate), rel=1e-12)
    tw = _cell(p, event="twitching", method="MH")
    assert tw["k"] == 1 and "pooling needs 2 or more" in tw["reason"] and np.isnan(tw["estimate"])


def test_pooling_reason_when_no_events_anywhere():
    ae = _ae([("alpha2019", "", "any", None, None, "", "reported_none"),
              ("beta2020", "", "any", None, None, "", "reported_none")])
    res = tally(ae, ARMS)
    expected = {"MH": "zero variance: no events (or only events) in every table",
                "Peto": "one of the two outcomes never occurred in any table"}
    for method, why in expected.items():
        row = _cell(res.pooled, event="any", method=method)
        assert row["k"] == 2 and np.isnan(row["estimate"])
        assert why in row["reason"]
    assert "gamma2021" in set(res.missing["study"])  # no row at all for this study


def test_bad_sheets_raise_input_error():
    with pytest.raises(InputError, match="status"):
        tally(_ae([("alpha2019", "", "any", None, None, "", "none")]), ARMS)
    with pytest.raises(InputError, match="missing column"):
        tally(AE.drop(columns=["status"]), ARMS)


def test_whole_study_rows_and_term_specific_none():
    ae = _ae([
        ("alpha2019", "", "syncope", 1, None, "severe", "reported"),
        ("alpha2019", "", "vertigo", None, None, "", "reported_none"),
        ("beta2020", "tms", "vertigo", 2, 15, "", "reported"),
        ("beta2020", "sham", "vertigo", None, None, "", "not_reported"),
    ])
    res = tally(ae, ARMS)
    # Whole-study syncope: denominator is the sum over arms (11 analysed + 12 randomised).
    r = _cell(res.per_study, study="alpha2019", event="syncope")
    assert (r["arm"], r["role"], r["events"], r["at_risk"]) == ("", "", 1, 23)
    assert r["at_risk_source"] == "n_analysed+n_randomised (all arms)"
    tot = _cell(res.totals, event="syncope", role="total")
    assert (tot["events"], tot["at_risk"]) == (1, 23)
    assert not ((res.totals["event"] == "syncope") & (res.totals["role"] == "active")).any()
    # reported_none for vertigo only: zero vertigo in both arms, syncope untouched.
    v = res.per_study[(res.per_study["study"] == "alpha2019") & (res.per_study["event"] == "vertigo")]
    assert sorted(zip(v["arm"], v["events"], v["at_risk"])) == [("sham", 0, 12), ("tms", 0, 11)]
    # beta2020: sham vertigo not reported -> missing, not zero; its 13 are not counted.
    m = res.missing
    assert ((m["study"] == "beta2020") & (m["event"] == "vertigo")
            & (m["reason"] == "vertigo not reported for arm sham")).sum() == 1
    tot = _cell(res.totals, event="vertigo", role="control")
    assert (tot["events"], tot["at_risk"], tot["studies"]) == (0, 12, 1)
    tot = _cell(res.totals, event="vertigo", role="active")
    assert (tot["events"], tot["at_risk"], tot["studies"]) == (2, 26, 2)


def test_methods_and_min_studies_follow_the_plan(result):
    res = tally(AE, ARMS, methods=("PETO_OR",), min_studies=3)
    assert list(res.pooled["code"].unique()) == ["PETO_OR"]
    row = _cell(res.pooled, event="headache", code="PETO_OR")
    assert row["k"] == 2 and "pooling needs 3 or more" in row["reason"]
    assert list(result.pooled[result.pooled["event"] == "headache"]["code"]) == ["MH_RD", "PETO_OR"]
    with pytest.raises(StatsError, match="MH_OR"):
        tally(AE, ARMS, methods=("MH_OR",))


def test_reported_row_without_count_is_missing_once():
    ae = _ae([("alpha2019", "tms", "headache", 2, None, "", "reported"),
              ("alpha2019", "sham", "headache", None, None, "", "reported")])
    res = tally(ae, ARMS)
    m = res.missing[(res.missing["study"] == "alpha2019") & (res.missing["event"] == "headache")]
    assert list(m["reason"]) == ["status reported but events empty for arm sham"]
    assert list(res.per_study["arm"]) == ["tms"]
