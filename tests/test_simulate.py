"""Generative model of crowd annotations, calibration and power (analysis.studies.simulate)."""

import numpy as np
import pandas as pd
import pytest

from analysis.presentation import prose
from analysis.statistics import cvstats
from analysis.studies import simulate as sm

TRUE = sm.SimParams(
    features=("a", "b", "c"), low=(0, 0, 1), high=(2, 2, 6), intercept=(1.0, 0.5, 2.5),
    loading=(0.5, 0.3, 0.8), tau_b=(0.2, 0.15, 0.4), sigma0=(0.5, 0.4, 0.6),
    sigma1=(0.35, 0.3, 0.8), mu1=1.5, tau_nu=0.15, prevalence=0.2)


def test_parameters_recovered_on_a_large_draw():
    """2000 images x 8 annotators on the latent scale: within 10% (sigma, loading, mu1)."""
    sim = sm.simulate(TRUE, 2000, n_annotators=8, rng=42, discretize=False)
    est = sm.fit_scores(sim.scores, sim.y, TRUE.features)
    # noise sds are identified up to the realised mean of nu_j^2 (8 annotators)
    scale = np.sqrt(np.mean(sim.annotators.nu**2))
    np.testing.assert_allclose(est.sigma0, np.asarray(TRUE.sigma0) * scale, rtol=0.05)
    np.testing.assert_allclose(est.sigma1, np.asarray(TRUE.sigma1) * scale, rtol=0.08)
    np.testing.assert_allclose(est.loading, TRUE.loading, rtol=0.10)
    assert est.mu1 == pytest.approx(TRUE.mu1, rel=0.10)
    # biases: compare with the realised sd of the 8 drawn biases
    np.testing.assert_allclose(est.tau_b, sim.annotators.b.std(axis=0, ddof=1), rtol=0.10)
    assert est.prevalence == pytest.approx(0.2)
    assert abs(est.tau_nu - np.log(sim.annotators.nu).std(ddof=1)) < 0.05


def test_simulated_study_feeds_group_design_and_moment_features_match():
    sim = sm.simulate(TRUE, 60, n_annotators=5, rng=1)
    d = sim.design()
    assert d.n_images == 60 and d.n_melanoma == 12 and d.annotators == tuple("12345")
    sets, _ = sm.moment_features(sim.scores)
    for name in ("mean", "sd", "mean+sd"):
        np.testing.assert_allclose(sets[name], d.matrix(name), atol=1e-12)
    assert set(np.unique(sim.scores[:, :, 2])) <= set(range(1, 7))


def test_shrink_interpolates_between_the_null_and_the_fit():
    for a, b in ((TRUE.shrink(1.0), TRUE), (TRUE.shrink(0.0), TRUE.null())):
        np.testing.assert_allclose(a.sigma0, b.sigma0, rtol=1e-12)
        np.testing.assert_allclose(a.sigma1, b.sigma1, rtol=1e-12)
        assert a.mu1 == pytest.approx(b.mu1, abs=1e-12)
    h = TRUE.shrink(0.5)
    ratio = np.asarray(TRUE.sigma1) / np.asarray(TRUE.sigma0)
    np.testing.assert_allclose(np.asarray(h.sigma1) / np.asarray(h.sigma0), np.sqrt(ratio), rtol=1e-12)
    assert h.mu1 == pytest.approx(0.75)


def test_besag_clifford_hand_worked_and_valid():
    """The simulation's test is the one Besag-Clifford rule (analysis.statistics.cvstats)."""
    e = np.array([0, 1, 0, 1, 1, 0, 1], dtype=bool)
    r = cvstats.besag_clifford(e, h=3, n_max=99)
    assert (r["p"], r["n_used"]) == (3 / 5, 5)  # third exceedance at L = 5
    r = cvstats.besag_clifford(e[:3], h=10, n_max=3)
    assert (r["p"], r["n_used"]) == (2 / 4, 3)  # no stop: (1 + k) / (P + 1)
    assert not cvstats.besag_clifford(e[:3], h=10, n_max=99)["complete"]  # needs more nulls
    # under exchangeability P(p < 0.05) <= 0.05: 4000 null tests with iid statistics
    rng = np.random.default_rng(0)
    stat = rng.random((4000, 100))
    ps = np.array([cvstats.besag_clifford(row[1:] >= row[0], h=10, n_max=99)["p"]
                   for row in stat])
    rej = (ps < 0.05).mean()
    lo, hi = sm.binom_ci(int((ps < 0.05).sum()), 4000)
    assert lo <= 0.04 + 1e-12 and rej <= 0.05  # exact level 4/100 of the 99-permutation test
    assert hi >= 0.04


