"""Frozen reference: the profile-likelihood intervals of ``analysis.statistics.coefficients`` as
they were before the warm-started profile search (commit efc348b), kept verbatim (only
the module constants are copied in) so that tests and ``benchmarks/bench_profile.py``
can compare the fast path with it. Not used by the package.

Every profile point refits the constrained model from two starts (the nearest point
already computed and the estimate); the bound is bracketed in doubling steps of one
standard error and found by Brent's method; the hat diagonal comes from an explicit
inverse and a three-operand einsum.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

FIRTH_XTOL = 1e-8
FIRTH_GTOL = 1e-6
FIRTH_MAX_ITER = 1000  # analysis.base.fitconfig.FIRTH_MAX_ITER at commit efc348b
PROFILE_MAX_SE = 60.0
PROFILE_RESTARTS = 4
PROFILE_MAX_ITER = 500
_HAT_BLAS_ROWS = 5000


class ProfileNotDetermined(RuntimeError):
    """A constrained fit on the profile did not converge, so a bound cannot be placed."""


def _loglik(X: np.ndarray, y: np.ndarray, beta: np.ndarray, offset=0.0) -> float:
    eta = X @ beta + offset
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _fit_offset_mle(X, y, offset, start) -> tuple[np.ndarray, float, bool]:
    """Plain-MLE Newton-Raphson with an offset and step halving (``X`` may have no columns).

    Returns the coefficients, the log-likelihood reached and whether the largest step
    fell below 1e-10 within ``PROFILE_MAX_ITER`` iterations.
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
            step = np.linalg.lstsq((X * w[:, None]).T @ X, X.T @ (y - p), rcond=None)[0]
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


def _profile_bounds(stat, b_hat: float, se: float, crit: float) -> tuple[float, float]:
    """Roots of ``stat(b) = crit`` on both sides of ``b_hat`` (``stat(b_hat) = 0``).

    The profile is followed outwards in steps of one standard error, doubling, up to
    ``PROFILE_MAX_SE`` standard errors; if it has not crossed ``crit`` by then, the
    bound is reported as infinite (the likelihood is flat on that side). If a
    constrained fit fails (:class:`ProfileNotDetermined`), the bound is NaN.
    """
    out = []
    for sign in (-1.0, 1.0):
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
    return out[0], out[1]


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
    = chi2_1(level)``: the constrained fit puts ``b * x_j`` in the offset and is
    started both at the MLE and at the converged solution of the nearest profile
    point already computed (keeping the higher likelihood; the log-likelihood is
    concave, so both reach the same maximum when they converge, but a start far from
    it can need many halved steps). This is the interval R's ``confint()`` gives for a
    ``glm`` (``MASS::confint.glm``), which interpolates the same profile on a grid of
    points instead of finding the roots; the two differ by up to about 2e-3 on group
    7 (``tests/fixtures/r/confint_group7.csv``).

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
        free = np.delete(np.arange(len(beta)), j)
        Xf = X1[:, free]
        done = {float(beta[j]): beta[free].copy()}

        def stat(b, j=j, Xf=Xf, free=free, done=done):
            near = done[min(done, key=lambda v: abs(v - b))]
            coef, ll, conv = _fit_offset_mle(Xf, y, b * X1[:, j], near)
            if near is not done[float(beta[j])]:
                coef2, ll2, conv2 = _fit_offset_mle(Xf, y, b * X1[:, j], done[float(beta[j])])
                if conv2 and (not conv or ll2 > ll):
                    coef, ll, conv = coef2, ll2, conv2
            if not conv:
                raise ProfileNotDetermined(f"constrained fit at b = {b} did not converge")
            done[float(b)] = coef
            return 2.0 * (ll_hat - ll)

        out[j] = _profile_bounds(stat, beta[j], se[j], crit)
    return out


def penalised_loglik(X1: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    """Firth's penalised log-likelihood ``l(b) + 0.5 log det(X' W(b) X)``."""
    eta = X1 @ beta
    p = 1.0 / (1.0 + np.exp(-eta))
    w = p * (1 - p)
    sign, logdet = np.linalg.slogdet((X1 * w[:, None]).T @ X1)
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)) + 0.5 * logdet) if sign > 0 else -math.inf


