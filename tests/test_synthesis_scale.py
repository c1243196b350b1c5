"""The synthesis of a generated review equals the straightforward computation, study by study.

`synthesise` reads the sheets once and indexes them by study; here each study of a synthetic
project (benchmarks/scale.py on the frozen base in tests/fixtures/scale_base) is analysed on
its own, from sheets filtered to that study alone, and its rows in the whole synthesis must
be the same. Pooled results, subgroups and safety totals are recomputed from those rows.
"""

import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.data.load import load_sheets
from analysis.data.plan import load_plan
from analysis.review.synthesis import POOLED, synthesise
from analysis.stats.pooling import rma

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "tests" / "fixtures" / "scale_base"
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale import generate  # noqa: E402

STUDIES = 40


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = generate(tmp_path_factory.mktemp("scale") / "review", STUDIES, base=BASE)
    sheets = load_sheets(root)  # raises unless every sheet passes validation
    plan = load_plan(root)
    return root, sheets, plan, synthesise(sheets, plan)


def _alone(sheets, key):
    return {name: df[df["study"] == key].reset_index(drop=True) if "study" in df.columns else df
            for name, df in sheets.items()}


@pytest.fixture(scope="module")
def alone(project):
    _, sheets, plan, _ = project
    return {key: synthesise(_alone(sheets, key), plan) for key in sheets["studies"]["study"]}


def _same(a: pd.DataFrame, b: pd.DataFrame):
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


def test_generator_is_deterministic_and_varied(project, tmp_path):
    root, sheets, _, syn = project
    again = generate(tmp_path / "again", STUDIES, base=BASE)
    for path in sorted((root / "extraction").glob("*.csv")):
        assert path.read_bytes() == (again / "extraction" / path.name).read_bytes(), path.name
    assert len(sheets["studies"]) == STUDIES
    arms = sheets["arms"].groupby("study").size()
    assert set(arms) == {2, 3}
    prisma = sheets["prisma"].set_index("data")["n"]
    assert prisma["total_studies"] == (sheets["studies"]["included"] == "yes").sum()
    statuses = {a.status for a in syn.analyses}
    assert POOLED in statuses
    reasons = set(syn.availability["reason"])
    assert {"", "study not identified", "not reported", "only p-values or F statistics",
            "narrative only"} <= reasons


def test_each_study_contributes_what_it_gives_alone(project, alone):
    _, sheets, _, syn = project
    for a in syn.analyses:
        full_av = syn.availability[syn.availability["outcome"] == a.outcome]
        for key, one in alone.items():
            mine = full_av[full_av["study"] == key]
            other = one.availability[one.availability["outcome"] == a.outcome]
            _same(mine, other)
            row = a.effects[a.effects["study"] == key].drop(columns="weight")
            _same(row, one.analysis(a.outcome).effects.drop(columns="weight"))
        # Effects follow the review's order of studies: those that contribute, in that order.
        contributing = full_av.loc[full_av["contributes"] == "yes", "study"]
        assert list(a.effects["study"]) == list(contributing)
        assert a.k == len(contributing)
        assert a.participants == int(a.effects["n1"].sum() + a.effects["n2"].sum())


def test_pooled_results_and_subgroups_from_the_studies_rows(project, alone):
    _, sheets, plan, syn = project
    attrs = sheets["studies"].set_index("study")
    pooled = [a for a in syn.analyses if a.status == POOLED]
    assert pooled
    for a in pooled:
        rows = pd.concat([alone[s].analysis(a.outcome).effects for s in a.studies])
        op = next(o for o in plan.outcomes if o.id == a.outcome)
        ref = rma(rows["yi"].to_numpy(float), rows["vi"].to_numpy(float), method=op.estimator,
                  hk=op.hartung_knapp, level=op.level, measure=op.measure)
        assert a.result.estimate == pytest.approx(ref.estimate, rel=1e-12)
        assert a.result.tau2 == pytest.approx(ref.tau2, rel=1e-9, abs=1e-12)
        assert list(a.effects["weight"]) == pytest.approx(list(ref.weights))
        for _, g in a.subgroups.iterrows():
            values = attrs.loc[list(a.studies), g["by"]].fillna("not reported")
            members = [s for s, v in zip(a.studies, values) if v == g["group"]]
            assert g["k"] == len(members)
            assert g["studies"] == ", ".join(attrs.loc[members, "label"])


def test_safety_rows_of_each_study_are_its_own_tally(project, alone):
    _, sheets, _, syn = project
    safety = syn.safety
    for key, one in alone.items():
        terms = set(one.safety.events)
        ps = safety.per_study
        mine = ps[(ps["study"] == key) & ps["event"].isin(terms)].sort_values(["event", "arm"])
        _same(mine, one.safety.per_study.sort_values(["event", "arm"]))
        ms = safety.missing
        got = ms[(ms["study"] == key) & ms["event"].isin(terms)]
        assert sorted(map(tuple, got.to_numpy())) == sorted(map(tuple, one.safety.missing.to_numpy()))
    # Totals by term and role are the sums of the per-study rows.
    ps = safety.per_study
    for _, t in safety.totals.iterrows():
        rows = ps[ps["event"] == t["event"]]
        rows = rows if t["role"] == "total" else rows[rows["role"] == t["role"]]
        assert t["events"] == rows["events"].sum()
        assert t["studies"] == rows["study"].nunique()
        if rows["at_risk"].notna().all():
            assert t["at_risk"] == rows["at_risk"].sum()
        else:
            assert math.isnan(t["at_risk"])
    # A term is pooled over the studies with counts and denominators in both roles.
    for _, p in safety.pooled.iterrows():
        rows = ps[(ps["event"] == p["event"]) & ps["role"].isin(["active", "control"])]
        both = [s for s, g in rows.groupby("study", sort=False)
                if set(g["role"]) == {"active", "control"} and g["at_risk"].notna().all()]
        assert p["k"] == len(both) and p["studies"] == ", ".join(both)
