import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from analysis.base import fitconfig
from analysis.fitting import models

R = FIXTURES / "r"


def test_mle_equals_r_glm():
    """statsmodels path vs R glm(family = binomial) on a fixture (tests/fixtures/r/make_glm.R)."""
    d = pd.read_csv(R / "glm_input.csv")
    ref = pd.read_csv(R / "glm_coefficients.csv")
    fitted = pd.read_csv(R / "glm_fitted.csv")
    X = d[["x1", "x2", "x3"]].to_numpy()
    fit = models.fit_logistic(X, d["y"].to_numpy(), "mle")
    assert fit.converged and not fit.separated
    # iterative fits on two systems (R's IRLS stops at a relative deviance change of
    # 1e-8, i.e. coefficients to ~1e-8): 1e-7 relative, 1e-9 absolute near zero
    np.testing.assert_allclose(fit.coef, ref["estimate"], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fit.linear_predictor(X), fitted["linear_predictor"], rtol=1e-7,
                               atol=1e-9)


@pytest.mark.parametrize("a,b,c,d", [(7, 3, 4, 9), (0, 6, 5, 8), (5, 0, 2, 9), (12, 1, 1, 12)])
def test_firth_equals_closed_form_on_a_two_by_two_table(a, b, c, d):
    """With one binary covariate and an intercept (a saturated model), Firth's estimate
    of the log odds ratio is that of the table with 1/2 added to every cell. Tolerance:
    firthmodels stops when the Newton step is below FIRTH_XTOL (1e-6) and returns the
    iterate before that step, so agreement is to about that step size."""
    x = np.r_[np.ones(a + b), np.zeros(c + d)][:, None]
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    fit = models.fit_logistic(x, y, "firth")
    assert fit.converged
    assert fit.coef[1] == pytest.approx(np.log((a + .5) * (d + .5) / ((b + .5) * (c + .5))), abs=fitconfig.FIRTH_XTOL)
    assert fit.coef[0] == pytest.approx(np.log((c + .5) / (d + .5)), abs=fitconfig.FIRTH_XTOL)
    # a zero cell separates the data: plain MLE diverges and is flagged
    assert fit.separated == (min(a, b, c, d) == 0)


def test_separated_data_are_flagged_for_both_estimators():
    x = np.linspace(-2, 2, 20)[:, None]
    y = (x[:, 0] > 0).astype(int)
    mle = models.fit_logistic(x, y, "mle")
    firth = models.fit_logistic(x, y, "firth")
    assert mle.separated and firth.separated
    assert not mle.converged and firth.converged
    assert np.isfinite(firth.coef).all()
    assert mle.glance()["n_warnings"] == len(mle.warnings)


def test_splits_are_stratified_deterministic_and_independent_of_repeat_count():
    y = np.r_[np.ones(18), np.zeros(78)].astype(int)
    a = models.stratified_splits(y, n_repeats=3, seed=7)
    b = models.stratified_splits(y, n_repeats=5, seed=7)
    assert len(a) == 30
    for s, t in zip(a, b[:30], strict=True):
        assert (s.repeat, s.fold) == (t.repeat, t.fold)
        np.testing.assert_array_equal(s.test, t.test)
    for r in range(3):
        tests = np.concatenate([s.test for s in a if s.repeat == r])
        np.testing.assert_array_equal(np.sort(tests), np.arange(96))
        assert {int(y[s.test].sum()) for s in a if s.repeat == r} <= {1, 2}
    assert not np.array_equal(a[0].test, a[10].test)  # repeats differ
    c = models.stratified_splits(y, n_repeats=1, seed=8)
    assert not np.array_equal(a[0].test, c[0].test)  # seeds differ


def test_too_few_positives_to_stratify_is_an_error():
    with pytest.raises(ValueError, match="rarer class has 3"):
        models.stratified_splits(np.r_[np.ones(3), np.zeros(20)].astype(int), n_splits=10)


