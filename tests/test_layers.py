"""The package's layers (analysis/__init__.py): one folder each, imports point one way."""

import ast
from pathlib import Path

import analysis

PKG = Path(analysis.__file__).parent
MODULES = analysis.modules()
#: short module name -> dotted name (short names are unique across the package)
SHORT = {name.rsplit(".", 1)[-1]: name for name in MODULES}


def _package_of(dotted: str, path: Path) -> list[str]:
    """The package a module's relative imports start from."""
    return dotted.split(".") if path.name == "__init__.py" else dotted.split(".")[:-1]


def _imports(path: Path, dotted: str) -> set[str]:
    """Short names of the package's modules that a module imports (anywhere in it)."""
    known = set(MODULES)
    pkg = _package_of(dotted, path)
    out = set()

    def resolve(full: str, names=()):
        if full in known:
            out.add(full.rsplit(".", 1)[-1])
            return
        hit = [m for m in known if full.startswith(m + ".")]
        if hit:
            out.add(max(hit, key=len).rsplit(".", 1)[-1])
            return
        for n in names:  # ``from <package> import <module>``
            if f"{full}.{n}" in known:
                out.add(n)

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = pkg[: len(pkg) - (node.level - 1)]
                full = ".".join(anchor + ([node.module] if node.module else []))
            else:
                full = node.module or ""
            if full == "analysis" or full.startswith("analysis."):
                resolve(full, [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("analysis."):
                    resolve(a.name)
    return out


def test_every_module_sits_in_a_layer_folder():
    folders = {p.name for p in PKG.iterdir()
               if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(analysis.LAYERS), folders ^ set(analysis.LAYERS)
    loose = [p.name for p in PKG.glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"modules outside a layer folder: {loose}"
    assert len(SHORT) == len(MODULES), "two modules share a name"


def test_imports_point_downwards_and_have_no_cycle():
    rank = {name.rsplit(".", 1)[-1]: analysis.LAYERS.index(layer)
            for name, (layer, _) in MODULES.items()}
    graph = {short: _imports(MODULES[dotted][1], dotted) - {short}
             for short, dotted in SHORT.items()}
    upward = [(m, d) for m, ds in graph.items() for d in ds if rank[d] > rank[m]]
    assert not upward, f"imports from a higher layer: {upward}"
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for d in graph[m]:
            if state.get(d) == 1:
                raise AssertionError(f"import cycle: {' -> '.join([*stack, m, d])}")
            if not state.get(d):
                visit(d, [*stack, m])
        state[m] = 2

    for m in graph:
        if not state.get(m):
            visit(m, [])


def test_the_checker_sees_a_violation(tmp_path):
    """The import parser finds relative (one and two levels), absolute and function-level
    imports, and resolves them to modules."""
    f = tmp_path / "m.py"
    f.write_text("from . import cvstats\nfrom .inference import auc\n"
                 "from ..fitting import engine\nfrom ..studies.review import x\n"
                 "def g():\n    from analysis.cli import main\n"
                 "    import analysis.presentation.report\n")
    assert _imports(f, "analysis.statistics.m") == {"cvstats", "inference", "engine", "review",
                                                    "cli", "report"}
