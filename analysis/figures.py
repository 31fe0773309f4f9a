"""The paper's figures, rebuilt with plotnine from tidy results.

Each function returns a plotnine ``ggplot`` (or a matplotlib figure for the
photographs of Figure 1); the report only displays them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotnine as p9

from . import data, paper
from .features import GroupDesign

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


def _class_label(y) -> pd.Categorical:
    return pd.Categorical(np.where(np.asarray(y) == 1, "melanoma", "non-melanoma"),
                          categories=["non-melanoma", "melanoma"])


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


def figure4(design: GroupDesign) -> p9.ggplot:
    """Distributions of the (z-scored) standard-deviation features by class."""
    cols = [f"sd_{f}" for f in design.features]
    long = design.moments[cols].assign(cls=_class_label(design.y)).melt(
        id_vars="cls", var_name="feature", value_name="sd")
    long["feature"] = pd.Categorical(
        long["feature"].str.removeprefix("sd_").map(lambda s: FEATURE_LABELS.get(s, s)),
        categories=[FEATURE_LABELS.get(f, f) for f in design.features])
    return (
        p9.ggplot(long, p9.aes("sd", fill="cls"))
        + p9.geom_histogram(p9.aes(y=p9.after_stat("density")), bins=12, alpha=0.6,
                            position="identity")
        + p9.facet_wrap("feature", nrow=1)
        + p9.scale_fill_manual(values=CLASS_COLORS)
        + p9.labs(x="SD across annotators (z-scored)", y="Density", fill="")
        + p9.theme_bw() + p9.theme(figure_size=(11, 3.2), legend_position="top")
    )


# --- statistical review -------------------------------------------------------------

SUBSET_COLORS = {"all": "#555555", **CLASS_COLORS}


def forest_auc(auc_ci: pd.DataFrame) -> p9.ggplot:
    """Pooled out-of-fold AUC of every feature set with DeLong and BCa 95% CIs."""
    d = auc_ci[auc_ci["boot_method"] == "bca"].copy()
    order = list(dict.fromkeys(d["feature_set"]))[::-1]
    d["set"] = pd.Categorical(d["feature_set"].map(_set_label).str.replace("\n", " "),
                              categories=[_set_label(s).replace("\n", " ") for s in order])
    d["estimator"] = pd.Categorical(d["estimator"], categories=["mle", "firth"])
    long = pd.concat([
        d.assign(interval="DeLong", low=d["delong_low"], high=d["delong_high"]),
        d.assign(interval="bootstrap BCa", low=d["boot_low"], high=d["boot_high"]),
    ])
    return (
        p9.ggplot(long, p9.aes(x="set", y="auc_pooled", ymin="low", ymax="high", color="interval"))
        + p9.geom_hline(yintercept=0.5, linetype="dashed", color="grey")
        + p9.geom_pointrange(position=p9.position_dodge(width=0.6), size=0.35, fatten=2)
        + p9.coord_flip()
        + p9.facet_wrap("estimator", labeller=p9.as_labeller(
            {"mle": "plain maximum likelihood", "firth": "Firth"}))
        + p9.scale_color_manual(values={"DeLong": "#4C72B0", "bootstrap BCa": "#DD8452"})
        + p9.labs(y="AUC of pooled out-of-fold scores (95% CI)", x="", color="")
        + p9.theme_bw() + p9.theme(figure_size=(10, 6), legend_position="top")
    )


def permutation_nulls(null: pd.DataFrame, summary: pd.DataFrame) -> p9.ggplot:
    """Null distributions of the fold-mean AUC under label permutation, observed marked."""
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
        + p9.labs(x="mean fold AUC with permuted labels (red: observed)", y="permutations")
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
        p9.ggplot(d, p9.aes(x="feature", y="icc", ymin="ci_low", ymax="ci_high", color="subset"))
        + p9.geom_hline(yintercept=0, color="grey")
        + p9.geom_pointrange(position=p9.position_dodge(width=0.5))
        + p9.scale_color_manual(values=SUBSET_COLORS)
        + p9.labs(x="", y=f"{icc_type} (95% CI)", color="images")
        + p9.theme_bw() + p9.theme(figure_size=(9, 3.6), legend_position="top")
    )
