"""Calibration (analysis.statistics.calibration) against R (make_calibration.R) and by hand.

Tolerance 1e-6 relative for the logistic recalibration fits (iterative Newton to steps
below 1e-10, R's glm to epsilon 1e-14), as the issue asks; 1e-12 for closed forms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.statistics import calibration as cal
from tests.conftest import FIXTURES

R = FIXTURES / "r"


def _cases():
    x = pd.read_csv(R / "calibration_input.csv")
    return {c: (g["y"].to_numpy(), g["p"].to_numpy()) for c, g in x.groupby("case", sort=False)}


REF = pd.read_csv(R / "calibration_output.csv").set_index("case")


@pytest.mark.parametrize("case", list(REF.index))
def test_intercept_slope_match_r_glm(case):
    y, p = _cases()[case]
    ref = REF.loc[case]
    ci = cal.calibration_intercept(y, p)
    cs = cal.calibration_slope(y, p)
    assert ci["converged"] and cs["converged"]
    assert ci["estimate"] == pytest.approx(ref["intercept"], rel=1e-6)
    assert ci["std_error"] == pytest.approx(ref["intercept_se"], rel=1e-6)
    assert cs["estimate"] == pytest.approx(ref["slope"], rel=1e-6)
    assert cs["std_error"] == pytest.approx(ref["slope_se"], rel=1e-6)
    assert cs["intercept"] == pytest.approx(ref["slope_intercept"], rel=1e-6)
    assert ci["n_clipped"] == ref["n_clipped"]
    assert cal.brier_score(y, p) == pytest.approx(ref["brier"], rel=1e-12)


def test_brier_by_hand():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.4, 0.0])
    # (0.1^2 + 0.2^2 + 0.6^2 + 0) / 4
    assert cal.brier_score(y, p) == pytest.approx((0.01 + 0.04 + 0.36) / 4, abs=1e-15)
    # predicting the prevalence q gives q(1 - q)
    y = np.r_[np.ones(18), np.zeros(78)]
    assert cal.brier_score(y, np.full(96, 18 / 96)) == pytest.approx(18 / 96 * 78 / 96, rel=1e-14)


def test_perfectly_calibrated_by_construction():
    """p equal to the fitted probabilities of a logistic model on logit(p): a = 0, b = 1.

    If y ~ logit(p) is fitted and its fitted values are fed back as p, the slope is 1 and
    the intercept 0 (the MLE's score equations), whatever the data."""
    y, p = _cases()["B_too_high"]
    lp = np.log(p / (1 - p))
    s = cal.calibration_slope(y, p)
    p_fit = 1 / (1 + np.exp(-(s["intercept"] + s["estimate"] * lp)))
    assert cal.calibration_slope(y, p_fit)["estimate"] == pytest.approx(1.0, abs=1e-8)
    assert cal.calibration_intercept(y, p_fit)["estimate"] == pytest.approx(0.0, abs=1e-8)


def test_clipping_is_counted_and_slope_nan_when_separated():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.0, 0.1, 0.2, 0.8, 0.9, 1.0])  # logit(p) separates y completely
    s = cal.calibration_slope(y, p)
    assert s["n_clipped"] == 2
    assert not s["converged"] and np.isnan(s["estimate"])
    lp, n = cal.clipped_logit(p)
    assert n == 2 and np.isfinite(lp).all() and lp.max() == pytest.approx(-lp.min())


def test_bad_inputs():
    with pytest.raises(ValueError):
        cal.brier_score([0, 1], [0.5, 1.2])
    with pytest.raises(ValueError):
        cal.brier_score([0, 2], [0.5, 0.5])


def test_bootstrap_table_shape_determinism_and_coverage_of_estimate():
    y, p = _cases()["A_overfit"]
    a = cal.calibration(y, p, n_boot=300, rng=7)
    b = cal.calibration(y, p, n_boot=300, rng=7)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == cal.CALIBRATION_COLUMNS
    assert list(a["statistic"]) == ["brier", "intercept", "slope"]
    ref = REF.loc["A_overfit"]
    est = a.set_index("statistic")["estimate"]
    assert est["brier"] == pytest.approx(ref["brier"], rel=1e-12)
    assert est["slope"] == pytest.approx(ref["slope"], rel=1e-6)
    assert (a["conf_low"] <= a["estimate"]).all() and (a["estimate"] <= a["conf_high"]).all()
    assert (a["n_valid"] <= 300).all() and (a["n_boot"] == 300).all()
    assert (a["note"] == "").all()
    c = cal.calibration(*_cases()["C_clipped"], n_boot=50, rng=1).set_index("statistic")
    assert c.loc["brier", "note"] == "" and "6 probabilities clipped" in c.loc["slope", "note"]


