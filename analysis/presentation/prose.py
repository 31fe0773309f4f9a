"""The studies' results in sentences: small pure functions from result frames to text.

The study modules return frames; this module (the presentation layer) turns them into
the sentences the report, ``review.qmd`` and the CLI print. Each function reads only the
columns it names, so a test can hand it a two-row frame whose sentence is known.

* the replication over the ENHANCE groups: :func:`verdict_sentences` (built from
  :func:`chance_sentence`, :func:`permutation_sentence`, :func:`pooled_sentences`,
  :func:`independence_sentence`, :func:`mturk_sentence`, :func:`mean_vs_sd_sentence`,
  :func:`consensus_sentences` and :func:`slope_sentences`) and :func:`overlap_sentence`;
* the simulation: :func:`coverage_sentence` and :func:`power_sentence`;
* the multiverse: :func:`survival_sentences` (built from :func:`survival_sentence` and
  :func:`flip_driver_phrase`);
* the on-request parts of :func:`analysis.studies.analyze.analyze`: :func:`sweep_sentences`;
* the review of any data set (``review.qmd``): :func:`data_sentence`,
  :func:`curve_sentence`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..statistics.cvinference import NOT_SHOWN, NOT_SUPPORTED, SUPPORTED, vs_chance
from ..studies import multiverse as mv
from ..studies.replication import (
    CONSENSUS_TOLERANCE,
    GROUP7,
    MTURK,
    PRIMARY_INTERVAL,
    QUANTITIES,
    AnnotatorResult,
    ReplicationResult,
    _study_images,
    band_summary,
    image_overlap,
)
from ..studies.review import DISAGREEMENT
from .present import ESTIMATOR_LABELS, interval_text

__all__ = [
    "band_sentences",
    "c4_power_sentence",
    "c5_interval_sentence",
    "c5_seed_sentence",
    "chance_sentence",
    "correlation_sentences",
    "consensus_sentences",
    "coverage_sentence",
    "coverage_text",
    "curve_sentence",
    "curve_summary",
    "data_sentence",
    "fmt_ci",
    "has_curve",
    "independence_sentence",
    "mean_vs_sd_sentence",
    "meta_method",
    "mturk_sentence",
    "overlap_sentence",
    "permutation_sentence",
    "pooled_sentences",
    "power_sentence",
    "prediction_interval",
    "primary_meta",
    "slope_sentences",
    "strong_regime_sentence",
    "survival_sentence",
    "survival_sentences",
    "flip_driver_phrase",
    "sweep_sentences",
    "verdict_sentences",
    "vs_chance",
    "resting_estimator",
    "incremental_sentence",
    "incremental_sentences",
    "lrt_reconciliation",
    "margin_sentence",
    "weight_sentence",
    "claims_left_out",
    "estimator_sentence",
]

#: Scopes of the pooled sentences, in the order they are said, with their words.
POOLED_SCOPES = (("students_excl_group07", "the student groups other than group 7"),
                 ("students", "all student groups"),
                 ("students_and_mturk", "the student groups and MTurk together"),
                 ("disjoint", "a set of groups that share no image"))


# --------------------------------------------------------------------------- words




def fmt_ci(est: float, lo: float, hi: float, d: int = 3) -> str:
    """``0.712 (95% CI 0.601 to 0.823)``."""
    return f"{est:.{d}f} (95% CI {lo:.{d}f} to {hi:.{d}f})"


# --------------------------------------------------------------------------- replication


def overlap_sentence(images: pd.DataFrame) -> str:
    """One sentence on how many images the groups share, computed from ``images``.

    Parameters
    ----------
    images : DataFrame
        ``cohort, group, image_id`` (``ReplicationResult.images`` or
        :func:`analysis.studies.replication.annotated_images`).

    Returns
    -------
    str
    """
    im = _study_images(images)
    mt_key = "/".join(MTURK)
    g7_key = "/".join(GROUP7)
    sets = {k: frozenset(g["image_id"]) for k, g in im.groupby("study", sort=True)}
    students = {k: v for k, v in sets.items() if k != mt_key}
    parts = []
    if mt_key in sets and students:
        mt = sets[mt_key]
        also = len(mt & frozenset().union(*students.values()))
        inside = sum(1 for v in students.values() if v <= mt)
        parts.append(f"of the {len(mt):,} MTurk images, {also:,} were also rated by student "
                     f"groups, and {inside} of the {len(students)} student groups rated only "
                     f"images that MTurk also rated")
    ov = image_overlap(im)
    st = ov[(ov["group_a"] != mt_key) & (ov["group_b"] != mt_key)]
    if len(st):
        top = st.sort_values(["n_shared", "group_a", "group_b"],
                             ascending=[False, True, True]).iloc[0]
        parts.append(f"student groups share up to {int(top['n_shared'])} images with each "
                     f"other ({top['group_a']} and {top['group_b']})")
        g7 = st[(st["group_a"] == g7_key) | (st["group_b"] == g7_key)]
        if len(g7):
            t7 = g7.sort_values(["n_shared", "group_a", "group_b"],
                                ascending=[False, True, True]).iloc[0]
            other = t7["group_b"] if t7["group_a"] == g7_key else t7["group_a"]
            parts.append(f"group 7 shares {int(t7['n_shared'])} with {other} and images "
                         f"with {int((g7['n_shared'] > 0).sum())} student groups in all")
    if not parts:
        return "No two groups share an image."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _students_outside_group7(groups: pd.DataFrame) -> pd.DataFrame:
    """The sd-feature rows of the student groups other than group 7."""
    sd_rows = groups[groups["feature_set"] == "sd"]
    students = sd_rows[sd_rows["source"] == "student"]
    return students[~((students["cohort"] == GROUP7[0]) & (students["group"] == GROUP7[1]))]


def chance_sentence(groups: pd.DataFrame) -> str:
    """How many student groups outside group 7 have the sd features' bootstrap-CV
    interval above 0.5, and how many below (``groups``: ``ReplicationResult.groups``)."""
    not7 = _students_outside_group7(groups)
    above = int((not7["conf_low"] > 0.5).sum())
    below = int((not7["conf_high"] < 0.5).sum())
    return (
        f"Outside group 7, the disagreement (sd) features alone beat random (bootstrap-CV "
        f"95% CI of the cvAUC above 0.5) in {above} of {len(not7)} student groups, and fall "
        f"below it in {below} (about {0.025 * len(not7):.1f} of each expected by chance "
        f"alone if no group had signal)."
    )


def permutation_sentence(groups: pd.DataFrame) -> str | None:
    """How many student groups outside group 7 the permutation test finds at 5%; None
    when no group was tested."""
    not7 = _students_outside_group7(groups)
    tested = not7[not7["n_permutations"] > 0]
    if not len(tested):
        return None
    n_sig = int((tested["p_value"] < 0.05).sum())
    expected = 0.05 * len(tested)
    return (
        f"By label permutation of the whole cross-validation "
        f"({int(tested['n_permutations'].iloc[0])} permutations per group), the sd features "
        f"beat random at p < 0.05 in {n_sig} of {len(tested)} student groups outside "
        f"group 7 (about {expected:.1f} expected by chance alone; under permutation the "
        f"statistic averages {tested['perm_null_mean'].mean():.3f})."
    )


def primary_meta(meta: pd.DataFrame) -> pd.DataFrame:
    """The rows the sentences quote (``primary`` when the column exists), indexed by
    ``(quantity, scope)``."""
    m = meta[meta["primary"]] if "primary" in meta.columns else meta
    return m.set_index(["quantity", "scope"])


def meta_method(r: pd.Series) -> str:
    """How a pooled row was computed, in words."""
    model = r.get("model", "independent")
    how = ("random effects with the images the groups share in the sampling covariance"
           if model == "overlap" else "random effects")
    if model == "overlap" and r.get("correlation") == "estimated":
        how = ("random effects with the groups' sampling covariances estimated by a "
               "delete-d jackknife")
    if r.get("interval", "wald") == "knha":
        how += ", Hartung-Knapp interval"
    elif r.get("interval") == PRIMARY_INTERVAL:
        how += ", modified Hartung-Knapp interval"
    return how


def prediction_interval(r: pd.Series, shift: float = 0.0) -> str:
    """``; 95% prediction interval for a new group ...``, or "" without one."""
    if "pi_conf_low" not in r or not np.isfinite(r["pi_conf_low"]):
        return ""
    return (f"; 95% prediction interval for a new group {r['pi_conf_low'] + shift:.3f} to "
            f"{r['pi_conf_high'] + shift:.3f}")


def _pooled_ci(r: pd.Series, shift: float = 0.0) -> str:
    return fmt_ci(r["estimate"] + shift, r["conf_low"] + shift, r["conf_high"] + shift)


def pooled_sentences(meta: pd.DataFrame) -> list[str]:
    """The pooled AUC of the sd features, one sentence per scope present
    (:data:`POOLED_SCOPES`); ``meta`` as :func:`primary_meta` returns it."""
    out = []
    for scope, name in POOLED_SCOPES:
        if ("auc_sd_minus_half", scope) not in meta.index:
            continue
        r = meta.loc[("auc_sd_minus_half", scope)]
        verdict = vs_chance(r["conf_low"], r["conf_high"], 0.0)
        which = ""
        if scope == "disjoint":
            which = " (" + ", ".join(str(r["studies"]).split(";")) + ")"
        out.append(
            f"Pooled over {name}{which} (k = {int(r['k'])}, {meta_method(r)}), the AUC of the "
            f"sd features is {_pooled_ci(r, 0.5)}: {verdict} "
            f"(I\u00b2 = {r['i2']:.0f}%{prediction_interval(r, 0.5)})."
        )
    return out


def independence_sentence(allmeta: pd.DataFrame) -> str | None:
    """What treating the groups as independent would give, when the primary pooled row
    of all groups models their shared images; None otherwise."""
    if "model" not in allmeta.columns:
        return None
    meta = primary_meta(allmeta)
    ind = allmeta[(allmeta["quantity"] == "auc_sd_minus_half")
                  & (allmeta["scope"] == "students_and_mturk")
                  & (allmeta["model"] == "independent")
                  & (allmeta["interval"] == PRIMARY_INTERVAL)
                  & (allmeta["scale"] == "identity")]
    if not (len(ind) and ("auc_sd_minus_half", "students_and_mturk") in meta.index):
        return None
    r, i = meta.loc[("auc_sd_minus_half", "students_and_mturk")], ind.iloc[0]
    if r["model"] != "overlap":
        return None
    return (
        f"Treating the groups as independent would give "
        f"{fmt_ci(i['estimate'] + 0.5, i['conf_low'] + 0.5, i['conf_high'] + 0.5)} "
        f"(tau\u00b2 {i['tau2']:.4f} against {r['tau2']:.4f} with the overlap)."
    )


def mturk_sentence(groups: pd.DataFrame) -> str | None:
    """The sd features' AUC on MTurk; None without an MTurk row."""
    sd_rows = groups[groups["feature_set"] == "sd"]
    mt = sd_rows[sd_rows["source"] == "mturk"]
    if not len(mt):
        return None
    r = mt.iloc[0]
    verdict = vs_chance(r["conf_low"], r["conf_high"], 0.5)
    return (
        f"On MTurk ({int(r['n_images'])} images, {int(r['n_melanoma'])} melanomas, "
        f"3 workers per image) the sd features reach AUC "
        f"{fmt_ci(r['auc'], r['conf_low'], r['conf_high'])}: {verdict}."
    )


