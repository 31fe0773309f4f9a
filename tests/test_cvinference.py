"""The one cvAUC inference routine (analysis.statistics.cvinference): hand-worked cases of its rules,
its result types, and that every study uses it."""

import dataclasses
import inspect

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.statistics import cvinference as ci
from analysis.statistics import cvstats
from analysis.studies import multiverse, replication, review, simulate

# --- verdicts ------------------------------------------------------------------------------


def test_verdict_vocabulary_and_rules_by_hand():
    assert ci.VERDICTS == ("supported", "not supported", "not shown", "inconclusive")
    assert ci.verdict_better(0.1, 0.01) == "supported"
    assert ci.verdict_better(-0.1, 0.01) == "not supported"
    assert ci.verdict_better(0.1, 0.05) == "not shown"  # p < alpha is strict
    assert ci.verdict_above(0.81, 0.9, 0.8) == "supported"
    assert ci.verdict_above(0.6, 0.79, 0.8) == "not supported"
    assert ci.verdict_above(0.7, 0.9, 0.8) == "not shown"
    assert ci.verdict_noninferior(-0.05, 0.019, 0.02) == "supported"
    assert ci.verdict_noninferior(0.001, 0.05, 0.02) == "not supported"
    assert ci.verdict_noninferior(-0.01, 0.03, 0.02) == "not shown"
    # C5: the permutation p decides "supported"; the interval below 1/2 "not supported"
    assert ci.verdict_better_than_random(0.049, 0.4) == "supported"
    assert ci.verdict_better_than_random(0.3, 0.499) == "not supported"
    assert ci.verdict_better_than_random(0.3, 0.6) == "not shown"


def test_not_supported_needs_a_significant_opposite_test():
    # C6 under master seed 1: observed spread at or below the expected one, p = 0.62;
    # the former rule said "not supported" with no test against the claim
    assert ci.verdict_exceeds_reference(0.62, 0.45) == "not shown"
    assert ci.verdict_exceeds_reference(0.99, 0.049) == "not supported"
    assert ci.verdict_exceeds_reference(0.01, 0.995) == "supported"
    assert ci.verdict_exceeds_reference(0.99, 0.05) == "not shown"  # strict, as p < alpha
    # C7: a two-sided test and its direction; not significant is never "not supported"
    assert ci.verdict_directional(0.07, claimed_direction=False) == "not shown"
    assert ci.verdict_directional(0.001, claimed_direction=False) == "not supported"
    assert ci.verdict_directional(0.001, claimed_direction=True) == "supported"
    # C2*: a global test cannot refute "the types differ"
    assert ci.verdict_global(0.9) == "not shown" and ci.verdict_global(0.01) == "supported"


def test_noninferiority_power_by_hand_and_by_simulation():
    z = stats.norm.ppf(0.975)
    # the referee's case: SE 0.058 at n = 96 and the former margin 0.02
    assert ci.noninferiority_power(0.058, 0.02) == pytest.approx(
        stats.norm.cdf(0.02 / 0.058 - z), rel=1e-12)
    assert ci.noninferiority_power(0.058, 0.02) < 0.06
    assert np.isnan(ci.noninferiority_power(np.nan, 0.05))
    # simulation: estimates N(true, se^2), verdict by the rule itself
    rng = np.random.default_rng(7)
    se, margin, n = 0.04, 0.05, 20000
    for true in (0.0, -0.03):
        d = rng.normal(true, se, n)
        shown = np.mean([ci.verdict_noninferior(x - z * se, x + z * se, margin) == "supported"
                         for x in d])
        p = ci.noninferiority_power(se, margin, true_diff=true)
        assert abs(shown - p) < 4 * np.sqrt(p * (1 - p) / n), (true, shown, p)


def test_review_and_multiverse_use_the_c5_rule():
    assert "verdict_better_than_random" in inspect.getsource(review.part_verdicts)
    src = inspect.getsource(multiverse.run_path)
    assert "verdict_better_than_random" in src and "verdict_better(" in src
    assert "inconclusive" not in src  # one estimator per path: the undecided word is "not shown"


# --- the fold-count rule -------------------------------------------------------------------


