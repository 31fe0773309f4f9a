"""What the report shows: its data computed once, and its displays per section.

``report.qmd`` builds one :class:`ReportData` (the results of every study, cached by
:mod:`analysis.presentation.cache`) and one :class:`Section` per part of the report
(:func:`present_data`, :func:`present_experiments`, :func:`present_review`,
:func:`present_replication`, :func:`present_multiverse`, :func:`present_simulation`,
:func:`present_details`); its cells only display them. Every table, sentence and
number of a section is a plain function of the :class:`ReportData` (``meta_display(rd)``),
so that tests reach each one; the studies' sentences come from :mod:`analysis.presentation.prose`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import Markdown

from ..base import budgets
from ..fitting import models
from ..loading import data
from ..statistics import cvinference
from ..studies import multiverse as mv
from ..studies import replication, reproduce, review
from ..studies import simulate as sim
from . import claims, figures, present, prose

__all__ = [
    "QUICK_ENV", "REPEATS_ENV", "ReportData", "SEED_STABILITY", "Section", "c4_power_display",
    "c4_power_sentence", "c5_interval_sentence", "c5_seed_display", "c5_seed_sentence",
    "calibration_display", "calibration_figure", "ci_text", "claims_display",
    "coefficients_display", "comparison_display", "comparison_sentence", "corrections_summary",
    "coverage_display", "coverage_sentence", "draft_banner", "estimator_sentence",
    "evidence_markdown", "excluded_groups_sentence", "fmt_p", "hashes", "md_table",
    "meta_band_sentences", "meta_correlation_display", "meta_display",
    "meta_sensitivity_display", "metacov_check_display", "models_display",
    "moment_tests_display", "moment_tests_summary", "mv_choices", "mv_n_paths", "mv_supported",
    "mv_survival", "mv_verdicts", "n_cells", "n_degenerate", "n_imputed_images",
    "n_joint_boot", "n_mturk_images", "n_not_ok", "n_student_files", "n_student_groups_tested",
    "oof_calibration_display", "overlap_display", "overlap_sentence", "parts_display", "pct",
    "power_display", "power_sentence", "present_data", "present_details",
    "present_experiments", "present_multiverse", "present_replication", "present_review",
    "present_simulation", "quick_mode", "replication_display", "replication_sentences",
    "replication_summary", "rules_sentences", "separation_sentence", "sim_params_display",
    "strong_display", "strong_sentence", "tests_display", "timings_table", "trend_display",
    "versions",
    "FORMER_MARGIN", "METACOV_CHECK", "metacov_check_facts", "metacov_check_sentence",
]


#: Environment variable that sets the number of CV repeats of a render.
REPEATS_ENV = "CROWD_DISAGREEMENT_REPEATS"
#: Environment variable for a quick draft render: every resampling count is small
#: (the ``*_DRAFT`` presets of :mod:`analysis.base.budgets`; the numbers are then rough; the
#: report says so at the top).
QUICK_ENV = "CROWD_DISAGREEMENT_QUICK"


def quick_mode() -> bool:
    """Whether ``CROWD_DISAGREEMENT_QUICK`` asks for a draft render."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def pct(x: float, digits: int = 0) -> str:
    """Format a share as a percentage."""
    return f"{100 * x:.{digits}f}%"


def fmt_p(p: float) -> str:
    """A p-value for a table: "< 0.0001" below 1e-4 (:func:`analysis.presentation.present.format_p`)."""
    if p is None or not np.isfinite(p):
        return ""
    return present.format_p(p)


def md_table(frame: pd.DataFrame, floatfmt: str | None = None, **kwargs) -> Markdown:
    """A DataFrame as the report's Markdown table: :func:`analysis.presentation.present.table`.

    Kept for callers of the old name; ``floatfmt`` (e.g. ``".1f"``) sets the decimals
    of every float column, other keywords go to :func:`analysis.presentation.present.table`.
    """
    if floatfmt is not None:
        kwargs.setdefault("decimals", int(floatfmt.strip(".f")))
    return present.table(frame, **kwargs)


