"""The ``Estimator`` protocol driven by the runner, and ``Filter``: a rule bundled with a model.

    class Estimator(Protocol):
        predict(belief, dt, t) -> belief
        update(belief, z, sensor) -> (belief, StepInfo)
        gaussian(belief) -> Gaussian          # the (combined) Gaussian to report

``Filter(rule, model)`` implements it with plain ``Gaussian`` beliefs; the IMM
(:mod:`trackers.filters.imm`) implements it with mixture beliefs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from numpy.typing import NDArray

from trackers.filters.gaussian import Gaussian, StepInfo
from trackers.filters.rules import CKF, EKF, KF, UKF
from trackers.models.base import MeasurementModel, MotionModel

__all__ = ["Estimator", "Filter"]


@runtime_checkable
class Estimator(Protocol):
    """What :func:`trackers.filters.runner.run` drives."""

    def predict(self, belief: Any, dt: float | NDArray, t: float) -> Any:
        """Belief at t + dt given the belief at t."""
        ...

    def update(self, belief: Any, z: NDArray, sensor: MeasurementModel) -> tuple[Any, StepInfo]:
        """Posterior belief and diagnostics given measurement z ``(..., m)`` (NaN = missed)."""
        ...

    def gaussian(self, belief: Any) -> Gaussian:
        """Gaussian summary of the belief, in the reported state space."""
        ...


@dataclass(frozen=True)
class Filter:
    """A Gaussian filter: one rule (KF/EKF/UKF/CKF) with one motion model.

    Attributes
    ----------
    rule : KF | EKF | UKF | CKF
        The filtering rule (configuration only, no state).
    model : MotionModel
        Motion model used for every prediction.
    """

    rule: KF | EKF | UKF | CKF
    model: MotionModel

    def __post_init__(self) -> None:
        if not isinstance(self.rule, KF | EKF | UKF | CKF):
            raise TypeError(f"rule must be KF, EKF, UKF or CKF, got {type(self.rule).__name__}")
        if not isinstance(self.model, MotionModel):
            raise TypeError(
                f"model must satisfy trackers.models.base.MotionModel, got "
                f"{type(self.model).__name__}"
            )

    @property
    def ndim(self) -> int:
        """State dimension n of the model."""
        return int(self.model.ndim)

    def predict(self, belief: Gaussian, dt: float | NDArray, t: float = 0.0) -> Gaussian:
        """``rule.predict(belief, model, dt, t)``."""
        return self.rule.predict(belief, self.model, dt, t)

    def update(
        self, belief: Gaussian, z: NDArray, sensor: MeasurementModel
    ) -> tuple[Gaussian, StepInfo]:
        """``rule.update(belief, z, sensor)``."""
        return self.rule.update(belief, z, sensor)

    def gaussian(self, belief: Gaussian) -> Gaussian:
        """The belief itself."""
        return belief
