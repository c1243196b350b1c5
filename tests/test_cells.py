import numpy as np
import pandas as pd

from analysis.data.cells import is_blank, text


def test_blank_cells_in_every_form_a_sheet_gives():
    for x in (None, pd.NA, float("nan"), np.float64("nan"), "", "   ", "\t"):
        assert is_blank(x), repr(x)
    for x in (0, 0.0, "0", "none", False, np.int64(0)):
        assert not is_blank(x), repr(x)


def test_text_strips_and_empties():
    assert text("  kim2014 ") == "kim2014"
    assert text(pd.NA) == "" and text(float("nan")) == ""
    assert text(16) == "16"
