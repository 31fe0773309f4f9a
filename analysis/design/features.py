"""Feature matrices of one annotating group: z-scored annotations, moments, feature sets.

The paper's pipeline for its "group 7" (2017-2018, six annotators x five features):

1. keep the images with no missing annotation (complete cases; the others are
   listed with the columns they miss);
2. z-score each annotation column (one column per feature x annotator) over the
   kept images;
3. experiment 1 feature sets: ``all`` columns, one set per feature type (its
   columns for every annotator) and one set per annotator (its columns for every
   feature type);
4. experiment 2: per feature type, the mean, standard deviation, skewness and
   kurtosis across annotators of the z-scored annotations, each then z-scored
   over images; sets ``moments_all``, ``mean``, ``sd``, ``skewness``, ``kurtosis``.

The same rules build the design of any multi-rater data set
(:func:`design_from_long`): units with unequal numbers of raters, raters that are
persons or positions, and feature sets built only where they are defined. The
paper's group 7 is one instance (:func:`group_design`, the complete-case rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..base import seeds

__all__ = [
    "DEGENERATE_VAR", "GROUP7_FEATURES", "GroupDesign", "LabelledImages",
    "MIN_RATERS_ALL_MOMENTS", "MOMENTS", "MOMENT_MIN_SCORES", "SKIPPED_COLUMNS",
    "design_from_long", "feature_sets", "group_design", "moments_across", "zscore",
    "rater_counts",
    "add_rater_count",
]


MOMENTS = ("mean", "sd", "skewness", "kurtosis")
#: Feature types of the paper's group 7, in the order of the paper's figures.
GROUP7_FEATURES = ("asymmetry", "border", "color", "dermoscopic_structures", "blue_glow")
#: Below this variance across annotators a moment of higher order is undefined.
DEGENERATE_VAR = 1e-12
#: Scores a moment needs to be defined: sd 2, skewness 3, kurtosis 4.
MOMENT_MIN_SCORES = {"mean": 1, "sd": 2, "skewness": 3, "kurtosis": 4}
#: Default ``min_raters`` of :func:`design_from_long`: every moment defined.
MIN_RATERS_ALL_MOMENTS = max(MOMENT_MIN_SCORES.values())
#: Columns of ``GroupDesign.skipped``.
SKIPPED_COLUMNS = ["feature_set", "reason"]


def zscore(frame: pd.DataFrame) -> pd.DataFrame:
    """Z-score each column (sample standard deviation, ddof=1).

    A constant column has no scale; it is returned as zeros (and so carries no
    information into a model), rather than as NaN.
    """
    mu = frame.mean(axis=0)
    sd = frame.std(axis=0, ddof=1)
    out = (frame - mu) / sd.where(sd > 0, 1.0)
    return out


def moments_across(values: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """First four moments of each row of ``values`` (images x annotators).

    Parameters
    ----------
    values : ndarray of shape (n_images, n_annotators)

    Returns
    -------
    moments : dict
        ``mean``; ``sd`` (ddof=1); ``skewness`` = m3 / m2**1.5 and ``kurtosis`` =
        m4 / m2**2 - 3 (excess kurtosis), with m_k the k-th central sample moment
        (divisor n, the usual biased estimators).
    degenerate : ndarray of bool
        Rows where all annotators gave the same value (m2 below ``DEGENERATE_VAR``).

    Notes
    -----
    Skewness and kurtosis are undefined when all annotators agree exactly (m2 = 0).
    Such rows get skewness 0 and kurtosis 0 (a symmetric distribution with no
    excess tail weight: "no disagreement" is no evidence of asymmetry); they are
    returned in ``degenerate`` so that callers can count them.
    """
    x = np.asarray(values, dtype=float)
    mean = x.mean(axis=1)
    dev = x - mean[:, None]
    m2 = np.mean(dev**2, axis=1)
    m3 = np.mean(dev**3, axis=1)
    m4 = np.mean(dev**4, axis=1)
    degenerate = m2 < DEGENERATE_VAR
    safe = np.where(degenerate, 1.0, m2)
    skew = np.where(degenerate, 0.0, m3 / safe**1.5)
    kurt = np.where(degenerate, 0.0, m4 / safe**2 - 3.0)
    sd = x.std(axis=1, ddof=1) if x.shape[1] > 1 else np.zeros(len(x))
    return {"mean": mean, "sd": sd, "skewness": skew, "kurtosis": kurt}, degenerate


class LabelledImages:
    """Sizes and labels of a design whose kept images' labels are the Series ``y``."""

    y: pd.Series

    @property
    def n_images(self) -> int:
        return int(len(self.y))

    @property
    def n_melanoma(self) -> int:
        return int(self.y.sum())

    @property
    def labels(self) -> np.ndarray:
        return self.y.to_numpy(dtype=int)


