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


# ================================================================ more of metadat
# tests/reference/reference_metadat.json (make_reference_metadat.R): every quantity that
# `review pool --json` reports, on data sets the code was not written against. 2x2 data go
# in as counts, so escalc is part of what is compared.

META = json.loads((Path(__file__).parent / "reference" / "reference_metadat.json").read_text())
MPOOL = {c["id"]: c for c in META["pool"]}
FIT_KEYS = ("estimate", "se", "pval", "ci_lb", "ci_ub", "tau2", "tau", "i2", "h2", "q", "q_pval",
            "pi_lb", "pi_ub", "tau2_ci_lb", "tau2_ci_ub", "tau_ci_lb", "tau_ci_ub", "i2_ci_lb",
            "i2_ci_ub", "h2_ci_lb", "h2_ci_ub")
CLOSED = dict(rel=1e-6, abs=1e-10)
ITER = dict(rel=1e-4, abs=1e-9)


def metadat_csv(tmp_path, case):
    d = META["data"][case["data"]]
    rows = case["rows"] if isinstance(case["rows"], list) else (
        [case["rows"]] if case["rows"] is not None else None)
    pick = (lambda xs: [xs[r - 1] for r in rows]) if rows else (lambda xs: xs)
    if "ai" in d:
        cols = {"study": d["labels"], **{k: d[k] for k in ("ai", "bi", "ci", "di")}}
    else:
        cols = {"study": d["labels"], "yi": d["yi"], "vi": d["vi"]}
        cols.update({k: d[k] for k in ("weeks", "tester", "year", "meanage", "quality") if k in d})
    return write_csv(tmp_path / f"{case['data']}.csv", {k: pick(v) for k, v in cols.items()})


def _approx(expected, tol):
    return None if expected is None else pytest.approx(expected, **tol)


def compare_fit(out, ref, iterative, where):
    """Every number of a --json fit against metafor; returns how many were compared."""
    n = 0
    for key in FIT_KEYS:
        tol = ITER if iterative or "_ci_" in key else CLOSED
        assert out[key] == _approx(ref[key], tol), f"{where} {key}"
        n += 1
    stat = "tval" if out["test"] == "t" else "zval"
    assert out[stat] == _approx(ref["stat"], ITER if iterative else CLOSED), f"{where} {stat}"
    assert out["k"] == ref["k"] and out["q_df"] == ref["k"] - 1
    assert out["tau2_ci_ub_capped"] == bool(ref["tau2_ci_ub_capped"])
    assert [s["weight"] for s in out["studies"]] == pytest.approx(ref["weights"], rel=1e-4)
    n += 4 + out["k"]
    if iterative and out["k"] > 1:
        assert out["converged_early"] == ref["converged_early"], where
        assert out["tau2_optimum"] == _approx(ref["tau2_optimum"], ITER), where
        n += 2
    return n


@pytest.mark.parametrize("case_id", sorted(i for i, c in MPOOL.items() if c["error"] is None))
def test_metadat_json_matches_metafor(tmp_path, capsys, case_id):
    case = MPOOL[case_id]
    args = [metadat_csv(tmp_path, case), "--measure", case["measure"], "--method", case["method"],
            "--level", case["level"]] + (["--hk"] if case["hk"] else [])
    out = run_json(capsys, *args)
    compare_fit(out, case["result"], case["method"] in ("REML", "ML"), case_id)
    assert [s["yi"] for s in out["studies"]] == pytest.approx(case["yi"], rel=1e-9)
    assert [s["vi"] for s in out["studies"]] == pytest.approx(case["vi"], rel=1e-9)


