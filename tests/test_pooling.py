"""Pooling against metafor: reference numbers come from tests/reference/reference_pooling.json."""

import json
import math

import numpy as np
import pytest

from analysis.errors import StatsError
from analysis.stats.pooling import rma

# ---------------------------------------------------------------- validation and edges


@pytest.mark.parametrize(
    "yi, vi, fragment",
    [
        ([], [], "k = 0"),
        ([0.1, float("nan")], [0.1, 0.1], "yi is missing"),
        ([0.1, 0.2], [0.1, float("nan")], "vi is missing"),
        ([0.1, 0.2], [0.1, 0.0], "must be > 0"),
        ([0.1, 0.2], [0.1, -1.0], "must be > 0"),
        ([0.1], [0.1, 0.2], "1 values but vi has 2"),
    ],
)
def test_bad_input_raises_stats_error(yi, vi, fragment):
    with pytest.raises(StatsError, match=fragment):
        rma(yi, vi)


def test_unknown_method_is_refused():
    with pytest.raises(StatsError, match="unknown method"):
        rma([0.1, 0.2], [0.1, 0.1], method="SJ")


def test_k1_follows_metafor():
    # metafor 3.8.1: rma(0.3, 0.04) gives QE = 0, QEp = 1, I2 = 0, H2 = 1, tau2 = 0;
    # with test="knha" it warns 'Setting argument test="z" since k=1' and gives z = 1.5,
    # p = 0.1336144; confint() stops ("Stopped because k = 1").
    for method in ("REML", "ML", "DL", "HE", "FE"):
        res = rma([0.3], [0.04], method=method)
        assert res.k == 1 and res.q_df == 0
        assert res.estimate == 0.3 and res.se == pytest.approx(0.2)
        assert (res.tau2, res.q, res.q_pval, res.i2, res.h2) == (0.0, 0.0, 1.0, 0.0, 1.0)
        assert math.isnan(res.tau2_ci_lb) and math.isnan(res.h2_ci_ub)
        assert res.weights.tolist() == [100.0]
        assert (res.pi_lb, res.pi_ub) == (res.ci_lb, res.ci_ub)
    res = rma([0.3], [0.04], hk=True)
    assert res.test == "z" and res.hk_requested and not res.hk
    assert res.zval == pytest.approx(1.5) and res.pval == pytest.approx(0.133614402537716, rel=1e-9)
    assert res.ci_lb == pytest.approx(-0.0920, abs=1e-4)
    assert "z test is used at k = 1" in res.notes[0]
    d = res.to_dict()
    assert d["zval"] == pytest.approx(1.5) and d["q"] == 0.0 and d["notes"] == list(res.notes)


def test_hk_with_identical_effects_is_metafor_s2_zero():
    # metafor: rma(c(.2,.2,.2), c(.1,.2,.3), test="knha") has se 0, zval Inf, pval 0,
    # ci.lb = ci.ub = 0.2 (s2w = 0 when the weighted RSS is below machine epsilon).
    res = rma([0.2, 0.2, 0.2], [0.1, 0.2, 0.3], hk=True)
    assert res.se == 0.0 and res.tval == math.inf and res.pval == 0.0
    assert res.ci_lb == res.ci_ub == pytest.approx(0.2)
    assert (res.tau2, res.q, res.i2, res.h2) == (0.0, 0.0, 0.0, 1.0)
    assert "s^2 = 0" in res.notes[0]
    d = res.to_dict()
    assert d["tval"] is None and d["pval"] == 0.0
    json.dumps(d, allow_nan=False)


def test_values_that_overflow_are_refused():
    with pytest.raises(StatsError, match="cannot be pooled in double precision"):
        rma([1e308, 1e308, 0.9e308], [1e-300, 2e-300, 1e-300], what="x.csv")


