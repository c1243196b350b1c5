"""Rebuild the corpus of broken projects: `python tests/broken/build_corpus.py`.

`_base/` is a tiny project that validates clean. Each other folder holds the files that
replace the base's to introduce one fault, and `expected.txt`, the exact problems
`review validate` must report (one per line, in order). Tests read only the folders.
"""

import csv
import io
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parents[1] / "extraction" / "datapackage.json"


def columns():
    import json

    pkg = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return {r["name"]: [f["name"] for f in r["schema"]["fields"]] for r in pkg["resources"]}


COLS = columns()


def sheet(name, rows, header=None):
    header = header or COLS[name]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header])
    return out.getvalue()


SRC = dict(source="10.0000/example", location="Table 2")
STUDIES = [
    dict(study="alpha2020", label="Alpha 2020", year="2020", identified="yes", included="yes", scope="lower-limb", design="rct", n_total="20", **SRC),
    dict(study="beta2021", label="Beta 2021", year="2021", identified="yes", included="yes", scope="upper-limb", design="rct", n_total="30", **SRC),
]
ARMS = [
    dict(study="alpha2020", arm="active", label="Active", role="active", n_randomised="10", n_analysed="9", **SRC),
    dict(study="alpha2020", arm="sham", label="Sham", role="control", n_randomised="10", n_analysed="10", **SRC),
    dict(study="beta2021", arm="active", label="Active", role="active", n_randomised="15", **SRC),
    dict(study="beta2021", arm="sham", label="Sham", role="control", n_randomised="15", **SRC),
]
BBS = dict(outcome="BBS", scale="Berg Balance Scale", scale_min="0", scale_max="56", higher_is_better="yes", unit="points")
OUTCOMES = [
    dict(study="alpha2020", arm="active", timepoint="post", form="post", mean="40.5", sd="6.1", n="9", **BBS, **SRC),
    dict(study="alpha2020", arm="sham", timepoint="post", form="post", mean="35.2", sd="7.3", n="10", **BBS, **SRC),
    dict(study="beta2021", arm="active", comparator="sham", outcome="FMA_UE", timepoint="week 4", form="contrast", contrast_measure="MD", contrast="3.1", ci_lb="0.4", ci_ub="5.8", **SRC),
    dict(study="beta2021", arm="active", comparator="sham", outcome="grip_strength", timepoint="week 4", form="p_value_only", p_value="0.21", note="Between-group test only.", **SRC),
]
AE = [
    dict(study="alpha2020", arm="active", event="headache", events="1", at_risk="10", status="reported", **SRC),
    dict(study="alpha2020", arm="sham", event="any", events="0", at_risk="10", status="reported_none", **SRC),
    dict(study="beta2021", event="any", status="not_reported", note="Not mentioned.", **SRC),
]
PRISMA = [
    dict(data="database_results", label="PubMed", n="120", status="reported", **SRC),
    dict(data="database_results", label="EMBASE", status="not_reported", note="Not given.", **SRC),
    dict(data="total_studies", label="Studies included", n="2", status="reported", **SRC),
]
SEARCH = [
    dict(source_name="PubMed", kind="database", query="(stroke) AND (stimulation)", date_searched="2024-02-15",
         date_qualifier="on", **SRC),
    dict(source_name="EMBASE", kind="database", query="(stroke) AND (stimulation)", date_searched="2024-03-01",
         date_qualifier="before", **SRC),
]
BIB = """@article{alpha2020,
  author = {Alpha, Ann and Other, Otto},
  title = {A trial},
  journal = {Journal}, volume = {1}, pages = {1--9}, doi = {10.0000/alpha2020},
  year = {2020}
}

@article{beta2021,
  author = {Beta, Bob},
  title = {Another trial},
  journal = {Journal}, volume = {2}, pages = {10--19}, doi = {10.0000/beta2021},
  year = {2021}
}
"""

