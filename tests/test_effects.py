"""Effect sizes against metafor escalc (tests/reference/reference_pooling.json)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.stats.effects import EffectSizes, escalc, from_contrast
from analysis.errors import InputError

REF = json.loads((Path(__file__).parent / "reference" / "reference_pooling.json").read_text())
CASES = {c["id"]: c for c in REF["escalc"]}


def _arr(x):
    return np.array([math.nan if v is None else v for v in x], dtype=float)


def _escalc_for(case):
    d = REF["data"][case["data"]]
    if case["measure"] in ("SMD", "MD"):
        cols = {k: d[k] for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
    else:
        cols = {k: d[k] for k in ("ai", "bi", "ci", "di")}
    return escalc(case["measure"], **cols, add=case["add"], to=case["to"],
                  drop00=case["drop00"], labels=d["labels"])


# ---------------------------------------------------------------- every escalc case


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_escalc_matches_metafor(case_id):
    case = CASES[case_id]
    es = _escalc_for(case)
    np.testing.assert_allclose(es.yi, _arr(case["yi"]), rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(es.vi, _arr(case["vi"]), rtol=1e-9, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------- dat.bcg


def test_bcg_has_no_zero_cells_and_says_so():
    es = _escalc_for(CASES["bcg_RR"])
    assert "no zero cells" in es.correction
    assert not es.corrected.any()


# ---------------------------------------------------------------- dat.bcg with zero cells


def test_zero_cell_rule_is_stated_and_applied_only_to_zero_studies():
    es = _escalc_for(CASES["bcg_zero_OR"])
    assert es.corrected.tolist()[:3] == [True, True, False]
    assert int(es.corrected.sum()) == 2
    assert "0.5 added to each cell of studies with a zero cell" in es.correction
    assert "Aronson 1948" in es.correction and "double-zero studies kept" in es.correction
    # the double-zero study is kept and gives log OR from the corrected table
    assert np.isfinite(es.yi[1])


def test_drop00_removes_double_zero_study():
    es = _escalc_for(CASES["bcg_zero_OR_drop00"])
    assert math.isnan(es.yi[1]) and math.isnan(es.vi[1])
    assert "dropped" in es.correction


def test_no_correction_leaves_zero_cell_missing():
    es = _escalc_for(CASES["bcg_zero_RR_none"])
    assert math.isnan(es.yi[0])
    assert "no continuity correction" in es.correction


# ---------------------------------------------------------------- dat.normand1999


def test_smd_frame_columns():
    es = _escalc_for(CASES["normand1999_SMD"])
    frame = es.frame()
    assert list(frame.columns) == ["label", "yi", "vi", "sei", "corrected"]
    assert frame.loc[0, "label"] == "Edinburgh"
    assert frame["sei"].to_numpy() == pytest.approx(np.sqrt(es.vi))


# ---------------------------------------------------------------- GEN and contrasts


def test_gen_accepts_sei():
    es = escalc("GEN", yi=[0.1, 0.2], sei=[0.3, 0.4])
    assert isinstance(es, EffectSizes)
    assert es.vi.tolist() == pytest.approx([0.09, 0.16])


def test_from_contrast_se_from_ci():
    # A 95% CI of half-width 1.959964 * 0.5 gives SE 0.5.
    z = 1.959963984540054
    yi, vi = from_contrast(2.0, ci_lb=2.0 - z * 0.5, ci_ub=2.0 + z * 0.5)
    assert yi == 2.0 and vi == pytest.approx(0.25, rel=1e-12)
    yi, vi = from_contrast(1.0, se=0.2)
    assert vi == pytest.approx(0.04)


def test_from_contrast_log_scale_for_ratios():
    yi, vi = from_contrast(2.0, ci_lb=1.0, ci_ub=4.0, log_scale=True)
    assert yi == pytest.approx(math.log(2.0))
    assert math.sqrt(vi) == pytest.approx(math.log(4.0) / (2 * 1.959963984540054), rel=1e-12)


def test_from_contrast_90_percent_level():
    yi, vi = from_contrast(0.0, ci_lb=-1.6448536269514722, ci_ub=1.6448536269514722, level=90)
    assert vi == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(measure="XYZ", yi=[1], vi=[1]), "unknown measure"),
        (dict(measure="MD", m1i=[1], sd1i=[1], n1i=[10], m2i=[1], sd2i=[1]), "missing n2i"),
        (dict(measure="MD", m1i=[1], sd1i=[-1], n1i=[10], m2i=[1], sd2i=[1], n2i=[10]), "negative"),
        (dict(measure="SMD", m1i=[1], sd1i=[1], n1i=[0], m2i=[1], sd2i=[1], n2i=[10]), "<= 0"),
        (dict(measure="OR", ai=[5], n1i=[3], ci=[1], di=[4]), "negative"),
        (dict(measure="OR", ai=[5, 1], bi=[3], ci=[1], di=[4]), "1 values but 2"),
    ],
)
def test_bad_escalc_input(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        escalc(**kwargs)


def test_from_contrast_needs_se_or_ci():
    with pytest.raises(InputError, match="SE or both"):
        from_contrast(1.0, ci_lb=0.5)
