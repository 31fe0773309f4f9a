"""The review's claims in words: the statements, tests and evidence of ``claims.csv`` and
``tests.csv``.

The study layer (:mod:`analysis.studies.review`) decides:
:func:`~analysis.studies.review.part_verdicts` gives every atomic part of a claim its
numbers and verdicts, and what kind of statement it is (``kind``) about which feature sets
(``set_a``, ``set_b``);
:func:`~analysis.studies.review.claim_verdicts` and
:func:`~analysis.studies.review.hypothesis_tests` give the claims' verdicts and every test's
p-values. This module words them, one small function per column
(:func:`part_statement`, :func:`part_quantity`, :func:`part_test`, :func:`part_paper`,
:func:`part_evidence`), and builds the worded tables the CLI writes (:func:`tables`) and
the report and ``review.qmd`` show (:func:`parts_table`, :func:`claims_table`,
:func:`tests_table`). It also holds the claims' statements (:data:`CLAIMS`,
:func:`general_claims`), the estimand (:data:`ESTIMAND`) and the verdict rules in words
(:func:`verdict_rules`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..design.features import GroupDesign
from ..studies import review
from ..studies.review import (
    GOOD_AUC,
    MARGIN,
    PAPER_GOOD_AUC,
    UNDECIDABLE_POWER,
    Review,
    class_words,
    is_paper_design,
)
from .present import interval_text

__all__ = [
    "CLAIMS", "CLAIM_COLUMNS", "ESTIMAND", "GENERAL_CLAIMS", "PART_COLUMNS", "TEST_COLUMNS",
    "VERDICT_RULES", "c5_evidence", "claims_long", "claims_table", "general_claims",
    "noninferiority_evidence", "part_evidence", "part_paper", "part_quantity",
    "part_statement", "part_test", "parts_table", "positive_words", "tables",
    "tests_table", "verdict_rules",
]

#: The paper's claims (Cheplygina & Pluim 2018, Section 3), by id
#: (:data:`analysis.studies.review.CLAIM_IDS`).
CLAIMS = {
    "C1": "Crowd visual assessments predict melanoma (all 30 features, AUC 0.96)",
    "C2": "Feature types differ; color is best (0.93), then border (0.82) and dermoscopic "
          "structures (0.81)",
    "C3": "Every single annotator predicts well (AUC 0.90-0.98)",
    "C4": "The mean (consensus) performs best (0.99): removing disagreement works best",
    "C5": "Disagreement alone is better than random (sd 0.71, skewness 0.73)",
    "C6": "Disagreement results vary strongly across folds; in some folds they hurt",
    "C7": "For asymmetry, border, color and dermoscopic structures, non-melanoma images "
          "more often show high disagreement",
}

#: The same questions for any data set (:func:`analysis.design.dataset.load`): what the claims
#: ask when the features, raters and classes are a user's.
GENERAL_CLAIMS = {
    "C1": "The annotations predict the label (all rater columns, or all moments)",
    "C2": "Feature types differ in how well they predict the label",
    "C3": "Every single rater predicts well",
    "C4": "The consensus (mean) performs best: removing disagreement works best",
    "C5": "Disagreement alone is better than random",
    "C6": "Disagreement results vary across folds more than sampling explains",
    "C7": "Raters disagree less on positive units (sd lower in positives)",
}


def general_claims(design: GroupDesign) -> dict[str, str]:
    """:data:`GENERAL_CLAIMS` in a data set's words: a user's positive class named in C7
    (ENHANCE's groups keep "positive units")."""
    if review.is_enhance_design(design):
        return dict(GENERAL_CLAIMS)
    pos = class_words(design)[1]
    return {**GENERAL_CLAIMS,
            "C7": f"Raters disagree less on {pos} units (sd lower in {pos} units)"}


ESTIMAND = """\
The estimand is the **cross-validated AUC** (cvAUC): the AUC of each fold's model on
its own test fold, averaged over the ten folds of repeated stratified 10-fold
cross-validation. It is the paper's statistic (the mean fold AUC) averaged over fold
assignments, so that no number rests on one split, and it never ranks the scores of
different fold models against each other: under plain maximum likelihood a separated
fold's linear predictor diverges, and scores pooled across folds would rank images
mostly by the fold they were in. Under the null every fold AUC has expectation 1/2."""


def verdict_rules(margin: float = MARGIN, good_auc: float = GOOD_AUC, *,
                  cite: bool = False) -> str:
    """The verdict rules in words, at the review's margin and C3 threshold; ``cite``
    gives the references as Quarto citations (a document with a bibliography), else
    in words."""
    refs = (("@chen2012hypothesis", "[@hosmer2013applied]") if cite else
            ("Chen, Petrick & Sahiner (2012)", "(Hosmer, Lemeshow & Sturdivant 2013)"))
    return _VERDICT_RULES.format(margin=margin, good_auc=good_auc,
                                 paper_auc=PAPER_GOOD_AUC,
                                 undecidable=f"{100 * UNDECIDABLE_POWER:.0f}%",
                                 ref_margin=refs[0], ref_auc=refs[1])


_VERDICT_RULES = """\
Every claim is split into **atomic parts**, each with its own estimate, 95% interval,
test and verdict. A part is **supported** when its evidence holds under both
estimators (plain maximum likelihood and Firth): for "A is better than B" or "better
than random", the test is significant at 5% in the claimed direction; for "adding
disagreement does not improve on the mean", the upper end of the 95% interval of the
improvement lies below the margin of {margin} AUC (non-inferiority); for "predicts well",
the lower end of the 95% interval lies above {good_auc:.2f}; for "varies more than
sampling gives", the one-sided simulation test is significant at 5%. A part is **not
supported** only when a test in the opposite direction is significant: a significant
difference against the claim (two-sided test at 5%, i.e. one-sided at 2.5%), an
interval entirely below the threshold (one-sided at 2.5%), a significant improvement
from adding disagreement (the interval of the improvement above 0), a fold spread
significantly below what sampling gives (the lower tail of the same simulated
reference, at 5%). An estimate that merely falls short of the claim is not evidence
against it. A part the data cannot decide is **not shown**; a non-inferiority part
whose chance of being shown when adding disagreement changes nothing (its power, from
its own standard error) is below {undecidable} is marked as not decidable at this sample
size. The margin of {margin} AUC is this review's choice, stated before the results: about
a fifth of the gap between the paper's mean (0.99) and disagreement (0.71-0.73)
results, so that an improvement smaller than it would not change the paper's ranking
(how a non-inferiority test of AUCs is stated, analysed and sized in reader studies,
and how the margin, the effect size and the sample size interact, is set out by
{ref_margin}; the value is not taken from that paper); a reader who needs another margin sets it (`margin`). The threshold {good_auc:.2f} is the lower end of "excellent" discrimination
{ref_auc}; the paper's own level, {paper_auc:.2f}, is given beside each C3
part. A part whose verdict
differs between estimators is **inconclusive**. A claim is **supported** only if every
part is, **not supported** if any part is not supported, and **inconclusive**
otherwise. A claim needs all its parts, so each part is tested at 5% without
adjustment (an intersection-union test keeps the chance of wrongly calling the claim
supported at 5%); Holm-adjusted p-values are listed beside the raw ones. Intervals are
bootstrap-CV intervals (images resampled within class, the cross-validation refitted
inside each replicate); an interval of a cvAUC is computed on the arcsine-square-root
scale, so that it stays inside [0, 1] and does not miss from above more often than
from below near the ceiling, and its coverage is checked by simulation; "better than random" is tested by label permutation of the whole repeated
cross-validation."""

#: The verdict rules at the default margin and threshold.
VERDICT_RULES = verdict_rules()


#: Columns of ``claims.csv``'s part rows (:func:`parts_table`).
PART_COLUMNS = ["claim", "part", "statement", "paper", "quantity", "estimate", "conf_low",
                "conf_high", "test", "p_value", "verdict_mle", "verdict_firth", "verdict",
                "firth_estimate", "firth_conf_low", "firth_conf_high", "firth_p_value", "evidence",
                "power"]
#: Columns of ``claims.csv``'s claim rows (:func:`claims_table`).
CLAIM_COLUMNS = ["claim", "statement", "paper", "ours", "n_parts", "parts_supported",
                 "verdict", "evidence"]
#: Columns of ``tests.csv`` (:func:`tests_table`).
TEST_COLUMNS = ["family", "test", "hypothesis", "estimator", "p_value", "adjustment",
                "adjusted_p_value"]


def positive_words(design: GroupDesign) -> tuple[str, str]:
    """The positive class in the parts' words, plural and singular: ENHANCE's
    "melanomas" on the paper's group 7, "positives" on another ENHANCE group, a user's
    class name ("nodule units")."""
    if review.is_enhance_design(design):
        pos = "melanomas" if is_paper_design(design) else "positives"
    else:
        pos = f"{class_words(design)[1]} units"
    return pos, pos[:-1]


def part_statement(row, *, paper: bool, positives: str, margin: float = MARGIN) -> str:
    """What a part (a row of :func:`analysis.studies.review.part_verdicts`) claims, in
    symbols: "cvAUC(color) > cvAUC(border)"; ``paper`` words C1 on all 30 features as
    the paper does; ``positives`` names the positive class in C7 (:func:`positive_words`)."""
    a, b = row.set_a, row.set_b
    return {
        "above_half": ("cvAUC of all 30 features > 0.5" if paper and a == "all"
                       else f"cvAUC of {a} > 0.5"),
        "better": f"cvAUC({a}) > cvAUC({b})",
        "noninferior": (f"cvAUC({a}) - cvAUC({b}) < {margin:g} "
                        "(adding disagreement does not improve)"),
        "types_differ": "the feature types' cvAUCs are not all equal",
        "good_auc": f"cvAUC({a}) > {GOOD_AUC:.2f}",
        "permutation": f"cvAUC({a}) > 0.5",
        "fold_sd": f"{a}: fold AUCs vary more than test-fold sampling gives",
        "fold_below_half": f"{a}: more folds below 0.5 than test-fold sampling gives",
        "lower_in_positives": f"sd of {a} lower in {positives}",
    }[row.kind]


def part_quantity(row, *, positives: str) -> str:
    """The quantity a part's estimate measures."""
    pos_one = positives[:-1]
    return {
        "above_half": "cvAUC", "good_auc": "cvAUC", "permutation": "cvAUC",
        "better": "difference of cvAUC", "noninferior": "difference of cvAUC",
        "types_differ": "range of cvAUC over types",
        "fold_sd": "SD of fold AUCs", "fold_below_half": "share of folds below 0.5",
        "lower_in_positives": (f"AUC of sd ({pos_one} as positive; "
                               f"< 0.5 = lower in {positives})"),
    }[row.kind]


_FOLD_TEST = ("simulation of a fixed model's test folds, as many fold assignments as "
              "observed (one-sided; lower tail refutes)")


def _indexed(rv: Review) -> SimpleNamespace:
    """The review's tables the words read, indexed once (by feature set or part, and
    estimator), with the first estimator, under which the words quote numbers."""
    fv = rv.fold_variability
    mt = rv.moment_tests
    return SimpleNamespace(
        est0=rv.exp.estimators[0],
        ci=rv.auc_ci.set_index(["feature_set", "estimator"]),
        perm=rv.permutation.summary.set_index(["feature_set", "estimator"]),
        cmp=rv.comparisons.set_index(["part", "estimator"]),
        fv=fv[fv["comparison"] == ""].set_index(["feature_set", "estimator"]),
        sd=mt[mt["moment"] == "sd"].drop_duplicates("feature").set_index("feature"))


def part_test(row, rv: Review, margin: float = MARGIN, *,
              idx: SimpleNamespace | None = None) -> str:
    """The test or rule that decides a part, with its sizes (degrees of freedom, fold
    assignments) read from ``rv`` (``idx``: its tables indexed, as :func:`parts_table`
    passes them)."""
    kind = row.kind
    if kind in ("types_differ", "permutation"):
        idx = _indexed(rv) if idx is None else idx
    if kind == "types_differ":
        return (f"Wald chi-square, {int(idx.cmp.loc[('C2*', idx.est0), 'df'])} df "
                "(bootstrap-CV covariance)")
    if kind == "permutation":
        pm = idx.perm.loc[(row.set_a, idx.est0)]
        n_obs = int(pm.get("observed_repeats", pm["cv_repeats"]))
        return (f"label permutation of the repeated CV ({n_obs} fold assignments observed, "
                f"{int(pm['cv_repeats'])} per permutation)")
    return {
        "above_half": "bootstrap-CV z test", "better": "paired bootstrap-CV z test",
        "noninferior": f"non-inferiority: upper 95% limit < {margin:g}",
        "good_auc": f"lower 95% limit > {GOOD_AUC:.2f}",
        "fold_sd": _FOLD_TEST, "fold_below_half": _FOLD_TEST,
        "lower_in_positives": "Mann-Whitney (two-sided)",
    }[kind]


#: The paper's number for C2's comparisons of color with each other type.
_PAPER_C2 = {"asymmetry": "0.93 vs 0.78 or 0.73", "border": "0.93 vs 0.82",
             "dermoscopic_structures": "0.93 vs 0.81", "blue_glow": "0.93 vs 0.73"}


def part_paper(row) -> str:
    """The paper's number (or words) for a part of the paper's group 7."""
    kind = row.kind
    if kind == "better":
        return _PAPER_C2.get(row.set_b, "0.99 vs 0.71-0.73" if row.claim == "C4" else "")
    if kind == "permutation":
        return {"sd": "0.71", "skewness": "0.73"}.get(row.set_a, "")
    return {"above_half": "0.96", "noninferior": "mean best (0.99)",
            "types_differ": "types differ", "good_auc": "0.90-0.98",
            "fold_sd": "high variability", "fold_below_half": "high variability",
            "lower_in_positives": "Figure 4"}[kind]


def noninferiority_evidence(power: float, n_units: int) -> str:
    """Evidence text of a non-inferiority part: its power when adding disagreement changes
    nothing, and, below :data:`analysis.studies.review.UNDECIDABLE_POWER`, that the sample
    cannot decide it."""
    if not np.isfinite(power):
        return ""
    if power < UNDECIDABLE_POWER:
        return (f"cannot be decided at n = {n_units}: power {100 * power:.0f}% "
                "(chance of showing it if adding disagreement changes nothing)")
    return f"power {100 * power:.0f}% if adding disagreement changes nothing"


def c5_evidence(perm_row, ci_row, n_seeds: int) -> str:
    """C5's evidence in words: the p-value's spread over other master seeds and, when
    the bootstrap-CV interval contains 1/2 beside a permutation p below 5%, why the two
    do not contradict each other.

    They answer different questions. The permutation test conditions on these images
    and asks whether the labels are exchangeable (null: no association); its null
    statistic is centred at 1/2 with the SD of the permuted statistics. The bootstrap-CV
    interval is a normal interval for the cvAUC of a new sample of as many images,
    with the SD of refitted bootstrap replicates as SE; that SE includes the
    variability of resampling the images and of the refitted folds, it is larger than
    the null SD, and the interval covers 95-98% (conservative) in the simulations.
    The verdict of "better than random" rests on the exact test; the interval says how
    large the cvAUC may be.
    """
    out = []
    if n_seeds and np.isfinite(perm_row["seed_min_p_value"]):
        out.append(f"p over {n_seeds} other seeds: {perm_row['seed_min_p_value']:.3f} to "
                   f"{perm_row['seed_max_p_value']:.3f} "
                   f"(median {perm_row['seed_median_p_value']:.3f})")
    if perm_row["p_value"] < review.ALPHA and ci_row["conf_low"] <= 0.5:
        out.append(f"the bootstrap-CV interval contains 0.5 (z-test p {ci_row['p_value']:.3f}) "
                   f"beside permutation p {perm_row['p_value']:.3f}: the interval is for a "
                   f"new sample of images (SE {ci_row['std_error']:.3f}), the test is exact for no "
                   f"association on these images (null SD {perm_row['null_sd']:.3f}); the verdict "
                   f"rests on the test")
    return "; ".join(out)


#: C6's columns of ``fold_variability``: (observed, expected from sampling, lower-tail p).
_C6_COLUMNS = {"fold_sd": ("fold_auc_sd", "expected_sd", "sd_lower_p_value"),
               "fold_below_half": ("share_below_half", "expected_below_half",
                                   "below_lower_p_value")}


def part_evidence(row, rv: Review, *, idx: SimpleNamespace | None = None) -> str:
    """A part's evidence beside its verdict, with the numbers read from ``rv`` (under
    its first estimator; ``idx``: its tables indexed, as :func:`parts_table` passes
    them): a non-inferiority part's power, C2*'s chi-square, a C3 part's verdict at the
    paper's level, C5's spread over seeds, C6's observed and expected values, C7's
    direction and rank-biserial correlation; "" for the others."""
    kind = row.kind
    if kind == "noninferior":
        return noninferiority_evidence(row.power, int(len(rv.design.labels)))
    if kind == "good_auc":
        return f"at the paper's level {PAPER_GOOD_AUC:.2f}: {row.paper_level_verdict}"
    if kind not in ("types_differ", "permutation", "lower_in_positives", *_C6_COLUMNS):
        return ""
    idx = _indexed(rv) if idx is None else idx
    if kind == "types_differ":
        return f"chi-square {idx.cmp.loc[('C2*', idx.est0), 'statistic']:.2f}"
    if kind == "permutation":
        key = (row.set_a, idx.est0)
        return c5_evidence(idx.perm.loc[key], idx.ci.loc[key], int(rv.settings.get("n_seeds", 0)))
    if kind in _C6_COLUMNS:
        col, exp_col, lcol = _C6_COLUMNS[kind]
        r = idx.fv.loc[(row.set_a, idx.est0)]
        return (f"observed {r[col]:.3f}, expected from sampling {r[exp_col]:.3f}, "
                f"p lower {r[lcol]:.3f}")
    r = idx.sd.loc[row.set_a]
    return f"{r['direction']}, rank-biserial {r['rank_biserial']:+.2f}"


def parts_table(rv: Review, parts: pd.DataFrame | None = None) -> pd.DataFrame:
    """``claims.csv``'s part rows: every part of :func:`analysis.studies.review.part_verdicts`
    with its statement, the paper's number, its quantity, test and evidence in words
    (:data:`PART_COLUMNS`)."""
    parts = review.part_verdicts(rv) if parts is None else parts
    paper = is_paper_design(rv.design)
    margin = float(rv.settings.get("margin", MARGIN))
    positives = positive_words(rv.design)[0]
    idx = _indexed(rv)
    rows = [{"statement": part_statement(r, paper=paper, positives=positives, margin=margin),
             "paper": part_paper(r) if paper else "",
             "quantity": part_quantity(r, positives=positives),
             "test": part_test(r, rv, margin, idx=idx), "evidence": part_evidence(r, rv, idx=idx)}
            for r in parts.itertuples()]
    words = pd.DataFrame(rows, index=parts.index,
                         columns=["statement", "paper", "quantity", "test", "evidence"])
    return pd.concat([parts, words], axis=1)[PART_COLUMNS]


def claims_table(rv: Review, parts: pd.DataFrame | None = None) -> pd.DataFrame:
    """``claims.csv``'s claim rows: each claim's statement, the paper's number, ours, its
    verdict from its parts (:func:`analysis.studies.review.claim_verdicts`) and its parts'
    evidence in words (:data:`CLAIM_COLUMNS`); ``parts`` is :func:`parts_table` of ``rv``."""
    parts = parts_table(rv) if parts is None else parts
    ci = rv.auc_ci.set_index(["feature_set", "estimator"])
    perm = rv.permutation.summary.set_index(["feature_set", "estimator"])
    anns = [fs for fs in ci.index.get_level_values(0).unique() if fs.startswith("annotator_")]

    est0 = rv.exp.estimators[0]
    have = set(ci.index.get_level_values(0))

    def cv(fs):
        if fs not in have:
            return ""
        r = ci.loc[(fs, est0)]
        return interval_text(r["cv_auc"], r["conf_low"], r["conf_high"])

    def perm_p(fs):
        return (f" (p {perm.loc[(fs, est0), 'p_value']:.3f})"
                if (fs, est0) in perm.index else "")

    is_paper = is_paper_design(rv.design)
    c1 = next((fs for fs in ("all", "moments_all", "mean") if fs in have), None)
    types = [t for t in rv.design.features if t in have]
    ours = {
        "C1": cv(c1) if c1 else "",
        "C2": ", ".join(f"{t.replace('_', ' ')} {ci.loc[(t, est0), 'cv_auc']:.2f}" for t in
                        sorted(types, key=lambda t: -ci.loc[(t, est0), "cv_auc"])),
        "C3": (f"{min(ci.loc[(a, est0), 'cv_auc'] for a in anns):.2f}-"
               f"{max(ci.loc[(a, est0), 'cv_auc'] for a in anns):.2f}") if anns else "",
        "C4": f"mean {cv('mean')}",
        "C5": "; ".join(f"{m} {cv(m)}{perm_p(m)}" for m in ("sd", "skewness") if m in have),
        "C6": "see parts",
        "C7": "see parts",
    }
    paper = ({"C1": "0.96", "C2": "color 0.93, border 0.82, dermoscopic 0.81",
              "C3": "0.90-0.98", "C4": "0.99", "C5": "sd 0.71, skewness 0.73",
              "C6": "high variability; some folds below 0.5",
              "C7": "sd higher in non-melanoma for A-D (Figure 4)"} if is_paper else {})
    statements = CLAIMS if is_paper else general_claims(rv.design)
    evidence = {
        claim: "; ".join(
            f"{r.part} {r.statement}: {r.verdict}"
            + f" ({interval_text(r.estimate, r.conf_low, r.conf_high, signed=r.quantity.startswith('diff'))})"
            + (f", {r.evidence}" if r.evidence else "") for r in g.itertuples())
        for claim, g in parts.groupby("claim", sort=False)}
    out = review.claim_verdicts(rv, parts)
    out = out.assign(statement=out["claim"].map(statements),
                     paper=out["claim"].map(lambda c: paper.get(c, "")),
                     ours=out["claim"].map(ours), evidence=out["claim"].map(evidence))
    return out[CLAIM_COLUMNS]


def claims_long(rv: Review, parts: pd.DataFrame | None = None) -> pd.DataFrame:
    """``claims.csv``: one row per claim (``level`` "claim") followed by one row per
    atomic part (``level`` "part"); ``parts`` is :func:`parts_table` of ``rv``."""
    p = parts_table(rv) if parts is None else parts
    c = claims_table(rv, p).assign(level="claim", part="")
    out = pd.concat([c, p.assign(level="part")], ignore_index=True)
    order = {k: i for i, k in enumerate(review.CLAIM_IDS)}
    out = out.sort_values(["claim", "level", "part"], key=lambda s: (
        s.map(order) if s.name == "claim" else s.map({"claim": 0, "part": 1})
        if s.name == "level" else s), kind="stable")
    front = ["claim", "level", "part", "statement", "verdict"]
    return out[front + [k for k in out.columns if k not in front]].reset_index(drop=True)


def tests_table(rv: Review, verdicts: pd.DataFrame | None = None,
                parts: pd.DataFrame | None = None) -> pd.DataFrame:
    """``tests.csv``: every hypothesis test the review states
    (:func:`analysis.studies.review.hypothesis_tests`), with its test and hypothesis in words
    and how its p-value is adjusted (:data:`TEST_COLUMNS`); ``verdicts`` and ``parts`` are
    :func:`analysis.studies.review.part_verdicts` and :func:`parts_table` of ``rv``."""
    verdicts = review.part_verdicts(rv) if verdicts is None else verdicts
    t = review.hypothesis_tests(rv, verdicts)
    parts = parts_table(rv, verdicts) if parts is None else parts
    words = parts.set_index("part")[["statement", "test"]]
    # the Holm family of the moment tests: those with a p-value (adjust_pvalues leaves
    # a NaN out of the family, as R's p.adjust does)
    moments = t[t["source"] == "moment"]
    n_moments = int(np.isfinite(moments["p_value"].astype(float)).sum())
    rows = []
    for r in t.itertuples():
        if r.source == "part":
            w = words.loc[r.part]
            test, hyp = w["test"], f"{r.part}: {w['statement']}"
            adj = "none (intersection-union); Holm within claim shown"
        elif r.source == "moment":
            test, hyp = "Mann-Whitney (two-sided)", f"{r.set_a} of {r.set_b} differs by class"
            adj = f"Holm over {n_moments} (BH in moment_tests.csv)"
        else:
            test, hyp = r.test, f"{r.set_a} improves on {r.set_b} (in sample)"
            adj = "none (descriptive)"
        rows.append({"test": test, "hypothesis": hyp, "adjustment": adj})
    out = pd.concat([t, pd.DataFrame(rows, index=t.index,
                                     columns=["test", "hypothesis", "adjustment"])
                     .rename(columns={"test": "test_words"})], axis=1)
    return out.drop(columns="test").rename(columns={"test_words": "test"})[TEST_COLUMNS]


def tables(rv: Review) -> dict[str, pd.DataFrame]:
    """The review's worded tables by the CSV file name the CLI writes: ``claims.csv``
    (:func:`claims_long`) and ``tests.csv`` (:func:`tests_table`)."""
    verdicts = review.part_verdicts(rv)
    parts = parts_table(rv, verdicts)
    return {"claims.csv": claims_long(rv, parts), "tests.csv": tests_table(rv, verdicts, parts)}
