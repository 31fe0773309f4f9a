"""Memory properties of the rank statistics and the engine at large n (issue 15, item 2).

Each test runs a function on n = 20 000 units under ``tracemalloc`` (NumPy reports its
array allocations to it) and checks that the peak stays far below what one n x n (or
n_pos x n_neg, or N x k^2) array would take; and that the large-n path gives the same
result as the small-n path where both can run. Bounds, not timings: they do not depend
on the machine's load.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from analysis.fitting import engine, models
from analysis.statistics import coefficients, cvstats, inference

N = 20_000
MiB = 2**20


def _peak(fn, *args, **kw):
    tracemalloc.start()
    try:
        out = fn(*args, **kw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


def test_auc_batch_large_test_set_is_linear_in_memory():
    rng = np.random.default_rng(1)
    s = np.round(rng.normal(size=(2, N)), 2)  # many ties
    y = rng.random((2, N)) < 0.3
    auc, peak = _peak(engine.auc_batch, s, y)
    # pairwise: 3 * N^2 bytes = 1.2 GB per row; linear: a few (2, N) arrays
    assert peak < 16 * MiB
    for r in range(2):  # the midrank AUC of the same scores (exact half-integers)
        assert auc[r] == inference.auc(y[r], s[r])


def test_auc_batch_paths_agree_with_ties_and_masks(monkeypatch):
    rng = np.random.default_rng(2)
    s = rng.integers(0, 6, (40, 90)).astype(float)
    y = rng.integers(0, 2, (40, 90))
    mask = rng.random((40, 90)) < 0.8
    monkeypatch.setattr(engine, "_PAIRWISE_MAX_M", 10**9)
    pairwise = engine.auc_batch(s, y, mask)
    monkeypatch.setattr(engine, "_PAIRWISE_MAX_M", 0)
    counted = engine.auc_batch(s, y, mask)
    np.testing.assert_array_equal(pairwise, counted)  # exact integer counts both ways


def test_mann_whitney_large_groups_is_linear_in_memory():
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 50, N // 2).astype(float), rng.integers(0, 50, N // 2).astype(float)
    res, peak = _peak(inference.mann_whitney, a, b)
    assert peak < 16 * MiB  # the pairwise difference matrix was 800 MB
    assert res["cles"] == pytest.approx(res["auc"], abs=1e-12)


def test_mann_whitney_cles_equals_pairwise_count():
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 5, 23).astype(float), rng.integers(0, 5, 61).astype(float)
    d = a[:, None] - b[None, :]
    pairwise = float(np.mean(d > 0) + 0.5 * np.mean(d == 0))
    assert inference.mann_whitney(a, b)["cles"] == pairwise  # bit for bit


def test_fold_spread_reference_large_folds_is_linear_in_memory():
    counts = (np.array([N // 4]), np.array([3 * N // 4]))
    sims, peak = _peak(cvstats._binormal_fold_aucs, 0.7, *counts, 4, np.random.default_rng(5))
    # pairwise: n_sim x n_pos x n_neg = 4 * 7.5e7 bytes; sorted: a few (4, N) arrays
    assert peak < 16 * MiB
    assert np.all(np.abs(sims - 0.7) < 0.03)


def test_greater_pairs_equals_pairwise_count():
    rng = np.random.default_rng(6)
    pos, neg = rng.normal(size=(30, 70)) + 0.4, rng.normal(size=(30, 90))
    pos[0, :5] = neg[0, :5]  # ties count 0, as in the strict comparison
    expected = (pos[:, :, None] > neg[:, None, :]).sum(axis=(1, 2))
    np.testing.assert_array_equal(cvstats._greater_pairs(pos, neg), expected)


def test_pooled_fit_without_pair_products_matches_and_stays_small(monkeypatch):
    rng = np.random.default_rng(7)
    p = 40  # k = 41: the pair-product matrix would be N * 41^2 * 8 = 269 MB
    X = rng.normal(size=(N, p))
    y = (X[:, 0] + rng.normal(size=N) > 1.0).astype(int)
    splits = [(s.train, s.test) for s in models.stratified_splits(y, n_splits=10, n_repeats=1,
                                                                  seed=1)][:2]
    res, peak = _peak(engine.cross_validate_batch, X, y, splits, memo=False)
    assert peak < 200 * MiB
    assert np.all(res["auc"] > 0.7)
    # the shared path gives the pooled path's fit where both run (a small pool)
    Xs, ys = X[:300, :8], y[:300]
    sm = [(s.train, s.test) for s in models.stratified_splits(ys, n_splits=5, n_repeats=1,
                                                              seed=2)]
    pooled = engine.cross_validate_batch(Xs, ys, sm, estimator="firth", memo=False)
    monkeypatch.setattr(engine, "_POOLED_O_BYTES", 0)
    shared = engine.cross_validate_batch(Xs, ys, sm, estimator="firth", memo=False)
    # the same products summed in another order: equal to rounding (1e-12 on O(1) coefficients)
    np.testing.assert_allclose(shared["coef"], pooled["coef"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(shared["auc"], pooled["auc"])


def test_hat_diagonal_from_the_cholesky_factor_at_large_n():
    """The hat diagonal of the fitted models' Firth fits (one triangular solve with the
    Cholesky factor of X'WX) equals the explicit formula at 6000 rows."""
    rng = np.random.default_rng(8)
    X1 = np.column_stack([np.ones(6000), rng.normal(size=(6000, 6))])
    y = (rng.uniform(size=6000) < 0.3).astype(float)
    pt = coefficients._FirthPoint(X1, y, np.zeros(7))
    inv = np.linalg.inv(X1.T @ X1)
    np.testing.assert_allclose(pt.hat(), np.einsum("ij,jk,ik->i", X1, inv, X1), rtol=1e-12)


