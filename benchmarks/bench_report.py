"""Benchmark: the report's computation cold and warm, section by section.

Run by hand (not a test), from the repository root::

    export CROWD_DISAGREEMENT_DATA=/path/to/enhance   # or let the data be fetched
    .venv/bin/python benchmarks/bench_report.py            # full report, ~4-6 minutes on 2 cores
    .venv/bin/python benchmarks/bench_report.py --quick    # draft settings (CROWD_DISAGREEMENT_QUICK)

Steps, in one process, with a fresh, empty cache folder:

1. ``cold``: :meth:`analysis.presentation.report.ReportData.build` computes every section (nothing
   cached) and stores the result; the seconds of each section come from
   ``ReportData.timings``.
2. ``warm``: the same call again, which loads the stored result.
3. ``notebook``: ``report.qmd`` executed as Quarto's Jupyter engine would (jupytext
   reads it, nbclient runs every cell in a fresh kernel) with the cache warm: kernel
   start, imports, loading the cached result and drawing every figure and table.
4. ``cli``: ``crowd-disagreement reproduce`` and ``crowd-disagreement review`` at their
   defaults, each in a fresh process with the cache off, wall time including start-up.

Prints the timings and writes them, with peak resident memory (``ru_maxrss`` of this
process and of the largest child, worker or kernel; and the peak of the sum over this
process and its workers during the cold build, sampled every 0.2 s) and the machine, to
``benchmarks/results/bench_report[_quick].csv``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_resampling import machine_info  # noqa: E402


def _mib(ru_maxrss_kib: int) -> float:
    return ru_maxrss_kib / 1024


class TreeMemory:
    """Peak of the summed resident memory of this process and all its descendants
    (joblib workers, the Jupyter kernel), sampled every ``interval`` seconds."""

    def __init__(self, interval: float = 0.2):
        import psutil  # installed with ipykernel (the report extra)

        self._proc = psutil.Process()
        self._psutil = psutil
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for p in [self._proc, *self._proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except self._psutil.Error:
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def execute_notebook(path: Path) -> float:
    """Seconds to execute every cell of ``path`` in a fresh kernel (cache as set in env)."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.reads(path.read_text(), fmt="Rmd")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - t0


def time_cli(command: str, out: Path) -> float:
    """Wall seconds of one ``crowd-disagreement`` subcommand at its defaults (no cache)."""
    import subprocess

    env = dict(os.environ, CROWD_DISAGREEMENT_NO_CACHE="1", CROWD_DISAGREEMENT_QUICK="0")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analysis.cli", command, "--out", str(out), "--quiet"],
                   check=True, cwd=ROOT, env=env)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="draft settings (small resampling counts)")
    ap.add_argument("--jobs", type=int, default=-1, help="workers (default: all cores)")
    ap.add_argument("--no-notebook", action="store_true", help="skip executing report.qmd")
    ap.add_argument("--no-cli", action="store_true", help="skip timing the CLI commands")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    os.environ["CROWD_DISAGREEMENT_QUICK"] = "1" if args.quick else "0"
    os.environ.pop("CROWD_DISAGREEMENT_NO_CACHE", None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="crowd-bench-cache-") as tmp:
        os.environ["CROWD_DISAGREEMENT_CACHE_DIR"] = tmp
        from analysis.presentation.report import ReportData

        t0 = time.perf_counter()
        with TreeMemory() as mem:
            rd = ReportData.build(n_jobs=args.jobs)
        cold = time.perf_counter() - t0
        for section, secs in rd.timings.items():
            rows.append({"step": "cold", "section": section, "seconds": secs})
        rows.append({"step": "cold", "section": "total (incl. storing the cache)",
                     "seconds": cold})
        t0 = time.perf_counter()
        ReportData.build(n_jobs=args.jobs)
        rows.append({"step": "warm", "section": "ReportData.build",
                     "seconds": time.perf_counter() - t0})
        if not args.no_notebook:
            secs = execute_notebook(ROOT / "report.qmd")
            rows.append({"step": "notebook", "section": "execute report.qmd (cache warm)",
                         "seconds": secs})
        if not args.no_cli and not args.quick:
            for command in ("reproduce", "review"):
                secs = time_cli(command, Path(tmp) / f"cli-{command}")
                rows.append({"step": "cli", "section": f"crowd-disagreement {command}",
                             "seconds": secs})
    frame = pd.DataFrame(rows)
    children = _mib(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    extra = {"quick": args.quick, "n_jobs": args.jobs,
             "peak_rss_main_mib": round(_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss), 1),
             "peak_rss_child_mib": round(children, 1),
             "peak_rss_tree_cold_mib": round(mem.peak / 2**20, 1), **machine_info()}
    for k, v in extra.items():
        frame[k] = v
    pd.set_option("display.width", 160)
    print(frame[["step", "section", "seconds"]].round(2).to_string(index=False))
    print(f"peak RSS: main {extra['peak_rss_main_mib']} MiB, largest child "
          f"(worker or kernel) {extra['peak_rss_child_mib']} MiB; cold build, main and "
          f"workers together (sampled every 0.2 s): {extra['peak_rss_tree_cold_mib']} MiB")
    out = args.out or ROOT / "benchmarks" / "results" / (
        "bench_report_quick.csv" if args.quick else "bench_report.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
