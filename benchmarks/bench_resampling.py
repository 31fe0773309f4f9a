"""Benchmark: reference fitting path vs the batched engine, on the report's workload.

Run by hand (not a test), from the repository root::

    export CROWD_DISAGREEMENT_DATA=/path/to/enhance   # or let the data be fetched
    .venv/bin/python benchmarks/bench_resampling.py            # full workload
    .venv/bin/python benchmarks/bench_resampling.py --ref-per-set 50 --permutations 200   # quick look

Workload (group 7, ``models.DEFAULT_SEED``), for each estimator (mle, firth):

* the 17 feature sets of experiments 1 and 2, 10-fold CV x 100 repeats
  (17 x 1000 fits), splits of :func:`analysis.fitting.models.stratified_splits`;
* 2000 label permutations (each with its own stratified 10-fold split, built as
  :func:`analysis.studies.review.permutation_tests` builds them) for sd, skewness,
  kurtosis and moments_all (4 x 20 000 fits).

Paths, in one process and side by side:

1. ``reference``: :func:`analysis.fitting.models.fit_logistic` (statsmodels / firthmodels)
   one fit per model in a loop, plus the fold AUC.  Its full run takes hours, so it
   runs on a deterministic subset (``--ref-per-set`` evenly spaced splits of every
   block); its rate is extrapolated to the full workload by timing each block's
   subset and weighting it by the block's size (printed as ``subset``).
2. ``engine_1``: :func:`analysis.fitting.engine.cross_validate_batch`, ``n_jobs=1``.
3. ``engine_all``: the same, ``n_jobs=-1`` (all cores).
4. ``sklearn`` (plain MLE only): what a Python user would write without this package,
   scikit-learn's :func:`~sklearn.model_selection.cross_val_score` with
   ``LogisticRegression`` unpenalized (``penalty=None``, spelled ``C=np.inf`` since
   scikit-learn 1.8), lbfgs, ``max_iter=10_000``, ``scoring="roc_auc"``, over the SAME
   splits and labels as the engine (one call per label vector: the CV block's splits
   in one call, each permutation's splits in another), one process and one thread
   (threadpoolctl), timed on the reference's subset and extrapolated the same way. Its fold AUCs are compared with the engine's on the
   folds whose plain MLE is not separated, to ``SKLEARN_AUC_TOL`` (see there); on
   separated folds the MLE does not exist and each solver stops somewhere along the
   diverging path, so their AUCs are only counted, not required to agree.

Prints and writes (``benchmarks/results/bench_resampling.csv``) fits per second,
ratios to the reference, peak memory (``ru_maxrss`` of this process and of the
worker processes) and the maximum |AUC difference| between the paths: engine vs
reference on the reference subset (split by separated / not separated folds) and
engine_1 vs engine_all on the full workload (they must be byte-identical).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.fitting import engine, models  # noqa: E402
from analysis.statistics import inference  # noqa: E402
from analysis.studies import reproduce  # noqa: E402

PERM_SETS = ("sd", "skewness", "kurtosis", "moments_all")

#: |AUC scikit-learn - AUC engine| allowed on non-separated folds. A fold AUC is a rank
#: statistic, k / (n_pos * n_neg) with ties counted 1/2: it changes only when a
#: (positive, negative) pair of test scores swaps order, by at least 1 / (n_pos * n_neg)
#: (>= 1/25 on these 10-image test folds). Where the MLE exists both paths estimate it,
#: so the rankings and hence the AUCs agree and only rounding of the average remains
#: (1e-9 covers it). lbfgs, though, stops at a gradient of 1e-4 (its default ``tol``), not
#: at Newton's step of 1e-8: its coefficients differ from the MLE by ~1e-4, and a
#: positive and a negative test score closer than that can swap. Such folds are listed
#: and refitted with ``tol=1e-10`` (``recheck_tight``), which must make them agree.
SKLEARN_AUC_TOL = 1e-9
SKLEARN_MAX_ITER = 10_000


def build_workload(design, *, repeats=100, n_permutations=2000, seed=models.DEFAULT_SEED):
    """Blocks (name, X, Y (S, n), splits) of the benchmark workload."""
    y = design.labels
    cv = models.stratified_splits(y, n_splits=10, n_repeats=repeats, seed=seed)
    cv = [(s.train, s.test) for s in cv]
    sets = design.sets[design.sets["experiment"].isin((1, 2))]["feature_set"].tolist()
    blocks = []
    Ycv = np.broadcast_to(y, (len(cv), len(y)))
    for fs in sets:
        blocks.append((f"cv:{fs}", design.matrix(fs), Ycv, cv))
    if n_permutations:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        perms = inference.stratified_permutations(y, n_permutations, rng)
        psplits, labels = [], []
        for p in range(n_permutations):
            pseed = int(np.random.SeedSequence([seed, 3, p]).generate_state(1)[0])
            for s in models.stratified_splits(perms[p], n_repeats=1, seed=pseed):
                psplits.append((s.train, s.test))
                labels.append(perms[p])
        labels = np.asarray(labels)
        for fs in PERM_SETS:
            blocks.append((f"perm:{fs}", design.matrix(fs), labels, psplits))
    return blocks


def run_reference(blocks, estimator, per_set):
    """Time the reference loop on ``per_set`` evenly spaced splits of every block.

    Returns (estimated seconds for the full workload, fits done, auc by block, estimated
    CPU seconds of this process)."""
    est_seconds, est_cpu, n_done, aucs = 0.0, 0.0, 0, {}
    for name, X, Y, splits in blocks:
        pick = _pick(len(splits), per_set)
        out = np.empty(len(pick))
        flags = np.empty((len(pick), 3), dtype=np.int64)
        t0, c0 = time.perf_counter(), time.process_time()
        for j, i in enumerate(pick):
            tr, te = splits[i]
            y = Y[i]
            fit = models.fit_logistic(X[tr], y[tr], estimator)
            sc = fit.linear_predictor(X[te])
            # a statsmodels fit that fails (LinAlgError under separation) has NaN
            # coefficients: its fold AUC is undefined (NaN), counted below
            out[j] = models.fold_auc(y[te], sc) if np.isfinite(sc).all() else np.nan
            flags[j] = (fit.separated, fit.converged, fit.n_iter)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        est_seconds += dt * len(splits) / len(pick)
        est_cpu += dc * len(splits) / len(pick)
        n_done += len(pick)
        aucs[name] = (pick, out, flags)
    return est_seconds, n_done, aucs, est_cpu


def sklearn_logistic():
    """Unpenalized logistic regression as a scikit-learn user writes it (lbfgs)."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 8):  # penalty=None is deprecated from 1.8: no penalty is C=inf
        return LogisticRegression(C=np.inf, solver="lbfgs", max_iter=SKLEARN_MAX_ITER)
    return LogisticRegression(penalty=None, solver="lbfgs", max_iter=SKLEARN_MAX_ITER)


