"""Batched Gaussian filters: beliefs, KF / EKF / UKF / CKF rules, runner, RTS smoother.

The IMM lives in :mod:`trackers.filters.imm` (import it from there).
"""

from trackers.filters.estimator import Estimator, Filter
from trackers.filters.gaussian import Gaussian, StepInfo
from trackers.filters.rules import CKF, EKF, KF, UKF
from trackers.filters.sigma_points import SigmaPointRule, cubature, merwe_scaled

__all__ = [
    "CKF",
    "EKF",
    "KF",
    "UKF",
    "Estimator",
    "Filter",
    "Gaussian",
    "SigmaPointRule",
    "StepInfo",
    "cubature",
    "merwe_scaled",
]
