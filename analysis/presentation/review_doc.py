"""What ``review.qmd`` shows for any data set, computed once.

``review.qmd`` (the parameterised review of a user's data) builds one
:class:`ReviewDoc` from its parameters and only displays its fields, the sentences of
:mod:`analysis.presentation.prose` and the figures of :mod:`analysis.presentation.figures`; every number is
computed here or in the functions it calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..base import budgets
from ..design import dataset
from ..fitting import models
from ..studies import analyze, review
from . import claims, prose
from .report import quick_mode

__all__ = [
    "DRAFT", "DRAFT_CURVE", "DRAFT_SWEEPS", "EXAMPLE", "EXAMPLE_POSITIVE", "ReviewDoc",
    "load_design",
]


#: The annotator-count curve of a draft render (:data:`analysis.base.budgets.CURVE_DRAFT`).
DRAFT_CURVE = {"repeats": budgets.CURVE_DRAFT.repeats,
               "max_subsets": budgets.CURVE_DRAFT.max_subsets,
               "trend_boot": budgets.CURVE_DRAFT.trend_boot}

#: The example data set (``data/examples/make_example.py``) and its positive class.
EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples"
EXAMPLE_POSITIVE = "malignant"
#: Resampling counts of a draft render (``quick=True`` or ``CROWD_DISAGREEMENT_QUICK=1``):
#: :data:`analysis.base.budgets.REVIEW_DOC_DRAFT`.
DRAFT = budgets.as_dict(budgets.REVIEW_DOC_DRAFT)
del DRAFT["budget"]
#: Options of the on-request parts in a draft (:mod:`analysis.studies.sweeps`): the mle paths
#: with 5 folds, and a few studies (:data:`analysis.base.budgets.MULTIVERSE_SWEEP_DRAFT`,
#: :data:`analysis.base.budgets.SIMULATION_SWEEP_DRAFT`).
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
                seed: int = models.DEFAULT_SEED, sep: str = "", decimal: str = "",
                name: str = "", group_col: str = "", rater_count: str = "none"):
    """The design ``review.qmd`` analyses, from its parameters: what
    :meth:`ReviewDoc.build` loads, and what :mod:`analysis.presentation.render` loads first to refuse
    bad input in one line before Quarto starts.

    Empty strings and zeros mean "not given" (Quarto parameters have no None). Without
    ``annotations``, ``labels`` and ``dataset_name``: the example data set. ``name``: the
    data set's name in the document (default: the annotation file's name without its
    extension). ``group_col``: the column holding each unit's group
    (:func:`analysis.design.dataset.load`); ``rater_count``: ``"none"`` or ``"covariate"``.
    Returns the design and the parameters as recorded.

    Raises
    ------
    DatasetError
        From :func:`analysis.design.dataset.load` or :func:`analysis.design.dataset.load_builtin`.
    """
    if not (annotations or labels or dataset_name):
        annotations = _shown(EXAMPLE / "annotations.csv")
        labels = _shown(EXAMPLE / "labels.csv")
        positive = positive or EXAMPLE_POSITIVE
    params = dict(annotations=annotations, labels=labels, dataset=dataset_name, name=name,
                  positive=positive, raters=raters, min_raters=min_raters,
                  raters_per_unit=raters_per_unit, seed=seed, group_col=group_col,
                  rater_count=rater_count or "none")
    opt = {"min_raters": min_raters or None, "raters_per_unit": raters_per_unit or None,
           "seed": seed}
    if dataset_name:
        if group_col:
            raise dataset.DatasetError(dataset_name, "a built-in data set has no grouping of "
                                                     "its units", hint="leave `group_col` out")
        design = dataset.load_builtin(dataset_name, **opt)
        if (rater_count or "none") == "covariate":
            from ..design.features import add_rater_count

            note = add_rater_count(design)
            if note:
                design.settings.setdefault("input_notes", []).append(note)
    else:
        design = dataset.load(annotations, labels, unit_col=unit_col, rater_col=rater_col,
                              feature_col=feature_col, score_col=score_col,
                              label_col=label_col, positive=positive or None,
                              raters=raters or None, sep=sep or None, decimal=decimal or None,
                              name=name or None, group_col=group_col or None,
                              rater_count=rater_count or "none", **opt)
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
              margin: float = budgets.NONINFERIORITY_MARGIN, name: str = "",
              group_col: str = "", rater_count: str = "none") -> ReviewDoc:
        """Load the data set named by the document's parameters and review it.

        Empty strings and zeros mean "not given" (Quarto parameters have no None);
        ``sep`` and ``decimal`` not given are detected (:func:`analysis.design.dataset.load`).
        Without ``annotations``, ``labels`` and ``dataset_name``: the example data set.
        ``multiverse``, ``power``: also run the on-request parts (:mod:`analysis.studies.sweeps`;
        in a draft with :data:`DRAFT_SWEEPS`). ``margin``: C4's non-inferiority margin
        (:data:`analysis.studies.review.MARGIN`).
        """
        design, params = load_design(
            annotations=annotations, labels=labels, dataset_name=dataset_name,
            positive=positive, unit_col=unit_col, rater_col=rater_col, feature_col=feature_col,
            score_col=score_col, label_col=label_col, raters=raters, min_raters=min_raters,
            raters_per_unit=raters_per_unit, seed=seed, sep=sep, decimal=decimal, name=name,
            group_col=group_col, rater_count=rater_count)
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
        :data:`analysis.base.budgets.MIN_PERMUTATIONS` (the drafts' presets), else ""."""
        low = [(name, DRAFT_SWEEPS[name]["n_permutations"]) for name in self.result.sweeps
               if name in DRAFT_SWEEPS
               and DRAFT_SWEEPS[name]["n_permutations"] < budgets.MIN_PERMUTATIONS]
        if not low:
            return ""
        parts = " and ".join(f"the {name} ({n})" for name, n in low)
        return (f" The permutation tests of {parts} use too few permutations for any p-value "
                "below 0.05: their verdicts cannot be \"supported\" in a draft.")

    # --- the user's question first: does disagreement add to the consensus? ---------------

    @property
    def n_units(self) -> int:
        """Units analysed (kept, labelled)."""
        return int(len(self.design.labels))

    def n_text(self) -> str:
        """The analysed units in words, with the classes: "208 units (65 malignant, 143
        benign)"."""
        neg, pos = review.class_words(self.design)
        y = self.design.labels
        return f"{len(y)} units ({int(y.sum())} {pos}, {int(len(y) - y.sum())} {neg})"

    def incremental(self) -> pd.DataFrame:
        """:func:`analysis.studies.analyze.incremental_value` of this review (computed
        once, by :func:`analysis.studies.analyze.analyze`)."""
        return self.result.incremental

    def incremental_table(self) -> pd.DataFrame:
        """The gain of adding each disagreement set to the mean, per estimator."""
        inc = self.incremental()
        if inc.empty:
            return pd.DataFrame({"note": ["the mean and the mean + disagreement models could "
                                          "not both be built (see the notes)"]})
        return inc[["added", "estimator", "n_units", "cv_auc_mean", "cv_auc_set", "estimate",
                    "conf_low", "conf_high", "p_value", "verdict_improves", "verdict_no_gain",
                    "lrt_p_value", "share_separated", "note"]]

    #: Headers of :meth:`incremental_table` in the document.
    INCREMENTAL_HEADERS = {
        "added": "Added to the mean", "cv_auc_mean": "cvAUC mean",
        "cv_auc_set": "cvAUC mean + added", "estimate": "Change",
        "p_value": "p improves (one-sided)", "verdict_improves": "Improves",
        "verdict_no_gain": "No gain >= margin", "lrt_p_value": "p LRT (in sample)"}

    def incremental_text(self) -> str:
        """Markdown: one sentence per disagreement set answering whether it adds to the
        mean, then the sentences reconciling an LRT that disagrees with the cvAUC."""
        inc = self.incremental()
        if inc.empty:
            return "The mean and a mean + disagreement model could not both be built here."
        n = inc["feature_set"].nunique()
        lines = prose.incremental_sentences(inc)
        out = "\n".join(f"- {x}" for x in lines[:n])
        if lines[n:]:
            out += "\n\n" + " ".join(lines[n:])
        return out

    def margin_text(self) -> str:
        return prose.margin_sentence(float(self.result.review.settings["margin"]),
                                     budgets.NONINFERIORITY_MARGIN)

    #: The mean + disagreement model whose odds ratios the first section shows.
    ODDS_SET = "mean+sd"

    def odds_estimator(self) -> str:
        """The estimator the odds ratios are read under: plain MLE when it exists for the
        model fitted to all units, else Firth."""
        fit = self.result.review.model_fit
        row = fit[(fit["feature_set"] == self.ODDS_SET) & (fit["estimator"] == "mle")]
        return "mle" if len(row) and not bool(row["separated"].iloc[0]) else "firth"

    def odds_ratio_table(self) -> pd.DataFrame:
        """Odds ratios per SD of each feature of the mean + sd model fitted to all units,
        both estimators, with 95% intervals (``coefficients.csv``)."""
        c = self.result.review.coefficients
        if c.empty or self.ODDS_SET not in set(c["feature_set"]):
            return pd.DataFrame({"note": [f"{self.ODDS_SET} was not fitted (see the notes)"]})
        c = c[(c["feature_set"] == self.ODDS_SET) & (c["term"] != "(Intercept)")]
        fit = self.result.review.model_fit.set_index(["feature_set", "estimator"])
        out = c.assign(n_units=[int(fit.loc[(self.ODDS_SET, e), "n"]) for e in c["estimator"]])
        return out[["term", "estimator", "n_units", "odds_ratio", "odds_ratio_conf_low",
                    "odds_ratio_conf_high",
                    "p_value", "conf_method", "note"]]

    def odds_ratio_text(self) -> str:
        est = self.odds_estimator()
        fit = self.result.review.model_fit
        row = fit[(fit["feature_set"] == self.ODDS_SET) & (fit["estimator"] == est)]
        if row.empty:
            return ""
        r = row.iloc[0]
        head = (f"The model {self.ODDS_SET} fitted to all {int(r['n'])} units "
                f"({int(r['events'])} events, {r['events_per_variable']:.1f} per predictor). "
                "Each odds ratio is per standard deviation of its feature (features are "
                "z-scored), holding the other features fixed. ")
        if est == "firth":
            head += ("Plain maximum likelihood has no estimate for this model (the data "
                     "are separated): the odds ratios to read are Firth's. ")
        return head + prose.weight_sentence(self.result.review.coefficients, self.ODDS_SET, est)

    def claims_left_out_note(self) -> str:
        return prose.claims_left_out(self.result.claims["claim"], review.CLAIM_IDS,
                                     self.design.skipped, self.design.features)

    def separation_text(self) -> str:
        """Where plain maximum likelihood does not exist (every training fold separated),
        and what the verdicts then rest on; "" when it exists everywhere."""
        a = self.result.review.auc_ci
        a = a[(a["estimator"] == "mle") & (a["share_separated"] >= 1)]
        if a.empty:
            return ""
        sets = ", ".join(a["feature_set"])
        return (f"Plain maximum likelihood has no estimate on any training fold of {sets} "
                "(share separated 1): their plain-MLE cvAUCs rank units by diverging linear "
                "predictors, and for parts on these sets only the Firth verdict "
                "(verdict_firth) rests on an estimate; the combined verdict needs both.")

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
        (:func:`analysis.studies.analyze.excluded_by_class`)."""
        neg, pos = self.class_names()
        return analyze.excluded_by_class(self.design).rename(
            columns={"n_negative": f"n_{neg}", "n_positive": f"n_{pos}",
                     "share_positive": f"share_{pos}"})

    def baseline_table(self) -> pd.DataFrame:
        """The mean model on every labelled unit beside the kept units (plain maximum
        likelihood; :func:`analysis.studies.analyze.baseline_all_units`)."""
        b = self.result.baseline
        if b is None or b.empty:
            return pd.DataFrame({"note": ["not computed (the design holds no scores of the "
                                          "units left out)"]})
        b = b[b["estimator"] == "mle"]
        return b[["scope", "feature_set", "n_units", "n_positive", "estimate", "conf_low",
                  "conf_high"]].rename(columns={"estimate": "cv_auc"})

    def grouping_sentence(self) -> str:
        """Markdown: how the units' grouping entered the resampling, or that none was
        given (:data:`analysis.studies.analyze.NO_GROUPING_NOTE`)."""
        d = self.design
        if d.groups is None:
            return (f"**Note:** {analyze.NO_GROUPING_NOTE}. If units are nested in a higher "
                    "level, name its column with `-P group_col:COLUMN` (`make review "
                    "GROUP_COL=COLUMN`, `crowd-disagreement analyze --group-col COLUMN`).")
        return analyze.grouping_notes(d)[0][0].upper() + analyze.grouping_notes(d)[0][1:] + "."

    def rater_count_sentence(self) -> str:
        """Markdown: whether the number of raters per unit is a covariate."""
        if self.design.settings.get("rater_count") == "covariate":
            return ("The number of raters of each unit is a covariate of every feature set "
                    "(`rater_count: covariate`): each cvAUC and comparison is conditional on "
                    "how many raters scored a unit, and the set `n_raters` shows what the "
                    "count alone predicts.")
        return ("The number of raters of each unit is not a covariate: when it is linked to "
                "the label, a disagreement moment can predict the label only because fewer "
                "(or more) raters looked; `-P rater_count:covariate` adds it to every feature "
                "set.")

    def skipped(self) -> pd.DataFrame:
        sk = self.design.skipped
        return sk if len(sk) else pd.DataFrame({"feature_set": ["(none)"], "reason": [""]})

    def auc_table(self) -> pd.DataFrame:
        """Cross-validated AUC with its bootstrap-CV 95% interval, plain maximum likelihood;
        ``n_folds_separated`` (the first split's folds) and ``share_separated`` (all
        repeats' folds), and where plain maximum likelihood has no estimate on any
        training fold, ``mle`` says so beside the number."""
        a = self.result.review.auc_ci
        a = a[a["estimator"] == "mle"].assign(n_units=self.n_units)
        a = a.assign(mle=["no estimate (all folds separated)" if s >= 1 else ""
                          for s in a["share_separated"]])
        return a[["experiment", "feature_set", "n_units", "cv_auc", "conf_low", "conf_high",
                  "fold_mean_auc", "band_low", "band_high", "n_folds_separated",
                  "share_separated", "mle"]]

    def permutation_table(self) -> pd.DataFrame:
        return self.result.review.permutation.summary.assign(n_units=self.n_units)[
            ["feature_set", "estimator", "n_units", "observed_auc", "null_mean", "null_q95",
             "p_value", "n_permutations"]]

    def comparison_table(self) -> pd.DataFrame:
        c = self.result.review.comparisons
        if c.empty:
            return pd.DataFrame({"note": ["no comparison could be computed (see notes)"]})
        return c.assign(n_units=self.n_units)[
            ["part", "set_a", "set_b", "estimator", "test", "n_units", "auc_a", "auc_b", "diff",
             "conf_low", "conf_high", "p_value", "holm_p_value", "note"]]

    def claims_table(self) -> pd.DataFrame:
        return claims.claims_table(self.result.review).assign(n_units=self.n_units)[
            ["claim", "statement", "n_units", "ours", "parts_supported", "n_parts", "verdict"]]

    def parts_table(self) -> pd.DataFrame:
        return claims.parts_table(self.result.review).assign(n_units=self.n_units)[
            ["part", "statement", "n_units", "estimate", "conf_low", "conf_high", "p_value",
             "verdict_mle", "verdict_firth", "verdict"]]

    def moment_table(self) -> pd.DataFrame:
        """Moments by class: ``n_units`` is the units the moment is defined on (it may be
        tested where its feature set was not built: the set needs it on every kept
        unit); the medians in the classes' names."""
        neg, pos = review.class_words(self.design)
        return self.result.review.moment_tests.rename(
            columns={"median_positive": f"median {pos}", "median_negative": f"median {neg}"}
        )[["feature", "moment", "n_units", "auc", "conf_low", "conf_high", "p_value", "holm_p_value",
           "rank_biserial", f"median {pos}", f"median {neg}", "direction"]]

    def fold_table(self) -> pd.DataFrame:
        fv = self.result.review.fold_variability
        return fv[fv["estimator"] == "mle"].assign(n_units=self.n_units)[
            ["feature_set", "comparison", "n_units", "n_folds", "share_below_half",
             "share_lower", "fold_auc_sd"]]

    def agreement_table(self) -> pd.DataFrame:
        """Krippendorff's alpha (ordinal and interval) and the ICC forms that fit the
        design (:data:`analysis.studies.review.ICC_FORMS`: two-way for persons, one-way for
        positions), per feature and subset, each with the units it used."""
        rv = self.result.review
        ka, icc = rv.krippendorff, rv.icc
        if not len(ka):
            return pd.DataFrame({"note": ["agreement not computed (see notes)"]})
        out = ka.pivot_table(index=["feature", "subset"], columns="level",
                             values="alpha", sort=False).reset_index()
        n = ka.drop_duplicates(["feature", "subset"])[["feature", "subset", "n_targets"]]
        out = out.merge(n.rename(columns={"n_targets": "n_units_alpha"}),
                        on=["feature", "subset"], how="left")
        out = out.rename(columns={"ordinal": "alpha_ordinal", "interval": "alpha_interval"})
        if len(icc):
            single, average = review.ICC_FORMS[self.design.raters]
            i1 = icc[icc["type"] == single][["feature", "subset", "icc", "n_targets"]]
            ik = icc[icc["type"] == average][["feature", "subset", "icc"]]
            out = (out.merge(i1.rename(columns={"icc": single, "n_targets": "n_units_icc"}),
                             on=["feature", "subset"], how="left")
                   .merge(ik.rename(columns={"icc": average}), on=["feature", "subset"],
                          how="left"))
        out["subset"] = out["subset"].replace({"all": "all units"})
        return out

    def agreement_text(self) -> str:
        single, average = review.ICC_FORMS[self.design.raters]
        if self.design.raters == "positions":
            why = ("rater ids are positions (slots filled by different people), so the ICC "
                   f"is the one-way random-effects form ({single} for one rater, {average} "
                   "for the mean of the raters); the two-way forms assume the same raters "
                   "on every unit")
        else:
            why = (f"rater ids are persons, so the ICC is the two-way random-effects form "
                   f"({single} for one rater, {average} for the mean of the raters)")
        return (f"Krippendorff's alpha uses every unit with two scores or more "
                f"(n_units_alpha); the ICC needs a complete table and uses only the units "
                f"every rater (or slot) scored (n_units_icc); {why}.")

    def class_names(self) -> tuple[str, str]:
        """(negative, positive) class names as the labels file writes them ("negative",
        "positive" for 0/1 labels): :func:`analysis.studies.review.class_words`, so that every
        table and figure of the document names the classes alike."""
        return review.class_words(self.design)

    def notes(self) -> list[str]:
        # the sets not built are in their own table
        return list(self.design.settings.get("warnings", [])) + [
            n for n in self.result.notes if not n.startswith("feature set ")]

    # --- the on-request parts ------------------------------------------------------------

    def sweep(self, name: str):
        """The :class:`analysis.studies.sweeps.Sweep` ``multiverse`` or ``power``, or None."""
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
            ["n_images", "n_annotators", "n_datasets", "power", "power_conf_low",
             "power_conf_high", "mean_fold_mean_auc"]]

    def inputs(self) -> pd.DataFrame:
        rows = [(k, v.get("path"), v.get("sha256"))
                for k, v in self.design.settings.get("inputs", {}).items()]
        return pd.DataFrame(rows, columns=["input", "path", "sha256"])


def _draft_sweep(name: str) -> dict:
    """Options of an on-request part in a draft (:data:`DRAFT_SWEEPS`)."""
    from ..studies import multiverse

    opt = dict(DRAFT_SWEEPS[name])
    if "paths" in opt:
        opt["paths"] = multiverse.grid(**{k: (v,) for k, v in opt["paths"]})
    return opt
