"""Gravity plus Earth-rotation accelerations and their Jacobians, fused for the filters' hot path.

The motion models evaluate, at every RK4 stage,

    a(r, v) = g(r) - 2 w x v - w x (w x r)
    d a / d r = G(r) + diag(w^2, w^2, 0),     d a / d v = [[0, 2w, 0], [-2w, 0, 0], [0, 0, 0]]

with w = (0, 0, omega) and G = d g / d r. :mod:`trackers.earth` provides these term by term
(``gravity.j2``, ``gravity.j2_gradient``, ``rotation.coriolis_centrifugal``); here the J2 field
and its gradient are computed together, sharing every intermediate, which makes the EKF's
Jacobian several times cheaper (tests check both against trackers.earth to 1e-13).

J2 (docs/references.md §3): with m = -mu / r^3, k = 1.5 J2 Re^2 / r^2, s = 5 z^2 / r^2,
c0 = (1, 1, 3), c_i = 1 + k (c0_i - s):

    g_i = m c_i r_i
    G_ij = alpha_i r_i r_j + beta r_i delta_jz + m c_i delta_ij
    alpha_i = -(m / r^2) [3 c_i + 2 k (c0_i - 2 s)],   beta = -10 m k z / r^2

(from the product rule on g_i, using d m/d r_j = -3 m r_j / r^2, d k/d r_j = -2 k r_j / r^2,
d s/d r_j = -2 s r_j / r^2 + 10 z delta_jz / r^2; G is symmetric since
(alpha_z - alpha_x) z = beta).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trackers.earth.model import EarthModel
from trackers.earth.wgs84 import J2


def j2_acceleration(r: NDArray, mu: float, re: float, j2: float = J2) -> NDArray:
    """J2 gravity g ``(..., 3)`` [m/s^2] (same as :func:`trackers.earth.gravity.j2`)."""
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    inv_r2 = 1.0 / (x * x + y * y + z * z)
    m = -mu * inv_r2 * np.sqrt(inv_r2)
    k = 1.5 * j2 * re * re * inv_r2
    s = 5.0 * z * z * inv_r2
    mcxy = m * (1.0 + k * (1.0 - s))
    out = np.empty(r.shape)
    out[..., 0] = mcxy * x
    out[..., 1] = mcxy * y
    out[..., 2] = m * (1.0 + k * (3.0 - s)) * z
    return out


def j2_with_gradient(
    r: NDArray, mu: float, re: float, j2: float = J2, batch_last: bool = False
) -> tuple[NDArray, NDArray]:
    """(g ``(..., 3)``, G = d g / d r ``(..., 3, 3)``) of J2 gravity (module docstring).

    ``batch_last``: G as ``(3, 3, ...)`` (entry (i, j) a contiguous vector over the batch).
    """
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    inv_r2 = 1.0 / (x * x + y * y + z * z)
    m = -mu * inv_r2 * np.sqrt(inv_r2)
    k = 1.5 * j2 * re * re * inv_r2
    s = 5.0 * z * z * inv_r2
    cxy = 1.0 + k * (1.0 - s)
    cz = 1.0 + k * (3.0 - s)
    mcxy, mcz = m * cxy, m * cz
    acc = np.empty(r.shape)
    acc[..., 0] = mcxy * x
    acc[..., 1] = mcxy * y
    acc[..., 2] = mcz * z
    f = -m * inv_r2
    alpha_xy = f * (3.0 * cxy + 2.0 * k * (1.0 - 2.0 * s))
    alpha_z = f * (3.0 * cz + 2.0 * k * (3.0 - 2.0 * s))
    beta = -10.0 * m * k * z * inv_r2
    # G_ij = (alpha_i r_i) r_j + beta r_i delta_jz + m c_i delta_ij, entry by entry (length-N
    # vector operations; an (N, 3, 1) * (N, 1, 3) broadcast is several times slower)
    ax, ay, az = alpha_xy * x, alpha_xy * y, alpha_z * z
    g = np.empty((3, 3) + r.shape[:-1])
    g[0, 0] = ax * x + mcxy
    g[0, 1] = ax * y
    g[0, 2] = ax * z + beta * x
    g[1, 0] = ay * x
    g[1, 1] = ay * y + mcxy
    g[1, 2] = ay * z + beta * y
    g[2, 0] = az * x
    g[2, 1] = az * y
    g[2, 2] = az * z + beta * z + mcz
    return acc, (g if batch_last else np.moveaxis(g, (0, 1), (-2, -1)))


def _frame_dv(earth: EarthModel) -> NDArray:
    """d a / d v of the frame terms, (3, 3) (cached per Earth model: it is a constant)."""
    key = (earth.w,)
    out = _FRAME_DV.get(key)
    if out is None:
        out = _FRAME_DV[key] = np.array(earth.frame_jacobians()[1], dtype=float)
        out.flags.writeable = False
    return out


_FRAME_DV: dict[tuple, NDArray] = {}


def gravity_frame(earth: EarthModel, r: NDArray, v: NDArray) -> NDArray:
    """g(r) - 2 w x v - w x (w x r), ``(..., 3)`` [m/s^2]."""
    if earth.gravity == "j2":
        acc = j2_acceleration(r, earth.mu, earth.a)
    else:
        acc = np.array(earth.gravitation(r), dtype=float)
    w = earth.w
    if w:
        # -2 w x v - w x (w x r) = (2 w vy + w^2 x, -2 w vx + w^2 y, 0)
        acc[..., 0] += 2.0 * w * v[..., 1] + w * w * r[..., 0]
        acc[..., 1] += -2.0 * w * v[..., 0] + w * w * r[..., 1]
    return acc


def gravity_frame_with_jacobians(
    earth: EarthModel, r: NDArray, v: NDArray, batch_last: bool = False
) -> tuple[NDArray, NDArray, NDArray]:
    """(a ``(..., 3)``, d a/d r ``(..., 3, 3)``, d a/d v ``(3, 3)``) of :func:`gravity_frame`.

    ``batch_last``: d a/d r as ``(3, 3, ...)`` (see :func:`j2_with_gradient`).
    """
    if earth.gravity == "j2":
        acc, grad = j2_with_gradient(r, earth.mu, earth.a, batch_last=True)
    else:
        acc = np.array(earth.gravitation(r), dtype=float)
        grad = np.array(earth.gravitation_gradient(r), dtype=float)
        grad = np.ascontiguousarray(np.moveaxis(grad, (-2, -1), (0, 1)))
    w = earth.w
    if w:
        acc[..., 0] += 2.0 * w * v[..., 1] + w * w * r[..., 0]
        acc[..., 1] += -2.0 * w * v[..., 0] + w * w * r[..., 1]
        grad[0, 0] += w * w
        grad[1, 1] += w * w
    if not batch_last:
        grad = np.moveaxis(grad, (0, 1), (-2, -1))
    return acc, grad, _frame_dv(earth)
