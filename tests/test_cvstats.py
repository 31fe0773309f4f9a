"""Inference on cross-validated AUCs (analysis/statistics/cvstats.py): hand-worked cases and properties."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.fitting import models
from analysis.statistics import cvstats
from analysis.statistics.inference import delong_ci


def test_corrected_interval_hand_worked():
    # J = 4 fold values 0.6, 0.8, 0.7, 0.9: mean 0.75, s^2 = 0.05/3, ratio 1/3
    v = [0.6, 0.8, 0.7, 0.9]
    r = cvstats.corrected_cv_interval(v, 1 / 3, null=0.5)
    s2 = 0.05 / 3
    se = np.sqrt((1 / 4 + 1 / 3) * s2)
    q = stats.t.ppf(0.975, 3)
    assert r["estimate"] == pytest.approx(0.75, abs=1e-12)
    assert r["se"] == pytest.approx(se, rel=1e-12)
    assert (r["low"], r["high"]) == pytest.approx((0.75 - q * se, 0.75 + q * se), rel=1e-12)
    assert r["t"] == pytest.approx(0.25 / se, rel=1e-12)
    assert r["p"] == pytest.approx(2 * stats.t.sf(0.25 / se, 3), rel=1e-9)
    assert r["df"] == 3 and r["n_folds"] == 4


def test_corrected_interval_is_wider_than_naive_and_skips_nan():
    rng = np.random.default_rng(0)
    v = rng.uniform(0.3, 1.0, 100)
    r = cvstats.corrected_cv_interval(np.append(v, np.nan), 1 / 9, null=0.5)
    naive = v.std(ddof=1) / np.sqrt(100)
    assert r["se"] > 3 * naive
    assert r["n_nan"] == 1 and r["n_folds"] == 100


def _folds(aucs, R, K=10):
    return pd.DataFrame({"repeat": np.repeat(np.arange(R), K), "fold": np.tile(np.arange(K), R),
                         "auc": aucs, "n_train": 86, "n_test": 10, "n_pos_test": 2})


def test_paired_difference_pairs_by_fold():
    rng = np.random.default_rng(1)
    a = rng.uniform(0.5, 1, 30)
    fa, fb = _folds(a, 3), _folds(a - 0.1, 3)
    r = cvstats.paired_cv_difference(fa, fb.sample(frac=1, random_state=0))
    assert r["diff"] == pytest.approx(0.1, abs=1e-12)
    assert r["se"] == pytest.approx(0.0, abs=1e-12)  # identical differences: no spread


def test_cv_auc_table_groups():
    f = pd.concat([_folds(np.full(20, 0.8), 2).assign(feature_set="a", estimator="mle"),
                   _folds(np.linspace(0.2, 0.8, 20), 2).assign(feature_set="b", estimator="mle")])
    t = cvstats.cv_auc_table(f).set_index("feature_set")
    assert t.loc["a", "cv_auc"] == pytest.approx(0.8)
    assert t.loc["b", "cv_auc"] == pytest.approx(0.5)
    assert t.loc["b", "n_repeats"] == 2


def test_bootstrap_cv_splits_keep_copies_in_one_fold():
    y = np.array([1] * 12 + [0] * 40)
    splits, rep = cvstats.bootstrap_cv_splits(y, n_boot=5, n_repeats=2, n_splits=5, seed=3)
    assert len(splits) == 5 * 2 * 5 and rep.max() == 4
    for b in range(5):
        for r in range(2):
            ss = [s for s in splits if s.repeat == b * 2 + r]
            assert len(ss) == 5
            tests = np.concatenate([s.test for s in ss])
            # every drawn row is tested exactly once per repeat; classes keep their sizes
            assert len(tests) == len(y) and y[tests].sum() == 12
            for s in ss:
                assert not set(s.test) & set(s.train)  # no image on both sides
    again, _ = cvstats.bootstrap_cv_splits(y, n_boot=5, n_repeats=2, n_splits=5, seed=3)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(splits, again))


def test_bootstrap_cv_interval_arithmetic():
    reps = np.array([0.6, 0.7, 0.8, np.nan])
    r = cvstats.bootstrap_cv_interval(0.75, reps)
    se = np.std([0.6, 0.7, 0.8], ddof=1)
    z = stats.norm.ppf(0.975)
    assert r["se"] == pytest.approx(se)
    assert (r["low"], r["high"]) == pytest.approx((0.75 - z * se, 0.75 + z * se))
    assert cvstats.bootstrap_cv_interval(0.95, reps)["high"] == 1.0  # clipped to [0, 1]
    assert r["n_boot"] == 3 and r["n_nan"] == 1
    assert r["p_greater"] == pytest.approx(stats.norm.sf(0.25 / se))


def test_fold_spread_reference_matches_a_fixed_model():
    # fold AUCs drawn from the reference itself are not flagged; a wider spread is
    rng = np.random.default_rng(5)
    n_pos = np.array([2] * 8 + [1] * 2)
    sim = cvstats._binormal_fold_aucs(0.75, n_pos, 10 - n_pos, 4000, rng)
    assert sim.mean() == pytest.approx(0.75, abs=0.01)  # unbiased for the model's AUC
    f = pd.DataFrame({"repeat": 0, "fold": np.arange(10), "auc": sim[0], "n_test": 10,
                      "n_pos_test": n_pos})
    assert cvstats.fold_spread_reference(f, n_sim=500, rng=1)["p_sd"] > 0.01
    wild = f.assign(auc=np.where(np.arange(10) % 2 == 0, 1.0, 0.5))  # mean 0.75, SD 0.26
    r = cvstats.fold_spread_reference(wild, n_sim=500, rng=1)
    assert r["observed_sd"] > r["expected_sd"]


def test_bootstrap_cv_covers_under_the_null_small():
    """A small version of the report's null simulation: permuted labels of a
    few-valued design; the interval excludes 1/2 in about 5% of null data sets."""
    rng = np.random.default_rng(11)
    n, n_pos = 60, 15
    X = rng.integers(0, 4, size=(n, 3)).astype(float)
    X = (X - X.mean(0)) / X.std(0)
    y = np.array([1] * n_pos + [0] * (n - n_pos))
    miss = delong_miss = 0
    n_sets = 40
    for p in range(n_sets):
        yp = rng.permutation(y)
        sp = models.stratified_splits(yp, n_splits=5, n_repeats=3, seed=p)
        cv = models.cross_validate(X, yp, sp)
        est = cv.folds["auc"].mean()
        # the former interval: DeLong on the canonical split's pooled out-of-fold scores
        s0 = cv.scores[cv.scores["repeat"] == 0].sort_values("row")
        d = delong_ci(s0["y"].to_numpy(), s0["score"].to_numpy())
        delong_miss += not (d["low"] <= 0.5 <= d["high"])
        bs, _ = cvstats.bootstrap_cv_splits(yp, n_boot=40, n_repeats=1, n_splits=5, seed=100 + p)
        reps = cvstats.bootstrap_cv_replicates(models.cross_validate(X, yp, bs).folds, 1)
        r = cvstats.bootstrap_cv_interval(est, reps)
        miss += not (r["low"] <= 0.5 <= r["high"])
    # P(Binomial(40, 0.05) >= 7) < 0.005: a gross failure of coverage fails here
    assert miss <= 6, (miss, delong_miss)
    # the fixed-model interval misses more often on the same null data sets
    assert delong_miss > miss, (delong_miss, miss)


def test_sequential_pvalue_hand_worked():
    null = np.array([0.1, 0.9, 0.2, 0.8, 0.95, 0.3])
    r = cvstats.sequential_pvalue(0.7, null, h=3, n_max=100)
    assert r == {"p": 3 / 5, "n_used": 5, "stopped": True, "stopped_significant": False,
                 "complete": True}
    r = cvstats.sequential_pvalue(0.85, null, h=3, n_max=100)
    assert not r["complete"] and np.isnan(r["p"])  # 2 exceedances in 6: draw more
    r = cvstats.sequential_pvalue(0.85, null, h=3, n_max=6)
    assert r["p"] == pytest.approx(3 / 7) and r["n_used"] == 6 and r["complete"]
    # the same whatever the batch: a longer prefix does not change a decided p
    longer = np.append(null, [0.99] * 10)
    assert cvstats.sequential_pvalue(0.7, longer, h=3, n_max=100)["p"] == 3 / 5


def test_sequential_pvalue_is_valid_under_the_null():
    rng = np.random.default_rng(2)
    ps = []
    for _ in range(2000):
        obs, null = rng.random(), rng.random(200)
        ps.append(cvstats.sequential_pvalue(obs, null, h=10, n_max=200)["p"])
    ps = np.asarray(ps)
    # P(p <= 0.05) <= 0.05: with 2000 draws the share stays below 0.05 + 3 SE
    assert (ps <= 0.05).mean() < 0.05 + 3 * np.sqrt(0.05 * 0.95 / 2000)
    assert (ps <= 0.5).mean() > 0.4  # and it is not degenerate


def test_early_rejection_boundary_by_hand_and_by_enumeration():
    """L_n is the largest count whose crossing probability under p* = alpha stays within
    the linearly spent risk. Before any stop is possible the first crossing needs
    (1 - alpha)^n <= risk * n / n_max with no exceedance: worked out by hand below."""
    b = np.asarray(cvstats.early_rejection_boundary(200, 0.05, 1e-3))
    first = int(np.flatnonzero(b >= 0)[0]) + 1
    # smallest n with 0.95^n <= 1e-3 n / 200 (S_n = 0 is the only way to cross first)
    n = np.arange(1, 201)
    assert first == int(n[0.95 ** n <= 1e-3 * n / 200][0]) == 142
    assert b[first - 1] == 0 and (np.diff(b[first - 1:]) >= 0).all() and b[-1] < 9
    # crossing probability at p* = alpha by brute force: 200,000 Bernoulli sequences
    rng = np.random.default_rng(5)
    crossed = 0
    for _ in range(20):
        s = np.cumsum(rng.random((10_000, 200)) < 0.05, axis=1)
        crossed += int(((s <= b) & (b >= 0)).any(axis=1).sum())
    # spent risk <= 1e-3; binomial(200000, 1e-3) sd ~ 14: 4 sd above the mean fails
    assert crossed <= 200 + 4 * 14


def test_sequential_rule_exact_size_and_saving():
    """Exact (dynamic-programming) rejection probability of the whole rule, integrated
    over a uniform permutation p-value: the size of the Monte Carlo test."""
    grid = (np.arange(2000) + 0.5) / 2000
    size_bc = np.mean([cvstats.sequential_rejection_probability(p, h=10, n_max=200)["reject"]
                       for p in grid])
    size_er = np.mean([cvstats.sequential_rejection_probability(
        p, h=10, n_max=200, alpha=0.05)["reject"] for p in grid])
    assert size_bc == pytest.approx(10 / 201, abs=1e-4)  # Besag-Clifford: (1 + 9) / 201
    assert size_bc <= size_er <= 0.05 + 1e-3  # the early stop adds at most its risk
    # a clearly significant test stops after about 150 permutations instead of 200
    cost = cvstats.sequential_rejection_probability(0.001, h=10, n_max=200, alpha=0.05)
    assert cost["reject"] > 0.99 and cost["expected_n"] < 160
    # ... and a wrong early rejection at p* = alpha is within the risk
    at = cvstats.sequential_rejection_probability(0.05, h=10**6, n_max=200, alpha=0.05)
    at_bc = cvstats.sequential_rejection_probability(0.05, h=10**6, n_max=200)
    assert at["reject"] - at_bc["reject"] <= 1e-3 + 1e-12


def test_sequential_pvalue_stops_early_when_clearly_significant():
    null = np.full(200, 0.4)
    null[3] = 0.9  # one exceedance of 0.8
    r = cvstats.sequential_pvalue(0.8, null, h=10, n_max=200, alpha=0.05)
    b = np.asarray(cvstats.early_rejection_boundary(200, 0.05))
    n_stop = int(np.flatnonzero(b >= 1)[0]) + 1
    assert r["stopped_significant"] and r["n_used"] == n_stop < 200
    assert r["p"] == 2 / (1 + n_stop) < 0.05
    # no exceedance at all: the first possible stop, after 142 permutations
    r1 = cvstats.sequential_pvalue(0.95, null, h=10, n_max=200, alpha=0.05)
    assert r1["n_used"] == 142 and r1["p"] == 1 / 143
    # the same nulls without the early stop: the fixed count, p = 2 / 201
    r0 = cvstats.sequential_pvalue(0.8, null, h=10, n_max=200)
    assert r0["p"] == 2 / 201 and r0["n_used"] == 200
    # fewer nulls than the stop needs: not decided yet, whatever the batching
    assert not cvstats.sequential_pvalue(0.8, null[: n_stop - 1], h=10, n_max=200,
                                         alpha=0.05)["complete"]

def test_binormal_auc_variance_hand_worked_and_brute_force():
    # theta = 1/2: Q1 = Q2 = 1/3 and the variance is Mann-Whitney's null variance
    for m, n in [(1, 1), (2, 8), (30, 70)]:
        assert cvstats.binormal_auc_variance(0.5, m, n) == pytest.approx(
            (m + n + 1) / (12 * m * n), rel=1e-13)
    # Q from an independent bivariate normal CDF (scipy's Genz integration, abs. error
    # about 1e-6), plugged into the U-statistic variance
    for theta, m, n in [(0.6, 5, 12), (0.75, 100, 233), (0.92, 2, 8)]:
        d = stats.norm.ppf(theta)
        q = stats.multivariate_normal(mean=[0, 0], cov=[[1, 0.5], [0.5, 1]]).cdf([d, d])
        v = (theta * (1 - theta) + (m + n - 2) * (q - theta**2)) / (m * n)
        assert cvstats.binormal_auc_variance(theta, m, n) == pytest.approx(v, rel=1e-4)
    # brute force: the variance of simulated exact fold AUCs (m = 3, n = 4; 2e5 draws,
    # relative Monte Carlo error of a variance about sqrt(2 / 2e5) = 0.3%)
    rng = np.random.default_rng(12)
    sims = cvstats._binormal_fold_aucs(0.75, np.array([3]), np.array([4]), 200_000, rng)
    assert sims.var() == pytest.approx(cvstats.binormal_auc_variance(0.75, 3, 4), rel=0.015)


def test_fold_spread_normal_reference_agrees_at_threshold():
    """At the threshold (100 of the smaller class per fold) the normal reference gives
    the exact simulation's expected SD, share below 1/2 and p-values within Monte Carlo
    error (4 standard errors of the difference of two independent simulations)."""
    T = cvstats.FOLD_NORMAL_MIN_CLASS
    n_pos, n_neg = np.full(10, T), np.full(10, int(T * 7 / 3))
    S = 4000
    for theta in (0.53, 0.75):
        ex = cvstats._binormal_fold_aucs(theta, n_pos, n_neg, S, np.random.default_rng(1))
        nm = cvstats._binormal_fold_aucs(theta, n_pos, n_neg, S, np.random.default_rng(2),
                                         normal_from=T)
        sd_ex, sd_nm = ex.std(axis=1, ddof=1), nm.std(axis=1, ddof=1)
        se = np.sqrt((sd_ex.var() + sd_nm.var()) / S)
        assert abs(sd_ex.mean() - sd_nm.mean()) < 4 * se
        b_ex, b_nm = (ex < 0.5).mean(axis=1), (nm < 0.5).mean(axis=1)
        se = np.sqrt((b_ex.var() + b_nm.var()) / S) + 1e-12
        assert abs(b_ex.mean() - b_nm.mean()) < 4 * se
        for q in (0.5, 0.9, 0.99):  # p-values of observed SDs at quantiles of the exact null
            obs = np.quantile(sd_ex, q)
            p_ex, p_nm = np.mean(sd_ex >= obs), np.mean(sd_nm >= obs)
            assert abs(p_ex - p_nm) < 4 * np.sqrt(2 * p_ex * (1 - p_ex) / S) + 2 / S
    # through fold_spread_reference: the large folds are drawn from the normal, and
    # small folds (group 7's sizes) are simulated exactly as before
    f = pd.DataFrame({"repeat": 0, "fold": np.arange(10), "auc": ex[0], "n_test": n_pos + n_neg,
                      "n_pos_test": n_pos})
    assert cvstats.fold_spread_reference(f, n_sim=200, rng=3)["n_normal_folds"] == 10
    small = f.assign(n_test=10, n_pos_test=np.array([2] * 8 + [1] * 2))
    a = cvstats.fold_spread_reference(small, n_sim=200, rng=3)
    b = cvstats.fold_spread_reference(small, n_sim=200, rng=3, normal_from=None)
    assert a == b and a["n_normal_folds"] == 0


def test_matched_fold_spread_reference_averages_repeats_of_the_same_images():
    """The matched reference simulates the statistic as computed: R fold assignments
    of one simulated data set, averaged. One assignment reproduces the one-repeat
    reference in distribution; R shared-image assignments give a narrower reference,
    but not R times narrower in variance (the repeats share their images)."""
    n_pos = np.array([2] * 8 + [1] * 2)
    n_neg = 10 - n_pos
    S = 3000
    one = cvstats._binormal_fold_aucs(0.75, n_pos, n_neg, S, np.random.default_rng(1))
    sd1 = one.std(axis=1, ddof=1)
    m1, b1 = cvstats._matched_fold_spread(0.75, n_pos, n_neg, 1, S, np.random.default_rng(2))
    se = np.sqrt((sd1.var() + m1.var()) / S)
    assert abs(sd1.mean() - m1.mean()) < 4 * se
    assert abs((one < 0.5).mean() - b1.mean()) < 4 * np.sqrt(2 * b1.var() / S) + 1e-3
    m20, _ = cvstats._matched_fold_spread(0.75, n_pos, n_neg, 20, S, np.random.default_rng(3))
    assert abs(m20.mean() - sd1.mean()) < 0.01  # the mean of an SD does not change much
    assert sd1.var() / 20 < m20.var() < 0.8 * sd1.var()
    # through fold_spread_reference: R repeats are matched, one-tail p-values both ways
    rng = np.random.default_rng(4)
    aucs = cvstats._binormal_fold_aucs(0.75, n_pos, n_neg, 5, rng).ravel()
    f = pd.DataFrame({"repeat": np.repeat(np.arange(5), 10), "fold": np.tile(np.arange(10), 5),
                      "auc": aucs, "n_test": 10, "n_pos_test": np.tile(n_pos, 5)})
    r = cvstats.fold_spread_reference(f, n_sim=400, rng=1)
    assert r["reference_repeats"] == 5
    assert r["p_sd"] + r["p_sd_lower"] >= 1.0  # the two tails cover every simulation
    assert cvstats.fold_spread_reference(f, n_sim=400, rng=1, matched=False)[
        "reference_repeats"] == 1
    assert cvstats.fold_spread_reference(f, n_sim=400, rng=1) == r  # same seed, same result
