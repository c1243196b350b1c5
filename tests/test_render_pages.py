"""How tables and captions sit on the PDF's pages, from the project's shared Typst file
(style/review.typ), and landscape pages for wide tables in PDF and DOCX.

Each test renders a small project with the built-in renderer and reads the PDF back with
poppler (page texts, word boxes, page sizes); the same document without the rule under test
shows the defect, so each test can fail.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from analysis.errors import RenderError
from analysis.render import render_project
from analysis.review.tables import SHORT_WORD, pipe_table

REPO = Path(__file__).resolve().parents[1]
STYLE = (REPO / "style/review.typ").read_text(encoding="utf-8")
QUARTO = ("project:\n  output-dir: _output\nformat:\n  typst:\n    citeproc: true\n"
          "    include-in-header: style/review.typ\n  docx:\n    toc: false\n")
FILLER = ("Filler sentence that takes up room on the page so that the table after it starts "
          "somewhere else on the page each time. ")


def project(root: Path, body: str, style: str = STYLE) -> Path:
    root.mkdir()
    (root / "review.qmd").write_text("---\ntitle: Pages\n---\n\n" + body, encoding="utf-8")
    (root / "_quarto.yml").write_text(QUARTO, encoding="utf-8")
    (root / "style").mkdir()
    (root / "style/review.typ").write_text(style, encoding="utf-8")
    return root


def pdf_pages(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)]


# --- a caption above its table stays on the table's page -------------------------------------

def tables_after_filler() -> str:
    parts = []
    for i in range(1, 25):
        # tall rows: one does not fit in the lines left under a caption at a page foot
        rows = [[f"T{i:02d} row {r}", "a cell whose text runs over many lines in this narrow column " * 4]
                for r in range(1, 3)]
        parts += [FILLER * (i % 9 + 1), "", pipe_table(["Name", "Text"], rows, widths=[20, 10]),
                  f": Caption of table {i:02d} {{#tbl-t{i:02d}}}", ""]
    return "\n".join(parts)


def stranded(pdf: Path) -> list[int]:
    """Tables whose caption is on another page than their first row."""
    texts = pdf_pages(pdf)
    where = lambda needle: next(p for p, t in enumerate(texts) if needle in t)
    return [i for i in range(1, 25) if where(f"Caption of table {i:02d}") != where(f"T{i:02d} row 1")]


def test_a_caption_stays_on_the_page_of_its_table(tmp_path):
    root = project(tmp_path / "with", tables_after_filler())
    render_project(root, to="pdf", engine="builtin")
    assert stranded(root / "_output/review.pdf") == []
    # without the rule some of the same captions are left at a page foot
    assert "sticky: true" in STYLE
    bare = project(tmp_path / "without", tables_after_filler(), STYLE.replace("sticky: true", "sticky: false"))
    render_project(bare, to="pdf", engine="builtin")
    assert stranded(bare / "_output/review.pdf") != []


# --- captions: centred on one line, from the left edge when they wrap ------------------------

def caption_lines(pdf: Path) -> dict[str, float]:
    """Left edge (pt) of the first line of each caption and of the body text, from word boxes."""
    html = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    lines = {}
    for block in re.findall(r"<line xMin=\"([\d.]+)\"[^>]*>(.*?)</line>", html, flags=re.S):
        x, words = float(block[0]), re.findall(r">([^<]+)</word>", block[1])
        text = " ".join(words)
        for key in ("Short:", "Wrapped:", "Body"):
            if text.startswith(("Table 1: " + key, "Table 2: " + key, key)) and key not in lines:
                lines[key] = x
    return lines


def test_a_wrapped_caption_reads_from_the_left_and_a_short_one_is_centred(tmp_path):
    table = pipe_table(["A", "B"], [["1", "2"]])
    body = ("Body text starts at the left margin.\n\n" + table + ": Short: one line {#tbl-a}\n\n" + table +
            ": Wrapped: " + "a caption long enough to run over more than one line of the page " * 3 + "{#tbl-b}\n")
    root = project(tmp_path / "p", body)
    render_project(root, to="pdf", engine="builtin")
    x = caption_lines(root / "_output/review.pdf")
    assert abs(x["Wrapped:"] - x["Body"]) < 1.0
    assert x["Short:"] > x["Body"] + 100


# --- short words in tables are never hyphenated -----------------------------------------------

def hyphenated(pdf: Path) -> set[str]:
    """The first parts of words broken at a line end (a soft hyphen or a hyphen ends the line)."""
    text = "\n".join(pdf_pages(pdf))
    return {m.group(1) for m in re.finditer(r"(\w+)\u00ad", text)} | {m.group(1) for m in re.finditer(r"(\w+)-\s*$", text, re.M)}


def test_short_words_in_a_table_are_whole_and_long_ones_may_break(tmp_path):
    words = "single session subacute chronic sessions design therapy abstract affected"
    long_word = "contralesional"
    headers = [f"Col {i}" for i in range(10)]
    rows = [[words if j % 2 else f"{long_word} {long_word}" for j in range(10)] for _ in range(3)]
    root = project(tmp_path / "p", pipe_table(headers, rows) + ": Wide table {#tbl-w}\n")
    render_project(root, to="pdf", engine="builtin")
    broken = hyphenated(root / "_output/review.pdf")
    short = set(words.split())
    assert not {w for w in broken if any(s.startswith(w) and s != w for s in short)}
    # the long word does not fit its column whole and is hyphenated rather than overflowing
    assert any(long_word.startswith(w) and w != long_word for w in broken)
    assert all(len(w) <= SHORT_WORD for w in short)
    # without the rule, Typst hyphenates the short words too
    bare = project(tmp_path / "bare", pipe_table(headers, rows) + ": Wide table {#tbl-w}\n",
                   STYLE.replace("hyphenate: false", "hyphenate: true"))
    render_project(bare, to="pdf", engine="builtin")
    assert {w for w in hyphenated(bare / "_output/review.pdf") if any(s.startswith(w) and s != w for s in short)}


# --- landscape pages ---------------------------------------------------------------------------

LANDSCAPE = """Portrait text before.

