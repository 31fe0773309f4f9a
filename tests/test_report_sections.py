"""The report's displays (analysis/presentation/report.py): plain functions of a ReportData, gathered
by one function per section; each checked on a hand-made stand-in whose text is known."""

import ast
import inspect
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.presentation import prose, report


def test_separation_sentence_counts_training_folds():
    folds = pd.DataFrame({
        "estimator": ["mle"] * 6 + ["firth"],
        "experiment": [1, 1, 2, 2, 2, 3, 1],
        "repeat": [0, 0, 0, 1, 0, 0, 0],
        "feature_set": ["a", "a", "b", "b", "c", "d", "a"],
        "separated": [True, False, False, True, False, True, True],
    })
    rd = SimpleNamespace(exp=SimpleNamespace(folds=folds))
    # experiments 1-2, mle: 5 folds, 2 separated; canonical split: a has 1, b and c none
    assert report.separation_sentence(rd) == (
        "over all repeats, 2 of 5 training folds (40%) are separated; in the canonical "
        "split, 1 of 3 feature sets have at least one separated fold (`a` 1/10).")


def test_comparison_sentence_names_the_numbers_outside_the_band():
    c = pd.DataFrame({"feature_set": ["all", "sd", "color"], "within_band": [True, False, False],
                      "paper_auc": [0.96, 0.71, np.nan], "paper_low": [np.nan, np.nan, 0.9],
                      "paper_high": [np.nan, np.nan, 0.95], "band_low": [0.9, 0.5, 0.8],
                      "band_high": [0.99, 0.6, 0.85]})
    rd = SimpleNamespace(comparison=c)
    assert report.comparison_sentence(rd) == (
        "1 of 3 reported numbers lie inside our band of repeat-to-repeat variation; the "
        "others are sd (paper 0.71, ours 0.50-0.60), color (paper 0.90-0.95, ours "
        "0.80-0.85).")
    assert report.comparison_sentence(SimpleNamespace(comparison=c.iloc[:1])) == (
        "1 of 1 reported numbers lie inside our band of repeat-to-repeat variation.")


def test_estimator_and_excluded_groups_sentences():
    parts = pd.DataFrame({"part": ["C1", "C5a", "C5b"],
                          "verdict": ["supported", "inconclusive", "inconclusive"]})
    assert prose.estimator_sentence(parts) == (
        "The verdict of C5a, C5b depends on the estimator and is therefore marked "
        "inconclusive.")
    assert prose.estimator_sentence(parts.iloc[:1]).startswith("No part's verdict depends")
    e = pd.DataFrame({"cohort": ["c"], "group": ["g9"], "reason": ["no sd"]})
    assert (report.excluded_groups_sentence(SimpleNamespace(replication=SimpleNamespace(
        excluded_groups=e))) == "Left out: c g9 (no sd).")
    assert (report.excluded_groups_sentence(SimpleNamespace(replication=SimpleNamespace(
        excluded_groups=e.iloc[:0]))) == "No group is left out.")


def test_ci_text_and_trend_display():
    auc = pd.DataFrame({"feature_set": ["sd"], "estimator": ["mle"], "cv_auc": [0.7123],
                        "conf_low": [0.6], "conf_high": [0.8], "fold_mean_auc": [0.69]})
    rd = report.ReportData.__new__(report.ReportData)
    rd.review = SimpleNamespace(auc_ci=auc)
    assert report.ci_text(rd, "sd") == ("0.712 (bootstrap-CV 95% CI 0.600 to 0.800; "
                                         "canonical split 0.690)")
    t = pd.DataFrame({"cohort": ["c"], "group": ["g"], "feature_set": ["sd"], "k_min": [2],
                      "k_max": [5], "slope": [0.01], "conf_low": [-0.002], "conf_high": [0.03],
                      "direction": ["flat"]})
    out = report.trend_display(SimpleNamespace(curve=SimpleNamespace(trend=t)))
    assert out.iloc[0].to_dict() == {"cohort": "c", "group": "g", "features": "sd", "k": "2-5",
                                     "slope per annotator (95% CI)": "+0.010 [-0.002, +0.030]",
                                     "trend": "flat"}
    empty = report.trend_display(SimpleNamespace(curve=SimpleNamespace(trend=t.iloc[:0])))
    assert list(empty["note"]) == ["no group with more than two annotators"]


def test_a_section_reads_like_an_object_and_cannot_be_changed():
    sec = report.Section("demo", {"n": 3})
    assert sec.n == 3 and "n" in dir(sec)
    with pytest.raises(AttributeError, match="section 'demo' shows no 'm'"):
        sec.m  # noqa: B018
    with pytest.raises(AttributeError):
        sec.n = 4


