"""The paper's figures, rebuilt with plotnine from tidy results.

Each function returns a plotnine ``ggplot`` (or a matplotlib figure for the
photographs of Figure 1); the report only displays them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotnine as p9
from scipy import stats

from ..base import paper, seeds
from ..design.features import GroupDesign
from ..loading import data
from ..statistics import inference
from ..studies import multiverse, replication
from .present import ESTIMATOR_LABELS

__all__ = [
    "CLASS_COLORS", "ESTIMATOR_COLORS", "ESTIMATOR_LABELS", "FEATURE_LABELS",
    "FEATURE_LETTERS", "FIGURE1_IMAGES", "SUBSET_COLORS", "annotator_plot", "calibration_plot",
    "coefficient_plot", "figure1", "figure2", "figure3", "figure4", "forest_auc",
    "forest_plot", "icc_plot", "pca_scores", "permutation_nulls", "power_plot", "qq_plot",
    "specification_curve", "table1", "term_label",
]


CLASS_COLORS = {"non-melanoma": "#4C72B0", "melanoma": "#C44E52"}
#: Short labels of the feature types, as the paper writes them.
FEATURE_LABELS = {
    "asymmetry": "Asymmetry", "border": "Border", "color": "Color",
    "dermoscopic_structures": "Dermoscopic\nstructures", "blue_glow": "Blue glow",
}
#: Letters of the paper's Table 1.
FEATURE_LETTERS = {
    "asymmetry": "A", "border": "B", "color": "C", "dermoscopic_structures": "D",
    "blue_glow": "G", "border_2": "B2", "color_categorised": "C2", "blood_vessels": "blood",
}
FEATURE_LETTERS = dict(sorted(FEATURE_LETTERS.items(), key=lambda kv: (kv[1][0], len(kv[1]))))
#: The four ISIC 2017 images of Figure 1 (ISIC_0000002 is a melanoma).
FIGURE1_IMAGES = ("ISIC_0000000", "ISIC_0000001", "ISIC_0000003", "ISIC_0000002")


def _class_label(y, names: tuple[str, str] = ("non-melanoma", "melanoma")) -> pd.Categorical:
    return pd.Categorical(np.where(np.asarray(y) == 1, names[1], names[0]),
                          categories=list(names))


def figure1(labels: pd.DataFrame, fetch=data.fetch):
    """Example non-melanoma and melanoma images (matplotlib figure).

    The class written under each image is read from the expert labels, not assumed.
    """
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    lab = labels.set_index("image_id")["melanoma"]
    order = sorted(FIGURE1_IMAGES, key=lambda i: (lab.get(i, 0), i))
    fig, axes = plt.subplots(1, len(order), figsize=(10, 3.0), layout="constrained")
    for ax, image_id in zip(axes, order, strict=True):
        ax.imshow(mpimg.imread(fetch(f"external/{image_id}.jpg")))
        ax.set_title(f"{image_id}\n{'melanoma' if lab.get(image_id) == 1 else 'non-melanoma'}",
                     fontsize=9)
        ax.axis("off")
    plt.close(fig)
    return fig


def table1(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 1 computed from the files beside the paper's.

    Parameters
    ----------
    summary : DataFrame
        ``Annotations.summary()``: per (cohort, group) ``images_per_annotator``,
        ``annotators_per_feature`` and ``features``.
    """
    ours = summary[summary["cohort"] == "2017-2018"].copy()
    ours["group"] = ours["group"].str.extract(r"(\d+)", expand=False).astype(int)
    order = list(FEATURE_LETTERS.values())
    ours["features_ours"] = ours["features"].map(
        lambda s: ", ".join(sorted(
            (FEATURE_LETTERS.get(f.strip(), f.strip()) for f in s.split(",")),
            key=lambda x: (order.index(x) if x in order else len(order), x)))
    )
    p = paper.paper_table1().rename(columns={
        "images_per_annotator": "paper_images_per_annotator",
        "annotators_per_feature": "paper_annotators_per_feature",
        "features": "paper_features"})
    out = p.merge(ours[["group", "n_images", "n_annotators", "images_per_annotator",
                        "annotators_per_feature", "features_ours"]], on="group", how="left")
    out["matches_paper"] = (
        (out["images_per_annotator"] == out["paper_images_per_annotator"])
        & (out["annotators_per_feature"] == out["paper_annotators_per_feature"])
        & (out["features_ours"] == out["paper_features"])
    )
    return out[["group", "n_images", "n_annotators", "images_per_annotator",
                "paper_images_per_annotator", "annotators_per_feature",
                "paper_annotators_per_feature", "features_ours", "paper_features",
                "matches_paper"]]


