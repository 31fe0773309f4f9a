import json

import pandas as pd
import pytest
from conftest import assert_vocabulary, needs_data

from analysis import cli

pytestmark = needs_data


def test_reproduce_writes_the_four_files_with_their_columns(tmp_path, capsys):
    assert cli.main(["reproduce", "--out", str(tmp_path), "--repeats", "3", "--quiet",
                     "--estimator", "mle"]) == 0
    assert capsys.readouterr().out == ""  # --quiet prints nothing
    folds = pd.read_csv(tmp_path / "fold_auc.csv")
    assert {"experiment", "feature_set", "estimator", "repeat", "fold", "n_train", "n_test",
            "n_pos_test", "auc", "separated", "converged"} <= set(folds.columns)
    assert len(folds) == 17 * 3 * 10 and set(folds["estimator"]) == {"mle"}
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert {"experiment", "feature_set", "estimator", "n_features", "mean_auc", "sd_auc",
            "band_low", "band_high"} <= set(summary.columns)
    comp = pd.read_csv(tmp_path / "paper_comparison.csv")
    assert {"feature_set", "paper_auc", "mean_auc", "band_low", "band_high",
            "within_band"} <= set(comp.columns)
    assert len(comp) == 15
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["n_images"] == 96 and man["n_melanoma"] == 18 and man["repeats"] == 3
    assert man["seed"] == 2018 and man["estimators"] == ["mle"]
    from analysis.loading import data, tidy

    assert man["data_sha256"] == data.verify_all(tidy.REQUIRED_FILES)  # measured, files read
    assert "external/ISIC_0000000.jpg" not in man["data_sha256"] and "numpy" in man["package_versions"]
    assert man["elapsed_seconds"] > 0
    assert_vocabulary(tmp_path, "reproduce")


def test_review_writes_tidy_tables(tmp_path):
    assert cli.main(["review", "--out", str(tmp_path), "--repeats", "2", "--bootstrap", "100",
                     "--permutations", "39", "--perm-repeats", "2", "--seeds", "1",
                     "--calibration-bootstrap", "100", "--quiet", "--jobs", "1"]) == 0
    cols = {
        "auc_ci.csv": {"feature_set", "estimator", "cv_auc", "std_error", "conf_low", "conf_high",
                       "n_boot",
                       "fold_mean_auc"},
        "permutation.csv": {"feature_set", "estimator", "observed_auc", "p_value", "n_permutations",
                            "cv_repeats", "seed_min_p_value", "seed_max_p_value"},
        "permutation_seeds.csv": {"feature_set", "estimator", "seed", "p_value"},
        "tests.csv": {"family", "hypothesis", "p_value", "adjustment", "adjusted_p_value"},
        "bootstrap_cv.csv": {"feature_set", "estimator", "replicate", "cv_auc"},
        "icc.csv": {"feature", "subset", "type", "icc", "conf_low", "conf_high", "F", "df1", "df2",
                    "p_value"},
        "moment_tests.csv": {"feature", "moment", "auc", "conf_low", "conf_high", "u", "p_value",
                             "holm_p_value", "bh_p_value", "rank_biserial", "cles", "direction"},
        "claims.csv": {"claim", "level", "part", "verdict", "evidence"},
        "comparisons.csv": {"set_a", "set_b", "estimator", "test", "p_value"},
        "krippendorff.csv": {"feature", "subset", "level", "alpha"},
    }
    for name, need in cols.items():
        frame = pd.read_csv(tmp_path / name)
        assert need <= set(frame.columns), name
        assert len(frame) > 0, name
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["n_permutations"] == 39 and man["n_boot"] == 100
    assert man["perm_cv_repeats"] == 2 and man["n_seeds"] == 1
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert (claims["level"] == "claim").sum() == 7 and (claims["level"] == "part").sum() == 29
    assert_vocabulary(tmp_path, "review")


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--out", str(tmp_path), "--repeats", "0"])
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--out", str(tmp_path), "--estimator", "ridge"])


def test_missing_data_is_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CROWD_DISAGREEMENT_DATA", str(tmp_path / "nowhere"))
    assert cli.main(["reproduce", "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "CROWD_DISAGREEMENT_DATA" in err and "https://" in err


def test_multiverse_and_simulate_write_tidy_tables(tmp_path, monkeypatch):
    from analysis.studies import multiverse as mv

    small = mv.grid(cv=("10-fold",), estimator=("mle",), missing=("drop",),
                    disagreement=("moments", "mad"))
    monkeypatch.setattr(mv, "grid", lambda **kw: small)
    out = tmp_path / "mv"
    assert cli.main(["multiverse", "--out", str(out), "--permutations", "39", "--quiet",
                     "--jobs", "1"]) == 0
    frame = pd.read_csv(out / "multiverse.csv")
    assert len(frame) == 2 * len(small)  # one row per path and claim
    assert {"scaling", "estimator", "missing", "cv", "disagreement", "claim", "estimate",
            "conf_low", "conf_high", "p_value", "verdict"} <= set(frame.columns)
    assert json.loads((out / "manifest.json").read_text())["multiverse"]["n_paths"] == len(small)
    assert_vocabulary(out, "multiverse")
    out = tmp_path / "sim"
    assert cli.main(["simulate", "--out", str(out), "--datasets", "2", "--calibration-datasets",
                     "4", "--permutations", "39", "--images", "50", "--annotators", "3",
                     "--quiet", "--jobs", "1"]) == 0
    power = pd.read_csv(out / "power.csv")
    assert len(power) == 1 and power["n_images"].iloc[0] == 50
    for name in ("parameters.csv", "calibration.csv", "calibration_studies.csv",
                 "power_studies.csv", "manifest.json", "strong_parameters.csv",
                 "c4_power.csv"):
        assert (out / name).is_file(), name
    c4 = pd.read_csv(out / "c4_power.csv")
    assert "strong" in set(c4["model"]) and c4["supported"].between(0, 1).all()
    man = json.loads((out / "manifest.json").read_text())
    assert man["strong"]["mu1"] > man["strong"]["mu1_calibrated"]
    assert_vocabulary(out, "simulate")
