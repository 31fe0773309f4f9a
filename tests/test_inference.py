"""Tests of analysis.statistics.inference against R reference values (tests/fixtures/r),
scikit-learn, scipy and pingouin. R is not needed to run them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.statistics import inference as inf

FIX = Path(__file__).parent / "fixtures" / "r"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / name)


# ---------------------------------------------------------------------------
# AUC
# ---------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=2, max_size=40),
    st.lists(st.booleans(), min_size=2, max_size=40),
)
def test_auc_equals_sklearn_with_ties(scores, labels):
    from sklearn.metrics import roc_auc_score

    n = min(len(scores), len(labels))
    y = np.array(labels[:n], dtype=int)
    s = np.array(scores[:n], dtype=float) / 3.0
    if y.min() == y.max():
        assert np.isnan(inf.auc(y, s))
        return
    # few-valued scores with exact ties only (k/3, no near-ties at TIE_RTOL): both are
    # ratios of integer pair counts, so equal to an ulp
    assert inf.auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_auc_random_continuous_vs_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 2, 50)
        s = rng.normal(size=50) + y
        assert inf.auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)  # as above


# ---------------------------------------------------------------------------
# DeLong vs pROC 1.18.0  (tolerance 1e-12 absolute: closed-form rank arithmetic, no
# iteration and no BLAS reduction order; values O(1), errors ~1e-15)
# ---------------------------------------------------------------------------
def test_delong_ci_matches_proc():
    x = _read("roc_input.csv")
    ref = _read("roc_delong_ci.csv").set_index("dataset")
    assert len(ref) == 5
    for ds, g in x.groupby("dataset"):
        r = inf.delong_ci(g["y"], g["score"])
        e = ref.loc[ds]
        for key in ("auc", "se", "low", "high"):
            assert r[key] == pytest.approx(e[key], abs=1e-12), (ds, key)
    # the near-separated set has its upper bound clipped to 1 by pROC and by us
    assert ref.loc["E_near_separated", "high"] == 1.0


def test_delong_paired_matches_proc():
    x = _read("roc_paired_input.csv")
    ref = _read("roc_delong_paired.csv").set_index("pair")
    for pr, g in x.groupby("pair"):
        r = inf.delong_paired(g["y"], g["score_a"], g["score_b"])
        e = ref.loc[pr]
        for key in ("auc_a", "auc_b", "diff", "z", "p", "low", "high"):
            assert r[key] == pytest.approx(e[key], abs=1e-12, rel=1e-10), (pr, key)


def test_delong_paired_identical_scores():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 30)
    s = rng.normal(size=30)
    r = inf.delong_paired(y, s, s)
    assert r["diff"] == 0 and r["z"] == 0 and r["p"] == 1


# ---------------------------------------------------------------------------
# bootstrap vs boot 1.3-28.1 (boot.ci with given replicates and L): 1e-10 (closed form
# from the same replicates: order statistics, normal quantiles; errors ~1e-15)
# ---------------------------------------------------------------------------
def test_ci_from_replicates_matches_boot():
    reps = _read("boot_replicates.csv")
    jack = _read("boot_jackknife.csv")
    ref = _read("boot_output.csv").set_index("case")
    for case, r in reps.groupby("case", sort=False):
        j = jack[jack["case"] == case]
        t0 = float(r["t0"].iloc[0])
        L = inf.jackknife_influence(j["tj"].to_numpy(), t0, j["stratum"].to_numpy())
        out = inf.ci_from_replicates(r["t"].to_numpy(), t0, influence=L).set_index("method")
        e = ref.loc[case]
        assert out.loc["percentile", "low"] == pytest.approx(e["perc_low"], abs=1e-10), case
        assert out.loc["percentile", "high"] == pytest.approx(e["perc_high"], abs=1e-10), case
        assert out.loc["bca", "low"] == pytest.approx(e["bca_low"], abs=1e-10), case
        assert out.loc["bca", "high"] == pytest.approx(e["bca_high"], abs=1e-10), case
        assert out.loc["bca", "n_valid"] == e["n_finite"]
        assert out.loc["bca", "n_boot"] == e["R"]


def test_jackknife_influence_definition():
    # L_i = (n_s - 1) (t0 - t_(-i)): boot's usual.jack (checked in make_boot.R)
    L = inf.jackknife_influence([1.0, 2.0, 4.0], 2.0, strata=[0, 0, 1])
    np.testing.assert_allclose(L, [1.0, 0.0, -0.0])


def test_bootstrap_ci_generic_equals_manual_replicates():
    rng_data = np.random.default_rng(5)
    x = rng_data.exponential(size=25)
    out = inf.bootstrap_ci(x, np.mean, n_boot=500, rng=11)
    idx = inf.bootstrap_indices(25, 500, 11)
    t = x[idx].mean(axis=1)
    tj = np.array([np.delete(x, i).mean() for i in range(25)])
    ref = inf.ci_from_replicates(t, x.mean(), influence=inf.jackknife_influence(tj, x.mean()))
    pd.testing.assert_frame_equal(out, ref)


def test_bootstrap_auc_fast_path_equals_generic():
    rng = np.random.default_rng(8)
    y = (np.arange(40) < 12).astype(int)
    s = np.round(rng.normal(size=40) + y, 1)  # ties
    fast = inf.bootstrap_auc_ci(y, s, n_boot=300, rng=42)
    slow = inf.bootstrap_ci((y, s), inf.auc, n_boot=300, strata=y, rng=42)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert (fast["n_valid"] == 300).all()


def test_bootstrap_same_seed_same_output_and_nan_counting():
    y = (np.arange(12) < 3).astype(int)
    s = np.random.default_rng(2).normal(size=12) + y
    a = inf.bootstrap_ci((y, s), inf.auc, n_boot=400, rng=7)
    b = inf.bootstrap_ci((y, s), inf.auc, n_boot=400, rng=np.random.default_rng(7))
    pd.testing.assert_frame_equal(a, b)
    # unstratified: some resamples have no positive -> NaN, excluded and counted
    idx = inf.bootstrap_indices(12, 400, 7)
    n_nan = int(((y[idx].sum(axis=1) == 0) | (y[idx].sum(axis=1) == 12)).sum())
    assert n_nan > 0
    assert (a["n_valid"] == 400 - n_nan).all()


def test_bca_undefined_when_influence_is_zero():
    out = inf.ci_from_replicates(np.r_[np.zeros(10), np.ones(10)], 0.5, influence=np.zeros(5))
    assert np.isnan(out.set_index("method").loc["bca", "low"])


# ---------------------------------------------------------------------------
# permutation
# ---------------------------------------------------------------------------
def test_permutation_pvalue_rules():
    null = np.array([0.1, 0.5, 0.5, 0.9, np.nan])
    assert inf.permutation_pvalue(0.5, null) == pytest.approx((1 + 3) / (1 + 4))
    assert inf.permutation_pvalue(0.5, null, "less") == pytest.approx((1 + 3) / 5)
    assert inf.permutation_pvalue(1.0, null, "greater") == pytest.approx(1 / 5)
    assert inf.permutation_pvalue(1.0, null, "two-sided") == pytest.approx(2 / 5)
    assert np.isnan(inf.permutation_pvalue(np.nan, null))


def test_stratified_permutations_keep_strata_and_seed():
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    g = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p1 = inf.stratified_permutations(y, 50, 3, strata=g)
    p2 = inf.stratified_permutations(y, 50, np.random.default_rng(3), strata=g)
    np.testing.assert_array_equal(p1, p2)
    assert p1.shape == (50, 8)
    for level in (0, 1):
        np.testing.assert_array_equal(
            np.sort(p1[:, g == level], axis=1),
            np.sort(np.broadcast_to(y[g == level], (50, 4)), axis=1),
        )
    assert len({tuple(r) for r in p1}) > 1


def _perm_p(y, s, rng, n_perm=199):
    perms = inf.stratified_permutations(y, n_perm, rng)
    m = int(y.sum())
    n = y.size - m
    null = (perms @ stats.rankdata(s) - m * (m + 1) / 2) / (m * n)  # AUC of each permutation
    return inf.permutation_pvalue(inf.auc(y, s), null)


def test_permutation_calibration_null_and_power():
    rng = np.random.default_rng(2024)
    y = (np.arange(40) < 15).astype(int)
    p_null = np.array([_perm_p(y, rng.normal(size=40), rng) for _ in range(200)])
    share = np.mean(p_null <= 0.05)
    # under H0, P(p <= 0.05) = 10/200 exactly-ish; binomial(200, 0.05) 99.9% upper limit
    assert share <= stats.binom.ppf(0.999, 200, 0.05) / 200
    assert np.mean(p_null) == pytest.approx(0.5, abs=0.08)
    p_alt = np.array([_perm_p(y, rng.normal(size=40) + 2.0 * y, rng) for _ in range(20)])
    assert (p_alt < 0.01).all()


# ---------------------------------------------------------------------------
# p.adjust (R stats 4.2.2): exact up to 1e-15
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("fname", ["padjust_output.csv", "padjust_output_na.csv"])
def test_adjust_pvalues_matches_r(fname):
    ref = _read(fname)
    np.testing.assert_allclose(
        # a few multiplications and a running max on the same inputs: exact to an ulp
        inf.adjust_pvalues(ref["p"], "holm"), ref["holm"], rtol=0, atol=1e-15
    )
    np.testing.assert_allclose(
        inf.adjust_pvalues(ref["p"], "fdr_bh"), ref["BH"], rtol=0, atol=1e-15
    )
    np.testing.assert_array_equal(np.isnan(inf.adjust_pvalues(ref["p"], "BH")), ref["p"].isna())


def test_holm_written_out_equals_statsmodels_bit_for_bit():
    """The Holm rule is written out (statsmodels' Holm branch collects garbage on every
    call); it performs statsmodels' operations in the same order, ties included."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(7)
    for m in (1, 2, 5, 20, 101):
        p = rng.uniform(size=m) ** 3
        p[: m // 3] = p[0]  # ties
        np.testing.assert_array_equal(inf.adjust_pvalues(p, "holm"),
                                      multipletests(p, method="holm")[1])
    # a hand-worked case: 0.01, 0.04, 0.03 -> 0.03, 0.06, 0.06
    np.testing.assert_allclose(inf.adjust_pvalues([0.01, 0.04, 0.03], "holm"),
                               [0.03, 0.06, 0.06], rtol=1e-15)


# ---------------------------------------------------------------------------
# Mann-Whitney vs pingouin / scipy
# ---------------------------------------------------------------------------
def test_mann_whitney_vs_pingouin():
    import pingouin as pg

    rng = np.random.default_rng(4)
    a = np.round(rng.normal(0.5, 1, 25), 1)
    b = np.round(rng.normal(0, 1, 40), 1)
    r = inf.mann_whitney(a, b)
    ref = pg.mwu(a, b, alternative="two-sided")
    assert r["u"] == pytest.approx(float(ref["U_val"].iloc[0]), abs=1e-9)
    assert r["p"] == pytest.approx(
        float(ref["p_val"].iloc[0] if "p_val" in ref else ref["p-val"].iloc[0]), rel=1e-9
    )
    assert r["rank_biserial"] == pytest.approx(float(ref["RBC"].iloc[0]), abs=1e-12)
    assert r["cles"] == pytest.approx(float(ref["CLES"].iloc[0]), abs=1e-12)
    assert r["auc"] == pytest.approx(
        inf.auc(np.r_[np.ones(25), np.zeros(40)], np.r_[a, b]), abs=1e-12
    )
    assert r["direction"] == "higher in melanoma"
    assert inf.mann_whitney(b, a)["direction"] == "lower in melanoma"
    assert inf.mann_whitney([1, 2], [1, 2])["direction"] == "no difference"


# ---------------------------------------------------------------------------
# random-effects meta-analysis vs metafor 3.8.1
# ---------------------------------------------------------------------------
def _meta_cmp(r, e, tol):
    for mine, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("low", "ci_lb"),
        ("high", "ci_ub"),
        ("tau2", "tau2"),
        ("i2", "I2"),
        ("q", "QE"),
        ("q_p", "QEp"),
    ]:
        scale = 100.0 if mine == "i2" else 1.0
        assert r[mine] == pytest.approx(e[theirs], abs=tol * scale), mine
    assert r["k"] == e["k"]


