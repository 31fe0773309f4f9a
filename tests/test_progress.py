"""Stage lines and times (analysis.base.progress.Stages)."""

from __future__ import annotations

import time

from analysis.base import progress


def test_stages_nest_print_and_record(capsys):
    with progress.recording("run") as rec:
        with rec.stage("first"):
            with progress.stage("inner"):  # a function deep in the run times itself
                time.sleep(0.02)
        with rec.stage("second"):
            pass
    assert list(rec.seconds) == ["first / inner", "first", "second"]
    assert rec.seconds["first"] >= rec.seconds["first / inner"] >= 0.02
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "run: first ..." and err[1] == "run: first / inner ..."
    assert err[2].startswith("run: first / inner: ") and err[2].endswith(" s")
    assert len(err) == 6
    assert progress.stage_quiet()  # outside a run: bars hidden


def test_quiet_run_records_without_printing(capsys):
    with progress.recording("run", quiet=True) as rec:
        assert progress.stage_quiet()
        with progress.stage("a"):
            pass
    assert list(rec.seconds) == ["a"] and capsys.readouterr().err == ""
    with progress.stage("outside"):  # no active run: nothing recorded, nothing shown
        pass
    assert capsys.readouterr().err == ""