def test_fold_count_raises_below_two_folds():
    with pytest.raises(ValueError, match="rarer class has 1 unit"):
        ci.fold_count([0] * 9 + [1])
    with pytest.raises(ValueError, match="rarer class has 0 unit"):
        ci.fold_count([0] * 5)
    with pytest.raises(ValueError, match="at least 2 folds"):
        ci.fold_count([0, 1] * 10, 1)
    with pytest.raises(ValueError, match="0/1"):
        ci.fold_count([0, 2, 1])


def test_fold_count_returns_count_and_note():
    y = np.array([0] * 20 + [1] * 3)
    f = ci.fold_count(y)
    assert (f.n_splits, f.wanted, f.rarer, f.reduced) == (3, 10, 3, True)
    assert f.note == "3-fold cross-validation: the rarer class has only 3 units"
    g = ci.fold_count(np.array([0] * 30 + [1] * 18))
    assert (g.n_splits, g.note, g.reduced) == (10, "", False)
    assert ci.fold_count([0, 0, 1, 1]).n_splits == 2  # the smallest allowed
    assert ci.fold_count([0] * 10 + [1] * 10, 5).n_splits == 5


# --- bootstrap-CV --------------------------------------------------------------------------


def test_cv_auc_interval_by_hand():
    sd = np.std([0.6, 0.8], ddof=1)
    z = stats.norm.ppf(0.975)
    # the identity scale (the former interval; still the scale of a difference)
    r = ci.cv_auc_interval(0.7, [0.6, 0.8, np.nan], scale="identity")
    assert r.se == pytest.approx(sd, rel=1e-15)
    assert (r.low, r.high) == pytest.approx((0.7 - z * sd, 0.7 + z * sd), rel=1e-15)
    assert r.pvalue == pytest.approx(2 * stats.norm.sf(0.2 / sd), rel=1e-12)
    assert (r.n_boot, r.n_nan) == (2, 1)
    # the default for an AUC: arcsine square root, g(a) = asin(sqrt(a)),
    # g'(a) = 1 / (2 sqrt(a (1 - a))), back-transformed by sin^2
    r = ci.cv_auc_interval(0.7, [0.6, 0.8, np.nan])
    g, se_g = np.arcsin(np.sqrt(0.7)), sd / (2 * np.sqrt(0.7 * 0.3))
    assert r.se == pytest.approx(sd, rel=1e-15)  # se stays on the AUC scale
    assert (r.low, r.high) == pytest.approx(
        (np.sin(g - z * se_g) ** 2, np.sin(g + z * se_g) ** 2), rel=1e-12)
    assert r.pvalue == pytest.approx(
        2 * stats.norm.sf((g - np.arcsin(np.sqrt(0.5))) / se_g), rel=1e-12)
    # near the ceiling the interval is asymmetric: longer below the estimate than the
    # identity interval, and its upper end is the scale's own end (1 at asin = pi/2)
    top = ci.cv_auc_interval(0.947, [0.874, 1.0])
    flat = ci.cv_auc_interval(0.947, [0.874, 1.0], scale="identity")
    assert top.high - 0.947 < 0.947 - top.low and top.low < flat.low
    assert top.high <= 1.0
    mid = ci.cv_auc_interval(0.9, [0.87, 0.93])
    assert mid.high < 1.0 and mid.high - 0.9 < 0.9 - mid.low
    # a difference keeps the identity scale
    d = ci.cv_auc_interval(0.1, [0.0, 0.2], null=0.0, bounds=(-1.0, 1.0))
    sd_d = np.std([0.0, 0.2], ddof=1)
    assert (d.low, d.high) == pytest.approx((0.1 - z * sd_d, 0.1 + z * sd_d), rel=1e-12)
    with pytest.raises(ValueError, match="scale"):
        ci.cv_auc_interval(0.7, [0.6, 0.8], scale="probit")