@dataclass
class ReportData:
    """The results of every study the report shows (the data and the cache): display
    them with the section functions below (:func:`present_review` and so on)."""

    annotations: object
    design: object
    exp: reproduce.Experiments
    summary: pd.DataFrame
    comparison: pd.DataFrame
    table1: pd.DataFrame
    review: review.Review
    replication: replication.ReplicationResult
    curve: replication.AnnotatorResult
    multiverse: mv.MultiverseResult
    sim_params: sim.SimParams
    calibration: object
    power: object
    #: seconds per section of :meth:`compute` (data, experiments, review, replication,
    #: annotators, multiverse, simulation), as measured when it ran
    timings: dict = field(default_factory=dict)

    @classmethod
    def build(cls, *, repeats: int | None = None, seed: int = models.DEFAULT_SEED,
              n_jobs: int = -1) -> ReportData:
        """Compute everything the report shows, or load it from the cache.

        ``repeats`` defaults to ``CROWD_DISAGREEMENT_REPEATS`` when set, else
        :data:`analysis.studies.reproduce.DEFAULT_REPEATS`. With ``CROWD_DISAGREEMENT_QUICK=1``
        every resampling count is small (the ``*_DRAFT`` budgets): a draft. The result is cached
        (:mod:`analysis.presentation.cache`) under the settings, the data hashes and the source of
        the package, so a second render recomputes nothing unless one of them changed;
        ``n_jobs`` is not part of the key because results do not depend on it.
        """
        from . import cache

        key = cls.settings(repeats=repeats, seed=seed)
        return cache.cached("report_data", key, lambda: cls.compute(n_jobs=n_jobs, **key))

    @staticmethod
    def settings(*, repeats: int | None = None, seed: int = models.DEFAULT_SEED) -> dict:
        """The settings a build uses: ``repeats`` (default ``CROWD_DISAGREEMENT_REPEATS``
        or :data:`analysis.studies.reproduce.DEFAULT_REPEATS`), ``seed`` and ``quick``
        (``CROWD_DISAGREEMENT_QUICK``); with the data and the package source they key the
        cache (and :func:`analysis.presentation.render.render_key`)."""
        quick = quick_mode()
        if repeats is None:
            default = (budgets.REVIEW_DRAFT if quick else budgets.REVIEW).repeats
            repeats = int(os.environ.get(REPEATS_ENV, default))
        return {"repeats": repeats, "seed": seed, "quick": quick}

    @classmethod
    def compute(cls, *, repeats: int, seed: int, n_jobs: int, quick: bool) -> ReportData:
        """Compute everything the report shows (no cache)."""
        rb = budgets.REVIEW_DRAFT if quick else budgets.REVIEW
        timings: dict[str, float] = {}
        clock = [time.perf_counter()]

        def lap(section: str) -> None:
            now = time.perf_counter()
            timings[section] = now - clock[0]
            clock[0] = now

        ann = reproduce.load_annotations()
        design = reproduce.load_group(annotations=ann)
        lap("data")
        exp = reproduce.run_experiments(design, repeats=repeats, seed=seed, n_jobs=n_jobs,
                                        experiments=(1, 2, 3), quiet=True)
        summary = reproduce.summarise(exp)
        comparison = reproduce.compare_with_paper(summary, "mle")
        table1 = figures.table1(ann.summary())
        lap("experiments")
        rv = review.review(design, exp=exp, seed=seed, n_boot=rb.n_boot,
                           n_permutations=rb.n_permutations, perm_repeats=rb.perm_repeats,
                           n_seeds=rb.n_seeds, calibration_boot=rb.calibration_boot,
                           perm_extension=rb.perm_extension,
                           n_jobs=n_jobs, quiet=True)
        lap("review")
        pb = budgets.REPLICATION_DRAFT if quick else budgets.REPLICATION
        rep = replication.replicate(ann, seed=seed, n_jobs=n_jobs, quiet=True, repeats=pb.repeats,
                                    n_permutations=pb.n_permutations,
                                    perm_repeats=pb.perm_repeats, n_boot=pb.n_boot,
                                    n_joint_boot=pb.n_joint_boot)
        lap("replication")
        cb = budgets.CURVE_DRAFT if quick else budgets.CURVE
        curve = replication.annotator_curve(ann, seed=seed, n_jobs=n_jobs, quiet=True,
                                            repeats=cb.repeats, max_subsets=cb.max_subsets,
                                            trend_boot=cb.trend_boot)
        lap("annotators")
        mb = budgets.MULTIVERSE_DRAFT if quick else budgets.MULTIVERSE
        # a draft runs a small grid: the paper's path and its neighbours with 10 folds
        paths = mv.grid(cv=("10-fold",), estimator=("mle", "firth")) if quick else None
        mvres = mv.multiverse(ann.tidy, ann.labels, paths=paths, n_permutations=mb.n_permutations,
                              n_boot=mb.n_boot, seed=seed, n_jobs=n_jobs, quiet=True)
        lap("multiverse")
        # the model fitted to group 7, calibrated to its observed sd cvAUC (issue 10)
        sb = budgets.SIMULATION_DRAFT if quick else budgets.SIMULATION
        params = sim.calibrate_to_group(design, seed=seed, n_jobs=n_jobs,
                                        n_studies=sb.calibration_studies)
        # and a strong-signal scenario matched to the mean features too (issue 20, item 5)
        strong, strong_info = sim.calibrate_mean(design, params, seed=seed, n_jobs=n_jobs,
                                                 n_studies=sb.calibration_studies)
        cal = sim.calibration(params, design=design, seed=seed, n_jobs=n_jobs, quiet=True,
                              n_datasets=sb.calibration_datasets,
                              n_permutations=sb.n_permutations, strong=strong,
                              strong_info=strong_info)
        pw = sim.power(params, seed=seed, n_jobs=n_jobs, quiet=True, n_datasets=sb.n_datasets,
                       n_permutations=sb.n_permutations,
                       **({"n_images": (50, 100), "n_annotators": (3, 6)} if quick else {}))
        lap("simulation")
        return cls(ann, design, exp, summary, comparison, table1, rv, rep, curve, mvres, params,
                   cal, pw, timings)

    def perm(self, feature_set: str, estimator: str = "mle") -> pd.Series:
        s = self.review.permutation.summary
        return s[(s["feature_set"] == feature_set) & (s["estimator"] == estimator)].iloc[0]

    def cv(self, feature_set: str, estimator: str = "mle") -> pd.Series:
        a = self.review.auc_ci
        return a[(a["feature_set"] == feature_set) & (a["estimator"] == estimator)].iloc[0]

    def cal(self, model: str, column: str) -> float:
        return float(self.calibration.summary.set_index("model").loc[model, column])


def draft_banner(rd: ReportData) -> str:
    if not quick_mode():
        return ""
    return present.notice(
        f"{QUICK_ENV} is set: resampling counts are small ({rd.exp.repeats} CV "
        f"repeats, {rd.review.settings['n_boot']} bootstrap replicates, "
        f"{rd.review.settings['n_permutations']} permutations); numbers are rough.")


# --- the data (section Data) ------------------------------------------------------

def n_student_files(rd: ReportData) -> int:
    return int(rd.annotations.tidy.loc[
        rd.annotations.tidy["cohort"] != "mturk", "source_file"].nunique())


def n_cells(rd: ReportData) -> int:
    return int(len(rd.annotations.tidy))


def n_not_ok(rd: ReportData) -> int:
    return int((rd.annotations.tidy["status"] != "ok").sum())


def n_degenerate(rd: ReportData) -> int:
    return int(rd.design.degenerate["n_images_all_equal"].sum())


def corrections_summary(rd: ReportData) -> pd.DataFrame:
    """Corrections of the raw files by kind: how many, in which files, and why
    (the first reason given for that kind)."""
    c = rd.annotations.corrections
    g = c.groupby("kind", sort=False)
    return pd.DataFrame({
        "kind": list(g.groups),
        "corrections": g.size().to_numpy(),
        "files": [", ".join(sorted(set(f))) for _, f in g["file"]],
        "reason (first of its kind)": g["reason"].first().to_numpy(),
    })


# --- the paper's experiments ------------------------------------------------------

def separation_sentence(rd: ReportData) -> str:
    f = rd.exp.folds
    mle = f[(f["estimator"] == "mle") & (f["experiment"] <= 2)]  # the paper's 17 sets
    canon = mle[mle["repeat"] == 0]
    by_set = canon.groupby("feature_set", sort=False)["separated"].sum()
    heavy = by_set[by_set > 0]
    return (
        f"over all repeats, {int(mle['separated'].sum()):,} of {len(mle):,} training folds "
        f"({pct(mle['separated'].mean())}) are separated; in the canonical split, "
        f"{len(heavy)} of {len(by_set)} feature sets have at least one separated fold "
        f"({', '.join(f'`{k}` {v}/10' for k, v in heavy.items())})."
    )


def comparison_display(rd: ReportData) -> pd.DataFrame:
    c = rd.comparison.copy()
    c["paper"] = [
        f"{a:.2f}" if pd.notna(a) else f"{lo:.2f}-{hi:.2f}"
        for a, lo, hi in zip(c["paper_auc"], c["paper_low"], c["paper_high"], strict=True)
    ]
    c["band"] = [f"{lo:.3f}-{hi:.3f}" for lo, hi in zip(c["band_low"], c["band_high"], strict=True)]
    c["inside"] = c["within_band"].map({True: "yes", False: "no"})
    return c[["feature_set", "paper", "mean_auc", "band", "inside"]].rename(
        columns={"feature_set": "feature set", "mean_auc": "ours (canonical split)",
                 "band": "ours: 2.5-97.5% over repeats"})


