"""Fixed-step RK4 for continuous-time motion models, with the variational equations.

A continuous model x' = f(x, t) is discretised over an interval dt by ``n`` classical
Runge-Kutta substeps of length h = dt / n, n = ceil(max|dt| / max_step) (the same count for
every batch element, so each element's substep is <= ``max_step``; elements may have different
dt, including 0 or negative):

    k1 = f(x, t)
    k2 = f(x + h/2 k1, t + h/2)
    k3 = f(x + h/2 k2, t + h/2)
    k4 = f(x + h k3, t + h)
    x(t + h) = x + h/6 (k1 + 2 k2 + 2 k3 + k4)

The state-transition matrix Phi = d x(t + dt) / d x(t) solves the variational equation

    Phi' = A(x(t), t) Phi,   Phi(t) = I,   A = df/dx,

integrated with the same RK4 substeps, stages evaluated at the same stage states as the mean.
For an explicit Runge-Kutta method this gives exactly the Jacobian of the discrete RK4 map
(the discretisation and differentiation commute, "internal numerical differentiation":
Hairer, Norsett & Wanner, *Solving ODEs I*, §II.6; Bock 1981), so the EKF linearises precisely
the mean propagation it uses and finite differences of :func:`rk4` agree with
:func:`rk4_with_jacobian` to rounding.

Kinematic models (state [r (3), v (3), p (k)] with r' = v and p' = 0, e.g. the ballistic
model) may return their Jacobian as a :class:`KinematicJacobian` (its non-trivial blocks);
the products A Phi then skip the known zero and identity blocks (same result up to the order
of floating-point additions).

Shapes: ``x`` is ``(..., n)``; ``dt`` a float or an array broadcastable to ``(...)``; ``t`` a
float or array broadcastable to ``(...)`` (seconds since the scenario epoch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: f(x, t) -> x' with x (..., n), t broadcastable to (...).
Dynamics = Callable[[NDArray, NDArray], NDArray]
#: f(x, t) -> (x', A = df/dx) with A (..., n, n) or a :class:`KinematicJacobian`.
DynamicsWithJacobian = Callable[[NDArray, NDArray], tuple[NDArray, NDArray]]


class KinematicJacobian(NamedTuple):
    """A = df/dx of a state x = [r (3), v (3), p (k)] with r' = v and p' = 0, by blocks:

        A = [[0, I, 0], [A_r, A_v, A_p], [0, 0, 0]]

    so that A M = [M_v; A_r M_r + A_v M_v + A_p M_p; 0] for M = [M_r; M_v; M_p] (row blocks):
    one (3 x 3)(3 x n) product per batch element instead of an (n x n)(n x n) one
    (:meth:`lower`).

    Blocks are stored *batch-last* ("structure of arrays"): entry (i, j) of every batch
    element is one contiguous ``(...)`` vector, so the products are a few long vector
    operations (NumPy's stacked ``@`` on 3 x 3 / 6 x 6 matrices costs ~100 ns per element,
    the vector form ~4x less).

    Attributes
    ----------
    ar : (3, 3, ...) array
        d v' / d r.
    av : (3, 3) or (3, 3, ...) array
        d v' / d v; a shared (3, 3) matrix is applied by its non-zero entries (e.g. the two
        Coriolis terms).
    ap : (3, k, ...) array or None
        d v' / d p (None: k = 0).
    """

    ar: NDArray
    av: NDArray
    ap: NDArray | None = None

    @property
    def n(self) -> int:
        return 6 if self.ap is None else 6 + self.ap.shape[1]

    def dense(self) -> NDArray:
        """A batch-last, ``(n, n, ...)``."""
        n, batch = self.n, self.ar.shape[2:]
        a = np.zeros((n, n) + batch)
        a[0, 3] = a[1, 4] = a[2, 5] = 1.0
        a[3:6, 0:3] = self.ar
        a[3:6, 3:6] = self.av.reshape(self.av.shape + (1,) * (a.ndim - self.av.ndim))
        if self.ap is not None:
            a[3:6, 6:] = self.ap
        return a

    def lower(self, mr: NDArray, mv: NDArray) -> NDArray:
        """Row block v of A M: A_r M_r + A_v M_v + A_p M_p, ``(3, n, ...)``.

        ``mr``, ``mv``: row blocks r and v of M ``(3, n, ...)``; M_p = [0, I] (the rows of
        the constant parameters in Phi and every RK4 stage input, since p' = 0).
        """
        # einsum over the batch-last blocks: the same products and sum order as
        # A_r[:, 0] M_r[0] + A_r[:, 1] M_r[1] + A_r[:, 2] M_r[2], ~5x faster than broadcasting
        out = np.einsum("ik...,kj...->ij...", self.ar, mr)
        return self._add_v_p(out, mv)

    def lower_unit(self, c: NDArray, mv: NDArray) -> NDArray:
        """:meth:`lower` for M_r = [I, c I, 0] (RK4 stage 2 from Phi = I): A_r M_r is
        [A_r, c A_r, 0], no products needed (the same values as :meth:`lower`)."""
        out = np.zeros(np.broadcast_shapes(mv.shape, (3, mv.shape[1]) + self.ar.shape[2:]))
        out[:, 0:3] = self.ar
        out[:, 3:6] = c * self.ar
        return self._add_v_p(out, mv)

    def _add_v_p(self, out: NDArray, mv: NDArray) -> NDArray:
        """out += A_v M_v + A_p M_p (M_p = [0, I])."""
        if self.av.ndim == 2:
            for i, k in zip(*np.nonzero(self.av), strict=True):
                out[i] += self.av[i, k] * mv[k]
        else:
            out += np.einsum("ik...,kj...->ij...", self.av, mv)
        if self.ap is not None:
            out[:, 6:] += self.ap
        return out


def substeps(dt: ArrayLike, max_step: float) -> tuple[int, NDArray]:
    """Number of substeps n = ceil(max|dt| / max_step) (at least 1) and substep h = dt / n.

    Parameters
    ----------
    dt : float or array (...,)
        Interval(s) [s].
    max_step : float
        Largest allowed substep [s], > 0.
    """
    if not (np.isfinite(max_step) and max_step > 0):
        raise ValueError(f"max_step must be a finite number > 0 s, got {max_step!r}")
    dt = np.asarray(dt, float)
    if not np.all(np.isfinite(dt)):
        raise ValueError(f"dt must be finite, got {dt!r}")
    n = max(1, int(np.ceil(np.max(np.abs(dt)) / max_step - 1e-12))) if dt.size else 1
    return n, dt / n


def rk4(
    f: Dynamics, x: ArrayLike, dt: ArrayLike, t: ArrayLike = 0.0, max_step: float = 1.0
) -> NDArray:
    """Propagate x' = f(x, t) from t over dt with RK4 substeps; returns ``(..., n)``."""
    x = np.asarray(x, float)
    n, h = substeps(dt, max_step)
    h = h[..., None]  # broadcast over the state axis
    tt = np.asarray(t, float)
    hs = h[..., 0]
    for _ in range(n):
        k1 = f(x, tt)
        k2 = f(x + 0.5 * h * k1, tt + 0.5 * hs)
        k3 = f(x + 0.5 * h * k2, tt + 0.5 * hs)
        k4 = f(x + h * k3, tt + hs)
        x = cast(NDArray, x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4))
        tt = tt + hs
    return x


