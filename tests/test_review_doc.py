"""review.qmd, the parameterised review of any data set, executes end to end on the
example data (quick mode), the way Quarto runs it: parameters cell, then an injected
cell with the values given by -P."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

QMD = ROOT / "review.qmd"
INLINE = re.compile(r"(?<!`)`\{python\}\s+([^`\n]+)`(?!`)")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _notebook():
    import jupytext

    return jupytext.reads(QMD.read_text(encoding="utf-8"), fmt="Rmd")


def test_review_qmd_has_a_parameters_cell_and_resolved_cross_references():
    nb = _notebook()
    params = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.source.split("\n")[0]]
    assert len(params) == 1 and "annotations =" in params[0].source
    text = QMD.read_text(encoding="utf-8")
    refs = set(re.findall(r"@((?:fig|tbl)-[A-Za-z0-9_-]+)", text))
    labels = set(re.findall(r"#\|\s*label:\s*(\S+)", text))
    assert refs and refs <= labels, sorted(refs - labels)


def test_review_qmd_executes_on_the_example_quick(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = _notebook()
    i = next(k for k, c in enumerate(nb.cells)
             if c.cell_type == "code" and "parameters" in c.source.split("\n")[0])
    # what `quarto render review.qmd -P quick:true -P n_jobs:1` injects (no data given:
    # the example data set)
    nb.cells.insert(i + 1, nbformat.v4.new_code_cell("quick = True\nn_jobs = 1"))
    expressions = INLINE.findall(QMD.read_text(encoding="utf-8"))
    nb.cells.append(nbformat.v4.new_code_cell(
        "\n".join(["__inline = {}"] + [f"__inline[{e!r}] = str({e})" for e in expressions]
                  + ["print(len(__inline))"])))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[:1]
    for cell in nb.cells:
        m = re.search(r"^#\|\s*label:\s*((fig|tbl)-\S+)", cell.source, flags=re.M)
        if m:
            kinds = {k for o in cell.get("outputs", []) for k in o.get("data", {})}
            assert ("image/png" if m.group(2) == "fig" else "text/markdown") in kinds, m.group(1)
    assert nb.cells[-1]["outputs"][0]["text"].strip() == str(len(set(expressions)))
    # the user's words: no "melanoma" in the document's text or any output of the example
    text = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for c in nb.cells:
        for o in c.get("outputs", []):
            text += [o.get("text", "")] + [str(v) for k, v in o.get("data", {}).items()
                                           if k.startswith("text/")]
    assert not [t for t in text if "melanoma" in t.lower()]
    # the first section answers the user's question, the paper's claims come after
    heads = [line for c in nb.cells if c.cell_type == "markdown"
             for line in c.source.splitlines() if line.startswith("# ")]
    assert heads[0] == "# Does disagreement add to the consensus?"
    assert "# The paper's claims (for readers who know the paper)" in heads
