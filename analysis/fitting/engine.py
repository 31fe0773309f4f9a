"""Batched logistic-regression engine: many small fits at once in NumPy.

The report refits small logistic models (about 86 training rows, 6 to 31
parameters) tens of thousands of times: every fold of every repeat of 10-fold
cross-validation, for bootstraps and for label permutations.  One fit through
statsmodels or firthmodels costs milliseconds of per-call overhead, almost none
of which is arithmetic.  This module stacks ``B`` models along a leading axis and
runs the same Newton iterations for all of them together, freezing each model as
it meets its own stopping rule.

The iterations reproduce the reference path (:mod:`analysis.fitting.models`) step for
step, with the settings of :mod:`analysis.base.fitconfig`:

* plain maximum likelihood follows statsmodels' ``Logit.fit(method="newton")``:
  start at zero, Newton steps on the Hessian scaled by ``1/n`` plus a ridge of
  ``1e-10`` on its diagonal, stop when the step is at most ``MLE_TOL`` times
  ``max(1, max|b|)`` (:func:`analysis.base.fitconfig.mle_step_converged`; the
  reference applies the same rule through a statsmodels callback) or after
  ``MLE_MAX_ITER`` steps (``converged`` is False exactly when the iteration cap
  was reached);
* Firth's penalized likelihood follows firthmodels'
  ``FirthLogisticRegression`` Newton-Raphson: start at zero, step
  ``(X' W_h X)^{-1} U*`` clipped to ``max_step``, step-halving on the penalized
  log-likelihood, stop when ``max|U*| < gtol * S`` (``S`` the size of the
  score's terms, :func:`analysis.base.fitconfig.firth_gtol`) and ``max|step| < xtol``.
  One departure, which only matters where firthmodels' comparison is decided by
  rounding: a step whose penalized log-likelihood falls by less than its
  rounding error (``fitconfig.FIRTH_LL_RTOL``) is accepted rather than halved.

Rows can be masked (weight 0), so training sets of unequal size (86 and 87 rows
in 10-fold CV of 96 images) are stacked by padding.

Performance notes: cross-validation batches share one pooled design (row
weights 0/1), so every product over the batch is one matrix product; the
``X'WX`` inverses of Firth fits with 12 or more parameters come from LAPACK
``dpotrf``/``dpotri`` per model (cheaper than NumPy's batched LU inverse);
models that have stopped leave the active set; and a Firth batch that follows
the MLE batch of the same splits reuses its separation flags (``_SEP_MEMO``)
instead of re-running the auxiliary MLE.  Batches are split into chunks whose
size depends only on the data shape, so results are byte-identical for any
``n_jobs``.

Functions
---------
fit_logistic_batch
    Fit ``B`` logistic models (MLE or Firth) at once.
linear_predictor_batch
    Scores ``x' beta`` for stacked test sets.
auc_batch
    Mann-Whitney AUC per row, ties counted 1/2, padded entries masked out.
cross_validate_batch
    Fit and score many (train, test) splits, optionally in parallel.
parallel_map
    Deterministic joblib map used for the chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from analysis.base import fitconfig
from analysis.base.metrics import TIE_RTOL, tie_codes

__all__ = [
    "BatchFit",
    "fit_logistic_batch",
    "fit_logistic_pooled",
    "linear_predictor_batch",
    "auc_batch",
    "cross_validate_batch",
    "parallel_map",
    "task_seed_sequences", "clear_memo", "default_chunk_size", "parallel_map_costliest_first",
]

#: Ridge that statsmodels' Newton solver adds to the diagonal of the (1/n-scaled)
#: negative Hessian before every solve (its ``ridge_factor`` default).
MLE_RIDGE = 1e-10
#: firthmodels' defaults for the options the reference does not set.
FIRTH_MAX_STEP = 5.0
FIRTH_MAX_HALFSTEP = 25
#: Default cap on the bytes of one stacked design array (B x n x (p+1) float64);
#: the working set of a batch is a small multiple of it.
_CHUNK_BYTES = 24 * 2**20
#: Largest number of splits per batch.  512 keeps the vectorized iterations
#: efficient and still splits a 1000-fold CV batch (100 x 10-fold) into two
#: tasks, so that two workers share even the smaller batches.
_MAX_CHUNK = 512
#: Separation flags of recent plain-MLE chunks, keyed by a digest of the chunk's
#: data (X, labels, training rows).  A Firth fit of the same chunk (the report
#: fits every batch of splits with both estimators, MLE first) takes its
#: ``separated`` flags from here instead of re-running the auxiliary MLE, which
#: gives the same flags by construction (same data, same iterations).  Set
#: ``_SEP_MEMO_SIZE = 0`` to disable.
_SEP_MEMO: dict = {}
_SEP_MEMO_SIZE = 4096


@dataclass
class BatchFit:
    """Result of :func:`fit_logistic_batch` for ``B`` stacked models.

    Attributes
    ----------
    coef : ndarray, shape (B, p + 1)
        Coefficients, intercept first.
    converged : ndarray of bool, shape (B,)
        The estimator's own convergence flag, as the reference reports it.
    n_iter : ndarray of int, shape (B,)
        Newton iterations (statsmodels' ``mle_retvals["iterations"]`` for MLE,
        firthmodels' ``n_iter_`` for Firth).
    separated : ndarray of bool, shape (B,)
        :func:`analysis.base.fitconfig.separation_flag` of the plain-MLE training
        linear predictor (for ``estimator="firth"`` from an auxiliary MLE run
        stopped as soon as the flag trips).
    loglik : ndarray, shape (B,)
        Log-likelihood at ``coef`` (penalized, including ``0.5 log det I``,
        for Firth).
    max_abs_eta : ndarray, shape (B,)
        ``max |x' beta|`` over training rows of the plain-MLE run that set
        ``separated``.
    status : ndarray of str, shape (B,)
        ``"converged"``, ``"max_iter"``, ``"step_halving"`` (Firth only) or
        ``"flag_stop"`` (the auxiliary MLE run, never returned as the main fit).
    n_fallback : int
        Number of linear solves that needed the per-model fallback
        (least squares / pseudo-inverse) because a batched factorization failed.
    estimator : str
    """

    coef: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    separated: np.ndarray
    loglik: np.ndarray
    max_abs_eta: np.ndarray
    status: np.ndarray
    n_fallback: int = 0
    estimator: str = "mle"
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------


def _prepare(X, y, w):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError("X must have shape (B, n, p)")
    B, n, p = X.shape
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = np.broadcast_to(y, (B, n))
    if y.shape != (B, n):
        raise ValueError(f"y must have shape {(B, n)}, got {y.shape}")
    if w is None:
        w = np.ones((B, n))
    else:
        w = np.asarray(w, dtype=np.float64)
        if w.ndim == 1:
            w = np.broadcast_to(w, (B, n))
        if w.shape != (B, n):
            raise ValueError(f"w must have shape {(B, n)}, got {w.shape}")
    if not np.all((w == 0) | (w == 1)):
        raise ValueError("w must be a 0/1 row mask")
    yv = y[w > 0]
    if not np.all((yv == 0) | (yv == 1)):
        raise ValueError("y must be 0/1 on unmasked rows")
    Xd = np.empty((B, n, p + 1))
    Xd[:, :, 0] = 1.0
    Xd[:, :, 1:] = X
    Xd *= w[:, :, None]  # padded rows become exact zeros (eta = 0 there)
    y = np.where(w > 0, y, 0.0)
    if not np.all(np.isfinite(Xd)):
        raise ValueError("X must be finite")
    return Xd, np.ascontiguousarray(y), np.ascontiguousarray(w)


class _StackedDesign:
    """Per-model designs ``Xd`` of shape (B, n, k) (intercept column included)."""

    def __init__(self, Xd):
        self.Xd = Xd
        self.B, self.n, self.k = Xd.shape

    def take(self, idx):
        return _StackedDesign(self.Xd[idx])

    def eta(self, beta):
        return np.matmul(self.Xd, beta[:, :, None])[:, :, 0]

    def gram(self, v):
        """``X' diag(v) X`` per model."""
        return np.matmul(self.Xd.transpose(0, 2, 1) * v[:, None, :], self.Xd)

    def xt(self, r):
        """``X' r`` per model."""
        return np.matmul(r[:, None, :], self.Xd)[:, 0, :]

    def quad(self, M):
        """``x_i' M x_i`` for every row ``i`` of every model (M symmetric)."""
        A = np.matmul(self.Xd, M)
        return np.einsum("bnk,bnk->bn", A, self.Xd)

    def gradient_scale(self, w):
        """``max_j sum_i w_i |x_ij|`` per model (``fitconfig.firth_gradient_scale``)."""
        return fitconfig.firth_gradient_scale(self.Xd, w)


class _PooledDesign:
    """One shared design ``Xp`` of shape (N, k) for all models.

    Every model uses the same pool of N rows with its own row weights (0 for
    rows outside its training set), as in cross-validation, bootstraps and
    permutations of one data set.  Every batched product then becomes one
    large matrix product over the whole batch: with ``O`` the (N, k*k) matrix
    of flattened outer products ``x_i x_i'``, ``X' diag(v_b) X`` is row ``b`` of
    ``V @ O`` and ``x_i' M_b x_i`` is entry ``(b, i)`` of ``vec(M) @ O'``.
    """

    def __init__(self, Xp, O=None):  # noqa: E741 (O: the pair-product matrix)
        self.Xp = Xp
        self.N, self.k = Xp.shape
        self.n = self.N
        self.O = (Xp[:, :, None] * Xp[:, None, :]).reshape(self.N, -1) if O is None else O

    def take(self, idx):
        return self

    def eta(self, beta):
        return beta @ self.Xp.T

    def gram(self, v):
        return (v @ self.O).reshape(v.shape[0], self.k, self.k)

    def xt(self, r):
        return r @ self.Xp

    def quad(self, M):
        return M.reshape(M.shape[0], -1) @ self.O.T

    def gradient_scale(self, w):
        """``max_j sum_i w_bi |x_ij|`` per model (``fitconfig.firth_gradient_scale``)."""
        return (w @ np.abs(self.Xp)).max(axis=1)


#: Largest pair-product matrix ``O`` (N x k^2 float64) a pooled design builds; above it
#: (about 10^5 rows with 40 or more coefficients) :class:`_SharedDesign` is used, which
#: needs no N x k^2 array.
_POOLED_O_BYTES = 256 * 2**20


class _SharedDesign:
    """One shared design ``Xp`` (N, k) for all models, without the pair-product matrix.

    The same quantities as :class:`_PooledDesign`, one model at a time:
    ``X' diag(v_b) X`` as ``(Xp' * v_b) Xp`` and ``x_i' M_b x_i`` as the row sums of
    ``(Xp M_b) * Xp``, each one BLAS product of O(N k^2) operations (the pooled form
    does the same arithmetic in one product over the batch). Used when ``O`` would
    exceed ``_POOLED_O_BYTES``, so that memory stays O(N k) for large pools; below
    it the pooled form (and so every result) is unchanged.
    """

    def __init__(self, Xp):
        self.Xp = Xp
        self.N, self.k = Xp.shape
        self.n = self.N

    def take(self, idx):
        return self

    def eta(self, beta):
        return beta @ self.Xp.T

    def gram(self, v):
        out = np.empty((v.shape[0], self.k, self.k))
        for b in range(v.shape[0]):
            out[b] = (self.Xp.T * v[b]) @ self.Xp
        return out

    def xt(self, r):
        return r @ self.Xp

    def quad(self, M):
        out = np.empty((M.shape[0], self.N))
        for b in range(M.shape[0]):
            out[b] = np.einsum("nk,nk->n", self.Xp @ M[b], self.Xp)
        return out

    def gradient_scale(self, w):
        return (w @ np.abs(self.Xp)).max(axis=1)


def _solve(A, b, counter):
    """Batched ``A^{-1} b`` with a per-model least-squares fallback.

    ``np.linalg.solve`` raises for the whole batch when any matrix is exactly
    singular; only then are the models solved one at a time, using
    ``np.linalg.lstsq`` (minimum-norm) for those that are singular.
    """
    try:
        with np.errstate(all="ignore"):
            return np.linalg.solve(A, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(b)
        for i in range(A.shape[0]):
            try:
                out[i] = np.linalg.solve(A[i], b[i])
            except np.linalg.LinAlgError:
                counter[0] += 1
                if np.all(np.isfinite(A[i])) and np.all(np.isfinite(b[i])):
                    out[i] = np.linalg.lstsq(A[i], b[i], rcond=None)[0]
                else:
                    out[i] = np.nan
        return out


def _loglik_terms(eta, y, w):
    # y*eta - log(1 + exp(eta)), overflow-free
    return w * (y * eta - np.logaddexp(0.0, eta))


# --------------------------------------------------------------------------
# plain maximum likelihood
# --------------------------------------------------------------------------


def _fit_mle(D, y, w, *, max_iter, tol, stop_on_flag):
    """Batched Newton iterations of statsmodels' ``Logit(..).fit("newton")``."""
    B, k = y.shape[0], D.k
    nobs = w.sum(axis=1)
    beta = np.zeros((B, k))
    n_iter = np.zeros(B, dtype=np.int64)
    flag_stop = np.zeros(B, dtype=bool)
    active = np.ones(B, dtype=bool)
    eye = np.eye(k) * MLE_RIDGE
    counter = [0]
    while active.any():
        idx = np.flatnonzero(active)
        if idx.size == B:  # all active: views, no copies
            idx = slice(None)
            Da, ya, wa, ba = D, y, w, beta.copy()
        else:
            Da, ya, wa, ba = D.take(idx), y[idx], w[idx], beta[idx]
        eta = Da.eta(ba)
        p = expit(eta)
        H = Da.gram(wa * p * (1.0 - p))
        H /= nobs[idx, None, None]
        H += eye
        g = Da.xt(wa * (ya - p)) / nobs[idx, None]
        step = _solve(H, g, counter)
        new = ba + step
        beta[idx] = new
        n_iter[idx] += 1
        # fitconfig's scale-aware rule (step relative to the largest coefficient); a
        # non-finite step stops the model, as statsmodels' own test does
        with np.errstate(invalid="ignore"):
            moving = (~fitconfig.mle_step_converged(new - ba, new, tol)
                      & np.all(np.isfinite(new - ba), axis=1))
        keep = moving & (n_iter[idx] < max_iter)
        if stop_on_flag:
            with np.errstate(invalid="ignore", over="ignore"):
                eta_new = np.where(wa > 0, Da.eta(new), 0.0)
                tripped = ~np.all(np.isfinite(eta_new), axis=1)
            flag_stop[np.arange(B)[idx][tripped & keep]] = True
            keep &= ~tripped
        active[idx] = keep
    converged = (n_iter < max_iter) & np.all(np.isfinite(beta), axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        eta = D.eta(beta)
        loglik = _loglik_terms(eta, y, w).sum(axis=1)
        abs_eta = np.where(w > 0, np.abs(eta), 0.0)
        abs_eta = np.where(np.isnan(abs_eta), np.inf, abs_eta)
        max_abs_eta = abs_eta.max(axis=1)
    # fitconfig.separation_flag(eta, converged), vectorized: not converged within
    # the cap, or a non-finite eta
    separated = ~converged | ~np.isfinite(max_abs_eta)
    status = np.where(converged, "converged", "max_iter").astype(object)
    status[flag_stop] = "flag_stop"
    return dict(
        coef=beta,
        converged=converged & ~flag_stop,
        n_iter=n_iter,
        separated=separated,
        loglik=loglik,
        max_abs_eta=max_abs_eta,
        status=status,
        n_fallback=counter[0],
    )


# --------------------------------------------------------------------------
# Firth
# --------------------------------------------------------------------------


def _firth_quantities(D, y, w, beta, counter):
    """Penalized log-likelihood, modified score and step matrix at ``beta``.

    Returns ``(loglik, score, info_aug, lscale)`` with, for each model,
    ``W = diag(w p (1-p))``, ``I = X'WX``, ``h_i = W_ii x_i' I^{-1} x_i`` (the
    diagonal of ``W^{1/2} X I^{-1} X' W^{1/2}``),
    ``loglik = sum w (y eta - log(1+e^eta)) + 0.5 log det I``,
    ``score = X'(w (y - p) + h (1/2 - p))`` and
    ``info_aug = X' diag((w + h) p (1-p)) X`` and ``lscale = sum w (|l_i| + |eta_i|)
    + |log det I| / 2 + k``, the size of the terms of ``loglik`` (its rounding error is a
    few ``eps * lscale``; see ``fitconfig.FIRTH_LL_RTOL``).
    """
    eta = D.eta(beta)
    p = expit(eta)
    v = p * (1.0 - p)
    wv = w * v
    info = D.gram(wv)
    h, logdet = _hat_logdet(D, wv, info, counter)
    with np.errstate(invalid="ignore"):
        info_aug = D.gram((w + h) * v)
        terms = _loglik_terms(eta, y, w)
        loglik = terms.sum(axis=1) + 0.5 * logdet
        score = D.xt(w * (y - p) + h * (0.5 - p))
        lscale = (np.abs(terms) + w * np.abs(eta)).sum(axis=1) + 0.5 * np.abs(logdet) + D.k
    return loglik, score, info_aug, lscale


#: From this number of parameters (intercept included) on, the Cholesky factor and
#: inverse of ``X'WX`` come from LAPACK ``dpotrf``/``dpotri`` called per model,
#: which beats NumPy's batched ``cholesky`` + ``inv`` (an LU with k right-hand
#: sides) for k >= ~12; below, NumPy's batched calls have less overhead.
_POTRI_MIN_K = 12


def _chol_inverse_numpy(info):
    """Diagonal of the Cholesky factor, inverse and a success mask (batched NumPy)."""
    B = info.shape[0]
    try:
        L = np.linalg.cholesky(info)
        ok = np.ones(B, dtype=bool)
    except np.linalg.LinAlgError:
        L = np.zeros_like(info)
        ok = np.zeros(B, dtype=bool)
        for i in range(B):
            try:
                L[i] = np.linalg.cholesky(info[i])
                ok[i] = True
            except np.linalg.LinAlgError:
                pass
    d = np.diagonal(L, axis1=1, axis2=2)
    inv = np.full_like(info, np.nan)
    good = np.flatnonzero(ok)
    with np.errstate(all="ignore"):
        try:
            if good.size == B:
                inv = np.linalg.inv(info)
            elif good.size:
                inv[good] = np.linalg.inv(info[good])
        except np.linalg.LinAlgError:
            # a factor that passed Cholesky can still be exactly singular for LU (a
            # constant column in a bootstrap training set): those models go to the
            # SVD path of _hat_logdet
            for i in good:
                try:
                    inv[i] = np.linalg.inv(info[i])
                except np.linalg.LinAlgError:
                    ok[i] = False
    return d, inv, ok


def _chol_inverse_lapack(info):
    """As :func:`_chol_inverse_numpy`, by LAPACK ``dpotrf`` + ``dpotri`` per model.

    The inverse of a positive definite matrix from its Cholesky factor
    (``(L L')^{-1} = L^{-T} L^{-1}``) costs half an LU inverse and needs no
    second factorization; a model whose factorization fails gets ``ok = False``
    (and the SVD fallback of :func:`_hat_logdet`).
    """
    from scipy.linalg.lapack import dpotrf, dpotri

    B, k = info.shape[0], info.shape[1]
    fac = np.empty_like(info)
    inv = np.empty_like(info)
    ok = np.all(np.isfinite(info.reshape(B, -1)), axis=1)
    for i in np.flatnonzero(ok):
        c, err = dpotrf(info[i], 1)  # lower=1; the upper triangle keeps info's values
        if err:
            ok[i] = False
            continue
        fac[i] = c
        a, err = dpotri(c, 1, 1)  # lower=1, overwrite_c=1
        if err:
            ok[i] = False
            continue
        inv[i] = a
    d = np.where(ok[:, None], np.diagonal(fac, axis1=1, axis2=2), 0.0)
    low = np.tril_indices(k, -1)
    inv[:, low[1], low[0]] = inv[:, low[0], low[1]]  # mirror the lower triangle
    return d, inv, ok


def _hat_logdet(D, wv, info, counter):
    """Hat diagonal ``h_i = wv_i x_i' I^{-1} x_i`` and ``log det I``, ``I = X'diag(wv)X``.

    ``log det`` comes from a Cholesky factor (which also checks that ``I`` is
    numerically positive definite, with firthmodels' pivot test) and ``I^{-1}``
    from NumPy's batched inverse (k < ``_POTRI_MIN_K``) or from the factor by
    LAPACK ``dpotri`` per model (larger k).  Models whose ``I`` fails the test use
    the singular value decomposition of ``diag(wv)^{1/2} X`` instead (``h_i`` is
    the squared norm of row ``i`` of the left singular vectors with nonzero
    singular value; ``log det`` is ``-inf`` when that matrix is rank deficient).
    """
    B, k = info.shape[0], info.shape[1]
    n = D.n
    if k >= _POTRI_MIN_K:
        d, inv, ok = _chol_inverse_lapack(info)
    else:
        d, inv, ok = _chol_inverse_numpy(info)
    with np.errstate(invalid="ignore"):
        tol = np.sqrt(max(n, k) * np.finfo(np.float64).eps) * d.max(axis=1)
        ok &= np.all(np.isfinite(d), axis=1) & (d.min(axis=1) > tol)
    h = np.empty(wv.shape)
    logdet = np.empty(B)
    good = np.flatnonzero(ok)
    if good.size == B:
        h[:] = wv * D.quad(inv)
        logdet[:] = 2.0 * np.log(d).sum(axis=1)
        return h, logdet
    if good.size:
        h[good] = wv[good] * D.take(good).quad(inv[good])
        logdet[good] = 2.0 * np.log(d[good]).sum(axis=1)
    for i in np.flatnonzero(~ok):
        counter[0] += 1
        Xi = D.Xd[i] if isinstance(D, _StackedDesign) else D.Xp
        Xw = Xi * np.sqrt(wv[i])[:, None]
        if not np.all(np.isfinite(Xw)):
            h[i] = np.nan
            logdet[i] = np.nan
            continue
        U, s, _ = np.linalg.svd(Xw, full_matrices=False)
        stol = max(n, k) * np.finfo(np.float64).eps * (s[0] if s.size else 0.0)
        r = s > stol
        h[i] = np.sum(U[:, r] ** 2, axis=1)
        with np.errstate(divide="ignore"):
            logdet[i] = 2.0 * np.sum(np.log(s)) if r.all() else -np.inf
    return h, logdet


def _fit_firth(
    D, y, w, *, max_iter, gtol, xtol, max_step=FIRTH_MAX_STEP,
    max_halfstep=FIRTH_MAX_HALFSTEP,
):
    """Batched Newton-Raphson with step-halving, firthmodels' rules per model."""
    B, k = y.shape[0], D.k
    counter = [0]
    beta = np.zeros((B, k))
    # gradient tolerance relative to the size of the score's terms (fitconfig.FIRTH_GTOL)
    gtol_abs = gtol * D.gradient_scale(w)
    ll, U, F, L = _firth_quantities(D, y, w, beta, counter)
    n_iter = np.full(B, max_iter, dtype=np.int64)
    converged = np.zeros(B, dtype=bool)
    status = np.full(B, "max_iter", dtype=object)
    done = np.zeros(B, dtype=bool)
    for it in range(max_iter + 1):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        Ua = U[idx]
        delta = _solve(F[idx], Ua, counter)
        with np.errstate(invalid="ignore"):
            max_score = np.abs(Ua).max(axis=1)
            max_delta = np.abs(delta).max(axis=1)
            conv = (max_score < gtol_abs[idx]) & (max_delta < xtol)
        c_idx = idx[conv]
        converged[c_idx] = True
        n_iter[c_idx] = it
        status[c_idx] = "converged"
        done[c_idx] = True
        if it == max_iter:
            break
        keep = ~conv
        idx, delta, max_delta, Ua = idx[keep], delta[keep], max_delta[keep], Ua[keep]
        if idx.size == 0:
            break
        ll0 = ll[idx]
        # a fall of the penalised log-likelihood within its rounding error is no fall
        # (fitconfig.FIRTH_LL_RTOL): such steps are accepted, not halved
        floor = ll0 - fitconfig.FIRTH_LL_RTOL * L[idx]
        with np.errstate(invalid="ignore", over="ignore"):
            gain = 0.5 * np.einsum("bk,bk->b", Ua, delta)
            skip = (max_delta < xtol) & (gain > 0.0) & (ll0 + gain == ll0)
            clip = max_delta > max_step
            delta[clip] *= (max_step / max_delta[clip])[:, None]
        trial = beta[idx] + delta
        ll_t, U_t, F_t, L_t = _firth_quantities(D.take(idx), y[idx], w[idx], trial, counter)
        accept = skip | (ll_t >= floor) | (max_halfstep == 0)
        a = idx[accept]
        beta[a], ll[a], U[a], F[a] = trial[accept], ll_t[accept], U_t[accept], F_t[accept]
        L[a] = L_t[accept]
        pend = np.flatnonzero(~accept)  # positions within idx
        factor = 0.5
        for _ in range(max_halfstep):
            if pend.size == 0:
                break
            gi = idx[pend]
            trial = beta[gi] + factor * delta[pend]
            ll_t, U_t, F_t, L_t = _firth_quantities(D.take(gi), y[gi], w[gi], trial, counter)
            acc = ll_t >= floor[pend]
            a = gi[acc]
            beta[a], ll[a], U[a], F[a] = trial[acc], ll_t[acc], U_t[acc], F_t[acc]
            L[a] = L_t[acc]
            pend = pend[~acc]
            factor *= 0.5
        if pend.size:
            gi = idx[pend]
            done[gi] = True
            n_iter[gi] = it
            status[gi] = "step_halving"
    return dict(
        coef=beta, converged=converged, n_iter=n_iter, loglik=ll, status=status,
        n_fallback=counter[0],
    )


def _fit(D, y, w, estimator, max_iter, stop_on_separation, gtol=None, xtol=None,
         separated=None):
    if estimator == "mle":
        r = _fit_mle(
            D, y, w,
            max_iter=fitconfig.MLE_MAX_ITER if max_iter is None else max_iter,
            tol=fitconfig.MLE_TOL, stop_on_flag=stop_on_separation,
        )
        return BatchFit(estimator="mle", **r)
    if estimator == "firth":
        if separated is not None:
            # flags of an earlier plain-MLE fit of the same models (see _SEP_MEMO)
            sep = np.asarray(separated, dtype=bool)
            if sep.shape != (y.shape[0],):
                raise ValueError("separated must have one flag per model")
            m = dict(separated=sep.copy(), max_abs_eta=np.full(y.shape[0], np.nan),
                     n_iter=np.full(y.shape[0], -1, dtype=np.int64), n_fallback=0)
        else:
            m = _fit_mle(
                D, y, w, max_iter=fitconfig.MLE_MAX_ITER, tol=fitconfig.MLE_TOL,
                stop_on_flag=True,
            )
        f = _fit_firth(
            D, y, w,
            max_iter=fitconfig.FIRTH_MAX_ITER if max_iter is None else max_iter,
            gtol=fitconfig.FIRTH_GTOL if gtol is None else gtol,
            xtol=fitconfig.FIRTH_XTOL if xtol is None else xtol,
        )
        return BatchFit(
            coef=f["coef"], converged=f["converged"], n_iter=f["n_iter"],
            separated=m["separated"], loglik=f["loglik"],
            max_abs_eta=m["max_abs_eta"], status=f["status"],
            n_fallback=f["n_fallback"] + m["n_fallback"], estimator="firth",
            extra={"mle_n_iter": m["n_iter"]},
        )
    raise ValueError(f"estimator must be 'mle' or 'firth', got {estimator!r}")


# --------------------------------------------------------------------------
# public fitting API
# --------------------------------------------------------------------------


def fit_logistic_batch(
    X,
    y,
    w=None,
    *,
    estimator: str = "mle",
    max_iter: int | None = None,
    stop_on_separation: bool = False,
    gtol: float | None = None,
    xtol: float | None = None,
) -> BatchFit:
    """Fit ``B`` logistic regressions (intercept added) in one batched iteration.

    Parameters
    ----------
    X : array_like, shape (B, n, p) or (n, p)
        Covariates without an intercept column.
    y : array_like, shape (B, n) or (n,)
        Labels in {0, 1}.
    w : array_like, shape (B, n), optional
        0/1 row mask; rows with ``w = 0`` are padding and do not enter the fit.
    estimator : {"mle", "firth"}
        Plain maximum likelihood (statsmodels' Newton path) or Firth's
        bias-reduced likelihood (firthmodels' Newton-Raphson path).
    max_iter : int, optional
        Iteration cap; defaults to ``fitconfig.MLE_MAX_ITER`` or
        ``fitconfig.FIRTH_MAX_ITER``.
    stop_on_separation : bool, default False
        MLE only: freeze a model as soon as its training linear predictor is no
        longer finite (a certain trip of :func:`analysis.base.fitconfig.separation_flag`).  Its coefficients are then an
        earlier point of the diverging path than the reference's, ``converged``
        is False and ``status`` is ``"flag_stop"``.  Used internally for the
        flag of Firth fits.
    gtol, xtol : float, optional
        Firth only: override ``fitconfig.FIRTH_GTOL`` (relative to the gradient
        scale ``S``, see Notes) / ``FIRTH_XTOL`` (absolute).

    Returns
    -------
    BatchFit

    Notes
    -----
    Write ``X`` for the design with a leading column of ones, ``p = expit(X b)``
    and ``W = diag(w p (1 - p))``.

    **MLE** (iteratively reweighted least squares = Newton on the log-likelihood,
    as statsmodels runs it with ``n = sum(w)`` training rows)::

        b_{t+1} = b_t + (X'WX / n + 1e-10 I)^{-1} X' w (y - p) / n

    starting at ``b_0 = 0``; a model stops when ``max |b_{t+1} - b_t| <=
    MLE_TOL * max(1, max |b_{t+1}|)`` or after ``MLE_MAX_ITER`` steps, and is ``converged`` iff it
    stopped before the cap with finite coefficients.  ``separated`` is
    ``separation_flag(eta, converged)`` of the final training linear predictor (not
    converged, or a non-finite eta).  Under separation the iterates diverge; ``expit``
    and ``logaddexp`` keep every quantity finite and warning-free, and the ridge
    keeps the solve defined as the weights underflow.

    **Firth** maximizes ``l*(b) = l(b) + 0.5 log det(X'WX)``.  With ``h`` the
    diagonal of ``H = W^{1/2} X (X'WX)^{-1} X' W^{1/2}``, the modified score is::

        U*(b) = X' (w (y - p) + h (1/2 - p))

    and the step uses ``X' diag((w + h) p (1 - p)) X`` in place of the Hessian::

        d = (X' diag((w + h) p (1-p)) X)^{-1} U*(b)

    A model is converged when ``max|U*| < FIRTH_GTOL * S`` with ``S = max_j
    sum_i w_i |x_ij|`` (intercept column included, so ``S >= sum w``) and
    ``max|d| < FIRTH_XTOL`` (``n_iter`` = number of steps taken before that test).
    Otherwise ``d`` is scaled so that ``max|d| <= 5``, and ``b + d`` is accepted
    if ``l*`` does not decrease by more than ``FIRTH_LL_RTOL * L`` (``L`` the
    size of the terms of ``l*``, so that a decrease within rounding error does
    not count), else ``b + d/2, b + d/4, ...`` (at most 25
    halvings; if none is accepted the model stops, not converged).  A step too
    small to change ``l*`` in float64 is accepted without halving.  ``h`` comes
    from a Cholesky factor of ``X'WX`` (an SVD of ``W^{1/2} X`` if that factor is
    numerically singular).  ``separated`` comes from an auxiliary MLE run frozen
    as soon as its flag trips (a separated set is thus detected in a few steps
    instead of ``MLE_MAX_ITER``).

    Linear solves use ``np.linalg.solve`` on the whole batch; only if a matrix
    in it is exactly singular are the models solved one by one with
    ``np.linalg.lstsq`` for the singular ones (counted in ``n_fallback``).
    """
    Xd, yy, ww = _prepare(X, y, w)
    return _fit(_StackedDesign(Xd), yy, ww, estimator, max_iter, stop_on_separation,
                gtol, xtol)


def fit_logistic_pooled(
    X,
    y,
    w,
    *,
    estimator: str = "mle",
    max_iter: int | None = None,
    stop_on_separation: bool = False,
    gtol: float | None = None,
    xtol: float | None = None,
    separated: np.ndarray | None = None,
) -> BatchFit:
    """Fit ``B`` logistic regressions that draw their rows from one shared pool.

    Same iterations and result as :func:`fit_logistic_batch` with
    ``X[b] = X_pool[w[b] > 0]``, but every product over the batch is one large
    matrix product (see Notes), which is several times faster for
    cross-validation, bootstrap and permutation batches.

    Parameters
    ----------
    X : array_like, shape (N, p)
        The pool of rows (no intercept column), shared by all models.
    y : array_like, shape (B, N) or (N,)
        Labels per model (rows with ``w = 0`` are ignored).
    w : array_like, shape (B, N)
        Row weights: 1 for a model's training rows, 0 elsewhere.  Nonnegative
        integer weights act as row counts (a bootstrap sample): the fit is the
        fit on the data with each row repeated ``w`` times, up to rounding.
    estimator, max_iter, stop_on_separation
        As in :func:`fit_logistic_batch`.
    separated : array of bool, shape (B,), optional
        Firth only: the ``separated`` flags of a plain-MLE fit of the very same
        models (default settings), which then replaces the auxiliary MLE run
        (``max_abs_eta`` is NaN and ``extra["mle_n_iter"]`` is -1 in the result).

    Returns
    -------
    BatchFit

    Notes
    -----
    With ``O`` the (N, (p+1)^2) matrix of flattened outer products ``x_i x_i'``,
    ``X' diag(v_b) X`` for all models is the (B, (p+1)^2) product ``V O``, and
    the hat-diagonal quadratic forms ``x_i' M_b x_i`` are ``vec(M) O'``. When ``O``
    would exceed ``_POOLED_O_BYTES`` (256 MiB: at 10^5 rows, 19 or more
    coefficients; at 10^4 rows, 58 or more), the same products are taken one model at a
    time (:class:`_SharedDesign`), so memory stays O(N k) plus the batch's (B, N)
    arrays.
    """
    Xp = np.asarray(X, dtype=np.float64)
    if Xp.ndim != 2 or not np.all(np.isfinite(Xp)):
        raise ValueError("X must be a finite (N, p) array")
    N = Xp.shape[0]
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 1:
        w = w[None]
    B = w.shape[0]
    yy = np.broadcast_to(np.asarray(y, dtype=np.float64), (B, N))
    if w.shape != (B, N):
        raise ValueError(f"w must have shape (B, {N})")
    if np.any(w < 0) or np.any(w != np.round(w)):
        raise ValueError("w must hold nonnegative integer weights")
    yv = yy[w > 0]
    if not np.all((yv == 0) | (yv == 1)):
        raise ValueError("y must be 0/1 where w > 0")
    yy = np.ascontiguousarray(np.where(w > 0, yy, 0.0))
    Xd = np.column_stack([np.ones(N), Xp])
    k = Xd.shape[1]
    D = (_PooledDesign(Xd) if 8 * N * k * k <= _POOLED_O_BYTES else
         _SharedDesign(np.ascontiguousarray(Xd)))
    return _fit(D, yy, np.ascontiguousarray(w), estimator, max_iter,
                stop_on_separation, gtol, xtol, separated)


def linear_predictor_batch(coef, X) -> np.ndarray:
    """Linear predictor ``b_0 + x' b`` for stacked test sets.

    Parameters
    ----------
    coef : array_like, shape (B, p + 1)
        Intercept first.
    X : array_like, shape (B, m, p) or (m, p)
        Test covariates (a 2-D ``X`` is shared by all ``B`` models).

    Returns
    -------
    ndarray, shape (B, m)
    """
    coef = np.asarray(coef, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if X.ndim == 2:
            return coef[:, :1] + coef[:, 1:] @ X.T
        return coef[:, :1] + np.matmul(X, coef[:, 1:, None])[:, :, 0]


#: Largest test set scored by direct pairwise comparison in :func:`auc_batch`; larger
#: ones are counted per tie class (linear memory and time in the number of rows).
_PAIRWISE_MAX_M = 64


def _tie_class_counts(codes, pos, neg, block_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact pair counts ``#{c_pos > c_neg}`` and ``#{c_pos = c_neg}`` of each row.

    ``codes`` are :func:`analysis.base.metrics.tie_codes` (integers 0..m-1 within a row).
    With ``P[c]`` and ``N[c]`` the positives and negatives in tie class ``c`` of a
    row, the counts are ``sum_c P[c] sum_{c' < c} N[c']`` and ``sum_c P[c] N[c]``:
    the same integers as the pairwise comparison, in O(m) memory and time per row.
    Rows are processed in blocks of at most ``block_bytes`` of temporaries (about
    six int64 arrays of the block's shape), never by a fixed number of rows.
    """
    B, m = codes.shape
    gt = np.empty(B, dtype=np.int64)
    eq = np.empty(B, dtype=np.int64)
    step = max(1, int(block_bytes // max(1, 48 * m)))
    for a in range(0, B, step):
        b = min(B, a + step)
        off = np.arange(b - a, dtype=np.int64)[:, None] * m + codes[a:b].astype(np.int64)
        P = np.bincount(off[pos[a:b]], minlength=(b - a) * m).reshape(b - a, m)
        N = np.bincount(off[neg[a:b]], minlength=(b - a) * m).reshape(b - a, m)
        below = np.cumsum(N, axis=1) - N
        gt[a:b] = (P * below).sum(axis=1)
        eq[a:b] = (P * N).sum(axis=1)
    return gt, eq


def auc_batch(scores, y, mask=None, *, block_bytes: int = 64 * 2**20) -> np.ndarray:
    """Area under the ROC curve of each row, ties counted one half.

    Parameters
    ----------
    scores : array_like, shape (B, m)
    y : array_like, shape (B, m) or (m,)
        Labels in {0, 1} (ignored where masked).
    mask : array_like of bool, shape (B, m), optional
        True for the entries that belong to the row's test set; padded entries
        (False) are excluded.

    Returns
    -------
    ndarray, shape (B,)
        ``AUC = (#{s_pos > s_neg} + 0.5 #{s_pos = s_neg}) / (n_pos n_neg)``,
        the Mann-Whitney statistic (equal to ``sklearn.metrics.roc_auc_score``
        when no two distinct scores are near-tied). NaN when a row lacks one class
        or has a NaN score in its test set.

    Notes
    -----
    Ties are defined as in :func:`analysis.statistics.inference.auc`: within a row, scores
    within ``TIE_RTOL * max|s|`` (over the row's test set) of each other are tied
    (:func:`analysis.base.metrics.tie_codes`, ``TIE_RTOL`` = 1e-9), so that a fold AUC
    does not depend on the last bits of the scores (BLAS rounding). Computed from
    exact integer pair counts of the tie codes, in blocks of rows of at most
    ``block_bytes`` of temporaries: by direct pairwise comparison when a row has at
    most ``_PAIRWISE_MAX_M`` entries (3 m^2 bytes per row), otherwise per tie class
    (:func:`_tie_class_counts`, O(m) per row), so that a test set of 10^4 scores
    never holds an m x m array. Both give the same integers, hence the same AUC.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 1:
        s = s[None]
    B, m = s.shape
    yy = np.broadcast_to(np.asarray(y), (B, m))
    mk = np.ones((B, m), dtype=bool) if mask is None else np.broadcast_to(
        np.asarray(mask, dtype=bool), (B, m))
    pos = mk & (yy == 1)
    neg = mk & (yy == 0)
    npos = pos.sum(axis=1)
    nneg = neg.sum(axis=1)
    out = np.empty(B)
    codes = tie_codes(s, TIE_RTOL, mk)
    if m <= _PAIRWISE_MAX_M:
        # few test rows (cross-validation folds of ~10 images): direct pairwise counts,
        # 3 m^2 bytes per row
        step = max(1, int(block_bytes // max(1, 3 * m * m)))
        for a in range(0, B, step):
            b = min(B, a + step)
            si = codes[a:b, :, None]
            sj = codes[a:b, None, :]
            pair = pos[a:b, :, None] & neg[a:b, None, :]
            gt = np.count_nonzero(pair & (si > sj), axis=(1, 2))
            eq = np.count_nonzero(pair & (si == sj), axis=(1, 2))
            out[a:b] = (gt + 0.5 * eq)
    else:
        gt, eq = _tie_class_counts(codes, pos, neg, block_bytes)
        out[:] = gt + 0.5 * eq
    with np.errstate(invalid="ignore", divide="ignore"):
        out = out / (npos * nneg)
    bad = (npos == 0) | (nneg == 0) | np.any(mk & np.isnan(s), axis=1)
    out[bad] = np.nan
    return out


# --------------------------------------------------------------------------
# parallel map and cross-validation
# --------------------------------------------------------------------------


def task_seed_sequences(seed, n_tasks: int) -> list[np.random.SeedSequence]:
    """One child ``SeedSequence`` per task, independent of how tasks are run."""
    return np.random.SeedSequence(seed).spawn(n_tasks)


_BLAS_CONTROLLER = None


def _blas_controller():
    """This process's threadpoolctl controller, made once.

    Building one scans every loaded library (milliseconds); reusing it makes the
    per-call limit below cost microseconds. SciPy's LAPACK wrappers are imported
    first so that the BLAS SciPy ships is among the libraries it controls.
    """
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        import scipy.linalg.lapack  # noqa: F401  (load SciPy's BLAS before the scan)
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER


def _call_single_threaded(func, task):
    # One BLAS thread per call: results then do not depend on how many
    # threads the calling process happens to have (byte-identical for any n_jobs).
    with _blas_controller().limit(limits=1, user_api="blas"):
        return func(task)


def parallel_map(func: Callable, tasks: Sequence, *, n_jobs: int = -1, wrap: Callable = iter,
                 batch_size: int | str = "auto") -> list:
    """Apply ``func`` to every task, in order, optionally in joblib workers.

    Parameters
    ----------
    func : callable
        Picklable (module-level) function of one task.
    tasks : sequence
        Task descriptions; anything random must be seeded from the task itself
        (e.g. ``task_seed_sequences(seed, len(tasks))[i]``), never per worker.
    n_jobs : int, default -1
        Number of processes; 1 runs in the calling process.
    wrap : callable, default iter
        Wraps the iteration over the tasks as they are handed out (e.g. a progress bar).
    batch_size : int or "auto"
        Tasks per joblib dispatch.

    Returns
    -------
    list
        ``[func(t) for t in tasks]``, identical for every ``n_jobs`` and backend: chunking
        is fixed by the caller, and each call runs with a single BLAS thread.

    Notes
    -----
    No joblib backend is named here, so the active :func:`joblib.parallel_config` decides
    where the tasks run: loky processes on this machine by default, the workers of a Dask
    cluster inside :func:`analysis.base.distributed.compute_backend`.
    """
    tasks = list(tasks)
    if n_jobs == 1 or len(tasks) <= 1:
        return [_call_single_threaded(func, t) for t in wrap(tasks)]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, batch_size=batch_size)(
        delayed(_call_single_threaded)(func, t) for t in wrap(tasks)
    )


def parallel_map_costliest_first(func: Callable, tasks: Sequence, costs: Sequence[float], *,
                                 n_jobs: int, wrap: Callable = iter) -> list:
    """``[func(t) for t in tasks]`` in joblib workers, handing out the costliest tasks first.

    With tasks of very unequal cost, starting the long ones first leaves no worker
    alone with a long task at the end. Results come back in the order of ``tasks``
    (ties in cost keep that order). ``wrap`` wraps the iteration over task numbers in
    the order they are handed out (e.g. a progress bar). Each call runs with a single
    BLAS thread and the backend is the active joblib one, as in :func:`parallel_map`."""
    from joblib import Parallel, delayed

    order = sorted(range(len(tasks)), key=lambda i: -costs[i])
    done = Parallel(n_jobs=n_jobs)(
        delayed(_call_single_threaded)(func, tasks[i]) for i in wrap(order))
    out: list = [None] * len(tasks)
    for i, result in zip(order, done, strict=True):
        out[i] = result
    return out


def _ragged(index_lists) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays as one flat int64 array and their lengths.

    Chunks travel to worker processes in this form: pickling two arrays costs
    microseconds, pickling hundreds of small arrays milliseconds per chunk."""
    lens = np.fromiter((len(ix) for ix in index_lists), dtype=np.int64, count=len(index_lists))
    flat = (np.concatenate([np.asarray(ix, dtype=np.int64) for ix in index_lists])
            if len(index_lists) else np.zeros(0, dtype=np.int64))
    return flat, lens


def _pad_ragged(flat, lens):
    """(S, max len) index matrix padded with 0 and its mask, from :func:`_ragged` output."""
    m = int(lens.max()) if lens.size else 0
    mask = np.arange(m)[None, :] < lens[:, None]
    idx = np.zeros(mask.shape, dtype=np.int64)
    idx[mask] = flat  # boolean assignment fills row by row, as the lists were flattened
    return idx, mask


def _cv_chunk(task):
    X, Y, (tr_flat, tr_len), (te_flat, te_len), estimator, fit_kw = task[:6]
    if len(task) > 6 and task[6] is not None:
        fit_kw = dict(fit_kw, separated=task[6])
    S = len(tr_len)
    n = X.shape[0]
    rows = np.arange(S)[:, None]
    # row weights: how often each row is in each training set (bootstraps repeat rows)
    owner = np.repeat(np.arange(S, dtype=np.int64), tr_len)
    W = np.bincount(tr_flat + owner * n, minlength=S * n).reshape(S, n).astype(np.float64)
    fit = fit_logistic_pooled(X, Y, W, estimator=estimator, **fit_kw)
    te_idx, te_mask = _pad_ragged(te_flat, te_len)
    Xte = X[te_idx]
    yte = Y[rows, te_idx]
    scores = linear_predictor_batch(fit.coef, Xte)
    scores = np.where(te_mask, scores, np.nan)
    auc = auc_batch(scores, yte, te_mask)
    return dict(
        auc=auc,
        converged=fit.converged,
        n_iter=fit.n_iter,
        separated=fit.separated,
        coef=fit.coef,
        loglik=fit.loglik,
        n_train=W.sum(axis=1).astype(np.int64),
        n_test=te_mask.sum(axis=1),
        n_pos_test=np.where(te_mask, yte, 0).sum(axis=1).astype(np.int64),
        test_scores=scores,
        test_mask=te_mask,
        test_idx=np.where(te_mask, te_idx, -1),
    )


def _chunk_digest(X, Y, train) -> str:
    """Digest of what a chunk's plain-MLE fit depends on (data, labels, rows).

    ``train`` is the chunk's training rows as :func:`_ragged` returns them."""
    import hashlib

    flat, lens = train
    h = hashlib.blake2b(digest_size=20)
    h.update(repr((X.shape, Y.shape, fitconfig.MLE_MAX_ITER, fitconfig.MLE_TOL)).encode())
    h.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(Y, dtype=np.float64).tobytes())
    h.update(lens.tobytes())
    h.update(flat.tobytes())
    return h.hexdigest()


def clear_memo() -> None:
    """Forget the remembered MLE separation flags (see ``_SEP_MEMO``)."""
    _SEP_MEMO.clear()


def default_chunk_size(n: int, p: int) -> int:
    """Splits per batch: at most ``_MAX_CHUNK`` (512), and few enough that one (B, (p+1)^2)
    or (B, n) float64 array stays below ~24 MB (the working set of a Firth
    batch is about ten such arrays, well under 200 MB).  Depends only on the
    data shape, never on ``n_jobs``.  The bound is in bytes only: above 3 10^6 rows
    a batch holds a single split (there is no lower bound on the count)."""
    k = p + 1
    return int(max(1, min(_MAX_CHUNK, _CHUNK_BYTES // (8 * max(n, k * k)))))


def cross_validate_batch(
    X,
    y,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    estimator: str = "mle",
    n_jobs: int = 1,
    chunk_size: int | None = None,
    memo: bool = True,
    **fit_kw: Any,
) -> dict[str, np.ndarray]:
    """Fit on every training set and score its test set, all splits batched.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Covariates (no intercept column).
    y : array_like, shape (n,) or (S, n)
        Labels; a 2-D ``y`` gives one label vector per split (label
        permutations).
    splits : sequence of (train_idx, test_idx)
        ``S`` index pairs into the rows of ``X``.
    estimator : {"mle", "firth"}
    n_jobs : int, default 1
        Processes for :func:`parallel_map`; results are byte-identical for any
        value because the chunks (``chunk_size``) do not depend on it.
    chunk_size : int, optional
        Splits per batch; default :func:`default_chunk_size`.
    memo : bool, default True
        Remember the plain-MLE separation flags of each chunk (``_SEP_MEMO``), or
        reuse them in a Firth run. ``False`` skips hashing the chunks, for callers
        that never fit the same splits twice (the simulation).
    **fit_kw
        Passed to :func:`fit_logistic_batch` (``max_iter``,
        ``stop_on_separation``).

    Returns
    -------
    dict of ndarray
        Per split (first axis ``S``): ``auc``, ``converged``, ``n_iter``,
        ``separated``, ``coef`` (intercept first), ``loglik``, ``n_train``,
        ``n_test``, ``n_pos_test``; out-of-fold ``test_scores`` (S, m_max)
        padded with NaN, ``test_mask`` (S, m_max) and ``test_idx`` (S, m_max)
        padded with -1.
    """
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    n, p = X.shape
    S = len(splits)
    Y = np.asarray(y)  # converted to float64 one chunk at a time (memory)
    if Y.ndim == 1:
        Y = np.broadcast_to(Y, (S, n))
    if Y.shape != (S, n):
        raise ValueError(f"y must have shape ({n},) or ({S}, {n})")
    cs = default_chunk_size(n, p) if chunk_size is None else int(chunk_size)
    use_memo = memo and _SEP_MEMO_SIZE > 0 and not fit_kw and estimator in ("mle", "firth")
    tasks, keys = [], []
    for a in range(0, S, cs):
        b = min(S, a + cs)
        Yc = np.ascontiguousarray(Y[a:b], dtype=np.float64)
        train = _ragged([s[0] for s in splits[a:b]])
        key = _chunk_digest(X, Yc, train) if use_memo else None
        sep = _SEP_MEMO.get(key) if (use_memo and estimator == "firth") else None
        keys.append(key)
        tasks.append((X, Yc, train, _ragged([s[1] for s in splits[a:b]]),
                      estimator, fit_kw, sep))
    parts = parallel_map(_cv_chunk, tasks, n_jobs=n_jobs)
    if use_memo and estimator == "mle":
        for key, pt in zip(keys, parts, strict=True):
            _SEP_MEMO[key] = pt["separated"].copy()
        while len(_SEP_MEMO) > _SEP_MEMO_SIZE:
            _SEP_MEMO.pop(next(iter(_SEP_MEMO)))
    out = {}
    m_max = max(pt["test_scores"].shape[1] for pt in parts) if parts else 0
    for key in parts[0]:
        arrs = [pt[key] for pt in parts]
        if key in ("test_scores", "test_mask", "test_idx"):
            fill = {"test_scores": np.nan, "test_mask": False, "test_idx": -1}[key]
            arrs = [
                np.pad(a_, ((0, 0), (0, m_max - a_.shape[1])), constant_values=fill)
                for a_ in arrs
            ]
        out[key] = np.concatenate(arrs, axis=0)
    return out
