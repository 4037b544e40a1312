"""Filter rules: KF, EKF, UKF, CKF as frozen dataclasses with pure, batched steps.

Every rule has

    rule.predict(belief, model, dt, t=0.0) -> Gaussian
    rule.update(belief, z, sensor) -> (Gaussian, StepInfo)
    rule.predict_with_cross(belief, model, dt, t=0.0) -> (Gaussian, C)

where C = Cov(x_k, x_{k+1}) ``(..., n, n)`` is what the RTS smoother needs (P F' for
linearised rules, sum_i Wc_i (X_i - x)(f(X_i) - x-)' for sigma-point rules).

``belief`` has leading axes ``...`` (Monte Carlo runs, IMM modes); ``z`` is ``(..., m)`` with
NaN for a missed detection of that run. ``dt`` [s] is a float or an array broadcastable to the
batch shape. Models follow :mod:`trackers.models.base`.

Predict (all rules): x- = E[f(x)], P- = Cov[f(x)] + Q(x, t, dt) with Q evaluated at the mean.

- KF: linear model, F = ``model.transition_matrix(dt)``, x- = F x, P- = F P F' + Q;
  H = ``sensor.matrix()``, zhat = H x, Joseph-form update. Falls back to the Jacobian methods
  when the model has no ``transition_matrix`` / ``matrix`` (then it is an EKF).
- EKF: x- = f(x), F = df/dx at x (analytic ``propagate_with_jacobian``, or central
  differences when ``numerical=True``); zhat = h(x-), H = dh/dx; Joseph-form update.
- UKF: scaled unscented (Merwe) sigma points, ``alpha, beta, kappa`` (defaults 1, 2, 0:
  lambda = 0, points at ±sqrt(n) sigma, centre covariance weight 2; van der Merwe 2004 uses
  alpha = 1e-3 for very nonlinear problems). Sigma points are redrawn from the predicted
  Gaussian for the update (the Gaussian is the whole belief). Update P+ = P - K S K'.
- CKF: identical to the UKF with the third-degree cubature rule (2n points).

Input checks (every public step, :mod:`trackers.filters.validation`): ``dt`` finite and >= 0
(every element of an array dt); ``z`` ``(..., m)`` without +-inf (NaN rows are missed
detections; a row with any NaN component counts as missed as a whole); the belief's
covariance square, matching the mean, finite, with a non-negative diagonal. ``check=True``
adds a symmetry test and a Cholesky factorisation of the covariance (about the cost of one
more step). Skipped inside ``validation.trusted()`` (the runner's time loop, the IMM's calls).

References: see :mod:`trackers.filters.gaussian` and :mod:`trackers.filters.sigma_points`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from trackers.filters.gaussian import (
    Gaussian,
    StepInfo,
    kalman_update,
    linear_predict,
    missed_or_false,
)
from trackers.filters.jacobians import numerical_jacobian
from trackers.filters.linalg_small import matmul, matvec, selection_slice, symmetrize
from trackers.filters.sigma_points import (
    SigmaPointRule,
    cubature,
    merwe_scaled,
    sigma_points,
    transform_moments,
)
from trackers.filters.validation import (
    check_belief,
    check_dt,
    check_measurement,
    per_step_checks,
)
from trackers.models.base import MeasurementModel, MotionModel, residual

__all__ = ["CKF", "EKF", "KF", "UKF", "Rule"]


def _check_predict(belief: Gaussian, dt: float | NDArray, check: bool) -> None:
    """Per-step checks of a prediction's inputs (module docstring)."""
    if not isinstance(belief, Gaussian):
        raise TypeError(f"belief must be a Gaussian, got {type(belief).__name__}")
    check_belief("belief", belief, full=check)
    check_dt(dt)


def _check_update(belief: Gaussian, z: NDArray, sensor: MeasurementModel, check: bool) -> None:
    """Per-step checks of an update's inputs (module docstring)."""
    if not isinstance(belief, Gaussian):
        raise TypeError(f"belief must be a Gaussian, got {type(belief).__name__}")
    check_belief("belief", belief, full=check)
    m = getattr(sensor, "ndim_meas", None)
    check_measurement("z", z, None if m is None else int(m))


def _points_dt(dt: float | NDArray) -> float | NDArray:
    """dt broadcast over the sigma-point axis: (...) -> (..., 1)."""
    return dt[..., None] if isinstance(dt, np.ndarray) and dt.ndim > 0 else dt


