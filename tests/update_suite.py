"""The repository after an author's correct update, and its tests run there.

`updated_copy(dest)` copies the repository's tracked files (the review, its sheets, plan,
bibliography and lock, the toolkit and tests/) to `dest`, adds the trial of
tests/fixtures/new_trial to the live sheets as docs/updating.md says, and runs `review lock`
there. `run_tests(dest, modules)` then runs pytest on those test modules inside the copy:
they must pass, since they read the frozen tests/fixtures/bundled and not the sheets the
author changed.

    python tests/update_suite.py DEST [MODULE ...]    # all test modules when none is named
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SELF = ("test_update_suite.py",)


def tracked(repo: Path = REPO) -> list[str]:
    """The repository's tracked files (as they are in the working tree), or every file when
    it is not a git checkout."""
    proc = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True)
    if proc.returncode == 0 and proc.stdout:
        return [p for p in proc.stdout.decode("utf-8").split("\0") if p and (repo / p).is_file()]
    return [str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file() and ".venv" not in p.parts]


def updated_copy(dest: Path, repo: Path = REPO) -> Path:
    dest = Path(dest)
    for rel in tracked(repo):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, dest / rel)
    sys.path.insert(0, str(HERE))
    from trial_fixture import add_trial

    add_trial(dest)
    env = dict(os.environ, PYTHONPATH=str(dest))
    subprocess.run([sys.executable, "-m", "analysis.cli", "lock", "--root", str(dest)], cwd=dest, env=env,
                   check=True, capture_output=True)
    return dest


def modules(dest: Path) -> list[str]:
    """Every test module of the copy but this check itself."""
    return sorted(f"tests/{p.name}" for p in (dest / "tests").glob("test_*.py") if p.name not in SELF)


def run_tests(dest: Path, names: list[str] | None = None, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(dest))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, *(names or modules(dest))]
    return subprocess.run(cmd, cwd=dest, env=env, capture_output=True, text=True)


if __name__ == "__main__":
    target = Path(sys.argv[1])
    updated_copy(target)
    proc = run_tests(target, sys.argv[2:] or None)
    print(proc.stdout[-4000:], proc.stderr[-2000:])
    sys.exit(proc.returncode)
