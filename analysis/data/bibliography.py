"""`references.bib` (bibtexparser 2): load it, and check keys, entries and the citations of review.qmd;
warn about incomplete entries and fields that `references-sources.csv` gives no source for."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import bibtexparser
from bibtexparser import model
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names

from ..errors import InputError
from .schema import Problem

KEY_PATTERN = re.compile(r"[a-z]+[0-9]{4}[a-z]?")
REQUIRED = ("author", "year")
# Pandoc citation: @key after start, whitespace, '[', ';' or '-' (suppressed author).
CITATION = re.compile(r"(?:(?<=^)|(?<=[\s\[;(-]))@([A-Za-z0-9_][A-Za-z0-9_:.#$%&+?<>~/-]*)")
INLINE_CODE = re.compile(r"`[^`]*`")
# What a reference needs to be found again, by entry type; "a|b" is either field.
COMPLETE = {
    "article": ("author", "title", "journal", "year", "volume", "pages", "doi"),
    "book": ("author|editor", "title", "publisher", "year"),
    "incollection": ("author", "title", "booktitle", "editor", "publisher", "year", "pages"),
    "inbook": ("author", "title", "booktitle|chapter", "publisher", "year", "pages"),
    "inproceedings": ("author", "title", "booktitle", "year", "pages"),
    "phdthesis": ("author", "title", "school", "year"),
    "techreport": ("author", "title", "institution", "year"),
}
COMPLETE_OTHER = ("author", "title", "year", "howpublished|url|doi")
SOURCES_FILE = "references-sources.csv"
SOURCES_COLUMNS = ("key", "fields", "source", "location")
UNSOURCED = {"keywords", "note"}  # the project's own words, not taken from a source
CROSSREF_PREFIXES = ("fig-", "tbl-", "sec-", "eq-", "lst-", "thm-", "lem-", "cor-", "prp-", "def-", "exm-", "exr-")


def _parse(path: Path) -> tuple[model.Library | None, list[Problem]]:
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(name, None, None, "missing: study keys cannot be checked")]
    # One validation reads the file for keys, citations, sources and completeness: parse it once.
    # Keyed on the bytes, so an edited file is parsed afresh.
    if not (_LAST and _LAST[0] == (name, data)):
        _LAST[:] = [(name, data), _parse_bytes(name, data)]
    library, problems = _LAST[1]
    return library, list(problems)  # callers add to the list


_LAST: list = []  # [(name, bytes), result] of the last parse


def _parse_bytes(name: str, data: bytes) -> tuple[model.Library | None, list[Problem]]:
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
                Problem(name, line, entry.key, "key is not lower-case surname + year (+ letter), e.g. smith2020")
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


def _given_names_missing(value: str) -> str | None:
    """Why the names in `value` fall short of initials for everyone, or None."""
    names = split_multiple_persons_names(value)
    if any(n.strip().lower() == "others" for n in names):
        return "author list cut short ('others')"
    for name in names:
        name = name.strip()
        if name.startswith("{") and name.endswith("}"):
            continue  # a group author
        if not parse_single_name_into_parts(name).first:
            return f"no given names for {name}"
    return None


def missing_fields(entry: model.Entry) -> list[str]:
    """What `entry` lacks for a complete reference of its type ([] when complete)."""
    fields = {f.key.lower(): str(f.value).strip() for f in entry.fields}
    missing = []
    for need in COMPLETE.get(entry.entry_type.lower(), COMPLETE_OTHER):
        options = need.split("|")
        if not any(fields.get(o) for o in options):
            missing.append(" or ".join(options))
    for role in ("author", "editor"):
        why = fields.get(role) and _given_names_missing(fields[role])
        if why:
            missing.append(why if role == "author" else f"editors: {why}")
    return missing


def _read_sources(path: Path) -> tuple[list[tuple[int, dict]], list[Problem]]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return [], [Problem(name, None, None, "not UTF-8")]
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != SOURCES_COLUMNS:
        return [], [Problem(name, 1, None, f"header must be {','.join(SOURCES_COLUMNS)}", ",".join(reader.fieldnames or ()))]
    rows = [(reader.line_num, row) for row in reader]
    return rows, []


def check_sources(bib_path, sources_path=None) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of the provenance file beside the .bib: a row naming an entry or a field
    that is not there, or with no source or location, is a problem; a field of an entry that no row
    gives a source for is a warning. No provenance file: nothing to check."""
    bib_path = Path(bib_path)
    sources_path = Path(sources_path) if sources_path else bib_path.with_name(SOURCES_FILE)
    library, _ = _parse(bib_path)
    if library is None or not sources_path.exists():
        return [], []
    rows, problems = _read_sources(sources_path)
    name = sources_path.name
    entries = {e.key: e for e in library.entries}
    sourced: dict[str, set[str]] = {}
    for line, row in rows:
        key, fields = (row.get("key") or "").strip(), (row.get("fields") or "").split()
        entry = entries.get(key)
        if entry is None:
            problems.append(Problem(name, line, "key", f"not an entry of {bib_path.name}", key))
            continue
        for column in ("source", "location"):
            if not (row.get(column) or "").strip():
                problems.append(Problem(name, line, column, "empty: every field needs a source and where in it"))
        have = {f.key.lower() for f in entry.fields}
        for field in fields:
            if field.lower() not in have:
                problems.append(Problem(name, line, "fields", f"{key} has no field {field}", field))
        sourced.setdefault(key, set()).update(f.lower() for f in fields)
    warnings = []
    for entry in library.entries:
        bare = [f.key for f in entry.fields
                if f.key.lower() not in UNSOURCED and f.key.lower() not in sourced.get(entry.key, set())]
        if bare:
            warnings.append(Problem(bib_path.name, entry.start_line + 1, entry.key,
                                    f"no source in {name} for {', '.join(bare)}"))
    return problems, warnings


def bibliography_warnings(path) -> list[Problem]:
    """Entries that are incomplete for their type, and fields with no recorded source; these are
    reported without failing, since a reference that cannot be completed is allowed when its note says so."""
    path = Path(path)
    library, _ = _parse(path)
    if library is None:
        return []
    warnings = []
    for entry in library.entries:
        missing = missing_fields(entry)
        if missing:
            warnings.append(Problem(path.name, entry.start_line + 1, entry.key, f"incomplete: {'; '.join(missing)}"))
    return warnings + check_sources(path)[1]
