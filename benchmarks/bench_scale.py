"""Benchmark: the cost curve of the review from 10^2 to 10^5 units, per stage.

Run by hand (not a test), from the repository root::

    .venv/bin/python benchmarks/bench_scale.py                       # 1e2, 1e3, 1e4, 1e5
    .venv/bin/python benchmarks/bench_scale.py --sizes 100 1000 10000  # a quicker curve
    .venv/bin/python benchmarks/bench_scale.py --timeout 3600         # per size, seconds

Data: the project's generative model (:mod:`analysis.studies.simulate`, seeded): ``n`` units,
every unit rated by the same 5 raters (persons) on 10 ordinal features (0-4), 30%
positive; the long table (``unit, rater, feature, score``) goes through
:func:`analysis.design.dataset.load` as a user's file would.

Each size runs in a fresh process (so that its peak memory is its own), which runs the
stages of :func:`analysis.studies.review.review` one by one, with the same arguments and in the
same order as ``review`` (and so ``analyze``), and records for each stage the wall
time, the CPU time of the process, and the peak resident memory (RSS of the process
and its worker processes, sampled every 20 ms) during the stage. The resampling counts
are reduced (``--repeats 2 --boot 5 --permutations 19 --perm-repeats 2 --seeds 0`` by
default): every stage runs, and the cost of each stage is proportional to these counts,
so the exponent in ``n`` is what the curve measures. The calibration stage runs with
the review's fixed 1000 bootstrap resamples.

Stages (as ``review`` calls them):

* ``design``: ``dataset.load`` of the long table (validation, moments, feature sets);
* ``cross_validation``: ``reproduce.run_experiments`` (experiments 1-3, both estimators);
* ``bootstrap_cv``: ``review.cv_bootstrap`` and ``review.auc_intervals``;
* ``permutation``: ``review.permutation_tests``;
* ``comparisons``: ``review.comparisons`` (bootstrap-CV z tests, LRT, penalised LRT);
* ``agreement``: ``review.agreement_tables`` (ICC, Krippendorff's alpha);
* ``moment_tests``: ``review.moment_tests`` (Mann-Whitney, DeLong);
* ``fold_variability``: ``review.fold_variability``;
* ``calibration``: ``review.oof_probabilities`` and ``calibration.calibration_by_group``;
* ``claims``: the ``Review`` assembled and its claims, parts and tests tables;
* ``models``: ``review.fitted_models`` (coefficients; profile, Wald or no intervals by
  ``coefficients.interval_method``), run last: the other stages are recorded even when
  it does not finish within the timeout (its row then says so).

``--only STAGE ...`` runs only those stages (with ``design`` and, where a stage needs
the folds, ``cross_validation`` before them, recorded too): a size can be measured
stage by stage in separate processes, and the rows merged with ``--combine``.

Output: ``benchmarks/results/scale.csv`` (one row per size and stage, plus a ``total``
row per size), and the log-log exponent of the wall time of each stage, fitted by least
squares over the sizes run (``exponent``) and between the two largest sizes
(``exponent_last``), printed and written to ``benchmarks/results/scale_exponents.csv``.
A size that does not finish within ``--timeout`` is recorded with the stage it was in.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
N_RATERS = 5
N_FEATURES = 10
STAGES = ("design", "cross_validation", "bootstrap_cv", "permutation", "comparisons",
          "agreement", "moment_tests", "fold_variability", "calibration", "claims", "models")


def make_tables(n_units: int, seed: int = 2018) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long annotations and labels of ``n_units`` simulated units (5 raters, 10 features)."""
    from analysis.studies.simulate import SimParams, simulate

    rng = np.random.default_rng(seed)
    F = N_FEATURES
    feats = tuple(f"feature{i + 1:02d}" for i in range(F))
    params = SimParams(feats, (0.0,) * F, (4.0,) * F, tuple(rng.uniform(1.5, 2.5, F)),
                       tuple(rng.uniform(0.3, 0.8, F)), (0.3,) * F, (0.9,) * F, (0.7,) * F,
                       1.0, 0.2, 0.3)
    sim = simulate(params, n_units, n_annotators=N_RATERS, rng=rng)
    n, J, _ = sim.scores.shape
    idx = np.indices(sim.scores.shape).reshape(3, -1)
    units = np.array([f"u{i:06d}" for i in range(n)])
    ann = pd.DataFrame({"unit": units[idx[0]],
                        "rater": np.array([f"reader{j + 1}" for j in range(J)])[idx[1]],
                        "feature": np.asarray(feats)[idx[2]],
                        "score": sim.scores.reshape(-1).astype(int)})
    lab = pd.DataFrame({"unit": units, "label": sim.y})
    return ann, lab


