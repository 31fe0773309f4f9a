"""The simulation at full size: calibration of the model to group 7, coverage of the
cvAUC intervals and level of the permutation test (200 data sets per model), power.

Run by hand (not a test), from the repository root::

    export CROWD_DISAGREEMENT_DATA=/path/to/enhance
    .venv/bin/python benchmarks/simulation_full.py [n_jobs] [output prefix]

Prints the calibration, the tidy coverage table, the per-model summary, the power table
and the coverage sentence; writes ``<prefix>_coverage.csv``, ``_studies.csv``,
``_power.csv`` and ``_params.csv`` (default prefix ``simulation_full``).
"""

import sys
import time

import pandas as pd

from analysis.presentation import prose
from analysis.studies import reproduce
from analysis.studies import simulate as sm

pd.set_option("display.width", 250)
pd.set_option("display.max_columns", 40)
nj = int(sys.argv[1]) if len(sys.argv) > 1 else 2
out = sys.argv[2] if len(sys.argv) > 2 else "simulation_full"
d = reproduce.load_group()
t0 = time.perf_counter()
cp = sm.calibrate_to_group(d, n_jobs=nj)
t1 = time.perf_counter()
print(f"calibrate_to_group {t1 - t0:.1f} s: lambda={cp.shrinkage:.4f} target={cp.target_cv_auc:.4f} "
      f"model={cp.model_cv_auc:.4f} (MC se {cp.model_cv_auc_se:.4f}); mu1 "
      f"{sm.fit_to_group(d).mu1:.3f} -> {cp.mu1:.3f}", flush=True)
cal = sm.calibration(cp, design=d, n_datasets=200, n_jobs=nj)
t2 = time.perf_counter()
print(f"calibration (200 per model) {t2 - t1:.1f} s", flush=True)
pw = sm.power(cp, n_jobs=nj)
t3 = time.perf_counter()
print(f"power {t3 - t2:.1f} s; total {t3 - t0:.1f} s", flush=True)
print(cal.coverage.round(4).to_string())
print(cal.summary.T.to_string())
print(pw.summary.round(3).to_string())
print(prose.coverage_sentence(cal))
print(prose.power_sentence(pw.summary))
cal.coverage.to_csv(f"{out}_coverage.csv", index=False)
cal.studies.to_csv(f"{out}_studies.csv", index=False)
pw.summary.to_csv(f"{out}_power.csv", index=False)
cp.tidy().to_csv(f"{out}_params.csv", index=False)
