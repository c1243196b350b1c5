"""`review new`: a new project validates, locks, checks, renders and passes its own tests as
created; the worked example (`--example`) gives metafor's values for every pooled number.

The example is a second review unlike the bundled one: metadat's dat.bcg as risk ratios
(REML and Mantel-Haenszel), a subgroup analysis by allocation, a meta-regression on absolute
latitude, and dat.normand1999 as MD and SMD. Reference values: tests/reference/
make_reference_example.R (metafor 3.8.1), kept as reference_example.json.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli.new import create_project
from analysis.data.plan import load_plan, parse_plan, study_columns
from analysis.data.validate import validate_project
from analysis.errors import InputError
from analysis.living.lock import check
from analysis.living.numbers import project_numbers

REF = json.loads((Path(__file__).parent / "reference" / "reference_example.json").read_text(encoding="utf-8"))
REVIEW = Path(sys.executable).with_name("review")
ROOT = Path(__file__).resolve().parents[1]


def close(a, b, rel=1e-5, abs_=1e-8):
    assert a is not None and b is not None, (a, b)
    assert math.isclose(a, b, rel_tol=rel, abs_tol=abs_), (a, b)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return create_project(tmp_path_factory.mktemp("new") / "bcg", example=True)


@pytest.fixture(scope="module")
def numbers(example):
    return project_numbers(example)


def _cli(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(REVIEW), *args], cwd=cwd, capture_output=True, text=True, env=env)


def _own_tests(project):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                          cwd=project, capture_output=True, text=True, env=env)


@pytest.mark.parametrize("with_example", [False, True], ids=["empty", "example"])
def test_new_project_validates_checks_and_passes_its_own_tests(tmp_path, with_example):
    project = create_project(tmp_path / "review", example=with_example)
    for f in ("README.md", "_quarto.yml", "review.qmd", "analysis_plan.yml", "references.bib",
              "Makefile", ".ci/run", "numbers.lock", "extraction/datapackage.json",
              "extraction/studies.csv", "extraction/outcomes.csv", "tests/test_review.py"):
        assert (project / f).is_file(), f
    assert os.access(project / ".ci" / "run", os.X_OK)
    assert validate_project(project) == []
    assert check(project) == []
    done = _own_tests(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_empty_project_has_no_rows_and_one_planned_outcome(tmp_path):
    project = create_project(tmp_path / "review")
    rows = list(csv.reader((project / "extraction" / "studies.csv").open(encoding="utf-8")))
    assert len(rows) == 1  # the header only
    nums = project_numbers(project)
    assert nums["studies.included"] == 0
    assert nums["analysis.primary.status"] == "no usable data"


def test_new_project_carries_the_reference_style_of_the_bundled_review(tmp_path):
    import yaml

    project = create_project(tmp_path / "review")
    config = yaml.safe_load((project / "_quarto.yml").read_text(encoding="utf-8"))
    bundled = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert config["csl"] == bundled["csl"] == "author-date-initials.csl"
    # the same file, so a change to the style reaches new projects too
    assert (project / config["csl"]).read_bytes() == (ROOT / bundled["csl"]).read_bytes()


def test_new_refuses_a_folder_with_files(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="exists and is not an empty folder"):
        create_project(tmp_path / "taken")
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["notes.txt"]
    done = _cli(["new", str(tmp_path / "taken")], tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("review new: ")


@pytest.mark.parametrize("outcome", ["TB_RR", "TB_RR_MH", "LOS_MD", "LOS_SMD"])
def test_example_pooled_values_equal_metafor(numbers, outcome):
    ref = REF[outcome]
    base = f"analysis.{outcome}"
    assert numbers[f"{base}.status"] == "pooled"
    assert numbers[f"{base}.k"] == ref["k"]
    for field in ("estimate", "se", "ci_lb", "ci_ub", "pval", "q", "q_pval", "i2"):
        close(numbers[f"{base}.{field}"], ref[field])
    if "tau2" in ref:
        for field in ("tau2", "pi_lb", "pi_ub"):
            close(numbers[f"{base}.{field}"], ref[field])
    else:  # Mantel-Haenszel: a common effect, no tau^2
        assert numbers[f"{base}.tau2"] is None and numbers[f"{base}.pooling"] == "mantel_haenszel"


def test_example_binary_outcomes_are_locked_on_the_log_scale(numbers):
    assert numbers["analysis.TB_RR.scale"] == "log"
    assert numbers["analysis.TB_RR.measure"] == "RR"
    # Aronson 1948: 4/123 vaccinated, 11/139 not vaccinated
    close(numbers["analysis.TB_RR.study.bcg01.yi"], math.log((4 / 123) / (11 / 139)))
    assert "analysis.LOS_MD.scale" not in numbers


def test_example_subgroups_and_their_test_equal_metafor(numbers):
    for outcome in ("TB_RR", "TB_RR_MH"):
        for group, ref in REF["subgroups"][outcome].items():
            key = f"analysis.{outcome}.subgroup.allocation.{group}"
            assert numbers[f"{key}.k"] == ref["k"]
            for field in ("estimate", "ci_lb", "ci_ub"):
                close(numbers[f"{key}.{field}"], ref[field])
        test = REF["subgroup_test"][outcome]
        key = f"analysis.{outcome}.subgroup_test.allocation"
        close(numbers[f"{key}.q"], test["q"])
        close(numbers[f"{key}.pval"], test["pval"])
        assert numbers[f"{key}.df"] == test["df"] == 2


def test_example_meta_regression_equals_metafor(numbers):
    ref = REF["metareg"]
    key = "analysis.TB_RR.metareg.latitude"
    assert numbers[f"{key}.status"] == "pooled" and numbers[f"{key}.k"] == 13
    for field in ("intercept", "slope", "slope_se", "slope_ci_lb", "slope_ci_ub", "slope_pval",
                  "qm", "qm_pval", "tau2", "i2", "r2"):
        close(numbers[f"{key}.{field}"], ref[field])
    # not run where the plan's method or the data do not allow it, and said why
    assert numbers["analysis.TB_RR_MH.metareg.latitude.status"] == \
        "not run: a meta-regression needs inverse-variance pooling"
    assert numbers["analysis.LOS_MD.metareg.latitude.status"] == \
        "not run: 0 studies report latitude; the plan needs 5"


def test_changing_one_cell_makes_check_fail_naming_the_number(example, tmp_path):
    import shutil

    project = tmp_path / "bcg"
    shutil.copytree(example, project)
    path = project / "extraction" / "outcomes.csv"
    text = path.read_text(encoding="utf-8")
    old = "bcg01,vaccinated,TB,end of follow-up,events,,,123,4,"
    assert text.count(old) == 1
    path.write_text(text.replace(old, "bcg01,vaccinated,TB,end of follow-up,events,,,123,40,"), encoding="utf-8")
    done = _cli(["check"], project)
    assert done.returncode == 1
    assert "analysis.TB_RR.study.bcg01.yi" in done.stdout
    assert "analysis.TB_RR.estimate" in done.stdout
    assert "analysis.TB_RR_MH.estimate" in done.stdout
    assert "review check: " in done.stderr
    # the changelog reads the locked logarithms as ratios
    from analysis.living.changelog import describe
    from analysis.living.lock import read_lock
    from analysis.living.names import names_for

    first = describe(read_lock(project / "numbers.lock"), project_numbers(project), names_for(project))[0]
    was = " to ".join(f"{math.exp(REF['TB_RR'][k]):.2f}" for k in ("ci_lb", "ci_ub"))
    assert first.startswith("Tuberculosis, risk ratio (random effects): pooled RR ")
    assert f"instead of {math.exp(REF['TB_RR']['estimate']):.2f} ({was})" in first


def test_events_above_n_is_refused_with_its_line(example, tmp_path):
    import shutil

    project = tmp_path / "bcg"
    shutil.copytree(example, project)
    path = project / "extraction" / "outcomes.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(",,,123,4,", ",,,123,124,"), encoding="utf-8")
    assert [str(p) for p in validate_project(project)] == ["outcomes.csv:2:events: larger than n 123 (124)"]


def test_example_plan_names_columns_of_its_own_studies_sheet(example):
    import yaml

    raw = yaml.safe_load((example / "analysis_plan.yml").read_text(encoding="utf-8"))
    assert [s.by for s in load_plan(example).subgroups] == ["allocation"]
    raw["meta_regression"][0]["by"] = "allocation"  # text, not a number
    with pytest.raises(InputError, match=r"meta_regression\[0\]\.by: unknown value 'allocation'; "
                                         r"expected a numeric column of studies.csv: year, latitude"):
        parse_plan(raw, study_columns(example))
    raw["meta_regression"][0]["by"] = "latitude"
    raw["outcomes"][2]["pooling"] = "mantel_haenszel"
    with pytest.raises(InputError, match=r"outcomes\[2\]\.pooling: Mantel-Haenszel pools 2x2 tables"):
        parse_plan(raw, study_columns(example))


def test_example_renders_ratios_and_the_review_tables(example, tmp_path):
    import shutil

    from analysis.render import render_project

    project = tmp_path / "bcg"
    shutil.copytree(example, project)
    render_project(project, to="html", engine="builtin")
    html = (project / "_output" / "review.html").read_text(encoding="utf-8")
    ratio = f"{math.exp(REF['TB_RR']['estimate']):.2f}"  # 0.49
    lb, ub = (f"{math.exp(REF['TB_RR'][k]):.2f}" for k in ("ci_lb", "ci_ub"))
    assert f"RR {ratio} (95% CI {lb} to {ub})" in html
    assert "test for subgroup differences" in html
    assert "Colditz" in html and "Normand" in html
    # the bundled style: every author surname first with initials (pandoc's default style
    # would print the second author as "T. F. Brewer"), the DOI as a link
    assert "Colditz, G. A., Brewer, T. F., Berkey, C. S." in html
    assert 'href="https://doi.org/10.1001/jama.1994.03510330076038"' in html
    assert html.count("data:image/svg+xml") == 4  # one forest plot per pooled analysis


def _with_outcome(example, tmp_path, outcome: dict):
    import shutil

    import yaml

    project = tmp_path / "bcg"
    shutil.copytree(example, project)
    plan = yaml.safe_load((project / "analysis_plan.yml").read_text(encoding="utf-8"))
    plan["outcomes"].append(outcome)
    (project / "analysis_plan.yml").write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return project


def test_peto_odds_ratio_equals_metafor(example, tmp_path):
    project = _with_outcome(example, tmp_path, {"id": "TB_OR_PETO", "label": "Tuberculosis, Peto odds ratio",
                                                "codes": ["TB"], "measure": "OR", "pooling": "peto",
                                                "higher_is_better": False})
    nums = project_numbers(project)
    ref = REF["TB_OR_PETO"]
    assert nums["analysis.TB_OR_PETO.k"] == ref["k"] and nums["analysis.TB_OR_PETO.scale"] == "log"
    for field in ("estimate", "se", "ci_lb", "ci_ub", "pval", "q", "i2"):
        close(nums[f"analysis.TB_OR_PETO.{field}"], ref[field])


def test_generic_measure_from_contrasts_reproduces_the_mean_difference(example, tmp_path):
    """GEN pools each study's estimate with its SE: the normand1999 arm means turned into
    contrasts (difference, SE of the difference) give metafor's MD back."""
    project = _with_outcome(example, tmp_path, {"id": "LOS_GEN", "label": "Length of stay from contrasts",
                                                "codes": ["LOS"], "measure": "GEN", "data_forms": ["contrast"],
                                                "higher_is_better": False})
    path = project / "extraction" / "outcomes.csv"
    with path.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    arms = {}
    for r in rows:
        if r["outcome"] == "LOS":
            arms.setdefault(r["study"], {})[r["arm"]] = r
    for study, a in arms.items():
        s, c = a["specialist"], a["routine"]
        diff = float(s["mean"]) - float(c["mean"])
        se = math.sqrt(float(s["sd"]) ** 2 / float(s["n"]) + float(c["sd"]) ** 2 / float(c["n"]))
        rows.append({**{f: "" for f in fields}, "study": study, "outcome": "LOS", "timepoint": "discharge",
                     "form": "contrast", "contrast_measure": "GEN", "contrast": repr(diff), "se": repr(se),
                     "source": "derived from the arm rows above", "location": "difference of means and its SE"})
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    assert validate_project(project) == []
    nums = project_numbers(project)
    assert nums["analysis.LOS_GEN.k"] == 9 and nums["analysis.LOS_GEN.measure"] == "GEN"
    for field in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "i2"):
        close(nums[f"analysis.LOS_GEN.{field}"], REF["LOS_MD"][field])


