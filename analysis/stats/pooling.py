"""Random- and fixed-effects pooling, step for step as metafor's `rma.uni`.

`rma(yi, vi, method=...)` mirrors metafor's `rma.uni` for an intercept-only model and
returns one frozen `PoolResult`; `tau2_fit` serves meta-regression as well. Everything
follows metafor 3.8's source:

* tau^2: DL, HE (closed forms, floored at 0) and ML/REML by metafor's Fisher scoring:
  start at the HE estimate, step until a step changes tau^2 by at most 1e-5 (an
  absolute threshold), halve a step that would go below 0, give up after 100 steps
  (metafor stops with an error; so does `rma` unless the optimum is asked for), then
  metafor's ll0check: if tau^2 = 0 has a log-likelihood higher by more than eps^0.25
  *and* the stopping point is above the threshold, tau^2 is set to 0.
* Because the threshold is absolute, Fisher scoring can stop short of the maximum when
  the variances are small (risk differences) and the steps shrink slowly. The true
  maximum is found as well (a bracketing root search of the score from metafor's
  stopping point, compared with tau^2 = 0); when its (restricted) log-likelihood is
  higher than at metafor's stopping point by more than eps^0.25 (about 1.2e-4, the
  tolerance metafor's own ll0check uses), the result says so (`converged_early`).
  metafor's number is reported unless `tau2_convergence="optimum"`.
* k = 1 as metafor: tau^2 = 0, Q = 0 (p = 1), I^2 = 0, H^2 = 1, and Hartung-Knapp falls
  back to the z test (metafor warns "Setting argument test="z" since k=1"); the result
  carries a note. There is no tau^2 interval (metafor's `confint()` stops at k = 1).
* Hartung-Knapp only when asked (`hk=True`, metafor `test="knha"`), with metafor's
  s^2 = 0 when the weighted residuals vanish (se 0, the CI collapses on the estimate).
* Q-profile CI for tau^2 (metafor `confint()`, including truncation at 0), the I^2 and
  H^2 intervals from its bounds, I^2 and H^2 from metafor's "typical" within-study
  variance, the prediction interval of `predict()`, and percentage weights.
* Input validation first (NaN, vi <= 0, length mismatch), and a refusal where double
  precision overflows (yi near 1e308 with tiny vi), rather than metafor's NaN or 0.

PyMARE's estimators compute the same closed forms; the tests check them against PyMARE,
but PyMARE (about 2 s to import) is not needed to pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import dist
from .effects import study_labels
from ..errors import StatsError

METHODS = ("REML", "DL", "ML", "HE", "FE")
CONVERGENCE = ("metafor", "optimum")

# metafor rma.uni control defaults (threshold, maxiter; tol for ll0check)
_THRESHOLD = 1e-5
_MAXITER = 100
_LL_TOL = np.finfo(float).eps ** 0.25
# metafor warns when max(vi) / min(vi) reaches 1 / evtol
_VI_RATIO_WARN = 1e7


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


# Sums of products are written as (a * b).sum(), not np.dot: numpy hands dot to OpenBLAS,
# whose threads on a machine busy with other work made one REML fit at k = 100,000 ten
# times slower; an intercept-only model (X a column of ones) needs no matrix product.


def _intercept_only(X) -> bool:
    return X.shape[1] == 1 and bool(np.all(X == 1.0))


def _resid(y, X, beta):
    return y - beta[0] if _intercept_only(X) else y - X @ beta


def _wls(y, v, tau2, X):
    """Weighted least squares at weights 1/(v + tau2): beta, (X'WX)^-1, weights."""
    w = 1.0 / (v + tau2)
    if _intercept_only(X):
        sw = w.sum()
        return np.array([(w * y).sum() / sw]), np.array([[1.0 / sw]]), w
    xtw = X.T * w
    A_inv = np.linalg.inv(xtw @ X)
    return A_inv @ (xtw @ y), A_inv, w


def wls_fixed_effects(y, v, X, tau2: float) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and their model-based covariance (X'WX)^-1 at a given tau^2."""
    beta, A_inv, _ = _wls(y, v, tau2, X)
    return beta, A_inv


def _p_traces(w, X, A_inv):
    """tr(P) and tr(PP) for P = W - W X (X'WX)^-1 X' W, without forming the k x k P."""
    w2 = w * w
    if _intercept_only(X):
        s1, s2, s3 = w.sum(), w2.sum(), (w2 * w).sum()
        return s1 - s2 / s1, s2 - 2.0 * s3 / s1 + (s2 / s1) ** 2
    B2 = A_inv @ ((X.T * w2) @ X)
    B3 = A_inv @ ((X.T * (w2 * w)) @ X)
    tr_p = w.sum() - np.trace(B2)
    tr_pp = w2.sum() - 2.0 * np.trace(B3) + np.trace(B2 @ B2)
    return tr_p, tr_pp


def _q_at(y, v, tau2, X):
    """Generalised Q: weighted residual sum of squares at tau2 (metafor's .QE.func)."""
    beta, _, w = _wls(y, v, tau2, X)
    r = _resid(y, X, beta)
    return float((w * r * r).sum())


def _loglik(y, v, tau2, X, reml: bool) -> float:
    """ML or restricted log-likelihood as metafor's ll0check writes it."""
    beta, A_inv, w = _wls(y, v, tau2, X)
    r = _resid(y, X, beta)
    k, p = X.shape
    ll = -0.5 * np.sum(np.log(v + tau2)) - 0.5 * (w * r * r).sum()
    if reml:
        ll += -0.5 * (k - p) * math.log(2 * math.pi) + 0.5 * np.linalg.slogdet(A_inv)[1]
    else:
        ll += -0.5 * k * math.log(2 * math.pi)
    return float(ll)


def _score(y, v, tau2, X, method):
    """Twice the score of the (restricted) log-likelihood in tau^2, and the Fisher step."""
    beta, A_inv, w = _wls(y, v, tau2, X)
    pr = w * _resid(y, X, beta)  # P Y
    ypy = (pr * pr).sum()
    if method == "ML":
        num, info = ypy - w.sum(), (w * w).sum()
    else:
        tr_p, tr_pp = _p_traces(w, X, A_inv)
        num, info = ypy - tr_p, tr_pp
    return float(num), float(num / info)


def _root(f, lo, hi, flo, fhi, rtol=1e-13, xtol=1e-300, maxiter=500):
    """A root of f in [lo, hi], f(lo) and f(hi) of opposite signs: Brent's method.

    The same steps as scipy's brentq (inverse quadratic or secant steps inside the
    bracket, bisection when they would not shrink it fast enough), written here because
    importing scipy.optimize costs more than half a second. Stops when the bracket is
    narrower than xtol + rtol * |x|.
    """
    xpre, xcur, fpre, fcur = lo, hi, flo, fhi
    xblk = fblk = spre = scur = 0.0
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    for _ in range(maxiter):
        if fpre != 0 and fcur != 0 and (fpre > 0) != (fcur > 0):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # secant
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # inverse quadratic interpolation
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):
                spre, scur = scur, stry
            else:
                spre = scur = sbis
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = f(xcur)
    return xcur


# ------------------------------------------------------------------- tau^2


def he_tau2(y, v, X) -> float:
    """Hedges' (HE) estimator, unfloored, as metafor computes it (its ML/REML start)."""
    k, p = X.shape
    yc = y - y.mean()
    beta, xtx_inv, _ = _wls(yc, np.ones(k), 0.0, X)
    r = _resid(yc, X, beta)
    tr_pv = v.sum() - np.trace(xtx_inv @ ((X.T * v) @ X))
    return float(((r * r).sum() - tr_pv) / (k - p))


def dl_tau2(y, v, X) -> float:
    """DerSimonian-Laird, unfloored: (Q - (k - p)) / tr(P) at tau^2 = 0."""
    k, p = X.shape
    yc = y - y.mean()
    beta, A_inv, w = _wls(yc, v, 0.0, X)
    r = _resid(yc, X, beta)
    tr_p, _ = _p_traces(w, X, A_inv)
    return float(((w * r * r).sum() - (k - p)) / tr_p)


def fisher_scoring(y, v, X, tau2, method: str, threshold=_THRESHOLD,
                   maxiter=_MAXITER) -> tuple[float, int, bool]:
    """metafor's Fisher scoring for ML/REML tau^2 from a starting value.

    The update, the step halving at 0, the absolute threshold on the change and the
    iteration cap of `rma.uni`. Returns (tau2, iterations, converged); metafor's
    ll0check is applied by `tau2_fit`.
    """
    tau2 = max(0.0, float(tau2))
    change, it = threshold + 1.0, 0
    while change > threshold:
        it += 1
        old = tau2
        _, adj = _score(y, v, tau2, X, method)
        if not np.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if it > maxiter:
            return tau2, it, False
    return tau2, it, True


def tau2_optimum(y, v, X, method: str, start: float) -> float:
    """The maximum of the (restricted) likelihood in tau^2 >= 0 near `start`.

    The score is followed from `start` to where it changes sign and the root is found
    to 1e-13 relative; the root, `start` and 0 are compared and the best is returned.
    """
    reml = method == "REML"

    def score(t):
        return _score(y, v, t, X, method)[0]

    start = max(0.0, float(start))
    s = score(start)
    best = start
    if s > 0:
        step = max(start, float(np.mean(v)) * 1e-3, 1e-300)
        hi, shi = start + step, score(start + step)
        for _ in range(2000):
            if shi <= 0:
                break
            step *= 2.0
            hi, shi = start + step, score(start + step)
        if shi <= 0:
            best = _root(score, start, hi, s, shi)
    elif s < 0 and start > 0:
        s0 = score(0.0)
        best = _root(score, 0.0, start, s0, s) if s0 > 0 else 0.0
    cands = (best, start, 0.0)
    lls = [_loglik(y, v, t, X, reml) for t in cands]
    return float(cands[int(np.argmax(lls))])


@dataclass(frozen=True)
class Tau2Fit:
    """How tau^2 was found: metafor's value, the optimum, and which one is reported."""

    tau2: float  # the value used
    method: str
    convergence: str  # "metafor" or "optimum"
    metafor: float = math.nan  # metafor's stopping point (after ll0check); NaN if it failed
    optimum: float = math.nan  # the maximum of the (restricted) likelihood
    ll_gap: float = math.nan  # log-likelihood at the optimum minus at metafor's point
    iterations: int = 0
    converged: bool = True  # metafor's Fisher scoring converged

    @property
    def converged_early(self) -> bool:
        """metafor's point is not the optimum: the likelihood is higher elsewhere by > eps^0.25."""
        return bool(np.isfinite(self.ll_gap) and self.ll_gap > _LL_TOL)


def tau2_fit(y, v, X, method: str, convergence: str = "metafor", what: str = "") -> Tau2Fit:
    """tau^2 by `method` exactly as metafor's rma.uni; ML/REML also to the true optimum.

    `convergence="metafor"` (default) reports metafor's stopping point and raises
    StatsError when Fisher scoring does not converge, as metafor stops with an error;
    `"optimum"` reports the maximum of the likelihood in both cases. `what` names the
    analysis in that error.
    """
    if convergence not in CONVERGENCE:
        raise StatsError(f"tau2_convergence must be metafor or optimum, got {convergence!r}")
    k, p = X.shape
    if method == "FE" or k <= p:
        return Tau2Fit(0.0, method, convergence)
    if method == "DL":
        return Tau2Fit(max(0.0, dl_tau2(y, v, X)), method, convergence)
    he = he_tau2(y, v, X)
    if method == "HE":
        return Tau2Fit(max(0.0, he), method, convergence)
    # metafor estimates tau^2 from the mean-centred yi (its Ymc); the fixed effects follow
    # from yi itself.
    yc = y - y.mean()
    reml = method == "REML"
    tau2, it, conv = fisher_scoring(yc, v, X, max(0.0, he), method)
    if conv:
        if tau2 > _THRESHOLD and _loglik(yc, v, 0.0, X, reml) - _loglik(yc, v, tau2, X, reml) > _LL_TOL:
            tau2 = 0.0
        tau2 = max(0.0, tau2)
    opt = tau2_optimum(yc, v, X, method, tau2)
    if not conv:
        if convergence == "metafor":
            raise StatsError(
                f"{what + ': ' if what else ''}{method} estimation of tau^2 did not converge: "
                f"metafor's Fisher scoring is still moving after {_MAXITER} steps (metafor's "
                "rma stops with an error here); tau2_convergence: optimum "
                f"(review pool --tau2-convergence optimum) reports the {method} optimum instead")
        return Tau2Fit(opt, method, convergence, math.nan, opt, math.nan, it, False)
    gap = _loglik(yc, v, opt, X, reml) - _loglik(yc, v, tau2, X, reml)
    used = opt if convergence == "optimum" else tau2
    return Tau2Fit(used, method, convergence, tau2, opt, max(0.0, gap), it, True)


def estimate_tau2(y, v, X, method: str, convergence: str = "metafor") -> float:
    """tau^2 by `method` (see `tau2_fit`)."""
    return tau2_fit(y, v, X, method, convergence).tau2


def heterogeneity(y, v, X, method: str) -> dict:
    """Q (at tau^2 = 0), its p-value, and metafor's typical variance vt = (k-p)/tr(P).

    With no residual degrees of freedom (k = p, e.g. k = 1) metafor sets Q = 0, p = 1.
    """
    k, p = X.shape
    if k <= p:
        return {"q": 0.0, "q_df": k - p, "q_pval": 1.0, "vt": 0.0}
    yc = y - y.mean()
    beta, A_inv, w = _wls(yc, v, 0.0, X)
    r = _resid(yc, X, beta)
    q = max(0.0, float((w * r * r).sum()))
    tr_p, _ = _p_traces(w, X, A_inv)
    return {
        "q": q,
        "q_df": k - p,
        "q_pval": float(dist.chi2_sf(q, k - p)),
        "vt": float((k - p) / tr_p),
    }


def i2_h2(tau2: float, het: dict, method: str) -> tuple[float, float]:
    """I^2 (percent) and H^2 as metafor: from vt for random effects, from Q for FE."""
    q, df, vt = het["q"], het["q_df"], het["vt"]
    if df <= 0:
        return 0.0, 1.0
    if method == "FE":
        i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
        return i2, q / df
    return 100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0


def tau2_qprofile_ci(y, v, X, tau2: float, level: float = 95) -> tuple[float, float]:
    """Q-profile CI for tau^2, as metafor's `confint()` (type "QP").

    The generalised Q is decreasing in tau^2; each bound is where it crosses a chi^2
    quantile with k - p df. As metafor: a bound whose crossing lies below 0 is set to
    0 (both are 0 when Q(0) is below the lower quantile), and the search is capped at
    max(100, 10 tau^2). The roots are solved to 1e-13 relative, tighter than metafor's
    default uniroot tolerance (about 1.2e-4).
    """
    k, p = X.shape
    if k <= p:
        return math.nan, math.nan
    alpha = 1.0 - level / 100.0
    crit_u = float(dist.chi2_isf(alpha / 2, k - p))
    crit_l = float(dist.chi2_ppf(alpha / 2, k - p))
    lo, hi = 0.0, max(100.0, 10.0 * tau2)
    q_lo, q_hi = _q_at(y, v, lo, X), _q_at(y, v, hi, X)

    def root(target):
        def f(t):
            return _q_at(y, v, t, X) - target
        return _root(f, lo, hi, q_lo - target, q_hi - target)

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
    """Hartung-Knapp factor s^2 = weighted RSS / (k - p) (metafor test="knha", no floor).

    0 when the weighted RSS is at most machine epsilon, as metafor sets it.
    """
    k, p = X.shape
    beta, _, w = _wls(y, v, tau2, X)
    r = _resid(y, X, beta)
    rss = float((w * r * r).sum())
    return 0.0 if rss <= np.finfo(float).eps else rss / (k - p)


# -------------------------------------------------------------------- result


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _num(x):
    """A float for JSON: NaN and infinities become None."""
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True, eq=False)
class PoolResult:
    """One pooled analysis, quantities named and defined as in metafor.

    `weights` are percentages (metafor `weights()`); `i2` is a percentage; `test` is
    "z" or "t" (Hartung-Knapp, df = k - 1); `zval`/`tval` is NaN for the other test.
    For method FE, tau2 is 0, the tau^2, I^2 and H^2 CIs are NaN (metafor's `confint()`
    has none for a common-effect model), I^2 and H^2 come from Q, and the prediction
    interval equals the CI. `notes` say where the fit took one of metafor's fallbacks.
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
    # it with ">"), and so are the I^2 and H^2 bounds computed from it.
    tau2_ci_ub_capped: bool = False
    h2_ci_lb: float = math.nan
    h2_ci_ub: float = math.nan
    tau_ci_lb: float = math.nan
    tau_ci_ub: float = math.nan
    # ML/REML: metafor's stopping point, the optimum, and which of them `tau2` is
    tau2_convergence: str = "metafor"
    tau2_metafor: float = math.nan
    tau2_optimum: float = math.nan
    ll_gap: float = math.nan
    converged_early: bool = False
    hk_requested: bool = False
    notes: tuple[str, ...] = ()

    @property
    def hk(self) -> bool:
        return self.test == "t"

    def study_frame(self):
        """One row per study: label, yi, vi, se, CI at `level`, weight (percent)."""
        import pandas as pd

        se = np.sqrt(self.vi)
        z = dist.norm_crit(self.level)
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

    def summary_frame(self):
        """The study rows, a pooled row (label "Pooled (METHOD)"), and heterogeneity columns.

        The pooled row also carries tau^2, I^2 and H^2 with their confidence intervals
        (NaN on the study rows).
        """
        import pandas as pd

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
        out = pd.concat([rows, pooled], ignore_index=True)
        nan = [math.nan] * self.k
        for col in ("tau2", "tau2_ci_lb", "tau2_ci_ub", "i2", "i2_ci_lb", "i2_ci_ub", "h2",
                    "h2_ci_lb", "h2_ci_ub"):
            out[col] = nan + [float(getattr(self, col))]
        return out

    def to_dict(self) -> dict:
        """The JSON object printed by `review pool --json` (NaN and infinity become None)."""
        num = _num
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
            tau=num(self.tau), tau_ci_lb=num(self.tau_ci_lb), tau_ci_ub=num(self.tau_ci_ub),
            i2=num(self.i2), i2_ci_lb=num(self.i2_ci_lb), i2_ci_ub=num(self.i2_ci_ub),
            h2=num(self.h2), h2_ci_lb=num(self.h2_ci_lb), h2_ci_ub=num(self.h2_ci_ub),
            q=num(self.q), q_df=int(self.q_df), q_pval=num(self.q_pval),
            pi_lb=num(self.pi_lb), pi_ub=num(self.pi_ub),
        )
        if self.method in ("ML", "REML"):
            out.update(tau2_convergence=self.tau2_convergence,
                       tau2_metafor=num(self.tau2_metafor), tau2_optimum=num(self.tau2_optimum),
                       converged_early=self.converged_early)
        out["notes"] = list(self.notes)
        out["studies"] = [
            {"study": lab, "yi": num(y), "vi": num(v), "weight": num(w)}
            for lab, y, v, w in zip(self.labels, self.yi, self.vi, self.weights)
        ]
        return out


def early_stop_note(fit: Tau2Fit) -> str:
    """The sentence that says metafor's Fisher scoring stopped short of the optimum."""
    which = ("the optimum is reported (tau2_convergence: optimum)" if fit.convergence == "optimum"
             else "metafor's value is reported; tau2_convergence: optimum reports the optimum")
    return (f"metafor's Fisher scoring stops at tau^2 = {fit.metafor:.6g} (a step changed it by "
            f"less than 1e-5), short of the {fit.method} optimum tau^2 = {fit.optimum:.6g}, whose "
            f"log-likelihood is higher by {fit.ll_gap:.3g}; {which}")


