"""What ``review.qmd`` shows for any data set, computed once.

``review.qmd`` (the parameterised review of a user's data) builds one
:class:`ReviewDoc` from its parameters and only displays its fields, the sentences of
:mod:`analysis.prose` and the figures of :mod:`analysis.figures`; every number is
computed here or in the functions it calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import analyze, budgets, dataset, models, prose
from .report import quick_mode

__all__ = [
    "DRAFT", "DRAFT_CURVE", "DRAFT_SWEEPS", "EXAMPLE", "EXAMPLE_POSITIVE", "ReviewDoc",
    "load_design",
]


#: The annotator-count curve of a draft render (:data:`analysis.budgets.CURVE_DRAFT`).
DRAFT_CURVE = {"repeats": budgets.CURVE_DRAFT.repeats,
               "max_subsets": budgets.CURVE_DRAFT.max_subsets,
               "trend_boot": budgets.CURVE_DRAFT.trend_boot}

#: The example data set (``data/examples/make_example.py``) and its positive class.
EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples"
EXAMPLE_POSITIVE = "malignant"
#: Resampling counts of a draft render (``quick=True`` or ``CROWD_DISAGREEMENT_QUICK=1``):
#: :data:`analysis.budgets.REVIEW_DOC_DRAFT`.
DRAFT = budgets.as_dict(budgets.REVIEW_DOC_DRAFT)
del DRAFT["budget"]
#: Options of the on-request parts in a draft (:mod:`analysis.sweeps`): the mle paths
#: with 5 folds, and a few studies (:data:`analysis.budgets.MULTIVERSE_SWEEP_DRAFT`,
#: :data:`analysis.budgets.SIMULATION_SWEEP_DRAFT`).
DRAFT_SWEEPS = {"multiverse": {"n_permutations": budgets.MULTIVERSE_SWEEP_DRAFT.n_permutations,
                               "n_boot": budgets.MULTIVERSE_SWEEP_DRAFT.n_boot,
                               "paths": [("estimator", "mle"), ("cv", "5-fold")]},
                "power": {"n_datasets": budgets.SIMULATION_SWEEP_DRAFT.n_datasets,
                          "calibration_datasets":
                              budgets.SIMULATION_SWEEP_DRAFT.calibration_datasets,
                          "n_permutations": budgets.SIMULATION_SWEEP_DRAFT.n_permutations,
                          "calibration_studies":
                              budgets.SIMULATION_SWEEP_DRAFT.calibration_studies,
                          "n_truth": budgets.SIMULATION_SWEEP_DRAFT.truth_draws}}


def _shown(path: Path) -> str:
    """A path as a reader should see it: relative to the working folder when it lies
    under it (the document renders in the project's root), else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_design(*, annotations: str = "", labels: str = "", dataset_name: str = "",
                positive: str = "", unit_col: str = "unit", rater_col: str = "rater",
                feature_col: str = "feature", score_col: str = "score", label_col: str = "label",
                raters: str = "", min_raters: int = 0, raters_per_unit: int = 0,
                seed: int = models.DEFAULT_SEED, sep: str = "", decimal: str = ""):
    """The design ``review.qmd`` analyses, from its parameters: what
    :meth:`ReviewDoc.build` loads, and what :mod:`analysis.render` loads first to refuse
    bad input in one line before Quarto starts.

    Empty strings and zeros mean "not given" (Quarto parameters have no None). Without
    ``annotations``, ``labels`` and ``dataset_name``: the example data set. Returns the
    design and the parameters as recorded.

    Raises
    ------
    DatasetError
        From :func:`analysis.dataset.load` or :func:`analysis.dataset.load_builtin`.
    """
    if not (annotations or labels or dataset_name):
        annotations = _shown(EXAMPLE / "annotations.csv")
        labels = _shown(EXAMPLE / "labels.csv")
        positive = positive or EXAMPLE_POSITIVE
    params = dict(annotations=annotations, labels=labels, dataset=dataset_name,
                  positive=positive, raters=raters, min_raters=min_raters,
                  raters_per_unit=raters_per_unit, seed=seed)
    opt = {"min_raters": min_raters or None, "raters_per_unit": raters_per_unit or None,
           "seed": seed}
    if dataset_name:
        design = dataset.load_builtin(dataset_name, **opt)
    else:
        design = dataset.load(annotations, labels, unit_col=unit_col, rater_col=rater_col,
                              feature_col=feature_col, score_col=score_col,
                              label_col=label_col, positive=positive or None,
                              raters=raters or None, sep=sep or None, decimal=decimal or None,
                              **opt)
    return design, params


