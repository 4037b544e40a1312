"""Equations of motion of a rocket or a ballistic body in the rotating Earth-fixed frame.

State y = [x, y, z, vx, vy, vz, m] (ECEF position [m], velocity [m/s], mass [kg]):

    r' = v
    v' = g(r) - 2 w x v - w x (w x r) + a_drag + a_thrust                (docs/references.md §3)
    m' = -mdot                                                          (while burning)
    a_drag   = -0.5 rho(h) |v| v Cd(M) A / m = -rho |v| v / (2 beta)    (v relative to the air
                                                                         = ECEF velocity)
    a_thrust = (mdot g0 Isp_vac - p(h) A_exit) u / m                     (u from guidance)

g is the point-mass or J2 field of the scenario's :class:`~trackers.earth.model.EarthModel`
(equations in trackers.earth.gravity), w = (0, 0, omega) when rotating.

Speed: the integrator calls the right-hand side ~10^4 times per flight, so it is written twice:

* a scalar fast path (:func:`make_rhs`): plain floats and ``math``, no NumPy on 3-vectors;
* a vectorised path (:func:`accel_batch`) for the acceleration at many output samples.

Both use one approximation, which the tests bound against the exact Earth model: the
height above the ellipsoid is h = |r| - R(phi_c), with R(phi_c) = a b / sqrt(b^2 + (a^2 - b^2)
sin^2 phi_c) the ellipsoid's radius at the geocentric latitude phi_c of r. It is exact on the
surface (h = 0, so impact events are exact) and low by h (1 - cos(phi - phi_c)) <= 5.6e-6 h
above it (5.6 m at 1000 km, where the density is ~1e-15 kg/m^3).

The US76 atmosphere is evaluated exactly as :class:`~trackers.earth.atmosphere.US76` does it
(the seven-layer defining equations below 86 km, the same PCHIP pieces above, the same
exponential tail above 1000 km), in scalar form: a tabulated, piecewise-linear shortcut
would put a derivative kink every table step and make the adaptive integrator reject
steps (measured: 3x more steps and 2.5x the run time for hokkaido-2023).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
from numpy.typing import NDArray

from trackers.earth import atmosphere as atm
from trackers.earth.atmosphere import GAMMA, R_AIR
from trackers.earth.model import EarthModel
from trackers.sim.tables import piecewise_linear

Rhs = Callable[[float, NDArray], list[float]]


class FastEarth:
    """Plain-float constants and atmosphere of an :class:`EarthModel` for hot loops.

    Attributes: ``mu`` [m^3/s^2], ``j2`` (0 for point-mass gravity), ``re`` J2 reference
    radius [m], ``w`` rotation rate [rad/s] (0 if not rotating), ``a``, ``b`` semi-axes [m]
    and ``kind`` of atmosphere. :meth:`air` reproduces ``earth.air.properties`` for one
    height with plain floats (the US76 layer constants and PCHIP coefficients are read
    from :mod:`trackers.earth.atmosphere`).
    """

    def __init__(self, earth: EarthModel) -> None:
        from trackers.earth.wgs84 import J2

        self.earth = earth
        self.mu = float(earth.mu)
        self.j2 = J2 if earth.gravity == "j2" else 0.0
        self.re = float(earth.a)
        self.w = float(earth.w)
        self.a = float(earth.a)
        self.b = float(earth.a * math.sqrt(1.0 - earth.e2))
        self.kind = earth.atmosphere
        self.rho0 = float(earth.rho0)
        self.hs = float(earth.scale_height)
        # Sound speed of the isothermal exponential atmosphere (its 288.15 K).
        self.snd_iso = math.sqrt(GAMMA * R_AIR * 288.15)
        if self.kind == "us76":
            self._hb = atm.LAYER_BASE_HEIGHTS_M.tolist()
            self._lb = atm.LAYER_LAPSE_RATES_KPM.tolist()
            self._tb = atm.LAYER_BASE_TEMPERATURES_K.tolist()
            self._pb = atm.LAYER_BASE_PRESSURES_PA.tolist()
            self._xk = atm.UPPER_TEMPERATURE.x.tolist()  # PCHIP breakpoints 86-1000 km (shared)
            self._ct = atm.UPPER_TEMPERATURE.c.T.tolist()
            self._cp = atm.UPPER_LOG_PRESSURE.c.T.tolist()
            self._cr = atm.UPPER_LOG_DENSITY.c.T.tolist()
            self._h_top = float(atm.TAIL_SCALE_HEIGHT_M)
            self._z_top = float(atm.TAIL_START_M)

    # ---- scalar helpers -------------------------------------------------------------------
    def altitude(self, x: float, y: float, z: float) -> float:
        """Approximate height above the reference surface [m] (module docstring)."""
        a, b = self.a, self.b
        r2 = x * x + y * y + z * z
        return math.sqrt(r2) - a * b / math.sqrt(b * b + (a * a - b * b) * z * z / r2)

    def air(self, h: float) -> tuple[float, float, float]:
        """(density [kg/m^3], pressure [Pa], speed of sound [m/s]) at height ``h`` [m]."""
        if self.kind == "none":
            return 0.0, 0.0, self.snd_iso
        if self.kind == "exponential":
            rho = self.rho0 * math.exp(-h / self.hs)
            return rho, rho * R_AIR * 288.15, self.snd_iso
        if h <= atm.Z_86:
            # U.S. Standard Atmosphere 1976, eqs. 23, 33a/b: layer in geopotential height
            hg = atm.R0_US76 * h / (atm.R0_US76 + h)
            hb = self._hb
            i = 6
            while i > 0 and hb[i] > hg:
                i -= 1
            tb, pb, lb = self._tb[i], self._pb[i], self._lb[i]
            t = tb + lb * (hg - hb[i])
            if lb == 0.0:
                p = pb * math.exp(-atm.G0 * atm.M0 * (hg - hb[i]) / (atm.R_STAR * tb))
            else:
                p = pb * (tb / t) ** (atm.G0 * atm.M0 / (atm.R_STAR * lb))
            return p * atm.M0 / (atm.R_STAR * t), p, math.sqrt(GAMMA * R_AIR * t)
        zc = h if h < self._z_top else self._z_top
        xk = self._xk
        j = bisect.bisect_right(xk, zc) - 1
        if j > len(xk) - 2:
            j = len(xk) - 2
        d = zc - xk[j]
        ct, cp, cr = self._ct[j], self._cp[j], self._cr[j]
        t = ((ct[0] * d + ct[1]) * d + ct[2]) * d + ct[3]
        lp = ((cp[0] * d + cp[1]) * d + cp[2]) * d + cp[3]
        lr = ((cr[0] * d + cr[1]) * d + cr[2]) * d + cr[3]
        if h > self._z_top:
            tail = (h - self._z_top) / self._h_top
            lp -= tail
            lr -= tail
        return math.exp(lr), math.exp(lp), math.sqrt(GAMMA * R_AIR * t)

    # ---- vectorised versions --------------------------------------------------------------
    def altitude_batch(self, r: NDArray) -> NDArray:
        """Vectorised :meth:`altitude` for ``r`` of shape ``(..., 3)``."""
        a, b = self.a, self.b
        r2 = np.einsum("...i,...i->...", r, r)
        return np.sqrt(r2) - a * b / np.sqrt(b * b + (a * a - b * b) * r[..., 2] ** 2 / r2)

    def air_batch(self, h: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Vectorised :meth:`air`: (density, pressure, speed of sound) of the Earth model."""
        h = np.asarray(h, float)
        if self.kind == "none":
            z = np.zeros_like(h)
            return z, z, np.full_like(h, self.snd_iso)
        if self.kind == "exponential":
            rho = self.rho0 * np.exp(-h / self.hs)
            return rho, rho * R_AIR * 288.15, np.full_like(h, self.snd_iso)
        st = self.earth.air.properties(h)
        return st.density, st.pressure, st.speed_of_sound