def test_bootstrap_index_chunks_are_bootstrap_indices():
    rng = np.random.default_rng(9)
    strata = rng.permutation(np.r_[np.zeros(37, int), np.ones(13, int), np.full(20, 2)])
    for st in (None, strata):
        for rows in (1, 3, 7, 23, 100):  # blocks of 1 row .. all rows at once
            g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
            full = inference.bootstrap_indices(70, 23, g1, st)
            blocks = list(inference.bootstrap_index_chunks(70, 23, g2, st, max_bytes=8 * 70 * rows))
            assert max(len(b) for b in blocks) == min(rows, 23)
            np.testing.assert_array_equal(np.concatenate(blocks), full)
            assert g1.integers(2**62) == g2.integers(2**62)  # the generator ends in step


def test_calibration_bootstrap_is_bounded_in_memory(monkeypatch):
    from analysis.statistics import calibration

    rng = np.random.default_rng(10)
    y = (rng.random(N) < 0.3).astype(float)
    p = 1 / (1 + np.exp(-(rng.normal(size=N) + 2 * y - 1.5)))
    monkeypatch.setattr(inference, "BOOT_CHUNK_BYTES", 1 * MiB)
    out, peak = _peak(calibration.calibration, y, p, n_boot=200, rng=1)
    assert peak < 12 * MiB  # all indices at once: 200 x N x 8 bytes = 32 MB
    monkeypatch.setattr(inference, "BOOT_CHUNK_BYTES", 2**40)  # one block: the same numbers
    whole = calibration.calibration(y, p, n_boot=200, rng=1)
    pd.testing.assert_frame_equal(out, whole)


def test_permutation_null_in_blocks_is_the_one_call_null(monkeypatch):
    """permutation_null cross-validates its splits a block at a time; every block size
    (down to one engine chunk) gives exactly the null of one call over all the splits
    of permutation_splits."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(96, 4))
    y = (rng.random(96) < 0.2).astype(int)
    splits, labels = cvstats.permutation_splits(y.astype(np.int64).tobytes(), 20, 7, 10, 3)
    for est in ("mle", "firth"):
        res = models.cross_validate(X, y, list(splits), estimator=est, labels=labels)
        ref = cvstats.repeated_cv_statistic(res.folds), float(res.folds["separated"].mean())
        for block_bytes in (1, 2**40):  # blocks of one engine chunk (512 splits), one block
            monkeypatch.setattr(cvstats, "PERM_BLOCK_BYTES", block_bytes)
            null, sep = cvstats.permutation_null(X, y, n_permutations=20, seed=7, n_splits=10,
                                                 n_repeats=3, estimator=est)
            np.testing.assert_array_equal(null, ref[0])
            assert sep == ref[1]
