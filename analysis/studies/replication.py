"""Beyond group 7: the paper's mean-versus-disagreement comparison on every group.

The paper analyses one of the student groups ("group 7", 2017-2018, six
annotators). This module asks whether its two findings hold elsewhere:

* **replication** (:func:`replicate`): on every group that annotated asymmetry,
  border and colour with at least two annotators per image (the three student
  cohorts and the MTurk crowd), cross-validate a logistic model on the *mean*
  across annotators of each of the three features and on their *standard
  deviation* (disagreement); cross-validated AUC with bootstrap-CV intervals, the
  paired difference, and random-effects meta-analyses of
  (a) AUC(mean) - AUC(sd) and (b) AUC(sd) - 0.5 (:func:`meta_analyse`) that
  model the images the groups share (:func:`image_overlap`);
* **number of annotators** (:func:`annotator_curve`): on group 7 and every group
  whose annotators rated all images, recompute the moments over every subset of
  ``k`` annotators and follow the AUC as ``k`` grows; :func:`design_curve` does the
  same on any design (a user's data, :func:`analysis.design.dataset.load`), with per-unit
  draws of ``k`` raters where raters are positions or did not all rate every unit.

Harmonisation rule (:func:`group_abc_design`)
---------------------------------------------
The groups differ in design. In most, the same annotators rated every image
(*crossed*). In some, each feature had its own annotators (*split by feature*:
2017-2018 group 4, 2019-2020 group 5). In 2017-2018 groups 5 and 8, annotators
1-3 rated half of the images and 4-6 the other half (*rotating*). On MTurk the
three columns are positions, not persistent workers (*positions*). One rule
covers them all:

1. for each feature, the design's number of raters per image ``r_f`` is the most
   frequent number of ok scores per image (ties: the larger);
2. an image is kept when every feature has exactly ``r_f`` scores and the image
   has an expert label; every other image is listed in ``excluded`` with the
   reason (nothing is dropped silently);
3. each (feature, annotator) column is z-scored (ddof=1) over the kept images
   it rated; for MTurk positions, each feature is z-scored over all its cells
   (a position is not a person, so it has no scale of its own);
4. per image and feature, the moments (mean, sd with ddof=1, skewness, excess
   kurtosis, as :func:`analysis.design.features.moments_across`) are taken across the
   ``r_f`` annotators who rated it; each moment column is then z-scored over
   images. A group is eligible when asymmetry, border and color exist and
   ``r_f >= 2`` for each.

Rules 1-2 (which images are kept) are this module's; rules 3-4 are those of the
general builder, :func:`analysis.design.features.design_from_long`, which makes every design
(its scores enter the moments sorted, as this module always did). For group 7 this is
:func:`analysis.design.features.group_design` restricted to the same features (tested).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..base import budgets, seeds
from ..base.progress import progress
from ..base.results import StudyResult
from ..design.features import (
    GROUP7_FEATURES,
    MOMENTS,
    LabelledImages,
    design_from_long,
    moments_across,
    zscore,
)
from ..fitting import models
from ..statistics import cvinference, cvstats, inference, metacov

__all__ = [
    "ABC",
    "AbcDesign",
    "AnnotatorResult",
    "CurveData",
    "FEATURE_SETS",
    "GROUP7",
    "MTURK",
    "MetaCorrelations",
    "RHO_BAND",
    "ReplicationResult",
    "annotated_images",
    "annotator_curve",
    "curve_data",
    "curve_notes",
    "curve_trend",
    "design_curve",
    "draw_unit_raters",
    "disjoint_studies",
    "eligible_groups",
    "group_abc_design",
    "image_overlap",
    "band_summary",
    "meta_analyse",
    "meta_correlations",
    "meta_sensitivity",
    "meta_studies",
    "overlap_correlation",
    "overlap_covariance",
    "pool_studies",
    "replicate",
    "unit_rater_draws", "annotator_subsets", "correlation_manifest",
]

#: The features every replicated group must have.
ABC: tuple[str, ...] = ("asymmetry", "border", "color")
#: The paper's group.
GROUP7: tuple[str, str] = ("2017-2018", "group07")
#: The crowd cohort (annotator ids are positions, not workers).
MTURK: tuple[str, str] = ("mturk", "isic")
#: Feature sets compared: the mean and the sd across annotators of each feature.
FEATURE_SETS: tuple[str, ...] = ("mean", "sd")
#: Default fold assignments of the replication (repeat 0 is the canonical split).
DEFAULT_REPEATS = budgets.REPLICATION.repeats
#: Default fold assignments per subset in the annotator curve.
CURVE_REPEATS = budgets.CURVE.repeats
#: Percentiles of the per-repeat mean fold AUC that bound the band.
BAND = (2.5, 97.5)
#: Pooled AUC within this distance of the all-annotator AUC counts as "reached".
CONSENSUS_TOLERANCE = 0.02
#: Meta-analysis scopes and quantities, in table order.
SCOPES = ("students", "students_excl_group07", "students_and_mturk", "mturk")
QUANTITIES = ("auc_mean_minus_sd", "auc_sd_minus_half")


# --------------------------------------------------------------------------- design


@dataclass
class AbcDesign(LabelledImages):
    """Moment features of one group under the harmonisation rule.

    Attributes
    ----------
    cohort, group : str
    features : tuple of str
    annotators : tuple of str
        Every annotator id with at least one kept score.
    design : str
        ``"crossed"`` (the same annotators rated every kept image, for every
        feature), ``"split_by_feature"`` (the same per feature, different across
        features), ``"rotating"`` (different annotators rated different images) or
        ``"positions"`` (MTurk).
    raters : dict
        Feature -> number of raters per kept image (``r_f``).
    z : DataFrame
        Kept images x ``<feature>_<annotator>`` z-scored scores, NaN where the
        annotator did not rate the image.
    moments_raw, moments : DataFrame
        ``<moment>_<feature>`` before and after z-scoring over images.
    y : Series
        Melanoma label (0/1) of the kept images.
    excluded : DataFrame
        ``image_id, reason, detail`` of every image of the group left out.
    """

    cohort: str
    group: str
    features: tuple[str, ...]
    annotators: tuple[str, ...]
    design: str
    raters: dict[str, int]
    z: pd.DataFrame
    moments_raw: pd.DataFrame
    moments: pd.DataFrame
    y: pd.Series
    excluded: pd.DataFrame
    feature_annotators: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def n_raters(self) -> int:
        """Raters per image (the smallest ``r_f`` over features)."""
        return int(min(self.raters.values()))

    def columns(self, feature_set: str) -> list[str]:
        """Columns of a moment set (``"mean"``, ``"sd"``, ``"skewness"``,
        ``"kurtosis"`` or ``"moments_all"``)."""
        if feature_set == "moments_all":
            return [f"{m}_{f}" for m in MOMENTS for f in self.features]
        if feature_set not in MOMENTS:
            raise KeyError(f"unknown feature set {feature_set!r}")
        return [f"{feature_set}_{f}" for f in self.features]

    def matrix(self, feature_set: str) -> np.ndarray:
        """Design matrix (images x features, no intercept) of a moment set."""
        return self.moments[self.columns(feature_set)].to_numpy(dtype=float)


def _design_raters(counts: pd.Series) -> int:
    """Most frequent count (ties: the larger)."""
    vc = counts.value_counts()
    top = vc.max()
    return int(max(vc.index[vc == top]))


def group_abc_design(
    annotations, cohort: str, group: str, *, features: tuple[str, ...] = ABC
) -> AbcDesign:
    """Harmonised moment features of one group, whatever its annotation design.

    Parameters
    ----------
    annotations : analysis.loading.tidy.Annotations
        Output of :func:`analysis.studies.reproduce.load_annotations` (uses ``.tidy`` and
        ``.labels``).
    cohort, group : str
        E.g. ``"2017-2018", "group05"``; ``"mturk", "isic"`` for the crowd.
    features : tuple of str, default :data:`ABC`
        Features to use, in order.

    Returns
    -------
    AbcDesign

    Raises
    ------
    KeyError
        When the group has no annotations.
    ValueError
        When a feature is absent, or has fewer than 2 raters per image.

    Notes
    -----
    The rule (raters per image ``r_f`` = most frequent count, ties to the larger;
    images with any other count, or without an expert label, excluded; z-score per
    annotator column over the kept images it rated, per feature for MTurk
    positions; moments across the ``r_f`` raters of each image; moments z-scored
    over images) is given in the module docstring.

    Examples
    --------
    >>> from analysis.studies import reproduce
    >>> ann = reproduce.load_annotations()  # doctest: +SKIP
    >>> d = group_abc_design(ann, "2017-2018", "group05")  # doctest: +SKIP
    >>> d.design, d.n_images, d.raters  # doctest: +SKIP
    """
    tidy = annotations.tidy
    sub = tidy[(tidy["cohort"] == cohort) & (tidy["group"] == group)]
    if sub.empty:
        raise KeyError(f"no annotations for cohort {cohort!r}, group {group!r}")
    all_images = sorted(sub["image_id"].unique())
    present = set(sub["feature"])
    missing = [f for f in features if f not in present]
    if missing:
        raise ValueError(f"feature(s) {', '.join(missing)} not annotated")
    ok = sub[sub["feature"].isin(features) & (sub["status"] == "ok")]
    # the replication's own rule: which images are kept (r_f scores of every feature)
    counts = (ok.groupby(["feature", "image_id"]).size().unstack("feature")
              .reindex(index=all_images, columns=list(features)).fillna(0).astype(int))
    raters = {f: _design_raters(counts[f]) for f in features}
    few = {f: r for f, r in raters.items() if r < 2}
    if few:
        raise ValueError("fewer than 2 raters per image for "
                         + ", ".join(f"{f} ({r})" for f, r in few.items()))
    lab = annotations.labels.set_index("image_id")["melanoma"]
    excluded = []
    for image_id, row in counts.iterrows():
        off = [f"{f}: {row[f]} of {raters[f]} raters" for f in features if row[f] != raters[f]]
        if off:
            excluded.append((image_id, "rater count differs from the design", "; ".join(off)))
        elif image_id not in lab.index:
            excluded.append((image_id, "no expert label", ""))
    excluded_df = pd.DataFrame(excluded, columns=["image_id", "reason", "detail"])
    keep = set(all_images) - set(excluded_df["image_id"])

    # the design itself: the general builder on the kept images (every one has >= 2
    # scores per feature and a label, so it keeps them all); z-scores per annotator
    # column (persons) or per feature (MTurk positions: each kept image has all three
    # positions, so the renumbering keeps them), moments in the order this module has
    # always used (sorted scores)
    positions = (cohort, group) == MTURK
    base = design_from_long(
        ok.loc[ok["image_id"].isin(keep), ["image_id", "annotator", "feature", "score"]],
        lab[lab.index.isin(keep)], features=tuple(features),
        raters="positions" if positions else "persons", min_raters=1, moment_rule="paper",
        moment_order="sorted", cohort=cohort, group=group, label_name="melanoma")
    # thin selection: feature-major columns of the annotators who rated each feature
    cols = [f"{f}_{a}" for f in features for a in base.annotators
            if base.z[f"{f}_{a}"].notna().any()]
    z = base.z[cols]
    feature_annotators = {f: tuple(a for a in base.annotators if f"{f}_{a}" in cols)
                          for f in features}
    crossed_per_feature = all(
        z[[f"{f}_{a}" for a in feature_annotators[f]]].notna().all().all()
        and len(feature_annotators[f]) == raters[f]
        for f in features
    )
    if positions:
        design = "positions"
    elif not crossed_per_feature:
        design = "rotating"
    elif len({feature_annotators[f] for f in features}) == 1:
        design = "crossed"
    else:
        design = "split_by_feature"
    y = base.y.copy()
    y.index.name = "image_id"
    return AbcDesign(
        cohort=cohort, group=group, features=tuple(features), annotators=base.annotators,
        design=design, raters=raters, z=z, moments_raw=base.moments_raw,
        moments=base.moments, y=y, excluded=excluded_df,
        feature_annotators=feature_annotators,
    )


def eligible_groups(annotations, *, features: tuple[str, ...] = ABC) -> pd.DataFrame:
    """Which groups can enter the replication, and why the others cannot.

    Parameters
    ----------
    annotations : analysis.loading.tidy.Annotations
    features : tuple of str, default :data:`ABC`

    Returns
    -------
    DataFrame
        One row per (cohort, group): ``cohort, group, source`` ("student" or
        "mturk"), ``eligible`` (bool), ``design``, ``n_annotators`` (raters per
        image), ``n_annotators_total`` (distinct annotator ids), ``n_images``
        (kept), ``n_melanoma``, ``n_excluded_images``, ``reason`` (empty when
        eligible).

    Notes
    -----
    Eligible: every feature of ``features`` annotated, at least 2 raters per image
    (:func:`group_abc_design`), and both classes among the kept images with at least
    2 images each (needed for stratified folds).
    """
    keys = annotations.tidy[["cohort", "group"]].drop_duplicates().sort_values(["cohort", "group"])
    rows = []
    for cohort, group in keys.itertuples(index=False):
        base = {"cohort": cohort, "group": group,
                "source": "mturk" if (cohort, group) == MTURK else "student"}
        try:
            d = group_abc_design(annotations, cohort, group, features=features)
        except ValueError as err:
            rows.append({**base, "eligible": False, "design": "", "n_annotators": 0,
                         "n_annotators_total": 0, "n_images": 0, "n_melanoma": 0,
                         "n_excluded_images": 0, "reason": str(err)})
            continue
        n_pos, n_neg = d.n_melanoma, d.n_images - d.n_melanoma
        reason = ""
        if min(n_pos, n_neg) < 2:
            why = d.excluded["reason"].value_counts()
            reason = (f"{n_pos} melanoma and {n_neg} other images kept; "
                      + "; ".join(f"{n} images excluded ({r})" for r, n in why.items()))
            if len(d.excluded):
                reason += f", e.g. {d.excluded['detail'].iloc[0]}"
        rows.append({**base, "eligible": reason == "", "design": d.design,
                     "n_annotators": d.n_raters, "n_annotators_total": len(d.annotators),
                     "n_images": d.n_images, "n_melanoma": n_pos,
                     "n_excluded_images": int(len(d.excluded)), "reason": reason})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- CV helpers


def _canonical_scores(cv: models.CVResult, n: int) -> np.ndarray:
    s = cv.scores[cv.scores["repeat"] == 0].sort_values("row")
    if len(s) != n or not np.array_equal(s["row"].to_numpy(), np.arange(n)):
        raise RuntimeError("canonical split does not score every image once")
    return s["score"].to_numpy(dtype=float)


def _fold_summary(folds: pd.DataFrame) -> dict:
    per_repeat = folds.groupby("repeat")["auc"].mean()
    canon = folds[folds["repeat"] == 0]
    return {
        "fold_mean_auc": float(canon["auc"].mean()),
        "band_low": float(np.percentile(per_repeat, BAND[0])),
        "band_high": float(np.percentile(per_repeat, BAND[1])),
        "repeat_mean_auc": float(per_repeat.mean()),
        "n_folds_separated": int(canon["separated"].sum()),
        "n_folds_not_converged": int((~canon["converged"].astype(bool)).sum()),
        "share_separated": float(folds["separated"].mean()),
    }


# --------------------------------------------------------------------------- replication


@dataclass(frozen=True, kw_only=True, eq=False)
class ReplicationResult(StudyResult):
    """Tidy tables of :func:`replicate` (a :class:`analysis.base.results.StudyResult`:
    ``notes`` holds the fold-rule notes and the groups left out).

    Attributes
    ----------
    groups : DataFrame
        One row per (group, feature set): cross-validated AUC with its bootstrap-CV
        interval, fold-level summaries, the permutation p of the sd set.
    differences : DataFrame
        One row per group: cvAUC(mean) - cvAUC(sd) with its bootstrap-CV SE, CI and p.
    meta : DataFrame
        Random-effects meta-analyses (:func:`meta_analyse`), with and without the
        groups' image overlap.
    excluded_groups : DataFrame
        ``cohort, group, reason`` of the groups left out.
    manifest_extra : dict
        Settings, sizes and run time, for the run manifest.
    folds : DataFrame
        Fold-level rows of every group, feature set and repeat.
    excluded_images : DataFrame
        ``cohort, group, image_id, reason, detail``.
    images : DataFrame
        ``cohort, group, image_id`` of the images each group's estimates use.
    overlap : DataFrame
        :func:`image_overlap` of ``images``: shared images of every pair of groups.
    correlations : DataFrame
        The sampling correlation of every pair of groups that the meta-analysis uses
        (estimated), and the per-class band's (:meth:`MetaCorrelations.table`).
    sensitivity : DataFrame
        Pooled estimates and verdicts under the estimated correlations and the band
        (:func:`meta_sensitivity`).
    """

    groups: pd.DataFrame
    differences: pd.DataFrame
    meta: pd.DataFrame
    excluded_groups: pd.DataFrame
    manifest_extra: dict
    folds: pd.DataFrame = field(default_factory=pd.DataFrame)
    excluded_images: pd.DataFrame = field(default_factory=pd.DataFrame)
    images: pd.DataFrame = field(default_factory=pd.DataFrame)
    overlap: pd.DataFrame = field(default_factory=pd.DataFrame)
    correlations: pd.DataFrame = field(default_factory=pd.DataFrame)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The ``replicate`` command's CSV files by name."""
        return {"groups.csv": self.groups, "differences.csv": self.differences,
                "meta.csv": self.meta, "overlap.csv": self.overlap, "images.csv": self.images,
                "excluded_groups.csv": self.excluded_groups,
                "excluded_images.csv": self.excluded_images, "fold_auc.csv": self.folds,
                "meta_correlations.csv": self.correlations,
                "meta_sensitivity.csv": self.sensitivity}


