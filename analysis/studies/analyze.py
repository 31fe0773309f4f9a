"""The review of any multi-rater data set: what ``crowd-disagreement analyze`` and
``review.qmd`` run.

:func:`analyze` takes the design of a data set (:func:`analysis.design.dataset.load`,
:func:`analysis.design.dataset.load_builtin`) and runs :func:`analysis.studies.review.review` on it,
the same function that reviews the paper's group 7. The review leaves out the claims
whose feature sets a design lacks and says why in ``notes``; nothing is skipped
silently. The units left out are broken down by class, with a test of whether being
left out depends on the label (:func:`excluded_by_class`, ``excluded_by_class.csv``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..base.progress import recording
from ..base.results import StudyResult
from ..design.features import GroupDesign
from ..fitting import models
from ..statistics import cvinference
from . import replication, reproduce, review

__all__ = [
    "Analysis", "EXCLUDED_BY_CLASS_COLUMNS", "STAGES", "analyze", "excluded_by_class",
    "exclusion_notes",
    "incremental_value",
    "grouping_notes",
    "all_units_design",
    "baseline_all_units",
]



@dataclass(frozen=True, kw_only=True, eq=False)
class Analysis(StudyResult):
    """A review of one data set and what of it could not be run (a
    :class:`analysis.base.results.StudyResult`: ``settings`` holds the review's settings and
    the options of the curve and the on-request parts)."""

    design: GroupDesign
    review: review.Review
    #: The claims' verdicts (:func:`analysis.studies.review.claim_verdicts`); their
    #: statements and evidence in words: :func:`analysis.presentation.claims.claims_table`.
    claims: pd.DataFrame
    #: the annotator-count curve (:func:`analysis.studies.replication.design_curve`), or None
    curve: replication.AnnotatorResult | None = None
    #: On-request parts by name (``multiverse``, ``power``): :class:`analysis.studies.sweeps.Sweep`.
    sweeps: dict = field(default_factory=dict)
    #: Wall seconds of each stage, in the order run (:data:`STAGES`; nested stages as
    #: ``outer / inner``, e.g. ``review / fitted models``).
    stage_seconds: dict = field(default_factory=dict)
    #: The mean model on every labelled unit beside the kept units
    #: (:func:`baseline_all_units`), or None.
    baseline: pd.DataFrame | None = None
    #: :func:`incremental_value` of the review (``incremental.csv``), computed once by
    #: :func:`analyze`.
    incremental: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table ``analyze`` writes, by file name: the review's, the units left
        out and the feature sets not built (the review's worded tables, ``claims.csv`` and
        ``tests.csv``, are added by :func:`analysis.presentation.claims.tables`)."""
        from ..design.dataset import excluded_units

        out = self.review.tables()
        out["excluded_units.csv"] = excluded_units(self.design)
        out["excluded_by_class.csv"] = excluded_by_class(self.design)
        out["incremental.csv"] = self.incremental
        out["skipped_feature_sets.csv"] = self.design.skipped
        if self.baseline is not None:
            out["baseline_all_units.csv"] = self.baseline
        if self.curve is not None:
            out["annotator_curve.csv"] = self.curve.summary
            out["annotator_trend.csv"] = self.curve.trend
        for sweep in self.sweeps.values():
            out.update(sweep.tables())
        return out


#: Columns of :func:`excluded_by_class`.
EXCLUDED_BY_CLASS_COLUMNS = ["status", "n_units", "n_negative", "n_positive",
                             "n_label_unknown", "share_positive", "odds_ratio", "fisher_p_value"]
#: ``status`` of the kept units and of all exclusions together.
KEPT, ANY_REASON = "kept", "excluded (any reason)"


