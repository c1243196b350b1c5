"""`review pool FILE.csv`: meta-analyse any CSV that uses metafor's column names.

Columns: m1i, sd1i, n1i, m2i, sd2i, n2i (MD, SMD); ai, bi, ci, di or ai, n1i, ci, n2i
(RR, OR, RD, and --mh / --peto); yi with vi or sei (GEN); optional `study` for labels,
and any other columns that --subgroup, --mods and --cumulative name. Group 1 is the
experimental arm. Every cell is checked before anything is computed, and the first
problem is reported as FILE:LINE:COLUMN (line 1 is the header).

Beyond the pooled fit: subgroups (--subgroup), meta-regression (--mods), leave-one-out
(--influence), cumulative pooling (--cumulative), Egger's test and trim-and-fill
(--bias). In the --json object each sits under the name of the metafor function that
computes it (leave1out, cumul, regtest, trimfill; "subgroups" and "metareg", which is
metafor's rma with mods, have none), its quantities under metafor's names, lower-cased
and with "_" for ".".
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

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
    parser.add_argument("--tau2-convergence", choices=("metafor", "optimum"), default="metafor",
                        help="ML/REML tau^2: where metafor's Fisher scoring stops (default) or "
                             "the maximum of the likelihood")
    parser.add_argument("--subgroup", metavar="COLUMN",
                        help="pool within each value of COLUMN and test the differences")
    parser.add_argument("--mods", metavar="COL[,COL]",
                        help="meta-regression on these numeric columns")
    parser.add_argument("--influence", action="store_true",
                        help="leave-one-out analysis (metafor leave1out)")
    parser.add_argument("--cumulative", metavar="ORDER",
                        help="cumulative pooling in the order of the numeric column ORDER")
    parser.add_argument("--bias", action="store_true",
                        help="Egger's regression test and trim-and-fill")
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
    import numpy as np  # here, not at the top: `review pool --help` needs no numpy

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
    """Columns for `measure` from the CSV, validated.

    Returns (measure, data dict, labels, rows, lines, notes). A 2x2 table with no
    participants in a group is left out, with a note naming its line: metafor's escalc
    would add 0.5 to its cells and pool the made-up table (yi 0, vi 8 for a log odds
    ratio of an all-zero table); `rows` and `lines` are those of the tables kept.
    """
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
        return measure, data, labels, rows, lines, []

    if measure == "GEN":
        if "vi" in header:
            _require(path, header, ["yi"], "measure GEN")
            data = {"yi": _column(path, rows, lines, "yi"),
                    "vi": _column(path, rows, lines, "vi", kind="positive")}
        else:
            _require(path, header, ["yi", "sei"], "measure GEN (yi with vi or sei)")
            data = {"yi": _column(path, rows, lines, "yi"),
                    "sei": _column(path, rows, lines, "sei", kind="positive")}
        return measure, data, labels, rows, lines, []

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
    data = {"ai": ai, "bi": arms["bi"], "ci": ci, "di": arms["di"]}
    empty1, empty2 = ai + data["bi"] == 0, ci + data["di"] == 0
    notes = []
    for j in (empty1 | empty2).nonzero()[0]:
        which = ("either group" if empty1[j] and empty2[j]
                 else "group 1 (ai + bi = 0)" if empty1[j] else "group 2 (ci + di = 0)")
        notes.append(f"{path}:{lines[j]}: {labels[j]} has no participants in {which}; left out "
                     "(metafor would add 0.5 to its cells and pool the made-up table)")
    keep = ~(empty1 | empty2)
    if not keep.any():
        raise InputError(f"{path}: every 2x2 table has a group with no participants")
    data = {c: x[keep] for c, x in data.items()}
    labels = [lab for lab, kp in zip(labels, keep) if kp]
    rows = [r for r, kp in zip(rows, keep) if kp]
    lines = [ln for ln, kp in zip(lines, keep) if kp]
    return measure, data, labels, rows, lines, notes


def _text_column(path, rows, lines, header, col):
    if col not in header:
        raise InputError(f"{path}:1:{col}: column missing, named by --subgroup")
    out = []
    for row, line in zip(rows, lines):
        if row[col] == "":
            raise InputError(f"{path}:{line}:{col}: missing value (every study needs a subgroup)")
        out.append(row[col])
    return out


def _numeric_columns(path, rows, lines, header, cols, option):
    out = {}
    for col in cols:
        if col not in header:
            raise InputError(f"{path}:1:{col}: column missing, named by {option}")
        out[col] = _column(path, rows, lines, col)
    return out


# ------------------------------------------------------------------ running


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _binary_dict(res, measure):
    num = _num
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
        "h2_ci_lb": None, "h2_ci_ub": None,
        "q": num(res.q), "q_df": int(res.q_df), "q_pval": num(res.q_pval),
        "pi_lb": None, "pi_ub": None, "correction": res.correction, "notes": [],
        "studies": [{"study": lab, "yi": num(y), "vi": num(v), "weight": wt}
                    for lab, y, v, wt in zip(res.labels, res.yi, res.vi, w)],
    }


def _frame_records(frame):
    """Rows of a leave1out/cumul frame as JSON objects (NaN becomes None)."""
    out = []
    for rec in frame.to_dict("records"):
        out.append({k: (v if isinstance(v, str) else int(v) if k == "position" else _num(v))
                    for k, v in rec.items()})
    return out


def _metareg_dict(res, columns):
    test_stat = "tval" if res.test == "t" else "zval"
    coefs = [{"term": t, "estimate": _num(b), "se": _num(s), test_stat: _num(z), "pval": _num(p),
              "ci_lb": _num(lo), "ci_ub": _num(hi)}
             for t, b, s, z, p, lo, hi in zip(res.names, res.coef, res.se, res.stat, res.pval,
                                               res.ci_lb, res.ci_ub)]
    out = {"mods": list(columns), "k": res.k, "method": res.method, "test": res.test,
           "level": res.level, "coefficients": coefs,
           "qm": _num(res.qm), "qm_df": res.qm_df, "qm_pval": _num(res.qm_pval)}
    if res.test == "t":
        out["df"] = _num(res.df)
        out["qm_df2"] = _num(res.qm_df2)
    out.update(qe=_num(res.qe), qe_df=res.qe_df, qe_pval=_num(res.qe_pval),
               tau2=_num(res.tau2), tau2_ci_lb=_num(res.tau2_ci_lb), tau2_ci_ub=_num(res.tau2_ci_ub),
               i2=_num(res.i2), i2_ci_lb=_num(res.i2_ci_lb), i2_ci_ub=_num(res.i2_ci_ub),
               h2=_num(res.h2), h2_ci_lb=_num(res.h2_ci_lb), h2_ci_ub=_num(res.h2_ci_ub),
               r2=_num(res.r2))
    if res.method in ("ML", "REML"):
        out.update(tau2_convergence=res.tau2_convergence, tau2_optimum=_num(res.tau2_optimum),
                   converged_early=res.converged_early)
    out["notes"] = list(res.notes)
    return out


def _regtest_dict(eg):
    return {"model": eg.model, "predictor": "sei", "method": eg.method, "test": eg.test,
            "applicable": eg.applicable, "reason": eg.reason or None, "k": eg.k,
            "zval": _num(eg.stat), "pval": _num(eg.pval), "dfs": _num(eg.df),
            "slope": _num(eg.slope), "slope_se": _num(eg.slope_se),
            "est": _num(eg.limit_estimate), "ci_lb": _num(eg.limit_ci_lb),
            "ci_ub": _num(eg.limit_ci_ub)}


def _trimfill_dict(tf):
    fit = tf.pooled.to_dict()
    fit.pop("studies")
    return {"estimator": tf.estimator, "side": tf.side, "k0": tf.k0, "se_k0": _num(tf.se_k0),
            "p_k0": _num(tf.p_k0), "refit_test": tf.refit_test,
            "filled": [{"yi": _num(y), "vi": _num(v)}
                       for y, v in zip(tf.filled_yi, tf.filled_vi)],
            "fit": fit}


def pool_file(path, *, measure=None, method="REML", hk=False, mh=False, peto=False,
              level=95.0, tau2_convergence="metafor", subgroup=None, mods=None,
              influence=False, cumulative=None, bias=False) -> dict:
    """Everything `review pool` computes for one CSV, as the --json object.

    `mods` is a list of column names; `subgroup` and `cumulative` name one column each.
    """
    extras = [name for name, on in (("--subgroup", subgroup), ("--mods", mods),
                                    ("--influence", influence), ("--cumulative", cumulative),
                                    ("--bias", bias)) if on]
    if mh and peto:
        raise InputError("choose one of --mh and --peto")
    if (mh or peto) and hk:
        raise InputError("--hk applies to inverse-variance pooling, not to --mh or --peto")
    if (mh or peto) and extras:
        raise InputError(f"{extras[0]} applies to inverse-variance pooling, not to --mh or --peto")
    if not (0 < level < 100):
        raise InputError(f"--level must be between 0 and 100, got {level:g}")
    if peto and measure not in (None, "OR"):
        raise InputError(f"--peto pools odds ratios; --measure {measure} does not apply")
    if mh and measure not in (None, "OR", "RR", "RD"):
        raise InputError(f"--mh needs --measure OR, RR or RD, not {measure}")
    measure, data, labels, rows, lines, notes = load_inputs(path, measure,
                                                            binary_pooling=mh or peto)
    if (mh or peto) and measure not in ("OR", "RR", "RD"):
        raise InputError("--mh and --peto need 2x2 counts (ai, bi, ci, di)")
    header = list(rows[0])
    groups = _text_column(path, rows, lines, header, subgroup) if subgroup else None
    moderators = _numeric_columns(path, rows, lines, header, mods, "--mods") if mods else None
    order = (_numeric_columns(path, rows, lines, header, [cumulative], "--cumulative")[cumulative]
             if cumulative else None)

    if mh or peto:
        from ..stats import binary

        try:
            if mh:
                res = binary.mantel_haenszel(data["ai"], data["bi"], data["ci"], data["di"],
                                             measure=measure, level=level, labels=labels)
            else:
                res = binary.peto(data["ai"], data["bi"], data["ci"], data["di"], level=level,
                                  labels=labels)
        except StatsError as exc:
            raise StatsError(f"{path}: {exc}") from None
        out = _binary_dict(res, measure if mh else "OR")
        out["notes"] = notes
        return out

    from ..stats.effects import escalc
    from ..stats.pooling import rma

    es = escalc(measure, labels=labels, **data)
    bad = [j for j, (y, v) in enumerate(zip(es.yi, es.vi)) if not (math.isfinite(y) and math.isfinite(v))]
    if bad:
        raise StatsError(f"{path}:{lines[bad[0]]}: effect size ({measure}) cannot be computed for "
                         f"{labels[bad[0]]}" + (f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""))
    what = str(path)
    common = dict(method=method, hk=hk, level=level, tau2_convergence=tau2_convergence)
    try:
        res = rma(es.yi, es.vi, labels=labels, measure=measure, what=what, **common)
        out = res.to_dict()
        out["correction"] = es.correction
        out["notes"] = notes + out["notes"]
        if subgroup:
            from ..stats.subgroups import subgroup_analysis

            sg = subgroup_analysis(es.yi, es.vi, groups, labels=labels, measure=measure, **common)
            d = sg.to_dict()
            d.pop("overall")
            for g in d["groups"].values():
                g.pop("studies")
            out["subgroups"] = {"by": subgroup, **d}
        if mods:
            from ..stats.subgroups import metareg

            mr = metareg(es.yi, es.vi, moderators, **common)
            out["metareg"] = _metareg_dict(mr, mods)
        if influence:
            from ..stats.sensitivity import leave_one_out

            out["leave1out"] = _frame_records(leave_one_out(es.yi, es.vi, labels=labels, **common))
        if cumulative:
            from ..stats.sensitivity import cumulative as cumul

            frame = cumul(es.yi, es.vi, order, labels=labels, **common)
            out["cumul"] = {"order": cumulative, "steps": _frame_records(frame)}
        if bias:
            from ..stats.sensitivity import egger_test, trimfill

            eg = egger_test(es.yi, es.vi, compute_below_min_k=res.k >= 3, **common)
            out["regtest"] = _regtest_dict(eg)
            if res.k >= 2:
                out["trimfill"] = _trimfill_dict(trimfill(es.yi, es.vi, labels=labels,
                                                          measure=measure, **common))
    except StatsError as exc:
        msg = str(exc)
        raise StatsError(msg if msg.startswith(what) else f"{what}: {msg}") from None
    return out


def _fmt(x, digits=4):
    return "NA" if x is None else f"{x:.{digits}f}"


def _p(x):
    return "NA" if x is None else f"{x:.4g}"


def _exp(x):
    if x is None:
        return "NA"
    try:
        return f"{math.exp(x):.4f}"
    except OverflowError:
        return "inf"


def _stat(d, key="zval"):
    """'z = 1.234' or 't(12) = 1.234' for a fit dict; infinite statistics print as inf."""
    if d["test"] == "t":
        value = d.get("tval")
        name = f"t({d['df']:g})" if d.get("df") is not None else "t"
    else:
        value, name = d.get(key), "z"
    if value is None and d.get("se") == 0:
        return f"{name} = inf"
    return f"{name} = {_fmt(value, 3)}"


def _interval(lb, ub, digits=4, over=""):
    return f"[{_fmt(lb, digits)}, {over}{_fmt(ub, digits)}]"


def format_summary(d: dict) -> str:
    """A readable summary of the --json object."""
    ratio = d["measure"] in ("RR", "OR")
    scale = f" (log {d['measure']})" if ratio else f" ({d['measure']})"
    lines = [f"{d['method']} meta-analysis of {d['k']} {'study' if d['k'] == 1 else 'studies'}{scale}, "
             f"{'t' if d['test'] == 't' else 'z'} test, {d['level']:g}% CI"]
    width = max([len(s["study"]) for s in d["studies"]] + [5])
    lines.append(f"{'study':<{width}}  {'yi':>9}  {'vi':>9}  {'weight %':>8}")
    for s in d["studies"]:
        wt = "NA" if s["weight"] is None else f"{s['weight']:.2f}"
        lines.append(f"{s['study']:<{width}}  {_fmt(s['yi']):>9}  {_fmt(s['vi']):>9}  {wt:>8}")
    lines.append("")
    lines.append(f"estimate {_fmt(d['estimate'])}  SE {_fmt(d['se'])}  "
                 f"CI {_interval(d['ci_lb'], d['ci_ub'])}  {_stat(d)}  p = {_p(d['pval'])}")
    if ratio:
        lines.append(f"{d['measure']} {_exp(d['estimate'])}  "
                     f"CI [{_exp(d['ci_lb'])}, {_exp(d['ci_ub'])}]")
    over = ">" if d.get("tau2_ci_ub_capped") else ""  # bounds at the search limit, as metafor marks them
    if d.get("tau2") is not None and d["method"] != "FE":
        ci = (f" {_interval(d['tau2_ci_lb'], d['tau2_ci_ub'], over=over)}"
              if d.get("tau2_ci_lb") is not None else "")
        lines.append(f"tau^2 {_fmt(d['tau2'])}{ci}  tau {_fmt(d['tau'])}")
    if d.get("pi_lb") is not None:
        lines.append(f"prediction interval {_interval(d['pi_lb'], d['pi_ub'])}")
    if d.get("q") is not None:
        i2ci = (f" {_interval(d['i2_ci_lb'], d['i2_ci_ub'], 1, over)}"
                if d.get("i2_ci_lb") is not None else "")
        h2ci = (f" {_interval(d['h2_ci_lb'], d['h2_ci_ub'], 2, over)}"
                if d.get("h2_ci_lb") is not None else "")
        lines.append(f"Q({d['q_df']}) = {_fmt(d['q'], 2)}, p = {_p(d['q_pval'])}  "
                     f"I^2 {_fmt(d['i2'], 1)}%{i2ci}  H^2 {_fmt(d['h2'], 2)}{h2ci}")
    if d.get("correction"):
        lines.append(f"zero cells: {d['correction']}")
    lines += _extra_sections(d)
    lines += [f"note: {n}" for n in d.get("notes", [])]
    return "\n".join(lines)


def _extra_sections(d):
    out = []
    if "subgroups" in d:
        sg = d["subgroups"]
        width = max([len(g) for g in sg["groups"]] + [8])
        out += ["", f"Subgroups by {sg['by']}: {sg['test']}",
                f"{'subgroup':<{width}}  {'k':>3}  {'estimate':>9}  {'CI':<21}  {'p':>7}  "
                f"{'tau^2':>7}  {'I^2 %':>6}"]
        for name, g in sg["groups"].items():
            out.append(f"{name:<{width}}  {g['k']:>3}  {_fmt(g['estimate']):>9}  "
                       f"{_interval(g['ci_lb'], g['ci_ub']):<21}  {_p(g['pval']):>7}  "
                       f"{_fmt(g['tau2']):>7}  {_fmt(g['i2'], 1):>6}")
        out.append(f"test for subgroup differences: Q({sg['q_between_df']}) = "
                   f"{_fmt(sg['q_between'], 2)}, p = {_p(sg['q_between_pval'])}")
        for name, g in sg["groups"].items():
            out += [f"note: subgroup {name}: {n}" for n in g.get("notes", [])]
    if "metareg" in d:
        mr = d["metareg"]
        stat = "tval" if mr["test"] == "t" else "zval"
        width = max([len(c["term"]) for c in mr["coefficients"]] + [4])
        out += ["", f"Meta-regression on {', '.join(mr['mods'])} ({mr['method']}, k = {mr['k']})",
                f"{'term':<{width}}  {'estimate':>9}  {'se':>8}  {stat[0]:>7}  {'p':>7}  CI"]
        for c in mr["coefficients"]:
            out.append(f"{c['term']:<{width}}  {_fmt(c['estimate']):>9}  {_fmt(c['se']):>8}  "
                       f"{_fmt(c[stat], 3):>7}  {_p(c['pval']):>7}  "
                       f"{_interval(c['ci_lb'], c['ci_ub'])}")
        qm = (f"F({mr['qm_df']}, {mr['qm_df2']:g})" if mr["test"] == "t" and mr.get("qm_df2") is not None
              else f"QM({mr['qm_df']})")
        out.append(f"{qm} = {_fmt(mr['qm'], 2)}, p = {_p(mr['qm_pval'])}  "
                   f"QE({mr['qe_df']}) = {_fmt(mr['qe'], 2)}, p = {_p(mr['qe_pval'])}")
        out.append(f"tau^2 {_fmt(mr['tau2'])}  I^2 {_fmt(mr['i2'], 1)}%  H^2 {_fmt(mr['h2'], 2)}  "
                   f"R^2 {_fmt(mr['r2'], 1)}%")
        out += [f"note: meta-regression: {n}" for n in mr.get("notes", [])]
    for key, title in (("leave1out", "Leave-one-out (omitted study)"), ("cumul", None)):
        if key not in d:
            continue
        steps = d[key] if key == "leave1out" else d[key]["steps"]
        if title is None:
            title = f"Cumulative (added in order of {d[key]['order']})"
        width = max([len(r["study"]) for r in steps] + [5])
        out += ["", title, f"{'study':<{width}}  {'estimate':>9}  {'CI':<21}  {'p':>7}  "
                           f"{'tau^2':>7}  {'I^2 %':>6}"]
        for r in steps:
            out.append(f"{r['study']:<{width}}  {_fmt(r['estimate']):>9}  "
                       f"{_interval(r['ci_lb'], r['ci_ub']):<21}  {_p(r['pval']):>7}  "
                       f"{_fmt(r['tau2']):>7}  {_fmt(r['i2'], 1):>6}")
    if "regtest" in d:
        eg = d["regtest"]
        out += ["", "Egger's regression test (predictor: standard error)"]
        if eg["zval"] is None:
            out.append(f"not computed: {eg['reason'] or 'fewer than 3 studies'}")
        else:
            stat = f"t({eg['dfs']:g})" if eg["test"] == "t" else "z"
            out.append(f"{stat} = {_fmt(eg['zval'], 3)}, p = {_p(eg['pval'])}  "
                       f"limit estimate {_fmt(eg['est'])} {_interval(eg['ci_lb'], eg['ci_ub'])}")
            if not eg["applicable"]:
                out.append(f"not interpretable: {eg['reason']}")
    if "trimfill" in d:
        tf = d["trimfill"]
        fit = tf["fit"]
        out += ["", f"Trim-and-fill ({tf['estimator']}): {tf['k0']} "
                    f"{'study' if tf['k0'] == 1 else 'studies'} filled on the {tf['side']} "
                    f"(SE {_fmt(tf['se_k0'])})"]
        if tf["k0"]:
            how = "z test, as metafor refits" if fit["test"] == "z" else "Hartung-Knapp t test"
            out.append(f"filled data ({fit['k']} studies, {how}): "
                       f"estimate {_fmt(fit['estimate'])}  SE {_fmt(fit['se'])}  "
                       f"CI {_interval(fit['ci_lb'], fit['ci_ub'])}  p = {_p(fit['pval'])}")
    return out


def run(args) -> int:
    mods = [c.strip() for c in args.mods.split(",") if c.strip()] if args.mods else None
    if args.mods is not None and not mods:
        raise InputError("--mods needs one or more column names, separated by commas")
    d = pool_file(args.file, measure=args.measure, method=args.method, hk=args.hk,
                  mh=args.mh, peto=args.peto, level=args.level,
                  tau2_convergence=args.tau2_convergence, subgroup=args.subgroup, mods=mods,
                  influence=args.influence, cumulative=args.cumulative, bias=args.bias)
    text = (json.dumps(d, indent=2, allow_nan=False) if args.json else format_summary(d))
    print(text)
    return 0
