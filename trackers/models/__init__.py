"""Motion models (ballistic, boost; CV/CA/Singer in :mod:`trackers.models.linear`) and
measurement models (radar), all satisfying the protocols in :mod:`trackers.models.base`."""

from trackers.models.ballistic import Ballistic
from trackers.models.base import MeasurementModel, MotionModel, residual, wrap_angle
from trackers.models.boost import BoostKnownThrust, BoostThrustState
from trackers.models.linear import (
    CA,
    CV,
    ConstantAcceleration,
    ConstantVelocity,
    LinearPosition,
    Singer,
)
from trackers.models.radar import RadarMeasurement

__all__ = [
    "CA",
    "CV",
    "Ballistic",
    "BoostKnownThrust",
    "BoostThrustState",
    "ConstantAcceleration",
    "ConstantVelocity",
    "LinearPosition",
    "MeasurementModel",
    "MotionModel",
    "RadarMeasurement",
    "Singer",
    "residual",
    "wrap_angle",
]