def mean_vs_sd_sentence(meta: pd.DataFrame, differences: pd.DataFrame) -> str | None:
    """The pooled difference AUC(mean) - AUC(sd) over all groups and how many groups'
    paired intervals exclude 0 either way; None without the pooled row."""
    if ("auc_mean_minus_sd", "students_and_mturk") not in meta.index:
        return None
    r = meta.loc[("auc_mean_minus_sd", "students_and_mturk")]
    d = differences
    return (
        f"The mean features beat the sd features by "
        f"{_pooled_ci(r)} AUC pooled over all "
        f"{int(r['k'])} groups ({meta_method(r)}{prediction_interval(r)}); the paired "
        f"bootstrap-CV interval excludes 0 in favour of the "
        f"mean in {int((d['conf_low'] > 0).sum())} groups and in favour of the sd in "
        f"{int((d['conf_high'] < 0).sum())}."
    )


def curve_summary(summary: pd.DataFrame, metric: str = "repeat_mean_auc_mean"
                  ) -> tuple[list[tuple], dict]:
    """Per group of an annotator curve: the annotators the consensus needs, and the sd
    features' least-squares slope on ``k``.

    Returns
    -------
    need : list of (cohort, group, k_needed, k_max)
        ``k_needed`` is the smallest ``k`` whose mean-feature AUC is within
        :data:`analysis.studies.replication.CONSENSUS_TOLERANCE` of the AUC at ``k_max``.
    slopes : dict (cohort, group) -> (slope, auc at k_min, auc at k_max, k_min, k_max)
        For groups with at least two ``k``.
    """
    need, slopes = [], {}
    for (c, gr), gs in summary.groupby(["cohort", "group"]):
        mean = gs[gs["feature_set"] == "mean"].set_index("k")[metric].sort_index()
        full = mean.iloc[-1]
        k_need = int(mean.index[(mean >= full - CONSENSUS_TOLERANCE).to_numpy()].min())
        need.append((c, gr, k_need, int(mean.index.max())))
        sd = gs[gs["feature_set"] == "sd"].set_index("k")[metric].sort_index()
        if len(sd) >= 2:
            slopes[(c, gr)] = (float(np.polyfit(sd.index.to_numpy(float), sd.to_numpy(), 1)[0]),
                               float(sd.iloc[0]), float(sd.iloc[-1]), int(sd.index[0]),
                               int(sd.index[-1]))
    return need, slopes


