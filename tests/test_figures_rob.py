"""Risk-of-bias traffic light and summary: robvis colours, weighted shares, nothing-to-draw."""

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_hex

from analysis.figures import NothingToDraw, rob_summary, rob_traffic_light
from fixture_paths import BUNDLED, REPO

ROOT = BUNDLED  # the frozen copy of the bundled review (tests/fixtures/bundled)
ROB2_DOMAINS = [
    "Randomisation process",
    "Deviations from intended interventions",
    "Missing outcome data",
    "Measurement of the outcome",
    "Selection of the reported result",
    "Overall",
]
ROBINS_DOMAINS = ["Confounding", "Selection of participants", "Classification of interventions",
                  "Deviations from intended interventions", "Missing data", "Measurement of outcomes",
                  "Selection of the reported result", "Overall"]


def rob_frame():
    rows = []
    j2 = {
        "Kim 2014": ["Low", "Low", "Low", "Some concerns", "Low", "Some concerns"],
        "Bonni 2014": ["Low", "Some concerns", "High", "Low", "Low", "High"],
        "Liao 2021": ["Low", "Low", "Low", "Low", "Low", "Low"],
    }
    for study, js in j2.items():
        rows += [(study, "RoB2", d, j, "") for d, j in zip(ROB2_DOMAINS, js)]
    ji = {"Case 2019": ["Serious", "Low", "Low", "Moderate", "No information", "Moderate", "Low", "Critical"]}
    for study, js in ji.items():
        rows += [(study, "ROBINS-I", d, j, "") for d, j in zip(ROBINS_DOMAINS, js)]
    return pd.DataFrame(rows, columns=["study", "tool", "domain", "judgement", "support"])


def test_traffic_light_cells_and_robvis_colours():
    fig, layout = rob_traffic_light(rob_frame())
    assert layout.tools == ["RoB2", "ROBINS-I"]
    assert len(layout.cells) == 3 * 6 + 8
    cell = next(c for c in layout.cells if c["study"] == "Bonni 2014" and c["domain"] == "Missing outcome data")
    assert cell["judgement"] == "high" and cell["x"] == 2 and cell["y"] == 1
    colours = set()
    for ax in fig.axes:
        for coll in ax.collections:
            if len(coll.get_facecolor()):
                colours.add(to_hex(coll.get_facecolor()[0]).upper())
    assert {"#02C100", "#E2DF07", "#BF0000", "#820000", "#4EA1F7"} <= colours
    # overall column last and labelled
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["D1", "D2", "D3", "D4", "D5", "Overall"]
    assert "Overall: low 1, some concerns 1, high 1, critical 1." in layout.alt


def test_summary_shares_sum_to_100_and_follow_weights():
    frame = rob_frame()
    fig, layout = rob_summary(frame, tool="RoB2")
    d3 = {b["judgement"]: b["width"] for b in layout.bars if b["domain"] == "Missing outcome data"}
    assert d3 == pytest.approx({"low": 200 / 3, "high": 100 / 3})
    for d in ROB2_DOMAINS:
        assert sum(b["width"] for b in layout.bars if b["domain"] == d) == pytest.approx(100)
    weights = {"Kim 2014": 50.0, "Bonni 2014": 30.0, "Liao 2021": 20.0}
    fig, layout = rob_summary(frame, tool="RoB2", weights=weights)
    overall = {b["judgement"]: b["width"] for b in layout.bars if b["domain"] == "Overall"}
    assert overall == pytest.approx({"low": 20.0, "some concerns": 50.0, "high": 30.0})
    assert "meta-analysis weight" in layout.alt


def test_missing_weight_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="Liao 2021"):
        rob_summary(rob_frame(), tool="RoB2", weights={"Kim 2014": 1.0, "Bonni 2014": 1.0})


def test_no_assessments_raise_nothing_to_draw():
    empty = pd.DataFrame(columns=["study", "tool", "domain", "judgement", "support"])
    for fn in (rob_traffic_light, rob_summary):
        with pytest.raises(NothingToDraw):
            fn(empty)
    blank = pd.DataFrame({"study": ["Kim 2014"], "tool": ["RoB2"], "domain": ["Overall"], "judgement": [None], "support": [""]})
    with pytest.raises(NothingToDraw):
        rob_traffic_light(blank)
    with pytest.raises(NothingToDraw):
        rob_traffic_light(rob_frame(), tool="QUADAS-2")
    bundled = ROOT / "extraction" / "risk_of_bias.csv"
    if bundled.exists():
        sheet = pd.read_csv(bundled)
        if sheet.empty:
            with pytest.raises(NothingToDraw):
                rob_traffic_light(sheet)