def test_ratio_contrasts_are_logged_before_pooling(example, tmp_path):
    """A risk ratio reported as a ratio with its 95% CI is pooled on the log scale: the BCG
    tables turned into such contrasts give metafor's REML risk ratio back."""
    from scipy import stats

    project = _with_outcome(example, tmp_path, {"id": "TB_RR_REPORTED", "label": "Tuberculosis, reported RR",
                                                "codes": ["TB"], "data_forms": ["contrast"],
                                                "higher_is_better": False})
    path = project / "extraction" / "outcomes.csv"
    with path.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    z = stats.norm.isf(0.025)
    arms = {}
    for r in rows:
        if r["outcome"] == "TB":
            arms.setdefault(r["study"], {})[r["arm"]] = (int(r["events"]), int(r["n"]))
    for study, a in arms.items():
        (e1, n1), (e2, n2) = a["vaccinated"], a["control"]
        yi = math.log((e1 / n1) / (e2 / n2))
        se = math.sqrt(1 / e1 - 1 / n1 + 1 / e2 - 1 / n2)
        rows.append({**{f: "" for f in fields}, "study": study, "outcome": "TB", "timepoint": "end of follow-up",
                     "form": "contrast", "contrast_measure": "RR", "contrast": repr(math.exp(yi)),
                     "ci_lb": repr(math.exp(yi - z * se)), "ci_ub": repr(math.exp(yi + z * se)),
                     "source": "derived from the arm rows above", "location": "risk ratio and its 95% CI"})
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    nums = project_numbers(project)
    assert nums["analysis.TB_RR_REPORTED.k"] == 13 and nums["analysis.TB_RR_REPORTED.scale"] == "log"
    for field in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "i2"):
        close(nums[f"analysis.TB_RR_REPORTED.{field}"], REF["TB_RR"][field])