GROUP_COLUMNS = [
    "cohort", "group", "source", "design", "n_images", "n_melanoma", "n_annotators",
    "n_splits", "reduced_folds", "feature_set", "estimator", "auc", "std_error", "conf_low", "conf_high",
    "fold_mean_auc", "band_low", "band_high", "p_value", "perm_null_mean", "n_permutations",
    "n_folds_separated", "n_folds_not_converged", "share_separated", "n_excluded_images",
]
#: Counts of the replication (:data:`analysis.base.budgets.REPLICATION`): label permutations
#: per group for the test of "sd better than random", fold assignments of the
#: permutation statistic, bootstrap-CV replicates per group.
BUDGET = budgets.REPLICATION
DIFF_COLUMNS = ["cohort", "group", "source", "estimator", "auc_mean", "auc_sd", "diff", "std_error",
                "conf_low", "conf_high", "z", "p_value"]
META_COLUMNS = ["quantity", "scope", "model", "interval", "scale", "method", "k", "estimate",
                "std_error", "conf_low", "conf_high", "pi_conf_low", "pi_conf_high", "tau2", "i2", "q", "q_p_value", "df",
                "hk_scale", "accounts_for_overlap", "primary", "rho", "correlation", "studies"]


def replicate(
    annotations,
    *,
    repeats: int = DEFAULT_REPEATS,
    seed: int = models.DEFAULT_SEED,
    estimator: str = "mle",
    n_splits: int = 10,
    method: str = "REML",
    n_permutations: int = BUDGET.n_permutations,
    perm_repeats: int = BUDGET.perm_repeats,
    n_boot: int = BUDGET.n_boot,
    engine: str = "auto",
    n_jobs: int = 1,
    quiet: bool = False,
    n_joint_boot: int = metacov.DEFAULT_JOINT_BOOT,
) -> ReplicationResult:
    """Mean versus disagreement (sd) of the ABC features on every eligible group.

    Parameters
    ----------
    annotations : analysis.loading.tidy.Annotations
    repeats : int, default 20
        Fold assignments per group, **including** the canonical split (repeat 0),
        as in :func:`analysis.studies.reproduce.run_experiments`; they give the band.
    seed : int, default :data:`analysis.fitting.models.DEFAULT_SEED`
    estimator : {"mle", "firth"}
    n_splits : int, default 10
        Folds; reduced to the size of the rarer class where that is smaller
        (column ``reduced_folds``).
    method : {"REML", "DL"}
        Between-group variance estimator of the independence model of the
        meta-analysis (the overlap model is always REML).
    n_permutations : int, default 200
        Label permutations per group for the test that the sd features beat chance
        (:func:`analysis.statistics.cvstats.permutation_null`: the whole CV is re-run
        ``perm_repeats`` times per permutation; the statistic is the mean fold AUC
        over ``perm_repeats`` fold assignments, for the observed labels the first
        ``perm_repeats`` repeats). 0 skips it.
    perm_repeats : int, default 5
    n_boot : int, default 100
        Bootstrap-CV replicates per group for the intervals
        (:func:`analysis.statistics.cvstats.bootstrap_cv_splits`).
    engine, n_jobs
        See :func:`analysis.fitting.models.cross_validate`.
    quiet : bool
        No progress bar.
    n_joint_boot : int, default :data:`analysis.statistics.metacov.DEFAULT_JOINT_BOOT`
        Replicates of the delete-d jackknife that estimates the groups' sampling
        covariances for the meta-analysis (:func:`meta_correlations`).

    Returns
    -------
    ReplicationResult

    Notes
    -----
    Per group the same splits (stratified, :func:`analysis.fitting.models.stratified_splits`)
    serve both feature sets. ``auc`` is the cross-validated AUC (the fold AUCs averaged
    over all ``repeats`` fold assignments; see :mod:`analysis.statistics.cvstats`) and its 95%
    interval is the bootstrap-CV interval, which includes the variability of
    refitting; the difference AUC(mean) - AUC(sd) pairs the two sets fold by fold and
    replicate by replicate. ``fold_mean_auc`` is the mean fold AUC of the canonical
    split; ``band_low``/``band_high`` the 2.5/97.5 percentiles of the per-repeat mean
    fold AUC.

    Examples
    --------
    >>> res = replicate(ann, repeats=5, quiet=True)  # doctest: +SKIP
    >>> res.meta.query("scope == 'students'")  # doctest: +SKIP
    """
    t0 = time.perf_counter()

    elig = eligible_groups(annotations)
    todo = elig[elig["eligible"]]
    rows, diffs, folds, excl, used, fold_notes, designs = [], [], [], [], [], [], []
    for r in progress(list(todo.itertuples(index=False)), desc="replication", quiet=quiet):
        d = group_abc_design(annotations, r.cohort, r.group)
        designs.append(d)
        y = d.labels
        fc = cvinference.fold_count(y, n_splits)
        k = fc.n_splits
        if fc.note:
            fold_notes.append(f"{d.cohort}/{d.group}: {fc.note}")
        splits = models.stratified_splits(y, n_splits=k, n_repeats=repeats, seed=seed)
        boot_splits = cvinference.bootstrap_cv_plan(y, n_boot=n_boot, n_splits=k, seed=seed)
        base = {"cohort": d.cohort, "group": d.group, "source": r.source, "design": d.design,
                "n_images": d.n_images, "n_melanoma": d.n_melanoma,
                "n_annotators": d.n_raters, "n_splits": k, "reduced_folds": k < n_splits}
        fold_tables, reps = {}, {}
        for fs in FEATURE_SETS:
            cv = models.cross_validate(d.matrix(fs), y, splits, estimator=estimator,
                                       engine=engine, n_jobs=n_jobs)
            fold_tables[fs] = cv.folds
            bcv = models.cross_validate(d.matrix(fs), y, boot_splits, estimator=estimator,
                                        engine=engine, n_jobs=n_jobs)
            reps[fs] = cvstats.bootstrap_cv_replicates(bcv.folds, cvstats.BOOT_CV_REPEATS)
            est = float(cv.folds["auc"].mean())
            ci = cvinference.cv_auc_interval(est, reps[fs])
            fsum = _fold_summary(cv.folds)
            perm = {"p_value": np.nan, "perm_null_mean": np.nan, "n_permutations": 0}
            if fs == "sd" and n_permutations > 0:
                null, _ = cvstats.permutation_null(d.matrix(fs), y, n_permutations=n_permutations,
                                           seed=seed, n_splits=k, n_repeats=perm_repeats,
                                           estimator=estimator, n_jobs=n_jobs)
                obs = float(cv.folds.loc[cv.folds["repeat"] < perm_repeats, "auc"].mean())
                perm = {"p_value": cvinference.permutation_test(obs, null).pvalue,
                        "perm_null_mean": float(np.nanmean(null)),
                        "n_permutations": n_permutations}
            rows.append({**base, "feature_set": fs, "estimator": estimator, "auc": est,
                         "std_error": ci.se, "conf_low": ci.low, "conf_high": ci.high,
                         **fsum, **perm, "n_excluded_images": int(len(d.excluded))})
            folds.append(cv.folds.assign(cohort=d.cohort, group=d.group, feature_set=fs,
                                         estimator=estimator))
        pdiff = cvinference.paired_difference(fold_tables["mean"], fold_tables["sd"],
                                              reps["mean"], reps["sd"])
        diffs.append({"cohort": d.cohort, "group": d.group, "source": r.source,
                      "estimator": estimator, "auc_mean": pdiff.auc_a,
                      "auc_sd": pdiff.auc_b, "diff": pdiff.diff, "std_error": pdiff.se,
                      "conf_low": pdiff.low, "conf_high": pdiff.high, "z": pdiff.z,
                      "p_value": pdiff.pvalue})
        excl.append(d.excluded.assign(cohort=d.cohort, group=d.group))
        used.append(pd.DataFrame({"cohort": d.cohort, "group": d.group,
                                  "image_id": list(d.y.index)}))
    groups = pd.DataFrame(rows)[GROUP_COLUMNS]
    differences = pd.DataFrame(diffs)[DIFF_COLUMNS]
    images = pd.concat(used, ignore_index=True)
    cors = meta_correlations(designs, seed=seed, estimator=estimator, n_splits=n_splits,
                             n_boot=n_joint_boot, engine=engine, n_jobs=n_jobs,
                             se=meta_studies(groups, differences))
    meta = meta_analyse(groups, differences, method=method, images=images, correlations=cors)
    front = ["cohort", "group", "feature_set", "estimator"]
    f = pd.concat(folds, ignore_index=True)
    f = f[front + [c for c in f.columns if c not in front]]
    ex = pd.concat(excl, ignore_index=True)[["cohort", "group", "image_id", "reason", "detail"]]
    excluded_groups = elig.loc[~elig["eligible"], ["cohort", "group", "reason"]].reset_index(
        drop=True)
    manifest_extra = {
        "replication": {
            "seed": seed, "repeats": repeats, "estimator": estimator, "n_splits": n_splits,
            "n_permutations": n_permutations, "perm_repeats": perm_repeats,
            "n_boot": n_boot, "meta_method": method, "features": list(ABC),
            "feature_sets": list(FEATURE_SETS),
            "meta_disjoint_groups": sorted(set(meta.loc[meta["scope"] == "disjoint",
                                                        "studies"])),
            "n_groups": int(len(todo)),
            "groups_reduced_folds": [f"{c}/{g}" for c, g, red in groups.loc[
                groups["feature_set"] == "mean", ["cohort", "group", "reduced_folds"]
            ].itertuples(index=False) if red],
            "excluded_groups": [f"{c}/{g}: {why}" for c, g, why in
                                excluded_groups.itertuples(index=False)],
            "n_excluded_images": int(len(ex)),
            "fold_notes": fold_notes,
            **correlation_manifest(cors),
            "elapsed_seconds": round(time.perf_counter() - t0, 3),
        }
    }
    rep = manifest_extra["replication"]
    return ReplicationResult(groups=groups.reset_index(drop=True),
                             differences=differences.reset_index(drop=True), meta=meta,
                             excluded_groups=excluded_groups, manifest_extra=manifest_extra,
                             folds=f, excluded_images=ex, images=images,
                             overlap=image_overlap(images), correlations=cors.table(),
                             sensitivity=meta_sensitivity(groups, differences, cors,
                                                          method=method),
                             settings={k: rep[k] for k in (
                                 "seed", "repeats", "estimator", "n_splits", "n_permutations",
                                 "perm_repeats", "n_boot", "meta_method")},
                             elapsed=rep["elapsed_seconds"],
                             notes=[*rep["fold_notes"], *(f"group left out: {g}"
                                                          for g in rep["excluded_groups"])])


