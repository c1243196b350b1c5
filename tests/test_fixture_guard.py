"""No toolkit test reads the live data at the top of the repository.

The sheets, plan, bibliography and lock at the root are the author's: a correct update
(a trial added, `review lock`) must leave `make test` green, so tests that assert values
read the frozen copy in tests/fixtures/bundled or a project they build. A line that does
read the live data on purpose checks something true of any valid sheets and says so with a
`# live:` comment; a test parametrized over `[BUNDLED, REPO]` passes the live root as a
variable and is not caught here, which is why those tests are listed by hand below.
"""

import re
from pathlib import Path

from fixture_paths import BUNDLED, REPO

TESTS = Path(__file__).resolve().parent
DATA = r'"(?:extraction|analysis_plan\.yml|references\.bib|references-sources\.csv|numbers\.lock)"|LOCK_FILE'
READERS = (r"load_sheets|load_plan|load_claims|project_numbers|validate_project|synthesise|check|lock|"
           r"names_for|study_columns|ledger|numbers_at|bibliography_warnings|check_sources|check_bibliography|"
           r"data_dictionary_markdown|evaluate")
ROOT_NAMES = ("REPO", "ROOT")
# Tests whose live half is an invariant of any valid project (parametrized over BUNDLED and REPO).
LIVE_INVARIANTS = {
    "test_bibliography.py": "the bibliography has no problems",
    "test_data_dictionary.py": "extraction/README.md is generated from the schema",
    "test_lock.py": "`review check` passes and the lock round-trips",
    "test_sheets.py": "validate_project finds no problem",
}


def _root_aliases(text: str) -> set[str]:
    """Names bound to the repository root in a module (REPO, and ROOT unless it is BUNDLED)."""
    names = {"REPO"}
    for name, value in re.findall(r"^(\w+) = (.+)$", text, re.M):
        if re.search(r"parents\[1\]\s*$|^REPO$|^ROOT$", value.strip()) and "BUNDLED" not in value:
            names.add(name)
    return names


def leaks(text: str) -> list[str]:
    """Lines of a test module that reach the root's data by name, without a `# live:` reason."""
    roots = "|".join(sorted(_root_aliases(text)))
    direct = re.compile(rf"\b(?:{roots})\s*/\s*(?:{DATA})|parents\[1\]\s*/\s*(?:{DATA})")
    read = re.compile(rf"\b(?:{READERS})\(\s*(?:str\()?(?:{roots})\b(?!\s*/)")
    flag = re.compile(rf'"--root",\s*str\((?:{roots})\)|\bbase=(?:{roots})\b')
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if "# live:" in line:
            continue
        if direct.search(line) or read.search(line) or flag.search(line):
            out.append(f"{n}: {line.strip()}")
    return out


def test_no_test_module_reads_the_live_data():
    found = {}
    for path in sorted(TESTS.glob("*.py")):
        if path.name == Path(__file__).name:
            continue
        hits = leaks(path.read_text(encoding="utf-8"))
        if hits:
            found[path.name] = hits
    assert found == {}, "read tests/fixtures/bundled (fixture_paths.BUNDLED) instead:\n" + "\n".join(
        f"{name}:{hit}" for name, hits in found.items() for hit in hits)


def test_the_scan_finds_each_kind_of_leak():
    head = "from pathlib import Path\nROOT = Path(__file__).resolve().parents[1]\n"
    assert leaks(head + 'x = ROOT / "extraction" / "studies.csv"\n') == ['3: x = ROOT / "extraction" / "studies.csv"']
    assert len(leaks(head + "sheets = load_sheets(ROOT)\n")) == 1
    assert len(leaks(head + "plan = load_plan(REPO)\n")) == 1
    assert len(leaks(head + 'main(["ledger", "--root", str(ROOT)])\n')) == 1
    assert len(leaks(head + "changes = check(REPO)\n")) == 1
    assert len(leaks('EXTRACTION = Path(__file__).resolve().parents[1] / "extraction"\n')) == 1
    assert len(leaks(head + 'lock = ROOT / "numbers.lock"\n')) == 1
    assert len(leaks(head + "scale.generate(root, 27, base=ROOT)\n")) == 1
    # the fixture, the toolkit's own files and reasoned live reads are not leaks
    fixture = "from fixture_paths import BUNDLED\nROOT = BUNDLED  # frozen\n"
    assert leaks(fixture + "sheets = load_sheets(ROOT)\n") == []
    assert leaks(head + 'cfg = ROOT / "_quarto.yml"\nstyle = ROOT / "style/reference.docx"\n') == []
    assert leaks(head + 'keys = bib_keys(ROOT / "references.bib")  # live: cited keys exist\n') == []


def test_live_invariants_are_parametrized_over_fixture_and_live():
    for name, what in LIVE_INVARIANTS.items():
        text = (TESTS / name).read_text(encoding="utf-8")
        assert '[BUNDLED, REPO], ids=["fixture", "live"]' in text, (name, what)


def test_the_fixture_is_a_whole_project():
    for name in ("review.qmd", "_quarto.yml", "analysis_plan.yml", "references.bib", "numbers.lock", "_version.yml",
                 "review_tables.py", "extraction/datapackage.json", "extraction/claims.csv", "README.md"):
        assert (BUNDLED / name).is_file(), name
    package = (BUNDLED / "extraction" / "datapackage.json").read_text(encoding="utf-8")
    for sheet in re.findall(r'"path":\s*"([^"]+\.csv)"', package):
        assert (BUNDLED / "extraction" / sheet).is_file(), sheet
    assert BUNDLED.is_relative_to(REPO / "tests")
