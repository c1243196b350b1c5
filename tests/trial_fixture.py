"""Adding the synthetic trial of tests/fixtures/new_trial to a copy of the review.

What an author does by hand in docs/updating.md, done by code so the tests can repeat
it: each fixture CSV's rows go into the sheet of the same name (a row whose primary key
is already there replaces it, as the PRISMA counts do; others are appended), and the
BibTeX entry is appended to references.bib.
"""

import csv
import io
import json
from pathlib import Path

NEW_TRIAL = Path(__file__).parent / "fixtures" / "new_trial"


def _rows(text: str) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def read_sheet(path: Path) -> tuple[list[str], list[dict]]:
    """A CSV sheet's header and rows (dicts of text)."""
    return _rows(Path(path).read_text(encoding="utf-8"))


def write_sheet(path: Path, header: list[str], rows: list[dict]) -> None:
    """Write rows under `header`, as the sheets are written: LF line ends, UTF-8."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    Path(path).write_text(out.getvalue(), encoding="utf-8")


def add_trial(root: Path, fixture: Path = NEW_TRIAL) -> None:
    ext = root / "extraction"
    package = json.loads((ext / "datapackage.json").read_text(encoding="utf-8"))
    keys = {r["path"]: r["schema"]["primaryKey"] for r in package["resources"]}
    for part in sorted(fixture.glob("*.csv")):
        sheet = ext / part.name
        header, rows = read_sheet(sheet)
        _, new = _rows(part.read_text(encoding="utf-8"))
        pk = keys[part.name]
        index = {tuple(r[k] for k in pk): i for i, r in enumerate(rows)}
        for r in new:
            at = index.get(tuple(r[k] for k in pk))
            if at is None:
                rows.append(r)
            else:
                rows[at] = r
        write_sheet(sheet, header, rows)
    bib = root / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + (fixture / "references.bib").read_text(encoding="utf-8"),
                   encoding="utf-8")


def add_balance_trials(root: Path, n: int = 12, seed: int = 2026) -> list[str]:
    """Append `n` synthetic two-arm trials, each reporting BBS and TUG as change from baseline
    at the end of treatment and headache and dizziness with numbers at risk, built from the
    rows of tests/fixtures/new_trial; half subacute and half chronic, iTBS and LF-rTMS in turn.
    The PRISMA counts of included studies follow. Returns the new study keys."""
    import random

    rng = random.Random(seed)
    ext = root / "extraction"
    fixture = {p.stem: _rows(p.read_text(encoding="utf-8"))[1] for p in NEW_TRIAL.glob("*.csv")}
    keys = []
    new: dict[str, list[dict]] = {"studies": [], "arms": [], "outcomes": [], "adverse_events": []}
    for i in range(n):
        key, year = f"balance{2010 + i}", 2010 + i
        keys.append(key)
        size = rng.randint(12, 30)
        new["studies"].append(dict(fixture["studies"][0], study=key, label=f"Balance {year}", year=str(year),
                                   phase=("subacute", "chronic")[i % 2],
                                   protocol_family=("iTBS", "LF-rTMS")[i % 2],
                                   outcomes_measured="BBS;TUG", n_total=str(2 * size),
                                   n_analysed_total=str(2 * size)))
        for arm in fixture["arms"]:
            new["arms"].append(dict(arm, study=key, n_randomised=str(size), n_analysed=str(size)))
        template = fixture["outcomes"]
        for code, active, sd, better in (("BBS", 5.0, 4.0, "yes"), ("TUG", -3.0, 3.0, "no")):
            for row in template:
                effect = active + rng.gauss(0, 1.5) if row["arm"] == "itbs" else active / 3
                new["outcomes"].append(dict(row, study=key, outcome=code, mean=f"{effect:.2f}",
                                            sd=f"{sd * rng.uniform(0.8, 1.2):.2f}", n=str(size),
                                            unit="points" if code == "BBS" else "s",
                                            scale="Berg Balance Scale" if code == "BBS" else "Timed Up and Go",
                                            scale_min="0" if code == "BBS" else "",
                                            scale_max="56" if code == "BBS" else "",
                                            higher_is_better=better))
        for row in fixture["adverse_events"]:
            for event in ("headache", "dizziness"):
                new["adverse_events"].append(dict(row, study=key, event=event,
                                                  events=str(rng.randint(0, 3)), at_risk=str(size)))
    for sheet, rows in new.items():
        path = ext / f"{sheet}.csv"
        header, have = _rows(path.read_text(encoding="utf-8"))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(have + [{h: r.get(h, "") for h in header} for r in rows])
        path.write_text(out.getvalue(), encoding="utf-8")
    bib = "".join(f"\n@article{{{k},\n  author   = {{Balance, A.}},\n  title    = {{Synthetic balance trial {k}}},\n"
                  f"  journal  = {{Test Fixtures}},\n  year     = {{{k[-4:]}}},\n  keywords = {{included}},\n}}\n"
                  for k in keys)
    (root / "references.bib").write_text((root / "references.bib").read_text(encoding="utf-8") + bib, encoding="utf-8")
    studies = _rows((ext / "studies.csv").read_text(encoding="utf-8"))[1]
    included = sum(1 for s in studies if s["included"] == "yes")
    header, prisma = _rows((ext / "prisma.csv").read_text(encoding="utf-8"))
    for r in prisma:
        if r["data"] in ("new_studies", "total_studies"):
            r.update(n=str(included), status="reported")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(prisma)
    (ext / "prisma.csv").write_text(out.getvalue(), encoding="utf-8")
    return keys
