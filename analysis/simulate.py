"""A generative model of crowd annotations, its fit to group 7, calibration and power.

Model (one annotating group; features ``f``, images ``i``, annotators ``j``)::

    y_i        melanoma label (a fixed number of melanomas, or Bernoulli(prevalence))
    s_i        ~ N(mu_{y_i}, 1),            mu_0 = 0, mu_1 = ``mu1``   (latent severity)
    b_jf       ~ N(0, tau_b_f^2)                                      (annotator bias)
    nu_j       = exp(tau_nu z_j - tau_nu^2),  z_j ~ N(0, 1)             (annotator noise scale,
                                                                        E[nu_j^2] = 1)
    e_ijf      ~ N(0, sigma_{y_i f}^2)                                  (class-dependent noise)
    x_ijf      = c_f + a_f s_i + b_jf + nu_j e_ijf
    score_ijf  = clip(round(x_ijf), low_f, high_f)                   (the group's ordinal scale)

Disagreement is class-dependent through ``sigma_0f`` vs ``sigma_1f``; the consensus
carries the class through ``a_f mu1``. With ``mu1 = 0`` and ``sigma_1f = sigma_0f``
nothing in the annotations depends on the label (the *null* model).

:func:`fit_to_group` estimates the parameters from a :class:`analysis.features.GroupDesign`
by the method of moments (on the raw ordinal scores, ignoring the rounding and
clipping: a rough fit). :func:`calibration` checks that under the null the
permutation p-values of the sd-only model are uniform and that DeLong and BCa
intervals of the pooled out-of-fold AUC cover the true AUC; :func:`power` estimates
how often the sd-only model is detected as better than random, against the number of
images and annotators.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from . import inference, models
from .features import GroupDesign
from .progress import progress

#: Default power grid.
POWER_IMAGES = (50, 100, 200, 400)
POWER_ANNOTATORS = (3, 6, 10)
DEFAULT_DATASETS = 100
DEFAULT_PERMUTATIONS = 99
DEFAULT_BOOT = 500
#: Images of the large independent draw that gives a fitted model's true AUC.
TRUE_AUC_IMAGES = 20000
ALPHA = 0.05


@dataclass(frozen=True)
class SimParams:
    """Parameters of the generative model (per-feature tuples in ``features`` order)."""

    features: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    intercept: tuple[float, ...]  # c_f
    loading: tuple[float, ...]  # a_f
    tau_b: tuple[float, ...]  # sd of annotator bias per feature
    sigma0: tuple[float, ...]  # noise sd, non-melanoma
    sigma1: tuple[float, ...]  # noise sd, melanoma
    mu1: float  # latent severity shift of melanomas
    tau_nu: float = 0.0  # log-sd of the annotators' noise scale
    prevalence: float = 18 / 96

    def null(self) -> SimParams:
        """The no-signal model: ``mu1 = 0`` and ``sigma1 = sigma0`` = the class-pooled noise."""
        p = self.prevalence
        pooled = tuple(float(np.sqrt((1 - p) * s0**2 + p * s1**2))
                       for s0, s1 in zip(self.sigma0, self.sigma1, strict=True))
        return replace(self, mu1=0.0, sigma0=pooled, sigma1=pooled)

    def tidy(self) -> pd.DataFrame:
        """One row per feature with every parameter (global ones repeated)."""
        d = asdict(self)
        out = pd.DataFrame({k: d[k] for k in ("features", "low", "high", "intercept", "loading",
                                               "tau_b", "sigma0", "sigma1")})
        out = out.rename(columns={"features": "feature"})
        out["sigma_ratio"] = out["sigma1"] / out["sigma0"]
        out["mu1"], out["tau_nu"], out["prevalence"] = self.mu1, self.tau_nu, self.prevalence
        return out


@dataclass
class Annotators:
    """Drawn annotator effects: bias ``b`` (n_annotators, n_features) and noise scale ``nu``."""

    b: np.ndarray
    nu: np.ndarray


def draw_annotators(params: SimParams, n_annotators: int, rng: np.random.Generator) -> Annotators:
    """Annotator biases and noise scales."""
    F = len(params.features)
    b = rng.normal(size=(n_annotators, F)) * np.asarray(params.tau_b)[None]
    z = rng.normal(size=n_annotators)
    nu = np.exp(params.tau_nu * z - params.tau_nu**2)
    return Annotators(b, nu)


def draw_labels(n_images: int, rng: np.random.Generator, *, n_melanoma: int | None = None,
                prevalence: float | None = None) -> np.ndarray:
    """Labels: exactly ``n_melanoma`` ones in random order, or Bernoulli(prevalence)."""
    if n_melanoma is not None:
        y = np.zeros(n_images, dtype=int)
        y[:n_melanoma] = 1
        return rng.permutation(y)
    return (rng.random(n_images) < prevalence).astype(int)


def draw_scores(params: SimParams, y: np.ndarray, annotators: Annotators,
                rng: np.random.Generator, *, discretize: bool = True) -> np.ndarray:
    """Scores (n_images, n_annotators, n_features) of images with labels ``y``."""
    y = np.asarray(y, dtype=int)
    n, J, F = len(y), len(annotators.nu), len(params.features)
    s = rng.normal(size=n) + params.mu1 * y
    sig = np.where(y[:, None] == 1, np.asarray(params.sigma1)[None], np.asarray(params.sigma0)[None])
    e = rng.normal(size=(n, J, F)) * sig[:, None, :] * annotators.nu[None, :, None]
    x = (np.asarray(params.intercept)[None, None] + np.asarray(params.loading)[None, None] * s[:, None, None]
         + annotators.b[None] + e)
    if discretize:
        x = np.clip(np.round(x), np.asarray(params.low)[None, None], np.asarray(params.high)[None, None])
    return x


@dataclass
class Simulated:
    """One simulated study: scores, labels and the drawn truth."""

    params: SimParams
    scores: np.ndarray  # (n_images, n_annotators, n_features)
    y: np.ndarray
    annotators: Annotators

    @property
    def image_ids(self) -> list[str]:
        return [f"SIM_{i:06d}" for i in range(len(self.y))]

    @property
    def annotator_ids(self) -> list[str]:
        return [str(j + 1) for j in range(len(self.annotators.nu))]

    def tidy(self, cohort: str = "simulated", group: str = "sim") -> pd.DataFrame:
        """Tidy annotations (``image_id, cohort, group, annotator, feature, score``)."""
        n, J, F = self.scores.shape
        idx = np.indices((n, J, F)).reshape(3, -1)
        return pd.DataFrame({
            "image_id": np.asarray(self.image_ids)[idx[0]], "cohort": cohort, "group": group,
            "annotator": np.asarray(self.annotator_ids)[idx[1]],
            "feature": np.asarray(self.params.features)[idx[2]],
            "score": self.scores.reshape(-1),
        })

    def labels(self) -> pd.DataFrame:
        """Expert labels (``image_id, melanoma``)."""
        return pd.DataFrame({"image_id": self.image_ids, "melanoma": self.y})

    def design(self) -> GroupDesign:
        """The :class:`analysis.features.GroupDesign` of the simulated study."""
        from .features import group_design

        return group_design(self.tidy(), self.labels(), cohort="simulated", group="sim",
                            features=self.params.features)


def simulate(params: SimParams, n_images: int, *, n_melanoma: int | None = None,
             prevalence: float | None = None, n_annotators: int = 6,
             rng: np.random.Generator | int, discretize: bool = True,
             annotators: Annotators | None = None) -> Simulated:
    """Draw one study from the generative model.

    Parameters
    ----------
    params : SimParams
    n_images : int
    n_melanoma : int, optional
        Exact number of melanomas; default ``round(prevalence * n_images)`` (at least 2).
    prevalence : float, optional
        Default ``params.prevalence``; used only when ``n_melanoma`` is None.
    n_annotators : int
    rng : Generator or int
    discretize : bool
        Round and clip to the ordinal scale (default); False keeps the latent scores
        (used to check parameter recovery without the rounding).
    annotators : Annotators, optional
        Reuse drawn annotators (e.g. for an independent draw of new images rated by
        the same crowd).

    Returns
    -------
    Simulated
        ``.tidy()`` and ``.labels()`` feed :func:`analysis.features.group_design`;
        ``.design()`` does it.

    Examples
    --------
    >>> p = SimParams(("a",), (0,), (2,), (1.0,), (0.5,), (0.2,), (0.6,), (0.4,), 1.0)
    >>> sim = simulate(p, 50, n_annotators=4, rng=1)
    >>> sim.scores.shape
    (50, 4, 1)
    """
    rng = inference._as_rng(rng)
    if n_melanoma is None:
        prev = params.prevalence if prevalence is None else prevalence
        n_melanoma = max(2, int(round(prev * n_images)))
    ann = draw_annotators(params, n_annotators, rng) if annotators is None else annotators
    y = draw_labels(n_images, rng, n_melanoma=n_melanoma)
    scores = draw_scores(params, y, ann, rng, discretize=discretize)
    return Simulated(params, scores, y, ann)


# --- fitting -----------------------------------------------------------------------------

def fit_scores(scores: np.ndarray, y: np.ndarray, features: tuple[str, ...], *,
               low: tuple[float, ...] | None = None,
               high: tuple[float, ...] | None = None) -> SimParams:
    """Method-of-moments estimates from a (n_images, n_annotators, n_features) array.

    Notes
    -----
    With ``m_if`` the image mean over annotators and ``b_jf`` the annotator's column
    mean minus the feature's grand mean:

    * ``r_ijf = x_ijf - m_if - (b_jf - mean_j b_jf)``; ``sigma_yf^2`` = mean over
      class-``y`` images of ``sum_j r_ijf^2 / (J - 1)``;
    * ``tau_b_f^2 = var_j(b_jf) - mean_y sigma_yf^2 / n`` (floored at 0);
    * ``a_f^2`` = pooled within-class variance of ``m_if`` minus ``sigma_yf^2 / J``;
      ``D_f`` = class difference of the mean of ``m_if``; ``mu1 = sum a_f D_f /
      sum a_f^2`` (least squares over features); ``c_f`` = class-0 mean of ``m_if``;
    * ``tau_nu^2 = (var_j(log nu2_j) - 2 / (n F)) / 4`` with ``nu2_j`` the
      annotator's mean of ``r_ijf^2 / sigma^2 * J / (J - 1)`` (``2 / (n F)`` is the
      delta-method sampling variance of ``log nu2_j``; floored at 0).

    The rounding and clipping to the ordinal scale are ignored (a rough fit).
    """
    x = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=int)
    n, J, F = x.shape
    m = x.mean(axis=1)  # (n, F)
    col = x.mean(axis=0)  # (J, F)
    b = col - col.mean(axis=0, keepdims=True)
    r = x - m[:, None, :] - b[None]
    v = (r**2).sum(axis=1) / (J - 1)  # (n, F)
    sig0 = np.sqrt(v[y == 0].mean(axis=0))
    sig1 = np.sqrt(v[y == 1].mean(axis=0))
    sig_bar = np.sqrt((1 - y.mean()) * sig0**2 + y.mean() * sig1**2)
    tau_b = np.sqrt(np.maximum(b.var(axis=0, ddof=1) - sig_bar**2 / n, 0.0))
    n0, n1 = (y == 0).sum(), (y == 1).sum()
    var0 = m[y == 0].var(axis=0, ddof=1) - sig0**2 / J
    var1 = m[y == 1].var(axis=0, ddof=1) - sig1**2 / J
    a2 = ((n0 - 1) * var0 + (n1 - 1) * var1) / (n0 + n1 - 2)
    a = np.sqrt(np.maximum(a2, 1e-12))
    D = m[y == 1].mean(axis=0) - m[y == 0].mean(axis=0)
    mu1 = float((a * D).sum() / (a**2).sum())
    c = m[y == 0].mean(axis=0)
    sig_i = np.where(y[:, None] == 1, sig1[None], sig0[None])  # (n, F)
    nu2 = ((r**2) / sig_i[:, None, :] ** 2).mean(axis=(0, 2)) * J / (J - 1)
    tau_nu = float(np.sqrt(max((np.log(nu2).var(ddof=1) - 2.0 / (n * F)) / 4.0, 0.0)))
    lo = tuple(float(v) for v in (x.min(axis=(0, 1)) if low is None else low))
    hi = tuple(float(v) for v in (x.max(axis=(0, 1)) if high is None else high))
    return SimParams(tuple(features), lo, hi, tuple(map(float, c)), tuple(map(float, a)),
                     tuple(map(float, tau_b)), tuple(map(float, sig0)), tuple(map(float, sig1)),
                     mu1, tau_nu, float(y.mean()))


def fit_to_group(design: GroupDesign) -> SimParams:
    """Rough method-of-moments fit of the model to a group (default use: group 7).

    Parameters
    ----------
    design : GroupDesign
        Uses the raw scores of the complete images (``design.raw``) and the labels.

    Returns
    -------
    SimParams
        The ordinal scale of each feature is the range of its observed scores.
        See :func:`fit_scores` for the estimators.
    """
    F, J = len(design.features), len(design.annotators)
    cols = [f"{f}_{a}" for a in design.annotators for f in design.features]
    x = design.raw[cols].to_numpy(dtype=float).reshape(-1, J, F)
    return fit_scores(x, design.labels, design.features)


# --- the sd-only analysis of a simulated study -------------------------------------------

def _zscore_cols(a: np.ndarray, mu=None, sd=None):
    mu = a.mean(axis=0) if mu is None else mu
    sd = a.std(axis=0, ddof=1) if sd is None else sd
    sd = np.where(sd > 0, sd, 1.0)
    return (a - mu) / sd, mu, sd


@dataclass
class SdTransform:
    """Column and feature standardisation learned on a study (to score new images)."""

    col_mu: np.ndarray
    col_sd: np.ndarray
    sd_mu: np.ndarray
    sd_sd: np.ndarray


def sd_features(scores: np.ndarray, transform: SdTransform | None = None
                ) -> tuple[np.ndarray, SdTransform]:
    """The paper's ``sd`` feature set of a (n, J, F) score array.

    Z-score every annotation column over images, take the sd (ddof=1) across
    annotators per feature, z-score over images -- equal to
    ``group_design(...).matrix("sd")`` of the same study (tested). With
    ``transform`` the standardisation of another study is applied instead.
    """
    n, J, F = scores.shape
    flat = scores.reshape(n, J * F)
    if transform is None:
        z, cmu, csd = _zscore_cols(flat)
    else:
        z, cmu, csd = _zscore_cols(flat, transform.col_mu, transform.col_sd)
    z = z.reshape(n, J, F)
    # the sd of moments_across (ddof=1), without the higher moments it also computes
    sd = (np.column_stack([z[:, :, f].std(axis=1, ddof=1) for f in range(F)]) if J > 1
          else np.zeros((n, F)))
    if transform is None:
        out, smu, ssd = _zscore_cols(sd)
    else:
        out, smu, ssd = _zscore_cols(sd, transform.sd_mu, transform.sd_sd)
    return out, SdTransform(cmu, csd, smu, ssd)


def n_folds(y: np.ndarray, wanted: int = 10) -> int:
    """10 folds, or as many as the rarer class allows."""
    return int(min(wanted, np.bincount(np.asarray(y, dtype=int), minlength=2).min()))


def stratified_folds(y: np.ndarray, k: int, rng: np.random.Generator
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold (train, test) index pairs: each class shuffled and dealt round-robin.

    A numpy equivalent of scikit-learn's shuffled ``StratifiedKFold`` (same fold sizes
    up to one image per class; different random assignment), some 50 times faster --
    the simulation draws hundreds of thousands of splits.
    """
    y = np.asarray(y, dtype=int)
    fold = np.empty(len(y), dtype=int)
    for c in (0, 1):
        pos = np.flatnonzero(y == c)
        fold[rng.permutation(pos)] = (np.arange(pos.size) + (c * pos.size)) % k
    idx = np.arange(len(y))
    return [(idx[fold != f], idx[fold == f]) for f in range(k)]