def consensus_sentences(need: list[tuple]) -> list[str]:
    """How many annotators the consensus needs: in group 7, and over the groups with at
    least 4 annotators (``need`` from :func:`curve_summary`)."""
    out = []
    n7 = [x for x in need if (x[0], x[1]) == GROUP7]
    if n7:
        out.append(
            f"In group 7 the mean features of {n7[0][2]} of its {n7[0][3]} annotators already "
            f"come within {CONSENSUS_TOLERANCE} AUC of all {n7[0][3]} (mean fold AUC over "
            f"repeats, averaged over subsets)."
        )
    big = [x for x in need if x[3] >= 4]
    if big:
        ks = [x[2] for x in big]
        out.append(
            f"Over the {len(big)} groups with at least 4 annotators per image, the consensus "
            f"needs a median of {np.median(ks):g} annotators (range {min(ks)} to {max(ks)}) to "
            f"come within {CONSENSUS_TOLERANCE} AUC of the full group."
        )
    return out


def slope_sentences(slopes: dict, trend: pd.DataFrame) -> list[str]:
    """Whether the sd features gain signal with more annotators: group 7's slope and the
    signs of the slopes over the groups with at least 4 annotators (``slopes`` from
    :func:`curve_summary`, ``trend``: ``AnnotatorResult.trend``)."""
    out = []
    tr = trend.set_index(["cohort", "group", "feature_set"]) if len(trend) else None

    def _trend(key) -> str:
        if tr is None or (*key, "sd") not in tr.index:
            return ""
        t = tr.loc[(*key, "sd")]
        return (f"; bootstrap 95% CI of the slope {t['conf_low']:+.3f} to {t['conf_high']:+.3f}: "
                f"{t['direction']}")

    if GROUP7 in slopes:
        sl, a0, a1, k0, k1 = slopes[GROUP7]
        out.append(
            f"In group 7 the sd features' average AUC is {a0:.3f} with {k0} annotators and "
            f"{a1:.3f} with {k1} (slope {sl:+.3f} per annotator{_trend(GROUP7)})."
        )
    multi = {key: v for key, v in slopes.items() if v[4] >= 4}
    if multi:
        up = sum(v[0] > 0 for v in multi.values())
        shown = ""
        if tr is not None:
            dirs = [tr.loc[(*key, "sd"), "direction"] for key in multi
                    if (*key, "sd") in tr.index]
            shown = (f"; the bootstrap interval of the slope shows a rise in "
                     f"{dirs.count('rising')} and a fall in {dirs.count('falling')}")
        out.append(
            f"Across the {len(multi)} groups with at least 4 annotators per image, the sd "
            f"features' slope on k is positive in {up} and negative in {len(multi) - up} "
            f"(median {np.median([v[0] for v in multi.values()]):+.3f} per annotator{shown})."
        )
    return out


def verdict_sentences(result: ReplicationResult,
                      curve: AnnotatorResult | None = None) -> list[str]:
    """Short sentences for the report, computed from the tables.

    Parameters
    ----------
    result : ReplicationResult
    curve : AnnotatorResult, optional
        Adds the sentences on the number of annotators.

    Returns
    -------
    list of str

    Notes
    -----
    Pooled sentences use the ``primary`` rows of ``result.meta`` (the overlap
    model with the Hartung-Knapp interval, :func:`analysis.studies.replication.meta_analyse`).
    "Better than random" means the 95% CI of AUC(sd) - 0.5 lies above 0. The
    consensus "needs" ``k`` annotators when ``k`` is the smallest number whose
    AUC of the mean features (mean fold AUC over the repeats, averaged over
    subsets: ``repeat_mean_auc_mean``) is within
    :data:`analysis.studies.replication.CONSENSUS_TOLERANCE` of the AUC with all annotators.
    The sd features "gain" signal with ``k`` when the least-squares slope of the same
    average AUC on ``k`` is positive.
    """
    meta = primary_meta(result.meta)
    out = [chance_sentence(result.groups), permutation_sentence(result.groups),
           *pooled_sentences(meta), independence_sentence(result.meta),
           mturk_sentence(result.groups), mean_vs_sd_sentence(meta, result.differences)]
    out = [s for s in out if s is not None]
    if curve is None or curve.summary.empty:
        return out
    need, slopes = curve_summary(curve.summary)
    return out + consensus_sentences(need) + slope_sentences(slopes, curve.trend)


# --------------------------------------------------------------------------- simulation

def _model_names(data_name: str) -> dict[str, str]:
    """Words for the simulated models of a calibration."""
    return {"permuted": f"label permutations of {data_name}",
            "generative null": "the generative null",
            "fitted": "the calibrated model"}


def _coverage_cell(coverage: pd.DataFrame, model: str, quantity: str, method: str) -> str | None:
    """``95.0% [89.9%, 98.0%]``: one coverage with its Clopper-Pearson interval."""
    c = coverage
    r = c[(c["model"] == model) & (c["quantity"] == quantity) & (c["method"] == method)]
    if r.empty:
        return None
    r = r.iloc[0]
    return f"{r['coverage']:.1%} [{r['coverage_conf_low']:.1%}, {r['coverage_conf_high']:.1%}]"


def _coverage_listing(coverage: pd.DataFrame, names: Mapping[str, str], quantity: str,
                      method: str) -> str:
    """The coverage of one quantity and method under each model, joined by "; "."""
    models_ = [m for m in names if m in set(coverage["model"])]
    parts = [f"{cell} under {names[m]}" for m in models_
             if (cell := _coverage_cell(coverage, m, quantity, method)) is not None]
    return "; ".join(parts)


def _rejection_listing(coverage: pd.DataFrame, names: Mapping[str, str]) -> str | None:
    """The permutation test's rejection rate under each model; None without one."""
    perm = coverage[coverage["method"] == "permutation"].set_index("model")
    if not len(perm):
        return None
    models_ = [m for m in names if m in set(coverage["model"])]
    return "; ".join(f"{perm.loc[m, 'rejection_rate']:.1%} [{perm.loc[m, 'rejection_rate_conf_low']:.1%}, "
                     f"{perm.loc[m, 'rejection_rate_conf_high']:.1%}] under {names[m]}" for m in models_
                     if m in perm.index)


