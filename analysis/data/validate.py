"""Every rule on what the project reads, all problems at once: the schema, the sheets,
references.bib, analysis_plan.yml against the sheets, the claims' rules, _quarto.yml and the
front matter of review.qmd.

Each problem reads `sheet.csv:ROW:COLUMN: what is wrong (value)`, ROW being the line of the
file (header = 1); in JSON and YAML files COLUMN is the character position. Cell rules (type,
required, allowed values, ranges, patterns) come from `extraction/datapackage.json`; the rules
between cells, rows and sheets are below.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import InputError
from ..files import read_utf8
from .bibliography import bib_keys, check_bibliography, check_sources
from .core import check_schema
from .locate import yaml_error_place, yaml_place
from .schema import Problem, check_package, load_package, resources
from .sheets import RawSheet, read_project

__all__ = ["Problem", "validate_project", "check_sheets"]

BIB_FILE = "references.bib"
QMD_FILE = "review.qmd"
QUARTO_FILE = "_quarto.yml"
NUMERIC = ("integer", "number")


def _g(x: float) -> str:
    return f"{x:g}"


def _primary_keys(sheet: RawSheet, pk: list[str]) -> list[Problem]:
    problems, first = [], {}
    if not pk or any(k not in sheet.header for k in pk):
        return problems
    for row in sheet.rows:
        key = tuple(row.raw.get(k, "") for k in pk)
        if key in first:
            problems.append(
                Problem(sheet.file, row.line, pk[0], f"duplicate row: same {', '.join(pk)} as line {first[key]}", ", ".join(key))
            )
        else:
            first[key] = row.line
    return problems


def _foreign_keys(sheet: RawSheet, fks: list[dict], sheets: dict[str, RawSheet]) -> list[Problem]:
    problems = []
    for fk in fks:
        fields, ref = fk["fields"], fk["reference"]
        target = sheets.get(ref["resource"])
        if (target is None or not target.readable or any(f not in sheet.header for f in fields)
                or any(f not in target.header for f in ref["fields"])):
            continue  # the missing sheet or column is reported already; no cascade of key errors
        known = {tuple(r.raw.get(f, "") for f in ref["fields"]) for r in target.rows}
        for row in sheet.rows:
            vals = tuple(row.raw.get(f, "") for f in fields)
            if any(v == "" for v in vals) or vals in known:
                continue
            where = "".join(f" for {f} {v}" for f, v in zip(fields[:-1], vals[:-1]))
            problems.append(Problem(sheet.file, row.line, fields[-1], f"not in {target.file}{where}", vals[-1]))
    return problems


def _provenance(sheet: RawSheet) -> list[Problem]:
    """A filled numeric cell needs `source` and `location` on its row."""
    numeric = [f["name"] for f in sheet.fields if f.get("type") in NUMERIC]
    if "source" not in sheet.field_names():
        return []
    problems = []
    for row in sheet.rows:
        filled = [n for n in numeric if row.raw.get(n, "") != ""]
        if not filled:
            continue
        for col in ("source", "location"):
            if col in sheet.header and row.raw.get(col, "") == "":
                problems.append(
                    Problem(sheet.file, row.line, col, f"required because numeric cells are filled: {', '.join(filled)}")
                )
    return problems


def _studies_rules(sheets: dict[str, RawSheet], keys: set[str] | None) -> list[Problem]:
    """`keys`: the references.bib keys every identified study key must be (None: no such rule)."""
    studies, arms = sheets.get("studies"), sheets.get("arms")
    problems = []
    if studies is None or not studies.readable:
        return problems
    if keys is not None:
        for row in studies.rows:
            key = row.raw.get("study", "")
            # a review without an `identified` column counts every study as identified
            if key and row.raw.get("identified", "yes") == "yes" and key not in keys:
                problems.append(Problem(studies.file, row.line, "study", f"not a key of {BIB_FILE}", key))
    if arms is None or not arms.readable:
        return problems
    by_study: dict[str, list] = {}
    for row in arms.rows:
        by_study.setdefault(row.raw.get("study", ""), []).append(row)
    for row in studies.rows:
        total = row.values.get("n_total")
        members = by_study.get(row.raw.get("study", ""), [])
        ns = [a.values.get("n_randomised") for a in members]
        if total is None or not ns or any(n is None for n in ns):
            continue
        if sum(ns) != total:
            lines = ", ".join(str(a.line) for a in members)
            problems.append(
                Problem(studies.file, row.line, "n_total",
                        f"the arms' n_randomised add up to {sum(ns)} ({arms.file} lines {lines})", str(total))
            )
    return problems


def _prisma_total(sheets: dict[str, RawSheet]) -> list[Problem]:
    """PRISMA's total_studies equals the number of studies.csv rows with included = yes."""
    prisma, studies = sheets.get("prisma"), sheets.get("studies")
    if not (prisma and studies and prisma.readable and studies.readable) or "included" not in studies.header:
        return []
    count = sum(1 for r in studies.rows if r.raw.get("included") == "yes")
    return [
        Problem(prisma.file, row.line, "n", f"{studies.file} has {count} rows with included = yes", str(row.values["n"]))
        for row in prisma.rows
        if row.values.get("data") == "total_studies" and row.values.get("n") is not None and row.values["n"] != count
    ]


