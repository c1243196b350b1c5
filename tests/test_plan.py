"""analysis_plan.yml: read, checked key by key, and rendered for the methods section."""

from pathlib import Path

import pytest
import yaml

from analysis.errors import InputError
from analysis.data.plan import load_plan, parse_plan, study_columns
from fixture_paths import BUNDLED, REPO

ROOT = BUNDLED  # the frozen copy of the bundled review (tests/fixtures/bundled)


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((ROOT / "analysis_plan.yml").read_text(encoding="utf-8"))


def test_bundled_plan_loads_with_defaults_applied():
    plan = load_plan(ROOT)
    ids = [o.id for o in plan.outcomes]
    for needed in ("BBS", "TUG", "ABC", "10MWT_time", "FMA_LE", "MAS", "ADL"):
        assert needed in ids
    bbs = plan.outcome("BBS")
    assert (bbs.measure, bbs.estimator, bbs.hartung_knapp, bbs.level, bbs.min_studies) == \
        ("MD", "REML", False, 95.0, 2)
    assert bbs.data_forms == ("change", "post", "contrast")
    assert "percent_change" not in bbs.data_forms
    assert plan.outcome("ADL").measure == "SMD" and plan.outcome("ADL").codes == ("BI", "MBI")
    assert plan.outcome("ADL").data_forms == ("post", "contrast")
    assert plan.outcome("TUG").higher_is_better is False
    explo = [o for o in plan.outcomes if o.exploratory]
    assert [o.id for o in explo] == ["BBS_SMD_any_change"]
    assert explo[0].measure == "SMD" and "percent_change" in explo[0].data_forms
    assert [(s.by, s.min_per_group) for s in plan.subgroups] == [("protocol_family", 2), ("phase", 2)]
    assert plan.safety.methods == ("MH_RD", "PETO_OR") and plan.safety.min_studies == 2


def test_timepoint_labels_are_classified_per_study_then_generally():
    plan = load_plan(ROOT)
    assert plan.classify_timepoint("im2022", "T0-T1") == "end_of_treatment"
    assert plan.classify_timepoint("im2022", "T0-T2") == "follow_up"
    assert plan.classify_timepoint("liao2024", "T0-T1") == "during_treatment"
    assert plan.classify_timepoint("someone2020", "post") == "end_of_treatment"
    assert plan.classify_timepoint("someone2020", "T0-T1") is None


@pytest.mark.parametrize("edit, path", [
    (lambda r: r["outcomes"][0].update(measuer="MD"), "outcomes[0].measuer"),
    (lambda r: r["outcomes"][2].update(measure="RR"), "outcomes[2].measure"),
    (lambda r: r["defaults"].update(hartung_knapp="yes"), "defaults.hartung_knapp"),
    (lambda r: r["defaults"]["timepoint"].update(fallback="latest"), "defaults.timepoint.fallback"),
    (lambda r: r["safety"].update(methods=["MH_OR"]), "safety.methods[0]"),
    (lambda r: r["subgroups"][1].update(by="colour"), "subgroups[1].by"),
    (lambda r: r.update(extra=1), "extra"),
    (lambda r: r["timepoint_labels"]["im2022"].update({"T0-T3": "later"}), "timepoint_labels.im2022.T0-T3"),
    (lambda r: r["outcomes"][0].update(data_forms=["change", "percent_change"]), "outcomes[0].data_forms"),
    (lambda r: r["outcomes"][0].update(measure="SMD"), "outcomes[0].measure"),
])
def test_unknown_keys_and_values_name_their_path(raw, edit, path):
    bad = yaml.safe_load(yaml.safe_dump(raw))
    edit(bad)
    with pytest.raises(InputError) as err:
        parse_plan(bad, study_columns(ROOT))
    assert f": {path}:" in str(err.value) or str(err.value).startswith(f"analysis_plan.yml: {path}")


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_plan(tmp_path)
    (tmp_path / "analysis_plan.yml").write_text("version: [1\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        load_plan(tmp_path)


def test_changing_the_file_changes_the_plan(tmp_path, raw):
    raw["defaults"]["hartung_knapp"] = True
    raw["defaults"]["level"] = 90
    (tmp_path / "analysis_plan.yml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    plan = load_plan(tmp_path)
    assert plan.outcome("TUG").hartung_knapp is True and plan.outcome("TUG").level == 90.0
    assert "with the Hartung-Knapp adjustment; 90% confidence" in plan.to_markdown()


def test_markdown_states_the_choices():
    md = load_plan(ROOT).to_markdown()
    assert "REML" in md and "without the Hartung-Knapp adjustment" in md and "95% confidence" in md
    assert "at least 2 studies" in md
    assert "| Berg Balance Scale | MD | change from baseline, value after treatment" in md
    assert "| Berg Balance Scale, change or percent change (SMD) | SMD |" in md
    assert "exploratory: standardising" in md
    assert md.count("\n| ") == 2 + len(load_plan(ROOT).outcomes)
