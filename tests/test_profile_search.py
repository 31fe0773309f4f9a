"""The fast profile-interval search (analysis.statistics.coefficients) against the frozen reference
search (tests/reference_profile.py, the code before the warm-started search) and against
the profile equation itself.

Tolerances: both searches find a root of the same equation in the same bracket, the
reference by Brent's method to 1e-9, the fast one by Newton's method to 1e-10; the
constrained fits behind each point converge to a modified score below 1e-6 (Firth) or a
step below 1e-10 (MLE), which moves the statistic by about 1e-11. Bounds therefore agree
to a few 1e-9; asserted at 1e-6, the tolerance of the R fixtures
(tests/test_coefficients.py).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import stats

from analysis.statistics import coefficients as C
from tests import reference_profile as R
from tests.conftest import needs_data

CRIT = stats.chi2.ppf(0.95, 1)


def _design(seed: int, n: int, k: int, shift: float = -0.8):
    """A random logistic design: n rows, k predictors (some skewed, some correlated)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    X[:, 0] = rng.exponential(size=n) - 1.0  # a skewed column, as disagreement moments are
    if k > 2:
        X[:, 2] += 0.6 * X[:, 1]
    eta = shift + X @ np.linspace(0.8, -0.5, k)
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return np.column_stack([np.ones(n), X]), y


CASES = [(1, 60, 2), (2, 90, 4), (3, 150, 6), (4, 45, 3), (5, 200, 8)]


@pytest.mark.parametrize("seed,n,k", CASES)
def test_mle_profile_equals_the_reference_search(seed, n, k):
    X1, y = _design(seed, n, k)
    res = C.fit_glm(_frame(X1, y), [f"x{i}" for i in range(k)])
    beta, se = np.asarray(res.params), np.asarray(res.bse)
    new = C.profile_ci_mle(X1, y, beta, se)
    old = R.profile_ci_mle(X1, y, beta, se)
    np.testing.assert_array_equal(np.isfinite(new), np.isfinite(old))
    np.testing.assert_allclose(new, old, atol=1e-6, rtol=0)


@pytest.mark.parametrize("seed,n,k", CASES)
def test_firth_profile_equals_the_reference_search(seed, n, k):
    X1, y = _design(seed, n, k)
    beta, se, ll, conv, _ = C.fit_firth(X1, y)
    assert conv
    new = C.profile_ci_firth(X1, y, beta, se, ll)
    old = R.profile_ci_firth(X1, y, beta, se, ll)
    np.testing.assert_array_equal(np.isnan(new), np.isnan(old))
    np.testing.assert_allclose(new, old, atol=1e-6, rtol=0)
    # fits outside the fast search keep the reference's arithmetic: the same bits
    np.testing.assert_array_equal(C.firth_plr_pvalues(X1, y, beta, ll)[0],
                                  R.firth_plr_pvalues(X1, y, beta, ll)[0])
    for start in (None, beta, beta + se):
        for got, want in zip(C.firth_constrained(X1, y, {1: beta[1] + se[1]}, start=start),
                             R.firth_constrained(X1, y, {1: beta[1] + se[1]}, start=start),
                             strict=True):
            np.testing.assert_array_equal(got, want)


def _frame(X1, y):
    import pandas as pd

    f = pd.DataFrame(X1[:, 1:], columns=[f"x{i}" for i in range(X1.shape[1] - 1)])
    f.insert(0, C.RESPONSE, y)
    return f