def _hat_diagonal(X1: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """``diag(X1 inv X1')`` without forming the n x n matrix.

    Up to ``_HAT_BLAS_ROWS`` rows by ``einsum("ij,jk,ik->i")`` (unbuffered loops,
    O(n k^2) scalar operations); above it as ``rowsum((X1 @ inv) * X1)``, the same
    quantity through one BLAS product (about 20 times faster at k = 41, equal to
    rounding).
    """
    if X1.shape[0] <= _HAT_BLAS_ROWS:
        return np.einsum("ij,jk,ik->i", X1, inv, X1)
    return np.sum((X1 @ inv) * X1, axis=1)


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
        or the largest step below ``xtol`` (defaults ``FIRTH_GTOL``, ``FIRTH_XTOL``).

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
    Schemper 2002).

    References
    ----------
    Firth (1993), Biometrika 80:27-38; Heinze & Schemper (2002), Stat Med 21:2409-19.
    """
    X1 = np.asarray(X1, dtype=float)
    y = np.asarray(y, dtype=float)
    k = X1.shape[1]
    beta = np.zeros(k) if start is None else np.array(start, dtype=float)
    for j, v in fixed.items():
        beta[j] = v
    free = np.array([j for j in range(k) if j not in fixed], dtype=int)
    gtol = FIRTH_GTOL if gtol is None else gtol
    xtol = FIRTH_XTOL if xtol is None else xtol
    ll = penalised_loglik(X1, y, beta)
    if free.size == 0:
        return beta, ll, True
    converged = False
    for _ in range(FIRTH_MAX_ITER):
        eta = X1 @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p)
        info = (X1 * w[:, None]).T @ X1
        inv = np.linalg.inv(info)
        h = _hat_diagonal(X1, inv) * w
        score = (X1.T @ (y - p + h * (0.5 - p)))[free]
        if np.max(np.abs(score)) < gtol:
            converged = True
            break
        step = np.linalg.solve(info[np.ix_(free, free)], score)
        step *= min(1.0, 5.0 / max(np.max(np.abs(step)), 1e-300))  # firthmodels' max_step
        for _half in range(30):
            trial = beta.copy()
            trial[free] += step
            ll_new = penalised_loglik(X1, y, trial)
            if ll_new >= ll - 1e-12 * abs(ll):
                break
            step /= 2
        else:
            break  # no ascent step left: stop, converged only if the score test passed
        beta, ll = trial, ll_new
        if np.max(np.abs(step)) < xtol:
            converged = True
            break
    return beta, ll, converged


def firth_plr_pvalues(X1, y, beta, ll_full) -> tuple[np.ndarray, np.ndarray]:
    """Penalised likelihood-ratio chi-square (1 df) and p of each coefficient = 0.

    The constrained fit keeps the full design's penalty (as ``logistf``'s default
    ``pl = TRUE`` tests do)."""
    chi = np.empty(len(beta))
    for j in range(len(beta)):
        _, ll0, _ = firth_constrained(X1, y, {j: 0.0}, start=beta)
        chi[j] = max(0.0, 2.0 * (ll_full - ll0))
    return chi, stats.chi2.sf(chi, 1)


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
    (:func:`firth_constrained`), by bracketing and Brent's method.

    The penalised likelihood need not be concave (its penalty ``log det X'WX`` is
    not): with b_j held far from its estimate the constrained fit can have several
    local maxima (group 7's mean+sd model has two, its 21-parameter moments_all model
    many). Each profile point is therefore fitted from two starts, the estimate and
    the solution at the nearest profile point already computed, and the higher
    maximum is kept. At the bound found, ``n_restarts`` more fits start from
    ``beta + N(0, se^2)`` draws; if one reaches a higher maximum (statistic below the
    critical value by more than 1e-6), the bound is not the profile's and is
    reported as NaN ("not determined") rather than as a number that is wrong.
    """
    crit = stats.chi2.ppf(level, 1)
    out = np.empty((len(beta), 2))
    for j in range(len(beta)):
        done = {float(beta[j]): beta}

        def stat(b, j=j, done=done):
            near = done[min(done, key=lambda v: abs(v - b))]
            best, ll, _ = firth_constrained(X1, y, {j: b}, start=near)
            if near is not beta:
                coef, ll2, _ = firth_constrained(X1, y, {j: b}, start=beta)
                if ll2 > ll:
                    best, ll = coef, ll2
            if np.all(np.isfinite(best)):
                done[float(b)] = best
            return 2.0 * (ll_full - ll)

        out[j] = _profile_bounds(stat, beta[j], se[j], crit)
        for side in (0, 1):
            b = out[j, side]
            if not np.isfinite(b) or n_restarts == 0:
                continue
            rng = np.random.default_rng(np.random.SeedSequence([seed, j, side]))
            for _ in range(n_restarts):
                start = beta + rng.normal(size=len(beta)) * se
                _, ll_r, conv = firth_constrained(X1, y, {j: b}, start=start)
                if conv and 2.0 * (ll_full - ll_r) < crit - 1e-6:
                    out[j, side] = math.nan
                    break
    return out
