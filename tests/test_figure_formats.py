"""Cells save figures only in the formats the render uses: a page of a large forest costs
about a second per format, so a PDF-only render of a thousand studies writes no SVG or PNG."""

from __future__ import annotations

from pathlib import Path

from analysis.figures.save import ALL_FORMATS, FORMATS_ENV, formats_wanted
from analysis.render import render_project


def test_the_formats_named_in_the_environment_in_a_fixed_order(monkeypatch):
    monkeypatch.delenv(FORMATS_ENV, raising=False)
    assert formats_wanted() == ALL_FORMATS == ("svg", "pdf", "png")  # under Quarto: every format
    for named, wanted in (("pdf", ("pdf",)), ("png,svg", ("svg", "png")), (" pdf , svg ", ("svg", "pdf")),
                          ("", ALL_FORMATS), ("eps", ALL_FORMATS)):
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
    assert saved() == [".pdf"]
    render_project(root, to="html", engine="builtin")
    assert saved() == [".pdf", ".svg"]
    for f in (root / "_figures").iterdir():
        f.unlink()
    render_project(root, to="all", engine="builtin", force=True)
    assert saved() == [".pdf", ".png", ".svg"]