def meta_studies(groups: pd.DataFrame, differences: pd.DataFrame) -> pd.DataFrame:
    """The per-group estimates and variances that enter the meta-analyses.

    Returns
    -------
    DataFrame
        ``quantity, cohort, group, source, study, yi, vi``: for
        ``auc_mean_minus_sd`` the paired difference of cvAUCs and its squared
        bootstrap-CV SE; for ``auc_sd_minus_half`` the sd-set cvAUC minus 0.5 and its
        squared bootstrap-CV SE. ``study`` is ``"<cohort>/<group>"``, the key of
        :func:`image_overlap`.
    """
    d = differences.assign(quantity=QUANTITIES[0], yi=differences["diff"],
                           vi=differences["std_error"] ** 2)
    g = groups[groups["feature_set"] == "sd"]
    s = g.assign(quantity=QUANTITIES[1], yi=g["auc"] - 0.5, vi=g["std_error"] ** 2)
    cols = ["quantity", "cohort", "group", "source", "yi", "vi"]
    out = pd.concat([d[cols], s[cols]], ignore_index=True)
    out.insert(4, "study", out["cohort"] + "/" + out["group"])
    return out


def _in_scope(studies: pd.DataFrame, scope: str) -> pd.Series:
    student = studies["source"] == "student"
    if scope == "students":
        return student
    if scope == "students_excl_group07":
        return student & ~((studies["cohort"] == GROUP7[0]) & (studies["group"] == GROUP7[1]))
    if scope == "students_and_mturk":
        return pd.Series(True, index=studies.index)
    if scope == "mturk":
        return studies["source"] == "mturk"
    raise ValueError(f"unknown scope {scope!r}")


# --------------------------------------------------------------------------- overlap


def _study_images(images: pd.DataFrame) -> pd.DataFrame:
    """``study, image_id`` from a frame with ``study`` or ``cohort, group``."""
    if "study" in images.columns:
        out = images[["study", "image_id"]]
    elif {"cohort", "group"} <= set(images.columns):
        out = pd.DataFrame({"study": images["cohort"].astype(str) + "/" + images["group"]
                            .astype(str), "image_id": images["image_id"]})
    else:
        raise KeyError("images needs a 'study' column or 'cohort' and 'group' columns")
    return out.astype({"study": str, "image_id": str}).drop_duplicates()


def annotated_images(annotations) -> pd.DataFrame:
    """Every image each group annotated (any feature, any status).

    Parameters
    ----------
    annotations : analysis.loading.tidy.Annotations

    Returns
    -------
    DataFrame
        ``cohort, group, image_id``, one row per (group, image), sorted.
    """
    t = annotations.tidy[["cohort", "group", "image_id"]].drop_duplicates()
    return t.sort_values(["cohort", "group", "image_id"]).reset_index(drop=True)


def image_overlap(images: pd.DataFrame) -> pd.DataFrame:
    """Images shared by every pair of studies (groups).

    Parameters
    ----------
    images : DataFrame
        One row per (study, image): ``study, image_id``, or ``cohort, group,
        image_id`` (the study is then ``"<cohort>/<group>"``). Duplicates are ignored.

    Returns
    -------
    DataFrame
        One row per unordered pair of studies (``group_a`` before ``group_b`` in
        sorted order), every pair including those that share nothing:
        ``group_a, group_b, n_a, n_b`` (images of each), ``n_shared`` (images
        both rated) and ``r = n_shared / sqrt(n_a n_b)``.

    Notes
    -----
    ``r`` is the correlation of two means taken over samples of sizes ``n_a`` and
    ``n_b`` that have ``n_shared`` units in common, when each unit contributes the
    same value to both means (see :func:`overlap_covariance`).

    Examples
    --------
    >>> im = pd.DataFrame({"study": ["a", "a", "b", "b", "b"],
    ...                    "image_id": ["x", "y", "y", "z", "w"]})
    >>> image_overlap(im)[["group_a", "group_b", "n_shared"]].values.tolist()
    [['a', 'b', 1]]
    """
    im = _study_images(images)
    sets = {s: frozenset(g["image_id"]) for s, g in im.groupby("study", sort=True)}
    rows = []
    for a, b in itertools.combinations(sorted(sets), 2):
        na, nb, ns = len(sets[a]), len(sets[b]), len(sets[a] & sets[b])
        rows.append({"group_a": a, "group_b": b, "n_a": na, "n_b": nb, "n_shared": ns,
                     "r": ns / math.sqrt(na * nb)})
    return pd.DataFrame(rows, columns=["group_a", "group_b", "n_a", "n_b", "n_shared", "r"])


def overlap_correlation(images: pd.DataFrame, studies: list[str]) -> np.ndarray:
    """Matrix of ``n_shared / sqrt(n_i n_j)`` between the given studies (1 on the diagonal).

    Parameters
    ----------
    images : DataFrame
        As :func:`image_overlap`.
    studies : list of str
        Study keys, in the order of the rows and columns of the result.

    Returns
    -------
    ndarray of shape (k, k)
        Positive semi-definite (a Gram matrix of normalised image indicators).

    Raises
    ------
    KeyError
        When a study has no images.
    """
    im = _study_images(images)
    sets = {s: frozenset(g["image_id"]) for s, g in im.groupby("study", sort=False)}
    missing = [s for s in studies if s not in sets]
    if missing:
        raise KeyError(f"no images for {', '.join(missing)}")
    k = len(studies)
    r = np.eye(k)
    for i, j in itertools.combinations(range(k), 2):
        a, b = sets[studies[i]], sets[studies[j]]
        r[i, j] = r[j, i] = len(a & b) / math.sqrt(len(a) * len(b))
    return r


def overlap_covariance(se, corr: np.ndarray, rho: float = 1.0) -> np.ndarray:
    """Sampling covariance matrix of study estimates from their subject overlap.

    Parameters
    ----------
    se : array-like of shape (k,)
        Standard errors of the study estimates.
    corr : ndarray of shape (k, k)
        :func:`overlap_correlation` (``n_shared / sqrt(n_i n_j)``).
    rho : float in [0, 1], default 1
        Correlation, between two studies, of the contributions of one shared
        image to their estimates.

    Returns
    -------
    ndarray of shape (k, k)
        :math:`V_{ii} = se_i^2`, :math:`V_{ij} = \\rho\\, r_{ij}\\, se_i se_j`.

    Notes
    -----
    For two means :math:`\\bar x_i, \\bar x_j` over samples of sizes
    :math:`n_i, n_j` sharing :math:`n_{ij}` units whose values have correlation
    :math:`\\rho` between the studies, :math:`cor(\\bar x_i, \\bar x_j) = \\rho\\,
    n_{ij} / \\sqrt{n_i n_j}`. An AUC (and a difference of AUCs) is asymptotically
    a mean of per-image placement values (DeLong), so this is the approximation used
    for two groups' AUCs: it treats every image alike (it ignores that positives
    and negatives weigh differently in an AUC's variance) and, with ``rho = 1``,
    takes a shared image to move both groups' estimates alike. Groups that rate the
    same image differently have :math:`\\rho < 1`, so ``rho = 1`` is the upper bound
    of the dependence. The matrix is positive semi-definite for ``0 <= rho <= 1``.

    References
    ----------
    Gleser, L. J. & Olkin, I. (2009). Stochastically dependent effect sizes. In
    Cooper, Hedges & Valentine (eds.), The Handbook of Research Synthesis and
    Meta-Analysis, 2nd ed., 357-376.
    DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Biometrics 44,
    837-845.
    """
    s = np.asarray(se, dtype=float)
    if not 0.0 <= rho <= 1.0:
        raise ValueError("rho must be in [0, 1]")
    c = rho * np.asarray(corr, dtype=float)
    np.fill_diagonal(c, 1.0)
    return c * np.outer(s, s)


def disjoint_studies(images: pd.DataFrame, studies: list[str]) -> list[str]:
    """A maximal set of studies that share no image, chosen greedily.

    Parameters
    ----------
    images : DataFrame
        As :func:`image_overlap`.
    studies : list of str
        Candidates.

    Returns
    -------
    list of str
        The chosen studies, in the order of ``studies``.

    Notes
    -----
    Candidates are visited by increasing number of other candidates they share
    at least one image with (ties: fewer images first, then the study key), and a
    study is taken when it shares no image with any study already taken. The
    result is deterministic and maximal (no candidate can be added), not
    necessarily the largest such set.
    """
    im = _study_images(images)
    sets = {s: frozenset(g["image_id"]) for s, g in im.groupby("study", sort=False)}
    cand = [s for s in studies if s in sets]
    degree = {s: sum(1 for t in cand if t != s and sets[s] & sets[t]) for s in cand}
    chosen: list[str] = []
    for s in sorted(cand, key=lambda s: (degree[s], len(sets[s]), s)):
        if all(not (sets[s] & sets[t]) for t in chosen):
            chosen.append(s)
    return [s for s in studies if s in chosen]


