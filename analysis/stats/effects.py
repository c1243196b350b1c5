"""Effect sizes apart from fitting, as metafor's `escalc` computes them.

Measures: MD, SMD (Hedges' g with the exact bias correction and metafor's default
large-sample variance, vtype "LS"), RR and OR (log scale), RD, and GEN (yi given with
vi or sei). Change scores and post-intervention values both go through MD/SMD: the
caller passes whichever means and SDs apply.

Zero cells follow metafor's defaults: `add = 0.5` is added to all four cells of only
those studies that have a zero cell (`to = "only0"`), and double-zero studies are kept
(`drop00 = False`) for RR, OR and RD alike. The rule actually applied, and to which
studies, is written into `EffectSizes.correction`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from . import dist
from ..errors import InputError

MEASURES = ("MD", "SMD", "RR", "OR", "RD", "GEN")
_TO = ("only0", "all", "if0all", "none")


@dataclass(frozen=True, eq=False)
class EffectSizes:
    """yi and vi per study, with the measure and the zero-cell rule that was applied."""

    yi: np.ndarray
    vi: np.ndarray
    labels: tuple[str, ...]
    measure: str
    correction: str
    corrected: np.ndarray = field(repr=False, default=None)  # bool per study: cells adjusted

    def __len__(self) -> int:
        return len(self.yi)

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    def frame(self):
        """label, yi, vi, sei, corrected (one row per study)."""
        import pandas as pd

        corrected = self.corrected if self.corrected is not None else np.zeros(len(self.yi), bool)
        return pd.DataFrame(
            {"label": list(self.labels), "yi": self.yi, "vi": self.vi,
             "sei": self.sei, "corrected": corrected}
        )


def _arr(name, x, k=None):
    try:
        a = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric, got {x!r}") from None
    if k is not None and a.size != k:
        raise InputError(f"{name} has {a.size} values but {k} were expected")
    return a


def _need(measure, names, values):
    missing = [n for n, v in zip(names, values) if v is None]
    if missing:
        raise InputError(f"measure {measure} needs {', '.join(names)}; missing {', '.join(missing)}")
    arrays = [np.asarray(v, dtype=object).ravel() for v in values]
    k = arrays[0].size
    return [_arr(n, v, k) for n, v in zip(names, values)], k


def study_labels(labels, k, error=InputError) -> tuple[str, ...]:
    """The studies' labels as text, "Study 1", "Study 2", ... when none are given."""
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    labs = tuple(str(x) for x in labels)
    if len(labs) != k:
        raise error(f"labels has {len(labs)} entries but there are {k} studies")
    return labs