class Sampler:
    """Peak RSS of this process and its children, sampled in a thread."""

    def __init__(self, interval: float = 0.02):
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def rss(self) -> int:
        total = self.proc.memory_info().rss
        for c in self.proc.children(recursive=True):
            try:
                total += c.memory_info().rss
            except Exception:  # a worker that just exited
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.rss())
            except Exception:
                pass
            time.sleep(self.interval)

    def reset(self) -> int:
        now = self.rss()
        self.peak = now
        return now

    def stop(self):
        self._stop.set()
        self._t.join()


def run_one(n_units: int, args, progress_file: Path, rows_file: Path) -> list[dict]:
    """All stages at one size, in this process; returns one row per stage."""
    from analysis.base import seeds
    from analysis.design import dataset
    from analysis.statistics import calibration, cvinference
    from analysis.studies import reproduce, review

    data = [make_tables(n_units)]  # popped by the design stage (memory)
    sampler = Sampler()
    rows = []
    design_n = [n_units, 0]
    seed, n_jobs = args.seed, args.jobs

    only = set(args.only or STAGES)
    needs_cv = only - {"design", "agreement", "moment_tests", "models"}
    if args.only and "claims" in only and only != set(STAGES):
        raise SystemExit("claims needs every stage before it; run it without --only")

    def skip(name):
        return name not in only and not (name == "cross_validation" and needs_cv)

    def stage(name, fn):
        if skip(name):
            return None
        progress_file.write_text(name)
        base = sampler.reset()
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        rows.append({"units": n_units, "stage": name, "wall_s": wall, "cpu_s": cpu,
                     "peak_rss_mib": sampler.peak / 2**20,
                     "stage_rss_mib": (sampler.peak - base) / 2**20,
                     "n_kept": design_n[0], "feature_sets": design_n[1]})
        with open(rows_file, "a") as fh:  # one line per stage: kept if a later one times out
            fh.write(json.dumps(rows[-1]) + "\n")
        print(f"  {n_units:>7} {name:<17} {wall:9.2f} s  peak {sampler.peak / 2**20:8.0f} MiB",
              flush=True)
        return out

    only.add("design")
    design = stage("design", lambda: dataset.load(*data.pop(), raters="persons"))
    design_n[0] = design.n_images
    k = cvinference.fold_count(design.labels).n_splits
    exp = stage("cross_validation", lambda: reproduce.run_experiments(
        design, repeats=args.repeats, seed=seed, experiments=(1, 2, 3), n_splits=k,
        n_jobs=n_jobs, quiet=True))
    if exp is not None:
        sets = list(dict.fromkeys(exp.folds["feature_set"]))
        estimators = exp.estimators
    else:  # the feature sets experiments 1-3 cross-validate, without running them
        sets = list(design.sets["feature_set"])
        estimators = ("mle", "firth")
    design_n[1] = len(sets)

    def boot():
        b = review.cv_bootstrap(design, sets, exp.estimators, n_boot=args.boot, seed=seed,
                                n_splits=k, n_jobs=n_jobs, quiet=True)
        return b, review.auc_intervals(exp, b)

    bt, auc_ci = stage("bootstrap_cv", boot) or (None, None)
    perm_sets = tuple(m for m in review.PERMUTATION_SETS if m in sets)
    perm = stage("permutation", lambda: review.permutation_tests(
        design, exp, n_permutations=args.permutations, seed=seed, sets=perm_sets,
        n_repeats=args.perm_repeats, n_seeds=args.seeds, n_splits=k, n_jobs=n_jobs, quiet=True))
    cmp_ = stage("comparisons", lambda: review.comparisons(design, exp, bt))
    icc, ka = stage("agreement", lambda: review.agreement_tables(design)) or (None, None)
    mt = stage("moment_tests", lambda: review.moment_tests(design))
    fv = stage("fold_variability", lambda: review.fold_variability(exp, seed=seed))
    def cal():
        probs = review.oof_probabilities(exp)
        return calibration.calibration_by_group(probs, ["feature_set", "estimator"],
                                                n_boot=review.BUDGET.calibration_boot,
                                                rng=seeds.rng("calibration_bootstrap", seed))

    cl = stage("calibration", cal)

    def claims():
        settings = {"seed": seed, "repeats": exp.repeats, "n_splits": k, "n_boot": args.boot,
                    "boot_cv_repeats": review.BOOT_CV_REPEATS,
                    "n_permutations": args.permutations, "perm_cv_repeats": args.perm_repeats,
                    "n_seeds": args.seeds, "estimators": list(exp.estimators),
                    "margin": review.MARGIN, "good_auc": review.GOOD_AUC}
        # the fitted models' tables are filled in by the last stage (they enter the
        # review's output as they are; no claim depends on them)
        rv = review.Review(design, exp, auc_ci, perm, cmp_, icc, ka, mt, fv, bt, settings, 0.0,
                           [], pd.DataFrame(), pd.DataFrame(), cl)
        return {k_: len(v) for k_, v in rv.tables().items()}

    tables = stage("claims", claims)
    if tables is not None:
        print(f"  {n_units:>7} tables: {tables}", flush=True)
    # last: the others are recorded even when it does not finish within the timeout
    fitted = stage("models", lambda: review.fitted_models(design, sets, estimators))
    if fitted is not None:
        print(f"  {n_units:>7} intervals: "
              f"{fitted[0].groupby('conf_method').size().to_dict()}", flush=True)
    sampler.stop()
    return rows