def _overflow(what: str, y, v) -> StatsError:
    return StatsError(
        f"{what}cannot be pooled in double precision: with yi up to {np.max(np.abs(y)):.3g} and vi "
        f"down to {np.min(v):.3g} the weighted sums overflow; rescale the effect sizes")


def rma(yi, vi, *, method: str = "REML", hk: bool = False, level: float = 95,
        labels=None, measure: str = "GEN", tau2_convergence: str = "metafor",
        what: str = "") -> PoolResult:
    """Pool effect sizes `yi` with sampling variances `vi` (metafor `rma.uni`, no moderators).

    method: REML (default, as metafor), DL, ML, HE, or FE (common effect).
    hk: Hartung-Knapp (metafor `test="knha"`): t with k - 1 df and SE scaled by the
        weighted residual variance; never applied unless asked; z at k = 1, as metafor.
    tau2_convergence: "metafor" (its Fisher-scoring stopping point) or "optimum".
    what: names the analysis in an error (e.g. the file or the outcome).
    Raises StatsError for k = 0, NaN, vi <= 0, length mismatch, an unknown method,
    non-convergence of metafor's Fisher scoring (unless the optimum is asked for), or
    values that overflow double precision.
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
    where = f"{what}: " if what else ""
    notes = []

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fit = tau2_fit(y, v, X, method, tau2_convergence, what)
        tau2 = fit.tau2
        beta, vb, w = _wls(y, v, tau2, X)
        est = float(beta[0])
        var_b = float(vb[0, 0])
        het = heterogeneity(y, v, X, method)
        if not all(math.isfinite(x) for x in (est, var_b, tau2, het["q"], w.sum())):
            raise _overflow(where, y, v)

        test, df = ("t", k - 1) if hk and k > 1 else ("z", nan)
        if hk and k == 1:
            notes.append("Hartung-Knapp needs at least 2 studies; the z test is used at k = 1, "
                         "as metafor does")
        if test == "t":
            s2 = knha_scale(y, v, X, tau2)
            if s2 == 0.0:
                notes.append("Hartung-Knapp: the weighted residuals are all 0, so s^2 = 0, the "
                             "SE is 0 and the CI is the estimate itself, as in metafor")
            var_b *= s2
            crit = float(dist.t_isf(alpha / 2, df))
        else:
            crit = dist.norm_crit(level)
        se = math.sqrt(var_b)
        stat = est / se if se > 0 else (math.copysign(math.inf, est) if est != 0 else nan)
        if test == "t":
            pval = float(2 * dist.t_sf(abs(stat), df)) if not math.isnan(stat) else nan
        else:
            pval = float(2 * dist.norm_sf(abs(stat))) if not math.isnan(stat) else nan

    i2, h2 = i2_h2(tau2, het, method)
    capped = False
    t_lb = t_ub = i_lb = i_ub = h_lb = h_ub = nan
    if method != "FE" and k > 1:
        t_lb, t_ub = tau2_qprofile_ci(y - y.mean(), v, X, tau2, level)
        capped = t_ub >= max(100.0, 10.0 * tau2)
        vt = het["vt"]
        i_lb, i_ub = 100 * t_lb / (vt + t_lb), 100 * t_ub / (vt + t_ub)
        h_lb, h_ub = 1 + t_lb / vt, 1 + t_ub / vt
    if fit.converged_early:
        notes.append(early_stop_note(fit))
    if k > 1 and v.max() / v.min() >= _VI_RATIO_WARN:
        notes.append(f"the largest sampling variance is {v.max() / v.min():.3g} times the smallest; "
                     "metafor warns that results may not be stable")

    pi_half = crit * math.sqrt(var_b + tau2)
    f = float
    return PoolResult(
        measure=str(measure), method=method, k=k, level=level, test=test,
        estimate=est, se=f(se), ci_lb=f(est - crit * se), ci_ub=f(est + crit * se),
        zval=stat if test == "z" else nan, tval=stat if test == "t" else nan,
        df=float(df), pval=pval, tau2=float(tau2), tau2_ci_lb=t_lb, tau2_ci_ub=t_ub,
        tau=math.sqrt(tau2), i2=f(i2), h2=f(h2), i2_ci_lb=f(i_lb), i2_ci_ub=f(i_ub),
        q=f(het["q"]), q_df=int(k - 1), q_pval=f(het["q_pval"]),
        pi_lb=f(est - pi_half), pi_ub=f(est + pi_half),
        yi=_ro(y), vi=_ro(v), weights=_ro(100 * w / w.sum()), labels=labs,
        tau2_ci_ub_capped=bool(capped), h2_ci_lb=f(h_lb), h2_ci_ub=f(h_ub),
        tau_ci_lb=math.sqrt(t_lb) if t_lb >= 0 else nan,
        tau_ci_ub=math.sqrt(t_ub) if t_ub >= 0 else nan,
        tau2_convergence=fit.convergence, tau2_metafor=f(fit.metafor),
        tau2_optimum=f(fit.optimum), ll_gap=f(fit.ll_gap),
        converged_early=fit.converged_early, hk_requested=bool(hk), notes=tuple(notes),
    )
