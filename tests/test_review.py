import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

from analysis import features, reproduce, review


@pytest.fixture(scope="module")
def small_review(group7):
    return review.review(group7, repeats=3, n_boot=200, n_permutations=60, quiet=True)


def test_claims_table_has_a_verdict_and_evidence_for_every_claim(small_review):
    c = small_review.claims()
    assert list(c["claim"]) == [f"C{i}" for i in range(1, 8)]
    assert set(c["verdict"]) <= {"supported", "not supported", "inconclusive"}
    assert (c["evidence"].str.len() > 20).all()
    assert c["statement"].notna().all()


def test_auc_intervals_contain_their_estimate_and_use_both_methods(small_review):
    a = small_review.auc_ci
    assert set(a["boot_method"]) == {"percentile", "bca"}
    assert len(a) == 2 * 2 * len(small_review.design.sets)  # methods x estimators x sets
    assert ((a["delong_low"] <= a["auc_pooled"]) & (a["auc_pooled"] <= a["delong_high"])).all()
    assert (a["n_boot"] == 200).all()


def test_same_seed_same_output_whatever_the_workers(group7):
    exp = reproduce.run_experiments(group7, repeats=2, experiments=(1, 2, 3), quiet=True)
    a = review.permutation_tests(group7, exp, n_permutations=30, seed=5, sets=("sd",), n_jobs=1,
                                 quiet=True)
    b = review.permutation_tests(group7, exp, n_permutations=30, seed=5, sets=("sd",), n_jobs=2,
                                 quiet=True)
    pd.testing.assert_frame_equal(a.null, b.null)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    c = review.permutation_tests(group7, exp, n_permutations=30, seed=6, sets=("sd",), quiet=True)
    assert not np.array_equal(a.null["auc"], c.null["auc"])
    x = review.auc_intervals(exp, n_boot=100, seed=3)
    y = review.auc_intervals(exp, n_boot=100, seed=3)
    pd.testing.assert_frame_equal(x, y)


def test_moment_tests_adjustments_and_effect_sizes(small_review):
    m = small_review.moment_tests
    assert len(m) == 5 * 4
    np.testing.assert_allclose(m["p_holm"], multipletests(m["p"], method="holm")[1])
    np.testing.assert_allclose(m["p_bh"], multipletests(m["p"], method="fdr_bh")[1])
    # rank-biserial r = 2 AUC - 1, and the AUC equals U / (n1 n0)
    # arithmetic identities on the same numbers (one or two roundings)
    np.testing.assert_allclose(m["rank_biserial"], 2 * m["auc"] - 1, atol=1e-12)
    np.testing.assert_allclose(m["u"] / (18 * 78), m["auc"], atol=1e-12)
    assert set(m["direction"]) <= {"higher in melanoma", "lower in melanoma", "no difference"}


def test_likelihood_ratio_equals_statsmodels_llr(group7):
    r = review.likelihood_ratio(group7, "mean", "mean+sd")
    y = group7.labels
    full = sm.Logit(y, sm.add_constant(group7.matrix("mean+sd"))).fit(disp=0, maxiter=100)
    red = sm.Logit(y, sm.add_constant(group7.matrix("mean"))).fit(disp=0, maxiter=100)
    assert r["df"] == 5
    assert r["statistic"] == pytest.approx(2 * (full.llf - red.llf), rel=1e-6)
    # mean+skewness separates the 96 images: no LRT, and the note says why
    r2 = review.likelihood_ratio(group7, "mean", "mean+skewness")
    assert np.isnan(r2["p"]) and "separated" in r2["note"]
    with pytest.raises(ValueError, match="not nested"):
        review.likelihood_ratio(group7, "sd", "mean+skewness")


def test_fold_variability_counts(small_review):
    fv = small_review.fold_variability
    f = small_review.exp.folds
    row = fv[(fv["estimator"] == "mle") & (fv["feature_set"] == "sd") & (fv["comparison"] == "")]
    g = f[(f["estimator"] == "mle") & (f["feature_set"] == "sd")]
    assert row["share_below_half"].iloc[0] == pytest.approx((g["auc"] < 0.5).mean())
    # 18 melanomas in 10 stratified folds: eight folds of 2 and two folds of 1 per repeat
    assert row["folds_2_melanoma"].iloc[0] == 8 * 3 and row["folds_1_melanoma"].iloc[0] == 2 * 3


def _synthetic_design(signal: float, seed: int) -> features.GroupDesign:
    rng = np.random.default_rng(seed)
    n, k = 80, 5
    y = np.r_[np.ones(16), np.zeros(n - 16)].astype(int)
    rows = []
    for i in range(n):
        for a in range(1, k + 1):
            for f in ("asymmetry", "border"):
                spread = 1.0 + signal * (1 - y[i])  # disagreement larger in non-melanoma
                rows.append((f"ISIC_{i:07d}", "c", "g", str(a), f, rng.normal(0, spread)))
    tidy = pd.DataFrame(rows, columns=["image_id", "cohort", "group", "annotator", "feature", "score"])
    labels = pd.DataFrame({"image_id": [f"ISIC_{i:07d}" for i in range(n)], "melanoma": y})
    return features.group_design(tidy, labels, cohort="c", group="g")


@pytest.mark.parametrize("signal,small", [(0.0, False), (3.0, True)])
def test_permutation_test_of_disagreement_on_synthetic_groups(signal, small):
    d = _synthetic_design(signal, seed=11)
    exp = reproduce.run_experiments(d, repeats=1, feature_sets=["sd"], estimators=("mle",),
                                    quiet=True)
    res = review.permutation_tests(d, exp, n_permutations=99, sets=("sd",), quiet=True)
    p = res.summary["p_value"].iloc[0]
    if small:
        assert p == pytest.approx(1 / 100)
    else:
        assert p > 0.05
