"""Random- and fixed-effects pooling: PyMARE estimators plus what PyMARE lacks.

`rma(yi, vi, method=...)` mirrors metafor's `rma.uni` for an intercept-only model and
returns one frozen `PoolResult`. PyMARE (0.0.13) supplies the tau^2 estimators and the
weighted least-squares estimate; this module adds, to metafor's definitions:

* metafor's convergence for ML/REML tau^2. PyMARE's bounded scalar search stops on a
  relative bracket width, not where metafor's Fisher scoring stops, so its tau^2 differs
  from metafor's in the 4th to 7th digit (measured with PyMARE 0.0.13 against metafor
  3.8-1: 1.7e-7 relative on dat.bcg log RR, 9.8e-5 on dat.bcg RD, 7.9e-5 on
  dat.nielweise2007 log OR, and 0 where metafor stops at 1.6e-6 on a tau^2-at-zero
  subset). metafor's Fisher scoring (its start value, threshold 1e-5, and its check that
  tau^2 = 0 is not a better optimum) is therefore run too, with PyMARE's estimate as
  the guard; see `estimate_tau2`.
* Input validation first: inside PyMARE a NaN variance ends in "SVD did not converge",
  and a zero variance does the same under DL while REML silently returns that study's
  yi as the estimate, so they are refused here with a message that names the study.
* Hartung-Knapp only when asked (`hk=True`, metafor `test="knha"`). PyMARE >= 0.0.11
  applies it by default; every PyMARE estimator here is built with
  `small_sample_correction="wald"` and the adjustment is computed here.
* Q-profile CI for tau^2 (metafor `confint()`, including truncation at 0), I^2 and H^2
  from metafor's "typical" within-study variance, the prediction interval of
  metafor's `predict()`, and percentage weights.

k = 1 is a documented degenerate case: estimate = yi, se = sqrt(vi), tau^2 = 0, and
every heterogeneity quantity (Q, I^2, H^2, tau^2 CI) is NaN rather than a crash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .effects import study_labels
from ..errors import StatsError

METHODS = ("REML", "DL", "ML", "HE", "FE")

# metafor rma.uni control defaults
_THRESHOLD = 1e-5
_MAXITER = 100
_LL_TOL = np.finfo(float).eps ** 0.25


# ---------------------------------------------------------------- validation


def validate_inputs(yi, vi, labels=None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Return yi, vi as float arrays and the labels, or raise StatsError naming the problem."""
    try:
        y = np.asarray(yi, dtype=float).ravel()
        v = np.asarray(vi, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise StatsError(f"effect sizes and variances must be numbers ({exc})") from None
    if y.size != v.size:
        raise StatsError(f"yi has {y.size} values but vi has {v.size}")
    k = y.size
    if k == 0:
        raise StatsError("no studies to pool (k = 0)")
    labs = study_labels(labels, k, StatsError)
    for name, arr in (("yi", y), ("vi", v)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = bad[0]
            raise StatsError(f"{name} is missing or not finite for {labs[i]} ({arr[i]})")
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        i = bad[0]
        raise StatsError(f"sampling variance must be > 0, got vi = {v[i]} for {labs[i]}")
    return y, v, labs


# ------------------------------------------------------------ linear algebra


def _wls(y, v, tau2, X):
    """Weighted least squares at weights 1/(v + tau2): beta, (X'WX)^-1, weights."""
    w = 1.0 / (v + tau2)
    if X.shape[1] == 1 and np.all(X == 1.0):
        sw = w.sum()
        return np.array([np.dot(w, y) / sw]), np.array([[1.0 / sw]]), w
    xtw = X.T * w
    A_inv = np.linalg.inv(xtw @ X)
    return A_inv @ (xtw @ y), A_inv, w


def _p_traces(w, X, A_inv):
    """tr(P) and tr(PP) for P = W - W X (X'WX)^-1 X' W, without forming the k x k P."""
    w2 = w * w
    B2 = A_inv @ ((X.T * w2) @ X)
    B3 = A_inv @ ((X.T * (w2 * w)) @ X)
    tr_p = w.sum() - np.trace(B2)
    tr_pp = w2.sum() - 2.0 * np.trace(B3) + np.trace(B2 @ B2)
    return tr_p, tr_pp


def _q_at(y, v, tau2, X):
    """Generalised Q: weighted residual sum of squares at tau2 (metafor's .QE.func)."""
    beta, _, w = _wls(y, v, tau2, X)
    r = y - X @ beta
    return float(np.dot(w, r * r))


def _loglik(y, v, tau2, X, reml: bool) -> float:
    beta, A_inv, w = _wls(y, v, tau2, X)
    r = y - X @ beta
    k, p = X.shape
    ll = -0.5 * np.sum(np.log(v + tau2)) - 0.5 * np.dot(w, r * r)
    if reml:
        ll += -0.5 * (k - p) * math.log(2 * math.pi) + 0.5 * np.linalg.slogdet(A_inv)[1]
    else:
        ll += -0.5 * k * math.log(2 * math.pi)
    return float(ll)


def fisher_scoring(y, v, X, tau2, method: str) -> tuple[float, int]:
    """metafor's Fisher scoring for ML/REML tau^2 from a starting value.

    Same update, step halving at 0, threshold (1e-5 on the change) and iteration cap as
    `rma.uni`, followed by its `ll0check`: if tau^2 = 0 has the higher likelihood the
    estimate is set to 0. Returns (tau2, iterations).
    """
    tau2 = max(0.0, float(tau2))
    change, it = _THRESHOLD + 1.0, 0
    while change > _THRESHOLD:
        it += 1
        old = tau2
        beta, A_inv, w = _wls(y, v, tau2, X)
        pr = w * (y - X @ beta)  # P Y
        if method == "ML":
            adj = (np.dot(pr, pr) - w.sum()) / np.dot(w, w)
        else:
            tr_p, tr_pp = _p_traces(w, X, A_inv)
            adj = (np.dot(pr, pr) - tr_p) / tr_pp
        if not np.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if it > _MAXITER:
            raise StatsError(
                f"{method} estimation of tau^2 did not converge in {_MAXITER} Fisher-scoring steps"
            )
    reml = method == "REML"
    if tau2 > _THRESHOLD and _loglik(y, v, 0.0, X, reml) - _loglik(y, v, tau2, X, reml) > _LL_TOL:
        tau2 = 0.0
    return max(0.0, tau2), it


def _pymare_tau2(y, v, X, method: str) -> float:
    from pymare.estimators import DerSimonianLaird, Hedges, VarianceBasedLikelihoodEstimator

    y2, v2 = y[:, None], v[:, None]
    if method == "DL":
        est = DerSimonianLaird(small_sample_correction="wald")
    elif method == "HE":
        est = Hedges(small_sample_correction="wald")
    else:
        est = VarianceBasedLikelihoodEstimator(method=method, small_sample_correction="wald")
    est.fit(y=y2, v=v2, X=X)
    return max(0.0, float(np.ravel(est.params_["tau2"])[0]))


def estimate_tau2(y, v, X, method: str) -> float:
    """tau^2 by `method` through PyMARE, ML/REML brought to metafor's convergence point.

    DL and HE are PyMARE's closed forms (floored at 0). For ML/REML, PyMARE's bounded
    search is run, and metafor's Fisher scoring is run from metafor's own starting value
    (the HE estimate, PyMARE's `Hedges`) with metafor's threshold: scoring stops once a
    step changes tau^2 by less than 1e-5, so where it stops depends on where it starts,
    and only metafor's start reproduces metafor's digits (from PyMARE's value the REML
    tau^2 for dat.bcg risk differences differs by 1e-4 relative). PyMARE's estimate is
    the guard: if scoring fails to converge, or ends at a lower likelihood than PyMARE's
    point, scoring restarts from PyMARE's value.
    """
    k, p = X.shape
    if method == "FE" or k <= p:
        return 0.0
    if method in ("DL", "HE"):
        return _pymare_tau2(y, v, X, method)
    reml = method == "REML"
    t_pymare = _pymare_tau2(y, v, X, method)
    try:
        tau2, _ = fisher_scoring(y, v, X, _pymare_tau2(y, v, X, "HE"), method)
    except StatsError:
        tau2 = None
    if tau2 is None or _loglik(y, v, t_pymare, X, reml) - _loglik(y, v, tau2, X, reml) > _LL_TOL:
        tau2, _ = fisher_scoring(y, v, X, t_pymare, method)
    return max(0.0, tau2)


def pymare_fixed_effects(y, v, X, tau2: float) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and their model-based covariance from PyMARE's WLS at a given tau^2."""
    from pymare.estimators import WeightedLeastSquares

    est = WeightedLeastSquares(tau2=tau2, small_sample_correction="wald")
    est.fit(y=y[:, None], X=X, v=v[:, None])
    beta = np.asarray(est.params_["fe_params"], dtype=float)[:, 0]
    cov = np.asarray(est.params_["inv_cov"], dtype=float)
    cov = cov[:, :, 0] if cov.ndim == 3 else cov
    return beta, cov


def heterogeneity(y, v, X, method: str) -> dict:
    """Q (at tau^2 = 0), its p-value, and metafor's typical variance vt = (k-p)/tr(P)."""
    k, p = X.shape
    if k <= p:
        return {"q": math.nan, "q_df": k - p, "q_pval": math.nan, "vt": math.nan}
    beta, A_inv, w = _wls(y, v, 0.0, X)
    r = y - X @ beta
    q = max(0.0, float(np.dot(w, r * r)))
    tr_p, _ = _p_traces(w, X, A_inv)
    return {
        "q": q,
        "q_df": k - p,
        "q_pval": float(stats.chi2.sf(q, k - p)),
        "vt": float((k - p) / tr_p),
    }


def i2_h2(tau2: float, het: dict, method: str) -> tuple[float, float]:
    """I^2 (percent) and H^2 as metafor: from vt for random effects, from Q for FE."""
    q, df, vt = het["q"], het["q_df"], het["vt"]
    if not np.isfinite(q):
        return math.nan, math.nan
    if method == "FE":
        i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
        return i2, q / df
    return 100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0


def tau2_qprofile_ci(y, v, X, tau2: float, level: float = 95) -> tuple[float, float]:
    """Q-profile CI for tau^2, as metafor's `confint()` (type "QP").

    The generalised Q is decreasing in tau^2; each bound is where it crosses a chi^2
    quantile with k - p df. As metafor: a bound whose crossing lies below 0 is set to
    0 (both are 0 when Q(0) is below the lower quantile), and the search is capped at
    max(100, 10 tau^2). The roots are solved to 1e-12, tighter than metafor's default
    uniroot tolerance (about 1.2e-4).
    """
    k, p = X.shape
    if k <= p:
        return math.nan, math.nan
    alpha = 1.0 - level / 100.0
    crit_u = stats.chi2.isf(alpha / 2, k - p)
    crit_l = stats.chi2.ppf(alpha / 2, k - p)
    lo, hi = 0.0, max(100.0, 10.0 * tau2)
    q_lo, q_hi = _q_at(y, v, lo, X), _q_at(y, v, hi, X)

    def root(target):
        return optimize.brentq(lambda t: _q_at(y, v, t, X) - target, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=1000)

    if q_lo < crit_l:
        lb = ub = 0.0
    else:
        ub = hi if q_hi > crit_l else root(crit_l)
        if q_hi > crit_u:
            lb = ub = hi
        elif q_lo < crit_u:
            lb = 0.0
        else:
            lb = root(crit_u)
    return float(lb), float(ub)


def knha_scale(y, v, X, tau2: float) -> float:
    """Hartung-Knapp factor s^2 = weighted RSS / (k - p) (metafor test="knha", no floor)."""
    k, p = X.shape
    beta, _, w = _wls(y, v, tau2, X)
    r = y - X @ beta
    rss = float(np.dot(w, r * r))
    return 0.0 if rss <= np.finfo(float).eps else rss / (k - p)


# -------------------------------------------------------------------- result


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class PoolResult:
    """One pooled analysis, quantities named and defined as in metafor.

    `weights` are percentages (metafor `weights()`); `i2` is a percentage; `test` is
    "z" or "t" (Hartung-Knapp, df = k - 1); `zval`/`tval` is NaN for the other test.
    For method FE, tau2 is 0, the tau^2 and I^2 CIs are NaN (metafor's `confint()` has
    none for a common-effect model), I^2 and H^2 come from Q, and the prediction
    interval equals the CI.
    """

    measure: str
    method: str
    k: int
    level: float
    test: str
    estimate: float
    se: float
    ci_lb: float
    ci_ub: float
    zval: float
    tval: float
    df: float
    pval: float
    tau2: float
    tau2_ci_lb: float
    tau2_ci_ub: float
    tau: float
    i2: float
    h2: float
    i2_ci_lb: float
    i2_ci_ub: float
    q: float
    q_df: int
    q_pval: float
    pi_lb: float
    pi_ub: float
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)
    # The Q-profile search for the upper tau^2 bound stops at max(100, 10 tau^2), as
    # metafor's tau2.max; a bound there is a lower limit of the true one (metafor prints
    # it with ">"), and so is the I^2 bound computed from it.
    tau2_ci_ub_capped: bool = False

    @property
    def hk(self) -> bool:
        return self.test == "t"

    def study_frame(self) -> pd.DataFrame:
        """One row per study: label, yi, vi, se, CI at `level`, weight (percent)."""
        se = np.sqrt(self.vi)
        z = stats.norm.isf((1 - self.level / 100) / 2)
        return pd.DataFrame(
            {
                "label": list(self.labels),
                "yi": self.yi,
                "vi": self.vi,
                "se": se,
                "ci_lb": self.yi - z * se,
                "ci_ub": self.yi + z * se,
                "weight": self.weights,
            }
        )

    def summary_frame(self) -> pd.DataFrame:
        """The study rows followed by a pooled row (label "Pooled (METHOD)")."""
        rows = self.study_frame()
        pooled = pd.DataFrame(
            {
                "label": [f"Pooled ({self.method}{', HK' if self.hk else ''})"],
                "yi": [self.estimate],
                "vi": [self.se**2],
                "se": [self.se],
                "ci_lb": [self.ci_lb],
                "ci_ub": [self.ci_ub],
                "weight": [float(np.sum(self.weights))],
            }
        )
        return pd.concat([rows, pooled], ignore_index=True)

    def to_dict(self) -> dict:
        """The JSON object printed by `review pool --json` (NaN becomes None)."""

        def num(x):
            x = float(x)
            return x if math.isfinite(x) else None

        out = {"k": self.k, "measure": self.measure, "method": self.method,
               "test": self.test, "level": self.level,
               "estimate": num(self.estimate), "se": num(self.se),
               "ci_lb": num(self.ci_lb), "ci_ub": num(self.ci_ub)}
        if self.test == "t":
            out["tval"] = num(self.tval)
            out["df"] = num(self.df)
        else:
            out["zval"] = num(self.zval)
        out.update(
            pval=num(self.pval), tau2=num(self.tau2), tau2_ci_lb=num(self.tau2_ci_lb),
            tau2_ci_ub=num(self.tau2_ci_ub), tau2_ci_ub_capped=self.tau2_ci_ub_capped,
            tau=num(self.tau), i2=num(self.i2),
            i2_ci_lb=num(self.i2_ci_lb), i2_ci_ub=num(self.i2_ci_ub), h2=num(self.h2),
            q=num(self.q), q_df=int(self.q_df), q_pval=num(self.q_pval),
            pi_lb=num(self.pi_lb), pi_ub=num(self.pi_ub),
            studies=[
                {"study": lab, "yi": num(y), "vi": num(v), "weight": num(w)}
                for lab, y, v, w in zip(self.labels, self.yi, self.vi, self.weights)
            ],
        )
        return out


def rma(yi, vi, *, method: str = "REML", hk: bool = False, level: float = 95,
        labels=None, measure: str = "GEN") -> PoolResult:
    """Pool effect sizes `yi` with sampling variances `vi` (metafor `rma.uni`, no moderators).

    method: REML (default, as metafor), DL, ML, HE, or FE (common effect).
    hk: Hartung-Knapp (metafor `test="knha"`): t with k - 1 df and SE scaled by the
        weighted residual variance; never applied unless asked.
    Raises StatsError for k = 0, NaN, vi <= 0, length mismatch or an unknown method.
    """
    method = str(method).upper()
    if method not in METHODS:
        raise StatsError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if not (0 < float(level) < 100):
        raise StatsError(f"level must be between 0 and 100, got {level}")
    level = float(level)
    y, v, labs = validate_inputs(yi, vi, labels)
    k = y.size
    X = np.ones((k, 1))
    alpha = 1.0 - level / 100.0
    nan = math.nan

    tau2 = estimate_tau2(y, v, X, method)
    if k == 1:
        beta, vb = y.copy(), np.array([[v[0]]])
    else:
        beta, vb = pymare_fixed_effects(y, v, X, tau2)
    est = float(beta[0])
    var_b = float(vb[0, 0])

    if hk:
        test, df = "t", k - 1
        if df > 0:
            var_b *= knha_scale(y, v, X, tau2)
            crit = stats.t.isf(alpha / 2, df)
        else:
            var_b, crit = nan, nan
    else:
        test, df = "z", nan
        crit = stats.norm.isf(alpha / 2)
    se = math.sqrt(var_b) if np.isfinite(var_b) else nan
    stat = est / se if se and np.isfinite(se) else nan
    if test == "t":
        pval = float(2 * stats.t.sf(abs(stat), df)) if np.isfinite(stat) else nan
    else:
        pval = float(2 * stats.norm.sf(abs(stat))) if np.isfinite(stat) else nan

    het = heterogeneity(y, v, X, method)
    i2, h2 = i2_h2(tau2, het, method)
    capped = False
    if method == "FE" or k == 1:
        t_lb = t_ub = i_lb = i_ub = nan
    else:
        t_lb, t_ub = tau2_qprofile_ci(y, v, X, tau2, level)
        capped = t_ub >= max(100.0, 10.0 * tau2)
        vt = het["vt"]
        i_lb, i_ub = 100 * t_lb / (vt + t_lb), 100 * t_ub / (vt + t_ub)

    pi_half = crit * math.sqrt(var_b + tau2) if np.isfinite(var_b) else nan
    w = 1.0 / (v + tau2)
    f = float
    return PoolResult(
        measure=str(measure), method=method, k=k, level=level, test=test,
        estimate=est, se=f(se), ci_lb=f(est - crit * se), ci_ub=f(est + crit * se),
        zval=stat if test == "z" else nan, tval=stat if test == "t" else nan,
        df=float(df), pval=pval, tau2=float(tau2), tau2_ci_lb=t_lb, tau2_ci_ub=t_ub,
        tau=math.sqrt(tau2), i2=f(i2), h2=f(h2), i2_ci_lb=f(i_lb), i2_ci_ub=f(i_ub),
        q=f(het["q"]), q_df=int(k - 1), q_pval=f(het["q_pval"]),
        pi_lb=f(est - pi_half), pi_ub=f(est + pi_half),
        yi=_ro(y), vi=_ro(v), weights=_ro(100 * w / w.sum()), labels=labs, tau2_ci_ub_capped=bool(capped),
    )