def comparison_sentence(rd: ReportData) -> str:
    c = rd.comparison
    inside = c[c["within_band"]]["feature_set"].tolist()
    outside = c[~c["within_band"]]
    parts = [f"{len(inside)} of {len(c)} reported numbers lie inside our band of "
             f"repeat-to-repeat variation"]
    if len(outside):
        desc = ", ".join(
            f"{r.feature_set} (paper {r.paper_auc:.2f}, ours {r.band_low:.2f}-{r.band_high:.2f})"
            if pd.notna(r.paper_auc) else
            f"{r.feature_set} (paper {r.paper_low:.2f}-{r.paper_high:.2f}, ours {r.band_low:.2f}-{r.band_high:.2f})"
            for r in outside.itertuples())
        parts.append(f"the others are {desc}")
    return "; ".join(parts) + "."


# --- the statistical review -------------------------------------------------------

def claims_display(rd: ReportData) -> pd.DataFrame:
    """The claims table as a reader scans it: id, claim (with the paper's number),
    our estimate with its interval, verdict; the test and evidence are listed
    below it (:func:`evidence_markdown`)."""
    c = claims.claims_table(rd.review)
    return pd.DataFrame({"id": c["claim"], "claim": c["statement"],
                         "ours (maximum likelihood, 95% CI)": c["ours"],
                         "parts supported": [f"{a} of {n}" for a, n in
                                             zip(c["parts_supported"], c["n_parts"],
                                                 strict=True)],
                         "verdict": c["verdict"]})


def parts_display(rd: ReportData) -> pd.DataFrame:
    """The atomic parts: estimate and interval (plain ML), p-value, verdicts."""
    p = claims.parts_table(rd.review)

    return pd.DataFrame({
        "part": p["part"], "statement": p["statement"],
        "estimate (95% CI)": [present.interval_text(r.estimate, r.conf_low, r.conf_high,
                                                    signed=r.quantity.startswith("diff"))
                              for r in p.itertuples()],
        "p": [fmt_p(v) for v in p["p_value"]],
        "plain ML": p["verdict_mle"], "Firth": p["verdict_firth"], "verdict": p["verdict"]})


#: The non-inferiority margin of an earlier version of the review, whose power the text
#: compares with the present margin's.
FORMER_MARGIN = 0.02


def rules_sentences(rd: ReportData) -> str:
    """How C3, C4 and C6 read under the rules: C3 at the paper's level beside 0.80,
    the non-inferiority parts' power at the margin, and C6's matched reference."""
    rv = rd.review
    p = review.part_verdicts(rv).set_index("part")
    out = []
    c3 = p[p["kind"] == "good_auc"]
    if len(c3):
        n90 = int((c3["paper_level_verdict"] == "supported").sum())
        n80 = int((c3["verdict"] == "supported").sum())
        out.append(
            f"C3 asks whether every annotator predicts well. We take {review.GOOD_AUC:.2f}, the "
            f"lower end of \"excellent\" discrimination [@hosmer2013applied], as predicting "
            f"well: {n80} of {len(c3)} annotators' intervals lie above it under both "
            f"estimators. At the paper's own level, {review.PAPER_GOOD_AUC:.2f} (its "
            f"annotators reached 0.90-0.98), {n90} of {len(c3)} do; each part's evidence "
            f"gives its verdict at {review.PAPER_GOOD_AUC:.2f}.")
    ni = p[p["kind"] == "noninferior"]
    if len(ni):
        m = rv.settings.get("margin")
        pw = ni["power"].dropna()
        und = int((pw < review.UNDECIDABLE_POWER).sum())
        cmp_ = rv.comparisons
        se = cmp_.loc[cmp_["part"].isin(ni.index) & (cmp_["estimator"] == "mle"),
                       "std_error"]
        old = [cvinference.noninferiority_power(v, FORMER_MARGIN) for v in se]
        out.append(
            f"C4's non-inferiority parts ask whether adding a disagreement moment to the mean "
            f"improves the cvAUC by less than {m:g}. Their power, the chance that the upper "
            f"limit falls below the margin when adding disagreement changes nothing "
            f"(from each part's own bootstrap-CV standard error, {se.min():.3f}-{se.max():.3f}), is "
            f"{100 * pw.min():.0f}-{100 * pw.max():.0f}%: {und} of {len(ni)} parts cannot be "
            f"decided at n = {len(rv.design.labels)}, and their \"not shown\" says so in "
            f"the evidence. The former margin of {FORMER_MARGIN:g}, which had no stated reason, gave "
            f"{100 * min(old):.0f}-{100 * max(old):.0f}%.")
    fv = rv.fold_variability
    fv = fv[(fv["comparison"] == "") & (fv["estimator"] == "mle")
            & fv["feature_set"].isin(["sd", "skewness"])].set_index("feature_set")
    if len(fv) and "reference_repeats" in fv:
        r = int(fv["reference_repeats"].max())
        ps = ", ".join(f"{fs} {fv.loc[fs, 'sd_p_value']:.2f}" for fs in fv.index)
        out.append(
            f"C6's reference simulates the statistic as computed: {r} fold assignments of "
            f"each simulated data set, averaged (one assignment gave a wider reference). "
            f"The p-values of \"fold AUCs vary more than sampling gives\" are {ps}; a part "
            f"would be refuted only by the lower tail of the same reference, significant "
            f"at 5%.")
    return "\n\n".join(out)


def coefficients_display(rd: ReportData, feature_set: str = "mean+sd") -> pd.DataFrame:
    """The terms of one fitted model under both estimators: odds ratio per SD with its
    profile 95% interval and p-value; where the MLE does not exist, the note."""
    t = rd.review.coefficients
    t = t[t["feature_set"] == feature_set]

    def orci(r):
        if r.note:
            return r.note
        lo = f"{r.odds_ratio_conf_low:.3g}" if np.isfinite(r.odds_ratio_conf_low) else "?"
        hi = f"{r.odds_ratio_conf_high:.3g}" if np.isfinite(r.odds_ratio_conf_high) else "?"
        return f"{r.odds_ratio:.3g} [{lo}, {hi}]"

    est = {"mle": "plain ML", "firth": "Firth"}
    wide = {}
    for e, g in t.groupby("estimator", sort=False):
        g = g.set_index("term")
        wide[f"{est.get(e, e)}: odds ratio (95% CI)"] = [orci(r) for r in g.itertuples()]
        wide[f"{est.get(e, e)}: p"] = [fmt_p(v) for v in g["p_value"]]
        terms = list(g.index)
    return pd.DataFrame({"term": [figures.term_label(x) for x in terms], **wide})


