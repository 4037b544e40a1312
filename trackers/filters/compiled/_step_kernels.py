"""Numba kernels of the compiled estimator steps: one call predicts / updates a batch of beliefs.

:mod:`trackers.filters.compiled._kernels` runs whole time loops; the multi-object tracker
instead calls ``predict`` / ``update`` / ``gaussian`` on flat batches ``(B,)`` of track beliefs
(:mod:`trackers.filters.compiled._step`). These kernels do one such call per batch, per run
(scalars and small matrices), re-stating the equations of the NumPy reference path:

Mode prediction (:class:`trackers.filters.rules.EKF`, :mod:`trackers.models.integrate`):

    x- = RK4(x; dt),  F = Phi of the variational equation Phi' = A Phi on the same substeps,
    P- = F P F' + Q(x, dt)   (Q at the prior mean, as the rules evaluate it)
    n_sub = ceil(max_b |dt_b| / max_step - 1e-12) (>= 1): ONE count for the whole batch, as
    :func:`trackers.models.integrate.substeps` (the caller passes it), h_b = dt_b / n_sub.

- :class:`trackers.models.Ballistic` (6 states, or 7 with ln beta): the drift, Jacobian and
  RK4 stages of ``_kernels`` (J2, rotation, drag); Q = q [[dt^3/3 I, dt^2/2 I],
  [dt^2/2 I, dt I]] (+ q_lnb dt for ln beta; Bar-Shalom, Li & Kirubarajan 2001, §6.2.2).
- :class:`trackers.models.BoostThrustState` (7 states, x[6] = a_T the thrust acceleration
  along the velocity; Li & Jilkov, "Survey of maneuvering target tracking, Part II", IEEE
  TAES 46(1), 2010, §6), with u = v / |v|:

      f = [v, g_J2(r) + frame(r, v) + a_T u, a_T^2 / v_e (0 without v_e)]
      A = [[0, I, 0], [G + W_r, W_v + a_T (I - u u') / |v|, u], [0, 0, 2 a_T / v_e]]
      Q = CV(q) + q_T [[dt^5/20 uu', dt^4/8 uu', dt^3/6 u], [dt^4/8 uu', dt^3/3 uu',
          dt^2/2 u], [dt^3/6 u', dt^2/2 u', dt]]   (u of the prior mean)

  its Phi propagated on all 7 rows (the a_T row is not constant with v_e).

Measurement update: the Joseph-form EKF update of ``_kernels._update`` (radar r, az, el[, rr],
angles wrapped; nis, loglik; a NaN in z keeps the prior with nis NaN, loglik 0).

IMM (Blom & Bar-Shalom 1988; Bar-Shalom et al. 2001, §11.6.6) over modes with unlike state
vectors, as :class:`trackers.filters.imm.IMM` (its module docstring states the options): the
modes' beliefs are padded to ``(M, nmax)``; ``idx[j, :n_j]`` are mode j's components in the
common space (N components). Per run:

    p_ij (fixed, or p_ii = exp(-|dt| / tau_i), p_ij = (1 - p_ii) s_ij: SojournTransition)
    c_j = sum_i p_ij mu_i,  mu_{i|j} = p_ij mu_i / c_j  (mu_{i|j} = delta_ij where c_j = 0)
    embed every mode in the common space: own components; a missing group of components
      (owned by the same set O of modes) filled, per ``fill``, with the O-mixture under the
      weights (mixed: mean sum_{k in O} w_k x_k / W, cov sum_{k in O} w_k (P_k + d d') / W,
      W = sum_{k in O} w_k, the prior where W <= 1e-300), the prior (mean, variance), or 0;
      implied components pinned (value, zero variance)
    x0_j = sum_i mu_{i|j} x_i,  P0_j = sum_i mu_{i|j} [P_i + (x_i - x0_j)(x_i - x0_j)'],
      symmetrised, projected on mode j's components; then mode j's prediction; probs <- c
    update: mode-matched updates, mu_j = c_j L_j / sum_l c_l L_l (log domain),
      nu = sum_j c_j nu_j, S = sum_j c_j [S_j + (nu_j - nu)(nu_j - nu)'], nis = nu' S^-1 nu,
      loglik = log sum_j c_j L_j; a missed detection leaves the modes and mu = c
    combined output: the same embedding and moment match with the weights mu.

Parallelism: every entry point is a serial loop over the batch. Parallel twins (``prange``
over the beliefs) were measured and dropped: one IMM predict + update + gaussian cycle costs
~9-10 us per belief serially, threads gained 1.2-1.3x from 128 beliefs at load ~1.5 but cost
~13 ms per call at load ~4, and the tracker's batches stay below ~500 beliefs (2-core
machine, 2026-12-05).

Numba's on-disk cache is keyed on this file only: after changing ``_kernels.py`` or the
``_params`` layout, touch this file too (or clear ``__pycache__``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from trackers.filters.compiled._kernels import (
    _accel_jac,
    _ballistic_nsub,
    _chol_inv,
    _fpft_q,
    _sym,
    _update,
    _work,
)

#: motion kinds of this module
BALLISTIC, BOOST = 1, 2
#: fill kinds (IMM.fill)
FILL_MIXED, FILL_PRIOR, FILL_ZERO = 0, 1, 2
#: mixing weight below which the "mixed" fill falls back to the prior (imm._TINY)
TINY = 1e-300

_opts: dict[str, Any] = dict(cache=True, nogil=True, error_model="numpy")


# --- boost mode -------------------------------------------------------------------------------
@njit(**_opts)
def _stage_boost(par, ve, xs, kk, acc, ar, M, Pst, want_jac):
    """One RK4 stage of BoostThrustState at xs: k = f(xs) into kk (7,), P_s = A(xs) M into
    Pst (7, 7) (module docstring); ``ve`` the exhaust velocity [m/s] (0: a_T' = 0)."""
    _accel_jac(xs, par, acc, ar, want_jac)
    v0, v1, v2, a_t = xs[3], xs[4], xs[5], xs[6]
    speed = math.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
    safe = speed if speed > 0.0 else 1.0
    u0, u1, u2 = v0 / safe, v1 / safe, v2 / safe
    for i in range(3):
        kk[i] = xs[3 + i]
    # v' = g + frame terms + a_T u
    kk[3] = acc[0] + a_t * u0
    kk[4] = acc[1] + a_t * u1
    kk[5] = acc[2] + a_t * u2
    # a_T' = a_T^2 / v_e
    kk[6] = a_t * a_t / ve if ve > 0.0 else 0.0
    if not want_jac:
        return
    drate = 2.0 * a_t / ve if ve > 0.0 else 0.0
    w2 = 2.0 * par[3]
    c = a_t / safe
    # A_v = W_v + a_T (I - u u') / |v|  (W_v: Coriolis [[0, 2w, 0], [-2w, 0, 0], 0])
    ar[0, 3] = c * (1.0 - u0 * u0)
    ar[0, 4] = w2 + c * (0.0 - u0 * u1)
    ar[0, 5] = c * (0.0 - u0 * u2)
    ar[1, 3] = -w2 + c * (0.0 - u1 * u0)
    ar[1, 4] = c * (1.0 - u1 * u1)
    ar[1, 5] = c * (0.0 - u1 * u2)
    ar[2, 3] = c * (0.0 - u2 * u0)
    ar[2, 4] = c * (0.0 - u2 * u1)
    ar[2, 5] = c * (1.0 - u2 * u2)
    # d v' / d a_T = u
    ar[0, 6], ar[1, 6], ar[2, 6] = u0, u1, u2
    for j in range(7):
        Pst[0, j] = M[3, j]
        Pst[1, j] = M[4, j]
        Pst[2, j] = M[5, j]
        for i in range(3):
            s = 0.0
            for k in range(7):
                s += ar[i, k] * M[k, j]
            Pst[3 + i, j] = s
        Pst[6, j] = drate * M[6, j]


@njit(**_opts)
def _stage_input_all(xo, F, k, Pk, ch, n, xs, M):
    """Next stage's state xs = x + ch k and input M = Phi + ch P_k on all n rows."""
    for i in range(n):
        xs[i] = xo[i] + ch * k[i]
        for j in range(n):
            M[i, j] = F[i, j] + ch * Pk[i, j]


@njit(**_opts)
def _rk4_combine_all(h, n, xo, F, ws1, ws2):
    """x <- x + h/6 (k1 + 2 k2 + 2 k3 + k4);  Phi <- Phi + h/6 (P1 + 2 P2 + 2 P3 + P4)."""
    k1, k2, k3, k4 = ws1[0], ws1[1], ws1[2], ws1[3]
    P1, P2, P3, P4 = ws2[0], ws2[1], ws2[2], ws2[3]
    for i in range(n):
        xo[i] = xo[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
        for j in range(n):
            F[i, j] = F[i, j] + h / 6.0 * (P1[i, j] + 2.0 * P2[i, j] + 2.0 * P3[i, j] + P4[i, j])


# --- one mode's prediction of one run -------------------------------------------------------
@njit(**_opts)
def _propagate(kind, par, ve, nsub, dt, x, n, xo, F, ws1, ws2, ws2b, ar):
    """RK4 mean into xo and Phi into F over dt in nsub substeps (module docstring).

    Work: ws1 (6, 7) stage vectors, ws2 (5, 6, 7) ballistic stage products, ws2b (5, 7, 7)
    boost stage products (all 7 rows), ar (3, 7) Jacobian blocks.
    """
    if kind != BOOST:  # ballistic, with or without drag: the filter kernels' RK4
        _ballistic_nsub(x, dt, par, nsub, n, xo, F, ws1, ws2, ar, True)
        return
    h = dt / nsub
    k1, k2, k3, k4, xs, acc = ws1[0], ws1[1], ws1[2], ws1[3], ws1[4], ws1[5]
    for i in range(n):
        xo[i] = x[i]
        for j in range(n):
            F[i, j] = 1.0 if i == j else 0.0
    P1, P2, P3, P4, M = ws2b[0], ws2b[1], ws2b[2], ws2b[3], ws2b[4]
    for _ in range(nsub):
        _stage_boost(par, ve, xo, k1, acc, ar, F, P1, True)
        _stage_input_all(xo, F, k1, P1, 0.5 * h, n, xs, M)
        _stage_boost(par, ve, xs, k2, acc, ar, M, P2, True)
        _stage_input_all(xo, F, k2, P2, 0.5 * h, n, xs, M)
        _stage_boost(par, ve, xs, k3, acc, ar, M, P3, True)
        _stage_input_all(xo, F, k3, P3, h, n, xs, M)
        _stage_boost(par, ve, xs, k4, acc, ar, M, P4, True)
        _rk4_combine_all(h, n, xo, F, ws1, ws2b)


@njit(**_opts)
def _process_noise(kind, q, q2, dt, x, n, Q):
    """Q (n, n) over dt at the prior mean x (module docstring).

    Ballistic: q2 = q_log_beta (n = 7); boost: q2 = q_thrust, u = v / |v| of x.
    """
    for i in range(n):
        for j in range(n):
            Q[i, j] = 0.0
    # CV block q [[dt^3/3 I, dt^2/2 I], [dt^2/2 I, dt I]]  (cv_process_noise)
    a = q * dt**3 / 3.0
    b = q * dt**2 / 2.0
    c = q * dt
    for i in range(3):
        Q[i, i] = a
        Q[i, 3 + i] = b
        Q[3 + i, i] = b
        Q[3 + i, 3 + i] = c
    if kind == BOOST:
        v0, v1, v2 = x[3], x[4], x[5]
        speed = math.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
        safe = speed if speed > 0.0 else 1.0
        u = (v0 / safe, v1 / safe, v2 / safe)
        # the a_T random walk through a_T -> v -> r along u (BoostThrustState.process_noise)
        c5 = q2 * dt**5 / 20.0
        c4 = q2 * dt**4 / 8.0
        c3 = q2 * dt**3 / 3.0
        for i in range(3):
            for j in range(3):
                uu = u[i] * u[j]
                Q[i, j] += c5 * uu
                Q[i, 3 + j] += c4 * uu
                Q[3 + i, j] += c4 * uu
                Q[3 + i, 3 + j] += c3 * uu
        e3 = q2 * dt**3 / 6.0
        e2 = q2 * dt**2 / 2.0
        for i in range(3):
            Q[i, 6] = e3 * u[i]
            Q[3 + i, 6] = e2 * u[i]
            Q[6, i] = Q[i, 6]
            Q[6, 3 + i] = Q[3 + i, 6]
        Q[6, 6] = q2 * dt
    elif n == 7:
        # ln beta random walk
        Q[6, 6] = q2 * dt


@njit(**_opts)
def _mode_predict(kind, par, ve, q, q2, nsub, dt, x, P, n, xo, Po, wp):
    """One mode's EKF prediction of one run: (x, P) -> (xo, Po) (module docstring)."""
    F, Q, tmp, ws1, ws2, ws2b, ar = wp
    _propagate(kind, par, ve, nsub, dt, x, n, xo, F, ws1, ws2, ws2b, ar)
    _process_noise(kind, q, q2, dt, x, n, Q)
    # P- = F P F' + Q (symmetric)
    _fpft_q(F, P, Q, n, tmp, Po, False)


@njit(**_opts)
def _pred_work(nmax):
    """Work arrays of :func:`_mode_predict` (n <= nmax)."""
    return (
        np.empty((nmax, nmax)),
        np.empty((nmax, nmax)),
        np.empty((nmax, nmax)),
        np.empty((6, 7)),
        np.empty((5, 6, 7)),
        np.empty((5, 7, 7)),
        np.zeros((3, 7)),
    )


# --- single-model filter steps ----------------------------------------------------------------
# Every entry point is a serial loop over the batch (work arrays allocated once per call).
@njit(**_opts)
def gauss_predict(x, P, dt, kind, par, ve, q, q2, nsub):
    """EKF prediction of B beliefs x (B, n), P (B, n, n) over dt (B,) [s]; returns (x-, P-)."""
    B, n = x.shape
    xo = np.empty((B, n))
    Po = np.empty((B, n, n))
    wp = _pred_work(n)
    for b in range(B):
        _mode_predict(kind, par, ve, q, q2, nsub, dt[b], x[b], P[b], n, xo[b], Po[b], wp)
    return xo, Po


@njit(**_opts)
def _gauss_update_out(B, n, m):
    """Outputs of :func:`gauss_update`: x+, P+, nu, S, nis, loglik."""
    return (
        np.empty((B, n)),
        np.empty((B, n, n)),
        np.empty((B, m)),
        np.empty((B, m, m)),
        np.empty(B),
        np.empty(B),
    )


@njit(**_opts)
def gauss_update(x, P, z, skind, H, R, site, rot):
    """EKF (Joseph) update of B beliefs with z (B, m); sensor arrays as ``_kernels._update``
    (H (m, n), R (m, m), site (3,), rot (3, 3)). Returns (x+, P+, nu, S, nis, loglik)."""
    B, n = x.shape
    m = z.shape[1]
    xo, Po, nu, S, nis, ll = _gauss_update_out(B, n, m)
    wk = _work(n, m)
    for b in range(B):
        nis[b], ll[b] = _update(
            skind, H, R, site, rot, m, z[b], x[b], P[b], n, xo[b], Po[b], nu[b], S[b], wk
        )
    return xo, Po, nu, S, nis, ll


# --- IMM --------------------------------------------------------------------------------------
@njit(**_opts)
def _transition(tkind, trans, tau, switching, rowsum, dt, M, p):
    """p (M, M): the fixed matrix (tkind 0) or SojournTransition.matrix(dt) (tkind 1)."""
    if tkind == 0:
        for i in range(M):
            for j in range(M):
                p[i, j] = trans[i, j]
        return
    for i in range(M):
        stay = math.exp(-abs(dt) / tau[i])
        leave = (1.0 - stay) * rowsum[i]
        for j in range(M):
            p[i, j] = leave * switching[i, j] + (1.0 - leave) * (1.0 if i == j else 0.0)


@njit(**_opts)
def _embed_match(
    xs, Ps, w, dims, idx, N, fkind, gown, gcomp, pmean, pvar, imp, impv, xe, pe, xm, Pm
):
    """Every mode of one run embedded in the common space with weights w (M,) (module
    docstring), then moment-matched: xm (N,), Pm (N, N), symmetrised.

    gown (G, M) bool: owners of each group of components; gcomp (N,) group of each common
    component (-1: owned by every mode); pmean, pvar (N,) the fill prior; imp (M, N) bool /
    impv (N,): implied components and their values. Work xe (M, N), pe (M, N, N).
    """
    M = dims.shape[0]
    for i in range(M):
        for a in range(N):
            xe[i, a] = 0.0
            for c in range(N):
                pe[i, a, c] = 0.0
        ni = dims[i]
        for a in range(ni):
            xe[i, idx[i, a]] = xs[i, a]
            for c in range(ni):
                pe[i, idx[i, a], idx[i, c]] = Ps[i, a, c]
    if fkind != FILL_ZERO:
        G = gown.shape[0]
        for g in range(G):
            # W = sum of the owners' weights (mixed fill)
            wsum = 0.0
            for k in range(M):
                if gown[g, k]:
                    wsum += w[k]
            ok = fkind == FILL_MIXED and wsum > TINY
            for a in range(N):
                if gcomp[a] != g:
                    continue
                # fill mean of component a
                if ok:
                    fa = 0.0
                    for k in range(M):
                        if gown[g, k]:
                            fa += w[k] / wsum * xe[k, a]
                else:
                    fa = pmean[a]
                for i in range(M):
                    if not gown[g, i]:
                        xe[i, a] = fa
            for a in range(N):
                if gcomp[a] != g:
                    continue
                for c in range(N):
                    if gcomp[c] != g:
                        continue
                    if ok:
                        # sum_k wn_k (P_k[a, c] + d_ka d_kc), d_k = x_k - fill mean
                        s = 0.0
                        fa = 0.0
                        fc = 0.0
                        for k in range(M):
                            if gown[g, k]:
                                fa += w[k] / wsum * xe[k, a]
                                fc += w[k] / wsum * xe[k, c]
                        for k in range(M):
                            if gown[g, k]:
                                s += w[k] / wsum * (pe[k, a, c] + (xe[k, a] - fa) * (xe[k, c] - fc))
                    else:
                        s = pvar[a] if a == c else 0.0
                    for i in range(M):
                        if not gown[g, i]:
                            pe[i, a, c] = s
    # implied components: value, zero variance
    for i in range(M):
        for a in range(N):
            if imp[i, a]:
                xe[i, a] = impv[a]
                for c in range(N):
                    pe[i, a, c] = 0.0
                    pe[i, c, a] = 0.0
    # x = sum_i w_i x_i ;  P = sum_i w_i [P_i + (x_i - x)(x_i - x)']
    for a in range(N):
        s = 0.0
        for i in range(M):
            s += w[i] * xe[i, a]
        xm[a] = s
    for a in range(N):
        for c in range(N):
            s = 0.0
            for i in range(M):
                s += w[i] * (pe[i, a, c] + (xe[i, a] - xm[a]) * (xe[i, c] - xm[c]))
            Pm[a, c] = s
    _sym(Pm, N)


@njit(**_opts)
def _imm_work(M, N, nmax, m):
    """Per-belief work arrays of the IMM kernels."""
    return (
        _pred_work(nmax),
        _work(nmax, m),
        np.empty((M, M)),  # p, then (update) a_j
        np.empty(M),  # mixing weights
        np.empty((M, N)),  # embedded means
        np.empty((M, N, N)),  # embedded covariances
        np.empty(N),  # moment-matched mean
        np.empty((N, N)),  # moment-matched covariance
        np.empty(nmax),  # mixed mean of a mode
        np.empty((nmax, nmax)),  # mixed covariance of a mode
        np.empty((M, m)),  # mode innovations
        np.empty((M, m, m)),  # mode innovation covariances
        np.zeros((m, m)),  # Cholesky factor
        np.empty((m, m)),  # S^-1
    )


@njit(**_opts)
def _imm_predict_one(
    b,
    xs,
    Ps,
    mu,
    dt,
    tkind,
    trans,
    tau,
    switching,
    rowsum,
    dims,
    idx,
    N,
    fkind,
    gown,
    gcomp,
    pmean,
    pvar,
    imp,
    impv,
    kinds,
    pars,
    ves,
    qs,
    q2s,
    nsubs,
    xo,
    Po,
    co,
    wk,
):
    """Mixing and mode-matched predictions of belief b into xo[b], Po[b], co[b]."""
    M = dims.shape[0]
    wp, _, p, wt, xe, pe, xm, Pm, x0, P0 = (
        wk[0],
        wk[1],
        wk[2],
        wk[3],
        wk[4],
        wk[5],
        wk[6],
        wk[7],
        wk[8],
        wk[9],
    )
    _transition(tkind, trans, tau, switching, rowsum, dt[b], M, p)
    # c_j = sum_i p_ij mu_i
    for j in range(M):
        s = 0.0
        for i in range(M):
            s += p[i, j] * mu[b, i]
        co[b, j] = s
    for j in range(M):
        # mu_{i|j} = p_ij mu_i / c_j  (delta_ij where c_j = 0)
        for i in range(M):
            if co[b, j] > 0.0:
                wt[i] = p[i, j] * mu[b, i] / co[b, j]
            else:
                wt[i] = 1.0 if i == j else 0.0
        _embed_match(
            xs[b],
            Ps[b],
            wt,
            dims,
            idx,
            N,
            fkind,
            gown,
            gcomp,
            pmean,
            pvar,
            imp,
            impv,
            xe,
            pe,
            xm,
            Pm,
        )
        nj = dims[j]
        for a in range(nj):
            x0[a] = xm[idx[j, a]]
            for c in range(nj):
                P0[a, c] = Pm[idx[j, a], idx[j, c]]
        _mode_predict(
            kinds[j],
            pars[j],
            ves[j],
            qs[j],
            q2s[j],
            nsubs[j],
            dt[b],
            x0,
            P0,
            nj,
            xo[b, j],
            Po[b, j],
            wp,
        )


@njit(**_opts)
def imm_predict(
    xs,
    Ps,
    mu,
    dt,
    tkind,
    trans,
    tau,
    switching,
    rowsum,
    dims,
    idx,
    N,
    fkind,
    gown,
    gcomp,
    pmean,
    pvar,
    imp,
    impv,
    kinds,
    pars,
    ves,
    qs,
    q2s,
    nsubs,
):
    """IMM mixing and mode-matched predictions of B beliefs (module docstring).

    xs (B, M, nmax), Ps (B, M, nmax, nmax) padded mode beliefs, mu (B, M), dt (B,) [s].
    Per mode: kinds, pars (M, NPAR), ves, qs, q2s (M,), nsubs (M,) substep counts.
    Returns predicted xs, Ps (padded with zeros) and the predicted mode probabilities c
    (B, M).
    """
    B, M, nmax = xs.shape
    xo = np.zeros((B, M, nmax))
    Po = np.zeros((B, M, nmax, nmax))
    co = np.empty((B, M))
    wk = _imm_work(M, N, nmax, 1)
    for b in range(B):
        _imm_predict_one(
            b,
            xs,
            Ps,
            mu,
            dt,
            tkind,
            trans,
            tau,
            switching,
            rowsum,
            dims,
            idx,
            N,
            fkind,
            gown,
            gcomp,
            pmean,
            pvar,
            imp,
            impv,
            kinds,
            pars,
            ves,
            qs,
            q2s,
            nsubs,
            xo,
            Po,
            co,
            wk,
        )
    return xo, Po, co


@njit(**_opts)
def imm_gaussian(xs, Ps, mu, dims, idx, N, fkind, gown, gcomp, pmean, pvar, imp, impv):
    """Combined Gaussians of B IMM beliefs in the common space: x (B, N), P (B, N, N)."""
    B, M = xs.shape[0], xs.shape[1]
    xo = np.empty((B, N))
    Po = np.empty((B, N, N))
    xe = np.empty((M, N))
    pe = np.empty((M, N, N))
    for b in range(B):
        _embed_match(
            xs[b],
            Ps[b],
            mu[b],
            dims,
            idx,
            N,
            fkind,
            gown,
            gcomp,
            pmean,
            pvar,
            imp,
            impv,
            xe,
            pe,
            xo[b],
            Po[b],
        )
    return xo, Po


@njit(**_opts)
def _imm_update_one(
    b, xs, Ps, c, z, dims, skind, H, R, site, rot, xo, Po, mu, nu, S, nis, loglik, wk
):
    """Mode-matched updates and the mode-probability update of belief b (module docstring)."""
    M = dims.shape[0]
    m = z.shape[1]
    uw, a2, nus, ss, L, Sinv = wk[1], wk[2], wk[10], wk[11], wk[12], wk[13]
    a = a2[0]
    for j in range(M):
        nj = dims[j]
        # (the padded rows: _update reads and writes entries [:nj] only)
        _, ll = _update(
            skind,
            H,
            R,
            site,
            rot,
            m,
            z[b],
            xs[b, j],
            Ps[b, j],
            nj,
            xo[b, j],
            Po[b, j],
            nus[j],
            ss[j],
            uw,
        )
        # a_j = log c_j + log L_j
        a[j] = (math.log(c[b, j]) if c[b, j] > 0.0 else -np.inf) + ll
    # mu_j = exp(a_j - amax) / sum_l exp(a_l - amax)  (amax -> 0 if not finite)
    amax = -np.inf
    for j in range(M):
        if math.isnan(a[j]):
            amax = np.nan
            break
        if a[j] > amax:
            amax = a[j]
    if not math.isfinite(amax):
        amax = 0.0
    tot = 0.0
    for j in range(M):
        a[j] = math.exp(a[j] - amax)
        tot += a[j]
    # nu = sum_j c_j nu_j
    missed = False
    for i in range(m):
        s = 0.0
        for j in range(M):
            s += c[b, j] * nus[j, i]
        nu[b, i] = s
        if math.isnan(s):
            missed = True
    # S = sum_j c_j [S_j + (nu_j - nu)(nu_j - nu)']  (NaN spread -> 0), symmetrised
    for i in range(m):
        for k in range(m):
            s = 0.0
            for j in range(M):
                d = (nus[j, i] - nu[b, i]) * (nus[j, k] - nu[b, k])
                if math.isnan(d):
                    d = 0.0
                s += c[b, j] * (ss[j, i, k] + d)
            S[b, i, k] = s
    _sym(S[b], m)
    if missed:
        # a missed detection: modes unchanged (done by _update), mu = c, nis NaN, loglik 0
        for j in range(M):
            mu[b, j] = c[b, j]
        nis[b] = np.nan
        loglik[b] = 0.0
        return
    for j in range(M):
        mu[b, j] = a[j] / tot
    loglik[b] = math.log(tot) + amax
    # nis = nu' S^-1 nu
    _chol_inv(S[b], m, L, Sinv)
    q = 0.0
    for i in range(m):
        s = 0.0
        for k in range(m):
            s += Sinv[i, k] * nu[b, k]
        q += s * nu[b, i]
    nis[b] = q


@njit(**_opts)
def _imm_update_out(B, M, nmax, m):
    """Outputs of :func:`imm_update`: xs, Ps (zero padded), mu, nu, S, nis, loglik."""
    return (
        np.zeros((B, M, nmax)),
        np.zeros((B, M, nmax, nmax)),
        np.empty((B, M)),
        np.empty((B, m)),
        np.empty((B, m, m)),
        np.empty(B),
        np.empty(B),
    )


@njit(**_opts)
def imm_update(xs, Ps, c, z, dims, skind, H, R, site, rot):
    """Mode-matched EKF updates of B IMM beliefs and the mode-probability update.

    xs (B, M, nmax), Ps (B, M, nmax, nmax), c (B, M) predicted mode probabilities, z (B, m);
    sensor arrays as ``_kernels._update`` (H (m, nmax)). Returns posterior xs, Ps, mu (B, M)
    and the combined nu (B, m), S (B, m, m), nis, loglik (B,) (module docstring).
    """
    B, M, nmax = xs.shape
    m = z.shape[1]
    xo, Po, mu, nu, S, nis, loglik = _imm_update_out(B, M, nmax, m)
    wk = _imm_work(M, 1, nmax, m)
    for b in range(B):
        _imm_update_one(
            b, xs, Ps, c, z, dims, skind, H, R, site, rot, xo, Po, mu, nu, S, nis, loglik, wk
        )
    return xo, Po, mu, nu, S, nis, loglik
