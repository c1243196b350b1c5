"""The render's numbers snapshot comes from the synthesis the document's kernel makes, computed once."""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis.data.load import load_sheets
from analysis.data.plan import load_plan
from analysis.living.numbers import SNAPSHOT, project_numbers, read_snapshot
from analysis.render import render_project, snapshot
from analysis.review import synthesis

from fixture_paths import BUNDLED, REPO  # noqa: E402

BASE = REPO / "tests" / "broken" / "_base"


def base_project(dest: Path, qmd: str) -> Path:
    shutil.copytree(BASE, dest)
    shutil.copy(BUNDLED / "extraction" / "datapackage.json", dest / "extraction" / "datapackage.json")
    (dest / "review.qmd").write_text(qmd, encoding="utf-8")
    (dest / "_quarto.yml").write_text("project:\n  output-dir: _output\n", encoding="utf-8")
    return dest


def test_the_document_gets_the_snapshot_synthesis_back(tmp_path, monkeypatch):
    root = base_project(tmp_path / "p", "Text.\n")
    calls = []
    original = synthesis.synthesise

    def counted(sheets, plan):
        calls.append(1)
        return original(sheets, plan)

    monkeypatch.setattr(synthesis, "synthesise", counted)  # undone after the test, wrapper and all
    snapshot.reuse_first_synthesis()
    numbers = project_numbers(root)
    assert len(calls) == 1
    sheets, plan = load_sheets(root), load_plan(root)  # the document's own copies
    first = synthesis.synthesise(sheets, plan)
    assert len(calls) == 1
    assert synthesis.synthesise(load_sheets(root), plan) is first
    # other inputs are computed, and do not displace the snapshot's
    sheets["outcomes"].loc[0, "mean"] = 41.5
    other = synthesis.synthesise(sheets, plan)
    assert len(calls) == 2 and other is not first
    assert synthesis.synthesise(load_sheets(root), plan) is first
    assert len(calls) == 2
    assert numbers == project_numbers(root)


QMD = """---
title: Snapshot
---

```{python}
#| label: setup
from pathlib import Path
import analysis.data.load, analysis.data.plan, analysis.review.synthesis
root = Path.cwd()
synth = analysis.review.synthesis.synthesise(analysis.data.load.load_sheets(root), analysis.data.plan.load_plan(root))
```

The plan has `{python} len(synth.analyses)` outcomes.
"""


def test_builtin_render_writes_the_snapshot_in_its_kernel_before_the_first_cell(tmp_path):
    root = base_project(tmp_path / "p", QMD)
    steps: list[str] = []
    report = render_project(root, to="html", engine="builtin", progress=steps.append)
    assert steps.index("numbers snapshot") < steps.index("cell 1/1 setup (line 5)")
    assert report.timings["numbers"] > 0
    assert report.numbers == root / "_output" / SNAPSHOT
    assert read_snapshot(report.numbers) == project_numbers(root)
    assert "The plan has 2 outcomes." in (root / "_output/review.html").read_text(encoding="utf-8")
