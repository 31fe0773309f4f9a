"""Inference helpers: AUC with DeLong intervals and tests, bootstrap intervals,
permutation p-values, multiplicity adjustment, rank tests and random-effects
meta-analysis.

Every function here is checked in ``tests/test_inference.py`` against an
independent reference: values computed once with R (pROC, boot, stats,
metafor; fixtures and the R code that made them are in ``tests/fixtures/r``),
scikit-learn, scipy or pingouin.

Conventions
-----------
* Labels are binary ``0``/``1`` (``1`` = positive, e.g. melanoma); a higher
  score is taken to indicate the positive class (pROC ``direction = "<"``).
* Every random step takes ``rng``: a :class:`numpy.random.Generator` or an
  integer seed. The same seed gives identical output.
* Values that cannot be computed (a resample without one class, a NaN null
  statistic) are never dropped silently: they are excluded from the
  computation and counted in the output (``n_valid``) or documented.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

# the AUC and its ties live in the base layer (fitting scores folds with them)
from ..base.metrics import TIE_RTOL, _labels, _scores, auc, labelled_scores, tie_codes  # noqa: F401

__all__ = [
    "permutation_exceedances",
    "adjust_pvalues",
    "auc",
    "bootstrap_auc_ci",
    "bootstrap_ci",
    "bootstrap_indices",
    "ci_from_replicates",
    "delong_ci",
    "delong_paired",
    "delong_placements",
    "jackknife_influence",
    "mann_whitney",
    "permutation_pvalue",
    "random_effects_meta",
    "random_effects_meta_mv",
    "stratified_permutations",
    "group_permutations",
    "tie_codes",
    "TIE_RTOL", "bootstrap_index_chunks",
]


# ---------------------------------------------------------------------------
# small utilities
# ---------------------------------------------------------------------------
def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        raise ValueError("rng is required: pass a numpy Generator or an integer seed")
    return np.random.default_rng(rng)


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    return float(stats.norm.ppf(1 - alpha / 2))


def delong_placements(y_true: Any, scores: Any) -> dict[str, np.ndarray]:
    """DeLong placement values by the midrank algorithm of Sun & Xu (2014).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    scores : array-like of shape (n,) or (k, n)
        One or ``k`` score vectors on the same cases.

    Returns
    -------
    dict
        ``auc`` (k,), ``v10`` (k, m) placements of positives,
        ``v01`` (k, n) placements of negatives, ``s10`` and ``s01`` (k, k)
        sample covariance matrices (ddof = 1), ``cov`` (k, k) =
        ``s10/m + s01/n``.

    Notes
    -----
    With ``T_x`` the midranks of the positives among themselves, ``T_y`` of
    the negatives among themselves and ``T_z`` in the pooled sample,
    :math:`V_{10,i} = (T_{z,i} - T_{x,i}) / n` and
    :math:`V_{01,j} = 1 - (T_{z,j} - T_{y,j}) / m`; the AUC is the mean of
    either. This is the O(N log N) form of DeLong's structural components
    (ties count 1/2; ties at :data:`TIE_RTOL`, see :func:`tie_codes`, each score
    vector on its own scale).

    References
    ----------
    DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the
    areas under two or more correlated ROC curves: a nonparametric approach.
    Biometrics 44, 837-845.
    Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm for
    comparing the areas under correlated receiver operating characteristic
    curves. IEEE Signal Processing Letters 21(11), 1389-1393.
    """
    y = _labels(y_true)
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    if s.shape[1] != y.shape[0]:
        raise ValueError("scores must have shape (n,) or (k, n) matching y_true")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or infinite values")
    m = int(y.sum())
    n = y.shape[0] - m
    if m < 2 or n < 2:
        raise ValueError("DeLong needs at least two positives and two negatives")
    s = tie_codes(s)
    x, yy = s[:, y], s[:, ~y]
    tx = stats.rankdata(x, axis=1)
    ty = stats.rankdata(yy, axis=1)
    tz = stats.rankdata(np.concatenate([x, yy], axis=1), axis=1)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    a = v10.mean(axis=1)
    s10 = np.atleast_2d(np.cov(v10, ddof=1))
    s01 = np.atleast_2d(np.cov(v01, ddof=1))
    return {"auc": a, "v10": v10, "v01": v01, "s10": s10, "s01": s01, "cov": s10 / m + s01 / n}


def delong_ci(y_true: Any, score: Any, alpha: float = 0.05) -> dict[str, float]:
    """AUC with DeLong standard error and Wald confidence interval.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels (at least two of each class).
    score : array-like of shape (n,)
        Scores, higher = positive.
    alpha : float, default 0.05
        1 - confidence level.

    Returns
    -------
    dict
        ``auc``, ``se``, ``low``, ``high``.

    Notes
    -----
    :math:`\\widehat{Var}(\\hat A) = S_{10}/m + S_{01}/n` (see
    :func:`delong_placements`); the interval is
    :math:`\\hat A \\pm z_{1-\\alpha/2}\\,\\widehat{SE}`, **clipped to [0, 1]**,
    exactly as ``pROC::ci.auc(..., method = "delong")`` does (pROC sets bounds
    above 1 to 1 and below 0 to 0). Matches pROC to 1e-12 (tests).

    References
    ----------
    DeLong et al. (1988); Sun & Xu (2014); Robin, X. et al. (2011). pROC: an
    open-source package for R and S+ to analyze and compare ROC curves. BMC
    Bioinformatics 12, 77.

    Examples
    --------
    >>> r = delong_ci([0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.5, 0.4, 0.8, 0.9])
    >>> round(r["auc"], 4)
    0.8889
    """
    pl = delong_placements(y_true, score)
    a = float(pl["auc"][0])
    se = float(np.sqrt(pl["cov"][0, 0]))
    z = _z(alpha)
    return {"auc": a, "se": se, "low": max(0.0, a - z * se), "high": min(1.0, a + z * se)}


def delong_paired(y_true: Any, score_a: Any, score_b: Any, alpha: float = 0.05) -> dict[str, float]:
    """Paired DeLong test of two correlated AUCs on the same cases.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    score_a, score_b : array-like of shape (n,)
        Two scores for the same cases.
    alpha : float, default 0.05
        1 - confidence level of the interval for the difference.

    Returns
    -------
    dict
        ``auc_a``, ``auc_b``, ``diff`` (= auc_a - auc_b), ``se`` of the
        difference, ``z``, two-sided ``p``, and ``low``/``high`` of the Wald
        interval ``diff ± z se`` (not clipped).

    Notes
    -----
    :math:`Var(\\hat A_a - \\hat A_b) = c^T (S_{10}/m + S_{01}/n) c` with
    :math:`c = (1, -1)^T`; :math:`z = (\\hat A_a-\\hat A_b)/SE`,
    :math:`p = 2\\Phi(-|z|)`. When the two scores give identical placements
    (SE = 0 and equal AUCs) ``z = 0`` and ``p = 1``, as in
    ``pROC::roc.test(..., method = "delong", paired = TRUE)``.

    References
    ----------
    DeLong et al. (1988); Sun & Xu (2014).
    """
    y = _labels(y_true)
    s = np.vstack([_scores(score_a, y.shape[0]), _scores(score_b, y.shape[0])])
    pl = delong_placements(y, s)
    c = np.array([1.0, -1.0])
    var = float(c @ pl["cov"] @ c)
    se = float(np.sqrt(max(var, 0.0)))
    a1, a2 = (float(v) for v in pl["auc"])
    diff = a1 - a2
    if se == 0.0:
        zval = 0.0 if diff == 0 else float(np.sign(diff) * np.inf)
    else:
        zval = diff / se
    p = float(2 * stats.norm.sf(abs(zval)))
    zc = _z(alpha)
    return {
        "auc_a": a1,
        "auc_b": a2,
        "diff": diff,
        "se": se,
        "z": zval,
        "p": p,
        "low": diff - zc * se,
        "high": diff + zc * se,
    }


# ---------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------
def bootstrap_indices(
    n: int, n_boot: int, rng: np.random.Generator | int, strata: Any = None
) -> np.ndarray:
    """Row indices of ``n_boot`` nonparametric bootstrap resamples.

    Parameters
    ----------
    n : int
        Number of rows.
    n_boot : int
        Number of resamples.
    rng : numpy.random.Generator or int
        Random source.
    strata : array-like of shape (n,), optional
        Resample within each stratum, keeping stratum sizes.

    Returns
    -------
    ndarray of shape (n_boot, n), int
        Row ``b`` holds the indices of resample ``b``.

    Notes
    -----
    The RNG is used in one fixed way, shared by :func:`bootstrap_ci` and
    :func:`bootstrap_auc_ci` so that both see the same resamples: without
    strata one call ``rng.integers(0, n, (n_boot, n))``; with strata, one call
    ``rng.integers(0, n_s, (n_boot, n_s))`` per stratum, strata in sorted
    order (``numpy.unique``), the draws filling that stratum's positions
    (in their original order) of every row.
    """
    rng = _as_rng(rng)
    if strata is None:
        return rng.integers(0, n, size=(n_boot, n))
    g = np.asarray(strata)
    if g.shape != (n,):
        raise ValueError("strata must have one entry per row")
    out = np.empty((n_boot, n), dtype=np.int64)
    for level in np.unique(g):
        pos = np.flatnonzero(g == level)
        out[:, pos] = pos[rng.integers(0, pos.size, size=(n_boot, pos.size))]
    return out


#: Bytes of one block of bootstrap indices in :func:`bootstrap_index_chunks`.
BOOT_CHUNK_BYTES = 64 * 2**20


def _copy_rng(rng: np.random.Generator) -> np.random.Generator:
    bg = type(rng.bit_generator)()
    bg.state = rng.bit_generator.state
    return np.random.Generator(bg)


def bootstrap_index_chunks(
    n: int, n_boot: int, rng: np.random.Generator | int, strata: Any = None, *,
    max_bytes: int | None = None,
):
    """The rows of :func:`bootstrap_indices`, in blocks of at most ``max_bytes``.

    ``max_bytes`` defaults to :data:`BOOT_CHUNK_BYTES`. Yields ndarrays of shape
    ``(rows, n)`` (int64) whose concatenation is exactly
    ``bootstrap_indices(n, n_boot, rng, strata)``, and leaves a passed generator in
    the state that call leaves it in; at most one block is held at a time.

    Notes
    -----
    A generator's integer draws do not depend on how a request is split into calls,
    so the rows of one stratum can be drawn block by block. With strata,
    :func:`bootstrap_indices` draws all rows of the first stratum before the
    second's; a first pass therefore runs through the draws of every stratum in
    blocks, keeping a copy of the generator where each stratum starts, and the second
    pass draws each block's rows from those copies. The random numbers are drawn
    twice; no array of ``n_boot x n`` indices is formed.
    """
    rng = _as_rng(rng)
    max_bytes = BOOT_CHUNK_BYTES if max_bytes is None else max_bytes
    rows = max(1, int(max_bytes // (8 * max(n, 1))))
    if strata is None:
        for a in range(0, n_boot, rows):
            yield rng.integers(0, n, size=(min(n_boot, a + rows) - a, n))
        return
    g = np.asarray(strata)
    if g.shape != (n,):
        raise ValueError("strata must have one entry per row")
    levels = [np.flatnonzero(g == level) for level in np.unique(g)]
    starts = []
    for pos in levels:  # first pass: where each stratum's draws start
        starts.append(_copy_rng(rng))
        for a in range(0, n_boot, rows):
            rng.integers(0, pos.size, size=(min(n_boot, a + rows) - a, pos.size))
    for a in range(0, n_boot, rows):
        b = min(n_boot, a + rows)
        out = np.empty((b - a, n), dtype=np.int64)
        for pos, gen in zip(levels, starts, strict=True):
            out[:, pos] = pos[gen.integers(0, pos.size, size=(b - a, pos.size))]
        yield out


def jackknife_influence(jack: Any, estimate: float, strata: Any = None) -> np.ndarray:
    """Empirical influence values from leave-one-out (jackknife) statistics.

    Parameters
    ----------
    jack : array-like of shape (n,)
        :math:`t_{(-i)}`, the statistic with row ``i`` left out.
    estimate : float
        :math:`t_0`, the statistic on all rows.
    strata : array-like of shape (n,), optional
        Strata of the bootstrap (the leave-one-out values are the same; only
        the scaling uses the stratum size).

    Returns
    -------
    ndarray of shape (n,)
        :math:`L_i = (n_{s(i)} - 1)\\,(t_0 - t_{(-i)})`, with :math:`n_{s(i)}`
        the size of the stratum of row ``i`` (``n`` without strata).

    Notes
    -----
    This is exactly ``boot::empinf(type = "jack")`` (boot's internal
    ``usual.jack``, which centres at the full-sample statistic :math:`t_0`,
    not at the mean of the jackknife values as in Efron 1987 / scipy's
    ``bootstrap``; the two agree to first order). The BCa acceleration is then
    :math:`a = \\sum L_i^3 / (6 (\\sum L_i^2)^{3/2})`. Any NaN leave-one-out
    value makes ``a`` (and the BCa bounds) NaN.
    """
    tj = np.asarray(jack, dtype=float)
    g = np.zeros(tj.shape[0], dtype=int) if strata is None else np.asarray(strata)
    _, inv, counts = np.unique(g, return_inverse=True, return_counts=True)
    return (counts[inv] - 1) * (float(estimate) - tj)


def _norm_inter(t: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles by boot's ``norm.inter``: interpolation on the normal scale.

    With ``R`` sorted finite replicates and ``r = (R + 1) p``, ``k = floor(r)``:
    if ``r`` is an integer the ``k``-th order statistic; if ``k = 0`` the
    minimum, if ``k = R`` the maximum; otherwise
    ``t_(k) + (Φ⁻¹(p) - Φ⁻¹(k/(R+1))) / (Φ⁻¹((k+1)/(R+1)) - Φ⁻¹(k/(R+1))) * (t_(k+1) - t_(k))``.
    """
    ts = np.sort(t)
    R = ts.size
    out = np.empty(len(probs))
    for j, p in enumerate(probs):
        rk = (R + 1) * p
        k = int(np.trunc(rk))
        if k == rk and 1 <= k <= R:
            out[j] = ts[k - 1]
        elif k <= 0:
            out[j] = ts[0]
        elif k >= R:
            out[j] = ts[R - 1]
        else:
            z1 = stats.norm.ppf(p)
            z2 = stats.norm.ppf(k / (R + 1))
            z3 = stats.norm.ppf((k + 1) / (R + 1))
            out[j] = ts[k - 1] + (z1 - z2) / (z3 - z2) * (ts[k] - ts[k - 1])
    return out