def rk4_with_jacobian(
    fj: DynamicsWithJacobian,
    x: ArrayLike,
    dt: ArrayLike,
    t: ArrayLike = 0.0,
    max_step: float = 1.0,
) -> tuple[NDArray, NDArray]:
    """RK4 for the mean and the variational equation Phi' = A Phi along the same substeps.

    Returns ``(x1 (..., n), Phi (..., n, n))`` where Phi = d x1 / d x0 of the RK4 map.
    """
    x = np.asarray(x, float)
    n_sub, h = substeps(dt, max_step)
    h1 = h[..., None]
    h2 = h[..., None, None]
    hs = h
    tt = np.asarray(t, float)
    nx = x.shape[-1]
    phi: NDArray | None = None  # identity before the first substep (A I = A: one product saved)
    for _ in range(n_sub):
        k1, a1 = fj(x, tt)
        if phi is None:
            phi = np.broadcast_to(np.eye(nx), a1.shape)
            p1 = a1
        else:
            p1 = a1 @ phi
        k2, a2 = fj(x + 0.5 * h1 * k1, tt + 0.5 * hs)
        p2 = a2 @ (phi + 0.5 * h2 * p1)
        k3, a3 = fj(x + 0.5 * h1 * k2, tt + 0.5 * hs)
        p3 = a3 @ (phi + 0.5 * h2 * p2)
        k4, a4 = fj(x + h1 * k3, tt + hs)
        p4 = a4 @ (phi + h2 * p3)
        x = cast(NDArray, x + h1 / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4))
        phi = phi + h2 / 6.0 * (p1 + 2.0 * p2 + 2.0 * p3 + p4)
        tt = tt + hs
    assert phi is not None  # substeps() gives n_sub >= 1
    return x, phi