def test_bootstrap_uses_stratified_resamples():
    """Same resamples as inference.bootstrap_indices(strata=y): Brier replicates by hand."""
    from analysis.statistics.inference import bootstrap_indices, ci_from_replicates

    y, p = _cases()["B_too_high"]
    idx = bootstrap_indices(len(y), 200, 11, strata=y)
    t = np.mean((y[idx] - p[idx]) ** 2, axis=1)
    ref = ci_from_replicates(t, cal.brier_score(y, p), methods=("percentile",))
    out = cal.calibration(y, p, n_boot=200, rng=11).set_index("statistic").loc["brier"]
    assert out["conf_low"] == pytest.approx(ref["low"].iloc[0], abs=1e-14)
    assert out["conf_high"] == pytest.approx(ref["high"].iloc[0], abs=1e-14)


def test_binomial_intervals_match_r():
    ref = pd.read_csv(R / "binom_intervals.csv")
    lo, hi = cal.binomial_interval(ref["k"], ref["n"], "wilson")
    np.testing.assert_allclose(lo, ref["wilson_low"], atol=1e-12)
    np.testing.assert_allclose(hi, ref["wilson_high"], atol=1e-12)
    lo, hi = cal.binomial_interval(ref["k"], ref["n"], "clopper-pearson")
    # R's binom.test inverts the beta quantiles by uniroot-free qbeta, as statsmodels
    np.testing.assert_allclose(lo, ref["cp_low"], atol=1e-10)
    np.testing.assert_allclose(hi, ref["cp_high"], atol=1e-10)


def test_bins_by_hand():
    y = np.array([0, 0, 1, 0, 1, 1, 0, 1, 1, 1])
    p = np.linspace(0.05, 0.95, 10)
    b = cal.calibration_bins(y, p, n_bins=2)
    assert list(b["n"]) == [5, 5] and list(b["events"]) == [2, 4]
    np.testing.assert_allclose(b["predicted"], [p[:5].mean(), p[5:].mean()], rtol=1e-14)
    np.testing.assert_allclose(b["observed"], [0.4, 0.8], rtol=1e-14)
    assert (b["obs_low"] < b["observed"]).all() and (b["observed"] < b["obs_high"]).all()
    u = cal.calibration_bins(y, p, n_bins=4, strategy="uniform")
    assert u["n"].sum() == 10 and list(u["bin"]) == [1, 2, 3, 4]


def test_lowess_matches_r():
    ref = pd.read_csv(R / "calibration_lowess.csv")
    for case, (y, p) in _cases().items():
        r = ref[ref["case"] == case]
        out = cal.calibration_curve(y, p)
        np.testing.assert_allclose(out["predicted"], r["predicted"], atol=1e-12)
        np.testing.assert_allclose(out["observed"], np.clip(r["observed"], 0, 1), atol=1e-8,
                                   err_msg=case)


def test_by_group():
    x = pd.read_csv(R / "calibration_input.csv")
    out = cal.calibration_by_group(x, ["case"], n_boot=50, rng=1)
    assert list(out.columns) == ["case"] + cal.CALIBRATION_COLUMNS
    assert len(out) == 3 * 3


def test_intercept_with_many_clipped_predictions():
    """Most predictions 0/1 (a separated MLE fold model): the intercept still exists."""
    # 18 melanomas: 15 predicted 1, 3 predicted 0; 78 others: 76 predicted 0, 2 predicted 1;
    # the information at a = 0 is about 1e-8, so a plain Newton step from 0 overshoots
    y = np.r_[np.ones(18), np.zeros(78)]
    p = np.r_[np.ones(15), np.zeros(3), np.zeros(76), np.ones(2)]
    out = cal.calibration_intercept(y, p)
    assert out["converged"] and out["n_clipped"] == 96
    lp, _ = cal.clipped_logit(p)
    # the score equation holds at the estimate
    assert np.sum(y - 1 / (1 + np.exp(-(out["estimate"] + lp)))) == pytest.approx(0, abs=1e-9)


def test_plot_data_and_figures_draw():
    import matplotlib

    matplotlib.use("Agg")
    from analysis.presentation import figures

    x = pd.read_csv(R / "calibration_input.csv").assign(estimator="mle", feature_set="sd")
    bins, curve = cal.calibration_plot_data(x, ["case"])
    assert list(bins.columns[:2]) == ["case", "bin"] and set(bins["case"]) == set(x["case"])
    assert len(curve) == len(x)
    fig = figures.calibration_plot(bins, curve, facet="~ case").draw()
    assert fig is not None
    tidy = pd.DataFrame({
        "feature_set": "mean+sd", "estimator": ["mle", "mle", "firth", "firth"],
        "term": ["(Intercept)", "sd_border"] * 2, "odds_ratio": [0.1, 0.5, 0.2, 0.6],
        "odds_ratio_conf_low": [0.01, 0.2, 0.05, 0.3], "odds_ratio_conf_high": [1.0, np.inf, 0.9, 1.2]})
    assert figures.coefficient_plot(tidy).draw() is not None
    assert figures.term_label("sd_border") == "SD: Border"
    assert figures.term_label("dermoscopic_structures_4") == "Dermoscopic structures, annotator 4"
