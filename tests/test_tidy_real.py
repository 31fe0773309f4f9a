"""analysis.loading.tidy on the real ENHANCE files, checked against independent counts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import mirror, needs_data

from analysis.loading.tidy import (
    ANNOTATION_FILES,
    REQUIRED_FILES,
    STUDENT_FILES,
    load_annotations,
    wide_group,
)

pytestmark = needs_data


def _data() -> Path:
    return mirror() / "0_data"


def fetch(rel: str) -> Path:
    return _data() / rel


@pytest.fixture(scope="module")
def ann():
    return load_annotations(fetch)


def count_with_csv(path: Path) -> dict[str, int]:
    """Count image rows and ok/missing cells using only the csv module."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh, delimiter=";"))
    header = records[0]
    ann_cols = [j for j, h in enumerate(header) if j > 0 and h.strip()]
    images = [r for r in records[1:] if any(c.strip() for c in r)]
    n_missing = 0
    for r in images:
        for j in ann_cols:
            value = r[j].strip() if j < len(r) else ""
            if value == "" or value.lower() == "nan":
                n_missing += 1
    n_cells = len(images) * len(ann_cols)
    return {
        "n_images": len(images),
        "n_cells": n_cells,
        "n_missing": n_missing,
        "n_ok": n_cells - n_missing,
    }


def test_file_lists_match_the_mirror():
    DATA = _data()
    on_disk = {p.relative_to(DATA).as_posix() for p in DATA.glob("student/*/group*.csv")}
    assert on_disk == set(STUDENT_FILES)
    for rel in REQUIRED_FILES:
        assert (DATA / rel).is_file(), rel
    assert set(ANNOTATION_FILES) <= set(REQUIRED_FILES)


@pytest.mark.parametrize("rel", sorted(STUDENT_FILES))
def test_student_file_counts(ann, rel):
    expected = count_with_csv(_data() / rel)
    got = ann.tidy[ann.tidy["source_file"] == rel]
    assert got["image_id"].nunique() == expected["n_images"]
    assert len(got) == expected["n_cells"]
    assert (got["status"] == "ok").sum() == expected["n_ok"]
    assert (got["status"] == "missing").sum() == expected["n_missing"]
    assert (got["status"] == "unparseable").sum() == 0


def test_group07_2017(ann):
    g = ann.tidy[(ann.tidy["cohort"] == "2017-2018") & (ann.tidy["group"] == "group07")]
    assert g["image_id"].nunique() == 100
    assert sorted(g["annotator"].unique()) == ["1", "2", "3", "4", "5", "6"]
    assert set(g["feature"]) == {
        "asymmetry",
        "border",
        "color",
        "dermoscopic_structures",
        "blue_glow",
    }
    wide = wide_group(ann.tidy, "2017-2018", "group07")
    assert wide.shape == (100, 30)
    complete = wide.dropna()
    assert len(complete) == 96
    labels = ann.labels.set_index("image_id")
    assert complete.index.isin(labels.index).all()
    assert int(labels.loc[complete.index, "melanoma"].sum()) == 18


def test_group08_2017_border_variations(ann):
    g = ann.tidy[(ann.tidy["cohort"] == "2017-2018") & (ann.tidy["group"] == "group08")]
    assert set(g["feature"]) == {
        "asymmetry",
        "border",
        "border_2",
        "color",
        "dermoscopic_structures",
    }
    assert set(g.loc[g["feature"] == "border_2", "feature_raw"].str[:7]) == {"Border2"}


def test_mturk(ann):
    m = ann.tidy[ann.tidy["cohort"] == "mturk"]
    assert m["image_id"].nunique() == 1250
    assert len(m) == 1250 * 3 * 3
    assert sorted(m["feature"].unique()) == ["asymmetry", "border", "color"]
    assert sorted(m["annotator"].unique()) == ["1", "2", "3"]
    assert (m.groupby("feature")["image_id"].nunique() == 1250).all()
    for rel in ("crowd/asymmetry.csv", "crowd/border.csv", "crowd/color.csv"):
        with (_data() / rel).open(newline="") as fh:
            rows = list(csv.reader(fh))[1:]
        assert (m["source_file"] == rel).sum() == 3 * len(rows)


def test_labels(ann):
    assert len(ann.labels) == 2000
    assert ann.labels["image_id"].is_unique
    assert set(ann.labels["melanoma"]) <= {0, 1}


def test_unlabeled_is_the_set_difference(ann):
    annotated = set(zip(ann.tidy["image_id"], ann.tidy["cohort"], ann.tidy["group"], strict=True))
    labelled = set(ann.labels["image_id"])
    expected = {t for t in annotated if t[0] not in labelled}
    got = set(
        zip(ann.unlabeled["image_id"], ann.unlabeled["cohort"], ann.unlabeled["group"], strict=True)
    )
    assert got == expected
    assert set(ann.unlabeled["image_id"]) == set(ann.tidy["image_id"]) - labelled


def test_problems_are_the_non_ok_cells(ann):
    assert len(ann.problems) == (ann.tidy["status"] != "ok").sum()
    assert list(ann.problems.columns[:5]) == ["file", "row", "column", "raw", "status"]


def test_corrections_are_reported(ann):
    c = ann.corrections
    ids = c[c["kind"] == "image_id"]
    assert set(zip(ids["file"], ids["row"], ids["raw"], ids["corrected"], strict=True)) == {
        ("student/2017-2018/group08.csv", 79, "ISIC_0010327.", "ISIC_0010327"),
        ("student/2019-2020/group09.csv", 61, "ISIC_001025", "ISIC_0010205"),
    }
    assert set(c.loc[c["kind"] == "annotator", "column"]) == {
        "Wit/blauw_1_2",
        "Onregelmatige pigmentie_2_2",
    }
    assert (c["kind"] == "feature").sum() == 7


def test_summary(ann):
    s = ann.summary()
    assert len(s) == 25
    assert (s["n_cells"] == s["n_ok"] + s["n_missing"] + s["n_unparseable"]).all()
    assert s["n_cells"].sum() == len(ann.tidy)
    row = s[(s["cohort"] == "2017-2018") & (s["group"] == "group07")].iloc[0]
    assert (row["n_images"], row["n_annotators"], row["n_missing"]) == (100, 6, 20)
