"""Compare a PoolResult with a fit that tests/reference/make_reference_metadat.R wrote.

`check_fit` goes through every key metafor's side wrote and fails on a key it does not
know, so a number added to the reference is compared or the test says why not.
Tolerances: 1e-6 relative for closed forms, 1e-4 for anything that depends on an
iterative tau^2 (ML, REML) or on a root (the Q-profile bounds, the optimum).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

CLOSED = dict(rel=1e-6, abs=1e-9)
ITER = dict(rel=1e-4, abs=1e-8)
ROOTS = ("tau2_ci_lb", "tau2_ci_ub", "tau_ci_lb", "tau_ci_ub", "i2_ci_lb", "i2_ci_ub",
         "h2_ci_lb", "h2_ci_ub", "tau2_optimum")
# the closed forms: no tau^2 in them, or tau^2 = 0 fixed
NO_TAU2 = ("q", "q_pval")


def _close(actual, expected, tol, what):
    expected = math.nan if expected is None else float(expected)
    actual = float(actual)
    if math.isnan(expected):
        assert math.isnan(actual), f"{what}: expected NaN, got {actual}"
        return
    assert actual == pytest.approx(expected, **tol), f"{what}: {actual} != metafor {expected}"


def check_fit(res, ref: dict, method: str, where: str = "") -> int:
    """Every number of `ref` against `res`; returns how many numbers were compared."""
    iterative = method in ("REML", "ML")
    n = 0
    for key, expected in ref.items():
        what = f"{where} {key}"
        if key == "k":
            assert res.k == expected, what
        elif key == "test":
            assert res.test == ("t" if expected == "knha" else "z"), what
            continue
        elif key == "stat":
            _close(res.tval if res.test == "t" else res.zval, expected,
                   ITER if iterative else CLOSED, what)
        elif key == "df":
            if expected is None:
                assert res.test == "z", what
            else:
                assert res.df == expected, what
        elif key == "weights":
            np.testing.assert_allclose(res.weights, np.atleast_1d(np.asarray(expected, float)),
                                       rtol=1e-4 if iterative else 1e-6, err_msg=what)
            n += res.k - 1
        elif key == "tau2_ci_ub_capped":
            assert res.tau2_ci_ub_capped == bool(expected), what
        elif key == "converged_early":
            if expected is not None:
                assert res.converged_early == expected, what
                # the note is there exactly where metafor stops short of the optimum
                assert any("short of the" in note for note in res.notes) == expected, what
        elif key == "ll_gap":
            if expected is not None:
                assert res.ll_gap == pytest.approx(expected, rel=1e-3, abs=1e-9), what
        elif key == "at_optimum":
            continue  # the fit at the optimum: compared where the optimum is asked for
        elif key in ("tau2_optimum",) and expected is None:
            continue  # a fit R made without looking for the optimum
        else:
            tol = ITER if key in ROOTS or (iterative and key not in NO_TAU2) else CLOSED
            _close(getattr(res, key), expected, tol, what)
        n += 1
    return n