def test_meta_matches_metafor():
    x = _read("meta_input.csv")
    ref = _read("meta_output.csv").set_index("fit")
    _meta_cmp(inf.random_effects_meta(x["yi"], x["vi"], "DL"), ref.loc["DL"], 1e-12)
    reml = inf.random_effects_meta(x["yi"], x["vi"], "REML")
    _meta_cmp(reml, ref.loc["REML_tight"], 1e-9)  # metafor with threshold 1e-12
    _meta_cmp(reml, ref.loc["REML"], 2e-6)  # metafor default threshold 1e-5
    z = x.iloc[:4].assign(yi=0.3 + np.array([-0.01, 0.01, 0, 0.005]))
    _meta_cmp(inf.random_effects_meta(z["yi"], z["vi"], "REML"), ref.loc["REML_zero"], 1e-12)
    _meta_cmp(inf.random_effects_meta(z["yi"], z["vi"], "DL"), ref.loc["DL_zero"], 1e-12)


def test_meta_dl_matches_statsmodels():
    from statsmodels.stats.meta_analysis import combine_effects

    x = _read("meta_input.csv")
    res = combine_effects(x["yi"].to_numpy(), x["vi"].to_numpy(), method_re="dl")
    r = inf.random_effects_meta(x["yi"], x["vi"], "DL")
    assert r["tau2"] == pytest.approx(res.tau2, abs=1e-12)
    assert r["estimate"] == pytest.approx(res.mean_effect_re, abs=1e-12)
    assert r["q"] == pytest.approx(res.q, abs=1e-10)


