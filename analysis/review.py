"""Statistical review of the paper's claims on group 7.

Each function returns a tidy DataFrame; :func:`review` runs them all and
:func:`claims_table` turns the evidence into one verdict per claim, by the rules in
:data:`VERDICT_RULES`.

The claims (Cheplygina & Pluim 2018, Section 3):

C1  crowd visual assessments predict melanoma (all 30 features, AUC 0.96);
C2  the feature types differ, color best (0.93), then border and dermoscopic structures;
C3  every single annotator predicts well (0.90-0.98);
C4  the mean (consensus) performs best (0.99): removing disagreement works best;
C5  disagreement alone is better than random (sd 0.71, skewness 0.73);
C6  the disagreement results vary strongly across folds, and in some folds they hurt;
C7  for asymmetry, border, color and dermoscopic structures, non-melanoma images more
    often show high disagreement (the crowd agrees more on melanomas).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import agreement, inference, models, reproduce
from .features import MOMENTS, GroupDesign
from .progress import progress

DEFAULT_BOOT = 2000
DEFAULT_PERMUTATIONS = 2000
ALPHA = 0.05
#: Feature sets whose "better than random" claim is tested by permutation.
PERMUTATION_SETS = ("sd", "skewness", "kurtosis", "moments_all")
#: Disagreement moments (the paper's experiment 2 without the mean).
DISAGREEMENT = ("sd", "skewness", "kurtosis")

CLAIMS = {
    "C1": "Crowd visual assessments predict melanoma (all 30 features, AUC 0.96)",
    "C2": "Feature types differ; color is best (0.93), then border (0.82) and dermoscopic "
          "structures (0.81)",
    "C3": "Every single annotator predicts well (AUC 0.90-0.98)",
    "C4": "The mean (consensus) performs best (0.99): removing disagreement works best",
    "C5": "Disagreement alone is better than random (sd 0.71, skewness 0.73)",
    "C6": "Disagreement results vary strongly across folds; in some folds they hurt",
    "C7": "For asymmetry, border, color and dermoscopic structures, non-melanoma images "
          "more often show high disagreement",
}

VERDICT_RULES = """\
A claim is **supported** when the evidence it needs is there under both estimators:
an effect in the claimed direction with a two-sided 95% interval that excludes no
effect, or a test significant at 5% (Holm-adjusted within a claim that makes several
comparisons). It is **not supported** when, under both estimators, that evidence is
absent or points the other way. It is **inconclusive** when the evidence is mixed:
only part of a compound claim holds, or the verdict depends on the estimator (plain
maximum likelihood or Firth). Pooled AUCs use the out-of-fold scores of the canonical
10-fold split."""


def _seed(seed: int, *keys: int) -> np.random.Generator:
    """A generator for one task, derived from the master seed and the task's keys."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def pooled_scores(exp: reproduce.Experiments, feature_set: str, estimator: str,
                  repeat: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and out-of-fold scores of one CV repeat, ordered by image."""
    s = exp.scores
    sub = s[(s["feature_set"] == feature_set) & (s["estimator"] == estimator)
            & (s["repeat"] == repeat)].sort_values("row")
    return sub["y"].to_numpy(), sub["score"].to_numpy()


# --- AUC confidence intervals -------------------------------------------------------

def auc_intervals(exp: reproduce.Experiments, *, n_boot: int = DEFAULT_BOOT,
                  seed: int = models.DEFAULT_SEED) -> pd.DataFrame:
    """Pooled out-of-fold AUC of every feature set with DeLong and bootstrap 95% CIs.

    Returns
    -------
    DataFrame
        One row per (feature_set, estimator, boot_method): ``auc_pooled``,
        ``delong_se``, ``delong_low``, ``delong_high``, ``boot_low``, ``boot_high``,
        ``boot_method`` (percentile or bca), ``n_boot``, plus ``fold_mean_auc``
        (canonical split), ``band_low``/``band_high`` (2.5-97.5% of per-repeat
        mean fold AUC), ``n_folds_separated`` (canonical split) and
        ``share_separated`` (all repeats): how often the training data of a fold
        have no finite plain-MLE.

    Notes
    -----
    The bootstrap resamples images within each class (so every replicate has both
    classes) and keeps each image's out-of-fold score: it measures the uncertainty
    of the AUC of these predictions over images, not the variability of refitting.
    """
    summary = reproduce.summarise(exp).set_index(["feature_set", "estimator"])
    sets = list(dict.fromkeys(exp.folds["feature_set"]))
    rows = []
    for i, fs in enumerate(sets):
        for j, est in enumerate(exp.estimators):
            y, s = pooled_scores(exp, fs, est)
            d = inference.delong_ci(y, s)
            boot = inference.bootstrap_auc_ci(y, s, n_boot=n_boot, rng=_seed(seed, 1, i, j))
            srow = summary.loc[(fs, est)]
            for b in boot.itertuples():
                rows.append({
                    "experiment": int(srow["experiment"]), "feature_set": fs, "estimator": est,
                    "auc_pooled": d["auc"], "delong_se": d["se"], "delong_low": d["low"],
                    "delong_high": d["high"], "boot_low": b.low, "boot_high": b.high,
                    "boot_method": b.method, "n_boot": int(b.n_boot),
                    "fold_mean_auc": srow["mean_auc"], "band_low": srow["band_low"],
                    "band_high": srow["band_high"],
                    "n_folds_separated": int(srow["n_folds_separated"]),
                    "share_separated": float(srow["share_separated"]),
                })
    return pd.DataFrame(rows)


# --- permutation tests ----------------------------------------------------------------

@dataclass
class PermutationResult:
    summary: pd.DataFrame  # feature_set, estimator, observed_auc, p_value, n_permutations, ...
    null: pd.DataFrame  # feature_set, estimator, permutation, auc


@functools.lru_cache(maxsize=2)  # callers use one data set's splits at a time
def _permutation_splits(y_bytes: bytes, n_permutations: int, seed: int, n_splits: int):
    """Permuted labels and their stratified splits, built once per (y, seed, ...)
    and shared (read-only) by every feature set and estimator."""
    y = np.frombuffer(y_bytes, dtype=np.int64).copy()
    perms = inference.stratified_permutations(y, n_permutations, _seed(seed, 2))
    splits, labels = [], []
    for p in range(n_permutations):
        state = int(np.random.SeedSequence([seed, 3, p]).generate_state(1)[0])
        for s in models.stratified_splits(perms[p], n_splits=n_splits, n_repeats=1, seed=state):
            splits.append(models.Split(p, s.fold, s.train, s.test))
            labels.append(perms[p])
    labels = np.asarray(labels, dtype=np.int8)  # 0/1: an eighth of int64's memory
    labels.flags.writeable = False
    return tuple(splits), labels


def permutation_null(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = models.DEFAULT_SEED,
    n_splits: int = 10,
    estimator: str = "mle",
    n_jobs: int = 1,
) -> tuple[np.ndarray, float]:
    """Null distribution of the fold-mean AUC of a whole cross-validation.

    Permutation ``p`` shuffles the labels (class sizes kept) with a stream derived
    from ``seed``, draws new stratified ``n_splits``-fold splits for the shuffled
    labels (seed ``SeedSequence([seed, 3, p])``) and re-runs the cross-validation.
    The permutations depend only on ``seed`` and ``y``, so every feature set of a
    group is tested against the same shuffles.

    Returns
    -------
    null : ndarray (n_permutations,)
        Mean fold AUC of each permutation.
    share_separated : float
        Share of the permutation folds whose training data are separated.
    """
    y = np.asarray(y, dtype=int)
    splits, labels = _permutation_splits(y.astype(np.int64).tobytes(), n_permutations, seed,
                                         n_splits)
    res = models.cross_validate(X, y, list(splits), estimator=estimator, labels=labels,
                                n_jobs=n_jobs)
    null = res.folds.groupby("repeat", sort=True)["auc"].mean().to_numpy()
    return null, float(res.folds["separated"].mean())


def permutation_tests(
    design: GroupDesign,
    exp: reproduce.Experiments,
    *,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = models.DEFAULT_SEED,
    sets: tuple[str, ...] = PERMUTATION_SETS,
    n_jobs: int = 1,
    quiet: bool = False,
) -> PermutationResult:
    """Label-permutation tests of "better than random" for whole cross-validations.

    For each permutation the labels are shuffled (class sizes kept), new stratified
    10-fold splits are drawn for the shuffled labels, and the whole cross-validation
    is re-run (:func:`permutation_null`); the statistic is the mean fold AUC, as in
    the paper, and the observed value is that of the canonical split.

    Returns
    -------
    PermutationResult
        ``summary``: ``feature_set, estimator, observed_auc`` (canonical split),
        ``p_value`` = (1 + #{null >= observed}) / (1 + n), ``n_permutations``,
        ``null_mean``, ``null_q95``, ``n_null_nan``, ``share_separated`` (of the
        permutation folds). ``null``: one row per permutation.
    """
    y = design.labels
    observed = reproduce.summarise(exp).set_index(["feature_set", "estimator"])["mean_auc"]
    rows, nulls = [], []
    jobs = [(fs, est) for fs in sets for est in exp.estimators]
    for fs, est in progress(jobs, desc="permutations", quiet=quiet):
        null, sep = permutation_null(design.matrix(fs), y, n_permutations=n_permutations,
                                     seed=seed, estimator=est, n_jobs=n_jobs)
        obs = float(observed.loc[(fs, est)])
        valid = null[np.isfinite(null)]
        rows.append({
            "feature_set": fs, "estimator": est, "observed_auc": obs,
            "p_value": inference.permutation_pvalue(obs, null, "greater"),
            "n_permutations": n_permutations, "null_mean": float(valid.mean()),
            "null_q95": float(np.quantile(valid, 0.95)), "n_null_nan": int((~np.isfinite(null)).sum()),
            "share_separated": sep,
        })
        nulls.append(pd.DataFrame({"feature_set": fs, "estimator": est,
                                   "permutation": np.arange(n_permutations), "auc": null}))
    return PermutationResult(pd.DataFrame(rows), pd.concat(nulls, ignore_index=True))


# --- paired comparisons -----------------------------------------------------------------

#: (family, set a, set b): a is the set the paper says is better.
COMPARISONS = (
    [("C4", "mean", m) for m in DISAGREEMENT]
    + [("C4", "mean", "moments_all"), ("C4", "mean", "mean+sd")]
    + [("C2", "color", f) for f in ("asymmetry", "border", "dermoscopic_structures", "blue_glow")]
)


def _loglik(fit: models.FitResult, X: np.ndarray, y: np.ndarray) -> float:
    eta = fit.linear_predictor(X)
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def likelihood_ratio(design: GroupDesign, reduced: str, full: str) -> dict:
    """In-sample likelihood-ratio test of nested plain-MLE logistic models.

    The test needs both maximum-likelihood estimates to exist; when either model's
    data are separated (see :func:`analysis.fitconfig.separation_flag`) the
    statistic is not reported and ``note`` says why.
    """
    y = design.labels
    cols_r, cols_f = design.columns(reduced), design.columns(full)
    if not set(cols_r) < set(cols_f):
        raise ValueError(f"{reduced} is not nested in {full}")
    Xr, Xf = design.matrix(reduced), design.matrix(full)
    fr = models.fit_logistic(Xr, y, "mle")
    ff = models.fit_logistic(Xf, y, "mle")
    df = len(cols_f) - len(cols_r)
    if fr.separated or ff.separated:
        which = " and ".join(n for n, f in ((reduced, fr), (full, ff)) if f.separated)
        return {"statistic": np.nan, "df": df, "p": np.nan,
                "note": f"MLE does not exist ({which} separated on all images): no LRT"}
    lr = 2.0 * (_loglik(ff, Xf, y) - _loglik(fr, Xr, y))
    return {"statistic": lr, "df": df, "p": float(stats.chi2.sf(lr, df)), "note": ""}


def comparisons(design: GroupDesign, exp: reproduce.Experiments) -> pd.DataFrame:
    """Paired comparisons of feature sets.

    DeLong's paired test on the pooled out-of-fold scores of the canonical split
    (both estimators), Holm-adjusted within each claim's family; and, for nested
    pairs (mean within mean+moment), the in-sample likelihood-ratio test.
    """
    rows = []
    for est in exp.estimators:
        for fam, a, b in COMPARISONS:
            ya, sa = pooled_scores(exp, a, est)
            yb, sb = pooled_scores(exp, b, est)
            assert np.array_equal(ya, yb)
            r = inference.delong_paired(ya, sa, sb)
            rows.append({"family": fam, "set_a": a, "set_b": b, "estimator": est,
                         "test": "delong_paired", "auc_a": r["auc_a"], "auc_b": r["auc_b"],
                         "diff": r["diff"], "ci_low": r["low"], "ci_high": r["high"],
                         "statistic": r["z"], "df": np.nan, "p": r["p"], "note": ""})
    out = pd.DataFrame(rows)
    out["p_holm"] = np.nan
    for _, idx in out.groupby(["family", "estimator"]).groups.items():
        out.loc[idx, "p_holm"] = inference.adjust_pvalues(out.loc[idx, "p"].to_numpy(), "holm")
    lrt = []
    for m in DISAGREEMENT:
        r = likelihood_ratio(design, "mean", f"mean+{m}")
        lrt.append({"family": "C4", "set_a": "mean", "set_b": f"mean+{m}", "estimator": "mle",
                    "test": "lrt_in_sample", "auc_a": np.nan, "auc_b": np.nan, "diff": np.nan,
                    "ci_low": np.nan, "ci_high": np.nan, "statistic": r["statistic"],
                    "df": r["df"], "p": r["p"], "note": r["note"], "p_holm": np.nan})
    return pd.concat([out, pd.DataFrame(lrt)], ignore_index=True)


# --- inter-rater agreement ---------------------------------------------------------------

def _long_raw(design: GroupDesign) -> pd.DataFrame:
    long = design.raw.rename_axis("image_id").reset_index().melt(
        id_vars="image_id", var_name="column", value_name="score")
    parts = long["column"].str.rsplit("_", n=1, expand=True)
    long["feature"], long["annotator"] = parts[0], parts[1]
    long["melanoma"] = long["image_id"].map(design.y)
    return long


SUBSETS = {"all": None, "melanoma": 1, "non-melanoma": 0}


def agreement_tables(design: GroupDesign) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ICC (six forms, pingouin) and Krippendorff's alpha per feature type and subset.

    Computed on the raw scores of the kept images, for all images and within
    melanoma and non-melanoma images separately.
    """
    long = _long_raw(design)
    icc_rows, ka_rows = [], []
    for f in design.features:
        for subset, cls in SUBSETS.items():
            d = long[long["feature"] == f]
            if cls is not None:
                d = d[d["melanoma"] == cls]
            t = agreement.icc(d, targets="image_id", raters="annotator", ratings="score")
            icc_rows.append(t.assign(feature=f, subset=subset))
            for level in ("ordinal", "interval"):
                a = agreement.krippendorff_alpha(d, targets="image_id", raters="annotator",
                                                 ratings="score", level=level)
                ka_rows.append({"feature": f, "subset": subset, "level": level, "alpha": a,
                                "n_targets": d["image_id"].nunique()})
    icc = pd.concat(icc_rows, ignore_index=True)
    front = ["feature", "subset", "type"]
    icc = icc[front + [c for c in icc.columns if c not in front]]
    return icc, pd.DataFrame(ka_rows)


# --- moment-feature tests ---------------------------------------------------------------

def moment_tests(design: GroupDesign) -> pd.DataFrame:
    """Melanoma vs non-melanoma for every feature type x moment.

    Univariate AUC of the moment (melanoma as positives) with DeLong 95% CI;
    two-sided Mann-Whitney U with rank-biserial correlation and common-language
    effect size; Holm and Benjamini-Hochberg adjustment across the whole family of
    feature x moment tests; the direction in words.
    """
    y = design.labels
    rows = []
    for f in design.features:
        for m in MOMENTS:
            x = design.moments_raw[f"{m}_{f}"].to_numpy()
            mw = inference.mann_whitney(x[y == 1], x[y == 0])
            d = inference.delong_ci(y, x)
            rows.append({"feature": f, "moment": m, "auc": d["auc"], "auc_ci_low": d["low"],
                         "auc_ci_high": d["high"], "u": mw["u"], "p": mw["p"],
                         "rank_biserial": mw["rank_biserial"], "cles": mw["cles"],
                         "direction": mw["direction"],
                         "median_melanoma": float(np.median(x[y == 1])),
                         "median_non_melanoma": float(np.median(x[y == 0]))})
    out = pd.DataFrame(rows)
    out["p_holm"] = inference.adjust_pvalues(out["p"].to_numpy(), "holm")
    out["p_bh"] = inference.adjust_pvalues(out["p"].to_numpy(), "fdr_bh")
    cols = ["feature", "moment", "auc", "auc_ci_low", "auc_ci_high", "u", "p", "p_holm", "p_bh",
            "rank_biserial", "cles", "direction", "median_melanoma", "median_non_melanoma"]
    return out[cols]


# --- fold variability ---------------------------------------------------------------------

def fold_variability(exp: reproduce.Experiments) -> pd.DataFrame:
    """How much fold AUCs vary, and how often disagreement hurts.

    Per estimator and feature set (over all repeats): number of folds, share of folds
    with AUC below 0.5, SD of fold AUCs, and the number of test folds with 1 and with
    2 melanomas (a fold AUC compares at most 2 x 8 pairs of images). For
    ``mean+sd`` vs ``mean``, the share of folds (same repeat and fold) where adding
    sd lowers the fold AUC.
    """
    f = exp.folds
    rows = []
    for (est, fs), g in f.groupby(["estimator", "feature_set"], sort=False):
        rows.append({"estimator": est, "feature_set": fs, "comparison": "",
                     "n_folds": len(g), "share_below_half": float((g["auc"] < 0.5).mean()),
                     "share_lower": np.nan, "share_equal": np.nan,
                     "fold_auc_sd": float(g["auc"].std()),
                     "folds_1_melanoma": int((g["n_pos_test"] == 1).sum()),
                     "folds_2_melanoma": int((g["n_pos_test"] == 2).sum())})
    key = ["estimator", "repeat", "fold"]
    for est in exp.estimators:
        a = f[(f["feature_set"] == "mean") & (f["estimator"] == est)].set_index(key)["auc"]
        b = f[(f["feature_set"] == "mean+sd") & (f["estimator"] == est)].set_index(key)["auc"]
        if a.empty or b.empty:
            continue
        a, b = a.align(b, join="inner")
        rows.append({"estimator": est, "feature_set": "mean+sd", "comparison": "vs mean",
                     "n_folds": len(a), "share_below_half": np.nan,
                     "share_lower": float((b < a).mean()), "share_equal": float((b == a).mean()),
                     "fold_auc_sd": np.nan, "folds_1_melanoma": np.nan,
                     "folds_2_melanoma": np.nan})
    return pd.DataFrame(rows)


# --- claims and verdicts -------------------------------------------------------------------

def _combine(verdicts: dict[str, str]) -> tuple[str, str]:
    vals = set(verdicts.values())
    if len(vals) == 1:
        return vals.pop(), ""
    return "inconclusive", "depends on the estimator: " + ", ".join(
        f"{k} {v}" for k, v in verdicts.items())


def _ci(row) -> str:
    return f"{row.auc_pooled:.3f} [{row.delong_low:.3f}, {row.delong_high:.3f}]"


@dataclass
class Review:
    """Everything the statistical review computes."""

    design: GroupDesign
    exp: reproduce.Experiments
    auc_ci: pd.DataFrame
    permutation: PermutationResult
    comparisons: pd.DataFrame
    icc: pd.DataFrame
    krippendorff: pd.DataFrame
    moment_tests: pd.DataFrame
    fold_variability: pd.DataFrame
    settings: dict = field(default_factory=dict)
    elapsed: float = 0.0

    def claims(self) -> pd.DataFrame:
        return claims_table(self)


def claims_table(rv: Review) -> pd.DataFrame:
    """One row per claim: the paper's number, ours, the test, p-value, verdict, evidence."""
    ci = rv.auc_ci[rv.auc_ci["boot_method"] == "bca"].set_index(["feature_set", "estimator"])
    perm = rv.permutation.summary.set_index(["feature_set", "estimator"])
    cmp_ = rv.comparisons
    mt = rv.moment_tests
    fv = rv.fold_variability
    ests = rv.exp.estimators
    rows = []

    def lower_ok(fs, est):
        r = ci.loc[(fs, est)]
        return r["delong_low"] > 0.5 and r["boot_low"] > 0.5

    # C1
    v = {e: "supported" if lower_ok("all", e) else "not supported" for e in ests}
    verdict, note = _combine(v)
    r = ci.loc[("all", "mle")]
    p1 = float(2 * stats.norm.sf(abs(r["auc_pooled"] - 0.5) / r["delong_se"]))
    rows.append(("C1", "0.96", _ci(r), "DeLong and BCa 95% CI of the pooled AUC above 0.5 "
                 "(p: DeLong z-test of AUC = 0.5)", p1, verdict, f"all: AUC {_ci(r)} (mle); BCa [{r['boot_low']:.3f}, "
                 f"{r['boot_high']:.3f}]; fold mean {r['fold_mean_auc']:.3f}. {note}".strip()))

    # C2
    v, ev, pmax = {}, [], []
    types = ("color", "asymmetry", "border", "dermoscopic_structures", "blue_glow")
    for e in ests:
        c = cmp_[(cmp_["family"] == "C2") & (cmp_["estimator"] == e)]
        aucs = {t: ci.loc[(t, e), "auc_pooled"] for t in types}
        best = max(aucs, key=aucs.get)
        sig_better = (c["p_holm"] < ALPHA) & (c["diff"] > 0)
        sig_worse = (c["p_holm"] < ALPHA) & (c["diff"] < 0)
        if best == "color" and sig_better.all():
            v[e] = "supported"
        elif sig_worse.any():
            v[e] = "not supported"
        else:
            v[e] = "inconclusive" if best == "color" else "not supported"
        pmax.append(c["p_holm"].max())
        ev.append(f"{e}: best {best}; color minus " + ", ".join(
            f"{r.set_b} {r.diff:+.3f} (Holm p {r.p_holm:.3f})" for r in c.itertuples()))
    verdict, note = _combine(v)
    rows.append(("C2", "color 0.93, border 0.82, dermoscopic 0.81",
                 ", ".join(f"{t} {ci.loc[(t, 'mle'), 'auc_pooled']:.3f}" for t in types),
                 "paired DeLong, color vs each other type, Holm", max(pmax), verdict,
                 "; ".join(ev) + (f". {note}" if note else "")))

    # C3
    anns = [fs for fs in ci.index.get_level_values(0).unique() if fs.startswith("annotator_")]
    v = {}
    for e in ests:
        sub = ci.loc[[(a, e) for a in anns]]
        if (sub["delong_low"] > 0.5).all() and (sub["delong_high"] >= 0.90).all() \
                and (sub["delong_low"] <= 0.98).all():
            v[e] = "supported"
        elif (sub["delong_high"] < 0.90).any():
            v[e] = "not supported"
        else:
            v[e] = "inconclusive"
    verdict, note = _combine(v)
    sub = ci.loc[[(a, "mle") for a in anns]]
    rows.append(("C3", "0.90-0.98",
                 f"{sub['auc_pooled'].min():.3f}-{sub['auc_pooled'].max():.3f}",
                 "every annotator's DeLong CI above 0.5 and overlapping 0.90-0.98", np.nan, verdict,
                 "; ".join(f"{a}: {_ci(r)}" for a, r in zip(anns, sub.itertuples(), strict=True))
                 + (f". {note}" if note else "")))

    # C4
    v, ev = {}, []
    lrt = cmp_[cmp_["test"] == "lrt_in_sample"]
    for e in ests:
        c = cmp_[(cmp_["family"] == "C4") & (cmp_["estimator"] == e) & (cmp_["test"] == "delong_paired")]
        vs_dis = c[c["set_b"].isin(DISAGREEMENT)]
        beats_dis = ((vs_dis["p_holm"] < ALPHA) & (vs_dis["diff"] > 0)).all()
        beaten = ((c["p_holm"] < ALPHA) & (c["diff"] < 0)).any()
        if beaten:
            v[e] = "not supported"
        elif beats_dis:
            v[e] = "supported"
        else:
            v[e] = "inconclusive"
        ev.append(f"{e}: mean minus " + ", ".join(
            f"{r.set_b} {r.diff:+.3f} (p {r.p_holm:.3f})" for r in c.itertuples()))
    verdict, note = _combine(v)
    lrt_txt = "; ".join(f"LRT mean vs {r.set_b}: " + (f"chi2 {r.statistic:.2f}, df {r.df:.0f}, p {r.p:.3g}"
                        if np.isfinite(r.statistic) else r.note) for r in lrt.itertuples())
    rows.append(("C4", "0.99", _ci(ci.loc[("mean", "mle")]),
                 "paired DeLong, mean vs each disagreement moment, all moments and mean+sd (Holm)",
                 float(cmp_[(cmp_["family"] == "C4") & cmp_["set_b"].isin(DISAGREEMENT)]["p_holm"].max()),
                 verdict, "; ".join(ev) + f". {lrt_txt}" + (f". {note}" if note else "")))

    # C5
    v, ev = {}, []
    for e in ests:
        ok = {m: perm.loc[(m, e), "p_value"] < ALPHA and lower_ok(m, e) for m in ("sd", "skewness")}
        v[e] = "supported" if all(ok.values()) else ("not supported" if not any(ok.values())
                                                      else "inconclusive")
        ev.append(f"{e}: " + ", ".join(
            f"{m} fold mean {perm.loc[(m, e), 'observed_auc']:.3f}, permutation p "
            f"{perm.loc[(m, e), 'p_value']:.4f}, pooled {_ci(ci.loc[(m, e)])}" for m in ("sd", "skewness")))
    verdict, note = _combine(v)
    rows.append(("C5", "sd 0.71, skewness 0.73",
                 f"sd {perm.loc[('sd', 'mle'), 'observed_auc']:.3f}, skewness "
                 f"{perm.loc[('skewness', 'mle'), 'observed_auc']:.3f}",
                 "label permutation of the whole CV (fold-mean AUC) and DeLong CI above 0.5",
                 float(perm.loc[[("sd", "mle"), ("skewness", "mle")], "p_value"].max()), verdict,
                 "; ".join(ev) + (f". {note}" if note else "")))

    # C6
    v, ev = {}, []
    for e in ests:
        g = fv[(fv["estimator"] == e) & (fv["comparison"] == "")].set_index("feature_set")
        hurt = all(g.loc[m, "share_below_half"] > 0.05 for m in ("sd", "skewness"))
        v[e] = "supported" if hurt else "not supported"
        lower = fv[(fv["estimator"] == e) & (fv["comparison"] == "vs mean")]
        ev.append(f"{e}: folds with AUC < 0.5: sd {pct(g.loc['sd', 'share_below_half'])}, "
                  f"skewness {pct(g.loc['skewness', 'share_below_half'])}, mean "
                  f"{pct(g.loc['mean', 'share_below_half'])}; fold AUC SD sd "
                  f"{g.loc['sd', 'fold_auc_sd']:.2f}, mean {g.loc['mean', 'fold_auc_sd']:.2f}"
                  + (f"; adding sd to mean lowers the fold AUC in {pct(lower['share_lower'].iloc[0])} "
                     f"of folds" if len(lower) else ""))
    g = fv[(fv["estimator"] == ests[0]) & (fv["comparison"] == "")].set_index("feature_set")
    verdict, note = _combine(v)
    rows.append(("C6", "high variability; some folds below 0.5",
                 f"sd: {pct(g.loc['sd', 'share_below_half'])} of folds below 0.5",
                 "share of folds (all repeats) with AUC < 0.5 above 5% for sd and skewness", np.nan,
                 verdict, "; ".join(ev) + f"; test folds hold {int(g.loc['sd', 'folds_1_melanoma'])}"
                 f" x 1 and {int(g.loc['sd', 'folds_2_melanoma'])} x 2 melanomas"
                 + (f". {note}" if note else "")))

    # C7 (does not depend on the estimator)
    four = ("asymmetry", "border", "color", "dermoscopic_structures")
    sd = mt[(mt["moment"] == "sd") & mt["feature"].isin(four)]
    lower = sd["direction"].str.startswith("lower")
    sig = sd["p_holm"] < ALPHA
    if (lower & sig).all():
        verdict = "supported"
    elif (~lower & sig).any() or not (lower & sig).any():
        verdict = "not supported"
    else:
        verdict = "inconclusive"
    icc = rv.icc[(rv.icc["type"] == "ICC2") & rv.icc["feature"].isin(four)]
    icc_txt = "; ".join(
        f"{f}: ICC2 melanoma {icc[(icc.feature == f) & (icc.subset == 'melanoma')]['icc'].iloc[0]:.2f}"
        f" vs non-melanoma {icc[(icc.feature == f) & (icc.subset == 'non-melanoma')]['icc'].iloc[0]:.2f}"
        for f in four)
    rows.append(("C7", "sd higher in non-melanoma for A-D (Figure 4)",
                 ", ".join(f"{r.feature} AUC {r.auc:.2f}" for r in sd.itertuples()),
                 "Mann-Whitney on the sd feature, Holm over 20 feature x moment tests",
                 float(sd["p_holm"].max()), verdict,
                 "; ".join(f"{r.feature}: {r.direction}, rank-biserial {r.rank_biserial:+.2f}, "
                           f"Holm p {r.p_holm:.3g}" for r in sd.itertuples()) + f". {icc_txt}"))

    out = pd.DataFrame(rows, columns=["claim", "paper", "ours", "test", "p_value", "verdict",
                                      "evidence"])
    out.insert(1, "statement", out["claim"].map(CLAIMS))
    return out


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def review(
    design: GroupDesign,
    *,
    repeats: int = reproduce.DEFAULT_REPEATS,
    n_boot: int = DEFAULT_BOOT,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = models.DEFAULT_SEED,
    n_jobs: int = 1,
    quiet: bool = False,
    exp: reproduce.Experiments | None = None,
) -> Review:
    """Run the whole statistical review of group 7.

    Parameters
    ----------
    design : GroupDesign
    repeats : int
        CV repeats (repeat 0 is the canonical split) for the fold-level spread.
    n_boot, n_permutations : int
        Bootstrap replicates and label permutations (at least 2000 by default).
    seed : int
        Master seed: every random step derives its own stream from it.
    n_jobs : int
        Workers for the batched engine; results do not depend on it.
    exp : Experiments, optional
        Cross-validation results of experiments 1 to 3 to reuse.
    """
    t0 = time.perf_counter()
    if exp is None or 3 not in set(exp.folds["experiment"]):
        exp = reproduce.run_experiments(design, repeats=repeats, seed=seed, experiments=(1, 2, 3),
                                        n_jobs=n_jobs, quiet=quiet)
    auc_ci = auc_intervals(exp, n_boot=n_boot, seed=seed)
    perm = permutation_tests(design, exp, n_permutations=n_permutations, seed=seed,
                             n_jobs=n_jobs, quiet=quiet)
    cmp_ = comparisons(design, exp)
    icc, ka = agreement_tables(design)
    mt = moment_tests(design)
    fv = fold_variability(exp)
    settings = {"seed": seed, "repeats": exp.repeats, "n_boot": n_boot,
                "n_permutations": n_permutations, "estimators": list(exp.estimators)}
    return Review(design, exp, auc_ci, perm, cmp_, icc, ka, mt, fv, settings,
                  time.perf_counter() - t0)
