"""The report as readers see it: a real Quarto render, to HTML and to PDF (typst).

Runs only where the ``quarto`` CLI is on PATH (CI here has none: the test then skips
with one line saying so). It renders a draft (``CROWD_DISAGREEMENT_QUICK=1``) of a
temporary copy of the project, once per format, and checks what the issue asked of
the rendered report: exit status 0, no unresolved cross-reference (``?@``), every
``fig-``/``tbl-`` label present, every HTML image with a recorded width no larger
than the body column (or inside a page-wide column), the PDF's sections numbered, no
code in the PDF, one reference list, and the draft notice in both formats (offline:
typst callouts would fetch an icon package).

A warm report cache makes it faster: the copy uses ``CROWD_DISAGREEMENT_CACHE_DIR``
or the project's ``_cache/`` (the package source is copied byte for byte, so the
cache keys are the same).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT, needs_data

from analysis.presentation import present

QUARTO = shutil.which("quarto")
pytestmark = [
    pytest.mark.skipif(QUARTO is None, reason="quarto is not on PATH: the render test "
                                              "needs the Quarto CLI (https://quarto.org)"),
    needs_data,
]
QMD = ROOT / "report.qmd"
COPY = ("report.qmd", "_quarto.yml", "references.bib", "analysis", "data")
TIMEOUT = 1800


def _labels() -> set[str]:
    return set(re.findall(r"^#\|\s*label:\s*((?:fig|tbl)-\S+)", QMD.read_text(encoding="utf-8"),
                          flags=re.M))


def _sections() -> list[str]:
    """Top-level section titles of report.qmd (outside code cells)."""
    out, in_code = [], False
    for line in QMD.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("# "):
            out.append(re.sub(r"\s*\{[^}]*\}\s*$", "", line[2:]).strip())
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    project = tmp_path_factory.mktemp("render") / "project"
    project.mkdir()
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, project / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "cache"))
        else:
            shutil.copy2(src, project / name)
    env = dict(os.environ)
    env["CROWD_DISAGREEMENT_QUICK"] = "1"
    env.setdefault("CROWD_DISAGREEMENT_CACHE_DIR", str(ROOT / "_cache"))
    env["QUARTO_PYTHON"] = sys.executable
    env["PYTHONPATH"] = os.pathsep.join([str(project), env.get("PYTHONPATH", "")])
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    results = {}
    for fmt, extra in (("html", []), ("typst", ["-M", "keep-typ:true"])):
        proc = subprocess.run([QUARTO, "render", "report.qmd", "--to", fmt, *extra], cwd=project,
                              env=env, capture_output=True, text=True, timeout=TIMEOUT)
        results[fmt] = proc
    return project, results


def test_both_formats_render(rendered):
    project, results = rendered
    for fmt, proc in results.items():
        assert proc.returncode == 0, f"{fmt}: {proc.stderr[-3000:]}"
    assert (project / "report.html").is_file() and (project / "report.pdf").is_file()


class _Images(HTMLParser):
    """Every <img> with its width attribute and whether an ancestor is page-wide."""

    VOID = {"img", "br", "hr", "meta", "link", "input", "source", "col", "wbr", "area", "base"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.images: list[tuple[str | None, bool]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "img":
            page = any("column-page" in c or "column-screen" in c for c in self.stack + [cls])
            self.images.append((a.get("width"), page))
        if tag not in self.VOID:
            self.stack.append(cls)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()


def test_html_every_label_resolves_and_every_image_fits(rendered):
    project, results = rendered
    assert results["html"].returncode == 0
    html = (project / "report.html").read_text(encoding="utf-8")
    # unresolved references, in the document (the embedded scripts contain "?@")
    assert "?@" not in re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    missing = [lab for lab in _labels() if f'id="{lab}"' not in html]
    assert not missing, missing
    parser = _Images()
    parser.feed(html)
    assert parser.images
    too_wide = []
    for width, page in parser.images:
        assert width is not None, "an image without a recorded width is shown at its pixel width"
        limit = present.PAGE_WIDTH * present.HTML_DPI if page else present.HTML_BODY_PX
        if float(width) > limit:
            too_wide.append((width, page))
    assert not too_wide, too_wide
    assert "Draft render" in html


def _pdf_text(pdf: Path) -> str | None:
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
    try:
        import pypdf
    except ImportError:
        return None
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(str(pdf)).pages)


def test_pdf_is_a_manuscript(rendered):
    project, results = rendered
    assert results["typst"].returncode == 0
    typ = (project / "report.typ").read_text(encoding="utf-8")
    missing = [lab for lab in _labels() if f"<{lab}>" not in typ]
    assert not missing, missing
    assert "?@" not in typ
    text = _pdf_text(project / "report.pdf")
    if text is None:
        pytest.skip("neither pdftotext nor pypdf is available to read the PDF")
    assert "?@" not in text
    flat = re.sub(r"\s+", " ", text)
    # numbered sections, in order; References unnumbered, once in the TOC and once as
    # a heading; no second list ("Bibliography")
    numbered = [s for s in _sections() if s != "References"]
    for i, title in enumerate(numbered, start=1):
        assert re.search(rf"\b{i} {re.escape(title)}", flat), f"section {i} {title!r}"
    assert "Bibliography" not in flat
    assert len(re.findall(r"\bReferences\b", flat)) == 2
    # no code: the setup cell and the table/figure calls do not appear
    for code in ("ReportData.build()", "from analysis", "table(rd.", "figure(figures."):
        assert code not in flat, code
    assert "Draft render" in flat
