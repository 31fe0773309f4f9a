"""The column vocabulary (analysis/base/columns.py): the checker, the interval finder, every
column list the studies declare, and the README's list of renamed CSV columns."""

import re
from pathlib import Path

import pytest

from analysis.base import columns
from analysis.presentation import claims
from analysis.statistics import agreement, calibration, coefficients
from analysis.studies import analyze, multiverse, replication, review

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, reason", [
    ("ci_low", "short form ci"), ("low", "short form low"), ("p", "short form p"),
    ("se", "short form se"), ("perm_p", "short form p"), ("cov_low", "short form low"),
    ("auc_ci_high", "short form ci"), ("p_holm", "short form p"), ("q_p", "short form p"),
    ("mc_se_low", "short form se"), ("rejection_high", "short form high"),
])
def test_short_forms_are_refused(name, reason):
    assert columns.violations([name]) == [f"{name}: {reason}"]


@pytest.mark.parametrize("name", [
    "estimate", "std_error", "conf_low", "p_value", "holm_p_value", "q_p_value",
    "seed_min_p_value", "conf_low_mc_std_error", "truth_mc_std_error", "method",
    "conf_method", "band_low", "paper_high", "p_value_count", "share_below_half",
    "n_permutations", "share_lower", "highlight",
])
def test_vocabulary_and_ranges_pass(name):
    pair = {"conf_low": ["conf_high"], "paper_high": ["paper_low"]}.get(name, [])
    assert columns.violations([name, *pair]) == []


def test_interval_ends_come_in_pairs():
    assert columns.violations(["conf_low"]) == ["conf_low: no conf_high"]
    assert columns.violations(["power_conf_high"]) == ["power_conf_high: no power_conf_low"]
    assert columns.violations(["power_conf_low", "power_conf_high"]) == []
    # the pair must share the qualifier
    assert columns.violations(["pi_conf_low", "conf_high"]) == [
        "pi_conf_low: no pi_conf_high", "conf_high: no conf_low"]


def test_intervals_and_p_values_are_found_by_name():
    cols = ["estimate", "conf_low", "conf_high", "pi_conf_low", "pi_conf_high", "p_value",
            "holm_p_value", "n"]
    assert columns.intervals(cols) == [("", "conf_low", "conf_high"),
                                       ("pi", "pi_conf_low", "pi_conf_high")]
    assert columns.interval(cols, "pi") == ("pi_conf_low", "pi_conf_high")
    with pytest.raises(KeyError, match="power_conf_low"):
        columns.interval(cols, "power")
    assert columns.p_values(cols) == ["p_value", "holm_p_value"]


@pytest.mark.parametrize("cols", [
    review.PERMUTATION_COLUMNS, [*review.COMPARISON_COLUMNS, "holm_p_value"],
    claims.PART_COLUMNS, claims.TEST_COLUMNS, claims.CLAIM_COLUMNS,
    review.PART_VERDICT_COLUMNS, review.HYPOTHESIS_TEST_COLUMNS, review.CLAIM_VERDICT_COLUMNS,
    replication.GROUP_COLUMNS, replication.DIFF_COLUMNS, replication.META_COLUMNS,
    replication.POOL_COLUMNS, replication.CORRELATION_COLUMNS,
    replication.SENSITIVITY_COLUMNS, replication.TREND_COLUMNS, multiverse.ROW_COLUMNS,
    coefficients.TIDY_COLUMNS, calibration.CALIBRATION_COLUMNS, agreement._COLUMNS,
    analyze.INCREMENTAL_COLUMNS, analyze.BASELINE_COLUMNS,
], ids=lambda c: "-".join(c[:3]))
def test_declared_column_lists_keep_to_the_vocabulary(cols):
    assert columns.violations(cols) == []


def test_renamed_maps_to_the_vocabulary():
    for command, files in columns.RENAMED.items():
        for name, renames in files.items():
            assert columns.violations(renames.values()) == [], (command, name)
            assert all(old != new for old, new in renames.items()), (command, name)


def _readme_rows() -> set[tuple[str, str, str, str]]:
    """(command, file, old, new) of the README's table "| old | new | command: files |"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Column names", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    rows = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        old, new = cells[0].strip("`"), cells[1].strip("`")
        for group in cells[2].split(";"):
            commands, files = group.split(":")
            for command in re.split(r",\s*", commands.strip()):
                for file in re.split(r",\s*", files.strip()):
                    rows.add((command, file.strip("`"), old, new))
    return rows


def test_readme_lists_every_renamed_column():
    rows = _readme_rows()
    want = {(command, f, old, new) for command, files in columns.RENAMED.items()
            for f, renames in files.items() for old, new in renames.items()}
    missing = sorted(want - rows)
    assert not missing, missing[:10]
    assert rows <= want, sorted(rows - want)[:10]
