"""Presentation layer: figures and tables as the rendered report shows them.

Study modules return DataFrames and plotnine plots; this module turns them into what
Quarto needs, the same way for every figure and every table of ``report.qmd``:

* :func:`figure` draws a plot to a matplotlib figure sized in inches for the column
  it sits in (:data:`BODY_WIDTH`, or :data:`PAGE_WIDTH` for a cell with
  ``column: page``), at Quarto's ``fig-dpi``, with no text smaller than
  :data:`MIN_TEXT_PT` points once printed in the PDF's text column. Quarto records
  the width of a matplotlib figure (retina PNG with width metadata in the HTML, PNG
  with its DPI in the typst/PDF output), so it never shows wider than its column.
* :func:`table` formats a DataFrame as a Markdown pipe table (the form Quarto
  captions and cross-references): readable headers (:func:`header`) and feature-set
  names (:func:`label`), integers as integers, p-values below 0.0001 as
  "< 0.0001" (:func:`format_p`), a fixed number of decimals per quantity
  (:func:`decimals_for`), and relative column widths computed from the cells so that
  a wide table wraps inside the text column instead of overprinting. Wide tables get
  a smaller font in the PDF and scroll inside their own box in the HTML.
* :func:`notice` is the draft banner: a callout in the HTML and a plain block in
  typst (Quarto's typst callouts import an icon package from the internet, which
  fails offline).

The CSV output of the CLI keeps the raw values; only the report uses this module.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..base import columns

__all__ = [
    "BODY_WIDTH", "CELL_WRAP", "DECIMAL_RULES", "DEFAULT_DECIMALS", "ESTIMATOR_LABELS",
    "HEADERS", "HTML_BODY_PX",
    "HTML_DPI", "LABELS", "MAX_HEIGHT", "MIN_TEXT_PT", "NBSP", "PAGE_WIDTH", "PIPE_COLUMNS",
    "P_COLUMN", "WIDE_CHARS", "WIDE_FONT_PT", "WIDTHS", "column_widths", "decimals_for",
    "figure", "format_frame", "format_number", "format_p", "header", "interval_text",
    "is_p_column", "label",
    "notice", "print_width", "table", "table_markdown", "text_sizes", "with_ci",
]


#: Width (inches) of the PDF's text column: US letter with 1 inch side margins
#: (``margin`` in report.qmd's typst format). At the HTML's ``fig-dpi`` of 110 this is
#: 715 px, inside the 800 px body column of Quarto's default HTML layout.
BODY_WIDTH = 6.5
#: Width (inches) of a figure placed in the HTML's page column (``column: page``).
#: The PDF has no page column and prints it scaled to :data:`BODY_WIDTH`.
PAGE_WIDTH = 9.0
#: Tallest figure (inches) that fits a PDF page (9 in of text height) with its caption.
MAX_HEIGHT = 7.8
#: Smallest text size (points) of a figure as printed in the PDF.
MIN_TEXT_PT = 8.0
#: Quarto's default HTML body column (px) and the DPI at which report.qmd shows
#: figures in the HTML (``fig-dpi``): a figure's HTML width is inches x dpi.
HTML_BODY_PX = 800
HTML_DPI = 110

WIDTHS = {"body": BODY_WIDTH, "page": PAGE_WIDTH}


# --------------------------------------------------------------------------- figures

def print_width(width: float) -> float:
    """Width (inches) at which a figure drawn ``width`` inches wide is printed in the
    PDF: its own width, or the text column's when it is wider (typst scales it down)."""
    return min(float(width), BODY_WIDTH)


def text_sizes(fig) -> list[float]:
    """Font sizes (points, at the figure's own size) of every visible, non-empty text
    of a matplotlib figure (tick labels, titles, legends, strip labels, annotations)."""
    from matplotlib.text import Text

    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip():
            out.append(float(t.get_fontsize()))
    return out


def _enforce_min_text(fig, min_pt: float) -> None:
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_fontsize() < min_pt:
            t.set_fontsize(min_pt)


