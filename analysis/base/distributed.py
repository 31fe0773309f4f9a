"""Where the engine's task lists run: this machine (joblib/loky) or a Dask cluster.

Every parallel step of the package goes through joblib (:func:`analysis.fitting.engine.parallel_map`,
:func:`analysis.fitting.engine.parallel_map_costliest_first`), without naming a joblib backend, so
the active :func:`joblib.parallel_config` decides where the tasks run. :func:`compute_backend`
sets it: ``"local"`` leaves joblib's default (loky worker processes on this machine);
``"dask"`` connects a :class:`distributed.Client` to a running scheduler and hands the tasks
to its workers through joblib's own Dask backend. No scheduling or transport is written
here: Dask's scheduler distributes the tasks, joblib collects the results in task order.

Functions
---------
compute_backend
    Context manager: run the enclosed computations locally or on a Dask cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["BACKENDS", "compute_backend"]

#: Values of ``backend`` (and of the command line's ``--backend``).
BACKENDS = ("local", "dask")


@contextlib.contextmanager
def compute_backend(backend: str = "local", scheduler: Any = None) -> Iterator[Any]:
    """Run the enclosed computations on this machine or on a Dask cluster.

    Parameters
    ----------
    backend : {"local", "dask"}, default "local"
        ``"local"``: joblib's default loky worker processes (``n_jobs`` of them).
        ``"dask"``: the workers of the Dask cluster whose scheduler is ``scheduler``.
    scheduler : str or distributed.Client, optional
        Scheduler address (e.g. ``"tcp://10.0.0.5:8786"``) or a connected client; required
        with ``backend="dask"``, ignored with ``"local"``.

    Yields
    ------
    distributed.Client or None
        The client (``None`` locally). A client made here from an address is closed on
        exit; a client passed in is left open.

    Notes
    -----
    Inside a ``"dask"`` block, any ``n_jobs`` other than 1 uses every worker thread of
    the cluster (joblib's Dask backend sizes itself from the cluster); ``n_jobs=1`` still
    runs in the calling process. Results are byte-identical to a local run with any ``n_jobs``,
    because (i) every random task draws from its own seed (``SeedSequence`` per task),
    never from a worker's state; (ii) the batches are cut by data shape, never by worker
    count; (iii) every task runs with one BLAS thread
    (:func:`analysis.fitting.engine.parallel_map`), as in loky workers; and (iv) joblib returns
    the results in task order. The workers need this package and the same versions of
    NumPy/SciPy/BLAS as the client for bytes to match; data travel inside the tasks, so
    workers need no copy of the ENHANCE files.

    References
    ----------
    joblib, "Parallel: Dask backend", https://joblib.readthedocs.io/ ;
    Dask, "Deploy Dask clusters: command line", https://docs.dask.org/

    Examples
    --------
    >>> from analysis.studies import multiverse, reproduce  # doctest: +SKIP
    >>> ann = reproduce.load_annotations()  # doctest: +SKIP
    >>> with compute_backend("dask", "tcp://10.0.0.5:8786"):  # doctest: +SKIP
    ...     res = multiverse.multiverse(ann.tidy, ann.labels, n_jobs=-1)
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "local":
        yield None
        return
    if scheduler is None:
        raise ValueError("backend='dask' needs the scheduler's address (e.g. tcp://host:8786)")
    try:
        import joblib
        from distributed import Client
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError("backend='dask' needs Dask's distributed scheduler: "
                          "pip install 'crowd-disagreement[dask]'") from err
    own = not isinstance(scheduler, Client)
    client = Client(scheduler, set_as_default=False) if own else scheduler
    try:
        with joblib.parallel_config(backend="dask", client=client):
            yield client
    finally:
        if own:
            client.close()
