"""PRISMA 2020 flow diagram: each count shows its number or "not reported", boxes fit their text."""

from itertools import combinations
from pathlib import Path

import pandas as pd
import pytest

from analysis.figures import NothingToDraw, prisma_flow

ROOT = Path(__file__).resolve().parents[1]

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


def _expected(row) -> str:
    return f"(n = {int(row.n)})" if row.status == "reported" else "(not reported)"


@pytest.mark.parametrize("counts", [FULL, DB_ONLY], ids=["full", "databases-only"])
def test_every_count_shows_its_number_or_not_reported(counts):
    fig, layout = prisma_flow(counts)
    all_text = "\n".join(b["text"] for b in layout.boxes.values())
    for row in counts.itertuples():
        box = next(b for b in layout.boxes.values() if row.data in b["fields"])
        flat = box["text"].replace("\n", " ")
        assert f"{row.label} {_expected(row)}" in flat, (row.data, flat)
    # the main chain is always drawn; a count absent from the sheet reads "not reported"
    for box in ("identified", "removed", "screened", "screen_excluded", "sought", "not_retrieved", "assessed", "excluded", "included"):
        assert box in layout.boxes
        if not set(layout.boxes[box]["fields"]) & set(counts["data"]):
            # a box whose counts the sheet lacks says so
            assert "(not reported)" in layout.boxes[box]["text"], box
    assert "n = nan" not in all_text


def test_other_methods_branch_only_when_present():
    fig, layout = prisma_flow(FULL)
    assert {"other_identified", "other_sought", "other_assessed", "other_excluded"} <= set(layout.boxes)
    assert ("other_assessed", "included") in layout.arrows
    fig2, layout2 = prisma_flow(DB_ONLY)
    assert not any(k.startswith("other_") for k in layout2.boxes)
    assert "via databases and registers." in layout2.alt


def test_boxes_hold_their_text_and_do_not_overlap():
    fig, layout = prisma_flow(FULL)
    for sid, b in layout.boxes.items():
        x0, y0, x1, y1 = b["bbox"]
        t0, s0, t1, s1 = b["text_bbox"]
        assert x0 < t0 and t1 < x1 and y0 < s0 and s1 < y1, sid
    for (a, ba), (c, bc) in combinations(layout.boxes.items(), 2):
        ax0, ay0, ax1, ay1 = ba["bbox"]
        cx0, cy0, cx1, cy1 = bc["bbox"]
        assert ax1 <= cx0 or cx1 <= ax0 or ay1 <= cy0 or cy1 <= ay0, (a, c)
    # a long reason wraps inside its box instead of running past the edge or widening it
    from analysis.figures.prisma import WRAP_CHARS
    for b in layout.boxes.values():
        for line in b["text"].split("\n"):
            assert len(line) <= WRAP_CHARS, line
    removed = layout.boxes["removed"]["text"].replace("\n", " ")
    assert "Duplicate records removed (n = 2539)" in removed
    assert "Records removed for other reasons (not reported)" in removed


def test_alt_names_included_count():
    fig, layout = prisma_flow(FULL)
    assert "Studies included in review (n = 25)" in layout.alt
    assert "2 of 20 counts are not reported" in layout.alt


def test_bundled_sheet_draws():
    path = ROOT / "extraction" / "prisma.csv"
    if not path.exists():
        pytest.skip("no bundled prisma sheet")
    counts = pd.read_csv(path, keep_default_na=False, na_values=[""])
    fig, layout = prisma_flow(counts)
    for row in counts.itertuples():
        box = next(b for b in layout.boxes.values() if row.data in b["fields"])
        assert f"{row.label} {_expected(row)}" in box["text"].replace("\n", " ")


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
    box = layout.boxes["previous"]
    assert "(n = 8)" in box["text"] and "(not reported)" in box["text"]
    assert ("previous", "included") in layout.arrows
    # the branch sits left of the database column
    assert box["bbox"][2] < layout.boxes["identified"]["bbox"][0]
    for row in prev.itertuples():
        b = next(b for b in layout.boxes.values() if row.data in b["fields"])
        assert f"{row.label} {_expected(row)}" in b["text"].replace("\n", " ")