def figure(plot, *, height: float | None = None, width: str | float = "body",
           min_text_pt: float = MIN_TEXT_PT, dpi: float | None = None):
    """Draw a plot as a matplotlib figure sized for its column of the report.

    Parameters
    ----------
    plot : plotnine.ggplot, plotnine composition or matplotlib.figure.Figure
        What to draw (as the study modules and :mod:`analysis.presentation.figures` return it).
    height : float, optional
        Height in inches, at most :data:`MAX_HEIGHT` (so that it fits a PDF page).
        Default: the height the plot asks for (its ``figure_size``), capped there.
    width : {"body", "page"} or float
        ``"body"`` (:data:`BODY_WIDTH`) for the text column; ``"page"``
        (:data:`PAGE_WIDTH`) for a figure whose cell has ``column: page`` (the HTML
        shows it across the page; the PDF prints it at the text column's width); or
        inches, at most :data:`PAGE_WIDTH`.
    min_text_pt : float
        Smallest font size, in points, of any text once the figure is printed at
        :func:`print_width`.
    dpi : float, optional
        Resolution; default matplotlib's ``figure.dpi``, which Quarto sets from the
        format's ``fig-dpi``.

    Returns
    -------
    matplotlib.figure.Figure
        Closed (so the inline backend does not show it a second time); displaying it
        in a Jupyter cell gives Quarto a PNG with its width recorded.

    Notes
    -----
    Text scale: a figure ``w`` inches wide is printed at ``p = min(w, BODY_WIDTH)``,
    so a font of ``s`` points prints at ``s * p / w``. Every text smaller than
    ``min_text_pt * w / p`` is raised to that size before the layout is computed
    (plotnine's layout engine runs when the figure is saved, so larger text gets
    its room).
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    w = WIDTHS[width] if isinstance(width, str) else float(width)
    if not 0 < w <= PAGE_WIDTH:
        raise ValueError(f"width must be 'body', 'page' or at most {PAGE_WIDTH} inches")
    if height is None:
        height = min(_own_height(plot), MAX_HEIGHT)
    if not 0 < height <= MAX_HEIGHT:
        raise ValueError(f"height must be positive and at most {MAX_HEIGHT} inches")
    dpi = float(dpi or plt.rcParams["figure.dpi"])
    # the inline backend saves with bbox_inches="tight", which pads the drawing by
    # savefig.pad_inches on each side: draw that much smaller so the PNG is w wide
    pad = 2 * float(plt.rcParams["savefig.pad_inches"])
    if isinstance(plot, Figure):
        fig = plot
        fig.set_size_inches(w - pad, height - pad)
        fig.set_dpi(dpi)
    else:
        import plotnine as p9

        size = p9.theme(figure_size=(w - pad, height - pad), dpi=dpi)
        if isinstance(plot, p9.ggplot):
            plot = plot + size
        else:  # a composition: the size and dpi go to every plot in it
            plot = plot & size
        fig = plot.draw()
    _enforce_min_text(fig, min_text_pt * w / print_width(w))
    plt.close(fig)
    return fig


def _own_height(plot) -> float:
    from matplotlib.figure import Figure

    if isinstance(plot, Figure):
        return float(plot.get_size_inches()[1])
    items = [plot]
    while not hasattr(items[-1], "theme"):  # a composition: its last plot
        items.append(list(items[-1])[-1])
    return float(items[-1].theme.getp("figure_size")[1])


def with_ci(frame: pd.DataFrame, estimate: str, name: str | None = None, *,
            low: str | None = None, high: str | None = None, decimals: int | None = None,
            signed: bool = False) -> pd.DataFrame:
    """Replace an estimate column and its interval columns by one text column
    "estimate [low, high]" (in place of the estimate; ``name`` defaults to
    ``"<header of estimate> (95% CI)"``), each number with the estimate's decimals
    (:func:`decimals_for`); ``signed`` prints a + on positive numbers.

    The interval is found by the column vocabulary (:mod:`analysis.base.columns`):
    ``<estimate>_conf_low``/``<estimate>_conf_high`` when the table has them, else the
    table's main ``conf_low``/``conf_high``; ``low``/``high`` name other columns."""
    if low is None or high is None:
        q = estimate if f"{estimate}_{columns.CONF_LOW}" in frame.columns else ""
        low, high = columns.interval(frame.columns, q)
    d = decimals_for(estimate) if decimals is None else decimals
    f = f"{{:+.{d}f}}" if signed else f"{{:.{d}f}}"

    def one(e, lo, hi):
        if pd.isna(e):
            return ""
        ci = "" if pd.isna(lo) or pd.isna(hi) else f" [{f.format(lo)}, {f.format(hi)}]"
        return f.format(e) + ci

    out = frame.copy()
    text = [one(e, lo, hi) for e, lo, hi in zip(out[estimate], out[low], out[high], strict=True)]
    out[estimate] = text
    out = out.drop(columns=[low, high]).rename(
        columns={estimate: name or f"{header(estimate)} (95% CI)"})
    return out


