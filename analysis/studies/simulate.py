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

:func:`fit_to_group` estimates the parameters from a :class:`analysis.design.features.GroupDesign`
(group 7, or any data set's design: missing cells of units with unequal numbers of
raters or of positions are allowed, and a feature whose scores are not whole numbers is
simulated unrounded)
by the method of moments (on the raw ordinal scores, ignoring the rounding and
clipping: a rough fit that overstates the signal); :func:`calibrate_to_group` shrinks
its class-dependent parameters until the model's expected cvAUC of the sd features
equals the group's observed cvAUC.

The estimand is the cross-validated AUC (:mod:`analysis.statistics.cvstats`): fold-wise AUCs
averaged over repeated stratified 10-fold assignments. :func:`calibration` checks by
simulation, under two null models (label permutations of group 7's features; the
generative null) and under the calibrated model (true value by Monte Carlo,
:func:`true_values`), the coverage of the bootstrap-CV interval of the cvAUC and of a
paired difference (with the corrected repeated-CV t interval and DeLong on pooled
out-of-fold scores as comparisons) and the rejection rate of the repeated-CV
permutation test (Besag-Clifford sequential p-values); :func:`power` estimates that
test's power for the sd features against the number of images and annotators.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from ..base import budgets, seeds
from ..base.results import StudyResult
from ..design.features import GroupDesign
from ..fitting import models
from ..statistics import cvinference, cvstats, inference

__all__ = [
    "ALPHA", "Annotators", "BUDGET", "CHUNK_STUDIES", "Calibration", "FeatureTransform",
    "MAX_SHIFT_INCREASE", "METHODS", "POWER_ANNOTATORS", "POWER_IMAGES", "Power",
    "STRONG_DIFFERENCES", "STRONG_SETS", "SimParams", "Simulated", "SimulationStudy",
    "StudySettings", "TRUE_AUC_IMAGES", "analyse_study", "binom_ci", "c4_power",
    "calibrate_mean", "calibrate_to_group", "calibration", "coverage_table", "data_name",
    "draw_annotators", "draw_labels", "draw_scores", "fit_scores", "fit_to_group",
    "model_cv_auc", "moment_features", "observed_cv_auc", "power", "quantity_names",
    "raters_per_unit", "run_studies", "sd_features", "simulate", "simulate_group",
    "true_values",
]


