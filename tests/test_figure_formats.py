"""Cells save figures only in the formats the render uses: SVG for the HTML and the Typst PDF
(Quarto's typst format embeds SVG), PNG for DOCX, so a render without DOCX writes no PNG."""

from __future__ import annotations

from pathlib import Path

from analysis.figures.save import FORMATS_ENV, RENDER_FORMATS, formats_wanted
from analysis.render import render_project


def test_the_formats_named_in_the_environment_in_a_fixed_order(monkeypatch):
    monkeypatch.delenv(FORMATS_ENV, raising=False)
    assert formats_wanted() == RENDER_FORMATS == ("svg", "png")  # under Quarto: both
    for named, wanted in (("png", ("png",)), ("png,svg", ("svg", "png")), (" svg ", ("svg",)),
                          ("", RENDER_FORMATS), ("eps", RENDER_FORMATS), ("pdf", RENDER_FORMATS)):
        monkeypatch.setenv(FORMATS_ENV, named)
        assert formats_wanted() == wanted


QMD = """---
title: Formats
---

```{python}
#| output: asis
import matplotlib.pyplot as plt
from analysis.figures import formats_wanted, save_figure
fig = plt.figure(figsize=(2, 1))
paths = save_figure(fig, "_figures/fig-one", formats=formats_wanted())
print("![One](_figures/fig-one.svg){#fig-one}")
```
"""


def test_the_built_in_renderer_names_the_formats_of_its_outputs(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "review.qmd").write_text(QMD, encoding="utf-8")
    (root / "_quarto.yml").write_text("project:\n  output-dir: _output\n", encoding="utf-8")
    saved = lambda: sorted(p.suffix for p in (root / "_figures").iterdir())
    render_project(root, to="pdf", engine="builtin")
    assert saved() == [".svg"]
    render_project(root, to="docx", engine="builtin", force=True)
    assert saved() == [".png", ".svg"]
    for f in (root / "_figures").iterdir():
        f.unlink()
    render_project(root, to="html", engine="builtin", force=True)
    assert saved() == [".svg"]
    render_project(root, to="all", engine="builtin", force=True)
    assert saved() == [".png", ".svg"]
