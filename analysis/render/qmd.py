"""Read review.qmd into front matter, markdown blocks and `{python}` cells, with line numbers.

jupytext's qmd reader calls `quarto convert`, which is not available here, so the
document is split by this small parser. Every Quarto feature the built-in renderer
does not implement is reported as an error naming its line, never skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from ..errors import RenderError

# `#|` options the built-in renderer implements (Quarto execution and figure/table options).
CELL_OPTIONS = {
    "label", "echo", "eval", "output", "include", "warning", "error",
    "fig-cap", "fig-alt", "tbl-cap",
}
# Quarto's cross-reference prefixes; only fig, tbl and sec are implemented.
QUARTO_XREF_PREFIXES = {
    "fig", "tbl", "sec", "eq", "lst", "thm", "lem", "cor", "prp", "cnj", "def",
    "exm", "exr", "sol", "rem", "alg", "apx",
}
SUPPORTED_XREF = {"fig": "Figure", "tbl": "Table", "sec": "Section"}
CALLOUT_TYPES = {"note", "warning", "important", "tip", "caution"}

FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(.*)$")
ENGINE_FENCE_RE = re.compile(r"^\{\s*([A-Za-z0-9_+-]+)([^}]*)\}\s*$")
SHORTCODE_RE = re.compile(r"\{\{<|\{\{%")
INLINE_ENGINE_RE = re.compile(r"(`+)\{([A-Za-z0-9_]+)\}\s*(.*?)\1")
KNITR_INLINE_RE = re.compile(r"`r\s+[^`]+`")
DIV_OPEN_RE = re.compile(r"^(:{3,})\s*(\{[^}]*\}|[A-Za-z][\w-]*)\s*$")
DIV_CLOSE_RE = re.compile(r"^(:{3,})\s*$")
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
ATTR_RE = re.compile(r"\s*\{([^{}]*)\}\s*$")
# pandoc's citation/cross-reference key: starts with a word character, inner punctuation
# only when followed by a word character, so a trailing full stop is not part of it.
REF_RE = re.compile(r"(?<![\w\\@])(-?)@([A-Za-z0-9_](?:\w|[:.#$%&+?<>~/-](?=\w))*)")


@dataclass
class Cell:
    code: str            # source without the `#|` lines
    options: dict
    line: int            # 1-based line of the opening fence in review.qmd
    index: int = 0       # position among the document's cells, from 1
    code_line: int = 0   # 1-based line in review.qmd of the first line of `code`

    @property
    def label(self) -> str | None:
        return self.options.get("label")


@dataclass
class Markdown:
    lines: list[str]
    first_line: int      # 1-based line number of lines[0]


@dataclass
class Document:
    meta: dict
    blocks: list = field(default_factory=list)

    @property
    def cells(self) -> list[Cell]:
        return [b for b in self.blocks if isinstance(b, Cell)]


def _err(path: str, line: int, what: str) -> RenderError:
    return RenderError(f"{path}:{line}: {what}")


def parse_attributes(text: str) -> tuple[str | None, list[str], dict]:
    """Pandoc attribute text `#id .class key="value"` -> (id, classes, key-values)."""
    ident, classes, kv = None, [], {}
    for m in re.finditer(r'([#.]?[\w:-]+)(?:=("[^"]*"|\'[^\']*\'|\S+))?|(-)', text):
        tok, val, dash = m.group(1), m.group(2), m.group(3)
        if dash:
            classes.append("unnumbered")
        elif val is not None:
            kv[tok] = val[1:-1] if val[:1] in "\"'" else val
        elif tok.startswith("#"):
            ident = tok[1:]
        elif tok.startswith("."):
            classes.append(tok[1:])
        else:
            classes.append(tok)
    return ident, classes, kv


def _parse_options(lines: list[str], path: str, line: int) -> dict:
    text = "\n".join(l.split("#|", 1)[1][1:] if l.split("#|", 1)[1][:1] == " " else l.split("#|", 1)[1] for l in lines)
    try:
        opts = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise _err(path, line, f"cell options are not valid YAML ({exc.problem})") from None
    if not isinstance(opts, dict):
        raise _err(path, line, "cell options must be `#| key: value` lines")
    for i, key in enumerate(opts):
        if key not in CELL_OPTIONS:
            raise _err(path, line + 1 + i, f"cell option `{key}` is not supported by the built-in renderer "
                       f"(supported: {', '.join(sorted(CELL_OPTIONS))})")
    out = opts.get("output")
    if "output" in opts and out not in (True, False, "asis"):
        raise _err(path, line, f"cell option `output: {out}` must be true, false or asis")
    return opts


def parse_qmd(text: str, path: str = "review.qmd") -> Document:
    lines = text.splitlines()
    meta: dict = {}
    start = 0
    if lines and lines[0].strip() == "---":
        for j in range(1, len(lines)):
            if lines[j].strip() in ("---", "..."):
                try:
                    meta = yaml.safe_load("\n".join(lines[1:j])) or {}
                except yaml.YAMLError as exc:
                    from ..data.locate import yaml_error_place
                    line, col, what = yaml_error_place(exc, first_line=2)
                    raise _err(path, f"{line}:{col}", f"front matter is not valid YAML: {what}") from None
                if not isinstance(meta, dict):
                    raise _err(path, 1, "front matter must be a YAML mapping")
                start = j + 1
                break
        else:
            raise _err(path, 1, "front matter opened with --- is never closed")
    doc = Document(meta=meta)
    md: list[str] = []
    md_first = start + 1
    i = start
    n_cells = 0

    def flush(next_line: int):
        nonlocal md, md_first
        if md:
            doc.blocks.append(Markdown(md, md_first))
        md, md_first = [], next_line

    while i < len(lines):
        line = lines[i]
        m = FENCE_RE.match(line)
        if m:
            ticks, info = m.group(2), m.group(3).strip()
            # find the closing fence: same character, at least as long, nothing after it
            close = re.compile(rf"^\s*{re.escape(ticks[0])}{{{len(ticks)},}}\s*$")
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                j += 1
            if j >= len(lines):
                raise _err(path, i + 1, "code block is never closed")
            em = ENGINE_FENCE_RE.match(info)
            if em and not info.startswith("{."):
                engine = em.group(1).lower()
                if engine != "python":
                    raise _err(path, i + 1, f"`{{{engine}}}` cells are not supported; the built-in renderer "
                               "runs `{python}` cells only")
                if em.group(2).strip():
                    raise _err(path, i + 1, "write cell options as `#| key: value` lines, not in the fence")
                body = lines[i + 1:j]
                k = 0
                while k < len(body) and body[k].lstrip().startswith("#|"):
                    k += 1
                opts = _parse_options(body[:k], path, i + 1)
                flush(j + 2)
                n_cells += 1
                lead = next((n for n, text in enumerate(body[k:]) if text != ""), 0)
                doc.blocks.append(Cell("\n".join(body[k:]).strip("\n"), opts, i + 1, n_cells, i + 2 + k + lead))
                i = j + 1
                continue
            md.extend(lines[i:j + 1])
            i = j + 1
            continue
        md.append(line)
        i += 1
    flush(len(lines) + 1)
    return doc


def code_free_segments(line: str):
    """Yield (is_code, text) for a markdown line split at inline code spans."""
    pos = 0
    for m in re.finditer(r"(`+)(.+?)(?<!`)\1(?!`)", line):
        if m.start() > pos:
            yield False, line[pos:m.start()]
        yield True, m.group(0)
        pos = m.end()
    if pos < len(line):
        yield False, line[pos:]


def markdown_lines(doc: Document):
    """Yield (line_number, text, in_code_block) for every markdown line."""
    for block in doc.blocks:
        if not isinstance(block, Markdown):
            continue
        fence = None
        for k, text in enumerate(block.lines):
            m = FENCE_RE.match(text)
            if fence is None and m:
                fence = m.group(2)
                yield block.first_line + k, text, True
                continue
            if fence is not None:
                if re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", text):
                    fence = None
                yield block.first_line + k, text, True
                continue
            yield block.first_line + k, text, False