def cmi(mi):
    """metafor's exact small-sample correction c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))."""
    mi = np.asarray(mi, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(special.gammaln(mi / 2) - np.log(np.sqrt(mi / 2)) - special.gammaln((mi - 1) / 2))
    return np.where(mi <= 1, np.nan, out)


def _describe(which, labs, add, to, drop00, double_zero):
    names = [labs[i] for i in np.flatnonzero(which)]
    if drop00:
        dz = "double-zero studies dropped (yi, vi missing)"
    else:
        dz = "double-zero studies kept"
    if to == "none" or add == 0:
        base = "no continuity correction"
        if double_zero.any() and not drop00:
            base += " (double-zero studies give undefined or infinite values)"
        return base + "; " + dz
    if not which.any():
        return f"no zero cells, so no correction (rule: add {add:g} to={to}); {dz}"
    scope = {"only0": "studies with a zero cell", "all": "every study",
             "if0all": "every study, because at least one has a zero cell"}[to]
    return (f"{add:g} added to each cell of {scope}: {', '.join(names)} "
            f"({len(names)} of {len(labs)}); {dz}")


def escalc(measure, *, m1i=None, sd1i=None, n1i=None, m2i=None, sd2i=None, n2i=None,
           ai=None, bi=None, ci=None, di=None, yi=None, vi=None, sei=None,
           add=0.5, to="only0", drop00=False, labels=None) -> EffectSizes:
    """Effect sizes as metafor `escalc(measure, ...)` with its defaults.

    Group 1 is the treatment/experimental arm (metafor convention: yi = group 1 minus or
    over group 2). Missing inputs give NaN yi/vi for that study, as metafor gives NA.
    Raises InputError for an unknown measure, missing arguments, mismatched lengths,
    negative counts or SDs, group sizes <= 0, or events above the group size.
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
    if to not in _TO:
        raise InputError(f"to must be one of {', '.join(_TO)}, got {to!r}")

    if measure in ("MD", "SMD"):
        (m1, s1, n1, m2, s2, n2), k = _need(
            measure, ["m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"], [m1i, sd1i, n1i, m2i, sd2i, n2i])
        labs = study_labels(labels, k)
        if np.any(s1 < 0) or np.any(s2 < 0):
            raise InputError("one or more standard deviations are negative")
        if np.any(n1 <= 0) or np.any(n2 <= 0):
            raise InputError("one or more group sizes are <= 0")
        if measure == "MD":
            y = m1 - m2
            v = s1**2 / n1 + s2**2 / n2
        else:
            mi = n1 + n2 - 2
            with np.errstate(invalid="ignore", divide="ignore"):
                sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / mi)
                y = cmi(mi) * (m1 - m2) / sdp
                v = 1 / n1 + 1 / n2 + y**2 / (2 * (n1 + n2))
        return EffectSizes(_ro(y), _ro(v), labs, measure,
                           "not applicable (continuous outcome)", _ro(np.zeros(k, bool), bool))

    if measure == "GEN":
        if yi is None or (vi is None and sei is None):
            raise InputError("measure GEN needs yi and either vi or sei")
        y = _arr("yi", yi)
        k = y.size
        if vi is not None:
            v = _arr("vi", vi, k)
            if sei is not None:
                s = _arr("sei", sei, k)
                v = np.where(np.isnan(v), s**2, v)
        else:
            v = _arr("sei", sei, k) ** 2
        return EffectSizes(_ro(y), _ro(v), study_labels(labels, k), "GEN",
                           "not applicable (yi and vi given)", _ro(np.zeros(k, bool), bool))

    # Binary outcomes: 2x2 table per study (ai, bi: events, non-events in group 1).
    if bi is None and n1i is not None and ai is not None:
        bi = np.asarray(n1i, dtype=float) - np.asarray(ai, dtype=float)
    if di is None and n2i is not None and ci is not None:
        di = np.asarray(n2i, dtype=float) - np.asarray(ci, dtype=float)
    (a, b, c, d), k = _need(measure, ["ai", "bi", "ci", "di"], [ai, bi, ci, di])
    labs = study_labels(labels, k)
    if np.any(np.concatenate([a, b, c, d]) < 0):
        raise InputError("one or more counts are negative (or events exceed the group size)")
    a, b, c, d = (x.copy() for x in (a, b, c, d))
    double_zero = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    if drop00:
        for x in (a, b, c, d):
            x[double_zero] = np.nan
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)  # NaN compares False, as metafor
    if to == "all":
        which = np.isfinite(a + b + c + d)
    elif to == "only0":
        which = zero
    elif to == "if0all":
        which = np.isfinite(a + b + c + d) if zero.any() else np.zeros(k, bool)
    else:
        which = np.zeros(k, bool)
    if add == 0:
        which = np.zeros(k, bool)
    for x in (a, b, c, d):
        x[which] += add
    n1, n2 = a + b, c + d
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = a / n1, c / n2
        if measure == "RR":
            y = np.log(p1) - np.log(p2)
            v = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "OR":
            y = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            v = 1 / a + 1 / b + 1 / c + 1 / d
        else:  # RD
            y = p1 - p2
            v = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    # metafor recodes infinite yi/vi (a zero cell left uncorrected) to missing.
    bad = ~np.isfinite(y) | ~np.isfinite(v)
    y, v = np.where(bad, np.nan, y), np.where(bad, np.nan, v)
    return EffectSizes(_ro(y), _ro(v), labs, measure,
                       _describe(which, labs, add, to, drop00, double_zero), _ro(which, bool))


def _ro(a, dtype=float):
    a = np.array(a, dtype=dtype)
    a.setflags(write=False)
    return a


def from_contrast(estimate, ci_lb=None, ci_ub=None, se=None, level=95, *, log_scale=False):
    """yi and vi for an effect reported as a contrast (an estimate with SE or CI).

    The SE is used when given; otherwise SE = (ci_ub - ci_lb) / (2 z), z the normal
    quantile of `level`. With `log_scale=True` estimate and limits are ratios (OR, RR)
    and are logged first, so the SE is that of the log ratio. Scalars or arrays.
    Returns (yi, vi) as floats or arrays matching the input.
    """
    scalar = np.ndim(estimate) == 0
    est = np.asarray(estimate, dtype=float)
    if se is not None:
        s = np.asarray(se, dtype=float)
        if np.any(s <= 0):
            raise InputError(f"standard error must be > 0, got {se}")
    else:
        if ci_lb is None or ci_ub is None:
            raise InputError("a contrast needs its SE or both confidence limits")
        if not (0 < level < 100):
            raise InputError(f"level must be between 0 and 100, got {level}")
        lb = np.asarray(ci_lb, dtype=float)
        ub = np.asarray(ci_ub, dtype=float)
        if log_scale:
            if np.any(lb <= 0) or np.any(ub <= 0):
                raise InputError("ratio confidence limits must be > 0 to be logged")
            lb, ub = np.log(lb), np.log(ub)
        if np.any(ub <= lb):
            raise InputError(f"upper confidence limit {ci_ub} is not above the lower {ci_lb}")
        z = dist.norm_crit(level)
        s = (ub - lb) / (2 * z)
    if log_scale:
        if np.any(est <= 0):
            raise InputError(f"ratio estimate must be > 0 to be logged, got {estimate}")
        est = np.log(est)
    v = s**2
    if scalar:
        return float(est), float(np.asarray(v).reshape(-1)[0]) if np.ndim(v) else float(v)
    return est, np.broadcast_to(v, est.shape).astype(float)


__all__ = ["EffectSizes", "escalc", "from_contrast", "cmi", "MEASURES"]