def models_display(rd: ReportData) -> pd.DataFrame:
    """One row per fitted model: size, events per variable, fit, separation."""
    g = rd.review.model_fit
    return pd.DataFrame({
        "feature set": g["feature_set"], "estimator": g["estimator"],
        "events per variable": [f"{v:.1f}" for v in g["events_per_variable"]],
        "log-likelihood": [f"{v:.2f}" if np.isfinite(v) else "" for v in g["loglik"]],
        "AIC": [f"{v:.1f}" if np.isfinite(v) else "" for v in g["aic"]],
        "deviance": [f"{v:.2f}" if np.isfinite(v) else "" for v in g["deviance"]],
        "separated": ["yes" if v else "no" for v in g["separated"]],
        "note": g["note"].fillna("")})


def oof_calibration_display(rd: ReportData) -> pd.DataFrame:
    c = rd.review.calibration
    wide = c.pivot_table(index=["feature_set", "estimator"], columns="statistic",
                         values=["estimate", "conf_low", "conf_high"], aggfunc="first")
    rows = []
    for (fs, est), r in wide.iterrows():
        cell = {st: f"{r[('estimate', st)]:.3f} [{r[('conf_low', st)]:.3f}, "
                    f"{r[('conf_high', st)]:.3f}]" for st in ("brier", "intercept", "slope")}
        clipped = c[(c["feature_set"] == fs) & (c["estimator"] == est)]["n_clipped"].max()
        rows.append({"feature set": fs, "estimator": est, "Brier score": cell["brier"],
                     "calibration intercept": cell["intercept"],
                     "calibration slope": cell["slope"],
                     "probabilities of 0 or 1": int(clipped)})
    return pd.DataFrame(rows)


def calibration_figure(rd: ReportData):
    from ..statistics import calibration

    bins, curve = calibration.calibration_plot_data(
        review.oof_probabilities(rd.exp), ["feature_set", "estimator"])
    return figures.calibration_plot(bins, curve)


def evidence_markdown(rd: ReportData) -> str:
    rows = []
    for r in claims.claims_table(rd.review).itertuples():
        paper = f" Paper: {r.paper}." if getattr(r, "paper", "") else ""
        rows.append(f"- **{r.claim} ({r.verdict})**:{paper} {r.evidence}")
    return "\n".join(rows)


def tests_display(rd: ReportData) -> pd.DataFrame:
    t = claims.tests_table(rd.review)
    return pd.DataFrame({"family": t["family"], "hypothesis": t["hypothesis"],
                         "test": t["test"], "estimator": t["estimator"],
                         "p": [fmt_p(v) for v in t["p_value"]], "adjustment": t["adjustment"],
                         "adjusted p": [fmt_p(v) for v in t["adjusted_p_value"]]})


def moment_tests_display(rd: ReportData) -> pd.DataFrame:
    m = rd.review.moment_tests.copy()
    m["AUC (95% CI)"] = [f"{a:.2f} [{lo:.2f}, {hi:.2f}]" for a, lo, hi in
                         zip(m["auc"], m["conf_low"], m["conf_high"], strict=True)]
    return m[["feature", "moment", "AUC (95% CI)", "u", "p_value", "holm_p_value", "bh_p_value",
              "rank_biserial", "cles", "direction"]]


def moment_tests_summary(rd: ReportData) -> pd.DataFrame:
    """The sd (disagreement) rows of :func:`moment_tests_display`, the tests of
    claim C7; all 20 tests are in the appendix."""
    m = moment_tests_display(rd)
    return m[m["moment"] == "sd"].drop(columns="moment").reset_index(drop=True)


def ci_text(rd: ReportData, feature_set: str, estimator: str = "mle") -> str:
    r = rd.cv(feature_set, estimator)
    return (f"{r['cv_auc']:.3f} (bootstrap-CV 95% CI {r['conf_low']:.3f} to "
            f"{r['conf_high']:.3f}; canonical split {r['fold_mean_auc']:.3f})")


def estimator_sentence(rd: ReportData) -> str:
    """Which parts' verdicts depend on the estimator (:func:`prose.estimator_sentence`)."""
    return prose.estimator_sentence(review.part_verdicts(rd.review))


# --- the replication and the number of annotators ---------------------------------

def n_mturk_images(rd: ReportData) -> int:
    g = rd.replication.groups
    return int(g.loc[g["source"] == "mturk", "n_images"].iloc[0])


def replication_display(rd: ReportData) -> pd.DataFrame:
    g = rd.replication.groups
    mean = g[g["feature_set"] == "mean"].set_index(["cohort", "group"])
    sd = g[g["feature_set"] == "sd"].set_index(["cohort", "group"])
    d = rd.replication.differences.set_index(["cohort", "group"])
    out = pd.DataFrame({
        "images (melanoma)": [f"{r.n_images} ({r.n_melanoma})" for r in mean.itertuples()],
        "annotators": mean["n_annotators"].to_numpy(),
        "mean AUC (95% CI)": [f"{r.auc:.2f} [{r.conf_low:.2f}, {r.conf_high:.2f}]"
                              for r in mean.itertuples()],
        "sd AUC (95% CI)": [f"{r.auc:.2f} [{r.conf_low:.2f}, {r.conf_high:.2f}]"
                            for r in sd.itertuples()],
        "sd permutation p": sd["p_value"].to_numpy(),
        "mean - sd (95% CI)": [f"{r.diff:+.2f} [{r.conf_low:+.2f}, {r.conf_high:+.2f}]"
                               for r in d.loc[mean.index].itertuples()],
    }, index=mean.index).reset_index()
    return out


def meta_display(rd: ReportData) -> pd.DataFrame:
    """Modified Hartung-Knapp rows on the AUC scale: overlap model and independence model
    side by side, the disjoint-groups scope and MTurk (one study)."""
    m = rd.replication.meta
    if "interval" in m.columns:
        m = m[(m["scale"] == "identity")
              & ((m["interval"] == replication.PRIMARY_INTERVAL) | (m["k"] == 1))]
    m = m.copy()
    m["estimate (95% CI)"] = [f"{e:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                              for e, lo, hi in zip(m["estimate"], m["conf_low"], m["conf_high"],
                                                   strict=True)]
    cols = ["quantity", "scope", "k", "estimate (95% CI)", "tau2", "i2", "q", "q_p_value"]
    if "pi_conf_low" in m.columns:
        m["95% PI"] = [("" if not np.isfinite(lo) else f"[{lo:+.3f}, {hi:+.3f}]")
                       for lo, hi in zip(m["pi_conf_low"], m["pi_conf_high"], strict=True)]
        m["shared images"] = np.where(m["model"] == "overlap", "modelled",
                                      np.where(m["accounts_for_overlap"], "none",
                                               "ignored"))
        cols = ["quantity", "scope", "shared images", "k", "estimate (95% CI)", "95% PI",
                "tau2", "i2", "q", "q_p_value"]
        if "hk_scale" in m.columns:
            m["HK factor"] = m["hk_scale"]
            cols.append("HK factor")
    return m[cols]