#: Default power grid.
POWER_IMAGES = (50, 100, 200, 400)
POWER_ANNOTATORS = (3, 6, 10)
#: Counts of the simulation (:data:`analysis.base.budgets.SIMULATION`): studies per power
#: condition and per calibration model, permutations (Besag-Clifford stop after ``h``
#: exceedances) and fold assignments of the permutation statistic, bootstrap-CV
#: replicates, Monte Carlo draws of the true value, fold assignments of a group's
#: observed cvAUC (the calibration target).
BUDGET = budgets.SIMULATION
#: Images of each independent test draw of the Monte Carlo true value.
TRUE_AUC_IMAGES = 2000
ALPHA = cvinference.ALPHA


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
    shrinkage: float = 1.0  # lambda of :func:`calibrate_to_group` (1: as fitted)
    target_cv_auc: float = float("nan")  # observed cvAUC the model was calibrated to
    model_cv_auc: float = float("nan")  # the model's expected sd cvAUC (Monte Carlo)
    model_cv_auc_se: float = float("nan")
    #: Per feature, whether scores are rounded and clipped to the ordinal scale
    #: ``low..high``; None: every feature (the paper's ordinal scores).
    ordinal: tuple[bool, ...] | None = None

    def null(self) -> SimParams:
        """The no-signal model: ``mu1 = 0`` and ``sigma1 = sigma0`` = the class-pooled noise."""
        p = self.prevalence
        pooled = tuple(float(np.sqrt((1 - p) * s0**2 + p * s1**2))
                       for s0, s1 in zip(self.sigma0, self.sigma1, strict=True))
        return replace(self, mu1=0.0, sigma0=pooled, sigma1=pooled)

    def shrink(self, lam: float) -> SimParams:
        """Class-dependent parameters shrunk by ``lam`` towards the null.

        ``mu1 -> lam mu1`` and ``log(sigma1 / sigma0) -> lam log(sigma1 / sigma0)``
        per feature, keeping the class-pooled noise variance
        ``(1 - p) sigma0^2 + p sigma1^2``: ``shrink(1)`` is the model itself and
        ``shrink(0)`` equals :meth:`null`.
        """
        p = self.prevalence
        s0, s1 = np.asarray(self.sigma0), np.asarray(self.sigma1)
        pooled = np.sqrt((1 - p) * s0**2 + p * s1**2)
        r = np.exp(lam * np.log(s1 / s0))
        n0 = pooled / np.sqrt((1 - p) + p * r**2)
        return replace(self, mu1=float(lam * self.mu1), sigma0=tuple(map(float, n0)),
                       sigma1=tuple(map(float, r * n0)))

    def tidy(self) -> pd.DataFrame:
        """One row per feature with every parameter (global ones repeated)."""
        d = asdict(self)
        out = pd.DataFrame({k: d[k] for k in ("features", "low", "high", "intercept", "loading",
                                               "tau_b", "sigma0", "sigma1")})
        # the rating scale's ends are a range, not an interval (analysis.base.columns)
        out = out.rename(columns={"features": "feature", "low": "scale_min", "high": "scale_max"})
        out["sigma_ratio"] = out["sigma1"] / out["sigma0"]
        for k in ("mu1", "tau_nu", "prevalence", "shrinkage", "target_cv_auc", "model_cv_auc"):
            out[k] = d[k]
        out["model_cv_auc_std_error"] = d["model_cv_auc_se"]
        if self.ordinal is not None:
            out["ordinal"] = list(self.ordinal)
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
        d = np.clip(np.round(x), np.asarray(params.low)[None, None],
                    np.asarray(params.high)[None, None])
        x = d if params.ordinal is None else np.where(np.asarray(params.ordinal)[None, None], d, x)
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
        """The :class:`analysis.design.features.GroupDesign` of the simulated study."""
        from ..design.features import group_design

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
        ``.tidy()`` and ``.labels()`` feed :func:`analysis.design.features.group_design`;
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

    Missing scores (NaN: a rater who did not score a unit, or a position a unit does
    not have) are handled by :func:`_fit_scores_missing`; an array without NaN takes
    the formulas above unchanged.
    """
    x = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=int)
    if np.isnan(x).any():
        return _fit_scores_missing(x, y, features, low=low, high=high)
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


def _fit_scores_missing(x: np.ndarray, y: np.ndarray, features: tuple[str, ...], *,
                        low=None, high=None) -> SimParams:
    """:func:`fit_scores` with missing cells: each average is taken over the scores present.

    Notes
    -----
    With ``J_if`` the number of raters who scored feature ``f`` of unit ``i`` and
    ``N_jf`` the number of units rater ``j`` scored: ``m_if`` and the rater means
    are means over the scores present; ``sigma_yf^2`` is the class mean of
    ``sum_j r_ijf^2 / (J_if - 1)`` (units with ``J_if >= 2``); ``J`` becomes ``J_if``
    in the variance of ``m_if`` (``sigma_yf^2 / J_if`` averaged over the class) and in
    the factor ``J / (J - 1)`` of ``nu2_j``; ``n`` becomes ``N_jf`` in the sampling
    variance of the rater means (``sigma^2 / N_jf`` averaged over raters) and ``n F``
    the number of scores of rater ``j`` in that of ``log nu2_j``. The residuals are
    centred with the raters' biases of the raters a unit has, whose mean need not be
    zero: a second approximation of this rough fit.
    """
    n, J, F = x.shape
    present = ~np.isnan(x)
    cnt = present.sum(axis=1).astype(float)  # (n, F)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.nanmean(x, axis=1)  # (n, F)
        col = np.nanmean(x, axis=0)  # (J, F)
        b = col - np.nanmean(col, axis=0, keepdims=True)
        r = x - m[:, None, :] - b[None]
        v = np.where(cnt >= 2, np.nansum(r**2, axis=1) / (cnt - 1), np.nan)
    sig0 = np.sqrt(np.nanmean(v[y == 0], axis=0))
    sig1 = np.sqrt(np.nanmean(v[y == 1], axis=0))
    sig_bar = np.sqrt((1 - y.mean()) * sig0**2 + y.mean() * sig1**2)
    n_jf = present.sum(axis=0)  # (J, F)
    rated = n_jf > 0
    b_var = np.array([np.var(b[rated[:, f], f], ddof=1) for f in range(F)])
    samp = np.array([np.mean(sig_bar[f] ** 2 / n_jf[rated[:, f], f]) for f in range(F)])
    tau_b = np.sqrt(np.maximum(b_var - samp, 0.0))
    n0, n1 = (y == 0).sum(), (y == 1).sum()
    inv = np.where(cnt > 0, 1.0 / np.maximum(cnt, 1), np.nan)
    var0 = np.nanvar(m[y == 0], axis=0, ddof=1) - sig0**2 * np.nanmean(inv[y == 0], axis=0)
    var1 = np.nanvar(m[y == 1], axis=0, ddof=1) - sig1**2 * np.nanmean(inv[y == 1], axis=0)
    a2 = ((n0 - 1) * var0 + (n1 - 1) * var1) / (n0 + n1 - 2)
    a = np.sqrt(np.maximum(a2, 1e-12))
    D = np.nanmean(m[y == 1], axis=0) - np.nanmean(m[y == 0], axis=0)
    mu1 = float((a * D).sum() / (a**2).sum())
    c = np.nanmean(m[y == 0], axis=0)
    sig_i = np.where(y[:, None] == 1, sig1[None], sig0[None])  # (n, F)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(cnt >= 2, cnt / (cnt - 1), np.nan)  # (n, F)
        cell = (r**2) / sig_i[:, None, :] ** 2 * factor[:, None, :]
    cell = np.where(present & np.isfinite(cell), cell, np.nan)
    n_cells = np.isfinite(cell).sum(axis=(0, 2))  # scores per rater
    keep = n_cells > 0
    nu2 = np.nansum(cell, axis=(0, 2))[keep] / n_cells[keep]
    lv = np.log(nu2).var(ddof=1) if keep.sum() > 1 else 0.0
    tau_nu = float(np.sqrt(max((lv - np.mean(2.0 / n_cells[keep])) / 4.0, 0.0)))
    lo = tuple(float(v) for v in (np.nanmin(x, axis=(0, 1)) if low is None else low))
    hi = tuple(float(v) for v in (np.nanmax(x, axis=(0, 1)) if high is None else high))
    return SimParams(tuple(features), lo, hi, tuple(map(float, c)), tuple(map(float, a)),
                     tuple(map(float, tau_b)), tuple(map(float, sig0)), tuple(map(float, sig1)),
                     mu1, tau_nu, float(y.mean()))


def raters_per_unit(design: GroupDesign) -> int:
    """Raters of a typical unit of a design: the median over units of the number of
    raters who scored it (every rater of a complete design)."""
    feats, anns = design.features, design.annotators
    scored = np.zeros(len(design.raw), dtype=int)
    for a in anns:
        scored += design.raw[[f"{f}_{a}" for f in feats]].notna().any(axis=1).to_numpy()
    return int(round(float(np.median(scored)))) if len(scored) else len(anns)


def data_name(design: GroupDesign | None) -> str:
    """How the text names a design's data: "group 7" for the paper's group (or no
    design), "the simulated study" for :meth:`Simulated.design`, else the data set's
    name."""
    if design is None or (design.cohort, design.group) == ("2017-2018", "group07"):
        return "group 7"
    if design.cohort == "simulated":
        return "the simulated study"
    return str(design.settings.get("name", design.group))


def fit_to_group(design: GroupDesign) -> SimParams:
    """Rough method-of-moments fit of the model to a group (default use: group 7).

    Parameters
    ----------
    design : GroupDesign
        Uses the raw scores of the kept units (``design.raw``; missing cells of units
        with unequal numbers of raters, or of positions, are allowed) and the labels.

    Returns
    -------
    SimParams
        The ordinal scale of each feature is the range of its observed scores; a
        feature with a score that is not a whole number is continuous (``ordinal``
        False: its simulated scores are not rounded). See :func:`fit_scores` for the
        estimators.
    """
    F, J = len(design.features), len(design.annotators)
    cols = [f"{f}_{a}" for a in design.annotators for f in design.features]
    x = design.raw[cols].to_numpy(dtype=float).reshape(-1, J, F)
    p = fit_scores(x, design.labels, design.features)
    whole = [bool(np.all(np.isnan(v) | (v == np.round(v)))) for v in np.moveaxis(x, 2, 0)]
    return p if all(whole) else replace(p, ordinal=tuple(whole))


# --- feature sets of a simulated study ---------------------------------------------------

def _zscore_cols(a: np.ndarray, mu=None, sd=None):
    mu = a.mean(axis=0) if mu is None else mu
    sd = a.std(axis=0, ddof=1) if sd is None else sd
    sd = np.where(sd > 0, sd, 1.0)
    return (a - mu) / sd, mu, sd


@dataclass
class FeatureTransform:
    """Standardisations learned on one study (to score new images with its models)."""

    col_mu: np.ndarray
    col_sd: np.ndarray
    mean_mu: np.ndarray
    mean_sd: np.ndarray
    sd_mu: np.ndarray
    sd_sd: np.ndarray


#: Backwards-compatible name.
SdTransform = FeatureTransform


def moment_features(scores: np.ndarray, transform: FeatureTransform | None = None
                    ) -> tuple[dict[str, np.ndarray], FeatureTransform]:
    """The paper's ``mean``, ``sd`` and ``mean+sd`` feature sets of a (n, J, F) score array.

    Z-score every annotation column over images; take the mean and the sd (ddof=1)
    across annotators per feature; z-score each over images. Equal to
    ``group_design(...).matrix(name)`` of the same study (tested). With ``transform``
    the standardisations of another study are applied instead (new images scored by
    models fitted on that study).

    Returns
    -------
    sets : dict
        ``"mean"``, ``"sd"`` (n, F) and ``"mean+sd"`` (n, 2F, mean columns first).
    transform : FeatureTransform
    """
    n, J, F = scores.shape
    flat = scores.reshape(n, J * F)
    t = transform
    z, cmu, csd = _zscore_cols(flat) if t is None else _zscore_cols(flat, t.col_mu, t.col_sd)
    z = z.reshape(n, J, F)
    mean = z.mean(axis=1)
    sd = z.std(axis=1, ddof=1) if J > 1 else np.zeros((n, F))
    m, mmu, msd = _zscore_cols(mean) if t is None else _zscore_cols(mean, t.mean_mu, t.mean_sd)
    s, smu, ssd = _zscore_cols(sd) if t is None else _zscore_cols(sd, t.sd_mu, t.sd_sd)
    sets = {"mean": m, "sd": s, "mean+sd": np.hstack([m, s])}
    return sets, FeatureTransform(cmu, csd, mmu, msd, smu, ssd)


def sd_features(scores: np.ndarray, transform: FeatureTransform | None = None
                ) -> tuple[np.ndarray, FeatureTransform]:
    """The ``sd`` set of :func:`moment_features` and its transform."""
    sets, tr = moment_features(scores, transform)
    return sets["sd"], tr


# --- the cross-validated analysis of one study -------------------------------------------

@dataclass(frozen=True)
class StudySettings:
    """How one (simulated or permuted) study is analysed.

    Attributes
    ----------
    sets : tuple of str
        Feature sets cross-validated on the same splits (names of
        :func:`moment_features`).
    differences : tuple of (str, str)
        Paired differences ``cvAUC(a) - cvAUC(b)``.
    n_repeats : int
        Stratified K-fold assignments of the cvAUC estimate.
    n_boot, boot_repeats : int
        Bootstrap-CV replicates and the fold assignments inside each
        (:func:`analysis.statistics.cvstats.bootstrap_cv_splits`); 0 replicates skips the interval.
    n_permutations, perm_repeats, h : int
        Permutation test of ``perm_set`` (at most ``n_permutations``, each with its own
        ``perm_repeats`` fold assignments; Besag-Clifford stop after ``h`` exceedances;
        ``n_permutations = 0`` skips the test).
    perm_set : str
    estimator : {"mle", "firth"}
    n_splits : int
        Folds (fewer when the rarer class has fewer images; the fold rule
        :func:`analysis.statistics.cvinference.fold_count`, which raises below 2; the study's row
        records the folds used in ``n_folds``).
    pooled : bool
        Also DeLong intervals of the pooled out-of-fold scores of repeat 0 (comparison).
    pooled_boot : int
        Replicates of a BCa interval of the pooled scores of ``perm_set`` (comparison;
        0 skips it).
    """

    sets: tuple[str, ...] = ("sd", "mean")
    differences: tuple[tuple[str, str], ...] = (("mean", "sd"),)
    n_repeats: int = BUDGET.calibration_repeats
    n_boot: int = BUDGET.n_boot
    boot_repeats: int = cvstats.BOOT_CV_REPEATS
    n_permutations: int = BUDGET.n_permutations
    perm_repeats: int = BUDGET.perm_repeats
    h: int = BUDGET.h
    perm_set: str = "sd"
    estimator: str = "mle"
    n_splits: int = 10
    pooled: bool = True
    pooled_boot: int = BUDGET.pooled_boot

    def __post_init__(self):
        if self.n_permutations and self.perm_repeats > self.n_repeats:
            raise ValueError("perm_repeats must not exceed n_repeats (the observed statistic "
                             "uses the first perm_repeats repeats)")
        if self.n_permutations and self.perm_set not in self.sets:
            raise ValueError(f"perm_set {self.perm_set!r} is not among sets {self.sets}")
        for a, b in self.differences:
            if a not in self.sets or b not in self.sets:
                raise ValueError(f"difference ({a}, {b}) needs both sets in {self.sets}")


def quantity_names(settings: StudySettings) -> list[str]:
    """``auc_<set>`` per set and ``diff_<a>_<b>`` per difference (column prefixes)."""
    return ([f"auc_{s}" for s in settings.sets]
            + [f"diff_{a}_{b}" for a, b in settings.differences])


def _child_seq(seq: np.random.SeedSequence, j: int) -> np.random.SeedSequence:
    """The ``j``-th child of ``seq`` (as ``seq.spawn`` would give), without spawning 0..j-1."""
    return np.random.SeedSequence(seq.entropy, spawn_key=tuple(seq.spawn_key) + (j,))


def _fold_splits(y: np.ndarray, k: int, states) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold (train, test) pairs, one assignment per RandomState ``state``
    (:func:`analysis.fitting.models.stratified_fold_numbers`, scikit-learn's assignment)."""
    idx = np.arange(len(y))
    out = []
    for st in states:
        fold = models.stratified_fold_numbers(y, k, int(st))
        for f in range(k):
            t = fold == f
            out.append((idx[~t], idx[t]))
    return out


