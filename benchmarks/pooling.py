"""Benchmark `analysis.stats.pooling.rma` (REML, DL) against metafor on the same simulated data.

    .venv/bin/python benchmarks/pooling.py [--reps 7] [--no-r] [--sizes 100 1000 ...]

It also times `review pool` as a user runs it, a new process each time: `--help`, and a
pool of 5 studies from a CSV (all the imports included), median of 15 runs, wall clock
and CPU (user + system) time, since on a shared machine the wall clock includes waiting.

Data: k studies with vi ~ U(0.01, 0.2) and yi ~ N(0.3, vi + 0.05), numpy seed 20251125.
The Python time is the median of `--reps` calls of `rma()` after one warm-up call (so
imports are excluded); each call computes everything in PoolResult, including the
Q-profile CI of tau^2 and the prediction interval. When Rscript with metafor is found,
the same data (written to CSV at full precision) go through `metafor::rma()` in one R
process, timed inside R (R start-up excluded) with the same repetitions and a warm-up.
metafor's `rma()` alone does less than `rma()` here (no `confint()`), so the ratio is
conservative. metafor's rma.uni builds k x k weight and projection matrices, and for
REML multiplies two of them each Fisher-scoring step (order k^3), so metafor is run only
where that stays within a time budget; the cells it skips say why.

Writes benchmarks/results/pooling.md and benchmarks/results/pooling.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.stats import pooling  # noqa: E402

SEED = 20251125
SIZES = (100, 1_000, 10_000, 100_000)
METHODS = ("REML", "DL")
# Largest k at which metafor is timed, per method, and how many repetitions there.
# REML at k = 3,000 already takes about 77 s per fit on the reference machine (k^3
# matrix product per step), so k = 10,000 would take roughly 48 min per fit; DL at
# k = 10,000 takes about 23 s and is run once. At k = 100,000 one k x k double matrix
# is 80 GB.
R_LIMITS = {"REML": 1_000, "DL": 10_000}
R_REPS_CAP = {10_000: 1}
R_SKIP_REASON = {
    ("REML", 10_000): "not run: REML Fisher scoring multiplies k x k matrices (order k^3), "
                      "about 48 min per fit by k^3 from 77 s measured at k = 3,000",
    ("REML", 100_000): "not run: one k x k matrix is 80 GB",
    ("DL", 100_000): "not run: one k x k matrix is 80 GB",
}

R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
jobs <- read.csv(args[1], stringsAsFactors = FALSE)
out <- list()
for (j in seq_len(nrow(jobs))) {
  d <- read.csv(jobs$file[j])
  m <- jobs$method[j]
  t0 <- proc.time()[["elapsed"]]
  invisible(rma(d$yi, d$vi, method = m))  # warm-up
  t_warm <- proc.time()[["elapsed"]] - t0
  # proc.time() ticks in milliseconds: a fast fit is repeated until a batch lasts
  # about 0.1 s and the batch time is divided by its size.
  inner <- if (t_warm < 0.05) ceiling(0.1 / max(t_warm, 0.0005)) else 1
  times <- numeric(jobs$reps[j])
  for (r in seq_len(jobs$reps[j])) {
    t0 <- proc.time()[["elapsed"]]
    for (i in seq_len(inner)) fit <- rma(d$yi, d$vi, method = m)
    times[r] <- (proc.time()[["elapsed"]] - t0) / inner
  }
  out[[j]] <- list(k = jobs$k[j], method = m, reps = jobs$reps[j],
                   median_s = median(times), times_s = times,
                   estimate = as.numeric(fit$beta), tau2 = fit$tau2)
}
cat(jsonlite::toJSON(list(metafor = as.character(packageVersion("metafor")),
                          R = paste(R.version$major, R.version$minor, sep = "."),
                          runs = out), auto_unbox = TRUE, digits = NA))
"""


def simulate(k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED + k)
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    return yi, vi


def time_python(yi, vi, method: str, reps: int) -> tuple[float, list[float], pooling.PoolResult]:
    t0 = time.perf_counter()
    res = pooling.rma(yi, vi, method=method)  # warm-up
    t_warm = time.perf_counter() - t0
    # Same batching as the R side, so both medians are per-fit times of equal resolution.
    inner = max(1, int(np.ceil(0.1 / max(t_warm, 5e-4)))) if t_warm < 0.05 else 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            res = pooling.rma(yi, vi, method=method)
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times), times, res


