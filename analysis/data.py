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
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import pooch

from .errors import CrowdDisagreementError

#: Pinned commit of the ENHANCE repository.
ENHANCE_COMMIT = "61b4176c4e8b90e6670c5fde67e98dc6babc4308"
#: Base URL of the pinned ``0_data/`` folder.
BASE_URL = f"https://raw.githubusercontent.com/raumannsr/ENHANCE/{ENHANCE_COMMIT}/0_data/"
#: Environment variable naming a local copy (a folder that holds ``0_data/``).
DATA_ENV = "CROWD_DISAGREEMENT_DATA"
#: Environment variable naming the download cache folder.
CACHE_ENV = "CROWD_DISAGREEMENT_CACHE"

_ROOT = Path(__file__).resolve().parents[1]
REGISTRY_PATH = _ROOT / "data" / "registry.txt"


class DataError(CrowdDisagreementError, RuntimeError):
    """A data file is unavailable or fails its SHA-256 check."""


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


@cache
def _verified_local(path: Path, expected: str, size: int, mtime_ns: int) -> Path:
    # keyed on size and mtime so that a file changed on disk is hashed again
    got = sha256(path)
    if got != expected:
        raise DataError(f"got {got}")
    return path


def fetch(relpath: str, *, downloader=None) -> Path:
    """Return a verified local path of one registered ENHANCE file.

    Parameters
    ----------
    relpath : str
        Path relative to ``0_data/``, e.g. ``"student/2017-2018/group07.csv"``.
    downloader : callable, optional
        A pooch downloader (``downloader(url, output_file, pooch)``); default: pooch's
        HTTP downloader.

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
        stat = path.stat()
        try:
            return _verified_local(path.resolve(), expected, stat.st_size, stat.st_mtime_ns)
        except DataError as err:
            raise DataError(
                f"{relpath}: SHA-256 mismatch in the local copy {path} "
                f"(expected {expected}). The file is altered or truncated; restore it "
                f"from {url(relpath)} or unset {DATA_ENV} to download it. [{err}]"
            ) from None
    fetcher = pooch.create(
        path=cache_dir(), base_url=BASE_URL, registry={relpath: f"sha256:{expected}"}
    )
    try:
        return Path(fetcher.fetch(relpath, downloader=downloader))
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


def fetch_all() -> dict[str, Path]:
    """Fetch and verify every registered file; return relpath -> local path."""
    return {rel: fetch(rel) for rel in registry()}


def data_hashes() -> dict[str, str]:
    """Registered SHA-256 of every file (what the manifest and report print)."""
    return dict(registry())
