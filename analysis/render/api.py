"""`render_project`: pick the engine, skip work when nothing changed, publish the whole output folder at once."""

from __future__ import annotations

import errno
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

from ..errors import RenderError, ReviewError
from . import config as cfgmod

MANIFEST = ".render-manifest.json"
SNAPSHOT = "numbers.json"
# A render builds beside the output folder in `.render-XXXX/`: `out/` becomes the new output
# folder, `work/` holds the engine's intermediate files.
BUILD_PREFIX = ".render-"
# Bump when the renderer's output for the same inputs changes in a way the hashed code misses.
RENDERER_VERSION = "1"
FORMATS = ("html", "pdf", "docx")


@dataclass
class RenderReport:
    engine: str                                   # "builtin" or "quarto"
    formats: tuple[str, ...]
    up_to_date: bool                              # True: cache hit, nothing was run
    outputs: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)      # step -> seconds
    cell_timings: list[tuple[str, float]] = field(default_factory=list)
    numbers: Path | None = None                   # the snapshot written by this render, if any
    previous_numbers: dict | None = None          # the snapshot it replaced, if it could be read
    numbers_problem: str | None = None            # why no snapshot was written, when there was a reason


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
    files += sorted(root.glob("*.py"))  # the review's own helpers that review.qmd imports
    files += [f for f in cfgmod.named_files(root) if f not in {g.resolve() for g in files}]
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


def inputs_hash(root: Path) -> str:
    """One hash of every file a render reads and of the commit the version note compares with."""
    root = Path(root)
    h = hashlib.sha256()
    for f in dependency_files(root):
        try:
            name = f.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            name = "<package>/" + f.name
        h.update(name.encode() + b"\0" + _sha(f).encode() + b"\0")
    # The version note compares with an earlier commit: a different one is a different render.
    h.update(f"previous-version\0{previous_version_sha(root)}\0".encode())
    return h.hexdigest()


def inputs_digest(root: Path, engine: str, fmt: str, base: str | None = None) -> str:
    """The cache key of one output (`fmt` a format or "numbers"); `base` is `inputs_hash(root)` when known."""
    base = base or inputs_hash(root)
    return hashlib.sha256(f"{RENDERER_VERSION}\0{engine}\0{fmt}\0{base}".encode()).hexdigest()


def previous_version_sha(root: Path) -> str:
    from ..errors import InputError
    from ..living.revisions import previous_version

    try:
        rev = previous_version(root)
    except InputError:
        return ""
    return rev.sha if rev else ""


def _normalise_formats(to) -> tuple[str, ...]:
    if isinstance(to, str):
        to = FORMATS if to == "all" else (to,)
    to = tuple(dict.fromkeys(to))
    for f in to:
        if f not in FORMATS:
            raise RenderError(f"unknown format {f!r}; use html, pdf, docx or all")
    return to


def resolve_engine(engine: str) -> str:
    if engine == "auto":
        return "quarto" if shutil.which("quarto") else "builtin"
    if engine == "quarto" and not shutil.which("quarto"):
        raise RenderError("quarto is not on PATH; use --engine builtin or auto")
    if engine not in ("quarto", "builtin"):
        raise RenderError(f"unknown engine {engine!r}; use auto, quarto or builtin")
    return engine



def _step(name: str) -> None:
    """Called between the steps of a render's publication; tests replace it to interrupt a render there."""


def _read_manifest(out_dir: Path) -> dict:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _file_sha(path: Path) -> str | None:
    return _sha(path) if path.is_file() else None


def _up_to_date(out_dir: Path, manifest: dict, formats, digests: dict, numbers_digest: str) -> bool:
    """Every output this render would write, the numbers snapshot included, is the one the manifest
    recorded for these inputs."""
    for f in formats:
        entry = (manifest.get("formats") or {}).get(f) or {}
        if entry.get("inputs") != digests[f] or entry.get("output") is None:
            return False
        if _file_sha(out_dir / f"review.{f}") != entry["output"]:
            return False
    entry = manifest.get("numbers") or {}
    return entry.get("inputs") == numbers_digest and _file_sha(out_dir / SNAPSHOT) == entry.get("output")


# --- the build folder and its publication ---------------------------------------------------

