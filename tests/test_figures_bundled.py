"""The bundled review's own figures, drawn from its sheets through the synthesis.

Expected values come from the synthesis results, never typed in, so the tests follow the
sheets when a trial is added.
"""

from pathlib import Path

import numpy as np
import pytest

from analysis import figures
from analysis.figures._common import NothingToDraw, overlapping_pairs
from analysis.data.plan import load_plan
from analysis.data.load import load_sheets
from analysis.review.synthesis import synthesise
from fixture_paths import BUNDLED, REPO

ROOT = BUNDLED  # the frozen copy of the bundled review (tests/fixtures/bundled)


@pytest.fixture(scope="module")
def synth():
    return synthesise(load_sheets(ROOT), load_plan(ROOT))


def test_forest_of_every_pooled_analysis_follows_its_result(synth):
    pooled = [a for a in synth.analyses if a.result is not None and a.k >= 2]
    assert pooled, "the bundled data pool at least one analysis"
    for a in pooled:
        fig, layout = figures.forest_for_outcome(a)
        (d,) = layout.diamonds
        xs = d["vertices"][:, 0]
        assert xs.min() == pytest.approx(a.result.ci_lb, abs=1e-9)
        assert xs.max() == pytest.approx(a.result.ci_ub, abs=1e-9)
        # the prediction interval is drawn for every pooled estimate
        assert layout.pi[:2] == pytest.approx((a.result.pi_lb, a.result.pi_ub), abs=1e-9)
        weights = {s["label"]: s["weight"] for s in layout.squares}
        assert sorted(weights.values()) == pytest.approx(sorted(np.asarray(a.result.weights)), abs=1e-9)
        assert overlapping_pairs(layout.text_boxes()) == []
        assert f"{a.result.estimate:.2f}" in layout.alt


def test_single_study_outcome_is_drawn_without_a_diamond(synth):
    single = [a for a in synth.analyses if a.result is None and len(a.effects)]
    assert [a.outcome for a in single] == ["BBS", "TUG", "ABC"]
    for a in single:
        fig, layout = figures.forest_for_outcome(a)
        assert layout.diamonds == [] and layout.pi is None
        e = a.effects.iloc[0]
        (line,) = layout.ci_lines
        assert (line["label"], line["x0"], line["x1"]) == (e["label"], pytest.approx(e["ci_lb"]), pytest.approx(e["ci_ub"]))
        assert not line["clipped_left"] and not line["clipped_right"]  # the scale fits the study
        assert [sq["label"] for sq in layout.squares] == [e["label"]]
        notes = [r["label"] for r in layout.rows if r["kind"] == "note"]
        assert notes == [f"Not pooled: {a.reason}"]
        assert layout.alt.endswith(f"No pooled estimate: {a.reason}.")
        assert f"{e['label']}: " in layout.alt
        assert overlapping_pairs(layout.text_boxes()) == []
    assert synth.analysis("BBS").reason == "only Im 2022 gives usable data; pooling needs 2 or more studies"


def test_outcome_without_usable_data_has_nothing_to_draw(synth):
    empty = [a for a in synth.analyses if not len(a.effects)]
    assert empty
    with pytest.raises(NothingToDraw, match="no study gives usable data"):
        figures.forest_for_outcome(empty[0])


def test_safety_plot_rows_follow_the_tally(synth):
    fig, layout = figures.safety_plot(synth.safety)
    totals = synth.safety.totals
    known = totals[totals["at_risk"].notna() & (totals["at_risk"] > 0)]
    # one point per event term and arm role with a known number at risk, at its percentage
    assert sorted(p["x"] for p in layout.points) == pytest.approx(sorted(100 * known["proportion"]), abs=1e-9)
    assert overlapping_pairs(layout.text_boxes()) == []  # drawn first, so the legend is placed


def test_i2_upper_bound_at_the_search_limit_is_marked(synth):
    # two studies: the tau^2 interval reaches metafor's tau2.max, so the I^2 bound is a
    # lower limit, printed as metafor prints it (">99.86"), here to one decimal
    a = synth.analysis("BBS_SMD_any_change")
    assert a.result.tau2_ci_ub_capped and a.result.tau2_ci_ub == pytest.approx(100)
    fig, layout = figures.forest_for_outcome(a)
    het = next(r["label"] for r in layout.rows if r["kind"] == "note" and r["label"].startswith("Heterogeneity"))
    assert f"I\u00b2 = {a.result.i2:.1f}% [0.0, >99.9]" in het


def test_forest_total_rows_units_and_tests_follow_the_synthesis(synth):
    drawn = [a for a in synth.analyses if len(a.effects)]
    assert any(a.exploratory for a in drawn) and any(not a.exploratory for a in drawn)
    for a in drawn:
        fig, layout = figures.forest_for_outcome(a)
        total = next(r for r in layout.rows if r["kind"] in {"pooled", "total"})
        cells = [t.get_text() for t in layout.texts if t.get_position()[1] == total["y"]]
        # the arms' summed sizes, as the synthesis gives them
        assert a.arm_totals == {"n1": int(a.effects["n1"].sum()), "n2": int(a.effects["n2"].sum())}
        assert cells.count(str(a.arm_totals["n1"])) + cells.count(str(a.arm_totals["n2"])) >= 2
        notes = [r["label"] for r in layout.rows if r["kind"] == "note"]
        has_test = any(n.startswith("Test for overall effect") for n in notes)
        assert has_test == (a.result is not None and not a.exploratory), a.outcome
        for label, form, weight in zip(a.effects["label"], a.effects["form"], a.effects["weight"]):
            row = [t.get_text() for t in layout.texts if t.get_position()[1] == layout.row_y(label)]
            marked = [c for c in row if c.endswith("%") and "[" not in c and c != f"{weight:.1f}%"]
            assert bool(marked) == (form == "percent_change"), (a.outcome, label, row)
        if len(a.effects) == 1:
            assert "100.0%" in [t.get_text() for t in layout.texts if t.get_position()[1] == layout.row_y(a.effects["label"].iloc[0])]
