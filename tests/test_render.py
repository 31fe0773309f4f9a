"""`make report` entry point (analysis.presentation.render), with a stand-in for the quarto CLI.

Quarto's `freeze: auto` reuses the last executed results whenever report.qmd is
unchanged; analysis.presentation.render must throw them away when the code, the data or the
settings changed (a draft must never stand in for the full report)."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.presentation import render

FAKE_QUARTO = """#!/bin/sh
# stand-in for quarto: log the call and whether frozen results existed, then freeze
if [ "$1" = "--version" ]; then echo "${FAKE_QUARTO_VERSION:-1.6.40}"; exit 0; fi
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
    from analysis.presentation import cache

    monkeypatch.setattr(cache, "_data_hashes", lambda: {"a.csv": "00"})
    return root


def test_unavailable_data_is_one_line_not_a_traceback(project, monkeypatch, capsys):
    from analysis.loading import data
    from analysis.presentation import cache

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


# --- finding Quarto, installing it into the environment ---------------------------------


@pytest.fixture
def no_quarto(tmp_path, monkeypatch):
    """An empty PATH and an environment without quarto; pip is never really called."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    env_bin = tmp_path / "venv" / "bin"
    env_bin.mkdir(parents=True)
    monkeypatch.setattr(render, "_env_bin", lambda: env_bin)
    calls = []

    def no_pip():
        raise AssertionError("pip must be mocked")  # pragma: no cover

    monkeypatch.setattr(render, "_pip_install_quarto", no_pip)
    return env_bin, calls


#: What `pip install quarto-cli` prints where GitHub cannot be reached (its build
#: catches the download error, prints it, then fails on the missing archive).
PIP_OFFLINE = subprocess.CompletedProcess(
    ["pip"], 1, stdout="",
    stderr="  error: subprocess-exited-with-error\n"
           "  Downloading https://github.com/quarto-dev/quarto-cli/releases/download/v1.10.19/"
           "quarto-1.10.19-linux-amd64.tar.gz\n"
           "  Error downloading Quarto: <urlopen error [Errno 101] Network is unreachable>\n"
           "  AttributeError: 'NoneType' object has no attribute 'read'\n"
           "ERROR: Failed to build 'quarto-cli' when getting requirements to build wheel\n")


def test_no_quarto_and_a_failed_install_is_one_clear_message(no_quarto, monkeypatch, capsys,
                                                             tmp_path):
    env_bin, calls = no_quarto
    monkeypatch.setattr(render, "_pip_install_quarto", lambda: calls.append("pip") or PIP_OFFLINE)
    assert render.main([], root=tmp_path) == 1
    assert calls == ["pip"]
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("Quarto is not on PATH: installing it into")
    assert len(err) == 2 and "Traceback" not in err[1]
    assert err[1].startswith("crowd-disagreement: Quarto is not on PATH, and installing it")
    assert "failed (Error downloading Quarto: <urlopen error [Errno 101] Network is " \
           "unreachable>)" in err[1]
    assert err[1].endswith("install Quarto >= 1.4 from https://quarto.org/docs/get-started/ "
                           "and put it on PATH, then run the command again")
    assert not (tmp_path / render.KEY_FILE).exists()


def test_no_quarto_installs_it_into_the_environment_and_uses_it(no_quarto, monkeypatch,
                                                                project):
    env_bin, calls = no_quarto

    def pip_ok():
        calls.append("pip")
        q = env_bin / "quarto"
        q.write_text(FAKE_QUARTO)
        q.chmod(q.stat().st_mode | stat.S_IEXEC)
        return subprocess.CompletedProcess(["pip"], 0, "", "")

    monkeypatch.setattr(render, "_pip_install_quarto", pip_ok)
    tools = project / "tools"  # what the stand-in needs, and no quarto
    tools.mkdir()
    for tool in ("mkdir", "touch"):
        (tools / tool).symlink_to(shutil.which(tool, path=os.defpath))
    monkeypatch.setenv("PATH", str(tools))  # the project fixture's stand-in is hidden
    assert render.main([], root=project) == 0
    assert render.main([], root=project) == 0  # found in the environment: no second install
    assert calls == ["pip"]
    assert _calls(project) == ["render executed", "render thawed"]


def test_the_pip_step_installs_quarto_cli_into_this_python(monkeypatch):
    seen = []
    monkeypatch.setattr(render.subprocess, "run",
                        lambda cmd, **kw: seen.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    render._pip_install_quarto()
    assert seen == [[sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                     "quarto-cli>=1.4"]]


def test_quarto_older_than_1_4_is_refused(project, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_QUARTO_VERSION", "1.3.450")
    assert render.main([], root=project) == 1
    err = capsys.readouterr().err
    assert "is Quarto 1.3.450, older than 1.4" in err and "quarto.org" in err
    assert not (project / "calls.log").exists()


def test_a_document_renders_alone_with_its_arguments(project):
    assert render.main(["review.qmd", "-P", "quick:true"], root=project) == 0
    assert _calls(project) == ["render review.qmd -P quick:true executed"]
    assert not (project / render.KEY_FILE).exists()  # no key: not the project render


def test_entry_point_without_quarto_and_without_network_exits_non_zero(tmp_path):
    """`python -m analysis.presentation.render` with an empty PATH, in a Python environment without
    quarto, where pip can reach no index: one message, exit status 1, no traceback."""
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    (tmp_path / "links").mkdir()
    env = {"PATH": "", "HOME": str(tmp_path), "PYTHONPATH": str(Path(render.__file__).parents[2]),
           "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(tmp_path / "links"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    proc = subprocess.run([str(py), "-m", "analysis.presentation.render"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and len(err) == 2, proc.stderr
    assert "installing it into" in err[0] and "pip install quarto-cli failed" in err[1]
    assert "install Quarto >= 1.4 from https://quarto.org" in err[1]
    assert not (env_dir / "bin" / "quarto").exists()


# --- make review: inputs checked first, stale output marked (issue 22, item 5) -----------

def _user_files(root):
    """The example data set (labels are class names) and the hand-made one (rater ids
    A..E that look like slots) in the project folder."""
    from conftest import FIXTURES, ROOT

    shutil.copy(ROOT / "data" / "examples" / "annotations.csv", root / "a.csv")
    shutil.copy(ROOT / "data" / "examples" / "labels.csv", root / "l.csv")
    shutil.copy(FIXTURES / "dataset" / "annotations.csv", root / "slots.csv")
    shutil.copy(FIXTURES / "dataset" / "labels.csv", root / "slot_labels.csv")


def test_review_input_error_is_one_line_in_make_words(project, capsys):
    _user_files(project)
    (project / "review.html").write_text("old results")
    argv = ["review.qmd", "-P", "annotations:a.csv", "-P", "labels:l.csv"]
    assert render.main(argv, root=project) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("crowd-disagreement review.qmd: input error: l.csv: labels are "
                          "class names"), err
    assert ("name the positive class: POSITIVE=malignant (or -P positive:malignant) or "
            "POSITIVE=benign (or -P positive:benign)") in err and "--positive" not in err
    assert str(project) not in err  # the path as given
    # quarto never ran; the old page is not left looking current
    assert not (project / "calls.log").exists()
    assert not (project / "review.html").exists()
    assert (project / "review.html.stale").read_text() == "old results"
    assert "the previous review.html (results of an earlier render) was renamed " \
           "review.html.stale" in err
    # ids that look like slots: the -P words for raters
    slots = ["review.qmd", "-P", "annotations:slots.csv", "-P", "labels:slot_labels.csv",
             "-P", "positive:malignant"]
    assert render.main(slots, root=project) == 2
    err = capsys.readouterr().err
    assert "pass -P raters:positions if a rater id is a slot, or -P raters:persons" in err
    # a parameter the document does not have
    assert render.main(["review.qmd", "-P", "postive:malignant"], root=project) == 2
    assert "review.qmd has no parameter 'postive'" in capsys.readouterr().err
    # good inputs: quarto runs with the arguments as given, the stale copy goes
    argv += ["-P", "positive:malignant", "-P", "quick:true"]
    assert render.main(argv, root=project) == 0
    assert _calls(project) == [f"render {' '.join(argv)} executed"]
    assert not (project / "review.html.stale").exists()


def test_failed_review_render_marks_the_old_page_stale(project, monkeypatch, capsys):
    (project / "review.html").write_text("old results")
    monkeypatch.setenv("FAKE_QUARTO_RC", "1")
    assert render.main(["review.qmd", "-P", "quick:true"], root=project) == 1
    err = capsys.readouterr().err
    assert "the render failed (exit status 1)" in err and "renamed review.html.stale" in err
    assert (project / "review.html.stale").is_file() and not (project / "review.html").exists()


def test_review_words_translate_parameters():
    w = render.review_words
    assert w("pass `positive='malignant'`") == "pass POSITIVE=malignant (or -P positive:malignant)"
    assert w("`annotations`") == "ANNOTATIONS=VALUE (or -P annotations:VALUE)"
    assert w("lower `min_raters`") == "lower -P min_raters:VALUE"
    assert w("`sep=';'`") == "-P sep:;"
