"""Ballistic (free-flight) motion in the Earth-fixed frame, with optional drag.

State (ECEF, SI): ``[x, y, z, vx, vy, vz]`` (6) or ``[x, y, z, vx, vy, vz, log_beta]`` (7)
with beta = m / (Cd A) [kg/m^2] the ballistic coefficient. Continuous dynamics
(docs/references.md §3; Li & Jilkov, "Survey of maneuvering target tracking, Part II", 2010):

    r' = v
    v' = g_J2(r) - 2 w x v - w x (w x r) - rho(h(r)) |v| v / (2 beta)
    log_beta' = 0                               (+ white noise: a random walk in Q)

The air co-rotates with the Earth, so the air-relative velocity is the ECEF velocity ``v``
(no wind). Gravity, frame terms and density come from :class:`trackers.earth.EarthModel`
(gravity and frame terms evaluated by the fused routines of :mod:`trackers.models.forces`).

Jacobian A = df/dx (continuous), blocks for the 7-state model:

    d r'/d v = I
    d v'/d r = G(r) + W_r + dD/dr,   G = d g / d r (earth.gravitation_gradient),
                                     W_r = diag(w^2, w^2, 0) (centrifugal)
    d v'/d v = W_v + dD/dv,          W_v = [[0, 2w, 0], [-2w, 0, 0], [0, 0, 0]] (Coriolis)
    d v'/d log_beta = -a_D           (a_D proportional to 1/beta = exp(-log_beta))

with the drag a_D = -k |v| v, k = rho / (2 beta):

    dD/dv = -k (|v| I + v v' / |v|)
    dD/dr = -(|v| v / (2 beta)) (d rho/d h) (d h/d r)'

``d h / d r`` is the gradient of the geodetic height, which is exactly the unit ellipsoid
normal at the foot point, i.e. the local up vector u = (cos lat cos lon, cos lat sin lon,
sin lat). ``d rho / d h`` is a central difference of the atmosphere's density in height with
a 1 m step (US76 is piecewise smooth with scale heights >= 5 km, so the truncation error is
~(1 m / H)^2 < 1e-7 relative; at the 86 km table joint and US76 layer boundaries the one-sided
derivatives differ, where the central difference returns their mean). The test suite checks
the whole A against central finite differences of f.

Discretisation: RK4 substeps of at most ``max_step`` seconds for the mean, and the
variational equation Phi' = A Phi along the same substeps for the EKF Jacobian
(:mod:`trackers.models.integrate`; A is applied by its blocks, :class:`KinematicJacobian`,
since d r'/d x = [0, I, 0] and d log_beta'/d x = 0). Process noise: white acceleration with
PSD ``q`` [m^2/s^3] on each axis and ``q_log_beta`` [1/s] on log_beta, discretised with the
closed form of the double integrator (CV model; Bar-Shalom, Li & Kirubarajan 2001, §6.2.2):

    Q = q [[dt^3/3 I, dt^2/2 I], [dt^2/2 I, dt I]],    Q_{log_beta} = q_log_beta dt

This neglects the gravity gradient and Coriolis coupling inside one step (relative error
~|G| dt^2 ~ 1e-6 and ~2 w dt ~ 1.5e-4 at dt = 1 s; checked against Van Loan in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth.model import WGS84_FULL, EarthModel
from trackers.models.forces import gravity_frame, gravity_frame_with_jacobians
from trackers.models.integrate import KinematicJacobian, rk4, rk4_with_kinematic_jacobian

POS_VEL_NAMES = ("x", "y", "z", "vx", "vy", "vz")
#: Height step [m] of the central difference d rho / d h.
DRHO_STEP = 1.0


def check_positive(owner: str, name: str, value: Any, allow_zero: bool = True) -> None:
    """Raise ValueError unless ``value`` is a finite number >= 0 (> 0 if not allow_zero)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}.{name} must be a finite number {rel}, got {value!r}")


def check_state(x: ArrayLike, n: int, owner: str) -> NDArray:
    """Return ``x`` as a float array, checking its last axis is ``n``."""
    x = np.asarray(x, float)
    if x.ndim < 1 or x.shape[-1] != n:
        raise ValueError(f"{owner}: state x must have shape (..., {n}), got {x.shape}")
    return x


def density_and_gradient(earth: EarthModel, r: NDArray) -> tuple[NDArray, NDArray]:
    """Air density rho(h(r)) ``(...)`` [kg/m^3] and d rho / d r ``(..., 3)`` [kg/m^4].

    d rho/d r = (d rho/d h) u(lat, lon), u the geodetic up vector (exact gradient of the
    geodetic height); d rho/d h by a central difference with step :data:`DRHO_STEP`.
    """
    lat, lon, h = earth.geodetic(r)
    rho = earth.air.density(h)
    drho = (earth.air.density(h + DRHO_STEP) - earth.air.density(h - DRHO_STEP)) / (2.0 * DRHO_STEP)
    cl = np.cos(lat)
    up = np.stack([cl * np.cos(lon), cl * np.sin(lon), np.sin(lat)], axis=-1)
    return rho, drho[..., None] * up


