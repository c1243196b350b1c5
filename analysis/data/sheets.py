"""Read the extraction sheets against `extraction/datapackage.json` and type their columns.

Reading is forgiving about what spreadsheets write (a UTF-8 byte-order mark, CRLF line ends,
quoted cells, spaces around cells and header names) and strict about everything else:
every problem is reported with its file, line and column.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..paths import extraction_dir
from .schema import Problem, resources

BOM = b"\xef\xbb\xbf"
_INT = re.compile(r"[+-]?\d+")
_NUM = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
DTYPES = {"integer": "Int64", "number": "Float64", "string": "string"}


@dataclass
class Row:
    line: int  # line of the file where the record starts (header = 1)
    raw: dict[str, str]  # stripped cell text by column
    values: dict[str, object] = field(default_factory=dict)  # typed value, None when empty or invalid


@dataclass
class RawSheet:
    name: str
    file: str  # as shown in messages, e.g. "studies.csv"
    fields: list[dict]
    header: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    readable: bool = True  # False when the file is missing or cannot be decoded/parsed

    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]


def _decode(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    """Text of a UTF-8 file (BOM dropped) or one Problem naming the first undecodable byte."""
    skip = len(BOM) if data.startswith(BOM) else 0
    try:
        return data[skip:].decode("utf-8"), None
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = data[:offset].count(b"\n") + 1
        msg = (
            f"not UTF-8: byte 0x{data[offset]:02X} at byte offset {offset} cannot be decoded; "
            "save the file as CSV UTF-8"
        )
        return None, Problem(file, line, None, msg)


def read_raw(path: Path, name: str, fields: list[dict]) -> RawSheet:
    """Split one CSV into header and rows of stripped text; header and shape problems are collected."""
    file = path.name
    sheet = RawSheet(name=name, file=file, fields=fields)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        sheet.problems.append(Problem(file, None, None, "missing: the schema declares this sheet"))
        sheet.readable = False
        return sheet
    text, problem = _decode(data, file)
    if problem:
        sheet.problems.append(problem)
        sheet.readable = False
        return sheet
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    end = 0
    try:
        for rec in reader:
            records.append((end + 1, rec))
            end = reader.line_num
    except csv.Error as exc:
        sheet.problems.append(Problem(file, end + 1, None, f"not valid CSV: {exc}"))
        sheet.readable = False
        return sheet
    if not records:
        sheet.problems.append(Problem(file, 1, None, "empty file: no header row"))
        sheet.readable = False
        return sheet
    header = [h.strip() for h in records[0][1]]
    # Spreadsheets export formatted-but-empty columns as unnamed trailing columns: those are
    # dropped when no row has anything in them.
    named = len(header)
    while named > 0 and header[named - 1] == "":
        named -= 1
    if named < len(header) and all(not any(c.strip() for c in rec[named:]) for _, rec in records[1:]):
        header = header[:named]
        records = [records[0]] + [(ln, rec[:named] if len(rec) > named else rec) for ln, rec in records[1:]]
    expected = sheet.field_names()
    if len(header) == 1 and len(expected) > 1:
        # A spreadsheet set to a locale whose list separator is ';' or a tab writes such files.
        for sep, name_ in ((";", "semicolons"), ("\t", "tabs")):
            if sep in header[0]:
                sheet.problems.append(
                    Problem(file, 1, None, f"cells are separated by {name_}, not commas; save the file as comma-separated CSV")
                )
                sheet.readable = False
                return sheet
    sheet.header = header
    seen: set[str] = set()
    for pos, name_ in enumerate(header, 1):
        if not name_:
            sheet.problems.append(Problem(file, 1, f"#{pos}", "header cell is empty"))
        elif name_ in seen:
            sheet.problems.append(Problem(file, 1, name_, "duplicated column"))
        elif name_ not in expected:
            close = [e for e in expected if e.casefold() == name_.casefold()] or difflib.get_close_matches(name_, expected, 1, 0.8)
            hint = f"; did you mean {close[0]}?" if close else "; the schema does not declare it"
            sheet.problems.append(Problem(file, 1, name_, "unknown column" + hint))
        seen.add(name_)
    for name_ in expected:
        if name_ not in seen:
            sheet.problems.append(Problem(file, 1, name_, "missing column"))
    first_index = {}
    for i, name_ in enumerate(header):
        first_index.setdefault(name_, i)
    for line, rec in records[1:]:
        cells = [c.strip() for c in rec]
        if not any(cells):
            continue  # blank lines and all-empty rows that spreadsheets append
        if len(cells) != len(header):
            sheet.problems.append(
                Problem(file, line, None, f"row has {len(cells)} cells but the header has {len(header)}")
            )
            continue
        raw = {n: cells[i] for n, i in first_index.items() if n in expected}
        sheet.rows.append(Row(line=line, raw=raw))
    return sheet


def _number_text(x: float) -> str:
    return f"{x:g}"


def check_cell(fdef: dict, text: str) -> tuple[object, str | None]:
    """(typed value or None, problem message or None) for one stripped cell."""
    cons = fdef.get("constraints", {})
    if text == "":
        return None, ("required value is empty" if cons.get("required") else None)
    kind = fdef.get("type", "string")
    if kind == "integer":
        if not _INT.fullmatch(text):
            return None, "not an integer"
        value: object = int(text)
    elif kind == "number":
        if not _NUM.fullmatch(text):
            return None, "not a number"
        value = float(text)
        if not math.isfinite(value):
            return None, "not a finite number"
    else:
        value = text
    if "enum" in cons and value not in cons["enum"]:
        return None, "not one of " + ", ".join(str(v) for v in cons["enum"])
    if "pattern" in cons and not re.fullmatch(cons["pattern"], text):
        return None, f"does not match the pattern {cons['pattern']}"
    if kind in ("integer", "number"):
        if "minimum" in cons and value < cons["minimum"]:
            return None, f"below the minimum {_number_text(cons['minimum'])}"
        if "exclusiveMinimum" in cons and value <= cons["exclusiveMinimum"]:
            return None, f"must be greater than {_number_text(cons['exclusiveMinimum'])}"
        if "maximum" in cons and value > cons["maximum"]:
            return None, f"above the maximum {_number_text(cons['maximum'])}"
    return value, None


def type_rows(sheet: RawSheet) -> None:
    """Fill each row's typed values and collect cell problems (type, required, enum, range, pattern)."""
    present = set(sheet.header)
    for row in sheet.rows:
        for fdef in sheet.fields:
            name = fdef["name"]
            if name not in present:
                row.values[name] = None  # reported once as a missing column
                continue
            text = row.raw.get(name, "")
            value, msg = check_cell(fdef, text)
            row.values[name] = value
            if msg:
                sheet.problems.append(Problem(sheet.file, row.line, name, msg, text if text else None))


def read_project(root) -> dict[str, RawSheet]:
    """Every sheet the schema declares, read and typed, with its own problems."""
    out = {}
    for name, res in resources(root).items():
        path = extraction_dir(root) / res.get("path", f"{name}.csv")
        sheet = read_raw(path, name, res["schema"]["fields"])
        if sheet.readable:
            type_rows(sheet)
        out[name] = sheet
    return out


def to_frame(sheet: RawSheet) -> pd.DataFrame:
    """A DataFrame with the schema's columns in order: Int64, Float64 or string; empty cells are NA."""
    data = {}
    for fdef in sheet.fields:
        name = fdef["name"]
        dtype = DTYPES.get(fdef.get("type", "string"), "string")
        col = [row.values.get(name) for row in sheet.rows]
        data[name] = pd.array([pd.NA if v is None else v for v in col], dtype=dtype)
    return pd.DataFrame(data)
