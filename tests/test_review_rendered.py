"""The bundled review, rendered by the built-in engine, as a reader gets it.

One render of a temporary copy serves every test here; the HTML is opened in headless
Chromium and the PDF read with pdftotext. Sections, figures, tables and labels are taken
from review.qmd itself, so adding a section or a figure extends the checks.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from analysis.render import render_project

from chromium import CHROMIUM, inspect_html, pdf_text

from fixture_paths import BUNDLED, REPO, merged_bibliography  # noqa: E402

# the live review's text and style, with the frozen data of tests/fixtures/bundled
REVIEW_FILES = ["review.qmd", "_quarto.yml", "style", "author-date-initials.csl"]
DATA_FILES = ["review_tables.py", "analysis_plan.yml", "references.bib", "extraction", "_version.yml"]
ARTIFACTS = REPO / "test-artifacts"


def _copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in REVIEW_FILES + DATA_FILES:
        src = (REPO if name in REVIEW_FILES else BUNDLED) / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    # the live text cites from the live bibliography; the frozen studies keep their entries
    (dest / "references.bib").write_text(merged_bibliography(), encoding="utf-8")
    return dest


def _qmd_outline():
    """Headings, figure labels and table labels of review.qmd, outside code cells."""
    headings, figs, tbls, in_cell = [], [], [], False
    for line in (REPO / "review.qmd").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_cell = not in_cell
            continue
        m = re.match(r"#\|\s*label:\s*((fig|tbl)-[\w-]+)", line)
        if in_cell and m:
            (figs if m.group(2) == "fig" else tbls).append(m.group(1))
        elif in_cell:
            # a figure or table an `asis` cell prints with its label written out
            for m in re.finditer(r"\{#((fig|tbl)-[\w-]*\w)", line):
                (figs if m.group(2) == "fig" else tbls).append(m.group(1))
        elif not in_cell and re.match(r"#{1,3} ", line):
            headings.append(re.sub(r"\s*\{[^}]*\}\s*$", "", line.lstrip("#").strip()))
    return headings, figs, tbls


HEADINGS, FIGS, TBLS = _qmd_outline()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " "))


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    root = _copy_project(tmp_path_factory.mktemp("bundled") / "review")
    render_project(root, engine="builtin")
    return root


@pytest.fixture(scope="module")
def shown(bundled):
    """The figure and table labels of the rendered review: those review.qmd names and those
    the results' display records add (analysis.review.displays), in no particular order."""
    from analysis.data.load import load_sheets
    from analysis.data.plan import load_plan
    from analysis.review.displays import displays
    from analysis.review.synthesis import synthesise

    records = displays(synthesise(load_sheets(bundled), load_plan(bundled)))
    return (FIGS + [d.label for d in records if d.is_figure],
            TBLS + [d.label for d in records if d.label.startswith("tbl-")])


def test_outline_is_not_empty():
    # guards the parsing above: the review has its sections, figures and tables
    assert len(HEADINGS) >= 30 and "Introduction" in HEADINGS and "Conclusions" in HEADINGS
    assert "fig-prisma" in FIGS and "tbl-characteristics" in TBLS


def test_pdf_has_every_section_figure_and_table(bundled, shown):
    FIGS, TBLS = shown
    text = _squash(pdf_text(bundled / "_output/review.pdf"))
    for heading in HEADINGS:
        assert heading in text, heading
    for i in range(1, len(FIGS) + 1):
        assert f"Figure {i}:" in text
    assert f"Figure {len(FIGS) + 1}:" not in text
    for i in range(1, len(TBLS) + 1):
        assert f"Table {i}:" in text
    assert f"Table {len(TBLS) + 1}:" not in text
    assert "??" not in text and "?@" not in text


def test_reference_list_follows_the_bundled_style(bundled):
    """Initials, 'and' between two authors, DOI links, and a visible word on every incomplete entry."""
    from analysis.data.bibliography import bibliography_warnings, citations

    html = (bundled / "_output/review.html").read_text(encoding="utf-8")
    refs = html[html.index('id="refs"'):]
    text = _squash(re.sub(r"<[^>]+>", "", refs)).replace("&amp;", "&")
    assert re.search(r"[A-Z][a-z]+, [A-Z]\.( [A-Z]\.)? and [A-Z][a-z]+, [A-Z]\.", text)
    assert not re.search(r"[A-Z][a-z]+, and [A-Z][a-z]+\. (19|20)\d\d\.", text)  # no "Bi, and Poo. 2001."
    assert '<a href="https://doi.org/' in refs
    cited = {key for _, key in citations((bundled / "review.qmd").read_text(encoding="utf-8"))}
    incomplete = {w.column for w in bibliography_warnings(bundled / "references.bib")} & cited
    assert text.count("Bibliographic details incomplete") == len(incomplete) > 0


# CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="chromium is not installed")
def test_html_in_chromium(bundled, shown, tmp_path):
    FIGS, TBLS = shown
    got = inspect_html(bundled / "_output/review.html", ARTIFACTS / "review-bundled.png", tmp_path)
    assert got["console_errors"] == []
    assert got["brokenLinks"] == []
    # one image per figure cell, each decoded by the browser
    assert len(got["images"]) == len(FIGS)
    assert all(img["done"] and img["w"] > 0 for img in got["images"]), got["images"]
    # captions numbered in order, figures then tables
    # (the renderer joins "Figure" and its number with a no-break space)
    assert [_squash(c.split(":")[0].replace("\xa0", " ")) for c in got["figcaptions"]] == \
        [f"Figure {i}" for i in range(1, len(FIGS) + 1)]
    assert [_squash(c.split(":")[0].replace("\xa0", " ")) for c in got["captions"]] == \
        [f"Table {i}" for i in range(1, len(TBLS) + 1)]
    text = _squash(got["text"])
    for heading in HEADINGS:
        assert heading in text, heading
    # every citation resolved into the reference list; nothing fetched from the network
    assert got["citations"] > 0 and got["refEntries"] > 0
    assert "??" not in text and "?@" not in text
    # inline values are plain Python values, so Quarto writes them as the built-in engine does
    assert "np.int" not in text and "np.float" not in text
    assert all(u.startswith(("file:", "data:")) for u in got["requests"]), got["requests"]


def test_forced_render_of_the_review_is_byte_identical(bundled):
    first = {p: (bundled / "_output" / p).read_bytes() for p in ("review.html", "review.pdf")}
    render_project(bundled, engine="builtin", force=True)
    for name, data in first.items():
        assert (bundled / "_output" / name).read_bytes() == data, name


def test_main_forest_shows_the_single_study_and_why_it_is_not_pooled(bundled):
    import base64

    html = (bundled / "_output/review.html").read_text(encoding="utf-8")
    start = html.index('id="fig-forest-bbs"')
    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html[start:]).group(1)).decode()
    texts = re.findall(r"<!-- (.*?) -->", svg)
    assert "Im 2022" in texts and "2.52 [0.16, 4.88]" in texts
    assert "Not pooled: only Im 2022 gives usable data; pooling needs 2 or more studies" in texts