def overlap_sentence(rd: ReportData) -> str:
    return prose.overlap_sentence(rd.replication.images)


def n_joint_boot(rd: ReportData) -> int:
    """Replicates (delete-d jackknife of the union of the groups' images) behind the
    meta-analysis's correlations."""
    return int(rd.replication.manifest_extra["replication"]["meta_correlation"]["n_boot"])


def meta_correlation_display(rd: ReportData) -> pd.DataFrame:
    """Every pair of groups that shares images: shared images (melanomas), the
    correlations an assumption gives and the estimated ones the model uses."""
    c = rd.replication.correlations
    if c.empty:
        return pd.DataFrame({"note": ["no correlations estimated"]})
    c = c[c["n_shared"] > 0]
    key = ["group_a", "group_b"]
    base = c[(c["source"] == "estimated") & (c["quantity"] == "auc_sd_minus_half")]
    per = c[(c["source"] == "per-class rho=1") & (c["quantity"] == "auc_sd_minus_half")]
    out = base[key + ["n_shared", "n_shared_melanoma", "r_all_images"]].merge(
        per[key + ["correlation"]].rename(columns={"correlation": "per-class, rho 1"}),
        on=key)
    for q, name in (("auc_sd_minus_half", "estimated: sd"),
                    ("auc_mean_minus_sd", "estimated: mean - sd")):
        e = c[(c["source"] == "estimated") & (c["quantity"] == q)]
        e = e.assign(**{name: [f"{r:+.2f} [{lo:+.2f}, {hi:+.2f}]" for r, lo, hi in
                               zip(e["correlation"], e["measured_conf_low"], e["measured_conf_high"],
                                   strict=True)]})
        out = out.merge(e[key + [name]], on=key)
    out = out.sort_values(["n_shared_melanoma", "n_shared"], ascending=False)
    return out.rename(columns={"group_a": "group", "group_b": "with",
                               "n_shared": "shared images",
                               "n_shared_melanoma": "of them melanomas",
                               "r_all_images": "all-image, rho 1"}).reset_index(drop=True)


def meta_sensitivity_display(rd: ReportData) -> pd.DataFrame:
    """Pooled estimate (modified Hartung-Knapp 95% CI) per quantity (rows: the
    correlations used) and scope (columns), then per quantity the verdict under the
    estimated correlations and whether every rho of the band gives the same verdict."""
    s = rd.replication.sensitivity
    if s.empty:
        return pd.DataFrame({"note": ["no sensitivity analysis"]})
    s = s.assign(correlations=np.where(s["correlation"] == "estimated", "estimated",
                                       np.where(s["correlation"] == "all-image overlap",
                                                "all-image, rho 1", "per-class, rho " + s["rho"])),
                 cell=[f"{e:+.3f} [{lo:+.3f}, {hi:+.3f}]" for e, lo, hi in
                       zip(s["estimate"], s["conf_low"], s["conf_high"], strict=True)])
    rows_order = list(dict.fromkeys(s["correlations"]))
    scopes = list(dict.fromkeys(s["scope"]))
    summ = replication.band_summary(s).set_index(["quantity", "scope"])
    parts = []
    for q, g in s.groupby("quantity", sort=False):
        wide = g.pivot(index="correlations", columns="scope", values="cell")
        wide = wide.reindex(index=rows_order, columns=scopes)
        sq = summ.loc[q].reindex(scopes)
        verdict = np.where(sq["within_mc_error"], sq["verdict"] + " (limit within 2 MC SE of 0)",
                           sq["verdict"])
        same = np.where(sq["holds"], "yes", "no (rho " + sq["rho_flips"].astype(str) + ")")
        wide.loc["verdict (estimated)"] = verdict
        wide.loc["same verdict at every rho"] = same
        parts.append(wide.reset_index().assign(quantity=q))
    out = pd.concat(parts, ignore_index=True)[["quantity", "correlations", *scopes]]
    out.columns.name = None
    return out.rename(columns=_SCOPE_HEADERS)


#: Column headers of the pooled scopes.
_SCOPE_HEADERS = {"students": "student groups",
                  "students_excl_group07": "student groups without group 7",
                  "students_and_mturk": "student groups and MTurk"}


def meta_band_sentences(rd: ReportData) -> str:
    r = rd.replication
    return "\n".join(f"- {x}" for x in prose.correlation_sentences(r.correlations)
                     + prose.band_sentences(r.sensitivity))


#: The stored simulation check of the delete-d jackknife (benchmarks/meta_covariance_check.py).
METACOV_CHECK = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / (
    "meta_covariance_check.csv")


def metacov_check_display(rd: ReportData) -> pd.DataFrame:
    """The simulation check of the delete-d jackknife that estimates the meta-analysis's
    covariances, beside the plain joint bootstrap (benchmarks/meta_covariance_check.py,
    stored in :data:`METACOV_CHECK`)."""
    if not METACOV_CHECK.exists():
        return pd.DataFrame({"note": [f"{METACOV_CHECK.name} not found"]})
    d = pd.read_csv(METACOV_CHECK)

    def ratio(col: str) -> list[str]:
        return [f"{e / t:.2f}" if t > 0 else "" for e, t in
                zip(d[col], d["true_cov"], strict=True)]

    out = pd.DataFrame({
        "shared images (melanomas)": [f"{a} ({b})" for a, b in
                                      zip(d["n_shared"], d["shared_melanoma"], strict=True)],
        "quantity": d["quantity"].map({"sd": "sd cvAUC",
                                       "mean_minus_sd": "mean - sd"}),
        "true correlation (95% CI)": [f"{t:.2f} [{lo:.2f}, {hi:.2f}]" for t, lo, hi in
                                      zip(d["true"], d["true_low"], d["true_high"],
                                          strict=True)]})
    out["implied by the estimate (SE)"] = [f"{e:.2f} ({s:.2f})" for e, s in zip(
        d["implied"], d["implied_se"], strict=True)]
    out["covariance recovered"] = ratio("estimated_cov")
    out["z (covariance)"] = d["z_cov"].round(1)
    out["bootstrap: recovered"] = ratio("bootstrap_estimated_cov")
    out["bootstrap: z"] = d["bootstrap_z_cov"].round(1)
    out["data sets (truth / estimate)"] = [f"{a} / {b}" for a, b in
                                           zip(d["n_truth"], d["n_datasets"], strict=True)]
    return out


