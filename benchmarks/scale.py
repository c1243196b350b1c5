"""How the commands grow with the size of a review: a generator of synthetic trials and the scale table.

`generate(dest, studies)` copies the bundled review into `dest` (never into the repository's
own `extraction/`) and appends schema-valid synthetic trials until studies.csv has
`studies` rows: 2 or 3 arms, several of the plan's outcomes in the data forms it accepts
(and some it does not: percent change, p-values only, words, an unplanned time point),
adverse events as counts, as "none" and as not reported, a BibTeX entry for each trial,
and PRISMA totals that equal the number of included studies. The same `studies` and
`seed` give byte-identical sheets.

`python benchmarks/scale.py` times `review validate`, `review check`, `review numbers` and
`review render --force` (all three formats, and HTML with PDF alone) as fresh processes at
15, 100, 1000 and 10,000 studies and writes benchmarks/results/scale.md: CPU seconds (user +
sys of the process and its children), wall seconds, and peak resident memory of the largest
process, with the log-log slope between the last two sizes and each size's wall time against
the first. `--sizes`, `--runs` and `--skip` narrow it;
`python benchmarks/scale.py --generate DIR N` only writes a project.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = ("review.qmd", "_quarto.yml", "analysis_plan.yml", "references.bib", "extraction", "numbers.lock",
         "review_tables.py", "style", "_version.yml")
REVIEW = str(Path(sys.executable).with_name("review"))
SEED = 20251201
SOURCE = "benchmarks/scale.py (synthetic)"
SIZES = (15, 100, 1000, 10000)
COMMANDS = {
    "validate": ["validate"],
    "check": ["check"],
    "numbers": ["numbers", "--json"],
    "render": ["render", "--force", "--quiet"],
    "render_html_pdf": ["render", "--force", "--quiet", "--to", "html,pdf"],
}
LABELS = {"render": "render (HTML, PDF, DOCX)", "render_html_pdf": "render (HTML, PDF)"}

# Outcome codes the plan analyses, with a plausible scale: (unit, scale name, min, max,
# higher is better, typical change SD). Ranges keep post values inside the scale.
SCALES = {
    "BBS": ("points", "Berg Balance Scale", 0, 56, "yes", 4.0),
    "TUG": ("s", "Timed Up and Go", None, None, "no", 5.0),
    "ABC": ("%", "Activities-specific Balance Confidence scale", 0, 100, "yes", 10.0),
    "10MWT_time": ("s", "10-m walk test", None, None, "no", 4.0),
    "10MWT": ("s", "10-m walk test", None, None, "no", 4.0),
    "10MWT_steps": ("steps", "10-m walk test", None, None, "no", 3.0),
    "FMA_LE": ("points", "Fugl-Meyer Assessment, lower extremity", 0, 34, "yes", 3.0),
    "TIS": ("points", "Trunk Impairment Scale", 0, 23, "yes", 2.5),
    "MAS": ("points", "Modified Ashworth Scale", 0, 5, "no", 0.6),
    "BI": ("points", "Barthel Index", 0, 100, "yes", 12.0),
    "MBI": ("points", "Modified Barthel Index", 0, 100, "yes", 12.0),
    "hand_dexterity": ("pegs", "Box and Block Test", 0, 150, "yes", 8.0),
}
# Data forms drawn for a trial's outcome, by weight; the plan takes change, post and
# contrast (post and contrast only for SMD outcomes), the others are reported as such.
FORMS = (("change", 5), ("post", 4), ("contrast", 2), ("percent_change", 1), ("p_value_only", 1),
         ("narrative", 1))
PROTOCOLS = ("LF-rTMS", "HF-rTMS", "iTBS", "cTBS")
PHASES = ("acute", "subacute", "chronic")
EVENTS = ("headache", "dizziness", "discomfort", "fatigue", "nausea")

STUDY_COLS = ("study,label,year,identified,included,scope,design,registration,country,phase,lesion_site,"
              "limb_focus,protocol_family,frequency_hz,intensity,intensity_reference,coil_type,coil_size_mm,"
              "target,sessions,schedule,combined_therapy,control,outcomes_measured,time_points,n_total,"
              "n_analysed_total,source,location,note").split(",")


def _letters(i: int) -> str:
    """0 -> a, 25 -> z, 26 -> ba ...: study keys must be letters then a year."""
    out = ""
    while True:
        out = "abcdefghijklmnopqrstuvwxyz"[i % 26] + out
        i //= 26
        if i == 0:
            return out


def _csv(values) -> str:
    cells = []
    for v in values:
        s = "" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
        cells.append(f'"{s}"' if any(c in s for c in ',"\n') else s)
    return ",".join(cells)


def _trial(i: int, rng: random.Random) -> dict[str, list[str]]:
    key = f"synth{_letters(i)}{2000 + i % 26}"
    year = 2000 + i % 26
    label = f"Synth{_letters(i).capitalize()} {year}"
    if i % 37 == 36:  # a slot of the count whose publication is not known: a row, nothing else
        study = dict(study=f"unidentified{100 + i}", label=f"Unidentified trial {i}", identified="no",
                     included="yes", scope="lower-limb", source=SOURCE, location="studies.csv",
                     note="Synthetic slot: counted, publication not identified.")
        return {"studies": [_csv(study.get(c) for c in STUDY_COLS)]}
    n_active = rng.choice((1, 1, 2))
    arm_names = [f"active{j + 1}" for j in range(n_active)] + ["sham"]
    ns = {a: rng.randint(8, 40) for a in arm_names}
    loc = f"{key}"
    rows: dict[str, list[str]] = {k: [] for k in ("studies", "arms", "outcomes", "adverse_events")}
    for a in arm_names:
        role = "control" if a == "sham" else "active"
        analysed = ns[a] - rng.randint(0, 2)
        rows["arms"].append(_csv((key, a, "Sham" if role == "control" else f"Active {a[-1]}", role,
                                  "sham stimulation" if role == "control" else "cerebellar stimulation",
                                  ns[a], max(analysed, 1), SOURCE, loc, "Synthetic.")))
    codes = rng.sample(sorted(SCALES), rng.randint(2, 5))
    for code in codes:
        unit, scale, lo, hi, hib, sd = SCALES[code]
        form = rng.choices([f for f, _ in FORMS], [w for _, w in FORMS])[0]
        # Most trials report at the end of treatment ("post"); some only at an unplanned time.
        tp = "post" if rng.random() < 0.9 else "week 12"
        base = dict(unit=unit, scale=scale, lo=lo, hi=hi, hib=hib)
        if form == "contrast":
            measure = "SMD" if code in ("BI", "MBI", "hand_dexterity") else "MD"
            est = rng.gauss(0.4, 0.3) if measure == "SMD" else rng.gauss(sd / 2, sd / 3)
            se = abs(rng.gauss(0.3, 0.05)) + 0.05 if measure == "SMD" else sd / 3
            rows["outcomes"].append(_outcome(key, "active1", "sham", code, tp, "contrast", None, None, None,
                                             measure, est, est - 1.96 * se, est + 1.96 * se, None, base))
            continue
        for a in arm_names:
            effect = (1 if hib == "yes" else -1) * (sd * 0.5 if a != "sham" else sd * 0.2)
            if form in ("change", "percent_change"):
                mean = effect + rng.gauss(0, sd / 4) if form == "change" else rng.gauss(15, 10)
                if lo is not None and form == "change":
                    mean = max(min(mean, hi - lo), lo - hi)
                rows["outcomes"].append(_outcome(key, a, "", code, tp, form, mean,
                                                 sd * rng.uniform(0.7, 1.3), ns[a], None, None, None, None,
                                                 None, dict(base, unit="%" if form == "percent_change" else unit)))
            elif form == "post":
                centre = ((lo + hi) / 2 if lo is not None else 20.0) + effect
                mean = centre if lo is None else max(lo, min(hi, centre))
                rows["outcomes"].append(_outcome(key, a, "", code, tp, form, mean, sd * rng.uniform(1.5, 2.5),
                                                 ns[a], None, None, None, None, None, base))
            else:  # p-values or words only: no numbers, a note says what the source gives
                rows["outcomes"].append(_outcome(key, a, "", code, tp, form, None, None, None, None, None,
                                                 None, None, rng.choice((0.01, 0.04, 0.3))
                                                 if form == "p_value_only" else None, base,
                                                 note="Synthetic: the source gives only a test result."))
    for a in arm_names:
        kind = rng.random()
        if kind < 0.15:
            rows["adverse_events"].append(_csv((key, a, "any", None, None, None, "not_reported", SOURCE, loc,
                                                "Synthetic.")))
        elif kind < 0.45:
            rows["adverse_events"].append(_csv((key, a, "any", 0, ns[a], None, "reported_none", SOURCE, loc,
                                                "Synthetic.")))
        else:
            for ev in rng.sample(EVENTS, rng.randint(1, 3)):
                rows["adverse_events"].append(_csv((key, a, ev, rng.randint(0, max(1, ns[a] // 5)), ns[a], "mild",
                                                    "reported", SOURCE, loc, "Synthetic.")))
    # Some trials are cited for safety only (not included in the efficacy question).
    included = "no" if i % 29 == 28 else "yes"
    study = dict(study=key, label=label, year=year, identified="yes", included=included, scope="lower-limb",
                 design="rct", phase=rng.choice(PHASES), limb_focus="lower",
                 protocol_family=rng.choice(PROTOCOLS), coil_type="figure-eight", target="cerebellum",
                 sessions=rng.randint(5, 20), control="sham", outcomes_measured=";".join(codes),
                 time_points="before; post", n_total=sum(ns.values()), source=SOURCE, location=loc,
                 note="Synthetic trial for the scale benchmark; not a real study.")
    rows["studies"].append(_csv(study.get(c) for c in STUDY_COLS))
    rows["bib"] = [f"\n@article{{{key},\n  author = {{Synthetic, A.}},\n  title = {{Synthetic trial {i}}},\n"
                   f"  journal = {{Benchmarks}},\n  year = {{{year}}},\n  keywords = {{included}},\n}}\n"]
    return rows


def _outcome(study, arm, comparator, code, tp, form, mean, sd, n, measure, contrast, lb, ub, p, base,
             note="Synthetic.") -> str:
    return _csv((study, arm, comparator, code, tp, form, mean, sd, n, measure, contrast, lb, ub, None, p,
                 base["unit"], base["scale"], base["lo"], base["hi"], base["hib"], SOURCE, study, note))


def generate(dest: Path, studies: int, seed: int = SEED, base: Path = REPO) -> Path:
    """The project at `base` (the bundled review) copied to `dest` with synthetic trials until
    studies.csv has `studies` rows."""
    dest, base = Path(dest), Path(base)
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        src = base / name
        if src.exists():
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    for csl in base.glob("*.csl"):
        shutil.copy2(csl, dest / csl.name)
    ext = dest / "extraction"
    have = len((ext / "studies.csv").read_text(encoding="utf-8").splitlines()) - 1
    rng = random.Random(seed)
    added: dict[str, list[str]] = {k: [] for k in ("studies", "arms", "outcomes", "adverse_events", "bib")}
    for i in range(max(0, studies - have)):
        for k, v in _trial(i, rng).items():
            added[k] += v
    for sheet in ("studies", "arms", "outcomes", "adverse_events"):
        path = ext / f"{sheet}.csv"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.rstrip("\n") + "\n" + "".join(r + "\n" for r in added[sheet]), encoding="utf-8")
    with open(dest / "references.bib", "a", encoding="utf-8") as bib:
        bib.write("".join(added["bib"]))
    _prisma(ext / "prisma.csv")
    return dest


def _prisma(path: Path) -> None:
    """Studies included (new and total) equal the rows of studies.csv with included = yes."""
    import csv
    import io

    studies = list(csv.DictReader(io.StringIO((path.parent / "studies.csv").read_text(encoding="utf-8"))))
    included = sum(1 for s in studies if s["included"] == "yes")
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    rows = list(reader)
    for r in rows:
        if r["data"] in ("new_studies", "total_studies"):
            r.update(n=str(included), status="reported", source=SOURCE, location="prisma.csv",
                     note="The published review's count plus the synthetic trials.")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


# --- timing -----------------------------------------------------------------------------

def run(cmd: list[str], cwd: Path) -> tuple[float, float, float, int]:
    """CPU seconds (user + sys, with waited-for children), wall seconds, peak RSS in MiB, exit code."""
    # stderr to a file, not a pipe: a thousand warnings would fill a pipe nobody reads during wait4
    with tempfile.TemporaryFile() as err_file:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err_file)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        err_file.seek(0)
        err = err_file.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0,) and cmd[1] != "check":
        raise SystemExit(f"{' '.join(cmd[1:])} in {cwd} exited {code}: {err.strip()[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, code


def slope(x1, y1, x2, y2) -> float:
    return math.log(y2 / y1) / math.log(x2 / x1)


def measure(sizes, runs, skip, tmp: Path) -> dict:
    results = {}
    for n in sizes:
        root = generate(tmp / f"n{n}", n)
        subprocess.run([REVIEW, "lock"], cwd=root, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for name, args in COMMANDS.items():
            if name in skip or (name.startswith("render") and n > 1000):
                continue
            # One render: forced renders at these sizes take minutes each.
            reps = 1 if name.startswith("render") and n >= 1000 else runs
            samples = [run([REVIEW, *args], root) for _ in range(reps)]
            results[(n, name)] = (statistics.median(s[0] for s in samples),
                                  statistics.median(s[1] for s in samples), max(s[2] for s in samples), reps)
            print(n, name, results[(n, name)], file=sys.stderr, flush=True)
        shutil.rmtree(root)
    return results


def table(results: dict, sizes, runs) -> str:
    names = [c for c in COMMANDS if any((n, c) in results for n in sizes)]
    lines = ["# Scale", "",
             f"The bundled review plus synthetic trials from `benchmarks/scale.py` (seed {SEED}); each command "
             f"a fresh process, median of {runs} runs" + (" (one forced render at 1000 studies; none at 10,000). "
                                                         if max(sizes) >= 1000 else ". ") +
             "CPU seconds are user + sys of the process and its children; memory is the peak resident "
             "set of the largest single process (the command, the Jupyter kernel or pandoc). "
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
             "",
             "| studies | " + " | ".join(f"{LABELS.get(c, c)} CPU s (wall s)" for c in names) + " | peak MiB (" +
             ", ".join(LABELS.get(c, c) for c in names) + ") |",
             "| ---: | " + " | ".join("---:" for _ in names) + " | ---: |"]
    for n in sizes:
        cells, mems = [], []
        for c in names:
            r = results.get((n, c))
            cells.append(f"{r[0]:.2f} ({r[1]:.2f})" if r else "not run")
            mems.append(f"{r[2]:.0f}" if r else "-")
        lines.append(f"| {n:,} | " + " | ".join(cells) + " | " + ", ".join(mems) + " |")
    big = [n for n in sizes if all((n, c) in results for c in ("check", "numbers"))][-2:]
    if len(big) == 2:
        a, b = big
        parts = [f"{LABELS.get(c, c)} {slope(a, results[(a, c)][0], b, results[(b, c)][0]):.2f}"
                 for c in names if (a, c) in results and (b, c) in results]
        lines += ["", f"Log-log slope of CPU time from {a:,} to {b:,} studies (1 is linear): " +
                  ", ".join(parts) + "."]
    base = sizes[0]
    ratios = [f"{n:,} studies: " + ", ".join(f"{LABELS.get(c, c)} {results[(n, c)][1] / results[(base, c)][1]:.2f}"
                                             for c in names if (n, c) in results and (base, c) in results)
              for n in sizes[1:] if any((n, c) in results for c in names)]
    if ratios:
        lines += ["", f"Wall time against {base:,} studies: " + "; ".join(ratios) + "."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip", nargs="*", default=[], choices=list(COMMANDS))
    ap.add_argument("--generate", nargs=2, metavar=("DIR", "N"), help="only write a project of N studies to DIR")
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/scale.md"))
    args = ap.parse_args(argv)
    if args.generate:
        generate(Path(args.generate[0]), int(args.generate[1]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(args.sizes, args.runs, set(args.skip), Path(tmp))
    text = table(results, args.sizes, args.runs)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
