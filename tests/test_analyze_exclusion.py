"""Kept-unit bias (issue 22, item 1): the classes of the units left out, a test of
whether being left out depends on the label, and the note that says so."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.design import dataset
from analysis.design.dataset import DatasetWarning
from analysis.studies import analyze


def _fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Fisher's exact test of [[a, b], [c, d]] by hand: the hypergeometric
    probabilities of every table with the same margins, summed over those no more
    likely than the observed one (relative tolerance 1e-7, as R's fisher.test)."""
    row1, col1, n = a + b, a + c, a + b + c + d

    def prob(x):
        return math.comb(col1, x) * math.comb(n - col1, row1 - x) / math.comb(n, row1)

    observed = prob(a)
    lo, hi = max(0, row1 + col1 - n), min(row1, col1)
    return sum(prob(x) for x in range(lo, hi + 1) if prob(x) <= observed * (1 + 1e-7))


def test_hand_fisher_reference_on_a_worked_case():
    # [[3, 0], [0, 3]]: two tables as extreme as the observed, each 1/C(6,3)
    assert _fisher_two_sided(3, 0, 0, 3) == pytest.approx(2 / 20)


def _class_linked(n=60, seed=3):
    """Persons R1..R5; every positive unit rated by all five, every other negative unit
    by three (a random, scattered subset): min_raters=4 leaves out negatives only."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i in range(n):
        y = int(i % 3 == 0)
        raters = ["R1", "R2", "R3", "R4", "R5"]
        if not y and i % 2:
            raters = sorted(rng.choice(raters, 3, replace=False))
        rows += [(f"u{i:03d}", r, f, float(rng.integers(1, 6)) + y)
                 for r in raters for f in ("f", "g")]
        labels.append((f"u{i:03d}", y))
    return (pd.DataFrame(rows, columns=["unit", "rater", "feature", "score"]),
            pd.DataFrame(labels, columns=["unit", "label"]))


def _design(**kw):
    long, lab = _class_linked(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        return dataset.load(long, lab, raters="persons", min_raters=4, n_splits=5)


def test_exclusion_linked_to_the_class_is_counted_tested_and_noted():
    d = _design()
    t = analyze.excluded_by_class(d).set_index("status")
    kept, out = t.loc["kept"], t.loc["fewer than 4 raters"]
    assert kept["n_positive"] == 20 and kept["n_negative"] == 20 and out["n_positive"] == 0
    assert out["n_negative"] == 20 and out["n_units"] == 20 and out["share_positive"] == 0
    assert out["fisher_p_value"] == pytest.approx(_fisher_two_sided(20, 20, 20, 0), rel=1e-9)
    assert out["odds_ratio"] == 0  # no positive unit is left out
    notes = analyze.exclusion_notes(d)
    assert len(notes) == 1 and "which units are kept depends on the label" in notes[0]
    assert "0 of 20 labelled 1 units and 20 of 40 0 units were left out" in notes[0]


def test_exclusion_unrelated_to_the_class_is_not_noted():
    d = dataset.load(*_balanced(), raters="persons", min_raters=4, n_splits=5)
    t = analyze.excluded_by_class(d).set_index("status")
    out = t.loc["fewer than 4 raters"]
    ref = _fisher_two_sided(int(t.loc["kept", "n_negative"]), int(t.loc["kept", "n_positive"]),
                            int(out["n_negative"]), int(out["n_positive"]))
    assert out["fisher_p_value"] == pytest.approx(ref, rel=1e-9) and ref > 0.05
    assert analyze.exclusion_notes(d) == []


def _balanced():
    long, lab = _class_linked()
    # the same shortfall in both classes: every fourth unit loses R2 and R5
    short = long["unit"].str[1:].astype(int) % 4 == 1
    long = long[~(short & long["rater"].isin(["R2", "R5"]))]
    long = long[long["unit"].isin(lab["unit"])]
    full = long.groupby("unit")["rater"].nunique()
    return long[long["unit"].isin(full.index)], lab


def test_unlabelled_units_count_as_label_unknown_and_analyze_writes_the_table(monkeypatch):
    long, lab = _class_linked()
    lab = lab.iloc[:-3]  # three annotated units without a label
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        d = dataset.load(long, lab, raters="persons", min_raters=4, n_splits=5)
    t = analyze.excluded_by_class(d).set_index("status")
    # u059 (three raters) is left out for its raters first; u057 and u058 for no label
    assert t.loc["no label", "n_label_unknown"] == 2 and np.isnan(t.loc["no label", "fisher_p_value"])
    assert t.loc["fewer than 4 raters", "n_label_unknown"] == 1
    assert t.loc["excluded (any reason)", "n_label_unknown"] == 3
    assert t.loc["excluded (any reason)", "n_units"] == len(d.excluded)

    class _Review:
        notes = []
        auc_ci = pd.DataFrame(columns=["feature_set"])  # no mean model: no baseline
        settings = {}

        def tables(self):
            return {}

    monkeypatch.setattr(analyze.review, "review", lambda *a, **k: _Review())
    monkeypatch.setattr(analyze.review, "claim_verdicts", lambda rv: None)
    monkeypatch.setattr(analyze.reproduce, "run_experiments", lambda *a, **k: None)
    monkeypatch.setattr(analyze, "incremental_value", lambda rv: pd.DataFrame())
    res = analyze.analyze(d, curve=False, quiet=True)
    pd.testing.assert_frame_equal(res.tables()["excluded_by_class.csv"],
                                  analyze.excluded_by_class(d))
    assert any("which units are kept depends on the label" in n for n in res.notes)
