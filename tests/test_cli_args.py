"""Every CLI option either works or is refused in one line, before anything is computed;
output folders are all or nothing. No data needed: the commands are stubbed or refused
before they load anything."""

from __future__ import annotations

import json

import pytest

from analysis import cli
from analysis.presentation import outputs
from analysis.studies import reproduce

BAD = [
    (["reproduce", "--jobs", "0"], "--jobs"),
    (["reproduce", "--jobs", "-2"], "--jobs"),
    (["review", "--jobs", "0"], "--jobs"),
    (["replicate", "--jobs", "0"], "--jobs"),
    (["annotators", "--jobs", "0"], "--jobs"),
    (["multiverse", "--jobs", "0"], "--jobs"),
    (["simulate", "--jobs", "0"], "--jobs"),
    (["reproduce", "--seed", "-1"], "--seed"),
    (["simulate", "--seed", "-1"], "--seed"),
    (["reproduce", "--seed", "x"], "--seed"),
    (["reproduce", "--repeats", "0"], "--repeats"),
    (["reproduce", "--estimator", "ridge"], "--estimator"),
    (["review", "--bootstrap", "99"], "--bootstrap"),
    (["review", "--permutations", "18"], "--permutations"),
    (["review", "--permutations", "19"], "--permutations"),
    (["analyze", "--permutations", "38"], "--permutations"),
    (["analyze", "--multiverse-permutations", "19"], "--multiverse-permutations"),
    (["analyze", "--power-permutations", "19"], "--power-permutations"),
    (["replicate", "--permutations", "19"], "--permutations"),
    (["simulate", "--permutations", "19"], "--permutations"),
    (["analyze", "--raters", "slots"], "--raters"),
    (["review", "--repeats", "0"], "--repeats"),
    (["replicate", "--permutations", "0"], "--permutations"),
    (["replicate", "--repeats", "-3"], "--repeats"),
    (["annotators", "--max-subsets", "0"], "--max-subsets"),
    (["annotators", "--repeats", "0"], "--repeats"),
    (["multiverse", "--permutations", "5"], "--permutations"),
    (["simulate", "--images", "0"], "--images"),
    (["simulate", "--images", "100", "19"], "--images"),
    (["simulate", "--annotators", "1"], "--annotators"),
    (["simulate", "--datasets", "0"], "--datasets"),
    (["simulate", "--calibration-datasets", "0"], "--calibration-datasets"),
    (["simulate", "--permutations", "1"], "--permutations"),
]


@pytest.fixture
def no_compute(monkeypatch):
    """Any attempt to load data fails the test: refusals must come first."""

    def boom(*a, **k):
        raise AssertionError("computation started")

    monkeypatch.setattr(reproduce, "load_group", boom)
    monkeypatch.setattr(reproduce, "load_annotations", boom)


@pytest.mark.parametrize(("argv", "option"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_option_is_one_line_exit_2(argv, option, tmp_path, capsys, no_compute):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--out", str(tmp_path / "o"), "--quiet"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # one line, not the usage first (27 lines for analyze), and where the usage is
    assert len(err.strip().splitlines()) == 1, err
    last = err.strip()
    assert last.startswith(f"crowd-disagreement {argv[0]}: error: argument {option}"), err
    assert last.endswith(f"(see crowd-disagreement {argv[0]} --help)"), err
    if "permutations" in option:
        assert "smallest p-value is 1/(B+1)" in err and ">= 39" in err
    assert not (tmp_path / "o").exists()


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for n in needles:
        assert n in err, err
    return err


def test_out_is_an_existing_file(tmp_path, capsys, no_compute):
    f = tmp_path / "results.csv"
    f.write_text("x\n")
    assert cli.main(["reproduce", "--out", str(f), "--quiet"]) == 2
    _one_line_error(capsys, "existing file")
    assert f.read_text() == "x\n"


def test_out_not_writable_fails_before_computing(tmp_path, capsys, no_compute):
    (tmp_path / "file").write_text("x")
    assert cli.main(["simulate", "--out", str(tmp_path / "file" / "sim"), "--quiet"]) == 2
    _one_line_error(capsys, "cannot write")


def _fake_reproduce(writes):
    def cmd(args):
        writes.append(args.work)
        outputs.write_tables(args.work, {}, {"run": len(writes)})
        (args.work / "fold_auc.csv").write_text(f"run\n{len(writes)}\n")
        return 0

    return cmd


def test_rerun_refused_unless_overwrite(tmp_path, capsys, monkeypatch):
    writes = []
    monkeypatch.setattr(cli, "cmd_reproduce", _fake_reproduce(writes))
    out = tmp_path / "res"
    assert cli.main(["reproduce", "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "manifest.json").read_text()) == {"run": 1}
    assert cli.main(["reproduce", "--out", str(out), "--quiet"]) == 2
    _one_line_error(capsys, "--overwrite")
    assert len(writes) == 1  # refused before running
    assert cli.main(["reproduce", "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert json.loads((out / "manifest.json").read_text()) == {"run": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_interrupted_command_leaves_no_output_folder(tmp_path, monkeypatch):
    def interrupted(args):
        (args.work / "fold_auc.csv").write_text("partial\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_reproduce", interrupted)
    out = tmp_path / "res"
    with pytest.raises(KeyboardInterrupt):
        cli.main(["reproduce", "--out", str(out), "--quiet"])
    assert list(tmp_path.iterdir()) == []


def test_second_run_while_one_runs_is_refused(tmp_path, capsys, monkeypatch):
    out = tmp_path / "res"
    inner = []

    def outer_cmd(args):
        inner.append(cli.main(["reproduce", "--out", str(out), "--quiet"]))
        outputs.write_tables(args.work, {}, {})
        return 0

    monkeypatch.setattr(cli, "cmd_review", outer_cmd)
    monkeypatch.setattr(cli, "cmd_reproduce", lambda args: pytest.fail("must not run"))
    assert cli.main(["review", "--out", str(out), "--quiet"]) == 0
    assert inner == [2]
    _one_line_error(capsys, "in use")
    assert (out / "manifest.json").is_file()


def test_missing_data_leaves_no_output_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CROWD_DISAGREEMENT_DATA", str(tmp_path / "nowhere"))
    out = tmp_path / "out"
    assert cli.main(["reproduce", "--out", str(out), "--quiet"]) == 2
    _one_line_error(capsys, "CROWD_DISAGREEMENT_DATA")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_sigterm_during_a_run_leaves_no_output_folder(tmp_path):
    """`kill PID` while a command computes: no --out folder, no temporary one."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "res"
    code = ("import sys, time\nfrom analysis import cli\n"
            "def slow(args):\n"
            "    (args.work / 'fold_auc.csv').write_text('partial')\n"
            "    print('ready', flush=True)\n    time.sleep(60)\n    return 0\n"
            "cli.cmd_reproduce = slow\n"
            "sys.exit(cli.main(['reproduce', '--out', sys.argv[1], '--quiet']))\n")
    env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE,
                            env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert list(tmp_path.iterdir()) == []
