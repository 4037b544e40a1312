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

Shapes: ``x`` is ``(..., n)``; ``dt`` a float or an array broadcastable to ``(...)``; ``t`` a
float or array broadcastable to ``(...)`` (seconds since the scenario epoch).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: f(x, t) -> x' with x (..., n), t broadcastable to (...).
Dynamics = Callable[[NDArray, NDArray], NDArray]
#: f(x, t) -> (x', A = df/dx) with A (..., n, n).
DynamicsWithJacobian = Callable[[NDArray, NDArray], tuple[NDArray, NDArray]]


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


def rk4(f: Dynamics, x: ArrayLike, dt: ArrayLike, t: ArrayLike = 0.0, max_step: float = 1.0):
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
        x = x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
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
    phi = None  # identity before the first substep (A I = A: one product saved)
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
        x = x + h1 / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        phi = phi + h2 / 6.0 * (p1 + 2.0 * p2 + 2.0 * p3 + p4)
        tt = tt + hs
    return x, phi


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
