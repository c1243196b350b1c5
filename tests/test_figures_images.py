"""Image comparison against stored PNG baselines (matplotlib.testing.compare).

Regenerate after an intended change of look:
    REGENERATE_FIGURE_BASELINES=1 .venv/bin/python -m pytest -q tests/test_figures_images.py
then inspect the new PNGs in tests/baseline_images/ before committing them.
"""

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from matplotlib.testing.compare import compare_images

from analysis.figures import (
    cumulative_plot,
    forest_plot,
    funnel_plot,
    leave_one_out_plot,
    prisma_flow,
    rob_summary,
    rob_traffic_light,
    safety_plot,
)
from analysis.stats.pooling import rma
from analysis.stats.safety import tally
from analysis.stats.sensitivity import cumulative, funnel_data, leave_one_out, trimfill
from analysis.stats.subgroups import subgroup_analysis

sys.path.insert(0, str(Path(__file__).parent))
from test_figures_prisma import FULL  # noqa: E402
from test_figures_rob import rob_frame  # noqa: E402
from test_figures_sensitivity import _safety_frames  # noqa: E402

HERE = Path(__file__).parent / "baseline_images"
BCG = json.loads((HERE / "metafor_dat_bcg.json").read_text())
O = BCG["overall"]
DPI = 60
TOL = 1.0


def _res():
    return rma(O["yi"], O["vi"], labels=O["labels"], measure="RR")


def forest_bcg():
    return forest_plot(_res(), higher_is_better=False, favours=("Favours control", "Favours vaccine"))[0]


def forest_bcg_subgroups():
    sg = subgroup_analysis(O["yi"], O["vi"], BCG["data"]["alloc"], labels=O["labels"], measure="RR")
    data = pd.DataFrame({k: BCG["data"][k] for k in ("label", "tpos", "tneg", "cpos", "cneg")})
    cols = [("tpos", ("Vaccinated", "TB+")), ("tneg", ("Vaccinated", "TB\u2212")), ("cpos", ("Control", "TB+")), ("cneg", ("Control", "TB\u2212"))]
    return forest_plot(sg.overall, subgroups=sg, data=data, columns=cols, higher_is_better=False, title="BCG vaccine by allocation")[0]


def funnel_bcg():
    res = _res()
    return funnel_plot(res, funnel=funnel_data(O["yi"], O["vi"], res.estimate, labels=O["labels"]), trimfill=trimfill(O["yi"], O["vi"], measure="RR"))[0]


def prisma_full():
    return prisma_flow(FULL)[0]


def rob_traffic():
    return rob_traffic_light(rob_frame())[0]


def rob_bars():
    return rob_summary(rob_frame())[0]


def loo_bcg():
    return leave_one_out_plot(leave_one_out(O["yi"], O["vi"], labels=O["labels"]), _res())[0]


def cumulative_bcg():
    return cumulative_plot(cumulative(O["yi"], O["vi"], order=BCG["data"]["year"], labels=O["labels"]), _res())[0]


def safety():
    return safety_plot(tally(*_safety_frames()))[0]


FIGURES = [forest_bcg, forest_bcg_subgroups, funnel_bcg, prisma_full, rob_traffic, rob_bars, loo_bcg, cumulative_bcg, safety]


@pytest.mark.parametrize("draw", FIGURES, ids=[f.__name__ for f in FIGURES])
def test_matches_baseline(draw, tmp_path):
    baseline = HERE / f"{draw.__name__}.png"
    fig = draw()
    if os.environ.get("REGENERATE_FIGURE_BASELINES"):
        fig.savefig(baseline, dpi=DPI, metadata={"Software": None})
        pytest.skip("baseline regenerated")
    actual = tmp_path / baseline.name
    fig.savefig(actual, dpi=DPI, metadata={"Software": None})
    assert baseline.exists(), f"no baseline {baseline.name}; regenerate as the module docstring says"
    result = compare_images(str(baseline), str(actual), tol=TOL)
    assert result is None, result
