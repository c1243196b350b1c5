"""The built-in renderer: review.qmd -> executed markdown -> pandoc -> HTML, and Typst -> PDF."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import RenderError
from . import config as cfgmod
from .kernel import Kernel, first_error, setup_code
from .qmd import (CALLOUT_TYPES, DIV_CLOSE_RE, DIV_OPEN_RE, FENCE_RE, HEADING_RE, INLINE_ENGINE_RE,
                  KNITR_INLINE_RE, QUARTO_XREF_PREFIXES, REF_RE, SHORTCODE_RE, SUPPORTED_XREF, ATTR_RE,
                  Cell, Document, Markdown, code_free_segments, parse_attributes, parse_qmd)
from .tools import failure as tool_failure

HERE = Path(__file__).parent
QMD = "review.qmd"
FIG_DPI = 300
# Quarto-specific div classes/attributes that change layout or visibility; not implemented.
UNSUPPORTED_DIV_CLASSES = ("panel-", "column-", "content-visible", "content-hidden", "cell", "hidden")
UNSUPPORTED_DIV_ATTRS = ("layout", "layout-ncol", "layout-nrow", "layout-align")
# Quarto's display names of the formats, the titles of its links to them
FORMAT_TITLES = {"pdf": "Typst", "docx": "MS Word"}
TABLE_CAPTION_RE = re.compile(r"^:\s+(.*?)\s*\{#(tbl-[\w-]+)\}\s*$")
IMAGE_PATH_RE = re.compile(r"(!\[[^\]]*\]\()([^)\s]+)")  # an image's path, to be seen from the build folder
IMAGE_FIG_RE = re.compile(r"^!\[(.*)\]\(([^)\s]+)\)\{([^}]*#fig-[^}]*)\}\s*$")


@dataclass
class Heading:
    line: int
    level: int
    ident: str | None
    numbered: bool
    callout_title: bool = False
    number: str = ""


@dataclass
class Analysis:
    """What the scan of the document found before anything runs."""
    labels: dict = field(default_factory=dict)          # id -> (kind, number)
    headings: dict = field(default_factory=dict)        # line -> Heading
    refs: list = field(default_factory=list)            # (line, prefix-or-None, key)
    inline: list = field(default_factory=list)          # (line, expr)
    deferred: list = field(default_factory=list)        # (line, key): a target a cell may print


def _bib_keys(paths: list[Path]) -> set[str]:
    keys = set()
    for p in paths:
        text = p.read_text(encoding="utf-8")
        for m in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", text):
            if m.group(1).lower() not in {"comment", "string", "preamble"}:
                keys.add(m.group(2))
    return keys


def _as_list(v) -> list:
    return [] if v is None else v if isinstance(v, list) else [v]


class Builder:
    def __init__(self, root: Path, build: Path, progress=None):
        self.root = Path(root)
        self.build = Path(build)
        self.progress = progress or (lambda msg: None)
        self.timings: dict[str, float] = {}
        self.cell_timings: list[tuple[str, float]] = []
        qmd = self.root / QMD
        if not qmd.exists():
            raise RenderError(f"{qmd}: no such file")
        self.doc: Document = parse_qmd(qmd.read_text(encoding="utf-8"), QMD)
        self.project = cfgmod.load_project(self.root)
        self.base = cfgmod.resolve(self.project, self.doc.meta, "_none_")
        self.cfg = {f: cfgmod.resolve(self.project, self.doc.meta, f) for f in ("html", "typst", "docx")}
        self.formats: tuple[str, ...] = ("html", "pdf", "docx")  # set by run(); figures are saved for these
        self.bib = [self.root / b for b in _as_list(self.base.get("bibliography"))]
        for b in self.bib:
            if not b.exists():
                raise RenderError(f"bibliography {b.name} not found in {self.root}")
        self.bib_keys = _bib_keys(self.bib)
        self.outputs: dict[int, list] = {}
        self.inline_values: dict[tuple[int, int], str] = {}
        self.before_cells = None  # called with the kernel once it is set up, before the first cell

    # ---- scan -------------------------------------------------------------------------
    def scan(self) -> Analysis:
        a = Analysis()
        fig_n = tbl_n = 0

        def add_label(ident: str, kind: str, line: int):
            if ident in a.labels:
                raise RenderError(f"{QMD}:{line}: label `{ident}` is used twice")
            a.labels[ident] = (kind, None, line)

        def check_prefix(ident: str, line: int):
            prefix = ident.split("-", 1)[0] if "-" in ident else ""
            if prefix in QUARTO_XREF_PREFIXES and prefix not in SUPPORTED_XREF:
                raise RenderError(f"{QMD}:{line}: `{prefix}-` cross-references are not supported "
                                  "(supported: fig-, tbl-, sec-)")

        div_stack: list[str] = []
        expect_title = False
        for block in self.doc.blocks:
            if isinstance(block, Cell):
                label = block.label
                if label is not None:
                    label = str(label)
                    check_prefix(label, block.line)
                    if label.startswith("fig-"):
                        if "fig-cap" not in block.options:
                            raise RenderError(f"{QMD}:{block.line}: cell {label} needs `#| fig-cap:`")
                        fig_n += 1
                        add_label(label, "fig", block.line)
                        a.labels[label] = ("fig", str(fig_n), block.line)
                    elif label.startswith("tbl-"):
                        if "tbl-cap" not in block.options:
                            raise RenderError(f"{QMD}:{block.line}: cell {label} needs `#| tbl-cap:`")
                        if block.options.get("output") != "asis":
                            raise RenderError(f"{QMD}:{block.line}: cell {label} must set `#| output: asis` "
                                              "and print a pipe table")
                        tbl_n += 1
                        add_label(label, "tbl", block.line)
                        a.labels[label] = ("tbl", str(tbl_n), block.line)
                for key in ("fig-cap", "tbl-cap"):
                    for m in REF_RE.finditer(str(block.options.get(key) or "")):
                        ref = m.group(2)
                        prefix = ref.split("-", 1)[0].lower() if "-" in ref else None
                        a.refs.append((block.line, prefix if prefix in QUARTO_XREF_PREFIXES else None, ref))
                if "tbl-cap" in block.options and not (label or "").startswith("tbl-"):
                    raise RenderError(f"{QMD}:{block.line}: `tbl-cap` needs a `#| label: tbl-...`")
                continue
            for line_no, text, in_code in _lines(block):
                if in_code:
                    continue
                if SHORTCODE_RE.search(text):
                    raise RenderError(f"{QMD}:{line_no}: shortcodes `{{{{< >}}}}` are not supported")
                for is_code, seg in code_free_segments(text):
                    if is_code:
                        m = INLINE_ENGINE_RE.fullmatch(seg)
                        if m:
                            if m.group(2) != "python":
                                raise RenderError(f"{QMD}:{line_no}: inline `{{{m.group(2)}}}` code is not "
                                                  "supported; use `{python} expr`")
                            if m.group(1) != "`" or not re.fullmatch(r"`\{python\}[ \t][^`\s](?:[^`]*[^`\s])?`", seg):
                                # quarto-cli execute-inline.ts matches `{python} expr` with one
                                # backtick, one space, and looks the value up by the trimmed text
                                raise RenderError(f"{QMD}:{line_no}: inline code {seg} is not evaluated by Quarto; "
                                                  "write `{python} expr` with single backticks, one space after "
                                                  "{python} and none at the end")
                            a.inline.append((line_no, m.group(3)))
                        elif KNITR_INLINE_RE.fullmatch(seg):
                            raise RenderError(f"{QMD}:{line_no}: inline R code is not supported")
                        continue
                    for m in REF_RE.finditer(seg):
                        key = m.group(2)
                        prefix = key.split("-", 1)[0].lower() if "-" in key else None
                        a.refs.append((line_no, prefix if prefix in QUARTO_XREF_PREFIXES else None, key))
                stripped = text.strip()
                mo = DIV_OPEN_RE.match(stripped)
                if mo:
                    attr = mo.group(2)
                    ident, classes, kv = parse_attributes(attr[1:-1] if attr.startswith("{") else attr)
                    kind = "div"
                    for c in classes:
                        if c.startswith("callout"):
                            t = c[len("callout-"):] if c.startswith("callout-") else ""
                            if t not in CALLOUT_TYPES:
                                raise RenderError(f"{QMD}:{line_no}: callout `.{c}` is not supported "
                                                  f"(use .callout-{', .callout-'.join(sorted(CALLOUT_TYPES))})")
                            bad = [k for k in kv if k != "title"]
                            if bad:
                                raise RenderError(f"{QMD}:{line_no}: callout option `{bad[0]}` is not supported")
                            kind = "callout"
                        elif c.startswith(UNSUPPORTED_DIV_CLASSES):
                            raise RenderError(f"{QMD}:{line_no}: div class `.{c}` is not supported")
                    if "landscape" in classes and not {"width", "height"} <= set(kv):
                        # Quarto's DOCX landscape section reads both; without them its size is unset
                        raise RenderError(f"{QMD}:{line_no}: a `.landscape` div needs the page's width and "
                                          'height, e.g. ::: {.landscape width="29.7cm" height="21cm"}')
                    for k in kv:
                        if k in UNSUPPORTED_DIV_ATTRS:
                            raise RenderError(f"{QMD}:{line_no}: div attribute `{k}` is not supported")
                    if ident and (ident.startswith("fig-") or ident.startswith("tbl-")):
                        raise RenderError(f"{QMD}:{line_no}: figure/table divs `::: {{#{ident}}}` are not "
                                          "supported; use a cell with fig-cap/tbl-cap or `: caption {#tbl-x}`")
                    if ident:
                        check_prefix(ident, line_no)
                    div_stack.append(kind)
                    expect_title = kind == "callout" and "title" not in kv
                    continue
                if DIV_CLOSE_RE.match(stripped):
                    if not div_stack:
                        raise RenderError(f"{QMD}:{line_no}: `:::` closes no div")
                    div_stack.pop()
                    expect_title = False
                    continue
                hm = HEADING_RE.match(text)
                if hm:
                    title, ident, classes = _split_heading(hm.group(2))
                    if ident:
                        check_prefix(ident, line_no)
                    h = Heading(line_no, len(hm.group(1)), ident, "unnumbered" not in classes,
                                callout_title=expect_title)
                    a.headings[line_no] = h
                    if ident and not h.callout_title:
                        add_label(ident, "sec", line_no)
                    expect_title = False
                    continue
                if stripped and expect_title:
                    expect_title = False
                im = IMAGE_FIG_RE.match(stripped)
                if im:
                    ident, _, _ = parse_attributes(im.group(3))
                    fig_n += 1
                    add_label(ident, "fig", line_no)
                    a.labels[ident] = ("fig", str(fig_n), line_no)
                    continue
                tm = TABLE_CAPTION_RE.match(stripped)
                if tm:
                    tbl_n += 1
                    add_label(tm.group(2), "tbl", line_no)
                    a.labels[tm.group(2)] = ("tbl", str(tbl_n), line_no)
                elif re.match(r"^[=]{2,}\s*$", stripped) and line_no > 1:
                    raise RenderError(f"{QMD}:{line_no}: setext headings are not supported; use `#`")
        if div_stack:
            raise RenderError(f"{QMD}: a `:::` div is never closed")
        for line_no, prefix, key in a.refs:
            if prefix is not None:
                if prefix not in SUPPORTED_XREF:
                    raise RenderError(f"{QMD}:{line_no}: `@{key}`: `{prefix}-` cross-references are not supported")
                if key.lower() not in {k.lower() for k in a.labels}:
                    if prefix in ("fig", "tbl") and self.doc.cells:
                        # as Quarto, cross-references are resolved after the cells ran: the
                        # target may be a figure or table an `asis` cell prints
                        a.deferred.append((line_no, key))
                        continue
                    raise RenderError(f"{QMD}:{line_no}: cross-reference `@{key}` has no target")
                if a.labels.get(_label_case(key, a.labels), ("",))[0] != prefix:
                    raise RenderError(f"{QMD}:{line_no}: cross-reference `@{key}` has no target")
            elif key not in self.bib_keys:
                raise RenderError(f"{QMD}:{line_no}: citation `@{key}` is not in "
                                  f"{', '.join(b.name for b in self.bib) or 'any bibliography'}")
        return a

    def number_sections(self, a: Analysis, opts: dict, fmt: str = "html") -> None:
        """Section numbers counted from the document's shallowest numbered heading level.

        Typst numbers headings with its `section-numbering` pattern, which `number-sections`
        sets to "1.1.a" when it is not given (quarto-cli src/format/typst/format-typst.ts),
        and the pattern alone numbers them too (Quarto's typst-show.typ passes it on)."""
        for h in a.headings.values():
            h.number = ""
        pattern = opts.get("section-numbering") if fmt == "typst" else None
        if not (opts.get("number-sections") or pattern):
            return
        if fmt == "typst":
            pattern = str(pattern or "1.1.a")
            check_numbering(pattern)
        numbered = [h for h in a.headings.values() if h.numbered and not h.callout_title]
        if not numbered:
            return
        top = min(h.level for h in numbered)
        depth = int(opts.get("number-depth") or 6)
        counters = [0] * 7
        for h in sorted(numbered, key=lambda h: h.line):
            rel = h.level - top
            counters[rel] += 1
            for k in range(rel + 1, 7):
                counters[k] = 0
            if rel < depth:
                numbers = counters[:rel + 1]
                h.number = typst_numbering(pattern, numbers) if pattern else ".".join(str(c) for c in numbers)

    # ---- execute ----------------------------------------------------------------------
    def execute(self, a: Analysis) -> None:
        cells = self.doc.cells
        if not cells and not a.inline:
            return  # nothing to run: no kernel
        inline_by_line: dict[int, int] = {}
        fw, fh = self.base.get("fig-width"), self.base.get("fig-height")
        figsize = (float(fw or 7), float(fh or 5)) if (fw or fh) else None
        dpi = int(self.base.get("fig-dpi") or FIG_DPI)
        self.progress("starting the Python kernel")
        # figures saved by cells in the formats this render uses (analysis.figures.formats_wanted)
        from ..figures.save import FORMATS_ENV  # here: the renderer's own process needs no matplotlib
        # (SVG for the HTML and the Typst PDF, as Quarto's typst format takes SVG; PNG for DOCX)
        wanted = {"html": "png" if self._raster("html") else "svg", "pdf": "png" if self._raster("typst") else "svg",
                  "docx": "png"}
        fig_formats = sorted({wanted[f] for f in self.formats if f in wanted})
        env = {FORMATS_ENV: ",".join(fig_formats)}
        with Kernel(self.root, source=QMD, env=env) as k:
            self.timings["kernel start"] = k.start_seconds
            t = time.perf_counter()
            err = first_error(k.run(setup_code(dpi, figsize, fig_formats)))
            self.timings["kernel setup (matplotlib)"] = time.perf_counter() - t
            if err:
                raise RenderError(f"kernel setup failed: {err}")
            if self.before_cells:
                self.before_cells(k)
            t_cells = time.perf_counter()
            inline_iter = iter(a.inline)
            pending = next(inline_iter, None)
            for block in self.doc.blocks:
                if isinstance(block, Cell):
                    name = block.label or "unlabelled"
                    self.progress(f"cell {block.index}/{len(cells)} {name} (line {block.line})")
                    if block.options.get("eval", self.base["execute"]["eval"]) is False:
                        self.outputs[block.index] = []
                        continue
                    t = time.perf_counter()
                    outs = k.run(block.code, cell=block)
                    self.cell_timings.append((f"{name} (line {block.line})", time.perf_counter() - t))
                    err = first_error(outs)
                    allow = block.options.get("error", self.base["execute"]["error"])
                    if err and not allow:
                        raise RenderError(k.failure(block, outs))
                    self.outputs[block.index] = outs
                    continue
                # As Quarto: the expressions of one markdown stretch are evaluated together,
                # after the cell before it.
                last = block.first_line + len(block.lines) - 1
                batch = []
                while pending is not None and pending[0] <= last:
                    batch.append(pending)
                    pending = next(inline_iter, None)
                for (line_no, expr), result in zip(batch, k.expressions([e for _, e in batch])):
                    occ = inline_by_line.get(line_no, 0)
                    inline_by_line[line_no] = occ + 1
                    if result.get("status") != "ok":
                        err = f"{result.get('ename', 'Error')}: {str(result.get('evalue', '')).strip()}".rstrip(": ")
                        raise RenderError(f"inline expression `{expr}` at {QMD}:{line_no} failed: {err}")
                    self.inline_values[(line_no, occ)] = inline_markdown(expr, line_no, result.get("data") or {})
            self.timings["cells"] = time.perf_counter() - t_cells
        self.timings["kernel stop"] = k.stop_seconds

    def _printed(self, cell: Cell) -> str:
        """The markdown an `asis` cell printed (its stdout and markdown displays)."""
        ex = self.base["execute"]
        if cell.options.get("output", ex.get("output")) != "asis" or \
                cell.options.get("include", ex.get("include")) is False:
            return ""
        parts = []
        for o in self.outputs.get(cell.index, []):
            if o.get("output_type") == "stream" and o.get("name") != "stderr":
                parts.append(o["text"])
            elif o.get("output_type") in ("display_data", "execute_result"):
                md = o.get("data", {}).get("text/markdown")
                if md:
                    parts.append(md + "\n")
        return "".join(parts)

    def renumber(self, a: Analysis) -> None:
        """Figures and tables numbered in document order once the cells have run, counting those
        that `asis` cells printed (`![caption](path){#fig-x}`, a pipe table and `: caption {#tbl-x}`),
        as Quarto resolves cross-references on the markdown after execution."""
        order: list[tuple[str, str, int]] = []
        for block in self.doc.blocks:
            if isinstance(block, Cell):
                label = str(block.label or "")
                if label.startswith(("fig-", "tbl-")) and label in a.labels:
                    order.append((label, a.labels[label][0], block.line))
                for line in self._printed(block).splitlines():
                    stripped = line.strip()
                    im = IMAGE_FIG_RE.match(stripped)
                    tm = TABLE_CAPTION_RE.match(stripped)
                    ident = parse_attributes(im.group(3))[0] if im else tm.group(2) if tm else None
                    if ident is None:
                        continue
                    if ident in a.labels or ident in {o[0] for o in order}:
                        raise RenderError(f"cell {block.label or block.index} at {QMD}:{block.line} printed "
                                          f"label `{ident}`, which is used twice")
                    order.append((ident, "fig" if im else "tbl", block.line))
            else:
                for line_no, text, in_code in _lines(block):
                    if in_code:
                        continue
                    stripped = text.strip()
                    im = IMAGE_FIG_RE.match(stripped)
                    tm = TABLE_CAPTION_RE.match(stripped)
                    ident = parse_attributes(im.group(3))[0] if im else tm.group(2) if tm else None
                    if ident is not None and ident in a.labels:
                        order.append((ident, a.labels[ident][0], line_no))
        counts = {"fig": 0, "tbl": 0}
        for ident, kind, line in order:
            counts[kind] += 1
            a.labels[ident] = (kind, str(counts[kind]), line)
        for line_no, key in a.deferred:
            if _label_case(key, a.labels) not in a.labels:
                raise RenderError(f"{QMD}:{line_no}: cross-reference `@{key}` has no target")

    # ---- assemble ---------------------------------------------------------------------
    def _refs(self, text: str, a: Analysis, line_no: int) -> str:
        """Replace Quarto cross-references in one code-free segment with numbered links."""
        def label_text(minus: str, key: str) -> str:
            ident = _label_case(key, a.labels)
            kind, number, _ = a.labels[ident]
            if kind == "sec":
                number = self._sec_numbers.get(ident, "")
                if not number:
                    raise RenderError(f"{QMD}:{line_no}: `@{key}` refers to an unnumbered section; "
                                      "set number-sections: true")
            word = SUPPORTED_XREF[kind]
            return f"[{number if minus else word + chr(160) + number}](#{ident})"

        def is_xref(key: str) -> bool:
            return "-" in key and key.split("-", 1)[0].lower() in SUPPORTED_XREF

        def bracket(m: re.Match) -> str:
            inner = m.group(1)
            items = [x.strip() for x in inner.split(";")]
            keys = [REF_RE.fullmatch(x) for x in items]
            if all(k and is_xref(k.group(2)) for k in keys):
                return ", ".join(label_text(k.group(1), k.group(2)) for k in keys)
            if any(is_xref(r.group(2)) for r in REF_RE.finditer(inner)):
                raise RenderError(f"{QMD}:{line_no}: a cross-reference inside a citation bracket "
                                  "with other text is not supported")
            return m.group(0)

        text = re.sub(r"\[([^\[\]]*@[^\[\]]*)\](?!\()", bracket, text)
        return REF_RE.sub(lambda m: label_text(m.group(1), m.group(2)) if is_xref(m.group(2)) else m.group(0), text)

    def _raster(self, fmt: str) -> bool:
        """Whether the format's `fig-format` asks for raster figures instead of vector ones."""
        return str(self.cfg.get(fmt, {}).get("fig-format") or "").lower() in ("png", "retina", "jpeg")

    def _image_path(self, fmt: str, path: str) -> str:
        """A printed image's path for one format: an `.svg` is replaced by its `.png` sibling in
        DOCX (or when fig-format asks for a raster), when the sibling exists, as for a figure a
        cell displays. HTML and the Typst PDF take the SVG, as Quarto's typst format does."""
        if path.endswith(".svg") and not re.match(r"^([a-z][a-z0-9+.-]*:|/)", path, re.I):
            other = path[:-4] + ".png"
            if (fmt == "docx" or self._raster(fmt)) and (self.root / other).exists():
                path = other
        return self._path(path)

    def _generated(self, text: str, cell: Cell, a: Analysis, fmt: str = "html") -> str:
        """Markdown printed by a cell: its references are checked and resolved like the document's;
        the figures and tables it prints are numbered (see `renumber`)."""
        name = cell.label or f"#{cell.index}"
        out = []
        for line_no, line, in_code in _lines(Markdown(text.split("\n"), cell.line)):
            if in_code:
                out.append(line)
                continue
            im = IMAGE_FIG_RE.match(line.strip())
            if im:
                ident, classes, kv = parse_attributes(im.group(3))
                alt = kv.pop("fig-alt", None)
                rest = [f".{c}" for c in classes] + [f'{k}="{v}"' for k, v in kv.items()]
                if alt:
                    rest.append('alt="' + str(alt).replace("\\", "\\\\").replace('"', '\\"') + '"')
                cap = self._refs(im.group(1), a, cell.line)
                out.append(f"![Figure\u00a0{a.labels[ident][1]}: {cap}]({self._image_path(fmt, im.group(2))})"
                           f"{{#{ident}{' ' + ' '.join(rest) if rest else ''}}}")
                continue
            tm = TABLE_CAPTION_RE.match(line.strip())
            if tm:
                ident, span = tm.group(2), _table_span(out)
                if span is None:
                    raise RenderError(f"cell {name} at {QMD}:{cell.line} printed table caption "
                                      f"`{{#{ident}}}` that does not follow a pipe table")
                _caption_table(out, span, ident, a.labels[ident][1], self._refs(tm.group(1), a, cell.line))
                continue
            if HEADING_RE.match(line):
                raise RenderError(f"cell {name} at {QMD}:{cell.line} printed a heading ({line.strip()!r}); "
                                  "write headings in review.qmd so they are numbered")
            for is_code, seg in code_free_segments(line):
                if is_code:
                    continue
                for m in REF_RE.finditer(seg):
                    key = m.group(2)
                    prefix = key.split("-", 1)[0].lower() if "-" in key else None
                    if prefix in QUARTO_XREF_PREFIXES:
                        if prefix not in SUPPORTED_XREF or _label_case(key, a.labels) not in a.labels:
                            raise RenderError(f"cell {name} at {QMD}:{cell.line} printed `@{key}`, "
                                              "which has no target")
                    elif key not in self.bib_keys:
                        raise RenderError(f"cell {name} at {QMD}:{cell.line} printed citation `@{key}`, "
                                          "which is not in the bibliography")
            # any other image it prints is found from the build folder, as the document's own are
            out.append("".join(seg if is_code else self._refs(IMAGE_PATH_RE.sub(
                lambda m: m.group(1) + self._image_path(fmt, m.group(2)), seg), a, cell.line)
                               for is_code, seg in code_free_segments(line)))
        return "\n".join(out)

    def _path(self, path: str) -> str:
        """A project-relative image path as seen from the build folder, where pandoc and typst run."""
        if re.match(r"^([a-z][a-z0-9+.-]*:|/|#)", path, re.I):
            return path
        return os.path.relpath(self.root / path, self.build).replace(os.sep, "/")

    def _prose(self, text: str, a: Analysis, line_no: int, counter: dict) -> str:
        parts = []
        for is_code, seg in code_free_segments(text):
            if is_code:
                m = INLINE_ENGINE_RE.fullmatch(seg)
                if m:
                    occ = counter.get(line_no, 0)
                    counter[line_no] = occ + 1
                    seg = self.inline_values[(line_no, occ)]
                parts.append(seg)
            else:
                seg = IMAGE_PATH_RE.sub(lambda m: m.group(1) + self._path(m.group(2)), seg)
                parts.append(self._refs(seg, a, line_no))
        return "".join(parts)

    def _figure(self, fmt: str, cell: Cell, images: list[dict], a: Analysis) -> list[str]:
        out = []
        label = str(cell.label) if cell.label else None
        if label and label.startswith("fig-") and len(images) != 1:
            raise RenderError(f"cell {label} at {QMD}:{cell.line} displayed {len(images)} figures; "
                              "a labelled figure cell must display exactly one")
        for n, img in enumerate(images, 1):
            stem = f"{label or 'cell-' + str(cell.index)}" + (f"-{n}" if len(images) > 1 else "")
            figdir = self.build / "figures"
            figdir.mkdir(exist_ok=True)
            # Each figure at the size it was drawn: vector (SVG in HTML and in Typst, as Quarto's
            # typst format embeds it) unless fig-format asks for a raster; Typst shrinks only a
            # figure wider than the text, and a PNG's natural size comes from its resolution.
            raster = self._raster(fmt)
            attrs = ""
            if fmt in ("html", "typst") and img.get("svg") and not raster:
                path = figdir / f"{stem}.svg"
                path.write_text(img["svg"], encoding="utf-8")
            else:
                path = figdir / f"{stem}.png"
                path.write_bytes(img["png"])
            cap = cell.options.get("fig-cap")
            cap = self._refs(str(cap), a, cell.line) if cap else ""
            alt = cell.options.get("fig-alt")
            if label and label.startswith("fig-"):
                cap = f"Figure\u00a0{a.labels[label][1]}: {cap}"
                attrs = f"#{label}" + attrs
            if alt:
                attrs += ' alt="' + str(alt).replace("\\", "\\\\").replace('"', '\\"') + '"'
            rel = path.relative_to(self.build).as_posix()
            out += [f"![{cap}]({rel}){{{attrs.strip()}}}" if attrs.strip() else f"![{cap}]({rel})", ""]
        return out

    def _cell(self, fmt: str, cell: Cell, a: Analysis) -> list[str]:
        ex = self.base["execute"]
        opt = lambda k: cell.options.get(k, ex.get(k))  # noqa: E731
        if opt("include") is False:
            return []
        out: list[str] = []
        if opt("echo") is True:
            out += ["``` {.python .cell-code}", cell.code, "```", ""]
        if opt("output") is False:
            return out
        asis = opt("output") == "asis"
        images, texts = [], []
        seen = set()

        def code_block(text: str, cls: str):
            fence = "````" if "```" in text else "```"
            out.extend([f"{fence} {{.{cls}}}", text.rstrip("\n"), fence, ""])

        for o in self.outputs.get(cell.index, []):
            kind = o.get("output_type")
            if kind == "stream":
                if o.get("name") == "stderr":
                    if opt("warning") is not False:
                        code_block(o["text"], "cell-output-stderr")
                elif asis:
                    out += [self._generated(o["text"].rstrip("\n"), cell, a, fmt), ""]
                else:
                    code_block(o["text"], "cell-output")
            elif kind in ("display_data", "execute_result"):
                data = o.get("data", {})
                if "image/png" in data or "image/svg+xml" in data:
                    png = base64.b64decode(data["image/png"]) if "image/png" in data else None
                    key = hashlib.sha256(png or data["image/svg+xml"].encode()).hexdigest()
                    if key in seen:  # a figure both returned and auto-shown by pyplot
                        continue
                    seen.add(key)
                    if png is None and (fmt == "docx" or self._raster(fmt) or "image/svg+xml" not in data):
                        raise RenderError(f"cell {cell.label or cell.index} at {QMD}:{cell.line}: figure has no PNG")
                    images.append({"png": png, "svg": data.get("image/svg+xml")})
                    out.append(f"\x00FIG{len(images) - 1}")
                elif "text/markdown" in data:
                    out += [self._generated(data["text/markdown"], cell, a, fmt), ""]
                elif "text/plain" in data:
                    if asis:
                        out += [data["text/plain"], ""]
                    else:
                        code_block(data["text/plain"], "cell-output")
            elif kind == "error":
                code_block("\n".join(re.sub(r"\x1b\[[0-9;]*m", "", t) for t in o.get("traceback", [])),
                           "cell-output-error")
        if label_is_fig := str(cell.label or "").startswith("fig-"):
            if not images:
                plain = [o.get("data", {}).get("text/plain", "") for o in self.outputs.get(cell.index, [])]
                hint = ""
                if any(p.startswith("<Figure size") for p in plain):
                    # IPython (and so Quarto) shows no image for a matplotlib Figure without axes
                    hint = ("; IPython draws no image for a Figure without axes, so give it one "
                            "(e.g. fig.add_axes((0, 0, 1, 1)).set_axis_off())")
                raise RenderError(f"cell {cell.label} at {QMD}:{cell.line} displayed no figure{hint}")
        if images:
            figs = self._figure(fmt, cell, images, a)
            rendered = []
            for line in out:
                if line.startswith("\x00FIG"):
                    n = int(line[4:])
                    rendered += figs[2 * n:2 * n + 2]
                else:
                    rendered.append(line)
            out = rendered
        label = str(cell.label) if cell.label else ""
        if label.startswith("tbl-"):
            if not any(l.lstrip().startswith("|") for l in "\n".join(out).splitlines()):
                raise RenderError(f"cell {label} at {QMD}:{cell.line} printed no pipe table")
            cap = self._refs(str(cell.options["tbl-cap"]), a, cell.line)
            out = [f"::: {{#{label}}}", "", *out, "", f": Table\u00a0{a.labels[label][1]}: {cap}", "", ":::", ""]
        elif cell.label and not images:
            out = [f"::: {{#{label}}}", *out, ":::", ""] if out else out
        return ["", *out, ""]

    def _markdown(self, fmt: str, block: Markdown, a: Analysis, counter: dict, out: list[str]) -> None:
        div_stack: list[str] = []
        pending_title = None
        for line_no, text, in_code in _lines(block):
            if in_code:
                out.append(text)
                continue
            stripped = text.strip()
            mo = DIV_OPEN_RE.match(stripped)
            if mo:
                attr = mo.group(2)
                ident, classes, kv = parse_attributes(attr[1:-1] if attr.startswith("{") else attr)
                ctype = next((c[len("callout-"):] for c in classes if c.startswith("callout-")), None)
                if ctype:
                    div_stack.append("callout")
                    out += [f"::: {{.callout .callout-{ctype}}}"]
                    title = kv.get("title")
                    if title:
                        out += ["::: {.callout-title}", f"**{self._prose(title, a, line_no, counter)}**", ":::"]
                    else:
                        pending_title = ctype.capitalize()
                    out += ["::: {.callout-body}"]
                    continue
                div_stack.append("div")
                out.append(text)
                continue
            if DIV_CLOSE_RE.match(stripped) and div_stack:
                if div_stack.pop() == "callout":
                    if pending_title:
                        self._insert_title(out, pending_title)
                        pending_title = None
                    out += [":::", ":::"]
                    continue
                out.append(text)
                continue
            h = a.headings.get(line_no)
            if h is not None:
                title, ident, classes = _split_heading(HEADING_RE.match(text).group(2))
                title = self._prose(title, a, line_no, counter)
                if h.callout_title:
                    self._insert_title(out, title)
                    pending_title = None
                    continue
                attrs = " ".join(([f"#{ident}"] if ident else []) + [f".{c}" for c in classes])
                num = f"[{h.number}]{{.header-section-number}} " if h.number else ""
                out.append(f"{'#' * h.level} {num}{title}" + (f" {{{attrs}}}" if attrs else ""))
                continue
            if stripped and pending_title:
                self._insert_title(out, pending_title)
                pending_title = None
            im = IMAGE_FIG_RE.match(stripped)
            if im:
                ident, classes, kv = parse_attributes(im.group(3))
                cap = self._prose(im.group(1), a, line_no, counter)
                rest = " ".join([f".{c}" for c in classes] + [f'{k}="{v}"' for k, v in kv.items()])
                out.append(f"![Figure\u00a0{a.labels[ident][1]}: {cap}]({self._path(im.group(2))}){{#{ident} {rest}}}")
                continue
            tm = TABLE_CAPTION_RE.match(stripped)
            if tm:
                ident, span = tm.group(2), _table_span(out)
                if span is None:
                    raise RenderError(f"{QMD}:{line_no}: table caption `{{#{ident}}}` must follow a pipe table")
                _caption_table(out, span, ident, a.labels[ident][1], self._prose(tm.group(1), a, line_no, counter))
                continue
            out.append(self._prose(text, a, line_no, counter))

    @staticmethod
    def _insert_title(out: list[str], title: str) -> None:
        # the title div goes just before the body div opened for this callout
        idx = len(out) - 1 - out[::-1].index("::: {.callout-body}")
        out[idx:idx] = ["::: {.callout-title}", f"**{title}**", ":::"]

    def assemble(self, fmt: str, a: Analysis) -> str:
        opts = self.cfg[fmt]
        self.number_sections(a, opts, fmt)
        self._sec_numbers = {h.ident: h.number for h in a.headings.values() if h.ident}
        out: list[str] = []
        counter: dict = {}
        for block in self.doc.blocks:
            if isinstance(block, Cell):
                out += self._cell(fmt, block, a)
            else:
                self._markdown(fmt, block, a, counter, out)
        return "\n".join(out) + "\n"

    def metadata(self, fmt: str) -> dict:
        o = self.cfg[fmt]
        meta = {"lang": o.get("lang", "en"), "link-citations": o.get("link-citations", True),
                "abstract-title": o.get("abstract-title", "Abstract"),
                "toc-title": o.get("toc-title", "Table of contents")}
        for k in ("title", "subtitle", "abstract"):
            if o.get(k) is not None:
                meta[k] = str(o[k])
        authors = cfgmod.normalise_authors(o.get("author"))
        if authors and fmt == "docx":
            # pandoc's docx writer prints each author as one line of text
            meta["author"] = [", ".join(x for x in (a["name"], a["affiliation"]) if x) for a in authors]
        elif authors:
            meta["author"] = authors
        date = cfgmod.text_date(o.get("date"))
        if date:
            meta["date"] = date
        meta["pagetitle"] = str(o.get("title") or "review")
        if self.bib:
            meta["bibliography"] = [str(b) for b in self.bib]
        csl = o.get("csl")
        if csl:
            path = self.root / csl
            if not path.exists():
                raise RenderError(f"csl file {csl} not found in {self.root}")
            meta["csl"] = str(path)
        if fmt == "typst":
            for k in ("papersize", "margin", "fontsize", "mainfont", "columns"):
                if k in o:
                    meta[k] = o[k]
        return meta

    def _sidebar_links(self, o: dict) -> str:
        """Quarto's "Other Formats" (unless format-links is false; quarto-cli
        src/format/html/format-html-links.ts, titles from the formats' display names) and
        "Other Links" (other-links), below the table of contents. Quarto links the formats
        rendered in the same call; here always the PDF and the DOCX, which `review render`
        renders with the HTML, so the HTML does not depend on what else was asked for."""
        from html import escape

        parts = []
        others = [f for f in FORMAT_TITLES]
        if o.get("format-links", True) is not False:
            items = "".join(f'<li><a href="{Path(QMD).stem}.{f}">{FORMAT_TITLES[f]}</a></li>' for f in others)
            parts.append(f'<div class="quarto-alternate-formats"><h2>Other Formats</h2><ul>{items}</ul></div>')
        links = o.get("other-links") or []
        if links:
            items = "".join('<li><a href="{}"{}>{}</a></li>'.format(
                escape(l["href"]), "".join(f' {k}="{escape(l[k])}"' for k in ("rel", "target") if k in l),
                escape(l["text"])) for l in links)
            parts.append(f'<div class="quarto-other-links"><h2>Other Links</h2><ul>{items}</ul></div>')
        return "\n".join(parts)

    # ---- pandoc and typst -------------------------------------------------------------
    def pandoc(self, fmt: str, body: str, out_path: Path) -> None:
        import pypandoc
        src = self.build / f"body-{fmt}.md"
        src.write_text(body, encoding="utf-8")
        meta = self.build / f"meta-{fmt}.yaml"
        meta.write_text(yaml.safe_dump(self.metadata(fmt), allow_unicode=True, sort_keys=True), encoding="utf-8")
        o = self.cfg[fmt]
        # pandoc's default line width, as under Quarto: a wide pipe table spans the text
        # width with columns in proportion to the dashes of its rule line.
        args = [pypandoc.get_pandoc_path(), str(src.name), "--from", "markdown", "--citeproc",
                "--standalone", "--metadata-file", str(meta.name), "--lua-filter", str(HERE / "callouts.lua"),
                "--resource-path", f"{self.build}{os.pathsep}{self.root}", "-o", str(out_path)]
        if o.get("toc"):
            args += ["--toc", f"--toc-depth={int(o.get('toc-depth') or 3)}"]
        if fmt == "html":
            args += ["--to", "html5", "--embed-resources", "--template", str(HERE / "template.html"),
                     "--css", str(HERE / "style.css")]
            for css in _as_list(o.get("css")):
                args += ["--css", str(self.root / css)]
            if cfgmod.math_method(o) == "mathml":
                args += ["--mathml"]
            location = o.get("toc-location", "right")
            links = self._sidebar_links(o)
            args += [f"--variable=toc-location:{location}", f"--variable=sidebar-links:{links}"]
            if o.get("toc") or links:
                args += ["--variable=sidebar:true"]
            if o.get("citations-hover", True) is not False:
                args += ["--variable=citations-hover:true"]
        elif fmt == "docx":
            args += ["--to", "docx"]
            ref = o.get("reference-doc")
            if ref:
                if not (self.root / str(ref)).is_file():
                    raise RenderError(f"_quarto.yml: reference-doc: {ref} is not a file in the project")
                args += ["--reference-doc", str(self.root / str(ref))]
        else:
            # header.typ: what only this renderer needs (it writes the figure numbers itself);
            # then the project's own Typst rules, the files Quarto reads through the same key.
            args += ["--to", "typst", "--include-in-header", str(HERE / "header.typ")]
            for path in cfgmod.include_files(o, "include-in-header", self.root, self.build):
                args += ["--include-in-header", str(path)]
        env = dict(os.environ, SOURCE_DATE_EPOCH="0")
        proc = subprocess.run(args, cwd=self.build, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise tool_failure(f"pandoc ({fmt})", proc.returncode, proc.stderr, out_path)
        for line in proc.stderr.splitlines():
            if "not found" in line or "Could not" in line:
                raise RenderError(f"pandoc ({fmt}): {line.strip()}")
        if fmt == "html" and cfgmod.math_method(o) is None and 'class="math' in out_path.read_text(encoding="utf-8"):
            # Quarto's default is MathJax from a CDN: offline, or embedded, the reader sees raw TeX
            raise RenderError("the document has math and _quarto.yml sets no html-math-method; Quarto's default "
                              "loads MathJax from the network, so set html-math-method: mathml (or plain)")

    def run(self, formats: tuple[str, ...]) -> dict[str, Path]:
        for f in formats:
            cfgmod.check_format("typst" if f == "pdf" else f, self.cfg["typst" if f == "pdf" else f])
        self.formats = tuple(formats)
        t = time.perf_counter()
        a = self.scan()
        self.timings["parse"] = time.perf_counter() - t
        self.execute(a)
        self.renumber(a)
        results = {}
        stem = Path(QMD).stem
        if "html" in formats:
            self.progress("pandoc: HTML")
            t = time.perf_counter()
            body = self.assemble("html", a)
            path = self.build / f"{stem}.html"
            self.pandoc("html", body, path)
            self.timings["pandoc html"] = time.perf_counter() - t
            results["html"] = path
        if "pdf" in formats:
            self.progress("pandoc: Typst")
            t = time.perf_counter()
            body = self.assemble("typst", a)
            typ = self.build / f"{stem}.typ"
            self.pandoc("typst", body, typ)
            self.timings["pandoc typst"] = time.perf_counter() - t
            self.progress("typst: PDF")
            t = time.perf_counter()
            import typst
            pdf = self.build / f"{stem}.pdf"
            try:
                typst.compile(str(typ), output=str(pdf), root=str(self.root), timestamp=0,
                              ignore_system_fonts=True)
            except Exception as exc:  # typst raises its own error type with the compiler's message
                raise tool_failure("typst", None, str(exc) or type(exc).__name__, pdf, pick="first") from None
            self.timings["typst compile"] = time.perf_counter() - t
            results["pdf"] = pdf
        if "docx" in formats:
            self.progress("pandoc: DOCX")
            t = time.perf_counter()
            path = self.build / f"{stem}.docx"
            self.pandoc("docx", self.assemble("docx", a), path)
            self.timings["pandoc docx"] = time.perf_counter() - t
            results["docx"] = path
        return results


# Typst's counting symbols that the built-in renderer writes (Typst has more: *, α, 一, ...).
_COUNTING = "1aAiI"


def check_numbering(pattern: str) -> None:
    if not any(c in _COUNTING for c in pattern) or any(
            (c.isalnum() and c not in _COUNTING) or c == "*" for c in pattern):
        raise RenderError(f"_quarto.yml: section-numbering {pattern!r}: the built-in renderer writes the "
                          "counting symbols 1, a, A, i and I (with any punctuation between them)")


def _count(kind: str, n: int) -> str:
    if kind == "1":
        return str(n)
    if kind in "aA":
        letters = ""
        while n > 0:  # bijective base 26, as Typst: z, aa, ab
            n, r = divmod(n - 1, 26)
            letters = chr(ord("a") + r) + letters
        return letters if kind == "a" else letters.upper()
    roman = ""
    for value, numeral in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                           (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            roman += numeral
            n -= value
    return roman if kind == "i" else roman.upper()


def typst_numbering(pattern: str, numbers: list[int]) -> str:
    """Typst's `numbering(pattern, ..numbers)`: each number takes its counting symbol and the
    text before it; numbers beyond the pattern repeat its last symbol; the text after the
    last symbol ends the result ("1.1.a" with 4, 10, 1 gives "4.10.a")."""
    pieces = re.findall(rf"([^{_COUNTING}]*)([{_COUNTING}])", pattern)
    suffix = pattern[sum(len(p) + 1 for p, _ in pieces):]
    out = ""
    for i, n in enumerate(numbers):
        prefix, kind = pieces[min(i, len(pieces) - 1)]
        out += prefix + _count(kind, n)
    return out + suffix


# Markdown punctuation Quarto backslash-escapes in a quoted text/plain value
# (quarto-cli src/core/jupyter/jupyter-inline.ts, asEscapedMarkdown; `+-.` is a range there).
_QUARTO_ESCAPE_RE = re.compile(r"([\\`*_{}\[\]()>#+,\-.!])")


def inline_markdown(expr: str, line_no: int, data: dict) -> str:
    """The markdown Quarto puts in place of an inline expression, from the value's display bundle.

    Quarto (jupyter-inline.ts) inserts text/markdown as it is and a text/plain repr with its
    quotes stripped and markdown punctuation escaped, so a string shows literally; when the
    result is empty it leaves the expression in the text as code (execute-inline.ts).
    """
    where = f"{QMD}:{line_no}: inline expression `{expr}`"
    raw = sorted(set(data) - {"text/plain", "text/markdown"})
    if raw:
        raise RenderError(f"{where} gives a value with a {raw[0]} form, which Quarto inserts raw into "
                          "HTML or PDF; return a string (e.g. f\"{...}\")")
    if "text/markdown" in data:
        md = data["text/markdown"]
        text = "".join(md) if isinstance(md, list) else str(md)
    else:
        text = str(data.get("text/plain", ""))
        if text == "None":
            raise RenderError(f"{where} evaluates to None, which Quarto prints as the word None; "
                              "return the text to show, or compute the sentence in a cell with `#| output: asis`")
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            text = _QUARTO_ESCAPE_RE.sub(r"\\\1", text[1:-1].replace("\\", "\\\\"))
    if not text:
        raise RenderError(f"{where} evaluates to an empty string, and Quarto then prints the expression "
                          "itself as code; compute the sentence in a cell with `#| output: asis`, "
                          "or make the expression return a non-empty value")
    return text


def _table_span(out: list[str]) -> tuple[int, int] | None:
    """Where the pipe table that ends `out` (blank lines after it allowed) starts and ends; None
    when `out` does not end with one."""
    j = len(out)
    while j > 0 and not out[j - 1].strip():
        j -= 1
    end = j
    while j > 0 and out[j - 1].lstrip().startswith("|"):
        j -= 1
    return None if j == end else (j, end)


def _caption_table(out: list[str], span: tuple[int, int], ident: str, number: int, caption: str) -> None:
    """Wrap the table at `span` of `out` in a `#ident` div with its numbered caption."""
    j, end = span
    out[j:end] = ["", f"::: {{#{ident}}}", "", *out[j:end], "", f": Table\u00a0{number}: {caption}", "", ":::", ""]


def _lines(block: Markdown):
    doc = Document(meta={}, blocks=[block])
    from .qmd import markdown_lines
    return markdown_lines(doc)


def _split_heading(text: str) -> tuple[str, str | None, list[str]]:
    m = ATTR_RE.search(text)
    if not m:
        return text, None, []
    ident, classes, _ = parse_attributes(m.group(1))
    return text[:m.start()].rstrip(), ident, classes


def _label_case(key: str, labels: dict) -> str:
    """`@Fig-x` refers to `fig-x` (Quarto's capitalised form)."""
    if key in labels:
        return key
    low = key[0].lower() + key[1:]
    return low if low in labels else key
