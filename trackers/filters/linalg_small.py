"""Batched linear algebra for the tiny matrices of tracking filters.

``np.linalg.inv/solve/cholesky`` on a stack of 3x3 matrices costs ~0.4 µs per stack element
(LAPACK call overhead per matrix) and dominates a batched filter step (docs/architecture.md,
"Speed"). The routines here are written out element by element over the leading batch axes,
so each line is one vectorised NumPy operation over all Monte Carlo runs:

- :func:`inv_spd` — inverse and log-determinant of a symmetric positive-definite matrix.
  Closed form (adjugate / Schur complement) for m <= 4, ``np.linalg`` beyond.
- :func:`cholesky_lower` — lower Cholesky factor L with L L' = P (Cholesky–Banachiewicz,
  loops over the n(n+1)/2 entries, each vectorised over the batch).
- :func:`symmetrize` — (P + P') / 2.

A matrix that is not positive definite gives NaN entries (not an exception): inside the hot
loop one bad run must not stop the other thousands; the runner reports NaN statistics for it.

References
----------
G. H. Golub, C. F. Van Loan, *Matrix Computations*, 4th ed., 2013, §4.2 (Cholesky), §3.2
(block / Schur-complement inverse).
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "cholesky_lower",
    "inv_spd",
    "matmul",
    "matvec",
    "quad_form",
    "selection_slice",
    "symmetrize",
]

#: Largest dimension handled by the closed-form inverse.
CLOSED_FORM_MAX = 4


def symmetrize(P: NDArray) -> NDArray:
    """(P + P^T) / 2 over the last two axes, ``(..., n, n)``."""
    return 0.5 * (P + P.swapaxes(-1, -2))


def _inv1(S: NDArray) -> tuple[NDArray, NDArray]:
    d = S[..., 0, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = (1.0 / d)[..., None, None]
        logdet = np.log(np.where(d > 0, d, np.nan))
    return inv, logdet


def _fill(shape: tuple[int, ...], m: int, entries: dict[tuple[int, int], NDArray]) -> NDArray:
    """Assemble a symmetric (..., m, m) array from its upper-triangle entries."""
    out = np.empty((*shape, m, m))
    for (i, j), v in entries.items():
        out[..., i, j] = v
        if i != j:
            out[..., j, i] = v
    return out


def _inv2(S: NDArray) -> tuple[NDArray, NDArray]:
    # inv [[a, b], [b, d]] = [[d, -b], [-b, a]] / (a d - b^2)
    a, b, d = S[..., 0, 0], 0.5 * (S[..., 0, 1] + S[..., 1, 0]), S[..., 1, 1]
    det = a * d - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 1.0 / det
        inv = _fill(det.shape, 2, {(0, 0): d * r, (0, 1): -b * r, (1, 1): a * r})
        logdet = np.log(np.where((det > 0) & (a > 0), det, np.nan))
    return inv, logdet


def _inv3(S: NDArray) -> tuple[NDArray, NDArray]:
    # Symmetric 3x3 [[a, b, c], [b, d, e], [c, e, f]]; inverse = adj(S) / det(S),
    # adj entries are the cofactors: A = d f - e^2, B = c e - b f, C = b e - c d,
    # D = a f - c^2, E = b c - a e, F = a d - b^2; det = a A + b B + c C.
    a, d, f = S[..., 0, 0], S[..., 1, 1], S[..., 2, 2]
    b = 0.5 * (S[..., 0, 1] + S[..., 1, 0])
    c = 0.5 * (S[..., 0, 2] + S[..., 2, 0])
    e = 0.5 * (S[..., 1, 2] + S[..., 2, 1])
    A = d * f - e * e
    B = c * e - b * f
    C = b * e - c * d
    D = a * f - c * c
    E = b * c - a * e
    F = a * d - b * b
    det = a * A + b * B + c * C
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 1.0 / det
        inv = _fill(
            det.shape,
            3,
            {
                (0, 0): A * r,
                (0, 1): B * r,
                (0, 2): C * r,
                (1, 1): D * r,
                (1, 2): E * r,
                (2, 2): F * r,
            },
        )
        # Sylvester: SPD iff the leading minors a, F = a d - b^2 and det are > 0.
        logdet = np.log(np.where((a > 0) & (F > 0) & (det > 0), det, np.nan))
    return inv, logdet


def _inv4(S: NDArray) -> tuple[NDArray, NDArray]:
    # Block inverse with S = [[A, B], [B', D]] (2x2 blocks), Schur complement W = D - B' A^-1 B:
    #   S^-1 = [[A^-1 + A^-1 B W^-1 B' A^-1, -A^-1 B W^-1], [-W^-1 B' A^-1, W^-1]],
    #   log det S = log det A + log det W.
    # Written out entry by entry (P = A^-1 B, T = -P W^-1 is the top-right block).
    S = symmetrize(S)
    a00, a01, a11 = S[..., 0, 0], S[..., 0, 1], S[..., 1, 1]
    b00, b01, b10, b11 = S[..., 0, 2], S[..., 0, 3], S[..., 1, 2], S[..., 1, 3]
    d00, d01, d11 = S[..., 2, 2], S[..., 2, 3], S[..., 3, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        detA = a00 * a11 - a01 * a01
        r = 1.0 / detA
        i00, i01, i11 = a11 * r, -a01 * r, a00 * r
        p00, p01 = i00 * b00 + i01 * b10, i00 * b01 + i01 * b11
        p10, p11 = i01 * b00 + i11 * b10, i01 * b01 + i11 * b11
        w00 = d00 - (b00 * p00 + b10 * p10)
        w01 = d01 - (b00 * p01 + b10 * p11)
        w11 = d11 - (b01 * p01 + b11 * p11)
        detW = w00 * w11 - w01 * w01
        rw = 1.0 / detW
        v00, v01, v11 = w11 * rw, -w01 * rw, w00 * rw
        t00, t01 = -(p00 * v00 + p01 * v01), -(p00 * v01 + p01 * v11)
        t10, t11 = -(p10 * v00 + p11 * v01), -(p10 * v01 + p11 * v11)
        inv = _fill(
            detA.shape,
            4,
            {
                (0, 0): i00 - (t00 * p00 + t01 * p01),
                (0, 1): i01 - (t00 * p10 + t01 * p11),
                (1, 1): i11 - (t10 * p10 + t11 * p11),
                (0, 2): t00,
                (0, 3): t01,
                (1, 2): t10,
                (1, 3): t11,
                (2, 2): v00,
                (2, 3): v01,
                (3, 3): v11,
            },
        )
        ok = (a00 > 0) & (detA > 0) & (w00 > 0) & (detW > 0)
        logdet = np.where(ok, np.log(np.abs(detA)) + np.log(np.abs(detW)), np.nan)
    return inv, logdet


_CLOSED = {1: _inv1, 2: _inv2, 3: _inv3, 4: _inv4}


def _inv_single(S: NDArray) -> tuple[NDArray, np.float64] | None:
    """The closed forms above for one ``(m, m)`` matrix, m <= 3, in Python floats.

    A shared covariance (linear KF, N = 1) has no batch axes: NumPy's per-call overhead on
    0-d operands would then be most of the cost. Same formulas and operation order as
    ``_inv1/2/3`` (bit-identical inverse); returns None when S is not positive definite, so
    that the caller takes the array path with its NaN conventions.
    """
    m = S.shape[-1]
    rows = S.tolist()
    if m == 3:
        (a, b01, c02), (b10, d, e12), (c20, e21, f) = rows
        b, c, e = 0.5 * (b01 + b10), 0.5 * (c02 + c20), 0.5 * (e12 + e21)
        A = d * f - e * e
        B = c * e - b * f
        C = b * e - c * d
        D = a * f - c * c
        E = b * c - a * e
        F = a * d - b * b
        det = a * A + b * B + c * C
        if not (a > 0 and F > 0 and det > 0):
            return None
        r = 1.0 / det
        inv = [[A * r, B * r, C * r], [B * r, D * r, E * r], [C * r, E * r, F * r]]
    elif m == 2:
        (a, b01), (b10, d) = rows
        b = 0.5 * (b01 + b10)
        det = a * d - b * b
        if not (a > 0 and det > 0):
            return None
        r = 1.0 / det
        inv = [[d * r, -b * r], [-b * r, a * r]]
    elif m == 1:
        det = rows[0][0]
        if not det > 0:
            return None
        inv = [[1.0 / det]]
    else:
        return None
    return np.array(inv), np.float64(math.log(det))


def inv_spd(S: NDArray) -> tuple[NDArray, NDArray]:
    """Inverse and log-determinant of symmetric positive-definite matrices.

    Parameters
    ----------
    S : (..., m, m) array
        Symmetric positive-definite (only the symmetric part is used for m <= 4).

    Returns
    -------
    inv : (..., m, m) array
        S^-1 (closed form for m <= 4: adjugate / det for m <= 3, 2x2-block Schur complement
        for m = 4).
    logdet : (...) array
        log det S; NaN where S is not positive definite (Sylvester's criterion for m <= 3).
    """
    S = np.asarray(S, dtype=float)
    m = S.shape[-1]
    if S.ndim == 2 and m <= 3:
        single = _inv_single(S)
        if single is not None:
            # logdet is a NumPy scalar here, used like the () array of the general case
            return cast("tuple[NDArray, NDArray]", single)
    fn = _CLOSED.get(m)
    if fn is not None:
        return fn(S)
    L = cholesky_lower(S)
    ok = np.all(np.isfinite(L), axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        logdet = 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
    inv = np.linalg.inv(np.where(ok[..., None, None], S, np.eye(m)))
    return np.where(ok[..., None, None], inv, np.nan), np.where(ok, logdet, np.nan)


#: Batches smaller than this use LAPACK for n > 3 (its per-matrix cost, ~0.4 us, is then
#: below the fixed cost of the ~5 n NumPy calls of the written-out loop).
CHOLESKY_LAPACK_BELOW = 128


def cholesky_lower(P: NDArray) -> NDArray:
    """Lower Cholesky factor L (L L^T = P) of SPD matrices ``(..., n, n)``, batched.

    Cholesky–Banachiewicz, column by column:
        L_jj = sqrt(P_jj - sum_{k<j} L_jk^2),
        L_ij = (P_ij - sum_{k<j} L_ik L_jk) / L_jj   (i > j).
    Each entry is one vectorised operation over the batch, with the batch axis last (so the
    operands are contiguous rows): ~2x faster than LAPACK's per-matrix calls for 1000 6x6
    matrices. Used for n <= 3, for batches of at least ``CHOLESKY_LAPACK_BELOW`` matrices,
    and as the fallback when some member is not PD; entries become NaN where P is not
    positive definite, so one bad Monte Carlo run does not stop the others.
    """
    P = np.asarray(P, dtype=float)
    n = P.shape[-1]
    batch = P.shape[:-2]
    size = math.prod(batch)
    if n > 3 and size < CHOLESKY_LAPACK_BELOW:
        # LAPACK for small batches; the loop (NaN for the non-PD members only) when any
        # member of the batch is not PD.
        try:
            return np.linalg.cholesky(P)
        except np.linalg.LinAlgError:
            pass
    # (n, n, M): P[i, j] is a contiguous row over the M batch members
    Pt = np.ascontiguousarray(np.moveaxis(P.reshape(size, n, n), 0, -1))
    L = np.zeros_like(Pt)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(n):
            Lj = L[j, :j]  # (j, M)
            d = Pt[j, j] - (Lj * Lj).sum(axis=0) if j else Pt[j, j]
            ljj = np.sqrt(np.where(d > 0, d, np.nan))
            L[j, j] = ljj
            if j + 1 < n:
                # column j below the diagonal: (P[i, j] - L[i, :j] . L[j, :j]) / L[j, j]
                s = Pt[j + 1 :, j] - (L[j + 1 :, :j] * Lj).sum(axis=1) if j else Pt[j + 1 :, j]
                L[j + 1 :, j] = s / ljj
    return np.ascontiguousarray(np.moveaxis(L, -1, 0)).reshape(P.shape)


def quad_form(v: NDArray, M: NDArray) -> NDArray:
    """v^T M v over the batch: ``(..., m), (..., m, m) -> (...)`` (M may be shared ``(m, m)``)."""
    return (matvec(M, v) * v).sum(axis=-1)


_SELECTION_CACHE: dict[int, tuple[NDArray, slice | None]] = {}


def selection_slice(H: NDArray) -> slice | None:
    """``slice(c, c + m)`` if H ``(m, n)`` is ``[0, I_m, 0]`` (H X = X[c:c + m]), else None.

    A measurement matrix that picks consecutive state components (positions) makes H P H',
    P H' and H x slices instead of products; the slices are exact (the products only add
    zeros), except that a non-finite entry outside the picked columns does not spread.
    Only an immutable H (read-only, owning its data, e.g. ``LinearPosition.matrix()``) is
    recognised; the answer is cached by identity, so the check costs one dict lookup.
    """
    if H.ndim != 2 or H.flags.writeable or H.base is not None:
        return None
    hit = _SELECTION_CACHE.get(id(H))
    if hit is not None and hit[0] is H:
        return hit[1]
    m, n = H.shape
    c = int(np.argmax(H[0])) if n else 0
    sl = slice(c, c + m) if c + m <= n and np.array_equal(H, np.eye(m, n, k=c)) else None
    if len(_SELECTION_CACHE) >= 64:
        _SELECTION_CACHE.clear()
    _SELECTION_CACHE[id(H)] = (H, sl)
    return sl


def _unbroadcast(A: NDArray) -> NDArray:
    """The single (k, m) matrix behind a ``np.broadcast_to`` view (all batch strides 0).

    An empty stack is returned as is: NumPy gives empty arrays all-zero strides.
    """
    if A.ndim > 2 and A.size and all(st == 0 for st in A.strides[:-2]):
        return A[(0,) * (A.ndim - 2)]
    return A


def matmul(A: NDArray, B: NDArray) -> NDArray:
    """A @ B over the last two axes, using one large GEMM when an operand is shared.

    ``np.matmul`` on a stack of tiny matrices makes one small product per stack element;
    when the right (left) operand is a single ``(k, m)`` matrix shared by the whole batch
    (also a ``np.broadcast_to`` view of one), the stack is reshaped into one
    ``(N k', k) @ (k, m)`` BLAS call instead (3-5x faster). The result broadcasts as ``@``.
    """
    if A.ndim == 2 and B.ndim == 2:
        return A @ B
    A, B = _unbroadcast(A), _unbroadcast(B)
    if B.ndim == 2 and A.ndim > 2:
        return (A.reshape(-1, A.shape[-1]) @ B).reshape(*A.shape[:-1], B.shape[-1])
    if A.ndim == 2 and B.ndim > 2:
        # A @ B = (B' A')'
        Bt = np.swapaxes(B, -1, -2)
        out = (Bt.reshape(-1, Bt.shape[-1]) @ A.T).reshape(*Bt.shape[:-1], A.shape[0])
        return np.swapaxes(out, -1, -2)
    return A @ B


def matvec(M: NDArray, v: NDArray) -> NDArray:
    """M v over the batch ``(..., n, k), (..., k) -> (..., n)``; a shared ``(n, k)`` M: one GEMM."""
    if M.ndim > 2:
        M = _unbroadcast(M)
    if M.ndim == 2:
        return v @ M.T
    return (M @ v[..., None])[..., 0]