def pca_scores(design: GroupDesign, n_components: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    """Principal component scores of the z-scored annotations, with explained variance."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=n_components)
    sc = pca.fit_transform(design.z.to_numpy())
    frame = pd.DataFrame(sc[:, :2], columns=["PC1", "PC2"], index=design.z.index)
    frame["class"] = _class_label(design.y)
    return frame.reset_index(), pca.explained_variance_ratio_


def figure2(design: GroupDesign) -> p9.ggplot:
    """First two principal components of the 30 z-scored annotations, by class."""
    frame, evr = pca_scores(design)
    return (
        p9.ggplot(frame, p9.aes("PC1", "PC2", color="class", shape="class"))
        + p9.geom_point(size=2.2, alpha=0.85)
        + p9.scale_color_manual(values=CLASS_COLORS)
        + p9.labs(x=f"PC1 ({evr[0]:.0%} of variance)", y=f"PC2 ({evr[1]:.0%} of variance)",
                  color="", shape="")
        + p9.theme_bw() + p9.theme(figure_size=(5.5, 4), legend_position="top")
    )


def _set_label(name: str) -> str:
    if name.startswith("annotator_"):
        return "Ann. " + name.split("_", 1)[1]
    if name == "moments_all":
        return "All moments"
    if name == "sd":
        return "SD"
    return FEATURE_LABELS.get(name, name.replace("_", " ").capitalize())


def figure3(folds: pd.DataFrame, estimator: str = "mle", repeat: int = 0) -> p9.ggplot:
    """Fold AUC boxplots of experiments 1 and 2, the paper's value marked on each box.

    Parameters
    ----------
    folds : DataFrame
        Fold-level rows (``experiment, feature_set, estimator, repeat, fold, auc``).
    estimator : str
    repeat : int
        Which fold assignment to show (0 = canonical split, like the paper's one split).
    """
    f = folds[(folds["estimator"] == estimator) & (folds["repeat"] == repeat)
              & (folds["experiment"] <= 2)].copy()
    order = list(dict.fromkeys(f["feature_set"]))
    f["set"] = pd.Categorical(f["feature_set"].map(_set_label),
                              categories=[_set_label(s) for s in order])
    f["panel"] = np.where(f["experiment"] == 1, "Experiment 1: feature types and annotators",
                          "Experiment 2: moments across annotators")
    p = paper.paper_auc()
    p = p[p["feature_set"].isin(order)].copy()
    p["set"] = pd.Categorical(p["feature_set"].map(_set_label), categories=f["set"].cat.categories)
    p["panel"] = np.where(p["experiment"] == 1, "Experiment 1: feature types and annotators",
                          "Experiment 2: moments across annotators")
    single = p[p["paper_auc"].notna()]
    ranged = p[p["paper_auc"].isna()]
    return (
        p9.ggplot(f, p9.aes("set", "auc"))
        + p9.geom_hline(yintercept=0.5, linetype="dashed", color="grey")
        + p9.geom_boxplot(outlier_size=1, fill="#EAEAF2")
        + p9.geom_jitter(width=0.12, height=0, size=0.8, alpha=0.5)
        + p9.geom_point(p9.aes(y="paper_auc"), data=single, color="#C44E52", shape="D", size=3)
        + p9.geom_errorbar(p9.aes(x="set", ymin="paper_low", ymax="paper_high"), data=ranged,
                           inherit_aes=False, color="#C44E52", width=0.4)
        + p9.facet_wrap("panel", scales="free_x")
        + p9.labs(x="", y="Fold AUC (10-fold CV)")
        + p9.theme_bw()
        + p9.theme(figure_size=(11, 4.2), axis_text_x=p9.element_text(rotation=45, ha="right"))
    )


def figure4(design: GroupDesign,
            class_names: tuple[str, str] = ("non-melanoma", "melanoma")) -> p9.ggplot:
    """Distributions of the (z-scored) standard-deviation features by class.

    ``class_names`` (negative, positive) name the classes in the legend.
    """
    cols = [f"sd_{f}" for f in design.features]
    long = design.moments[cols].assign(cls=_class_label(design.y, class_names)).melt(
        id_vars="cls", var_name="feature", value_name="sd")
    long["feature"] = pd.Categorical(
        long["feature"].str.removeprefix("sd_").map(lambda s: FEATURE_LABELS.get(s, s)),
        categories=[FEATURE_LABELS.get(f, f) for f in design.features])
    return (
        p9.ggplot(long, p9.aes("sd", fill="cls"))
        + p9.geom_histogram(p9.aes(y=p9.after_stat("density")), bins=12, alpha=0.6,
                            position="identity")
        + p9.facet_wrap("feature", nrow=1)
        + p9.scale_fill_manual(values=dict(zip(class_names, CLASS_COLORS.values(), strict=True)))
        + p9.labs(x="SD across annotators (z-scored)", y="Density", fill="")
        + p9.theme_bw() + p9.theme(figure_size=(11, 3.2), legend_position="top")
    )


# --- statistical review -------------------------------------------------------------

SUBSET_COLORS = {"all": "#555555", **CLASS_COLORS}


def forest_auc(auc_ci: pd.DataFrame) -> p9.ggplot:
    """Cross-validated AUC of every feature set with its bootstrap-CV 95% interval,
    and the fold mean of the canonical split (the paper's statistic) as an open point."""
    d = auc_ci.copy()
    order = list(dict.fromkeys(d["feature_set"]))[::-1]
    d["set"] = pd.Categorical(d["feature_set"].map(_set_label).str.replace("\n", " "),
                              categories=[_set_label(s).replace("\n", " ") for s in order])
    d["estimator"] = pd.Categorical(d["estimator"], categories=["mle", "firth"])
    return (
        p9.ggplot(d, p9.aes(x="set", y="cv_auc", ymin="conf_low", ymax="conf_high"))
        + p9.geom_hline(yintercept=0.5, linetype="dashed", color="grey")
        + p9.geom_pointrange(size=0.35, fatten=2, color="#4C72B0")
        + p9.geom_point(p9.aes(y="fold_mean_auc"), shape="o", fill="none", color="#DD8452",
                        size=2)
        + p9.coord_flip()
        + p9.facet_wrap("estimator", labeller=p9.as_labeller(ESTIMATOR_LABELS))
        + p9.labs(y="cross-validated AUC (bootstrap-CV 95% CI); open: canonical split", x="")
        + p9.theme_bw() + p9.theme(figure_size=(10, 6))
    )


def permutation_nulls(null: pd.DataFrame, summary: pd.DataFrame) -> p9.ggplot:
    """Null distributions of the repeated-CV mean fold AUC under label permutation, observed marked."""
    order = [s for s in ("sd", "skewness", "kurtosis", "moments_all") if s in set(null["feature_set"])]
    order += sorted(set(null["feature_set"]) - set(order))
    names = {s: _set_label(s).replace("\n", " ") for s in order}
    est = {"mle": "MLE", "firth": "Firth"}

    def readable(f: pd.DataFrame) -> pd.DataFrame:  # facet labels as the text names them
        return f.assign(
            feature_set=pd.Categorical(f["feature_set"].map(names), categories=list(names.values())),
            estimator=pd.Categorical(f["estimator"].map(lambda e: est.get(e, e)),
                                     categories=[est.get(e, e) for e in dict.fromkeys(f["estimator"])]))

    null = readable(null)
    obs = readable(summary[summary["feature_set"].isin(order)])
    return (
        p9.ggplot(null, p9.aes("auc"))
        + p9.geom_histogram(bins=40, fill="#BBBBBB", color="white")
        + p9.geom_vline(p9.aes(xintercept="observed_auc"), data=obs, color="#C44E52", size=1)
        + p9.geom_text(p9.aes(x="observed_auc", y=np.inf, label="p_label"),
                       data=obs.assign(p_label=[f"p = {p:.4f} " for p in obs["p_value"]]),
                       ha="right", va="top", size=8, color="#C44E52")
        + p9.facet_grid("estimator ~ feature_set")
        + p9.labs(x="repeated-CV mean fold AUC with permuted labels (red: observed)",
                  y="permutations")
        + p9.theme_bw() + p9.theme(figure_size=(11, 4.5))
    )


def icc_plot(icc: pd.DataFrame, icc_type: str = "ICC2") -> p9.ggplot:
    """One ICC form per feature type, for all images and within each class, with 95% CI."""
    d = icc[icc["type"] == icc_type].copy()
    order = list(dict.fromkeys(d["feature"]))
    d["feature"] = pd.Categorical(
        d["feature"].map(lambda s: FEATURE_LABELS.get(s, s).replace("\n", " ")),
        categories=[FEATURE_LABELS.get(s, s).replace("\n", " ") for s in order])
    d["subset"] = pd.Categorical(d["subset"], categories=list(SUBSET_COLORS))
    return (
        p9.ggplot(d, p9.aes(x="feature", y="icc", ymin="conf_low", ymax="conf_high", color="subset"))
        + p9.geom_hline(yintercept=0, color="grey")
        + p9.geom_pointrange(position=p9.position_dodge(width=0.5))
        + p9.scale_color_manual(values=SUBSET_COLORS)
        + p9.labs(x="", y=f"{icc_type} (95% CI)", color="images")
        + p9.theme_bw() + p9.theme(figure_size=(9, 3.6), legend_position="top")
    )


# --- fitted models and calibration ---------------------------------------------------

ESTIMATOR_COLORS = {"plain maximum likelihood": "#4C72B0", "Firth": "#DD8452"}


def term_label(term: str) -> str:
    """Readable name of a model term: ``sd_border`` -> ``SD: Border``, ``border_3`` ->
    ``Border, annotator 3``, ``(Intercept)`` unchanged."""
    for m, lab in (("mean", "Mean"), ("sd", "SD"), ("skewness", "Skewness"),
                   ("kurtosis", "Kurtosis")):
        if term.startswith(m + "_"):
            f = term[len(m) + 1:]
            return f"{lab}: {FEATURE_LABELS.get(f, f).replace(chr(10), ' ')}"
    head, _, tail = term.rpartition("_")
    if head in FEATURE_LABELS and tail.isdigit():
        return f"{FEATURE_LABELS[head].replace(chr(10), ' ')}, annotator {tail}"
    return term


def coefficient_plot(tidy: pd.DataFrame, feature_set: str = "mean+sd",
                     estimators: tuple[str, ...] = ("mle", "firth")) -> p9.ggplot:
    """Odds ratios per SD of each feature with 95% profile intervals, log axis.

    Parameters
    ----------
    tidy : DataFrame
        :func:`analysis.statistics.coefficients.tidy_models` rows.
    feature_set : str
        Which model to draw (the intercept is left out).
    estimators : tuple of str
        One panel per estimator, each with its own odds-ratio range (the plain MLE of a
        nearly separated model has odds ratios many orders of magnitude from 1).

    Notes
    -----
    Terms without an estimate (the MLE does not exist under separation) are left out;
    so are interval ends that are infinite or undetermined (only the point is drawn),
    which the caption of the report should say.
    """
    d = tidy[(tidy["feature_set"] == feature_set) & (tidy["term"] != "(Intercept)")
             & tidy["estimator"].isin(estimators)].copy()
    d = d[np.isfinite(d["odds_ratio"]) & (d["odds_ratio"] > 0)]
    order = list(dict.fromkeys(d["term"]))[::-1]
    d["term_label"] = pd.Categorical(d["term"].map(term_label),
                                     categories=[term_label(t) for t in order])
    labels = [ESTIMATOR_LABELS.get(e, e) for e in estimators]
    d["estimator"] = pd.Categorical(d["estimator"].map(ESTIMATOR_LABELS).fillna(d["estimator"]),
                                    categories=labels)
    ok = np.isfinite(d["odds_ratio_conf_low"]) & np.isfinite(d["odds_ratio_conf_high"]) & (d["odds_ratio_conf_low"] > 0)
    return (
        p9.ggplot(d, p9.aes(y="term_label", x="odds_ratio"))
        + p9.geom_vline(xintercept=1, linetype="dashed", color="grey")
        + p9.geom_errorbarh(p9.aes(xmin="odds_ratio_conf_low", xmax="odds_ratio_conf_high"), data=d[ok],
                            height=0.25, color="#4C72B0")
        + p9.geom_point(size=2, color="#4C72B0")
        + p9.scale_x_log10()
        + p9.facet_wrap("estimator", scales="free_x")
        + p9.labs(y="", x="Odds ratio per SD of the feature (95% profile-likelihood CI, log scale)")
        + p9.theme_bw() + p9.theme(figure_size=(9, 0.35 * len(order) + 1.4))
    )


def calibration_plot(bins: pd.DataFrame, curve: pd.DataFrame | None = None,
                     facet: str = "feature_set ~ estimator") -> p9.ggplot:
    """Observed against predicted probability: binned points with intervals, lowess line.

    Parameters
    ----------
    bins : DataFrame
        Long frame of :func:`analysis.statistics.calibration.calibration_bins` rows with the
        columns named in ``facet`` (e.g. ``feature_set``, ``estimator``).
    curve : DataFrame, optional
        Long frame of :func:`analysis.statistics.calibration.calibration_curve` rows, same keys.
    facet : str
        plotnine ``facet_grid`` formula; ``""`` for one panel.
    """
    b = bins.copy()
    if "estimator" in b:
        b["estimator"] = b["estimator"].map(ESTIMATOR_LABELS).fillna(b["estimator"])
    if "feature_set" in b:
        b["feature_set"] = b["feature_set"].map(lambda s: _set_label(s).replace("\n", " "))
    p = (
        p9.ggplot(b, p9.aes("predicted", "observed"))
        + p9.geom_abline(intercept=0, slope=1, linetype="dashed", color="grey")
        + p9.geom_errorbar(p9.aes(ymin="obs_low", ymax="obs_high"), width=0.02, color="#4C72B0")
        + p9.geom_point(color="#4C72B0", size=2)
        + p9.coord_cartesian(xlim=(0, 1), ylim=(0, 1))
        + p9.labs(x="Predicted probability (out of fold)", y="Observed frequency of melanoma")
        + p9.theme_bw() + p9.theme(figure_size=(7, 7))
    )
    if curve is not None:
        c = curve.copy()
        if "estimator" in c:
            c["estimator"] = c["estimator"].map(ESTIMATOR_LABELS).fillna(c["estimator"])
        if "feature_set" in c:
            c["feature_set"] = c["feature_set"].map(lambda s: _set_label(s).replace("\n", " "))
        p = p + p9.geom_line(data=c, color="#C44E52")
    if facet:
        p = p + p9.facet_grid(facet)
    return p


# --- replication, annotator curve, multiverse and simulation ---------------------------

_QUANTITY_LABELS = {
    "auc_mean_minus_sd": ("cvAUC(mean) - cvAUC(sd) (paired bootstrap-CV 95% CI)", 0.0),
    "auc_sd_minus_half": ("cvAUC of the sd features (bootstrap-CV 95% CI)", 0.5),
}
_SOURCE_COLORS = {"student": "#4C72B0", "mturk": "#C44E52", "pooled": "#222222"}


def forest_plot(result: replication.ReplicationResult, quantity: str = "auc_sd_minus_half",
                scopes: tuple[str, ...] = ("students", "students_and_mturk")) -> p9.ggplot:
    """Forest plot of one meta-analysed quantity.

    Parameters
    ----------
    result : ReplicationResult
    quantity : {"auc_sd_minus_half", "auc_mean_minus_sd"}
        For ``auc_sd_minus_half`` the axis shows the AUC itself (estimate + 0.5),
        with the line of no discrimination at 0.5.
    scopes : tuple of str
        Pooled rows to draw (diamonds), from ``result.meta`` (its ``primary`` rows:
        overlap model, Hartung-Knapp interval).

    Returns
    -------
    plotnine.ggplot
        One row per group (student groups in blue, MTurk in red) with its 95% CI,
        then one diamond per pooled estimate (width = its CI).
    """
    if quantity not in _QUANTITY_LABELS:
        raise ValueError(f"quantity must be one of {tuple(_QUANTITY_LABELS)}")
    xlab, ref = _QUANTITY_LABELS[quantity]
    shift = 0.5 if quantity == "auc_sd_minus_half" else 0.0
    st = replication.meta_studies(result.groups, result.differences)
    st = st[st["quantity"] == quantity].copy()
    st = (st.assign(_o=(st["source"] == "mturk").astype(int))
          .sort_values(["_o", "cohort", "group"]).drop(columns="_o"))
    z = inference._z(0.05)
    st["est"] = st["yi"] + shift
    st["low"] = st["yi"] - z * np.sqrt(st["vi"]) + shift
    st["high"] = st["yi"] + z * np.sqrt(st["vi"]) + shift
    st["label"] = np.where(st["source"] == "mturk", "MTurk (ISIC)",
                           st["cohort"] + " " + st["group"].str.replace("group", "group "))
    meta = result.meta[(result.meta["quantity"] == quantity)
                       & result.meta["scope"].isin(scopes)]
    if "primary" in meta.columns:
        meta = meta[meta["primary"]]
    meta = meta.copy()
    meta = meta.set_index("scope").loc[[s for s in scopes if s in set(meta["scope"])]]
    n_st, n_me = len(st), len(meta)
    st["ypos"] = np.arange(n_st + n_me + 1, n_me + 1, -1, dtype=float)[:n_st]
    meta = meta.reset_index()
    meta["ypos"] = np.arange(n_me, 0, -1, dtype=float)
    meta["label"] = "Pooled: " + meta["scope"].map({
        "students": "student groups", "students_excl_group07": "students without group 7",
        "students_and_mturk": "students + MTurk", "mturk": "MTurk",
        "disjoint": "groups sharing no image"}) + " (k=" + meta["k"].astype(
        str) + ", I\u00b2=" + meta["i2"].round(0).astype("Int64").astype(str) + "%)"
    diamonds = pd.concat([
        pd.DataFrame({"x": [r.conf_low + shift, r.estimate + shift, r.conf_high + shift,
                            r.estimate + shift],
                      "y": [r.ypos, r.ypos + 0.35, r.ypos, r.ypos - 0.35], "id": i})
        for i, r in enumerate(meta.itertuples(index=False))
    ], ignore_index=True) if n_me else pd.DataFrame({"x": [], "y": [], "id": []})
    breaks = list(st["ypos"]) + list(meta["ypos"])
    labels = list(st["label"]) + list(meta["label"])
    return (
        p9.ggplot()
        + p9.geom_vline(xintercept=ref, linetype="dashed", color="grey")
        + p9.geom_errorbarh(p9.aes(y="ypos", xmin="low", xmax="high", color="source"),
                            data=st, height=0.3)
        + p9.geom_point(p9.aes(x="est", y="ypos", color="source"), data=st, size=2)
        + p9.geom_polygon(p9.aes(x="x", y="y", group="id"), data=diamonds,
                          fill=_SOURCE_COLORS["pooled"])
        + p9.scale_y_continuous(breaks=breaks, labels=labels)
        + p9.scale_color_manual(values=_SOURCE_COLORS, name="",
                                labels={"student": "student group", "mturk": "MTurk"})
        + p9.labs(x=xlab, y="")
        + p9.theme_bw()
        + p9.theme(figure_size=(7, 0.25 * (n_st + n_me) + 1.5), legend_position="bottom")
    )



def annotator_plot(result: replication.AnnotatorResult, metric: str = "repeat_mean_auc",
                   x_label: str = "annotators per image (k)") -> p9.ggplot:
    """AUC against the number of annotators, mean and sd features on one plot.

    Parameters
    ----------
    result : AnnotatorResult
    metric : {"auc", "repeat_mean_auc"}
        Pooled out-of-fold AUC of the canonical split, or mean fold AUC over repeats.
    x_label : str
        The x axis's title (a user's data: "raters per unit (k)"). A user's data set
        (cohort "user") is named by its name alone in its panel.

    Returns
    -------
    plotnine.ggplot
        Per feature set, the mean over subsets (line and points), the min-max range
        over subsets (ribbon) and mean +- sd (error bars); one facet per group.
    """
    s = result.summary.copy()
    head = (s["cohort"] + "\n").where(s["cohort"] != seeds.USER_COHORT, "")
    s["panel"] = (head + s["group"].str.replace("group", "group ")
                  + " (K=" + s["n_annotators"].astype(str) + ")")
    m, sd = f"{metric}_mean", f"{metric}_sd"
    s["lo"] = s[m] - s[sd].fillna(0)
    s["hi"] = s[m] + s[sd].fillna(0)
    ylab = {"auc": "cross-validated AUC (all repeats)",
            "repeat_mean_auc": "mean fold AUC over repeats"}[metric]
    return (
        p9.ggplot(s, p9.aes(x="k", y=m, color="feature_set", fill="feature_set"))
        + p9.geom_hline(yintercept=0.5, linetype="dashed", color="grey")
        + p9.geom_ribbon(p9.aes(ymin=f"{metric}_min", ymax=f"{metric}_max"), alpha=0.15,
                         color="none")
        + p9.geom_errorbar(p9.aes(ymin="lo", ymax="hi"), width=0.15)
        + p9.geom_line()
        + p9.geom_point()
        + p9.facet_wrap("panel", ncol=4)
        + p9.scale_color_manual(values={"mean": "#4C72B0", "sd": "#DD8452"}, name="features")
        + p9.scale_fill_manual(values={"mean": "#4C72B0", "sd": "#DD8452"}, name="features")
        + p9.labs(x=x_label, y=ylab)
        + p9.theme_bw()
        + p9.theme(figure_size=(10, 2.2 * math.ceil(s["panel"].nunique() / 4) + 1),
                   legend_position="bottom")
    )



_CLAIM_LABELS = {"C4": "C4: AUC(mean) - AUC(disagreement)", "C5": "C5: AUC(disagreement)"}
_VERDICT_COLORS = {"supported": "#1b7837", "not shown": "#999999", "not supported": "#c51b7d"}


def specification_curve(frame: pd.DataFrame, claim: str = "C5"):
    """Specification curve of one claim: estimates sorted, with the choices beneath.

    Parameters
    ----------
    frame : DataFrame
        Rows of :func:`multiverse`.
    claim : {"C4", "C5"}

    Returns
    -------
    plotnine composition (or ggplot)
        Top: each path's estimate with its 95% CI, sorted, coloured by verdict, the
        paper's path marked by a ring; reference line at no effect (0 for C4, 0.5 for
        C5). Bottom: one row per choice level, a tile where the path uses it.
    """
    g = frame[frame["claim"] == claim].sort_values(["estimate", "path_id"]).reset_index(drop=True)
    g["rank"] = np.arange(1, len(g) + 1)
    ref = 0.0 if claim == "C4" else 0.5
    g["verdict"] = pd.Categorical(g["verdict"], list(_VERDICT_COLORS))
    top = (
        p9.ggplot(g, p9.aes("rank", "estimate", color="verdict"))
        + p9.geom_hline(yintercept=ref, linetype="dashed", color="#444444")
        + p9.geom_linerange(p9.aes(ymin="conf_low", ymax="conf_high"), alpha=0.5)
        + p9.geom_point(size=1.2)
        + p9.geom_point(data=g[g["is_paper"]], color="black", fill="none", size=4, stroke=0.8)
        + p9.scale_color_manual(values=_VERDICT_COLORS, drop=False)
        + p9.labs(x="", y=_CLAIM_LABELS.get(claim, claim), color="verdict")
        + p9.theme_bw()
        + p9.theme(axis_text_x=p9.element_blank(), figure_size=(9, 3.2), legend_position="top")
    )
    tiles = []
    for ch, levels in multiverse.CHOICES.items():
        for lv in levels:
            tiles.append(pd.DataFrame({"rank": g["rank"], "row": f"{ch}: {lv}",
                                       "used": g[ch] == lv, "choice": ch}))
    t = pd.concat(tiles, ignore_index=True)
    order = [f"{ch}: {lv}" for ch, levels in multiverse.CHOICES.items() for lv in levels]
    t["row"] = pd.Categorical(t["row"], list(reversed(order)))
    bottom = (
        p9.ggplot(t[t["used"]], p9.aes("rank", "row", fill="choice"))
        + p9.geom_tile(height=0.8, width=1)
        + p9.labs(x="paths, sorted by estimate", y="")
        + p9.scale_y_discrete(drop=False)
        + p9.theme_bw()
        + p9.theme(legend_position="none", figure_size=(9, 3.6), axis_text_y=p9.element_text(size=7))
    )
    try:
        return top / bottom
    except TypeError:  # plotnine without composition
        return top, bottom

def qq_plot(studies: pd.DataFrame, model: str = "generative null"):
    """QQ plot of permutation p-values against U(0, 1), with a 95% pointwise band."""
    p = np.sort(studies.loc[studies["model"] == model, "p_value"].to_numpy())
    n = len(p)
    i = np.arange(1, n + 1)
    d = pd.DataFrame({"expected": i / (n + 1), "observed": p,
                      "low": stats.beta.ppf(0.025, i, n + 1 - i),
                      "high": stats.beta.ppf(0.975, i, n + 1 - i)})
    return (p9.ggplot(d, p9.aes("expected", "observed"))
            + p9.geom_ribbon(p9.aes(ymin="low", ymax="high"), fill="#cccccc", alpha=0.6)
            + p9.geom_abline(intercept=0, slope=1, linetype="dashed")
            + p9.geom_point(size=1)
            + p9.labs(x="expected p (uniform quantiles)", y="observed permutation p")
            + p9.theme_bw() + p9.theme(figure_size=(4.5, 4.5)))


def power_plot(summary: pd.DataFrame):
    """Power against the number of images, one line per number of annotators."""
    d = summary.assign(annotators=summary["n_annotators"].astype(str))
    return (p9.ggplot(d, p9.aes("n_images", "power", color="annotators", group="annotators"))
            + p9.geom_hline(yintercept=0.8, linetype="dotted")
            + p9.geom_line() + p9.geom_point()
            + p9.geom_errorbar(p9.aes(ymin="power_conf_low", ymax="power_conf_high"), width=0.04)
            + p9.scale_x_log10(breaks=sorted(d["n_images"].unique()))
            + p9.labs(x="images (log scale)", y="power (p < 0.05)", color="annotators")
            + p9.theme_bw() + p9.theme(figure_size=(6, 4)))
