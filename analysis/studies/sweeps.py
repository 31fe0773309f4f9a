"""The on-request parts of ``crowd-disagreement analyze`` and ``review.qmd``: the
multiverse of the C4/C5 analysis choices and the power simulation, on any data set.

Both run on the design of :func:`analysis.design.dataset.load` (or
:func:`analysis.design.dataset.load_builtin`): :func:`run_multiverse` calls
:func:`analysis.studies.multiverse.multiverse_design`, :func:`run_power` the model of
:mod:`analysis.studies.simulate` fitted and calibrated to the data set. Each returns the tidy
tables ``analyze`` writes (the names of the ``multiverse`` command, and those of the
``simulate`` command prefixed ``power_``, since ``calibration.csv`` is the review's),
its settings (for the manifest) and notes that state every count reduced from the
paper-grade commands' defaults.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from ..base import budgets
from ..base.results import StudyResult
from ..fitting import models
from . import multiverse as mv
from . import simulate as sim

__all__ = [
    "MULTIVERSE_PERMUTATIONS", "POWER_CALIBRATION_DATASETS", "POWER_CALIBRATION_STUDIES",
    "POWER_DATASETS", "POWER_MIN_IMAGES", "POWER_TRUTH_DRAWS", "Sweep", "power_grid",
    "run_multiverse", "run_power",
]


#: Permutations per path of ``analyze --multiverse`` (:data:`analysis.base.budgets.MULTIVERSE_SWEEP`;
#: the ``multiverse`` command: :data:`analysis.base.budgets.MULTIVERSE`).
MULTIVERSE_PERMUTATIONS = budgets.MULTIVERSE_SWEEP.n_permutations
#: Simulated studies per model of the calibration (:data:`analysis.base.budgets.SIMULATION_SWEEP`).
POWER_CALIBRATION_DATASETS = budgets.SIMULATION_SWEEP.calibration_datasets
#: Monte Carlo studies of the calibration of the model to the data.
POWER_CALIBRATION_STUDIES = budgets.SIMULATION_SWEEP.calibration_studies
#: Monte Carlo draws of the calibrated model's true cvAUC.
POWER_TRUTH_DRAWS = budgets.SIMULATION_SWEEP.truth_draws
#: Studies per condition of the power grid (as the ``simulate`` command).
POWER_DATASETS = budgets.SIMULATION_SWEEP.n_datasets
#: Smallest number of units of a power condition.
POWER_MIN_IMAGES = 20


@dataclass(frozen=True, kw_only=True, eq=False)
class Sweep(StudyResult):
    """The tables, settings and notes of one on-request part (a
    :class:`analysis.base.results.StudyResult`; ``frames`` holds the tables by file name,
    :meth:`tables` returns them)."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The part's tables by CSV file name (empty when it was not run)."""
        return dict(self.frames)


def run_multiverse(design, *, n_permutations: int = MULTIVERSE_PERMUTATIONS,
                   n_boot: int = mv.MV_BOOT, paths: list[mv.Path] | None = None,
                   seed: int = models.DEFAULT_SEED, n_jobs: int = 1,
                   quiet: bool = True) -> Sweep:
    """The multiverse of a data set (:func:`analysis.studies.multiverse.multiverse_design`).

    Returns
    -------
    Sweep
        Tables ``multiverse.csv`` (rows of every path run), ``multiverse_verdicts.csv``,
        ``multiverse_choices.csv`` and ``multiverse_skipped_paths.csv`` (the paths the data
        set does not support, with the reason); :func:`analysis.presentation.prose.sweep_sentences`
        says which verdicts survive.
    """
    t0 = time.perf_counter()
    res = mv.multiverse_design(design, paths=paths, n_permutations=n_permutations,
                               n_boot=n_boot, seed=seed, n_jobs=n_jobs, quiet=quiet)
    f = res.frame
    n_run = len(f) // 2
    notes = [f"multiverse: {n_run} of {res.settings['n_paths_requested']} paths run, each with "
             f"{mv.MV_REPEATS} fold assignments, {n_boot} bootstrap-CV replicates and at most "
             f"{n_permutations} label permutations (stopped at the "
             f"{mv.MV_EXCEEDANCES}th exceedance; the multiverse command of the paper's "
             f"group 7 uses {budgets.MULTIVERSE.n_permutations})"]
    notes += [f"multiverse: {n}" for n in res.notes]
    tables = {**res.tables(), "multiverse_skipped_paths.csv": res.skipped}
    return Sweep(frames=tables, settings=res.settings, notes=notes,
                 elapsed=time.perf_counter() - t0)