def coverage_text(coverage: pd.DataFrame, settings: Mapping) -> str:
    """The calibration in one paragraph, from its coverage table and settings.

    Parameters
    ----------
    coverage : DataFrame
        ``Calibration.coverage`` (``model, quantity, method, coverage, coverage_conf_low,
        coverage_conf_high, rejection_rate, rejection_rate_conf_low, rejection_rate_conf_high``).
    settings : mapping
        ``Calibration.settings``: ``n_datasets``, ``perm_repeats``, ``n_permutations``,
        ``h`` and optionally ``data_name`` (default "group 7").
    """
    c, st = coverage, settings
    names = _model_names(st.get("data_name", "group 7"))
    shown = c[c["model"].isin(list(names))]
    diffs = sorted(q for q in shown["quantity"].unique() if q.startswith("diff_"))
    out = [f"Over {st['n_datasets']} simulated data sets per model, the 95% bootstrap-CV "
           f"interval of the sd features' cvAUC covered the true value in "
           f"{_coverage_listing(c, names, 'auc_sd', 'bootstrap_cv')}"]
    if diffs:
        a, b = diffs[0][5:].split("_", 1)
        out.append(f"for the paired difference cvAUC({a}) - cvAUC({b}): "
                   f"{_coverage_listing(c, names, diffs[0], 'bootstrap_cv')}")
    out.append(f"the corrected repeated-CV t interval covered "
               f"{_coverage_listing(c, names, 'auc_sd', 'corrected_t')}, "
               f"and DeLong on pooled out-of-fold scores "
               f"{_coverage_listing(c, names, 'auc_sd', 'delong_pooled')} "
               f"(Clopper-Pearson 95% intervals in brackets)")
    rej = _rejection_listing(c, names)
    if rej is not None:
        out.append(f"the repeated-CV permutation test of the sd features ({st['perm_repeats']} "
                   f"fold assignments per statistic, at most {st['n_permutations']} "
                   f"permutations, stopped after {st['h']} exceedances) rejected at 5% in {rej}")
    return ". ".join(x[0].upper() + x[1:] for x in out) + "."


def coverage_sentence(cal) -> str:
    """The calibration in one paragraph (every figure computed from ``cal.coverage``;
    ``cal``: an :class:`analysis.studies.simulate.Calibration`)."""
    return coverage_text(cal.coverage, cal.settings)


def _power_part(n_annotators: int, rows: pd.DataFrame, target: float) -> str:
    """The smallest study size of one annotator count that reaches ``target`` power."""
    ok = rows[rows["power"] >= target]
    if ok.empty:
        return (f"with {n_annotators} annotators no size up to {rows['n_images'].max()} images "
                f"reaches {target:.0%} (at most {rows['power'].max():.0%})")
    r = ok.sort_values("n_images").iloc[0]
    return (f"with {n_annotators} annotators about {int(r['n_images'])} images "
            f"(power {r['power']:.0%}, 95% CI {r['power_conf_low']:.0%} to {r['power_conf_high']:.0%})")


def power_sentence(summary: pd.DataFrame, target: float = 0.8) -> str:
    """How many images and annotators reach the target power (computed from the rows of
    ``Power.summary``: ``n_annotators, n_images, power, power_conf_low, power_conf_high``)."""
    parts = [_power_part(j, g, target) for j, g in summary.groupby("n_annotators", sort=True)]
    return (f"For {target:.0%} power to detect that the sd-only model is better than random "
            f"(permutation test at 5%), a study needs " + "; ".join(parts) + ".")


def c5_seed_sentence(summary: pd.DataFrame, alpha: float = 0.05) -> str | None:
    """C5's verdict over master seeds under each stored setting (rows of
    :func:`analysis.studies.review.c5_seed_summary`): ``old`` (the observed statistic over as
    many fold assignments as a permutation), ``new`` (over all the review's) and
    ``sequential`` (and more permutations while the decision is open, the review's
    rule); None without a stored measurement."""
    if summary is None or summary.empty:
        return None
    s = summary.set_index(["setting", "part"])
    words = {"old": "before, with the observed statistic over "
                    "{obs} fold assignments like each permutation's",
             "new": "with the observed statistic over all {obs} fold assignments",
             "sequential": "now, with that statistic and up to {mx} permutations while the "
                           "decision at 5% is open"}

    def setting_text(k):
        c, b = s.loc[(k, "C5")], s.loc[(k, "C5b")]
        head = words.get(k, k).format(obs=int(c["observed_repeats"]),
                                      mx=int(c.get("max_permutations_used",
                                                   c["n_permutations"])))
        return (f"{head}, the claim's verdict was {c['modal_verdict']} under "
                f"{c['share_agree']:.0%} of the seeds ({c['verdicts']}) and skewness's p-value "
                f"ranged from {b['p_min']:.3f} to {b['p_max']:.3f}")

    settings = list(dict.fromkeys(summary["setting"]))
    n = int(summary["n_seeds"].iloc[0])
    txt = (f"C5's verdict was recomputed under {n} master seeds (each redraws the fold "
           f"assignments, the {int(summary['n_permutations'].iloc[0])} permutations and the "
           f"bootstrap replicates; benchmarks/seed_stability.py): "
           + "; ".join(setting_text(k) for k in settings) + ".")
    last = s.loc[(settings[-1], "C5")]
    if last["share_agree"] < 0.95:
        b = s.loc[(settings[-1], "C5b")]
        txt += (f" The verdict therefore still depends on the seed: skewness's p-value lies "
                f"near {alpha:g} (median {b['p_median']:.3f}), where the Monte Carlo error "
                f"of the permutations moves it across the line. C5b is seed-dependent, and "
                f"the sd part carries C5.")
    return txt


def c5_interval_sentence(perm: Mapping, ci: Mapping, name: str = "skewness") -> str:
    """Why a bootstrap-CV interval containing 1/2 can sit beside a permutation p below
    5% (C5), from the permutation summary row ``perm`` (``p_value``, ``null_sd``) and
    the interval row ``ci`` (``cv_auc, conf_low, conf_high, std_error, p_value``) of the same set."""
    both = (f"The bootstrap-CV interval of {name}, {ci['cv_auc']:.3f} "
            f"[{ci['conf_low']:.3f}, {ci['conf_high']:.3f}] (z-test p {ci['p_value']:.3f}), and its "
            f"permutation p-value, {perm['p_value']:.3f}, ")
    why = ("answer different questions: the permutation test conditions on these images "
           "and asks only whether the labels are exchangeable (its null statistics have SD "
           f"{perm['null_sd']:.3f} around 1/2); the interval (normal on the arcsine-square-root "
           "scale) is for the cvAUC of a new sample of as many images, and its bootstrap SE "
           f"({ci['std_error']:.3f}) includes the resampling of the images. The interval covers "
           "95-98% in the simulations, so it is, if anything, wide. The verdict \"better "
           "than random\" rests on the exact test; the interval says how large the cvAUC "
           "may be.")
    if perm["p_value"] < 0.05 and ci["conf_low"] <= 0.5:
        return both + "seem to disagree but " + why
    return both + "agree; they " + why