@dataclass
class GroupDesign(LabelledImages):
    """The analysis-ready data of one group (or of any multi-rater data set).

    Attributes
    ----------
    cohort, group : str
        Names of the data set (for a user's data: ``"user"`` and the file stem).
    features : tuple of str
        Feature types, in analysis order.
    annotators : tuple of str
        Rater ids (persons), or position numbers ``"1"``, ``"2"``, ... (positions).
    raw : DataFrame
        Kept units x annotation columns (``<feature>_<annotator>``), raw scores;
        NaN where a rater did not score a unit (never for the complete-case rule).
    z : DataFrame
        ``raw`` z-scored per column (persons) or per feature over all its cells
        (positions).
    y : Series
        Label (0/1) of each kept unit (named ``melanoma`` for ENHANCE).
    moments_raw, moments : DataFrame
        Moment features (``<moment>_<feature>``) before and after z-scoring.
    excluded : DataFrame
        Units left out, with the reason and the columns they miss.
    degenerate : DataFrame
        Per feature, the number of units whose raters all agree exactly (where
        skewness and kurtosis are set to 0).
    raters : {"persons", "positions"}
        What a rater id means.
    skipped : DataFrame
        Feature sets not built (``feature_set, reason``): per-rater sets where raters
        are positions or did not rate every kept unit; sets of rater columns with
        missing cells; moment sets that need more scores than some kept unit has.
    settings : dict
        How the design was built (rule, ``min_raters``, ``raters_per_unit``, seed).
    long : DataFrame or None
        The scores of every labelled unit, kept or excluded (``image_id, annotator,
        feature, score, label``, raters drawn and renumbered as in ``raw``), so that an analysis
        may rebuild units the design's rule left out (the multiverse's ``impute``
        choice); None for a design built by hand.
    groups : Series or None
        The group (e.g. patient) of every unit of the data set, kept or not, indexed by
        unit id; None when no grouping was given. With a grouping every fold plan keeps
        a group's units together (:attr:`group_codes`).
    """

    cohort: str
    group: str
    features: tuple[str, ...]
    annotators: tuple[str, ...]
    raw: pd.DataFrame
    z: pd.DataFrame
    y: pd.Series
    moments_raw: pd.DataFrame
    moments: pd.DataFrame
    excluded: pd.DataFrame
    degenerate: pd.DataFrame
    raters: str = "persons"
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIPPED_COLUMNS))
    settings: dict = field(default_factory=dict)
    long: pd.DataFrame | None = field(default=None, repr=False)
    groups: pd.Series | None = field(default=None, repr=False)
    sets: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        sets = feature_sets(self.features, self.annotators)
        self.sets = sets[~sets["feature_set"].isin(set(self.skipped["feature_set"]))].reset_index(
            drop=True)

    @property
    def group_codes(self) -> np.ndarray | None:
        """Integer code (0, 1, ... in sorted order of the group ids) of the group of each
        kept unit, aligned with ``y``; None without a grouping."""
        if self.groups is None:
            return None
        g = self.groups.reindex(self.y.index)
        if g.isna().any():
            raise ValueError(f"{int(g.isna().sum())} kept unit(s) have no group")
        return np.unique(g.astype(str).to_numpy(), return_inverse=True)[1].astype(np.int64)

    def columns(self, feature_set: str) -> list[str]:
        """Columns of a named feature set."""
        row = self.sets.loc[self.sets["feature_set"] == feature_set]
        if row.empty:
            why = self.skipped.loc[self.skipped["feature_set"] == feature_set, "reason"]
            if len(why):
                raise KeyError(f"feature set {feature_set!r} was not built: {why.iloc[0]}")
            raise KeyError(
                f"unknown feature set {feature_set!r}; known: {', '.join(self.sets['feature_set'])}"
            )
        return list(row.iloc[0]["columns"])

    def matrix(self, feature_set: str) -> np.ndarray:
        """Design matrix (images x columns, no intercept) of a named feature set."""
        cols = self.columns(feature_set)
        if RATER_COUNT in cols and cols[0] not in self.moments.columns:  # rater columns
            return np.column_stack([self.z[[c for c in cols if c != RATER_COUNT]]
                                    .to_numpy(dtype=float),
                                    self.moments[RATER_COUNT].to_numpy(dtype=float)])
        frame = self.moments if cols[0] in self.moments.columns else self.z
        return frame[cols].to_numpy(dtype=float)

