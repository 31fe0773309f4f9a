"""Render the report with Quarto, re-executing it whenever its inputs changed.

``make report`` runs ``python -m analysis.render``. It renders the Quarto project
(``quarto render``, which renders ``report.qmd``), so that ``freeze: auto`` in
``_quarto.yml`` applies: when nothing changed, Quarto reuses the stored results of the
last render and executes no code. (A render of the file alone, ``quarto render
report.qmd``, always executes it.)

Quarto's freeze only notices edits of ``report.qmd`` itself. Its results also depend on
the package's code, the data and the settings (``CROWD_DISAGREEMENT_QUICK``,
``CROWD_DISAGREEMENT_REPEATS``), so this module keeps a key of those
(:func:`render_key`, the same inputs as the report's own cache) in ``.render-key`` and
deletes ``_freeze/`` before rendering when the key changed: a draft render is never
reused as the full report, nor a render made with older code.

``make review`` runs ``python -m analysis.render review.qmd -P ...``: a first argument
naming a document renders that document alone (``quarto render review.qmd -P ...``),
with no key and no freeze.

Quarto (:func:`find_quarto`): the one on ``PATH``, else the one in this Python
environment's ``bin`` (``.venv/bin/quarto``), else this module installs Quarto's PyPI
package there (``pip install quarto-cli``: a source distribution whose build downloads
the Quarto binary from GitHub) and uses it. Where that cannot work (no network to the
download server), the render stops with one message saying what happened and what to
do: install Quarto >= 1.4 from quarto.org and put it on ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY_FILE = ".render-key"
FREEZE_DIR = "_freeze"
#: Oldest Quarto the documents render with.
MIN_QUARTO = (1, 4)
#: What ``pip install`` is given when no Quarto is found. ``--no-deps``: the package's
#: only other dependencies (``jupyter``, ``nbclient``) are for its kernel, which the
#: project's ``report`` extra already installs (``jupyter`` would add JupyterLab).
QUARTO_PIP = ("--no-deps", "quarto-cli>=1.4")
#: Where to get Quarto by hand.
QUARTO_URL = "https://quarto.org/docs/get-started/"


def render_key() -> str:
    """Key of everything the executed report depends on besides ``report.qmd``."""
    from . import cache
    from .report import ReportData

    return cache.cache_key("report_render", ReportData.settings())


def prepare(root: Path = ROOT) -> tuple[str, bool]:
    """Delete stale frozen results; return the current key and whether they were stale."""
    key = render_key()
    key_file = root / KEY_FILE
    old = key_file.read_text().strip() if key_file.is_file() else None
    stale = old != key
    if stale:
        shutil.rmtree(root / FREEZE_DIR, ignore_errors=True)
    return key, stale


def _env_bin() -> Path:
    """The ``bin`` folder of this Python environment (``.venv/bin`` under ``make``)."""
    return Path(sys.executable).parent


def _pip_install_quarto() -> subprocess.CompletedProcess:
    """``pip install quarto-cli`` into this Python environment (output captured)."""
    return subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *QUARTO_PIP],
                          capture_output=True, text=True)


def _version(quarto: str) -> tuple[int, ...] | None:
    """``quarto --version`` as numbers, or None if it does not run or say."""
    try:
        out = subprocess.run([quarto, "--version"], capture_output=True, text=True,
                             timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.strip().split(".")
    try:
        return tuple(int(x) for x in parts[:3])
    except ValueError:
        return None


def _why_pip_failed(proc: subprocess.CompletedProcess) -> str:
    """The line of pip's output that says why (the download error of quarto-cli's build
    when there is one, else pip's last error line)."""
    lines = [ln.strip() for ln in (proc.stdout + "\n" + proc.stderr).splitlines() if ln.strip()]
    for ln in lines:
        if "Error downloading Quarto" in ln:
            return ln
    errors = [ln for ln in lines if ln.startswith("ERROR") or "Error" in ln]
    return (errors or lines or [f"exit status {proc.returncode}"])[-1]


def find_quarto(install: bool = True) -> tuple[str | None, str]:
    """The Quarto to render with, installing it into this environment if there is none.

    Parameters
    ----------
    install : bool, default True
        Without a Quarto on ``PATH`` or in this environment, ``pip install quarto-cli``
        into this environment (:data:`QUARTO_PIP`).

    Returns
    -------
    path : str or None
        The ``quarto`` executable, or None when there is no usable one.
    message : str
        Why there is none and what to do (one line), or "".

    Notes
    -----
    Looked for in order: ``PATH``; ``<environment>/bin/quarto`` (installed there
    before); an install with pip, which downloads the Quarto binary at build time and
    so needs the network to reach GitHub. A Quarto older than :data:`MIN_QUARTO` is
    refused.
    """
    todo = (f"install Quarto >= {'.'.join(map(str, MIN_QUARTO))} from {QUARTO_URL} and "
            "put it on PATH, then run the command again")
    quarto = shutil.which("quarto")
    local = _env_bin() / "quarto"
    if quarto is None and local.is_file() and os.access(local, os.X_OK):
        quarto = str(local)
    if quarto is None:
        if not install:
            return None, f"Quarto is not on PATH: {todo}"
        print(f"Quarto is not on PATH: installing it into {sys.prefix} with pip install "
              "quarto-cli (downloads the Quarto binary from GitHub) ...", file=sys.stderr)
        proc = _pip_install_quarto()
        if proc.returncode != 0 or not local.is_file():
            why = _why_pip_failed(proc) if proc.returncode != 0 else (
                f"pip installed no {local}")
            return None, (f"Quarto is not on PATH, and installing it into {sys.prefix} with "
                          f"pip install quarto-cli failed ({why}); {todo}")
        quarto = str(local)
    version = _version(quarto)
    if version is None:
        return None, f"{quarto} does not run (quarto --version failed); {todo}"
    if version[:2] < MIN_QUARTO:
        return None, (f"{quarto} is Quarto {'.'.join(map(str, version))}, older than "
                      f"{'.'.join(map(str, MIN_QUARTO))}; {todo}")
    return quarto, ""


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    """Render the project in ``root`` (extra arguments go to ``quarto render``), or, when
    the first argument names a document (``review.qmd``), that document alone."""
    argv = list(sys.argv[1:] if argv is None else argv)
    quarto, problem = find_quarto()
    if quarto is None:
        print(f"crowd-disagreement: {problem}", file=sys.stderr)
        return 1
    env = dict(os.environ)
    env["QUARTO_PYTHON"] = sys.executable  # the kernel runs in this environment
    env["PATH"] = str(_env_bin()) + os.pathsep + env.get("PATH", "")
    if argv and argv[0].endswith((".qmd", ".ipynb")):
        return subprocess.call([quarto, "render", *argv], cwd=root, env=env)
    from .errors import CrowdDisagreementError

    try:
        key, stale = prepare(root)  # verifies the data files (their hashes are in the key)
    except CrowdDisagreementError as err:
        print(f"crowd-disagreement: data error: {err}", file=sys.stderr)
        return 1
    if stale:
        print("code, data or settings changed since the last render (or no render yet): "
              "report.qmd will be executed", file=sys.stderr)
    (root / KEY_FILE).unlink(missing_ok=True)  # written again only after a success
    rc = subprocess.call([quarto, "render", *argv], cwd=root, env=env)
    if rc == 0:
        (root / KEY_FILE).write_text(key + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
