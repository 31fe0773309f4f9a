"""What the report shows, computed once: data, experiments, tables and sentences.

``report.qmd`` builds one :class:`ReportData` and only displays its fields, so that
every number in the report is computed here, where tests reach it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
from IPython.display import Markdown

from . import data, figures, models, reproduce

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
                                        quiet=True)
        summary = reproduce.summarise(exp)
        return cls(ann, design, exp, summary, reproduce.compare_with_paper(summary, "mle"),
                   figures.table1(ann.summary()))

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