def power_grid(design) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Default power grid of a data set: half, the same and twice its units (at least
    :data:`POWER_MIN_IMAGES`), and half, the same and twice its raters per unit (at
    least 2; :func:`analysis.studies.simulate.raters_per_unit`)."""
    n, k = design.n_images, sim.raters_per_unit(design)
    images = tuple(sorted({max(POWER_MIN_IMAGES, n // 2), max(POWER_MIN_IMAGES, n), 2 * n}))
    raters = tuple(sorted({max(2, k // 2), max(2, k), 2 * k}))
    return images, raters


def run_power(design, *, n_datasets: int = POWER_DATASETS,
              calibration_datasets: int = POWER_CALIBRATION_DATASETS,
              n_permutations: int = budgets.SIMULATION_SWEEP.n_permutations,
              n_images: tuple[int, ...] | None = None,
              n_annotators: tuple[int, ...] | None = None,
              calibration_studies: int = POWER_CALIBRATION_STUDIES,
              n_truth: int = POWER_TRUTH_DRAWS, seed: int = models.DEFAULT_SEED,
              n_jobs: int = 1, quiet: bool = True) -> Sweep:
    """The generative model fitted and calibrated to a data set, the calibration of the
    review's intervals and test under it, and the power of the sd features' test.

    Parameters
    ----------
    design : GroupDesign
    n_datasets : int
        Studies per condition of the power grid.
    calibration_datasets : int
        Studies per model of :func:`analysis.studies.simulate.calibration`.
    n_permutations : int
        Largest number of permutations per simulated study.
    n_images, n_annotators : tuple of int, optional
        The power grid; default :func:`power_grid`.
    calibration_studies, n_truth : int
        Monte Carlo studies of :func:`analysis.studies.simulate.calibrate_to_group` and draws of
        the true cvAUC.
    seed, n_jobs, quiet

    Returns
    -------
    Sweep
        Tables ``power.csv``, ``power_studies.csv``, ``power_parameters.csv``,
        ``power_calibration.csv``, ``power_coverage.csv``, ``power_truth.csv``,
        ``power_calibration_studies.csv`` (the ``simulate`` command's tables); empty
        with a note when the data set has no ``sd`` or ``mean`` feature set.
    """
    t0 = time.perf_counter()
    missing = [s for s in ("sd", "mean") if s not in set(design.sets["feature_set"])]
    if missing:
        return Sweep(frames={}, settings={"run": False},
                     notes=[f"power: not run, the feature set(s) {', '.join(missing)} were "
                            "not built (see skipped_feature_sets.csv)"])
    grid_images, grid_raters = power_grid(design)
    images = tuple(n_images) if n_images else grid_images
    raters = tuple(n_annotators) if n_annotators else grid_raters
    params = sim.calibrate_to_group(design, n_studies=calibration_studies, seed=seed,
                                    n_jobs=n_jobs)
    cal = sim.calibration(params, design=design, n_datasets=calibration_datasets,
                          n_permutations=n_permutations, n_truth=n_truth, seed=seed,
                          n_jobs=n_jobs, quiet=quiet)
    pw = sim.power(params, n_images=images, n_annotators=raters, n_datasets=n_datasets,
                   n_permutations=n_permutations, seed=seed, n_jobs=n_jobs, quiet=quiet)
    k = sim.raters_per_unit(design)
    notes = [
        f"power: the generative model of analysis.studies.simulate fitted to the data set and shrunk "
        f"to its observed sd cvAUC ({params.target_cv_auc:.3f}; shrinkage "
        f"{params.shrinkage:.2f}); simulated studies give every unit {k} raters (the "
        "data set's median per unit) and draw new raters for every study",
        f"power: {calibration_datasets} studies per model in the calibration (the simulate "
        f"command of group 7: {budgets.SIMULATION.calibration_datasets}), "
        f"{calibration_studies} Monte Carlo studies to calibrate "
        f"the model (default {budgets.SIMULATION.calibration_studies}), {n_truth} draws of the true cvAUC (default "
        f"{budgets.SIMULATION.truth_draws}); power grid {list(images)} units x "
        f"{list(raters)} raters, "
        f"{n_datasets} studies per condition, at most {n_permutations} permutations each",
    ]
    if params.ordinal is not None:
        cont = [f for f, o in zip(params.features, params.ordinal, strict=True) if not o]
        notes.append(f"power: feature(s) {', '.join(cont)} have scores that are not whole "
                     "numbers and are simulated without rounding")
    tables = {**pw.tables(), "power_parameters.csv": params.tidy(),
              **{f"power_{name}": t for name, t in cal.tables().items()}}
    settings = {"run": True, **cal.settings, "calibration_datasets": calibration_datasets,
                "calibration_studies": calibration_studies, "power_datasets": n_datasets,
                "power_images": list(images), "power_annotators": list(raters),
                "raters_per_unit": k, "shrinkage": params.shrinkage,
                "target_cv_auc": params.target_cv_auc, "model_cv_auc": params.model_cv_auc,
                "calibration_seconds": round(cal.elapsed, 3), "power_seconds": round(pw.elapsed, 3)}
    return Sweep(frames=tables, settings=settings, notes=notes,
                 elapsed=time.perf_counter() - t0)
