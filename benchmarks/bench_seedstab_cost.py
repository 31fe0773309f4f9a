"""Cost of issue 20's items 4 and 5 at full settings, side by side in one run.

1. ``review.permutation_tests`` on group 7 (seed 2018, 100 CV repeats, the REVIEW budget)
   with the old rule (observed statistic over ``perm_repeats`` fold assignments, fixed
   1000 permutations: ``observed_repeats=perm_repeats, perm_extension=1``) and the new
   one (defaults: all 100 assignments, sequential extension).
2. The report's simulation (SIMULATION budget): ``calibrate_to_group`` + ``calibration``
   without and with the strong-signal scenario (``calibrate_mean`` + ``strong=``).

Usage: ``nice .venv/bin/python benchmarks/bench_seedstab_cost.py --n-jobs 2``; writes
``results/bench_seedstab_cost.csv``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from analysis.base import budgets
from analysis.studies import reproduce, review
from analysis.studies import simulate as sim


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "bench_seedstab_cost.csv")
    a = ap.parse_args(argv)
    design = reproduce.load_group()
    b, sb = budgets.REVIEW, budgets.SIMULATION
    exp = reproduce.run_experiments(design, repeats=b.repeats, experiments=(2,),
                                    feature_sets=list(review.PERMUTATION_SETS),
                                    n_jobs=a.n_jobs, quiet=True)
    rows = []
    for name, kw in (("permutation tests, old rule", dict(observed_repeats=b.perm_repeats,
                                                          perm_extension=1)),
                     ("permutation tests, new rule", {})):
        t0 = time.perf_counter()
        review.permutation_tests(design, exp, n_jobs=a.n_jobs, quiet=True, **kw)
        rows.append({"step": name, "seconds": time.perf_counter() - t0})
        print(rows[-1], flush=True)
    for name, strong in (("simulation without strong scenario", False),
                         ("simulation with strong scenario", True)):
        t0 = time.perf_counter()
        params = sim.calibrate_to_group(design, n_jobs=a.n_jobs, n_studies=sb.calibration_studies)
        extra = {}
        if strong:
            s, info = sim.calibrate_mean(design, params, n_jobs=a.n_jobs,
                                         n_studies=sb.calibration_studies)
            extra = {"strong": s, "strong_info": info}
        sim.calibration(params, design=design, n_jobs=a.n_jobs,
                        n_datasets=sb.calibration_datasets, n_permutations=sb.n_permutations,
                        **extra)
        rows.append({"step": name, "seconds": time.perf_counter() - t0})
        print(rows[-1], flush=True)
    out = pd.DataFrame(rows)
    out.to_csv(a.out, index=False)
    print(out.to_string(index=False))


if __name__ == "__main__":
    main()