def excluded_by_class(design: GroupDesign) -> pd.DataFrame:
    """The classes of the units kept and of the units left out (by reason), with a test
    of whether being left out depends on the label (``excluded_by_class.csv``).

    Parameters
    ----------
    design : GroupDesign
        With ``long`` (the scores and labels of every labelled unit, kept or not).

    Returns
    -------
    DataFrame
        One row per status: ``kept``, each exclusion reason, ``excluded (any reason)``;
        ``n_units``, ``n_negative``, ``n_positive``, ``n_label_unknown`` (a unit without
        a label, or labelled but never annotated, whose label the design does not
        hold), ``share_positive`` (of the units with a known label); for every excluded
        status, ``odds_ratio`` (the odds of being left out for a positive unit over
        those for a negative unit: (excluded positive x kept negative) / (kept positive
        x excluded negative)) and ``fisher_p_value`` (two-sided Fisher's exact test of the
        2 x 2 table kept/excluded x negative/positive, ``scipy.stats.fisher_exact``).

    Notes
    -----
    When how many raters scored a unit is linked to its class (readers mark the
    suspicious cases more often), a rule that keeps units with at least K raters keeps
    the classes in other proportions than the data hold, and the cvAUCs describe the
    kept units only; a small ``fisher_p_value`` says so (:func:`exclusion_notes`).
    """
    from scipy.stats import fisher_exact

    y = design.y.astype(int)
    long = getattr(design, "long", None)
    known = (long.drop_duplicates("image_id").set_index("image_id")["label"].astype(int)
             if long is not None and len(long) else pd.Series(dtype=int))
    ex = design.excluded
    kept_neg, kept_pos = int((y == 0).sum()), int((y == 1).sum())

    def row(status, units):
        lab = known.reindex(pd.Index(units)).dropna().astype(int)
        neg, pos = int((lab == 0).sum()), int((lab == 1).sum())
        odds, p = np.nan, np.nan
        if neg + pos:
            odds, p = fisher_exact([[kept_neg, kept_pos], [neg, pos]])
        return (status, len(units), neg, pos, len(units) - neg - pos,
                pos / (neg + pos) if neg + pos else np.nan, float(odds), float(p))

    rows = [(KEPT, kept_neg + kept_pos, kept_neg, kept_pos, 0,
             kept_pos / (kept_neg + kept_pos) if len(y) else np.nan, np.nan, np.nan)]
    for reason, units in ex.groupby("reason", sort=False)["image_id"]:
        rows.append(row(reason, list(units)))
    if ex["reason"].nunique() > 1:
        rows.append(row(ANY_REASON, list(ex["image_id"])))
    return pd.DataFrame(rows, columns=EXCLUDED_BY_CLASS_COLUMNS)


def exclusion_notes(design: GroupDesign, table: pd.DataFrame | None = None) -> list[str]:
    """A sentence when being left out depends on the label (``fisher_p_value`` of all
    exclusions below :data:`analysis.statistics.cvinference.ALPHA`), else none."""
    table = excluded_by_class(design) if table is None else table
    excl = table[table["status"] != KEPT]
    if excl.empty:
        return []
    test = excl.iloc[-1]  # "excluded (any reason)", or the one reason
    if not test["fisher_p_value"] < cvinference.ALPHA:
        return []
    kept = table.iloc[0]
    pos = design.settings.get("positive", "positive")
    neg = design.settings.get("negative", "negative")
    n_pos, n_neg = test["n_positive"] + kept["n_positive"], test["n_negative"] + kept["n_negative"]
    return [f"which units are kept depends on the label: {int(test['n_positive'])} of {n_pos} "
            f"labelled {pos} units and {int(test['n_negative'])} of {n_neg} {neg} units were "
            f"left out (odds ratio {test['odds_ratio']:.2f}, Fisher's exact p = "
            f"{test['fisher_p_value']:.2g}; excluded_by_class.csv): the kept units are not a "
            "random sample of the labelled ones, so every cvAUC describes the kept units, "
            "and a feature set can gain or lose by which units the rule kept (e.g. the "
            "number of raters of a unit may itself predict the label)"]


#: The models of :func:`incremental_value`: the mean with each disagreement moment, and
#: with all of them, each against the mean alone.
INCREMENTAL_SETS = {"mean+sd": "sd", "mean+skewness": "skewness", "mean+kurtosis": "kurtosis",
                    "moments_all": "sd, skewness and kurtosis"}