def cv_light(X: np.ndarray, labels: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
             estimator: str = "mle") -> tuple[np.ndarray, list[np.ndarray]]:
    """Fold AUCs and test scores of a batch of splits, straight from the batched engine.

    The same fits as :func:`analysis.models.cross_validate` with ``engine="batched"``
    (tested equal), without building the per-split DataFrames that dominate its run
    time on small studies.

    Returns
    -------
    auc : ndarray (n_splits,)
    scores : list of ndarray
        Linear predictor of each split's test images.
    """
    from . import engine

    res = engine.cross_validate_batch(X, labels, list(splits), estimator=estimator, n_jobs=1,
                                      memo=False)
    ts = res["test_scores"]
    return (np.asarray(res["auc"], dtype=float),
            [np.asarray(ts[i])[: len(te)] for i, (_, te) in enumerate(splits)])


def analyse_study(sim: Simulated, *, n_permutations: int = DEFAULT_PERMUTATIONS,
                  n_boot: int = DEFAULT_BOOT, seed_seq: np.random.SeedSequence,
                  true_auc: bool = True, n_true: int = TRUE_AUC_IMAGES) -> dict:
    """The sd-only analysis of one simulated study.

    Plain-MLE logistic regression on the ``sd`` set, stratified k-fold CV
    (:func:`n_folds`, :func:`stratified_folds`); a permutation test that re-runs the
    CV on permuted labels with new folds (statistic: mean fold AUC, as
    :func:`analysis.review.permutation_tests`), fitted by :func:`cv_light`;
    DeLong and BCa 95% intervals of the pooled out-of-fold AUC; and the true AUC of the
    model fitted on the whole study, on ``n_true`` new images rated by the same
    annotators.

    Returns
    -------
    dict
        ``fold_mean_auc, pooled_auc, p_value, delong_low, delong_high, bca_low,
        bca_high, true_auc, n_folds, n_null_nan``.
    """
    seeds = seed_seq.spawn(4)
    X, tr = sd_features(sim.scores)
    y = sim.y
    k = n_folds(y)
    rng_split = np.random.default_rng(seeds[0])
    perms = inference.stratified_permutations(y, n_permutations, np.random.default_rng(seeds[1]))
    rng_perm_split = np.random.default_rng(seeds[2])
    splits = stratified_folds(y, k, rng_split)
    labels = [y] * len(splits)
    for p in range(n_permutations):
        sp = stratified_folds(perms[p], k, rng_perm_split)
        splits += sp
        labels += [perms[p]] * len(sp)
    auc, scores = cv_light(X, np.asarray(labels), splits)
    stat = auc.reshape(n_permutations + 1, k).mean(axis=1)
    observed, null = float(stat[0]), stat[1:]
    sc = np.empty(len(y))
    for (_, test), s in zip(splits[:k], scores[:k], strict=True):
        sc[test] = s
    d = inference.delong_ci(y, sc)
    rng = np.random.default_rng(seeds[3])
    boot = inference.bootstrap_auc_ci(y, sc, n_boot=n_boot, rng=rng).set_index("method")
    out = {"fold_mean_auc": observed, "pooled_auc": d["auc"],
           "p_value": inference.permutation_pvalue(observed, null, "greater"),
           "delong_low": d["low"], "delong_high": d["high"],
           "bca_low": float(boot.loc["bca", "low"]), "bca_high": float(boot.loc["bca", "high"]),
           "true_auc": np.nan, "n_folds": k, "n_null_nan": int((~np.isfinite(null)).sum())}
    if true_auc:
        fit = models.fit_logistic(X, y, "mle")
        new = simulate(sim.params, n_true, n_melanoma=max(1, int(round(sim.y.mean() * n_true))),
                       annotators=sim.annotators, rng=rng)
        Xn, _ = sd_features(new.scores, tr)
        out["true_auc"] = float(inference.auc(new.y, fit.linear_predictor(Xn)))
    return out