#: Intervals of the pooled estimate: label and ``test`` of
#: :func:`analysis.statistics.inference.random_effects_meta_mv`.
INTERVALS = (("wald", "z"), ("knha", "knha"), ("knha_adhoc", "adhoc"))
#: The interval of the primary rows (the Hartung-Knapp factor is below 1 in every fit
#: of the replication, which would make the interval narrower than a t interval).
PRIMARY_INTERVAL = "knha_adhoc"
POOL_COLUMNS = ["model", "interval", "scale", "method", "k", "estimate", "std_error", "conf_low",
                "conf_high", "pi_conf_low", "pi_conf_high", "tau2", "i2", "q", "q_p_value", "df", "hk_scale",
                "accounts_for_overlap"]


def pool_studies(studies: pd.DataFrame, images: pd.DataFrame | None = None, *,
                 method: str = "REML", rho: float = 1.0, logit_offset: float | None = None,
                 alpha: float = 0.05, corr: np.ndarray | None = None) -> pd.DataFrame:
    """Random-effects pooling of study estimates, with and without their image overlap.

    Generic over what a study estimates: it needs an estimate, its variance and
    the images it was computed on.

    Parameters
    ----------
    studies : DataFrame
        ``study, yi, vi``: key, estimate, sampling variance (``se**2``).
    images : DataFrame, optional
        ``study, image_id`` (or ``cohort, group, image_id``) of every study; without
        it only the independence model is fitted.
    method : {"REML", "DL"}
        Estimator of tau^2 of the independence model (the overlap model is REML).
    rho : float, default 1
        See :func:`overlap_covariance`.
    logit_offset : float, optional
        When given, ``yi + logit_offset`` is an AUC, and every model is also fitted
        on the logit-AUC scale (``scale = "logit"``).
    alpha : float, default 0.05
    corr : ndarray of shape (k, k), optional
        Sampling correlation matrix of the studies (in the order of ``studies``), e.g.
        estimated (:func:`meta_correlations`); it replaces the all-image overlap
        correlation of ``images`` in the overlap model (``images`` is then not needed).

    Returns
    -------
    DataFrame
        One row per (model, interval, scale), columns :data:`POOL_COLUMNS`:
        ``model`` ``"independent"`` (diagonal V) or ``"overlap"`` (V from
        :func:`overlap_covariance`, or from ``corr``); ``interval`` ``"wald"`` (normal
        quantiles), ``"knha"`` (Hartung-Knapp-Sidik-Jonkman, t with k-1 df) or
        ``"knha_adhoc"`` (the same with its scale factor at least 1); ``scale``
        ``"identity"`` or ``"logit"``; ``estimate, conf_low, conf_high, pi_conf_low,
        pi_conf_high`` on the scale of ``yi`` (logit rows back-transformed); ``std_error``,
        ``tau2`` on the pooling scale; ``accounts_for_overlap`` is True for the
        overlap model, and for the independence model when no two studies share an
        image. One study: a single ``"single study"`` row with a Wald interval.

    Notes
    -----
    :func:`analysis.statistics.inference.random_effects_meta_mv` with
    :math:`V = diag(v)` or :math:`V_{ij} = \\rho\\, r_{ij} \\sqrt{v_i v_j}`,
    :math:`r_{ij} = n_{ij}/\\sqrt{n_i n_j}` (:func:`overlap_covariance`), or
    :math:`V_{ij} = c_{ij} \\sqrt{v_i v_j}` with ``corr`` :math:`c` (on the logit scale
    too: a smooth monotone transformation keeps correlations to first order). Logit
    scale: :math:`\\theta_i = logit(A_i)`, :math:`A_i = y_i + offset`, with the
    delta-method variance :math:`v_i / (A_i (1 - A_i))^2`; estimate and interval
    limits are mapped back by :math:`expit(\\cdot) - offset`. Studies with
    :math:`A_i` outside (0, 1) cannot enter the logit scale; then no logit rows
    are given.
    """
    st = studies.reset_index(drop=True)
    k = len(st)
    if k == 0:
        return pd.DataFrame(columns=POOL_COLUMNS)
    y, v = st["yi"].to_numpy(dtype=float), st["vi"].to_numpy(dtype=float)
    if k == 1:
        se = math.sqrt(v[0])
        z = inference._z(alpha)
        return pd.DataFrame([{
            "model": "independent", "interval": "wald", "scale": "identity",
            "method": "single study", "k": 1, "estimate": y[0], "std_error": se,
            "conf_low": y[0] - z * se, "conf_high": y[0] + z * se, "pi_conf_low": np.nan,
            "pi_conf_high": np.nan, "tau2": np.nan, "i2": np.nan, "q": np.nan, "q_p_value": np.nan,
            "df": np.inf, "hk_scale": np.nan, "accounts_for_overlap": True}],
            columns=POOL_COLUMNS)
    scales = [("identity", y, v, lambda t: t)]
    if logit_offset is not None:
        a = y + logit_offset
        if np.all((a > 0) & (a < 1)):
            scales.append(("logit", np.log(a / (1 - a)), v / (a * (1 - a)) ** 2,
                           lambda t: 1.0 / (1.0 + np.exp(-t)) - logit_offset))
    if corr is not None:
        corr = np.asarray(corr, dtype=float)
        if corr.shape != (k, k):
            raise ValueError(f"corr must be ({k}, {k}), got {corr.shape}")
    elif images is not None:
        corr = overlap_correlation(images, list(st["study"].astype(str)))
    independent = corr is not None and bool(np.all(corr[~np.eye(k, dtype=bool)] == 0))
    rows = []
    for scale, ys, vs, back in scales:
        models_ = [("independent", np.diag(vs), method)]
        if corr is not None and not independent:
            models_.append(("overlap", overlap_covariance(np.sqrt(vs), corr, rho), "REML"))
        for model, V, meth in models_:
            for interval, test in INTERVALS:
                r = inference.random_effects_meta_mv(ys, V, method=meth, test=test, alpha=alpha)
                rows.append({
                    "model": model, "interval": interval, "scale": scale, "method": r["method"],
                    "k": r["k"], "estimate": float(back(r["estimate"])), "std_error": r["se"],
                    "conf_low": float(back(r["low"])), "conf_high": float(back(r["high"])),
                    "pi_conf_low": float(back(r["pi_low"])),
                    "pi_conf_high": float(back(r["pi_high"])),
                    "tau2": r["tau2"], "i2": r["i2"], "q": r["q"], "q_p_value": r["q_p"],
                    "df": r["df"], "hk_scale": r["hksj_scale"],
                    "accounts_for_overlap": model == "overlap" or independent})
    return pd.DataFrame(rows, columns=POOL_COLUMNS)


def meta_analyse(groups: pd.DataFrame, differences: pd.DataFrame, *,
                 method: str = "REML", images: pd.DataFrame | None = None,
                 rho: float = 1.0, correlations: MetaCorrelations | None = None
                 ) -> pd.DataFrame:
    """Random-effects meta-analyses of the replication, with the groups' image overlap.

    Parameters
    ----------
    groups, differences : DataFrame
        ``ReplicationResult.groups`` and ``.differences``.
    method : {"REML", "DL"}
        tau^2 estimator of the independence model.
    images : DataFrame, optional
        ``cohort, group, image_id`` of the images each group's estimates were
        computed on (``ReplicationResult.images``). Without it (and without
        ``correlations``), only the independence model is fitted and no ``disjoint``
        scope is formed.
    rho : float, default 1
        See :func:`overlap_covariance`; used only without ``correlations``.
    correlations : MetaCorrelations, optional
        The groups' sampling correlations estimated from the data
        (:func:`meta_correlations`); the overlap model then uses them.

    Returns
    -------
    DataFrame
        Columns :data:`META_COLUMNS`. Per quantity (``auc_mean_minus_sd``,
        ``auc_sd_minus_half``) and scope (``students``, ``students_excl_group07``,
        ``students_and_mturk``, ``mturk``, and ``disjoint``: a maximal set of groups
        that share no image, :func:`disjoint_studies` over all groups), the rows of
        :func:`pool_studies` (``model`` independent/overlap x ``interval``
        wald/knha/knha_adhoc x ``scale`` identity/logit, the logit scale only for
        ``auc_sd_minus_half``); ``correlation`` says where the overlap model's
        correlations come from (``"estimated"``: :func:`meta_correlations`;
        ``"all-image overlap"``: :func:`overlap_correlation` times ``rho``; ``"none"``
        for the independence model); ``rho`` is NaN for estimated correlations;
        ``hk_scale`` is the Hartung-Knapp factor as estimated (before the modified
        interval raises it to 1); ``studies`` lists the groups pooled (``;``-joined);
        ``accounts_for_overlap`` says whether the row's model is valid given the
        shared images; exactly one row per (quantity, scope) has ``primary`` True:
        the overlap model with the modified Hartung-Knapp interval
        (:data:`PRIMARY_INTERVAL`) on the identity scale (the independence model when
        no overlap is known or no two groups of the scope share an image; the single
        study for MTurk). ``method`` is the tau^2 estimator (``"single study"`` for
        k = 1).

    Notes
    -----
    The groups are not independent samples of images. Of the 1,250 MTurk images,
    1,050 were also rated by student groups; 13 student groups rated only images
    that MTurk also rated (12 of them all 100 of theirs); student groups share up to
    87 images with each other (:func:`image_overlap` on
    :func:`annotated_images`). Two groups' AUCs computed on shared images have
    correlated sampling errors, which the independence model ignores. How large the
    correlation is cannot be read off the overlap: an AUC's variance comes mostly
    from the rarer class, and different raters of the same image make nearly
    independent errors. So the overlap model uses covariances estimated from the
    data by a delete-d jackknife with the cross-validation refitted
    (:func:`meta_correlations`), as correlations over the groups' own bootstrap-CV
    SEs combined with the same SEs, in
    :func:`analysis.statistics.inference.random_effects_meta_mv`; :func:`meta_sensitivity`
    shows the verdicts when the correlation is instead assumed (per-class overlap
    times ``rho``). Without ``correlations`` the older all-image rule
    (:func:`overlap_covariance`) is used. The primary interval is the modified
    Hartung-Knapp interval: the estimated factor is below 1 in these fits, and the
    unmodified interval would then be narrower than a plain t interval (Knapp &
    Hartung 2003; Jackson et al. 2017). Robust variance estimation is not used: it
    needs many independent clusters, and the overlap links almost every group into
    one connected cluster (on the replication's images 21 of the 23 groups, and 20
    of the 22 student groups without MTurk), which leaves three clusters. The
    ``disjoint`` scope avoids modelling the dependence; its groups are named in
    ``studies``. Excluding group 7 does not make the remaining groups independent of
    it: they share images with it.

    References
    ----------
    Hartung, J. & Knapp, G. (2001). Stat. Med. 20, 3875-3889.
    Knapp, G. & Hartung, J. (2003). Stat. Med. 22, 2693-2710.
    Jackson, D., Law, M., Rücker, G. & Schwarzer, G. (2017). Stat. Med. 36, 3923-3934.
    Higgins, J. P. T., Thompson, S. G. & Spiegelhalter, D. J. (2009). J. R. Stat.
    Soc. A 172, 137-159.
    Gleser, L. J. & Olkin, I. (2009). Stochastically dependent effect sizes.
    """
    studies = meta_studies(groups, differences)
    if correlations is not None and images is None:
        images = correlations.images[["study", "image_id"]]
    source = ("estimated" if correlations is not None
              else "all-image overlap" if images is not None else "none")
    rows = []
    for q in QUANTITIES:
        sq = studies[studies["quantity"] == q]
        scopes = [(s, _in_scope(sq, s)) for s in SCOPES]
        if images is not None:
            keep = disjoint_studies(images, list(sq["study"]))
            scopes.append(("disjoint", sq["study"].isin(keep)))
        for scope, mask in scopes:
            s = sq[mask]
            if s.empty:
                continue
            corr = (None if correlations is None
                    else correlations.matrix(q, list(s["study"])))
            pooled = pool_studies(s, images, method=method,
                                  rho=1.0 if correlations is not None else rho,
                                  logit_offset=0.5 if q == "auc_sd_minus_half" else None,
                                  corr=corr)
            best = ("overlap" if (pooled["model"] == "overlap").any() else "independent")
            pooled["primary"] = ((pooled["model"] == best) & (pooled["scale"] == "identity")
                                 & (pooled["interval"] == ("wald" if len(s) == 1
                                                           else PRIMARY_INTERVAL)))
            pooled["correlation"] = np.where(pooled["model"] == "overlap", source, "none")
            rows.append(pooled.assign(quantity=q, scope=scope,
                                      rho=np.nan if correlations is not None else rho,
                                      studies=";".join(s["study"])))
    out = pd.concat(rows, ignore_index=True)
    if images is None:
        out["accounts_for_overlap"] = out["k"] == 1
    return out[META_COLUMNS]