#: Columns of :func:`incremental_value` (``incremental.csv``).
INCREMENTAL_COLUMNS = [
    "feature_set", "added", "estimator", "n_units", "n_positive", "cv_auc_mean", "cv_auc_set",
    "estimate", "std_error", "conf_low", "conf_high", "p_value", "verdict_improves", "margin",
    "verdict_no_gain", "lrt_test", "lrt_statistic", "lrt_df", "lrt_p_value",
    "share_separated", "mle_exists", "note"]


def incremental_value(rv: review.Review) -> pd.DataFrame:
    """Does disagreement add to the consensus, and which? (``incremental.csv``)

    For each model of :data:`INCREMENTAL_SETS` the design has and each estimator: the
    gain in cross-validated AUC from adding the disagreement moments to the mean,
    ``estimate`` = cvAUC(mean + moments) - cvAUC(mean) over the same folds of all
    repeats, with its paired bootstrap-CV 95% interval and the one-sided z test that
    adding them improves (:func:`analysis.statistics.cvinference.paired_difference`: ``p_value`` is
    its ``p_greater``); beside it the in-sample likelihood-ratio test that the added
    coefficients are zero (plain LRT for ``mle``, penalised LRT for ``firth``; from
    ``comparisons.csv``, or :func:`analysis.studies.review.nested_tests` for a set it does not
    test, such as all moments at once).

    Returns
    -------
    DataFrame
        Columns :data:`INCREMENTAL_COLUMNS`. ``verdict_improves``: "adding improves"
        under :func:`analysis.statistics.cvinference.verdict_better` (supported when the two-sided
        95% interval lies above 0, i.e. the one-sided p is below 0.025; not supported
        when it lies below 0); ``verdict_no_gain``: "adding does not improve by
        ``margin`` or more" under :func:`analysis.statistics.cvinference.verdict_noninferior`
        (C4's non-inferiority part). ``share_separated``: the share of the set's
        training folds (all repeats) whose data are separated, where plain maximum
        likelihood has no estimate; ``mle_exists``: the model fitted to all units has
        a maximum-likelihood estimate (not separated). ``note`` says when the plain-MLE
        row rests on separated fits, and why an LRT is missing.
    """
    folds = rv.exp.folds
    have = set(folds["feature_set"])
    if "mean" not in have:
        return pd.DataFrame(columns=INCREMENTAL_COLUMNS)
    boot, cmp_ = rv.boot, rv.comparisons
    ci = rv.auc_ci.set_index(["feature_set", "estimator"])
    fit = (rv.model_fit.set_index(["feature_set", "estimator"]) if len(rv.model_fit)
           else pd.DataFrame())
    nested = cmp_[(cmp_["kind"] == "nested") & (cmp_["set_b"] == "mean")]
    extra = [review.nested_tests(rv.design, "mean", fs) for fs in INCREMENTAL_SETS
             if fs in have and fs not in set(nested["set_a"])]
    if extra:  # e.g. all moments at once, which comparisons.csv does not test
        nested = pd.concat([nested, pd.DataFrame([r for rows in extra for r in rows])],
                           ignore_index=True)
    nested = nested.set_index(["set_a", "estimator"])
    margin = float(rv.settings.get("margin", review.MARGIN))
    y = rv.design.labels
    rows = []
    for fs, added in INCREMENTAL_SETS.items():
        if fs not in have:
            continue
        # whether the model fitted to all units has an MLE: a property of the set
        exists = (bool(not fit.loc[(fs, "mle"), "separated"]) if (fs, "mle") in fit.index
                  else not models.fit_logistic(rv.design.matrix(fs), y, "mle").separated)
        for est in rv.exp.estimators:
            fa = folds[(folds["feature_set"] == fs) & (folds["estimator"] == est)]
            fb = folds[(folds["feature_set"] == "mean") & (folds["estimator"] == est)]
            d = cvinference.paired_difference(fa, fb, review.boot_replicates(boot, fs, est),
                                              review.boot_replicates(boot, "mean", est))
            lrt = nested.loc[(fs, est)] if (fs, est) in nested.index else None
            sep = float(ci.loc[(fs, est), "share_separated"])
            notes = []
            if est == "mle" and sep >= 1:
                notes.append("plain maximum likelihood has no estimate in any training fold "
                             "(all separated): the Firth row is the one to read")
            elif est == "mle" and sep > 0:
                notes.append(f"{100 * sep:.0f}% of training folds separated (no MLE there)")
            if lrt is not None and lrt["note"]:
                notes.append(str(lrt["note"]))
            rows.append({
                "feature_set": fs, "added": added, "estimator": est, "n_units": int(len(y)),
                "n_positive": int(y.sum()), "cv_auc_mean": d.auc_b, "cv_auc_set": d.auc_a,
                "estimate": d.diff, "std_error": d.se, "conf_low": d.low, "conf_high": d.high,
                "p_value": d.p_greater,
                "verdict_improves": cvinference.verdict_better(d.diff, d.pvalue),
                "margin": margin,
                "verdict_no_gain": cvinference.verdict_noninferior(d.low, d.high, margin),
                "lrt_test": "" if lrt is None else str(lrt["test"]),
                "lrt_statistic": np.nan if lrt is None else float(lrt["statistic"]),
                "lrt_df": np.nan if lrt is None else float(lrt["df"]),
                "lrt_p_value": np.nan if lrt is None else float(lrt["p_value"]),
                "share_separated": sep, "mle_exists": exists, "note": "; ".join(notes)})
    return pd.DataFrame(rows, columns=INCREMENTAL_COLUMNS)


