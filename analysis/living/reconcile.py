"""Compare two reviewers' extraction folders cell by cell (double data extraction).

Rows are matched by each sheet's primary key and cells are compared by value, so number
formatting ("12" / "12.0"), spaces around cells, line endings, a byte-order mark and row
order are not disagreements. The sheets and their types are those of the first folder's
datapackage.json; where the second folder's schema differs, that is listed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..data.schema import SCHEMA_FILE, read_package
from ..data.sheets import RawSheet, Row, check_cell, read_raw

PRESENT, ABSENT, EMPTY = "present", "absent", "(empty)"
ROW, FILE, SHEET = "(row)", "(file)", "(sheet)"
# read_raw reports these; here they are differences to list, not reasons to stop.
_LISTED = ("unknown column", "missing column")


@dataclass(frozen=True)
class Disagreement:
    sheet: str
    study: str  # the row's `study` cell, empty when the sheet has none or for a whole column/file
    row: str  # primary key, e.g. "smith2020 / active / PAIN / post / change"; "datapackage.json" for the schema
    column: str  # a column name, or ROW / FILE / SHEET when a whole row, file or sheet is missing
    a: str
    b: str
    line_a: int | None = None
    line_b: int | None = None


def extraction_folder(folder) -> Path:
    """The folder holding datapackage.json: `folder` itself or its `extraction/` subfolder."""
    path = Path(folder)
    for candidate in (path, path / "extraction"):
        if (candidate / SCHEMA_FILE).is_file():
            return candidate
    if not path.is_dir():
        raise InputError(f"{path}: no such folder")
    raise InputError(f"{path}: not an extraction folder: no {SCHEMA_FILE} in it or in {path / 'extraction'}")


def _resources(folder: Path) -> dict[str, dict]:
    return {r["name"]: r for r in read_package(folder / SCHEMA_FILE)["resources"]}


def declared_sheets(folder) -> list[str]:
    """Names of the sheets the folder's datapackage.json declares, in its order."""
    return list(_resources(extraction_folder(folder)))


def _key(res: dict) -> list[str]:
    key = res["schema"].get("primaryKey") or []
    return [key] if isinstance(key, str) else list(key)


def _types(res: dict) -> dict[str, str]:
    return {f["name"]: f.get("type", "string") for f in res["schema"]["fields"]}


def _schema_differences(name: str, ra: dict, rb: dict | None, ignore) -> list[Disagreement]:
    if rb is None:
        return [Disagreement(name, "", SCHEMA_FILE, SHEET, PRESENT, ABSENT)]
    out = []
    if _key(ra) != _key(rb):
        out.append(Disagreement(name, "", SCHEMA_FILE, "primaryKey", ", ".join(_key(ra)), ", ".join(_key(rb))))
    ta, tb = _types(ra), _types(rb)
    for col in [*ta, *(c for c in tb if c not in ta)]:
        if col not in ignore and ta.get(col) != tb.get(col):
            out.append(Disagreement(name, "", SCHEMA_FILE, col, ta.get(col, ABSENT), tb.get(col, ABSENT)))
    return out


def _read(path: Path, name: str, fields: list[dict], key: list[str]) -> RawSheet:
    """The sheet as stripped text, columns outside the schema included; InputError when it cannot be compared."""
    try:
        sheet = read_raw(path, name, fields)
        known = {f["name"] for f in fields}
        extra = [h for h in dict.fromkeys(sheet.header) if h and h not in known]
        if extra:  # read again so that columns outside the schema are compared as text too
            sheet = read_raw(path, name, fields + [{"name": h, "type": "string"} for h in extra])
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    fatal = [p for p in sheet.problems if not p.message.startswith(_LISTED)]
    if fatal:
        raise InputError(str(fatal[0]).replace(sheet.file, str(path), 1))
    missing = [k for k in key if k not in sheet.header]
    if missing:
        raise InputError(f"{path}:1: key column {missing[0]} is missing, so its rows cannot be matched")
    return sheet


