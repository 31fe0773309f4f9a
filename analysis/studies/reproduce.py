"""Experiments 1 and 2 of the paper on one group: repeated cross-validation, summaries.

The functions here return tidy DataFrames; the report and the CLI only format them.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from importlib import metadata

import numpy as np
import pandas as pd

from ..base import paper
from ..base.progress import progress
from ..base.results import StudyResult
from ..design.features import GroupDesign, group_design
from ..fitting import models
from ..loading import data
from ..loading.tidy import REQUIRED_FILES

__all__ = [
    "BAND", "DEFAULT_REPEATS", "Experiments", "PACKAGES", "compare_with_paper",
    "load_annotations", "load_group", "manifest", "package_versions", "run_experiments",
    "summarise",
]


#: Repeats of 10-fold cross-validation in the report.
DEFAULT_REPEATS = 100
BAND = (2.5, 97.5)


def load_annotations(fetch=data.fetch):
    """Tidy annotations and expert labels of every ENHANCE file (verified)."""
    from ..loading.tidy import load_annotations as _load

    return _load(fetch)


def load_group(cohort: str = "2017-2018", group: str = "group07", *, annotations=None,
               fetch=data.fetch) -> GroupDesign:
    """The analysis data of one group (default: the paper's group 7)."""
    ann = annotations if annotations is not None else load_annotations(fetch)
    return group_design(ann.tidy, ann.labels, cohort=cohort, group=group)


@dataclass(frozen=True, kw_only=True, eq=False)
class Experiments(StudyResult):
    """Fold-level results of experiments 1 and 2 on one group (a
    :class:`analysis.base.results.StudyResult`)."""

    design: GroupDesign
    folds: pd.DataFrame  # experiment, feature_set, estimator + models.FOLD_COLUMNS
    scores: pd.DataFrame  # experiment, feature_set, estimator, repeat, fold, row, y, score
    repeats: int
    seed: int
    estimators: tuple[str, ...]

    @property
    def comparison_estimator(self) -> str:
        """The estimator compared with the paper: the MLE when run, else the first."""
        return "mle" if "mle" in self.estimators else self.estimators[0]

    def tables(self) -> dict[str, pd.DataFrame]:
        """``fold_auc.csv``, ``summary.csv`` (:func:`summarise`), ``paper_comparison.csv``
        (:func:`compare_with_paper` under :attr:`comparison_estimator`) and
        ``excluded_images.csv``."""
        summary = summarise(self)
        return {"fold_auc.csv": self.folds, "summary.csv": summary,
                "paper_comparison.csv": compare_with_paper(summary, self.comparison_estimator),
                "excluded_images.csv": self.design.excluded}


def run_experiments(
    design: GroupDesign,
    *,
    repeats: int = DEFAULT_REPEATS,
    seed: int = models.DEFAULT_SEED,
    estimators: tuple[str, ...] = models.ESTIMATORS,
    feature_sets: list[str] | None = None,
    experiments: tuple[int, ...] = (1, 2),
    n_splits: int = 10,
    engine: str = "auto",
    n_jobs: int = 1,
    quiet: bool = False,
) -> Experiments:
    """Cross-validate every feature set of experiments 1 and 2.

    Parameters
    ----------
    design : GroupDesign
    repeats : int
        Fold assignments; repeat 0 is the canonical split.
    seed : int
    estimators : tuple of {"mle", "firth"}
    feature_sets : list of str, optional
        Default: every set of ``design.sets`` in ``experiments``.
    experiments : tuple of int
        1 and 2 are the paper's; 3 adds the review's mean+moment combinations.
    n_splits : int
        Folds per repeat.
    engine, n_jobs : see :func:`analysis.fitting.models.cross_validate`.
    quiet : bool
        No progress bar.

    Returns
    -------
    Experiments
    """
    t0 = time.perf_counter()
    y = design.labels
    splits = models.stratified_splits(y, n_splits=n_splits, n_repeats=repeats, seed=seed,
                                      groups=getattr(design, "group_codes", None))
    sets = design.sets[design.sets["experiment"].isin(experiments)]
    if feature_sets is not None:
        sets = design.sets[design.sets["feature_set"].isin(feature_sets)]
    jobs = [(row, est) for row in sets.itertuples(index=False) for est in estimators]
    folds, scores = [], []
    for row, est in progress(jobs, desc="cross-validation", quiet=quiet):
        res = models.cross_validate(design.matrix(row.feature_set), y, splits, estimator=est,
                                    engine=engine, n_jobs=n_jobs)
        key = {"experiment": row.experiment, "feature_set": row.feature_set, "estimator": est}
        folds.append(res.folds.assign(**key))
        scores.append(res.scores.assign(**key))
    front = ["experiment", "feature_set", "estimator"]
    f = pd.concat(folds, ignore_index=True)
    s = pd.concat(scores, ignore_index=True)
    f = f[front + [c for c in f.columns if c not in front]]
    s = s[front + [c for c in s.columns if c not in front]]
    settings = {"repeats": repeats, "seed": seed, "estimators": list(estimators),
                "n_splits": n_splits, "experiments": list(experiments),
                "feature_sets": None if feature_sets is None else list(feature_sets)}
    return Experiments(design=design, folds=f, scores=s, repeats=repeats, seed=seed,
                       estimators=tuple(estimators), settings=settings,
                       elapsed=time.perf_counter() - t0)


def summarise(exp: Experiments) -> pd.DataFrame:
    """One row per (feature set, estimator).

    Columns: ``experiment, feature_set, estimator, n_features, mean_auc, sd_auc`` (over
    the folds of the canonical split, repeat 0), ``band_low, band_high`` (2.5 and 97.5
    percentiles of the per-repeat mean fold AUC over all repeats), ``repeat_median``,
    ``n_folds_separated`` and ``n_folds_not_converged`` (canonical split), and
    ``share_separated`` (all repeats).
    """
    f = exp.folds
    per_repeat = (f.groupby(["experiment", "feature_set", "estimator", "repeat"], sort=False)["auc"]
                  .mean().rename("repeat_mean").reset_index())
    band = (per_repeat.groupby(["experiment", "feature_set", "estimator"], sort=False)["repeat_mean"]
            .agg(band_low=lambda v: np.percentile(v, BAND[0]),
                 band_high=lambda v: np.percentile(v, BAND[1]),
                 repeat_median="median").reset_index())
    canon = f[f["repeat"] == 0]
    c = (canon.groupby(["experiment", "feature_set", "estimator"], sort=False)
         .agg(mean_auc=("auc", "mean"), sd_auc=("auc", "std"),
              n_folds_separated=("separated", "sum"),
              n_folds_not_converged=("converged", lambda v: int((~v.astype(bool)).sum())))
         .reset_index())
    share = (f.groupby(["experiment", "feature_set", "estimator"], sort=False)["separated"]
             .mean().rename("share_separated").reset_index())
    out = c.merge(band, on=["experiment", "feature_set", "estimator"]).merge(
        share, on=["experiment", "feature_set", "estimator"])
    nf = exp.design.sets.set_index("feature_set")["n_features"]
    out.insert(3, "n_features", out["feature_set"].map(nf).astype(int))
    return out[["experiment", "feature_set", "estimator", "n_features", "mean_auc", "sd_auc",
                "band_low", "band_high", "repeat_median", "n_folds_separated",
                "n_folds_not_converged", "share_separated"]]


def compare_with_paper(summary: pd.DataFrame, estimator: str = "mle") -> pd.DataFrame:
    """Each number the paper reports beside ours.

    Columns: ``feature_set, estimator, paper_auc, paper_low, paper_high, mean_auc,
    band_low, band_high, within_band, source``. For a single reported value,
    ``within_band`` says whether it lies inside our 2.5-97.5% band of per-repeat mean
    AUCs; for a reported range (the annotators' "0.90 to 0.98"), whether the range
    and our band overlap.
    """
    p = paper.paper_auc()
    s = summary[summary["estimator"] == estimator]
    out = p.merge(s[["feature_set", "estimator", "mean_auc", "band_low", "band_high"]],
                  on="feature_set", how="left")
    single = out["paper_auc"].notna()
    inside = (out["paper_auc"] >= out["band_low"]) & (out["paper_auc"] <= out["band_high"])
    overlap = (out["paper_low"] <= out["band_high"]) & (out["paper_high"] >= out["band_low"])
    out["within_band"] = np.where(single, inside, overlap)
    return out[["feature_set", "estimator", "paper_auc", "paper_low", "paper_high", "mean_auc",
                "band_low", "band_high", "within_band", "source"]]


PACKAGES = ("crowd-disagreement", "numpy", "pandas", "scipy", "scikit-learn", "statsmodels",
            "pingouin", "plotnine", "pooch", "pandera", "firthmodels", "krippendorff", "joblib")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def manifest(exp: Experiments, **extra) -> dict:
    """What a run used: versions, data hashes, seed, repeats, estimators, sizes, time.

    ``data_sha256`` holds the SHA-256 measured on the files the run read (the
    annotation files, data types and labels, :data:`analysis.loading.tidy.REQUIRED_FILES`)."""
    return {
        "package_versions": package_versions(),
        "data_commit": data.ENHANCE_COMMIT,
        "data_sha256": data.read_hashes(REQUIRED_FILES),
        "cohort": exp.design.cohort,
        "group": exp.design.group,
        "seed": exp.seed,
        "repeats": exp.repeats,
        "estimators": list(exp.estimators),
        "n_images": exp.design.n_images,
        "n_melanoma": exp.design.n_melanoma,
        "n_excluded": int(len(exp.design.excluded)),
        "excluded_images": exp.design.excluded["image_id"].tolist(),
        "elapsed_seconds": round(exp.elapsed, 3),
        **extra,
    }
