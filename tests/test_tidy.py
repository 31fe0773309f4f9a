"""Unit tests of analysis.loading.tidy on small synthetic files, one per quirk."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.loading.tidy import (
    ANNOTATION_FILES,
    TIDY_COLUMNS,
    AnnotationFormatError,
    Annotations,
    parse_code_list,
    parse_header,
    parse_value,
    read_data_types,
    read_labels,
    read_mturk_file,
    read_student_file,
    summarise,
    validate_tidy,
    wide_group,
)

BOM = "\ufeff"
ID1, ID2, ID3, ID4 = "ISIC_0000001", "ISIC_0000002", "ISIC_0000003", "ISIC_0000004"


def write(tmp_path: Path, text: str, name: str = "group07.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read(tmp_path, text, types, *, cohort="2017-2018", group_num=7, name="group07.csv"):
    path = write(tmp_path, text, name)
    return read_student_file(path, cohort=cohort, group_num=group_num, types=types)


def cells(df: pd.DataFrame) -> list[tuple]:
    """(image_id, annotator, feature, score, status, raw) sorted, NaN as None."""
    out = []
    for r in df.itertuples(index=False):
        score = None if math.isnan(r.score) else r.score
        out.append((r.image_id, r.annotator, r.feature, score, r.status, r.raw))
    return sorted(out)


# ----------------------------------------------------------------- parse_value


@pytest.mark.parametrize(
    ("cell", "score", "status"),
    [
        ("2", 2.0, "ok"),
        (" 40 ", 40.0, "ok"),
        ("0,5", 0.5, "ok"),
        ("2.5", 2.5, "ok"),
        ("-1", -1.0, "ok"),
        (",5", 0.5, "ok"),
        ("3.", 3.0, "ok"),
        ("", None, "missing"),
        ("   ", None, "missing"),
        ("NaN", None, "missing"),
        ("nan", None, "missing"),
        ("NA", None, "missing"),
        (None, None, "missing"),
        (float("nan"), None, "missing"),
        (3, 3.0, "ok"),
        ("1,2,3", None, "unparseable"),
        ("2-3", None, "unparseable"),
        ("1e3", None, "unparseable"),
        ("inf", None, "unparseable"),
        ("x", None, "unparseable"),
        ("9" * 400, None, "unparseable"),
        ("\u0661", None, "unparseable"),  # non-ASCII digit
    ],
)
def test_parse_value_cases(cell, score, status):
    got_score, got_status = parse_value(cell)
    assert got_status == status
    if score is None:
        assert math.isnan(got_score)
    else:
        assert got_score == score


@given(st.one_of(st.text(), st.none(), st.floats(), st.integers(), st.binary()))
def test_parse_value_never_raises(cell):
    score, status = parse_value(cell)
    assert isinstance(score, float)
    assert isinstance(status, str)
    assert status in {"ok", "missing", "unparseable"}
    assert math.isfinite(score) == (status == "ok")


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([".", ","]),
    st.text(alphabet=" \t", max_size=3),
    st.text(alphabet=" \t", max_size=3),
)
@settings(max_examples=300)
def test_parse_value_round_trip(x, mark, left, right):
    text = format(Decimal(repr(x)), "f").replace(".", mark)
    score, status = parse_value(f"{left}{text}{right}")
    assert status == "ok"
    assert score == x


@pytest.mark.parametrize(
    ("cell", "score", "status"),
    [
        ("0,1,2,6,7", 5.0, "ok"),
        ("1, 2, 5", 3.0, "ok"),
        ("1,2,2", 2.0, "ok"),
        ("4", 1.0, "ok"),
        ("", None, "missing"),
        ("NaN", None, "missing"),
        ("1,,2", None, "unparseable"),
        ("1,red", None, "unparseable"),
    ],
)
def test_parse_code_list(cell, score, status):
    got_score, got_status = parse_code_list(cell)
    assert got_status == status
    assert math.isnan(got_score) if score is None else got_score == score


@given(st.text())
def test_parse_code_list_never_raises(cell):
    score, status = parse_code_list(cell)
    assert status in {"ok", "missing", "unparseable"}
    assert math.isfinite(score) == (status == "ok")


# ---------------------------------------------------------------- parse_header


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Asymmetry_7_1", ("Asymmetry", None, "1")),
        ("Asymmetry_1", ("Asymmetry", None, "1")),
        ("Color_3_4", ("Color", None, "4")),
        ("Asymmetrie_Group 3_persoon2", ("Asymmetrie", None, "2")),
        ("Grens_05_Annot4", ("Grens", None, "4")),
        ("Symmetrie_01_3", ("Symmetrie", None, "3")),
        ("Asymmetrie1", ("Asymmetrie", None, "1")),
        ("Onregelmatige pigmentie 2", ("Onregelmatige pigmentie", None, "2")),
        ("Onregelmatige pigmentie_2_3", ("Onregelmatige pigmentie", None, "3")),
        ("Wit/blauw_2_2", ("Wit/blauw", None, "2")),
        ("Border2_8_4", ("Border", 2, "4")),
        ("Border1_8_1", ("Border", 1, "1")),
    ],
)
def test_parse_header(header, expected):
    assert parse_header(header) == expected


@pytest.mark.parametrize("header", ["Asymmetry", "Asymmetry_x", "_1", ""])
def test_parse_header_rejects(header):
    with pytest.raises(ValueError):
        parse_header(header)


# ------------------------------------------------------------ one file per quirk


def test_bom_semicolon_basic(tmp_path):
    text = (
        f"{BOM}ID;Asymmetry_7_1;Border_7_1;Asymmetry_7_2;Border_7_2\n{ID1};2;1;0;3\n{ID2};1;0;2;2\n"
    )
    df = read(tmp_path, text, ["Asymmetry", "Border", "Asymmetry", "Border"])
    assert list(df.columns) == list(TIDY_COLUMNS)
    assert cells(df) == sorted(
        [
            (ID1, "1", "asymmetry", 2.0, "ok", "2"),
            (ID1, "1", "border", 1.0, "ok", "1"),
            (ID1, "2", "asymmetry", 0.0, "ok", "0"),
            (ID1, "2", "border", 3.0, "ok", "3"),
            (ID2, "1", "asymmetry", 1.0, "ok", "1"),
            (ID2, "1", "border", 0.0, "ok", "0"),
            (ID2, "2", "asymmetry", 2.0, "ok", "2"),
            (ID2, "2", "border", 2.0, "ok", "2"),
        ]
    )
    assert set(df["cohort"]) == {"2017-2018"}
    assert set(df["group"]) == {"group07"}
    assert set(df["source_file"]) == {"student/2017-2018/group07.csv"}
    assert df.loc[df["image_id"] == ID2, "source_row"].unique().tolist() == [3]
    assert df.loc[df["feature_raw"] == "Border_7_2", "annotator"].unique().tolist() == ["2"]


def test_decimal_comma(tmp_path):
    text = f"{BOM}ID;Kleur_1;Kleur_2\n{ID1};0,5;1,2\n{ID2};0,45;2\n"
    df = read(tmp_path, text, ["Color_Categorised"] * 2, group_num=2, name="group02.csv")
    assert cells(df) == sorted(
        [
            (ID1, "1", "color_categorised", 0.5, "ok", "0,5"),
            (ID1, "2", "color_categorised", 1.2, "ok", "1,2"),
            (ID2, "1", "color_categorised", 0.45, "ok", "0,45"),
            (ID2, "2", "color_categorised", 2.0, "ok", "2"),
        ]
    )


def test_decimal_point_and_stray_spaces(tmp_path):
    text = f"{BOM}ID;Border_6_1;Color_6_1\n{ID1}; 40 ;2.5\n{ID2};60 ; 3.5\n"
    df = read(tmp_path, text, ["Border", "Color"], group_num=6, name="group06.csv")
    assert cells(df) == sorted(
        [
            (ID1, "1", "border", 40.0, "ok", " 40 "),
            (ID1, "1", "color", 2.5, "ok", "2.5"),
            (ID2, "1", "border", 60.0, "ok", "60 "),
            (ID2, "1", "color", 3.5, "ok", " 3.5"),
        ]
    )


def test_empty_trailing_columns_are_ignored_and_counted(tmp_path):
    text = f"{BOM}ID;Asymmetry_1_1;Asymmetry_1_2;;;\n{ID1};1;2;;;\n"
    df = read(tmp_path, text, ["Asymmetry", "Asymmetry"], group_num=1, name="group01.csv")
    assert cells(df) == [
        (ID1, "1", "asymmetry", 1.0, "ok", "1"),
        (ID1, "2", "asymmetry", 2.0, "ok", "2"),
    ]
    assert df.attrs["skipped"]["empty_header_columns"] == 3


def test_nan_markers_are_missing_and_kept(tmp_path):
    text = f"{BOM}ID;Asymmetry_7_1;Blue_7_1\n{ID1};NaN;1\n{ID2};2;nan\n"
    df = read(tmp_path, text, ["Asymmetry", "Blue"])
    assert cells(df) == sorted(
        [
            (ID1, "1", "asymmetry", None, "missing", "NaN"),
            (ID1, "1", "blue_glow", 1.0, "ok", "1"),
            (ID2, "1", "asymmetry", 2.0, "ok", "2"),
            (ID2, "1", "blue_glow", None, "missing", "nan"),
        ]
    )


def test_list_column_counts_distinct_codes(tmp_path):
    # Color_3_4 has a 2+-comma cell: list column. Kleur_3_1 has single commas only:
    # decimal column.
    text = (
        f"{BOM}ID;Color_3_4;Color_3_5;Kleur_3_1\n"
        f"{ID1};0,1,2,6,7;1, 2, 5;1,2\n"
        f"{ID2};1,2;2;0,5\n"
        f"{ID3};;1,2;1\n"
    )
    df = read(
        tmp_path,
        text,
        ["Color_Categorised", "Color_Categorised", "Color"],
        group_num=3,
        name="group03.csv",
    )
    assert cells(df) == sorted(
        [
            (ID1, "4", "color_categorised", 5.0, "ok", "0,1,2,6,7"),
            (ID1, "5", "color_categorised", 3.0, "ok", "1, 2, 5"),
            (ID1, "1", "color", 1.2, "ok", "1,2"),
            (ID2, "4", "color_categorised", 2.0, "ok", "1,2"),
            (ID2, "5", "color_categorised", 1.0, "ok", "2"),
            (ID2, "1", "color", 0.5, "ok", "0,5"),
            (ID3, "4", "color_categorised", None, "missing", ""),
            (ID3, "5", "color_categorised", 2.0, "ok", "1,2"),
            (ID3, "1", "color", 1.0, "ok", "1"),
        ]
    )


def test_dutch_feature_names(tmp_path):
    text = (
        f"{BOM}ID;Symmetrie_1_1;Kleur_1_1;Rand_1_1;Compactheid_1_1;Erytheem_1_1;"
        "Kleurzelf_1_1;Grens_1_2;Rood_1_1;Zwart_1_1;Huidskleur_1_1;"
        "schilferende korst_1_1;Ruw oppervlak_1_1;vervaagde rand_1_1;Omvang_1_2\n"
        f"{ID1};1;2;3;4;5;6;7;8;9;10;11;12;13;14\n"
    )
    types = [
        "Asymmetry",
        "Color",
        "Border",
        "Compactness",
        "Erythema",
        "Color_Categorised",
        "Border",
        "Red",
        "Black",
        "Skin_Color",
        "Flaking",
        "Rough_Surface",
        "Color_Fade",
        "Compactness",
    ]
    df = read(tmp_path, text, types, cohort="2018-2019", group_num=1, name="group01.csv")
    got = dict(
        zip(
            df["feature_raw"],
            zip(df["feature"], df["annotator"], df["score"], strict=True),
            strict=True,
        )
    )
    assert got == {
        "Symmetrie_1_1": ("asymmetry", "1", 1.0),
        "Kleur_1_1": ("color", "1", 2.0),
        "Rand_1_1": ("border", "1", 3.0),
        "Compactheid_1_1": ("compactness", "1", 4.0),
        "Erytheem_1_1": ("erythema", "1", 5.0),
        "Kleurzelf_1_1": ("color_categorised", "1", 6.0),
        "Grens_1_2": ("border", "2", 7.0),
        "Rood_1_1": ("red", "1", 8.0),
        "Zwart_1_1": ("black", "1", 9.0),
        "Huidskleur_1_1": ("skin_color", "1", 10.0),
        "schilferende korst_1_1": ("flaking", "1", 11.0),
        "Ruw oppervlak_1_1": ("rough_surface", "1", 12.0),
        "vervaagde rand_1_1": ("color_fade", "1", 13.0),
        "Omvang_1_2": ("compactness", "2", 14.0),
    }


def test_uneven_annotator_numbering(tmp_path):
    text = (
        f"{BOM}ID;Asymmetrie_Group 3_persoon2;Grens_05_Annot4;Asymmetrie1;Color_3_4;"
        "Symmetrie_01_3;Rand_004_2\n"
        f"{ID1};1;2;0;3;1;2\n"
    )
    types = ["Asymmetry", "Border", "Asymmetry", "Color", "Asymmetry", "Border"]
    df = read(tmp_path, text, types, cohort="2019-2020", group_num=5, name="group05.csv")
    got = dict(
        zip(df["feature_raw"], zip(df["feature"], df["annotator"], strict=True), strict=True)
    )
    assert got == {
        "Asymmetrie_Group 3_persoon2": ("asymmetry", "2"),
        "Grens_05_Annot4": ("border", "4"),
        "Asymmetrie1": ("asymmetry", "1"),
        "Color_3_4": ("color", "4"),
        "Symmetrie_01_3": ("asymmetry", "3"),
        "Rand_004_2": ("border", "2"),
    }


def test_header_typos_corrected_only_where_listed(tmp_path):
    header = "ID;Wit/blauw_1_2;Wit/blauw_2_2;Witblauw_2_3\n"
    text = f"{BOM}{header}{ID1};0;1;0\n"
    df = read(tmp_path, text, ["Blue"] * 3, cohort="2019-2020", group_num=2, name="group02.csv")
    got = dict(
        zip(df["feature_raw"], zip(df["feature"], df["annotator"], strict=True), strict=True)
    )
    assert got == {
        "Wit/blauw_1_2": ("blue", "1"),
        "Wit/blauw_2_2": ("blue", "2"),
        "Witblauw_2_3": ("blue", "3"),
    }
    assert [c["corrected"] for c in df.attrs["corrections"]] == ["1"]
    # The same headers in another group are a duplicate (annotator 2 twice).
    with pytest.raises(AnnotationFormatError, match=r"group04\.csv.*line 1.*Wit/blauw_2_2"):
        read(tmp_path, text, ["Blue"] * 3, cohort="2019-2020", group_num=4, name="group04.csv")


def test_split_design_blank_cells(tmp_path):
    # Annotators 1-2 rated the first images, 3-4 the others: blank by design.
    text = (
        f"{BOM}ID;Asymmetry_8_1;Asymmetry_8_2;Asymmetry_8_3;Asymmetry_8_4\n"
        f"{ID1};1;2;;\n"
        f"{ID2};0;1;;\n"
        f"{ID3};;;2;2\n"
    )
    df = read(tmp_path, text, ["Asymmetry"] * 4, group_num=8, name="group08.csv")
    assert len(df) == 12
    assert (df["status"] == "missing").sum() == 6
    assert df.loc[(df["image_id"] == ID3) & (df["annotator"] == "1"), "status"].item() == "missing"
    s = summarise(df).iloc[0]
    assert (s["n_images"], s["n_annotators"], s["n_cells"], s["n_ok"], s["n_missing"]) == (
        3,
        4,
        12,
        6,
        6,
    )
    assert s["images_per_annotator"] == 1.5  # median of 2, 2, 1, 1
    assert s["annotators_per_feature"] == 2.0


def test_blank_lines_skipped_and_counted(tmp_path):
    text = (
        f"{BOM}ID;Asymmetry_1;Asymmetry_2\n"
        f"{ID1};1;2\n"
        "\n"
        ";;\n"
        f"{ID2};0;1\n"
        ' ; ;"\n";\n'  # a quoted newline makes one blank record of two lines
        f"{ID3};2;2\n"
    )
    df = read(tmp_path, text, ["Asymmetry"] * 2, group_num=1, name="group01.csv")
    assert sorted(df["image_id"].unique()) == [ID1, ID2, ID3]
    assert df.attrs["skipped"]["blank_lines"] == 3
    rows = df.drop_duplicates("image_id").set_index("image_id")["source_row"].to_dict()
    assert rows == {ID1: 2, ID2: 5, ID3: 8}


def test_border_variations_split(tmp_path):
    text = f"{BOM}ID;Border1_8_1;Border1_8_2;Border2_8_1;Border2_8_2\n{ID1};4;5;3;2\n"
    df = read(tmp_path, text, ["Border"] * 4, group_num=8, name="group08.csv")
    assert cells(df) == sorted(
        [
            (ID1, "1", "border", 4.0, "ok", "4"),
            (ID1, "2", "border", 5.0, "ok", "5"),
            (ID1, "1", "border_2", 3.0, "ok", "3"),
            (ID1, "2", "border_2", 2.0, "ok", "2"),
        ]
    )


def test_blue_depends_on_cohort(tmp_path):
    text = f"{BOM}ID;Blue_1;Blauw_2\n{ID1};1;0\n"
    old = read(tmp_path, text, ["Blue", "Blue"], cohort="2017-2018", group_num=7)
    new = read(tmp_path, text, ["Blue", "Blue"], cohort="2019-2020", group_num=5)
    assert set(old["feature"]) == {"blue_glow"}
    assert set(new["feature"]) == {"blue"}


def test_unparseable_cell_is_kept(tmp_path):
    text = f"{BOM}ID;Asymmetry_1;Asymmetry_2\n{ID1};2-3;?\n{ID2};1;1\n"
    df = read(tmp_path, text, ["Asymmetry"] * 2, group_num=1, name="group01.csv")
    bad = df[df["status"] == "unparseable"]
    assert sorted(bad["raw"]) == ["2-3", "?"]
    assert bad["score"].isna().all()
    assert len(df) == 4


def test_id_surrounding_spaces_are_stripped(tmp_path):
    text = f"{BOM}ID;Asymmetry_1\n {ID1} ;2\n"
    df = read(tmp_path, text, ["Asymmetry"], group_num=1, name="group01.csv")
    assert df["image_id"].tolist() == [ID1]


def test_crlf_line_endings(tmp_path):
    text = f"{BOM}ID;Asymmetry_1;Border_1\r\n{ID1};2;1\r\n{ID2};1;0\r\n"
    df = read(tmp_path, text, ["Asymmetry", "Border"], group_num=1, name="group01.csv")
    assert len(df) == 4
    assert df["status"].eq("ok").all()


# ------------------------------------------------------------------ malformed


def assert_error(excinfo, *parts):
    message = str(excinfo.value)
    for part in parts:
        assert part in message, (part, message)


def test_error_no_id_column(tmp_path):
    text = f"{BOM}Image;Asymmetry_1\n{ID1};2\n"
    with pytest.raises(AnnotationFormatError) as excinfo:
        read(tmp_path, text, ["Asymmetry"], group_num=1, name="group01.csv")
    assert_error(excinfo, "group01.csv", "line 1", "'Image'")


def test_error_duplicate_image_id(tmp_path):
    text = f"{BOM}ID;Asymmetry_1\n{ID1};2\n{ID2};1\n{ID1};0\n"
    with pytest.raises(AnnotationFormatError) as excinfo:
        read(tmp_path, text, ["Asymmetry"], group_num=1, name="group01.csv")
    assert_error(excinfo, "group01.csv", "line 4", "'ID'", ID1, "line 2")


def test_error_header_count_disagrees_with_data_types(tmp_path):
    text = f"{BOM}ID;Asymmetry_1;Border_1;Color_1\n{ID1};2;1;3\n"
    with pytest.raises(AnnotationFormatError) as excinfo:
        read(tmp_path, text, ["Asymmetry", "Border"], group_num=1, name="group01.csv")
    assert_error(excinfo, "group01.csv", "line 1", "'Color_1'", "3 annotation columns", "2")


def test_error_surplus_cells(tmp_path):
    text = f"{BOM}ID;Asymmetry_1;Border_1\n{ID1};2;1\n{ID2};2;1;;7\n"
    with pytest.raises(AnnotationFormatError) as excinfo:
        read(tmp_path, text, ["Asymmetry", "Border"], group_num=1, name="group01.csv")
    assert_error(excinfo, "group01.csv", "line 3", "cell 5", "'7'")


def test_surplus_blank_cells_are_fine(tmp_path):
    text = f"{BOM}ID;Asymmetry_1;Border_1\n{ID1};2;1;;\n"
    df = read(tmp_path, text, ["Asymmetry", "Border"], group_num=1, name="group01.csv")
    assert len(df) == 2


def test_error_value_under_empty_header(tmp_path):
    text = f"{BOM}ID;Asymmetry_1;;\n{ID1};2;;5\n"
    with pytest.raises(AnnotationFormatError) as excinfo:
        read(tmp_path, text, ["Asymmetry"], group_num=1, name="group01.csv")
    assert_error(excinfo, "group01.csv", "line 2", "empty header", "'5'")


@pytest.mark.parametrize("bad", ["ISIC_001025", "ISIC_0010327.", "isic_0000001", "0000001"])
def test_error_bad_image_id(tmp_path, bad):
    text = f"{BOM}ID;Asymmetry_1\n{ID1};2\n{bad};1\n"
    with pytest.raises(AnnotationFormatError) as excinfo:
        read(tmp_path, text, ["Asymmetry"], group_num=1, name="group01.csv")
    assert_error(excinfo, "group01.csv", "line 3", "'ID'", bad)


def test_error_stem_contradicts_type(tmp_path):
    text = f"{BOM}ID;Asymmetry_1;Kleur_1\n{ID1};2;1\n"
    with pytest.raises(AnnotationFormatError) as excinfo:
        read(tmp_path, text, ["Asymmetry", "Border"], group_num=1, name="group01.csv")
    assert_error(excinfo, "group01.csv", "line 1", "'Kleur_1'", "Border")


def test_error_unknown_stem(tmp_path):
    text = f"{BOM}ID;Glans_1\n{ID1};2\n"
    with pytest.raises(AnnotationFormatError) as excinfo:
        read(tmp_path, text, ["Color"], group_num=1, name="group01.csv")
    assert_error(excinfo, "group01.csv", "line 1", "'Glans_1'")


def test_validate_tidy_names_file_row_column(tmp_path):
    text = f"{BOM}ID;Asymmetry_1;Border_1\n{ID1};2;\n"
    df = read(tmp_path, text, ["Asymmetry", "Border"], group_num=1, name="group01.csv")
    broken = df.copy()
    broken.loc[broken["status"] == "missing", "score"] = 3.0
    with pytest.raises(AnnotationFormatError) as excinfo:
        validate_tidy(broken)
    assert_error(excinfo, "student/2017-2018/group01.csv", "line 2", "'Border_1'")
    dup = pd.concat([df, df], ignore_index=True)
    with pytest.raises(AnnotationFormatError) as excinfo:
        validate_tidy(dup)
    assert_error(excinfo, "student/2017-2018/group01.csv", "line 2", "'Asymmetry_1'")


# ------------------------------------------------------------- other readers


def test_read_data_types(tmp_path):
    path = write(
        tmp_path,
        "group_num;column_1;column_2;column_3;column_4\n"
        "1;Asymmetry;Border;;\n"
        "2;Color;Color_Categorised;Blue;Dermo\n",
        "data_types.csv",
    )
    assert read_data_types(path) == {
        1: ["Asymmetry", "Border"],
        2: ["Color", "Color_Categorised", "Blue", "Dermo"],
    }
    bad = write(tmp_path, "group_num;column_1\n1;Shininess\n", "data_types.csv")
    with pytest.raises(AnnotationFormatError) as excinfo:
        read_data_types(bad)
    assert_error(excinfo, "data_types.csv", "line 2", "'column_1'", "Shininess")


def test_read_mturk_file(tmp_path):
    path = write(tmp_path, f"ID,i,ii,iii\n{ID1},0,1,1\n{ID2},1,,2\n", "border.csv")
    df = read_mturk_file(path, feature="border")
    assert cells(df) == sorted(
        [
            (ID1, "1", "border", 0.0, "ok", "0"),
            (ID1, "2", "border", 1.0, "ok", "1"),
            (ID1, "3", "border", 1.0, "ok", "1"),
            (ID2, "1", "border", 1.0, "ok", "1"),
            (ID2, "2", "border", None, "missing", ""),
            (ID2, "3", "border", 2.0, "ok", "2"),
        ]
    )
    assert set(df["cohort"]) == {"mturk"} and set(df["group"]) == {"isic"}
    assert set(df["source_file"]) == {"crowd/border.csv"}


def test_read_labels(tmp_path):
    path = write(
        tmp_path,
        f"image_id,melanoma,seborrheic_keratosis\n{ID1},0.0,1.0\n{ID2},1.0,0.0\n",
        "gt.csv",
    )
    labels = read_labels(path)
    assert labels.to_dict("list") == {
        "image_id": [ID1, ID2],
        "melanoma": [0, 1],
        "seborrheic_keratosis": [1, 0],
    }
    bad = write(tmp_path, f"image_id,melanoma,seborrheic_keratosis\n{ID1},0.5,1.0\n", "gt.csv")
    with pytest.raises(AnnotationFormatError) as excinfo:
        read_labels(bad)
    assert_error(excinfo, "gt.csv", "line 2", "'melanoma'")


def test_wide_group(tmp_path):
    text = (
        f"{BOM}ID;Asymmetry_7_2;Border_7_2;Asymmetry_7_10;Border_7_10\n"
        f"{ID2};2;NaN;0;3\n"
        f"{ID1};1;0;2;2\n"
    )
    df = read(tmp_path, text, ["Asymmetry", "Border", "Asymmetry", "Border"])
    wide = wide_group(df, "2017-2018", "group07")
    assert wide.index.tolist() == [ID1, ID2]
    assert wide.columns.tolist() == [
        ("asymmetry", "2"),
        ("asymmetry", "10"),
        ("border", "2"),
        ("border", "10"),
    ]
    assert wide.loc[ID2].tolist()[:2] == [2.0, 0.0]
    assert math.isnan(wide.loc[ID2, ("border", "2")])
    with pytest.raises(KeyError):
        wide_group(df, "2017-2018", "group01")


def test_annotation_files_constant():
    assert len(ANNOTATION_FILES) == 28
    assert len(set(ANNOTATION_FILES)) == 28
    assert sum(f.startswith("student/") for f in ANNOTATION_FILES) == 24
    assert sum(f.startswith("crowd/") for f in ANNOTATION_FILES) == 3
    assert {f for f in ANNOTATION_FILES if f.startswith("external/")} == {
        "external/ISIC-2017_Training_Part3_GroundTruth.csv"
    }
    assert not any("ph2" in f for f in ANNOTATION_FILES)
    assert Annotations.__dataclass_fields__.keys() >= {
        "tidy",
        "labels",
        "problems",
        "unlabeled",
        "skipped",
    }