def strong_regime_sentence(coverage: pd.DataFrame, settings: Mapping) -> str | None:
    """The strong-signal scenario (:func:`analysis.studies.simulate.calibrate_mean`): how it was
    calibrated and the bootstrap-CV coverage of its cvAUCs and differences; None when
    the calibration has no such scenario.

    Parameters
    ----------
    coverage : DataFrame
        ``Calibration.coverage`` (rows of model ``strong``).
    settings : mapping
        ``Calibration.settings`` (``n_datasets``, ``data_name``, ``strong``).
    """
    info = settings.get("strong")
    c = coverage[(coverage["model"] == "strong") & (coverage["method"] == "bootstrap_cv")]
    if not info or c.empty:
        return None
    c = c.set_index("quantity")
    name = settings.get("data_name", "group 7")

    def cell(q, what):
        r = c.loc[q]
        t = f"{r['truth']:+.3f}" if q.startswith("diff_") else f"{r['truth']:.3f}"
        return (f"{what} (true {t}) in {r['coverage']:.1%} [{r['coverage_conf_low']:.1%}, "
                f"{r['coverage_conf_high']:.1%}] (entirely above the truth in {r['miss_above']:.1%}, "
                f"below in {r['miss_below']:.1%})")

    names = {"auc_mean": "the cvAUC of the mean features", "auc_mean+sd":
             "that of mean + sd", "auc_sd": "that of the sd features",
             "diff_mean_sd": "the difference mean - sd (C4)",
             "diff_mean+sd_mean": "the difference mean + sd - mean (C4's non-inferiority part)"}
    listing = "; ".join(cell(q, w) for q, w in names.items() if q in c.index)
    return (f"A strong-signal scenario matches the mean features as well: the calibrated "
            f"model's latent shift is raised from {info['mu1_calibrated']:.2f} to "
            f"{info['mu1']:.2f} standard deviations, so that its expected cvAUC of the mean "
            f"features, {info['model_mean_cv_auc']:.3f}, equals {name}'s "
            f"{info['target_mean_cv_auc']:.3f}, and its class-dependent noise is scaled by "
            f"{info['noise_factor']:.2f} to bring the sd features back towards "
            f"{info['target_sd_cv_auc']:.3f}; they stay at {info['model_sd_cv_auc']:.3f}"
            + (" (rounding and clipping at the top of the scale give the sd features signal "
               "of their own at that shift, so the two targets cannot both be met)"
               if info["model_sd_cv_auc"] - info["target_sd_cv_auc"]
               > 3 * info["model_sd_cv_auc_se"] else "")
            + f". Over {settings['n_datasets']} data sets of {name}'s size, the 95% "
            f"bootstrap-CV interval covered {listing}.")


def c4_power_sentence(c4: pd.DataFrame) -> str | None:
    """How often C4's parts can be decided at the study's size
    (:func:`analysis.studies.simulate.c4_power`); None without the strong scenario."""
    if c4 is None or c4.empty or "strong" not in set(c4["model"]):
        return None
    s = c4[c4["model"] == "strong"].set_index("quantity")
    f = c4[c4["model"] == "fitted"].set_index("quantity")
    out = []
    if "diff_mean_sd" in s.index:
        r = s.loc["diff_mean_sd"]
        txt = (f"the part \"the mean beats sd\" (paired bootstrap-CV z test at 5%) was "
               f"supported in {r['supported']:.0%} [{r['supported_conf_low']:.0%}, "
               f"{r['supported_conf_high']:.0%}] of studies at a true difference of "
               f"{r['truth']:.3f} (mean SE {r['mean_std_error']:.3f})")
        if "diff_mean_sd" in f.index:
            q = f.loc["diff_mean_sd"]
            txt += (f", and in {q['supported']:.0%} [{q['supported_conf_low']:.0%}, "
                    f"{q['supported_conf_high']:.0%}] under the sd-calibrated model (true difference "
                    f"{q['truth']:.3f})")
        out.append(txt)
    ni = [q for q in s.index if q.startswith("diff_mean+sd")]
    if ni:
        r = s.loc[ni[0]]
        out.append(f"the non-inferiority part \"{r['part'].replace(' (non-inferiority)', '')}\" "
                   f"was supported in "
                   f"{r['supported']:.0%} [{r['supported_conf_low']:.0%}, {r['supported_conf_high']:.0%}] "
                   f"of studies although adding sd truly changes the cvAUC by {r['truth']:+.3f} "
                   f"(mean SE of the difference {r['mean_std_error']:.3f}; refuted in "
                   f"{r['refuted']:.0%})")
    return ("Power of C4 in the strong-signal scenario: " + "; ".join(out) + ".") if out else None


# --------------------------------------------------------------------------- multiverse


def flip_driver_phrase(n_covered: int, conditions, n_flips: int) -> str:
    """One choice level (or pair of levels) on whose every path a verdict flips.

    >>> flip_driver_phrase(4, (("estimator", "firth"),), 6)
    'every path with estimator = firth (4 of 6 flips)'
    >>> flip_driver_phrase(2, (("cv", "5-fold"), ("scaling", "rank")), 6)
    'every path with cv = 5-fold with scaling = rank (2 of 6 flips)'
    """
    where = " with ".join(f"{choice} = {level}" for choice, level in conditions)
    return f"every path with {where} ({n_covered} of {n_flips} flips)"


def survival_sentence(row) -> str:
    """Whether a claim's reference verdict survives every path of the multiverse, and
    otherwise how many paths flip it and which choice levels carry the flips (one row
    of :func:`analysis.studies.multiverse.survival`).

    >>> survival_sentence({"claim": "C4", "reference_verdict": "supported", "n_paths": 8,
    ...                    "n_flips": 0, "estimate_min": 0.1, "estimate_max": 0.2})
    "C4: the verdict 'supported' (paper's choices) survives all 8 paths (estimates 0.100 to 0.200)."
    """
    est = f"estimates {row['estimate_min']:.3f} to {row['estimate_max']:.3f}"
    if row["n_flips"] == 0:
        return (f"{row['claim']}: the verdict '{row['reference_verdict']}' (paper's choices) "
                f"survives all {row['n_paths']} paths ({est}).")
    dist = ", ".join(f"{v} {row[col]}" for v, col in (
        (SUPPORTED, "n_supported"), (NOT_SHOWN, "n_not_shown"),
        (NOT_SUPPORTED, "n_not_supported")))
    drivers = [flip_driver_phrase(n, cond, row["n_flips"]) for n, cond in row["flip_drivers"]]
    return (f"{row['claim']}: the verdict '{row['reference_verdict']}' (paper's choices) flips "
            f"on {row['n_flips']} of {row['n_paths']} paths ({dist}; {est})"
            + (f"; flips involve {'; '.join(drivers)}" if drivers else "") + ".")


