"""Solver settings shared by every logistic-regression path.

The statsmodels/firthmodels reference path (:mod:`analysis.fitting.models`) and the
batched engine (:mod:`analysis.fitting.engine`) read the same constants and the same
stopping rules, so that a fold fitted by either path is fitted to the same optimum
and flagged by the same rule.

Every stopping rule is *scale-aware*: it compares a step with the size of the
coefficients, or a gradient with the size of the terms it is summed from, never with
an absolute number. A rule written that way is attainable in float64 whatever the
BLAS kernel or thread count (a different kernel moves a computed gradient by a few
units in the last place of its terms, and a Newton step by a few units in the last
place of the coefficients times the condition number of the system solved), and it
does not depend on the units of the features. Only fits whose iterates truly diverge
(separation under plain maximum likelihood) reach the iteration cap.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_SEED", "FIRTH_GTOL", "FIRTH_LL_RTOL", "FIRTH_MAX_ITER", "FIRTH_XTOL",
    "MLE_MAX_ITER", "MLE_TOL", "firth_gradient_scale", "firth_gtol", "mle_step_converged",
    "separation_flag",
]


#: Newton-Raphson iterations for plain maximum likelihood (statsmodels ``Logit``).
MLE_MAX_ITER = 100
#: Default master seed of every resampling step (fold assignment of repeat r uses
#: ``SeedSequence([seed, r])``); :data:`analysis.fitting.models.DEFAULT_SEED` is the same.
DEFAULT_SEED = 2018

#: Plain-MLE Newton stops when ``max_j |step_j| <= MLE_TOL * max(1, max_j |b_j|)``
#: (:func:`mle_step_converged`). Newton converges quadratically, so the iterate after a
#: step of relative size 1e-9 is exact to ~1e-16 relative; the rounding floor of a
#: step is ~``eps * cond(X'WX)`` relative, below 1e-9 for condition numbers up to
#: ~1e6. Under separation the iterates grow by O(1) per step (relative steps ~1/t,
#: >= 1e-2 at the cap), so the rule never stops a diverging fit.
MLE_TOL = 1e-9

#: Firth (bias-reduced) Newton-Raphson settings, as firthmodels names them. The Firth
#: estimate is finite for every full-rank design, but where the penalised likelihood is
#: flat (30 features on 86 rows, pure noise, separated) firthmodels' step (the expected
#: information in place of the Hessian of l*) converges only linearly: one such fold of
#: 100 needed 206 iterations (tests/test_threads.py). The cap is set so that it is
#: reached only by a fit that does not converge at all.
FIRTH_MAX_ITER = 1000
#: Relative gradient tolerance: converged needs ``max_j |U*_j| < FIRTH_GTOL * S`` with
#: ``S = max_j sum_i |x_ij|`` over the training rows, intercept column included
#: (:func:`firth_gtol`; ``S >= n``). Each term of ``U*_j`` is ``x_ij`` times a factor
#: of size at most ~1, so ``S`` bounds the terms and rounding moves ``U*_j`` by a few
#: ``eps * S``: 1e-8 leaves a margin of ~10^7 over that floor. For the report's designs
#: (z-scored features, n = 86 or 87) ``S = n`` and the tolerance is ~8.6e-7.
FIRTH_GTOL = 1e-8
#: Firth step tolerance (absolute, as firthmodels applies it): converged also needs
#: ``max_j |d_j| < FIRTH_XTOL``. Firth estimates are finite (O(1-10) on standardized
#: features) and the rounding floor of a Newton step is ``~eps * cond * |b|``, about
#: 1e-12 for condition numbers up to 1e3; quadratic convergence leaves an error near
#: 1e-12 after a last step below 1e-6.
FIRTH_XTOL = 1e-6
#: Step acceptance of the engine's Firth iterations: a step is accepted when the
#: penalised log-likelihood does not fall by more than ``FIRTH_LL_RTOL * L``, with
#: ``L`` the sum of the absolute sizes of its terms (``sum_i w_i (|l_i| + |eta_i|)``
#: plus ``|log det|``/2). Rounding moves a computed log-likelihood by a few ``eps * L``
#: (BLAS-dependent), so a test ``l*(new) >= l*(old)`` is a coin toss once the true change
#: is below that; accepting such steps instead of halving them (firthmodels halves, and
#: may stop with "step-halving failed" at the optimum) lets Newton finish. 64 eps is far
#: below the change of any step that the convergence test does not already accept.
FIRTH_LL_RTOL = 64 * np.finfo(np.float64).eps


def mle_step_converged(step: np.ndarray, beta: np.ndarray, tol: float = MLE_TOL) -> np.ndarray:
    """Scale-aware stopping rule of the plain-MLE (and ridge) Newton iterations.

    Parameters
    ----------
    step : ndarray (..., k)
        Last Newton step(s) ``b_new - b_old`` (NaN counts as not converged).
    beta : ndarray (..., k)
        The new iterate(s) ``b_new``.
    tol : float
        Relative tolerance (default :data:`MLE_TOL`).

    Returns
    -------
    ndarray of bool (...)
        ``max_j |step_j| <= tol * max(1, max_j |b_j|)``.

    Notes
    -----
    The bound is relative to the largest coefficient (an infinity-norm rule): the
    rounding error of every component of a solve scales with the norm of the solution,
    not with the component. The floor of 1 makes it absolute for coefficients below 1.
    """
    step = np.asarray(step, dtype=float)
    beta = np.asarray(beta, dtype=float)
    with np.errstate(invalid="ignore"):
        size = np.maximum(1.0, np.max(np.abs(beta), axis=-1))
        return np.max(np.abs(step), axis=-1) <= tol * size


def firth_gradient_scale(X: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """``S = max_j sum_i w_i |x_ij|`` of a design with intercept (the column of ones gives
    ``sum_i w_i``), the size of the terms of the Firth score.

    Parameters
    ----------
    X : ndarray (n, p) or (B, n, k)
        A 2-D ``X`` is one design *without* intercept column; a 3-D ``X`` is a batch of
        designs *with* the intercept column (as the engine stacks them).
    w : ndarray (n,) or (B, n), optional
        Row weights (default 1).
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 2:
        w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=float)
        return float(max(w.sum(), (w[:, None] * np.abs(X)).sum(axis=0).max(initial=0.0)))
    w = np.ones(X.shape[:2]) if w is None else np.asarray(w, dtype=float)
    return np.einsum("bn,bnk->bk", w, np.abs(X)).max(axis=1)


