"""Solver settings shared by every logistic-regression path.

The statsmodels/firthmodels reference path (:mod:`analysis.models`) and the
batched engine (:mod:`analysis.engine`) read the same constants, so that a fold
fitted by either path is fitted to the same optimum and flagged by the same rule.
"""

from __future__ import annotations

import numpy as np

#: Newton-Raphson iterations for plain maximum likelihood (statsmodels ``Logit``).
MLE_MAX_ITER = 100
#: statsmodels' Newton stops when every parameter changes by less than this.
MLE_TOL = 1e-10

#: Firth (bias-reduced) Newton-Raphson settings, as firthmodels names them. Newton
#: converges quadratically, so a last step below 1e-6 leaves an error near 1e-12;
#: tighter tolerances make firthmodels stop with "not converged" when step-halving
#: can no longer improve the penalised likelihood in floating point.
FIRTH_MAX_ITER = 200
FIRTH_GTOL = 1e-6
FIRTH_XTOL = 1e-6

def separation_flag(eta_train: np.ndarray, converged: bool) -> bool:
    """Return True when the plain-MLE fit shows the divergence that separation causes.

    A training set is flagged ``separated`` when Newton-Raphson for the plain MLE
    (statsmodels' rule: no step control, stop when every coefficient moves by at most
    ``MLE_TOL``) does not converge within ``MLE_MAX_ITER`` iterations, or its linear
    predictor is not finite. When the MLE exists, Newton converges in a handful of
    iterations even when the optimum is far out (nearly separated data); under
    (quasi-)complete separation the iterates diverge and never settle. The rule agrees
    with the exact linear-programming test of separation on every group-7 fold
    (tests/test_models.py).

    Parameters
    ----------
    eta_train : ndarray
        Linear predictor of the plain-MLE fit on the training rows.
    converged : bool
        Whether that fit converged.
    """
    eta = np.asarray(eta_train, dtype=float)
    return bool(not converged or not np.all(np.isfinite(eta)))
