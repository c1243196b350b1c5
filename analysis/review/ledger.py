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
* ``taken_from`` (optional): places of the published review, as the sheets cite them
  (``seed section 5.3``; ``seed`` for any), from which the sheets took the values the claim
  reads, separated by ``|``.

A claim that agrees with the sheets is ``reproduced`` when the sheets found the value
elsewhere, and ``consistent (taken from the review)`` when any row it rests on took its
value from the published review itself: a row whose every source is the review, or one
that cites a place named in ``taken_from``. The second kind of agreement proves nothing
about the review, and the explanation says for which studies it holds.

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
                  "explanation", "sheet"]
REPRODUCED, DIFFERS, UNCHECKABLE = "reproduced", "differs", "cannot be checked"
# agreement that proves nothing: the sheet's value is the published review's own
TAKEN = "consistent (taken from the review)"
STATUSES = (REPRODUCED, TAKEN, DIFFERS, UNCHECKABLE)


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


REVIEW_SOURCE = "seed"  # how the sheets cite the published review: `seed section N.N`


class _Columns:
    """A sheet's columns as text, each read once (looking rows up one by one is slow)."""

    def __init__(self, df: pd.DataFrame):
        self.df, self._cache = df, {}

    def __call__(self, col: str) -> list[str]:
        if col not in self._cache:
            self._cache[col] = ([cell_text(v) for v in self.df[col]] if col in self.df.columns
                                else [""] * len(self.df))
        return self._cache[col]


def _sources(cols: _Columns, i: int) -> list[str]:
    return [p.strip() for p in cols("source")[i].split(";") if p.strip()]


def _cites(source: str, place: str) -> bool:
    """`seed section 5.3` cites `seed section 5.3` and `seed`, not `seed section 5`."""
    return source.lower() == place.lower() or source.lower().startswith(place.lower() + " ")


def _taken(cols: _Columns, rows: list[int], taken_from: list[str]) -> dict[int, list[str]]:
    """Rows whose value the sheet took from the published review, with the places cited.

    A row is taken from the review when every source it cites is the review, or when the
    claim names places of the review (`taken_from`) and the row cites one of them.
    """
    out = {}
    for i in rows:
        parts = _sources(cols, i)
        if parts and all(_cites(p, REVIEW_SOURCE) for p in parts):
            out[i] = parts
        elif taken_from:
            cited = [p for p in parts if any(_cites(p, t) for t in taken_from)]
            if cited:
                out[i] = cited
    return out


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


# --- explanations in words --------------------------------------------------------------

_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten", "eleven", "twelve")
MAX_NAMED = 12  # a longer list of studies is given as a count


