"""The presentation layer: one figure helper and one table formatter for the report."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import plotnine as p9  # noqa: E402
import pytest  # noqa: E402

from analysis.presentation import present  # noqa: E402

# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("p, text", [
    (3.57e-155, "< 0.0001"),   # C1's DeLong z-test: not a number to print as such
    (9.99e-5, "< 0.0001"),
    (1e-4, "0.0001"),
    (0.03204, "0.0320"),
    (1.0, "1.0000"),
    (float("nan"), ""),
    (None, ""),
])
def test_format_p(p, text):
    assert present.format_p(p) == text


def test_counts_are_integers_and_p_values_floored_in_a_power_table():
    # the shape of the power table the issue quotes: 50.000 images, 3.000 annotators
    power = pd.DataFrame({"n_images": [50.0, 100.0], "n_annotators": [3.0, 6.0],
                          "power": [0.4567, 0.9], "p_value": [3.57e-155, 0.5]})
    cells = present.format_frame(power)
    assert list(cells.columns) == ["Images", "Annotators", "Power", "p"]
    assert cells["Images"].tolist() == ["50", "100"]
    assert cells["Annotators"].tolist() == ["3", "6"]
    assert cells["Power"].tolist() == ["0.46", "0.90"]  # 2 decimals for every power
    assert cells["p"].tolist() == ["< 0.0001", "0.5000"]


def test_fixed_decimals_per_quantity_and_explicit_decimals_win():
    f = pd.DataFrame({"auc": [0.96912, 0.5], "i2": [46.59655, 0.0], "share": [1.0, 0.0]})
    cells = present.format_frame(f)
    assert cells["AUC"].tolist() == ["0.969", "0.500"]
    assert cells["I^2 (%)"].tolist() == ["46.6", "0.0"]
    assert cells["Share"].tolist() == ["1", "0"]  # whole floats read as counts ...
    assert present.format_frame(f, decimals={"share": 2})["Share"].tolist() == ["1.00", "0.00"]


def test_readable_headers_and_feature_set_names():
    f = pd.DataFrame({"feature_set": ["dermoscopic_structures", "annotator_1", "sd", "mean+sd",
                                      "moments_all", "something_else"],
                      "matches_paper": [True, False, True, True, False, True]})
    cells = present.format_frame(f)
    assert list(cells.columns) == ["Feature set", "Matches paper"]
    assert cells["Feature set"].tolist() == ["Dermoscopic structures", "Annotator 1", "SD",
                                             "Mean + SD", "All moments", "something_else"]
    assert cells["Matches paper"].tolist() == ["yes", "no", "yes", "yes", "no", "yes"]
    # codes inside free text read as words; file names and ids are left alone
    text = present.format_frame(pd.DataFrame({"x": [
        "color 0.88, dermoscopic_structures 0.82, annotator_3 0.85 in data_types ISIC_0010327"]}))
    assert text["X"][0] == ("color 0.88, dermoscopic structures 0.82, annotator 3 0.85 in "
                            "data_types ISIC_0010327")
    assert present.header("sd AUC (95% CI)") == "SD AUC (95% CI)"
    assert present.format_frame(f, labels=False)["Feature set"][0] == "dermoscopic_structures"


def test_duplicate_headers_stay_distinct():
    cells = present.format_frame(pd.DataFrame({"p": [0.5], "p_value": [0.2]}))
    assert list(cells.columns) == ["p", "p (2)"]


def test_with_ci_joins_estimate_and_interval():
    f = pd.DataFrame({"power": [0.8, np.nan], "power_conf_low": [0.7, 0.1],
                      "power_conf_high": [0.9, 0.2]})
    out = present.with_ci(f, "power")  # the interval found by the column vocabulary
    assert list(out.columns) == ["Power (95% CI)"]
    assert out.iloc[:, 0].tolist() == ["0.80 [0.70, 0.90]", ""]
    # a table's main interval, and other columns named outright
    g = pd.DataFrame({"estimate": [0.5], "conf_low": [0.4], "conf_high": [0.6],
                      "lo": [0.1], "hi": [0.9]})
    assert present.with_ci(g, "estimate")["Estimate (95% CI)"].iloc[0] == "0.500 [0.400, 0.600]"
    assert present.with_ci(g, "estimate", low="lo", high="hi")["Estimate (95% CI)"].iloc[0] \
        == "0.500 [0.100, 0.900]"
    with pytest.raises(KeyError, match="conf_low"):
        present.with_ci(f.drop(columns="power_conf_high"), "power")


# ------------------------------------------------------------------------------ tables

def _rows(md: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in md.splitlines() if line.startswith("|")]


def test_narrow_table_keeps_natural_widths():
    md = present.table_markdown(pd.DataFrame({"auc": [0.9], "n_images": [96]}))
    assert "wide-table" not in md
    assert all(len(line) <= present.PIPE_COLUMNS for line in md.splitlines())
    assert _rows(md)[2] == ["0.900", "96"]


def test_wide_table_gets_relative_widths_a_small_pdf_font_and_a_scroll_box():
    long = "a reason that runs on for a good many words, " * 3
    f = pd.DataFrame({"file": ["student/2019-2020/group09.csv"] * 3, "row": [1, 2, 3],
                      "reason": [long] * 3, "p": [0.01, 1e-9, 0.5],
                      "column": ["Onregelmatige pigmentie_2_2"] * 3})
    md = present.table_markdown(f)
    assert md.startswith('::: {.wide-table typst:text:size="8pt"}') and md.endswith(":::")
    sep = next(line for line in md.splitlines() if line and set(line) <= set("|:-"))
    assert len(sep) > present.PIPE_COLUMNS  # pandoc reads the widths from the dashes
    dashes = [len(c.strip(":")) for c in sep.strip("|").split("|")]
    # the file column, whose one word cannot break, gets at least its share;
    # the long free-text column is capped so that it does not take the whole line
    w = np.array(dashes) / sum(dashes)
    needs = np.array([len("student/2019-2020/group09.csv"), 3, present.CELL_WRAP, 8, 27]) + 3
    assert w[0] >= 0.95 * needs[0] / needs.sum()
    assert w[2] < 0.5
    assert _rows(md)[3][3] == "<\u00a00.0001"  # a floored p-value never wraps
    assert "|" not in present.table_markdown(pd.DataFrame({"x": ["a|b"]})).splitlines()[2][2:-2] \
        .replace(r"\|", "")


def test_estimates_with_intervals_do_not_wrap_but_text_does():
    md = present.table_markdown(pd.DataFrame({"x": ["0.80 [0.68, 0.93]", "+0.17 [-0.12, +0.22]",
                                                    "higher in melanoma"]}))
    assert [r[0] for r in _rows(md)[2:]] == ["0.80\u00a0[0.68,\u00a00.93]",
                                             "+0.17\u00a0[-0.12,\u00a0+0.22]",
                                             "higher in melanoma"]


def test_md_table_is_the_same_formatter():
    from analysis.presentation.report import md_table

    f = pd.DataFrame({"feature_set": ["sd"], "p_value": [1e-9]})
    assert md_table(f).data == present.table(f).data


# ----------------------------------------------------------------------------- figures

def _plot(facets=4):
    d = pd.DataFrame({"x": np.arange(40.0), "y": np.sin(np.arange(40.0)),
                      "g": np.repeat([f"panel {i}" for i in range(facets)], 40 // facets)})
    return (p9.ggplot(d, p9.aes("x", "y")) + p9.geom_point()
            + p9.geom_text(p9.aes(label="g"), size=5) + p9.facet_wrap("g")
            + p9.theme_bw() + p9.theme(figure_size=(11, 4), axis_text=p9.element_text(size=6)))


def _png_inches(fig):
    """Width and height (inches) of the PNG the inline backend makes (bbox tight)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=fig.dpi)
    im = Image.open(io.BytesIO(buf.getvalue()))
    return im.width / fig.dpi, im.height / fig.dpi


