"""references.bib: the bundled entries, the checks on keys and entries, and citations in review.qmd."""

import re
from pathlib import Path

import pytest

from analysis.data.bibliography import check_bibliography, citations, load_bibliography
from analysis.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "references.bib"

INCLUDED = ["kim2014", "bonni2014", "koch2019", "chen2021", "li2021", "liao2021", "xie2021", "im2022",
            "rosso2022", "xia2022", "einstein2023", "liao2024", "dai2023"]
BACKGROUND = ["dhuri2021", "barker1985", "koch2008", "hurtadopuerto2020", "vanlieshout2019", "spampinato2020a",
              "spampinato2020b", "spampinato2021", "xia2023", "dum2003", "grefkes2014", "dipino2014", "dedoncker2021",
              "stampanonibassi2020", "negretehurtado2020", "harrington2015", "carey2024", "ramnani2006", "celnik2015",
              "lu2017", "wessel2018", "bi2001", "dan2006", "mirdamadi2021", "hardwick2014", "hardwick2021"]


@pytest.fixture(scope="module")
def bib():
    return load_bibliography(BIB)


def test_bundled_bibliography_is_clean():
    assert [str(p) for p in check_bibliography(BIB)] == []


def test_every_study_and_the_cited_background_has_an_entry(bib):
    for key in INCLUDED + BACKGROUND + ["wang2025"]:
        assert key in bib, key
    # one entry per @-block of the file: nothing lost or merged in parsing
    assert len(bib) == len(re.findall(r"^@\w+\{", BIB.read_text(encoding="utf-8"), re.M))


def test_entries_carry_only_what_the_sources_give(bib):
    review = bib["wang2025"]
    assert review["doi"] == "10.3389/fnins.2025.1405637"
    assert review["journal"] == "Frontiers in Neuroscience"
    assert "Frontiers in Neurology" in review["note"]
    kim = bib["kim2014"]
    assert (kim["doi"], kim["volume"], kim["number"]) == ("10.2340/16501977-1802", "46", "5")
    assert "pages" not in kim.fields_dict
    assert bib["bonni2014"]["pages"] == "41--45" and "doi" not in bib["bonni2014"].fields_dict
    assert bib["hurtadopuerto2020"]["doi"] == "10.1016/j.clinthera.2020.06.001"
    # Works known only as "Surname et al., year" have no invented details.
    barker = bib["barker1985"]
    assert set(barker.fields_dict) == {"author", "year", "keywords", "note"}
    assert "not confirmed" in barker["note"]


def test_citation_scanner_skips_crossrefs_and_emails():
    text = "See [@kim2014; @im2022, p. 4] and @fig-forest, @tbl-one, @sec-methods, @eq-1.\n" \
           "Mail info@example.org. As @koch2019 showed.\n[-@xie2021]"
    assert citations(text) == [(1, "kim2014"), (1, "im2022"), (2, "koch2019"), (3, "xie2021")]


def test_citations_inside_code_are_not_citations():
    text = "Text [@kim2014].\n```{python}\n@dataclass\nclass A: pass\n```\nUse `@property` and @im2022.\n~~~\n@nope2000\n~~~\n"
    assert citations(text) == [(1, "kim2014"), (6, "im2022")]


def test_unknown_citation_in_qmd_is_reported_with_its_line(tmp_path):
    qmd = tmp_path / "review.qmd"
    qmd.write_text("Intro.\n\nTrials [@kim2014; @smith2099] differ (@fig-forest).\n", encoding="utf-8")
    assert [str(p) for p in check_bibliography(BIB, qmd)] == ["review.qmd:3:smith2099: cited but not in references.bib"]
    assert check_bibliography(BIB, tmp_path / "absent.qmd") == []


def test_load_bibliography_raises_on_a_duplicate_key(tmp_path):
    path = tmp_path / "references.bib"
    path.write_text("@misc{a2020, author={A}, year={2020}}\n@misc{a2020, author={B}, year={2020}}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^references.bib:2:a2020: duplicate key"):
        load_bibliography(path)


def test_missing_bibliography_is_one_problem(tmp_path):
    assert [str(p) for p in check_bibliography(tmp_path / "references.bib")] == [
        "references.bib: missing: study keys cannot be checked"
    ]


SEED = ROOT.parent / "shared" / "seed" / "cerebellar-tms-review.txt"


@pytest.mark.skipif(not SEED.exists(), reason="the seed review is not beside the repository")
def test_every_author_year_citation_of_the_seed_has_an_entry(bib):
    import re
    import unicodedata

    text = SEED.read_text(encoding="utf-8")
    cite = re.compile(r"\b([A-Z][\w-]+)(?: [A-Z]\.)*(?: et al\.| and [A-Z][\w-]+)?,? \(?((?:19|20)\d\d)\b")
    found = set()
    for surname, year in cite.findall(text):
        if surname in {"The", "In", "Since"}:
            continue
        ascii_name = unicodedata.normalize("NFKD", surname).encode("ascii", "ignore").decode().lower().replace("-", "")
        matches = [k for k in bib if ascii_name in k and year in k]
        assert matches, f"{surname} {year}"
        found.add((ascii_name, year))
    assert len(found) >= 75
