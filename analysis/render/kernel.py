"""One Jupyter kernel (nbclient + ipykernel) that runs the cells and inline expressions in order."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ..errors import RenderError

SVG_SALT = "review-render"


def setup_code(dpi: int, figsize: tuple[float, float] | None, formats=("svg", "png")) -> str:
    # A displayed figure is captured as SVG (the HTML's and the Typst PDF's) and PNG (the DOCX's,
    # or a raster fig-format's), only those the render uses; a fixed hash salt and
    # SOURCE_DATE_EPOCH keep the SVG bytes identical between runs.
    lines = [
        "import matplotlib as _mpl",
        f"_mpl.rcParams['svg.hashsalt'] = {SVG_SALT!r}",
        f"_mpl.rcParams['savefig.dpi'] = {dpi}",
        "_mpl.rcParams['svg.fonttype'] = 'path'",
        "%matplotlib inline",
        "from matplotlib_inline.backend_inline import set_matplotlib_formats as _smf",
        f"_smf({', '.join(repr(f) for f in formats)}, bbox_inches='tight', dpi={dpi})",
    ]
    if figsize:
        lines.append(f"_mpl.rcParams['figure.figsize'] = ({figsize[0]}, {figsize[1]})")
    return "\n".join(lines)


class Kernel:
    """Context manager: `with Kernel(root) as k: outputs = k.run(code)`."""

    def __init__(self, root: Path, timeout: int = 900, source: str = "review.qmd", env: dict | None = None):
        self.root = Path(root)
        self.env = dict(env or {})  # added to the kernel's environment
        self.source = source  # the file the cells come from, as messages name it
        self.timeout = timeout
        self._fault_log: str | None = None
        self._count = None  # execution count of the last cell run
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
        env.update(self.env)
        t = time.perf_counter()
        # The kernel's own log (e.g. its transport notice) is not the user's business;
        # cell errors arrive as outputs, not on this stream.
        self._cm = self.client.setup_kernel(env=env, cwd=str(self.root), stderr=subprocess.DEVNULL)
        self._cm.__enter__()
        # Where the kernel writes its Python stack when it crashes (a segfault in a C extension),
        # so that the message can name the line of the cell it was running.
        fd, self._fault_log = tempfile.mkstemp(prefix="review-kernel-", suffix=".txt")
        os.close(fd)
        self.run(f"import faulthandler as _fh; _fh.enable(open({self._fault_log!r}, 'w'), all_threads=False)"
                 "\ndel _fh")
        self.start_seconds = time.perf_counter() - t
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._cm is not None:
                t = time.perf_counter()
                self._cm.__exit__(*exc)
                self.stop_seconds = time.perf_counter() - t
        finally:
            if self._fault_log:
                Path(self._fault_log).unlink(missing_ok=True)

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

    def run(self, code: str, cell=None) -> list[dict]:
        """Run `code`; `cell` (the document's Cell it comes from) names it if the kernel dies."""
        nb_cell = nbformat.v4.new_code_cell(code)
        self.nb.cells.append(nb_cell)
        try:
            self.client.execute_cell(nb_cell, len(self.nb.cells) - 1)
        except DeadKernelError:
            raise RenderError(self._died(cell)) from None
        except CellTimeoutError:
            raise RenderError(f"{self._where(cell)} failed: no result after {self.timeout} s") from None
        self._count = nb_cell.execution_count
        return list(nb_cell.outputs)

    # ---- messages ---------------------------------------------------------------------
    def _where(self, cell, line: int | None = None) -> str:
        if cell is None:
            return "the renderer's own code"
        return f"cell {cell.label or 'unlabelled'} at {self.source}:{line or cell.line}"

    def _file_line(self, cell, line_in_code: int | None) -> int | None:
        if cell is None or line_in_code is None:
            return None
        return (getattr(cell, "code_line", 0) or cell.line + 1) + line_in_code - 1

    def failure(self, cell, outputs: list[dict]) -> str:
        """One line for a cell whose outputs hold an error: its label, the line of review.qmd that
        failed inside it (the cell's own frame of the traceback) and the error."""
        line = None
        for out in outputs:
            if out.get("output_type") == "error":
                line = traceback_line(out.get("traceback") or [], self._count)
                break
        # a SyntaxError names the kernel's file for the cell, which means nothing here
        err = re.sub(r" \(\d+\.py, line \d+\)$", "", first_error(outputs) or "")
        return f"{self._where(cell, self._file_line(cell, line))} failed: {err}"

    def _died(self, cell) -> str:
        line = None
        if self._fault_log:
            try:
                line = fault_line(Path(self._fault_log).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                pass
        how = "the Python kernel died"
        code = self._exit_status()
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            how += f" ({name}" + (", perhaps for want of memory" if -code == signal.SIGKILL else "") + ")"
        elif code is not None:
            how += f" (exit code {code})"
        if line is None and cell is not None:
            how += "; it left no trace of the line"
        return f"{self._where(cell, self._file_line(cell, line))} failed: {how}"

    def _exit_status(self) -> int | None:
        process = getattr(getattr(getattr(self.client, "km", None), "provisioner", None), "process", None)
        try:
            return process.wait(timeout=5) if process is not None else None
        except Exception:  # the exit status only adds detail to the message
            return None


def first_error(outputs: list[dict]) -> str | None:
    for out in outputs:
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip().splitlines()
            return f"{out.get('ename', 'Error')}: {value[0] if value else ''}".rstrip(": ")
    return None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def traceback_line(traceback: list[str], count: int | None) -> int | None:
    """The line of the running cell in IPython's traceback ("Cell In[5], line 3"): the cell's own
    frame, not one of a function an earlier cell defined."""
    number = str(count) if count is not None else r"\d+"
    pattern = re.compile(rf"Cell In\[{number}\], line (\d+)")
    for part in traceback:
        m = pattern.search(_ANSI.sub("", part))
        if m:
            return int(m.group(1))
    return None


def fault_line(log: str) -> int | None:
    """The line of the running cell in a faulthandler dump: the top-level frame of a cell file."""
    for m in re.finditer(r'File "[^"]*ipykernel_\d+[/\\][^"]*", line (\d+) in <module>', log):
        return int(m.group(1))
    return None
