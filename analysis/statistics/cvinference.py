"""The cvAUC inference routine: one place for the review, the replication, the multiverse,
the simulation and the annotator curve.

The pipeline every study runs is

    cross-validated AUC -> bootstrap-CV interval -> paired differences
    -> repeated-CV permutation test (fixed count, or sequential) -> verdict

and each step, with its rule, is defined here once:

* **fold-count rule** (:func:`fold_count`): ``wanted`` folds (10), fewer when the rarer
  class has fewer units, never fewer than 2 (a ``ValueError``); a reduction comes with
  a note that the caller records.
* **bootstrap-CV** (:func:`bootstrap_cv_plan`, :func:`cv_auc_interval`,
  :func:`paired_difference`): replicates drawn on the named stream ``bootstrap_cv``
  (:mod:`analysis.base.seeds`), a normal interval with the replicates' SD
  (:func:`analysis.statistics.cvstats.bootstrap_cv_interval`), on the arcsine-square-root scale for a cvAUC
  (:data:`AUC_INTERVAL_SCALE`) and the identity scale for a difference.
* **permutation tests** (:func:`permutation_test`, :func:`sequential_permutation_test`):
  one tie rule and one Besag-Clifford implementation
  (:func:`analysis.statistics.cvstats.sequential_pvalue`).
* **verdicts** (:data:`VERDICTS`, :func:`verdict_better`, :func:`verdict_above`,
  :func:`verdict_noninferior`, :func:`verdict_better_than_random`,
  :func:`verdict_exceeds_reference`, :func:`verdict_global`,
  :func:`verdict_directional`): one vocabulary and one rule per kind of claim. Every
  rule says "not supported" only on a test in the direction opposite to the claim that
  is significant (one-sided, at 2.5% where the rule reads a two-sided 95% interval or
  test, at 5% for a one-sided reference), never because an estimate falls short.

Results are small frozen dataclasses, in the way ``scipy.stats`` returns
``PermutationTestResult`` and ``BootstrapResult``; argument checks sit in one ``_..._iv``
function per routine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base import seeds
from . import cvstats, inference

__all__ = [
    "ALPHA", "BootstrapCVResult", "FoldCount", "INCONCLUSIVE", "NOT_SHOWN", "NOT_SUPPORTED",
    "PairedDifferenceResult", "PermutationTestResult", "SUPPORTED", "VERDICTS",
    "bootstrap_cv_plan", "cv_auc_interval", "fold_count", "paired_difference",
    "noninferiority_power", "permutation_test", "sequential_permutation_test",
    "verdict_above", "verdict_better", "verdict_better_than_random", "verdict_directional",
    "verdict_exceeds_reference", "verdict_global", "verdict_noninferior", "vs_chance",
]

#: Level of every test whose decision enters a verdict.
ALPHA = 0.05

# --- verdicts ------------------------------------------------------------------------------

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
#: The data cannot decide the part.
NOT_SHOWN = "not shown"
#: The part's verdicts differ between estimators (the review), or a claim's parts
#: neither all hold nor any fail.
INCONCLUSIVE = "inconclusive"
#: The words of every verdict of the package.
VERDICTS = (SUPPORTED, NOT_SUPPORTED, NOT_SHOWN, INCONCLUSIVE)


def verdict_better(diff: float, p: float, alpha: float = ALPHA) -> str:
    """"a is better than b" (or "better than random" with ``diff = AUC - 1/2``): supported
    when the test is significant in the claimed direction, not supported when it is
    significant against it, else not shown."""
    if p < alpha and diff > 0:
        return SUPPORTED
    if p < alpha and diff < 0:
        return NOT_SUPPORTED
    return NOT_SHOWN


def verdict_above(low: float, high: float, threshold: float) -> str:
    """"the quantity exceeds ``threshold``": the whole interval above it (supported), the
    whole interval below it (not supported), else not shown."""
    if low > threshold:
        return SUPPORTED
    if high < threshold:
        return NOT_SUPPORTED
    return NOT_SHOWN


def verdict_noninferior(low: float, high: float, margin: float) -> str:
    """"adding disagreement does not improve on the mean": the interval of the improvement
    lies below the margin (supported); a significant improvement refutes it.

    Examples
    --------
    >>> verdict_noninferior(-0.02, 0.03, margin=0.05)
    'supported'
    >>> verdict_noninferior(0.01, 0.08, margin=0.05)
    'not supported'
    >>> verdict_noninferior(-0.02, 0.08, margin=0.05)
    'not shown'
    """
    if high < margin:
        return SUPPORTED
    if low > 0:
        return NOT_SUPPORTED
    return NOT_SHOWN


def verdict_exceeds_reference(p_greater: float, p_less: float, alpha: float = ALPHA) -> str:
    """"the observed statistic exceeds what a reference (null) distribution gives" (C6):
    supported when the upper-tail p-value ``p_greater`` is below ``alpha``, not
    supported when the lower-tail p-value ``p_less`` (the same reference, the opposite
    one-sided test) is below ``alpha``, else not shown.

    An observed value at or below the reference's mean is not by itself evidence
    against the claim: only a significant opposite test is (the rule written in
    :data:`analysis.presentation.claims.VERDICT_RULES`)."""
    if p_greater < alpha:
        return SUPPORTED
    if p_less < alpha:
        return NOT_SUPPORTED
    return NOT_SHOWN


def verdict_global(p: float, alpha: float = ALPHA) -> str:
    """"the groups are not all equal" (a global test, C2*): supported when the test is
    significant; never not supported (equality is not a claim a test can support)."""
    return SUPPORTED if p < alpha else NOT_SHOWN


def verdict_directional(p_two_sided: float, claimed_direction: bool,
                        alpha: float = ALPHA) -> str:
    """"the difference goes the claimed way", from a two-sided test and the observed
    direction (C7, Mann-Whitney): supported when significant in the claimed direction,
    not supported when significant in the opposite one, else not shown. Each verdict
    is a one-sided test at ``alpha / 2``: :func:`verdict_better` with the direction as
    the sign."""
    return verdict_better(1.0 if claimed_direction else -1.0, p_two_sided, alpha)


def noninferiority_power(se: float, margin: float, alpha: float = ALPHA,
                         true_diff: float = 0.0) -> float:
    """Probability that :func:`verdict_noninferior` says supported, i.e. that the upper
    limit of the two-sided ``1 - alpha`` normal interval, ``d + z_{1-alpha/2} se``, falls
    below ``margin`` when the estimate ``d`` is ``N(true_diff, se^2)``:
    ``Phi((margin - true_diff) / se - z_{1-alpha/2})``. NaN when ``se`` is not a
    positive finite number.

    Examples
    --------
    When ``margin / se`` equals ``z_{0.975}``, the upper limit falls below the margin
    half of the time:

    >>> round(noninferiority_power(0.05 / 1.959963984540054, 0.05), 12)
    0.5
    >>> noninferiority_power(0.0, 0.05)
    nan
    """
    if not (np.isfinite(se) and se > 0 and np.isfinite(margin)):
        return float("nan")
    z = float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.norm.cdf((margin - true_diff) / se - z))


def verdict_better_than_random(p_permutation: float, ci_high: float,
                               alpha: float = ALPHA) -> str:
    """Claim C5, "disagreement alone is better than random", on one estimator or path:
    supported when the permutation p-value is below ``alpha``, not supported when the
    bootstrap-CV interval of the cvAUC lies entirely below 1/2, else not shown."""
    if p_permutation < alpha:
        return SUPPORTED
    if ci_high < 0.5:
        return NOT_SUPPORTED
    return NOT_SHOWN


# --- the fold-count rule ---------------------------------------------------------------------

#: Folds of every cross-validation unless the data allow fewer.
DEFAULT_FOLDS = 10


@dataclass(frozen=True)
class FoldCount:
    """Folds of a cross-validation and why (:func:`fold_count`).

    Attributes
    ----------
    n_splits : int
        Folds used.
    wanted : int
        Folds asked for.
    rarer : int
        Units of the rarer class.
    note : str
        Empty when ``n_splits == wanted``; otherwise the sentence the caller records.
    """

    n_splits: int
    wanted: int
    rarer: int
    note: str

    @property
    def reduced(self) -> bool:
        return self.n_splits < self.wanted


def _fold_count_iv(y: Any, wanted: int | None) -> tuple[np.ndarray, int]:
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError("y must be a non-empty 1-D array of 0/1 labels")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold 0/1 labels only")
    wanted = DEFAULT_FOLDS if wanted is None else int(wanted)
    if wanted < 2:
        raise ValueError(f"wanted must be at least 2 folds, got {wanted}")
    return y.astype(int), wanted


def fold_count(y: Any, wanted: int | None = None, groups: Any = None) -> FoldCount:
    """The fold-count rule: ``wanted`` folds (default 10), fewer when the rarer class has
    fewer units (with ``groups``: fewer groups holding a unit of it), at least 2.

    Parameters
    ----------
    y : array-like of 0/1
    wanted : int, optional
        Folds asked for (default :data:`DEFAULT_FOLDS`).
    groups : array-like, optional
        Group of each unit: a stratified group k-fold can put a unit of each class in
        at most as many folds as there are groups holding one, so ``rarer`` counts those
        groups.

    Returns
    -------
    FoldCount

    Raises
    ------
    ValueError
        When the rarer class has fewer than 2 units: a stratified cross-validation
        needs one unit of each class in every test fold and in every training set.
    """
    y, wanted = _fold_count_iv(y, wanted)
    what = "units"
    if groups is None:
        rarer = int(np.bincount(y, minlength=2).min())
    else:
        g = np.asarray(groups)
        if g.shape != y.shape:
            raise ValueError(f"groups must have one entry per unit ({len(y)}), got {g.shape}")
        rarer = int(min(len(np.unique(g[y == c])) for c in (0, 1)))
        what = "groups holding a unit of it"
    k = min(wanted, rarer)
    if k < 2:
        raise ValueError(f"cannot cross-validate: the rarer class has {rarer} {what}")
    note = ("" if k == wanted
            else f"{k}-fold cross-validation: the rarer class has only {rarer} {what}")
    return FoldCount(k, wanted, rarer, note)


# --- bootstrap-CV ----------------------------------------------------------------------------

def bootstrap_cv_plan(y: Any, *, n_boot: int, n_splits: int, seed: int,
                      n_repeats: int = cvstats.BOOT_CV_REPEATS, groups: Any = None) -> list:
    """Splits of ``n_boot`` bootstrap-CV replicates on the stream ``bootstrap_cv`` of
    ``seed`` (:func:`analysis.statistics.cvstats.bootstrap_cv_splits`), shared by every feature set
    of a study so that differences between sets are paired. ``groups``: groups are
    resampled (within kind: with or without a positive unit) and never split by a
    fold."""
    splits, _ = cvstats.bootstrap_cv_splits(y, n_boot=n_boot, n_repeats=n_repeats,
                                            n_splits=n_splits,
                                            seed=seeds.state("bootstrap_cv", seed),
                                            groups=groups)
    return splits


@dataclass(frozen=True)
class BootstrapCVResult:
    """A cross-validated estimate with its bootstrap-CV interval and z test.

    ``pvalue`` is two-sided against ``null``; ``p_greater`` one-sided (estimate > null);
    ``n_boot`` the finite replicates, ``n_nan`` the others.
    """

    estimate: float
    se: float
    low: float
    high: float
    z: float
    pvalue: float
    p_greater: float
    n_boot: int
    n_nan: int


def _interval_iv(estimate: Any, replicates: Any, alpha: float) -> tuple[float, np.ndarray]:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    reps = np.asarray([] if replicates is None else replicates, dtype=float).ravel()
    return float(estimate), reps


#: Scale of the interval of a cvAUC: the arcsine square root, on which the replicates'
#: SD no longer falls as the estimate nears 1, so each one-sided error stays at most
#: 2.5% near the ceiling where the identity scale's upper miss reaches 5-7%
#: (``benchmarks/interval_ceiling.py``; the logit scale also holds the errors but
#: over-covers, 99%, with intervals a third wider). Differences keep the identity scale.
AUC_INTERVAL_SCALE = "asin"


def cv_auc_interval(estimate: float, replicates: Any, *, null: float = 0.5,
                    bounds: tuple[float, float] | None = (0.0, 1.0),
                    alpha: float = ALPHA, scale: str | None = None) -> BootstrapCVResult:
    """The bootstrap-CV interval of a cvAUC (or, with ``null=0`` and ``bounds=(-1, 1)``,
    of a difference of cvAUCs); see :func:`analysis.statistics.cvstats.bootstrap_cv_interval`.

    ``scale`` defaults to :data:`AUC_INTERVAL_SCALE` (arcsine square root) for an AUC (bounds
    ``(0, 1)``) and to the identity scale for anything else (a difference). The z test
    is on the same scale as the interval, so the two agree (the interval excludes
    ``null`` exactly when ``pvalue < alpha``); ``se`` is on the AUC scale."""
    estimate, reps = _interval_iv(estimate, replicates, alpha)
    if scale is None:
        is_auc = bounds is not None and tuple(map(float, bounds)) == (0.0, 1.0)
        scale = AUC_INTERVAL_SCALE if is_auc else "identity"
    r = cvstats.bootstrap_cv_interval(estimate, reps, null=null, alpha=alpha, bounds=bounds,
                                      scale=scale)
    return BootstrapCVResult(r["estimate"], r["se"], r["low"], r["high"], r["z"], r["p"],
                             r["p_greater"], r["n_boot"], r["n_nan"])


@dataclass(frozen=True)
class PairedDifferenceResult:
    """cvAUC(a) - cvAUC(b) over the same folds, with its bootstrap-CV interval.

    ``pvalue`` is the two-sided z test of no difference; ``p_greater`` the one-sided
    test of the same z that a is better than b (cvAUC(a) > cvAUC(b)).
    """

    auc_a: float
    auc_b: float
    diff: float
    se: float
    low: float
    high: float
    z: float
    pvalue: float
    n_boot: int
    p_greater: float


def paired_difference(folds_a: pd.DataFrame, folds_b: pd.DataFrame, replicates_a: Any,
                      replicates_b: Any, *, alpha: float = ALPHA) -> PairedDifferenceResult:
    """Paired difference of two models cross-validated on the same splits.

    Parameters
    ----------
    folds_a, folds_b : DataFrame
        Fold rows (``repeat, fold, auc, n_train, n_test``) of the two models.
    replicates_a, replicates_b : array-like
        Their cvAUC on the same bootstrap-CV replicates.

    Returns
    -------
    PairedDifferenceResult
        ``diff`` pairs the folds (:func:`analysis.statistics.cvstats.paired_cv_difference`); the
        interval and z test use the replicate-wise differences (null 0, bounds [-1, 1]).
    """
    d = cvstats.paired_cv_difference(folds_a, folds_b, alpha=alpha)
    reps = np.asarray(replicates_a, dtype=float) - np.asarray(replicates_b, dtype=float)
    r = cv_auc_interval(d["diff"], reps, null=0.0, bounds=(-1.0, 1.0), alpha=alpha)
    return PairedDifferenceResult(d["auc_a"], d["auc_b"], r.estimate, r.se, r.low, r.high,
                                  r.z, r.pvalue, r.n_boot, r.p_greater)


# --- permutation tests -----------------------------------------------------------------------

@dataclass(frozen=True)
class PermutationTestResult:
    """A permutation test of the repeated-CV statistic.

    Attributes
    ----------
    statistic : float
        The observed statistic.
    pvalue : float
    null_distribution : ndarray
        The null statistics drawn (in order; a sequential test may have drawn more than
        it used).
    n_resamples : int
        Permutations the p-value rests on (finite nulls of a fixed-count test; ``L`` or
        ``n_max`` of a sequential one).
    n_nan : int
        Null statistics among those that are NaN.
    stopped : bool
        A sequential test stopped at its ``h``-th exceedance.
    stopped_significant : bool
        A sequential test stopped early on the rejection boundary.
    """

    statistic: float
    pvalue: float
    null_distribution: np.ndarray
    n_resamples: int
    n_nan: int
    stopped: bool = False
    stopped_significant: bool = False


def _permutation_iv(observed: Any, null: Any) -> tuple[float, np.ndarray]:
    nv = np.asarray(null, dtype=float).ravel()
    return float(observed), nv


def permutation_test(observed: float, null: Any,
                     alternative: str = "greater") -> PermutationTestResult:
    """Fixed-count permutation test: :func:`analysis.statistics.inference.permutation_pvalue`
    (``(1 + #{T* >= T - tol}) / (1 + B)``, ties at the stated tolerance, NaN nulls left
    out of ``B``).

    Examples
    --------
    One of four null statistics reaches the observed 0.8, so p = (1 + 1) / (1 + 4);
    a NaN null is left out of B:

    >>> r = permutation_test(0.8, [0.5, 0.9, 0.6, 0.7])
    >>> r.pvalue, r.n_resamples
    (0.4, 4)
    >>> r = permutation_test(0.8, [0.5, 0.9, float("nan"), 0.6, 0.7])
    >>> r.pvalue, r.n_resamples, r.n_nan
    (0.4, 4, 1)
    """
    observed, nv = _permutation_iv(observed, null)
    p = inference.permutation_pvalue(observed, nv, alternative)
    n_nan = int(np.isnan(nv).sum())
    return PermutationTestResult(observed, p, nv, int(nv.size - n_nan), n_nan)


def sequential_permutation_test(
    observed: float,
    draw: Callable[[int, int], Any],
    *,
    h: int,
    n_max: int,
    alpha: float | None = None,
    risk: float = cvstats.EARLY_REJECTION_RISK,
    first: Any = None,
    batch: int = 20,
    grow: bool = False,
) -> PermutationTestResult:
    """Sequential permutation test (Besag & Clifford; early rejection when ``alpha``).

    Parameters
    ----------
    observed : float
    draw : callable
        ``draw(start, stop)`` returns the null statistics of permutations
        ``start .. stop - 1`` (each permutation has its own seed, so the result does not
        depend on the blocks).
    h, n_max, alpha, risk
        As :func:`analysis.statistics.cvstats.sequential_pvalue`.
    first : array-like, optional
        Null statistics of the first permutations, already computed.
    batch : int
        Permutations drawn at a time (the first block when ``grow``).
    grow : bool
        Double the block after each one (else ``batch`` each time).

    Returns
    -------
    PermutationTestResult
    """
    if h < 1 or n_max < 1 or batch < 1:
        raise ValueError("h, n_max and batch must be at least 1")
    null = np.empty(0) if first is None else np.asarray(first, dtype=float).ravel()
    last = null.size if null.size else None
    while True:
        r = cvstats.sequential_pvalue(observed, null, h=h, n_max=n_max, alpha=alpha, risk=risk)
        if r["complete"]:
            break
        m = min(batch if last is None or not grow else 2 * last, n_max - null.size)
        null = np.append(null, np.asarray(draw(null.size, null.size + m), dtype=float))
        last = m
    used = null[: r["n_used"]]
    return PermutationTestResult(float(observed), r["p"], null, int(r["n_used"]),
                                 int((~np.isfinite(used)).sum()), bool(r["stopped"]),
                                 bool(r["stopped_significant"]))


def vs_chance(low: float, high: float, chance: float) -> str:
    """Words for an interval compared with the chance level: "better than random" when it
    lies above ``chance``, "worse than random" below, else "not distinguishable from
    random"."""
    if low > chance:
        return "better than random"
    if high < chance:
        return "worse than random"
    return "not distinguishable from random"
