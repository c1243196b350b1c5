"""The toolkit knows nothing of the bundled review: no term of its vocabulary, none of its
study keys, anywhere in `analysis/` (code, templates, the worked example, the core schema).

The bundled review's own vocabulary lives in its extraction/datapackage.json, its plan,
review.qmd and review_tables.py; the core schema the toolkit defines is checked against it.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from analysis.data.core import check_schema, core_package
from fixture_paths import BUNDLED, REPO

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "analysis"
# Terms of the bundled review (stimulation, its outcomes and events) that a generic toolkit
# has no reason to name; matched as whole words, case-insensitive unless upper case.
TERMS = ["cerebellar", "cerebellum", "TMS", "rTMS", "iTBS", "cTBS", "theta burst", "BBS", "Berg",
         "Fugl-Meyer", "Barthel", "headache", "vertigo", "syncope", "twitching", "coil",
         "coil_type", "protocol_family", "limb_focus", "hemiplegia", "post-stroke"]
SUFFIXES = {".py", ".md", ".json", ".yml", ".qmd", ".csv", ".bib", ".html", ".css", ".lua", ".typ", ""}


def _files():
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
            yield path


def _bundled_keys() -> list[str]:
    with (BUNDLED / "extraction" / "studies.csv").open(encoding="utf-8") as fh:
        return [row["study"] for row in csv.DictReader(fh)]


def _patterns(keys):
    patterns = [re.compile(rf"(?<![\w-]){re.escape(t)}(?![\w-])", 0 if t.isupper() else re.I) for t in TERMS]
    return patterns + [re.compile(rf"(?<![\w]){re.escape(k)}(?![\w])") for k in keys]


def test_no_term_or_study_key_of_the_bundled_review_in_the_toolkit():
    keys = _bundled_keys()
    assert "kim2014" in keys and len(keys) > 10  # the list the test searches for
    patterns = _patterns(keys)
    found = []
    for path in _files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{n}: {p.pattern}" for p in patterns if p.search(line)]
    assert found == []


def test_the_search_would_find_a_leak():
    hits = lambda line: [p.pattern for p in _patterns(_bundled_keys()) if p.search(line)]  # noqa: E731
    assert len(hits("protocol = row['protocol_family']  # e.g. iTBS for kim2014")) == 3
    assert len(hits("Berg Balance Scale; a headache")) == 2
    # words that merely contain a term are not leaks
    assert hits("Berkey et al.; the coiled list; STMS") == []


def test_bundled_and_example_schemas_keep_to_the_core():
    bundled = json.loads((BUNDLED / "extraction" / "datapackage.json").read_text(encoding="utf-8"))
    example = json.loads((PACKAGE / "cli" / "example" / "extraction" / "datapackage.json")
                         .read_text(encoding="utf-8"))
    assert check_schema(bundled) == [] and check_schema(example) == []
    # the example is the core plus its vocabulary: two study columns and its outcome codes
    core = {r["name"]: [f["name"] for f in r["schema"]["fields"]] for r in core_package()["resources"]}
    mine = {r["name"]: [f["name"] for f in r["schema"]["fields"]] for r in example["resources"]}
    assert {n: [c for c in cols if c not in core[n]] for n, cols in mine.items()} == \
        {"studies": ["allocation", "latitude"], "arms": [], "outcomes": [], "adverse_events": [], "prisma": []}


def test_a_schema_that_departs_from_the_core_is_named():
    pkg = core_package()
    res = {r["name"]: r for r in pkg["resources"]}
    fields = {f["name"]: f for f in res["outcomes"]["schema"]["fields"]}
    fields["form"]["constraints"]["enum"].append("median")
    fields["n"]["type"] = "number"
    res["arms"]["schema"]["fields"] = [f for f in res["arms"]["schema"]["fields"] if f["name"] != "role"]
    pkg["resources"] = [r for r in pkg["resources"] if r["name"] != "prisma"]
    assert [str(p) for p in check_schema(pkg)] == [
        "datapackage.json:arms.role: column missing: the toolkit reads it",
        "datapackage.json:outcomes.form: allowed values the toolkit does not know: median; it knows "
        "post, change, percent_change, events, contrast, p_value_only, narrative",
        "datapackage.json:outcomes.n: type number; the toolkit reads it as integer",
        "datapackage.json:prisma: sheet missing: the toolkit reads it",
    ]
