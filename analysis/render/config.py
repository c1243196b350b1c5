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
    "fig-width", "fig-height", "fig-dpi",
    # accepted and meaningless for the output here
    "engine", "jupyter", "project", "editor",
}
EXECUTE_KEYS = {"echo", "eval", "output", "include", "warning", "error"}
FORMAT_KEYS = {
    "html": {"toc", "toc-depth", "toc-title", "number-sections", "number-depth", "lang",
             "embed-resources", "self-contained", "css", "link-citations"},
    "typst": {"toc", "toc-depth", "toc-title", "number-sections", "number-depth", "lang",
              "papersize", "margin", "fontsize", "mainfont", "columns", "link-citations"},
}
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
        raise RenderError(f"_quarto.yml is not valid YAML ({exc.problem})") from None
    if not isinstance(data, dict):
        raise RenderError("_quarto.yml must be a YAML mapping")
    proj = data.get("project") or {}
    for key in proj:
        if key not in PROJECT_KEYS:
            raise RenderError(f"_quarto.yml: project option `{key}` is not supported by the built-in renderer")
    if proj.get("execute-dir") not in (None, "project"):
        raise RenderError("_quarto.yml: only `execute-dir: project` is supported")
    return data


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
            # other formats (pdf via LaTeX, docx) are Quarto's business; the built-in renders html and typst
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
