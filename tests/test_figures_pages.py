"""A forest plot too long for a page, as page-sized figures (forest_pages): the header and
the axis on every page, the studies in order across them, the Total row and diamond last."""

import io
import math

import pytest

from analysis.figures import forest, forest_pages, forest_pages_for_outcome, forest_plot, style
from analysis.figures._common import overlapping_pairs

from test_figures_forest import ARMS, _outcome, bcg_result, bcg_subgroups, synthetic, texts_in_row


def _studies(layout):
    return [r["label"] for r in layout.rows if r["kind"] == "study"]


def _tail(layout):
    """Rows after the last study of a one-figure forest: the blank, Total, interval and notes."""
    last = max(i for i, r in enumerate(layout.rows) if r["kind"] == "study")
    return len(layout.rows) - last - 1


@pytest.fixture(scope="module")
def long_forest():
    res = synthetic(260)
    return res, forest_plot(res, title="Outcome")[1], forest_pages(res, rows_per_page=40, title="Outcome")


def test_260_studies_over_pages_of_at_most_40_rows(long_forest):
    res, whole, pages = long_forest
    # as few pages as hold 260 studies, the closing rows and a header on each
    assert len(pages) == math.ceil((260 + _tail(whole)) / (40 - 1)) == 7
    assert [lay.page for _, lay in pages] == list(range(1, 8)) and {lay.pages for _, lay in pages} == {7}
    for fig, lay in pages:
        assert len(lay.rows) <= 40
        # the header repeated: the first row of every page, with its column heads
        assert lay.rows[0]["kind"] == "header"
        assert {"Study", "SMD [95% CI]", "Weight"} <= set(texts_in_row(lay, 0.0))
        assert lay.rows[1]["kind"] == "study"  # never a blank row under the header
        assert fig.get_figheight() == pytest.approx(len(lay.rows) * style.ROW_HEIGHT_IN + forest.MARGIN_IN
                                                    + forest.TITLE_IN + forest.FOOTER_IN)
    # every study once, in order; spread evenly, the last page keeping room for the tail
    assert sum((_studies(lay) for _, lay in pages), []) == list(res.labels)
    counts = [len(_studies(lay)) for _, lay in pages]
    assert max(counts) - min(counts) <= 1 + _tail(whole)
    assert [f"Outcome ({n} of 7)" in [t.get_text() for t in lay.texts] for n, (_, lay) in enumerate(pages, 1)] == [True] * 7


def test_diamond_interval_and_notes_only_on_the_last_page(long_forest):
    res, whole, pages = long_forest
    *first, (_, last) = pages
    for _, lay in first:
        assert lay.diamonds == [] and lay.pi is None
        assert not any(r["kind"] in {"note", "pooled"} for r in lay.rows)
    (d,) = last.diamonds
    assert (d["vertices"][:, 0].min(), d["vertices"][:, 0].max()) == pytest.approx((res.ci_lb, res.ci_ub))
    assert last.pi[:2] == pytest.approx((res.pi_lb, res.pi_ub))
    notes = [r["label"] for r in last.rows if r["kind"] == "note"]
    assert notes == [r["label"] for r in whole.rows if r["kind"] == "note"]
    # squares keep the sizes they have in the one-figure plot: weights are the whole analysis'
    area = {s["label"]: s["area_pt2"] for s in whole.squares}
    assert all(s["area_pt2"] == pytest.approx(area[s["label"]]) for _, lay in pages for s in lay.squares)


def test_pages_share_one_scale_and_one_set_of_columns(long_forest):
    res, whole, pages = long_forest
    xs = {(fig.get_figwidth(), lay.xlim, tuple(lay.ax.get_position().intervalx), tuple(lay.ax.get_xticks()))
          for fig, lay in pages}
    assert len(xs) == 1
    assert pages[0][0].get_figwidth() == pytest.approx(style.TEXT_WIDTH_IN)
    heads = {tuple(sorted((t.get_text(), round(t.get_position()[0], 9)) for t in lay.texts if t.get_position()[1] == 0.0))
             for _, lay in pages}
    assert len(heads) == 1
    for _, lay in pages[:2] + pages[-1:]:
        assert overlapping_pairs(lay.text_boxes()) == []


def test_pages_are_a_pure_function_of_result_and_limit():
    res = synthetic(90, seed=3)

    def svgs():
        out = []
        for fig, _ in forest_pages(res, rows_per_page=35):
            buf = io.BytesIO()
            fig.savefig(buf, format="svg", metadata={"Date": None})
            out.append(buf.getvalue())
        return out

    first = svgs()
    assert len(first) == 3 and svgs() == first


def test_default_pages_fit_the_pdf_text_block_under_a_caption():
    pages = forest_pages(synthetic(120), title="Outcome")
    assert len(pages) > 1
    for fig, lay in pages:
        assert len(lay.rows) <= forest.ROWS_PER_PAGE
        assert fig.get_figheight() <= style.TEXT_HEIGHT_IN - forest.CAPTION_IN


def test_a_forest_that_fits_is_one_page_like_forest_plot():
    res = bcg_result()
    (fig, lay), = forest_pages(res, title="BCG")
    _, whole = forest_plot(res, title="BCG")
    assert [(r["kind"], r["label"]) for r in lay.rows] == [(r["kind"], r["label"]) for r in whole.rows]
    assert sorted(t.get_text() for t in lay.texts) == sorted(t.get_text() for t in whole.texts)
    assert (lay.page, lay.pages) == (1, 1)
    with pytest.raises(ValueError, match="rows_per_page = 5 leaves no room"):
        forest_pages(res, rows_per_page=5)


def test_subgroups_and_outcomes_paginate_too():
    sg = bcg_subgroups()
    pages = forest_pages(sg.overall, subgroups=sg, rows_per_page=14)
    assert len(pages) > 1
    labels = sum((_studies(lay) for _, lay in pages), [])
    _, whole = forest_plot(sg.overall, subgroups=sg)
    assert labels == _studies(whole)
    subtotals = [d for _, lay in pages for d in lay.diamonds if d["kind"] == "subtotal"]
    assert len(subtotals) == 3 and pages[-1][1].diamonds[-1]["kind"] == "pooled"
    # an outcome analysis, with its arm columns, units and totals, on one page
    (fig, lay), = forest_pages_for_outcome(_outcome())
    total = next(r for r in lay.rows if r["kind"] == "pooled")
    assert {"68", "56"} <= set(texts_in_row(lay, total["y"]))
    assert "46.40%" in texts_in_row(lay, lay.row_y(ARMS["label"][0]))
