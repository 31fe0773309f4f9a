"""The replication's harmonised designs through the general builder
(:func:`analysis.design.features.design_from_long`) are exactly the designs the replication
had before (a frozen copy of the old function is in ``reference_replication.py``)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import needs_data

from analysis.design import features
from analysis.studies import replication as R

pytestmark = needs_data


def _keys(annotations):
    keys = annotations.tidy[["cohort", "group"]].drop_duplicates()
    return sorted(map(tuple, keys.itertuples(index=False)))


def _same(new, old):
    for name in ("z", "moments_raw", "moments", "excluded"):
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name),
                                      check_exact=True, obj=name)
    pd.testing.assert_series_equal(new.y, old.y, check_exact=True)
    for name in ("cohort", "group", "features", "annotators", "design", "raters",
                 "feature_annotators"):
        assert getattr(new, name) == getattr(old, name), name


def test_every_group_and_mturk_equal_the_previous_harmonised_design(annotations):
    import reference_replication as ref

    n_built = 0
    for cohort, group in _keys(annotations):
        for feats in {R.ABC, features.GROUP7_FEATURES} if (cohort, group) == R.GROUP7 \
                else {R.ABC}:
            try:
                old = ref.group_abc_design(annotations, cohort, group, features=feats)
            except ValueError as err:
                with pytest.raises(ValueError, match=str(err).replace("(", r"\(")
                                   .replace(")", r"\)")):
                    R.group_abc_design(annotations, cohort, group, features=feats)
                continue
            _same(R.group_abc_design(annotations, cohort, group, features=feats), old)
            n_built += 1
    # every design kind is among them: crossed, split by feature, rotating, positions
    assert n_built >= 20


def test_eligible_groups_table_is_unchanged(annotations):
    import reference_replication as ref

    pd.testing.assert_frame_equal(R.eligible_groups(annotations),
                                  ref.eligible_groups(annotations), check_exact=True)