def test_early_stop_is_noted_in_text_and_json(tmp_path, capsys):
    case = MPOOL["nielweise2007_RD_REML"]
    path = metadat_csv(tmp_path, case)
    out = run_json(capsys, path, "--measure", "RD")
    assert out["converged_early"] is True and out["tau2_convergence"] == "metafor"
    assert out["tau2"] == pytest.approx(case["result"]["tau2"], rel=1e-9)
    assert main(["pool", str(path), "--measure", "RD"]) == 0
    text = capsys.readouterr().out
    assert "note: metafor's Fisher scoring stops at tau^2 = 0.000138222" in text
    assert "short of the REML optimum tau^2 = 0.000122553" in text
    out = run_json(capsys, path, "--measure", "RD", "--tau2-convergence", "optimum")
    ref = case["result"]["at_optimum"]
    assert out["tau2_convergence"] == "optimum" and out["converged_early"] is True
    assert out["tau2"] == pytest.approx(ref["tau2"], rel=1e-4)
    assert out["estimate"] == pytest.approx(ref["estimate"], rel=1e-4)
    assert out["tau2_metafor"] == pytest.approx(case["result"]["tau2"], rel=1e-9)
    # where metafor stops at the optimum there is no note
    case = MPOOL["li2007_RD_REML"]
    assert main(["pool", str(metadat_csv(tmp_path, case)), "--measure", "RD"]) == 0
    assert "note:" not in capsys.readouterr().out


