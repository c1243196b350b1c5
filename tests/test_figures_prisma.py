"""PRISMA 2020 flow diagram: each count shows its number or "not reported", boxes fit their text."""

from itertools import combinations
from pathlib import Path

import pandas as pd
import pytest

from analysis.figures import NothingToDraw, prisma_flow, style
from fixture_paths import BUNDLED, REPO

ROOT = BUNDLED  # the frozen copy of the bundled review (tests/fixtures/bundled)

# Shaped like extraction/prisma.csv; numbers from the PRISMA2020 package's example template.
FULL = pd.DataFrame(
    [
        ("database_results", "Databases", 6874, "reported"),
        ("register_results", "Registers", 345, "reported"),
        ("website_results", "Websites", 12, "reported"),
        ("citations_results", "Citation searching", 40, "reported"),
        ("duplicates", "Duplicate records removed", 2539, "reported"),
        ("excluded_automatic", "Records marked as ineligible by automation tools", 4511, "reported"),
        ("excluded_other", "Records removed for other reasons", None, "not_reported"),
        ("records_screened", "Records screened", 84, "reported"),
        ("records_excluded", "Records excluded", 46, "reported"),
        ("dbr_sought_reports", "Reports sought for retrieval", 38, "reported"),
        ("dbr_notretrieved_reports", "Reports not retrieved", 8, "reported"),
        ("dbr_assessed", "Reports assessed for eligibility", 30, "reported"),
        ("dbr_excluded", "Wrong population", 10, "reported"),
        ("dbr_excluded", "Wrong outcome", None, "not_reported"),
        ("other_sought_reports", "Reports sought for retrieval", 52, "reported"),
        ("other_notretrieved_reports", "Reports not retrieved", 2, "reported"),
        ("other_assessed", "Reports assessed for eligibility", 50, "reported"),
        ("other_excluded", "No control group", 45, "reported"),
        ("new_studies", "Studies included in review", 25, "reported"),
        ("new_reports", "Reports of included studies", 27, "reported"),
    ],
    columns=["data", "label", "n", "status"],
)

DB_ONLY = pd.DataFrame(
    [
        ("database_results", "PubMed", None, "not_reported"),
        ("database_results", "EMBASE", None, "not_reported"),
        ("records_screened", "Records screened", None, "not_reported"),
        ("dbr_excluded", "Non-human research", None, "not_reported"),
        ("total_studies", "Total studies included", 14, "reported"),
    ],
    columns=["data", "label", "n", "status"],
)


INCLUDED_FIELDS = {"new_studies", "new_reports", "total_studies", "total_reports", "previous_studies", "previous_reports"}


def _expected(row) -> str:
    return f"(n = {int(row.n)})" if row.status == "reported" else "(not reported)"


def _flat(box) -> str:
    return box["text"].replace("\n", " ")


@pytest.mark.parametrize("counts", [FULL, DB_ONLY], ids=["full", "databases-only"])
def test_every_count_shows_its_number_or_not_reported(counts):
    fig, layout = prisma_flow(counts)
    all_text = "\n".join(b["text"] for b in layout.boxes.values())
    for row in counts.itertuples():
        if row.data in INCLUDED_FIELDS:
            continue  # worded by the template, below
        box = next(b for b in layout.boxes.values() if row.data in b["fields"])
        assert f"{row.label} {_expected(row)}" in _flat(box), (row.data, _flat(box))
    # the main chain is always drawn; a count absent from the sheet reads "not reported"
    for box in ("identified", "removed", "screened", "screen_excluded", "sought", "not_retrieved", "assessed", "excluded", "included"):
        assert box in layout.boxes
        if not set(layout.boxes[box]["fields"]) & set(counts["data"]):
            # a box whose counts the sheet lacks says so
            assert "(not reported)" in layout.boxes[box]["text"], box
    assert "n = nan" not in all_text


