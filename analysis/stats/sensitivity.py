"""Sensitivity and small-study analyses as metafor: leave1out, cumul, funnel, regtest, trimfill.

Every pooled fit goes through :func:`analysis.stats.pooling.rma`. Egger's regression and the
side detection of trim-and-fill need a meta-regression on the standard error; its tau^2
comes from :func:`analysis.stats.pooling.tau2_fit`, the same algorithm as metafor's
``rma.uni`` with moderators, so the results agree with ``regtest`` and ``trimfill``.

A fit on a single study (the first step of a cumulative analysis, or leaving one out of
two studies) is :func:`rma` at k = 1, which follows metafor: estimate = yi,
se = sqrt(vi), z-test, Q = 0 (p = 1), tau^2 = 0, I^2 = 0, H^2 = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import dist
from ..errors import StatsError
from .pooling import PoolResult, knha_scale, rma, tau2_fit, validate_inputs

if TYPE_CHECKING:  # pandas is imported where a frame is built, not to pool
    import pandas as pd

LOO_COLUMNS = ["study", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "q", "qp", "tau2",
               "i2", "h2"]
EGGER_REASON = "fewer than 10 studies (Cochrane Handbook 10.4.3.1)"


def _fit_row(y, v, *, method, hk, level, tau2_convergence="metafor", what="") -> dict:
    r = rma(y, v, method=method, hk=hk, level=level, tau2_convergence=tau2_convergence,
            what=what)
    return dict(estimate=r.estimate, se=r.se, zval=r.tval if r.test == "t" else r.zval,
                pval=r.pval, ci_lb=r.ci_lb, ci_ub=r.ci_ub, q=r.q, qp=r.q_pval, tau2=r.tau2,
                i2=r.i2, h2=r.h2)


def leave_one_out(yi, vi, *, method="REML", hk=False, labels=None, level=95,
                  tau2_convergence="metafor"):
    """Pool again without each study in turn (metafor ``leave1out``); one row per omitted study.

    ``zval`` holds the t statistic when ``hk`` is true (df = k - 2).
    """
    import pandas as pd

    y, v, labs = validate_inputs(yi, vi, labels)
    if y.size < 2:
        raise StatsError("leave-one-out needs at least 2 studies")
    rows = []
    for i in range(y.size):
        keep = np.arange(y.size) != i
        rows.append(dict(study=labs[i], **_fit_row(
            y[keep], v[keep], method=method, hk=hk, level=level,
            tau2_convergence=tau2_convergence, what=f"leave-one-out without {labs[i]}")))
    return pd.DataFrame(rows, columns=LOO_COLUMNS)


def cumulative(yi, vi, order=None, *, method="REML", hk=False, labels=None, level=95,
               decreasing=False, tau2_convergence="metafor"):
    """Cumulative pooling (metafor ``cumul``): studies added one at a time in ``order``.

    ``order`` is a sort key per study (e.g. the year); ties keep the input order, as R's
    ``order``. Row i pools the first i studies; ``study`` names the study added.
    """
    import pandas as pd

    y, v, labs = validate_inputs(yi, vi, labels)
    if order is None:
        idx = np.arange(y.size)
    else:
        key = np.asarray(order, dtype=float)
        if key.size != y.size or not np.isfinite(key).all():
            raise StatsError(f"order needs one finite value per study ({y.size})")
        idx = np.argsort(-key if decreasing else key, kind="stable")
    rows = []
    for i in range(1, y.size + 1):
        sel = idx[:i]
        rows.append(dict(study=labs[idx[i - 1]], **_fit_row(
            y[sel], v[sel], method=method, hk=hk, level=level,
            tau2_convergence=tau2_convergence,
            what=f"cumulative analysis up to {labs[idx[i - 1]]}")))
    out = pd.DataFrame(rows, columns=LOO_COLUMNS)
    out.insert(1, "position", idx)
    return out


@dataclass(frozen=True)
class FunnelData:
    """Points and pseudo-confidence contour of a funnel plot (standard error on the y axis)."""

    points: pd.DataFrame  # label, yi, sei
    contour: pd.DataFrame  # sei, ci_lb, ci_ub: straight lines estimate -/+ z * sei
    estimate: float
    level: float


def funnel_data(yi, vi, estimate, level=95, labels=None) -> FunnelData:
    """Funnel-plot data as metafor's ``funnel``: the contour runs from se 0 to the largest se."""
    import pandas as pd

    y, v, labs = validate_inputs(yi, vi, labels)
    if not np.isfinite(estimate):
        raise StatsError("funnel needs a finite pooled estimate")
    sei = np.sqrt(v)
    z = dist.norm_crit(level)
    grid = np.linspace(0.0, float(sei.max()), 2)
    contour = pd.DataFrame({"sei": grid, "ci_lb": estimate - z * grid,
                            "ci_ub": estimate + z * grid})
    points = pd.DataFrame({"label": list(labs), "yi": y, "sei": sei})
    return FunnelData(points=points, contour=contour, estimate=float(estimate), level=float(level))