def metacov_check_sentence(rd: ReportData) -> str:
    """What the simulation check of the delete-d jackknife found, in words (from
    benchmarks/results/meta_covariance_check.csv)."""
    if not METACOV_CHECK.exists():
        return f"({METACOV_CHECK.name} not found.)"
    d = pd.read_csv(METACOV_CHECK)
    inside = (d["implied"] >= d["true_low"]) & (d["implied"] <= d["true_high"])
    z_imp = (d["implied"] - d["true"]) / np.hypot(d["implied_se"],
                                                  (d["true_high"] - d["true_low"]) / 3.92)
    out = (f"in the {len(d)} checks ({d['n_shared'].nunique()} overlaps, "
           f"{d['quantity'].nunique()} quantities) the z of its covariance "
           f"against the truth lies between {d['z_cov'].min():+.1f} and "
           f"{d['z_cov'].max():+.1f} (the bootstrap's between "
           f"{d['bootstrap_z_cov'].min():+.1f} and {d['bootstrap_z_cov'].max():+.1f}), and "
           f"the correlation it implies lies within the true correlation's 95% interval "
           f"in {int(inside.sum())} of {len(d)}")
    if not inside.all():
        miss = d[~inside]
        out += " (" + "; ".join(
            f"outside: {r.quantity.replace('_', ' ')} with {r.n_shared} shared images "
            f"({r.shared_melanoma} melanomas), {r.implied:.2f} against {r.true:.2f} "
            f"[{r.true_low:.2f}, {r.true_high:.2f}], z {z:+.1f} with both Monte Carlo "
            f"errors" for r, z in zip(miss.itertuples(index=False), z_imp[~inside],
                                      strict=True)) + ")"
    return out + "."



def metacov_check_facts(rd: ReportData) -> Mapping[str, str]:
    """The numbers the report's text quotes about the replicates and their check, in
    words: ``keep`` (the share of images a replicate keeps, as a fraction), ``factor``
    (keep / (1 - keep), :func:`analysis.statistics.metacov.subsample_factor`), and from
    :data:`METACOV_CHECK`: ``bootstrap_recovered`` (the range of the share of the true
    covariance the plain bootstrap recovered where the groups share melanomas),
    ``distinct`` (the expected share of distinct melanomas in a bootstrap replicate of a
    group's melanomas, 1 - (1 - 1/m)^m) and ``variance_ratio`` (the range of the
    jackknife's variance over the true one); these three say that the file was not found
    where it is missing (a copy of the project without ``benchmarks/results``)."""
    from fractions import Fraction

    from ..statistics import metacov

    keep = metacov.SUBSAMPLE_KEEP
    out = {"keep": str(Fraction(keep).limit_denominator(100)),
           "factor": f"{metacov.subsample_factor(keep):g}"}
    if METACOV_CHECK.exists():
        d = pd.read_csv(METACOV_CHECK)
        rec = (d["bootstrap_estimated_cov"] / d["true_cov"])[d["shared_melanoma"] > 0]
        m = int(d["shared_melanoma"].max())
        out |= {"bootstrap_recovered": f"{rec.min():.2f} to {rec.max():.2f}",
                "distinct": f"{100 * (1 - (1 - 1 / m) ** m):.0f}%",
                "variance_ratio": (f"{d['subsample_variance_ratio'].min():.1f} to "
                                   f"{d['subsample_variance_ratio'].max():.1f}")}
    else:
        missing = f"(not known: {METACOV_CHECK.name} not found)"
        out |= dict.fromkeys(("bootstrap_recovered", "distinct", "variance_ratio"), missing)
    return MappingProxyType(out)


def overlap_display(rd: ReportData) -> pd.DataFrame:
    """Per group: images used, images shared with MTurk, and the student group it
    shares most images with."""
    ov = rd.replication.overlap
    both = pd.concat([ov, ov.rename(columns={"group_a": "group_b", "group_b": "group_a",
                                             "n_a": "n_b", "n_b": "n_a"})],
                     ignore_index=True)
    rows = []
    for g, d in both.groupby("group_a", sort=True):
        if g == "mturk/isic":
            continue
        mt = d[d["group_b"] == "mturk/isic"]
        st = d[d["group_b"] != "mturk/isic"].sort_values(["n_shared", "group_b"],
                                                        ascending=[False, True])
        top = st.iloc[0]
        rows.append({"group": g, "images": int(d["n_a"].iloc[0]),
                     "shared with MTurk": int(mt["n_shared"].sum()),
                     "student groups sharing images": int((st["n_shared"] > 0).sum()),
                     "most shared with": f"{top['group_b']} ({int(top['n_shared'])})"})
    return pd.DataFrame(rows)


def n_student_groups_tested(rd: ReportData) -> int:
    g = rd.replication.groups
    return int(((g["feature_set"] == "sd") & (g["source"] == "student")).sum())


def trend_display(rd: ReportData) -> pd.DataFrame:
    t = rd.curve.trend
    if t.empty:
        return pd.DataFrame({"note": ["no group with more than two annotators"]})
    return pd.DataFrame({
        "cohort": t["cohort"], "group": t["group"], "features": t["feature_set"],
        "k": [f"{a}-{b}" for a, b in zip(t["k_min"], t["k_max"], strict=True)],
        "slope per annotator (95% CI)": [f"{s:+.3f} [{lo:+.3f}, {hi:+.3f}]" for s, lo, hi in
                                         zip(t["slope"], t["conf_low"], t["conf_high"],
                                             strict=True)],
        "trend": t["direction"]})


def replication_sentences(rd: ReportData) -> str:
    return "\n".join(f"- {s}" for s in prose.verdict_sentences(rd.replication,
                                                                        rd.curve))


def excluded_groups_sentence(rd: ReportData) -> str:
    e = rd.replication.excluded_groups
    if e.empty:
        return "No group is left out."
    return "Left out: " + "; ".join(f"{r.cohort} {r.group} ({r.reason})"
                                    for r in e.itertuples()) + "."


def replication_summary(rd: ReportData) -> pd.DataFrame:
    """Per cohort: groups, median AUC of the mean and of the sd features, and how
    many groups show each effect (sd permutation p < 0.05; the 95% CI of AUC(mean)
    - AUC(sd) above 0)."""
    g = rd.replication.groups
    d = rd.replication.differences
    rows = []
    for cohort, sub in g.groupby("cohort", sort=False):
        mean, sd = sub[sub["feature_set"] == "mean"], sub[sub["feature_set"] == "sd"]
        dd = d[d["cohort"] == cohort]
        rows.append({"cohort": cohort, "groups": len(mean),
                     "images": f"{mean['n_images'].min()}-{mean['n_images'].max()}"
                     if mean["n_images"].nunique() > 1 else str(mean["n_images"].iloc[0]),
                     "median AUC, mean features": mean["auc"].median(),
                     "median AUC, sd features": sd["auc"].median(),
                     "groups: sd permutation p < 0.05": int((sd["p_value"] < 0.05).sum()),
                     "groups: mean - sd CI above 0": int((dd["conf_low"] > 0).sum())})
    return pd.DataFrame(rows)