# ---------------------------------------------------------------------------
# meta-analysis with a known within-study covariance (metafor 3.8.1 rma.mv,
# rma(test="knha"), predict(); make_meta_overlap.R)
# ---------------------------------------------------------------------------
def _overlap_cases():
    x = _read("meta_input.csv")
    img = _read("meta_overlap_images.csv")
    sets = [set(g["image_id"]) for _, g in img.groupby("study", sort=False)]
    n = np.array([len(s) for s in sets], dtype=float)
    shared = np.array([[len(a & b) for b in sets] for a in sets], dtype=float)
    corr = shared / np.sqrt(np.outer(n, n))
    a = _read("meta_overlap_auc.csv")
    yh = 0.3 + np.array([-0.01, 0.01, 0, 0.005, -0.004, 0.002, 0.007, -0.006])
    cases = {
        "heterogeneous": (x["yi"].to_numpy(), x["vi"].to_numpy()),
        "homogeneous": (yh, x["vi"].to_numpy()),
        "auc_logit": (np.log(a["auc"] / (1 - a["auc"])).to_numpy(),
                      (a["se"] ** 2 / (a["auc"] * (1 - a["auc"])) ** 2).to_numpy()),
    }
    return cases, corr


def test_meta_mv_matches_metafor():
    cases, corr = _overlap_cases()
    ref = _read("meta_overlap_output.csv")
    seen = set()
    for r in ref.itertuples(index=False):
        y, v = cases[r.case]
        dl = r.model == "independent_DL"
        V = np.diag(v) if r.model.startswith("independent") else corr * np.sqrt(np.outer(v, v))
        res = inf.random_effects_meta_mv(y, V, method="DL" if dl else "REML", test=r.test)
        back = (lambda t: 1 / (1 + np.exp(-t))) if r.scale == "logit" else (lambda t: t)
        # rma.mv maximises the REML likelihood numerically (nlminb, rel.tol 1e-10): its
        # tau^2 agrees with Fisher scoring to ~1e-7 (seen: 9e-8); rma() to ~1e-12
        tol = 1e-6 if r.model == "overlap" else 1e-9
        for mine, theirs in (("estimate", "estimate"), ("low", "ci_lb"), ("high", "ci_ub"),
                             ("pi_low", "pi_lb"), ("pi_high", "pi_ub")):
            assert back(res[mine]) == pytest.approx(getattr(r, theirs), abs=tol), (r, mine)
        assert res["se"] == pytest.approx(r.se, abs=tol)
        assert res["tau2"] == pytest.approx(r.tau2, abs=tol)
        assert res["q"] == pytest.approx(r.QE, rel=1e-9)
        assert res["q_p"] == pytest.approx(r.QEp, rel=1e-6, abs=1e-15)
        assert res["k"] == r.k
        seen.add((r.case, r.model, r.test))
    assert len(seen) == 13
    # the overlap changes the answer (else the test above could not tell V was used)
    y, v = cases["heterogeneous"]
    a = inf.random_effects_meta_mv(y, corr * np.sqrt(np.outer(v, v)))
    b = inf.random_effects_meta_mv(y, v)
    assert abs(a["se"] - b["se"]) > 1e-3 and abs(a["q"] - b["q"]) > 1