def survival_sentences(frame: pd.DataFrame) -> list[str]:
    """One sentence per claim on which verdicts survive every path of the multiverse
    (:func:`survival_sentence` of each row of :func:`analysis.studies.multiverse.survival` of
    the multiverse's rows ``frame``)."""
    return [survival_sentence(r) for r in mv.survival(frame).to_dict("records")]


# --------------------------------------------------------------------------- on-request parts


def sweep_sentences(name: str, sweep) -> list[str]:
    """The sentences of an on-request part of :func:`analysis.studies.analyze.analyze`
    (:class:`analysis.studies.sweeps.Sweep`), from its tables: which verdicts survive the
    multiverse; the calibration and the power of the power simulation. Empty when the
    part did not run."""
    t = sweep.tables()
    if name == "multiverse":
        f = t.get("multiverse.csv")
        return survival_sentences(f) if f is not None and len(f) else []
    if name == "power":
        if "power_coverage.csv" not in t:
            return []
        return [coverage_text(t["power_coverage.csv"], sweep.settings),
                power_sentence(t["power.csv"])]
    raise ValueError(f"unknown on-request part {name!r}")


# --------------------------------------------------------------------------- review.qmd


def data_sentence(design) -> str:
    """What a data set's review analyses: units by class, features, raters per unit,
    what the rater ids are, and the units left out (``design``: a
    :class:`analysis.design.features.GroupDesign` of :func:`analysis.design.dataset.load`)."""
    d = design
    s = d.settings
    pos, neg = s.get("positive", "1"), s.get("negative", "0")
    n_raters = pd.concat({a: d.raw[[f"{f}_{a}" for f in d.features]].notna().any(axis=1)
                          for a in d.annotators}, axis=1).sum(axis=1)
    lo, hi = (int(n_raters.min()), int(n_raters.max())) if len(d.raw) else (0, 0)
    what = "persons" if d.raters == "persons" else "positions (slots filled by any rater)"
    if (pos, neg) == ("1", "0"):
        pos, neg = "positive (label 1)", "negative (label 0)"
    by = f"{lo}" if lo == hi else f"{lo} to {hi}"
    return (f"{d.n_images} units are analysed ({d.n_melanoma} {pos}, "
            f"{d.n_images - d.n_melanoma} {neg}), each rated on {len(d.features)} features "
            f"({', '.join(d.features)}) by {by} raters; rater ids are {what}. "
            f"{len(d.excluded)} units are left out; units need at least "
            f"{s.get('min_raters')} raters on every feature"
            + (f", and exactly {s['raters_per_unit']} raters were drawn per unit (seed "
               f"{s['seed']})" if s.get("raters_per_unit") else "") + ".")


def has_curve(curve) -> bool:
    """Whether an annotator-count curve (an :class:`analysis.studies.replication.AnnotatorResult`
    or None) has points to draw."""
    return curve is not None and not curve.summary.empty


def _curve_method(curve) -> str:
    """How the k raters of a curve were chosen, and the units left out at each k."""
    s = curve.summary.drop_duplicates("k")
    most = curve.manifest_extra["annotator_curve"]["max_subsets"]
    if s["selection"].iloc[0] == "subsets":
        return (f"every subset of k of the {int(s['n_annotators'].iloc[0])} raters (or a "
                f"seeded sample of {most}), the same raters on every unit")
    how = (f"k raters drawn at random for each unit among its own raters "
           f"(up to {most} seeded draws per k; one where every unit has exactly k raters)")
    left = s[s["n_left_out"] > 0]
    if len(left):
        how += "; units with fewer than k raters are left out at that k (" + ", ".join(
            f"k = {r.k}: {r.n_left_out}" for r in left.itertuples(index=False)) + ")"
    return how


def _curve_trend(trend: pd.DataFrame) -> str:
    """The bootstrap trend of each feature set over k, or "" without one."""
    words = [f"{r.feature_set}: slope {r.slope:+.3f} per rater (95% CI "
             f"{r.conf_low:+.3f} to {r.conf_high:+.3f}, {r.direction})"
             for r in trend.itertuples(index=False)]
    return ("; the trend over k, with a bootstrap-over-units interval: "
            + "; ".join(words)) if words else ""


def curve_sentence(curve) -> str:
    """What the annotator-count curve used (subsets or draws, units left out) and its
    trend, in words; or why there is no curve (``curve``: an
    :class:`analysis.studies.replication.AnnotatorResult` or None)."""
    if not has_curve(curve):
        why = "; ".join(curve.skipped["reason"]) if curve is not None and len(curve.skipped) \
            else "not run"
        return f"No annotator-count curve: {why}."
    k_max = int(curve.summary.drop_duplicates("k")["k"].max())
    return (f"The cvAUC of the mean and of the sd across raters when only k raters per "
            f"unit are used, k = 2 to {k_max}: {_curve_method(curve)}"
            f"{_curve_trend(curve.trend)}.")


# --- the estimated correlations and the rho band -----------------------------------

#: Pairs of groups named in :func:`correlation_sentences`: the largest overlap of two
#: student groups, and group 7 with a group whose shared images are all melanomas.
REFEREE_PAIRS = (("2017-2018/group01", "2019-2020/group01"),
                 ("2017-2018/group07", "2019-2020/group06"))
_QUANTITY_WORDS = {"auc_sd_minus_half": "sd cvAUC",
                   "auc_mean_minus_sd": "cvAUC(mean) - cvAUC(sd)"}
_SCOPE_WORDS = {"students": "all student groups",
                "students_excl_group07": "the student groups other than group 7",
                "students_and_mturk": "the student groups and MTurk together"}


