"""Leave-one-out, cumulative and safety plots show the analysis frames' numbers."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.figures import (NothingToDraw, cumulative_pages, cumulative_plot, leave_one_out_pages,
                              leave_one_out_plot, safety_plot)
from analysis.figures._common import overlapping_pairs
from analysis.stats.pooling import rma
from analysis.stats.safety import tally
from analysis.stats.sensitivity import cumulative, leave_one_out

BCG = json.loads((Path(__file__).parent / "baseline_images" / "metafor_dat_bcg.json").read_text())
O = BCG["overall"]


@pytest.fixture(scope="module")
def res():
    return rma(O["yi"], O["vi"], labels=O["labels"], measure="RR")


def test_leave_one_out_rows_match_metafor(res):
    frame = leave_one_out(O["yi"], O["vi"], labels=O["labels"])
    fig, layout = leave_one_out_plot(frame, res)
    ref = BCG["leave1out"]
    pts = {p["label"]: p["x"] for p in layout.points}
    for lab, est, lb, ub in zip(ref["label"], ref["estimate"], ref["ci_lb"], ref["ci_ub"]):
        assert pts["Omitting " + lab] == pytest.approx(est, abs=1e-3)
        row = next(r for r in layout.rows if r["label"] == "Omitting " + lab)
        strings = [t.get_text() for t in layout.texts if t.get_position()[1] == row["y"]]
        assert f"{np.exp(est):.2f} [{np.exp(lb):.2f}, {np.exp(ub):.2f}]" in strings
    assert layout.reference == pytest.approx((O["estimate"], O["ci_lb"], O["ci_ub"]), abs=1e-4)
    assert pts["All studies (k = 13)"] == pytest.approx(O["estimate"], abs=1e-4)
    assert overlapping_pairs(layout.text_boxes()) == []


def test_cumulative_rows_in_year_order_match_metafor(res):
    frame = cumulative(O["yi"], O["vi"], order=BCG["data"]["year"], labels=O["labels"])
    fig, layout = cumulative_plot(frame, res)
    ref = BCG["cumulative"]
    labels = [p["label"] for p in layout.points][:-1]
    assert labels == ["+ " + lab for lab in ref["label"]]
    assert [p["x"] for p in layout.points][:-1] == pytest.approx(ref["estimate"], abs=1e-3)
    assert "added one at a time" in layout.alt


def _long(k):
    rng = np.random.default_rng(7)
    yi, vi = rng.normal(-0.5, 0.4, k), rng.uniform(0.02, 0.2, k)
    labels = [f"Trial {i:03d}" for i in range(k)]
    return leave_one_out(yi, vi, labels=labels), rma(yi, vi, labels=labels, measure="RR")


def test_a_long_leave_one_out_runs_over_pages_at_one_scale():
    from analysis.figures._rowchart import ROWS_PER_PAGE
    from analysis.figures.style import TEXT_HEIGHT_IN

    frame, result = _long(100)
    pages = leave_one_out_pages(frame, result, title="Long")
    assert len(pages) == 3 and [p[1].page for p in pages] == [1, 2, 3] and all(p[1].pages == 3 for p in pages)
    # every omitted study once, in order; the all-studies row only at the end of the last page
    labels = [r["label"] for _, lay in pages for r in lay.rows if r["label"]]
    assert labels == [f"Omitting Trial {i:03d}" for i in range(100)] + ["All studies (k = 100)"]
    assert all(len(lay.rows) <= ROWS_PER_PAGE for _, lay in pages)
    # the same axis and the same columns on every page; each page fits the text block under a caption
    assert len({lay.ax.get_xlim() for _, lay in pages}) == 1
    columns = [sorted({round(t.get_position()[0], 6) for t in lay.texts[:3]}) for _, lay in pages]
    assert columns[0] == columns[1] == columns[2]
    assert all(fig.get_figheight() <= TEXT_HEIGHT_IN - 0.8 for fig, _ in pages)
    assert [fig.texts[-1].get_text() for fig, _ in pages] == ["Long (1 of 3)", "Long (2 of 3)", "Long (3 of 3)"]
    assert "Page 2 of 3: rows Omitting Trial 034 to Omitting Trial 067." in pages[1][1].alt
    assert pages[2][1].alt.endswith("Page 3 of 3: rows Omitting Trial 068 to Omitting Trial 099.")
    # what fits one page stays one page, titled as given; rows_per_page=0 is one figure however long
    yi, vi = np.linspace(-1, 0, 20), np.full(20, 0.1)
    short = rma(yi, vi, measure="RR")
    one = cumulative_pages(cumulative(yi, vi, labels=[f"Trial {i}" for i in range(20)]), short, title="Short")
    assert len(one) == 1 and one[0][0].texts[-1].get_text() == "Short"
    assert len(leave_one_out_pages(frame, result, rows_per_page=0)) == 1


def test_empty_frames_raise(res):
    with pytest.raises(NothingToDraw):
        leave_one_out_plot(pd.DataFrame(columns=["study", "estimate", "ci_lb", "ci_ub"]), res)


def _safety_frames():
    arms = pd.DataFrame(
        {
            "study": ["a2020", "a2020", "b2021", "b2021"],
            "arm": ["t", "c", "t", "c"],
            "label": ["TMS", "Sham", "TMS", "Sham"],
            "role": ["active", "control", "active", "control"],
            "intervention": ["", "", "", ""],
            "n_randomised": [20, 20, 15, 15],
            "n_analysed": [20, 19, 15, 15],
        }
    )
    ae = pd.DataFrame(
        {
            "study": ["a2020", "a2020", "b2021", "b2021"],
            "arm": ["t", "c", "t", "c"],
            "event": ["headache", "headache", "headache", "headache"],
            "events": [3, 1, 2, 0],
            "at_risk": [20, 19, 15, 15],
            "severity": ["mild"] * 4,
            "status": ["reported"] * 4,
        }
    )
    return ae, arms


def test_safety_plot_shows_tally_proportions():
    ae, arms = _safety_frames()
    t = tally(ae, arms)
    fig, layout = safety_plot(t)
    tot = t.totals.set_index(["event", "role"])
    act = tot.loc[("headache", "active")]
    row = next(r for r in layout.rows if r["label"] == "Active")
    assert row["est"] == pytest.approx(act["proportion"] * 100)
    assert (row["lb"], row["ub"]) == pytest.approx((act["ci_lb"] * 100, act["ci_ub"] * 100))
    assert act["events"] == 5 and act["at_risk"] == 35
    strings = [x.get_text() for x in layout.texts if x.get_position()[1] == row["y"]]
    assert "5/35" in strings and "2" in strings
    assert "Headache: active 5/35" in layout.alt
    assert overlapping_pairs(layout.text_boxes()) == []
    # the legend names each arm role drawn, with the marker and colour of its points
    assert [e["label"] for e in layout.legend] == ["Active", "Control", "All arms"]
    for e in layout.legend:
        drawn = {(p["marker"], p["colour"]) for p in layout.points if p["label"] == e["label"]}
        assert drawn == {(e["marker"], e["colour"])}
    shown = [t.get_text() for t in layout.fig.legends[0].get_texts()]
    assert shown == ["Active", "Control", "All arms"]


def test_safety_plot_unknown_denominator_has_no_point_and_empty_raises():
    ae, arms = _safety_frames()
    ae.loc[0, "at_risk"] = np.nan
    arms = arms.assign(n_randomised=np.nan, n_analysed=np.nan)
    t = tally(ae, arms)
    fig, layout = safety_plot(t)
    active = next(r for r in layout.rows if r["label"] == "Active")
    control = next(r for r in layout.rows if r["label"] == "Control")
    assert active["est"] is None and control["est"] == pytest.approx(100 / 34)
    assert [p["label"] for p in layout.points] == ["Control"]
    assert [e["label"] for e in layout.legend] == ["Control"]  # only roles with a drawn point
    strings = [x.get_text() for x in layout.texts if x.get_position()[1] == active["y"]]
    assert "5/?" in strings and "at risk unknown" in strings
    only_unknown = t.totals[t.totals["role"] != "control"]
    with pytest.raises(NothingToDraw):
        safety_plot(only_unknown)
    with pytest.raises(NothingToDraw):
        safety_plot(t.totals.iloc[0:0])
