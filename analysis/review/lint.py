"""`review lint`: flag numbers typed into the prose of review.qmd.

Every number in the review's text should come from the data through an inline
`{python} ...` expression, so that changing a sheet changes the text. This check reads
the document and reports each number written by hand.

Not checked (masked before the scan): YAML front matter, fenced code blocks (```` ``` ````
or ``~~~``, including ```` ```{python} ```` cells), inline code spans (which hold the
`{python} ...` expressions), HTML comments, shortcodes ``{{< ... >}}``, attribute blocks
``{#sec-x .class}``, div fences (``:::``), link targets and bare addresses.

Allowed in prose:

* years, 1900-2099, optionally with a letter suffix ("2020a"), as in "et al., 2021";
* citation keys and cross-references, ``@smith2020``, ``[@a; @b, p. 3]``, ``@fig-forest``,
  ``@tbl-x``, ``@sec-x``;
* the number after the words section, table, figure (and their plurals and "Sec.",
  "Fig.", "Tab."), including lists such as "sections 5.1 and 5.2";
* digits inside a name that starts with a letter (M1, T2, ChiCTR1900026516) and
  exponents or subscripts in notation (``$I^2$``, ``x_1``): they are labels, not quantities;
* ordered-list markers ("1. "), attribute blocks (``{width=80%}``) and raw HTML tags;
* the instrument and guideline names in ``ALLOWED_NAMES``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

# Names that contain a free-standing number or start with one. Kept short on purpose:
# anything else with a number in it should be computed or moved into code.
ALLOWED_NAMES = (
    "PRISMA 2020",
    "RoB 2",
    "RoB 2.0",
    "ROBINS-I",
    "10MWT",
    "10mWT",
    "10-m walk test",
    "10-metre walk test",
    "10-meter walk test",
    "6MWT",
    "COVID-19",
)

# A year, possibly with a letter that tells two works apart ("2020a").
_YEAR = re.compile(r"(?:19|20)\d\d")
_YEAR_END = re.compile(r"[a-z]?(?!\w)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_REF_WORDS = r"(?:\b(?:sections?|sec\.|tables?|tab\.|figures?|figs?\.)|§)"
_NUM = r"\d+(?:\.\d+)*[a-z]?"
_REF_RUN = re.compile(
    rf"{_REF_WORDS}\s*{_NUM}(?:\s*(?:,|and|&|or|to|–|-)\s*{_NUM})*", re.IGNORECASE)
_MASKS = (
    re.compile(r"\{\{<.*?>\}\}"),                      # shortcodes
    re.compile(r"\[[^\[\]]*@[^\[\]]*\]"),              # bracketed citations with locators
    re.compile(r"(?<![\w@])@[\w:.#$%&\-+?<>~/]*\w"),   # citation keys and cross-references
    re.compile(r"\]\([^)]*\)"),                       # link and image targets
    re.compile(r"\{[#.][^}]*\}|\{[^{}]*=[^{}]*\}"),      # attribute blocks, {width=80%}
    re.compile(r"</?[A-Za-z][^<>]*>"),                 # raw HTML tags
    re.compile(r"^\s*(?:[-*+>]\s+)*\d+[.)](?=\s)"),     # ordered-list markers
    re.compile(r"<https?://[^>]*>|https?://\S+|www\.\S+|doi:\S+|\b10\.\d{4,}/\S+"),
    re.compile(r"\[\^[^\]]*\]"),                       # footnote markers
)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class LintProblem:
    path: str
    line: int
    col: int
    number: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: number typed into prose ({self.number})"


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _mask_inline_code(line: str) -> str:
    """Blank out code spans: a run of n backticks up to the next run of exactly n."""
    out, i = line, 0
    while True:
        m = re.compile(r"`+").search(out, i)
        if not m:
            return out
        ticks = m.group(0)
        close = re.compile(rf"(?<!`){ticks}(?!`)").search(out, m.end())
        if not close:
            return out
        out = _blank(out, m.start(), close.end())
        i = close.end()


def _prose_lines(text: str) -> list[str]:
    """The document with everything that is not prose replaced by spaces, line by line."""
    lines = text.split("\n")
    out = []
    in_front = bool(lines) and lines[0].strip() == "---"
    fence = None       # the opening fence while inside a code block
    in_comment = False
    for n, raw in enumerate(lines):
        line = raw.rstrip("\r")
        if in_front:
            out.append("")
            if n > 0 and line.strip() in ("---", "..."):
                in_front = False
            continue
        if fence is not None:
            out.append("")
            m = _FENCE.match(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and line.strip() == m.group(1):
                fence = None
            continue
        if not in_comment:
            m = _FENCE.match(line)
            if m:
                fence = m.group(1)
                out.append("")
                continue
        # HTML comments, possibly spanning lines.
        masked, i = line, 0
        while True:
            if in_comment:
                end = masked.find("-->", i)
                if end < 0:
                    masked = _blank(masked, i, len(masked))
                    break
                masked = _blank(masked, i, end + 3)
                i, in_comment = end + 3, False
            start = masked.find("<!--", i)
            if start < 0:
                break
            masked = _blank(masked, start, start + 4)
            i, in_comment = start + 4, True
        if masked.lstrip().startswith(":::"):
            out.append("")
            continue
        masked = _mask_inline_code(masked)
        for pattern in _MASKS:
            masked = pattern.sub(lambda m: " " * len(m.group(0)), masked)
        for name in ALLOWED_NAMES:
            masked = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)",
                            lambda m: " " * len(m.group(0)), masked, flags=re.IGNORECASE)
        masked = _REF_RUN.sub(lambda m: " " * len(m.group(0)), masked)
        out.append(masked)
    return out


def lint_text(text: str, path: str = "review.qmd") -> list[LintProblem]:
    """Problems in `text`, in order of line and column; `path` is only used to label them."""
    problems = []
    for n, line in enumerate(_prose_lines(text), start=1):
        for m in _NUMBER.finditer(line):
            before = line[m.start() - 1] if m.start() > 0 else " "
            if before.isalpha() or before in "_^":
                continue  # a label such as M1 or T2, or notation such as I^2
            token = m.group(0)
            if _YEAR.fullmatch(token) and _YEAR_END.match(line, m.end()):
                continue
            problems.append(LintProblem(path, n, m.start() + 1, token))
    return problems


def lint_qmd(path) -> list[LintProblem]:
    """Numbers typed into the prose of a Quarto file; each problem prints as FILE:LINE:COL."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return lint_text(text, str(path))