PLAN = """version: 1
title: Plan of the base project
defaults:
  measure: MD
  data_forms: [change, post, contrast]
  timepoint:
    prefer: end_of_treatment
    fallback: earliest_follow_up
  estimator: REML
  hartung_knapp: false
  level: 95
  min_studies: 2
multi_arm: combine_active
timepoint_labels:
  any_study:
    post: end_of_treatment
  beta2021:
    week 4: end_of_treatment
outcomes:
  - id: BBS
    label: Berg Balance Scale
    codes: [BBS]
    higher_is_better: true
  - id: FMA_UE
    label: Fugl-Meyer Assessment, upper extremity
    codes: [FMA_UE]
    higher_is_better: true
subgroups:
  - by: design
    label: study design
    min_per_group: 2
safety:
  events: as_in_sheet
  studies: included
  methods: [MH_RD]
  min_studies: 2
  level: 95
  rule: a term is pooled when two studies report it in both arms
"""

BASE = {
    "extraction/studies.csv": sheet("studies", STUDIES),
    "extraction/arms.csv": sheet("arms", ARMS),
    "extraction/outcomes.csv": sheet("outcomes", OUTCOMES),
    "extraction/adverse_events.csv": sheet("adverse_events", AE),
    "extraction/prisma.csv": sheet("prisma", PRISMA),
    "extraction/search.csv": sheet("search", SEARCH),
    "extraction/risk_of_bias.csv": sheet("risk_of_bias", []),
    "references.bib": BIB,
    "analysis_plan.yml": PLAN,
}


def changed(rows, index, **new):
    rows = [dict(r) for r in rows]
    rows[index].update(new)
    return rows


def dropped(header, col):
    return [c for c in header if c != col]


CASES = {}


def case(name, files, expected):
    CASES[name] = (files, expected)


case("integer_type", {"extraction/arms.csv": sheet("arms", changed(ARMS, 0, n_randomised="ten"))},
     ["arms.csv:2:n_randomised: not an integer (ten)"])
case("number_type", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 0, mean="40,5"))},
     ["outcomes.csv:2:mean: not a number (40,5)"])
case("required_empty", {"extraction/studies.csv": sheet("studies", changed(STUDIES, 1, label=""))},
     ["studies.csv:3:label: required value is empty"])
case("enum_value", {"extraction/studies.csv": sheet("studies", changed(STUDIES, 0, design="RCT"))},
     ["studies.csv:2:design: not one of rct, non_randomised, single_group, crossover, case_report, single_session (RCT)"])
case("pattern_arm_id", {"extraction/adverse_events.csv": sheet("adverse_events", changed(AE, 0, arm="Active arm"))},
     ["adverse_events.csv:2:arm: does not match the pattern ^[a-z0-9_]+$ (Active arm)",
      "adverse_events.csv:2:arm: not in arms.csv for study alpha2020 (Active arm)"])
case("sd_zero", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 1, sd="0"))},
     ["outcomes.csv:3:sd: must be greater than 0 (0)"])
case("n_zero", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 0, n="0"))},
     ["outcomes.csv:2:n: below the minimum 1 (0)"])
case("p_value_above_one", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 3, p_value="1.2"))},
     ["outcomes.csv:5:p_value: above the maximum 1 (1.2)"])
case("events_above_at_risk", {"extraction/adverse_events.csv": sheet("adverse_events", changed(AE, 0, events="12"))},
     ["adverse_events.csv:2:events: larger than at_risk 10 (12)"])
case("post_mean_outside_scale", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 0, mean="60"))},
     ["outcomes.csv:2:mean: outside the scale range [0, 56] (60)"])
case("change_mean_beyond_scale_span",
     {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 0, form="change", timepoint="change", mean="-70"))},
     ["outcomes.csv:2:mean: change larger than the scale's span 56 (-70)"])
case("scale_bounds_reversed", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 1, scale_min="56", scale_max="0"))},
     ["outcomes.csv:3:scale_max: not above scale_min 56 (0)"])
case("contrast_outside_ci", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 2, contrast="6.2"))},
     ["outcomes.csv:4:contrast: outside its confidence interval [0.4, 5.8] (6.2)"])
