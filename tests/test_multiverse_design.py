"""The multiverse on any data set's design (analysis.studies.multiverse.multiverse_design)."""

from pathlib import Path as FsPath

import numpy as np
import pandas as pd
import pytest

from analysis.design import dataset
from analysis.design.features import design_from_long
from analysis.presentation import prose
from analysis.studies import multiverse as mv

EXAMPLES = FsPath(__file__).resolve().parents[1] / "data" / "examples"
#: Few paths, permutations and replicates: the test checks identity, not the numbers.
SMALL = dict(n_permutations=20, n_boot=5, quiet=True)
#: One path per level of every choice (both missing rules, every spread, every estimator).
GROUP7_PATHS = [mv.PAPER_PATH,
                mv.Path(scaling="raw", missing="impute", disagreement="entropy"),
                mv.Path(estimator="firth", cv="5-fold", disagreement="mad", missing="impute"),
                mv.Path(estimator="ridge", cv="5-fold", disagreement="range")]


@pytest.fixture(scope="module")
def example():
    return dataset.load(EXAMPLES / "annotations.csv", EXAMPLES / "labels.csv",
                        positive="malignant")


@pytest.fixture(scope="module")
def example_positions():
    return dataset.load(EXAMPLES / "annotations.csv", EXAMPLES / "labels.csv",
                        positive="malignant", raters="positions", min_raters=3)


def test_group7_through_the_design_is_exactly_the_enhance_multiverse(annotations):
    """The general path (load_builtin -> design -> multiverse_design) gives the rows of
    the ENHANCE path bit for bit, imputed paths included."""
    ref = mv.multiverse(annotations.tidy, annotations.labels, paths=GROUP7_PATHS, **SMALL)
    d = dataset.load_builtin(dataset.GROUP7, annotations=annotations)
    got = mv.multiverse_design(d, paths=GROUP7_PATHS, **SMALL)
    assert got.skipped.empty
    pd.testing.assert_frame_equal(got.frame.drop(columns="seconds"),
                                  ref.frame.drop(columns="seconds"), check_exact=True)
    assert any("4 unit(s)" in n for n in got.notes)  # the 4 incomplete images come back


def test_spread_over_the_raters_a_unit_has_by_hand():
    x = np.array([[1.0, 2.0, np.nan, 4.0], [0.0, np.nan, np.nan, 2.0], [3.0, 3.0, 1.0, 0.0]])
    for measure, ref in (
        ("sd", lambda v: np.std(v, ddof=1)),
        ("mad", lambda v: np.median(np.abs(v - np.median(v)))),
        ("range", lambda v: v.max() - v.min()),
        ("entropy", lambda v: -sum(p * np.log(p) for p in
                                   np.unique(v, return_counts=True)[1] / len(v))),
    ):
        mean, s = mv.spread_available(x, x, measure)
        for i, row in enumerate(x):
            v = row[~np.isnan(row)]
            assert mean[i] == pytest.approx(v.mean(), abs=1e-15)
            assert s[i] == pytest.approx(ref(v), abs=1e-12), (measure, i)
    # a complete matrix is the complete-data function itself
    full = x[2:]
    np.testing.assert_array_equal(mv.spread_available(full, full, "sd")[1],
                                  mv.spread(full, full, "sd"))