# --------------------------------------------------------------------------- estimated overlap

#: Values of ``rho`` of the sensitivity band (:func:`meta_sensitivity`), applied to the
#: per-class overlap (:func:`analysis.statistics.metacov.per_class_correlation`).
RHO_BAND = (0.0, 0.25, 0.5, 1.0)
#: Disjoint batches of the delete-d jackknife replicates for the Monte Carlo error of the
#: pooled limits under the estimated correlations (batch means).
MC_BATCHES = 4
#: Replicate sets behind each quantity: ``auc_mean_minus_sd`` is the paired difference
#: of the mean and sd cvAUCs of the same replicate, ``auc_sd_minus_half`` the sd cvAUC.
_QUANTITY_SETS = {"auc_mean_minus_sd": ("mean", "sd"), "auc_sd_minus_half": ("sd", None)}
CORRELATION_COLUMNS = ["quantity", "group_a", "group_b", "n_shared", "n_shared_melanoma",
                       "n_shared_other", "r_all_images", "source", "rho", "correlation",
                       "how", "measured", "measured_conf_low", "measured_conf_high", "n_boot"]
SENSITIVITY_COLUMNS = ["quantity", "scope", "correlation", "rho", "k", "estimate", "conf_low",
                       "conf_high", "conf_low_mc_std_error", "conf_high_mc_std_error", "interval", "hk_scale", "tau2",
                       "q", "q_p_value", "verdict", "within_mc_error"]


@dataclass
class MetaCorrelations:
    """Sampling correlations of the groups' meta-analysis inputs, estimated from the data.

    Attributes
    ----------
    studies : list of str
        ``"<cohort>/<group>"`` in the order of the matrices.
    estimated : dict
        Quantity -> :func:`analysis.statistics.metacov.replicate_covariance` of its replicates
        (``corr``: the correlations the overlap model uses).
    images : DataFrame
        ``study, image_id, y`` of every group's images.
    n_boot, seed : int
        Delete-d jackknife replicates and the seed they were drawn with.
    elapsed_seconds : float
    batches : dict
        Quantity -> list of :data:`MC_BATCHES` correlation matrices, each from a
        disjoint batch of the replicates (for the Monte Carlo error of what depends on
        the estimated correlations, :func:`meta_sensitivity`).
    """

    studies: list[str]
    estimated: dict[str, dict]
    images: pd.DataFrame
    n_boot: int
    seed: int
    elapsed_seconds: float = float("nan")
    batches: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def matrix(self, quantity: str, studies: list[str], batch: int | None = None
               ) -> np.ndarray:
        """The estimated correlation matrix of ``studies`` (in that order); with
        ``batch``, the one estimated from that batch of replicates only."""
        pos = {s: i for i, s in enumerate(self.studies)}
        missing = [s for s in studies if s not in pos]
        if missing:
            raise KeyError(f"no estimated correlation for {', '.join(missing)}")
        ix = np.array([pos[s] for s in studies])
        full = (self.estimated[quantity]["corr"] if batch is None
                else self.batches[quantity][batch])
        return full[np.ix_(ix, ix)]

    def table(self, rhos=RHO_BAND) -> pd.DataFrame:
        """Every pair of groups: the estimated correlation (and the band's), columns
        :data:`CORRELATION_COLUMNS` (see :func:`analysis.statistics.metacov.pair_table`)."""
        out = [metacov.pair_table(self.images, self.studies, self.estimated[q], rhos=rhos)
               .assign(quantity=q) for q in QUANTITIES]
        return pd.concat(out, ignore_index=True)[CORRELATION_COLUMNS]


def meta_correlations(designs: list[AbcDesign], *, seed: int = models.DEFAULT_SEED,
                      estimator: str = "mle", n_splits: int = 10,
                      n_boot: int = metacov.DEFAULT_JOINT_BOOT, engine: str = "auto",
                      n_jobs: int = 1, se: pd.DataFrame | None = None,
                      keep: float = metacov.SUBSAMPLE_KEEP) -> MetaCorrelations:
    """Sampling correlations of the groups' cvAUCs and differences, from the data.

    Parameters
    ----------
    designs : list of AbcDesign
        The groups of :func:`replicate`.
    seed : int
        Master seed; the replicates use ``seeds.state('joint_bootstrap', seed, 0, 0)``
        (:mod:`analysis.base.seeds`).
    estimator, n_splits, engine, n_jobs
        As :func:`replicate` (each group's folds: ``n_splits``, or its number of
        melanomas when smaller).
    n_boot : int, default :data:`analysis.statistics.metacov.DEFAULT_JOINT_BOOT`
        Delete-d jackknife replicates.
    se : DataFrame, optional
        ``quantity, study, vi`` (:func:`meta_studies`): the groups' own variances, which
        the estimated covariances are divided by to give the correlations the
        meta-analysis combines with the same SEs. Without it, the replicates' own
        variances (times the same factor) are used.
    keep : float, default :data:`analysis.statistics.metacov.SUBSAMPLE_KEEP`

    Returns
    -------
    MetaCorrelations

    Notes
    -----
    :func:`analysis.statistics.metacov.joint_bootstrap` with ``scheme="subsample"`` over the union
    of the groups' images: a delete-d jackknife in which every replicate keeps each
    image with probability ``keep`` and each group refits its own cross-validation
    (one fold assignment) on the kept images it rated, both feature sets on the same
    draws and folds. The covariance of two groups' replicates times ``keep / (1 -
    keep)`` estimates the covariance of their estimates
    (:func:`analysis.statistics.metacov.replicate_covariance`); that of ``auc_sd_minus_half`` is
    the sd cvAUCs', of ``auc_mean_minus_sd`` the paired differences'. Pairs that share
    no image get 0. Divided by the two groups' own bootstrap-CV SEs (``se``) it is the
    correlation the overlap model uses, so that the model's covariance is the
    estimated one (clipped to [-1, 1], and its off-diagonal shrunk toward 0 just enough
    for a positive definite matrix when needed).

    Checks (tests/test_meta_covariance.py, benchmarks/meta_covariance_check.py): by
    simulation with a known covariance, the estimate recovers it within Monte Carlo
    error where the shared images are melanomas, a mix, or other images only, where
    the plain joint bootstrap recovered only half to two thirds of it (its replicates'
    models, fitted on 64% distinct images, are weaker; see :mod:`analysis.statistics.metacov`).
    The verdicts are also given under assumed correlations (:func:`meta_sensitivity`).
    """
    t0 = time.perf_counter()
    studies = [metacov.Study(f"{d.cohort}/{d.group}", np.asarray(d.y.index).astype(str),
                             d.labels, {fs: d.matrix(fs) for fs in FEATURE_SETS},
                             cvinference.fold_count(d.labels, n_splits).n_splits)
               for d in designs]
    state = seeds.state("joint_bootstrap", seed, 0, 0)
    jb = metacov.joint_bootstrap(studies, n_boot=n_boot, seed=state, estimator=estimator,
                                 engine=engine, n_jobs=n_jobs, scheme="subsample",
                                 keep=keep)
    factor = metacov.subsample_factor(keep)
    images = pd.concat([pd.DataFrame({"study": s.key, "image_id": s.image_ids, "y": s.y})
                        for s in studies], ignore_index=True)
    keys = [s.key for s in studies]
    sets = {k: frozenset(s.image_ids) for k, s in zip(keys, studies, strict=True)}
    shared = np.array([[bool(sets[a] & sets[b]) for b in keys] for a in keys])
    est, batches = {}, {}
    for q, (a, b) in _QUANTITY_SETS.items():
        v = jb.replicates[a] - (jb.replicates[b] if b is not None else 0.0)
        own = None
        if se is not None:
            sq = se[se["quantity"] == q].set_index("study")["vi"]
            missing = [k for k in keys if k not in sq.index]
            if missing:
                raise KeyError(f"no SE for {', '.join(missing)} ({q})")
            own = np.sqrt(sq.loc[keys].to_numpy(dtype=float))
        est[q] = metacov.replicate_covariance(v, shared, factor=factor, se=own)
        est[q]["how"] = "delete-d jackknife"
        if n_boot >= 8 * MC_BATCHES:
            batches[q] = [metacov.replicate_covariance(part, shared, factor=factor,
                                                       se=own)["corr"]
                          for part in np.array_split(v, MC_BATCHES)]
    return MetaCorrelations(keys, est, images, n_boot, state,
                            elapsed_seconds=time.perf_counter() - t0, batches=batches)


def _band_verdict(quantity: str, low: float, high: float) -> str:
    if quantity == "auc_sd_minus_half":
        return cvinference.vs_chance(low, high, 0.0)
    if low > 0:
        return "mean better"
    if high < 0:
        return "sd better"
    return "no difference shown"


def meta_sensitivity(groups: pd.DataFrame, differences: pd.DataFrame,
                     correlations: MetaCorrelations, *, rhos=RHO_BAND,
                     method: str = "REML") -> pd.DataFrame:
    """The pooled estimates and verdicts under the estimated correlations and a band
    of assumed ones.

    Parameters
    ----------
    groups, differences : DataFrame
    correlations : MetaCorrelations
    rhos : sequence of float
        Values of ``rho`` applied to the per-class overlap.
    method : str
        tau^2 estimator when the model reduces to the independence model (``rho = 0``).

    Returns
    -------
    DataFrame
        Columns :data:`SENSITIVITY_COLUMNS`, one row per quantity, scope (those of
        :data:`SCOPES` with at least two groups) and correlation: ``correlation``
        ``"estimated"`` (``rho`` "estimated"), ``"per-class overlap"`` (``rho`` the
        band value as text) or ``"all-image overlap"`` (``rho`` "1": the rule used
        before the correlations were estimated); identity scale, primary interval
        (:data:`PRIMARY_INTERVAL`); ``verdict``: ``"better than random"`` / ``"not
        distinguishable from random"`` / ``"worse than random"`` for
        ``auc_sd_minus_half``, ``"mean better"`` / ``"no difference shown"`` / ``"sd
        better"`` for ``auc_mean_minus_sd`` (the interval above, across or below 0);
        ``conf_low_mc_std_error``, ``conf_high_mc_std_error``: Monte Carlo SEs of the limits under the estimated
        correlations (batch means over :data:`MC_BATCHES` disjoint batches of the
        delete-d jackknife replicates; NaN for assumed correlations);
        ``within_mc_error``: the limit nearer to 0 is within 2 Monte Carlo SEs of 0, so
        that another seed of the jackknife could give the other verdict.

    Notes
    -----
    Per-class overlap: :func:`analysis.statistics.metacov.per_class_correlation` (shared
    melanomas and shared other images, each weighted by its class's share of an
    AUC's variance, times ``rho``), combined with the groups' own SEs. ``rho = 0`` is
    the independence model; ``rho = 1`` means a shared image moves both groups'
    estimates alike.
    """
    studies = meta_studies(groups, differences)
    im = correlations.images
    rows = []
    for q in QUANTITIES:
        sq = studies[studies["quantity"] == q]
        for scope in SCOPES:
            s = sq[_in_scope(sq, scope)]
            if len(s) < 2:
                continue
            keys = list(s["study"])
            sources = [("estimated", "estimated", correlations.matrix(q, keys))]
            sources += [("per-class overlap", f"{r:g}",
                         metacov.per_class_correlation(im, keys, r)) for r in rhos]
            sources.append(("all-image overlap", "1",
                            overlap_correlation(im[["study", "image_id"]], keys)))
            for name, rho, corr in sources:
                r = _pooled_primary(s, corr, method)
                mc = (np.nan, np.nan)
                if name == "estimated" and correlations.batches:
                    lim = np.array([[(b := _pooled_primary(
                        s, correlations.matrix(q, keys, batch=j), method))["conf_low"],
                        b["conf_high"]] for j in range(len(correlations.batches[q]))])
                    # batch means: the SD over G batches of B/G replicates, over sqrt(G)
                    mc = tuple(lim.std(axis=0, ddof=1) / np.sqrt(len(lim)))
                near = min(abs(r["conf_low"]), abs(r["conf_high"]))
                se_near = mc[0] if abs(r["conf_low"]) <= abs(r["conf_high"]) else mc[1]
                rows.append({"quantity": q, "scope": scope, "correlation": name, "rho": rho,
                             "k": int(r["k"]), "estimate": r["estimate"],
                             "conf_low": r["conf_low"], "conf_high": r["conf_high"],
                             "conf_low_mc_std_error": mc[0], "conf_high_mc_std_error": mc[1],
                             "interval": PRIMARY_INTERVAL, "hk_scale": r["hk_scale"],
                             "tau2": r["tau2"], "q": r["q"], "q_p_value": r["q_p_value"],
                             "verdict": _band_verdict(q, r["conf_low"], r["conf_high"]),
                             "within_mc_error": bool(np.isfinite(se_near)
                                                     and near < 2 * se_near)})
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)


