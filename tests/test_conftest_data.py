"""The real-data rule of tests/conftest.py: use the data when it can be had (local copy,
download cache, download), else skip with one summary line -- quickly when offline."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import conftest
import pytest

from analysis.loading import data

FILES = {"a.csv": b"x\n1\n", "sub/b.csv": b"y\n2\n"}


@pytest.fixture
def fake_registry(monkeypatch, tmp_path):
    reg = {rel: hashlib.sha256(c).hexdigest() for rel, c in FILES.items()}
    monkeypatch.setattr(data, "registry", lambda: reg)
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "dl"))
    return tmp_path / "dl"


def test_local_copy_without_0_data_is_a_reason(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "nowhere"))
    root, why = conftest.data_status.__wrapped__()
    assert root is None and data.DATA_ENV in why


def test_filled_download_cache_is_used_without_network(fake_registry, monkeypatch):
    for rel, c in FILES.items():
        (fake_registry / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake_registry / rel).write_bytes(c)
    monkeypatch.setattr(conftest, "_probe", lambda *a: pytest.fail("probed the network"))
    root, why = conftest.data_status.__wrapped__()
    assert root is not None and "download cache" in why
    assert (root / "0_data" / "sub" / "b.csv").read_bytes() == FILES["sub/b.csv"]


def test_unreachable_server_is_a_reason_not_a_hang(fake_registry, monkeypatch):
    monkeypatch.setattr(conftest, "_probe", lambda url, timeout: "URLError: unreachable")
    root, why = conftest.data_status.__wrapped__()
    assert root is None and "unreachable" in why and data.DATA_ENV in why


def test_probe_gives_up_at_its_timeout():
    t0 = time.monotonic()
    # a non-routable address: the connection attempt would otherwise hang for minutes
    why = conftest._probe("http://10.255.255.1/x", timeout=0.5)
    assert why is not None and time.monotonic() - t0 < 3


def test_skips_are_one_counted_line(tmp_path):
    (tmp_path / "conftest.py").write_text(Path(conftest.__file__).read_text())
    (tmp_path / "test_x.py").write_text(
        "from conftest import needs_data\n\n"
        "@needs_data\ndef test_a():\n    pass\n\n"
        "@needs_data\ndef test_b():\n    pass\n\n"
        "def test_c(annotations):\n    pass\n\n"
        "def test_d():\n    pass\n")
    env = {**os.environ, data.DATA_ENV: str(tmp_path / "nowhere"),
           "PYTHONPATH": str(Path(data.__file__).parents[2])}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:xdist", "-p", "no:randomly", str(tmp_path)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("real-data tests:")]
    assert lines == [f"real-data tests: 3 skipped ({conftest.SKIP_PREFIX}: "
                     f"{data.DATA_ENV}={tmp_path / 'nowhere'} holds no 0_data/ folder)"], res.stdout
    assert "1 passed, 3 skipped" in res.stdout
