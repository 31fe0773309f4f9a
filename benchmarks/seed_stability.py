"""C5's verdict under many master seeds (issue 20, item 4).

For each master seed (2018 and the ``--n-seeds`` following ones) and each of C5's parts
(C5a ``sd``, C5b ``skewness``) under both estimators, this computes only what C5 needs:

* the permutation null: ``--permutations`` label permutations, each with
  ``--perm-repeats`` fold assignments of its own (:func:`analysis.statistics.cvstats.permutation_null`,
  as the review draws it under that master seed);
* the observed statistic under two settings, both against that null:
  ``old`` -- the mean fold AUC over the first ``--perm-repeats`` fold assignments (the
  review before issue 20), ``new`` -- over the review's ``--repeats`` fold assignments
  (the cvAUC shown beside the test, :func:`analysis.studies.review.permutation_tests` now);
* the bootstrap-CV interval (``--n-boot`` replicates) whose upper end decides "not
  supported" (:func:`analysis.statistics.cvinference.verdict_better_than_random`);
* with ``--sequential``, the setting ``sequential``: the ``new`` statistic against a
  null extended as :func:`analysis.studies.review.permutation_tests` extends it.

Each row is one (seed, set, estimator, setting); the part's verdict combines the two
estimators as the review does (:func:`analysis.studies.review.combine_estimators`), the claim's
from its two parts (:func:`analysis.studies.review.claim_verdict`). The summary printed at the
end (and ``seed_stability_summary.csv``, :func:`analysis.studies.review.c5_seed_summary`; the
report reads it) gives, per setting, the share of seeds whose verdict equals the most
common one and the range of the p-value. ``--summarise`` rebuilds the summary from a
stored ``seed_stability.csv`` without computing anything.

Usage (the stored result: 21 seeds, 1000 permutations x 10 fold assignments, 100
observed fold assignments, 200 bootstrap-CV replicates; about 15 minutes of CPU)::

    nice .venv/bin/python benchmarks/seed_stability.py --n-jobs 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.base import budgets
from analysis.statistics import cvinference, cvstats
from analysis.studies import reproduce, review

OUT = Path(__file__).parent / "results"


def run(seeds, *, n_permutations, perm_repeats, repeats, n_boot, n_jobs, quiet=False):
    design = reproduce.load_group()
    y = design.labels
    rows = []
    for s in seeds:
        t0 = time.perf_counter()
        boot = review.cv_bootstrap(design, ["sd", "skewness"], ("mle", "firth"), n_boot=n_boot,
                                   seed=s, n_jobs=n_jobs)
        for fs in ("sd", "skewness"):
            X = design.matrix(fs)
            for est in ("mle", "firth"):
                null, _ = cvstats.permutation_null(X, y, n_permutations=n_permutations, seed=s,
                                                   n_repeats=perm_repeats, estimator=est,
                                                   n_jobs=n_jobs)
                obs_new = cvstats.observed_statistic(X, y, seed=s, estimator=est,
                                                     n_repeats=repeats, n_jobs=n_jobs)
                obs_old = cvstats.observed_statistic(X, y, seed=s, estimator=est,
                                                     n_repeats=perm_repeats, n_jobs=n_jobs)
                ci = cvinference.cv_auc_interval(obs_new, review._replicates(boot, fs, est))
                for setting, obs in (("old", obs_old), ("new", obs_new)):
                    p = cvinference.permutation_test(obs, null).pvalue
                    rows.append({
                        "seed": s, "feature_set": fs, "estimator": est, "setting": setting,
                        "observed_repeats": perm_repeats if setting == "old" else repeats,
                        "null_repeats": perm_repeats, "n_permutations": n_permutations,
                        "observed_auc": obs, "p_value": p, "null_q95": np.quantile(null, 0.95),
                        "ci_low": ci.low, "ci_high": ci.high, "n_boot": ci.n_boot,
                        "verdict": cvinference.verdict_better_than_random(p, ci.high),
                    })
        if not quiet:
            print(f"seed {s}: {time.perf_counter() - t0:.1f} s", flush=True)
    return pd.DataFrame(rows)


def sequential(rows: pd.DataFrame, *, perm_extension: int, n_jobs: int, quiet=False):
    """Setting ``sequential``: the ``new`` observed statistic against a null extended by
    :func:`analysis.studies.review.permutation_tests`' rule (``n_permutations`` more at a time
    while :func:`analysis.studies.review.permutation_decided` is false, at most
    ``perm_extension x n_permutations``). Its first stage is the stored ``new`` null: a
    row decided there is the ``new`` row unchanged (the p-value counts say so, nothing is
    recomputed); the others recompute their null and extend it."""
    design = reproduce.load_group()
    y = design.labels
    out = []
    new = rows[rows["setting"] == "new"]
    for r in new.itertuples(index=False):
        row = r._asdict()
        b = int(row["n_permutations"])
        k = int(round(row["p_value"] * (b + 1) - 1))
        obs = row["observed_auc"]
        stub = np.r_[np.full(k, obs + 1.0), np.full(b - k, obs - 1.0)]  # the null's counts
        if review.permutation_decided(row["observed_auc"], stub):
            out.append({**row, "setting": "sequential", "n_permutations_used": b})
            continue
        t0 = time.perf_counter()
        X = design.matrix(row["feature_set"])
        kw = dict(seed=int(row["seed"]), n_repeats=int(row["null_repeats"]),
                  estimator=row["estimator"], n_jobs=n_jobs)
        null, _ = cvstats.permutation_null(X, y, n_permutations=b, **kw)
        while len(null) < b * perm_extension and not review.permutation_decided(
                row["observed_auc"], null):
            more, _ = cvstats.permutation_null(X, y, n_permutations=len(null) + b,
                                               start=len(null), **kw)
            null = np.append(null, more)
        p = cvinference.permutation_test(row["observed_auc"], null).pvalue
        out.append({**row, "setting": "sequential", "p_value": p,
                    "null_q95": np.quantile(null, 0.95), "n_permutations_used": len(null),
                    "verdict": cvinference.verdict_better_than_random(p, row["ci_high"])})
        if not quiet:
            print(f"seed {row['seed']} {row['feature_set']} {row['estimator']}: "
                  f"{len(null)} permutations, p {p:.4f} ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
    return pd.DataFrame(out)


def main(argv=None):
    b = budgets.REVIEW
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first-seed", type=int, default=2018)
    ap.add_argument("--n-seeds", type=int, default=20, help="seeds after the first")
    ap.add_argument("--permutations", type=int, default=b.n_permutations)
    ap.add_argument("--perm-repeats", type=int, default=b.perm_repeats)
    ap.add_argument("--repeats", type=int, default=b.repeats)
    ap.add_argument("--n-boot", type=int, default=b.n_boot)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT / "seed_stability.csv")
    ap.add_argument("--summarise", action="store_true",
                    help="only rebuild the summary from the stored rows")
    ap.add_argument("--sequential", action="store_true",
                    help="add the setting 'sequential' to the stored rows (the review's "
                         "rule: more permutations while the decision is open)")
    ap.add_argument("--perm-extension", type=int, default=b.perm_extension)
    a = ap.parse_args(argv)
    if a.sequential:
        rows = pd.read_csv(a.out)
        rows = rows[rows["setting"] != "sequential"]
        seq = sequential(rows, perm_extension=a.perm_extension, n_jobs=a.n_jobs)
        rows = pd.concat([rows, seq], ignore_index=True)
        rows.to_csv(a.out, index=False)
        a.summarise = True
    if a.summarise:
        s = review.c5_seed_summary(pd.read_csv(a.out))
        s.to_csv(a.out.with_name(a.out.stem + "_summary.csv"), index=False)
        print(s.to_string(index=False))
        return
    seeds = range(a.first_seed, a.first_seed + a.n_seeds + 1)
    t0 = time.perf_counter()
    rows = run(seeds, n_permutations=a.permutations, perm_repeats=a.perm_repeats,
               repeats=a.repeats, n_boot=a.n_boot, n_jobs=a.n_jobs)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(a.out, index=False)
    s = review.c5_seed_summary(rows)
    s.to_csv(a.out.with_name(a.out.stem + "_summary.csv"), index=False)
    pd.set_option("display.width", 200)
    print(s.to_string(index=False))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
