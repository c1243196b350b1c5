"""Subgroup pooling, the test for subgroup differences, and meta-regression.

`subgroup_analysis` pools each subgroup on its own (a separate tau^2 per group, as
RevMan and metafor's per-subset fits do) and tests the differences with the
fixed-effect (inverse-variance) Q across the subgroup estimates, df = groups - 1: in
metafor, `rma(estimates, sei = ses, method = "FE")$QE`. Under Hartung-Knapp the subgroup
SEs entering that test are the adjusted ones.

`metareg` is metafor's `rma(yi, vi, mods = ...)` with an intercept: coefficients with
Wald (or Hartung-Knapp t) tests, tau^2 through the same estimators as `rma`, QM (the
omnibus test of the moderators, an F statistic under Hartung-Knapp), QE, I^2, H^2 and
metafor's pseudo-R^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import dist
from ..errors import StatsError
from .pooling import (
    METHODS,
    PoolResult,
    _num,
    early_stop_note,
    heterogeneity,
    i2_h2,
    knha_scale,
    rma,
    tau2_fit,
    validate_inputs,
    wls_fixed_effects,
)

SUBGROUP_TEST = "fixed-effect Q across subgroup estimates (separate tau^2 per subgroup)"


@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Per-subgroup and overall pooled results and the test for subgroup differences."""

    groups: dict[str, PoolResult]
    overall: PoolResult
    q_between: float
    q_between_df: int
    q_between_pval: float
    method: str
    hk: bool
    test_description: str = SUBGROUP_TEST

    def frame(self):
        """One row per subgroup then an overall row: k, estimate, se, CI, tau2, I^2, p."""
        import pandas as pd

        rows = []
        for name, r in list(self.groups.items()) + [("Overall", self.overall)]:
            rows.append({"group": name, "k": r.k, "estimate": r.estimate, "se": r.se,
                         "ci_lb": r.ci_lb, "ci_ub": r.ci_ub, "pval": r.pval,
                         "tau2": r.tau2, "i2": r.i2})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        num = _num
        return {"method": self.method, "hk": self.hk, "test": self.test_description,
                "q_between": num(self.q_between), "q_between_df": self.q_between_df,
                "q_between_pval": num(self.q_between_pval),
                "groups": {g: r.to_dict() for g, r in self.groups.items()},
                "overall": self.overall.to_dict()}


def subgroup_analysis(yi, vi, groups, *, method: str = "REML", hk: bool = False,
                      labels=None, level: float = 95, measure: str = "GEN",
                      tau2_convergence: str = "metafor") -> SubgroupResult:
    """Pool within each level of `groups` and test whether the subgroup estimates differ.

    Subgroups are reported in order of first appearance. The test is the fixed-effect
    Q across the subgroup estimates (see module docstring), chi^2 with groups - 1 df.
    A one-study subgroup is pooled as metafor does at k = 1 (its yi and sqrt(vi), a z
    test even under Hartung-Knapp), so it still enters the test.
    """
    y, v, labs = validate_inputs(yi, vi, labels)
    g = list(groups)
    if len(g) != y.size:
        raise StatsError(f"groups has {len(g)} entries but there are {y.size} studies")
    for i, x in enumerate(g):
        if x is None or (isinstance(x, float) and math.isnan(x)) or str(x).strip() == "":
            raise StatsError(f"subgroup is missing for {labs[i]}")
    g = [str(x) for x in g]
    order = list(dict.fromkeys(g))
    if len(order) < 2:
        raise StatsError(f"a subgroup analysis needs at least two subgroups, got {len(order)}")
    g_arr = np.array(g)
    per = {}
    for name in order:
        idx = np.flatnonzero(g_arr == name)
        per[name] = rma(y[idx], v[idx], method=method, hk=hk, level=level,
                        labels=[labs[i] for i in idx], measure=measure,
                        tau2_convergence=tau2_convergence, what=f"subgroup {name}")
    overall = rma(y, v, method=method, hk=hk, level=level, labels=labs, measure=measure,
                  tau2_convergence=tau2_convergence)
    est = np.array([r.estimate for r in per.values()])
    se = np.array([r.se for r in per.values()])
    df = len(order) - 1
    if np.all(se > 0):
        w = 1.0 / se**2
        mu = np.dot(w, est) / w.sum()
        q = float(np.dot(w, (est - mu) ** 2))
        p = float(dist.chi2_sf(q, df))
    else:
        # metafor's rma(est, sei = se, method = "FE") refuses a zero SE (a Hartung-Knapp
        # subgroup whose studies all share one estimate)
        q = p = math.nan
    return SubgroupResult(groups=per, overall=overall, q_between=q, q_between_df=df,
                          q_between_pval=p, method=overall.method, hk=hk)


