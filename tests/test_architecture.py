"""The package's layout follows the one-way flow of the data: no import goes upstream, none circles."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "analysis"
# Stages in the order data flows through them; the shared helpers (errors, paths, files) come first.
STAGES = ["", "data", "stats", "review", "living", "figures", "render", "cli"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module of the package that `path` imports, at the top or inside a function."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("analysis"):
                out.add(target)
                out.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("analysis"))
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in out if m in modules} - {name}


def _stage(module: str) -> int:
    parts = module.split(".")
    sub = parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else ""
    return STAGES.index(sub)


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_every_module_sits_in_a_stage():
    for module in _graph():
        assert _stage(module) >= 0, module


def test_no_import_goes_upstream():
    upstream = [(m, t) for m, targets in _graph().items() for t in targets
                if _stage(t) > _stage(m) and not t.endswith("__init__")]
    # A package's __init__ re-exporting its own modules is not upstream.
    upstream = [(m, t) for m, t in upstream if not t.startswith(m + ".")]
    assert upstream == []


def test_no_import_circle():
    graph = _graph()
    for pkg in [m for m in graph if (PACKAGE.parent / m.replace(".", "/")).is_dir()]:
        # a package importing its submodules is how it re-exports them, not a circle
        graph[pkg] = {t for t in graph[pkg] if not t.startswith(pkg + ".")}
    state: dict[str, int] = {}
    circles = []

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert circles == []


def test_the_checker_sees_a_circle_and_an_upstream_import(tmp_path, monkeypatch):
    # the rules above must be able to fail: a fake package with both faults
    pkg = tmp_path / "analysis"
    for sub in ("data", "review"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "a.py").write_text("from ..review.b import x\n")
    (pkg / "review" / "b.py").write_text("from ..data import a\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg)
    graph = _graph()
    assert graph["analysis.data.a"] == {"analysis.review.b"}
    assert "analysis.data.a" in graph["analysis.review.b"]
    assert _stage("analysis.review.b") > _stage("analysis.data.a")
