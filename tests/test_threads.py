"""The numerical results under one and under two BLAS threads (issue 11).

A BLAS that splits its sums across threads, or another kernel, rounds differently. CI
runs on one machine, so this module recomputes key results of the engine, the
reference fits, the inference functions and the review under
``threadpool_limits(1)`` and ``threadpool_limits(2)`` (threadpoolctl; the OpenBLAS
environment variables are left alone) and requires the same verdicts: the same
convergence and separation flags, iteration counts, AUCs, p-values and claims, and
coefficients equal to 1e-8 (raw floats need not be bit-identical).

The engine's ``parallel_map`` runs every chunk with one BLAS thread; the engine is
therefore called directly here (``fit_logistic_pooled``), on batches large enough
(hundreds of models) that OpenBLAS does use both threads for its products.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import needs_data
from threadpoolctl import threadpool_limits

from analysis.fitting import engine, models
from analysis.statistics import inference as inf

TOL = dict(rtol=1e-8, atol=1e-8)  # iterative fits: >= 1e-9 relative (see fitconfig)


def under(n_threads, func):
    with threadpool_limits(limits=n_threads, user_api="blas"):
        return func()


def synthetic(p, signal, seed, n=96, n_pos=18, few_valued=False):
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, n_pos, replace=False)] = 1
    X = rng.integers(0, 4, (n, p)).astype(float) if few_valued else rng.standard_normal((n, p))
    X[:, : min(p, 3)] += signal * y[:, None]
    return (X - X.mean(0)) / X.std(0), y


def pooled_cv(X, y, splits, estimator):
    W = np.zeros((len(splits), len(y)))
    for i, s in enumerate(splits):
        W[i, s.train] = 1.0
    fit = engine.fit_logistic_pooled(X, y, W, estimator=estimator)
    m = max(len(s.test) for s in splits)
    te = np.zeros((len(splits), m), dtype=int)
    mask = np.zeros((len(splits), m), dtype=bool)
    for i, s in enumerate(splits):
        te[i, : len(s.test)] = s.test
        mask[i, : len(s.test)] = True
    scores = engine.linear_predictor_batch(fit.coef, X[te])
    return fit, engine.auc_batch(np.where(mask, scores, np.nan), y[te], mask)


@pytest.mark.parametrize("estimator", models.ESTIMATORS)
@pytest.mark.parametrize("case", [(6, 3.0, 4, False), (12, 0.0, 7, False), (8, 0.8, 2, True)])
def test_engine_same_verdicts_under_one_and_two_threads(estimator, case):
    p, signal, seed, few = case
    X, y = synthetic(p, signal, seed, few_valued=few)
    # 100-200 models: products of (B, 96) by (96, (p+1)^2), which OpenBLAS threads
    splits = models.stratified_splits(y, n_repeats=20 if p < 12 else 10, seed=seed)
    (f1, a1), (f2, a2) = (under(n, lambda: pooled_cv(X, y, splits, estimator)) for n in (1, 2))
    np.testing.assert_array_equal(f1.converged, f2.converged)
    np.testing.assert_array_equal(f1.separated, f2.separated)
    np.testing.assert_array_equal(f1.n_iter, f2.n_iter)
    np.testing.assert_array_equal(a1, a2)  # AUCs: identical after the tie rule
    if estimator == "firth":
        assert f1.converged.all()
    ok = f1.converged  # diverging (separated) MLE iterates are compared by their flags
    np.testing.assert_allclose(f1.coef[ok], f2.coef[ok], **TOL)


@pytest.mark.parametrize("estimator", models.ESTIMATORS)
def test_reference_same_fold_table_under_one_and_two_threads(estimator):
    X, y = synthetic(6, 1.0, 9, few_valued=True)
    splits = models.stratified_splits(y, n_repeats=1)

    def run():
        return models.cross_validate(X, y, splits, estimator=estimator, engine="reference")

    r1, r2 = under(1, run), under(2, run)
    pd.testing.assert_frame_equal(r1.folds, r2.folds)
    np.testing.assert_allclose(r1.scores["score"], r2.scores["score"], **TOL)


def test_inference_same_under_one_and_two_threads():
    X, y = synthetic(4, 0.5, 3, few_valued=True)
    s = X @ np.array([0.5, -0.25, 1.0, 0.125])

    def run():
        null = np.array([inf.auc(yp, s) for yp in inf.stratified_permutations(y, 200, 1)])
        return (inf.auc(y, s), inf.delong_ci(y, s), inf.delong_paired(y, s, X[:, 0]),
                inf.bootstrap_auc_ci(y, s, n_boot=200, rng=2),
                inf.permutation_pvalue(inf.auc(y, s), null),
                inf.mann_whitney(s[y == 1], s[y == 0]))

    a, b = under(1, run), under(2, run)
    assert a[:3] == b[:3] and a[4:] == b[4:]
    pd.testing.assert_frame_equal(a[3], b[3])


@needs_data
def test_review_same_claims_under_one_and_two_threads(group7):
    from analysis.presentation import claims
    from analysis.studies import review

    def run():
        rv = review.review(group7, repeats=1, n_boot=20, n_permutations=19, perm_repeats=1,
                           n_seeds=0, calibration_boot=50, quiet=True)
        return claims.claims_table(rv), rv.permutation.summary, rv.exp.folds

    (c1, p1, f1), (c2, p2, f2) = under(1, run), under(2, run)
    pd.testing.assert_frame_equal(c1, c2)
    pd.testing.assert_frame_equal(p1, p2, check_exact=False, rtol=1e-9)
    cols = ["feature_set", "estimator", "repeat", "fold", "auc", "separated", "converged",
            "n_iter"]
    pd.testing.assert_frame_equal(f1[cols], f2[cols])
