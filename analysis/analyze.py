"""The review of any multi-rater data set: what ``crowd-disagreement analyze`` and
``review.qmd`` run.

:func:`analyze` takes the design of a data set (:func:`analysis.dataset.load`,
:func:`analysis.dataset.load_builtin`) and runs :func:`analysis.review.review` on it,
the same function that reviews the paper's group 7. The review leaves out the claims
whose feature sets a design lacks and says why in ``notes``; nothing is skipped
silently. The units left out are broken down by class, with a test of whether being
left out depends on the label (:func:`excluded_by_class`, ``excluded_by_class.csv``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import cvinference, models, replication, reproduce, review
from .features import GroupDesign
from .progress import recording
from .results import StudyResult

__all__ = [
    "Analysis", "EXCLUDED_BY_CLASS_COLUMNS", "STAGES", "analyze", "excluded_by_class",
    "exclusion_notes",
]



@dataclass(frozen=True, kw_only=True, eq=False)
class Analysis(StudyResult):
    """A review of one data set and what of it could not be run (a
    :class:`analysis.results.StudyResult`: ``settings`` holds the review's settings and
    the options of the curve and the on-request parts)."""

    design: GroupDesign
    review: review.Review
    claims: pd.DataFrame
    #: the annotator-count curve (:func:`analysis.replication.design_curve`), or None
    curve: replication.AnnotatorResult | None = None
    #: On-request parts by name (``multiverse``, ``power``): :class:`analysis.sweeps.Sweep`.
    sweeps: dict = field(default_factory=dict)
    #: Wall seconds of each stage, in the order run (:data:`STAGES`; nested stages as
    #: ``outer / inner``, e.g. ``review / fitted models``).
    stage_seconds: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table ``analyze`` writes, by file name: the review's, the units left
        out and the feature sets not built."""
        from .dataset import excluded_units

        out = self.review.tables()
        out["excluded_units.csv"] = excluded_units(self.design)
        out["excluded_by_class.csv"] = excluded_by_class(self.design)
        out["skipped_feature_sets.csv"] = self.design.skipped
        if self.curve is not None:
            out["annotator_curve.csv"] = self.curve.summary
            out["annotator_trend.csv"] = self.curve.trend
        for sweep in self.sweeps.values():
            out.update(sweep.tables())
        return out


#: Columns of :func:`excluded_by_class`.
EXCLUDED_BY_CLASS_COLUMNS = ["status", "n_units", "n_negative", "n_positive",
                             "n_label_unknown", "share_positive", "odds_ratio", "p_fisher"]
#: ``status`` of the kept units and of all exclusions together.
KEPT, ANY_REASON = "kept", "excluded (any reason)"


def excluded_by_class(design: GroupDesign) -> pd.DataFrame:
    """The classes of the units kept and of the units left out (by reason), with a test
    of whether being left out depends on the label (``excluded_by_class.csv``).

    Parameters
    ----------
    design : GroupDesign
        With ``long`` (the scores and labels of every labelled unit, kept or not).

    Returns
    -------
    DataFrame
        One row per status: ``kept``, each exclusion reason, ``excluded (any reason)``;
        ``n_units``, ``n_negative``, ``n_positive``, ``n_label_unknown`` (a unit without
        a label, or labelled but never annotated, whose label the design does not
        hold), ``share_positive`` (of the units with a known label); for every excluded
        status, ``odds_ratio`` (the odds of being left out for a positive unit over
        those for a negative unit: (excluded positive x kept negative) / (kept positive
        x excluded negative)) and ``p_fisher`` (two-sided Fisher's exact test of the
        2 x 2 table kept/excluded x negative/positive, ``scipy.stats.fisher_exact``).

    Notes
    -----
    When how many raters scored a unit is linked to its class (readers mark the
    suspicious cases more often), a rule that keeps units with at least K raters keeps
    the classes in other proportions than the data hold, and the cvAUCs describe the
    kept units only; a small ``p_fisher`` says so (:func:`exclusion_notes`).
    """
    from scipy.stats import fisher_exact

    y = design.y.astype(int)
    long = getattr(design, "long", None)
    known = (long.drop_duplicates("image_id").set_index("image_id")["label"].astype(int)
             if long is not None and len(long) else pd.Series(dtype=int))
    ex = design.excluded
    kept_neg, kept_pos = int((y == 0).sum()), int((y == 1).sum())

    def row(status, units):
        lab = known.reindex(pd.Index(units)).dropna().astype(int)
        neg, pos = int((lab == 0).sum()), int((lab == 1).sum())
        odds, p = np.nan, np.nan
        if neg + pos:
            odds, p = fisher_exact([[kept_neg, kept_pos], [neg, pos]])
        return (status, len(units), neg, pos, len(units) - neg - pos,
                pos / (neg + pos) if neg + pos else np.nan, float(odds), float(p))

    rows = [(KEPT, kept_neg + kept_pos, kept_neg, kept_pos, 0,
             kept_pos / (kept_neg + kept_pos) if len(y) else np.nan, np.nan, np.nan)]
    for reason, units in ex.groupby("reason", sort=False)["image_id"]:
        rows.append(row(reason, list(units)))
    if ex["reason"].nunique() > 1:
        rows.append(row(ANY_REASON, list(ex["image_id"])))
    return pd.DataFrame(rows, columns=EXCLUDED_BY_CLASS_COLUMNS)


