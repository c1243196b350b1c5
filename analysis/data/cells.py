"""One notion of an empty cell for every module that reads the sheets.

Sheets arrive typed (pandas NA, NaN) or as plain CSV text (""), and an empty cell means
"not reported" wherever it is read.
"""

from __future__ import annotations

import math

import pandas as pd


def is_blank(x) -> bool:
    """True for None, pandas NA, a NaN float and a string of only spaces."""
    if x is None or x is pd.NA:
        return True
    if isinstance(x, float) and math.isnan(x):  # numpy float64 is a float subclass
        return True
    return isinstance(x, str) and not x.strip()


def text(x) -> str:
    """The cell as stripped text, "" when blank."""
    return "" if is_blank(x) else str(x).strip()