def _pick(n_splits, per_set):
    return np.unique(np.linspace(0, n_splits - 1, per_set).round().astype(int))


def run_sklearn(blocks, per_set):
    """Time ``cross_val_score`` on the reference's subset of every block.

    Returns (estimated seconds for the full workload, fits done, auc by block,
    convergence warnings, estimated CPU seconds of this process)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import cross_val_score
    from threadpoolctl import threadpool_limits

    est_seconds, est_cpu, n_done, aucs, n_warn = 0.0, 0.0, 0, {}, 0
    for name, X, Y, splits in blocks:
        pick = _pick(len(splits), per_set)
        groups: dict[bytes, list[int]] = {}  # picked splits sharing one label vector
        for j, i in enumerate(pick):
            groups.setdefault(np.asarray(Y[i]).tobytes(), []).append(j)
        out = np.empty(len(pick))
        t0, c0 = time.perf_counter(), time.process_time()
        # one thread (BLAS and scikit-learn's OpenMP loss), as every engine call runs: on
        # a shared 2-core machine the default OpenMP threads made single fits 10-100x
        # slower and erratic (trial, load average 6-9)
        with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            for js in groups.values():
                y = np.asarray(Y[pick[js[0]]]).astype(int)
                out[js] = cross_val_score(sklearn_logistic(), X, y,
                                          cv=[splits[pick[j]] for j in js], scoring="roc_auc")
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        n_warn += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        est_seconds += dt * len(splits) / len(pick)
        est_cpu += dc * len(splits) / len(pick)
        n_done += len(pick)
        aucs[name] = (pick, out)
    return est_seconds, n_done, aucs, n_warn, est_cpu


def compare_sklearn(sk_auc, eng):
    """Fold AUCs of scikit-learn against the engine's plain-MLE run on the same splits,
    split by the engine's separation flag (see ``SKLEARN_AUC_TOL``)."""
    d_ok, d_sep, differing = [], [], []
    for name, (pick, auc) in sk_auc.items():
        e = eng[name]["auc"][pick]
        sep = eng[name]["separated"][pick]
        diff = np.abs(auc - e)
        d_ok.append(diff[~sep])
        d_sep.append(diff[sep])
        differing += [(name, int(i), round(float(d), 4))
                      for i, d in zip(pick[~sep], diff[~sep], strict=True)
                      if not d <= SKLEARN_AUC_TOL]
    d_ok, d_sep = np.concatenate(d_ok), np.concatenate(d_sep)
    return {
        "n_not_separated": int(d_ok.size),
        "n_agree_not_separated": int((d_ok <= SKLEARN_AUC_TOL).sum()),
        "max_abs_auc_diff_not_separated": float(d_ok.max(initial=0.0)),
        "n_separated": int(d_sep.size),
        "n_agree_separated": int((d_sep <= SKLEARN_AUC_TOL).sum()),
        "max_abs_auc_diff_separated": float(d_sep.max(initial=0.0)),
        "differing": differing,
    }