# ---------------------------------------------------------------------------- labels

#: Readable names of the codes the analysis uses for feature sets, features,
#: moments, estimators and scopes. Applied to cells that equal a code exactly.
LABELS: dict[str, str] = {
    "all": "All annotations",
    "asymmetry": "Asymmetry", "border": "Border", "color": "Color",
    "dermoscopic_structures": "Dermoscopic structures", "blue_glow": "Blue glow",
    "border_2": "Border 2", "color_categorised": "Color (categorised)",
    "blood_vessels": "Blood vessels",
    "mean": "Mean", "sd": "SD", "skewness": "Skewness", "kurtosis": "Kurtosis",
    "mean+sd": "Mean + SD", "mean+skewness": "Mean + skewness",
    "mean+kurtosis": "Mean + kurtosis", "moments_all": "All moments",
    "mad": "MAD", "range": "Range", "entropy": "Entropy", "moments": "Moments",
    "mle": "Maximum likelihood", "firth": "Firth", "ridge": "Ridge",
    "students": "Students", "mturk": "MTurk",
    "students_excl_group07": "Students without group 7",
    "students_and_mturk": "Students and MTurk",
    "auc_mean_minus_sd": "AUC(mean) - AUC(SD)", "auc_sd_minus_half": "AUC(SD) - 0.5",
    "not_supported": "not supported", "null": "Null model", "fitted": "Fitted model",
    "cv": "CV", "missing": "Missing values", "disagreement": "Disagreement",
    "zscore": "z-score", "estimator": "Estimator", "drop": "drop", "impute": "impute",
    "scaling": "Scaling",
}
_ANNOTATOR = re.compile(r"^annotator_(\d+)$")
_GROUP = re.compile(r"^group0*(\d+)$")


def label(value):
    """Readable name of a code (``"dermoscopic_structures"`` -> "Dermoscopic
    structures", ``"annotator_1"`` -> "Annotator 1", ``"group07"`` -> "Group 7");
    anything else is returned unchanged."""
    if not isinstance(value, str):
        return value
    if value in LABELS:
        return LABELS[value]
    m = _ANNOTATOR.match(value)
    if m:
        return f"Annotator {m.group(1)}"
    m = _GROUP.match(value)
    if m:
        return f"Group {m.group(1)}"
    return value


