"""The Dask backend: the same task lists on a two-process ``LocalCluster`` give the same
bytes as a local run (same CSV files from the command line, same arrays from the engine)."""

import numpy as np
import pytest
from conftest import needs_data

from analysis import cli
from analysis.base.distributed import compute_backend
from analysis.fitting import engine

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes and a scheduler on localhost, no dashboard."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as lc:
        yield lc


def _tasks_run_on(cluster, run, *args):
    """``run(*args)`` and how many tasks the cluster's scheduler ran meanwhile."""
    from distributed import Client, get_task_stream

    with Client(cluster.scheduler_address, set_as_default=False) as client:
        with get_task_stream(client=client) as ts:
            result = run(*args)
    return result, len(ts.data)


def _csv_cells(folder):
    """Every CSV of ``folder`` as rows of cell text (the bytes written), without the
    wall-clock ``seconds`` column (multiverse.csv times each path: never reproducible)."""
    import csv

    out = {}
    for path in sorted(folder.glob("*.csv")):
        rows = list(csv.reader(path.open(newline="")))
        keep = [j for j, name in enumerate(rows[0]) if name != "seconds"] if rows else []
        out[path.name] = [[r[j] for j in keep] for r in rows]
    return out


@pytest.mark.timeout(120)
def test_engine_batches_on_the_cluster_are_byte_identical(cluster):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + rng.normal(size=60) > 0.8).astype(float)
    splits = []
    for r in range(6):
        perm = np.random.default_rng(r).permutation(60)
        for f in range(5):
            te = np.sort(perm[f::5])
            splits.append((np.setdiff1d(np.arange(60), te), te))
    kw = dict(estimator="firth", chunk_size=4, memo=False)  # 8 chunks: 8 tasks
    local = engine.cross_validate_batch(X, y, splits, n_jobs=1, **kw)
    out = {}

    def run():
        with compute_backend("dask", cluster.scheduler_address):
            out.update(engine.cross_validate_batch(X, y, splits, n_jobs=-1, **kw))

    assert _tasks_run_on(cluster, run)[1] >= 8
    # a connected client can be passed instead of an address; it is left open
    from distributed import Client

    with Client(cluster.scheduler_address, set_as_default=False) as client:
        with compute_backend("dask", client):
            again = engine.cross_validate_batch(X, y, splits, n_jobs=2, **kw)
        assert client.status == "running"
    assert again["coef"].tobytes() == local["coef"].tobytes()
    assert local.keys() == out.keys()
    for key in local:
        assert local[key].tobytes() == out[key].tobytes(), key


@needs_data
@pytest.mark.timeout(180)
def test_cli_on_the_cluster_writes_the_same_csv_files(cluster, tmp_path, monkeypatch):
    from analysis.studies import multiverse as mv

    small = mv.grid(cv=("10-fold",), estimator=("mle",), missing=("drop",),
                    disagreement=("moments", "mad"), scaling=("zscore",))
    monkeypatch.setattr(mv, "grid", lambda **kw: small)
    commands = {
        "multiverse": ["--permutations", "39"],
        "simulate": ["--datasets", "2", "--calibration-datasets", "2", "--permutations", "39",
                     "--images", "48", "--annotators", "3"],
    }
    dask_opts = ["--backend", "dask", "--scheduler", cluster.scheduler_address]
    for name, opts in commands.items():
        local, remote = tmp_path / f"{name}-local", tmp_path / f"{name}-dask"
        assert cli.main([name, "--out", str(local), "--quiet", "--jobs", "1", *opts]) == 0
        rc, n_tasks = _tasks_run_on(cluster, cli.main, [
            name, "--out", str(remote), "--quiet", "--jobs", "-1", *opts, *dask_opts])
        assert rc == 0 and n_tasks >= 2, name  # the work did go to the cluster
        a, b = _csv_cells(local), _csv_cells(remote)
        assert len(a) >= 3 and a.keys() == b.keys(), name
        for csv in a:
            assert a[csv] == b[csv], f"{name}/{csv}"


def test_backend_options_are_checked(tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["simulate", "--out", str(tmp_path), "--backend", "dask"])
    with pytest.raises(SystemExit):
        cli.main(["simulate", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"])
    with pytest.raises(SystemExit):
        cli.main(["simulate", "--out", str(tmp_path), "--backend", "ray"])
    with pytest.raises(ValueError, match="backend"):
        with compute_backend("spark"):
            pass
    with pytest.raises(ValueError, match="scheduler"):
        with compute_backend("dask"):
            pass
