"""What holds for a rendered review and for generated sentences, whatever valid sheets it reads.

The live review (review.qmd and the live sheets) is not pinned by value in the tests: its
numbers are pinned by `review check` against numbers.lock, and its text by these
invariants, which are true for any valid data. They are plain functions returning a list of
problems (empty when all is well), so any test can use them: the live render
(tests/test_live_review.py), the update tests and the property tests
(tests/test_any_update.py).

- `sentence_problems(text)`: broken generated prose: a literal inline expression, an empty
  list slot (" , ", ": .", "from ,"), agreement for one ("one outcomes"), "the no ...",
  doubled spaces or punctuation, a Python None or NaN in the words;
- `reference_problems(text)`: cross-references or citations left unresolved ("?@fig-", "??");
- `figure_problems(captions, pooled)`: a pooled analysis without a figure whose caption
  names its outcome;
- `estimate_problems(text, numbers, plan)`: a pooled estimate of the numbers mapping that
  the text does not state as the review formats it;
- `html_text(html)` / `html_captions(html)`: the prose (without the reference list) and the
  figure captions of a rendered HTML review.
"""

from __future__ import annotations

import html as _html
import math
import re
import subprocess

MINUS = "\u2212"
PLURALS = ("outcomes", "studies", "analyses", "trials", "arms", "events", "terms", "participants", "claims",
           "statements", "estimates", "patients", "sources", "judgements", "cells", "groups")
# an empty slot: a word that needs a continuation, then punctuation or the end of the sentence
_EMPTY_AFTER = r"(?:and|or|of|by|with|the|between|than)"
_PATTERNS = [
    (re.compile(r"`?\{python\}"), "literal inline code"),
    (re.compile(r"\s[,;:]\s*[,;:.]"), "empty list slot"),
    (re.compile(r"(?<=[\w%)]) [,;.:)](?!\d)"), "space before punctuation"),
    (re.compile(r":\s*\."), "empty list slot after a colon"),
    (re.compile(r"\(\s*\)"), "empty parentheses"),
    (re.compile(rf"\b{_EMPTY_AFTER}[.;:)]", re.I), "a list left empty"),
    (re.compile(rf"\b(?:one|One|1) (?:{'|'.join(PLURALS)})\b"), "a plural after one"),
    (re.compile(r"\bthe no\b", re.I), "'the no'"),
    (re.compile(r"\b(?:no|No) (?:(?:single|main|other|identified|included)[\w-]* )?(?:outcomes|studies|analyses|trials) (?:is|was|has)\b"),
     "a singular verb after a plural 'no ...'"),
    (re.compile(r"(?<=\S)  +(?=\S)"), "doubled space"),
    (re.compile(r"([,;:])\s*\1|(?<!\.)\.\.(?!\.)|\.\s+\.(?!\.)"), "doubled punctuation"),
    (re.compile(r"\bnan\b|\bNaN\b|\binf\b"), "NaN or infinity in the text"),
    (re.compile(r"np\.(?:int|float)\w*\("), "a numpy repr"),
]


def sentence_problems(text: str, where: str = "") -> list[str]:
    """Broken generated prose in `text`, one line per problem with the words around it."""
    out = []
    for pattern, what in _PATTERNS:
        for m in pattern.finditer(text):
            out.append(f"{where}{what}: ...{text[max(0, m.start() - 40):m.end() + 40]}...")
    # Python's None in prose: any "None" that does not start a sentence ("None of the ..." is English)
    for m in re.finditer(r"\bNone\b", text):
        before = text[:m.start()].rstrip()
        if before and before[-1] not in ".!?:\n|" and not before.endswith(("(", "\u201c")):
            out.append(f"{where}Python None in the text: ...{text[max(0, m.start() - 40):m.end() + 40]}...")
    return out


def reference_problems(text: str) -> list[str]:
    """Cross-references and citations that did not resolve."""
    out = []
    for pattern in (r"\?@[\w-]+", r"\?\?", r"@(?:fig|tbl|sec)-[\w-]+"):
        for m in re.finditer(pattern, text):
            out.append(f"unresolved reference {m.group(0)!r}: ...{text[max(0, m.start() - 40):m.end() + 40]}...")
    return out


def outcome_name(label: str) -> str:
    """The name of an outcome without its qualifiers: "Timed Up and Go (s)" -> "Timed Up and Go"."""
    return re.split(r" \(|, ", label, maxsplit=1)[0].strip()


def _match(candidates: dict[str, list[int]]) -> dict[str, int]:
    """A matching of analyses to distinct figures (augmenting paths; the sets are small)."""
    owner: dict[int, str] = {}

    def place(a: str, seen: set[int]) -> bool:
        for f in candidates[a]:
            if f in seen:
                continue
            seen.add(f)
            if f not in owner or place(owner[f], seen):
                owner[f] = a
                return True
        return False

    for a in candidates:
        place(a, set())
    return {a: f for f, a in owner.items()}


def figure_problems(captions: list[str], pooled: dict[str, str]) -> list[str]:
    """Every pooled analysis (id -> plan label) needs its own figure whose caption names the
    outcome: the full label, or the outcome's name without qualifiers. Two pooled analyses
    of one outcome need two such figures."""
    flat = [re.sub(r"\s+", " ", c) for c in captions]
    candidates = {}
    for aid, label in pooled.items():
        full = [i for i, c in enumerate(flat) if label in c]
        named = [i for i, c in enumerate(flat) if outcome_name(label) in c and i not in full]
        candidates[aid] = full + named
    matched = _match(candidates)
    return [f"pooled analysis {aid} ({pooled[aid]}) has no figure whose caption names it"
            for aid in pooled if aid not in matched]


