"""The one result protocol of the studies (analysis.base.results) and the one way the CLI
writes a result (analysis.presentation.outputs.write_result)."""

import dataclasses
import json

import pandas as pd
import pytest

from analysis.base.results import StudyResult, as_notes
from analysis.presentation import outputs
from analysis.studies import analyze, multiverse, replication, reproduce, review, simulate, sweeps

#: Every study's result type.
RESULTS = (reproduce.Experiments, review.Review, replication.ReplicationResult,
           replication.AnnotatorResult, multiverse.MultiverseResult, simulate.Calibration,
           simulate.Power, simulate.SimulationStudy, sweeps.Sweep, analyze.Analysis)


@pytest.mark.parametrize("cls", RESULTS, ids=lambda c: c.__name__)
def test_every_study_result_follows_the_protocol(cls):
    assert issubclass(cls, StudyResult)
    params = cls.__dataclass_params__
    assert params.frozen
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert {"settings", "elapsed", "notes"} <= set(fields)
    assert all(f.kw_only for f in fields.values()), "every field is keyword-only"
    assert cls.tables is not StudyResult.tables, f"{cls.__name__} does not define tables()"


def test_a_result_is_frozen_keyword_only_and_its_notes_a_tuple():
    sw = sweeps.Sweep(frames={"a.csv": pd.DataFrame({"x": [1]})}, settings={"n": 2},
                      notes=["first", "second"], elapsed=1.23456)
    assert sw.notes == ("first", "second")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sw.elapsed = 2.0
    with pytest.raises(TypeError):
        sweeps.Sweep({"a.csv": pd.DataFrame()})  # positional arguments are refused
    assert sw.manifest() == {"settings": {"n": 2}, "elapsed_seconds": 1.235,
                             "notes": ["first", "second"]}
    assert as_notes("one") == ("one",) and as_notes(None) == ()


def test_the_base_class_has_no_tables():
    with pytest.raises(NotImplementedError, match="StudyResult does not define tables"):
        StudyResult().tables()


def test_write_result_writes_the_tables_then_a_manifest_with_the_protocol_keys(tmp_path):
    frame = pd.DataFrame({"x": [0.1 + 0.2, 1 / 3], "name": ["a", "b"]})
    sw = sweeps.Sweep(frames={"t.csv": frame}, settings={"seed": 7}, notes=["a note"],
                      elapsed=0.5)
    written = outputs.write_result(sw, tmp_path, {"command": "toy", "elapsed_seconds": 99})
    assert list(written) == ["t.csv"]
    # the one float format: 10 significant digits, no index
    assert (tmp_path / "t.csv").read_text() == "x,name\n0.3,a\n0.3333333333,b\n"
    man = json.loads((tmp_path / "manifest.json").read_text())
    # the result's own settings, time and notes take precedence over the command's keys
    assert man == {"command": "toy", "settings": {"seed": 7}, "elapsed_seconds": 0.5,
                   "notes": ["a note"]}


def test_run_manifest_names_the_command_versions_and_data():
    man = outputs.run_manifest("toy", seed=3, data_files=False, extra=1)
    assert man["command"] == "toy" and man["seed"] == 3 and man["extra"] == 1
    assert "python" in man["package_versions"] and "data_sha256" not in man
