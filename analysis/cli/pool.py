"""`review pool FILE.csv`: meta-analyse any CSV that uses metafor's column names.

Columns: m1i, sd1i, n1i, m2i, sd2i, n2i (MD, SMD); ai, bi, ci, di or ai, n1i, ci, n2i
(RR, OR, RD, and --mh / --peto); yi with vi or sei (GEN); optional `study` for labels.
Group 1 is the experimental arm. Every cell is checked before anything is computed, and
the first problem is reported as FILE:LINE:COLUMN (line 1 is the header).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ..errors import InputError, StatsError

MEASURES = ("SMD", "MD", "RR", "OR", "RD", "GEN")
METHODS = ("REML", "DL", "ML", "HE", "FE")
CONTINUOUS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")


def add_arguments(parser) -> None:
    parser.add_argument("file", help="CSV file with metafor's column names")
    parser.add_argument("--measure", type=str.upper, choices=MEASURES,
                        help="effect measure (default: SMD for means, OR for counts, GEN for yi/vi)")
    parser.add_argument("--method", type=str.upper, choices=METHODS, default="REML",
                        help="tau^2 estimator, or FE for a common-effect model (default REML)")
    parser.add_argument("--hk", action="store_true",
                        help="Hartung-Knapp adjustment (t with k-1 df); off unless given")
    parser.add_argument("--mh", action="store_true", help="Mantel-Haenszel pooling of 2x2 tables")
    parser.add_argument("--peto", action="store_true", help="Peto odds ratio pooling of 2x2 tables")
    parser.add_argument("--level", type=float, default=95.0, help="confidence level in percent")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


# ------------------------------------------------------------------ reading


def read_table(path) -> tuple[list[str], list[dict], list[int]]:
    """Header, rows (dicts of stripped strings) and their file line numbers."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                raise InputError(f"{path}: file is empty (no header row)") from None
            header = [h.strip() for h in header]
            rows, lines = [], []
            for rec in reader:
                if not any(c.strip() for c in rec):
                    continue
                if len(rec) != len(header):
                    raise InputError(f"{path}:{reader.line_num}: row has {len(rec)} fields, "
                                     f"header has {len(header)}")
                rows.append({h: c.strip() for h, c in zip(header, rec)})
                lines.append(reader.line_num)
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(f"{path}:1:{dupes[0]}: column appears more than once")
    if not rows:
        raise InputError(f"{path}: no data rows")
    return header, rows, lines


def _infer_measure(path, header, mh_or_peto):
    cols = set(header)
    if {"ai", "ci"} <= cols:
        return "OR"
    if mh_or_peto:
        raise InputError(f"{path}: --mh and --peto need 2x2 counts (columns ai, bi or n1i, "
                         "ci, di or n2i)")
    if set(CONTINUOUS) <= cols and not mh_or_peto:
        return "SMD"
    if "yi" in cols and not mh_or_peto:
        return "GEN"
    raise InputError(f"{path}: cannot tell the measure from the columns; give --measure and the "
                     "columns it needs (see `review pool --help`)")


def _column(path, rows, lines, col, *, kind="real", optional=False):
    """One numeric column; kind: real, positive, nonneg, count (non-negative integer)."""
    out = np.empty(len(rows))
    for i, (row, line) in enumerate(zip(rows, lines)):
        raw = row.get(col, "")
        where = f"{path}:{line}:{col}"
        if raw == "":
            if optional:
                out[i] = math.nan
                continue
            raise InputError(f"{where}: missing value")
        try:
            x = float(raw)
        except ValueError:
            raise InputError(f"{where}: not a number ({raw})") from None
        if not math.isfinite(x):
            raise InputError(f"{where}: not a finite number ({raw})")
        if kind == "positive" and x <= 0:
            raise InputError(f"{where}: must be > 0 ({raw})")
        if kind in ("nonneg", "count") and x < 0:
            raise InputError(f"{where}: must not be negative ({raw})")
        if kind == "count" and x != int(x):
            raise InputError(f"{where}: must be a whole number ({raw})")
        out[i] = x
    return out


def _require(path, header, needed, why):
    for col in needed:
        if col not in header:
            raise InputError(f"{path}:1:{col}: column missing, needed for {why}")


