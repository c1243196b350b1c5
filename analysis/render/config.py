"""Document options: `_quarto.yml` merged with review.qmd's front matter, per output format."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import yaml

from ..errors import RenderError

# Metadata keys the built-in renderer implements.
DOC_KEYS = {
    "title", "subtitle", "author", "authors", "date", "abstract", "abstract-title",
    "bibliography", "csl", "toc", "toc-depth", "toc-title", "number-sections",
    "number-depth", "lang", "format", "execute", "link-citations", "keywords",
    "fig-width", "fig-height", "fig-dpi", "metadata-files",
    # the review's version file (`review lock`): its number is read by the version note
    "version", "numbers-digest",
    # accepted and meaningless for the output here
    "engine", "jupyter", "project", "editor",
}
EXECUTE_KEYS = {"echo", "eval", "output", "include", "warning", "error"}
FORMAT_KEYS = {
    "html": {"toc", "toc-depth", "toc-title", "number-sections", "number-depth", "lang",
             "embed-resources", "self-contained", "css", "link-citations", "citeproc", "html-math-method",
             "fig-format", "toc-location", "citations-hover", "format-links", "other-links"},
    "typst": {"toc", "toc-depth", "toc-title", "number-sections", "number-depth", "lang",
              "papersize", "margin", "fontsize", "mainfont", "columns", "link-citations",
              "citeproc", "section-numbering", "include-in-header", "fig-format"},
    "docx": {"toc", "toc-depth", "toc-title", "number-sections", "number-depth", "lang", "link-citations",
             "citeproc", "reference-doc"},
}
# html-math-method values that need nothing from the network (pandoc writes the math itself).
OFFLINE_MATH = ("plain", "mathml")
PROJECT_KEYS = {"type", "output-dir", "title", "render", "execute-dir"}
DEFAULT_EXECUTE = {"echo": True, "eval": True, "output": True, "include": True,
                   "warning": True, "error": False}


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_project(root: Path) -> dict:
    path = Path(root) / "_quarto.yml"
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        from ..data.locate import yaml_error_place
        line, col, what = yaml_error_place(exc)
        raise RenderError(f"_quarto.yml:{line}:{col}: not valid YAML: {what}") from None
    if not isinstance(data, dict):
        raise RenderError("_quarto.yml must be a YAML mapping")
    data = _with_metadata_files(Path(root), data, "_quarto.yml")
    proj = data.get("project") or {}
    for key in proj:
        if key not in PROJECT_KEYS:
            raise RenderError(f"_quarto.yml: project option `{key}` is not supported by the built-in renderer")
    if proj.get("execute-dir") not in (None, "project"):
        raise RenderError("_quarto.yml: only `execute-dir: project` is supported")
    return data


def _with_metadata_files(root: Path, data: dict, where: str) -> dict:
    """`data` with the YAML files its `metadata-files` names merged over it, as Quarto merges
    them into the project's metadata (quarto-cli src/config/metadata.ts, includedMetadata:
    paths relative to the project, a missing file skipped, later files over earlier ones)."""
    names = data.get("metadata-files")
    if names is None:
        return data
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RenderError(f"{where}: metadata-files must be a list of file names")
    merged: dict = {}
    for name in names:
        path = root / name
        if not path.is_file():
            continue
        try:
            meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            from ..data.locate import yaml_error_place
            line, col, what = yaml_error_place(exc)
            raise RenderError(f"{name}:{line}:{col}: not valid YAML: {what}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RenderError(f"{name}: cannot be read ({exc})") from None
        if not isinstance(meta, dict):
            raise RenderError(f"{name}: must be a YAML mapping (named by {where} under metadata-files)")
        merged = _merge(merged, meta)
    return _merge(data, merged)


def output_dir_name(project: dict) -> str:
    return str((project.get("project") or {}).get("output-dir") or "_output")


def _check_keys(meta: dict, where: str) -> None:
    for key in meta:
        if key not in DOC_KEYS:
            raise RenderError(f"{where}: option `{key}` is not supported by the built-in renderer")
    if meta.get("engine") not in (None, "jupyter"):
        raise RenderError(f"{where}: engine `{meta['engine']}` is not supported; use jupyter")
    if meta.get("jupyter") not in (None, "python3"):
        raise RenderError(f"{where}: jupyter kernel `{meta['jupyter']}` is not supported; use python3")
    for key in meta.get("execute") or {}:
        if key not in EXECUTE_KEYS:
            raise RenderError(f"{where}: execute option `{key}` is not supported")
    fmt = meta.get("format")
    if isinstance(fmt, str):
        fmt = {fmt: "default"}
    for name, opts in (fmt or {}).items():
        if name not in FORMAT_KEYS:
            # other formats (pdf via LaTeX, ...) are Quarto's business; the built-in renders html, typst, docx
            continue
        if isinstance(opts, dict):
            for key in opts:
                if key not in FORMAT_KEYS[name]:
                    raise RenderError(f"{where}: format {name} option `{key}` is not supported by the built-in renderer")
            if opts.get("embed-resources") is False or opts.get("self-contained") is False:
                raise RenderError(f"{where}: the built-in renderer always writes a self-contained HTML file")
    if str(meta.get("date", "")).strip() in {"today", "now", "last-modified"}:
        raise RenderError(f"{where}: `date: {meta['date']}` would make the output depend on the clock; write the date")


def resolve(project: dict, front: dict, fmt: str) -> dict:
    """Options for one format: project metadata < document < project format < document format."""
    _check_keys({k: v for k, v in project.items() if k != "project"}, "_quarto.yml")
    _check_keys(front, "review.qmd front matter")
    if "metadata-files" in front:
        raise RenderError("review.qmd front matter: name metadata-files in _quarto.yml, where both engines read them")
    base = _merge({k: v for k, v in project.items() if k not in ("project", "format")},
                  {k: v for k, v in front.items() if k != "format"})
    out = dict(base)
    for src in (project, front):
        f = src.get("format")
        if isinstance(f, dict) and isinstance(f.get(fmt), dict):
            out = _merge(out, f[fmt])
    out["execute"] = _merge(DEFAULT_EXECUTE, out.get("execute") or {})
    if "authors" in out and "author" not in out:
        out["author"] = out.pop("authors")
    out.pop("authors", None)
    return out


def normalise_authors(value) -> list[dict]:
    """Quarto author forms (string, list of strings, list of maps with affiliations) -> name/affiliation."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for a in items:
        if isinstance(a, str):
            out.append({"name": a, "affiliation": ""})
            continue
        if not isinstance(a, dict) or "name" not in a:
            raise RenderError("author entries must be names or maps with `name`")
        name = a["name"]
        if isinstance(name, dict):
            name = name.get("literal") or " ".join(str(name[k]) for k in ("given", "family") if k in name)
        affs = a.get("affiliations", a.get("affiliation", []))
        affs = affs if isinstance(affs, list) else [affs]
        names = [x.get("name", "") if isinstance(x, dict) else str(x) for x in affs]
        out.append({"name": str(name), "affiliation": "; ".join(n for n in names if n)})
    return out


