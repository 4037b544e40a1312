"""Earth model: WGS-84 frames, gravity (point mass, J2), rotation, standard atmosphere."""

from trackers.earth.atmosphere import US76, Exponential, Vacuum
from trackers.earth.model import WGS84_FULL, EarthModel
from trackers.earth.wgs84 import (
    aer_to_ecef,
    ecef_to_aer,
    ecef_to_enu,
    ecef_to_geodetic,
    enu_rotation,
    enu_to_aer,
    geodetic_to_ecef,
)

__all__ = [
    "US76",
    "WGS84_FULL",
    "EarthModel",
    "Exponential",
    "Vacuum",
    "aer_to_ecef",
    "ecef_to_aer",
    "ecef_to_enu",
    "ecef_to_geodetic",
    "enu_rotation",
    "enu_to_aer",
    "geodetic_to_ecef",
]
