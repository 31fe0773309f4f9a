"""Parse the raw ENHANCE annotation files into one tidy, validated table.

The student files (three cohorts of a first-year project course) were typed by
hand, one file per group, and differ in separator, decimal mark, header style,
language and layout. This module reads every one of them, plus the MTurk crowd
files and the ISIC 2017 expert labels, into a single long table with one row
per annotation cell:

=========== ===== ====================================================================
column      dtype meaning
=========== ===== ====================================================================
image_id    str   ISIC image id, ``ISIC_\\d{7}``
cohort      str   ``"2017-2018"``, ``"2018-2019"``, ``"2019-2020"`` or ``"mturk"``
group       str   ``"group07"`` etc.; ``"isic"`` for MTurk
annotator   str   annotator number as read from the header (``"1"``, ``"2"``...)
feature     str   canonical snake_case feature (table below)
score       float the parsed value; NaN unless ``status == "ok"``
status      str   ``"ok"``, ``"missing"`` or ``"unparseable"``
raw         str   the cell exactly as written in the file
feature_raw str   the column header exactly as written
source_file str   path relative to ``0_data/``, e.g. ``student/2017-2018/group07.csv``
source_row  int   1-based line number of the record in that file
=========== ===== ====================================================================

Every cell of every annotation column of every image row becomes a row, so
missing and unparseable values are kept and can be counted; nothing is dropped.

Rules
-----
Values (:func:`parse_value`)
    Surrounding whitespace is ignored. Empty, ``NaN``, ``nan``, ``NA`` and
    ``N/A`` are *missing*. A number written with ASCII digits, an optional sign
    and at most one decimal mark, either ``.`` or ``,`` (``2.5``, ``0,5``,
    ``" 40 "``), is *ok*. Anything else (including exponents and non-finite
    values) is *unparseable*.
Lists of colour codes (:func:`parse_code_list`)
    A column is a *list column* when at least one of its cells holds two or
    more commas, or a comma followed by a space (``0,1,2,6,7``, ``1, 2``).
    In a list column every cell is read as a comma-separated list of integer
    colour codes and its score is the **number of distinct codes listed**
    (``"1,2,2"`` -> 2.0, ``"4"`` -> 1.0). Outside list columns a single comma
    is a decimal mark (``0,5`` -> 0.5).
Headers (:func:`parse_header`)
    A header is ``<stem>[<variation>]<suffix>``. When the suffix is made of
    ``_``-separated parts (``Asymmetry_7_1``, ``Grens_05_Annot4``,
    ``Asymmetrie_Group 3_persoon2``) the annotator is the last number of the
    suffix and digits glued to the stem are a feature variation
    (``Border2_8_1`` -> variation 2 of Border, annotator 1). Without such a
    suffix (``Asymmetrie1``, ``Onregelmatige pigmentie 2``) the trailing
    number is the annotator. Leading zeros are dropped (``"01"`` -> ``"1"``).
Features
    The feature *type* of a column is taken from the cohort's
    ``data_types.csv`` at the same position (primary source). The header stem
    is cross-checked against :data:`STEM_TYPES` (Dutch and English stems); a
    disagreement not explained there, and not listed in
    :data:`ACCEPTED_TYPE_CONFLICTS`, raises :class:`AnnotationFormatError`.
    A header variation ``n >= 2`` splits a type that ``data_types.csv``
    merges: the feature becomes ``<feature>_<n>`` (2017-2018 group 8
    ``Border2_*`` -> ``border_2``, the paper's "B2").
Annotators
    Annotator ids are only meaningful within one (cohort, group). For MTurk
    the columns ``i``, ``ii``, ``iii`` become ``"1"``, ``"2"``, ``"3"``; these
    are positions, *not* persistent workers: a different worker may sit in
    position ``"1"`` for every image.
Records
    A record whose cells are all blank (``;;;;``) is skipped and counted.
    Columns with an empty header are ignored and counted; a non-blank value
    under an empty header, or past the end of the header, raises.
    A record shorter than the header is padded with empty (missing) cells
    and counted.

Feature mapping
---------------
================= ==================================================== ==========================
data_types type   header stems found (lower-cased, letters only)       canonical feature
================= ==================================================== ==========================
Asymmetry         asymmetry, asymmetrie, assymetrie, symmetrie,        asymmetry
                  symetrie
Border            border, rand, grens, begrenzing, irregulariteit      border
                  (``Border1``/``Border2`` in 2017-2018 group 8)       border / border_2
                  compactness (2019-2020 group 9, accepted conflict)   border
Color             color, colour, kleur, kleurver, kleuruniformiteit,   color
                  variatie, aantalkleuren, egaal,
                  onregelmatigepigmentie
Color_Categorised color, kleur, kleurzelf, tint                        color_categorised
Color_Fade        colorfade, vervaagderand                             color_fade
Dermo             dermo                                                dermoscopic_structures
Blood             blood                                                blood_vessels
Blue (2017-2018)  blue                                                 blue_glow
Blue (later)      blue, blauw, witblauw                                blue
White             white, wit                                           white
Red               red, rood                                            red
Black             black, zwart                                         black
Brown             brown, bruin                                         brown
Yellow            yellow, geel                                         yellow
Skin_Color        skincolor, huidskleur                                skin_color
Flaking           flaking, schilferendekorst                           flaking
Rough_Surface     roughsurface, ruwoppervlak                           rough_surface
Compactness       compactness, compactheid, omvang                     compactness
Erythema          erythema, erytheem                                   erythema
Diameter          diameter                                             diameter
================= ==================================================== ==========================

Corrections applied to the raw files
------------------------------------
Each is listed in :data:`ID_CORRECTIONS`, :data:`ANNOTATOR_CORRECTIONS` or
:data:`ACCEPTED_TYPE_CONFLICTS` and reported, row by row, in
``Annotations.corrections``:

* ``student/2017-2018/group08.csv`` line 79, id ``ISIC_0010327.``: trailing
  full stop removed.
* ``student/2019-2020/group09.csv`` line 61, id ``ISIC_001025`` (six digits):
  read as ``ISIC_0010205``, the only ISIC 2017 training id that is both one
  inserted digit away and between its sorted neighbours in the file
  (``ISIC_0010202``, ``ISIC_0010206``).
* ``student/2019-2020/group02.csv``: headers ``Wit/blauw_1_2`` and
  ``Onregelmatige pigmentie_2_2`` stand first in blocks whose siblings are
  annotators 2 and 3; both are annotator ``"1"``.
* ``student/2019-2020/group09.csv``: header stem ``Compactness`` has type
  Border in ``data_types.csv``; the type is followed (feature ``border``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..base.errors import AnnotationFormatError

__all__ = [
    "ACCEPTED_TYPE_CONFLICTS",
    "ANNOTATION_FILES",
    "ANNOTATOR_CORRECTIONS",
    "AnnotationFormatError",
    "Annotations",
    "DATA_TYPES_FILES",
    "ID_CORRECTIONS",
    "LABELS_FILE",
    "MTURK_FILES",
    "REQUIRED_FILES",
    "STEM_TYPES",
    "STUDENT_FILES",
    "TIDY_COLUMNS",
    "TIDY_SCHEMA",
    "TYPE_FEATURES",
    "load_annotations",
    "parse_code_list",
    "parse_header",
    "parse_value",
    "read_data_types",
    "read_labels",
    "read_mturk_file",
    "read_student_file",
    "validate_tidy",
    "wide_group", "is_list_column", "summarise",
]

# --------------------------------------------------------------------------- files

#: Number of group files per student cohort.
COHORT_GROUPS: dict[str, int] = {"2017-2018": 8, "2018-2019": 6, "2019-2020": 10}

#: The 24 student annotation files, relative to ``0_data/``.
STUDENT_FILES: tuple[str, ...] = tuple(
    f"student/{cohort}/group{g:02d}.csv"
    for cohort, n in COHORT_GROUPS.items()
    for g in range(1, n + 1)
)
#: The MTurk files on ISIC images, and the feature each one holds.
MTURK_FILES: dict[str, str] = {
    "crowd/asymmetry.csv": "asymmetry",
    "crowd/border.csv": "border",
    "crowd/color.csv": "color",
}
#: Expert labels (ISIC 2017 training set, part 3).
LABELS_FILE = "external/ISIC-2017_Training_Part3_GroundTruth.csv"
#: All annotation files plus the labels (24 + 3 + 1), relative to ``0_data/``.
ANNOTATION_FILES: tuple[str, ...] = (*STUDENT_FILES, *MTURK_FILES, LABELS_FILE)
#: The per-cohort column-type descriptions.
DATA_TYPES_FILES: tuple[str, ...] = tuple(
    f"student/{cohort}/data_types.csv" for cohort in COHORT_GROUPS
)
#: Every file :func:`load_annotations` fetches.
REQUIRED_FILES: tuple[str, ...] = (*ANNOTATION_FILES, *DATA_TYPES_FILES)

# ------------------------------------------------------------------ vocabulary

#: data_types.csv type -> canonical feature.
TYPE_FEATURES: dict[str, str] = {
    "Asymmetry": "asymmetry",
    "Border": "border",
    "Color": "color",
    "Color_Categorised": "color_categorised",
    "Color_Fade": "color_fade",
    "Dermo": "dermoscopic_structures",
    "Blood": "blood_vessels",
    "Blue": "blue",
    "White": "white",
    "Red": "red",
    "Black": "black",
    "Brown": "brown",
    "Yellow": "yellow",
    "Skin_Color": "skin_color",
    "Flaking": "flaking",
    "Rough_Surface": "rough_surface",
    "Compactness": "compactness",
    "Erythema": "erythema",
    "Diameter": "diameter",
}
#: (cohort, type) pairs whose feature differs from :data:`TYPE_FEATURES`.
COHORT_TYPE_FEATURES: dict[tuple[str, str], str] = {
    # In 2017-2018 "Blue" is the paper's "blue glow" (blue-white veil).
    ("2017-2018", "Blue"): "blue_glow",
}

_STEMS: dict[str, tuple[str, ...]] = {
    "Asymmetry": ("asymmetry", "asymmetrie", "assymetrie", "symmetrie", "symetrie"),
    "Border": ("border", "rand", "grens", "begrenzing", "irregulariteit"),
    "Color": (
        "color",
        "colour",
        "kleur",
        "kleurver",
        "kleuruniformiteit",
        "variatie",
        "aantalkleuren",
        "egaal",
        "onregelmatigepigmentie",
    ),
    "Color_Categorised": ("color", "colour", "kleur", "kleurzelf", "tint"),
    "Color_Fade": ("colorfade", "colourfade", "vervaagderand"),
    "Dermo": ("dermo",),
    "Blood": ("blood",),
    "Blue": ("blue", "blauw", "witblauw"),
    "White": ("white", "wit"),
    "Red": ("red", "rood"),
    "Black": ("black", "zwart"),
    "Brown": ("brown", "bruin"),
    "Yellow": ("yellow", "geel"),
    "Skin_Color": ("skincolor", "huidskleur"),
    "Flaking": ("flaking", "schilferendekorst"),
    "Rough_Surface": ("roughsurface", "ruwoppervlak"),
    "Compactness": ("compactness", "compactheid", "omvang"),
    "Erythema": ("erythema", "erytheem"),
    "Diameter": ("diameter",),
}
#: Normalised header stem (lower case, letters only) -> the data_types types it may denote.
STEM_TYPES: dict[str, frozenset[str]] = {}
for _type, _stems in _STEMS.items():
    for _stem in _stems:
        STEM_TYPES[_stem] = STEM_TYPES.get(_stem, frozenset()) | {_type}
del _type, _stems, _stem

#: (cohort, group number, normalised stem, data_types type) header/type
#: disagreements that were checked by hand; the data_types type is followed.
ACCEPTED_TYPE_CONFLICTS: frozenset[tuple[str, int, str, str]] = frozenset(
    {
        ("2019-2020", 9, "compactness", "Border"),
    }
)
#: (cohort, group number, raw header) -> annotator, for headers whose number is a typo.
ANNOTATOR_CORRECTIONS: dict[tuple[str, int, str], str] = {
    ("2019-2020", 2, "Wit/blauw_1_2"): "1",
    ("2019-2020", 2, "Onregelmatige pigmentie_2_2"): "1",
}
#: (source_file, line, raw id) -> corrected image id.
ID_CORRECTIONS: dict[tuple[str, int, str], str] = {
    ("student/2017-2018/group08.csv", 79, "ISIC_0010327."): "ISIC_0010327",
    ("student/2019-2020/group09.csv", 61, "ISIC_001025"): "ISIC_0010205",
}
_CORRECTION_REASONS = {
    "ISIC_0010327.": "trailing full stop removed",
    "ISIC_001025": (
        "six-digit id; ISIC_0010205 is the only ISIC 2017 id one inserted digit "
        "away that lies between its sorted neighbours ISIC_0010202 and ISIC_0010206"
    ),
}

#: Columns of the tidy table, in order.
TIDY_COLUMNS: tuple[str, ...] = (
    "image_id",
    "cohort",
    "group",
    "annotator",
    "feature",
    "score",
    "status",
    "raw",
    "feature_raw",
    "source_file",
    "source_row",
)
STATUSES: tuple[str, ...] = ("ok", "missing", "unparseable")
ISIC_ID = re.compile(r"^ISIC_\d{7}$")

# ------------------------------------------------------------------ errors


def _fail(file: str, line: int | str, column: str, problem: str) -> AnnotationFormatError:
    return AnnotationFormatError(f"{file}, line {line}, column {column!r}: {problem}")


# ------------------------------------------------------------------ values

_MISSING_TOKENS = frozenset({"", "nan", "na", "n/a"})
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
_LIST_CELL = re.compile(r",.*,|, ")
_CODE = re.compile(r"[0-9]+")


def parse_value(cell: object) -> tuple[float, str]:
    """Parse one annotation cell into a score and a status.

    Parameters
    ----------
    cell : object
        The cell, usually the string as written in the file. ``None`` and
        float NaN count as missing; finite numbers are accepted as they are.

    Returns
    -------
    tuple of (float, str)
        ``(score, status)`` with status ``"ok"``, ``"missing"`` or
        ``"unparseable"``; ``score`` is NaN unless the status is ``"ok"``.

    Notes
    -----
    Surrounding whitespace is ignored. Empty text and ``NaN``/``nan``/``NA``/
    ``N/A`` are missing. ASCII digits with an optional sign and at most one
    decimal mark, ``.`` or ``,``, are ok (``" 40 "`` -> 40.0, ``"0,5"`` ->
    0.5, ``"2.5"`` -> 2.5). Everything else, including exponents and values
    too large to be finite, is unparseable. The function never raises.

    Examples
    --------
    >>> parse_value("0,5")
    (0.5, 'ok')
    >>> parse_value(" NaN ")
    (nan, 'missing')
    >>> parse_value("2-3")
    (nan, 'unparseable')
    """
    try:
        if cell is None:
            return math.nan, "missing"
        if isinstance(cell, bool):
            return math.nan, "unparseable"
        if isinstance(cell, (int, float, np.integer, np.floating)):
            value = float(cell)
            if math.isnan(value):
                return math.nan, "missing"
            return (value, "ok") if math.isfinite(value) else (math.nan, "unparseable")
        text = str(cell).strip()
        if text.lower() in _MISSING_TOKENS:
            return math.nan, "missing"
        if _NUMBER.fullmatch(text) is None:
            return math.nan, "unparseable"
        value = float(text.replace(",", "."))
        if not math.isfinite(value):
            return math.nan, "unparseable"
        return value, "ok"
    except Exception:  # noqa: BLE001 - the contract is: never raise
        return math.nan, "unparseable"


def parse_code_list(cell: object) -> tuple[float, str]:
    """Parse a cell of a list column: the number of distinct colour codes.

    Parameters
    ----------
    cell : object
        A comma-separated list of non-negative integer codes, e.g.
        ``"0,1,2,6,7"`` or ``"1, 2, 5"``; a single code is a list of one.

    Returns
    -------
    tuple of (float, str)
        ``(number of distinct codes, "ok")``; ``(nan, "missing")`` for a
        blank/NaN cell; ``(nan, "unparseable")`` when any element is not an
        integer code (including empty elements such as ``"1,,2"``).

    Notes
    -----
    The score is the count of *distinct* codes: ``"1,2,2"`` -> 2.0.
    """
    try:
        if cell is None:
            return math.nan, "missing"
        text = str(cell).strip()
        if text.lower() in _MISSING_TOKENS:
            return math.nan, "missing"
        codes = [part.strip() for part in text.split(",")]
        if not all(_CODE.fullmatch(c) for c in codes):
            return math.nan, "unparseable"
        return float(len({int(c) for c in codes})), "ok"
    except Exception:  # noqa: BLE001
        return math.nan, "unparseable"


def is_list_column(cells: Iterable[str]) -> bool:
    """Whether a column holds lists of codes.

    Notes
    -----
    True when any cell contains two or more commas or a comma followed by a
    space.
    """
    return any(_LIST_CELL.search(c) for c in cells)


# ------------------------------------------------------------------ headers

_HEADER = re.compile(r"(?P<stem>[^\d_]*[^\d_\s])\s*(?P<num>\d*)(?P<suffix>_.*)?", re.S)


def _stem_key(stem: str) -> str:
    return re.sub(r"[^a-z]", "", stem.lower())


def parse_header(header: str) -> tuple[str, int | None, str]:
    """Split an annotation column header into stem, variation and annotator.

    Parameters
    ----------
    header : str
        The header cell, e.g. ``"Asymmetry_7_1"``, ``"Border2_8_4"``,
        ``"Grens_05_Annot4"``, ``"Asymmetrie_Group 3_persoon2"``,
        ``"Asymmetrie1"``, ``"Onregelmatige pigmentie 2"``.

    Returns
    -------
    tuple of (str, int or None, str)
        ``(stem, variation, annotator)``: the stem as written (``"Border"``),
        the variation number glued to the stem when the header also has an
        ``_``-suffix (``Border2_8_4`` -> 2; otherwise None), and the annotator
        number as a string without leading zeros.

    Raises
    ------
    ValueError
        When no annotator number can be found.

    Notes
    -----
    With an ``_``-suffix the annotator is the last number of the suffix;
    without one, it is the number that ends the header.
    """
    match = _HEADER.fullmatch(header.strip())
    if match is None:
        raise ValueError(f"cannot split header {header!r} into feature and annotator")
    stem, num, suffix = match["stem"], match["num"], match["suffix"]
    if suffix:
        numbers = re.findall(r"\d+", suffix)
        if not numbers:
            raise ValueError(f"no annotator number in header {header!r}")
        return stem, (int(num) if num else None), str(int(numbers[-1]))
    if not num:
        raise ValueError(f"no annotator number in header {header!r}")
    return stem, None, str(int(num))


def _feature_for(cohort: str, type_name: str, variation: int | None) -> str:
    base = COHORT_TYPE_FEATURES.get((cohort, type_name), TYPE_FEATURES[type_name])
    return base if variation in (None, 1) else f"{base}_{variation}"


# ------------------------------------------------------------------ schema


def _score_iff_ok(df: pd.DataFrame) -> pd.Series:
    finite = np.isfinite(df["score"].to_numpy(dtype=float, na_value=np.nan))
    return pd.Series(finite == (df["status"] == "ok").to_numpy(), index=df.index)


TIDY_SCHEMA = pa.DataFrameSchema(
    {
        "image_id": pa.Column(str, pa.Check.str_matches(ISIC_ID.pattern)),
        "cohort": pa.Column(str, pa.Check.isin(["2017-2018", "2018-2019", "2019-2020", "mturk"])),
        "group": pa.Column(str, pa.Check.str_matches(r"^(group\d{2}|isic)$")),
        "annotator": pa.Column(str, pa.Check.str_matches(r"^[1-9]\d*$")),
        "feature": pa.Column(str, pa.Check.str_matches(r"^[a-z][a-z0-9_]*$")),
        "score": pa.Column(float, nullable=True),
        "status": pa.Column(str, pa.Check.isin(list(STATUSES))),
        "raw": pa.Column(str),
        "feature_raw": pa.Column(str),
        "source_file": pa.Column(str),
        "source_row": pa.Column(int, pa.Check.ge(1)),
    },
    checks=[pa.Check(_score_iff_ok, error="score finite iff status == 'ok'")],
    unique=["image_id", "cohort", "group", "annotator", "feature"],
    strict=True,
    ordered=True,
    name="tidy_annotations",
)


def validate_tidy(tidy: pd.DataFrame) -> pd.DataFrame:
    """Validate a tidy table against :data:`TIDY_SCHEMA`.

    Parameters
    ----------
    tidy : pandas.DataFrame
        A table with :data:`TIDY_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        The same table, validated.

    Raises
    ------
    AnnotationFormatError
        Naming source file, line and column header of (at most 20) failing
        rows, and the failed check.
    """
    try:
        return TIDY_SCHEMA.validate(tidy, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        lines = []
        for case in cases.head(20).itertuples(index=False):
            idx = getattr(case, "index", None)
            where = "unknown row"
            if idx is not None and not pd.isna(idx) and idx in tidy.index:
                row = tidy.loc[idx]
                where = (
                    f"{row['source_file']}, line {row['source_row']}, column {row['feature_raw']!r}"
                )
            lines.append(
                f"{where}: check {case.check!r} failed on {case.column!r} "
                f"(value {case.failure_case!r})"
            )
        raise AnnotationFormatError(
            f"tidy table fails validation ({len(cases)} failure cases):\n" + "\n".join(lines)
        ) from None


# ------------------------------------------------------------------ readers


def read_data_types(path: str | Path) -> dict[int, list[str]]:
    """Read a cohort's ``data_types.csv``.

    Parameters
    ----------
    path : str or pathlib.Path
        File with header ``group_num;column_1;...`` and one row per group.

    Returns
    -------
    dict of int to list of str
        Group number -> feature type of each annotation column, in file
        order, without the empty trailing cells.

    Raises
    ------
    AnnotationFormatError
        On an empty type between two types, an unknown type, or a repeated
        group number.
    """
    path = Path(path)
    out: dict[int, list[str]] = {}
    records = _csv_rows(path, path.name, ";")
    _, header = next(records, (1, None))
    if not header or header[0].strip() != "group_num":
        raise _fail(path.name, 1, header[0] if header else "", "expected 'group_num'")
    for line, cells in records:
        if not any(c.strip() for c in cells):
            continue
        try:
            group = int(cells[0])
        except ValueError:
            raise _fail(path.name, line, "group_num", f"not a number: {cells[0]!r}") from None
        types = [c.strip() for c in cells[1:]]
        while types and not types[-1]:
            types.pop()
        for j, t in enumerate(types, start=1):
            col = header[j] if j < len(header) else f"column_{j}"
            if t not in TYPE_FEATURES:
                raise _fail(path.name, line, col, f"unknown feature type {t!r}")
        if group in out:
            raise _fail(path.name, line, "group_num", f"group {group} listed twice")
        out[group] = types
    return out


@dataclass
class _FileMeta:
    """What a reader saw besides the tidy rows."""

    file: str
    blank_lines: int = 0
    empty_header_columns: int = 0
    padded_rows: int = 0
    corrections: list[dict] = field(default_factory=list)


def _decode(path: Path, rel: str, delimiter: str) -> str:
    """The text of a file (UTF-8, optional BOM); bytes that are not UTF-8 are an
    :class:`AnnotationFormatError` naming the line and the column (header cell) where
    they sit."""
    blob = path.read_bytes()
    try:
        return blob.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        before = blob[: err.start]
        line = before.count(b"\n") + 1
        start = before.rfind(b"\n") + 1
        j = before[start:].count(delimiter.encode())
        first = blob.split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf")
        header = first.decode("utf-8", errors="replace").strip().split(delimiter)
        col = header[j].strip() if j < len(header) and line > 1 else f"<cell {j + 1}>"
        raise _fail(rel, line, col, f"byte {blob[err.start:err.start + 1]!r} is not UTF-8 "
                    "text (save the file as UTF-8)") from None


def _csv_rows(path: Path, rel: str, delimiter: str) -> Iterable[tuple[int, list[str]]]:
    """Yield (first line number, cells) for every record, quoted newlines included; a
    record the csv module cannot read is an :class:`AnnotationFormatError`."""
    text = _decode(path, rel, delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    prev = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise _fail(rel, prev + 1, "-", f"unreadable record: {err}") from None
        yield prev + 1, cells
        prev = reader.line_num


def _records(path: Path, delimiter: str, rel: str | None = None
             ) -> Iterable[tuple[int, list[str]]]:
    """Yield (first line number, cells) for every record, quoted newlines included."""
    return _csv_rows(path, rel or path.name, delimiter)


def _read_table(
    path: Path, rel: str, delimiter: str
) -> tuple[list[str], list[tuple[int, str, list[str]]], _FileMeta]:
    """Read header and image rows; check ids, row length and blank columns."""
    meta = _FileMeta(rel)
    records = _records(path, delimiter, rel)
    try:
        _, header = next(iter(records))
    except StopIteration:
        raise _fail(rel, 1, "ID", "file is empty") from None
    header = [h.strip() for h in header]
    first = header[0] if header else ""
    if first.upper() != "ID":
        raise _fail(rel, 1, first, "first column must be 'ID'")
    blank_cols = [j for j in range(1, len(header)) if not header[j]]
    meta.empty_header_columns = len(blank_cols)
    rows: list[tuple[int, str, list[str]]] = []
    seen: dict[str, int] = {}
    width = len(header)
    for line, cells in records:
        if not any(c.strip() for c in cells):
            meta.blank_lines += 1
            continue
        if len(cells) > width:
            for j in range(width, len(cells)):
                if cells[j].strip():
                    raise _fail(
                        rel,
                        line,
                        f"<cell {j + 1}, beyond the {width}-column header>",
                        f"value {cells[j]!r} outside the header",
                    )
            cells = cells[:width]
        elif len(cells) < width:
            meta.padded_rows += 1
            cells = cells + [""] * (width - len(cells))
        for j in blank_cols:
            if cells[j].strip():
                raise _fail(
                    rel,
                    line,
                    f"<empty header, cell {j + 1}>",
                    f"value {cells[j]!r} under an empty header",
                )
        raw_id = cells[0].strip()
        image_id = ID_CORRECTIONS.get((rel, line, raw_id), raw_id)
        if image_id != raw_id:
            meta.corrections.append(
                {
                    "file": rel,
                    "row": line,
                    "column": first,
                    "raw": raw_id,
                    "corrected": image_id,
                    "kind": "image_id",
                    "reason": _CORRECTION_REASONS.get(raw_id, "listed in ID_CORRECTIONS"),
                }
            )
        if not ISIC_ID.fullmatch(image_id):
            raise _fail(
                rel, line, first, f"{cells[0]!r} is not an ISIC image id (ISIC_ + 7 digits)"
            )
        if image_id in seen:
            raise _fail(rel, line, first, f"image id {image_id} already on line {seen[image_id]}")
        seen[image_id] = line
        rows.append((line, image_id, cells))
    return header, rows, meta


def _tidy_frame(
    rows: list[tuple[int, str, list[str]]],
    columns: list[tuple[int, str, str, str]],
    *,
    cohort: str,
    group: str,
    rel: str,
) -> pd.DataFrame:
    """Melt image rows into tidy rows; ``columns`` = (index, header, feature, annotator)."""
    n_rows, n_cols = len(rows), len(columns)
    image_ids, raws, scores, statuses = [], [], [], []
    parsers = []
    for j, _, _, _ in columns:
        col_cells = [cells[j] for _, _, cells in rows]
        parsers.append(parse_code_list if is_list_column(col_cells) else parse_value)
    cache: dict[tuple[int, str], tuple[float, str]] = {}
    for _, image_id, cells in rows:
        for k, (j, _, _, _) in enumerate(columns):
            raw = cells[j]
            key = (k, raw)
            parsed = cache.get(key)
            if parsed is None:
                parsed = cache[key] = parsers[k](raw)
            image_ids.append(image_id)
            raws.append(raw)
            scores.append(parsed[0])
            statuses.append(parsed[1])
    return pd.DataFrame(
        {
            "image_id": pd.Series(image_ids, dtype=str),
            "cohort": pd.Series([cohort] * (n_rows * n_cols), dtype=str),
            "group": pd.Series([group] * (n_rows * n_cols), dtype=str),
            "annotator": pd.Series([c[3] for c in columns] * n_rows, dtype=str),
            "feature": pd.Series([c[2] for c in columns] * n_rows, dtype=str),
            "score": np.asarray(scores, dtype=float),
            "status": pd.Series(statuses, dtype=str),
            "raw": pd.Series(raws, dtype=str),
            "feature_raw": pd.Series([c[1] for c in columns] * n_rows, dtype=str),
            "source_file": pd.Series([rel] * (n_rows * n_cols), dtype=str),
            "source_row": np.repeat(np.asarray([r[0] for r in rows], dtype=np.int64), n_cols),
        }
    )


def _read_student(
    path: Path, *, cohort: str, group_num: int, types: Sequence[str], rel: str
) -> tuple[pd.DataFrame, _FileMeta]:
    header, rows, meta = _read_table(path, rel, ";")
    ann_cols = [j for j in range(1, len(header)) if header[j]]
    types = [t for t in types if t]
    if len(ann_cols) != len(types):
        last = header[ann_cols[-1]] if ann_cols else header[0]
        raise _fail(
            rel,
            1,
            last,
            f"header has {len(ann_cols)} annotation columns but data_types lists "
            f"{len(types)} for {cohort} group {group_num}",
        )
    columns: list[tuple[int, str, str, str]] = []
    seen: dict[tuple[str, str], str] = {}
    for j, type_name in zip(ann_cols, types, strict=True):
        head = header[j]
        try:
            stem, variation, annotator = parse_header(head)
        except ValueError as err:
            raise _fail(rel, 1, head, str(err)) from None
        if type_name not in TYPE_FEATURES:
            raise _fail(rel, 1, head, f"unknown data_types type {type_name!r}")
        key = _stem_key(stem)
        allowed = STEM_TYPES.get(key)
        if allowed is None:
            raise _fail(rel, 1, head, f"header stem {stem!r} is not in the stem dictionary")
        if type_name not in allowed:
            if (cohort, group_num, key, type_name) not in ACCEPTED_TYPE_CONFLICTS:
                raise _fail(
                    rel,
                    1,
                    head,
                    f"header stem {stem!r} means {sorted(allowed)} but data_types says {type_name!r}",
                )
            meta.corrections.append(
                {
                    "file": rel,
                    "row": 1,
                    "column": head,
                    "raw": stem,
                    "corrected": _feature_for(cohort, type_name, variation),
                    "kind": "feature",
                    "reason": f"stem {stem!r} disagrees with data_types type {type_name!r}; type followed",
                }
            )
        fixed = ANNOTATOR_CORRECTIONS.get((cohort, group_num, head))
        if fixed is not None and fixed != annotator:
            meta.corrections.append(
                {
                    "file": rel,
                    "row": 1,
                    "column": head,
                    "raw": annotator,
                    "corrected": fixed,
                    "kind": "annotator",
                    "reason": "header number is a typo; position in its block of columns",
                }
            )
            annotator = fixed
        feature = _feature_for(cohort, type_name, variation)
        if (feature, annotator) in seen:
            raise _fail(
                rel,
                1,
                head,
                f"feature {feature!r} of annotator {annotator} already in column "
                f"{seen[(feature, annotator)]!r}",
            )
        seen[(feature, annotator)] = head
        columns.append((j, head, feature, annotator))
    tidy = _tidy_frame(rows, columns, cohort=cohort, group=f"group{group_num:02d}", rel=rel)
    return tidy, meta


def _attach(tidy: pd.DataFrame, meta: _FileMeta) -> pd.DataFrame:
    tidy.attrs["skipped"] = {
        "blank_lines": meta.blank_lines,
        "empty_header_columns": meta.empty_header_columns,
        "padded_rows": meta.padded_rows,
    }
    tidy.attrs["corrections"] = list(meta.corrections)
    return tidy


def read_student_file(
    path: str | Path,
    *,
    cohort: str,
    group_num: int,
    types: Sequence[str],
    relpath: str | None = None,
) -> pd.DataFrame:
    """Read one student group file into validated tidy rows.

    Parameters
    ----------
    path : str or pathlib.Path
        Local path of the ``;``-separated file.
    cohort : str
        ``"2017-2018"``, ``"2018-2019"`` or ``"2019-2020"``.
    group_num : int
        Group number; the ``group`` column becomes ``f"group{group_num:02d}"``.
    types : sequence of str
        The group's row of ``data_types.csv`` (see :func:`read_data_types`).
    relpath : str, optional
        Path relative to ``0_data/`` used in ``source_file`` and messages;
        default ``student/<cohort>/<file name>``.

    Returns
    -------
    pandas.DataFrame
        Tidy rows (:data:`TIDY_COLUMNS`), one per annotation cell of every
        image row. ``attrs["skipped"]`` counts blank lines, empty-header
        columns and padded rows; ``attrs["corrections"]`` lists corrections
        applied.

    Raises
    ------
    AnnotationFormatError
        When the first header cell is not ``ID``; the number of annotation
        columns differs from ``types``; a header stem contradicts its type;
        a (feature, annotator) pair repeats; an id is not ``ISIC_`` + 7
        digits or repeats; a row has non-blank cells beyond the header or
        under an empty header. The message names file, line and column.

    Notes
    -----
    See the module docstring for the value, list-column, header and feature
    rules.
    """
    path = Path(path)
    rel = relpath or f"student/{cohort}/{path.name}"
    tidy, meta = _read_student(path, cohort=cohort, group_num=group_num, types=types, rel=rel)
    return _attach(validate_tidy(tidy), meta)


_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}


def _read_mturk(path: Path, *, feature: str, rel: str) -> tuple[pd.DataFrame, _FileMeta]:
    header, rows, meta = _read_table(path, rel, ",")
    columns = []
    for j in range(1, len(header)):
        head = header[j]
        if not head:
            continue
        annotator = _ROMAN.get(head.lower())
        if annotator is None:
            raise _fail(rel, 1, head, "expected MTurk worker position i, ii, iii")
        columns.append((j, head, feature, annotator))
    if not columns:
        raise _fail(rel, 1, header[0], "no annotation columns")
    return _tidy_frame(rows, columns, cohort="mturk", group="isic", rel=rel), meta


def read_mturk_file(path: str | Path, *, feature: str, relpath: str | None = None) -> pd.DataFrame:
    """Read one MTurk crowd file (``ID,i,ii,iii``) into validated tidy rows.

    Parameters
    ----------
    path : str or pathlib.Path
        Local path of the comma-separated file.
    feature : str
        Canonical feature held by the file (``"asymmetry"``, ``"border"``,
        ``"color"``).
    relpath : str, optional
        Path relative to ``0_data/``; default ``crowd/<file name>``.

    Returns
    -------
    pandas.DataFrame
        Tidy rows with ``cohort="mturk"``, ``group="isic"`` and annotators
        ``"1"``, ``"2"``, ``"3"`` for columns ``i``, ``ii``, ``iii``.

    Notes
    -----
    The MTurk positions are not persistent workers: annotator ``"1"`` of one
    image need not be the same person as annotator ``"1"`` of another.
    """
    path = Path(path)
    rel = relpath or f"crowd/{path.name}"
    tidy, meta = _read_mturk(path, feature=feature, rel=rel)
    return _attach(validate_tidy(tidy), meta)


def read_labels(path: str | Path, *, relpath: str | None = None) -> pd.DataFrame:
    """Read the ISIC 2017 ground truth (``image_id,melanoma,seborrheic_keratosis``).

    Parameters
    ----------
    path : str or pathlib.Path
        Local path of the CSV file.
    relpath : str, optional
        Name used in error messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``image_id`` (str), ``melanoma`` (int 0/1) and
        ``seborrheic_keratosis`` (int 0/1), one row per image.

    Raises
    ------
    AnnotationFormatError
        On a missing column, an id that is not ``ISIC_`` + 7 digits, a repeated
        id, or a label other than 0/1.
    """
    path = Path(path)
    rel = relpath or path.name
    want = ["image_id", "melanoma", "seborrheic_keratosis"]
    records = _csv_rows(path, rel, ",")
    _, header = next(records, (1, []))
    header = [h.strip() for h in header]
    for col in want:
        if col not in header:
            raise _fail(rel, 1, col, "column missing")
        if header.count(col) > 1:
            raise _fail(rel, 1, col, "column repeated")
    where = [header.index(col) for col in want]
    data_rows, line_nums = [], []
    for line, cells in records:
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(cells) != len(header):
            j = min(len(cells), len(header)) - 1 if cells else 0
            col = header[j] if 0 <= j < len(header) else f"<cell {j + 1}>"
            raise _fail(rel, line, col, f"{len(cells)} cells but the header has {len(header)}")
        data_rows.append([cells[j] for j in where])
        line_nums.append(line)
    df = pd.DataFrame(data_rows, columns=want, dtype=str)
    out = pd.DataFrame({"image_id": df["image_id"].str.strip().astype(str)})
    lines = pd.Series(np.asarray(line_nums, dtype=np.int64), index=df.index)
    bad = ~out["image_id"].str.fullmatch(ISIC_ID.pattern)
    if bad.any():
        i = bad.idxmax()
        raise _fail(rel, lines[i], "image_id", f"{df['image_id'][i]!r} is not an ISIC image id")
    dup = out["image_id"].duplicated()
    if dup.any():
        i = dup.idxmax()
        raise _fail(rel, lines[i], "image_id", f"image id {out['image_id'][i]} repeated")
    for col in want[1:]:
        values = pd.to_numeric(df[col].str.strip(), errors="coerce")
        bad = ~values.isin([0.0, 1.0])
        if bad.any():
            i = bad.idxmax()
            raise _fail(rel, lines[i], col, f"label {df[col][i]!r} is not 0 or 1")
        out[col] = values.astype(np.int64)
    return out


# ------------------------------------------------------------------ collection


@dataclass
class Annotations:
    """All annotations, parsed and validated, with what was left out or fixed.

    Attributes
    ----------
    tidy : pandas.DataFrame
        The validated tidy table (:data:`TIDY_COLUMNS`).
    labels : pandas.DataFrame
        Expert labels: ``image_id``, ``melanoma``, ``seborrheic_keratosis``.
    problems : pandas.DataFrame
        One row per cell whose status is not ``ok``: ``file``, ``row``,
        ``column``, ``raw``, ``status``, then ``image_id``, ``cohort``,
        ``group``, ``feature``, ``annotator``.
    unlabeled : pandas.DataFrame
        Annotated images without an expert label: ``image_id``, ``cohort``,
        ``group`` (one row per image and group).
    skipped : pandas.DataFrame
        Per file: ``blank_lines``, ``empty_header_columns``, ``padded_rows``.
    corrections : pandas.DataFrame
        Every correction applied to raw ids, annotators and feature types:
        ``file``, ``row``, ``column``, ``raw``, ``corrected``, ``kind``,
        ``reason``.
    """

    tidy: pd.DataFrame
    labels: pd.DataFrame
    problems: pd.DataFrame
    unlabeled: pd.DataFrame
    skipped: pd.DataFrame
    corrections: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Per-(cohort, group) overview.

        Returns
        -------
        pandas.DataFrame
            One row per (cohort, group) with ``n_images``, ``n_annotators``,
            ``features`` (comma-joined, file order), ``n_cells``, ``n_ok``,
            ``n_missing``, ``n_unparseable``, ``images_per_annotator`` and
            ``annotators_per_feature``.

        Notes
        -----
        ``images_per_annotator`` is the median, over the group's annotators,
        of the number of images for which the annotator gave at least one ok
        value. ``annotators_per_feature`` is the median, over all (image,
        feature) pairs of the group, of the number of annotators with an ok
        value.
        """
        return summarise(self.tidy)


def summarise(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per-(cohort, group) overview of a tidy table; see :meth:`Annotations.summary`."""
    out = []
    for (cohort, group), g in tidy.groupby(["cohort", "group"], sort=True):
        ok = g["status"] == "ok"
        per_ann = g[ok].groupby("annotator")["image_id"].nunique()
        per_ann = per_ann.reindex(g["annotator"].unique(), fill_value=0)
        per_cell = ok.groupby([g["image_id"], g["feature"]]).sum()
        out.append(
            {
                "cohort": cohort,
                "group": group,
                "n_images": g["image_id"].nunique(),
                "n_annotators": g["annotator"].nunique(),
                "features": ",".join(pd.unique(g["feature"])),
                "n_cells": len(g),
                "n_ok": int(ok.sum()),
                "n_missing": int((g["status"] == "missing").sum()),
                "n_unparseable": int((g["status"] == "unparseable").sum()),
                "images_per_annotator": float(per_ann.median()),
                "annotators_per_feature": float(per_cell.median()),
            }
        )
    return pd.DataFrame(out)


def load_annotations(fetch: Callable[[str], Path]) -> Annotations:
    """Read every ENHANCE annotation file and the expert labels.

    Parameters
    ----------
    fetch : callable
        ``fetch(relpath) -> pathlib.Path``: local path of a file given its
        path relative to ``0_data/`` (e.g. ``"student/2017-2018/group07.csv"``).
        Called once for each of :data:`REQUIRED_FILES`.

    Returns
    -------
    Annotations
        Validated tidy table, labels, problems, unlabeled images, skipped
        lines/columns and corrections.

    Raises
    ------
    AnnotationFormatError
        When any file is malformed (see :func:`read_student_file`) or the
        combined table fails :data:`TIDY_SCHEMA`.

    Examples
    --------
    >>> from pathlib import Path
    >>> root = Path("/work/shared/data/enhance/0_data")
    >>> ann = load_annotations(lambda rel: root / rel)  # doctest: +SKIP
    >>> ann.summary()  # doctest: +SKIP
    """
    frames: list[pd.DataFrame] = []
    metas: list[_FileMeta] = []
    types_by_cohort = {
        cohort: read_data_types(fetch(f"student/{cohort}/data_types.csv"))
        for cohort in COHORT_GROUPS
    }
    for rel in STUDENT_FILES:
        _, cohort, name = rel.split("/")
        group_num = int(name.removeprefix("group").removesuffix(".csv"))
        types = types_by_cohort[cohort].get(group_num)
        if types is None:
            raise _fail(
                f"student/{cohort}/data_types.csv",
                "-",
                "group_num",
                f"no row for group {group_num} (needed by {rel})",
            )
        tidy, meta = _read_student(
            Path(fetch(rel)), cohort=cohort, group_num=group_num, types=types, rel=rel
        )
        frames.append(tidy)
        metas.append(meta)
    for rel, feature in MTURK_FILES.items():
        tidy, meta = _read_mturk(Path(fetch(rel)), feature=feature, rel=rel)
        frames.append(tidy)
        metas.append(meta)
    tidy = validate_tidy(pd.concat(frames, ignore_index=True))
    labels = read_labels(fetch(LABELS_FILE), relpath=LABELS_FILE)

    bad = tidy[tidy["status"] != "ok"]
    problems = pd.DataFrame(
        {
            "file": bad["source_file"],
            "row": bad["source_row"],
            "column": bad["feature_raw"],
            "raw": bad["raw"],
            "status": bad["status"],
            "image_id": bad["image_id"],
            "cohort": bad["cohort"],
            "group": bad["group"],
            "feature": bad["feature"],
            "annotator": bad["annotator"],
        }
    ).reset_index(drop=True)
    images = tidy[["image_id", "cohort", "group"]].drop_duplicates()
    unlabeled = images[~images["image_id"].isin(labels["image_id"])].reset_index(drop=True)
    skipped = pd.DataFrame(
        [
            {
                "file": m.file,
                "blank_lines": m.blank_lines,
                "empty_header_columns": m.empty_header_columns,
                "padded_rows": m.padded_rows,
            }
            for m in metas
        ]
    )
    corrections = pd.DataFrame(
        [c for m in metas for c in m.corrections],
        columns=["file", "row", "column", "raw", "corrected", "kind", "reason"],
    )
    return Annotations(
        tidy=tidy,
        labels=labels,
        problems=problems,
        unlabeled=unlabeled,
        skipped=skipped,
        corrections=corrections,
    )


def wide_group(tidy: pd.DataFrame, cohort: str, group: str) -> pd.DataFrame:
    """One group's scores as an image x (feature, annotator) matrix.

    Parameters
    ----------
    tidy : pandas.DataFrame
        A tidy table (:data:`TIDY_COLUMNS`).
    cohort, group : str
        E.g. ``"2017-2018"``, ``"group07"``; ``"mturk"``, ``"isic"``.

    Returns
    -------
    pandas.DataFrame
        Index ``image_id`` (sorted); columns a MultiIndex ``(feature,
        annotator)``, features in file order and annotators in numeric order;
        values ``score`` (NaN where the cell is not ok).

    Raises
    ------
    KeyError
        When the (cohort, group) has no rows.
    """
    g = tidy[(tidy["cohort"] == cohort) & (tidy["group"] == group)]
    if g.empty:
        raise KeyError(f"no annotations for cohort {cohort!r}, group {group!r}")
    wide = g.pivot(index="image_id", columns=["feature", "annotator"], values="score")
    features = list(pd.unique(g["feature"]))
    annotators = sorted(pd.unique(g["annotator"]), key=int)
    order = [(f, a) for f in features for a in annotators if (f, a) in wide.columns]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(order, names=["feature", "annotator"]))
    return wide.sort_index()
