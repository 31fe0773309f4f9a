"""Full-data logistic models (analysis.statistics.coefficients) against R and hand-worked cases.

R references: tests/fixtures/r/make_confint.R (glm + confint + exact profile roots),
on the synthetic glm_input.csv and on group 7's design (only R's fitted numbers are
stored). Tolerances: the fits are iterative (Newton/IRLS to steps below 1e-10,
profile roots by Brent to 1e-9), so agreement is asserted at 1e-7 (estimates, SEs)
and 1e-6 (profile bounds), well inside the 1e-4 the issue asks for.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.statistics import coefficients as C
from tests.conftest import FIXTURES, needs_data

R = FIXTURES / "r"
CRIT = stats.chi2.ppf(0.95, 1)


def _synthetic():
    x = pd.read_csv(R / "glm_input.csv").rename(columns={"y": "melanoma"})
    return x


@pytest.mark.parametrize("cols,name", [(["x1", "x2", "x3"], "x1+x2+x3"), (["x1"], "x1")])
def test_mle_matches_r_glm_and_profile(cols, name):
    ref = pd.read_csv(R / "confint_synthetic.csv").query("feature_set == @name")
    tidy, glance = C.fit_model(_synthetic(), cols, "mle", feature_set=name)
    assert list(tidy["term"]) == list(ref["term"])
    np.testing.assert_allclose(tidy["estimate"], ref["estimate"], rtol=1e-7)
    np.testing.assert_allclose(tidy["std_error"], ref["std_error"], rtol=1e-7)
    np.testing.assert_allclose(tidy["statistic"], ref["z"], rtol=1e-7)
    np.testing.assert_allclose(tidy["p_value"], ref["p"], rtol=1e-6)
    # exact profile roots (R: uniroot on the profile) to 1e-6
    np.testing.assert_allclose(tidy["conf_low"], ref["exact_low"], atol=1e-6)
    np.testing.assert_allclose(tidy["conf_high"], ref["exact_high"], atol=1e-6)
    # R's confint() (MASS) interpolates the profile on a grid by a spline; its own
    # interpolation error here is up to 1.04e-4 (R's exact roots vs R's confint)
    np.testing.assert_allclose(tidy["conf_low"], ref["confint_low"], atol=2.5e-4)
    np.testing.assert_allclose(tidy["conf_high"], ref["confint_high"], atol=2.5e-4)
    np.testing.assert_allclose(tidy["odds_ratio"], np.exp(ref["estimate"]), rtol=1e-7)
    np.testing.assert_allclose(tidy["odds_ratio_conf_low"], np.exp(ref["exact_low"]), rtol=1e-6)
    for key, col in [("loglik", "loglik"), ("deviance", "deviance"), ("aic", "aic"),
                     ("bic", "bic")]:
        assert glance[key] == pytest.approx(ref[col].iloc[0], rel=1e-9)
    assert glance["converged"] and not glance["separated"]


def test_formula_quotes_odd_names():
    assert C.formula(["a_1", "b c", "2x"]) == 'melanoma ~ a_1 + Q("b c") + Q("2x")'
    frame = pd.DataFrame({"melanoma": [0, 1, 0, 1, 1, 0, 0, 1], "b c": [1, 2, 0, 3, 2, 2, 1, 0.5]})
    tidy, _ = C.fit_model(frame, ["b c"], "mle")
    assert list(tidy["term"]) == ["(Intercept)", "b c"]
    assert np.isfinite(tidy["estimate"]).all()


def _two_by_two(a, b, c, d):
    """y/x rows of a 2x2 table: a = (x0, y0), b = (x0, y1), c = (x1, y0), d = (x1, y1)."""
    x = np.repeat([0, 0, 1, 1], [a, b, c, d]).astype(float)
    y = np.repeat([0, 1, 0, 1], [a, b, c, d]).astype(float)
    return pd.DataFrame({"melanoma": y, "x": x})


def test_firth_two_by_two_hand_worked():
    """Firth on a 2x2 table is the log odds ratio with 1/2 added to every cell."""
    a, b, c, d = 9, 3, 4, 7
    tidy, glance = C.fit_model(_two_by_two(a, b, c, d), ["x"], "firth")
    lor = math.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    assert tidy["estimate"].iloc[1] == pytest.approx(lor, abs=1e-8)
    assert tidy["estimate"].iloc[0] == pytest.approx(math.log((b + 0.5) / (a + 0.5)), abs=1e-8)
    # penalised log-likelihood: l(p) + 1/2 log det(X'WX); det = s0 s1, s_k = n_k p_k (1-p_k)
    p0, p1 = (b + 0.5) / (a + b + 1), (d + 0.5) / (c + d + 1)
    ll = b * math.log(p0) + a * math.log(1 - p0) + d * math.log(p1) + c * math.log(1 - p1)
    pen = 0.5 * math.log((a + b) * p0 * (1 - p0) * (c + d) * p1 * (1 - p1))
    assert glance["loglik"] == pytest.approx(ll, abs=1e-9)
    assert glance["penalised_loglik"] == pytest.approx(ll + pen, abs=1e-9)


def test_firth_lrt_plr_two_by_two_hand_worked():
    """method='plr': the intercept-only Firth fit is logit((k + 1/2) / (n + 1))."""
    a, b, c, d = 9, 3, 4, 7
    f = _two_by_two(a, b, c, d)
    n, k = a + b + c + d, b + d
    q = (k + 0.5) / (n + 1)
    ll_red = k * math.log(q) + (n - k) * math.log(1 - q) + 0.5 * math.log(n * q * (1 - q))
    p0, p1 = (b + 0.5) / (a + b + 1), (d + 0.5) / (c + d + 1)
    ll_full = (b * math.log(p0) + a * math.log(1 - p0) + d * math.log(p1) + c * math.log(1 - p1)
               + 0.5 * math.log((a + b) * p0 * (1 - p0) * (c + d) * p1 * (1 - p1)))
    out = C.firth_lrt_arrays(f[["x"]].to_numpy(), f["melanoma"].to_numpy(), [0], method="plr")
    assert out["statistic"] == pytest.approx(2 * (ll_full - ll_red), abs=1e-8)
    assert out["p"] == pytest.approx(stats.chi2.sf(2 * (ll_full - ll_red), 1), abs=1e-8)
    assert out["df"] == 1


def _firth_case():
    x = _synthetic()
    return x, ["x1", "x2", "x3"]


def test_firth_against_firthmodels():
    """Estimates, SEs, 1-df penalised LR p-values and profile intervals vs firthmodels."""
    from firthmodels import FirthLogisticRegression

    x, cols = _firth_case()
    tidy, glance = C.fit_model(x, cols, "firth")
    m = FirthLogisticRegression(max_iter=200, gtol=1e-10, xtol=1e-10).fit(
        x[cols].to_numpy(), x["melanoma"].to_numpy())
    ref_est = np.concatenate([[m.intercept_], m.coef_])
    np.testing.assert_allclose(tidy["estimate"], ref_est, atol=1e-7)
    # SE: inverse Fisher information X'WX at the estimate (Heinze & Schemper 2002,
    # logistf's vcov), checked with statsmodels' Logit Hessian. firthmodels' bse_ uses
    # the augmented information X'W(1+h)X instead, so it is not the reference here.
    import statsmodels.api as sm

    X1 = sm.add_constant(x[cols].to_numpy())
    hess = sm.Logit(x["melanoma"].to_numpy(), X1).hessian(tidy["estimate"].to_numpy())
    np.testing.assert_allclose(tidy["std_error"], np.sqrt(np.diag(np.linalg.inv(-hess))),
                               rtol=1e-9)
    m.lrt()
    p_ref = np.r_[m.lrt_pvalues_[-1], m.lrt_pvalues_[:-1]]
    ok = np.isfinite(p_ref)
    assert ok[1:].all()
    np.testing.assert_allclose(tidy["p_value"][ok], p_ref[ok], rtol=1e-5)
    ci = m.conf_int(method="pl", tol=1e-10, max_iter=200)
    ci = np.vstack([ci[-1], ci[:-1]])
    np.testing.assert_allclose(tidy["conf_low"], ci[:, 0], atol=1e-6)
    np.testing.assert_allclose(tidy["conf_high"], ci[:, 1], atol=1e-6)
    assert glance["penalised_loglik"] == pytest.approx(m.loglik_, abs=1e-8)


def test_firth_profile_bounds_solve_the_profile_equation():
    """At each bound the penalised LR statistic of the constrained fit is chi2_1(0.95)."""
    x, cols = _firth_case()
    tidy, glance = C.fit_model(x, cols, "firth")
    X1 = np.column_stack([np.ones(len(x)), x[cols].to_numpy()])
    y = x["melanoma"].to_numpy(float)
    beta = tidy["estimate"].to_numpy()
    for j in range(len(beta)):
        for b in (tidy["conf_low"].iloc[j], tidy["conf_high"].iloc[j]):
            _, ll, conv = C.firth_constrained(X1, y, {j: b}, start=beta)
            assert conv
            assert 2 * (glance["penalised_loglik"] - ll) == pytest.approx(CRIT, abs=1e-6)


def test_firth_nested_lrt_one_column_equals_firthmodels_lrt():
    from firthmodels import FirthLogisticRegression

    x, cols = _firth_case()
    X, y = x[cols].to_numpy(), x["melanoma"].to_numpy()
    m = FirthLogisticRegression(max_iter=200, gtol=1e-10, xtol=1e-10).fit(X, y).lrt(1)
    out = C.firth_lrt_arrays(X, y, [1], method="nested")
    assert out["p"] == pytest.approx(m.lrt_pvalues_[1], rel=1e-5)
    # two columns at once: the constrained optimum has zero modified score on the rest
    two = C.firth_lrt_arrays(X, y, [1, 2], method="nested")
    X1 = np.column_stack([np.ones(len(y)), X])
    beta, ll, conv = C.firth_constrained(X1, y.astype(float), {2: 0.0, 3: 0.0})
    assert conv and two["df"] == 2
    assert two["loglik_reduced"] == pytest.approx(ll, abs=1e-9)
    assert two["statistic"] >= out["statistic"] - 1e-9  # a larger constraint loses more


def test_separated_mle_says_so():
    f = _two_by_two(8, 0, 3, 6)  # x = 0 never melanoma: quasi-complete separation
    tidy, glance = C.fit_model(f, ["x"], "mle")
    assert glance["separated"]
    assert tidy["estimate"].isna().all() and tidy["conf_low"].isna().all()
    assert (tidy["note"] == C.NO_MLE).all() and glance["note"] == C.NO_MLE
    firth, g2 = C.fit_model(f, ["x"], "firth")
    assert np.isfinite(firth["estimate"]).all() and g2["converged"]
    # the profile of the separated direction is finite under the penalty
    assert np.isfinite(firth["conf_low"]).all() and np.isfinite(firth["conf_high"]).all()


def test_without_profile():
    tidy, _ = C.fit_model(_synthetic(), ["x1"], "firth", profile=False)
    assert tidy["conf_low"].isna().all() and (tidy["conf_method"] == "none").all()
    assert (tidy["note"] == "").all() and np.isfinite(tidy["p_value"]).all()


def test_events_per_variable_uses_rarer_class():
    assert C.events_per_variable(np.r_[np.ones(18), np.zeros(78)], 5) == pytest.approx(3.6)
    assert C.events_per_variable(np.r_[np.ones(80), np.zeros(20)], 4) == pytest.approx(5.0)


@needs_data
def test_group7_mle_matches_r(group7):
    """Group 7: estimates, SEs, z, p and profile intervals vs R (make_confint.R)."""
    ref = pd.read_csv(R / "confint_group7.csv")
    for fs, r in ref.groupby("feature_set", sort=False):
        tidy, g = C.fit_model(C.model_frame(group7, fs), group7.columns(fs), "mle",
                              feature_set=fs)
        assert list(tidy["term"]) == list(r["term"])
        np.testing.assert_allclose(tidy["estimate"], r["estimate"], rtol=1e-7, err_msg=fs)
        np.testing.assert_allclose(tidy["std_error"], r["std_error"], rtol=1e-7, err_msg=fs)
        np.testing.assert_allclose(tidy["p_value"], r["p"], rtol=1e-6, err_msg=fs)
        np.testing.assert_allclose(tidy["conf_low"], r["exact_low"], atol=1e-6, err_msg=fs)
        np.testing.assert_allclose(tidy["conf_high"], r["exact_high"], atol=1e-6, err_msg=fs)
        assert g["aic"] == pytest.approx(r["aic"].iloc[0], rel=1e-9)
        if fs != "mean+sd":
            # MASS's spline interpolation of the profile: within 2.5e-3 of the exact roots
            # on these sets; on the nearly separated mean+sd model (|b| up to 28, 1.8
            # events per variable) MASS's grid fails (NA, bounds off by 8)
            np.testing.assert_allclose(tidy["conf_low"], r["confint_low"], atol=2.5e-3)
            np.testing.assert_allclose(tidy["conf_high"], r["confint_high"], atol=2.5e-3)


@needs_data
def test_group7_tables(group7):
    tidy, glance = C.fit_models(group7, feature_sets=("sd", "border"))
    assert list(tidy.columns) == C.TIDY_COLUMNS and list(glance.columns) == C.GLANCE_COLUMNS
    assert len(glance) == 4 and len(tidy) == 2 * 6 + 2 * 7
    border_mle = tidy.query("feature_set == 'border' and estimator == 'mle'")
    assert border_mle["estimate"].isna().all() and (border_mle["note"] == C.NO_MLE).all()
    # the example: sd of border carries a negative coefficient
    sd_border = tidy.query("feature_set == 'sd' and term == 'sd_border'")
    assert (sd_border["estimate"] < 0).all() and (sd_border["conf_high"] < 0).all()
    g = glance.set_index(["feature_set", "estimator"])
    assert g.loc[("sd", "mle"), "events"] == 18 and g.loc[("sd", "mle"), "n"] == 96
    assert g.loc[("sd", "mle"), "events_per_variable"] == pytest.approx(3.6)


@needs_data
def test_group7_firth_lrt(group7):
    out = C.firth_lrt(group7, "mean", "mean+sd")
    assert out["df"] == 5 and out["converged"]
    assert out["epv_reduced"] == pytest.approx(3.6) and out["epv_full"] == pytest.approx(1.8)
    assert 0 <= out["p"] <= 1
    with pytest.raises(ValueError, match="not nested"):
        C.firth_lrt(group7, "sd", "mean")
    table = C.firth_lrt_table(group7, pairs=(("mean", "mean+sd"), ("sd", "mean+sd")))
    assert list(table.columns) == C.LRT_COLUMNS and len(table) == 2
    assert table["statistic"].iloc[0] == pytest.approx(out["statistic"], rel=1e-9)
    # the nested statistic maximises the same penalised likelihood under constraints:
    # the smaller model's maximum cannot exceed the full model's
    assert (table["loglik_reduced"] <= table["loglik_full"]).all()


@needs_data
def test_group7_firth_mean_sd_bounds_solve_profile_equation(group7):
    """Nearly separated mean+sd model: each Firth bound is a root of the profile equation.

    Its constrained penalised likelihood has two local maxima far out on the intercept's
    profile (found by the two starts); firthmodels' own profile intervals miss it there."""
    frame = C.model_frame(group7, "mean+sd")
    cols = group7.columns("mean+sd")
    tidy, glance = C.fit_model(frame, cols, "firth", feature_set="mean+sd")
    X1 = np.column_stack([np.ones(len(frame)), frame[cols].to_numpy()])
    y = frame["melanoma"].to_numpy(float)
    beta = tidy["estimate"].to_numpy()
    assert np.isfinite(tidy[["conf_low", "conf_high"]].to_numpy()).all()
    for j in (0, 3, 8):
        for b in (tidy["conf_low"].iloc[j], tidy["conf_high"].iloc[j]):
            lls = [C.firth_constrained(X1, y, {j: b}, start=s)[1] for s in (beta, beta * 0)]
            assert 2 * (glance["penalised_loglik"] - max(lls)) == pytest.approx(CRIT, abs=1e-5)