def _arm_rules(sheet: RawSheet) -> list[Problem]:
    problems = []
    for row in sheet.rows:
        r, a = row.values.get("n_randomised"), row.values.get("n_analysed")
        if r is not None and a is not None and a > r:
            problems.append(Problem(sheet.file, row.line, "n_analysed", f"larger than n_randomised {r}", str(a)))
    return problems


def _outcome_rules(sheet: RawSheet) -> list[Problem]:
    problems = []
    for row in sheet.rows:
        v, raw, line, f = row.values, row.raw, row.line, sheet.file
        form = v.get("form")
        lo, hi = v.get("scale_min"), v.get("scale_max")
        if lo is not None and hi is not None and hi <= lo:
            problems.append(Problem(f, line, "scale_max", f"not above scale_min {_g(lo)}", raw["scale_max"]))
        elif form == "post" and v.get("mean") is not None and lo is not None and hi is not None:
            if not lo <= v["mean"] <= hi:
                problems.append(Problem(f, line, "mean", f"outside the scale range [{_g(lo)}, {_g(hi)}]", raw["mean"]))
        elif form == "change" and v.get("mean") is not None and lo is not None and hi is not None:
            # a change on a bounded scale cannot exceed the scale's span in either direction
            if abs(v["mean"]) > hi - lo:
                problems.append(Problem(f, line, "mean", f"change larger than the scale's span {_g(hi - lo)}",
                                        raw["mean"]))
        est, cl, cu = v.get("contrast"), v.get("ci_lb"), v.get("ci_ub")
        if cl is not None and cu is not None and cl > cu:
            problems.append(Problem(f, line, "ci_lb", f"above ci_ub {_g(cu)}", raw["ci_lb"]))
        elif est is not None and ((cl is not None and est < cl) or (cu is not None and est > cu)):
            lo_t = _g(cl) if cl is not None else "-inf"
            hi_t = _g(cu) if cu is not None else "inf"
            problems.append(Problem(f, line, "contrast", f"outside its confidence interval [{lo_t}, {hi_t}]", raw["contrast"]))
        if form == "contrast" and raw.get("contrast_measure", "") == "" and "contrast_measure" in sheet.header:
            problems.append(Problem(f, line, "contrast_measure", "required when form is contrast"))
        ev, n = v.get("events"), v.get("n")
        if ev is not None and n is not None and ev > n:
            problems.append(Problem(f, line, "events", f"larger than n {n}", raw["events"]))
        note_missing = "note" in sheet.header and raw.get("note", "") == ""
        if note_missing and form == "events":
            empty = [c for c in ("events", "n") if c in sheet.header and raw.get(c, "") == ""]
            if empty:
                problems.append(Problem(f, line, "note", f"required to say why {' and '.join(empty)} is empty"))
        if note_missing and form in ("post", "change", "percent_change"):
            empty = [c for c in ("mean", "sd") if raw.get(c, "") == ""]
            if empty:
                problems.append(Problem(f, line, "note", f"required to say why {' and '.join(empty)} is empty"))
        elif note_missing and form in ("narrative", "p_value_only"):
            problems.append(Problem(f, line, "note", f"required when form is {form} (the words or test reported)"))
    return problems