def _pooled_primary(s: pd.DataFrame, corr: np.ndarray, method: str) -> pd.Series:
    """The identity-scale row with the primary interval of :func:`pool_studies`."""
    p = pool_studies(s, method=method, corr=corr)
    p = p[(p["scale"] == "identity") & (p["interval"] == PRIMARY_INTERVAL)]
    return p[p["model"] == ("overlap" if (p["model"] == "overlap").any()
                            else "independent")].iloc[0]


def band_summary(sensitivity: pd.DataFrame) -> pd.DataFrame:
    """Which verdicts hold across the band.

    Returns
    -------
    DataFrame
        Per quantity and scope: ``verdict`` (with the estimated correlations),
        ``band`` (the verdict at each ``rho`` of the per-class band, ``;``-joined),
        ``holds`` (True when every band value gives the estimated correlations'
        verdict), ``rho_flips`` (the band values that give another verdict),
        ``within_mc_error`` and the estimated correlations' limits with their Monte
        Carlo SEs (:func:`meta_sensitivity`).
    """
    rows = []
    for (q, scope), g in sensitivity.groupby(["quantity", "scope"], sort=False):
        est = g.loc[g["correlation"] == "estimated", "verdict"].iloc[0]
        band = g[g["correlation"] == "per-class overlap"]
        flips = band.loc[band["verdict"] != est, "rho"].tolist()
        row = g[g["correlation"] == "estimated"].iloc[0]
        rows.append({"quantity": q, "scope": scope, "verdict": est,
                     "band": "; ".join(f"rho {r}: {v}" for r, v in
                                       zip(band["rho"], band["verdict"], strict=True)),
                     "holds": not flips, "rho_flips": ", ".join(flips),
                     "within_mc_error": bool(row.get("within_mc_error", False)),
                     "conf_low": row["conf_low"], "conf_high": row["conf_high"],
                     "conf_low_mc_std_error": row.get("conf_low_mc_std_error", np.nan),
                     "conf_high_mc_std_error": row.get("conf_high_mc_std_error", np.nan)})
    return pd.DataFrame(rows, columns=["quantity", "scope", "verdict", "band", "holds",
                                       "rho_flips", "within_mc_error", "conf_low", "conf_high",
                                       "conf_low_mc_std_error", "conf_high_mc_std_error"])


def correlation_manifest(cors: MetaCorrelations) -> dict:
    """Settings and counts of the estimated correlations, for the run manifest."""
    return {"meta_correlation": {
        "method": "delete-d jackknife over the union of the groups' images (each image "
                  "kept with probability keep, covariance x keep/(1-keep)), each group "
                  "refitting its cross-validation (one fold assignment); correlation = "
                  "covariance over the groups' own bootstrap-CV SEs",
        "keep": metacov.SUBSAMPLE_KEEP,
        "n_boot": cors.n_boot, "seed_state": cors.seed, "rho_band": list(RHO_BAND),
        "min_replicates_per_pair": {q: e["n_used"] for q, e in cors.estimated.items()},
        "projected_to_psd": {q: bool(e["projected"]) for q, e in cors.estimated.items()},
        "elapsed_seconds": round(cors.elapsed_seconds, 3)}}


# --------------------------------------------------------------------------- annotator curve


@dataclass(frozen=True, kw_only=True, eq=False)
class AnnotatorResult(StudyResult):
    """Tidy tables of :func:`annotator_curve` (a :class:`analysis.base.results.StudyResult`:
    ``notes`` holds the fold-rule notes and the groups not in the curve).

    Attributes
    ----------
    rows : DataFrame
        One row per (group, k, subset or draw, feature set), columns
        :data:`CURVE_COLUMNS`.
    summary : DataFrame
        Per (group, k, feature set): mean, sd, min, max over subsets (or draws), the
        units used (``n_images``) and left out (``n_left_out``), ``selection``.
    skipped : DataFrame
        ``cohort, group, reason`` of the groups not in the curve.
    manifest_extra : dict
    trend : DataFrame
        Per (group, feature set): least-squares slope of the curve on ``k`` with its
        bootstrap-over-images 95% interval and a direction (:func:`curve_trend`).
    """

    rows: pd.DataFrame
    summary: pd.DataFrame
    skipped: pd.DataFrame
    manifest_extra: dict = field(default_factory=dict)
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The ``annotators`` command's CSV files by name."""
        return {"subsets.csv": self.rows, "summary.csv": self.summary, "trend.csv": self.trend,
                "skipped.csv": self.skipped}


def _subset_rng(seed: int, cohort: str, group: str, k: int) -> np.random.Generator:
    return seeds.rng("curve_subsets", seed, seeds.group_code(cohort, group), k)


def annotator_subsets(annotators: tuple[str, ...], k: int, *, max_subsets: int = 30,
                      rng: np.random.Generator | None = None) -> list[tuple[str, ...]]:
    """Every subset of ``k`` annotators, or a sample of ``max_subsets`` of them.

    Subsets are in lexicographic order of the annotator list; a sample (without
    replacement, drawn with ``rng``) is returned in that order too.
    """
    allsubs = list(itertools.combinations(annotators, k))
    if len(allsubs) <= max_subsets:
        return allsubs
    if rng is None:
        raise ValueError("a generator is needed to sample subsets")
    idx = np.sort(rng.choice(len(allsubs), size=max_subsets, replace=False))
    return [allsubs[i] for i in idx]


@dataclass
class CurveData:
    """What the annotator curve needs of one design.

    Attributes
    ----------
    cohort, group : str
    features : tuple of str
    raters : tuple of str
        Rater ids (persons) or positions, in column order.
    z : DataFrame
        Kept units x ``<feature>_<rater>`` z-scored scores (NaN: not scored), the
        design's own z-scoring.
    y : Series
        0/1 label of each kept unit.
    selection : {"subsets", "draws"}
        ``subsets``: persons who all scored every unit on every feature, so that
        ``k`` raters are a subset of persons, the same on every unit; ``draws``:
        otherwise, ``k`` of each unit's raters drawn per unit.
    groups : ndarray or None
        Group code of each kept unit (:attr:`analysis.design.features.GroupDesign.group_codes`):
        the curve's folds and the trend's bootstrap keep a group's units together.
    """

    cohort: str
    group: str
    features: tuple[str, ...]
    raters: tuple[str, ...]
    z: pd.DataFrame
    y: pd.Series
    selection: str
    groups: np.ndarray | None = None

    @property
    def labels(self) -> np.ndarray:
        return self.y.to_numpy(dtype=int)

    @property
    def n_images(self) -> int:
        return int(len(self.y))

    def block(self, feature: str) -> np.ndarray:
        """Units x raters z-scores of one feature (NaN where not scored)."""
        return self.z[[f"{feature}_{a}" for a in self.raters]].to_numpy(dtype=float)

    def candidates(self) -> np.ndarray:
        """Units x raters: True where the rater scored every feature of the unit."""
        out = np.ones((self.n_images, len(self.raters)), dtype=bool)
        for f in self.features:
            out &= ~np.isnan(self.block(f))
        return out

    @property
    def n_raters_max(self) -> int:
        """Largest number of raters who scored every feature of one unit (``K``)."""
        c = self.candidates()
        return int(c.sum(axis=1).max()) if c.size else 0


def curve_data(design) -> CurveData:
    """The curve's view of a design: an :class:`AbcDesign` (ENHANCE, crossed) or any
    :class:`analysis.design.features.GroupDesign` (:func:`analysis.design.dataset.load`).

    Notes
    -----
    Subsets of persons when the raters are persons and every one of them scored every
    feature of every kept unit (group 7; an :class:`AbcDesign` uses the annotators of
    its first feature, the same for every feature in a crossed design); per-unit draws
    otherwise (positions, or persons who rated different units).
    """
    if isinstance(design, AbcDesign):
        raters = design.feature_annotators[design.features[0]]
        return CurveData(design.cohort, design.group, tuple(design.features), tuple(raters),
                         design.z, design.y, "subsets")
    raters = tuple(design.annotators)
    cols = [f"{f}_{a}" for a in raters for f in design.features]
    complete = design.raters == "persons" and bool(design.z[cols].notna().all().all())
    return CurveData(design.cohort, design.group, tuple(design.features), raters,
                     design.z[cols], design.y, "subsets" if complete else "draws",
                     getattr(design, "group_codes", None))