@pytest.mark.parametrize("width, inches", [("body", present.BODY_WIDTH),
                                           ("page", present.PAGE_WIDTH), (4.5, 4.5)])
def test_figure_is_sized_for_its_column_with_readable_text(width, inches):
    fig = present.figure(_plot(), width=width, height=4.0, dpi=100)
    w, h = _png_inches(fig)
    # the saved image is the column's width (bbox "tight" pads 0.1 in per side back)
    assert w == pytest.approx(inches, abs=0.08) and h == pytest.approx(4.0, abs=0.08)
    scale = present.print_width(inches) / inches
    sizes = present.text_sizes(fig)
    assert sizes and min(sizes) * scale >= present.MIN_TEXT_PT - 1e-9  # 6 pt asked, raised
    # a page figure prints at the text column's width, so its fonts are larger
    if width == "page":
        assert min(sizes) >= present.MIN_TEXT_PT * present.PAGE_WIDTH / present.BODY_WIDTH - 1e-9


def test_figure_takes_matplotlib_figures_and_compositions_and_keeps_own_height():
    import matplotlib.pyplot as plt

    mfig, ax = plt.subplots(figsize=(10, 3))
    ax.set_title("tiny", fontsize=5)
    out = present.figure(mfig, height=2.4, dpi=100)
    assert min(present.text_sizes(out)) >= present.MIN_TEXT_PT
    assert _png_inches(out)[0] <= present.BODY_WIDTH + 0.05
    comp = _plot(2) / _plot(2)
    fig = present.figure(comp, width="page", height=6.0, dpi=80)
    assert _png_inches(fig)[0] == pytest.approx(present.PAGE_WIDTH, abs=0.1)
    own = present.figure(_plot() + p9.theme(figure_size=(5, 3.5)), dpi=80)
    assert _png_inches(own)[1] == pytest.approx(3.5, abs=0.1)
    tall = present.figure(_plot() + p9.theme(figure_size=(5, 30)), dpi=30)
    assert tall.get_size_inches()[1] <= present.MAX_HEIGHT