def _engine(X, Y, splits, estimator):
    from ..fitting import engine

    return engine.cross_validate_batch(X, Y, splits, estimator=estimator, n_jobs=1, memo=False)


def analyse_study(Xs: dict[str, np.ndarray], y: np.ndarray, settings: StudySettings, *,
                  seed_seq: np.random.SeedSequence) -> dict:
    """Cross-validated analysis of one study: cvAUCs, their intervals, the permutation test.

    Parameters
    ----------
    Xs : dict
        Design matrix of every set in ``settings.sets`` (same images, same order).
    y : ndarray of 0/1
    settings : StudySettings
    seed_seq : SeedSequence
        Children 0 (fold assignments of the estimate), 1 (bootstrap-CV), 2
        (permutations; permutation ``j`` uses child ``j`` of child 2) and 3 (BCa).

    Returns
    -------
    dict
        For each quantity ``q`` of :func:`quantity_names`: ``q`` (the estimate:
        cvAUC over ``n_repeats`` assignments, or the difference of two on the same
        folds), ``q_boot_std_error``, ``q_boot_conf_low``, ``q_boot_conf_high`` (bootstrap-CV interval,
        :func:`analysis.statistics.cvstats.bootstrap_cv_interval`), ``q_nb_conf_low``, ``q_nb_conf_high``
        (corrected repeated-CV t interval, :func:`analysis.statistics.cvstats.corrected_cv_interval`),
        ``q_pooled``, ``q_delong_conf_low``, ``q_delong_conf_high`` (DeLong on the pooled scores of
        repeat 0; paired DeLong for a difference), ``auc_<perm_set>_bca_conf_low/high`` (BCa
        interval of those pooled scores, ``pooled_boot`` replicates). Then ``n_folds``, ``perm_statistic``
        (mean fold AUC of ``perm_set`` over the first ``perm_repeats`` repeats),
        ``p_value`` (Besag-Clifford,
        :func:`analysis.statistics.cvinference.sequential_permutation_test`), ``n_perm_used``,
        ``n_null_nan``.

    Notes
    -----
    Every feature set is fitted on the same splits (estimate repeats and bootstrap
    replicates), so the differences are paired. The observed splits and bootstrap
    splits of a set go to the engine in one call; the ``perm_set``'s call also holds
    the first block of permutations (20), later blocks double until the
    ``h``-th exceedance or ``n_permutations``. Each permutation draws its own labels
    and fold assignments from its own seed, so the result does not depend on the
    blocks.
    """
    st = settings
    y = np.asarray(y, dtype=int)
    n = len(y)
    k = cvinference.fold_count(y, st.n_splits).n_splits
    s_obs, s_boot, s_perm, s_bca = seed_seq.spawn(4)
    obs = _fold_splits(y, k, s_obs.generate_state(st.n_repeats))
    n_obs = len(obs)
    boot = []
    if st.n_boot > 0:
        bs, _ = cvstats.bootstrap_cv_splits(y, n_boot=st.n_boot, n_repeats=st.boot_repeats,
                                            n_splits=k, seed=int(s_boot.generate_state(1)[0]))
        boot = [(s.train, s.test) for s in bs]
    base = obs + boot
    ratio = float(np.mean([len(te) / len(tr) for tr, te in obs]))

    def perm_block(j0, m):
        sp, lab = [], []
        for j in range(j0, j0 + m):
            rng = np.random.default_rng(_child_seq(s_perm, j))
            yp = rng.permutation(y)
            ps = _fold_splits(yp, k, rng.integers(0, 2**32, size=st.perm_repeats))
            sp += ps
            lab += [yp] * len(ps)
        return sp, lab

    out: dict = {}
    obs_auc, pooled = {}, {}
    block = min(20, st.n_permutations)
    perm_first = None
    for s in st.sets:
        X = Xs[s]
        splits, labels = list(base), None
        if s == st.perm_set and st.n_permutations:
            sp, lab = perm_block(0, block)
            splits += sp
            labels = np.vstack([np.broadcast_to(y, (len(base), n))] + [np.stack(lab)]).astype(np.int8)
        res = _engine(X, y if labels is None else labels, splits, st.estimator)
        auc = np.asarray(res["auc"], dtype=float)
        obs_auc[s] = auc[:n_obs]
        if boot:
            out[f"_boot_{s}"] = np.nanmean(auc[n_obs:len(base)].reshape(st.n_boot, -1), axis=1)
        if s == st.perm_set and st.n_permutations:
            perm_first = auc[len(base):]
        if st.pooled:
            sc = np.empty(n)
            ts = res["test_scores"]
            for i, (_, te) in enumerate(obs[:k]):
                sc[te] = np.asarray(ts[i])[: len(te)]
            pooled[s] = sc

    def fill(q, est, fold_values, reps, null, bounds, pooled_ci):
        out[q] = float(est)
        b = (cvinference.cv_auc_interval(est, reps, null=null, bounds=bounds) if boot
             else None)
        out[f"{q}_boot_std_error"], out[f"{q}_boot_conf_low"], out[f"{q}_boot_conf_high"] = (
            (b.se, b.low, b.high) if b is not None else (np.nan, np.nan, np.nan))
        nb = cvstats.corrected_cv_interval(fold_values, ratio, null=null)
        out[f"{q}_nb_conf_low"], out[f"{q}_nb_conf_high"] = nb["low"], nb["high"]
        if pooled_ci is not None:
            out[f"{q}_pooled"], out[f"{q}_delong_conf_low"], out[f"{q}_delong_conf_high"] = pooled_ci

    for s in st.sets:
        d = inference.delong_ci(y, pooled[s]) if st.pooled else None
        fill(f"auc_{s}", np.nanmean(obs_auc[s]), obs_auc[s], out.get(f"_boot_{s}"), 0.5, (0.0, 1.0),
             None if d is None else (d["auc"], d["low"], d["high"]))
    for a, b in st.differences:
        d = inference.delong_paired(y, pooled[a], pooled[b]) if st.pooled else None
        reps = (out[f"_boot_{a}"] - out[f"_boot_{b}"]) if boot else None
        fill(f"diff_{a}_{b}", np.nanmean(obs_auc[a]) - np.nanmean(obs_auc[b]),
             obs_auc[a] - obs_auc[b], reps, 0.0, (-1.0, 1.0),
             None if d is None else (d["diff"], d["low"], d["high"]))
    for s in st.sets:
        out.pop(f"_boot_{s}", None)
    if st.pooled and st.pooled_boot and st.perm_set in st.sets:
        q = f"auc_{st.perm_set}"
        b = inference.bootstrap_auc_ci(y, pooled[st.perm_set], n_boot=st.pooled_boot,
                                       rng=np.random.default_rng(s_bca)).set_index("method")
        out[f"{q}_bca_conf_low"], out[f"{q}_bca_conf_high"] = (b.loc["bca", "low"],
                                                          b.loc["bca", "high"])
    out["n_folds"] = k
    out.update(perm_statistic=np.nan, p_value=np.nan, n_perm_used=0, n_null_nan=0)
    if st.n_permutations:
        per = st.perm_repeats * k
        observed = float(np.nanmean(obs_auc[st.perm_set][:per]))

        def statistics(auc: np.ndarray) -> np.ndarray:
            return np.nanmean(auc.reshape(len(auc) // per, per), axis=1)

        def draw(start: int, stop: int) -> np.ndarray:
            sp, lab = perm_block(start, stop - start)
            return statistics(np.asarray(_engine(Xs[st.perm_set], np.stack(lab).astype(np.int8),
                                                 sp, st.estimator)["auc"], dtype=float))

        test = cvinference.sequential_permutation_test(
            observed, draw, h=st.h, n_max=st.n_permutations, first=statistics(perm_first),
            grow=True)
        out.update(perm_statistic=observed, p_value=test.pvalue, n_perm_used=test.n_resamples,
                   n_null_nan=test.n_nan)
    return out


# --- tasks: studies drawn from a model or label permutations of real features ------------

def _study_chunk(task):
    """Analyse a chunk of studies. ``task = (source, n_images, n_annotators, seqs, settings)``;
    ``source`` is a SimParams (generative model) or ``(Xs, y)`` (label permutations)."""
    source, n_images, n_annotators, seqs, settings = task
    rows = []
    for seq in seqs:
        draw_seq, analysis_seq = seq.spawn(2)
        rng = np.random.default_rng(draw_seq)
        if isinstance(source, SimParams):
            sim = simulate(source, n_images, n_annotators=n_annotators, rng=rng)
            Xs, _ = moment_features(sim.scores)
            y = sim.y
        else:
            Xs, y0 = source
            y = rng.permutation(y0)
        rows.append(analyse_study(Xs, y, settings, seed_seq=analysis_seq))
    return rows


#: Studies per worker task (fixed, so results do not depend on the number of workers).
CHUNK_STUDIES = 8


def run_studies(conditions: list[dict], settings: StudySettings, *, n_datasets: int, seed: int,
                stream: str, n_jobs: int = 1, first_condition: int = 0) -> pd.DataFrame:
    """One row per study of every condition.

    Parameters
    ----------
    conditions : list of dict
        ``model`` (label), ``source`` (SimParams, or ``(Xs, y)`` of real features whose
        labels are permuted), ``n_images``, ``n_annotators``.
    settings : StudySettings
    n_datasets, seed, stream, n_jobs
        Study ``d`` of condition ``c`` is seeded by the named stream ``stream``
        (:mod:`analysis.base.seeds`: ``sim_calibration`` or ``sim_power``) with keys ``c, d``;
        studies go to :func:`analysis.fitting.engine.parallel_map` in fixed chunks, so the
        rows do not depend on ``n_jobs``.
    first_condition : int
        Index ``c`` of the first condition (conditions run in a second call with other
        settings continue the numbering, so their studies get streams of their own).
    """
    from ..fitting import engine

    tasks, meta = [], []
    for c, cond in enumerate(conditions, start=first_condition):
        seqs = [seeds.seed_sequence(stream, seed, c, d) for d in range(n_datasets)]
        for a in range(0, n_datasets, CHUNK_STUDIES):
            tasks.append((cond["source"], cond["n_images"], cond["n_annotators"],
                          seqs[a:a + CHUNK_STUDIES], settings))
        meta += [{"model": cond["model"], "n_images": cond["n_images"],
                  "n_annotators": cond["n_annotators"], "dataset": d} for d in range(n_datasets)]
    res = [r for chunk in engine.parallel_map(_study_chunk, tasks, n_jobs=n_jobs) for r in chunk]
    return pd.concat([pd.DataFrame(meta), pd.DataFrame(res)], axis=1)


# --- the true value of the estimand under a generative model ------------------------------

def _truth_chunk(task):
    params, n_images, n_annotators, k, n_test, seqs, sets, estimator = task
    n_mel = max(2, int(round(params.prevalence * n_images)))
    n_train = int(round(n_images * (k - 1) / k))
    m_train = int(round(n_mel * (k - 1) / k))
    m_test = max(1, int(round(params.prevalence * n_test)))
    rows = []
    for seq in seqs:
        rng = np.random.default_rng(seq)
        ann = draw_annotators(params, n_annotators, rng)
        tr = simulate(params, n_train, n_melanoma=m_train, annotators=ann, rng=rng)
        te = simulate(params, n_test, n_melanoma=m_test, annotators=ann, rng=rng)
        f_tr, transform = moment_features(tr.scores)
        f_te, _ = moment_features(te.scores, transform)
        # fit on the training draw (the engine's fit; its test fold is a dummy) and
        # take the AUC of the linear predictor on the test draw
        split = [(np.arange(n_train), np.arange(1))]
        row = {}
        for s in sets:
            coef = _engine(f_tr[s], tr.y, split, estimator)["coef"][0]
            row[s] = float(inference.auc(te.y, coef[0] + f_te[s] @ coef[1:]))
        rows.append(row)
    return rows


def true_values(params: SimParams, *, n_images: int = 96, n_annotators: int = 6,
                sets: tuple[str, ...] = ("sd", "mean"),
                differences: tuple[tuple[str, str], ...] = (("mean", "sd"),),
                n_splits: int = 10, n_draws: int = 400, n_test: int = TRUE_AUC_IMAGES,
                seed: int = models.DEFAULT_SEED, estimator: str = "mle",
                n_jobs: int = 1) -> pd.DataFrame:
    """Monte Carlo true value of the cvAUC estimand (and of paired differences).

    Parameters
    ----------
    params : SimParams
    n_images, n_annotators, n_splits
        The study whose cross-validation the estimand describes.
    sets, differences
        As :class:`StudySettings`.
    n_draws : int
        Training sets drawn.
    n_test : int
        Images of each independent test draw.
    seed, estimator, n_jobs

    Returns
    -------
    DataFrame
        One row per quantity (:func:`quantity_names`): ``truth`` and ``truth_mc_std_error``
        (Monte Carlo standard error), ``n_draws``.

    Notes
    -----
    The cvAUC of a study of ``n`` images estimates the expected AUC of a model
    trained on ``n (K-1)/K`` of them: ``E_T[AUC(f_T)]``, the expectation over
    training sets ``T`` (and crowds: each draw has new annotators, as a new study
    would) of the population AUC of the model fitted on ``T``. Draw ``d``
    (``SeedSequence([seed, 4, d])``) simulates a training set of
    ``round(n (K-1)/K)`` images (``round(m (K-1)/K)`` melanomas) and ``n_test`` new
    images rated by the same annotators, standardises both with the training set's
    column and moment scales, fits each set on the training set and takes the AUC
    on the test draw. For a difference the same draws fit both sets.
    """
    from ..fitting import engine

    seqs = [seeds.seed_sequence("sim_truth", seed, d) for d in range(n_draws)]
    tasks = [(params, n_images, n_annotators, n_splits, n_test, seqs[a:a + 25], tuple(sets),
              estimator) for a in range(0, n_draws, 25)]
    draws = pd.DataFrame([r for ch in engine.parallel_map(_truth_chunk, tasks, n_jobs=n_jobs)
                          for r in ch])
    rows = []
    for s in sets:
        v = draws[s].to_numpy()
        rows.append({"quantity": f"auc_{s}", "truth": float(v.mean()),
                     "truth_mc_std_error": float(v.std(ddof=1) / np.sqrt(len(v))), "n_draws": n_draws})
    for a, b in differences:
        v = (draws[a] - draws[b]).to_numpy()
        rows.append({"quantity": f"diff_{a}_{b}", "truth": float(v.mean()),
                     "truth_mc_std_error": float(v.std(ddof=1) / np.sqrt(len(v))), "n_draws": n_draws})
    return pd.DataFrame(rows)


def _null_truth(settings: StudySettings) -> pd.DataFrame:
    """Under no signal every fitted model's population AUC is exactly 1/2."""
    q = quantity_names(settings)
    return pd.DataFrame({"quantity": q, "truth": [0.5 if x.startswith("auc_") else 0.0 for x in q],
                         "truth_mc_std_error": 0.0, "n_draws": 0})


# --- calibration of the generative model to the observed cvAUC ---------------------------

def _cv_auc_chunk(task):
    params, n_images, n_annotators, seqs, n_repeats, estimator, feature_set = task
    out = []
    for seq in seqs:
        draw_seq, fold_seq = seq.spawn(2)
        sim = simulate(params, n_images, n_annotators=n_annotators,
                       rng=np.random.default_rng(draw_seq))
        X = moment_features(sim.scores)[0][feature_set]
        sp = _fold_splits(sim.y, cvinference.fold_count(sim.y).n_splits,
                          fold_seq.generate_state(n_repeats))
        out.append(float(np.nanmean(_engine(X, sim.y, sp, estimator)["auc"])))
    return out


def model_cv_auc(params: SimParams, *, n_images: int = 96, n_annotators: int = 6,
                 n_studies: int = 200, n_repeats: int = 2, seed: int = models.DEFAULT_SEED,
                 estimator: str = "mle", n_jobs: int = 1,
                 feature_set: str = "sd") -> tuple[float, float]:
    """Expected cvAUC of a feature set (default the sd features) under ``params``, by a
    fixed-seed Monte Carlo.

    Study ``d`` is seeded by ``SeedSequence([seed, 3, d])`` whatever ``params`` are:
    the same standard normal draws for every parameter value (common random numbers),
    so that the estimate is a smooth, reproducible function of the parameters.

    Returns
    -------
    mean, mc_se : float
        Mean over studies of the cvAUC (``n_repeats`` stratified 10-fold
        assignments) and its Monte Carlo standard error.
    """
    from ..fitting import engine

    seqs = [seeds.seed_sequence("sim_model_cv_auc", seed, d) for d in range(n_studies)]
    if feature_set not in ("sd", "mean", "mean+sd"):
        raise ValueError(f"feature_set must be 'sd', 'mean' or 'mean+sd', got {feature_set!r}")
    tasks = [(params, n_images, n_annotators, seqs[a:a + 25], n_repeats, estimator, feature_set)
             for a in range(0, n_studies, 25)]
    v = np.array([x for ch in engine.parallel_map(_cv_auc_chunk, tasks, n_jobs=n_jobs) for x in ch])
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))