#: Readable column headers for the analysis' column names.
HEADERS: dict[str, str] = {
    "feature_set": "Feature set", "feature": "Feature", "moment": "Moment",
    "estimator": "Estimator", "claim": "Claim", "statement": "Statement", "id": "ID",
    "verdict": "Verdict", "n_images": "Images", "n_melanoma": "Melanomas",
    "n_annotators": "Annotators", "n_datasets": "Simulated studies",
    "n_permutations": "Permutations", "n_paths": "Paths", "n_boot": "Bootstrap replicates",
    "images_per_annotator": "Images per annotator",
    "paper_images_per_annotator": "Images per annotator (paper)",
    "annotators_per_feature": "Annotators per feature",
    "paper_annotators_per_feature": "Annotators per feature (paper)",
    "features_ours": "Features", "paper_features": "Features (paper)",
    "matches_paper": "Matches paper", "auc": "AUC", "auc_pooled": "Pooled AUC",
    "mean_auc": "Mean AUC", "sd": "SD", "u": "U", "p": "p", "p_value": "p",
    "holm_p_value": "p (Holm)", "bh_p_value": "p (BH)", "adjusted_p_value": "Adjusted p",
    "q_p_value": "p (Q)", "ks_p_value": "KS p", "ks_statistic": "KS statistic", "rank_biserial": "Rank-biserial r",
    "cles": "CLES", "direction": "Direction", "k": "Groups", "tau2": "tau^2",
    "i2": "I^2 (%)", "q": "Q", "quantity": "Quantity", "scope": "Scope",
    "supported": "Supported", "not_shown": "Not shown",
    "not_supported": "Not supported", "paper_verdict": "Verdict on the paper's path",
    "paper_estimate": "Estimate on the paper's path", "estimate_min": "Estimate: min",
    "estimate_median": "Estimate: median", "estimate_max": "Estimate: max",
    "choice": "Choice", "level": "Level", "model": "Model",
    "rejection_rate": "Rejection rate", "rejection_rate_conf_low": "Rejection: CI low",
    "rejection_rate_conf_high": "Rejection: CI high", "coverage_delong": "DeLong coverage",
    "coverage_delong_conf_low": "DeLong coverage: CI low",
    "coverage_delong_conf_high": "DeLong coverage: CI high", "coverage_bca": "BCa coverage",
    "coverage_bca_conf_low": "BCa coverage: CI low",
    "coverage_bca_conf_high": "BCa coverage: CI high",
    "mean_true_auc": "Mean true AUC", "mean_pooled_auc": "Mean pooled AUC",
    "mean_fold_mean_auc": "Mean fold-mean AUC", "power": "Power",
    "power_conf_low": "Power: CI low", "power_conf_high": "Power: CI high",
    "conf_low": "95% CI low", "conf_high": "95% CI high", "estimate": "Estimate",
    "std_error": "SE", "odds_ratio": "Odds ratio", "term": "Term",
    "conf_method": "Interval", "conf_level": "Level",
    "scale_min": "Scale min", "scale_max": "Scale max", "intercept": "Intercept", "loading": "Loading",
    "tau_b": "tau_b", "sigma0": "sigma_0", "sigma1": "sigma_1", "sigma_ratio": "sigma_1 / sigma_0",
    "mu1": "mu_1", "tau_nu": "tau_nu", "prevalence": "Prevalence",
    "cohort": "Cohort", "group": "Group", "source": "Source", "section": "Section",
    "seconds": "Seconds", "package": "Package", "version": "Version",
    "file": "File", "row": "Row", "column": "Column", "raw": "Raw", "corrected": "Corrected",
    "kind": "Kind", "reason": "Reason", "n": "n", "events": "Events", "sha256": "SHA-256",
}
#: Words written in capitals inside headers ("sd AUC (95% CI)" -> "SD AUC (95% CI)").
_HEADER_WORDS = {"sd": "SD", "auc": "AUC", "ci": "CI", "mad": "MAD", "mturk": "MTurk",
                 "ks": "KS", "bca": "BCa", "cv": "CV", "icc": "ICC", "lrt": "LRT"}
#: Codes with an underscore inside free text ("dermoscopic_structures AUC 0.54").
_CODE_IN_TEXT = re.compile(r"\b(?:annotator_\d+|[a-z]+(?:_[a-z0-9]+)+)\b")


def header(name) -> str:
    """Readable column header: :data:`HEADERS`, else underscores as spaces with the
    first letter capitalised (a header that already reads, e.g. "mean AUC (95% CI)",
    only gets its first letter capitalised)."""
    name = str(name)
    if name in HEADERS:
        return HEADERS[name]
    if re.fullmatch(r"C\d+[a-z]?", name):  # a claim id used as a column
        return name
    # the column vocabulary's qualified names (analysis.base.columns)
    m = re.fullmatch(r"(.+)_conf_(low|high)", name)
    if m:
        return f"{header(m.group(1))}: 95% CI {m.group(2)}"
    m = re.fullmatch(r"(.+)_p_value", name)
    if m:
        return f"{header(m.group(1))} p"
    m = re.fullmatch(r"(.+)_std_error", name)
    if m:
        return f"{header(m.group(1))} SE"
    text = name.replace("_", " ") if " " not in name else name
    text = re.sub(r"[A-Za-z]+", lambda m: _HEADER_WORDS.get(m.group(0).lower(), m.group(0))
                  if m.group(0).islower() else m.group(0), text)
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- numbers

