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


def add_trial(root: Path, fixture: Path = NEW_TRIAL) -> None:
    ext = root / "extraction"
    package = json.loads((ext / "datapackage.json").read_text(encoding="utf-8"))
    keys = {r["path"]: r["schema"]["primaryKey"] for r in package["resources"]}
    for part in sorted(fixture.glob("*.csv")):
        sheet = ext / part.name
        header, rows = _rows(sheet.read_text(encoding="utf-8"))
        _, new = _rows(part.read_text(encoding="utf-8"))
        pk = keys[part.name]
        index = {tuple(r[k] for k in pk): i for i, r in enumerate(rows)}
        for r in new:
            at = index.get(tuple(r[k] for k in pk))
            if at is None:
                rows.append(r)
            else:
                rows[at] = r
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sheet.write_text(out.getvalue(), encoding="utf-8")
    bib = root / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + (fixture / "references.bib").read_text(encoding="utf-8"),
                   encoding="utf-8")
