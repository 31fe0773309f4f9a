"""The review's claims in words (analysis.presentation.claims): each column's wording
from hand-built rows whose sentence is known, without running a review."""

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.base.results import StudyResult
from analysis.presentation import claims
from analysis.presentation.outputs import result_tables
from analysis.studies import review


def row(kind, set_a="", set_b="", claim="C4", **kw):
    return SimpleNamespace(kind=kind, set_a=set_a, set_b=set_b, claim=claim, **kw)


G7 = SimpleNamespace(cohort="2017-2018", group="group07", settings={})
G3 = SimpleNamespace(cohort="2017-2018", group="group03", settings={})
USER = SimpleNamespace(cohort="user", group="mine",
                       settings={"negative": "benign", "positive": "nodule"})


def test_positive_words_name_the_class_of_each_kind_of_data_set():
    assert claims.positive_words(G7) == ("melanomas", "melanoma")
    assert claims.positive_words(G3) == ("positives", "positive")
    assert claims.positive_words(USER) == ("nodule units", "nodule unit")


@pytest.mark.parametrize(("r", "paper", "text"), [
    (row("above_half", "all", claim="C1"), True, "cvAUC of all 30 features > 0.5"),
    (row("above_half", "all", claim="C1"), False, "cvAUC of all > 0.5"),
    (row("above_half", "moments_all", claim="C1"), True, "cvAUC of moments_all > 0.5"),
    (row("better", "mean", "sd"), False, "cvAUC(mean) > cvAUC(sd)"),
    (row("noninferior", "mean+sd", "mean"), False,
     "cvAUC(mean+sd) - cvAUC(mean) < 0.05 (adding disagreement does not improve)"),
    (row("types_differ", claim="C2"), False, "the feature types' cvAUCs are not all equal"),
    (row("good_auc", "annotator_2", claim="C3"), False, "cvAUC(annotator_2) > 0.80"),
    (row("permutation", "sd", claim="C5"), False, "cvAUC(sd) > 0.5"),
    (row("fold_sd", "skewness", claim="C6"), False,
     "skewness: fold AUCs vary more than test-fold sampling gives"),
    (row("fold_below_half", "sd", claim="C6"), False,
     "sd: more folds below 0.5 than test-fold sampling gives"),
    (row("lower_in_positives", "border", claim="C7"), False, "sd of border lower in nodule units"),
])
def test_part_statement(r, paper, text):
    assert claims.part_statement(r, paper=paper, positives="nodule units") == text


def test_every_kind_has_a_statement_a_quantity_and_a_paper_number():
    for kind in review.PART_KINDS:
        r = row(kind, "sd", "mean")
        assert claims.part_statement(r, paper=False, positives="positives")
        assert claims.part_quantity(r, positives="positives")
    # the paper's numbers: C2's by the type compared with color, C4's and C5's by set
    assert claims.part_paper(row("better", "color", "border", claim="C2")) == "0.93 vs 0.82"
    assert claims.part_paper(row("better", "mean", "sd", claim="C4")) == "0.99 vs 0.71-0.73"
    assert claims.part_paper(row("permutation", "skewness", claim="C5")) == "0.73"


def test_the_margin_and_the_class_reach_the_words():
    r = row("noninferior", "mean+sd", "mean")
    assert "< 0.1 (adding" in claims.part_statement(r, paper=False, positives="x", margin=0.1)
    assert claims.part_quantity(row("lower_in_positives", "color"), positives="nodule units") == (
        "AUC of sd (nodule unit as positive; < 0.5 = lower in nodule units)")


def test_noninferiority_evidence_says_when_the_sample_cannot_decide():
    assert claims.noninferiority_evidence(0.3, 96) == (
        "cannot be decided at n = 96: power 30% (chance of showing it if adding "
        "disagreement changes nothing)")
    assert claims.noninferiority_evidence(0.8, 96) == (
        "power 80% if adding disagreement changes nothing")
    assert claims.noninferiority_evidence(np.nan, 96) == ""


