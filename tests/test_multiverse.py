"""Multiverse of the C4/C5 analysis choices (analysis.studies.multiverse)."""

import numpy as np
import pandas as pd
import pytest

from analysis.fitting import models
from analysis.presentation import figures, prose
from analysis.statistics import cvstats
from analysis.studies import multiverse as mv
from analysis.studies import reproduce, review

N_PERM = 60


@pytest.fixture(scope="module")
def wide(annotations):
    return mv.wide_scores(annotations.tidy, annotations.labels)


@pytest.fixture(scope="module")
def paper_rows(wide):
    w, y = wide
    return mv.run_path(w, y, mv.PAPER_PATH, n_permutations=N_PERM, seed=11, n_boot=20)


def test_grid_has_every_combination_paper_first():
    g = mv.grid()
    assert len(g) == 2 * 3 * 2 * 2 * 4 == len(set(g))
    assert g[0].is_paper and sum(p.is_paper for p in g) == 1
    assert len(mv.grid(estimator=("mle",), cv=("5-fold",))) == 2 * 2 * 4
    for bad in ("3-fold", "loo"):  # leave-one-out has no fold AUC: not a level
        with pytest.raises(ValueError):
            mv.Path(cv=bad)


def test_paper_path_features_equal_group_design(wide, group7):
    w, y = wide
    d = mv.path_features(w, y, mv.PAPER_PATH)
    np.testing.assert_array_equal(d.consensus, group7.matrix("mean"))
    np.testing.assert_array_equal(d.disagreement, group7.matrix("sd"))
    np.testing.assert_array_equal(d.y, group7.labels)
    imp = mv.path_features(w, y, mv.Path(missing="impute"))
    assert len(imp.y) == group7.n_images + len(group7.excluded)
    assert imp.n_imputed_images == len(group7.excluded)


def test_paper_path_equals_reproduce_and_review(paper_rows, group7):
    """The path with the paper's choices gives the review's numbers (same seed): the
    cvAUCs over the same repeated splits, and the permutation p-value of the same
    repeated-CV statistic whenever the sequential test runs to the maximum."""
    exp = reproduce.run_experiments(group7, repeats=mv.MV_REPEATS, seed=11, estimators=("mle",),
                                    feature_sets=["mean", "sd"], quiet=True)
    f = exp.folds
    ref = cvstats.paired_cv_difference(f[f["feature_set"] == "mean"], f[f["feature_set"] == "sd"])
    c4 = paper_rows[paper_rows["claim"] == "C4"].iloc[0]
    c5 = paper_rows[paper_rows["claim"] == "C5"].iloc[0]
    assert c4["estimate"] == pytest.approx(ref["diff"], abs=1e-12)
    assert c4["auc_consensus"] == pytest.approx(ref["auc_a"], abs=1e-12)
    assert c5["observed_statistic"] == pytest.approx(f.loc[f["feature_set"] == "sd", "auc"].mean(),
                                                     abs=1e-12)
    assert c4["conf_low"] <= c4["estimate"] <= c4["conf_high"]
    # the review's test at a fixed count (no sequential extension): the same null
    perm = review.permutation_tests(group7, exp, n_permutations=N_PERM, seed=11, sets=("sd",),
                                    n_repeats=mv.MV_REPEATS, n_seeds=0, perm_extension=1,
                                    quiet=True)
    null = perm.null["auc"].to_numpy()
    seq = cvstats.sequential_pvalue(c5["observed_statistic"], null, h=mv.MV_EXCEEDANCES,
                                    n_max=N_PERM)
    assert c5["p_value"] == pytest.approx(seq["p"]) and c5["n_permutations"] == seq["n_used"]
    if seq["n_used"] == N_PERM:
        assert c5["p_value"] == pytest.approx(perm.summary["p_value"].iloc[0])
    assert c5["n_images"] == 96 and bool(c5["is_paper"])