def exclusion_notes(design: GroupDesign, table: pd.DataFrame | None = None) -> list[str]:
    """A sentence when being left out depends on the label (``p_fisher`` of all
    exclusions below :data:`analysis.cvinference.ALPHA`), else none."""
    table = excluded_by_class(design) if table is None else table
    excl = table[table["status"] != KEPT]
    if excl.empty:
        return []
    test = excl.iloc[-1]  # "excluded (any reason)", or the one reason
    if not test["p_fisher"] < cvinference.ALPHA:
        return []
    kept = table.iloc[0]
    pos = design.settings.get("positive", "positive")
    neg = design.settings.get("negative", "negative")
    n_pos, n_neg = test["n_positive"] + kept["n_positive"], test["n_negative"] + kept["n_negative"]
    return [f"which units are kept depends on the label: {int(test['n_positive'])} of {n_pos} "
            f"labelled {pos} units and {int(test['n_negative'])} of {n_neg} {neg} units were "
            f"left out (odds ratio {test['odds_ratio']:.2f}, Fisher's exact p = "
            f"{test['p_fisher']:.2g}; excluded_by_class.csv): the kept units are not a "
            "random sample of the labelled ones, so every cvAUC describes the kept units, "
            "and a feature set can gain or lose by which units the rule kept (e.g. the "
            "number of raters of a unit may itself predict the label)"]


#: The stages of :func:`analyze`, each shown with its own line and elapsed time.
STAGES = {
    "cross-validation": "experiments 1-3: cvAUC of every feature set over the CV repeats",
    "review": "bootstrap-CV intervals, permutation tests, fitted models, calibration",
    "annotator curve": "cvAUC against the number of raters",
    "multiverse": "on request",
    "power": "on request",
}


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
    margin: float = review.MARGIN,
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
    repeats, n_boot, n_permutations, perm_repeats, n_seeds, calibration_boot, seed, margin,
    n_jobs, quiet
        As in :func:`analysis.review.review` (``margin``: C4's non-inferiority margin,
        :data:`analysis.review.MARGIN`); ``n_permutations`` at least
        :data:`analysis.budgets.MIN_PERMUTATIONS` (39: with fewer, no p-value can fall
        below 0.05); so is ``perm_extension``.
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
        ``review`` (the :class:`analysis.review.Review`), ``claims``, ``notes`` (how an
        input file was read when its format was detected, each part not run and why,
        whether being left out depends on the label: :func:`exclusion_notes`),
        ``curve``, ``sweeps`` (the on-request parts run), ``stage_seconds``.

    Raises
    ------
    ValueError
        ``n_permutations`` below :data:`analysis.budgets.MIN_PERMUTATIONS`.

    Notes
    -----
    Each stage of :data:`STAGES` run prints a line on stderr when it starts and one with
    its wall time when it ends (unless ``quiet``); stages inside them that time
    themselves (the fitted models, :func:`analysis.coefficients.fit_models`) are shown
    and recorded as ``review / fitted models``. The cross-validation is run here and
    handed to the review (the same call the review would make), so that its time is
    seen apart.
    """
    from .budgets import check_permutations

    check_permutations(n_permutations)
    t0 = time.perf_counter()
    with recording("analyze", quiet=quiet) as rec:
        with rec.stage("cross-validation"):
            exp = reproduce.run_experiments(design, repeats=repeats, seed=seed,
                                            experiments=(1, 2, 3),
                                            n_splits=cvinference.fold_count(design.labels).n_splits,
                                            n_jobs=n_jobs, quiet=quiet)
        with rec.stage("review"):
            rv = review.review(design, repeats=repeats, n_boot=n_boot,
                               n_permutations=n_permutations, perm_repeats=perm_repeats,
                               n_seeds=n_seeds, calibration_boot=calibration_boot,
                               perm_extension=perm_extension, seed=seed, margin=margin,
                               n_jobs=n_jobs, quiet=quiet, exp=exp)
        notes = (list(design.settings.get("input_notes", [])) + list(rv.notes)
                 + exclusion_notes(design))
        cur = None
        if curve is not False:
            with rec.stage("annotator curve"):
                cur = replication.design_curve(design, seed=seed, n_jobs=n_jobs, quiet=quiet,
                                               **(curve if isinstance(curve, dict) else {}))
            notes += replication.curve_notes(cur)
        from . import sweeps

        parts = {}
        for name, opt, run in (("multiverse", multiverse, sweeps.run_multiverse),
                               ("power", power, sweeps.run_power)):
            if opt:
                kw = opt if isinstance(opt, dict) else {}
                with rec.stage(name):
                    parts[name] = run(design, seed=seed, n_jobs=n_jobs, quiet=quiet, **kw)
        notes += [n for sw in parts.values() for n in sw.notes]
    settings = {"review": rv.settings, "curve": curve, "multiverse": multiverse,
                "power": power}
    return Analysis(design=design, review=rv, claims=rv.claims(), curve=cur, sweeps=parts,
                    stage_seconds=rec.rounded(), settings=settings, notes=notes,
                    elapsed=time.perf_counter() - t0)
