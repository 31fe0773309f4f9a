"""The registry of named random streams (analysis.base.seeds)."""

import zlib

import numpy as np
import pytest

from analysis.base import seeds


def test_names_and_tags_are_distinct_and_overlaps_are_only_the_legacy_ones():
    names = [s.name for s in seeds.STREAMS.values()]
    assert len(names) == len(set(names)) == len(seeds.STREAMS)
    tagged = [(s.tag, s.arity) for s in seeds.STREAMS.values() if s.tag is not None]
    assert len(tagged) == len(set(tagged)), "two streams share a tag and a number of keys"
    # a new stream that could give the same SeedSequence as an old one fails here
    assert seeds.overlaps() == set(seeds.LEGACY_OVERLAPS)


def test_the_overlap_check_sees_a_collision():
    s = list(seeds.STREAMS.values())
    clash = seeds.Stream("new", 1, 0, "a second stream on tag 1")  # same as bootstrap_cv
    assert frozenset({"new", "bootstrap_cv"}) in seeds.overlaps((*s, clash))
    # one or two integers after the seed can always meet a stream with a free first key
    assert frozenset({"short", "cv_folds"}) in seeds.overlaps(
        (*s, seeds.Stream("short", 15, 0, "a new tag, no key")))
    fresh = seeds.Stream("fresh", 15, 2, "a new tag and two keys")
    assert seeds.overlaps((*s, fresh)) == set(seeds.LEGACY_OVERLAPS)


@pytest.mark.parametrize(("name", "keys", "old"), [
    ("cv_folds", (3,), [2018, 3]),
    ("bootstrap_cv", (), [2018, 1]),
    ("permutation_labels", (), [2018, 2]),
    ("permutation_folds", (4, 1), [2018, 3, 4, 1]),
    ("ridge_inner_folds", (0, 2), [2018, 5, 0, 2]),
    ("fold_spread", (5,), [2018, 6, 5]),
    ("calibration_bootstrap", (), [2018, 8]),
    ("unit_raters", (), [2018, 14]),
    ("sim_calibration", (1, 7), [2018, 1, 1, 7]),
    ("sim_power", (2, 0), [2018, 2, 2, 0]),
    ("sim_model_cv_auc", (9,), [2018, 3, 9]),
    ("sim_truth", (9,), [2018, 4, 9]),
])
def test_streams_give_the_old_numbers(name, keys, old):
    """Each name maps to the derivation the package used before the registry."""
    want = np.random.SeedSequence(old)
    assert seeds.state(name, 2018, *keys) == int(want.generate_state(1)[0])
    assert seeds.rng(name, 2018, *keys).random() == np.random.default_rng(want).random()


def test_group_streams_use_crc32():
    code = zlib.crc32(b"2017-2018/group07")
    assert seeds.group_code("2017-2018", "group07") == code
    assert (seeds.state("curve_trend", 5, code)
            == int(np.random.SeedSequence([5, 7, code]).generate_state(1)[0]))
    assert (seeds.rng("curve_subsets", 5, code, 3).random()
            == np.random.default_rng(np.random.SeedSequence([5, code, 3])).random())


def test_wrong_number_of_keys_is_an_error():
    with pytest.raises(ValueError, match="takes 2 key"):
        seeds.state("permutation_folds", 1, 3)
    with pytest.raises(KeyError):
        seeds.state("no_such_stream", 1)


def test_a_users_data_set_is_seeded_the_same_whatever_its_name(tmp_path):
    """--name (or the file's name) names a data set; it must not change its numbers."""
    import shutil
    from pathlib import Path

    from analysis.design import dataset

    ex = Path(__file__).resolve().parents[1] / "data" / "examples"
    other = tmp_path / "renamed.csv"
    shutil.copy(ex / "annotations.csv", other)
    a = dataset.load(ex / "annotations.csv", ex / "labels.csv", positive="malignant")
    b = dataset.load(other, ex / "labels.csv", positive="malignant", name="nodules")
    assert (a.cohort, b.cohort) == (seeds.USER_COHORT, seeds.USER_COHORT)
    assert a.group != b.group
    assert seeds.group_code(a.cohort, a.group) == seeds.group_code(b.cohort, b.group)
    assert seeds.group_code("2017-2018", "group07") != seeds.group_code("2017-2018", "group01")
