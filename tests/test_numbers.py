"""The numbers snapshot: stable keys, rounding, diffs, and what a changed sheet moves."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.cli import numbers as numbers_command
from analysis.stats.effects import escalc
from analysis.living.numbers import (
    ADDED, CHANGED, POOL_FIELDS, REMOVED, SNAPSHOT, Change, clean, diff_numbers, dumps, format_changes,
    project_numbers, read_snapshot,
)
from analysis.errors import InputError
from analysis.data.plan import load_plan
from analysis.stats.pooling import rma
from analysis.render import snapshot

from fixture_paths import BUNDLED, REPO, merged_bibliography  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "render_project"
# The live review's text and style, with the frozen data of tests/fixtures/bundled and its lock:
# what the tests assert does not move when an author updates the live sheets.
REVIEW_FILES = ["review.qmd", "_quarto.yml", "style", "author-date-initials.csl"]
DATA_FILES = ["review_tables.py", "analysis_plan.yml", "references.bib", "extraction", "numbers.lock", "_version.yml"]
PROJECT_FILES = REVIEW_FILES + DATA_FILES


def copy_project(dest: Path) -> Path:
    dest.mkdir()
    for name in PROJECT_FILES:
        src = (REPO if name in REVIEW_FILES else BUNDLED) / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    # the live text cites from the live bibliography; the frozen studies keep their entries
    (dest / "references.bib").write_text(merged_bibliography(), encoding="utf-8")
    return dest


def edit_cell(path: Path, match: dict, column: str, value: str) -> None:
    """Set `column` in the single row of a CSV sheet whose cells equal `match`."""
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    hits = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(hits) == 1, hits
    hits[0][column] = value
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("n") / "review")
    return root, project_numbers(root)


# --- values and keys --------------------------------------------------------------------

def test_rounding_hides_float_noise_and_missing_is_null():
    assert clean(0.1 + 0.2) == clean(0.3) == 0.3
    assert diff_numbers({"x": clean(0.1 + 0.2)}, {"x": clean(0.3)}) == []
    assert clean(1 / 3) == 0.333333
    assert clean(1234567.89) == 1234570
    assert clean(-0.000123456789) == -0.000123457
    assert clean(np.float64(2.0)) == 2 and type(clean(np.float64(2.0))) is int
    assert type(clean(np.int64(7))) is int
    for missing in (None, math.nan, np.nan, pd.NA, np.float64("nan"), math.inf):
        assert clean(missing) is None
    assert clean(True) is True and clean(" pooled ") == "pooled"
    # a real move in the 6th significant digit still shows
    assert clean(0.421925) != clean(0.421926)


def test_keys_sorted_stable_and_json_ready(bundled):
    root, numbers = bundled
    assert list(numbers) == sorted(numbers)
    assert json.loads(dumps(numbers)) == numbers
    assert all(v is None or type(v) in (int, float, str, bool) for v in numbers.values())
    assert all(" " not in k and ".." not in k for k in numbers)
    # the same sheets give the same text, byte for byte
    assert dumps(project_numbers(root)) == dumps(numbers)

    studies = pd.read_csv(root / "extraction/studies.csv", dtype=str, keep_default_na=False)
    included = studies[studies["included"] != "no"]
    assert numbers["studies.included"] == len(included)
    assert numbers["studies.by_design.rct"] == int((included["design"] == "rct").sum())
    assert numbers["studies.participants"] == sum(int(v) for v in included["n_total"] if v)
    claims = pd.read_csv(root / "extraction/claims.csv", dtype=str)
    assert {k.split(".")[1] for k in numbers if k.startswith("ledger.")} == set(claims["claim_id"])
    assert numbers["analysis.BBS_SMD_any_change.status"] == "pooled"
    search = pd.read_csv(root / "extraction/search.csv", dtype=str, keep_default_na=False)
    assert numbers["search.sources"] == len(search)
    assert numbers["search.by_kind.database"] == int((search["kind"] == "database").sum())
    assert numbers["search.source.PubMed.date_searched"] == "2024-03-01"
    assert numbers["search.source.PubMed.date_qualifier"] == "before"
    # an outcome that is not pooled has a status but no pooled numbers
    unpooled = [k[:-len(".status")] for k, v in numbers.items()
                if k.startswith("analysis.") and k.endswith(".status") and v != "pooled"
                and ".subgroup." not in k]
    assert unpooled and all(f"{o}.estimate" not in numbers for o in unpooled)


# --- diffs ------------------------------------------------------------------------------

def test_diff_reports_added_removed_changed_exactly():
    old = {"a.k": 2, "a.estimate": 0.42, "a.status": "pooled", "b.n": 10, "c.flag": True, "d": None, "e": 3}
    new = {"a.k": 3, "a.estimate": 0.51, "a.status": "pooled", "c.flag": 1, "d": None, "e": 3.0, "f.n": 4}
    changes = diff_numbers(old, new)
    assert changes == [
        Change("a.estimate", CHANGED, 0.42, 0.51),
        Change("a.k", CHANGED, 2, 3),
        Change("b.n", REMOVED, 10, None),
        Change("c.flag", CHANGED, True, 1),
        Change("f.n", ADDED, None, 4),
    ]
    assert format_changes(changes).splitlines() == [
        "a.estimate: 0.42 -> 0.51", "a.k: 2 -> 3", "b.n: removed (was 10)", "c.flag: true -> 1",
        "f.n: added 4"]
    assert format_changes([]) == "no number moved"
    assert format_changes(diff_numbers({"s": "pooled"}, {"s": None})) == 's: "pooled" -> null'


def test_read_snapshot_refuses_what_is_not_one(tmp_path):
    bad = tmp_path / "n.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a numbers snapshot"):
        read_snapshot(bad)
    bad.write_text("{oops")
    with pytest.raises(InputError, match="not a numbers snapshot"):
        read_snapshot(bad)
    with pytest.raises(InputError, match="not found"):
        read_snapshot(tmp_path / "none.json")


# --- a changed sheet --------------------------------------------------------------------

def test_changed_event_count_moves_exactly_its_numbers(bundled, tmp_path, capsys):
    root0, before = bundled
    root = copy_project(tmp_path / "review")
    snap = tmp_path / "before.json"
    snap.write_text(dumps(before), encoding="utf-8")
    edit_cell(root / "extraction/adverse_events.csv", {"study": "im2022", "event": "vertigo"}, "events", "2")
    after = project_numbers(root)
    changes = {c.key: c for c in diff_numbers(before, after)}

    # One more event over the same denominators (kim2014's "none" counts its arms in).
    expected = {}
    for group in ("active", "total"):
        x = before[f"safety.vertigo.{group}.events"] + 1
        n = before[f"safety.vertigo.{group}.at_risk"]
        lo = stats.beta.ppf(0.025, x, n - x + 1)
        hi = stats.beta.isf(0.025, x + 1, n - x)
        expected.update({f"safety.vertigo.{group}.events": x, f"safety.vertigo.{group}.proportion": x / n,
                         f"safety.vertigo.{group}.ci_lb": lo, f"safety.vertigo.{group}.ci_ub": hi})
    # the published review says one vertigo (claim C27): the ledger now differs
    expected.update({"ledger.C27.reproduced": "2", "ledger.C27.status": "differs"})
    assert set(changes) == set(expected)
    for key, value in expected.items():
        assert changes[key].kind == CHANGED and changes[key].new == clean(value), key
    assert before["ledger.C27.status"] == "consistent (taken from the review)"

    # `review numbers --against` prints the same changes, one per line
    parser = argparse.ArgumentParser()
    numbers_command.add_arguments(parser)
    assert numbers_command.run(parser.parse_args(["--root", str(root), "--against", str(snap)])) == 0
    out = capsys.readouterr().out
    assert out == format_changes(diff_numbers(before, after)) + "\n"
    assert numbers_command.run(parser.parse_args(["--root", str(root0), "--against", str(snap)])) == 0
    assert capsys.readouterr().out == "no number moved\n"


def test_project_without_sheets_records_nothing(tmp_path):
    root = tmp_path / "p"
    shutil.copytree(FIXTURE, root)
    assert snapshot.write(root, tmp_path / SNAPSHOT) is None
    assert not (tmp_path / SNAPSHOT).exists()


def test_snapshot_of_invalid_sheets_says_why(tmp_path):
    root = copy_project(tmp_path / "p")
    arms = root / "extraction/arms.csv"
    arms.write_text(arms.read_text(encoding="utf-8").replace(",active,", ",actve,", 1), encoding="utf-8")
    problem = snapshot.write(root, tmp_path / SNAPSHOT)
    assert problem.startswith("numbers not recorded: arms.csv:") and "actve" in problem
    assert not (tmp_path / SNAPSHOT).exists()


# --- review render ----------------------------------------------------------------------

def _moved(err: str) -> dict[str, str]:
    lines = err.splitlines()
    start = lines.index("numbers moved since the last render:")
    out = {}
    for line in lines[start + 1:]:
        if line.startswith("render:") or ": " not in line:
            break
        key, _, rest = line.partition(": ")
        out[key] = rest
    return out


@pytest.mark.skipif(not (REPO / "review.qmd").exists(), reason="the bundled review.qmd is not written yet")
def test_render_reports_exactly_the_numbers_that_moved(tmp_path, capsys):
    from analysis.cli import main

    root = copy_project(tmp_path / "review")
    render = ["render", "--root", str(root), "--engine", "builtin", "--to", "html"]
    assert main(render) == 0
    assert "numbers recorded in _output/numbers.json" in capsys.readouterr().err
    snapshot = root / "_output" / SNAPSHOT
    before = read_snapshot(snapshot)
    assert before == project_numbers(root)

    # Im 2022's BBS change in the active arm, one point higher
    sheet = root / "extraction/outcomes.csv"
    out = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    where = {"study": "im2022", "arm": "rtms", "outcome": "BBS", "form": "change", "timepoint": "T0-T2"}
    old_mean = out[(out[list(where)] == pd.Series(where)).all(axis=1)]["mean"].item()
    edit_cell(sheet, where, "mean", f"{float(old_mean) + 1:g}")
    assert main(render) == 0
    moved = _moved(capsys.readouterr().err)

    # Expected values computed here from the sheet, with effects and pooling directly.
    plan = load_plan(root)
    out = pd.read_csv(sheet, dtype=str, keep_default_na=False)

    def arm(study, arm_id, form):
        r = out[(out["study"] == study) & (out["arm"] == arm_id) & (out["outcome"] == "BBS")
                & (out["form"] == form) & (out["mean"] != "")]
        assert len(r) == 1
        return float(r["mean"].item()), float(r["sd"].item()), float(r["n"].item())

    im_a, im_c = arm("im2022", "rtms", "change"), arm("im2022", "sham", "change")
    kim_a, kim_c = arm("kim2014", "real", "percent_change"), arm("kim2014", "sham", "percent_change")
    expected = {}
    md = escalc("MD", m1i=[im_a[0]], sd1i=[im_a[1]], n1i=[im_a[2]], m2i=[im_c[0]], sd2i=[im_c[1]], n2i=[im_c[2]])
    z = stats.norm.isf(0.025)
    yi, se = float(md.yi[0]), math.sqrt(float(md.vi[0]))
    expected.update({"analysis.BBS.study.im2022.yi": yi, "analysis.BBS.study.im2022.ci_lb": yi - z * se,
                     "analysis.BBS.study.im2022.ci_ub": yi + z * se})
    op = next(o for o in plan.outcomes if o.id == "BBS_SMD_any_change")
    smd = escalc("SMD", m1i=[kim_a[0], im_a[0]], sd1i=[kim_a[1], im_a[1]], n1i=[kim_a[2], im_a[2]],
                 m2i=[kim_c[0], im_c[0]], sd2i=[kim_c[1], im_c[1]], n2i=[kim_c[2], im_c[2]])
    res = rma(smd.yi, smd.vi, method=op.estimator, hk=op.hartung_knapp, level=op.level)
    base = "analysis.BBS_SMD_any_change"
    expected.update({f"{base}.{f}": getattr(res, f) for f in POOL_FIELDS})
    for i, study in enumerate(("kim2014", "im2022")):
        s = math.sqrt(float(smd.vi[i]))
        y = float(smd.yi[i])
        expected.update({f"{base}.study.{study}.yi": y, f"{base}.study.{study}.ci_lb": y - z * s,
                         f"{base}.study.{study}.ci_ub": y + z * s,
                         f"{base}.study.{study}.weight": res.weights[i]})
    really_moved = {k: clean(v) for k, v in expected.items() if clean(v) != before[k]}
    assert "analysis.BBS_SMD_any_change.estimate" in really_moved
    assert set(moved) == set(really_moved)
    for key, value in really_moved.items():
        assert moved[key] == f"{json.dumps(before[key])} -> {json.dumps(value)}", key
    assert read_snapshot(snapshot) == {**before, **really_moved}

    # A render that fails keeps the last good snapshot, byte for byte.
    kept = snapshot.read_bytes()
    edit_cell(sheet, where, "mean", f"{float(old_mean) + 2:g}")
    qmd = root / "review.qmd"
    qmd.write_text(qmd.read_text(encoding="utf-8") + "\n{{< pagebreak >}}\n", encoding="utf-8")
    assert main(render + ["--quiet"]) == 1
    assert snapshot.read_bytes() == kept