#: The note recorded when no grouping of the units was given (``group_col``).
NO_GROUPING_NOTE = ("no grouping was given: folds may split units that belong together "
                    "(e.g. nodules of one patient)")


def grouping_notes(design: GroupDesign) -> list[str]:
    """What the analysis assumes about the independence of the units: the note
    :data:`NO_GROUPING_NOTE` without a grouping; with one, how many groups, and which
    parts still treat units as independent."""
    if design.groups is None:
        return [NO_GROUPING_NOTE]
    codes = design.group_codes
    sizes = np.bincount(codes)
    col = design.settings.get("grouping") or "group"
    return [f"units are grouped by {col!r}: {len(sizes)} groups of {sizes.min()} to "
            f"{sizes.max()} kept units; cross-validation folds are stratified group folds "
            "(no group is split), the bootstrap-CV resamples groups (those with and without "
            "a positive unit separately) and permutation tests move a group's labels "
            "together among groups of the same size; the fitted models' likelihood-ratio "
            "tests, the calibration bootstrap, the agreement statistics and the power "
            "simulation's generative model still treat units as independent"]


#: Columns of :func:`baseline_all_units`.
BASELINE_COLUMNS = ["scope", "feature_set", "estimator", "n_units", "n_positive", "n_splits",
                    "estimate", "conf_low", "conf_high", "std_error", "n_boot"]
#: ``scope`` of the rows of :func:`baseline_all_units`.
ALL_UNITS, KEPT_UNITS = "every labelled unit", "kept units"


def all_units_design(design: GroupDesign) -> GroupDesign | None:
    """The design of every labelled unit with at least one score of every feature (the
    rule ``min_raters=1``: a single rater has a mean), from ``design.long``, with the
    design's rater meaning, grouping and rater-count option; None without ``long``."""
    from ..design import features as feat

    long = getattr(design, "long", None)
    if long is None or not len(long):
        return None
    labels = long.drop_duplicates("image_id").set_index("image_id")["label"].astype(int)
    d = feat.design_from_long(long[["image_id", "annotator", "feature", "score"]], labels,
                              features=design.features, raters=design.raters, min_raters=1,
                              seed=int(design.settings.get("seed", models.DEFAULT_SEED)),
                              cohort=design.cohort, group=design.group,
                              label_name=design.y.name or "label")
    d.settings.update({k: design.settings[k] for k in ("positive", "negative", "grouping")
                       if k in design.settings})
    d.groups = design.groups
    if design.settings.get("rater_count") == "covariate":
        feat.add_rater_count(d)
    return d


