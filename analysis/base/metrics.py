"""The AUC as a count of pairs, with ties at a stated tolerance.

The one metric every layer uses: fitting scores each fold model's test fold with it
(:mod:`analysis.fitting.engine`, :mod:`analysis.fitting.models`), the statistics layer builds DeLong
intervals and rank tests on the same tie classes (:mod:`analysis.statistics.inference`, which
re-exports these names). Validated in ``tests/test_inference.py`` against pROC and
scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

__all__ = ["TIE_RTOL", "auc", "labelled_scores", "tie_codes"]


def _labels(y_true: Any) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError("y_true must be one-dimensional")
    u = np.unique(y)
    if not np.isin(u, [0, 1]).all():
        raise ValueError(f"y_true must be binary 0/1 (or bool); got values {u!r}")
    return y.astype(bool)


def _scores(score: Any, n: int) -> np.ndarray:
    s = np.asarray(score, dtype=float)
    if s.ndim != 1 or s.shape[0] != n:
        raise ValueError("score must be one-dimensional with the same length as y_true")
    if not np.isfinite(s).all():
        raise ValueError("score contains NaN or infinite values")
    return s


# ---------------------------------------------------------------------------
# ties at a stated tolerance
# ---------------------------------------------------------------------------
#: Relative tolerance of every tie in this package. Two scores of one score vector
#: ``s`` are tied when they differ by at most ``TIE_RTOL * max_i |s_i|``; two values of
#: a permutation statistic when they differ by at most ``TIE_RTOL`` times the largest
#: absolute value compared. Scores are linear predictors ``x'b``: a BLAS kernel that
#: sums in another order moves them by a few ``eps * sum_j |x_j b_j|`` (~1e-15
#: relative), so scores that are equal in exact arithmetic (images with the same
#: few-valued features) may differ in the last bits on one machine and not on another.
#: 1e-9 is ~10^6 times that rounding and far below any real gap between scores.
TIE_RTOL = 1e-9


def tie_codes(scores: Any, rtol: float = TIE_RTOL, valid: Any = None) -> np.ndarray:
    """Replace scores by the number of their tie class (0, 1, 2, ... in increasing order).

    Parameters
    ----------
    scores : array-like of shape (n,) or (k, n)
        One score vector, or ``k`` vectors (one per row), each coded on its own.
    rtol : float, default :data:`TIE_RTOL`
    valid : array-like of bool, same shape, optional
        Entries to code (others, e.g. padding, get arbitrary codes and are left out of
        the scale).

    Returns
    -------
    ndarray of float, same shape
        Integer codes: equal for tied scores, ordered as the scores otherwise.

    Notes
    -----
    Within a vector, the scores are sorted and a new tie class starts wherever the gap
    to the previous score exceeds ``tol = rtol * max_i |s_i|`` (finite valid entries):
    scores within ``tol`` of each other are tied, and a chain of such scores is one
    class. Every rank statistic (AUC, DeLong placements, Mann-Whitney U) computed from
    the codes equals the one computed from the scores whenever no two distinct scores
    are within ``tol``; and it does not change when the scores move by less than about
    ``tol / 2`` (a different BLAS kernel, a design perturbed by a few ulps). NaN sorts
    last and starts its own class.
    """
    s = np.asarray(scores, dtype=float)
    one = s.ndim == 1
    s = np.atleast_2d(s)
    ok = np.ones(s.shape, dtype=bool) if valid is None else np.atleast_2d(
        np.broadcast_to(np.asarray(valid, dtype=bool), s.shape))
    a = np.where(ok, s, np.inf)
    fin = ok & np.isfinite(s)
    scale = np.max(np.where(fin, np.abs(s), 0.0), axis=1, initial=0.0)
    order = np.argsort(a, axis=1, kind="stable")
    srt = np.take_along_axis(a, order, axis=1)
    with np.errstate(invalid="ignore"):
        gap = np.diff(srt, axis=1)
        new = (gap > (rtol * scale)[:, None]) | (np.isnan(srt[:, 1:]) & ~np.isnan(srt[:, :-1]))
    codes_sorted = np.concatenate([np.zeros((s.shape[0], 1)), np.cumsum(new, axis=1)], axis=1)
    codes = np.empty_like(codes_sorted)
    np.put_along_axis(codes, order, codes_sorted, axis=1)
    return codes[0] if one else codes


# ---------------------------------------------------------------------------
# AUC and DeLong
# ---------------------------------------------------------------------------
def labelled_scores(y_true: Any, score: Any) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The checked labels (bool) and scores (float) of one AUC, with the number of
    positives ``m`` and negatives ``n``."""
    y = _labels(y_true)
    s = _scores(score, y.shape[0])
    m = int(y.sum())
    return y, s, m, y.shape[0] - m


def auc(y_true: Any, score: Any) -> float:
    """Area under the ROC curve as the Mann-Whitney probability.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 1 = positive.
    score : array-like of shape (n,)
        Scores; higher means "more positive".

    Returns
    -------
    float
        :math:`\\hat A = P(S_+ > S_-) + \\tfrac12 P(S_+ = S_-)`, NaN when one of
        the classes is empty. Ties are scores within ``TIE_RTOL * max|s|`` of each
        other (:func:`tie_codes`), so the value does not depend on the last bits of
        the scores.

    Notes
    -----
    Computed from midranks :math:`R_i` of the pooled scores:
    :math:`\\hat A = (\\sum_{i:y_i=1} R_i - m(m+1)/2) / (m n)` with ``m``
    positives and ``n`` negatives. The numerator is an exact half-integer, so
    the value is bit-identical to the vectorised bootstrap path
    (:func:`bootstrap_auc_ci`). Equals :func:`sklearn.metrics.roc_auc_score`
    (trapezoidal rule) up to rounding.

    References
    ----------
    Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area
    under a receiver operating characteristic (ROC) curve. Radiology 143, 29-36.

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, s, m, n = labelled_scores(y_true, score)
    if m == 0 or n == 0:
        return float("nan")
    r = stats.rankdata(tie_codes(s))
    return float((r[y].sum() - m * (m + 1) / 2.0) / (m * n))
