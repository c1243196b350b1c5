"""Where the tests find their projects.

`BUNDLED` is the frozen copy of the bundled review's data (tests/fixtures/bundled, refreshed
only by `make fixture`); tests that assert values read it, never the live `extraction/` at
`REPO`, so an update of the review does not turn them red. `REPO` is for the toolkit's own
files (the package, README, `_quarto.yml`, `style/`, the live `review.qmd`).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED = Path(__file__).resolve().parent / "fixtures" / "bundled"
