"""Earth rotation: apparent accelerations in the rotating (ECEF) frame and ECI <-> ECEF.

In a frame rotating with constant angular velocity w = (0, 0, omega_E):

    a_ECEF = a_inertial - 2 w x v - w x (w x r)            (Coriolis, centrifugal)

(docs/references.md §3; Vallado §3.7). ECI here is the pseudo-inertial frame that coincides with
ECEF at the scenario epoch (t = 0): r_ECEF = R3(omega t) r_ECI, v_ECEF = R3 (v_ECI - w x r_ECI).
Precession, nutation and polar motion are ignored (sub-arcsecond over a flight).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth.wgs84 import OMEGA_E


def coriolis_centrifugal(r: ArrayLike, v: ArrayLike, omega: float = OMEGA_E) -> NDArray[np.float64]:
    """-2 w x v - w x (w x r) for w = (0, 0, omega), ``(..., 3)`` [m/s^2].

    Component form: (2 w v_y + w^2 x, -2 w v_x + w^2 y, 0).
    """
    r = np.asarray(r, float)
    v = np.asarray(v, float)
    w2 = omega * omega
    return np.stack(
        [
            2.0 * omega * v[..., 1] + w2 * r[..., 0],
            -2.0 * omega * v[..., 0] + w2 * r[..., 1],
            np.zeros(np.broadcast_shapes(r.shape[:-1], v.shape[:-1])),
        ],
        axis=-1,
    )


def coriolis_centrifugal_jacobians(omega: float = OMEGA_E) -> tuple[NDArray, NDArray]:
    """Constant Jacobians (d a/d r, d a/d v) of :func:`coriolis_centrifugal`, each ``(3, 3)``."""
    w2 = omega * omega
    dr = np.diag([w2, w2, 0.0])
    dv = np.array([[0.0, 2.0 * omega, 0.0], [-2.0 * omega, 0.0, 0.0], [0.0, 0.0, 0.0]])
    return dr, dv


def _r3(theta: ArrayLike) -> NDArray[np.float64]:
    """Frame rotation about z by theta: R3(theta) = [[c, s, 0], [-s, c, 0], [0, 0, 1]]."""
    th = np.asarray(theta, float)
    c, s = np.cos(th), np.sin(th)
    o, z = np.ones_like(th), np.zeros_like(th)
    return np.stack(
        [np.stack([c, s, z], -1), np.stack([-s, c, z], -1), np.stack([z, z, o], -1)], -2
    )


def eci_to_ecef(
    t: ArrayLike, r_eci: ArrayLike, v_eci: ArrayLike, omega: float = OMEGA_E
) -> tuple[NDArray, NDArray]:
    """Pseudo-inertial (aligned with ECEF at t = 0) -> ECEF position and velocity."""
    r_eci, v_eci = np.asarray(r_eci, float), np.asarray(v_eci, float)
    rot = _r3(omega * np.asarray(t, float))
    w = np.array([0.0, 0.0, omega])
    r = np.einsum("...ij,...j->...i", rot, r_eci)
    v = np.einsum("...ij,...j->...i", rot, v_eci - np.cross(w, r_eci))
    return r, v


def ecef_to_eci(
    t: ArrayLike, r_ecef: ArrayLike, v_ecef: ArrayLike, omega: float = OMEGA_E
) -> tuple[NDArray, NDArray]:
    """Inverse of :func:`eci_to_ecef`."""
    r_ecef, v_ecef = np.asarray(r_ecef, float), np.asarray(v_ecef, float)
    rot_t = np.swapaxes(_r3(omega * np.asarray(t, float)), -1, -2)
    w = np.array([0.0, 0.0, omega])
    r = np.einsum("...ij,...j->...i", rot_t, r_ecef)
    v = np.einsum("...ij,...j->...i", rot_t, v_ecef) + np.cross(w, r)
    return r, v
