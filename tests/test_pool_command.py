"""`review pool`: CSV in, metafor's numbers out; bad CSV gives one line and exit 1."""

import csv
import json
from pathlib import Path

import pytest

from analysis.cli import main

REF = json.loads((Path(__file__).parent / "reference" / "reference_pooling.json").read_text())
POOL = {c["id"]: c for c in REF["pool"]}


def write_csv(path, columns: dict):
    names = list(columns)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for row in zip(*(columns[n] for n in names)):
            w.writerow(row)
    return path


def run_json(capsys, *argv):
    assert main(["pool", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def bcg_csv(tmp_path):
    d = REF["data"]["bcg"]
    return write_csv(tmp_path / "bcg.csv", {"study": d["labels"], "ai": d["ai"], "bi": d["bi"],
                                             "ci": d["ci"], "di": d["di"]})


# ---------------------------------------------------------------- dat.bcg


@pytest.mark.parametrize("case_id", ["bcg_RR_REML", "bcg_RR_DL_knha", "bcg_OR_REML", "bcg_RD_DL"])
def test_bcg_json_matches_metafor(tmp_path, capsys, case_id):
    case = POOL[case_id]
    args = [bcg_csv(tmp_path), "--measure", case["measure"], "--method", case["method"]]
    out = run_json(capsys, *(args + (["--hk"] if case["hk"] else [])))
    ref = case["result"]
    tol = dict(rel=1e-4) if case["method"] in ("REML", "ML") else dict(rel=1e-6)
    for key in ("estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "i2", "h2", "q",
                "pi_lb", "pi_ub", "tau2_ci_lb", "tau2_ci_ub", "i2_ci_lb", "i2_ci_ub"):
        assert out[key] == pytest.approx(ref[key], **tol), key
    stat = "tval" if case["hk"] else "zval"
    assert out[stat] == pytest.approx(ref["stat"], **tol)
    assert out["k"] == 13 and out["q_df"] == 12 and out["method"] == case["method"]
    assert [s["study"] for s in out["studies"]] == REF["data"]["bcg"]["labels"]
    assert [s["weight"] for s in out["studies"]] == pytest.approx(ref["weights"], **tol)
    assert [s["yi"] for s in out["studies"]] == pytest.approx(case["yi"], rel=1e-9)


def test_bcg_counts_given_as_group_sizes(tmp_path, capsys):
    d = REF["data"]["bcg"]
    path = write_csv(tmp_path / "n.csv", {
        "ai": d["ai"], "n1i": [a + b for a, b in zip(d["ai"], d["bi"])],
        "ci": d["ci"], "n2i": [c + x for c, x in zip(d["ci"], d["di"])]})
    out = run_json(capsys, path, "--measure", "RR")
    assert out["estimate"] == pytest.approx(POOL["bcg_RR_REML"]["result"]["estimate"], rel=1e-6)
    assert out["studies"][0]["study"] == "Study 1"


def test_bcg_text_summary(tmp_path, capsys):
    assert main(["pool", str(bcg_csv(tmp_path)), "--measure", "RR"]) == 0
    text = capsys.readouterr().out
    assert "REML meta-analysis of 13 studies (log RR)" in text
    assert "estimate -0.7145" in text and "Q(12) = 152.23" in text


def test_bcg_mantel_haenszel(tmp_path, capsys):
    ref_path = Path(__file__).parent / "reference" / "reference_binary.json"
    ref = json.loads(ref_path.read_text())["binary"]["bcg"]["RR"]
    out = run_json(capsys, bcg_csv(tmp_path), "--measure", "RR", "--mh")
    assert out["method"] == "MH"
    for key in ("estimate", "se", "ci_lb", "ci_ub", "q"):
        assert out[key] == pytest.approx(ref[key], rel=1e-6), key


def test_bcg_peto(tmp_path, capsys):
    ref_path = Path(__file__).parent / "reference" / "reference_binary.json"
    ref = json.loads(ref_path.read_text())["binary"]["bcg"]["PETO"]
    out = run_json(capsys, bcg_csv(tmp_path), "--peto")
    assert out["estimate"] == pytest.approx(ref["estimate"], rel=1e-6)


# ---------------------------------------------------------------- dat.normand1999


def test_normand_smd_hk(tmp_path, capsys):
    d = REF["data"]["normand1999"]
    cols = {"study": d["labels"], **{k: d[k] for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}}
    path = write_csv(tmp_path / "normand.csv", cols)
    case = POOL["normand1999_SMD_REML_knha"]
    out = run_json(capsys, path, "--measure", "SMD", "--hk")
    assert out["df"] == 8
    assert out["estimate"] == pytest.approx(case["result"]["estimate"], rel=1e-4)
    assert out["ci_lb"] == pytest.approx(case["result"]["ci_lb"], rel=1e-4)


def test_gen_from_yi_vi_and_level(tmp_path, capsys):
    case = POOL["bcg_RR_REML_level90"]
    path = write_csv(tmp_path / "gen.csv", {"yi": case["yi"], "vi": case["vi"]})
    out = run_json(capsys, path, "--level", "90")
    assert out["measure"] == "GEN" and out["level"] == 90
    assert out["ci_ub"] == pytest.approx(case["result"]["ci_ub"], rel=1e-4)
    assert out["pi_ub"] == pytest.approx(case["result"]["pi_ub"], rel=1e-4)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "content, args, message",
    [
        ("study,yi,vi\na,0.1,0.2\nb,x,0.1\n", [], "bad.csv:3:yi: not a number (x)"),
        ("study,yi,vi\na,0.1,0.2\nb,0.3,\n", [], "bad.csv:3:vi: missing value"),
        ("study,yi,vi\na,0.1,0.2\nb,0.3,-1\n", [], "bad.csv:3:vi: must be > 0 (-1)"),
        ("study,ai,bi,ci\na,1,2,3\n", ["--measure", "OR"], "bad.csv:1:di: column missing"),
        ("ai,n1i,ci,n2i\n5,3,1,4\n", ["--measure", "RR"], "bad.csv:2:ai: more events than n1i"),
        ("ai,bi,ci,di\n1.5,3,1,4\n", ["--measure", "OR"], "bad.csv:2:ai: must be a whole number"),
        ("m1i,sd1i,n1i,m2i,sd2i,n2i\n1,1,0,1,1,5\n", ["--measure", "MD"], "bad.csv:2:n1i: must be > 0"),
        ("study,yi,vi\na,0.1,0.2,9\n", [], "bad.csv:2: row has 4 fields"),
        ("study,yi,vi\n", [], "bad.csv: no data rows"),
        ("", [], "bad.csv: file is empty"),
        ("study,yi,vi\na,0.1,0.2\n", ["--mh"], "--mh and --peto need 2x2 counts"),
        ("ai,bi,ci,di\n1,3,1,4\n", ["--mh", "--hk"], "--hk applies to inverse-variance"),
        ("m1i,sd1i,n1i,m2i,sd2i,n2i\n2,1,10,1,1,10\n1,1,1,0,1,1\n", ["--measure", "SMD"],
         "bad.csv:3:n1i: n1i + n2i must exceed 2 for SMD (1 + 1)"),
        ("m1i,sd1i,n1i,m2i,sd2i,n2i\n2,1,10,1,1,10\n1,0,5,0,0,5\n", ["--measure", "MD"],
         "bad.csv:3:sd1i: sd1i and sd2i are both 0"),
    ],
)
def test_bad_csv_is_one_line_exit_1(tmp_path, capsys, content, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["pool", str(path), *args]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("review pool: ")
    assert message in err


def test_missing_file(tmp_path, capsys):
    assert main(["pool", str(tmp_path / "nope.csv")]) == 1
    assert "nope.csv: cannot read file" in capsys.readouterr().err


# ---------------------------------------------------------------- dat.nielweise2007 (zero cells)


def test_nielweise_zero_cells_json(tmp_path, capsys):
    d = REF["data"]["nielweise2007"]
    path = write_csv(tmp_path / "niel.csv", {
        "study": d["labels"], "ai": d["ai"], "n1i": [a + b for a, b in zip(d["ai"], d["bi"])],
        "ci": d["ci"], "n2i": [c + x for c, x in zip(d["ci"], d["di"])]})
    case = POOL["nielweise2007_OR_REML"]
    out = run_json(capsys, path, "--measure", "OR")
    assert out["estimate"] == pytest.approx(case["result"]["estimate"], rel=1e-4)
    assert out["tau2"] == pytest.approx(case["result"]["tau2"], rel=1e-4)
    assert [s["yi"] for s in out["studies"]] == pytest.approx(case["yi"], rel=1e-9)
    assert out["correction"].startswith("0.5 added to each cell of studies with a zero cell")


def test_fixed_effect_text_has_no_tau2_line(tmp_path, capsys):
    assert main(["pool", str(bcg_csv(tmp_path)), "--measure", "OR", "--method", "FE"]) == 0
    text = capsys.readouterr().out
    assert "FE meta-analysis of 13 studies (log OR)" in text and "tau^2" not in text


def test_a_tau2_bound_at_the_search_limit_is_marked_as_metafor_marks_it(tmp_path, capsys):
    # metafor prints ">100.0000" and ">99.9132" for this k = 2 fit (its ub.sign is ">")
    case = POOL["normand1999_SMD_k2_capped_REML"]
    assert case["result"]["tau2_ci_ub_capped"] is True
    path = write_csv(tmp_path / "k2.csv", {"study": case["labels"], "yi": case["yi"], "vi": case["vi"]})
    out = run_json(capsys, path, "--measure", "GEN", "--method", "REML")
    assert out["tau2_ci_ub_capped"] is True and out["tau2_ci_ub"] == pytest.approx(100)
    assert main(["pool", str(path), "--measure", "GEN", "--method", "REML"]) == 0
    text = capsys.readouterr().out
    assert ", >100" in text and ", >99.9]" in text
    # an interval that closed below the limit carries no mark
    out = run_json(capsys, bcg_csv(tmp_path), "--measure", "RR", "--method", "REML")
    assert out["tau2_ci_ub_capped"] is False
    assert main(["pool", str(bcg_csv(tmp_path)), "--measure", "RR", "--method", "REML"]) == 0
    assert ">" not in capsys.readouterr().out
