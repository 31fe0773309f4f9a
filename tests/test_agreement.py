"""Tests of analysis.statistics.agreement against psych::ICC (R fixture) and the
published worked example of Krippendorff (2011)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.statistics.agreement import icc, krippendorff_alpha

FIX = Path(__file__).parent / "fixtures" / "r"


# ---------------------------------------------------------------------------
# ICC vs psych 2.2.9 (ICC(x, lmer = FALSE) on complete cases): 1e-10 (closed-form
# ANOVA mean squares, no iteration: errors ~1e-14)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "matrix", ["M1_12x4", "M2_10x3_int", "M3_shrout_fleiss", "M4_12x4_missing"]
)
def test_icc_matches_psych(matrix):
    x = pd.read_csv(FIX / "icc_input.csv")
    x = x[x["matrix"] == matrix]
    ref = pd.read_csv(FIX / "icc_output.csv")
    ref = ref[ref["matrix"] == matrix].set_index("type")
    out = icc(x, targets="target", raters="rater", ratings="rating").set_index("type")
    assert list(out.index) == ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
    for t in out.index:
        for mine, theirs in [
            ("icc", "icc"),
            ("F", "F"),
            ("df1", "df1"),
            ("df2", "df2"),
            ("p_value", "p"),
            ("conf_low", "lower"),
            ("conf_high", "upper"),
        ]:
            assert out.loc[t, mine] == pytest.approx(ref.loc[t, theirs], abs=1e-10, rel=1e-10), (
                t,
                mine,
            )
        assert out.loc[t, "n_targets"] == ref.loc[t, "n_targets"]
        assert out.loc[t, "n_raters"] == ref.loc[t, "n_raters"]
    assert out["n_targets_omitted"].iloc[0] == (1 if matrix == "M4_12x4_missing" else 0)


def test_icc_shrout_fleiss_published_values():
    # Shrout & Fleiss (1979), Table 4: ICC(1,1)=.17, ICC(2,1)=.29, ICC(3,1)=.71,
    # ICC(1,4)=.44, ICC(2,4)=.62, ICC(3,4)=.91
    x = pd.read_csv(FIX / "icc_input.csv")
    x = x[x["matrix"] == "M3_shrout_fleiss"]
    out = icc(x, targets="target", raters="rater", ratings="rating").set_index("type")["icc"]
    pub = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
    for t, v in pub.items():
        assert out[t] == pytest.approx(v, abs=0.005), t


def test_icc_nan_policy_raise():
    x = pd.read_csv(FIX / "icc_input.csv")
    x = x[x["matrix"] == "M4_12x4_missing"]
    with pytest.raises(ValueError):
        icc(x, targets="target", raters="rater", ratings="rating", nan_policy="raise")


# ---------------------------------------------------------------------------
# Krippendorff's alpha: Krippendorff (2011), "Computing Krippendorff's
# Alpha-Reliability", section C (4 observers, 12 units, missing data):
# nominal .743, ordinal .815, interval .849, ratio .797 (published to 3 d.p.)
# ---------------------------------------------------------------------------
_K = np.nan
_RELIABILITY = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, _K, _K, _K],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _K, 3],
        [_K, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _K],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _K],
    ]
)


def _long():
    rows = [
        {"unit": u + 1, "coder": "ABCD"[c], "value": _RELIABILITY[c, u]}
        for c in range(4)
        for u in range(12)
        if not np.isnan(_RELIABILITY[c, u])
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "level, published",
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_published_example(level, published):
    a = krippendorff_alpha(_long(), targets="unit", raters="coder", ratings="value", level=level)
    assert a == pytest.approx(published, abs=5e-4)


def test_krippendorff_nominal_exact_and_string_categories():
    d = _long()
    # exact value of the published nominal example: 1 - D_o/D_e = 0.743421... (a ratio
    # of integer coincidence counts: exact to an ulp)
    a = krippendorff_alpha(d, targets="unit", raters="coder", ratings="value", level="nominal")
    assert a == pytest.approx(0.743421052631579, abs=1e-12)
    d["value"] = d["value"].map(lambda v: f"cat{int(v)}")
    b = krippendorff_alpha(d, targets="unit", raters="coder", ratings="value", level="nominal")
    assert b == pytest.approx(a, abs=1e-12)