def recheck_tight(blocks, differing, eng, tol=1e-10):
    """Refit the non-separated folds whose AUCs differ with lbfgs ``tol`` tightened:
    how many then agree with the engine (the difference was lbfgs stopping early)."""
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score

    by_name = {b[0]: b for b in blocks}
    n_agree = 0
    for name, i, _ in differing:
        _, X, Y, splits = by_name[name]
        tr, te = splits[i]
        y = np.asarray(Y[i]).astype(int)
        m = clone(sklearn_logistic()).set_params(tol=tol).fit(X[tr], y[tr])
        auc = roc_auc_score(y[te], m.decision_function(X[te]))
        n_agree += bool(abs(auc - eng[name]["auc"][i]) <= SKLEARN_AUC_TOL)
    return n_agree


def run_engine(blocks, estimator, n_jobs):
    # forget MLE separation flags remembered from an earlier run, so that a Firth
    # run pays for its own auxiliary MLE (the report's runs, MLE then Firth on the
    # same splits, reuse them; see engine._SEP_MEMO)
    engine.clear_memo()
    t0, c0 = time.perf_counter(), time.process_time()
    res = {}
    for name, X, Y, splits in blocks:
        r = engine.cross_validate_batch(X, Y, splits, estimator=estimator, n_jobs=n_jobs)
        res[name] = r
    return time.perf_counter() - t0, res, time.process_time() - c0