@dataclass
class ReviewDoc:
    """A data set's design, its review and the tables the document shows."""

    params: dict
    design: object
    result: analyze.Analysis
    counts: dict
    quick: bool

    @classmethod
    def build(cls, *, annotations: str = "", labels: str = "", dataset_name: str = "",
              positive: str = "", unit_col: str = "unit", rater_col: str = "rater",
              feature_col: str = "feature", score_col: str = "score", label_col: str = "label",
              raters: str = "", min_raters: int = 0, raters_per_unit: int = 0,
              seed: int = models.DEFAULT_SEED, quick: bool = False, n_jobs: int = -1,
              multiverse: bool = False, power: bool = False, sep: str = "",
              decimal: str = "",
              margin: float = budgets.NONINFERIORITY_MARGIN) -> ReviewDoc:
        """Load the data set named by the document's parameters and review it.

        Empty strings and zeros mean "not given" (Quarto parameters have no None);
        ``sep`` and ``decimal`` not given are detected (:func:`analysis.dataset.load`).
        Without ``annotations``, ``labels`` and ``dataset_name``: the example data set.
        ``multiverse``, ``power``: also run the on-request parts (:mod:`analysis.sweeps`;
        in a draft with :data:`DRAFT_SWEEPS`). ``margin``: C4's non-inferiority margin
        (:data:`analysis.review.MARGIN`).
        """
        design, params = load_design(
            annotations=annotations, labels=labels, dataset_name=dataset_name,
            positive=positive, unit_col=unit_col, rater_col=rater_col, feature_col=feature_col,
            score_col=score_col, label_col=label_col, raters=raters, min_raters=min_raters,
            raters_per_unit=raters_per_unit, seed=seed, sep=sep, decimal=decimal)
        params["margin"] = margin
        quick = bool(quick) or quick_mode()
        b = budgets.REVIEW
        counts = DRAFT if quick else {"repeats": b.repeats, "n_boot": b.n_boot,
                                      "n_permutations": b.n_permutations}
        sweeps = {"multiverse": bool(multiverse), "power": bool(power)}
        if quick:
            sweeps = {k: _draft_sweep(k) if v else False for k, v in sweeps.items()}
        res = analyze.analyze(design, seed=seed, margin=margin, n_jobs=n_jobs, quiet=True,
                              curve=DRAFT_CURVE if quick else True, **counts, **sweeps)
        return cls(params, design, res, counts, quick)

    # --- sentences and tables -----------------------------------------------------------

    @property
    def name(self) -> str:
        return str(self.design.settings.get("name", self.design.group))

    @property
    def draft_banner(self) -> str:
        if not self.quick:
            return ""
        return ("::: {.callout-warning}\nA **draft**: small resampling counts "
                f"({self.counts['repeats']} CV repeats, {self.counts['n_boot']} bootstrap "
                f"replicates, {self.counts['n_permutations']} permutations). The numbers are "
                "rough; render without `quick` for the full review."
                + self._draft_sweep_warning() + "\n:::\n")

    def _draft_sweep_warning(self) -> str:
        """A sentence when an on-request part ran with fewer permutations than
        :data:`analysis.budgets.MIN_PERMUTATIONS` (the drafts' presets), else ""."""
        low = [(name, DRAFT_SWEEPS[name]["n_permutations"]) for name in self.result.sweeps
               if name in DRAFT_SWEEPS
               and DRAFT_SWEEPS[name]["n_permutations"] < budgets.MIN_PERMUTATIONS]
        if not low:
            return ""
        parts = " and ".join(f"the {name} ({n})" for name, n in low)
        return (f" The permutation tests of {parts} use too few permutations for any p-value "
                "below 0.05: their verdicts cannot be \"supported\" in a draft.")

    def excluded_summary(self) -> pd.DataFrame:
        """Units left out, counted by reason (the full list is ``excluded_units.csv``)."""
        ex = dataset.excluded_units(self.design)
        if ex.empty:
            return pd.DataFrame({"reason": ["(none)"], "units": [0], "examples": [""]})
        return (ex.groupby("reason", sort=False)["unit"]
                .agg(units="size", examples=lambda u: ", ".join(map(str, list(u)[:5])))
                .reset_index())

    def excluded_by_class(self) -> pd.DataFrame:
        """Classes of the kept and excluded units, with the data set's class names
        (:func:`analysis.analyze.excluded_by_class`)."""
        neg, pos = self.class_names()
        return analyze.excluded_by_class(self.design).rename(
            columns={"n_negative": f"n_{neg}", "n_positive": f"n_{pos}",
                     "share_positive": f"share_{pos}"})

    def skipped(self) -> pd.DataFrame:
        sk = self.design.skipped
        return sk if len(sk) else pd.DataFrame({"feature_set": ["(none)"], "reason": [""]})

    def auc_table(self) -> pd.DataFrame:
        """Cross-validated AUC with its bootstrap-CV 95% interval, plain maximum likelihood."""
        a = self.result.review.auc_ci
        a = a[a["estimator"] == "mle"]
        return a[["experiment", "feature_set", "cv_auc", "ci_low", "ci_high", "fold_mean_auc",
                  "band_low", "band_high", "share_separated"]]

    def permutation_table(self) -> pd.DataFrame:
        return self.result.review.permutation.summary[
            ["feature_set", "estimator", "observed_auc", "null_mean", "null_q95", "p_value",
             "n_permutations"]]

    def comparison_table(self) -> pd.DataFrame:
        c = self.result.review.comparisons
        if c.empty:
            return pd.DataFrame({"note": ["no comparison could be computed (see notes)"]})
        return c[["part", "set_a", "set_b", "estimator", "test", "auc_a", "auc_b", "diff",
                  "ci_low", "ci_high", "p", "p_holm", "note"]]

    def claims_table(self) -> pd.DataFrame:
        return self.result.claims[["claim", "statement", "ours", "parts_supported", "n_parts",
                                   "verdict"]]

    def parts_table(self) -> pd.DataFrame:
        return self.result.review.parts()[["part", "statement", "estimate", "ci_low", "ci_high",
                                           "p_value", "verdict_mle", "verdict_firth",
                                           "verdict"]]

    def moment_table(self) -> pd.DataFrame:
        pos = str(self.design.settings.get("positive", "positive"))
        out = self.result.review.moment_tests.rename(
            columns={"median_melanoma": f"median_{pos}", "median_non_melanoma": "median_other"}
        )[["feature", "moment", "auc", "auc_ci_low", "auc_ci_high", "p", "p_holm",
           "rank_biserial", "direction"]]
        # the review words the direction for ENHANCE's classes; name the data set's
        out["direction"] = out["direction"].str.replace("non-melanoma", "negative units").str \
            .replace("melanoma", f"{pos} units")
        return out

    def fold_table(self) -> pd.DataFrame:
        fv = self.result.review.fold_variability
        return fv[fv["estimator"] == "mle"][["feature_set", "comparison", "n_folds",
                                             "share_below_half", "share_lower", "fold_auc_sd"]]

    def class_names(self) -> tuple[str, str]:
        """(negative, positive) class names as the labels file writes them."""
        s = self.design.settings
        return str(s.get("negative", "0")), str(s.get("positive", "1"))

    def notes(self) -> list[str]:
        # the sets not built are in their own table
        return list(self.design.settings.get("warnings", [])) + [
            n for n in self.result.notes if not n.startswith("feature set ")]

    # --- the on-request parts ------------------------------------------------------------

    def sweep(self, name: str):
        """The :class:`analysis.sweeps.Sweep` ``multiverse`` or ``power``, or None."""
        return self.result.sweeps.get(name)

    def sweep_text(self, name: str) -> str:
        """Markdown: the sentences of an on-request part, or why it is not shown."""
        sw = self.sweep(name)
        if sw is None:
            return (f"Not run (render with `-P {name}:true`, or `crowd-disagreement analyze "
                    f"--{name}`).")
        lines = prose.sweep_sentences(name, sw) or ["Nothing could be run (see the notes)."]
        return "\n\n".join(lines)

    def multiverse_verdicts(self) -> pd.DataFrame:
        return self.sweep("multiverse").tables()["multiverse_verdicts.csv"]

    def power_table(self) -> pd.DataFrame:
        return self.sweep("power").tables()["power.csv"][
            ["n_images", "n_annotators", "n_datasets", "power", "power_low", "power_high",
             "mean_fold_mean_auc"]]

    def inputs(self) -> pd.DataFrame:
        rows = [(k, v.get("path"), v.get("sha256"))
                for k, v in self.design.settings.get("inputs", {}).items()]
        return pd.DataFrame(rows, columns=["input", "path", "sha256"])


def _draft_sweep(name: str) -> dict:
    """Options of an on-request part in a draft (:data:`DRAFT_SWEEPS`)."""
    from . import multiverse

    opt = dict(DRAFT_SWEEPS[name])
    if "paths" in opt:
        opt["paths"] = multiverse.grid(**{k: (v,) for k, v in opt["paths"]})
    return opt
