"""Named random streams: every seed derivation of the package, in one registry.

Every random step derives its own stream from the master seed
(:data:`analysis.base.fitconfig.DEFAULT_SEED`) and a few integer keys:
``SeedSequence([seed, tag, *keys])``. The tag says which step it is; this module gives
each tag a name, so that a new stream is added here (and
``tests/test_seeds.py`` checks that it cannot coincide with an existing one) instead
of being chosen as a bare integer in the module that uses it.

The tags are the integers the package has always used, so every stream gives the
same numbers as before it had a name.

==========================  ==========================================  ====================
name                        derivation                                  used by
==========================  ==========================================  ====================
``cv_folds``                ``[seed, r]``: fold assignment of repeat r  models.repeat_seed
``bootstrap_cv``            ``[seed, 1]``: bootstrap-CV replicates      review, replication,
                                                                        multiverse
``permutation_labels``      ``[seed, 2]``: shuffled labels              cvstats
``permutation_folds``       ``[seed, 3, p, r]``: folds of permutation p cvstats
``ridge_inner_folds``       ``[seed, 5, repeat, fold]``                 multiverse
``fold_spread``             ``[seed, 6, i]``: C6 reference of model i   review
``curve_trend``             ``[seed, 7, crc32(cohort/group)]``          replication
``calibration_bootstrap``   ``[seed, 8]``                               review
``unit_raters``             ``[seed, 14]``: per-unit draw of k raters   features
``curve_subsets``           ``[seed, crc32(cohort/group), k]``          replication
``profile_restarts``        ``[seed, j, side]``                         coefficients
``sim_calibration``         ``[seed, 1, c, d]``: study d of model c     simulate
``sim_power``               ``[seed, 2, c, d]``: study d, condition c   simulate
``sim_model_cv_auc``        ``[seed, 3, d]``                            simulate
``sim_truth``               ``[seed, 4, d]``                            simulate
``sim_test``                ``[seed, 9, c, d]``                         tests
``joint_bootstrap``         ``[seed, 11, 0, 0]``: root of the joint     replication
                            bootstrap of the meta-analysis
==========================  ==========================================  ====================

A grouping of the units (``--group-col``) adds no stream: the same streams seed the
grouped plans (``cv_folds`` and ``permutation_folds`` the shuffle of the groups in a
stratified group k-fold, ``bootstrap_cv`` the draw of groups, ``permutation_labels``
the moves of a group's labels), so a grouped analysis is as reproducible as a plain
one, and the plain one draws exactly what it drew before.

Two streams can give the same ``SeedSequence`` only if they have the same number of
integers after the seed and either the same tag or a free first key (``cv_folds``,
``curve_subsets``, ``profile_restarts``: the first key is a repeat, a hash or a
coefficient index). :data:`LEGACY_OVERLAPS` lists the pairs for which the old
derivations allow that; the test fails when a new stream adds another. A new stream
therefore takes a new tag and at least two keys (three integers after the seed), which
no stream with a free first key reaches.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["LEGACY_OVERLAPS", "STREAMS", "Stream", "USER_COHORT", "group_code", "overlaps", "rng",
           "seed_sequence", "state"]


@dataclass(frozen=True)
class Stream:
    """One named stream: ``SeedSequence([seed, tag, *keys])`` with ``n_keys`` keys.

    ``tag`` None: the first key is free (no tag), the stream is ``[seed, *keys]``.
    """

    name: str
    tag: int | None
    n_keys: int
    what: str

    @property
    def arity(self) -> int:
        """Integers after the seed."""
        return self.n_keys + (self.tag is not None)


_STREAMS = (
    Stream("cv_folds", None, 1, "fold assignment of CV repeat r"),
    Stream("bootstrap_cv", 1, 0, "bootstrap-CV replicates (their draws and folds)"),
    Stream("permutation_labels", 2, 0, "label shuffles of the permutation tests"),
    Stream("permutation_folds", 3, 2, "fold assignment (p, r) of permutation p"),
    Stream("ridge_inner_folds", 5, 2, "inner folds of the ridge penalty (repeat, fold)"),
    Stream("fold_spread", 6, 1, "C6 fold-spread reference of model i"),
    Stream("curve_trend", 7, 1, "bootstrap of the annotator-curve trend (group code)"),
    Stream("calibration_bootstrap", 8, 0, "bootstrap of the calibration statistics"),
    Stream("unit_raters", 14, 0, "per-unit draw of k raters of a data set"),
    Stream("curve_subsets", None, 2, "annotator subsets or draws (group code, k)"),
    Stream("profile_restarts", None, 2, "restarts of a profile bound (coefficient, side)"),
    Stream("sim_calibration", 1, 2, "simulated study d of calibration model c"),
    Stream("sim_power", 2, 2, "simulated study d of power condition c"),
    Stream("sim_model_cv_auc", 3, 1, "Monte Carlo study d of a model's expected cvAUC"),
    Stream("sim_truth", 4, 1, "training draw d of the Monte Carlo true value"),
    Stream("sim_test", 9, 2, "simulated study d of condition c in the tests"),
    Stream("joint_bootstrap", 11, 2, "root of the meta-analysis's joint bootstrap (keys 0, 0; "
           "its replicates derive their streams from this root)"),
)
#: Every stream by name.
STREAMS: dict[str, Stream] = {s.name: s for s in _STREAMS}

#: Pairs of streams whose derivations can coincide (see the module docstring): all
#: involve a stream whose first key is free. Kept because changing them would change
#: every published number; no new pair may be added.
LEGACY_OVERLAPS = frozenset({
    frozenset({"cv_folds", "bootstrap_cv"}), frozenset({"cv_folds", "permutation_labels"}),
    frozenset({"cv_folds", "calibration_bootstrap"}), frozenset({"cv_folds", "unit_raters"}),
    *(frozenset({free, other}) for free in ("curve_subsets", "profile_restarts")
      for other in ("fold_spread", "curve_trend", "sim_model_cv_auc", "sim_truth",
                    "curve_subsets", "profile_restarts") if free != other),
})


def overlaps(streams=_STREAMS) -> set[frozenset]:
    """Pairs of streams that can give the same ``SeedSequence`` entropy."""
    out = set()
    for i, a in enumerate(streams):
        for b in streams[i + 1:]:
            if a.arity == b.arity and (a.tag == b.tag or a.tag is None or b.tag is None):
                out.add(frozenset({a.name, b.name}))
    return out


def _entropy(name: str, seed: int, keys: tuple[int, ...]) -> list[int]:
    s = STREAMS[name]
    if len(keys) != s.n_keys:
        raise ValueError(f"stream {name!r} takes {s.n_keys} key(s), got {len(keys)}")
    return [int(seed), *(() if s.tag is None else (s.tag,)), *(int(k) for k in keys)]


def seed_sequence(name: str, seed: int, *keys: int) -> np.random.SeedSequence:
    """``SeedSequence([seed, tag, *keys])`` of the stream ``name``."""
    return np.random.SeedSequence(_entropy(name, seed, keys))


def rng(name: str, seed: int, *keys: int) -> np.random.Generator:
    """A generator on the stream ``name``."""
    return np.random.default_rng(seed_sequence(name, seed, *keys))


def state(name: str, seed: int, *keys: int) -> int:
    """One 32-bit integer of the stream ``name`` (a seed for a legacy RandomState
    consumer such as scikit-learn's fold assignment)."""
    return int(seed_sequence(name, seed, *keys).generate_state(1)[0])


#: The cohort of a user's data set (:func:`analysis.design.dataset.load`).
USER_COHORT = "user"


def group_code(cohort: str, group: str) -> int:
    """The key of a group in ``curve_subsets`` and ``curve_trend``: CRC-32 of
    ``"cohort/group"``. A user's data set (cohort ``"user"``) has one key whatever its
    name (``--name``, or the file's name), so that naming it does not change a number.

    Examples
    --------
    >>> group_code("user", "nodules") == group_code("user", "annotations")
    True
    >>> group_code("2017-2018", "group07") == group_code("2017-2018", "group01")
    False
    """
    if cohort == USER_COHORT:
        return zlib.crc32(USER_COHORT.encode())
    return zlib.crc32(f"{cohort}/{group}".encode())
