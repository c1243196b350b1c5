"""The extraction schema (`extraction/datapackage.json`) and the data dictionary generated from it.

`python -m analysis.data.schema [--root DIR] [--check]` rewrites `extraction/README.md` from the
schema (or, with --check, exits 1 when the committed file differs), so the two never disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..paths import extraction_dir

SCHEMA_FILE = "datapackage.json"
DICTIONARY_FILE = "README.md"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file; `row` is the file's line number (header = 1)."""

    file: str
    row: int | None
    column: str | None
    message: str
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f":{self.row}"
        if self.column is not None:
            where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" ({self.value})"
        return text


def read_package(path, shown: str | None = None) -> dict:
    """The data package at `path`, its resources checked for a name and named fields;
    InputError naming the file as `shown` (default: the path) when it cannot be used."""
    shown = shown or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{shown}: missing; the sheets cannot be checked without their schema") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{shown}: not UTF-8 (byte offset {exc.start})") from None
    try:
        pkg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{shown}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    res = pkg.get("resources") if isinstance(pkg, dict) else None
    ok = isinstance(res, list) and all(
        isinstance(r, dict) and r.get("name") and isinstance(r.get("schema"), dict)
        and isinstance(r["schema"].get("fields"), list)
        and all(isinstance(f, dict) and f.get("name") for f in r["schema"]["fields"])
        for r in res)
    if not ok:
        raise InputError(f"{shown}: every resource needs a name and schema.fields, each field a name")
    return pkg


def load_package(root) -> dict:
    """The project's data package; InputError when it is missing, not valid JSON or declares no sheet."""
    pkg = read_package(extraction_dir(root) / SCHEMA_FILE, f"extraction/{SCHEMA_FILE}")
    if not pkg["resources"]:
        raise InputError(f"extraction/{SCHEMA_FILE}: no resources declared")
    return pkg


# What the sheet reader implements (analysis.data.sheets.check_cell); anything else would be
# ignored silently, so the schema check refuses it.
FIELD_TYPES = ("string", "integer", "number")
CONSTRAINTS = ("required", "unique", "enum", "minimum", "maximum", "exclusiveMinimum", "pattern")


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_package(root) -> list[Problem]:
    """Every problem of `extraction/datapackage.json` itself, as `extraction/datapackage.json:LINE:COLUMN: what`:
    field types the reader knows, constraints that are objects of known constraints with values of the
    right kind, patterns that compile, keys naming fields, foreign keys naming sheets that exist."""
    import re

    from .locate import json_positions

    shown = f"extraction/{SCHEMA_FILE}"
    pkg = load_package(root)
    text = (extraction_dir(root) / SCHEMA_FILE).read_text(encoding="utf-8")
    where = json_positions(text)
    problems: list[Problem] = []

    def add(path: tuple, message: str) -> None:
        while path not in where:
            path = path[:-1]
        line, col = where[path]
        problems.append(Problem(shown, line, str(col), message))

    res = pkg["resources"]
    names = [r["name"] for r in res]
    fields_of = {r["name"]: [f["name"] for f in r["schema"]["fields"]] for r in res}
    for i, r in enumerate(res):
        sheet = r["name"]
        at = ("resources", i)
        if names.index(sheet) != i:
            add(at + ("name",), f"sheet name `{sheet}` is declared twice")
        seen = set()
        for j, f in enumerate(r["schema"]["fields"]):
            fat = at + ("schema", "fields", j)
            name = f["name"]
            what = f"field `{name}` of {sheet}"
            if name in seen:
                add(fat + ("name",), f"{what} is declared twice")
            seen.add(name)
            kind = f.get("type", "string")
            if kind not in FIELD_TYPES:
                add(fat + ("type",), f"{what}: type {kind!r} is not one this version reads "
                    f"({', '.join(FIELD_TYPES)})")
            if "constraints" not in f:
                continue
            c = f["constraints"]
            if not isinstance(c, dict):
                add(fat + ("constraints",), f"{what}: constraints must be an object, not {type(c).__name__}")
                continue
            for key, value in c.items():
                cat = fat + ("constraints", key)
                if key not in CONSTRAINTS:
                    add(cat, f"{what}: constraint `{key}` is not one this version checks ({', '.join(CONSTRAINTS)})")
                elif key in ("required", "unique") and not isinstance(value, bool):
                    add(cat, f"{what}: `{key}` must be true or false, not {value!r}")
                elif key == "enum" and not (isinstance(value, list) and value):
                    add(cat, f"{what}: `enum` must be a non-empty list of allowed values")
                elif key in ("minimum", "maximum", "exclusiveMinimum"):
                    if not _is_number(value):
                        add(cat, f"{what}: `{key}` must be a number, not {value!r}")
                    elif kind == "string":
                        add(cat, f"{what}: `{key}` applies to integer and number fields, not {kind}")
                elif key == "pattern":
                    if not isinstance(value, str):
                        add(cat, f"{what}: `pattern` must be a regular expression in a string, not {value!r}")
                        continue
                    try:
                        re.compile(value)
                    except re.error as exc:
                        add(cat, f"{what}: pattern {value!r} is not a valid regular expression: {exc}")
        schema, known = r["schema"], fields_of[sheet]
        pk = schema.get("primaryKey", [])
        if not (isinstance(pk, list) and all(isinstance(k, str) for k in pk)):
            add(at + ("schema", "primaryKey"), f"primaryKey of {sheet} must be a list of field names")
        else:
            for k, key in enumerate(pk):
                if key not in known:
                    add(at + ("schema", "primaryKey", k), f"primaryKey of {sheet} names `{key}`, not a field of {sheet}")
        fks = schema.get("foreignKeys", [])
        if not isinstance(fks, list):
            add(at + ("schema", "foreignKeys"), f"foreignKeys of {sheet} must be a list")
            continue
        for k, fk in enumerate(fks):
            kat = at + ("schema", "foreignKeys", k)
            ref = fk.get("reference") if isinstance(fk, dict) else None
            fields = fk.get("fields") if isinstance(fk, dict) else None
            ref_fields = ref.get("fields") if isinstance(ref, dict) else None
            if not (isinstance(fields, list) and isinstance(ref, dict) and isinstance(ref_fields, list)
                    and isinstance(ref.get("resource"), str) and len(fields) == len(ref_fields)):
                add(kat, f"foreign key of {sheet}: needs `fields` and `reference` with `resource` and `fields`, "
                    "two lists of field names of the same length")
                continue
            for n, name in enumerate(fields):
                if name not in known:
                    add(kat + ("fields", n), f"foreign key of {sheet} names `{name}`, not a field of {sheet}")
            target = ref["resource"]
            if target not in fields_of:
                add(kat + ("reference", "resource"), f"foreign key of {sheet} refers to sheet `{target}`, which the "
                    f"package does not declare ({', '.join(names)})")
                continue
            for n, name in enumerate(ref_fields):
                if name not in fields_of[target]:
                    add(kat + ("reference", "fields", n), f"foreign key of {sheet} refers to `{name}`, not a field "
                        f"of {target}")
    return problems


