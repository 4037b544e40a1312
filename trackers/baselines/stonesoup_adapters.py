"""Glue to run Stone Soup on our data: radar model, motion-model wrapper, EKF/UKF/KF runners.

Radar (:func:`radar_model`): Stone Soup's ``CartesianToElevationBearingRange`` measures
(elevation theta, bearing phi, range rho) of the target in a rotated frame centred on
``translation_offset``, with phi = atan2(y', x') counter-clockwise from x' and
theta = asin(z' / rho). We place the site at ``translation_offset`` and rotate ECEF into the
local north-west-up frame (x' = north, y' = west = -east, z' = up: right-handed), so

    theta = el,    phi = atan2(-e, n) = -az (wrapped to (-pi, pi]),    rho = range,

i.e. ours = (rho, -phi mod 2 pi, theta) and theirs = (theta, wrap(-az), rho)
(:func:`to_stonesoup_z`, :func:`from_stonesoup_z`). The NWU rotation is passed as Stone Soup
Euler angles: its matrix is R = Rx(-a) Ry(b) Rz(-c) for ``rotation_offset = (a, b, c)``,
recovered from scipy's intrinsic "XYZ" decomposition and checked on construction.

Stone Soup's extended updater differentiates the measurement function numerically (forward
differences with step 1e8 * spacing(x), ~0.1 m at ECEF magnitudes), so its Jacobian differs
from our analytic one at the 1e-7 relative level. For a like-for-like comparison of the
*update algebra* we therefore also provide the same model with the analytic Jacobian
(``analytic_jacobian=True``: rows d(theta, phi, rho)/dx from our radar Jacobian, reordered
and with the bearing sign flipped).

Motion (:class:`MotionAsTransitionModel`): wraps one of our ``MotionModel`` objects as a Stone
Soup ``GaussianTransitionModel`` (function = propagate, jacobian = F from the variational
equations, covar = Q); Stone Soup has no ballistic model, and the speed benchmark needs one.

States are our ECEF order [x, y, z, vx, vy, vz, ...] (``mapping = (0, 1, 2)``). Stone Soup
needs ``datetime`` timestamps; t = 0 maps to :data:`EPOCH`.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
from numpy.typing import NDArray

from trackers.models.base import MotionModel, wrap_angle
from trackers.models.radar import RadarMeasurement

__all__ = [
    "EPOCH",
    "MotionAsTransitionModel",
    "ekf_update",
    "from_stonesoup_z",
    "radar_model",
    "run_ekf",
    "run_kf_cv",
    "run_ukf",
    "to_stonesoup_z",
]

#: Stone Soup timestamp of t = 0.
EPOCH = _dt.datetime(2023, 4, 13, 0, 0, 0)


def _nwu_rotation(radar: RadarMeasurement) -> NDArray:
    """ECEF -> north-west-up rotation at the radar site, rows (n, -e, u)."""
    e, n, u = radar.enu_rotation
    return np.stack([n, -e, u])


def _euler_for(m: NDArray) -> NDArray:
    """Stone Soup ``rotation_offset`` (a, b, c) with Rx(-a) Ry(b) Rz(-c) = m."""
    from scipy.spatial.transform import Rotation

    alpha, beta, gamma = Rotation.from_matrix(m).as_euler("XYZ")  # m = Rx(al) Ry(be) Rz(ga)
    return np.array([-alpha, beta, -gamma])


def radar_model(radar: RadarMeasurement, ndim_state: int = 6, analytic_jacobian: bool = False):
    """Stone Soup ``CartesianToElevationBearingRange`` equivalent to ``radar`` (module doc)."""
    from stonesoup.functions import build_rotation_matrix
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
    from stonesoup.types.array import CovarianceMatrix, StateVector

    if radar.ndim_meas != 3:
        raise ValueError("radar_model: only (range, azimuth, elevation) radars are supported")
    rot = _nwu_rotation(radar)
    offset = StateVector(_euler_for(rot))
    built = build_rotation_matrix(offset)
    if not np.allclose(built, rot, atol=1e-12):
        raise RuntimeError("Stone Soup rotation convention changed: NWU rotation not matched")
    noise = CovarianceMatrix(
        np.diag([radar.sigma_elevation**2, radar.sigma_azimuth**2, radar.sigma_range**2])
    )
    kw = dict(
        ndim_state=ndim_state,
        mapping=(0, 1, 2),
        noise_covar=noise,
        translation_offset=StateVector(radar.site_ecef),
        rotation_offset=offset,
    )
    if not analytic_jacobian:
        return CartesianToElevationBearingRange(**kw)

    class _Analytic(CartesianToElevationBearingRange):
        def jacobian(self, state, **kwargs):
            x = np.asarray(state.state_vector, float).ravel()
            _, h = radar.measure_with_jacobian(x[:6])
            out = np.zeros((3, self.ndim_state))
            out[0, :6] = h[2]  # elevation
            out[1, :6] = -h[1]  # bearing = -azimuth
            out[2, :6] = h[0]  # range
            return out

    return _Analytic(**kw)


def to_stonesoup_z(z: NDArray) -> NDArray:
    """Ours (range, az, el) ``(..., 3)`` -> Stone Soup (el, bearing, range) ``(..., 3)``."""
    z = np.asarray(z, float)
    return np.stack([z[..., 2], wrap_angle(-z[..., 1]), z[..., 0]], axis=-1)


def from_stonesoup_z(zs: NDArray) -> NDArray:
    """Stone Soup (el, bearing, range) -> ours (range, az in [0, 2 pi), el)."""
    zs = np.asarray(zs, float)
    return np.stack([zs[..., 2], np.mod(-zs[..., 1], 2 * np.pi), zs[..., 0]], axis=-1)


def _typed_meas(z_ss: NDArray):
    from stonesoup.types.angle import Bearing, Elevation
    from stonesoup.types.array import StateVector

    return StateVector([Elevation(z_ss[0]), Bearing(z_ss[1]), float(z_ss[2])])


def ekf_update(
    model, mean: NDArray, cov: NDArray, z: NDArray, t: float = 0.0, joseph: bool = True
) -> tuple[NDArray, NDArray]:
    """One Stone Soup ``ExtendedKalmanUpdater`` update with our (range, az, el) ``z``.

    ``model`` from :func:`radar_model`; returns posterior mean ``(n,)`` and cov ``(n, n)``.
    """
    from stonesoup.types.detection import Detection
    from stonesoup.types.hypothesis import SingleHypothesis
    from stonesoup.types.prediction import GaussianStatePrediction
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    ts = EPOCH + _dt.timedelta(seconds=float(t))
    pred = GaussianStatePrediction(np.asarray(mean, float)[:, None], np.asarray(cov), ts)
    det = Detection(_typed_meas(to_stonesoup_z(z)), timestamp=ts, measurement_model=model)
    upd = ExtendedKalmanUpdater(measurement_model=model, use_joseph_cov=joseph)
    post = upd.update(SingleHypothesis(pred, det))
    return np.asarray(post.state_vector, float).ravel(), np.asarray(post.covar, float)


def _motion_class():
    from stonesoup.base import Property
    from stonesoup.models.transition.nonlinear import GaussianTransitionModel
    from stonesoup.types.array import CovarianceMatrix, StateVectors

    class _Motion(GaussianTransitionModel):
        """Our MotionModel inside Stone Soup (function, jacobian, covar)."""

        motion: object = Property(doc="trackers MotionModel")

        @property
        def ndim_state(self):
            return self.motion.ndim

        def function(self, state, noise=False, **kwargs):
            dt = kwargs["time_interval"].total_seconds()
            x = np.asarray(state.state_vector, float)  # (n, K)
            y = self.motion.propagate(x.T, dt).T
            if noise is True:
                y = y + self.rvs(num_samples=x.shape[1], **kwargs)
            return StateVectors(y) if y.shape[1] > 1 else y.view(type(state.state_vector))

        def jacobian(self, state, **kwargs):
            dt = kwargs["time_interval"].total_seconds()
            x = np.asarray(state.state_vector, float).ravel()
            return self.motion.propagate_with_jacobian(x, dt)[1]

        def covar(self, time_interval=None, **kwargs):
            dt = time_interval.total_seconds()
            return CovarianceMatrix(self.motion.process_noise(np.zeros(self.ndim_state), dt))

    return _Motion


def MotionAsTransitionModel(motion: MotionModel):
    """A Stone Soup ``GaussianTransitionModel`` wrapping ``motion`` (state-independent Q)."""
    return _motion_class()(motion=motion)


def run_ekf(
    motion: MotionModel,
    radar: RadarMeasurement,
    mean0: NDArray,
    cov0: NDArray,
    zs: NDArray,
    dt: float,
    unscented: bool = False,
) -> tuple[NDArray, NDArray]:
    """Stone Soup EKF (or UKF) predict/update over ``zs`` ``(T, 3)`` (ours), one run.

    The radar model uses the analytic Jacobian (module doc) so results match ours.

    Returns posterior means ``(T, n)`` and covariances ``(T, n, n)``.
    """
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor, UnscentedKalmanPredictor
    from stonesoup.types.detection import Detection
    from stonesoup.types.hypothesis import SingleHypothesis
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater, UnscentedKalmanUpdater

    tm = MotionAsTransitionModel(motion)
    mm = radar_model(radar, motion.ndim, analytic_jacobian=True)
    if unscented:
        predictor = UnscentedKalmanPredictor(tm, alpha=1.0, beta=2.0, kappa=0.0)
        updater = UnscentedKalmanUpdater(mm, alpha=1.0, beta=2.0, kappa=0.0)
    else:
        predictor = ExtendedKalmanPredictor(tm)
        updater = ExtendedKalmanUpdater(mm, use_joseph_cov=True)
    state = GaussianState(np.asarray(mean0, float)[:, None], np.asarray(cov0, float), EPOCH)
    xs, ps = [], []
    for k, z in enumerate(zs):
        ts = EPOCH + _dt.timedelta(seconds=(k + 1) * dt)
        pred = predictor.predict(state, timestamp=ts)
        if np.any(np.isnan(z)):
            state = pred
        else:
            det = Detection(_typed_meas(to_stonesoup_z(z)), timestamp=ts, measurement_model=mm)
            state = updater.update(SingleHypothesis(pred, det))
        xs.append(np.asarray(state.state_vector, float).ravel())
        ps.append(np.asarray(state.covar, float))
    return np.array(xs), np.array(ps)


def run_ukf(motion, radar, mean0, cov0, zs, dt):
    """Stone Soup UKF (Merwe alpha = 1, beta = 2, kappa = 0), see :func:`run_ekf`."""
    return run_ekf(motion, radar, mean0, cov0, zs, dt, unscented=True)


def run_kf_cv(
    q: float, sigma: float, mean0: NDArray, cov0: NDArray, zs: NDArray, dt: float
) -> tuple[NDArray, NDArray]:
    """Stone Soup linear KF: 3 x ``ConstantVelocity(q)`` and a linear position measurement.

    Stone Soup orders the state [x, vx, y, vy, z, vz]; inputs and outputs here use ours
    [x, y, z, vx, vy, vz] (permuted on the way in and out).
    """
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.types.detection import Detection
    from stonesoup.types.hypothesis import SingleHypothesis
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    perm = np.array([0, 3, 1, 4, 2, 5])  # theirs[i] = ours[perm[i]]
    inv = np.argsort(perm)
    tm = CombinedLinearGaussianTransitionModel([ConstantVelocity(q)] * 3)
    mm = LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=np.eye(3) * sigma**2)
    predictor, updater = KalmanPredictor(tm), KalmanUpdater(mm, use_joseph_cov=True)
    m0 = np.asarray(mean0, float)[perm]
    c0 = np.asarray(cov0, float)[np.ix_(perm, perm)]
    state = GaussianState(m0[:, None], c0, EPOCH)
    xs, ps = [], []
    for k, z in enumerate(zs):
        ts = EPOCH + _dt.timedelta(seconds=(k + 1) * dt)
        pred = predictor.predict(state, timestamp=ts)
        if np.any(np.isnan(z)):  # missed detection: keep the prediction
            state = pred
        else:
            det = Detection(np.asarray(z, float)[:, None], timestamp=ts, measurement_model=mm)
            state = updater.update(SingleHypothesis(pred, det))
        xs.append(np.asarray(state.state_vector, float).ravel()[inv])
        ps.append(np.asarray(state.covar, float)[np.ix_(inv, inv)])
    return np.array(xs), np.array(ps)