::: {{.landscape width="29.7cm" height="21cm"}}

{table}: A wide table {{#tbl-wide}}

:::

Portrait text after.
"""


def test_a_landscape_div_turns_its_pages_in_pdf_and_docx(tmp_path):
    table = pipe_table(["Name", "Text"], [["row", "wide table on its own page"]])
    root = project(tmp_path / "p", LANDSCAPE.format(table=table))
    render_project(root, to="all", engine="builtin")
    out = root / "_output"
    texts, sizes = pdf_pages(out / "review.pdf"), page_sizes(out / "review.pdf")
    turned = [i for i, (w, h) in enumerate(sizes) if w > h]
    assert len(sizes) == 3 and turned == [1]
    assert "A wide table" in texts[1] and "Portrait text after" in texts[2]
    xml = zipfile.ZipFile(out / "review.docx").read("word/document.xml").decode("utf-8")
    # a section break before, a landscape A4 section (in twips) after the table
    assert xml.count("<w:sectPr") >= 3
    assert re.search(r'<w:pgSz w:h="11906" w:w="16838" w:orient="landscape"\s*/>', xml)
    assert xml.index("A wide table") < xml.index('w:orient="landscape"')
    html = (out / "review.html").read_text(encoding="utf-8")
    assert '<div class="landscape"' in html and "A wide table" in html


def test_a_landscape_div_without_its_page_size_is_refused(tmp_path):
    root = project(tmp_path / "p", "Text.\n\n::: {.landscape}\n\nWide.\n\n:::\n")
    with pytest.raises(RenderError, match=r'review\.qmd:7: a `\.landscape` div needs the page\'s width and height'):
        render_project(root, to="pdf", engine="builtin")


def test_new_reviews_carry_the_same_page_rules():
    template = REPO / "analysis/cli/template"
    assert (template / "style/review.typ").read_text(encoding="utf-8") == STYLE
    assert "include-in-header: style/review.typ" in (template / "_quarto.yml").read_text(encoding="utf-8")


# --- HTML: tables and references at a desktop and a phone width ------------------------------

LAYOUT_JS = """JSON.stringify((() => {
  const doc = document.documentElement;
  return {page: [doc.scrollWidth, doc.clientWidth], tables: [...document.querySelectorAll('.table-scroll')].map(w => {
    const cap = w.previousElementSibling, r = cap.getBoundingClientRect();
    return {caption: cap.className, text: cap.innerText, right: r.right, scroll: w.scrollWidth, client: w.clientWidth,
            inside: !!w.querySelector('caption')};
  })};
})())"""


def html_layout(html: Path, tmp: Path, width: int) -> dict:
    from chromium import evaluate_at_width

    return evaluate_at_width(html, tmp, width, LAYOUT_JS)


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and not __import__("os").environ.get("CI"),
                    reason="chromium is not installed")
def test_html_tables_keep_their_captions_in_view_and_the_page_does_not_scroll_sideways(tmp_path):
    words = "single session subacute chronic therapy"
    wide = pipe_table([f"Column {i}" for i in range(10)], [[words] * 10 for _ in range(3)])
    narrow = pipe_table(["Name", "n"], [["trial", "12"]])
    body = ("A reference with a long address [@long2020].\n\n" + wide + ": Ten columns of short words, with a "
            "caption long enough to wrap at the width of a phone {#tbl-wide}\n\n" + narrow + ": Two columns {#tbl-narrow}\n\n"
            "# References {.unnumbered}\n\n::: {#refs}\n:::\n")
    root = project(tmp_path / "p", body)
    (root / "references.bib").write_text(
        "@misc{long2020, author={Long, Lee}, title={A record}, year={2020}, "
        "doi={10.1016/j.example.2020.0123456789.abcdefghijklmnopqrstuvwxyz}}\n", encoding="utf-8")
    (root / "_quarto.yml").write_text(QUARTO + "bibliography: references.bib\n", encoding="utf-8")
    render_project(root, to="html", engine="builtin")
    html = root / "_output/review.html"
    desk, phone = html_layout(html, tmp_path, 1280), html_layout(html, tmp_path, 390)
    for layout in (desk, phone):
        # the page itself never scrolls sideways: the long DOI wraps, a wide table scrolls in its box
        assert layout["page"][0] == layout["page"][1]
        assert [t["caption"] for t in layout["tables"]] == ["table-caption", "table-caption"]
        assert not any(t["inside"] for t in layout["tables"])
        # every caption is read whole at the page's width, above the table's scroll box
        assert all(t["right"] <= layout["page"][1] for t in layout["tables"])
        assert layout["tables"][0]["text"].startswith("Table\u00a01: Ten columns")
    # at a desktop width the ten columns fit without scrolling; at a phone's they scroll in their box
    assert desk["tables"][0]["scroll"] == desk["tables"][0]["client"]
    assert phone["tables"][0]["scroll"] > phone["tables"][0]["client"]
