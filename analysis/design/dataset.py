"""Load any multi-rater data set into the design every analysis function takes.

A user's data are two tables (CSV or Parquet files, or DataFrames):

* **annotations**, long (one row per unit, rater and feature: ``unit, rater, feature,
  score``) or wide (one row per unit and rater, one column per feature);
* **labels**: ``unit, label`` with 0/1, or two class names and ``positive=`` naming
  the positive one.

:func:`load` reads and validates them (pandera schemas plus the cross-table checks
below), then builds the design with :func:`analysis.design.features.design_from_long`, the
same builder that makes the paper's group 7 (:func:`analysis.design.features.group_design`).
:func:`load_builtin` gives the ENHANCE groups and the MTurk crowd by name.

Validation: every problem with the input is a :class:`DatasetError` (an error that
names the file, the rows or values and what to do) or, where the analysis can go on,
a :class:`DatasetWarning` and a listed exclusion. Bad input never ends in a traceback
from deep inside the analysis.

=====================================  =================================================
problem                                outcome
=====================================  =================================================
CSV separated by ``;`` or tab          read (delimiter detected on the first lines;
                                       ``sep=``/``--sep`` to give it); noted
byte-order mark (UTF-8, UTF-16)        read in that encoding; noted
decimal commas (``;`` or tab file)     read as numbers (``decimal=``/``--decimal``);
                                       noted; commas and points mixed: error
file not UTF-8 text                    error (line of the first bad byte)
a folder instead of a file             error "is a folder, not a file"
empty file; header but no rows         error "is empty"; "has a header but no rows"
columns found under another delimiter  error "this file looks semicolon-separated"
                                       with the ``--sep`` to pass
missing column                         error (names the columns present)
empty unit, rater or feature id        error (rows)
non-numeric score                      error (rows and values); an empty cell is a
                                       missing rating, not an error
duplicate (unit, rater, feature)       error (rows)
label column with more than 2 classes  error (classes and counts)
two class names, no ``positive``       error; ``positive`` not a class: error
one label per unit                     conflicting duplicate labels: error
unit annotated but without a label     warning; unit excluded ("no label")
label of a unit never annotated        warning; listed in ``excluded``
rater ids that look like slots, and   error: say ``raters='positions'`` or
``raters`` not given                   ``raters='persons'`` (:func:`rater_slots`)
rater id containing ``_``              warning; ``_`` replaced by ``-`` (recorded)
feature with no variance               warning; feature dropped (``skipped``)
no unit left                           error (counts of each exclusion reason)
class too small for the folds          error (rarer class count, folds)
=====================================  =================================================
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..base import seeds
from ..base.errors import SHOW, DatasetError, DatasetWarning
from ..base.fitconfig import DEFAULT_SEED
from . import features as feat

__all__ = ["DatasetError", "DatasetWarning", "load", "read_annotations", "read_labels",
           "load_builtin", "builtin_names", "excluded_units", "file_sha256", "parse_sep",
           "parse_decimal", "format_note", "rater_slots", "read_groups", "check_design"]

#: Folds of the stratified cross-validation the review uses.
N_SPLITS = 10


def _warn(notes: list[str], message: str) -> None:
    notes.append(message)
    warnings.warn(message, DatasetWarning, stacklevel=3)


# --- reading ------------------------------------------------------------------------------

def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: Delimiters of a CSV file, in the order a tie between them is broken.
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
#: Names accepted for a delimiter (``sep=``, ``--sep``) besides the character itself.
_SEP_ALIASES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t"}
#: Bytes of a CSV file read to detect its delimiter.
_SNIFF_BYTES = 1 << 18
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_DECIMAL_COMMA = r"[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?"
_DECIMAL_POINT = r"[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?"


def parse_sep(sep: str | None) -> str | None:
    """``sep=``/``--sep`` as a delimiter: ``","``, ``";"``, a tab (``"\\t"`` or
    ``"tab"``, also ``"comma"``, ``"semicolon"``), or None (``"auto"``: detected).

    Raises
    ------
    ValueError
        Any other value.
    """
    if sep is None or sep == "auto":
        return None
    sep = _SEP_ALIASES.get(sep, sep)
    if sep not in SEPARATORS:
        raise ValueError(f"the delimiter must be ',', ';' or tab ('\\t'), not {sep!r}")
    return sep


def parse_decimal(decimal: str | None) -> str | None:
    """``decimal=``/``--decimal``: ``"."``, ``","`` or None (``"auto"``: detected)."""
    if decimal is None or decimal == "auto":
        return None
    if decimal not in (".", ","):
        raise ValueError(f"the decimal mark must be '.' or ',', not {decimal!r}")
    return decimal


def _sniff_sep(lines: list[str]) -> str | None:
    """The delimiter that splits the header into most columns and every other sampled
    line into as many; None when no candidate gives two columns."""
    import csv

    best = None
    for sep in SEPARATORS:
        rows = [r for r in csv.reader(lines, delimiter=sep) if r]
        if not rows or len(rows[0]) < 2:
            continue
        n = len(rows[0])
        same = sum(len(r) == n for r in rows[1:]) / max(1, len(rows) - 1)
        if best is None or (same, n) > best[0]:
            best = ((same, n), sep)
    return None if best is None else best[1]


def _csv_format(path: Path, name: str, sep: str | None) -> dict:
    """Encoding (from a byte-order mark), delimiter (given, or detected on the first
    lines) and header line of a CSV file."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    encoding = next((enc for bom, enc in _BOMS if head.startswith(bom)), "utf-8")
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as err:
        if not (encoding == "utf-8" and err.start > len(head) - 4):  # not a cut character
            line = head[:err.start].count(b"\n") + 1
            raise DatasetError(name, f"not UTF-8 text (byte 0x{head[err.start]:02x} on line "
                                     f"{line})",
                               hint="save it as CSV UTF-8 (in Excel: Save As > CSV UTF-8)"
                               ) from None
        text = head[:err.start].decode(encoding)
    lines = text.splitlines()
    if len(head) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in lines if ln.strip()][:200]
    detected = _sniff_sep(lines) if sep is None else None
    return {"sep": sep or detected or ",", "sep_detected": sep is None and detected is not None,
            "encoding": encoding, "header": lines[0] if lines else ""}


