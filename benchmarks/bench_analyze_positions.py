"""Benchmark: ``analyze --raters positions --min-raters 4`` at its defaults on a data set
shaped like a four-reader lung-nodule set, with the time of each stage.

Run by hand (not a test), from the repository root::

    .venv/bin/python benchmarks/bench_analyze_positions.py [--units 1000] [--repo PATH]

Builds the data set with the project's generative model (``positions_data.py``:
``--units`` nodules, 8 ordinal characteristics, one to four readers per nodule as
positions, prevalence 0.3), writes it as CSV, and runs ``crowd-disagreement analyze
--raters positions --min-raters 4`` on it in a fresh process at the default counts
(100 CV repeats, 2000 bootstrap-CV replicates, 2000 permutations, the annotator curve,
all cores), with the cache off. Records the wall time, the stage times of the manifest
(``stage_seconds``; absent before they were recorded), the stage lines ``analyze``
printed, and the machine's load average (``os.getloadavg``) before, during (sampled
every 5 s) and after the run: the machine is shared, and a loaded machine runs slower.

``--repo PATH`` runs another checkout's ``analyze`` on the same file (e.g. an older
commit, to compare); ``--tag`` names the row. Appends a row per stage to
``benchmarks/results/bench_analyze_positions.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from positions_data import make_positions_file  # noqa: E402

RESULT = ROOT / "benchmarks" / "results" / "bench_analyze_positions.csv"
LIMIT_SECONDS = 300


class LoadSampler:
    """The 1-minute load average every ``every`` seconds while a run lasts."""

    def __init__(self, every: float = 5.0):
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--repo", type=Path, default=ROOT, help="checkout whose analyze runs")
    ap.add_argument("--tag", default="this version")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ann, lab = make_positions_file(tmp, args.units)
        out = tmp / "out"
        env = dict(os.environ, CROWD_DISAGREEMENT_NO_CACHE="1", PYTHONPATH=str(args.repo))
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        with LoadSampler() as sampler:
            run = subprocess.run(
                [sys.executable, "-m", "analysis.cli", "analyze", "--annotations", str(ann),
                 "--labels", str(lab), "--raters", "positions", "--min-raters", "4",
                 "--out", str(out)],
                cwd=args.repo, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        load_after = os.getloadavg()
        if run.returncode != 0:
            print(run.stdout, run.stderr, sep="\n", file=sys.stderr)
            return run.returncode
        man = json.loads((out / "manifest.json").read_text())
    stage_lines = [line for line in run.stderr.splitlines() if line.startswith("analyze: ")]
    print("\n".join(stage_lines))
    stages = man.get("stage_seconds") or {}
    common = {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "version": args.tag, "units": args.units, "n_kept": man["design"]["n_units"],
        "n_positive": man["design"]["n_positive"],
        "feature_sets": len(man["design"]["feature_sets"]),
        "load_before": round(load_before[0], 2),
        "load_during_mean": round(sum(sampler.samples) / len(sampler.samples), 2),
        "load_during_max": round(max(sampler.samples), 2),
        "load_after": round(load_after[0], 2), "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    rows = [{**common, "stage": k, "seconds": v} for k, v in stages.items()]
    rows.append({**common, "stage": "whole run (wall, fresh process)", "seconds": round(wall, 1)})
    table = pd.DataFrame(rows)
    print(table[["stage", "seconds"]].to_string(index=False))
    print(pd.Series(common).to_string())
    verdict = "within" if wall <= LIMIT_SECONDS else "OVER"
    print(f"{verdict} {LIMIT_SECONDS} s: {wall:.1f} s on {os.cpu_count()} cores, load average "
          f"{common['load_during_mean']} (mean during the run)")
    if not args.no_write:
        old = pd.read_csv(RESULT) if RESULT.exists() else pd.DataFrame()
        pd.concat([old, table], ignore_index=True).to_csv(RESULT, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
