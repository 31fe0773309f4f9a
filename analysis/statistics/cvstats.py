"""Inference on cross-validated AUCs.

The estimand of the review is the **cross-validated AUC** (cvAUC): the AUC of each
fold's model on its own test fold, averaged over the folds of ``R`` repeated
stratified ``K``-fold assignments. It is the paper's statistic (the mean fold AUC)
averaged over fold assignments, so that it does not depend on one split, and it never
ranks scores of different fold models against each other: under plain maximum
likelihood a separated fold's linear predictor diverges (|eta| from 1e2 to 1e10 across
folds of group 7), and pooling such scores across folds ranks images mostly by the fold
they were in.

Two properties make the cvAUC a sound target:

* Under the null (annotations independent of the label) every fold AUC has
  expectation exactly 1/2: the fold model is a function of the training images only,
  and the test images' scores are independent of their labels.
* Under any model, a fold AUC is an unbiased estimate of the population AUC of that
  fold's model (a two-sample U-statistic), so the cvAUC estimates the expected AUC of
  a model trained on ``n (K-1)/K`` images.

Functions
---------
:func:`corrected_cv_interval`
    Mean of fold-level values (AUCs, or paired differences of AUCs over the same
    folds) with the corrected repeated cross-validation variance of Nadeau & Bengio
    (2003), as used by Bouckaert & Frank (2004): a t interval and test that account
    for the overlap of training sets between folds and repeats.
:func:`cv_auc_table`
    The cvAUC of every (feature set, estimator) of a fold table, with that interval.
:func:`paired_cv_difference`
    cvAUC(a) - cvAUC(b) over the same folds, with the corrected interval.
:func:`repeated_cv_statistic`
    Mean fold AUC per permutation over R fold assignments (the permutation test's
    statistic).
:func:`fold_spread_reference`
    How much fold AUCs spread, and how often they fall below 1/2, from test-fold
    sampling alone when every fold model has the same AUC.

Validation: the arithmetic is checked on hand-worked cases in
``tests/test_cvstats.py``; the coverage of the interval under the null (label
permutations of group 7's features) and under the fitted generative model is checked
by simulation (:mod:`analysis.studies.simulate`, reported in the report).

References
----------
Nadeau, C. & Bengio, Y. (2003). Inference for the generalization error. Machine
Learning 52, 239-281.
Bouckaert, R. R. & Frank, E. (2004). Evaluating the replicability of significance
tests for comparing learning algorithms. PAKDD 2004, LNCS 3056, 3-12.
Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area under a
receiver operating characteristic (ROC) curve. Radiology 143, 29-36.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from ..base import seeds
from ..fitting import models
from . import inference

#: Fold assignments per bootstrap-CV replicate (:func:`bootstrap_cv_splits`). One
#: assignment keeps the split-to-split variability in every replicate, so the SE is, if
#: anything, too large: by simulation (analysis.studies.simulate) the interval covers at 94.5-97.5%
#: under label permutations of group 7, the generative null and the calibrated model,
#: where two assignments per replicate covered at 91.5% under permutations.
BOOT_CV_REPEATS = 1

__all__ = [
    "bootstrap_cv_interval",
    "bootstrap_cv_replicates",
    "bootstrap_cv_splits",
    "observed_statistic",
    "permutation_null",
    "permutation_splits",
    "permuted_labels",
    "sequential_pvalue",
    "besag_clifford",
    "early_rejection_boundary",
    "sequential_rejection_probability",
    "corrected_cv_interval",
    "cv_auc_table",
    "binormal_auc_variance",
    "fold_spread_reference",
    "paired_cv_difference",
    "repeated_cv_statistic",
]


def corrected_cv_interval(
    values: Any,
    test_train_ratio: float,
    *,
    null: float = 0.0,
    alpha: float = 0.05,
) -> dict[str, float]:
    """Mean of fold-level values with the corrected repeated-CV t interval.

    Parameters
    ----------
    values : array-like of shape (J,)
        One value per fold of ``R`` repeats of ``K``-fold cross-validation
        (``J = R K``): fold AUCs, or paired differences of two models' fold AUCs
        on the same folds. NaN values (folds without both classes) are left out and
        counted in ``n_nan``.
    test_train_ratio : float
        ``n_test / n_train`` of the folds (``1 / (K - 1)`` for equal folds).
    null : float
        Value of the null hypothesis for the t statistic (0.5 for an AUC, 0 for a
        difference).
    alpha : float
        1 - confidence level.

    Returns
    -------
    dict
        ``estimate`` (mean), ``se``, ``df`` (J - 1), ``low``, ``high``, ``t``,
        ``p`` (two-sided), ``p_greater`` (one-sided, estimate > null), ``n_folds``
        (J), ``n_nan``, ``sd`` (of the fold values).

    Notes
    -----
    The fold values of repeated cross-validation are correlated (training sets
    overlap), so their naive standard error ``s / sqrt(J)`` is far too small.
    Nadeau & Bengio's corrected variance is

    .. math:: \\widehat{\\mathrm{Var}} = \\Big(\\frac{1}{J} + \\frac{n_2}{n_1}\\Big) s^2,

    with ``s^2`` the sample variance of the J fold values and ``n_2 / n_1`` the
    test/train size ratio; the interval is ``mean +- t_{J-1, 1-alpha/2} se``. When all
    fold values are equal (``s = 0``) the interval is the point; the t statistic is
    then +-inf (or NaN when the mean equals ``null``).
    """
    v = np.asarray(values, dtype=float).ravel()
    finite = v[np.isfinite(v)]
    J = finite.size
    out = {"estimate": np.nan, "se": np.nan, "df": np.nan, "low": np.nan, "high": np.nan,
           "t": np.nan, "p": np.nan, "p_greater": np.nan, "n_folds": int(J),
           "n_nan": int(v.size - J), "sd": np.nan}
    if J < 2:
        if J == 1:
            out["estimate"] = float(finite[0])
        return out
    if not np.isfinite(test_train_ratio) or test_train_ratio <= 0:
        raise ValueError(f"test_train_ratio must be positive, got {test_train_ratio}")
    mean = float(finite.mean())
    sd = float(finite.std(ddof=1))
    se = float(np.sqrt(1.0 / J + test_train_ratio) * sd)
    df = J - 1
    q = float(stats.t.ppf(1 - alpha / 2, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (mean - null) / se if se > 0 else (np.sign(mean - null) * np.inf
                                               if mean != null else np.nan)
    p = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(t) or np.isinf(t) else np.nan
    pg = float(stats.t.sf(t, df)) if not np.isnan(t) else np.nan
    out.update(estimate=mean, se=se, df=float(df), low=mean - q * se, high=mean + q * se,
               t=float(t), p=p, p_greater=pg, sd=sd)
    return out


def _ratio(folds: pd.DataFrame) -> float:
    return float((folds["n_test"] / folds["n_train"]).mean())


def cv_auc_table(folds: pd.DataFrame, *, keys=("feature_set", "estimator"),
                 alpha: float = 0.05) -> pd.DataFrame:
    """cvAUC of every group of a fold table, with the corrected interval.

    Parameters
    ----------
    folds : DataFrame
        Fold rows with ``auc``, ``n_train``, ``n_test``, ``repeat`` and the ``keys``
        columns (as :attr:`analysis.studies.reproduce.Experiments.folds`).
    keys : sequence of str
        Columns that identify one cross-validated model.

    Returns
    -------
    DataFrame
        ``keys`` + ``cv_auc, std_error, conf_low, conf_high, df, t, p_value`` (two-sided,
        cvAUC = 0.5), ``greater_p_value`` (cvAUC > 0.5), ``n_repeats, n_folds, n_nan``.
    """
    rows = []
    for key, g in folds.groupby(list(keys), sort=False):
        r = corrected_cv_interval(g["auc"].to_numpy(), _ratio(g), null=0.5, alpha=alpha)
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key, strict=True)), "cv_auc": r["estimate"],
                     "std_error": r["se"], "conf_low": r["low"], "conf_high": r["high"],
                     "df": r["df"], "t": r["t"], "p_value": r["p"],
                     "greater_p_value": r["p_greater"],
                     "n_repeats": int(g["repeat"].nunique()), "n_folds": r["n_folds"],
                     "n_nan": r["n_nan"]})
    return pd.DataFrame(rows)


def paired_cv_difference(folds_a: pd.DataFrame, folds_b: pd.DataFrame, *,
                         alpha: float = 0.05) -> dict[str, float]:
    """cvAUC(a) - cvAUC(b) over the same folds, with the corrected interval.

    Parameters
    ----------
    folds_a, folds_b : DataFrame
        Fold rows (``repeat, fold, auc, n_train, n_test``) of two models
        cross-validated on the same splits.

    Returns
    -------
    dict
        ``auc_a``, ``auc_b``, ``diff`` and the keys of
        :func:`corrected_cv_interval` for the fold-wise differences (null 0).

    Notes
    -----
    Pairing by (repeat, fold) removes the variance that both models share through
    the test images of each fold.
    """
    key = ["repeat", "fold"]
    a = folds_a.set_index(key)
    b = folds_b.set_index(key)
    if not a.index.equals(b.index):
        a, b = a.align(b, join="inner", axis=0)
    if len(a) == 0:
        raise ValueError("the two fold tables share no (repeat, fold)")
    d = a["auc"].to_numpy() - b["auc"].to_numpy()
    r = corrected_cv_interval(d, _ratio(a.reset_index()), null=0.0, alpha=alpha)
    return {"auc_a": float(np.nanmean(a["auc"])), "auc_b": float(np.nanmean(b["auc"])),
            "diff": r["estimate"], **r}


def repeated_cv_statistic(folds: pd.DataFrame, group: str = "repeat") -> np.ndarray:
    """Mean fold AUC per value of ``group`` (e.g. per permutation), in sorted order."""
    return folds.groupby(group, sort=True)["auc"].mean().to_numpy()


def _binormal_fold_aucs(theta: float, n_pos: np.ndarray, n_neg: np.ndarray,
                        n_sim: int, rng: np.random.Generator, *,
                        normal_from: int | None = None) -> np.ndarray:
    """AUCs of ``n_sim`` x len(n_pos) simulated test folds of one fixed model.

    Scores are equal-variance binormal with separation ``sqrt(2) Phi^-1(theta)``, so the
    model's population AUC is ``theta``; fold ``k`` holds ``n_pos[k]`` positives and
    ``n_neg[k]`` negatives. A fold whose smaller class has at least ``normal_from``
    images (never, when None) has its AUC drawn from the normal distribution with the
    fold AUC's exact mean and variance (:func:`binormal_auc_variance`), clipped to
    [0, 1]; the others are simulated score by score and counted exactly.
    """
    mu = np.sqrt(2.0) * stats.norm.ppf(np.clip(theta, 1e-6, 1 - 1e-6))
    out = np.empty((n_sim, len(n_pos)))
    for k, (m, n) in enumerate(zip(n_pos, n_neg, strict=True)):
        if normal_from is not None and min(m, n) >= normal_from:
            sd = np.sqrt(binormal_auc_variance(theta, int(m), int(n)))
            out[:, k] = np.clip(theta + sd * rng.standard_normal(n_sim), 0.0, 1.0)
            continue
        pos = rng.standard_normal((n_sim, int(m))) + mu
        neg = rng.standard_normal((n_sim, int(n)))
        if m * n <= _PAIRWISE_MAX_PAIRS:
            out[:, k] = (pos[:, :, None] > neg[:, None, :]).mean(axis=(1, 2))
        else:
            out[:, k] = _greater_pairs(pos, neg) / (int(m) * int(n))
    return out


def binormal_auc_variance(theta: float, m: int, n: int) -> float:
    """Exact variance of the empirical AUC of ``m`` positives and ``n`` negatives whose
    scores are equal-variance binormal with population AUC ``theta``.

    Parameters
    ----------
    theta : float
        Population AUC, ``P(X > Y)`` for a positive's score ``X ~ N(mu, 1)`` and a
        negative's ``Y ~ N(0, 1)``, ``mu = sqrt(2) Phi^-1(theta)``.
    m, n : int
        Positives and negatives (at least 1 each).

    Returns
    -------
    float

    Notes
    -----
    The empirical AUC ``#{X_i > Y_j} / (m n)`` is a two-sample U-statistic with variance
    (Hanley & McNeil 1982, eq. 2, with their Q1 and Q2 exact)

    .. math:: \\frac{\\theta(1-\\theta) + (m-1)(Q_1 - \\theta^2)
              + (n-1)(Q_2 - \\theta^2)}{m n},

    ``Q_1 = P(X_1 > Y, X_2 > Y)`` and ``Q_2 = P(X > Y_1, X > Y_2)``. Under the
    equal-variance binormal model ``X_1 - Y`` and ``X_2 - Y`` are bivariate normal with
    correlation 1/2 (likewise ``X - Y_1``, ``X - Y_2``), so
    ``Q_1 = Q_2 = Phi_2(d, d; 1/2)`` with ``d = Phi^-1(theta)``, a bivariate normal
    orthant probability, here by Owen's T function:
    ``Phi_2(d, d; rho) = Phi(d) - 2 T(d, sqrt((1 - rho) / (1 + rho)))``. At
    ``theta = 1/2`` this is 1/3 and the variance is the Mann-Whitney null variance
    ``(m + n + 1) / (12 m n)``.

    References
    ----------
    Hanley, J. A. & McNeil, B. J. (1982). Radiology 143, 29-36.
    Owen, D. B. (1956). Tables for computing bivariate normal probabilities. Annals of
    Mathematical Statistics 27, 1075-1090.
    """
    theta = float(np.clip(theta, 1e-12, 1 - 1e-12))
    d = float(stats.norm.ppf(theta))
    q = theta - 2.0 * float(special.owens_t(d, 1.0 / np.sqrt(3.0)))
    return (theta * (1 - theta) + (m - 1) * (q - theta**2) + (n - 1) * (q - theta**2)) / (m * n)


#: A simulated test fold whose smaller class holds at least this many images gets its
#: AUC from the normal distribution with the exact binormal variance
#: (:func:`binormal_auc_variance`) instead of simulated scores (group 7's folds hold
#: 1-2 melanomas and stay exact). At this size the reference's expected SD and p-values
#: agree with the exact simulation within Monte Carlo error
#: (``tests/test_cvstats.py::test_fold_spread_normal_reference_agrees_at_threshold``).
FOLD_NORMAL_MIN_CLASS = 100


#: Folds with more (positive, negative) pairs than this are counted by sorting
#: (:func:`_greater_pairs`) instead of comparing every pair.
_PAIRWISE_MAX_PAIRS = 4096
#: Bytes of temporaries per block of simulated folds in :func:`_greater_pairs`.
_RANK_BLOCK_BYTES = 64 * 2**20


def _greater_pairs(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """``#{(i, j): pos[r, i] > neg[r, j]}`` for every row ``r``, exactly, by sorting.

    Positives and negatives of a row are sorted together (a stable sort of
    ``[pos, neg]``, so a positive tied with a negative sorts before it and is not
    counted); each positive then counts the negatives before it. O((m + n) log(m + n))
    time and O(m + n) memory per row, in blocks of rows of at most
    ``_RANK_BLOCK_BYTES``: the same integers as the pairwise comparison without its
    m x n array.
    """
    S, m = pos.shape
    width = m + neg.shape[1]
    out = np.empty(S, dtype=np.int64)
    step = max(1, int(_RANK_BLOCK_BYTES // (32 * width)))
    for a in range(0, S, step):
        b = min(S, a + step)
        both = np.concatenate([pos[a:b], neg[a:b]], axis=1)
        is_neg = np.argsort(both, axis=1, kind="stable") >= m
        before = np.cumsum(is_neg, axis=1)  # negatives at or before each position
        out[a:b] = np.where(is_neg, 0, before).sum(axis=1)
    return out


#: Largest ``n_sim x repeats x units`` simulated scores of the matched reference of
#: :func:`fold_spread_reference` (group 7 at the defaults: 2000 x 100 x 96 = 1.9e7); a
#: larger data set gets the one-repeat reference, whose p-values are conservative.
MATCHED_REFERENCE_MAX_WORK = 2 * 10**8
#: Simulated data sets per block of the matched reference (bounds its memory).
_MATCHED_BLOCK = 500


def _matched_fold_spread(theta: float, n_pos: np.ndarray, n_neg: np.ndarray, n_repeats: int,
                         n_sim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per simulated data set: the mean over ``n_repeats`` stratified fold assignments of
    the SD (ddof 1) of the fold AUCs, and the share of all folds with AUC below 1/2.

    Each data set holds ``sum(n_pos)`` positives and ``sum(n_neg)`` negatives with
    equal-variance binormal scores of AUC ``theta``, drawn once; fold ``k`` of every
    assignment holds ``n_pos[k]`` and ``n_neg[k]`` of them. Images of a class are
    exchangeable, so every data set may use the same assignments (drawn first).
    """
    mu = np.sqrt(2.0) * stats.norm.ppf(np.clip(theta, 1e-6, 1 - 1e-6))
    P, N = int(n_pos.sum()), int(n_neg.sum())
    cp, cn = np.cumsum(n_pos)[:-1], np.cumsum(n_neg)[:-1]
    plans = [(np.split(rng.permutation(P), cp), np.split(rng.permutation(N), cn))
             for _ in range(n_repeats)]
    sd = np.empty(n_sim)
    below = np.empty(n_sim)
    K = len(n_pos)
    for a in range(0, n_sim, _MATCHED_BLOCK):
        b = min(n_sim, a + _MATCHED_BLOCK)
        pos = rng.standard_normal((b - a, P)) + mu
        neg = rng.standard_normal((b - a, N))
        sd_sum = np.zeros(b - a)
        n_below = np.zeros(b - a)
        for ip, ineg in plans:
            auc = np.empty((b - a, K))
            for k in range(K):
                pk, nk = pos[:, ip[k]], neg[:, ineg[k]]
                if pk.shape[1] * nk.shape[1] <= _PAIRWISE_MAX_PAIRS:
                    auc[:, k] = (pk[:, :, None] > nk[:, None, :]).mean(axis=(1, 2))
                else:
                    auc[:, k] = _greater_pairs(pk, nk) / (pk.shape[1] * nk.shape[1])
            sd_sum += auc.std(axis=1, ddof=1)
            n_below += (auc < 0.5).sum(axis=1)
        sd[a:b] = sd_sum / n_repeats
        below[a:b] = n_below / (n_repeats * K)
    return sd, below


