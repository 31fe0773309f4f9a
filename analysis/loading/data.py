"""Fetch and verify the ENHANCE data files.

Every file the project reads is listed with its SHA-256 in ``data/registry.txt``
(paths relative to ``0_data/`` of the ENHANCE repository at a pinned commit).
:func:`fetch` returns a verified local path for one of them:

* with ``CROWD_DISAGREEMENT_DATA=DIR`` set, the file is read from the local copy
  ``DIR/0_data/<path>`` (no network), and its hash is checked;
* otherwise it is downloaded with pooch from the pinned commit into a cache
  (``CROWD_DISAGREEMENT_CACHE`` or ``data/cache/`` beside the registry), and its hash
  is checked by pooch.

A missing file, an unreachable network or a hash mismatch raises a
:class:`DataError` whose message names the file, the URL tried and the
environment variable that points to a local copy.

Every successful :func:`fetch` records the SHA-256 it computed of the file it returns
(:func:`read_hashes`); manifests and cache keys use these verified hashes of the files
actually read, never the registry's expectations (:func:`verify_all` fetches and
verifies every registered file and returns them).
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import pooch

from ..base.errors import DataError

__all__ = [
    "BASE_URL", "CACHE_ENV", "DATA_ENV", "DOWNLOAD_TIMEOUT", "ENHANCE_COMMIT", "REGISTRY_PATH",
    "cache_dir", "data_hashes", "fetch", "fetch_all", "local_root", "read_hashes", "registry",
    "sha256", "url", "verify_all",
]


#: Pinned commit of the ENHANCE repository.
ENHANCE_COMMIT = "61b4176c4e8b90e6670c5fde67e98dc6babc4308"
#: Base URL of the pinned ``0_data/`` folder.
BASE_URL = f"https://raw.githubusercontent.com/raumannsr/ENHANCE/{ENHANCE_COMMIT}/0_data/"
#: Environment variable naming a local copy (a folder that holds ``0_data/``).
DATA_ENV = "CROWD_DISAGREEMENT_DATA"
#: Environment variable naming the download cache folder.
CACHE_ENV = "CROWD_DISAGREEMENT_CACHE"

#: Seconds a download may stall (connect or between bytes) before it fails: a machine
#: whose network blackholes github.com gets a DataError, not a hang.
DOWNLOAD_TIMEOUT = 30

_ROOT = Path(__file__).resolve().parents[2]
REGISTRY_PATH = _ROOT / "data" / "registry.txt"


@cache
def registry() -> dict[str, str]:
    """Return the registry: relative path -> expected SHA-256 hex digest."""
    entries: dict[str, str] = {}
    for line in REGISTRY_PATH.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rel, digest = line.split()
        entries[rel] = digest.removeprefix("sha256:")
    return entries


def sha256(path: Path) -> str:
    """SHA-256 hex digest of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def url(relpath: str) -> str:
    """Download address of a registered file."""
    return BASE_URL + relpath


def cache_dir() -> Path:
    """Folder that downloads go to."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else _ROOT / "data" / "cache"


def local_root() -> Path | None:
    """The ``0_data`` folder of the local copy, if ``CROWD_DISAGREEMENT_DATA`` is set."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() / "0_data" if env else None


def _expected(relpath: str) -> str:
    try:
        return registry()[relpath]
    except KeyError:
        raise DataError(
            f"{relpath!r} is not in the data registry {REGISTRY_PATH}; "
            "only registered ENHANCE files can be fetched."
        ) from None


#: relpath -> SHA-256 computed of the file the last successful fetch returned
_READ: dict[str, str] = {}


@cache
def _hash_stat(path: Path, size: int, mtime_ns: int, ctime_ns: int, inode: int) -> str:
    # keyed on size, times and inode so that a file changed or replaced on disk is
    # hashed again
    return sha256(path)


