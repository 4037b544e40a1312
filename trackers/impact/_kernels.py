# mypy: ignore-errors
# (Numba kernels, as trackers.filters.compiled._kernels: numba types and checks them at JIT time)
"""Numba kernel of :mod:`trackers.impact.ground`: drag-free ballistic states to the ground.

Per state (one row; no batch axis inside the kernel), the equations of
:mod:`trackers.impact.ground`:

    screen    h(r_0) <= h_0, or the osculating Kepler orbit escapes / has its perigee above
              a + screen  ->  not crossed (as :func:`trackers.models.events.propagate_to_altitude`)
    steps     RK4 of f(x) = [v, g_J2(r) - 2 w x v - w x (w x r)] with a fixed step H (the last
              one shortened to max_time), and on request Phi_k = Phi_step Phi_{k-1} from the
              variational equation along the same stages (the RK4 + STM kernel of the compiled
              filter backend, :func:`trackers.filters.compiled._kernels._ballistic`)
    event     first step with h(x_{k+1}) <= h_0: safeguarded Newton on G(tau) = h(x(tau)) - h_0,
              x(tau) the RK4 step of length tau from x_k, G' = u . v, from the secant start,
              bisection when Newton leaves the bracket, until |Delta tau| < time_tol
    height    |r| - a > h_0 implies h > h_0 (the foot point is within a of the centre), so the
              geodetic height (closed form of Zhu 1994, as :func:`trackers.earth.wgs84.
              ecef_to_geodetic`) is only evaluated when |r| <= a + h_0

Parallelism: ``prange`` over blocks of rows, each block with its own work arrays.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from trackers.filters.compiled._kernels import _ballistic

_opts = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_opts)
def _height_up(x, a, e2, up):
    """Geodetic height [m] of x[:3] (Zhu 1994 closed form); the up vector u into up (3,)."""
    rx, ry, rz = x[0], x[1], x[2]
    lon = math.atan2(ry, rx)
    p = math.hypot(rx, ry)
    if e2 == 0.0:
        lat = math.atan2(rz, p)
        h = math.hypot(p, rz) - a
    else:
        b = a * math.sqrt(1.0 - e2)
        ep2 = (a * a - b * b) / (b * b)
        z2 = rz * rz
        f_ = 54.0 * b * b * z2
        g = p * p + (1.0 - e2) * z2 - e2 * (a * a - b * b)
        c = e2 * e2 * f_ * p * p / (g * g * g)
        s = np.cbrt(1.0 + c + math.sqrt(c * c + 2.0 * c))
        k = s + 1.0 + 1.0 / s
        pp = f_ / (3.0 * k * k * g * g)
        q = math.sqrt(1.0 + 2.0 * e2 * e2 * pp)
        rad = 0.5 * a * a * (1.0 + 1.0 / q) - pp * (1.0 - e2) * z2 / (q * (1.0 + q))
        rad -= 0.5 * pp * p * p
        r0 = -(pp * e2 * p) / (1.0 + q) + math.sqrt(max(rad, 0.0))
        u = math.hypot(p - e2 * r0, rz)
        v = math.sqrt((p - e2 * r0) ** 2 + (1.0 - e2) * z2)
        z0 = b * b * rz / (a * v)
        h = u * (1.0 - b * b / (a * v))
        lat = math.atan2(rz + ep2 * z0, p)
    cl = math.cos(lat)
    up[0] = cl * math.cos(lon)
    up[1] = cl * math.sin(lon)
    up[2] = math.sin(lat)
    return h


@njit(**_opts)
def _screened(x, par, a, screen):
    """True if the osculating orbit escapes or has its perigee above a + screen (screen < 0:
    no screen). v_i = v + w x r, eps = |v_i|^2 / 2 - mu / |r|, rp = a_o (1 - e)."""
    if screen < 0.0:
        return False
    mu, w = par[0], par[3]
    vx, vy, vz = x[3] - w * x[1], x[4] + w * x[0], x[5]
    rn = math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
    eps = 0.5 * (vx * vx + vy * vy + vz * vz) - mu / rn  # specific energy
    if eps >= 0.0:
        return True
    hx = x[1] * vz - x[2] * vy
    hy = x[2] * vx - x[0] * vz
    hz = x[0] * vy - x[1] * vx
    e = math.sqrt(max(1.0 + 2.0 * eps * (hx * hx + hy * hy + hz * hz) / (mu * mu), 0.0))
    rp = -mu / (2.0 * eps) * (1.0 - e)  # perigee radius
    return rp > a + screen


@njit(**_opts)
def _acc(rx, ry, rz, vx, vy, vz, mu, re, j2, w):
    """g_J2(r) - 2 w x v - w x (w x r) as a 3-tuple (forces.gravity_frame, scalars)."""
    inv_r2 = 1.0 / (rx * rx + ry * ry + rz * rz)
    m = -mu * inv_r2 * math.sqrt(inv_r2)
    k = 1.5 * j2 * re * re * inv_r2
    s = 5.0 * rz * rz * inv_r2
    mcxy = m * (1.0 + k * (1.0 - s))
    return (
        mcxy * rx + (2.0 * w * vy + w * w * rx),
        mcxy * ry + (-2.0 * w * vx + w * w * ry),
        m * (1.0 + k * (3.0 - s)) * rz,
    )


@njit(**_opts)
def _rk4(x, h, par, out):
    """One RK4 step of length h from x (6,) into out (6,), without the STM (registers only:
    the same stages as :func:`_ballistic`)."""
    mu, re, j2, w = par[0], par[1], par[2], par[3]
    rx, ry, rz, vx, vy, vz = x[0], x[1], x[2], x[3], x[4], x[5]
    h2 = 0.5 * h
    # k1 = f(x)
    a1x, a1y, a1z = _acc(rx, ry, rz, vx, vy, vz, mu, re, j2, w)
    # k2 = f(x + h/2 k1)
    v2x, v2y, v2z = vx + h2 * a1x, vy + h2 * a1y, vz + h2 * a1z
    a2x, a2y, a2z = _acc(rx + h2 * vx, ry + h2 * vy, rz + h2 * vz, v2x, v2y, v2z, mu, re, j2, w)
    # k3 = f(x + h/2 k2)
    v3x, v3y, v3z = vx + h2 * a2x, vy + h2 * a2y, vz + h2 * a2z
    a3x, a3y, a3z = _acc(rx + h2 * v2x, ry + h2 * v2y, rz + h2 * v2z, v3x, v3y, v3z,
                         mu, re, j2, w)  # fmt: skip
    # k4 = f(x + h k3)
    v4x, v4y, v4z = vx + h * a3x, vy + h * a3y, vz + h * a3z
    a4x, a4y, a4z = _acc(rx + h * v3x, ry + h * v3y, rz + h * v3z, v4x, v4y, v4z,
                         mu, re, j2, w)  # fmt: skip
    # x <- x + h/6 (k1 + 2 k2 + 2 k3 + k4)
    c = h / 6.0
    out[0] = rx + c * (vx + 2.0 * v2x + 2.0 * v3x + v4x)
    out[1] = ry + c * (vy + 2.0 * v2y + 2.0 * v3y + v4y)
    out[2] = rz + c * (vz + 2.0 * v2z + 2.0 * v3z + v4z)
    out[3] = vx + c * (a1x + 2.0 * a2x + 2.0 * a3x + a4x)
    out[4] = vy + c * (a1y + 2.0 * a2y + 2.0 * a3y + a4y)
    out[5] = vz + c * (a1z + 2.0 * a2z + 2.0 * a3z + a4z)


@njit(**_opts)
def _step(x, h, par, out, fs, ws1, ws2, ar, want_stm):
    """RK4 step from x over h into out; with want_stm Phi_step into fs (:func:`_ballistic`)."""
    if want_stm:
        _ballistic(x, h, par, abs(h) + 1.0, 6, out, fs, ws1, ws2, ar, True)
    else:
        _rk4(x, h, par, out)


@njit(**_opts)
def _matmul6(a, b, out):
    """out = a @ b for (6, 6) matrices (out distinct from a and b)."""
    for i in range(6):
        for j in range(6):
            s = 0.0
            for k in range(6):
                s += a[i, k] * b[k, j]
            out[i, j] = s


@njit(**_opts)
def _one_row(x0, par, a, e2, level, step, max_time, time_tol, screen, want_stm,
             xe, phi, xa, x1, xt, fs, tmp, ws1, ws2, ar, up):  # fmt: skip
    """Fly one state to the level; returns (tau [s] or NaN, steps). Fills xe, phi (STM)."""
    for i in range(6):
        xa[i] = x0[i]
    h = _height_up(xa, a, e2, up)
    if not (h > level) or _screened(xa, par, a, screen):
        return math.nan, 0
    if want_stm:
        for i in range(6):
            for j in range(6):
                phi[i, j] = 1.0 if i == j else 0.0
    t = 0.0
    nsteps = 0
    g0 = h - level
    while t < max_time:
        dt = min(step, max_time - t)
        _step(xa, dt, par, x1, fs, ws1, ws2, ar, want_stm)
        nsteps += 1
        rn = math.sqrt(x1[0] * x1[0] + x1[1] * x1[1] + x1[2] * x1[2])
        if rn - a > level:
            g1 = rn - a - level  # any positive value: not down yet
        else:
            g1 = _height_up(x1, a, e2, up) - level
        if g1 <= 0.0:
            # event on [t, t + dt]: safeguarded Newton from the secant start
            lo, hi = 0.0, dt
            tau = dt * g0 / max(g0 - g1, 1e-300)
            for _ in range(50):
                _rk4(xa, tau, par, xt)
                g = _height_up(xt, a, e2, up) - level
                gdot = up[0] * xt[3] + up[1] * xt[4] + up[2] * xt[5]  # G' = u . v
                if g > 0.0:
                    lo = tau
                else:
                    hi = tau
                new = tau - g / gdot if gdot != 0.0 else math.nan
                if not (new > lo and new < hi):
                    new = 0.5 * (lo + hi)  # bisection
                done = abs(new - tau) < time_tol
                tau = new
                if done:
                    break
            _step(xa, tau, par, xe, fs, ws1, ws2, ar, want_stm)
            if want_stm:
                _matmul6(fs, phi, tmp)  # Phi = Phi_step(tau) Phi
                for i in range(6):
                    for j in range(6):
                        phi[i, j] = tmp[i, j]
            return t + tau, nsteps
        if want_stm:
            _matmul6(fs, phi, tmp)
            for i in range(6):
                for j in range(6):
                    phi[i, j] = tmp[i, j]
        for i in range(6):
            xa[i] = x1[i]
        g0 = g1
        t += dt
    return math.nan, nsteps


@njit(parallel=True, **_opts)
def ground_rows(x0, par, a, e2, level, step, max_time, time_tol, screen, want_stm, block,
                xe, tau, phi, nsteps):  # fmt: skip
    """All rows of x0 (N, 6) to the level: xe (N, 6), tau (N,) [s after the start, NaN: not
    crossed], phi (N, 6, 6) (want_stm), nsteps (N,) RK4 steps per row."""
    n = x0.shape[0]
    nb = (n + block - 1) // block
    for b in prange(nb):
        xa = np.empty(6)
        x1 = np.empty(6)
        xt = np.empty(6)
        fs = np.empty((6, 6))
        tmp = np.empty((6, 6))
        ws1 = np.empty((6, 6))
        ws2 = np.empty((5, 6, 6))
        ar = np.empty((3, 7))  # Jacobian blocks [A_r, A_v, A_p] of compiled._kernels._ballistic
        up = np.empty(3)
        ph = np.empty((6, 6))
        for i in range(b * block, min(n, (b + 1) * block)):
            ti, ns = _one_row(
                x0[i], par, a, e2, level, step, max_time, time_tol, screen, want_stm,
                xe[i], ph, xa, x1, xt, fs, tmp, ws1, ws2, ar, up,
            )  # fmt: skip
            tau[i] = ti
            nsteps[i] = ns
            if want_stm:
                for r in range(6):
                    for c in range(6):
                        phi[i, r, c] = ph[r, c]
