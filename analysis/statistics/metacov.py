"""Sampling covariance of cross-validated estimates of studies that share images.

Several groups that rated overlapping sets of images give estimates (cvAUCs, paired
differences of cvAUCs) whose sampling errors are correlated. A random-effects
meta-analysis of them needs that covariance. Two ways are offered here:

* **estimated** (:func:`joint_bootstrap` with ``scheme="subsample"``,
  :func:`replicate_covariance`): a delete-d jackknife over the union of every study's
  images: each replicate keeps every union image with probability
  :data:`SUBSAMPLE_KEEP` (3/4) and every study refits its own cross-validation on the
  kept images it rated. All studies' replicate estimates come from the same draws; the
  covariance of two studies' replicates times ``keep / (1 - keep)`` (= 3) estimates
  the covariance of their estimates. Divided by the studies' own standard errors it
  gives the correlation the meta-analysis uses.
* **assumed** (:func:`per_class_correlation`): the correlation implied by the shared
  positives and the shared negatives, each weighted by its class's share of an AUC's
  variance, times a factor ``rho`` in [0, 1] (a sensitivity band).

:func:`pair_table` lays both side by side, one row per pair of studies.

Why not the plain bootstrap (``scheme="bootstrap"``, kept for comparison): its
replicate covariance is biased low where the shared images are melanomas. Measured on
:func:`simulate_pair` data with all 18 melanomas shared: a replicate holds 64% distinct
melanomas, and its models, fitted on them, are weaker (mean sd cvAUC of the
replicates 0.635 against 0.666 on the data; 30 data sets x 60 replicates); over 80
data sets x 100 replicates the covariance it gives is 0.0021 (SE 0.0002) for the sd
cvAUCs against a true 0.0045 (1000 data sets), 0.0045 against 0.0076 for the
mean-minus-sd difference. The
infinitesimal jackknife computed from the same replicates' counts (Efron 2014, with
the Monte Carlo correction of Wager, Hastie & Efron 2014) is about as low, 0.0018 and
0.0041, so the shortfall is not Monte Carlo or linearisation error of the bootstrap
but lies in what a replicate fits: the shared images move both groups' estimates
mostly through the refitted models, and that effect depends on how many distinct
melanomas the models are fitted on (as the results below suggest), which the copies of
a bootstrap replicate do not restore. A resampling scheme whose replicates hold no
copies and nearly as many distinct images as the data fixes it: half-samples (9 of 18
melanomas) recovered the difference's covariance (0.0078) but still only 0.0031 of the
sd's 0.0045; keeping
each image with probability 3/4 (about 13.5 of 18) gave 0.0040 (SE 0.0004) and 0.0085
(SE 0.0008), and within Monte Carlo error of the truth in the two other
configurations. The truth is the right estimand for the meta-analysis: the fold
assignments are independent between groups, so the covariance of one-assignment
cvAUCs is also that of cvAUCs averaged over many assignments; the correlation is then
taken with each group's own SE, whatever its fold-noise share. The check, on other
seeds than those used to choose between the schemes: :func:`simulation_check`,
benchmarks/meta_covariance_check.py. Two alternatives tried earlier were not kept
either: a delete-one jackknife with the folds fixed (variances twice the true ones)
and per-class placement values of the out-of-fold scores (no refitting: a tenth of
the covariance).

References
----------
Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall
(bootstrap estimates of covariances, ch. 6; stratified resampling).
Shao, J. & Wu, C. F. J. (1989). A general theory for jackknife variance estimation.
Ann. Statist. 17, 1176-1197 (the delete-d jackknife, factor (n - d) / d).
Efron, B. (2014). Estimation and accuracy after model selection. J. Am. Stat. Assoc.
109, 991-1007 (the infinitesimal jackknife from bootstrap counts).
Wager, S., Hastie, T. & Efron, B. (2014). Confidence intervals for random forests: the
jackknife and the infinitesimal jackknife. J. Mach. Learn. Res. 15, 1625-1651.
DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Biometrics 44, 837-845
(an AUC as a sum of per-class placement means).
Higham, N. J. (2002). Computing the nearest correlation matrix. IMA J. Numer. Anal. 22,
329-343.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..base import budgets
from ..fitting import models

__all__ = [
    "DEFAULT_JOINT_BOOT",
    "SUBSAMPLE_KEEP",
    "JointBootstrap",
    "Study",
    "class_overlap",
    "joint_bootstrap",
    "pair_table",
    "per_class_correlation",
    "replicate_correlation",
    "replicate_covariance",
    "subsample_factor",
    "simulate_pair",
    "simulation_check",
]

#: Replicates of :func:`joint_bootstrap` (each study refits one fold assignment per
#: replicate). For the bootstrap, the Monte Carlo SE of a correlation r from B
#: replicates is about (1 - r^2)/sqrt(B); the delete-d jackknife's covariance, times 3,
#: has about twice that at the same B (hence 1600 replicates).
DEFAULT_JOINT_BOOT = budgets.REPLICATION.n_joint_boot
#: Probability that a delete-d jackknife replicate (``scheme="subsample"``) keeps an
#: image: close enough to 1 that the refitted models are nearly as strong as on the
#: data (a half-sample's are not), far enough that the Monte Carlo error of the
#: covariance, multiplied by ``keep / (1 - keep)``, stays moderate.
SUBSAMPLE_KEEP = 0.75


def subsample_factor(keep: float = SUBSAMPLE_KEEP) -> float:
    """``keep / (1 - keep)``: what the covariance of delete-d replicates that keep each
    image with probability ``keep`` is multiplied by to estimate the covariance of the
    estimates (exact for a mean: a kept-image mean has variance ``(1 - keep) / keep``
    times that of the full mean, to first order in the kept count)."""
    if not 0.0 < keep < 1.0:
        raise ValueError("keep must be strictly between 0 and 1")
    return keep / (1.0 - keep)


@dataclass
class Study:
    """What the joint bootstrap needs of one study.

    Attributes
    ----------
    key : str
        The study's name (e.g. ``"2017-2018/group07"``).
    image_ids : array of str
        The images behind the study's estimates, one per row of the matrices.
    y : array of 0/1
        Each image's label (must agree across studies for a shared image).
    matrices : dict
        Feature set -> design matrix (rows = ``image_ids``, no intercept).
    n_splits : int
        Folds of the study's cross-validation.
    fold_key : str, optional
        Seeds the study's fold assignments (default ``key``); two studies built from
        the same data with different ``fold_key`` give the same group under
        independent fold assignments.
    """

    key: str
    image_ids: np.ndarray
    y: np.ndarray
    matrices: dict[str, np.ndarray]
    n_splits: int
    fold_key: str | None = None


@dataclass
class JointBootstrap:
    """Replicate estimates of :func:`joint_bootstrap`.

    Attributes
    ----------
    studies : list of str
    replicates : dict
        Feature set -> (n_boot, k) cvAUC of every replicate and study (NaN when the
        study's drawn images held fewer than 2 of a class).
    n_boot, seed : int
    n_union : dict
        ``{"melanoma": ..., "other": ...}``: images of each class in the union.
    scheme : str
        ``"bootstrap"`` or ``"subsample"`` (delete-d jackknife).
    keep : float
        Probability of keeping an image (``"subsample"`` only).
    counts : ndarray of shape (n_boot, n_union_images)
        Copies of every union image (sorted by id) in every replicate (0/1 for
        ``"subsample"``).
    """

    studies: list[str]
    replicates: dict[str, np.ndarray]
    n_boot: int
    seed: int
    n_union: dict[str, int] = field(default_factory=dict)
    scheme: str = "bootstrap"
    keep: float = float("nan")
    counts: np.ndarray | None = None


def _fold_state(seed: int, b: int, key: str) -> int:
    return int(np.random.SeedSequence([seed, b, zlib.crc32(key.encode())]).generate_state(1)[0])


def joint_bootstrap(studies: list[Study], *, n_boot: int = DEFAULT_JOINT_BOOT,
                    seed: int = models.DEFAULT_SEED, estimator: str = "mle",
                    engine: str = "auto", n_jobs: int = 1, scheme: str = "bootstrap",
                    keep: float = SUBSAMPLE_KEEP) -> JointBootstrap:
    """Replicates of the union of the studies' images (a stratified bootstrap, or with
    ``scheme="subsample"`` the delete-d jackknife the replication uses), each study
    refitting its own CV.

    Parameters
    ----------
    studies : list of Study
    n_boot : int, default :data:`DEFAULT_JOINT_BOOT`
    seed : int
        Replicate ``b`` draws with ``SeedSequence([seed, b])``; study ``s`` assigns its
        folds in replicate ``b`` with ``SeedSequence([seed, b, crc32(fold_key)])`` (its
        folds do not depend on the order of the studies).
    estimator, engine, n_jobs
        As :func:`analysis.fitting.models.cross_validate` (results do not depend on ``n_jobs``).
    scheme : {"bootstrap", "subsample"}
        ``"bootstrap"``: draws with replacement within class; ``"subsample"``: a
        delete-d jackknife, each union image kept (once) with probability ``keep``
        (the covariance of its replicates times :func:`subsample_factor` estimates
        the covariance of the estimates; see the module's notes for why it replaced
        the bootstrap).
    keep : float, default :data:`SUBSAMPLE_KEEP`

    Returns
    -------
    JointBootstrap

    Raises
    ------
    ValueError
        When an image has different labels in two studies, or a study has rows and
        labels of different lengths.

    Notes
    -----
    Replicate ``b`` draws, with replacement, as many melanomas as the union holds from
    the union's melanomas, and as many other images from the others. Each study then
    sees the drawn images it rated, every copy as a copy (its number of images varies
    from replicate to replicate, as it would if images were sampled with the studies
    they belong to), assigns the distinct ones to its ``n_splits`` stratified folds
    (every copy of an image in its image's fold, as
    :func:`analysis.statistics.cvstats.bootstrap_cv_splits`) and refits one model per fold; the
    replicate's estimate is the mean fold AUC (folds with one class only left out). A
    study whose drawn images hold fewer than 2 distinct images of a class has no
    estimate in that replicate (NaN). One fold assignment per replicate, as the
    package's bootstrap-CV standard errors. With ``scheme="subsample"`` replicate
    ``b`` keeps union image ``u`` when the ``u``-th of ``union.size`` uniform numbers
    drawn from ``SeedSequence([seed, b])`` is below ``keep`` (no copies; the number
    kept of each class varies, as a study's does under the bootstrap).
    """
    if n_boot < 2:
        raise ValueError("n_boot must be at least 2")
    if scheme not in ("bootstrap", "subsample"):
        raise ValueError(f"scheme must be 'bootstrap' or 'subsample', not {scheme!r}")
    if not 0.0 < keep < 1.0:
        raise ValueError("keep must be strictly between 0 and 1")
    keys = [s.key for s in studies]
    if len(set(keys)) != len(keys):
        raise ValueError("study keys must be distinct")
    label: dict[str, int] = {}
    for s in studies:
        ids = np.asarray(s.image_ids).astype(str)
        yy = np.asarray(s.y, dtype=int)
        if ids.shape != yy.shape or any(m.shape[0] != ids.size for m in s.matrices.values()):
            raise ValueError(f"study {s.key}: image_ids, y and matrices differ in length")
        for i, v in zip(ids, yy, strict=True):
            if label.setdefault(i, int(v)) != v:
                raise ValueError(f"image {i} has label {label[i]} in one study and {v} in "
                                 f"study {s.key}")
    union = np.array(sorted(label))
    uy = np.array([label[i] for i in union], dtype=int)
    pos, neg = np.flatnonzero(uy == 1), np.flatnonzero(uy == 0)
    where = {i: j for j, i in enumerate(union)}
    rows_of = [np.array([where[i] for i in np.asarray(s.image_ids).astype(str)])
               for s in studies]
    # counts[b, u]: copies of union image u in replicate b
    counts = np.zeros((n_boot, union.size), dtype=np.int64)
    for b in range(n_boot):
        rng = np.random.default_rng(np.random.SeedSequence([seed, b]))
        if scheme == "bootstrap":
            draw = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        else:  # every union image kept, once, with probability keep
            draw = np.flatnonzero(rng.random(union.size) < keep)
        counts[b] = np.bincount(draw, minlength=union.size)
    sets = sorted({fs for s in studies for fs in s.matrices})
    reps = {fs: np.full((n_boot, len(studies)), np.nan) for fs in sets}
    for j, s in enumerate(studies):
        y = np.asarray(s.y, dtype=int)
        fkey = s.fold_key or s.key
        splits, done = [], []
        for b in range(n_boot):
            c = counts[b, rows_of[j]]
            ib = np.repeat(np.arange(y.size), c)
            uniq, inv = np.unique(ib, return_inverse=True)
            if min(int((y[uniq] == 1).sum()), int((y[uniq] == 0).sum())) < 2:
                continue
            fold = models.stratified_fold_numbers(y[uniq], s.n_splits,
                                                  _fold_state(seed, b, fkey))[inv]
            for k in range(s.n_splits):
                t = fold == k
                if t.any() and (~t).any():
                    splits.append(models.Split(b, k, ib[~t], ib[t]))
            done.append(b)
        if not splits:
            continue
        for fs, X in s.matrices.items():
            cv = models.cross_validate(X, y, splits, estimator=estimator, engine=engine,
                                       n_jobs=n_jobs)
            per = cv.folds.groupby("repeat")["auc"].mean()
            reps[fs][per.index.to_numpy(), j] = per.to_numpy()
    return JointBootstrap(keys, reps, n_boot, seed,
                          {"melanoma": int(pos.size), "other": int(neg.size)}, scheme,
                          keep if scheme == "subsample" else float("nan"), counts)


def _nearest_correlation(corr: np.ndarray) -> tuple[np.ndarray, bool]:
    """``corr`` itself when positive semi-definite (smallest eigenvalue at least
    -1e-12), else the nearest correlation matrix (Higham 2002,
    ``statsmodels.stats.correlation_tools.corr_nearest``; ``corr_clipped`` when that
    stops short), with whether it was projected."""
    if corr.shape[0] < 2 or np.linalg.eigvalsh(corr).min() >= -1e-12:
        return corr, False
    import warnings

    from statsmodels.stats.correlation_tools import corr_clipped, corr_nearest
    from statsmodels.tools.sm_exceptions import IterationLimitWarning

    with warnings.catch_warnings():
        # the iteration limit is not an error: the result is checked just below
        warnings.simplefilter("ignore", IterationLimitWarning)
        out = corr_nearest(corr, threshold=1e-10, n_fact=1000)
    out = (out + out.T) / 2
    np.fill_diagonal(out, 1.0)
    if np.linalg.eigvalsh(out).min() < -1e-12:
        out = corr_clipped(out, threshold=1e-10)  # eigenvalues clipped at once
        out = (out + out.T) / 2
        np.fill_diagonal(out, 1.0)
    return out, True


def _pair_counts(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each study has an estimate, and the replicates each pair shares (at least 4)."""
    fin = np.isfinite(t)
    n_pair = fin.T.astype(np.int64) @ fin.astype(np.int64)
    if n_pair.min() < 4:
        raise ValueError(f"only {int(n_pair.min())} replicates with estimates for a pair "
                         "of studies")
    return fin, n_pair


def replicate_correlation(values, shared=None, *, alpha: float = 0.05) -> dict:
    """Correlation matrix of replicate estimates, with Monte Carlo intervals.

    Parameters
    ----------
    values : array of shape (B, k)
        Replicate estimates (rows: replicates; columns: studies; NaN: no estimate).
    shared : bool array of shape (k, k), optional
        True where two studies share at least one image. Pairs that share none are
        independent by construction and get correlation 0.
    alpha : float

    Returns
    -------
    dict
        ``corr`` (k, k) positive semi-definite, the matrix to use; ``raw`` (k, k) the
        sample correlations; ``low``, ``high`` (k, k) their Fisher-z Monte Carlo limits;
        ``n_pair`` (k, k) replicates behind each; ``n_used`` (the fewest of them),
        ``projected`` (whether a projection to the nearest correlation matrix was
        needed).

    Notes
    -----
    Each pair's sample correlation uses the replicates in which both studies have an
    estimate (a study with few images of a class has none in a few replicates).
    Pairs that share no image are set to 0. The matrix of pairwise correlations
    need not be positive semi-definite; when its smallest eigenvalue is below
    -1e-12, the nearest correlation matrix (Higham 2002,
    ``statsmodels.stats.correlation_tools.corr_nearest``; if that stops at its
    iteration limit short of it, ``corr_clipped``, which clips the eigenvalues at once)
    is used and ``projected`` is True. Monte Carlo limits: ``tanh(atanh(r) -+ z_{1-alpha/2} / sqrt(n - 3))``.
    """
    t = np.asarray(values, dtype=float)
    if t.ndim != 2:
        raise ValueError("values must be (replicates, studies)")
    fin, n_pair = _pair_counts(t)
    raw = np.array(pd.DataFrame(t).corr(min_periods=4).to_numpy(), dtype=float)
    if not np.all(np.isfinite(raw)):
        raise ValueError("a study's replicate estimates do not vary")
    np.fill_diagonal(raw, 1.0)
    corr = raw.copy()
    if shared is not None:
        sh = np.asarray(shared, dtype=bool)
        corr[~sh] = 0.0
        np.fill_diagonal(corr, 1.0)
    corr, projected = _nearest_correlation(corr)
    z = stats.norm.ppf(1 - alpha / 2) / np.sqrt(np.maximum(n_pair - 3, 1))
    f = np.arctanh(np.clip(raw, -1 + 1e-15, 1 - 1e-15))
    return {"corr": corr, "raw": raw, "low": np.tanh(f - z), "high": np.tanh(f + z),
            "n_pair": n_pair, "n_used": int(n_pair.min()), "projected": projected}


def replicate_covariance(values, shared=None, *, factor: float = 1.0, se=None,
                         alpha: float = 0.05) -> dict:
    """Covariance of studies' estimates from replicate estimates, and the correlation
    it implies with the studies' own standard errors.

    Parameters
    ----------
    values : array of shape (B, k)
        Replicate estimates (rows: replicates; columns: studies; NaN: no estimate).
    shared : bool array of shape (k, k), optional
        True where two studies share at least one image; other pairs get 0.
    factor : float
        Multiplies the replicates' sample covariance (:func:`subsample_factor` for
        delete-d replicates; 1 for bootstrap replicates).
    se : array of shape (k,), optional
        The studies' own standard errors (what the meta-analysis combines the
        correlation with). Default: the square roots of the diagonal of the
        estimated covariance.
    alpha : float

    Returns
    -------
    dict
        ``cov`` (k, k) the estimated covariance; ``cov_se`` its Monte Carlo SEs;
        ``scale`` the SEs used; ``raw`` ``cov / (scale scale')`` with 1 on the
        diagonal; ``low``, ``high`` its Monte Carlo limits (``cov -+ z cov_se`` over
        the same scale); ``corr`` the matrix to use (``raw`` clipped to [-1, 1],
        pairs that share no image 0, and when that is not positive definite every
        off-diagonal value multiplied by the largest ``shrink`` < 1 that makes its
        smallest eigenvalue 1e-10); ``variance_ratio`` (k,) the estimated variance
        over ``scale**2``; ``n_pair``, ``n_used`` as :func:`replicate_correlation`;
        ``projected`` (whether it was shrunk) and ``shrink``.

    Notes
    -----
    Each pair's covariance uses the replicates in which both studies have an
    estimate. Its Monte Carlo SE is the SD of the products of the centred values over
    the square root of their number, times ``factor``.
    """
    t = np.asarray(values, dtype=float)
    if t.ndim != 2:
        raise ValueError("values must be (replicates, studies)")
    k = t.shape[1]
    if not factor > 0:
        raise ValueError("factor must be positive")
    fin, n_pair = _pair_counts(t)
    cov = np.empty((k, k))
    cov_se = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ok = fin[:, i] & fin[:, j]
            a, b = t[ok, i] - t[ok, i].mean(), t[ok, j] - t[ok, j].mean()
            n = int(ok.sum())
            cov[i, j] = cov[j, i] = factor * float(a @ b) / (n - 1)
            cov_se[i, j] = cov_se[j, i] = factor * float((a * b).std(ddof=1)) / np.sqrt(n)
    if se is None:
        scale = np.sqrt(np.diag(cov))
    else:
        scale = np.asarray(se, dtype=float)
        if scale.shape != (k,):
            raise ValueError(f"se must have one value per study ({k})")
    if not np.all(np.isfinite(scale) & (scale > 0)):
        raise ValueError("a study's standard error (or replicate variance) is not positive")
    outer = np.outer(scale, scale)
    raw = cov / outer
    np.fill_diagonal(raw, 1.0)
    zq = stats.norm.ppf(1 - alpha / 2)
    low, high = (cov - zq * cov_se) / outer, (cov + zq * cov_se) / outer
    np.fill_diagonal(low, 1.0)
    np.fill_diagonal(high, 1.0)
    corr = np.clip(raw, -1.0, 1.0)
    if shared is not None:
        corr[~np.asarray(shared, dtype=bool)] = 0.0
        np.fill_diagonal(corr, 1.0)
    # shrink the off-diagonal toward 0 just enough for a positive definite matrix
    # (smallest eigenvalue 1e-10): unlike a nearest-matrix projection, it keeps the
    # pairs that share no image at 0 and the ordering of the others
    smallest = float(np.linalg.eigvalsh(corr).min()) if k > 1 else 1.0
    shrink = 1.0
    if smallest < 1e-10:
        shrink = (1.0 - 1e-10) / (1.0 - smallest)
        corr = shrink * corr
        np.fill_diagonal(corr, 1.0)
    return {"corr": corr, "raw": raw, "low": low, "high": high, "cov": cov,
            "cov_se": cov_se, "scale": scale,
            "variance_ratio": np.diag(cov) / scale**2, "n_pair": n_pair,
            "n_used": int(n_pair.min()), "projected": shrink < 1.0, "shrink": shrink}


def class_overlap(images: pd.DataFrame) -> pd.DataFrame:
    """Images of each class that every pair of studies shares.

    Parameters
    ----------
    images : DataFrame
        ``study, image_id, y`` (one row per study and image; ``y`` 0/1).

    Returns
    -------
    DataFrame
        One row per unordered pair (sorted keys): ``group_a, group_b, n_a_pos, n_a_neg,
        n_b_pos, n_b_neg, n_shared, n_shared_pos, n_shared_neg``.

    Examples
    --------
    Study a has images 1 (positive), 2 and 3; study b has 2 and 3 (and 4, positive):
    they share the two negatives.

    >>> import pandas as pd
    >>> im = pd.DataFrame({"study": ["a", "a", "a", "b", "b", "b"],
    ...                    "image_id": [1, 2, 3, 2, 3, 4], "y": [1, 0, 0, 0, 0, 1]})
    >>> print(class_overlap(im)[["group_a", "group_b", "n_shared", "n_shared_pos",
    ...                          "n_shared_neg"]].to_string(index=False))
    group_a group_b  n_shared  n_shared_pos  n_shared_neg
          a       b         2             0             2
    """
    im = images[["study", "image_id", "y"]].drop_duplicates(["study", "image_id"])
    sets = {s: (frozenset(g.loc[g["y"] == 1, "image_id"]), frozenset(g.loc[g["y"] == 0,
                                                                          "image_id"]))
            for s, g in im.groupby("study", sort=True)}
    rows = []
    for a, b in itertools.combinations(sorted(sets), 2):
        (pa, na), (pb, nb) = sets[a], sets[b]
        sp, sn = len(pa & pb), len(na & nb)
        rows.append((a, b, len(pa), len(na), len(pb), len(nb), sp + sn, sp, sn))
    return pd.DataFrame(rows, columns=["group_a", "group_b", "n_a_pos", "n_a_neg", "n_b_pos",
                                       "n_b_neg", "n_shared", "n_shared_pos", "n_shared_neg"])


def per_class_correlation(images: pd.DataFrame, studies: list[str], rho: float = 1.0
                          ) -> np.ndarray:
    """Correlation of studies' AUCs implied by their shared positives and negatives.

    Parameters
    ----------
    images : DataFrame
        ``study, image_id, y``.
    studies : list of str
        Row and column order of the result.
    rho : float in [0, 1]
        Correlation, between two studies, of one shared image's contributions (its
        placement values) to their AUCs.

    Returns
    -------
    ndarray of shape (k, k)
        1 on the diagonal; positive semi-definite for ``0 <= rho <= 1``.

    Notes
    -----
    An AUC is, to first order, a mean of the placement values of its ``m`` positives
    plus a mean of those of its ``n`` negatives (DeLong), with variance
    :math:`\\sigma_1^2/m + \\sigma_0^2/n`. Let :math:`\\pi_i` be the positives' share of
    study ``i``'s variance. If a shared image's placement values in two studies
    correlate ``rho`` (and the placement variances of a class are alike in the two),

    .. math:: r_{ij} = \\rho\\,\\Big(\\sqrt{\\pi_i\\pi_j}\\,\\frac{m_{ij}}{\\sqrt{m_i m_j}}
              + \\sqrt{(1-\\pi_i)(1-\\pi_j)}\\,\\frac{n_{ij}}{\\sqrt{n_i n_j}}\\Big),

    with :math:`m_{ij}, n_{ij}` the shared positives and negatives. The variance share
    is taken as under the null, where both placement variances are 1/12:
    :math:`\\pi_i = n_i / (m_i + n_i)`, the *other* class's share of the images (82% for
    18 melanomas among 100 images: an AUC's variance comes mostly from the rarer
    class). The matrix is ``rho`` times a Gram matrix of unit vectors (per-class image
    indicators scaled by :math:`\\sqrt{\\pi_i/m_i}` and :math:`\\sqrt{(1-\\pi_i)/n_i}`),
    plus ``(1 - rho) I``: positive semi-definite. It differs from the all-image rule
    :math:`n_{\\text{shared}}/\\sqrt{n_a n_b}` when the overlap is mostly of one class.
    """
    if not 0.0 <= rho <= 1.0:
        raise ValueError("rho must be in [0, 1]")
    im = images[["study", "image_id", "y"]].drop_duplicates(["study", "image_id"])
    groups = {s: g for s, g in im.groupby("study", sort=False)}
    missing = [s for s in studies if s not in groups]
    if missing:
        raise KeyError(f"no images for {', '.join(missing)}")
    union = np.array(sorted(set(im["image_id"])))
    where = {i: j for j, i in enumerate(union)}
    U = np.zeros((len(studies), 2 * union.size))
    for r, s in enumerate(studies):
        g = groups[s]
        idx = np.array([where[i] for i in g["image_id"]])
        y = g["y"].to_numpy(dtype=int)
        m, n = int((y == 1).sum()), int((y == 0).sum())
        if m == 0 or n == 0:
            raise ValueError(f"study {s} has images of one class only")
        share = n / (m + n)
        U[r, idx[y == 1]] = np.sqrt(share / m)
        U[r, union.size + idx[y == 0]] = np.sqrt((1 - share) / n)
    G = U @ U.T
    out = rho * G
    np.fill_diagonal(out, 1.0)
    return out


def pair_table(images: pd.DataFrame, studies: list[str], estimated: dict | None = None, *,
               rhos=(0.0, 0.25, 0.5, 1.0)) -> pd.DataFrame:
    """One row per pair of studies and correlation source.

    Parameters
    ----------
    images : DataFrame
        ``study, image_id, y``.
    studies : list of str
        The order of ``estimated``'s matrices.
    estimated : dict, optional
        :func:`replicate_covariance` (or :func:`replicate_correlation`) of the
        studies; its optional ``"how"`` names the method (default ``"joint
        bootstrap"``).
    rhos : sequence of float
        Band values of :func:`per_class_correlation`.

    Returns
    -------
    DataFrame
        ``group_a, group_b, n_shared, n_shared_melanoma, n_shared_other, r_all_images``
        (``n_shared / sqrt(n_a n_b)``), ``source`` (``"estimated"`` or ``"per-class
        rho=<rho>"``), ``rho`` (NaN when estimated), ``correlation`` (what the model
        uses), ``how`` (``estimated["how"]``, ``"no shared image"`` or ``"per-class
        overlap"``), ``measured``, ``measured_conf_low``, ``measured_conf_high`` (``estimated["raw"]``, the
        correlation before clipping and projection, and its Monte Carlo interval;
        estimated rows only), ``n_boot`` (replicates behind it; 0 for band rows).
    """
    ov = class_overlap(images)
    ov = ov[ov["group_a"].isin(studies) & ov["group_b"].isin(studies)]
    pos = {s: i for i, s in enumerate(studies)}
    n_of = images.drop_duplicates(["study", "image_id"]).groupby("study").size()
    rows = []
    band = {rho: per_class_correlation(images, studies, rho) for rho in rhos}
    for r in ov.itertuples(index=False):
        i, j = pos[r.group_a], pos[r.group_b]
        base = {"group_a": r.group_a, "group_b": r.group_b, "n_shared": r.n_shared,
                "n_shared_melanoma": r.n_shared_pos, "n_shared_other": r.n_shared_neg,
                "r_all_images": r.n_shared / np.sqrt(n_of[r.group_a] * n_of[r.group_b])}
        if estimated is not None:
            rows.append({**base, "source": "estimated", "rho": np.nan,
                         "correlation": float(estimated["corr"][i, j]),
                         "how": (estimated.get("how", "joint bootstrap") if r.n_shared
                                 else "no shared image"),
                         "measured": float(estimated["raw"][i, j]),
                         "measured_conf_low": float(estimated["low"][i, j]),
                         "measured_conf_high": float(estimated["high"][i, j]),
                         "n_boot": int(estimated["n_pair"][i, j])})
        for rho, m in band.items():
            rows.append({**base, "source": f"per-class rho={rho:g}", "rho": rho,
                         "correlation": float(m[i, j]),
                         "how": "per-class overlap" if r.n_shared else "no shared image",
                         "measured": np.nan, "measured_conf_low": np.nan, "measured_conf_high": np.nan,
                         "n_boot": 0})
    return pd.DataFrame(rows, columns=[
        "group_a", "group_b", "n_shared", "n_shared_melanoma", "n_shared_other",
        "r_all_images", "source", "rho", "correlation", "how", "measured", "measured_conf_low",
        "measured_conf_high", "n_boot"])


# --- simulation check ---------------------------------------------------------------

#: Settings of :func:`simulate_pair` used by :func:`simulation_check` and the tests: two
#: groups of 100 images (18 melanomas each) sharing ``n_shared`` images, 4 raters per
#: group, 3 features.
SIM_DEFAULTS = {"n_images": 100, "n_melanoma": 18, "n_raters": 4, "n_features": 3,
                "mu": 1.0, "loading": 0.8, "sigma": (0.8, 1.2), "tau_h": 0.5}


def _sim_labels(n_images: int, n_melanoma: int, n_shared: int, shared_melanoma: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union labels and the union rows of groups a and b (fixed design)."""
    if not 0 <= shared_melanoma <= min(n_melanoma, n_shared):
        raise ValueError("shared_melanoma must be between 0 and min(n_melanoma, n_shared)")
    if n_shared - shared_melanoma > n_images - n_melanoma:
        raise ValueError("more shared other images than a group has")
    sp, sn = shared_melanoma, n_shared - shared_melanoma
    ap, an = n_melanoma - sp, n_images - n_melanoma - sn  # a's own
    y = np.concatenate([np.ones(sp), np.zeros(sn), np.ones(ap), np.zeros(an),
                        np.ones(ap), np.zeros(an)]).astype(int)
    shared = np.arange(sp + sn)
    a = np.concatenate([shared, sp + sn + np.arange(ap + an)])
    b = np.concatenate([shared, sp + sn + ap + an + np.arange(ap + an)])
    return y, a, b


def simulate_pair(rng: np.random.Generator, *, n_shared: int, shared_melanoma: int,
                  **settings) -> list[Study]:
    """Two rater groups scoring overlapping image sets (a known-answer construction).

    Parameters
    ----------
    rng : numpy.random.Generator
    n_shared, shared_melanoma : int
        Images both groups rated, and how many of them are melanomas.
    **settings
        Override :data:`SIM_DEFAULTS`.

    Returns
    -------
    list of two Study
        Keys ``"a"`` and ``"b"``; feature sets ``mean`` and ``sd`` (z-scored over the
        group's images) of the raters' scores of each feature.

    Notes
    -----
    Image ``i`` has a label, a latent severity :math:`s_i \\sim N(\\mu y_i, 1)` and a
    difficulty :math:`h_i = \\exp(\\tau_h z_i)`, :math:`z_i \\sim N(0, 1)`, both
    properties of the image and so the same for both groups. Rater ``j`` of a group
    scores feature ``f`` as :math:`\\lambda s_i + h_i \\sigma_{y_i} e_{ijf}` with
    independent standard normal :math:`e` (the raters of the two groups are different
    people). The mean across raters carries the severity, the sd the class-dependent
    noise and the difficulty; shared images make the two groups' estimates
    correlated, by an amount no formula gives, which :func:`simulation_check` finds
    by Monte Carlo.
    """
    st = {**SIM_DEFAULTS, **settings}
    y, ia, ib = _sim_labels(st["n_images"], st["n_melanoma"], n_shared, shared_melanoma)
    n, J, F = y.size, st["n_raters"], st["n_features"]
    s = rng.normal(size=n) + st["mu"] * y
    h = np.exp(st["tau_h"] * rng.normal(size=n))
    sig = np.where(y == 1, st["sigma"][1], st["sigma"][0]) * h
    out = []
    for key, rows in (("a", ia), ("b", ib)):
        e = rng.normal(size=(rows.size, J, F))
        x = st["loading"] * s[rows, None, None] + sig[rows, None, None] * e
        mats = {}
        for fs, m in (("mean", x.mean(axis=1)), ("sd", x.std(axis=1, ddof=1))):
            mats[fs] = (m - m.mean(axis=0)) / m.std(axis=0, ddof=1)
        out.append(Study(key, np.array([f"img{i:05d}" for i in rows]), y[rows], mats,
                         n_splits=int(min(10, y[rows].sum()))))
    return out


def _one_assignment_cvauc(study: Study, fs: str, state: int, estimator: str) -> float:
    y = np.asarray(study.y, dtype=int)
    fold = models.stratified_fold_numbers(y, study.n_splits, state)
    idx = np.arange(y.size)
    splits = [models.Split(0, k, idx[fold != k], idx[fold == k]) for k in range(study.n_splits)]
    cv = models.cross_validate(study.matrices[fs], y, splits, estimator=estimator)
    return float(cv.folds["auc"].mean())


def simulation_check(*, n_shared: int = 50, shared_melanoma: int = 9, n_truth: int = 400,
                     n_datasets: int = 30, n_boot: int = 100, seed: int = 20,
                     estimator: str = "mle", keep: float = SUBSAMPLE_KEEP,
                     **settings) -> pd.DataFrame:
    """Do the delete-d jackknife (and the bootstrap) recover a known covariance of two
    groups' estimates?

    Parameters
    ----------
    n_shared, shared_melanoma : int
        Overlap of the two groups of :func:`simulate_pair`.
    n_truth : int
        Independent data sets (new images, scores) for the true covariance.
    n_datasets : int
        Data sets on which the estimators are run.
    n_boot : int
        Replicates per data set (of each scheme).
    seed : int
    estimator : str
    keep : float
        The delete-d jackknife's probability of keeping an image.
    **settings
        Passed to :func:`simulate_pair`.

    Returns
    -------
    DataFrame
        One row per quantity (``sd``: the sd cvAUC; ``mean_minus_sd``: the paired
        difference). The truth: ``true`` (correlation over the ``n_truth`` data sets),
        ``true_low, true_high`` (its Fisher-z 95% interval), ``true_cov``,
        ``true_cov_se``. The delete-d jackknife (``scheme="subsample"``, what the
        meta-analysis uses): ``estimated_cov`` (mean over the data sets of the
        replicate covariance times :func:`subsample_factor`), ``estimated_cov_se``
        (their SD over sqrt(n_datasets)), ``z_cov`` (estimated - true over the
        combined Monte Carlo SE); ``implied`` (the estimated covariance over the true
        SDs: the correlation the meta-analysis would use if the SEs were exact) with
        ``implied_se``; ``estimated`` (mean of the data sets' covariance over the
        product of their bootstrap SDs: the correlation used with bootstrap-CV SEs),
        ``estimated_se``, ``z`` (against ``true``); ``variance_ratio`` (geometric mean
        over the two groups of the bootstrap variance over the true variance: the SEs
        the correlation is combined with) and ``subsample_variance_ratio`` (the same
        for the jackknife's own variance estimate). The plain joint bootstrap, for
        comparison: ``bootstrap_estimated`` (its mean replicate correlation),
        ``bootstrap_estimated_cov``, ``bootstrap_estimated_cov_se``,
        ``bootstrap_z_cov``, ``bootstrap_implied``. Plus the settings.

    Notes
    -----
    The estimand is the sampling covariance of the two groups' cvAUCs with one fold
    assignment each (independent between the groups), what a replicate computes; its
    true value is the covariance of those cvAUCs over data sets drawn afresh from the
    model. It is also the covariance of cvAUCs averaged over many fold assignments
    (the fold noise is independent between groups), so it is what the meta-analysis
    needs whatever each group's estimate averages. The Monte Carlo SE of the true
    correlation is :math:`(1 - r^2)/\\sqrt{n}`, of the true covariance the SD of the
    products of centred values over :math:`\\sqrt{n}`. Both schemes use the same
    data sets and seeds.
    """
    root = np.random.SeedSequence(seed)
    s_truth, s_est = root.spawn(2)
    vals = np.empty((n_truth, 2, 2))  # dataset, group, (sd, mean)
    for t, ss in enumerate(s_truth.spawn(n_truth)):
        rng = np.random.default_rng(ss)
        pair = simulate_pair(rng, n_shared=n_shared, shared_melanoma=shared_melanoma,
                             **settings)
        states = ss.generate_state(2)
        for g, st in enumerate(pair):
            for q, fs in enumerate(("sd", "mean")):
                vals[t, g, q] = _one_assignment_cvauc(st, fs, int(states[g]), estimator)
    truth = {"sd": vals[:, :, 0], "mean_minus_sd": vals[:, :, 1] - vals[:, :, 0]}
    factor = subsample_factor(keep)
    # per data set: bootstrap (corr, cov, var_a, var_b), subsample (cov, var_a, var_b),
    # and the subsample covariance over the bootstrap SEs (8 values)
    est: dict[str, list] = {"sd": [], "mean_minus_sd": []}
    for ss in s_est.spawn(n_datasets):
        rng = np.random.default_rng(ss)
        pair = simulate_pair(rng, n_shared=n_shared, shared_melanoma=shared_melanoma,
                             **settings)
        state = int(ss.generate_state(1)[0])
        jb = joint_bootstrap(pair, n_boot=n_boot, seed=state, estimator=estimator)
        js = joint_bootstrap(pair, n_boot=n_boot, seed=state, estimator=estimator,
                             scheme="subsample", keep=keep)
        for q, v, w in (("sd", jb.replicates["sd"], js.replicates["sd"]),
                        ("mean_minus_sd", jb.replicates["mean"] - jb.replicates["sd"],
                         js.replicates["mean"] - js.replicates["sd"])):
            c = np.cov(v[np.all(np.isfinite(v), axis=1)].T)
            d = factor * np.cov(w[np.all(np.isfinite(w), axis=1)].T)
            est[q].append((c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]), c[0, 1], c[0, 0], c[1, 1],
                           d[0, 1], d[0, 0], d[1, 1],
                           d[0, 1] / np.sqrt(c[0, 0] * c[1, 1])))
    rows = []
    z = stats.norm.ppf(0.975)
    for q, v in truth.items():
        ok = np.all(np.isfinite(v), axis=1)
        n = int(ok.sum())
        c = np.cov(v[ok].T)
        r = float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))
        sd_true = float(np.sqrt(c[0, 0] * c[1, 1]))
        se_true = (1 - r**2) / np.sqrt(n)
        e = np.asarray(est[q])
        m = e.mean(axis=0)
        se_est = e.std(axis=0, ddof=1) / np.sqrt(e.shape[0])
        # Monte Carlo SE of the true covariance: sd of the centred products / sqrt(n)
        d = v[ok] - v[ok].mean(axis=0)
        se_cov_true = float((d[:, 0] * d[:, 1]).std(ddof=1) / np.sqrt(n))
        f = np.arctanh(r)
        rows.append({
            "quantity": q, "true": r, "true_low": float(np.tanh(f - z / np.sqrt(n - 3))),
            "true_high": float(np.tanh(f + z / np.sqrt(n - 3))),
            "estimated": float(m[7]), "estimated_se": float(se_est[7]),
            "z": float((m[7] - r) / np.hypot(se_true, se_est[7])),
            "true_cov": float(c[0, 1]), "true_cov_se": se_cov_true,
            "estimated_cov": float(m[4]), "estimated_cov_se": float(se_est[4]),
            "z_cov": float((m[4] - c[0, 1]) / np.hypot(se_cov_true, se_est[4])),
            "variance_ratio": float(np.sqrt(m[2] * m[3]) / sd_true),
            "subsample_variance_ratio": float(np.sqrt(m[5] * m[6]) / sd_true),
            "implied": float(m[4] / sd_true), "implied_se": float(se_est[4] / sd_true),
            "bootstrap_estimated": float(m[0]), "bootstrap_estimated_se": float(se_est[0]),
            "bootstrap_estimated_cov": float(m[1]),
            "bootstrap_estimated_cov_se": float(se_est[1]),
            "bootstrap_z_cov": float((m[1] - c[0, 1]) / np.hypot(se_cov_true, se_est[1])),
            "bootstrap_implied": float(m[1] / sd_true),
            "n_shared": n_shared, "shared_melanoma": shared_melanoma, "n_truth": n,
            "n_datasets": int(e.shape[0]), "n_boot": n_boot, "keep": keep})
    return pd.DataFrame(rows)
