"""Results that do not hang on the last bit (issue 11).

Ties between scores are defined at ``inference.TIE_RTOL`` (1e-9) of the score vector's
scale, and the permutation count "null >= observed" at the same relative tolerance.
These tests perturb scores and designs by a few units in the last place (ulps), as a
BLAS kernel that sums in another order does, and require identical AUCs, p-values and
fold tables; and they keep the scikit-learn check on data without near-ties.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analysis.fitting import engine, models
from analysis.statistics import inference as inf

EPS = np.finfo(float).eps


def ulp_jitter(a, seed, k=4):
    """``a`` with every entry multiplied by ``1 + j eps``, ``j`` random in [-k, k]
    (a few ulps; zero entries stay zero)."""
    rng = np.random.default_rng(seed)
    return np.asarray(a, dtype=float) * (1.0 + rng.integers(-k, k + 1, np.shape(a)) * EPS)


def ordinal_design(seed=0, n=96, n_pos=18, p=3):
    """Few-valued features like group 7's ratings (integers 1..5, z-scored): many images
    share a feature row, so their linear predictors are equal in exact arithmetic."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, n_pos, replace=False)] = 1
    X = rng.integers(1, 4, (n, p)) + (rng.random((n, p)) < 0.3 * y[:, None])
    X = X.astype(float)
    X = (X - X.mean(0)) / X.std(0)
    return X, y


# ----------------------------------------------------------------- the rule


def test_tie_codes_rule():
    s = np.array([0.3, 1.0, 0.3 * (1 + 2 * EPS), -2.0, 1.0 + 1e-10, 0.7])
    c = inf.tie_codes(s)
    # 0.3 and its 2-ulp neighbour tie; 1.0 and 1.0 + 1e-10 tie (1e-10 <= 1e-9 * 2)
    np.testing.assert_array_equal(c, [1, 3, 1, 0, 3, 2])
    # gaps above the tolerance separate; the tolerance scales with max |s|
    np.testing.assert_array_equal(inf.tie_codes([1.0, 1.0 + 1e-8]), [0, 1])
    np.testing.assert_array_equal(inf.tie_codes(np.array([1.0, 1.0 + 1e-8]) * 1e-30), [0, 1])
    np.testing.assert_array_equal(inf.tie_codes([1e-30, 2e-30, 1.0]), [0, 0, 1])
    # rows are coded on their own; masked entries do not set the scale
    c2 = inf.tie_codes([[1.0, 1.0 + 1e-12, 5.0], [1.0, 1.0 + 1e-8, 1e6]],
                       valid=[[True, True, True], [True, True, False]])
    assert c2[0, 0] == c2[0, 1] and c2[1, 0] != c2[1, 1]


def test_auc_near_tie_is_a_tie_and_sklearn_agrees_without_near_ties():
    y = np.array([0, 1, 0, 1])
    exact = np.array([0.2, 0.5, 0.5, 0.9])
    near = np.array([0.2, 0.5, 0.5 * (1 + EPS), 0.9])
    assert inf.auc(y, exact) == inf.auc(y, near) == roc_auc_score(y, exact) == 0.875
    assert engine.auc_batch(near[None], y)[0] == 0.875
    # scikit-learn (exact comparisons) on data without near-ties: continuous and
    # few-valued scores, equal to 1e-12 (both are exact ratios of integer counts)
    rng = np.random.default_rng(4)
    for i in range(30):
        yy = rng.integers(0, 2, 40)
        yy[:2] = [0, 1]
        s = rng.normal(size=40) if i % 2 else rng.integers(0, 5, 40) / 7.0
        ref = roc_auc_score(yy, s)
        assert abs(inf.auc(yy, s) - ref) < 1e-12
        assert abs(engine.auc_batch(s[None], yy)[0] - ref) < 1e-12
        assert abs(inf.delong_ci(yy, s)["auc"] - ref) < 1e-12


