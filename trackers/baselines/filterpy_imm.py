"""Run filterpy's KalmanFilter, UnscentedKalmanFilter and IMMEstimator on our data.

Thin glue for the cross-checks (tests/test_imm.py) and the speed benchmark
(benchmarks/speed.py). filterpy works one run at a time with mutable filter objects, so each
function here loops over the time steps of a single run and returns stacked histories.

filterpy conventions matched here: 1-D state vectors; ``KalmanFilter.update`` uses the Joseph
form (as ours); ``IMMEstimator`` mixes at the start of ``predict`` with the mixing
probabilities computed at the end of the previous ``update`` (Blom & Bar-Shalom 1988), and
requires equal-size filters with a fixed transition matrix; its likelihoods are clamped at
``sys.float_info.min``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "exact_log_likelihood",
    "make_ekf",
    "make_kf",
    "run_ekf",
    "run_imm",
    "run_imm_ekf",
    "run_kf",
    "run_ukf",
]


def make_kf(f: NDArray, q: NDArray, h: NDArray, r: NDArray, x0: NDArray, p0: NDArray):
    """A filterpy ``KalmanFilter`` with the given matrices and prior (copies everything)."""
    from filterpy.kalman import KalmanFilter

    n, m = f.shape[0], h.shape[0]
    kf = KalmanFilter(dim_x=n, dim_z=m)
    kf.F, kf.Q, kf.H, kf.R = (np.array(a, float) for a in (f, q, h, r))
    kf.x = np.array(x0, float)
    kf.P = np.array(p0, float)
    return kf


def run_kf(
    f: NDArray, q: NDArray, h: NDArray, r: NDArray, x0: NDArray, p0: NDArray, zs: NDArray
) -> tuple[NDArray, NDArray]:
    """Predict-then-update for each row of ``zs`` ``(T, m)``; NaN rows skip the update.

    Returns posterior means ``(T, n)`` and covariances ``(T, n, n)``.
    """
    return _histories(make_kf(f, q, h, r, x0, p0), zs)


def _histories(filt, zs: NDArray) -> tuple[NDArray, NDArray]:
    """Predict, then update unless the row of ``zs`` has a NaN; posterior means and covariances
    ``(T, n)``, ``(T, n, n)`` of a filterpy filter whose ``update`` takes ``z`` alone."""
    xs, ps = [], []
    for z in zs:
        filt.predict()
        if not np.any(np.isnan(z)):
            filt.update(z)
        xs.append(filt.x.copy())
        ps.append(filt.P.copy())
    return np.array(xs), np.array(ps)


def exact_log_likelihood(y: NDArray, S: NDArray) -> float:
    """log N(y; 0, S) = -0.5 (y' S^-1 y + log det(2 pi S)), without any eigenvalue cut-off."""
    nis = float(y @ np.linalg.solve(S, y))
    return -0.5 * (nis + float(np.linalg.slogdet(2.0 * np.pi * S)[1]))


def make_ekf(
    motion, sensor, q: NDArray, x0: NDArray, p0: NDArray, dt: float, exact_likelihood: bool = True
):
    """A filterpy ``ExtendedKalmanFilter`` driven by our motion and measurement models.

    ``predict_x`` propagates with ``motion.propagate_with_jacobian`` (RK4 + variational
    equations) and sets F; ``update(z)`` (the one-argument form that ``IMMEstimator`` calls)
    uses ``sensor.measure_with_jacobian`` and the angle-wrapping residual. Q is fixed
    (``q``, ``(n, n)``).

    ``exact_likelihood``: filterpy's ``likelihood`` comes from ``filterpy.stats.logpdf``, i.e.
    ``scipy.stats.multivariate_normal(allow_singular=True)``, which treats eigenvalues of S
    below ~1e6 eps lambda_max as zero. A radar's innovation covariance mixes m^2 (~1e5) and
    rad^2 (~1e-7): the angle directions are then dropped and the likelihood is wrong (e.g.
    -7.15 instead of 6.11; tests/test_imm.py documents it), which corrupts IMM mode
    probabilities. With True (default) the likelihood is the exact Gaussian density
    (:func:`exact_log_likelihood`), still floored at ``sys.float_info.min`` like filterpy's.
    """
    from filterpy.kalman import ExtendedKalmanFilter

    from trackers.models.base import residual

    idx = tuple(sensor.angle_indices)

    class _EKF(ExtendedKalmanFilter):
        def predict_x(self, u=0):
            self.x, self.F = motion.propagate_with_jacobian(self.x, dt)

        def update(self, z, *args, **kwargs):
            super().update(
                z,
                lambda x: sensor.measure_with_jacobian(x)[1],
                sensor.measure,
                residual=lambda a, b: residual(a, b, idx),
            )

        if exact_likelihood:

            @property
            def likelihood(self):
                ll = exact_log_likelihood(np.ravel(self.y), self.S)
                return max(float(np.exp(ll)), sys.float_info.min)

    ekf = _EKF(dim_x=len(x0), dim_z=int(sensor.ndim_meas))
    ekf.x = np.array(x0, float)
    ekf.P = np.array(p0, float)
    ekf.Q = np.array(q, float)
    ekf.R = np.array(sensor.noise_cov(), float)
    return ekf


def run_ekf(motion, sensor, q: NDArray, x0: NDArray, p0: NDArray, zs: NDArray, dt: float):
    """filterpy's EKF (:func:`make_ekf`) over one run: predict, then update unless z is NaN.

    Returns posterior means and covariances ``(T, n)``, ``(T, n, n)``.
    """
    return _histories(make_ekf(motion, sensor, q, x0, p0, dt), zs)


def run_imm_ekf(
    motions: Sequence,
    qs: Sequence[NDArray],
    sensor,
    x0s: Sequence[NDArray],
    p0s: Sequence[NDArray],
    mu0: NDArray,
    trans: NDArray,
    zs: NDArray,
    dt: float,
) -> dict[str, NDArray]:
    """filterpy ``IMMEstimator`` over EKF modes built on our models (:func:`make_ekf`).

    The same workload as our IMM of EKF modes (equal state vectors, fixed transition matrix),
    so the two can be compared number for number and timed like for like. Every row of ``zs``
    must be a detection (filterpy's IMM has no missed-detection path). The modes use the exact
    Gaussian likelihood (see :func:`make_ekf`: filterpy's own is wrong for radar innovations).
    Returns the histories of :func:`run_imm`.
    """
    ekfs = [
        make_ekf(m, sensor, q, x0, p0, dt)
        for m, q, x0, p0 in zip(motions, qs, x0s, p0s, strict=True)
    ]
    return _imm_histories(ekfs, mu0, trans, zs)


def run_imm(
    filters: Sequence[tuple[NDArray, NDArray]],
    h: NDArray,
    r: NDArray,
    x0s: Sequence[NDArray],
    p0s: Sequence[NDArray],
    mu0: NDArray,
    trans: NDArray,
    zs: NDArray,
) -> dict[str, NDArray]:
    """filterpy ``IMMEstimator`` over linear KF modes ``filters = [(F_j, Q_j), ...]``.

    Returns a dict of histories after each update: ``x`` ``(T, n)``, ``P`` ``(T, n, n)``
    (combined), ``mu`` ``(T, M)``, ``mode_x`` ``(T, M, n)``, ``mode_P`` ``(T, M, n, n)``.
    """
    kfs = [make_kf(f, q, h, r, x0, p0) for (f, q), x0, p0 in zip(filters, x0s, p0s, strict=True)]
    return _imm_histories(kfs, mu0, trans, zs)


def _imm_histories(filters: list, mu0: NDArray, trans: NDArray, zs: NDArray) -> dict[str, NDArray]:
    """filterpy ``IMMEstimator`` over ``filters``: predict, update each row of ``zs``; histories."""
    from filterpy.kalman import IMMEstimator

    imm = IMMEstimator(filters, np.array(mu0, float), np.array(trans, float))
    out: dict[str, list] = {"x": [], "P": [], "mu": [], "mode_x": [], "mode_P": []}
    for z in zs:
        imm.predict()
        imm.update(z)
        out["x"].append(imm.x.copy())
        out["P"].append(imm.P.copy())
        out["mu"].append(imm.mu.copy())
        out["mode_x"].append(np.array([k.x for k in filters]))
        out["mode_P"].append(np.array([k.P for k in filters]))
    return {k: np.array(v) for k, v in out.items()}


def run_ukf(
    fx: Callable[[NDArray, float], NDArray],
    hx: Callable[[NDArray], NDArray],
    q: NDArray,
    r: NDArray,
    x0: NDArray,
    p0: NDArray,
    zs: NDArray,
    dt: float,
    alpha: float = 1.0,
    beta: float = 2.0,
    kappa: float = 0.0,
    angle_indices: Sequence[int] = (),
) -> tuple[NDArray, NDArray]:
    """filterpy ``UnscentedKalmanFilter`` (Merwe scaled points) over ``zs`` ``(T, m)``.

    ``fx(x, dt)`` and ``hx(x)`` act on one state; angle residuals of ``angle_indices`` are
    wrapped (filterpy's ``residual_z`` hook). Returns posterior means and covariances.
    """
    from filterpy.kalman import MerweScaledSigmaPoints, UnscentedKalmanFilter

    from trackers.models.base import residual

    n, m = len(x0), r.shape[0]
    pts = MerweScaledSigmaPoints(n, alpha=alpha, beta=beta, kappa=kappa)
    idx = tuple(angle_indices)
    ukf = UnscentedKalmanFilter(
        dim_x=n,
        dim_z=m,
        dt=dt,
        hx=hx,
        fx=fx,
        points=pts,
        residual_z=(lambda a, b: residual(a, b, idx)) if idx else None,
    )
    ukf.x = np.array(x0, float)
    ukf.P = np.array(p0, float)
    ukf.Q = np.array(q, float)
    ukf.R = np.array(r, float)
    xs, ps = [], []
    for z in zs:
        ukf.predict()
        if not np.any(np.isnan(z)):
            ukf.update(z)
        xs.append(ukf.x.copy())
        ps.append(ukf.P.copy())
    return np.array(xs), np.array(ps)
