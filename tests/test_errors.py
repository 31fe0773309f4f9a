"""The package's exceptions and warnings: one hierarchy, defined in analysis/base/errors.py;
library messages name parameters, the CLI names its flags."""

import ast
import importlib
import inspect
from pathlib import Path

import pandas as pd
import pytest

import analysis
from analysis import cli
from analysis.base import errors

PKG = Path(analysis.__file__).parent
EXAMPLE = PKG.parent / "data" / "examples"
#: Private control-flow signals (never raised to a caller), allowed in their module.
CONTROL_FLOW = {("models", "_Converged"), ("cli", "_CommandFailed"), ("coefficients", "_Irregular")}


def _modules() -> list[str]:
    """Dotted names of the package's modules (read from the layer folders)."""
    return sorted(analysis.modules())


def test_every_error_is_a_crowd_disagreement_error_and_every_warning_its_warning():
    classes = [getattr(errors, n) for n in errors.__all__ if n != "PARAMETER"]
    excs = [c for c in classes if issubclass(c, BaseException) and not issubclass(c, Warning)]
    warns = [c for c in classes if issubclass(c, Warning)]
    assert len(excs) + len(warns) == len(classes)
    assert {c.__name__ for c in excs} >= {"DataError", "AnnotationFormatError", "DatasetError",
                                          "OutputError", "ProfileNotDetermined"}
    assert all(issubclass(c, errors.CrowdDisagreementError) for c in excs)
    assert all(issubclass(c, errors.CrowdDisagreementWarning) for c in warns)
    assert {c.__name__ for c in warns} >= {"DatasetWarning", "CacheWarning"}
    # the built-in classes callers have always caught
    assert issubclass(errors.DatasetError, ValueError)
    assert issubclass(errors.AnnotationFormatError, ValueError)
    assert issubclass(errors.DataError, RuntimeError)
    assert issubclass(errors.DatasetWarning, UserWarning)


def test_old_import_paths_are_the_same_classes():
    from analysis.design import dataset
    from analysis.loading import data, tidy
    from analysis.presentation import cache, outputs
    from analysis.statistics import coefficients

    assert dataset.DatasetError is errors.DatasetError
    assert dataset.DatasetWarning is errors.DatasetWarning
    assert data.DataError is errors.DataError
    assert tidy.AnnotationFormatError is errors.AnnotationFormatError
    assert outputs.OutputError is errors.OutputError
    assert cache.CacheWarning is errors.CacheWarning
    assert coefficients.ProfileNotDetermined is errors.ProfileNotDetermined


def test_no_exception_or_warning_class_is_defined_outside_errors_py():
    """Fails when a module defines its own exception or warning class."""
    found = set()
    for dotted in _modules():
        name = dotted.rsplit(".", 1)[-1]
        mod = importlib.import_module(dotted)
        for cname, obj in vars(mod).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException)
                    and obj.__module__ == mod.__name__):
                found.add((name, cname))
        # classes defined in functions, or named like an error whatever their base
        for node in ast.walk(ast.parse(analysis.modules()[dotted][1].read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith(
                    ("Error", "Warning", "Exception")):
                found.add((name, node.name))
    outside = {(m, c) for m, c in found if m != "errors"} - CONTROL_FLOW
    assert not outside, f"define these in analysis/base/errors.py: {sorted(outside)}"
    assert {c for m, c in found if m == "errors"} == set(errors.__all__) - {"SHOW", "PARAMETER"}


def test_the_checker_sees_a_new_error_class(tmp_path):
    tree = ast.parse("def f():\n    class BadInput(ValueError):\n        pass\n"
                     "class FooWarning(UserWarning):\n    pass\n")
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)
             and n.name.endswith(("Error", "Warning", "Exception"))}
    assert names == {"FooWarning"}  # BadInput is found by the import-based check instead
    ns: dict = {}
    exec(compile(tree, "m", "exec"), ns)
    assert issubclass(ns["FooWarning"], Warning)


def _labels_and_annotations():
    return (pd.read_csv(EXAMPLE / "annotations.csv"), pd.read_csv(EXAMPLE / "labels.csv"))


def test_library_message_names_the_parameter_not_the_flag():
    from analysis.design import dataset

    ann, lab = _labels_and_annotations()
    with pytest.raises(errors.DatasetError) as info:
        dataset.load(ann, lab, positive="malignant", min_raters=4, raters_per_unit=3)
    msg = str(info.value)
    assert "`min_raters` cannot exceed `raters_per_unit`" in msg
    assert "`raters_per_unit=K`" in msg and "--" not in msg


def test_cli_message_names_the_flag(tmp_path, capsys):
    rc = cli.main(["analyze", "--annotations", str(EXAMPLE / "annotations.csv"),
                   "--labels", str(EXAMPLE / "labels.csv"), "--positive", "malignant",
                   "--min-raters", "4", "--raters-per-unit", "3",
                   "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("crowd-disagreement analyze: input error: ")
    assert ("--min-raters cannot exceed --raters-per-unit. What to do: drop --min-raters: "
            "--raters-per-unit K keeps units with K") in err
    assert "`" not in err and "min_raters" not in err


def test_error_message_translates_parameters_and_picks_the_kind_by_type():
    class MirrorDown(errors.DataError):  # a subclass: kind by type, not by class name
        pass

    assert cli.error_message(MirrorDown("x.csv: not found")) == "data error: x.csv: not found"
    e = errors.DatasetError("a.csv", "`raters` must be 'persons'",
                            hint="`raters='positions'` or `min_raters`")
    assert cli.error_message(e) == ("input error: a.csv: --raters must be 'persons'. "
                                    "What to do: --raters positions or --min-raters")
    assert cli.error_message(errors.OutputError("--out x: in use")) == "output error: --out x: in use"
    assert cli.error_message(errors.CrowdDisagreementError("plain")) == "error: plain"