def load_inputs(path, measure, binary_pooling=False):
    """Columns for `measure` from the CSV, validated; returns (kind, data dict, labels)."""
    header, rows, lines = read_table(path)
    measure = measure or _infer_measure(path, header, binary_pooling)
    if "study" in header:
        labels = []
        for row, line in zip(rows, lines):
            if row["study"] == "":
                raise InputError(f"{path}:{line}:study: missing value")
            labels.append(row["study"])
    else:
        labels = [f"Study {i + 1}" for i in range(len(rows))]

    if measure in ("MD", "SMD"):
        _require(path, header, CONTINUOUS, f"measure {measure}")
        data = {}
        for col in CONTINUOUS:
            kind = "positive" if col.startswith("n") else "nonneg" if col.startswith("sd") else "real"
            data[col] = _column(path, rows, lines, col, kind=kind)
        for j, line in enumerate(lines):
            # Hedges' g needs degrees of freedom, and any effect of means a non-zero spread
            if measure == "SMD" and data["n1i"][j] + data["n2i"][j] <= 2:
                raise InputError(f"{path}:{line}:n1i: n1i + n2i must exceed 2 for SMD "
                                 f"({data['n1i'][j]:g} + {data['n2i'][j]:g})")
            if data["sd1i"][j] == 0 and data["sd2i"][j] == 0:
                raise InputError(f"{path}:{line}:sd1i: sd1i and sd2i are both 0, so the effect has no variance")
        return measure, data, labels

    if measure == "GEN":
        if "vi" in header:
            _require(path, header, ["yi"], "measure GEN")
            return measure, {"yi": _column(path, rows, lines, "yi"),
                             "vi": _column(path, rows, lines, "vi", kind="positive")}, labels
        _require(path, header, ["yi", "sei"], "measure GEN (yi with vi or sei)")
        return measure, {"yi": _column(path, rows, lines, "yi"),
                         "sei": _column(path, rows, lines, "sei", kind="positive")}, labels

    # 2x2 tables
    _require(path, header, ["ai", "ci"], f"measure {measure}")
    ai = _column(path, rows, lines, "ai", kind="count")
    ci = _column(path, rows, lines, "ci", kind="count")
    arms = {}
    for ev, ev_name, non, n in ((ai, "ai", "bi", "n1i"), (ci, "ci", "di", "n2i")):
        if non in header:
            arms[non] = _column(path, rows, lines, non, kind="count")
        elif n in header:
            total = _column(path, rows, lines, n, kind="count")
            for j, line in enumerate(lines):
                if ev[j] > total[j]:
                    raise InputError(f"{path}:{line}:{ev_name}: more events than {n} "
                                     f"({ev[j]:g} > {total[j]:g})")
            arms[non] = total - ev
        else:
            raise InputError(f"{path}:1:{non}: column missing, needed for measure {measure} "
                             f"(or give {n})")
    return measure, {"ai": ai, "bi": arms["bi"], "ci": ci, "di": arms["di"]}, labels


# ------------------------------------------------------------------ running


def _binary_dict(res, measure):
    def num(x):
        x = float(x)
        return x if math.isfinite(x) else None

    weights = getattr(res, "weights", None)
    if weights is None:
        weights = (getattr(res, "extra", {}) or {}).get("weights")
    w = [None] * len(res.labels) if weights is None else [num(x) for x in weights]
    return {
        "k": res.k, "measure": measure, "method": res.method, "test": "z", "level": res.level,
        "estimate": num(res.estimate), "se": num(res.se), "ci_lb": num(res.ci_lb),
        "ci_ub": num(res.ci_ub), "zval": num(res.zval), "pval": num(res.pval),
        "tau2": None, "tau2_ci_lb": None, "tau2_ci_ub": None, "tau": None,
        "i2": num(res.i2), "i2_ci_lb": None, "i2_ci_ub": None, "h2": num(res.h2),
        "q": num(res.q), "q_df": int(res.q_df), "q_pval": num(res.q_pval),
        "pi_lb": None, "pi_ub": None, "correction": res.correction,
        "studies": [{"study": lab, "yi": num(y), "vi": num(v), "weight": wt}
                    for lab, y, v, wt in zip(res.labels, res.yi, res.vi, w)],
    }


