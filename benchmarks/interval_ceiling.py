"""Coverage of the bootstrap-CV interval of a cvAUC near the ceiling, by scale.

The regime of group 7's strong feature sets: 18 positives and 78 negatives, one feature
whose population AUC is ``theta`` (equal-variance binormal). A one-feature logistic
model with a positive slope ranks test images by the feature itself, so each fold's
AUC is the feature's AUC on the test fold and no model needs fitting: the cvAUC, its
bootstrap-CV replicates (:func:`analysis.statistics.cvstats.bootstrap_cv_splits`, the review's
replicate design) and the interval (:func:`analysis.statistics.cvstats.bootstrap_cv_interval`)
are the package's own. The truth is ``theta`` (a fold AUC is an unbiased estimate of
the population AUC of a fixed score). For each scale the script counts how often the
interval lies wholly above the truth (misses from above) and wholly below it.

    python benchmarks/interval_ceiling.py [--datasets 2000] [--boot 200]

writes ``benchmarks/results/interval_ceiling.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.fitting import models
from analysis.statistics import cvstats

SCALES = ("identity", "logit", "asin")


def _fold_aucs(x: np.ndarray, y: np.ndarray, splits) -> np.ndarray:
    out = np.empty(len(splits))
    for i, s in enumerate(splits):
        yt, xt = y[s.test], x[s.test]
        out[i] = models.fold_auc(yt, xt)
    return out


def one_dataset(theta: float, seed: int, *, n_pos: int = 18, n_neg: int = 78,
                repeats: int = 10, n_boot: int = 200, n_splits: int = 10) -> dict:
    """cvAUC and its intervals on every scale for one simulated data set."""
    rng = np.random.default_rng([seed, 1])
    mu = np.sqrt(2.0) * stats.norm.ppf(theta)
    y = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
    x = np.r_[rng.standard_normal(n_pos) + mu, rng.standard_normal(n_neg)]
    splits = [models.Split(r, k, np.flatnonzero(f != k), np.flatnonzero(f == k))
              for r in range(repeats)
              for f in [models.stratified_fold_numbers(y, n_splits, seed * 1000 + r)]
              for k in range(n_splits)]
    est = float(np.nanmean(_fold_aucs(x, y, splits)))
    bsplits, _ = cvstats.bootstrap_cv_splits(y, n_boot=n_boot, n_repeats=1, n_splits=n_splits,
                                             seed=seed)
    fa = _fold_aucs(x, y, bsplits)
    reps = pd.Series(fa).groupby(np.arange(len(fa)) // n_splits).mean().to_numpy()
    row = {"seed": seed, "theta": theta, "estimate": est}
    for sc in SCALES:
        r = cvstats.bootstrap_cv_interval(est, reps, scale=sc)
        row[f"{sc}_low"], row[f"{sc}_high"] = r["low"], r["high"]
        row[f"{sc}_p"] = r["p"]
    return row


def coverage(theta: float, n_datasets: int, *, seed0: int = 0, **kw) -> tuple[pd.DataFrame,
                                                                               pd.DataFrame]:
    """Per data set rows and the coverage table (one row per scale)."""
    rows = pd.DataFrame([one_dataset(theta, seed0 + i, **kw) for i in range(n_datasets)])
    summ = []
    for sc in SCALES:
        above = (rows[f"{sc}_low"] > theta).mean()
        below = (rows[f"{sc}_high"] < theta).mean()
        summ.append({"theta": theta, "scale": sc, "n_datasets": n_datasets,
                     "n_boot": kw.get("n_boot", 200),
                     "miss_above": above, "miss_below": below, "coverage": 1 - above - below,
                     "mc_se": float(np.sqrt(0.025 * 0.975 / n_datasets)),
                     "mean_width": float((rows[f"{sc}_high"] - rows[f"{sc}_low"]).mean()),
                     "mean_low": float(rows[f"{sc}_low"].mean())})
    return rows, pd.DataFrame(summ)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=2000)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--theta", type=float, nargs="+", default=[0.95, 0.85, 0.75])
    a = ap.parse_args()
    out = []
    for th in a.theta:
        _, s = coverage(th, a.datasets, n_boot=a.boot, seed0=10_000)
        print(s.to_string(index=False), flush=True)
        out.append(s)
    path = Path(__file__).parent / "results" / "interval_ceiling.csv"
    pd.concat(out).to_csv(path, index=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
