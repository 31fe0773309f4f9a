"""A small on-disk cache for expensive computations (cross-validation, the review).

:func:`cached` stores the value returned by ``compute()`` under a key that names
everything the value depends on, so that re-rendering the report recomputes only
what changed:

* the computation's ``name`` and its parameters (``key``: seed, repeats, ...);
* the version of the ``crowd-disagreement`` package;
* a hash of the source of every ``.py`` file of the :mod:`analysis` package (a
  change to any analysis code invalidates every entry);
* the versions of Python and of the libraries the results depend on;
* the SHA-256 of every data file *as measured on the files*
  (:func:`analysis.loading.data.verify_all`): the data are fetched and verified before any
  lookup, so a missing, altered or truncated file is a :class:`analysis.loading.data.DataError`,
  never a cache hit.

Entries live in ``CROWD_DISAGREEMENT_CACHE_DIR`` or ``<repo>/_cache/`` (git-ignored),
one file per key: a header (format tag, SHA-256 of the payload) and the payload, a
pickle of the full key and the value. They are written atomically (temporary file in
the same folder, then ``os.replace``), so that an interrupted or concurrent write never
leaves a partial entry and concurrent runs sharing the folder at worst compute the same
value twice. An entry that cannot be trusted (truncated, corrupt -- its payload hash
differs --, written for another key, or unreadable by this library version) is
recomputed and overwritten, with a :class:`CacheWarning`; the cache never makes a
computation fail. ``CROWD_DISAGREEMENT_NO_CACHE=1`` turns it off (every call computes).

Only the report (:meth:`analysis.presentation.report.ReportData.build`) uses the cache; the
command-line tools always compute.

Example
-------
>>> from analysis.presentation.cache import cached
>>> exp = cached("run_experiments", {"repeats": 100, "seed": 2018},
...              lambda: reproduce.run_experiments(design, repeats=100))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from ..base.errors import CacheWarning

__all__ = [
    "CACHE_DIR_ENV", "MAGIC", "NO_CACHE_ENV", "T", "cache_dir", "cache_key", "cached", "clear",
    "enabled", "entry_path", "package_version", "source_hash",
]


T = TypeVar("T")

#: Folder of the cache entries (default ``<repo>/_cache``).
CACHE_DIR_ENV = "CROWD_DISAGREEMENT_CACHE_DIR"
#: Set to 1 (or true/yes) to disable the cache.
NO_CACHE_ENV = "CROWD_DISAGREEMENT_NO_CACHE"

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_ROOT = _PACKAGE_DIR.parent


#: First line of every entry (format version).
MAGIC = b"crowd-disagreement-cache 2\n"


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
    """Fetch and verify every data file; their measured SHA-256 (raises DataError)."""
    from ..loading.data import verify_all

    return verify_all()


def _library_versions() -> dict[str, str]:
    from ..studies.reproduce import package_versions

    return package_versions()


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
        "libraries": _library_versions(),
        "source": source_hash(),
        "data": _data_hashes(),
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry_file(name: str, full_key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
    return cache_dir() / f"{safe}-{full_key[:32]}.pkl"


def entry_path(name: str, key: dict) -> Path:
    """File of the entry for ``name`` and ``key`` (verifies the data, as the key does)."""
    return _entry_file(name, cache_key(name, key))


def _write_atomic(path: Path, value: Any, full_key: str) -> None:
    payload = pickle.dumps({"key": full_key, "value": value}, protocol=pickle.HIGHEST_PROTOCOL)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n")
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
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
    full_key = cache_key(name, key)  # verifies the data first (DataError on a bad file)
    path = _entry_file(name, full_key)
    if path.is_file():
        try:
            return _read_entry(path, full_key)
        except Exception as err:  # corrupt, truncated, foreign or incompatible entry
            warnings.warn(f"cache entry {path} is unusable ({err}); recomputing it",
                          CacheWarning, stacklevel=2)
    value = compute()
    try:
        _write_atomic(path, value, full_key)
    except Exception:
        pass
    return value


def _read_entry(path: Path, full_key: str) -> Any:
    """The value of an entry, after checking its header, payload hash and key."""
    blob = path.read_bytes()
    if not blob.startswith(MAGIC):
        raise ValueError("not an entry of this cache format")
    digest, sep, payload = blob[len(MAGIC):].partition(b"\n")
    if not sep or len(digest) != 64:
        raise ValueError("truncated header")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise ValueError("payload hash differs: truncated or corrupted")
    doc = pickle.loads(payload)
    if doc.get("key") != full_key:
        raise ValueError("entry was written for another key")
    return doc["value"]


def clear() -> int:
    """Delete every entry of :func:`cache_dir`; return how many were removed."""
    d = cache_dir()
    n = 0
    if d.is_dir():
        for p in d.glob("*.pkl"):
            p.unlink(missing_ok=True)
            n += 1
    return n
