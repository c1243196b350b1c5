"""Structure of review.qmd: front matter, sections, captions and cross-references, cell
options, citations against references.bib, numbers in prose, and one forest plot for
every analysis the synthesis pools."""

import re
from pathlib import Path

import pytest
import yaml

from analysis.data.claims import load_claims
from analysis.data.bibliography import bib_keys
from analysis.review.lint import lint_qmd
from analysis.data.plan import load_plan
from analysis.data.load import load_sheets
from analysis.review.synthesis import POOLED, synthesise

from fixture_paths import BUNDLED, REPO  # noqa: E402

ROOT = REPO
QMD = ROOT / "review.qmd"
TEXT = QMD.read_text(encoding="utf-8")
CELL = re.compile(r"^```\{python\}\n(.*?)^```$", re.S | re.M)
ALLOWED_OPTIONS = {"label", "echo", "output", "include", "warning", "fig-cap", "fig-alt", "tbl-cap"}
SECTIONS = [
    "sec-intro", "sec-background", "sec-tms", "sec-cerebellum", "sec-molecular",
    "sec-methods", "sec-search", "sec-eligibility", "sec-extraction", "sec-plan", "sec-rob-methods",
    "sec-results", "sec-characteristics", "sec-lf-rtms", "sec-itbs", "sec-ctbs", "sec-pas",
    "sec-physio", "sec-synthesis", "sec-safety", "sec-rob", "sec-ledger", "sec-discrepancies",
    "sec-predictors", "sec-meps", "sec-imaging", "sec-cognition",
    "sec-challenges", "sec-coils", "sec-safety-challenges", "sec-timing", "sec-targets",
    "sec-limitations", "sec-conclusions",
]


def front_matter():
    m = re.match(r"^---\n(.*?)\n---\n", TEXT, re.S)
    assert m, "review.qmd must open with YAML front matter"
    return yaml.safe_load(m.group(1))


def body():
    """The document after the front matter."""
    return re.sub(r"^---\n.*?\n---\n", "", TEXT, count=1, flags=re.S)


def cells():
    out = []
    for m in CELL.finditer(body()):
        opts, code = {}, []
        for line in m.group(1).splitlines():
            if line.startswith("#|"):
                key, _, val = line[2:].partition(":")
                opts[key.strip()] = yaml.safe_load(val.strip()) if val.strip() else ""
            else:
                code.append(line)
        out.append((opts, "\n".join(code)))
    return out


def prose():
    """Body without code cells and inline code."""
    return re.sub(r"`[^`\n]*`", " ", CELL.sub(" ", body()))


