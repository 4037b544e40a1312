"""Gaussian beliefs and the Kalman algebra shared by every Gaussian filter (KF/EKF/UKF/CKF).

A belief is ``Gaussian(mean (..., n), cov (..., n, n))``; the leading axes ``...`` are Monte
Carlo runs (and/or IMM modes). Every function here acts on all of them in one call. Batch axes
broadcast: a covariance shared by all runs may be given (and is then returned) as ``(n, n)``
— for a linear KF it stays shared, and one covariance update serves every run.

The filters differ only in how they obtain the predicted moments; the update is common:

    innovation    nu = z - zhat                     (angle components wrapped to (-pi, pi])
    innovation covariance   S = H P H' + R          (EKF/KF)  or  sum_i Wc_i dz_i dz_i' + R (UKF)
    cross covariance        C = P H'                (EKF/KF)  or  sum_i Wc_i dx_i dz_i'     (UKF)
    gain          K = C S^-1
    mean          x+ = x + K nu
    covariance    P+ = (I - K H) P (I - K H)' + K R K'      (Joseph form, when H is known)
                  P+ = P - K S K'                           (sigma-point filters)
    NIS           nis = nu' S^-1 nu                 ~ chi2(m) for a consistent filter
    log-likelihood  loglik = -0.5 (nis + log det(2 pi S))

The Joseph form keeps P+ symmetric positive semi-definite under round-off and is exact for
any gain (Bar-Shalom, Li & Kirubarajan 2001, eq. 5.2.3-18); P+ is symmetrised afterwards.
S^-1 and log det S come from the closed-form routines of :mod:`linalg_small` (m <= 4).

Missed detections: a run whose ``z`` contains NaN keeps its prior belief; its ``StepInfo``
has ``innovation = nan``, ``S`` = the predicted S, ``nis = nan`` and ``loglik = 0``.

References
----------
Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, Wiley 2001, §5.2 (KF), §10.3 (EKF).
S. J. Julier, J. K. Uhlmann, "Unscented filtering and nonlinear estimation", Proc. IEEE 92(3),
2004 (UKF).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.filters.linalg_small import (
    inv_spd,
    matmul,
    matvec,
    selection_slice,
    symmetrize,
)

__all__ = [
    "LOG_2PI",
    "Gaussian",
    "StepInfo",
    "kalman_update",
    "linear_predict",
    "missed_mask",
    "missed_or_false",
]

LOG_2PI = float(np.log(2.0 * np.pi))


class Gaussian(NamedTuple):
    """Gaussian belief N(mean, cov).

    Attributes
    ----------
    mean : (..., n) array
        State mean (SI units of the model's state).
    cov : (..., n, n) array
        State covariance, symmetric positive semi-definite.
    """

    mean: NDArray
    cov: NDArray

    @property
    def ndim_state(self) -> int:
        """State dimension n."""
        return int(np.shape(self.mean)[-1])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Leading (Monte Carlo / mode) axes ``...``."""
        return tuple(np.shape(self.mean)[:-1])


class StepInfo(NamedTuple):
    """Diagnostics of one measurement update.

    Attributes
    ----------
    innovation : (..., m) array
        nu = z - zhat (angles wrapped); NaN for a missed detection.
    S : (..., m, m) array
        Innovation covariance.
    nis : (...) array
        Normalised innovation squared nu' S^-1 nu; NaN for a missed detection.
    loglik : (...) array
        log N(nu; 0, S) = -0.5 (nis + log det(2 pi S)); 0 for a missed detection.
    """

    innovation: NDArray
    S: NDArray
    nis: NDArray
    loglik: NDArray


def missed_mask(z: NDArray) -> NDArray:
    """True where a run's measurement is missing (any NaN component), shape ``(...)``."""
    return np.isnan(z).any(axis=-1)


def missed_or_false(z: NDArray) -> NDArray | bool:
    """``missed_mask(z)``, or ``False`` when z has no NaN at all (one reduction, not two)."""
    nan = np.isnan(z)
    return nan.any(axis=-1) if nan.any() else False


def linear_predict(mean_pred: NDArray, cov: NDArray, F: NDArray, Q: NDArray) -> Gaussian:
    """Predicted Gaussian for a linear(ised) transition.

    x- = f(x) (given as ``mean_pred``, ``(..., n)``; F x for a linear model),
    P- = F P F' + Q, symmetrised. ``F`` is ``(..., n, n)`` or ``(n, n)``, ``Q`` likewise.
    A covariance and F shared by all runs (``(n, n)``) stay shared.
    """
    P = matmul(matmul(F, cov), F.swapaxes(-1, -2)) + Q
    return Gaussian(np.asarray(mean_pred, dtype=float), symmetrize(P))


def _all_missed(
    prior: Gaussian, innovation: NDArray, S: NDArray, missed: NDArray
) -> tuple[Gaussian, StepInfo]:
    """Every run missed: the prior unchanged (a shared covariance stays shared)."""
    m = innovation.shape[-1]
    batch = np.broadcast_shapes(innovation.shape[:-1], S.shape[:-2], missed.shape)
    info = StepInfo(
        np.full((*batch, m), np.nan),
        np.broadcast_to(S, (*batch, m, m)),
        np.full(batch, np.nan),
        np.zeros(batch),
    )
    return prior, info


def kalman_update(
    prior: Gaussian,
    innovation: NDArray,
    S: NDArray,
    cross: NDArray,
    *,
    H: NDArray | None = None,
    R: NDArray | None = None,
    missed: NDArray | bool | None = None,
) -> tuple[Gaussian, StepInfo]:
    """Gaussian measurement update from innovation moments (all filters).

    Parameters
    ----------
    prior : Gaussian
        Predicted belief, mean ``(..., n)``, cov ``(..., n, n)``.
    innovation : (..., m) array
        nu = z - zhat with angles wrapped. Entries of missed runs may be anything (NaN).
    S : (..., m, m) array
        Innovation covariance (R included); may be shared ``(m, m)``.
    cross : (..., n, m) array
        State-measurement cross covariance C (P H' for a linearised model); may be shared.
    H, R : arrays, optional
        If both are given the covariance uses the Joseph form
        P+ = (I - K H) P (I - K H)' + K R K'; otherwise P+ = P - K S K'.
    missed : (...) bool array or False, optional
        Runs without a detection (NaN in z): belief unchanged, nis NaN, loglik 0; ``False``
        = no run missed (see :func:`missed_or_false`). Default: NaN in ``innovation``. The
        rules pass the mask of ``z`` itself, so that a run whose prediction broke down
        numerically (NaN zhat) shows NaN nis *and* loglik instead of passing for a missed
        detection. When every run missed, the prior is returned as is.

    Returns
    -------
    (Gaussian, StepInfo)
    """
    x, P = prior.mean, prior.cov
    m = innovation.shape[-1]
    if missed is None:
        missed = missed_mask(innovation)
    if missed is False:
        any_missed = False
    else:
        missed = np.asarray(missed)
        any_missed = bool(missed.any())
    if any_missed:
        assert isinstance(missed, np.ndarray)  # any_missed: converted above
        if missed.all():
            return _all_missed(prior, innovation, S, missed)
        nu = np.where(missed[..., None], 0.0, innovation)
    else:
        nu = innovation
    Sinv, logdet = inv_spd(S)
    # K = C S^-1
    K = matmul(cross, Sinv)
    Kt = K.swapaxes(-1, -2)
    # x+ = x + K nu = x + C w  and  nis = nu' w,  with w = S^-1 nu (one product for both)
    w = matvec(Sinv, nu)
    mean = x + matvec(cross, w)
    if H is not None and R is not None:
        # Joseph form P+ = (I - K H) P (I - K H)' + K R K', evaluated by associativity as
        # B = (I - K H) P = P - K (P H')',  P+ = B + (K R - B H') K'
        # (one product with K' instead of two; B H' is a slice when H picks components).
        B = P - matmul(K, cross.swapaxes(-1, -2))
        sel = selection_slice(H)
        BHt = B[..., :, sel] if sel is not None else matmul(B, H.swapaxes(-1, -2))
        cov = B + matmul(matmul(K, R) - BHt, Kt)
    else:
        # P+ = P - K S K'
        cov = P - matmul(matmul(K, S), Kt)
    cov = symmetrize(cov)
    # nis = nu' S^-1 nu ;  loglik = -0.5 (nis + log det S + m log 2 pi)
    nis = (w * nu).sum(axis=-1)
    loglik = -0.5 * (nis + (logdet + m * LOG_2PI))
    if any_missed:
        assert isinstance(missed, np.ndarray)  # any_missed: converted above
        mean = np.where(missed[..., None], x, mean)
        cov = np.where(missed[..., None, None], P, cov)
        nis = np.where(missed, np.nan, nis)
        loglik = np.where(missed, 0.0, loglik)
        innovation = np.where(missed[..., None], np.nan, innovation)
    if S.shape[:-2] != nis.shape:
        # a shared S is reported per run (a view, no copy)
        S = (
            S[None]
            if (S.ndim == 2 and nis.shape == (1,))
            else np.broadcast_to(S, (*nis.shape, m, m))
        )
    return Gaussian(mean, cov), StepInfo(innovation, S, nis, loglik)
