"""The review's first question (issue 22, item 2): does disagreement add to the mean?
``analysis.studies.analyze.incremental_value`` reads the paired bootstrap-CV differences and the
likelihood-ratio tests the review computed, adds the one-sided test of an improvement,
and says so on data whose answer is known."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.design import dataset
from analysis.design.dataset import DatasetWarning
from analysis.statistics import cvinference
from analysis.studies import analyze, review


def _sd_informative(n=120, seed=5):
    """Four persons rate two features; the label is carried by how much they disagree
    (positives: spread 1.8, negatives 0.8) and not by the mean: adding sd to the mean
    must improve the cvAUC (not so strongly that the data are separated)."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i in range(n):
        y = int(i % 3 == 0)
        spread = 1.8 if y else 0.8
        for f in ("f", "g"):
            centre = rng.normal(0, 1)
            for r in ("R1", "R2", "R3", "R4"):
                rows.append((f"u{i:03d}", r, f, centre + rng.normal(0, spread)))
        labels.append((f"u{i:03d}", y))
    return (pd.DataFrame(rows, columns=["unit", "rater", "feature", "score"]),
            pd.DataFrame(labels, columns=["unit", "label"]))


@pytest.fixture(scope="module")
def result():
    long, lab = _sd_informative()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        d = dataset.load(long, lab, raters="persons", n_splits=5)
    return analyze.analyze(d, repeats=2, n_boot=40, n_permutations=39, perm_repeats=1,
                           n_seeds=0, calibration_boot=20, curve=False, quiet=True)


def test_incremental_reads_the_reviews_paired_differences_and_lrts(result):
    rv = result.review
    inc = analyze.incremental_value(rv)
    assert list(inc.columns) == analyze.INCREMENTAL_COLUMNS
    assert set(inc["feature_set"]) == {"mean+sd", "mean+skewness", "mean+kurtosis",
                                       "moments_all"}
    cmp_ = rv.comparisons
    for r in inc.itertuples(index=False):
        c = cmp_[(cmp_["set_a"] == r.feature_set) & (cmp_["set_b"] == "mean")
                 & (cmp_["kind"] == "noninferior") & (cmp_["estimator"] == r.estimator)].iloc[0]
        assert (r.estimate, r.conf_low, r.conf_high) == (c["diff"], c["conf_low"], c["conf_high"])
        # the one-sided p of the same z: upper tail
        assert r.p_value == pytest.approx(stats.norm.sf(c["statistic"]), rel=1e-9)
        assert r.verdict_improves == cvinference.verdict_better(c["diff"], c["p_value"])
        assert r.verdict_no_gain == cvinference.verdict_noninferior(
            c["conf_low"], c["conf_high"], rv.settings["margin"])
        lrt = cmp_[(cmp_["set_a"] == r.feature_set) & (cmp_["kind"] == "nested")
                   & (cmp_["estimator"] == r.estimator)]
        if len(lrt):
            np.testing.assert_equal(r.lrt_p_value, lrt["p_value"].iloc[0])
        else:  # all moments at once: the same tests, computed here
            t = review.nested_tests(result.design, "mean", r.feature_set)
            np.testing.assert_equal(r.lrt_p_value,
                                    t[0 if r.estimator == "mle" else 1]["p_value"])
            assert np.isfinite(r.lrt_p_value)
        assert r.n_units == len(result.design.labels)


def test_disagreement_that_carries_the_label_improves_on_the_mean(result):
    inc = analyze.incremental_value(result.review).set_index(["feature_set", "estimator"])
    for est in ("mle", "firth"):
        r = inc.loc[("mean+sd", est)]
        assert r["estimate"] > 0.1 and r["conf_low"] > 0
        assert r["verdict_improves"] == "supported" and r["p_value"] < 0.025
        assert r["lrt_p_value"] < 0.05


def test_incremental_csv_is_written_with_the_tables(result, monkeypatch):
    pd.testing.assert_frame_equal(result.tables()["incremental.csv"],
                                  analyze.incremental_value(result.review))
    # computed once, by analyze: writing the tables does not refit the models
    def refit(rv):
        raise AssertionError("incremental_value called again")

    monkeypatch.setattr(analyze, "incremental_value", refit)
    assert result.tables()["incremental.csv"] is result.incremental


def test_class_words_and_subsets_are_the_users():
    long, lab = _sd_informative(n=30)
    lab["label"] = lab["label"].map({1: "nodule", 0: "benign"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        d = dataset.load(long, lab, raters="persons", positive="nodule", n_splits=5)
    assert review.class_words(d) == ("benign", "nodule")
    assert review.subsets(d) == {"all": None, "nodule": 1, "benign": 0}
    mt = review.moment_tests(d)
    assert set(mt["direction"]) <= {"higher in nodule", "lower in nodule", "no difference"}
    assert {"median_positive", "median_negative"} <= set(mt.columns)
    assert set(mt["positive_class"]) == {"nodule"} and set(mt["negative_class"]) == {"benign"}
    icc, ka = review.agreement_tables(d)
    assert set(ka["subset"]) == {"all", "nodule", "benign"}
    assert len(set(icc["type"])) == 6  # persons: every form
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        p = dataset.load(long, lab, raters="positions", positive="nodule", n_splits=5)
    icc, _ = review.agreement_tables(p)
    assert set(icc["type"]) == {"ICC1", "ICC1k"}  # positions: the one-way forms only