case("ci_reversed", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 2, ci_lb="5.8", ci_ub="0.4"))},
     ["outcomes.csv:4:ci_lb: above ci_ub 0.4 (5.8)"])
case("contrast_without_measure", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 2, contrast_measure=""))},
     ["outcomes.csv:4:contrast_measure: required when form is contrast"])
case("p_value_row_without_note", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 3, note=""))},
     ["outcomes.csv:5:note: required when form is p_value_only (the words or test reported)"])
case("empty_sd_without_note", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 1, sd=""))},
     ["outcomes.csv:3:note: required to say why sd is empty"])
case("n_analysed_above_randomised", {"extraction/arms.csv": sheet("arms", changed(ARMS, 0, n_analysed="11"))},
     ["arms.csv:2:n_analysed: larger than n_randomised 10 (11)"])
case("arms_do_not_add_up", {"extraction/studies.csv": sheet("studies", changed(STUDIES, 1, n_total="31"))},
     ["studies.csv:3:n_total: the arms' n_randomised add up to 30 (arms.csv lines 4, 5) (31)"])
case("study_not_in_bib", {"extraction/studies.csv": sheet("studies", STUDIES + [dict(STUDIES[0], study="gamma2022", label="Gamma 2022", year="2022", included="no", n_total="")])},
     ["studies.csv:4:study: not a key of references.bib (gamma2022)"])
case("study_not_in_studies", {"extraction/arms.csv": sheet("arms", ARMS + [dict(ARMS[0], study="delta2019")])},
     ["arms.csv:6:study: not in studies.csv (delta2019)"])
case("arm_not_in_arms", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 1, arm="placebo"))},
     ["outcomes.csv:3:arm: not in arms.csv for study alpha2020 (placebo)"])
case("comparator_not_in_arms", {"extraction/outcomes.csv": sheet("outcomes", changed(OUTCOMES, 2, comparator="control"))},
     ["outcomes.csv:4:comparator: not in arms.csv for study beta2021 (control)"])
case("duplicate_row", {"extraction/outcomes.csv": sheet("outcomes", OUTCOMES + [OUTCOMES[0]])},
     ["outcomes.csv:6:study: duplicate row: same study, arm, outcome, timepoint, form as line 2 (alpha2020, active, BBS, post, post)"])
case("provenance_missing", {"extraction/arms.csv": sheet("arms", changed(ARMS, 2, source="", location=""))},
     ["arms.csv:4:source: required because numeric cells are filled: n_randomised",
      "arms.csv:4:location: required because numeric cells are filled: n_randomised"])
case("status_not_reported_with_count", {"extraction/adverse_events.csv": sheet("adverse_events", changed(AE, 2, events="2"))},
     ["adverse_events.csv:4:events: must be empty when status is not_reported (2)"])
case("status_reported_none_with_events", {"extraction/adverse_events.csv": sheet("adverse_events", changed(AE, 1, events="3"))},
     ["adverse_events.csv:3:events: must be 0 or empty when status is reported_none (3)"])
case("status_reported_without_count", {"extraction/prisma.csv": sheet("prisma", changed(PRISMA, 0, n=""))},
     ["prisma.csv:2:n: required when status is reported"])
case("search_date_not_a_calendar_date", {"extraction/search.csv": sheet("search", changed(SEARCH, 0, date_searched="2024-02-30"))},
     ["search.csv:2:date_searched: not a calendar date (2024-02-30)"])
case("search_date_in_another_format", {"extraction/search.csv": sheet("search", changed(SEARCH, 1, date_searched="01/03/2024"))},
     ["search.csv:3:date_searched: does not match the pattern [0-9]{4}-[0-9]{2}-[0-9]{2} (01/03/2024)"])
case("search_date_without_qualifier", {"extraction/search.csv": sheet("search", changed(SEARCH, 0, date_qualifier=""))},
     ["search.csv:2:date_qualifier: required when date_searched is filled (on or before)"])
