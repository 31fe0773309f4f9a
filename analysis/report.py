"""What the report shows, computed once: data, experiments, tables and sentences.

``report.qmd`` builds one :class:`ReportData` and only displays its fields, so that
every number in the report is computed here, where tests reach it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pandas as pd
from IPython.display import Markdown

from . import data, figures, models, replication, reproduce, review
from . import multiverse as mv
from . import simulate as sim

#: Environment variable that sets the number of CV repeats of a render.
REPEATS_ENV = "CROWD_DISAGREEMENT_REPEATS"
#: Environment variable for a quick draft render: every resampling count is small
#: (the numbers are then rough; the report says so at the top).
QUICK_ENV = "CROWD_DISAGREEMENT_QUICK"
QUICK = {"repeats": 5, "n_boot": 200, "n_permutations": 99, "rep_repeats": 3,
         "rep_permutations": 19, "curve_repeats": 1, "max_subsets": 5,
         "mv_permutations": 19, "sim_datasets": 4, "sim_calibration": 12, "sim_permutations": 19,
         "sim_studies": 50}


def quick_mode() -> bool:
    """Whether ``CROWD_DISAGREEMENT_QUICK`` asks for a draft render."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def pct(x: float, digits: int = 0) -> str:
    """Format a share as a percentage."""
    return f"{100 * x:.{digits}f}%"


def md_table(frame: pd.DataFrame, floatfmt: str = ".3f") -> Markdown:
    """A DataFrame as a Markdown table (what Quarto captions and cross-references).

    Float columns whose values are all whole numbers (counts stored as floats) are
    shown as integers; other floats with ``floatfmt``.
    """
    out = frame.copy()
    for col in out.columns:
        v = out[col]
        if pd.api.types.is_float_dtype(v) and v.notna().any() and (v.dropna() % 1 == 0).all():
            out[col] = v.map(lambda x: "" if pd.isna(x) else str(int(x)))
    return Markdown(out.to_markdown(index=False, floatfmt=floatfmt))


