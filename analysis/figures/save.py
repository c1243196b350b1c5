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


def save_figure(fig, stem: str | os.PathLike, *, dpi: int = 300) -> list[Path]:
    """Save `fig` to `stem`.svg and `stem`.png; returns both paths.

    A partly written file never replaces a good one: each is written beside its
    target and moved into place.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    svg = stem.with_name(stem.name + ".svg")
    png = stem.with_name(stem.name + ".png")
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT}):
        atomic_write(svg, lambda p: fig.savefig(p, format="svg", metadata=SVG_METADATA))
        atomic_write(png, lambda p: fig.savefig(p, format="png", dpi=dpi, metadata=PNG_METADATA))
    return [svg, png]
