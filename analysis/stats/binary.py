"""Fixed-effect pooling of 2x2 tables: Mantel-Haenszel and Peto, as metafor's rma.mh / rma.peto.

Each study gives a 2x2 table: ``ai`` events and ``bi`` non-events in the first (treated)
group, ``ci`` events and ``di`` non-events in the second (control) group.

Zero cells follow metafor's defaults. The pooled estimate is computed from the tables as
they are (no continuity correction). The per-study ``yi``/``vi`` (used for Cochran's Q and
shown in forest plots) get ``add`` added to every cell of a table that has a zero cell
(``to="only0"``), and a table with no events in either group (or only events) is dropped
from ``yi``/``vi`` and from Q when ``drop00`` is true. Such a table still enters the pooled
estimate; for OR and RR it contributes nothing, for RD it adds to the weights.

Degenerate inputs raise :class:`analysis.errors.StatsError` instead of returning NaN: no
tables, missing or negative counts, an undefined MH odds/risk ratio (no events in one group
across all tables), zero variance (no events at all), or Peto with no informative table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import dist
from ..errors import StatsError

MEASURES = ("OR", "RR", "RD")
_TO = ("all", "only0", "if0all", "none")


@dataclass(frozen=True)
class BinaryPoolResult:
    """Result of a Mantel-Haenszel or Peto pooling; ratios are on the log scale."""

    measure: str  # "OR", "RR", "RD" (Peto: "PETO", a log odds ratio)
    method: str  # "MH" or "Peto"
    k: int  # tables in the pooled estimate
    k_yi: int  # tables with a per-study yi/vi (used for Q)
    level: float
    estimate: float
    se: float
    ci_lb: float
    ci_ub: float
    zval: float
    pval: float
    q: float
    q_df: int
    q_pval: float
    i2: float
    h2: float
    yi: np.ndarray  # per study, NaN where the table was dropped (double zero)
    vi: np.ndarray
    labels: list[str]
    correction: str
    weights: np.ndarray  # percent, metafor weights(): b*c/n (OR), c*n1/n (RR), n1*n2/n (RD), V (Peto)
    # Cochran-Mantel-Haenszel test and Tarone's heterogeneity test (MH odds ratio only).
    cmh: float = float("nan")
    cmh_pval: float = float("nan")
    tarone: float = float("nan")
    tarone_pval: float = float("nan")
    extra: dict = field(default_factory=dict)

    @property
    def is_ratio(self) -> bool:
        return self.measure in ("OR", "RR", "PETO")

    def study_frame(self):
        """One row per table: label, yi, vi, se, CI at ``level`` (NaN where dropped), weight."""
        import pandas as pd

        se = np.sqrt(self.vi)
        z = dist.norm_crit(self.level)
        return pd.DataFrame({"label": self.labels, "yi": self.yi, "vi": self.vi, "se": se,
                             "ci_lb": self.yi - z * se, "ci_ub": self.yi + z * se,
                             "weight": self.weights})

    def back_transformed(self) -> tuple[float, float, float]:
        """(estimate, ci_lb, ci_ub) on the natural scale: exp for ratios, as is for RD."""
        if self.is_ratio:
            return float(np.exp(self.estimate)), float(np.exp(self.ci_lb)), float(np.exp(self.ci_ub))
        return self.estimate, self.ci_lb, self.ci_ub


def _as_tables(ai, bi, ci, di, labels):
    arrays = []
    for name, x in (("ai", ai), ("bi", bi), ("ci", ci), ("di", di)):
        try:
            a = np.asarray(x, dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise StatsError(f"{name} must be numeric counts") from exc
        arrays.append(a)
    k = arrays[0].size
    if any(a.size != k for a in arrays):
        raise StatsError("ai, bi, ci and di must have the same length")
    if k == 0:
        raise StatsError("no 2x2 tables to pool (k = 0)")
    if labels is None:
        labels = [str(i + 1) for i in range(k)]
    else:
        labels = [str(x) for x in labels]
        if len(labels) != k:
            raise StatsError(f"{len(labels)} labels for {k} tables")
    for name, a in zip(("ai", "bi", "ci", "di"), arrays):
        bad = ~np.isfinite(a)
        if bad.any():
            raise StatsError(f"missing count {name} in study {labels[int(np.argmax(bad))]}")
        if (a < 0).any():
            raise StatsError(f"negative count {name} in study {labels[int(np.argmax(a < 0))]}")
    return (*arrays, labels)


def _crit(level: float) -> float:
    if not 0 < level < 100:
        raise StatsError(f"level must be between 0 and 100, got {level}")
    return dist.norm_crit(level)


def _double_zero(ai, bi, ci, di):
    return ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))


def _corrected(ai, bi, ci, di, add, to, drop00):
    """Cells for the per-study yi/vi, as metafor's escalc: drop00 first, then the addition."""
    ai, bi, ci, di = (x.astype(float).copy() for x in (ai, bi, ci, di))
    dropped = _double_zero(ai, bi, ci, di) if drop00 else np.zeros(ai.size, bool)
    for x in (ai, bi, ci, di):
        x[dropped] = np.nan
    if to not in _TO:
        raise StatsError(f"to must be one of {', '.join(_TO)}, got {to!r}")
    with np.errstate(invalid="ignore"):
        has0 = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    if to == "all":
        sel = np.ones(ai.size, bool)
    elif to == "only0":
        sel = has0
    elif to == "if0all":
        sel = np.full(ai.size, bool(has0.any()))
    else:
        sel = np.zeros(ai.size, bool)
    for x in (ai, bi, ci, di):
        x[sel] += add
    return ai, bi, ci, di, dropped, sel & ~dropped


