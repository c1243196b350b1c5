"""The claims sheet (`extraction/claims.csv`): read and checked; the ledger evaluates it.

Its columns and rule grammar are described in `analysis.review.ledger`.
"""

from __future__ import annotations

import csv
import re

import pandas as pd

from ..errors import InputError
from ..paths import extraction_dir
from .cells import is_blank as _blank

CLAIMS_FILE = "claims.csv"
CLAIM_COLUMNS = ("claim_id", "section", "description", "published_value", "sheet", "filter",
                 "aggregate", "note")
# Optional: the places of the published review the sheets took the claim's values from.
OPTIONAL_CLAIM_COLUMNS = ("taken_from",)
SHEETS = ("studies", "arms", "outcomes", "adverse_events", "prisma", "search", "risk_of_bias")
AGGREGATES = ("count", "count_distinct", "sum", "value", "values")
_CLAUSE = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(?:(!=|=)\s*(.*?)|\s+(not\s+in|in)\s+(.*?))\s*$")


def cell_text(x) -> str:
    if _blank(x):
        return ""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x).strip()


def parse_filter(text: str, where: str) -> list[tuple[str, str, tuple[str, ...]]]:
    clauses = []
    for part in [p for p in text.split(";") if p.strip()]:
        m = _CLAUSE.match(part)
        if not m:
            raise InputError(f"{where}: cannot read clause {part.strip()!r}; use column=value, "
                             "column!=value, column in a|b or column not in a|b")
        col = m.group(1)
        if m.group(2):
            op, values = m.group(2), (m.group(3).strip(),)
        else:
            op = "not in" if m.group(4).startswith("not") else "in"
            values = tuple(v.strip() for v in m.group(5).split("|"))
        if any(v == "" for v in values):
            raise InputError(f"{where}: empty value in clause {part.strip()!r}")
        clauses.append((col, op, values))
    return clauses


def parse_aggregate(text: str, where: str) -> tuple[str, str | None]:
    name, _, col = text.strip().partition(":")
    name, col = name.strip(), col.strip() or None
    if name not in AGGREGATES:
        raise InputError(f"{where}: unknown aggregate {text!r}; use one of {', '.join(AGGREGATES)}")
    if (name == "count") != (col is None):
        raise InputError(f"{where}: {'count takes no column' if name == 'count' else name + ' needs :column'}")
    return name, col


def check_claims(claims: pd.DataFrame, file: str = CLAIMS_FILE) -> None:
    """InputError for the first malformed claim, as FILE:ROW:COLUMN: what (value)."""
    lacking = [c for c in CLAIM_COLUMNS if c not in claims.columns]
    if lacking:
        raise InputError(f"{file}: missing column(s) {', '.join(lacking)}")
    seen = set()
    for i, r in enumerate(claims.itertuples(index=False), start=2):
        r = r._asdict()
        cid = cell_text(r["claim_id"])
        for col in ("claim_id", "section", "description", "published_value"):
            if not cell_text(r[col]):
                raise InputError(f"{file}:{i}:{col}: empty")
        if cid in seen:
            raise InputError(f"{file}:{i}:claim_id: repeated ({cid})")
        seen.add(cid)
        sheet = cell_text(r["sheet"])
        if sheet and sheet not in SHEETS:
            raise InputError(f"{file}:{i}:sheet: unknown sheet ({sheet})")
        if sheet:
            parse_filter(cell_text(r["filter"]), f"{file}:{i}:filter")
            if not cell_text(r["aggregate"]):
                raise InputError(f"{file}:{i}:aggregate: empty")
            parse_aggregate(cell_text(r["aggregate"]), f"{file}:{i}:aggregate")
        taken = cell_text(r.get("taken_from", ""))
        if taken and not sheet:
            raise InputError(f"{file}:{i}:taken_from: set, but the claim reads no sheet ({taken})")
        if taken and any(not t.strip() for t in taken.split("|")):
            raise InputError(f"{file}:{i}:taken_from: empty place between '|' ({taken})")


def load_claims(root) -> pd.DataFrame:
    """extraction/claims.csv as text columns, checked."""
    path = extraction_dir(root) / CLAIMS_FILE
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            # Spreadsheets pad cells and headers with spaces; strip them as the sheets do.
            header = [h.strip() for h in next(reader, [])]
            rows = []
            for line, cells in enumerate(reader, start=2):
                if len(cells) > len(header):
                    raise InputError(f"{CLAIMS_FILE}:{line}: more cells than header columns")
                rows.append({h: c.strip() for h, c in zip(header, cells)})
    except FileNotFoundError:
        raise InputError(f"{CLAIMS_FILE}: not found in {extraction_dir(root)}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{CLAIMS_FILE}: not UTF-8 (byte {exc.start})") from None
    except csv.Error as exc:
        raise InputError(f"{CLAIMS_FILE}: not a readable CSV file ({exc})") from None
    claims = pd.DataFrame(rows, columns=header or list(CLAIM_COLUMNS))
    claims = claims.fillna("")
    check_claims(claims)
    return claims