@pytest.mark.parametrize("seed,n,k", CASES[:3])
def test_bounds_solve_the_profile_equation(seed, n, k):
    """At each bound the constrained fit holds b_j at the bound, its free scores are ~0,
    and the statistic equals the critical value."""
    X1, y = _design(seed, n, k)
    beta, se, ll_full, _, _ = C.fit_firth(X1, y)
    ci = C.profile_ci_firth(X1, y, beta, se, ll_full)
    for j in range(k + 1):
        for b in ci[j]:
            coef, here, conv = C._firth_fit(X1, y, {j: b}, beta, None, None)
            assert conv and coef[j] == b
            free = np.delete(np.arange(k + 1), j)
            assert np.max(np.abs(here.score()[free])) < 1e-6
            assert 2 * (ll_full - here.ll) == pytest.approx(CRIT, abs=1e-6)
    res = C.fit_glm(_frame(X1, y), [f"x{i}" for i in range(k)])
    bm, sm = np.asarray(res.params), np.asarray(res.bse)
    ll_hat = C._loglik(X1, y, bm)
    ci = C.profile_ci_mle(X1, y, bm, sm)
    for j in range(k + 1):
        free = np.delete(np.arange(k + 1), j)
        for b in ci[j]:
            _, ll, conv = C._fit_offset_mle(X1[:, free], y, b * X1[:, j], bm[free])
            assert conv
            assert 2 * (ll_hat - ll) == pytest.approx(CRIT, abs=1e-6)


def test_profile_derivative_is_the_score_of_the_fixed_coefficient():
    """The derivative the Newton search uses (envelope theorem) against a central
    difference of the profile statistic."""
    X1, y = _design(2, 90, 4)
    beta, se, ll_full, _, _ = C.fit_firth(X1, y)
    res = C.fit_glm(_frame(X1, y), [f"x{i}" for i in range(4)])
    bm, sm = np.asarray(res.params), np.asarray(res.bse)
    for j in (0, 2):
        firth, _ = C._firth_point(X1, y, j, beta, ll_full, CRIT)
        mle = C._mle_point(X1, y, j, bm, C._loglik(X1, y, bm))
        for point, b0, s in ((firth, beta[j], se[j]), (mle, bm[j], sm[j])):
            b, h = b0 + 1.5 * s, 1e-5 * s
            _, d = point(b)
            fd = (point(b + h)[0] - point(b - h)[0]) / (2 * h)
            assert d == pytest.approx(fd, rel=1e-5)


def test_fallback_to_the_reference_search_gives_the_same_bounds(monkeypatch):
    """With the fast search made to give up on every bound, each bound comes from the
    reference search (the same code as the frozen reference, on the new fits)."""
    X1, y = _design(3, 150, 6)
    beta, se, ll, _, _ = C.fit_firth(X1, y)
    fast = C.profile_ci_firth(X1, y, beta, se, ll)
    monkeypatch.setattr(C, "PROFILE_ROOT_MAX_ITER", 0)
    calls = []
    ref_search = C._profile_bounds
    monkeypatch.setattr(C, "_profile_bounds", lambda *a, **k: calls.append(1) or ref_search(*a, **k))
    slow = C.profile_ci_firth(X1, y, beta, se, ll)
    assert len(calls) == len(beta)  # every coefficient, both sides at once
    # the reference search in the reference's arithmetic: the frozen reference's bits
    np.testing.assert_array_equal(slow, R.profile_ci_firth(X1, y, beta, se, ll))
    np.testing.assert_allclose(slow, fast, atol=1e-6)
    # the same for plain MLE (whose fallback is per bound)
    res = C.fit_glm(_frame(X1, y), [f"x{i}" for i in range(6)])
    bm, sm = np.asarray(res.params), np.asarray(res.bse)
    np.testing.assert_array_equal(C.profile_ci_mle(X1, y, bm, sm), R.profile_ci_mle(X1, y, bm, sm))


def test_a_restart_at_another_maximum_hands_the_model_to_the_reference(monkeypatch):
    """A restart that converges to another maximum (here: made to look so) sends every
    bound of the model to the reference search."""
    X1, y = _design(2, 90, 4)
    beta, se, ll, _, _ = C.fit_firth(X1, y)
    calls = []
    ref_search = C._profile_bounds
    monkeypatch.setattr(C, "_profile_bounds", lambda *a, **k: calls.append(1) or ref_search(*a, **k))
    C.profile_ci_firth(X1, y, beta, se, ll)
    assert calls == []  # one maximum everywhere: the fast search throughout

    fit, seen = C._firth_fit, []

    def shifted(X1_, y_, fixed, start, gtol, xtol, point=C._FirthPoint):
        coef, here, conv = fit(X1_, y_, fixed, start, gtol, xtol, point)
        restart = sys._getframe(1).f_code.co_name == "_firth_bounds"  # not a profile point
        if point is C._FirthPoint and not seen and restart:
            seen.append(1)
            here.ll += 1.0  # as if it had climbed a maximum 1 higher
        return coef, here, conv

    monkeypatch.setattr(C, "_firth_fit", shifted)
    out = C.profile_ci_firth(X1, y, beta, se, ll)
    assert seen == [1] and len(calls) == len(beta)
    np.testing.assert_array_equal(out, R.profile_ci_firth(X1, y, beta, se, ll))


