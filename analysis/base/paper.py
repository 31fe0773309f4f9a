"""Numbers reported by Cheplygina & Pluim (2018), kept as data with their source.

The values live in ``analysis/reference/*.csv`` (one row per reported number, with
the section of the paper it comes from), so that the report, the CLI and the tests
read one copy.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

__all__ = [
    "paper_auc", "paper_table1",
]


_REF = Path(__file__).resolve().parent / "reference"


@cache
def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(_REF / name)


def paper_auc() -> pd.DataFrame:
    """Mean fold AUCs reported in Section 3 of the paper.

    Returns
    -------
    pandas.DataFrame
        Columns ``experiment, feature_set, paper_auc, paper_low, paper_high, source``.
        ``paper_auc`` is a single reported value; ``paper_low``/``paper_high`` hold a
        reported range (the per-annotator sets, "between 0.90 and 0.98").
    """
    return _read("paper_auc.csv").copy()


def paper_table1() -> pd.DataFrame:
    """The paper's Table 1 (features assessed by the eight 2017-2018 groups)."""
    return _read("paper_table1.csv").copy()
