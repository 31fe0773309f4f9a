"""Issue 22: units nested in groups, the number of raters per unit, and the kept-unit
bias, on data from the project's generative model (``tests/grouped_data.py``: units in
patients, readers per unit linked to the class, disagreement that depends only on how
many readers looked)."""

from __future__ import annotations

import dataclasses
import warnings
from types import SimpleNamespace

import grouped_data
import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.base import seeds
from analysis.design import dataset, features
from analysis.fitting import models
from analysis.statistics import cvinference, cvstats, inference
from analysis.studies import analyze, reproduce, review


@pytest.fixture(scope="module")
def files():
    return grouped_data.make(n_units=300, seed=7)


@pytest.fixture(scope="module")
def grouped(files):
    ann, lab = files
    return dataset.load(ann, lab, raters="positions", min_raters=2, group_col="patient")


def _split_no_group(splits, codes):
    """No split holds a group in both its training and its test units."""
    for s in splits:
        assert not set(codes[s.train]) & set(codes[s.test]), s


# --- the fold plans ----------------------------------------------------------------------------

def test_group_fold_numbers_equal_scikit_learn_split_for_split():
    from sklearn.model_selection import StratifiedGroupKFold

    rng = np.random.default_rng(3)
    checked = 0
    for t in range(150):
        G = int(rng.integers(4, 50))
        g = np.repeat(rng.permutation(G) * 7 + 3, rng.integers(1, 6, G))
        y = rng.integers(0, 2, g.size)
        if y.min() == y.max():
            continue
        k = int(rng.integers(2, min(10, G) + 1))
        ref = np.empty(len(y), dtype=int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sgkf = StratifiedGroupKFold(k, shuffle=True, random_state=t)
            for i, (_, test) in enumerate(sgkf.split(y, y, g)):
                ref[test] = i
        np.testing.assert_array_equal(models.group_fold_numbers(y, g, k, t), ref)
        checked += 1
    assert checked > 100


def test_grouped_folds_never_split_a_group(grouped):
    codes = grouped.group_codes
    y = grouped.labels
    k = cvinference.fold_count(y, groups=codes).n_splits
    # cross-validation
    cv = models.stratified_splits(y, n_splits=k, n_repeats=5, seed=11, groups=codes)
    _split_no_group(cv, codes)
    assert len(cv) == 5 * k
    # every unit is tested once per repeat
    for r in range(5):
        tested = np.sort(np.concatenate([s.test for s in cv if s.repeat == r]))
        np.testing.assert_array_equal(tested, np.arange(len(y)))
    # bootstrap-CV: groups resampled, copies of a group in one fold
    boot = cvinference.bootstrap_cv_plan(y, n_boot=20, n_splits=k, seed=11, groups=codes)
    _split_no_group(boot, codes)
    # a replicate draws whole groups: a unit's copies come with its group's other units
    for b in range(3):
        units = np.concatenate([np.concatenate([s.train, s.test])
                                for s in boot if s.repeat == b and s.fold == 0])
        counts = pd.Series(units).value_counts()
        for g in np.unique(codes[units]):
            members = np.flatnonzero(codes == g)
            assert set(members) <= set(units)
            assert counts[members].nunique() == 1  # every member drawn as often
    # permutations: folds of the permuted labels, and the labels
    splits, labels = cvstats.permutation_splits(
        y.astype(np.int64).tobytes(), 15, 11, k, 2, codes.astype(np.int64).tobytes())
    _split_no_group(splits, codes)
    perms = cvstats.permuted_labels(y, 15, 11, codes)
    np.testing.assert_array_equal(perms.sum(axis=1), y.sum())
    sizes = np.bincount(codes)
    for p in perms:
        # the positives per group, as a multiset, within every group size
        for s in np.unique(sizes):
            gs = np.flatnonzero(sizes == s)
            assert (sorted(np.bincount(codes, weights=p)[gs])
                    == sorted(np.bincount(codes, weights=y)[gs]))


def test_grouping_is_used_by_the_review_cross_validation(grouped):
    exp = reproduce.run_experiments(grouped, repeats=2, seed=5, feature_sets=["mean"],
                                    estimators=("mle",), n_splits=5, quiet=True)
    codes = grouped.group_codes
    sc = exp.scores
    fold_of = sc.groupby(["repeat", pd.Series(codes[sc["row"]], index=sc.index)])["fold"]
    assert fold_of.nunique().max() == 1


def test_power_calibration_target_is_the_grouped_cvauc(grouped):
    """The power simulation is calibrated to the cvAUC the review reports: with groups,
    that of the grouped folds (observed_cv_auc folds as run_experiments does)."""
    from analysis.studies import simulate

    k = cvinference.fold_count(grouped.labels, groups=grouped.group_codes).n_splits
    exp = reproduce.run_experiments(grouped, repeats=3, seed=5, feature_sets=["sd"],
                                    estimators=("mle",), n_splits=k, quiet=True)
    got = simulate.observed_cv_auc(grouped, n_repeats=3, seed=5)
    # the same splits and fits, averaged in another order
    assert got == pytest.approx(float(exp.folds["auc"].mean()), rel=1e-12)
    ungrouped = dataclasses.replace(grouped, groups=None)
    assert simulate.observed_cv_auc(ungrouped, n_repeats=3, seed=5) != pytest.approx(got,
                                                                                    rel=1e-12)


def test_fold_count_counts_groups_holding_the_rarer_class():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    g = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    fc = cvinference.fold_count(y, 10, groups=g)
    assert (fc.n_splits, fc.rarer) == (2, 2) and "groups holding a unit" in fc.note
    with pytest.raises(ValueError, match="1 groups holding"):
        cvinference.fold_count(y, 10, groups=np.array([0] * 4 + [1, 1, 2, 2, 3, 3]))
    assert cvinference.fold_count(y, 3).n_splits == 3  # without groups: 4 units


def test_group_permutations_singletons_are_plain_permutations():
    y = np.array([0, 1, 1, 0, 0, 1, 0])
    p = inference.group_permutations(y, np.arange(7), 200, 1)
    assert set(map(tuple, p)) > {tuple(y)}
    assert (p.sum(axis=1) == 3).all()
    # groups of one size only: group label multisets move whole
    g = np.array([0, 0, 1, 1, 2, 2])
    y = np.array([1, 1, 0, 0, 1, 0])
    for row in inference.group_permutations(y, g, 50, 2):
        assert sorted(np.bincount(g, weights=row)) == [0, 1, 2]


def _clustered_null(d: int, rng_key: int):
    """Labels and a feature that both cluster in 16 groups, independent of each other."""
    rng = np.random.default_rng([rng_key, d])
    sizes = rng.integers(1, 5, 16)
    groups = np.repeat(np.arange(16), sizes)
    y = (rng.random(groups.size) < rng.beta(0.7, 0.7, 16)[groups]).astype(int)
    x = rng.normal(0, 1, 16)[groups] + 0.5 * rng.normal(0, 1, groups.size)
    return y, x, groups, rng


def _rejection_rates(ps):
    return {a: float(np.mean(np.asarray(ps) <= a)) for a in (0.05, 0.10, 0.25)}


def test_group_permutation_null_is_calibrated_and_unit_permutation_is_not():
    """Under the null with clustered labels, the p-values of the group permutation are
    uniform: the share at or below each level a lies within 3 binomial SE of a (2000
    data sets: SE 0.005 at 5%); a unit-level permutation of the same data rejects far
    too often (its null ignores that labels cluster)."""
    n = 2000
    grp, unit = [], []
    for d in range(n):
        y, x, groups, rng = _clustered_null(d, 77)
        xc = x - x.mean()  # sum(xc * labels): the correlation up to a constant factor
        obs = float(y @ xc)
        g_null = inference.group_permutations(y, groups, 39, rng) @ xc
        u_null = inference.stratified_permutations(y, 39, rng) @ xc
        grp.append(cvinference.permutation_test(obs, g_null).pvalue)
        unit.append(cvinference.permutation_test(obs, u_null).pvalue)
    for a, rate in _rejection_rates(grp).items():
        assert abs(rate - a) <= 3 * np.sqrt(a * (1 - a) / n), (a, rate)
    assert _rejection_rates(unit)[0.05] > 0.05 + 3 * np.sqrt(0.05 * 0.95 / n)


def test_grouped_cv_permutation_test_holds_its_level():
    """The whole grouped test (stratified group folds, group permutations of the
    repeated-CV statistic) on 80 null data sets whose labels and feature cluster: the
    share of p-values at or below 0.25 is within 3 binomial SE (0.048) of 0.25 and the
    mean p-value within 3 SE (0.032) of 0.5125 (the mean of (1 + U) / 40, U uniform on
    0..39)."""
    ps = []
    for d in range(80):
        y, x, groups, _ = _clustered_null(d, 99)
        k = cvinference.fold_count(y, 5, groups=groups).n_splits
        obs = cvstats.observed_statistic(x[:, None], y, seed=d, estimator="mle", n_repeats=1,
                                         n_splits=k, groups=groups)
        null, _ = cvstats.permutation_null(x[:, None], y, n_permutations=39, seed=d,
                                           n_splits=k, n_repeats=1, groups=groups)
        ps.append(cvinference.permutation_test(obs, null).pvalue)
    rate = _rejection_rates(ps)[0.25]
    assert abs(rate - 0.25) <= 3 * np.sqrt(0.25 * 0.75 / 80), rate
    assert abs(np.mean(ps) - 0.5125) <= 3 * 0.2887 / np.sqrt(80), np.mean(ps)


def test_without_groups_the_plans_are_unchanged():
    y = np.array([0, 1] * 15)
    a = models.stratified_splits(y, n_splits=5, n_repeats=3, seed=4)
    for s in a:
        fold = models.stratified_fold_numbers(y, 5, models.repeat_seed(4, s.repeat))
        np.testing.assert_array_equal(s.test, np.flatnonzero(fold == s.fold))
    b1 = cvinference.bootstrap_cv_plan(y, n_boot=3, n_splits=5, seed=4)
    b2, _ = cvstats.bootstrap_cv_splits(y, n_boot=3, n_repeats=1, n_splits=5,
                                        seed=seeds.state("bootstrap_cv", 4))
    assert all(np.array_equal(p.test, q.test) for p, q in zip(b1, b2, strict=True))
    np.testing.assert_array_equal(
        cvstats.permuted_labels(y, 4, 4),
        inference.stratified_permutations(y, 4, seeds.rng("permutation_labels", 4)))


# --- loading a grouping --------------------------------------------------------------------------

def test_load_reads_the_group_of_each_unit(files, grouped):
    ann, lab = files
    g = grouped.groups.reindex(grouped.y.index)
    expected = lab.set_index("unit")["patient"].reindex(grouped.y.index)
    assert (g == expected).all()
    assert grouped.settings["grouping"] == "patient"
    # from a wide annotation table instead (not taken for a feature)
    wide = ann.pivot_table(index=["unit", "rater"], columns="feature",
                           values="score").reset_index()
    wide["patient"] = lab.set_index("unit")["patient"].reindex(wide["unit"]).to_numpy()
    d = dataset.load(wide, lab[["unit", "label"]], raters="positions", min_raters=2,
                     group_col="patient")
    assert "patient" not in d.features
    np.testing.assert_array_equal(d.group_codes, grouped.group_codes)
    assert dataset.load(ann, lab, raters="positions", min_raters=2).groups is None


def test_group_column_errors(files):
    ann, lab = files
    with pytest.raises(dataset.DatasetError, match="'hospital' is in neither"):
        dataset.load(ann, lab, raters="positions", min_raters=2, group_col="hospital")
    two = pd.concat([lab, lab.iloc[[0]].assign(patient="other")], ignore_index=True)
    with pytest.raises(dataset.DatasetError, match="1 unit.s. belong to more than one group"):
        dataset.load(ann, two, raters="positions", min_raters=2, group_col="patient")
    blank = lab.assign(patient=lab["patient"].where(lab.index != 5, ""))
    with pytest.raises(dataset.DatasetError, match="without a group"):
        dataset.load(ann, blank, raters="positions", min_raters=2, group_col="patient")


def _write(tmp_path, ann, lab):
    a, b = tmp_path / "annotations.csv", tmp_path / "labels.csv"
    ann.to_csv(a, index=False)
    lab.to_csv(b, index=False)
    return str(a), str(b)


@pytest.mark.parametrize("case", ["unknown column", "two groups"])
def test_cli_group_col_errors_are_one_line(case, files, tmp_path, capsys):
    ann, lab = files
    col = "patient"
    if case == "unknown column":
        col = "hospital"
    else:
        lab = pd.concat([lab, lab.iloc[[3]].assign(patient="p999")], ignore_index=True)
    a, b = _write(tmp_path, ann, lab)
    code = cli.main(["analyze", "--annotations", a, "--labels", b, "--raters", "positions",
                     "--group-col", col, "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert ("in neither the labels nor the annotations" if case == "unknown column"
            else "belong to more than one group") in err
    assert "--group-col" in err  # the option named as this command's flag
    assert not (tmp_path / "o").exists()


def test_cli_group_col_with_a_builtin_data_set_is_refused(tmp_path, capsys):
    code = cli.main(["analyze", "--dataset", "enhance/mturk", "--group-col", "x",
                     "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--group-col" in err


# --- the number of raters per unit ----------------------------------------------------------------

def test_rater_count_covariate_removes_the_spurious_disagreement():
    """Disagreement that carries no information beyond the number of readers (sd depends
    only on how many read a unit; readers per unit depend on the class). Without the
    count, the sd set predicts the label (bootstrap-CV interval above 1/2) and adding sd
    to the mean improves it (interval of the increment above 0); with the count in
    every set the increment is the known 0: its 95% interval contains 0 and the
    estimate lies within 2 SE of it, the SE being the bootstrap-CV SD of the paired
    difference in this study."""
    ann, lab = grouped_data.make(n_units=500, seed=11)
    out = {}
    for rc in ("none", "covariate"):
        d = dataset.load(ann, lab, raters="positions", min_raters=2, rater_count=rc)
        exp = reproduce.run_experiments(d, repeats=10, seed=3,
                                        feature_sets=["mean", "sd", "mean+sd"],
                                        estimators=("mle",), quiet=True)
        boot = review.cv_bootstrap(d, ["mean", "sd", "mean+sd"], ("mle",), n_boot=100,
                                   seed=3, quiet=True)
        f = exp.folds
        rep = {fs: boot[boot["feature_set"] == fs].sort_values("replicate")["cv_auc"]
               for fs in ("mean", "sd", "mean+sd")}
        inc = cvinference.paired_difference(f[f["feature_set"] == "mean+sd"],
                                            f[f["feature_set"] == "mean"],
                                            rep["mean+sd"], rep["mean"])
        sd = cvinference.cv_auc_interval(f.loc[f["feature_set"] == "sd", "auc"].mean(),
                                         rep["sd"])
        out[rc] = (inc, sd, d)
    inc, sd, d = out["none"]
    assert sd.low > 0.5 and sd.estimate > 0.6
    assert inc.low > 0, inc
    inc, sd, d = out["covariate"]
    assert d.settings["rater_count"] == "covariate"
    assert features.RATER_COUNT in d.columns("mean+sd") and features.RATER_COUNT in d.columns("sd")
    assert inc.low < 0 < inc.high, inc
    assert abs(inc.diff) < 2 * inc.se, inc


def test_rater_count_is_the_number_of_raters_of_each_unit(files):
    ann, lab = files
    d = dataset.load(ann, lab, raters="positions", min_raters=2, rater_count="covariate")
    n = ann.groupby("unit")["rater"].nunique().reindex(d.y.index)
    np.testing.assert_array_equal(d.moments_raw[features.RATER_COUNT], n)
    assert d.matrix("mean").shape[1] == len(d.features) + 1
    assert abs(d.moments[features.RATER_COUNT].mean()) < 1e-12
    assert "n_raters" in set(d.sets["feature_set"])
    # a constant count is not added (a note says so)
    e = dataset.load(ann, lab, raters="positions", raters_per_unit=2, rater_count="covariate")
    assert e.settings["rater_count"] == "none" and features.RATER_COUNT not in e.moments
    assert any("not added as a covariate" in n for n in e.settings["input_notes"])
    with pytest.raises(dataset.DatasetError, match="rater_count"):
        dataset.load(ann, lab, raters="positions", rater_count="stratum")


# --- the kept-unit bias --------------------------------------------------------------------------

def test_baseline_all_units_shows_the_kept_unit_bias(files, grouped):
    """Readers per unit depend on the class and one-reader units are left out by
    ``min_raters=2``: the kept units hold another share of positives, and a one-reader
    mean is noisier than a mean of 2-4 readers, so the mean model does better on the kept
    units than on every labelled unit (known direction); the table says so."""
    d = grouped
    exp = reproduce.run_experiments(d, repeats=5, seed=2, feature_sets=["mean"],
                                    estimators=("mle",),
                                    n_splits=cvinference.fold_count(
                                        d.labels, groups=d.group_codes).n_splits, quiet=True)
    k = int(exp.folds["fold"].max() + 1)
    boot = review.cv_bootstrap(d, ["mean"], ("mle",), n_boot=50, seed=2, n_splits=k,
                               quiet=True)
    rv = SimpleNamespace(auc_ci=review.auc_intervals(exp, boot), settings={"n_splits": k})
    b = analyze.baseline_all_units(d, rv, repeats=5, n_boot=50, seed=2)
    assert list(b.columns) == analyze.BASELINE_COLUMNS
    all_ = b[b["scope"] == analyze.ALL_UNITS].iloc[0]
    kept = b[b["scope"] == analyze.KEPT_UNITS].iloc[0]
    ann, lab = files
    assert all_["n_units"] == lab["unit"].nunique() and kept["n_units"] == d.n_images
    assert all_["n_units"] > kept["n_units"]
    share_all = all_["n_positive"] / all_["n_units"]
    share_kept = kept["n_positive"] / kept["n_units"]
    assert share_kept > share_all + 0.05
    assert all_["estimate"] < kept["estimate"]
    assert all_["conf_low"] < all_["estimate"] < all_["conf_high"]
    # nothing left out: the two rows are the same model
    e = dataset.load(ann, lab, raters="positions", min_raters=1, group_col="patient")
    exp = reproduce.run_experiments(e, repeats=2, seed=2, feature_sets=["mean"],
                                    estimators=("mle",), n_splits=5, quiet=True)
    boot = review.cv_bootstrap(e, ["mean"], ("mle",), n_boot=5, seed=2, n_splits=5, quiet=True)
    rv = SimpleNamespace(auc_ci=review.auc_intervals(exp, boot), settings={"n_splits": 5})
    b = analyze.baseline_all_units(e, rv, repeats=2, n_boot=5, seed=2)
    assert b["estimate"].nunique() == 1 and len(b) == 2


def test_grouping_notes(files, grouped):
    ann, lab = files
    plain = dataset.load(ann, lab, raters="positions", min_raters=2)
    assert analyze.grouping_notes(plain) == [analyze.NO_GROUPING_NOTE]
    assert "no grouping was given: folds may split units that belong together (e.g. nodules " \
           "of one patient)" == analyze.NO_GROUPING_NOTE
    note = analyze.grouping_notes(grouped)[0]
    assert "'patient'" in note and f"{len(np.unique(grouped.group_codes))} groups" in note


def test_review_doc_says_how_units_were_grouped(files, grouped):
    from analysis.presentation.review_doc import ReviewDoc

    ann, lab = files
    plain = dataset.load(ann, lab, raters="positions", min_raters=2, rater_count="covariate")
    base = pd.DataFrame([(analyze.ALL_UNITS, "mean", "mle", 300, 90, 10, 0.7, 0.6, 0.8, 0.05, 9),
                         (analyze.KEPT_UNITS, "mean", "mle", 207, 86, 10, 0.75, 0.7, 0.8, 0.03,
                          9)], columns=analyze.BASELINE_COLUMNS)
    doc = ReviewDoc({}, plain, SimpleNamespace(baseline=base), {}, False)
    assert analyze.NO_GROUPING_NOTE in doc.grouping_sentence()
    assert "GROUP_COL=COLUMN" in doc.grouping_sentence()
    assert "is a covariate of every feature set" in doc.rater_count_sentence()
    t = doc.baseline_table()
    assert list(t["scope"]) == [analyze.ALL_UNITS, analyze.KEPT_UNITS]
    assert list(t["cv_auc"]) == [0.7, 0.75]
    doc = ReviewDoc({}, grouped, SimpleNamespace(baseline=None), {}, False)
    assert doc.grouping_sentence().startswith("Units are grouped by 'patient'")
    assert "is not a covariate" in doc.rater_count_sentence()
    assert "note" in doc.baseline_table().columns


def test_review_parameters_group_col_errors_in_make_words(files, tmp_path):
    from analysis.presentation.render import review_words
    from analysis.presentation.review_doc import load_design

    ann, lab = files
    lab = pd.concat([lab, lab.iloc[[3]].assign(patient="p999")], ignore_index=True)
    a, b = _write(tmp_path, ann, lab)
    d, params = load_design(annotations=a, labels=b, raters="positions", min_raters=2,
                            group_col="")
    assert d.groups is None and params["group_col"] == ""
    with pytest.raises(dataset.DatasetError) as err:
        load_design(annotations=a, labels=b, raters="positions", min_raters=2,
                    group_col="patient")
    words = review_words(str(err.value))
    assert "GROUP_COL=VALUE (or -P group_col:VALUE)" in words, words