def test_example_persons_unequal_raters_moments_path_equals_the_design(example):
    """Units with 4 or 5 of 5 raters: the moments path's features are the design's
    mean and sd sets (both spread over the raters a unit has)."""
    assert example.raw.isna().any(axis=None)
    src, notes = mv.design_source(example)
    d = src.path_features(mv.PAPER_PATH)
    np.testing.assert_allclose(d.consensus, example.matrix("mean"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(d.disagreement, example.matrix("sd"), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(d.y, example.labels)
    assert src.full is None and "unequal numbers of raters" in src.impute_unavailable


def test_example_positions_raw_path_equals_the_design(example_positions):
    """Positions: the design z-scores each feature over all its cells, an affine map that
    the final z-scoring over units undoes, so the raw path gives the design's sets."""
    d = mv.design_source(example_positions)[0].path_features(mv.Path(scaling="raw"))
    np.testing.assert_allclose(d.consensus, example_positions.matrix("mean"), rtol=0, atol=1e-9)
    np.testing.assert_allclose(d.disagreement, example_positions.matrix("sd"), rtol=0, atol=1e-9)


def test_unsupported_paths_are_listed_with_the_reason(example, example_positions):
    paths = mv.grid(estimator=("mle",), cv=("5-fold",))
    res = mv.multiverse_design(example_positions, paths=paths, **SMALL)
    assert len(res.frame) == 2 * 4  # raw x drop x 4 spreads
    assert set(res.frame["scaling"]) == {"raw"} and set(res.frame["missing"]) == {"drop"}
    assert len(res.skipped) == len(paths) - 4
    assert res.skipped["reason"].str.contains("no per-rater z-score").sum() == 8
    assert res.skipped["reason"].str.startswith("missing = impute: raters are positions").sum() == 4
    # path ids are positions in the requested list, as in the full grid
    ids = [i for i, p in enumerate(paths) if p.scaling == "raw" and p.missing == "drop"]
    assert sorted(set(res.frame["path_id"])) == ids
    assert (res.frame["n_images"] == example_positions.n_images).all()
    assert res.settings["n_paths_skipped"] == len(res.skipped)
    # persons with unequal raters: zscore paths run, impute does not
    res = mv.multiverse_design(example, paths=paths[:2], **SMALL)
    assert len(res.frame) == 4 and res.skipped.empty


def _hand_design(continuous=False, n=40):
    """30% positives; 3 persons score two features; unit i misses rater C when i % 4 == 0."""
    rng = np.random.default_rng(5)
    y = (np.arange(n) % 10 < 3).astype(int)
    rows = []
    for i in range(n):
        for a in ("A", "B", "C"):
            if a == "C" and i % 4 == 0:
                continue
            for f in ("size", "tone"):
                s = rng.normal(y[i] + (f == "tone"), 1.0 - 0.5 * y[i])
                rows.append((f"u{i:02d}", a, f, s if continuous else float(np.round(s))))
    long = pd.DataFrame(rows, columns=["image_id", "annotator", "feature", "score"])
    labels = pd.Series(y, index=[f"u{i:02d}" for i in range(n)], name="label")
    return design_from_long(long, labels, min_raters=2)


def test_hand_made_design_continuous_scores_and_few_positives():
    d = _hand_design(continuous=True)
    paths = mv.grid(estimator=("mle",), scaling=("raw",), missing=("drop",))
    res = mv.multiverse_design(d, paths=paths, **SMALL)
    why = dict(zip(res.skipped["path"], res.skipped["reason"], strict=True))
    assert "ordinal" in why["raw/mle/drop/5-fold/entropy"]
    assert len(why) == 2  # entropy at both fold counts; 12 positives allow 10 folds
    assert set(res.frame["cv"]) == {"5-fold", "10-fold"}
    assert set(res.frame["disagreement"]) == {"moments", "mad", "range"}
    assert np.isfinite(res.frame["estimate"]).all()


def test_hand_made_design_with_too_few_positives_for_ten_folds():
    d = _hand_design(n=30)  # 9 positives
    res = mv.multiverse_design(d, paths=[mv.PAPER_PATH, mv.Path(cv="5-fold")], **SMALL)
    assert res.skipped["reason"].tolist() == [
        "10-fold cross-validation needs 10 units of each class; the rarer class has 9"]
    assert set(res.frame["path_id"]) == {1}
    # the verdict table and the survival sentences work without the paper's path
    assert len(mv.verdict_table(res.frame)) == 2 and len(prose.survival_sentences(res.frame)) == 2
