"""The studies' sentences (analysis/presentation/prose.py), each on a tiny hand-made frame whose
sentence is worked out by hand."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.presentation import prose
from analysis.studies.sweeps import Sweep

G7 = ("2017-2018", "group07")


def _groups() -> pd.DataFrame:
    """Group 7, four other student groups and MTurk (sd rows), and one mean row."""
    rows = [
        # cohort, group, feature_set, source, conf_low, conf_high, n_permutations, p_value, null mean
        (*G7, "sd", "student", 0.60, 0.80, 99, 0.01, 0.50),
        ("c", "g1", "sd", "student", 0.55, 0.75, 99, 0.01, 0.50),
        ("c", "g2", "sd", "student", 0.51, 0.70, 99, 0.04, 0.49),
        ("c", "g3", "sd", "student", 0.30, 0.45, 99, 0.20, 0.51),
        ("c", "g4", "sd", "student", 0.40, 0.60, 99, 0.50, 0.50),
        ("c", "g1", "mean", "student", 0.90, 0.99, 0, np.nan, np.nan),
        ("mturk", "isic", "sd", "mturk", 0.52, 0.58, 99, 0.01, 0.50),
    ]
    g = pd.DataFrame(rows, columns=["cohort", "group", "feature_set", "source", "conf_low",
                                    "conf_high", "n_permutations", "p_value", "perm_null_mean"])
    g["auc"] = [0.7, 0.65, 0.6, 0.375, 0.5, 0.95, 0.55]
    g["n_images"] = [96, 100, 100, 100, 100, 100, 1250]
    g["n_melanoma"] = [18, 20, 20, 20, 20, 20, 200]
    return g


def test_words_for_an_interval_and_an_estimate():
    assert prose.vs_chance(0.6, 0.8, 0.5) == "better than random"
    assert prose.vs_chance(0.2, 0.4, 0.5) == "worse than random"
    assert prose.vs_chance(0.5, 0.7, 0.5) == "not distinguishable from random"  # touches 0.5
    assert prose.fmt_ci(0.7123, 0.6, 0.8) == "0.712 (95% CI 0.600 to 0.800)"
    assert prose.fmt_ci(0.7123, 0.6, 0.8, d=2) == "0.71 (95% CI 0.60 to 0.80)"


def test_chance_sentence_counts_student_groups_outside_group7():
    assert prose.chance_sentence(_groups()) == (
        "Outside group 7, the disagreement (sd) features alone beat random (bootstrap-CV "
        "95% CI of the cvAUC above 0.5) in 2 of 4 student groups, and fall below it in 1 "
        "(about 0.1 of each expected by chance alone if no group had signal).")


def test_permutation_sentence_and_none_without_a_tested_group():
    g = _groups()
    assert prose.permutation_sentence(g) == (
        "By label permutation of the whole cross-validation (99 permutations per group), the "
        "sd features beat random at p < 0.05 in 2 of 4 student groups outside group 7 (about "
        "0.2 expected by chance alone; under permutation the statistic averages 0.500).")
    g["n_permutations"] = 0
    assert prose.permutation_sentence(g) is None


def _meta() -> pd.DataFrame:
    cols = ["quantity", "scope", "estimate", "conf_low", "conf_high", "k", "i2", "tau2", "model",
            "interval", "scale", "pi_conf_low", "pi_conf_high", "studies", "primary"]
    rows = [
        ("auc_sd_minus_half", "disjoint", -0.05, -0.10, 0.0, 2, 0.0, 0.0, "independent",
         "wald", "identity", np.nan, np.nan, "a/b;c/d", True),
        ("auc_sd_minus_half", "students", 0.05, 0.01, 0.09, 10, 25.0, 0.001, "overlap",
         "knha", "identity", -0.02, 0.12, "", True),
        ("auc_sd_minus_half", "students", 0.30, 0.20, 0.40, 10, 25.0, 0.001, "independent",
         "wald", "identity", np.nan, np.nan, "", False),  # not primary: never quoted
        ("auc_sd_minus_half", "students_and_mturk", 0.05, 0.02, 0.08, 11, 10.0, 0.0012,
         "overlap", "knha", "identity", np.nan, np.nan, "", True),
        ("auc_sd_minus_half", "students_and_mturk", 0.04, 0.0, 0.08, 11, 10.0, 0.0005,
         "independent", "knha_adhoc", "identity", np.nan, np.nan, "", False),
        ("auc_mean_minus_sd", "students_and_mturk", 0.2, 0.15, 0.25, 3, 0.0, 0.0,
         "independent", "wald", "identity", np.nan, np.nan, "", True),
    ]
    return pd.DataFrame(rows, columns=cols)


def test_pooled_sentences_in_scope_order_from_primary_rows():
    out = prose.pooled_sentences(prose.primary_meta(_meta()))
    assert out == [
        "Pooled over all student groups (k = 10, random effects with the images the groups "
        "share in the sampling covariance, Hartung-Knapp interval), the AUC of the sd features "
        "is 0.550 (95% CI 0.510 to 0.590): better than random (I\u00b2 = 25%; 95% prediction "
        "interval for a new group 0.480 to 0.620).",
        "Pooled over the student groups and MTurk together (k = 11, random effects with the "
        "images the groups share in the sampling covariance, Hartung-Knapp interval), the AUC "
        "of the sd features is 0.550 (95% CI 0.520 to 0.580): better than random "
        "(I\u00b2 = 10%).",
        "Pooled over a set of groups that share no image (a/b, c/d) (k = 2, random effects), "
        "the AUC of the sd features is 0.450 (95% CI 0.400 to 0.500): not distinguishable "
        "from random (I\u00b2 = 0%).",
    ]


def test_meta_method_and_prediction_interval_words():
    r = pd.Series({"model": "independent", "interval": "wald"})
    assert prose.meta_method(r) == "random effects"
    assert prose.meta_method(pd.Series(dtype=object)) == "random effects"  # old tables
    assert prose.prediction_interval(r) == ""
    r = pd.Series({"pi_conf_low": -0.1, "pi_conf_high": 0.2})
    assert prose.prediction_interval(r) == "; 95% prediction interval for a new group -0.100 to 0.200"


def test_independence_sentence_only_when_the_primary_model_has_the_overlap():
    m = _meta()
    assert prose.independence_sentence(m) == (
        "Treating the groups as independent would give 0.540 (95% CI 0.500 to 0.580) "
        "(tau\u00b2 0.0005 against 0.0012 with the overlap).")
    m.loc[m["model"] == "overlap", "model"] = "independent"
    assert prose.independence_sentence(m) is None
    assert prose.independence_sentence(m.drop(columns="model")) is None


def test_mturk_sentence():
    assert prose.mturk_sentence(_groups()) == (
        "On MTurk (1250 images, 200 melanomas, 3 workers per image) the sd features reach "
        "AUC 0.550 (95% CI 0.520 to 0.580): better than random.")
    assert prose.mturk_sentence(_groups().query("source != 'mturk'")) is None


def test_mean_vs_sd_sentence_counts_the_paired_intervals():
    d = pd.DataFrame({"conf_low": [0.1, -0.2, 0.05, -0.1], "conf_high": [0.3, -0.01, 0.2, 0.1]})
    meta = prose.primary_meta(_meta())
    assert prose.mean_vs_sd_sentence(meta, d) == (
        "The mean features beat the sd features by 0.200 (95% CI 0.150 to 0.250) AUC pooled "
        "over all 3 groups (random effects); the paired bootstrap-CV interval excludes 0 in "
        "favour of the mean in 2 groups and in favour of the sd in 1.")
    assert prose.mean_vs_sd_sentence(meta.drop(index="auc_mean_minus_sd", level="quantity"), d) is None


def _curve_summary() -> pd.DataFrame:
    rows = []
    for (c, g), mean, sd in ((G7, [0.80, 0.85, 0.86], [0.50, 0.55, 0.60]),
                             (("c", "g2"), [0.90, 0.90, 0.90], [0.60, 0.57, 0.54]),
                             (("c", "g3"), [0.70, 0.72], [0.5, 0.5])):  # 3 raters only
        for k, (m, s) in enumerate(zip(mean, sd, strict=True), start=2):
            rows += [(c, g, "mean", k, m), (c, g, "sd", k, s)]
    return pd.DataFrame(rows, columns=["cohort", "group", "feature_set", "k",
                                       "repeat_mean_auc_mean"])


def test_curve_summary_needs_and_slopes():
    need, slopes = prose.curve_summary(_curve_summary())
    # group 7: AUC(mean) within 0.02 of 0.86 from k = 3; g2 flat: k = 2
    assert need == [(*G7, 3, 4), ("c", "g2", 2, 4), ("c", "g3", 2, 3)]
    assert slopes[G7][0] == pytest.approx(0.05) and slopes[G7][1:] == (0.5, 0.6, 2, 4)
    assert slopes[("c", "g2")][0] == pytest.approx(-0.03)


def test_consensus_sentences():
    need, _ = prose.curve_summary(_curve_summary())
    assert prose.consensus_sentences(need) == [
        "In group 7 the mean features of 3 of its 4 annotators already come within 0.02 AUC "
        "of all 4 (mean fold AUC over repeats, averaged over subsets).",
        "Over the 2 groups with at least 4 annotators per image, the consensus needs a "
        "median of 2.5 annotators (range 2 to 3) to come within 0.02 AUC of the full group.",
    ]
    assert prose.consensus_sentences([("c", "g3", 2, 3)]) == []


def test_slope_sentences_with_and_without_the_bootstrap_trend():
    _, slopes = prose.curve_summary(_curve_summary())
    empty = pd.DataFrame(columns=["cohort", "group", "feature_set", "conf_low", "conf_high",
                                  "direction"])
    assert prose.slope_sentences(slopes, empty) == [
        "In group 7 the sd features' average AUC is 0.500 with 2 annotators and 0.600 with 4 "
        "(slope +0.050 per annotator).",
        "Across the 2 groups with at least 4 annotators per image, the sd features' slope on "
        "k is positive in 1 and negative in 1 (median +0.010 per annotator).",
    ]
    trend = pd.DataFrame([(*G7, "sd", 0.01, 0.09, "rising"),
                          (*G7, "mean", -0.01, 0.02, "flat")], columns=empty.columns)
    out = prose.slope_sentences(slopes, trend)
    assert out[0].endswith("(slope +0.050 per annotator; bootstrap 95% CI of the slope "
                           "+0.010 to +0.090: rising).")
    assert out[1].endswith("(median +0.010 per annotator; the bootstrap interval of the "
                           "slope shows a rise in 1 and a fall in 0).")


def test_verdict_sentences_joins_the_parts_in_order():
    meta = _meta()
    d = pd.DataFrame({"conf_low": [0.1], "conf_high": [0.3]})
    result = SimpleNamespace(groups=_groups(), meta=meta, differences=d)
    pm = prose.primary_meta(meta)
    head = [prose.chance_sentence(result.groups), prose.permutation_sentence(result.groups),
            *prose.pooled_sentences(pm), prose.independence_sentence(meta),
            prose.mturk_sentence(result.groups), prose.mean_vs_sd_sentence(pm, d)]
    assert prose.verdict_sentences(result) == head
    trend = pd.DataFrame(columns=["cohort", "group", "feature_set", "conf_low", "conf_high",
                                  "direction"])
    curve = SimpleNamespace(summary=_curve_summary(), trend=trend)
    need, slopes = prose.curve_summary(curve.summary)
    assert prose.verdict_sentences(result, curve) == (
        head + prose.consensus_sentences(need) + prose.slope_sentences(slopes, trend))
    # without permutations, MTurk or a pooled difference the sentences are left out
    g = _groups().query("source != 'mturk'").assign(n_permutations=0)
    short = SimpleNamespace(groups=g, meta=meta[meta["quantity"] == "auc_sd_minus_half"],
                            differences=d)
    assert len(prose.verdict_sentences(short)) == 1 + 3 + 1


def test_overlap_sentence_on_three_groups():
    im = pd.DataFrame({"cohort": ["mturk"] * 4 + ["2017-2018"] * 6,
                       "group": ["isic"] * 4 + ["group07"] * 3 + ["group01"] * 3,
                       "image_id": ["1", "2", "3", "4", "1", "2", "5", "1", "2", "3"]})
    assert prose.overlap_sentence(im) == (
        "Of the 4 MTurk images, 3 were also rated by student groups, and 1 of the 2 student "
        "groups rated only images that MTurk also rated; student groups share up to 2 images "
        "with each other (2017-2018/group01 and 2017-2018/group07); group 7 shares 2 with "
        "2017-2018/group01 and images with 1 student groups in all.")
    one = im[im["group"] == "group07"]
    assert prose.overlap_sentence(one) == "No two groups share an image."


def _coverage() -> pd.DataFrame:
    rows = []
    for model, cov in (("permuted", 0.9), ("fitted", 0.95)):
        for q, methods in (("auc_sd", ("bootstrap_cv", "corrected_t", "delong_pooled")),
                           ("diff_mean_sd", ("bootstrap_cv",))):
            for m in methods:
                rows.append({"model": model, "quantity": q, "method": m, "coverage": cov,
                             "coverage_conf_low": cov - 0.05, "coverage_conf_high": cov + 0.02,
                             "rejection_rate": np.nan, "rejection_rate_conf_low": np.nan, "rejection_rate_conf_high": np.nan})
        rows.append({"model": model, "quantity": "auc_sd", "method": "permutation",
                     "coverage": np.nan, "coverage_conf_low": np.nan, "coverage_conf_high": np.nan,
                     "rejection_rate": 0.05 if model == "permuted" else 0.8,
                     "rejection_rate_conf_low": 0.01, "rejection_rate_conf_high": 0.9})
    return pd.DataFrame(rows)


def test_coverage_text_quotes_each_model_and_method():
    settings = {"n_datasets": 10, "perm_repeats": 2, "n_permutations": 99, "h": 5,
                "data_name": "toy"}
    per = "90.0% [85.0%, 92.0%] under label permutations of toy; 95.0% [90.0%, 97.0%] under the calibrated model"
    assert prose.coverage_text(_coverage(), settings) == (
        f"Over 10 simulated data sets per model, the 95% bootstrap-CV interval of the sd "
        f"features' cvAUC covered the true value in {per}. For the paired difference "
        f"cvAUC(mean) - cvAUC(sd): {per}. The corrected repeated-CV t interval covered {per}, "
        f"and DeLong on pooled out-of-fold scores {per} (Clopper-Pearson 95% intervals in "
        f"brackets). The repeated-CV permutation test of the sd features (2 fold assignments "
        f"per statistic, at most 99 permutations, stopped after 5 exceedances) rejected at 5% "
        f"in 5.0% [1.0%, 90.0%] under label permutations of toy; 80.0% [1.0%, 90.0%] under "
        f"the calibrated model.")
    cal = SimpleNamespace(coverage=_coverage(), settings=settings)
    assert prose.coverage_sentence(cal) == prose.coverage_text(_coverage(), settings)
    # no data name: group 7; no permutation rows: no test sentence
    no_perm = _coverage().query("method != 'permutation'")
    text = prose.coverage_text(no_perm, {k: v for k, v in settings.items() if k != "data_name"})
    assert "label permutations of group 7" in text and "rejected" not in text


def _power() -> pd.DataFrame:
    return pd.DataFrame({"n_annotators": [3, 3, 6, 6], "n_images": [50, 100, 50, 100],
                         "power": [0.5, 0.85, 0.6, 0.7], "power_conf_low": [0.3, 0.7, 0.4, 0.5],
                         "power_conf_high": [0.7, 0.95, 0.8, 0.85]})


def test_power_sentence_smallest_size_reaching_the_target():
    assert prose.power_sentence(_power()) == (
        "For 80% power to detect that the sd-only model is better than random (permutation "
        "test at 5%), a study needs with 3 annotators about 100 images (power 85%, 95% CI 70% "
        "to 95%); with 6 annotators no size up to 100 images reaches 80% (at most 70%).")
    assert prose.power_sentence(_power(), target=0.6).startswith(
        "For 60% power to detect that the sd-only model is better than random (permutation "
        "test at 5%), a study needs with 3 annotators about 100 images (power 85%")


def test_sweep_sentences_from_the_sweep_tables():
    settings = {"n_datasets": 10, "perm_repeats": 2, "n_permutations": 99, "h": 5,
                "data_name": "toy"}
    sw = Sweep(frames={"power_coverage.csv": _coverage(), "power.csv": _power()},
               settings=settings)
    assert prose.sweep_sentences("power", sw) == [prose.coverage_text(_coverage(), settings),
                                                  prose.power_sentence(_power())]
    not_run = Sweep(frames={}, settings={"run": False})
    assert prose.sweep_sentences("power", not_run) == []
    assert prose.sweep_sentences("multiverse", not_run) == []
    with pytest.raises(ValueError, match="unknown"):
        prose.sweep_sentences("bogus", not_run)


def _design(**settings) -> SimpleNamespace:
    raw = pd.DataFrame({"f_A": [1.0, 2.0, 3.0], "f_B": [1.0, 2.0, 2.0],
                        "f_C": [1.0, np.nan, 4.0]})
    return SimpleNamespace(raw=raw, features=("f",), annotators=("A", "B", "C"), n_images=3,
                           n_melanoma=1, raters=settings.pop("raters", "persons"),
                           excluded=pd.DataFrame({"image_id": ["u8", "u9"]}),
                           settings={"min_raters": 2, **settings})


def test_data_sentence_of_a_review():
    assert prose.data_sentence(_design()) == (
        "3 units are analysed (1 positive (label 1), 2 negative (label 0)), each rated on 1 "
        "features (f) by 2 to 3 raters; rater ids are persons. 2 units are left out; units "
        "need at least 2 raters on every feature.")
    d = _design(raters="positions", positive="malignant", negative="benign",
                raters_per_unit=2, seed=7)
    assert prose.data_sentence(d) == (
        "3 units are analysed (1 malignant, 2 benign), each rated on 1 features (f) by 2 to 3 "
        "raters; rater ids are positions (slots filled by any rater). 2 units are left out; "
        "units need at least 2 raters on every feature, and exactly 2 raters were drawn per "
        "unit (seed 7).")


def _curve(selection: str, left_out=(0, 0), trend=True) -> SimpleNamespace:
    summary = pd.DataFrame({"k": [2, 2, 3, 3], "feature_set": ["mean", "sd"] * 2,
                            "selection": selection, "n_annotators": 3,
                            "n_left_out": [left_out[0]] * 2 + [left_out[1]] * 2})
    t = pd.DataFrame({"feature_set": ["sd"], "slope": [0.01], "conf_low": [-0.02],
                      "conf_high": [0.04], "direction": ["flat"]})
    return SimpleNamespace(summary=summary, trend=t if trend else t.iloc[:0],
                           skipped=pd.DataFrame({"reason": []}),
                           manifest_extra={"annotator_curve": {"max_subsets": 30}})


def test_curve_sentence_subsets_draws_and_no_curve():
    assert prose.curve_sentence(_curve("subsets")) == (
        "The cvAUC of the mean and of the sd across raters when only k raters per unit are "
        "used, k = 2 to 3: every subset of k of the 3 raters (or a seeded sample of 30), the "
        "same raters on every unit; the trend over k, with a bootstrap-over-units interval: "
        "sd: slope +0.010 per rater (95% CI -0.020 to +0.040, flat).")
    assert prose.curve_sentence(_curve("draws", left_out=(0, 5), trend=False)) == (
        "The cvAUC of the mean and of the sd across raters when only k raters per unit are "
        "used, k = 2 to 3: k raters drawn at random for each unit among its own raters (up to "
        "30 seeded draws per k; one where every unit has exactly k raters); units with fewer "
        "than k raters are left out at that k (k = 3: 5).")
    assert prose.curve_sentence(None) == "No annotator-count curve: not run."
    empty = _curve("subsets")
    empty.summary = empty.summary.iloc[:0]
    empty.skipped = pd.DataFrame({"reason": ["fewer than 3 raters"]})
    assert not prose.has_curve(empty) and prose.has_curve(_curve("subsets"))
    assert prose.curve_sentence(empty) == "No annotator-count curve: fewer than 3 raters."


def test_c5_seed_sentence_before_and_after_and_seed_dependence():
    from analysis.studies import review
    rows = []
    for setting, obs_r, ps in (("old", 10, [0.03, 0.06, 0.04, 0.07]),
                               ("new", 100, [0.04, 0.045, 0.04, 0.06])):
        for i, p in enumerate(ps):
            for fs, pp in (("sd", 0.003), ("skewness", p)):
                for est in ("mle", "firth"):
                    rows.append({"seed": 2018 + i, "feature_set": fs, "estimator": est,
                                 "setting": setting, "observed_repeats": obs_r,
                                 "null_repeats": 10, "n_permutations": 1000, "p_value": pp,
                                 "verdict": "supported" if pp < 0.05 else "not shown"})
    s = review.c5_seed_summary(pd.DataFrame(rows)).set_index(["setting", "part"])
    assert s.loc[("old", "C5"), "share_agree"] == 0.5
    assert s.loc[("new", "C5"), "share_agree"] == 0.75
    assert s.loc[("new", "C5"), "modal_verdict"] == "supported"
    assert s.loc[("new", "C5a"), "share_agree"] == 1.0
    assert s.loc[("new", "C5b"), "p_max"] == 0.06
    text = prose.c5_seed_sentence(s.reset_index())
    assert "under 4 master seeds" in text and "75% of the seeds" in text
    assert "50% of the seeds" in text and "still depends on the seed" in text
    assert prose.c5_seed_sentence(pd.DataFrame()) is None


def test_c5_interval_sentence_says_why_when_they_seem_to_disagree():
    perm = {"p_value": 0.036, "null_sd": 0.106}
    ci = {"cv_auc": 0.683, "conf_low": 0.456, "conf_high": 0.911, "std_error": 0.116,
          "p_value": 0.115}
    text = prose.c5_interval_sentence(perm, ci)
    assert "seem to disagree" in text and "0.116" in text and "0.106" in text
    ok = prose.c5_interval_sentence({**perm, "p_value": 0.003}, {**ci, "conf_low": 0.60})
    assert "agree;" in ok


# --- review.qmd's first section: does disagreement add to the consensus? ---------------

def _inc(rows):
    """incremental_value rows: (estimator, diff, low, high, p one-sided, improves, no gain,
    lrt p, share separated)."""
    cols = ["estimator", "estimate", "conf_low", "conf_high", "p_value", "verdict_improves",
            "verdict_no_gain", "lrt_p_value", "share_separated"]
    f = pd.DataFrame(rows, columns=cols)
    return f.assign(feature_set="mean+sd", added="sd", cv_auc_mean=0.9, margin=0.05,
                    cv_auc_set=0.9 + f["estimate"])


def test_incremental_sentence_says_improvement_and_margin():
    up = _inc([("mle", 0.05, 0.02, 0.08, 0.001, "supported", "not supported", 1e-5, 0.0),
               ("firth", 0.05, 0.02, 0.08, 0.001, "supported", "not supported", 1e-5, 0.0)])
    assert prose.incremental_sentence(up) == (
        "Adding sd to the mean: cvAUC 0.900 -> 0.950, a change of +0.050 [+0.020, +0.080] "
        "(one-sided p 0.001 for an improvement; plain maximum likelihood): disagreement "
        "improves on the consensus under both estimators.")
    flat = _inc([("mle", -0.002, -0.010, 0.006, 0.69, "not shown", "supported", 0.02, 0.0),
                 ("firth", -0.002, -0.010, 0.006, 0.69, "not shown", "supported", 0.03, 0.0)])
    assert prose.incremental_sentence(flat).endswith(
        "no improvement is shown, and a gain of 0.05 AUC or more is ruled out.")
    wide = _inc([("mle", 0.01, -0.05, 0.07, 0.4, "not shown", "not shown", 0.5, 0.0)])
    assert "not ruled out either" in prose.incremental_sentence(wide)


def test_incremental_sentence_rests_on_firth_where_no_mle_exists():
    rows = _inc([("mle", 0.20, 0.10, 0.30, 1e-5, "supported", "not supported", np.nan, 1.0),
                 ("firth", 0.01, -0.05, 0.07, 0.4, "not shown", "not shown", 0.3, 1.0)])
    assert prose.resting_estimator(rows) == "firth"
    s = prose.incremental_sentence(rows)
    assert "+0.010 [-0.050, +0.070]" in s and "(one-sided p 0.4 for an improvement; Firth)" in s
    assert "no improvement is shown" in s  # the MLE row's "supported" is not read


def test_lrt_reconciliation_only_when_the_two_disagree():
    flat = _inc([("mle", -0.002, -0.010, 0.006, 0.69, "not shown", "supported", 0.02, 0.0)])
    assert prose.lrt_reconciliation(flat) == (
        "For sd, the LRT finds the added coefficients non-zero in sample (p 0.02) but "
        "out-of-sample discrimination does not change measurably (-0.002 [-0.010, +0.006]): "
        "the added features fit this sample without ranking new units better (they may "
        "still shift the predicted probabilities).")
    both = _inc([("mle", 0.05, 0.02, 0.08, 0.001, "supported", "not supported", 1e-5, 0.0)])
    assert prose.lrt_reconciliation(both) is None
    weak = _inc([("mle", 0.05, 0.02, 0.08, 0.001, "supported", "not supported", 0.2, 0.0)])
    assert "does not find the added coefficients non-zero (p 0.2)" in \
        prose.lrt_reconciliation(weak)
    none = _inc([("mle", 0.0, -0.1, 0.1, 0.5, "not shown", "not shown", np.nan, 0.0)])
    assert prose.lrt_reconciliation(none) is None


def test_margin_sentence_names_the_default_or_the_users_choice():
    assert "the package's default" in prose.margin_sentence(0.05, 0.05)
    s = prose.margin_sentence(0.02, 0.05)
    assert s.startswith("The margin of \"no gain\" is 0.02 AUC, as set for this render")
    assert "default is 0.05" in s


def test_weight_sentence_lists_disagreement_terms_whose_interval_excludes_one():
    c = pd.DataFrame({
        "feature_set": "mean+sd", "estimator": "mle",
        "term": ["(Intercept)", "mean_a", "sd_a", "sd_b", "sd_c"],
        "odds_ratio": [1.0, 3.0, 0.5, 1.1, 2.0],
        "odds_ratio_conf_low": [0.5, 2.0, 0.3, 0.8, 1.2], "odds_ratio_conf_high": [2.0, 4.0, 0.8, 1.5, 3.0]})
    assert prose.weight_sentence(c, "mean+sd", "mle") == (
        "In mean+sd (plain maximum likelihood), the disagreement terms whose 95% interval "
        "excludes 1, given the mean: sd_c (odds ratio 2.00 per SD), sd_a (odds ratio 0.50 "
        "per SD); of 3 disagreement terms.")
    c["odds_ratio_conf_low"], c["odds_ratio_conf_high"] = 0.5, 2.0
    assert "no disagreement term's odds-ratio interval excludes 1" in \
        prose.weight_sentence(c, "mean+sd", "mle")


def test_claims_left_out_names_each_and_what_it_needs():
    skipped = pd.DataFrame({"feature_set": ["shape", "annotator_1"],
                            "reason": ["some units lack a score",
                                       "raters are positions, not persons"]})
    s = prose.claims_left_out(["C1", "C4"], ["C1", "C2", "C3", "C4"], skipped, ["shape"])
    assert s.startswith("Left out, because this data set's design lacks what they need: C2 "
                        "(needs two feature types or more")
    assert "C3 (needs per-rater feature sets" in s
    assert "The per-feature sets were not built: some units lack a score." in s
    assert s.endswith("The per-rater sets were not built: raters are positions, not persons.")
    assert prose.claims_left_out(["C1"], ["C1"]) == \
        "Every claim could be evaluated on this data set."


def test_incremental_sentences_answer_each_model_then_reconcile():
    a = _inc([("mle", -0.002, -0.010, 0.006, 0.69, "not shown", "supported", 0.02, 0.0)])
    b = _inc([("mle", 0.05, 0.02, 0.08, 0.001, "supported", "not supported", 1e-5, 0.0)])
    b = b.assign(feature_set="mean+kurtosis", added="kurtosis")
    out = prose.incremental_sentences(pd.concat([a, b], ignore_index=True))
    assert len(out) == 3
    assert out[0].startswith("Adding sd to the mean") and out[1].startswith("Adding kurtosis")
    assert out[2].startswith("For sd, the LRT finds")


def test_lrt_reconciliation_distinguishes_no_change_from_an_undecided_gain():
    wide = _inc([("mle", 0.08, -0.012, 0.173, 0.044, "not shown", "not shown", 1e-9, 0.0)])
    assert prose.lrt_reconciliation(wide) == (
        "For sd, the LRT finds the added coefficients non-zero in sample (p < 0.0001) while "
        "the out-of-sample gain is not shown (+0.080 [-0.012, +0.173]): the interval is too "
        "wide to say whether the features that fit this sample also rank new units better.")
    worse = _inc([("firth", -0.05, -0.08, -0.02, 0.999, "not supported", "supported", 0.01,
                   0.0)])
    assert "penalised LRT" in prose.lrt_reconciliation(worse)
    assert "gets worse (-0.050 [-0.080, -0.020])" in prose.lrt_reconciliation(worse)


def _paths(verdicts, estimators, estimates) -> pd.DataFrame:
    """Rows of one claim over paths that differ only in the estimator (path 0 is the
    paper's)."""
    from analysis.studies import multiverse as mv

    rows = []
    for i, (v, e, x) in enumerate(zip(verdicts, estimators, estimates, strict=True)):
        rows.append({**{ch: levels[0] for ch, levels in mv.CHOICES.items()}, "estimator": e,
                     "claim": "C4", "is_paper": i == 0, "verdict": v, "estimate": x})
    return pd.DataFrame(rows)


def test_survival_sentences_say_which_choice_flips_the_verdict():
    from analysis.studies import multiverse as mv

    est = list(mv.ESTIMATORS)
    f = _paths(["supported", "supported", "not shown", "not shown"],
               [est[0], est[0], est[1], est[1]], [0.2, 0.25, 0.05, 0.1])
    table = mv.survival(f).iloc[0]
    assert (table["n_flips"], table["n_supported"], table["n_not_shown"]) == (2, 2, 2)
    assert table["flip_drivers"] == [(2, (("estimator", est[1]),))]
    assert prose.survival_sentences(f) == [
        "C4: the verdict 'supported' (paper's choices) flips on 2 of 4 paths (supported 2, "
        "not shown 2, not supported 0; estimates 0.050 to 0.250); flips involve every path "
        f"with estimator = {est[1]} (2 of 2 flips)."]
    same = _paths(["supported"] * 2, [est[0], est[1]], [0.2, 0.3])
    assert prose.survival_sentences(same) == [
        "C4: the verdict 'supported' (paper's choices) survives all 2 paths (estimates 0.200 "
        "to 0.300)."]


def test_weight_sentence_leaves_the_rater_count_covariate_out():
    """n_raters (--rater-count covariate) is not a disagreement term."""
    c = pd.DataFrame({
        "feature_set": "mean+sd", "estimator": "mle",
        "term": ["(Intercept)", "mean_a", "sd_a", "n_raters"],
        "odds_ratio": [1.0, 3.0, 1.1, 2.1],
        "odds_ratio_conf_low": [0.5, 2.0, 0.8, 1.4], "odds_ratio_conf_high": [2.0, 4.0, 1.5, 3.4]})
    s = prose.weight_sentence(c, "mean+sd", "mle")
    assert "n_raters" not in s
    assert "no disagreement term's odds-ratio interval excludes 1" in s