def fold_spread_reference(
    folds: pd.DataFrame,
    *,
    n_sim: int = 2000,
    rng: np.random.Generator | int = 0,
    normal_from: int | None = FOLD_NORMAL_MIN_CLASS,
    matched: bool = True,
) -> dict[str, float]:
    """Is the fold-to-fold spread of AUCs larger than test-fold sampling alone gives?

    Parameters
    ----------
    folds : DataFrame
        Fold rows of one model (``repeat, fold, auc, n_test, n_pos_test``) from ``R``
        repeats of ``K``-fold cross-validation.
    n_sim : int
        Simulated cross-validations of the reference.
    rng : Generator or int
    normal_from : int or None
        Folds whose smaller class holds at least this many images draw their AUC from
        its exact normal approximation (see Notes); None simulates every fold.
    matched : bool
        Simulate the statistic as it is computed (default): each simulated data set is
        cut into as many fold assignments as ``folds`` has repeats, and the SDs and
        shares are averaged over them. False, or a data set too large for it
        (:data:`MATCHED_REFERENCE_MAX_WORK`), gives the one-repeat reference.

    Returns
    -------
    dict
        ``theta`` (the cvAUC), ``observed_sd`` (mean over repeats of the SD of the
        repeat's K fold AUCs), ``expected_sd`` (its mean under the reference),
        ``p_sd`` (share of reference SDs >= observed, with the +1 correction),
        ``p_sd_lower`` (share of reference SDs <= observed: the opposite one-sided
        test), ``observed_below`` (share of folds with AUC < 1/2, all repeats),
        ``expected_below`` (under the reference), ``p_below``, ``p_below_lower``,
        ``n_normal_folds`` (folds of the canonical split drawn from the normal
        approximation), ``reference_repeats`` (fold assignments per simulated data
        set: the observed number when matched, else 1).

    Notes
    -----
    The reference is the spread that arises when **every fold model has the same
    AUC** ``theta`` (the cvAUC) and only the test images of each fold differ: fold
    AUCs of one binormal model with the fold sizes of the canonical split. A test
    fold of group 7 holds one or two melanomas, so even a fixed model's fold AUC
    varies widely. The observed statistic averages over ``R`` repeats of the same
    images, so the matched reference does the same: each simulated data set (scores
    of all images, drawn once) is cut into ``R`` stratified fold assignments with the
    canonical split's fold sizes, and its statistic is the mean over them of the
    fold AUCs' SD (and the share of all its folds below 1/2). The repeats share their
    images, so their average varies less than one repeat but not ``R`` times less;
    a one-repeat reference is wider, which makes both one-sided p-values larger
    (conservative). Ties between scores are not modelled. A simulated
    fold's AUC is an exact count of (positive, negative) pairs: by comparing every
    pair in small folds, by sorting in large ones (:func:`_greater_pairs`, the same
    count), so that a fold of 10^4 units does not hold an n_pos x n_neg array.

    Large folds (both classes at least ``normal_from``, default
    :data:`FOLD_NORMAL_MIN_CLASS` = 100) are not simulated image by image: their AUC is
    drawn from ``N(theta, V)`` with ``V`` the fold AUC's exact variance under the same
    binormal model (:func:`binormal_auc_variance`), clipped to [0, 1]. A U-statistic with
    at least 100 of each class is close to normal, and the cost no longer grows with the
    fold size (an exact simulation sorts ``n_sim`` x fold-size scores per fold).
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    f = folds.dropna(subset=["auc"])
    theta = float(f["auc"].mean())
    canon = f[f["repeat"] == f["repeat"].min()].sort_values("fold")
    n_pos = canon["n_pos_test"].to_numpy(dtype=int)
    n_neg = (canon["n_test"] - canon["n_pos_test"]).to_numpy(dtype=int)
    n_rep = int(f["repeat"].nunique())
    large = normal_from is not None and bool(np.any(np.minimum(n_pos, n_neg) >= normal_from))
    use_matched = (matched and n_rep > 1 and not large
                   and n_sim * n_rep * (n_pos.sum() + n_neg.sum()) <= MATCHED_REFERENCE_MAX_WORK)
    if use_matched:
        sim_sd, sim_below = _matched_fold_spread(theta, n_pos, n_neg, n_rep, n_sim, rng)
    else:
        sim = _binormal_fold_aucs(theta, n_pos, n_neg, n_sim, rng, normal_from=normal_from)
        sim_sd = sim.std(axis=1, ddof=1)
        sim_below = (sim < 0.5).mean(axis=1)
    obs_sd = float(f.groupby("repeat")["auc"].std(ddof=1).mean())
    obs_below = float((f["auc"] < 0.5).mean())
    return {
        "theta": theta,
        "observed_sd": obs_sd,
        "expected_sd": float(sim_sd.mean()),
        "p_sd": float((1 + np.sum(sim_sd >= obs_sd)) / (1 + n_sim)),
        "p_sd_lower": float((1 + np.sum(sim_sd <= obs_sd)) / (1 + n_sim)),
        "observed_below": obs_below,
        "expected_below": float(sim_below.mean()),
        "p_below": float((1 + np.sum(sim_below >= obs_below)) / (1 + n_sim)),
        "p_below_lower": float((1 + np.sum(sim_below <= obs_below)) / (1 + n_sim)),
        "reference_repeats": n_rep if use_matched else 1,
        "n_normal_folds": (0 if normal_from is None
                           else int(np.sum(np.minimum(n_pos, n_neg) >= normal_from))),
    }


def bootstrap_cv_splits(
    y: Any,
    *,
    n_boot: int,
    n_repeats: int = 2,
    n_splits: int = 10,
    seed: int = 0,
    groups: Any = None,
) -> tuple[list, np.ndarray]:
    """Splits of a bootstrap of images with the cross-validation redone inside.

    Replicate ``b`` draws images with replacement within each class (class sizes
    kept), then assigns the **distinct** images of the replicate to ``n_splits``
    stratified folds, ``n_repeats`` times; every copy of an image goes to its image's
    fold, so no image is both trained on and tested in one fold.

    Parameters
    ----------
    y : array-like of 0/1
    n_boot, n_repeats, n_splits : int
    seed : int
        Replicate ``b`` uses ``SeedSequence([seed, b])`` for its draw and folds.
    groups : array-like, optional
        Group of each unit. With groups the replicate draws **groups**, not units:
        groups holding at least one positive unit and groups holding none are drawn
        with replacement separately, as many of each kind as the data have (the
        within-class rule at the level of groups; the number of positive units may
        then vary between replicates), every unit of a drawn group comes along, and the
        distinct units are assigned to stratified group folds
        (:func:`analysis.fitting.models.group_fold_numbers`; fewer folds when the replicate
        holds fewer distinct groups than ``n_splits``), so no group is split.

    Returns
    -------
    splits : list of :class:`analysis.fitting.models.Split`
        ``repeat = b * n_repeats + r``; ``train``/``test`` index the original rows
        (with repeats for copies).
    replicate : ndarray
        The bootstrap replicate of each split.
    """
    if groups is not None:
        return _group_bootstrap_cv_splits(y, groups, n_boot=n_boot, n_repeats=n_repeats,
                                          n_splits=n_splits, seed=seed)
    y = np.asarray(y, dtype=int)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    splits, rep = [], []
    for b in range(n_boot):
        ss = np.random.SeedSequence([seed, b])
        rng = np.random.default_rng(ss)
        ib = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        uniq, inv = np.unique(ib, return_inverse=True)
        states = ss.spawn(1)[0].generate_state(n_repeats)
        for r in range(n_repeats):
            fold = models.stratified_fold_numbers(y[uniq], n_splits, int(states[r]))[inv]
            for k in range(n_splits):
                t = fold == k
                splits.append(models.Split(b * n_repeats + r, k, ib[~t], ib[t]))
                rep.append(b)
    return splits, np.asarray(rep)


def _group_bootstrap_cv_splits(y, groups, *, n_boot: int, n_repeats: int, n_splits: int,
                               seed: int) -> tuple[list, np.ndarray]:
    """:func:`bootstrap_cv_splits` with ``groups``: groups drawn within their kind."""
    y = np.asarray(y, dtype=int)
    g = np.asarray(groups)
    if g.shape != y.shape:
        raise ValueError(f"groups must have one entry per unit ({len(y)}), got {g.shape}")
    _, code = np.unique(g, return_inverse=True)
    order = np.argsort(code, kind="stable")
    members = np.split(order, np.cumsum(np.bincount(code))[:-1])
    has_pos = np.bincount(code, weights=y) > 0
    pos_g, neg_g = np.flatnonzero(has_pos), np.flatnonzero(~has_pos)
    splits, rep = [], []
    for b in range(n_boot):
        ss = np.random.SeedSequence([seed, b])
        rng = np.random.default_rng(ss)
        drawn = np.concatenate([rng.choice(pos_g, pos_g.size), rng.choice(neg_g, neg_g.size)])
        ib = np.concatenate([members[j] for j in drawn])
        uniq, inv = np.unique(ib, return_inverse=True)
        k = min(n_splits, len(np.unique(code[uniq])))
        states = ss.spawn(1)[0].generate_state(n_repeats)
        for r in range(n_repeats):
            fold = models.group_fold_numbers(y[uniq], code[uniq], k, int(states[r]))[inv]
            for f in range(k):
                t = fold == f
                splits.append(models.Split(b * n_repeats + r, f, ib[~t], ib[t]))
                rep.append(b)
    return splits, np.asarray(rep)


def bootstrap_cv_replicates(folds: pd.DataFrame, n_repeats: int) -> np.ndarray:
    """cvAUC of each bootstrap replicate from the fold rows of :func:`bootstrap_cv_splits`.

    Folds whose test images are all of one class (possible when a replicate holds
    fewer distinct positives than folds) have no AUC and are left out.
    """
    rep = folds["repeat"].to_numpy() // n_repeats
    return pd.Series(folds["auc"].to_numpy()).groupby(rep, sort=True).mean().to_numpy()


#: Scales of :func:`bootstrap_cv_interval`.
INTERVAL_SCALES = ("identity", "logit", "asin")


def bootstrap_cv_interval(estimate: float, replicates: Any, *, null: float = 0.5,
                          alpha: float = 0.05, bounds: tuple[float, float] | None = (0.0, 1.0),
                          scale: str = "identity") -> dict[str, float]:
    """Normal interval for a cross-validated estimate with its bootstrap-CV SE.

    Parameters
    ----------
    estimate : float
        The estimate on the data (cvAUC over the review's repeats, or a difference).
    replicates : array-like
        The same quantity on each bootstrap replicate (:func:`bootstrap_cv_splits`).
    null : float
        Null value for the z test.
    bounds : (low, high) or None
        The interval is clipped to these (an AUC lies in [0, 1]; a difference in
        [-1, 1]).
    scale : {"identity", "logit", "asin"}
        ``"asin"`` / ``"logit"``: the interval and z test are built on
        ``g(u)``, ``u = (x - lo) / (hi - lo)``, with ``g = arcsin(sqrt(u))`` or
        ``logit(u)`` and the delta-method SE ``se / ((hi - lo) g'(u))``, and mapped
        back, so the interval lies inside ``bounds`` (needed) and is asymmetric where
        the estimate is near a bound.

    Returns
    -------
    dict
        ``estimate, se, low, high, z, p`` (two-sided), ``p_greater``, ``n_boot``
        (finite replicates), ``n_nan``.

    Notes
    -----
    ``se`` is the standard deviation of the replicates: it includes the variation of
    refitting the models on other images, which an interval for fixed scores
    (DeLong, or a bootstrap of out-of-fold scores) leaves out. The interval is
    ``estimate +- z_{1-alpha/2} se``: the bootstrap-CV replicates are centred lower
    than the estimate (a replicate holds about 63% distinct images), so their
    percentiles are not used. Its coverage is checked by simulation.

    Near the ceiling the identity-scale interval misses one-sidedly: the replicates'
    SD falls as the estimate rises, so an estimate above the truth has a short
    interval that misses from above (5-7% instead of 2.5% at a true cvAUC of 0.95).
    On the arcsine-square-root scale (the variance-stabilising scale of a proportion)
    the SD no longer shrinks towards the bound and each one-sided error stays at most
    2.5% there; the logit over-corrects (coverage 99%, a third wider)
    (``benchmarks/interval_ceiling.py``). ``se`` is returned on the estimate's own
    scale either way. An estimate on a bound is moved ``1e-6`` of the range inside
    (the logit of a bound is infinite; the arcsine's derivative is).
    """
    if scale not in INTERVAL_SCALES:
        raise ValueError(f"scale must be one of {INTERVAL_SCALES}, got {scale!r}")
    if scale != "identity" and bounds is None:
        raise ValueError(f"a {scale}-scale interval needs bounds")
    t = np.asarray(replicates, dtype=float).ravel()
    ok = t[np.isfinite(t)]
    out = {"estimate": float(estimate), "se": np.nan, "low": np.nan, "high": np.nan,
           "z": np.nan, "p": np.nan, "p_greater": np.nan, "n_boot": int(ok.size),
           "n_nan": int(t.size - ok.size)}
    if ok.size < 2 or not np.isfinite(estimate):
        return out
    se = float(ok.std(ddof=1))
    q = float(stats.norm.ppf(1 - alpha / 2))
    if scale == "asin":
        lo, hi = float(bounds[0]), float(bounds[1])
        width = hi - lo
        u = min(max((float(estimate) - lo) / width, 1e-6), 1 - 1e-6)
        u0 = min(max((float(null) - lo) / width, 0.0), 1.0)
        se_t = se / (width * 2 * np.sqrt(u * (1 - u)))
        c = float(np.arcsin(np.sqrt(u)))
        low = lo + width * float(np.sin(max(c - q * se_t, 0.0)) ** 2)
        high = lo + width * float(np.sin(min(c + q * se_t, np.pi / 2)) ** 2)
        centre, null_t = c, float(np.arcsin(np.sqrt(u0)))
    elif scale == "logit":
        lo, hi = float(bounds[0]), float(bounds[1])
        width = hi - lo
        u = min(max((float(estimate) - lo) / width, 1e-6), 1 - 1e-6)
        u0 = min(max((float(null) - lo) / width, 1e-6), 1 - 1e-6)
        se_t = se / (width * u * (1 - u))
        c = float(special.logit(u))
        low = lo + width * float(special.expit(c - q * se_t))
        high = lo + width * float(special.expit(c + q * se_t))
        centre, null_t = c, float(special.logit(u0))
    else:
        low, high = estimate - q * se, estimate + q * se
        if bounds is not None:
            low, high = max(low, bounds[0]), min(high, bounds[1])
        se_t, centre, null_t = se, float(estimate), float(null)
    if se > 0:
        z = (centre - null_t) / se_t
        p, pg = float(2 * stats.norm.sf(abs(z))), float(stats.norm.sf(z))
    else:
        z, p, pg = np.nan, np.nan, np.nan
    out.update(se=se, low=float(low), high=float(high), z=float(z), p=p, p_greater=pg)
    return out


#: Resampling risk of the early-rejection boundary (:func:`early_rejection_boundary`):
#: the largest probability that a test whose permutation p-value is ``alpha`` or more
#: stops early and rejects (Gandy's default risk).
EARLY_REJECTION_RISK = 1e-3


@functools.lru_cache(maxsize=64)
def early_rejection_boundary(n_max: int, alpha: float = 0.05,
                             risk: float = EARLY_REJECTION_RISK) -> tuple[int, ...]:
    """Boundary ``L_n`` (n = 1..n_max) at which a permutation test can stop and reject.

    A test that has seen ``S_n`` null statistics at or above the observed one among
    its first ``n`` permutations stops and rejects at level ``alpha`` when
    ``S_n <= L_n`` (``L_n = -1``: no stop possible yet).

    Parameters
    ----------
    n_max : int
        Largest number of permutations.
    alpha : float
        Level of the decision.
    risk : float
        Probability, when the permutation p-value ``p*`` (the exceedance probability
        of one permutation) equals ``alpha``, that the boundary is ever crossed.

    Returns
    -------
    tuple of int

    Notes
    -----
    The boundary is computed exactly, step by step, from the distribution of ``S_n``
    under ``p* = alpha`` over the paths that have not stopped, spending the risk
    linearly: by step ``n`` the probability of having crossed is at most
    ``risk * n / n_max``, and each ``L_n`` is the largest count that keeps it so.
    ``S_n`` grows stochastically with ``p*``, so for every ``p* >= alpha`` the
    probability of a (wrong) early rejection is at most ``risk``: the resampling
    risk of the early stop is bounded uniformly over the p-values it could get
    wrong, in the sense of Gandy (2009), with his default risk 10^-3. With
    ``alpha = 0.05``, ``n_max = 200`` the first stop is possible after 142
    permutations without an exceedance.

    References
    ----------
    Gandy, A. (2009). Sequential implementation of Monte Carlo tests with uniformly
    bounded resampling risk. JASA 104(488), 1504-1511.
    """
    bound = np.full(n_max, -1, dtype=int)
    dist = np.array([1.0])  # P(S_n = s, not stopped) under p* = alpha
    spent = 0.0
    for n in range(1, n_max + 1):
        nxt = np.zeros(dist.size + 1)
        nxt[:-1] += dist * (1.0 - alpha)
        nxt[1:] += dist * alpha
        cdf = np.cumsum(nxt)
        ok = np.flatnonzero(spent + cdf <= risk * n / n_max)
        if ok.size:
            j = int(ok[-1])
            bound[n - 1] = j
            spent += float(cdf[j])
            nxt[: j + 1] = 0.0
        dist = nxt
    return tuple(int(b) for b in bound)


def sequential_rejection_probability(p_star: float, *, h: int, n_max: int,
                                     alpha: float | None = None,
                                     risk: float = EARLY_REJECTION_RISK) -> dict[str, float]:
    """Exact rejection probability and mean cost of :func:`sequential_pvalue`'s rule.

    For a test whose nulls exceed the observed statistic with probability ``p_star``
    independently, the probability that the rule rejects at level ``alpha`` (the
    early-rejection boundary when ``alpha`` is given for the stop, else only the
    Besag-Clifford p-value at the end) and the expected number of permutations
    drawn; computed by dynamic programming over the count of exceedances, no
    simulation. Integrating the rejection probability over ``p_star ~ U(0, 1)`` gives
    the size of the Monte Carlo test (tests/test_cvstats.py).
    """
    level = 0.05 if alpha is None else alpha
    bound = early_rejection_boundary(n_max, alpha, risk) if alpha is not None else None
    dist = np.array([1.0])
    reject, expected_n = 0.0, 0.0
    for n in range(1, n_max + 1):
        expected_n += dist.sum()
        nxt = np.zeros(dist.size + 1)
        nxt[:-1] += dist * (1.0 - p_star)
        nxt[1:] += dist * p_star
        if nxt.size > h:
            nxt[h:] = 0.0  # the h-th exceedance: stopped, p = h / n >= h / n_max
        if bound is not None and bound[n - 1] >= 0:
            reject += float(nxt[: bound[n - 1] + 1].sum())
            nxt[: bound[n - 1] + 1] = 0.0
        dist = nxt
    s = np.arange(dist.size)
    reject += float(dist[(1 + s) / (1 + n_max) <= level].sum())
    return {"reject": reject, "expected_n": expected_n}


def sequential_pvalue(observed: float, null: Any, *, h: int, n_max: int,
                      alpha: float | None = None,
                      risk: float = EARLY_REJECTION_RISK) -> dict[str, float]:
    """Sequential Monte Carlo test from the nulls drawn so far.

    Permutations are drawn in a fixed order; sampling stops at the ``h``-th null
    statistic at or above the observed one (the tie rule of every permutation test,
    :func:`analysis.statistics.inference.permutation_exceedances`, with the tolerance taken over the
    nulls drawn up to each one) after ``L`` permutations (p = h / L, Besag & Clifford),
    or, when ``alpha`` is given, as soon as the count of exceedances falls on the
    early-rejection boundary (:func:`early_rejection_boundary`; clearly significant),
    or after ``n_max`` permutations (p = (1 + #exceedances) / (1 + n_max)).

    Parameters
    ----------
    observed : float
    null : array-like
        Null statistics in the order they were drawn (NaN values count as draws
        that do not exceed). Pass at least the first ``L`` (or all ``n_max``).
    h : int
        Exceedances at which sampling stops.
    n_max : int
        Largest number of permutations.
    alpha : float, optional
        Level of the decision; enables the early stop of clearly significant tests.
    risk : float
        Resampling risk of that early stop.

    Returns
    -------
    dict
        ``p``, ``n_used`` (permutations the result rests on), ``stopped`` (True when
        the h-th exceedance came before ``n_max``), ``stopped_significant`` (True when
        the early-rejection boundary stopped it: ``p`` is then ``(1 + S) / (1 + n)``
        at the stop, below ``alpha`` by construction, and it is the *decision* that
        the rule guarantees), ``complete`` (False when more nulls are needed).

    Notes
    -----
    The Besag-Clifford p-value is valid (P(p <= u) <= u under the null) and equals
    the fixed-count p-value whenever sampling runs to ``n_max``; a clearly
    non-significant statistic stops after about ``h / p`` permutations. The early
    rejection stops a clearly significant one (no exceedance in 142 permutations for
    ``alpha = 0.05``, ``n_max = 200``); it rejects wrongly, where the permutation
    p-value is ``alpha`` or more, with probability at most ``risk``. With
    ``h = 10``, ``n_max = 200`` the exact size of the whole rule for a uniform
    permutation p-value is 0.0502 with the early stop and 0.0498 without
    (:func:`sequential_rejection_probability`). Because the stopping point depends only
    on the order of the nulls, the result does not depend on how they were batched.

    References
    ----------
    Besag, J. & Clifford, P. (1991). Sequential Monte Carlo p-values. Biometrika
    78(2), 301-304.
    Gandy, A. (2009). Sequential implementation of Monte Carlo tests with uniformly
    bounded resampling risk. JASA 104(488), 1504-1511.
    """
    nv = np.asarray(null, dtype=float).ravel()[:n_max]
    exceed = inference.permutation_exceedances(observed, nv, running=True)
    return besag_clifford(exceed, h=h, n_max=n_max, alpha=alpha, risk=risk)


def besag_clifford(exceed: Any, *, h: int, n_max: int, alpha: float | None = None,
                   risk: float = EARLY_REJECTION_RISK) -> dict[str, float]:
    """The sequential rule of :func:`sequential_pvalue` on the exceedances so far.

    Parameters
    ----------
    exceed : array-like of bool
        For each permutation drawn, in order: does its statistic count as at least the
        observed one (the tie rule is the caller's, :func:`sequential_pvalue`)?
    h, n_max, alpha, risk
        As :func:`sequential_pvalue`.

    Returns
    -------
    dict
        As :func:`sequential_pvalue`.

    Examples
    --------
    The second exceedance (``h = 2``) comes at the 4th permutation: Besag and
    Clifford's p-value is ``h / L = 2 / 4``:

    >>> r = besag_clifford([False, True, False, True], h=2, n_max=10)
    >>> r["p"], r["n_used"], r["stopped"]
    (0.5, 4, True)

    All ``n_max = 4`` permutations drawn with one exceedance and ``h`` not reached: the
    fixed-count p-value ``(1 + 1) / (1 + 4)``:

    >>> besag_clifford([False, True, False, False], h=10, n_max=4)["p"]
    0.4
    """
    exceed = np.asarray(exceed, dtype=bool).ravel()[:n_max]
    count = np.cumsum(exceed)
    hit_h = np.flatnonzero(count >= h)
    stop_h = int(hit_h[0]) + 1 if hit_h.size else None
    stop_sig = None
    if alpha is not None and exceed.size:
        bound = np.asarray(early_rejection_boundary(n_max, alpha, risk))[: exceed.size]
        crossed = np.flatnonzero(count <= bound)
        stop_sig = int(crossed[0]) + 1 if crossed.size else None
    if stop_sig is not None and (stop_h is None or stop_sig < stop_h):
        S = int(count[stop_sig - 1])
        return {"p": (1 + S) / (1 + stop_sig), "n_used": stop_sig, "stopped": False,
                "stopped_significant": True, "complete": True}
    if stop_h is not None:
        return {"p": h / stop_h, "n_used": stop_h,
                "stopped": stop_h < n_max or exceed.size == n_max,
                "stopped_significant": False, "complete": True}
    if exceed.size >= n_max:
        return {"p": (1 + int(count[-1]) if count.size else 1) / (1 + n_max), "n_used": n_max,
                "stopped": False, "stopped_significant": False, "complete": True}
    return {"p": np.nan, "n_used": int(exceed.size), "stopped": False, "stopped_significant": False,
            "complete": False}


# --- the permutation test of a repeated cross-validation ---------------------------

@functools.lru_cache(maxsize=2)  # callers use one data set's splits at a time
def permutation_splits(y_bytes: bytes, n_permutations: int, seed: int, n_splits: int,
                        n_repeats: int, groups_bytes: bytes | None = None):
    """Permuted labels and their repeated stratified splits, built once per
    (y, seed, ...) and shared (read-only) by every feature set and estimator.

    Permutation ``p`` draws ``n_repeats`` fold assignments for its shuffled labels
    (repeat ``r`` on the stream ``permutation_folds``, :mod:`analysis.base.seeds`); the split's
    ``repeat`` field holds the permutation. ``groups_bytes`` (int64 group codes): the
    labels are permuted by :func:`permuted_labels` with the groups and the folds are
    stratified group folds."""
    y = np.frombuffer(y_bytes, dtype=np.int64).copy()
    groups = None if groups_bytes is None else np.frombuffer(groups_bytes, dtype=np.int64)
    perms = permuted_labels(y, n_permutations, seed, groups)
    splits, labels = _permutation_block(y, perms, 0, n_permutations, seed, n_splits, n_repeats,
                                        groups)
    labels.flags.writeable = False  # int8 0/1: an eighth of int64's memory
    return tuple(splits), labels


def permuted_labels(y: np.ndarray, n_permutations: int, seed: int,
                    groups: np.ndarray | None = None) -> np.ndarray:
    """The permuted label vectors of every permutation test (stream
    ``permutation_labels``): class sizes kept
    (:func:`analysis.statistics.inference.stratified_permutations`), or, with ``groups``, the labels
    of a group moved together among groups of its size
    (:func:`analysis.statistics.inference.group_permutations`)."""
    rng = seeds.rng("permutation_labels", seed)
    if groups is None:
        return inference.stratified_permutations(y, n_permutations, rng)
    return inference.group_permutations(y, groups, n_permutations, rng)


#: Bytes of the splits, labels and fold scores of one block of permutation splits in
#: :func:`permutation_null` (about 32 bytes per split and image).
PERM_BLOCK_BYTES = 256 * 2**20


def _permutation_block(y: np.ndarray, perms: np.ndarray, p0: int, p1: int, seed: int,
                       n_splits: int, n_repeats: int,
                       groups: np.ndarray | None = None) -> tuple[list, np.ndarray]:
    """The splits and labels of permutations ``p0 .. p1 - 1``, as
    :func:`permutation_splits` builds them."""
    idx = np.arange(len(y))
    splits, labels = [], []
    for p in range(p0, p1):
        for r in range(n_repeats):
            fold = models.fold_numbers(perms[p], n_splits,
                                       seeds.state("permutation_folds", seed, p, r), groups)
            for k in range(n_splits):
                t = fold == k
                splits.append(models.Split(p, k, idx[~t], idx[t]))
                labels.append(perms[p])
    return splits, np.asarray(labels, dtype=np.int8)


def permutation_null(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_permutations: int = 1000,
    seed: int = models.DEFAULT_SEED,
    n_splits: int = 10,
    n_repeats: int = 10,
    estimator: str = "mle",
    n_jobs: int = 1,
    start: int = 0,
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Null distribution of the repeated-CV mean fold AUC.

    Permutation ``p`` shuffles the labels (class sizes kept) with a stream derived
    from ``seed``, draws ``n_repeats`` new stratified ``n_splits``-fold assignments
    for the shuffled labels and re-runs the cross-validation; its statistic is the
    mean fold AUC over all ``n_repeats x n_splits`` folds, as for the observed data.
    The permutations depend only on ``seed`` and ``y``, so every feature set of a
    group is tested against the same shuffles.

    ``start`` > 0 computes only permutations ``start .. n_permutations - 1`` (the
    shuffles of a longer run begin with those of a shorter one, so a test can extend
    its null without recomputing it).

    ``groups`` (int codes, one per unit): labels permuted as the design allows
    (:func:`permuted_labels`: a group's labels move together among groups of its size)
    and every fold assignment a stratified group k-fold, as for the observed data.

    Returns
    -------
    null : ndarray (n_permutations - start,)
    share_separated : float
        Share of the permutation folds (of those computed) whose training data are
        separated.

    Notes
    -----
    The splits of :func:`permutation_splits` are built and cross-validated a block at
    a time (about :data:`PERM_BLOCK_BYTES` of splits, labels and scores per block;
    all ``n_permutations x n_repeats x n_splits`` splits of 10^5 images would hold
    8 x 10^5 bytes per image), and only the fold AUCs are kept. The blocks hold a
    whole number of the batched engine's chunks
    (:func:`analysis.fitting.engine.default_chunk_size`), so every fit sees the same batch as
    in one call over all splits: the result does not depend on the block size.
    """
    y = np.asarray(y, dtype=int)
    n = len(y)
    # the permuted labels as int8 (0/1): the same shuffles as permutation_splits draws
    groups = None if groups is None else np.asarray(groups, dtype=np.int64)
    perms = permuted_labels(y.astype(np.int8), n_permutations, seed, groups)
    per_perm = n_repeats * n_splits
    total = n_permutations * per_perm
    block = max(1, PERM_BLOCK_BYTES // (32 * max(n, 1)))
    if models.engine_available():
        from ..fitting import engine

        cs = engine.default_chunk_size(n, np.shape(X)[1])
        block = max(cs, block // cs * cs)
    if not 0 <= start < n_permutations:
        raise ValueError(f"start must lie in [0, n_permutations), got {start}")
    folds = []
    for a in range(start * per_perm, total, block):
        b = min(total, a + block)
        p0, p1 = a // per_perm, -(-b // per_perm)
        if total <= block and start == 0:  # one block: the cached splits all sets share
            splits, labels = permutation_splits(
                y.astype(np.int64).tobytes(), n_permutations, seed, n_splits, n_repeats,
                None if groups is None else groups.tobytes())
        else:
            splits, labels = _permutation_block(y, perms, p0, p1, seed, n_splits, n_repeats,
                                                groups)
        lo, hi = a - p0 * per_perm, b - p0 * per_perm
        res = models.cross_validate(X, y, splits[lo:hi], estimator=estimator,
                                    labels=labels[lo:hi], n_jobs=n_jobs)
        folds.append(res.folds[["repeat", "auc", "separated"]])
        del splits, labels, res
    f = pd.concat(folds, ignore_index=True)
    return repeated_cv_statistic(f), float(f["separated"].mean())


def observed_statistic(X: np.ndarray, y: np.ndarray, *, seed: int, estimator: str,
                       n_repeats: int = 10, n_splits: int = 10,
                       n_jobs: int = 1, groups: np.ndarray | None = None) -> float:
    """The permutation test's statistic on the observed labels: the mean fold AUC over
    the first ``n_repeats`` fold assignments of the review's cross-validation
    (:func:`analysis.fitting.models.stratified_splits` with ``seed`` and ``groups``)."""
    splits = models.stratified_splits(y, n_splits=n_splits, n_repeats=n_repeats, seed=seed,
                                      groups=groups)
    res = models.cross_validate(X, y, splits, estimator=estimator, n_jobs=n_jobs)
    return float(res.folds["auc"].mean())
