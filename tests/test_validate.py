"""validate_project and `review validate` on a corpus of broken projects (tests/broken/), one fault each."""

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data.load import load_sheets
from analysis.data.validate import Problem, validate_project

from fixture_paths import BUNDLED, REPO  # noqa: E402

ROOT = REPO
BROKEN = ROOT / "tests" / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if p.is_dir() and not p.name.startswith("_"))
CLI_CASES = ["not_utf8_latin1", "header_missing_column", "bib_malformed_entry", "qmd_cites_unknown_key", "arms_do_not_add_up",
             "schema_pattern_not_a_regex", "plan_outcome_code_typo", "nul_byte_in_a_cell", "front_matter_not_yaml"]


def make_project(dest: Path, case: str | None = None) -> Path:
    """The clean base project with the real schema, plus one case's replacement files."""
    shutil.copytree(BROKEN / "_base", dest)
    shutil.copy(BUNDLED / "extraction" / "datapackage.json", dest / "extraction" / "datapackage.json")
    if case:
        src = BROKEN / case
        for path in src.rglob("*"):
            rel = path.relative_to(src)
            if path.is_file() and rel.name not in ("expected.txt", "absent.txt"):
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, dest / rel)
        absent = src / "absent.txt"
        if absent.exists():
            for rel in absent.read_text(encoding="utf-8").split():
                (dest / rel).unlink()
    return dest


def expected(case: str) -> list[str]:
    return (BROKEN / case / "expected.txt").read_text(encoding="utf-8").splitlines()


def review_validate(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis.cli", "validate", "--root", str(root)],
                          capture_output=True, text=True)


def test_corpus_is_large_and_every_case_names_a_place():
    assert len(CASES) >= 25
    for case in CASES:
        lines = expected(case)
        assert lines, case
        for line in lines:
            assert line.split(":", 1)[0] in {"studies.csv", "arms.csv", "outcomes.csv", "adverse_events.csv", "prisma.csv",
                                             "risk_of_bias.csv", "search.csv", "references.bib", "review.qmd",
                                             "extraction/datapackage.json", "analysis_plan.yml", "claims.csv",
                                             "_quarto.yml"}, line


def test_base_project_is_clean(tmp_path):
    assert validate_project(make_project(tmp_path / "p")) == []


@pytest.mark.parametrize("case", CASES)
def test_broken_case_reports_exactly_its_fault(tmp_path, case):
    problems = validate_project(make_project(tmp_path / "p", case))
    assert [str(p) for p in problems] == expected(case)


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_prints_each_problem_and_exits_1(tmp_path, case):
    proc = review_validate(make_project(tmp_path / "p", case))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[:-1] == expected(case)
    assert lines[-1] == f"{len(expected(case))} problem{'s' if len(expected(case)) > 1 else ''} in 1 file"
    assert "Traceback" not in proc.stdout + proc.stderr


def _data_rows(root):
    """Records in the project's sheets, counted with the csv module, apart from the validator."""
    import csv

    return sum(len(list(csv.reader(p.open(encoding="utf-8-sig")))) - 1
               for p in (root / "extraction").glob("*.csv") if p.name != "claims.csv")


def _n_sheets() -> int:
    import json

    return len(json.loads((BUNDLED / "extraction" / "datapackage.json").read_text(encoding="utf-8"))["resources"])


def test_cli_clean_project_prints_summary(tmp_path):
    root = make_project(tmp_path / "p")
    proc = review_validate(root)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"ok: {_n_sheets()} sheets, {_data_rows(root)} rows\n", "")


def test_cli_without_schema_is_one_line_not_a_traceback(tmp_path):
    root = make_project(tmp_path / "p")
    (root / "extraction" / "datapackage.json").unlink()
    proc = review_validate(root)
    assert proc.returncode == 1
    assert proc.stderr == "review validate: extraction/datapackage.json: missing; the sheets cannot be checked without their schema\n"


def test_problem_string_format():
    assert str(Problem("arms.csv", 4, "n_randomised", "not an integer", "ten")) == "arms.csv:4:n_randomised: not an integer (ten)"
    assert str(Problem("prisma.csv", None, None, "missing: the schema declares this sheet")) == "prisma.csv: missing: the schema declares this sheet"


def test_files_the_schema_does_not_declare_are_ignored(tmp_path):
    root = make_project(tmp_path / "p")
    (root / "extraction" / "notes.csv").write_bytes(b"\xff\xfe junk")
    assert validate_project(root) == []


def test_a_broken_plan_is_reported_with_its_line(tmp_path):
    root = make_project(tmp_path / "p")
    (root / "analysis_plan.yml").write_text("version: 1\noutcomes: [\n", encoding="utf-8")
    assert [str(p) for p in validate_project(root)] == [
        "analysis_plan.yml:3:1: the plan is not valid YAML: expected the node content, but found '<stream end>' "
        "(while parsing a flow node)"]


def test_claims_sheet_is_checked_when_present(tmp_path):
    root = make_project(tmp_path / "p")
    (root / "extraction" / "claims.csv").write_text("claim,not,a,sheet\n1,2,3,4\n", encoding="utf-8")
    got = [str(p) for p in validate_project(root)]
    assert len(got) == 1 and got[0].startswith("claims.csv: missing column(s) claim_id")


