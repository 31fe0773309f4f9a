"""Generative model of crowd annotations, calibration and power (analysis.simulate)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import simulate as sm

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


def test_simulated_study_feeds_group_design_and_sd_features_match():
    sim = sm.simulate(TRUE, 60, n_annotators=5, rng=1)
    d = sim.design()
    assert d.n_images == 60 and d.n_melanoma == 12 and d.annotators == tuple("12345")
    X, _ = sm.sd_features(sim.scores)
    np.testing.assert_allclose(X, d.matrix("sd"), atol=1e-12)
    assert set(np.unique(sim.scores[:, :, 2])) <= set(range(1, 7))


def test_seeded_runs_are_identical_and_independent_of_workers():
    kw = dict(n_datasets=3, n_permutations=19, n_boot=100, seed=5, quiet=True, n_true=500)
    a = sm.calibration(TRUE, n_images=40, n_annotators=4, n_jobs=1, **kw)
    b = sm.calibration(TRUE, n_images=40, n_annotators=4, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(a.studies, b.studies)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    x = sm.simulate(TRUE, 30, rng=9)
    y = sm.simulate(TRUE, 30, rng=9)
    np.testing.assert_array_equal(x.scores, y.scores)


def test_null_permutation_pvalues_are_uniform():
    """Seeded: 100 null studies (30 images, 3 annotators) x 99 permutations; the KS test
    against U(0, 1) must not reject at level 0.01."""
    null = TRUE.null()
    assert null.mu1 == 0 and null.sigma0 == null.sigma1
    conds = [{"model": "null", "params": null, "n_images": 30, "n_annotators": 3}]
    st = sm.run_condition_studies(null, conds, n_datasets=100, n_permutations=99, n_boot=100,
                                  seed=2018, true_auc=False, quiet=True, key=9)
    assert st["n_null_nan"].sum() == 0
    assert stats.kstest(st["p_value"], "uniform").pvalue > 0.01
    assert (st["p_value"] < 0.05).mean() < 0.12


def test_power_summary_and_sentence():
    pw = sm.power(TRUE, n_images=(40,), n_annotators=(3, 6), n_datasets=4, n_permutations=19,
                  quiet=True)
    assert list(pw.summary["n_annotators"]) == [3, 6]
    assert ((pw.summary["power_low"] <= pw.summary["power"])
            & (pw.summary["power"] <= pw.summary["power_high"])).all()
    assert sm.power_sentence(pw.summary).startswith("For 80% power")


def test_fit_to_group7_is_plausible(group7):
    p = sm.fit_to_group(group7)
    assert p.features == group7.features and p.prevalence == pytest.approx(18 / 96)
    assert p.mu1 > 0 and all(s > 0 for s in p.sigma0 + p.sigma1)
    assert p.low[p.features.index("color")] == 1 and p.high[p.features.index("color")] == 6


def test_light_cv_equals_models_cross_validate_and_folds_are_stratified():
    from analysis import models

    sim = sm.simulate(TRUE, 50, n_annotators=4, rng=4)
    X, _ = sm.sd_features(sim.scores)
    sp = sm.stratified_folds(sim.y, 5, np.random.default_rng(0))
    assert sorted(np.concatenate([t for _, t in sp]).tolist()) == list(range(50))
    assert {int(sim.y[t].sum()) for _, t in sp} == {2}
    auc, scores = sm.cv_light(X, np.tile(sim.y, (5, 1)), sp)
    ref = models.cross_validate(X, sim.y, [models.Split(0, i, tr, te) for i, (tr, te) in enumerate(sp)],
                                engine="reference")
    # fold AUCs are ratios of pair counts with ties at inference.TIE_RTOL: equal (a
    # difference would be a tie step, >= 1/(2 n_pos n_neg)); the scores of the two fit
    # paths agree to the fits' stopping rules (1e-6 absolute on scores of size ~1)
    np.testing.assert_allclose(auc, ref.folds["auc"], atol=1e-10)
    np.testing.assert_allclose(np.concatenate(scores), ref.scores["score"], atol=1e-6)