#: Column (and feature set) of the number of raters of each unit
#: (:func:`add_rater_count`).
RATER_COUNT = "n_raters"
#: Ways the number of raters per unit enters an analysis (``rater_count=``,
#: ``--rater-count``): ``none`` (not at all: the paper's feature sets) or ``covariate``.
RATER_COUNT_CHOICES = ("none", "covariate")


def rater_counts(design: GroupDesign) -> pd.Series:
    """Number of raters who scored a kept unit (any feature), from ``raw``."""
    raw = design.raw
    scored = np.zeros(len(raw), dtype=int)
    for a in design.annotators:
        cols = [f"{f}_{a}" for f in design.features if f"{f}_{a}" in raw.columns]
        scored += raw[cols].notna().any(axis=1).to_numpy()
    return pd.Series(scored, index=raw.index, name=RATER_COUNT)


def add_rater_count(design: GroupDesign) -> str | None:
    """Add the number of raters of each unit as a covariate to every feature set.

    The count (:func:`rater_counts`) becomes the column :data:`RATER_COUNT` of
    ``moments_raw`` and, z-scored, of ``moments``; it is appended to the columns of every
    feature set, and a feature set ``n_raters`` (experiment 3, the count alone) is added.
    Every cvAUC, comparison and fitted model is then conditional on how many raters
    scored a unit: an increment of ``mean + sd`` over ``mean`` is the information of the
    disagreement beyond both the consensus and the count, so that a moment that only
    tracks how many raters looked (the sd of fewer scores varies more) adds nothing.

    Returns a note for the analysis when the count is the same for every kept unit
    (then nothing is added: it would be a constant column), else None. The design is
    changed in place (``settings["rater_count"]``).
    """
    counts = rater_counts(design)
    if counts.nunique() < 2:
        design.settings["rater_count"] = "none"
        return (f"the number of raters is {int(counts.iloc[0]) if len(counts) else 0} for "
                "every kept unit: it is not added as a covariate (it cannot confound)")
    design.moments_raw = design.moments_raw.assign(**{RATER_COUNT: counts.astype(float)})
    design.moments = design.moments.assign(**{RATER_COUNT: zscore(counts.astype(float)
                                                                  .to_frame())[RATER_COUNT]})
    sets = design.sets.copy()
    sets["columns"] = [list(c) + [RATER_COUNT] for c in sets["columns"]]
    extra = pd.DataFrame([(3, RATER_COUNT, "covariate", [RATER_COUNT])],
                         columns=["experiment", "feature_set", "kind", "columns"])
    sets = pd.concat([sets, extra], ignore_index=True)
    sets["n_features"] = sets["columns"].map(len)
    design.sets = sets
    design.settings["rater_count"] = "covariate"
    return None


