"""Leave-one-out, cumulative, funnel, Egger and trim-and-fill against metafor.

Reference values: tests/reference/reference_binary.json (tests/reference/make_reference_binary.R):
leave1out, cumul, regtest and trimfill on dat.bcg (log RR) and dat.hackshaw1998 (log OR).
Iterative fits (REML): relative tolerance 1e-4; closed forms (DL, FE, lm): 1e-6.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis.errors import StatsError
from analysis.stats.sensitivity import (EGGER_REASON, cumulative, egger_test, funnel_data,
                                  leave_one_out, trimfill)

REF = json.loads((Path(__file__).parent / "reference" / "reference_binary.json").read_text())
DATASETS = ("bcg_logrr", "hackshaw1998")
FITS = ("REML", "REML_hk", "DL", "DL_hk", "FE")


def _tol(method):
    return 1e-4 if method in ("REML", "ML") else 1e-6


def _arr(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _compare_frame(df, ref, rtol):
    for col, values in ref.items():
        if col == "order" or values is None:  # metafor leaves tau2 out for FE
            continue
        np.testing.assert_allclose(df[col].to_numpy(float), _arr(values), rtol=rtol,
                                   atol=1e-8, err_msg=col)


# --- source of truth: metafor leave1out / cumul ------------------------------------------------

@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("fit", FITS)
def test_leave_one_out_matches_leave1out(dataset, fit):
    d = REF["yivi"][dataset]
    method = fit.split("_")[0]
    df = leave_one_out(d["yi"], d["vi"], method=method, hk=fit.endswith("hk"),
                       labels=d["labels"])
    assert list(df["study"]) == d["labels"]
    _compare_frame(df, REF["sensitivity"][dataset][fit]["leave1out"], _tol(method))


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("fit", FITS)
def test_cumulative_by_year_matches_cumul(dataset, fit):
    d = REF["yivi"][dataset]
    ref = REF["sensitivity"][dataset][fit]["cumul"]
    method = fit.split("_")[0]
    df = cumulative(d["yi"], d["vi"], d["year"], method=method, hk=fit.endswith("hk"),
                    labels=d["labels"])
    assert list(df["position"]) == ref["order"]
    assert list(df["study"]) == [d["labels"][i] for i in ref["order"]]
    _compare_frame(df, ref, _tol(method))


def test_cumulative_first_row_is_the_first_study_alone():
    d = REF["yivi"]["bcg_logrr"]
    df = cumulative(d["yi"], d["vi"], d["year"])
    first = df.iloc[0]
    i = int(first["position"])
    assert first["estimate"] == d["yi"][i]
    assert first["se"] == pytest.approx(np.sqrt(d["vi"][i]))
    assert (first["q"], first["qp"], first["tau2"], first["i2"], first["h2"]) == (0, 1, 0, 0, 1)


# --- source of truth: metafor regtest ----------------------------------------------------------

REGTEST = [("rma", "REML", False), ("lm", "REML", False), ("rma_hk", "REML", True),
           ("rma_dl", "DL", False)]


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("key,method,hk", REGTEST)
def test_egger_matches_regtest(dataset, key, method, hk):
    d = REF["yivi"][dataset]
    ref = REF["sensitivity"][dataset]["regtest"][key]
    res = egger_test(d["yi"], d["vi"], model=key.split("_")[0], method=method, hk=hk)
    rtol = _tol(method) if key.startswith("rma") else 1e-6
    assert res.applicable and res.reason == ""
    assert res.stat == pytest.approx(ref["zval"], rel=rtol)
    assert res.pval == pytest.approx(ref["pval"], rel=rtol)
    assert res.limit_estimate == pytest.approx(ref["est"], rel=rtol)
    assert res.limit_ci_lb == pytest.approx(ref["ci_lb"], rel=rtol)
    assert res.limit_ci_ub == pytest.approx(ref["ci_ub"], rel=rtol)
    if ref["df"] is None:
        assert res.test == "z" and np.isnan(res.df)
    else:
        assert res.test == "t" and res.df == ref["df"]
    assert res.slope / res.slope_se == pytest.approx(res.stat)


def test_egger_below_ten_studies_is_not_applicable():
    d = REF["yivi"]["bcg_logrr"]
    y, v = d["yi"][:8], d["vi"][:8]
    res = egger_test(y, v)
    assert not res.applicable and res.reason == EGGER_REASON and res.k == 8
    assert np.isnan(res.stat) and np.isnan(res.pval)
    forced = egger_test(y, v, model="lm", compute_below_min_k=True)
    assert not forced.applicable and forced.reason == EGGER_REASON
    # Classic Egger: regress yi/sei on 1/sei; the intercept is the asymmetry coefficient.
    sei = np.sqrt(v)
    fit = stats.linregress(1 / sei, np.array(y) / sei)
    assert forced.slope == pytest.approx(fit.intercept, rel=1e-9)
    assert forced.slope_se == pytest.approx(fit.intercept_stderr, rel=1e-9)
    with pytest.raises(StatsError, match="at least 3"):
        egger_test(y[:2], v[:2], compute_below_min_k=True)


# --- source of truth: metafor trimfill ---------------------------------------------------------

@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("key", ["REML_L0", "REML_R0", "FE_L0", "FE_R0", "DL_L0", "DL_R0"])
def test_trimfill_matches_metafor(dataset, key):
    d = REF["yivi"][dataset]
    ref = REF["sensitivity"][dataset]["trimfill"][key]
    method, estimator = key.split("_")
    res = trimfill(d["yi"], d["vi"], method=method, estimator=estimator, labels=d["labels"])
    rtol = _tol(method)
    assert res.k0 == ref["k0"] and res.side == ref["side"]
    assert res.se_k0 == pytest.approx(ref["se_k0"], rel=1e-6)
    if ref["p_k0"] is None:
        assert np.isnan(res.p_k0)
    else:
        assert res.p_k0 == pytest.approx(ref["p_k0"], rel=1e-12)
    np.testing.assert_allclose(res.yi, ref["yi"], rtol=rtol)
    np.testing.assert_allclose(res.vi, ref["vi"], rtol=1e-12)
    assert list(res.fill) == ref["fill"]
    p = res.pooled
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_lb", "ci_lb"),
                         ("ci_ub", "ci_ub"), ("tau2", "tau2"), ("pval", "pval"), ("q", "q")):
        assert getattr(p, ours) == pytest.approx(ref[theirs], rel=rtol, abs=1e-10), ours
    assert p.k == len(ref["yi"])
    assert res.labels == d["labels"] + [f"Filled {i + 1}" for i in range(res.k0)]


def test_trimfill_adds_studies_on_the_side_given():
    d = REF["yivi"]["hackshaw1998"]
    auto = trimfill(d["yi"], d["vi"])
    forced = trimfill(d["yi"], d["vi"], side="left")
    assert forced.k0 == auto.k0 == 7
    assert forced.pooled.estimate == pytest.approx(auto.pooled.estimate, rel=1e-12)
    # Filled studies mirror observed ones around the trimmed estimate: below it on the left.
    assert (forced.yi[forced.fill] < auto.original.estimate).all()
    np.testing.assert_array_equal(forced.filled_yi, forced.yi[-7:])
    np.testing.assert_array_equal(forced.filled_vi, forced.vi[-7:])
    assert forced.pooled.estimate < forced.original.estimate
    with pytest.raises(StatsError):
        trimfill(d["yi"][:1], d["vi"][:1])


# --- source of truth: funnel definition (estimate -/+ z * se) ----------------------------------

def test_funnel_data_contour_and_points():
    d = REF["yivi"]["bcg_logrr"]
    f = funnel_data(d["yi"], d["vi"], -0.7, level=95, labels=d["labels"])
    assert list(f.points["label"]) == d["labels"]
    np.testing.assert_allclose(f.points["sei"], np.sqrt(d["vi"]))
    top, bottom = f.contour.iloc[0], f.contour.iloc[-1]
    assert (top["sei"], top["ci_lb"], top["ci_ub"]) == (0, -0.7, -0.7)
    assert bottom["sei"] == pytest.approx(max(np.sqrt(d["vi"])))
    assert bottom["ci_ub"] - (-0.7) == pytest.approx(1.959963984540054 * bottom["sei"])
    with pytest.raises(StatsError):
        funnel_data(d["yi"], d["vi"], float("nan"))


def test_guards():
    with pytest.raises(StatsError):
        leave_one_out([0.1], [0.01])
    with pytest.raises(StatsError):
        cumulative([0.1, 0.2], [0.01, 0.02], [2000])
    with pytest.raises(StatsError):
        leave_one_out([0.1, np.nan], [0.01, 0.02])


# --- more of metadat (tests/reference/reference_metadat.json) ----------------------------------
# dat.bangertdrowns2004 and dat.raudenbush1985, each fitted with REML and DL, with and without
# Hartung-Knapp. metafor's trimfill refits the filled data with the z test whatever the fit
# used (it does not pass `test` on): bangertdrowns2004 REML with Hartung-Knapp has se 0.05267
# after filling, where a Hartung-Knapp refit gives 0.05724.

META = json.loads((Path(__file__).parent / "reference" / "reference_metadat.json").read_text())
META_CASES = [(d, f) for d in ("bangertdrowns2004", "raudenbush1985")
              for f in ("REML", "REML_hk", "DL", "DL_hk")]


@pytest.mark.parametrize("dataset,fit", META_CASES)
def test_metadat_leave1out_cumul_regtest(dataset, fit):
    d = META["data"][dataset]
    ref = META["sensitivity"][dataset]
    method, hk = fit.split("_")[0], fit.endswith("hk")
    rtol = _tol(method)
    loo = leave_one_out(d["yi"], d["vi"], method=method, hk=hk, labels=d["labels"])
    _compare_frame(loo, ref[fit]["leave1out"], rtol)
    cum = cumulative(d["yi"], d["vi"], ref["order_by"], method=method, hk=hk, labels=d["labels"])
    assert list(cum["position"]) == ref[fit]["cumul"]["order"]
    _compare_frame(cum, ref[fit]["cumul"], rtol)
    eg = egger_test(d["yi"], d["vi"], method=method, hk=hk)
    rt = ref[fit]["regtest"]
    assert eg.stat == pytest.approx(rt["zval"], rel=rtol)
    assert eg.pval == pytest.approx(rt["pval"], rel=rtol)
    assert eg.limit_estimate == pytest.approx(rt["est"], rel=rtol)
    assert (eg.limit_ci_lb, eg.limit_ci_ub) == (pytest.approx(rt["ci_lb"], rel=rtol),
                                                pytest.approx(rt["ci_ub"], rel=rtol))
    assert (np.isnan(eg.df) if rt["df"] is None else eg.df == rt["df"])


@pytest.mark.parametrize("dataset,fit", META_CASES)
def test_metadat_trimfill_refits_with_z_as_metafor(dataset, fit):
    d = META["data"][dataset]
    ref = META["sensitivity"][dataset][fit]["trimfill"]
    method, hk = fit.split("_")[0], fit.endswith("hk")
    res = trimfill(d["yi"], d["vi"], method=method, hk=hk, labels=d["labels"])
    rtol = _tol(method)
    assert res.k0 == ref["k0"] and res.side == ref["side"]
    assert res.se_k0 == pytest.approx(ref["se_k0"], rel=1e-6)
    np.testing.assert_allclose(res.yi, ref["yi"], rtol=rtol)
    np.testing.assert_allclose(res.vi, ref["vi"], rtol=1e-12)
    assert list(res.fill) == ref["fill"] and ref["p_k0"] is None and np.isnan(res.p_k0)
    # k0 = 0: metafor returns the fit itself, with its test
    assert res.refit_test == ("t" if ref["test"] == "knha" else "z")
    p = res.pooled
    for key in ("estimate", "se", "zval" if p.test == "z" else "tval", "pval", "ci_lb", "ci_ub",
                "tau2", "q", "i2", "h2"):
        expected = ref["zval" if key == "tval" else key]
        assert getattr(p, key) == pytest.approx(expected, rel=rtol, abs=1e-10), key


def test_trimfill_hartung_knapp_refit_only_when_asked():
    d = META["data"]["bangertdrowns2004"]
    ref = META["sensitivity"]["bangertdrowns2004"]["REML_hk"]["trimfill"]
    assert ref["k0"] > 0 and ref["test"] == "z"
    z = trimfill(d["yi"], d["vi"], hk=True)
    assert z.pooled.se == pytest.approx(0.05267, abs=5e-6) == pytest.approx(ref["se"], rel=1e-4)
    assert z.original.test == "t" and z.refit_test == "z"
    t = trimfill(d["yi"], d["vi"], hk=True, hk_refit=True)
    assert t.refit_test == "t" and t.pooled.se == pytest.approx(0.05724, abs=5e-6)
    assert t.pooled.estimate == pytest.approx(z.pooled.estimate, rel=1e-12)