def _status_rules(sheet: RawSheet, count: str) -> list[Problem]:
    """`reported` needs the count, `not_reported` leaves it empty, `reported_none` is empty or 0."""
    problems = []
    for row in sheet.rows:
        status, raw = row.values.get("status"), row.raw.get(count, "")
        if status == "reported" and raw == "":
            problems.append(Problem(sheet.file, row.line, count, "required when status is reported"))
        elif status == "not_reported" and raw != "":
            problems.append(Problem(sheet.file, row.line, count, "must be empty when status is not_reported", raw))
        elif status == "reported_none" and row.values.get(count) not in (None, 0):
            problems.append(Problem(sheet.file, row.line, count, "must be 0 or empty when status is reported_none", raw))
    return problems


def _adverse_rules(sheet: RawSheet) -> list[Problem]:
    problems = _status_rules(sheet, "events")
    for row in sheet.rows:
        e, n = row.values.get("events"), row.values.get("at_risk")
        if e is not None and n is not None and e > n:
            problems.append(Problem(sheet.file, row.line, "events", f"larger than at_risk {n}", str(e)))
    return problems


def _search_rules(sheet: RawSheet) -> list[Problem]:
    """A search date is a real calendar date and says whether the search ran on it or before it."""
    import datetime

    problems = []
    for row in sheet.rows:
        date, qualifier = row.raw.get("date_searched", ""), row.raw.get("date_qualifier", "")
        if date and row.values.get("date_searched") is not None:
            try:
                datetime.date.fromisoformat(date)
            except ValueError:
                problems.append(Problem(sheet.file, row.line, "date_searched", "not a calendar date", date))
        if date and not qualifier:
            problems.append(Problem(sheet.file, row.line, "date_qualifier",
                                    "required when date_searched is filled (on or before)"))
        if qualifier and not date:
            problems.append(Problem(sheet.file, row.line, "date_qualifier",
                                    "date_searched is empty, so there is no date to qualify", qualifier))
    return problems


SHEET_RULES = {
    "search": _search_rules,
    "arms": _arm_rules,
    "outcomes": _outcome_rules,
    "adverse_events": _adverse_rules,
    "prisma": lambda s: _status_rules(s, "n"),
}


def _nul_bytes(sheet: RawSheet) -> list[Problem]:
    """A NUL byte is no text a spreadsheet writes: a truncated export or a binary file."""
    return [Problem(sheet.file, row.line, col, "contains a NUL byte (\\x00); re-export the sheet as CSV")
            for row in sheet.rows for col, value in row.raw.items() if "\x00" in value]


def check_sheets(root) -> tuple[dict[str, RawSheet], list[Problem]]:
    """The sheets as read, and every sheet problem (cells, keys, cross-sheet rules), in file order.

    A schema with problems of its own is reported alone ({} for the sheets): the sheets cannot
    be checked against it.
    """
    root = Path(root)
    res = resources(root)
    package_problems = check_package(root)
    if package_problems:
        return {}, package_problems
    sheets = read_project(root)
    problems: list[Problem] = check_schema(load_package(root))
    for name, sheet in sheets.items():
        problems += sheet.problems
        if not sheet.readable:
            continue
        problems += _nul_bytes(sheet)
        schema = res[name]["schema"]
        problems += _primary_keys(sheet, schema.get("primaryKey", []))
        problems += _foreign_keys(sheet, schema.get("foreignKeys", []), sheets)
        problems += _provenance(sheet)
        if name in SHEET_RULES:
            problems += SHEET_RULES[name](sheet)
    # The package says whether study keys are citation keys (the default) or any identifier.
    cite = load_package(root).get("x-study-keys", "citation") == "citation"
    problems += _studies_rules(sheets, bib_keys(root / BIB_FILE) if cite else None)
    problems += _prisma_total(sheets)
    order = {s.file: i for i, s in enumerate(sheets.values())}
    problems.sort(key=lambda p: (order.get(p.file, len(order)), p.row or 0))
    return sheets, problems