def rk4_with_kinematic_jacobian(
    fjk: Callable[[NDArray, NDArray], tuple[NDArray, KinematicJacobian]],
    x: ArrayLike,
    dt: ArrayLike,
    t: ArrayLike = 0.0,
    max_step: float = 1.0,
) -> tuple[NDArray, NDArray]:
    """:func:`rk4_with_jacobian` for models whose A is a :class:`KinematicJacobian`.

    The same RK4 stages and variational products, by row blocks of Phi = [Phi_r; Phi_v;
    Phi_p]. With A = [[0, I, 0], [A_r, A_v, A_p], [0, 0, 0]] the stage products
    p_s = A_s M_s of the stage inputs M_1 = Phi, M_s = Phi + c_s h p_{s-1} (c = 1/2, 1/2, 1)
    have the row blocks p_s,r = M_s,v, p_s,v = L_s = A_r M_s,r + A_v M_s,v + A_p M_s,p and
    p_s,p = 0, so Phi_p = [0, I] throughout and, per substep,

        M_s,r = Phi_r + c_s h M_{s-1},v          M_s,v = Phi_v + c_s h L_{s-1}
        Phi_r <- Phi_r + h/6 (M_1,v + 2 M_2,v + 2 M_3,v + M_4,v)
        Phi_v <- Phi_v + h/6 (L_1 + 2 L_2 + 2 L_3 + L_4)

    The blocks are kept batch-last ``(3, n, ...)`` (per-run dt broadcasts on the trailing
    axes). Returns ``(x1 (..., n), Phi (..., n, n))``, equal to :func:`rk4_with_jacobian` with
    the dense A up to the order of floating-point additions (tested).
    """
    x = np.asarray(x, float)
    n_sub, h = substeps(dt, max_step)
    tt = np.asarray(t, float)
    h1 = h[..., None]
    nx = x.shape[-1]
    batch = np.broadcast_shapes(x.shape[:-1], h.shape)
    ones = (1,) * len(batch)
    eye = np.eye(nx).reshape((nx, nx) + ones)
    phi_r: NDArray | None = None
    phi_v: NDArray | None = None  # identity rows before the first substep
    half = 0.5 * h
    sixth = h / 6.0
    for _ in range(n_sub):
        k1, a1 = fjk(x, tt)
        first = phi_r is None
        if first:
            phi_r = np.broadcast_to(eye[0:3], (3, nx) + batch)
            phi_v = np.broadcast_to(eye[3:6], (3, nx) + batch)
            # L_1 = A_1 rows v (Phi = I)
            l1 = np.zeros((3, nx) + batch)
            l1[:, 0:3] = a1.ar
            l1[:, 3:6] = a1.av.reshape(a1.av.shape + (1,) * (l1.ndim - a1.av.ndim))
            if a1.ap is not None:
                l1[:, 6:] = a1.ap
        else:
            assert phi_r is not None and phi_v is not None  # set on the first substep
            l1 = a1.lower(phi_r, phi_v)
        k2, a2 = fjk(x + 0.5 * h1 * k1, tt + half)
        mv2 = phi_v + half * l1
        # M_2,r = Phi_r + h/2 Phi_v = [I, h/2 I, 0] while Phi = I (first substep)
        l2 = a2.lower_unit(half, mv2) if first else a2.lower(phi_r + half * phi_v, mv2)
        k3, a3 = fjk(x + 0.5 * h1 * k2, tt + half)
        mv3 = phi_v + half * l2
        l3 = a3.lower(phi_r + half * mv2, mv3)
        k4, a4 = fjk(x + h1 * k3, tt + h)
        mv4 = phi_v + h * l3
        l4 = a4.lower(phi_r + h * mv3, mv4)
        x = cast(NDArray, x + h1 / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4))
        # Phi_r += h/6 (M_1,v + 2 M_2,v + 2 M_3,v + M_4,v), likewise Phi_v with the L_s
        mv2 += mv3
        mv2 *= 2.0
        mv2 += phi_v
        mv2 += mv4
        mv2 *= sixth
        l2 += l3
        l2 *= 2.0
        l2 += l1
        l2 += l4
        l2 *= sixth
        phi_r = phi_r + mv2
        phi_v = phi_v + l2
        tt = tt + h
    # back to (..., n, n): rows 0:3 / 3:6 of each matrix are its entries [0, 3n) / [3n, 6n),
    # written as two (B, 3n) <- (3n, B)' transposes (about 2x faster than moveaxis copies)
    assert phi_r is not None and phi_v is not None  # substeps() gives n_sub >= 1
    flat = np.empty((int(np.prod(batch, dtype=int)), nx * nx))
    flat[:, : 3 * nx] = np.broadcast_to(phi_r, (3, nx) + batch).reshape(3 * nx, -1).T
    flat[:, 3 * nx : 6 * nx] = np.broadcast_to(phi_v, (3, nx) + batch).reshape(3 * nx, -1).T
    flat[:, 6 * nx :] = np.eye(nx)[6:].ravel()
    return x, flat.reshape(batch + (nx, nx))


def van_loan(a: ArrayLike, qc: ArrayLike, dt: float) -> tuple[NDArray, NDArray]:
    """Discretise x' = A x + w, E[w w'] = Qc delta(t - s), exactly over dt (Van Loan 1978).

    With M = [[-A, Qc], [0, A']] dt and expm(M) = [[., G12], [0, G22]]:
    Phi = G22', Q = Phi G12. Used to check closed-form process-noise matrices.

    C. F. Van Loan, "Computing integrals involving the matrix exponential", IEEE TAC 23(3),
    1978. Shapes: ``a``, ``qc`` ``(n, n)``; returns ``(Phi, Q)``, each ``(n, n)``.
    """
    from scipy.linalg import expm

    a = np.asarray(a, float)
    qc = np.asarray(qc, float)
    n = a.shape[-1]
    m = np.zeros((2 * n, 2 * n))
    m[:n, :n] = -a
    m[:n, n:] = qc
    m[n:, n:] = a.T
    g = expm(m * dt)
    phi = g[n:, n:].T
    return phi, phi @ g[:n, n:]
