"""Rauch-Tung-Striebel fixed-interval smoother for KF, EKF and UKF/CKF tracks, batched.

Backward pass over a filtered :class:`~trackers.filters.runner.Track` (k = T-2 .. 0):

    (x_{k+1|k}, P_{k+1|k}), C_k = rule.predict_with_cross(N(x_k|k, P_k|k), model, dt_{k+1})
    G_k   = C_k P_{k+1|k}^-1                               (smoother gain)
    x_k|T = x_k|k + G_k (x_{k+1|T} - x_{k+1|k})
    P_k|T = P_k|k + G_k (P_{k+1|T} - P_{k+1|k}) G_k'

with C_k = Cov(x_k, x_{k+1} | z_1..k): P_k|k F_k' for the KF/EKF (classic RTS, Rauch, Tung &
Striebel 1965) and sum_i Wc_i (X_i - x_k|k)(f(X_i) - x_{k+1|k})' for sigma-point rules
(unscented RTS smoother, Särkkä 2008). Reports with dt = 0 (several sensors at one time) have
G = I (the smoothed estimate is shared). The prediction is recomputed from the filtered
moments, so only the filtered track needs to be stored.

References
----------
H. E. Rauch, F. Tung, C. T. Striebel, "Maximum likelihood estimates of linear dynamic
systems", AIAA J. 3(8), 1965.
S. Särkkä, "Unscented Rauch-Tung-Striebel smoother", IEEE TAC 53(3), 845-849, 2008.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trackers.filters.estimator import Filter
from trackers.filters.gaussian import Gaussian
from trackers.filters.linalg_small import cholesky_lower, symmetrize
from trackers.filters.runner import Track

__all__ = ["rts_smooth"]


def _gain(C: NDArray, P_pred: NDArray) -> NDArray:
    """G = C P^-1 via the Cholesky factor of the SPD P: solve L Y = C', L' G' = Y."""
    L = cholesky_lower(P_pred)
    Ct = np.swapaxes(C, -1, -2)
    Y = np.linalg.solve(L, Ct)
    return np.swapaxes(np.linalg.solve(np.swapaxes(L, -1, -2), Y), -1, -2)


def rts_smooth(track: Track, filt: Filter) -> Gaussian:
    """Smoothed means ``(..., T, n)`` and covariances ``(..., T, n, n)`` of a filtered track.

    Parameters
    ----------
    track : Track
        Output of ``run(filt, ..., keep="all")``.
    filt : Filter
        The same rule and motion model that produced ``track``.
    """
    if not isinstance(track, Track):
        raise TypeError(f"track must be a runner.Track (keep='all'), got {type(track).__name__}")
    if not isinstance(filt, Filter):
        raise TypeError(f"filt must be a Filter(rule, model), got {type(filt).__name__}")
    t = np.asarray(track.t, dtype=float)
    T = t.shape[0]
    mean, cov = np.asarray(track.mean), np.asarray(track.cov)
    if mean.shape[-2:] != (T, filt.ndim):
        raise ValueError(f"track.mean must be (..., {T}, {filt.ndim}), got {mean.shape}")
    xs = mean.copy()
    Ps = cov.copy()
    for k in range(T - 2, -1, -1):
        dt = float(t[k + 1] - t[k])
        if dt == 0.0:
            xs[..., k, :] = xs[..., k + 1, :]
            Ps[..., k, :, :] = Ps[..., k + 1, :, :]
            continue
        filt_k = Gaussian(mean[..., k, :], cov[..., k, :, :])
        pred, C = filt.rule.predict_with_cross(filt_k, filt.model, dt, float(t[k]))
        G = _gain(C, pred.cov)
        # x_k|T = x_k|k + G (x_{k+1|T} - x_{k+1|k})
        xs[..., k, :] = filt_k.mean + np.einsum(
            "...ij,...j->...i", G, xs[..., k + 1, :] - pred.mean
        )
        # P_k|T = P_k|k + G (P_{k+1|T} - P_{k+1|k}) G'
        Ps[..., k, :, :] = symmetrize(
            filt_k.cov + G @ (Ps[..., k + 1, :, :] - pred.cov) @ np.swapaxes(G, -1, -2)
        )
    return Gaussian(xs, Ps)
