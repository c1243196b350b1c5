"""`render_project`: pick the engine, skip work when nothing changed, replace outputs only on success."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RenderError
from . import config as cfgmod

MANIFEST = ".render-manifest.json"
# Bump when the renderer's output for the same inputs changes in a way the hashed code misses.
RENDERER_VERSION = "1"
FORMATS = ("html", "pdf")


@dataclass
class RenderReport:
    engine: str                                   # "builtin" or "quarto"
    formats: tuple[str, ...]
    up_to_date: bool                              # True: cache hit, nothing was run
    outputs: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)      # step -> seconds
    cell_timings: list[tuple[str, float]] = field(default_factory=list)


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dependency_files(root: Path) -> list[Path]:
    """Everything a render reads: the document, its options, the data, the bibliography, the code."""
    import analysis
    root = Path(root)
    files = [root / n for n in ("review.qmd", "_quarto.yml", "analysis_plan.yml", "references.bib")]
    files += sorted(root.glob("*.csl"))
    ext = root / "extraction"
    if ext.is_dir():
        files += sorted(p for p in ext.rglob("*") if p.is_file())
    code_dirs = {Path(analysis.__file__).resolve().parent}
    if (root / "analysis").is_dir():
        code_dirs.add((root / "analysis").resolve())
    for d in sorted(code_dirs):
        files += sorted(p for p in d.rglob("*") if p.is_file() and p.suffix in (".py", ".lua", ".css", ".html", ".typ")
                        and "__pycache__" not in p.parts)
    return [f for f in files if f.exists()]


def inputs_digest(root: Path, engine: str, fmt: str) -> str:
    root = Path(root)
    h = hashlib.sha256(f"{RENDERER_VERSION}\0{engine}\0{fmt}\0".encode())
    for f in dependency_files(root):
        try:
            name = f.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            name = "<package>/" + f.name
        h.update(name.encode() + b"\0" + _sha(f).encode() + b"\0")
    # The version note compares with an earlier commit: a different one is a different render.
    h.update(f"previous-version\0{previous_version_sha(root)}\0".encode())
    return h.hexdigest()


def previous_version_sha(root: Path) -> str:
    from ..errors import InputError
    from ..living.revisions import previous_version

    try:
        rev = previous_version(root)
    except InputError:
        return ""
    return rev.sha if rev else ""


def _read_manifest(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / MANIFEST)


def _normalise_formats(to) -> tuple[str, ...]:
    if isinstance(to, str):
        to = FORMATS if to == "all" else (to,)
    to = tuple(dict.fromkeys(to))
    for f in to:
        if f not in FORMATS:
            raise RenderError(f"unknown format {f!r}; use html, pdf or all")
    return to


def resolve_engine(engine: str) -> str:
    if engine == "auto":
        return "quarto" if shutil.which("quarto") else "builtin"
    if engine == "quarto" and not shutil.which("quarto"):
        raise RenderError("quarto is not on PATH; use --engine builtin or auto")
    if engine not in ("quarto", "builtin"):
        raise RenderError(f"unknown engine {engine!r}; use auto, quarto or builtin")
    return engine


def render_project(root, to=FORMATS, engine: str = "auto", force: bool = False, progress=None) -> RenderReport:
    """Render `root/review.qmd` to `<output-dir>/review.html` and/or `review.pdf`."""
    t0 = time.perf_counter()
    root = Path(root).resolve()
    formats = _normalise_formats(to)
    engine = resolve_engine(engine)
    if not (root / "review.qmd").exists():
        raise RenderError(f"{root}: no review.qmd")
    project = cfgmod.load_project(root)
    out_dir = root / cfgmod.output_dir_name(project)
    stem = "review"
    digests = {f: inputs_digest(root, engine, f) for f in formats}
    manifest = _read_manifest(out_dir)
    outputs = {f: out_dir / f"{stem}.{f}" for f in formats}
    if not force and all(
        (manifest.get("formats", {}).get(f) or {}).get("inputs") == digests[f]
        and outputs[f].exists() and _sha(outputs[f]) == manifest["formats"][f].get("output")
        for f in formats
    ):
        return RenderReport(engine, formats, True, outputs, {"total": time.perf_counter() - t0})

    if engine == "quarto":
        from .quarto import render_with_quarto
        # Quarto writes into a temporary output folder; the outputs move into place only
        # when every format rendered, so a failure leaves the last good render untouched.
        build = Path(tempfile.mkdtemp(prefix=".render-", dir=root))
        try:
            timings = render_with_quarto(root, formats, build.name, progress)
            for f in formats:
                if not (build / outputs[f].name).exists():
                    raise RenderError(f"quarto finished but {outputs[f].name} is missing")
            out_dir.mkdir(parents=True, exist_ok=True)
            for f in formats:
                os.replace(build / outputs[f].name, outputs[f])
        finally:
            shutil.rmtree(build, ignore_errors=True)
        cell_timings = []
    else:
        from .builtin import Builder
        # The build folder sits beside the output folder so the final moves are renames
        # on one filesystem; the old outputs stay untouched until everything succeeded.
        build = Path(tempfile.mkdtemp(prefix=".render-", dir=root))
        try:
            builder = Builder(root, build, progress)
            built = builder.run(formats)
            out_dir.mkdir(parents=True, exist_ok=True)
            for f, p in built.items():
                os.replace(p, outputs[f])
            timings, cell_timings = builder.timings, builder.cell_timings
        finally:
            shutil.rmtree(build, ignore_errors=True)
    manifest.setdefault("formats", {})
    for f in formats:
        manifest["formats"][f] = {"inputs": digests[f], "output": _sha(outputs[f]), "engine": engine}
    _write_manifest(out_dir, manifest)
    timings = dict(timings)
    timings["total"] = time.perf_counter() - t0
    return RenderReport(engine, formats, False, outputs, timings, cell_timings)