def test_all_problems_at_once(tmp_path):
    root = make_project(tmp_path / "p", "sd_zero")
    shutil.copy(BROKEN / "integer_type" / "extraction" / "arms.csv", root / "extraction" / "arms.csv")
    shutil.copy(BROKEN / "bib_entry_without_year" / "references.bib", root / "references.bib")
    got = [str(p) for p in validate_project(root)]
    assert got == expected("integer_type") + expected("sd_zero") + expected("bib_entry_without_year")


# --- What spreadsheets do when they save a valid sheet must not make it invalid. ---

PAD = st.sampled_from(["", " ", "  "])


def resave(text: str, bom: bool, crlf: bool, quote_all: bool, pads: list[tuple[str, str]], empty_cols: int = 0) -> bytes:
    rows = [row + [""] * empty_cols for row in csv.reader(io.StringIO(text, newline=""))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n",
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    k = 0
    for row in rows:
        padded = []
        for cell in row:
            left, right = pads[k % len(pads)]
            k += 1
            padded.append(f"{left}{cell}{right}")
        writer.writerow(padded)
    data = out.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bom=st.booleans(), crlf=st.booleans(), quote_all=st.booleans(),
       pads=st.lists(st.tuples(PAD, PAD), min_size=1, max_size=7), empty_cols=st.integers(0, 2))
def test_spreadsheet_resave_still_validates_and_loads_the_same(tmp_path_factory, bom, crlf, quote_all, pads, empty_cols):
    root = make_project(tmp_path_factory.mktemp("resave") / "p")
    before = load_sheets(root)
    for path in (root / "extraction").glob("*.csv"):
        path.write_bytes(resave(path.read_text(encoding="utf-8"), bom, crlf, quote_all, pads, empty_cols))
    assert validate_project(root) == []
    after = load_sheets(root)
    for name, frame in before.items():
        assert after[name].equals(frame), name


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bom=st.booleans(), crlf=st.booleans(), quote_all=st.booleans(), pads=st.lists(st.tuples(PAD, PAD), min_size=1, max_size=5))
def test_bundled_sheets_survive_a_resave(tmp_path_factory, bom, crlf, quote_all, pads):
    root = tmp_path_factory.mktemp("bundled") / "p"
    shutil.copytree(BUNDLED / "extraction", root / "extraction")
    shutil.copy(BUNDLED / "references.bib", root / "references.bib")
    for path in (root / "extraction").glob("*.csv"):
        path.write_bytes(resave(path.read_text(encoding="utf-8"), bom, crlf, quote_all, pads))
    assert validate_project(root) == []


@given(value=st.integers(min_value=1, max_value=10**9), pad=PAD)
def test_integer_cells_round_trip(value, pad):
    from analysis.data.sheets import check_cell

    field = {"name": "n", "type": "integer", "constraints": {"minimum": 1}}
    assert check_cell(field, f"{value}") == (value, None)


@given(value=st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_number_cells_round_trip(value):
    from analysis.data.sheets import check_cell

    assert check_cell({"name": "mean", "type": "number"}, repr(value)) == (value, None)


def test_cli_default_root_is_the_current_project(tmp_path):
    root = make_project(tmp_path / "p")
    proc = subprocess.run([sys.executable, "-m", "analysis.cli", "validate"], cwd=root, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, f"ok: {_n_sheets()} sheets, {_data_rows(root)} rows\n")
    elsewhere = subprocess.run([sys.executable, "-m", "analysis.cli", "validate"], cwd=tmp_path, capture_output=True, text=True)
    assert elsewhere.returncode == 1 and elsewhere.stderr.startswith("review validate: ") and "Traceback" not in elsewhere.stderr


def test_row_numbers_are_file_lines_even_after_a_multiline_cell(tmp_path):
    root = make_project(tmp_path / "p")
    path = root / "extraction" / "outcomes.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    header = rows[0]
    rows[1][header.index("note")] = "first line\nsecond line"
    rows[2][header.index("sd")] = "0"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    assert [str(p) for p in validate_project(root)] == ["outcomes.csv:4:sd: must be greater than 0 (0)"]


def test_unreadable_claims_sheet_is_one_problem(tmp_path):
    root = make_project(tmp_path / "p")
    (root / "extraction" / "claims.csv").write_text("claim_id,x\n\"a\x00b\",1,2\n", encoding="utf-8")
    got = [str(p) for p in validate_project(root)]
    assert len(got) == 1 and got[0].startswith("claims.csv")


def test_a_planned_outcome_no_study_has_reported_yet_is_a_warning(tmp_path):
    root = make_project(tmp_path / "p")
    plan = root / "analysis_plan.yml"
    text = plan.read_text(encoding="utf-8")
    extra = "  - id: TUG\n    label: Timed Up and Go\n    codes: [TUG]\n    higher_is_better: false\n"
    plan.write_text(text.replace("subgroups:\n", extra + "subgroups:\n"), encoding="utf-8")
    line = text[:text.index("subgroups:\n")].count("\n") + 3  # the codes line of the new outcome
    assert validate_project(root) == []
    proc = review_validate(root)
    assert proc.returncode == 0
    assert (f"warning: analysis_plan.yml:{line}:13: outcomes[2].codes: no row of outcomes.csv has outcome TUG yet"
            in proc.stderr.splitlines())