def test_fixed_effect_is_inverse_variance_mean():
    y = np.array([0.1, 0.5, -0.2, 0.3])
    v = np.array([0.02, 0.05, 0.1, 0.04])
    res = rma(y, v, method="FE")
    w = 1 / v
    assert res.estimate == pytest.approx(np.sum(w * y) / np.sum(w), rel=1e-12)
    assert res.se == pytest.approx(math.sqrt(1 / np.sum(w)), rel=1e-12)
    assert res.weights.sum() == pytest.approx(100.0)


def test_hk_only_when_asked():
    y = [0.1, 0.5, -0.2, 0.3]
    v = [0.02, 0.05, 0.1, 0.04]
    assert rma(y, v).test == "z"
    res = rma(y, v, hk=True)
    assert res.test == "t" and res.df == 3


# ====================================================================== against metafor
# Reference: tests/reference/reference_pooling.json, written by make_reference.R with
# metafor and metadat (versions recorded in the file). Closed forms are compared at
# 1e-6 relative (1e-9 absolute near zero); anything that depends on an iterative tau^2
# (ML, REML) at 1e-4 relative.

from pathlib import Path  # noqa: E402

REF = json.loads((Path(__file__).parent / "reference" / "reference_pooling.json").read_text())
POOL = {c["id"]: c for c in REF["pool"]}

CLOSED = dict(rel=1e-6, abs=1e-9)
ITER = dict(rel=1e-4, abs=1e-8)
TAU2_DEPENDENT = ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "tau2", "tau", "i2",
                  "h2", "pi_lb", "pi_ub")


def _num(x):
    return math.nan if x is None else float(x)


def _close(actual, expected, tol, what):
    expected = _num(expected)
    if math.isnan(expected):
        assert math.isnan(actual), f"{what}: expected NaN, got {actual}"
        return
    assert actual == pytest.approx(expected, **tol), f"{what}: {actual} != metafor {expected}"


def fit_case(case):
    return rma(case["yi"], case["vi"], method=case["method"], hk=case["hk"],
               level=case["level"], labels=case["labels"], measure=case["measure"])


def check_against_metafor(case):
    res = fit_case(case)
    ref = case["result"]
    iterative = case["method"] in ("REML", "ML")
    assert res.k == ref["k"]
    assert res.test == ("t" if case["hk"] else "z")
    got = {
        "estimate": res.estimate, "se": res.se,
        "stat": res.tval if case["hk"] else res.zval, "pval": res.pval,
        "ci_lb": res.ci_lb, "ci_ub": res.ci_ub, "tau2": res.tau2, "tau": res.tau,
        "i2": res.i2, "h2": res.h2, "q": res.q, "q_pval": res.q_pval,
        "pi_lb": res.pi_lb, "pi_ub": res.pi_ub,
        "tau2_ci_lb": res.tau2_ci_lb, "tau2_ci_ub": res.tau2_ci_ub,
        "i2_ci_lb": res.i2_ci_lb, "i2_ci_ub": res.i2_ci_ub,
    }
    for key, value in got.items():
        tol = ITER if (iterative and key in TAU2_DEPENDENT) else CLOSED
        _close(value, ref[key], tol, f"{case['id']} {key}")
    # a tau^2 upper bound stopped at metafor's tau2.max is marked as such (metafor's ">")
    assert res.tau2_ci_ub_capped == bool(ref["tau2_ci_ub_capped"]), case["id"]
    if case["hk"]:
        assert res.df == ref["df"]
    np.testing.assert_allclose(res.weights, ref["weights"], **(
        {"rtol": 1e-4} if iterative else {"rtol": 1e-6}))
    # metafor's default uniroot tolerance (~1.2e-4) leaves its printed bounds this close.
    for key in ("tau2_ci_lb", "tau2_ci_ub"):
        default = _num(ref[key + "_default_tol"])
        if not math.isnan(default):
            assert abs(got[key] - default) <= 2e-4 * max(1.0, abs(default)), key
    return res


def _ids(prefix):
    return sorted(i for i in POOL if i.startswith(prefix) and "_k2_" not in i and "tau2zero" not in i)


