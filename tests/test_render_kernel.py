"""Cell options and inline code as run in the Jupyter kernel (one small document, one kernel)."""

from __future__ import annotations

import re
import textwrap

import pytest

from analysis.errors import RenderError
from analysis.render.builtin import Builder

DOC = """\
---
title: K
execute:
  echo: false
---

```{python}
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
import warnings
value = 2.5
```

Inline: `{python} value * 2`, `{python} Markdown("**bold**")`, `{python} "a" + "b"`.

```{python}
#| label: fig-twice
#| fig-cap: Shown once
fig, ax = plt.subplots(figsize=(2, 1))
ax.plot([0, 1])
display(fig)
```

```{python}
#| label: tolerated
#| error: true
1 / 0
```

```{python}
#| label: noisy
warnings.warn("loud warning")
```

```{python}
#| label: hushed
#| warning: false
warnings.warn("quiet warning")
```

```{python}
#| label: skipped
#| eval: false
raise SystemExit("never runs")
```

Later: `{python} value`.

Scalars: `{python} __import__("numpy").int64(3)`, `{python} int(__import__("numpy").int64(3))`.
"""


@pytest.fixture(scope="module")
def body(tmp_path_factory):
    root = tmp_path_factory.mktemp("kernel")
    (root / "review.qmd").write_text(DOC, encoding="utf-8")
    (root / "build").mkdir()
    b = Builder(root, root / "build")
    a = b.scan()
    b.execute(a)
    return b, b.assemble("html", a)


def test_inline_values_in_document_order(body):
    _, text = body
    assert "Inline: 5.0, **bold**, ab." in text
    assert "Later: 2.5." in text


def test_inline_value_is_written_as_quarto_writes_it(body):
    # a non-string shows as its repr, as under Quarto: numpy scalars must be converted
    _, text = body
    assert "Scalars: np.int64(3), 3." in text


def test_pyplot_figure_displayed_and_auto_shown_counts_once(body):
    b, text = body
    assert text.count("![Figure\u00a01: Shown once](figures/fig-twice.svg){#fig-twice}") == 1
    svg = (b.build / "figures/fig-twice.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg


def test_error_true_shows_the_error(body):
    _, text = body
    assert re.search(r"``` \{\.cell-output-error\}\n.*ZeroDivisionError", text, re.S)


def test_warning_option(body):
    _, text = body
    assert "loud warning" in text and "quiet warning" not in text


def test_eval_false_not_run(body):
    b, text = body
    assert "never runs" not in text
    assert b.timings["kernel start"] > 0 and b.timings["cells"] > 0


def test_failing_inline_expression_names_its_line(tmp_path):
    (tmp_path / "review.qmd").write_text(textwrap.dedent("""\
        ---
        title: K
        ---

        Value `{python} missing_name + 1`.
        """), encoding="utf-8")
    (tmp_path / "build").mkdir()
    b = Builder(tmp_path, tmp_path / "build")
    with pytest.raises(RenderError) as err:
        b.execute(b.scan())
    assert str(err.value) == ("inline expression `missing_name + 1` at review.qmd:5 failed: "
                              "NameError: name 'missing_name' is not defined")


def _inline_error(tmp_path, expr: str) -> str:
    (tmp_path / "review.qmd").write_text(f"---\ntitle: K\n---\n\nSome text.\n\nValue: `{{python}} {expr}`.\n",
                                         encoding="utf-8")
    (tmp_path / "build").mkdir()
    b = Builder(tmp_path, tmp_path / "build")
    with pytest.raises(RenderError) as err:
        b.execute(b.scan())
    return str(err.value)


# Quarto leaves an inline expression whose value is empty in the text as code
# (quarto-cli src/core/execute-inline.ts) and prints None as "None"; both are refused.
@pytest.mark.parametrize("expr, message", [
    ('""', 'review.qmd:7: inline expression `""` evaluates to an empty string, and Quarto then prints the '
           'expression itself as code; compute the sentence in a cell with `#| output: asis`, or make the '
           'expression return a non-empty value'),
    ("None", "review.qmd:7: inline expression `None` evaluates to None, which Quarto prints as the word None; "
             "return the text to show, or compute the sentence in a cell with `#| output: asis`"),
    ('__import__("IPython").display.Markdown("")', 'review.qmd:7: inline expression '
     '`__import__("IPython").display.Markdown("")` evaluates to an empty string, and Quarto then prints the '
     'expression itself as code; compute the sentence in a cell with `#| output: asis`, or make the '
     'expression return a non-empty value'),
    ('__import__("pandas").DataFrame({"a": [1]})', 'review.qmd:7: inline expression '
     '`__import__("pandas").DataFrame({"a": [1]})` gives a value with a text/html form, which Quarto inserts '
     'raw into HTML or PDF; return a string (e.g. f"{...}")'),
])
def test_inline_value_quarto_would_not_show_is_refused(tmp_path, expr, message):
    assert _inline_error(tmp_path, expr) == message


def test_inline_string_is_shown_literally_as_under_quarto(tmp_path):
    # jupyter-inline.ts: a quoted text/plain value loses its quotes and its markdown
    # punctuation is escaped, so "*x*" prints with its asterisks under Quarto too
    (tmp_path / "review.qmd").write_text(
        "---\ntitle: K\n---\n\nA `{python} '*not emphasis* [x](y) 1.5'` and `{python} \"it's\"`.\n", encoding="utf-8")
    (tmp_path / "build").mkdir()
    b = Builder(tmp_path, tmp_path / "build")
    a = b.scan()
    b.execute(a)
    assert "A \\*not emphasis\\* \\[x\\]\\(y\\) 1\\.5 and it's." in b.assemble("html", a)