def _rv():
    """A review's tables reduced to the rows the words read (one estimator)."""
    fv = pd.DataFrame({"feature_set": ["sd"], "estimator": ["mle"], "comparison": [""],
                       "fold_auc_sd": [0.2], "expected_sd": [0.15], "sd_lower_p_value": [0.9],
                       "share_below_half": [0.25], "expected_below_half": [0.1],
                       "below_lower_p_value": [0.99]})
    perm = pd.DataFrame({"feature_set": ["sd"], "estimator": ["mle"], "p_value": [0.2],
                         "observed_repeats": [50], "cv_repeats": [10], "null_sd": [0.05],
                         "seed_min_p_value": [np.nan], "seed_median_p_value": [np.nan],
                         "seed_max_p_value": [np.nan]})
    ci = pd.DataFrame({"feature_set": ["sd"], "estimator": ["mle"], "cv_auc": [0.6],
                       "conf_low": [0.45], "conf_high": [0.75], "p_value": [0.2],
                       "std_error": [0.08]})
    cmp_ = pd.DataFrame({"part": ["C2*"], "estimator": ["mle"], "df": [3], "statistic": [7.815]})
    mt = pd.DataFrame({"moment": ["sd", "mean"], "feature": ["border", "border"],
                       "direction": ["lower in melanoma", "higher in melanoma"],
                       "rank_biserial": [-0.314, 0.5]})
    return SimpleNamespace(fold_variability=fv, permutation=SimpleNamespace(summary=perm),
                           auc_ci=ci, comparisons=cmp_, moment_tests=mt, settings={},
                           exp=SimpleNamespace(estimators=("mle",)),
                           design=SimpleNamespace(labels=np.zeros(40)))


def test_part_evidence_reads_the_numbers_of_its_kind():
    rv = _rv()
    assert claims.part_evidence(row("fold_below_half", "sd", claim="C6"), rv) == (
        "observed 0.250, expected from sampling 0.100, p lower 0.990")
    assert claims.part_evidence(row("fold_sd", "sd", claim="C6"), rv) == (
        "observed 0.200, expected from sampling 0.150, p lower 0.900")
    assert claims.part_evidence(row("types_differ", claim="C2"), rv) == "chi-square 7.82"
    assert claims.part_evidence(row("lower_in_positives", "border", claim="C7"), rv) == (
        "lower in melanoma, rank-biserial -0.31")
    assert claims.part_evidence(row("good_auc", "annotator_1", claim="C3",
                                    paper_level_verdict="not shown"), rv) == (
        "at the paper's level 0.90: not shown")
    assert claims.part_evidence(row("noninferior", "mean+sd", "mean", power=0.25), rv) == (
        "cannot be decided at n = 40: power 25% (chance of showing it if adding "
        "disagreement changes nothing)")
    # no seeds, p above 5%: C5 has nothing to add; C1 and "better" parts never do
    assert claims.part_evidence(row("permutation", "sd", claim="C5"), rv) == ""
    assert claims.part_evidence(row("better", "mean", "sd"), rv) == ""


def test_part_test_gives_its_sizes():
    rv = _rv()
    assert claims.part_test(row("types_differ", claim="C2"), rv) == (
        "Wald chi-square, 3 df (bootstrap-CV covariance)")
    assert claims.part_test(row("permutation", "sd", claim="C5"), rv) == (
        "label permutation of the repeated CV (50 fold assignments observed, 10 per permutation)")
    assert claims.part_test(row("noninferior", "mean+sd", "mean"), rv, 0.1) == (
        "non-inferiority: upper 95% limit < 0.1")


def test_c5_evidence_explains_an_interval_containing_half_beside_a_small_p():
    perm = pd.Series({"p_value": 0.01, "null_sd": 0.05, "seed_min_p_value": 0.004,
                      "seed_median_p_value": 0.012, "seed_max_p_value": 0.03})
    ci = pd.Series({"conf_low": 0.48, "p_value": 0.07, "std_error": 0.08})
    text = claims.c5_evidence(perm, ci, 20)
    assert text.startswith("p over 20 other seeds: 0.004 to 0.030 (median 0.012); ")
    assert "contains 0.5 (z-test p 0.070) beside permutation p 0.010" in text
    assert claims.c5_evidence(perm, pd.Series({**ci, "conf_low": 0.55}), 0) == ""


@dataclass(frozen=True, kw_only=True, eq=False)
class _Toy(StudyResult):
    def tables(self):
        return {"toy.csv": pd.DataFrame({"a": [1]})}


def test_only_a_review_gains_worded_tables():
    toy = _Toy(settings={}, elapsed=0.0)
    assert list(result_tables(toy)) == ["toy.csv"]
    # a result that holds something else as `review` gains nothing
    assert list(result_tables(SimpleNamespace(tables=toy.tables, review="x"))) == ["toy.csv"]
