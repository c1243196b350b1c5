"""Markdown tables: the formatter, and each review table's rows and numbers."""

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.review import tables
from analysis.data.plan import load_plan
from analysis.data.load import load_sheets
from analysis.review.synthesis import synthesise
from fixture_paths import BUNDLED, REPO

ROOT = BUNDLED  # the frozen copy of the bundled review (tests/fixtures/bundled)


@pytest.fixture(scope="module")
def data():
    sheets = load_sheets(ROOT)
    return sheets, synthesise(sheets, load_plan(ROOT))


def body(md):
    """Data rows of a pipe table as lists of cells (escaped pipes kept inside cells)."""
    rows = []
    for line in md.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().replace("\\|", "|") for c in
                 re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        rows.append(cells)
    return rows


def test_formatter_escapes_aligns_and_fills_empty_cells():
    md = tables.pipe_table(["a|b", "n"], [[tables.cell("x|y"), tables.num(1.005)],
                                          [tables.cell(None), tables.num(float("nan"))]], "lr")
    assert md == "| a\\|b | n |\n| :------ | ------: |\n| x\\|y | 1.00 |\n| — | — |\n"
    # rule dashes follow the longest cell, capped, so pandoc gives prose columns more room
    wide = tables.pipe_table(["code", "text"], [["a", "word " * 20]])
    assert wide.splitlines()[1] == "| :" + "-" * 6 + " | :" + "-" * 40 + " |"
    # too much text for one line: every column keeps its longest word, the spare room is
    # shared out in proportion to what each long column could use
    crowded = tables.pipe_table(["h"] * 5, [["abcdefghij " * 6] * 5])
    assert crowded.splitlines()[1] == "| " + " | ".join([":" + "-" * 20] * 5) + " |"
    # longest words too long for one line together: words up to SHORT_WORD letters keep their
    # room (12 dashes with the cell's padding), longer ones are cut to it and may be hyphenated
    long_words = tables.pipe_table(["h"] * 8, [["contralesionally " + "x" * 14] * 8])
    assert long_words.splitlines()[1] == "| " + " | ".join([":" + "-" * 12] * 8) + " |"
    short_words = tables.pipe_table(["h"] * 8, [["subacute abstract"] * 7 + ["contralesionally " * 3]])
    dashes = [len(c.strip(" :")) for c in short_words.splitlines()[1].strip("|").split("|")]
    assert min(dashes[:7]) >= len("abstract") + 2 and dashes[7] > len("contralesionally") + 2
    # nine columns or more print smaller, so more fits; a landscape page holds more again
    assert tables._rule_widths([["w" * 10]] * 9) == [12] * 9
    assert tables._rule_widths([["w" * 10]] * 10) == [12] * 10          # 120 > 110: the long words are cut
    assert tables._rule_widths([["w" * 14]] * 10) == [12] * 10
    assert tables._rule_widths([["w" * 14]] * 10, tables.LANDSCAPE_LINE_CHARS) == [16] * 10
    assert tables.num(-0.001) == "0.00" and tables.num(2.5, 1) == "2.5"
    # one minus sign (U+2212) everywhere, and an interval that does not break across lines
    assert tables.interval(-7.2407, -1.4993) == "\u22127.24\u00a0to\u00a0\u22121.50"
    assert tables.num(-4.366) == "\u22124.37"
    assert tables.cell("0.16\u00a0to\u00a04.88 and\n more") == "0.16\u00a0to\u00a04.88 and more"
    # a non-breaking interval counts as one word when the columns are sized
    assert tables.pipe_table(["x"], [["12345\u00a0to\u00a012345"]]).splitlines()[1] == "| :" + "-" * 16 + " |"
    assert tables.count(32.0) == "32" and tables.cell(pd.NA, "not reported") == "not reported"
    assert tables.cell("two\nlines") == "two lines"
    with pytest.raises(ValueError):
        tables.pipe_table(["a"], [["1", "2"]])