def _escalc(measure, ai, bi, ci, di):
    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        elif measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / ai - 1 / n1 + 1 / ci - 1 / n2
        elif measure == "RD":
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        else:  # PETO
            n = n1 + n2
            xt, yt = ai + ci, bi + di
            e = xt * n1 / n
            v = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
            yi = (ai - e) / v
            vi = 1 / v
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi, vi = yi.copy(), vi.copy()
    yi[bad] = np.nan
    vi[bad] = np.nan
    return yi, vi


def _correction_text(add, to, drop00, n_dropped, n_corrected):
    parts = ["pooled estimate from the uncorrected tables"]
    if to == "none" or add == 0:
        parts.append("per-study yi/vi without continuity correction")
    else:
        rule = {"only0": "to every cell of each table with a zero cell",
                "all": "to every cell of every table",
                "if0all": "to every cell of every table, since some table has a zero cell"}[to]
        parts.append(f"per-study yi/vi: {add:g} added {rule} ({n_corrected} table(s) corrected)")
    if drop00:
        parts.append(f"{n_dropped} table(s) with no events (or only events) in both groups "
                     "left out of yi/vi and Q")
    return "; ".join(parts)


def _heterogeneity(yi, vi, beta):
    ok = np.isfinite(yi) & np.isfinite(vi)
    y, v = yi[ok], vi[ok]
    k_yi = int(y.size)
    if k_yi > 1:
        q = max(0.0, float(np.sum((y - beta) ** 2 / v)))
        return k_yi, q, _het_stats(q, k_yi)
    return k_yi, 0.0, (1.0, 0.0, 1.0)


def _het_stats(q, k_yi):
    df = k_yi - 1
    pval = float(dist.chi2_sf(q, df))
    # Q = 0 only when every study sits on the estimate; I^2 is then 0, not 0/0.
    i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
    return pval, i2, q / df


