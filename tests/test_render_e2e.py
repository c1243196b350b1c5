"""End to end: render the fixture project with the built-in renderer and check what a reader gets.

The HTML is opened in headless Chromium driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`, see tests/chromium.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.errors import RenderError
from analysis.render import render_project

from chromium import CHROMIUM, evaluate_at_width, inspect_html, pdf_text

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "render_project"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("render") / "project"
    shutil.copytree(FIXTURE, root)
    # the bundled review's Word styles, named as the bundled _quarto.yml names them
    (root / "style").mkdir()
    shutil.copy(REPO / "style/reference.docx", root / "style/reference.docx")
    with open(root / "_quarto.yml", "a", encoding="utf-8") as fh:
        fh.write("  docx:\n    toc: true\n    number-sections: true\n    reference-doc: style/reference.docx\n")
    messages: list[str] = []
    report = render_project(root, engine="builtin", progress=messages.append)
    return root, report, messages


def test_render_reports_steps_and_outputs(rendered):
    root, report, messages = rendered
    assert not report.up_to_date and report.engine == "builtin"
    assert report.outputs == {f: root / f"_output/review.{f}" for f in ("html", "pdf", "docx")}
    assert "cell 2/3 tbl-studies (line 47)" in messages
    assert "cell 3/3 fig-effects (line 59)" in messages
    for step in ("kernel start", "cells", "pandoc html", "pandoc typst", "typst compile", "pandoc docx"):
        assert report.timings[step] > 0
    assert [name for name, _ in report.cell_timings] == ["setup (line 16)", "tbl-studies (line 47)",
                                                         "fig-effects (line 59)"]
    # nothing of the build folder is left beside _output
    assert not list(root.glob(".render-*"))


# CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="chromium is not installed")
def test_html_in_chromium(rendered, tmp_path):
    root, _, _ = rendered
    html = root / "_output/review.html"
    source = html.read_text(encoding="utf-8")
    assert "http://" not in source.replace("http://www.w3.org/", "") and "https://" not in source
    r = inspect_html(html, ARTIFACTS / "render-fixture.png", tmp_path)
    assert r["images"] and all(i["done"] and i["w"] > 0 for i in r["images"]), r["images"]
    assert r["images"][0]["src"].startswith("data:image/svg+xml")
    assert r["brokenLinks"] == []
    assert r["console_errors"] == []
    assert all(u.startswith(("file:", "data:")) for u in r["requests"]), r["requests"]
    assert r["stylesheets"] >= 1
    # citations resolved by citeproc: author-date text, three entries, no unresolved markers
    assert r["citations"] == 3 and r["refEntries"] == 3
    assert "???" not in r["text"] and "@alpha2019" not in r["text"] and "?@" not in r["text"]
    assert "(Alpha and Other 2019; Beta 2021)" in r["text"]
    assert "Gamma and Delta (2022) reported" in r["text"]
    # cross-references numbered and linked
    assert "Methods are in Section\u00a02, the trials in Table\u00a01 and the effects in Figure\u00a01." \
        in r["text"].replace("\n", " ")
    assert "See Section\u00a02.1 for" in r["text"]
    assert "(Figure\u00a01, 1)" in r["text"]
    # inline expressions substituted as text
    assert "holds 3 trials with 72 participants" in r["text"]
    assert "The largest effect was 2.1" in r["text"]
    assert r["figcaptions"] == ["Figure\u00a01: Effect per trial in the fixture"]
    assert r["captions"] == ["Table\u00a01: Trials in the fixture, with sample sizes"]
    assert r["headings"] == ["1 Introduction", "2 Methods", "2.1 Data", "3 Results", "References"]
    assert r["toc"] == 5
    assert r["callouts"] == ["callout callout-note", "callout callout-warning"]
    for text in ("Fixture review of three trials", "Ann Author", "Institute of Fixtures", "ABSTRACT", "This fixture pools three",
                 "About this fixture", "Small samples"):
        assert text in r["text"]
    assert (ARTIFACTS / "render-fixture.png").stat().st_size > 10_000


NAVIGATION_JS = """JSON.stringify((() => {
  const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const side = document.getElementById('sidebar'), main = document.querySelector('main');
  const links = sel => [...side.querySelectorAll(sel + ' a')].map(a => [a.textContent, a.getAttribute('href')]);
  const out = {sidebar: box(side), main: box(main), position: getComputedStyle(side).position,
    headings: [...side.querySelectorAll('h2')].map(h => h.textContent),
    formats: links('.quarto-alternate-formats'), other: links('.quarto-other-links'),
    scrollWidth: document.documentElement.scrollWidth, width: document.documentElement.clientWidth};
  const cite = document.querySelector('a[role="doc-biblioref"]');
  const popup = document.getElementById('citation-popup');
  cite.dispatchEvent(new MouseEvent('mouseenter'));
  out.popup = {shown: !popup.hidden && popup.offsetHeight > 0, text: popup.innerText, cite: cite.innerText};
  cite.dispatchEvent(new MouseEvent('mouseleave'));
  out.popupAfter = popup.hidden;
  window.scrollTo(0, document.body.scrollHeight);
  out.sidebarAfterScroll = box(side);
  return out;
})())"""


def navigation(html: Path, tmp: Path, width: int) -> dict:
    return evaluate_at_width(html, tmp, width, NAVIGATION_JS)


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="chromium is not installed")
def test_html_navigation(rendered, tmp_path):
    """Quarto's toc-location: left, format links, other-links and citation hover, as a reader gets them."""
    root, _, _ = rendered
    html = root / "_output/review.html"
    wide = navigation(html, tmp_path, 1280)
    # a sidebar left of the text that stays in view when the page scrolls
    assert wide["sidebar"]["right"] <= wide["main"]["left"] and wide["position"] == "sticky"
    assert wide["sidebarAfterScroll"]["top"] == 0
    assert wide["headings"] == ["Table of contents", "Other Formats", "Other Links"]
    assert wide["formats"] == [["Typst", "review.pdf"], ["MS Word", "review.docx"]]
    assert wide["other"] == [["Data", "../extraction/studies.csv"]]
    for _, href in wide["formats"] + wide["other"]:
        assert (html.parent / href).is_file(), href
    # hovering a citation shows its reference, leaving hides it
    assert wide["popup"]["shown"] and wide["popup"]["cite"] == "Alpha and Other 2019"
    assert wide["popup"]["text"].startswith("Alpha, Ann, and Oscar Other. 2019.")
    assert wide["popupAfter"] is True
    # a phone: the contents above the text, and no sideways scrolling
    narrow = navigation(html, tmp_path, 390)
    assert narrow["sidebar"]["bottom"] <= narrow["main"]["top"] and narrow["position"] == "static"
    assert narrow["scrollWidth"] <= narrow["width"]
    assert narrow["popup"]["shown"]


