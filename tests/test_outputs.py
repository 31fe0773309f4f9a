"""analysis.presentation.outputs: validated option types and all-or-nothing output folders."""

from __future__ import annotations

import argparse
import errno
import os
import subprocess
import sys
import time

import pytest

from analysis.base.errors import CrowdDisagreementError
from analysis.presentation import outputs
from analysis.presentation.outputs import OutputError, atomic_output


def test_int_at_least_accepts_and_refuses():
    f = outputs.int_at_least(19)
    assert f("19") == 19 and f("2000") == 2000
    for bad in ("18", "-1", "x", "1.5", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            f(bad)
    assert outputs.nonneg_int("0") == 0
    with pytest.raises(argparse.ArgumentTypeError):
        outputs.positive_int("0")


def test_jobs_is_minus_one_or_positive():
    assert outputs.jobs_int("-1") == -1 and outputs.jobs_int("3") == 3
    for bad in ("0", "-2"):
        with pytest.raises(argparse.ArgumentTypeError, match="-1"):
            outputs.jobs_int(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="not an integer"):
        outputs.jobs_int("two")


def _siblings(path):
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def test_success_renames_into_place_and_leaves_nothing_else(tmp_path):
    out = tmp_path / "res"
    with atomic_output(out) as work:
        assert work.parent == tmp_path and work != out and not out.exists()
        assert outputs.lock_path(out).exists()  # held while the block runs
        (work / "a.csv").write_text("x\n1\n")
        (work / "manifest.json").write_text("{}\n")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "manifest.json"]
    assert _siblings(out) == []  # no temporary folder, no lock file


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_interrupted_block_leaves_no_folder(tmp_path, exc):
    out = tmp_path / "res"
    with pytest.raises(type(exc)):
        with atomic_output(out) as work:
            (work / "a.csv").write_text("partial\n")
            raise exc
    assert not out.exists()
    assert _siblings(out) == []


def test_existing_result_refused_unless_overwrite_then_replaced_whole(tmp_path):
    out = tmp_path / "res"
    with atomic_output(out) as work:
        (work / "old.csv").write_text("1\n")
        (work / "manifest.json").write_text("{}\n")
    with pytest.raises(OutputError, match="--overwrite"):
        with atomic_output(out):
            pytest.fail("the block must not run")  # pragma: no cover
    assert (out / "old.csv").is_file()
    with atomic_output(out, overwrite=True) as work:
        (work / "new.csv").write_text("2\n")
        (work / "manifest.json").write_text("{}\n")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "new.csv"]
    assert _siblings(out) == []


def test_failed_overwrite_keeps_the_old_result(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "manifest.json").write_text('{"run": 1}\n')
    with pytest.raises(ValueError):
        with atomic_output(out, overwrite=True):
            raise ValueError
    assert (out / "manifest.json").read_text() == '{"run": 1}\n'


def test_empty_existing_folder_is_used(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    with atomic_output(out) as work:
        (work / "manifest.json").write_text("{}\n")
    assert (out / "manifest.json").is_file()


def test_foreign_folder_never_deleted_even_with_overwrite(tmp_path):
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("precious\n")
    with pytest.raises(OutputError, match="manifest.json"):
        outputs.prepare_out(out, overwrite=True)
    assert (out / "thesis.tex").is_file()


def test_out_is_a_file(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(OutputError, match="existing file") as err:
        outputs.prepare_out(f, overwrite=True)
    assert isinstance(err.value, CrowdDisagreementError) and "\n" not in str(err.value)


def test_parent_is_a_file_or_not_writable(tmp_path, monkeypatch):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        outputs.prepare_out(tmp_path / "file.txt" / "res")

    def read_only(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(outputs.tempfile, "mkdtemp", read_only)
    with pytest.raises(OutputError, match="Read-only"):
        outputs.prepare_out(tmp_path / "res")


def test_second_run_into_the_same_out_is_refused(tmp_path):
    out = tmp_path / "res"
    with atomic_output(out):
        with pytest.raises(OutputError, match="in use"):
            with atomic_output(out):
                pytest.fail("the block must not run")  # pragma: no cover
    with atomic_output(out) as work:  # free again afterwards
        (work / "manifest.json").write_text("{}\n")


def test_lock_of_a_killed_process_is_not_stale(tmp_path):
    """A lock held by another process refuses; once that process is killed it is free,
    and the temporary folder it left is removed by the next run."""
    out = tmp_path / "res"
    code = ("import sys, time\nfrom analysis.presentation.outputs import atomic_output\n"
            "with atomic_output(sys.argv[1]) as w:\n"
            "    (w / 'a.csv').write_text('partial')\n"
            "    print('ready', flush=True)\n    time.sleep(60)\n")
    env = {**os.environ, "PYTHONPATH": str(outputs.Path(outputs.__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE,
                            env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(OutputError, match="in use"):
            outputs.atomic_output(out).__enter__()
    finally:
        proc.kill()
        proc.wait()
    assert not out.exists() and any(p.name.startswith(".res.tmp-") for p in tmp_path.iterdir())
    t0 = time.monotonic()
    with atomic_output(out) as work:
        (work / "manifest.json").write_text("{}\n")
    assert time.monotonic() - t0 < 5
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert _siblings(out) == []


def test_a_stale_lock_of_a_dead_run_cleans_its_joblib_files_only(tmp_path, monkeypatch):
    """The pid in a lock file left by a killed run names its joblib memmapping folders and
    loky semaphores; they are removed only when that process is dead."""
    shm = tmp_path / "shm"
    shm.mkdir()
    monkeypatch.setenv("JOBLIB_TEMP_FOLDER", str(shm))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = os.getppid()

    def leave(pid):
        (shm / f"joblib_memmapping_folder_{pid}_a_b").mkdir()
        (shm / f"joblib_memmapping_folder_{pid}_a_b" / "x.pkl").write_bytes(b"0" * 10)
        (shm / f"sem.loky-{pid}-abc").write_bytes(b"")

    out = tmp_path / "res"
    for pid in (alive, dead.pid):
        leave(pid)
        outputs.lock_path(out).write_text(f"{pid}\n")
        with atomic_output(out, overwrite=True) as work:
            (work / "manifest.json").write_text("{}\n")
    left = sorted(p.name for p in shm.iterdir())
    assert left == [f"joblib_memmapping_folder_{alive}_a_b", f"sem.loky-{alive}-abc"]
    (shm / "unrelated").mkdir()
    assert outputs.interrupts.remove_joblib_files(alive) and \
        sorted(p.name for p in shm.iterdir()) == ["unrelated"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o027, 0o750), (0o077, 0o700)])
def test_published_folder_follows_the_umask(tmp_path, umask, mode):
    import os
    import stat

    old = os.umask(umask)
    try:
        with atomic_output(tmp_path / "res") as work:
            (work / "manifest.json").write_text("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "res").stat().st_mode) == mode
