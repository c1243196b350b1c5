"""Write a figure as SVG and 300-dpi PNG with the same bytes on every run."""

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
ALL_FORMATS = ("svg", "pdf", "png")  # the HTML's, the Typst PDF's and the DOCX's


def formats_wanted() -> tuple[str, ...]:
    """The figure formats the render in progress uses: the built-in renderer names them in the
    kernel's environment (a PDF-only render needs no SVG or PNG); all three otherwise, as under
    Quarto. Each page of a large forest costs about a second per format, most of it the PDF's."""
    named = [f.strip() for f in os.environ.get(FORMATS_ENV, "").split(",") if f.strip() in ALL_FORMATS]
    return tuple(f for f in ALL_FORMATS if f in named) or ALL_FORMATS


def save_figure(fig, stem: str | os.PathLike, *, dpi: int = 300,
                formats: tuple[str, ...] = ("svg", "png")) -> list[Path]:
    """Save `fig` to `stem`.svg and `stem`.png (and `stem`.pdf when `formats` names it, the
    vector figure of a Typst PDF); returns the paths in the order of `formats`.

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
