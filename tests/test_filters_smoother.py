"""RTS (KF/EKF) and unscented RTS smoothers against textbook loops and statistics."""

import numpy as np
import oracle
import pytest

from benchmarks import reentry as bench
from trackers.filters import CKF, EKF, KF, UKF, Filter, Gaussian
from trackers.filters.runner import MeasurementStream, run
from trackers.filters.smoother import rts_smooth
from trackers.models.linear import CV, LinearPosition
from trackers.models.reentry import ReentryMotion

X0 = np.array([0.0, 0.0, 1000.0, 100.0, 50.0, 0.0])
P0 = np.diag([50.0**2] * 3 + [10.0**2] * 3)


def _cv(runs, T, seed):
    rng = np.random.default_rng(seed)
    model, sensor = CV(q=0.3), LinearPosition(20.0)
    F, Q = model.transition_matrix(1.0), model.noise_matrix(1.0)
    X = oracle.simulate_linear(F, Q, X0, P0, T, runs, rng)
    Z = X[..., :3] + 20.0 * rng.standard_normal((runs, T, 3))
    return model, sensor, X, MeasurementStream(np.arange(1.0, T + 1), np.zeros(T, int), Z)


@pytest.mark.parametrize("rule", [KF(), EKF(), UKF(), CKF()])
def test_rts_matches_textbook_on_linear_model(rule):
    model, sensor, _, stream = _cv(runs=3, T=40, seed=41)
    f = Filter(rule, model)
    track = run(f, Gaussian(X0, P0), stream, [sensor])
    sm = rts_smooth(track, f)
    F, Q = model.transition_matrix(1.0), model.noise_matrix(1.0)
    for i in range(3):
        xs, Ps = oracle.rts(track.mean[i], track.cov[i], F, Q)
        np.testing.assert_allclose(sm.mean[i], xs, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(sm.cov[i], Ps, rtol=1e-7, atol=1e-6)
    # the last epoch is the filtered one; earlier ones are more certain
    np.testing.assert_array_equal(sm.mean[:, -1], track.mean[:, -1])
    tr_s = np.trace(sm.cov[:, :-1], axis1=-2, axis2=-1)
    tr_f = np.trace(track.cov[:, :-1], axis1=-2, axis2=-1)
    assert np.all(tr_s < tr_f)


def test_urts_matches_textbook_on_reentry():
    rng = np.random.default_rng(42)
    t, _, Z, radar = bench.simulate("ekfukf", 1, rng)
    T = 80
    model = ReentryMotion()
    f = Filter(UKF(0.5, 2.0, 0.0), model)
    track = run(
        f,
        Gaussian(bench.M0, bench.P0),
        MeasurementStream(t[:T], np.zeros(T, int), Z[:, :T]),
        [radar],
    )
    sm = rts_smooth(track, f)
    xs, Ps = oracle.urts(
        track.mean[0],
        track.cov[0],
        lambda x: model.propagate(x, 0.1),
        model.process_noise(None, 0.1),
        alpha=0.5,
    )
    np.testing.assert_allclose(sm.mean[0], xs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(sm.cov[0], Ps, rtol=1e-6, atol=1e-12)


def test_smoothers_reduce_error_and_stay_consistent():
    model, sensor, X, stream = _cv(runs=100, T=60, seed=43)
    for rule in (KF(), UKF()):
        f = Filter(rule, model)
        track = run(f, Gaussian(X0, P0), stream, [sensor])
        sm = rts_smooth(track, f)
        ef = np.sqrt(np.mean(np.sum((X - track.mean)[..., :3] ** 2, -1)))
        es = np.sqrt(np.mean(np.sum((X - sm.mean)[..., :3] ** 2, -1)))
        assert es < 0.8 * ef
        e = X - sm.mean
        nees = np.einsum("rti,rtij,rtj->rt", e, np.linalg.inv(sm.cov), e).mean()
        assert 5.5 < nees < 6.5  # chi2(6) mean over 6000 correlated samples


def test_ekf_smoother_on_reentry_beats_filter():
    rng = np.random.default_rng(44)
    t, X, Z, radar = bench.simulate("ekfukf", 20, rng)
    T = 300
    f = Filter(EKF(), ReentryMotion())
    stream = MeasurementStream(t[:T], np.zeros(T, int), Z[:, :T])
    track = run(f, Gaussian(bench.M0, bench.P0), stream, [radar])
    sm = rts_smooth(track, f)
    err_f = np.abs(X[:, :T, 4] - track.mean[..., 4]).mean()
    err_s = np.abs(X[:, :T, 4] - sm.mean[..., 4]).mean()
    assert err_s < 0.8 * err_f  # the ballistic factor is much better known in hindsight


def test_smoother_input_checks():
    model, sensor, _, stream = _cv(runs=2, T=5, seed=45)
    f = Filter(KF(), model)
    summ = run(f, Gaussian(X0, P0), stream, [sensor], keep="final")
    with pytest.raises(TypeError, match="track must be"):
        rts_smooth(summ, f)
    track = run(f, Gaussian(X0, P0), stream, [sensor])
    with pytest.raises(ValueError, match=r"track\.mean must be"):
        rts_smooth(track, Filter(KF(), ReentryMotion()))
    with pytest.raises(TypeError, match="filt must be"):
        rts_smooth(track, KF())