def _study_task(args):
    params, n_images, n_annotators, seq, n_perm, n_boot, true_auc, n_true = args
    # a child of the task's SeedSequence draws the study; analyse_study spawns its own
    # children from a separate child, so the streams never overlap
    draw_seq, analysis_seq = seq.spawn(2)
    sim = simulate(params, n_images, n_annotators=n_annotators, rng=np.random.default_rng(draw_seq))
    return analyse_study(sim, n_permutations=n_perm, n_boot=n_boot, seed_seq=analysis_seq,
                         true_auc=true_auc, n_true=n_true)


def run_condition_studies(params: SimParams, conditions: list[dict], *, n_datasets: int,
                          n_permutations: int, n_boot: int, seed: int, true_auc: bool,
                          n_jobs: int = 1, quiet: bool = False, desc: str = "simulate",
                          key: int = 0, n_true: int = TRUE_AUC_IMAGES) -> pd.DataFrame:
    """One row per simulated study of every condition (``n_images``, ``n_annotators``,
    ``model``); study ``d`` of condition ``c`` is seeded by ``SeedSequence([seed, key, c, d])``,
    so rows do not depend on ``n_jobs``."""
    tasks, meta = [], []
    for c, cond in enumerate(conditions):
        for d in range(n_datasets):
            seq = np.random.SeedSequence([seed, key, c, d])
            tasks.append((cond["params"], cond["n_images"], cond["n_annotators"], seq,
                          n_permutations, n_boot, true_auc, n_true))
            meta.append({"model": cond["model"], "n_images": cond["n_images"],
                         "n_annotators": cond["n_annotators"], "dataset": d})
    # one BLAS thread per study and the active joblib backend (local or Dask), as every
    # task list of the package
    from . import engine

    res = engine.parallel_map(_study_task, tasks, n_jobs=n_jobs, batch_size=4,
                              wrap=lambda it: progress(it, desc=desc, quiet=quiet))
    return pd.concat([pd.DataFrame(meta), pd.DataFrame(res)], axis=1)


