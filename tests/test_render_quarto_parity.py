"""What makes the review render the same under Quarto as under the built-in renderer.

CI has no Quarto, so the project's options are asserted against what Quarto's source and
documentation say they do (references in analysis/render/SUPPORTED.md), and the built-in
renderer is shown to follow the same options and files.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from analysis.errors import RenderError
from analysis.render import render_project
from analysis.render.builtin import typst_numbering

REPO = Path(__file__).resolve().parents[1]


def project_yml() -> dict:
    return yaml.safe_load((REPO / "_quarto.yml").read_text(encoding="utf-8"))


def test_quarto_yml_keys_for_parity():
    cfg = project_yml()
    # a plain `quarto render` renders every .md/.qmd of a default project; only the review here
    assert cfg["project"]["render"] == ["review.qmd"]
    typst, html = cfg["format"]["typst"], cfg["format"]["html"]
    # Quarto's typst default is Typst's own citations (numbered, its own heading): pandoc's instead
    assert typst["citeproc"] is True
    # Quarto's typst default with number-sections is 1.1.a
    assert typst["section-numbering"] == "1.1.1"
    # MathJax (Quarto's HTML default) comes from a CDN; MathML is written by pandoc
    assert html["html-math-method"] == "mathml"
    # the sidebar contents, citation pop-ups, and links to the other outputs and the sheets
    assert html["toc-location"] == "left" and html["citations-hover"] is True
    assert html["format-links"] is False  # Quarto's own would be titled "Typst" and "MS Word"
    out = REPO / cfg["project"]["output-dir"]
    links = {l["text"]: l["href"] for l in html["other-links"]}
    assert links == {"PDF": "review.pdf", "Word (DOCX)": "review.docx", "Extraction sheets (CSV)": "../extraction/"}
    assert (out / links["Extraction sheets (CSV)"]).resolve() == REPO / "extraction"  # live: a path, not read
    header = REPO / typst["include-in-header"]
    assert "#show figure: set block(breakable: true)" in header.read_text(encoding="utf-8")


def test_gitignore_holds_what_quarto_appends():
    # quarto-cli src/project/project-gitignore.ts: kQuartoIgnore, appended when a line is missing
    lines = [line.strip() for line in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()]
    assert "/.quarto/" in lines and "**/*.quarto_ipynb" in lines


@pytest.mark.parametrize("pattern, numbers", [
    ("1.1.1", (4, 10, 1)), ("1.1.a", (4, 10, 1)), ("1.1.a", (4, 10, 27)), ("1.1.a", (4, 10, 1, 2)),
    ("1.1.a", (4,)), ("I.i", (14, 9)), ("(1.a)", (3,)), ("(1.a)", (3, 2, 2)), ("A.1)", (2, 3, 4)),
    ("1.1.", (2, 3)), ("i", (3999,)),
])
def test_section_numbers_are_typsts_own(tmp_path, pattern, numbers):
    """The numbers the built-in renderer writes are the ones Typst's numbering() gives."""
    import typst

    src = tmp_path / "n.typ"
    src.write_text(f'#numbering("{pattern}", {", ".join(map(str, numbers))})\n', encoding="utf-8")
    typst.compile(str(src), output=str(tmp_path / "n.pdf"))
    shown = subprocess.run(["pdftotext", str(tmp_path / "n.pdf"), "-"], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert typst_numbering(pattern, list(numbers)) == shown


ROWS = 90
LONG_QMD = """\
---
title: Long table
bibliography: references.bib
number-sections: true
---

# Introduction {#sec-intro}

As @alpha2019 found, and others agreed [@beta2021]. See @sec-deep.

## Methods {#sec-methods}

### Deep heading {#sec-deep}

| Row | Value |
|:----|------:|
{rows}

: A table longer than one page {{#tbl-long}}

# References {{.unnumbered}}

::: {{#refs}}
:::
"""
BIB = """\
@article{alpha2019, author={Alpha, Ann and Other, Otto}, title={First}, journal={J}, year={2019}}
@article{beta2021, author={Beta, Bob}, title={Second}, journal={J}, year={2021}}
"""
TYPST_OPTS = "format:\n  typst:\n    citeproc: true\n    section-numbering: 1.1.1\n"


def long_project(root: Path, quarto: str) -> Path:
    root.mkdir()
    rows = "\n".join(f"| Row {i:03d} | {i} |" for i in range(1, ROWS + 1))
    (root / "review.qmd").write_text(LONG_QMD.replace("{rows}", rows).replace("{{", "{").replace("}}", "}"),
                                     encoding="utf-8")
    (root / "references.bib").write_text(BIB, encoding="utf-8")
    (root / "_quarto.yml").write_text("project:\n  output-dir: _output\n" + quarto, encoding="utf-8")
    (root / "style").mkdir()
    (root / "style/review.typ").write_text((REPO / "style/review.typ").read_text(encoding="utf-8"),
                                           encoding="utf-8")
    return root


def pages(pdf: Path) -> list[str]:
    n = int(next(l.split()[-1] for l in subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                                                          check=True).stdout.splitlines() if l.startswith("Pages:")))
    return [subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout for p in range(1, n + 1)]