def _jacobian_predict(
    belief: Gaussian, model: MotionModel, dt: float | NDArray, t: float, numerical: bool
) -> tuple[Gaussian, NDArray]:
    x = belief.mean
    if numerical:
        x1 = model.propagate(x, dt, t)
        F = numerical_jacobian(lambda xs: model.propagate(xs, _points_dt(dt), t), x)
    else:
        x1, F = model.propagate_with_jacobian(x, dt, t)
    Q = model.process_noise(x, dt, t)
    # x- = f(x);  P- = F P F' + Q
    return linear_predict(x1, belief.cov, F, Q), F


def _jacobian_update(
    belief: Gaussian, z: NDArray, sensor: MeasurementModel, numerical: bool, linear: bool
) -> tuple[Gaussian, StepInfo]:
    x, P = belief.mean, belief.cov
    sel = None
    if linear and hasattr(sensor, "matrix"):
        H = np.asarray(sensor.matrix(), dtype=float)
        sel = selection_slice(H)
        zhat = x[..., sel] if sel is not None else matvec(H, x)
    elif numerical:
        zhat = sensor.measure(x)
        H = numerical_jacobian(sensor.measure, x, angle_indices=tuple(sensor.angle_indices))
    else:
        zhat, H = sensor.measure_with_jacobian(x)
    R = np.asarray(sensor.noise_cov(), dtype=float)
    # nu = z - h(x-) (angles wrapped);  S = H P H' + R;  C = P H'
    # (slices of x and P when H = [0, I, 0] picks consecutive components: exact, no products)
    nu = residual(z, zhat, tuple(sensor.angle_indices))
    if sel is not None:
        PHt, HPHt = P[..., :, sel], P[..., sel, sel]
    else:
        PHt = matmul(P, H.swapaxes(-1, -2))
        HPHt = matmul(H, PHt)
    S = symmetrize(HPHt + R)
    return kalman_update(belief, nu, S, PHt, H=H, R=R, missed=missed_or_false(z))


@dataclass(frozen=True)
class KF:
    """Linear Kalman filter (Bar-Shalom et al. 2001 §5.2), Joseph-form update."""

    def predict(
        self,
        belief: Gaussian,
        model: MotionModel,
        dt: float | NDArray,
        t: float = 0.0,
        *,
        check: bool = False,
    ) -> Gaussian:
        """x- = F x, P- = F P F' + Q with F = ``model.transition_matrix(dt)``."""
        if check or per_step_checks():
            _check_predict(belief, dt, check)
        return self._predict(belief, model, dt, t)[0]

    def predict_with_cross(
        self,
        belief: Gaussian,
        model: MotionModel,
        dt: float | NDArray,
        t: float = 0.0,
        *,
        check: bool = False,
    ) -> tuple[Gaussian, NDArray]:
        """Prediction and C = Cov(x_k, x_{k+1}) = P F'."""
        if check or per_step_checks():
            _check_predict(belief, dt, check)
        g, F = self._predict(belief, model, dt, t)
        return g, matmul(belief.cov, F.swapaxes(-1, -2))

    @staticmethod
    def _predict(
        belief: Gaussian, model: MotionModel, dt: float | NDArray, t: float
    ) -> tuple[Gaussian, NDArray]:
        if not hasattr(model, "transition_matrix"):
            return _jacobian_predict(belief, model, dt, t, numerical=False)
        F = np.asarray(model.transition_matrix(dt), dtype=float)
        x1 = matvec(F, belief.mean)
        return linear_predict(x1, belief.cov, F, model.process_noise(belief.mean, dt, t)), F

    def update(
        self, belief: Gaussian, z: NDArray, sensor: MeasurementModel, *, check: bool = False
    ) -> tuple[Gaussian, StepInfo]:
        """Joseph-form update with H = ``sensor.matrix()``."""
        if check or per_step_checks():
            _check_update(belief, z, sensor, check)
        return _jacobian_update(belief, z, sensor, numerical=False, linear=True)


@dataclass(frozen=True)
class EKF:
    """Extended Kalman filter (Bar-Shalom et al. 2001 §10.3).

    Attributes
    ----------
    numerical : bool
        Use central-difference Jacobians (:func:`numerical_jacobian`) instead of the models'
        analytic ``propagate_with_jacobian`` / ``measure_with_jacobian``. Default False.
    """

    numerical: bool = False

    def predict(
        self,
        belief: Gaussian,
        model: MotionModel,
        dt: float | NDArray,
        t: float = 0.0,
        *,
        check: bool = False,
    ) -> Gaussian:
        """x- = f(x), P- = F P F' + Q, F = df/dx at x."""
        if check or per_step_checks():
            _check_predict(belief, dt, check)
        return _jacobian_predict(belief, model, dt, t, self.numerical)[0]

    def predict_with_cross(
        self,
        belief: Gaussian,
        model: MotionModel,
        dt: float | NDArray,
        t: float = 0.0,
        *,
        check: bool = False,
    ) -> tuple[Gaussian, NDArray]:
        """Prediction and C = P F'."""
        if check or per_step_checks():
            _check_predict(belief, dt, check)
        g, F = _jacobian_predict(belief, model, dt, t, self.numerical)
        return g, matmul(belief.cov, F.swapaxes(-1, -2))

    def update(
        self, belief: Gaussian, z: NDArray, sensor: MeasurementModel, *, check: bool = False
    ) -> tuple[Gaussian, StepInfo]:
        """nu = z - h(x), S = H P H' + R, Joseph-form update, H = dh/dx at x."""
        if check or per_step_checks():
            _check_update(belief, z, sensor, check)
        return _jacobian_update(belief, z, sensor, self.numerical, linear=False)


