"""The review of any multi-rater data set: what ``crowd-disagreement analyze`` and
``review.qmd`` run.

:func:`analyze` takes the design of a data set (:func:`analysis.dataset.load`,
:func:`analysis.dataset.load_builtin`) and runs :func:`analysis.review.review` on it.
Where the review's claims C1-C7 still name group 7's feature types and feature sets
(see :func:`review_gaps`), it runs the review's own functions one by one on the feature
sets that exist, and records each part it could not run, and why, in ``notes``:
nothing is skipped silently. :func:`review_tables` names the tidy tables both
``review`` and ``analyze`` write.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

import pandas as pd

from . import models, reproduce, review
from .features import MOMENTS, GroupDesign

#: Feature types claim C7 names (group 7's).
C7_FEATURES = ("asymmetry", "border", "color", "dermoscopic_structures")


def review_tables(rv: review.Review, claims: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The tidy tables of a review, by file name (``claims.csv`` when ``claims`` is given)."""
    tables = {
        "auc_ci.csv": rv.auc_ci, "permutation.csv": rv.permutation.summary,
        "permutation_null.csv": rv.permutation.null, "comparisons.csv": rv.comparisons,
        "icc.csv": rv.icc, "krippendorff.csv": rv.krippendorff,
        "moment_tests.csv": rv.moment_tests, "fold_variability.csv": rv.fold_variability,
    }
    if claims is not None:
        tables["claims.csv"] = claims
    return tables


def review_gaps(design: GroupDesign) -> list[str]:
    """Why :func:`analysis.review.review` cannot run unchanged on ``design`` (empty when
    it can): feature sets or feature types that its claims name and the design lacks."""
    have = set(design.sets["feature_set"])
    need = {"all", "mean", "mean+sd", *review.PERMUTATION_SETS,
            *(f"mean+{m}" for m in review.DISAGREEMENT)}
    need |= {s for _, a, b in review.COMPARISONS for s in (a, b)}
    gaps = []
    missing = sorted(need - have)
    if missing:
        gaps.append(f"feature sets the review names are absent: {', '.join(missing)}")
    if not any(s.startswith("annotator_") for s in have):
        gaps.append("no per-rater feature set (claim C3)")
    absent = [f for f in C7_FEATURES if f not in design.features]
    if absent:
        gaps.append(f"feature types claim C7 names are absent: {', '.join(absent)}")
    return gaps


@contextmanager
def _review_limited_to(design: GroupDesign):
    """Run review functions on the feature sets and moments the design has.

    A bridge while :mod:`analysis.review` names group 7's sets: its module-level lists
    of comparisons, disagreement moments and moments are narrowed for the duration of
    the call, nothing else is changed.
    """
    have = set(design.sets["feature_set"])
    comparisons = [c for c in review.COMPARISONS if c[1] in have and c[2] in have]
    disagreement = tuple(m for m in review.DISAGREEMENT if f"mean+{m}" in have)
    moments = tuple(m for m in MOMENTS if design.moments_raw[[f"{m}_{f}" for f in design.features]]
                    .notna().all().all())
    narrowed = {k: v for k, v in (("COMPARISONS", comparisons), ("DISAGREEMENT", disagreement),
                                  ("MOMENTS", moments)) if hasattr(review, k)}
    with mock.patch.multiple(review, **narrowed):
        yield


@dataclass
class Analysis:
    """A review of one data set and what of it could not be run."""

    design: GroupDesign
    review: review.Review
    claims: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table ``analyze`` writes, by file name."""
        from .dataset import excluded_units

        out = review_tables(self.review, self.claims)
        out["excluded_units.csv"] = excluded_units(self.design)
        out["skipped_feature_sets.csv"] = self.design.skipped
        return out


def analyze(
    design: GroupDesign,
    *,
    repeats: int = reproduce.DEFAULT_REPEATS,
    n_boot: int = review.DEFAULT_BOOT,
    n_permutations: int = review.DEFAULT_PERMUTATIONS,
    seed: int = models.DEFAULT_SEED,
    n_jobs: int = 1,
    quiet: bool = False,
) -> Analysis:
    """The statistical review of a data set's design.

    Parameters
    ----------
    design : GroupDesign
        From :func:`analysis.dataset.load` or :func:`analysis.dataset.load_builtin`.
    repeats, n_boot, n_permutations, seed, n_jobs, quiet
        As in :func:`analysis.review.review`.

    Returns
    -------
    Analysis
        ``review`` (the :class:`analysis.review.Review`), ``claims`` (None when the
        claims could not be evaluated), ``notes`` (each part not run and why).

    Notes
    -----
    When :func:`review_gaps` is empty this is exactly ``review.review(design, ...)``
    and its claims. Otherwise the same functions run in the same order with the same
    seeds (cross-validation of experiments 1-3, AUC intervals, permutation tests of
    the disagreement sets that exist, paired comparisons among existing sets,
    agreement, moment tests of the defined moments, fold variability), each part
    that fails is recorded in ``notes``, and the claims are evaluated only if they can.
    """
    t0 = time.perf_counter()
    notes = [f"feature set {r.feature_set} not built: {r.reason}"
             for r in design.skipped.itertuples()]
    gaps = review_gaps(design)
    if not gaps:
        rv = review.review(design, repeats=repeats, n_boot=n_boot, n_permutations=n_permutations,
                           seed=seed, n_jobs=n_jobs, quiet=quiet)
        return Analysis(design, rv, rv.claims(), notes, time.perf_counter() - t0)

    notes += [f"review adapted: {g}" for g in gaps]
    have = set(design.sets["feature_set"])
    exp = reproduce.run_experiments(design, repeats=repeats, seed=seed, experiments=(1, 2, 3),
                                    n_jobs=n_jobs, quiet=quiet)
    auc_ci = review.auc_intervals(exp, n_boot=n_boot, seed=seed)
    perm_sets = tuple(s for s in review.PERMUTATION_SETS if s in have)
    perm = review.permutation_tests(design, exp, n_permutations=n_permutations, seed=seed,
                                    sets=perm_sets, n_jobs=n_jobs, quiet=quiet)
    with _review_limited_to(design):
        try:
            cmp_ = review.comparisons(design, exp)
        except Exception as err:  # noqa: BLE001 - recorded, never silent
            notes.append(f"comparisons not computed: {type(err).__name__}: {err}")
            cmp_ = pd.DataFrame()
        mt = review.moment_tests(design)
    try:
        icc, ka = review.agreement_tables(design)
    except Exception as err:  # noqa: BLE001
        notes.append(f"agreement (ICC, Krippendorff's alpha) not computed: "
                     f"{type(err).__name__}: {err}")
        icc, ka = pd.DataFrame(), pd.DataFrame()
    fv = review.fold_variability(exp)
    settings = {"seed": seed, "repeats": exp.repeats, "n_boot": n_boot,
                "n_permutations": n_permutations, "estimators": list(exp.estimators)}
    rv = review.Review(design, exp, auc_ci, perm, cmp_, icc, ka, mt, fv, settings,
                       time.perf_counter() - t0)
    try:
        claims = rv.claims()
    except Exception as err:  # noqa: BLE001
        notes.append("claims C1-C7 not evaluated: they name group 7's feature types and sets "
                     f"({type(err).__name__}: {err})")
        claims = None
    return Analysis(design, rv, claims, notes, time.perf_counter() - t0)
