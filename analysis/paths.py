"""Where the project's files are. Functions take a root so tests can use a temporary copy."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ReviewError

MARKERS = ("review.qmd", "_quarto.yml")


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder at or above `start` (default: REVIEW_ROOT or the cwd) holding review.qmd."""
    here = Path(start or os.environ.get("REVIEW_ROOT") or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if all((folder / m).exists() for m in MARKERS):
            return folder
    raise ReviewError(f"{here}: no review.qmd and _quarto.yml here or above; run inside a review project")


def extraction_dir(root: Path) -> Path:
    return Path(root) / "extraction"


def output_dir(root: Path) -> Path:
    return Path(root) / "_output"
