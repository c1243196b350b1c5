"""One look for every figure, and the settings that make output byte-identical.

Applied when `analysis.figures` is imported, so a figure shown inline in a
Jupyter kernel is drawn with the same fonts, sizes and hash salt as a saved one.
"""

from __future__ import annotations

import os

import matplotlib

# Every text of a figure is at least this size as printed (figures are drawn at the size
# they are printed); titles are a point larger.
FONT_SIZE = 7.0
TITLE_SIZE = 8.0
# Width of the PDF's text block, which every figure is drawn to fill at most, so no scaling
# shrinks its text: A4 (8.27 in) less the 1.25 in side margins of the Typst page (pandoc's
# and Quarto's Typst templates; _quarto.yml sets papersize a4 and no margin). The HTML
# column (analysis/render/style.css, 43.5 rem = 7.25 in at 16 px) is wider.
TEXT_WIDTH_IN = 8.27 - 2 * 1.25
TEXT_HEIGHT_IN = 11.69 - 2 * 1.25  # the same margins top and bottom
# Height of one forest-plot row, in inches: about twice the text height at FONT_SIZE,
# so adjacent rows never touch.
ROW_HEIGHT_IN = 0.19

INK = "#1a1a1a"
MUTED = "#6b6b6b"
STUDY_COLOUR = "#2b4c7e"
POOLED_COLOUR = "#1a1a1a"
SUBGROUP_COLOUR = "#5b7fb5"
PI_COLOUR = "#b23a48"
GRID_COLOUR = "#d9d9d9"
ARM_COLOURS = {"active": "#2b4c7e", "control": "#c8702a"}

# Fixed salt: SVG element ids are hashes salted with this, otherwise random per run.
SVG_HASHSALT = "review-toolkit"

RC = {
    "font.family": "DejaVu Sans",
    "font.size": FONT_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "axes.labelsize": FONT_SIZE,
    "axes.linewidth": 0.6,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "lines.linewidth": 0.9,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.dpi": 300,
    "savefig.facecolor": "white",
    "savefig.bbox": None,
    "svg.hashsalt": SVG_HASHSALT,
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "path.simplify": False,
    "text.usetex": False,
    "mathtext.fontset": "dejavusans",
    "axes.unicode_minus": True,
    "legend.fontsize": FONT_SIZE,
    "legend.frameon": False,
}


def apply() -> None:
    """Set the shared rcParams and pin dates in SVG/PDF metadata."""
    matplotlib.rcParams.update(RC)
    # Matplotlib stamps SVG and PDF with the current date unless this is set;
    # an inline backend never sees our save_figure metadata, so pin it here too.
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
