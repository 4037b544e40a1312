"""Numerical Jacobians by central differences, batched (fallback and check for analytic ones).

    J[..., i, j] = (f(x + h_j e_j)_i - f(x - h_j e_j)_i) / (2 h_j),
    h_j = eps^(1/3) * max(|x_j|, scale_j)

The truncation error is O(h^2) and the round-off error O(eps / h); h ~ eps^(1/3) balances them
(Nocedal & Wright, *Numerical Optimization*, 2nd ed., §8.1). All 2n perturbed states are
evaluated in one batched call of ``f``, so the cost is one call on a ``(..., 2n, n)`` array.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from trackers.models.base import wrap_angle

__all__ = ["numerical_jacobian"]

_EPS3 = np.finfo(float).eps ** (1.0 / 3.0)


def numerical_jacobian(
    fun: Callable[[NDArray], NDArray],
    x: NDArray,
    *,
    scale: float | NDArray = 1.0,
    rel_step: float = _EPS3,
    angle_indices: tuple[int, ...] = (),
) -> NDArray:
    """Central-difference Jacobian of a batched function.

    Parameters
    ----------
    fun : callable
        ``(..., n) -> (..., m)``; must accept extra leading axes.
    x : (..., n) array
        Point of linearisation.
    scale : float or (n,) array
        Typical magnitude of each state component; the step is
        ``rel_step * max(|x_j|, scale_j)`` (absolute step for components near 0).
    rel_step : float
        Relative step, eps^(1/3) ~ 6e-6 by default.
    angle_indices : tuple of int
        Output components that are angles; their differences are wrapped to (-pi, pi].

    Returns
    -------
    (..., m, n) array
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    h = rel_step * np.maximum(np.abs(x), scale)  # (..., n)
    eye = np.eye(n)
    dx = h[..., None, :] * eye  # (..., n, n): row j = h_j e_j
    xs = np.concatenate([x[..., None, :] + dx, x[..., None, :] - dx], axis=-2)  # (..., 2n, n)
    f = np.asarray(fun(xs), dtype=float)
    diff = f[..., :n, :] - f[..., n:, :]  # (..., n, m)
    if angle_indices:
        idx = list(angle_indices)
        diff[..., idx] = wrap_angle(diff[..., idx])
    return np.swapaxes(diff / (2.0 * h[..., :, None]), -1, -2)
