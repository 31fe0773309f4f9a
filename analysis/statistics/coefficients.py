"""The fitted full-data logistic models of one group, as broom-shaped tables.

Each model is fitted once to all images of the group (no cross-validation) and
reported in the two shapes of broom:

* :func:`tidy_models`: one row per (feature set, estimator, term): the estimate in
  log-odds per standard deviation of the feature, its odds ratio, standard error,
  test statistic, p-value and 95% profile-likelihood interval (on both scales);
* :func:`glance_models`: one row per (feature set, estimator): n, events, events per
  variable, log-likelihood, AIC, BIC, deviance, separation and convergence.

Two estimators:

* ``mle``: maximum likelihood, fitted with statsmodels' formula API
  (``smf.glm(..., family=Binomial())``); Wald z-tests as R's ``summary.glm`` and
  profile-likelihood intervals as R's ``confint()`` on a ``glm`` (found here as the
  exact roots of the profile deviance; R's ``MASS`` spline-interpolates the same
  profile). When the MLE does not exist (the data are separated,
  :func:`analysis.base.fitconfig.separation_flag`), no number is printed: the row says so.
* ``firth``: Firth's penalised likelihood (firthmodels), with penalised
  likelihood-ratio tests and profile penalised-likelihood intervals as R's
  ``logistf`` gives them.

:func:`firth_lrt` is the penalised likelihood-ratio test of two nested feature sets.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import linalg, optimize, special, stats
from scipy.linalg import lapack

from ..base import fitconfig
from ..base.errors import ProfileNotDetermined
from ..base.progress import progress, stage, stage_quiet
from ..design.features import GroupDesign
from ..fitting.models import fit_logistic

__all__ = [
    "CI_METHODS", "DEFAULT_FEATURE_SETS", "DEFAULT_LRT_PAIRS", "GLANCE_COLUMNS", "INTERCEPT",
    "LRT_COLUMNS", "NO_MLE", "PROFILE_FIRTH_GTOL", "PROFILE_FIRTH_XTOL", "PROFILE_MAX_EPV",
    "PROFILE_MAX_ITER", "PROFILE_MAX_SE", "PROFILE_MULTIMODAL", "PROFILE_NOT_CONVERGED",
    "PROFILE_RESTARTS", "PROFILE_ROOT_MAX_ITER", "PROFILE_ROOT_XTOL", "PROFILE_STAT_TOL",
    "RESPONSE", "TIDY_COLUMNS", "events_per_variable", "firth_constrained", "firth_lrt",
    "firth_lrt_arrays", "firth_lrt_table", "firth_plr_pvalues", "fit_firth", "fit_glm",
    "fit_model", "fit_models", "formula", "glance_models", "interval_method", "model_frame",
    "penalised_loglik", "profile_ci_firth", "profile_ci_mle", "tidy_models", "wald_ci",
]


#: Full-data models shown by the review: the moment sets and each feature type.
DEFAULT_FEATURE_SETS = ("mean", "sd", "mean+sd", "moments_all", "asymmetry", "border", "color",
                        "dermoscopic_structures", "blue_glow")
INTERCEPT = "(Intercept)"
RESPONSE = "melanoma"
TIDY_COLUMNS = [
    "feature_set", "estimator", "term", "estimate", "odds_ratio", "std_error", "statistic",
    "test", "p_value", "conf_low", "conf_high", "odds_ratio_conf_low", "odds_ratio_conf_high",
    "conf_method", "note",
]
GLANCE_COLUMNS = [
    "feature_set", "estimator", "n", "events", "n_predictors", "events_per_variable",
    "loglik", "penalised_loglik", "aic", "bic", "deviance", "null_deviance", "separated",
    "converged", "n_iter", "note",
]
NO_MLE = "MLE does not exist (separation)"
PROFILE_MULTIMODAL = ("profile bound not determined: the penalised likelihood has several "
                      "local maxima there")
PROFILE_NOT_CONVERGED = "profile bound not determined: a constrained fit did not converge"
#: Tolerances of the constrained Firth fits of the profiles and penalised LRTs (not the
#: solver settings :data:`analysis.base.fitconfig.FIRTH_XTOL`/``FIRTH_GTOL`` of the
#: unconstrained fits, which have other meanings and values): largest step of a
#: coefficient (absolute), and largest modified score of a free coefficient (absolute).
#: The iteration (Fisher information in place of the penalised Hessian, as logistf)
#: converges linearly; at a score below 1e-6 the penalised log-likelihood is within about
#: score^2 / information < 1e-11 of its maximum, far below what a profile bound or a test
#: statistic needs.
PROFILE_FIRTH_XTOL = 1e-8
PROFILE_FIRTH_GTOL = 1e-6
#: How far (in standard errors) a profile is followed before its bound is called infinite.
PROFILE_MAX_SE = 60.0
#: Random restarts that check each Firth profile bound for a higher local maximum.
PROFILE_RESTARTS = 4
#: Newton iterations of one constrained plain-MLE fit on the profile.
PROFILE_MAX_ITER = 500
#: Events per variable (rarer class over predictors) from which a model's intervals are
#: Wald intervals instead of profile intervals (:func:`interval_method`). There the
#: log-likelihood is close to quadratic over the interval, and the two agree to a small
#: fraction of a standard error (``tests/test_coefficients.py``, at this threshold),
#: while a profile costs about 40 constrained fits per coefficient, each O(n k^2).
PROFILE_MAX_EPV = 50
CI_METHODS = ("profile", "wald", "none")


# ---------------------------------------------------------------------------
# formulas and the statsmodels fit
# ---------------------------------------------------------------------------
def _quote(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f'Q("{name}")'


def formula(columns: list[str], response: str = RESPONSE) -> str:
    """R-style formula ``response ~ a + b + ...``; names that are not identifiers are Q()-quoted.

    >>> formula(["mean_border", "sd border"])
    'melanoma ~ mean_border + Q("sd border")'
    """
    return f"{_quote(response)} ~ " + " + ".join(_quote(c) for c in columns)


def model_frame(design: GroupDesign, feature_set: str) -> pd.DataFrame:
    """The response and the columns of a feature set, one row per image."""
    cols = design.columns(feature_set)
    frame = pd.DataFrame(design.matrix(feature_set), columns=cols, index=design.y.index)
    frame.insert(0, RESPONSE, design.labels)
    return frame


def fit_glm(frame: pd.DataFrame, columns: list[str], response: str = RESPONSE):
    """``smf.glm(formula, frame, family=Binomial())`` fitted by IRLS to a tight tolerance.

    Returns the statsmodels ``GLMResults``; its parameters are named ``Intercept`` and
    the formula's terms.
    """
    model = smf.glm(formula(columns, response), data=frame, family=sm.families.Binomial())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the deviance changes by < 1e-12 between the last two IRLS steps (R: 1e-8)
        return model.fit(tol=1e-12, maxiter=fitconfig.MLE_MAX_ITER)


# ---------------------------------------------------------------------------
# MLE profile likelihood
# ---------------------------------------------------------------------------
def _loglik(X: np.ndarray, y: np.ndarray, beta: np.ndarray, offset=0.0) -> float:
    eta = X @ beta + offset
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


class _Irregular(Exception):
    """The fast search of a profile bound met a case it does not settle (a constrained
    fit that did not converge, a second maximum, a root it could not pin down): the
    bound is searched again by the reference search (:func:`_profile_bounds` with two
    starts at every point)."""


def _newton_step(A: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``A^-1 g`` for a symmetric positive definite ``A`` by its Cholesky factor; where
    the factorisation fails (``A`` singular to working precision), the minimum-norm
    least-squares solution."""
    try:
        fac = linalg.cho_factor(A, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return np.linalg.lstsq(A, g, rcond=None)[0]
    return linalg.cho_solve(fac, g, check_finite=False)


def _lstsq_step(A: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``A^-1 g`` by least squares (singular values below ``k eps`` of the largest are
    dropped): the reference search's Newton step."""
    return np.linalg.lstsq(A, g, rcond=None)[0]


def _fit_offset_mle(X, y, offset, start, solve=_newton_step) -> tuple[np.ndarray, float, bool]:
    """Plain-MLE Newton-Raphson with an offset and step halving (``X`` may have no columns).

    Returns the coefficients, the log-likelihood reached and whether the largest step
    fell below 1e-10 within ``PROFILE_MAX_ITER`` iterations. The Newton step is solved
    by ``solve``: a Cholesky factor of ``X'WX`` (:func:`_newton_step`), or least squares
    (:func:`_lstsq_step`, the reference search's), which drops the directions of a
    nearly singular ``X'WX`` (a constraint far out on a nearly separated design) where
    the factor follows them.
    """
    if X.shape[1] == 0:
        return start, _loglik(X, y, start, offset), True
    beta = start.copy()
    ll = _loglik(X, y, beta, offset)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for _ in range(PROFILE_MAX_ITER):
            eta = X @ beta + offset
            p = 0.5 * (1.0 + np.tanh(0.5 * eta))
            w = p * (1 - p)
            step = solve((X * w[:, None]).T @ X, X.T @ (y - p))
            if not np.all(np.isfinite(step)):
                return beta, ll, False
            for _half in range(40):
                trial = beta + step
                ll_new = _loglik(X, y, trial, offset)
                if ll_new >= ll:
                    break
                step = step / 2
            else:
                return beta, ll, bool(np.max(np.abs(step)) < 1e-10)
            beta, ll = trial, ll_new
            if np.max(np.abs(step)) < 1e-10:
                return beta, ll, True
    return beta, ll, False


def _profile_bounds(stat, b_hat: float, se: float, crit: float,
                    sides=(-1.0, 1.0)) -> tuple[float, ...]:
    """Roots of ``stat(b) = crit`` on both sides of ``b_hat`` (``stat(b_hat) = 0``): the
    reference search.

    The profile is followed outwards in steps of one standard error, doubling, up to
    ``PROFILE_MAX_SE`` standard errors; if it has not crossed ``crit`` by then, the
    bound is reported as infinite (the likelihood is flat on that side). If a
    constrained fit fails (:class:`ProfileNotDetermined`), the bound is NaN. ``sides``
    chooses the sides (-1 lower, +1 upper), one bound returned for each.
    """
    out = []
    for sign in sides:
        try:
            lo, step = 0.0, 1.0
            found = None
            while step <= PROFILE_MAX_SE:
                b = b_hat + sign * step * se
                if stat(b) >= crit:
                    found = b
                    break
                lo, step = step, 2 * step
            if found is None:
                out.append(sign * math.inf)
                continue
            inner = b_hat + sign * lo * se
            a, c = sorted((inner, found))
            out.append(optimize.brentq(lambda t: stat(t) - crit, a, c, xtol=1e-9, rtol=1e-10))
        except ProfileNotDetermined:
            out.append(math.nan)
    return tuple(out)


#: Newton steps of the fast root search of one profile bound before it hands the bound
#: to the reference search.
PROFILE_ROOT_MAX_ITER = 60
#: The fast root search stops when its Newton step is below this (absolute, plus the
#: same relative to |b|): the reference search (Brent) stops at 1e-9, and with the
#: signed root of the statistic nearly linear in b one more step would move the bound
#: by about the square of this.
PROFILE_ROOT_XTOL = 1e-10
#: How far (in units of the statistic) the profile statistic computed at a bound may be
#: from the critical value before the fast search gives the bound to the reference
#: search; and how much lower a second start may bring the statistic at a point before
#: the two searches could disagree. Constrained fits converge to a modified score below
#: ``PROFILE_FIRTH_GTOL`` (1e-6), which puts the statistic within about 1e-11 of its value at
#: the maximum.
PROFILE_STAT_TOL = 1e-7


def _profile_root(point, b_hat: float, se: float, crit: float, sign: float, *,
                  check=None) -> float:
    """One bound of a profile interval: the reference bracket, then safeguarded Newton.

    Parameters
    ----------
    point : callable
        ``point(b) -> (stat, dstat)``: the profile statistic at ``b`` and its derivative
        in ``b`` (by the envelope theorem, ``-2`` times the derivative of the
        (penalised) log-likelihood in the fixed coefficient at the constrained
        maximum). May raise :class:`_Irregular`.
    b_hat, se, crit, sign
        The estimate, its standard error (the step of the bracket), the critical value
        and the side (-1 lower, +1 upper).
    check : callable, optional
        ``check(b, stat)`` raises :class:`_Irregular` when the reference search could
        see another value at ``b`` (a second start reaching another maximum); called at
        the outer end of the bracket and at the root.

    Returns
    -------
    float
        The root, or ``sign * inf`` when the profile does not reach ``crit`` within
        ``PROFILE_MAX_SE`` standard errors.

    Notes
    -----
    The bracket is the reference's (:func:`_profile_bounds`): the first of the points
    ``b_hat + sign 2^m se`` (m = 0, 1, ...) where the statistic reaches ``crit``, and the
    point before it. Inside it, Newton's method runs on ``g(t) = sqrt(stat) - sqrt(crit)``
    (``t = |b - b_hat|``), which is close to linear in ``t`` (exactly so for a quadratic
    log-likelihood), starting from the secant of the two ends; a step that leaves the
    bracket is replaced by bisection, and the bracket shrinks around the sign change at
    every evaluation. So the root is a root of the same equation in the same bracket as
    the reference's, found to ``PROFILE_ROOT_XTOL`` instead of Brent's 1e-9, in three to
    five evaluations instead of about ten.
    """
    r = math.sqrt(crit)
    lo, step, s_lo = 0.0, 1.0, 0.0
    found = None
    while step <= PROFILE_MAX_SE:
        b = b_hat + sign * step * se
        s, d = point(b)
        if s >= crit:
            found = (b, s, d)
            break
        lo, s_lo, step = step, s, 2 * step
    if found is None:
        return sign * math.inf
    if check is not None:
        check(found[0], found[1])
    # t: distance from b_hat; g(t) increasing, g(a) < 0 <= g(c)
    a, ga = lo * se, math.sqrt(max(s_lo, 0.0)) - r
    c, gc = step * se, math.sqrt(found[1]) - r
    t = a - ga * (c - a) / (gc - ga) if gc > ga else 0.5 * (a + c)
    for _ in range(PROFILE_ROOT_MAX_ITER):
        if not a < t < c:
            t = 0.5 * (a + c)
        s, d = point(b_hat + sign * t)
        if not (math.isfinite(s) and math.isfinite(d)):
            raise _Irregular("profile statistic not finite")
        g = math.sqrt(max(s, 0.0)) - r
        if g < 0:
            a = t
        else:
            c = t
        dg = sign * d / (2.0 * math.sqrt(s)) if s > 0 else 0.0
        t_new = t - g / dg if dg > 0 else 0.5 * (a + c)
        if not a <= t_new <= c:
            t_new = 0.5 * (a + c)
        tol = PROFILE_ROOT_XTOL * (1.0 + abs(b_hat + sign * t_new))
        if abs(t_new - t) < tol or c - a < tol:
            # the last point evaluated is within tol of the root: its statistic is the
            # critical value to within |dstat| tol
            if abs(s - crit) > PROFILE_STAT_TOL:
                raise _Irregular(f"statistic {s} at the root, not {crit}")
            root = b_hat + sign * t_new
            if check is not None:
                check(root, s)
            return root
        t = t_new
    raise _Irregular("root search did not converge")


def _mle_reference_stat(X1, y, j, beta, ll_hat):
    """The reference search's profile statistic of coefficient j (plain MLE): each point
    fitted from the nearest point already computed and from the MLE, the higher
    maximum kept."""
    free = np.delete(np.arange(len(beta)), j)
    Xf = X1[:, free]
    done = {float(beta[j]): beta[free].copy()}

    def stat(b):
        near = done[min(done, key=lambda v: abs(v - b))]
        coef, ll, conv = _fit_offset_mle(Xf, y, b * X1[:, j], near, _lstsq_step)
        if near is not done[float(beta[j])]:
            coef2, ll2, conv2 = _fit_offset_mle(Xf, y, b * X1[:, j], done[float(beta[j])],
                                                _lstsq_step)
            if conv2 and (not conv or ll2 > ll):
                coef, ll, conv = coef2, ll2, conv2
        if not conv:
            raise ProfileNotDetermined(f"constrained fit at b = {b} did not converge")
        done[float(b)] = coef
        return 2.0 * (ll_hat - ll)

    return stat


def _mle_point(X1, y, j, beta, ll_hat):
    """The fast search's profile point of coefficient j (plain MLE): each fit starts
    from the nearest point already computed (the log-likelihood is concave, so there
    is one maximum to find); returns the statistic and its derivative."""
    free = np.delete(np.arange(len(beta)), j)
    Xf, xj = X1[:, free], X1[:, j]
    done = {float(beta[j]): beta[free].copy()}

    def point(b):
        near = done[min(done, key=lambda v: abs(v - b))]
        coef, ll, conv = _fit_offset_mle(Xf, y, b * xj, near)
        if not conv:
            raise _Irregular(f"constrained fit at b = {b} did not converge")
        done[float(b)] = coef
        p = special.expit(Xf @ coef + b * xj)
        return 2.0 * (ll_hat - ll), -2.0 * float(xj @ (y - p))

    return point


def profile_ci_mle(X1: np.ndarray, y: np.ndarray, beta: np.ndarray, se: np.ndarray,
                   level: float = 0.95) -> np.ndarray:
    """Profile-likelihood intervals of every coefficient of a plain-MLE logistic fit.

    Parameters
    ----------
    X1 : ndarray (n, k)
        Design with its intercept column.
    y : ndarray (n,)
    beta, se : ndarray (k,)
        MLE and its standard errors (the SEs only set the search steps).
    level : float

    Returns
    -------
    ndarray (k, 2)
        Lower and upper bounds; ``-inf``/``inf`` where the profile does not reach the
        critical value within ``PROFILE_MAX_SE`` standard errors; NaN where a
        constrained fit did not converge.

    Notes
    -----
    The bound for coefficient j solves ``2 (l(b_hat) - max_{b_-j} l(b_j = b, b_-j))
    = chi2_1(level)``: the constrained fit puts ``b * x_j`` in the offset. Each bound is
    bracketed in doubling steps of one standard error and found by Newton's method on
    the signed root of the statistic (:func:`_profile_root`), every constrained fit
    starting from the nearest profile point already computed (the log-likelihood is
    concave, so that start reaches the one maximum, in two or three Newton steps).
    Where a constrained fit does not converge, the bound is searched again by the
    reference search (:func:`_profile_bounds`, each point also fitted from the MLE) and
    is NaN if that fails too.

    This is the interval R's ``confint()`` gives for a ``glm`` (``MASS::confint.glm``),
    which interpolates the same profile on a grid of points instead of finding the
    roots; the two differ by up to about 2e-3 on group 7
    (``tests/fixtures/r/confint_group7.csv``).

    References
    ----------
    Venables & Ripley (2002), *Modern Applied Statistics with S*, section 8.4.
    """
    X1 = np.asarray(X1, dtype=float)
    y = np.asarray(y, dtype=float)
    crit = stats.chi2.ppf(level, 1)
    ll_hat = _loglik(X1, y, beta)
    out = np.empty((len(beta), 2))
    for j in range(len(beta)):
        for side, sign in enumerate((-1.0, 1.0)):
            try:
                out[j, side] = _profile_root(_mle_point(X1, y, j, beta, ll_hat), beta[j],
                                             se[j], crit, sign)
            except _Irregular:
                out[j, side] = _profile_bounds(_mle_reference_stat(X1, y, j, beta, ll_hat),
                                               beta[j], se[j], crit, sides=(sign,))[0]
    return out


# ---------------------------------------------------------------------------
# Firth: penalised likelihood with some coefficients held fixed
# ---------------------------------------------------------------------------
def penalised_loglik(X1: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    """Firth's penalised log-likelihood ``l(b) + 0.5 log det(X' W(b) X)``."""
    return _FirthPointReference(np.asarray(X1, dtype=float), np.asarray(y, dtype=float),
                                np.asarray(beta, dtype=float)).ll


class _FirthPoint:
    """Firth's penalised log-likelihood at ``beta``, and (on request) its gradient.

    ``X'WX = (W^1/2 X)'(W^1/2 X)`` is factored once, ``L L'`` (Cholesky): ``log det`` is
    ``2 sum log diag L`` and the hat diagonal ``h_i = w_i x_i' (X'WX)^-1 x_i`` is the
    squared norm of row i of ``(W^1/2 X) L^-T`` (the k x k triangular inverse, LAPACK
    ``dtrtri``, then one matrix product; at 637 x 33 this was twice as fast as the
    triangular solve with the n right-hand sides, and ten times the three-operand
    einsum with the full inverse used before). Where the factorisation fails (``X'WX``
    singular to working precision) ``log det`` comes from ``slogdet`` (``-inf`` unless
    positive) and ``h`` from the explicit inverse.
    """

    __slots__ = ("X1", "y", "beta", "p", "w", "xw", "info", "chol", "ll", "_score")

    def __init__(self, X1: np.ndarray, y: np.ndarray, beta: np.ndarray):
        self.X1, self.y, self.beta = X1, y, beta
        eta = X1 @ beta
        self.p = special.expit(eta)
        self.w = self.p * (1.0 - self.p)
        self.xw = X1 * np.sqrt(self.w)[:, None]
        self.info = self.xw.T @ self.xw
        self._score = None
        loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
        chol, fail = lapack.dpotrf(self.info, lower=1, clean=1)
        self.chol, logdet = None, math.nan
        if fail == 0 and np.all(np.isfinite(chol)):
            d = np.diagonal(chol)
            if np.all(d > 0):
                self.chol, logdet = chol, 2.0 * float(np.sum(np.log(d)))
        if not math.isfinite(logdet):
            self.chol = None
            sign, logdet = np.linalg.slogdet(self.info)
            if sign <= 0:
                logdet = -math.inf
        self.ll = loglik + 0.5 * logdet if math.isfinite(logdet) else -math.inf

    def hat(self) -> np.ndarray:
        """Diagonal of ``W^1/2 X (X'WX)^-1 X' W^1/2``."""
        if self.chol is not None:
            linv, info = lapack.dtrtri(self.chol, lower=1)
            if info == 0:
                z = self.xw @ linv.T  # rows: L^-1 (W^1/2 x_i)
                return np.einsum("ij,ij->i", z, z)
        inv = np.linalg.inv(self.info)
        return np.einsum("ij,jk,ik->i", self.X1, inv, self.X1) * self.w

    def score(self) -> np.ndarray:
        """Firth's modified score ``X'(y - p + h (1/2 - p))``, the gradient of ``ll``."""
        if self._score is None:
            self._score = self.X1.T @ (self.y - self.p + self.hat() * (0.5 - self.p))
        return self._score


class _FirthPointReference(_FirthPoint):
    """:class:`_FirthPoint` with the arithmetic of the reference search (the code before
    the Cholesky factor): ``X'WX`` as ``(X W)' X``, ``log det`` by ``slogdet``, the hat
    diagonal from the explicit inverse by a three-operand einsum (one matrix product
    above ``_HAT_BLAS_ROWS`` rows). The same quantities to rounding; where the
    constrained likelihood has several maxima, rounding can decide which one a fit
    climbs, so the reference search keeps the reference's arithmetic and with it its
    results."""

    __slots__ = ()

    def __init__(self, X1: np.ndarray, y: np.ndarray, beta: np.ndarray):
        self.X1, self.y, self.beta = X1, y, beta
        eta = X1 @ beta
        with np.errstate(over="ignore"):
            self.p = 1.0 / (1.0 + np.exp(-eta))
        self.w = self.p * (1 - self.p)
        self.xw, self.chol, self._score = None, None, None
        self.info = (X1 * self.w[:, None]).T @ X1
        sign, logdet = np.linalg.slogdet(self.info)
        self.ll = (float(np.sum(y * eta - np.logaddexp(0.0, eta)) + 0.5 * logdet) if sign > 0
                   else -math.inf)

    def hat(self) -> np.ndarray:
        inv = np.linalg.inv(self.info)
        if self.X1.shape[0] <= _HAT_BLAS_ROWS:
            return np.einsum("ij,jk,ik->i", self.X1, inv, self.X1) * self.w
        return np.sum((self.X1 @ inv) * self.X1, axis=1) * self.w


#: Rows above which the reference arithmetic computes the hat diagonal with one matrix
#: product instead of the three-operand einsum (as the code before the Cholesky factor).
_HAT_BLAS_ROWS = 5000


def _firth_fit(X1: np.ndarray, y: np.ndarray, fixed: dict[int, float],
               start: np.ndarray | None, gtol: float | None,
               xtol: float | None, point=_FirthPoint) -> tuple[np.ndarray, _FirthPoint, bool]:
    """:func:`firth_constrained`, returning the last point (its penalised log-likelihood
    and modified score) instead of the penalised log-likelihood alone; ``point`` is
    :class:`_FirthPoint` or :class:`_FirthPointReference`."""
    X1 = np.asarray(X1, dtype=float)
    y = np.asarray(y, dtype=float)
    k = X1.shape[1]
    beta = np.zeros(k) if start is None else np.array(start, dtype=float)
    for j, v in fixed.items():
        beta[j] = v
    free = np.array([j for j in range(k) if j not in fixed], dtype=int)
    gtol = PROFILE_FIRTH_GTOL if gtol is None else gtol
    xtol = PROFILE_FIRTH_XTOL if xtol is None else xtol
    here = point(X1, y, beta)
    if free.size == 0:
        return beta, here, True
    converged = False
    sub = np.ix_(free, free)
    for _ in range(fitconfig.FIRTH_MAX_ITER):
        score = here.score()[free]
        if np.max(np.abs(score)) < gtol:
            converged = True
            break
        step = np.linalg.solve(here.info[sub], score)
        step *= min(1.0, 5.0 / max(np.max(np.abs(step)), 1e-300))  # firthmodels' max_step
        ll = here.ll
        for _half in range(30):
            trial = beta.copy()
            trial[free] += step
            there = point(X1, y, trial)
            if there.ll >= ll - 1e-12 * abs(ll):
                break
            step /= 2
        else:
            break  # no ascent step left: stop, converged only if the score test passed
        beta, here = trial, there
        if np.max(np.abs(step)) < xtol:
            converged = True
            break
    return beta, here, converged


def firth_constrained(X1: np.ndarray, y: np.ndarray, fixed: dict[int, float],
                      start: np.ndarray | None = None, *, gtol: float | None = None,
                      xtol: float | None = None) -> tuple[np.ndarray, float, bool]:
    """Maximise Firth's penalised likelihood with some coefficients held at given values.

    Parameters
    ----------
    X1 : ndarray (n, k)
        Full design with its intercept column; the penalty is always that of ``X1``.
    y : ndarray (n,)
    fixed : dict
        Column index -> value of the coefficients held fixed.
    start : ndarray (k,), optional
    gtol, xtol : float, optional
        Stop when the largest modified score of a free coefficient is below ``gtol``
        or the largest step below ``xtol`` (defaults ``PROFILE_FIRTH_GTOL``,
        ``PROFILE_FIRTH_XTOL``).

    Returns
    -------
    beta : ndarray (k,)
    penalised_loglik : float
    converged : bool

    Notes
    -----
    Newton-Raphson on the free coefficients with Firth's modified score
    ``U*_r = sum_i x_ir (y_i - p_i + h_i (1/2 - p_i))`` (h the diagonal of the hat
    matrix ``W^1/2 X (X'WX)^-1 X' W^1/2``) and the Fisher information of the free
    coefficients, halving the step while the penalised likelihood decreases. This is
    how ``logistf`` fits its profile and likelihood-ratio constraints (Heinze &
    Schemper 2002). The arithmetic is the reference's (:class:`_FirthPointReference`),
    so that every fit outside the fast profile search (the estimate's polish, the
    penalised likelihood-ratio tests, the reference search and its restarts) gives the
    same numbers as before that search existed; the fast search runs the same iteration
    on :class:`_FirthPoint` (one Cholesky factor of ``X'WX`` per point for the penalty
    and the hat diagonal).

    References
    ----------
    Firth (1993), Biometrika 80:27-38; Heinze & Schemper (2002), Stat Med 21:2409-19.
    """
    beta, here, converged = _firth_fit(X1, y, fixed, start, gtol, xtol, _FirthPointReference)
    return beta, here.ll, converged


def _fit_firth_full(X1: np.ndarray, y: np.ndarray):
    from firthmodels import FirthLogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = FirthLogisticRegression(max_iter=fitconfig.FIRTH_MAX_ITER, gtol=fitconfig.FIRTH_GTOL,
                                    xtol=fitconfig.FIRTH_XTOL).fit(X1[:, 1:], y.astype(int))
    return m


def fit_firth(X1: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, bool, int]:
    """Firth fit by firthmodels, polished by :func:`firth_constrained` with nothing fixed.

    firthmodels stops at the project's tolerances (:mod:`analysis.base.fitconfig`); a few more
    Newton steps bring the modified score below ``PROFILE_FIRTH_GTOL`` so that profile and
    likelihood-ratio statistics are measured from the maximum itself.

    Returns
    -------
    beta (intercept first), se (inverse Fisher information at beta), penalised
    log-likelihood, converged, firthmodels' iteration count.
    """
    m = _fit_firth_full(X1, y)
    start = np.concatenate([[m.intercept_], m.coef_])
    # the estimate itself to a tighter tolerance than the profile points
    beta, ll, conv = firth_constrained(X1, y, {}, start=start, gtol=1e-9, xtol=1e-10)
    eta = X1 @ beta
    p = 1.0 / (1.0 + np.exp(-eta))
    info = (X1 * (p * (1 - p))[:, None]).T @ X1
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    return beta, se, ll, bool(conv), int(m.n_iter_)


def firth_plr_pvalues(X1, y, beta, ll_full) -> tuple[np.ndarray, np.ndarray]:
    """Penalised likelihood-ratio chi-square (1 df) and p of each coefficient = 0.

    The constrained fit keeps the full design's penalty (as ``logistf``'s default
    ``pl = TRUE`` tests do)."""
    chi = np.empty(len(beta))
    for j in range(len(beta)):
        _, ll0, _ = firth_constrained(X1, y, {j: 0.0}, start=beta)
        chi[j] = max(0.0, 2.0 * (ll_full - ll0))
    return chi, stats.chi2.sf(chi, 1)


def _firth_reference_stat(X1, y, j, beta, ll_full):
    """The reference search's profile statistic of coefficient j (Firth): each point
    fitted from the nearest point already computed and from the estimate, the higher
    maximum kept; in the reference's arithmetic (:class:`_FirthPointReference`)."""
    done = {float(beta[j]): beta}

    def fit(b, start):
        coef, here, _ = _firth_fit(X1, y, {j: b}, start, None, None, _FirthPointReference)
        return coef, here.ll

    def stat(b):
        near = done[min(done, key=lambda v: abs(v - b))]
        best, ll = fit(b, near)
        if near is not beta:
            coef, ll2 = fit(b, beta)
            if ll2 > ll:
                best, ll = coef, ll2
        if np.all(np.isfinite(best)):
            done[float(b)] = best
        return 2.0 * (ll_full - ll)

    return stat


def _profile_slope(info: np.ndarray, j: int, free: np.ndarray) -> np.ndarray:
    """Direction in which the constrained maximum moves as b_j moves: ``d b_free / d b_j
    = -I_ff^-1 I_fj`` (implicit differentiation of the score equations, with the Fisher
    information for the Hessian), 1 for b_j itself. A warm start one step along the
    profile starts here, which leaves only the curvature of the path to iterate away."""
    slope = np.zeros(info.shape[0])
    slope[j] = 1.0
    try:
        slope[free] = -np.linalg.solve(info[np.ix_(free, free)], info[free, j])
    except np.linalg.LinAlgError:
        slope[free] = 0.0
    if not np.all(np.isfinite(slope)):
        slope[free] = 0.0
    return slope


def _firth_point(X1, y, j, beta, ll_full, crit):
    """The fast search's profile point of coefficient j (Firth) and its check.

    ``point(b)`` fits from the nearest point already computed only (moved along the
    profile's tangent, :func:`_profile_slope`) and returns the statistic and its
    derivative (``-2`` times the modified score of coefficient j, the gradient of the
    penalised log-likelihood). ``check(b, stat)`` fits from the estimate too, as the
    reference search does at every point, and hands the bound to the reference search
    (:class:`_Irregular`) when that start reaches another maximum (its statistic differs
    by more than ``PROFILE_STAT_TOL``, either way): where the constrained likelihood has
    several maxima the two searches' paths can end in different ones, so there the bound
    is the reference search's.
    """
    free = np.delete(np.arange(len(beta)), j)
    done = {float(beta[j]): (beta, _profile_slope(_FirthPoint(X1, y, beta).info, j, free))}

    def point(b):
        b0 = min(done, key=lambda v: abs(v - b))
        near, slope = done[b0]
        coef, here, conv = _firth_fit(X1, y, {j: b}, near + (b - b0) * slope, None, None)
        if not conv or not np.all(np.isfinite(coef)) or not math.isfinite(here.ll):
            raise _Irregular(f"constrained fit at b = {b} did not converge")
        done[float(b)] = (coef, _profile_slope(here.info, j, free))
        return 2.0 * (ll_full - here.ll), -2.0 * float(here.score()[j])

    def check(b, stat_here):
        _, there, _ = _firth_fit(X1, y, {j: b}, beta, None, None)
        if abs(2.0 * (ll_full - there.ll) - stat_here) > PROFILE_STAT_TOL:
            raise _Irregular(f"a second maximum at b = {b}")

    return point, check


def profile_ci_firth(X1, y, beta, se, ll_full, level: float = 0.95, *,
                     n_restarts: int = PROFILE_RESTARTS, seed: int = 2018) -> np.ndarray:
    """Profile penalised-likelihood intervals (as ``logistf``'s profile CIs).

    Parameters
    ----------
    X1 : ndarray (n, k)
        Design with its intercept column.
    y : ndarray (n,)
    beta, se : ndarray (k,)
        Firth estimate and standard errors (the SEs set the search steps and the
        spread of the restarts).
    ll_full : float
        Penalised log-likelihood at ``beta``.
    level : float
    n_restarts, seed : int
        Random restarts that check each bound (see Notes); seeded per coefficient
        and side by ``SeedSequence([seed, j, side])``.

    Returns
    -------
    ndarray (k, 2)
        Bounds; NaN where the bound is not determined.

    Notes
    -----
    The bound for coefficient j solves ``2 (l*(b_hat) - max_{b_-j} l*(b_j = b, b_-j))
    = chi2_1(level)``, with ``l*`` the penalised log-likelihood of the full design
    (:func:`firth_constrained`), bracketed in doubling steps of one standard error.

    The penalised likelihood need not be concave (its penalty ``log det X'WX`` is
    not): with b_j held far from its estimate the constrained fit can have several
    local maxima (group 7's mean+sd model has two, its 21-parameter moments_all model
    many). The reference search (:func:`_profile_bounds`) fits every profile point
    from two starts, the estimate and the solution at the nearest profile point
    already computed, keeps the higher maximum and finds the root by Brent's method.
    The search used first (:func:`_profile_root`) fits each point from the nearest
    point only (a warm start: two or three Newton steps) and finds the root by Newton's
    method on the signed root of the statistic, whose derivative is the modified score
    of b_j at the constrained maximum; it fits from the estimate too at the outer end
    of the bracket and at the root. Whenever that start or one of the restarts (below)
    reaches another maximum, a warm-started fit does not converge, or the statistic at
    a root is not the critical value, every bound of the model is searched again by the
    reference search, in the reference's arithmetic (:class:`_FirthPointReference`):
    where the constrained likelihood has several maxima, which of them a search climbs
    depends on its path and even on rounding, so such a model gets the reference's
    path, arithmetic and bounds (group 7's 21-parameter moments_all model is one).
    Otherwise both searches solve the same equation in the same bracket, and their
    bounds agree to the root tolerance.

    At the bound found, ``n_restarts`` more fits start from ``beta + N(0, se^2)``
    draws; if one reaches a higher maximum (statistic below the critical value by
    more than 1e-6), the bound is not the profile's and is reported as NaN ("not
    determined") rather than as a number that is wrong.
    """
    crit = stats.chi2.ppf(level, 1)
    try:
        return _firth_bounds(X1, y, beta, se, ll_full, crit, n_restarts, seed, fast=True)
    except _Irregular:
        return _firth_bounds(X1, y, beta, se, ll_full, crit, n_restarts, seed, fast=False)


def _firth_bounds(X1, y, beta, se, ll_full, crit, n_restarts, seed, *, fast):
    """The bounds of :func:`profile_ci_firth`, by the fast search (``fast``; raises
    :class:`_Irregular` where it sees a second maximum, a check or a restart included) or
    by the reference search in the reference's arithmetic."""
    out = np.empty((len(beta), 2))
    for j in range(len(beta)):
        if fast:
            for side, sign in enumerate((-1.0, 1.0)):
                point, check = _firth_point(X1, y, j, beta, ll_full, crit)
                out[j, side] = _profile_root(point, beta[j], se[j], crit, sign, check=check)
        else:
            out[j] = _profile_bounds(_firth_reference_stat(X1, y, j, beta, ll_full),
                                     beta[j], se[j], crit)
        for side in (0, 1):
            b = out[j, side]
            if not np.isfinite(b) or n_restarts == 0:
                continue
            rng = np.random.default_rng(np.random.SeedSequence([seed, j, side]))
            for _ in range(n_restarts):
                start = beta + rng.normal(size=len(beta)) * se
                _, here, conv = _firth_fit(X1, y, {j: b}, start, None, None,
                                           _FirthPoint if fast else _FirthPointReference)
                stat_r = 2.0 * (ll_full - here.ll)
                if fast and conv and abs(stat_r - crit) > 1e-6:
                    raise _Irregular(f"a restart reached another maximum at b = {b}")
                if conv and stat_r < crit - 1e-6:
                    out[j, side] = math.nan
                    break
    return out


# ---------------------------------------------------------------------------
# one model
# ---------------------------------------------------------------------------
def events_per_variable(y: np.ndarray, n_predictors: int) -> float:
    """Events per variable: the rarer class's count over the number of predictors."""
    y = np.asarray(y)
    events = min(int(y.sum()), int(len(y) - y.sum()))
    return events / n_predictors if n_predictors else math.inf


def interval_method(y: np.ndarray, n_predictors: int) -> str:
    """Which intervals a full-data model gets: the review's rule.

    Returns
    -------
    str
        ``"none"`` when the model has at least as many predictors as events of the
        rarer class (it cannot support intervals; moments_all on group 7: 20
        predictors, 18 melanomas); ``"profile"`` when its events per variable are below
        :data:`PROFILE_MAX_EPV` (small samples, where the likelihood is skewed and Wald
        intervals are poor: every model of group 7); ``"wald"`` otherwise (large
        samples, where the profile and Wald intervals agree and the profile's cost,
        O(n k^3) per model, dominates the review).
    """
    y = np.asarray(y)
    events = min(int(y.sum()), int(len(y) - y.sum()))
    if n_predictors >= events:
        return "none"
    return "profile" if events_per_variable(y, n_predictors) < PROFILE_MAX_EPV else "wald"


def wald_ci(est: np.ndarray, se: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Wald intervals ``est +- z_{(1+level)/2} se`` (R's ``confint.default``; logistf's
    ``pl = FALSE`` for a Firth fit, whose ``se`` is the inverse Fisher information's)."""
    q = stats.norm.ppf(0.5 + level / 2)
    est, se = np.asarray(est, dtype=float), np.asarray(se, dtype=float)
    return np.column_stack([est - q * se, est + q * se])


def fit_model(frame: pd.DataFrame, columns: list[str], estimator: str = "mle", *,
              feature_set: str = "", level: float = 0.95,
              profile: bool = True, ci: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Fit one full-data logistic model; return its tidy rows and its glance row.

    Parameters
    ----------
    frame : DataFrame
        Response column ``melanoma`` (0/1) and the feature columns.
    columns : list of str
        Predictors, in order.
    estimator : {"mle", "firth"}
    feature_set : str
        Name written in the rows.
    level : float
        Confidence level of the profile intervals.
    profile : bool
        False skips the profile intervals (``conf_*`` NaN, ``conf_method`` "none"): the
        Firth profile of the 21-coefficient moments_all model costs about 25 s.
    ci : {"profile", "wald", "none"}, optional
        The intervals, overriding ``profile`` (None: ``"profile"`` if ``profile`` else
        ``"none"``); ``"wald"`` gives :func:`wald_ci` (``conf_method`` "Wald"). The
        review chooses by :func:`interval_method`.

    Returns
    -------
    tidy : DataFrame
        Columns :data:`TIDY_COLUMNS`, one row per term (intercept first).
    glance : dict
        Keys :data:`GLANCE_COLUMNS`.

    Notes
    -----
    ``mle``: estimate and Wald ``std_error``/``statistic`` (z)/``p_value`` from
    statsmodels' GLM (R's ``summary.glm``); profile-likelihood interval
    (:func:`profile_ci_mle`). Separated data (plain-MLE Newton diverges,
    :func:`analysis.fitting.models.fit_logistic`): every number is NaN and ``note`` says
    the MLE does not exist.

    ``firth``: estimate from firthmodels; ``std_error`` from the inverse Fisher
    information ``X'WX`` at the estimate (logistf's; firthmodels' ``bse_`` uses the
    augmented ``X'W(1+h)X``); ``statistic`` is the penalised likelihood-ratio
    chi-square (1 df) of the coefficient being 0, ``p_value`` its p; profile
    penalised-likelihood interval (:func:`profile_ci_firth`); as ``logistf``'s
    summary.

    ``loglik`` is the (unpenalised) log-likelihood at the estimate, ``aic =
    -2 loglik + 2k``, ``bic = -2 loglik + k log n``, ``deviance = -2 loglik``
    (binary data), k the number of coefficients with the intercept.
    """
    if ci is None:
        ci = "profile" if profile else "none"
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {CI_METHODS}, got {ci!r}")
    profile = ci == "profile"
    X = frame[columns].to_numpy(dtype=float)
    y = frame[RESPONSE].to_numpy(dtype=float)
    n, p = X.shape
    X1 = np.column_stack([np.ones(n), X])
    terms = [INTERCEPT, *columns]
    check = fit_logistic(X, y.astype(int), estimator)
    glance = {"feature_set": feature_set, "estimator": estimator, "n": n,
              "events": int(y.sum()), "n_predictors": p,
              "events_per_variable": events_per_variable(y, p),
              "separated": check.separated, "penalised_loglik": math.nan, "note": ""}
    null_ll = _loglik(np.ones((n, 1)), y, np.array([math.log(y.mean() / (1 - y.mean()))]))
    glance["null_deviance"] = -2 * null_ll
    nan = np.full(p + 1, math.nan)
    if estimator == "mle":
        if check.separated:
            est = se = stat = pv = nan
            ci_ = np.column_stack([nan, nan])
            note = NO_MLE
            glance.update(loglik=math.nan, converged=check.converged, n_iter=check.n_iter,
                          note=NO_MLE)
        else:
            res = fit_glm(frame, columns)
            est = np.asarray(res.params, dtype=float)
            se = np.asarray(res.bse, dtype=float)
            stat = est / se
            pv = 2 * stats.norm.sf(np.abs(stat))
            ci_ = (profile_ci_mle(X1, y, est, se, level) if profile
                   else wald_ci(est, se, level) if ci == "wald" else np.column_stack([nan, nan]))
            note = ""
            glance.update(loglik=float(res.llf), converged=bool(res.converged),
                          n_iter=int(res.fit_history["iteration"]))
        test, ci_method = "Wald z", "profile likelihood"
    elif estimator == "firth":
        est, se, ll_pen, conv, n_iter = fit_firth(X1, y)
        stat, pv = firth_plr_pvalues(X1, y, est, ll_pen)
        ci_ = (profile_ci_firth(X1, y, est, se, ll_pen, level) if profile
               else wald_ci(est, se, level) if ci == "wald" else np.column_stack([nan, nan]))
        note = "" if conv else "Firth fit did not converge"
        glance.update(loglik=_loglik(X1, y, est), penalised_loglik=ll_pen,
                      converged=conv, n_iter=n_iter, note=note)
        test, ci_method = "penalised LR chi2", "profile penalised likelihood"
    else:
        raise ValueError(f"estimator must be mle or firth, got {estimator!r}")
    # a bound that is NaN while the estimate exists was not determined: say why
    undetermined = profile & np.isfinite(est) & (np.isnan(ci_[:, 0]) | np.isnan(ci_[:, 1]))
    why = (PROFILE_MULTIMODAL if estimator == "firth" else PROFILE_NOT_CONVERGED)
    notes = np.where(undetermined, (note + "; " if note else "") + why, note)
    if ci == "wald":
        ci_method = "Wald"
    elif ci == "none":
        ci_method = "none"
    ci = ci_
    k = p + 1
    ll = glance["loglik"]
    glance.update(aic=-2 * ll + 2 * k, bic=-2 * ll + k * math.log(n), deviance=-2 * ll)
    with np.errstate(over="ignore"):
        tidy = pd.DataFrame({
            "feature_set": feature_set, "estimator": estimator, "term": terms,
            "estimate": est, "odds_ratio": np.exp(est), "std_error": se, "statistic": stat,
            "test": test, "p_value": pv, "conf_low": ci[:, 0], "conf_high": ci[:, 1],
            "odds_ratio_conf_low": np.exp(ci[:, 0]),
            "odds_ratio_conf_high": np.exp(ci[:, 1]),
            "conf_method": ci_method, "note": notes,
        })
    return tidy[TIDY_COLUMNS], {c: glance[c] for c in GLANCE_COLUMNS}


def fit_models(design: GroupDesign, feature_sets=DEFAULT_FEATURE_SETS,
               estimators=("mle", "firth"), level: float = 0.95, profile: bool = True,
               ci: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy and glance tables of the full-data models of a group.

    Parameters
    ----------
    design : GroupDesign
    feature_sets : sequence of str
        Default :data:`DEFAULT_FEATURE_SETS` (mean, sd, mean+sd, moments_all and each
        feature type).
    estimators : sequence of {"mle", "firth"}
    level : float
    profile : bool
    ci : {"profile", "wald", "none", "auto"}, optional
        See :func:`fit_model`; ``"auto"`` chooses per feature set by
        :func:`interval_method`.

    Returns
    -------
    tidy : DataFrame
        One row per (feature set, estimator, term), columns :data:`TIDY_COLUMNS`
        (see :func:`fit_model`).
    glance : DataFrame
        One row per (feature set, estimator), columns :data:`GLANCE_COLUMNS`.

    Notes
    -----
    Inside a run that records its stages (``analyze``, :mod:`analysis.base.progress`), the
    fits are the stage ``fitted models``, with a bar over the models on a terminal.

    The fits run with one BLAS thread: their matrix products are small (k x n times
    n x k for k <= 41), and a second BLAS thread on a busy machine made each one 10 to
    100 times slower (cProfile of the profile intervals at 10^3 units: 18 ms per
    41 x 41 product instead of 0.3 ms); the results do not depend on it.
    """
    from ..fitting.engine import _blas_controller

    tidies, glances = [], []
    jobs = [(fs, est) for fs in feature_sets for est in estimators]
    with (stage("fitted models"), _blas_controller().limit(limits=1, user_api="blas")):
        frames = {}
        for fs, est in progress(jobs, desc="fitted models", quiet=stage_quiet()):
            if fs not in frames:
                frame = model_frame(design, fs)
                cols = design.columns(fs)
                frames[fs] = (frame, cols, interval_method(frame[RESPONSE].to_numpy(), len(cols))
                              if ci == "auto" else ci)
            frame, cols, how = frames[fs]
            t, g = fit_model(frame, cols, est, feature_set=fs, level=level,
                             profile=profile, ci=how)
            tidies.append(t)
            glances.append(g)
    return (pd.concat(tidies, ignore_index=True),
            pd.DataFrame(glances, columns=GLANCE_COLUMNS))


def tidy_models(design: GroupDesign, **kw) -> pd.DataFrame:
    """Per-term rows of :func:`fit_models` (broom's ``tidy(conf.int=TRUE)``)."""
    return fit_models(design, **kw)[0]


def glance_models(design: GroupDesign, **kw) -> pd.DataFrame:
    """Per-model rows of :func:`fit_models` (broom's ``glance``)."""
    return fit_models(design, **kw)[1]


# ---------------------------------------------------------------------------
# penalised likelihood-ratio test of nested feature sets
# ---------------------------------------------------------------------------
def firth_lrt_arrays(X_full: np.ndarray, y: np.ndarray, drop: list[int],
                     method: str = "nested") -> dict:
    """Penalised likelihood-ratio test that the coefficients ``drop`` are all zero.

    Parameters
    ----------
    X_full : ndarray (n, p)
        Predictors of the larger model, without intercept.
    y : ndarray (n,)
    drop : list of int
        Columns of ``X_full`` (0-based, intercept not counted) absent from the smaller model.
    method : {"nested", "plr"}
        ``nested``: the smaller model is the larger one with ``drop`` fixed at 0, under the
        larger model's penalty (``logistf::anova(method = "nested")``, the default);
        ``plr``: both models fitted separately, each with its own penalty
        (``method = "PLR"``).

    Returns
    -------
    dict
        ``statistic`` = 2 (l*_full - l*_reduced), ``df`` = len(drop), ``p`` (chi-square),
        ``loglik_full``, ``loglik_reduced`` (penalised), ``converged``.

    Notes
    -----
    ``nested`` compares two maxima of the same penalised likelihood, so the statistic
    is a likelihood-ratio statistic of one model with constraints; under ``plr`` the
    two penalties differ and the statistic also contains the change of penalty (on
    group 7, mean vs mean+sd: 4.03 nested against 10.47 plr). The chi-square reference
    (``df`` = number of dropped coefficients) is asymptotic; with 1.8 events per
    variable (mean+sd) it is a rough guide.

    References
    ----------
    Heinze & Schemper (2002); Heinze, Ploner & Jiricka (2020), logistf vignette.
    """
    X_full = np.asarray(X_full, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X_full.shape
    X1 = np.column_stack([np.ones(n), X_full])
    if method not in ("nested", "plr"):
        raise ValueError(f"method must be nested or plr, got {method!r}")
    beta, _, ll_full, conv_full, _ = fit_firth(X1, y)
    keep = [j for j in range(p) if j not in set(drop)]
    Xr = np.column_stack([np.ones(n), X_full[:, keep]])
    if Xr.shape[1] == 1:  # intercept only: firthmodels needs a predictor
        beta_r, ll_red, conv = firth_constrained(Xr, y, {})
    else:
        beta_r, _, ll_red, conv, _ = fit_firth(Xr, y)
    if method == "nested":
        # the constrained penalised likelihood can have several local maxima: start from
        # the full estimate with the dropped coefficients at 0 and from the separately
        # fitted smaller model, keep the higher maximum
        fixed = {j + 1: 0.0 for j in drop}
        start2 = np.zeros(p + 1)
        start2[[0, *[j + 1 for j in keep]]] = beta_r
        fits = [firth_constrained(X1, y, fixed, start=s) for s in (beta, start2)]
        _, ll_red, conv = max(fits, key=lambda f: f[1] if f[2] else -math.inf)
    statistic = max(0.0, 2.0 * (ll_full - ll_red))
    return {"statistic": statistic, "df": len(drop), "p": float(stats.chi2.sf(statistic, len(drop))),
            "loglik_full": ll_full, "loglik_reduced": ll_red,
            "converged": bool(conv_full) and bool(conv)}


def firth_lrt(design: GroupDesign, reduced_set: str, full_set: str,
              method: str = "nested") -> dict:
    """Penalised (Firth) likelihood-ratio test of two nested feature sets of a group.

    Parameters
    ----------
    design : GroupDesign
    reduced_set, full_set : str
        Feature sets; every column of ``reduced_set`` must be in ``full_set``
        (e.g. ``"mean"`` and ``"mean+sd"``).
    method : {"nested", "plr"}
        See :func:`firth_lrt_arrays`.

    Returns
    -------
    dict
        ``reduced_set, full_set, method, statistic, df, p, loglik_full, loglik_reduced,
        converged, n, events, epv_reduced, epv_full`` (events per variable, the rarer
        class's count over the number of predictors of each model).

    Examples
    --------
    ``firth_lrt(design, "mean", "mean+sd")`` asks whether the sd features add to the
    mean features (5 df on group 7).
    """
    cols_full = design.columns(full_set)
    cols_red = design.columns(reduced_set)
    missing = [c for c in cols_red if c not in cols_full]
    if missing:
        raise ValueError(f"{reduced_set!r} is not nested in {full_set!r}: {missing}")
    drop = [i for i, c in enumerate(cols_full) if c not in set(cols_red)]
    y = design.labels
    out = firth_lrt_arrays(design.matrix(full_set), y, drop, method)
    return {"reduced_set": reduced_set, "full_set": full_set, "method": method, **out,
            "n": int(len(y)), "events": int(y.sum()),
            "epv_reduced": events_per_variable(y, len(cols_red)),
            "epv_full": events_per_variable(y, len(cols_full))}


#: Nested comparisons of the review: does a disagreement moment add to the mean, does
#: the mean add to the sd, do the higher moments add to the mean.
DEFAULT_LRT_PAIRS = (("mean", "mean+sd"), ("sd", "mean+sd"), ("mean", "mean+skewness"),
                     ("mean", "mean+kurtosis"), ("mean", "moments_all"))
LRT_COLUMNS = ["reduced_set", "full_set", "method", "statistic", "df", "p", "loglik_reduced",
               "loglik_full", "converged", "n", "events", "epv_reduced", "epv_full"]


def firth_lrt_table(design: GroupDesign, pairs=DEFAULT_LRT_PAIRS,
                    method: str = "nested") -> pd.DataFrame:
    """:func:`firth_lrt` for several nested pairs, one row each (columns :data:`LRT_COLUMNS`)."""
    rows = [firth_lrt(design, red, full, method) for red, full in pairs]
    return pd.DataFrame(rows)[LRT_COLUMNS]
