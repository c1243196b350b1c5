"""Forest plot: numbers match metafor, geometry follows the result, text never overlaps."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.figures import forest, forest_plot, style
from analysis.figures._common import overlapping_pairs
from analysis.stats.pooling import rma

# Produced by tests/baseline_images/metafor_dat_bcg.R (metafor 3.8.1):
#   dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
#   res <- rma(yi, vi, data=dat, method="REML"); forest(res, atransf=exp, digits=2)
BCG = json.loads((Path(__file__).parent / "baseline_images" / "metafor_dat_bcg.json").read_text())


def bcg_result():
    o = BCG["overall"]
    return rma(o["yi"], o["vi"], labels=o["labels"], measure="RR")


def bcg_subgroups():
    """The real subgroup analysis of dat.bcg by allocation; metafor's values are the check."""
    from analysis.stats.subgroups import subgroup_analysis

    o = BCG["overall"]
    return subgroup_analysis(o["yi"], o["vi"], BCG["data"]["alloc"], labels=o["labels"], measure="RR")


def texts_in_row(layout, y):
    return [t.get_text() for t in layout.texts if math.isclose(t.get_position()[1], y)]


def synthetic(k, seed=7):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.3, k)
    yi = rng.normal(0.3, 0.4, k)
    return rma(yi, vi, labels=[f"Author{i:03d} et al., {1990 + i % 30}" for i in range(k)], measure="SMD")


@pytest.fixture(scope="module")
def bcg():
    res = bcg_result()
    fig, layout = forest_plot(res, higher_is_better=False, favours=("Favours control", "Favours vaccine"))
    return res, fig, layout


def test_study_and_pooled_text_match_metafor_forest(bcg):
    res, fig, layout = bcg
    for label, expected in zip(BCG["data"]["label"], BCG["forest_text"]["studies"]):
        assert expected in texts_in_row(layout, layout.row_y(label)), label
    pooled_y = next(r["y"] for r in layout.rows if r["kind"] == "pooled")
    assert BCG["forest_text"]["pooled"] in texts_in_row(layout, pooled_y)
    # metafor: tau^2 0.3132, I^2 92.22%, Q(df = 12) = 152.2330, z = -3.9744
    notes = [r["label"] for r in layout.rows if r["kind"] == "note"]
    assert notes[0] == "Random-effects model (REML)"
    assert notes[1].startswith("Heterogeneity: \u03c4\u00b2 = 0.31; I\u00b2 = 92.2% [81.9, 97.7]; Q = 152.23, df = 12, p < 0.001")
    assert notes[2] == "Test for overall effect: z = \u22123.97, p < 0.001"
    assert next(r for r in layout.rows if r["kind"] == "pooled")["label"] == "Total (95% CI)"


def test_diamond_spans_pooled_ci(bcg):
    res, fig, layout = bcg
    (d,) = layout.diamonds
    xs = d["vertices"][:, 0]
    assert xs.min() == pytest.approx(BCG["overall"]["ci_lb"], abs=1e-4)
    assert xs.max() == pytest.approx(BCG["overall"]["ci_ub"], abs=1e-4)
    assert d["vertices"][1, 0] == pytest.approx(BCG["overall"]["estimate"], abs=1e-4)


def test_square_area_proportional_to_weight(bcg):
    res, fig, layout = bcg
    ratios = [s["area_pt2"] / s["weight"] for s in layout.squares]
    assert len(ratios) == 13
    assert np.ptp(ratios) < 1e-9 * max(ratios)
    weights = {s["label"]: s["weight"] for s in layout.squares}
    for lab, w in zip(BCG["overall"]["labels"], BCG["overall"]["weights"]):
        assert weights[lab] == pytest.approx(w, abs=1e-3)
    # drawn sizes: the collection really carries these areas
    drawn = sorted(float(c.get_sizes()[0]) for c in layout.ax.collections if len(c.get_sizes()))
    assert drawn == pytest.approx(sorted(s["area_pt2"] for s in layout.squares))


def test_ratio_axis_is_log_with_back_transformed_ticks(bcg):
    res, fig, layout = bcg
    ticks = layout.ax.get_xticks()
    labels = [float(t.get_text()) for t in layout.ax.get_xticklabels()]
    assert 1.0 in labels
    assert np.allclose(np.exp(ticks), labels)
    assert layout.ax.get_xlabel() == "Risk ratio (log scale)"


