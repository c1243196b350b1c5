"""Saving is deterministic: same bytes on every run, no dates or version stamps."""

import io
import json
from pathlib import Path

import matplotlib
import pytest

import analysis.figures  # noqa: F401  (applies the style)
from analysis.figures import forest_plot, prisma_flow, save_figure
from analysis.figures.style import SVG_HASHSALT
from analysis.stats.pooling import rma

from test_figures_prisma import FULL

BCG = json.loads((Path(__file__).parent / "baseline_images" / "metafor_dat_bcg.json").read_text())
O = BCG["overall"]


def _forest():
    return forest_plot(rma(O["yi"], O["vi"], labels=O["labels"], measure="RR"), title="BCG")[0]


# The forest plot at the default 300 dpi; the PRISMA diagram at 100 dpi keeps the test quick.
@pytest.mark.parametrize("draw,dpi", [(_forest, 300), (lambda: prisma_flow(FULL)[0], 100)], ids=["forest", "prisma"])
def test_two_saves_give_identical_bytes(tmp_path, draw, dpi):
    kw = {} if dpi == 300 else {"dpi": dpi}
    a = save_figure(draw(), tmp_path / "one" / "fig", **kw)
    b = save_figure(draw(), tmp_path / "two" / "fig", **kw)
    assert [p.name for p in a] == ["fig.svg", "fig.png"]
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    svg = a[0].read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    png = a[1].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"Software" not in png and b"tIME" not in png
    # pixel width = inches * dpi (300 unless asked otherwise)
    width_px = int.from_bytes(png[16:20], "big")
    fig = draw()
    assert abs(width_px - fig.get_figwidth() * dpi) < 1
    assert list(tmp_path.glob("one/.*tmp")) == []


def test_style_applied_on_import_makes_inline_output_deterministic():
    assert matplotlib.rcParams["svg.hashsalt"] == SVG_HASHSALT
    assert matplotlib.rcParams["font.family"] == ["DejaVu Sans"]
    outs = []
    for _ in range(2):
        buf = io.BytesIO()
        # what an inline backend does: print_figure with no metadata of ours
        _forest().canvas.print_figure(buf, format="svg")
        outs.append(buf.getvalue())
    assert outs[0] == outs[1]
    png = []
    for _ in range(2):
        buf = io.BytesIO()
        _forest().canvas.print_figure(buf, format="png", dpi=72)
        png.append(buf.getvalue())
    assert png[0] == png[1]


def test_bytes_do_not_depend_on_the_process(tmp_path):
    import os
    import subprocess
    import sys

    ours = save_figure(prisma_flow(FULL)[0], tmp_path / "here" / "prisma", dpi=100)
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]);"
        "from test_figures_prisma import FULL;"
        "from analysis.figures import prisma_flow, save_figure;"
        "save_figure(prisma_flow(FULL)[0], sys.argv[1], dpi=100)"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    env.pop("SOURCE_DATE_EPOCH", None)
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there" / "prisma"), str(Path(__file__).parent)], check=True, env=env)
    for p in ours:
        assert p.read_bytes() == (tmp_path / "there" / p.name).read_bytes(), p.name