def feature_sets(features: tuple[str, ...], annotators: tuple[str, ...]) -> pd.DataFrame:
    """Named feature sets of experiments 1 and 2.

    Returns
    -------
    DataFrame
        Columns ``experiment`` (1 or 2 as in the paper; 3 for the review's
        combinations ``mean+sd``, ``mean+skewness``, ``mean+kurtosis``),
        ``feature_set``, ``kind`` (all, feature, annotator, moments, moment,
        combination), ``columns`` (list of column names), ``n_features``.
    """
    rows = [(1, "all", "all", [f"{f}_{a}" for a in annotators for f in features])]
    rows += [(1, f, "feature", [f"{f}_{a}" for a in annotators]) for f in features]
    rows += [(1, f"annotator_{a}", "annotator", [f"{f}_{a}" for f in features]) for a in annotators]
    rows += [(2, "moments_all", "moments", [f"{m}_{f}" for m in MOMENTS for f in features])]
    rows += [(2, m, "moment", [f"{m}_{f}" for f in features]) for m in MOMENTS]
    # the statistical review (experiment 3) asks whether a disagreement moment adds
    # to the consensus: mean plus one moment
    rows += [(3, f"mean+{m}", "combination", [f"{x}_{f}" for x in ("mean", m) for f in features])
             for m in MOMENTS[1:]]
    out = pd.DataFrame(rows, columns=["experiment", "feature_set", "kind", "columns"])
    out["n_features"] = out["columns"].map(len)
    return out


def _annotator_key(a: str) -> tuple[int, str]:
    return (int(a), a) if str(a).isdigit() else (10**9, str(a))


