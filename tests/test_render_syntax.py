"""What the built-in renderer accepts and rejects, checked before any kernel starts (fast)."""

from __future__ import annotations

import re
import textwrap

import pytest

from analysis.errors import RenderError
from analysis.render import render_project
from analysis.render.builtin import Builder
from analysis.render.qmd import parse_qmd

HEAD = """---
title: T
bibliography: references.bib
number-sections: true
---

# Intro {#sec-intro}

"""
BIB = "@article{kim2014, author={Kim, A}, title={T}, journal={J}, year={2014}}\n"


def project(tmp_path, body: str, head: str = HEAD,
            quarto: str = "project:\n  output-dir: _output\nformat:\n  typst:\n    citeproc: true\n"):
    (tmp_path / "review.qmd").write_text(head + textwrap.dedent(body), encoding="utf-8")
    (tmp_path / "_quarto.yml").write_text(quarto, encoding="utf-8")
    (tmp_path / "references.bib").write_text(BIB, encoding="utf-8")
    return tmp_path


def error_of(tmp_path, body, **kw) -> str:
    root = project(tmp_path, body, **kw)
    with pytest.raises(RenderError) as err:
        render_project(root, engine="builtin")
    assert not (root / "_output").exists()
    return str(err.value)


# line 9 is the first body line after HEAD (8 lines)
@pytest.mark.parametrize("body, expected", [
    ("```{r}\nx <- 1\n```\n", "review.qmd:9: `{r}` cells are not supported"),
    ("```{python}\n#| label: a\n#| fig-width: 4\nx = 1\n```\n", "review.qmd:11: cell option `fig-width` is not supported"),
    ("See @eq-energy.\n", "review.qmd:9: `@eq-energy`: `eq-` cross-references are not supported"),
    ("See @fig-missing.\n", "review.qmd:9: cross-reference `@fig-missing` has no target"),
    ("Text.\n\nAs @smith2020 said.\n", "review.qmd:11: citation `@smith2020` is not in references.bib"),
    ("{{< pagebreak >}}\n", "review.qmd:9: shortcodes `{{< >}}` are not supported"),
    ("Value `{r} x`.\n", "review.qmd:9: inline `{r}` code is not supported; use `{python} expr`"),
    ("::: {.panel-tabset}\nA\n:::\n", "review.qmd:9: div class `.panel-tabset` is not supported"),
    ("::: {layout-ncol=2}\nA\n:::\n", "review.qmd:9: div attribute `layout-ncol` is not supported"),
    ("::: {.callout-info}\nA\n:::\n", "review.qmd:9: callout `.callout-info` is not supported"),
    ("::: {.callout-note collapse=\"true\"}\nA\n:::\n", "review.qmd:9: callout option `collapse` is not supported"),
    ("```{python}\n#| label: fig-a\nx = 1\n```\n", "review.qmd:9: cell fig-a needs `#| fig-cap:`"),
    ("```{python}\n#| label: tbl-a\n#| tbl-cap: T\nx = 1\n```\n", "review.qmd:9: cell tbl-a must set `#| output: asis`"),
    ("```{python}\n#| output: maybe\nx = 1\n```\n", "review.qmd:9: cell option `output: maybe` must be true, false or asis"),
    ("::: {#fig-a}\n![x](a.png)\n:::\n", "review.qmd:9: figure/table divs"),
    ("Title\n=====\n", "review.qmd:10: setext headings are not supported"),
    ("::: {.callout-note}\nA\n", "review.qmd: a `:::` div is never closed"),
    ("See [see @fig-a and @kim2014].\n\n![A](a.png){#fig-a}\n",
     "review.qmd:9: a cross-reference inside a citation bracket with other text is not supported"),
    ("# Again {#sec-intro}\n", "review.qmd:9: label `sec-intro` is used twice"),
    # forms quarto-cli's execute-inline.ts does not evaluate (one backtick, one space, trimmed lookup)
    ("A ``{python} 1`` b.\n", "review.qmd:9: inline code ``{python} 1`` is not evaluated by Quarto; write "
                              "`{python} expr` with single backticks, one space after {python} and none at the end"),
    ("A `{python}  1` b.\n", "review.qmd:9: inline code `{python}  1` is not evaluated by Quarto"),
    ("A `{python} 1 ` b.\n", "review.qmd:9: inline code `{python} 1 ` is not evaluated by Quarto"),
])
def test_unsupported_syntax_names_the_line(tmp_path, body, expected):
    assert error_of(tmp_path, body).startswith(expected)