def page_of(texts: list[str], needle: str) -> list[int]:
    return [i for i, t in enumerate(texts, 1) if needle in t]


def test_pdf_from_the_shared_typst_file(tmp_path):
    root = long_project(tmp_path / "p", TYPST_OPTS + "    include-in-header: style/review.typ\n")
    render_project(root, to="pdf", engine="builtin")
    texts = pages(root / "_output/review.pdf")
    # the table continues on the next page, its header repeated there, every row printed once
    first, last = page_of(texts, "Row 001"), page_of(texts, f"Row {ROWS:03d}")
    assert len(first) == 1 and len(last) == 1 and last[0] > first[0]
    assert all(len(page_of(texts, f"Row {i:03d}")) == 1 for i in range(1, ROWS + 1))
    assert all("Row Value" in " ".join(texts[p - 1].split()) for p in range(first[0], last[0] + 1))
    flat = " ".join(" ".join(texts).split())
    # author-date citations from pandoc's citeproc, one reference list under one heading
    assert "As Alpha and Other (2019) found, and others agreed (Beta 2021)." in flat
    assert flat.count("References") == 1 and "Bibliography" not in flat
    assert "Alpha, Ann, and Otto Other. 2019." in flat
    # 1.1.1 numbering, in the heading and in its cross-reference
    assert "1.1.1 Deep heading" in flat and "See Section 1.1.1." in flat


def test_without_the_shared_file_the_long_table_does_not_break(tmp_path):
    # the rule comes from the file _quarto.yml names, not from the renderer
    root = long_project(tmp_path / "p", TYPST_OPTS)
    render_project(root, to="pdf", engine="builtin")
    texts = pages(root / "_output/review.pdf")
    assert page_of(texts, "Row 001") == page_of(texts, f"Row {ROWS:03d}")


def test_default_typst_numbering_is_quartos(tmp_path):
    root = long_project(tmp_path / "p", "format:\n  typst:\n    citeproc: true\n")
    render_project(root, to="pdf", engine="builtin")
    flat = " ".join(" ".join(pages(root / "_output/review.pdf")).split())
    assert "1.1.a Deep heading" in flat and "See Section 1.1.a." in flat


@pytest.mark.parametrize("quarto, to, message", [
    ("format:\n  typst:\n    toc: true\n", "pdf",
     "_quarto.yml: format typst: set `citeproc: true`, so that Quarto formats citations with pandoc's citeproc "
     "as the built-in renderer does (Quarto's default for typst is Typst's own citation processing)"),
    ("format:\n  html:\n    citeproc: false\n", "html",
     "_quarto.yml: format html: `citeproc: false` is not supported; the built-in renderer formats citations "
     "with pandoc's citeproc"),
    ("format:\n  html:\n    html-math-method: mathjax\n", "html",
     "_quarto.yml: format html: html-math-method `mathjax` needs a script or images from the network; "
     "use plain or mathml"),
    ("format:\n  typst:\n    citeproc: true\n    section-numbering: 1.α\n", "pdf",
     "_quarto.yml: section-numbering '1.α': the built-in renderer writes the counting symbols 1, a, A, i and I "
     "(with any punctuation between them)"),
    ("format:\n  typst:\n    citeproc: true\n    include-in-header: style/missing.typ\n", "pdf",
     "_quarto.yml: include-in-header: style/missing.typ is not a file in the project"),
])
def test_options_that_would_depart_from_quarto(tmp_path, quarto, to, message):
    root = long_project(tmp_path / "p", quarto)
    with pytest.raises(RenderError) as err:
        render_project(root, to=to, engine="builtin")
    assert str(err.value) == message


def test_math_needs_an_offline_method(tmp_path):
    root = long_project(tmp_path / "p", "")
    qmd = root / "review.qmd"
    qmd.write_text(qmd.read_text(encoding="utf-8").replace("See @sec-deep.", "See $\\tau^2$."), encoding="utf-8")
    with pytest.raises(RenderError) as err:
        render_project(root, to="html", engine="builtin")
    assert str(err.value) == ("the document has math and _quarto.yml sets no html-math-method; Quarto's default "
                              "loads MathJax from the network, so set html-math-method: mathml (or plain)")
    (root / "_quarto.yml").write_text("project:\n  output-dir: _output\nformat:\n  html:\n    html-math-method: mathml\n",
                                      encoding="utf-8")
    render_project(root, to="html", engine="builtin")
    html = (root / "_output/review.html").read_text(encoding="utf-8")
    assert "<math" in html and "<msup><mi>τ</mi><mn>2</mn></msup>" in html


def test_docx_styles_come_from_the_reference_document():
    docx = project_yml()["format"]["docx"]
    assert docx["reference-doc"] == "style/reference.docx" and (REPO / docx["reference-doc"]).is_file()


def test_reference_docx_is_what_its_script_writes(tmp_path):
    import runpy

    runpy.run_path(str(REPO / "style/reference_docx.py"))["build"](tmp_path / "reference.docx")
    assert (tmp_path / "reference.docx").read_bytes() == (REPO / "style/reference.docx").read_bytes()