def draw_unit_raters(data: CurveData, k: int, n_draws: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``n_draws`` draws of ``k`` raters per unit, each among the unit's own raters.

    Parameters
    ----------
    data : CurveData
    k : int
    n_draws : int
        Draws; one when every unit has exactly ``k`` raters (every draw is the same).
    rng : numpy.random.Generator

    Returns
    -------
    rows : ndarray of int
        The units (rows of ``data.z``) with at least ``k`` raters who scored every
        feature; the others are left out at this ``k``.
    draws : ndarray of shape (n_draws, len(rows), k)
        Column numbers (into ``data.raters``) of the raters drawn for each unit, in
        column order.

    Notes
    -----
    Each unit's candidates are the raters who scored every feature of it. A draw gives
    each candidate an independent uniform key and keeps the ``k`` smallest: every
    ``k``-subset of a unit's candidates is equally likely, draws of different units are
    independent, and all units are drawn at once.
    """
    cand = data.candidates()
    count = cand.sum(axis=1)
    rows = np.flatnonzero(count >= k)
    if rows.size and np.all(count[rows] == k):
        n_draws = 1
    out = np.empty((n_draws, rows.size, k), dtype=int)
    for j in range(n_draws):
        keys = rng.random((rows.size, len(data.raters)))
        keys[~cand[rows]] = np.inf
        out[j] = np.sort(np.argsort(keys, axis=1, kind="stable")[:, :k], axis=1)
    return rows, out


def unit_rater_draws(design, k: int, *, n_draws: int = 1, seed: int = models.DEFAULT_SEED
                     ) -> pd.DataFrame:
    """The raters the annotator curve uses at ``k`` for each unit, as a tidy table.

    Parameters
    ----------
    design : GroupDesign or AbcDesign
    k : int
    n_draws : int
    seed : int
        As in :func:`design_curve` (the same draws).

    Returns
    -------
    DataFrame
        ``draw, unit, n_raters, raters, left_out``: for a subset design, one row per
        subset and unit (the subsets of :func:`annotator_subsets`, up to ``n_draws``);
        for draws, one row per draw and unit, ``raters`` joined by ``-``; a unit with
        fewer than ``k`` raters is one row with ``left_out`` True, ``draw`` 0 and no
        raters. ``n_raters``: the raters who scored every feature of the unit.
    """
    data = curve_data(design)
    units = data.y.index.astype(str)
    rows_out = []
    if data.selection == "subsets":
        subs = annotator_subsets(data.raters, k, max_subsets=n_draws,
                                 rng=_subset_rng(seed, data.cohort, data.group, k))
        for j, sub in enumerate(subs):
            rows_out += [(j + 1, u, len(data.raters), "-".join(sub), False) for u in units]
    else:
        rows, draws = draw_unit_raters(data, k, n_draws,
                                       _subset_rng(seed, data.cohort, data.group, k))
        n_cand = data.candidates().sum(axis=1)
        for j in range(draws.shape[0]):
            for i, r in enumerate(rows):
                rows_out.append((j + 1, units[r], int(n_cand[r]),
                                 "-".join(data.raters[c] for c in draws[j, i]), False))
        rows_out += [(0, units[r], int(n_cand[r]), "", True)
                     for r in np.setdiff1d(np.arange(data.n_images), rows)]
    return pd.DataFrame(rows_out, columns=["draw", "unit", "n_raters", "raters", "left_out"])


def _subset_moments(d: CurveData, subset: tuple[str, ...], feature_set: str) -> np.ndarray:
    cols = {}
    for f in d.features:
        vals = d.z[[f"{f}_{a}" for a in subset]].to_numpy(dtype=float)
        m, _ = moments_across(vals)
        cols[f] = m[feature_set]
    return zscore(pd.DataFrame(cols)).to_numpy(dtype=float)


def _draw_moments(d: CurveData, rows: np.ndarray, draw: np.ndarray, feature_set: str
                  ) -> np.ndarray:
    """Moments across each unit's drawn raters, z-scored over the units at this k."""
    cols = {}
    for f in d.features:
        vals = d.block(f)[rows[:, None], draw]
        m, _ = moments_across(vals)
        cols[f] = m[feature_set]
    return zscore(pd.DataFrame(cols)).to_numpy(dtype=float)


def _selections(d: CurveData, k: int, n: int, seed: int) -> tuple[np.ndarray | None, list]:
    """(rows, [(name, selection)]) at ``k``: subsets of persons (rows None: every unit)
    or per-unit draws (rows: the units with at least ``k`` raters)."""
    rng = _subset_rng(seed, d.cohort, d.group, k)
    if d.selection == "subsets":
        return None, [("-".join(s), s) for s in annotator_subsets(d.raters, k, max_subsets=n,
                                                                   rng=rng)]
    rows, draws = draw_unit_raters(d, k, n, rng)
    return rows, [(f"draw{j + 1:02d}", draws[j]) for j in range(draws.shape[0])]


def _moments_of(d: CurveData, rows, sel, feature_set: str) -> np.ndarray:
    if rows is None:
        return _subset_moments(d, sel, feature_set)
    return _draw_moments(d, rows, sel, feature_set)


@dataclass(frozen=True)
class _CurveTask:
    """One (group, k) task of the annotator curve (a worker's input)."""

    d: CurveData
    k: int
    rows: np.ndarray | None
    sels: list
    splits: list
    estimator: str
    engine: str
    n_annotators: int


def _curve_task(task: _CurveTask) -> list[dict]:
    """Rows of every selection of one (group, k) task of :func:`annotator_curve`."""
    d, k, rows, sels, splits = task.d, task.k, task.rows, task.sels, task.splits
    estimator, engine, n_annotators = task.estimator, task.engine, task.n_annotators
    y = d.labels if rows is None else d.labels[rows]
    n_left_out = 0 if rows is None else d.n_images - rows.size
    out = []
    for name, sel in sels:
        for fs in FEATURE_SETS:
            cv = models.cross_validate(_moments_of(d, rows, sel, fs), y, splits,
                                       estimator=estimator, engine=engine, n_jobs=1)
            fsum = _fold_summary(cv.folds)
            out.append({"cohort": d.cohort, "group": d.group, "features": ",".join(d.features),
                        "n_images": int(y.size), "n_melanoma": int(y.sum()),
                        "n_annotators": n_annotators, "k": k,
                        "subset": name, "feature_set": fs, "estimator": estimator,
                        "auc": float(cv.folds["auc"].mean()),
                        "fold_mean_auc": fsum["fold_mean_auc"],
                        "repeat_mean_auc": fsum["repeat_mean_auc"],
                        "n_folds_separated": fsum["n_folds_separated"],
                        "selection": d.selection, "n_left_out": n_left_out})
    return out


#: Bootstrap replicates of the trend of the annotator curve.
TREND_BOOT = budgets.CURVE.trend_boot
#: Annotator subsets per k in each trend replicate.
TREND_SUBSETS = budgets.CURVE.trend_subsets


def _slope(k: np.ndarray, auc: np.ndarray) -> float:
    ok = np.isfinite(auc)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(k[ok].astype(float), auc[ok], 1)[0])


def _restrict_splits(splits: list, rows: np.ndarray, n: int, y: np.ndarray) -> list:
    """Bootstrap splits over all units, restricted to the units at one ``k`` (renumbered
    as the rows of that ``k``); folds left with no test unit or a one-class training set
    are dropped."""
    where = np.full(n, -1)
    where[rows] = np.arange(rows.size)
    out = []
    for s in splits:
        tr, te = where[s.train], where[s.test]
        tr, te = tr[tr >= 0], te[te >= 0]
        if te.size and tr.size and y[tr].min() != y[tr].max():
            out.append(models.Split(s.repeat, s.fold, tr, te))
    return out


@dataclass(frozen=True)
class _TrendTask:
    """The bootstrap of one group's trend (a worker's input)."""

    d: CurveData
    ks: list
    sels: dict
    n_boot: int
    n_splits: int
    seed: int
    estimator: str
    engine: str


def _trend_task(task: _TrendTask) -> list[dict]:
    """Bootstrap slopes of one group (see :func:`curve_trend`)."""
    d, ks, sels, n_boot = task.d, task.ks, task.sels, task.n_boot
    n_splits, seed, estimator, engine = task.n_splits, task.seed, task.estimator, task.engine
    y = d.labels
    splits, _ = cvstats.bootstrap_cv_splits(y, n_boot=n_boot, n_repeats=1, n_splits=n_splits,
                                            seed=seed, groups=d.groups)
    rows_out = []
    for fs in FEATURE_SETS:
        per_k = np.full((n_boot, len(ks)), np.nan)
        for j, k in enumerate(ks):
            rows, chosen = sels[k]
            sp, yk = splits, y
            if rows is not None:
                yk = y[rows]
                sp = _restrict_splits(splits, rows, d.n_images, yk)
            if not sp:  # no replicate has a usable fold at this k
                continue
            reps = []
            for _, sel in chosen:
                cv = models.cross_validate(_moments_of(d, rows, sel, fs), yk, sp,
                                           estimator=estimator, engine=engine, n_jobs=1)
                rep = pd.Series(cvstats.bootstrap_cv_replicates(cv.folds, 1),
                                index=np.unique(cv.folds["repeat"]))
                reps.append(rep.reindex(range(n_boot)).to_numpy())
            reps = np.vstack(reps)
            seen = np.isfinite(reps).any(axis=0)  # a replicate without folds here stays NaN
            per_k[seen, j] = np.nanmean(reps[:, seen], axis=0)
        slopes = np.array([_slope(np.asarray(ks), per_k[b]) for b in range(n_boot)])
        rows_out.append({"cohort": d.cohort, "group": d.group, "feature_set": fs,
                         "boot_slopes": slopes})
    return rows_out


def _curve_ks(d: CurveData) -> list[int]:
    return list(range(2, (len(d.raters) if d.selection == "subsets" else d.n_raters_max) + 1))


def curve_trend(designs: list, summary: pd.DataFrame, *, seed: int = models.DEFAULT_SEED,
                n_boot: int = TREND_BOOT, max_subsets: int = TREND_SUBSETS,
                estimator: str = "mle", n_splits: int = 10, engine: str = "auto",
                n_jobs: int = 1, quiet: bool = True) -> pd.DataFrame:
    """Slope of the annotator curve on ``k`` with a bootstrap-over-images interval.

    Parameters
    ----------
    designs : list of AbcDesign, GroupDesign or CurveData
        The groups of the curve.
    summary : DataFrame
        :attr:`AnnotatorResult.summary` (the estimate: the least-squares slope of
        ``repeat_mean_auc_mean`` on ``k``).
    n_boot : int
        Bootstrap replicates: images drawn with replacement within class, the
        cross-validation redone on each (folds over distinct images,
        :func:`analysis.statistics.cvstats.bootstrap_cv_splits`).
    max_subsets : int
        Annotator subsets (or per-unit draws) per ``k`` in each replicate (a seeded
        sample; all when fewer).

    Returns
    -------
    DataFrame
        ``cohort, group, feature_set, k_min, k_max, slope, std_error, conf_low, conf_high,
        n_boot, direction`` ("rising" or "falling" when the 95% interval excludes 0,
        else "no trend shown").

    Notes
    -----
    The spread of the AUC over overlapping subsets of the same annotators on the same
    images is not a sampling SD: the subsets share annotators and images. The
    interval here resamples images, the source of sampling error, and refits
    everything inside each replicate; the subsets of a replicate are a subsample, which
    can only widen the interval. With per-unit draws, a replicate resamples all the
    design's units and each ``k`` uses those of its units with at least ``k`` raters
    (the same units as the curve), in the replicate's folds.
    """
    from scipy import stats as st

    tasks = []
    for d in designs:
        d = d if isinstance(d, CurveData) else curve_data(d)
        ks = _curve_ks(d)
        sels = {k: _selections(d, k, max_subsets, seed + 1) for k in ks}
        tasks.append(_TrendTask(d, ks, sels, n_boot,
                                cvinference.fold_count(d.labels, n_splits,
                                                       groups=d.groups).n_splits,
                                seeds.state("curve_trend", seed,
                                            seeds.group_code(d.cohort, d.group)),
                                estimator, engine))
    if n_jobs == 1 or len(tasks) <= 1:
        parts = [_trend_task(t) for t in progress(tasks, desc="annotator trend", quiet=quiet)]
    else:
        from ..fitting.engine import parallel_map_costliest_first

        parts = parallel_map_costliest_first(
            _trend_task, tasks, [len(t.ks) * t.d.n_images for t in tasks], n_jobs=n_jobs,
            wrap=lambda it: progress(it, desc="annotator trend", quiet=quiet))
    z = float(st.norm.ppf(0.975))
    rows = []
    for part in parts:
        for r in part:
            gs = summary[(summary["cohort"] == r["cohort"]) & (summary["group"] == r["group"])
                         & (summary["feature_set"] == r["feature_set"])].sort_values("k")
            slope = _slope(gs["k"].to_numpy(), gs["repeat_mean_auc_mean"].to_numpy())
            b = r["boot_slopes"][np.isfinite(r["boot_slopes"])]
            se = float(b.std(ddof=1)) if b.size > 1 else float("nan")
            lo, hi = slope - z * se, slope + z * se
            direction = ("rising" if lo > 0 else "falling" if hi < 0 else "no trend shown")
            rows.append({"cohort": r["cohort"], "group": r["group"],
                         "feature_set": r["feature_set"], "k_min": int(gs["k"].min()),
                         "k_max": int(gs["k"].max()), "slope": slope, "std_error": se,
                         "conf_low": lo, "conf_high": hi, "n_boot": int(b.size),
                         "direction": direction})
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


#: Columns of :attr:`AnnotatorResult.rows`.
CURVE_COLUMNS = ["cohort", "group", "features", "n_images", "n_melanoma", "n_annotators", "k",
                 "subset", "feature_set", "estimator", "auc", "fold_mean_auc",
                 "repeat_mean_auc", "n_folds_separated", "selection", "n_left_out"]
#: Columns of :attr:`AnnotatorResult.trend`.
TREND_COLUMNS = ["cohort", "group", "feature_set", "k_min", "k_max", "slope", "std_error", "conf_low",
                 "conf_high", "n_boot", "direction"]