case("search_qualifier_without_date", {"extraction/search.csv": sheet("search", changed(SEARCH, 1, date_searched=""))},
     ["search.csv:3:date_qualifier: date_searched is empty, so there is no date to qualify (before)"])
case("prisma_total_differs_from_studies", {"extraction/prisma.csv": sheet("prisma", changed(PRISMA, 2, n="3"))},
     ["prisma.csv:4:n: studies.csv has 2 rows with included = yes (3)"])
case("header_missing_column", {"extraction/arms.csv": sheet("arms", ARMS, header=dropped(COLS["arms"], "n_analysed"))},
     ["arms.csv:1:n_analysed: missing column"])
case("header_misspelt_column", {"extraction/arms.csv": sheet("arms", ARMS, header=[c if c != "n_analysed" else "n_analyzed" for c in COLS["arms"]])},
     ["arms.csv:1:n_analyzed: unknown column; did you mean n_analysed?",
      "arms.csv:1:n_analysed: missing column"])
case("header_missing_key_column_no_cascade", {"extraction/studies.csv": sheet("studies", STUDIES, header=dropped(COLS["studies"], "study"))},
     ["studies.csv:1:study: missing column"])
case("header_extra_column", {"extraction/studies.csv": sheet("studies", STUDIES, header=COLS["studies"] + ["colour"])},
     ["studies.csv:1:colour: unknown column; the schema does not declare it"])
case("header_duplicated_column", {"extraction/arms.csv": sheet("arms", ARMS, header=COLS["arms"][:3] + ["label"] + COLS["arms"][3:])},
     ["arms.csv:1:label: duplicated column"])
case("content_under_unnamed_column", {"extraction/prisma.csv": sheet("prisma", PRISMA).replace("\n", ",\n").replace("Studies included,2,reported,10.0000/example,Table 2,,", "Studies included,2,reported,10.0000/example,Table 2,,see notes")},
     ["prisma.csv:1:#8: header cell is empty"])
case("ragged_row", {"extraction/prisma.csv": sheet("prisma", PRISMA) + "total_reports,Reports,2\n"},
     ["prisma.csv:5: row has 3 cells but the header has 7"])
case("unclosed_quote", {"extraction/prisma.csv": sheet("prisma", PRISMA) + 'new_studies,"Studies,2,reported,x,y,\n'},
     ["prisma.csv:5: not valid CSV: unexpected end of data"])
case("semicolon_separated", {"extraction/arms.csv": sheet("arms", ARMS).replace(",", ";")},
     ["arms.csv:1: cells are separated by semicolons, not commas; save the file as comma-separated CSV"])
case("header_column_miscapitalised", {"extraction/adverse_events.csv": sheet("adverse_events", AE, header=["Study"] + COLS["adverse_events"][1:])},
     ["adverse_events.csv:1:Study: unknown column; did you mean study?",
      "adverse_events.csv:1:study: missing column"])
case("missing_sheet", {"extraction/prisma.csv": None},
     ["prisma.csv: missing: the schema declares this sheet"])
case("empty_sheet", {"extraction/risk_of_bias.csv": ""},
     ["risk_of_bias.csv:1: empty file: no header row"])
latin = sheet("studies", changed(STUDIES, 1, label="Bêta 2021")).encode("cp1252")
LATIN_AT = latin.index("ê".encode("cp1252"))
case("not_utf8_latin1", {"extraction/studies.csv": latin},
     [f"studies.csv:3: not UTF-8: byte 0xEA at byte offset {LATIN_AT} cannot be decoded; save the file as CSV UTF-8"])
case("not_utf8_utf16", {"extraction/arms.csv": sheet("arms", ARMS).encode("utf-16")},
     ["arms.csv:1: not UTF-8: byte 0xFF at byte offset 0 cannot be decoded; save the file as CSV UTF-8"])
case("bib_duplicate_key", {"references.bib": BIB + "\n@article{beta2021,\n  author = {Beta, Bob},\n  title = {Again},\n  year = {2021}\n}\n"},
     ["references.bib:15:beta2021: duplicate key; the first entry with this key is kept"])