def text_date(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return str(value)


def math_method(opts: dict) -> str | None:
    value = opts.get("html-math-method")
    return value.get("method") if isinstance(value, dict) else value


def check_format(fmt: str, opts: dict) -> None:
    """Options whose Quarto meaning the built-in renderer would otherwise silently depart from."""
    where = f"format {fmt}"
    if opts.get("bibliography") and fmt == "typst" and opts.get("citeproc") is not True:
        # Quarto's typst format leaves citations to Typst (its own numbered style and a second
        # "Bibliography" heading) unless citeproc is true (quarto.org/docs/output-formats/typst.html#bibliography)
        raise RenderError(f"_quarto.yml: {where}: set `citeproc: true`, so that Quarto formats citations with "
                          "pandoc's citeproc as the built-in renderer does (Quarto's default for typst is "
                          "Typst's own citation processing)")
    if opts.get("citeproc") is False:
        raise RenderError(f"_quarto.yml: {where}: `citeproc: false` is not supported; the built-in renderer "
                          "formats citations with pandoc's citeproc")
    if fmt == "html":
        check_html_links(opts)
    method = math_method(opts)
    if fmt == "html" and method is not None and method not in OFFLINE_MATH:
        raise RenderError(f"_quarto.yml: {where}: html-math-method `{method}` needs a script or images from "
                          f"the network; use {' or '.join(OFFLINE_MATH)}")


def include_files(opts: dict, key: str, root: Path, build: Path) -> list[Path]:
    """Quarto's include-in-header and friends: a path, a `text:` or `file:` map, or a list of them."""
    value = opts.get(key)
    items = [] if value is None else value if isinstance(value, list) else [value]
    out = []
    for n, item in enumerate(items, 1):
        if isinstance(item, dict) and "text" in item:
            path = Path(build) / f"{key}-{n}.txt"
            path.write_text(str(item["text"]), encoding="utf-8")
        else:
            name = item.get("file") if isinstance(item, dict) else item
            path = Path(root) / str(name)
            if not path.is_file():
                raise RenderError(f"_quarto.yml: {key}: {name} is not a file in the project")
        out.append(path)
    return out


# Options whose value names a project file the output depends on.
FILE_KEYS = ("bibliography", "csl", "css", "include-in-header", "reference-doc", "metadata-files")


def named_files(root: Path) -> list[Path]:
    """The project files that _quarto.yml and the front matter name (a Typst header, a reference
    document, a stylesheet, ...), so a change to one of them is a change of the render's inputs."""
    root = Path(root)
    metas = []
    for path, front in ((root / "_quarto.yml", False), (root / "review.qmd", True)):
        try:
            text = path.read_text(encoding="utf-8")
            if front:
                text = text.split("\n---", 1)[0][3:] if text.startswith("---") else ""
            data = yaml.safe_load(text) or {}
        except (OSError, yaml.YAMLError):
            continue  # the render itself reports what is wrong
        if isinstance(data, dict):
            metas.append(data)
            fmt = data.get("format")
            metas += [v for v in fmt.values() if isinstance(v, dict)] if isinstance(fmt, dict) else []
    found = set()
    for meta in metas:
        for key in FILE_KEYS:
            value = meta.get(key)
            for item in value if isinstance(value, list) else [value]:
                name = item.get("file") if isinstance(item, dict) else item
                if isinstance(name, str) and (root / name).is_file():
                    found.add((root / name).resolve())
    return sorted(found)


TOC_LOCATIONS = ("right", "left", "body")  # Quarto's default first
OTHER_LINK_KEYS = {"text", "href", "icon", "rel", "target"}


def check_html_links(opts: dict) -> None:
    where = "_quarto.yml: format html"
    if opts.get("toc-location", "right") not in TOC_LOCATIONS:
        raise RenderError(f"{where}: toc-location `{opts['toc-location']}` is not supported "
                          f"(supported: {', '.join(TOC_LOCATIONS)})")
    if not isinstance(opts.get("format-links", True), bool):
        raise RenderError(f"{where}: format-links must be true or false here; list explicit links under other-links")
    links = opts.get("other-links", [])
    if links is False:
        return
    if not isinstance(links, list) or not all(
            isinstance(l, dict) and isinstance(l.get("text"), str) and isinstance(l.get("href"), str)
            and set(l) <= OTHER_LINK_KEYS for l in links):
        raise RenderError(f"{where}: other-links must be a list of links with `text` and `href` "
                          "(and optionally icon, rel, target)")
