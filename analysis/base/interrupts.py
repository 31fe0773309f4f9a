"""Interrupts of a command: SIGINT and SIGTERM end a run at once, in one line, leaving
nothing behind.

Python's default reaction to a signal raises an exception at whatever point the main
thread happens to be, possibly inside joblib/loky while it holds a lock or waits for a
worker that the same signal (sent to the whole process group, as Ctrl-C in a terminal,
SLURM and systemd do) has just killed: a traceback through joblib, and sometimes a
process stuck for ever shutting down its pool beside defunct workers. This module does
not unwind through that code. While a command runs inside :func:`guard`, SIGINT and
SIGTERM run :func:`_finish`, which

1. ignores further SIGINT/SIGTERM and silences the process's stderr (a library thread
   noticing its dead workers must not print under the one line);
2. kills every process the command started (loky workers and loky's resource tracker,
   found in /proc, or from loky itself where there is no /proc) with SIGKILL and reaps
   them;
3. runs the cleanups registered with :func:`on_interrupt` (the temporary output folder
   and the lock of :func:`analysis.presentation.outputs.atomic_output`), newest first;
4. removes this process's joblib memmapping folders and loky semaphores
   (:func:`remove_joblib_files`), which the killed resource tracker can no longer remove;
5. writes one line, ``crowd-disagreement: interrupted (SIGTERM); nothing was written to
   OUT``, and ends the process with status 128 + the signal's number (130 for SIGINT,
   143 for SIGTERM) without running anything else (``os._exit``).

Code that must not be cut in half (creating the temporary folder and registering its
cleanup; the renames that publish a result) runs inside :func:`deferred`: a signal
arriving there is acted on when the block ends.

Worker processes ignore SIGINT and SIGTERM (:func:`ignore_in_worker`, the initializer
of the loky workers inside :func:`guard`): a signal sent to the whole group reaches the
main process, which stops them; a worker never prints a traceback of its own.

After SIGKILL nothing can run; :func:`analysis.presentation.outputs.atomic_output` then removes, on
the next run into the same folder, what the killed run left: its temporary folder and,
identified by the dead process id written in the lock file, its joblib and loky files
(:func:`remove_joblib_files`).

Outside :func:`guard` (a notebook, the report) nothing here is active: a signal has its
usual effect.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["SIGNALS", "guard", "on_interrupt", "deferred", "ignore_in_worker",
           "remove_joblib_files", "pid_alive", "exit_status", "mark_complete"]

#: The signals a command turns into a clean stop.
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Folders where joblib may put its memmapping folders (besides ``JOBLIB_TEMP_FOLDER``).
_SHM = "/dev/shm"
#: Seconds to wait for killed child processes to be reaped.
_REAP_SECONDS = 2.0


def exit_status(signum: int) -> int:
    """The exit status of a run ended by signal ``signum``: 128 + its number."""
    return 128 + int(signum)


class _Run:
    """What the signal handler needs to know about the run in progress."""

    def __init__(self, out: str | None = None):
        self.out = out
        self.cleanups: list[Callable[[], None]] = []
        self.defer = 0
        self.pending: int | None = None
        self.complete = False
        self.finishing = False


_run: _Run | None = None


def ignore_in_worker() -> None:
    """Initializer of worker processes: SIGINT and SIGTERM are ignored (the main process
    stops the workers; see the module docstring)."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:  # a zombie has ended; only its parent has not collected it yet
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _joblib_roots() -> list[str]:
    roots = [os.environ.get("JOBLIB_TEMP_FOLDER"), _SHM, tempfile.gettempdir()]
    return list(dict.fromkeys(r for r in roots if r and os.path.isdir(r)))


def remove_joblib_files(pid: int) -> list[str]:
    """Remove the joblib memmapping folders and loky semaphores of process ``pid``.

    Parameters
    ----------
    pid : int
        This process (at an interrupt), or a process known to be dead (the holder of a
        stale lock).

    Returns
    -------
    list of str
        The paths removed.

    Notes
    -----
    joblib names its folders ``joblib_memmapping_folder_<pid>_<id>_<id>`` (in
    ``JOBLIB_TEMP_FOLDER``, ``/dev/shm`` or the temporary folder) and loky its
    semaphores ``/dev/shm/sem.loky-<pid>-<id>``, after the process that created them.
    Only entries owned by this user are touched.
    """
    prefixes = (f"joblib_memmapping_folder_{pid}_", f"sem.loky-{pid}-")
    removed = []
    uid = os.getuid() if hasattr(os, "getuid") else None
    for root in _joblib_roots():
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            if not name.startswith(prefixes):
                continue
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
                if uid is not None and st.st_uid != uid:
                    continue
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                continue
            removed.append(path)
    return removed


