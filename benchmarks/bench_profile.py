"""Benchmark: the fitted models' profile intervals, the previous search against this one,
side by side in one run.

Run by hand (not a test), from the repository root::

    .venv/bin/python benchmarks/bench_profile.py [--units 2600] [--no-group7]

For each full-data model the review fits (:func:`analysis.statistics.coefficients.fit_model`, both
estimators, profile intervals), the model is fitted twice in the same process, one
right after the other: ``old`` with the profile search, constrained fits and penalised
likelihood-ratio tests of the frozen reference (``tests/reference_profile.py``, the code
before the warm-started search) patched in, ``new`` as the package has it. Reported:
seconds of each, their ratio, and the largest difference of the interval ends and
p-values between the two (NaN patterns must agree). One BLAS thread, as
:func:`analysis.statistics.coefficients.fit_models` runs them.

Designs: the lung-nodule-shaped data set of ``positions_data.py`` (``--units`` nodules,
1-4 readers as positions, ``--min-raters 4``: with 2600 nodules about 640 are kept, the
size of the issue's data set), its models mean, sd, mean+sd and moments_all (8, 8, 16
and 32 predictors); and group 7 of the paper (96 images, 18 melanomas) where the data
are available. Writes ``benchmarks/results/bench_profile.csv`` (or ``--out``) with the
load average before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from positions_data import make_positions_file  # noqa: E402

from analysis.design import dataset  # noqa: E402
from analysis.fitting.engine import _blas_controller  # noqa: E402
from analysis.statistics import coefficients as C  # noqa: E402
from tests import reference_profile as R  # noqa: E402

SETS = ("mean", "sd", "mean+sd", "moments_all")
RESULT = ROOT / "benchmarks" / "results" / "bench_profile.csv"


def old_path():
    """Patches that put the reference search and fits in place of the package's."""
    stack = ExitStack()
    for name in ("profile_ci_mle", "profile_ci_firth", "firth_plr_pvalues",
                 "firth_constrained"):
        stack.enter_context(mock.patch.object(C, name, getattr(R, name)))
    return stack


def time_model(design, fs, est):
    frame = C.model_frame(design, fs)
    cols = design.columns(fs)
    out = {}
    for path in ("old", "new"):
        with old_path() if path == "old" else ExitStack():
            t0 = time.perf_counter()
            tidy, glance = C.fit_model(frame, cols, est, feature_set=fs, ci="profile")
            out[path] = (time.perf_counter() - t0, tidy, glance)
    (t_old, a, _), (t_new, b, g) = out["old"], out["new"]
    ends = ["conf_low", "conf_high"]
    ea, eb = a[ends].to_numpy(float), b[ends].to_numpy(float)
    fin = np.isfinite(ea) & np.isfinite(eb)
    return {"feature_set": fs, "estimator": est, "terms": len(cols) + 1, "n": g["n"],
            "events": g["events"], "old_seconds": round(t_old, 3),
            "new_seconds": round(t_new, 3), "ratio": round(t_old / t_new, 1),
            "max_end_diff": float(np.max(np.abs(ea[fin] - eb[fin]))) if fin.any() else 0.0,
            "max_p_diff": float(np.nanmax(np.abs(a["p_value"].to_numpy(float)
                                                 - b["p_value"].to_numpy(float))))
            if np.isfinite(a["p_value"].to_numpy(float)).any() else 0.0,
            "nan_pattern_equal": bool(np.array_equal(np.isnan(ea), np.isnan(eb))),
            "note": g["note"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=2600)
    ap.add_argument("--no-group7", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args()
    designs = []
    with tempfile.TemporaryDirectory() as tmp:
        ann, lab = make_positions_file(Path(tmp), args.units)
        designs.append((f"nodules ({args.units} units, positions, min 4 raters)",
                        dataset.load(ann, lab, raters="positions", min_raters=4)))
    if not args.no_group7:
        try:
            from analysis.studies import reproduce

            designs.append(("group 7", reproduce.load_group()))
        except Exception as err:  # no data here: say so, run the rest
            print(f"group 7 skipped: {err}", file=sys.stderr)
    load_before = os.getloadavg()[0]
    rows = []
    with _blas_controller().limit(limits=1, user_api="blas"):
        for name, design in designs:
            sets = [fs for fs in SETS if fs in set(design.sets["feature_set"])]
            if name == "group 7":
                sets += ["asymmetry", "border", "color", "dermoscopic_structures", "blue_glow"]
            for fs in sets:
                for est in ("mle", "firth"):
                    row = {"design": name, **time_model(design, fs, est)}
                    print(row, flush=True)
                    rows.append(row)
    table = pd.DataFrame(rows)
    stamp = {"date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
             "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
             "cpus": os.cpu_count()}
    table = table.assign(**stamp)
    totals = table.groupby("design")[["old_seconds", "new_seconds"]].sum()
    print(table[["design", "feature_set", "estimator", "terms", "old_seconds", "new_seconds",
                 "ratio", "max_end_diff", "nan_pattern_equal"]].to_string(index=False))
    print(totals.assign(ratio=(totals["old_seconds"] / totals["new_seconds"]).round(1)))
    print(stamp)
    if not args.no_write:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