def test_study_characteristics_one_row_per_included_study(data):
    import sys

    sys.path.insert(0, str(ROOT))
    import review_tables  # the bundled review's own cells

    sheets, _ = data
    md = tables.characteristics_table(sheets, review_tables.COLUMNS)
    rows = body(md)
    st = sheets["studies"]
    inc = st[st["included"] == "yes"]
    assert len(rows) == len(inc)
    by = {r[0]: r for r in rows}
    kim = by["Kim 2014"]
    assert kim[1] == "RCT" and kim[2] == "acute" and kim[3] == "32 (22/10)"
    assert kim[4] == "LF-rTMS, 1 Hz" and kim[6] == "5" and kim[8] == "sham"
    assert by["Rosso 2022"][3] == "27 analysed" and "biconical 110 mm coil" in by["Rosso 2022"][5]
    assert by["Unidentified study 1 (not identified)"][1:] == ["—"] * 9
    assert by["Im 2022"][2] == "NR"  # empty phase: not reported
    assert by["Li 2021"][2] == "subacute or chronic" and by["Li 2021"][4] == "LF-rTMS + cTBS"
    assert "10MWT time" in by["Kim 2014"][9]
    assert "Dai 2023" not in by
    cited = tables.characteristics_table(sheets, review_tables.COLUMNS, cite=True)
    assert "| @kim2014 |" in cited and "@unidentified1" not in cited  # the citation is the label


def test_results_summary_numbers_come_from_the_synthesis(data):
    _, syn = data
    rows = {r[0]: r for r in body(tables.results_summary(syn))}
    bbs = syn.analysis("BBS").effects.iloc[0]
    r = rows["Berg Balance Scale"]
    assert r[1:4] == ["MD", "1", "32"]
    assert r[4] == tables.num(bbs['yi']) and r[5] == tables.interval(bbs['ci_lb'], bbs['ci_ub'])
    assert r[6] == "—" and r[8] == "single study^a^" and len(r) == 9  # the note is a footnote
    notes = tables.results_notes(syn).strip().split("\n\n")
    assert notes[0].startswith("^a^ One study (Im 2022), so not pooled") and "follow-up" in notes[0]
    ex = syn.analysis("BBS_SMD_any_change").result
    e = rows["Berg Balance Scale, change or percent change (SMD)"]
    assert e[4] == tables.num(ex.estimate) and e[6] == tables.interval(ex.pi_lb, ex.pi_ub)
    mark = e[8][len("pooled"):]
    assert e[7] == f"{ex.i2:.0f}%" and e[8].startswith("pooled^")
    assert [n for n in notes if n.startswith(mark + " Exploratory: ")]
    # outcomes with the same note share its letter, and each note is printed once
    same = [r[8] for r in rows.values() if r[8].startswith("no usable data")]
    assert len(same) > 1 and len(set(same)) == 1 and len(notes) == len(set(notes))
    assert rows["Trunk Impairment Scale"][2:5] == ["0", "—", "—"]
    assert len(rows) == len(syn.plan.outcomes)


def test_safety_tables(data):
    sheets, syn = data
    rows = body(tables.safety_totals(syn))
    tot = syn.safety.totals
    vert = tot[(tot["event"] == "vertigo") & (tot["role"] == "active")].iloc[0]
    v = [r for r in rows if r[:2] == ["vertigo", "active"]][0]
    assert v[2] == f"{int(vert['events'])}/{int(vert['at_risk'])}"
    assert v[4] == f"{100 * vert['proportion']:.1f}"
    assert v[5] == tables.interval(100 * vert['ci_lb'], 100 * vert['ci_ub'], 1)
    tw = [r for r in rows if r[:2] == ["twitching", "active"]][0]
    assert tw[2].startswith("22/?^") and tw[4] == "—"  # denominators unknown: no proportion
    mark = tw[2][len("22/?"):]
    assert f"{mark} Number at risk unknown for Dai 2023, so no proportion is computed." in \
        tables.safety_totals_notes(syn).strip().split("\n\n")
    by_study = body(tables.safety_by_study(syn))
    assert ["Im 2022", "Cerebellar rTMS", "active", "vertigo", "1/16", "—", "reported"] in by_study
    assert ["Koch 2019", "whole study", "—", "any", "—", "—", "not reported"] in by_study
    assert sum(r[0] == "Kim 2014" for r in by_study) == 2  # the stated "none" per arm, once each


def test_availability_and_plan_and_ledger_tables(data):
    sheets, syn = data
    md = tables.data_availability(syn)
    rows = {r[0]: r for r in body(md)}
    header = md.splitlines()[0]
    assert header.startswith("| Study | BBS | TUG |")
    assert rows["Im 2022"][1:4] == ["yes", "yes", "yes"]
    assert rows["Kim 2014"][1] == "%" and rows["Koch 2019"][1] == "P" and rows["Li 2021"][8] == "NC"
    assert "NI: study not identified" in md
    plan_rows = body(tables.plan_table(syn.plan))
    assert plan_rows[0][:3] == ["Berg Balance Scale", "BBS", "MD"] and plan_rows[-1][-1] == "yes"
    led = pd.DataFrame([dict(claim_id="C1", section="5.2", description="a|b", published="11",
                             reproduced="10", status="differs", explanation="", sheet="studies")])
    full = tables.ledger_table(led).splitlines()
    assert full[0] == "| Claim | Published section | Statement | Published | Sheets | Status | Explanation |"
    assert full[2] == "| C1 | 5.2 | a\\|b | 11 | 10 | differs | — |"
    # the explanation column gets most of the line
    assert full[1].split("|")[7].count("-") == 44


