"""Funnel plot from dat.bcg with trim-and-fill: points, pooled lines and imputed study as metafor finds them."""

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.figures import funnel_plot
from analysis.stats.pooling import rma
from analysis.stats.sensitivity import funnel_data, trimfill

BCG = json.loads((Path(__file__).parent / "baseline_images" / "metafor_dat_bcg.json").read_text())
O = BCG["overall"]


@pytest.fixture(scope="module")
def drawn():
    res = rma(O["yi"], O["vi"], labels=O["labels"], measure="RR")
    tf = trimfill(O["yi"], O["vi"], labels=O["labels"], measure="RR")
    fd = funnel_data(O["yi"], O["vi"], res.estimate, labels=O["labels"])
    return res, tf, funnel_plot(res, funnel=fd, trimfill=tf)


def test_points_are_yi_against_se(drawn):
    res, tf, (fig, layout) = drawn
    assert layout.observed[:, 0] == pytest.approx(O["yi"], abs=1e-9)
    assert layout.observed[:, 1] == pytest.approx(np.sqrt(O["vi"]), abs=1e-9)
    # standard error grows downwards, zero at the top
    lo, hi = layout.ax.get_ylim()
    assert lo > hi == 0


def test_trimfill_point_and_adjusted_line_match_metafor(drawn):
    res, tf, (fig, layout) = drawn
    # metafor trimfill(res): 1 study imputed on the right, yi 0.3104, vi 0.2230; adjusted estimate -0.6571
    assert len(layout.filled) == BCG["trimfill"]["k0"]
    assert layout.filled[0, 0] == pytest.approx(BCG["trimfill"]["yi"][-1], abs=1e-4)
    assert layout.filled[0, 1] == pytest.approx(np.sqrt(BCG["trimfill"]["vi"][-1]), abs=1e-4)
    assert layout.adjusted_x == pytest.approx(BCG["trimfill"]["estimate"], abs=1e-3)
    assert layout.pooled_x == pytest.approx(O["estimate"], abs=1e-4)
    assert "Trim-and-fill adds 1 imputed study" in layout.alt
    assert "pooled risk ratio is 0.49 (95% CI 0.34 to 0.70)" in layout.alt


def test_pseudo_confidence_lines_and_contours(drawn):
    res, tf, (fig, layout) = drawn
    dashed = [l for l in layout.ax.lines if l.get_linestyle() == "--"]
    assert len(dashed) == 2
    se_top = max(np.sqrt(O["vi"]))
    lb = dashed[0].get_xdata()
    assert lb[-1] == pytest.approx(O["estimate"] - 1.959964 * se_top, abs=1e-4)
    # three shaded significance bands each side of the null
    assert len(layout.ax.collections) >= 6 + 2
    labels = [t.get_text() for t in layout.ax.get_legend().get_texts()]
    assert labels[:3] == ["0.10 > p > 0.05", "0.05 > p > 0.01", "p < 0.01"]
    ticks = [float(t.get_text()) for t in layout.ax.get_xticklabels()]
    assert np.allclose(np.exp(layout.ax.get_xticks()), ticks) and 1.0 in ticks


def test_without_trimfill_no_imputed_points():
    res = rma(O["yi"], O["vi"], labels=O["labels"], measure="RR")
    fig, layout = funnel_plot(res)
    assert layout.filled.shape == (0, 2) and layout.adjusted_x is None
    assert "imputed" not in layout.alt


def test_dropped_tables_are_skipped_and_nothing_left_raises():
    from analysis.stats.binary import mantel_haenszel
    from analysis.figures import NothingToDraw

    d = BCG["data"]
    ai, ci = list(d["tpos"]), list(d["cpos"])
    ai[0] = ci[0] = 0
    res = mantel_haenszel(ai, d["tneg"], ci, d["cneg"], measure="RR", labels=d["label"])
    fig, layout = funnel_plot(res)
    assert len(layout.observed) == 12
    empty = rma([0.1], [0.01], measure="RR")
    object.__setattr__(empty, "yi", np.array([np.nan]))
    with pytest.raises(NothingToDraw):
        funnel_plot(empty)
