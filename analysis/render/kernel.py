"""One Jupyter kernel (nbclient + ipykernel) that runs the cells and inline expressions in order."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

SVG_SALT = "review-render"


def setup_code(dpi: int, figsize: tuple[float, float] | None) -> str:
    # Both SVG (for HTML) and PNG (for the PDF) are captured from every figure; a fixed
    # hash salt and SOURCE_DATE_EPOCH keep the SVG bytes identical between runs.
    lines = [
        "import matplotlib as _mpl",
        f"_mpl.rcParams['svg.hashsalt'] = {SVG_SALT!r}",
        f"_mpl.rcParams['savefig.dpi'] = {dpi}",
        "_mpl.rcParams['svg.fonttype'] = 'path'",
        "%matplotlib inline",
        "from matplotlib_inline.backend_inline import set_matplotlib_formats as _smf",
        f"_smf('svg', 'png', bbox_inches='tight', dpi={dpi})",
    ]
    if figsize:
        lines.append(f"_mpl.rcParams['figure.figsize'] = ({figsize[0]}, {figsize[1]})")
    return "\n".join(lines)


class Kernel:
    """Context manager: `with Kernel(root) as k: outputs = k.run(code)`."""

    def __init__(self, root: Path, timeout: int = 900):
        self.root = Path(root)
        self.nb = nbformat.v4.new_notebook()
        self.nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        self.client = NotebookClient(
            self.nb, timeout=timeout, kernel_name="python3", allow_errors=True,
            resources={"metadata": {"path": str(self.root)}},
            # nothing is left to flush once the last cell ran; a graceful stop only waits
            shutdown_kernel="immediate",
        )
        self._cm = None
        self.start_seconds = 0.0
        self.stop_seconds = 0.0

    def __enter__(self) -> "Kernel":
        env = dict(os.environ)
        env.update({"SOURCE_DATE_EPOCH": "0", "PYTHONHASHSEED": "0",
                    "MPLBACKEND": "module://matplotlib_inline.backend_inline"})
        t = time.perf_counter()
        # The kernel's own log (e.g. its transport notice) is not the user's business;
        # cell errors arrive as outputs, not on this stream.
        self._cm = self.client.setup_kernel(env=env, cwd=str(self.root), stderr=subprocess.DEVNULL)
        self._cm.__enter__()
        self.start_seconds = time.perf_counter() - t
        return self

    def __exit__(self, *exc) -> None:
        if self._cm is not None:
            t = time.perf_counter()
            self._cm.__exit__(*exc)
            self.stop_seconds = time.perf_counter() - t

    def expressions(self, exprs: list[str]) -> list[dict]:
        """Evaluate inline expressions as Quarto does: one execute request carrying them as
        `user_expressions` (quarto-cli src/resources/jupyter/notebook.py, cell_execute_inline),
        so each value arrives as IPython's display bundle, e.g. {"text/plain": "'abc'"}.
        Returns one {"status", "data" | "ename", "evalue"} per expression."""
        if not exprs:
            return []
        kc = self.client.kc
        msg_id = kc.execute("", user_expressions={str(i): e for i, e in enumerate(exprs)})
        reply = self.client.wait_for_reply(msg_id)
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            return [{"status": "error", "ename": content.get("ename", "Error"),
                     "evalue": content.get("evalue", "")}] * len(exprs)
        results = content.get("user_expressions", {})
        return [results.get(str(i), {"status": "error", "ename": "Error", "evalue": "no result"})
                for i in range(len(exprs))]

    def run(self, code: str) -> list[dict]:
        cell = nbformat.v4.new_code_cell(code)
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        return list(cell.outputs)


def first_error(outputs: list[dict]) -> str | None:
    for out in outputs:
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip().splitlines()
            return f"{out.get('ename', 'Error')}: {value[0] if value else ''}".rstrip(": ")
    return None
