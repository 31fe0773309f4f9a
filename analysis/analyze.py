"""The review of any multi-rater data set: what ``crowd-disagreement analyze`` and
``review.qmd`` run.

:func:`analyze` takes the design of a data set (:func:`analysis.dataset.load`,
:func:`analysis.dataset.load_builtin`) and runs :func:`analysis.review.review` on it,
the same function that reviews the paper's group 7. The review leaves out the claims
whose feature sets a design lacks and says why in ``notes``; nothing is skipped
silently.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from . import models, replication, review
from .features import GroupDesign


@dataclass
class Analysis:
    """A review of one data set and what of it could not be run."""

    design: GroupDesign
    review: review.Review
    claims: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    #: the annotator-count curve (:func:`analysis.replication.design_curve`), or None
    curve: replication.AnnotatorResult | None = None
    #: On-request parts by name (``multiverse``, ``power``): :class:`analysis.sweeps.Sweep`.
    sweeps: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table ``analyze`` writes, by file name: the review's, the units left
        out and the feature sets not built."""
        from .dataset import excluded_units

        out = self.review.tables()
        out["excluded_units.csv"] = excluded_units(self.design)
        out["skipped_feature_sets.csv"] = self.design.skipped
        if self.curve is not None:
            out["annotator_curve.csv"] = self.curve.summary
            out["annotator_trend.csv"] = self.curve.trend
        for sweep in self.sweeps.values():
            out.update(sweep.tables)
        return out


def analyze(
    design: GroupDesign,
    *,
    repeats: int = review.BUDGET.repeats,
    n_boot: int = review.BUDGET.n_boot,
    n_permutations: int = review.BUDGET.n_permutations,
    perm_repeats: int = review.BUDGET.perm_repeats,
    n_seeds: int = review.BUDGET.n_seeds,
    calibration_boot: int | None = None,
    perm_extension: int = review.BUDGET.perm_extension,
    seed: int = models.DEFAULT_SEED,
    n_jobs: int = 1,
    quiet: bool = False,
    curve: bool | dict = True,
    multiverse: bool | dict = False,
    power: bool | dict = False,
) -> Analysis:
    """The statistical review of a data set's design.

    Parameters
    ----------
    design : GroupDesign
        From :func:`analysis.dataset.load` or :func:`analysis.dataset.load_builtin`.
    repeats, n_boot, n_permutations, perm_repeats, n_seeds, calibration_boot, seed, n_jobs, quiet
        As in :func:`analysis.review.review`; so is ``perm_extension``.
    curve : bool or dict
        Run the annotator-count curve (:func:`analysis.replication.design_curve`, at
        its defaults, or with these keywords: ``max_subsets, repeats, trend_boot``);
        False skips it.
    multiverse, power : bool or dict
        Also run the multiverse (:func:`analysis.sweeps.run_multiverse`) or the power
        simulation (:func:`analysis.sweeps.run_power`); a dict gives their options.

    Returns
    -------
    Analysis
        ``review`` (the :class:`analysis.review.Review`), ``claims``, ``notes`` (each
        part not run and why), ``curve``, ``sweeps`` (the on-request parts run).
    """
    t0 = time.perf_counter()
    rv = review.review(design, repeats=repeats, n_boot=n_boot, n_permutations=n_permutations,
                       perm_repeats=perm_repeats, n_seeds=n_seeds,
                       calibration_boot=calibration_boot, perm_extension=perm_extension,
                       seed=seed, n_jobs=n_jobs, quiet=quiet)
    notes = list(rv.notes)
    cur = None
    if curve is not False:
        cur = replication.design_curve(design, seed=seed, n_jobs=n_jobs, quiet=quiet,
                                       **(curve if isinstance(curve, dict) else {}))
        notes += replication.curve_notes(cur)
    from . import sweeps

    parts = {}
    for name, opt, run in (("multiverse", multiverse, sweeps.run_multiverse),
                           ("power", power, sweeps.run_power)):
        if opt:
            kw = opt if isinstance(opt, dict) else {}
            parts[name] = run(design, seed=seed, n_jobs=n_jobs, quiet=quiet, **kw)
    notes += [n for sw in parts.values() for n in sw.notes]
    return Analysis(design, rv, rv.claims(), notes, time.perf_counter() - t0, cur, parts)