def _moments_available(block: np.ndarray, order: str = "columns"
                       ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """:func:`moments_across` of each row over its non-missing values.

    Rows are grouped by their number of scores; within a group the scores keep
    their column order (``order="columns"``), so a block without missing values
    gives exactly :func:`moments_across`; or each row's scores are sorted ascending
    first (``order="sorted"``). The moments are symmetric in the scores, so the two
    orders differ only by rounding (a few units in the last place). Returns the
    moments, the degenerate flags and the number of scores of each row.
    """
    x = np.asarray(block, dtype=float)
    present = ~np.isnan(x)
    count = present.sum(axis=1)
    if order == "sorted":
        x = np.sort(x, axis=1)  # NaN sort last: each row's scores come first, ascending
        present = np.arange(x.shape[1])[None, :] < count[:, None]
    elif order != "columns":
        raise ValueError("order must be 'columns' or 'sorted'")
    if present.all():
        mom, degen = moments_across(x)
        return mom, degen, count
    out = {m: np.full(len(x), np.nan) for m in MOMENTS}
    degen = np.zeros(len(x), dtype=bool)
    for k in np.unique(count):
        rows = np.flatnonzero(count == k)
        if k == 0:
            continue
        packed = x[rows][present[rows]].reshape(len(rows), k)  # row-major: column order kept
        mom, dg = moments_across(packed)
        for m in MOMENTS:
            out[m][rows] = mom[m]
        degen[rows] = dg
    return out, degen, count


def _draw_raters(long: pd.DataFrame, features: tuple[str, ...], k: int, seed: int
                 ) -> tuple[pd.DataFrame, list[tuple]]:
    """Keep exactly ``k`` raters per unit, drawn among the raters who scored every
    feature of it; units with fewer such raters are returned as exclusions."""
    scored = long[long["score"].notna()]
    n_feat = scored.groupby(["image_id", "annotator"], sort=False)["feature"].nunique()
    full = n_feat[n_feat == len(features)].reset_index()
    by_unit = full.groupby("image_id", sort=False)["annotator"].agg(list)
    rng = seeds.rng("unit_raters", seed)
    chosen, excluded = [], []
    for unit in sorted(long["image_id"].unique()):
        cands = sorted(by_unit.get(unit, []), key=_annotator_key)
        if len(cands) < k:
            excluded.append((unit, f"fewer than {k} raters", 0, "",
                             f"{len(cands)} rater(s) scored every feature; {k} to draw"))
            continue
        pick = rng.choice(len(cands), size=k, replace=False)
        chosen += [(unit, cands[i]) for i in sorted(pick)]
    keep = pd.MultiIndex.from_tuples(chosen, names=["image_id", "annotator"])
    idx = pd.MultiIndex.from_frame(long[["image_id", "annotator"]])
    return long[idx.isin(keep)], excluded


def _to_positions(long: pd.DataFrame) -> pd.DataFrame:
    """Renumber the raters of each unit 1, 2, ... in the order of their ids: a position
    carries no identity, so only the number of raters of a unit matters."""
    pairs = long[["image_id", "annotator"]].drop_duplicates()
    pairs = pairs.assign(key=pairs["annotator"].map(_annotator_key))
    pairs = pairs.sort_values(["image_id", "key"], kind="stable")
    pairs["position"] = (pairs.groupby("image_id").cumcount() + 1).astype(str)
    out = long.merge(pairs[["image_id", "annotator", "position"]], on=["image_id", "annotator"])
    return out.drop(columns="annotator").rename(columns={"position": "annotator"})


def design_from_long(
    long: pd.DataFrame,
    labels: pd.Series,
    *,
    features: tuple[str, ...] | None = None,
    raters: Literal["persons", "positions"] = "persons",
    min_raters: int | None = None,
    raters_per_unit: int | None = None,
    seed: int = 2018,
    moment_rule: Literal["defined", "paper"] = "defined",
    moment_order: Literal["columns", "sorted"] = "columns",
    cohort: str = seeds.USER_COHORT,
    group: str = "data",
    label_name: str = "label",
) -> GroupDesign:
    """The analysis design of any multi-rater data set.

    Parameters
    ----------
    long : DataFrame
        One row per (unit, rater, feature): columns ``image_id`` (the unit),
        ``annotator`` (the rater), ``feature``, ``score`` (float; NaN = no score).
        Validated input (:mod:`analysis.design.dataset` checks files before this).
    labels : Series
        0/1 label indexed by unit id; units absent here are excluded ("no label").
    features : tuple of str, optional
        Feature types in order; default every feature in ``long``, sorted.
    raters : {"persons", "positions"}
        ``persons``: a rater id is the same person on every unit (per-rater columns,
        z-scored per column, per-rater feature sets). ``positions``: ids are slots
        filled by possibly different people (renumbered 1..n per unit, z-scored per
        feature over all cells, no per-rater sets).
    min_raters : int, optional
        Keep the units where every feature has at least this many scores. Default
        :data:`MIN_RATERS_ALL_MOMENTS` (4: every moment defined), or
        ``raters_per_unit`` when that is given.
    raters_per_unit : int, optional
        Draw exactly this many raters per unit (seeded), among the raters who scored
        every feature of the unit, so that moments are comparable across units.
    seed : int
        Seed of the draw (``SeedSequence([seed, 14])``, units in sorted order).
    moment_rule : {"defined", "paper"}
        ``defined``: a moment of a unit with fewer scores than it needs (sd 2,
        skewness 3, kurtosis 4) is NaN and the feature sets that use it are skipped.
        ``paper``: the formulas of :func:`moments_across` whatever the number of
        raters (the paper's pipeline; used by :func:`group_design`).
    moment_order : {"columns", "sorted"}
        Order in which a unit's scores enter the moments: the rater columns' order,
        or sorted ascending (the order of the replication's harmonised designs,
        :func:`analysis.studies.replication.group_abc_design`). The moments do not depend on
        it except by rounding.
    cohort, group, label_name : str
        Names carried by the design (``label_name`` names ``y``).

    Returns
    -------
    GroupDesign

    Notes
    -----
    Exclusion rule, in order, each unit listed once in ``excluded`` with its reason:
    (1) with ``raters_per_unit=K``, fewer than K raters who scored every feature:
    "fewer than K raters"; (2) a feature with fewer than ``min_raters`` scores:
    "missing annotation" when ``min_raters`` equals the number of (person) raters
    (the complete-case rule, with the missing columns), else "fewer than K raters"
    (with the count per feature); (3) no label: "no label".

    A rater column with fewer than two scores (or one value) over the kept units has
    no scale: its z-scores are 0, as in :func:`zscore`.

    Feature sets made of rater columns are built only where every kept unit has a
    score in each of their columns (``all``, each feature), and per-rater sets only
    for persons who rated every kept unit; every set not built is listed in
    ``skipped`` with the reason.
    """
    if raters not in ("persons", "positions"):
        raise ValueError("raters must be 'persons' or 'positions'")
    if features is None:
        features = tuple(sorted(set(long["feature"])))
    features = tuple(features)
    if min_raters is None:
        min_raters = raters_per_unit if raters_per_unit is not None else MIN_RATERS_ALL_MOMENTS
    if raters_per_unit is not None and min_raters > raters_per_unit:
        raise ValueError("min_raters cannot exceed raters_per_unit")
    sub = long[long["feature"].isin(features)]
    excluded = []
    if raters_per_unit is not None:
        sub, excluded = _draw_raters(sub, features, raters_per_unit, seed)
    if raters == "positions":
        sub = _to_positions(sub)
    annotators = tuple(sorted(sub["annotator"].astype(str).unique(), key=_annotator_key))
    wide = sub.pivot_table(
        index="image_id", columns=["feature", "annotator"], values="score", aggfunc="first",
        dropna=False,
    )
    cols = [(f, a) for a in annotators for f in features]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(cols))
    wide.columns = [f"{f}_{a}" for f, a in cols]
    wide = wide.sort_index()

    complete_rule = raters == "persons" and min_raters == len(annotators)
    counts = pd.DataFrame({f: wide[[f"{f}_{a}" for a in annotators]].notna().sum(axis=1)
                           for f in features})
    missing_cols = wide.isna()
    # only units that are excluded need a row of their own (a loop over every unit
    # costs ~0.3 ms per unit: 30 s at 10^5 units); same rows, same order
    shorts = counts < min_raters
    flagged = ((missing_cols.any(axis=1) if complete_rule else shorts.any(axis=1))
               | ~wide.index.isin(labels.index))
    for image_id in wide.index[flagged.to_numpy()]:
        miss = missing_cols.loc[image_id]
        short = shorts.loc[image_id]
        if complete_rule and miss.any():
            excluded.append((image_id, "missing annotation", int(miss.sum()),
                             ", ".join(miss.index[miss]), ""))
        elif not complete_rule and short.any():
            excluded.append((image_id, f"fewer than {min_raters} raters", int(short.sum()), "",
                             "; ".join(f"{f}: {counts.loc[image_id, f]}"
                                       for f in features if short[f])))
        elif image_id not in labels.index:
            excluded.append((image_id, "no label", 0, "", ""))
    excluded_df = pd.DataFrame(
        excluded, columns=["image_id", "reason", "n_missing", "missing_columns", "detail"])
    keep = wide.index.difference(excluded_df["image_id"])
    raw = wide.loc[keep].astype(float)
    y = labels.loc[keep].astype(int).rename(label_name)
    if raters == "persons":
        z = zscore(raw)
    else:
        z = raw.copy()
        for f in features:
            c = [f"{f}_{a}" for a in annotators]
            vals = raw[c].to_numpy(dtype=float)
            sd = np.nanstd(vals, ddof=1)
            z[c] = (raw[c] - np.nanmean(vals)) / (sd if sd > 0 else 1.0)

    mom_raw, degenerate, fewest = {}, {}, {}
    for f in features:
        block = z[[f"{f}_{a}" for a in annotators]].to_numpy()
        mom, degen, count = _moments_available(block, moment_order)
        fewest[f] = int(count.min()) if len(count) else 0
        for m in MOMENTS:
            v = mom[m]
            if moment_rule == "defined":
                v = np.where(count >= MOMENT_MIN_SCORES[m], v, np.nan)
            mom_raw[f"{m}_{f}"] = v
        degenerate[f] = int(degen.sum())
    order = [f"{m}_{f}" for m in MOMENTS for f in features]
    moments_raw = pd.DataFrame(mom_raw, index=raw.index)[order]
    degenerate_df = pd.DataFrame(
        {"feature": list(degenerate), "n_images_all_equal": list(degenerate.values())}
    )
    skipped = _skipped_sets(raw, features, annotators, raters, fewest, moment_rule)
    settings = {"raters": raters, "min_raters": int(min_raters),
                "raters_per_unit": raters_per_unit, "seed": int(seed),
                "moment_rule": moment_rule, "complete_case": bool(complete_rule)}
    if moment_order != "columns":
        settings["moment_order"] = moment_order
    return GroupDesign(
        cohort=cohort, group=group, features=features, annotators=annotators,
        raw=raw, z=z, y=y, moments_raw=moments_raw, moments=zscore(moments_raw),
        excluded=excluded_df, degenerate=degenerate_df, raters=raters, skipped=skipped,
        settings=settings,
        long=_labelled_long(sub, labels),
    )