def _descendants(pid: int) -> list[int]:
    """Every process descending from ``pid``, from /proc (Linux)."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            text = Path(f"/proc/{name}/stat").read_text()
            parent[int(name)] = int(text.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found: list[int] = []
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in found}
        found += sorted(frontier)
    return found


def _loky_processes() -> list[int]:
    """Worker and resource-tracker pids known to loky (where there is no /proc)."""
    pids = []
    with contextlib.suppress(Exception):
        from joblib.externals.loky import reusable_executor

        executor = getattr(reusable_executor, "_executor", None)
        pids += list(getattr(executor, "_processes", None) or {})
    with contextlib.suppress(Exception):
        from joblib.externals.loky.backend import resource_tracker

        tracker_pid = getattr(resource_tracker._resource_tracker, "_pid", None)
        if tracker_pid:
            pids.append(tracker_pid)
    return pids


def _stop_children() -> None:
    """SIGKILL every process this one started and reap its direct children; again until
    none is left (another thread may be starting a worker at this moment), for at most
    a couple of seconds."""
    me = os.getpid()
    have_proc = os.path.isdir("/proc")
    deadline = time.monotonic() + _REAP_SECONDS
    while True:
        pids = _descendants(me) if have_proc else _loky_processes()
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        while True:  # collect the children that have ended
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
        if not any(pid_alive(p) for p in pids) or time.monotonic() > deadline:
            return
        time.sleep(0.005)


def _message(signum: int, run: _Run) -> str:
    name = signal.Signals(signum).name
    if run.out is None:
        return f"crowd-disagreement: interrupted ({name})\n"
    if run.complete:
        return (f"crowd-disagreement: interrupted ({name}) after the result was complete "
                f"in {run.out}\n")
    return f"crowd-disagreement: interrupted ({name}); nothing was written to {run.out}\n"


def _finish(signum: int) -> None:
    """Stop the run now: see the module docstring. Does not return."""
    run = _run or _Run()
    run.finishing = True
    for s in SIGNALS:
        with contextlib.suppress(Exception):
            signal.signal(s, signal.SIG_IGN)
    err = 2
    with contextlib.suppress(OSError):  # keep our stderr; silence everybody else's
        err = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    _stop_children()
    for cleanup in reversed(run.cleanups):
        with contextlib.suppress(Exception):
            cleanup()
    remove_joblib_files(os.getpid())
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        os.write(err, _message(signum, run).encode(errors="replace"))
    os._exit(exit_status(signum))


def _handler(signum, frame) -> None:
    run = _run
    if run is None or run.finishing:
        return
    if run.defer:
        run.pending = run.pending or signum
        return
    _finish(signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A block that a signal does not cut in half: a signal arriving inside it is acted
    on when it ends (outside :func:`guard` the block runs as it is)."""
    run = _run
    if run is None:
        yield
        return
    run.defer += 1
    try:
        yield
    finally:
        run.defer -= 1
        if run.defer == 0 and run.pending is not None and not run.finishing:
            _finish(run.pending)


@contextlib.contextmanager
def on_interrupt(cleanup: Callable[[], None]) -> Iterator[None]:
    """Run ``cleanup`` if the command is interrupted while the block runs (inside
    :func:`guard`; elsewhere it is never called)."""
    run = _run
    if run is None:
        yield
        return
    run.cleanups.append(cleanup)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            run.cleanups.remove(cleanup)


def mark_complete() -> None:
    """The result is published: a signal from now on says so instead of "nothing was
    written"."""
    if _run is not None:
        _run.complete = True


@contextlib.contextmanager
def guard(out: str | os.PathLike | None = None, *, workers: bool = True) -> Iterator[None]:
    """Run a command so that SIGINT and SIGTERM stop it cleanly (module docstring).

    Parameters
    ----------
    out : path, optional
        The command's output folder, named in the one-line message.
    workers : bool, default True
        Start joblib's loky workers with :func:`ignore_in_worker` (a Dask backend
        entered inside the block takes precedence).

    Notes
    -----
    Only in the main thread (Python runs signal handlers there); elsewhere, and for a
    nested call, the block runs unguarded. The previous handlers are restored on exit.
    """
    global _run
    if threading.current_thread() is not threading.main_thread() or _run is not None:
        yield
        return
    _run = _Run(None if out is None else str(Path(out).expanduser().absolute()))
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    try:
        with contextlib.ExitStack() as stack:
            if workers:
                import joblib

                stack.enter_context(joblib.parallel_config(backend="loky",
                                                           initializer=ignore_in_worker))
            yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _run = None
