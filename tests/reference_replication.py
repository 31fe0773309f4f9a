"""Frozen reference: ``analysis.studies.replication.group_abc_design`` and the annotator curve
(``annotator_curve``, ``curve_trend`` and their helpers) as they were before both went
through the general design builder and the general curve (commit e68fcd2), kept
verbatim so that tests can show the new paths give exactly the same designs and curve.
Not used by the package."""

from __future__ import annotations

import itertools
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.base.progress import progress
from analysis.design.features import (
    GROUP7_FEATURES,
    MOMENTS,
    LabelledImages,
    moments_across,
    zscore,
)
from analysis.fitting import models
from analysis.statistics import cvstats

ABC: tuple[str, ...] = ("asymmetry", "border", "color")
GROUP7: tuple[str, str] = ("2017-2018", "group07")
MTURK: tuple[str, str] = ("mturk", "isic")
FEATURE_SETS: tuple[str, ...] = ("mean", "sd")
CURVE_REPEATS = 5
BAND = (2.5, 97.5)

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


def _annotator_key(a: str) -> tuple[int, str]:
    return (int(a), a) if str(a).isdigit() else (10**9, str(a))


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
    keep = [i for i in all_images if i not in set(excluded_df["image_id"])]

    ok = ok[ok["image_id"].isin(keep)]
    annotators = tuple(sorted(ok["annotator"].astype(str).unique(), key=_annotator_key))
    wide = ok.pivot_table(index="image_id", columns=["feature", "annotator"], values="score",
                          aggfunc="first")
    cols = [(f, a) for f in features for a in annotators if (f, a) in wide.columns]
    wide = wide.reindex(index=keep, columns=pd.MultiIndex.from_tuples(cols))
    positions = (cohort, group) == MTURK
    if positions:
        z = wide.copy()
        for f in features:
            block = wide[f]
            vals = block.to_numpy(dtype=float)
            mu, sd = np.nanmean(vals), np.nanstd(vals, ddof=1)
            z[f] = (block - mu) / (sd if sd > 0 else 1.0)
    else:
        z = zscore(wide)
    z.columns = [f"{f}_{a}" for f, a in cols]

    feature_annotators = {f: tuple(a for ff, a in cols if ff == f) for f in features}
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

    mom = {}
    for f in features:
        vals = z[[f"{f}_{a}" for a in feature_annotators[f]]].to_numpy(dtype=float)
        packed = np.sort(vals, axis=1)[:, : raters[f]]  # NaN sort last; r_f values per row
        m, _ = moments_across(packed)
        for name in MOMENTS:
            mom[f"{name}_{f}"] = m[name]
    order = [f"{m}_{f}" for m in MOMENTS for f in features]
    moments_raw = pd.DataFrame(mom, index=pd.Index(keep, name="image_id"))[order]
    y = lab.reindex(keep).astype(int).rename("melanoma")
    y.index.name = "image_id"
    return AbcDesign(
        cohort=cohort, group=group, features=tuple(features), annotators=annotators,
        design=design, raters=raters, z=z, moments_raw=moments_raw,
        moments=zscore(moments_raw), y=y, excluded=excluded_df,
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

def _n_splits(y: np.ndarray, wanted: int = 10) -> int:
    counts = np.bincount(np.asarray(y, dtype=int), minlength=2)
    return int(min(wanted, counts.min()))


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


@dataclass
class AnnotatorResult:
    """Tidy tables of :func:`annotator_curve`.

    Attributes
    ----------
    rows : DataFrame
        One row per (group, k, subset, feature set).
    summary : DataFrame
        Per (group, k, feature set): mean, sd, min, max over subsets.
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



def _subset_rng(seed: int, cohort: str, group: str, k: int) -> np.random.Generator:
    code = zlib.crc32(f"{cohort}/{group}".encode())
    return np.random.default_rng(np.random.SeedSequence([seed, code, k]))


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


def _subset_moments(d: AbcDesign, subset: tuple[str, ...], feature_set: str) -> np.ndarray:
    cols = {}
    for f in d.features:
        vals = d.z[[f"{f}_{a}" for a in subset]].to_numpy(dtype=float)
        m, _ = moments_across(vals)
        cols[f] = m[feature_set]
    return zscore(pd.DataFrame(cols)).to_numpy(dtype=float)


def _curve_task(args) -> list[dict]:
    """Rows of every subset of one (group, k) task of :func:`annotator_curve`."""
    d, k, subsets, splits, estimator, engine = args
    y = d.labels
    rows = []
    for sub in subsets:
        for fs in FEATURE_SETS:
            cv = models.cross_validate(_subset_moments(d, sub, fs), y, splits,
                                       estimator=estimator, engine=engine, n_jobs=1)
            fsum = _fold_summary(cv.folds)
            rows.append({"cohort": d.cohort, "group": d.group, "features": ",".join(d.features),
                         "n_images": d.n_images, "n_melanoma": d.n_melanoma,
                         "n_annotators": len(d.feature_annotators[d.features[0]]), "k": k,
                         "subset": "-".join(sub), "feature_set": fs, "estimator": estimator,
                         "auc": float(cv.folds["auc"].mean()),
                         "fold_mean_auc": fsum["fold_mean_auc"],
                         "repeat_mean_auc": fsum["repeat_mean_auc"],
                         "n_folds_separated": fsum["n_folds_separated"]})
    return rows


#: Bootstrap replicates of the trend of the annotator curve.
TREND_BOOT = 50
#: Annotator subsets per k in each trend replicate.
TREND_SUBSETS = 5


def _slope(k: np.ndarray, auc: np.ndarray) -> float:
    ok = np.isfinite(auc)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(k[ok].astype(float), auc[ok], 1)[0])


def _trend_task(args) -> list[dict]:
    """Bootstrap slopes of one group (see :func:`curve_trend`)."""

    d, ks, subsets, n_boot, n_splits, seed, estimator, engine = args
    y = d.labels
    splits, _ = cvstats.bootstrap_cv_splits(y, n_boot=n_boot, n_repeats=1, n_splits=n_splits,
                                            seed=seed)
    rows = []
    for fs in FEATURE_SETS:
        per_k = np.full((n_boot, len(ks)), np.nan)
        for j, k in enumerate(ks):
            reps = []
            for sub in subsets[k]:
                cv = models.cross_validate(_subset_moments(d, sub, fs), y, splits,
                                           estimator=estimator, engine=engine, n_jobs=1)
                reps.append(cvstats.bootstrap_cv_replicates(cv.folds, 1))
            per_k[:, j] = np.nanmean(np.vstack(reps), axis=0)
        slopes = np.array([_slope(np.asarray(ks), per_k[b]) for b in range(n_boot)])
        rows.append({"cohort": d.cohort, "group": d.group, "feature_set": fs,
                     "boot_slopes": slopes})
    return rows


def curve_trend(designs: list, summary: pd.DataFrame, *, seed: int = models.DEFAULT_SEED,
                n_boot: int = TREND_BOOT, max_subsets: int = TREND_SUBSETS,
                estimator: str = "mle", n_splits: int = 10, engine: str = "auto",
                n_jobs: int = 1, quiet: bool = True) -> pd.DataFrame:
    """Slope of the annotator curve on ``k`` with a bootstrap-over-images interval.

    Parameters
    ----------
    designs : list of AbcDesign
        The groups of the curve.
    summary : DataFrame
        :attr:`AnnotatorResult.summary` (the estimate: the least-squares slope of
        ``repeat_mean_auc_mean`` on ``k``).
    n_boot : int
        Bootstrap replicates: images drawn with replacement within class, the
        cross-validation redone on each (folds over distinct images,
        :func:`analysis.statistics.cvstats.bootstrap_cv_splits`).
    max_subsets : int
        Annotator subsets per ``k`` in each replicate (a seeded sample; all when
        fewer).

    Returns
    -------
    DataFrame
        ``cohort, group, feature_set, k_min, k_max, slope, se, ci_low, ci_high,
        n_boot, direction`` ("rising" or "falling" when the 95% interval excludes 0,
        else "no trend shown").

    Notes
    -----
    The spread of the AUC over overlapping subsets of the same annotators on the same
    images is not a sampling SD: the subsets share annotators and images. The
    interval here resamples images, the source of sampling error, and refits
    everything inside each replicate; the subsets of a replicate are a subsample, which
    can only widen the interval.
    """
    from scipy import stats as st

    tasks = []
    for d in designs:
        ann = d.feature_annotators[d.features[0]]
        ks = list(range(2, len(ann) + 1))
        subsets = {k: annotator_subsets(ann, k, max_subsets=max_subsets,
                                        rng=_subset_rng(seed + 1, d.cohort, d.group, k))
                   for k in ks}
        tasks.append((d, ks, subsets, n_boot, _n_splits(d.labels, n_splits),
                      int(np.random.SeedSequence([seed, 7, zlib.crc32(
                          f"{d.cohort}/{d.group}".encode())]).generate_state(1)[0]),
                      estimator, engine))
    if n_jobs == 1 or len(tasks) <= 1:
        parts = [_trend_task(t) for t in progress(tasks, desc="annotator trend", quiet=quiet)]
    else:
        from analysis.fitting.engine import parallel_map_costliest_first

        parts = parallel_map_costliest_first(
            _trend_task, tasks, [len(t[1]) * t[0].n_images for t in tasks], n_jobs=n_jobs,
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
                         "k_max": int(gs["k"].max()), "slope": slope, "se": se,
                         "ci_low": lo, "ci_high": hi, "n_boot": int(b.size),
                         "direction": direction})
    return pd.DataFrame(rows, columns=["cohort", "group", "feature_set", "k_min", "k_max",
                                       "slope", "se", "ci_low", "ci_high", "n_boot",
                                       "direction"])


def annotator_curve(
    annotations,
    *,
    seed: int = models.DEFAULT_SEED,
    max_subsets: int = 30,
    repeats: int = CURVE_REPEATS,
    estimator: str = "mle",
    n_splits: int = 10,
    engine: str = "auto",
    n_jobs: int = 1,
    groups: list[tuple[str, str]] | None = None,
    trend_boot: int = TREND_BOOT,
    quiet: bool = False,
) -> AnnotatorResult:
    """AUC of the mean and sd features against the number of annotators ``k``.

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
        ``rows``: ``cohort, group, features, n_annotators, k, subset`` (e.g.
        ``"1-3-5"``), ``feature_set, estimator, auc`` (pooled out-of-fold AUC of the
        canonical split), ``fold_mean_auc`` (canonical split), ``repeat_mean_auc``
        (mean fold AUC averaged over all repeats), ``n_folds_separated``.
        ``summary``: per (group, k, feature set) ``n_subsets`` and the mean, sd, min
        and max over subsets of ``auc`` and of ``repeat_mean_auc``.

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
        plan.append(d)

    jobs = []
    for d in plan:
        ann = d.feature_annotators[d.features[0]]
        for k in range(2, len(ann) + 1):
            for sub in annotator_subsets(ann, k, max_subsets=max_subsets,
                                         rng=_subset_rng(seed, d.cohort, d.group, k)):
                jobs.append((d, k, sub))
    # one task per (group, k): its subsets share the group's splits; tasks run in
    # worker processes, each fitting in-process, so rows do not depend on n_jobs
    split_cache: dict[tuple[str, str], list] = {}
    tasks: dict[tuple[int, int], list] = {}
    for d, k, sub in jobs:
        key = (d.cohort, d.group)
        if key not in split_cache:
            split_cache[key] = models.stratified_splits(
                d.labels, n_splits=_n_splits(d.labels, n_splits), n_repeats=repeats, seed=seed)
        tasks.setdefault((id(d), k), [d, k, [], split_cache[key], estimator, engine])[2].append(sub)
    task_list = [tuple(t) for t in tasks.values()]
    if n_jobs == 1 or len(task_list) <= 1:
        parts = [_curve_task(t) for t in progress(task_list, desc="annotator subsets", quiet=quiet)]
    else:
        from analysis.fitting.engine import parallel_map_costliest_first

        parts = parallel_map_costliest_first(
            _curve_task, task_list, [len(t[2]) * t[0].n_images for t in task_list],
            n_jobs=n_jobs, wrap=lambda it: progress(it, desc="annotator subsets", quiet=quiet))
    rows = [row for part in parts for row in part]
    cols = ["cohort", "group", "features", "n_images", "n_melanoma", "n_annotators", "k", "subset",
            "feature_set", "estimator", "auc", "fold_mean_auc",
            "repeat_mean_auc", "n_folds_separated"]
    out = pd.DataFrame(rows, columns=cols)
    keys = ["cohort", "group", "n_annotators", "k", "feature_set"]
    summary = (out.groupby(keys, sort=True)
               .agg(n_subsets=("subset", "size"),
                    auc_mean=("auc", "mean"), auc_sd=("auc", "std"),
                    auc_min=("auc", "min"), auc_max=("auc", "max"),
                    repeat_mean_auc_mean=("repeat_mean_auc", "mean"),
                    repeat_mean_auc_sd=("repeat_mean_auc", "std"),
                    repeat_mean_auc_min=("repeat_mean_auc", "min"),
                    repeat_mean_auc_max=("repeat_mean_auc", "max"))
               .reset_index())
    skipped_df = pd.DataFrame(skipped, columns=["cohort", "group", "reason"])
    trend = (curve_trend(plan, summary, seed=seed, n_boot=trend_boot, estimator=estimator,
                         n_splits=n_splits, engine=engine, n_jobs=n_jobs, quiet=quiet)
             if trend_boot > 0 and plan else pd.DataFrame())
    extra = {"annotator_curve": {"trend_boot": trend_boot,
        "seed": seed, "max_subsets": max_subsets, "repeats": repeats, "estimator": estimator,
        "groups": [f"{d.cohort}/{d.group}" for d in plan], "n_subsets": len(jobs),
        "skipped": [f"{c}/{g}: {why}" for c, g, why in skipped],
        "elapsed_seconds": round(time.perf_counter() - t0, 3)}}
    return AnnotatorResult(rows=out, summary=summary, skipped=skipped_df, manifest_extra=extra,
                           trend=trend)


