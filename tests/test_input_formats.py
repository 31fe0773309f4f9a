"""Input files as people have them: semicolon- and tab-separated CSV, decimal commas
(Excel in a European locale), byte-order marks; the messages when a file cannot be read
as given; and the message for an ``--out`` folder holding other files."""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import FIXTURES

from analysis import cli
from analysis.design import dataset
from analysis.design.dataset import DatasetError, DatasetWarning
from analysis.presentation import outputs
from analysis.studies import analyze

HAND = FIXTURES / "dataset"
ANN, LAB = HAND / "annotations.csv", HAND / "labels.csv"


def _hand_with_halves() -> pd.DataFrame:
    """The hand-made annotations with scores in halves (0.5, 1.5, ...): numbers that
    need a decimal mark."""
    long = pd.read_csv(ANN)
    long["score"] = long["score"] + 0.5
    return long


def _load(a, b, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        kw.setdefault("raters", "persons")  # the hand-made ids look like slots (A..E)
        return dataset.load(a, b, positive="malignant", n_splits=2, **kw)


def _excel_europe(frame: pd.DataFrame, path, *, sep=";", encoding="utf-8", decimal=","):
    """``frame`` written as Excel writes CSV in a European locale."""
    text = frame.to_csv(sep=sep, index=False, decimal=decimal, lineterminator="\r\n")
    path.write_bytes(text.encode(encoding))
    return path


FORMATS = {
    # name: (sep, encoding, decimal) as written, and the format recorded
    "semicolon, decimal comma": (";", "utf-8", ","),
    "semicolon, decimal comma, UTF-8 BOM": (";", "utf-8-sig", ","),
    "tab, decimal point": ("\t", "utf-8", "."),
    "tab, decimal comma, UTF-16 (Excel Unicode text)": ("\t", "utf-16", ","),
    "comma, UTF-8 BOM": (",", "utf-8-sig", "."),
}


@pytest.mark.parametrize("fmt", FORMATS, ids=list(FORMATS))
def test_formats_are_detected_and_read_as_the_comma_file(tmp_path, fmt):
    sep, encoding, decimal = FORMATS[fmt]
    long = _hand_with_halves()
    ref = _load(long, LAB)
    a = _excel_europe(long, tmp_path / "a.csv", sep=sep, encoding=encoding, decimal=decimal)
    b = _excel_europe(pd.read_csv(LAB), tmp_path / "l.csv", sep=sep, encoding=encoding)
    d = _load(a, b)
    pd.testing.assert_frame_equal(d.raw, ref.raw)
    pd.testing.assert_frame_equal(d.moments, ref.moments)
    assert d.y.tolist() == ref.y.tolist()
    got = d.settings["inputs"]["annotations"]["format"]
    assert got == {"sep": sep, "sep_detected": True, "decimal": decimal,
                   "encoding": {"utf-16": "utf-16"}.get(encoding, encoding)}
    notes = d.settings["input_notes"]
    if sep == "," and encoding == "utf-8" and decimal == ".":
        assert notes == []
    else:
        assert len(notes) == 2 and notes[0].startswith(f"{a}: read as ")
        assert ("semicolon-separated" in notes[0]) == (sep == ";")
        assert ("tab-separated" in notes[0]) == (sep == "\t")
        assert ("decimal commas" in notes[0]) == (decimal == ",")
        assert ("byte-order mark" in notes[0]) == (encoding != "utf-8")


def test_a_plain_comma_file_reads_as_before_with_no_note(tmp_path):
    d = _load(ANN, LAB)
    assert d.settings["input_notes"] == []
    assert d.settings["inputs"]["annotations"]["format"] == {
        "sep": ",", "sep_detected": True, "encoding": "utf-8", "decimal": "."}


def test_the_notes_reach_the_analysis_notes(tmp_path, monkeypatch):
    """analyze() lists how the inputs were read first among its notes (which go to the
    manifest, the command's summary and the review document)."""
    a = _excel_europe(_hand_with_halves(), tmp_path / "a.csv")
    d = _load(a, LAB)

    class _Review:
        notes = ["a note of the review"]
        auc_ci = pd.DataFrame(columns=["feature_set"])  # no mean model: no baseline
        settings = {}
        # no mean model: no incremental table either
        exp = SimpleNamespace(folds=pd.DataFrame(columns=["feature_set"]), estimators=())

    monkeypatch.setattr(analyze.review, "review", lambda *a, **k: _Review())
    monkeypatch.setattr(analyze.review, "claim_verdicts", lambda rv: None)
    res = analyze.analyze(d, curve=False)
    assert res.notes[0] == d.settings["input_notes"][0] and res.notes[-1] == "a note of the review"


def test_sep_and_decimal_can_be_given(tmp_path):
    long = _hand_with_halves()
    a = _excel_europe(long, tmp_path / "a.csv", sep="\t")
    b = _excel_europe(pd.read_csv(LAB), tmp_path / "l.csv", sep="\t")
    for sep in ("\t", "tab", "\\t"):  # --sep applies to both files
        d = _load(a, b, sep=sep, decimal=",")
        fmt = d.settings["inputs"]["annotations"]["format"]
        assert fmt["sep"] == "\t" and not fmt["sep_detected"] and fmt["decimal"] == ","
        pd.testing.assert_frame_equal(d.raw, _load(long, LAB).raw)
    with pytest.raises(ValueError, match="delimiter"):
        dataset.parse_sep("|")
    with pytest.raises(ValueError, match="decimal"):
        dataset.parse_decimal(";")


def test_wrong_sep_says_what_the_file_looks_like(tmp_path):
    a = _excel_europe(_hand_with_halves(), tmp_path / "a.csv")
    with pytest.raises(DatasetError) as err:
        _load(a, LAB, sep=",")
    msg = str(err.value)
    assert "this file looks semicolon-separated" in msg and "`sep=';'`" in msg
    assert "\n" not in msg
    # the CLI names the flag, shell-quoted
    from analysis.cli import error_message
    assert "pass --sep ';'" in error_message(err.value)


def test_decimal_point_forced_on_decimal_commas_names_the_option(tmp_path):
    a = _excel_europe(_hand_with_halves(), tmp_path / "a.csv")
    with pytest.raises(DatasetError) as err:
        _load(a, LAB, decimal=".")
    assert "not numbers" in str(err.value) and "`decimal=','`" in str(err.value)
    assert "'1,5'" in str(err.value)


def test_decimal_commas_and_points_mixed_is_an_error(tmp_path):
    long = _hand_with_halves().astype({"score": str})
    long["score"] = long["score"].str.replace(".", ",", regex=False)
    long.loc[3, "score"] = "2.5"
    a = tmp_path / "a.csv"
    long.to_csv(a, sep=";", index=False)
    with pytest.raises(DatasetError, match="decimal commas and with decimal points") as err:
        _load(a, LAB)
    assert "2.5" in str(err.value) and "`decimal=" in str(err.value)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    long = pd.read_csv(ANN)
    long.loc[4, "rater"] = "Dr Müller"
    a = tmp_path / "a.csv"
    a.write_bytes(long.to_csv(index=False).encode("cp1252"))
    with pytest.raises(DatasetError) as err:
        _load(a, LAB)
    assert "not UTF-8 text" in str(err.value) and "line 6" in str(err.value)
    assert "CSV UTF-8" in str(err.value)


# --- the command line ---------------------------------------------------------------------

class _Stop(Exception):
    pass


@pytest.fixture
def loaded(monkeypatch):
    """The design `analyze` loaded; the analysis itself is not run."""
    seen = []

    def stop(design, **kw):
        seen.append(design)
        raise _Stop

    monkeypatch.setattr(analyze, "analyze", stop)
    # the hand-made data set has 4 units per class: 2 folds
    monkeypatch.setattr(dataset.load, "__kwdefaults__",
                        {**dataset.load.__kwdefaults__, "n_splits": 2})
    return seen


def _cli(tmp_path, a, b, *extra):
    return cli.main(["analyze", "--annotations", str(a), "--labels", str(b), "--positive",
                     "malignant", "--out", str(tmp_path / "out"), "--quiet", "--jobs", "1",
                     "--raters", "persons", *extra])


def test_cli_reads_an_excel_europe_file(tmp_path, loaded):
    long = _hand_with_halves()
    a = _excel_europe(long, tmp_path / "a.csv", encoding="utf-8-sig")
    b = _excel_europe(pd.read_csv(LAB), tmp_path / "l.csv")
    with pytest.raises(_Stop):
        _cli(tmp_path, a, b)
    d = loaded[0]
    pd.testing.assert_frame_equal(d.raw, _load(long, LAB).raw)
    assert d.settings["inputs"]["annotations"]["format"]["sep"] == ";"
    assert "semicolon-separated, with decimal commas, UTF-8 with a byte-order mark" in \
        d.settings["input_notes"][0]
    with pytest.raises(_Stop):
        _cli(tmp_path, a, b, "--sep", ";", "--decimal", ",")
    assert loaded[1].settings["inputs"]["annotations"]["format"]["sep_detected"] is False
    assert not (tmp_path / "out").exists()


def test_cli_wrong_sep_is_one_line(tmp_path, capsys):
    a = _excel_europe(_hand_with_halves(), tmp_path / "a.csv")
    assert _cli(tmp_path, a, LAB, "--sep", ",") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "this file looks semicolon-separated" in err and "pass --sep ';'" in err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_an_unknown_sep(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        _cli(tmp_path, ANN, LAB, "--sep", "|")
    assert exit_.value.code == 2
    assert "--sep" in capsys.readouterr().err


def _stub_reproduce(monkeypatch):
    def fake(args):
        outputs.write_tables(args.work, {}, {"command": "reproduce"})
        return 0

    monkeypatch.setattr(cli, "cmd_reproduce", fake)


def test_cli_out_folder_with_other_files_says_what_is_there(tmp_path, capsys, monkeypatch):
    _stub_reproduce(monkeypatch)
    out = tmp_path / "papers"
    out.mkdir()
    for name in ("draft.docx", "figure1.png", "notes.txt", "table.csv", "z.bib"):
        (out / name).write_text("mine\n")
    (out / "old").mkdir()
    for extra in ([], ["--overwrite"]):
        assert cli.main(["reproduce", "--out", str(out), "--quiet", *extra]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "already holds a result" not in err
        assert (f"--out {out} is a folder holding 6 other entries (draft.docx, figure1.png, "
                f"notes.txt, old/ and 2 more), not a result of this program") in err
        assert "never written into or replaced" in err and f"--out {out / 'results'}" in err
    assert sorted(p.name for p in out.iterdir()) == ["draft.docx", "figure1.png", "notes.txt",
                                                      "old", "table.csv", "z.bib"]
    # the suggestion works
    assert cli.main(["reproduce", "--out", str(out / "results"), "--quiet"]) == 0


def test_cli_out_folder_with_a_result_names_its_command(tmp_path, capsys, monkeypatch):
    _stub_reproduce(monkeypatch)
    out = tmp_path / "res"
    assert cli.main(["reproduce", "--out", str(out), "--quiet"]) == 0
    assert cli.main(["reproduce", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} already holds a result (of a 'reproduce' run); pass --overwrite" in err
    assert json.loads((out / "manifest.json").read_text()) == {"command": "reproduce"}


# --- files that are not tables (issue 22, item 5) ------------------------------------------

def test_cli_folder_as_annotations_is_a_folder_not_missing(tmp_path, capsys):
    folder = tmp_path / "ann"
    folder.mkdir()
    assert _cli(tmp_path, folder, LAB) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"{folder}: is a folder, not a file" in err and "does not exist" not in err
    assert not (tmp_path / "out").exists()


def test_cli_header_only_csv_has_its_own_message(tmp_path, capsys):
    a = tmp_path / "a.csv"
    a.write_text("unit,rater,feature,score\n", encoding="utf-8")
    assert _cli(tmp_path, a, LAB) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"{a}: has a header but no rows" in err and "variance" not in err
    b = tmp_path / "l.csv"
    b.write_text("unit,label\n", encoding="utf-8")
    assert _cli(tmp_path, ANN, b) == 2
    assert f"{b}: has a header but no rows" in capsys.readouterr().err


def test_cli_empty_file_is_empty(tmp_path, capsys):
    a = tmp_path / "a.csv"
    a.write_bytes(b"")
    assert _cli(tmp_path, a, LAB) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"{a}: is empty" in err


def test_input_paths_are_recorded_as_given(tmp_path, monkeypatch):
    """Relative stays relative: no local folder reaches a manifest or a document."""
    (tmp_path / "data").mkdir()
    _hand_with_halves().to_csv(tmp_path / "data" / "a.csv", index=False)
    pd.read_csv(LAB).to_csv(tmp_path / "data" / "l.csv", index=False)
    monkeypatch.chdir(tmp_path)
    d = _load("data/a.csv", "data/l.csv")
    assert d.settings["inputs"]["annotations"]["path"] == "data/a.csv"
    assert d.settings["inputs"]["labels"]["path"] == "data/l.csv"
    assert str(tmp_path) not in repr(d.settings)
