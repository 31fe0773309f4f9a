"""Inter-rater agreement: intraclass correlations and Krippendorff's alpha.

Both functions take long-format data (one row per target x rater rating) and
name the columns by keyword, as pingouin does. Checked in
``tests/test_agreement.py`` against ``psych::ICC`` (R; fixture in
``tests/fixtures/r``) and the published worked example of Krippendorff (2011).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["icc", "krippendorff_alpha"]

#: pingouin >= 0.6 names -> the classic Shrout & Fleiss / psych names used here
_TYPE_NAMES = {
    "ICC(1,1)": "ICC1",
    "ICC(A,1)": "ICC2",
    "ICC(C,1)": "ICC3",
    "ICC(1,k)": "ICC1k",
    "ICC(A,k)": "ICC2k",
    "ICC(C,k)": "ICC3k",
}
_DESCRIPTIONS = {
    "ICC1": "Single raters absolute",
    "ICC2": "Single random raters",
    "ICC3": "Single fixed raters",
    "ICC1k": "Average raters absolute",
    "ICC2k": "Average random raters",
    "ICC3k": "Average fixed raters",
}
_COLUMNS = [
    "type",
    "description",
    "icc",
    "conf_low",
    "conf_high",
    "F",
    "df1",
    "df2",
    "p_value",
    "n_targets",
    "n_raters",
    "n_targets_omitted",
]


def icc(
    data: pd.DataFrame,
    *,
    targets: str,
    raters: str,
    ratings: str,
    nan_policy: str = "omit",
) -> pd.DataFrame:
    """Intraclass correlation coefficients (all six Shrout-Fleiss forms).

    Parameters
    ----------
    data : DataFrame
        Long format, one row per (target, rater) rating.
    targets, raters, ratings : str
        Column names.
    nan_policy : {"omit", "raise"}, default "omit"
        ``"omit"`` drops every target with a missing rating (listwise
        deletion); the number dropped is reported in ``n_targets_omitted``.

    Returns
    -------
    DataFrame
        Six rows, ``type`` in ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k (psych's
        names; pingouin >= 0.6 calls them ICC(1,1), ICC(A,1), ICC(C,1),
        ICC(1,k), ICC(A,k), ICC(C,k)), with ``description``, ``icc``,
        ``conf_low``, ``conf_high`` (95 %), ``F``, ``df1``, ``df2``, ``p_value``,
        ``n_targets``, ``n_raters``, ``n_targets_omitted``.

    Notes
    -----
    Wraps :func:`pingouin.intraclass_corr` (two-way ANOVA mean squares
    :math:`MS_R` targets, :math:`MS_C` raters, :math:`MS_E` residual,
    :math:`MS_W` within targets), e.g. ICC1 :math:`= (MS_R - MS_W)/(MS_R +
    (k-1)MS_W)`, ICC2 :math:`= (MS_R - MS_E)/(MS_R + (k-1)MS_E + k(MS_C -
    MS_E)/n)`, ICC3 :math:`= (MS_R - MS_E)/(MS_R + (k-1)MS_E)`. pingouin's
    rounding of the CI column (2 decimals by default) is switched off for the
    call, so the bounds are at full precision; they are the F-based bounds of
    Shrout & Fleiss (1979) / McGraw & Wong (1996) and equal ``psych::ICC``
    (lmer = FALSE) to 1e-10 (tests), including ICC2's Satterthwaite-type df.

    References
    ----------
    Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in
    assessing rater reliability. Psychol. Bull. 86, 420-428.
    McGraw, K. O. & Wong, S. P. (1996). Forming inferences about some
    intraclass correlation coefficients. Psychol. Methods 1, 30-46.
    Revelle, W. psych: Procedures for Psychological, Psychometric, and
    Personality Research (R package), function ``ICC``.

    Examples
    --------
    >>> import pingouin as pg
    >>> out = icc(pg.read_dataset("icc"), targets="Wine", raters="Judge", ratings="Scores")
    >>> list(out["type"])
    ['ICC1', 'ICC2', 'ICC3', 'ICC1k', 'ICC2k', 'ICC3k']
    """
    import pingouin as pg

    if nan_policy not in ("omit", "raise"):
        raise ValueError("nan_policy must be 'omit' or 'raise'")
    wide = data.pivot_table(
        index=targets, columns=raters, values=ratings, observed=True, dropna=False
    )
    n_all = wide.shape[0]
    incomplete = wide.isna().any(axis=1)
    if incomplete.any() and nan_policy == "raise":
        raise ValueError(f"{int(incomplete.sum())} target(s) have missing ratings")
    saved = dict(pg.options)
    try:
        for key in list(pg.options):
            if key.startswith("round"):
                pg.options[key] = None
        with warnings.catch_warnings():
            # pingouin 0.7 calls DataFrame.dropna(inplace=True), deprecated in pandas 3
            warnings.filterwarnings("ignore", message=".*inplace keyword.*")
            res = pg.intraclass_corr(
                data=data, targets=targets, raters=raters, ratings=ratings, nan_policy=nan_policy
            )
    finally:
        pg.options.clear()
        pg.options.update(saved)
    kinds = [_TYPE_NAMES.get(t, t) for t in res["Type"]]
    ci = np.vstack([np.asarray(c, dtype=float) for c in res["CI95"]])
    n_targets = int(n_all - incomplete.sum())
    out = pd.DataFrame(
        {
            "type": kinds,
            "description": [_DESCRIPTIONS.get(t, "") for t in kinds],
            "icc": res["ICC"].to_numpy(dtype=float),
            "conf_low": ci[:, 0],
            "conf_high": ci[:, 1],
            "F": res["F"].to_numpy(dtype=float),
            "df1": res["df1"].to_numpy(dtype=float),
            "df2": res["df2"].to_numpy(dtype=float),
            "p_value": res["pval"].to_numpy(dtype=float),
            "n_targets": n_targets,
            "n_raters": int(wide.shape[1]),
            "n_targets_omitted": int(incomplete.sum()),
        }
    )
    return out[_COLUMNS]


def krippendorff_alpha(
    data: pd.DataFrame,
    *,
    targets: str,
    raters: str,
    ratings: str,
    level: str = "interval",
) -> float:
    """Krippendorff's alpha for any number of raters, with missing ratings.

    Parameters
    ----------
    data : DataFrame
        Long format, one row per (target, rater) rating; a missing rating is a
        missing row or a NaN.
    targets, raters, ratings : str
        Column names (targets are Krippendorff's "units", raters his "coders").
    level : {"nominal", "ordinal", "interval", "ratio"}, default "interval"
        Level of measurement, i.e. the difference function.

    Returns
    -------
    float
        :math:`\\alpha = 1 - D_o / D_e`.

    Notes
    -----
    Wraps :func:`krippendorff.alpha` on the raters x targets reliability
    matrix. Units with fewer than two ratings are not pairable and do not
    contribute (Krippendorff's rule). For the nominal level non-numeric
    categories are coded as integers first (the codes do not matter for a
    nominal metric); ordinal/interval/ratio ratings must be numeric.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    Annenberg School for Communication, University of Pennsylvania.
    https://repository.upenn.edu/asc_papers/43
    Hayes, A. F. & Krippendorff, K. (2007). Answering the call for a standard
    reliability measure for coding data. Commun. Methods Meas. 1, 77-89.
    """
    import krippendorff

    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError("level must be 'nominal', 'ordinal', 'interval' or 'ratio'")
    d = data[[targets, raters, ratings]].copy()
    if level == "nominal" and not pd.api.types.is_numeric_dtype(d[ratings]):
        codes, _ = pd.factorize(d[ratings])
        d[ratings] = np.where(codes < 0, np.nan, codes).astype(float)
    if d.duplicated([targets, raters]).any():
        raise ValueError("more than one rating for some (target, rater) pair")
    mat = d.pivot(index=raters, columns=targets, values=ratings).to_numpy(dtype=float)
    return float(krippendorff.alpha(reliability_data=mat, level_of_measurement=level))