def test_pdf_text(rendered):
    root, _, _ = rendered
    text = pdf_text(root / "_output/review.pdf")
    flat = " ".join(text.split())
    for needle in ("Fixture review of three trials", "A test project for the renderer", "Ann Author",
                   "Department of Testing, Example University", "Abstract", "Contents",
                   "1 Introduction", "2 Methods", "2.1 Data", "3 Results", "References",
                   "Table 1: Trials in the fixture, with sample sizes", "Figure 1: Effect per trial in the fixture",
                   "(Alpha and Other 2019; Beta 2021)", "Beta, Bob. 2021.", "About this fixture",
                   "in Section 2, the trials in Table 1 and the effects in Figure 1"):
        assert needle in flat.replace("\u00a0", " "), needle
    # the figure is embedded as SVG, as Quarto's typst format embeds it: vector, no raster
    # image, its text drawn as outlines (svg.fonttype "path"), so no DejaVu Sans font in the PDF
    images = subprocess.run(["pdfimages", "-list", str(root / "_output/review.pdf")], capture_output=True,
                            text=True, check=True).stdout.splitlines()[2:]
    assert images == []
    fonts = subprocess.run(["pdffonts", str(root / "_output/review.pdf")], capture_output=True, text=True,
                           check=True).stdout
    assert "DejaVuSans" not in fonts and "LibertinusSerif" in fonts


def _inlines(node) -> str:
    """The text of a pandoc JSON node."""
    if isinstance(node, list):
        return "".join(_inlines(n) for n in node)
    if not isinstance(node, dict):
        return ""
    t, c = node.get("t"), node.get("c")
    if t == "Str":
        return c
    if t in ("Space", "SoftBreak", "LineBreak"):
        return " "
    return _inlines(c)


def _blocks(node, kind: str) -> list:
    found = []
    if isinstance(node, list):
        for n in node:
            found += _blocks(n, kind)
    elif isinstance(node, dict):
        if node.get("t") == kind:
            found.append(node)
        found += _blocks(node.get("c"), kind)
    return found


