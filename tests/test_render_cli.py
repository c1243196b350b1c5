"""`review render` on the command line, the Quarto engine path, and the bundled review."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.errors import RenderError
from analysis.render import dependency_files, render_project
from analysis.render.api import resolve_engine

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "render_project"


def test_cli_error_is_one_line(tmp_path, capsys):
    shutil.copytree(FIXTURE, tmp_path / "p")
    qmd = tmp_path / "p/review.qmd"
    qmd.write_text(qmd.read_text() + "\n{{< pagebreak >}}\n")
    code = main(["render", "--root", str(tmp_path / "p"), "--engine", "builtin", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    line = len(qmd.read_text().splitlines())
    assert err == f"review render: review.qmd:{line}: shortcodes `{{{{< >}}}}` are not supported\n"


def fake_quarto(bin_dir: Path, log: Path) -> None:
    """A stand-in `quarto` that records its arguments and QUARTO_PYTHON and writes the output file."""
    script = bin_dir / "quarto"
    script.write_text(f"""#!{sys.executable}
import os, sys, pathlib
args = sys.argv[1:]
with open({str(log)!r}, "a") as fh:
    fh.write(" ".join(args) + " | " + os.environ.get("QUARTO_PYTHON", "") + " | " + os.getcwd() + "\\n")
out = pathlib.Path(args[args.index("--output-dir") + 1]); out.mkdir(exist_ok=True)
for fmt in args[args.index("--to") + 1].split(","):
    (out / ("review." + {{"html": "html", "typst": "pdf", "docx": "docx"}}[fmt])).write_text("made by quarto " + fmt)
# what Quarto prints on stderr: progress, the kernel's transport notice, a warning of its own
sys.stderr.write("processing file: review.qmd\\n"
                 "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication\\n"
                 "\\x1b[33mWARNING (review.qmd:12) Unable to resolve crossref @fig-missing\\x1b[39m\\n"
                 "Output created: review.html\\n")
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_auto_uses_quarto_when_on_path(tmp_path, monkeypatch, capsys):
    root = tmp_path / "p"
    shutil.copytree(FIXTURE, root)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "quarto.log"
    fake_quarto(bin_dir, log)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert resolve_engine("auto") == "quarto"
    assert main(["render", "--root", str(root)]) == 0
    out = capsys.readouterr()
    assert "render: quarto render review.qmd --to html,typst,docx\n" in out.err
    # Quarto's warnings reach the author; its progress and the kernel's transport notice do not
    assert "quarto: WARNING (review.qmd:12) Unable to resolve crossref @fig-missing\n" in out.err
    assert "processing file" not in out.err and "without encryption" not in out.err
    assert out.out.startswith("rendered with quarto")
    calls = log.read_text().splitlines()
    # one call renders every format, into a temporary folder inside the project moved into _output on success
    assert len(calls) == 1
    args, python, cwd = calls[0].split(" | ")
    assert args.startswith("render review.qmd --to html,typst,docx --output-dir .render-")
    assert (python, cwd) == (sys.executable, str(root))
    assert (root / "_output/review.pdf").read_text() == "made by quarto typst"
    assert (root / "_output/review.html").read_text() == "made by quarto html"
    assert not list(root.glob(".render-*"))
    # unchanged inputs: quarto is not run again
    assert main(["render", "--root", str(root), "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("up to date: _output/review.html, _output/review.pdf, _output/review.docx")
    assert len(log.read_text().splitlines()) == 1
    # --to pdf --force runs only the typst format; warnings are shown with --quiet too
    assert main(["render", "--root", str(root), "--to", "pdf", "--force", "--quiet"]) == 0
    assert log.read_text().splitlines()[-1].startswith("render review.qmd --to typst --output-dir")
    assert len(log.read_text().splitlines()) == 2
    assert capsys.readouterr().err == "quarto: WARNING (review.qmd:12) Unable to resolve crossref @fig-missing\n"
    # --to docx --force: Quarto's docx format alone
    assert main(["render", "--root", str(root), "--to", "docx", "--force", "--quiet"]) == 0
    assert log.read_text().splitlines()[-1].startswith("render review.qmd --to docx --output-dir")
    assert (root / "_output/review.docx").read_text() == "made by quarto docx"
    # a comma-separated list, as quarto's own --to takes it
    capsys.readouterr()
    assert main(["render", "--root", str(root), "--to", "html,pdf", "--force", "--quiet"]) == 0
    assert log.read_text().splitlines()[-1].startswith("render review.qmd --to html,typst --output-dir")
    with pytest.raises(SystemExit) as bad:
        main(["render", "--root", str(root), "--to", "html,epub"])
    assert bad.value.code == 2
    assert "'html,epub': use html, pdf, docx, a list of them such as html,pdf, or all" in capsys.readouterr().err


def test_failing_quarto_render_leaves_the_last_good_outputs(tmp_path, monkeypatch):
    root = tmp_path / "p"
    shutil.copytree(FIXTURE, root)
    (root / "_output").mkdir()
    (root / "_output/review.html").write_text("last good render")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "quarto"
    # writes a partial HTML into its output folder, then fails on the typst format
    script.write_text(f"""#!{sys.executable}
import pathlib, sys
args = sys.argv[1:]
out = pathlib.Path(args[args.index("--output-dir") + 1]); out.mkdir(exist_ok=True)
if "typst" in args[args.index("--to") + 1]:
    sys.stderr.write("ERROR: compilation failed\\n"
                     "[IPKernelApp] WARNING | Kernel is running over TCP without encryption.\\n"); sys.exit(1)
(out / "review.html").write_text("partial")
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(RenderError, match="^quarto render review.qmd --to html,typst,docx failed: ERROR: compilation failed$"):
        render_project(root, engine="quarto")
    assert (root / "_output/review.html").read_text() == "last good render"
    assert not (root / "_output/review.pdf").exists()
    assert not list(root.glob(".render-*"))


def test_quarto_engine_requested_but_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="quarto is not on PATH"):
        render_project(FIXTURE, engine="quarto")


def test_dependencies_cover_inputs_and_code(tmp_path):
    root = tmp_path / "p"
    shutil.copytree(FIXTURE, root)
    names = {p.relative_to(root).as_posix() for p in dependency_files(root) if root in p.parents}
    assert names == {"review.qmd", "_quarto.yml", "analysis_plan.yml", "references.bib", "extraction/studies.csv"}
    code = [p for p in dependency_files(root) if root not in p.parents]
    assert any(p.name == "builtin.py" for p in code) and any(p.name == "pooling.py" for p in code)
    # a module of the review's own that review.qmd imports is an input too
    (root / "review_helpers.py").write_text("X = 1\n", encoding="utf-8")
    assert root / "review_helpers.py" in dependency_files(root)
