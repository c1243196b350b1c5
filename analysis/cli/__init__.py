"""The `review` command: a thin layer over functions that the tests call directly.

Each subcommand lives in its own module exposing `add_arguments(parser)` and
`run(args) -> int`; modules are imported only when their subcommand runs so
`review validate` does not pay for matplotlib or Jupyter.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import ReviewError

COMMANDS = {
    "render": ("analysis.cli.render", "render review.qmd to _output/review.html and review.pdf"),
    "validate": ("analysis.cli.validate", "check the extraction sheets and references.bib"),
    "pool": ("analysis.cli.pool", "meta-analyse any CSV with metafor's column names"),
    "lint": ("analysis.cli.lint", "flag numbers typed into the prose of review.qmd"),
    "ledger": ("analysis.cli.ledger", "compare the published review's claims with the sheets"),
    "numbers": ("analysis.cli.numbers", "list the review's numbers, or which moved since a saved snapshot"),
    "check": ("analysis.cli.lock", "recompute every number and compare it with numbers.lock (exit 1 when any moved)"),
    "lock": ("analysis.cli.lock", "rewrite numbers.lock after an intended change, showing what moved"),
    "diff": ("analysis.cli.diff", "the numbers at a git revision against now, as sentences for a changelog"),
    "reconcile": ("analysis.cli.reconcile", "compare two reviewers' extraction folders cell by cell"),
    "new": ("analysis.cli.new", "create a new review project (empty sheets, or --example)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="review", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # Only the chosen subcommand's module is imported.
        if argv[:1] == [name]:
            try:
                importlib.import_module(module).add_arguments(p)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.startswith("analysis"):
                    print(f"review {name}: not available in this version", file=sys.stderr)
                    return 2
                raise
    args = parser.parse_args(argv)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except ReviewError as exc:
        print(f"review {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"review {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`review ledger | head`): stop quietly, as other tools do
        sys.stdout = None
        return 0
    except Exception as exc:  # a bug, but the user still gets one line, not a traceback
        print(f"review {args.command}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 70


