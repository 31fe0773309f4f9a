"""How good are predicted probabilities: Brier score, calibration intercept and slope.

Every function takes labels ``y`` (0/1) and predicted probabilities ``p`` as arrays;
how ``p`` was produced (out-of-fold predictions of one fold model per image, which
estimator) is the caller's business. TRIPOD (Collins et al. 2015) asks for
calibration beside discrimination; the quantities are those of Van Calster et al.
(2016, 2019):

* Brier score ``mean((y - p)^2)``;
* calibration intercept ("calibration-in-the-large"): ``a`` in
  ``logit P(y = 1) = a + logit(p)`` (``logit(p)`` an offset); 0 when the predicted
  risks are right on average, negative when they are too high;
* calibration slope: ``b`` in ``logit P(y = 1) = a' + b logit(p)``; 1 when the
  spread of the predictions is right, below 1 when they are too extreme (overfit);
* binned observed-vs-predicted frequencies with Wilson or Clopper-Pearson intervals,
  and a lowess curve, for a calibration plot (:func:`analysis.presentation.figures.calibration_plot`).

Probabilities of exactly 0 or 1 (a plain-MLE fold model under separation predicts
them; logit(p) is then infinite) are clipped to ``[eps, 1 - eps]`` before the
logit is taken, and counted (``n_clipped``); the Brier score uses the unclipped
values. With clipping the slope measures how extreme such predictions are at the
clipping level ``eps``, which is arbitrary: read a slope computed from clipped
probabilities as "too extreme", not as a number.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, special

from ..base import fitconfig
from .inference import bootstrap_ci

__all__ = [
    "CALIBRATION_COLUMNS", "CLIPPED_NOTE", "CLIP_EPS", "NO_SLOPE_NOTE", "STATISTICS",
    "binomial_interval", "brier_score", "calibration", "calibration_bins",
    "calibration_by_group", "calibration_curve", "calibration_intercept",
    "calibration_plot_data", "calibration_slope", "clipped_logit",
]


#: Probabilities are clipped to [CLIP_EPS, 1 - CLIP_EPS] before logit (logit = +-18.4).
CLIP_EPS = 1e-8
STATISTICS = ("brier", "intercept", "slope")
CALIBRATION_COLUMNS = ["statistic", "estimate", "conf_low", "conf_high", "conf_method",
                       "n", "events", "n_clipped", "n_boot", "n_valid", "eps", "note"]
CLIPPED_NOTE = "{k} probabilities clipped to [eps, 1 - eps]: the value depends on eps"
NO_SLOPE_NOTE = "MLE does not exist (logit(p) separates the classes)"


def _check(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"y and p must be 1-D of the same length, got {y.shape} and {p.shape}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y must be 0/1")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise ValueError("p must be probabilities in [0, 1]")
    return y, p


def clipped_logit(p, eps: float = CLIP_EPS) -> tuple[np.ndarray, int]:
    """``logit(clip(p, eps, 1 - eps))`` and how many values were clipped."""
    p = np.asarray(p, dtype=float)
    n_clipped = int(np.sum((p < eps) | (p > 1 - eps)))
    return special.logit(np.clip(p, eps, 1 - eps)), n_clipped


def brier_score(y, p) -> float:
    """Brier score ``mean((y - p)^2)`` (0 is perfect; ``q(1 - q)`` for the prevalence q).

    Examples
    --------
    Squared errors 0.04, 0.04, 0.16 and 0.16:

    >>> brier_score([0, 1, 1, 0], [0.2, 0.8, 0.6, 0.4])
    0.1
    """
    y, p = _check(y, p)
    return float(np.mean((y - p) ** 2))


def _logistic_fit(X: np.ndarray, y: np.ndarray, offset: np.ndarray,
                  max_iter: int = fitconfig.MLE_MAX_ITER) -> tuple[np.ndarray, np.ndarray, bool]:
    """Plain-MLE logistic regression with offset, by Newton-Raphson without step control.

    Returns coefficients, standard errors (inverse Fisher information) and whether
    every coefficient moved by less than ``fitconfig.MLE_TOL`` within ``max_iter``
    iterations (statsmodels' rule). Coefficients are NaN when it did not: the MLE
    does not exist (``logit(p)`` separates ``y``) and the iterates diverge, the rule
    of :func:`analysis.base.fitconfig.separation_flag`. No step halving: it would stop a
    diverging fit where the likelihood saturates in floating point and call it
    converged.
    """
    beta = np.zeros(X.shape[1])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(max_iter):
            pr = special.expit(X @ beta + offset)
            info = (X * (pr * (1 - pr))[:, None]).T @ X
            try:
                step = np.linalg.solve(info, X.T @ (y - pr))
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)):
                break
            beta = beta + step
            if np.max(np.abs(step)) < fitconfig.MLE_TOL:
                pr = special.expit(X @ beta + offset)
                info = (X * (pr * (1 - pr))[:, None]).T @ X
                return beta, np.sqrt(np.diag(np.linalg.inv(info))), True
    nan = np.full(X.shape[1], math.nan)
    return nan, nan, False


def _intercept_score(a: float, lp: np.ndarray, k: float) -> float:
    """Score of the calibration intercept: ``k - sum(expit(a + lp))``."""
    return float(k - special.expit(a + lp).sum())


def calibration_intercept(y, p, eps: float = CLIP_EPS) -> dict:
    """Calibration-in-the-large: ``a`` in ``logit P(y=1) = a + offset(logit p)``.

    Returns
    -------
    dict
        ``estimate``, ``std_error``, ``converged``, ``n_clipped``.

    Notes
    -----
    As R's ``glm(y ~ 1, offset = qlogis(p), family = binomial)``; ``p`` is clipped to
    ``[eps, 1 - eps]`` first (:func:`clipped_logit`). The one-parameter score equation
    ``sum(y - expit(a + logit p)) = 0`` is solved by Brent's method (it has exactly
    one root when both classes occur; Newton from 0 can overshoot when many
    predictions sit at the clipping level); SE ``1 / sqrt(sum p_i (1 - p_i))``.
    """
    y, p = _check(y, p)
    lp, n_clipped = clipped_logit(p, eps)
    k = y.sum()
    if k == 0 or k == len(y):
        return {"estimate": math.nan, "std_error": math.nan, "converged": False,
                "n_clipped": n_clipped}
    # the score sum(y - expit(a + lp)) decreases strictly in a: one root, bracketed
    # between the values where every prediction is shifted beyond the clipping range
    lo, hi = -1.0, 1.0
    while _intercept_score(lo, lp, k) < 0:
        lo *= 2
    while _intercept_score(hi, lp, k) > 0:
        hi *= 2
    # lp is passed as an argument, not held by a closure: scipy's brentq wraps the
    # function in a reference cycle, which would keep lp alive until the next garbage
    # collection (hundreds of n-sized arrays in a bootstrap)
    a = optimize.brentq(_intercept_score, lo, hi, args=(lp, k), xtol=1e-14,
                        rtol=4 * np.finfo(float).eps)
    pr = special.expit(a + lp)
    return {"estimate": float(a), "std_error": float(1 / math.sqrt(np.sum(pr * (1 - pr)))),
            "converged": True, "n_clipped": n_clipped}


def calibration_slope(y, p, eps: float = CLIP_EPS) -> dict:
    """Calibration slope: ``b`` in ``logit P(y=1) = a + b logit(p)``.

    Returns
    -------
    dict
        ``estimate`` (the slope), ``std_error``, ``intercept`` (``a``, which is *not*
        calibration-in-the-large), ``converged``, ``n_clipped``.

    Notes
    -----
    As R's ``glm(y ~ qlogis(p), family = binomial)`` on clipped ``p``. NaN when the
    MLE does not exist (``logit(p)`` separates the classes completely, as when every
    melanoma is ranked above every other image).
    """
    y, p = _check(y, p)
    lp, n_clipped = clipped_logit(p, eps)
    b, se, conv = _logistic_fit(np.column_stack([np.ones(len(y)), lp]), y, np.zeros(len(y)))
    return {"estimate": float(b[1]), "std_error": float(se[1]), "intercept": float(b[0]),
            "converged": conv, "n_clipped": n_clipped}


def calibration(y, p, *, n_boot: int = 2000, rng: int | np.random.Generator = 2018,
                methods=("percentile",), eps: float = CLIP_EPS, alpha: float = 0.05
                ) -> pd.DataFrame:
    """Brier score, calibration intercept and slope, with stratified bootstrap intervals.

    Parameters
    ----------
    y : array of 0/1
    p : array of probabilities
        E.g. out-of-fold predictions (one per image).
    n_boot : int
        Bootstrap resamples (images resampled within class, keeping the class sizes).
    rng : int or Generator
        Seed; the three statistics use the same resamples when an int is given.
    methods : sequence of {"percentile", "bca"}
        Interval methods of :func:`analysis.statistics.inference.bootstrap_ci`.
    eps : float
        Clipping level of :func:`clipped_logit`.
    alpha : float

    Returns
    -------
    DataFrame
        One row per (statistic, interval method): ``statistic`` (brier, intercept,
        slope), ``estimate``, ``conf_low``, ``conf_high``, ``conf_method``, ``n``,
        ``events``, ``n_clipped``, ``n_boot``, ``n_valid`` (resamples where the
        statistic exists; a slope whose MLE does not exist on a resample is left out
        and counted here), ``eps``, ``note`` (says when the intercept or slope
        depends on the clipping level, or when the slope's MLE does not exist).

    Notes
    -----
    Resamples from :func:`analysis.statistics.inference.bootstrap_indices` stratified by ``y``;
    intervals by boot's percentile/BCa rules (:func:`analysis.statistics.inference.ci_from_replicates`).
    The resampled predictions are held fixed: the interval describes the sampling
    variability of the images given these predictions, not that of refitting the models.

    References
    ----------
    Van Calster, Nieboer, Vergouwe, De Cock, Pencina, Steyerberg (2016), J Clin
    Epidemiol 74:167-176; Steyerberg (2019), Clinical Prediction Models, ch. 15.
    """
    y, p = _check(y, p)
    n_clipped = clipped_logit(p, eps)[1]
    stat_fns = {
        "brier": lambda yy, pp: float(np.mean((yy - pp) ** 2)),
        "intercept": lambda yy, pp: calibration_intercept(yy, pp, eps)["estimate"],
        "slope": lambda yy, pp: calibration_slope(yy, pp, eps)["estimate"],
    }
    seed = rng if isinstance(rng, np.random.Generator) else int(rng)
    rows = []
    for name in STATISTICS:
        ci = bootstrap_ci([y, p], stat_fns[name], n_boot=n_boot, methods=methods, strata=y,
                          alpha=alpha, rng=seed)
        note = ""
        if name != "brier" and n_clipped:
            note = CLIPPED_NOTE.format(k=n_clipped)
        if name == "slope" and not np.isfinite(ci["estimate"].iloc[0]):
            note = NO_SLOPE_NOTE
        for r in ci.itertuples(index=False):
            rows.append({"note": note, "statistic": name, "estimate": r.estimate, "conf_low": r.low,
                         "conf_high": r.high, "conf_method": r.method, "n": len(y),
                         "events": int(y.sum()), "n_clipped": n_clipped,
                         "n_boot": int(r.n_boot), "n_valid": int(r.n_valid), "eps": eps})
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def binomial_interval(events, n, method: str = "wilson", alpha: float = 0.05
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a binomial proportion: ``wilson`` (score) or ``clopper-pearson`` (exact).

    Wilson: R's ``prop.test(k, n, correct = FALSE)$conf.int``; Clopper-Pearson: R's
    ``binom.test(k, n)$conf.int`` (via statsmodels' ``proportion_confint``).

    Examples
    --------
    5 events in 10: Wilson's interval is 0.5 -+ 0.2634 (R: ``prop.test(5, 10,
    correct = FALSE)`` gives 0.2366 to 0.7634); Clopper-Pearson's is 0.1871 to 0.8129
    (R: ``binom.test(5, 10)``):

    >>> lo, hi = binomial_interval(5, 10)
    >>> print(f"{lo:.4f} {hi:.4f}")
    0.2366 0.7634
    >>> lo, hi = binomial_interval(5, 10, method="clopper-pearson")
    >>> print(f"{lo:.4f} {hi:.4f}")
    0.1871 0.8129
    """
    from statsmodels.stats.proportion import proportion_confint

    m = {"wilson": "wilson", "clopper-pearson": "beta"}.get(method)
    if m is None:
        raise ValueError(f"method must be wilson or clopper-pearson, got {method!r}")
    lo, hi = proportion_confint(np.asarray(events), np.asarray(n), alpha=alpha, method=m)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def calibration_bins(y, p, n_bins: int = 5, strategy: str = "quantile",
                     interval: str = "wilson", alpha: float = 0.05) -> pd.DataFrame:
    """Observed frequency against mean predicted probability in bins of ``p``.

    Parameters
    ----------
    y, p : arrays
    n_bins : int
        With 18 melanomas in 96 images, 5 bins keep about 3-4 events per bin.
    strategy : {"quantile", "uniform"}
        ``quantile``: bins of (nearly) equal size by rank of ``p`` (ties kept in the
        lower bin); ``uniform``: equal-width bins on [0, 1].
    interval : {"wilson", "clopper-pearson"}

    Returns
    -------
    DataFrame
        ``bin`` (1..), ``n``, ``events``, ``predicted`` (mean p in the bin),
        ``observed`` (events / n), ``obs_low``, ``obs_high``, ``p_min``, ``p_max``,
        ``interval``. Empty bins are left out.
    """
    y, p = _check(y, p)
    if strategy == "quantile":
        order = np.argsort(p, kind="stable")
        bins = np.empty(len(p), dtype=int)
        bins[order] = np.minimum(np.arange(len(p)) * n_bins // len(p), n_bins - 1)
    elif strategy == "uniform":
        bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    else:
        raise ValueError(f"strategy must be quantile or uniform, got {strategy!r}")
    frame = pd.DataFrame({"bin": bins + 1, "y": y, "p": p})
    out = frame.groupby("bin").agg(n=("y", "size"), events=("y", "sum"), predicted=("p", "mean"),
                                   p_min=("p", "min"), p_max=("p", "max")).reset_index()
    out["events"] = out["events"].astype(int)
    out["observed"] = out["events"] / out["n"]
    out["obs_low"], out["obs_high"] = binomial_interval(out["events"], out["n"], interval, alpha)
    out["interval"] = interval
    return out[["bin", "n", "events", "predicted", "observed", "obs_low", "obs_high", "p_min",
                "p_max", "interval"]]


def calibration_curve(y, p, frac: float = 2 / 3) -> pd.DataFrame:
    """Lowess smooth of ``y`` on ``p`` (statsmodels ``lowess``, no robustness iterations).

    Returns
    -------
    DataFrame
        ``predicted`` (sorted ``p``) and ``observed`` (the smoothed frequency, clipped
        to [0, 1]), one row per image.

    Notes
    -----
    R's ``lowess(p, y, f = frac, iter = 0)`` with its default ``delta = 0.01 *
    diff(range(p))`` (statsmodels follows Cleveland 1979 as R does), clipped to [0, 1].
    Robustness iterations are off: with a 0/1 response they treat the rare events as
    outliers and pull the curve to 0.
    Austin & Steyerberg (2014) recommend a smoother over bins for calibration plots.
    """
    from statsmodels.nonparametric.smoothers_lowess import lowess

    y, p = _check(y, p)
    # R's default delta: points closer than 1% of the range share one local fit
    fit = lowess(y, p, frac=frac, it=0, delta=0.01 * float(np.ptp(p)), return_sorted=True)
    return pd.DataFrame({"predicted": fit[:, 0], "observed": np.clip(fit[:, 1], 0.0, 1.0)})


def calibration_by_group(scores: pd.DataFrame, by: list[str], *, y: str = "y", p: str = "p",
                         **kw) -> pd.DataFrame:
    """:func:`calibration` for every group of a long frame (e.g. feature set x estimator).

    ``scores`` holds one row per image and group, with columns ``by``, ``y`` and ``p``;
    the result has the ``by`` columns followed by :data:`CALIBRATION_COLUMNS`.
    """
    out = []
    for key, g in scores.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        res = calibration(g[y].to_numpy(), g[p].to_numpy(), **kw)
        for col, val in zip(by, key, strict=True):
            res[col] = val
        out.append(res)
    res = pd.concat(out, ignore_index=True)
    return res[list(by) + CALIBRATION_COLUMNS]



def calibration_plot_data(scores: pd.DataFrame, by: list[str], *, y: str = "y", p: str = "p",
                          n_bins: int = 5, interval: str = "wilson"
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binned points and lowess curves of every group, for
    :func:`analysis.presentation.figures.calibration_plot`.

    Returns
    -------
    bins, curve : DataFrame
        The ``by`` columns followed by the columns of :func:`calibration_bins` and of
        :func:`calibration_curve`.
    """
    bins, curves = [], []
    for key, g in scores.groupby(by, sort=False):
        key = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        bins.append(calibration_bins(g[y], g[p], n_bins=n_bins, interval=interval).assign(**key))
        curves.append(calibration_curve(g[y], g[p]).assign(**key))
    b = pd.concat(bins, ignore_index=True)
    c = pd.concat(curves, ignore_index=True)
    return (b[list(by) + [x for x in b.columns if x not in by]],
            c[list(by) + [x for x in c.columns if x not in by]])
