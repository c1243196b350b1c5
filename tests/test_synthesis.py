"""synthesise(): usable rows under the plan, effect sizes, pooling, and why studies drop out."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError

from analysis.data.plan import load_plan
from analysis.stats.pooling import rma
from analysis.review.synthesis import (INCOMPLETE, NARRATIVE, NO_CONTROL, NOT_IDENTIFIED, NOT_REPORTED,
                                P_ONLY, PERCENT, TIMEPOINT, synthesise)
from fixture_paths import BUNDLED, REPO

ROOT = BUNDLED  # the frozen copy of the bundled review (tests/fixtures/bundled)


def real_sheets():
    from analysis.data.load import load_sheets
    return load_sheets(ROOT)


@pytest.fixture(scope="module")
def real():
    sheets = real_sheets()
    return sheets, synthesise(sheets, load_plan(ROOT))


def test_bbs_primary_is_im2022_alone_computed_from_the_sheet(real):
    sheets, syn = real
    o = sheets["outcomes"]
    im = o[(o["study"] == "im2022") & (o["outcome"] == "BBS") & o["mean"].notna()]
    act = im[im["arm"] == "rtms"].iloc[0]
    con = im[im["arm"] == "sham"].iloc[0]
    bbs = syn.analysis("BBS")
    assert bbs.status == "single study" and bbs.k == 1 and bbs.result is None
    assert bbs.studies == ("im2022",) and bbs.participants == int(act["n"] + con["n"])
    row = bbs.effects.iloc[0]
    assert row["yi"] == pytest.approx(act["mean"] - con["mean"])
    assert row["vi"] == pytest.approx(act["sd"] ** 2 / act["n"] + con["sd"] ** 2 / con["n"])
    assert row["ci_lb"] == pytest.approx(row["yi"] - 1.959964 * math.sqrt(row["vi"]), abs=1e-5)
    # The end-of-treatment BBS change is not in the source, so the plan's follow-up fallback applies.
    assert row["timepoint"] == "T0-T2" and row["timepoint_class"] == "follow_up"
    assert "follow-up" in row["note"]
    assert bbs.higher_is_better is True


def test_tug_uses_the_end_of_treatment_change(real):
    sheets, syn = real
    tug = syn.analysis("TUG")
    row = tug.effects.iloc[0]
    o = sheets["outcomes"]
    t1 = o[(o["study"] == "im2022") & (o["outcome"] == "TUG") & (o["timepoint"] == "T0-T1")]
    assert row["timepoint"] == "T0-T1"
    assert row["yi"] == pytest.approx(t1["mean"].iloc[0] - t1["mean"].iloc[1])
    assert tug.higher_is_better is False


def test_exploratory_smd_combines_change_and_percent_change(real):
    _, syn = real
    ex = syn.analysis("BBS_SMD_any_change")
    assert ex.exploratory and ex.measure == "SMD" and ex.status == "pooled"
    assert list(ex.effects["study"]) == ["kim2014", "im2022"]
    assert list(ex.effects["form"]) == ["percent_change", "change"]
    direct = rma(ex.effects["yi"], ex.effects["vi"], method="REML")
    assert ex.result.estimate == pytest.approx(direct.estimate)
    assert ex.effects["weight"].sum() == pytest.approx(100)
    assert ex.participants == 22 + 10 + 16 + 16


def test_availability_reasons(real):
    sheets, syn = real
    av = syn.availability
    included = sheets["studies"][sheets["studies"]["included"] == "yes"]
    assert len(av) == len(included) * len(syn.plan.outcomes)

    def reason(study, outcome):
        r = av[(av["study"] == study) & (av["outcome"] == outcome)]
        assert len(r) == 1
        return r["reason"].iloc[0]

    assert reason("kim2014", "BBS") == PERCENT
    assert reason("koch2019", "BBS") == P_ONLY
    assert reason("liao2021", "BBS") == NARRATIVE
    assert reason("li2021", "MAS") == NO_CONTROL
    assert reason("unidentified1", "BBS") == NOT_IDENTIFIED
    assert reason("im2022", "10MWT_time") == NOT_REPORTED
    assert reason("im2022", "BBS") == ""
    assert set(av.loc[av["contributes"] == "yes", "study"]) == {"im2022", "kim2014"}
    assert "dai2023" not in set(av["study"])  # outside the review's included set


def test_safety_is_the_tally_of_the_sheet(real):
    sheets, syn = real
    tot = syn.safety.totals
    tw = tot[(tot["event"] == "twitching") & (tot["role"] == "active")]
    # active arms found through arms.csv, not by their place in the sheet
    ae = sheets["adverse_events"].merge(sheets["arms"][["study", "arm", "role"]], on=["study", "arm"])
    active = ae[(ae["event"] == "twitching") & (ae["role"] == "active")]
    assert len(active) >= 2
    assert tw["events"].iloc[0] == active["events"].sum()


def test_deterministic(real):
    sheets, syn = real
    again = synthesise(sheets, load_plan(ROOT))
    pd.testing.assert_frame_equal(syn.availability, again.availability)
    for a, b in zip(syn.analyses, again.analyses):
        pd.testing.assert_frame_equal(a.effects, b.effects)


# --- small built sheets -------------------------------------------------------------------

def _sheets(outcome_rows, phases=None, families=None):
    keys = sorted({r[0] for r in outcome_rows} | {"s9"})
    studies = pd.DataFrame({
        "study": keys, "label": [k.upper() for k in keys], "year": [2000 + i for i in range(len(keys))],
        "identified": "yes", "included": "yes",
        "phase": phases or ["chronic"] * len(keys),
        "protocol_family": families or ["iTBS"] * len(keys),
        "outcomes_measured": "BBS"})
    arms = pd.DataFrame([(k, a, r) for k in keys for a, r in (("act", "active"), ("con", "control"))],
                        columns=["study", "arm", "role"])
    arms["n_randomised"] = np.nan
    arms["n_analysed"] = np.nan
    arms = pd.concat([arms, pd.DataFrame([("s3", "act2", "active", np.nan, np.nan)], columns=arms.columns)])
    cols = ["study", "arm", "outcome", "timepoint", "form", "mean", "sd", "n"]
    out = pd.DataFrame(outcome_rows, columns=cols)
    for c in ("contrast", "ci_lb", "ci_ub", "se"):
        out[c] = np.nan
    out["contrast_measure"] = pd.Series([None] * len(out), dtype=object)
    ae = pd.DataFrame(columns=["study", "arm", "event", "events", "at_risk", "status"])
    return {"studies": studies, "arms": arms, "outcomes": out, "adverse_events": ae}


ROWS = [
    ("s1", "act", "BBS", "post", "change", 5.0, 3.0, 10), ("s1", "con", "BBS", "post", "change", 2.0, 3.5, 12),
    ("s2", "act", "BBS", "post", "post", 40.0, 6.0, 20), ("s2", "con", "BBS", "post", "post", 38.0, 5.0, 18),
    ("s3", "act", "BBS", "post", "change", 4.0, 2.0, 8), ("s3", "act2", "BBS", "post", "change", 6.0, 2.0, 8),
    ("s3", "con", "BBS", "post", "change", 1.0, 2.0, 15),
    ("s4", "act", "BBS", "mid", "change", 9.0, 2.0, 8), ("s4", "con", "BBS", "mid", "change", 1.0, 2.0, 8),
    ("s5", "act", "BBS", "post", "change", 9.0, None, 8), ("s5", "con", "BBS", "post", "change", 1.0, 2.0, 8),
]


def test_built_sheets_pool_with_multi_arm_combination():
    plan = load_plan(ROOT)
    syn = synthesise(_sheets(ROWS), plan)
    bbs = syn.analysis("BBS")
    assert bbs.status == "pooled" and list(bbs.effects["study"]) == ["s1", "s2", "s3"]
    s3 = bbs.effects.iloc[2]
    # Two active arms (4 +- 2, n 8; 6 +- 2, n 8) combine to mean 5, n 16, SD sqrt((7*4+7*4+64/16*4)/15).
    assert (s3["m1"], s3["n1"]) == (5.0, 16)
    assert s3["sd1"] == pytest.approx(math.sqrt((28 + 28 + 4 * 4) / 15))
    assert "2 active arms combined" in s3["note"]
    direct = rma(bbs.effects["yi"], bbs.effects["vi"], method="REML", hk=False)
    assert bbs.result.estimate == pytest.approx(direct.estimate)
    assert bbs.result.ci_lb == pytest.approx(direct.ci_lb)
    assert bbs.participants == 22 + 38 + 31
    av = syn.availability.set_index(["study", "outcome"])
    assert av.loc[("s4", "BBS"), "reason"] == TIMEPOINT
    assert "mid (not classified in the plan)" in av.loc[("s4", "BBS"), "detail"]
    assert av.loc[("s5", "BBS"), "reason"] == INCOMPLETE
    assert av.loc[("s9", "BBS"), "reason"] == NOT_REPORTED
    # Subgroups need two groups of two: all studies share one phase, so not run.
    assert set(bbs.subgroups["status"]) == {"not run: needs 2 or more studies in each of two or more groups"}


def test_subgroups_run_when_each_group_is_big_enough():
    rows = ROWS[:7] + [("s4", "act", "BBS", "post", "change", 9.0, 2.0, 8),
                       ("s4", "con", "BBS", "post", "change", 1.0, 2.0, 8)]
    sheets = _sheets(rows, phases=["acute", "acute", "chronic", "chronic", "chronic"],
                     families=["iTBS", "iTBS", "iTBS", "cTBS", "cTBS"])
    bbs = synthesise(sheets, load_plan(ROOT)).analysis("BBS")
    ph = bbs.subgroups[bbs.subgroups["by"] == "phase"].set_index("group")
    assert ph.loc["acute", "k"] == 2 and ph.loc["chronic", "k"] == 2
    eff = bbs.effects.set_index("study")
    acute = rma(eff.loc[["s1", "s2"], "yi"], eff.loc[["s1", "s2"], "vi"])
    assert ph.loc["acute", "estimate"] == pytest.approx(acute.estimate)
    fam = bbs.subgroups[bbs.subgroups["by"] == "protocol_family"].set_index("group")
    assert fam.loc["iTBS", "k"] == 3 and fam.loc["cTBS", "k"] == 1
    assert fam["estimate"].isna().all()


def test_plan_and_sheet_must_agree_on_direction():
    sheets = _sheets(ROWS[:2])
    sheets["outcomes"]["higher_is_better"] = "no"
    with pytest.raises(InputError, match="outcome BBS has higher_is_better: true.*higher_is_better=no for s1"):
        synthesise(sheets, load_plan(ROOT))


def test_a_contrast_row_contributes_with_its_se_or_ci():
    sheets = _sheets(ROWS[:4] + [("s3", "act", "BBS", "post", "contrast", None, None, None)])
    out = sheets["outcomes"]
    out.loc[out.index[-1], ["contrast", "ci_lb", "ci_ub"]] = [3.0, 1.04, 4.96]
    out.loc[out.index[-1], "contrast_measure"] = "MD"
    arms = sheets["arms"]
    arms.loc[arms["study"] == "s3", "n_randomised"] = 10
    bbs = synthesise(sheets, load_plan(ROOT)).analysis("BBS")
    s3 = bbs.effects.set_index("study").loc["s3"]
    assert s3["form"] == "contrast" and s3["yi"] == 3.0
    assert s3["vi"] == pytest.approx((3.92 / (2 * 1.959964)) ** 2, rel=1e-5)
    assert (s3["n1"], s3["n2"]) == (20, 10)  # two active arms of 10, one control arm of 10
    out.loc[out.index[-1], "contrast_measure"] = "SMD"
    av = synthesise(sheets, load_plan(ROOT)).availability.set_index(["study", "outcome"])
    assert av.loc[("s3", "BBS"), "reason"] == INCOMPLETE
    assert "contrast given as SMD" in av.loc[("s3", "BBS"), "detail"]
