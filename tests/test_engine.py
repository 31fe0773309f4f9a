"""Batched engine (analysis.fitting.engine) against the one-fit-at-a-time reference.

Tolerances: coefficients, test linear predictors and AUC are compared with
``np.testing.assert_allclose(rtol=1e-8, atol=1e-8)`` (i.e. |a - b| <= 1e-8 +
1e-8 |b|); the observed differences are ~1e-14. The fits are iterative (stopping
rules in analysis.base.fitconfig: relative 1e-9 steps for MLE, 1e-6 Newton steps for Firth,
at which both paths stop at the same iterate), so 1e-8 is what is guaranteed across BLAS.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from firthmodels import FirthLogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from analysis.base import fitconfig
from analysis.fitting import engine, models

TOL = dict(rtol=1e-8, atol=1e-8)


# ---------------------------------------------------------------- reference


def ref_mle(X, y):
    """statsmodels Newton fit stopped by fitconfig's rule (the reference path)."""
    coef, conv, n_iter, _ = models._fit_mle(X, y)
    Xc = sm.add_constant(X, has_constant="add")
    return dict(coef=coef, converged=conv, n_iter=n_iter,
                separated=fitconfig.separation_flag(Xc @ coef, conv))


def ref_firth(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = FirthLogisticRegression(
            max_iter=fitconfig.FIRTH_MAX_ITER, gtol=fitconfig.firth_gtol(X),
            xtol=fitconfig.FIRTH_XTOL,
        ).fit(X, y)
    return dict(
        coef=np.r_[m.intercept_, m.coef_], converged=bool(m.converged_),
        n_iter=int(m.n_iter_),
    )


# ---------------------------------------------------------------- data


def synthetic(p, signal, seed, n=96, n_pos=18):
    """z-scored features; ``signal`` shifts the melanoma rows (large -> separation)."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    y[rng.choice(n, n_pos, replace=False)] = 1.0
    X = rng.standard_normal((n, p))
    X[:, : min(p, 3)] += signal * y[:, None]
    X = (X - X.mean(0)) / X.std(0)
    return X, y


def cv_splits(X, y, seed=0):
    return list(StratifiedKFold(10, shuffle=True, random_state=seed).split(X, y))


# (p, signal, seed): weak signal (no separation) and strong signal (separation
# in some or all folds); p = 20, 30 with 86 rows separate often.
CASES = [(5, 0.3, 1), (5, 4.0, 2), (6, 0.5, 3), (6, 3.0, 4), (20, 0.0, 5),
         (20, 1.0, 6), (30, 0.0, 7)]


@pytest.fixture(scope="module")
def results():
    out = {}
    for p, signal, seed in CASES:
        X, y = synthetic(p, signal, seed)
        splits = cv_splits(X, y, seed)
        mle = engine.cross_validate_batch(X, y, splits, estimator="mle")
        firth = engine.cross_validate_batch(X, y, splits, estimator="firth")
        refs = [(ref_mle(X[tr], y[tr]), ref_firth(X[tr], y[tr])) for tr, _ in splits]
        out[(p, signal, seed)] = (X, y, splits, mle, firth, refs)
    return out


def test_cases_cover_both_regimes(results):
    n_sep = sum(r[3]["separated"].sum() for r in results.values())
    n_all = sum(len(r[2]) for r in results.values())
    assert 0 < n_sep < n_all


@pytest.mark.parametrize("case", CASES)
def test_mle_matches_statsmodels(results, case):
    X, y, splits, mle, _, refs = results[case]
    for s, ((tr, te), (rm, _)) in enumerate(zip(splits, refs)):
        assert mle["separated"][s] == rm["separated"], s
        assert mle["n_train"][s] == len(tr) and mle["n_test"][s] == len(te)
        assert mle["n_pos_test"][s] == y[te].sum()
        if rm["separated"]:
            continue
        assert mle["converged"][s] == rm["converged"], s
        if not rm["converged"]:
            continue
        assert mle["n_iter"][s] == rm["n_iter"]
        np.testing.assert_allclose(mle["coef"][s], rm["coef"], **TOL)
        eta_ref = rm["coef"][0] + X[te] @ rm["coef"][1:]
        m = mle["test_mask"][s]
        np.testing.assert_array_equal(mle["test_idx"][s][m], te)
        np.testing.assert_allclose(mle["test_scores"][s][m], eta_ref, **TOL)
        np.testing.assert_allclose(mle["auc"][s], roc_auc_score(y[te], eta_ref), **TOL)


@pytest.mark.parametrize("case", CASES)
def test_firth_matches_firthmodels(results, case):
    X, y, splits, mle, firth, refs = results[case]
    np.testing.assert_array_equal(firth["separated"], mle["separated"])
    for s, ((_tr, te), (_, rf)) in enumerate(zip(splits, refs)):
        assert firth["converged"][s] == rf["converged"], s
        assert firth["n_iter"][s] == rf["n_iter"], s
        np.testing.assert_allclose(firth["coef"][s], rf["coef"], **TOL)
        eta_ref = rf["coef"][0] + X[te] @ rf["coef"][1:]
        m = firth["test_mask"][s]
        np.testing.assert_allclose(firth["test_scores"][s][m], eta_ref, **TOL)
        np.testing.assert_allclose(firth["auc"][s], roc_auc_score(y[te], eta_ref), **TOL)


def test_stacked_padded_equals_pooled():
    """fit_logistic_batch on padded (B, n, p) stacks == the pooled CV path."""
    X, y = synthetic(6, 1.0, 11)
    splits = cv_splits(X, y, 11)
    ntr = max(len(tr) for tr, _ in splits)
    B = len(splits)
    Xs = np.zeros((B, ntr, X.shape[1]))
    ys = np.zeros((B, ntr))
    ws = np.zeros((B, ntr))
    for b, (tr, _) in enumerate(splits):
        Xs[b, : len(tr)] = X[tr]
        ys[b, : len(tr)] = y[tr]
        ws[b, : len(tr)] = 1
    for est in ("mle", "firth"):
        fit = engine.fit_logistic_batch(Xs, ys, ws, estimator=est)
        cv = engine.cross_validate_batch(X, y, splits, estimator=est)
        np.testing.assert_allclose(fit.coef, cv["coef"], **TOL)
        np.testing.assert_array_equal(fit.separated, cv["separated"])
        np.testing.assert_array_equal(fit.n_iter, cv["n_iter"])


def test_separated_mle_is_quiet_and_flagged():
    x = np.r_[np.linspace(-2, -0.1, 10), np.linspace(0.1, 2, 10)][:, None]
    y = np.r_[np.zeros(10), np.ones(10)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = engine.fit_logistic_batch(x[None], y[None], estimator="mle")
        ff = engine.fit_logistic_batch(x[None], y[None], estimator="firth")
    assert fit.separated[0] and ff.separated[0]
    assert ref_mle(x, y)["separated"]
    assert np.all(np.isfinite(ff.coef)) and ff.converged[0]


# ---------------------------------------------------------------- Firth 2x2


TABLES = [(5, 3, 0, 7), (4, 6, 2, 9), (0, 5, 6, 3), (3, 0, 8, 1)]


@pytest.mark.parametrize("a,b,c,d", TABLES)
def test_firth_two_by_two(a, b, c, d):
    """Binary covariate x with intercept (saturated): Firth's log odds ratio is
    log((a+.5)(d+.5)/((b+.5)(c+.5))), a = #(x=1,y=1), b = #(x=1,y=0),
    c = #(x=0,y=1), d = #(x=0,y=0)."""
    x = np.r_[np.ones(a + b), np.zeros(c + d)]
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    # fitconfig's tolerances stop within ~1e-6 of the optimum here (engine and
    # firthmodels stop at the same iterate); tighten for the 1e-8 check. gtol is
    # relative to the size of the score's terms (here n = 14: 1.4e-10 absolute; the
    # rounding floor is ~1e-15), xtol absolute on a Newton step (floor ~eps * |b| * cond
    # ~ 1e-14): both attainable on any BLAS. The closed form is checked to 1e-8, which
    # the converged iterate meets with a margin of ~10^6.
    fit = engine.fit_logistic_batch(x[None, :, None], y[None], estimator="firth",
                                    gtol=1e-11, xtol=1e-11)
    expect = np.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    assert fit.converged[0]
    assert abs(fit.coef[0, 1] - expect) < 1e-8
    # intercept = Firth logit in the x = 0 group
    assert abs(fit.coef[0, 0] - np.log((c + 0.5) / (d + 0.5))) < 1e-8
    assert fit.separated[0] == (min(a, b, c, d) == 0)
    assert fit.separated[0] == ref_mle(x[:, None], y)["separated"]


def _hash_uniform(seed, rows, tag):
    """A deterministic number in [-1, 1) per row of ``rows``: a 'rounding' that depends
    only on the point evaluated, as a BLAS kernel's does."""
    out = np.empty(len(rows))
    for i, r in enumerate(rows):
        h = hashlib.blake2b(np.ascontiguousarray(r).tobytes() + bytes([seed, tag]),
                            digest_size=8).digest()
        out[i] = int.from_bytes(h, "little") / 2**63 - 1.0
    return out


def _rounding_noise(orig, seed, ulps=4):
    """``engine._firth_quantities`` as another BLAS might compute it: the log-likelihood
    and the score moved by up to ``ulps`` units of rounding of their terms (n eps |l*|
    and n eps), differently at every point."""
    eps = np.finfo(float).eps

    def noisy(D, y, w, beta, counter):
        ll, U, *rest = orig(D, y, w, beta, counter)
        n = w.sum(axis=1)
        ll = ll + _hash_uniform(seed, beta, 0) * ulps * eps * n * np.maximum(1.0, np.abs(ll))
        U = U + _hash_uniform(seed, beta, 1)[:, None] * ulps * eps * n[:, None]
        return (ll, U, *rest)

    return noisy


def test_firth_converges_whatever_the_rounding(monkeypatch):
    """The issue-11 failure (table 0-5-6-3 not converged in 200 iterations on another
    BLAS): with the log-likelihood and score perturbed by a few units of rounding, as a
    different kernel computes them, every 2x2 table still converges (tight tolerances)
    in a few iterations to the closed form. Before the scale-aware rules, 20 of these
    80 fits ran to the iteration cap (step-halving decided by rounding)."""
    orig = engine._firth_quantities
    for a, b, c, d in TABLES:
        x = np.r_[np.ones(a + b), np.zeros(c + d)]
        y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
        expect = np.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
        for seed in range(20):
            monkeypatch.setattr(engine, "_firth_quantities", _rounding_noise(orig, seed))
            fit = engine.fit_logistic_batch(x[None, :, None], y[None], estimator="firth",
                                            gtol=1e-11, xtol=1e-11)
            assert fit.converged[0], ((a, b, c, d), seed, fit.status[0])
            assert fit.n_iter[0] <= 10
            assert abs(fit.coef[0, 1] - expect) < 1e-8


def test_firth_cv_converges_whatever_the_rounding(monkeypatch):
    """The same on real-sized folds (p = 6 and p = 20, with separated folds): under
    rounding noise every fold still converges, to the same coefficients (1e-8)."""
    orig = engine._firth_quantities
    for p, signal, seed in [(6, 3.0, 4), (20, 1.0, 6)]:
        X, y = synthetic(p, signal, seed)
        splits = cv_splits(X, y, seed)
        clean = engine.cross_validate_batch(X, y, splits, estimator="firth", memo=False)
        monkeypatch.setattr(engine, "_firth_quantities", _rounding_noise(orig, seed))
        noisy = engine.cross_validate_batch(X, y, splits, estimator="firth", memo=False)
        monkeypatch.setattr(engine, "_firth_quantities", orig)
        assert clean["converged"].all() and noisy["converged"].all()
        np.testing.assert_allclose(noisy["coef"], clean["coef"], **TOL)


# ---------------------------------------------------------------- AUC


def test_auc_batch_matches_sklearn_with_ties_and_mask():
    rng = np.random.default_rng(3)
    B, m = 200, 12
    scores = rng.integers(0, 4, size=(B, m)).astype(float)  # many ties
    y = rng.integers(0, 2, size=(B, m))
    mask = rng.random((B, m)) < 0.8
    mask[:, :2] = True
    y[:, 0], y[:, 1] = 0, 1
    got = engine.auc_batch(np.where(mask, scores, np.nan), y, mask)
    for i in range(B):
        ref = roc_auc_score(y[i][mask[i]], scores[i][mask[i]])
        # both are ratios of integer pair counts (one rounding each): exact to 1 ulp
        assert abs(got[i] - ref) < 1e-12
    cont = rng.standard_normal((B, m))
    got = engine.auc_batch(cont, y)
    ref = np.array([roc_auc_score(y[i], cont[i]) for i in range(B)])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert np.isnan(engine.auc_batch(np.zeros((1, 3)), np.ones((1, 3))))[0]


# ---------------------------------------------------------------- parallel


def test_n_jobs_byte_identical_and_permuted_labels():
    X, y = synthetic(6, 1.0, 21)
    rng = np.random.default_rng(0)
    splits, Y = [], []
    for r in range(6):
        yp = rng.permutation(y)
        for tr, te in cv_splits(X, yp, r):
            splits.append((tr, te))
            Y.append(yp)
    Y = np.array(Y)
    for est in ("mle", "firth"):
        a = engine.cross_validate_batch(X, Y, splits, estimator=est, n_jobs=1, chunk_size=16)
        b = engine.cross_validate_batch(X, Y, splits, estimator=est, n_jobs=2, chunk_size=16)
        assert a.keys() == b.keys()
        # byte-identity on one machine: the chunks and their arithmetic (one BLAS thread
        # per chunk, parallel_map) do not depend on n_jobs; across machines only the
        # verdicts are compared (test_threads.py, test_ties.py)
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k
    # one permuted split checked against the reference
    tr, te = splits[-1]
    rm = ref_mle(X[tr], Y[-1][tr])
    one = engine.cross_validate_batch(X, Y[-1:], splits[-1:], estimator="mle")
    assert one["separated"][0] == rm["separated"]
    if not rm["separated"]:
        np.testing.assert_allclose(one["coef"][0], rm["coef"], **TOL)


def test_parallel_map_order_and_seeds():
    seqs = engine.task_seed_sequences(123, 5)
    tasks = list(range(5))
    r1 = engine.parallel_map(_draw, list(zip(tasks, seqs)), n_jobs=1)
    r2 = engine.parallel_map(_draw, list(zip(tasks, seqs)), n_jobs=2)
    assert [t for t, _ in r1] == tasks
    assert all(np.array_equal(u, v) for (_, u), (_, v) in zip(r1, r2))


def _draw(task):
    i, ss = task
    return i, np.random.default_rng(ss).random(4)


# ---------------------------------------------------------------- fast paths


def test_lapack_cholesky_inverse_matches_numpy():
    """dpotrf/dpotri per model (k >= 12) == NumPy's batched cholesky + inv."""
    rng = np.random.default_rng(5)
    k = 14
    Z = rng.standard_normal((6, 40, k))
    A = np.einsum("bni,bnj->bij", Z, Z)
    A[2] = 0.0  # singular: factorization fails
    A[3, 0, 0] = np.nan  # non-finite
    A[4] = -np.eye(k)  # negative definite
    d1, inv1, ok1 = engine._chol_inverse_lapack(A.copy())
    d2, inv2, ok2 = engine._chol_inverse_numpy(A.copy())
    np.testing.assert_array_equal(ok1, [True, True, False, False, False, True])
    # NumPy's cholesky returns NaN for a NaN matrix (no error): _hat_logdet's
    # finite-pivot test then rejects it, as the LAPACK path does up front
    np.testing.assert_array_equal(ok1, ok2 & np.isfinite(d2).all(axis=1))
    ok2 = ok1
    # one direct (non-iterative) Cholesky factorization of a well-conditioned 14 x 14
    # matrix (cond ~1e2) by two LAPACK paths: pivots agree to ~k eps cond^(1/2) ~ 1e-13;
    # the inverses to ~eps cond ~ 1e-14 relative (rtol 1e-9; atol 1e-12 only for
    # entries near 0, which are O(1e-2) in size); the mirrored triangle is exact by
    # construction (a copy)
    np.testing.assert_allclose(d1[ok1], d2[ok2], rtol=1e-12)
    np.testing.assert_allclose(inv1[ok1], inv2[ok2], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(inv1[ok1], np.swapaxes(inv1[ok1], 1, 2), rtol=0, atol=0)
    assert np.all(d1[~ok1] == 0)


def test_firth_reuses_mle_separation_flags():
    """A Firth batch after the MLE batch of the same splits takes the MLE's
    separation flags (no auxiliary MLE run); results are byte-identical."""
    X, y = synthetic(30, 0.0, 7)  # one separated fold of 10 (k = 31: LAPACK path)
    splits = cv_splits(X, y, 7) + cv_splits(X, y, 8)
    engine.clear_memo()
    cold = engine.cross_validate_batch(X, y, splits, estimator="firth", chunk_size=8)
    assert not engine._SEP_MEMO
    mle = engine.cross_validate_batch(X, y, splits, estimator="mle", chunk_size=8)
    assert len(engine._SEP_MEMO) == 3
    warm = engine.cross_validate_batch(X, y, splits, estimator="firth", chunk_size=8)
    for key in cold:
        assert cold[key].tobytes() == warm[key].tobytes(), key
    np.testing.assert_array_equal(warm["separated"], mle["separated"])
    assert 0 < mle["separated"].sum() < len(splits)
    # other labels: no reuse (the digest covers the labels)
    y2 = y.copy()
    y2[:2] = 1 - y2[:2]
    assert engine._chunk_digest(X, np.tile(y, (2, 1)), [splits[0][0]] * 2) != \
        engine._chunk_digest(X, np.tile(y2, (2, 1)), [splits[0][0]] * 2)
    engine.clear_memo()


def test_n_jobs_byte_identical_large_k():
    """The per-model LAPACK path (k = 21) is byte-identical for any n_jobs too."""
    X, y = synthetic(20, 0.5, 8)
    splits = cv_splits(X, y, 1) + cv_splits(X, y, 2)
    for est in ("mle", "firth"):
        engine.clear_memo()
        a = engine.cross_validate_batch(X, y, splits, estimator=est, n_jobs=1, chunk_size=7)
        engine.clear_memo()
        b = engine.cross_validate_batch(X, y, splits, estimator=est, n_jobs=2, chunk_size=7)
        for k in a:
            assert a[k].tobytes() == b[k].tobytes(), (est, k)


def test_ragged_round_trip_and_training_weights_count_repeats():
    # chunks travel as (flat indices, lengths); the padded test matrix and the
    # training weights (a bootstrap repeats rows) must come back exactly
    lists = [np.array([3, 1, 4]), np.array([], dtype=int), np.array([1, 5, 9, 2, 6])]
    flat, lens = engine._ragged(lists)
    np.testing.assert_array_equal(lens, [3, 0, 5])
    idx, mask = engine._pad_ragged(flat, lens)
    assert idx.shape == (3, 5)
    for row, ix in enumerate(lists):
        np.testing.assert_array_equal(idx[row][mask[row]], ix)
        assert mask[row].sum() == len(ix)
    X = np.random.default_rng(0).standard_normal((6, 1))
    y = np.array([0, 1, 0, 1, 0, 1.0])
    boot = [np.array([0, 0, 1, 3, 3, 3, 4]), np.array([1, 2, 2, 5, 0])]
    test = [np.array([2, 5]), np.array([3, 4])]
    task = (X, np.tile(y, (2, 1)), engine._ragged(boot), engine._ragged(test), "firth", {})
    out = engine._cv_chunk(task)
    np.testing.assert_array_equal(out["n_train"], [7, 5])
    np.testing.assert_array_equal(out["test_idx"], [[2, 5], [3, 4]])


def test_costliest_first_hands_out_by_cost_and_returns_in_task_order():
    seen = []

    def wrap(order):
        seen.extend(order)
        return iter(order)

    tasks = [3, 1, 4, 1, 5]
    out = engine.parallel_map_costliest_first(abs, [-t for t in tasks], tasks, n_jobs=2,
                                              wrap=wrap)
    assert out == tasks
    assert seen == [4, 2, 0, 1, 3]  # cost 5, 4, 3, then the two 1s in task order