def baseline_all_units(design: GroupDesign, rv: review.Review, *, repeats: int, n_boot: int,
                       seed: int, n_jobs: int = 1) -> pd.DataFrame:
    """The mean model's cvAUC on every labelled unit beside the kept units
    (``baseline_all_units.csv``).

    Whatever rule chose the kept units (``min_raters``), the mean of the scores is
    defined for every labelled unit that has a score of every feature. The mean model is
    cross-validated on all of them (:func:`all_units_design`) with the review's repeats,
    seed, fold-count rule and bootstrap-CV (grouped when the design is), and set beside
    the review's cvAUC of the same model on the kept units, so that what the rule does to
    the baseline is seen: when the number of raters is linked to the label, the kept
    units can be easier (or harder) than the data.

    Returns
    -------
    DataFrame
        :data:`BASELINE_COLUMNS`: one row per scope (:data:`ALL_UNITS`,
        :data:`KEPT_UNITS`) and estimator; ``estimate`` is the cvAUC, ``conf_low`` /
        ``conf_high`` its bootstrap-CV 95% interval, ``std_error`` the replicates' SD.
        Empty when the design holds no ``long`` table or no ``mean`` set.
    """
    fs = "mean"
    ci = rv.auc_ci
    full = all_units_design(design) if fs in set(ci["feature_set"]) else None
    if full is None:
        return pd.DataFrame(columns=BASELINE_COLUMNS)

    def scope_rows(scope, intervals, d, k):
        return [(scope, fs, r.estimator, d.n_images, d.n_melanoma, k, r.cv_auc, r.conf_low,
                 r.conf_high, r.std_error, r.n_boot) for r in intervals.itertuples()]

    kept = ci[ci["feature_set"] == fs]
    rows = scope_rows(KEPT_UNITS, kept, design, int(rv.settings["n_splits"]))
    if full.y.index.equals(design.y.index):  # no labelled unit left out: the same model
        rows += [(ALL_UNITS, *r[1:]) for r in rows]
        return pd.DataFrame(rows[len(kept):] + rows[:len(kept)], columns=BASELINE_COLUMNS)
    k = cvinference.fold_count(full.labels, groups=full.group_codes).n_splits
    exp = reproduce.run_experiments(full, repeats=repeats, seed=seed, feature_sets=[fs],
                                    estimators=tuple(kept["estimator"]), n_splits=k,
                                    n_jobs=n_jobs, quiet=True)
    boot = review.cv_bootstrap(full, [fs], exp.estimators, n_boot=n_boot, seed=seed,
                               n_splits=k, n_jobs=n_jobs, quiet=True)
    rows += scope_rows(ALL_UNITS, review.auc_intervals(exp, boot), full, k)
    order = {ALL_UNITS: 0, KEPT_UNITS: 1}
    out = pd.DataFrame(rows, columns=BASELINE_COLUMNS)
    return out.sort_values(["scope", "estimator"], key=lambda c: c.map(order) if
                           c.name == "scope" else c, kind="stable").reset_index(drop=True)


#: The stages of :func:`analyze`, each shown with its own line and elapsed time.
STAGES = {
    "cross-validation": "experiments 1-3: cvAUC of every feature set over the CV repeats",
    "review": "bootstrap-CV intervals, permutation tests, fitted models, calibration",
    "baseline on every unit": "the mean model's cvAUC on every labelled unit",
    "annotator curve": "cvAUC against the number of raters",
    "multiverse": "on request",
    "power": "on request",
}