def test_rank_statistics_do_not_move_when_scores_move_by_ulps():
    rng = np.random.default_rng(7)
    y = (np.arange(96) < 18).astype(int)
    s = rng.integers(0, 6, 96) * 0.37 - 0.9  # few-valued: many exact ties
    for seed in range(5):
        t = ulp_jitter(s, seed)
        assert not np.array_equal(s, t)
        assert inf.auc(y, t) == inf.auc(y, s)
        assert engine.auc_batch(t[None], y)[0] == engine.auc_batch(s[None], y)[0]
        assert inf.delong_ci(y, t) == inf.delong_ci(y, s)
        assert inf.delong_paired(y, t, -t) == inf.delong_paired(y, s, -s)
        pd.testing.assert_frame_equal(inf.bootstrap_auc_ci(y, t, n_boot=200, rng=1),
                                      inf.bootstrap_auc_ci(y, s, n_boot=200, rng=1))
        assert inf.mann_whitney(t[y == 1], t[y == 0]) == inf.mann_whitney(s[y == 1], s[y == 0])


def test_permutation_count_has_a_stated_tolerance():
    obs = 0.1 + 0.2  # 0.30000000000000004
    null = np.array([0.3, 0.1, 0.25, 0.3 * (1 - 3 * EPS), 0.9])
    # the two nulls equal to the observed value up to rounding count as >= it
    assert inf.permutation_pvalue(obs, null) == pytest.approx(4 / 6)
    assert inf.permutation_pvalue(obs, null, "less") == pytest.approx(5 / 6)
    # a real difference (1e-6, a thousand times the tolerance) is not a tie
    assert inf.permutation_pvalue(obs, np.array([obs - 1e-6])) == 1 / 2
    # scale-free: the same statistic in other units gives the same p-value
    assert inf.permutation_pvalue(obs * 1e-20, null * 1e-20) == pytest.approx(4 / 6)


# ----------------------------------------------------------------- through the fits


@pytest.mark.parametrize("estimator", models.ESTIMATORS)
def test_fold_tables_and_p_values_do_not_move_when_the_design_moves_by_ulps(estimator):
    """Cross-validation of a few-valued design through the batched engine (the
    report's path) and the reference: perturbing every design entry by a few ulps
    gives the same fold table (AUC, separated, converged, n_iter), the same pooled
    AUC, DeLong interval and permutation p-value. Before the tie rule the fold AUCs
    moved by a tie step (1/(2 n_pos n_neg))."""
    X, y = ordinal_design()
    splits = models.stratified_splits(y, n_repeats=2)
    perms = inf.stratified_permutations(y, 20, 3)
    psplits = [models.Split(p, s.fold, s.train, s.test)
               for p in range(20) for s in models.stratified_splits(perms[p], seed=p)]
    plabels = np.repeat(perms, 10, axis=0)
    cols = ["repeat", "fold", "n_train", "n_test", "n_pos_test", "auc", "separated",
            "converged", "n_iter"]

    def run(Xr, eng):
        cv = models.cross_validate(Xr, y, splits, estimator=estimator, engine=eng)
        null = models.cross_validate(Xr, y, psplits, estimator=estimator, engine="batched",
                                     labels=plabels)
        stat = null.folds.groupby("repeat")["auc"].mean().to_numpy()
        obs = cv.folds.loc[cv.folds["repeat"] == 0, "auc"].mean()
        pooled = cv.scores[cv.scores["repeat"] == 0].sort_values("row")
        return (cv.folds[cols], stat, inf.permutation_pvalue(obs, stat),
                inf.delong_ci(pooled["y"], pooled["score"]))

    base = run(X, "batched")
    ref = run(X, "reference")
    pd.testing.assert_frame_equal(base[0], ref[0])  # engine == reference
    for seed in range(3):
        Xj = ulp_jitter(X, seed)
        assert not np.array_equal(Xj, X)
        got = run(Xj, "batched")
        pd.testing.assert_frame_equal(got[0], base[0])
        np.testing.assert_array_equal(got[1], base[1])
        assert got[2] == base[2]
        assert got[3] == base[3]
