"""Resampling budgets: how many fold assignments, replicates and permutations each study
spends, with named presets.

One frozen dataclass per study; its field defaults are the paper-grade counts (what the
CLI commands and the full report use), and the presets below are the other budgets the
package runs (the quick draft of the report, the draft of ``review.qmd``, the on-request
sweeps of ``analyze``). The library's defaults, the CLI's defaults, the report, the
``review.qmd`` draft and the manifests all read these objects; no count is written
anywhere else.

==========================  ===============================================================
preset                      used by
==========================  ===============================================================
``REVIEW``                  ``review``, ``analyze`` (CLI and library defaults), the report
``REVIEW_DRAFT``            the report's quick draft (``CROWD_DISAGREEMENT_QUICK=1``)
``REVIEW_DOC_DRAFT``        ``review.qmd``'s draft (two CV repeats)
``REPLICATION``             ``replicate``; ``REPLICATION_DRAFT`` the report's draft
``CURVE``                   ``annotators``, ``analyze``; ``CURVE_DRAFT`` both drafts
``MULTIVERSE``              ``multiverse``; ``MULTIVERSE_DRAFT`` the report's draft;
                            ``MULTIVERSE_SWEEP`` ``analyze --multiverse``;
                            ``MULTIVERSE_SWEEP_DRAFT`` ``review.qmd``'s draft
``SIMULATION``              ``simulate``, the report; ``SIMULATION_DRAFT`` the report's draft;
                            ``SIMULATION_SWEEP`` ``analyze --power``;
                            ``SIMULATION_SWEEP_DRAFT`` ``review.qmd``'s draft
==========================  ===============================================================

The smallest number of permutations a user may ask for is :data:`MIN_PERMUTATIONS`
(39), checked by :func:`check_permutations`: with B permutations the smallest p-value
is 1/(B+1), and the verdict rule is p < 0.05 (``analysis.statistics.cvinference.ALPHA``), so
B = 19 (p >= 0.05) could never support a claim; 39 is the smallest B above 19 for
which 0.05 (B+1) is a whole number (the test's level is then exact on the p-values it
can give). The CLI (every ``--*permutations`` option) and :func:`analysis.studies.analyze.analyze`
use it. The draft presets (``*_DRAFT``: ``REPLICATION_DRAFT``, ``MULTIVERSE_DRAFT``,
``MULTIVERSE_SWEEP_DRAFT``, ``SIMULATION_DRAFT``, ``SIMULATION_SWEEP_DRAFT``) keep 19 on
purpose: they are the package's own quick renders, marked as drafts, where time matters
more than a verdict; a draft of ``review.qmd`` that runs them says that their
permutation tests cannot reach p < 0.05 (:attr:`analysis.presentation.review_doc.ReviewDoc.draft_banner`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = [
    "NONINFERIORITY_MARGIN", "CURVE", "CURVE_DRAFT", "CurveBudget", "MULTIVERSE", "MULTIVERSE_DRAFT",
    "MULTIVERSE_SWEEP", "MULTIVERSE_SWEEP_DRAFT", "MultiverseBudget", "REPLICATION",
    "REPLICATION_DRAFT", "REVIEW", "REVIEW_DOC_DRAFT", "REVIEW_DRAFT", "ReplicationBudget",
    "ReviewBudget", "SIMULATION", "SIMULATION_DRAFT", "SIMULATION_SWEEP",
    "SIMULATION_SWEEP_DRAFT", "SimulationBudget", "as_dict", "MIN_PERMUTATIONS",
    "PERMUTATIONS_REASON", "check_permutations",
]

#: Smallest number of label permutations a user may ask for: with B permutations the
#: smallest p-value is 1/(B+1), and a claim is supported at p < 0.05; B = 19 gives
#: p >= 0.05, and 39 is the next B with 0.05 (B+1) whole (see the module docstring).
MIN_PERMUTATIONS = 39
#: Why (said by every refusal of a smaller count).
PERMUTATIONS_REASON = (f"with B permutations the smallest p-value is 1/(B+1), and with fewer "
                       f"than {MIN_PERMUTATIONS} a claim can never reach p < 0.05")


def check_permutations(n: int, name: str = "n_permutations") -> int:
    """``n`` if it is an integer >= :data:`MIN_PERMUTATIONS`; else a ValueError naming
    the parameter (in backticks) and the reason."""
    import operator

    try:
        if isinstance(n, bool):
            raise TypeError
        n = operator.index(n)
    except TypeError:
        raise ValueError(f"`{name}` must be an integer >= {MIN_PERMUTATIONS}, got {n!r}"
                         ) from None
    if n < MIN_PERMUTATIONS:
        raise ValueError(f"`{name}` must be at least {MIN_PERMUTATIONS}, got {n}: "
                         f"{PERMUTATIONS_REASON}")
    return n


@dataclass(frozen=True)
class _Budget:
    """Base of the budgets: every count is an integer >= 0."""

    def __post_init__(self):
        for k, v in asdict(self).items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{type(self).__name__}.{k} must be an integer >= 0, got {v!r}")


@dataclass(frozen=True)
class ReviewBudget(_Budget):
    """Counts of the statistical review (:func:`analysis.studies.review.review`).

    Attributes
    ----------
    repeats : int
        CV repeats of the cvAUC estimates (repeat 0 is the canonical split).
    n_boot : int
        Bootstrap-CV replicates.
    n_permutations : int
        Label permutations of each permutation test (its first stage).
    perm_extension : int
        The test draws ``n_permutations`` more at a time while the 99% interval of its
        p-value contains 5%, up to ``perm_extension x n_permutations`` in all (1: never).
    perm_repeats : int
        Fold assignments of the permutation statistic.
    n_seeds : int
        Other master seeds over which the permutation p-values are recomputed.
    calibration_boot : int
        Bootstrap replicates of the calibration statistics.
    """

    repeats: int = 100
    n_boot: int = 200
    n_permutations: int = 1000
    perm_extension: int = 4
    perm_repeats: int = 10
    n_seeds: int = 20
    calibration_boot: int = 1000


@dataclass(frozen=True)
class ReplicationBudget(_Budget):
    """Counts of :func:`analysis.studies.replication.replicate` (per group)."""

    repeats: int = 20
    n_permutations: int = 200
    perm_repeats: int = 5
    n_boot: int = 100
    #: delete-d jackknife replicates behind the meta-analysis's sampling covariances
    #: (:func:`analysis.statistics.metacov.joint_bootstrap`, ``scheme="subsample"``); 1600, not
    #: the 400 of the bootstrap it replaced: the covariance is multiplied by 3, and at
    #: 400 a correlation's Monte Carlo 95% interval was about +-0.2 on these data
    n_joint_boot: int = 1600


@dataclass(frozen=True)
class CurveBudget(_Budget):
    """Counts of the annotator curve (:func:`analysis.studies.replication.annotator_curve`)."""

    repeats: int = 5
    max_subsets: int = 30
    trend_boot: int = 50
    trend_subsets: int = 5


@dataclass(frozen=True)
class MultiverseBudget(_Budget):
    """Counts of each multiverse path (:func:`analysis.studies.multiverse.run_path`).

    ``n_permutations`` is the largest number of permutations of the sequential test,
    which stops at its ``exceedances``-th exceedance; ``batch`` permutations are
    evaluated before the stopping rule is checked.
    """

    n_permutations: int = 200
    n_boot: int = 50
    repeats: int = 3
    exceedances: int = 10
    batch: int = 20


@dataclass(frozen=True)
class SimulationBudget(_Budget):
    """Counts of the simulation (:mod:`analysis.studies.simulate`).

    Attributes
    ----------
    n_datasets : int
        Studies per power condition.
    n_permutations, h, perm_repeats : int
        Largest number of permutations of a simulated study's test, the exceedances at
        which it stops (Besag-Clifford), the fold assignments of its statistic.
    calibration_datasets, calibration_repeats, n_boot, pooled_boot : int
        Studies per model in the calibration, their fold assignments, bootstrap-CV
        replicates and BCa replicates of the pooled-score comparison.
    truth_draws : int
        Training-set draws of the Monte Carlo true value.
    calibration_studies, observed_repeats : int
        Monte Carlo studies and the group's fold assignments of the calibration of the
        model to a group (:func:`analysis.studies.simulate.calibrate_to_group`).
    """

    n_datasets: int = 25
    n_permutations: int = 99
    h: int = 10
    perm_repeats: int = 2
    calibration_datasets: int = 150
    calibration_repeats: int = 5
    n_boot: int = 50
    pooled_boot: int = 200
    truth_draws: int = 200
    calibration_studies: int = 200
    observed_repeats: int = 100


#: The review's non-inferiority margin (AUC) for "adding disagreement does not improve on
#: the mean" (claim C4), a setting rather than a count: ``margin=`` of
#: :func:`analysis.studies.review.review` and :func:`analysis.studies.analyze.analyze`, ``--margin`` of
#: the CLI. Why 0.05: :data:`analysis.studies.review.MARGIN`.
NONINFERIORITY_MARGIN = 0.05

REVIEW = ReviewBudget()
REVIEW_DRAFT = ReviewBudget(repeats=5, n_boot=30, n_permutations=39, perm_repeats=3, n_seeds=3,
                            calibration_boot=100)
REVIEW_DOC_DRAFT = ReviewBudget(repeats=2, n_boot=30, n_permutations=39, perm_repeats=3,
                                n_seeds=3, calibration_boot=100)
REPLICATION = ReplicationBudget()
REPLICATION_DRAFT = ReplicationBudget(repeats=3, n_permutations=19, n_boot=20,
                                     n_joint_boot=60)
CURVE = CurveBudget()
CURVE_DRAFT = CurveBudget(repeats=1, max_subsets=5, trend_boot=10)
MULTIVERSE = MultiverseBudget()
MULTIVERSE_DRAFT = MultiverseBudget(n_permutations=19, n_boot=10)
MULTIVERSE_SWEEP = MultiverseBudget(n_permutations=100)
MULTIVERSE_SWEEP_DRAFT = MultiverseBudget(n_permutations=19, n_boot=10)
SIMULATION = SimulationBudget()
SIMULATION_DRAFT = SimulationBudget(n_datasets=4, calibration_datasets=12, n_permutations=19,
                                    calibration_studies=50)
SIMULATION_SWEEP = SimulationBudget(calibration_datasets=50, calibration_studies=100,
                                    truth_draws=100)
SIMULATION_SWEEP_DRAFT = SimulationBudget(n_datasets=4, calibration_datasets=4,
                                          n_permutations=19, calibration_studies=20,
                                          truth_draws=10)


def as_dict(budget) -> dict:
    """The budget as a plain dict (for a manifest)."""
    return {"budget": type(budget).__name__, **asdict(budget)}