def cd_function(cd: float, table: Sequence[tuple[float, float]]) -> Callable[[float], float]:
    """Cd(M): constant ``cd`` or linear interpolation in ``table`` (clamped at its ends)."""
    if not table:
        return lambda mach: cd
    return piecewise_linear([m for m, _ in table], [c for _, c in table])


def cd_batch(cd: float, table: Sequence[tuple[float, float]], mach: NDArray) -> NDArray:
    """Vectorised :func:`cd_function`."""
    if not table:
        return np.full(np.shape(mach), float(cd))
    t = np.asarray(table, float)
    return np.interp(mach, t[:, 0], t[:, 1])


def make_rhs(
    fe: FastEarth,
    *,
    ref_area: float = 0.0,
    cd0: float = 0.0,
    cd_table: Sequence[tuple[float, float]] = (),
    mdot: float = 0.0,
    ve: float = 0.0,
    exit_area: float = 0.0,
    direction: Callable | None = None,
    lift_to_drag: float = 0.0,
) -> Rhs:
    """Scalar right-hand side f(t, y) -> dy/dt (equations in the module docstring).

    Drag area Cd A = ``ref_area`` [m^2] times ``cd0`` or, if given, ``cd_table`` interpolated
    at the Mach number (0 = no drag; a ballistic body with coefficient beta and mass m has
    ``ref_area = m / beta``, ``cd0 = 1``). Burning stage: ``mdot`` [kg/s] > 0,
    ``ve`` = g0 Isp_vac [m/s], ``exit_area`` [m^2] and the thrust ``direction`` callable.
    ``lift_to_drag`` L/D > 0 adds a lift acceleration of magnitude (L/D) |a_drag| along
    n = unit(e_r - (e_r . e_v) e_v), perpendicular to the velocity in the vertical plane,
    pointing up (a quasi-ballistic "pull-up"/glide of a manoeuvring RV).
    """
    mu, j2, re, w, a, b = fe.mu, fe.j2, fe.re, fe.w, fe.a, fe.b
    k0 = 1.5 * j2 * re * re
    w2 = w * w
    ab, b2, dab = a * b, b * b, a * a - b * b
    air = fe.air
    burning = mdot > 0.0
    cd_of = cd_function(cd0, cd_table)
    mach_dep = bool(cd_table)
    cda0 = ref_area * cd0
    drag = fe.kind != "none" and ref_area > 0.0 and (mach_dep or cd0 > 0.0)
    need_air = drag or (burning and exit_area > 0.0 and fe.kind != "none")
    u = cast(Callable, direction)  # given whenever the stage burns (mdot > 0)
    ld = float(lift_to_drag)

    def rhs(t: float, yv: NDArray) -> list[float]:
        x, y, z, vx, vy, vz, m = yv.tolist()
        r2 = x * x + y * y + z * z
        rn = math.sqrt(r2)
        # J2 gravity (k0 = 0 gives the point mass): trackers.earth.gravity.j2
        k = k0 / r2
        s = 5.0 * z * z / r2
        gm = -mu / (r2 * rn)
        fxy = gm * (1.0 + k * (1.0 - s))
        # plus Coriolis and centrifugal: (2 w vy + w^2 x, -2 w vx + w^2 y, 0)
        ax = fxy * x + 2.0 * w * vy + w2 * x
        ay = fxy * y - 2.0 * w * vx + w2 * y
        az = gm * (1.0 + k * (3.0 - s)) * z
        p = 0.0
        if need_air:
            h = rn - ab / math.sqrt(b2 + dab * z * z / r2)
            rho, p, snd = air(h)
            if drag:
                sp = math.sqrt(vx * vx + vy * vy + vz * vz)
                # a_drag = -0.5 rho |v| v Cd(M) A / m
                kd = -0.5 * rho * sp * (ref_area * cd_of(sp / snd) if mach_dep else cda0) / m
                ax += kd * vx
                ay += kd * vy
                az += kd * vz
                if ld > 0.0:
                    # a_lift = (L/D) |a_drag| n,  n = unit(e_r - (e_r . e_v) e_v)
                    c = (x * vx + y * vy + z * vz) / (rn * sp * sp)
                    nx, ny, nz = x / rn - c * vx, y / rn - c * vy, z / rn - c * vz
                    nn = math.sqrt(nx * nx + ny * ny + nz * nz)
                    if nn > 1e-12:
                        fl = -ld * kd * sp / nn
                        ax += fl * nx
                        ay += fl * ny
                        az += fl * nz
        if burning:
            # F = mdot g0 Isp_vac - p A_e along the guidance direction u
            f = mdot * ve - p * exit_area
            if f < 0.0:
                f = 0.0
            ux, uy, uz = u(t, x, y, z, vx, vy, vz)
            f /= m
            return [vx, vy, vz, ax + f * ux, ay + f * uy, az + f * uz, -mdot]
        return [vx, vy, vz, ax, ay, az, 0.0]

    return rhs


