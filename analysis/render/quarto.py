"""Render with Quarto when it is installed, using this environment's Python for the Jupyter kernel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..errors import RenderError

QUARTO_FORMAT = {"html": "html", "pdf": "typst", "docx": "docx"}
# ipykernel's notice on stderr when a kernel listens on TCP, as every Jupyter kernel started by
# Quarto does; it says nothing about the document.
KERNEL_NOTICE = "Kernel is running over TCP without encryption"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_WARNING = re.compile(r"\bWARN(ING)?\b")


def quarto_command(formats, out_dir: str) -> list[str]:
    """One call for every format: Quarto takes a comma-separated --to
    (quarto-cli src/command/render/render-contexts.ts) and starts once."""
    return ["render", "review.qmd", "--to", ",".join(QUARTO_FORMAT[f] for f in formats), "--output-dir", out_dir]


def warnings_in(stderr: str) -> list[str]:
    """Quarto's own warnings and the pandoc and kernel warnings it passes on, without the kernel notice."""
    lines = [_ANSI.sub("", line).rstrip() for line in stderr.splitlines()]
    return [line for line in lines if _WARNING.search(line) and KERNEL_NOTICE not in line]


def _say(line: str) -> None:
    print(f"quarto: {line}", file=sys.stderr, flush=True)


def render_with_quarto(root: Path, formats: tuple[str, ...], out_dir: str = "_output", progress=None,
                       warn=_say) -> dict[str, float]:
    quarto = shutil.which("quarto")
    if not quarto:
        raise RenderError("quarto is not on PATH")
    env = dict(os.environ, QUARTO_PYTHON=sys.executable)
    args = quarto_command(formats, out_dir)
    shown = " ".join(args[:4])
    if progress:
        progress(f"quarto {shown}")
    t = time.perf_counter()
    proc = subprocess.run([quarto, *args], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    timings = {f"quarto {args[3]}": time.perf_counter() - t}
    if proc.returncode != 0:
        lines = [_ANSI.sub("", l).strip() for l in proc.stderr.splitlines()
                 if l.strip() and KERNEL_NOTICE not in l]
        raise RenderError(f"quarto {shown} failed: {lines[-1] if lines else proc.returncode}")
    for line in warnings_in(proc.stderr):
        warn(line)
    return timings
