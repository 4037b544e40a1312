"""Run filterpy's KF / EKF / UKF on a :class:`~trackers.filters.runner.MeasurementStream`.

The same inputs as :func:`trackers.filters.runner.run` (a rule, a motion model, a prior, a
multi-sensor stream with variable dt and NaN misses), executed the filterpy way: one mutable
filter object per Monte Carlo run, one Python call per step. Used as an independent
implementation in the cross-checks (tests/test_filters_baselines.py) and as the per-run
reference in speed comparisons. (The fixed-dt single-sensor helpers used by the IMM checks
and benchmarks/speed.py live in :mod:`trackers.baselines.filterpy_imm`.)

Conventions mapped onto filterpy
--------------------------------
- KF: ``filterpy.kalman.predict(x, P, F, Q)`` / ``filterpy.kalman.update(x, P, z, R, H)``
  (Joseph form) with F = ``model.transition_matrix(dt)``, H = ``sensor.matrix()``.
- EKF: ``ExtendedKalmanFilter`` with ``predict_x`` replaced by ``model.propagate_with_jacobian``
  (it sets F), update with ``sensor.measure_with_jacobian`` and an angle-wrapping residual.
- UKF: ``UnscentedKalmanFilter`` with ``MerweScaledSigmaPoints(alpha, beta, kappa)``; for each
  sensor ``residual_z`` wraps the angle components and ``z_mean`` averages them around the first
  sigma point (the convention of :mod:`trackers.filters.sigma_points`), Q and R set per step.
- A NaN measurement skips filterpy's update (the belief stays the prediction), NIS NaN.
- Several reports at one time (dt = 0) skip the predict, as the runner does.

filterpy must be installed (optional dependency group ``baselines``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.filters.gaussian import Gaussian
from trackers.filters.rules import CKF, EKF, KF, UKF
from trackers.filters.runner import MeasurementStream
from trackers.filters.validation import check_gaussian, check_times
from trackers.models.base import MeasurementModel, MotionModel, residual, wrap_angle

__all__ = ["FilterpyTrack", "run_filterpy"]


class FilterpyTrack(NamedTuple):
    """Posterior history of the filterpy run(s).

    Attributes
    ----------
    mean : (R, T, n) array
    cov : (R, T, n, n) array
    nis : (R, T) array  (NaN for misses)
    """

    mean: NDArray
    cov: NDArray
    nis: NDArray


def _angle_fns(sensor: MeasurementModel):
    idx = tuple(sensor.angle_indices)

    def res(a: NDArray, b: NDArray) -> NDArray:
        return residual(a, b, idx)

    def zmean(sigmas: NDArray, wm: NDArray) -> NDArray:
        m = np.dot(wm, sigmas)
        for i in idx:
            ref = sigmas[0, i]
            m[i] = wrap_angle(ref + np.dot(wm, wrap_angle(sigmas[:, i] - ref)))
        return m

    return res, zmean


def _nis(y: NDArray, S: NDArray) -> float:
    return float(y @ np.linalg.solve(S, y))


def _run_one(rule, model, x0, P0, t, sensor_idx, Z, sensors, t0):
    from filterpy.kalman import (
        ExtendedKalmanFilter,
        MerweScaledSigmaPoints,
        UnscentedKalmanFilter,
    )
    from filterpy.kalman import predict as kf_predict
    from filterpy.kalman import update as kf_update

    n = x0.shape[0]
    T = t.shape[0]
    m_max = max(int(s.ndim_meas) for s in sensors)
    means, covs, nis = np.empty((T, n)), np.empty((T, n, n)), np.full(T, np.nan)
    tp = t0
    if isinstance(rule, KF):
        for i, s in enumerate(sensors):
            if not hasattr(s, "matrix"):
                raise TypeError(f"KF needs linear sensors with matrix(); sensors[{i}] has none")
        x, P = x0.copy(), P0.copy()
        for k in range(T):
            dt = t[k] - tp
            if dt > 0:
                F = model.transition_matrix(dt)
                x, P = kf_predict(x, P, F, model.process_noise(x, dt, tp))
            s = sensors[sensor_idx[k]]
            z = Z[k, : s.ndim_meas]
            if not np.any(np.isnan(z)):
                H, R = s.matrix(), s.noise_cov()
                x, P, y, _, S, _ = kf_update(x, P, z, R, H, return_all=True)
                nis[k] = _nis(y, S)
            means[k], covs[k] = x, P
            tp = t[k]
        return means, covs, nis
    if isinstance(rule, EKF):
        f = ExtendedKalmanFilter(dim_x=n, dim_z=m_max)
        f.x, f.P = x0.copy(), P0.copy()
        state = {"dt": 0.0, "t": t0}

        def predict_x(u=0):
            f.x, f.F = model.propagate_with_jacobian(f.x, state["dt"], state["t"])

        f.predict_x = predict_x
        for k in range(T):
            dt = t[k] - tp
            if dt > 0:
                state["dt"], state["t"] = dt, tp
                f.Q = model.process_noise(f.x, dt, tp)
                f.predict()
            s = sensors[sensor_idx[k]]
            z = Z[k, : s.ndim_meas]
            if not np.any(np.isnan(z)):
                res, _ = _angle_fns(s)
                f.update(
                    z,
                    lambda x, s=s: s.measure_with_jacobian(x)[1],
                    s.measure,
                    R=s.noise_cov(),
                    residual=res,
                )
                nis[k] = _nis(f.y, f.S)
            means[k], covs[k] = f.x, f.P
            tp = t[k]
        return means, covs, nis
    if isinstance(rule, UKF | CKF):
        a, b, kap = (
            (1.0, 0.0, 0.0) if isinstance(rule, CKF) else (rule.alpha, rule.beta, rule.kappa)
        )
        pts = MerweScaledSigmaPoints(n, alpha=a, beta=b, kappa=kap)
        f = UnscentedKalmanFilter(
            dim_x=n,
            dim_z=m_max,
            dt=1.0,
            hx=sensors[0].measure,
            fx=lambda x, dt, tt=0.0: model.propagate(x, dt, tt),
            points=pts,
        )
        f.x, f.P = x0.copy(), P0.copy()
        for k in range(T):
            dt = t[k] - tp
            if dt > 0:
                f.Q = model.process_noise(f.x, dt, tp)
                f.predict(dt=dt, tt=tp)
            s = sensors[sensor_idx[k]]
            z = Z[k, : s.ndim_meas]
            if not np.any(np.isnan(z)):
                f.residual_z, f.z_mean = _angle_fns(s)
                # redraw the points from the current belief (stale after an update at dt = 0)
                f.sigmas_f = f.points_fn.sigma_points(f.x, f.P)
                f.update(z, R=s.noise_cov(), hx=s.measure)
                nis[k] = _nis(f.y, f.S)
            means[k], covs[k] = f.x, f.P
            tp = t[k]
        return means, covs, nis
    raise TypeError(f"rule must be KF, EKF, UKF or CKF, got {type(rule).__name__}")


def run_filterpy(
    rule: KF | EKF | UKF | CKF,
    model: MotionModel,
    prior: Gaussian,
    stream: MeasurementStream,
    sensors: Sequence[MeasurementModel],
    *,
    t0: float = 0.0,
) -> FilterpyTrack:
    """filterpy equivalent of ``run(Filter(rule, model), prior, stream, sensors)``.

    Parameters
    ----------
    rule : KF, EKF, UKF or CKF
        Which filterpy filter to use (CKF = Merwe points with alpha=1, beta=0, kappa=0).
    model : MotionModel
    prior : Gaussian
        Unbatched prior, mean ``(n,)``, cov ``(n, n)`` (same for every run).
    stream : MeasurementStream
        ``z`` of shape ``(T, m_max)`` or ``(R, T, m_max)``.
    sensors : sequence of MeasurementModel
    t0 : float
        Prior time [s].

    Returns
    -------
    FilterpyTrack with a leading run axis R (1 for an unbatched stream).
    """
    prior = check_gaussian("prior", prior, int(model.ndim))
    if prior.mean.ndim != 1 or prior.cov.ndim != 2:
        raise ValueError(f"prior must be unbatched, got mean {prior.mean.shape}")
    t = check_times("stream.t", stream.t, t0)
    Z = np.asarray(stream.z, dtype=float)
    if Z.ndim == 2:
        Z = Z[None]
    if Z.ndim != 3 or Z.shape[1] != t.shape[0]:
        raise ValueError(f"stream.z must be (T, m_max) or (R, T, m_max), got {stream.z.shape}")
    sensors = tuple(sensors)
    sidx = np.asarray(stream.sensor, dtype=int)
    out = [_run_one(rule, model, prior.mean, prior.cov, t, sidx, z, sensors, t0) for z in Z]
    return FilterpyTrack(*(np.stack(parts) for parts in zip(*out, strict=True)))
