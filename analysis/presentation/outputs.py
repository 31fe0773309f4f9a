"""Command-line plumbing shared by every subcommand: validated option types and
all-or-nothing output folders.

Option types
------------
:func:`int_at_least` makes an ``argparse`` type that accepts an integer no smaller
than a minimum and refuses anything else with a one-line message (argparse then exits
with status 2, no traceback); :data:`positive_int`, :data:`nonneg_int` and
:func:`jobs_int` are the common cases. A new option plugs in with
``p.add_argument("--x", type=int_at_least(5))``.

Output folders
--------------
:func:`atomic_output` is the one way a command writes its results::

    with atomic_output(out, overwrite=False) as work:
        ...compute...
        write tables, then manifest.json, into ``work``

The rule it implements:

1. ``out`` is checked *before* anything is computed (:func:`prepare_out`): it must not
   be an existing file; its parent is created; a temporary folder is created in the
   parent (so a read-only or missing location fails at once, in one line).
2. A lock file ``<out>.lock`` beside ``out`` is held (``fcntl.flock``) for the whole
   run, so a second run into the same ``out`` is refused while the first runs. The
   lock is released by the kernel if the process dies, so a killed run never leaves a
   stale lock. The file holds the process id of the run; a run killed outright
   (SIGKILL) leaves the file, and the next run into the same ``out``, finding that
   process dead, removes the joblib memmapping folders and loky semaphores it left in
   shared memory (:func:`analysis.base.interrupts.remove_joblib_files`).
3. Results go into a hidden temporary folder ``.<name>.tmp-*`` beside ``out``; only
   when the block finishes without an exception is it renamed to ``out`` (a rename in
   one file system is atomic); it gets the permissions of any new folder (``0777``
   less the user's umask), not the owner-only ``0700`` of a temporary folder. An
   interrupted run (an exception, a killed worker;
   SIGINT or SIGTERM inside :func:`analysis.base.interrupts.guard`, as every command runs)
   removes its temporary folder and its lock; a run killed outright leaves a hidden
   one, which the next run into the same ``out`` deletes. A signal during the renames
   that publish the result is acted on after them. No folder named ``out`` ever holds
   a partial result.
4. An existing, non-empty ``out`` is refused unless ``overwrite`` is true; it is then
   replaced whole (never merged). A folder without ``manifest.json`` (not a result of
   this package) is never deleted, even with ``overwrite``: the message names what it
   holds and suggests a new folder.

Writing a result
----------------
:func:`write_result` is the one way a command writes a study's result (an
:class:`analysis.base.results.StudyResult`) into ``work``: every table of ``res.tables()``
(and a review's worded tables, :func:`result_tables`) as CSV (``float_format="%.10g"``,
no index), then ``manifest.json``: what the run read and which code ran it
(:func:`run_manifest`: command, package versions, the data's commit and SHA-256, the
seed), the command's own keys, and last the result's ``settings``, ``elapsed_seconds``
and ``notes`` (:meth:`analysis.base.results.StudyResult.manifest`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ..base import interrupts
from ..base.errors import OutputError
from ..base.results import StudyResult

try:  # POSIX; elsewhere the lock falls back to an exclusive create
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS
    fcntl = None

#: File every result folder ends with; written last.
MANIFEST = "manifest.json"
#: How every CSV of a result writes its floating-point numbers.
FLOAT_FORMAT = "%.10g"

__all__ = ["FLOAT_FORMAT", "MANIFEST", "atomic_output", "int_at_least", "jobs_int", "lock_path",
           "nonneg_int", "positive_int", "prepare_out", "result_tables", "run_manifest",
           "write_result", "write_tables"]


# --- argparse types --------------------------------------------------------------------


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def int_at_least(low: int, why: str = "") -> Callable[[str], int]:
    """An argparse type: an integer ``>= low``.

    Parameters
    ----------
    low : int
        Smallest accepted value.
    why : str, optional
        The reason for the minimum, added to the refusal.

    Returns
    -------
    callable
        ``f(text) -> int``; raises :class:`argparse.ArgumentTypeError` (argparse turns
        it into a one-line usage error, exit status 2) for a non-integer or a value
        below ``low``.
    """

    def parse(text: str) -> int:
        value = _parse_int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}"
                                             + (f" ({why})" if why else ""))
        return value

    parse.__name__ = f"int>={low}"  # argparse names the type in some messages
    return parse


#: An integer >= 1.
positive_int = int_at_least(1)
#: An integer >= 0.
nonneg_int = int_at_least(0)


def jobs_int(text: str) -> int:
    """An argparse type for ``--jobs``: ``-1`` (all cores) or an integer >= 1.

    ``0`` and other negative values (joblib's "all but n") are refused: a run's
    results never depend on the number of workers, so there is nothing to gain from
    them, and 0 has no meaning.
    """
    value = _parse_int(text)
    if value == -1 or value >= 1:
        return value
    raise argparse.ArgumentTypeError(f"must be -1 (all cores) or an integer >= 1, got {value}")


# --- output folders --------------------------------------------------------------------


def _tmp_prefix(out: Path) -> str:
    return f".{out.name}.tmp-"


def lock_path(out: Path) -> Path:
    """The lock file of an output folder: ``<out>.lock`` beside it."""
    return out.parent / f"{out.name}.lock"


def prepare_out(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check that ``out`` can receive a result, before anything is computed.

    Parameters
    ----------
    out : path
        The output folder.
    overwrite : bool
        Whether an existing result may be replaced.

    Returns
    -------
    pathlib.Path
        ``out`` made absolute.

    Raises
    ------
    OutputError
        ``out`` is an existing file; its parent cannot be created; no folder can be
        created beside it (read-only, no permission); or it is a non-empty folder and
        ``overwrite`` is false, or not a result folder at all (no ``manifest.json``).
    """
    path = Path(out).expanduser().absolute()
    if path.name in ("", ".", ".."):
        raise OutputError(f"--out {out}: name a folder to create, e.g. results/run1")
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {out} is an existing file, not a folder; "
                          "choose another path or remove the file")
    if path.is_dir() and any(path.iterdir()):
        if not (path / MANIFEST).is_file():
            raise OutputError(_not_a_result(out, path))
        if not overwrite:
            raise OutputError(f"--out {out} already holds a result{_made_by(path)}; pass "
                              "--overwrite to replace it whole, or choose another folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a distinct prefix: the stale-folder sweep of a concurrent run must not match it
        probe = tempfile.mkdtemp(prefix=f".{path.name}.probe-", dir=path.parent)
        os.rmdir(probe)
    except OSError as err:
        raise OutputError(f"--out {out}: cannot write in {path.parent} "
                          f"({err.strerror or type(err).__name__})") from None
    return path


def _read_pid(fd: int) -> int | None:
    """The process id a lock file holds (written by the run that held it), or None."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode("ascii", "replace").strip())
    except (OSError, ValueError):
        return None


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


#: Entries of a foreign folder named in the message.
_SHOW = 4


def _not_a_result(out, path: Path) -> str:
    """Message for an ``--out`` folder that holds files but no result of this program."""
    entries = sorted(path.iterdir(), key=lambda p: p.name)
    shown = ", ".join(p.name + ("/" if p.is_dir() else "") for p in entries[:_SHOW])
    more = f" and {len(entries) - _SHOW} more" if len(entries) > _SHOW else ""
    what = "entry" if len(entries) == 1 else "entries"
    return (f"--out {out} is a folder holding {len(entries)} other {what} ({shown}{more}), "
            f"not a result of this program (no {MANIFEST}); it is never written into or "
            f"replaced, even with --overwrite: give a folder that does not exist yet or is "
            f"empty, e.g. --out {Path(out) / 'results'}")


def _made_by(path: Path) -> str:
    """`` (of a `review` run)``, from the result's manifest, or nothing."""
    import json

    try:
        command = json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("command")
    except (OSError, ValueError, AttributeError):
        return ""
    return f" (of a '{command}' run)" if isinstance(command, str) and command else ""


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    lock = lock_path(out)
    busy = OutputError(f"--out {out} is in use by another run (lock file {lock}); wait for "
                       "it to finish or choose another folder")
    if fcntl is None:  # pragma: no cover
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            raise busy from None
        try:
            yield
        finally:
            os.close(fd)
            lock.unlink(missing_ok=True)
        return
    with contextlib.ExitStack() as stack:
        # taking the lock and registering its removal on an interrupt: one step
        with interrupts.deferred():
            while True:
                fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    raise busy from None
                # the holder before us may have unlinked the file after we opened it: then
                # our lock is on a dead inode; start again on the current file
                try:
                    same = os.fstat(fd).st_ino == os.stat(lock).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    break
                os.close(fd)
            stack.callback(os.close, fd)
            stack.callback(_unlink, lock)  # unlink while holding the lock (see loop above)
            stack.enter_context(interrupts.on_interrupt(functools.partial(_unlink, lock)))
            previous = _read_pid(fd)  # a run killed outright (SIGKILL) left its pid here
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        if previous is not None and previous != os.getpid() and not interrupts.pid_alive(previous):
            # its joblib memmapping folders and loky semaphores: nothing else removes them
            interrupts.remove_joblib_files(previous)
        yield


@contextlib.contextmanager
def atomic_output(out: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``out`` only if the block succeeds.

    Parameters
    ----------
    out : path
        The final output folder.
    overwrite : bool
        Replace an existing result whole (otherwise it is refused).

    Yields
    ------
    pathlib.Path
        An empty temporary folder beside ``out``; write everything there, the
        manifest last.

    Raises
    ------
    OutputError
        From :func:`prepare_out` (before the block runs), or when another run holds
        the lock of ``out``.

    Notes
    -----
    See the module docstring for the rule. On success the old result (if any) is moved
    aside, the new folder renamed into place, and the old one deleted; on any
    exception (including ``KeyboardInterrupt``) the temporary folder is deleted and
    ``out`` is left as it was.
    """
    path = prepare_out(out, overwrite)
    with _lock(path), contextlib.ExitStack() as stack:
        path = prepare_out(out, overwrite)  # again, now that no other run can change it
        for stale in path.parent.glob(_tmp_prefix(path) + "*"):  # from killed runs
            shutil.rmtree(stale, ignore_errors=True)
        with interrupts.deferred():  # the folder exists only with its removal registered
            work = Path(tempfile.mkdtemp(prefix=_tmp_prefix(path), dir=path.parent))
            # mkdtemp makes it 0700; the published folder gets the mode of any new folder
            os.chmod(work, 0o777 & ~_umask())
            stack.enter_context(interrupts.on_interrupt(
                functools.partial(shutil.rmtree, work, ignore_errors=True)))
        try:
            yield work
            with interrupts.deferred():  # publishing is not cut in half by a signal
                _publish(work, path)
                interrupts.mark_complete()
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _publish(work: Path, path: Path) -> None:
    """Rename ``work`` to ``path``, replacing a previous result whole."""
    old = None
    if path.is_dir():
        if any(path.iterdir()):
            old = path.parent / (_tmp_prefix(path) + "old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        else:
            path.rmdir()
    try:
        os.replace(work, path)
    except OSError:
        if old is not None:  # put the previous result back
            os.replace(old, path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- writing a result --------------------------------------------------------------------


def run_manifest(command: str, *, seed: int | None = None, data_files: bool = True,
                 **extra) -> dict:
    """The keys every manifest starts with: ``command``, ``package_versions``, (with
    ``data_files``) the ENHANCE commit and the SHA-256 of the files read
    (:data:`analysis.loading.tidy.REQUIRED_FILES`), ``seed`` (when given), then ``extra``."""
    from ..loading import data
    from ..loading.tidy import REQUIRED_FILES
    from ..studies.reproduce import package_versions

    out: dict = {"command": command, "package_versions": package_versions()}
    if data_files:
        out["data_commit"] = data.ENHANCE_COMMIT
        out["data_sha256"] = data.read_hashes(REQUIRED_FILES)
    if seed is not None:
        out["seed"] = seed
    return {**out, **extra}


def write_tables(out: Path, tables: dict, manifest: dict) -> None:
    """Write each table as CSV (:data:`FLOAT_FORMAT`, no index), then (last) the
    manifest as JSON, into ``out``."""
    out = Path(out)
    for name, frame in tables.items():
        frame.to_csv(out / name, index=False, float_format=FLOAT_FORMAT)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def write_result(res: StudyResult, out: Path, manifest: dict | None = None) -> dict:
    """Write a study's result into ``out``: its tables (:func:`result_tables`) as CSV
    files, then the manifest, ``manifest`` (the command's keys, e.g. from
    :func:`run_manifest`) followed by the result's ``settings``, ``elapsed_seconds`` and ``notes``
    (:meth:`analysis.base.results.StudyResult.manifest`, which take precedence).

    Returns
    -------
    dict
        The tables written, by file name.
    """
    tables = result_tables(res)
    write_tables(out, tables, {**(manifest or {}), **res.manifest()})
    return tables


def result_tables(res: StudyResult) -> dict:
    """The tables a command writes for a study's result, by file name: ``res.tables()``
    (numbers and verdicts) and, for a review (an :class:`analysis.studies.review.Review`, or
    a result holding one as ``review``, as ``analyze``'s does), its worded tables
    ``claims.csv`` and ``tests.csv`` (:func:`analysis.presentation.claims.tables`)."""
    from ..studies.review import Review
    from .claims import tables as worded

    rv = res if isinstance(res, Review) else getattr(res, "review", None)
    return {**res.tables(), **(worded(rv) if isinstance(rv, Review) else {})}