@pytest.mark.parametrize("head, expected", [
    ("---\ntitle: T\ncrossref:\n  fig-prefix: Fig.\n---\n", "review.qmd front matter: option `crossref` is not supported"),
    ("---\ntitle: T\nengine: knitr\n---\n", "engine `knitr` is not supported"),
    ("---\ntitle: T\ndate: today\n---\n", "`date: today` would make the output depend on the clock"),
    ("---\ntitle: T\nformat:\n  html:\n    code-fold: true\n---\n", "format html option `code-fold` is not supported"),
])
def test_unsupported_options(tmp_path, head, expected):
    assert expected in error_of(tmp_path, "Text.\n", head=head)


def test_section_reference_needs_numbering(tmp_path):
    head = HEAD.replace("number-sections: true\n", "")
    msg = error_of(tmp_path, "See @sec-intro.\n", head=head)
    assert msg == "review.qmd:8: `@sec-intro` refers to an unnumbered section; set number-sections: true"


def test_parse_cells_options_and_lines():
    doc = parse_qmd(textwrap.dedent("""\
        ---
        title: X
        ---
        Text `{python} a`.

        ```{python}
        #| label: fig-one
        #| fig-cap: |
        #|   Two line
        #|   caption
        plot()
        ```

        ```python
        not_run()
        ```
        """))
    assert doc.meta == {"title": "X"}
    [cell] = doc.cells
    assert cell.line == 6 and cell.index == 1 and cell.code == "plot()"
    assert cell.options == {"label": "fig-one", "fig-cap": "Two line\ncaption"}


def test_numbering_and_crossref_text(tmp_path):
    root = project(tmp_path, """\
        ## Sub {#sec-sub}

        # Other {.unnumbered}

        # Third {#sec-third}

        ### Deep {#sec-deep}

        ![A picture of @kim2014](a.png){#fig-pic}

        | a |
        |---|
        | 1 |

        : Counts {#tbl-counts}

        See @sec-deep, @Fig-pic, -@tbl-counts and [@sec-sub; @sec-third] [@kim2014].
        """)
    b = Builder(root, tmp_path / "build")
    (tmp_path / "build").mkdir()
    a = b.scan()
    assert a.labels["fig-pic"][:2] == ("fig", "1") and a.labels["tbl-counts"][:2] == ("tbl", "1")
    body = b.assemble("html", a)
    nb = "\u00a0"
    assert f"See [Section{nb}2.0.1](#sec-deep), [Figure{nb}1](#fig-pic), [1](#tbl-counts) and " \
           f"[Section{nb}1.1](#sec-sub), [Section{nb}2](#sec-third) [@kim2014]." in body
    assert "# [1]{.header-section-number} Intro {#sec-intro}" in body
    assert "## [1.1]{.header-section-number} Sub {#sec-sub}" in body
    assert "# Other {.unnumbered}" in body
    assert f"![Figure{nb}1: A picture of @kim2014](../a.png){{#fig-pic }}" in body
    assert f"::: {{#tbl-counts}}\n\n| a |\n|---|\n| 1 |\n\n: Table{nb}1: Counts\n\n:::" in body


def test_cell_output_options(tmp_path):
    root = project(tmp_path, """\
        ```{python}
        #| label: shown
        #| echo: true
        print("hello")
        ```

        ```{python}
        #| include: false
        secret = 1
        ```

        ```{python}
        #| label: quiet
        #| warning: false
        import warnings
        ```

        ```{python}
        #| label: loud
        x = 2
        ```
        """, quarto="execute:\n  echo: false\n")
    (tmp_path / "build").mkdir()
    b = Builder(root, tmp_path / "build")
    a = b.scan()
    warn = {"output_type": "stream", "name": "stderr", "text": "UserWarning: careful\n"}
    b.outputs = {1: [{"output_type": "stream", "name": "stdout", "text": "hello\n"}],
                 2: [{"output_type": "stream", "name": "stdout", "text": "hidden\n"}],
                 3: [warn], 4: [warn, {"output_type": "execute_result", "data": {"text/plain": "2"}}]}
    body = b.assemble("html", a)
    assert '``` {.python .cell-code}\nprint("hello")\n```' in body
    assert "``` {.cell-output}\nhello\n```" in body
    assert "hidden" not in body and "secret" not in body and "import warnings" not in body
    assert body.count("UserWarning: careful") == 1
    assert "``` {.cell-output-stderr}\nUserWarning: careful\n```" in body
    assert "``` {.cell-output}\n2\n```" in body