#: Decimals per quantity, matched on the column name (first rule that matches):
#: p-values are handled by :func:`format_p`.
DECIMAL_RULES: tuple[tuple[str, int], ...] = (
    (r"seconds", 1),
    (r"(^|_)i2$", 1),
    (r"(^|_)(u|q)$", 1),
    (r"tau2$", 4),
    (r"(^|_)(power|rejection|coverage)", 2),
    (r"(auc|estimate|conf_low|conf_high|rank_biserial|cles|statistic)", 3),
)
DEFAULT_DECIMALS = 3
#: Column names holding p-values.
P_COLUMN = re.compile(r"^(p|p[ _].*|.*[ _]p|p_value|pvalue|.*_p_value)$", re.IGNORECASE)


def is_p_column(name) -> bool:
    """Whether a column holds p-values (``p_value`` and ``<qualifier>_p_value`` of the
    vocabulary, :mod:`analysis.base.columns`; display headers such as "p" or "sd permutation
    p")."""
    return bool(P_COLUMN.match(str(name)))


def decimals_for(name, default: int = DEFAULT_DECIMALS) -> int:
    """Decimals shown for a float column, by :data:`DECIMAL_RULES`."""
    n = str(name).lower()
    for pattern, d in DECIMAL_RULES:
        if re.search(pattern, n):
            return d
    return default


#: The estimators in words (tables, figures, sentences).
ESTIMATOR_LABELS = {"mle": "plain maximum likelihood", "firth": "Firth"}


def interval_text(est: float, low: float, high: float, *, signed: bool = False) -> str:
    """An estimate with its interval, three decimals: ``0.712 [0.601, 0.823]``; ``signed``
    for a difference (``+0.012 [-0.030, +0.054]``); the estimate alone when the interval
    is missing.

    >>> interval_text(0.0123, -0.03, 0.054, signed=True)
    '+0.012 [-0.030, +0.054]'
    >>> interval_text(0.5, float("nan"), float("nan"))
    '0.500'
    """
    f = "+.3f" if signed else ".3f"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{est:{f}}"
    return f"{est:{f}} [{low:{f}}, {high:{f}}]"


def format_p(p, floor: float = 1e-4) -> str:
    """A p-value for reading: "< 0.0001" below ``floor``, else 4 decimals; missing
    values blank (the CSV output keeps the raw value)."""
    if p is None or (isinstance(p, float) and math.isnan(p)) or pd.isna(p):
        return ""
    p = float(p)
    if p < floor:
        return f"< {floor:g}"
    return f"{p:.4f}"


def format_number(x, decimals: int) -> str:
    """A number with ``decimals`` decimals; whole numbers (counts) as integers;
    missing values blank."""
    if x is None or pd.isna(x):
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{decimals}f}"


