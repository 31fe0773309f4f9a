"""A data set from the project's generative model (:mod:`analysis.studies.simulate`) in which
units are nested in groups and the number of readers of a unit depends on its class,
for the tests of issue 22 (grouped folds, the reader-count covariate, the kept-unit
bias).

Construction (``make``):

* ``n_units`` units with a fixed number of positives; their latent scores come from
  :func:`analysis.studies.simulate.simulate` with the nodule-shaped parameters of
  ``benchmarks/positions_data.py`` restricted to ``n_features`` features, with the
  readers' noise the same in both classes (``sigma1 = sigma0``): only the mean carries
  class information, continuous scores (no rounding).
* Readers per unit: drawn from ``P_READERS[label]`` (positives are read by more
  readers; one-reader units are almost all negative).
* The disagreement depends **only** on the number of readers: each unit's deviations
  from its own mean are scaled by ``NOISE_SCALE[k]`` for ``k`` readers, so given k the
  sd of a unit is independent of its label, while the sd across units predicts the
  label through k.
* Groups (patients): units are sorted by label plus noise and cut into groups of 1 to
  4 units, so that labels cluster within groups.

The files are in the user's format: long annotations (``unit, rater, feature, score``
with slot ids ``reader1..``: positions) and labels (``unit, label, patient``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

READERS = 4
#: P(k readers | label), k = 1..4.
P_READERS = {0: (0.35, 0.35, 0.15, 0.15), 1: (0.02, 0.13, 0.25, 0.60)}
#: Scale of the within-unit deviations for k readers (k = 1 has none).
NOISE_SCALE = {1: 1.0, 2: 2.5, 3: 1.5, 4: 0.6}


def make(n_units: int = 300, *, seed: int = 7, n_features: int = 3,
         prevalence: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(annotations, labels) as DataFrames in the user's format."""
    import sys

    root = Path(__file__).resolve().parents[1]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from analysis.studies.simulate import simulate
    from benchmarks.positions_data import params

    p = params(prevalence)
    keep = slice(0, n_features)
    p = replace(p, features=p.features[keep], low=p.low[keep], high=p.high[keep],
                intercept=p.intercept[keep], loading=p.loading[keep], tau_b=p.tau_b[keep],
                sigma0=p.sigma0[keep], sigma1=p.sigma0[keep], ordinal=None)
    rng = np.random.default_rng(seed)
    sim = simulate(p, n_units, n_annotators=READERS, rng=rng, discretize=False)
    y = np.asarray(sim.y, dtype=int)
    k = np.array([rng.choice(np.arange(1, READERS + 1), p=P_READERS[int(v)]) for v in y])
    scores = np.asarray(sim.scores, dtype=float)  # (n, J, F)
    units = np.array([f"u{i:04d}" for i in range(n_units)])
    rows = []
    for i in range(n_units):
        s = scores[i, : k[i], :]
        s = s.mean(axis=0) + NOISE_SCALE[int(k[i])] * (s - s.mean(axis=0))
        for j in range(k[i]):
            for f, name in enumerate(p.features):
                rows.append((units[i], f"reader{j + 1}", name, float(s[j, f])))
    ann = pd.DataFrame(rows, columns=["unit", "rater", "feature", "score"])
    # groups: sort by label plus noise, cut into groups of 1..4 units
    order = np.argsort(y + rng.normal(0, 0.6, n_units), kind="stable")
    patient = np.empty(n_units, dtype=object)
    i, g = 0, 0
    while i < n_units:
        size = int(rng.integers(1, 5))
        patient[order[i:i + size]] = f"p{g:03d}"
        i += size
        g += 1
    lab = pd.DataFrame({"unit": units, "label": y, "patient": patient})
    return ann, lab