def pool_file(path, *, measure=None, method="REML", hk=False, mh=False, peto=False,
              level=95.0) -> dict:
    """Everything `review pool` computes for one CSV, as the --json object."""
    if mh and peto:
        raise InputError("choose one of --mh and --peto")
    if (mh or peto) and hk:
        raise InputError("--hk applies to inverse-variance pooling, not to --mh or --peto")
    if not (0 < level < 100):
        raise InputError(f"--level must be between 0 and 100, got {level:g}")
    if peto and measure not in (None, "OR"):
        raise InputError(f"--peto pools odds ratios; --measure {measure} does not apply")
    if mh and measure not in (None, "OR", "RR", "RD"):
        raise InputError(f"--mh needs --measure OR, RR or RD, not {measure}")
    measure, data, labels = load_inputs(path, measure, binary_pooling=mh or peto)
    if (mh or peto) and measure not in ("OR", "RR", "RD"):
        raise InputError("--mh and --peto need 2x2 counts (ai, bi, ci, di)")

    if mh or peto:
        try:
            from ..stats import binary
        except ImportError:
            raise StatsError("Mantel-Haenszel and Peto pooling (analysis.stats.binary) are not "
                             "available in this version") from None
        if mh:
            res = binary.mantel_haenszel(data["ai"], data["bi"], data["ci"], data["di"],
                                         measure=measure, level=level, labels=labels)
            return _binary_dict(res, measure)
        res = binary.peto(data["ai"], data["bi"], data["ci"], data["di"], level=level,
                          labels=labels)
        return _binary_dict(res, "OR")

    from ..stats.effects import escalc
    from ..stats.pooling import rma

    es = escalc(measure, labels=labels, **data)
    bad = [j for j, (y, v) in enumerate(zip(es.yi, es.vi)) if not (np.isfinite(y) and np.isfinite(v))]
    if bad:
        lines = read_table(path)[2]
        raise StatsError(f"{path}:{lines[bad[0]]}: effect size ({measure}) cannot be computed for "
                         f"{labels[bad[0]]}" + (f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""))
    res = rma(es.yi, es.vi, method=method, hk=hk, level=level, labels=labels, measure=measure)
    out = res.to_dict()
    out["correction"] = es.correction
    return out


def _fmt(x, digits=4):
    return "NA" if x is None else f"{x:.{digits}f}"


def format_summary(d: dict) -> str:
    """A readable summary of the --json object."""
    ratio = d["measure"] in ("RR", "OR")
    scale = f" (log {d['measure']})" if ratio else f" ({d['measure']})"
    lines = [f"{d['method']} meta-analysis of {d['k']} studies{scale}, "
             f"{'t' if d['test'] == 't' else 'z'} test, {d['level']:g}% CI"]
    width = max([len(s["study"]) for s in d["studies"]] + [5])
    lines.append(f"{'study':<{width}}  {'yi':>9}  {'vi':>9}  {'weight %':>8}")
    for s in d["studies"]:
        wt = "NA" if s["weight"] is None else f"{s['weight']:.2f}"
        lines.append(f"{s['study']:<{width}}  {_fmt(s['yi']):>9}  {_fmt(s['vi']):>9}  {wt:>8}")
    lines.append("")
    stat = (f"t({d['df']:g}) = {_fmt(d['tval'], 3)}" if d["test"] == "t"
            else f"z = {_fmt(d['zval'], 3)}")
    lines.append(f"estimate {_fmt(d['estimate'])}  SE {_fmt(d['se'])}  "
                 f"CI [{_fmt(d['ci_lb'])}, {_fmt(d['ci_ub'])}]  {stat}  p = {d['pval']:.4g}")
    if ratio:
        lines.append(f"{d['measure']} {math.exp(d['estimate']):.4f}  "
                     f"CI [{math.exp(d['ci_lb']):.4f}, {math.exp(d['ci_ub']):.4f}]")
    over = ">" if d.get("tau2_ci_ub_capped") else ""  # bounds at the search limit, as metafor marks them
    if d.get("tau2") is not None and d["method"] != "FE":
        lines.append(f"tau^2 {_fmt(d['tau2'])} [{_fmt(d['tau2_ci_lb'])}, {over}{_fmt(d['tau2_ci_ub'])}]  "
                     f"tau {_fmt(d['tau'])}")
    if d.get("pi_lb") is not None:
        lines.append(f"prediction interval [{_fmt(d['pi_lb'])}, {_fmt(d['pi_ub'])}]")
    if d.get("q") is not None:
        i2 = _fmt(d["i2"], 1)
        i2ci = (f" [{_fmt(d['i2_ci_lb'], 1)}, {over}{_fmt(d['i2_ci_ub'], 1)}]"
                if d.get("i2_ci_lb") is not None else "")
        lines.append(f"Q({d['q_df']}) = {_fmt(d['q'], 2)}, p = {d['q_pval']:.4g}  "
                     f"I^2 {i2}%{i2ci}  H^2 {_fmt(d['h2'], 2)}")
    if d.get("correction"):
        lines.append(f"zero cells: {d['correction']}")
    return "\n".join(lines)


def run(args) -> int:
    d = pool_file(args.file, measure=args.measure, method=args.method, hk=args.hk,
                  mh=args.mh, peto=args.peto, level=args.level)
    if args.json:
        print(json.dumps(d, indent=2, allow_nan=False))
    else:
        print(format_summary(d))
    return 0
