"""Faults of the environment and interrupted commands: outputs stay whole, every refusal is one line.

Interruptions are injected at named steps of a render (`analysis.render.api._step`), in this
process (KeyboardInterrupt) or in a child that kills itself with SIGKILL, never by timing.
The renders here use a stand-in `quarto` so that each takes a fraction of a second.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.living.numbers import SNAPSHOT, project_numbers, read_snapshot
from analysis.render import api, render_project
from fixture_paths import BUNDLED, REPO

BASE = REPO / "tests" / "broken" / "_base"
STEPS = ["built", "numbers", "moved html", "moved pdf", "manifest", "publish", "published"]

QMD = "---\ntitle: Faults\n---\n\nA project for interrupted renders.\n"


def fake_quarto(bin_dir: Path) -> None:
    """A stand-in `quarto` whose outputs depend on studies.csv, so two versions of the sheets differ."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "quarto"
    script.write_text(f"""#!{sys.executable}
import hashlib, pathlib, sys
args = sys.argv[1:]
out = pathlib.Path(args[args.index("--output-dir") + 1]); out.mkdir(parents=True, exist_ok=True)
tag = hashlib.sha256(pathlib.Path("extraction/studies.csv").read_bytes()).hexdigest()[:12]
for fmt in args[args.index("--to") + 1].split(","):
    (out / ("review." + {{"html": "html", "typst": "pdf", "docx": "docx"}}[fmt])).write_text(fmt + " of " + tag)
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def make_project(tmp_path: Path) -> Path:
    """The corpus's clean base project (sheets, plan, bibliography) with a document to render."""
    root = tmp_path / "p"
    shutil.copytree(BASE, root)
    shutil.copy(BUNDLED / "extraction" / "datapackage.json", root / "extraction" / "datapackage.json")
    shutil.copy(REPO / ".gitignore", root / ".gitignore")
    (root / "review.qmd").write_text(QMD, encoding="utf-8")
    (root / "_quarto.yml").write_text("project:\n  output-dir: _output\n", encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    fake_quarto(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return make_project(tmp_path)


def change_sheets(root: Path) -> None:
    """Version B of the sheets: alpha2020's active-arm mean one point higher."""
    sheet = root / "extraction" / "outcomes.csv"
    text = sheet.read_text(encoding="utf-8")
    assert text.count(",40.5,") == 1
    sheet.write_text(text.replace(",40.5,", ",41.5,"), encoding="utf-8")


def contents(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def render(root: Path) -> None:
    assert render_project(root, engine="quarto").up_to_date is False


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".render-") or p.name.endswith(".tmp"))


def stop_at(monkeypatch, step: str, fault=KeyboardInterrupt):
    def interrupt(name):
        if name == step:
            raise fault()
    monkeypatch.setattr(api, "_step", interrupt)


def test_a_render_publishes_outputs_numbers_and_manifest_together(project):
    render(project)
    out = project / "_output"
    assert sorted(contents(out)) == [".render-manifest.json", "numbers.json", "review.docx", "review.html", "review.pdf"]
    assert read_snapshot(out / SNAPSHOT) == project_numbers(project)
    manifest = json.loads((out / api.MANIFEST).read_text())
    assert manifest["numbers"]["output"] == hashlib.sha256((out / SNAPSHOT).read_bytes()).hexdigest()
    assert leftovers(project) == []
    # new files get the umask's permissions, as files made with open() do
    assert stat.S_IMODE((out / SNAPSHOT).stat().st_mode) == 0o666 & ~api_umask()


def api_umask() -> int:
    from analysis.files import umask
    return umask()


@pytest.mark.parametrize("step", STEPS)
def test_ctrl_c_at_any_step_leaves_the_old_outputs_or_the_new_whole(project, monkeypatch, step):
    render(project)
    old = contents(project / "_output")
    change_sheets(project)
    stop_at(monkeypatch, step)
    with pytest.raises(KeyboardInterrupt):
        render_project(project, engine="quarto")
    now = contents(project / "_output")
    assert leftovers(project) == []  # cleaned on the way out
    monkeypatch.setattr(api, "_step", lambda name: None)
    if step == "published":  # the new folder was in place: it is whole and the next run keeps it
        assert now != old
        assert render_project(project, engine="quarto").up_to_date
        assert contents(project / "_output") == now
    else:
        assert now == old
        render(project)
    assert read_snapshot(project / "_output" / SNAPSHOT) == project_numbers(project)


KILLER = """
import os, signal, sys
import analysis.render.api as api
def step(name):
    if name == sys.argv[1]:
        os.kill(os.getpid(), signal.SIGKILL)
api._step = step
if len(sys.argv) > 2 and sys.argv[2] == "no-exchange":
    api._exchange = lambda a, b: False
from analysis.cli import main
main(["render", "--engine", "quarto", "--quiet", "--root", os.getcwd()])
"""


def killed_render(root: Path, step: str, *extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", KILLER, step, *extra], cwd=root, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return proc


def git_untracked(root: Path) -> list[str]:
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--ignored=no"],
                         cwd=root, capture_output=True, text=True, check=True).stdout
    return sorted(line[3:] for line in out.splitlines() if line.startswith("??"))


@pytest.mark.parametrize("step", ["moved html", "published"])
def test_sigkill_at_any_step_leaves_old_or_new_and_the_next_run_cleans_up(project, step):
    render(project)
    tracked = git_untracked(project)
    old = contents(project / "_output")
    change_sheets(project)
    killed_render(project, step)
    now = contents(project / "_output")
    if step == "published":
        assert now != old and read_snapshot(project / "_output" / SNAPSHOT) == project_numbers(project)
    else:
        assert now == old
    assert leftovers(project)  # the killed run's build folder is still there...
    assert git_untracked(project) == tracked  # ...and git does not see it
    if step == "published":
        assert render_project(project, engine="quarto").up_to_date
    else:
        render(project)
    assert leftovers(project) == []
    assert read_snapshot(project / "_output" / SNAPSHOT) == project_numbers(project)


def test_without_an_atomic_exchange_a_kill_between_the_two_renames_is_repaired(project):
    render(project)
    old = contents(project / "_output")
    change_sheets(project)
    killed_render(project, "half-published", "no-exchange")
    assert not (project / "_output").exists()  # moved aside, whole, into the build folder
    (build,) = [project / n for n in leftovers(project)]
    assert contents(build / "old") == old
    # the next run puts the old folder back before deciding anything, then renders version B
    render(project)
    assert leftovers(project) == []
    assert read_snapshot(project / "_output" / SNAPSHOT) == project_numbers(project)


def test_ctrl_c_between_the_two_renames_puts_the_old_folder_back(project, monkeypatch):
    render(project)
    old = contents(project / "_output")
    change_sheets(project)
    monkeypatch.setattr(api, "_exchange", lambda a, b: False)
    stop_at(monkeypatch, "half-published")
    with pytest.raises(KeyboardInterrupt):
        render_project(project, engine="quarto")
    assert contents(project / "_output") == old
    assert leftovers(project) == []


def test_up_to_date_checks_every_output_and_the_numbers(project):
    render(project)
    out = project / "_output"
    first = contents(out)
    assert render_project(project, engine="quarto").up_to_date
    for name in ("numbers.json", "review.pdf"):
        (out / name).write_text("{}", encoding="utf-8")
        assert not render_project(project, engine="quarto").up_to_date, name
        assert contents(out) == first
    (out / SNAPSHOT).unlink()
    assert not render_project(project, engine="quarto").up_to_date
    assert contents(out) == first


def test_other_files_in_the_output_folder_are_kept(project):
    render(project)
    out = project / "_output"
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    os.chmod(out, 0o750)
    change_sheets(project)
    assert not render_project(project, engine="quarto", to="html").up_to_date
    assert (out / "notes.txt").read_text() == "mine"
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    # the PDF of the earlier render stays, and is not taken for an up-to-date one
    assert (out / "review.pdf").read_text().startswith("typst of ")
    assert not render_project(project, engine="quarto", to="pdf").up_to_date


def test_a_live_render_build_folder_is_not_taken_for_a_leftover(project):
    from analysis.files import hold
    live = project / ".render-live"
    live.mkdir()
    fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert hold(fd)
        render(project)
        assert live.is_dir()
    finally:
        os.close(fd)
    render_project(project, engine="quarto", force=True)
    assert not live.exists()


# --- atomic writes -------------------------------------------------------------------------

def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    from analysis.files import write_text_atomic
    lock = tmp_path / "numbers.lock"
    lock.write_text("a = 1\n")
    os.chmod(lock, 0o644)
    old_mask = os.umask(0o077)  # a umask that would give 600 to a new file
    try:
        write_text_atomic(lock, "a = 2\n")
        assert stat.S_IMODE(lock.stat().st_mode) == 0o644
        os.chmod(lock, 0o664)
        write_text_atomic(lock, "a = 3\n")
        assert stat.S_IMODE(lock.stat().st_mode) == 0o664
        write_text_atomic(tmp_path / "new.json", "{}\n")
        assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o600
        os.umask(0o022)
        write_text_atomic(tmp_path / "other.json", "{}\n")
        assert stat.S_IMODE((tmp_path / "other.json").stat().st_mode) == 0o644
    finally:
        os.umask(old_mask)
    assert lock.read_text() == "a = 3\n"


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    from analysis.files import hold, write_text_atomic
    lock = tmp_path / "numbers.lock"
    stale = tmp_path / ".numbers.lock.abc123.tmp"
    stale.write_text("half")
    live = tmp_path / ".numbers.lock.live99.tmp"
    live.write_text("being written")
    fd = os.open(live, os.O_RDONLY)
    try:
        assert hold(fd)  # another writer still at work
        write_text_atomic(lock, "a = 1\n")
        assert not stale.exists() and live.exists()
    finally:
        os.close(fd)
    write_text_atomic(lock, "a = 2\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["numbers.lock"]


# --- faults of the environment: one line naming the path and the cause, an exit code per kind ---

def review(root: Path, *args: str, env=None, preexec_fn=None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis.cli", *args], cwd=root, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, env=env, preexec_fn=preexec_fn)


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return lines[0]


def test_standard_output_on_a_full_device(tmp_path):
    root = make_project(tmp_path)
    with open("/dev/full", "w") as full:
        proc = review(root, "validate", stdout=full)
    assert (proc.returncode, one_line(proc)) == (73, "review validate: standard output: no space left on the device")


def test_a_folder_where_a_file_is_expected(tmp_path):
    root = make_project(tmp_path)
    (root / "numbers.lock").mkdir()
    proc = review(root, "lock")
    assert (proc.returncode, one_line(proc)) == (72, f"review lock: {root}/numbers.lock: is a folder, not a file")
    proc = review(root, "lint", "extraction")
    assert (proc.returncode, one_line(proc)) == (72, "review lint: extraction: is a folder, not a file")
    (root / "numbers.lock").rmdir()
    (root / "_output").write_text("not a folder")
    proc = review(root, "render", "--engine", "builtin", "--quiet")
    assert (proc.returncode, one_line(proc)) == (72, f"review render: {root}/_output: is not a folder")


def test_a_file_size_limit(tmp_path):
    import resource
    root = make_project(tmp_path)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    proc = review(root, "lock", preexec_fn=limit)
    cause = "file too large (a file-size limit such as `ulimit -f`, or the filesystem's largest file)"
    assert (proc.returncode, one_line(proc)) == (74, f"review lock: {root}/numbers.lock: {cause}")
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == [".gitignore"]
    # pandoc is stopped by SIGXFSZ writing the HTML; the render names the file it was making
    proc = review(root, "render", "--engine", "builtin", "--quiet", preexec_fn=limit)
    assert (proc.returncode, one_line(proc)) == (74, f"review render: {root}/_output/review.html: {cause}")
    assert not (root / "_output").exists() and leftovers(root) == []


def test_read_only_and_full_disk_and_cross_device_in_process(tmp_path, monkeypatch, capsys):
    import tempfile as tempfile_module
    root = make_project(tmp_path)

    def refuse(code):
        def mkstemp(*args, dir=None, prefix="", suffix="", **kw):
            raise OSError(code, os.strerror(code), os.path.join(dir, prefix + "x1y2" + suffix))
        return mkstemp

    monkeypatch.setattr(tempfile_module, "mkstemp", refuse(errno.EROFS))
    assert main(["lock", "--root", str(root)]) == 77
    assert capsys.readouterr().err == f"review lock: {root}/numbers.lock: read-only filesystem\n"
    monkeypatch.setattr(tempfile_module, "mkstemp", refuse(errno.ENOSPC))
    assert main(["lock", "--root", str(root)]) == 73
    assert capsys.readouterr().err == f"review lock: {root}/numbers.lock: no space left on the device\n"
    monkeypatch.undo()

    def cross(a, b):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(a), str(b))

    monkeypatch.setattr(os, "rename", cross)
    monkeypatch.setattr(api, "_exchange", lambda a, b: cross(a, b))
    (root / "_output").mkdir()
    assert main(["render", "--root", str(root), "--engine", "builtin", "--quiet"]) == 71
    err = capsys.readouterr().err
    assert err == (f"review render: {root}/_output: cannot be moved there in one step: "
                   "another filesystem (cross-device link)\n")


def test_an_ascii_only_terminal_gets_ascii(tmp_path):
    root = make_project(tmp_path)
    studies = root / "extraction" / "studies.csv"
    studies.write_text(studies.read_text(encoding="utf-8").replace(",rct,", ",rct \u2014 Bêta,", 1), encoding="utf-8")
    env = dict(os.environ, PYTHONIOENCODING="ascii")
    proc = review(root, "validate", env=env)
    assert proc.returncode == 1 and proc.stderr == ""
    assert proc.stdout.splitlines()[0].endswith("(rct - Beta)")


MOUNT = Path("/proc/self/mountinfo").exists() and os.geteuid() == 0


@pytest.fixture
def small_fs(tmp_path):
    """A real 1 MiB tmpfs, where the machine lets this process mount one."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if not MOUNT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                   capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=True)


def fill(mnt: Path) -> None:
    with open(mnt / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_full_small_filesystem_and_then_a_read_only_one(small_fs, tmp_path):
    root = small_fs / "p"
    shutil.copytree(make_project(tmp_path), root)
    assert review(root, "lock").returncode == 0
    before = (root / "numbers.lock").read_bytes()
    change_sheets(root)
    fill(small_fs)
    proc = review(root, "lock")
    assert (proc.returncode, one_line(proc)) == (73, f"review lock: {root}/numbers.lock: no space left on the device")
    proc = review(root, "render", "--engine", "builtin", "--quiet")
    assert (proc.returncode, one_line(proc)) == (73, f"review render: {root}/_output: no space left on the device")
    assert (root / "numbers.lock").read_bytes() == before
    assert not (root / "_output").exists() and leftovers(root) == []
    (small_fs / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    proc = review(root, "lock")
    assert (proc.returncode, one_line(proc)) == (77, f"review lock: {root}/numbers.lock: read-only filesystem")
    proc = review(root, "render", "--engine", "builtin", "--quiet")
    assert (proc.returncode, one_line(proc)) == (77, f"review render: {root}: read-only filesystem")


def test_an_output_folder_that_is_a_mount_point_is_rendered_in_place(small_fs, tmp_path, monkeypatch):
    root = make_project(tmp_path)
    (root / "_output").symlink_to(small_fs)  # the output folder is elsewhere, a filesystem of its own
    bin_dir = tmp_path / "bin"
    fake_quarto(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    render(root)
    assert sorted(contents(small_fs)) == [".render-manifest.json", "numbers.json", "review.docx", "review.html", "review.pdf"]
    assert render_project(root, engine="quarto").up_to_date
    change_sheets(root)
    stop_at(monkeypatch, "publish")
    with pytest.raises(KeyboardInterrupt):
        render_project(root, engine="quarto")
    monkeypatch.setattr(api, "_step", lambda name: None)
    render(root)
    assert read_snapshot(small_fs / SNAPSHOT) == project_numbers(root)
    assert [p.name for p in small_fs.iterdir() if p.name.startswith(".render-")] == [".render-manifest.json"]


def test_review_diff_with_a_full_temporary_folder(small_fs, tmp_path):
    root = make_project(tmp_path)
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(root), "commit", "-qm", "first"], check=True)
    change_sheets(root)  # the committed sheets differ, so they are exported to be recomputed
    fill(small_fs)
    # room for the probe file tempfile writes to accept TMPDIR, not for the 40 kB schema
    filler = small_fs / "filler"
    os.truncate(filler, filler.stat().st_size - 16384)
    proc = review(root, "diff", env=dict(os.environ, TMPDIR=str(small_fs)))
    line = one_line(proc)
    assert proc.returncode == 73
    prefix = f"review diff: {small_fs}/review-rev-"
    assert line.startswith(prefix), line
    assert line.endswith(f": no space left on the device (a temporary folder in {small_fs}; "
                         "set TMPDIR to a folder with space)"), line


# --- a failing cell and a kernel that dies name the cell and the line inside it ---------------

KERNEL_DOC = """---
title: K
---

```{python}
#| label: helpers
def explode():
    return {}["missing"]
```

Text.

```{python}
#| label: numbers
#| echo: false

x = 1
y = explode()
```
"""


def build_fails(tmp_path: Path, doc: str) -> str:
    from analysis.errors import RenderError
    from analysis.render.builtin import Builder
    (tmp_path / "review.qmd").write_text(doc, encoding="utf-8")
    (tmp_path / "build").mkdir(exist_ok=True)
    b = Builder(tmp_path, tmp_path / "build")
    with pytest.raises(RenderError) as err:
        b.execute(b.scan())
    return str(err.value)


def test_a_failing_cell_names_the_line_that_failed_inside_it(tmp_path):
    # line 18 is `y = explode()`: below two option lines and a blank line, not the fence (line 13)
    assert build_fails(tmp_path, KERNEL_DOC) == "cell numbers at review.qmd:18 failed: KeyError: 'missing'"
    syntax = KERNEL_DOC.replace("y = explode()", "y = (1 +")
    assert build_fails(tmp_path, syntax) == "cell numbers at review.qmd:18 failed: SyntaxError: incomplete input"


def test_a_kernel_that_crashes_names_the_cell_and_its_line(tmp_path):
    doc = KERNEL_DOC.replace("y = explode()", "import ctypes\ny = ctypes.string_at(0)\nz = 2")
    # other renders on the machine may have logs of their own in the shared temporary folder
    before = set(Path(tempfile_dir()).glob("review-kernel-*"))
    assert build_fails(tmp_path, doc) == (
        "cell numbers at review.qmd:19 failed: the Python kernel died (SIGSEGV)")
    left = set(Path(tempfile_dir()).glob("review-kernel-*")) - before
    assert not {f for f in left if f.exists()}  # this render's crash log is removed


def tempfile_dir() -> str:
    import tempfile
    return tempfile.gettempdir()


def test_a_kernel_that_exits_names_the_cell(tmp_path):
    doc = KERNEL_DOC.replace("y = explode()", "import os\nos._exit(3)")
    assert build_fails(tmp_path, doc) == (
        "cell numbers at review.qmd:13 failed: the Python kernel died (exit code 3); "
        "it left no trace of the line")


def test_a_document_that_is_not_utf8_is_one_line(tmp_path):
    root = make_project(tmp_path)
    (root / "review.qmd").write_bytes("---\ntitle: T\n---\n\nCaf\u00e9.\n".encode("latin-1"))
    proc = review(root, "render", "--engine", "builtin", "--quiet")
    assert (proc.returncode, one_line(proc)) == (
        1, "review render: review.qmd:5: not UTF-8: byte 0xE9 at byte offset 21 cannot be decoded; save the file as UTF-8")


def test_broken_project_options_and_front_matter_name_their_line_when_rendering(tmp_path):
    root = make_project(tmp_path)
    (root / "_quarto.yml").write_text("project:\n  output-dir: _output\nformat:\n  html: {toc: true\n")
    proc = review(root, "render", "--engine", "builtin", "--quiet")
    assert (proc.returncode, one_line(proc)) == (1, "review render: _quarto.yml:5:1: not valid YAML: expected ',' or "
                                                    "'}', but got '<stream end>' (while parsing a flow mapping)")
    (root / "_quarto.yml").write_text("project:\n  output-dir: _output\n")
    (root / "review.qmd").write_text("---\ntitle: A review\nauthor: [Ann\n---\n\nText.\n")
    proc = review(root, "render", "--engine", "builtin", "--quiet")
    assert (proc.returncode, one_line(proc)) == (1, "review render: review.qmd:3:13: front matter is not valid YAML: "
                                                    "expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)")