def accel_batch(
    fe: FastEarth,
    r: NDArray,
    v: NDArray,
    m: NDArray,
    *,
    ref_area: float = 0.0,
    cd0: float = 0.0,
    cd_table: Sequence[tuple[float, float]] = (),
    lift_to_drag: float = 0.0,
) -> tuple[NDArray, NDArray]:
    """Acceleration ``(K, 3)`` of a coasting body and its drag area Cd A ``(K,)``, vectorised.

    ``r``, ``v`` are ``(K, 3)``, ``m`` ``(K,)`` [kg]; drag arguments as in :func:`make_rhs`.
    Gravity and frame terms come from :class:`EarthModel` itself (an independent check of
    the scalar path, see the tests).
    """
    acc = fe.earth.gravitation(r) + fe.earth.frame_acceleration(r, v)
    cda = np.zeros(len(m))
    if fe.kind != "none" and ref_area > 0.0:
        rho, _, snd = fe.air_batch(fe.altitude_batch(r))
        sp = np.linalg.norm(v, axis=-1)
        cda = ref_area * cd_batch(cd0, cd_table, sp / snd)
        kd = -0.5 * rho * sp * cda / m
        acc = acc + kd[:, None] * v
        if lift_to_drag > 0.0:
            rn = np.linalg.norm(r, axis=-1)
            c = np.einsum("ij,ij->i", r, v) / (rn * sp * sp)
            n = r / rn[:, None] - c[:, None] * v
            nn = np.linalg.norm(n, axis=-1)
            fl = np.where(nn > 1e-12, -lift_to_drag * kd * sp / np.maximum(nn, 1e-300), 0.0)
            acc = acc + fl[:, None] * n
    return acc, cda
