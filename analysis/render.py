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


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    """Render the project in ``root``; extra arguments go to ``quarto render``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    quarto = shutil.which("quarto")
    if quarto is None:
        print("Quarto is not installed: see https://quarto.org/docs/get-started/",
              file=sys.stderr)
        return 1
    from .errors import CrowdDisagreementError

    try:
        key, stale = prepare(root)  # verifies the data files (their hashes are in the key)
    except CrowdDisagreementError as err:
        print(f"crowd-disagreement: data error: {err}", file=sys.stderr)
        return 1
    if stale:
        print("code, data or settings changed since the last render (or no render yet): "
              "report.qmd will be executed", file=sys.stderr)
    env = dict(os.environ)
    env["QUARTO_PYTHON"] = sys.executable  # the kernel runs in this environment
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    (root / KEY_FILE).unlink(missing_ok=True)  # written again only after a success
    rc = subprocess.call([quarto, "render", *argv], cwd=root, env=env)
    if rc == 0:
        (root / KEY_FILE).write_text(key + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
