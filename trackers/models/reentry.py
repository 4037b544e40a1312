"""The 2-D reentry-vehicle benchmark (Athans et al. 1968; Julier & Uhlmann 2004), units km, s.

State x = [x1, x2, x3, x4, x5]: position [km], velocity [km/s] and the log ballistic factor
x5 [-] of a body re-entering over a spherical Earth (docs/references.md §1):

    x1' = x3,   x2' = x4,   x3' = D x3 + G x1 + v1,   x4' = D x4 + G x2 + v2,   x5' = v3
    R = sqrt(x1^2 + x2^2),  V = sqrt(x3^2 + x4^2),  beta = beta0 exp(x5)
    D = beta exp((R0 - R) / H0) V,   G = -Gm0 / R^3
    beta0 = -0.59783, H0 = 13.406 km, Gm0 = 3.9860e5 km^3/s^2, R0 = 6374 km

Discretisation as in the EKF/UKF toolbox demo (Hartikainen, Solin & Särkkä): ``substeps``
explicit Euler steps per ``dt``, x <- x + h f(x), h = dt / substeps; the Jacobian of the map is
the product of (I + h A(x_i)) over the substeps, with A = df/dx:

    dD/dx1 = -D x1 / (H0 R),  dD/dx2 = -D x2 / (H0 R),  dD/dx3 = b E x3 / V,
    dD/dx4 = b E x4 / V,      dD/dx5 = D                (b = beta, E = exp((R0 - R)/H0))
    dG/dx1 = 3 Gm0 x1 / R^5,  dG/dx2 = 3 Gm0 x2 / R^5
    df3/dx = x3 dD/dx + D e3 + x1 dG/dx + G e1, and likewise for f4.

Process noise enters x3, x4, x5 with discrete covariance diag(0, 0, q_vel, q_vel, q_beta) per
``q_step`` = 0.1 s, scaled linearly with dt (white noise with PSD q / q_step).

The radar at (R0, 0) measures range and bearing:

    r = sqrt((x1 - xr)^2 + (x2 - yr)^2),   theta = atan2(x2 - yr, x1 - xr)
    dr/d(x1, x2) = (dx, dy) / r,   dtheta/d(x1, x2) = (-dy, dx) / r^2

References
----------
M. Athans, R. P. Wishner, A. Bertolini, "Suboptimal state estimation for continuous-time
nonlinear systems from discrete noisy measurements", IEEE TAC 13(5), 1968.
S. J. Julier, J. K. Uhlmann, "Unscented filtering and nonlinear estimation", Proc. IEEE 92(3),
401-422, 2004, §VI.
J. Hartikainen, A. Solin, S. Särkkä, *Optimal filtering with Kalman filters and smoothers: a
manual for the Matlab toolbox EKF/UKF*, 2011 (reentry demo: parameters and Euler scheme).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["ReentryMotion", "ReentryRadar"]


@dataclass(frozen=True)
class ReentryMotion:
    """Euler-discretised reentry dynamics (units km, s).

    Attributes
    ----------
    q_vel : float
        Velocity process-noise variance per ``q_step`` [km^2/s^2] (v1, v2).
    q_beta : float
        Log-ballistic-factor process-noise variance per ``q_step`` [-] (v3).
    q_step : float
        Step [s] the variances refer to (0.1 s in the benchmark).
    substeps : int
        Euler steps per propagation interval dt.
    beta0, H0, Gm0, R0 : float
        Ballistic factor scale [-], scale height [km], gravitational parameter [km^3/s^2] and
        Earth radius [km].
    """

    q_vel: float = field(default=2.4064e-5, metadata={"units": "km^2/s^2 per q_step"})
    q_beta: float = field(default=1e-6, metadata={"units": "1 per q_step"})
    q_step: float = field(default=0.1, metadata={"units": "s"})
    substeps: int = 1
    beta0: float = -0.59783
    H0: float = field(default=13.406, metadata={"units": "km"})
    Gm0: float = field(default=3.9860e5, metadata={"units": "km^3/s^2"})
    R0: float = field(default=6374.0, metadata={"units": "km"})
    ndim: int = field(default=5, init=False)
    state_names: tuple[str, ...] = field(
        default=("x1", "x2", "x3", "x4", "x5"), init=False, repr=False
    )

    def __post_init__(self) -> None:
        for name in ("q_vel", "q_beta"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ValueError(f"ReentryMotion.{name} must be a finite number >= 0, got {v!r}")
        if not (isinstance(self.q_step, int | float) and self.q_step > 0):
            raise ValueError(f"ReentryMotion.q_step must be > 0 [s], got {self.q_step!r}")
        if not (isinstance(self.substeps, int) and self.substeps >= 1):
            raise ValueError(f"ReentryMotion.substeps must be an int >= 1, got {self.substeps!r}")

    def derivative(self, x: NDArray) -> NDArray:
        """f(x) = dx/dt without noise, ``(..., 5) -> (..., 5)``."""
        x = np.asarray(x, dtype=float)
        x1, x2, x3, x4, x5 = (x[..., i] for i in range(5))
        R = np.sqrt(x1 * x1 + x2 * x2)
        V = np.sqrt(x3 * x3 + x4 * x4)
        D = self.beta0 * np.exp(x5) * np.exp((self.R0 - R) / self.H0) * V
        G = -self.Gm0 / R**3
        return np.stack([x3, x4, D * x3 + G * x1, D * x4 + G * x2, np.zeros_like(x5)], -1)

    def derivative_jacobian(self, x: NDArray) -> NDArray:
        """A = df/dx, ``(..., 5, 5)`` (module docstring)."""
        x = np.asarray(x, dtype=float)
        x1, x2, x3, x4, x5 = (x[..., i] for i in range(5))
        R = np.sqrt(x1 * x1 + x2 * x2)
        V = np.sqrt(x3 * x3 + x4 * x4)
        bE = self.beta0 * np.exp(x5) * np.exp((self.R0 - R) / self.H0)
        D = bE * V
        G = -self.Gm0 / R**3
        dD = np.stack(
            [-D * x1 / (self.H0 * R), -D * x2 / (self.H0 * R), bE * x3 / V, bE * x4 / V, D], -1
        )
        g = 3.0 * self.Gm0 / R**5
        A = np.zeros((*x.shape[:-1], 5, 5))
        A[..., 0, 2] = 1.0
        A[..., 1, 3] = 1.0
        A[..., 2, :] = x3[..., None] * dD
        A[..., 3, :] = x4[..., None] * dD
        A[..., 2, 0] += G + x1 * g * x1
        A[..., 2, 1] += x1 * g * x2
        A[..., 2, 2] += D
        A[..., 3, 0] += x2 * g * x1
        A[..., 3, 1] += G + x2 * g * x2
        A[..., 3, 3] += D
        return A

    def propagate(self, x: NDArray, dt: float | NDArray, t: float = 0.0) -> NDArray:
        """``substeps`` Euler steps x <- x + h f(x), h = dt / substeps."""
        h = np.asarray(dt, dtype=float)[..., None] / self.substeps
        x = np.asarray(x, dtype=float)
        for _ in range(self.substeps):
            x = x + h * self.derivative(x)
        return x

    def propagate_with_jacobian(
        self, x: NDArray, dt: float | NDArray, t: float = 0.0
    ) -> tuple[NDArray, NDArray]:
        """(x1, F) with F = prod_i (I + h A(x_i)) over the Euler substeps."""
        h = np.asarray(dt, dtype=float)[..., None] / self.substeps
        x = np.asarray(x, dtype=float)
        F = np.broadcast_to(np.eye(5), (*x.shape[:-1], 5, 5))
        for _ in range(self.substeps):
            step = np.eye(5) + h[..., None] * self.derivative_jacobian(x)
            F = step @ F
            x = x + h * self.derivative(x)
        return x, F

    def process_noise(self, x: NDArray, dt: float | NDArray, t: float = 0.0) -> NDArray:
        """Q = diag(0, 0, q_vel, q_vel, q_beta) dt / q_step, ``(5, 5)`` or ``(..., 5, 5)``."""
        s = np.asarray(dt, dtype=float)[..., None, None] / self.q_step
        return s * np.diag([0.0, 0.0, self.q_vel, self.q_vel, self.q_beta])


@dataclass(frozen=True)
class ReentryRadar:
    """Range [km] and bearing [rad] from a radar at (xr, yr) [km].

    Attributes
    ----------
    sigma_range : float
        Range noise standard deviation [km].
    sigma_bearing : float
        Bearing noise standard deviation [rad].
    xr, yr : float
        Radar position [km].
    """

    sigma_range: float = field(default=1e-3, metadata={"units": "km"})
    sigma_bearing: float = field(default=0.17e-3, metadata={"units": "rad"})
    xr: float = field(default=6374.0, metadata={"units": "km"})
    yr: float = field(default=0.0, metadata={"units": "km"})
    ndim_meas: int = field(default=2, init=False)
    angle_indices: tuple[int, ...] = field(default=(1,), init=False)

    def __post_init__(self) -> None:
        for name in ("sigma_range", "sigma_bearing"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(f"ReentryRadar.{name} must be a finite number > 0, got {v!r}")

    def measure(self, x: NDArray) -> NDArray:
        """(r, theta), ``(..., 5) -> (..., 2)``."""
        x = np.asarray(x, dtype=float)
        dx, dy = x[..., 0] - self.xr, x[..., 1] - self.yr
        return np.stack([np.hypot(dx, dy), np.arctan2(dy, dx)], -1)

    def measure_with_jacobian(self, x: NDArray) -> tuple[NDArray, NDArray]:
        """((r, theta), H ``(..., 2, 5)``)."""
        x = np.asarray(x, dtype=float)
        dx, dy = x[..., 0] - self.xr, x[..., 1] - self.yr
        r2 = dx * dx + dy * dy
        r = np.sqrt(r2)
        H = np.zeros((*x.shape[:-1], 2, 5))
        H[..., 0, 0], H[..., 0, 1] = dx / r, dy / r
        H[..., 1, 0], H[..., 1, 1] = -dy / r2, dx / r2
        return np.stack([r, np.arctan2(dy, dx)], -1), H

    def noise_cov(self) -> NDArray:
        """R = diag(sigma_range^2, sigma_bearing^2)."""
        return np.diag([self.sigma_range**2, self.sigma_bearing**2])