def test_favours_labels_follow_direction(bcg):
    res, fig, layout = bcg
    strings = [t.get_text() for t in layout.texts]
    assert "\u2190 Favours vaccine" in strings and "Favours control \u2192" in strings
    _, lay2 = forest_plot(res, higher_is_better=True)
    strings2 = [t.get_text() for t in lay2.texts]
    assert "\u2190 Favours control" in strings2 and "Favours treatment \u2192" in strings2


def test_prediction_interval_row(bcg):
    res, fig, layout = bcg
    lb, ub, y = layout.pi
    assert (lb, ub) == pytest.approx((BCG["overall"]["pi_lb"], BCG["overall"]["pi_ub"]), abs=1e-4)
    assert "[0.15, 1.55]" in texts_in_row(layout, y)


@pytest.mark.parametrize("k", [1, 13, 100])
def test_no_text_overlaps_and_height_grows(k):
    res = bcg_result() if k == 13 else synthetic(k)
    fig, layout = forest_plot(res, title="Outcome")
    boxes = layout.text_boxes()
    assert len(boxes) > 3 * k
    assert overlapping_pairs(boxes) == []
    # every row gets the same height, so the figure grows linearly with the rows
    assert fig.get_figheight() == pytest.approx(len(layout.rows) * style.ROW_HEIGHT_IN + forest.MARGIN_IN
                                                + forest.TITLE_IN + forest.FOOTER_IN)
    # as wide as the PDF's text block, with a plot of usable width
    assert fig.get_figwidth() == pytest.approx(style.TEXT_WIDTH_IN)
    assert layout.ax.get_position().width * style.TEXT_WIDTH_IN >= forest.MIN_PLOT_IN
    # nothing drawn outside the canvas
    w, h = fig.bbox.width, fig.bbox.height
    for b in boxes:
        assert b.bbox[0] >= 0 and b.bbox[2] <= w and b.bbox[1] >= 0 and b.bbox[3] <= h, b.text


def test_single_study_says_heterogeneity_not_estimable():
    fig, layout = forest_plot(synthetic(1))
    notes = [r["label"] for r in layout.rows if r["kind"] == "note"]
    assert notes[1] == "Heterogeneity: not estimable (k = 1)"
    # one study carries all the weight
    assert "100.0%" in texts_in_row(layout, layout.rows[1]["y"])
    assert layout.pi is None


def test_subgroups_by_allocation():
    res = bcg_result()
    sg = bcg_subgroups()
    fig, layout = forest_plot(res, subgroups=sg, higher_is_better=False)
    subtotals = [d for d in layout.diamonds if d["kind"] == "subtotal"]
    assert len(subtotals) == 3
    for d, (name, g) in zip(subtotals, BCG["subgroups"].items()):
        assert d["vertices"][:, 0].min() == pytest.approx(g["ci_lb"], abs=1e-4)
        assert d["vertices"][:, 0].max() == pytest.approx(g["ci_ub"], abs=1e-4)
    groups = [r["label"] for r in layout.rows if r["kind"] == "group"]
    assert groups == ["random (k = 7)", "alternate (k = 2)", "systematic (k = 4)"]
    notes = [r["label"] for r in layout.rows if r["kind"] == "note"]
    # metafor: rma(est, sei=se, method="FE") over the three subgroup estimates, QE = 1.8614
    assert notes[-1] == "Test for subgroup differences: Q = 1.86, df = 2, p = 0.39"
    # squares keep the overall model's weights inside the groups
    w = {s["label"]: s["weight"] for s in layout.squares}
    assert w["TPT Madras, 1980"] == pytest.approx(BCG["overall"]["weights"][7], abs=1e-3)
    assert overlapping_pairs(layout.text_boxes()) == []


def test_long_whisker_is_cut_with_an_arrow():
    yi = [0.1, 0.2, 0.15, 0.3]
    vi = [0.01, 0.02, 0.015, 9.0]
    fig, layout = forest_plot(rma(yi, vi, labels=["A 2001", "B 2002", "C 2003", "D 2004"], measure="MD"))
    assert [a["label"] for a in layout.arrows] == ["D 2004", "D 2004"]
    line = next(c for c in layout.ci_lines if c["label"] == "D 2004")
    assert line["clipped_left"] and line["clipped_right"]
    assert (line["x0"], line["x1"]) == pytest.approx(layout.xlim)