def models_probe(sizes, sets=("mean", "sd"), out: Path | None = None) -> pd.DataFrame:
    """Seconds of ``coefficients.fit_models`` per (feature set, estimator) at each size.

    The whole ``models`` stage (mean, sd, mean+sd, moments_all; 11 to 41 coefficients,
    profile intervals of every one, Firth's with random restarts) does not finish in
    the time of a run at 10^4 units; this times its two 11-coefficient models alone, in
    this process, to give the stage's exponent in ``n``.
    """
    from analysis.design import dataset
    from analysis.statistics import coefficients

    rows = []
    for n in sizes:
        design = dataset.load(*make_tables(n), raters="persons")
        for fs in sets:
            for est in ("mle", "firth"):
                t0 = time.perf_counter()
                coefficients.fit_models(design, feature_sets=[fs], estimators=(est,))
                wall = time.perf_counter() - t0
                rows.append({"units": n, "feature_set": fs, "estimator": est,
                             "n_coefficients": len(design.columns(fs)) + 1,
                             "wall_s": round(wall, 2)})
                print(f"  models {n:>7} {fs:<5} {est:<5} {wall:8.2f} s", flush=True)
                if out is not None:
                    pd.DataFrame(rows).to_csv(out, index=False)
    return pd.DataFrame(rows)


