"""The annotator-count curve on any design: the ENHANCE curve unchanged (against a frozen
copy of the old code, ``reference_replication.py``), group 7 through the general path,
and the per-unit draw of raters on a hand-made data set with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from conftest import assert_vocabulary, needs_data

from analysis.base import columns
from analysis.design import dataset, features
from analysis.presentation import figures
from analysis.studies import replication as R

# --- the ENHANCE curve: exactly the numbers it had ------------------------------------------

SMALL = {"repeats": 1, "max_subsets": 4, "trend_boot": 3, "quiet": True}


@needs_data
def test_enhance_curve_equals_the_previous_code(annotations):
    import reference_replication as ref

    groups = [R.GROUP7, ("2018-2019", "group01"), ("2017-2018", "group08")]
    old = ref.annotator_curve(annotations, groups=groups, **SMALL)
    new = R.annotator_curve(annotations, groups=groups, **SMALL)
    assert len(old.rows) > 0 and set(old.rows["group"]) == {"group07", "group01"}
    # the new tables add columns at the end (selection, units left out); every old column
    # is equal to the bit
    pd.testing.assert_frame_equal(new.rows[list(old.rows.columns)], old.rows, check_exact=True)
    pd.testing.assert_frame_equal(new.summary[list(old.summary.columns)], old.summary,
                                  check_exact=True)
    # the previous code's names, mapped to the column vocabulary (analysis.base.columns)
    old_trend = old.trend.rename(columns=columns.RENAMED["annotators"]["trend.csv"])
    pd.testing.assert_frame_equal(new.trend, old_trend, check_exact=True)
    pd.testing.assert_frame_equal(new.skipped, old.skipped, check_exact=True)
    assert set(new.rows["selection"]) == {"subsets"} and (new.rows["n_left_out"] == 0).all()


@needs_data
def test_group7_through_the_general_path_gives_the_enhance_curve(annotations):
    enhance = R.annotator_curve(annotations, groups=[R.GROUP7], **SMALL)
    design = dataset.load_builtin("enhance/2017-2018/group07", annotations=annotations)
    assert R.curve_data(design).selection == "subsets"
    general = R.design_curve(design, **SMALL)
    pd.testing.assert_frame_equal(general.rows, enhance.rows, check_exact=True)
    pd.testing.assert_frame_equal(general.summary, enhance.summary, check_exact=True)
    pd.testing.assert_frame_equal(general.trend, enhance.trend, check_exact=True)


@needs_data
def test_mturk_positions_get_per_unit_draws(annotations):
    design = dataset.load_builtin("enhance/mturk", annotations=annotations)
    cd = R.curve_data(design)
    assert cd.selection == "draws" and cd.n_raters_max == 3
    # every unit has exactly 3 positions: at k = 3 one draw, all of them
    rows, draws = R.draw_unit_raters(cd, 3, 5, np.random.default_rng(0))
    assert draws.shape == (1, design.n_images, 3) and (draws[0] == [0, 1, 2]).all()


# --- the per-unit draw on a hand-made data set ----------------------------------------------

#: Raters of each feature of the unit patterns: (f raters, g raters).
PATTERNS = {
    "a": ("ABCD", "ABCD"),    # 4 raters
    "b": ("ABC", "ABC"),      # 3
    "c": ("BC", "BC"),        # 2
    "d": ("ABCDE", "ABCDE"),  # 5
    "e": ("CDE", "CDF"),      # 3 scores per feature, but only C and D scored both
}
#: Raters who scored every feature of a unit of each pattern.
FULL = {"a": "ABCD", "b": "ABC", "c": "BC", "d": "ABCDE", "e": "CD"}


def _hand_design():
    """Four copies (1-4) of each pattern, labels 0, 1, 0, 1; scores 0-4 from a seeded
    generator (the draws do not depend on them)."""
    rng = np.random.default_rng(3)
    rows, labels = [], {}
    for p, (fr, gr) in PATTERNS.items():
        for copy in range(1, 5):
            unit = f"{p}{copy}"
            labels[unit] = copy % 2
            rows += [(unit, r, "f", float(rng.integers(0, 5))) for r in fr]
            rows += [(unit, r, "g", float(rng.integers(0, 5))) for r in gr]
    long = pd.DataFrame(rows, columns=["image_id", "annotator", "feature", "score"])
    return features.design_from_long(long, pd.Series(labels), features=("f", "g"),
                                     min_raters=2, group="hand")


def test_hand_design_uses_draws_and_k_up_to_five():
    d = _hand_design()
    assert d.n_images == 20 and d.annotators == tuple("ABCDEF")
    cd = R.curve_data(d)
    assert cd.selection == "draws" and cd.n_raters_max == 5
    cand = pd.DataFrame(cd.candidates(), index=d.y.index, columns=cd.raters)
    for unit in d.y.index:
        assert "".join(cand.columns[cand.loc[unit]]) == FULL[unit[0]], unit


@pytest.mark.parametrize("k,left_out", [
    (2, set()), (3, {"c", "e"}), (4, {"b", "c", "e"}), (5, {"a", "b", "c", "e"})])
def test_draws_use_only_a_units_own_raters_and_leave_out_units_with_fewer(k, left_out):
    table = R.unit_rater_draws(_hand_design(), k, n_draws=6, seed=11)
    out = table[table["left_out"]]
    assert set(out["unit"]) == {f"{p}{c}" for p in left_out for c in range(1, 5)}
    assert (out["n_raters"] < k).all()
    used = table[~table["left_out"]]
    assert set(used["unit"].str[0]) == set(PATTERNS) - left_out
    for unit, raters in zip(used["unit"], used["raters"], strict=True):
        chosen = raters.split("-")
        # k distinct raters, all of whom scored every feature of the unit, in column order
        assert len(chosen) == k == len(set(chosen))
        assert set(chosen) <= set(FULL[unit[0]]) and chosen == sorted(chosen), (unit, raters)
        if len(FULL[unit[0]]) == k:  # exactly k raters: all of them, in every draw
            assert "".join(chosen) == FULL[unit[0]]
    n_draws = 1 if all(len(FULL[p]) == k for p in set(PATTERNS) - left_out) else 6
    assert set(used["draw"]) == set(range(1, n_draws + 1))
    # seeded: the same seed gives the same draws, another seed others (where any choice)
    pd.testing.assert_frame_equal(table, R.unit_rater_draws(_hand_design(), k, n_draws=6,
                                                            seed=11))
    if k < 5:
        assert not table.equals(R.unit_rater_draws(_hand_design(), k, n_draws=6, seed=12))


def test_draws_are_uniform_over_a_units_subsets():
    """Unit d1 has raters A-E: each of the C(5, 2) = 10 pairs has probability 1/10. Over
    4000 seeded draws each count lies within 5 binomial SDs of 400 (fails with
    probability below 1e-5 for a correct draw; a draw that favoured the first columns
    would put A-B near 4000)."""
    cd = R.curve_data(_hand_design())
    rows, draws = R.draw_unit_raters(cd, 2, 4000, np.random.default_rng(1))
    i = list(cd.y.index[rows]).index("d1")
    pairs = pd.Series(["".join(cd.raters[c] for c in draws[j, i]) for j in range(4000)])
    counts = pairs.value_counts()
    assert set(counts.index) == {"".join(p) for p in itertools.combinations("ABCDE", 2)}
    sd = math.sqrt(4000 * 0.1 * 0.9)
    assert (abs(counts - 400) < 5 * sd).all(), counts.to_dict()


def test_hand_design_curve_counts_units_left_out_at_each_k():
    res = R.design_curve(_hand_design(), max_subsets=3, repeats=1, trend_boot=2)
    s = res.summary[res.summary["feature_set"] == "sd"].set_index("k")
    assert s["n_left_out"].to_dict() == {2: 0, 3: 8, 4: 12, 5: 16}
    assert s["n_images"].to_dict() == {2: 20, 3: 12, 4: 8, 5: 4}
    # one draw where every unit has exactly k raters (k = 5: only the d units)
    assert s["n_subsets"].to_dict() == {2: 3, 3: 3, 4: 3, 5: 1}
    assert (s["n_annotators"] == 5).all() and set(s["selection"]) == {"draws"}
    assert len(res.trend) == 2 and (res.trend["n_boot"] <= 2).all()
    assert figures.annotator_plot(res) is not None


def test_draw_curve_is_seeded_and_independent_of_the_worker_count():
    d = _hand_design()
    kw = {"max_subsets": 3, "repeats": 2, "trend_boot": 3, "seed": 5}
    one, two = R.design_curve(d, n_jobs=1, **kw), R.design_curve(d, n_jobs=2, **kw)
    for name in ("rows", "summary", "trend"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), check_exact=True)
    other = R.design_curve(d, n_jobs=1, **{**kw, "seed": 6})
    assert not other.rows["repeat_mean_auc"].equals(one.rows["repeat_mean_auc"])


def test_the_moments_at_k_are_over_the_drawn_raters_z_scores():
    """Hand computation for k = 5 (the d units, all five raters): the sd across the
    five z-scored columns of each unit, z-scored over the four units."""
    d = _hand_design()
    cd = R.curve_data(d)
    rows, draws = R.draw_unit_raters(cd, 5, 1, np.random.default_rng(0))
    units = [f"d{c}" for c in range(1, 5)]
    assert list(cd.y.index[rows]) == units
    got = R._draw_moments(cd, rows, draws[0], "sd")
    for j, f in enumerate(d.features):
        sd = d.z.loc[units, [f"{f}_{a}" for a in "ABCDE"]].std(axis=1, ddof=1)
        want = (sd - sd.mean()) / sd.std(ddof=1)
        np.testing.assert_allclose(got[:, j], want.to_numpy(), rtol=0, atol=1e-12)


def test_fewer_than_three_raters_is_no_curve_and_says_why():
    long = pd.DataFrame([(f"u{i}", r, "f", float((i * 7 + ord(r)) % 5)) for i in range(30)
                         for r in "AB"], columns=["image_id", "annotator", "feature", "score"])
    d = features.design_from_long(long, pd.Series({f"u{i}": i % 2 for i in range(30)}),
                                  min_raters=2)
    res = R.design_curve(d, repeats=1, trend_boot=2)
    assert res.rows.empty and res.trend.empty
    assert "at most 2 raters per unit" in res.skipped["reason"].iloc[0]


# --- analyze and the review document --------------------------------------------------------

EXAMPLE_SMALL = ["--repeats", "1", "--bootstrap", "100", "--permutations", "39",
                 "--perm-repeats", "1", "--seeds", "0", "--calibration-bootstrap", "100",
                 "--jobs", "1", "--quiet"]


def test_analyze_writes_the_curve_and_no_curve_skips_it(tmp_path):
    import json

    from analysis import cli
    from analysis.presentation.review_doc import EXAMPLE

    args = ["analyze", "--annotations", str(EXAMPLE / "annotations.csv"), "--labels",
            str(EXAMPLE / "labels.csv"), "--positive", "malignant", *EXAMPLE_SMALL]
    assert cli.main([*args, "--out", str(tmp_path / "a")]) == 0
    curve = pd.read_csv(tmp_path / "a" / "annotator_curve.csv")
    trend = pd.read_csv(tmp_path / "a" / "annotator_trend.csv")
    # the example: persons R1-R5, 3 to 5 per unit; kept units have 4 or 5 (min_raters 4)
    assert curve["k"].tolist() == [2, 2, 3, 3, 4, 4, 5, 5]
    assert set(curve["selection"]) == {"draws"} and set(trend["feature_set"]) == {"mean", "sd"}
    at5 = curve[curve["k"] == 5].iloc[0]
    assert at5["n_left_out"] > 0 and at5["n_subsets"] == 1
    assert (curve["n_images"] + curve["n_left_out"] == curve["n_images"].max()).all()
    # the same numbers as the function, at the same seed
    d = dataset.load(EXAMPLE / "annotations.csv", EXAMPLE / "labels.csv", positive="malignant")
    again = R.design_curve(d)
    np.testing.assert_allclose(curve["repeat_mean_auc_mean"],
                               again.summary["repeat_mean_auc_mean"], rtol=1e-9)  # CSV: 10 digits
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["annotator_curve"]["max_subsets"] == 30
    # each stage's wall time, in the order run; the fitted models inside the review
    stages = man["stage_seconds"]
    assert list(stages) == ["cross-validation", "review / fitted models", "review",
                            "baseline on every unit", "annotator curve"]
    assert all(v >= 0 for v in stages.values())
    assert stages["review / fitted models"] <= stages["review"]
    assert sum(v for k, v in stages.items() if "/" not in k) <= man["elapsed_seconds"]
    assert any("annotator curve: at k = 5" in n for n in man["notes"])
    assert_vocabulary(tmp_path / "a", "analyze")

    assert cli.main([*args, "--no-curve", "--out", str(tmp_path / "b")]) == 0
    assert not (tmp_path / "b" / "annotator_curve.csv").exists()
    man_b = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert man_b["annotator_curve"] is None and "annotator curve" not in man_b["stage_seconds"]
