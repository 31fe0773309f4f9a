"""What the report shows, computed once: data, experiments, tables and sentences.

``report.qmd`` builds one :class:`ReportData` and only displays its fields, so that
every number in the report is computed here, where tests reach it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
from IPython.display import Markdown

from . import data, figures, models, reproduce, review

#: Environment variable that sets the number of CV repeats of a render.
REPEATS_ENV = "CROWD_DISAGREEMENT_REPEATS"


def pct(x: float, digits: int = 0) -> str:
    """Format a share as a percentage."""
    return f"{100 * x:.{digits}f}%"


def md_table(frame: pd.DataFrame, floatfmt: str = ".3f") -> Markdown:
    """A DataFrame as a Markdown table (what Quarto captions and cross-references)."""
    return Markdown(frame.to_markdown(index=False, floatfmt=floatfmt))


@dataclass
class ReportData:
    annotations: object
    design: object
    exp: reproduce.Experiments
    summary: pd.DataFrame
    comparison: pd.DataFrame
    table1: pd.DataFrame
    review: review.Review

    @classmethod
    def build(cls, *, repeats: int | None = None, seed: int = models.DEFAULT_SEED,
              n_jobs: int = -1) -> ReportData:
        """Compute everything the report shows.

        ``repeats`` defaults to ``CROWD_DISAGREEMENT_REPEATS`` when set (a quick
        draft render), else :data:`analysis.reproduce.DEFAULT_REPEATS`.
        """
        if repeats is None:
            repeats = int(os.environ.get(REPEATS_ENV, reproduce.DEFAULT_REPEATS))
        ann = reproduce.load_annotations()
        design = reproduce.load_group(annotations=ann)
        exp = reproduce.run_experiments(design, repeats=repeats, seed=seed, n_jobs=n_jobs,
                                        experiments=(1, 2, 3), quiet=True)
        summary = reproduce.summarise(exp)
        rv = review.review(design, exp=exp, seed=seed, n_jobs=n_jobs, quiet=True)
        return cls(ann, design, exp, summary, reproduce.compare_with_paper(summary, "mle"),
                   figures.table1(ann.summary()), rv)

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
        mle = f[f["estimator"] == "mle"]
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
