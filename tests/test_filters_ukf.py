"""Nonlinear filters (EKF, UKF, CKF) on CV motion + local range/azimuth/elevation radar."""

from dataclasses import replace

import numpy as np
import oracle
import pytest
from filterpy.kalman import MerweScaledSigmaPoints, UnscentedKalmanFilter

from trackers.filters import CKF, EKF, UKF, Filter, Gaussian
from trackers.filters.jacobians import numerical_jacobian
from trackers.filters.runner import MeasurementStream, run
from trackers.filters.validation import trusted
from trackers.models.linear import CV

DT = 1.0
X0 = np.array([8000.0, 12000.0, 3000.0, -60.0, -150.0, 10.0])
P0 = np.diag([200.0**2] * 3 + [20.0**2] * 3)


def _problem(runs=1, T=60, seed=11, x0=X0):
    rng = np.random.default_rng(seed)
    model, sensor = CV(q=0.5), oracle.LocalRAE()
    X = oracle.simulate_linear(
        model.transition_matrix(DT), model.noise_matrix(DT), x0, P0, T, runs, rng
    )
    v = rng.standard_normal((runs, T, 3)) * np.sqrt(np.diag(sensor.noise_cov()))
    Z = sensor.measure(X) + v
    Z[..., 1] = oracle.wrap(Z[..., 1])
    return model, sensor, X, MeasurementStream(DT * np.arange(1, T + 1), np.zeros(T, int), Z)


