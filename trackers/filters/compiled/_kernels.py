"""Numba kernels of the compiled backend: one call filters every run through every step.

The equations are those of the NumPy reference path, re-stated here per run (scalars and
small matrices, no batch axis):

Prediction (:mod:`trackers.filters.rules`, :mod:`trackers.models.integrate`):

    linear       x- = F_k x,  P- = F_k P F_k' + Q_k                (F_k, Q_k given per step)
    ballistic    x- = RK4(x; dt),  F = Phi from the variational equation Phi' = A Phi along
                 the same RK4 substeps (n_sub = ceil(|dt| / max_step - 1e-12), h = dt / n_sub),
                 A = [[0, I], [G(r) + diag(w^2, w^2, 0), W_v]],  P- = F P F' + Q_k
    with f(x) = [v, g_J2(r) + (2 w vy + w^2 x, -2 w vx + w^2 y, 0) + a_D(r, v, beta)
    (, 0 for ln beta)] and the J2 field and gradient of :mod:`trackers.models.forces`
    (m = -mu / r^3, k = 1.5 J2 Re^2 / r^2, s = 5 z^2 / r^2, c = 1 + k (c0 - s),
    g_i = m c_i r_i, G_ij = alpha_i r_i r_j + beta r_i delta_jz + m c_i delta_ij).

Drag (:mod:`trackers.models.ballistic`; Zarchan, *Tactical and Strategic Missile Guidance*,
6th ed., AIAA 2012, ch. 19-20; Li & Jilkov, "Survey of maneuvering target tracking, Part II:
motion models of ballistic and space targets", IEEE TAES 46(1), 2010), with a fixed
beta = m / (Cd A) [kg/m^2] (6 states) or x[6] = ln beta (7 states, 1/beta = exp(-x[6])),
air co-rotating with the Earth (Vallado, *Fundamentals of Astrodynamics and Applications*,
4th ed. 2013, atmospheric drag: the air-relative velocity is the ECEF velocity):

    a_D = -rho(h) |v| v / (2 beta),   h = geodetic height of r (Zhu 1994 closed form)
    A = [[0, I, 0], [G + W_r + dD/dr, W_v + dD/dv, -a_D], [0, 0, 0]]
    dD/dv = -(rho / (2 beta)) (|v| I + v v' / |v|),
    dD/dr = -(|v| / (2 beta)) v (d rho / d h) u',  u the geodetic up vector,
    d rho / d h = (rho(h + 1 m) - rho(h - 1 m)) / 2 m

rho(h) is the U.S. Standard Atmosphere 1976 (NOAA-S/T 76-1562: the seven geopotential
layers to 86 km, the PCHIP of its Table I in ln rho above, an exponential tail above
1000 km; :mod:`trackers.earth.atmosphere`), an exponential rho0 exp(-h / H), or zero
(``earth.atmosphere = "none"``: no drag). The Jacobian rows of ln beta are zero (its row of
Phi stays e_7'), and the process noise of ln beta, q_lnb dt, is part of the per-report Q_k.

Measurement (:mod:`trackers.models.radar`, :class:`trackers.models.linear.LinearPosition`):

    linear   zhat = H x
    radar    d = R_enu (r - s) = (e, n, u),  rho = |d|,  az = atan2(e, n) mod 2 pi,
             el = atan2(u, sqrt(e^2 + n^2)) [, rr = (r - s) . v / rho], H analytic.

Update (:func:`trackers.filters.gaussian.kalman_update`, Joseph form; Bar-Shalom, Li &
Kirubarajan 2001, eq. 5.2.3-18):

    nu = z - zhat (angles wrapped to (-pi, pi]),  C = P H',  S = H C + R,  K = C S^-1
    x+ = x + C S^-1 nu,   B = P - K C',   P+ = B + (K R - B H') K'   (symmetric B and P+:
    upper triangles computed and mirrored; the KF across runs symmetrises the full P+)
    nis = nu' S^-1 nu,    loglik = -0.5 (nis + log det S + m log 2 pi)

S^-1 and log det S come from a Cholesky factorisation (m <= 4). A run whose z row has a
NaN keeps its prior (nis NaN, loglik 0).

Sigma-point update and prediction (UKF / CKF, :mod:`trackers.filters.sigma_points`,
:class:`trackers.filters.rules.UKF`; van der Merwe 2004 §3.2, Arasaratnam & Haykin 2009),
with unit points xi_i and weights Wm_i, Wc_i given as data:

    P = L L' (Cholesky),  X_i = x + L xi_i
    predict   Y_i = f(X_i) (RK4 without the variational equation, or F_k X_i),
              x- = sum Wm_i Y_i,  P- = sum Wc_i (Y_i - x-)(Y_i - x-)' + Q_k
    update    Z_i = h(X_i),  zbar = sum Wm_i Z_i (az, el: Z_0 + sum Wm_i wrap(Z_i - Z_0),
              wrapped),  dZ_i = Z_i - zbar (angles wrapped),  S = sum Wc_i dZ_i dZ_i' + R,
              C = sum Wc_i (X_i - x) dZ_i',  K = C S^-1,  x+ = x + K nu,  P+ = P - K S K'

IMM cycle (Blom & Bar-Shalom 1988; Bar-Shalom et al. 2001, §11.6.6), modes with one common
state vector: c_j = sum_i p_ij mu_i, mu_{i|j} = p_ij mu_i / c_j, x0_j = sum_i mu_{i|j} x_i,
P0_j = sum_i mu_{i|j} [P_i + (x_i - x0_j)(x_i - x0_j)'], mode-matched predict / update,
mu_j = c_j L_j / sum_l c_l L_l (log domain); combined nu = sum_j c_j nu_j,
S = sum_j c_j [S_j + (nu_j - nu)(nu_j - nu)'], nis = nu' S^-1 nu, loglik = log sum_j c_j L_j.
A report at dt = 0 skips the prediction (and the mixing), as the runner does.

Parallelism: ``prange`` over blocks of ``block`` runs (one parallel region per call, never
one per step); each block allocates its work arrays once and filters its runs one after the
other through all T steps, so a run's state stays in L1 cache. Epoch NIS sums are kept per
block and reduced by the caller. The linear KF with linear sensors (:func:`kf_soa_runs`)
instead holds the runs of a block side by side ("structure of arrays", x ``(n, B)``,
P ``(n, n, B)``): every operation is a loop over the runs, which the compiler vectorises
(SIMD across runs; about 3-4x faster than one run after the other, measured at B = 16-64).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from trackers.filters.compiled._params import (
    AIR_EXP,
    AIR_US76,
    DRAG_NONE,
    DRAG_STATE,
    PAR_AIR,
    PAR_B,
    PAR_DRAG,
    PAR_DRHO,
    PAR_E2,
    PAR_EP2,
    PAR_HS,
    PAR_INV_BETA,
    PAR_RE,
    PAR_RHO0,
    US76_C,
    US76_G0,
    US76_HB,
    US76_HTOP,
    US76_LB,
    US76_M0,
    US76_NK,
    US76_PB,
    US76_R0,
    US76_RSTAR,
    US76_TB,
    US76_XK,
    US76_Z86,
    US76_ZTOP,
)

LOG_2PI = math.log(2.0 * math.pi)
TWO_PI = 2.0 * math.pi

#: motion kinds
LINEAR, BALLISTIC = 0, 1
#: sensor kinds
SENSOR_LINEAR, SENSOR_RADAR = 0, 1

# Numba's on-disk cache of a module is keyed on that module's source file only: kernels of
# trackers/impact/_kernels.py and compiled/_step_kernels.py that call functions of this file
# keep their cached machine code when this file changes. After changing a signature or a
# work-array layout here, delete the caches (find trackers -name "*.nbi" -o -name "*.nbc")
# before testing; a fresh clone (CI) always compiles from source.
_opts = dict(cache=True, nogil=True, error_model="numpy")


# --- small dense linear algebra (row-major, explicit sizes) ---------------------------------
@njit(**_opts)
def _sym(P, n):
    """P <- (P + P') / 2 (in place)."""
    for i in range(n):
        for j in range(i + 1, n):
            a = 0.5 * (P[i, j] + P[j, i])
            P[i, j] = a
            P[j, i] = a


@njit(**_opts)
def _fpft_q(F, P, Q, n, tmp, out, sparse):
    """out = F P F' + Q, symmetric; tmp (n, n) work (dense: upper triangle, mirrored).

    ``sparse``: skip the zero entries of F (a CV transition has 9 of 36 non-zero: both
    products then cost O(nnz(F) n)); otherwise dense loops (a ballistic Phi is full, and
    the branch would only slow it down).
    """
    if sparse:
        # tmp = F P
        for i in range(n):
            for j in range(n):
                tmp[i, j] = 0.0
            for k in range(n):
                f = F[i, k]
                if f != 0.0:
                    for j in range(n):
                        tmp[i, j] += f * P[k, j]
        # out = F tmp' + Q  (= (F P F')' + Q = F P F' + Q for a symmetric P)
        for i in range(n):
            for j in range(n):
                out[i, j] = Q[i, j]
            for k in range(n):
                f = F[i, k]
                if f != 0.0:
                    for j in range(n):
                        out[i, j] += f * tmp[j, k]
    else:
        # tmp = F P ; out = tmp F' + Q, upper triangle mirrored (F P F' is symmetric)
        for i in range(n):
            for j in range(n):
                s = 0.0
                for k in range(n):
                    s += F[i, k] * P[k, j]
                tmp[i, j] = s
        for i in range(n):
            for j in range(i, n):
                s = 0.5 * (Q[i, j] + Q[j, i])
                for k in range(n):
                    s += tmp[i, k] * F[j, k]
                out[i, j] = s
                out[j, i] = s
        return
    _sym(out, n)


@njit(**_opts)
def _chol_inv(S, m, L, Sinv):
    """S^-1 into Sinv and log det S (Cholesky S = L L'); NaN if S is not positive definite."""
    logdet = 0.0
    for j in range(m):
        d = S[j, j]
        for k in range(j):
            d -= L[j, k] * L[j, k]
        if not d > 0.0:
            for a in range(m):
                for b in range(m):
                    Sinv[a, b] = np.nan
            return np.nan
        ljj = math.sqrt(d)
        L[j, j] = ljj
        logdet += 2.0 * math.log(ljj)
        for i in range(j + 1, m):
            s = S[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / ljj
    # Sinv = L^-T L^-1: solve column by column, Li = L^-1 (lower) kept in Sinv's upper use
    for c in range(m):
        # forward: L y = e_c  (y stored in Sinv[:, c])
        for i in range(m):
            s = 1.0 if i == c else 0.0
            for k in range(i):
                s -= L[i, k] * Sinv[k, c]
            Sinv[i, c] = s / L[i, i]
        # backward: L' x = y
        for i in range(m - 1, -1, -1):
            s = Sinv[i, c]
            for k in range(i + 1, m):
                s -= L[k, i] * Sinv[k, c]
            Sinv[i, c] = s / L[i, i]
    _sym(Sinv, m)
    return logdet


# --- motion ---------------------------------------------------------------------------------
@njit(**_opts)
def _geodetic(rx, ry, rz, par):
    """(lat [rad], lon [rad], h [m]) of an ECEF point: wgs84.ecef_to_geodetic, per run.

    Closed form of Zhu (1994) / Heikkinen (1982) on the ellipsoid (a, e^2); spherical
    coordinates when e^2 = 0. The same operations in the same order as the NumPy reference.
    """
    a, e2 = par[PAR_RE], par[PAR_E2]
    lon = math.atan2(ry, rx)
    p = math.hypot(rx, ry)
    if e2 == 0.0:
        return math.atan2(rz, p), lon, math.hypot(p, rz) - a
    b, ep2 = par[PAR_B], par[PAR_EP2]
    z2 = rz * rz
    f_ = 54.0 * b * b * z2
    g = p * p + (1.0 - e2) * z2 - e2 * (a * a - b * b)
    c = e2 * e2 * f_ * p * p / (g * g * g)
    s = np.cbrt(1.0 + c + math.sqrt(c * c + 2.0 * c))
    k = s + 1.0 + 1.0 / s
    pp = f_ / (3.0 * k * k * g * g)
    q = math.sqrt(1.0 + 2.0 * e2 * e2 * pp)
    r0 = -(pp * e2 * p) / (1.0 + q) + math.sqrt(
        max(
            0.5 * a * a * (1.0 + 1.0 / q)
            - pp * (1.0 - e2) * z2 / (q * (1.0 + q))
            - 0.5 * pp * p * p,
            0.0,
        )
    )
    pe = p - e2 * r0
    u = math.hypot(pe, rz)
    v = math.sqrt(pe * pe + (1.0 - e2) * z2)
    z0 = b * b * rz / (a * v)
    h = u * (1.0 - b * b / (a * v))
    return math.atan2(rz + ep2 * z0, p), lon, h


@njit(**_opts)
def _density(h, par):
    """Air density rho(h) [kg/m^3] at geometric height h [m] (Earth.air.density).

    exponential  rho = rho0 exp(-h / H)
    US76, h <= 86 km  (U.S. Standard Atmosphere 1976, NOAA-S/T 76-1562, eqs. 23, 33a, 33b,
                 42): Hg = r0 h / (r0 + h), layer b with H_b <= Hg (the lowest layer
                 below 0), T = T_b + L_b (Hg - H_b),
                 p = p_b (T_b / T)^(g0 M0 / (R* L_b))  or  p_b exp(-g0 M0 (Hg - H_b) / (R* T_b))
                 (L_b = 0), rho = p M0 / (R* T)
    US76, h > 86 km  ln rho by the monotone cubic (PCHIP) through Table I, 86-1000 km,
                 evaluated as sum_q c[3 - q, j] d^q (d = h - x_j; scipy's PPoly order),
                 minus max(h - 1000 km, 0) / H_tail above 1000 km.
    """
    kind = par[PAR_AIR]
    if kind == AIR_EXP:
        return par[PAR_RHO0] * math.exp(-h / par[PAR_HS])
    if kind != AIR_US76:
        return 0.0
    g0, m0, rstar = par[US76_G0], par[US76_M0], par[US76_RSTAR]
    if h <= par[US76_Z86]:
        r0 = par[US76_R0]
        hg = r0 * h / (r0 + h)  # geopotential height [m]
        i = 6
        while i > 0 and par[US76_HB + i] > hg:
            i -= 1
        hb, lb, tb, pb = par[US76_HB + i], par[US76_LB + i], par[US76_TB + i], par[US76_PB + i]
        t = tb + lb * (hg - hb)
        if lb == 0.0:
            p = pb * math.exp(-g0 * m0 * (hg - hb) / (rstar * tb))
        else:
            p = pb * (tb / t) ** (g0 * m0 / (rstar * lb))
        return p * m0 / (rstar * t)
    ztop = par[US76_ZTOP]
    zu = h if h < ztop else ztop
    # PCHIP interval j: x_j <= zu < x_{j+1} (the last one at zu = 1000 km)
    lo, hi = 0, US76_NK - 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if par[US76_XK + mid] <= zu:
            lo = mid
        else:
            hi = mid - 1
    d = zu - par[US76_XK + lo]
    nj = US76_NK - 1
    lr = 0.0
    dq = 1.0
    for q in range(4):
        lr = lr + par[US76_C + (3 - q) * nj + lo] * dq
        dq *= d
    return math.exp(lr - max(h - ztop, 0.0) / par[US76_HTOP])


@njit(**_opts)
def _drag(x, par, acc, ar, want_jac):
    """Add the drag a_D to acc (3,) and (want_jac) its Jacobian blocks to ar (3, 7).

    Zarchan, *Tactical and Strategic Missile Guidance*, 6th ed. 2012, ch. 19-20 (ballistic
    target, drag by the ballistic coefficient beta = m / (Cd A) [kg/m^2]); Li & Jilkov 2010
    (module docstring); the atmosphere co-rotates, so the air-relative velocity is the ECEF
    velocity v (no wind):

        a_D = -k |v| v,   k = rho(h(r)) / (2 beta),   1/beta = par or exp(-x[6]) (ln beta)
        dD/dv = -k (|v| I + v v' / |v|)
        dD/dr = -(|v| / (2 beta)) v (d rho/d h) u',   u = (cos lat cos lon, cos lat sin lon,
                sin lat) the geodetic up vector (= d h / d r)
        dD/d ln beta = -a_D
        d rho/d h = (rho(h + dh) - rho(h - dh)) / (2 dh),  dh = 1 m (central difference)

    (:func:`trackers.models.ballistic.drag_with_jacobians`). ar[:, 0:3] += dD/dr,
    ar[:, 3:6] += dD/dv (added to the Coriolis block already there), ar[:, 6] = dD/d ln beta.
    """
    if par[PAR_DRAG] == DRAG_STATE:
        inv_beta = math.exp(-x[6])
    else:
        inv_beta = par[PAR_INV_BETA]
    v0, v1, v2 = x[3], x[4], x[5]
    speed = math.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
    lat, lon, h = _geodetic(x[0], x[1], x[2], par)
    rho = _density(h, par)
    k = 0.5 * rho * inv_beta
    # a_D = -k |v| v
    ks = k * speed
    ad0, ad1, ad2 = -ks * v0, -ks * v1, -ks * v2
    acc[0] += ad0
    acc[1] += ad1
    acc[2] += ad2
    if not want_jac:
        return
    # d rho / d r = (d rho / d h) u
    dh = par[PAR_DRHO]
    drho = (_density(h + dh, par) - _density(h - dh, par)) / (2.0 * dh)
    cl = math.cos(lat)
    g0, g1, g2 = drho * (cl * math.cos(lon)), drho * (cl * math.sin(lon)), drho * math.sin(lat)
    # dD/dr = -(|v| / (2 beta)) v (d rho / d r)'
    cr = -(0.5 * inv_beta * speed)
    safe = speed if speed > 0.0 else 1.0
    for i in range(3):
        vi = x[3 + i]
        ci = cr * vi
        ar[i, 0] += ci * g0
        ar[i, 1] += ci * g1
        ar[i, 2] += ci * g2
        # dD/dv = -k (|v| I + v v' / |v|)
        for j in range(3):
            vv = vi * x[3 + j] / safe
            ar[i, 3 + j] += -k * ((speed if i == j else 0.0) + vv)
    # dD / d ln beta = -a_D
    ar[0, 6] = -ad0
    ar[1, 6] = -ad1
    ar[2, 6] = -ad2


@njit(**_opts)
def _accel_jac(x, par, acc, ar, want_jac):
    """Gravity (J2) plus frame terms a(r, v) into acc (3,), and d a / d r into ar[:, 0:3].

    par: mu, Re, J2, w first (:mod:`trackers.filters.compiled._params`).
    forces.j2_with_gradient / gravity_frame_with_jacobians.
    """
    mu, re, j2, w = par[0], par[1], par[2], par[3]
    rx, ry, rz = x[0], x[1], x[2]
    inv_r2 = 1.0 / (rx * rx + ry * ry + rz * rz)
    m = -mu * inv_r2 * math.sqrt(inv_r2)
    k = 1.5 * j2 * re * re * inv_r2
    s = 5.0 * rz * rz * inv_r2
    cxy = 1.0 + k * (1.0 - s)
    cz = 1.0 + k * (3.0 - s)
    mcxy, mcz = m * cxy, m * cz
    # g + Coriolis + centrifugal: (2 w vy + w^2 x, -2 w vx + w^2 y, 0)
    acc[0] = mcxy * rx + (2.0 * w * x[4] + w * w * rx)
    acc[1] = mcxy * ry + (-2.0 * w * x[3] + w * w * ry)
    acc[2] = mcz * rz
    if want_jac:
        f = -m * inv_r2
        alpha_xy = f * (3.0 * cxy + 2.0 * k * (1.0 - 2.0 * s))
        alpha_z = f * (3.0 * cz + 2.0 * k * (3.0 - 2.0 * s))
        beta = -10.0 * m * k * rz * inv_r2
        ax, ay, az = alpha_xy * rx, alpha_xy * ry, alpha_z * rz
        # G + diag(w^2, w^2, 0)
        ar[0, 0] = ax * rx + mcxy + w * w
        ar[0, 1] = ax * ry
        ar[0, 2] = ax * rz + beta * rx
        ar[1, 0] = ay * rx
        ar[1, 1] = ay * ry + mcxy + w * w
        ar[1, 2] = ay * rz + beta * ry
        ar[2, 0] = az * rx
        ar[2, 1] = az * ry
        ar[2, 2] = az * rz + beta * rz + mcz


@njit(**_opts)
def _stage(par, xs, kk, acc, ar, M, Pst, n, want_jac):
    """One RK4 stage without drag at xs: k = f(xs) into kk, P_s = A(xs) M into Pst (6 x n).

    A M = [M_v; A_r M_r + A_v M_v] with A_v M_v = (2 w M_v[1], -2 w M_v[0], 0) (Coriolis);
    k[6:] = 0 (a 7-state model in a vacuum carries ln beta unchanged, A_p = 0).
    """
    _accel_jac(xs, par, acc, ar, want_jac)
    for i in range(3):
        kk[i] = xs[3 + i]
        kk[3 + i] = acc[i]
    for i in range(6, n):
        kk[i] = 0.0
    if want_jac:
        w2 = 2.0 * par[3]
        for j in range(n):
            Pst[0, j] = M[3, j]
            Pst[1, j] = M[4, j]
            Pst[2, j] = M[5, j]
            m0, m1, m2 = M[0, j], M[1, j], M[2, j]
            Pst[3, j] = ar[0, 0] * m0 + ar[0, 1] * m1 + ar[0, 2] * m2 + w2 * M[4, j]
            Pst[4, j] = ar[1, 0] * m0 + ar[1, 1] * m1 + ar[1, 2] * m2 - w2 * M[3, j]
            Pst[5, j] = ar[2, 0] * m0 + ar[2, 1] * m1 + ar[2, 2] * m2


@njit(**_opts)
def _stage_drag(par, xs, kk, acc, ar, M, Pst, n, want_jac):
    """:func:`_stage` with drag (:func:`_drag`): A M = [M_v; A_r M_r + A_v M_v + A_p M_p],
    A_v = W_v + dD/dv (full 3 x 3), M_p = e_7' for the ln beta state (its row of every stage
    input is constant), A_p = -a_D; k[6] = 0 (ln beta' = 0)."""
    _accel_jac(xs, par, acc, ar, want_jac)
    if want_jac:
        # W_v = [[0, 2w, 0], [-2w, 0, 0], [0, 0, 0]] (Coriolis); _drag adds dD/dv
        w = par[3]
        for i in range(3):
            for j in range(3):
                ar[i, 3 + j] = 0.0
        ar[0, 4] = 2.0 * w
        ar[1, 3] = -2.0 * w
    _drag(xs, par, acc, ar, want_jac)
    for i in range(3):
        kk[i] = xs[3 + i]
        kk[3 + i] = acc[i]
    for i in range(6, n):
        kk[i] = 0.0
    if want_jac:
        for j in range(n):
            Pst[0, j] = M[3, j]
            Pst[1, j] = M[4, j]
            Pst[2, j] = M[5, j]
            m0, m1, m2, m3, m4, m5 = M[0, j], M[1, j], M[2, j], M[3, j], M[4, j], M[5, j]
            for i in range(3):
                # (A_r M_r) + (A_v M_v) [+ A_p in the ln beta column]
                s = ar[i, 0] * m0 + ar[i, 1] * m1 + ar[i, 2] * m2
                s += ar[i, 3] * m3 + ar[i, 4] * m4 + ar[i, 5] * m5
                if j == 6:
                    s += ar[i, 6]
                Pst[3 + i, j] = s


@njit(**_opts)
def _ballistic(x, dt, par, max_step, n, xo, F, ws1, ws2, ar, want_jac):
    """RK4 of the ballistic mean over dt into xo and (want_jac) Phi into F (n x n, n = 6, 7).

    n_sub = ceil(|dt| / max_step - 1e-12) substeps of h = dt / n_sub; per substep the stages
    k_s = f(x_s) and P_s = A(x_s) M_s at x_1 = x, x_s = x + c_s h k_{s-1}, M_1 = Phi,
    M_s = Phi + c_s h P_{s-1} (c = 1/2, 1/2, 1), then x <- x + h/6 (k1 + 2 k2 + 2 k3 + k4),
    Phi <- Phi + h/6 (P1 + 2 P2 + 2 P3 + P4) (:mod:`trackers.models.integrate`).

    Work: ws1 (6, n) vectors (k1..k4, stage state, acceleration), ws2 (5, 6, n) stage
    products P1..P4 and stage input M, ar (3, 7) Jacobian blocks [A_r, A_v, A_p].
    The drag kind is dispatched once per call, to one of two copies of the substep loop
    (:func:`_stage` or :func:`_stage_drag` inlined): a branch per stage, or one loop calling
    either, made the drag-free prediction 10-50% slower (measured).
    """
    nsub = max(1, int(math.ceil(abs(dt) / max_step - 1e-12)))  # noqa: RUF046
    _ballistic_nsub(x, dt, par, nsub, n, xo, F, ws1, ws2, ar, want_jac)


@njit(**_opts)
def _ballistic_nsub(x, dt, par, nsub, n, xo, F, ws1, ws2, ar, want_jac):
    """:func:`_ballistic` with a given number of substeps ``nsub`` (the tracker's batched
    prediction takes one substep count for the whole batch, as the NumPy models do)."""
    h = dt / nsub
    k1, k2, k3, k4, xs, acc = ws1[0], ws1[1], ws1[2], ws1[3], ws1[4], ws1[5]
    P1, P2, P3, P4, M = ws2[0], ws2[1], ws2[2], ws2[3], ws2[4]
    for i in range(n):
        xo[i] = x[i]
    if want_jac:
        for i in range(n):
            for j in range(n):
                F[i, j] = 1.0 if i == j else 0.0
    if par[PAR_DRAG] == DRAG_NONE:
        for _ in range(nsub):
            _stage(par, xo, k1, acc, ar, F, P1, n, want_jac)
            _stage_input(xo, F, k1, P1, 0.5 * h, n, xs, M, want_jac)
            _stage(par, xs, k2, acc, ar, M, P2, n, want_jac)
            _stage_input(xo, F, k2, P2, 0.5 * h, n, xs, M, want_jac)
            _stage(par, xs, k3, acc, ar, M, P3, n, want_jac)
            _stage_input(xo, F, k3, P3, h, n, xs, M, want_jac)
            _stage(par, xs, k4, acc, ar, M, P4, n, want_jac)
            _rk4_combine(h, n, xo, F, ws1, ws2, want_jac)
    else:
        for _ in range(nsub):
            _stage_drag(par, xo, k1, acc, ar, F, P1, n, want_jac)
            _stage_input(xo, F, k1, P1, 0.5 * h, n, xs, M, want_jac)
            _stage_drag(par, xs, k2, acc, ar, M, P2, n, want_jac)
            _stage_input(xo, F, k2, P2, 0.5 * h, n, xs, M, want_jac)
            _stage_drag(par, xs, k3, acc, ar, M, P3, n, want_jac)
            _stage_input(xo, F, k3, P3, h, n, xs, M, want_jac)
            _stage_drag(par, xs, k4, acc, ar, M, P4, n, want_jac)
            _rk4_combine(h, n, xo, F, ws1, ws2, want_jac)


@njit(**_opts)
def _stage_input(xo, F, k, Pk, ch, n, xs, M, want_jac):
    """Next stage's state xs = x + ch k and (want_jac) input M = Phi + ch P_k (rows 0-5)."""
    for i in range(n):
        xs[i] = xo[i] + ch * k[i]
    if want_jac:
        for i in range(6):
            for j in range(n):
                M[i, j] = F[i, j] + ch * Pk[i, j]


@njit(**_opts)
def _rk4_combine(h, n, xo, F, ws1, ws2, want_jac):
    """x <- x + h/6 (k1 + 2 k2 + 2 k3 + k4);  Phi <- Phi + h/6 (P1 + 2 P2 + 2 P3 + P4)."""
    k1, k2, k3, k4 = ws1[0], ws1[1], ws1[2], ws1[3]
    P1, P2, P3, P4 = ws2[0], ws2[1], ws2[2], ws2[3]
    for i in range(n):
        xo[i] = xo[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
    if want_jac:
        for i in range(6):
            for j in range(n):
                F[i, j] = F[i, j] + h / 6.0 * (
                    P1[i, j] + 2.0 * P2[i, j] + 2.0 * P3[i, j] + P4[i, j]
                )


@njit(**_opts)
def _predict(kind, Fk, Qk, par, max_step, dt, x, P, n, xo, Po, F, tmp, ws1, ws2, ar):
    """Prediction of one run over dt: (x, P) -> (xo, Po); F is work (n, n)."""
    if kind == LINEAR:
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += Fk[i, j] * x[j]
            xo[i] = s
        _fpft_q(Fk, P, Qk, n, tmp, Po, True)
    else:
        _ballistic(x, dt, par, max_step, n, xo, F, ws1, ws2, ar, True)
        _fpft_q(F, P, Qk, n, tmp, Po, False)


# --- measurement ----------------------------------------------------------------------------
@njit(**_opts)
def _measure(skind, Hs, site, rot, m, x, n, zhat, H):
    """zhat (m,) and H (m, n) of one run for sensor kind skind."""
    if skind == SENSOR_LINEAR:
        for i in range(m):
            s = 0.0
            for j in range(n):
                H[i, j] = Hs[i, j]
                s += Hs[i, j] * x[j]
            zhat[i] = s
        return
    r0, r1, r2 = x[0] - site[0], x[1] - site[1], x[2] - site[2]
    e = rot[0, 0] * r0 + rot[0, 1] * r1 + rot[0, 2] * r2
    nn = rot[1, 0] * r0 + rot[1, 1] * r1 + rot[1, 2] * r2
    u = rot[2, 0] * r0 + rot[2, 1] * r1 + rot[2, 2] * r2
    p2 = e * e + nn * nn
    p = math.sqrt(p2)
    rho2 = p2 + u * u
    rho = math.sqrt(rho2)
    zhat[0] = rho
    az = math.atan2(e, nn)
    zhat[1] = _mod_2pi(az)
    zhat[2] = math.atan2(u, p)
    # d(rho, az, el) / d(e, n, u)
    g00, g01, g02 = e / rho, nn / rho, u / rho
    if p2 > 0.0:
        g10, g11 = nn / p2, -e / p2
    else:
        g10, g11 = 0.0, 0.0
    den = (p if p > 0.0 else 1.0) * rho2
    g20, g21, g22 = -e * u / den, -nn * u / den, p2 / den
    for i in range(m):
        for j in range(n):
            H[i, j] = 0.0
    for j in range(3):
        H[0, j] = g00 * rot[0, j] + g01 * rot[1, j] + g02 * rot[2, j]
        H[1, j] = g10 * rot[0, j] + g11 * rot[1, j]
        H[2, j] = g20 * rot[0, j] + g21 * rot[1, j] + g22 * rot[2, j]
    if m == 4:
        l0, l1, l2 = r0 / rho, r1 / rho, r2 / rho
        rr = l0 * x[3] + l1 * x[4] + l2 * x[5]
        zhat[3] = rr
        H[3, 0] = (x[3] - rr * l0) / rho
        H[3, 1] = (x[4] - rr * l1) / rho
        H[3, 2] = (x[5] - rr * l2) / rho
        H[3, 3], H[3, 4], H[3, 5] = l0, l1, l2


@njit(**_opts)
def _wrap(a):
    """Angle wrapped to (-pi, pi] (models.base.wrap_angle: pi - mod(pi - a, 2 pi)).

    The float modulo is skipped when pi - a is already in [0, 2 pi) (where it returns its
    argument unchanged): same result to the bit, the common case several times cheaper.
    """
    b = math.pi - a
    if not (b >= 0.0 and b < TWO_PI):
        b = b % TWO_PI
    return math.pi - b


@njit(**_opts)
def _mod_2pi(a):
    """mod(a, 2 pi) (np.mod), the modulo skipped when a is in [0, 2 pi) already."""
    if a >= 0.0 and a < TWO_PI:
        return a
    return a % TWO_PI


@njit(**_opts)
def _update(skind, Hs, Rs, site, rot, m, zrow, x, P, n, xo, Po, nu, S, wk):
    """Joseph-form update of one run; returns (nis, loglik) and writes nu (m,), S (m, m).

    A missed detection (NaN in zrow) copies the prior, nu = NaN, S = predicted S, nis NaN,
    loglik 0. wk: work arrays (zhat, H, C, Sinv, L, K, B, KR, w).
    """
    zhat, H, C, Sinv, L, K, B, KR, w = wk
    _measure(skind, Hs, site, rot, m, x, n, zhat, H)
    missed = False
    for i in range(m):
        if math.isnan(zrow[i]):
            missed = True
    # nu = z - zhat (angles wrapped)
    for i in range(m):
        d = zrow[i] - zhat[i]
        if skind == SENSOR_RADAR and (i == 1 or i == 2):
            d = _wrap(d)
        nu[i] = d
    # H has non-zero entries in its first nz columns only (3 for a position sensor or a
    # radar without range-rate): the products with H run over those
    nz = 0
    for a in range(m):
        for j in range(n):
            if H[a, j] != 0.0 and j >= nz:
                nz = j + 1
    # C = P H' (n, m), S = H C + R (symmetrised)
    for i in range(n):
        for a in range(m):
            s = 0.0
            for j in range(nz):
                s += P[i, j] * H[a, j]
            C[i, a] = s
    for a in range(m):
        for b in range(m):
            s = 0.0
            for j in range(nz):
                s += H[a, j] * C[j, b]
            S[a, b] = s + Rs[a, b]
    _sym(S, m)
    if missed:
        for i in range(n):
            xo[i] = x[i]
            for j in range(n):
                Po[i, j] = P[i, j]
        for i in range(m):
            nu[i] = np.nan
        return np.nan, 0.0
    logdet = _chol_inv(S, m, L, Sinv)
    # K = C S^-1 ; w = S^-1 nu ; x+ = x + C w ; nis = nu' w
    for i in range(n):
        for b in range(m):
            s = 0.0
            for a in range(m):
                s += C[i, a] * Sinv[a, b]
            K[i, b] = s
    nis = 0.0
    for a in range(m):
        s = 0.0
        for b in range(m):
            s += Sinv[a, b] * nu[b]
        w[a] = s
        nis += nu[a] * s
    for i in range(n):
        s = x[i]
        for a in range(m):
            s += C[i, a] * w[a]
        xo[i] = s
    # B = P - K C' ; KR = K R - B H' ; P+ = B + KR K'. B and P+ are symmetric (for the
    # optimal gain KR K' = K S K' - C K' = 0 up to rounding): their upper triangles are
    # computed and mirrored (the same values to rounding as the full product symmetrised)
    for i in range(n):
        for j in range(i, n):
            s = P[i, j]
            for a in range(m):
                s -= K[i, a] * C[j, a]
            B[i, j] = s
            B[j, i] = s
    for i in range(n):
        for a in range(m):
            s = 0.0
            for b in range(m):
                s += K[i, b] * Rs[b, a]
            for j in range(nz):
                s -= B[i, j] * H[a, j]
            KR[i, a] = s
    for i in range(n):
        for j in range(i, n):
            s = B[i, j]
            for a in range(m):
                s += KR[i, a] * K[j, a]
            Po[i, j] = s
            Po[j, i] = s
    return nis, -0.5 * (nis + (logdet + m * LOG_2PI))


@njit(**_opts)
def _work(n, mmax):
    """Per-block work arrays of one filter step."""
    zhat = np.empty(mmax)
    H = np.empty((mmax, n))
    C = np.empty((n, mmax))
    Sinv = np.empty((mmax, mmax))
    L = np.zeros((mmax, mmax))
    K = np.empty((n, mmax))
    B = np.empty((n, n))
    KR = np.empty((n, mmax))
    w = np.empty(mmax)
    return (zhat, H, C, Sinv, L, K, B, KR, w)


# --- single-model filter --------------------------------------------------------------------
@njit(parallel=True, **_opts)
def filter_runs(
    x0, P0, z, dts, kind, Fs, Qs, par, max_step,
    sidx, skind, Hs, Rs, sm, sites, rots, block,
):  # fmt: skip
    """Filter N runs through T reports.

    x0 (N, n), P0 (N, n, n): priors (copied). z (N, T, mmax). dts (T,) [s]. kind: motion
    kind; Fs, Qs (T, n, n) per-step F (linear) and Q; par (NPAR,) ballistic parameters
    (:mod:`trackers.filters.compiled._params`); max_step [s]. sidx (T,) sensor of each
    report; skind (S,), Hs (S, mmax, n), Rs (S, mmax, mmax), sm (S,) m per sensor,
    sites (S, 3), rots (S, 3, 3).

    Returns x (N, n), P (N, n, n), nis_sum, nis_cnt, ll_sum (N,), ep_nis, ep_cnt (nb, T).
    """
    N, n = x0.shape
    T, mmax = z.shape[1], z.shape[2]
    nb = (N + block - 1) // block
    xout = np.empty((N, n))
    Pout = np.empty((N, n, n))
    nis_sum = np.zeros(N)
    nis_cnt = np.zeros(N, dtype=np.int64)
    ll_sum = np.zeros(N)
    ep_nis = np.zeros((nb, T))
    ep_cnt = np.zeros((nb, T), dtype=np.int64)
    for b in prange(nb):
        wk = _work(n, mmax)
        xa = np.empty(n)
        xb = np.empty(n)
        Pa = np.empty((n, n))
        Pb = np.empty((n, n))
        F = np.empty((n, n))
        tmp = np.empty((n, n))
        ws1 = np.empty((6, n))
        ws2 = np.empty((5, 6, n))
        ar = np.empty((3, 7))
        nu = np.empty(mmax)
        S = np.empty((mmax, mmax))
        for r in range(b * block, min(N, (b + 1) * block)):
            for i in range(n):
                xa[i] = x0[r, i]
                for j in range(n):
                    Pa[i, j] = P0[r, i, j]
            ns, nc, ls = 0.0, 0, 0.0
            for k in range(T):
                if dts[k] != 0.0:
                    _predict(kind, Fs[k], Qs[k], par, max_step, dts[k], xa, Pa, n, xb, Pb,
                             F, tmp, ws1, ws2, ar)  # fmt: skip
                else:
                    xb[:] = xa
                    Pb[:, :] = Pa
                s = sidx[k]
                nis, ll = _update(skind[s], Hs[s], Rs[s], sites[s], rots[s], sm[s], z[r, k],
                                  xb, Pb, n, xa, Pa, nu, S, wk)  # fmt: skip
                if not math.isnan(nis):
                    ns += nis
                    nc += 1
                    ep_nis[b, k] += nis
                    ep_cnt[b, k] += 1
                ls += ll
            nis_sum[r], nis_cnt[r], ll_sum[r] = ns, nc, ls
            for i in range(n):
                xout[r, i] = xa[i]
                for j in range(n):
                    Pout[r, i, j] = Pa[i, j]
    return xout, Pout, nis_sum, nis_cnt, ll_sum, ep_nis, ep_cnt


# --- IMM --------------------------------------------------------------------------------------
@njit(parallel=True, **_opts)
def imm_runs(
    x0, P0, mu0, z, dts, trans, kinds, Fs, Qs, pars, max_steps,
    sidx, skind, Hs, Rs, sm, sites, rots, block,
):  # fmt: skip
    """IMM over N runs and T reports; modes share one state vector of dimension n.

    x0 (N, M, n), P0 (N, M, n, n), mu0 (N, M); trans (T, M, M) p_ij per report; kinds (M,),
    Fs, Qs (M, T, n, n), pars (M, NPAR), max_steps (M,); sensors as in :func:`filter_runs`.

    Returns x (N, M, n), P (N, M, n, n), mu (N, M), nis_sum, nis_cnt, ll_sum (N,),
    ep_nis, ep_cnt (nb, T).
    """
    N, M, n = x0.shape
    T, mmax = z.shape[1], z.shape[2]
    nb = (N + block - 1) // block
    xout = np.empty((N, M, n))
    Pout = np.empty((N, M, n, n))
    muout = np.empty((N, M))
    nis_sum = np.zeros(N)
    nis_cnt = np.zeros(N, dtype=np.int64)
    ll_sum = np.zeros(N)
    ep_nis = np.zeros((nb, T))
    ep_cnt = np.zeros((nb, T), dtype=np.int64)
    for b in prange(nb):
        wk = _work(n, mmax)
        xa = np.empty((M, n))
        Pa = np.empty((M, n, n))
        xm = np.empty((M, n))
        Pm = np.empty((M, n, n))
        xb = np.empty((M, n))
        Pb = np.empty((M, n, n))
        mu = np.empty(M)
        c = np.empty(M)
        wmix = np.empty((M, M))
        lls = np.empty(M)
        nus = np.empty((M, mmax))
        Ss = np.empty((M, mmax, mmax))
        nuc = np.empty(mmax)
        Sc = np.empty((mmax, mmax))
        Scinv = np.empty((mmax, mmax))
        Lc = np.zeros((mmax, mmax))
        d = np.empty(n)
        F = np.empty((n, n))
        tmp = np.empty((n, n))
        ws1 = np.empty((6, n))
        ws2 = np.empty((5, 6, n))
        ar = np.empty((3, 7))
        for r in range(b * block, min(N, (b + 1) * block)):
            xa[:, :] = x0[r]
            Pa[:, :, :] = P0[r]
            mu[:] = mu0[r]
            ns, nc, ls = 0.0, 0, 0.0
            for k in range(T):
                if dts[k] != 0.0:
                    p = trans[k]
                    # c_j = sum_i p_ij mu_i ; mu_{i|j} = p_ij mu_i / c_j (identity if c_j = 0)
                    for j in range(M):
                        s = 0.0
                        for i in range(M):
                            s += p[i, j] * mu[i]
                        c[j] = s
                    for i in range(M):
                        for j in range(M):
                            if c[j] > 0.0:
                                wmix[i, j] = p[i, j] * mu[i] / c[j]
                            else:
                                wmix[i, j] = 1.0 if i == j else 0.0
                    # x0_j = sum_i w_ij x_i ; P0_j = sum_i w_ij [P_i + (x_i - x0_j)(.)']
                    for j in range(M):
                        for a in range(n):
                            s = 0.0
                            for i in range(M):
                                s += wmix[i, j] * xa[i, a]
                            xm[j, a] = s
                        for a in range(n):
                            for bb in range(n):
                                Pm[j, a, bb] = 0.0
                        for i in range(M):
                            wij = wmix[i, j]
                            for a in range(n):
                                d[a] = xa[i, a] - xm[j, a]
                            for a in range(n):
                                for bb in range(n):
                                    Pm[j, a, bb] += wij * (Pa[i, a, bb] + d[a] * d[bb])
                        _sym(Pm[j], n)
                    for j in range(M):
                        _predict(kinds[j], Fs[j, k], Qs[j, k], pars[j], max_steps[j], dts[k],
                                 xm[j], Pm[j], n, xb[j], Pb[j], F, tmp, ws1, ws2, ar)  # fmt: skip
                else:
                    c[:] = mu
                    xb[:, :] = xa
                    Pb[:, :, :] = Pa
                s_ = sidx[k]
                m = sm[s_]
                for j in range(M):
                    _, lls[j] = _update(skind[s_], Hs[s_], Rs[s_], sites[s_], rots[s_], m,
                                        z[r, k], xb[j], Pb[j], n, xa[j], Pa[j], nus[j], Ss[j],
                                        wk)  # fmt: skip
                # combined innovation moments with weights c
                missed = False
                for a in range(m):
                    s = 0.0
                    for j in range(M):
                        s += c[j] * nus[j, a]
                    nuc[a] = s
                    if math.isnan(s):
                        missed = True
                if missed:
                    mu[:] = c
                    continue
                # mu_j = c_j L_j / sum_l c_l L_l, in the log domain
                amax = -np.inf
                for j in range(M):
                    a_ = math.log(c[j]) + lls[j] if c[j] > 0.0 else -np.inf
                    lls[j] = a_
                    if a_ > amax:
                        amax = a_
                if not math.isfinite(amax):
                    amax = 0.0
                tot = 0.0
                for j in range(M):
                    e_ = math.exp(lls[j] - amax)
                    mu[j] = e_
                    tot += e_
                for j in range(M):
                    mu[j] /= tot
                ll = math.log(tot) + amax
                for a in range(m):
                    for bb in range(m):
                        s = 0.0
                        for j in range(M):
                            s += c[j] * (
                                Ss[j, a, bb] + (nus[j, a] - nuc[a]) * (nus[j, bb] - nuc[bb])
                            )
                        Sc[a, bb] = s
                _sym(Sc, m)
                _chol_inv(Sc, m, Lc, Scinv)
                nis = 0.0
                for a in range(m):
                    for bb in range(m):
                        nis += nuc[a] * Scinv[a, bb] * nuc[bb]
                ns += nis
                nc += 1
                ls += ll
                ep_nis[b, k] += nis
                ep_cnt[b, k] += 1
            nis_sum[r], nis_cnt[r], ll_sum[r] = ns, nc, ls
            xout[r] = xa
            Pout[r] = Pa
            muout[r] = mu
    return xout, Pout, muout, nis_sum, nis_cnt, ll_sum, ep_nis, ep_cnt


# --- linear KF, runs side by side ("structure of arrays", SIMD across runs) ------------------
@njit(**_opts)
def _kf_block(x, P, z, Fs, Qs, dts, sidx, Hs, Rs, sm, nb_, ep_nis, ep_cnt, bidx, out):
    """Linear KF with shared F_k, Q_k, H, R for nb_ runs held side by side.

    x (n, B), P (n, n, B): the runs' beliefs, updated in place; z (nb_, T, mmax). Every
    elementary operation is a loop over the runs (the innermost, contiguous axis), which
    the compiler vectorises. out: (nis_sum, nis_cnt, ll_sum) per run (nb_,).
    """
    n, B = x.shape
    T, mmax = z.shape[1], z.shape[2]
    nis_sum, nis_cnt, ll_sum = out
    xp = np.empty((n, B))
    Pp = np.empty((n, n, B))
    tmp = np.empty((n, n, B))
    C = np.empty((n, mmax, B))
    S = np.empty((mmax, mmax, B))
    L = np.empty((mmax, mmax, B))
    Si = np.empty((mmax, mmax, B))
    K = np.empty((n, mmax, B))
    KR = np.empty((n, mmax, B))
    nu = np.empty((mmax, B))
    w = np.empty((mmax, B))
    det = np.empty(B)
    nis = np.empty(B)
    ok = np.empty(B, dtype=np.bool_)
    for k in range(T):
        F, Q = Fs[k], Qs[k]
        if dts[k] != 0.0:
            # x- = F x ; tmp = F P ; P- = F tmp' + Q  (zero entries of F skipped)
            for i in range(n):
                for b in range(nb_):
                    xp[i, b] = 0.0
                for j in range(n):
                    for b in range(nb_):
                        tmp[i, j, b] = 0.0
                for q in range(n):
                    f = F[i, q]
                    if f != 0.0:
                        for b in range(nb_):
                            xp[i, b] += f * x[q, b]
                        for j in range(n):
                            for b in range(nb_):
                                tmp[i, j, b] += f * P[q, j, b]
            for i in range(n):
                for j in range(n):
                    for b in range(nb_):
                        Pp[i, j, b] = Q[i, j]
                for q in range(n):
                    f = F[i, q]
                    if f != 0.0:
                        for j in range(n):
                            for b in range(nb_):
                                Pp[i, j, b] += f * tmp[j, q, b]
            # symmetrise
            for i in range(n):
                for j in range(i + 1, n):
                    for b in range(nb_):
                        a = 0.5 * (Pp[i, j, b] + Pp[j, i, b])
                        Pp[i, j, b] = a
                        Pp[j, i, b] = a
        else:
            xp[:, :nb_] = x[:, :nb_]
            Pp[:, :, :nb_] = P[:, :, :nb_]
        s_ = sidx[k]
        H, R, m = Hs[s_], Rs[s_], sm[s_]
        # detected runs, innovation nu = z - H x- (0 for a missed run)
        for b in range(nb_):
            good = True
            for a in range(m):
                if math.isnan(z[b, k, a]):
                    good = False
            ok[b] = good
        for a in range(m):
            for b in range(nb_):
                nu[a, b] = 0.0
            for j in range(n):
                h = H[a, j]
                if h != 0.0:
                    for b in range(nb_):
                        nu[a, b] -= h * xp[j, b]
            for b in range(nb_):
                nu[a, b] = nu[a, b] + z[b, k, a] if ok[b] else 0.0
        # C = P H' ; S = H C + R (symmetrised)
        for i in range(n):
            for a in range(m):
                for b in range(nb_):
                    C[i, a, b] = 0.0
                for j in range(n):
                    h = H[a, j]
                    if h != 0.0:
                        for b in range(nb_):
                            C[i, a, b] += Pp[i, j, b] * h
        for a in range(m):
            for c in range(m):
                for b in range(nb_):
                    S[a, c, b] = R[a, c]
                for j in range(n):
                    h = H[a, j]
                    if h != 0.0:
                        for b in range(nb_):
                            S[a, c, b] += h * C[j, c, b]
        for a in range(m):
            for c in range(a + 1, m):
                for b in range(nb_):
                    v = 0.5 * (S[a, c, b] + S[c, a, b])
                    S[a, c, b] = v
                    S[c, a, b] = v
        # Cholesky S = L L' and S^-1 = L^-T L^-1, per run (lanes); det S = prod L_jj^2
        for b in range(nb_):
            det[b] = 1.0
        for j in range(m):
            for b in range(nb_):
                d = S[j, j, b]
                for q in range(j):
                    d -= L[j, q, b] * L[j, q, b]
                lj = math.sqrt(d)
                L[j, j, b] = lj
                det[b] *= d
            for i in range(j + 1, m):
                for b in range(nb_):
                    v = S[i, j, b]
                    for q in range(j):
                        v -= L[i, q, b] * L[j, q, b]
                    L[i, j, b] = v / L[j, j, b]
        for c in range(m):
            for i in range(m):
                for b in range(nb_):
                    v = 1.0 if i == c else 0.0
                    for q in range(i):
                        v -= L[i, q, b] * Si[q, c, b]
                    Si[i, c, b] = v / L[i, i, b]
            for i in range(m - 1, -1, -1):
                for b in range(nb_):
                    v = Si[i, c, b]
                    for q in range(i + 1, m):
                        v -= L[q, i, b] * Si[q, c, b]
                    Si[i, c, b] = v / L[i, i, b]
        for a in range(m):
            for c in range(a + 1, m):
                for b in range(nb_):
                    v = 0.5 * (Si[a, c, b] + Si[c, a, b])
                    Si[a, c, b] = v
                    Si[c, a, b] = v
        # K = C S^-1 ; w = S^-1 nu ; nis = nu' w ; x+ = x- + C w
        for i in range(n):
            for a in range(m):
                for b in range(nb_):
                    v = 0.0
                    for c in range(m):
                        v += C[i, c, b] * Si[c, a, b]
                    K[i, a, b] = v
        for b in range(nb_):
            nis[b] = 0.0
        for a in range(m):
            for b in range(nb_):
                v = 0.0
                for c in range(m):
                    v += Si[a, c, b] * nu[c, b]
                w[a, b] = v
                nis[b] += nu[a, b] * v
        for i in range(n):
            for b in range(nb_):
                v = xp[i, b]
                for a in range(m):
                    v += C[i, a, b] * w[a, b]
                x[i, b] = v if ok[b] else xp[i, b]
        # B = P - K C' (into tmp) ; KR = K R - B H' ; P+ = B + KR K'
        for i in range(n):
            for j in range(n):
                for b in range(nb_):
                    v = Pp[i, j, b]
                    for a in range(m):
                        v -= K[i, a, b] * C[j, a, b]
                    tmp[i, j, b] = v
        for i in range(n):
            for a in range(m):
                for b in range(nb_):
                    v = 0.0
                    for c in range(m):
                        v += K[i, c, b] * R[c, a]
                    KR[i, a, b] = v
                for j in range(n):
                    h = H[a, j]
                    if h != 0.0:
                        for b in range(nb_):
                            KR[i, a, b] -= tmp[i, j, b] * h
        for i in range(n):
            for j in range(i, n):
                for b in range(nb_):
                    v = tmp[i, j, b]
                    u = tmp[j, i, b]
                    for a in range(m):
                        v += KR[i, a, b] * K[j, a, b]
                        u += KR[j, a, b] * K[i, a, b]
                    v = 0.5 * (v + u)
                    if ok[b]:
                        P[i, j, b] = v
                        P[j, i, b] = v
                    else:
                        P[i, j, b] = Pp[i, j, b]
                        P[j, i, b] = Pp[j, i, b]
        # statistics of the detected runs
        lc = m * LOG_2PI
        for b in range(nb_):
            if ok[b]:
                ll = -0.5 * (nis[b] + (math.log(det[b]) + lc))
                nis_sum[b] += nis[b]
                nis_cnt[b] += 1
                ll_sum[b] += ll
                ep_nis[bidx, k] += nis[b]
                ep_cnt[bidx, k] += 1


@njit(parallel=True, **_opts)
def kf_soa_runs(x0, P0, z, dts, Fs, Qs, sidx, Hs, Rs, sm, block):
    """:func:`filter_runs` for a linear model and linear sensors, runs side by side.

    Same inputs and outputs as :func:`filter_runs` (no ballistic or radar arguments).
    """
    N, n = x0.shape
    T = z.shape[1]
    nb = (N + block - 1) // block
    xout = np.empty((N, n))
    Pout = np.empty((N, n, n))
    nis_sum = np.zeros(N)
    nis_cnt = np.zeros(N, dtype=np.int64)
    ll_sum = np.zeros(N)
    ep_nis = np.zeros((nb, T))
    ep_cnt = np.zeros((nb, T), dtype=np.int64)
    for bi in prange(nb):
        lo = bi * block
        hi = min(N, lo + block)
        nb_ = hi - lo
        x = np.zeros((n, block))
        P = np.zeros((n, n, block))
        for b in range(nb_):
            for i in range(n):
                x[i, b] = x0[lo + b, i]
                for j in range(n):
                    P[i, j, b] = P0[lo + b, i, j]
        _kf_block(
            x, P, z[lo:hi], Fs, Qs, dts, sidx, Hs, Rs, sm, nb_, ep_nis, ep_cnt, bi,
            (nis_sum[lo:hi], nis_cnt[lo:hi], ll_sum[lo:hi]),
        )  # fmt: skip
        for b in range(nb_):
            for i in range(n):
                xout[lo + b, i] = x[i, b]
                for j in range(n):
                    Pout[lo + b, i, j] = P[i, j, b]
    return xout, Pout, nis_sum, nis_cnt, ll_sum, ep_nis, ep_cnt


# --- sigma-point filters (UKF, CKF) -----------------------------------------------------------
@njit(**_opts)
def _chol(P, n, Lc):
    """Lower Cholesky factor Lc (Lc Lc' = P), Cholesky-Banachiewicz column by column
    (:func:`trackers.filters.linalg_small.cholesky_lower`); NaN where P is not PD."""
    for j in range(n):
        for i in range(j):
            Lc[i, j] = 0.0
        d = P[j, j]
        for k in range(j):
            d -= Lc[j, k] * Lc[j, k]
        ljj = math.sqrt(d) if d > 0.0 else np.nan
        Lc[j, j] = ljj
        for i in range(j + 1, n):
            s = P[i, j]
            for k in range(j):
                s -= Lc[i, k] * Lc[j, k]
            Lc[i, j] = s / ljj


@njit(**_opts)
def _points(x, Lc, xi, n, X):
    """Sigma points X_i = x + Lc xi_i into X (L, n); zero entries of xi skipped."""
    for i in range(xi.shape[0]):
        for a in range(n):
            X[i, a] = x[a]
        for b in range(n):
            v = xi[i, b]
            if v != 0.0:
                for a in range(b, n):  # Lc is lower triangular
                    X[i, a] += Lc[a, b] * v


@njit(**_opts)
def _measure_only(skind, Hs, site, rot, m, x, n, zhat):
    """zhat = h(x) (m,) without a Jacobian (RadarMeasurement.measure, or H x)."""
    if skind == SENSOR_LINEAR:
        for i in range(m):
            s = 0.0
            for j in range(n):
                s += Hs[i, j] * x[j]
            zhat[i] = s
        return
    r0, r1, r2 = x[0] - site[0], x[1] - site[1], x[2] - site[2]
    e = r0 * rot[0, 0] + r1 * rot[0, 1] + r2 * rot[0, 2]
    nn = r0 * rot[1, 0] + r1 * rot[1, 1] + r2 * rot[1, 2]
    u = r0 * rot[2, 0] + r1 * rot[2, 1] + r2 * rot[2, 2]
    p2 = e * e + nn * nn
    p = math.sqrt(p2)
    rho = math.sqrt(p2 + u * u)
    zhat[0] = rho
    zhat[1] = _mod_2pi(math.atan2(e, nn))
    zhat[2] = math.atan2(u, p)
    if m == 4:
        # rr = (r - s) . v / rho
        zhat[3] = (r0 * x[3] + r1 * x[4] + r2 * x[5]) / rho


@njit(**_opts)
def _sp_work(n, mmax, npts):
    """Per-block work arrays of one sigma-point step."""
    Lc = np.zeros((n, n))
    X = np.empty((npts, n))
    Y = np.empty((npts, n))
    Zs = np.empty((npts, mmax))
    zbar = np.empty(mmax)
    Pxz = np.empty((n, mmax))
    Sinv = np.empty((mmax, mmax))
    Ls = np.zeros((mmax, mmax))
    K = np.empty((n, mmax))
    KS = np.empty((n, mmax))
    w = np.empty(mmax)
    return (Lc, X, Y, Zs, zbar, Pxz, Sinv, Ls, K, KS, w)


@njit(**_opts)
def _sp_predict(kind, Fk, Qk, par, max_step, dt, x, P, n, xi, wm, wc, xo, Po, F, ws1, ws2, ar,
                wsp):  # fmt: skip
    """Unscented prediction of one run: X_i = x + L xi_i, Y_i = f(X_i),
    x- = sum Wm_i Y_i, P- = sum Wc_i (Y_i - x-)(Y_i - x-)' + Q (symmetrised)."""
    Lc, X, Y = wsp[0], wsp[1], wsp[2]
    npts = xi.shape[0]
    _chol(P, n, Lc)
    _points(x, Lc, xi, n, X)
    for i in range(npts):
        if kind == LINEAR:
            # Y_i = F X_i
            for a in range(n):
                s = 0.0
                for b in range(n):
                    s += Fk[a, b] * X[i, b]
                Y[i, a] = s
        else:
            # Y_i = RK4(X_i; dt) (no variational equation)
            _ballistic(X[i], dt, par, max_step, n, Y[i], F, ws1, ws2, ar, False)
    # x- = sum_i Wm_i Y_i
    for a in range(n):
        s = 0.0
        for i in range(npts):
            s += wm[i] * Y[i, a]
        xo[a] = s
    # dY_i = Y_i - x- (in place) ; P- = sum_i (Wc_i dY_i) dY_i' + Q
    for i in range(npts):
        for a in range(n):
            Y[i, a] -= xo[a]
    for a in range(n):
        for b in range(a, n):
            s = 0.0
            for i in range(npts):
                s += wc[i] * Y[i, a] * Y[i, b]
            Po[a, b] = s + Qk[a, b]
            Po[b, a] = s + Qk[b, a]
    _sym(Po, n)


@njit(**_opts)
def _sp_update(skind, Hs, Rs, site, rot, m, zrow, x, P, n, xi, wm, wc, xo, Po, nu, S, wsp):
    """Unscented update of one run; returns (nis, loglik), writes nu (m,), S (m, m).

    Z_i = h(X_i); zbar = sum Wm_i Z_i (angles: ref + sum Wm_i wrap(Z_i - ref), ref = Z_0,
    wrapped); dZ_i = Z_i - zbar (angles wrapped); S = sum Wc_i dZ_i dZ_i' + R;
    C = sum Wc_i (X_i - x) dZ_i'; K = C S^-1; x+ = x + C S^-1 nu; P+ = P - (K S) K'.
    A missed detection (NaN in zrow) keeps the prior (nis NaN, loglik 0).
    """
    Lc, X, _, Zs, zbar, Pxz, Sinv, Ls, K, KS, w = wsp
    npts = xi.shape[0]
    radar = skind == SENSOR_RADAR
    _chol(P, n, Lc)
    _points(x, Lc, xi, n, X)
    for i in range(npts):
        _measure_only(skind, Hs, site, rot, m, X[i], n, Zs[i])
    # zbar (angle-aware weighted mean)
    for a in range(m):
        if radar and (a == 1 or a == 2):
            ref = Zs[0, a]
            s = 0.0
            for i in range(npts):
                s += wm[i] * _wrap(Zs[i, a] - ref)
            zbar[a] = _wrap(ref + s)
        else:
            s = 0.0
            for i in range(npts):
                s += wm[i] * Zs[i, a]
            zbar[a] = s
    # dZ_i = Z_i - zbar (angles wrapped), dX_i = X_i - x, both in place
    for i in range(npts):
        for a in range(m):
            d = Zs[i, a] - zbar[a]
            if radar and (a == 1 or a == 2):
                d = _wrap(d)
            Zs[i, a] = d
        for a in range(n):
            X[i, a] -= x[a]
    # S = sum_i (Wc_i dZ_i) dZ_i' + R (symmetrised) ; C = sum_i dX_i (Wc_i dZ_i)'
    for a in range(m):
        for b in range(m):
            s = 0.0
            for i in range(npts):
                s += wc[i] * Zs[i, a] * Zs[i, b]
            S[a, b] = s + Rs[a, b]
    _sym(S, m)
    for a in range(n):
        for b in range(m):
            s = 0.0
            for i in range(npts):
                s += X[i, a] * (wc[i] * Zs[i, b])
            Pxz[a, b] = s
    # nu = z - zbar (angles wrapped)
    missed = False
    for a in range(m):
        if math.isnan(zrow[a]):
            missed = True
        d = zrow[a] - zbar[a]
        if radar and (a == 1 or a == 2):
            d = _wrap(d)
        nu[a] = d
    if missed:
        for i in range(n):
            xo[i] = x[i]
            for j in range(n):
                Po[i, j] = P[i, j]
        for a in range(m):
            nu[a] = np.nan
        return np.nan, 0.0
    logdet = _chol_inv(S, m, Ls, Sinv)
    # K = C S^-1 ; w = S^-1 nu ; nis = nu' w ; x+ = x + C w
    for i in range(n):
        for b in range(m):
            s = 0.0
            for a in range(m):
                s += Pxz[i, a] * Sinv[a, b]
            K[i, b] = s
    nis = 0.0
    for a in range(m):
        s = 0.0
        for b in range(m):
            s += Sinv[a, b] * nu[b]
        w[a] = s
        nis += w[a] * nu[a]
    for i in range(n):
        s = x[i]
        for a in range(m):
            s += Pxz[i, a] * w[a]
        xo[i] = s
    # P+ = P - (K S) K' (symmetrised)
    for i in range(n):
        for b in range(m):
            s = 0.0
            for a in range(m):
                s += K[i, a] * S[a, b]
            KS[i, b] = s
    for i in range(n):
        for j in range(n):
            s = 0.0
            for b in range(m):
                s += KS[i, b] * K[j, b]
            Po[i, j] = P[i, j] - s
    _sym(Po, n)
    return nis, -0.5 * (nis + (logdet + m * LOG_2PI))


@njit(parallel=True, **_opts)
def sigma_runs(
    x0, P0, z, dts, kind, Fs, Qs, par, max_step,
    sidx, skind, Hs, Rs, sm, sites, rots, xi, wm, wc, block,
):  # fmt: skip
    """Sigma-point filter (UKF / CKF) over N runs and T reports.

    Inputs and outputs as :func:`filter_runs`, plus the rule: unit points xi (L, n), mean
    weights wm (L,) and covariance weights wc (L,) (:mod:`trackers.filters.sigma_points`).
    """
    N, n = x0.shape
    T, mmax = z.shape[1], z.shape[2]
    npts = xi.shape[0]
    nb = (N + block - 1) // block
    xout = np.empty((N, n))
    Pout = np.empty((N, n, n))
    nis_sum = np.zeros(N)
    nis_cnt = np.zeros(N, dtype=np.int64)
    ll_sum = np.zeros(N)
    ep_nis = np.zeros((nb, T))
    ep_cnt = np.zeros((nb, T), dtype=np.int64)
    for b in prange(nb):
        wsp = _sp_work(n, mmax, npts)
        xa = np.empty(n)
        xb = np.empty(n)
        Pa = np.empty((n, n))
        Pb = np.empty((n, n))
        F = np.empty((n, n))
        ws1 = np.empty((6, n))
        ws2 = np.empty((5, 6, n))
        ar = np.empty((3, 7))
        nu = np.empty(mmax)
        S = np.empty((mmax, mmax))
        for r in range(b * block, min(N, (b + 1) * block)):
            for i in range(n):
                xa[i] = x0[r, i]
                for j in range(n):
                    Pa[i, j] = P0[r, i, j]
            ns, nc, ls = 0.0, 0, 0.0
            for k in range(T):
                if dts[k] != 0.0:
                    _sp_predict(kind, Fs[k], Qs[k], par, max_step, dts[k], xa, Pa, n, xi, wm,
                                wc, xb, Pb, F, ws1, ws2, ar, wsp)  # fmt: skip
                else:
                    xb[:] = xa
                    Pb[:, :] = Pa
                s = sidx[k]
                nis, ll = _sp_update(skind[s], Hs[s], Rs[s], sites[s], rots[s], sm[s], z[r, k],
                                     xb, Pb, n, xi, wm, wc, xa, Pa, nu, S, wsp)  # fmt: skip
                if not math.isnan(nis):
                    ns += nis
                    nc += 1
                    ep_nis[b, k] += nis
                    ep_cnt[b, k] += 1
                ls += ll
            nis_sum[r], nis_cnt[r], ll_sum[r] = ns, nc, ls
            for i in range(n):
                xout[r, i] = xa[i]
                for j in range(n):
                    Pout[r, i, j] = Pa[i, j]
    return xout, Pout, nis_sum, nis_cnt, ll_sum, ep_nis, ep_cnt
