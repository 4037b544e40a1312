"""Square-root cubature Kalman filter (SCKF), batched: the belief carries a Cholesky factor.

The belief is ``SqrtGaussian(mean (..., n), chol (..., n, n))`` with P = S S', S lower
triangular. Covariances are never formed inside the filter, so P stays symmetric and
positive semi-definite by construction (the factor of a sum of outer products is taken with a
QR decomposition), at the cost of one batched QR per step.

With the cubature points X_i = x + S xi_i, xi = ±sqrt(n) e_i (2n points, weights 1/(2n)) and
tria(A) = the lower-triangular L with L L' = A A' (from A' = Q R, L = R' with a positive
diagonal), one cycle is (Arasaratnam & Haykin 2009, §VI):

    predict   Y_i = f(X_i),  x- = (1/2n) sum_i Y_i
              S- = tria([ (Y - x-) / sqrt(2n),  sqrt(Q) ])
    update    Z_i = h(X_i) with X from (x-, S-),  zbar = (1/2n) sum_i Z_i  (angle-aware)
              Szz = tria([ (Z - zbar) / sqrt(2n),  sqrt(R) ])
              Pxz = (X - x-)' (Z - zbar) / (2n),   K = Pxz (Szz Szz')^-1
              x+ = x- + K nu,   S+ = tria([ (X - x-)/sqrt(2n) - K (Z - zbar)/sqrt(2n),  K sqrt(R) ])

sqrt(Q), sqrt(R) are any factors with sqrt(Q) sqrt(Q)' = Q (symmetric eigen-decomposition, so
singular Q such as the reentry model's is allowed). In exact arithmetic this is the CKF
(:class:`trackers.filters.rules.CKF`); tests/test_filters_square_root.py checks the equality.

References
----------
I. Arasaratnam, S. Haykin, "Cubature Kalman filters", IEEE TAC 54(6), 1254-1269, 2009.
R. van der Merwe, E. A. Wan, "The square-root unscented Kalman filter for state and
parameter-estimation", ICASSP 2001.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.filters.gaussian import LOG_2PI, Gaussian, StepInfo, missed_mask
from trackers.filters.linalg_small import cholesky_lower, inv_spd, matmul, matvec, quad_form
from trackers.filters.sigma_points import cubature, weighted_mean
from trackers.models.base import MeasurementModel, MotionModel, residual

__all__ = ["SqrtGaussian", "SquareRootCKF", "matrix_sqrt", "tria"]


class SqrtGaussian(NamedTuple):
    """Gaussian N(mean, chol chol') in square-root form.

    Attributes
    ----------
    mean : (..., n) array
    chol : (..., n, n) array
        Lower-triangular factor S of the covariance P = S S'.
    """

    mean: NDArray
    chol: NDArray


def tria(A: NDArray) -> NDArray:
    """Lower-triangular L ``(..., n, n)`` with L L' = A A' for A ``(..., n, k)``, k >= n.

    From the QR decomposition A' = Q R: A A' = R' Q' Q R = R' R, so L = R' (rows of R with a
    negative diagonal entry are negated, making the diagonal positive).
    """
    R = np.linalg.qr(np.swapaxes(A, -1, -2), mode="r")
    sign = np.where(np.diagonal(R, axis1=-2, axis2=-1) < 0, -1.0, 1.0)
    return np.swapaxes(R * sign[..., :, None], -1, -2)


def matrix_sqrt(Q: NDArray) -> NDArray:
    """A factor M with M M' = Q for symmetric PSD Q (eigen-decomposition; Q may be singular)."""
    w, V = np.linalg.eigh(np.asarray(Q, dtype=float))
    return V * np.sqrt(np.clip(w, 0.0, None))[..., None, :]


@dataclass(frozen=True)
class SquareRootCKF:
    """Square-root CKF with one motion model; implements the ``Estimator`` protocol.

    Attributes
    ----------
    model : MotionModel
        Motion model for every prediction.
    """

    model: MotionModel

    @property
    def ndim(self) -> int:
        """State dimension n."""
        return int(self.model.ndim)

    @staticmethod
    def initial_belief(g: Gaussian) -> SqrtGaussian:
        """Square-root form of a Gaussian prior (Cholesky factor of its covariance)."""
        return SqrtGaussian(np.asarray(g.mean, dtype=float), cholesky_lower(g.cov))

    def gaussian(self, belief: SqrtGaussian) -> Gaussian:
        """N(mean, S S')."""
        S = belief.chol
        return Gaussian(belief.mean, matmul(S, np.swapaxes(S, -1, -2)))

    def _points(self, belief: SqrtGaussian) -> tuple[NDArray, float]:
        rule = cubature(belief.mean.shape[-1])
        X = belief.mean[..., None, :] + np.swapaxes(matmul(belief.chol, rule.unit_points.T), -1, -2)
        return X, float(np.sqrt(rule.npoints))

    def predict(self, belief: SqrtGaussian, dt: float | NDArray, t: float = 0.0) -> SqrtGaussian:
        """x- = mean f(X_i), S- = tria([(Y - x-)/sqrt(2n), sqrt(Q)])."""
        X, c = self._points(belief)
        pdt = dt[..., None] if isinstance(dt, np.ndarray) and dt.ndim > 0 else dt
        Y = self.model.propagate(X, pdt, t)
        x1 = np.mean(Y, axis=-2)
        dY = np.swapaxes(Y - x1[..., None, :], -1, -2) / c  # (..., n, 2n)
        SQ = matrix_sqrt(self.model.process_noise(belief.mean, dt, t))
        SQ = np.broadcast_to(SQ, (*dY.shape[:-1], SQ.shape[-1]))
        return SqrtGaussian(x1, tria(np.concatenate([dY, SQ], axis=-1)))

    def update(
        self, belief: SqrtGaussian, z: NDArray, sensor: MeasurementModel
    ) -> tuple[SqrtGaussian, StepInfo]:
        """Square-root measurement update (module docstring); NaN z = missed detection."""
        angles = tuple(sensor.angle_indices)
        X, c = self._points(belief)
        Z = sensor.measure(X)
        n_pts = X.shape[-2]
        zbar = weighted_mean(Z, np.full(n_pts, 1.0 / n_pts), angles)
        dZ = np.swapaxes(residual(Z, zbar[..., None, :], angles), -1, -2) / c  # (..., m, 2n)
        dX = np.swapaxes(X - belief.mean[..., None, :], -1, -2) / c  # (..., n, 2n)
        SR = matrix_sqrt(sensor.noise_cov())
        SRb = np.broadcast_to(SR, (*dZ.shape[:-1], SR.shape[-1]))
        Szz = tria(np.concatenate([dZ, SRb], axis=-1))
        S = matmul(Szz, np.swapaxes(Szz, -1, -2))
        Pxz = dX @ np.swapaxes(dZ, -1, -2)
        Sinv, logdet = inv_spd(S)
        K = matmul(Pxz, Sinv)
        missed = np.asarray(missed_mask(z))
        nu = residual(z, zbar, angles)
        nu0 = np.where(missed[..., None], 0.0, nu)
        mean = belief.mean + matvec(K, nu0)
        A = np.concatenate([dX - K @ dZ, matmul(K, SR)], axis=-1)
        chol = tria(A)
        nis = quad_form(nu0, Sinv)
        loglik = -0.5 * (nis + logdet + nu.shape[-1] * LOG_2PI)
        if np.any(missed):
            mean = np.where(missed[..., None], belief.mean, mean)
            chol = np.where(missed[..., None, None], belief.chol, chol)
            nis = np.where(missed, np.nan, nis)
            loglik = np.where(missed, 0.0, loglik)
            nu = np.where(missed[..., None], np.nan, nu)
        return SqrtGaussian(mean, chol), StepInfo(nu, S, nis, loglik)
