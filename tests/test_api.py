"""The package's public surface: every module declares ``__all__``, and the statistics
layer's docstring examples run (and pass) in the suite."""

import ast
import doctest
import importlib
from pathlib import Path

import pytest

import analysis

PKG = Path(analysis.__file__).parent
#: Dotted names of the package's modules (read from the layer folders).
MODULES = sorted(analysis.modules())


def _public_definitions(path: Path) -> set[str]:
    """Functions and classes defined at a module's top level whose name has no leading
    underscore (a name bound by an import is not a definition)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not node.name.startswith("_")}


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_all_of_its_public_names(name):
    mod = importlib.import_module(name)
    assert hasattr(mod, "__all__"), f"{name} has no __all__"
    listed = list(mod.__all__)
    assert len(listed) == len(set(listed)), f"a name is listed twice in {name}"
    missing = [n for n in listed if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
    unlisted = _public_definitions(analysis.modules()[name][1]) - set(listed)
    assert not unlisted, (f"public functions/classes of {name} not in __all__ "
                          f"(add them, or start their name with _): {sorted(unlisted)}")


def test_the_all_check_sees_an_unlisted_definition(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("from os import path\nimport sys\nX = 1\n"
                 "def shown():\n    pass\n\ndef _hidden():\n    pass\n\nclass Shown:\n    pass\n")
    assert _public_definitions(f) == {"shown", "Shown"}


#: The statistics layer (analysis/__init__.py), whose docstring examples are checked.
STATISTICS = sorted(n for n, (layer, _) in analysis.modules().items() if layer == "statistics")


@pytest.mark.parametrize("name", STATISTICS)
def test_statistics_docstring_examples_pass(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False, report=True)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} fail"
