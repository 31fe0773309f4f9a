"""The package's layers (analysis/__init__.py): imports point one way, downwards."""

import ast
from pathlib import Path

import analysis

PKG = Path(analysis.__file__).parent


def _imports(path: Path) -> set[str]:
    """Modules of the package a module imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                out |= ({node.module.split(".")[0]} if node.module
                        else {a.name for a in node.names})
            elif node.level == 0 and (node.module or "").startswith("analysis."):
                out.add(node.module.split(".")[1])
            elif node.level == 0 and node.module == "analysis":
                out |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("analysis.")}
    return out


def test_every_module_has_a_layer():
    modules = {p.stem for p in PKG.glob("*.py")} - {"__init__"}
    listed = [m for ms in analysis.LAYERS.values() for m in ms]
    assert sorted(listed) == sorted(set(listed)), "a module is listed twice"
    assert modules == set(listed), (modules ^ set(listed))


def test_imports_point_downwards_and_have_no_cycle():
    rank = {m: i for i, ms in enumerate(analysis.LAYERS.values()) for m in ms}
    graph = {m: _imports(PKG / f"{m}.py") - {m} for m in rank}
    upward = [(m, d) for m, ds in graph.items() for d in ds if d in rank and rank[d] > rank[m]]
    assert not upward, f"imports from a higher layer: {upward}"
    # no cycles (within a layer either): depth-first search
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for d in graph[m]:
            if state.get(d) == 1:
                raise AssertionError(f"import cycle: {' -> '.join([*stack, m, d])}")
            if d in graph and not state.get(d):
                visit(d, [*stack, m])
        state[m] = 2

    for m in graph:
        if not state.get(m):
            visit(m, [])


def test_the_checker_sees_a_violation(tmp_path):
    """The import parser finds relative, absolute and function-level imports."""
    f = tmp_path / "m.py"
    f.write_text("from . import engine\nfrom .review import x\n"
                 "def g():\n    from analysis.cli import main\n    import analysis.report\n")
    assert _imports(f) == {"engine", "review", "cli", "report"}
