"""Powered (boost-phase) motion in the Earth-fixed frame: thrust along the velocity.

Two variants (docs/references.md §3, "Boost"; Li & Jilkov, Survey Part II, 2010, §6):

(a) :class:`BoostKnownThrust` — state ``[x, y, z, vx, vy, vz]`` (6); the thrust acceleration
    follows the rocket equation at constant mass flow,

        a_T(t) = v_e / (tau - (t - t_ignition))   for t_ignition <= t < t_ignition + burn_time,

    0 otherwise, with v_e = g0 Isp [m/s] and tau = m0 / mdot [s] known. ``t`` is absolute
    time (seconds since the scenario epoch).

(b) :class:`BoostThrustState` — state ``[x, y, z, vx, vy, vz, a_thrust]`` (7) with the
    thrust-acceleration magnitude a_T [m/s^2] estimated. Its deterministic part is either
    constant (a_T' = 0) or, if an exhaust velocity v_e is given, the rocket-equation growth
    a_T' = a_T^2 / v_e (d/dt of v_e / (tau - t)); plus a random walk with PSD ``q_thrust``.

Both: r' = v, v' = g_J2(r) - 2 w x v - w x (w x r) + a_T v / |v| (no drag: boost above the
dense atmosphere, or drag absorbed in the process noise). Jacobian of the thrust term, with
u = v / |v|:

    d (a_T u) / d v = a_T (I - u u') / |v|,    d (a_T u) / d a_T = u,
    d (a_T^2 / v_e) / d a_T = 2 a_T / v_e.

Process noise: the CV closed form for the white acceleration ``q`` (as in
:mod:`trackers.models.ballistic`), plus, for (b), the a_T random walk pushed through the chain
a_T -> v -> r along the current direction u (the Wiener-process-acceleration block, Bar-Shalom
et al. 2001 §6.2.3, projected on u):

    Q_aT = q_thrust [[dt^5/20 uu', dt^4/8 uu', dt^3/6 u],
                     [dt^4/8 uu',  dt^3/3 uu', dt^2/2 u],
                     [dt^3/6 u',   dt^2/2 u',  dt      ]]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth.model import WGS84_FULL, EarthModel
from trackers.models.ballistic import (
    POS_VEL_NAMES,
    check_positive,
    check_state,
    cv_process_noise,
    dynamics_key,
)
from trackers.models.forces import gravity_frame, gravity_frame_with_jacobians
from trackers.models.integrate import rk4, rk4_with_jacobian


def _unit(v: NDArray) -> tuple[NDArray, NDArray]:
    """(u = v / |v| ``(..., 3)``, |v| ``(...)``); u = 0 where v = 0."""
    speed = np.linalg.norm(v, axis=-1)
    safe = np.where(speed > 0, speed, 1.0)
    return v / safe[..., None], speed


def _thrust_dv(a_t: NDArray, u: NDArray, speed: NDArray) -> NDArray:
    """d (a_T u) / d v = a_T (I - u u') / |v|, ``(..., 3, 3)``."""
    safe = np.where(speed > 0, speed, 1.0)
    proj = np.eye(3) - u[..., :, None] * u[..., None, :]
    return (a_t / safe)[..., None, None] * proj


@dataclass(frozen=True)
class BoostKnownThrust:
    """Boost with known thrust profile a_T(t) = v_e / (tau - (t - t_ignition)); 6 states.

    Attributes
    ----------
    exhaust_velocity : float
        v_e = g0 Isp [m/s].
    tau : float
        m0 / mdot [s]: time to burn the whole initial mass; must exceed ``burn_time``.
    burn_time : float
        Burn duration [s], 0 < burn_time < tau; a_T = 0 outside
        [t_ignition, t_ignition + burn_time). Propagation splits its RK4 substeps at ignition
        and burnout, so steps may straddle them.
    t_ignition : float
        Burn start [s since epoch].
    earth : EarthModel
    q : float
        Acceleration white-noise PSD [m^2/s^3].
    max_step : float
        Largest RK4 substep [s].
    """

    exhaust_velocity: float = field(metadata={"units": "m/s"})
    tau: float = field(metadata={"units": "s"})
    burn_time: float = field(metadata={"units": "s"})
    t_ignition: float = field(default=0.0, metadata={"units": "s"})
    earth: EarthModel = WGS84_FULL
    q: float = field(default=1.0, metadata={"units": "m^2/s^3"})
    max_step: float = field(default=1.0, metadata={"units": "s"})

    ndim = 6
    state_names = POS_VEL_NAMES

    def __post_init__(self) -> None:
        check_positive("BoostKnownThrust", "exhaust_velocity", self.exhaust_velocity, False)
        check_positive("BoostKnownThrust", "tau", self.tau, False)
        if not (isinstance(self.t_ignition, int | float) and np.isfinite(self.t_ignition)):
            raise ValueError(f"BoostKnownThrust.t_ignition must be finite, got {self.t_ignition!r}")
        if not (isinstance(self.burn_time, int | float) and 0 < self.burn_time < self.tau):
            raise ValueError(
                f"BoostKnownThrust.burn_time must be in (0, tau={self.tau}) s, "
                f"got {self.burn_time!r}"
            )
        check_positive("BoostKnownThrust", "q", self.q)
        check_positive("BoostKnownThrust", "max_step", self.max_step, False)

    def thrust_acceleration(self, t: ArrayLike, burning: ArrayLike | None = None) -> NDArray:
        """a_T(t) [m/s^2], ``t`` absolute time [s]; 0 outside the burn.

        ``burning`` (bool, broadcastable to t) overrides the on/off test; propagation uses it so
        that a segment ending exactly at burnout still sees the thrust in its last stage.
        """
        s = np.asarray(t, float) - self.t_ignition
        if burning is None:
            burning = (s >= 0) & (s < self.burn_time)
        s = np.clip(s, 0.0, self.burn_time)
        return np.where(burning, self.exhaust_velocity / (self.tau - s), 0.0)

    def derivative(self, x: ArrayLike, t: ArrayLike = 0.0, burning=None) -> NDArray:
        """f(x, t) ``(..., 6)``."""
        x = check_state(x, 6, "BoostKnownThrust.derivative")
        r, v = x[..., :3], x[..., 3:6]
        u, _ = _unit(v)
        a_t = self.thrust_acceleration(t, burning)
        acc = gravity_frame(self.earth, r, v) + a_t[..., None] * u
        return np.concatenate([v, acc], axis=-1)

    def derivative_with_jacobian(
        self, x: ArrayLike, t: ArrayLike = 0.0, burning=None
    ) -> tuple[NDArray, NDArray]:
        """(f ``(..., 6)``, A = df/dx ``(..., 6, 6)``)."""
        x = check_state(x, 6, "BoostKnownThrust.derivative_with_jacobian")
        r, v = x[..., :3], x[..., 3:6]
        u, speed = _unit(v)
        a_t = np.broadcast_to(self.thrust_acceleration(t, burning), speed.shape)
        g_acc, dr, dv = gravity_frame_with_jacobians(self.earth, r, v)
        a = np.zeros(x.shape[:-1] + (6, 6))
        a[..., 0:3, 3:6] = np.eye(3)
        a[..., 3:6, 0:3] = dr
        a[..., 3:6, 3:6] = dv + _thrust_dv(a_t, u, speed)
        acc = g_acc + a_t[..., None] * u
        return np.concatenate([v, acc], axis=-1), a

    def _segments(self, dt: ArrayLike, t: ArrayLike) -> list[tuple[NDArray, NDArray, NDArray]]:
        """Split [t, t + dt] at ignition and burnout: list of (start, duration, burning).

        Each batch element gets three (possibly empty) segments in the direction of travel;
        the thrust is on in a segment iff its midpoint lies inside the burn, so RK4 never
        integrates across the discontinuity.
        """
        t = np.asarray(t, float)
        dt = np.asarray(dt, float)
        t, dt = np.broadcast_arrays(t, dt)
        lo, hi = np.minimum(dt, 0.0), np.maximum(dt, 0.0)
        p1 = np.clip(self.t_ignition - t, lo, hi)
        p2 = np.clip(self.t_ignition + self.burn_time - t, lo, hi)
        fwd = dt >= 0
        cuts = [np.zeros_like(dt), np.where(fwd, p1, p2), np.where(fwd, p2, p1), dt]
        segs = []
        for a, b in itertools.pairwise(cuts):
            mid = t + 0.5 * (a + b) - self.t_ignition
            burning = (mid > 0) & (mid < self.burn_time)
            segs.append((t + a, b - a, burning))
        return segs

    def dynamics_key(self) -> tuple:
        """Everything propagation depends on (all fields but ``q``)."""
        return dynamics_key(self, ("q",))

    def propagate(self, x: ArrayLike, dt: float | NDArray, t: float = 0.0) -> NDArray:
        """Mean after ``dt`` [s] from absolute time ``t``: RK4 per burn segment, ``(..., 6)``."""
        x = check_state(x, 6, "BoostKnownThrust.propagate")
        for start, dur, on in self._segments(dt, t):
            # mypy cannot infer a lambda with a default argument (the per-segment capture)
            x = rk4(
                lambda y, tt, on=on: self.derivative(y, tt, on),  # type: ignore[misc]
                x,
                dur,
                start,
                self.max_step,
            )
        return x

    def propagate_with_jacobian(
        self, x: ArrayLike, dt: float | NDArray, t: float = 0.0
    ) -> tuple[NDArray, NDArray]:
        """(mean, F) with F the product of the segments' variational solutions."""
        x = check_state(x, 6, "BoostKnownThrust.propagate_with_jacobian")
        f = None
        for start, dur, on in self._segments(dt, t):
            x, fs = rk4_with_jacobian(
                # mypy cannot infer a lambda with a default argument (the per-segment capture)
                lambda y, tt, on=on: self.derivative_with_jacobian(y, tt, on),  # type: ignore[misc]
                x,
                dur,
                start,
                self.max_step,
            )
            f = fs if f is None else fs @ f
        assert f is not None  # _segments() always gives three segments
        return x, f

    def process_noise(self, x: ArrayLike, dt: float | NDArray, t: float = 0.0) -> NDArray:
        return cv_process_noise(self.q, dt)


@dataclass(frozen=True)
class BoostThrustState:
    """Boost with the thrust-acceleration magnitude a_T as a state; 7 states.

    Attributes
    ----------
    earth : EarthModel
    exhaust_velocity : float or None
        v_e [m/s]; if given, a_T' = a_T^2 / v_e (rocket equation), else a_T' = 0.
    q : float
        Acceleration white-noise PSD [m^2/s^3] per axis.
    q_thrust : float
        PSD of the a_T random walk [m^2/s^5].
    max_step : float
        Largest RK4 substep [s].
    """

    earth: EarthModel = WGS84_FULL
    exhaust_velocity: float | None = field(default=None, metadata={"units": "m/s"})
    q: float = field(default=1.0, metadata={"units": "m^2/s^3"})
    q_thrust: float = field(default=1.0, metadata={"units": "m^2/s^5"})
    max_step: float = field(default=1.0, metadata={"units": "s"})

    ndim = 7
    state_names = (*POS_VEL_NAMES, "a_thrust")

    def __post_init__(self) -> None:
        if self.exhaust_velocity is not None:
            check_positive("BoostThrustState", "exhaust_velocity", self.exhaust_velocity, False)
        check_positive("BoostThrustState", "q", self.q)
        check_positive("BoostThrustState", "q_thrust", self.q_thrust)
        check_positive("BoostThrustState", "max_step", self.max_step, False)

    def _a_t_rate(self, a_t: NDArray) -> tuple[NDArray, NDArray]:
        if self.exhaust_velocity is None:
            return np.zeros_like(a_t), np.zeros_like(a_t)
        return a_t * a_t / self.exhaust_velocity, 2.0 * a_t / self.exhaust_velocity

    def derivative(self, x: ArrayLike, t: ArrayLike = 0.0) -> NDArray:
        x = check_state(x, 7, "BoostThrustState.derivative")
        r, v, a_t = x[..., :3], x[..., 3:6], x[..., 6]
        u, _ = _unit(v)
        acc = gravity_frame(self.earth, r, v) + a_t[..., None] * u
        return np.concatenate([v, acc, self._a_t_rate(a_t)[0][..., None]], axis=-1)

    def derivative_with_jacobian(self, x: ArrayLike, t: ArrayLike = 0.0) -> tuple[NDArray, NDArray]:
        x = check_state(x, 7, "BoostThrustState.derivative_with_jacobian")
        r, v, a_t = x[..., :3], x[..., 3:6], x[..., 6]
        u, speed = _unit(v)
        g_acc, dr, dv = gravity_frame_with_jacobians(self.earth, r, v)
        rate, drate = self._a_t_rate(a_t)
        a = np.zeros(x.shape[:-1] + (7, 7))
        a[..., 0:3, 3:6] = np.eye(3)
        a[..., 3:6, 0:3] = dr
        a[..., 3:6, 3:6] = dv + _thrust_dv(a_t, u, speed)
        a[..., 3:6, 6] = u
        a[..., 6, 6] = drate
        acc = g_acc + a_t[..., None] * u
        return np.concatenate([v, acc, rate[..., None]], axis=-1), a

    def dynamics_key(self) -> tuple:
        """Everything propagation depends on (all fields but ``q``, ``q_thrust``)."""
        return dynamics_key(self, ("q", "q_thrust"))

    def propagate(self, x: ArrayLike, dt: float | NDArray, t: float = 0.0) -> NDArray:
        x = check_state(x, 7, "BoostThrustState.propagate")
        return rk4(self.derivative, x, dt, t, self.max_step)

    def propagate_with_jacobian(
        self, x: ArrayLike, dt: float | NDArray, t: float = 0.0
    ) -> tuple[NDArray, NDArray]:
        x = check_state(x, 7, "BoostThrustState.propagate_with_jacobian")
        return rk4_with_jacobian(self.derivative_with_jacobian, x, dt, t, self.max_step)

    def process_noise(self, x: ArrayLike, dt: float | NDArray, t: float = 0.0) -> NDArray:
        """Q ``(..., 7, 7)``: CV block for ``q`` plus the a_T chain along u (module doc)."""
        x = check_state(x, 7, "BoostThrustState.process_noise")
        dt = np.asarray(dt, float)
        u, _ = _unit(x[..., 3:6])
        batch = np.broadcast_shapes(dt.shape, u.shape[:-1])
        d = np.broadcast_to(dt, batch)[..., None, None]
        uu = u[..., :, None] * u[..., None, :]
        qa = self.q_thrust
        out = np.zeros(batch + (7, 7))
        out[..., :6, :6] = cv_process_noise(self.q, dt)
        out[..., 0:3, 0:3] += qa * d**5 / 20.0 * uu
        out[..., 0:3, 3:6] += qa * d**4 / 8.0 * uu
        out[..., 3:6, 0:3] += qa * d**4 / 8.0 * uu
        out[..., 3:6, 3:6] += qa * d**3 / 3.0 * uu
        out[..., 0:3, 6] = qa * d[..., 0] ** 3 / 6.0 * u
        out[..., 3:6, 6] = qa * d[..., 0] ** 2 / 2.0 * u
        out[..., 6, 0:3] = out[..., 0:3, 6]
        out[..., 6, 3:6] = out[..., 3:6, 6]
        out[..., 6, 6] = qa * d[..., 0, 0]
        return out