@pytest.mark.parametrize(("alpha", "beta", "kappa"), [(1.0, 2.0, 0.0), (0.3, 2.0, 1.0)])
def test_ukf_matches_filterpy(alpha, beta, kappa):
    model, sensor, _, stream = _problem(T=100)
    track = run(Filter(UKF(alpha, beta, kappa), model), Gaussian(X0, P0), stream, [sensor])
    F = model.transition_matrix(DT)
    pts = MerweScaledSigmaPoints(6, alpha=alpha, beta=beta, kappa=kappa)
    fp = UnscentedKalmanFilter(6, 3, DT, hx=sensor.measure, fx=lambda x, dt: F @ x, points=pts)
    fp.x, fp.P = X0.copy(), P0.copy()
    fp.Q, fp.R = model.noise_matrix(DT), sensor.noise_cov()
    xs, Ps = [], []
    for z in stream.z[0]:
        fp.predict()
        fp.update(z)
        xs.append(fp.x.copy())
        Ps.append(fp.P.copy())
    np.testing.assert_allclose(track.mean[0], np.array(xs), rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(track.cov[0], np.array(Ps), rtol=1e-7, atol=1e-7)


def test_ukf_and_ekf_match_textbook_oracle():
    model, sensor, _, stream = _problem(T=50, seed=12)
    F, Q, R = model.transition_matrix(DT), model.noise_matrix(DT), sensor.noise_cov()
    zs = stream.z[0]
    ux, uP, unis = oracle.ukf(X0, P0, lambda x: F @ x, Q, sensor.measure, R, zs, 0.5, 2.0, 0.0)
    tu = run(Filter(UKF(0.5, 2.0, 0.0), model), Gaussian(X0, P0), stream, [sensor])
    np.testing.assert_allclose(tu.mean[0], ux, rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(tu.cov[0], uP, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(tu.nis[0], unis, rtol=1e-7)
    ex, eP, enis = oracle.ekf(
        X0,
        P0,
        lambda x: F @ x,
        lambda x: F,
        Q,
        sensor.measure,
        lambda x: sensor.measure_with_jacobian(x)[1],
        R,
        zs,
        (1, 2),
    )
    te = run(Filter(EKF(), model), Gaussian(X0, P0), stream, [sensor])
    np.testing.assert_allclose(te.mean[0], ex, rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(te.cov[0], eP, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(te.nis[0], enis, rtol=1e-7)
    # EKF and UKF are genuinely different filters on this problem
    assert np.max(np.abs(te.mean[0] - tu.mean[0])) > 1e-3


def test_ckf_equals_ukf_alpha1_beta0_kappa0():
    model, sensor, _, stream = _problem(runs=3, T=40, seed=13)
    a = run(Filter(CKF(), model), Gaussian(X0, P0), stream, [sensor])
    b = run(Filter(UKF(1.0, 0.0, 0.0), model), Gaussian(X0, P0), stream, [sensor])
    c = run(Filter(UKF(1.0, 2.0, 0.0), model), Gaussian(X0, P0), stream, [sensor])
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-11, atol=1e-8)
    np.testing.assert_allclose(a.cov, b.cov, rtol=1e-9, atol=1e-8)
    assert np.max(np.abs(a.cov - c.cov)) > 1e-3  # beta = 2 is a different filter


def _rotate_pi(x):
    """Rotate states by pi about the local vertical: (x, y) -> (-x, -y)."""
    return x * np.array([-1.0, -1.0, 1.0, -1.0, -1.0, 1.0])


@pytest.mark.parametrize("rule", [EKF(), UKF(), CKF()])
def test_azimuth_wrap_is_handled(rule):
    # Target crossing azimuth +-pi (south of the radar, moving east-west) vs the same geometry
    # rotated by pi (azimuth near 0): the estimates must be the rotated images of each other.
    x0 = np.array([300.0, -15000.0, 3000.0, -150.0, -5.0, 0.0])
    model, sensor, X, stream = _problem(runs=4, T=30, seed=14, x0=x0)
    assert np.any(stream.z[..., 1] > 3.0) and np.any(stream.z[..., 1] < -3.0)
    rot = stream.z.copy()
    rot[..., 1] = oracle.wrap(rot[..., 1] + np.pi)
    prior = Gaussian(x0, P0)
    a = run(Filter(rule, model), prior, stream, [sensor])
    b = run(Filter(rule, model), Gaussian(_rotate_pi(x0), P0), stream._replace(z=rot), [sensor])
    np.testing.assert_allclose(_rotate_pi(a.mean), b.mean, rtol=1e-7, atol=1e-5)
    np.testing.assert_allclose(a.nis, b.nis, rtol=1e-6)
    # negative case: without declaring the azimuth as an angle the filter degrades (the EKF
    # diverges; sigma-point filters lose the azimuth while their points straddle the cut)
    naive = replace(sensor, angle_indices=())
    c = run(Filter(rule, model), prior, stream, [naive])
    err_a = np.linalg.norm((a.mean - X)[..., :3], axis=-1).max()
    err_c = np.linalg.norm((c.mean - X)[..., :3], axis=-1).max()
    assert err_a < 100.0
    assert err_c > 3.0 * err_a


def test_numerical_jacobians_match_analytic():
    rng = np.random.default_rng(15)
    x = X0 + rng.standard_normal((5, 6)) * 100.0
    sensor = oracle.LocalRAE()
    _, H = sensor.measure_with_jacobian(x)
    Hn = numerical_jacobian(sensor.measure, x, angle_indices=(1, 2))
    np.testing.assert_allclose(Hn, H, rtol=1e-6, atol=1e-10)
    model = CV(q=1.0)
    _, F = model.propagate_with_jacobian(x, 2.0)
    Fn = numerical_jacobian(lambda xs: model.propagate(xs, 2.0), x)
    np.testing.assert_allclose(Fn, F, rtol=1e-8, atol=1e-8)
    # negative: a wrong analytic Jacobian is caught by this comparison
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(Hn, 1.001 * H, rtol=1e-6, atol=1e-10)


def test_numerical_jacobian_wraps_angles_at_the_branch_cut():
    sensor = oracle.LocalRAE()
    x = np.array([1e-4, -1000.0, 10.0, 0.0, 0.0, 0.0])  # azimuth ~ pi, the cut
    Hn = numerical_jacobian(sensor.measure, x, angle_indices=(1, 2), scale=1.0)
    _, H = sensor.measure_with_jacobian(x)
    np.testing.assert_allclose(Hn, H, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("rule", [UKF(), CKF(), EKF()])
def test_one_broken_run_does_not_stop_the_others(rule):
    model, sensor, _, stream = _problem(runs=4, T=3, seed=16)
    P = np.broadcast_to(P0, (4, 6, 6)).copy()
    P[2] = -P0  # not positive definite
    b = Gaussian(np.broadcast_to(X0, (4, 6)).copy(), P)
    f = Filter(rule, model)
    with pytest.raises(ValueError, match="positive semi-definite"):
        f.predict(b, DT)  # the per-step API refuses the bad belief
    with trusted():  # as inside run's time loop: one bad run must not stop the others
        post, info = f.update(f.predict(b, DT), stream.z[:, 0], sensor)
    good = [0, 1, 3]
    assert np.all(np.isfinite(post.mean[good])) and np.all(np.isfinite(info.nis[good]))
    assert np.all(np.isfinite(info.loglik[good]))
    assert np.isnan(info.loglik[2])  # the broken run is flagged, not silently accepted
