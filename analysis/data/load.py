"""The sheets as typed DataFrames, loaded only when they pass validation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError
from .bibliography import check_bibliography
from .sheets import to_frame
from .validate import BIB_FILE, check_sheets


def load_sheets(root) -> dict[str, pd.DataFrame]:
    """Typed DataFrames of every sheet; InputError (first problem and the count) when anything fails validation."""
    sheets, problems = check_sheets(root)
    # Citations in review.qmd are the text's concern, not the data's: not checked here.
    problems += check_bibliography(Path(root) / BIB_FILE)
    if problems:
        n = len(problems)
        more = "" if n == 1 else f" [first of {n} problems; `review validate` lists them all]"
        raise InputError(f"{problems[0]}{more}")
    return {name: to_frame(sheet) for name, sheet in sheets.items()}
