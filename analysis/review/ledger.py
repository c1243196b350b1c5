"""The reproduction ledger: each quantitative statement of the published review, recomputed.

`extraction/claims.csv` holds one claim per row. A claim is data, not code: it names a
sheet, a filter and an aggregate, and `evaluate` computes the value from the sheets and
compares it with the published one.

Claims sheet columns (`CLAIM_COLUMNS`; the same in `extraction/claims.schema.json`):

* ``claim_id``: unique id, e.g. ``C05``.
* ``section``: section of the published review the statement is in (``3``, ``5.2``).
* ``description``: what is claimed, in the project's own words.
* ``published_value``: the value as published: a number, a word, or several items
  separated by ``|``.
* ``sheet``: ``studies``, ``arms``, ``outcomes``, ``adverse_events`` (with each arm's
  ``role`` joined from arms.csv), ``prisma`` or ``risk_of_bias``; empty when no sheet
  records the quantity (the claim then cannot be checked).
* ``filter``: clauses separated by ``;``, all of which must hold: ``column=value``,
  ``column!=value``, ``column in a|b|c``, ``column not in a|b|c``. Empty: every row.
* ``aggregate``: ``count``, ``count_distinct:column``, ``sum:column``, ``value:column``
  (the cell of the single matching row) or ``values:column`` (the distinct values, sorted).
* ``note``: context for the reader.

Missing is not zero. A clause on an empty cell is unknown, and so is every clause about a
row of a study that is not identified; a row that is neither surely in nor surely out
makes the claim "cannot be checked", as does an empty cell the aggregate needs. The
reproduced column still shows what the known rows give.
"""

from __future__ import annotations

import math

import pandas as pd

from ..data.claims import cell_text, check_claims, load_claims, parse_aggregate, parse_filter
from ..errors import InputError

LEDGER_COLUMNS = ["claim_id", "section", "description", "published", "reproduced", "status",
                  "explanation"]
REPRODUCED, DIFFERS, UNCHECKABLE = "reproduced", "differs", "cannot be checked"


# --- evaluation -------------------------------------------------------------------------

def _sheet_view(sheets: dict, name: str) -> pd.DataFrame:
    if name not in sheets:
        raise InputError(f"{name}.csv: sheet missing")
    df = sheets[name].copy()
    if name == "adverse_events" and "role" not in df.columns and "arms" in sheets:
        arms = sheets["arms"]
        roles = {(cell_text(s), cell_text(a)): cell_text(r) for s, a, r in zip(arms["study"], arms["arm"], arms["role"])}
        df["role"] = [roles.get((cell_text(s), cell_text(a)), "") for s, a in zip(df["study"], df["arm"])]
    return df


def _same(cell: str, value: str) -> bool:
    if cell == value:
        return True
    try:
        return math.isclose(float(cell), float(value), rel_tol=0, abs_tol=1e-9)
    except ValueError:
        return cell.lower() == value.lower()


def _clause(cell: str, op: str, values) -> bool | None:
    if cell == "":
        return None
    hit = any(_same(cell, v) for v in values)
    return hit if op in ("=", "in") else not hit


def _match(df: pd.DataFrame, clauses) -> tuple[list[int], list[int]]:
    """Row positions surely matching and rows that might (a clause met an empty cell).

    The cells of a slot for an unidentified study are empty, so its rows land among the
    rows that might match unless a filled cell (its scope, say) rules them out.
    """
    for col, _, _ in clauses:
        if len(df) and col not in df.columns:
            raise InputError(f"filter column {col!r} is not in the sheet")
    sure, maybe = [], []
    # Column by column, not row by row: a row lookup (`iloc`) costs more than the clauses.
    cells = list(zip(*([cell_text(v) for v in df[col]] for col, _, _ in clauses))) if clauses else [()] * len(df)
    for i, row in enumerate(cells):
        results = [_clause(cell, op, values) for cell, (_, op, values) in zip(row, clauses)]
        if any(r is False for r in results):
            continue
        (sure if all(r is True for r in results) else maybe).append(i)
    return sure, maybe


def _fmt(x) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return ""
        return str(int(x)) if x.is_integer() else f"{x:g}"
    return str(x)


def _compare(published: str, reproduced: str) -> bool:
    pub = [p.strip() for p in published.split("|")]
    rep = [p.strip() for p in reproduced.split("|")]
    if len(pub) != len(rep):
        return False
    return all(any(_same(r, p) for r in rep) for p in pub)


def _from_seed_only(df: pd.DataFrame, rows: list[int]) -> bool:
    if "source" not in df.columns or not rows:
        return False
    for i in rows:
        parts = [p.strip() for p in cell_text(df.iloc[i]["source"]).split(";") if p.strip()]
        if not parts or not all(p.lower().startswith("seed") for p in parts):
            return False
    return True


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def _names(df, rows) -> str:
    if "study" not in df.columns:
        return f"{len(rows)} row(s)"
    return ", ".join(dict.fromkeys(cell_text(df.iloc[i]["study"]) for i in rows))


