"""review.qmd with the on-request parts (-P multiverse:true -P power:true) executes on
the example data (draft counts) and shows their tables and figures; without them it
says how to ask for them."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from analysis.presentation import review_doc

QMD = ROOT / "review.qmd"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _execute(injected: str):
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.reads(QMD.read_text(encoding="utf-8"), fmt="Rmd")
    i = next(k for k, c in enumerate(nb.cells)
             if c.cell_type == "code" and "parameters" in c.source.split("\n")[0])
    nb.cells.insert(i + 1, nbformat.v4.new_code_cell(injected))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[:1]
    return {re.search(r"label:\s*(\S+)", c.source).group(1): c for c in nb.cells
            if c.cell_type == "code" and re.search(r"#\|\s*label:", c.source)}


def _kinds(cell):
    return [k for o in cell.get("outputs", []) for k in o.get("data", {})]


def _text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def test_review_qmd_shows_the_multiverse_and_power_on_request():
    cells = _execute("quick = True\nn_jobs = 1\nmultiverse = True\npower = True")
    # verdict table, then the two specification curves
    assert _kinds(cells["multiverse-figures"]).count("image/png") == 2
    assert "text/markdown" in _kinds(cells["multiverse-figures"])
    assert _kinds(cells["power-figures"]).count("image/png") == 1
    assert "C5:" in _text(cells["multiverse-text"])
    assert _text(cells["power-text"]).startswith("Over 4 simulated data sets")
    notes = _text(cells["notes"])
    assert "multiverse: 8 of 16 paths run" in notes and "power: 4 studies per model" in notes
    # the drafts' sweeps run 19 permutations (analysis.base.budgets): the banner says so
    assert ("the multiverse (19) and the power (19) use too few permutations for any p-value "
            "below 0.05") in _text(cells["draft-banner"])


def test_sweeps_are_off_by_default():
    doc = review_doc.ReviewDoc.build(quick=True, n_jobs=1)
    assert doc.sweep("multiverse") is None and doc.sweep("power") is None
    assert "-P multiverse:true" in doc.sweep_text("multiverse")
    assert doc.draft_banner.startswith("::: {.callout-warning}")
    assert "too few permutations" not in doc.draft_banner
    assert not any(k.startswith(("multiverse", "power")) for k in doc.result.tables())
