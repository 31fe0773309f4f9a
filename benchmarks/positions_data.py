"""A user file shaped like a four-reader lung-nodule data set, from the project's
generative model (:mod:`analysis.studies.simulate`); shared by ``bench_analyze_positions.py``
and ``bench_profile.py``.

Shape: ``n_units`` units rated on 8 ordinal features by one to four readers,
uniformly. The features have the scales and the lopsided score distributions of the
LIDC-IDRI nodule characteristics (subtlety 1-5, internal structure 1-4 and almost
always 1, calcification 1-6 and mostly 6, sphericity, margin, lobulation, spiculation
and texture 1-5, lobulation and spiculation mostly 1, texture mostly 5): readers often
agree exactly, so many disagreement moments are 0 and a few are far out, which is what
makes the fitted models' profiles hard. The values are set here by eye, not fitted to
LIDC-IDRI; the readers are positions (``reader1`` is whoever read the unit first), so
``--raters positions`` is the right reading. A prevalence of 0.3 is set here (lung-nodule
sets with a malignancy label are mostly benign). ``--min-raters 4`` keeps the units read
four times, about a quarter of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.studies.simulate import SimParams, simulate

PREVALENCE = 0.3
READERS = 4
#: (name, low, high, intercept, loading on the latent malignancy, noise sd)
FEATURES = (
    ("subtlety", 1, 5, 3.8, 0.5, 0.8),
    ("internal_structure", 1, 4, 1.2, 0.1, 0.45),
    ("calcification", 1, 6, 5.6, 0.2, 0.6),
    ("sphericity", 1, 5, 3.8, -0.3, 0.7),
    ("margin", 1, 5, 4.0, -0.5, 0.8),
    ("lobulation", 1, 5, 1.6, 0.5, 0.7),
    ("spiculation", 1, 5, 1.5, 0.5, 0.7),
    ("texture", 1, 5, 4.6, -0.2, 0.5),
)
N_FEATURES = len(FEATURES)


def params(prevalence: float = PREVALENCE) -> SimParams:
    """The generative model's parameters of the nodule-shaped data set."""
    name, low, high, c, a, s = (tuple(v) for v in zip(*FEATURES, strict=True))
    return SimParams(name, tuple(map(float, low)), tuple(map(float, high)), c, a,
                     (0.15,) * len(name), s, tuple(1.1 * v for v in s), 1.0, 0.2, prevalence)


def make_positions_file(folder: Path, n_units: int, seed: int = 2018,
                        prevalence: float = PREVALENCE) -> tuple[Path, Path]:
    """Write ``annotations.csv`` (unit, rater, feature, score) and ``labels.csv`` (unit,
    label) into ``folder``; returns their paths. Same seed, same bytes."""
    rng = np.random.default_rng(seed)
    pars = params(prevalence)
    feats, n_features = pars.features, len(pars.features)
    sim = simulate(pars, n_units, n_annotators=READERS, rng=rng)
    n_read = rng.integers(1, READERS + 1, size=n_units)
    units = np.array([f"n{i:05d}" for i in range(n_units)])
    rows = []
    for i in range(n_units):
        for j in range(int(n_read[i])):  # the first k reader slots read unit i
            for f in range(n_features):
                rows.append((units[i], f"reader{j + 1}", feats[f], int(sim.scores[i, j, f])))
    folder = Path(folder)
    ann, lab = folder / "annotations.csv", folder / "labels.csv"
    pd.DataFrame(rows, columns=["unit", "rater", "feature", "score"]).to_csv(ann, index=False)
    pd.DataFrame({"unit": units, "label": sim.y}).to_csv(lab, index=False)
    return ann, lab
