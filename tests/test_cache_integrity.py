"""The cache can't lie or crash: data verified (and hashed) before any lookup, corrupt or
foreign entries recomputed with a warning, concurrent writers never leave a torn entry.
Uses a small fake data folder and registry, so no ENHANCE copy is needed."""

from __future__ import annotations

import hashlib
import multiprocessing
import pickle

import numpy as np
import pytest

from analysis.loading import data
from analysis.presentation import cache

FILES = {"labels.csv": b"image_id,melanoma\nISIC_0000001,1\nISIC_0000002,0\n",
         "scores.csv": b"ID;a1\nISIC_0000001;3\nISIC_0000002;4\n"}


@pytest.fixture
def fake_data(tmp_path, monkeypatch):
    """A local copy with two files and a registry of their hashes; a fresh cache."""
    root = tmp_path / "enhance"
    for rel, content in FILES.items():
        (root / "0_data").mkdir(parents=True, exist_ok=True)
        (root / "0_data" / rel).write_bytes(content)
    reg = {rel: hashlib.sha256(c).hexdigest() for rel, c in FILES.items()}
    monkeypatch.setattr(data, "registry", lambda: reg)
    monkeypatch.setenv(data.DATA_ENV, str(root))
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    return root / "0_data"


class Counter:
    def __init__(self, value="result"):
        self.calls, self.value = 0, value

    def __call__(self):
        self.calls += 1
        return self.value


@pytest.mark.parametrize("tamper", ["digit", "row", "missing_folder", "missing_file"])
def test_warm_cache_never_hides_bad_data(fake_data, monkeypatch, tamper):
    f = Counter()
    assert cache.cached("exp", {"seed": 1}, f) == "result"
    assert cache.cached("exp", {"seed": 1}, f) == "result" and f.calls == 1  # warm
    target = fake_data / "scores.csv"
    if tamper == "digit":
        target.write_bytes(FILES["scores.csv"].replace(b";4", b";5"))
    elif tamper == "row":
        target.write_bytes(FILES["scores.csv"].rsplit(b"\n", 2)[0] + b"\n")
    elif tamper == "missing_folder":
        monkeypatch.setenv(data.DATA_ENV, str(fake_data.parent / "nowhere"))
    else:
        target.unlink()
    with pytest.raises(data.DataError, match="scores.csv|labels.csv"):
        cache.cached("exp", {"seed": 1}, f)
    assert f.calls == 1  # neither the entry nor a computation was used


def test_key_uses_measured_hashes(fake_data):
    hashes = data.verify_all()
    assert hashes == {rel: hashlib.sha256(c).hexdigest() for rel, c in FILES.items()}
    assert data.read_hashes(["scores.csv"]) == {"scores.csv": hashes["scores.csv"]}


def test_report_build_verifies_data_before_the_cache(fake_data, monkeypatch):
    from analysis.presentation.report import ReportData

    f = Counter()
    monkeypatch.setattr(ReportData, "compute", classmethod(lambda cls, **kw: f()))
    assert ReportData.build(repeats=1) == "result"
    assert ReportData.build(repeats=1) == "result" and f.calls == 1
    (fake_data / "labels.csv").write_bytes(FILES["labels.csv"].replace(b",1\n", b",0\n"))
    with pytest.raises(data.DataError, match="labels.csv"):
        ReportData.build(repeats=1)
    assert f.calls == 1


def _entry(fake_data):
    f = Counter(np.arange(1000, dtype=float))
    cache.cached("exp", {"seed": 1}, f)
    return f, cache.entry_path("exp", {"seed": 1})


def test_flipped_byte_that_still_unpickles_is_caught(fake_data):
    f, path = _entry(fake_data)
    blob = bytearray(path.read_bytes())
    # change one byte inside the float data: pickle would still load it, wrongly
    blob[-200] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.warns(cache.CacheWarning, match="hash differs"):
        out = cache.cached("exp", {"seed": 1}, f)
    np.testing.assert_array_equal(out, np.arange(1000, dtype=float))
    assert f.calls == 2


@pytest.mark.parametrize("keep", [0.5, 0.01])
def test_truncated_entry_is_recomputed_with_a_warning(fake_data, keep):
    f, path = _entry(fake_data)
    blob = path.read_bytes()
    path.write_bytes(blob[: int(len(blob) * keep)])
    with pytest.warns(cache.CacheWarning):
        cache.cached("exp", {"seed": 1}, f)
    assert f.calls == 2
    cache.cached("exp", {"seed": 1}, f)  # rewritten whole
    assert f.calls == 2


def test_entry_of_another_key_is_not_used(fake_data):
    f, path = _entry(fake_data)
    other = cache.entry_path("exp", {"seed": 2})
    other.write_bytes(path.read_bytes())  # e.g. a file copied by hand
    g = Counter("seed 2")
    with pytest.warns(cache.CacheWarning, match="another key"):
        assert cache.cached("exp", {"seed": 2}, g) == "seed 2"


def _writer(path, full_key, n, start):
    for i in range(n):
        cache._write_atomic(path, np.full(50_000, float(start + i)), full_key)


def test_concurrent_writers_never_leave_a_torn_entry(tmp_path):
    path = tmp_path / "c" / "exp.pkl"
    cache._write_atomic(path, np.zeros(50_000), "k")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, "k", 40, 1000 * w)) for w in (1, 2)]
    for p in procs:
        p.start()
    reads = 0
    while any(p.is_alive() for p in procs) or reads == 0:
        v = cache._read_entry(path, "k")  # raises if torn
        assert v.shape == (50_000,) and (v == v[0]).all()
        reads += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert not list(path.parent.glob("*.tmp"))
    assert reads > 0


def test_entry_format_has_hash_header(fake_data):
    _, path = _entry(fake_data)
    blob = path.read_bytes()
    assert blob.startswith(cache.MAGIC)
    digest, _, payload = blob[len(cache.MAGIC):].partition(b"\n")
    assert hashlib.sha256(payload).hexdigest().encode() == digest
    assert set(pickle.loads(payload)) == {"key", "value"}