# ---------------------------------------------------------------- meta-regression


def _metareg(y, v, X, *, method="REML", hk=False, tau2_convergence="metafor", what=""):
    """Mixed-effects meta-regression as metafor's ``rma.uni`` with moderators.

    Returns (beta, vb, tau2, df); df is None for a z-test.
    """
    k, p = X.shape
    if k <= p:
        raise StatsError(f"meta-regression needs more than {p} studies, got {k}")
    method = str(method).upper()
    if method not in ("FE", "HE", "ML", "REML", "DL"):
        raise StatsError(f"meta-regression method must be REML, ML, HE, DL or FE, got {method!r}")
    tau2 = tau2_fit(y, v, X, method, tau2_convergence, what).tau2
    w = 1 / (v + tau2)
    vb = np.linalg.inv((X.T * w) @ X)
    beta = vb @ ((X.T * w) @ y)
    df = None
    if hk:
        vb = vb * knha_scale(y, v, X, tau2)
        df = k - p
    return beta, vb, tau2, df


@dataclass(frozen=True)
class EggerResult:
    """Regression test for funnel asymmetry (metafor ``regtest``, predictor ``sei``).

    ``stat`` tests the coefficient of the standard error (z, or t with ``df``);
    ``limit_estimate`` is the intercept, the effect as the standard error goes to 0.
    """

    applicable: bool
    reason: str
    k: int
    model: str
    method: str
    test: str
    slope: float
    slope_se: float
    stat: float
    df: float
    pval: float
    limit_estimate: float
    limit_ci_lb: float
    limit_ci_ub: float
    level: float


def egger_test(yi, vi, *, min_k=10, model="rma", method="REML", hk=False, level=95,
               compute_below_min_k=False, tau2_convergence="metafor") -> EggerResult:
    """Egger's regression test as metafor ``regtest(x, model=, predictor="sei")``.

    ``model="rma"`` (metafor's default): mixed-effects meta-regression of yi on sei with
    the pooling ``method`` (and Hartung-Knapp when ``hk``). ``model="lm"``: the classic
    weighted least-squares regression with a multiplicative dispersion, t with k - 2 df.
    With fewer than ``min_k`` studies the result is flagged not applicable and, unless
    ``compute_below_min_k``, carries no numbers.
    """
    y, v, _ = validate_inputs(yi, vi)
    k = y.size
    if model not in ("rma", "lm"):
        raise StatsError(f"model must be 'rma' or 'lm', got {model!r}")
    applicable = k >= min_k
    reason = "" if applicable else (EGGER_REASON if min_k == 10
                                    else f"fewer than {min_k} studies")
    nan = float("nan")
    test = "t" if (model == "lm" or hk) else "z"
    empty = EggerResult(applicable, reason, k, model, method if model == "rma" else "lm", test,
                        nan, nan, nan, nan, nan, nan, nan, nan, float(level))
    if not applicable and not compute_below_min_k:
        return empty
    if k < 3:
        raise StatsError(f"Egger's regression needs at least 3 studies, got {k}")
    X = np.column_stack([np.ones(k), np.sqrt(v)])
    if model == "rma":
        beta, vb, _, df = _metareg(y, v, X, method=method, hk=hk,
                                   tau2_convergence=tau2_convergence,
                                   what="Egger's regression test")
    else:
        w = 1 / v
        a_inv = np.linalg.inv((X.T * w) @ X)
        beta = a_inv @ ((X.T * w) @ y)
        resid = y - X @ beta
        df = k - 2
        vb = a_inv * float(np.sum(w * resid**2)) / df
    se = np.sqrt(np.diag(vb))
    stat = float(beta[1] / se[1])
    alpha = 1 - level / 100
    if df is None:
        pval = float(2 * dist.norm_sf(abs(stat)))
        crit = dist.norm_crit(level)
    else:
        pval = float(2 * dist.t_sf(abs(stat), df))
        crit = float(dist.t_isf(alpha / 2, df))
    return EggerResult(applicable, reason, k, model, method if model == "rma" else "lm", test,
                       float(beta[1]), float(se[1]), stat, nan if df is None else float(df), pval,
                       float(beta[0]), float(beta[0] - crit * se[0]),
                       float(beta[0] + crit * se[0]), float(level))


# ---------------------------------------------------------------- trim and fill


