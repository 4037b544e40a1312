"""Motion models (ballistic, boost; CV/CA/Singer in :mod:`trackers.models.linear`) and
measurement models (radar), all satisfying the protocols in :mod:`trackers.models.base`."""

from trackers.models.ballistic import Ballistic
from trackers.models.base import MeasurementModel, MotionModel, residual, wrap_angle
from trackers.models.boost import BoostKnownThrust, BoostThrustState
from trackers.models.radar import Radar

__all__ = [
    "Ballistic",
    "BoostKnownThrust",
    "BoostThrustState",
    "MeasurementModel",
    "MotionModel",
    "Radar",
    "residual",
    "wrap_angle",
]