def test_a_clearly_null_path_stops_early(wide):
    w, y = wide
    rng = np.random.default_rng(0)
    y0 = pd.Series(rng.permutation(y.to_numpy()), index=y.index)  # labels unrelated
    rows = mv.run_path(w, y0, mv.PAPER_PATH, n_permutations=200, seed=1, n_boot=10)
    c5 = rows[rows["claim"] == "C5"].iloc[0]
    if c5["p_value"] > 0.2:  # a large p rests on about 10 / p permutations
        assert c5["n_permutations"] < 200


def test_seeded_paths_are_identical(wide):
    w, y = wide
    p = mv.Path(estimator="ridge", cv="5-fold", disagreement="mad", missing="impute")
    a = mv.run_path(w, y, p, n_permutations=20, seed=3, n_boot=5).drop(columns="seconds")
    b = mv.run_path(w, y, p, n_permutations=20, seed=3, n_boot=5).drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b)


def test_ridge_newton_equals_statsmodels_fit_regularized(group7):
    X, y = group7.matrix("sd"), group7.labels
    rng = np.random.default_rng(0)
    W = (rng.random((4, len(y))) < 0.8).astype(float)
    alphas = np.array([1e-3, 1e-2, 1e-1, 1.0])
    coef, conv = mv.fit_ridge_batch(X, np.tile(y, (4, 1)), W, alphas)
    assert conv.all()
    for i in range(4):
        tr = W[i] > 0
        ref = mv.fit_ridge_statsmodels(X[tr], y[tr], alphas[i])
        np.testing.assert_allclose(coef[i], ref, atol=2e-4)


def test_warm_started_penalty_path_reaches_the_same_optima(group7):
    # _solve_path fits the penalties from the largest down, each started from the
    # previous optimum; every fit must land where a fit from zero lands
    X, y = group7.matrix("sd"), group7.labels
    rng = np.random.default_rng(1)
    W = (rng.random((6, len(y))) < 0.8).astype(float)
    Y = np.tile(y, (6, 1)).astype(float)
    alphas = np.array(mv.RIDGE_ALPHAS)
    path = mv._solve_path(X, Y, W, alphas, "newton")
    for j, a in enumerate(alphas):
        cold, conv = mv.fit_ridge_batch(X, Y, W, np.full(6, a))
        assert conv.all()
        # Newton on a strictly concave objective stopped when the step is <= 1e-9 x
        # max(1, |b|) (fitconfig.MLE_TOL); quadratic convergence leaves ~1e-16 after that
        # step, so warm and cold starts agree far inside 1e-9 (coefficients O(1))
        np.testing.assert_allclose(path[:, j], cold, rtol=0, atol=1e-9)


def test_ridge_cv_solvers_agree_and_rows_look_like_cross_validate(group7):
    X, y = group7.matrix("sd"), group7.labels
    splits = models.stratified_splits(y, n_splits=5)
    a = mv.cross_validate_ridge(X, y, splits, solver="newton")
    b = mv.cross_validate_ridge(X, y, splits, solver="statsmodels")
    assert list(a.folds.columns[:len(models.FOLD_COLUMNS)]) == models.FOLD_COLUMNS
    np.testing.assert_array_equal(a.folds["alpha"], b.folds["alpha"])
    np.testing.assert_allclose(a.scores["score"], b.scores["score"], atol=1e-3)
    assert set(a.folds["alpha"]) <= set(mv.RIDGE_ALPHAS)


def test_spread_measures_by_hand():
    x = np.array([[0, 0, 1, 2], [1, 1, 1, 1.0]])
    np.testing.assert_allclose(mv.spread(x, x, "range"), [2, 0])
    np.testing.assert_allclose(mv.spread(x, x, "mad"), [0.5, 0])
    np.testing.assert_allclose(mv.spread(x, x, "entropy"),
                               [-(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25)), 0])
    np.testing.assert_allclose(mv.spread(x, x, "sd"), [np.std(x[0], ddof=1), 0])


