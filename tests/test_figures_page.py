"""Figures as printed: rendered into a PDF with the review's own page setup, their text is
measured on the page (word boxes from pdftotext), not read from matplotlib.

Every figure the package draws is at least FONT_SIZE (7 pt) on the page, lies inside the
text block, and the text block is as wide as style.TEXT_WIDTH_IN says.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from html import unescape
from pathlib import Path

import matplotlib
import pytest
import yaml
from matplotlib.ft2font import FT2Font

from analysis.figures import style
from analysis.render import render_project

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# Words of body text, long enough to fill several full lines of the text block.
BODY = ("This paragraph stands in for the running text of a review, so that the test can see "
        "where the lines of the text block begin and end on the printed page. ") * 6

FIGURES = {
    "fig-forest": ("T.forest_bcg()", "Forest plot of the vaccine trials."),
    "fig-forest-groups": ("T.forest_bcg_subgroups()", "Forest plot by allocation."),
    "fig-forest-arms": ("forest_for_outcome(F._outcome())[0]", "Forest plot with arm columns."),
    "fig-funnel": ("T.funnel_bcg()", "Funnel plot."),
    "fig-prisma": ("T.prisma_full()", "PRISMA flow of a new review."),
    "fig-prisma-updated": ("prisma_flow(pd.concat([P.DB_ONLY, PREV, P.FULL[P.FULL['data'].str.startswith('other')]]))[0]",
                           "PRISMA flow of an updated review."),
    "fig-rob": ("T.rob_traffic()", "Risk of bias by study."),
    "fig-rob-bars": ("T.rob_bars()", "Risk of bias by domain."),
    "fig-loo": ("T.loo_bcg()", "Leave-one-out analysis."),
    "fig-safety": ("T.safety()", "Adverse events."),
}


def _qmd() -> str:
    # Each figure is placed as a PDF the cell saves: in it the figure's text stays text, which
    # pdftotext can measure. The review's own figures reach the PDF as SVG with their text drawn
    # as outlines (Quarto's typst format takes SVG), at the same size (test below).
    cells = [textwrap.dedent(f"""\
        ```{{python}}
        #| label: cell-{label}
        #| output: asis
        place({code}, {label!r}, {cap!r})
        ```
        """) for label, (code, cap) in FIGURES.items()]
    setup = textwrap.dedent(f"""\
        ```{{python}}
        import sys
        sys.path.insert(0, {str(HERE)!r})
        import pandas as pd
        import matplotlib.pyplot as plt
        import test_figures_images as T
        import test_figures_forest as F
        import test_figures_prisma as P
        from analysis.figures import forest_for_outcome, forest_pages, prisma_flow, save_figure
        PREV = pd.DataFrame([("previous_studies", "Previous", 8, "reported")], columns=P.FULL.columns)

        def place(fig, label, cap=None):
            fig = fig[0] if isinstance(fig, tuple) else fig
            save_figure(fig, f"_figures/{{label}}", formats=("pdf",))
            plt.close(fig)
            print(f"![{{cap}}](_figures/{{label}}.pdf){{{{#{{label}}}}}}\\n" if cap else f"![](_figures/{{label}}.pdf)\\n")
        ```
        """)
    # a forest too long for one page, as its page-sized figures
    pages = textwrap.dedent("""\
        ```{python}
        #| output: asis
        for n, (fig, _) in enumerate(forest_pages(F.synthetic(70), title="Seventy studies")):
            place(fig, f"seventy-{n}")
        import test_figures_sensitivity as S
        from analysis.figures import leave_one_out_pages
        for n, (fig, _) in enumerate(leave_one_out_pages(*S._long(100), title="Hundred studies")):
            place(fig, f"hundred-{n}")
        ```
        """)
    return "---\ntitle: Figures as printed\n---\n\n" + setup + "\n" + BODY + "\n\n" + "\n".join(cells) + "\n" + pages


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    root = tmp_path_factory.mktemp("figures-page")
    quarto = yaml.safe_load((REPO / "_quarto.yml").read_text(encoding="utf-8"))
    for key in ("bibliography", "csl"):
        quarto.pop(key, None)  # no citations here; the page setup is the review's
    quarto["format"]["typst"]["toc"] = False  # only figures, captions and one paragraph on the pages
    # the Typst rules the review's PDF is shaped by, as _quarto.yml names them
    includes = quarto["format"]["typst"].get("include-in-header") or []
    for name in [includes] if isinstance(includes, str) else includes:
        name = name.get("file") if isinstance(name, dict) else name
        if name:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes((REPO / name).read_bytes())
    (root / "_quarto.yml").write_text(yaml.safe_dump(quarto), encoding="utf-8")
    (root / "review.qmd").write_text(_qmd(), encoding="utf-8")
    render_project(root, to="pdf", engine="builtin")
    xml = subprocess.run(["pdftotext", "-bbox", str(root / "_output" / "review.pdf"), "-"],
                         capture_output=True, text=True, check=True).stdout
    pages = []
    for page in re.findall(r"<page (.*?)</page>", xml, re.S):
        height = float(re.search(r'height="([\d.]+)"', page).group(1))
        words = [(float(a), float(b), float(c), float(d), unescape(w)) for a, b, c, d, w in
                 re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page)]
        pages.append((height, words))
    return root, pages


def _em_height() -> float:
    """Height of a word box per point of font size for DejaVu Sans (ascent + descent), as
    pdftotext reports it from the embedded font."""
    font = FT2Font(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"))
    return (font.ascender - font.descender) / font.units_per_EM


def _size(word) -> float:
    x0, y0, x1, y1, text = word
    w, h = x1 - x0, y1 - y0
    # a rotated word (the PRISMA section names) is taller than wide
    return (w if h > w and len(text) >= 3 else h) / _em_height()


def _figure_words(pages):
    body = set(BODY.split()) | {"Figures", "as", "printed", "Figure"}
    captions = {w for _, cap in FIGURES.values() for w in cap.split()}
    margin = _text_block(pages)[0]
    out = []
    for height, words in pages:
        for w in words:
            if w[4] in body or w[4] in captions or re.fullmatch(r"\d+:", w[4]):
                continue
            if w[1] > height - margin and w[4].isdigit():
                continue  # the page number, in the bottom margin
            out.append((height, w))
    return out


def _text_block(pages) -> tuple[float, float]:
    """Left edge of the text block and the right edge of its longest line of running text."""
    body = [w for _, words in pages for w in words if w[4] in set(BODY.split())]
    return min(w[0] for w in body), max(w[2] for w in body)


def test_figure_text_is_at_least_7_pt_on_the_page(printed):
    root, pages = printed
    words = _figure_words(pages)
    sizes = [_size(w) for _, w in words]
    # the figures' text is in the PDF as text (vector figures), from every figure
    texts = {w[4] for _, w in words}
    for needle in ("Aronson,", "Identification", "Heterogeneity:", "Omitting", "Headache", "Judgement",
                   "Standard", "(1", "46.40%", "Author069"):
        assert any(t.startswith(needle) for t in texts), needle
    assert len(sizes) > 500
    small = sorted((round(s, 2), w[4]) for s, (_, w) in zip(sizes, words) if s < style.FONT_SIZE - 0.05)
    assert small == [], small[:10]
    # drawn at print size: the body of the figures is exactly FONT_SIZE, titles TITLE_SIZE
    assert min(sizes) == pytest.approx(style.FONT_SIZE, abs=0.05)
    assert max(sizes) == pytest.approx(style.TITLE_SIZE, abs=0.1)


def test_figures_lie_in_the_text_block_whose_width_the_style_states(printed):
    root, pages = printed
    left, longest = _text_block(pages)
    right = left + style.TEXT_WIDTH_IN * 72
    # full lines of running text end within a word of the right edge the style assumes
    assert right - 40 < longest <= right + 0.5
    # the page templates use the same margin on every side
    for height, w in _figure_words(pages):
        assert left - 0.5 <= w[0] and w[2] <= right + 0.5, w
        assert left - 1 <= w[1] and w[3] <= height - left + 1, w  # no figure runs off its page


def test_long_forest_is_printed_over_several_pages_with_its_header_on_each(printed):
    root, pages = printed
    with_studies = [words for _, words in pages if any(w[4].startswith("Author0") for w in words)]
    assert len(with_studies) >= 2
    for words in with_studies:
        assert any(w[4] == "Study" for w in words) and any(w[4] == "Weight" for w in words)
    last = " ".join(w[4] for w in with_studies[-1])
    assert "Total (95% CI)" in last and "Heterogeneity:" in last
    assert "Heterogeneity:" not in " ".join(w[4] for w in with_studies[0])


def test_long_leave_one_out_is_printed_over_pages_with_every_study(printed):
    root, pages = printed
    texts = [" ".join(w[4] for w in words) for _, words in pages]
    hundred = [text for text in texts if "Hundred studies" in text]
    assert [f"Hundred studies ({n} of 3)" in text for n, text in enumerate(hundred, 1)] == [True] * 3
    for i in range(100):
        assert sum(f"Trial {i:03d}" in text for text in hundred) == 1, i
    assert "All studies (k = 100)" in hundred[-1] and "All studies" not in hundred[0]


def test_the_svg_the_review_prints_has_the_size_of_the_measured_pdf(tmp_path):
    """The review's figures reach the PDF as SVG; these pages measure PDF copies of the same
    figures, which are exactly as large, so what is measured here is what the review prints."""
    import matplotlib.pyplot as plt
    import test_figures_images as T

    from analysis.figures import save_figure

    fig = T.forest_bcg()
    svg, pdf = save_figure(fig, tmp_path / "f", formats=("svg", "pdf"))
    plt.close(fig)
    head = svg.read_text(encoding="utf-8")[:2000]
    svg_size = [float(re.search(rf'{k}="([\d.]+)pt"', head).group(1)) for k in ("width", "height")]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pdf_size = [float(v) for v in re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()]
    assert svg_size == pytest.approx(pdf_size, abs=0.01)
    assert svg_size[0] <= style.TEXT_WIDTH_IN * 72 + 0.01