def test_asin_interval_holds_its_one_sided_errors_near_the_ceiling():
    """A small version of benchmarks/interval_ceiling.py: true cvAUC 0.95, 18
    melanomas and 78 others, the review's bootstrap-CV replicates. The identity-scale
    interval misses from above far more often than 2.5%; the arcsine one does not."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "interval_ceiling", Path(__file__).parents[1] / "benchmarks" / "interval_ceiling.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    _, s = mod.coverage(0.95, 150, n_boot=40, repeats=3, seed0=500)
    s = s.set_index("scale")
    # 150 data sets: a one-sided error rate of 2.5% gives at most 8 misses with
    # probability 0.99 (Binomial(150, 0.025)); the identity scale misses far more
    assert s.loc["asin", "miss_above"] * 150 <= 8 and s.loc["asin", "miss_below"] * 150 <= 8
    assert s.loc["identity", "miss_above"] > s.loc["asin", "miss_above"]
    assert (s.loc["asin", "mean_width"] < s.loc["logit", "mean_width"])


def test_paired_difference_by_hand():
    key = {"repeat": [0, 0], "fold": [0, 1], "n_train": [8, 8], "n_test": [2, 2]}
    a = pd.DataFrame({**key, "auc": [1.0, 0.5]})
    b = pd.DataFrame({**key, "auc": [0.5, 0.5]})
    r = ci.paired_difference(a, b, [0.8, 0.7, 0.9], [0.6, 0.6, 0.6])
    assert (r.auc_a, r.auc_b, r.diff) == (0.75, 0.5, 0.25)
    assert r.se == pytest.approx(0.1, rel=1e-12)  # SD of (0.2, 0.1, 0.3)
    assert r.n_boot == 3
    # z = 0.25 / 0.1 = 2.5: one-sided p of an improvement 1 - Phi(2.5) = 0.0062097 (normal
    # table), half the two-sided p
    assert r.z == pytest.approx(2.5, rel=1e-12)
    assert r.p_greater == pytest.approx(0.0062097, abs=1e-7)
    assert r.pvalue == pytest.approx(2 * r.p_greater, rel=1e-12)


def test_bootstrap_cv_plan_is_the_bootstrap_cv_stream():
    y = np.array([0] * 12 + [1] * 6)
    plan = ci.bootstrap_cv_plan(y, n_boot=3, n_splits=3, seed=7)
    old, _ = cvstats.bootstrap_cv_splits(
        y, n_boot=3, n_repeats=cvstats.BOOT_CV_REPEATS, n_splits=3,
        seed=int(np.random.SeedSequence([7, 1]).generate_state(1)[0]))
    assert len(plan) == len(old) == 9
    for s, t in zip(plan, old, strict=True):
        assert np.array_equal(s.train, t.train) and np.array_equal(s.test, t.test)


# --- permutation tests -----------------------------------------------------------------------


def test_fixed_count_permutation_test_by_hand():
    r = ci.permutation_test(0.7, [0.8, 0.1, 0.7, np.nan])
    assert r.pvalue == (1 + 2) / (1 + 3)  # the tie 0.7 counts; NaN leaves B = 3
    assert (r.statistic, r.n_resamples, r.n_nan) == (0.7, 3, 1)


def test_tie_rule_at_the_boundary():
    """T* >= T - TIE_RTOL * max(|T|, max|T*|): within the tolerance counts, beyond it not."""
    from analysis.statistics import inference
    assert inference.TIE_RTOL == 1e-9
    e = inference.permutation_exceedances(0.5, [0.5 - 4e-10, 0.5 - 6e-10, 0.5 + 1e-16, 0.49,
                                                np.nan])
    assert e.tolist() == [True, False, True, False, False]  # tol = 1e-9 * 0.5
    # the scale is the largest |T*| too; running: only the nulls drawn so far
    assert inference.permutation_exceedances(0.1, [0.1 - 2e-10, 10.0]).tolist() == [True, True]
    assert inference.permutation_exceedances(0.1, [0.1 - 2e-10, 10.0],
                                             running=True).tolist() == [False, True]
    # the same sum in another order: plain >= misses the tie, the rule counts it
    obs, tie = 0.1 + 0.2 + 0.3, 0.3 + 0.2 + 0.1
    assert tie < obs
    assert ci.permutation_test(obs, [tie, 0.0]).pvalue == 2 / 3
    draw, _ = _draws(np.array([tie, 0.0, tie]))
    r = ci.sequential_permutation_test(obs, draw, h=2, n_max=3)
    assert (r.pvalue, r.n_resamples) == (2 / 3, 3)  # both ties count: stop at L = 3


def test_the_studies_have_no_tie_rule_of_their_own():
    assert "1e-12" not in inspect.getsource(simulate.analyse_study)
    assert "exceeds" not in inspect.signature(ci.sequential_permutation_test).parameters


def _draws(null):
    calls = []

    def draw(a, b):
        calls.append((a, b))
        return null[a:b]
    return draw, calls


def test_sequential_test_stops_at_h_exceedances_whatever_the_blocks():
    null = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.95, 0.4, 0.85, 0.2, 0.1])
    results = []
    for batch, grow in ((1, False), (3, False), (2, True)):
        draw, calls = _draws(null)
        r = ci.sequential_permutation_test(0.75, draw, h=3, n_max=10, batch=batch, grow=grow)
        results.append((r.pvalue, r.n_resamples, r.stopped))
        assert calls[0][0] == 0 and all(a == b for (_, b), (a, _) in zip(calls, calls[1:]))
    # exceedances at permutations 2, 4 and 6: stop at L = 6, p = h / L
    assert results == [(3 / 6, 6, True)] * 3
    draw, calls = _draws(null)
    ci.sequential_permutation_test(0.75, draw, h=3, n_max=10, batch=2, grow=True)
    assert calls == [(0, 2), (2, 6)]  # blocks 2, then 4 (doubling), stop inside the second


def test_sequential_test_runs_to_n_max_and_takes_first_block():
    null = np.array([0.1, 0.9, 0.2, 0.3])
    draw, calls = _draws(null)
    r = ci.sequential_permutation_test(0.75, draw, h=5, n_max=4, first=null[:2], batch=2)
    assert (r.pvalue, r.n_resamples, r.stopped) == ((1 + 1) / (1 + 4), 4, False)
    assert calls == [(2, 4)]


def test_sequential_test_early_rejection():
    null = np.zeros(200)
    draw, _ = _draws(null)
    r = ci.sequential_permutation_test(0.8, draw, h=10, n_max=200, alpha=0.05, batch=20)
    # no exceedance: the first stop of the boundary (alpha 0.05, n_max 200) is at 142
    assert r.stopped_significant and r.n_resamples == 142 and r.pvalue == 1 / 143


def test_result_dataclasses_are_frozen():
    y = np.array([0] * 20 + [1] * 3)
    key = {"repeat": [0], "fold": [0], "n_train": [8], "n_test": [2], "auc": [1.0]}
    f = pd.DataFrame(key)
    for obj in (ci.fold_count(y), ci.cv_auc_interval(0.7, [0.6, 0.8]),
                ci.paired_difference(f, f, [0.1, 0.2], [0.1, 0.2]),
                ci.permutation_test(0.7, [0.1, 0.9])):
        assert dataclasses.is_dataclass(obj)
        field = dataclasses.fields(obj)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, field, 0)


# --- every study uses the routine ------------------------------------------------------------


def test_the_duplicates_are_gone():
    assert not hasattr(simulate, "besag_clifford_pvalue")
    assert not hasattr(review, "folds_for")
    assert not hasattr(replication, "_n_splits") and not hasattr(simulate, "n_folds")
    for mod in (review, replication, multiverse, simulate):
        assert not hasattr(mod, "DEFAULT_PERMUTATIONS"), mod.__name__
        assert "cvinference." in inspect.getsource(mod), mod.__name__


def test_simulated_study_uses_the_fold_rule():
    """A study with one positive cannot be cross-validated: an error, not one fold."""
    rng = np.random.default_rng(0)
    y = np.array([0] * 19 + [1])
    st = simulate.StudySettings(n_repeats=1, n_boot=0, n_permutations=0, pooled=False,
                                pooled_boot=0)
    with pytest.raises(ValueError, match="rarer class has 1 unit"):
        simulate.analyse_study({"sd": rng.normal(size=(20, 1)), "mean": rng.normal(size=(20, 1))},
                               y, st, seed_seq=np.random.SeedSequence(0))


def test_simulated_study_runs_the_sequential_routine(monkeypatch):
    seen = []
    real = ci.sequential_permutation_test

    def spy(*args, **kw):
        seen.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(ci, "sequential_permutation_test", spy)
    rng = np.random.default_rng(3)
    y = np.array([0] * 30 + [1] * 10)
    Xs = {"sd": rng.normal(size=(40, 2)), "mean": rng.normal(size=(40, 2))}
    st = simulate.StudySettings(n_repeats=1, n_boot=0, n_permutations=9, perm_repeats=1, h=3,
                                pooled=False, pooled_boot=0, n_splits=5)
    out = simulate.analyse_study(Xs, y, st, seed_seq=np.random.SeedSequence(1))
    assert len(seen) == 1 and seen[0]["h"] == 3 and seen[0]["n_max"] == 9
    assert 0 < out["p_value"] <= 1 and out["n_perm_used"] <= 9