def test_summaries_and_curve(paper_rows, wide):
    w, y = wide
    rows = pd.concat([paper_rows, mv.run_path(w, y, mv.Path(estimator="firth", cv="5-fold"),
                                              path_id=1, n_permutations=20, n_boot=5)],
                     ignore_index=True)
    vt = mv.verdict_table(rows)
    assert set(vt["claim"]) == {"C4", "C5"} and (vt["n_paths"] == 2).all()
    sents = prose.survival_sentences(rows)
    assert len(sents) == 2 and all(s.startswith(("C4", "C5")) for s in sents)
    fig = figures.specification_curve(rows, "C4")
    assert fig is not None


def test_rows_come_back_in_path_order_for_any_n_jobs(annotations):
    # with workers, expensive paths are run first; the frame must still be in path
    # order and identical to a one-process run
    paths = mv.grid(scaling=("zscore",), missing=("drop",), disagreement=("moments", "range"),
                    cv=("5-fold", "10-fold"), estimator=("mle", "ridge"))
    costs = [mv._path_cost(p) for p in paths]
    assert costs != sorted(costs, reverse=True)  # the workers do see another order
    kw = {"paths": paths, "n_permutations": 5, "n_boot": 5, "seed": 4, "quiet": True}
    one = mv.multiverse(annotations.tidy, annotations.labels, n_jobs=1, **kw).frame
    two = mv.multiverse(annotations.tidy, annotations.labels, n_jobs=2, **kw).frame
    pd.testing.assert_frame_equal(one.drop(columns="seconds"), two.drop(columns="seconds"))
    assert one["path_id"].tolist() == [i for i in range(len(paths)) for _ in range(2)]


def test_ridge_bootstrap_cv_counts_copies_and_keeps_them_in_one_inner_fold(group7):
    """A bootstrap-CV replicate repeats images: the ridge fit must weight the copies
    (statsmodels on the expanded rows is the reference) and choose its penalty with
    inner folds over distinct images."""
    X, y = group7.matrix("sd"), group7.labels
    bs, _ = cvstats.bootstrap_cv_splits(y, n_boot=2, n_repeats=1, n_splits=5, seed=3)
    assert any(len(np.unique(s.train)) < len(s.train) for s in bs)
    a = mv.cross_validate_ridge(X, y, bs, solver="newton")
    b = mv.cross_validate_ridge(X, y, bs, solver="statsmodels")
    np.testing.assert_array_equal(a.folds["alpha"], b.folds["alpha"])
    # BFGS (statsmodels) vs Newton optimum: agree to the optimiser's tolerance
    np.testing.assert_allclose(a.scores["score"], b.scores["score"], atol=1e-3)
    assert (a.folds["n_train"].to_numpy() == [len(s.train) for s in bs]).all()
    # the fit with copies is not the fit on the distinct images
    s = bs[0]
    w_copies = np.bincount(s.train, minlength=len(y)).astype(float)
    w_distinct = (w_copies > 0).astype(float)
    alpha = np.array([0.1])
    c1 = mv.fit_ridge_batch(X, y[None], w_copies[None], alpha)[0]
    c2 = mv.fit_ridge_batch(X, y[None], w_distinct[None], alpha)[0]
    assert np.abs(c1 - c2).max() > 1e-3
    assert a.folds["auc"].notna().all()
    # statsmodels on the replicate's rows as drawn (copies included) is the reference
    for i, s in enumerate(bs[:3]):
        ref = mv.fit_ridge_statsmodels(X[s.train], y[s.train], a.folds["alpha"].iloc[i])
        got = a.scores[(a.scores["repeat"] == s.repeat) & (a.scores["fold"] == s.fold)]
        np.testing.assert_allclose(got["score"], ref[0] + X[s.test] @ ref[1:], atol=1e-3)
