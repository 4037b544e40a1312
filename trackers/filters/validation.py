"""Cheap input checks at the boundary of public filter functions.

Each check raises ``ValueError`` naming the argument, what it got and what it expected.

Two kinds of callers:

- whole-run entry points (:func:`trackers.filters.runner.run`) validate everything once,
  before the time loop (:func:`check_gaussian`, :func:`check_times`, ...);
- the per-step calls (``KF/EKF/UKF/CKF.predict/update``, hence ``Filter.predict/update``,
  and ``IMM.predict/update``) check their own arguments on every call
  (:func:`check_dt`, :func:`check_measurement`, :func:`check_belief`,
  :func:`check_probabilities`). These per-step checks are O(batch) reductions, no
  factorisation: dt >= 0 and finite; z without +-inf (NaN = missed detection: a row with any
  NaN component counts as missed as a whole); covariance square, matching the mean, finite,
  with a non-negative diagonal (a cheap necessary condition for positive semi-definiteness).
  ``check=True`` on those calls adds the full test of :func:`check_covariance` (symmetry and a
  Cholesky factorisation), which costs about one more filter step.

Inside a block ``with trusted():`` the per-step checks are skipped (``check=True`` still
applies): :func:`~trackers.filters.runner.run` validated its inputs up front and runs its time
loop that way, and the IMM calls its rules that way after checking its own belief. Inside
``run`` the checks would only re-check what the filter produced, at a cost (N = 1000 runs,
the workloads of ``benchmarks/speed.py``) of 0.3-3 % of a step with per-run covariances and
~9 % of a linear KF step with a shared covariance.
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trackers.filters.gaussian import Gaussian
from trackers.filters.linalg_small import cholesky_lower

__all__ = [
    "PROB_ATOL",
    "check_belief",
    "check_covariance",
    "check_dt",
    "check_finite",
    "check_gaussian",
    "check_measurement",
    "check_probabilities",
    "check_times",
    "per_step_checks",
    "trusted",
]

#: Tolerance on |sum_j mu_j - 1| of IMM mode probabilities checked per step (the prediction
#: c = P' mu keeps the sum within ~1e-9 per step for a transition matrix valid to 1e-9).
PROB_ATOL = 1e-6

#: Relative size of a negative variance still taken for round-off around 0 (check_belief).
_VAR_RTOL = 1e-10

_TRUSTED: ContextVar[bool] = ContextVar("trackers_filters_trusted", default=False)


class trusted:  # lower case: used like a function, ``with trusted(): ...``
    """Skip the per-step input checks of predict/update inside the block.

    For callers that validated their inputs once (``run``) or produced them themselves (the
    IMM's calls of its mode rules). Nested blocks are fine; the previous state is restored on
    exit, also after an exception. Thread- and task-local (a :class:`contextvars.ContextVar`).
    """

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _TRUSTED.set(True)

    def __exit__(self, *exc: object) -> None:
        _TRUSTED.reset(self._token)


def per_step_checks() -> bool:
    """True unless inside :func:`trusted` (the per-step checks are then skipped)."""
    return not _TRUSTED.get()


def check_finite(name: str, a: NDArray) -> NDArray:
    """Array of floats with no NaN/inf, else ValueError naming ``name``."""
    a = np.asarray(a, dtype=float)
    if not np.all(np.isfinite(a)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"{name} must be finite; found {a[bad]} at index {bad}")
    return a


def check_covariance(
    name: str, P: NDArray, n: int | None = None, *, rtol: float = 1e-8, allow_singular: bool = True
) -> NDArray:
    """Covariance check: shape (..., n, n), finite, symmetric (to rtol), positive semi-definite.

    PSD is tested with a Cholesky factorisation of P + eps I, eps = 1e-10 max|diag P| (so that
    exactly singular covariances such as a zero process noise pass when ``allow_singular``).
    """
    P = np.asarray(P, dtype=float)
    if P.ndim < 2 or P.shape[-1] != P.shape[-2]:
        raise ValueError(f"{name} must be square (..., n, n), got shape {P.shape}")
    if n is not None and P.shape[-1] != n:
        raise ValueError(f"{name} must be (..., {n}, {n}), got shape {P.shape}")
    check_finite(name, P)
    if P.size == 0:
        return P
    scale = np.max(np.abs(P), axis=(-2, -1), keepdims=True)
    asym = np.abs(P - np.swapaxes(P, -1, -2))
    if np.any(asym > rtol * np.maximum(scale, np.finfo(float).tiny)):
        raise ValueError(
            f"{name} must be symmetric; max |P - P'| = {asym.max():.3g} "
            f"(relative tolerance {rtol:g})"
        )
    d = np.max(np.abs(np.diagonal(P, axis1=-2, axis2=-1)), axis=-1, keepdims=True)[..., None]
    jitter = (1e-10 * d + np.finfo(float).tiny) if allow_singular else 0.0
    L = cholesky_lower(P + jitter * np.eye(P.shape[-1]))
    if not np.all(np.isfinite(L)):
        w = np.linalg.eigvalsh(P).min()
        raise ValueError(f"{name} must be positive semi-definite; smallest eigenvalue {w:.3g}")
    return P


def check_gaussian(name: str, g: Gaussian, n: int | None = None) -> Gaussian:
    """A ``Gaussian`` with mean (..., n) and cov (..., n, n), finite, covariance valid."""
    if not isinstance(g, Gaussian):
        raise TypeError(f"{name} must be a trackers.filters.Gaussian, got {type(g).__name__}")
    mean = check_finite(f"{name}.mean", g.mean)
    if mean.ndim < 1:
        raise ValueError(f"{name}.mean must be (..., n), got shape {mean.shape}")
    nn = mean.shape[-1] if n is None else n
    if mean.shape[-1] != nn:
        raise ValueError(f"{name}.mean must be (..., {nn}), got shape {mean.shape}")
    cov = check_covariance(f"{name}.cov", g.cov, nn)
    try:
        np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
    except ValueError:
        raise ValueError(
            f"{name}.mean {mean.shape} and {name}.cov {cov.shape} have incompatible batch axes"
        ) from None
    return Gaussian(mean, cov)


def check_times(name: str, t: NDArray, t0: float | None = None) -> NDArray:
    """1-D finite, nondecreasing times [s], not before ``t0``."""
    t = np.asarray(t, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D (T,), got shape {t.shape}")
    check_finite(name, t)
    dt = np.diff(t)
    if np.any(dt < 0):
        k = int(np.argmax(dt < 0))
        raise ValueError(
            f"{name} must be nondecreasing; {name}[{k + 1}] = {t[k + 1]} < {name}[{k}] = {t[k]}"
        )
    if t0 is not None and t.size and t[0] < t0:
        raise ValueError(f"{name}[0] = {t[0]} is before the prior time t0 = {t0}")
    return t


def check_dt(dt: Any, name: str = "dt") -> Any:
    """Time step [s]: a finite number >= 0, or an array of them (returned unchanged).

    A Python / NumPy float or int is checked without creating an array (~0.1 us).
    """
    if isinstance(dt, bool):
        raise TypeError(f"{name} must be a time step in s, got the bool {dt!r}")
    if isinstance(dt, float | int):
        if 0.0 <= dt < math.inf:
            return dt
        if not math.isfinite(dt):
            raise ValueError(f"{name} must be finite [s], got {dt!r}")
        raise ValueError(f"{name} must be >= 0 s (filters run forward in time), got {dt!r}")
    try:
        a = np.asarray(dt, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a float or an array of floats [s], got {dt!r}") from None
    if not np.all(np.isfinite(a)):
        i = tuple(int(v) for v in np.argwhere(~np.isfinite(a))[0]) if a.ndim else ()
        raise ValueError(f"{name} must be finite [s]; found {a[i]} at index {i}")
    if np.any(a < 0.0):
        i = tuple(int(v) for v in np.argwhere(a < 0.0)[0]) if a.ndim else ()
        raise ValueError(
            f"{name} must be >= 0 s (filters run forward in time); found {a[i]} at index {i}"
        )
    return dt


def check_measurement(name: str, z: Any, m: int | None = None) -> NDArray:
    """Measurements ``(..., m)`` as floats: no +-inf, last axis m (NaN allowed: missed).

    A row with any NaN component is a missed detection as a whole (the filters' rule, see
    :func:`trackers.filters.gaussian.missed_mask`): a partially-NaN row is not used at all.
    """
    z = np.asarray(z, dtype=float)
    if z.ndim < 1 or (m is not None and z.shape[-1] != m):
        want = "m" if m is None else str(m)
        raise ValueError(f"{name} must be (..., {want}) measurements, got shape {z.shape}")
    if np.isinf(z).any():
        i = tuple(int(v) for v in np.argwhere(np.isinf(z))[0])
        raise ValueError(
            f"{name} must not contain +-inf (NaN marks a missed detection); found {z[i]} at "
            f"index {i}"
        )
    return z


def check_belief(name: str, g: Gaussian, *, full: bool = False) -> Gaussian:
    """Per-step check of a Gaussian belief (cheap; ``full=True``: :func:`check_covariance`).

    Mean ``(..., n)`` and covariance ``(..., n, n)``: square, matching n, finite, diagonal
    >= 0 (variances; a negative one means the covariance is indefinite; round-off down to
    -1e-10 times the matrix's largest variance is tolerated, as in :func:`check_covariance`).
    With ``full``, also symmetric (rtol 1e-8) and positive semi-definite by a Cholesky
    factorisation.
    """
    mean, P = g.mean, g.cov
    if not isinstance(P, np.ndarray) or not isinstance(mean, np.ndarray):
        mean, P = np.asarray(mean, dtype=float), np.asarray(P, dtype=float)
    if P.ndim < 2 or P.shape[-1] != P.shape[-2]:
        raise ValueError(f"{name}.cov must be square (..., n, n), got shape {P.shape}")
    if mean.ndim < 1 or mean.shape[-1] != P.shape[-1]:
        raise ValueError(
            f"{name}.mean must be (..., {P.shape[-1]}) to match {name}.cov {P.shape}, got "
            f"shape {mean.shape}"
        )
    if not np.isfinite(mean).all():
        check_finite(f"{name}.mean", mean)
    if full:
        check_covariance(f"{name}.cov", P)
        return g
    if not np.isfinite(P).all():
        check_finite(f"{name}.cov", P)
    d = np.diagonal(P, axis1=-2, axis2=-1)
    if d.size and d.min() < 0.0:
        # round-off below a zero variance (-1e-10 of the matrix's largest variance, the
        # jitter of check_covariance) is tolerated; anything more negative is indefinite
        bad = d < -_VAR_RTOL * np.abs(d).max(axis=-1, keepdims=True)
        if bad.any():
            i = tuple(int(v) for v in np.argwhere(bad)[0])
            raise ValueError(
                f"{name}.cov must be positive semi-definite; negative variance {d[i]:.6g} on "
                f"the diagonal at index {i[:-1]}, component {i[-1]}"
            )
    return g


def check_probabilities(name: str, p: Any, m: int | None = None) -> NDArray:
    """Mode probabilities ``(..., M)``: finite, >= 0, each row summing to 1 (``PROB_ATOL``)."""
    p = np.asarray(p, dtype=float)
    if p.ndim < 1 or (m is not None and p.shape[-1] != m):
        want = "M" if m is None else str(m)
        raise ValueError(f"{name} must be (..., {want}) mode probabilities, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        i = tuple(int(v) for v in np.argwhere(~np.isfinite(p))[0])
        raise ValueError(f"{name} must be finite; found {p[i]} at index {i}")
    if p.size and p.min() < 0.0:
        i = tuple(int(v) for v in np.argwhere(p < 0.0)[0])
        raise ValueError(f"{name} must be >= 0; found {p[i]} at index {i}")
    err = np.abs(p.sum(axis=-1) - 1.0)
    if err.size and err.max() > PROB_ATOL:
        i = tuple(int(v) for v in np.argwhere(err > PROB_ATOL)[0])
        raise ValueError(
            f"{name} must sum to 1 over the modes (within {PROB_ATOL:g}); row {i} sums to "
            f"{float(p[i].sum()):.12g}"
        )
    return p