# ---------------------------------------------------------------- dat.bcg


@pytest.mark.parametrize("case_id", [i for i in _ids("bcg_") if not i.startswith("bcg_zero")])
def test_bcg(case_id):
    check_against_metafor(POOL[case_id])


def test_reml_reaches_metafor_convergence_point_not_pymare_search():
    # PyMARE's own REML search leaves tau^2 about 1e-4 (relative) from metafor's on
    # dat.bcg risk differences; the reported value must be metafor's to 1e-9.
    case = POOL["bcg_RD_REML"]
    res = fit_case(case)
    assert res.tau2 == pytest.approx(case["result"]["tau2"], rel=1e-9)
    assert res.estimate == pytest.approx(case["result"]["estimate"], rel=1e-9)


def test_bcg_summary_and_json():
    res = fit_case(POOL["bcg_RR_REML_knha"])
    frame = res.summary_frame()
    assert len(frame) == res.k + 1
    assert frame["label"].iloc[0] == "Aronson 1948"
    assert frame["label"].iloc[-1] == "Pooled (REML, HK)"
    assert frame["yi"].iloc[-1] == res.estimate
    d = res.to_dict()
    assert "tval" in d and d["df"] == 12 and "zval" not in d
    assert d["studies"][0] == {"study": "Aronson 1948", "yi": res.yi[0], "vi": res.vi[0],
                               "weight": res.weights[0]}
    json.dumps(d, allow_nan=False)
    d_fe = fit_case(POOL["bcg_RR_FE"]).to_dict()
    assert d_fe["tau2_ci_lb"] is None and "zval" in d_fe


# ---------------------------------------------------------------- dat.bcg with zero cells


@pytest.mark.parametrize("case_id", _ids("bcg_zero_"))
def test_bcg_zero(case_id):
    check_against_metafor(POOL[case_id])


# ---------------------------------------------------------------- dat.normand1999


@pytest.mark.parametrize("case_id", _ids("normand1999_"))
def test_normand1999(case_id):
    check_against_metafor(POOL[case_id])


# ---------------------------------------------------------------- dat.nielweise2007


@pytest.mark.parametrize("case_id", _ids("nielweise2007_"))
def test_nielweise2007(case_id):
    check_against_metafor(POOL[case_id])


def test_nielweise2007_rr_tau2_is_zero_and_ci_truncated():
    res = check_against_metafor(POOL["nielweise2007_RR_REML"])
    assert res.tau2 == 0.0 and res.tau2_ci_lb == 0.0 and res.i2 == 0.0


# ---------------------------------------------------------------- edge cases: k = 2, tau^2 = 0


@pytest.mark.parametrize("case_id", sorted(i for i in POOL if "_k2_" in i or "tau2zero" in i))
def test_edge_cases(case_id):
    check_against_metafor(POOL[case_id])


# ---------------------------------------------------------------- invariances (any data)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(
    data=st.lists(st.tuples(st.floats(-3, 3), st.floats(0.01, 1.0)), min_size=3, max_size=12),
    shift=st.floats(-5, 5),
    method=st.sampled_from(["DL", "REML"]),
)
def test_shift_and_order_invariance(data, shift, method):
    y = np.array([d[0] for d in data])
    v = np.array([d[1] for d in data])
    # The invariances belong to the estimator's optimum; metafor's Fisher scoring may stop
    # short of it, or not converge at all (e.g. four (0, 1) studies and one (1, 0.125)).
    fit = lambda yy, vv: rma(yy, vv, method=method, tau2_convergence="optimum")
    base = fit(y, v)
    moved = fit(y + shift, v)
    rev = fit(y[::-1], v[::-1])
    assert moved.estimate == pytest.approx(base.estimate + shift, rel=1e-6, abs=1e-6)
    assert moved.tau2 == pytest.approx(base.tau2, rel=1e-4, abs=1e-7)
    assert rev.estimate == pytest.approx(base.estimate, rel=1e-6, abs=1e-9)  # root-found tau^2
    assert base.tau2 >= 0 and base.tau2_ci_lb <= base.tau2_ci_ub
    assert base.ci_lb <= base.estimate <= base.ci_ub
    assert base.pi_lb <= base.ci_lb + 1e-12


