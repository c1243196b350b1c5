"""What moved between two sets of the review's numbers, as sentences for a changelog.

`describe(old, new, names)` turns `numbers.diff_numbers` into one sentence per subject:
the included studies, each outcome, each adverse event, the PRISMA counts and the
reproduction ledger, e.g.

    Pain score, change (SMD): 3 studies instead of 2; adds
    Fixture 2026; pooled SMD 0.71 (0.20 to 1.22) instead of 0.42 (−0.18 to 1.03).

Values are shown as the review shows them (two decimals, I² in whole percent). Numbers
that moved only beyond that precision, or that a reader would not quote (weights,
standard errors, test statistics), are counted at the end of their sentence rather
than listed. Nothing is computed here; `names` only turns keys into words.
"""

from __future__ import annotations

import math

from .names import Names, names_for
from .numbers import Change, diff_numbers
from ..review.report import cap as _cap, fmt_num


# --- formatting -------------------------------------------------------------------------

def _n(n, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _v(x, digits: int = 2) -> str:
    """A value as the review prints it: counts as integers, others to `digits` decimals."""
    if x is None:
        return "not available"
    if isinstance(x, str):
        return x or "not available"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    return fmt_num(x, digits)


def _dec(x, digits: int = 2) -> str:
    """An estimate to `digits` decimals even when it is a whole number (the snapshot stores 1.0 as 1)."""
    return "not available" if x is None else fmt_num(x, digits)


def _pair(new: str, old: str) -> str | None:
    """"new instead of old", or None when the two read the same."""
    return None if new == old else f"{new} instead of {old}"


def _words(code: str) -> str:
    return code.replace("_", " ")


class _Group:
    """The changes under one key prefix, consumed as they are described."""

    def __init__(self, prefix: str, old: dict, new: dict, changes: list[Change]):
        self.prefix = prefix
        self.old = {k[len(prefix):]: v for k, v in old.items() if k.startswith(prefix)}
        self.new = {k[len(prefix):]: v for k, v in new.items() if k.startswith(prefix)}
        self.pending = {c.key[len(prefix):] for c in changes if c.key.startswith(prefix)}

    def moved(self, *keys: str) -> bool:
        return any(k in self.pending for k in keys)

    def take(self, *keys: str) -> None:
        self.pending.difference_update(keys)

    def rest(self, parts: list) -> str | None:
        """How many numbers moved that were not described; "other" when `parts` said something."""
        n = len(self.pending)
        self.pending.clear()
        if n == 0:
            return None
        if any(parts):
            return f"{_n(n, 'other number')} moved with {'it' if n == 1 else 'them'}"
        return f"{_n(n, 'number')} moved that this note does not quote"


def _sentence(subject: str, parts: list) -> str | None:
    parts = [p for p in parts if p]
    return f"{subject}: {'; '.join(parts)}." if parts else None


# --- one sentence per subject -----------------------------------------------------------

def _studies(g: _Group, names: Names) -> str | None:
    parts = []
    g.take("list")  # the studies themselves are named from their n_total below
    for key, what in (("included", "included studies"), ("identified", "identified studies"),
                      ("participants", "participants"), ("in_sheet", "rows in studies.csv"),
                      ("participants_unknown", "included studies without a stated total")):
        if g.moved(key):
            parts.append(f"{what} {_pair(_v(g.new.get(key)), _v(g.old.get(key)))}")
            g.take(key)
    added = sorted(k[len("n_total."):] for k in g.pending if k.startswith("n_total.") and k not in g.old)
    removed = sorted(k[len("n_total."):] for k in g.pending if k.startswith("n_total.") and k not in g.new)
    if added:
        parts.append("new: " + ", ".join(f"{names.study(s)} (n = {_v(g.new[f'n_total.{s}'])})" for s in added))
    if removed:
        parts.append("removed: " + ", ".join(names.study(s) for s in removed))
    for s in sorted(k[len("n_total."):] for k in g.pending if k.startswith("n_total.")):
        if s not in added and s not in removed:
            parts.append(f"{names.study(s)} n = {_pair(_v(g.new[f'n_total.{s}']), _v(g.old[f'n_total.{s}']))}")
    g.take(*(f"n_total.{s}" for s in added + removed), *(k for k in list(g.pending) if k.startswith("n_total.")))
    for key in sorted(k for k in g.pending if k.startswith("by_")):
        col, _, value = key[len("by_"):].partition(".")
        parts.append(f"{_words(col)} {_words(value)}: "
                     f"{_pair(_n(g.new.get(key) or 0, 'study', 'studies'), str(g.old.get(key) or 0))}")
        g.take(key)
    parts.append(g.rest(parts))
    return _sentence("Studies", parts)


def _natural(d: dict, x):
    """A risk or odds ratio is locked as its logarithm (scale = log) and read as the ratio."""
    return math.exp(x) if d.get("scale") == "log" and x is not None else x


def _effect(d: dict, measure, est: str, lb: str, ub: str) -> str | None:
    if d.get(est) is None:
        return None
    return (f"{measure + ' ' if measure else ''}{_dec(_natural(d, d[est]))} "
            f"({_dec(_natural(d, d.get(lb)))} to {_dec(_natural(d, d.get(ub)))})")


def _outcome(outcome: str, g: _Group, av: _Group, names: Names) -> str | None:
    parts = []
    measure = g.new.get("measure") or g.old.get("measure")
    if "k" not in g.new and "k" in g.old:
        g.pending.clear()
        av.pending.clear()
        return _sentence(names.outcome(outcome), ["no longer in the plan"])
    is_new = "k" not in g.old and "k" in g.new
    if is_new:
        parts.append("new outcome in the plan")
    elif g.moved("k"):
        parts.append(_pair(_n(g.new["k"], "study", "studies"), str(g.old["k"])))
    g.take("k", "measure", "scale")
    if g.moved("status") and "k" in g.old and "k" in g.new:
        old, new = g.old.get("status"), g.new.get("status")
        parts.append("now pooled" if new == "pooled" else
                     f"no longer pooled ({new})" if old == "pooled" else f"{new} (was {old})")
    g.take("status")
    was, now = (set(filter(None, (d.get("studies") or "").split(", "))) for d in (g.old, g.new))
    if now - was and is_new:
        parts.append(_n(len(now), "study", "studies") + ": " + ", ".join(names.study(s) for s in sorted(now)))
    elif now - was:
        parts.append("adds " + ", ".join(names.study(s) for s in sorted(now - was)))
    if was - now:
        parts.append("drops " + ", ".join(names.study(s) for s in sorted(was - now)))
    g.take("studies", *(k for k in list(g.pending) if k.startswith("study.") and k.split(".")[1] in now ^ was))
    if g.moved("participants") and g.old.get("participants") is None and g.new.get("participants") is not None:
        parts.append(f"{_v(g.new['participants'])} participants")
        g.take("participants")
    elif g.moved("participants"):
        parts.append(f"{_pair(_v(g.new.get('participants')), _v(g.old.get('participants')))} participants")
        g.take("participants")
    new_fx, old_fx = (_effect(d, measure, "estimate", "ci_lb", "ci_ub") for d in (g.new, g.old))
    if new_fx and old_fx:
        if new_fx != old_fx:
            parts.append(f"pooled {_pair(new_fx, old_fx[len(measure) + 1:] if measure else old_fx)}")
            g.take("estimate", "ci_lb", "ci_ub")
    else:  # newly pooled, or no longer (which the status says)
        parts.append(f"pooled {new_fx}" if new_fx else None)
        g.take("estimate", "ci_lb", "ci_ub")
    if g.new.get("i2") is not None and g.old.get("i2") is not None:
        i2 = _pair(f"{_dec(g.new['i2'], 0)}%", f"{_dec(g.old['i2'], 0)}%")
        if i2:
            parts.append(f"I² {i2}")
            g.take("i2")
    else:  # I² comes and goes with the pooled estimate
        g.take("i2")
    if g.old.get("pi_lb") is not None and new_fx and old_fx:
        pi = _pair(*(f"{_dec(_natural(d, d.get('pi_lb')))} to {_dec(_natural(d, d.get('pi_ub')))}"
                     if d.get("pi_lb") is not None else "not available" for d in (g.new, g.old)))
        if pi:
            parts.append(f"prediction interval {pi}")
            g.take("pi_lb", "pi_ub")
    else:  # an interval comes and goes with the pooling (or with a third study)
        g.take("pi_lb", "pi_ub")
    for s in sorted(now & was):
        new_e, old_e = (_effect(d, measure, f"study.{s}.yi", f"study.{s}.ci_lb", f"study.{s}.ci_ub")
                        for d in (g.new, g.old))
        if new_e and old_e and new_e == old_e:
            continue  # moved beyond the printed decimals, if at all: counted below
        if new_e and old_e:
            parts.append(f"{names.study(s)} {_pair(new_e, old_e[len(measure) + 1:] if measure else old_e)}")
        g.take(*(f"study.{s}.{f}" for f in ("yi", "ci_lb", "ci_ub")))
    for key in sorted(k for k in av.pending if k.startswith("not_pooled.")):
        reason = names.reasons.get(key[len("not_pooled."):], _words(key[len("not_pooled."):]))
        parts.append(f"{reason}: {_pair(_n(av.new.get(key) or 0, 'study', 'studies'), str(av.old.get(key) or 0))}")
        av.take(key)
    av.take("contributing")  # the same count as k
    parts = [p for p in parts if p]
    rest = len(g.pending) + len(av.pending)
    g.pending.clear()
    av.pending.clear()
    if rest and parts:
        parts.append(f"{_n(rest, 'other number')} moved with {'it' if rest == 1 else 'them'}")
    elif rest:
        parts.append(f"{_n(rest, 'number')} moved beyond the reported precision "
                     "(weights, standard errors, tests)")
    return _sentence(names.outcome(outcome), parts)


ROLES = {"active": "active arms", "control": "control arms", "total": "all arms"}


def _event(event: str, g: _Group) -> str | None:
    parts = []
    for role, words in ROLES.items():
        keys = [f"{role}.{f}" for f in ("events", "at_risk", "studies", "proportion", "ci_lb", "ci_ub")]
        if not g.moved(*keys):
            continue
        new, old = (None if f"{role}.events" not in d else _v(d[f"{role}.events"]) + (
            f" of {_v(d[f'{role}.at_risk'])}" if d.get(f"{role}.at_risk") is not None else "")
            for d in (g.new, g.old))
        text = (f"added ({new})" if old is None else f"removed (was {old})" if new is None
                else _pair(new, old))
        if text:  # else only what is not quoted moved (studies, proportions): counted below
            parts.append(f"{words} {text}")
            g.take(*keys)
    parts.append(g.rest(parts))
    return _sentence(f"Adverse events, {_words(event)}", parts)


POOLED_EVENT_WORDS = {"MH_RD": "Mantel-Haenszel risk difference", "PETO_OR": "Peto odds ratio"}


def _pooled_event(event: str, g: _Group) -> str | None:
    parts = []
    for code in sorted({k.split(".")[0] for k in g.pending}):
        # a ratio is reported on its own scale, not as the log the pooling works on
        ratio = any(d.get(f"{code}.exp_estimate") is not None for d in (g.new, g.old))
        est, lb, ub = (f"{code}.{p}{f}" for p, f in zip(["exp_" if ratio else ""] * 3, ("estimate", "ci_lb", "ci_ub")))
        new_fx, old_fx = (_effect(d, "", est, lb, ub) for d in (g.new, g.old))
        new_k, old_k = g.new.get(f"{code}.k") or 0, g.old.get(f"{code}.k") or 0
        what = POOLED_EVENT_WORDS.get(code, _words(code))
        if new_fx and not old_fx:
            parts.append(f"{what} now pooled from {_n(new_k, 'study', 'studies')}: {new_fx}")
        elif old_fx and not new_fx:
            parts.append(f"{what} no longer pooled ({_n(new_k, 'study', 'studies')})")
        else:
            bits = [_pair(_n(new_k, "study", "studies"), str(old_k)) if new_k != old_k else None,
                    _pair(new_fx, old_fx) if new_fx else None]
            bits = [b for b in bits if b]
            if not bits:
                continue  # moved beyond the printed decimals: counted below
            parts.append(f"{what} " + ", ".join(bits))
        g.take(*(k for k in list(g.pending) if k.startswith(code + ".")))
    parts.append(g.rest(parts))
    return _sentence(f"Pooled adverse events, {_words(event)}", parts)


def _prisma(g: _Group, names: Names) -> str | None:
    parts = []

    def n(x) -> str:
        return "not reported" if x is None else _v(x)

    for key in sorted(g.pending):
        label = names.prisma.get(key, _words(key))
        if key not in g.old:
            parts.append(f"{label} added ({n(g.new[key])})")
        elif key not in g.new:
            parts.append(f"{label} removed")
        else:
            parts.append(f"{label} {_pair(n(g.new[key]), n(g.old[key]))}")
    g.pending.clear()
    return _sentence("PRISMA flow", parts)


def _search(g: _Group) -> str | None:
    """Sources searched and the date of each: "PubMed searched 2025-01-10 (was before 2024-03-01)"."""
    from ..review.tables import search_date

    parts = []
    if g.moved("sources"):
        parts.append(f"sources {_pair(_v(g.new.get('sources') or 0), _v(g.old.get('sources') or 0))}")
        g.take("sources")
    for key in sorted(k for k in g.pending if k.startswith("by_kind.")):
        parts.append(f"{_words(key[len('by_kind.'):])} {_pair(_v(g.new.get(key) or 0), _v(g.old.get(key) or 0))}")
        g.take(key)
    for src in sorted({k.split(".")[1] for k in g.pending if k.startswith("source.")}):
        keys = [f"source.{src}.date_searched", f"source.{src}.date_qualifier"]
        was, now = (search_date(d.get(keys[0]), d.get(keys[1])) for d in (g.old, g.new))
        if keys[0] not in g.old:
            parts.append(f"{_words(src)} added (searched {now})")
        elif keys[0] not in g.new:
            parts.append(f"{_words(src)} removed")
        else:
            parts.append(f"{_words(src)} searched {now} (was {was})")
        g.take(*keys)
    parts.append(g.rest(parts))
    return _sentence("Search", parts)


def _ledger(g: _Group) -> str | None:
    parts = []
    for claim in sorted({k.split(".")[0] for k in g.pending}):
        bits = []
        if f"{claim}.status" not in g.old or f"{claim}.status" not in g.new:
            added = f"{claim}.status" in g.new
            d = g.new if added else g.old
            parts.append(f"{claim} {'added' if added else 'removed'} (status {d.get(f'{claim}.status')}, "
                         f"reproduced value {_v(d.get(f'{claim}.reproduced'))})")
            g.take(f"{claim}.reproduced", f"{claim}.status")
            continue
        value = _pair(_v(g.new.get(f"{claim}.reproduced")), _v(g.old.get(f"{claim}.reproduced")))
        if g.moved(f"{claim}.reproduced") and value:  # "" and null read the same
            bits.append(f"reproduced value {value}")
            g.take(f"{claim}.reproduced")
        if g.moved(f"{claim}.status"):
            bits.append(f"{_v(g.new.get(f'{claim}.status'))} (was {_v(g.old.get(f'{claim}.status'))})")
            g.take(f"{claim}.status")
        if bits:
            parts.append(f"{claim} " + ", ".join(bits))
    parts.append(g.rest(parts))
    return _sentence("Reproduction ledger", parts)


def _subjects(keys, plan_order: dict) -> list[tuple[str, str]]:
    """(kind, name) of every subject the keys belong to, in the order of the sentences:
    studies, outcomes in plan order, adverse events, pooled harms, PRISMA, ledger."""
    found = set()
    for k in keys:
        head, _, rest = k.partition(".")
        if head in ("analysis", "availability"):
            found.add(("outcome", rest.split(".")[0]))
        elif head == "safety" and rest.startswith("pooled."):
            found.add(("pooled_event", rest.split(".")[1]))
        elif head == "safety":
            found.add(("event", rest.split(".")[0]))
        elif head in ("studies", "prisma", "search", "ledger"):
            found.add((head, ""))
        else:
            found.add(("other", k))
    order = ["studies", "outcome", "event", "pooled_event", "prisma", "search", "ledger", "other"]
    return sorted(found, key=lambda s: (order.index(s[0]), plan_order.get(s[1], len(plan_order)), s[1]))


def _availability_only(changes: list[Change], old: dict, new: dict, names: Names) -> dict:
    """Outcomes whose only moves are counts of studies not contributing for a reason (a new
    trial that did not measure them), grouped so that one sentence names them all:
    outcome -> the shared sentence (the same object for every outcome of a group)."""
    by_outcome: dict[str, list[Change]] = {}
    for c in changes:
        head, _, rest = c.key.partition(".")
        if head in ("analysis", "availability"):
            by_outcome.setdefault(rest.split(".")[0], []).append(c)
    groups: dict[tuple, list[str]] = {}
    for outcome, cs in by_outcome.items():
        prefix = f"availability.{outcome}.not_pooled."
        if not all(c.key.startswith(prefix) for c in cs):
            continue
        moves = tuple(sorted((c.key[len(prefix):], (new.get(c.key) or 0) - (old.get(c.key) or 0)) for c in cs))
        if all(d for _, d in moves):
            groups.setdefault(moves, []).append(outcome)
    order = {o: i for i, o in enumerate(names.outcomes)}
    out = {}
    for moves, outcomes in groups.items():
        outcomes.sort(key=lambda o: (order.get(o, len(order)), o))
        phrases = [f"{names.reasons.get(r, _words(r))} ({'+' if d > 0 else '−'}{abs(d)} "
                   f"{'study' if abs(d) == 1 else 'studies'})" for r, d in moves]
        # outcome labels may hold commas ("10-m walk test, time (s)"): semicolons keep them apart
        sentence = f"{_cap(', '.join(phrases))}: {'; '.join(names.outcome(o) for o in outcomes)}."
        for o in outcomes:
            out[o] = sentence
    return out


def describe(old: dict, new: dict, names: Names | None = None) -> list[str]:
    """One sentence per subject whose numbers moved from `old` to `new`; [] when none did."""
    names = names or Names()
    changes = diff_numbers(old, new)
    subjects = _subjects((c.key for c in changes), {o: i for i, o in enumerate(names.outcomes)})
    grouped = _availability_only(changes, old, new, names)
    out = []
    for kind, name in subjects:
        if kind == "outcome" and name in grouped:
            sentence = grouped[name]
            if sentence not in out:  # said once, at the first of its outcomes
                out.append(sentence)
        elif kind == "studies":
            out.append(_studies(_Group("studies.", old, new, changes), names))
        elif kind == "outcome":
            out.append(_outcome(name, _Group(f"analysis.{name}.", old, new, changes),
                                _Group(f"availability.{name}.", old, new, changes), names))
        elif kind == "event":
            out.append(_event(name, _Group(f"safety.{name}.", old, new, changes)))
        elif kind == "pooled_event":
            out.append(_pooled_event(name, _Group(f"safety.pooled.{name}.", old, new, changes)))
        elif kind == "prisma":
            out.append(_prisma(_Group("prisma.", old, new, changes), names))
        elif kind == "search":
            out.append(_search(_Group("search.", old, new, changes)))
        elif kind == "ledger":
            out.append(_ledger(_Group("ledger.", old, new, changes)))
        else:
            c = next(c for c in changes if c.key == name)
            text = (f"added ({_v(c.new)})" if c.kind == "added" else f"removed (was {_v(c.old)})"
                    if c.kind == "removed" else _pair(_v(c.new), _v(c.old)) or "changed")
            out.append(f"{name}: {text}.")
    return [s for s in out if s]


# --- the review's version note ----------------------------------------------------------

def version_note(root, numbers: dict | None = None) -> str:
    """Markdown for the rendered review: what changed in the evidence since the previous version.

    The previous version is `revisions.previous_version` (the last commit while the sheets
    have uncommitted changes, else the commit before the last one that changed them); its
    sheets are recomputed with the running code, so only the data's changes show. Versions
    are named by the number and date of their version file (`versions.VERSION_FILE`), or by
    the commit's date where an old commit has none. The sentences are `note.note_text`'s.
    `numbers` are the current numbers when the caller already has them.
    """
    from ..errors import InputError
    from .note import note_text
    from .numbers import project_numbers
    from .revisions import names_at, numbers_at, previous_version
    from .versions import long_date, read_version, version_at

    try:
        rev = previous_version(root)
    except InputError:
        return ("This copy of the review carries no revision history, so it cannot list what "
                "changed since an earlier version of the extraction sheets.")
    if rev is None:
        return ("No earlier version of the extraction sheets is in this copy's history, so there "
                "is nothing to compare these numbers with.")
    before = version_at(root, rev.sha)
    previous = before.describe() if before else f"the previous version ({long_date(rev.date)})"
    try:
        now = read_version(root)
    except InputError:
        now = None
    lead = f"This is version {now.number} of the review, dated {long_date(now.date)}." if now else ""
    try:
        old, _ = numbers_at(root, rev.sha)
        names = names_for(root).merged(names_at(root, rev))
    except InputError as exc:
        why = str(exc).replace(f"the sheets at {rev.short} cannot be read by this version",
                               "its sheets cannot be read by this version of the toolkit")
        return f"The numbers could not be compared with {previous}: {why}."
    new = project_numbers(root) if numbers is None else numbers
    if now and before and now.number == before.number:
        if not diff_numbers(old, new):  # the sheets changed, none of the numbers: the same version
            return (f"This is version {now.number} of the review, dated {long_date(now.date)}. "
                    "The last change to its sheets moved none of the numbers it reports.")
        lead = ""  # the sheets changed since the version was locked: this is no version of its own yet
    return note_text(old, new, names, lead, previous)
