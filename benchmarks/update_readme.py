"""Copy the benchmark tables from benchmarks/results/*.md into README's performance section.

Each results file NAME.md replaces the text between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->` in README.md, so the README always shows the last measured run.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def splice(readme: str, name: str, body: str) -> str:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(readme):
        raise SystemExit(f"README.md: no {start} ... {end} block")
    # Drop the results file's own top heading: README gives the section its heading.
    body = re.sub(r"\A#[^\n]*\n+", "", body.strip()) + "\n"
    return pattern.sub(lambda _m: f"{start}\n{body}{end}", readme)


def main() -> int:
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    for result in sorted((ROOT / "benchmarks" / "results").glob("*.md")):
        readme = splice(readme, result.stem, result.read_text(encoding="utf-8"))
    readme_path.write_text(readme, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