def test_arm_level_columns_and_rob_dots():
    res = bcg_result()
    data = pd.DataFrame({k: BCG["data"][k] for k in ("label", "tpos", "tneg", "cpos", "cneg")})
    columns = [("tpos", ("Vaccinated", "TB+")), ("tneg", ("Vaccinated", "TB\u2212")), ("cpos", ("Control", "TB+")), ("cneg", ("Control", "TB\u2212"))]
    rob = pd.DataFrame(
        {
            "label": ["Aronson, 1948", "Aronson, 1948", "TPT Madras, 1980"],
            "tool": "RoB2",
            "domain": ["Randomisation process", "Overall", "Randomisation process"],
            "judgement": ["Low", "High", "Some concerns"],
        }
    )
    # at the PDF's width these four columns and the dots leave too little plot: compact
    fig, layout = forest_plot(res, data=data, columns=columns, rob=rob)
    assert layout.dropped_columns == ["tpos", "tneg", "cpos", "cneg"]
    assert "505" not in texts_in_row(layout, layout.row_y("TPT Madras, 1980"))
    assert [r["label"] for r in layout.rows if r["kind"] == "note"][-1] == "Left out to fit the page: the TB+ and TB\u2212 columns."
    assert layout.ax.get_position().width * style.TEXT_WIDTH_IN >= forest.MIN_PLOT_IN
    # wider, or keeping those columns, they are drawn
    fig, layout = forest_plot(res, data=data, columns=columns, rob=rob, width_in=7.0)
    assert layout.dropped_columns == []
    row = texts_in_row(layout, layout.row_y("TPT Madras, 1980"))
    assert {"505", "87886", "499", "87892"} <= set(row)
    header = texts_in_row(layout, 0.0)
    assert header.count("Vaccinated") == 1 and header.count("Control") == 1
    assert "D1" in texts_in_row(layout, 1.0) and "O" in texts_in_row(layout, 1.0)
    assert "\u00d7" in texts_in_row(layout, layout.row_y("Aronson, 1948"))
    assert overlapping_pairs(layout.text_boxes()) == []


def test_real_subgroup_result_and_hartung_knapp_text():
    from analysis.stats.subgroups import subgroup_analysis

    o = BCG["overall"]
    sg = subgroup_analysis(o["yi"], o["vi"], BCG["data"]["alloc"], labels=o["labels"], measure="RR")
    # the subgroup result carries its own overall model
    fig, layout = forest_plot(sg.overall, subgroups=sg)
    (pooled,) = [d for d in layout.diamonds if d["kind"] == "pooled"]
    assert pooled["vertices"][:, 0].min() == pytest.approx(BCG["overall"]["ci_lb"], abs=1e-4)

    hk = rma(o["yi"], o["vi"], labels=o["labels"], measure="RR", hk=True)
    fig, layout = forest_plot(hk)
    notes = [r["label"] for r in layout.rows if r["kind"] == "note"]
    assert notes[2] == f"Test for overall effect: t(12) = \u2212{abs(hk.tval):.2f}, p = {hk.pval:.3f}"
    assert 0.001 <= hk.pval < 0.01  # so fmt_p prints three decimals above
    assert notes[0] == "Random-effects model (REML) (HK)"


def test_alt_text_states_what_and_pooled_result(bcg):
    res, fig, layout = bcg
    assert layout.alt.startswith("Forest plot of 13 studies, risk ratio on a log scale.")
    assert "The pooled risk ratio is 0.49 (95% CI 0.34 to 0.70), with I\u00b2 = 92.2% and a prediction interval of 0.15 to 1.55." in layout.alt
    fig1, lay1 = forest_plot(synthetic(1))
    assert lay1.pi is None
    assert lay1.alt.endswith(")."), lay1.alt


def test_mantel_haenszel_with_a_double_zero_table():
    from analysis.stats.binary import mantel_haenszel

    d = BCG["data"]
    ai, ci = list(d["tpos"]), list(d["cpos"])
    ai[0] = ci[0] = 0
    res = mantel_haenszel(ai, d["tneg"], ci, d["cneg"], measure="RR", labels=d["label"])
    fig, layout = forest_plot(res)
    # metafor: d <- dat.bcg; d$tpos[1] <- 0; d$cpos[1] <- 0
    #          rma.mh(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=d) -> 0.64 [0.59, 0.69], QE 151.9153
    pooled = next(r for r in layout.rows if r["kind"] == "pooled")
    assert pooled["label"] == "Total (95% CI)"
    assert "0.64 [0.59, 0.69]" in texts_in_row(layout, pooled["y"])
    assert "not estimable" in texts_in_row(layout, layout.row_y("Aronson, 1948"))
    assert "Aronson, 1948" not in {s["label"] for s in layout.squares}
    notes = [r["label"] for r in layout.rows if r["kind"] == "note"]
    assert notes[0] == "Mantel-Haenszel (common effect)"
    assert notes[1].startswith("Heterogeneity: I\u00b2 = 92.8%; Q = 151.92, df = 11")
    assert overlapping_pairs(layout.text_boxes()) == []


