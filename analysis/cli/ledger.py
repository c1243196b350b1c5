"""`review ledger`: the published review's claims set against the sheets."""

from __future__ import annotations

import json
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--root", help="project folder (default: found from the current folder)")
    parser.add_argument("--json", action="store_true", help="print the ledger as JSON records")


def run(args) -> int:
    from ..review.ledger import STATUSES, ledger
    from ..paths import project_root
    from ..review.tables import ledger_table

    root = Path(args.root) if args.root else project_root()
    df = ledger(root)
    if args.json:
        print(json.dumps(df.to_dict(orient="records"), indent=2, ensure_ascii=False))
    else:
        print(ledger_table(df))
        counts = df["status"].value_counts()
        print(", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES))
    return 0
