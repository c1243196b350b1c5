"""Subgroups and meta-regression against metafor (tests/reference/reference_pooling.json)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.errors import StatsError
from analysis.stats.subgroups import metareg, subgroup_analysis
from metafor_compare import check_fit

REF = json.loads((Path(__file__).parent / "reference" / "reference_pooling.json").read_text())
BCG = REF["data"]["bcg"]
CLOSED = dict(rel=1e-6, abs=1e-9)
ITER = dict(rel=1e-4, abs=1e-8)


def _approx(expected, tol):
    if expected is None:
        return None
    if isinstance(expected, list):
        return pytest.approx([math.nan if e is None else e for e in expected], nan_ok=True, **tol)
    return pytest.approx(expected, **tol)


# ---------------------------------------------------------------- dat.bcg: meta-regression


@pytest.mark.parametrize("case", REF["metareg"], ids=lambda c: c["id"])
def test_bcg_metareg_matches_metafor(case):
    mods = {name: BCG[name] for name in case["moderators"]}
    res = metareg(case["yi"], case["vi"], mods, method=case["method"], hk=case["hk"])
    ref = case["result"]
    tol = ITER if case["method"] in ("REML", "ML") else CLOSED
    assert res.names == ("intrcpt", *case["moderators"])
    for key in ("coef", "se", "stat", "pval", "ci_lb", "ci_ub"):
        assert list(getattr(res, key)) == _approx(ref[key], tol), key
    for key in ("tau2", "qm", "qm_pval", "i2", "h2"):
        assert getattr(res, key) == _approx(ref[key], tol), key
    for key in ("qe", "qe_pval"):
        assert getattr(res, key) == _approx(ref[key], CLOSED), key
    assert res.qm_df == ref["qm_df"] and res.qe_df == ref["qe_df"]
    if case["hk"]:
        assert res.test == "t" and res.qm_df2 == ref["qm_df2"] and res.df == ref["qm_df2"]
    assert res.r2 == pytest.approx(ref["r2"], rel=1e-4, abs=1e-6)


def test_metareg_coef_frame_and_errors():
    case = REF["metareg"][0]
    res = metareg(case["yi"], case["vi"], np.array(BCG["ablat"]))
    frame = res.coef_frame()
    assert frame["term"].tolist() == ["intrcpt", "mod"]
    with pytest.raises(StatsError, match="collinear"):
        metareg(case["yi"], case["vi"], np.column_stack([BCG["ablat"], BCG["ablat"]]))
    with pytest.raises(StatsError, match="rows"):
        metareg(case["yi"], case["vi"], BCG["ablat"][:5])
    with pytest.raises(StatsError, match="needs more than 2 studies"):
        metareg(case["yi"][:2], case["vi"][:2], BCG["ablat"][:2])


# ---------------------------------------------------------------- dat.bcg: subgroups on alloc


@pytest.mark.parametrize("case", REF["subgroups"], ids=lambda c: c["id"])
def test_bcg_subgroups_match_metafor(case):
    res = subgroup_analysis(case["yi"], case["vi"], case["groups"], method=case["method"],
                            hk=case["hk"], labels=BCG["labels"])
    ref = case["result"]
    tol = ITER if case["method"] in ("REML", "ML") else CLOSED
    assert list(res.groups) == list(dict.fromkeys(case["groups"]))
    for g in ref["groups"]:
        r = res.groups[g["group"]]
        assert r.k == g["k"]
        for key in ("estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "i2", "h2", "pi_lb",
                    "pi_ub", "tau2_ci_lb", "tau2_ci_ub", "i2_ci_lb", "i2_ci_ub"):
            assert getattr(r, key) == _approx(g[key], tol), (g["group"], key)
        assert r.q == _approx(g["q"], CLOSED) and r.q_pval == _approx(g["q_pval"], CLOSED)
        assert list(r.weights) == _approx(g["weights"], tol)
    for key in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "i2", "pi_lb", "pi_ub"):
        assert getattr(res.overall, key) == _approx(ref["overall"][key], tol), ("overall", key)
    assert res.q_between == _approx(ref["q_between"], tol)
    assert res.q_between_df == ref["q_between_df"] == 2
    assert res.q_between_pval == _approx(ref["q_between_pval"], tol)
    frame = res.frame()
    assert frame["group"].tolist()[-1] == "Overall" and len(frame) == 4


def test_subgroup_errors():
    case = REF["subgroups"][0]
    with pytest.raises(StatsError, match="at least two subgroups"):
        subgroup_analysis(case["yi"], case["vi"], ["a"] * len(case["yi"]))
    groups = list(case["groups"])
    groups[3] = None
    with pytest.raises(StatsError, match="subgroup is missing"):
        subgroup_analysis(case["yi"], case["vi"], groups)


# ---------------------------------------------------------------- more of metadat
# tests/reference/reference_metadat.json (make_reference_metadat.R): dat.raudenbush1985
# by weeks has six one-study subgroups; under Hartung-Knapp metafor fits each of them
# with the z test ("Setting argument test="z" since k=1"), so the test for subgroup
# differences still has every subgroup in it.

META = json.loads((Path(__file__).parent / "reference" / "reference_metadat.json").read_text())


@pytest.mark.parametrize("case", META["subgroups"], ids=lambda c: c["id"])
def test_metadat_subgroups_match_metafor(case):
    res = subgroup_analysis(case["yi"], case["vi"], case["groups"], method=case["method"],
                            hk=case["hk"])
    ref = case["result"]
    tol = ITER if case["method"] in ("REML", "ML") else CLOSED
    assert list(res.groups) == [g["group"] for g in ref["groups"]]
    for g in ref["groups"]:
        r = res.groups[g["group"]]
        check_fit(r, {k: v for k, v in g.items() if k != "group"}, case["method"], g["group"])
        if r.k == 1 and case["hk"]:
            assert "z test is used at k = 1" in r.notes[0]
    assert res.q_between == _approx(ref["q_between"], tol)
    assert res.q_between_df == ref["q_between_df"]
    assert res.q_between_pval == _approx(ref["q_between_pval"], tol)


def test_one_study_subgroups_keep_the_test_under_hartung_knapp():
    case = next(c for c in META["subgroups"] if c["id"] == "raudenbush1985_weeks_REML_knha")
    res = subgroup_analysis(case["yi"], case["vi"], case["groups"], hk=True)
    assert sum(r.k == 1 for r in res.groups.values()) == 6
    assert math.isfinite(res.q_between) and res.q_between_df == 9
    d = res.to_dict()
    assert d["q_between"] == pytest.approx(case["result"]["q_between"], rel=1e-4)


@pytest.mark.parametrize("case", META["metareg"], ids=lambda c: c["id"])
def test_metadat_metareg_matches_metafor(case):
    res = metareg(case["yi"], case["vi"], case["mods"], method=case["method"], hk=case["hk"])
    ref = case["result"]
    tol = ITER if case["method"] in ("REML", "ML") else CLOSED
    for key in ("coef", "se", "stat", "pval", "ci_lb", "ci_ub"):
        assert list(getattr(res, key)) == _approx(ref[key], tol), key
    for key in ("tau2", "qm", "qm_pval", "i2", "h2", "tau2_ci_lb", "tau2_ci_ub", "i2_ci_lb",
                "i2_ci_ub", "h2_ci_lb", "h2_ci_ub"):
        assert getattr(res, key) == _approx(ref[key], ITER), key
    for key in ("qe", "qe_pval"):
        assert getattr(res, key) == _approx(ref[key], CLOSED), key
    assert res.qm_df == ref["qm_df"] and res.qe_df == ref["qe_df"]
    assert (math.isnan(res.qm_df2) if ref["qm_df2"] is None else res.qm_df2 == ref["qm_df2"])
    assert res.r2 == pytest.approx(ref["r2"], rel=1e-4, abs=1e-6)
