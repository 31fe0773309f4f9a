"""Multiverse analysis of the disagreement claims C4 and C5 on group 7 (or any data set).

The paper fixes five analysis choices it does not defend. Each combination of
alternatives is one *path* (:class:`Path`); every path re-runs the two key
comparisons of the review:

* **C4** (the mean performs best): cross-validated AUC of the consensus set
  (``mean`` of every feature type) minus that of the disagreement set, with its
  paired bootstrap-CV 95% CI and two-sided p;
* **C5** (disagreement is better than random): cross-validated AUC of the
  disagreement set with its bootstrap-CV 95% CI, and a label-permutation test that
  re-runs the repeated cross-validation for every permutation (stopped sequentially).

The choices (:data:`CHOICES`):

``scaling``
    ``zscore`` (the paper: z-score each annotation column over images before the
    statistics across annotators) or ``raw`` (statistics of the raw ordinal
    scores). The resulting image-level features are z-scored over images in both
    cases (as the paper does), so the estimators see comparable scales.
``estimator``
    ``mle`` (the paper), ``firth`` (both through :func:`analysis.fitting.models.cross_validate`)
    or ``ridge``: the L2-penalised likelihood of statsmodels
    ``GLM(family=Binomial()).fit_regularized(alpha, L1_wt=0)`` (intercept not
    penalised), with ``alpha`` chosen in each training fold by an inner stratified
    5-fold CV over :data:`RIDGE_ALPHAS` (criterion: inner out-of-fold log loss);
    see :func:`cross_validate_ridge`.
``missing``
    ``drop`` the images with a missing annotation (the paper; 4 images of group 7)
    or ``impute`` each missing cell by the median of the same annotator's scores of
    the same feature type on the other images (see :func:`path_features` for why).
``cv``
    ``5-fold`` or ``10-fold`` (the paper), stratified, repeated :data:`MV_REPEATS`
    times (:func:`analysis.fitting.models.stratified_splits` with the same seed). Leave-one-out
    is not a level: its folds hold one image, so no fold AUC exists, and the AUC of
    scores pooled across 96 fold models depends on their scales (a separated fold's
    scores diverge), which is the artefact the review's estimand avoids.
``disagreement``
    ``moments`` (the paper: the consensus is the mean, the disagreement set the
    standard deviation) or one robust spread measure across the annotators of an
    image: ``mad`` (median absolute deviation from the median), ``range``
    (max - min) or ``entropy`` (Shannon entropy, in nats, of the distribution of the
    annotators' raw scores over the ordinal categories; entropy is a function of the
    categories only, so it is the same under both scalings).

Any data set: :func:`multiverse_design` runs the paths on the design of
:func:`analysis.design.dataset.load` (:class:`DesignSource`): spreads over the raters each unit
has (positions, unequal numbers of raters), and only the paths the data set supports
(:func:`plan_paths`; the others are listed with the reason). On the paper's group 7 it
gives exactly the rows of :func:`multiverse`.

Every path uses the review's estimand (:mod:`analysis.statistics.cvstats`): the fold-wise AUC
averaged over the folds of :data:`MV_REPEATS` fold assignments, with bootstrap-CV
intervals (:data:`MV_BOOT` replicates) and a permutation test of the same repeated-CV
statistic, stopped sequentially (Besag & Clifford, :func:`analysis.statistics.cvstats.sequential_pvalue`)
after :data:`MV_EXCEEDANCES` exceedances.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit

from ..base import budgets, fitconfig, seeds
from ..base.progress import progress
from ..base.results import StudyResult
from ..design.features import GROUP7_FEATURES, moments_across, zscore
from ..fitting import engine, models
from ..statistics import cvinference, cvstats

__all__ = [
    "ALPHA", "BUDGET", "CHOICES", "CVS", "CV_FOLDS", "DISAGREEMENTS", "DISAGREEMENT_FEATURE",
    "DesignSource", "ESTIMATORS", "MISSING", "MULTIVERSE_RULES", "MV_BATCH", "MV_BOOT",
    "MV_EXCEEDANCES", "MV_MIN_SCORES", "MV_REPEATS", "MultiverseResult", "PAPER_PATH", "Path",
    "PathData", "RIDGE_ALPHAS", "RIDGE_INNER_FOLDS", "ROW_COLUMNS", "SCALINGS",
    "SURVIVAL_COLUMNS", "choice_effects", "cross_validate_ridge", "design_source",
    "fit_ridge_batch", "fit_ridge_statsmodels", "grid", "multiverse", "multiverse_design",
    "path_features", "path_splits", "plan_paths", "run_cv", "run_path", "spread",
    "spread_available", "survival", "verdict_table", "wide_scores",
    "path_folds",
]


SCALINGS = ("zscore", "raw")
ESTIMATORS = ("mle", "firth", "ridge")
MISSING = ("drop", "impute")
CVS = ("5-fold", "10-fold")
DISAGREEMENTS = ("moments", "mad", "range", "entropy")
#: The choices and their levels, in the order of the specification-curve panel.
CHOICES = {"scaling": SCALINGS, "estimator": ESTIMATORS, "missing": MISSING, "cv": CVS,
           "disagreement": DISAGREEMENTS}
#: Name of the disagreement ("sd-like") feature per disagreement choice.
DISAGREEMENT_FEATURE = {"moments": "sd", "mad": "mad", "range": "range", "entropy": "entropy"}
#: Penalties tried by the inner CV of the ridge estimator (statsmodels' scale: the
#: objective is loglik / n - alpha / 2 * ||beta||^2, intercept not penalised).
RIDGE_ALPHAS = (1e-3, 1e-2, 1e-1, 1.0)
RIDGE_INNER_FOLDS = 5
#: Counts of each path (:data:`analysis.base.budgets.MULTIVERSE`): largest number of
#: permutations, bootstrap-CV replicates, fold assignments, exceedances and batch.
BUDGET = budgets.MULTIVERSE
#: Fold assignments per path (observed statistic, each permutation, each replicate).
MV_REPEATS = BUDGET.repeats
#: Bootstrap-CV replicates per path.
MV_BOOT = BUDGET.n_boot
#: Exceedances after which a path's permutation test stops (Besag & Clifford).
MV_EXCEEDANCES = BUDGET.exceedances
#: Permutations evaluated at a time before the stopping rule is checked.
MV_BATCH = BUDGET.batch
ALPHA = cvinference.ALPHA

MULTIVERSE_RULES = """\
Per path and claim, by the review's rules and in its words, on the cross-validated AUC
(fold-wise AUCs averaged over the folds of the path's repeated cross-validation).
**C4** is *supported* when the consensus (mean) set has a higher cvAUC than the
disagreement set with a paired bootstrap-CV z test p below 5%, *not supported* when it
is significantly lower, and *not shown* otherwise. **C5** is *supported* when the
permutation p of the disagreement set is below 5%, *not supported* when its
bootstrap-CV 95% interval lies entirely below 0.5, and *not shown* otherwise. The
permutation test is sequential: it stops at its 10th exceedance (Besag & Clifford's
sequential p-value, which is valid and gives the fixed-count p-value whenever it runs to
the maximum), and it stops and rejects early when the count of exceedances falls on a
boundary whose probability of a wrong rejection (a permutation p-value of 5% or more) is
at most 0.001 (Gandy's bounded resampling risk; no exceedance in 142 permutations is the
first such stop). Clearly non-significant and clearly significant paths stop early."""


@dataclass(frozen=True)
class Path:
    """One combination of analysis choices (see the module docstring)."""

    scaling: str = "zscore"
    estimator: str = "mle"
    missing: str = "drop"
    cv: str = "10-fold"
    disagreement: str = "moments"

    def __post_init__(self) -> None:
        for name, levels in CHOICES.items():
            if getattr(self, name) not in levels:
                raise ValueError(f"{name} must be one of {levels}, got {getattr(self, name)!r}")

    @property
    def is_paper(self) -> bool:
        """Whether this path makes the paper's choices."""
        return self == PAPER_PATH

    @property
    def label(self) -> str:
        return "/".join(asdict(self).values())

    def as_dict(self) -> dict:
        return asdict(self)


#: The paper's choices: z-score, plain logistic regression, drop incomplete images,
#: 10-fold CV, moments.
PAPER_PATH = Path()


def grid(**levels) -> list[Path]:
    """Every combination of choices (optionally restricted).

    Parameters
    ----------
    **levels
        A tuple of levels per choice name to restrict the grid, e.g.
        ``grid(estimator=("mle",))``.

    Returns
    -------
    list of Path
        ``2 x 3 x 2 x 3 x 4 = 144`` paths by default, the paper's path first.
    """
    unknown = set(levels) - set(CHOICES)
    if unknown:
        raise ValueError(f"unknown choices {sorted(unknown)}")
    lv = {k: tuple(levels.get(k, v)) for k, v in CHOICES.items()}
    out = [Path(*combo) for combo in itertools.product(*lv.values())]
    out.sort(key=lambda p: not p.is_paper)
    return out


# --- data of one path -------------------------------------------------------------------

def wide_scores(tidy: pd.DataFrame, labels: pd.DataFrame, *, cohort: str = "2017-2018",
                group: str = "group07",
                features: tuple[str, ...] = GROUP7_FEATURES) -> tuple[pd.DataFrame, pd.Series]:
    """Raw scores of every labelled image of a group, missing cells kept as NaN.

    Returns
    -------
    wide : DataFrame
        Images x ``<feature>_<annotator>`` columns (annotator-major, as
        :func:`analysis.design.features.group_design`).
    y : Series
        Melanoma label of each image.
    """
    from ..design.features import _annotator_key

    sub = tidy[(tidy["cohort"] == cohort) & (tidy["group"] == group)
               & tidy["feature"].isin(features)]
    if sub.empty:
        raise KeyError(f"no annotations for cohort {cohort!r}, group {group!r}")
    annotators = tuple(sorted(sub["annotator"].astype(str).unique(), key=_annotator_key))
    wide = _wide_from_long(sub, features, annotators)
    lab = labels.set_index("image_id")["melanoma"]
    wide = wide.loc[wide.index.intersection(lab.index)].sort_index()
    wide.attrs.update(features=tuple(features), annotators=annotators)
    return wide, lab.loc[wide.index].astype(int).rename("melanoma")


def spread(values: np.ndarray, raw: np.ndarray, measure: str) -> np.ndarray:
    """Disagreement of each row (image) across columns (annotators).

    Parameters
    ----------
    values : ndarray (n_images, n_annotators)
        Scores on the analysis scale (z-scored or raw).
    raw : ndarray (n_images, n_annotators)
        Raw ordinal scores (used by ``entropy`` only).
    measure : {"sd", "mad", "range", "entropy"}

    Returns
    -------
    ndarray (n_images,)

    Notes
    -----
    ``sd``: sample standard deviation (ddof=1); ``mad``: median of
    ``|x - median(x)|`` (unscaled); ``range``: ``max - min``; ``entropy``:
    ``-sum_k p_k log p_k`` with ``p_k`` the share of the annotators who gave
    category ``k`` (raw scores).
    """
    x = np.asarray(values, dtype=float)
    if measure == "sd":
        return moments_across(x)[0]["sd"]
    if measure == "mad":
        med = np.median(x, axis=1, keepdims=True)
        return np.median(np.abs(x - med), axis=1)
    if measure == "range":
        return x.max(axis=1) - x.min(axis=1)
    if measure == "entropy":
        r = np.asarray(raw, dtype=float)
        out = np.zeros(len(r))
        for k in np.unique(r):
            p = (r == k).mean(axis=1)
            out -= np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        return out
    raise ValueError(f"unknown spread measure {measure!r}")


@dataclass
class PathData:
    """Image-level features of one path."""

    consensus: np.ndarray  # (n, n_features): mean per feature type, z-scored over images
    disagreement: np.ndarray  # (n, n_features): the sd-like measure, z-scored over images
    y: np.ndarray
    image_ids: np.ndarray
    n_imputed_cells: int
    n_imputed_images: int


def path_features(wide: pd.DataFrame, y: pd.Series, path: Path) -> PathData:
    """Consensus and disagreement features of one path.

    Parameters
    ----------
    wide, y : from :func:`wide_scores`
    path : Path

    Returns
    -------
    PathData

    Notes
    -----
    Imputation rule (``missing="impute"``): a missing cell gets the median of the
    same annotator's scores of the same feature type on the other images. The
    alternative, the mean of the other annotators of the same image, would place
    the imputed score at the centre of the image's other scores and so shrink that
    image's disagreement (sd, mad, range, entropy) towards zero -- a bias in the very
    quantity under study, and one that depends on the image's consensus and hence on
    its label. The annotator's own median uses no information about the image. The
    median of an ordinal column is a category (or the midpoint of two).
    """
    feats, anns = wide.attrs["features"], wide.attrs["annotators"]
    raw = wide.copy()
    miss = raw.isna()
    if path.missing == "drop":
        keep = ~miss.any(axis=1)
        raw = raw.loc[keep]
        n_cells = n_img = 0
    else:
        n_cells, n_img = int(miss.to_numpy().sum()), int(miss.any(axis=1).sum())
        raw = raw.fillna(raw.median(axis=0))
    scaled = zscore(raw) if path.scaling == "zscore" else raw
    measure = DISAGREEMENT_FEATURE[path.disagreement]
    cons, dis = {}, {}
    for f in feats:
        cols = [f"{f}_{a}" for a in anns]
        block = scaled[cols].to_numpy(dtype=float)
        cons[f] = block.mean(axis=1)
        dis[f] = spread(block, raw[cols].to_numpy(dtype=float), measure)
    cons_df = zscore(pd.DataFrame(cons, index=raw.index))
    dis_df = zscore(pd.DataFrame(dis, index=raw.index))
    return PathData(cons_df.to_numpy(), dis_df.to_numpy(), y.loc[raw.index].to_numpy(dtype=int),
                    raw.index.to_numpy(), n_cells, n_img)


# --- ridge ---------------------------------------------------------------------------------

def fit_ridge_batch(X: np.ndarray, Y: np.ndarray, W: np.ndarray, alpha: np.ndarray, *,
                    max_iter: int = 100, tol: float | None = None,
                    start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Many L2-penalised logistic fits on subsets of one design, by Newton's method.

    Parameters
    ----------
    X : ndarray (n, p)
        Features without intercept.
    Y : ndarray (m, n)
        0/1 labels of each fit.
    W : ndarray (m, n)
        1 for the images of each fit's training set, 0 elsewhere.
    alpha : ndarray (m,)
        Penalty of each fit, on statsmodels' scale.
    start : ndarray (m, p + 1), optional
        Starting coefficients (default zero). The optimum does not depend on it; a
        start near it (the fit of the same data with a neighbouring penalty) saves
        Newton steps.
    max_iter : int
        Newton steps at most.
    tol : float, optional
        Relative step tolerance, default ``fitconfig.MLE_TOL``: a fit stops when
        ``max|step| <= tol * max(1, max|b|)``
        (:func:`analysis.base.fitconfig.mle_step_converged`), a rule attainable in
        float64 whatever the BLAS and the units of ``X``.

    Returns
    -------
    coef : ndarray (m, p + 1)
        Intercept first.
    converged : ndarray of bool (m,)

    Notes
    -----
    Maximises ``loglik(beta) / n_train - alpha / 2 * ||beta_{1:p}||^2``, the
    objective of statsmodels' ``GLM(y, X, family=Binomial()).fit_regularized(
    alpha=[0, alpha, ..., alpha], L1_wt=0)`` (which minimises it by BFGS, one fit at
    a time). The objective is strictly concave, so Newton's method (steps capped at 5
    per coordinate) converges to the same optimum; ``tests/test_multiverse.py`` checks
    the coefficients against statsmodels.
    """
    tol = fitconfig.MLE_TOL if tol is None else tol
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    Xc = np.column_stack([np.ones(n), X])
    Y = np.asarray(Y, dtype=float)
    W = np.asarray(W, dtype=float)
    m = Y.shape[0]
    pen = (np.asarray(alpha, dtype=float) * W.sum(axis=1))[:, None] * np.r_[0.0, np.ones(p)][None]
    k = p + 1
    B = np.zeros((m, k)) if start is None else np.array(start, dtype=float)
    active = np.ones(m, dtype=bool)
    eye = np.eye(k)
    # all fits share the rows of X: with `outer` the (n, k*k) matrix of outer products
    # x_i x_i', every fit's X' diag(w) X is one row of the matrix product w @ outer
    outer = (Xc[:, :, None] * Xc[:, None, :]).reshape(n, k * k)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Bi, Wi = B[idx], W[idx]
        mu = expit(Bi @ Xc.T)
        g = (Wi * (Y[idx] - mu)) @ Xc - pen[idx] * Bi
        w = Wi * mu * (1.0 - mu)
        H = (w @ outer).reshape(-1, k, k) + pen[idx][:, :, None] * eye
        step = np.linalg.solve(H, g[..., None])[..., 0]
        step = np.clip(step, -5.0, 5.0)
        B[idx] = Bi + step
        active[idx] = ~fitconfig.mle_step_converged(step, B[idx], tol)
    return B, ~active


def fit_ridge_statsmodels(X: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """One ridge fit by statsmodels ``GLM.fit_regularized(L1_wt=0)`` (intercept unpenalised)."""
    import warnings

    import statsmodels.api as sm

    Xc = sm.add_constant(np.asarray(X, dtype=float), has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(np.asarray(y, dtype=float), Xc, family=sm.families.Binomial()).fit_regularized(
            alpha=np.r_[0.0, np.full(Xc.shape[1] - 1, alpha)], L1_wt=0)
    return np.asarray(res.params, dtype=float)


def _inner_folds(y_train: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified fold labels 0..k-1 of a training set (shuffled within each class)."""
    fold = np.empty(len(y_train), dtype=int)
    for c in (0, 1):
        pos = np.flatnonzero(y_train == c)
        fold[rng.permutation(pos)] = np.arange(pos.size) % k
    return fold


