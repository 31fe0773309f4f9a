"""The generative model, its calibration and power on any data set's design
(analysis.studies.simulate with designs from analysis.design.dataset / design_from_long)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.design import dataset
from analysis.design.features import design_from_long
from analysis.presentation import prose
from analysis.studies import simulate as sm

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
TRUE = sm.SimParams(
    features=("a", "b", "c"), low=(0, 0, 1), high=(2, 2, 6), intercept=(1.0, 0.5, 2.5),
    loading=(0.5, 0.3, 0.8), tau_b=(0.2, 0.15, 0.4), sigma0=(0.5, 0.4, 0.6),
    sigma1=(0.35, 0.3, 0.8), mu1=1.5, tau_nu=0.15, prevalence=0.2)
#: Tiny calibration and power settings: the tests check that the parts run and agree
#: with their inputs, not the Monte Carlo figures.
TINY_CAL = dict(n_datasets=2, n_permutations=19, n_boot=10, n_repeats=2, perm_repeats=1,
                n_truth=10, n_true=200, seed=5, n_boot_pooled=0)
TINY_POWER = dict(n_images=(60,), n_annotators=(3,), n_datasets=2, n_permutations=19,
                  perm_repeats=1)


@pytest.fixture(scope="module", params=["persons", "positions"])
def example(request):
    kw = {} if request.param == "persons" else {"raters": "positions", "min_raters": 3}
    return dataset.load(EXAMPLES / "annotations.csv", EXAMPLES / "labels.csv",
                        positive="malignant", **kw)


def test_fit_with_missing_scores_recovers_the_parameters():
    """2000 units x 8 raters on the latent scale, each unit keeping a random 3 to 8 of
    them (missing completely at random): the fit over the scores present recovers the
    parameters to the tolerances the complete fit meets (tests/test_simulate.py)."""
    sim = sm.simulate(TRUE, 2000, n_annotators=8, rng=42, discretize=False)
    rng = np.random.default_rng(7)
    x = sim.scores.copy()
    for i in range(len(x)):
        k = rng.integers(3, 9)
        x[i, rng.permutation(8)[k:], :] = np.nan
    assert np.isnan(x).mean() > 0.25
    est = sm.fit_scores(x, sim.y, TRUE.features)
    scale = np.sqrt(np.mean(sim.annotators.nu**2))
    np.testing.assert_allclose(est.sigma0, np.asarray(TRUE.sigma0) * scale, rtol=0.06)
    np.testing.assert_allclose(est.sigma1, np.asarray(TRUE.sigma1) * scale, rtol=0.10)
    np.testing.assert_allclose(est.loading, TRUE.loading, rtol=0.10)
    assert est.mu1 == pytest.approx(TRUE.mu1, rel=0.10)
    np.testing.assert_allclose(est.tau_b, sim.annotators.b.std(axis=0, ddof=1), rtol=0.15)
    assert abs(est.tau_nu - np.log(sim.annotators.nu).std(ddof=1)) < 0.06
    assert est.low == (float(np.nanmin(x[..., 0])), float(np.nanmin(x[..., 1])),
                       float(np.nanmin(x[..., 2])))


def test_fit_to_the_example_data(example):
    """The example data are drawn from a known model (data/examples/make_example.py:
    positives' rater noise smaller than negatives', a positive severity shift); the fit
    to either reading of the raters finds both, on the example's 0-4 scale."""
    p = sm.fit_to_group(example)
    assert p.features == example.features == ("colour", "margin", "shape", "texture")
    assert p.prevalence == pytest.approx(example.n_melanoma / example.n_images)
    assert p.low == (0.0,) * 4 and p.high == (4.0,) * 4 and p.ordinal is None
    assert np.all(np.isfinite(p.sigma0 + p.sigma1 + p.loading + p.tau_b))
    assert np.all(np.asarray(p.sigma1) < np.asarray(p.sigma0)) and 0.6 < p.mu1 < 2.4
    # units keep 4 or 5 of the 5 persons (min_raters 4), or 3 to 5 positions
    assert sm.raters_per_unit(example) in ((4, 5) if example.raters == "persons" else (3, 4, 5))


def test_calibration_and_power_on_the_example(example):
    cp = sm.calibrate_to_group(example, n_repeats=5, n_studies=40, seed=3)
    assert 0 <= cp.shrinkage <= 1 and 0.5 < cp.target_cv_auc < 1
    assert cp.target_cv_auc == pytest.approx(
        sm.observed_cv_auc(example, n_repeats=5, seed=3), abs=0)
    cal = sm.calibration(cp, design=example, **TINY_CAL)
    assert list(cal.summary["model"]) == ["permuted", "generative null", "fitted"]
    # generative studies have the design's size and raters per unit
    assert set(cal.summary["n_images"]) == {example.n_images}
    assert set(cal.summary["n_annotators"]) == {sm.raters_per_unit(example)}
    text = prose.coverage_sentence(cal)
    # the data set is named by its annotation file, not its folder
    assert "label permutations of annotations;" in text and "group 7" not in text
    pw = sm.power(cp, **TINY_POWER)
    assert pw.summary[["n_images", "n_annotators"]].values.tolist() == [[60, 3]]


def _hand_design(continuous, n=60):
    """Three raters who are persons score three features; rater C skips every third
    unit; 25% positives. Continuous: scores are not rounded."""
    rng = np.random.default_rng(11)
    y = (np.arange(n) % 4 == 0).astype(int)
    rows = []
    for i in range(n):
        for a in ("A", "B", "C"):
            if a == "C" and i % 3 == 0:
                continue
            for f in ("height", "weight", "zeta"):
                s = rng.normal(y[i] + (f == "zeta"), 1.0 - 0.4 * y[i])
                s = s if continuous and f != "zeta" else float(np.round(s))
                rows.append((f"u{i:02d}", a, f, s))
    long = pd.DataFrame(rows, columns=["image_id", "annotator", "feature", "score"])
    labels = pd.Series(y, index=[f"u{i:02d}" for i in range(n)], name="label")
    return design_from_long(long, labels, min_raters=2, moment_rule="defined")


def test_continuous_features_are_simulated_without_rounding():
    d = _hand_design(continuous=True)
    p = sm.fit_to_group(d)
    assert p.ordinal == (False, False, True)
    s = sm.simulate(p, 200, n_annotators=3, rng=1).scores
    assert not np.all(s[..., 0] == np.round(s[..., 0]))  # continuous: not rounded
    assert np.all(s[..., 2] == np.round(s[..., 2]))  # ordinal: rounded
    assert s[..., 2].min() >= p.low[2] and s[..., 2].max() <= p.high[2]
    assert "ordinal" in p.tidy().columns and "ordinal" not in TRUE.tidy().columns


def test_hand_made_design_with_unequal_raters_runs_end_to_end():
    d = _hand_design(continuous=False)
    assert d.raw.isna().any(axis=None) and sm.raters_per_unit(d) == 3
    cp = sm.calibrate_to_group(d, n_repeats=3, n_studies=20, seed=2)
    assert np.isfinite(cp.model_cv_auc) and cp.features == ("height", "weight", "zeta")
    cal = sm.calibration(cp, design=d, **TINY_CAL)
    assert np.isfinite(cal.summary["mean_cv_auc"]).all()
    assert sm.power(cp, **TINY_POWER).summary["n_datasets"].tolist() == [2]
