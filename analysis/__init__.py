"""crowd-disagreement: is annotators' disagreement informative about the label?

The modules sit in one folder per layer (``analysis/<layer>/``). A module imports
only from its own layer or the layers above it in this list, and no two modules
import each other; ``tests/test_layers.py`` checks both, reading each module's layer
from its folder:

==============  =========================================================================
layer           modules
==============  =========================================================================
base            ``errors``, ``progress``, ``paper`` (the paper's published numbers),
                ``fitconfig`` (tolerances, the master seed), ``metrics`` (the AUC and
                its ties), ``distributed`` (the Dask backend), ``seeds`` (the named
                random streams), ``budgets`` (resampling counts and their presets),
                ``interrupts`` (SIGINT/SIGTERM end a command cleanly), ``columns``
                (the column vocabulary of every result table), ``results`` (the one
                protocol of a study's result)
loading         ``data`` (pinned, hash-checked ENHANCE files), ``tidy`` (their tidy form)
design          ``features`` (the analysis design of one data set: rater columns,
                moments, feature sets), ``dataset`` (a user's files, validated, into
                that design)
fitting         ``engine`` (batched logistic fits), ``models`` (cross-validation, the
                reference statsmodels/firthmodels path)
statistics      ``inference`` (DeLong, bootstrap, permutation, meta-analysis),
                ``cvstats`` (the cvAUC estimand, its intervals and tests),
                ``cvinference`` (the one cvAUC inference routine: fold rule,
                bootstrap-CV, permutation tests, verdict rules),
                ``metacov`` (the sampling correlation of studies that share images),
                ``agreement`` (ICC, Krippendorff's alpha), ``coefficients``,
                ``calibration``
studies         ``reproduce`` (the paper's experiments), ``review`` (claims and
                verdicts), ``replication``, ``multiverse``, ``simulate``, ``sweeps``,
                ``analyze`` (the review of any data set)
presentation    ``present`` (table and figure helpers), ``prose`` (the studies'
                results in sentences), ``claims`` (the review's claims, parts and
                tests in words: ``claims.csv``, ``tests.csv``), ``figures``, ``report`` and
                ``review_doc`` (the two Quarto documents' data), ``cache``, ``render``,
                ``outputs`` (atomic CSV folders)
cli             the command line (``analysis.cli``, ``python -m analysis.cli``)
==============  =========================================================================
"""

from pathlib import Path

__all__ = ["LAYERS", "modules"]

#: The layers from the bottom (imported by everything) to the top: one folder each.
LAYERS = ("base", "loading", "design", "fitting", "statistics", "studies", "presentation",
          "cli")


def modules() -> dict[str, tuple[str, Path]]:
    """Every module of the package, read from the folders.

    Returns
    -------
    dict
        Dotted name (``"analysis.statistics.inference"``) -> (layer, file). A layer's
        package ``__init__.py`` counts as a module only for ``cli``, the one layer whose
        ``__init__.py`` holds code.

    Examples
    --------
    >>> modules()["analysis.statistics.cvinference"][0]
    'statistics'
    """
    root = Path(__file__).resolve().parent
    out = {}
    for layer in LAYERS:
        for path in sorted((root / layer).glob("*.py")):
            if path.stem == "__main__":
                continue
            if path.stem == "__init__":
                if layer == "cli":
                    out["analysis.cli"] = (layer, path)
                continue
            out[f"analysis.{layer}.{path.stem}"] = (layer, path)
    return out