def validation(root, check_citations: bool = True) -> tuple[dict[str, RawSheet], list[Problem], list[str]]:
    """The sheets as read, every problem and the plan's warnings, from one reading of the project."""
    root = Path(root)
    sheets, problems = check_sheets(root)
    qmd = root / QMD_FILE if check_citations else None
    problems = problems + check_bibliography(root / BIB_FILE, qmd) + check_sources(root / BIB_FILE)[0]
    plan_problems, warnings = _plan(root, sheets)
    problems += plan_problems + _claims(root) + _document(root)
    return sheets, problems, warnings


def validate_project(root, check_citations: bool = True) -> list[Problem]:
    """All problems of what the project reads, [] when clean: the schema, the sheets, references.bib
    (plus review.qmd citations when asked), analysis_plan.yml against the sheets, the claims' rules,
    _quarto.yml and review.qmd's front matter."""
    return validation(root, check_citations)[1]


def project_warnings(root) -> list[str]:
    """What is odd but may be right, as lines for stderr: a planned outcome no row has yet."""
    root = Path(root)
    try:
        sheets, problems = check_sheets(root)
    except InputError:
        return []
    return _plan(root, sheets)[1]


def _from_error(exc: InputError) -> Problem:
    """An InputError `FILE:LINE: what` (or `FILE: what`) as a Problem."""
    file, _, rest = str(exc).partition(":")
    line, sep, what = rest.partition(":")
    if sep and line.isdigit():
        return Problem(file, int(line), None, what.strip())
    return Problem(file, None, None, rest.strip())


def _yaml_mapping(text: str, file: str, first_line: int, what: str) -> tuple[object, list[Problem]]:
    """The YAML in `text` (whose first line is line `first_line` of `file`), or its syntax error."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line, col, problem = yaml_error_place(exc, first_line)
        return None, [Problem(file, line, str(col), f"{what} is not valid YAML: {problem}")]
    if data is not None and not isinstance(data, dict):
        return None, [Problem(file, first_line, "1", f"{what} must be a YAML mapping (key: value lines)")]
    return data, []


def _document(root: Path) -> list[Problem]:
    """_quarto.yml and the front matter of review.qmd: UTF-8, YAML, mappings."""
    problems = []
    for name in (QUARTO_FILE, QMD_FILE):
        path = root / name
        if not path.is_file():
            continue
        try:
            text = read_utf8(path)
        except InputError as exc:
            problems.append(_from_error(exc))
            continue
        if name == QUARTO_FILE:
            problems += _yaml_mapping(text, name, 1, "the file")[1]
            continue
        lines = text.splitlines()
        if not lines or lines[0].strip() != "---":
            continue
        end = next((j for j in range(1, len(lines)) if lines[j].strip() in ("---", "...")), None)
        if end is None:
            problems.append(Problem(name, 1, None, "front matter opened with --- is never closed"))
        else:
            problems += _yaml_mapping("\n".join(lines[1:end]), name, 2, "the front matter")[1]
    return problems


def _plan(root: Path, sheets: dict[str, RawSheet]) -> tuple[list[Problem], list[str]]:
    """analysis_plan.yml read with the plan's own rules, then against the sheets: (problems, warnings)."""
    from .plan import PLAN_FILE, parse_plan, study_columns

    path = root / PLAN_FILE
    if not path.is_file():
        return [], []
    try:
        text = read_utf8(path)
    except InputError as exc:
        return [_from_error(exc)], []
    raw, problems = _yaml_mapping(text, PLAN_FILE, 1, "the plan")
    if problems:
        return problems, []
    try:
        plan = parse_plan(raw, study_columns(root))
    except InputError as exc:
        # the plan names the place as a path of keys: `analysis_plan.yml: outcomes[2].measure: what`
        body = str(exc).removeprefix(f"{PLAN_FILE}: ")
        line, col = yaml_place(text, body.partition(": ")[0])
        return [Problem(PLAN_FILE, line, str(col) if col else None, body)], []
    return _plan_against_sheets(plan, text, sheets, PLAN_FILE)


