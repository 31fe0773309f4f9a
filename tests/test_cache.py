"""analysis.presentation.cache: hit/miss, invalidation, corrupt entries, disabled mode."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.presentation import cache


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "c"))
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    monkeypatch.setattr(cache, "_data_hashes", lambda: {"a.csv": "00"})
    return tmp_path / "c"


class Counter:
    def __init__(self, value):
        self.calls = 0
        self.value = value

    def __call__(self):
        self.calls += 1
        return self.value


def frame():
    return pd.DataFrame({"x": [1.0, 2.5], "y": ["a", "b"]})


def test_miss_then_hit(tmp_cache):
    f = Counter(frame())
    a = cache.cached("exp", {"seed": 1, "sets": ("a", "b")}, f)
    b = cache.cached("exp", {"sets": ["a", "b"], "seed": 1}, f)  # same key, other order
    assert f.calls == 1
    pd.testing.assert_frame_equal(a, b)
    assert len(list(tmp_cache.glob("*.pkl"))) == 1
    assert not list(tmp_cache.glob("*.tmp"))


def test_key_name_data_and_source_invalidate(monkeypatch):
    f = Counter(frame())
    cache.cached("exp", {"seed": 1}, f)
    cache.cached("exp", {"seed": 2}, f)
    cache.cached("other", {"seed": 1}, f)
    assert f.calls == 3
    monkeypatch.setattr(cache, "_data_hashes", lambda: {"a.csv": "11"})
    cache.cached("exp", {"seed": 1}, f)
    assert f.calls == 4
    monkeypatch.setattr(cache, "source_hash", lambda *a: "changed")
    cache.cached("exp", {"seed": 1}, f)
    assert f.calls == 5
    monkeypatch.setattr(cache, "package_version", lambda: "9.9")
    cache.cached("exp", {"seed": 1}, f)
    assert f.calls == 6


def test_source_hash_follows_files(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text("x = 1\n")
    h1 = cache._source_hash.__wrapped__(str(pkg))
    (pkg / "m.py").write_text("x = 2\n")
    h2 = cache._source_hash.__wrapped__(str(pkg))
    assert h1 != h2
    assert len(cache.source_hash()) == 64


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05\x95garbage"])
def test_corrupt_entry_is_recomputed(garbage):
    f = Counter(frame())
    cache.cached("exp", {"seed": 1}, f)
    path = cache.entry_path("exp", {"seed": 1})
    path.write_bytes(garbage)
    with pytest.warns(cache.CacheWarning, match="recomputing"):
        out = cache.cached("exp", {"seed": 1}, f)
    assert f.calls == 2
    pd.testing.assert_frame_equal(out, frame())
    cache.cached("exp", {"seed": 1}, f)  # the entry was rewritten
    assert f.calls == 2


def test_disabled(monkeypatch, tmp_cache):
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    f = Counter(frame())
    cache.cached("exp", {"seed": 1}, f)
    cache.cached("exp", {"seed": 1}, f)
    assert f.calls == 2
    assert not tmp_cache.exists()


def test_unwritable_value_still_returned():
    out = cache.cached("exp", {"seed": 1}, lambda: (lambda: 1))  # lambdas do not pickle
    assert callable(out)
    assert not list(cache.cache_dir().glob("*.tmp"))


def test_bad_key_part():
    with pytest.raises(TypeError):
        cache.cache_key("exp", {"f": object()})


def test_clear(tmp_cache):
    cache.cached("exp", {"seed": 1}, Counter(1))
    assert cache.clear() == 1
    assert not list(tmp_cache.glob("*.pkl"))