case("bib_malformed_entry", {"references.bib": BIB + "\n@article{omega2019,\n  author = {Omega, Olga,\n  year = {2019}\n\n@misc{zeta2018, author = {Zeta}, year = {2018}}\n"},
     ["references.bib:15:omega2019: malformed entry: unbalanced braces, a missing comma or an unclosed field"])
case("bib_entry_without_year", {"references.bib": BIB + "\n@misc{zeta2018,\n  author = {Zeta, Zoe}\n}\n"},
     ["references.bib:15:zeta2018: entry has no year"])
case("bib_bad_key", {"references.bib": BIB + "\n@misc{Zeta-2018,\n  author = {Zeta, Zoe},\n  year = {2018}\n}\n"},
     ["references.bib:15:Zeta-2018: key is not lower-case surname + year (+ letter), e.g. smith2020"])
case("bib_key_year_mismatch", {"references.bib": BIB.replace("year = {2021}", "year = {2022}")},
     ["references.bib:8:beta2021: the key's year differs from the year field (2022)"])
case("qmd_cites_unknown_key", {"review.qmd": "# Results\n\nBalance improved [@alpha2020; @beta2021] as @fig-forest shows.\nSee also [@nokey2020, p. 3] and @alpha2020.\n"},
     ["review.qmd:4:nokey2020: cited but not in references.bib"])


# --- the schema itself ------------------------------------------------------------------------

def schema_with(edit):
    """The real schema with one change, as the JSON text a case writes."""
    import json

    pkg = json.loads(SCHEMA.read_text(encoding="utf-8"))
    res = {r["name"]: r for r in pkg["resources"]}
    edit(res, {name: {f["name"]: f for f in r["schema"]["fields"]} for name, r in res.items()})
    return json.dumps(pkg, indent=2, ensure_ascii=False) + "\n"


def place(text, needle, skip=0):
    """`LINE:COLUMN` where the value starting with `needle` begins (found by searching the text,
    independently of how validate finds it); `skip` is where the needle starts inside it."""
    at = text.index(needle) + skip
    line = text.count("\n", 0, at) + 1
    return f"{line}:{at - text.rfind(chr(10), 0, at)}"


PKG = "extraction/datapackage.json"


def schema_case(name, edit, needle, skip, message):
    text = schema_with(edit)
    case(name, {PKG: text}, [f"{PKG}:{place(text, needle, skip)}: {message}"])


schema_case("schema_unknown_field_type",
            lambda res, f: f["arms"]["n_randomised"].update(type="count"), '"type": "count"', len('"type": '),
            "field `n_randomised` of arms: type 'count' is not one this version reads (string, integer, number)")
schema_case("schema_constraints_not_an_object",
            lambda res, f: f["studies"]["year"].update(constraints=[1985, 2030]), '"constraints": [',
            len('"constraints": '), "field `year` of studies: constraints must be an object, not list")
schema_case("schema_unknown_constraint",
            lambda res, f: f["studies"]["label"]["constraints"].update(maxLength=40), '"maxLength": 40',
            len('"maxLength": '), "field `label` of studies: constraint `maxLength` is not one this version checks "
            "(required, unique, enum, minimum, maximum, exclusiveMinimum, pattern)")
schema_case("schema_pattern_not_a_regex",
            lambda res, f: f["arms"]["arm"]["constraints"].update(pattern="[a-z0-9_+$"), '"pattern": "[a-z0-9_+$"',
            len('"pattern": '), "field `arm` of arms: pattern '[a-z0-9_+$' is not a valid regular expression: "
            "unterminated character set at position 0")
schema_case("schema_foreign_key_to_a_missing_sheet",
            lambda res, f: res["outcomes"]["schema"]["foreignKeys"][0]["reference"].update(resource="arm"),
            '"resource": "arm"', len('"resource": '),
            "foreign key of outcomes refers to sheet `arm`, which the package does not declare "
            "(studies, arms, outcomes, adverse_events, prisma, search, risk_of_bias)")

