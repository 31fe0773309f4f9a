"""Replication beyond group 7: harmonisation, meta-analysis, seeds, annotator subsets.

Hand counts are made here directly from the raw CSV files with the ``csv`` module,
independently of :mod:`analysis.loading.tidy`.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotnine as p9
import pytest
from conftest import mirror, needs_data

from analysis.design import features
from analysis.fitting import models
from analysis.presentation import figures, prose
from analysis.statistics import inference
from analysis.studies import replication as R

pytestmark = needs_data

REPEATS = 2  # small: the tests check wiring and bookkeeping, not precision
PERMS = 19  # per-group permutation test; its calibration is tested in test_review.py
JOINT = 60  # joint bootstrap of the meta-analysis's correlations (validated in
#             tests/test_meta_covariance.py)


def _root() -> Path:
    return mirror() / "0_data"


def _melanoma() -> dict[str, int]:
    with open(_root() / "external/ISIC-2017_Training_Part3_GroundTruth.csv", newline="",
              encoding="utf-8-sig") as fh:
        return {r["image_id"]: int(float(r["melanoma"])) for r in csv.DictReader(fh)}


def _filled(cell: str) -> bool:
    return cell.strip().lower() not in {"", "nan", "na", "n/a"}


def _hand_count_student(rel: str, stems: dict[str, str], raters: dict[str, int]):
    """Images whose every feature has exactly ``raters[f]`` filled cells; melanomas."""
    with open(_root() / rel, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    header = rows[0]
    cols = {f: [i for i, h in enumerate(header) if re.match(pat, h)] for f, pat in stems.items()}
    lab = _melanoma()
    kept = []
    for r in rows[1:]:
        if not r or not r[0].strip() or not any(c.strip() for c in r[1:]):
            continue
        # the one id typo in these files: "ISIC_0010327." (2017-2018 group08, line 79)
        image_id = r[0].strip().rstrip(".")
        n = {f: sum(_filled(r[i]) for i in idx if i < len(r)) for f, idx in cols.items()}
        if all(n[f] == raters[f] for f in stems) and image_id in lab:
            kept.append(image_id)
    return len(kept), sum(lab[i] for i in kept), {f: len(ix) for f, ix in cols.items()}


def _hand_count_mturk():
    lab = _melanoma()
    per = {}
    for f in ("asymmetry", "border", "color"):
        with open(_root() / f"crowd/{f}.csv", newline="", encoding="utf-8-sig") as fh:
            for r in csv.DictReader(fh):
                n = sum(_filled(r[c]) for c in ("i", "ii", "iii"))
                per.setdefault(r["ID"], {})[f] = n
    kept = [i for i, d in per.items() if all(d.get(f) == 3 for f in R.ABC) and i in lab]
    return len(kept), sum(lab[i] for i in kept)


# (cohort, group, file, header patterns of A/B/C, raters per image)
HAND = [
    ("2017-2018", "group01", "student/2017-2018/group01.csv",
     {"asymmetry": r"Asymmetry_", "border": r"Border_", "color": r"Color_"}, 3),
    ("2017-2018", "group07", "student/2017-2018/group07.csv",
     {"asymmetry": r"Asymmetry_", "border": r"Border_", "color": r"Color_"}, 6),
    # rotating design: annotators 1-3 rate one half, 4-6 the other; Border1 is "border"
    ("2017-2018", "group08", "student/2017-2018/group08.csv",
     {"asymmetry": r"Asymmetry_", "border": r"Border1_", "color": r"Color_"}, 3),
    ("2018-2019", "group05", "student/2018-2019/group05.csv",
     {"asymmetry": r"Asymmetrie_", "border": r"Rand_", "color": r"Kleur_"}, 5),
    ("2019-2020", "group07", "student/2019-2020/group07.csv",
     {"asymmetry": r"Symetrie_", "border": r"Border_", "color": r"Color_"}, 4),
]


@pytest.fixture(scope="module")
def eligible(annotations):
    return R.eligible_groups(annotations).set_index(["cohort", "group"])


@pytest.mark.parametrize("cohort, group, rel, stems, raters", HAND,
                         ids=[f"{c}-{g}" for c, g, *_ in HAND])
def test_harmonised_counts_match_raw_files(eligible, annotations, cohort, group, rel, stems,
                                           raters):
    n_images, n_mel, n_cols = _hand_count_student(rel, stems, dict.fromkeys(stems, raters))
    row = eligible.loc[(cohort, group)]
    assert bool(row["eligible"])
    assert (row["n_images"], row["n_melanoma"], row["n_annotators"]) == (n_images, n_mel, raters)
    d = R.group_abc_design(annotations, cohort, group)
    assert (d.n_images, d.n_melanoma) == (n_images, n_mel)
    assert len(d.annotators) == max(n_cols.values())
    # every image is either kept or listed as excluded
    n_all = annotations.tidy.query("cohort == @cohort and group == @group")["image_id"].nunique()
    assert d.n_images + len(d.excluded) == n_all


def test_harmonised_counts_mturk(eligible):
    n_images, n_mel = _hand_count_mturk()
    row = eligible.loc[("mturk", "isic")]
    assert (row["n_images"], row["n_melanoma"], row["n_annotators"]) == (n_images, n_mel, 3)
    assert row["design"] == "positions"


def test_rotating_design_rule(annotations):
    d = R.group_abc_design(annotations, "2017-2018", "group08")
    assert d.design == "rotating"
    for f in R.ABC:
        block = d.z[[c for c in d.z.columns if c.startswith(f"{f}_")]]
        assert (block.notna().sum(axis=1) == 3).all()  # three raters on every image
        rated = block.notna().sum(axis=0)
        assert rated.min() < d.n_images  # each annotator rated only part of the images
        # each annotator column is z-scored over the images it rated
        np.testing.assert_allclose(block.mean(axis=0), 0, atol=1e-12)
        sd = block.std(axis=0, ddof=1)
        assert np.all(np.isclose(sd, 1) | np.isclose(sd, 0))


def test_excluded_groups_are_listed_with_reasons(eligible):
    out = eligible[~eligible["eligible"]]
    assert set(out.index) == {("2017-2018", "group03"), ("2017-2018", "group05")}
    assert "color" in out.loc[("2017-2018", "group03"), "reason"]
    assert "0 melanoma" in out.loc[("2017-2018", "group05"), "reason"]


@pytest.fixture(scope="module")
def rep(annotations):
    return R.replicate(annotations, repeats=REPEATS, n_permutations=PERMS, quiet=True,
                       n_joint_boot=JOINT)


def test_replication_tables_keep_to_the_column_vocabulary(rep):
    from conftest import assert_vocabulary

    # the tables the replicate command writes (analysis.cli)
    tables = rep.tables()
    assert_vocabulary({k: v for k, v in tables.items() if len(v.columns)}, "replicate")


def test_replication_tables(rep, eligible):
    g = rep.groups
    assert len(g) == 2 * int(eligible["eligible"].sum())
    assert set(g["feature_set"]) == {"mean", "sd"}
    assert ((g["conf_low"] <= g["auc"]) & (g["auc"] <= g["conf_high"])).all()
    # folds reduced to the number of melanomas when it is below 10, and flagged
    assert (g["n_splits"] == np.minimum(10, g["n_melanoma"])).all()
    assert (g["reduced_folds"] == (g["n_melanoma"] < 10)).all()
    d = rep.differences.merge(g.pivot_table(index=["cohort", "group"], columns="feature_set",
                                            values="auc").reset_index(), on=["cohort", "group"])
    np.testing.assert_allclose(d["diff"], d["mean"] - d["sd"], atol=1e-12)
    assert list(rep.excluded_groups.columns) == ["cohort", "group", "reason"]


def test_meta_equals_random_effects_meta_on_own_inputs(rep):
    studies = R.meta_studies(rep.groups, rep.differences)
    diff = studies[studies["quantity"] == "auc_mean_minus_sd"].merge(
        rep.differences, on=["cohort", "group"])
    np.testing.assert_allclose(diff["yi"], diff["diff"])
    np.testing.assert_allclose(diff["vi"], diff["std_error"] ** 2)
    sd = studies[studies["quantity"] == "auc_sd_minus_half"].merge(
        rep.groups[rep.groups["feature_set"] == "sd"], on=["cohort", "group"])
    np.testing.assert_allclose(sd["yi"], sd["auc"] - 0.5)
    np.testing.assert_allclose(sd["vi"], sd["std_error"] ** 2)
    student = studies["source"]
    for q in R.QUANTITIES:
        for scope, mask in (("students", student == "student"),
                            ("students_and_mturk", student.notna())):
            s = studies[(studies["quantity"] == q) & mask]
            want = inference.random_effects_meta(s["yi"], s["vi"], method="REML")
            m = rep.meta
            got = m[(m["quantity"] == q) & (m["scope"] == scope) & (m["model"] == "independent")
                    & (m["interval"] == "wald") & (m["scale"] == "identity")].iloc[0]
            assert got["k"] == want["k"] == len(s)
            for a, b in (("estimate", "estimate"), ("std_error", "se"), ("conf_low", "low"),
                         ("conf_high", "high"), ("tau2", "tau2"), ("i2", "i2"), ("q", "q")):
                assert got[a] == pytest.approx(want[b], rel=1e-12, abs=1e-15)
        mt = rep.meta.query("quantity == @q and scope == 'mturk'")
        assert len(mt) == 1
        mt = mt.iloc[0]
        one = studies[(studies["quantity"] == q) & (student == "mturk")].iloc[0]
        assert mt["k"] == 1 and mt["estimate"] == pytest.approx(one["yi"])
    no7 = rep.meta.query("scope == 'students_excl_group07' and primary")
    assert (no7["k"] == rep.meta.query("scope == 'students' and primary")["k"].to_numpy()
            - 1).all()


def test_image_overlap_real_data(annotations):
    # the figures measured in issue 10 (item 4) on every annotated image
    im = R.annotated_images(annotations)
    ov = R.image_overlap(im)
    n_groups = im[["cohort", "group"]].drop_duplicates().shape[0]
    assert len(ov) == n_groups * (n_groups - 1) // 2
    key = im["cohort"] + "/" + im["group"]
    mturk = set(im.loc[key == "mturk/isic", "image_id"])
    students = set(im.loc[key != "mturk/isic", "image_id"])
    assert len(mturk) == 1250 and len(mturk & students) == 1050
    with_mt = ov[ov["group_b"] == "mturk/isic"]
    assert ((with_mt["n_a"] == 100) & (with_mt["n_shared"] == 100)).sum() == 12
    st = ov[(ov["group_a"] != "mturk/isic") & (ov["group_b"] != "mturk/isic")]
    top = st.loc[st["n_shared"].idxmax()]
    assert (top["group_a"], top["group_b"], top["n_shared"]) == (
        "2017-2018/group01", "2019-2020/group01", 87)
    g7 = ov.set_index(["group_a", "group_b"]).loc[("2017-2018/group07", "2019-2020/group08")]
    assert g7["n_shared"] == 64
    # pair counts agree with set intersections done here directly
    sets = {k: set(g["image_id"]) for k, g in im.assign(k=key).groupby("k")}
    for r in ov.sample(25, random_state=1).itertuples(index=False):
        assert r.n_shared == len(sets[r.group_a] & sets[r.group_b])


def test_replication_meta_accounts_for_overlap(rep):
    # the images behind each group's estimates are recorded, and their overlap
    assert set(zip(rep.images["cohort"], rep.images["group"], strict=True)) == set(
        zip(rep.groups["cohort"], rep.groups["group"], strict=True))
    n = rep.images.groupby(["cohort", "group"]).size()
    sd = rep.groups[rep.groups["feature_set"] == "sd"].set_index(["cohort", "group"])
    assert (n.loc[sd.index].to_numpy() == sd["n_images"].to_numpy()).all()
    pd.testing.assert_frame_equal(rep.overlap, R.image_overlap(rep.images))
    assert rep.overlap["n_shared"].max() > 0  # the groups do overlap
    m = rep.meta
    prim = m[m["primary"]]
    assert not prim.duplicated(["quantity", "scope"]).any()
    both = prim[prim["scope"] == "students_and_mturk"]
    assert (both["model"] == "overlap").all() and both["accounts_for_overlap"].all()
    assert (both["correlation"] == "estimated").all() and both["rho"].isna().all()
    studies = R.meta_studies(rep.groups, rep.differences)
    c = rep.correlations
    for q in R.QUANTITIES:
        s = studies[studies["quantity"] == q]
        # V rebuilt from the published pairwise correlations and the groups' own SEs
        est = c[(c["quantity"] == q) & (c["source"] == "estimated")]
        pos = {k: i for i, k in enumerate(s["study"])}
        corr = np.eye(len(s))
        for r in est.itertuples(index=False):
            corr[pos[r.group_a], pos[r.group_b]] = corr[pos[r.group_b], pos[r.group_a]] = (
                r.correlation)
        assert (est.loc[est["n_shared"] == 0, "correlation"] == 0).all()
        assert np.linalg.eigvalsh(corr).min() >= -1e-10
        V = corr * np.sqrt(np.outer(s["vi"], s["vi"]))
        want = inference.random_effects_meta_mv(s["yi"], V, test="adhoc")
        got = both[both["quantity"] == q].iloc[0]
        assert got["estimate"] == pytest.approx(want["estimate"], rel=1e-12)
        assert got["conf_low"] == pytest.approx(want["low"], rel=1e-12)
        assert got["pi_conf_high"] == pytest.approx(want["pi_high"], rel=1e-12)
        dis = prim[(prim["quantity"] == q) & (prim["scope"] == "disjoint")].iloc[0]
        chosen = dis["studies"].split(";")
        pairs = rep.overlap[rep.overlap["group_a"].isin(chosen)
                            & rep.overlap["group_b"].isin(chosen)]
        assert len(chosen) == dis["k"] >= 2 and (pairs["n_shared"] == 0).all()
        others = set(s["study"]) - set(chosen)  # maximal: every other group touches one
        touch = rep.overlap[(rep.overlap["n_shared"] > 0)
                            & (rep.overlap["group_a"].isin(chosen)
                               | rep.overlap["group_b"].isin(chosen))]
        assert others <= set(touch["group_a"]) | set(touch["group_b"])


def test_seeded_replication_is_identical(annotations, rep):
    again = R.replicate(annotations, repeats=REPEATS, n_permutations=PERMS, quiet=True,
                        n_joint_boot=JOINT)
    for a, b in ((rep.groups, again.groups), (rep.differences, again.differences),
                 (rep.meta, again.meta), (rep.folds, again.folds),
                 (rep.correlations, again.correlations), (rep.sensitivity, again.sensitivity)):
        pd.testing.assert_frame_equal(a, b)


@pytest.fixture(scope="module")
def curve7(annotations):
    return R.annotator_curve(annotations, groups=[R.GROUP7], repeats=1, quiet=True)


def test_group7_subsets_are_all_combinations(curve7):
    rows = curve7.rows
    assert set(rows["features"]) == {",".join(features.GROUP7_FEATURES)}
    per_k = rows[rows["feature_set"] == "mean"].groupby("k")["subset"].nunique()
    assert per_k.to_dict() == {k: math.comb(6, k) for k in range(2, 7)}
    s = curve7.summary.query("feature_set == 'sd'").set_index("k")["n_subsets"]
    assert s.to_dict() == {k: math.comb(6, k) for k in range(2, 7)}


def test_seeded_annotator_curve_is_identical_for_any_n_jobs(annotations, curve7):
    # the (group, k) tasks run largest first in workers; rows must not change
    again = R.annotator_curve(annotations, groups=[R.GROUP7], repeats=1, quiet=True, n_jobs=2)
    pd.testing.assert_frame_equal(curve7.rows, again.rows)
    pd.testing.assert_frame_equal(curve7.summary, again.summary)


def test_subset_sample_is_seeded_and_distinct():
    ann = tuple(str(i) for i in range(1, 8))
    a = R.annotator_subsets(ann, 3, max_subsets=30, rng=np.random.default_rng(5))
    b = R.annotator_subsets(ann, 3, max_subsets=30, rng=np.random.default_rng(5))
    assert a == b and len(set(a)) == 30 and a == sorted(a)
    assert len(R.annotator_subsets(ann, 6, max_subsets=30)) == 7  # all, no sampling


def test_skipped_groups_of_annotator_curve(annotations):
    cur = R.annotator_curve(annotations, groups=[("2017-2018", "group08"), ("mturk", "isic"),
                                                 ("2017-2018", "group04")], quiet=True)
    assert cur.rows.empty
    assert set(zip(cur.skipped["cohort"], cur.skipped["group"], strict=True)) == {
        ("2017-2018", "group08"), ("mturk", "isic"), ("2017-2018", "group04")}


def test_group7_design_matches_group_design(annotations):
    mine = R.group_abc_design(annotations, *R.GROUP7)
    ref = features.group_design(annotations.tidy, annotations.labels, features=R.ABC)
    assert list(mine.y.index) == list(ref.y.index)
    pd.testing.assert_frame_equal(mine.moments[mine.columns("mean")],
                                  ref.moments[ref.columns("mean")], check_names=False,
                                  rtol=1e-12, atol=1e-12)
    y = mine.labels
    splits = models.stratified_splits(y, n_splits=10, n_repeats=1)
    a = models.cross_validate(mine.matrix("mean"), y, splits, engine="reference")
    b = models.cross_validate(ref.matrix("mean"), y, splits, engine="reference")
    sa = a.scores.sort_values("row")["score"].to_numpy()
    sb = b.scores.sort_values("row")["score"].to_numpy()
    # the two designs differ in the last bits (1e-12 above); AUCs are ratios of pair
    # counts with ties at inference.TIE_RTOL, so they are equal, not just close
    assert inference.auc(y, sa) == pytest.approx(inference.auc(y, sb), abs=1e-12)
    np.testing.assert_allclose(a.folds["auc"], b.folds["auc"], atol=1e-12)


def test_plots_and_verdicts(rep, curve7):
    assert isinstance(figures.forest_plot(rep, "auc_sd_minus_half"), p9.ggplot)
    assert isinstance(figures.forest_plot(rep, "auc_mean_minus_sd"), p9.ggplot)
    assert isinstance(figures.annotator_plot(curve7), p9.ggplot)
    figures.forest_plot(rep).draw()
    sentences = prose.verdict_sentences(rep, curve7)
    assert all(isinstance(s, str) and s for s in sentences)
    mt = rep.groups.query("source == 'mturk' and feature_set == 'sd'").iloc[0]
    assert any(f"{mt['auc']:.3f}" in s for s in sentences)


def test_group_permutation_p_values_are_recorded_for_sd_only(rep):
    g = rep.groups
    sd = g[g["feature_set"] == "sd"]
    assert (sd["n_permutations"] == PERMS).all()
    assert sd["p_value"].between(1 / (PERMS + 1), 1).all()
    assert g.loc[g["feature_set"] == "mean", "p_value"].isna().all()


def test_overlap_sentence_and_report_tables(annotations, rep):
    from types import SimpleNamespace

    from analysis.presentation import report

    text = prose.overlap_sentence(R.annotated_images(annotations))
    for bit in ("1,250 MTurk images, 1,050 were also rated", "up to 87 images",
                "2017-2018/group01 and 2019-2020/group01", "group 7 shares 64 with 2019-2020/group08"):
        assert bit in text, text
    fake = SimpleNamespace(replication=rep)
    ov = report.overlap_display(fake)
    assert len(ov) == rep.groups.query("source == 'student'")[["cohort", "group"]].drop_duplicates(
        ).shape[0]
    g7 = ov.set_index("group").loc["2017-2018/group07"]
    assert g7["images"] == 96 and g7["shared with MTurk"] <= 96
    md = report.meta_display(fake)
    assert {"modelled", "ignored", "none"} <= set(md["shared images"])
    assert not md.duplicated(["quantity", "scope", "shared images"]).any()


def test_sensitivity_band_and_correlation_tables(rep):
    from types import SimpleNamespace

    from analysis.presentation import report as report_mod

    s = rep.sensitivity
    assert list(s.columns) == R.SENSITIVITY_COLUMNS
    per = s.groupby(["quantity", "scope"]).size()
    assert (per == 2 + len(R.RHO_BAND)).all()  # estimated, the band, the all-image rule
    # rho = 0 is the independence model of meta.csv (same interval)
    m = rep.meta
    for q in R.QUANTITIES:
        r0 = s[(s["quantity"] == q) & (s["scope"] == "students_and_mturk") & (s["rho"] == "0")]
        ind = m[(m["quantity"] == q) & (m["scope"] == "students_and_mturk")
                & (m["model"] == "independent") & (m["interval"] == R.PRIMARY_INTERVAL)
                & (m["scale"] == "identity")]
        assert r0["conf_low"].iloc[0] == pytest.approx(ind["conf_low"].iloc[0], rel=1e-12)
        # the all-image row equals the older rule's model, refitted here
        st = R.meta_studies(rep.groups, rep.differences).query("quantity == @q")
        old = R.pool_studies(st, rep.images)
        old = old[(old["model"] == "overlap") & (old["interval"] == R.PRIMARY_INTERVAL)
                  & (old["scale"] == "identity")].iloc[0]
        alli = s[(s["quantity"] == q) & (s["scope"] == "students_and_mturk")
                 & (s["correlation"] == "all-image overlap")].iloc[0]
        assert alli["estimate"] == pytest.approx(old["estimate"], rel=1e-12)
    # verdicts follow the interval
    sd = s[s["quantity"] == "auc_sd_minus_half"]
    assert ((sd["verdict"] == "better than random") == (sd["conf_low"] > 0)).all()
    md = s[s["quantity"] == "auc_mean_minus_sd"]
    assert ((md["verdict"] == "mean better") == (md["conf_low"] > 0)).all()
    b = R.band_summary(s)
    assert len(b) == len(per) and b["holds"].dtype == bool
    # the per-class counts add up to the shared images of overlap.csv
    c = rep.correlations
    assert list(c.columns) == R.CORRELATION_COLUMNS
    est = c[(c["source"] == "estimated") & (c["quantity"] == "auc_sd_minus_half")]
    chk = est.merge(rep.overlap, on=["group_a", "group_b"], suffixes=("", "_ov"))
    assert len(chk) == len(rep.overlap)
    assert (chk["n_shared"] == chk["n_shared_ov"]).all()
    assert (chk["n_shared_melanoma"] + chk["n_shared_other"] == chk["n_shared"]).all()
    np.testing.assert_allclose(chk["r_all_images"], chk["r"], rtol=1e-12)
    # report tables and sentences build
    fake = SimpleNamespace(replication=rep)
    disp = report_mod.meta_sensitivity_display(fake)
    # each scope's verdict rows sit under that scope's column (aligned by name, not order)
    same = disp[disp["correlations"] == "same verdict at every rho"].set_index("quantity")
    for (q, sc), r in R.band_summary(s).set_index(["quantity", "scope"]).iterrows():
        cell = same.loc[q, report_mod._SCOPE_HEADERS[sc]]
        assert cell.startswith("yes") == bool(r["holds"]), (q, sc, cell)
    cd = report_mod.meta_correlation_display(fake)
    assert len(cd) == int((rep.overlap["n_shared"] > 0).sum())
    text = report_mod.meta_band_sentences(fake)
    assert "2017-2018/group07 and 2019-2020/group06 share 18 images (18 melanomas)" in text
    assert "rho" in text
    sim = report_mod.metacov_check_display(fake)
    assert len(sim) == 6 and "covariance recovered" in sim.columns