def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _link_or_copy(src, dst) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _carry_over(old: Path, new: Path, replaced: set[str]) -> None:
    """What the old output folder holds beside this render's outputs (another format's file, the
    user's own files) goes into the new one unchanged."""
    if not old.is_dir():
        return
    for entry in sorted(old.iterdir()):
        if entry.name in replaced or entry.name.startswith(BUILD_PREFIX):
            continue
        dest = new / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry), dest)
        elif entry.is_dir():
            shutil.copytree(entry, dest, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, dest)


class _Build:
    """`.render-XXXX/` beside the output folder (inside it when the output folder is a mount point):
    `out/` is the next output folder, `work/` the engine's scratch. Locked while this process uses it,
    so the next run can tell a killed run's leftover from a render still going on."""

    def __init__(self, out_dir: Path):
        from ..files import hold, with_path

        self.in_place = os.path.ismount(out_dir)
        parent = out_dir if self.in_place else out_dir.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=parent))
        except OSError as exc:
            raise with_path(exc, parent, [exc.filename]) from None
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        hold(self.fd)
        self.work, self.out = self.path / "work", self.path / "out"
        self.work.mkdir()
        self.out.mkdir()
        if out_dir.is_dir():
            shutil.copymode(out_dir, self.out)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self.fd)


def clean_leftovers(out_dir: Path) -> None:
    """Remove the build folders of killed renders; put back an output folder that a render killed
    halfway through its fallback publication had moved aside."""
    from ..files import is_abandoned

    for parent in (out_dir.parent, out_dir):
        try:
            leftovers = sorted(parent.glob(BUILD_PREFIX + "*"))
        except OSError:
            continue
        for p in leftovers:
            if not p.is_dir() or p.is_symlink() or not is_abandoned(p):
                continue
            if parent == out_dir.parent and not os.path.lexists(out_dir) and (p / "old").is_dir():
                os.rename(p / "old", out_dir)
            shutil.rmtree(p, ignore_errors=True)


def _publish(build: _Build, out_dir: Path, names: list[str]) -> None:
    """Make the build's `out/` the output folder in one step, so a reader (or a kill) sees the old
    folder or the new one, whole."""
    if build.in_place:
        # A mount point cannot be swapped; its files are replaced one by one, the manifest last,
        # so an interrupted publication leaves outputs the manifest does not vouch for and the
        # next render is not skipped.
        for name in names + [MANIFEST]:
            src = build.out / name
            if src.exists():
                os.replace(src, out_dir / name)
            elif os.path.lexists(out_dir / name):
                os.unlink(out_dir / name)
        return
    if not os.path.lexists(out_dir):
        os.rename(build.out, out_dir)
    elif not _exchange(build.out, out_dir):
        # Two renames; a kill between them leaves the old folder whole in the build folder, where
        # the next run's clean_leftovers finds it and puts it back.
        old = build.path / "old"
        os.rename(out_dir, old)
        try:
            _step("half-published")
            os.rename(build.out, out_dir)
        except BaseException:
            if not os.path.lexists(out_dir):
                os.rename(old, out_dir)
            raise


def _as_published(exc: OSError, build: _Build, out_dir: Path) -> OSError:
    """A fault met while building, naming the output it was for rather than the build folder, which
    is gone by the time the user reads the message."""
    name = exc.filename
    if name is None:
        shown = out_dir
    else:
        try:
            rel = Path(os.fsdecode(name)).relative_to(build.path)
        except ValueError:
            return exc
        shown = out_dir / Path(*rel.parts[1:]) if len(rel.parts) > 1 else out_dir
    return type(exc)(exc.errno, exc.strerror, str(shown)) if exc.errno is not None else exc


def _engine_builtin(root: Path, build: _Build, formats, progress, snapshot_path: Path, report: dict):
    from . import snapshot
    from .builtin import Builder

    builder = Builder(root, build.work, progress)

    def numbers_first(kernel) -> None:
        # Before the first cell: the snapshot, and its synthesis kept for the document's own call.
        progress("numbers snapshot")
        t = time.perf_counter()
        report["problem"] = snapshot.read_problem(kernel.run(snapshot.kernel_code(root, snapshot_path)), snapshot_path)
        report["done"] = True
        builder.timings["numbers"] = time.perf_counter() - t

    builder.before_cells = numbers_first
    built = builder.run(formats)
    return built, builder.timings, builder.cell_timings


def _engine_quarto(root: Path, build: _Build, formats, progress):
    from .quarto import render_with_quarto

    timings = render_with_quarto(root, formats, os.path.relpath(build.work, root), progress)
    built = {}
    for f in formats:
        path = build.work / f"review.{f}"
        if not path.exists():
            raise RenderError(f"quarto finished but review.{f} is missing")
        built[f] = path
    return built, timings, []