def evaluate_claim(sheets: dict, claim) -> dict:
    """One ledger row for one claim (a mapping with CLAIM_COLUMNS)."""
    out = dict(claim_id=cell_text(claim["claim_id"]), section=cell_text(claim["section"]),
               description=cell_text(claim["description"]),
               published=cell_text(claim["published_value"]), reproduced="")
    note = cell_text(claim.get("note", ""))
    sheet = cell_text(claim["sheet"])

    def done(status, explanation):
        out.update(status=status, explanation="; ".join(filter(None, [explanation, note])))
        return out

    if not sheet:
        return done(UNCHECKABLE, "no sheet records this quantity")
    df = _sheet_view(sheets, sheet)
    clauses = parse_filter(cell_text(claim["filter"]), f"claim {out['claim_id']}")
    agg, col = parse_aggregate(cell_text(claim["aggregate"]), f"claim {out['claim_id']}")
    if col is not None and col not in df.columns:
        raise InputError(f"claim {out['claim_id']}: column {col!r} is not in {sheet}.csv")
    st = sheets.get("studies")
    unidentified = set()
    if st is not None and "identified" in st.columns:
        unidentified = {cell_text(s) for s, i in zip(st["study"], st["identified"]) if cell_text(i) == "no"}
    try:
        sure, maybe = _match(df, clauses)
    except InputError as exc:
        raise InputError(f"claim {out['claim_id']}: {exc}") from None

    cells = [cell_text(df.iloc[i][col]) for i in sure] if col else []
    empty = [i for i, c in zip(sure, cells) if c == ""]
    filled = [c for c in cells if c != ""]
    if agg == "count":
        value = _fmt(float(len(sure)))
    elif agg == "count_distinct":
        value = _fmt(float(len(set(filled))))
    elif agg == "sum":
        value = _fmt(sum(float(c) for c in filled)) if filled or not empty else ""
    else:  # value / values
        distinct = sorted(set(filled), key=lambda s: (s.lower(), s))
        value = " | ".join(distinct) if (agg == "values" or len(distinct) != 1) else distinct[0]
        if agg == "value" and len(sure) > 1 and len(distinct) == 1:
            value = distinct[0]
    out["reproduced"] = value

    reasons = []
    unknown_cell = [i for i in maybe if cell_text(df.iloc[i].get("study", "")) not in unidentified]
    unknown_study = [i for i in maybe if i not in unknown_cell]
    if unknown_cell:
        reasons.append(f"{len(unknown_cell)} more may match, a filter cell being empty "
                       f"(not reported): {_names(df, unknown_cell)}")
    if unknown_study:
        reasons.append(f"{len(unknown_study)} more may match, the study not being identified: "
                       f"{_names(df, unknown_study)}")
    if empty:
        reasons.append(f"{col} is empty (not reported) for {_names(df, empty)}")
    if agg == "value" and not sure and not maybe:
        reasons.append("no row matches")
    known = ""
    if agg in ("count", "count_distinct", "sum"):
        named = "study" in df.columns and 0 < len(sure) <= 12
        known = f"{len(sure)} row(s) match" + (f" ({_names(df, sure)})" if named else "")
        if agg == "count_distinct":
            known += f", {value} distinct {col}"
    if agg == "count" and reasons and _number(out["published"]) is not None:
        # Rows that may match can only raise a count: the bounds can still settle it.
        pub = _number(out["published"])
        if len(sure) > pub or len(sure) + len(maybe) < pub:
            bound = (f"even the known rows exceed {out['published']}" if len(sure) > pub else
                     f"even if every uncertain row matched the count would be {len(sure) + len(maybe)}")
            if not empty:
                return done(DIFFERS, "; ".join([known] + reasons + [bound]))
    if reasons or (agg == "value" and not sure):
        return done(UNCHECKABLE, "; ".join(filter(None, [known] + reasons)))
    if _compare(out["published"], value):
        seed = ("the sheet takes this from the published review itself, so agreeing is not "
                "an independent check" if _from_seed_only(df, sure) else "")
        return done(REPRODUCED, "; ".join(filter(None, [known, seed])))
    return done(DIFFERS, "; ".join(filter(None, [known, f"the sheets give {value or 'nothing'}"])))


def evaluate(sheets: dict, claims: pd.DataFrame) -> pd.DataFrame:
    """The ledger: one row per claim, in the claims sheet's order."""
    check_claims(claims)
    rows = [evaluate_claim(sheets, r._asdict()) for r in claims.itertuples(index=False)]
    return pd.DataFrame(rows, columns=LEDGER_COLUMNS)


def ledger(root) -> pd.DataFrame:
    """Load the sheets and the claims of the project at `root` and evaluate them."""
    from ..data.load import load_sheets

    return evaluate(load_sheets(root), load_claims(root))