def test_forest_for_outcome_uses_arm_columns_and_direction():
    from analysis.figures import NothingToDraw, forest_for_outcome

    effects = pd.DataFrame(
        {
            "label": ["A 2010", "B 2012", "C 2015"],
            "m1": [46.4, 4.4, 12.25], "sd1": [10.2, 3.66, 2.5], "n1": [22, 16, 30],
            "m2": [36.6, 1.88, 11.0], "sd2": [11.6, 3.14, 2.4], "n2": [10, 16, 30],
        }
    )
    res = rma([0.9, 0.72, 0.5], [0.15, 0.13, 0.07], labels=list(effects["label"]), measure="SMD")
    outcome = SimpleNamespace(result=res, effects=effects, higher_is_better=False, label="Timed Up and Go (s)", reason="")
    fig, layout = forest_for_outcome(outcome)
    row = texts_in_row(layout, layout.row_y("C 2015"))
    # each kind of column at one number of decimals, the most its values have (both arms' means share)
    assert {"12.25", "2.50", "30", "11.00", "2.40"} <= set(row)
    assert {"46.40", "10.20", "22", "36.60", "11.60"} <= set(texts_in_row(layout, layout.row_y("A 2010")))
    assert "\u2190 Favours treatment" in [t.get_text() for t in layout.texts]
    assert "Timed Up and Go (s)" in [t.get_text() for t in layout.texts]
    # an outcome without any usable study has nothing to draw
    with pytest.raises(NothingToDraw, match="BBS: no study gives usable data"):
        forest_for_outcome(SimpleNamespace(result=None, effects=effects.iloc[:0], label="BBS", reason="no data"))


ARMS = pd.DataFrame(
    {
        "label": ["A 2010", "B 2012", "C 2015"],
        "m1": [46.4, 4.4, 12.25], "sd1": [100.2, 3.66, 2.5], "n1": [22, 16, 30],
        "m2": [36.6, 1.88, 11.0], "sd2": [71.6, 3.14, 2.4], "n2": [10, 16, 30],
        "form": ["percent_change", "change", "change"],
        "weight": [30.0, 30.0, 40.0],
    }
)


def _outcome(**extra):
    res = rma([0.9, 0.72, 0.5], [0.15, 0.13, 0.07], labels=list(ARMS["label"]), measure="SMD")
    base = dict(result=res, effects=ARMS, higher_is_better=True, label="Outcome", reason="", exploratory=False,
                arm_totals={"n1": 68, "n2": 56})
    return SimpleNamespace(**{**base, **extra})


def _x_of(layout, text, y):
    return next(t.get_position()[0] for t in layout.texts if t.get_text() == text and math.isclose(t.get_position()[1], y))


def test_total_row_carries_the_given_arm_totals_under_the_n_columns():
    from analysis.figures import forest_for_outcome

    fig, layout = forest_for_outcome(_outcome())
    total = next(r for r in layout.rows if r["kind"] == "pooled")
    row = texts_in_row(layout, total["y"])
    assert {"Total (95% CI)", "68", "56", "100.0%"} <= set(row)
    # right-aligned with the studies' N of the same arm
    first = layout.row_y("A 2010")
    assert _x_of(layout, "68", total["y"]) == pytest.approx(_x_of(layout, "22", first))
    assert _x_of(layout, "56", total["y"]) == pytest.approx(_x_of(layout, "10", first))
    # without totals the Total row has no N
    fig, layout = forest_for_outcome(_outcome(arm_totals={}))
    total = next(r for r in layout.rows if r["kind"] == "pooled")
    assert "68" not in texts_in_row(layout, total["y"])
    assert overlapping_pairs(layout.text_boxes()) == []