def test_printed_markdown_is_checked_and_resolved(tmp_path):
    root = project(tmp_path, """\
        ```{python}
        #| label: tbl-cites
        #| tbl-cap: "Trials, as in @fig-pic"
        #| output: asis
        print(table)
        ```

        ![Pic](a.png){#fig-pic}
        """)
    (tmp_path / "build").mkdir()
    b = Builder(root, tmp_path / "build")
    a = b.scan()
    table = "| Study | Figure |\n|---|---|\n| @kim2014 | @fig-pic |\n"
    b.outputs = {1: [{"output_type": "stream", "name": "stdout", "text": table}]}
    body = b.assemble("html", a)
    nb = "\u00a0"
    assert f"| @kim2014 | [Figure{nb}1](#fig-pic) |" in body
    assert f": Table{nb}1: Trials, as in [Figure{nb}1](#fig-pic)" in body
    for printed, message in [("| @smith2020 |\n|---|\n| 1 |\n", "printed citation `@smith2020`"),
                             ("| @fig-none |\n|---|\n| 1 |\n", "printed `@fig-none`, which has no target"),
                             ("## Results\n| a |\n|---|\n| 1 |\n", "printed a heading ('## Results')")]:
        b.outputs = {1: [{"output_type": "stream", "name": "stdout", "text": printed}]}
        with pytest.raises(RenderError, match=re.escape(f"cell tbl-cites at review.qmd:9 {message}")):
            b.assemble("html", a)


def test_caption_citation_is_checked(tmp_path):
    msg = error_of(tmp_path, "```{python}\n#| label: fig-a\n#| fig-cap: After @nobody2000\nx = 1\n```\n")
    assert msg == "review.qmd:9: citation `@nobody2000` is not in references.bib"


def test_document_without_cells_renders_project_images(tmp_path):
    """No cells: no kernel; an image file of the project appears in both outputs, numbered."""
    import subprocess

    import matplotlib
    matplotlib.use("agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [0, 1])
    (tmp_path / "images").mkdir()
    fig.savefig(tmp_path / "images/scheme.png", dpi=50)
    root = project(tmp_path, "As @fig-scheme shows [@kim2014].\n\n"
                   "![The scheme of the project](images/scheme.png){#fig-scheme width=40%}\n")
    report = render_project(root, engine="builtin")
    assert "kernel start" not in report.timings
    html = (root / "_output/review.html").read_text(encoding="utf-8")
    assert '<figure id="fig-scheme">' in html and 'src="data:image/png;base64,' in html
    assert re.search("Figure\u00a01: The scheme of the\\s+project</figcaption>", html)
    text = subprocess.run(["pdftotext", str(root / "_output/review.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Figure 1: The scheme of the project" in text.replace("\u00a0", " ")
    assert "As Figure 1 shows (Kim 2014)." in text.replace("\u00a0", " ")
    listing = subprocess.run(["pdfimages", "-list", str(root / "_output/review.pdf")], capture_output=True,
                             text=True, check=True).stdout
    assert len(listing.splitlines()) >= 3


def test_figures_and_tables_printed_by_a_cell_are_numbered_in_document_order(tmp_path):
    """As Quarto, which resolves cross-references on the markdown after the cells ran: a figure
    or table an `asis` cell prints is numbered where it stands, the prose may refer to it, and an
    SVG is kept in the Typst PDF, as Quarto's typst format keeps it, and replaced by its PNG sibling in DOCX."""
    root = project(tmp_path, """\
        ![First](a.png){#fig-first}

        See @fig-made and @tbl-made.

        ```{python}
        #| label: made
        #| output: asis
        print(text)
        ```

        ![Last](b.png){#fig-last}
        """)
    for name in ("made.svg", "made.pdf", "made.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "build").mkdir()
    b = Builder(root, tmp_path / "build")
    a = b.scan()
    assert a.deferred == [(11, "fig-made"), (11, "tbl-made")]
    printed = ('![Made, as @fig-first](made.svg){#fig-made fig-alt="A made figure"}\n\n'
               "| a |\n|---|\n| 1 |\n\n: Made table {#tbl-made}\n")
    b.outputs = {1: [{"output_type": "stream", "name": "stdout", "text": printed}]}
    b.renumber(a)
    nb = "\u00a0"
    html = b.assemble("html", a)
    assert f"See [Figure{nb}2](#fig-made) and [Table{nb}1](#tbl-made)." in html
    assert f"![Figure{nb}2: Made, as [Figure{nb}1](#fig-first)](../made.svg){{#fig-made alt=\"A made figure\"}}" in html
    assert f": Table{nb}1: Made table" in html and "::: {#tbl-made}" in html
    assert f"![Figure{nb}3: Last]" in html
    assert "](../made.svg){#fig-made" in b.assemble("typst", a)
    assert "](../made.png){#fig-made" in b.assemble("docx", a)
    # an image printed without a label is found from the build folder too, with the same siblings
    b.outputs = {1: [{"output_type": "stream", "name": "stdout", "text": printed + "\n![](made.svg)\n"}]}
    a = b.scan()
    b.renumber(a)
    assert "\n![](../made.svg)" in b.assemble("typst", a) and "\n![](../made.png)" in b.assemble("docx", a)
    b.outputs = {1: [{"output_type": "stream", "name": "stdout", "text": "nothing\n"}]}
    a = b.scan()
    with pytest.raises(RenderError, match=re.escape("review.qmd:11: cross-reference `@fig-made` has no target")):
        b.renumber(a)
