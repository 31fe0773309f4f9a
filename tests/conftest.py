"""Shared fixtures and the real-data rule.

Tests that need the ENHANCE files carry the ``needs_data`` mark (or use the
``annotations``/``group7`` fixtures). They run whenever the data can be had the normal
way (:mod:`analysis.loading.data`): the local copy named by ``CROWD_DISAGREEMENT_DATA`` (or the
shared mirror beside the checkout), else the download cache, else a download with pooch
from the pinned commit -- tried only after a short probe of the server, so that a
machine without network is not held up. Only when none works are they skipped, and
the run ends with one line saying how many were skipped and why.
"""

from __future__ import annotations

import os
import tempfile
import threading
import urllib.request
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline (a loaded 2-core CI machine must not turn speed into a
# failure) and derandomized examples (a run is reproducible).
settings.register_profile("project", deadline=None, derandomize=True)
settings.load_profile("project")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
_DEFAULT_MIRROR = ROOT.parent / "shared" / "data" / "enhance"

if "CROWD_DISAGREEMENT_DATA" not in os.environ and (_DEFAULT_MIRROR / "0_data").is_dir():
    os.environ["CROWD_DISAGREEMENT_DATA"] = str(_DEFAULT_MIRROR)

#: Seconds the availability probe of the download server may take.
PROBE_TIMEOUT = 5.0
#: Start of the reason of every real-data skip (the summary line counts them).
SKIP_PREFIX = "ENHANCE data unavailable"

#: Mark of the tests that need the real data.
needs_data = pytest.mark.needs_data


def _probe(url: str, timeout: float) -> str | None:
    """None if ``url`` answers within ``timeout`` seconds, else why not. Run in a
    thread joined with a deadline: a DNS lookup ignores socket timeouts."""
    result: list[str | None] = [f"no answer within {timeout:.0f} s"]

    def run():
        try:
            req = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(req, timeout=timeout):
                result[0] = None
        except Exception as err:  # noqa: BLE001 - any failure means "unavailable"
            result[0] = f"{type(err).__name__}: {err}"

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout + 1.0)
    return result[0]


@cache
def data_status() -> tuple[Path | None, str]:
    """(root holding ``0_data/``, how it was found) or (None, why the data cannot be had)."""
    from analysis.loading import data, tidy

    env = os.environ.get(data.DATA_ENV)
    if env:
        if (Path(env) / "0_data").is_dir():
            return Path(env), f"local copy {env}"
        return None, f"{data.DATA_ENV}={env} holds no 0_data/ folder"
    cached = data.cache_dir()
    if not all((cached / rel).is_file() for rel in data.registry()):
        why = _probe(data.url(tidy.LABELS_FILE), PROBE_TIMEOUT)
        if why is not None:
            return None, (f"no local copy ({data.DATA_ENV} unset) and the download server "
                          f"is unreachable ({why})")
    try:
        data.fetch_all()  # from the cache, or downloaded (verified either way)
    except data.DataError as err:
        return None, f"download failed: {err}"
    # tests read the originals under <root>/0_data: point that at the download cache
    root = Path(tempfile.mkdtemp(prefix="enhance-"))
    (root / "0_data").symlink_to(cached.resolve(), target_is_directory=True)
    return root, f"download cache {cached}"


def mirror() -> Path | None:
    """A folder holding ``0_data/`` with verified ENHANCE files, or None."""
    return data_status()[0]


def _uses_data(item) -> bool:
    return (item.get_closest_marker("needs_data") is not None
            or bool({"annotations", "group7"} & set(getattr(item, "fixturenames", ()))))


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_data: needs the ENHANCE files (skipped, "
                                       "counted in one line, when they cannot be had)")


def pytest_collection_modifyitems(config, items):
    wanted = [item for item in items if _uses_data(item)]
    if not wanted:
        return  # no probe, no download when no selected test needs the data
    root, why = data_status()
    if root is None:
        skip = pytest.mark.skip(reason=f"{SKIP_PREFIX}: {why}")
        for item in wanted:
            item.add_marker(skip)
    elif "CROWD_DISAGREEMENT_DATA" not in os.environ:
        os.environ["CROWD_DISAGREEMENT_DATA"] = str(root)  # read the verified download


def pytest_terminal_summary(terminalreporter):
    """One line per distinct skip reason, with the count (the real-data one first)."""
    reasons: Counter[str] = Counter()
    for rep in terminalreporter.stats.get("skipped", []):
        longrepr = rep.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    for reason, n in sorted(reasons.items(), key=lambda kv: not kv[0].startswith(SKIP_PREFIX)):
        if reason.startswith(SKIP_PREFIX):
            terminalreporter.write_line(f"real-data tests: {n} skipped ({reason})")
        else:
            terminalreporter.write_line(f"{n} skipped: {reason}")


@pytest.fixture(scope="session")
def annotations():
    if mirror() is None:
        pytest.skip(f"{SKIP_PREFIX}: {data_status()[1]}")
    from analysis.studies import reproduce

    return reproduce.load_annotations()


@pytest.fixture(scope="session")
def group7(annotations):
    from analysis.studies import reproduce

    return reproduce.load_group(annotations=annotations)


def assert_vocabulary(tables, command: str | None = None) -> None:
    """Every table's columns keep to :mod:`analysis.base.columns` (no ``ci_low``, ``p``, ``se``
    ...; interval ends in pairs); ``tables`` is a CLI output folder or a dict of name ->
    DataFrame. With ``command``, no file still carries a name :data:`~analysis.base.columns.
    RENAMED` lists as old for it, and every file it lists carries at least one new name."""
    import pandas as pd

    from analysis.base import columns

    if isinstance(tables, (str, Path)):
        tables = {p.name: pd.read_csv(p, nrows=2) for p in sorted(Path(tables).glob("*.csv"))}
    assert tables, "no table to check"
    bad = {name: columns.violations(t.columns) for name, t in tables.items()}
    assert not {k: v for k, v in bad.items() if v}, bad
    for name, renames in (columns.RENAMED.get(command, {}) if command else {}).items():
        if name not in tables:
            continue
        have = set(tables[name].columns)
        assert not have & set(renames), (name, have & set(renames))
        assert have & set(renames.values()), (name, sorted(renames.values()))
