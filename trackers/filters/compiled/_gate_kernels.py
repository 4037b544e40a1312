"""Numba kernels of the multi-object tracker's gating: one call over all candidate tracks.

The tracker (:mod:`trackers.tracking.tracker`, ``_Tracker._innovations``) linearises every
candidate track's predicted belief (x, P) at its mean and tests the scan's reports against it
(Bar-Shalom, Li & Kirubarajan 2001, §3.4 (validation gate) and §5.2 (innovation covariance);
Blackman & Popoli 1999, §6.2 (gating, association cost)). Per candidate c and report slot k:

    zhat = h(x),  H = dh/dx                       (radar: range, az, el[, range-rate])
    HP = H P,     S = sym(HP H' + R),  sym(A) = (A + A') / 2
    S^-1, log det S                               (closed forms of linalg_small.inv_spd)
    nu_k = z_k - zhat  (az, el wrapped to (-pi, pi]),  NaN components -> 0
    d2_k = nu_k' S^-1 nu_k                        (report k in the gate when d2_k < chi2 quantile)

and, for the gate widened by the radar's resolution cell (unresolved reports, Daum &
Fitzgerald 1994), S_w = sym(HPH' + R_w), S_w^-1, log det S_w, d2_w = nu' S_w^-1 nu.

The radar's h and H are those of the compiled filters (``_kernels._measure``: d = R_enu (r - s),
rho = |d|, az = atan2(e, n) mod 2 pi, el = atan2(u, sqrt(e^2 + n^2)), rr = (r - s) . v / rho).

Agreement with the NumPy reference (``linalg_small``, ``models.radar``, ``np.einsum``):

- the products H P and (H P) H' run over all n columns, including H's zero ones, so that a
  non-finite covariance entry gives the NaN / inf pattern of ``np.matmul`` (0 * inf = NaN);
- S^-1 and log det S are NOT a Cholesky factorisation but the adjugate (m = 3) and the 2x2
  block Schur complement (m = 4) of :func:`trackers.filters.linalg_small.inv_spd`, written in
  the same operation order: the same inverse to the bit for the same S, and the same
  conventions for an S that is not positive definite (a finite inverse when det != 0, with
  log det S = NaN by Sylvester's criterion; NaN / inf for non-finite S);
- d2 sums nu_i S^-1_ij nu_j over i, then j, as ``np.einsum("cmi,cij,cmj->cm")`` does (bit-equal
  for the same operands).

Shapes: x (C, n), P (C, n, n) [SI units of the state], zr (C, M, m) [m, rad, rad(, m/s)];
outputs zhat (C, m), H (C, m, n), HP (C, m, n), S (C, m, m), Sinv (C, m, m), logdet (C,),
nu (C, M, m), d2 (C, M). One serial loop over the candidates: ~0.35 us each (m = 3, n = 7;
0.45 us with range-rate), two thirds of it the latency-bound small products H P and (H P) H'.
No parallel twin: the tracker gates ~20-140 candidates per call on average (hokkaido-2023,
20-100 runs; at most a few hundred), 10-130 us per call, where threads would save at most
half of it on a shared 2-core machine (the step kernels' threads were measured and dropped
for the same reason, ``_step_kernels``).

Numba's on-disk cache is keyed on this file only: after changing ``_kernels.py`` (``_measure``,
``_wrap``), touch this file too (or delete the caches: find trackers -name "*.nbi" -o -name
"*.nbc").

References
----------
Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, Wiley 2001, §3.4, §5.2.
S. Blackman, R. Popoli, *Design and Analysis of Modern Tracking Systems*, Artech House 1999,
§6.2.
G. H. Golub, C. F. Van Loan, *Matrix Computations*, 4th ed., 2013, §3.2 (block inverse).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from trackers.filters.compiled._kernels import SENSOR_RADAR, _measure, _wrap

_opts: dict[str, Any] = dict(cache=True, nogil=True, error_model="numpy")


# --- S^-1 and log det S: the closed forms of linalg_small.inv_spd ----------------------------
@njit(**_opts)
def _symmetrize(S, m):
    """S <- (S + S') / 2 in place, the diagonal included (as ``linalg_small.symmetrize``: the
    same values to the bit, overflow of 2 S_ii included)."""
    for a in range(m):
        for b in range(a, m):
            v = 0.5 * (S[a, b] + S[b, a])
            S[a, b] = v
            S[b, a] = v


@njit(**_opts)
def _inv3(S, Sinv):
    """Adjugate inverse of a symmetric 3x3 S into Sinv; returns log det S (NaN unless S is
    positive definite by Sylvester's criterion), as ``linalg_small._inv3``."""
    a, d, f = S[0, 0], S[1, 1], S[2, 2]
    b = 0.5 * (S[0, 1] + S[1, 0])
    c = 0.5 * (S[0, 2] + S[2, 0])
    e = 0.5 * (S[1, 2] + S[2, 1])
    # cofactors
    A = d * f - e * e
    B = c * e - b * f
    C = b * e - c * d
    D = a * f - c * c
    E = b * c - a * e
    F = a * d - b * b
    det = a * A + b * B + c * C
    r = 1.0 / det
    Sinv[0, 0] = A * r
    Sinv[0, 1] = Sinv[1, 0] = B * r
    Sinv[0, 2] = Sinv[2, 0] = C * r
    Sinv[1, 1] = D * r
    Sinv[1, 2] = Sinv[2, 1] = E * r
    Sinv[2, 2] = F * r
    # leading minors a, F and det all > 0 (NaN compares False)
    if a > 0.0 and F > 0.0 and det > 0.0:
        return math.log(det)
    return np.nan


@njit(**_opts)
def _inv4(S, Sinv):
    """2x2-block (Schur complement) inverse of a symmetric 4x4 S into Sinv; returns log det S
    (NaN unless a00, det A, w00 and det W are > 0), as ``linalg_small._inv4``."""
    # S = [[A, B], [B', D]] after symmetrisation (diagonal included, as the reference)
    a00, a11 = 0.5 * (S[0, 0] + S[0, 0]), 0.5 * (S[1, 1] + S[1, 1])
    a01 = 0.5 * (S[0, 1] + S[1, 0])
    b00, b01 = 0.5 * (S[0, 2] + S[2, 0]), 0.5 * (S[0, 3] + S[3, 0])
    b10, b11 = 0.5 * (S[1, 2] + S[2, 1]), 0.5 * (S[1, 3] + S[3, 1])
    d00, d11 = 0.5 * (S[2, 2] + S[2, 2]), 0.5 * (S[3, 3] + S[3, 3])
    d01 = 0.5 * (S[2, 3] + S[3, 2])
    # A^-1
    detA = a00 * a11 - a01 * a01
    r = 1.0 / detA
    i00, i01, i11 = a11 * r, -a01 * r, a00 * r
    # P = A^-1 B
    p00, p01 = i00 * b00 + i01 * b10, i00 * b01 + i01 * b11
    p10, p11 = i01 * b00 + i11 * b10, i01 * b01 + i11 * b11
    # Schur complement W = D - B' A^-1 B and its inverse V
    w00 = d00 - (b00 * p00 + b10 * p10)
    w01 = d01 - (b00 * p01 + b10 * p11)
    w11 = d11 - (b01 * p01 + b11 * p11)
    detW = w00 * w11 - w01 * w01
    rw = 1.0 / detW
    v00, v01, v11 = w11 * rw, -w01 * rw, w00 * rw
    # top-right block T = -P W^-1
    t00, t01 = -(p00 * v00 + p01 * v01), -(p00 * v01 + p01 * v11)
    t10, t11 = -(p10 * v00 + p11 * v01), -(p10 * v01 + p11 * v11)
    # top-left block A^-1 + P W^-1 P' = A^-1 - T P'
    Sinv[0, 0] = i00 - (t00 * p00 + t01 * p01)
    Sinv[0, 1] = Sinv[1, 0] = i01 - (t00 * p10 + t01 * p11)
    Sinv[1, 1] = i11 - (t10 * p10 + t11 * p11)
    Sinv[0, 2] = Sinv[2, 0] = t00
    Sinv[0, 3] = Sinv[3, 0] = t01
    Sinv[1, 2] = Sinv[2, 1] = t10
    Sinv[1, 3] = Sinv[3, 1] = t11
    Sinv[2, 2] = v00
    Sinv[2, 3] = Sinv[3, 2] = v01
    Sinv[3, 3] = v11
    if a00 > 0.0 and detA > 0.0 and w00 > 0.0 and detW > 0.0:
        # log det S = log det A + log det W
        return math.log(abs(detA)) + math.log(abs(detW))
    return np.nan


@njit(**_opts)
def _inv_spd(S, m, Sinv):
    """S^-1 into Sinv and log det S for m = 3 or 4 (the radar's measurement sizes)."""
    if m == 3:
        return _inv3(S, Sinv)
    return _inv4(S, Sinv)


# --- one candidate ----------------------------------------------------------------------------
@njit(**_opts)
def _innovation_cov(H, P, R, m, n, HP, S):
    """HP = H P (m, n) and S = sym(HP H' + R) (m, m), full products (module docstring)."""
    for a in range(m):
        for b in range(n):
            s = 0.0
            for j in range(n):
                s += H[a, j] * P[j, b]
            HP[a, b] = s
    # HP H' + R, then symmetrised
    for a in range(m):
        for b in range(m):
            s = 0.0
            for j in range(n):
                s += HP[a, j] * H[b, j]
            S[a, b] = s + R[a, b]
    _symmetrize(S, m)


@njit(**_opts)
def _residuals(zr, zhat, m, Mr, nu):
    """nu_k = z_k - zhat (az, el wrapped to (-pi, pi]); NaN components (empty slots) -> 0."""
    for k in range(Mr):
        for i in range(m):
            d = zr[k, i] - zhat[i]
            if i == 1 or i == 2:
                d = _wrap(d)
            nu[k, i] = 0.0 if math.isnan(d) else d


@njit(**_opts)
def _mahalanobis(nu, Sinv, m, Mr, d2):
    """d2_k = sum_i sum_j (nu_i Sinv_ij) nu_j (np.einsum's order)."""
    for k in range(Mr):
        s = 0.0
        for i in range(m):
            for j in range(m):
                s += nu[k, i] * Sinv[i, j] * nu[k, j]
        d2[k] = s


# --- entry points -----------------------------------------------------------------------------
@njit(**_opts)
def innovations(x, P, zr, Hs, R, site, rot):
    """Gate quantities of C candidates against their reports (module docstring).

    x (C, n), P (C, n, n), zr (C, Mr, m); radar R (m, m), site (3,) [m], rot (3, 3) ECEF -> ENU;
    Hs (m, n) unused (``_measure``'s linear-sensor matrix). Returns (zhat, H, HP, S, Sinv,
    logdet, nu, d2, c0): c0 the first candidate at the radar site (range 0), or -1.
    """
    C, n = x.shape
    Mr, m = zr.shape[1], zr.shape[2]
    zhat = np.empty((C, m))
    H = np.empty((C, m, n))
    HP = np.empty((C, m, n))
    S = np.empty((C, m, m))
    Sinv = np.empty((C, m, m))
    logdet = np.empty(C)
    nu = np.empty((C, Mr, m))
    d2 = np.empty((C, Mr))
    c0 = -1
    for c in range(C):
        # zhat = h(x), H = dh/dx
        _measure(SENSOR_RADAR, Hs, site, rot, m, x[c], n, zhat[c], H[c])
        if zhat[c, 0] == 0.0 and c0 < 0:
            c0 = c
        _innovation_cov(H[c], P[c], R, m, n, HP[c], S[c])
        logdet[c] = _inv_spd(S[c], m, Sinv[c])
        _residuals(zr[c], zhat[c], m, Mr, nu[c])
        _mahalanobis(nu[c], Sinv[c], m, Mr, d2[c])
    return zhat, H, HP, S, Sinv, logdet, nu, d2, c0


@njit(**_opts)
def widened_gate(HPH, Rw, nu):
    """Gate widened to Rw: S_w = sym(HPH + Rw), S_w^-1, log det S_w, d2_w = nu' S_w^-1 nu.

    HPH (C, m, m) = H P H' (no R), Rw (m, m), nu (C, Mr, m). Returns (Sw, Swinv, logdet, d2).
    """
    C, m = HPH.shape[0], HPH.shape[1]
    Mr = nu.shape[1]
    Sw = np.empty((C, m, m))
    Swinv = np.empty((C, m, m))
    logdet = np.empty(C)
    d2 = np.empty((C, Mr))
    for c in range(C):
        for a in range(m):
            for b in range(m):
                Sw[c, a, b] = HPH[c, a, b] + Rw[a, b]
        _symmetrize(Sw[c], m)
        logdet[c] = _inv_spd(Sw[c], m, Swinv[c])
        _mahalanobis(nu[c], Swinv[c], m, Mr, d2[c])
    return Sw, Swinv, logdet, d2