def observed_cv_auc(design: GroupDesign, *, feature_set: str = "sd",
                    n_repeats: int = BUDGET.observed_repeats,
                    seed: int = models.DEFAULT_SEED,
                    estimator: str = "mle") -> float:
    """cvAUC of a group: mean fold AUC over ``n_repeats`` stratified 10-fold assignments
    (:func:`analysis.fitting.models.stratified_splits` with ``seed``), with the design's
    groups as the review folds them (no group split; the fold count of
    :func:`analysis.statistics.cvinference.fold_count`), so that the model is calibrated
    to the cvAUC the review reports."""
    y = design.labels
    groups = getattr(design, "group_codes", None)
    sp = models.stratified_splits(y, n_splits=cvinference.fold_count(y, groups=groups).n_splits,
                                  n_repeats=n_repeats, seed=seed, groups=groups)
    cv = models.cross_validate(design.matrix(feature_set), y, sp, estimator=estimator)
    return float(cv.folds["auc"].mean())


def calibrate_to_group(design: GroupDesign, *, params: SimParams | None = None,
                       n_repeats: int = BUDGET.observed_repeats,
                       n_studies: int = BUDGET.calibration_studies,
                       mc_repeats: int = 1, xtol: float = 5e-3,
                       seed: int = models.DEFAULT_SEED, estimator: str = "mle",
                       n_jobs: int = 1) -> SimParams:
    """The model fitted to a group, shrunk so that its expected sd cvAUC equals the group's.

    Parameters
    ----------
    design : GroupDesign
        The group (default use: group 7).
    params : SimParams, optional
        The unshrunk model; default :func:`fit_to_group` of ``design``.
    n_repeats : int
        Fold assignments of the observed cvAUC (:func:`observed_cv_auc`, seed ``seed``).
    n_studies, mc_repeats : int
        Monte Carlo of the model's expected cvAUC (:func:`model_cv_auc`): studies of the
        group's size and number of raters per unit (:func:`raters_per_unit`; every
        annotator of a complete design), each cross-validated over
        ``mc_repeats`` fold assignments.
    xtol : float
        Tolerance of the shrinkage factor.
    seed, estimator, n_jobs

    Returns
    -------
    SimParams
        ``params.shrink(lambda)`` with ``shrinkage = lambda``, ``target_cv_auc`` (the
        observed cvAUC) and ``model_cv_auc`` (the Monte Carlo expected cvAUC at lambda,
        MC standard error in ``model_cv_auc_se``).

    Notes
    -----
    The method-of-moments fit ignores that rounding and clipping couple the spread
    of the scores to their mean, and overstates the signal (expected sd cvAUC about
    0.85 against about 0.77 observed for group 7). The class-dependent parameters
    are shrunk by one factor (:meth:`SimParams.shrink`): ``mu1 -> lambda mu1`` and
    ``log(sigma1 / sigma0) -> lambda log(sigma1 / sigma0)`` at the class-pooled noise
    variance, so ``lambda = 1`` is the fit and ``lambda = 0`` the null model.
    ``lambda`` solves ``E_lambda[cvAUC] = target`` by Brent's method on
    ``[0, 1]`` (a deterministic root search: the Monte Carlo uses common random
    numbers, :func:`model_cv_auc`); if even ``lambda = 1`` falls short of the target,
    ``lambda = 1`` is returned and ``model_cv_auc`` shows the gap.
    """
    from scipy.optimize import brentq

    base = fit_to_group(design) if params is None else params
    target = observed_cv_auc(design, n_repeats=n_repeats, seed=seed, estimator=estimator)
    kw = dict(n_images=design.n_images, n_annotators=raters_per_unit(design), n_studies=n_studies,
              n_repeats=mc_repeats, seed=seed, estimator=estimator, n_jobs=n_jobs)
    # under the null model (lambda = 0) every fold AUC has expectation exactly 1/2
    cache: dict[float, tuple[float, float]] = {0.0: (0.5, 0.0)}

    def f(lam):
        if lam not in cache:
            cache[lam] = model_cv_auc(base.shrink(lam), **kw)
        return cache[lam][0] - target

    if f(1.0) <= 0:
        lam = 1.0
    elif f(0.0) >= 0:
        lam = 0.0
    else:
        lam = float(brentq(f, 0.0, 1.0, xtol=xtol))
    f(lam)
    return replace(base.shrink(lam), shrinkage=lam, target_cv_auc=target,
                   model_cv_auc=cache[lam][0], model_cv_auc_se=cache[lam][1])


