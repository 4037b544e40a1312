"""Square-root CKF: equals the CKF to round-off; survives where the plain CKF breaks down."""

import numpy as np
import oracle
import pytest

from benchmarks import reentry as bench
from trackers.filters import CKF, Filter, Gaussian
from trackers.filters.runner import MeasurementStream, run
from trackers.filters.square_root import SqrtGaussian, SquareRootCKF, matrix_sqrt, tria
from trackers.filters.validation import trusted
from trackers.models.linear import CV, LinearPosition
from trackers.models.reentry import ReentryMotion


def test_tria_and_matrix_sqrt():
    rng = np.random.default_rng(71)
    A = rng.standard_normal((5, 4, 9))
    L = tria(A)
    np.testing.assert_allclose(L @ np.swapaxes(L, -1, -2), A @ np.swapaxes(A, -1, -2), rtol=1e-12)
    assert np.allclose(np.triu(L, 1), 0.0) and np.all(np.diagonal(L, axis1=-2, axis2=-1) > 0)
    Q = np.diag([0.0, 0.0, 2.0, 3.0])  # singular, as in the reentry model
    M = matrix_sqrt(Q)
    np.testing.assert_allclose(M @ M.T, Q, atol=1e-15)


def test_equals_ckf_on_multi_sensor_stream():
    model, sensors, stream, X = oracle.multi_sensor_stream(runs=4, seed=72)
    prior = Gaussian(oracle.X0_MULTI, oracle.P0_MULTI)
    ref = run(Filter(CKF(), model), prior, stream, sensors, truth=X)
    sr = SquareRootCKF(model)
    ours = run(sr, sr.initial_belief(prior), stream, sensors, truth=X)
    np.testing.assert_allclose(ours.mean, ref.mean, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ours.cov, ref.cov, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(ours.nis, ref.nis, rtol=1e-7)
    np.testing.assert_allclose(ours.loglik, ref.loglik, rtol=1e-9)


def test_equals_ckf_on_reentry_and_stays_psd():
    rng = np.random.default_rng(73)
    t, _, Z, radar = bench.simulate("ekfukf", 5, rng)
    T = 400
    stream = MeasurementStream(t[:T], np.zeros(T, int), Z[:, :T])
    prior = Gaussian(bench.M0, bench.P0)
    ref = run(Filter(CKF(), ReentryMotion()), prior, stream, [radar])
    sr = SquareRootCKF(ReentryMotion())
    summ = run(sr, sr.initial_belief(prior), stream, [radar], keep="final")
    np.testing.assert_allclose(summ.final_gaussian.mean, ref.mean[:, -1], rtol=1e-9)
    np.testing.assert_allclose(summ.final_gaussian.cov, ref.cov[:, -1], rtol=1e-5, atol=1e-14)
    assert isinstance(summ.final, SqrtGaussian)
    assert np.all(np.linalg.eigvalsh(summ.final_gaussian.cov) >= 0)


def test_missed_detection_keeps_the_factor():
    model, sensors, stream, _ = oracle.multi_sensor_stream(runs=2, seed=74)
    sr = SquareRootCKF(model)
    b = sr.initial_belief(
        Gaussian(np.stack([oracle.X0_MULTI] * 2), np.stack([oracle.P0_MULTI] * 2))
    )
    b = sr.predict(b, 1.0)
    z = np.array([[np.nan] * 3, stream.z[1, 0]])
    post, info = sr.update(b, z, sensors[0])
    np.testing.assert_array_equal(post.chol[0], b.chol[0])
    assert np.isnan(info.nis[0]) and info.loglik[0] == 0.0 and np.isfinite(info.nis[1])
    with pytest.raises(ValueError, match=r"prior\.cov"):
        run(sr, SqrtGaussian(oracle.X0_MULTI, np.full((6, 6), np.nan)), stream, sensors)


def test_survives_ill_conditioning_that_breaks_the_plain_ckf():
    # 1e5 m prior sigma, 1e-6 m measurement sigma: P spans 22 orders of magnitude, beyond
    # double precision for P - K S K'; the factor form spans only 11.
    rng = np.random.default_rng(75)
    model, sensor = CV(q=1e-8), LinearPosition(1e-6)
    x0 = np.array([1e5, 2e5, 3e4, 100.0, 100.0, 10.0])
    P0 = np.diag([1e10] * 3 + [1e4] * 3)
    P0[0, 3] = P0[3, 0] = 0.9 * 1e7
    g = Gaussian(x0, P0)
    f, sr = Filter(CKF(), model), SquareRootCKF(model)
    b = sr.initial_belief(g)
    for _ in range(10):
        z = x0[:3] + 1e-6 * rng.standard_normal(3)
        with trusted():  # let the plain CKF break down silently, as inside run's time loop
            g, _ = f.update(f.predict(g, 0.1), z, sensor)
        b, info = sr.update(sr.predict(b, 0.1), z, sensor)
    assert not np.all(np.isfinite(g.cov))  # the plain CKF broke down
    gb = sr.gaussian(b)
    assert np.all(np.isfinite(gb.cov)) and np.linalg.eigvalsh(gb.cov).min() >= 0
    assert np.all(np.abs(gb.mean[:3] - x0[:3]) < 1e-4) and np.isfinite(info.nis)