def correlation_sentences(correlations: pd.DataFrame,
                          pairs=REFEREE_PAIRS) -> list[str]:
    """Sentences comparing the estimated correlations with the assumed ones.

    Parameters
    ----------
    correlations : DataFrame
        ``ReplicationResult.correlations``.
    pairs : sequence of (str, str)
        Pairs to describe (those absent are skipped).

    Returns
    -------
    list of str
    """
    c = correlations
    est = c[(c["source"] == "estimated") & (c["n_shared"] > 0)]
    if est.empty:
        return []
    out = []
    n_pairs = est[["group_a", "group_b"]].drop_duplicates().shape[0]
    sd = est[est["quantity"] == "auc_sd_minus_half"]
    lo, hi = sd["correlation"].min(), sd["correlation"].max()
    out.append(
        f"Over the {n_pairs} pairs of groups that share images, the estimated correlation "
        f"of the sd cvAUCs ranges from {lo:+.2f} to {hi:+.2f} (median "
        f"{sd['correlation'].median():+.2f}; {int(est['n_boot'].max())} delete-d jackknife "
        f"replicates, the covariance over the two groups' own SEs), against a median of {sd['r_all_images'].median():.2f} under the "
        f"all-image rule n_shared / sqrt(n_a n_b).")
    for a, b in pairs:
        row = est[(est["group_a"] == a) & (est["group_b"] == b)]
        if row.empty:
            continue
        r0 = row.iloc[0]
        per = c[(c["group_a"] == a) & (c["group_b"] == b)
                & (c["source"] == "per-class rho=1")
                & (c["quantity"] == "auc_sd_minus_half")]
        parts = "; ".join(
            f"{_QUANTITY_WORDS[q]} {r.correlation:+.2f} (Monte Carlo 95% interval "
            f"{r.measured_conf_low:+.2f} to {r.measured_conf_high:+.2f})"
            for q in QUANTITIES[::-1] for r in row[row["quantity"] == q].itertuples())
        per_txt = (f", per-class overlap {per['correlation'].iloc[0]:.2f}" if len(per) else "")
        out.append(
            f"{a} and {b} share {int(r0['n_shared'])} images "
            f"({int(r0['n_shared_melanoma'])} melanomas): estimated correlation {parts}; "
            f"assumed at rho = 1: all-image {r0['r_all_images']:.2f}{per_txt}.")
    return out


def band_sentences(sensitivity: pd.DataFrame) -> list[str]:
    """Sentences saying which pooled verdicts hold across the rho band.

    Parameters
    ----------
    sensitivity : DataFrame
        ``ReplicationResult.sensitivity``.

    Returns
    -------
    list of str
    """
    if sensitivity.empty:
        return []
    b = band_summary(sensitivity)
    rhos = sensitivity.loc[sensitivity["correlation"] == "per-class overlap", "rho"].unique()
    out = []
    for r in b.itertuples(index=False):
        what = f"{_QUANTITY_WORDS[r.quantity]}, pooled over {_SCOPE_WORDS.get(r.scope, r.scope)}"
        mc = ""
        if r.within_mc_error:
            lim, se = ((r.conf_low, r.conf_low_mc_std_error) if abs(r.conf_low) <= abs(r.conf_high)
                       else (r.conf_high, r.conf_high_mc_std_error))
            mc = (f" (its interval's limit {lim:+.4f} is within 2 Monte Carlo SEs, "
                  f"{se:.4f}, of 0: another seed of the delete-d jackknife can give the "
                  f"other verdict)")
        if r.holds:
            out.append(f"{what}: {r.verdict} with the estimated correlations{mc} and at "
                       f"every rho of the band ({', '.join(rhos)}).")
        else:
            out.append(f"{what}: {r.verdict} with the estimated correlations{mc}; the band "
                       f"gives another verdict at rho = {r.rho_flips} ({r.band}).")
    return out


# --- review.qmd's first question: does disagreement add to the consensus? -------------


def _p(p: float) -> str:
    """A p-value in a sentence: two significant digits, "< 0.0001" below it."""
    return "< 0.0001" if p < 1e-4 else f"{p:.2g}"


def resting_estimator(rows: pd.DataFrame) -> str:
    """Which estimator a model's verdict rests on, from its :func:`analysis.studies.analyze.
    incremental_value` rows (one per estimator): "firth" when plain maximum likelihood
    has no estimate in any training fold (``share_separated`` 1 in the ``mle`` row) or
    when only Firth was run, else "mle"."""
    mle = rows[rows["estimator"] == "mle"]
    if mle.empty or float(mle["share_separated"].iloc[0]) >= 1:
        return "firth"
    return "mle"


def _verdict_under(rows: pd.DataFrame, column: str) -> tuple[str, str]:
    """The verdict of ``column`` and the words naming the estimators it rests on."""
    est = resting_estimator(rows)
    if est == "firth" and (rows["estimator"] == "mle").any():
        v = rows.loc[rows["estimator"] == "firth", column].iloc[0]
        return v, "under Firth's estimator (plain maximum likelihood has no estimate: every " \
                  "training fold is separated)"
    vals = set(rows[column])
    if len(vals) == 1:
        n = len(rows)
        return vals.pop(), ("under both estimators" if n == 2 else f"under {rows['estimator'].iloc[0]}")
    return "inconclusive", "(the estimators disagree: " + ", ".join(
        f"{r.estimator} {getattr(r, column)}" for r in rows.itertuples(index=False)) + ")"


def incremental_sentence(rows: pd.DataFrame) -> str:
    """One model's answer to "does adding this disagreement to the mean help?" from its
    rows of :func:`analysis.studies.analyze.incremental_value` (one per estimator): the cvAUCs,
    the gain with its 95% interval and one-sided p, whether the improvement is shown,
    and whether a gain of the margin or more is ruled out. The numbers are those of the
    estimator the verdict rests on (:func:`resting_estimator`)."""
    est = resting_estimator(rows)
    r = rows[rows["estimator"] == est].iloc[0]
    improves, under = _verdict_under(rows, "verdict_improves")
    no_gain, _ = _verdict_under(rows, "verdict_no_gain")
    head = (f"Adding {r['added']} to the mean: cvAUC {r['cv_auc_mean']:.3f} -> "
            f"{r['cv_auc_set']:.3f}, a change of "
            f"{interval_text(r['estimate'], r['conf_low'], r['conf_high'], signed=True)} "
            f"(one-sided p {_p(r['p_value'])} for an improvement; "
            f"{ESTIMATOR_LABELS.get(est, est)})")
    if improves == "supported":
        tail = f"disagreement improves on the consensus {under}"
    elif improves == "not supported":
        tail = f"adding it makes discrimination worse {under}"
    elif improves == "inconclusive":
        tail = f"whether it improves is inconclusive {under}"
    else:
        tail = "no improvement is shown"
        if no_gain == "supported":
            tail += f", and a gain of {r['margin']:g} AUC or more is ruled out"
        else:
            tail += (f", and a gain of {r['margin']:g} AUC or more is not ruled out either "
                     "(the interval is too wide to decide)")
    return f"{head}: {tail}."


def incremental_sentences(inc: pd.DataFrame) -> list[str]:
    """The answer to "does disagreement add to the mean?" for every model of
    ``incremental.csv`` (:func:`incremental_sentence`), then the sentences reconciling an
    LRT that disagrees with the cvAUC (:func:`lrt_reconciliation`)."""
    groups = [g for _, g in inc.groupby("feature_set", sort=False)]
    return ([incremental_sentence(g) for g in groups]
            + [x for x in (lrt_reconciliation(g) for g in groups) if x])


