"""This review's own cells of the characteristics table (Table 1), composed from several
columns of its studies.csv: the stimulation protocol, the target and coil, and its
vocabulary in words. review.qmd passes `COLUMNS` to
`analysis.review.tables.characteristics_table`; the toolkit itself knows none of these
columns.
"""

from analysis.data.cells import text as _t
from analysis.review.tables import count, is_empty, n_per_arm

DESIGN_WORDS = {"rct": "RCT", "non_randomised": "non-randomised", "single_group": "single group",
                "crossover": "crossover", "case_report": "case report",
                "single_session": "single session"}


def design(s, arms) -> str:
    return DESIGN_WORDS.get(_t(s.get("design")), _t(s.get("design")))


def phase(s, arms) -> str:
    return _t(s.get("phase")).replace("-", " or ")


def protocol(s, arms) -> str:
    text = _t(s.get("protocol_family"))
    if not is_empty(s.get("frequency_hz")):
        text += f", {count(s['frequency_hz'])} Hz"
    if not is_empty(s.get("intensity")):
        text += f", {count(s['intensity'])}% {_t(s.get('intensity_reference'))}".rstrip()
    return text.replace("+", " + ")


def target(s, arms) -> str:
    coil = _t(s.get("coil_type"))
    if coil and not is_empty(s.get("coil_size_mm")):
        coil += f" {count(s['coil_size_mm'])} mm"
    return "; ".join(filter(None, [_t(s.get("target")), coil and f"{coil} coil"]))


def outcomes(s, arms) -> str:
    # outcome codes read as words (10MWT_time -> 10MWT time) so they can wrap
    return ", ".join(o.strip().replace("_", " ") for o in _t(s.get("outcomes_measured")).split(";")
                     if o.strip())


COLUMNS = [
    ("Design", design),
    ("Phase", phase),
    ("n (per arm)", n_per_arm, "r"),
    ("Protocol", protocol),
    ("Target / coil", target),
    ("Sessions", lambda s, arms: count(s.get("sessions"), ""), "r"),
    ("Combined therapy", lambda s, arms: _t(s.get("combined_therapy"))),
    ("Control", lambda s, arms: _t(s.get("control"))),
    ("Outcomes", outcomes),
]
