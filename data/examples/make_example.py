"""Make the example data set of the README's quick start (seeded; rerun to check).

300 units (e.g. images or cases) rated on four ordinal features (0-4) by a pool of
five raters who are persons; each unit is rated by 3, 4 or 5 of them (unequal raters
per unit, as in most real data). Scores come from the project's own generative model
(:func:`analysis.studies.simulate.simulate`): a latent severity shifted for the positive
class, rater biases, and less rater noise on positive units (so disagreement carries
information). Labels are class names, ``malignant`` (positive) and ``benign``.

Run from the repository root: ``python data/examples/make_example.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.studies.simulate import SimParams, simulate

SEED = 2018
HERE = Path(__file__).resolve().parent
FEATURES = ("shape", "margin", "texture", "colour")

PARAMS = SimParams(
    features=FEATURES,
    low=(0.0,) * 4, high=(4.0,) * 4,
    intercept=(1.5, 1.5, 2.0, 1.8),
    loading=(0.6, 0.5, 0.4, 0.7),
    tau_b=(0.3, 0.4, 0.3, 0.2),
    sigma0=(0.9, 1.0, 0.8, 0.9),
    sigma1=(0.6, 0.7, 0.6, 0.6),
    mu1=1.2,
    tau_nu=0.2,
    prevalence=0.3,
)


def make(n_units: int = 300, n_raters: int = 5, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    sim = simulate(PARAMS, n_units, n_annotators=n_raters, rng=rng)
    rows = []
    for i in range(n_units):
        k = int(rng.integers(3, n_raters + 1))  # 3, 4 or 5 raters for this unit
        for j in sorted(rng.choice(n_raters, size=k, replace=False)):
            for f, name in enumerate(FEATURES):
                rows.append((f"case{i + 1:03d}", f"R{j + 1}", name, int(sim.scores[i, j, f])))
    annotations = pd.DataFrame(rows, columns=["unit", "rater", "feature", "score"])
    labels = pd.DataFrame({"unit": [f"case{i + 1:03d}" for i in range(n_units)],
                           "label": np.where(sim.y == 1, "malignant", "benign")})
    return annotations, labels


if __name__ == "__main__":
    ann, lab = make()
    ann.to_csv(HERE / "annotations.csv", index=False)
    lab.to_csv(HERE / "labels.csv", index=False)
    print(f"{len(ann)} annotation rows, {len(lab)} labels "
          f"({(lab['label'] == 'malignant').sum()} malignant) written to {HERE}")