def test_non_convergence_is_one_line_naming_the_file(tmp_path, capsys):
    case = MPOOL["lehmann2018_preregistered_REML"]
    path = metadat_csv(tmp_path, case)
    assert main(["pool", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"review pool: {path}: REML estimation of tau^2 did not converge")
    out = run_json(capsys, path, "--tau2-convergence", "optimum")
    assert out["tau2"] == pytest.approx(case["optimum"]["tau2_optimize"], rel=1e-4)
    assert out["tau2_metafor"] is None


# ---------------------------------------------------------------- subgroups, mods, sensitivity


def test_subgroup_option_with_one_study_subgroups(tmp_path, capsys):
    case = next(c for c in META["subgroups"] if c["id"] == "raudenbush1985_weeks_REML_knha")
    path = metadat_csv(tmp_path, MPOOL["raudenbush1985_REML"])
    out = run_json(capsys, path, "--subgroup", "weeks", "--hk")
    sg, ref = out["subgroups"], case["result"]
    assert sg["by"] == "weeks" and list(sg["groups"]) == [g["group"] for g in ref["groups"]]
    for g in ref["groups"]:
        got = sg["groups"][g["group"]]
        assert got["k"] == g["k"] and got["test"] == ("t" if g["k"] > 1 else "z")
        for key in ("estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "i2", "h2"):
            assert got[key] == _approx(g[key], ITER), (g["group"], key)
    assert sg["q_between"] == pytest.approx(ref["q_between"], rel=1e-4)
    assert sg["q_between_pval"] == pytest.approx(ref["q_between_pval"], rel=1e-4)
    assert main(["pool", str(path), "--subgroup", "weeks", "--hk"]) == 0
    text = capsys.readouterr().out
    assert f"test for subgroup differences: Q(9) = {ref['q_between']:.2f}" in text
    assert "note: subgroup 2: Hartung-Knapp" not in text  # k = 3 there
    assert "note: subgroup 3: Hartung-Knapp needs at least 2 studies" in text


@pytest.mark.parametrize("case", META["metareg"], ids=lambda c: c["id"])
def test_mods_option_matches_metafor(tmp_path, capsys, case):
    path = metadat_csv(tmp_path, MPOOL["molloy2014_REML" if case["data"] == "molloy2014"
                                      else "raudenbush1985_REML"])
    args = [path, "--method", case["method"], "--mods", ",".join(case["moderators"])]
    out = run_json(capsys, *(args + (["--hk"] if case["hk"] else [])))
    mr, ref = out["metareg"], case["result"]
    stat = "tval" if case["hk"] else "zval"
    for j, c in enumerate(mr["coefficients"]):
        for key, rkey in (("estimate", "coef"), ("se", "se"), (stat, "stat"), ("pval", "pval"),
                          ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub")):
            assert c[key] == pytest.approx(ref[rkey][j], rel=1e-4), key
    for key in ("qm", "qm_pval", "qe", "qe_pval", "tau2", "tau2_ci_lb", "tau2_ci_ub", "i2",
                "i2_ci_lb", "i2_ci_ub", "h2", "h2_ci_lb", "h2_ci_ub", "r2"):
        assert mr[key] == pytest.approx(ref[key], rel=1e-4, abs=1e-9), key
    assert mr["qm_df"] == ref["qm_df"] and mr["qe_df"] == ref["qe_df"]


@pytest.mark.parametrize("fit", ["REML", "REML_hk", "DL", "DL_hk"])
def test_influence_cumulative_bias_options_match_metafor(tmp_path, capsys, fit):
    case = MPOOL["bangertdrowns2004_REML"]
    ref = META["sensitivity"]["bangertdrowns2004"][fit]
    method, hk = fit.split("_")[0], fit.endswith("hk")
    args = [metadat_csv(tmp_path, case), "--method", method, "--influence", "--cumulative",
            "year", "--bias"] + (["--hk"] if hk else [])
    out = run_json(capsys, *args)
    tol = dict(rel=1e-4, abs=1e-8) if method == "REML" else dict(rel=1e-6, abs=1e-10)
    for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "q", "qp", "tau2", "i2", "h2"):
        assert [r[key] for r in out["leave1out"]] == pytest.approx(ref["leave1out"][key], **tol), key
        assert [r[key] for r in out["cumul"]["steps"]] == pytest.approx(ref["cumul"][key], **tol), key
    assert [r["position"] for r in out["cumul"]["steps"]] == ref["cumul"]["order"]
    rt = out["regtest"]
    for key in ("zval", "pval", "est", "ci_lb", "ci_ub"):
        assert rt[key] == pytest.approx(ref["regtest"][key], **tol), key
    tf = out["trimfill"]
    assert tf["k0"] == ref["trimfill"]["k0"] and tf["side"] == ref["trimfill"]["side"]
    assert tf["refit_test"] == "z" == tf["fit"]["test"]
    for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "q", "i2", "h2"):
        assert tf["fit"][key] == pytest.approx(ref["trimfill"][key], **tol), key


def test_extra_options_refused_with_mh_and_bad_columns(tmp_path, capsys):
    path = bcg_csv(tmp_path)
    assert main(["pool", str(path), "--mh", "--subgroup", "study"]) == 1
    assert "--subgroup applies to inverse-variance pooling" in capsys.readouterr().err
    assert main(["pool", str(path), "--mods", "ablat"]) == 1
    assert capsys.readouterr().err == (f"review pool: {path}:1:ablat: column missing, named by "
                                       "--mods\n")
    assert main(["pool", str(path), "--influence", "--cumulative", "year"]) == 1
    assert "year: column missing, named by --cumulative" in capsys.readouterr().err


# ---------------------------------------------------------------- degenerate fits


def test_k1_text_and_json_follow_metafor(tmp_path, capsys):
    path = write_csv(tmp_path / "one.csv", {"study": ["A"], "yi": [0.3], "vi": [0.04]})
    out = run_json(capsys, path, "--hk")
    assert out["test"] == "z" and out["zval"] == pytest.approx(1.5)
    assert (out["q"], out["q_pval"], out["i2"], out["h2"], out["tau2"]) == (0.0, 1.0, 0.0, 1.0, 0.0)
    assert out["tau2_ci_lb"] is None and out["h2_ci_ub"] is None
    assert "z test is used at k = 1" in out["notes"][0]
    assert main(["pool", str(path), "--hk"]) == 0
    text = capsys.readouterr().out
    assert "REML meta-analysis of 1 study (GEN), z test" in text
    assert "Q(0) = 0.00, p = 1  I^2 0.0%  H^2 1.00" in text and "tau^2 0.0000  tau 0.0000" in text
    assert "note: Hartung-Knapp needs at least 2 studies" in text
    assert main(["pool", str(path), "--influence"]) == 1
    assert capsys.readouterr().err == (f"review pool: {path}: leave-one-out needs at least 2 "
                                       "studies\n")


def test_hk_with_identical_effects_text_and_json(tmp_path, capsys):
    path = write_csv(tmp_path / "same.csv", {"yi": [0.2, 0.2, 0.2], "vi": [0.1, 0.2, 0.3]})
    out = run_json(capsys, path, "--hk")
    assert out["se"] == 0.0 and out["tval"] is None and out["pval"] == 0.0
    assert out["ci_lb"] == out["ci_ub"] == pytest.approx(0.2)
    assert main(["pool", str(path), "--hk"]) == 0
    text = capsys.readouterr().out
    assert "SE 0.0000  CI [0.2000, 0.2000]  t(2) = inf  p = 0" in text
    assert "note: Hartung-Knapp: the weighted residuals are all 0" in text


def test_zero_heterogeneity_text(tmp_path, capsys):
    path = write_csv(tmp_path / "flat.csv", {"yi": [0.1, 0.1001, 0.0999], "vi": [0.1, 0.2, 0.1]})
    out = run_json(capsys, path)
    assert out["tau2"] == 0.0 and out["tau2_ci_lb"] == 0.0 and out["tau2_ci_ub"] == 0.0
    assert out["i2"] == 0.0 and out["h2"] == 1.0 and out["h2_ci_ub"] == 1.0


@pytest.mark.parametrize("flags", [[], ["--json"], ["--hk"], ["--method", "DL"]])
def test_values_that_overflow_are_one_line(tmp_path, capsys, flags):
    path = write_csv(tmp_path / "big.csv", {"yi": [1e308, 1e308, 0.9e308],
                                            "vi": [1e-300, 2e-300, 1e-300]})
    assert main(["pool", str(path), *flags]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"review pool: {path}: cannot be pooled in double precision: with yi "
                            "up to 1e+308 and vi down to 1e-300 the weighted sums overflow; "
                            "rescale the effect sizes\n")


@pytest.mark.parametrize("flags", [["--measure", "OR"], ["--mh"], ["--peto"]])
def test_tables_without_participants_are_dropped_with_a_note(tmp_path, capsys, flags):
    path = write_csv(tmp_path / "z.csv", {"study": ["A", "B", "C", "D"], "ai": [2, 0, 3, 1],
                                          "bi": [8, 0, 7, 9], "ci": [4, 0, 5, 2], "di": [6, 0, 5, 8]})
    out = run_json(capsys, path, *flags)
    assert out["k"] == 3 and [s["study"] for s in out["studies"]] == ["A", "C", "D"]
    assert out["notes"][0] == (f"{path}:3: B has no participants in either group; left out "
                               "(metafor would add 0.5 to its cells and pool the made-up table)")
    kept = write_csv(tmp_path / "k.csv", {"study": ["A", "C", "D"], "ai": [2, 3, 1],
                                          "bi": [8, 7, 9], "ci": [4, 5, 2], "di": [6, 5, 8]})
    assert run_json(capsys, kept, *flags)["estimate"] == out["estimate"]
    assert main(["pool", str(path), *flags]) == 0
    assert "note: " + out["notes"][0] in capsys.readouterr().out
    one = write_csv(tmp_path / "e.csv", {"ai": [0, 2], "bi": [0, 8], "ci": [1, 4], "di": [5, 6]})
    assert "no participants in group 1 (ai + bi = 0)" in run_json(capsys, one, *flags)["notes"][0]


@pytest.mark.parametrize("flag, message", [
    ("--mh", "Mantel-Haenszel odds ratio undefined"),
    ("--peto", "Peto odds ratio undefined"),
])
def test_zero_event_messages_name_the_file(tmp_path, capsys, flag, message):
    path = write_csv(tmp_path / "noev.csv", {"ai": [0, 0], "bi": [8, 5], "ci": [0, 0], "di": [6, 5]})
    assert main(["pool", str(path), flag]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"review pool: {path}: {message}") and err.count("\n") == 1