def _read(src, what: str, sep: str | None = None) -> tuple[pd.DataFrame, str, dict]:
    """A table from a CSV/Parquet path or a DataFrame, every cell as text (CSV) so that
    nothing is converted before it is checked. Returns the frame (with ``_row``, the
    row number a user sees: the CSV line, or the 1-based Parquet/DataFrame row), its
    name for messages, and its provenance (path, SHA-256; for a CSV file its
    ``format``: delimiter given or detected, encoding)."""
    if isinstance(src, pd.DataFrame):
        frame = src.copy()
        frame["_row"] = np.arange(1, len(frame) + 1)
        digest = hashlib.sha256(pd.util.hash_pandas_object(src, index=False).values.tobytes())
        return frame, f"{what} (DataFrame)", {"path": None, "sha256": digest.hexdigest()}
    path = Path(src)
    if path.is_dir():
        raise DatasetError(str(path), f"is a folder, not a file (the {what} must be a CSV or "
                                      "Parquet file)",
                           hint="give the path of the file inside it")
    if not path.is_file():
        raise DatasetError(str(path), f"the {what} file does not exist",
                           hint="check the path")
    name = str(path)
    fmt = None
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except ImportError as err:
            raise DatasetError(name, "reading Parquet needs pyarrow",
                               hint="pip install pyarrow, or save the table as CSV") from err
        frame["_row"] = np.arange(1, len(frame) + 1)
    else:
        fmt = _csv_format(path, name, sep)
        try:
            frame = pd.read_csv(path, sep=fmt["sep"], encoding=fmt["encoding"], dtype=str,
                                keep_default_na=False, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise DatasetError(name, "is empty (not even a header row)",
                               hint="save the table with a header row and one row per "
                                    "record") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise DatasetError(name, f"not a readable CSV table ({err})",
                               hint="save it as comma-, semicolon- or tab-separated text "
                                    "(UTF-8) with a header row") from None
        frame["_row"] = np.arange(2, len(frame) + 2)  # line 1 is the header
    if frame.empty:
        what_rows = "one row per unit and rater" if what == "annotations" else "one row per unit"
        raise DatasetError(name, "has a header but no rows" if fmt is not None else "has no rows",
                           hint=f"add the data ({what_rows}) below the header")
    # the path as the user gave it (relative stays relative): results and documents do
    # not carry the user's local folders
    source = {"path": str(src), "sha256": file_sha256(path)}
    if fmt is not None:
        frame.attrs["csv_format"] = fmt
        source["format"] = {k: v for k, v in fmt.items() if k != "header"}
    return frame, name, source


def _need(frame: pd.DataFrame, cols: dict[str, str], name: str) -> None:
    missing = [f"{c!r} (option `{opt}`)" for opt, c in cols.items() if c not in frame.columns]
    if not missing:
        return
    have = ", ".join(repr(c) for c in frame.columns if c != "_row")
    fmt = frame.attrs.get("csv_format")
    if fmt is not None:
        import csv

        for other in SEPARATORS:
            header = next(csv.reader([fmt["header"]], delimiter=other), [])
            names = {c.strip() for c in header}
            if other != fmt["sep"] and all(c in names for c in cols.values()):
                shown = "\\t" if other == "\t" else other
                raise DatasetError(
                    name, f"this file looks {SEPARATORS[other]}-separated, not "
                          f"{SEPARATORS[fmt['sep']]}-separated: the columns read are {have}",
                    hint=f"pass `sep='{shown}'`, or leave `sep` out to detect it")
    raise DatasetError(name, f"missing column {', '.join(missing)}; the columns are {have}",
                       hint="name the columns with the options (e.g. `unit_col='image'`)")


def _decimal_mark(text: pd.Series, frame: pd.DataFrame, decimal: str | None,
                  name: str) -> str:
    """The decimal mark of the scores: as given, else "," when a semicolon- or
    tab-separated file writes its numbers with decimal commas only (Excel in many
    European locales), else "."."""
    if decimal is not None:
        return decimal
    fmt = frame.attrs.get("csv_format")
    if fmt is None or fmt["sep"] == ",":
        return "."
    comma = text.str.fullmatch(_DECIMAL_COMMA)
    if not comma.any():
        return "."
    point = text.str.fullmatch(_DECIMAL_POINT)
    if point.any():
        raise DatasetError(name, "scores are written with decimal commas and with decimal "
                                 "points", values=[*text[comma].unique()[:3],
                                                   *text[point].unique()[:3]],
                           hint="write them one way, or say which is the decimal mark with "
                                "`decimal=','` or `decimal='.'`")
    return ","


def _ids(series: pd.Series) -> pd.Series:
    """``str(v).strip()`` of every value, ``""`` for a missing one (vectorised: the
    per-value ``map`` cost 2 s per million rows)."""
    out = series.astype(str).str.strip()
    return out.where(~series.isna().to_numpy(), "")


_ID = pa.Column(str, pa.Check.str_length(min_value=1), nullable=False)
LONG_SCHEMA = pa.DataFrameSchema(
    {"image_id": _ID, "annotator": _ID, "feature": _ID,
     "score": pa.Column(float, nullable=True), "_row": pa.Column(int)},
    unique=["image_id", "annotator", "feature"], strict=True, name="annotations",
)
LABEL_SCHEMA = pa.DataFrameSchema(
    {"image_id": _ID, "label": pa.Column(int, pa.Check.isin([0, 1])), "_row": pa.Column(int)},
    unique=["image_id"], strict=True, name="labels",
)


def _validate(schema: pa.DataFrameSchema, frame: pd.DataFrame, name: str, hints: dict) -> None:
    """Run a pandera schema; turn its failure cases into one :class:`DatasetError`."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        first = cases.iloc[0]
        check = str(first["check"])
        col = first["column"]
        idx = cases.loc[(cases["check"] == first["check"]) & (cases["column"] == col), "index"]
        idx = [i for i in idx if i is not None and not pd.isna(i) and i in frame.index]
        if "unique" in check or "duplicate" in check.lower():
            keys = list(schema.unique)
            dup = frame.duplicated(keys, keep=False)
            rows = frame.loc[dup, "_row"].tolist()
            values = [tuple(r) for r in frame.loc[dup, keys].drop_duplicates().head(SHOW)
                      .itertuples(index=False)]
            words = hints.get("columns", {})
            raise DatasetError(name, "duplicate rows for the same "
                               + " / ".join(words.get(k, k) for k in keys),
                               rows=rows, values=values, hint=hints["unique"]) from None
        rows = frame.loc[idx, "_row"].tolist() if idx else []
        shown = hints.get("columns", {}).get(col, col)  # the user's column name
        raise DatasetError(name, f"column {shown!r} fails check {check}", rows=rows,
                           values=list(cases["failure_case"].head(SHOW)),
                           hint=hints.get(col, "correct the values")) from None


def read_annotations(src, *, unit_col: str = "unit", rater_col: str = "rater",
                     feature_col: str = "feature", score_col: str = "score",
                     wide: bool | str = "auto", sep: str | None = None,
                     decimal: str | None = None,
                     ignore: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict]:
    """Read and validate an annotation table.

    Parameters
    ----------
    src : str, Path or DataFrame
        CSV or Parquet file, or a DataFrame.
    unit_col, rater_col, feature_col, score_col : str
        Column names in the user's table.
    wide : bool or "auto"
        Wide layout: one row per unit and rater, every other column a feature.
        ``"auto"``: wide when neither ``feature_col`` nor ``score_col`` exists.
    sep : {",", ";", "\\t", "tab", "auto"}, optional
        Delimiter of a CSV file; default: detected (the one that splits the header and
        the first lines into the same number of columns, ties to the comma).
    decimal : {".", ",", "auto"}, optional
        Decimal mark of the scores; default: "," when a semicolon- or tab-separated file
        writes its numbers with decimal commas only, else ".".
    ignore : tuple of str
        Columns that are not features of a wide table (e.g. the group column).

    Returns
    -------
    long : DataFrame
        ``image_id, annotator, feature, score, _row`` (ids as text, score float,
        NaN where a cell is empty).
    source : dict
        ``path`` and ``sha256`` of the input; for a CSV file ``format`` (``sep``,
        ``sep_detected``, ``encoding``, ``decimal``).

    Raises
    ------
    DatasetError
        Missing columns, empty ids, non-numeric scores, duplicate (unit, rater,
        feature) rows.
    """
    frame, name, source = _read(src, "annotations", parse_sep(sep))
    decimal = parse_decimal(decimal)
    if wide == "auto":
        wide = feature_col not in frame.columns and score_col not in frame.columns
    if wide:
        _need(frame, {"unit_col": unit_col, "rater_col": rater_col}, name)
        value_cols = [c for c in frame.columns
                      if c not in (unit_col, rater_col, "_row", *ignore)]
        if not value_cols:
            raise DatasetError(name, "a wide table needs at least one feature column besides "
                                     f"{unit_col!r} and {rater_col!r}",
                               hint="add one column per feature, or give a long table")
        long = frame.melt(id_vars=[unit_col, rater_col, "_row"], value_vars=value_cols,
                          var_name="feature", value_name="score")
        long = long.rename(columns={unit_col: "image_id", rater_col: "annotator"})
    else:
        _need(frame, {"unit_col": unit_col, "rater_col": rater_col,
                      "feature_col": feature_col, "score_col": score_col}, name)
        long = frame.rename(columns={unit_col: "image_id", rater_col: "annotator",
                                     feature_col: "feature", score_col: "score"})
        long = long[["image_id", "annotator", "feature", "score", "_row"]]
    for c in ("image_id", "annotator", "feature"):
        long[c] = _ids(long[c])
    text = _ids(long["score"])
    mark = _decimal_mark(text, frame, decimal, name)
    if "format" in source:
        source["format"]["decimal"] = mark
    number = text
    if mark == ",":  # a point is then a thousands separator or a typo: not a number
        number = text.str.replace(",", ".", regex=False).where(
            ~text.str.contains(".", regex=False), "not a number")
    score = pd.to_numeric(number.where(text != "", None), errors="coerce")
    bad = (text != "") & score.isna()
    if bad.any():
        hint = ("scores must be numbers (ordinal codes or continuous); leave the cell empty "
                "for a missing rating")
        if mark == "." and text[bad].str.fullmatch(_DECIMAL_COMMA).all():
            hint = "these are numbers with decimal commas: pass `decimal=','`"
        raise DatasetError(name, "scores that are not numbers", rows=long.loc[bad, "_row"],
                           values=text[bad].unique(), hint=hint)
    inf = np.isinf(score)
    if inf.any():
        raise DatasetError(name, "infinite scores", rows=long.loc[inf, "_row"],
                           hint="replace them by finite numbers or leave them empty")
    long["score"] = score.astype(float)
    long["_row"] = long["_row"].astype(int)
    long = long.reset_index(drop=True)
    ids = {"image_id": f"every row needs a unit id ({unit_col})",
           "annotator": f"every row needs a rater id ({rater_col})",
           "feature": f"every row needs a feature name ({feature_col})",
           "unique": "keep one row per unit, rater and feature (average or drop repeated "
                     "ratings before loading)",
           "columns": {"image_id": unit_col, "annotator": rater_col,
                       "feature": feature_col if not wide else "feature",
                       "score": score_col if not wide else "score"}}
    _validate(LONG_SCHEMA, long, name, ids)
    return long, source


def read_labels(src, *, unit_col: str = "unit", label_col: str = "label",
                positive: str | None = None,
                sep: str | None = None) -> tuple[pd.Series, dict, dict]:
    """Read and validate a label table.

    Parameters
    ----------
    src : str, Path or DataFrame
    unit_col, label_col : str
    positive : str, optional
        The positive class when the labels are two class names (not 0/1).
    sep : {",", ";", "\\t", "tab", "auto"}, optional
        Delimiter of a CSV file (default: detected, as in :func:`read_annotations`).

    Returns
    -------
    labels : Series
        0/1 indexed by unit id (``image_id``); units with an empty label are left out
        (and reported in ``classes["blank"]``).
    classes : dict
        ``positive``, ``negative`` (the values as written), ``blank`` (unit ids with
        an empty label).
    source : dict

    Raises
    ------
    DatasetError
        Missing columns, more than two classes, two class names without
        ``positive``, ``positive`` not a class, one class only, conflicting labels.
    """
    frame, name, source = _read(src, "labels", parse_sep(sep))
    _need(frame, {"unit_col": unit_col, "label_col": label_col}, name)
    df = pd.DataFrame({"image_id": _ids(frame[unit_col]), "_row": frame["_row"].astype(int),
                       "value": frame[label_col].map(
                           lambda v: "" if pd.isna(v) else str(v).strip())})
    df["value"] = df["value"].str.replace(r"^(-?\d+)[.,]0+$", r"\1", regex=True)  # 1.0 -> 1
    blank = df["value"] == ""
    blank_units = df.loc[blank, "image_id"].tolist()
    df = df[~blank]
    df = df.drop_duplicates(["image_id", "value"])
    counts = df["value"].value_counts()
    classes = sorted(counts.index)
    if len(classes) > 2:
        raise DatasetError(name, f"the label column {label_col!r} has {len(classes)} classes, "
                                 "not two", values=[f"{c} ({counts[c]})" for c in classes],
                           hint="keep two classes (e.g. merge or drop the others) and name "
                                "the positive one with `positive`")
    if len(classes) < 2:
        raise DatasetError(name, f"the label column {label_col!r} has one class only",
                           values=classes, hint="both classes are needed to predict a label")
    if positive is None:
        if set(classes) != {"0", "1"}:
            raise DatasetError(name, "labels are class names, not 0/1", values=classes,
                               hint="name the positive class: "
                                    + " or ".join(f"`positive='{c}'`" for c in classes[::-1]))
        positive = "1"
    positive = str(positive)
    if positive not in classes:
        raise DatasetError(name, f"the positive class {positive!r} is not a label value",
                           values=classes, hint="use one of the values shown")
    negative = next(c for c in classes if c != positive)
    df["label"] = (df["value"] == positive).astype(int)
    _validate(LABEL_SCHEMA, df[["image_id", "label", "_row"]], name,
              {"unique": "give each unit one label (the same unit has two different labels)",
               "image_id": f"every row needs a unit id ({unit_col})",
               "columns": {"image_id": unit_col, "label": label_col}})
    labels = df.set_index("image_id")["label"]
    labels.index.name = "image_id"
    return labels, {"positive": positive, "negative": negative, "blank": blank_units}, source


# --- the design -------------------------------------------------------------------------------

def _natural_key(rater: str) -> tuple:
    """Sort key of a rater id: digit runs by their value ("R2" before "R10")."""
    import re

    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", rater) if part)


#: :func:`rater_slots` calls ids slots only when persons who skip units at random would
#: give their prefix shape with a chance below this.
SLOT_EVIDENCE = 1e-3


def rater_slots(long: pd.DataFrame) -> str | None:
    """Whether a long annotation table's rater ids look like slots (positions): a
    description of what they look like, or None.

    Parameters
    ----------
    long : DataFrame
        ``image_id, annotator, feature, score`` (:func:`read_annotations`).

    Returns
    -------
    str or None
        E.g. "rater ids are 1..k within every unit (k from 1 to 4)", or None when the
        ids do not have the signature of slots.

    Notes
    -----
    The rule: order the rater ids naturally (numbers by value: "2" before "10",
    "R2" before "R10"); a unit's raters are the ids with at least one score on it.
    The ids look like slots when (1) every unit's raters are exactly the first k of
    that one list, for the unit's number of raters k, and (2) k is not the same on
    every unit, and (3) persons who each skip units at random would rarely give this
    shape: with K ids in all, a unit with k of them has exactly the first k with
    chance 1/C(K, k), and the product of these chances over the units is below
    :data:`SLOT_EVIDENCE` (one unit of five raters missing only the last one, chance
    1/5, is not enough; 16 units with 2 or 3 of 4 ids are). Reader slots numbered
    "1".."k" per unit (or "R1".."Rk", "A".."D") have this signature, since a unit with
    fewer readers simply has fewer slots. Not
    flagged: a complete design (the same raters on every unit, where ids cannot tell
    slots from persons); persons who each miss some units at random (a unit rated by
    R1, R2 and R4 breaks (1)); persons who each rate a different set of units (also
    breaks (1), as the first id is then not on every unit). A design of persons whose
    missing ratings all fall on the last ids of the list (e.g. raters recruited in
    order, later ones rating fewer units) does look like slots: the loader then asks
    rather than guesses.
    """
    if long.empty:
        return None
    pairs = long.loc[long["score"].notna(), ["image_id", "annotator"]].drop_duplicates()
    if pairs.empty:
        return None
    order = sorted(pairs["annotator"].unique(), key=_natural_key)
    rank = pairs["annotator"].map({a: i for i, a in enumerate(order)})
    per_unit = rank.groupby(pairs["image_id"].to_numpy()).agg(["size", "max"])
    if not (per_unit["max"] == per_unit["size"] - 1).all():
        return None
    low, high = int(per_unit["size"].min()), int(per_unit["size"].max())
    if low == high:
        return None
    # how likely the prefix shape is for persons who skip units at random: each unit
    # with k of the K ids present has them as the first k with probability 1/C(K, k)
    from scipy.special import gammaln

    k = per_unit["size"].to_numpy(dtype=float)
    log_chance = -float(np.sum(gammaln(high + 1) - gammaln(k + 1) - gammaln(high - k + 1)))
    if log_chance > np.log(SLOT_EVIDENCE):
        return None
    first = order[:3] if len(order) > 3 else order
    if order == [str(i) for i in range(1, len(order) + 1)]:
        ids = "1..k"
    else:
        ids = f"the first k of {', '.join(first)}{', ...' if len(order) > 3 else ''}"
    return (f"rater ids are {ids} within every unit (k from {low} to {high} across "
            f"{len(per_unit)} units): they look like slots, not persons")


# --- the grouping of the units -------------------------------------------------------------

def read_groups(labels, annotations, *, group_col: str, unit_col: str = "unit",
                sep: str | None = None) -> tuple[pd.Series, str]:
    """The group of every unit, from the column ``group_col`` of the label table or,
    when that table lacks it, of the annotation table.

    Returns
    -------
    groups : Series
        Group id (text) indexed by unit id (``image_id``).
    source : str
        The name of the table it was read from.

    Raises
    ------
    DatasetError
        The column is in neither table; a unit without a group (empty cell); a unit
        given more than one group (nodules of one patient must all carry that patient).
    """
    frames = []
    for src, what in ((labels, "labels"), (annotations, "annotations")):
        frame, name, _ = _read(src, what, parse_sep(sep))
        frames.append((frame, name))
        if group_col in frame.columns:
            break
    else:
        have = sorted({c for f, _ in frames for c in f.columns if c != "_row"})
        raise DatasetError(frames[0][1], f"the group column {group_col!r} is in neither the "
                                         "labels nor the annotations",
                           values=have[:SHOW],
                           hint="name the column that holds each unit's group (e.g. the "
                                "patient) with `group_col`, or leave it out")
    _need(frame, {"unit_col": unit_col}, name)
    df = pd.DataFrame({"image_id": _ids(frame[unit_col]), "group": _ids(frame[group_col]),
                       "_row": frame["_row"]})
    blank = df["group"] == ""
    if blank.any():
        raise DatasetError(name, f"units without a group (empty {group_col!r})",
                           rows=df.loc[blank, "_row"].tolist(),
                           values=df.loc[blank, "image_id"].unique()[:SHOW].tolist(),
                           hint="give every unit its group in the column given as "
                                "`group_col`")
    n = df.groupby("image_id")["group"].nunique()
    two = n[n > 1].index
    if len(two):
        bad = df[df["image_id"].isin(two)].drop_duplicates(["image_id", "group"])
        raise DatasetError(name, f"{len(two)} unit(s) belong to more than one group "
                                 f"(column {group_col!r})",
                           rows=bad["_row"].tolist(),
                           values=[f"{u}: {', '.join(g)}" for u, g in
                                   bad.groupby("image_id")["group"].apply(list).head(SHOW)
                                   .items()],
                           hint="a unit (e.g. a nodule) must belong to one group (its "
                                "patient); check the unit ids, or the column given as "
                                "`group_col`")
    groups = df.drop_duplicates("image_id").set_index("image_id")["group"]
    return groups, name


# --- the design -------------------------------------------------------------------------------

def load(
    annotations,
    labels,
    *,
    unit_col: str = "unit",
    rater_col: str = "rater",
    feature_col: str = "feature",
    score_col: str = "score",
    label_col: str = "label",
    positive: str | None = None,
    raters: str | None = None,
    min_raters: int | None = None,
    raters_per_unit: int | None = None,
    seed: int = DEFAULT_SEED,
    wide: bool | str = "auto",
    features: tuple[str, ...] | None = None,
    n_splits: int = N_SPLITS,
    name: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    group_col: str | None = None,
    rater_count: str = "none",
) -> feat.GroupDesign:
    """Read, validate and build the analysis design of a multi-rater data set.

    Parameters
    ----------
    annotations, labels : str, Path or DataFrame
        CSV or Parquet files (or DataFrames); see :func:`read_annotations` and
        :func:`read_labels`.
    unit_col, rater_col, feature_col, score_col, label_col : str
        Column names in the user's tables.
    positive : str, optional
        Positive class when the labels are class names.
    raters : {"persons", "positions"}, optional
        What a rater id means (see :func:`analysis.design.features.design_from_long`):
        ``"persons"`` (the same id is the same person on every unit) or
        ``"positions"`` (ids are slots: reader 1, 2, ... of each unit). Not given
        (None): persons, unless the ids look like slots (:func:`rater_slots`), which
        is an error asking to say which.
    min_raters : int, optional
        Keep units where every feature has at least this many scores (default 4,
        the smallest number that keeps every moment defined).
    raters_per_unit : int, optional
        Draw exactly this many raters per unit (seeded by ``seed``).
    seed : int
    wide : bool or "auto"
    features : tuple of str, optional
        Features to use, in order (default: all, sorted).
    n_splits : int
        Folds the analysis will use: each class needs at least this many kept units.
    name : str, optional
        Name of the data set (default: the annotation file's name without its
        extension, e.g. ``nodules`` for ``data/ann/nodules.csv``; not its folder).
    sep : {",", ";", "\\t", "tab", "auto"}, optional
        Delimiter of the CSV files (default: detected in each file).
    decimal : {".", ",", "auto"}, optional
        Decimal mark of the scores (default: detected; see :func:`read_annotations`).
    group_col : str, optional
        Column (of the labels, else of the annotations) holding the group of each unit
        (e.g. the patient of a nodule), read by :func:`read_groups`: every fold plan
        then keeps a group's units together. None: units are taken as independent
        (``settings["grouping"]`` says so, and the review notes it).
    rater_count : {"none", "covariate"}
        ``covariate``: the number of raters of each unit enters every feature set
        (:func:`analysis.design.features.add_rater_count`), so that disagreement is not a
        proxy for how many raters looked.

    Returns
    -------
    GroupDesign
        With ``excluded`` (every unit left out and why, including labelled units never
        annotated), ``skipped`` (feature sets and features not used and why) and
        ``settings`` (options, inputs with SHA-256 and the format each CSV file was read
        in, label classes, warnings, ``input_notes``: a sentence per file read in
        another format than comma-separated UTF-8 with decimal points).

    Raises
    ------
    DatasetError
        See the module docstring for each problem.

    Examples
    --------
    >>> from analysis.design import dataset
    >>> d = dataset.load("data/examples/annotations.csv",
    ...                  "data/examples/labels.csv")  # doctest: +SKIP
    >>> d.n_images, d.sets["feature_set"].tolist()[:3]  # doctest: +SKIP
    """
    if rater_count not in feat.RATER_COUNT_CHOICES:
        raise DatasetError("rater_count", f"`rater_count` must be one of "
                                          f"{', '.join(feat.RATER_COUNT_CHOICES)}, not "
                                          f"{rater_count!r}",
                           hint="`rater_count='covariate'` adds the number of raters of each "
                                "unit to every feature set")
    long, src_a = read_annotations(annotations, unit_col=unit_col, rater_col=rater_col,
                                   feature_col=feature_col, score_col=score_col, wide=wide,
                                   sep=sep, decimal=decimal,
                                   ignore=() if group_col is None else (group_col,))
    groups = None
    if group_col is not None:
        if group_col in (unit_col, rater_col):
            raise DatasetError(str(labels) if not isinstance(labels, pd.DataFrame) else "labels",
                               f"the group column {group_col!r} is the unit or rater column",
                               hint="name the column that holds each unit's group")
        groups, _ = read_groups(labels, annotations, group_col=group_col, unit_col=unit_col,
                                sep=sep)
    lab, classes, src_l = read_labels(labels, unit_col=unit_col, label_col=label_col,
                                      positive=positive, sep=sep)
    a_name = str(annotations) if not isinstance(annotations, pd.DataFrame) else "annotations"
    l_name = str(labels) if not isinstance(labels, pd.DataFrame) else "labels"
    if not name:  # the annotation file's name, not its folder's
        name = (Path(annotations).stem if not isinstance(annotations, pd.DataFrame)
                else "data")
    for opt, k in (("min_raters", min_raters), ("raters_per_unit", raters_per_unit)):
        if k is not None and k < 1:
            raise DatasetError(a_name, f"`{opt}` must be at least 1 (got {k})",
                               hint="give a positive number of raters")
    if raters is not None and raters not in ("persons", "positions"):
        raise DatasetError(a_name, f"`raters` must be 'persons' or 'positions', not {raters!r}",
                           hint="`raters='persons'` (same id = same person on every unit) or "
                                "`raters='positions'` (ids are slots)")
    raters_given = raters is not None
    if raters is None:
        slots = rater_slots(long)
        if slots is not None:
            raise DatasetError(a_name, slots,
                               hint="pass `raters='positions'` if a rater id is a slot, or "
                                    "`raters='persons'` if the same id is the same person on "
                                    "every unit")
        raters = "persons"
    if min_raters is not None and raters_per_unit is not None and min_raters > raters_per_unit:
        raise DatasetError(a_name, "`min_raters` cannot exceed `raters_per_unit`",
                           hint="drop `min_raters`: `raters_per_unit=K` keeps units with K")
    notes: list[str] = []
    present = tuple(sorted(set(long["feature"])))
    if features is None:
        features = present
    unknown = [f for f in features if f not in present]
    if unknown:
        raise DatasetError(a_name, "features not in the annotations", values=unknown,
                           hint=f"choose among {', '.join(present)}")
    long = long[long["feature"].isin(features)]

    # a feature with no variance carries no information: warn and drop it
    spread = long.groupby("feature")["score"].agg(lambda s: s.nunique(dropna=True))
    flat = [f for f in features if spread.get(f, 0) <= 1]
    skipped_features = []
    for f in flat:
        value = long.loc[long["feature"] == f, "score"].dropna().unique()
        _warn(notes, f"{a_name}: feature {f!r} has no variance (every score is "
                     f"{value[0] if len(value) else 'missing'}); it is left out of every "
                     "feature set")
        skipped_features.append((f, "no variance: every score is the same; feature dropped"))
    features = tuple(f for f in features if f not in flat)
    if not features:
        raise DatasetError(a_name, "no feature has any variance",
                           hint="check that the score column holds the ratings")
    long = long[long["feature"].isin(features)]

    # design columns are named <feature>_<rater>, and the review splits them at the last
    # "_": a rater id must not contain one
    odd = sorted(a for a in long["annotator"].unique() if "_" in a)
    renamed = {}
    if odd:
        renamed = {a: a.replace("_", "-") for a in odd}
        if set(renamed.values()) & set(long["annotator"]):
            raise DatasetError(a_name, "rater ids contain '_' and differ only by '_' and '-'",
                               values=odd[:SHOW], hint="give the raters ids without '_'")
        long = long.assign(annotator=long["annotator"].replace(renamed))
        _warn(notes, f"{a_name}: rater ids may not contain '_'; renamed "
                     + ", ".join(f"{k} -> {v}" for k, v in list(renamed.items())[:SHOW]))

    annotated = set(long["image_id"])
    unlabelled = sorted(annotated - set(lab.index))
    never = sorted(set(lab.index) - annotated)
    if never:
        _warn(notes, f"{l_name}: {len(never)} labelled unit(s) were never annotated "
                     f"(e.g. {', '.join(never[:SHOW])}); listed in excluded_units.csv")

    design = feat.design_from_long(
        long[["image_id", "annotator", "feature", "score"]], lab, features=features,
        raters=raters, min_raters=min_raters, raters_per_unit=raters_per_unit, seed=seed,
        cohort=seeds.USER_COHORT, group=name, label_name=label_col,
    )
    if unlabelled:
        # both scopes in one place: a unit left out first for too few raters is listed
        # in excluded_units.csv under that reason, not under "no label"
        n_listed = int((design.excluded["reason"] == "no label").sum())
        scope = ("" if n_listed == len(unlabelled) else
                 f"; {n_listed} of them are listed in excluded_units.csv as \"no label\", the "
                 f"other {len(unlabelled) - n_listed} under the reason they were left out "
                 "for first (their raters)")
        _warn(notes, f"{l_name}: {len(unlabelled)} annotated unit(s) have no label and are "
                     f"excluded (e.g. {', '.join(unlabelled[:SHOW])}){scope}; see "
                     "excluded_units.csv")
    extra = pd.DataFrame([(u, "labelled but never annotated", 0, "", "") for u in never],
                         columns=design.excluded.columns)
    if len(extra):
        design.excluded = pd.concat([design.excluded, extra], ignore_index=True)
    if skipped_features:
        design.skipped = pd.concat(
            [design.skipped, pd.DataFrame(skipped_features, columns=feat.SKIPPED_COLUMNS)],
            ignore_index=True)
    design.settings.update({
        "name": name, "inputs": {"annotations": src_a, "labels": src_l},
        "columns": {"unit": unit_col, "rater": rater_col, "feature": feature_col,
                    "score": score_col, "label": label_col},
        "positive": classes["positive"], "negative": classes["negative"],
        "raters_given": raters_given,
        "features_dropped": flat, "raters_renamed": renamed, "warnings": notes,
        "input_notes": [n for n in (format_note(a_name, src_a), format_note(l_name, src_l))
                        if n],
    })
    design.settings["grouping"] = group_col
    design.settings["rater_count"] = rater_count
    if groups is not None:
        missing = sorted(set(design.y.index) - set(groups.index))
        if missing:
            raise DatasetError(l_name, f"{len(missing)} kept unit(s) have no group "
                                       f"(column {group_col!r})", values=missing[:SHOW],
                               hint="give every unit its group")
        design.groups = groups
    if rater_count == "covariate":
        note = feat.add_rater_count(design)
        if note:
            design.settings["input_notes"].append(note)
    check_design(design, a_name, n_splits=n_splits)
    return design


def format_note(name: str, source: dict) -> str | None:
    """A sentence saying how a CSV file was read, when not as comma-separated UTF-8
    with decimal points (None otherwise)."""
    fmt = source.get("format")
    if not fmt:
        return None
    parts = []
    if fmt["sep"] != ",":
        parts.append(f"{SEPARATORS[fmt['sep']]}-separated")
    if fmt.get("decimal") == ",":
        parts.append("with decimal commas")
    if fmt["encoding"] == "utf-8-sig":
        parts.append("UTF-8 with a byte-order mark")
    elif fmt["encoding"] != "utf-8":
        parts.append(f"{fmt['encoding'].upper()} (byte-order mark)")
    if not parts:
        return None
    how = "detected" if fmt.get("sep_detected") else "as given"
    return (f"{name}: read as {', '.join(parts)} (delimiter {how}; the options sep and decimal "
            "override the detection)")


def check_design(design: feat.GroupDesign, source: str, *, n_splits: int = N_SPLITS) -> None:
    """Errors that stop an analysis of a built design: no unit left; a class smaller than
    the number of folds."""
    if design.n_images == 0:
        reasons = design.excluded["reason"].value_counts()
        raise DatasetError(source, "no unit is left to analyse; excluded: "
                           + "; ".join(f"{r} ({n})" for r, n in reasons.items()),
                           hint="lower `min_raters` (sd needs 2 raters, skewness 3, kurtosis 4) "
                                "or check the unit ids of the two files")
    n_pos = design.n_melanoma
    n_neg = design.n_images - n_pos
    if min(n_pos, n_neg) < n_splits:
        pos = design.settings.get("positive", "1")
        neg = design.settings.get("negative", "0")
        raise DatasetError(source, f"too few units in a class for {n_splits}-fold stratified "
                                   f"cross-validation: {n_pos} {pos!s} and {n_neg} {neg!s} "
                                   "after exclusions",
                           hint=f"each class needs at least {n_splits} kept units; add units or "
                                "lower `min_raters` (see excluded_units.csv)")


def excluded_units(design: feat.GroupDesign) -> pd.DataFrame:
    """``excluded`` with the unit column named ``unit`` (the table written as
    ``excluded_units.csv``)."""
    return design.excluded.rename(columns={"image_id": "unit"})


# --- built-in data sets -----------------------------------------------------------------------

MTURK = "enhance/mturk"
GROUP7 = "enhance/2017-2018/group07"


def builtin_names(annotations=None) -> list[str]:
    """Names of the built-in data sets: every ENHANCE student group and the MTurk crowd."""
    if annotations is None:
        from ..loading.data import fetch
        from ..loading.tidy import load_annotations

        annotations = load_annotations(fetch)
    groups = annotations.tidy[["cohort", "group"]].drop_duplicates()
    names = [f"enhance/{c}/{g}" for c, g in groups.itertuples(index=False) if c != "mturk"]
    return sorted(names) + [MTURK]


def load_builtin(name: str, *, min_raters: int | None = None,
                 raters_per_unit: int | None = None, seed: int = DEFAULT_SEED,
                 annotations=None, n_splits: int = N_SPLITS) -> feat.GroupDesign:
    """The design of a built-in data set, through the same builder as a user's data.

    Parameters
    ----------
    name : str
        ``enhance/<cohort>/<group>`` (e.g. ``enhance/2017-2018/group07``, the paper's
        group 7) or ``enhance/mturk``.
    min_raters, raters_per_unit, seed :
        As in :func:`load`. Without them, a student group uses the paper's rule
        (complete cases, :func:`analysis.design.features.group_design`), so that group 7 gives
        exactly the reproduction; MTurk (raters are positions) keeps the units with 3
        raters on every feature, its design.
    annotations : analysis.loading.tidy.Annotations, optional
        Parsed ENHANCE files (default: fetched and verified).
    """
    if annotations is None:
        from ..loading.data import fetch
        from ..loading.tidy import load_annotations

        annotations = load_annotations(fetch)
    parts = name.strip("/").split("/")
    if name.strip("/") == MTURK:
        cohort, group, raters = "mturk", "isic", "positions"
    elif len(parts) == 3 and parts[0] == "enhance":
        cohort, group, raters = parts[1], parts[2], "persons"
    else:
        raise DatasetError(name, "unknown data set name",
                           hint=f"use {GROUP7}, {MTURK} or enhance/<cohort>/<group>")
    tidy = annotations.tidy
    sub = tidy[(tidy["cohort"] == cohort) & (tidy["group"] == group)]
    if sub.empty:
        raise DatasetError(name, "unknown data set name", values=builtin_names(annotations),
                           hint="use one of the names shown")
    if raters == "persons" and min_raters is None and raters_per_unit is None:
        design = feat.group_design(tidy, annotations.labels, cohort=cohort, group=group)
    else:
        lab = annotations.labels.set_index("image_id")["melanoma"]
        lab = lab[lab.index.isin(set(sub["image_id"]))]
        if min_raters is None and raters_per_unit is None:
            min_raters = int(sub[sub["score"].notna()].groupby(["image_id", "feature"])
                             .size().mode().max())
        design = feat.design_from_long(
            sub[["image_id", "annotator", "feature", "score"]], lab, raters=raters,
            min_raters=min_raters, raters_per_unit=raters_per_unit, seed=seed, cohort=cohort,
            group=group, label_name="melanoma")
    design.settings.update({"name": name, "positive": "melanoma", "negative": "not melanoma",
                            "warnings": []})
    check_design(design, name, n_splits=n_splits)
    return design
