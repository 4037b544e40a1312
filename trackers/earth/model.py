"""A configurable Earth: shape, gravity, rotation and atmosphere chosen per scenario.

The default is the full model (WGS-84 ellipsoid, J2 gravity, rotating frame, US76
atmosphere). Simpler options exist for validation against closed forms and for comparison
with other simulators: a non-rotating sphere of given radius and GM, point-mass gravity, an
exponential atmosphere or none.

Equations of motion in the Earth-fixed frame (docs/references.md §3):

    r' = v
    v' = g(r) - 2 w x v - w x (w x r) + a_drag + a_thrust
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth import gravity as _g
from trackers.earth import wgs84
from trackers.earth.atmosphere import US76, Exponential, Vacuum
from trackers.earth.rotation import coriolis_centrifugal, coriolis_centrifugal_jacobians

_CHOICES = {
    "shape": ("wgs84", "sphere"),
    "gravity": ("j2", "point-mass"),
    "atmosphere": ("us76", "exponential", "none"),
}


@dataclass(frozen=True)
class EarthModel:
    """Earth configuration; every field documented with its units.

    Attributes
    ----------
    shape : "wgs84" or "sphere"
        Reference surface for altitude and geodetic coordinates.
    radius : float
        Sphere radius [m] (used when shape == "sphere"; also J2's reference radius there).
    mu : float
        Gravitational parameter GM [m^3/s^2].
    gravity : "j2" or "point-mass"
    rotating : bool
        True: integrate in the rotating ECEF frame with Coriolis and centrifugal terms.
    omega : float
        Rotation rate [rad/s] (ignored when not rotating).
    atmosphere : "us76", "exponential" or "none"
    rho0, scale_height : float
        Exponential atmosphere's surface density [kg/m^3] and scale height [m].
    """

    shape: Literal["wgs84", "sphere"] = "wgs84"
    radius: float = field(default=wgs84.R_MEAN, metadata={"units": "m"})
    mu: float = field(default=wgs84.GM, metadata={"units": "m^3/s^2"})
    gravity: Literal["j2", "point-mass"] = "j2"
    rotating: bool = True
    omega: float = field(default=wgs84.OMEGA_E, metadata={"units": "rad/s"})
    atmosphere: Literal["us76", "exponential", "none"] = "us76"
    rho0: float = field(default=1.225, metadata={"units": "kg/m^3"})
    scale_height: float = field(default=7200.0, metadata={"units": "m"})

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"earth.{name} must be one of {allowed}, got {getattr(self, name)!r}"
                )
        for name, lo, hi in (
            ("radius", 1e6, 1e8),
            ("mu", 1e10, 1e16),
            ("omega", 0.0, 1e-3),
            ("rho0", 0.0, 100.0),
            ("scale_height", 100.0, 1e6),
        ):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and np.isfinite(v) and lo <= v <= hi):
                raise ValueError(f"earth.{name} must be a number in [{lo}, {hi}], got {v!r}")
        if not isinstance(self.rotating, bool):
            raise TypeError(f"earth.rotating must be true or false, got {self.rotating!r}")

    # --- geometry -------------------------------------------------------------------------
    @property
    def a(self) -> float:
        """Equatorial radius [m] of the reference surface."""
        return wgs84.A if self.shape == "wgs84" else self.radius

    @property
    def e2(self) -> float:
        """First eccentricity squared of the reference surface."""
        return wgs84.E2 if self.shape == "wgs84" else 0.0

    @property
    def w(self) -> float:
        """Effective rotation rate [rad/s]: ``omega`` if rotating, else 0."""
        return self.omega if self.rotating else 0.0

    def to_ecef(self, lat: ArrayLike, lon: ArrayLike, alt: ArrayLike) -> NDArray:
        """Geodetic (rad, rad, m) -> ECEF ``(..., 3)`` [m] on this surface."""
        return wgs84.geodetic_to_ecef(lat, lon, alt, self.a, self.e2)

    def geodetic(self, r: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
        """ECEF ``(..., 3)`` -> (lat [rad], lon [rad], alt [m]) on this surface."""
        return wgs84.ecef_to_geodetic(r, self.a, self.e2)

    def altitude(self, r: ArrayLike) -> NDArray:
        """Height [m] above this surface."""
        return self.geodetic(r)[2]

    # --- forces ---------------------------------------------------------------------------
    def gravitation(self, r: ArrayLike) -> NDArray:
        """Gravitational acceleration ``(..., 3)`` [m/s^2]."""
        if self.gravity == "j2":
            return _g.j2(r, self.mu, self.a)
        return _g.point_mass(r, self.mu)

    def gravitation_gradient(self, r: ArrayLike) -> NDArray:
        """d g / d r, ``(..., 3, 3)`` [1/s^2]."""
        if self.gravity == "j2":
            return _g.j2_gradient(r, self.mu, self.a)
        return _g.point_mass_gradient(r, self.mu)

    def frame_acceleration(self, r: ArrayLike, v: ArrayLike) -> NDArray:
        """Coriolis plus centrifugal acceleration ``(..., 3)``; zero when not rotating."""
        return coriolis_centrifugal(r, v, self.w)

    def frame_jacobians(self) -> tuple[NDArray, NDArray]:
        """(d a/d r, d a/d v) of :meth:`frame_acceleration`, constant ``(3, 3)`` each."""
        return coriolis_centrifugal_jacobians(self.w)

    def acceleration(self, r: ArrayLike, v: ArrayLike) -> NDArray:
        """Gravity plus frame terms (no drag, no thrust), ``(..., 3)`` [m/s^2]."""
        return self.gravitation(r) + self.frame_acceleration(r, v)

    @cached_property
    def air(self) -> US76 | Exponential | Vacuum:
        """The atmosphere object: ``density(alt)``, ``properties(alt)``, ``speed_of_sound``."""
        if self.atmosphere == "us76":
            return US76()
        if self.atmosphere == "exponential":
            return Exponential(self.rho0, self.scale_height)
        return Vacuum()


#: The full model used unless a scenario says otherwise.
WGS84_FULL = EarthModel()
