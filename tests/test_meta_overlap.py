"""The meta-analysis of the replication knows which images the groups share
(issue 10, item 4). Synthetic inputs only; the real-data checks are in
tests/test_replication.py."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.statistics import inference
from analysis.studies import replication as R

FIX = Path(__file__).parent / "fixtures" / "r"


def _hand_images() -> pd.DataFrame:
    # a: x1-x4; b: x3-x8 (shares x3, x4 with a); c: y1-y3 (nothing); hub: x1, x8, y1
    sets = {"a": ["x1", "x2", "x3", "x4"], "b": [f"x{i}" for i in range(3, 9)],
            "c": ["y1", "y2", "y3"], "hub": ["x1", "x8", "y1"]}
    return pd.DataFrame([(s, i) for s, ims in sets.items() for i in ims],
                        columns=["study", "image_id"])


def test_image_overlap_hand_case():
    ov = R.image_overlap(_hand_images()).set_index(["group_a", "group_b"])
    assert list(ov.columns) == ["n_a", "n_b", "n_shared", "r"]
    assert len(ov) == 6  # every unordered pair, also those sharing nothing
    want = {("a", "b"): (4, 6, 2), ("a", "c"): (4, 3, 0), ("a", "hub"): (4, 3, 1),
            ("b", "c"): (6, 3, 0), ("b", "hub"): (6, 3, 1), ("c", "hub"): (3, 3, 1)}
    for pair, (na, nb, ns) in want.items():
        row = ov.loc[pair]
        assert (row["n_a"], row["n_b"], row["n_shared"]) == (na, nb, ns)
        assert row["r"] == pytest.approx(ns / np.sqrt(na * nb), rel=1e-15)
    # cohort/group input, duplicates ignored
    im = pd.DataFrame({"cohort": ["c1", "c1", "c1", "m"], "group": ["g1", "g1", "g1", "i"],
                       "image_id": ["p", "p", "q", "q"]})
    ov2 = R.image_overlap(im)
    assert ov2.iloc[0][["group_a", "group_b", "n_a", "n_b", "n_shared"]].tolist() == [
        "c1/g1", "m/i", 2, 1, 1]


def test_overlap_covariance_is_psd_and_scaled():
    im = _hand_images()
    corr = R.overlap_correlation(im, ["a", "b", "c", "hub"])
    assert corr[0, 1] == pytest.approx(2 / np.sqrt(24)) and corr[0, 2] == 0
    se = np.array([0.1, 0.2, 0.05, 0.3])
    V = R.overlap_covariance(se, corr, rho=0.5)
    assert V[0, 1] == pytest.approx(0.5 * 2 / np.sqrt(24) * 0.1 * 0.2)
    np.testing.assert_allclose(np.diag(V), se**2)
    assert np.linalg.eigvalsh(V).min() > -1e-15
    with pytest.raises(ValueError):
        R.overlap_covariance(se, corr, rho=1.5)


def test_disjoint_studies_greedy():
    im = _hand_images()
    # hub touches all three; a and b overlap; c is free: c first, then a (fewer images)
    assert R.disjoint_studies(im, ["a", "b", "c", "hub"]) == ["a", "c"]
    assert R.disjoint_studies(im, ["hub", "b"]) == ["hub"]  # same degree: fewer images


def test_pool_studies_overlap_rows_match_metafor():
    # the image sets of make_meta_overlap.R; R built V from them independently
    x = pd.read_csv(FIX / "meta_input.csv").assign(study=lambda d: d["study"].astype(str))
    img = pd.read_csv(FIX / "meta_overlap_images.csv").astype({"study": str})
    ref = pd.read_csv(FIX / "meta_overlap_output.csv")
    got = R.pool_studies(x, img).set_index(["model", "interval"])
    het = ref[ref["case"] == "heterogeneous"]
    for r in het[het["model"].isin(["independent", "overlap"])].itertuples(index=False):
        row = got.loc[(r.model, {"z": "wald", "knha": "knha"}[r.test])]
        for mine, theirs in (("estimate", "estimate"), ("std_error", "se"), ("conf_low", "ci_lb"),
                             ("conf_high", "ci_ub"), ("pi_conf_low", "pi_lb"),
                             ("pi_conf_high", "pi_ub"),
                             ("tau2", "tau2")):
            # rma.mv's numerical REML optimum: ~1e-7 (test_inference.py)
            assert row[mine] == pytest.approx(getattr(r, theirs), abs=1e-6), (r.model, mine)
        assert bool(row["accounts_for_overlap"]) == (r.model == "overlap")
    # logit scale: AUC = yi + 0.5, delta-method variance, back-transformed limits
    a = pd.read_csv(FIX / "meta_overlap_auc.csv").astype({"study": str})
    st = pd.DataFrame({"study": a["study"], "yi": a["auc"] - 0.5, "vi": a["se"] ** 2})
    lg = R.pool_studies(st, img, logit_offset=0.5)
    lg = lg[lg["scale"] == "logit"].set_index(["model", "interval"])
    for r in ref[ref["case"] == "auc_logit"].itertuples(index=False):
        row = lg.loc[(r.model, {"z": "wald", "knha": "knha"}[r.test])]
        for mine, theirs in (("estimate", "estimate"), ("conf_low", "ci_lb"),
                             ("conf_high", "ci_ub"), ("pi_conf_low", "pi_lb"),
                             ("pi_conf_high", "pi_ub")):
            assert row[mine] + 0.5 == pytest.approx(getattr(r, theirs), abs=1e-6), mine
        assert row["std_error"] == pytest.approx(r.se, abs=1e-6)


def _synthetic_replication():
    """Three student groups and a crowd whose images overlap, as replicate() tables."""
    keys = [("2017-2018", "group01", "student"), ("2017-2018", "group07", "student"),
            ("2019-2020", "group08", "student"), ("2018-2019", "group02", "student"),
            ("mturk", "isic", "mturk")]
    ims = {"2017-2018/group01": range(0, 100), "2017-2018/group07": range(50, 146),
           "2019-2020/group08": range(80, 180), "2018-2019/group02": range(500, 600),
           "mturk/isic": range(0, 400)}
    auc_sd = [0.62, 0.78, 0.70, 0.55, 0.66]
    se_sd = [0.06, 0.05, 0.055, 0.07, 0.02]
    diff = [0.20, 0.05, 0.12, 0.30, 0.15]
    se_d = [0.05, 0.04, 0.06, 0.07, 0.02]
    groups, diffs, images = [], [], []
    for (c, g, src), a, s, dd, sd in zip(keys, auc_sd, se_sd, diff, se_d, strict=True):
        base = {"cohort": c, "group": g, "source": src}
        groups.append({**base, "feature_set": "mean", "auc": a + dd, "std_error": s})
        groups.append({**base, "feature_set": "sd", "auc": a, "std_error": s})
        diffs.append({**base, "diff": dd, "std_error": sd})
        images += [(c, g, f"ISIC_{i:07d}") for i in ims[f"{c}/{g}"]]
    return (pd.DataFrame(groups), pd.DataFrame(diffs),
            pd.DataFrame(images, columns=["cohort", "group", "image_id"]))


def test_meta_analyse_uses_the_overlap_covariance():
    groups, diffs, images = _synthetic_replication()
    meta = R.meta_analyse(groups, diffs, images=images)
    assert list(meta.columns) == R.META_COLUMNS
    # one primary row per (quantity, scope), used by verdicts and the forest plot
    prim = meta[meta["primary"]]
    assert not prim.duplicated(["quantity", "scope"]).any()
    assert set(prim["scope"]) == set(R.SCOPES) | {"disjoint"}
    studies = R.meta_studies(groups, diffs)
    for q in R.QUANTITIES:
        s = studies[studies["quantity"] == q]
        corr = R.overlap_correlation(images, list(s["study"]))
        # by hand: group01 (0-99) and group07 (50-145) share 50 images
        i, j = list(s["study"]).index("2017-2018/group01"), list(s["study"]).index(
            "2017-2018/group07")
        assert corr[i, j] == pytest.approx(50 / np.sqrt(100 * 96))
        V = corr * np.sqrt(np.outer(s["vi"], s["vi"]))
        want = inference.random_effects_meta_mv(s["yi"], V, test="adhoc")
        got = prim[(prim["quantity"] == q) & (prim["scope"] == "students_and_mturk")].iloc[0]
        assert got["model"] == "overlap" and bool(got["accounts_for_overlap"])
        assert got["interval"] == R.PRIMARY_INTERVAL == "knha_adhoc"
        assert got["correlation"] == "all-image overlap" and got["rho"] == 1
        for a, b in (("estimate", "estimate"), ("std_error", "se"), ("conf_low", "low"),
                     ("conf_high", "high"), ("pi_conf_low", "pi_low"), ("pi_conf_high", "pi_high"),
                     ("tau2", "tau2"), ("hk_scale", "hksj_scale")):
            assert got[a] == pytest.approx(want[b], rel=1e-12, abs=1e-15), a
        # the unmodified Hartung-Knapp row is kept beside it
        plain = meta[(meta["quantity"] == q) & (meta["scope"] == "students_and_mturk")
                     & (meta["model"] == "overlap") & (meta["interval"] == "knha")
                     & (meta["scale"] == "identity")].iloc[0]
        hk = inference.random_effects_meta_mv(s["yi"], V, test="knha")
        assert plain["conf_low"] == pytest.approx(hk["low"], rel=1e-12)
        assert (plain["conf_high"] - plain["conf_low"]
                <= got["conf_high"] - got["conf_low"] + 1e-15)
        ind = meta[(meta["quantity"] == q) & (meta["scope"] == "students_and_mturk")
                   & (meta["model"] == "independent") & (meta["interval"] == "knha")
                   & (meta["scale"] == "identity")].iloc[0]
        assert not ind["accounts_for_overlap"]
        assert abs(ind["std_error"] - got["std_error"]) > 1e-4  # the covariance changes the answer
    # the disjoint set by hand: 2018-2019 group02 shares nothing (degree 0); group01,
    # group07, group08 and MTurk each overlap 3 others, group07 has fewest images (96)
    # and is taken; group01, group08 and MTurk all share images with it
    dis = prim[prim["scope"] == "disjoint"]
    assert set(dis["studies"]) == {"2017-2018/group07;2018-2019/group02"}
    assert (dis["model"] == "independent").all() and dis["accounts_for_overlap"].all()
    for a, b in itertools.combinations(dis["studies"].iloc[0].split(";"), 2):
        sa = set(images.loc[images["cohort"] + "/" + images["group"] == a, "image_id"])
        sb = set(images.loc[images["cohort"] + "/" + images["group"] == b, "image_id"])
        assert not sa & sb
    # logit-AUC sensitivity rows for the sd AUC only
    assert set(meta.loc[meta["scale"] == "logit", "quantity"]) == {"auc_sd_minus_half"}


def test_meta_analyse_docstring_no_longer_claims_disjoint_images():
    doc = R.meta_analyse.__doc__
    assert "share no images with MTurk" not in doc
    assert "1,050" in doc and "87" in doc


def test_auc_correlation_over_shared_images_matches_the_approximation():
    # Monte Carlo: two groups score 100 images each, 50 of them the same images with
    # the same scores (rho = 1); the correlation of their AUCs is ~ 50 / sqrt(100 * 100).
    from scipy.stats import rankdata

    rng = np.random.default_rng(2018)
    n_rep, n = 4000, 150
    y = (np.arange(n) % 5 == 0).astype(int)  # 20% positives, alike in shared and not
    s = rng.normal(size=(n_rep, n)) + 0.8 * y

    def aucs(idx):
        yy = y[idx]
        r = rankdata(s[:, idx], axis=1)
        m = yy.sum()
        return (r[:, yy == 1].sum(axis=1) - m * (m + 1) / 2) / (m * (len(idx) - m))

    a, b = aucs(np.arange(0, 100)), aucs(np.arange(50, 150))
    corr = np.corrcoef(a, b)[0, 1]
    im = pd.DataFrame([("a", i) for i in range(100)] + [("b", i) for i in range(50, 150)],
                      columns=["study", "image_id"])
    want = R.overlap_correlation(im, ["a", "b"])[0, 1]
    assert want == pytest.approx(0.5)
    # Monte Carlo SE of a correlation near 0.5 with 4000 draws: (1 - r^2)/sqrt(n) ~ 0.012
    assert abs(corr - want) < 0.05  # seen: 0.488


def test_overlap_model_covers_and_the_independence_model_does_not():
    # ten studies with heavily overlapping image sets (r between neighbours 0.7),
    # true effect 0, tau = 0.03; 400 simulated meta-analyses
    rng = np.random.default_rng(2018)
    k = 10
    im = pd.DataFrame([(str(i), j) for i in range(k) for j in range(30 * i, 30 * i + 100)],
                      columns=["study", "image_id"])
    corr = R.overlap_correlation(im, [str(i) for i in range(k)])
    se = np.linspace(0.03, 0.06, k)
    V = R.overlap_covariance(se, corr)
    chol = np.linalg.cholesky(V + 0.03**2 * np.eye(k))
    reps = 400
    hit = {"overlap": 0, "independent": 0}
    for _ in range(reps):
        y = chol @ rng.normal(size=k)
        for name, VV in (("overlap", V), ("independent", se**2)):
            r = inference.random_effects_meta_mv(y, VV, test="knha")
            hit[name] += r["low"] <= 0 <= r["high"]
    cover = {key: v / reps for key, v in hit.items()}
    # binomial SE at 0.95 with 400 draws ~ 0.011; seen with these 400 draws: 0.985 and
    # 0.79 (1000 draws: 0.966 and 0.747); HKSJ is somewhat conservative at k = 10
    assert 0.92 <= cover["overlap"] <= 0.995, cover
    assert cover["independent"] < 0.85, cover