# --- the multiverse ---------------------------------------------------------------

def mv_verdicts(rd: ReportData) -> pd.DataFrame:
    return mv.verdict_table(rd.multiverse.frame)


def mv_supported(rd: ReportData, claim: str) -> int:
    return int(mv_verdicts(rd).set_index("claim").loc[claim, "supported"])


def mv_n_paths(rd: ReportData) -> int:
    return int(rd.multiverse.settings["n_paths"])


def mv_survival(rd: ReportData) -> str:
    return " ".join(prose.survival_sentences(rd.multiverse.frame))


def mv_choices(rd: ReportData) -> pd.DataFrame:
    return mv.choice_effects(rd.multiverse.frame).pivot_table(
        index=["choice", "level"], columns="claim", values="share_supported").reset_index()


def n_imputed_images(rd: ReportData) -> int:
    f = rd.multiverse.frame
    sub = f.loc[f["missing"] == "impute", "n_imputed_images"]
    return int(sub.iloc[0]) if len(sub) else 0


# --- the simulation ---------------------------------------------------------------

def sim_params_display(rd: ReportData) -> pd.DataFrame:
    """Per-feature parameters of the simulation model (the global ones are in the
    text: latent shift, annotator noise, prevalence, shrinkage)."""
    t = rd.sim_params.tidy()
    keep = [c for c in ("feature", "scale_min", "scale_max", "intercept", "loading", "tau_b", "sigma0",
                        "sigma1", "sigma_ratio") if c in t.columns]
    return t[keep]


def coverage_sentence(rd: ReportData) -> str:
    return prose.coverage_sentence(rd.calibration)


def coverage_display(rd: ReportData) -> pd.DataFrame:
    """Coverage (or rejection rate) with its Clopper-Pearson interval: one row per
    quantity and method, one column per simulated model."""
    c = rd.calibration.coverage.copy()
    perm = c["method"] == "permutation"
    rate = np.where(perm, c["rejection_rate"], c["coverage"])
    lo = np.where(perm, c["rejection_rate_conf_low"], c["coverage_conf_low"])
    hi = np.where(perm, c["rejection_rate_conf_high"], c["coverage_conf_high"])
    c["cell"] = [f"{100 * r:.1f}% [{100 * a:.1f}, {100 * b:.1f}]"
                 for r, a, b in zip(rate, lo, hi, strict=True)]
    c["what"] = np.where(perm, "rejection rate at 5%", "coverage")
    methods = {"bootstrap_cv": "bootstrap-CV (the verdicts')",
               "corrected_t": "corrected repeated-CV t", "delong_pooled": "DeLong, pooled",
               "bca_pooled": "BCa, pooled", "permutation": "permutation test"}
    c["method"] = c["method"].map(lambda m: methods.get(m, m))
    c["quantity"] = c["quantity"].map(
        lambda q: {"auc_sd": "cvAUC(sd)", "auc_mean": "cvAUC(mean)"}.get(
            q, q.replace("diff_", "difference ").replace("_", " - ")))
    wide = c.pivot_table(index=["quantity", "method", "what"], columns="model",
                         values="cell", aggfunc="first", sort=False)
    order = [m for m in ("permuted", "generative null", "fitted") if m in wide.columns]
    names = {"permuted": "permuted group 7", "generative null": "generative null",
             "fitted": "calibrated model"}
    return wide[order].rename(columns=names).reset_index()


def power_sentence(rd: ReportData) -> str:
    return prose.power_sentence(rd.power.summary)


def strong_sentence(rd: ReportData) -> str:
    """The strong-signal scenario's calibration and coverage ("" without it)."""
    return prose.strong_regime_sentence(rd.calibration.coverage, rd.calibration.settings) or ""


def _c4_power(cal) -> pd.DataFrame:
    """How often C4's parts are decided under each simulated model
    (:func:`analysis.studies.simulate.c4_power` at the review's margin)."""
    return sim.c4_power(cal, review.MARGIN)


def c4_power_sentence(rd: ReportData) -> str:
    return prose.c4_power_sentence(_c4_power(rd.calibration)) or ""


def strong_display(rd: ReportData) -> pd.DataFrame:
    """The strong-signal scenario: per quantity its true value and the bootstrap-CV
    interval's coverage (Clopper-Pearson interval), misses on each side and width."""
    c = rd.calibration.coverage
    c = c[(c["model"] == "strong") & (c["method"] == "bootstrap_cv")]
    names = {"auc_sd": "cvAUC(sd)", "auc_mean": "cvAUC(mean)", "auc_mean+sd": "cvAUC(mean+sd)",
             "diff_mean_sd": "mean - sd", "diff_mean+sd_mean": "mean+sd - mean"}
    out = pd.DataFrame({
        "quantity": c["quantity"].map(lambda q: names.get(q, q)).to_numpy(),
        "true value": c["truth"].to_numpy(), "mean estimate": c["mean_estimate"].to_numpy(),
        "coverage (95% CI)": [f"{100 * r:.1f}% [{100 * a:.1f}, {100 * b:.1f}]" for r, a, b in
                              zip(c["coverage"], c["coverage_conf_low"], c["coverage_conf_high"], strict=True)],
        "entirely above truth": c["miss_above"].to_numpy(),
        "entirely below truth": c["miss_below"].to_numpy(),
        "mean width": c["mean_width"].to_numpy()})
    return out


def c4_power_display(rd: ReportData) -> pd.DataFrame:
    """C4's parts: share of simulated studies supporting (with its Clopper-Pearson
    interval) and refuting each, per model, beside the true difference."""
    t = _c4_power(rd.calibration)
    if t.empty:
        return t
    names = {"permuted": "permuted group 7", "generative null": "generative null",
             "fitted": "calibrated model", "strong": "strong-signal scenario"}
    t = present.with_ci(t, "supported", "supported (95% CI)")
    t["model"] = t["model"].map(lambda m: names.get(m, m))
    return t.drop(columns=["quantity"])


def calibration_display(rd: ReportData) -> pd.DataFrame:
    """The simulation's calibration summary with each rate and its Clopper-Pearson
    interval in one column."""
    c = rd.calibration.summary
    out = present.with_ci(c, "rejection_rate", "rejection rate at 5% (95% CI)")
    out = present.with_ci(out, "coverage_delong", "DeLong coverage (95% CI)")
    out = present.with_ci(out, "coverage_bca", "BCa coverage (95% CI)")
    # one row per quantity, one column per model: it reads down, and fits the page
    cells = present.format_frame(out.drop(columns="model"))
    t = cells.T
    t.columns = [str(present.label(m)) for m in out["model"]]
    return t.rename_axis("quantity").reset_index()


def power_display(rd: ReportData) -> pd.DataFrame:
    """Power by study size, with its Clopper-Pearson interval in one column."""
    return present.with_ci(rd.power.summary, "power", "power (95% CI)")


