"""Linear KF and EKF: textbook oracle, filterpy, batched = per-run, missed detections."""

import numpy as np
import oracle
import pytest
from filterpy.kalman import KalmanFilter
from scipy.stats import multivariate_normal

from trackers.filters import EKF, KF, Filter, Gaussian
from trackers.filters.runner import MeasurementStream, run
from trackers.models.linear import CV, LinearPosition

DT = 0.5
X0 = np.array([1000.0, -2000.0, 500.0, 30.0, 20.0, -5.0])
P0 = np.diag([400.0, 400.0, 400.0, 100.0, 100.0, 100.0])


def _problem(runs=1, T=50, seed=1, miss=0.0):
    rng = np.random.default_rng(seed)
    model, sensor = CV(q=2.0), LinearPosition(15.0)
    F, Q = model.transition_matrix(DT), model.noise_matrix(DT)
    X = oracle.simulate_linear(F, Q, X0, P0, T, runs, rng)
    Z = X[..., :3] + 15.0 * rng.standard_normal((runs, T, 3))
    Z[rng.random((runs, T)) < miss] = np.nan
    stream = MeasurementStream(DT * np.arange(1, T + 1), np.zeros(T, dtype=int), Z)
    return model, sensor, X, stream


def test_kf_matches_filterpy_1000_steps():
    model, sensor, _, stream = _problem(runs=1, T=1000, seed=2)
    track = run(Filter(KF(), model), Gaussian(X0, P0), stream, [sensor])
    fp = KalmanFilter(dim_x=6, dim_z=3)
    fp.x, fp.P = X0.copy(), P0.copy()
    fp.F, fp.Q = model.transition_matrix(DT), model.noise_matrix(DT)
    fp.H, fp.R = sensor.matrix(), sensor.noise_cov()
    xs, Ps = [], []
    for z in stream.z[0]:
        fp.predict()
        fp.update(z)
        xs.append(fp.x.copy())
        Ps.append(fp.P.copy())
    np.testing.assert_allclose(track.mean[0], np.array(xs), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(track.cov[0], np.array(Ps), rtol=1e-9, atol=1e-12)


def test_kf_matches_textbook_oracle_with_misses_and_loglik():
    model, sensor, _, stream = _problem(runs=1, T=80, seed=3, miss=0.2)
    track = run(Filter(KF(), model), Gaussian(X0, P0), stream, [sensor])
    xs, Ps, nis, ll = oracle.kf(
        X0,
        P0,
        model.transition_matrix(DT),
        model.noise_matrix(DT),
        sensor.matrix(),
        sensor.noise_cov(),
        stream.z[0],
    )
    assert np.isnan(track.nis[0]).sum() > 5  # the misses are really there
    np.testing.assert_allclose(track.mean[0], xs, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(track.cov[0], Ps, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(track.nis[0], nis, rtol=1e-8)
    np.testing.assert_allclose(track.loglik[0], ll, rtol=1e-9)
    hit = ~np.isnan(nis)
    assert np.all(np.isnan(track.innovation[0][~hit]))
    assert np.all(track.loglik[0][~hit] == 0.0)


def test_loglik_equals_scipy_gaussian_density():
    model, sensor, _, stream = _problem(runs=4, T=3, seed=4)
    f = Filter(KF(), model)
    pred = f.predict(Gaussian(np.broadcast_to(X0, (4, 6)), np.broadcast_to(P0, (4, 6, 6))), DT)
    z = stream.z[:, 0]
    _, info = f.update(pred, z, sensor)
    zhat = pred.mean[:, :3]
    for i in range(4):
        expect = multivariate_normal(zhat[i], info.S[i]).logpdf(z[i])
        assert info.loglik[i] == pytest.approx(expect, rel=1e-10)


def test_batched_equals_per_run():
    model, sensor, _, stream = _problem(runs=7, T=40, seed=5, miss=0.1)
    f = Filter(KF(), model)
    batched = run(f, Gaussian(X0, P0), stream, [sensor])
    for i in range(7):
        single = run(f, Gaussian(X0, P0), stream._replace(z=stream.z[i]), [sensor])
        np.testing.assert_allclose(batched.mean[i], single.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(batched.cov[i], single.cov, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(np.isnan(batched.nis[i]), np.isnan(single.nis))


def test_ekf_on_linear_model_equals_kf():
    model, sensor, _, stream = _problem(runs=5, T=60, seed=6)
    a = run(Filter(KF(), model), Gaussian(X0, P0), stream, [sensor])
    for rule in (EKF(), EKF(numerical=True)):
        b = run(Filter(rule, model), Gaussian(X0, P0), stream, [sensor])
        np.testing.assert_allclose(b.mean, a.mean, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(b.cov, a.cov, rtol=1e-7, atol=1e-6)
        np.testing.assert_allclose(b.nis, a.nis, rtol=1e-6)


def test_missed_detection_leaves_prediction_unchanged():
    model, sensor = CV(q=1.0), LinearPosition(10.0)
    f = Filter(KF(), model)
    pred = f.predict(Gaussian(np.stack([X0, X0]), np.stack([P0, P0])), 1.0)
    z = np.array([[np.nan] * 3, [1000.0, -2000.0, 500.0]])
    post, info = f.update(pred, z, sensor)
    np.testing.assert_array_equal(post.mean[0], pred.mean[0])
    np.testing.assert_array_equal(post.cov[0], pred.cov[0])
    assert np.isnan(info.nis[0]) and info.loglik[0] == 0.0 and np.isnan(info.innovation[0]).all()
    assert np.isfinite(info.nis[1]) and not np.allclose(post.mean[1], pred.mean[1])


def test_all_runs_missed_returns_the_prior_and_keeps_a_shared_covariance():
    model, sensor = CV(q=1.0), LinearPosition(10.0)
    f = Filter(KF(), model)
    pred = f.predict(Gaussian(np.stack([X0, X0 + 1.0]), P0), 1.0)
    assert pred.cov.shape == (6, 6)  # shared by both runs
    post, info = f.update(pred, np.full((2, 3), np.nan), sensor)
    assert post.mean is pred.mean and post.cov is pred.cov
    assert info.innovation.shape == (2, 3) and np.isnan(info.innovation).all()
    assert info.S.shape == (2, 3, 3) and np.isnan(info.nis).all()
    np.testing.assert_array_equal(info.loglik, [0.0, 0.0])
    np.testing.assert_allclose(info.S[1], pred.cov[:3, :3] + 100.0 * np.eye(3))
    # one detection: that run is updated, the other one keeps its prediction
    post, info = f.update(pred, np.array([[np.nan] * 3, X0[:3]]), sensor)
    assert post.cov.shape == (2, 6, 6)
    np.testing.assert_array_equal(post.cov[0], pred.cov)
    assert np.trace(post.cov[1]) < np.trace(pred.cov) and np.isfinite(info.nis[1])


def test_joseph_update_keeps_covariance_symmetric_psd():
    # a very precise sensor makes P - K S K' lose positive-definiteness in round-off;
    # the Joseph form must not
    model, sensor = CV(q=1e-6), LinearPosition(1e-6)
    f = Filter(KF(), model)
    b = Gaussian(X0, np.diag([1e8] * 3 + [1e4] * 3))
    for k in range(50):
        b = f.predict(b, 0.1)
        b, _ = f.update(b, X0[:3] + 3.0 * k * 0.1, sensor)
    np.testing.assert_array_equal(b.cov, b.cov.T)
    assert np.linalg.eigvalsh(b.cov).min() > 0


def test_selection_matrix_slices_equal_the_matrix_products():
    from dataclasses import dataclass

    from trackers.filters.linalg_small import selection_slice

    H = LinearPosition(1.0, ndim_state=9).matrix()
    assert selection_slice(H) == slice(0, 3)
    mid = np.eye(3, 9, k=3)
    mid.setflags(write=False)
    assert selection_slice(mid) == slice(3, 6)
    assert selection_slice(np.eye(3, 6)) is None  # writeable: could change, not recognised
    for bad in (2.0 * np.eye(3, 6), np.eye(3, 6)[[1, 0, 2]], np.ones((3, 6))):
        bad.setflags(write=False)
        assert selection_slice(bad) is None

    @dataclass(frozen=True)
    class PlainH(LinearPosition):
        def matrix(self):
            return super().matrix().copy()  # writeable: the KF takes the matmul path

    model, sensor, _, stream = _problem(runs=4, T=60, seed=5, miss=0.1)
    a = run(Filter(KF(), model), Gaussian(X0, P0), stream, [sensor])
    b = run(Filter(KF(), model), Gaussian(X0, P0), stream, [PlainH(15.0)])
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-13)
    np.testing.assert_allclose(a.cov, b.cov, rtol=1e-13)
    np.testing.assert_allclose(a.nis, b.nis, rtol=1e-12)


def test_small_matmul_handles_shared_and_empty_stacks():
    """``linalg_small.matmul`` against ``np.matmul``: a broadcast (shared) operand takes the
    one-GEMM path, and an empty stack (all-zero strides in NumPy) must not be mistaken for
    one."""
    from trackers.filters.linalg_small import matmul

    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 3, 4))
    B = rng.normal(size=(4, 2))
    Bs = np.broadcast_to(B, (5, 4, 2))
    np.testing.assert_allclose(matmul(A, Bs), A @ B, rtol=1e-14)
    np.testing.assert_allclose(matmul(np.broadcast_to(B.T, (5, 2, 4)), A.swapaxes(1, 2)),
                               B.T @ A.swapaxes(1, 2), rtol=1e-14)  # fmt: skip
    for shape in ((0, 3, 4), (2, 0, 3, 4)):
        E = np.zeros(shape)
        out = matmul(E, np.zeros((*shape[:-2], 4, 2)))
        assert out.shape == (*shape[:-2], 3, 2)
