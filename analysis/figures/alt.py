"""Alt text written from the plotted data, for Quarto's fig-alt."""

from __future__ import annotations

from ._common import fmt_num, get, is_missing, measure_name


def _pooled_sentence(result, t, ratio: bool) -> str:
    name = measure_name(get(result, "measure")).lower()
    level = fmt_num(get(result, "level", default=95), 0)
    est, lb, ub = (float(get(result, a)) for a in ("estimate", "ci_lb", "ci_ub"))
    s = f"The pooled {name} is {fmt_num(t(est))} ({level}% CI {fmt_num(t(lb))} to {fmt_num(t(ub))})"
    extra = []
    k = get(result, "k", default=0) or 0
    i2 = get(result, "i2")
    if not is_missing(i2) and k >= 2:
        extra.append(f"I\u00b2 = {fmt_num(i2, 1)}%")
    pi_lb, pi_ub = get(result, "pi_lb"), get(result, "pi_ub")
    if k >= 3 and not (is_missing(pi_lb) or is_missing(pi_ub)):
        extra.append(f"a prediction interval of {fmt_num(t(pi_lb))} to {fmt_num(t(pi_ub))}")
    if extra:
        s += ", with " + " and ".join(extra)
    return s + "."


def forest_alt(result, rows, t, ratio: bool, subgroups=None) -> str:
    studies = [r for r in rows if r["kind"] == "study" and r["est"] == r["est"]]  # NaN: not estimable
    name = measure_name(get(result, "measure")).lower()
    scale = " on a log scale" if ratio else ""
    n = sum(r["kind"] == "study" for r in rows)
    parts = [f"Forest plot of {n} {'study' if n == 1 else 'studies'}, {name}{scale}."]
    if studies:
        lo = min(studies, key=lambda r: r["est"])
        hi = max(studies, key=lambda r: r["est"])
        if len(studies) > 1:
            parts.append(
                f"Study estimates run from {fmt_num(t(lo['est']))} ({lo['label']}) to {fmt_num(t(hi['est']))} ({hi['label']})."
            )
    if subgroups is not None:
        groups = [r["label"] for r in rows if r["kind"] == "group"]
        parts.append(f"Studies are grouped into {len(groups)} subgroups: {', '.join(groups)}.")
    if is_missing(get(result, "estimate")):
        level = fmt_num(get(result, "level", default=95), 0)
        if len(studies) == 1:
            r = studies[0]
            parts.append(f"{r['label']}: {fmt_num(t(r['est']))} ({level}% CI {fmt_num(t(r['lb']))} "
                         f"to {fmt_num(t(r['ub']))}).")
        parts.append(f"No pooled estimate: {get(result, 'reason', default='too few studies')}.")
    else:
        parts.append(_pooled_sentence(result, t, ratio))
    return " ".join(parts)


def funnel_alt(result, k_filled: int, t, ratio: bool) -> str:
    name = measure_name(get(result, "measure")).lower()
    k = len(get(result, "yi", default=[]))
    s = f"Funnel plot of {k} studies: {name}{' (log scale)' if ratio else ''} against standard error, with pseudo-confidence contours."
    s += " " + _pooled_sentence(result, t, ratio)
    if k_filled:
        s += f" Trim-and-fill adds {k_filled} imputed {'study' if k_filled == 1 else 'studies'}, drawn as open circles."
    return s


def sensitivity_alt(kind: str, frame, label_col: str, t, name: str) -> str:
    scale = " (log scale)" if getattr(t, "__name__", "") == "exp" else ""
    if kind == "leave_one_out":
        what = f"Leave-one-out analysis: the {name.lower()}{scale} pooled again with each of {len(frame)} studies omitted in turn."
    else:
        what = f"Cumulative meta-analysis: the {name.lower()}{scale} pooled as {len(frame)} studies are added one at a time."
    if not len(frame):
        return what
    lo = frame.loc[frame["estimate"].idxmin()]
    hi = frame.loc[frame["estimate"].idxmax()]
    return (
        f"{what} Estimates run from {fmt_num(t(lo['estimate']))} ({lo[label_col]}) "
        f"to {fmt_num(t(hi['estimate']))} ({hi[label_col]})."
    )