def ci_from_replicates(
    replicates: Any,
    estimate: float,
    *,
    influence: Any = None,
    alpha: float = 0.05,
    methods: Sequence[str] = ("percentile", "bca"),
) -> pd.DataFrame:
    """Percentile and BCa intervals from given bootstrap replicates.

    Parameters
    ----------
    replicates : array-like of shape (B,)
        Bootstrap replicates; non-finite values are excluded and counted.
    estimate : float
        The statistic on the original data, :math:`t_0`.
    influence : array-like, optional
        Empirical influence values ``L`` (see :func:`jackknife_influence`);
        required for ``"bca"``.
    alpha : float, default 0.05
        1 - confidence level.
    methods : sequence of {"percentile", "bca"}

    Returns
    -------
    DataFrame
        One row per method: ``method, low, high, estimate, n_boot, n_valid``.

    Notes
    -----
    Follows ``boot::boot.ci`` exactly (boot 1.3): replicates are restricted to
    finite values; quantiles use :func:`_norm_inter` (boot's
    ``norm.inter``). Percentile: quantiles at :math:`\\alpha/2, 1-\\alpha/2`.
    BCa: :math:`z_0 = \\Phi^{-1}(\\#\\{t^* < t_0\\}/B_{valid})` (strict "<",
    so replicates equal to :math:`t_0` count as not below),
    :math:`a = \\sum L^3 / (6 (\\sum L^2)^{3/2})` and the quantile levels
    :math:`\\Phi(z_0 + (z_0 + z_\\alpha)/(1 - a (z_0 + z_\\alpha)))`. When
    :math:`z_0` is infinite (all replicates on one side) or the influence
    values are all zero, the BCa bounds are NaN (boot stops with an error).

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. JASA 82, 171-185.
    Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their
    Application, ch. 5. Cambridge University Press. (R package ``boot``.)
    """
    t_all = np.asarray(replicates, dtype=float).ravel()
    t = t_all[np.isfinite(t_all)]
    rows = []
    probs = np.array([alpha / 2, 1 - alpha / 2])
    for method in methods:
        low = high = np.nan
        if t.size > 0 and np.isfinite(estimate):
            if method == "percentile":
                low, high = _norm_inter(t, probs)
            elif method == "bca":
                if influence is None:
                    raise ValueError("BCa needs influence values (jackknife)")
                L = np.asarray(influence, dtype=float)
                w = stats.norm.ppf(np.sum(t < estimate) / t.size)
                ssq = np.sum(L**2)
                if np.isfinite(w) and ssq > 0 and np.isfinite(ssq) and np.isfinite(L).all():
                    a = np.sum(L**3) / (6 * ssq**1.5)
                    za = stats.norm.ppf(probs)
                    adj = stats.norm.cdf(w + (w + za) / (1 - a * (w + za)))
                    low, high = _norm_inter(t, adj)
            else:
                raise ValueError(f"unknown method {method!r}; use 'percentile' or 'bca'")
        rows.append(
            {
                "method": method,
                "low": float(low),
                "high": float(high),
                "estimate": float(estimate),
                "n_boot": int(t_all.size),
                "n_valid": int(t.size),
            }
        )
    return pd.DataFrame(rows, columns=["method", "low", "high", "estimate", "n_boot", "n_valid"])


