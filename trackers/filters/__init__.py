"""Batched Gaussian filters: beliefs, KF / EKF / UKF / CKF rules, runner, RTS smoother.

Layers (low to high):

- :mod:`~trackers.filters.linalg_small` — closed-form inverses / Cholesky over the batch axis;
- :mod:`~trackers.filters.gaussian` — ``Gaussian``, ``StepInfo`` and the Kalman update algebra;
- :mod:`~trackers.filters.sigma_points` — sigma-point rules as data (Merwe, cubature);
- :mod:`~trackers.filters.rules` — ``KF``, ``EKF``, ``UKF``, ``CKF`` (pure predict / update);
- :mod:`~trackers.filters.estimator` — the ``Estimator`` protocol and ``Filter(rule, model)``;
- :mod:`~trackers.filters.runner` — ``run`` over a ``MeasurementStream`` (``Track`` / ``Summary``);
- :mod:`~trackers.filters.smoother` — ``rts_smooth`` (RTS and unscented RTS);
- :mod:`~trackers.filters.square_root` — ``SquareRootCKF`` (an ``Estimator`` with
  ``SqrtGaussian`` beliefs).

The IMM lives in :mod:`trackers.filters.imm` (import it from there).
"""

from trackers.filters.estimator import Estimator, Filter
from trackers.filters.gaussian import Gaussian, StepInfo
from trackers.filters.rules import CKF, EKF, KF, UKF
from trackers.filters.runner import MeasurementStream, RunStats, Summary, Track, run
from trackers.filters.sigma_points import SigmaPointRule, cubature, merwe_scaled
from trackers.filters.smoother import rts_smooth
from trackers.filters.square_root import SqrtGaussian, SquareRootCKF

__all__ = [
    "CKF",
    "EKF",
    "KF",
    "UKF",
    "Estimator",
    "Filter",
    "Gaussian",
    "MeasurementStream",
    "RunStats",
    "SigmaPointRule",
    "SqrtGaussian",
    "SquareRootCKF",
    "StepInfo",
    "Summary",
    "Track",
    "cubature",
    "merwe_scaled",
    "rts_smooth",
    "run",
]
