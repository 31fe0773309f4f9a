"""The column vocabulary of every result table (the names of R's broom, in snake case).

A table that reports an estimate with its uncertainty names the columns

==============  ==========================================================================
column          holds
==============  ==========================================================================
``estimate``    the point estimate (tables may keep a descriptive name such as
                ``cv_auc``, ``diff`` or ``icc`` for it)
``std_error``   its standard error
``conf_low``    the lower end of its confidence interval
``conf_high``   the upper end
``p_value``     the p-value of its test
``statistic``   the test statistic (where a table has one)
``method``      how the estimate or test was made, where it varies between rows
``conf_level``  the interval's level, where it varies between rows
``conf_method`` how the interval was made, where that differs from ``method``
==============  ==========================================================================

**One rule for secondary quantities.** A table that holds more than one interval (or
p-value, or standard error) gives the table's main quantity the bare names and every
other one a qualifier *in front*: ``<qualifier>_conf_low``, ``<qualifier>_conf_high``,
``<qualifier>_std_error``, ``<qualifier>_p_value``. The qualifier names the quantity
(``odds_ratio_conf_low``, ``coverage_conf_low``, ``power_conf_low``,
``rejection_rate_conf_low``), the variant (``firth_estimate``, ``firth_conf_low``, ``pi``
for the meta-analysis' prediction interval: ``pi_conf_low``), the adjustment
(``holm_p_value``, ``bh_p_value``, ``adjusted_p_value``) or the summary over replicates
(``seed_min_p_value``). Simulation tables that hold several methods' intervals for
several quantities qualify with both, quantity first: ``auc_sd_boot_conf_low``,
``coverage_delong_conf_high``.

Interval ends always come in pairs (``X_conf_low`` with ``X_conf_high``). No result
table names a column ``ci_low``, ``low``, ``p``, ``se`` or another short form
(:func:`violations` says which names break the rule; ``tests/test_columns.py`` runs it on
every table the studies return and every CSV the command line writes).

**Ranges that are not confidence intervals** keep ``_low``/``_high`` and are listed in
:data:`RANGES` with what they are.

:data:`RENAMED` maps each CSV file's old column names to the new ones (the README's
"Column names" table lists the same; ``tests/test_columns.py`` checks that it does).
Formatters find interval columns with :func:`interval` and :func:`intervals` instead of
being told the names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "CONF_HIGH",
    "CONF_LEVEL",
    "CONF_LOW",
    "CONF_METHOD",
    "ESTIMATE",
    "METHOD",
    "P_VALUE",
    "RANGES",
    "RENAMED",
    "STATISTIC",
    "STD_ERROR",
    "VOCABULARY",
    "interval",
    "intervals",
    "p_values",
    "violations",
]


ESTIMATE = "estimate"
STD_ERROR = "std_error"
CONF_LOW = "conf_low"
CONF_HIGH = "conf_high"
P_VALUE = "p_value"
STATISTIC = "statistic"
METHOD = "method"
CONF_LEVEL = "conf_level"
CONF_METHOD = "conf_method"

#: Every word of the vocabulary; a column is one of these or ``<qualifier>_<word>``.
VOCABULARY = (ESTIMATE, STD_ERROR, CONF_LOW, CONF_HIGH, P_VALUE, STATISTIC, METHOD,
              CONF_LEVEL, CONF_METHOD)

#: Columns that end in ``_low``/``_high`` but are ranges, not confidence intervals.
RANGES = {
    "band_low": "2.5th percentile of the per-repeat mean fold AUC (the paper's band)",
    "band_high": "97.5th percentile of the per-repeat mean fold AUC",
    "paper_low": "lower end of a range read from the paper's figure",
    "paper_high": "upper end of a range read from the paper's figure",
}

#: Name parts that mark an interval end, a p-value or a standard error outside the
#: vocabulary (a column's name is split at ``_`` after the vocabulary's words are removed).
_SHORT_FORMS = frozenset({"ci", "low", "high", "lo", "hi", "p", "pval", "pvalue", "se",
                          "stderr"})
_WORDS = re.compile("|".join(sorted((STD_ERROR, CONF_LOW, CONF_HIGH, P_VALUE), key=len,
                                    reverse=True)))


def violations(columns: Iterable[str]) -> list[str]:
    """Names in ``columns`` outside the vocabulary, each with the reason.

    Examples
    --------
    >>> violations(["estimate", "conf_low", "conf_high", "p_value", "band_low", "band_high"])
    []
    >>> violations(["ci_low", "ci_high", "pi_conf_low", "p"])
    ['ci_low: short form ci', 'ci_high: short form ci', 'p: short form p', 'pi_conf_low: no pi_conf_high']
    """
    cols = [str(c) for c in columns]
    out = []
    for c in cols:
        if c in RANGES:
            continue
        parts = [t for t in _WORDS.sub("_", c).split("_") if t]
        bad = [t for t in parts if t.lower() in _SHORT_FORMS]
        if bad:
            out.append(f"{c}: short form {bad[0]}")
    have = set(cols)
    for c in cols:
        for a, b in ((CONF_LOW, CONF_HIGH), (CONF_HIGH, CONF_LOW)):
            if c.endswith(a) and c[: -len(a)] + b not in have:
                out.append(f"{c}: no {c[: -len(a)] + b}")
    return out


def intervals(columns: Iterable[str]) -> list[tuple[str, str, str]]:
    """The interval pairs among ``columns``: ``(qualifier, low, high)``.

    The qualifier is ``""`` for the table's main interval (``conf_low``/``conf_high``)
    and the prefix without its underscore otherwise.

    >>> intervals(["estimate", "conf_low", "conf_high", "pi_conf_low", "pi_conf_high"])
    [('', 'conf_low', 'conf_high'), ('pi', 'pi_conf_low', 'pi_conf_high')]
    """
    have = list(map(str, columns))
    out = []
    for c in have:
        if c.endswith(CONF_LOW) and c[: -len(CONF_LOW)] + CONF_HIGH in have:
            q = c[: -len(CONF_LOW)]
            out.append((q.rstrip("_"), c, q + CONF_HIGH))
    return out


def interval(columns: Iterable[str], qualifier: str = "") -> tuple[str, str]:
    """The ``(low, high)`` column names of one interval; KeyError if the table has none."""
    for q, lo, hi in intervals(columns):
        if q == qualifier:
            return lo, hi
    raise KeyError(f"no interval {qualifier + '_' if qualifier else ''}conf_low/conf_high")


def p_values(columns: Iterable[str]) -> list[str]:
    """The p-value columns among ``columns`` (``p_value`` and ``<qualifier>_p_value``)."""
    return [str(c) for c in columns if str(c) == P_VALUE or str(c).endswith("_" + P_VALUE)]


# ----------------------------------------------------------------- the renaming of 2026-12

_AUC_CI = {"se": STD_ERROR, "ci_low": CONF_LOW, "ci_high": CONF_HIGH, "p": P_VALUE}
_CLAIMS = {"ci_low": CONF_LOW, "ci_high": CONF_HIGH, "estimate_firth": "firth_estimate",
           "ci_low_firth": "firth_conf_low", "ci_high_firth": "firth_conf_high",
           "p_value_firth": "firth_p_value"}
_TREND = {"se": STD_ERROR, "ci_low": CONF_LOW, "ci_high": CONF_HIGH}
_REVIEW = {
    "auc_ci.csv": _AUC_CI,
    "calibration.csv": {"ci_method": CONF_METHOD},
    "claims.csv": _CLAIMS,
    "coefficients.csv": {"or_conf_low": "odds_ratio_conf_low",
                         "or_conf_high": "odds_ratio_conf_high", "ci_method": CONF_METHOD},
    "comparisons.csv": {"se": STD_ERROR, "ci_low": CONF_LOW, "ci_high": CONF_HIGH,
                        "p": P_VALUE, "p_holm": "holm_p_value"},
    "fold_variability.csv": {"p_below": "below_p_value", "p_below_lower": "below_lower_p_value",
                             "p_sd": "sd_p_value", "p_sd_lower": "sd_lower_p_value",
                             "folds_1_melanoma": "folds_1_positive",
                             "folds_2_melanoma": "folds_2_positive"},
    "icc.csv": {"ci_low": CONF_LOW, "ci_high": CONF_HIGH, "p": P_VALUE},
    "moment_tests.csv": {"auc_ci_low": CONF_LOW, "auc_ci_high": CONF_HIGH, "p": P_VALUE,
                         "p_holm": "holm_p_value", "p_bh": "bh_p_value",
                         # the classes by their role, named in positive_class/negative_class
                         "median_melanoma": "median_positive",
                         "median_non_melanoma": "median_negative"},
    "permutation.csv": {"p_seed_min": "seed_min_p_value", "p_seed_median": "seed_median_p_value",
                        "p_seed_max": "seed_max_p_value"},
    "tests.csv": {"p": P_VALUE, "p_adjusted": "adjusted_p_value"},
}
_BOOT = {"boot_se": "boot_std_error", "boot_low": "boot_conf_low", "boot_high": "boot_conf_high",
         "nb_low": "nb_conf_low", "nb_high": "nb_conf_high", "delong_low": "delong_conf_low",
         "delong_high": "delong_conf_high"}
_BCA = {"bca_low": "bca_conf_low", "bca_high": "bca_conf_high"}
#: The quantities of the simulation's per-study tables (``simulate.quantity_names``; the
#: strong scenario adds ``auc_mean+sd`` and ``diff_mean+sd_mean``); BCa only for auc_sd.
_SIM_QUANTITIES = ("auc_sd", "auc_mean", "diff_mean_sd", "auc_mean+sd", "diff_mean+sd_mean")


def _studies(quantities=_SIM_QUANTITIES, bca=("auc_sd",)) -> dict[str, str]:
    out = {f"{q}_{a}": f"{q}_{b}" for q in quantities for a, b in _BOOT.items()}
    return out | {f"{q}_{a}": f"{q}_{b}" for q in bca for a, b in _BCA.items()}


_COVERAGE = {"truth_mc_se": "truth_mc_std_error", "cov_low": "coverage_conf_low",
             "cov_high": "coverage_conf_high", "mean_boot_se": "mean_boot_std_error",
             "rej_low": "rejection_rate_conf_low", "rej_high": "rejection_rate_conf_high"}
_CALIBRATION = {"ks_p": "ks_p_value", "rejection_low": "rejection_rate_conf_low",
                "rejection_high": "rejection_rate_conf_high",
                **{f"coverage_{m}_{e}": f"coverage_{m}_conf_{e}"
                   for m in ("bootstrap_cv", "corrected_t", "delong", "bca", "diff_bootstrap_cv",
                             "diff_corrected_t", "diff_delong") for e in ("low", "high")}}
_PARAMETERS = {"low": "scale_min", "high": "scale_max",
               "model_cv_auc_se": "model_cv_auc_std_error"}
_SIMULATE = {
    "calibration.csv": _CALIBRATION,
    "coverage.csv": _COVERAGE,
    "truth.csv": {"truth_mc_se": "truth_mc_std_error"},
    "power.csv": {"power_low": "power_conf_low", "power_high": "power_conf_high"},
    "calibration_studies.csv": _studies(),
    "power_studies.csv": _studies(("auc_sd",), bca=()),
    "parameters.csv": _PARAMETERS,
    "strong_parameters.csv": _PARAMETERS,
    "c4_power.csv": {"supported_low": "supported_conf_low",
                     "supported_high": "supported_conf_high", "mean_se": "mean_std_error"},
}

_MULTIVERSE = {
    "multiverse.csv": {"ci_low": CONF_LOW, "ci_high": CONF_HIGH, "p": P_VALUE},
    "multiverse_verdicts.csv": {"inconclusive": "not_shown"},
}
#: The tables of ``analyze --multiverse --power`` (:mod:`analysis.studies.sweeps`).
_SWEEPS = {
    **_MULTIVERSE,
    "power.csv": _SIMULATE["power.csv"], "power_studies.csv": _SIMULATE["power_studies.csv"],
    "power_parameters.csv": _PARAMETERS, "power_calibration.csv": _CALIBRATION,
    "power_coverage.csv": _COVERAGE, "power_truth.csv": _SIMULATE["truth.csv"],
    "power_calibration_studies.csv": _SIMULATE["calibration_studies.csv"],
}

#: Old -> new column names, per command and CSV file (``analyze`` writes the review's
#: tables, the annotator curve's and, on request, the sweeps').
RENAMED: dict[str, dict[str, dict[str, str]]] = {
    "reproduce": {},
    "review": _REVIEW,
    "analyze": {**_REVIEW, "annotator_trend.csv": _TREND,
                "excluded_by_class.csv": {"p_fisher": "fisher_p_value"}, **_SWEEPS},
    "annotators": {"trend.csv": _TREND},
    "replicate": {
        "groups.csv": {"se": STD_ERROR, "ci_low": CONF_LOW, "ci_high": CONF_HIGH,
                       "perm_p": P_VALUE},
        "differences.csv": {"se": STD_ERROR, "ci_low": CONF_LOW, "ci_high": CONF_HIGH,
                            "p": P_VALUE},
        "meta.csv": {"se": STD_ERROR, "ci_low": CONF_LOW, "ci_high": CONF_HIGH,
                     "pi_low": "pi_conf_low", "pi_high": "pi_conf_high", "q_p": "q_p_value"},
        "meta_correlations.csv": {"mc_low": "measured_conf_low", "mc_high": "measured_conf_high"},
        "meta_sensitivity.csv": {"ci_low": CONF_LOW, "ci_high": CONF_HIGH,
                                 "mc_se_low": "conf_low_mc_std_error",
                                 "mc_se_high": "conf_high_mc_std_error", "q_p": "q_p_value"},
    },
    "multiverse": _MULTIVERSE,
    "simulate": _SIMULATE,
}
