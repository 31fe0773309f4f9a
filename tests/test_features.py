import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.design import features


def test_moments_hand_worked_case():
    # x = 1, 2, 3, 4, 10: mean 4; central moments m2 = 10, m3 = 36, m4 = 278.8
    mom, degen = features.moments_across(np.array([[1.0, 2, 3, 4, 10]]))
    assert mom["mean"][0] == pytest.approx(4.0)
    assert mom["sd"][0] == pytest.approx(np.sqrt(50 / 4))
    assert mom["skewness"][0] == pytest.approx(36 / 10**1.5)
    assert mom["kurtosis"][0] == pytest.approx(278.8 / 100 - 3)
    assert not degen[0]


def test_moments_match_scipy_biased_estimators():
    x = np.random.default_rng(1).normal(size=(50, 6))
    mom, _ = features.moments_across(x)
    # closed-form moments of 6 values (a few dozen flops, no BLAS): ~1e-15 relative
    np.testing.assert_allclose(mom["skewness"], stats.skew(x, axis=1, bias=True), rtol=1e-12)
    np.testing.assert_allclose(mom["kurtosis"], stats.kurtosis(x, axis=1, fisher=True, bias=True),
                               rtol=1e-12)
    np.testing.assert_allclose(mom["sd"], x.std(axis=1, ddof=1), rtol=1e-12)


def test_all_annotators_equal_gives_zero_higher_moments_and_is_counted():
    mom, degen = features.moments_across(np.array([[2.0, 2, 2], [1.0, 2, 4]]))
    assert degen.tolist() == [True, False]
    assert mom["skewness"][0] == 0 and mom["kurtosis"][0] == 0 and mom["sd"][0] == 0
    assert np.isfinite(mom["skewness"]).all() and np.isfinite(mom["kurtosis"]).all()


def test_zscore_columns_and_constant_column():
    f = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [5.0, 5, 5, 5]})
    z = features.zscore(f)
    assert z["a"].mean() == pytest.approx(0) and z["a"].std(ddof=1) == pytest.approx(1)
    assert (z["b"] == 0).all()


def test_feature_sets_of_the_paper():
    sets = features.feature_sets(features.GROUP7_FEATURES, tuple("123456"))
    widths = dict(zip(sets["feature_set"], sets["n_features"], strict=True))
    assert len(sets) == 20
    assert (sets["experiment"] <= 2).sum() == 17
    assert widths["mean+sd"] == 10
    assert widths["all"] == 30 and widths["moments_all"] == 20
    assert all(widths[f] == 6 for f in features.GROUP7_FEATURES)
    assert all(widths[f"annotator_{a}"] == 5 for a in "123456")
    assert all(widths[m] == 5 for m in features.MOMENTS)
    assert set(sets.loc[sets["experiment"] == 2, "feature_set"]) == {"moments_all", *features.MOMENTS}


def _toy_tidy():
    rows = []
    rng = np.random.default_rng(0)
    for i in range(12):
        for a in ("1", "2", "3"):
            for f in ("asymmetry", "border"):
                score = float(rng.integers(0, 5))
                if (i, a, f) == (3, "2", "border"):
                    score = np.nan
                rows.append((f"ISIC_{i:07d}", "c", "g", a, f, score))
    tidy = pd.DataFrame(rows, columns=["image_id", "cohort", "group", "annotator", "feature", "score"])
    labels = pd.DataFrame({"image_id": [f"ISIC_{i:07d}" for i in range(11)],
                           "melanoma": [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1]})
    return tidy, labels


def test_group_design_excludes_and_names_incomplete_and_unlabelled_images():
    tidy, labels = _toy_tidy()
    d = features.group_design(tidy, labels, cohort="c", group="g")
    ex = d.excluded.set_index("image_id")
    assert ex.loc["ISIC_0000003", "reason"] == "missing annotation"
    assert ex.loc["ISIC_0000003", "missing_columns"] == "border_2"
    assert ex.loc["ISIC_0000011", "reason"] == "no expert label"
    assert d.n_images == 10 and len(d.excluded) == 2
    assert list(d.raw.columns) == ["asymmetry_1", "border_1", "asymmetry_2", "border_2",
                                   "asymmetry_3", "border_3"]
    # moments are computed on the z-scored annotations of each feature
    block = d.z[["border_1", "border_2", "border_3"]].to_numpy()
    np.testing.assert_allclose(d.moments_raw["sd_border"], block.std(axis=1, ddof=1))
    assert d.matrix("annotator_2").shape == (10, 2)
    assert d.matrix("sd").shape == (10, 2)
    with pytest.raises(KeyError, match="unknown feature set"):
        d.columns("nope")


def test_group7_has_96_images_and_18_melanomas(group7):
    assert group7.n_images == 96
    assert group7.n_melanoma == 18
    assert len(group7.excluded) == 4
    assert (group7.excluded["reason"] == "missing annotation").all()
    assert group7.features == features.GROUP7_FEATURES
    assert group7.annotators == tuple("123456")
    assert group7.z.shape == (96, 30)
    # z-scores of 96 values: mean and sd are exact to ~n eps ~ 2e-14
    np.testing.assert_allclose(group7.z.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(group7.z.std(ddof=1), 1, atol=1e-12)
