"""`make report` entry point (analysis.render), with a stand-in for the quarto CLI.

Quarto's `freeze: auto` reuses the last executed results whenever report.qmd is
unchanged; analysis.render must throw them away when the code, the data or the
settings changed (a draft must never stand in for the full report)."""

import os
import stat

import pytest

from analysis import render

FAKE_QUARTO = """#!/bin/sh
# stand-in for quarto: log the call and whether frozen results existed, then freeze
if [ -e _freeze/report/frozen ]; then state=thawed; else state=executed; fi
echo "$* $state" >> calls.log
mkdir -p _freeze/report && touch _freeze/report/frozen
exit ${FAKE_QUARTO_RC:-0}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    q = bin_dir / "quarto"
    q.write_text(FAKE_QUARTO)
    q.chmod(q.stat().st_mode | stat.S_IEXEC)
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CROWD_DISAGREEMENT_QUICK", raising=False)
    monkeypatch.delenv("CROWD_DISAGREEMENT_REPEATS", raising=False)
    # the key verifies the data; these tests are about freezing, not data
    from analysis import cache

    monkeypatch.setattr(cache, "_data_hashes", lambda: {"a.csv": "00"})
    return root


def test_unavailable_data_is_one_line_not_a_traceback(project, monkeypatch, capsys):
    from analysis import cache, data

    def missing():
        raise data.DataError("crowd/color.csv: not found in the local copy")

    monkeypatch.setattr(cache, "_data_hashes", missing)
    assert render.main([], root=project) == 1
    err = capsys.readouterr().err
    assert err.strip() == "crowd-disagreement: data error: crowd/color.csv: not found in the local copy"
    assert not (project / "calls.log").exists()


def _calls(root):
    return (root / "calls.log").read_text().splitlines()


def test_unchanged_inputs_reuse_frozen_results_changed_settings_do_not(project, monkeypatch):
    assert render.main([], root=project) == 0
    assert render.main([], root=project) == 0
    monkeypatch.setenv("CROWD_DISAGREEMENT_QUICK", "1")  # a draft: must execute
    assert render.main([], root=project) == 0
    monkeypatch.delenv("CROWD_DISAGREEMENT_QUICK")  # back to full: must execute again
    assert render.main([], root=project) == 0
    assert _calls(project) == ["render executed", "render thawed", "render executed",
                               "render executed"]
    assert (project / render.KEY_FILE).read_text().strip() == render.render_key()


def test_code_change_discards_frozen_results(project, monkeypatch):
    assert render.main([], root=project) == 0
    monkeypatch.setattr(render, "render_key", lambda: "another package source")
    assert render.main([], root=project) == 0
    assert _calls(project) == ["render executed", "render executed"]


def test_failed_render_leaves_no_key_and_passes_arguments(project, monkeypatch):
    monkeypatch.setenv("FAKE_QUARTO_RC", "3")
    assert render.main(["--to", "html"], root=project) == 3
    assert not (project / render.KEY_FILE).exists()
    assert _calls(project) == ["render --to html executed"]
    monkeypatch.delenv("FAKE_QUARTO_RC")
    assert render.main([], root=project) == 0  # no key: the frozen results are not trusted
    assert _calls(project)[-1] == "render executed"


def test_missing_quarto_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert render.main([], root=tmp_path) == 1
    assert "Quarto is not installed" in capsys.readouterr().err