# ====================================================================== more of metadat
# tests/reference/reference_metadat.json, written by make_reference_metadat.R: data sets
# the code above was not written against (lau1992, anand1999, li2007, graves2010,
# lehmann2018, raudenbush1985, bangertdrowns2004, molloy2014, yusuf1985, hahn2001, and
# the risk differences of nielweise2007, where metafor stops early).

from metafor_compare import check_fit  # noqa: E402

META = json.loads((Path(__file__).parent / "reference" / "reference_metadat.json").read_text())
MPOOL = {c["id"]: c for c in META["pool"]}


@pytest.mark.parametrize("case_id", sorted(i for i, c in MPOOL.items() if c["error"] is None))
def test_metadat_against_metafor(case_id):
    case = MPOOL[case_id]
    res = rma(case["yi"], case["vi"], method=case["method"], hk=case["hk"], level=case["level"],
              labels=case["labels"], measure=case["measure"])
    assert check_fit(res, case["result"], case["method"], case_id) >= 25


@pytest.mark.parametrize("case_id", sorted(i for i, c in MPOOL.items()
                                           if c["error"] is None and c["result"]["converged_early"]))
def test_optimum_on_request_is_the_fit_at_the_optimum(case_id):
    case = MPOOL[case_id]
    res = rma(case["yi"], case["vi"], method=case["method"], hk=case["hk"], level=case["level"],
              tau2_convergence="optimum")
    ref = case["result"]["at_optimum"]
    assert res.tau2_convergence == "optimum" and res.converged_early
    assert res.tau2_metafor == pytest.approx(case["result"]["tau2"], rel=1e-9)
    _close(res.tau2, ref["tau2"], ITER, "tau2")
    for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "i2", "h2", "pi_lb", "pi_ub"):
        _close(getattr(res, key), ref[key], ITER, f"{case_id} {key}")
    assert "the optimum is reported" in res.notes[-1]


def test_nielweise2007_rd_stops_where_metafor_stops():
    # metafor stops after 8 steps at 1.3822e-4 (REML) and 7.955e-5 (ML); the optima are
    # 1.2255e-4 and 5.916e-5
    reml = rma(MPOOL["nielweise2007_RD_REML"]["yi"], MPOOL["nielweise2007_RD_REML"]["vi"])
    assert reml.tau2 == pytest.approx(1.38222351038922e-4, rel=1e-9)
    assert reml.estimate == pytest.approx(-0.016301, abs=5e-7)
    assert reml.tau2_optimum == pytest.approx(1.22553e-4, rel=1e-4)
    d = reml.to_dict()
    assert d["converged_early"] is True and d["tau2_optimum"] == reml.tau2_optimum


def test_ll0check_only_above_the_threshold():
    # dat.lau1992 log RR, ML: metafor stops at 7.68e-6, below its threshold 1e-5, so its
    # ll0check does not set tau^2 to 0 although tau^2 = 0 is the optimum
    case = MPOOL["lau1992_RR_ML"]
    res = rma(case["yi"], case["vi"], method="ML")
    assert res.tau2 == pytest.approx(7.68382283221266e-06, rel=1e-9)
    assert res.tau2_optimum == 0.0 and res.converged_early


