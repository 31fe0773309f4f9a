"""``crowd-disagreement analyze --multiverse --power``: the on-request parts write their
tidy tables into the same all-or-nothing output folder, and the manifest records their
options and settings."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ROOT, assert_vocabulary

from analysis import cli
from analysis.design import dataset

EXAMPLES = ROOT / "data" / "examples"
#: The smallest review the options allow (the test is about the outputs).
TINY_REVIEW = ["--bootstrap", "100", "--permutations", "39", "--repeats", "1",
               "--perm-repeats", "1", "--seeds", "0", "--calibration-bootstrap", "100"]
INPUT = ["--annotations", str(EXAMPLES / "annotations.csv"), "--labels",
         str(EXAMPLES / "labels.csv"), "--positive", "malignant"]


def test_analyze_writes_multiverse_and_power_tables(tmp_path, monkeypatch):
    from analysis.studies import multiverse as mv

    small = mv.grid(cv=("5-fold",), estimator=("mle",), disagreement=("moments", "mad"))
    monkeypatch.setattr(mv, "grid", lambda **kw: small)
    out = tmp_path / "res"
    argv = ["analyze", "--out", str(out), "--quiet", "--jobs", "1", *INPUT, *TINY_REVIEW,
            "--multiverse", "--multiverse-permutations", "39", "--power", "--power-datasets",
            "2", "--power-calibration-datasets", "2", "--power-permutations", "39",
            "--power-images", "40", "--power-annotators", "3"]
    assert cli.main(argv) == 0
    frame = pd.read_csv(out / "multiverse.csv")
    # unequal raters per unit: the 4 impute paths are skipped with the reason
    assert len(frame) == 2 * 4 and set(frame["missing"]) == {"drop"}
    skipped = pd.read_csv(out / "multiverse_skipped_paths.csv")
    assert len(skipped) == 4 and skipped["reason"].str.startswith("missing = impute").all()
    assert len(pd.read_csv(out / "multiverse_verdicts.csv")) == 2
    power = pd.read_csv(out / "power.csv")
    assert power[["n_images", "n_annotators"]].values.tolist() == [[40, 3]]
    for name in ("power_parameters.csv", "power_calibration.csv", "power_coverage.csv",
                 "power_truth.csv", "power_calibration_studies.csv", "power_studies.csv",
                 "calibration.csv", "auc_ci.csv"):  # the review's own tables stay
        assert (out / name).is_file(), name
    params = pd.read_csv(out / "power_parameters.csv")
    assert list(params["feature"]) == ["colour", "margin", "shape", "texture"]
    man = json.loads((out / "manifest.json").read_text())
    assert man["options"]["multiverse"] and man["options"]["power"]
    assert man["options"]["power_images"] == [40]
    assert man["multiverse"]["n_paths_requested"] == len(small)
    assert man["multiverse"]["n_paths_skipped"] == 4
    assert man["power"]["power_images"] == [40] and man["power"]["calibration_datasets"] == 2
    assert any(n.startswith("multiverse: 4 of 8 paths run") for n in man["notes"])
    assert any(n.startswith("power: 2 studies per model") for n in man["notes"])
    assert_vocabulary(out, "analyze")  # the review's tables and the sweeps'


def test_without_the_flags_nothing_extra_is_computed(tmp_path, monkeypatch):
    from analysis.studies import sweeps

    def boom(*a, **k):
        raise AssertionError("an on-request part ran")

    monkeypatch.setattr(sweeps, "run_multiverse", boom)
    monkeypatch.setattr(sweeps, "run_power", boom)
    out = tmp_path / "plain"
    assert cli.main(["analyze", "--out", str(out), "--quiet", "--jobs", "1", *INPUT,
                     *TINY_REVIEW]) == 0
    assert not list(out.glob("multiverse*")) and not list(out.glob("power*"))
    man = json.loads((out / "manifest.json").read_text())
    assert "multiverse" not in man and "power" not in man


BAD = [(["--multiverse-permutations", "5"], "--multiverse-permutations"),
       (["--power-datasets", "0"], "--power-datasets"),
       (["--power-calibration-datasets", "0"], "--power-calibration-datasets"),
       (["--power-permutations", "1"], "--power-permutations"),
       (["--power-images", "10"], "--power-images"),
       (["--power-annotators", "1"], "--power-annotators")]


@pytest.mark.parametrize(("extra", "option"), BAD, ids=[b[1] for b in BAD])
def test_bad_sweep_options_are_refused_before_loading(extra, option, tmp_path, capsys,
                                                      monkeypatch):
    def boom(*a, **k):
        raise AssertionError("computation started")

    monkeypatch.setattr(dataset, "load", boom)
    with pytest.raises(SystemExit) as err:
        cli.main(["analyze", "--out", str(tmp_path / "x"), *INPUT, "--multiverse", "--power",
                  *extra])
    assert err.value.code == 2
    assert option in capsys.readouterr().err
