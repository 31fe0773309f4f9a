"""Frozen reference: ``analysis.design.features.group_design`` as it was before the general
builder (commit 18ac825), kept verbatim so that a test can show the general path gives
exactly the same design for group 7. Not used by the package."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MOMENTS = ("mean", "sd", "skewness", "kurtosis")
#: Feature types of the paper's group 7, in the order of the paper's figures.
GROUP7_FEATURES = ("asymmetry", "border", "color", "dermoscopic_structures", "blue_glow")
#: Below this variance across annotators a moment of higher order is undefined.
DEGENERATE_VAR = 1e-12


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
    """The analysis-ready data of one group.

    Attributes
    ----------
    cohort, group : str
    features : tuple of str
        Feature types, in analysis order.
    annotators : tuple of str
    raw : DataFrame
        Complete images x annotation columns (``<feature>_<annotator>``), raw scores.
    z : DataFrame
        ``raw`` z-scored per column.
    y : Series
        Melanoma label (0/1) of each kept image.
    moments_raw, moments : DataFrame
        Moment features (``<moment>_<feature>``) before and after z-scoring.
    excluded : DataFrame
        Images left out, with the reason and the columns they miss.
    degenerate : DataFrame
        Per feature, the number of images whose annotators all agree exactly (where
        skewness and kurtosis are set to 0).
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
    sets: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.sets = feature_sets(self.features, self.annotators)

    def columns(self, feature_set: str) -> list[str]:
        """Columns of a named feature set."""
        row = self.sets.loc[self.sets["feature_set"] == feature_set]
        if row.empty:
            raise KeyError(
                f"unknown feature set {feature_set!r}; known: {', '.join(self.sets['feature_set'])}"
            )
        return list(row.iloc[0]["columns"])

    def matrix(self, feature_set: str) -> np.ndarray:
        """Design matrix (images x columns, no intercept) of a named feature set."""
        cols = self.columns(feature_set)
        frame = self.moments if cols[0] in self.moments.columns else self.z
        return frame[cols].to_numpy(dtype=float)


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


def group_design(
    tidy: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    cohort: str = "2017-2018",
    group: str = "group07",
    features: tuple[str, ...] | None = None,
) -> GroupDesign:
    """Build the analysis data of one group from the tidy annotation table.

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
    reason, never dropped silently.
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
    annotators = tuple(sorted(sub["annotator"].astype(str).unique(), key=_annotator_key))
    wide = sub.pivot_table(
        index="image_id", columns=["feature", "annotator"], values="score", aggfunc="first",
        dropna=False,
    )
    cols = [(f, a) for a in annotators for f in features]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(cols))
    wide.columns = [f"{f}_{a}" for f, a in cols]
    wide = wide.sort_index()

    lab = labels.set_index("image_id")["melanoma"]
    missing_cols = wide.isna()
    excluded = []
    for image_id, miss in missing_cols.iterrows():
        if miss.any():
            excluded.append((image_id, "missing annotation", int(miss.sum()),
                             ", ".join(miss.index[miss])))
        elif image_id not in lab.index:
            excluded.append((image_id, "no expert label", 0, ""))
    excluded_df = pd.DataFrame(excluded, columns=["image_id", "reason", "n_missing", "missing_columns"])
    keep = wide.index.difference(excluded_df["image_id"])
    raw = wide.loc[keep].astype(float)
    y = lab.loc[keep].astype(int).rename("melanoma")
    z = zscore(raw)

    mom_raw = {}
    degenerate = {}
    for f in features:
        block = z[[f"{f}_{a}" for a in annotators]].to_numpy()
        mom, degen = moments_across(block)
        for m in MOMENTS:
            mom_raw[f"{m}_{f}"] = mom[m]
        degenerate[f] = int(degen.sum())
    order = [f"{m}_{f}" for m in MOMENTS for f in features]
    moments_raw = pd.DataFrame(mom_raw, index=raw.index)[order]
    degenerate_df = pd.DataFrame(
        {"feature": list(degenerate), "n_images_all_equal": list(degenerate.values())}
    )
    return GroupDesign(
        cohort=cohort, group=group, features=tuple(features), annotators=annotators,
        raw=raw, z=z, y=y, moments_raw=moments_raw, moments=zscore(moments_raw),
        excluded=excluded_df, degenerate=degenerate_df,
    )