def test_percent_change_rows_carry_a_percent_mark_and_a_note():
    from analysis.figures import forest_for_outcome

    fig, layout = forest_for_outcome(_outcome())
    a = texts_in_row(layout, layout.row_y("A 2010"))
    b = texts_in_row(layout, layout.row_y("B 2012"))
    assert {"46.40%", "100.20%", "36.60%", "71.60%", "22", "10"} <= set(a)
    assert {"4.40", "3.66", "1.88", "3.14"} <= set(b) and not {"4.40%", "3.66%", "1.88%", "3.14%"} & set(b)
    notes = [r["label"] for r in layout.rows if r["kind"] == "note"]
    assert notes[-1] == "Values marked % are percent changes from baseline."
    # no percent rows: no mark, no note
    fig, layout = forest_for_outcome(_outcome(effects=ARMS.assign(form="change")))
    assert "46.40" in texts_in_row(layout, layout.row_y("A 2010"))
    assert not any("percent" in r["label"] for r in layout.rows)


def test_exploratory_analysis_has_no_test_for_overall_effect():
    from analysis.figures import forest_for_outcome

    notes = lambda lay: [r["label"] for r in lay.rows if r["kind"] == "note"]  # noqa: E731
    planned = notes(forest_for_outcome(_outcome())[1])
    assert any(n.startswith("Test for overall effect: z = ") for n in planned)
    exploratory = notes(forest_for_outcome(_outcome(exploratory=True))[1])
    assert not any(n.startswith("Test for overall effect") for n in exploratory)
    assert "Exploratory analysis: no test for overall effect" in exploratory


def test_single_unpooled_study_has_full_weight_and_a_total_row():
    from analysis.figures import forest_for_outcome

    one = ARMS.iloc[[1]].assign(yi=2.52, ci_lb=0.16, ci_ub=4.88, weight=100.0, form="change")
    outcome = SimpleNamespace(result=None, effects=one, higher_is_better=True, label="Berg", measure="MD", level=95,
                              reason="only B 2012 gives usable data", exploratory=False, arm_totals={"n1": 16, "n2": 16})
    fig, layout = forest_for_outcome(outcome)
    assert "100.0%" in texts_in_row(layout, layout.row_y("B 2012"))
    total = next(r for r in layout.rows if r["kind"] == "total")
    assert texts_in_row(layout, total["y"]).count("16") == 2
    # the axis is symmetric about no effect: the control side shows as much as the other
    assert layout.xlim == pytest.approx((-5.0, 5.0))
    assert list(layout.ax.get_xticks()) == pytest.approx([-5, -2.5, 0, 2.5, 5])
    assert [t.get_text() for t in layout.ax.get_xticklabels()] == ["\u22125", "\u22122.5", "0", "2.5", "5"]


def test_axes_show_both_sides_of_no_effect(bcg):
    res, fig, layout = bcg
    lo, hi = layout.xlim
    assert lo == pytest.approx(-hi)  # log scale, symmetric about a risk ratio of 1
    labels = [t.get_text() for t in layout.ax.get_xticklabels()]
    assert labels == ["0.1", "0.2", "0.5", "1", "2", "5", "10"]
    # every estimate one-sided: the axis still reaches as far past the null on the other side
    fig, lay = forest_plot(rma([1.0, 1.2, 0.9], [0.02, 0.03, 0.02], labels=["A", "B", "C"], measure="MD"))
    assert lay.xlim[0] == pytest.approx(-lay.xlim[1]) and lay.xlim[1] >= 1.2


def test_arm_columns_follow_the_kind_of_data():
    from analysis.figures import forest_for_outcome

    head = lambda lay: texts_in_row(lay, next(r["y"] for r in lay.rows if r["kind"] == "header"))  # noqa: E731
    # the synthesis carries event columns for every outcome; empty, they are not drawn
    continuous = ARMS.assign(ai=np.nan, ci=np.nan)
    fig, layout = forest_for_outcome(_outcome(effects=continuous))
    assert head(layout).count("Mean") == 2 and "Events" not in head(layout)
    binary = ARMS.assign(ai=[3, 1, 4], ci=[1, 0, 2])
    res = rma([0.9, 0.72, 0.5], [0.15, 0.13, 0.07], labels=list(ARMS["label"]), measure="RR")
    fig, layout = forest_for_outcome(_outcome(effects=binary, result=res))
    assert head(layout).count("Events") == 2 and "Mean" not in head(layout)
    assert {"3", "22", "1", "10"} <= set(texts_in_row(layout, layout.row_y("A 2010")))
