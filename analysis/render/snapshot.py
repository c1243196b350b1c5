"""The render's numbers snapshot (`numbers.json` in the output folder), made from the render's own synthesis.

With the built-in renderer the snapshot is written by the document's Jupyter kernel before
its first cell runs (`in_kernel`): the synthesis made for the snapshot is kept, and the
document's own call of `synthesise` with the same sheets and plan gets that result back
instead of computing it a second time. With Quarto the kernel is Quarto's, so the
snapshot is computed once more in this process (`write`).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from ..errors import ReviewError


def _same_inputs(a: tuple, b: tuple) -> bool:
    (sheets_a, plan_a), (sheets_b, plan_b) = a, b
    if not (isinstance(sheets_b, dict) and set(sheets_a) == set(sheets_b) and plan_a == plan_b):
        return False
    for name, frame in sheets_a.items():
        other = sheets_b[name]
        if not (hasattr(other, "equals") and list(frame.columns) == list(other.columns) and frame.equals(other)):
            return False
    return True


def reuse_first_synthesis() -> None:
    """From now on in this process, `synthesise` called again with sheets and a plan equal to
    those of its first call returns that call's result.

    Only the first call is kept: it is the snapshot's, whose sheets nobody else holds, so
    they cannot be changed in place behind the comparison.
    """
    from ..review import synthesis

    original = getattr(synthesis.synthesise, "__wrapped__", synthesis.synthesise)
    first: list = []

    @functools.wraps(original)
    def synthesise(sheets, plan):
        if first and _same_inputs(first[0], (sheets, plan)):
            return first[1]
        result = original(sheets, plan)
        if not first:
            first[:] = [(sheets, plan), result]
        return result

    synthesis.synthesise = synthesise


def write(root, path) -> str | None:
    """Write the numbers of the project at `root` to `path`; the reason when there are none to write.

    A project without extraction sheets has no numbers and gets no snapshot (None, no message).
    """
    from ..living.numbers import dumps, has_sheets, project_numbers

    root = Path(root)
    if not has_sheets(root):
        return None
    try:
        numbers = project_numbers(root)
    except ReviewError as exc:
        return f"numbers not recorded: {exc}"
    Path(path).write_text(dumps(numbers), encoding="utf-8", newline="\n")
    return None


def in_kernel(root: str, path: str) -> None:
    """Run in the render's kernel before the first cell: the snapshot, then its synthesis kept for the
    document. Prints a JSON line {"problem": text or null, "errno": number or null} for the renderer
    to read; a fault of the environment (a full disk) comes back as its errno."""
    reuse_first_synthesis()
    try:
        print(json.dumps({"problem": write(root, path), "errno": None}))
    except OSError as exc:
        print(json.dumps({"problem": None, "errno": exc.errno}))


def kernel_code(root: Path, path: Path) -> str:
    return (f"import analysis.render.snapshot as __review_snapshot\n"
            f"__review_snapshot.in_kernel({str(root)!r}, {str(path)!r})\n"
            f"del __review_snapshot")


def read_problem(outputs: list[dict], path) -> str | None:
    """The problem reported by `in_kernel`, or the kernel's own error when it did not finish; an
    OSError naming `path` when writing it failed."""
    from .kernel import first_error

    err = first_error(outputs)
    if err:
        return f"numbers not recorded: {err}"
    text = "".join(o.get("text", "") for o in outputs
                   if o.get("output_type") == "stream" and o.get("name") == "stdout").strip()
    try:
        answer = json.loads(text.splitlines()[-1])
        problem, code = answer["problem"], answer["errno"]
    except (ValueError, IndexError, KeyError, TypeError):
        return f"numbers not recorded: the kernel answered {text[:80]!r}"
    if code is not None:
        raise OSError(code, os.strerror(code), str(path))
    return problem