def _run_curve(plan: list[CurveData], skipped: list, *, seed: int, max_subsets: int,
               repeats: int, estimator: str, n_splits: int, engine: str, n_jobs: int,
               trend_boot: int, quiet: bool, t0: float) -> AnnotatorResult:
    """The curve of every planned design (:func:`annotator_curve`, :func:`design_curve`)."""
    # one task per (group, k): its selections share the splits (of the group's units,
    # or of the units at k for per-unit draws); tasks run in worker processes, each
    # fitting in-process, so rows do not depend on n_jobs
    task_list, n_sel, fold_notes = [], 0, {}
    for d in plan:
        full = None
        for k in _curve_ks(d):
            rows, sels = _selections(d, k, max_subsets, seed)
            y = d.labels if rows is None else d.labels[rows]
            g = None if d.groups is None else (d.groups if rows is None else d.groups[rows])
            try:
                fc = cvinference.fold_count(y, n_splits, groups=g)
            except ValueError:  # the fold rule: fewer than 2 units of a class
                counts = np.bincount(y, minlength=2)
                holders = (counts if g is None
                           else [len(np.unique(g[y == c])) for c in (0, 1)])
                if min(holders) >= 2:  # not the data: a bad n_splits
                    raise
                skipped.append((d.cohort, d.group, f"k = {k}: {counts[1]} positive and "
                                f"{counts[0]} negative units with {k} raters; too few for "
                                "cross-validation"))
                continue
            if fc.note:
                fold_notes[f"{d.cohort}/{d.group}: {fc.note}"] = None
            if rows is None:
                if full is None:
                    full = models.stratified_splits(y, n_splits=fc.n_splits,
                                                    n_repeats=repeats, seed=seed, groups=g)
                splits = full
            else:
                splits = models.stratified_splits(y, n_splits=fc.n_splits,
                                                  n_repeats=repeats, seed=seed, groups=g)
            n_sel += len(sels)
            task_list.append(_CurveTask(d, k, rows, sels, splits, estimator, engine,
                                        len(d.raters) if d.selection == "subsets"
                                        else d.n_raters_max))
    if n_jobs == 1 or len(task_list) <= 1:
        parts = [_curve_task(t) for t in progress(task_list, desc="annotator subsets", quiet=quiet)]
    else:
        from ..fitting.engine import parallel_map_costliest_first

        parts = parallel_map_costliest_first(
            _curve_task, task_list, [len(t.sels) * t.d.n_images for t in task_list],
            n_jobs=n_jobs, wrap=lambda it: progress(it, desc="annotator subsets", quiet=quiet))
    out = pd.DataFrame([row for part in parts for row in part], columns=CURVE_COLUMNS)
    keys = ["cohort", "group", "n_annotators", "k", "feature_set"]
    summary = (out.groupby(keys, sort=True)
               .agg(n_subsets=("subset", "size"),
                    auc_mean=("auc", "mean"), auc_sd=("auc", "std"),
                    auc_min=("auc", "min"), auc_max=("auc", "max"),
                    repeat_mean_auc_mean=("repeat_mean_auc", "mean"),
                    repeat_mean_auc_sd=("repeat_mean_auc", "std"),
                    repeat_mean_auc_min=("repeat_mean_auc", "min"),
                    repeat_mean_auc_max=("repeat_mean_auc", "max"),
                    n_images=("n_images", "first"), n_left_out=("n_left_out", "first"),
                    selection=("selection", "first"))
               .reset_index())
    skipped_df = pd.DataFrame(skipped, columns=["cohort", "group", "reason"])
    curved = [d for d in plan if ((summary["cohort"] == d.cohort)
                                  & (summary["group"] == d.group)).any()]
    trend = (curve_trend(curved, summary, seed=seed, n_boot=trend_boot, estimator=estimator,
                         n_splits=n_splits, engine=engine, n_jobs=n_jobs, quiet=quiet)
             if trend_boot > 0 and curved else pd.DataFrame(columns=TREND_COLUMNS))
    extra = {"annotator_curve": {"trend_boot": trend_boot,
        "seed": seed, "max_subsets": max_subsets, "repeats": repeats, "estimator": estimator,
        "groups": [f"{d.cohort}/{d.group}" for d in plan], "n_subsets": n_sel,
        "skipped": [f"{c}/{g}: {why}" for c, g, why in skipped],
        "fold_notes": list(fold_notes),
        "elapsed_seconds": round(time.perf_counter() - t0, 3)}}
    ac = extra["annotator_curve"]
    return AnnotatorResult(rows=out, summary=summary, skipped=skipped_df, manifest_extra=extra,
                           trend=trend,
                           settings={k: ac[k] for k in ("seed", "max_subsets", "repeats",
                                                        "estimator", "trend_boot")},
                           elapsed=ac["elapsed_seconds"],
                           notes=[*ac["fold_notes"], *(f"group not in the curve: {g}"
                                                       for g in ac["skipped"])])


def annotator_curve(
    annotations,
    *,
    seed: int = models.DEFAULT_SEED,
    max_subsets: int = budgets.CURVE.max_subsets,
    repeats: int = CURVE_REPEATS,
    estimator: str = "mle",
    n_splits: int = 10,
    engine: str = "auto",
    n_jobs: int = 1,
    groups: list[tuple[str, str]] | None = None,
    trend_boot: int = TREND_BOOT,
    quiet: bool = False,
) -> AnnotatorResult:
    """AUC of the mean and sd features against the number of annotators ``k``, on the
    ENHANCE groups (:func:`design_curve` does the same on any one design).

    Parameters
    ----------
    annotations : analysis.loading.tidy.Annotations
    seed : int
        Seeds the fold assignments and the sample of subsets.
    max_subsets : int, default 30
        Above this many subsets of size ``k``, a seeded sample of this size.
    repeats : int, default 5
        Fold assignments per subset, including the canonical split.
    estimator : {"mle", "firth"}
    n_splits : int
        Folds (reduced to the rarer class size if smaller).
    engine : str
        See :func:`analysis.fitting.models.cross_validate`.
    n_jobs : int
        Worker processes; one task per (group, k). Rows do not depend on it.
    groups : list of (cohort, group), optional
        Restrict to these groups (default: group 7 and every other eligible group).
    trend_boot : int
        Bootstrap replicates of the trend's interval (:func:`curve_trend`); 0 skips it.
    quiet : bool

    Returns
    -------
    AnnotatorResult
        ``rows``: ``cohort, group, features, n_images, n_melanoma, n_annotators, k,
        subset`` (e.g. ``"1-3-5"``), ``feature_set, estimator, auc`` (cvAUC: the mean
        fold AUC over all folds of all repeats), ``fold_mean_auc`` (canonical split),
        ``repeat_mean_auc`` (mean fold AUC averaged over all repeats),
        ``n_folds_separated``, ``selection`` ("subsets"), ``n_left_out`` (0).
        ``summary``: per (group, k, feature set) ``n_subsets`` and the mean, sd, min
        and max over subsets of ``auc`` and of ``repeat_mean_auc``, then ``n_images,
        n_left_out, selection``.

    Notes
    -----
    Group 7 uses its five features (:data:`analysis.design.features.GROUP7_FEATURES`),
    the other groups asymmetry, border and color. Only *crossed* designs (the same
    ``K > 2`` annotators rated every kept image of every feature) are used:
    rotating designs have no image rated by all annotators, split-by-feature designs
    no annotator subset common to all features, and MTurk positions are not people;
    each is listed in ``skipped`` with the reason. The images are those of the full
    design (fixed across ``k``); each annotator column keeps its z-scoring over them;
    only the moments are recomputed across the subset and z-scored again. All
    subsets of a group share the same splits.
    """
    t0 = time.perf_counter()
    elig = eligible_groups(annotations)
    plan, skipped = [], []
    for r in elig.itertuples(index=False):
        key = (r.cohort, r.group)
        if groups is not None and key not in groups:
            continue
        if key == GROUP7:
            try:
                d = group_abc_design(annotations, *key, features=GROUP7_FEATURES)
            except ValueError as err:
                skipped.append((*key, str(err)))
                continue
        elif not r.eligible:
            skipped.append((*key, f"not eligible: {r.reason}"))
            continue
        elif r.design != "crossed":
            why = {"rotating": "rotating design: no image rated by all annotators",
                   "split_by_feature": "each feature rated by different annotators",
                   "positions": "MTurk positions are not persistent annotators"}[r.design]
            skipped.append((*key, why))
            continue
        else:
            d = group_abc_design(annotations, *key)
        if d.design != "crossed":
            skipped.append((*key, f"{d.design} design"))
            continue
        if d.n_raters <= 2:
            skipped.append((*key, "only 2 annotators per image"))
            continue
        plan.append(curve_data(d))
    return _run_curve(plan, skipped, seed=seed, max_subsets=max_subsets, repeats=repeats,
                      estimator=estimator, n_splits=n_splits, engine=engine, n_jobs=n_jobs,
                      trend_boot=trend_boot, quiet=quiet, t0=t0)


def design_curve(
    design,
    *,
    seed: int = models.DEFAULT_SEED,
    max_subsets: int = budgets.CURVE.max_subsets,
    repeats: int = CURVE_REPEATS,
    estimator: str = "mle",
    n_splits: int = 10,
    engine: str = "auto",
    n_jobs: int = 1,
    trend_boot: int = TREND_BOOT,
    quiet: bool = True,
) -> AnnotatorResult:
    """The annotator-count curve of any design: cvAUC of the mean and sd features from
    ``k`` of each unit's raters, ``k = 2 .. K``, with the trend test.

    Parameters
    ----------
    design : GroupDesign or AbcDesign
        E.g. :func:`analysis.design.dataset.load` (a user's data) or
        :func:`analysis.design.dataset.load_builtin`.
    seed : int
        Seeds the folds, the subsets or draws, and the trend's bootstrap.
    max_subsets : int
        Subsets of persons per ``k`` (all when fewer), or per-unit draws per ``k``
        (one when every unit has exactly ``k`` raters).
    repeats, estimator, n_splits, engine, n_jobs, trend_boot, quiet
        As in :func:`annotator_curve`.

    Returns
    -------
    AnnotatorResult
        As :func:`annotator_curve`, one group (the design's ``cohort, group``);
        ``subset`` names the persons (``"A-C-D"``) or the draw (``"draw01"``);
        ``n_images`` are the units used at ``k`` and ``n_left_out`` those with fewer
        than ``k`` raters.

    Notes
    -----
    The units are the design's kept units, with the design's z-scores (per rater column
    for persons, per feature for positions); at each ``k`` only the moments are
    recomputed, across ``k`` raters of each unit, and z-scored over the units used.

    * Persons who all scored every feature of every unit (the paper's group 7): ``k``
      raters are a subset of persons, the same on every unit; all subsets, or a seeded
      sample of ``max_subsets``; the units are the same at every ``k``. This is the
      path of :func:`annotator_curve`, which gives the same rows for group 7.
    * Otherwise (positions, or persons who rated different units): for each unit, a
      seeded draw of ``k`` of the raters who scored every feature of it
      (:func:`draw_unit_raters`); a unit with fewer than ``k`` such raters is left out
      at that ``k`` (``n_left_out``), so that the units may differ between ``k``.

    ``K`` is the number of persons (subsets) or the largest number of raters of one
    unit (draws); with ``K < 3`` there is no curve (``skipped`` says why). A ``k`` whose
    units hold fewer than 2 of a class is skipped and listed.
    """
    t0 = time.perf_counter()
    d = curve_data(design)
    big_k = len(d.raters) if d.selection == "subsets" else d.n_raters_max
    plan, skipped = [d], []
    if big_k < 3:
        plan = []
        skipped.append((d.cohort, d.group, f"at most {big_k} raters per unit: a curve needs "
                                           "k = 2 and 3 at least"))
    return _run_curve(plan, skipped, seed=seed, max_subsets=max_subsets, repeats=repeats,
                      estimator=estimator, n_splits=n_splits, engine=engine, n_jobs=n_jobs,
                      trend_boot=trend_boot, quiet=quiet, t0=t0)


def curve_notes(result: AnnotatorResult) -> list[str]:
    """Sentences on what a curve of :func:`design_curve` left out: each group or ``k``
    not run and why, and the units with fewer than ``k`` raters at each ``k``."""
    notes = [f"annotator curve not run for {c}/{g}: {why}" if not why.startswith("k = ")
             else f"annotator curve, {why}"
             for c, g, why in result.skipped.itertuples(index=False)]
    s = result.summary
    if len(s):
        s = s.drop_duplicates(["cohort", "group", "k"])
        if set(s["selection"]) == {"draws"}:
            notes.append("annotator curve: raters drawn per unit (raters are positions or did "
                         "not all rate every unit), k = 2 to "
                         f"{int(s['k'].max())}")
        for r in s[s["n_left_out"] > 0].itertuples(index=False):
            notes.append(f"annotator curve: at k = {r.k}, {r.n_left_out} of "
                         f"{r.n_images + r.n_left_out} units have fewer than {r.k} raters "
                         "who scored every feature and are left out")
    return notes