case("nul_byte_in_a_cell", {"extraction/studies.csv": sheet("studies", changed(STUDIES, 0, label="Alpha\x002020"))},
     ["studies.csv:2:label: contains a NUL byte (\\x00); re-export the sheet as CSV"])

# --- the plan, against the sheets -------------------------------------------------------------

case("plan_not_yaml", {"analysis_plan.yml": PLAN.replace("    codes: [BBS]\n", "    codes: [BBS\n")},
     ["analysis_plan.yml:23:21: the plan is not valid YAML: expected ',' or ']', but got ':' "
      "(while parsing a flow sequence)"])
case("plan_level_not_a_level", {"analysis_plan.yml": PLAN.replace("  level: 95\n  min_studies: 2\n", "  level: high\n  min_studies: 2\n", 1)},
     ["analysis_plan.yml:11:10: defaults.level: expected a confidence level between 50 and 100, got 'high'"])
case("plan_outcome_code_typo", {"analysis_plan.yml": PLAN.replace("codes: [FMA_UE]", "codes: [FMA-UE]")},
     ["analysis_plan.yml:26:13: outcomes[1].codes: no row of outcomes.csv has outcome FMA-UE; did you mean FMA_UE?"])
case("plan_subgroup_column_not_in_studies", {"analysis_plan.yml": PLAN.replace("by: design", "by: desing")},
     ["analysis_plan.yml:29:9: subgroups[0].by: unknown value 'desing'; expected a column of studies.csv: "
      + ", ".join(COLS["studies"])])
case("plan_timepoint_labels_of_an_unknown_study", {"analysis_plan.yml": PLAN.replace("  beta2021:\n", "  beta2012:\n")},
     ["analysis_plan.yml:18:5: timepoint_labels: no study beta2012 in studies.csv; did you mean beta2021?"])

# --- the claims' rules, the project options and the document's front matter --------------------

CLAIMS_HEADER = "claim_id,section,description,published_value,sheet,filter,aggregate,note\n"
case("claims_rule_on_an_unknown_column",
     {"extraction/claims.csv": CLAIMS_HEADER + "C01,3,Lower-limb trials,1,studies,scop=lower-limb,count,\n"
                                               "C02,3,Events,1,adverse_events,role=active,sum:count,\n"},
     ["claims.csv:2:filter: studies has no column scop (scop)",
      "claims.csv:3:aggregate: adverse_events has no column count (count)"])
case("quarto_yml_not_yaml", {"_quarto.yml": "project:\n  output-dir: _output\nformat:\n  html: {toc: true\n"},
     ["_quarto.yml:5:1: the file is not valid YAML: expected ',' or '}', but got '<stream end>' "
      "(while parsing a flow mapping)"])
case("front_matter_not_yaml", {"review.qmd": "---\ntitle: A review\nauthor: [Ann\n---\n\nText.\n"},
     ["review.qmd:3:13: the front matter is not valid YAML: expected ',' or ']', but got '<stream end>' "
      "(while parsing a flow sequence)"])
case("qmd_not_utf8", {"review.qmd": "# Results\n\nCaf\u00e9 au lait.\n".encode("latin-1")},
     ["review.qmd:3: not UTF-8: byte 0xE9 at byte offset 14 cannot be decoded; save the file as UTF-8"])


def write_folder(folder: Path, files: dict) -> None:
    for rel, content in files.items():
        path = folder / rel
        if content is None:
            (folder / "absent.txt").open("a", encoding="utf-8").write(rel + "\n")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def main():
    for old in HERE.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
    write_folder(HERE / "_base", BASE)
    for name, (files, expected) in CASES.items():
        folder = HERE / name
        folder.mkdir()
        write_folder(folder, files)
        (folder / "expected.txt").write_text("\n".join(expected) + "\n", encoding="utf-8")
    print(f"{len(CASES)} cases")


if __name__ == "__main__":
    main()