def cross_validate_ridge(
    X: np.ndarray,
    y: np.ndarray,
    splits: list[models.Split],
    *,
    labels: np.ndarray | None = None,
    alphas: tuple[float, ...] = RIDGE_ALPHAS,
    inner_folds: int = RIDGE_INNER_FOLDS,
    seed: int = models.DEFAULT_SEED,
    solver: str = "newton",
    chunk: int = 1000,
) -> models.CVResult:
    """Ridge logistic regression with an inner-CV penalty, fold rows like :func:`analysis.fitting.models.cross_validate`.

    Parameters
    ----------
    X : ndarray (n, p)
    y : ndarray (n,)
    splits : list of Split
    labels : ndarray (n_splits, n), optional
        Per-split labels (e.g. permuted), as in :func:`analysis.fitting.models.cross_validate`.
    alphas : tuple of float
        Penalty grid (statsmodels' scale).
    inner_folds : int
        Stratified inner folds on each training set; the inner folds of split
        ``(repeat, fold)`` are drawn from ``SeedSequence([seed, 5, repeat, fold])``.
    seed : int
    solver : {"newton", "statsmodels"}
        ``newton``: :func:`fit_ridge_batch` (all fits of a chunk of splits at once);
        ``statsmodels``: one ``GLM.fit_regularized`` per fit (same optimum, slow).
    chunk : int
        Outer splits per batch of the Newton solver: a batch holds about
        ``chunk x inner_folds x len(alphas)`` fits (memory).

    Returns
    -------
    CVResult
        ``folds`` has :data:`analysis.fitting.models.FOLD_COLUMNS` plus ``alpha`` (the
        chosen penalty); ``separated`` is always False (the penalised optimum is
        finite) and ``n_iter`` is 0 (not tracked).

    Notes
    -----
    For each training set and each alpha the inner CV sums the out-of-fold log
    loss; the alpha with the smallest loss is chosen (ties: the larger alpha), and
    the model refitted on the whole training set with it.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    n = len(y)
    Y = np.broadcast_to(y, (len(splits), n)) if labels is None else np.asarray(labels, dtype=int)
    alphas = np.asarray(alphas, dtype=float)
    fold_parts, score_parts = [], []
    for start in range(0, len(splits), chunk):
        block = splits[start:start + chunk]
        Yb = Y[start:start + chunk]
        S = len(block)
        # outer training weights: how often each image is in the training set (a
        # bootstrap-CV replicate repeats images; its copies count as copies)
        tr_flat, tr_len = engine._ragged([s.train for s in block])
        owner = np.repeat(np.arange(S, dtype=np.int64), tr_len)
        Wo = np.bincount(tr_flat + owner * n, minlength=S * n).reshape(S, n).astype(float)
        # inner fits: one per (split, inner fold), each fitted for every alpha; inner
        # folds are drawn over the *distinct* training images, so the copies of an
        # image stay in one inner fold (as in the outer bootstrap-CV)
        inner_y, inner_w, inner_test, ks = [], [], [], []
        for i, s in enumerate(block):
            rng = seeds.rng("ridge_inner_folds", seed, s.repeat, s.fold)
            distinct = np.flatnonzero(Wo[i])
            yt = Yb[i][distinct]
            k = max(int(min(inner_folds, np.bincount(yt, minlength=2).min())), 2)
            ks.append(k)
            fl = _inner_folds(yt, k, rng)
            t = np.zeros((k, n), dtype=bool)  # row j: the images of inner fold j
            t[:, distinct] = fl[None, :] == np.arange(k)[:, None]
            inner_w.append(np.where(t, 0.0, Wo[i][None, :]))  # training set minus fold j
            inner_y.append(np.broadcast_to(Yb[i], (k, n)))
            inner_test.append(t)
        inner_y = np.concatenate(inner_y)
        inner_test = np.concatenate(inner_test)
        coef = _solve_path(X, inner_y, np.concatenate(inner_w), alphas, solver)  # (fits, alpha, k)
        eta = coef[:, :, :1] + coef[:, :, 1:] @ X.T
        nll = np.logaddexp(0.0, eta) - inner_y[:, None, :] * eta
        loss = (nll * inner_test[:, None, :]).sum(axis=2)  # (fits, alpha)
        # sum over the inner folds of each split; fits are laid out split-major
        chosen, pos = [], 0
        for kk in ks:
            lo = loss[pos:pos + kk].sum(axis=0)
            pos += kk
            best = np.flatnonzero(lo <= lo.min() + 1e-12 * max(1.0, abs(lo.min())))
            chosen.append(alphas[best.max()])
        chosen = np.asarray(chosen)
        coef_o = _solve(X, Yb, Wo, chosen, solver)
        # out-of-fold scores and fold AUCs of the whole block at once
        te_idx, te_mask = engine._pad_ragged(*engine._ragged([s.test for s in block]))
        rows = np.arange(S)[:, None]
        sc = coef_o[:, :1] + np.einsum("sij,sj->si", X[te_idx], coef_o[:, 1:])
        sc = np.where(te_mask, sc, np.nan)
        yte = Yb[rows, te_idx]
        fold_parts.append(pd.DataFrame({
            "repeat": [s.repeat for s in block], "fold": [s.fold for s in block],
            "n_train": tr_len, "n_test": te_mask.sum(axis=1),
            "n_pos_test": np.where(te_mask, yte, 0).sum(axis=1),
            "auc": engine.auc_batch(sc, yte, te_mask), "separated": False,
            "converged": np.isfinite(coef_o).all(axis=1), "n_iter": 0, "n_warnings": 0,
            "alpha": chosen}))
        score_parts.append((np.repeat([s.repeat for s in block], te_mask.sum(axis=1)),
                            np.repeat([s.fold for s in block], te_mask.sum(axis=1)),
                            te_idx[te_mask], yte[te_mask], sc[te_mask]))
    folds = (pd.concat(fold_parts, ignore_index=True) if fold_parts
             else pd.DataFrame(columns=[*models.FOLD_COLUMNS, "alpha"]))
    folds = folds.astype({"n_train": "int64", "n_test": "int64", "n_pos_test": "int64",
                          "n_iter": "int64", "n_warnings": "int64"})
    def cat(j):
        return np.concatenate([p[j] for p in score_parts]) if score_parts else []

    scores = pd.DataFrame({"repeat": cat(0), "fold": cat(1), "row": cat(2), "y": cat(3),
                           "score": cat(4)})
    return models.CVResult(folds, scores)


def _solve_path(X, Y, W, alphas, solver):
    """Coefficients (m, len(alphas), p + 1) of every fit for every penalty.

    Newton: the penalties are fitted from the largest down, each started from the
    optimum of the previous one (a warm start along the penalty path; the optimum of
    each is the same as from zero, within the step tolerance)."""
    alphas = np.asarray(alphas, dtype=float)
    m = Y.shape[0]
    out = np.empty((m, len(alphas), X.shape[1] + 1))
    if solver == "newton":
        prev = None
        for j in np.argsort(-alphas, kind="stable"):
            prev = fit_ridge_batch(X, Y, W, np.full(m, alphas[j]), start=prev)[0]
            out[:, j] = prev
        return out
    for j, a in enumerate(alphas):
        out[:, j] = _solve(X, Y, W, np.full(m, a), solver)
    return out


def _solve(X, Y, W, alpha, solver):
    if solver == "newton":
        return fit_ridge_batch(X, Y, W, alpha)[0]
    if solver == "statsmodels":
        out = []
        for yy, w, a in zip(Y, W, alpha, strict=True):
            rows = np.repeat(np.arange(len(w)), np.round(w).astype(int))  # copies as rows
            out.append(fit_ridge_statsmodels(X[rows], yy[rows], a))
        return np.asarray(out)
    raise ValueError(f"solver must be newton or statsmodels, got {solver!r}")


# --- one path ------------------------------------------------------------------------------

def path_splits(y: np.ndarray, cv: str, seed: int = models.DEFAULT_SEED,
                n_repeats: int = MV_REPEATS, groups: np.ndarray | None = None
                ) -> list[models.Split]:
    """Splits of one CV choice: ``n_repeats`` stratified k-fold assignments
    (:func:`analysis.fitting.models.stratified_splits`; repeat 0 is the review's canonical split);
    with ``groups``, stratified group folds, fewer when fewer groups hold a unit of the
    rarer class (:func:`path_folds`)."""
    return models.stratified_splits(y, n_splits=path_folds(y, cv, groups),
                                    n_repeats=n_repeats, seed=seed, groups=groups)


def path_folds(y: np.ndarray, cv: str, groups: np.ndarray | None = None) -> int:
    """Folds of one CV choice: :data:`CV_FOLDS`; with ``groups``, the fold-count rule
    (:func:`analysis.statistics.cvinference.fold_count`) over the groups."""
    if cv not in CV_FOLDS:
        raise ValueError(f"cv must be one of {tuple(CV_FOLDS)}, got {cv!r}")
    if groups is None:
        return CV_FOLDS[cv]
    return cvinference.fold_count(y, CV_FOLDS[cv], groups=groups).n_splits


CV_FOLDS = {"5-fold": 5, "10-fold": 10}


def run_cv(X: np.ndarray, y: np.ndarray, splits: list[models.Split], estimator: str, *,
           labels: np.ndarray | None = None, seed: int = models.DEFAULT_SEED,
           n_jobs: int = 1) -> models.CVResult:
    """Cross-validate one estimator: ``mle``/``firth`` through
    :func:`analysis.fitting.models.cross_validate`, ``ridge`` through :func:`cross_validate_ridge`."""
    if estimator == "ridge":
        return cross_validate_ridge(X, y, splits, labels=labels, seed=seed)
    return models.cross_validate(X, y, splits, estimator=estimator, labels=labels, n_jobs=n_jobs)


ROW_COLUMNS = ["path_id", *CHOICES, "is_paper", "claim", "estimate", "conf_low", "conf_high",
               "p_value", "verdict", "n_images", "n_melanoma", "n_imputed_images",
               "auc_consensus", "auc_disagreement", "statistic", "observed_statistic", "n_permutations",
               "null_mean", "n_null_nan", "n_folds_separated", "seconds"]


def run_path(wide: pd.DataFrame, y: pd.Series, path: Path, *, path_id: int = 0,
             n_permutations: int = BUDGET.n_permutations, seed: int = models.DEFAULT_SEED,
             n_repeats: int = MV_REPEATS, n_boot: int = MV_BOOT,
             exceedances: int = MV_EXCEEDANCES, n_jobs: int = 1) -> pd.DataFrame:
    """C4 and C5 on one path: two tidy rows (see :data:`ROW_COLUMNS`).

    Parameters
    ----------
    wide, y : from :func:`wide_scores`
        Or ``wide`` a :class:`DesignSource` (a data set's design, :func:`design_source`)
        and ``y`` None.
    path : Path
    path_id : int
        Identifier written into the rows.
    n_permutations : int
        Largest number of label permutations of the C5 test. Permutation ``p``
        shuffles the labels and draws ``n_repeats`` fold assignments exactly as
        :func:`analysis.statistics.cvstats.permutation_null` (so every path sees the same
        permutations); they are evaluated :data:`MV_BATCH` at a time and the test
        stops at the ``exceedances``-th null statistic at or above the observed one
        (:func:`analysis.statistics.cvstats.sequential_pvalue`).
    seed : int
    n_repeats : int
        Fold assignments of the observed statistic, of every permutation and of every
        bootstrap-CV replicate.
    n_boot : int
        Bootstrap-CV replicates (shared by both sets, so the C4 difference is paired).
    n_jobs : int
        Workers of the batched engine.

    Returns
    -------
    DataFrame
        Rows ``claim = "C4"`` (estimate: cvAUC(mean) - cvAUC(disagreement), with its
        bootstrap-CV interval and z-test p) and ``claim = "C5"`` (estimate: cvAUC of
        the disagreement set with its bootstrap-CV interval; p: the sequential
        permutation p-value, ``n_permutations`` the permutations it rests on).
    """

    t0 = time.perf_counter()
    d = wide.path_features(path) if isinstance(wide, DesignSource) else path_features(wide, y, path)
    yy = d.y
    n = len(yy)
    groups = (wide.group_codes(d.image_ids) if isinstance(wide, DesignSource) else None)
    k = path_folds(yy, path.cv, groups)
    splits = path_splits(yy, path.cv, seed, n_repeats, groups)
    cv_c = run_cv(d.consensus, yy, splits, path.estimator, seed=seed, n_jobs=n_jobs)
    cv_d = run_cv(d.disagreement, yy, splits, path.estimator, seed=seed, n_jobs=n_jobs)
    bsplits = cvinference.bootstrap_cv_plan(yy, n_boot=n_boot, n_splits=k, seed=seed,
                                            groups=groups)
    reps = {}
    for name, X in (("c", d.consensus), ("d", d.disagreement)):
        b = run_cv(X, yy, bsplits, path.estimator, seed=seed, n_jobs=n_jobs)
        reps[name] = cvstats.bootstrap_cv_replicates(b.folds, cvstats.BOOT_CV_REPEATS)
    c4 = cvinference.paired_difference(cv_c.folds, cv_d.folds, reps["c"], reps["d"])
    observed = float(cv_d.folds["auc"].mean())
    c5 = cvinference.cv_auc_interval(observed, reps["d"])
    # sequential permutation test of the disagreement set
    psplits, plabels = cvstats.permutation_splits(
        yy.astype(np.int64).tobytes(), n_permutations, seed, k, n_repeats,
        None if groups is None else groups.astype(np.int64).tobytes())
    per = n_repeats * k

    def draw(start: int, stop: int) -> np.ndarray:
        res = run_cv(d.disagreement, yy, list(psplits[start * per: stop * per]), path.estimator,
                     labels=plabels[start * per: stop * per], seed=seed, n_jobs=n_jobs)
        return cvstats.repeated_cv_statistic(res.folds)

    test = cvinference.sequential_permutation_test(observed, draw, h=exceedances,
                                                   n_max=n_permutations, alpha=ALPHA,
                                                   batch=MV_BATCH)
    p_perm = test.pvalue
    used = test.null_distribution[: test.n_resamples]
    valid = used[np.isfinite(used)]

    c4_verdict = cvinference.verdict_better(c4.diff, c4.pvalue, ALPHA)
    c5_verdict = cvinference.verdict_better_than_random(p_perm, c5.high, ALPHA)
    common = {"path_id": path_id, **path.as_dict(), "is_paper": path.is_paper, "n_images": n,
              "n_melanoma": int(yy.sum()), "n_imputed_images": d.n_imputed_images,
              "auc_consensus": c4.auc_a, "auc_disagreement": c4.auc_b}
    sep = int(cv_c.folds["separated"].sum() + cv_d.folds["separated"].sum())
    secs = time.perf_counter() - t0
    rows = [
        {**common, "claim": "C4", "estimate": c4.diff, "conf_low": c4.low,
         "conf_high": c4.high, "p_value": c4.pvalue, "verdict": c4_verdict,
         "statistic": "cv_auc_difference", "observed_statistic": c4.diff,
         "n_permutations": 0, "null_mean": np.nan, "n_null_nan": 0,
         "n_folds_separated": sep, "seconds": secs},
        {**common, "claim": "C5", "estimate": observed, "conf_low": c5.low,
         "conf_high": c5.high, "p_value": p_perm, "verdict": c5_verdict,
         "statistic": "cv_auc", "observed_statistic": observed,
         "n_permutations": int(test.n_resamples),
         "null_mean": float(valid.mean()) if valid.size else np.nan,
         "n_null_nan": int((~np.isfinite(used)).sum()), "n_folds_separated": sep,
         "seconds": secs},
    ]
    return pd.DataFrame(rows)[ROW_COLUMNS]


def _path_cost(path: Path) -> float:
    """Rough relative run time of a path (for scheduling only): ridge runs an inner CV
    over four penalties."""
    return ({"10-fold": 1.0, "5-fold": 0.6}[path.cv]
            * {"ridge": 8.0, "firth": 1.5, "mle": 1.0}[path.estimator])


@dataclass(frozen=True)
class _PathTask:
    """One path of the multiverse (a worker's input)."""

    wide: object
    y: object
    path: Path
    path_id: int
    n_permutations: int
    seed: int
    n_boot: int


def _run_one(task: _PathTask) -> pd.DataFrame:
    return run_path(task.wide, task.y, task.path, path_id=task.path_id,
                    n_permutations=task.n_permutations, seed=task.seed, n_boot=task.n_boot,
                    n_jobs=1)


@dataclass(frozen=True, kw_only=True, eq=False)
class MultiverseResult(StudyResult):
    """Tidy rows (one per path x claim) and how they were made (a
    :class:`analysis.base.results.StudyResult`)."""

    frame: pd.DataFrame
    skipped: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["path", *CHOICES, "reason"]))

    def tables(self) -> dict[str, pd.DataFrame]:
        """``multiverse.csv`` (the rows), ``multiverse_verdicts.csv``
        (:func:`verdict_table`) and ``multiverse_choices.csv`` (:func:`choice_effects`);
        the paths skipped are :attr:`skipped`."""
        return {"multiverse.csv": self.frame, "multiverse_verdicts.csv": verdict_table(self.frame),
                "multiverse_choices.csv": choice_effects(self.frame)}


def multiverse(
    tidy: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    paths: list[Path] | None = None,
    n_permutations: int = BUDGET.n_permutations,
    n_boot: int = MV_BOOT,
    seed: int = models.DEFAULT_SEED,
    n_jobs: int = 1,
    quiet: bool = False,
    cohort: str = "2017-2018",
    group: str = "group07",
) -> MultiverseResult:
    """Run C4 and C5 on every path of the multiverse.

    Parameters
    ----------
    tidy, labels : DataFrame
        Tidy annotations and expert labels (:func:`analysis.studies.reproduce.load_annotations`).
    paths : list of Path, optional
        Default :func:`grid` (96 paths).
    n_permutations : int
        Largest number of permutations per path for C5 (default 200; the test stops
        earlier on clearly non-significant paths, see :func:`run_path`).
    n_boot : int
        Bootstrap-CV replicates per path.
    seed : int
    n_jobs : int
        Paths run in parallel worker processes (joblib); the rows do not depend on it.
    quiet : bool

    Returns
    -------
    MultiverseResult
        ``frame``: :data:`ROW_COLUMNS`, two rows per path.

    Examples
    --------
    >>> ann = reproduce.load_annotations()  # doctest: +SKIP
    >>> mv = multiverse(ann.tidy, ann.labels, n_permutations=200)  # doctest: +SKIP
    >>> survival(mv.frame)  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    paths = grid() if paths is None else list(paths)
    wide, y = wide_scores(tidy, labels, cohort=cohort, group=group)
    frame, settings = _run_paths(wide, y, paths, n_permutations=n_permutations, n_boot=n_boot,
                                 seed=seed, n_jobs=n_jobs, quiet=quiet)
    return MultiverseResult(frame=frame, settings=settings, elapsed=time.perf_counter() - t0)


def _run_paths(wide, y, paths: list[Path], *, n_permutations: int, n_boot: int, seed: int,
               n_jobs: int, quiet: bool) -> tuple[pd.DataFrame, dict]:
    """Rows of every path (path ids in list order) and the settings of the run."""
    tasks = [_PathTask(wide, y, p, i, n_permutations, seed, n_boot) for i, p in enumerate(paths)]
    if n_jobs == 1:
        parts = [_run_one(t) for t in progress(tasks, desc="multiverse", quiet=quiet)]
    else:
        from ..fitting.engine import parallel_map_costliest_first

        parts = parallel_map_costliest_first(
            _run_one, tasks, [_path_cost(p) for p in paths], n_jobs=n_jobs,
            wrap=lambda it: progress(it, desc="multiverse", quiet=quiet))
    frame = (pd.concat(parts, ignore_index=True) if parts
             else pd.DataFrame(columns=ROW_COLUMNS))
    settings = {"n_paths": len(paths), "n_permutations": n_permutations, "seed": seed,
                "n_boot": n_boot, "cv_repeats": MV_REPEATS, "exceedances": MV_EXCEEDANCES,
                "ridge_alphas": list(RIDGE_ALPHAS), "ridge_inner_folds": RIDGE_INNER_FOLDS,
                "n_jobs": n_jobs, "choices": {k: list(v) for k, v in CHOICES.items()}}
    return frame, settings


# --- any data set: the multiverse of a design ------------------------------------------------

#: Smallest number of scores of a feature a unit needs in the multiverse: every spread
#: measure (sd with ddof=1 in particular) needs two.
MV_MIN_SCORES = 2


def spread_available(values: np.ndarray, raw: np.ndarray, measure: str
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Consensus (mean) and :func:`spread` of each row over its non-missing columns.

    Parameters
    ----------
    values, raw : ndarray (n_units, n_raters)
        Scores on the analysis scale and raw scores, NaN where a rater did not score
        the unit (the same cells missing in both).
    measure : {"sd", "mad", "range", "entropy"}

    Returns
    -------
    mean, spread : ndarray (n_units,)
        NaN for a row without scores.

    Notes
    -----
    Rows are grouped by their number of scores ``k``; within a group the scores are
    packed, in column order, into a ``(rows, k)`` block and passed to
    ``block.mean(axis=1)`` and :func:`spread`. A matrix without missing cells is one
    group, so the result is exactly that of the complete-data functions (the rule
    :func:`analysis.design.features._moments_available` follows for the moments). Entropy
    shares are taken over the raters a unit has.
    """
    x = np.asarray(values, dtype=float)
    r = np.asarray(raw, dtype=float)
    present = ~np.isnan(x)
    if present.all():
        return x.mean(axis=1), spread(x, r, measure)
    count = present.sum(axis=1)
    mean, out = np.full(len(x), np.nan), np.full(len(x), np.nan)
    for k in np.unique(count):
        if k == 0:
            continue
        rows = np.flatnonzero(count == k)
        xb = x[rows][present[rows]].reshape(len(rows), k)
        rb = r[rows][present[rows]].reshape(len(rows), k)
        mean[rows] = xb.mean(axis=1)
        out[rows] = spread(xb, rb, measure)
    return mean, out


@dataclass
class DesignSource:
    """The scores of a data set's design, as the multiverse's paths use them.

    Attributes
    ----------
    raw : DataFrame
        The design's kept units (``missing="drop"``) x ``<feature>_<rater>`` columns,
        raw scores, NaN where a rater did not score a unit; units with fewer than
        :data:`MV_MIN_SCORES` scores of a feature left out.
    y : Series
        Labels of ``raw``'s units.
    full, full_y : DataFrame, Series or None
        Every labelled unit (kept or excluded by the design's complete-case rule) with
        its missing cells (``missing="impute"``); None where imputation is not a path.
    features, annotators : tuple of str
    raters : {"persons", "positions"}
    impute_unavailable : str or None
        Why ``full`` is None.
    groups : Series or None
        The design's grouping of the units (by unit id), None without one: every path's
        folds, bootstrap and permutations then keep a group's units together.
    """

    raw: pd.DataFrame
    y: pd.Series
    full: pd.DataFrame | None
    full_y: pd.Series | None
    features: tuple[str, ...]
    annotators: tuple[str, ...]
    raters: str
    impute_unavailable: str | None = None
    groups: pd.Series | None = None

    def group_codes(self, units) -> np.ndarray | None:
        """Group code of each of ``units`` (in sorted order of the group ids), or None."""
        if self.groups is None:
            return None
        g = self.groups.reindex(pd.Index(units)).astype(str).to_numpy()
        return np.unique(g, return_inverse=True)[1].astype(np.int64)

    def path_features(self, path: Path) -> PathData:
        """Consensus and disagreement features of one path (see :func:`multiverse_design`).

        ``missing="impute"``: :func:`path_features` of ``full`` (the ENHANCE rule).
        ``missing="drop"``: the design's units; per feature, the mean and the spread
        over the raters each unit has (:func:`spread_available`), after a per-rater
        z-score (``scaling="zscore"``, persons only), each z-scored over units. On a
        design without missing cells this is :func:`path_features` exactly.
        """
        if path.missing == "impute":
            if self.full is None:
                raise ValueError("this design has no impute path (see multiverse_design)")
            return path_features(self.full, self.full_y, path)
        raw = self.raw
        if not raw.isna().to_numpy().any():
            return path_features(raw, self.y, path)
        if path.scaling == "zscore" and self.raters != "persons":
            raise ValueError("a per-rater z-score needs raters who are persons")
        scaled = zscore(raw) if path.scaling == "zscore" else raw
        measure = DISAGREEMENT_FEATURE[path.disagreement]
        cons, dis = {}, {}
        for f in self.features:
            cols = [f"{f}_{a}" for a in self.annotators]
            cons[f], dis[f] = spread_available(scaled[cols].to_numpy(dtype=float),
                                               raw[cols].to_numpy(dtype=float), measure)
        cons_df = zscore(pd.DataFrame(cons, index=raw.index))
        dis_df = zscore(pd.DataFrame(dis, index=raw.index))
        return PathData(cons_df.to_numpy(), dis_df.to_numpy(), self.y.to_numpy(dtype=int),
                        raw.index.to_numpy(), 0, 0)


def _wide_from_long(long: pd.DataFrame, features, annotators) -> pd.DataFrame:
    """Units x ``<feature>_<rater>`` (rater-major, as the design), NaN where missing."""
    w = long.assign(annotator=long["annotator"].astype(str)).pivot_table(
        index="image_id", columns=["feature", "annotator"], values="score", aggfunc="first",
        dropna=False)
    cols = [(f, a) for a in annotators for f in features]
    w = w.reindex(columns=pd.MultiIndex.from_tuples(cols))
    w.columns = [f"{f}_{a}" for f, a in cols]
    return w.sort_index().astype(float)


def design_source(design) -> tuple[DesignSource, list[str]]:
    """The :class:`DesignSource` of a :class:`analysis.design.features.GroupDesign` and notes
    (units left out of the multiverse, why ``impute`` is or is not a path)."""
    feats, anns = tuple(design.features), tuple(design.annotators)
    raw = design.raw.copy()
    raw.attrs.update(features=feats, annotators=anns)
    notes = []
    counts = pd.DataFrame({f: raw[[f"{f}_{a}" for a in anns]].notna().sum(axis=1)
                           for f in feats})
    few = (counts < MV_MIN_SCORES).any(axis=1)
    if few.any():
        notes.append(f"{int(few.sum())} of the design's {len(raw)} units have fewer than "
                     f"{MV_MIN_SCORES} scores of some feature (no spread): left out of the "
                     "multiverse")
        raw = raw.loc[~few]
        raw.attrs.update(features=feats, annotators=anns)
    y = design.y.loc[raw.index]
    full = full_y = None
    why = _impute_unavailable(design)
    if why is None:
        full = _wide_from_long(design.long, feats, anns)
        full.attrs.update(features=feats, annotators=anns)
        lab = design.long.drop_duplicates("image_id").set_index("image_id")["label"]
        full_y = lab.loc[full.index].astype(int).rename(design.y.name)
        n_back = len(full) - len(raw)
        notes.append(f"missing = impute: {n_back} unit(s) the design's complete-case rule left "
                     "out are brought back, each missing score set to the rater's median "
                     "of the feature")
    else:
        notes.append(f"missing = impute is not a path of this data set: {why}")
    return DesignSource(raw, y, full, full_y, feats, anns, design.raters, why,
                        getattr(design, "groups", None)), notes


def _impute_unavailable(design) -> str | None:
    """Why the ``impute`` choice is not a path of a design (None: it is)."""
    if design.raters != "persons":
        return ("raters are positions: a position has no scores of its own whose median "
                "could stand in for a missing one")
    if design.settings.get("raters_per_unit") is not None:
        return "raters were drawn per unit (--raters-per-unit): the undrawn cells are not missing"
    if not design.settings.get("complete_case", False):
        return ("the design keeps units with unequal numbers of raters (--min-raters below the "
                "number of raters): each unit's spread is taken over the raters it has, and "
                "imputing the absent raters would invent scores for raters who never saw the unit")
    if design.long is None:
        return "the design carries no scores of the units it excluded (built by hand)"
    if not (design.excluded["reason"] == "missing annotation").any():
        return "no unit was excluded for a missing score, so impute would equal drop"
    return None


def plan_paths(source: DesignSource, paths: list[Path]) -> tuple[list[Path], pd.DataFrame]:
    """The paths a data set supports, and the others with the reason.

    Rules: ``scaling="zscore"`` (a per-rater z-score) only where raters are persons
    (for positions the design's per-feature z-score is an affine map of each feature's
    raw scores, which the final z-scoring over units undoes: the ``raw`` path is that
    analysis); ``missing="impute"`` only where :func:`design_source` built ``full``;
    ``disagreement="entropy"`` only where every score is a whole number (an ordinal
    category); a ``cv`` level only where the rarer class has at least as many units as
    folds.
    """
    ys = {"drop": source.y, "impute": source.full_y}
    ordinal = bool(np.all(np.isnan(source.raw.to_numpy())
                          | (source.raw.to_numpy() == np.round(source.raw.to_numpy()))))
    keep, skipped = [], []
    for p in paths:
        why = None
        if p.scaling == "zscore" and source.raters != "persons":
            why = ("raters are positions: no per-rater z-score (the per-feature z-score is "
                   "undone by the final z-scoring over units, so the raw path is that analysis)")
        elif p.missing == "impute" and source.full is None:
            why = f"missing = impute: {source.impute_unavailable}"
        elif p.disagreement == "entropy" and not ordinal:
            why = "entropy needs ordinal categories; some scores are not whole numbers"
        else:
            y = ys[p.missing].to_numpy(dtype=int)
            rarer = int(np.bincount(y, minlength=2).min())
            if CV_FOLDS[p.cv] > rarer:
                why = (f"{p.cv} cross-validation needs {CV_FOLDS[p.cv]} units of each class; the "
                       f"rarer class has {rarer}")
        if why is None:
            keep.append(p)
        else:
            skipped.append({"path": p.label, **p.as_dict(), "reason": why})
    return keep, pd.DataFrame(skipped, columns=["path", *CHOICES, "reason"])


def multiverse_design(
    design,
    *,
    paths: list[Path] | None = None,
    n_permutations: int = BUDGET.n_permutations,
    n_boot: int = MV_BOOT,
    seed: int = models.DEFAULT_SEED,
    n_jobs: int = 1,
    quiet: bool = False,
) -> MultiverseResult:
    """The multiverse of C4 and C5 on any data set's design.

    Parameters
    ----------
    design : GroupDesign
        From :func:`analysis.design.dataset.load` or :func:`analysis.design.dataset.load_builtin`
        (:func:`analysis.design.features.design_from_long`).
    paths : list of Path, optional
        Default :func:`grid`; the paths the data set does not support are left out and
        listed in ``skipped`` (:func:`plan_paths`).
    n_permutations, n_boot, seed, n_jobs, quiet
        As :func:`multiverse`.

    Returns
    -------
    MultiverseResult
        ``frame`` (two rows per path run, ``path_id`` = position in ``paths``, so the
        ids of the ENHANCE grid are kept), ``skipped`` (``path``, the choices,
        ``reason``), ``notes`` (units left out, whether ``impute`` is a path).

    Notes
    -----
    Each path takes its features from the design's scores (:meth:`DesignSource.path_features`):
    ``drop`` uses the units the design keeps and spreads each measure over the raters
    a unit has (positions, unequal numbers of raters); ``impute`` brings back the units
    a complete-case design excluded for a missing score. On the paper's group 7
    (``dataset.load_builtin("enhance/2017-2018/group07")``) every path gives exactly
    the rows of :func:`multiverse` of the ENHANCE tables (``tests/test_multiverse_design.py``).
    The column ``n_melanoma`` counts the positive class.
    """
    t0 = time.perf_counter()
    paths = grid() if paths is None else list(paths)
    source, notes = design_source(design)
    keep, skipped = plan_paths(source, paths)
    ids = [i for i, p in enumerate(paths) if p in set(keep)]
    if len(skipped):
        for reason, g in skipped.groupby("reason", sort=False):
            short = ("missing = impute is not a path (as above)"
                     if reason.startswith("missing = impute:") else reason)
            notes.append(f"{len(g)} path(s) not run: {short}")
    frame, settings = _run_paths(source, None, keep, n_permutations=n_permutations,
                                 n_boot=n_boot, seed=seed, n_jobs=n_jobs, quiet=quiet)
    if len(frame):
        frame["path_id"] = np.repeat(ids, 2)
    settings.update(n_paths_requested=len(paths), n_paths_skipped=len(skipped),
                    n_units=len(source.raw), raters=source.raters,
                    features=list(source.features), notes=list(notes))
    return MultiverseResult(frame=frame, settings=settings, elapsed=time.perf_counter() - t0,
                            skipped=skipped, notes=notes)


# --- summaries and figures -----------------------------------------------------------------

def verdict_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per claim: number of paths per verdict, share supported, range of estimates.

    The column ``not_shown`` counts the paths whose verdict is "not shown" (the data of
    the path cannot decide)."""
    rows = []
    for claim, g in frame.groupby("claim", sort=True):
        paper = g[g["is_paper"]]
        rows.append({
            "claim": claim, "n_paths": len(g),
            "supported": int((g["verdict"] == "supported").sum()),
            "not_shown": int((g["verdict"] == cvinference.NOT_SHOWN).sum()),
            "not_supported": int((g["verdict"] == "not supported").sum()),
            "paper_verdict": paper["verdict"].iloc[0] if len(paper) else "",
            "paper_estimate": float(paper["estimate"].iloc[0]) if len(paper) else np.nan,
            "estimate_min": float(g["estimate"].min()), "estimate_median": float(g["estimate"].median()),
            "estimate_max": float(g["estimate"].max()),
        })
    return pd.DataFrame(rows)


def choice_effects(frame: pd.DataFrame) -> pd.DataFrame:
    """Per claim, choice and level: paths, share supported, median estimate."""
    rows = []
    for claim, g in frame.groupby("claim", sort=True):
        for ch in CHOICES:
            for lv, h in g.groupby(ch, sort=False):
                rows.append({"claim": claim, "choice": ch, "level": lv, "n_paths": len(h),
                             "share_supported": float((h["verdict"] == "supported").mean()),
                             "median_estimate": float(h["estimate"].median())})
    return pd.DataFrame(rows)


def _flip_drivers(g: pd.DataFrame, flips: pd.DataFrame) -> list[tuple]:
    """Single choice levels, else pairs of levels, on whose every path the verdict flips
    (covering as many flips as possible, largest first): at most 3 of
    ``(n_flips_covered, ((choice, level), ...))``."""
    def covers(cond):
        sub = g[cond(g)]
        return len(sub) > 0 and (sub.index.isin(flips.index)).all(), int(cond(flips).sum())

    found = []
    for ch in CHOICES:
        for lv in CHOICES[ch]:
            ok, n = covers(lambda d, ch=ch, lv=lv: d[ch] == lv)
            if ok:
                found.append((n, ((ch, lv),)))
    if not found:
        names = list(CHOICES)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                for la in CHOICES[a]:
                    for lb in CHOICES[b]:
                        ok, n = covers(lambda d, a=a, b=b, la=la, lb=lb: (d[a] == la) & (d[b] == lb))
                        if ok:
                            found.append((n, ((a, la), (b, lb))))
    found.sort(key=lambda t: -t[0])
    return found[:3]


#: Columns of :func:`survival`.
SURVIVAL_COLUMNS = ["claim", "reference_verdict", "n_paths", "n_flips", "n_supported",
                    "n_not_shown", "n_not_supported", "estimate_min", "estimate_max",
                    "flip_drivers"]


def survival(frame: pd.DataFrame) -> pd.DataFrame:
    """Which verdicts survive every path, in numbers (one row per claim;
    :func:`analysis.presentation.prose.survival_sentences` says it in words).

    Returns
    -------
    DataFrame
        :data:`SURVIVAL_COLUMNS`: the reference verdict (the paper path's, else the most
        common), the paths, the paths whose verdict differs from it (``n_flips``), the
        paths per verdict, the range of the estimates, and ``flip_drivers``: at most
        three ``(n_flips_covered, ((choice, level), ...))``, the single choice levels
        (else pairs of levels) on whose every path the verdict flips, largest first.
    """
    rows = []
    for claim, g in frame.groupby("claim", sort=True):
        paper = g[g["is_paper"]]
        ref = paper["verdict"].iloc[0] if len(paper) else g["verdict"].mode().iloc[0]
        flips = g[g["verdict"] != ref]
        counts = g["verdict"].value_counts()
        rows.append({"claim": claim, "reference_verdict": ref, "n_paths": len(g),
                     "n_flips": len(flips),
                     "n_supported": int(counts.get(cvinference.SUPPORTED, 0)),
                     "n_not_shown": int(counts.get(cvinference.NOT_SHOWN, 0)),
                     "n_not_supported": int(counts.get(cvinference.NOT_SUPPORTED, 0)),
                     "estimate_min": g["estimate"].min(), "estimate_max": g["estimate"].max(),
                     "flip_drivers": _flip_drivers(g, flips) if len(flips) else []})
    return pd.DataFrame(rows, columns=SURVIVAL_COLUMNS)