def resources(root) -> dict[str, dict]:
    """Sheet name -> resource, in the package's order."""
    return {res["name"]: res for res in load_package(root)["resources"]}


def _constraint_text(field: dict) -> str:
    c = field.get("constraints", {})
    parts = []
    if c.get("required"):
        parts.append("required")
    if "enum" in c:
        parts.append("one of " + ", ".join(f"`{v}`" for v in c["enum"]))
    if "minimum" in c:
        parts.append(f">= {c['minimum']}")
    if "exclusiveMinimum" in c:
        parts.append(f"> {c['exclusiveMinimum']}")
    if "maximum" in c:
        parts.append(f"<= {c['maximum']}")
    if "pattern" in c:
        parts.append(f"matches `{c['pattern']}`")
    return "; ".join(parts)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def data_dictionary_markdown(root) -> str:
    """The data dictionary for every sheet, as Markdown, built only from the schema."""
    pkg = load_package(root)
    out = [
        "# Extraction sheets: data dictionary",
        "",
        f"Generated from `{SCHEMA_FILE}` by `python -m analysis.data.schema`; edit the schema, not this file.",
        "",
        pkg.get("description", ""),
        "",
    ]
    for res in pkg["resources"]:
        schema = res["schema"]
        out += [f"## `{res.get('path', res['name'] + '.csv')}`: {res.get('title', res['name'])}", "", res.get("description", ""), ""]
        out.append("Primary key: " + ", ".join(f"`{k}`" for k in schema.get("primaryKey", [])) + ".")
        for fk in schema.get("foreignKeys", []):
            ref = fk["reference"]
            out.append(
                "Foreign key: " + ", ".join(f"`{k}`" for k in fk["fields"]) + f" -> `{ref['resource']}.csv` "
                + ", ".join(f"`{k}`" for k in ref["fields"]) + "."
            )
        out += ["", "| column | type | unit | constraints | meaning |", "| --- | --- | --- | --- | --- |"]
        for field in schema["fields"]:
            out.append(
                f"| `{field['name']}` | {field.get('type', 'string')} | {_cell(field.get('unit', ''))} | "
                f"{_cell(_constraint_text(field))} | {_cell(field.get('description', ''))} |"
            )
        out.append("")
    decisions = pkg.get("x-decisions", [])
    if decisions:
        out += ["## How the bundled sheets were filled", ""]
        out += [f"- {_cell(d)}" for d in decisions]
        out.append("")
    rules = pkg.get("x-rules", [])
    if rules:
        out += ["## Rules checked by `review validate`", ""]
        out += [f"- {_cell(r)}" for r in rules]
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.data.schema", description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".", help="project root (default: current folder)")
    ap.add_argument("--check", action="store_true", help="exit 1 when extraction/README.md is out of date")
    args = ap.parse_args(argv)
    try:
        text = data_dictionary_markdown(args.root)
    except InputError as exc:
        print(f"analysis.data.schema: {exc}", file=sys.stderr)
        return 1
    target = extraction_dir(args.root) / DICTIONARY_FILE
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target}: out of date; run `python -m analysis.data.schema`", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