#: Largest increase of the latent shift ``mu1`` tried by :func:`calibrate_mean`
#: (latent standard deviations).
MAX_SHIFT_INCREASE = 6.0


def calibrate_mean(design: GroupDesign, params: SimParams, *,
                   n_repeats: int = BUDGET.observed_repeats,
                   n_studies: int = BUDGET.calibration_studies, mc_repeats: int = 1,
                   xtol: float = 5e-3, seed: int = models.DEFAULT_SEED,
                   estimator: str = "mle", n_jobs: int = 1) -> tuple[SimParams, dict]:
    """The strong-signal scenario: the calibrated model with a second calibration target,
    the group's cvAUC of the **mean** features.

    :func:`calibrate_to_group` matches the sd set only; its mean set is then weaker than
    group 7's (expected cvAUC about 0.82 against 0.95), so coverage and power computed
    under it never see data as strongly separated as the paper's. Two parameters are
    solved in turn, each by Brent's method with common random numbers
    (:func:`model_cv_auc`):

    1. the latent shift ``mu1`` on ``[mu1, mu1 + MAX_SHIFT_INCREASE]``, so that the
       expected cvAUC of the mean set equals the group's;
    2. at that shift, a factor ``r`` in ``[0, 1]`` of the class-dependent noise
       (``log(sigma1 / sigma0) -> r log(sigma1 / sigma0)`` at the class-pooled variance,
       :meth:`SimParams.shrink` without its shift), so that the expected cvAUC of the
       sd set equals the group's again: a larger shift also moves the sd set, through
       rounding and clipping at the top of the scale.

    The mean set's expected cvAUC is then recomputed at the final parameters (step 2
    changes the noise of melanomas a little). A target out of reach gives the end of
    the bracket, and the gap shows in ``info``.

    Returns
    -------
    strong : SimParams
        ``params`` with the new ``mu1``, ``sigma0``, ``sigma1``; ``model_cv_auc`` its
        expected sd cvAUC.
    info : dict
        ``mu1_calibrated`` (the sd calibration's), ``mu1``, ``noise_factor`` (r),
        ``target_mean_cv_auc``, ``model_mean_cv_auc`` and ``_se``,
        ``target_sd_cv_auc``, ``model_sd_cv_auc`` and ``_se`` (Monte Carlo,
        ``n_studies`` studies of the group's size, at the final parameters).
    """
    from scipy.optimize import brentq

    target = observed_cv_auc(design, feature_set="mean", n_repeats=n_repeats, seed=seed,
                             estimator=estimator)
    kw = dict(n_images=design.n_images, n_annotators=raters_per_unit(design), n_studies=n_studies,
              n_repeats=mc_repeats, seed=seed, estimator=estimator, n_jobs=n_jobs)
    lo, hi = float(params.mu1), float(params.mu1) + MAX_SHIFT_INCREASE
    cache: dict[float, tuple[float, float]] = {}

    def f(mu1):
        if mu1 not in cache:
            cache[mu1] = model_cv_auc(replace(params, mu1=float(mu1)), feature_set="mean", **kw)
        return cache[mu1][0] - target

    def solve(g, a, b):
        if g(a) >= 0:
            return a
        if g(b) <= 0:
            return b
        return float(brentq(g, a, b, xtol=xtol))

    mu1 = solve(f, lo, hi)
    sd_target = (float(params.target_cv_auc) if np.isfinite(params.target_cv_auc)
                 else observed_cv_auc(design, n_repeats=n_repeats, seed=seed,
                                      estimator=estimator))
    sd_cache: dict[float, tuple[float, float]] = {}

    def with_noise(r):
        return replace(params.shrink(r), mu1=mu1)

    def g(r):
        if r not in sd_cache:
            sd_cache[r] = model_cv_auc(with_noise(r), feature_set="sd", **kw)
        return sd_cache[r][0] - sd_target

    r = solve(g, 0.0, 1.0)  # the sd cvAUC rises with r
    strong = replace(with_noise(r), model_cv_auc=sd_cache[r][0],
                     model_cv_auc_se=sd_cache[r][1])
    mean_auc, mean_se = model_cv_auc(strong, feature_set="mean", **kw)
    info = {"mu1_calibrated": float(params.mu1), "mu1": mu1, "noise_factor": r,
            "target_mean_cv_auc": target, "model_mean_cv_auc": mean_auc,
            "model_mean_cv_auc_se": mean_se, "target_sd_cv_auc": sd_target,
            "model_sd_cv_auc": sd_cache[r][0], "model_sd_cv_auc_se": sd_cache[r][1]}
    return strong, info


