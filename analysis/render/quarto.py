"""Render with Quarto when it is installed, using this environment's Python for the Jupyter kernel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..errors import RenderError

QUARTO_FORMAT = {"html": "html", "pdf": "typst"}


def render_with_quarto(root: Path, formats: tuple[str, ...], out_dir: str = "_output", progress=None) -> dict[str, float]:
    quarto = shutil.which("quarto")
    if not quarto:
        raise RenderError("quarto is not on PATH")
    env = dict(os.environ, QUARTO_PYTHON=sys.executable)
    timings = {}
    for f in formats:
        if progress:
            progress(f"quarto render --to {QUARTO_FORMAT[f]}")
        t = time.perf_counter()
        proc = subprocess.run([quarto, "render", "review.qmd", "--to", QUARTO_FORMAT[f], "--output-dir", out_dir], cwd=root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        timings[f"quarto {QUARTO_FORMAT[f]}"] = time.perf_counter() - t
        if proc.returncode != 0:
            lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
            raise RenderError(f"quarto render --to {QUARTO_FORMAT[f]} failed: {lines[-1] if lines else proc.returncode}")
    return timings