def test_cholesky_point_equals_the_explicit_formulas():
    rng = np.random.default_rng(8)
    X1 = np.column_stack([np.ones(500), rng.normal(size=(500, 6))])
    y = (rng.uniform(size=500) < 0.3).astype(float)
    beta = rng.normal(size=7) * 0.3
    pt = C._FirthPoint(X1, y, beta)
    p = 1 / (1 + np.exp(-X1 @ beta))
    w = p * (1 - p)
    inv = np.linalg.inv((X1 * w[:, None]).T @ X1)
    np.testing.assert_allclose(pt.hat(), np.diag(X1 @ inv @ X1.T) * w, rtol=1e-11)
    assert pt.ll == pytest.approx(R.penalised_loglik(X1, y, beta), rel=1e-13)
    assert C.penalised_loglik(X1, y, beta) == R.penalised_loglik(X1, y, beta)
    # the modified score is the gradient of the penalised log-likelihood
    g = np.array([(R.penalised_loglik(X1, y, beta + 1e-6 * e)
                   - R.penalised_loglik(X1, y, beta - 1e-6 * e)) / 2e-6 for e in np.eye(7)])
    np.testing.assert_allclose(pt.score(), g, rtol=1e-5, atol=1e-6)
    # a singular X'WX (a column of zeros): log det -inf, as slogdet says
    Xs = X1.copy()
    Xs[:, 3] = 0.0
    assert C._FirthPoint(Xs, y, beta).ll == -np.inf == R.penalised_loglik(Xs, y, beta)


@needs_data
@pytest.mark.parametrize("fs", ["mean", "sd", "mean+sd", "border"])
def test_group7_firth_bounds_equal_the_reference(group7, fs):
    """Group 7, Firth: the bounds of the fast search equal the reference search's to
    1e-6 (the reference's own bounds are checked against firthmodels and the profile
    equation in test_coefficients.py)."""
    frame = C.model_frame(group7, fs)
    cols = group7.columns(fs)
    X1 = np.column_stack([np.ones(len(frame)), frame[cols].to_numpy()])
    y = frame[C.RESPONSE].to_numpy(float)
    beta, se, ll, _, _ = C.fit_firth(X1, y)
    new = C.profile_ci_firth(X1, y, beta, se, ll)
    old = R.profile_ci_firth(X1, y, beta, se, ll)
    np.testing.assert_array_equal(np.isnan(new), np.isnan(old))
    np.testing.assert_allclose(new, old, atol=1e-6, rtol=0)


@needs_data
@pytest.mark.slow
def test_group7_moments_all_firth_several_maxima_gives_the_reference_bounds(group7):
    """Group 7's 21-parameter moments_all model (18 events) has several maxima on its
    profiles: the fast search hands the model to the reference search, and the bounds are
    the frozen reference's, NaNs included. (Slow, ~1 min; the behaviour is covered by
    test_fallback_to_the_reference_search_gives_the_same_bounds and
    test_a_restart_at_another_maximum_hands_the_model_to_the_reference.)"""
    frame = C.model_frame(group7, "moments_all")
    cols = group7.columns("moments_all")
    X1 = np.column_stack([np.ones(len(frame)), frame[cols].to_numpy()])
    y = frame[C.RESPONSE].to_numpy(float)
    beta, se, ll, _, _ = C.fit_firth(X1, y)
    np.testing.assert_array_equal(C.profile_ci_firth(X1, y, beta, se, ll),
                                  R.profile_ci_firth(X1, y, beta, se, ll))