def test_meta_mv_diagonal_equals_random_effects_meta():
    x = _read("meta_input.csv")
    for method in ("REML", "DL"):
        a = inf.random_effects_meta(x["yi"], x["vi"], method)
        b = inf.random_effects_meta_mv(x["yi"], np.diag(x["vi"]), method)
        for key in ("estimate", "se", "low", "high", "tau2", "i2", "q", "q_p"):
            assert b[key] == pytest.approx(a[key], rel=1e-12, abs=1e-15), key


def test_meta_mv_knha_matches_statsmodels_hksj():
    from statsmodels.stats.meta_analysis import combine_effects

    x = _read("meta_input.csv")
    res = combine_effects(x["yi"].to_numpy(), x["vi"].to_numpy(), method_re="dl")
    mine = inf.random_effects_meta_mv(x["yi"], x["vi"], method="DL", test="knha")
    assert mine["se"] == pytest.approx(res.sd_eff_w_re_hksj, rel=1e-10)
    lo, hi = res.conf_int(use_t=True)[3]  # "random effect wls": HKSJ, t with k-1 df
    assert (mine["low"], mine["high"]) == pytest.approx((lo, hi), rel=1e-10)
    with pytest.raises(ValueError):
        inf.random_effects_meta_mv(x["yi"], np.ones((8, 8)) * 0.001 + np.diag(x["vi"]), "DL")
