"""The report executes end to end and its cross-references resolve.

Quarto's CLI is not needed: jupytext reads report.qmd (as R Markdown, the same
chunk syntax), nbclient runs it in a python3 kernel, and the inline
`{python} expr` expressions are evaluated in the executed kernel.
"""

from __future__ import annotations

import os
import re

import pytest
from conftest import ROOT, needs_data

QMD = ROOT / "report.qmd"
INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`\n]+)`(?!`)")


def _cells():
    import jupytext

    return jupytext.reads(QMD.read_text(encoding="utf-8"), fmt="Rmd")


def _labels(nb) -> set[str]:
    labels = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            labels.update(re.findall(r"^#\|\s*label:\s*(\S+)", cell.source, flags=re.M))
    return labels


def test_every_cross_reference_has_a_labelled_cell():
    text = QMD.read_text(encoding="utf-8")
    refs = set(re.findall(r"@((?:fig|tbl)-[A-Za-z0-9_-]+)", text))
    labels = _labels(_cells())
    assert refs, "the report cross-references no figure or table"
    assert refs <= labels, f"unresolved: {sorted(refs - labels)}"
    # every figure/table cell carries a caption
    nb = _cells()
    for cell in nb.cells:
        m = re.search(r"^#\|\s*label:\s*((fig|tbl)-\S+)", cell.source, flags=re.M)
        if m:
            assert re.search(rf"^#\|\s*{m.group(2)}-cap:", cell.source, flags=re.M), m.group(1)


def test_citations_exist_in_the_bibliography():
    text = QMD.read_text(encoding="utf-8")
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    cited = set(re.findall(r"\[?-?@([a-z]+\d{4}[a-z]+)", text))
    assert cited and cited <= keys, sorted(cited - keys)


def _execute(tmp_path, quick: bool):
    import nbformat
    from nbclient import NotebookClient

    nb = _cells()
    expressions = INLINE.findall(QMD.read_text(encoding="utf-8"))
    assert expressions
    probe = "\n".join(
        ["__inline = {}"] + [f"__inline[{e!r}] = str({e})" for e in expressions]
        + ["print(len(__inline))"])
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    old = os.environ.get("CROWD_DISAGREEMENT_QUICK")
    old_cache = os.environ.get("CROWD_DISAGREEMENT_CACHE_DIR")
    os.environ["CROWD_DISAGREEMENT_QUICK"] = "1" if quick else "0"
    os.environ["CROWD_DISAGREEMENT_CACHE_DIR"] = str(tmp_path / "cache")  # a cold render
    try:
        client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT)}})
        client.execute()
    finally:
        for name, value in (("CROWD_DISAGREEMENT_QUICK", old),
                            ("CROWD_DISAGREEMENT_CACHE_DIR", old_cache)):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    outputs = {}
    for cell in nb.cells:
        m = re.search(r"^#\|\s*label:\s*(\S+)", cell.source, flags=re.M)
        if m:
            outputs[m.group(1)] = cell.get("outputs", [])
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    for label, outs in outputs.items():
        kinds = {k for o in outs for k in o.get("data", {})}
        if label.startswith("fig-"):
            assert "image/png" in kinds, label
        if label.startswith("tbl-"):
            assert "text/markdown" in kinds, label
    assert nb.cells[-1]["outputs"][0]["text"].strip() == str(len(set(expressions)))


@needs_data
def test_report_executes_end_to_end_quick(tmp_path):
    """Every cell and inline expression, with small resampling counts (the code path
    is the same as a full render; only the counts differ)."""
    _execute(tmp_path, quick=True)


@pytest.mark.slow
@needs_data
def test_report_executes_end_to_end_full(tmp_path):
    _execute(tmp_path, quick=False)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_md_table_shows_counts_as_integers_and_blanks_missing():
    import pandas as pd

    from analysis.presentation.report import md_table

    text = md_table(pd.DataFrame({"n": [96.0, None], "auc": [0.9691, 0.5]})).data
    lines = text.splitlines()
    assert lines[2].split("|")[1].strip() == "96" and lines[3].split("|")[1].strip() == ""
    assert "0.969" in text
