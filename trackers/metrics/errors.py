"""Estimation-error summaries: RMSE over Monte Carlo runs, per epoch and averaged over time.

    RMSE_k = sqrt( (1/N) sum_i |x_k^i - x_hat_k^i|^2 )      (over the chosen components)
    time-averaged RMSE = (1/T) sum_k RMSE_k

Leading axes of ``error`` are runs, the last two (T, n): ``error (..., T, n)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["rmse_from_mean_sq", "rmse_per_epoch", "time_averaged_rmse"]


def _components(n: int, components: ArrayLike | None) -> NDArray:
    idx = np.arange(n) if components is None else np.asarray(components, dtype=int)
    if idx.ndim != 1 or idx.size == 0 or idx.min() < -n or idx.max() >= n:
        raise ValueError(f"components must be indices into {n} state components, got {idx}")
    return idx


def rmse_per_epoch(error: ArrayLike, components: ArrayLike | None = None) -> NDArray:
    """RMSE over runs at each epoch: ``(..., T, n) -> (T,)``; NaN errors (no estimate) ignored."""
    e = np.asarray(error, dtype=float)
    if e.ndim < 2:
        raise ValueError(f"error must be (..., T, n), got shape {e.shape}")
    idx = _components(e.shape[-1], components)
    sq = np.sum(e[..., idx] ** 2, axis=-1)  # (..., T)
    sq = sq.reshape(-1, sq.shape[-1])
    return np.sqrt(np.nanmean(sq, axis=0))


def rmse_from_mean_sq(mean_sq: ArrayLike, components: ArrayLike | None = None) -> NDArray:
    """RMSE per epoch from run-averaged squared errors ``(T, n)`` (``RunStats.epoch_sq_err``)."""
    m = np.asarray(mean_sq, dtype=float)
    idx = _components(m.shape[-1], components)
    return np.sqrt(np.sum(m[..., idx], axis=-1))


def time_averaged_rmse(rmse: ArrayLike) -> float:
    """Mean over epochs of an RMSE series ``(T,)``."""
    return float(np.nanmean(np.asarray(rmse, dtype=float)))