def binom_ci(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion."""
    r = stats.binomtest(int(k), int(n)).proportion_ci(1 - alpha, method="exact")
    return float(r.low), float(r.high)


@dataclass
class Calibration:
    studies: pd.DataFrame  # one row per study (model null / fitted)
    summary: pd.DataFrame  # per model: KS, rejection rate, coverage with binomial CIs
    elapsed: float


def calibration(params: SimParams, *, n_datasets: int = 200, n_images: int = 96,
                n_annotators: int = 6, n_permutations: int = DEFAULT_PERMUTATIONS,
                n_boot: int = DEFAULT_BOOT, seed: int = models.DEFAULT_SEED, n_jobs: int = 1,
                quiet: bool = False, n_true: int = TRUE_AUC_IMAGES) -> Calibration:
    """Permutation p-values and CI coverage under the null and the fitted model.

    Parameters
    ----------
    params : SimParams
        The fitted model; its :meth:`SimParams.null` is the no-signal model.
    n_datasets, n_images, n_annotators, n_permutations, n_boot, seed, n_jobs, quiet
        Studies per model; study size; permutations; BCa replicates; master seed
        (study ``d`` of model ``c`` uses ``SeedSequence([seed, 1, c, d])``); workers.
    n_true : int
        Images of the independent draw that gives each fitted model's true AUC.

    Returns
    -------
    Calibration
        ``summary`` rows per model (``null``, ``fitted``): ``ks_statistic``,
        ``ks_p`` (one-sample Kolmogorov-Smirnov of the p-values against U(0, 1)),
        ``rejection_rate`` (p < 0.05) with Clopper-Pearson CI, ``coverage_delong``
        and ``coverage_bca`` (share of 95% intervals of the pooled out-of-fold AUC
        that contain the true AUC) with Clopper-Pearson CIs, ``mean_true_auc``,
        ``mean_pooled_auc``.

    Notes
    -----
    A Monte-Carlo permutation p-value takes values ``k / (B + 1)``; under the null
    it is (discretely) uniform, which the KS test against the continuous uniform
    judges slightly conservatively.
    """
    t0 = time.perf_counter()
    conds = [{"model": "null", "params": params.null(), "n_images": n_images,
              "n_annotators": n_annotators},
             {"model": "fitted", "params": params, "n_images": n_images,
              "n_annotators": n_annotators}]
    st = run_condition_studies(params, conds, n_datasets=n_datasets, n_permutations=n_permutations,
                               n_boot=n_boot, seed=seed, true_auc=True, n_jobs=n_jobs, quiet=quiet,
                               desc="calibration", key=1, n_true=n_true)
    rows = []
    for model, g in st.groupby("model", sort=False):
        ks = stats.kstest(g["p_value"], "uniform")
        n = len(g)
        rej = int((g["p_value"] < ALPHA).sum())
        cov_d = int(((g["delong_low"] <= g["true_auc"]) & (g["true_auc"] <= g["delong_high"])).sum())
        cov_b = int(((g["bca_low"] <= g["true_auc"]) & (g["true_auc"] <= g["bca_high"])).sum())
        r_lo, r_hi = binom_ci(rej, n)
        d_lo, d_hi = binom_ci(cov_d, n)
        b_lo, b_hi = binom_ci(cov_b, n)
        rows.append({"model": model, "n_datasets": n, "n_images": n_images,
                     "n_annotators": n_annotators, "n_permutations": n_permutations,
                     "ks_statistic": float(ks.statistic), "ks_p": float(ks.pvalue),
                     "rejection_rate": rej / n, "rejection_low": r_lo, "rejection_high": r_hi,
                     "coverage_delong": cov_d / n, "coverage_delong_low": d_lo,
                     "coverage_delong_high": d_hi, "coverage_bca": cov_b / n,
                     "coverage_bca_low": b_lo, "coverage_bca_high": b_hi,
                     "mean_true_auc": float(g["true_auc"].mean()),
                     "mean_pooled_auc": float(g["pooled_auc"].mean())})
    return Calibration(st, pd.DataFrame(rows), time.perf_counter() - t0)


@dataclass
class Power:
    studies: pd.DataFrame
    summary: pd.DataFrame  # per (n_images, n_annotators): power with CI
    elapsed: float


def power(params: SimParams, *, n_images: tuple[int, ...] = POWER_IMAGES,
          n_annotators: tuple[int, ...] = POWER_ANNOTATORS, n_datasets: int = DEFAULT_DATASETS,
          n_permutations: int = DEFAULT_PERMUTATIONS, seed: int = models.DEFAULT_SEED,
          n_jobs: int = 1, quiet: bool = False) -> Power:
    """Power of the sd-only permutation test against images and annotators.

    Parameters
    ----------
    params : SimParams
        Alternative (e.g. the fit to group 7); prevalence as in ``params``.
    n_images, n_annotators : tuple of int
        The grid.
    n_datasets, n_permutations, seed, n_jobs, quiet

    Returns
    -------
    Power
        ``summary``: one row per condition, ``power`` = share of studies with
        permutation p < 0.05, Clopper-Pearson ``power_low``/``power_high``,
        ``mean_pooled_auc``, ``mean_fold_mean_auc``.
    """
    t0 = time.perf_counter()
    conds = [{"model": "fitted", "params": params, "n_images": n, "n_annotators": j}
             for n in n_images for j in n_annotators]
    st = run_condition_studies(params, conds, n_datasets=n_datasets, n_permutations=n_permutations,
                               n_boot=100, seed=seed, true_auc=False, n_jobs=n_jobs, quiet=quiet,
                               desc="power", key=2)
    rows = []
    for (n, j), g in st.groupby(["n_images", "n_annotators"], sort=True):
        k = int((g["p_value"] < ALPHA).sum())
        lo, hi = binom_ci(k, len(g))
        rows.append({"n_images": n, "n_annotators": j, "n_datasets": len(g),
                     "n_permutations": n_permutations, "power": k / len(g), "power_low": lo,
                     "power_high": hi, "mean_pooled_auc": float(g["pooled_auc"].mean()),
                     "mean_fold_mean_auc": float(g["fold_mean_auc"].mean())})
    return Power(st, pd.DataFrame(rows), time.perf_counter() - t0)


def power_sentence(summary: pd.DataFrame, target: float = 0.8) -> str:
    """How many images and annotators reach the target power (computed from the rows)."""
    parts = []
    for j, g in summary.groupby("n_annotators", sort=True):
        ok = g[g["power"] >= target]
        if ok.empty:
            parts.append(f"with {j} annotators no size up to {g['n_images'].max()} images reaches "
                         f"{target:.0%} (at most {g['power'].max():.0%})")
        else:
            r = ok.sort_values("n_images").iloc[0]
            parts.append(f"with {j} annotators about {int(r['n_images'])} images "
                         f"(power {r['power']:.0%}, 95% CI {r['power_low']:.0%} to {r['power_high']:.0%})")
    return (f"For {target:.0%} power to detect that the sd-only model is better than random "
            f"(permutation test at 5%), a study needs " + "; ".join(parts) + ".")


def qq_plot(studies: pd.DataFrame, model: str = "null"):
    """QQ plot of permutation p-values against U(0, 1), with a 95% pointwise band."""
    import plotnine as p9

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
    import plotnine as p9

    d = summary.assign(annotators=summary["n_annotators"].astype(str))
    return (p9.ggplot(d, p9.aes("n_images", "power", color="annotators", group="annotators"))
            + p9.geom_hline(yintercept=0.8, linetype="dotted")
            + p9.geom_line() + p9.geom_point()
            + p9.geom_errorbar(p9.aes(ymin="power_low", ymax="power_high"), width=0.04)
            + p9.scale_x_log10(breaks=sorted(d["n_images"].unique()))
            + p9.labs(x="images (log scale)", y="power (p < 0.05)", color="annotators")
            + p9.theme_bw() + p9.theme(figure_size=(6, 4)))
