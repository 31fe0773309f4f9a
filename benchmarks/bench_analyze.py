"""Benchmark: ``crowd-disagreement analyze`` on a user-sized file, at its defaults.

Run by hand (not a test), from the repository root::

    .venv/bin/python benchmarks/bench_analyze.py [--units 2500] [--features 8]

Makes a synthetic user file with the project's generative model
(:mod:`analysis.studies.simulate`, seeded): ``--units`` units, each rated by 1 to 4 raters
(uniformly) drawn from a pool of 12 raters who are persons, on ``--features`` ordinal
features (0-4), about 30% positive; then runs ``crowd-disagreement analyze`` on it in a
fresh process at the default settings (100 CV repeats, 2000 bootstrap replicates, 2000
permutations, both estimators, all cores) and reports the wall time, the units kept and
the feature sets built. Writes ``benchmarks/results/bench_analyze.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.studies.simulate import SimParams, simulate  # noqa: E402


def make_user_file(folder: Path, n_units: int, n_features: int, seed: int = 2018,
                   pool: int = 12) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    feats = tuple(f"feature{i + 1}" for i in range(n_features))
    params = SimParams(feats, (0.0,) * n_features, (4.0,) * n_features,
                       tuple(rng.uniform(1.5, 2.5, n_features)),
                       tuple(rng.uniform(0.3, 0.8, n_features)), (0.3,) * n_features,
                       (0.9,) * n_features, (0.7,) * n_features, 1.0, 0.2, 0.3)
    sim = simulate(params, n_units, n_annotators=pool, rng=rng)
    rows = []
    for i in range(n_units):
        k = int(rng.integers(1, 5))
        for j in sorted(rng.choice(pool, size=k, replace=False)):
            for f in range(n_features):
                rows.append((f"u{i:05d}", f"reader{j + 1:02d}", feats[f], int(sim.scores[i, j, f])))
    ann = folder / "annotations.csv"
    lab = folder / "labels.csv"
    pd.DataFrame(rows, columns=["unit", "rater", "feature", "score"]).to_csv(ann, index=False)
    pd.DataFrame({"unit": [f"u{i:05d}" for i in range(n_units)], "label": sim.y}).to_csv(
        lab, index=False)
    return ann, lab


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=2500)
    ap.add_argument("--features", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ann, lab = make_user_file(tmp, args.units, args.features)
        out = tmp / "out"
        env = dict(os.environ, CROWD_DISAGREEMENT_NO_CACHE="1")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "analysis.cli", "analyze", "--annotations", str(ann),
                        "--labels", str(lab), "--out", str(out), "--quiet"], check=True,
                       cwd=ROOT, env=env)
        wall = time.perf_counter() - t0
        man = json.loads((out / "manifest.json").read_text())
    row = {"units": args.units, "features": args.features, "raters_per_unit": "1-4",
           "n_kept": man["design"]["n_units"], "n_excluded": man["design"]["n_excluded"],
           "feature_sets": " ".join(man["design"]["feature_sets"]),
           "wall_seconds": round(wall, 1), "cpus": os.cpu_count(),
           "machine": platform.processor() or platform.machine()}
    print(pd.Series(row).to_string())
    pd.DataFrame([row]).to_csv(ROOT / "benchmarks" / "results" / "bench_analyze.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