def test_front_matter_has_what_quarto_needs():
    fm = front_matter()
    for key in ("title", "subtitle", "author", "bibliography", "format"):
        assert fm.get(key), key
    assert fm["bibliography"] == "references.bib"
    assert fm["toc"] is True and fm["number-sections"] is True
    assert set(fm["format"]) == {"html", "typst"}
    # the date is not typed: `review lock` writes it into _version.yml, which _quarto.yml names
    # under metadata-files, and review check holds it to the lock
    assert "date" not in fm
    project = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert project["metadata-files"] == ["_version.yml"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", str(yaml.safe_load((ROOT / "_version.yml").read_text())["date"]))
    for author in fm["author"]:
        assert author["name"] and author["affiliations"][0]["name"]
    # Front matter cannot run code, so the abstract, whose results are computed, is the body's
    # first section instead (see test_structured_abstract_opens_the_body).
    assert "abstract" not in fm


def test_structured_abstract_opens_the_body():
    def mark(m):
        label = re.search(r"^#\| label: (.*)$", m.group(1), re.M)
        return f"[cell {label.group(1) if label else ''}]"
    text = CELL.sub(mark, body())
    first = re.search(r"^# .*$", text, re.M).group(0)
    assert first == "# Abstract {.unnumbered .unlisted}"  # kept out of the table of contents
    abstract = text[text.index(first):text.index("\n# ", text.index(first) + 1)]
    labels = re.findall(r"^\*\*(\w+)\.\*\*", abstract, re.M)
    results = [c for o, c in cells() if o.get("label") == "abstract-results"]
    assert labels == ["Background", "Methods", "Conclusions"] and len(results) == 1
    # the Results paragraph is printed by a cell, between Methods and Conclusions, from the helpers
    assert '"**Results.** " + R.abstract_results(sheets, synth, ledger)' in results[0]
    assert abstract.index("**Methods.**") < abstract.index("[cell abstract-results]") < abstract.index("**Conclusions.**")
    # no number typed into the static parts
    static = re.sub(r"`[^`\n]*`", " ", re.sub(r"\[cell [\w-]*\]", " ", abstract))
    assert not re.search(r"\d", re.sub(r"@\w+", "", static))


def test_every_section_of_the_published_structure_is_present():
    ids = re.findall(r"^#{1,4} .*\{#(sec-[\w-]+)\}\s*$", body(), re.M)
    assert ids == [s for s in ids if s in SECTIONS] and set(SECTIONS) <= set(ids)
    assert ids.index("sec-methods") < ids.index("sec-results") < ids.index("sec-predictors") \
        < ids.index("sec-challenges") < ids.index("sec-limitations") < ids.index("sec-conclusions")
    assert re.search(r"^::: \{#refs\}\n:::$", body(), re.M)


def test_setup_cell_loads_everything_and_is_hidden():
    opts, code = cells()[0]
    assert opts.get("include") is False
    for needed in ("root = Path.cwd()", "analysis.data.load.load_sheets(root)",
                   "analysis.data.plan.load_plan(root)", "analysis.review.synthesis.synthesise(sheets, plan)",
                   "analysis.review.ledger.evaluate(sheets, analysis.data.claims.load_claims(root))"):
        assert needed in code, needed


def test_cell_options_are_the_supported_ones():
    for opts, _ in cells():
        assert set(opts) <= ALLOWED_OPTIONS, opts


def test_figures_and_tables_have_captions_and_are_cross_referenced():
    labelled = [(o, c) for o, c in cells() if str(o.get("label", "")).startswith(("fig-", "tbl-"))]
    # the results' figures are printed by `asis` cells (analysis.review.displays), the flow
    # diagram and the characteristics table too, since their captions are computed
    printed = set(re.findall(r"\{#((?:fig|tbl)-[\w-]*\w)", "\n".join(c for _, c in cells())))
    assert {"fig-prisma", "tbl-characteristics"} <= printed
    assert len([o for o, _ in labelled if o["label"].startswith("fig-")]) >= 1
    assert len([o for o, _ in labelled if o["label"].startswith("tbl-")]) >= 6
    text = prose()
    for opts, _ in labelled:
        label = opts["label"]
        if label.startswith("fig-"):
            assert opts.get("fig-cap"), label
        else:
            assert opts.get("tbl-cap") and opts.get("output") == "asis", label
        assert re.search(rf"@{re.escape(label)}\b", text), f"{label} is never referenced"
    # Every reference has a target.
    targets = {o["label"] for o, _ in labelled} | set(SECTIONS) | printed
    for ref in re.findall(r"@((?:fig|tbl|sec)-[\w-]*\w)", text):
        assert ref in targets, ref


def test_required_tables_are_printed():
    code = "\n".join(c for _, c in cells())
    for fn in ("characteristics_table", "safety_by_study", "safety_totals", "results_summary",
               "data_availability", "ledger_table", "plan_table", "prisma_flow", "safety_plot"):
        assert fn in code, fn


def test_every_citation_key_is_in_the_bibliography():
    keys = bib_keys(ROOT / "references.bib")  # live: every key the live review cites has an entry
    text = prose()
    cited = set(re.findall(r"(?<![\w@])@([a-z][a-z0-9]*\d{4}[a-z]?)\b", text))
    assert {"kim2014", "im2022", "rosso2022", "wang2025", "hurtadopuerto2020"} <= cited
    assert cited <= keys, sorted(cited - keys)


def test_no_numbers_typed_into_prose():
    assert [str(p) for p in lint_qmd(QMD)] == []


def test_no_unsupported_quarto_syntax():
    for bad in ("{{<", "```{r}", "panel-", "layout-", ".column-", "\\begin"):
        assert bad not in TEXT, bad


def test_length_is_that_of_a_full_review():
    words = len(re.findall(r"[A-Za-z][\w'-]*", re.sub(r"\[@[^\]]*\]", " ", prose())))
    assert 4000 <= words <= 6500, words


@pytest.fixture(scope="module")
def synth():
    sheets = load_sheets(BUNDLED)
    return sheets, synthesise(sheets, load_plan(BUNDLED))


def test_every_pooled_analysis_has_a_forest_plot(synth):
    from analysis.review.displays import FOREST, outcome_displays

    _, s = synth
    code = "\n".join(c for _, c in cells())
    assert "show(D.outcome_displays(synth))" in code and "show(D.harms_displays(synth))" in code
    forests = {d.subject for d in outcome_displays(s) if d.kind == FOREST}
    pooled = [a.outcome for a in s.analyses if a.status == POOLED]
    assert pooled, "the bundled data pool at least the exploratory BBS analysis"
    assert set(pooled) <= forests


def test_risk_of_bias_plot_only_when_assessments_exist(synth):
    sheets, _ = synth
    labels = {str(o.get("label", "")) for o, _ in cells()}
    has_plot = any(label.startswith("fig-rob") for label in labels)
    assert has_plot == (len(sheets["risk_of_bias"]) > 0)
    if not has_plot:
        assert "Risk-of-bias plots are therefore not shown" in TEXT


def test_ledger_claims_named_in_the_text_exist():
    claims = set(load_claims(BUNDLED)["claim_id"])
    named = set(re.findall(r"\bC\d\d\b", prose()))
    assert named and named <= claims


def test_limits_beside_the_exploratory_estimate_name_its_own_non_contributors():
    callout = re.search(r"::: \{\.callout-warning[^}]*\}\n(.*?)\n:::", TEXT, re.S)
    assert callout, "the exploratory estimate needs its warning callout"
    assert 'R.measured_elsewhere(synth, R.analyses_with(synth, "pooled", exploratory=True))' in TEXT

