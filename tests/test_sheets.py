"""The bundled sheets validate clean and load with typed columns and the values the sources state."""

import shutil
from pathlib import Path

import pytest

from analysis.errors import InputError
from analysis.data.load import load_sheets
from analysis.data.validate import validate_project
from fixture_paths import BUNDLED, REPO

ROOT = BUNDLED  # the frozen copy of the bundled review (tests/fixtures/bundled)


@pytest.fixture(scope="module")
def sheets():
    return load_sheets(ROOT)


@pytest.mark.parametrize("root", [BUNDLED, REPO], ids=["fixture", "live"])
def test_bundled_project_has_no_problems(root):
    # holds for any valid sheets, the live ones included
    assert [str(p) for p in validate_project(root)] == []


def test_sheet_names_and_dtypes(sheets):
    assert list(sheets) == ["studies", "arms", "outcomes", "adverse_events", "prisma", "search", "risk_of_bias"]
    assert sheets["search"]["date_searched"].dtype == "string"  # dates kept as written, checked by pattern
    out = sheets["outcomes"]
    assert out["mean"].dtype == "Float64"
    assert out["n"].dtype == "Int64"
    assert out["study"].dtype == "string"
    assert sheets["studies"]["n_total"].dtype == "Int64"
    assert sheets["risk_of_bias"].empty and list(sheets["risk_of_bias"].columns[:5]) == ["study", "tool", "domain", "judgement", "support"]


def test_empty_cells_are_na_not_zero(sheets):
    im = sheets["outcomes"].query("study == 'im2022' and outcome == 'BBS' and timepoint == 'T0-T1'")
    assert len(im) == 2
    assert im["mean"].isna().all() and im["sd"].isna().all()


def test_fourteen_included_slots_two_unidentified(sheets):
    s = sheets["studies"]
    included = s[s["included"] == "yes"]
    assert len(included) == 14
    assert sorted(included.loc[included["identified"] == "no", "study"]) == ["unidentified1", "unidentified2"]
    assert sorted(included.loc[included["scope"] == "upper-limb", "study"]) == ["chen2021", "rosso2022"]
    assert s.set_index("study").loc["dai2023", "included"] == "no"
    assert s.set_index("study").loc["liao2024", "phase"] == "subacute"


def test_im2022_change_scores_as_published(sheets):
    o = sheets["outcomes"].set_index(["study", "arm", "outcome", "timepoint"])
    bbs = o.loc[("im2022", "rtms", "BBS", "T0-T2")]
    assert (bbs["mean"], bbs["sd"], bbs["n"], bbs["form"]) == (4.40, 3.66, 16, "change")
    tug = o.loc[("im2022", "sham", "TUG", "T0-T1")]
    assert (tug["mean"], tug["sd"]) == (-0.50, 2.97)
    abc = o.loc[("im2022", "sham", "ABC", "T0-T2")]
    assert (abc["mean"], abc["sd"]) == (-0.09, 0.86)


def test_kim2014_percent_change_and_real_zero_adverse_events(sheets):
    o = sheets["outcomes"].set_index(["study", "arm", "outcome"])
    real = o.loc[("kim2014", "real", "BBS")]
    assert (real["form"], real["mean"], real["sd"], real["n"]) == ("percent_change", 46.4, 100.2, 22)
    sham = o.loc[("kim2014", "sham", "10MWT_time")]
    assert (sham["mean"], sham["sd"], sham["n"]) == (-8.4, 72.5, 10)
    ae = sheets["adverse_events"].query("study == 'kim2014'")
    assert list(ae["status"]) == ["reported_none", "reported_none"]
    assert list(ae["event"]) == ["any", "any"] and list(ae["events"]) == [0, 0] and list(ae["at_risk"]) == [22, 10]


def test_seed_section_52_adverse_events(sheets):
    ae = sheets["adverse_events"].set_index(["study", "arm", "event"])
    assert ae.loc[("dai2023", "bilateral", "twitching"), "events"] == 14
    assert ae.loc[("dai2023", "unilateral", "twitching"), "events"] == 8
    assert ae.loc[("rosso2022", "pas", "discomfort"), "events"] == 5
    assert ae.loc[("rosso2022", "sham", "discomfort"), "events"] == 2
    assert ae.loc[("liao2021", "sham", "syncope"), "source"] == "seed section 5.2"
    not_rep = sheets["adverse_events"].query("status == 'not_reported'")
    assert not_rep["events"].isna().all()


def test_arms_add_up_to_study_totals(sheets):
    arms = sheets["arms"].groupby("study")["n_randomised"].sum()
    totals = sheets["studies"].set_index("study")["n_total"]
    for study in ("kim2014", "li2021", "im2022"):
        assert arms[study] == totals[study]


def test_every_row_has_provenance(sheets):
    for name, df in sheets.items():
        if len(df):
            assert df["source"].notna().all(), name
            assert df["location"].notna().all(), name


def test_load_sheets_raises_with_first_problem_and_count(tmp_path):
    root = tmp_path / "p"
    shutil.copytree(ROOT / "extraction", root / "extraction")
    shutil.copy(ROOT / "references.bib", root / "references.bib")
    path = root / "extraction" / "arms.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",22,", ",0,")  # kim2014 real arm: n_randomised 0
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_sheets(root)
    assert str(info.value) == "arms.csv:2:n_randomised: below the minimum 1 (0)"
    lines[2] = lines[2].replace(",10,", ",ten,")  # kim2014 sham arm
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_sheets(root)
    assert str(info.value) == (
        "arms.csv:2:n_randomised: below the minimum 1 (0) [first of 2 problems; `review validate` lists them all]"
    )