# --- the computational details ----------------------------------------------------

def versions(rd: ReportData) -> pd.DataFrame:
    v = reproduce.package_versions()
    return pd.DataFrame({"package": list(v), "version": list(v.values())})


def timings_table(rd: ReportData) -> pd.DataFrame:
    """Seconds each section took when this result was computed (and cached)."""
    t = pd.DataFrame({"section": list(rd.timings), "seconds": list(rd.timings.values())})
    total = pd.DataFrame({"section": ["all sections"], "seconds": [t["seconds"].sum()]})
    return pd.concat([t, total], ignore_index=True)


def hashes(rd: ReportData) -> pd.DataFrame:
    h = data.verify_all()  # measured on the files, after verification
    return pd.DataFrame({"file (0_data/...)": list(h), "sha256": list(h.values())})


# --- one function per section of the report ------------------------------------------


@dataclass(frozen=True)
class Section:
    """What one section of the report shows: its tables, sentences and numbers by name
    (``sec.replication_display``), computed once from a :class:`ReportData`."""

    name: str
    items: Mapping[str, Any]

    def __getattr__(self, key: str) -> Any:
        if key in ("name", "items"):  # not yet set (copy, unpickling)
            raise AttributeError(key)
        try:
            return self.items[key]
        except KeyError:
            raise AttributeError(f"section {self.name!r} shows no {key!r}") from None

    def __dir__(self):
        return [*super().__dir__(), *self.items]


def _section(name: str, rd: ReportData, builders, **extra) -> Section:
    return Section(name, MappingProxyType({**{f.__name__: f(rd) for f in builders}, **extra}))


def present_data(rd: ReportData) -> Section:
    """Section Data: counts of files, cells and degenerate features; the corrections."""
    return _section("data", rd, (n_student_files, n_cells, n_not_ok, n_degenerate,
                                 corrections_summary))


def present_experiments(rd: ReportData) -> Section:
    """The paper's experiments: separation, and our AUCs against the paper's."""
    return _section("experiments", rd, (separation_sentence, comparison_display,
                                        comparison_sentence))


#: The stored measurement of C5's verdict over master seeds
#: (``benchmarks/seed_stability.py``; :func:`analysis.studies.review.c5_seed_summary`).
SEED_STABILITY = (Path(__file__).resolve().parents[2] / "benchmarks" / "results"
                  / "seed_stability_summary.csv")


def _c5_seed_summary() -> pd.DataFrame:
    """The stored C5 seed-stability summary (empty when the file is absent)."""
    return pd.read_csv(SEED_STABILITY) if SEED_STABILITY.exists() else pd.DataFrame()


def c5_seed_sentence(rd: ReportData) -> str:
    return prose.c5_seed_sentence(_c5_seed_summary()) or ""


def c5_interval_sentence(rd: ReportData) -> str:
    """Why skewness's interval and permutation p tell one story (C5b); "" without it."""
    ci = rd.review.auc_ci.set_index(["feature_set", "estimator"])
    perm = rd.review.permutation.summary.set_index(["feature_set", "estimator"])
    if ("skewness", "mle") not in ci.index or ("skewness", "mle") not in perm.index:
        return ""
    return prose.c5_interval_sentence(perm.loc[("skewness", "mle")], ci.loc[("skewness", "mle")])


def c5_seed_display(rd: ReportData) -> pd.DataFrame:
    """C5's parts over master seeds: the setting, the most common verdict, the share of
    seeds giving it, and the p-value's range (plain maximum likelihood)."""
    t = _c5_seed_summary()
    if t.empty:
        return t
    names = {"old": "before", "new": "observed over all assignments",
             "sequential": "now (and sequential permutations)"}
    t = t.assign(setting=t["setting"].map(names).fillna(t["setting"]),
                 p=[f"{a:.3f} - {b:.3f} (median {m:.3f})" for a, b, m in
                    zip(t["p_min"], t["p_max"], t["p_median"], strict=True)])
    if "max_permutations_used" not in t:
        t["max_permutations_used"] = t["n_permutations"]
    return t[["setting", "part", "observed_repeats", "null_repeats", "max_permutations_used",
              "n_seeds", "share_agree", "verdicts", "p"]].rename(
        columns={"observed_repeats": "observed folds",
                 "null_repeats": "folds per permutation", "n_seeds": "seeds",
                 "max_permutations_used": "permutations (at most)",
                 "share_agree": "share agreeing", "verdicts": "verdicts over seeds",
                 "p": "permutation p (range)"})


def present_review(rd: ReportData) -> Section:
    """The statistical review: claims, parts, models, calibration, tests; ``ci_text``
    maps every feature set to its cvAUC with interval (maximum likelihood)."""
    sets = rd.review.auc_ci.loc[rd.review.auc_ci["estimator"] == "mle", "feature_set"]
    return _section("review", rd, (claims_display, parts_display, coefficients_display,
                                   models_display, oof_calibration_display, evidence_markdown,
                                   tests_display, moment_tests_display, moment_tests_summary,
                                   estimator_sentence, rules_sentences, c5_seed_sentence,
                                   c5_seed_display, c5_interval_sentence),
                    ci_text=MappingProxyType({fs: ci_text(rd, fs) for fs in sets}))


def present_replication(rd: ReportData) -> Section:
    """The replication over the ENHANCE groups and the number of annotators."""
    return _section("replication", rd, (n_mturk_images, replication_display, meta_display,
                                        n_joint_boot, meta_correlation_display,
                                        meta_sensitivity_display, meta_band_sentences,
                                        metacov_check_display, metacov_check_sentence,
                                        metacov_check_facts,
                                        overlap_sentence, overlap_display,
                                        n_student_groups_tested, trend_display,
                                        replication_sentences, excluded_groups_sentence,
                                        replication_summary))


def present_multiverse(rd: ReportData) -> Section:
    """The multiverse: verdicts per claim, survival, choices; ``mv_supported`` maps a
    claim to the number of paths that support it."""
    verdicts = mv_verdicts(rd)
    supported = MappingProxyType({c: mv_supported(rd, c) for c in verdicts["claim"]})
    return _section("multiverse", rd, (mv_n_paths, mv_survival, mv_choices, n_imputed_images),
                    mv_verdicts=verdicts, mv_supported=supported)


def present_simulation(rd: ReportData) -> Section:
    """The simulation: the model's parameters, the calibration and the power."""
    return _section("simulation", rd, (sim_params_display, coverage_sentence, coverage_display,
                                       power_sentence, calibration_display, power_display,
                                       strong_sentence, strong_display, c4_power_sentence,
                                       c4_power_display))


def present_details(rd: ReportData) -> Section:
    """Computational details: package versions, timings, data hashes."""
    return _section("details", rd, (versions, timings_table, hashes))