def _peak_children_mib():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def machine_info() -> dict:
    from threadpoolctl import threadpool_info

    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = [f"{d.get('internal_api')} {d.get('version')} ({d.get('threading_layer', '')}, "
            f"{d.get('architecture', '')}, {d.get('num_threads')} threads)"
            for d in threadpool_info() if d.get("user_api") == "blas"]
    return {
        "cpu": cpu, "n_cpu": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "blas": "; ".join(blas),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--permutations", type=int, default=2000)
    ap.add_argument("--ref-per-set", type=int, default=200,
                    help="reference fits per block (evenly spaced subset)")
    ap.add_argument("--estimators", default="mle,firth")
    ap.add_argument("--engine-repeats", type=int, default=2,
                    help="time each engine path this many times, report the fastest")
    ap.add_argument("--jobs", type=int, default=-1, help="workers of the 'all' engine run")
    ap.add_argument("--skip-sklearn", action="store_true",
                    help="leave out the scikit-learn cross_val_score path")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_resampling.csv"))
    a = ap.parse_args(argv)

    info = machine_info()
    print("machine:", info)
    print("load average at start:", os.getloadavg())
    design = reproduce.load_group()
    blocks = build_workload(design, repeats=a.repeats, n_permutations=a.permutations)
    n_total = sum(len(b[3]) for b in blocks)
    n_workers = os.cpu_count() if a.jobs == -1 else a.jobs
    print(f"workload: {len(blocks)} blocks, {n_total} fits per estimator")
    rows = []
    for est in a.estimators.split(","):
        ref_s, ref_n, ref_auc, ref_cpu = run_reference(blocks, est, a.ref_per_set)
        ref_rate = n_total / ref_s
        # warm the worker pool so that process start-up is not timed
        engine.cross_validate_batch(blocks[0][1], blocks[0][2][:64], blocks[0][3][:64],
                                    estimator=est, n_jobs=a.jobs, chunk_size=8)
        # best of --engine-repeats runs: the machine may be shared, and the
        # minimum is the least disturbed measurement
        t1, r1, c1 = min((run_engine(blocks, est, 1) for _ in range(a.engine_repeats)),
                     key=lambda x: x[0])
        tn, rn, _ = min((run_engine(blocks, est, a.jobs) for _ in range(a.engine_repeats)),
                     key=lambda x: x[0])
        d_sep = d_ok = 0.0
        n_sep = n_nan_mismatch = n_flag_mismatch = 0
        for name, (pick, auc_ref, flags) in ref_auc.items():
            e = r1[name]["auc"][pick]
            sep = r1[name]["separated"][pick]
            both = np.isfinite(e) & np.isfinite(auc_ref)
            n_nan_mismatch += int((np.isnan(e) != np.isnan(auc_ref)).sum())
            diff = np.where(both, np.abs(e - auc_ref), 0.0)
            if (~sep).any():
                d_ok = max(d_ok, float(diff[~sep].max()))
            if sep.any():
                d_sep = max(d_sep, float(diff[sep].max()))
                n_sep += int(sep.sum())
            eng = np.column_stack([sep, r1[name]["converged"][pick], r1[name]["n_iter"][pick]])
            if est == "mle":
                bad = np.any(eng != flags, axis=1)
            else:  # Firth: n_iter is firthmodels' own count
                bad = np.any(eng != flags, axis=1)
            n_flag_mismatch += int(bad.sum())
        same = all(
            r1[k][f].tobytes() == rn[k][f].tobytes() for k in r1 for f in r1[k])
        d_jobs = max(float(np.nanmax(np.abs(r1[k]["auc"] - rn[k]["auc"]), initial=0.0))
                     for k in r1)
        paths = [
            ("reference", ref_s, n_total,
             f"subset: {ref_n} fits timed ({a.ref_per_set} per block), rate extrapolated"),
            ("engine_1", t1, n_total, f"n_jobs=1, best of {a.engine_repeats}"),
            ("engine_all", tn, n_total,
             f"n_jobs={a.jobs} ({n_workers} workers), best of {a.engine_repeats}"),
        ]
        sk = {}
        if est == "mle" and not a.skip_sklearn:
            sk_s, sk_n, sk_auc, sk_warn, sk_cpu = run_sklearn(blocks, a.ref_per_set)
            sk = compare_sklearn(sk_auc, r1)
            sk["n_convergence_warnings"] = sk_warn
            sk["n_differing_agree_with_tol_1e-10"] = recheck_tight(blocks, sk["differing"], r1)
            paths.append(("sklearn", sk_s, n_total,
                          f"cross_val_score, LogisticRegression unpenalized lbfgs "
                          f"max_iter={SKLEARN_MAX_ITER}, one process; subset: {sk_n} fits "
                          f"timed ({a.ref_per_set} per block), rate extrapolated"))
        sk_rate = n_total / paths[-1][1] if sk else np.nan
        # CPU seconds of the main process: the single-process paths' cost without the
        # waiting that a shared machine adds to wall time
        cpu = {"reference": ref_cpu, "engine_1": c1, **({"sklearn": sk_cpu} if sk else {})}
        for path, secs, n_fits, note in paths:
            rate = n_fits / secs
            rows.append({
                "estimator": est, "path": path, "n_fits": n_fits, "seconds": round(secs, 3),
                "fits_per_s": round(rate, 1), "ratio_vs_reference": round(rate / ref_rate, 2),
                "max_abs_auc_diff_vs_ref_not_separated": d_ok if path != "reference" else np.nan,
                "max_abs_auc_diff_vs_ref_separated": d_sep if path != "reference" else np.nan,
                "n_ref_separated_compared": n_sep,
                "n_ref_fits_compared": ref_n,
                "n_auc_nan_mismatch": n_nan_mismatch if path != "reference" else np.nan,
                "n_flag_mismatch_separated_converged_n_iter":
                    n_flag_mismatch if path != "reference" else np.nan,
                "max_abs_auc_diff_engine_1_vs_all": d_jobs,
                "engine_1_vs_all_byte_identical": same,
                "ratio_vs_sklearn": round(rate / sk_rate, 2) if sk else np.nan,
                "cpu_seconds_main_process": round(cpu[path], 3) if path in cpu else np.nan,
                "cpu_ratio_vs_sklearn": (round(cpu["sklearn"] / cpu[path], 2)
                                         if sk and path in cpu else np.nan),
                **({f"sklearn_{k}": (v if k != "differing" else "; ".join(map(str, v[:20])))
                    for k, v in sk.items()} if path == "sklearn" else {}),
                "note": note,
            })
            print(f"{est:6s} {path:10s} {rate:10.1f} fits/s  x{rate / ref_rate:7.1f}  "
                  f"({secs:.1f} s, {note})")
        print(f"{est}: max |AUC engine - reference| not separated {d_ok:.2e}, "
              f"separated {d_sep:.2e} ({n_sep} separated folds); NaN-AUC mismatches "
              f"{n_nan_mismatch}; (separated, converged, n_iter) mismatches "
              f"{n_flag_mismatch} of {ref_n}; engine_1 vs all "
              f"byte-identical: {same}")
        if sk:
            print(f"{est}: engine_1 {n_total / t1 / sk_rate:.1f}x and engine_all "
                  f"{n_total / tn / sk_rate:.1f}x the scikit-learn rate (CPU seconds: "
                  f"engine_1 {c1:.1f}, scikit-learn {sk_cpu:.1f}, reference {ref_cpu:.1f}, "
                  f"ratio {sk_cpu / c1:.1f}x); fold AUCs of "
                  f"scikit-learn vs the engine on {sk['n_not_separated']} non-separated "
                  f"folds: {sk['n_agree_not_separated']} within {SKLEARN_AUC_TOL:g} "
                  f"(max |diff| {sk['max_abs_auc_diff_not_separated']:.2e}); on "
                  f"{sk['n_separated']} separated folds {sk['n_agree_separated']} equal "
                  f"(max |diff| {sk['max_abs_auc_diff_separated']:.2e}); "
                  f"{sk['n_convergence_warnings']} lbfgs convergence warnings")
            if sk["n_agree_not_separated"] < sk["n_not_separated"]:
                print("  non-separated folds that differ (block, split, |diff|):",
                      sk["differing"][:20], "; agree when refitted with lbfgs tol=1e-10:",
                      sk["n_differing_agree_with_tol_1e-10"])
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = _peak_children_mib()
    print(f"peak memory: main process {peak_self:.0f} MiB, largest worker "
          f"{peak_children:.0f} MiB")
    out = pd.DataFrame(rows)
    out["peak_rss_main_mib"] = round(peak_self, 1)
    out["peak_rss_worker_mib"] = round(peak_children, 1)
    out["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    for k, v in info.items():
        out[k] = v
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(a.out, index=False)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
