"""Gravitational acceleration in the Earth-fixed frame: point mass and J2, with gradients.

All functions take positions ``r`` of shape ``(..., 3)`` [m] and return accelerations
``(..., 3)`` [m/s^2] or gradients ``(..., 3, 3)`` [1/s^2] (d a_i / d r_j).

Equations (docs/references.md §3; Vallado, *Fundamentals of Astrodynamics*, 4th ed., §8.7):

    point mass:  a = -mu r / |r|^3
    J2:          a_xy = -(mu x_i / r^3) [1 + 1.5 J2 (Re/r)^2 (1 - 5 z^2/r^2)]
                 a_z  = -(mu z   / r^3) [1 + 1.5 J2 (Re/r)^2 (3 - 5 z^2/r^2)]

The J2 field is the gradient of the potential
U = mu/r [1 - J2 (Re/r)^2 (3 z^2/r^2 - 1)/2]; its gradient (the Hessian of U) is computed
analytically below and checked against finite differences in the tests.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth.wgs84 import GM, J2, A


def point_mass(r: ArrayLike, mu: float = GM) -> NDArray[np.float64]:
    """Point-mass gravity a = -mu r / |r|^3, ``(..., 3)``."""
    r = np.asarray(r, float)
    rn = np.linalg.norm(r, axis=-1, keepdims=True)
    return -mu * r / rn**3


def point_mass_gradient(r: ArrayLike, mu: float = GM) -> NDArray[np.float64]:
    """d a / d r for point-mass gravity: -mu/r^3 (I - 3 r r^T / r^2), ``(..., 3, 3)``."""
    r = np.asarray(r, float)
    rn2 = np.einsum("...i,...i->...", r, r)[..., None, None]
    outer = r[..., :, None] * r[..., None, :]
    return -mu / rn2**1.5 * (np.eye(3) - 3.0 * outer / rn2)


def j2(r: ArrayLike, mu: float = GM, re: float = A, j2: float = J2) -> NDArray[np.float64]:
    """Point mass plus J2 acceleration, ``(..., 3)`` (equations in the module docstring)."""
    r = np.asarray(r, float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    r2 = x * x + y * y + z * z
    rn = np.sqrt(r2)
    k = 1.5 * j2 * re * re / r2
    s = 5.0 * z * z / r2
    m = -mu / (r2 * rn)
    fxy = m * (1.0 + k * (1.0 - s))
    fz = m * (1.0 + k * (3.0 - s))
    return np.stack([fxy * x, fxy * y, fz * z], axis=-1)


def j2_gradient(r: ArrayLike, mu: float = GM, re: float = A, j2: float = J2) -> NDArray[np.float64]:
    """d a / d r of :func:`j2`, ``(..., 3, 3)`` (symmetric: the Hessian of the potential).

    Writing a_i = m(r) c_i(r) r_i with m = -mu/r^3 and c = 1 + k (c0_i - s),
    k = 1.5 J2 Re^2 / r^2, s = 5 z^2 / r^2 (c0 = 1, 1, 3), the product rule gives
    d a_i/d r_j = (dm_j c_i + m dc_ij) r_i + m c_i delta_ij with
    dm_j = 3 mu r_j / r^5, dk_j = -2 k r_j / r^2, ds_j = -2 s r_j / r^2 + 10 z delta_jz / r^2.
    """
    r = np.asarray(r, float)
    z = r[..., 2]
    r2 = np.einsum("...i,...i->...", r, r)
    rn = np.sqrt(r2)
    k = 1.5 * j2 * re * re / r2
    s = 5.0 * z * z / r2
    m = -mu / (r2 * rn)
    c0 = np.array([1.0, 1.0, 3.0])
    c = 1.0 + k[..., None] * (c0 - s[..., None])  # (..., 3)
    dm = 3.0 * mu * r / (r2 * r2 * rn)[..., None]  # (..., 3)
    dk = -2.0 * k[..., None] * r / r2[..., None]
    ez = np.array([0.0, 0.0, 1.0])
    ds = -2.0 * s[..., None] * r / r2[..., None] + (10.0 * z / r2)[..., None] * ez
    # dc_ij = dk_j (c0_i - s) - k ds_j
    dc = (
        dk[..., None, :] * (c0 - s[..., None])[..., :, None] - k[..., None, None] * ds[..., None, :]
    )
    grad = (dm[..., None, :] * c[..., :, None] + m[..., None, None] * dc) * r[..., :, None]
    return grad + (m[..., None] * c)[..., :, None] * np.eye(3)