def _take(arrays: Sequence[np.ndarray], idx: np.ndarray) -> list[np.ndarray]:
    return [a[idx] for a in arrays]


def _safe_stat(statistic: Callable[..., float], arrays: Sequence[np.ndarray]) -> float:
    try:
        v = float(statistic(*arrays))
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return float("nan")
    return v


def bootstrap_ci(
    data_arrays: Sequence[Any] | Any,
    statistic: Callable[..., float],
    *,
    n_boot: int = 2000,
    methods: Sequence[str] = ("percentile", "bca"),
    strata: Any = None,
    alpha: float = 0.05,
    rng: np.random.Generator | int,
) -> pd.DataFrame:
    """Nonparametric (optionally stratified) bootstrap confidence intervals.

    Parameters
    ----------
    data_arrays : array or sequence of arrays
        Arrays with the same first dimension ``n``; rows are resampled jointly
        and ``statistic(*resampled_arrays)`` is evaluated.
    statistic : callable
        Returns a float; NaN (or a ``ValueError``) marks an undefined value,
        e.g. an AUC on a resample without one class.
    n_boot : int, default 2000
    methods : sequence of {"percentile", "bca"}
    strata : array-like of shape (n,), optional
        Resample within strata, keeping stratum sizes (boot's ``strata=``).
    alpha : float, default 0.05
    rng : numpy.random.Generator or int
        Same seed -> identical output.

    Returns
    -------
    DataFrame
        ``method, low, high, estimate, n_boot, n_valid``; ``n_valid`` counts
        replicates where the statistic was defined (the others are excluded
        from both intervals, as ``boot.ci`` excludes non-finite replicates).

    Notes
    -----
    Resamples come from :func:`bootstrap_indices` (drawn in blocks of at most
    :data:`BOOT_CHUNK_BYTES`, :func:`bootstrap_index_chunks`); intervals from
    :func:`ci_from_replicates` (boot's percentile/BCa rules, validated against
    ``boot::boot.ci`` to 1e-10). The BCa acceleration uses leave-one-out
    values (:func:`jackknife_influence`, within strata when given); a
    leave-one-out value that is undefined makes the BCa bounds NaN.

    References
    ----------
    Efron (1987); Davison & Hinkley (1997).

    Examples
    --------
    >>> x = np.arange(20.0)
    >>> out = bootstrap_ci(x, np.mean, n_boot=200, rng=1)
    >>> list(out["method"])
    ['percentile', 'bca']
    """
    arrays = (
        [np.asarray(data_arrays)]
        if isinstance(data_arrays, np.ndarray) or not isinstance(data_arrays, (list, tuple))
        else [np.asarray(a) for a in data_arrays]
    )
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise ValueError("all data arrays must have the same number of rows")
    t0 = _safe_stat(statistic, arrays)
    # the resamples of bootstrap_indices, a block of rows at a time (memory bounded by
    # BOOT_CHUNK_BYTES instead of n_boot x n indices)
    t = np.array([_safe_stat(statistic, _take(arrays, row))
                  for block in bootstrap_index_chunks(n, n_boot, rng, strata) for row in block])
    L = None
    if "bca" in methods:
        keep = np.ones(n, dtype=bool)
        tj = np.empty(n)
        for i in range(n):
            keep[i] = False
            tj[i] = _safe_stat(statistic, _take(arrays, keep))
            keep[i] = True
        L = jackknife_influence(tj, t0, strata)
    return ci_from_replicates(t, t0, influence=L, alpha=alpha, methods=methods)


