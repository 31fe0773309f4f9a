"""The one place where logistic models are fitted to cross-validation folds.

:func:`cross_validate` takes a design matrix, labels and a batch of (train, test)
splits and returns fold-level rows (one per split) and out-of-fold scores (one per
test image per split). Two engines give the same numbers:

* ``"reference"``: one statsmodels ``Logit`` (plain maximum likelihood) or one
  firthmodels ``FirthLogisticRegression`` (Firth's bias-reduced likelihood) per
  fold, in a loop;
* ``"batched"``: :mod:`analysis.fitting.engine`, which fits all folds at once in numpy.

Scores are the linear predictor x'b of the test images, so that the AUC of a fold
is not distorted by probabilities that saturate at 0 or 1 under separation.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..base import fitconfig, seeds
from ..base.fitconfig import DEFAULT_SEED
from ..base.metrics import auc

__all__ = [
    "CVResult", "ESTIMATORS", "FOLD_COLUMNS", "FitResult", "Split", "cross_validate",
    "engine_available", "fit_logistic", "fold_auc", "repeat_seed", "stratified_fold_numbers",
    "stratified_splits",
    "fold_numbers",
    "group_fold_numbers",
]


ESTIMATORS = ("mle", "firth")


class Split(NamedTuple):
    """One train/test split: ``repeat`` (0 is the canonical split), ``fold``, indices."""

    repeat: int
    fold: int
    train: np.ndarray
    test: np.ndarray


def repeat_seed(seed: int, repeat: int) -> int:
    """Seed of the fold assignment of one repeat, independent of any other repeat."""
    return seeds.state("cv_folds", seed, repeat)


def stratified_splits(
    y: np.ndarray, *, n_splits: int = 10, n_repeats: int = 1, seed: int = DEFAULT_SEED,
    groups: np.ndarray | None = None,
) -> list[Split]:
    """Repeated stratified k-fold splits (stratified group k-fold with ``groups``).

    Parameters
    ----------
    y : array of 0/1
    n_splits : int
        Folds per repeat (10 in the paper).
    n_repeats : int
        Number of fold assignments; repeat 0 is the canonical split.
    seed : int
        Master seed; repeat ``r`` shuffles with :func:`repeat_seed` (seed, r), so a
        repeat's folds do not depend on how many repeats are drawn.
    groups : array of int, optional
        Group of each unit (:attr:`analysis.design.features.GroupDesign.group_codes`): the
        units of a group always share a fold (:func:`group_fold_numbers`). None: the
        plain stratified assignment (:func:`stratified_fold_numbers`).
    """
    y = np.asarray(y)
    if n_splits < 2:
        raise ValueError("n_splits must be at least 2")
    counts = np.bincount(y.astype(int), minlength=2)
    if counts.min() < n_splits:
        raise ValueError(
            f"cannot stratify {n_splits} folds: the rarer class has {counts.min()} images"
        )
    out = []
    idx = np.arange(len(y))
    for r in range(n_repeats):
        fold = fold_numbers(y, n_splits, repeat_seed(seed, r), groups)
        for k in range(n_splits):
            test = fold == k
            out.append(Split(r, k, idx[~test], idx[test]))
    return out


_THREAD_STATE = threading.local()


def _reseeded_random_state(state: int) -> np.random.RandomState:
    """``numpy.random.RandomState(state)``, reusing one generator per thread.

    Re-seeding gives the same stream as a new generator and costs about 1 µs
    instead of about 90 µs (the legacy seeding allocates and validates anew)."""
    rs = getattr(_THREAD_STATE, "rs", None)
    if rs is None:
        rs = _THREAD_STATE.rs = np.random.RandomState()
    rs.seed(state)
    return rs


def stratified_fold_numbers(y: np.ndarray, n_splits: int, state: int) -> np.ndarray:
    """Test-fold number of every image, as scikit-learn's shuffled ``StratifiedKFold``.

    The same assignment as ``StratifiedKFold(n_splits, shuffle=True,
    random_state=state)`` (tests/test_models.py checks it split for split), without
    its per-call input validation, which costs about a millisecond: the permutation
    tests draw tens of thousands of splits.

    How many images of each class go to each fold is given by dealing the images,
    sorted by class, round-robin over the folds. Then, class by class in the order in
    which the classes first appear in ``y``, the fold numbers of that class are
    shuffled with one ``numpy.random.RandomState(state)`` and given to its images in
    index order.
    """
    y = np.asarray(y)
    _, first = np.unique(y, return_index=True)
    classes = y[np.sort(first)]  # in order of first appearance
    codes = np.empty(len(y), dtype=np.int64)
    for c, label in enumerate(classes):
        codes[y == label] = c
    position = np.arange(len(y))
    sorted_codes = np.repeat(np.arange(len(classes)), np.bincount(codes, minlength=len(classes)))
    rs = _reseeded_random_state(state)
    fold = np.empty(len(y), dtype=np.int64)
    for c in range(len(classes)):
        per_fold = np.bincount(position[sorted_codes == c] % n_splits, minlength=n_splits)
        numbers = np.repeat(np.arange(n_splits), per_fold)
        rs.shuffle(numbers)
        fold[codes == c] = numbers
    return fold


def fold_numbers(y: np.ndarray, n_splits: int, state: int,
                 groups: np.ndarray | None = None) -> np.ndarray:
    """Test-fold number of every unit: :func:`stratified_fold_numbers` without
    ``groups``, :func:`group_fold_numbers` with them (the switch of every fold plan that
    can take a data set's groups; the joint-replicate and simulation plans, whose
    units are independent by construction, call :func:`stratified_fold_numbers`)."""
    if groups is None:
        return stratified_fold_numbers(y, n_splits, state)
    return group_fold_numbers(y, groups, n_splits, state)


def group_fold_numbers(y: np.ndarray, groups: np.ndarray, n_splits: int,
                       state: int) -> np.ndarray:
    """Test-fold number of every unit such that no group is split between folds.

    The same assignment as scikit-learn's ``StratifiedGroupKFold(n_splits,
    shuffle=True, random_state=state)`` (``tests/test_groups.py`` checks it split for
    split), computed without its per-group Python loop over the folds and its final
    O(units x folds) scan, which cost about a second per assignment at 1000 groups: the
    permutation tests draw thousands of assignments.

    The rule (scikit-learn's): the groups, in sorted order of their ids, are shuffled
    with one ``numpy.random.RandomState(state)``; then, the groups with the most uneven
    class counts first (a stable sort on minus the SD of a group's class counts), each
    group goes to the fold that, with it, makes the class shares of the folds most
    even (the mean over classes of the SD over folds of the fold's share of the class's
    units); among folds equal within ``numpy.isclose``, the one with fewer units. Every
    unit gets its group's fold, so a test fold never holds a unit whose group has units
    in the training set. A fold may lack a class (its AUC is then NaN): the caller's
    fold-count rule (:func:`analysis.statistics.cvinference.fold_count`) keeps that rare.
    """
    inf = float("inf")
    y = np.asarray(y)
    groups = np.asarray(groups)
    if groups.shape != y.shape:
        raise ValueError(f"groups must have one entry per unit ({len(y)}), got {groups.shape}")
    _, y_inv, y_cnt = np.unique(y, return_inverse=True, return_counts=True)
    _, g_inv, g_cnt = np.unique(groups, return_inverse=True, return_counts=True)
    n_groups, n_classes = len(g_cnt), len(y_cnt)
    if n_splits > n_groups:
        raise ValueError(f"cannot split {n_groups} groups into {n_splits} folds")
    per_group = np.zeros((n_groups, n_classes))
    np.add.at(per_group, (g_inv, y_inv), 1)
    perm = np.arange(n_groups)
    _reseeded_random_state(state).shuffle(perm)
    per_group = per_group[perm]
    inv_perm = np.empty_like(perm)
    inv_perm[perm] = np.arange(n_groups)
    g_inv = inv_perm[g_inv]
    order = np.argsort(-np.std(per_group, axis=1), kind="stable")
    per_fold = np.zeros((n_splits, n_classes))
    scale = y_cnt.reshape(1, -1).astype(float)
    eye = np.eye(n_splits)[:, :, None]  # candidate i adds the group to fold i
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    for gi in order:
        g = per_group[gi]
        cand = per_fold[None, :, :] + eye * g[None, None, :]  # (candidate, fold, class)
        evals = np.mean(np.std(cand / scale[None], axis=1), axis=1).tolist()
        sizes = per_fold.sum(axis=1).tolist()
        best, best_eval, best_size = 0, inf, inf
        for i in range(n_splits):
            e = evals[i]
            # numpy.isclose(e, best_eval) with its defaults, on Python floats
            if e < best_eval or (best_eval != inf and abs(e - best_eval)
                                 <= 1e-8 + 1e-5 * abs(best_eval) and sizes[i] < best_size):
                best, best_eval, best_size = i, e, sizes[i]
        per_fold[best] += g
        fold_of_group[gi] = best
    return fold_of_group[g_inv]


@dataclass
class FitResult:
    """A fitted logistic model and how it was fitted."""

    estimator: str
    coef: np.ndarray  # intercept first
    converged: bool
    n_iter: int
    separated: bool
    warnings: tuple[str, ...] = ()

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        return self.coef[0] + np.asarray(X, dtype=float) @ self.coef[1:]

    def glance(self) -> dict:
        """One tidy row describing the fit."""
        return {
            "estimator": self.estimator,
            "converged": self.converged,
            "n_iter": self.n_iter,
            "separated": self.separated,
            "n_warnings": len(self.warnings),
            "warnings": "; ".join(sorted(set(self.warnings))),
        }


class _Converged(Exception):
    """Raised by the statsmodels callback when fitconfig's stopping rule holds."""


def _fit_mle(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, bool, int, list[str]]:
    """statsmodels Newton-Raphson (no step control), as ``Logit.fit(method="newton")``.

    statsmodels stops on an absolute step size; the project's rule is scale-aware
    (:func:`analysis.base.fitconfig.mle_step_converged`: the step relative to the largest
    coefficient). statsmodels is therefore run with ``tol=0`` and a callback that sees
    every new iterate, applies the rule and ends the iterations when it holds (it
    raises, and the last iterate is kept): the iterates are statsmodels' own. The fit
    converged when it stopped this way before ``MLE_MAX_ITER`` with finite
    coefficients. ``full_output=False`` skips statsmodels' inversion of the final
    Hessian, which is singular at a nearly separated optimum.
    """
    Xc = sm.add_constant(np.asarray(X, dtype=float), has_constant="add")
    steps = []

    def callback(params):
        params = np.asarray(params, dtype=float)
        prev = steps[-1] if steps else np.zeros_like(params)  # statsmodels starts at 0
        steps.append(params.copy())
        if fitconfig.mle_step_converged(params - prev, params):
            raise _Converged

    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            sm.Logit(np.asarray(y, dtype=float), Xc).fit(
                method="newton", maxiter=fitconfig.MLE_MAX_ITER, tol=0.0,
                disp=0, full_output=False, callback=callback, start_params=np.zeros(Xc.shape[1]),
            )
        except _Converged:
            pass
        except np.linalg.LinAlgError as err:
            # the Hessian can be singular under separation although the iterations
            # ran: keep the last iterate, which the callback recorded
            caught.append(warnings.WarningMessage(str(err), RuntimeWarning, "", 0))
    coef = (np.asarray(steps[-1], dtype=float) if steps else np.full(Xc.shape[1], np.nan))
    n_iter = len(steps)
    conv = n_iter < fitconfig.MLE_MAX_ITER and bool(np.isfinite(coef).all())
    msgs = [f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught]
    return coef, conv, n_iter, msgs


def _fit_firth(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, bool, int, list[str]]:
    from firthmodels import FirthLogisticRegression

    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        # gtol relative to the size of the score's terms (fitconfig.firth_gtol)
        m = FirthLogisticRegression(
            max_iter=fitconfig.FIRTH_MAX_ITER, gtol=fitconfig.firth_gtol(X),
            xtol=fitconfig.FIRTH_XTOL,
        ).fit(np.asarray(X, dtype=float), np.asarray(y, dtype=int))
    coef = np.concatenate([[m.intercept_], np.asarray(m.coef_, dtype=float)])
    msgs = [f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught]
    return coef, bool(m.converged_), int(m.n_iter_), msgs


def fit_logistic(X: np.ndarray, y: np.ndarray, estimator: str = "mle") -> FitResult:
    """Fit one logistic model with intercept by the reference libraries.

    Parameters
    ----------
    X : ndarray (n, p)
        Features, without intercept column.
    y : ndarray (n,)
        0/1 labels.
    estimator : {"mle", "firth"}
        ``mle``: statsmodels ``Logit`` by Newton-Raphson; ``firth``: firthmodels'
        Firth-penalised Newton-Raphson. Settings in :mod:`analysis.base.fitconfig`.

    Returns
    -------
    FitResult
        ``separated`` is a property of the training data: the plain-MLE fit diverges
        (:func:`analysis.base.fitconfig.separation_flag`); it is reported for both
        estimators. Warnings raised during the fit are recorded, not printed.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    coef_mle, conv_mle, it_mle, w_mle = _fit_mle(X, y)
    eta = coef_mle[0] + np.asarray(X, dtype=float) @ coef_mle[1:]
    separated = fitconfig.separation_flag(eta, conv_mle)
    if estimator == "mle":
        return FitResult("mle", coef_mle, conv_mle, it_mle, separated, tuple(w_mle))
    coef, conv, it, w = _fit_firth(X, y)
    return FitResult("firth", coef, conv, it, separated, tuple(w))


FOLD_COLUMNS = [
    "repeat", "fold", "n_train", "n_test", "n_pos_test", "auc", "separated", "converged",
    "n_iter", "n_warnings",
]


def fold_auc(y_test: np.ndarray, score: np.ndarray) -> float:
    """AUC of one fold (Mann-Whitney, ties 1/2); NaN when the fold has one class only."""
    y_test = np.asarray(y_test)
    if y_test.min() == y_test.max():
        return float("nan")
    return float(auc(y_test, score))


@dataclass
class CVResult:
    """Fold-level rows and out-of-fold scores of one cross-validation batch."""

    folds: pd.DataFrame
    scores: pd.DataFrame  # repeat, fold, row, y, score


def _cross_validate_reference(X, Y, splits, estimator) -> CVResult:
    rows, scores = [], []
    for i, s in enumerate(splits):
        y = Y[i]
        fit = fit_logistic(X[s.train], y[s.train], estimator)
        sc = fit.linear_predictor(X[s.test])
        rows.append((s.repeat, s.fold, len(s.train), len(s.test), int(y[s.test].sum()),
                     fold_auc(y[s.test], sc), fit.separated, fit.converged, fit.n_iter,
                     len(fit.warnings)))
        scores.append(pd.DataFrame({"repeat": s.repeat, "fold": s.fold, "row": s.test,
                                    "y": y[s.test].astype(np.int64), "score": sc}))
    return CVResult(pd.DataFrame(rows, columns=FOLD_COLUMNS), pd.concat(scores, ignore_index=True))


def _cross_validate_batched(X, Y, splits, estimator, n_jobs) -> CVResult:
    from . import engine

    same = Y.strides[0] == 0  # one label vector broadcast to every split
    res = engine.cross_validate_batch(
        X, Y[0] if same else Y, [(s.train, s.test) for s in splits],
        estimator=estimator, n_jobs=n_jobs,
    )
    folds = pd.DataFrame({
        "repeat": [s.repeat for s in splits], "fold": [s.fold for s in splits],
        "n_train": res["n_train"], "n_test": res["n_test"], "n_pos_test": res["n_pos_test"],
        "auc": res["auc"], "separated": res["separated"], "converged": res["converged"],
        "n_iter": res["n_iter"], "n_warnings": 0,
    })[FOLD_COLUMNS]
    test_scores = res["test_scores"]
    sizes = np.array([len(s.test) for s in splits])
    rows = np.concatenate([s.test for s in splits]) if splits else np.zeros(0, dtype=int)
    ys = (np.concatenate([Y[i][s.test] for i, s in enumerate(splits)]).astype(np.int64)
          if splits else rows)
    sc = (np.concatenate([np.asarray(test_scores[i])[: len(s.test)] for i, s in enumerate(splits)])
          if splits else np.zeros(0))
    scores = pd.DataFrame({
        "repeat": np.repeat([s.repeat for s in splits], sizes),
        "fold": np.repeat([s.fold for s in splits], sizes),
        "row": rows, "y": ys, "score": sc,
    })
    return CVResult(folds, scores)


def engine_available() -> bool:
    try:
        from . import engine  # noqa: F401
    except ImportError:
        return False
    return hasattr(engine, "cross_validate_batch")


def cross_validate(
    X: np.ndarray,
    y: np.ndarray,
    splits: list[Split],
    *,
    estimator: str = "mle",
    engine: str = "auto",
    n_jobs: int = 1,
    labels: np.ndarray | None = None,
) -> CVResult:
    """Fit one model per split and score its test images.

    Parameters
    ----------
    X : ndarray (n, p)
    y : ndarray (n,) of 0/1
    splits : list of Split
    estimator : {"mle", "firth"}
    engine : {"auto", "reference", "batched"}
        ``auto`` uses the batched engine when it is available.
    n_jobs : int
        Workers for the batched engine (results do not depend on it).
    labels : ndarray (n_splits, n), optional
        One label vector per split (e.g. permuted labels); ``y`` is then ignored
        except for its length.

    Returns
    -------
    CVResult
        ``folds``: one row per split with columns :data:`FOLD_COLUMNS`;
        ``scores``: the linear predictor of every test image of every split.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (n, p) with n = len(y); got {X.shape} and {y.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X has missing or infinite values")
    if labels is None:
        Y = np.broadcast_to(y, (len(splits), len(y)))
    else:
        # kept in its own integer dtype (no copy): permutation tests pass tens of
        # thousands of label rows
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iub":
            labels = labels.astype(int)
        if labels.shape != (len(splits), len(y)):
            raise ValueError(f"labels must be (n_splits, n) = {(len(splits), len(y))}, "
                             f"got {labels.shape}")
        Y = labels
    if engine == "auto":
        engine = "batched" if engine_available() else "reference"
    if engine == "reference":
        return _cross_validate_reference(X, Y, splits, estimator)
    if engine == "batched":
        return _cross_validate_batched(X, Y, splits, estimator, n_jobs)
    raise ValueError(f"engine must be auto, reference or batched, got {engine!r}")