@dataclass
class ReportData:
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
        :data:`analysis.reproduce.DEFAULT_REPEATS`. With ``CROWD_DISAGREEMENT_QUICK=1``
        every resampling count is small (:data:`QUICK`): a draft. The result is cached
        (:mod:`analysis.cache`) under the settings, the data hashes and the source of
        the package, so a second render recomputes nothing unless one of them changed;
        ``n_jobs`` is not part of the key because results do not depend on it.
        """
        from . import cache

        key = cls.settings(repeats=repeats, seed=seed)
        return cache.cached("report_data", key, lambda: cls.compute(n_jobs=n_jobs, **key))

    @staticmethod
    def settings(*, repeats: int | None = None, seed: int = models.DEFAULT_SEED) -> dict:
        """The settings a build uses: ``repeats`` (default ``CROWD_DISAGREEMENT_REPEATS``
        or :data:`analysis.reproduce.DEFAULT_REPEATS`), ``seed`` and ``quick``
        (``CROWD_DISAGREEMENT_QUICK``); with the data and the package source they key the
        cache (and :func:`analysis.render.render_key`)."""
        quick = quick_mode()
        if repeats is None:
            default = QUICK["repeats"] if quick else reproduce.DEFAULT_REPEATS
            repeats = int(os.environ.get(REPEATS_ENV, default))
        return {"repeats": repeats, "seed": seed, "quick": quick}

    @classmethod
    def compute(cls, *, repeats: int, seed: int, n_jobs: int, quick: bool) -> ReportData:
        """Compute everything the report shows (no cache)."""
        n_boot = QUICK["n_boot"] if quick else review.DEFAULT_BOOT
        n_perm = QUICK["n_permutations"] if quick else review.DEFAULT_PERMUTATIONS
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
        rv = review.review(design, exp=exp, seed=seed, n_boot=n_boot, n_permutations=n_perm,
                           n_jobs=n_jobs, quiet=True)
        lap("review")
        rep_kw = ({"repeats": QUICK["rep_repeats"], "n_permutations": QUICK["rep_permutations"]}
                  if quick else {})
        rep = replication.replicate(ann, seed=seed, n_jobs=n_jobs, quiet=True, **rep_kw)
        lap("replication")
        curve_kw = ({"repeats": QUICK["curve_repeats"], "max_subsets": QUICK["max_subsets"]}
                    if quick else {})
        curve = replication.annotator_curve(ann, seed=seed, n_jobs=n_jobs, quiet=True, **curve_kw)
        lap("annotators")
        if quick:  # a small grid: the paper's path and its neighbours with 10 folds
            mvres = mv.multiverse(ann.tidy, ann.labels, paths=mv.grid(cv=("10-fold",),
                                  estimator=("mle", "firth")), n_permutations=QUICK["mv_permutations"],
                                  seed=seed, n_jobs=n_jobs, quiet=True)
        else:
            mvres = mv.multiverse(ann.tidy, ann.labels, seed=seed, n_jobs=n_jobs, quiet=True)
        lap("multiverse")
        # the model fitted to group 7, calibrated to its observed sd cvAUC (issue 10)
        params = sim.calibrate_to_group(design, seed=seed, n_jobs=n_jobs,
                                        **({"n_studies": QUICK["sim_studies"]} if quick else {}))
        sim_kw = {"n_permutations": QUICK["sim_permutations"]} if quick else {}
        cal = sim.calibration(params, design=design, seed=seed, n_jobs=n_jobs, quiet=True,
                              **({"n_datasets": QUICK["sim_calibration"], **sim_kw} if quick else {}))
        pw = sim.power(params, seed=seed, n_jobs=n_jobs, quiet=True,
                       **({"n_datasets": QUICK["sim_datasets"], "n_images": (50, 100),
                           "n_annotators": (3, 6), **sim_kw} if quick else {}))
        lap("simulation")
        return cls(ann, design, exp, summary, comparison, table1, rv, rep, curve, mvres, params,
                   cal, pw, timings)

    @property
    def draft_banner(self) -> str:
        if not quick_mode():
            return ""
        return (f"::: {{.callout-warning}}\nDraft render ({QUICK_ENV} is set): resampling "
                f"counts are small ({self.exp.repeats} CV repeats, "
                f"{self.review.settings['n_boot']} bootstrap replicates, "
                f"{self.review.settings['n_permutations']} permutations); numbers are rough.\n:::")

    # --- data -----------------------------------------------------------------
    @property
    def n_student_files(self) -> int:
        return int(self.annotations.tidy.loc[
            self.annotations.tidy["cohort"] != "mturk", "source_file"].nunique())

    @property
    def n_cells(self) -> int:
        return int(len(self.annotations.tidy))

    @property
    def n_not_ok(self) -> int:
        return int((self.annotations.tidy["status"] != "ok").sum())

    @property
    def n_degenerate(self) -> int:
        return int(self.design.degenerate["n_images_all_equal"].sum())

    # --- experiments ------------------------------------------------------------
    @property
    def separation_sentence(self) -> str:
        f = self.exp.folds
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

    @property
    def comparison_display(self) -> pd.DataFrame:
        c = self.comparison.copy()
        c["paper"] = [
            f"{a:.2f}" if pd.notna(a) else f"{lo:.2f}-{hi:.2f}"
            for a, lo, hi in zip(c["paper_auc"], c["paper_low"], c["paper_high"], strict=True)
        ]
        c["band"] = [f"{lo:.3f}-{hi:.3f}" for lo, hi in zip(c["band_low"], c["band_high"], strict=True)]
        c["inside"] = c["within_band"].map({True: "yes", False: "no"})
        return c[["feature_set", "paper", "mean_auc", "band", "inside"]].rename(
            columns={"feature_set": "feature set", "mean_auc": "ours (canonical split)",
                     "band": "ours: 2.5-97.5% over repeats"})

    @property
    def comparison_sentence(self) -> str:
        c = self.comparison
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

    # --- computational details --------------------------------------------------------
    @property
    def versions(self) -> pd.DataFrame:
        v = reproduce.package_versions()
        return pd.DataFrame({"package": list(v), "version": list(v.values())})

    @property
    def timings_table(self) -> pd.DataFrame:
        """Seconds each section took when this result was computed (and cached)."""
        t = pd.DataFrame({"section": list(self.timings), "seconds": list(self.timings.values())})
        total = pd.DataFrame({"section": ["all sections"], "seconds": [t["seconds"].sum()]})
        return pd.concat([t, total], ignore_index=True)

    @property
    def hashes(self) -> pd.DataFrame:
        h = data.data_hashes()
        return pd.DataFrame({"file (0_data/...)": list(h), "sha256": list(h.values())})

    # --- statistical review -------------------------------------------------------
    @property
    def claims(self) -> pd.DataFrame:
        return self.review.claims()

    @property
    def claims_display(self) -> pd.DataFrame:
        c = self.claims
        p = [("" if pd.isna(v) else ("< 1e-4" if v < 1e-4 else f"{v:.4f}")) for v in c["p_value"]]
        return pd.DataFrame({"claim": c["claim"], "statement": c["statement"], "paper": c["paper"],
                             "ours (mle, 95% CI)": c["ours"], "test": c["test"], "p": p,
                             "verdict": c["verdict"]})

    @property
    def evidence_markdown(self) -> str:
        return "\n".join(f"- **{r.claim} ({r.verdict})**: {r.evidence}"
                          for r in self.claims.itertuples())

    @property
    def moment_tests_display(self) -> pd.DataFrame:
        m = self.review.moment_tests.copy()
        m["AUC (95% CI)"] = [f"{a:.2f} [{lo:.2f}, {hi:.2f}]" for a, lo, hi in
                             zip(m["auc"], m["auc_ci_low"], m["auc_ci_high"], strict=True)]
        return m[["feature", "moment", "AUC (95% CI)", "u", "p", "p_holm", "p_bh",
                  "rank_biserial", "cles", "direction"]]

    def perm(self, feature_set: str, estimator: str = "mle") -> pd.Series:
        s = self.review.permutation.summary
        return s[(s["feature_set"] == feature_set) & (s["estimator"] == estimator)].iloc[0]

    def pooled(self, feature_set: str, estimator: str = "mle") -> pd.Series:
        a = self.review.auc_ci
        return a[(a["feature_set"] == feature_set) & (a["estimator"] == estimator)
                 & (a["boot_method"] == "bca")].iloc[0]

    def ci_text(self, feature_set: str, estimator: str = "mle") -> str:
        r = self.pooled(feature_set, estimator)
        return (f"{r['auc_pooled']:.3f} (DeLong 95% CI {r['delong_low']:.3f} to "
                f"{r['delong_high']:.3f}; BCa {r['boot_low']:.3f} to {r['boot_high']:.3f})")

    @property
    def estimator_sentence(self) -> str:
        c = self.claims
        dep = c[c["evidence"].str.contains("depends on the estimator")]
        if dep.empty:
            return "No verdict depends on the estimator: plain maximum likelihood and Firth agree."
        return ("The verdict of " + ", ".join(dep["claim"]) + " depends on the estimator "
                "and is therefore marked inconclusive.")

    # --- replication and number of annotators ------------------------------------
    @property
    def n_mturk_images(self) -> int:
        g = self.replication.groups
        return int(g.loc[g["source"] == "mturk", "n_images"].iloc[0])

    @property
    def replication_display(self) -> pd.DataFrame:
        g = self.replication.groups
        mean = g[g["feature_set"] == "mean"].set_index(["cohort", "group"])
        sd = g[g["feature_set"] == "sd"].set_index(["cohort", "group"])
        d = self.replication.differences.set_index(["cohort", "group"])
        out = pd.DataFrame({
            "images (melanoma)": [f"{r.n_images} ({r.n_melanoma})" for r in mean.itertuples()],
            "annotators": mean["n_annotators"].to_numpy(),
            "mean AUC (95% CI)": [f"{r.auc:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]"
                                  for r in mean.itertuples()],
            "sd AUC (95% CI)": [f"{r.auc:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]"
                                for r in sd.itertuples()],
            "sd permutation p": [f"{p:.3f}" for p in sd["perm_p"]],
            "mean - sd (95% CI)": [f"{r.diff:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}]"
                                   for r in d.loc[mean.index].itertuples()],
        }, index=mean.index).reset_index()
        return out

    @property
    def meta_display(self) -> pd.DataFrame:
        m = self.replication.meta.copy()
        m["estimate (95% CI)"] = [f"{e:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                                  for e, lo, hi in zip(m["estimate"], m["ci_low"], m["ci_high"],
                                                       strict=True)]
        return m[["quantity", "scope", "k", "estimate (95% CI)", "tau2", "i2", "q", "q_p"]]

    @property
    def replication_sentences(self) -> str:
        return "\n".join(f"- {s}" for s in replication.verdict_sentences(self.replication,
                                                                            self.curve))

    @property
    def excluded_groups_sentence(self) -> str:
        e = self.replication.excluded_groups
        if e.empty:
            return "No group is left out."
        return "Left out: " + "; ".join(f"{r.cohort} {r.group} ({r.reason})"
                                        for r in e.itertuples()) + "."

    # --- multiverse and simulation -------------------------------------------------------
    @property
    def mv_frame(self) -> pd.DataFrame:
        return self.multiverse.frame

    @property
    def mv_verdicts(self) -> pd.DataFrame:
        return mv.verdict_table(self.mv_frame)

    def mv_supported(self, claim: str) -> int:
        return int(self.mv_verdicts.set_index("claim").loc[claim, "supported"])

    @property
    def mv_n_paths(self) -> int:
        return int(self.multiverse.settings["n_paths"])

    @property
    def mv_survival(self) -> str:
        return " ".join(mv.survival_summary(self.mv_frame))

    @property
    def mv_choices(self) -> pd.DataFrame:
        return mv.choice_effects(self.mv_frame).pivot_table(
            index=["choice", "level"], columns="claim", values="share_supported").reset_index()

    @property
    def n_imputed_images(self) -> int:
        f = self.mv_frame
        sub = f.loc[f["missing"] == "impute", "n_imputed_images"]
        return int(sub.iloc[0]) if len(sub) else 0

    def cal(self, model: str, column: str) -> float:
        return float(self.calibration.summary.set_index("model").loc[model, column])

    @property
    def power_sentence(self) -> str:
        return sim.power_sentence(self.power.summary)