class _SigmaPointFilter:
    """Shared predict/update of the sigma-point filters; subclasses define ``points(n)``."""

    def points(self, n: int) -> SigmaPointRule:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(
        self,
        belief: Gaussian,
        model: MotionModel,
        dt: float | NDArray,
        t: float = 0.0,
        *,
        check: bool = False,
    ) -> Gaussian:
        """x- = sum Wm_i f(X_i), P- = sum Wc_i dX_i dX_i' + Q."""
        if check or per_step_checks():
            _check_predict(belief, dt, check)
        return self._predict(belief, model, dt, t, cross=False)[0]

    def predict_with_cross(
        self,
        belief: Gaussian,
        model: MotionModel,
        dt: float | NDArray,
        t: float = 0.0,
        *,
        check: bool = False,
    ) -> tuple[Gaussian, NDArray]:
        """Prediction and C = sum_i Wc_i (X_i - x)(f(X_i) - x-)'."""
        if check or per_step_checks():
            _check_predict(belief, dt, check)
        # C is an array with cross=True
        return cast("tuple[Gaussian, NDArray]", self._predict(belief, model, dt, t, cross=True))

    def _predict(
        self, belief: Gaussian, model: MotionModel, dt: float | NDArray, t: float, cross: bool
    ) -> tuple[Gaussian, NDArray | None]:
        rule = self.points(belief.ndim_state)
        X = sigma_points(belief, rule)
        Y = model.propagate(X, _points_dt(dt), t)
        x1, Pyy, C = transform_moments(X, Y, belief.mean, rule, cross=cross)
        Q = model.process_noise(belief.mean, dt, t)
        return Gaussian(x1, symmetrize(Pyy + Q)), C

    def update(
        self, belief: Gaussian, z: NDArray, sensor: MeasurementModel, *, check: bool = False
    ) -> tuple[Gaussian, StepInfo]:
        """zbar = sum Wm_i h(X_i), S = sum Wc_i dZ_i dZ_i' + R, C = sum Wc_i dX_i dZ_i'."""
        if check or per_step_checks():
            _check_update(belief, z, sensor, check)
        rule = self.points(belief.ndim_state)
        angles = tuple(sensor.angle_indices)
        X = sigma_points(belief, rule)
        Z = sensor.measure(X)
        zbar, Pzz, Pxz = transform_moments(X, Z, belief.mean, rule, angles)
        S = symmetrize(Pzz + np.asarray(sensor.noise_cov(), dtype=float))
        nu = residual(z, zbar, angles)
        # Pxz is an array (cross=True by default)
        return kalman_update(belief, nu, S, cast(NDArray, Pxz), missed=missed_or_false(z))


@dataclass(frozen=True)
class UKF(_SigmaPointFilter):
    """Unscented Kalman filter with the scaled (Merwe) sigma-point rule.

    Attributes
    ----------
    alpha : float
        Spread, default 1.0 (lambda = alpha^2 (n + kappa) - n = kappa).
    beta : float
        Centre covariance-weight term, default 2.0 (optimal for Gaussian priors).
    kappa : float
        Secondary scaling, default 0.0.
    """

    alpha: float = 1.0
    beta: float = 2.0
    kappa: float = 0.0

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "kappa"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                raise ValueError(f"UKF.{name} must be a finite number, got {v!r}")
        if not self.alpha > 0:
            raise ValueError(f"UKF.alpha must be > 0, got {self.alpha!r}")

    def points(self, n: int) -> SigmaPointRule:
        """The (cached) rule for state dimension n."""
        return merwe_scaled(n, float(self.alpha), float(self.beta), float(self.kappa))


@dataclass(frozen=True)
class CKF(_SigmaPointFilter):
    """Cubature Kalman filter (Arasaratnam & Haykin 2009): 2n points ±sqrt(n) sigma."""

    def points(self, n: int) -> SigmaPointRule:
        """The (cached) cubature rule for state dimension n."""
        return cubature(n)


Rule = KF | EKF | UKF | CKF
