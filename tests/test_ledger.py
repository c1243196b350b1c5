"""The reproduction ledger: claims recomputed from the sheets, compared with the review."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.errors import InputError
from analysis.data.claims import CLAIM_COLUMNS, OPTIONAL_CLAIM_COLUMNS, check_claims, load_claims
from analysis.review.ledger import (DIFFERS, NO_SHEET, REPRODUCED, TAKEN, UNCHECKABLE, evaluate,
                                    ledger, outcome_groups)
from analysis.data.load import load_sheets
from fixture_paths import BUNDLED, REPO

ROOT = BUNDLED  # the frozen copy of the bundled review (tests/fixtures/bundled)


@pytest.fixture(scope="module")
def sheets():
    return load_sheets(ROOT)


@pytest.fixture(scope="module")
def led(sheets):
    return evaluate(sheets, load_claims(ROOT)).set_index("claim_id")


FLAT = {"flat", "figure-eight", "circular"}
NAMED_FLAT = {"bonni2014", "kim2014", "koch2019", "chen2021", "li2021", "liao2021", "xie2021",
              "im2022", "einstein2023", "liao2024"}


def test_reproduced_values_equal_what_the_sheets_give(sheets, led):
    st = sheets["studies"]
    inc = st[st["included"] == "yes"]
    assert led.loc["C03", "reproduced"] == str((inc["scope"] == "upper-limb").sum())
    assert led.loc["C10", "reproduced"] == str(
        (st["study"].isin(NAMED_FLAT) & st["coil_type"].isin(FLAT)).sum())
    assert led.loc["C17", "reproduced"] == str(int(st.loc[st["study"] == "dai2023", "n_total"].iloc[0]))
    ae = sheets["adverse_events"].merge(sheets["arms"][["study", "arm", "role"]], on=["study", "arm"])
    liao = ae[(ae["study"] == "liao2021") & (ae["event"] == "headache") & (ae["role"] == "active")]
    assert led.loc["C25", "reproduced"] == str(int(liao["events"].sum()))
    pr = sheets["prisma"]
    assert led.loc["C38", "reproduced"] == str(pr.loc[pr["data"] == "database_results", "label"].nunique())
    assert led.loc["C07", "reproduced"] == st.loc[st["study"] == "liao2024", "phase"].iloc[0]


def test_statuses_of_the_known_disagreements(sheets, led):
    # Section 5.2's eleven flat-coil studies: ten are known, the rest have no coil recorded.
    st = sheets["studies"]
    inc = st[st["included"] == "yes"]
    assert led.loc["C11", "status"] == UNCHECKABLE
    assert led.loc["C11", "reproduced"] == str(inc["coil_type"].isin(FLAT).sum())
    labels = dict(zip(st["study"], st["label"]))
    for study in inc.loc[inc["coil_type"].isna(), "study"]:
        # named by label, never by key
        assert labels[study] in led.loc["C11", "explanation"]
        assert study not in led.loc["C11", "explanation"]
    # The ten names of section 5.1 cannot make eleven.
    named_flat = st[st["study"].isin(NAMED_FLAT) & st["coil_type"].isin(FLAT)]
    assert (led.loc["C12", "status"], led.loc["C12", "reproduced"]) == (DIFFERS, str(len(named_flat)))
    assert len(named_flat) < int(led.loc["C12", "published"])
    # Liao 2024: acute in section 5.3, subacute in its abstract.
    assert led.loc["C07", "status"] == DIFFERS and led.loc["C06", "status"] == DIFFERS
    assert led.loc["C03", "status"] == REPRODUCED
    # the search date comes from the search sheet, which copies it from the review itself
    assert (led.loc["C39", "status"], led.loc["C39", "reproduced"]) == (TAKEN, "2024-03-01")
    assert "not an independent check" in led.loc["C39", "explanation"]
    assert led.loc["C36", "status"] == UNCHECKABLE and led.loc["C36", "reproduced"] == ""
    # A value the sheet copied from the review itself is flagged as no independent check.
    assert "not an independent check" in led.loc["C27", "explanation"]
    assert set(led["status"]) == {REPRODUCED, TAKEN, DIFFERS, UNCHECKABLE}


def _project_copy(tmp_path):
    shutil.copytree(ROOT / "extraction", tmp_path / "extraction")
    if (ROOT / "references.bib").exists():
        shutil.copy(ROOT / "references.bib", tmp_path / "references.bib")
    return tmp_path


def test_changing_a_sheet_changes_the_ledger(tmp_path):
    root = _project_copy(tmp_path)
    path = root / "extraction" / "studies.csv"
    st = pd.read_csv(path, dtype=str, keep_default_na=False)
    st.loc[st["study"] == "liao2024", "phase"] = "acute"
    st.loc[st["study"] == "dai2023", "n_total"] = "40"
    st.to_csv(path, index=False)
    led = ledger(root).set_index("claim_id")
    assert led.loc["C07", "status"] == REPRODUCED
    assert (led.loc["C06", "status"], led.loc["C06", "reproduced"]) == (REPRODUCED, "3")
    assert (led.loc["C17", "status"], led.loc["C17", "reproduced"]) == (DIFFERS, "40")


def _claims(*rows):
    return pd.DataFrame([dict(zip(CLAIM_COLUMNS, r)) for r in rows], columns=list(CLAIM_COLUMNS))


TINY = {
    "studies": pd.DataFrame({"study": ["a", "b", "c", "u"], "identified": ["yes", "yes", "yes", "no"],
                             "phase": ["acute", "acute", None, None], "n_total": [10, None, 5, None],
                             "source": ["x", "x", "x", "seed section 3"]}),
}


@pytest.mark.parametrize("claim, status, reproduced", [
    (("k", "3", "d", "2", "studies", "phase=acute; study in a|b", "count", ""), REPRODUCED, "2"),
    (("k", "3", "d", "2", "studies", "phase=acute", "count", ""), UNCHECKABLE, "2"),
    (("k", "3", "d", "1", "studies", "phase=acute", "count", ""), DIFFERS, "2"),       # known rows exceed
    (("k", "3", "d", "3", "studies", "phase=acute", "count", ""), UNCHECKABLE, "2"),   # c and u may match
    (("k", "3", "d", "5", "studies", "phase=acute", "count", ""), DIFFERS, "2"),       # 4 at most
    (("k", "3", "d", "15", "studies", "study in a|c", "sum:n_total", ""), REPRODUCED, "15"),
    (("k", "3", "d", "15", "studies", "study in a|b", "sum:n_total", ""), UNCHECKABLE, "10"),
    (("k", "3", "d", "acute", "studies", "study=c", "value:phase", ""), UNCHECKABLE, ""),
    (("k", "3", "d", "acute", "studies", "study!=c; study not in u", "values:phase", ""), REPRODUCED, "acute"),
    (("k", "3", "d", "9", "", "", "", ""), UNCHECKABLE, ""),
])
def test_rules_on_small_sheets(claim, status, reproduced):
    row = evaluate(TINY, _claims(claim)).iloc[0]
    assert (row["status"], row["reproduced"]) == (status, reproduced)


@pytest.mark.parametrize("bad, where", [
    (("k", "3", "d", "1", "studies", "phase=acute", "median:n_total", ""), "claims.csv:2:aggregate"),
    (("k", "3", "d", "1", "studies", "len(phase) > 2", "count", ""), "claims.csv:2:filter"),
    (("k", "3", "d", "1", "tables", "", "count", ""), "claims.csv:2:sheet"),
    (("k", "3", "", "1", "studies", "", "count", ""), "claims.csv:2:description"),
])
def test_malformed_claims_are_refused(bad, where):
    with pytest.raises(InputError, match=where):
        check_claims(_claims(bad))


def test_claims_sheet_is_well_formed_and_covers_the_brief():
    claims = load_claims(ROOT)
    assert list(claims.columns[:len(CLAIM_COLUMNS)]) == list(CLAIM_COLUMNS)
    assert claims["claim_id"].is_unique and len(claims) >= 30
    assert {"3", "3.1", "5.1", "5.2", "5.3"} <= set(claims["section"])


def test_review_ledger_command(capsys):
    assert main(["ledger", "--root", str(ROOT), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == len(load_claims(ROOT))
    assert {r["claim_id"]: r["status"] for r in records}["C12"] == DIFFERS
    assert main(["ledger", "--root", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Claim | Published section |") and "cannot be checked" in out.splitlines()[-1]
    assert TAKEN in out.splitlines()[-1]


def test_schema_file_matches_the_code():
    schema = json.loads((ROOT / "extraction" / "claims.schema.json").read_text(encoding="utf-8"))
    fields = schema["schema"]["fields"]
    assert tuple(f["name"] for f in fields) == CLAIM_COLUMNS + OPTIONAL_CLAIM_COLUMNS
    sheets_enum = [f for f in fields if f["name"] == "sheet"][0]["constraints"]["enum"]
    from analysis.data.claims import SHEETS
    assert tuple(sheets_enum[1:]) == SHEETS


# --- agreement taken from the published review, and explanations in words ----------------

REVIEW = {
    "studies": pd.DataFrame({
        "study": ["a", "b", "c", "u"], "label": ["Ames 2001", "Bell 2002", "Cole 2003", "Slot 1"],
        "identified": ["yes", "yes", "yes", "no"], "phase": ["acute", "acute", "chronic", None],
        "design": ["rct", None, "rct", None],
        # a: own report and the review's section 4; b: the review alone; c: own report
        "source": ["10.1/a ; seed section 4", "seed section 4 ; seed section 5.1", "10.1/c", "seed section 2"]}),
}


def _one(claim, taken_from=""):
    cols = list(CLAIM_COLUMNS) + ["taken_from"]
    return evaluate(REVIEW, pd.DataFrame([dict(zip(cols, list(claim) + [taken_from]))], columns=cols)).iloc[0]


def test_agreement_resting_on_the_review_is_told_apart_from_a_reproduction():
    count_ac = ("k", "4", "d", "2", "studies", "study in a|c; phase in acute|chronic", "count", "")
    # every row cites its own report: an independent reproduction
    assert _one(count_ac)["status"] == REPRODUCED
    # a row citing only the review makes any agreement on it "taken", named by label
    row = _one(("k", "4", "d", "acute", "studies", "study=b", "value:phase", ""))
    assert row["status"] == TAKEN
    assert row["explanation"] == ("The sheets took this value from the published review itself (its "
                                  "sections 4 and 5.1), so the agreement is not an independent check.")
    # the claims sheet says where the value was taken from: rows citing that place count too
    row = _one(count_ac, taken_from="seed section 4")
    assert row["status"] == TAKEN
    assert row["explanation"] == (
        "Two studies (Ames 2001 and Cole 2003) match. For one of the two studies (Ames 2001), the "
        "sheets took the value from the published review itself (its section 4), so the agreement "
        "is only partly independent.")
    # `seed` names any place of the review; a longer section number is not a shorter one's
    assert _one(count_ac, taken_from="seed")["status"] == TAKEN
    assert _one(count_ac, taken_from="seed section 4.1")["status"] == REPRODUCED
    # a place no row cites any more (the sheet was corrected from the report): said, not taken
    stale = _one(count_ac, taken_from="seed section 6")
    assert stale["status"] == REPRODUCED
    assert "no row the claim reads cites it now" in stale["explanation"]
    # disagreement stays disagreement, whatever the sources
    assert _one(("k", "4", "d", "chronic", "studies", "study=b", "value:phase", ""))["status"] == DIFFERS


def test_explanations_name_studies_by_label_and_say_what_is_missing():
    row = _one(("k", "4", "d", "2", "studies", "design=rct; phase=acute", "count", "Counted as stated."))
    assert row["status"] == UNCHECKABLE
    assert row["explanation"] == (
        "One study (Ames 2001) matches. One study (Bell 2002) may also match: its design is not "
        "reported. One study (Slot 1) may also match, being counted without an identified "
        "publication. Counted as stated.")
    none = _one(("k", "4", "d", "1", "studies", "phase=subacute", "count", ""))
    assert none["explanation"] == ("No study matches. One study (Slot 1) may also match, being counted "
                                   "without an identified publication.")
    no_sheet = _one(("k", "4", "d", "3", "", "", "", "Background fact"))
    assert no_sheet["explanation"] == "No sheet records this quantity. Background fact."
    assert no_sheet["sheet"] == ""


@pytest.mark.parametrize("bad, where", [
    (("k", "3", "d", "1", "", "", "", "", "seed section 3"), "claims.csv:2:taken_from: set, but the claim reads no sheet"),
    (("k", "3", "d", "1", "studies", "", "count", "", "seed section 3 | "), "claims.csv:2:taken_from: empty place"),
])
def test_malformed_taken_from_is_refused(bad, where):
    cols = list(CLAIM_COLUMNS) + ["taken_from"]
    with pytest.raises(InputError, match=where):
        check_claims(pd.DataFrame([dict(zip(cols, bad))], columns=cols))


def test_outcome_groups_set_background_facts_apart():
    claims = [("r", "1", "d", "2", "studies", "study in a|c; phase in acute|chronic", "count", ""),
              ("t", "1", "d", "acute", "studies", "study=b", "value:phase", ""),
              ("x", "1", "d", "chronic", "studies", "study=b", "value:phase", ""),
              ("u", "1", "d", "acute", "studies", "study=u", "value:phase", ""),
              ("n", "1", "d", "3", "", "", "", "")]
    led = evaluate(REVIEW, _claims(*claims))
    groups = {k: list(v["claim_id"]) for k, v in outcome_groups(led).items()}
    assert groups == {REPRODUCED: ["r"], TAKEN: ["t"], DIFFERS: ["x"], UNCHECKABLE: ["u"], NO_SHEET: ["n"]}
