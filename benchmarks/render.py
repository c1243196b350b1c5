"""Time `review render` with the built-in renderer: cold, forced and cache hit, and where the time goes.

Runs on the bundled review when review.qmd exists at the repository root, otherwise on the
renderer's test project. Writes benchmarks/results/render.md.
"""

from __future__ import annotations

import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.render import render_project  # noqa: E402

RUNS = 3
STEPS = ("parse", "kernel start", "kernel setup (matplotlib)", "cells", "kernel stop", "pandoc html", "pandoc typst",
         "typst compile", "pandoc docx")


def project_copy(dest: Path) -> tuple[Path, str]:
    if (REPO / "review.qmd").exists():
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("review.qmd", "_quarto.yml", "style", "review_tables.py", "analysis_plan.yml", "references.bib",
                     "extraction"):
            src = REPO / name
            if src.is_dir():
                shutil.copytree(src, dest / name)
            elif src.exists():
                shutil.copy2(src, dest / name)
        for csl in REPO.glob("*.csl"):
            shutil.copy2(csl, dest / csl.name)
        return dest, "bundled review (review.qmd at the repository root)"
    shutil.copytree(REPO / "tests/fixtures/render_project", dest, dirs_exist_ok=True)
    return dest, "test project tests/fixtures/render_project (no bundled review.qmd yet)"


def main() -> int:
    cold, forced, hits, reports = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(RUNS):
            root, label = project_copy(Path(tmp) / f"cold{i}")
            t = time.perf_counter()
            reports.append(render_project(root, engine="builtin"))
            cold.append(time.perf_counter() - t)
        root = Path(tmp) / "cold0"
        for _ in range(RUNS):
            t = time.perf_counter()
            reports.append(render_project(root, engine="builtin", force=True))
            forced.append(time.perf_counter() - t)
        for _ in range(RUNS):
            t = time.perf_counter()
            r = render_project(root, engine="builtin")
            hits.append(time.perf_counter() - t)
            assert r.up_to_date
        n_cells = len(reports[0].cell_timings)
        slowest = sorted(((statistics.median(r.cell_timings[k][1] for r in reports), reports[0].cell_timings[k][0])
                          for k in range(n_cells)), reverse=True)[:5]
        sizes = {p.name: p.stat().st_size for p in (root / "_output").glob("review.*")}
    # Peak resident memory: this process (renderer, pandoc output handling) and the largest
    # child (the Jupyter kernel running the cells, pandoc or typst), in MiB (Linux: KiB units).
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    med = lambda xs: statistics.median(xs)  # noqa: E731
    lines = [
        "# `review render` timings (built-in renderer)",
        "",
        f"Project: {label}; {n_cells} cells. Medians of {RUNS} runs each, all three formats (HTML, PDF and DOCX).",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; "
        "`.venv/bin/python benchmarks/render.py` regenerates this file.",
        "",
        "| run | median s | runs (s) |",
        "| --- | ---: | --- |",
        f"| cold (no _output) | {med(cold):.2f} | {', '.join(f'{x:.2f}' for x in cold)} |",
        f"| forced re-render (`--force`) | {med(forced):.2f} | {', '.join(f'{x:.2f}' for x in forced)} |",
        f"| cache hit (nothing changed) | {med(hits):.3f} | {', '.join(f'{x:.3f}' for x in hits)} |",
        "",
        "Where the time of a render goes (median over all cold and forced runs):",
        "",
        "| step | median s |",
        "| --- | ---: |",
    ]
    for step in STEPS:
        vals = [r.timings[step] for r in reports if step in r.timings]
        if vals:
            lines.append(f"| {step} | {med(vals):.3f} |")
    other = [r.timings["total"] - sum(r.timings.get(s, 0) for s in STEPS) for r in reports]
    lines.append(f"| other (imports, input hashing, file moves) | {med(other):.3f} |")
    lines += ["", "Slowest cells (median s):", "", "| cell | s |", "| --- | ---: |"]
    lines += [f"| {name} | {t:.3f} |" for t, name in slowest]
    lines += ["", "Output sizes: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sorted(sizes.items())), ""]
    lines += [f"Peak memory (resident): renderer process {peak_self:.0f} MiB; largest child process "
              f"(kernel, pandoc or typst) {peak_child:.0f} MiB.", ""]
    out = REPO / "benchmarks/results/render.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