def breakdown(yi, vi, reps: int) -> dict:
    """Median seconds of the parts of a REML fit, to show where time goes."""
    X = np.ones((yi.size, 1))
    yc = yi - yi.mean()
    parts = {
        "HE start + metafor's Fisher scoring": lambda: pooling.fisher_scoring(
            yc, vi, X, pooling.he_tau2(yi, vi, X), "REML"),
        "search for the optimum (early-stop check)": lambda: pooling.tau2_optimum(
            yc, vi, X, "REML", 0.05),
        "WLS estimate": lambda: pooling.wls_fixed_effects(yi, vi, X, 0.05),
        "Q-profile CI of tau^2": lambda: pooling.tau2_qprofile_ci(yi, vi, X, 0.05),
        "validation, Q, I^2, weights": lambda: (pooling.validate_inputs(yi, vi),
                                                pooling.heterogeneity(yi, vi, X, "REML")),
    }
    parts["whole rma()"] = lambda: pooling.rma(yi, vi, method="REML")
    # Interleaved, one round of every part per repetition, so load from other processes
    # falls on all parts alike and the parts stay comparable with the whole.
    times = {name: [] for name in parts}
    for name, fn in parts.items():
        fn()
    for _ in range(max(reps, 9)):
        for name, fn in parts.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def startup(reps: int = 15) -> dict:
    """Wall-clock and CPU seconds (medians) of `review pool` in a fresh process."""
    import resource

    review = Path(sys.executable).with_name("review")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "small.csv"
        yi, vi = simulate(5)
        csv_path.write_text("yi,vi\n" + "".join(f"{y:.17g},{v:.17g}\n" for y, v in zip(yi, vi)))
        cases = {"python -c pass": [sys.executable, "-c", "pass"],
                 "review pool --help": [str(review), "pool", "--help"],
                 "review pool small.csv (k = 5)": [str(review), "pool", str(csv_path)],
                 "review pool small.csv --json --bias --influence": [
                     str(review), "pool", str(csv_path), "--json", "--bias", "--influence"]}
        out = {}
        for name, cmd in cases.items():
            subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
            wall, cpu = [], []
            for _ in range(reps):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                subprocess.run(cmd, capture_output=True, check=True)
                wall.append(time.perf_counter() - t0)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            out[name] = {"wall_s": statistics.median(wall), "cpu_s": statistics.median(cpu),
                         "wall_min_s": min(wall)}
    return out


