"""Time the living-review commands as an author runs them: `review check`, `review lock`,
`review diff`, `review reconcile`, each as a fresh process on a copy of the bundled review
committed to its own git repository, with the synthetic trial of tests/fixtures/new_trial
added for `check` / `diff` / `lock` (so they have numbers to report). Writes
benchmarks/results/living.md: median and range of wall time, and peak memory of the process.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from trial_fixture import add_trial  # noqa: E402

RUNS = 5
FILES = ("review.qmd", "_quarto.yml", "analysis_plan.yml", "references.bib", "extraction", "numbers.lock", "_version.yml")
REVIEW = str(Path(sys.executable).with_name("review"))
GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.org", "-c", "commit.gpgsign=false"]


def project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in FILES:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(REPO / name, dest / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "bundled"]):
        subprocess.run([*GIT, "-C", str(dest), *args], check=True)
    return dest


def run(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clean = project(Path(tmp) / "clean")
        updated = project(Path(tmp) / "updated")
        add_trial(updated)
        other = Path(tmp) / "reviewer_b"
        shutil.copytree(clean / "extraction", other)
        cases = [
            ("review check (numbers unchanged)", [REVIEW, "check"], clean, 0),
            ("review check (trial added: exits 1 with the table)", [REVIEW, "check"], updated, 1),
            ("review diff HEAD (trial added)", [REVIEW, "diff"], updated, 0),
            ("review diff HEAD --lock", [REVIEW, "diff", "--lock"], updated, 0),
            ("review reconcile (identical folders)", [REVIEW, "reconcile", "extraction", str(other)], clean, 0),
            ("review lock", [REVIEW, "lock"], updated, 0),
        ]
        for label, cmd, cwd, expected in cases:
            walls, mems = [], []
            for _ in range(RUNS):
                wall, mem, code = run(cmd, cwd)
                if code != expected:
                    raise SystemExit(f"{label}: exit {code}, expected {expected}")
                walls.append(wall)
                mems.append(mem)
            rows.append((label, statistics.median(walls), min(walls), max(walls), max(mems)))
    lines = [
        "# Living-review commands",
        "",
        f"Each command run {RUNS} times as a new process (Python start-up and imports included) on a copy "
        "of the bundled review; \"trial added\" is the bundled review plus the synthetic trial of "
        "`tests/fixtures/new_trial`. Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| command | median (s) | min-max (s) | peak memory (MiB) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, med, lo, hi, mem in rows:
        lines.append(f"| `{label.split(' (')[0]}`{' (' + label.split(' (', 1)[1] if ' (' in label else ''} "
                     f"| {med:.2f} | {lo:.2f}-{hi:.2f} | {mem:.0f} |")
    out = REPO / "benchmarks" / "results" / "living.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
