"""Resampling budgets (analysis.base.budgets): one home per count, read by every caller."""

import dataclasses
import inspect

import pytest

from analysis import cli
from analysis.base import budgets
from analysis.presentation import report, review_doc
from analysis.studies import multiverse, replication, review, simulate


def test_budgets_are_frozen_and_checked():
    with pytest.raises(dataclasses.FrozenInstanceError):
        budgets.REVIEW.n_permutations = 5
    with pytest.raises(ValueError, match="n_boot"):
        budgets.ReviewBudget(n_boot=-1)


def test_per_study_permutation_counts_have_one_home_each():
    """The four studies keep their own counts, under distinct names."""
    assert budgets.REVIEW.n_permutations == 1000
    assert budgets.REPLICATION.n_permutations == 200
    assert budgets.MULTIVERSE.n_permutations == 200
    assert budgets.SIMULATION.n_permutations == 99
    assert inspect.signature(review.review).parameters["n_permutations"].default == 1000
    # the sequential extension of the review's test: at most 4 x 1000 (issue 20)
    assert budgets.REVIEW.perm_extension == 4
    assert inspect.signature(review.review).parameters["perm_extension"].default == 4
    assert (inspect.signature(review.permutation_tests).parameters["perm_extension"].default
            == 4)
    assert inspect.signature(replication.replicate).parameters["n_permutations"].default == 200
    assert inspect.signature(multiverse.multiverse).parameters["n_permutations"].default == 200
    assert inspect.signature(simulate.power).parameters["n_permutations"].default == 99


def _defaults(*argv):
    return vars(cli.build_parser().parse_args([*argv, "--out", "x"]))


def test_cli_defaults_are_the_budgets():
    rv = _defaults("review")
    b = budgets.REVIEW
    assert (rv["bootstrap"], rv["permutations"], rv["repeats"], rv["perm_repeats"],
            rv["calibration_bootstrap"], rv["seeds"]) == (
        b.n_boot, b.n_permutations, b.repeats, b.perm_repeats, b.calibration_boot, b.n_seeds)
    assert _defaults("replicate")["permutations"] == budgets.REPLICATION.n_permutations
    assert _defaults("annotators")["max_subsets"] == budgets.CURVE.max_subsets
    assert _defaults("multiverse")["permutations"] == budgets.MULTIVERSE.n_permutations
    sm = _defaults("simulate")
    assert (sm["permutations"], sm["datasets"]) == (budgets.SIMULATION.n_permutations,
                                                    budgets.SIMULATION.n_datasets)
    # the simulate command calibrates with the report's count (was 200 against 150)
    assert sm["calibration_datasets"] == budgets.SIMULATION.calibration_datasets == 150
    an = _defaults("analyze", "--dataset", "enhance/2017-2018/group07")
    assert an["multiverse_permutations"] == budgets.MULTIVERSE_SWEEP.n_permutations
    assert an["power_calibration_datasets"] == budgets.SIMULATION_SWEEP.calibration_datasets


def test_library_cli_and_drafts_read_the_budgets():
    b = budgets.SIMULATION
    cal = inspect.signature(simulate.calibration).parameters
    assert cal["n_datasets"].default == b.calibration_datasets
    assert review_doc.DRAFT == dataclasses.asdict(budgets.REVIEW_DOC_DRAFT)
    sweep = budgets.SIMULATION_SWEEP_DRAFT
    assert review_doc.DRAFT_SWEEPS["power"]["n_truth"] == sweep.truth_draws
    assert not hasattr(report, "QUICK")


def test_permutation_minimum_is_the_smallest_count_that_can_support_a_claim():
    from analysis.statistics import cvinference
    from analysis.studies import analyze

    low = budgets.MIN_PERMUTATIONS
    # p = 1/(B+1) is the smallest p-value; the verdicts need p < ALPHA
    assert 1 / (19 + 1) >= cvinference.ALPHA and 1 / (low + 1) < cvinference.ALPHA
    # the next count after 19 whose level is exact on the attainable p-values
    assert low == min(b for b in range(20, 1000)
                      if abs(cvinference.ALPHA * (b + 1) - round(cvinference.ALPHA * (b + 1)))
                      < 1e-9)
    assert cli.MIN_PERMUTATIONS == low and budgets.check_permutations(low) == low
    for bad in (19, 38, 2.5, True, "40"):
        with pytest.raises(ValueError, match="`n_permutations` must be"):
            budgets.check_permutations(bad)
    with pytest.raises(ValueError, match=r"smallest p-value is 1/\(B\+1\)"):
        analyze.analyze(None, n_permutations=19)
    # every paper-grade and user-facing count is at least the minimum; the drafts are
    # exempt (see the budgets' docstring)
    for b in (budgets.REVIEW, budgets.REVIEW_DOC_DRAFT, budgets.REVIEW_DRAFT,
              budgets.REPLICATION, budgets.MULTIVERSE, budgets.MULTIVERSE_SWEEP,
              budgets.SIMULATION, budgets.SIMULATION_SWEEP):
        assert b.n_permutations >= low, b
