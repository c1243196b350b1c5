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