@dataclass(frozen=True)
class TrimFillResult:
    """Trim-and-fill (metafor ``trimfill``): estimated missing studies and the refit.

    ``refit_test`` is the test of ``pooled``: "z" as metafor refits the filled data,
    or "t" when the Hartung-Knapp refit was asked for (``hk_refit``); with k0 = 0
    ``pooled`` is the original fit, as metafor returns it.
    """

    k0: int
    se_k0: float
    p_k0: float  # only for the R0 estimator
    side: str  # side on which studies were imputed ("left" or "right")
    estimator: str
    yi: np.ndarray  # observed followed by filled
    vi: np.ndarray
    fill: np.ndarray  # True for the imputed studies
    labels: list[str]
    pooled: PoolResult  # fit of the augmented data (the original fit when k0 = 0)
    original: PoolResult
    refit_test: str = "z"

    @property
    def filled_yi(self) -> np.ndarray:
        return self.yi[self.fill]

    @property
    def filled_vi(self) -> np.ndarray:
        return self.vi[self.fill]


def trimfill(yi, vi, *, side=None, estimator="L0", method="REML", hk=False, level=95,
             labels=None, measure="GEN", maxiter=100, hk_refit=False,
             tau2_convergence="metafor") -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill, step for step as metafor's ``trimfill.rma.uni``.

    ``side=None`` picks the side by the sign of the slope of yi on sqrt(vi) (a positive
    slope means studies are missing on the left). Each iteration refits ``rma`` to the
    trimmed set; the filled studies mirror the trimmed ones around the last estimate.
    The filled data are refitted with the z test whatever ``hk`` is, as metafor (which
    does not pass ``test`` on); ``hk_refit=True`` keeps Hartung-Knapp for that refit,
    and ``refit_test`` says which was used. One departure: the refit keeps ``level``,
    where metafor's refit falls back to its default 95%.
    """
    y, v, labs = validate_inputs(yi, vi, labels)
    estimator = str(estimator).upper()
    if estimator not in ("L0", "R0", "Q0"):
        raise StatsError(f"estimator must be L0, R0 or Q0, got {estimator!r}")
    k = y.size
    if k == 1:
        raise StatsError("trim-and-fill needs at least 2 studies (k = 1)")
    tc = dict(tau2_convergence=tau2_convergence)
    original = rma(y, v, method=method, hk=hk, level=level, labels=labs, measure=measure, **tc)

    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(v)])
        beta, *_ = _metareg(y, v, X, method=method, what="trim-and-fill (side)", **tc)
        side = "right" if beta[1] < 0 else "left"
    elif side not in ("left", "right"):
        raise StatsError(f"side must be 'left' or 'right', got {side!r}")

    ys = -y if side == "right" else y.copy()
    ix = np.argsort(ys, kind="stable")
    ys, vs = ys[ix], v[ix]

    k0, k0_prev, it = 0, -1, 0
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise StatsError("trim-and-fill did not converge")
        beta = rma(ys[:k - k0], vs[:k - k0], method=method, what="trim-and-fill", **tc).estimate
        yc = ys - beta
        # rank(abs(yi.c), ties.method = "first")
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            k0 = (k - max(-signed[signed < 0])) - 1
            se_k0 = math.sqrt(2 * max(0, k0) + 2)
        else:
            sr = float(signed[signed > 0].sum())
            if estimator == "L0":
                k0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
            else:
                k0 = k - 0.5 - math.sqrt(2 * k**2 - 4 * sr + 0.25)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0**3 + 27 * k0**2 + 17 * k0
                      - 18 * k * k0**2 - 18 * k * k0 + 6 * k**2 * k0) / 24
            if estimator == "L0":
                se_k0 = 4 * math.sqrt(var_sr) / (2 * k - 1)
            else:
                se_k0 = 2 * math.sqrt(var_sr) / math.sqrt((k - 0.5) ** 2 - k0 * (2 * k - k0 - 1))
        # R's round() halves to even, as numpy's.
        k0 = int(max(0, np.round(k0)))
        se_k0 = max(0.0, se_k0)

    p_k0 = float("nan")
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1 - np.sum([math.comb(int(j) + 1, int(j) + 1) * 0.5 ** (j + 2) for j in m]))

    if k0 > 0:
        # Mirror the k0 most extreme studies around the estimate of the trimmed data.
        filled = 2 * beta - ys[k - k0:]
        if side == "right":
            filled = -filled
        y_all = np.concatenate([y, filled])
        v_all = np.concatenate([v, vs[k - k0:]])
        labs_all = list(labs) + [f"Filled {i + 1}" for i in range(k0)]
        pooled = rma(y_all, v_all, method=method, hk=hk and hk_refit, level=level,
                     labels=labs_all, measure=measure, what="trim-and-fill (filled data)", **tc)
    else:
        y_all, v_all, labs_all, pooled = y, v, list(labs), original
    fill = np.r_[np.zeros(k, bool), np.ones(k0, bool)]
    return TrimFillResult(k0=k0, se_k0=float(se_k0), p_k0=p_k0, side=side, estimator=estimator,
                          yi=y_all, vi=v_all, fill=fill, labels=labs_all, pooled=pooled,
                          original=original, refit_test=pooled.test)
