"""`review lint`: typed numbers are caught, years, citations, cross-references and code pass."""

import subprocess
import sys
import textwrap

from analysis.review.lint import ALLOWED_NAMES, lint_qmd, lint_text


def problems(text):
    return [(p.line, p.col, p.number) for p in lint_text(textwrap.dedent(text))]


def test_catches_a_typed_number_with_line_and_column():
    text = "Intro line.\nWe pooled 42 participants and 3.5 points.\n"
    assert problems(text) == [(2, 11, "42"), (2, 31, "3.5")]
    assert str(lint_text(text)[0]) == "review.qmd:2:11: number typed into prose (42)"


def test_percent_dates_and_ordinals_are_numbers():
    assert [p[2] for p in problems("Up 42% by 1 March 2024, the 3rd look.\n")] == ["42", "1", "3"]


def test_years_citations_and_crossrefs_pass():
    text = """\
    As Kim et al., 2014 and Spampinato 2020a found [@kim2014; @im2022, p. 33], see @fig-forest-bbs,
    @tbl-results and @sec-methods; also @bonni2014 (Koch et al. 2019).
    """
    assert problems(text) == []


def test_section_table_figure_numbers_pass_but_other_numbers_do_not():
    text = "Sections 5.1 and 5.2 of the review, Table 1 and Fig. 2 differ by 11 studies.\n"
    assert problems(text) == [(1, 66, "11")]
    assert problems("As in § 5.3 and figures 2-3, not 7.\n") == [(1, 34, "7")]


def test_code_front_matter_comments_and_inline_expressions_pass():
    text = """\
    ---
    title: "Review 2"
    date: 2025-02-03
    ---

    We found `{python} n_trials` trials and `x = 12` in code.
    <!-- a comment with 7 in it
    and 8 on the next line -->

    ```{python}
    #| label: tbl-1
    n_trials = 11
    ```

    ~~~
    99 bottles
    ~~~
    ::: {#fig-forest layout-ncol=2}
    Text 5 here.
    """
    assert problems(text) == [(19, 6, "5")]


def test_labels_and_allowed_instrument_names_pass():
    text = "M1 and T0 to T2 with PRISMA 2020, RoB 2, ROBINS-I and the 10MWT (ChiCTR1900026516).\n"
    assert problems(text) == []
    assert "10MWT" in ALLOWED_NAMES


def test_links_and_addresses_pass():
    text = "See [the trial](https://doi.org/10.2340/16501977-1802) and doi:10.3389/fnins.2025.1405637.\n"
    assert problems(text) == []


def test_cli_exit_codes(tmp_path):
    bad = tmp_path / "review.qmd"
    bad.write_text("Twelve is 12.\n", encoding="utf-8")
    good = tmp_path / "ok.qmd"
    good.write_text("No numbers since 2024 [@kim2014].\n", encoding="utf-8")
    run = lambda f: subprocess.run([sys.executable, "-m", "analysis.cli", "lint", str(f)],
                                   capture_output=True, text=True)
    out = run(bad)
    assert out.returncode == 1
    assert out.stdout.strip() == f"{bad}:1:11: number typed into prose (12)"
    assert run(good).returncode == 0
    missing = run(tmp_path / "none.qmd")
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert len(lint_qmd(bad)) == 1


def test_markup_and_notation_pass():
    text = """\
    1. First item with $I^2$ and $\\tau^2$ and x_1.
    2) Second item ![A figure](fig.png){width=80%} <img width="300" src="a.png">
    Heterogeneity of 12% is typed.
    """
    assert problems(text) == [(3, 18, "12")]