def pooled_analyses(numbers: dict, plan) -> dict[str, str]:
    """The analyses the numbers mapping reports as pooled, id -> plan label."""
    labels = {o.id: o.label for o in plan.outcomes}
    return {aid: labels.get(aid, aid) for aid in labels
            if numbers.get(f"analysis.{aid}.status") == "pooled"}


def _fmt(x: float) -> str:
    text = f"{x:.2f}"
    if float(text) == 0:
        text = "0.00"
    return text.replace("-", MINUS)


def estimate_text(numbers: dict, aid: str) -> str | None:
    """A pooled estimate as the review writes it, from the numbers mapping alone:
    "MD 3.12 (95% CI 1.40 to 4.84)"; ratios on their natural scale."""
    get = lambda f: numbers.get(f"analysis.{aid}.{f}")  # noqa: E731
    measure, est, lb, ub, level = get("measure"), get("estimate"), get("ci_lb"), get("ci_ub"), get("level")
    if measure is None or est is None or lb is None or ub is None:
        return None
    nat = (lambda v: math.exp(v)) if str(measure).upper() in ("RR", "OR") else (lambda v: v)
    level = f"{float(level):g}" if level is not None else "95"
    return f"{measure} {_fmt(nat(est))} ({level}% CI {_fmt(nat(lb))} to {_fmt(nat(ub))})"


def _near(v: float) -> str:
    """A regular expression for `v` as `_fmt` writes it, where `v` is a value of the numbers
    mapping (rounded to six significant digits) and the text was formatted from the value
    before that rounding: 10.875 in the mapping may be 10.87 or 10.88 in the text."""
    tol = 10 ** (math.floor(math.log10(abs(v))) - 5) if v else 0.0
    return "(?:" + "|".join(re.escape(f) for f in sorted({_fmt(v - tol), _fmt(v), _fmt(v + tol)})) + ")"


def estimate_problems(text: str, numbers: dict, plan) -> list[str]:
    """Each pooled estimate of the numbers mapping is stated in the text as the review
    formats it (the abstract states every pooled analysis, main and exploratory), each
    number to within the mapping's rounding."""
    flat = re.sub(r"\s+", " ", text.replace("\xa0", " "))
    out = []
    for aid, label in pooled_analyses(numbers, plan).items():
        said = estimate_text(numbers, aid)
        if said is None:
            continue
        get = lambda f: numbers.get(f"analysis.{aid}.{f}")  # noqa: E731
        nat = math.exp if str(get("measure")).upper() in ("RR", "OR") else (lambda v: v)
        est, lb, ub = (_near(nat(get(f))) for f in ("estimate", "ci_lb", "ci_ub"))
        level = f"{float(get('level')):g}" if get("level") is not None else "95"
        if not re.search(f"{re.escape(str(get('measure')))} {est} \\({re.escape(level)}% CI {lb} to {ub}\\)", flat):
            out.append(f"pooled analysis {aid} ({label}): {said!r} is not in the text")
    return out


# --- rendered HTML ----------------------------------------------------------------------

_BLOCK = re.compile(r"</?(?:p|div|li|ul|ol|td|th|tr|table|h[1-6]|figcaption|caption|figure|section|br|dd|dt)\b[^>]*>",
                    re.I)


def html_text(html: str, references: bool = False) -> str:
    """The visible text of a rendered review, one block (paragraph, cell, caption) a line;
    the reference list is left out unless `references`."""
    body = html
    body = re.sub(r"<(script|style|svg|head)\b.*?</\1>", " ", body, flags=re.S | re.I)
    if not references:
        body = re.sub(r'<div[^>]*id="refs".*', " ", body, flags=re.S)
    body = re.sub(r"\s+", " ", body)
    body = _BLOCK.sub("\n", body)
    body = re.sub(r"<[^>]+>", "", body)
    body = _html.unescape(body).replace("\xa0", " ")
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in body.split("\n")]
    return "\n".join(line for line in lines if line)


def html_captions(html: str) -> list[str]:
    """The figure captions of a rendered HTML review, as text."""
    caps = re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", html, re.S | re.I)
    return [re.sub(r"\s+", " ", _html.unescape(re.sub(r"<[^>]+>", "", c)).replace("\xa0", " ")).strip()
            for c in caps]


def review_problems(html: str, numbers: dict, plan) -> list[str]:
    """Every invariant above on one rendered HTML review."""
    text = html_text(html)
    return (sentence_problems(text) + reference_problems(text)
            + figure_problems(html_captions(html), pooled_analyses(numbers, plan))
            + estimate_problems(text, numbers, plan))


def pdf_problems(pdf) -> list[str]:
    """Broken sentences and unresolved references in a rendered PDF (read with pdftotext).
    Its line breaks, hyphenation and columns are not the prose, and the contents' dot leaders
    are no punctuation, so spacing is not checked and those lines are left out."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    body = text.split("\nReferences\n")[0]
    lines = [line for line in body.splitlines() if not re.search(r"(?:\s\.){3}", line)]
    words = re.sub(r"-\s+(?=[a-z])", "-", " ".join(" ".join(lines).split()))
    if "Figure 1" not in words:
        return [f"{pdf}: no 'Figure 1' in the text; pdftotext read nothing useful"]
    return ([p for p in sentence_problems(words, "pdf: ") if not p.startswith(("pdf: doubled space",
                                                                              "pdf: space before"))]
            + reference_problems(words))