def test_figure_rejects_sizes_that_cannot_fit():
    with pytest.raises(ValueError):
        present.figure(_plot(), width=12, height=3)
    with pytest.raises(ValueError):
        present.figure(_plot(), height=11)


# ----------------------------------------------------------------------------- notice

def test_notice_is_a_callout_in_html_and_plain_typst_elsewhere():
    text = 'CROWD_DISAGREEMENT_QUICK is set: "small" #1 [x] $5 *rough* @ref'
    md = present.notice(text)
    html, other = md.split('::: {.content-visible unless-format="html"}')
    assert '.content-visible when-format="html"' in html and ".callout-warning" in html
    assert "callout" not in other  # no typst callout: it would fetch fontawesome
    raw = other.split("```{=typst}\n")[1].split("\n```")[0]
    # the text is one typst string literal: markup characters need no escaping
    lit = raw.split("#text(")[1].rsplit(")]", 1)[0]
    assert lit.startswith('"') and lit.endswith('"')
    import json

    assert json.loads(lit) == text
    assert not math.isnan(len(raw))


def test_headers_of_the_vocabularys_qualified_names():
    """<qualifier>_conf_low/high and <qualifier>_p_value read as the qualifier's header."""
    from analysis.presentation.present import header

    assert header("odds_ratio_conf_low") == "Odds ratio: 95% CI low"
    assert header("firth_conf_high") == "Firth: 95% CI high"
    assert header("lrt_p_value") == "LRT p"
    assert header("conf_method") == "Interval"
    assert header("mean_std_error") == "Mean SE"
    assert header("conf_low") == "95% CI low"  # the bare names keep their own headers


def test_interval_text_signs_differences_and_drops_a_missing_interval():
    from analysis.presentation.present import interval_text

    assert interval_text(0.71234, 0.6, 0.8) == "0.712 [0.600, 0.800]"
    assert interval_text(0.0123, -0.03, 0.054, signed=True) == "+0.012 [-0.030, +0.054]"
    assert interval_text(0.5, float("nan"), float("nan")) == "0.500"