def _labelled_long(sub: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """The scores of the labelled units with their label (``GroupDesign.long``)."""
    out = sub.loc[sub["image_id"].isin(labels.index),
                  ["image_id", "annotator", "feature", "score"]].reset_index(drop=True)
    out["label"] = labels.reindex(out["image_id"]).to_numpy().astype(int)
    return out


def _skipped_sets(raw: pd.DataFrame, features, annotators, raters: str, fewest: dict,
                  moment_rule: str) -> pd.DataFrame:
    """Feature sets of :func:`feature_sets` that are not defined for this design."""
    rows = []
    complete = raw.notna().all()
    if not complete.all():
        rows.append(("all", "some kept units lack a score in some rater column "
                            "(unequal raters per unit)"))
    for f in features:
        c = [f"{f}_{a}" for a in annotators]
        if not complete[c].all():
            rows.append((f, f"some kept units lack a score of {f} in some rater column"))
    for a in annotators:
        if raters == "positions":
            rows.append((f"annotator_{a}", "raters are positions, not persons: "
                                           "no per-rater feature set"))
        elif not complete[[f"{f}_{a}" for f in features]].all():
            n = int(raw[[f"{f}_{a}" for f in features]].notna().all(axis=1).sum())
            rows.append((f"annotator_{a}", f"rater {a} scored every feature of {n} of the "
                                           f"{len(raw)} kept units, not all"))
    if moment_rule == "defined":
        low = min(fewest.values()) if fewest else 0
        need = {m: MOMENT_MIN_SCORES[m] for m in MOMENTS}
        for m in MOMENTS:
            if low < need[m]:
                why = f"{m} needs {need[m]} scores; kept units have as few as {low}"
                rows.append((m, why))
                if m != "mean":
                    rows.append((f"mean+{m}", why))
        if low < max(need.values()):
            rows.append(("moments_all", f"kurtosis needs {need['kurtosis']} scores; kept units "
                                        f"have as few as {low}"))
    return pd.DataFrame(rows, columns=SKIPPED_COLUMNS)


def group_design(
    tidy: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    cohort: str = "2017-2018",
    group: str = "group07",
    features: tuple[str, ...] | None = None,
) -> GroupDesign:
    """Build the analysis data of one ENHANCE group from the tidy annotation table.

    A thin adapter: selects the group, then applies :func:`design_from_long` with
    the paper's rules (raters are persons; complete cases, i.e. ``min_raters`` =
    the number of annotators; moments by the paper's formulas).

    Parameters
    ----------
    tidy : DataFrame
        Tidy annotations (columns ``image_id, cohort, group, annotator, feature,
        score``; ``score`` NaN where the cell is missing or unparseable).
    labels : DataFrame
        Expert labels with columns ``image_id`` and ``melanoma``.
    cohort, group : str
        Which group; the default is the paper's group 7.
    features : tuple of str, optional
        Feature types to use, in order. Default: :data:`GROUP7_FEATURES` for group 7,
        else every feature the group annotated, sorted.

    Returns
    -------
    GroupDesign

    Notes
    -----
    Images are kept when every (feature, annotator) column has a score and an
    expert label exists; every other image is listed in ``excluded`` with the
    reason ("missing annotation" with the columns it misses, or "no expert
    label"), never dropped silently.
    """
    sub = tidy[(tidy["cohort"] == cohort) & (tidy["group"] == group)]
    if sub.empty:
        raise KeyError(f"no annotations for cohort {cohort!r}, group {group!r}")
    if features is None:
        present = set(sub["feature"])
        if (cohort, group) == ("2017-2018", "group07"):
            features = tuple(f for f in GROUP7_FEATURES if f in present)
        else:
            features = tuple(sorted(present))
    sub = sub[sub["feature"].isin(features)]
    n_annotators = sub["annotator"].astype(str).nunique()
    d = design_from_long(
        sub[["image_id", "annotator", "feature", "score"]],
        labels.set_index("image_id")["melanoma"], features=tuple(features), raters="persons",
        min_raters=n_annotators, moment_rule="paper", cohort=cohort, group=group,
        label_name="melanoma",
    )
    ex = d.excluded.drop(columns="detail")
    ex["reason"] = ex["reason"].replace({"no label": "no expert label"})
    d.excluded = ex
    return d
