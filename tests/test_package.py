"""The toolkit as an ordinary package: the wheel carries what the renderer reads at run time.

The wheel is built from this checkout and installed (not editable) into a fresh virtual
environment that borrows the test environment's third-party packages through a `.pth`
line, so nothing is downloaded. A path added by a `.pth` line does not run that folder's
own `.pth` files, so the editable install of this checkout stays out of sight and the
render must use the installed copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "render_project"


def _run(cmd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("package")
    # Built from a clean copy, as from a fresh clone: a checkout's egg-info or build/ folder
    # would hand setuptools a file list that a fresh clone does not have.
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "analysis", src / "analysis",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "-q", "-w", str(tmp / "dist"), str(src)])
    assert built.returncode == 0, built.stderr
    wheel, = (tmp / "dist").glob("*.whl")
    env_dir = tmp / "env"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    site = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    (Path(site) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    done = _run([str(py), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)])
    assert done.returncode == 0, done.stderr
    return env_dir, wheel


def test_wheel_ships_the_renderers_files(installed):
    import zipfile

    _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("template.html", "style.css", "callouts.lua", "header.typ"):
        assert f"analysis/render/{f}" in names
    # what `review new` copies
    for f in ("template/review.qmd", "template/ci/run", "template/tests/test_review.py",
              "example/extraction/outcomes.csv", "example/references.bib"):
        assert f"analysis/cli/{f}" in names
    assert "analysis/data/core.json" in names  # the schema's core, which review new starts from


def test_installed_package_renders_a_project(installed, tmp_path):
    env_dir, _ = installed
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    where = _run([str(env_dir / "bin" / "python"), "-c", "import analysis; print(analysis.__file__)"],
                 cwd=project)
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where.stdout + where.stderr
    done = _run([str(env_dir / "bin" / "review"), "render", "--engine", "builtin", "--to", "html",
                 "--quiet"], cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    html = (project / "_output" / "review.html").read_text(encoding="utf-8")
    assert "Fixture review of three trials" in html
    assert "<style" in html  # the shipped stylesheet, embedded


def test_installed_package_starts_a_review(installed, tmp_path):
    env_dir, _ = installed
    review = str(env_dir / "bin" / "review")
    done = _run([review, "new", "bcg", "--example"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for command in (["validate"], ["check"]):
        done = _run([review, *command], cwd=tmp_path / "bcg")
        assert done.returncode == 0, done.stdout + done.stderr
    assert "every number follows from the sheets" in done.stdout

