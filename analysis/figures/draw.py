"""Draw and save the figure records of analysis.review.displays, one or more pages each.

`draw(record)` returns the (Figure, layout) pairs of one record: a forest, leave-one-out or
cumulative plot continues over page-sized figures when it has more rows than fit a page
(forest_pages_for_outcome, leave_one_out_pages, cumulative_pages); `save_all` saves the
records in forked worker processes;
`save(record, folder)` writes each page as SVG (the HTML's and the Typst PDF's figure) and
PNG (the DOCX's), or those of them the render uses, and returns, per page, the SVG path, its
Quarto label and its alt text, which review.qmd prints as `![caption](path){#fig-label fig-alt="..."}`.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .forest import forest_pages, forest_pages_for_outcome
from .funnel import funnel_plot
from .save import formats_wanted, save_figure
from .sensitivity_plots import cumulative_pages, leave_one_out_pages


def draw(record) -> list:
    """The (Figure, layout) pages of one figure record."""
    kind, a = record.kind, record.analysis
    if kind == "forest":
        return forest_pages_for_outcome(a)
    if kind == "subgroup_forest":
        return forest_pages(None, subgroups=record.result, title=f"{a.label}, by {record.extra.get('by_label') or record.extra.get('by', '')}",
                            higher_is_better=bool(a.higher_is_better))
    if kind == "leave_one_out":
        return leave_one_out_pages(record.result, a.result, measure=a.measure, title=a.label)
    if kind == "cumulative":
        return cumulative_pages(record.result, a.result, measure=a.measure, title=a.label)
    if kind == "funnel":
        return [funnel_plot(a.result, funnel=record.extra.get("funnel"), trimfill=record.extra.get("trimfill"),
                            title=a.label)]
    if kind == "harms_forest":
        return forest_pages(record.result, title=str(record.subject).capitalize(),
                            higher_is_better=False, show_pi=False)
    raise ValueError(f"not a figure record: {kind}")


def save(record, folder: str | os.PathLike) -> list[dict]:
    """Draw one record and write its pages under `folder`; one dict per page with `path` (the
    SVG, relative as `folder` is given), `label` (the record's label, then label-2, ...) and `alt`."""
    folder = Path(folder)
    pages = draw(record)
    out = []
    for n, (fig, layout) in enumerate(pages, 1):
        label = record.label if n == 1 else f"{record.label}-{n}"
        stem = folder / label
        save_figure(fig, stem, formats=formats_wanted())
        plt.close(fig)
        out.append({"path": (folder / f"{label}.svg").as_posix(), "label": label,
                    "alt": str(getattr(layout, "alt", "") or ""), "page": n, "pages": len(pages)})
    return out


JOBS_ENV = "REVIEW_FIGURE_JOBS"
_PENDING: tuple | None = None  # the records save_all's worker processes draw, inherited by fork


def figure_jobs(n_records: int) -> int:
    """How many processes save_all uses: REVIEW_FIGURE_JOBS when set, else the CPUs this process
    may run on; never more than there are records, and 1 where processes cannot be forked."""
    try:
        jobs = int(os.environ.get(JOBS_ENV, "0"))
    except ValueError:
        jobs = 0
    if jobs <= 0:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(jobs, n_records))


def _save_nth(n: int) -> list[dict]:
    records, folder = _PENDING
    return save(records[n], folder)


def save_all(records, folder: str | os.PathLike) -> list[list[dict]]:
    """`save` for each record, in their order, the records shared out among `figure_jobs`
    forked processes: drawing and writing the figures is most of a render's time, and a
    figure's files depend only on its record, so they are the same bytes whichever process
    wrote them."""
    global _PENDING
    records = list(records)
    jobs = figure_jobs(len(records))
    if jobs == 1:
        return [save(r, folder) for r in records]
    _PENDING = (records, folder)
    try:
        # an executor, not a Pool: a worker that dies fails the call instead of hanging it
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_save_nth, range(len(records))))
    finally:
        _PENDING = None
