"""Long study-level tables go to the appendix: the plan's `study_tables.max_rows`.

A review of a thousand studies would otherwise print its characteristics table and its
adverse events by study over a hundred pages of the body.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from analysis.data.plan import PLAN_FILE, parse_plan
from analysis.errors import InputError
from analysis.render import render_project
from analysis.review import displays as D
from analysis.review.tables import pipe_table

from test_numbers import copy_project

# a valid plan of its own: the template's that `review new` starts from
BASE = yaml.safe_load((Path(__file__).resolve().parents[1] / "analysis/cli/template" / PLAN_FILE)
                      .read_text(encoding="utf-8"))
BASE.pop("study_tables", None)


def test_the_plan_sets_the_longest_table_the_body_holds():
    assert parse_plan(BASE).study_tables_max_rows == 60
    assert parse_plan(dict(BASE, study_tables={"max_rows": 5})).study_tables_max_rows == 5
    with pytest.raises(InputError, match=r"study_tables\.max_rows: expected a whole number >= 1, got 0"):
        parse_plan(dict(BASE, study_tables={"max_rows": 0}))
    with pytest.raises(InputError, match=r"study_tables\.rows: unknown key; allowed: max_rows"):
        parse_plan(dict(BASE, study_tables={"rows": 5}))


@pytest.mark.parametrize("rows, where, words", [
    (1, False, "one row"), (2, False, "two rows"), (5, False, "five rows"), (6, True, "six rows"),
    (1000, True, "1000 rows")])
def test_a_table_longer_than_the_limit_is_placed_in_the_appendix(rows, where, words):
    table = pipe_table(["Study", "n"], [[f"s{i}", str(i)] for i in range(rows)]) + ": Caption {#tbl-x}\n"
    plan = parse_plan(dict(BASE, study_tables={"max_rows": 5}))
    assert D.table_rows(table) == rows
    assert D.in_appendix(table, plan) is where
    assert D.appendix_sentence("study characteristics", table, "tbl-x") == \
        f"With {words}, the table of study characteristics is printed in the appendix (@tbl-x)."


def test_the_review_prints_its_long_tables_in_the_appendix(tmp_path):
    root = copy_project(tmp_path / "review")
    plan = yaml.safe_load((root / PLAN_FILE).read_text(encoding="utf-8"))
    plan["study_tables"] = {"max_rows": 5}
    (root / PLAN_FILE).write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    render_project(root, to="html", engine="builtin")
    text = re.sub(r"<[^>]+>", " ", (root / "_output/review.html").read_text(encoding="utf-8"))
    text = " ".join(text.replace("\u00a0", " ").split()).replace("( ", "(").replace(" )", ")")
    body, _, appendix = text.rpartition("Appendix")  # the heading, after the contents' entry
    for what, caption in (("study characteristics", "Characteristics of the studies"),
                          ("adverse events by study and arm", "Adverse events by study and arm as recorded")):
        pointer = re.search(rf"With (\d+) rows, the table of {what} is printed in the appendix \(Table (\d+)\)", body)
        assert pointer, what
        assert int(pointer.group(1)) > 5
        assert f"Table {pointer.group(2)}: {caption}" in appendix and caption not in body
    # the ledger stays the appendix's last table, under its own heading
    assert appendix.index("Characteristics of the studies") < appendix.index("The full reproduction ledger")
