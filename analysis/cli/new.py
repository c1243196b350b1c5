"""`review new DIR [--example]`: a new review project that validates, renders and passes its tests.

The project is copied from the toolkit's template (`analysis/cli/template`): README for the
author, `_quarto.yml`, a short plan-driven `review.qmd`, a commented `analysis_plan.yml`,
`references.bib`, a Makefile, `.ci/run` and tests; its schema is the toolkit's core
(`analysis/data/core.json`) and its sheets are the core's header rows. With `--example` the
schema (the core plus the example's vocabulary), sheets, plan and bibliography of the worked
example (`analysis/cli/example`) replace them. `numbers.lock` is written last, so
`review check` passes as created. The project is built in a temporary folder beside DIR and
moved into place only when complete.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from ..data.core import core_package
from ..errors import InputError

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "template"
EXAMPLE = HERE / "example"
# Template files stored under names that a package's data patterns can carry.
RENAMED = {"ci": ".ci"}
INTRO_MARK = "# Methods {#sec-methods}"


def add_arguments(parser) -> None:
    parser.add_argument("dir", help="folder to create (must not exist, or be empty)")
    parser.add_argument("--example", action="store_true",
                        help="fill it with the worked example (metadat's dat.bcg and dat.normand1999)")


def _copy_tree(src: Path, dest: Path) -> None:
    for path in sorted(src.rglob("*")):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        rel = path.relative_to(src)
        rel = Path(RENAMED.get(rel.parts[0], rel.parts[0]), *rel.parts[1:])
        target = dest / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def create_project(dest, example: bool = False) -> Path:
    """Write a new review project into `dest`; InputError when `dest` is a file or not empty."""
    from ..living.lock import lock

    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{dest}: exists and is not an empty folder; choose a new one")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
        build = Path(tmp) / "project"
        _copy_tree(TEMPLATE, build)
        ext = build / "extraction"
        ext.mkdir(exist_ok=True)
        pkg = core_package()
        (ext / "datapackage.json").write_text(json.dumps(pkg, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        for res in pkg["resources"]:
            header = ",".join(f["name"] for f in res["schema"]["fields"])
            (ext / res["path"]).write_text(header + "\n", encoding="utf-8")
        if example:
            intro = (EXAMPLE / "introduction.md").read_text(encoding="utf-8")
            for path in sorted(EXAMPLE.rglob("*")):
                rel = path.relative_to(EXAMPLE)
                if path.is_file() and rel.name != "introduction.md":
                    (build / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, build / rel)
            qmd = build / "review.qmd"
            text = qmd.read_text(encoding="utf-8")
            text = text.replace('title: "Title of the review"',
                                'title: "Worked example: BCG vaccine trials and stroke-unit length of stay"')
            text = text.replace(INTRO_MARK, "# Introduction {#sec-intro}\n\n" + intro + "\n" + INTRO_MARK)
            qmd.write_text(text, encoding="utf-8")
        lock(build)
        if dest.exists():
            dest.rmdir()
        build.rename(dest)
    return dest


def run(args) -> int:
    dest = create_project(args.dir, example=args.example)
    what = "worked example" if args.example else "review project"
    print(f"{dest}: new {what}. Next:\n"
          f"  cd {dest}\n"
          "  review validate      # the sheets against their schema\n"
          "  review render        # _output/review.html and review.pdf\n"
          "  make test            # validate, check numbers.lock, run tests/", file=sys.stdout)
    return 0
