"""The general loader: known answers on a hand-made data set, every validation error,
and group 7 through the general path equal to the design it had before."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES, ROOT, needs_data

from analysis import cli
from analysis.design import dataset, features
from analysis.design.dataset import DatasetError, DatasetWarning
from analysis.studies import reproduce

HAND = FIXTURES / "dataset"
ANN, LAB = HAND / "annotations.csv", HAND / "labels.csv"
EXAMPLE = ROOT / "data" / "examples"


def _load(**kw):
    kw.setdefault("positive", "malignant")
    kw.setdefault("n_splits", 2)
    # the hand-made raters are persons whose missing scores fall on the last ids (A..E),
    # which looks like slots: say what they are
    kw.setdefault("raters", "persons")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        return dataset.load(ANN, LAB, **kw)


# --- known answers ------------------------------------------------------------------------

def test_persons_min_raters_4_keeps_excludes_and_skips_as_worked_by_hand():
    d = _load()
    assert list(d.y.index) == ["u01", "u02", "u03", "u04", "u06"]
    assert d.y.tolist() == [0, 0, 1, 0, 1] and d.y.name == "label"
    ex = d.excluded.set_index("image_id")
    assert ex.loc["u05", "reason"] == "fewer than 4 raters"
    assert ex.loc["u05", "detail"] == "f: 3; g: 3"
    assert ex.loc["u07", "reason"] == "fewer than 4 raters" and ex.loc["u07", "detail"] == "g: 3"
    assert ex.loc["u08", "reason"] == "no label"
    assert ex.loc["u09", "reason"] == "labelled but never annotated"
    assert len(ex) == 4
    assert d.annotators == tuple("ABCDE")
    built = set(d.sets["feature_set"])
    assert {"annotator_A", "annotator_B", "annotator_C", "annotator_D"} <= built
    assert not {"all", "f", "g", "annotator_E"} & built
    assert set(d.skipped["feature_set"]) == {"all", "f", "g", "annotator_E"}
    why = d.skipped.set_index("feature_set")["reason"]
    assert why["annotator_E"] == "rater E scored every feature of 1 of the 5 kept units, not all"
    with pytest.raises(KeyError, match="was not built"):
        d.matrix("all")
    # u04: every rater gives 2, but z-scored per rater column the values differ
    assert d.degenerate["n_images_all_equal"].tolist() == [0, 0]


def test_persons_moments_are_over_the_available_raters_of_the_zscored_columns():
    d = _load()
    raw = pd.read_csv(ANN).pivot(index="unit", columns=["feature", "rater"], values="score")
    kept = raw.loc[["u01", "u02", "u03", "u04", "u06"]]
    # independent computation: z-score each (feature, rater) column over the kept units;
    # rater E scored one kept unit: no scale, so its z-score is 0 (the documented rule)
    sd = kept.std(ddof=1)
    z = (kept - kept.mean()) / sd.fillna(1.0)
    assert (z.xs("E", axis=1, level="rater").loc["u06"] == 0).all()
    for f in ("f", "g"):
        block = z[f].to_numpy()
        sd = np.array([np.std(r[~np.isnan(r)], ddof=1) for r in block])
        mean = np.array([np.mean(r[~np.isnan(r)]) for r in block])
        np.testing.assert_allclose(d.moments_raw[f"sd_{f}"], sd, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(d.moments_raw[f"mean_{f}"], mean, rtol=1e-12, atol=1e-12)
    # u06 has 5 scores, the others 4: kurtosis of u01 from its 4 values, by hand
    r = z["f"].loc["u01"].dropna().to_numpy()
    dev = r - r.mean()
    kurt = np.mean(dev**4) / np.mean(dev**2) ** 2 - 3
    assert d.moments_raw.loc["u01", "kurtosis_f"] == pytest.approx(kurt, rel=1e-12)


def test_min_raters_3_keeps_u05_and_u07_and_skips_kurtosis():
    d = _load(min_raters=3)
    assert list(d.y.index) == ["u01", "u02", "u03", "u04", "u05", "u06", "u07"]
    built = set(d.sets["feature_set"])
    assert {"mean", "sd", "skewness", "mean+sd"} <= built
    assert not {"kurtosis", "mean+kurtosis", "moments_all"} & built
    assert np.isnan(d.moments_raw.loc["u05", "kurtosis_f"])
    assert np.isfinite(d.moments_raw.loc["u01", "kurtosis_f"])
    # per-rater sets need a rater on every kept unit: D misses u05 and g of u07
    assert "annotator_A" in built and "annotator_D" not in built


def test_positions_renumber_slots_and_zscore_per_feature():
    d = _load(raters="positions")
    assert d.annotators == ("1", "2", "3", "4", "5")
    assert not any(s.startswith("annotator_") for s in d.sets["feature_set"])
    assert (d.skipped["reason"].str.contains("positions")).sum() == 5
    # z-scored per feature over all cells of the kept units
    cells = d.raw[[c for c in d.raw.columns if c.startswith("f_")]].to_numpy().ravel()
    cells = cells[~np.isnan(cells)]
    zf = d.z[[c for c in d.z.columns if c.startswith("f_")]].to_numpy().ravel()
    zf = zf[~np.isnan(zf)]
    np.testing.assert_allclose(zf, (cells - cells.mean()) / cells.std(ddof=1), rtol=1e-12)
    # u04: every rater gives 2; z-scored per feature they stay equal -> degenerate
    assert d.degenerate["n_images_all_equal"].tolist() == [1, 1]
    assert d.moments_raw.loc["u04", ["sd_f", "skewness_f", "kurtosis_f"]].tolist() == [0, 0, 0]
    # u06's five raters are positions 1-5; slot 5 exists only there
    assert d.raw["f_5"].notna().sum() == 1


def test_raters_per_unit_draws_exactly_k_seeded():
    d = _load(raters="positions", raters_per_unit=4)
    assert d.raw.notna().all().all() and d.raw.shape[1] == 8
    # with 4 complete slots the rater-column sets exist for positions
    assert {"all", "f", "g"} <= set(d.sets["feature_set"])
    ex = d.excluded.set_index("image_id")
    assert ex.loc["u05", "reason"] == "fewer than 4 raters"
    assert ex.loc["u07", "detail"] == "3 rater(s) scored every feature; 4 to draw"
    again = _load(raters="positions", raters_per_unit=4)
    pd.testing.assert_frame_equal(d.raw, again.raw)
    draws = {tuple(_load(raters="persons", raters_per_unit=4, seed=s).raw.loc["u06"].isna())
             for s in range(8)}
    assert len(draws) > 1  # the seed chooses which of u06's five raters are kept


def test_wide_and_parquet_inputs_give_the_same_design(tmp_path):
    long = pd.read_csv(ANN)
    wide = long.pivot(index=["unit", "rater"], columns="feature", values="score").reset_index()
    wide.to_csv(tmp_path / "wide.csv", index=False)
    long.to_parquet(tmp_path / "long.parquet")
    ref = _load()
    for src in (tmp_path / "wide.csv", tmp_path / "long.parquet"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DatasetWarning)
            d = dataset.load(src, LAB, positive="malignant", n_splits=2, raters="persons")
        pd.testing.assert_frame_equal(d.raw, ref.raw)
        pd.testing.assert_frame_equal(d.moments, ref.moments)


def test_column_names_are_mapped_and_labels_can_be_0_1(tmp_path):
    long = pd.read_csv(ANN).rename(columns={"unit": "case", "rater": "reader",
                                            "feature": "item", "score": "grade"})
    lab = pd.read_csv(LAB).rename(columns={"unit": "case", "label": "diagnosis"})
    lab["diagnosis"] = (lab["diagnosis"] == "malignant").astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        d = dataset.load(long, lab, unit_col="case", rater_col="reader", feature_col="item",
                         score_col="grade", label_col="diagnosis", n_splits=2,
                         raters="persons")
    ref = _load()
    pd.testing.assert_frame_equal(d.raw, ref.raw)
    assert d.y.tolist() == ref.y.tolist()


# --- validation ---------------------------------------------------------------------------

def _write(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _bad(tmp_path, ann=None, lab=None, **kw):
    a = _write(tmp_path, "a.csv", ann) if ann is not None else ANN
    b = _write(tmp_path, "l.csv", lab) if lab is not None else LAB
    kw.setdefault("positive", "malignant")
    kw.setdefault("n_splits", 2)
    kw.setdefault("raters", "persons")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        with pytest.raises(DatasetError) as info:
            dataset.load(a, b, **kw)
    return str(info.value), info.value


def test_duplicate_rows_are_an_error_naming_file_and_lines(tmp_path):
    long = pd.read_csv(ANN, dtype=str)
    long = pd.concat([long, long.iloc[[2]]], ignore_index=True)
    msg, err = _bad(tmp_path, ann=long)
    assert "a.csv" in msg and "duplicate rows" in msg and "What to do" in msg
    assert err.rows == [4, len(long) + 1]  # CSV lines (line 1 is the header)
    assert ("u01", "B", "f") in err.values


def test_non_numeric_score_is_an_error_with_row_and_value(tmp_path):
    long = pd.read_csv(ANN, dtype=str, keep_default_na=False)
    long.loc[5, "score"] = "high"
    msg, err = _bad(tmp_path, ann=long)
    assert "not numbers" in msg and err.rows == [7] and err.values == ["high"]


def test_missing_column_names_the_columns_present(tmp_path):
    long = pd.read_csv(ANN).rename(columns={"rater": "reader"})
    msg, _ = _bad(tmp_path, ann=long)
    assert "missing column 'rater' (option `rater_col`)" in msg and "'reader'" in msg


def test_more_than_two_classes_is_an_error(tmp_path):
    lab = pd.read_csv(LAB)
    lab.loc[0, "label"] = "unsure"
    msg, err = _bad(tmp_path, lab=lab)
    assert "3 classes" in msg and any("unsure" in v for v in err.values)


def test_class_names_need_positive_and_positive_must_be_a_class(tmp_path):
    msg, _ = _bad(tmp_path, positive=None)
    assert "`positive='malignant'` or `positive='benign'`" in msg and "--" not in msg  # the CLI: --positive
    msg, _ = _bad(tmp_path, positive="cancer")
    assert "'cancer' is not a label value" in msg


def test_conflicting_labels_are_an_error(tmp_path):
    lab = pd.concat([pd.read_csv(LAB), pd.DataFrame({"unit": ["u01"], "label": ["malignant"]})])
    msg, err = _bad(tmp_path, lab=lab)
    assert "duplicate rows" in msg and "one label" in msg and err.rows == [2, 10]


def test_class_too_small_for_the_folds_is_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        with pytest.raises(DatasetError, match=r"2 malignant and 3 benign.*10 kept units"):
            dataset.load(ANN, LAB, positive="malignant", raters="persons")  # 10 folds by default


def test_no_unit_left_is_an_error_with_the_reasons():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        with pytest.raises(DatasetError, match=r"no unit is left.*fewer than 6 raters \(8\)"):
            dataset.load(ANN, LAB, positive="malignant", min_raters=6, n_splits=2,
                         raters="persons")


def test_unlabelled_and_never_annotated_units_warn_and_are_listed():
    with pytest.warns(DatasetWarning) as record:
        d = dataset.load(ANN, LAB, positive="malignant", n_splits=2, raters="persons")
    text = " ".join(str(w.message) for w in record)
    assert "1 annotated unit(s) have no label" in text and "u08" in text
    assert "1 labelled unit(s) were never annotated" in text and "u09" in text
    assert d.settings["warnings"] and len(d.settings["warnings"]) == 2


def test_feature_without_variance_warns_and_is_dropped(tmp_path):
    long = pd.read_csv(ANN)
    flat = long[long["feature"] == "f"].assign(feature="h", score=3)
    a = _write(tmp_path, "a.csv", pd.concat([long, flat]))
    with pytest.warns(DatasetWarning, match="feature 'h' has no variance"):
        d = dataset.load(a, LAB, positive="malignant", n_splits=2, raters="persons")
    assert d.features == ("f", "g")
    assert "no variance" in d.skipped.set_index("feature_set").loc["h", "reason"]


def test_rater_ids_with_underscores_are_renamed_with_a_warning(tmp_path):
    long = pd.read_csv(ANN)
    long["rater"] = "reader_" + long["rater"]
    a = _write(tmp_path, "a.csv", long)
    with pytest.warns(DatasetWarning, match="reader_A -> reader-A"):
        d = dataset.load(a, LAB, positive="malignant", n_splits=2, raters="persons")
    assert d.annotators[0] == "reader-A" and "annotator_reader-A" in set(d.sets["feature_set"])
    pd.testing.assert_frame_equal(d.moments, _load().moments)


def test_cli_bad_input_exits_2_with_a_message_and_no_traceback(tmp_path, capsys):
    long = pd.read_csv(ANN, dtype=str, keep_default_na=False)
    long.loc[0, "score"] = "n/a?"
    a = _write(tmp_path, "a.csv", long)
    rc = cli.main(["analyze", "--annotations", str(a), "--labels", str(LAB), "--positive",
                   "malignant", "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "input error" in err and "a.csv" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# --- the example data set -----------------------------------------------------------------

def test_example_files_are_what_make_example_makes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_example", EXAMPLE / "make_example.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ann, lab = mod.make()
    pd.testing.assert_frame_equal(ann, pd.read_csv(EXAMPLE / "annotations.csv"))
    pd.testing.assert_frame_equal(lab, pd.read_csv(EXAMPLE / "labels.csv"))
    assert ann.groupby("unit")["rater"].nunique().isin([3, 4, 5]).all()
    assert (EXAMPLE / "annotations.csv").stat().st_size < 200_000


def test_cli_analyze_on_the_example_writes_tables_and_manifest(tmp_path):
    out = tmp_path / "out"
    rc = cli.main(["analyze", "--annotations", str(EXAMPLE / "annotations.csv"), "--labels",
                   str(EXAMPLE / "labels.csv"), "--positive", "malignant", "--out", str(out),
                   "--repeats", "1", "--bootstrap", "100", "--permutations", "39",
                   "--perm-repeats", "1", "--seeds", "0", "--calibration-bootstrap", "100",
                   "--jobs", "1", "--quiet", "--name", "example"])
    assert rc == 0
    for name in ("auc_ci.csv", "permutation.csv", "comparisons.csv", "moment_tests.csv",
                 "excluded_units.csv", "skipped_feature_sets.csv", "incremental.csv",
                 "manifest.json"):
        assert (out / name).is_file(), name
    # the user's words: ENHANCE's class never appears in the outputs of a user's data
    for f in sorted(out.iterdir()):
        assert "melanoma" not in f.read_text(encoding="utf-8").lower(), f.name
    mt = pd.read_csv(out / "moment_tests.csv")
    assert set(mt["positive_class"]) == {"malignant"} and set(mt["negative_class"]) == {"benign"}
    assert set(pd.read_csv(out / "krippendorff.csv")["subset"]) == {"all", "malignant", "benign"}
    man = json.loads((out / "manifest.json").read_text())
    assert man["inputs"]["annotations"]["sha256"] == dataset.file_sha256(
        EXAMPLE / "annotations.csv")
    assert man["options"]["positive"] == "malignant" and man["design"]["min_raters"] == 4
    assert man["design"]["name"] == "example"  # --name
    assert "numpy" in man["package_versions"]
    ex = pd.read_csv(out / "excluded_units.csv")
    assert set(ex["reason"]) == {"fewer than 4 raters"} and man["design"]["n_excluded"] == len(ex)
    assert man["design"]["n_units"] + len(ex) == 300


# --- group 7 through the general path -----------------------------------------------------

@needs_data
def test_group7_general_path_equals_the_previous_group_design(annotations):
    import reference_group_design as ref

    old = ref.group_design(annotations.tidy, annotations.labels)
    for new in (features.group_design(annotations.tidy, annotations.labels),
                dataset.load_builtin("enhance/2017-2018/group07", annotations=annotations)):
        for name in ("raw", "z", "moments_raw", "moments", "excluded", "degenerate", "sets"):
            pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name),
                                          check_exact=True, obj=name)
        pd.testing.assert_series_equal(new.y, old.y, check_exact=True)
        assert (new.features, new.annotators) == (old.features, old.annotators)
    # and hence the same cross-validation, fold by fold
    a = reproduce.run_experiments(old, repeats=2, quiet=True, experiments=(1, 2, 3))
    b = reproduce.run_experiments(new, repeats=2, quiet=True, experiments=(1, 2, 3))
    pd.testing.assert_frame_equal(a.folds, b.folds, check_exact=True)
    pd.testing.assert_frame_equal(a.scores, b.scores, check_exact=True)


@needs_data
@pytest.mark.parametrize("cohort,group", [("2018-2019", "group05"), ("2019-2020", "group06"),
                                          ("mturk", "isic")])
def test_other_groups_general_path_equals_the_previous_group_design(annotations, cohort, group):
    import reference_group_design as ref

    old = ref.group_design(annotations.tidy, annotations.labels, cohort=cohort, group=group)
    new = features.group_design(annotations.tidy, annotations.labels, cohort=cohort, group=group)
    for name in ("raw", "z", "moments_raw", "excluded", "sets"):
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True)


@needs_data
def test_builtin_mturk_is_positions_with_three_raters(annotations):
    d = dataset.load_builtin("enhance/mturk", annotations=annotations)
    assert d.raters == "positions" and d.annotators == ("1", "2", "3")
    assert d.n_images == 1250 and not any(s.startswith("annotator_") for s in d.sets["feature_set"])
    assert "kurtosis" in set(d.skipped["feature_set"])
    with pytest.raises(DatasetError, match="unknown data set"):
        dataset.load_builtin("enhance/2017-2018/group99", annotations=annotations)


@needs_data
def test_analyze_group7_writes_exactly_the_review_tables(tmp_path):
    """`analyze --dataset enhance/2017-2018/group07` and `review`: the same bytes."""
    small = ["--repeats", "1", "--bootstrap", "100", "--permutations", "39", "--perm-repeats",
             "1", "--seeds", "0", "--calibration-bootstrap", "100", "--jobs", "1", "--quiet"]
    assert cli.main(["review", "--out", str(tmp_path / "review"), *small]) == 0
    assert cli.main(["analyze", "--dataset", "enhance/2017-2018/group07",
                     "--out", str(tmp_path / "analyze"), *small]) == 0
    names = sorted(p.name for p in (tmp_path / "review").glob("*.csv"))
    assert "claims.csv" in names
    for name in names:
        assert (tmp_path / "review" / name).read_bytes() == \
            (tmp_path / "analyze" / name).read_bytes(), name
    ex = pd.read_csv(tmp_path / "analyze" / "excluded_units.csv")
    assert len(ex) == 4 and set(ex["reason"]) == {"missing annotation"}


# --- persons or positions -----------------------------------------------------------------

def _slots(ids=lambda j: str(j), ks=(2, 3, 4), n=24, seed=0):
    """Units whose raters are slots: unit i has k = ks[i % len(ks)] readers, numbered
    ids(1)..ids(k); two features with random scores; classes alternate."""
    rng = np.random.default_rng(seed)
    rows = [(f"n{i:02d}", ids(j), f, float(rng.integers(1, 6)))
            for i in range(n) for j in range(1, ks[i % len(ks)] + 1) for f in ("f", "g")]
    long = pd.DataFrame(rows, columns=["unit", "rater", "feature", "score"])
    lab = pd.DataFrame({"unit": [f"n{i:02d}" for i in range(n)],
                        "label": [i % 2 for i in range(n)]})
    return long, lab


def test_slot_ids_without_raters_are_refused_with_both_choices():
    long, lab = _slots()
    with pytest.raises(DatasetError) as info:
        dataset.load(long, lab, min_raters=2, n_splits=2)
    msg = str(info.value)
    assert "rater ids are 1..k within every unit (k from 2 to 4 across 24 units)" in msg
    assert "`raters='positions'`" in msg and "`raters='persons'`" in msg
    assert len(msg.splitlines()) == 1
    # said explicitly, either reading is built
    pos = dataset.load(long, lab, min_raters=2, n_splits=2, raters="positions")
    assert pos.raters == "positions" and pos.settings["raters_given"] is True
    assert not any(s.startswith("annotator_") for s in pos.sets["feature_set"])
    per = dataset.load(long, lab, min_raters=2, n_splits=2, raters="persons")
    assert per.raters == "persons" and {"annotator_1", "annotator_2"} <= set(per.sets["feature_set"])


@pytest.mark.parametrize("ids", [lambda j: f"R{j}", lambda j: f"reader {j}",
                                 lambda j: "ABCD"[j - 1]], ids=["R1", "reader 1", "A"])
def test_other_slot_spellings_are_refused(ids):
    long, lab = _slots(ids=ids)
    with pytest.raises(DatasetError, match=r"the first k of .* within every unit"):
        dataset.load(long, lab, min_raters=2, n_splits=2)


def test_slot_order_is_natural_not_lexical():
    # 1..12 slots: lexically "10" < "2", naturally 2 < 10; k from 9 to 12
    long, lab = _slots(ks=(9, 10, 11, 12))
    assert "1..k" in dataset.rater_slots(long.rename(columns={"unit": "image_id",
                                                              "rater": "annotator"}))


def _ids(long):
    return long.rename(columns={"unit": "image_id", "rater": "annotator"})


def test_persons_designs_are_not_taken_for_slots():
    # complete design: the same raters 1..4 on every unit (ids cannot tell)
    long, _ = _slots(ks=(4,))
    assert dataset.rater_slots(_ids(long)) is None
    # persons missing units at random: unit n01 rated by 1, 2, 4
    long, _ = _slots(ks=(4,))
    gap = long[~((long["unit"] == "n01") & (long["rater"] == "3"))]
    short = gap[~((gap["unit"] == "n02") & (gap["rater"] == "4"))]
    assert dataset.rater_slots(_ids(short)) is None
    # each person rates a different set of units
    long, _ = _slots(ks=(2,))
    long["rater"] = long["unit"].str[1:].astype(int).floordiv(6).astype(str) + long["rater"]
    assert dataset.rater_slots(_ids(long)) is None
    # a complete design where one unit lacks the last rater's scores: chance 1/4, too
    # likely for persons to call the ids slots
    long, _ = _slots(ks=(4,))
    one = long[~((long["unit"] == "n05") & (long["rater"] == "4"))]
    assert dataset.rater_slots(_ids(one)) is None
    # ... but the same shape on six units (chance 4^-6 < 1e-3) is
    six = long[~(long["unit"].isin([f"n0{i}" for i in range(6)]) & (long["rater"] == "4"))]
    assert "1..k" in dataset.rater_slots(_ids(six))
    # the example data set (R1..R5 with scattered gaps) loads as persons by default
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        d = dataset.load(EXAMPLE / "annotations.csv", EXAMPLE / "labels.csv",
                         positive="malignant")
    assert d.raters == "persons" and d.settings["raters_given"] is False


def test_a_missing_score_does_not_make_a_rater_of_a_unit():
    # slot 4 of every k=4 unit has only empty scores: those units have 3 raters
    long, _ = _slots(ks=(3, 4))
    long.loc[long["rater"] == "4", "score"] = np.nan
    assert dataset.rater_slots(_ids(long)) is None  # k = 3 everywhere: complete


def test_cli_slot_ids_error_names_the_flag(tmp_path, capsys):
    long, lab = _slots(n=40)
    a, b = _write(tmp_path, "a.csv", long), _write(tmp_path, "l.csv", lab)
    rc = cli.main(["analyze", "--annotations", str(a), "--labels", str(b), "--min-raters", "2",
                   "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "--raters positions" in err and "--raters persons" in err and "`" not in err
    assert not (tmp_path / "out").exists()


# --- the user's words (issue 22, item 3) ---------------------------------------------------

def test_the_data_sets_name_is_the_annotation_files_not_its_folder(tmp_path):
    assert _load().settings["name"] == "annotations"  # tests/fixtures/dataset/annotations.csv
    assert _load(name="nodules").settings["name"] == "nodules"


def test_duplicate_rows_name_the_users_columns(tmp_path):
    long = pd.read_csv(ANN, dtype=str).rename(columns={"unit": "nodule", "rater": "reader",
                                                       "feature": "item"})
    long = pd.concat([long, long.iloc[[2]]], ignore_index=True)
    msg, _ = _bad(tmp_path, ann=long, unit_col="nodule", rater_col="reader",
                  feature_col="item", lab=pd.read_csv(LAB).rename(columns={"unit": "nodule"}))
    assert "duplicate rows for the same nodule / reader / item" in msg
    assert "image_id" not in msg and "annotator" not in msg


def test_unlabelled_units_are_counted_in_both_scopes():
    """u3 and u4 have no label; u4 lacks rater C, so min_raters=3 lists it under its
    raters, and the warning gives both counts in one sentence."""
    rows = [(f"u{i}", r, "f", float((i + k) % 4)) for i in range(12)
            for k, r in enumerate("ABC" if i != 4 else "AB")]
    long = pd.DataFrame(rows, columns=["unit", "rater", "feature", "score"])
    lab = pd.DataFrame({"unit": [f"u{i}" for i in range(12) if i not in (3, 4)],
                        "label": [i % 2 for i in range(12) if i not in (3, 4)]})
    with pytest.warns(DatasetWarning) as record:
        d = dataset.load(long, lab, raters="persons", min_raters=3, n_splits=2)
    text = " ".join(str(w.message) for w in record)
    assert "2 annotated unit(s) have no label" in text
    assert ("1 of them are listed in excluded_units.csv as \"no label\", the other 1 under "
            "the reason they were left out for first") in text
    ex = dataset.excluded_units(d).set_index("unit")["reason"]
    assert ex["u3"] == "no label" and ex["u4"] != "no label"  # left out for its raters