def test_new_review_template_words_the_included_box_as_prisma_does():
    # a new review: one box, "Studies included in review" and "Reports of included studies",
    # whatever labels the sheet gives; total_* stands in for new_* when only it is given
    fig, layout = prisma_flow(FULL)
    assert layout.template == "new" and "total" not in layout.boxes and "previous" not in layout.boxes
    assert _flat(layout.boxes["included"]) == "Studies included in review (n = 25) Reports of included studies (n = 27)"
    fig, layout = prisma_flow(DB_ONLY)
    assert _flat(layout.boxes["included"]) == "Studies included in review (n = 14) Reports of included studies (not reported)"
    assert [h["text"].replace("\n", " ") for h in layout.headers] == ["Identification of studies via databases and registers"]
    # a previous version named but with no count is still a new review
    unreported = pd.concat([pd.DataFrame([("previous_studies", "Previous", None, "not_reported")], columns=FULL.columns), DB_ONLY])
    assert prisma_flow(unreported)[1].template == "new"


SEARCHED = pd.DataFrame({"source_name": ["PubMed", "EMBASE"], "kind": ["database", "database"]})


def test_only_sources_that_were_searched_are_listed():
    counts = pd.concat([DB_ONLY, pd.DataFrame([("register_results", "Registers", None, "not_reported"),
                                               ("citations_results", "Citation searching", None, "not_reported"),
                                               ("other_assessed", "Reports assessed for eligibility", None, "not_reported")],
                                              columns=DB_ONLY.columns)])
    # without the search sheet every source in the counts is listed
    fig, layout = prisma_flow(counts)
    assert "Registers (not reported)" in _flat(layout.boxes["identified"]) and "other_identified" in layout.boxes
    # the search sheet lists databases only: no register line, no other-methods branch
    fig, layout = prisma_flow(counts, search=SEARCHED)
    assert _flat(layout.boxes["identified"]) == "Records identified from: PubMed (not reported) EMBASE (not reported)"
    assert not any(k.startswith("other_") for k in layout.boxes)
    assert "via databases." in layout.alt
    # registers and citation searching in the search sheet bring their lines and branch back
    more = pd.concat([SEARCHED, pd.DataFrame({"source_name": ["CENTRAL trials", "References"], "kind": ["register", "citation_searching"]})])
    fig, layout = prisma_flow(counts, search=more)
    assert "Registers (not reported)" in _flat(layout.boxes["identified"])
    assert _flat(layout.boxes["other_identified"]) == "Records identified from: Citation searching (not reported)"
    # a count the sheet reports is shown even if the search sheet does not list its kind
    reported = counts.copy()
    reported.loc[reported["data"] == "register_results", ["n", "status"]] = [7, "reported"]
    assert "Registers (n = 7)" in _flat(prisma_flow(reported, search=SEARCHED)[1].boxes["identified"])


def test_boxes_are_padded_and_do_not_overlap():
    for counts in (FULL, DB_ONLY):
        fig, layout = prisma_flow(counts)
        assert tuple(fig.get_size_inches()) == pytest.approx((style.TEXT_WIDTH_IN, fig.get_size_inches()[1]))
        for sid, b in layout.boxes.items():
            x0, y0, x1, y1 = b["bbox"]
            t0, s0, t1, s1 = b["text_bbox"]
            # at least 0.05 in (3.6 pt) between the text and every edge of its box
            assert min(t0 - x0, x1 - t1, s0 - y0, y1 - s1) >= 0.05, (sid, b["bbox"], b["text_bbox"])
            assert x1 <= style.TEXT_WIDTH_IN - 0.09, sid
        for (a, ba), (c, bc) in combinations(layout.boxes.items(), 2):
            ax0, ay0, ax1, ay1 = ba["bbox"]
            cx0, cy0, cx1, cy1 = bc["bbox"]
            assert ax1 <= cx0 or cx1 <= ax0 or ay1 <= cy0 or cy1 <= ay0, (a, c)
    removed = _flat(prisma_flow(FULL)[1].boxes["removed"])
    assert "Duplicate records removed (n = 2539)" in removed
    assert "Records removed for other reasons (not reported)" in removed


def test_headers_and_section_names_are_centred_in_their_bars():
    fig, layout = prisma_flow(FULL)
    assert len(layout.headers) == 2 and [b["text"] for b in layout.bars] == ["Identification", "Screening", "Included"]
    for part in layout.headers + layout.bars:
        x0, y0, x1, y1 = part["bbox"]
        t0, s0, t1, s1 = part["text_bbox"]
        assert (t0 + t1) / 2 == pytest.approx((x0 + x1) / 2, abs=0.01), part["text"]
        assert (s0 + s1) / 2 == pytest.approx((y0 + y1) / 2, abs=0.02), part["text"]
        assert x0 < t0 and t1 < x1 and y0 < s0 and s1 < y1, part["text"]