def analyze(
    design: GroupDesign,
    *,
    repeats: int = review.BUDGET.repeats,
    n_boot: int = review.BUDGET.n_boot,
    n_permutations: int = review.BUDGET.n_permutations,
    perm_repeats: int = review.BUDGET.perm_repeats,
    n_seeds: int = review.BUDGET.n_seeds,
    calibration_boot: int | None = None,
    perm_extension: int = review.BUDGET.perm_extension,
    seed: int = models.DEFAULT_SEED,
    margin: float = review.MARGIN,
    n_jobs: int = 1,
    quiet: bool = False,
    curve: bool | dict = True,
    multiverse: bool | dict = False,
    power: bool | dict = False,
) -> Analysis:
    """The statistical review of a data set's design.

    Parameters
    ----------
    design : GroupDesign
        From :func:`analysis.design.dataset.load` or :func:`analysis.design.dataset.load_builtin`.
    repeats, n_boot, n_permutations, perm_repeats, n_seeds, calibration_boot, seed, margin,
    n_jobs, quiet
        As in :func:`analysis.studies.review.review` (``margin``: C4's non-inferiority margin,
        :data:`analysis.studies.review.MARGIN`); ``n_permutations`` at least
        :data:`analysis.base.budgets.MIN_PERMUTATIONS` (39: with fewer, no p-value can fall
        below 0.05); so is ``perm_extension``.
    curve : bool or dict
        Run the annotator-count curve (:func:`analysis.studies.replication.design_curve`, at
        its defaults, or with these keywords: ``max_subsets, repeats, trend_boot``);
        False skips it.
    multiverse, power : bool or dict
        Also run the multiverse (:func:`analysis.studies.sweeps.run_multiverse`) or the power
        simulation (:func:`analysis.studies.sweeps.run_power`); a dict gives their options.

    Returns
    -------
    Analysis
        ``review`` (the :class:`analysis.studies.review.Review`), ``claims`` (the claims'
        verdicts, :func:`analysis.studies.review.claim_verdicts`), ``notes`` (how an
        input file was read when its format was detected, each part not run and why,
        whether being left out depends on the label: :func:`exclusion_notes`),
        ``curve``, ``sweeps`` (the on-request parts run), ``stage_seconds``.

    Raises
    ------
    ValueError
        ``n_permutations`` below :data:`analysis.base.budgets.MIN_PERMUTATIONS`.

    Notes
    -----
    Each stage of :data:`STAGES` run prints a line on stderr when it starts and one with
    its wall time when it ends (unless ``quiet``); stages inside them that time
    themselves (the fitted models, :func:`analysis.statistics.coefficients.fit_models`) are shown
    and recorded as ``review / fitted models``. The cross-validation is run here and
    handed to the review (the same call the review would make), so that its time is
    seen apart.
    """
    from ..base.budgets import check_permutations

    check_permutations(n_permutations)
    t0 = time.perf_counter()
    with recording("analyze", quiet=quiet) as rec:
        with rec.stage("cross-validation"):
            exp = reproduce.run_experiments(design, repeats=repeats, seed=seed,
                                            experiments=(1, 2, 3),
                                            n_splits=cvinference.fold_count(
                                                design.labels,
                                                groups=design.group_codes).n_splits,
                                            n_jobs=n_jobs, quiet=quiet)
        with rec.stage("review"):
            rv = review.review(design, repeats=repeats, n_boot=n_boot,
                               n_permutations=n_permutations, perm_repeats=perm_repeats,
                               n_seeds=n_seeds, calibration_boot=calibration_boot,
                               perm_extension=perm_extension, seed=seed, margin=margin,
                               n_jobs=n_jobs, quiet=quiet, exp=exp)
            inc = incremental_value(rv)
        notes = (list(design.settings.get("input_notes", [])) + grouping_notes(design)
                 + list(rv.notes) + exclusion_notes(design))
        with rec.stage("baseline on every unit"):
            base = baseline_all_units(design, rv, repeats=repeats, n_boot=n_boot,
                                      seed=seed, n_jobs=n_jobs)
        cur = None
        if curve is not False:
            with rec.stage("annotator curve"):
                cur = replication.design_curve(design, seed=seed, n_jobs=n_jobs, quiet=quiet,
                                               **(curve if isinstance(curve, dict) else {}))
            notes += replication.curve_notes(cur)
        from . import sweeps

        parts = {}
        for name, opt, run in (("multiverse", multiverse, sweeps.run_multiverse),
                               ("power", power, sweeps.run_power)):
            if opt:
                kw = opt if isinstance(opt, dict) else {}
                with rec.stage(name):
                    parts[name] = run(design, seed=seed, n_jobs=n_jobs, quiet=quiet, **kw)
        notes += [n for sw in parts.values() for n in sw.notes]
    settings = {"review": rv.settings, "curve": curve, "multiverse": multiverse,
                "power": power}
    return Analysis(design=design, review=rv, claims=review.claim_verdicts(rv), curve=cur,
                    sweeps=parts,
                    stage_seconds=rec.rounded(), settings=settings, notes=notes,
                    elapsed=time.perf_counter() - t0, baseline=base,
                    incremental=inc)