def _is_count(v: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(v):
        return False
    if pd.api.types.is_integer_dtype(v):
        return True
    if pd.api.types.is_float_dtype(v):
        nn = v.dropna()
        return len(nn) > 0 and bool(((nn % 1) == 0).all()) and bool((nn.abs() < 1e15).all())
    return False


def format_frame(frame: pd.DataFrame, *, decimals: Mapping[str, int] | int | None = None,
                 headers: Mapping[str, str] | None = None, labels: bool = True,
                 p_columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Every cell of a table as the report prints it (all strings).

    Parameters
    ----------
    frame : DataFrame
        Any table; columns may be numbers, strings or booleans.
    decimals : int or dict, optional
        Decimals for float columns: one number for all, or per column name; columns
        not named use :func:`decimals_for`.
    headers : dict, optional
        Header per column name, over :func:`header`.
    labels : bool
        Replace codes in text cells by readable names (:func:`label`).
    p_columns : iterable of str, optional
        Columns formatted as p-values; default those :func:`is_p_column` finds.

    Returns
    -------
    DataFrame of str
        Same rows, columns renamed to readable headers.

    Notes
    -----
    Rules, per column: booleans "yes"/"no"; integers, and float columns whose
    values are all whole numbers (unless ``decimals`` names the column), as integers; p-value columns by :func:`format_p`;
    other floats with a fixed number of decimals for the column; text cells that are
    codes by :func:`label`; missing values blank.
    """
    out = {}
    pcols = set(p_columns) if p_columns is not None else {c for c in frame.columns
                                                          if is_p_column(c)}
    for col in frame.columns:
        v = frame[col]
        explicit = isinstance(decimals, int) or bool(decimals and col in decimals)
        if isinstance(decimals, int):
            d = decimals
        elif explicit:
            d = decimals[col]
        else:
            d = decimals_for(col)
        if col in pcols and (pd.api.types.is_numeric_dtype(v) or v.dtype == object):
            cells = [format_p(x) if _is_number(x) else _text(x, labels) for x in v]
        elif pd.api.types.is_bool_dtype(v):
            cells = ["yes" if x else "no" for x in v]
        elif _is_count(v) and not (explicit and pd.api.types.is_float_dtype(v)):
            cells = ["" if pd.isna(x) else str(int(x)) for x in v]
        elif pd.api.types.is_numeric_dtype(v):
            cells = [format_number(x, d) for x in v]
        else:  # text, or mixed objects
            cells = [format_number(x, d) if _is_number(x) else _text(x, labels) for x in v]
        name = (headers or {}).get(col, header(col))
        base, k = name, 2
        while name in out:  # two columns with the same readable header
            name, k = f"{base} ({k})", k + 1
        out[name] = cells
    res = pd.DataFrame(out, index=range(len(frame)))
    return res


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _text(x, labels: bool) -> str:
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return ""
    s = str(x)
    if not labels:
        return s
    if s in LABELS or _ANNOTATOR.match(s) or _GROUP.match(s):
        return str(label(s))
    # codes inside free text read as words: "dermoscopic_structures" -> "dermoscopic structures"
    return _CODE_IN_TEXT.sub(lambda m: _in_text(m.group(0)), s)


def _in_text(code: str) -> str:
    if code in LABELS:
        name = LABELS[code]
        return name if name[:2].isupper() else name[:1].lower() + name[1:]
    m = _ANNOTATOR.match(code)
    return f"annotator {m.group(1)}" if m else code


# ---------------------------------------------------------------------------- tables

#: Characters per line of pandoc's pipe tables (``--columns``): a table whose lines
#: are no longer is laid out with natural column widths; a longer one gets the
#: relative widths written in its separator line.
PIPE_COLUMNS = 72
#: A table whose columns need more characters than this (cells' longest lines,
#: capped) is "wide": smaller font in the PDF, its own scrolling box in the HTML.
WIDE_CHARS = 90
#: Longest line (characters) a cell is given before it wraps, for the width estimate.
CELL_WRAP = 30
#: Font size (points) of a wide table in the PDF.
WIDE_FONT_PT = 8


#: Cells that must not wrap inside: an estimate with its interval ("0.80 [0.68, 0.93]",
#: "+0.17 [+0.12, +0.22]") and a floored p-value ("< 0.0001").
_UNBREAKABLE = re.compile(r"^(?:[+-]?\d[\d.]*%? \[[+-]?\d[\d.]*%?, [+-]?\d[\d.]*%?\]|< 0\.0+1)$")
NBSP = "\u00a0"


def _escape(cell: str) -> str:
    cell = cell.replace("|", r"\|").replace("\n", " ")
    return cell.replace(" ", NBSP) if _UNBREAKABLE.match(cell) else cell


def column_widths(cells: pd.DataFrame, wrap: int = CELL_WRAP) -> list[float]:
    """Relative widths (summing to 1) of a table's columns, from its cells.

    Notes
    -----
    A column needs at least its longest word (header included; words do not break)
    and at most its longest body cell capped at ``wrap`` characters (headers wrap);
    it gets ``max(longest word, min(longest cell, wrap)) + 3`` characters (the 3
    stand for the cell padding), and the widths are these shares of their sum.
    """
    need = _needs(cells, wrap)
    total = float(sum(need))
    return [n / total for n in need]


def _natural_chars(cells: pd.DataFrame) -> int:
    return sum(max([len(str(c))] + [len(str(x)) for x in cells[c]]) + 3 for c in cells.columns)


def table(frame: pd.DataFrame, *, decimals: Mapping[str, int] | int | None = None,
          headers: Mapping[str, str] | None = None, columns: Sequence[str] | None = None,
          widths: Sequence[float] | None = None, wide: bool | None = None,
          labels: bool = True, p_columns: Iterable[str] | None = None):
    """A DataFrame as the report's Markdown table (what Quarto captions and
    cross-references).

    Parameters
    ----------
    frame : DataFrame
    decimals, headers, labels, p_columns
        As :func:`format_frame`.
    columns : sequence of str, optional
        Which columns to show, in order (default all).
    widths : sequence of float, optional
        Relative column widths; default :func:`column_widths`.
    wide : bool, optional
        Force (or forbid) the wide layout; default: wide when the columns need more
        than :data:`WIDE_CHARS` characters.

    Returns
    -------
    IPython.display.Markdown
        A pipe table. When any line would exceed :data:`PIPE_COLUMNS` characters
        its separator line carries the relative widths (pandoc then wraps cells
        inside the text column, in the HTML and the PDF alike). A wide table sits in
        a ``.wide-table`` div: the HTML gives it its own horizontal scroll box and a
        smaller font (CSS in report.qmd); typst sets its text at
        :data:`WIDE_FONT_PT` points.
    """
    from IPython.display import Markdown

    return Markdown(table_markdown(frame, decimals=decimals, headers=headers, columns=columns,
                                   widths=widths, wide=wide, labels=labels,
                                   p_columns=p_columns))


def table_markdown(frame: pd.DataFrame, *, decimals=None, headers=None, columns=None,
                   widths=None, wide=None, labels=True, p_columns=None) -> str:
    """The Markdown text of :func:`table`."""
    if columns is not None:
        frame = frame[list(columns)]
    cells = format_frame(frame, decimals=decimals, headers=headers, labels=labels,
                         p_columns=p_columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    cells = cells.map(_escape)
    head = [_escape(str(c)) for c in cells.columns]
    body = [list(row) for row in cells.itertuples(index=False)]
    natural = _natural_chars(cells)
    if wide is None:
        wide = sum(n * 1.0 for n in _needs(cells)) > WIDE_CHARS
    if natural <= PIPE_COLUMNS and widths is None:
        dashes = [3] * len(head)
        pad = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(head)]
    else:
        rel = list(widths) if widths is not None else column_widths(cells)
        total = sum(rel)
        # at least 3 dashes; the total makes every line longer than PIPE_COLUMNS
        dashes = [max(3, round(100 * r / total)) for r in rel]
        if sum(dashes) + 3 * len(dashes) <= PIPE_COLUMNS:
            dashes = [d * 2 for d in dashes]
        pad = [0] * len(head)

    def line(row):
        return "| " + " | ".join(c.ljust(p) for c, p in zip(row, pad, strict=True)) + " |"

    sep = "|" + "|".join(("-" * (d + 1) + ":") if num else (":" + "-" * (d + 1))
                         for d, num in zip(dashes, numeric, strict=True)) + "|"
    lines = [line(head), sep] + [line(r) for r in body]
    text = "\n".join(lines)
    if wide:
        text = (f'::: {{.wide-table typst:text:size="{WIDE_FONT_PT}pt"}}\n\n'
                f"{text}\n\n:::")
    return text


def _needs(cells: pd.DataFrame, wrap: int = CELL_WRAP) -> list[int]:
    out = []
    for col in cells.columns:
        texts = [str(col)] + [str(x) for x in cells[col]]
        # split on plain spaces only: a no-break space keeps its word whole
        word = max((len(w) for t in texts for w in t.split(" ")), default=1)
        longest = max((len(t) for t in texts[1:]), default=0)
        out.append(max(word, min(longest, wrap)) + 3)
    return out


# ---------------------------------------------------------------------------- notices

def notice(text: str, title: str = "Draft render") -> str:
    """A warning shown at the top of the report, in both formats.

    Returns Markdown: a Quarto warning callout for the HTML, and for every other
    format (typst) a plain framed block written in raw typst, because Quarto's typst
    callouts import an icon package from the internet and fail offline. ``text`` is
    plain text (typst gets it as a string literal, so no character needs escaping).
    """
    typst_text = json.dumps(text, ensure_ascii=False)
    typst_title = json.dumps(title, ensure_ascii=False)
    return (
        '::: {.content-visible when-format="html"}\n'
        f"::: {{.callout-warning}}\n## {title}\n\n{text}\n:::\n:::\n\n"
        '::: {.content-visible unless-format="html"}\n'
        "```{=typst}\n"
        '#block(width: 100%, inset: 8pt, radius: 2pt, stroke: 0.8pt + rgb("#e0a33b"), '
        'fill: rgb("#fdf3e1"))[#strong(' + typst_title + ") #h(0.5em) #" + "text("
        + typst_text + ")]\n```\n:::\n"
    )