def test_docx_read_back(rendered):
    """The DOCX as pandoc reads it back: title block, numbered headings, the table and the
    figure with their captions, author-date citations and the reference list; the reference
    document's styles and page are the ones used."""
    import json
    import zipfile

    import pypandoc

    root, _, _ = rendered
    docx = root / "_output/review.docx"
    doc = json.loads(subprocess.run([pypandoc.get_pandoc_path(), str(docx), "-t", "json"], capture_output=True,
                                    text=True, check=True).stdout)
    meta = {k: _inlines(v) for k, v in doc["meta"].items()}
    assert meta["title"] == "Fixture review of three trials"
    assert meta["author"] == "Ann Author, Department of Testing, Example UniversityBen Writer, Institute of Fixtures"
    headings = [_inlines(h["c"][2]) for h in _blocks(doc["blocks"], "Header")]
    assert headings == ["Table of contents", "1 Introduction", "2 Methods", "2.1 Data", "3 Results", "References"]
    tables = _blocks(doc["blocks"], "Table")
    assert len(tables) == 1
    assert _inlines(tables[0]["c"][1]).replace("\xa0", " ") == "Table 1: Trials in the fixture, with sample sizes"
    assert "Alpha 2019" in _inlines(tables[0]["c"][4]) + _inlines(tables[0]["c"][3])
    figures = _blocks(doc["blocks"], "Figure")
    assert [_inlines(f["c"][1]).replace("\xa0", " ") for f in figures] == ["Figure 1: Effect per trial in the fixture"]
    assert len(_blocks(figures, "Image")) == 1
    text = " ".join(subprocess.run([pypandoc.get_pandoc_path(), str(docx), "-t", "plain"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert text.startswith("Abstract This fixture pools three made-up trials")
    assert "About this fixture The numbers here are made up" in text  # a callout: its title, then its text
    assert "holds 3 trials with 72 participants in all (Alpha and Other 2019; Beta 2021)." in text
    assert "Methods are in Section 2, the trials in Table 1 and the effects in Figure 1." in text
    assert "Beta, Bob. 2021." in text and "Gamma, Gail, and Dan Delta. 2022." in text
    with zipfile.ZipFile(docx) as z:
        styles = z.read("word/styles.xml").decode()
        body = z.read("word/document.xml").decode()
    assert 'w:ascii="Times New Roman"' in styles and 'w:ascii="Arial"' in styles
    assert '<w:pgSz w:h="16838" w:w="11906" />' in body  # A4, from the reference document


def test_cache_hit_then_change_rerenders(rendered):
    root, _, _ = rendered
    before = {p: p.read_bytes() for p in (root / "_output").iterdir()}
    calls: list[str] = []
    hit = render_project(root, engine="builtin", progress=calls.append)
    assert hit.up_to_date and calls == []
    assert hit.timings["total"] < 1.0
    assert {p: p.read_bytes() for p in (root / "_output").iterdir()} == before
    # html alone is also up to date after rendering both
    assert render_project(root, to="html", engine="builtin").up_to_date
    sheet = root / "extraction/studies.csv"
    sheet.write_text(sheet.read_text() + "", encoding="utf-8")  # same bytes: still a hit
    assert render_project(root, engine="builtin").up_to_date
    sheet.write_text(sheet.read_text().replace("gamma2022,Gamma 2022,2022,18,2.1", "gamma2022,Gamma 2022,2022,18,2.4"))
    again = render_project(root, engine="builtin", progress=calls.append)
    assert not again.up_to_date and any(c.startswith("cell 1/3") for c in calls)
    assert "The largest effect was 2.4" in " ".join(pdf_text(root / "_output/review.pdf").split())


def test_forced_renders_are_byte_identical(rendered):
    root, _, _ = rendered
    names = ("review.html", "review.pdf", "review.docx")
    first = {n: (root / "_output" / n).read_bytes() for n in names}
    report = render_project(root, engine="builtin", force=True)
    assert not report.up_to_date
    second = {n: (root / "_output" / n).read_bytes() for n in names}
    assert first == second


def test_failing_cell_leaves_outputs_untouched(rendered):
    root, _, _ = rendered
    before = {p.name: p.read_bytes() for p in (root / "_output").iterdir()}
    qmd = root / "review.qmd"
    original = qmd.read_text(encoding="utf-8")
    broken = original.replace('ax.set_xlabel("Effect")', 'ax.set_xlabel(undefined_name)')
    assert broken != original
    qmd.write_text(broken, encoding="utf-8")
    try:
        with pytest.raises(RenderError) as err:
            render_project(root, engine="builtin")
        msg = str(err.value)
        assert msg == "cell fig-effects at review.qmd:66 failed: NameError: name 'undefined_name' is not defined"
        assert {p.name: p.read_bytes() for p in (root / "_output").iterdir()} == before
        assert not list(root.glob(".render-*"))
        # and through the command a user runs: one line naming the cell, exit 1, no traceback
        proc = subprocess.run([str(Path(sys.executable).with_name("review")), "render", "--root", str(root), "--quiet"],
                              capture_output=True, text=True)
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines()[-1] == f"review render: {msg}"
        assert "Traceback" not in proc.stderr
        assert {p.name: p.read_bytes() for p in (root / "_output").iterdir()} == before
    finally:
        qmd.write_text(original, encoding="utf-8")