def _plan_against_sheets(plan, text: str, sheets: dict[str, RawSheet], file: str) -> tuple[list[Problem], list[str]]:
    """Outcome codes and the studies of time-point labels that no sheet has. A name close to one
    the sheets have is a typo, and a problem; a planned outcome no study has reported yet is a
    warning, since a plan is written before the data."""
    import difflib

    problems, warnings = [], []

    def at(path: str) -> tuple[int | None, str | None]:
        line, col = yaml_place(text, path)
        return line, (str(col) if col else None)

    def usable(name, column):
        sheet = sheets.get(name)
        return sheet if sheet is not None and sheet.readable and column in sheet.header else None

    outcomes, studies = usable("outcomes", "outcome"), usable("studies", "study")
    if outcomes is not None and outcomes.rows:
        present = {r.raw.get("outcome", "") for r in outcomes.rows}
        unplanned = sorted(present - {c for o in plan.outcomes for c in o.codes})
        for i, o in enumerate(plan.outcomes):
            for j, code in enumerate(o.codes):
                if code in present:
                    continue
                line, col = at(f"outcomes[{i}].codes[{j}]")
                close = difflib.get_close_matches(code, unplanned, 1, 0.6)
                if close:
                    problems.append(Problem(file, line, col, f"outcomes[{i}].codes: no row of {outcomes.file} has "
                                            f"outcome {code}; did you mean {close[0]}?"))
                else:
                    warnings.append(f"{Problem(file, line, col, f'outcomes[{i}].codes: no row of {outcomes.file} has outcome {code} yet')}")
    if studies is not None:
        keys = sorted({r.raw.get("study", "") for r in studies.rows})
        for study, labels in plan.timepoint_labels.items():
            if study == "any_study" or study in keys:
                continue
            close = difflib.get_close_matches(study, keys, 1, 0.6)
            line, col = at(f"timepoint_labels.{study}")
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(Problem(file, line, col, f"timepoint_labels: no study {study} in {studies.file}{hint}"))
    return problems, warnings


def _claims(root: Path) -> list[Problem]:
    """The reproduction ledger's claims sheet, when the project has one: its form, then that every
    rule reads a sheet the schema declares and columns that sheet has."""
    from .claims import CLAIMS_FILE, cell_text, load_claims, parse_aggregate, parse_filter

    if not (root / "extraction" / CLAIMS_FILE).exists():
        return []
    try:
        claims = load_claims(root)
    except InputError as exc:
        # load_claims reports its first problem as FILE:ROW:COLUMN: what (value)
        file, row, column, message = (str(exc).split(":", 3) + ["", "", ""])[:4]
        if row.isdigit() and message:
            return [Problem(file, int(row), column, message.strip())]
        return [Problem(file, None, None, str(exc).partition(":")[2].strip())]
    try:
        fields = {name: [f["name"] for f in r["schema"]["fields"]] for name, r in resources(root).items()}
    except InputError:
        return []  # the schema's own problem is reported with the sheets
    # The ledger gives adverse-event rows the role of their arm (analysis.review.ledger).
    if "adverse_events" in fields and "arms" in fields:
        fields["adverse_events"] = fields["adverse_events"] + ["role"]
    problems = []
    for line, r in enumerate(claims.to_dict("records"), start=2):
        sheet = cell_text(r["sheet"])
        if not sheet:
            continue
        if sheet not in fields:
            problems.append(Problem(CLAIMS_FILE, line, "sheet", f"no sheet {sheet} in the schema", sheet))
            continue
        wanted = [("filter", col) for col, _, _ in parse_filter(cell_text(r["filter"]), "")]
        _, col = parse_aggregate(cell_text(r["aggregate"]), "")
        if col:
            wanted.append(("aggregate", col))
        for where, col in wanted:
            if col not in fields[sheet]:
                problems.append(Problem(CLAIMS_FILE, line, where, f"{sheet} has no column {col}", col))
    return problems
