"""Render the report with Quarto, re-executing it whenever its inputs changed.

``make report`` runs ``python -m analysis.presentation.render``. It renders the Quarto project
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

``make review`` runs ``python -m analysis.presentation.render review.qmd -P ...``: a first argument
naming a document renders that document alone (``quarto render review.qmd -P ...``),
with no key and no freeze. For ``review.qmd`` the data set its parameters name is
loaded first, by the same function the document calls
(:func:`analysis.presentation.review_doc.load_design`): bad input stops the render with one line in
the words of the command the user ran (``make review``'s variables ``ANNOTATIONS=``,
``LABELS=``, ``POSITIVE=``, or ``-P name:value``; :func:`review_words`), exit status 2,
instead of a page of Jupyter output. A failed render does not leave the previous
``review.html`` (with the results of other data) in place: it is renamed
``review.html.stale``, and the message says so.

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

__all__ = [
    "FREEZE_DIR", "KEY_FILE", "MAKE_VARIABLES", "MIN_QUARTO", "QUARTO_PIP", "QUARTO_URL",
    "REVIEW_DOC", "ROOT", "check_review_inputs", "find_quarto", "main", "prepare",
    "render_key", "review_words",
]


ROOT = Path(__file__).resolve().parents[2]
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


#: ``review.qmd`` parameters that ``make review`` sets from a Make variable.
MAKE_VARIABLES = {"annotations": "ANNOTATIONS", "labels": "LABELS", "positive": "POSITIVE",
                  "group_col": "GROUP_COL", "rater_count": "RATER_COUNT"}
#: The document whose inputs are checked before Quarto runs.
REVIEW_DOC = "review.qmd"


def review_words(message: str) -> str:
    """A library message in the words of ``make review``: every parameter written
    ```name``` or ```name='value'``` (:data:`analysis.base.errors.PARAMETER`) becomes the Make
    variable that sets it, with the ``-P`` form beside it (``POSITIVE=malignant (or -P
    positive:malignant)``), or the ``-P`` form alone (``-P raters:positions``)."""
    from ..base.errors import PARAMETER

    def words(m) -> str:
        name = m.group(1)
        value = m.group(2) if m.group(2) is not None else m.group(3)
        shown = value if value else "VALUE"
        p_form = f"-P {name}:{shown}"
        if name in MAKE_VARIABLES:
            return f"{MAKE_VARIABLES[name]}={shown} (or {p_form})"
        return p_form

    return PARAMETER.sub(words, message)


def _parse_params(argv: list[str]) -> dict:
    """The ``-P name:value`` parameters of a ``quarto render`` command line, with values
    read as Quarto reads them (``true``/``false``, integers, else text)."""
    params = {}
    it = iter(range(len(argv)))
    for i in it:
        arg = argv[i]
        if arg in ("-P", "--execute-param") and i + 1 < len(argv):
            text = argv[i + 1]
            next(it, None)
        elif arg.startswith("-P") and len(arg) > 2:
            text = arg[2:]
        else:
            continue
        name, _, value = text.partition(":")
        low = value.strip().lower()
        if low in ("true", "false"):
            params[name] = low == "true"
        else:
            try:
                params[name] = int(value)
            except ValueError:
                params[name] = value
    return params


def check_review_inputs(argv: list[str], root: Path = ROOT) -> str | None:
    """Load the data set ``review.qmd -P ...`` would review; the one-line message for
    bad input (:func:`review_words`), or None when it loads."""
    import contextlib
    import inspect
    import warnings

    from ..base.errors import CrowdDisagreementError
    from .review_doc import ReviewDoc, load_design

    params = _parse_params(argv[1:])
    known = set(inspect.signature(ReviewDoc.build).parameters) - {"cls"}
    unknown = sorted(set(params) - known)
    if unknown:
        return (f"{argv[0]} has no parameter {', '.join(map(repr, unknown))}; its parameters: "
                f"{', '.join(sorted(known))}")
    wanted = set(inspect.signature(load_design).parameters)
    try:
        with contextlib.chdir(root), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the document lists them in its notes
            load_design(**{k: v for k, v in params.items() if k in wanted})
    except CrowdDisagreementError as err:
        return f"input error: {review_words(str(err))}"
    except (TypeError, ValueError) as err:  # a parameter of the wrong type
        return f"input error: {review_words(str(err))}"
    return None


def _mark_stale(root: Path, document: str) -> str:
    """Rename the document's previous output (``review.html``) to ``review.html.stale``
    after a failed render; a sentence saying so, or ""."""
    html = root / (Path(document).stem + ".html")
    if not html.is_file():
        return ""
    stale = html.with_name(html.name + ".stale")
    os.replace(html, stale)
    return (f"; the previous {html.name} (results of an earlier render) was renamed "
            f"{stale.name}")


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    """Render the project in ``root`` (extra arguments go to ``quarto render``), or, when
    the first argument names a document (``review.qmd``), that document alone."""
    argv = list(sys.argv[1:] if argv is None else argv)
    document = argv[0] if argv and argv[0].endswith((".qmd", ".ipynb")) else None
    if document is not None and Path(document).name == REVIEW_DOC:
        problem = check_review_inputs(argv, root)
        if problem is not None:
            print(f"crowd-disagreement {document}: {problem}{_mark_stale(root, document)}",
                  file=sys.stderr)
            return 2
    quarto, problem = find_quarto()
    if quarto is None:
        print(f"crowd-disagreement: {problem}", file=sys.stderr)
        return 1
    env = dict(os.environ)
    env["QUARTO_PYTHON"] = sys.executable  # the kernel runs in this environment
    env["PATH"] = str(_env_bin()) + os.pathsep + env.get("PATH", "")
    if document is not None:
        rc = subprocess.call([quarto, "render", *argv], cwd=root, env=env)
        if rc != 0:
            print(f"crowd-disagreement {document}: the render failed (exit status {rc})"
                  f"{_mark_stale(root, document)}", file=sys.stderr)
        else:  # an older stale copy is no longer news
            (root / (Path(document).stem + ".html.stale")).unlink(missing_ok=True)
        return rc
    from ..base.errors import CrowdDisagreementError

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
