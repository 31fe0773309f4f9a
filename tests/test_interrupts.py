"""Interrupts of a computing command, with real processes and real signals.

`crowd-disagreement analyze` runs on the example data set with two loky workers; once
the workers compute (CPU time) and joblib has a memmapping folder, the test sends
SIGINT or SIGTERM to the main process or to the whole process group (what Ctrl-C in a
terminal, SLURM and systemd do). The run must end within a bounded time with one line
on stderr and status 128 + signal, leaving no output folder, no temporary folder, no
lock file, no joblib or loky file in shared memory, and no worker process alive.
After SIGKILL of the whole group (nothing can clean up), the next run into the same
``--out`` removes what the killed run left.

Linux only: the tests read /proc to find the worker processes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from analysis.presentation import outputs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "examples"
#: Seconds a run may take to stop after the signal (it stops in well under one).
STOP_TIMEOUT = 60
#: Seconds to wait for the workers to be computing.
START_TIMEOUT = 120

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/stat").exists() or not hasattr(os, "killpg"),
                       reason="needs Linux /proc and process groups"),
    pytest.mark.timeout(STOP_TIMEOUT + START_TIMEOUT + 60),
]


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _descendants(pid: int) -> set[int]:
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parent[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - found
        found |= frontier
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _joblib_leftovers(pid: int) -> list[str]:
    """joblib memmapping folders and loky semaphores of process ``pid``."""
    roots = {"/dev/shm", tempfile.gettempdir(), os.environ.get("JOBLIB_TEMP_FOLDER") or "/dev/shm"}
    found = []
    for root in roots:
        if os.path.isdir(root):
            found += [os.path.join(root, n) for n in os.listdir(root)
                      if n.startswith((f"joblib_memmapping_folder_{pid}_", f"sem.loky-{pid}-"))]
    return sorted(found)


def _start_analyze(tmp_path: Path):
    """`analyze` of the example in its own session (its own process group), with two
    workers; returns the process, its --out and the files holding stdout/stderr."""
    out = tmp_path / "runs" / "res"
    out.parent.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("JOBLIB_MULTIPROCESSING", None)
    cmd = [sys.executable, "-m", "analysis.cli", "analyze",
           "--annotations", str(EXAMPLE / "annotations.csv"),
           "--labels", str(EXAMPLE / "labels.csv"), "--positive", "malignant",
           "--out", str(out), "--jobs", "2"]
    with open(logs / "stdout", "w") as so, open(logs / "stderr", "w") as se:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=so, stderr=se,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return proc, out, logs


def _wait_until_workers_compute(proc) -> set[int]:
    """Block until two loky workers of ``proc`` have used a second of CPU each and joblib
    has a memmapping folder; return every process descending from ``proc`` then."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before the workers started"
        workers = [p for p in _descendants(proc.pid) if "popen_loky_posix" in _cmdline(p)]
        busy = [p for p in workers if _cpu_seconds(p) >= 1.0]
        if len(busy) >= 2 and any("joblib_memmapping" in f for f in _joblib_leftovers(proc.pid)):
            return _descendants(proc.pid)
        time.sleep(0.1)
    pytest.fail(f"workers did not start computing within {START_TIMEOUT} s")


def _stop(proc, timeout: float) -> float:
    """Wait for ``proc``; on a hang, kill its group and fail. Returns the seconds taken."""
    t0 = time.monotonic()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stuck = {p: _stat(p)[0] for p in _descendants(proc.pid) if _stat(p)}
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"the run hung {timeout} s after the signal; its processes: {stuck}")
    return time.monotonic() - t0


def _gone(pids, within: float = 5.0) -> list[int]:
    """Processes of ``pids`` still running after ``within`` seconds."""
    deadline = time.monotonic() + within
    while (alive := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


@pytest.mark.parametrize("target", ["main", "group"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_workers_run_stops_cleanly(tmp_path, sig, target):
    proc, out, logs = _start_analyze(tmp_path)
    try:
        family = _wait_until_workers_compute(proc)
        if target == "group":
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        _stop(proc, STOP_TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not _gone(family), "worker processes still running after the run ended"
    time.sleep(0.5)  # anything a leftover helper process would still print
    err = (logs / "stderr").read_text()
    assert "Traceback" not in err and "Warning" not in err, err
    # the stages run so far announced themselves ("analyze: STAGE ..." and their times);
    # the interrupt adds one line, the last
    lines = err.splitlines()
    progress = [x for x in lines[:-1] if re.fullmatch(r"analyze: .+ (\.\.\.|[0-9.]+ s)", x)]
    assert lines[-1:] == [f"crowd-disagreement: interrupted ({sig.name}); nothing was "
                          f"written to {out}"], err
    assert progress == lines[:-1], err
    assert proc.returncode == 128 + sig
    assert sorted(p.name for p in out.parent.iterdir()) == []  # no out, tmp folder or lock
    assert _joblib_leftovers(proc.pid) == []


def test_next_run_cleans_what_a_killed_run_left(tmp_path):
    """SIGKILL of the whole group: nothing runs any cleanup. The next run into the same
    --out removes the temporary folder, the lock and the killed run's joblib/loky files
    in shared memory (identified by the dead pid written in the lock file)."""
    proc, out, logs = _start_analyze(tmp_path)
    try:
        family = _wait_until_workers_compute(proc)
        os.killpg(proc.pid, signal.SIGKILL)
        _stop(proc, STOP_TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not _gone(family)
    left = sorted(p.name for p in out.parent.iterdir())
    assert "res.lock" in left and any(n.startswith(".res.tmp-") for n in left), left
    assert outputs.lock_path(out).read_text().strip() == str(proc.pid)
    assert _joblib_leftovers(proc.pid), "the killed run left no joblib folder to clean"
    with outputs.atomic_output(out) as work:
        (work / "manifest.json").write_text("{}\n")
    assert sorted(p.name for p in out.parent.iterdir()) == ["res"]
    assert _joblib_leftovers(proc.pid) == []


def test_signal_while_the_result_is_published_is_acted_on_after(tmp_path):
    """A signal during the renames that publish a result waits for them: the result is
    complete, the message says so, nothing else is left."""
    out = tmp_path / "runs" / "res"
    code = ("import os, signal, sys\nfrom analysis.base import interrupts\nfrom analysis.presentation import outputs\n"
            "publish = outputs._publish\n"
            "def interrupted_publish(work, path):\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "    publish(work, path)\n"
            "outputs._publish = interrupted_publish\n"
            "with interrupts.guard(sys.argv[1]), outputs.atomic_output(sys.argv[1]) as w:\n"
            "    (w / 'manifest.json').write_text('{}')\n"
            "print('not reached', flush=True)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code, str(out)], env=env, capture_output=True,
                          text=True, timeout=STOP_TIMEOUT)
    assert proc.returncode == 128 + signal.SIGTERM
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [f"crowd-disagreement: interrupted (SIGTERM) after the "
                                        f"result was complete in {out}"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["res"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
