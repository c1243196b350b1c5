"""Pooling against metafor: reference numbers come from tests/reference/reference_pooling.json."""

import math

import numpy as np
import pytest

from analysis.errors import StatsError
from analysis.pooling import rma

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


def test_k1_is_degenerate_not_a_crash():
    res = rma([0.3], [0.04], method="REML")
    assert res.k == 1
    assert res.estimate == 0.3 and res.se == pytest.approx(0.2)
    assert res.tau2 == 0.0
    assert math.isnan(res.q) and math.isnan(res.i2) and math.isnan(res.h2)
    assert math.isnan(res.tau2_ci_lb)
    assert res.weights.tolist() == [100.0]


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