def _ledger_rows(statuses):
    return pd.DataFrame([dict(claim_id=f"C{i:02d}", section="3", description=f"Statement {i}",
                              published="2", reproduced="1" if st == "differs" else "2", status=st,
                              explanation="", sheet="" if st == "no sheet" else "studies")
                         for i, st in enumerate(statuses, 1)]).replace({"status": {"no sheet": "cannot be checked"}})


def test_ledger_summary_counts_each_outcome_and_names_what_differs():
    led = _ledger_rows(["reproduced", "consistent (taken from the review)"] * 1
                       + ["consistent (taken from the review)"] * 3 + ["differs", "cannot be checked",
                                                                       "no sheet", "no sheet"])
    rows = body(tables.ledger_summary(led))
    assert [r[1] for r in rows] == ["1", "4", "1", "1", "2"]
    assert rows[0][2] == "C01"
    assert rows[1][2] == "C02\u2060\u2013\u2060C05"  # a run of neighbours as a range that does not break
    assert rows[2][2] == "C06: statement 6 (published 2, sheets 1)"
    assert rows[4][0] == "Cannot be checked: no sheet records such a quantity" and rows[4][2] == "C08, C09"
    # an outcome no claim has keeps its row, with a zero
    none = body(tables.ledger_summary(_ledger_rows(["reproduced"])))
    assert [r[1] for r in none] == ["1", "0", "0", "0", "0"] and none[2][2] == "—"


def test_search_table_has_one_row_per_source_with_its_string_and_date():
    sheets = load_sheets(BUNDLED)
    lines = tables.search_table(sheets).splitlines()
    # date and limits are the same for every source: said once under the table
    assert lines[0] == "| Source | Kind | Search string |"
    assert tables.search_table_note(sheets) == \
        "The same in every row: date searched: before 2024-03-01; limits: none reported.\n"
    body = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    se = sheets["search"]
    assert [r[0] for r in body] == list(se["source_name"])
    query = "(cerebellum) AND (transcranial magnetic stimulation) AND (stroke) AND (movement)"
    assert body[0] == ["Web of Science", "database", query]
    assert body[-1] == ["Reference lists and citing articles", "citation searching", "none (not a string search)"]
    assert tables.search_date("2025-01-10", "on") == "2025-01-10"
    assert tables.search_date(None, None) == "not reported"


def test_constant_columns_are_lifted_out_of_the_table():
    headers = ["Name", "Model", "Kind"]
    rows = [["a", "REML", "x"], ["b", "REML", "y"], ["c", "REML", "x"]]
    kept, body_rows, lifted = tables.lift_constant(headers, rows)
    assert kept == ["Name", "Kind"] and body_rows[1] == ["b", "y"] and lifted == [("Model", "REML")]
    assert tables.lifted_note(lifted) == "The same in every row: model: REML.\n"
    # the first column names the rows and stays; two rows are too few to call a column constant
    assert tables.lift_constant(headers, [["a", "REML", "x"], ["a", "REML", "x"]])[2] == []
    assert tables.lift_constant(["Name"], [["a"]] * 3) == (["Name"], [["a"]] * 3, [])
    assert tables.lifted_note([]) == ""


def test_plan_table_says_once_what_every_outcome_shares(data):
    _, syn = data
    lines = tables.plan_table(syn.plan).splitlines()
    assert "Model" not in lines[0] and "Minimum studies" not in lines[0]
    assert tables.plan_table_note(syn.plan).startswith("The same in every row: time point: end of treatment")


def test_availability_codes_tell_not_measured_from_measured_without_values():
    code = tables.availability_code
    assert code("yes", "", "") == "yes"
    assert code("no", "not reported", "not measured or not found") == "NM"
    assert code("no", "not reported", "measured, but no values in the sources read") == "NR"
    assert code("no", "not reported", "measured, but the values were not found") == "NR"
    assert code("no", "not reported", "no accepted data form (median)") == "NR"
    assert code("no", "only p-values or F statistics", "") == "P"