def _words(n: int) -> str:
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def _join(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Rows:
    """Names for the rows of one sheet: study labels where the sheet has a study column."""

    def __init__(self, cols: _Columns, sheet: str, labels: dict):
        self.cols, self.sheet, self.labels = cols, sheet, labels
        self.by_study = "study" in cols.df.columns

    def names(self, rows) -> list[str]:
        keys = dict.fromkeys(self.cols("study")[i] for i in rows)
        return [self.labels.get(k, k) for k in keys]

    def noun(self, n: int) -> str:
        if self.sheet == "studies":
            return "study" if n == 1 else "studies"
        return f"row{'' if n == 1 else 's'} of {self.sheet}.csv"

    def phrase(self, rows) -> str:
        """"two studies (Kim 2014 and Im 2022)", "one row of arms.csv (Xia 2022)"."""
        n = len(rows)
        text = f"{_words(n)} {self.noun(n)}"
        if self.by_study and 0 < n <= MAX_NAMED:
            names = self.names(rows)
            if self.sheet == "studies" or len(names) <= MAX_NAMED:
                text += f" ({_join(names)})"
        return text


MAX_PLACES = 3  # more places than this are left unnamed


def _places(sources) -> str:
    """"section 5.3", "sections 3.2 and 5.3": the places of the review the sheets cite."""
    places = []
    for s in sources:
        p = s[len(REVIEW_SOURCE):].strip() if _cites(s, REVIEW_SOURCE) else s
        if p and p not in places:
            places.append(p)
    if not places or len(places) > MAX_PLACES:
        return ""
    if all(p.startswith("section ") for p in places) and len(places) > 1:
        numbers = sorted((p[len("section "):] for p in places),
                         key=lambda n: [int(x) if x.isdigit() else x for x in n.split(".")])
        return "sections " + _join(numbers)
    return _join(places)


def _column_words(col: str) -> str:
    return col.replace("_", " ")


def _taken_sentence(names: _Rows, sure: list[int], taken: dict[int, list[str]]) -> str:
    where = _places(s for i in sure if i in taken for s in taken[i])
    where = f" (its {where})" if where else ""
    if len(taken) == len(sure):
        what = "this value" if len(sure) == 1 else "these values"
        return (f"The sheets took {what} from the published review itself{where}, so the "
                "agreement is not an independent check.")
    part = [i for i in sure if i in taken]
    listed = f" ({_join(names.names(part))})" if names.by_study else ""
    return (f"For {_words(len(part))} of the {_words(len(sure))} {names.noun(len(sure))}{listed}, the "
            f"sheets took the value from the published review itself{where}, so the agreement is "
            "only partly independent.")


def evaluate_claim(sheets: dict, claim) -> dict:
    """One ledger row for one claim (a mapping with CLAIM_COLUMNS, optionally `taken_from`)."""
    out = dict(claim_id=cell_text(claim["claim_id"]), section=cell_text(claim["section"]),
               description=cell_text(claim["description"]),
               published=cell_text(claim["published_value"]), reproduced="",
               sheet=cell_text(claim["sheet"]))
    note = cell_text(claim.get("note", ""))
    sheet = out["sheet"]
    taken_from = [t.strip() for t in cell_text(claim.get("taken_from", "")).split("|") if t.strip()]

    def done(status, *sentences):
        text = " ".join(filter(None, sentences))
        if note:
            text = " ".join(filter(None, [text, note if note.endswith(".") else note + "."]))
        out.update(status=status, explanation=text)
        return out

    if not sheet:
        return done(UNCHECKABLE, "No sheet records this quantity.")
    df = _sheet_view(sheets, sheet)
    clauses = parse_filter(cell_text(claim["filter"]), f"claim {out['claim_id']}")
    agg, col = parse_aggregate(cell_text(claim["aggregate"]), f"claim {out['claim_id']}")
    if col is not None and col not in df.columns:
        raise InputError(f"claim {out['claim_id']}: column {col!r} is not in {sheet}.csv")
    st = sheets.get("studies")
    unidentified, labels = set(), {}
    if st is not None and "study" in st.columns:
        if "identified" in st.columns:
            unidentified = {cell_text(k) for k, i in zip(st["study"], st["identified"]) if cell_text(i) == "no"}
        if "label" in st.columns:
            labels = {cell_text(k): cell_text(v) or cell_text(k) for k, v in zip(st["study"], st["label"])}
    cols = _Columns(df)
    names = _Rows(cols, sheet, labels)
    try:
        sure, maybe = _match(df, clauses)
    except InputError as exc:
        raise InputError(f"claim {out['claim_id']}: {exc}") from None

    cells = [cols(col)[i] for i in sure] if col else []
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
    out["reproduced"] = value

    unknown_cell = [i for i in maybe if cols("study")[i] not in unidentified]
    unknown_study = [i for i in maybe if i not in unknown_cell]
    reasons = []
    if unknown_cell:
        blank = [c for c, _, _ in clauses if any(cols(c)[i] == "" for i in unknown_cell)]
        whose = "its" if len(unknown_cell) == 1 else "their"
        reasons.append(f"{_cap(names.phrase(unknown_cell))} may also match: {whose} "
                       f"{' or '.join(_column_words(c) for c in dict.fromkeys(blank))} is not reported.")
    if unknown_study:
        reasons.append(f"{_cap(names.phrase(unknown_study))} may also match, being counted without "
                       "an identified publication.")
    if empty:
        reasons.append(f"The {_column_words(col)} is not reported for {_join(names.names(empty)) if names.by_study else names.phrase(empty)}.")
    if agg == "value" and not sure and not maybe:
        reasons.append("No row matches.")
    known = ""
    if agg in ("count", "count_distinct", "sum"):
        n = len(sure)
        known = f"{_cap(names.phrase(sure))} {'matches' if n == 1 else 'match'}" if n else \
            f"No {names.noun(1)} matches"
        if agg == "count_distinct":
            k = len(set(filled))
            known += (f", from {_words(k)} {'study' if k == 1 else 'studies'}" if col == "study" else
                      f", with {_words(k)} distinct values of {_column_words(col)}")
        known += "."
    if agg == "count" and reasons and _number(out["published"]) is not None:
        # Rows that may match can only raise a count: the bounds can still settle it.
        pub = _number(out["published"])
        if len(sure) > pub or len(sure) + len(maybe) < pub:
            bound = (f"Even the rows known to match are more than {out['published']}." if len(sure) > pub else
                     f"Even if every uncertain row matched, the count would be {len(sure) + len(maybe)}.")
            if not empty:
                return done(DIFFERS, known, *reasons, bound)
    if reasons or (agg == "value" and not sure):
        return done(UNCHECKABLE, known, *reasons)
    if _compare(out["published"], value):
        taken = _taken(cols, sure, taken_from)
        if taken:
            return done(TAKEN, known, _taken_sentence(names, sure, taken))
        stale = (f"The claims sheet says the sheets took this from {' or '.join(taken_from)}, but no "
                 "row the claim reads cites it now." if taken_from else "")
        return done(REPRODUCED, known, stale)
    return done(DIFFERS, known)


def evaluate(sheets: dict, claims: pd.DataFrame) -> pd.DataFrame:
    """The ledger: one row per claim, in the claims sheet's order."""
    check_claims(claims)
    rows = [evaluate_claim(sheets, r._asdict()) for r in claims.itertuples(index=False)]
    return pd.DataFrame(rows, columns=LEDGER_COLUMNS)


NO_SHEET = "no sheet"  # group of the claims no sheet could record (a background fact, say)
GROUPS = (REPRODUCED, TAKEN, DIFFERS, UNCHECKABLE, NO_SHEET)


def outcome_groups(ledger_df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The ledger's rows by outcome of the check (`GROUPS`, each a status), with the claims
    that no sheet records under NO_SHEET, apart from those that more data could settle."""
    status = ledger_df["status"].map(cell_text)
    no_sheet = (status == UNCHECKABLE) & (ledger_df["sheet"].map(cell_text) == "")
    return {key: ledger_df[no_sheet] if key == NO_SHEET else ledger_df[(status == key) & ~no_sheet]
            for key in GROUPS}


def ledger(root) -> pd.DataFrame:
    """Load the sheets and the claims of the project at `root` and evaluate them."""
    from ..data.load import load_sheets

    return evaluate(load_sheets(root), load_claims(root))