# --- calibration of the intervals and the test, and power -------------------------------

def binom_ci(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion."""
    if n == 0:
        return float("nan"), float("nan")
    r = stats.binomtest(int(k), int(n)).proportion_ci(1 - alpha, method="exact")
    return float(r.low), float(r.high)


METHODS = {"bootstrap_cv": ("boot_conf_low", "boot_conf_high"),
           "corrected_t": ("nb_conf_low", "nb_conf_high"),
           "delong_pooled": ("delong_conf_low", "delong_conf_high"),
           "bca_pooled": ("bca_conf_low", "bca_conf_high")}


def coverage_table(studies: pd.DataFrame, truth: pd.DataFrame, settings: StudySettings,
                   alpha: float = ALPHA) -> pd.DataFrame:
    """Tidy coverage and rejection rates of the studies of every model.

    Parameters
    ----------
    studies : DataFrame
        :func:`run_studies` rows (column ``model``).
    truth : DataFrame
        ``model, quantity, truth, truth_mc_std_error``.

    Returns
    -------
    DataFrame
        One row per (model, quantity, method): ``n_datasets``, ``truth``,
        ``truth_mc_std_error``, ``mean_estimate``, ``sd_estimate``, ``coverage`` (share of
        intervals containing the truth) with Clopper-Pearson ``coverage_conf_low``/``coverage_conf_high``,
        ``miss_below`` / ``miss_above`` (share of intervals entirely below / above
        the truth), ``mean_width``, ``mean_boot_std_error`` (bootstrap-CV rows); and per model
        one row ``method = "permutation"`` (quantity ``auc_<perm_set>``) with
        ``rejection_rate`` (p < alpha), ``rejection_rate_conf_low``/``rejection_rate_conf_high`` and
        ``mean_permutations``.
    """
    rows = []
    for model, g in studies.groupby("model", sort=False):
        n = len(g)
        for q in quantity_names(settings):
            tr = truth[(truth["model"] == model) & (truth["quantity"] == q)].iloc[0]
            for method, (lo, hi) in METHODS.items():
                if f"{q}_{lo}" not in g or g[f"{q}_{lo}"].isna().all():
                    continue
                low, high = g[f"{q}_{lo}"].to_numpy(), g[f"{q}_{hi}"].to_numpy()
                t = float(tr["truth"])
                cov = int(((low <= t) & (t <= high)).sum())
                c_lo, c_hi = binom_ci(cov, n)
                est = g[f"{q}_pooled"] if method.endswith("_pooled") else g[q]
                rows.append({"model": model, "quantity": q, "method": method, "n_datasets": n,
                             "truth": t, "truth_mc_std_error": float(tr["truth_mc_std_error"]),
                             "mean_estimate": float(est.mean()), "sd_estimate": float(est.std()),
                             "coverage": cov / n, "coverage_conf_low": c_lo,
                             "coverage_conf_high": c_hi,
                             "miss_below": float((high < t).mean()),
                             "miss_above": float((low > t).mean()),
                             "mean_width": float(np.mean(high - low)),
                             "mean_boot_std_error": (float(g[f"{q}_boot_std_error"].mean())
                                              if method == "bootstrap_cv" else np.nan)})
        if settings.n_permutations:
            rej = int((g["p_value"] < alpha).sum())
            r_lo, r_hi = binom_ci(rej, n)
            rows.append({"model": model, "quantity": f"auc_{settings.perm_set}",
                         "method": "permutation", "n_datasets": n,
                         "mean_estimate": float(g["perm_statistic"].mean()),
                         "rejection_rate": rej / n, "rejection_rate_conf_low": r_lo,
                         "rejection_rate_conf_high": r_hi,
                         "mean_permutations": float(g["n_perm_used"].mean())})
    return pd.DataFrame(rows)


#: Feature sets and paired differences of the strong-signal scenario's studies: the
#: C1/C3-type cvAUCs near 0.95 (``mean``), C4's "mean beats sd" and its
#: non-inferiority part "mean + sd does not improve on the mean".
STRONG_SETS = ("sd", "mean", "mean+sd")
STRONG_DIFFERENCES = (("mean", "sd"), ("mean+sd", "mean"))


def c4_power(cal: Calibration, margin: float, alpha: float = ALPHA) -> pd.DataFrame:
    """How often the C4 parts' verdict rules decide, per simulated model.

    For each model with the difference ``mean - sd`` ("the mean beats sd", supported
    when the paired bootstrap-CV z test is significant in that direction: the 95%
    interval's lower end above 0) and ``mean+sd - mean`` ("adding disagreement does not
    improve on the mean", supported when the interval's upper end is below ``margin``,
    refuted when its lower end is above 0), the share of studies supporting and
    refuting the part (Clopper-Pearson intervals), beside the part's true value.

    Returns
    -------
    DataFrame
        ``model, part, quantity, truth, n_datasets, supported, supported_conf_low,
        supported_conf_high, refuted, mean_std_error`` (mean bootstrap-CV SE of the difference).
    """
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for model, g in cal.studies.groupby("model", sort=False):
        for part, q in (("mean beats sd", "diff_mean_sd"),
                        (f"mean+sd - mean < {margin:g} (non-inferiority)", "diff_mean+sd_mean")):
            if f"{q}_boot_conf_low" not in g or g[f"{q}_boot_conf_low"].isna().all():
                continue
            low, high = g[f"{q}_boot_conf_low"].to_numpy(), g[f"{q}_boot_conf_high"].to_numpy()
            se = g[f"{q}_boot_std_error"].to_numpy()
            est = g[q].to_numpy()
            if q == "diff_mean_sd":  # the z test of the paired difference, two-sided
                sup, ref = (est / se > z), (est / se < -z)
            else:
                sup, ref = high < margin, low > 0
            tr = cal.truth[(cal.truth["model"] == model) & (cal.truth["quantity"] == q)]
            k = int(sup.sum())
            lo, hi = binom_ci(k, len(g))
            rows.append({"model": model, "part": part, "quantity": q,
                         "truth": float(tr["truth"].iloc[0]) if len(tr) else np.nan,
                         "n_datasets": len(g), "supported": k / len(g), "supported_conf_low": lo,
                         "supported_conf_high": hi, "refuted": float(ref.mean()),
                         "mean_std_error": float(np.nanmean(se))})
    return pd.DataFrame(rows)


@dataclass(frozen=True, kw_only=True, eq=False)
class Calibration(StudyResult):
    """The calibration of the intervals and the test (:func:`calibration`; a
    :class:`analysis.base.results.StudyResult`)."""

    studies: pd.DataFrame  # one row per study (models permuted / null / fitted)
    summary: pd.DataFrame  # one row per model (wide: KS, rejection rate, sd coverages)
    coverage: pd.DataFrame  # tidy: model x quantity x method
    truth: pd.DataFrame  # model x quantity: true value of the estimand

    def tables(self) -> dict[str, pd.DataFrame]:
        """``calibration.csv``, ``coverage.csv``, ``truth.csv``, ``calibration_studies.csv``."""
        return {"calibration.csv": self.summary, "coverage.csv": self.coverage,
                "truth.csv": self.truth, "calibration_studies.csv": self.studies}


def calibration(params: SimParams, *, design: GroupDesign | None = None,
                n_datasets: int = BUDGET.calibration_datasets, n_images: int | None = None,
                n_annotators: int | None = None,
                n_permutations: int = BUDGET.n_permutations,
                n_repeats: int = BUDGET.calibration_repeats,
                n_boot: int = BUDGET.n_boot, boot_repeats: int = cvstats.BOOT_CV_REPEATS,
                perm_repeats: int = BUDGET.perm_repeats, h: int = BUDGET.h,
                n_truth: int = BUDGET.truth_draws, n_true: int = TRUE_AUC_IMAGES,
                sets: tuple[str, ...] = ("sd", "mean"),
                differences: tuple[tuple[str, str], ...] = (("mean", "sd"),),
                estimator: str = "mle", seed: int = models.DEFAULT_SEED, n_jobs: int = 1,
                quiet: bool = True, n_boot_pooled: int = BUDGET.pooled_boot,
                strong: SimParams | None = None,
                strong_info: dict | None = None) -> Calibration:
    """Coverage of the cvAUC intervals and level of the permutation test, by simulation.

    Parameters
    ----------
    params : SimParams
        The generative model (use :func:`calibrate_to_group`); its
        :meth:`SimParams.null` is the generative null.
    design : GroupDesign, optional
        Real features whose label permutations are the first null model
        (``permuted``: group 7's ``sets``, its labels permuted per data set). Without
        it only the generative models are run.
    n_datasets : int
        Data sets per model.
    n_images, n_annotators : int, optional
        Size of the generative studies; default the design's units and raters per unit
        (:func:`raters_per_unit`; group 7: 96 images, 6 annotators), or 96 and 6
        without a design.
    n_permutations, perm_repeats, h
        Permutation test of the sd features: at most ``n_permutations`` permutations,
        statistic = mean fold AUC over ``perm_repeats`` fold assignments (observed and
        each permutation), Besag-Clifford stop after ``h`` exceedances.
    n_repeats, n_boot, boot_repeats
        Fold assignments of each study's cvAUC; bootstrap-CV replicates and fold
        assignments per replicate.
    n_truth, n_true
        Monte Carlo of the fitted model's true values (:func:`true_values`).
    sets, differences, estimator
        As :class:`StudySettings`.
    seed, n_jobs, quiet
        Study ``d`` of model ``c`` uses ``SeedSequence([seed, 1, c, d])``; results do
        not depend on ``n_jobs``. ``quiet`` is accepted for compatibility.
    n_boot_pooled : int
        Replicates of the BCa interval of the pooled scores (comparison; 0 skips it).
    strong : SimParams, optional
        The strong-signal scenario (:func:`calibrate_mean`): model ``strong``, studies
        of the same size analysed with :data:`STRONG_SETS` and
        :data:`STRONG_DIFFERENCES` (the C4 comparison and its non-inferiority part;
        no permutation test, no BCa), its truth by :func:`true_values`.
    strong_info : dict, optional
        The second value of :func:`calibrate_mean`, kept in ``settings["strong"]``.

    Returns
    -------
    Calibration
        ``coverage``: tidy rows of :func:`coverage_table`. ``summary``: one row per
        model with ``ks_statistic``, ``ks_p_value`` (Kolmogorov-Smirnov of the p-values
        against U(0, 1)), ``rejection_rate`` with ``rejection_rate_conf_low/high``,
        ``coverage_bootstrap_cv``, ``coverage_corrected_t``, ``coverage_delong``,
        ``coverage_bca`` (each with ``_conf_low/_conf_high``; interval of the sd cvAUC; the last
        two are intervals of pooled out-of-fold scores), the same for the
        paired difference (``coverage_diff_*``), ``mean_true_auc`` (truth),
        ``mean_cv_auc``, ``mean_pooled_auc``, ``mean_permutations``.

    Notes
    -----
    Models: ``permuted`` (label permutations of ``design``; truth 1/2 and 0),
    ``null`` (generative null; truth 1/2 and 0) and ``fitted`` (``params``; truth by
    :func:`true_values`). Under a null model every fitted model's population AUC is
    exactly 1/2, so the truth needs no Monte Carlo. The permutation p-value is
    Besag-Clifford's (:func:`analysis.statistics.cvinference.sequential_permutation_test`): it takes
    values ``h / L`` or
    ``(k + 1) / (P + 1)``; under the null it is valid but discrete, which the KS test
    against the continuous uniform judges slightly conservatively.
    """
    t0 = time.perf_counter()
    if n_images is None:
        n_images = design.n_images if design is not None else 96
    if n_annotators is None:
        n_annotators = raters_per_unit(design) if design is not None else 6
    st = StudySettings(sets=tuple(sets), differences=tuple(map(tuple, differences)),
                       n_repeats=n_repeats, n_boot=n_boot, boot_repeats=boot_repeats,
                       n_permutations=n_permutations, perm_repeats=perm_repeats, h=h,
                       estimator=estimator, pooled_boot=n_boot_pooled)
    conds = []
    if design is not None:
        conds.append({"model": "permuted", "source": ({s: design.matrix(s) for s in st.sets},
                                                      design.labels),
                      "n_images": design.n_images, "n_annotators": raters_per_unit(design)})
    conds += [{"model": "generative null", "source": params.null(), "n_images": n_images,
               "n_annotators": n_annotators},
              {"model": "fitted", "source": params, "n_images": n_images,
               "n_annotators": n_annotators}]
    studies = run_studies(conds, st, n_datasets=n_datasets, seed=seed, stream="sim_calibration",
                          n_jobs=n_jobs)
    truth = pd.concat([_null_truth(st).assign(model=c["model"]) for c in conds[:-1]]
                      + [true_values(params, n_images=n_images, n_annotators=n_annotators,
                                     sets=st.sets, differences=st.differences,
                                     n_draws=n_truth, n_test=n_true, seed=seed,
                                     estimator=estimator, n_jobs=n_jobs).assign(model="fitted")],
                      ignore_index=True)
    truth = truth[["model", "quantity", "truth", "truth_mc_std_error", "n_draws"]]
    cov = coverage_table(studies, truth, st)
    summary = _wide_summary(studies, cov, st)
    if strong is not None:
        ss = replace(st, sets=STRONG_SETS, differences=STRONG_DIFFERENCES, n_permutations=0,
                     pooled_boot=0)
        s_studies = run_studies([{"model": "strong", "source": strong, "n_images": n_images,
                                  "n_annotators": n_annotators}], ss, n_datasets=n_datasets,
                                seed=seed, stream="sim_calibration", n_jobs=n_jobs,
                                first_condition=len(conds))
        s_truth = true_values(strong, n_images=n_images, n_annotators=n_annotators,
                              sets=ss.sets, differences=ss.differences, n_draws=n_truth,
                              n_test=n_true, seed=seed, estimator=estimator,
                              n_jobs=n_jobs).assign(model="strong")
        s_truth = s_truth[truth.columns]
        studies = pd.concat([studies, s_studies], ignore_index=True)
        truth = pd.concat([truth, s_truth], ignore_index=True)
        cov = pd.concat([cov, coverage_table(s_studies, s_truth, ss)], ignore_index=True)
        summary = pd.concat([summary, _wide_summary(s_studies, cov[cov["model"] == "strong"],
                                                    ss)], ignore_index=True)
    settings = {"n_datasets": n_datasets, "n_images": n_images, "n_annotators": n_annotators,
                "n_repeats": n_repeats, "n_boot": n_boot, "boot_repeats": boot_repeats,
                "n_permutations": n_permutations, "perm_repeats": perm_repeats, "h": h,
                "n_truth": n_truth, "n_true": n_true, "estimator": estimator, "seed": seed,
                "data_name": data_name(design)}
    if strong is not None:
        settings["strong"] = {**(strong_info or {}), "sets": list(STRONG_SETS),
                              "differences": [list(d) for d in STRONG_DIFFERENCES]}
    return Calibration(studies=studies, summary=summary, coverage=cov, truth=truth,
                       settings=settings, elapsed=time.perf_counter() - t0)


def _wide_summary(studies: pd.DataFrame, cov: pd.DataFrame, st: StudySettings) -> pd.DataFrame:
    """One row per model with the figures the report quotes (from the tidy table)."""
    rows = []
    auc_q = f"auc_{st.perm_set}" if st.perm_set in st.sets else f"auc_{st.sets[0]}"
    diff_q = f"diff_{st.differences[0][0]}_{st.differences[0][1]}" if st.differences else None
    for model, g in studies.groupby("model", sort=False):
        c = cov[cov["model"] == model]
        row = {"model": model, "n_datasets": len(g), "n_images": int(g["n_images"].iloc[0]),
               "n_annotators": int(g["n_annotators"].iloc[0]),
               "n_permutations": st.n_permutations}
        if st.n_permutations:
            ks = stats.kstest(g["p_value"], "uniform")
            perm = c[c["method"] == "permutation"].iloc[0]
            row.update(ks_statistic=float(ks.statistic), ks_p_value=float(ks.pvalue),
                       rejection_rate=perm["rejection_rate"],
                       rejection_rate_conf_low=perm["rejection_rate_conf_low"],
                       rejection_rate_conf_high=perm["rejection_rate_conf_high"],
                       mean_permutations=perm["mean_permutations"])
        for prefix, q in (("coverage", auc_q), ("coverage_diff", diff_q)):
            for method, name in (("bootstrap_cv", "bootstrap_cv"), ("corrected_t", "corrected_t"),
                                 ("delong_pooled", "delong"), ("bca_pooled", "bca")):
                r = c[(c["quantity"] == q) & (c["method"] == method)]
                if q is None or r.empty:
                    continue
                r = r.iloc[0]
                row[f"{prefix}_{name}"] = r["coverage"]
                row[f"{prefix}_{name}_conf_low"] = r["coverage_conf_low"]
                row[f"{prefix}_{name}_conf_high"] = r["coverage_conf_high"]
        tr = c[(c["quantity"] == auc_q)]
        row["mean_true_auc"] = float(tr["truth"].iloc[0])
        row["mean_cv_auc"] = float(g[auc_q].mean())
        if f"{auc_q}_pooled" in g:
            row["mean_pooled_auc"] = float(g[f"{auc_q}_pooled"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True, kw_only=True, eq=False)
class Power(StudyResult):
    """The power of the sd features' test over a grid (:func:`power`; a
    :class:`analysis.base.results.StudyResult`)."""

    studies: pd.DataFrame
    summary: pd.DataFrame  # per (n_images, n_annotators): power with CI

    def tables(self) -> dict[str, pd.DataFrame]:
        """``power.csv`` (the summary) and ``power_studies.csv``."""
        return {"power.csv": self.summary, "power_studies.csv": self.studies}


def power(params: SimParams, *, n_images: tuple[int, ...] = POWER_IMAGES,
          n_annotators: tuple[int, ...] = POWER_ANNOTATORS, n_datasets: int = BUDGET.n_datasets,
          n_permutations: int = BUDGET.n_permutations, perm_repeats: int = BUDGET.perm_repeats,
          h: int = BUDGET.h, estimator: str = "mle", seed: int = models.DEFAULT_SEED,
          n_jobs: int = 1, quiet: bool = True) -> Power:
    """Power of the repeated-CV permutation test of the sd features against images and annotators.

    Parameters
    ----------
    params : SimParams
        Alternative (use :func:`calibrate_to_group`); prevalence as in ``params``.
    n_images, n_annotators : tuple of int
        The grid.
    n_datasets, n_permutations, perm_repeats, h, estimator, seed, n_jobs
        As :func:`calibration`; condition ``c`` study ``d`` uses
        ``SeedSequence([seed, 2, c, d])``. ``quiet`` is accepted for compatibility.

    Returns
    -------
    Power
        ``summary``: one row per condition, ``power`` = share of studies with
        p < 0.05 (Besag-Clifford p-value, stop after ``h`` exceedances), Clopper-Pearson
        ``power_conf_low``/``power_conf_high``, ``mean_fold_mean_auc`` (the test's statistic),
        ``mean_pooled_auc``, ``mean_permutations``.
    """
    t0 = time.perf_counter()
    st = StudySettings(sets=("sd",), differences=(), n_repeats=perm_repeats, n_boot=0,
                       n_permutations=n_permutations, perm_repeats=perm_repeats, h=h,
                       estimator=estimator, pooled_boot=0)
    conds = [{"model": "fitted", "source": params, "n_images": n, "n_annotators": j}
             for n in n_images for j in n_annotators]
    st_ = run_studies(conds, st, n_datasets=n_datasets, seed=seed, stream="sim_power",
                      n_jobs=n_jobs)
    rows = []
    for (n, j), g in st_.groupby(["n_images", "n_annotators"], sort=True):
        k = int((g["p_value"] < ALPHA).sum())
        lo, hi = binom_ci(k, len(g))
        rows.append({"n_images": n, "n_annotators": j, "n_datasets": len(g),
                     "n_permutations": n_permutations, "perm_repeats": perm_repeats, "h": h,
                     "power": k / len(g), "power_conf_low": lo, "power_conf_high": hi,
                     "mean_pooled_auc": float(g["auc_sd_pooled"].mean()),
                     "mean_fold_mean_auc": float(g["perm_statistic"].mean()),
                     "mean_permutations": float(g["n_perm_used"].mean())})
    settings = {"n_images": list(n_images), "n_annotators": list(n_annotators),
                "n_datasets": n_datasets, "n_permutations": n_permutations,
                "perm_repeats": perm_repeats, "h": h, "estimator": estimator, "seed": seed}
    return Power(studies=st_, summary=pd.DataFrame(rows), settings=settings,
                 elapsed=time.perf_counter() - t0)


# --------------------------------------------------------------------------- the study


@dataclass(frozen=True, kw_only=True, eq=False)
class SimulationStudy(StudyResult):
    """What ``crowd-disagreement simulate`` computes (:func:`simulate_group`; a
    :class:`analysis.base.results.StudyResult`): the model calibrated to the group, the
    strong-signal scenario, the calibration, C4's power and the power grid."""

    params: SimParams
    strong: SimParams
    strong_info: dict
    calibration: Calibration
    c4: pd.DataFrame
    power: Power

    def tables(self) -> dict[str, pd.DataFrame]:
        """The ``simulate`` command's CSV files by name."""
        return {"parameters.csv": self.params.tidy(), **self.calibration.tables(),
                **self.power.tables(), "strong_parameters.csv": self.strong.tidy(),
                "c4_power.csv": self.c4}


def simulate_group(design: GroupDesign, *, n_datasets: int = BUDGET.n_datasets,
                   calibration_datasets: int = BUDGET.calibration_datasets,
                   n_permutations: int = BUDGET.n_permutations,
                   n_images: tuple[int, ...] = POWER_IMAGES,
                   n_annotators: tuple[int, ...] = POWER_ANNOTATORS,
                   margin: float = budgets.NONINFERIORITY_MARGIN,
                   seed: int = models.DEFAULT_SEED, n_jobs: int = 1,
                   quiet: bool = True) -> SimulationStudy:
    """The simulation study of one group (the ``simulate`` command): the model
    calibrated to it (:func:`calibrate_to_group`) and its strong-signal scenario
    (:func:`calibrate_mean`), the calibration of the intervals and test
    (:func:`calibration`), how often C4's rules decide (:func:`c4_power`, non-inferiority
    ``margin``) and the power grid ``n_images x n_annotators`` (:func:`power`)."""
    t0 = time.perf_counter()
    params = calibrate_to_group(design, seed=seed, n_jobs=n_jobs)
    strong, strong_info = calibrate_mean(design, params, seed=seed, n_jobs=n_jobs)
    cal = calibration(params, design=design, n_datasets=calibration_datasets,
                      n_permutations=n_permutations, seed=seed, n_jobs=n_jobs, quiet=quiet,
                      strong=strong, strong_info=strong_info)
    c4 = c4_power(cal, margin)
    pw = power(params, n_images=tuple(n_images), n_annotators=tuple(n_annotators),
               n_datasets=n_datasets, n_permutations=n_permutations, seed=seed,
               n_jobs=n_jobs, quiet=quiet)
    settings = {"seed": seed, "n_permutations": n_permutations,
                "calibration_datasets": calibration_datasets, "power_datasets": n_datasets,
                "power_images": list(n_images), "power_annotators": list(n_annotators),
                "margin": margin}
    return SimulationStudy(params=params, strong=strong, strong_info=strong_info,
                           calibration=cal, c4=c4, power=pw, settings=settings,
                           elapsed=time.perf_counter() - t0)
