"""`review reconcile`: two copies of the bundled sheets, with disagreements planted in the second."""

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.errors import InputError
from analysis.living.reconcile import Disagreement, reconcile

from fixture_paths import BUNDLED  # noqa: E402

EXTRACTION = BUNDLED / "extraction"
BOM = b"\xef\xbb\xbf"
KIM_BBS = "kim2014 / real / BBS / post / percent_change"


def read(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))


def write(path, records, newline="\n", bom=False):
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(records)
    path.write_bytes((BOM if bom else b"") + buf.getvalue().encode("utf-8"))


def find(records, **key):
    """Index of the one record whose cells match `key`."""
    head = records[0]
    hits = [i for i, r in enumerate(records) if i and all(r[head.index(c)] == v for c, v in key.items())]
    assert len(hits) == 1, key
    return hits[0]


def set_cell(records, column, value, **key):
    row = records[find(records, **key)]
    old = row[records[0].index(column)]
    row[records[0].index(column)] = value
    return old


def facts(found):
    return [(d.sheet, d.study, d.row, d.column, d.a, d.b) for d in found]


@pytest.fixture
def pair(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(EXTRACTION, a)
    shutil.copytree(EXTRACTION, b)
    return a, b


@pytest.fixture
def planted(pair):
    """B with six real disagreements and several differences that are only formatting."""
    a, b = pair
    out = read(b / "outcomes.csv")
    assert set_cell(out, "mean", "46.9", study="kim2014", arm="real", outcome="BBS", timepoint="post") == "46.4"
    # same values, written differently: not disagreements
    assert set_cell(out, "n", "22.0", study="kim2014", arm="real", outcome="BBS", timepoint="post") == "22"
    assert set_cell(out, "sd", "100.20", study="kim2014", arm="real", outcome="BBS", timepoint="post") == "100.2"
    write(b / "outcomes.csv", out, bom=True)

    studies = read(b / "studies.csv")
    assert set_cell(studies, "phase", "subacute", study="koch2019") == "chronic"
    write(b / "studies.csv", [[f"  {c} " for c in r] for r in studies])

    arms = read(b / "arms.csv")
    del arms[find(arms, study="koch2019", arm="sham")]
    write(b / "arms.csv", arms, newline="\r\n")

    ae = read(b / "adverse_events.csv")
    new = ["koch2019", "itbs", "headache", "2", "", "mild", "reported", "https://example.org", "table 2", ""]
    write(b / "adverse_events.csv", [ae[0], *reversed(ae[1:]), new])

    prisma = read(b / "prisma.csv")
    write(b / "prisma.csv", [r + (["checked_by"] if i == 0 else ["JS"]) for i, r in enumerate(prisma)])

    (b / "risk_of_bias.csv").unlink()
    return a, b


PLANTED = [
    ("studies", "koch2019", "koch2019", "phase", "chronic", "subacute"),
    ("arms", "koch2019", "koch2019 / sham", "(row)", "present", "absent"),
    ("outcomes", "kim2014", KIM_BBS, "mean", "46.4", "46.9"),
    ("adverse_events", "koch2019", "koch2019 / itbs / headache", "(row)", "absent", "present"),
    ("prisma", "", "", "checked_by", "absent", "present"),
    ("risk_of_bias", "", "", "(file)", "present", "absent"),
]


def test_finds_exactly_the_planted_disagreements_in_order(planted):
    found = reconcile(*planted)
    assert facts(found) == PLANTED


def test_lines_point_at_the_rows(planted):
    found = {(d.sheet, d.column): d for d in reconcile(*planted)}
    assert (found["outcomes", "mean"].line_a, found["outcomes", "mean"].line_b) == (4, 4)
    assert (found["arms", "(row)"].line_a, found["arms", "(row)"].line_b) == (6, None)
    added = found["adverse_events", "(row)"]
    assert added.line_a is None and added.line_b == len(read(EXTRACTION / "adverse_events.csv")) + 1


def test_identical_copies_agree(pair, capsys):
    a, b = pair
    assert reconcile(a, b) == []
    assert main(["reconcile", str(a), str(b)]) == 0
    out = capsys.readouterr()
    assert out.out == f"no disagreements: {a} and {b} agree on every cell of 7 sheets\n"  # the bundled datapackage declares 7
    assert out.err == ""


def test_project_root_is_accepted(planted, tmp_path):
    a, b = planted
    root = tmp_path / "project"
    root.mkdir()
    shutil.move(str(a), str(root / "extraction"))
    assert facts(reconcile(root, b)) == PLANTED
    assert reconcile(root, root / "extraction") == []


def test_cli_prints_table_and_one_line_error(planted, capsys):
    a, b = planted
    assert main(["reconcile", str(a), str(b)]) == 1
    out = capsys.readouterr()
    assert out.err == f"review reconcile: 6 disagreements between {a} and {b}\n"
    lines = out.out.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["study", "sheet", "row", "column", "A", "B"]
    assert set(lines[1]) == {"-", " "}
    assert len(lines) == 2 + len(PLANTED)
    assert re.split(r"\s{2,}", lines[4]) == ["kim2014", "outcomes", KIM_BBS, "mean", "46.4", "46.9"]
    # columns are aligned: every cell starts where its header does
    assert lines[4].index("mean") == lines[0].index("column")


def test_csv_output(planted, capsys):
    a, b = planted
    assert main(["reconcile", str(a), str(b), "--csv"]) == 1
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["study", "sheet", "row", "column", "value_a", "value_b"]
    assert [tuple(r) for r in rows[1:]] == [(p[1], p[0], *p[2:]) for p in PLANTED]


def test_csv_output_when_they_agree_is_the_header_alone(pair, capsys):
    a, b = pair
    assert main(["reconcile", str(a), str(b), "--csv"]) == 0
    out = capsys.readouterr()
    assert out.out == "study,sheet,row,column,value_a,value_b\n"
    assert out.err.startswith("no disagreements:")


def test_ignore_drops_a_column(pair, capsys):
    a, b = pair
    arms = read(b / "arms.csv")
    set_cell(arms, "note", "checked twice", study="kim2014", arm="real")
    set_cell(arms, "label", "Active rTMS", study="kim2014", arm="real")
    write(b / "arms.csv", arms)
    assert facts(reconcile(a, b)) == [
        ("arms", "kim2014", "kim2014 / real", "label", "Real rTMS", "Active rTMS"),
        ("arms", "kim2014", "kim2014 / real", "note", "", "checked twice"),
    ]
    assert facts(reconcile(a, b, ignore={"note"})) == [
        ("arms", "kim2014", "kim2014 / real", "label", "Real rTMS", "Active rTMS"),
    ]
    assert main(["reconcile", str(a), str(b), "--csv", "--ignore", "note", "--ignore", "label"]) == 0
    assert capsys.readouterr().out == "study,sheet,row,column,value_a,value_b\n"


def test_numbers_compare_by_value_text_exactly(pair):
    a, b = pair
    oa, ob = read(a / "outcomes.csv"), read(b / "outcomes.csv")
    key = dict(study="im2022", arm="rtms", outcome="TUG", timepoint="T0-T1")
    for records, mean, sd, p, unit in ((oa, "n/a", "", "1e-2", "s"), (ob, "NA", "0", "0.010", "S")):
        set_cell(records, "mean", mean, **key)
        set_cell(records, "sd", sd, **key)
        set_cell(records, "p_value", p, **key)
        set_cell(records, "unit", unit, **key)
    write(a / "outcomes.csv", oa)
    write(b / "outcomes.csv", ob)
    row = "im2022 / rtms / TUG / T0-T1 / change"
    assert facts(reconcile(a, b)) == [
        ("outcomes", "im2022", row, "mean", "n/a", "NA"),  # unparseable: compared as text
        ("outcomes", "im2022", row, "sd", "", "0"),  # empty is not zero
        ("outcomes", "im2022", row, "unit", "s", "S"),  # text is case-sensitive
    ]


def test_rows_follow_a_then_rows_only_in_b(pair):
    a, b = pair
    arms = read(b / "arms.csv")
    set_cell(arms, "n_randomised", "11", study="kim2014", arm="sham")
    del arms[find(arms, study="kim2014", arm="real")]
    arms.insert(1, ["zhang2099", "x", "X", "active", "", "", "", "", "", ""])
    write(b / "arms.csv", arms)
    assert facts(reconcile(a, b)) == [
        ("arms", "kim2014", "kim2014 / real", "(row)", "present", "absent"),
        ("arms", "kim2014", "kim2014 / sham", "n_randomised", "10", "11"),
        ("arms", "zhang2099", "zhang2099 / x", "(row)", "absent", "present"),
    ]


def test_schema_differences_are_listed_not_fatal(pair):
    a, b = pair
    pkg = json.loads((b / "datapackage.json").read_text(encoding="utf-8"))
    res = {r["name"]: r for r in pkg["resources"]}
    res["arms"]["schema"]["fields"] = [f for f in res["arms"]["schema"]["fields"] if f["name"] != "note"]
    next(f for f in res["outcomes"]["schema"]["fields"] if f["name"] == "n")["type"] = "number"
    pkg["resources"] = [r for r in pkg["resources"] if r["name"] != "prisma"]
    (b / "datapackage.json").write_text(json.dumps(pkg), encoding="utf-8")
    assert facts(reconcile(a, b)) == [
        ("arms", "", "datapackage.json", "note", "string", "absent"),
        ("outcomes", "", "datapackage.json", "n", "integer", "number"),
        ("prisma", "", "datapackage.json", "(sheet)", "present", "absent"),
    ]


def test_duplicate_primary_key_is_one_line_error(pair, capsys):
    a, b = pair
    arms = read(b / "arms.csv")
    write(b / "arms.csv", arms + [arms[1]])
    line = len(arms) + 1
    with pytest.raises(InputError) as exc:
        reconcile(a, b)
    assert str(exc.value) == (f"{b / 'arms.csv'}:{line}: duplicate primary key (study, arm) kim2014 / real; "
                              "first on line 2")
    assert main(["reconcile", str(a), str(b)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == f"review reconcile: {exc.value}\n"


def test_unreadable_row_names_file_and_line(pair):
    a, b = pair
    with open(a / "prisma.csv", "a", encoding="utf-8") as f:
        f.write("database_results,Scopus\n")
    with pytest.raises(InputError, match=re.escape(f"{a / 'prisma.csv'}:{len(read(b / 'prisma.csv')) + 1}: row has 2 cells")):
        reconcile(a, b)


def test_missing_folder_and_non_extraction_folder(pair, tmp_path, capsys):
    a, _ = pair
    missing = tmp_path / "nope"
    with pytest.raises(InputError) as exc:
        reconcile(a, missing)
    assert str(exc.value) == f"{missing}: no such folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError) as exc:
        reconcile(empty, a)
    assert str(exc.value) == f"{empty}: not an extraction folder: no datapackage.json in it or in {empty / 'extraction'}"
    assert main(["reconcile", str(a), str(missing)]) == 1
    assert capsys.readouterr().err == f"review reconcile: {missing}: no such folder\n"


def test_long_values_are_shown_where_they_differ(pair, capsys):
    a, b = pair
    ae = read(b / "adverse_events.csv")
    note = ae[find(ae, study="kim2014", arm="real", event="any")][-1]
    assert len(note) > 80
    set_cell(ae, "note", note.replace("randomised n.", "analysed n."), study="kim2014", arm="real", event="any")
    write(b / "adverse_events.csv", ae)
    found = reconcile(a, b)
    assert found == [Disagreement("adverse_events", "kim2014", "kim2014 / real / any", "note", note,
                                  note.replace("randomised n.", "analysed n."), 2, 2)]
    main(["reconcile", str(a), str(b)])
    row = capsys.readouterr().out.splitlines()[2]
    assert row.endswith("note    …the arm's randomised n.  …the arm's analysed n.")