def _hash(path: Path) -> str:
    st = path.stat()
    return _hash_stat(path.resolve(), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def fetch(relpath: str, *, downloader=None) -> Path:
    """Return a verified local path of one registered ENHANCE file.

    Parameters
    ----------
    relpath : str
        Path relative to ``0_data/``, e.g. ``"student/2017-2018/group07.csv"``.
    downloader : callable, optional
        A pooch downloader (``downloader(url, output_file, pooch)``); default: pooch's
        HTTP downloader with a timeout of :data:`DOWNLOAD_TIMEOUT` seconds.

    Returns
    -------
    pathlib.Path
        A file whose SHA-256 equals the registry's.

    Raises
    ------
    DataError
        The file is not registered, cannot be found or downloaded, or its hash
        differs from the registry's.
    """
    expected = _expected(relpath)
    root = local_root()
    if root is not None:
        path = root / relpath
        if not path.is_file():
            raise DataError(
                f"{relpath}: not found in the local copy {path} "
                f"({DATA_ENV}={os.environ.get(DATA_ENV)}). Unset {DATA_ENV} to download "
                f"it from {url(relpath)}, or point {DATA_ENV} to a folder that holds 0_data/."
            )
        got = _hash(path)
        if got != expected:
            raise DataError(
                f"{relpath}: SHA-256 mismatch in the local copy {path} "
                f"(expected {expected}). The file is altered or truncated; restore it "
                f"from {url(relpath)} or unset {DATA_ENV} to download it. [got {got}]"
            )
        _READ[relpath] = got
        return path
    if downloader is None:
        downloader = pooch.HTTPDownloader(timeout=DOWNLOAD_TIMEOUT, progressbar=False)
    fetcher = pooch.create(
        path=cache_dir(), base_url=BASE_URL, registry={relpath: f"sha256:{expected}"}
    )
    try:
        path = Path(fetcher.fetch(relpath, downloader=downloader))
    except ValueError as err:  # pooch: hash mismatch after download
        raise DataError(
            f"{relpath}: the download from {url(relpath)} failed its SHA-256 check "
            f"(expected {expected}): {err}"
        ) from None
    except Exception as err:  # network errors (requests/urllib) and the like
        raise DataError(
            f"{relpath}: could not download {url(relpath)} ({type(err).__name__}: {err}). "
            f"Without network access, set {DATA_ENV}=DIR to a local copy where "
            f"DIR/0_data/{relpath} exists."
        ) from None


    got = _hash(path)  # pooch checked it; hash it again so that what is recorded is measured
    if got != expected:  # pragma: no cover - pooch would have refused it
        raise DataError(f"{relpath}: SHA-256 of {path} is {got}, expected {expected}")
    _READ[relpath] = got
    return path


def fetch_all() -> dict[str, Path]:
    """Fetch and verify every registered file; return relpath -> local path."""
    return {rel: fetch(rel) for rel in registry()}


def verify_all(relpaths=None) -> dict[str, str]:
    """Fetch and verify files (default: every registered one); return their hashes.

    Parameters
    ----------
    relpaths : iterable of str, optional
        Files relative to ``0_data/``; default every file of the registry.

    Returns
    -------
    dict
        relpath -> SHA-256 hex digest computed from the verified local file (equal to
        the registry's, or :func:`fetch` would have raised).

    Raises
    ------
    DataError
        As :func:`fetch`: a file is missing, cannot be downloaded or fails its check.
    """
    rels = list(registry() if relpaths is None else relpaths)
    for rel in rels:
        fetch(rel)
    return {rel: _READ[rel] for rel in rels}


def read_hashes(relpaths=None) -> dict[str, str]:
    """SHA-256 of the files read: what a manifest records.

    Parameters
    ----------
    relpaths : iterable of str, optional
        The files a run reads (e.g. :data:`analysis.loading.tidy.REQUIRED_FILES`); each is
        fetched (and so verified) again if it changed since it was read, or was not
        read yet. Default: every file fetched so far in this process.

    Returns
    -------
    dict
        relpath -> SHA-256 hex digest measured on the file.
    """
    if relpaths is None:
        return dict(sorted(_READ.items()))
    return verify_all(relpaths)


def data_hashes() -> dict[str, str]:
    """Registered (expected) SHA-256 of every file. Manifests and cache keys use the
    measured ones instead (:func:`read_hashes`, :func:`verify_all`)."""
    return dict(registry())