def lrt_reconciliation(rows: pd.DataFrame, alpha: float = 0.05) -> str | None:
    """One sentence when the in-sample likelihood-ratio test and the cross-validated
    gain disagree for one model (its :func:`analysis.studies.analyze.incremental_value` rows),
    saying why both can hold; None when they agree or no LRT was computed.

    The LRT asks whether the added coefficients are zero in this sample; the cvAUC gain
    asks whether units the model has not seen are ranked better. A significant LRT
    beside no cross-validated gain means the features fit this sample without ranking
    new units better (or improve calibration rather than ranking); a cross-validated gain
    beside a non-significant LRT means the in-sample evidence is weak, so the gain needs
    confirming."""
    est = resting_estimator(rows)
    r = rows[rows["estimator"] == est].iloc[0]
    p = float(r["lrt_p_value"])
    if not np.isfinite(p):
        return None
    which = "penalised LRT" if est == "firth" else "LRT"
    lrt_sig = p < alpha
    gain = interval_text(r["estimate"], r["conf_low"], r["conf_high"], signed=True)
    if lrt_sig and r["verdict_improves"] == "not supported":
        return (f"For {r['added']}, the {which} finds the added coefficients non-zero in "
                f"sample (p {_p(p)}) but out-of-sample discrimination gets worse ({gain}): "
                "the added features fit this sample and rank new units worse (overfitting).")
    if lrt_sig and r["verdict_no_gain"] == "supported":
        return (f"For {r['added']}, the {which} finds the added coefficients non-zero in "
                f"sample (p {_p(p)}) but out-of-sample discrimination does not change "
                f"measurably ({gain}): the added features fit this sample without ranking "
                "new units better (they may still shift the predicted probabilities).")
    if lrt_sig and r["verdict_improves"] != "supported":
        return (f"For {r['added']}, the {which} finds the added coefficients non-zero in "
                f"sample (p {_p(p)}) while the out-of-sample gain is not shown ({gain}): "
                "the interval is too wide to say whether the features that fit this sample "
                "also rank new units better.")
    if not lrt_sig and r["verdict_improves"] == "supported":
        return (f"For {r['added']}, cross-validated discrimination improves ({gain}) while "
                f"the in-sample {which} does not find the added coefficients non-zero "
                f"(p {_p(p)}): the in-sample evidence is weak, so the gain needs confirming "
                "on other data.")
    return None


def margin_sentence(margin: float, default: float) -> str:
    """Why the non-inferiority margin is what it is: the package's default with its
    reason, or the user's choice."""
    if np.isclose(margin, default):
        return (f"The margin of \"no gain\" is {margin:g} AUC, the package's default: an "
                "improvement smaller than that would not change which summary of the "
                "ratings one would use (about a fifth of the gap between consensus and "
                "disagreement in the paper); set your own with `-P margin:0.02` "
                "(`--margin` of `crowd-disagreement analyze`) when a smaller gain matters "
                "for your use.")
    return (f"The margin of \"no gain\" is {margin:g} AUC, as set for this render "
            f"(`-P margin:` or `--margin`; the package's default is {default:g}).")


def weight_sentence(coefs: pd.DataFrame, feature_set: str, estimator: str) -> str:
    """Which terms of a fitted model carry weight: the disagreement terms (a moment of
    :data:`analysis.studies.review.DISAGREEMENT` of a feature, e.g. ``sd_colour``; not the
    mean, the intercept or a covariate such as the rater count) whose odds-ratio 95%
    interval excludes 1 (``coefs``: rows of ``coefficients.csv``)."""
    c = coefs[(coefs["feature_set"] == feature_set) & (coefs["estimator"] == estimator)]
    c = c[c["term"].str.startswith(tuple(f"{m}_" for m in DISAGREEMENT))]
    if c.empty:
        return ""
    ok = c[np.isfinite(c["odds_ratio_conf_low"]) & np.isfinite(c["odds_ratio_conf_high"])]
    up = ok[ok["odds_ratio_conf_low"] > 1]
    down = ok[ok["odds_ratio_conf_high"] < 1]
    words = [f"{t.term} (odds ratio {t.odds_ratio:.2f} per SD)"
             for t in pd.concat([up, down]).itertuples(index=False)]
    name = ESTIMATOR_LABELS.get(estimator, estimator)
    if not words:
        if ok.empty:
            return (f"No interval could be computed for the disagreement terms of "
                    f"{feature_set} ({name}).")
        return (f"In {feature_set} ({name}), no disagreement term's odds-ratio interval "
                "excludes 1: given the mean, no single disagreement feature carries "
                "weight on its own.")
    return (f"In {feature_set} ({name}), the disagreement terms whose 95% interval excludes "
            f"1, given the mean: {', '.join(words)}; of {len(c)} disagreement terms.")


#: What each claim of the review needs from a data set's design, in words (the note on
#: claims left out, :func:`claims_left_out`).
CLAIM_NEEDS = {
    "C1": "the rater columns, the moments or the mean",
    "C2": "two feature types or more, each with its own feature set",
    "C3": "per-rater feature sets, which need raters who are persons and who each scored "
          "every kept unit",
    "C4": "the mean and the disagreement moments",
    "C5": "the sd or the skewness across raters (skewness needs 3 raters per unit)",
    "C6": "the sd or the skewness across raters",
    "C7": "the sd across raters of each feature, with units of both classes",
}


def estimator_sentence(parts: pd.DataFrame) -> str:
    """Which parts' verdicts depend on the estimator (``part``, ``verdict``: the parts whose
    verdict is "inconclusive", by the rule that a part whose verdict differs between
    plain maximum likelihood and Firth is inconclusive)."""
    dep = parts[parts["verdict"] == "inconclusive"]
    if dep.empty:
        return ("No part's verdict depends on the estimator: plain maximum likelihood "
                "and Firth agree.")
    return ("The verdict of " + ", ".join(dep["part"]) + " depends on the estimator "
            "and is therefore marked inconclusive.")


def claims_left_out(evaluated, all_claims, skipped: pd.DataFrame | None = None,
                    features=()) -> str:
    """The note on the claims a data set's review leaves out: which, and what each
    needs that the design lacks (``evaluated``: the claims in ``claims.csv``;
    ``skipped``: the design's sets not built, ``feature_set, reason``; ``features``:
    the design's feature types, whose own sets C2 needs)."""
    left = [c for c in all_claims if c not in set(evaluated)]
    if not left:
        return "Every claim could be evaluated on this data set."
    parts = [f"{c} (needs {CLAIM_NEEDS.get(c, 'feature sets this design lacks')})" for c in left]
    out = ("Left out, because this data set's design lacks what they need: "
           + "; ".join(parts) + ".")
    if skipped is not None and len(skipped) and "C2" in left:
        why = skipped[skipped["feature_set"].isin(list(features))]
        if len(why):
            out += f" The per-feature sets were not built: {why['reason'].iloc[0]}."
    if skipped is not None and len(skipped) and "C3" in left:
        why = skipped[skipped["feature_set"].astype(str).str.startswith("annotator")]
        if len(why):
            out += f" The per-rater sets were not built: {why['reason'].iloc[0]}."
    return out
