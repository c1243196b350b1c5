"""Write a figure as SVG and 300-dpi PNG (or PDF) with the same bytes on every run."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

from ..files import atomic_write
from .style import SVG_HASHSALT

# Dropping these keys removes the date and version stamps that would differ between runs.
SVG_METADATA = {"Date": None, "Creator": None}
PNG_METADATA = {"Software": None}


PDF_METADATA = {"CreationDate": None, "Creator": None, "Producer": None}
METADATA = {"svg": SVG_METADATA, "png": PNG_METADATA, "pdf": PDF_METADATA}


FORMATS_ENV = "REVIEW_FIGURE_FORMATS"
RENDER_FORMATS = ("svg", "png")  # the HTML's and the Typst PDF's (as under Quarto), the DOCX's


def formats_wanted() -> tuple[str, ...]:
    """The figure formats the render in progress uses: the built-in renderer names them in the
    kernel's environment (a render without DOCX needs no PNG); both otherwise, as under Quarto."""
    named = [f.strip() for f in os.environ.get(FORMATS_ENV, "").split(",") if f.strip() in RENDER_FORMATS]
    return tuple(f for f in RENDER_FORMATS if f in named) or RENDER_FORMATS


def save_figure(fig, stem: str | os.PathLike, *, dpi: int = 300,
                formats: tuple[str, ...] = ("svg", "png")) -> list[Path]:
    """Save `fig` to `stem`.svg and `stem`.png (and `stem`.pdf when `formats` names it, for
    use outside the review); returns the paths in the order of `formats`.

    A partly written file never replaces a good one: each is written beside its
    target and moved into place.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT}):
        for fmt in formats:
            path = stem.with_name(f"{stem.name}.{fmt}")
            extra = {"dpi": dpi} if fmt == "png" else {}
            atomic_write(path, lambda p, fmt=fmt, extra=extra: fig.savefig(p, format=fmt, metadata=METADATA[fmt], **extra))
            paths.append(path)
    return paths