def test_wald_intervals_match_statsmodels():
    """ci="wald": estimate +- z se, as statsmodels' conf_int() (R's confint.default)."""
    import statsmodels.api as sm

    x = _synthetic()
    tidy, _ = C.fit_model(x, ["x1", "x2", "x3"], "mle", ci="wald")
    res = sm.GLM(x["melanoma"], sm.add_constant(x[["x1", "x2", "x3"]]),
                 family=sm.families.Binomial()).fit(tol=1e-12)
    ci = np.asarray(res.conf_int())
    np.testing.assert_allclose(tidy["conf_low"], ci[:, 0], rtol=1e-7)  # IRLS to 1e-12
    np.testing.assert_allclose(tidy["conf_high"], ci[:, 1], rtol=1e-7)
    assert (tidy["conf_method"] == "Wald").all()
    firth, _ = C.fit_model(x, ["x1"], "firth", ci="wald")
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(firth["conf_high"] - firth["estimate"],
                               z * firth["std_error"], rtol=1e-12)


def test_interval_method_rule():
    y = np.r_[np.ones(18), np.zeros(78)]  # group 7's class sizes
    assert C.interval_method(y, 5) == "profile" and C.interval_method(y, 20) == "none"
    big = np.r_[np.ones(C.PROFILE_MAX_EPV * 10), np.zeros(5000)]
    assert C.interval_method(big, 10) == "wald" and C.interval_method(big, 11) == "profile"