def test_fisher_scoring_that_does_not_converge_is_an_error_naming_the_analysis():
    # dat.lehmann2018, pre-registered studies: metafor's REML Fisher scoring alternates
    # between two values and rma() stops ("Fisher scoring algorithm did not converge")
    case = MPOOL["lehmann2018_preregistered_REML"]
    assert "did not converge" in case["error"]
    with pytest.raises(StatsError, match=r"^red\.csv: REML estimation of tau\^2 did not converge"):
        rma(case["yi"], case["vi"], what="red.csv")
    res = rma(case["yi"], case["vi"], tau2_convergence="optimum")
    ref = case["optimum"]
    _close(res.tau2, ref["tau2_optimize"], ITER, "tau2")
    # metafor itself converges to the same point with halved steps (stepadj = 0.5)
    _close(res.tau2, ref["stepadj_half"]["tau2"], ITER, "tau2")
    for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "i2", "h2", "pi_lb", "pi_ub"):
        _close(getattr(res, key), ref["at_optimum"][key], ITER, key)
    # and every number of that fit
    assert check_fit(res, ref["stepadj_half"], "REML", "stepadj 0.5") >= 30
    assert math.isnan(res.tau2_metafor) and not res.converged_early


def test_h2_interval_follows_the_tau2_interval():
    res = fit_case(POOL["bcg_RR_REML"])
    vt = (res.k - 1) / np.sum((1 / res.vi) - (1 / res.vi) ** 2 / np.sum(1 / res.vi))
    assert res.h2_ci_lb == pytest.approx(1 + res.tau2_ci_lb / vt, rel=1e-12)
    assert res.h2_ci_ub == pytest.approx(1 + res.tau2_ci_ub / vt, rel=1e-12)
    frame = res.summary_frame()
    assert frame["h2_ci_ub"].iloc[-1] == res.h2_ci_ub and frame["h2_ci_ub"].iloc[:-1].isna().all()
    assert res.to_dict()["h2_ci_lb"] == res.h2_ci_lb


# ---------------------------------------------------------------- the closed forms against PyMARE


@settings(max_examples=20, deadline=None)
@given(data=st.lists(st.tuples(st.floats(-3, 3), st.floats(0.01, 1.0)), min_size=3, max_size=15))
def test_closed_forms_agree_with_pymare(data):
    # PyMARE is not imported to pool; its estimators are an independent check
    from pymare.estimators import DerSimonianLaird, Hedges, WeightedLeastSquares

    y = np.array([d[0] for d in data])
    v = np.array([d[1] for d in data])
    X = np.ones((y.size, 1))
    for method, est in (("DL", DerSimonianLaird), ("HE", Hedges)):
        fit = est(small_sample_correction="wald").fit(y=y[:, None], v=v[:, None], X=X)
        t = max(0.0, float(np.ravel(fit.params_["tau2"])[0]))
        res = rma(y, v, method=method)
        assert res.tau2 == pytest.approx(t, rel=1e-9, abs=1e-12)
        wls = WeightedLeastSquares(tau2=res.tau2, small_sample_correction="wald").fit(
            y=y[:, None], X=X, v=v[:, None])
        assert res.estimate == pytest.approx(float(np.ravel(wls.params_["fe_params"])[0]),
                                             rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------- the plan can ask for the optimum


def test_plan_key_tau2_convergence():
    import copy

    import yaml

    from analysis.data.plan import parse_plan
    from analysis.errors import InputError

    from fixture_paths import BUNDLED

    raw = yaml.safe_load((BUNDLED / "analysis_plan.yml").read_text(encoding="utf-8"))
    plan = parse_plan(copy.deepcopy(raw))
    assert {o.tau2_convergence for o in plan.outcomes} == {"metafor"}  # the key is optional
    assert "Fisher scoring" not in plan.to_markdown()
    raw["defaults"]["tau2_convergence"] = "optimum"
    plan = parse_plan(copy.deepcopy(raw))
    assert {o.tau2_convergence for o in plan.outcomes} == {"optimum"}
    # stated in the Methods when used
    assert "maximum of the likelihood, not the point where metafor's Fisher scoring stops" in \
        plan.to_markdown()
    raw["defaults"]["tau2_convergence"] = "best"
    with pytest.raises(InputError, match=r"defaults\.tau2_convergence: unknown value 'best'"):
        parse_plan(raw)