def mantel_haenszel(ai, bi, ci, di, *, measure="OR", level=95, labels=None,
                    add=0.5, to="only0", drop00=True) -> BinaryPoolResult:
    """Mantel-Haenszel fixed-effect pooling as metafor's ``rma.mh`` (measure OR, RR or RD).

    Variances: Robins-Breslow-Greenland for log OR, Greenland-Robins for log RR,
    Sato-Greenland-Robins for RD (the formulas of rma.mh).
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise StatsError(f"Mantel-Haenszel measure must be OR, RR or RD, got {measure!r}")
    ai, bi, ci, di, labels = _as_tables(ai, bi, ci, di, labels)
    z = _crit(level)
    cai, cbi, cci, cdi, dropped, corrected = _corrected(ai, bi, ci, di, add, to, drop00)
    yi, vi = _escalc(measure, cai, cbi, cci, cdi)

    n1, n2 = ai + bi, ci + di
    n = n1 + n2
    if (n == 0).any():
        raise StatsError(f"empty table (no participants) in study {labels[int(np.argmax(n == 0))]}")
    extra = {}
    if measure == "OR":
        p_ = (ai + di) / n
        q_ = (bi + ci) / n
        r_ = ai * di / n
        s_ = bi * ci / n
        r, s = r_.sum(), s_.sum()
        if r == 0 or s == 0:
            raise StatsError("Mantel-Haenszel odds ratio undefined: the sum of a*d/n or of b*c/n "
                             "over the tables is zero (no events, or no non-events, in a group)")
        beta = float(np.log(r / s))
        se = float(np.sqrt(0.5 * (np.sum(p_ * r_) / r**2 + np.sum(p_ * s_ + q_ * r_) / (r * s)
                                  + np.sum(q_ * s_) / s**2)))
    elif measure == "RR":
        if ai.sum() == 0 or ci.sum() == 0:
            raise StatsError("Mantel-Haenszel risk ratio undefined: no events in one group "
                             "in any table")
        r = np.sum(ai * n2 / n)
        s = np.sum(ci * n1 / n)
        beta = float(np.log(r / s))
        se = float(np.sqrt(np.sum(n1 / n * n2 / n * (ai + ci) - ai / n * ci) / (r * s)))
    else:
        w = np.sum(n1 * n2 / n)
        beta = float(np.sum(ai * n2 / n - ci * n1 / n) / w)
        var = (beta * np.sum(ci * (n1 / n) ** 2 - ai * (n2 / n) ** 2
                             + (n1 / n) * (n2 / n) * (n2 - n1) / 2)
               + np.sum(ai * (n2 - ci) / n + ci * (n1 - ai) / n) / 2) / w**2
        if not var > 0:
            raise StatsError("Mantel-Haenszel risk difference has zero variance: no events "
                             "(or only events) in every table")
        se = float(np.sqrt(var))
    zval = beta / se
    pval = float(2 * dist.norm_sf(abs(zval)))

    if measure == "OR":
        xt, yt = ai + ci, bi + di
        denom = np.sum(n1 / n * n2 / n * xt * yt / (n - 1), where=n > 1, initial=0.0)
        num = (abs(np.sum(ai - n1 / n * xt)) - 0.5) ** 2
        if denom > 0:
            extra_cmh = float(num / denom)
            extra["cmh"] = extra_cmh
            extra["cmh_pval"] = float(dist.chi2_sf(extra_cmh, 1))
        psi = np.exp(beta)
        if psi == 1:
            n11 = n1 / n * xt
        else:
            a_ = psi * (n1 + xt) + (n2 - xt)
            b_ = np.sqrt(a_**2 - 4 * n1 * xt * psi * (psi - 1))
            n11 = (a_ - b_) / (2 * (psi - 1))
        pos = (n11 > 0) & (xt > 0) & (yt > 0)
        k_pos = int(pos.sum())
        e11 = n11[pos]
        e12 = n1[pos] - e11
        e21 = xt[pos] - e11
        e22 = e11 - n1[pos] - xt[pos] + n[pos]
        inv = 1 / (1 / e11 + 1 / e12 + 1 / e21 + 1 / e22)
        bd = max(0.0, float(np.sum((ai[pos] - e11) ** 2 / inv)))
        ta = max(0.0, bd - float(np.sum(ai[pos] - e11) ** 2 / np.sum(inv)))
        extra["breslow_day"] = bd
        extra["tarone"] = ta
        if k_pos > 1:
            extra["tarone_pval"] = float(dist.chi2_sf(ta, k_pos - 1))
            extra["breslow_day_pval"] = float(dist.chi2_sf(bd, k_pos - 1))

    wi = {"OR": bi * ci / n, "RR": ci * n1 / n, "RD": n1 * n2 / n}[measure]
    k_yi, q, (q_pval, i2, h2) = _heterogeneity(yi, vi, beta)
    return BinaryPoolResult(
        measure=measure, method="MH", k=int(ai.size), k_yi=k_yi, level=float(level),
        estimate=beta, se=se, ci_lb=beta - z * se, ci_ub=beta + z * se,
        zval=float(zval), pval=pval, q=q, q_df=max(k_yi - 1, 0), q_pval=q_pval, i2=i2, h2=h2,
        yi=yi, vi=vi, labels=labels,
        correction=_correction_text(add, to, drop00, int(dropped.sum()), int(corrected.sum())),
        weights=100 * wi / wi.sum(),
        cmh=extra.pop("cmh", float("nan")), cmh_pval=extra.pop("cmh_pval", float("nan")),
        tarone=extra.pop("tarone", float("nan")), tarone_pval=extra.pop("tarone_pval", float("nan")),
        extra=extra,
    )


def peto(ai, bi, ci, di, *, level=95, labels=None, add=0.5, to="only0",
         drop00=True) -> BinaryPoolResult:
    """Peto's one-step log odds ratio as metafor's ``rma.peto``."""
    ai, bi, ci, di, labels = _as_tables(ai, bi, ci, di, labels)
    z = _crit(level)
    cai, cbi, cci, cdi, dropped, corrected = _corrected(ai, bi, ci, di, add, to, drop00)
    yi, vi = _escalc("PETO", cai, cbi, cci, cdi)

    n1, n2 = ai + bi, ci + di
    n = n1 + n2
    if (n < 2).any():
        raise StatsError(f"table with fewer than 2 participants in study "
                         f"{labels[int(np.argmax(n < 2))]}")
    xt, yt = ai + ci, bi + di
    e = xt * n1 / n
    v = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
    sv = float(v.sum())
    if sv == 0:
        raise StatsError("Peto odds ratio undefined: one of the two outcomes never occurred "
                         "in any table")
    beta = float(np.sum(ai - e) / sv)
    se = float(np.sqrt(1 / sv))
    zval = beta / se
    pval = float(2 * dist.norm_sf(abs(zval)))
    k_pos = int((v > 0).sum())
    ok = v > 0
    q = max(0.0, float(np.sum((ai[ok] - e[ok]) ** 2 / v[ok]) - np.sum(ai - e) ** 2 / v[ok].sum()))
    k_yi = int((np.isfinite(yi) & np.isfinite(vi)).sum())
    if k_pos > 1:
        q_pval, i2, h2 = _het_stats(q, k_yi)
    else:
        q_pval, i2, h2 = 1.0, 0.0, 1.0
    return BinaryPoolResult(
        measure="PETO", method="Peto", k=int(ai.size), k_yi=k_yi, level=float(level),
        estimate=beta, se=se, ci_lb=beta - z * se, ci_ub=beta + z * se,
        zval=float(zval), pval=pval, q=q, q_df=max(k_yi - 1, 0), q_pval=q_pval, i2=i2, h2=h2,
        yi=yi, vi=vi, labels=labels,
        correction=_correction_text(add, to, drop00, int(dropped.sum()), int(corrected.sum())),
        weights=100 * v / sv,
    )