def _index(sheet: RawSheet, key: list[str], path: Path) -> dict[tuple, Row]:
    rows: dict[tuple, Row] = {}
    for row in sheet.rows:
        k = tuple(row.raw.get(c, "") for c in key)
        if k in rows:
            raise InputError(f"{path}:{row.line}: duplicate primary key ({', '.join(key)}) "
                             f"{_label(k)}; first on line {rows[k].line}")
        rows[k] = row
    return rows


def _label(key: tuple) -> str:
    return " / ".join(part or EMPTY for part in key)


def same_value(kind: str, a: str, b: str) -> bool:
    """Cells of a column of this type hold the same value (both already stripped)."""
    if a == b:
        return True
    if kind in ("integer", "number"):
        # as numbers, so "12" == "12.0" even in an integer column; unparseable text stays text
        va, _ = check_cell({"type": "number"}, a)
        vb, _ = check_cell({"type": "number"}, b)
        return va is not None and vb is not None and va == vb
    return False


def _compare_sheets(name: str, kinds: dict[str, str], key: list[str], sa: RawSheet, sb: RawSheet,
                    paths: tuple[Path, Path], ignore) -> list[Disagreement]:
    out = []
    columns = [c for c in dict.fromkeys([*kinds, *sa.header, *sb.header]) if c and c not in ignore]
    in_a, in_b = set(sa.header), set(sb.header)
    for c in columns:
        if (c in in_a) != (c in in_b):
            out.append(Disagreement(name, "", "", c, PRESENT if c in in_a else ABSENT,
                                    PRESENT if c in in_b else ABSENT, 1 if c in in_a else None, 1 if c in in_b else None))
    shared = [c for c in columns if c in in_a and c in in_b]
    rows_a, rows_b = _index(sa, key, paths[0]), _index(sb, key, paths[1])
    for k, ra in rows_a.items():
        rb = rows_b.get(k)
        study = ra.raw.get("study", "")
        if rb is None:
            out.append(Disagreement(name, study, _label(k), ROW, PRESENT, ABSENT, ra.line, None))
            continue
        for c in shared:
            if not same_value(kinds.get(c, "string"), ra.raw[c], rb.raw[c]):
                out.append(Disagreement(name, study, _label(k), c, ra.raw[c], rb.raw[c], ra.line, rb.line))
    for k, rb in rows_b.items():
        if k not in rows_a:
            out.append(Disagreement(name, rb.raw.get("study", ""), _label(k), ROW, ABSENT, PRESENT, None, rb.line))
    return out


def reconcile(dir_a, dir_b, ignore: set[str] = frozenset()) -> list[Disagreement]:
    """Every disagreement between two extraction folders (or project roots), in a fixed order."""
    fa, fb = extraction_folder(dir_a), extraction_folder(dir_b)
    res_a, res_b = _resources(fa), _resources(fb)
    out: list[Disagreement] = []
    for name, ra in res_a.items():
        rb = res_b.get(name)
        out += _schema_differences(name, ra, rb, ignore)
        key = _key(ra)
        if not key:
            raise InputError(f"{fa / SCHEMA_FILE}: sheet {name} declares no primaryKey, so its rows cannot be matched")
        default = ra.get("path", f"{name}.csv")
        pa, pb = fa / default, fb / (rb or {}).get("path", default)
        if not pa.is_file() or not pb.is_file():
            if pa.is_file() or pb.is_file():
                out.append(Disagreement(name, "", "", FILE, PRESENT if pa.is_file() else ABSENT,
                                        PRESENT if pb.is_file() else ABSENT))
            continue
        fields = ra["schema"]["fields"]
        sa, sb = _read(pa, name, fields, key), _read(pb, name, fields, key)
        out += _compare_sheets(name, _types(ra), key, sa, sb, (pa, pb), ignore)
    for name in res_b:
        if name not in res_a:
            out.append(Disagreement(name, "", SCHEMA_FILE, SHEET, ABSENT, PRESENT))
    return out