def run_metafor(data: dict, reps: int) -> dict | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    check = subprocess.run([rscript, "-e", "cat(requireNamespace('metafor', quietly=TRUE) && "
                            "requireNamespace('jsonlite', quietly=TRUE))"],
                           capture_output=True, text=True)
    if check.stdout.strip() != "TRUE":
        return None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = ["file,k,method,reps"]
        for k, (yi, vi) in data.items():
            path = tmp / f"k{k}.csv"
            np.savetxt(path, np.column_stack([yi, vi]), delimiter=",", header="yi,vi",
                       comments="", fmt="%.17g")
            for method in METHODS:
                if k <= R_LIMITS[method]:
                    rows.append(f"{path},{k},{method},{R_REPS_CAP.get(k, reps)}")
        jobs = tmp / "jobs.csv"
        jobs.write_text("\n".join(rows) + "\n")
        script = tmp / "bench.R"
        script.write_text(R_SCRIPT)
        proc = subprocess.run([rscript, str(script), str(jobs)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"metafor benchmark failed: {proc.stderr.strip()}")
        return json.loads(proc.stdout)


def peak_mib(yi, vi, method: str) -> float:
    """Peak Python-side allocation of one fit (numpy arrays included), in MiB."""
    import tracemalloc

    tracemalloc.start()
    try:
        pooling.rma(yi, vi, method=method)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def fmt_ms(s: float | None) -> str:
    if s is None:
        return "-"
    ms = s * 1000
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def fmt_py(row) -> str:
    ts = row["python_times_s"]
    return f"{fmt_ms(row['python_median_s'])} ({fmt_ms(min(ts))}-{fmt_ms(max(ts))})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--no-r", action="store_true", help="skip metafor")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)

    data = {k: simulate(k) for k in args.sizes}
    py = {}
    for k, (yi, vi) in data.items():
        for method in METHODS:
            med, times, res = time_python(yi, vi, method, args.reps)
            py[(k, method)] = {"median_s": med, "times_s": times, "estimate": res.estimate,
                               "tau2": res.tau2}
    memory = {(k, method): peak_mib(*data[k], method) for k in args.sizes for method in METHODS}
    big = max(args.sizes)
    parts = breakdown(*data[big], args.reps)  # before R, so R's memory churn is not in it
    starts = startup()
    r = None if args.no_r else run_metafor(data, args.reps)
    r_runs = {(run["k"], run["method"]): run for run in (r or {}).get("runs", [])}

    import scipy

    rows = []
    for k in args.sizes:
        for method in METHODS:
            p = py[(k, method)]
            m = r_runs.get((k, method))
            row = {"k": k, "method": method, "python_median_s": p["median_s"],
                   "python_times_s": p["times_s"], "python_estimate": p["estimate"],
                   "python_tau2": p["tau2"]}
            if m:
                row.update(metafor_median_s=m["median_s"], metafor_times_s=m["times_s"],
                           metafor_reps=m["reps"], metafor_estimate=m["estimate"],
                           metafor_tau2=m["tau2"],
                           speedup=m["median_s"] / p["median_s"] if p["median_s"] > 0 else None,
                           abs_diff_estimate=abs(m["estimate"] - p["estimate"]),
                           abs_diff_tau2=abs(m["tau2"] - p["tau2"]))
            else:
                row["metafor_note"] = (("not run (--no-r)" if args.no_r else "metafor not available") if r is None else
                                       R_SKIP_REASON.get((method, k), "not run"))
            rows.append(row)

    meta = {"seed": SEED, "reps": args.reps, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "startup_s": starts,
            "metafor": (r or {}).get("metafor"), "R": (r or {}).get("R"),
            "machine": f"{platform.machine()}, {platform.system()}",
            "breakdown_k": big, "breakdown_reml_s": parts,
            "peak_mib": {f"{k}:{m}": v for (k, m), v in memory.items()}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pooling.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")

    lines = [
        "# Pooling benchmark: `analysis.stats.pooling.rma` vs metafor `rma()`",
        "",
        f"Simulated data, numpy seed {SEED}; median of {args.reps} runs after a warm-up "
        "(metafor at k = 10,000: one run). Python {python}, numpy {numpy}, scipy {scipy}; "
        "R {R}, metafor {metafor}. Times in milliseconds per fit (Python: median, then min-max "
        "of the runs; the machine's 2 cores were shared with other work, so the spread is "
        "shown). Python's `rma()` also computes the Q-profile CI of tau^2 and the "
        "prediction interval, which metafor's `rma()` does not.".format(**meta),
        "",
        "| k | method | Python ms | metafor ms | speed-up | abs. diff. estimate | abs. diff. tau^2 |",
        "|---:|:---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if "metafor_median_s" in row:
            lines.append(
                f"| {row['k']:,} | {row['method']} | {fmt_py(row)} | "
                f"{fmt_ms(row['metafor_median_s'])} | {row['speedup']:,.1f}x | "
                f"{row['abs_diff_estimate']:.1e} | {row['abs_diff_tau2']:.1e} |")
        else:
            lines.append(f"| {row['k']:,} | {row['method']} | {fmt_py(row)} | "
                         f"{row['metafor_note']} | | | |")
    lines += ["", f"Where the time goes in one REML fit at k = {big:,} (median ms per part):", "",
              "| part | ms |", "|:---|---:|"]
    lines += [f"| {name} | {fmt_ms(s)} |" for name, s in parts.items()]
    lines += ["", "Start-up: `review pool` in a new process, all imports included (median of 15 "
              "runs; CPU = user + system time; wall clock includes waiting for the shared cores):",
              "", "| command | wall s | CPU s | fastest wall s |", "|:---|---:|---:|---:|"]
    lines += [f"| `{name}` | {t['wall_s']:.2f} | {t['cpu_s']:.2f} | {t['wall_min_s']:.2f} |"
              for name, t in starts.items()]
    lines += ["", "Peak memory of one Python fit (tracemalloc, numpy arrays included; MiB):", "",
              "| k | " + " | ".join(METHODS) + " |", "|---:|" + "---:|" * len(METHODS)]
    lines += [f"| {k:,} | " + " | ".join(f"{memory[(k, m)]:.2f}" for m in METHODS) + " |" for k in args.sizes]
    (args.out / "pooling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