def test_profile_and_wald_agree_at_the_epv_threshold():
    """At PROFILE_MAX_EPV events per variable (10 predictors, 500 events) the profile and
    Wald bounds differ by less than 0.05 standard errors for both estimators, so the
    review's switch to Wald intervals there changes no interval materially (on group 7,
    1.8-3.6 events per variable, they differ by 0.3 to 6.6 SE)."""
    rng = np.random.default_rng(3)
    k, events = 10, C.PROFILE_MAX_EPV * 10
    n = int(events / 0.3)
    X = rng.normal(size=(n, k))
    eta = -1.0 + X @ np.linspace(-0.6, 0.6, k)
    y = np.zeros(n)
    y[np.argsort(eta + rng.logistic(size=n))[-events:]] = 1  # exactly `events` positives
    cols = [f"x{i}" for i in range(k)]
    frame = pd.DataFrame(X, columns=cols).assign(melanoma=y)
    assert C.interval_method(y, k) == "wald"
    for est in ("mle", "firth"):
        prof, _ = C.fit_model(frame, cols, est, ci="profile")
        wald, _ = C.fit_model(frame, cols, est, ci="wald")
        for side in ("conf_low", "conf_high"):
            d = np.abs(prof[side] - wald[side]) / prof["std_error"]
            assert d.max() < 0.05, (est, side, d.max())