def drag(earth: EarthModel, r: NDArray, v: NDArray, inv_beta: NDArray) -> NDArray:
    """a_D = -rho(h) |v| v / (2 beta), ``(..., 3)``; ``inv_beta`` = 1/beta [m^2/kg] ``(...)``."""
    rho = earth.air.density(earth.altitude(r))
    speed = np.linalg.norm(v, axis=-1)
    return -(0.5 * rho * inv_beta * speed)[..., None] * v


def drag_with_jacobians(
    earth: EarthModel, r: NDArray, v: NDArray, inv_beta: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """(a_D ``(..., 3)``, d a_D/d r ``(..., 3, 3)``, d a_D/d v ``(..., 3, 3)``); module doc."""
    rho, drho_dr = density_and_gradient(earth, r)
    speed = np.linalg.norm(v, axis=-1)
    k = 0.5 * rho * inv_beta
    a_d = -(k * speed)[..., None] * v
    d_r = -(0.5 * inv_beta * speed)[..., None, None] * v[..., :, None] * drho_dr[..., None, :]
    safe = np.where(speed > 0, speed, 1.0)
    vv = v[..., :, None] * v[..., None, :] / safe[..., None, None]
    d_v = -k[..., None, None] * (speed[..., None, None] * np.eye(3) + vv)
    return a_d, d_r, d_v


def dynamics_key(model: Any, noise_fields: tuple[str, ...]) -> tuple:
    """Hashable of everything a dataclass model's propagation depends on.

    The model's class and every dataclass field except ``noise_fields`` (the process-noise
    densities, which enter only ``process_noise``). Two models with equal keys give identical
    ``propagate`` / ``propagate_with_jacobian`` results, so an IMM may predict their modes in
    one batched call (:class:`trackers.filters.imm.IMM`, ``batch_modes``).
    """
    return (type(model),) + tuple(
        (f.name, getattr(model, f.name)) for f in fields(model) if f.name not in noise_fields
    )


def cv_process_noise(q: float, dt: ArrayLike) -> NDArray:
    """q [[dt^3/3 I, dt^2/2 I], [dt^2/2 I, dt I]], ``(..., 6, 6)`` (``dt`` of shape (...))."""
    dt = np.asarray(dt, float)[..., None, None]
    i3 = np.eye(3)
    out = np.empty(dt.shape[:-2] + (6, 6))
    out[..., :3, :3] = q * dt**3 / 3.0 * i3
    out[..., :3, 3:] = q * dt**2 / 2.0 * i3
    out[..., 3:, :3] = out[..., :3, 3:]
    out[..., 3:, 3:] = q * dt * i3
    return out


@dataclass(frozen=True)
class Ballistic:
    """Ballistic motion in ECEF with J2 gravity, Earth rotation and optional drag.

    Attributes
    ----------
    earth : EarthModel
        Gravity, rotation and atmosphere (default: WGS-84, J2, rotating, US76).
    drag_state : bool
        True: 7-state model with ``log_beta`` (ln of beta [kg/m^2]) estimated.
    beta : float or None
        Fixed ballistic coefficient [kg/m^2] for the 6-state model; None: no drag (midcourse).
        Ignored when ``drag_state``.
    q : float
        Acceleration white-noise PSD [m^2/s^3] per axis.
    q_log_beta : float
        PSD of the log_beta random walk [1/s].
    max_step : float
        Largest RK4 substep [s].
    """

    earth: EarthModel = WGS84_FULL
    drag_state: bool = False
    beta: float | None = None
    q: float = field(default=1.0, metadata={"units": "m^2/s^3"})
    q_log_beta: float = field(default=1e-6, metadata={"units": "1/s"})
    max_step: float = field(default=1.0, metadata={"units": "s"})

    def __post_init__(self) -> None:
        if not isinstance(self.earth, EarthModel):
            raise TypeError(f"Ballistic.earth must be an EarthModel, got {type(self.earth)}")
        if not isinstance(self.drag_state, bool):
            raise TypeError(f"Ballistic.drag_state must be a bool, got {self.drag_state!r}")
        if self.beta is not None:
            check_positive("Ballistic", "beta", self.beta, allow_zero=False)
        check_positive("Ballistic", "q", self.q)
        check_positive("Ballistic", "q_log_beta", self.q_log_beta)
        check_positive("Ballistic", "max_step", self.max_step, allow_zero=False)

    @property
    def ndim(self) -> int:
        return 7 if self.drag_state else 6

    @property
    def state_names(self) -> tuple[str, ...]:
        return (*POS_VEL_NAMES, "log_beta") if self.drag_state else POS_VEL_NAMES

    @property
    def _has_drag(self) -> bool:
        return (self.drag_state or self.beta is not None) and self.earth.atmosphere != "none"

    def _inv_beta(self, x: NDArray) -> NDArray:
        if self.drag_state:
            return np.exp(-x[..., 6])
        return np.full(x.shape[:-1], 1.0 / cast(float, self.beta))  # beta is set w/o drag_state

    # --- continuous dynamics ---------------------------------------------------------------
    def derivative(self, x: ArrayLike, t: ArrayLike = 0.0) -> NDArray:
        """f(x) = x' ``(..., n)`` (time-invariant; ``t`` unused)."""
        return self._f(check_state(x, self.ndim, "Ballistic.derivative"), t)

    def derivative_with_jacobian(self, x: ArrayLike, t: ArrayLike = 0.0) -> tuple[NDArray, NDArray]:
        """(f(x) ``(..., n)``, A = df/dx ``(..., n, n)``); blocks in the module docstring."""
        return self._fj(check_state(x, self.ndim, "Ballistic.derivative_with_jacobian"), t)

    def _f(self, x: NDArray, t: ArrayLike = 0.0) -> NDArray:
        """:meth:`derivative` without input checks (RK4 stages)."""
        r, v = x[..., :3], x[..., 3:6]
        out = np.empty(x.shape)
        out[..., :3] = v
        acc = gravity_frame(self.earth, r, v)
        if self._has_drag:
            acc += drag(self.earth, r, v, self._inv_beta(x))
        out[..., 3:6] = acc
        if self.drag_state:
            out[..., 6] = 0.0
        return out

    def _fj(self, x: NDArray, t: ArrayLike = 0.0) -> tuple[NDArray, NDArray]:
        """:meth:`derivative_with_jacobian` without input checks."""
        n = self.ndim
        r, v = x[..., :3], x[..., 3:6]
        acc, dr, dv = gravity_frame_with_jacobians(self.earth, r, v)
        a = np.zeros(x.shape[:-1] + (n, n))
        a[..., 0, 3] = a[..., 1, 4] = a[..., 2, 5] = 1.0
        if self._has_drag:
            a_d, d_r, d_v = drag_with_jacobians(self.earth, r, v, self._inv_beta(x))
            acc = acc + a_d
            dr = dr + d_r
            dv = dv + d_v
            if self.drag_state:
                a[..., 3:6, 6] = -a_d
        a[..., 3:6, 0:3] = dr
        a[..., 3:6, 3:6] = dv
        out = np.empty(x.shape)
        out[..., :3] = v
        out[..., 3:6] = acc
        if self.drag_state:
            out[..., 6] = 0.0
        return out, a

    def _fj_blocks(self, x: NDArray, t: ArrayLike = 0.0) -> tuple[NDArray, KinematicJacobian]:
        """(f, A by batch-last blocks) for :func:`rk4_with_kinematic_jacobian`.

        A_r = G + W_r (+ dD/dr), A_v = W_v (+ dD/dv), A_p = -a_D (module docstring).
        """
        r, v = x[..., :3], x[..., 3:6]
        acc, dr, dv = gravity_frame_with_jacobians(self.earth, r, v, batch_last=True)
        ap = None
        if self._has_drag:
            a_d, d_r, d_v = drag_with_jacobians(self.earth, r, v, self._inv_beta(x))
            acc += a_d
            dr = dr + np.moveaxis(d_r, (-2, -1), (0, 1))
            dv = dv.reshape((3, 3) + (1,) * (d_v.ndim - 2)) + np.moveaxis(d_v, (-2, -1), (0, 1))
            if self.drag_state:
                ap = np.moveaxis(-a_d, -1, 0)[:, None]
        elif self.drag_state:
            ap = np.zeros((3, 1) + x.shape[:-1])
        out = np.empty(x.shape)
        out[..., :3] = v
        out[..., 3:6] = acc
        if self.drag_state:
            out[..., 6] = 0.0
        return out, KinematicJacobian(dr, dv, ap)

    # --- MotionModel protocol --------------------------------------------------------------
    def dynamics_key(self) -> tuple:
        """Everything propagation depends on (all fields but ``q``, ``q_log_beta``)."""
        return dynamics_key(self, ("q", "q_log_beta"))

    def propagate(self, x: ArrayLike, dt: float | NDArray, t: float = 0.0) -> NDArray:
        """Mean after ``dt`` [s] by RK4 substeps, ``(..., n)``."""
        x = check_state(x, self.ndim, "Ballistic.propagate")
        return rk4(self._f, x, dt, t, self.max_step)

    def propagate_with_jacobian(
        self, x: ArrayLike, dt: float | NDArray, t: float = 0.0
    ) -> tuple[NDArray, NDArray]:
        """(mean ``(..., n)``, F = d mean / d x ``(..., n, n)``) by RK4 + variational eqs."""
        x = check_state(x, self.ndim, "Ballistic.propagate_with_jacobian")
        return rk4_with_kinematic_jacobian(self._fj_blocks, x, dt, t, self.max_step)

    def process_noise(self, x: ArrayLike, dt: float | NDArray, t: float = 0.0) -> NDArray:
        """Q ``(..., n, n)`` (batch shape of ``dt``; module docstring)."""
        q6 = cv_process_noise(self.q, dt)
        if not self.drag_state:
            return q6
        q = np.zeros(q6.shape[:-2] + (7, 7))
        q[..., :6, :6] = q6
        q[..., 6, 6] = self.q_log_beta * np.asarray(dt, float)
        return q