def _auc_rows(y_sorted: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Row-wise AUC of an (B, n) score matrix; same positive mask for each row.

    ``scores`` are expected to be :func:`tie_codes` (exact integers), as
    :func:`bootstrap_auc_ci` passes them, so that the ranks are exact."""
    m = int(y_sorted.sum())
    n = y_sorted.shape[0] - m
    r = stats.rankdata(scores, axis=1)
    return (r[:, y_sorted].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)


def bootstrap_auc_ci(
    y_true: Any,
    score: Any,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    rng: np.random.Generator | int,
    return_replicates: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Class-stratified bootstrap percentile and BCa intervals for the AUC (fast path).

    Parameters
    ----------
    y_true, score : array-like of shape (n,)
    n_boot : int, default 2000
    alpha : float, default 0.05
    rng : numpy.random.Generator or int
    return_replicates : bool, default False
        Also return the (n_boot,) replicate AUCs.

    Returns
    -------
    DataFrame
        As :func:`bootstrap_ci` (methods percentile and bca).

    Notes
    -----
    Draws the same index matrix as ``bootstrap_ci((y, score), auc,
    strata=y, rng=...)`` (:func:`bootstrap_indices`) and computes all replicate
    AUCs at once from row-wise midranks, with the same formula as :func:`auc`,
    so the output is identical to the generic path for the same seed. The
    scores are first replaced by their :func:`tie_codes` (ties at
    :data:`TIE_RTOL` of the full sample's scale, for every replicate). Since
    resampling is within classes every replicate has both classes
    (``n_valid == n_boot``). Jackknife values use the exact leave-one-out
    identities of the Mann-Whitney statistic, computed vectorised.
    """
    y, s, m, n = labelled_scores(y_true, score)
    if m == 0 or n == 0:
        raise ValueError("both classes are needed")
    s = tie_codes(s)
    idx = bootstrap_indices(y.shape[0], n_boot, rng, y.astype(int))
    # resampled positives stay in the positions of positives: same mask per row
    t = _auc_rows(y, s[idx])
    t0 = auc(y, s)
    # leave-one-out AUCs: drop row i -> the positive mask loses i
    N = y.shape[0]
    jmat = np.broadcast_to(s, (N, N))[~np.eye(N, dtype=bool)].reshape(N, N - 1)
    ymat = np.broadcast_to(y, (N, N))[~np.eye(N, dtype=bool)].reshape(N, N - 1)
    rj = stats.rankdata(jmat, axis=1)
    mj = ymat.sum(axis=1)
    nj = (N - 1) - mj
    with np.errstate(invalid="ignore", divide="ignore"):
        tj = ((rj * ymat).sum(axis=1) - mj * (mj + 1) / 2.0) / (mj * nj)
    tj[(mj == 0) | (nj == 0)] = np.nan
    L = jackknife_influence(tj, t0, y.astype(int))
    out = ci_from_replicates(t, t0, influence=L, alpha=alpha, methods=("percentile", "bca"))
    return (out, t) if return_replicates else out


# ---------------------------------------------------------------------------
# permutation
# ---------------------------------------------------------------------------
def permutation_pvalue(observed: float, null: Any, alternative: str = "greater") -> float:
    """Monte-Carlo permutation p-value with the +1 correction.

    Parameters
    ----------
    observed : float
        Statistic on the observed data.
    null : array-like
        Statistic on permuted data. NaN values are excluded (the count used is
        the number of finite values; callers should report
        ``np.isnan(null).sum()``).
    alternative : {"greater", "less", "two-sided"}

    Returns
    -------
    float
        ``"greater"``: :math:`(1 + \\#\\{T^* \\ge T\\}) / (1 + B)`;
        ``"less"``: :math:`(1 + \\#\\{T^* \\le T\\}) / (1 + B)`;
        ``"two-sided"``: :math:`\\min(1, 2 \\min(p_{greater}, p_{less}))`.
        ``B`` = number of non-NaN nulls; NaN if ``observed`` is NaN or B = 0.

    Notes
    -----
    Counting the observed statistic as one of the permutations makes the test
    valid (P(p <= u) <= u under exchangeability). Ties are counted at a stated
    tolerance: :math:`T^* \\ge T` means :math:`T^* \\ge T - tol` with
    ``tol = TIE_RTOL * max(|T|, max|T*|)`` (:data:`TIE_RTOL`), so a null statistic
    equal to the observed one in exact arithmetic (the same fold AUCs summed in
    another order) counts on every machine.

    References
    ----------
    Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be
    zero. Stat. Appl. Genet. Mol. Biol. 9(1), 39.
    """
    nv = np.asarray(null, dtype=float).ravel()
    nv = nv[~np.isnan(nv)]
    if np.isnan(observed) or nv.size == 0:
        return float("nan")
    B = nv.size
    pg = (1 + np.sum(permutation_exceedances(observed, nv))) / (1 + B)
    pl = (1 + np.sum(nv <= observed + _tie_tolerance(observed, nv))) / (1 + B)
    if alternative == "greater":
        return float(pg)
    if alternative == "less":
        return float(pl)
    if alternative == "two-sided":
        return float(min(1.0, 2 * min(pg, pl)))
    raise ValueError("alternative must be 'greater', 'less' or 'two-sided'")


def _tie_tolerance(observed: float, null: np.ndarray, running: bool = False):
    """``TIE_RTOL * max(|T|, max|T*|)`` over the nulls that are not NaN (with
    ``running``: over the nulls up to each one, an array)."""
    a = np.abs(np.where(np.isnan(null), 0.0, null))
    if running:
        return TIE_RTOL * np.maximum(abs(observed), np.maximum.accumulate(a) if a.size else a)
    return TIE_RTOL * max(abs(observed), float(a.max(initial=0.0)))


def permutation_exceedances(observed: float, null: Any, *, running: bool = False) -> np.ndarray:
    """Which null statistics count as at least the observed one: the tie rule of every
    permutation test of the package.

    Parameters
    ----------
    observed : float
    null : array-like
        Null statistics in the order they were drawn.
    running : bool
        For a sequential test: the tolerance of null ``i`` uses the nulls up to ``i``
        only, so that whether it exceeds does not depend on the nulls drawn after it
        (nor on how they were batched).

    Returns
    -------
    ndarray of bool
        ``T*_i >= T - tol`` with ``tol = TIE_RTOL * max(|T|, max|T*|)``
        (:data:`TIE_RTOL`; the maximum over the finite nulls, up to ``i`` when
        ``running``); NaN never exceeds.

    Notes
    -----
    A null statistic equal to the observed one in exact arithmetic (the same fold AUCs
    summed in another order) differs from it by a few units in the last place, up or
    down; the tolerance counts it on every machine. Without ``running`` this is the
    count of :func:`permutation_pvalue`.
    """
    nv = np.asarray(null, dtype=float).ravel()
    with np.errstate(invalid="ignore"):
        return nv >= observed - _tie_tolerance(observed, nv, running)


def group_permutations(y: Any, groups: Any, n_perm: int,
                       rng: np.random.Generator | int) -> np.ndarray:
    """Permuted copies of a label vector that respect a grouping of the units.

    Parameters
    ----------
    y : array-like of shape (n,)
    groups : array-like of shape (n,)
        Group of each unit (e.g. the patient of each nodule).
    n_perm : int
    rng : numpy.random.Generator or int

    Returns
    -------
    ndarray of shape (n_perm, n)

    Notes
    -----
    The rule: the labels of a group move together. Among the groups of the same size
    (sizes in increasing order, groups in sorted order of their ids), each permutation
    gives every group the labels of a group drawn without replacement (a random
    permutation of the groups), and then shuffles them among the group's units. The
    class counts, the number of positives of each group size and the within-group
    label pattern (how many positives a group holds) are kept.

    Under the null hypothesis that the scores carry no information about the labels,
    with groups independent of each other and the units of a group exchangeable, the
    joint distribution of the labels is invariant under exactly these moves, so the
    permutation test is exact (a unit-level permutation would break the dependence
    of labels within a group, and its null would be too narrow when labels cluster in
    groups). With every group a single unit this is a plain permutation of the labels.
    A group whose size no other group has keeps its labels (shuffled among its units):
    with few groups of each size the permutation distribution is coarse.
    """
    rng = _as_rng(rng)
    y = np.asarray(y)
    g = np.asarray(groups)
    n = y.shape[0]
    if g.shape != (n,):
        raise ValueError(f"groups must have one entry per unit ({n}), got {g.shape}")
    _, code = np.unique(g, return_inverse=True)
    order = np.argsort(code, kind="stable")
    sizes = np.bincount(code)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = np.empty((n_perm, n), dtype=y.dtype)
    for s in np.unique(sizes):
        which = np.flatnonzero(sizes == s)  # groups of this size, in id order
        pos = order[starts[which][:, None] + np.arange(s)]  # (m, s) unit indices
        lab = y[pos]
        pick = rng.permuted(np.broadcast_to(np.arange(len(which)), (n_perm, len(which))).copy(),
                            axis=1)
        moved = rng.permuted(lab[pick], axis=2)  # (n_perm, m, s)
        out[:, pos.ravel()] = moved.reshape(n_perm, -1)
    return out


def stratified_permutations(
    y: Any, n_perm: int, rng: np.random.Generator | int, strata: Any = None
) -> np.ndarray:
    """Permuted copies of a label vector, optionally within strata.

    Parameters
    ----------
    y : array-like of shape (n,)
    n_perm : int
    rng : numpy.random.Generator or int
    strata : array-like of shape (n,), optional
        Labels are shuffled only among rows of the same stratum.

    Returns
    -------
    ndarray of shape (n_perm, n)
        Row ``b`` is ``y`` permuted (within strata).

    Notes
    -----
    Uses ``rng.permuted`` on a stacked (n_perm, n_s) matrix per stratum
    (strata in sorted order), so the output is a deterministic function of
    the seed.
    """
    rng = _as_rng(rng)
    y = np.asarray(y)
    n = y.shape[0]
    if strata is None:
        return rng.permuted(np.broadcast_to(y, (n_perm, n)).copy(), axis=1)
    g = np.asarray(strata)
    out = np.empty((n_perm, n), dtype=y.dtype)
    for level in np.unique(g):
        pos = np.flatnonzero(g == level)
        out[:, pos] = rng.permuted(np.broadcast_to(y[pos], (n_perm, pos.size)).copy(), axis=1)
    return out


# ---------------------------------------------------------------------------
# multiplicity
# ---------------------------------------------------------------------------
def adjust_pvalues(p: Any, method: str = "holm") -> np.ndarray:
    """Holm or Benjamini-Hochberg adjusted p-values, NaN-safe.

    Parameters
    ----------
    p : array-like
        p-values; NaNs are kept in place and excluded from the family.
    method : {"holm", "fdr_bh"} (``"BH"`` is accepted for ``"fdr_bh"``)

    Returns
    -------
    ndarray
        Adjusted p-values, same shape as ``p``.

    Notes
    -----
    Benjamini-Hochberg is :func:`statsmodels.stats.multitest.multipletests`. Holm is
    its step-down rule written out (sort, multiply the i-th smallest by m - i + 1,
    running maximum, cap at 1: the same operations, so the same bits), because
    statsmodels' Holm branch runs a full garbage collection on every call (about 80 ms
    in a process holding a review), and the review adjusts a dozen families per table.
    Both equal R's ``p.adjust(p, "holm")`` / ``p.adjust(p, "BH")`` (tests), where R
    likewise drops NA from the family size.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scand. J. Statist. 6, 65-70. Benjamini, Y. & Hochberg, Y. (1995).
    Controlling the false discovery rate. JRSS B 57, 289-300.
    """
    from statsmodels.stats.multitest import multipletests

    method = {"BH": "fdr_bh", "bh": "fdr_bh", "fdr": "fdr_bh"}.get(method, method)
    if method not in ("holm", "fdr_bh"):
        raise ValueError("method must be 'holm' or 'fdr_bh'")
    arr = np.asarray(p, dtype=float)
    out = np.full(arr.shape, np.nan)
    ok = ~np.isnan(arr)
    if ok.any():
        if method == "holm":
            q = arr[ok]
            order = np.argsort(q)
            adj = np.maximum.accumulate(q[order] * np.arange(q.size, 0, -1))
            adj[adj > 1] = 1.0
            held = np.empty_like(adj)
            held[order] = adj
            out[ok] = held
        else:
            out[ok] = multipletests(arr[ok], method=method)[1]
    return out


# ---------------------------------------------------------------------------
# rank test
# ---------------------------------------------------------------------------
def mann_whitney(x_pos: Any, x_neg: Any, positive: str = "melanoma") -> dict[str, Any]:
    """Two-sided Mann-Whitney U test with effect sizes, positives vs negatives.

    Parameters
    ----------
    x_pos : array-like
        Values in the positive group (e.g. melanoma); NaNs are dropped.
    x_neg : array-like
        Values in the negative group; NaNs are dropped.
    positive : str
        Name of the positive class in ``direction`` (default "melanoma", ENHANCE's).

    Returns
    -------
    dict
        ``u`` (U of the positives), ``p`` (two-sided), ``rank_biserial``,
        ``cles``, ``auc``, ``direction``, ``n_pos``, ``n_neg``.

    Notes
    -----
    ``scipy.stats.mannwhitneyu(x_pos, x_neg, alternative="two-sided",
    method="asymptotic", use_continuity=True)``: normal approximation with
    tie correction and continuity correction (the same as R's
    ``wilcox.test(exact = FALSE, correct = TRUE)`` and ``pingouin.mwu``).
    ``auc = U / (n_pos n_neg)``, which equals the common-language effect
    size :math:`P(X_+ > X_-) + \\tfrac12 P(X_+ = X_-)` (``cles``);
    ``rank_biserial = 2 auc - 1`` (positive when the positives are higher).
    ``direction`` is "higher in melanoma" (``positive``) if auc > 0.5, "lower in
    melanoma" if auc < 0.5, else "no difference". Values within :data:`TIE_RTOL` of the
    largest absolute value are tied (:func:`tie_codes`).

    References
    ----------
    Mann, H. B. & Whitney, D. R. (1947). Ann. Math. Statist. 18, 50-60.
    Kerby, D. S. (2014). The simple difference formula. Compr. Psychol. 3.
    McGraw, K. O. & Wong, S. P. (1992). A common language effect size
    statistic. Psychol. Bull. 111, 361-365.
    """
    a = np.asarray(x_pos, dtype=float)
    b = np.asarray(x_neg, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    # ties at TIE_RTOL of the pooled values (tie_codes): U, its tie correction and the
    # p-value depend on ranks only, so this changes nothing without near-ties
    codes = tie_codes(np.r_[a, b])
    a, b = codes[: a.size], codes[a.size:]
    res = stats.mannwhitneyu(
        a, b, alternative="two-sided", method="asymptotic", use_continuity=True
    )
    u = float(res.statistic)
    a_ = u / (a.size * b.size)
    # exact pair counts from the sorted negatives (no n_pos x n_neg array): the mean of
    # a 0/1 array is its exact integer sum over its size, so this equals the pairwise
    # np.mean(diff > 0) + 0.5 * np.mean(diff == 0) bit for bit
    bs = np.sort(b)
    lo = np.searchsorted(bs, a, side="left")
    hi = np.searchsorted(bs, a, side="right")
    n_pairs = a.size * b.size
    cles = float(int(lo.sum()) / n_pairs + 0.5 * (int((hi - lo).sum()) / n_pairs))
    direction = (
        f"higher in {positive}" if a_ > 0.5 else f"lower in {positive}" if a_ < 0.5
        else "no difference"
    )
    return {
        "u": u,
        "p": float(res.pvalue),
        "rank_biserial": 2 * a_ - 1,
        "cles": cles,
        "auc": a_,
        "direction": direction,
        "n_pos": int(a.size),
        "n_neg": int(b.size),
    }


# ---------------------------------------------------------------------------
# random-effects meta-analysis
# ---------------------------------------------------------------------------
def _tau2_reml(
    y: np.ndarray, v: np.ndarray, tau2_start: float, tol: float = 1e-12, max_iter: int = 1000
) -> float:
    """REML estimate of tau^2 by Fisher scoring (as metafor), truncated at 0.

    Score :math:`\\tfrac12 (y^T P^2 y - tr P)`, expected information
    :math:`\\tfrac12 tr(P^2)`, with :math:`P = W - W 1 1^T W / 1^T W 1`,
    :math:`W = diag(1/(v_i + \\tau^2))` (Viechtbauer 2005).
    """
    t2 = max(tau2_start, 0.0)
    for _ in range(max_iter):
        w = 1.0 / (v + t2)
        P = np.diag(w) - np.outer(w, w) / w.sum()
        Py = P @ y
        step = (Py @ Py - np.trace(P)) / np.trace(P @ P)
        new = max(t2 + step, 0.0)
        if abs(new - t2) < tol:
            return new
        t2 = new
    return t2


def random_effects_meta(
    yi: Any, vi: Any, method: str = "REML", alpha: float = 0.05
) -> dict[str, float]:
    """Random-effects meta-analysis (inverse-variance, Wald CI).

    Parameters
    ----------
    yi : array-like of shape (k,)
        Study estimates.
    vi : array-like of shape (k,)
        Their sampling variances.
    method : {"REML", "DL"}
        Estimator of the between-study variance :math:`\\tau^2`.
    alpha : float, default 0.05

    Returns
    -------
    dict
        ``estimate, se, low, high, tau2, i2`` (percent), ``q`` (Cochran's Q),
        ``q_p``, ``k``.

    Notes
    -----
    :math:`\\hat\\mu = \\sum w_i y_i / \\sum w_i`, :math:`w_i = 1/(v_i + \\hat\\tau^2)`,
    :math:`SE = (\\sum w_i)^{-1/2}`, CI :math:`\\hat\\mu \\pm z SE`.
    DL: :math:`\\hat\\tau^2 = \\max(0, (Q - (k-1)) / (\\sum w - \\sum w^2/\\sum w))`
    with fixed-effect weights. REML: Fisher scoring on the restricted
    likelihood from the DL value, truncated at 0 (as ``metafor::rma``).
    :math:`Q = \\sum (y_i - \\hat\\mu_{FE})^2 / v_i`, p from
    :math:`\\chi^2_{k-1}`; :math:`I^2 = 100\\,\\hat\\tau^2 / (\\hat\\tau^2 + s^2)`
    with the typical within-study variance
    :math:`s^2 = (k-1)\\sum w / ((\\sum w)^2 - \\sum w^2)` (metafor's
    definition, which for DL equals :math:`(Q-(k-1))/Q`). Matches
    ``metafor::rma`` to 1e-8 (tests).

    References
    ----------
    DerSimonian, R. & Laird, N. (1986). Controlled Clinical Trials 7, 177-188.
    Viechtbauer, W. (2005). J. Educ. Behav. Stat. 30, 261-293.
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor
    package. J. Stat. Softw. 36(3).
    Higgins, J. P. T. & Thompson, S. G. (2002). Stat. Med. 21, 1539-1558.
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.shape != v.shape or y.ndim != 1:
        raise ValueError("yi and vi must be 1-d of the same length")
    k = y.size
    if k < 2:
        raise ValueError("need at least two studies")
    w0 = 1.0 / v
    mu_fe = np.sum(w0 * y) / w0.sum()
    q = float(np.sum(w0 * (y - mu_fe) ** 2))
    c = w0.sum() - np.sum(w0**2) / w0.sum()
    tau2_dl = max(0.0, (q - (k - 1)) / c)
    method_u = method.upper()
    if method_u == "DL":
        tau2 = tau2_dl
    elif method_u == "REML":
        tau2 = _tau2_reml(y, v, tau2_dl)
    else:
        raise ValueError("method must be 'REML' or 'DL'")
    w = 1.0 / (v + tau2)
    mu = float(np.sum(w * y) / w.sum())
    se = float(1.0 / np.sqrt(w.sum()))
    z = _z(alpha)
    s2 = (k - 1) * w0.sum() / (w0.sum() ** 2 - np.sum(w0**2))
    i2 = 100.0 * tau2 / (tau2 + s2)
    return {
        "estimate": mu,
        "se": se,
        "low": mu - z * se,
        "high": mu + z * se,
        "tau2": float(tau2),
        "i2": float(i2),
        "q": q,
        "q_p": float(stats.chi2.sf(q, k - 1)),
        "k": int(k),
    }


def _as_cov(V: Any, k: int) -> np.ndarray:
    """A within-study covariance matrix from a matrix or a vector of variances."""
    m = np.asarray(V, dtype=float)
    if m.ndim == 1:
        m = np.diag(m)
    if m.shape != (k, k):
        raise ValueError(f"V must be of shape ({k}, {k}) or ({k},)")
    if not np.allclose(m, m.T, rtol=0, atol=1e-14 * max(1.0, float(np.abs(m).max()))):
        raise ValueError("V must be symmetric")
    if np.any(np.diag(m) <= 0):
        raise ValueError("within-study variances must be positive")
    return (m + m.T) / 2


def _tau2_reml_mv(y: np.ndarray, V: np.ndarray, tau2_start: float, tol: float = 1e-12,
                  max_iter: int = 1000) -> float:
    """REML tau^2 of ``y ~ N(mu 1, V + tau^2 I)`` by Fisher scoring, truncated at 0.

    As :func:`_tau2_reml` with :math:`W = (V + \\tau^2 I)^{-1}` a full matrix:
    :math:`P = W - W 1 1^T W / 1^T W 1`, score :math:`\\tfrac12 (y^T P^2 y - tr P)`,
    expected information :math:`\\tfrac12 tr(P^2)`.
    """
    k = y.size
    one = np.ones(k)
    t2 = max(tau2_start, 0.0)
    for _ in range(max_iter):
        W = np.linalg.inv(V + t2 * np.eye(k))
        W1 = W @ one
        P = W - np.outer(W1, W1) / (one @ W1)
        Py = P @ y
        step = (Py @ Py - np.trace(P)) / np.sum(P * P)
        new = max(t2 + step, 0.0)
        if abs(new - t2) < tol:
            return new
        t2 = new
    return t2


def random_effects_meta_mv(
    yi: Any, V: Any, method: str = "REML", test: str = "z", alpha: float = 0.05
) -> dict[str, Any]:
    """Random-effects meta-analysis with a known within-study covariance matrix.

    The model is :math:`y = \\mu 1 + u + e`, :math:`u \\sim N(0, \\tau^2 I)`,
    :math:`e \\sim N(0, V)`: one random effect per study, and sampling errors
    that may be correlated between studies (e.g. studies that share subjects).
    With a diagonal ``V`` it is the model of :func:`random_effects_meta`.

    Parameters
    ----------
    yi : array-like of shape (k,)
        Study estimates.
    V : array-like of shape (k, k) or (k,)
        Their sampling covariance matrix (a vector: variances, independent studies).
    method : {"REML", "DL"}
        Estimator of :math:`\\tau^2`; ``"DL"`` only for a diagonal ``V``.
    test : {"z", "knha", "adhoc"}
        Wald interval with normal quantiles, the Hartung-Knapp-Sidik-Jonkman
        interval (metafor ``test = "knha"``), or its modified version whose scale
        factor is at least 1 (metafor >= 4.0 ``test = "adhoc"``).
    alpha : float, default 0.05

    Returns
    -------
    dict
        ``estimate, se, low, high`` (confidence interval), ``pi_low, pi_high``
        (prediction interval for the true effect of a new study), ``tau2``,
        ``i2`` (percent), ``q`` (generalised Cochran's Q), ``q_p``, ``k``,
        ``df`` (of the t quantile; ``inf`` for ``test="z"``), ``hksj_scale``
        (the HKSJ factor :math:`s^2` as estimated, before any truncation; NaN for
        ``test="z"``), ``test``, ``method``.

    Notes
    -----
    With :math:`\\Sigma = V + \\hat\\tau^2 I`, :math:`W = \\Sigma^{-1}`:
    :math:`\\hat\\mu = 1^T W y / 1^T W 1`, :math:`SE = (1^T W 1)^{-1/2}`
    (generalised least squares). REML :math:`\\hat\\tau^2`: Fisher scoring on the
    restricted likelihood from the DerSimonian-Laird value computed on the
    diagonal of ``V``, truncated at 0 (as ``metafor::rma.mv(yi, V, random = ~ 1 |
    study, method = "REML")``, which maximises the same likelihood numerically).

    * HKSJ (``test="knha"``): :math:`s^2 = (y - \\hat\\mu 1)^T W (y - \\hat\\mu 1) /
      (k - 1)`, :math:`SE_{HK} = \\sqrt{s^2} SE`, interval
      :math:`\\hat\\mu \\pm t_{k-1,1-\\alpha/2} SE_{HK}`; :math:`s^2` is not truncated
      at 1 (as metafor). ``test="adhoc"`` uses :math:`\\max(1, s^2)` instead, so that
      the interval is never narrower than the Wald interval with t quantiles (the
      "ad hoc" modification of Knapp & Hartung 2003, recommended for few studies by
      Jackson et al. 2017). For a diagonal ``V`` this is metafor's ``test = "knha"``;
      in general it is the weighted least-squares fit of the whitened data
      :math:`\\Sigma^{-1/2} y` on :math:`\\Sigma^{-1/2} 1` with an estimated residual
      scale (R ``lm`` on the whitened data; tests).
    * Prediction interval: :math:`\\hat\\mu \\pm c \\sqrt{SE^2 + \\hat\\tau^2}` with
      the same :math:`c` and :math:`SE` as the confidence interval (``predict()``
      of metafor 3.8 for ``rma`` and ``rma.mv``).
    * :math:`Q = (y - \\hat\\mu_{FE} 1)^T V^{-1} (y - \\hat\\mu_{FE} 1)` with the GLS
      fixed-effect estimate, p from :math:`\\chi^2_{k-1}` (metafor's ``QE``).
    * :math:`I^2 = 100 \\hat\\tau^2 / (\\hat\\tau^2 + s^2)` with metafor's typical
      within-study variance :math:`s^2` computed from the diagonal of ``V``
      (:func:`random_effects_meta`); metafor reports no :math:`I^2` for ``rma.mv``,
      so for a non-diagonal ``V`` this is this package's definition.

    References
    ----------
    Hartung, J. & Knapp, G. (2001). Stat. Med. 20, 3875-3889.
    Sidik, K. & Jonkman, J. N. (2002). Stat. Med. 21, 3153-3159.
    Knapp, G. & Hartung, J. (2003). Stat. Med. 22, 2693-2710 (the ad hoc
    modification).
    Jackson, D., Law, M., Rücker, G. & Schwarzer, G. (2017). Stat. Med. 36, 3923-3934.
    Higgins, J. P. T., Thompson, S. G. & Spiegelhalter, D. J. (2009). J. R. Stat.
    Soc. A 172, 137-159 (prediction intervals).
    Kalaian, H. A. & Raudenbush, S. W. (1996). Psychol. Methods 1, 227-235
    (known within-study covariances).
    Viechtbauer, W. (2010). J. Stat. Softw. 36(3).
    """
    y = np.asarray(yi, dtype=float)
    if y.ndim != 1:
        raise ValueError("yi must be 1-d")
    k = y.size
    if k < 2:
        raise ValueError("need at least two studies")
    Vm = _as_cov(V, k)
    v = np.diag(Vm).copy()
    diagonal = np.count_nonzero(Vm - np.diag(v)) == 0
    w0 = 1.0 / v
    mu_dl = np.sum(w0 * y) / w0.sum()
    c = w0.sum() - np.sum(w0**2) / w0.sum()
    tau2_dl = max(0.0, (float(np.sum(w0 * (y - mu_dl) ** 2)) - (k - 1)) / c)
    method_u = method.upper()
    if method_u == "DL":
        if not diagonal:
            raise ValueError("DL needs a diagonal V; use REML")
        tau2 = tau2_dl
    elif method_u == "REML":
        tau2 = _tau2_reml(y, v, tau2_dl) if diagonal else _tau2_reml_mv(y, Vm, tau2_dl)
    else:
        raise ValueError("method must be 'REML' or 'DL'")
    if test not in ("z", "knha", "adhoc"):
        raise ValueError("test must be 'z', 'knha' or 'adhoc'")
    one = np.ones(k)
    Vi1 = np.linalg.solve(Vm, one)
    mu_fe = float(Vi1 @ y / (one @ Vi1))
    r_fe = y - mu_fe
    q = float(r_fe @ np.linalg.solve(Vm, r_fe))
    W1 = np.linalg.solve(Vm + tau2 * np.eye(k), one)
    sw = float(one @ W1)
    mu = float(W1 @ y / sw)
    se = float(1.0 / np.sqrt(sw))
    if test in ("knha", "adhoc"):
        r = y - mu
        scale = float(r @ np.linalg.solve(Vm + tau2 * np.eye(k), r) / (k - 1))
        se = se * np.sqrt(scale if test == "knha" else max(1.0, scale))
        df = float(k - 1)
        crit = float(stats.t.ppf(1 - alpha / 2, df))
    else:
        scale, df, crit = np.nan, np.inf, _z(alpha)
    s2 = (k - 1) * w0.sum() / (w0.sum() ** 2 - np.sum(w0**2))
    half_pi = crit * np.sqrt(se**2 + tau2)
    return {
        "estimate": mu,
        "se": float(se),
        "low": mu - crit * se,
        "high": mu + crit * se,
        "pi_low": float(mu - half_pi),
        "pi_high": float(mu + half_pi),
        "tau2": float(tau2),
        "i2": float(100.0 * tau2 / (tau2 + s2)),
        "q": q,
        "q_p": float(stats.chi2.sf(q, k - 1)),
        "k": int(k),
        "df": df,
        "hksj_scale": scale,
        "test": test,
        "method": method_u,
    }