def test_study_cv_auc_equals_the_reference_engine():
    from analysis.fitting import models

    sim = sm.simulate(TRUE, 50, n_annotators=4, rng=4)
    sets, _ = sm.moment_features(sim.scores)
    st = sm.StudySettings(n_repeats=2, n_boot=0, n_permutations=0, perm_repeats=1)
    seq = np.random.SeedSequence(3)
    r = sm.analyse_study(sets, sim.y, st, seed_seq=seq)
    s_obs = np.random.SeedSequence(3).spawn(3)[0]
    sp = sm._fold_splits(sim.y, 10, s_obs.generate_state(2))
    assert {int(sim.y[te].sum()) for _, te in sp} == {1}  # 10 melanomas over 10 folds
    splits = [models.Split(i // 10, i % 10, tr, te) for i, (tr, te) in enumerate(sp)]
    for name in ("sd", "mean"):
        ref = models.cross_validate(sets[name], sim.y, splits, engine="reference").folds["auc"]
        assert r[f"auc_{name}"] == pytest.approx(ref.mean(), abs=1e-9)
    assert r["diff_mean_sd"] == pytest.approx(r["auc_mean"] - r["auc_sd"], abs=1e-12)


def test_tiny_null_simulation_level_and_coverage():
    """40 generative-null studies (40 images, 3 annotators): the bootstrap-CV interval of
    the sd cvAUC and of the paired difference miss the truth (1/2, 0) and the
    permutation test rejects at most as often as a generous binomial bound allows."""
    st = sm.StudySettings(n_repeats=2, n_boot=20, n_permutations=39, perm_repeats=1, h=5)
    conds = [{"model": "null", "source": TRUE.null(), "n_images": 40, "n_annotators": 3}]
    studies = sm.run_studies(conds, st, n_datasets=40, seed=2018, stream="sim_test")
    cov = sm.coverage_table(studies, sm._null_truth(st).assign(model="null"), st)
    boot = cov[cov["method"] == "bootstrap_cv"].set_index("quantity")
    # P(Binomial(40, 0.05) >= 7) < 0.005: a gross loss of coverage fails here
    assert (boot.loc[["auc_sd", "diff_mean_sd"], "coverage"] >= 1 - 6 / 40).all()
    rej = cov.loc[cov["method"] == "permutation", "rejection_rate"].iloc[0]
    assert rej <= 6 / 40
    assert (studies["n_perm_used"] <= 39).all() and studies["n_perm_used"].min() < 39


def test_null_truth_by_monte_carlo_is_one_half():
    tv = sm.true_values(TRUE.null(), n_images=60, n_annotators=3, n_draws=40, n_test=500,
                        seed=1).set_index("quantity")
    # every fitted model has population AUC 1/2 under the null; 4 MC standard errors
    assert abs(tv.loc["auc_sd", "truth"] - 0.5) <= 4 * tv.loc["auc_sd", "truth_mc_std_error"]
    assert abs(tv.loc["diff_mean_sd", "truth"]) <= 4 * tv.loc["diff_mean_sd", "truth_mc_std_error"]


def test_calibration_hits_its_target():
    """A study drawn from a half-shrunk model; calibrating the full model to it must
    reproduce its cvAUC, checked by a fresh Monte Carlo with other seeds."""
    study = sm.simulate(TRUE.shrink(0.5), 80, n_annotators=5, rng=3).design()
    cp = sm.calibrate_to_group(study, params=TRUE, n_repeats=10, n_studies=60, seed=7)
    assert 0 < cp.shrinkage < 1
    fresh, se = sm.model_cv_auc(cp, n_images=80, n_annotators=5, n_studies=120, n_repeats=1,
                                seed=8)
    # MC tolerance: the root's own MC error plus the check's, 3 standard errors
    assert abs(fresh - cp.target_cv_auc) <= 3 * np.hypot(se, cp.model_cv_auc_se)
    assert abs(cp.model_cv_auc - cp.target_cv_auc) <= 0.02  # xtol on lambda, in AUC units


def test_seeded_runs_are_identical_and_independent_of_workers():
    design = sm.simulate(TRUE, 40, n_annotators=4, rng=2).design()
    kw = dict(design=design, n_datasets=2, n_permutations=19, n_boot=10, n_repeats=2,
              perm_repeats=1, n_truth=10, n_true=200, seed=5, n_images=40, n_annotators=4)
    a = sm.calibration(TRUE, n_jobs=1, **kw)
    b = sm.calibration(TRUE, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(a.studies, b.studies)
    pd.testing.assert_frame_equal(a.coverage, b.coverage)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert list(a.summary["model"]) == ["permuted", "generative null", "fitted"]
    x = sm.simulate(TRUE, 30, rng=9)
    y = sm.simulate(TRUE, 30, rng=9)
    np.testing.assert_array_equal(x.scores, y.scores)


def test_power_summary_and_sentence():
    pw = sm.power(TRUE, n_images=(40,), n_annotators=(3, 6), n_datasets=4, n_permutations=19,
                  perm_repeats=1)
    assert list(pw.summary["n_annotators"]) == [3, 6]
    assert ((pw.summary["power_conf_low"] <= pw.summary["power"])
            & (pw.summary["power"] <= pw.summary["power_conf_high"])).all()
    assert prose.power_sentence(pw.summary).startswith("For 80% power")


def test_fit_to_group7_is_plausible(group7):
    p = sm.fit_to_group(group7)
    assert p.features == group7.features and p.prevalence == pytest.approx(18 / 96)
    assert p.mu1 > 0 and all(s > 0 for s in p.sigma0 + p.sigma1)
    assert p.low[p.features.index("color")] == 1 and p.high[p.features.index("color")] == 6


def test_coverage_sentence_quotes_the_table():
    design = sm.simulate(TRUE, 40, n_annotators=4, rng=2).design()
    cal = sm.calibration(TRUE, design=design, n_datasets=2, n_permutations=19, n_boot=10,
                         n_repeats=2, perm_repeats=1, n_truth=10, n_true=200, n_images=40,
                         n_annotators=4, seed=5)
    text = prose.coverage_sentence(cal)
    r = cal.coverage.query("model == 'fitted' and quantity == 'auc_sd' and method == 'bootstrap_cv'")
    # the permuted features are those of the design passed (here a simulated study)
    assert f"{r['coverage'].iloc[0]:.1%}" in text
    assert "label permutations of the simulated study" in text and "group 7" not in text
    assert "cvAUC(mean) - cvAUC(sd)" in text


# --- the strong-signal scenario (issue 20, item 5) -------------------------------------

def test_mean_calibration_hits_its_target():
    """A study drawn from a model with a larger latent shift; the second calibration
    target (the mean set's cvAUC) must be reproduced, checked by a fresh Monte Carlo
    with other seeds, and the shift must have risen."""
    strong_truth = sm.SimParams(**{**TRUE.__dict__, "mu1": 3.0})
    study = sm.simulate(strong_truth, 80, n_annotators=5, rng=3).design()
    base = sm.calibrate_to_group(study, params=TRUE, n_repeats=10, n_studies=60, seed=7)
    strong, info = sm.calibrate_mean(study, base, n_repeats=10, n_studies=60, seed=7)
    assert info["mu1"] > base.mu1 == info["mu1_calibrated"]
    assert strong.mu1 == info["mu1"] and 0 <= info["noise_factor"] <= 1
    fresh, se = sm.model_cv_auc(strong, n_images=80, n_annotators=5, n_studies=120,
                                n_repeats=1, seed=8, feature_set="mean")
    # MC tolerance: the root's own MC error plus the check's, 3 standard errors, plus
    # the step-2 noise change (at most 0.01 of mean cvAUC in these models)
    assert abs(fresh - info["target_mean_cv_auc"]) <= (
        3 * np.hypot(se, info["model_mean_cv_auc_se"]) + 0.01)
    assert abs(info["model_mean_cv_auc"] - info["target_mean_cv_auc"]) <= 0.02
    # the sd set is matched too when reachable, else the noise factor is at its end
    gap = info["model_sd_cv_auc"] - info["target_sd_cv_auc"]
    assert abs(gap) <= 0.02 or info["noise_factor"] in (0.0, 1.0)


def test_model_cv_auc_of_the_sd_set_unchanged_and_bad_set_rejected():
    a = sm.model_cv_auc(TRUE, n_images=40, n_annotators=3, n_studies=25, n_repeats=1, seed=1)
    b = sm.model_cv_auc(TRUE, n_images=40, n_annotators=3, n_studies=25, n_repeats=1, seed=1,
                        feature_set="sd")
    assert a == b
    with pytest.raises(ValueError, match="feature_set"):
        sm.model_cv_auc(TRUE, n_studies=1, feature_set="kurtosis")


def _strong_calibration(n_jobs=1, strong=True):
    design = sm.simulate(TRUE, 40, n_annotators=4, rng=2).design()
    kw = dict(design=design, n_datasets=3, n_permutations=19, n_boot=10, n_repeats=2,
              perm_repeats=1, n_truth=10, n_true=200, seed=5, n_images=40, n_annotators=4)
    s = sm.SimParams(**{**TRUE.__dict__, "mu1": 3.0}) if strong else None
    return sm.calibration(TRUE, n_jobs=n_jobs, strong=s,
                          strong_info={"mu1": 3.0} if strong else None, **kw)


def test_strong_scenario_is_deterministic_and_leaves_the_other_models_alone():
    a, b, plain = _strong_calibration(1), _strong_calibration(2), _strong_calibration(1, False)
    pd.testing.assert_frame_equal(a.studies, b.studies)
    pd.testing.assert_frame_equal(a.coverage, b.coverage)
    assert list(a.summary["model"]) == ["permuted", "generative null", "fitted", "strong"]
    # the strong studies have their own streams: the other models' rows are unchanged
    old = a.studies[a.studies["model"] != "strong"][plain.studies.columns]
    pd.testing.assert_frame_equal(old.reset_index(drop=True), plain.studies)
    strong = a.coverage[a.coverage["model"] == "strong"]
    assert set(strong["quantity"]) == {"auc_sd", "auc_mean", "auc_mean+sd", "diff_mean_sd",
                                       "diff_mean+sd_mean"}
    assert a.settings["strong"]["mu1"] == 3.0
    # the strong model's truth: a larger shift gives the mean set a larger true cvAUC
    tr = a.truth.set_index(["model", "quantity"])["truth"]
    assert tr[("strong", "auc_mean")] > tr[("fitted", "auc_mean")]


def test_c4_power_counts_the_rules_by_hand():
    """Five studies with known intervals: "mean beats sd" is supported when z > 1.96,
    the non-inferiority part when the upper limit is below the margin."""
    studies = pd.DataFrame({
        "model": "strong",
        "diff_mean_sd": [0.20, 0.10, 0.30, -0.25, 0.05],
        "diff_mean_sd_boot_std_error": [0.05, 0.06, 0.10, 0.10, 0.05],
        "diff_mean_sd_boot_conf_low": np.nan, "diff_mean_sd_boot_conf_high": np.nan,
        "diff_mean+sd_mean": 0.0, "diff_mean+sd_mean_boot_std_error": 0.05,
        "diff_mean+sd_mean_boot_conf_low": [-0.2, -0.1, 0.01, -0.05, -0.3],
        "diff_mean+sd_mean_boot_conf_high": [0.01, 0.05, 0.2, 0.019, 0.02],
    })
    studies["diff_mean_sd_boot_conf_low"] = studies["diff_mean_sd"] - 1.96 * studies[
        "diff_mean_sd_boot_std_error"]
    studies["diff_mean_sd_boot_conf_high"] = studies["diff_mean_sd"] + 1.96 * studies[
        "diff_mean_sd_boot_std_error"]
    truth = pd.DataFrame({"model": "strong", "quantity": ["diff_mean_sd", "diff_mean+sd_mean"],
                          "truth": [0.15, -0.02]})
    cal = sm.Calibration(studies=studies, summary=pd.DataFrame(), coverage=pd.DataFrame(),
                         truth=truth)
    t = sm.c4_power(cal, 0.02).set_index("quantity")
    # z: 4.0, 1.67, 3.0, -2.5, 1.0 -> supported 2 of 5, refuted 1 of 5
    assert t.loc["diff_mean_sd", "supported"] == pytest.approx(2 / 5)
    assert t.loc["diff_mean_sd", "refuted"] == pytest.approx(1 / 5)
    # upper < 0.02: 0.01 and 0.019 (0.02 is not below) -> 2 of 5; lower > 0: 1 of 5
    assert t.loc["diff_mean+sd_mean", "supported"] == pytest.approx(2 / 5)
    assert t.loc["diff_mean+sd_mean", "refuted"] == pytest.approx(1 / 5)
    assert t.loc["diff_mean_sd", "truth"] == 0.15
    lo, hi = t.loc["diff_mean_sd", ["supported_conf_low", "supported_conf_high"]]
    assert lo < 0.4 < hi
    text = prose.c4_power_sentence(t.reset_index())
    assert "40% [" in text and "0.150" in text and "-0.020" in text


def test_strong_regime_sentence_quotes_the_table():
    cal = _strong_calibration(1)
    cal.settings["strong"].update(mu1_calibrated=1.5, noise_factor=0.0, model_mean_cv_auc=0.95,
                                  target_mean_cv_auc=0.954, target_sd_cv_auc=0.765,
                                  model_sd_cv_auc=0.83, model_sd_cv_auc_se=0.005)
    text = prose.strong_regime_sentence(cal.coverage, cal.settings)
    r = cal.coverage[(cal.coverage["model"] == "strong") & (cal.coverage["quantity"] == "auc_mean")
                     & (cal.coverage["method"] == "bootstrap_cv")].iloc[0]
    assert f"{r['coverage']:.1%}" in text and "cannot both be met" in text
    assert "1.50 to 3.00" in text
    assert prose.strong_regime_sentence(cal.coverage[cal.coverage["model"] != "strong"],
                                        cal.settings) is None