@dataclass(frozen=True, eq=False)
class MetaRegResult:
    """A meta-regression (intercept plus moderators), quantities as metafor defines them.

    `stat` is z (or t with `df` = k - p under Hartung-Knapp); `qm` is chi^2 with `qm_df`
    df, or under Hartung-Knapp an F with (`qm_df`, `qm_df2`); `r2` is a percentage.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    k: int
    method: str
    test: str
    df: float
    level: float
    tau2: float
    qm: float
    qm_df: int
    qm_df2: float
    qm_pval: float
    qe: float
    qe_df: int
    qe_pval: float
    i2: float
    h2: float
    r2: float
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    tau2_ci_lb: float = math.nan
    tau2_ci_ub: float = math.nan
    i2_ci_lb: float = math.nan
    i2_ci_ub: float = math.nan
    h2_ci_lb: float = math.nan
    h2_ci_ub: float = math.nan
    tau2_convergence: str = "metafor"
    tau2_optimum: float = math.nan
    converged_early: bool = False
    notes: tuple[str, ...] = ()

    def coef_frame(self):
        import pandas as pd

        return pd.DataFrame({"term": list(self.names), "estimate": self.coef, "se": self.se,
                             "stat": self.stat, "pval": self.pval, "ci_lb": self.ci_lb,
                             "ci_ub": self.ci_ub})


def _design(moderators, k):
    import pandas as pd

    if isinstance(moderators, pd.Series):
        moderators = moderators.to_frame()
    if isinstance(moderators, dict):
        moderators = pd.DataFrame(moderators)
    if isinstance(moderators, pd.DataFrame):
        names = [str(c) for c in moderators.columns]
        M = moderators.to_numpy(dtype=float)
    else:
        M = np.asarray(moderators, dtype=float)
        if M.ndim == 1:
            M = M[:, None]
        names = [f"mod{j + 1}" for j in range(M.shape[1])] if M.shape[1] > 1 else ["mod"]
    if M.ndim != 2 or M.shape[0] != k:
        raise StatsError(f"moderators have {M.shape[0]} rows but there are {k} studies")
    if not np.all(np.isfinite(M)):
        raise StatsError("moderators contain missing or non-finite values")
    X = np.column_stack([np.ones(k), M])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise StatsError("moderators are collinear (with each other or the intercept)")
    if k <= X.shape[1]:
        raise StatsError(f"meta-regression with {X.shape[1]} coefficients needs more than {X.shape[1]} studies, got {k}")
    return X, ("intrcpt", *names)


def metareg(yi, vi, moderators, *, method: str = "REML", hk: bool = False,
            level: float = 95, tau2_convergence: str = "metafor") -> MetaRegResult:
    """Mixed-effects meta-regression, metafor `rma(yi, vi, mods = moderators)`.

    `moderators`: a vector, a (k, m) array, a DataFrame or a dict of columns; an
    intercept is added. Numeric moderators only (code a factor as indicator columns).
    tau^2 as `rma` finds it (metafor's Fisher scoring, or the optimum when asked), its
    Q-profile interval and the I^2 and H^2 intervals from it, as metafor's `confint()`.
    """
    from .pooling import tau2_qprofile_ci

    method = str(method).upper()
    if method not in METHODS:
        raise StatsError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    y, v, _ = validate_inputs(yi, vi)
    k = y.size
    X, names = _design(moderators, k)
    p = X.shape[1]
    alpha = 1 - level / 100

    fit = tau2_fit(y, v, X, method, tau2_convergence, "meta-regression")
    tau2 = fit.tau2
    beta, vb = wls_fixed_effects(y, v, X, tau2)
    m = p - 1
    if hk:
        vb = vb * knha_scale(y, v, X, tau2)
        test, df = "t", k - p
        crit = float(dist.t_isf(alpha / 2, df))
    else:
        test, df = "z", math.nan
        crit = dist.norm_crit(level)
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    pval = 2 * (dist.t_sf(np.abs(stat), df) if hk else dist.norm_sf(np.abs(stat)))
    b = beta[1:]
    qm = float(b @ np.linalg.solve(vb[1:, 1:], b)) if np.all(se[1:] > 0) else math.nan
    if hk:
        qm /= m
        qm_df2 = float(k - p)
        qm_p = float(dist.f_sf(qm, m, k - p))
    else:
        qm_df2 = math.nan
        qm_p = float(dist.chi2_sf(qm, m))

    het = heterogeneity(y, v, X, method)
    i2, h2 = i2_h2(tau2, het, method)
    t_lb = t_ub = i_lb = i_ub = h_lb = h_ub = math.nan
    if method == "FE":
        # metafor: adjusted R^2 of the weighted (1/vi) linear model
        q_null = heterogeneity(y, v, np.ones((k, 1)), method)["q"]
        if q_null == 0:
            r2 = 0.0
        else:
            adj = 1 - (het["q"] / q_null) * (k - 1) / (k - p)
            r2 = max(0.0, 100 * adj)
    else:
        # metafor: proportional reduction of tau^2 from the intercept-only model (0 if that is 0)
        tau2_null = tau2_fit(y, v, np.ones((k, 1)), method, tau2_convergence,
                             "meta-regression (model without moderators)").tau2
        r2 = max(0.0, 100 * (tau2_null - tau2) / tau2_null) if tau2_null > 0 else 0.0
        t_lb, t_ub = tau2_qprofile_ci(y - y.mean(), v, X, tau2, level)
        vt = het["vt"]
        i_lb, i_ub = 100 * t_lb / (vt + t_lb), 100 * t_ub / (vt + t_ub)
        h_lb, h_ub = 1 + t_lb / vt, 1 + t_ub / vt

    def ro(a):
        a = np.array(a, dtype=float)
        a.setflags(write=False)
        return a

    return MetaRegResult(
        names=names, coef=ro(beta), se=ro(se), stat=ro(stat), pval=ro(pval),
        ci_lb=ro(beta - crit * se), ci_ub=ro(beta + crit * se), k=k, method=method,
        test=test, df=float(df), level=float(level), tau2=float(tau2), qm=qm, qm_df=m,
        qm_df2=qm_df2, qm_pval=qm_p, qe=float(het["q"]), qe_df=int(k - p),
        qe_pval=float(het["q_pval"]), i2=float(i2), h2=float(h2), r2=float(r2),
        yi=ro(y), vi=ro(v), X=ro(X), tau2_ci_lb=float(t_lb), tau2_ci_ub=float(t_ub),
        i2_ci_lb=float(i_lb), i2_ci_ub=float(i_ub), h2_ci_lb=float(h_lb), h2_ci_ub=float(h_ub),
        tau2_convergence=fit.convergence, tau2_optimum=float(fit.optimum),
        converged_early=fit.converged_early,
        notes=(early_stop_note(fit),) if fit.converged_early else (),
    )
