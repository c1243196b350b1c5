"""Where the tests find their projects.

`BUNDLED` is the frozen copy of the bundled review's data (tests/fixtures/bundled, refreshed
only by `make fixture`); tests that assert values read it, never the live `extraction/` at
`REPO`, so an update of the review does not turn them red. `REPO` is for the toolkit's own
files (the package, README, `_quarto.yml`, `style/`, the live `review.qmd`).
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED = Path(__file__).resolve().parent / "fixtures" / "bundled"


def _entries(text: str) -> dict[str, str]:
    """BibTeX entries by key, each with the text up to the next entry."""
    parts = re.split(r"(?m)^(?=@\w+\s*\{)", text)
    out = {}
    for part in parts:
        m = re.match(r"@\w+\s*\{\s*([^,\s]+)\s*,", part)
        if m:
            out[m.group(1)] = part
    return out


def merged_bibliography(live: Path = REPO / "references.bib",  # live: the entries the live text cites
                        frozen: Path = BUNDLED / "references.bib",
                        qmd: Path = REPO / "review.qmd") -> str:
    """The frozen bibliography plus the live entries the live review.qmd cites that it lacks,
    for a project that renders the live text on the frozen data: a citation added to the
    live text and the live bibliography resolves, and the frozen studies keep their entries."""
    from analysis.data.bibliography import citations

    text = frozen.read_text(encoding="utf-8")
    have = _entries(text)
    cited = {key for _, key in citations(qmd.read_text(encoding="utf-8"))} if qmd.is_file() else set()
    extra = [entry for key, entry in _entries(live.read_text(encoding="utf-8")).items()
             if key in cited and key not in have]
    return text.rstrip("\n") + "\n" + ("\n" + "\n".join(e.rstrip("\n") + "\n" for e in extra) if extra else "")
