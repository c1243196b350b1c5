"""The normal, chi^2, t and F tail functions the statistics need, from scipy.special.

Importing scipy.stats costs about a second; scipy.special, which scipy.stats calls for
these same functions, about a quarter of that. Each function here is the expression
scipy.stats itself evaluates (scipy 1.17), so the numbers are the same to the last bit.
"""

from __future__ import annotations

from scipy import special as _sc


def norm_sf(x):
    return _sc.ndtr(-x)


def norm_isf(q):
    return -_sc.ndtri(q)


def norm_crit(level: float) -> float:
    """Two-sided critical value of the normal distribution at `level` percent."""
    return float(norm_isf((1 - level / 100) / 2))


def chi2_sf(x, df):
    return _sc.chdtrc(df, x)


def chi2_isf(q, df):
    return _sc.chdtri(df, q)


def chi2_ppf(q, df):
    return 2 * _sc.gammaincinv(df / 2, q)


def t_sf(x, df):
    return _sc.stdtr(df, -x)


def t_isf(q, df):
    return -_sc.stdtrit(df, q)


def f_sf(x, dfn, dfd):
    return _sc.fdtrc(dfn, dfd, x)