def test_every_display_function_is_shown_by_a_section():
    """Each plain display function of report.py is gathered by a present_* function (or
    called by report.qmd itself), so the report cells only read sections."""
    src = inspect.getsource(report)
    tree = ast.parse(src)
    display = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)
               and n.args.args and n.args.args[0].arg == "rd"}
    used = set()
    for n in tree.body:
        if isinstance(n, ast.FunctionDef) and n.name.startswith("present_"):
            used |= {x.id for x in ast.walk(n) if isinstance(x, ast.Name)}
    qmd = (Path(report.__file__).parents[2] / "report.qmd").read_text()
    called_in_qmd = {f for f in display if f"{f}(rd)" in qmd}
    sections = {f for f in display if f.startswith("present_")}
    assert display - sections - used - called_in_qmd == set()
    assert called_in_qmd - sections == {"draft_banner", "calibration_figure"}
    for f in sections:
        assert f"{f}(rd)" in qmd, f


def test_strong_and_c4_power_displays_on_a_stand_in():
    cov = pd.DataFrame({"model": ["strong", "strong", "fitted"],
                        "quantity": ["auc_mean", "diff_mean_sd", "auc_mean"],
                        "method": "bootstrap_cv", "truth": [0.95, 0.13, 0.82],
                        "mean_estimate": [0.94, 0.12, 0.81], "coverage": [0.96, 0.9, 0.95],
                        "coverage_conf_low": [0.9, 0.8, 0.9], "coverage_conf_high": [0.99, 0.95, 0.99],
                        "miss_above": [0.02, 0.05, 0.0], "miss_below": [0.02, 0.05, 0.05],
                        "mean_width": [0.1, 0.3, 0.2]})
    studies = pd.DataFrame({"model": "strong", "diff_mean_sd": [0.3, 0.1],
                            "diff_mean_sd_boot_std_error": [0.1, 0.1],
                            "diff_mean_sd_boot_conf_low": [0.1, -0.1],
                            "diff_mean_sd_boot_conf_high": [0.5, 0.3]})
    truth = pd.DataFrame({"model": ["strong"], "quantity": ["diff_mean_sd"], "truth": [0.13]})
    cal = SimpleNamespace(coverage=cov, studies=studies, truth=truth, settings={})
    rd = SimpleNamespace(calibration=cal)
    t = report.strong_display(rd)
    assert list(t["quantity"]) == ["cvAUC(mean)", "mean - sd"]
    assert t["coverage (95% CI)"].iloc[0] == "96.0% [90.0, 99.0]"
    p = report.c4_power_display(rd)
    assert list(p["model"]) == ["strong-signal scenario"]
    assert p["supported (95% CI)"].iloc[0].startswith("0.50")
    assert report.strong_sentence(rd) == ""  # no calibration info: no sentence


def test_c5_seed_display_reads_the_stored_measurement():
    t = report.c5_seed_display(SimpleNamespace())
    if not report.SEED_STABILITY.exists():
        assert t.empty
        return
    stored = pd.read_csv(report.SEED_STABILITY)
    assert len(t) == len(stored) and "before" in set(t["setting"])
    assert (t["seeds"] >= 20).all() and t["share agreeing"].between(0, 1).all()
    assert report.c5_seed_sentence(SimpleNamespace()).startswith("C5's verdict was recomputed")


def test_metacov_check_facts_are_read_not_written():
    """The numbers the replication text quotes about the jackknife come from its
    constant and the stored check: keep 0.75 is 3/4 and the factor 3; 18 melanomas drawn
    with replacement hold 1 - (17/18)^18 = 64% distinct ones."""
    from fractions import Fraction

    from analysis.statistics import metacov

    f = report.metacov_check_facts(None)
    assert Fraction(f["keep"]) == Fraction(metacov.SUBSAMPLE_KEEP).limit_denominator(100)
    assert float(f["factor"]) == metacov.SUBSAMPLE_KEEP / (1 - metacov.SUBSAMPLE_KEEP)
    assert f["distinct"] == "64%"
    lo, hi = (float(x) for x in f["bootstrap_recovered"].split(" to "))
    assert 0 < lo <= hi < 1  # the plain bootstrap falls short of the covariance


def test_metacov_check_facts_without_the_stored_check(monkeypatch, tmp_path):
    """A copy of the project without benchmarks/results (as the render test makes) still
    renders: the facts read from the check say that it was not found."""
    monkeypatch.setattr(report, "METACOV_CHECK", tmp_path / "meta_covariance_check.csv")
    f = report.metacov_check_facts(None)
    assert f["keep"] == "3/4" and "not found" in f["variance_ratio"]
    assert "not found" in report.metacov_check_sentence(None)
