"""A small on-disk cache for expensive computations (cross-validation, the review).

:func:`cached` stores the value returned by ``compute()`` under a key that names
everything the value depends on, so that re-rendering the report recomputes only
what changed:

* the computation's ``name`` and its parameters (``key``: seed, repeats, ...);
* the version of the ``crowd-disagreement`` package;
* a hash of the source of every ``.py`` file of the :mod:`analysis` package (a
  change to any analysis code invalidates every entry);
* the registered SHA-256 of every data file (:func:`analysis.data.data_hashes`).

Entries are pickles in ``CROWD_DISAGREEMENT_CACHE_DIR`` or ``<repo>/_cache/``
(git-ignored), one file per key, written atomically (temporary file, then
``os.replace``), so that an interrupted or concurrent write never leaves a partial
entry.  An entry that cannot be read (truncated, corrupt, from an incompatible
library version) is recomputed and overwritten; the cache never makes a
computation fail.  ``CROWD_DISAGREEMENT_NO_CACHE=1`` turns it off (every call
computes).

Example
-------
>>> from analysis.cache import cached
>>> exp = cached("run_experiments", {"repeats": 100, "seed": 2018},
...              lambda: reproduce.run_experiments(design, repeats=100))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Folder of the cache entries (default ``<repo>/_cache``).
CACHE_DIR_ENV = "CROWD_DISAGREEMENT_CACHE_DIR"
#: Set to 1 (or true/yes) to disable the cache.
NO_CACHE_ENV = "CROWD_DISAGREEMENT_NO_CACHE"

_PACKAGE_DIR = Path(__file__).resolve().parent
_ROOT = _PACKAGE_DIR.parent


def enabled() -> bool:
    """False when ``CROWD_DISAGREEMENT_NO_CACHE`` is set to 1, true or yes."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("1", "true", "yes")


def cache_dir() -> Path:
    """Folder of the entries: ``CROWD_DISAGREEMENT_CACHE_DIR`` or ``<repo>/_cache``."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env).expanduser() if env else _ROOT / "_cache"


def package_version() -> str:
    try:
        return metadata.version("crowd-disagreement")
    except metadata.PackageNotFoundError:
        return "unknown"


def source_hash(package_dir: Path | None = None) -> str:
    """SHA-256 over the relative paths and bytes of the package's ``.py`` files."""
    return _source_hash(str(package_dir or _PACKAGE_DIR))


@lru_cache(maxsize=8)
def _source_hash(package_dir: str) -> str:
    root = Path(package_dir)
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _data_hashes() -> dict[str, str]:
    from .data import data_hashes

    return data_hashes()


def _canonical(obj: Any) -> Any:
    """JSON-able form of a key part; tuples become lists, numpy scalars Python ones."""
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "shape", None) == ():
        return obj.item()  # numpy scalar
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    raise TypeError(f"cache key parts must be JSON-like, got {type(obj).__name__}")


def cache_key(name: str, key: dict) -> str:
    """SHA-256 of the canonical JSON of everything an entry depends on."""
    doc = {
        "name": name,
        "key": _canonical(key),
        "version": package_version(),
        "source": source_hash(),
        "data": _data_hashes(),
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def entry_path(name: str, key: dict) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
    return cache_dir() / f"{safe}-{cache_key(name, key)[:32]}.pkl"


def _write_atomic(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def cached(name: str, key: dict, compute: Callable[[], T]) -> T:
    """Return ``compute()``, from the on-disk cache when an entry for the key exists.

    Parameters
    ----------
    name : str
        What is computed (e.g. ``"run_experiments"``); part of the key and of the
        file name.
    key : dict
        The parameters the value depends on (JSON-like: str, int, float, bool,
        None, lists, tuples, dicts). Data hashes, package version and source hash
        are added automatically.
    compute : callable
        Called without arguments on a miss (or when the cache is disabled).

    Returns
    -------
    The value, pickled on a miss. A corrupt or unreadable entry is recomputed and
    replaced; a failure to write the entry (read-only folder, full disk, an
    unpicklable value) is ignored, and the computed value is returned.
    """
    if not enabled():
        return compute()
    path = entry_path(name, key)
    if path.is_file():
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except Exception:  # corrupt or incompatible entry: recompute below
            pass
    value = compute()
    try:
        _write_atomic(path, value)
    except Exception:
        pass
    return value


def clear() -> int:
    """Delete every entry of :func:`cache_dir`; return how many were removed."""
    d = cache_dir()
    n = 0
    if d.is_dir():
        for p in d.glob("*.pkl"):
            p.unlink(missing_ok=True)
            n += 1
    return n