def test_header_text_stays_centred_when_saved_with_a_tight_bounding_box(tmp_path):
    # Jupyter's inline backend (and so Quarto) saves with bbox_inches="tight"; text and
    # boxes must move together, as they did not when boxes were placed in absolute inches.
    import numpy as np
    from matplotlib.image import imread

    fig, layout = prisma_flow(DB_ONLY)
    fig.savefig(tmp_path / "p.png", dpi=100, bbox_inches="tight")
    img = imread(tmp_path / "p.png")[..., :3]
    yellow = np.all(np.abs(img - np.array([0xfb, 0xe7, 0xa1]) / 255) < 0.02, axis=2)
    rows = np.nonzero(yellow.any(axis=1))[0]
    cols = np.nonzero(yellow.any(axis=0))[0]
    inside = img[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    dark = np.nonzero((inside.sum(axis=2) < 1.2).any(axis=1))[0]  # rows holding text
    assert len(dark), "no header text inside the header bar"
    top_gap, bottom_gap = dark.min(), (rows.max() - rows.min()) - dark.max()
    assert abs(top_gap - bottom_gap) <= 2, (top_gap, bottom_gap)


def test_alt_names_included_count():
    fig, layout = prisma_flow(FULL)
    assert "(new review)" in layout.alt and "Studies included in review (n = 25)." in layout.alt
    assert "2 of 20 counts are not reported" in layout.alt


def test_bundled_sheet_draws():
    path = ROOT / "extraction" / "prisma.csv"
    if not path.exists():
        pytest.skip("no bundled prisma sheet")
    counts = pd.read_csv(path, keep_default_na=False, na_values=[""])
    search = pd.read_csv(ROOT / "extraction" / "search.csv", keep_default_na=False, na_values=[""])
    fig, layout = prisma_flow(counts, search=search)
    kinds = set(search["kind"])
    for row in counts.itertuples():
        if row.data in INCLUDED_FIELDS:
            continue
        boxes = [b for b in layout.boxes.values() if row.data in b["fields"]]
        if row.data == "register_results" and "register" not in kinds and row.status != "reported":
            assert boxes == []  # not searched: not listed
            continue
        assert f"{row.label} {_expected(row)}" in _flat(boxes[0])


def test_empty_sheet_raises():
    with pytest.raises(NothingToDraw):
        prisma_flow(FULL.iloc[0:0])


def test_previous_studies_branch_of_an_updated_review():
    prev = pd.concat(
        [
            pd.DataFrame(
                [("previous_studies", "Studies included in previous version of review", 8, "reported"),
                 ("previous_reports", "Reports of studies included in previous version of review", None, "not_reported")],
                columns=["data", "label", "n", "status"],
            ),
            DB_ONLY,
        ]
    )
    fig, layout = prisma_flow(prev)
    assert layout.template == "updated"
    assert _flat(layout.boxes["previous"]) == ("Studies included in previous version of review (n = 8) "
                                               "Reports of studies included in previous version of review (not reported)")
    # new studies in one box, the total below it; both branches lead to the total
    assert _flat(layout.boxes["included"]) == "New studies included in review (not reported) Reports of new included studies (not reported)"
    assert _flat(layout.boxes["total"]) == "Total studies included in review (n = 14) Reports of total included studies (not reported)"
    assert {("previous", "total"), ("included", "total"), ("assessed", "included")} <= set(layout.arrows)
    assert layout.boxes["total"]["bbox"][3] < layout.boxes["included"]["bbox"][1]
    # the branch sits left of the database column
    assert layout.boxes["previous"]["bbox"][2] < layout.boxes["identified"]["bbox"][0]
    assert [h["text"].replace("\n", " ") for h in layout.headers] == [
        "Previous studies", "Identification of new studies via databases and registers"]
    assert "(updated review)" in layout.alt and "Total studies included in review (n = 14)." in layout.alt
    for row in DB_ONLY.itertuples():
        if row.data not in INCLUDED_FIELDS:
            b = next(b for b in layout.boxes.values() if row.data in b["fields"])
            assert f"{row.label} {_expected(row)}" in _flat(b)