def test_bad_input_is_rejected():
    X = np.zeros((10, 2))
    X[0, 0] = np.nan
    y = np.r_[np.ones(5), np.zeros(5)]
    with pytest.raises(ValueError, match="missing or infinite"):
        models.cross_validate(X, y, [], estimator="mle")
    with pytest.raises(ValueError, match="estimator"):
        models.cross_validate(np.zeros((10, 2)), y, [], estimator="ridge")


@pytest.mark.parametrize("estimator", models.ESTIMATORS)
def test_fold_auc_equals_sklearn_on_the_same_predictions(group7, estimator):
    y = group7.labels
    splits = models.stratified_splits(y, n_repeats=2)
    res = models.cross_validate(group7.matrix("border"), y, splits, estimator=estimator,
                                engine="reference")
    assert len(res.folds) == 20
    for row in res.folds.itertuples():
        sc = res.scores[(res.scores["repeat"] == row.repeat) & (res.scores["fold"] == row.fold)]
        assert len(sc) == row.n_test and sc["y"].sum() == row.n_pos_test
        # the same scores, no near-ties: both are ratios of integer pair counts (1 ulp)
        assert row.auc == pytest.approx(roc_auc_score(sc["y"], sc["score"]), abs=1e-12)
        assert row.n_train + row.n_test == 96


def test_separation_flag_agrees_with_the_exact_linear_programming_check(group7):
    """The divergence rule used for `separated` against firthmodels' LP test of
    (quasi-)complete separation, on every feature set of the paper (experiments 1
    and 2), canonical split and one more repeat. (On the review's mean+sd set,
    statsmodels' Newton can fail to converge on nearly separated data whose MLE
    exists; such folds are flagged too: the plain MLE was not obtained.)"""
    from firthmodels import detect_separation

    y = group7.labels
    splits = models.stratified_splits(y, n_repeats=2)
    disagree = []
    n = 0
    for fs in group7.sets.loc[group7.sets["experiment"] <= 2, "feature_set"]:
        X = group7.matrix(fs)
        for s in splits:
            flag = models.fit_logistic(X[s.train], y[s.train], "mle").separated
            exact = detect_separation(X[s.train], y[s.train]).separation
            n += 1
            if flag != exact:
                disagree.append((fs, s.fold, flag, exact))
    assert n == 20 * 17
    assert disagree == []


@given(data=st.data())
def test_fold_numbers_equal_scikit_learn_stratified_kfold(data):
    # the reference: scikit-learn's StratifiedKFold(shuffle=True), split for split
    n_splits = data.draw(st.integers(2, 10), label="n_splits")
    n0 = data.draw(st.integers(n_splits, 60), label="n0")
    n1 = data.draw(st.integers(n_splits, 60), label="n1")
    order = data.draw(st.permutations(range(n0 + n1)), label="order")
    state = data.draw(st.integers(0, 2**32 - 1), label="state")
    y = np.zeros(n0 + n1, dtype=int)
    y[np.array(order[:n1])] = 1
    fold = models.stratified_fold_numbers(y, n_splits, state)
    ref = StratifiedKFold(n_splits, shuffle=True, random_state=state).split(np.zeros(len(y)), y)
    for k, (train, test) in enumerate(ref):
        np.testing.assert_array_equal(np.flatnonzero(fold == k), test)
        np.testing.assert_array_equal(np.flatnonzero(fold != k), train)


def test_fold_numbers_follow_order_of_first_appearance():
    # the class that appears first draws its shuffle first: swapping the label
    # values (0 <-> 1) must give the same folds
    y = np.array([1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(models.stratified_fold_numbers(y, 3, 7),
                                  models.stratified_fold_numbers(1 - y, 3, 7))
    ref = StratifiedKFold(3, shuffle=True, random_state=7).split(np.zeros(12), 1 - y)
    for k, (_, test) in enumerate(ref):
        np.testing.assert_array_equal(np.flatnonzero(models.stratified_fold_numbers(y, 3, 7) == k),
                                      test)