def firth_gtol(X: np.ndarray, gtol: float = FIRTH_GTOL) -> float:
    """Absolute gradient tolerance for one training design ``X`` (no intercept column):
    ``gtol * firth_gradient_scale(X)`` (see :data:`FIRTH_GTOL`)."""
    return float(gtol * firth_gradient_scale(X))


def separation_flag(eta_train: np.ndarray, converged: bool) -> bool:
    """Return True when the plain-MLE fit shows the divergence that separation causes.

    A training set is flagged ``separated`` when Newton-Raphson for the plain MLE
    (statsmodels' steps: no step control; stopped by :func:`mle_step_converged`) does
    not converge within ``MLE_MAX_ITER`` iterations, or its linear predictor is not
    finite. When the MLE exists, Newton converges in a handful of iterations even when
    the optimum is far out (nearly separated data); under (quasi-)complete separation
    the iterates diverge and never settle. The rule agrees with the exact
    linear-programming test of separation on every group-7 fold (tests/test_models.py).

    Parameters
    ----------
    eta_train : ndarray
        Linear predictor of the plain-MLE fit on the training rows.
    converged : bool
        Whether that fit converged.
    """
    eta = np.asarray(eta_train, dtype=float)
    return bool(not converged or not np.all(np.isfinite(eta)))