def render_project(root, to=FORMATS, engine: str = "auto", force: bool = False, progress=None) -> RenderReport:
    """Render `root/review.qmd` to `<output-dir>/review.html` and/or `review.pdf`, with the numbers
    snapshot `numbers.json` beside them.

    Everything is built in a folder beside the output folder and swapped in with one rename when
    every step succeeded, so the output folder is always one render's, whole.
    """
    from . import snapshot
    from ..living.numbers import read_snapshot

    t0 = time.perf_counter()
    progress = progress or (lambda msg: None)
    root = Path(root).resolve()
    formats = _normalise_formats(to)
    engine = resolve_engine(engine)
    if not (root / "review.qmd").exists():
        raise RenderError(f"{root}: no review.qmd")
    from ..files import read_utf8
    for name in ("review.qmd", "_quarto.yml"):
        if (root / name).is_file():
            read_utf8(root / name)  # refused here, with the line, before either engine reads it
    project = cfgmod.load_project(root)
    out_dir = root / cfgmod.output_dir_name(project)
    # An output folder that is a link to elsewhere is built beside where it points.
    out_dir = out_dir.resolve() if out_dir.is_symlink() else out_dir
    if out_dir.resolve() == root or out_dir.resolve() in root.parents:
        # the whole output folder is replaced by each render: never the project's own folder
        raise RenderError(f"_quarto.yml: output-dir {cfgmod.output_dir_name(project)!r} would hold the project; "
                          "name a folder of its own, such as _output")
    if os.path.lexists(out_dir) and not out_dir.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is not a folder", str(out_dir))
    clean_leftovers(out_dir)
    base = inputs_hash(root)
    digests = {f: inputs_digest(root, engine, f, base) for f in formats}
    numbers_digest = inputs_digest(root, "any", "numbers", base)
    manifest = _read_manifest(out_dir)
    outputs = {f: out_dir / f"review.{f}" for f in formats}
    if not force and _up_to_date(out_dir, manifest, formats, digests, numbers_digest):
        return RenderReport(engine, formats, True, outputs, {"total": time.perf_counter() - t0})

    names = [f"review.{f}" for f in formats] + [SNAPSHOT]
    build = _Build(out_dir)
    try:
        new = build.out
        if not build.in_place:
            _carry_over(out_dir, new, set(names) | {MANIFEST, MANIFEST + ".tmp"})
        numbers = {"done": False, "problem": None}
        if engine == "quarto":
            built, timings, cell_timings = _engine_quarto(root, build, formats, progress)
        else:
            built, timings, cell_timings = _engine_builtin(root, build, formats, progress, new / SNAPSHOT, numbers)
        _step("built")
        if not numbers["done"]:
            t = time.perf_counter()
            numbers["problem"] = snapshot.write(root, new / SNAPSHOT)
            timings = dict(timings, numbers=time.perf_counter() - t)
        if numbers["problem"]:
            (new / SNAPSHOT).unlink(missing_ok=True)
        _step("numbers")
        for f in formats:
            os.replace(built[f], new / f"review.{f}")
            _step(f"moved {f}")
        formats_entry = dict(manifest.get("formats") or {})
        for f in formats:
            formats_entry[f] = {"inputs": digests[f], "output": _sha(new / f"review.{f}"), "engine": engine}
        entry = {"formats": formats_entry,
                 "numbers": {"inputs": numbers_digest, "output": _file_sha(new / SNAPSHOT)}}
        (new / MANIFEST).write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _step("manifest")
        previous = None
        if (out_dir / SNAPSHOT).is_file():
            try:
                previous = read_snapshot(out_dir / SNAPSHOT)
            except ReviewError:
                previous = None  # an unreadable snapshot is replaced, not compared
        _step("publish")
        _publish(build, out_dir, names)
        _step("published")
    except OSError as exc:
        raise _as_published(exc, build, out_dir) from None
    finally:
        build.close()
    timings = dict(timings)
    timings["total"] = time.perf_counter() - t0
    snap = out_dir / SNAPSHOT
    return RenderReport(engine, formats, False, outputs, timings, cell_timings,
                        numbers=snap if snap.is_file() else None, previous_numbers=previous,
                        numbers_problem=numbers["problem"])