def fit_exponents(df: pd.DataFrame) -> pd.DataFrame:
    """Least-squares slope of log(wall) on log(units) per stage (and between the two
    largest sizes)."""
    out = []
    for st, g in df[df["status"] == "ok"].groupby("stage", sort=False):
        g = g.sort_values("units")
        x, y = np.log10(g["units"].to_numpy(float)), np.log10(g["wall_s"].clip(lower=1e-4))
        slope = float(np.polyfit(x, y, 1)[0]) if len(g) >= 2 else np.nan
        last = float((y.iloc[-1] - y.iloc[-2]) / (x[-1] - x[-2])) if len(g) >= 2 else np.nan
        mem = g["stage_rss_mib"].fillna(0).to_numpy()
        yc = np.log10(g["cpu_s"].clip(lower=1e-4))
        cpu_last = float((yc.iloc[-1] - yc.iloc[-2]) / (x[-1] - x[-2])) if len(g) >= 2 else np.nan
        out.append({"stage": st, "sizes": " ".join(str(int(u)) for u in g["units"]),
                    "exponent": round(slope, 2), "exponent_last": round(last, 2),
                    "exponent_cpu_last": round(cpu_last, 2),
                    "wall_s_largest": round(float(g["wall_s"].iloc[-1]), 2),
                    "peak_rss_mib_largest": round(float(g["peak_rss_mib"].iloc[-1])),
                    "stage_rss_mib_largest": round(float(mem[-1]))})
    return pd.DataFrame(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--boot", type=int, default=5)
    ap.add_argument("--permutations", type=int, default=19)
    ap.add_argument("--perm-repeats", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=0)
    ap.add_argument("--seed", type=int, default=2018)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per size")
    ap.add_argument("--out", default=str(RESULTS / "scale.csv"))
    ap.add_argument("--only", nargs="+", choices=STAGES, metavar="STAGE",
                    help="run only these stages (and design/cross_validation before them)")
    ap.add_argument("--models-probe", type=int, nargs="+", metavar="N",
                    help="only time fit_models of the mean and sd sets at these sizes "
                         "(writes results/scale_models.csv)")
    ap.add_argument("--combine", nargs="+", metavar="CSV[:STAGE,...]",
                    help="only merge the rows of earlier runs' CSV files into --out, fit "
                         "the exponents and print the README table; a row of a later file "
                         "replaces the same (units, stage) of an earlier one; CSV:a,b takes "
                         "only stages a and b of that file")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: one size
    ap.add_argument("--json", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.combine:
        df = combine(args.combine)
        df.to_csv(args.out, index=False)
        report(df, args.out)
        print(markdown(df))
        return 0
    if args.models_probe:
        models_probe(args.models_probe, out=RESULTS / "scale_models.csv")
        return 0
    if args.one is not None:
        run_one(args.one, args, Path(args.json + ".stage"), Path(args.json + ".rows"))
        return 0

    import tempfile

    settings = (f"repeats={args.repeats} n_boot={args.boot} permutations={args.permutations} "
                f"perm_repeats={args.perm_repeats} seeds={args.seeds} jobs={args.jobs}")
    print(f"settings: {settings}")
    all_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            js = Path(tmp) / f"{n}.json"
            cmd = [sys.executable, __file__, "--one", str(n), "--json", str(js),
                   "--repeats", str(args.repeats), "--boot", str(args.boot),
                   "--permutations", str(args.permutations),
                   "--perm-repeats", str(args.perm_repeats), "--seeds", str(args.seeds),
                   "--seed", str(args.seed), "--jobs", str(args.jobs)]
            if args.only:
                cmd += ["--only", *args.only]
            env = dict(os.environ, CROWD_DISAGREEMENT_NO_CACHE="1")
            t0 = time.perf_counter()
            status = "ok"
            try:
                subprocess.run(cmd, check=True, cwd=ROOT, env=env, timeout=args.timeout)
            except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as err:
                status = ("timeout" if isinstance(err, subprocess.TimeoutExpired)
                          else f"error {err.returncode}")
            wall = time.perf_counter() - t0
            rf = Path(str(js) + ".rows")
            rows = ([json.loads(x) for x in rf.read_text().splitlines()] if rf.exists() else [])
            for r in rows:
                r["status"] = "ok"
            if status != "ok":
                st = Path(str(js) + ".stage")
                where = st.read_text() if st.exists() else "start"
                print(f"  {n:>7} {status} in stage {where} after {wall:.0f} s")
                rows.append({"units": n, "stage": where, "status": status,
                             "wall_s": np.nan, "cpu_s": np.nan, "peak_rss_mib": np.nan,
                             "stage_rss_mib": np.nan,
                             "note": f"not finished: {status} after {wall:.0f} s of the "
                                     "size's process"})
            done = [r for r in rows if r["status"] == "ok"]
            if done:
                rows.append({"units": n, "stage": "total" if status == "ok" else "total_done",
                             "status": "ok" if status == "ok" else "partial",
                             "wall_s": sum(r["wall_s"] for r in done),
                             "cpu_s": sum(r["cpu_s"] for r in done),
                             "peak_rss_mib": max(r["peak_rss_mib"] for r in done),
                             "stage_rss_mib": np.nan, "n_kept": done[0]["n_kept"],
                             "feature_sets": done[-1]["feature_sets"]})
            print(f"  {n:>7} process wall {wall:.1f} s (data generation included)")
            all_rows.extend(rows)
            df = pd.DataFrame(all_rows)
            df["settings"] = settings
            df["cpus"] = os.cpu_count()
            df["machine"] = platform.processor() or platform.machine()
            df.round(3).to_csv(args.out, index=False)
    report(pd.DataFrame(all_rows), args.out)
    return 0


def combine(files) -> pd.DataFrame:
    """Rows of several runs: later files replace the same (units, stage); totals redone."""
    parts = []
    for spec in files:
        path, _, stages = str(spec).partition(":")
        d = pd.read_csv(path)
        d = d[~d["stage"].isin(["total", "total_done"])]
        if stages:
            d = d[d["stage"].isin(stages.split(","))]
        parts.append(d)
    df = pd.concat(parts, ignore_index=True).drop_duplicates(["units", "stage"], keep="last")
    rows = []
    for n, g in df.groupby("units", sort=True):
        g = g.set_index("stage").reindex([st for st in STAGES if st in set(g["stage"])])
        rows.append(g.reset_index())
        ok = g[g["status"] == "ok"]
        complete = len(ok) == len(STAGES)
        rows.append(pd.DataFrame([{
            "units": n, "stage": "total" if complete else "total_done",
            "status": "ok" if complete else "partial", "wall_s": ok["wall_s"].sum(),
            "cpu_s": ok["cpu_s"].sum(), "peak_rss_mib": ok["peak_rss_mib"].max(),
            "n_kept": ok["n_kept"].iloc[0], "feature_sets": ok["feature_sets"].max(),
            "settings": ok["settings"].iloc[0], "cpus": ok["cpus"].iloc[0],
            "machine": ok["machine"].iloc[0]}]))
    return pd.concat(rows, ignore_index=True)


def markdown(df: pd.DataFrame) -> str:
    """The README's cost table: wall s / CPU s / peak MiB per stage and size, exponents."""
    ex = fit_exponents(df[df["stage"] != "total_done"]).set_index("stage")
    sizes = sorted(df["units"].unique())
    head = ("| stage | " + " | ".join(f"{int(n):,} units" for n in sizes)
            + " | exponent (all sizes) | exponent (last two) | CPU exponent (last two) |")
    lines = [head, "|" + "---|" * (len(sizes) + 4)]
    for st in [*STAGES, "total"]:
        cells = []
        for n in sizes:
            r = df[(df["units"] == n) & (df["stage"] == st)]
            if r.empty:
                cells.append("not run")
            elif r["status"].iloc[0] != "ok":
                cells.append(f"stopped ({r['status'].iloc[0]})")
            else:
                r = r.iloc[0]
                cells.append(f"{r['wall_s']:.1f} / {r['cpu_s']:.1f} s, {r['peak_rss_mib']:.0f} MiB")
        e = ex.loc[st] if st in ex.index else None
        tail = ("| - | - | - |" if e is None else
                f"| {e['exponent']:.2f} | {e['exponent_last']:.2f} | "
                f"{e['exponent_cpu_last']:.2f} |")
        lines.append(f"| {st} | " + " | ".join(cells) + " " + tail)
    return "\n".join(lines)


def report(df: pd.DataFrame, out) -> None:
    """Print the exponents of every stage (and of the total) and write them beside ``out``."""
    ex = fit_exponents(df[~df["stage"].isin(["total", "total_done"])])
    tot = fit_exponents(df[df["stage"] == "total"])
    ex = pd.concat([ex, tot], ignore_index=True)
    print(ex.to_string(index=False))
    ex.to_csv(Path(out).with_name(Path(out).stem + "_exponents.csv"), index=False)


if __name__ == "__main__":
    raise SystemExit(main())
