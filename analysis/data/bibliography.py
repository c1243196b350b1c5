"""`references.bib` (bibtexparser 2): load it, and check keys, entries and the citations of review.qmd."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import bibtexparser
from bibtexparser import model

from ..errors import InputError
from .schema import Problem

KEY_PATTERN = re.compile(r"[a-z]+[0-9]{4}[a-z]?")
REQUIRED = ("author", "year")
# Pandoc citation: @key after start, whitespace, '[', ';' or '-' (suppressed author).
CITATION = re.compile(r"(?:(?<=^)|(?<=[\s\[;(-]))@([A-Za-z0-9_][A-Za-z0-9_:.#$%&+?<>~/-]*)")
INLINE_CODE = re.compile(r"`[^`]*`")
CROSSREF_PREFIXES = ("fig-", "tbl-", "sec-", "eq-", "lst-", "thm-", "lem-", "cor-", "prp-", "def-", "exm-", "exr-")


def _parse(path: Path) -> tuple[model.Library | None, list[Problem]]:
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(name, None, None, "missing: study keys cannot be checked")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [Problem(name, line, None, f"not UTF-8: byte offset {exc.start} cannot be decoded")]
    # bibtexparser logs each failed block; the failures are reported as Problems instead.
    log = logging.getLogger("bibtexparser")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        return bibtexparser.parse_string(text), []
    finally:
        log.setLevel(level)


def _check(library: model.Library, name: str) -> list[Problem]:
    problems = []
    for block in library.failed_blocks:
        line = block.start_line + 1
        if isinstance(block, model.DuplicateBlockKeyBlock):
            problems.append(Problem(name, line, block.key, "duplicate key; the first entry with this key is kept"))
        else:
            m = re.match(r"\s*@\w+\s*[{(]\s*([^,\s]+)", block.raw or "")
            problems.append(
                Problem(name, line, m.group(1) if m else None, "malformed entry: unbalanced braces, a missing comma or an unclosed field")
            )
    for entry in library.entries:
        line = entry.start_line + 1
        if not KEY_PATTERN.fullmatch(entry.key):
            problems.append(
                Problem(name, line, entry.key, "key is not lower-case surname + year (+ letter), e.g. kim2014")
            )
        fields = {f.key.lower(): str(f.value).strip() for f in entry.fields}
        for req in REQUIRED:
            if not fields.get(req):
                problems.append(Problem(name, line, entry.key, f"entry has no {req}"))
        year = fields.get("year", "")
        if year and not re.fullmatch(r"[0-9]{4}", year):
            problems.append(Problem(name, line, entry.key, "year is not four digits", year))
        elif year and KEY_PATTERN.fullmatch(entry.key) and re.search(r"[0-9]{4}", entry.key).group() != year:
            problems.append(Problem(name, line, entry.key, "the key's year differs from the year field", year))
    return problems


def load_bibliography(path) -> dict[str, model.Entry]:
    """Entries by key; InputError naming the first problem when the file is missing or has bad entries."""
    path = Path(path)
    library, problems = _parse(path)
    if library is not None:
        problems = _check(library, path.name)
    if problems:
        more = "" if len(problems) == 1 else f" [first of {len(problems)} problems]"
        raise InputError(f"{problems[0]}{more}")
    return {entry.key: entry for entry in library.entries}


def citations(qmd_text: str) -> list[tuple[int, str]]:
    """(line, key) of every Pandoc citation in the text, cross-references (@fig- ...) left out."""
    found = []
    fence = None  # the marker that opened the current code block
    for lineno, line in enumerate(qmd_text.splitlines(), 1):
        stripped = line.lstrip()
        marker = stripped[:3] if stripped[:3] in ("```", "~~~") else None
        if fence is None and marker:
            fence = marker
            continue
        if fence is not None:
            if marker == fence and stripped.rstrip().strip(fence[0]) == "":
                fence = None
            continue  # code cells hold decorators and e-mail-like text, not citations
        line = INLINE_CODE.sub("", line)
        for m in CITATION.finditer(line):
            key = m.group(1).rstrip(".:;,?")  # sentence punctuation after a bare @key
            if key.startswith(CROSSREF_PREFIXES):
                continue
            found.append((lineno, key))
    return found


def check_bibliography(path, qmd_path=None) -> list[Problem]:
    """Every problem of the .bib file, plus citations in `qmd_path` (when it exists) that have no entry."""
    path = Path(path)
    library, problems = _parse(path)
    if library is None:
        return problems
    problems = _check(library, path.name)
    keys = {e.key for e in library.entries}
    if qmd_path is not None and Path(qmd_path).exists():
        qmd = Path(qmd_path)
        text = qmd.read_text(encoding="utf-8", errors="replace")
        for lineno, key in citations(text):
            if key not in keys:
                problems.append(Problem(qmd.name, lineno, key, f"cited but not in {path.name}"))
    return problems


def bib_keys(path) -> set[str] | None:
    """Keys of the entries that parse (None when the file cannot be read); used by the sheet checks."""
    library, _ = _parse(Path(path))
    return None if library is None else {e.key for e in library.entries}
