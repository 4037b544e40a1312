"""Cheap input checks at the boundary of public filter functions (never inside the time loop).

Each check raises ``ValueError`` naming the argument, what it got and what it expected.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trackers.filters.gaussian import Gaussian
from trackers.filters.linalg_small import cholesky_lower

__all__ = ["check_covariance", "check_finite", "check_gaussian", "check_times"]


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
