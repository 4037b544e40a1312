"""Ballistic and boost motion models: dynamics, Jacobians, RK4, process noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from trackers.earth import EarthModel, enu_rotation, geodetic_to_ecef
from trackers.models import Ballistic, BoostKnownThrust, BoostThrustState, MotionModel
from trackers.models.ballistic import cv_process_noise
from trackers.models.integrate import rk4, rk4_with_jacobian, substeps, van_loan


def _state(alt=60e3, v=(1000.0, 2000.0, -500.0), extra=()):
    r = geodetic_to_ecef(np.radians(40.0), np.radians(130.0), alt)
    return np.r_[r, v, extra]


def _fd_jacobian(f, x, steps):
    cols = []
    for i, h in enumerate(steps):
        e = np.zeros_like(x)
        e[i] = h
        cols.append((f(x + e) - f(x - e)) / (2 * h))
    return np.stack(cols, -1)


STEPS7 = np.r_[np.full(3, 1.0), np.full(3, 1e-3), 1e-4]

MODELS = [
    ("ballistic-vacuum", Ballistic(), _state(300e3, (4000.0, 1000.0, 500.0))),
    ("ballistic-beta", Ballistic(beta=2000.0), _state(40e3)),
    ("ballistic-logbeta", Ballistic(drag_state=True), _state(60e3, extra=[np.log(5000.0)])),
    (
        "ballistic-logbeta-exp",
        Ballistic(drag_state=True, earth=EarthModel(atmosphere="exponential")),
        _state(30e3, extra=[np.log(3000.0)]),
    ),
    (
        "boost-known",
        BoostKnownThrust(exhaust_velocity=2600.0, tau=120.0, t_ignition=-10.0, burn_time=70.0),
        _state(30e3),
    ),
    ("boost-state", BoostThrustState(exhaust_velocity=2700.0), _state(30e3, extra=[40.0])),
    ("boost-state-const", BoostThrustState(), _state(30e3, extra=[40.0])),
]


@pytest.mark.parametrize(("name", "model", "x"), MODELS, ids=[m[0] for m in MODELS])
def test_protocol_and_continuous_jacobian(name, model, x):
    assert isinstance(model, MotionModel)
    assert len(model.state_names) == model.ndim == x.size
    f, a = model.derivative_with_jacobian(x, 5.0)
    np.testing.assert_allclose(f, model.derivative(x, 5.0), rtol=1e-14)
    a_fd = _fd_jacobian(lambda y: model.derivative(y, 5.0), x, STEPS7[: x.size])
    scale = np.abs(a_fd).max(axis=0, keepdims=True) + 1e-300
    assert np.max(np.abs(a - a_fd) / scale) < 1e-6


@pytest.mark.parametrize(("name", "model", "x"), MODELS, ids=[m[0] for m in MODELS])
def test_discrete_jacobian_matches_finite_differences(name, model, x):
    """F from the variational equations equals d(RK4 map)/dx (internal differentiation)."""
    x1, f = model.propagate_with_jacobian(x, 7.5, 5.0)
    np.testing.assert_allclose(x1, model.propagate(x, 7.5, 5.0), rtol=1e-14)
    f_fd = _fd_jacobian(lambda y: model.propagate(y, 7.5, 5.0), x, STEPS7[: x.size])
    scale = np.abs(f_fd).max(axis=0, keepdims=True)
    assert np.max(np.abs(f - f_fd) / scale) < 1e-6


def test_drag_jacobian_wrong_gradient_is_detected():
    """Negative case: dropping d rho/d r (a common shortcut) fails the finite-difference check."""
    import trackers.models.ballistic as bal

    model = Ballistic(drag_state=True)
    x = _state(20e3, extra=[np.log(2000.0)])
    _, a = model.derivative_with_jacobian(x)
    a_fd = _fd_jacobian(model.derivative, x, STEPS7)
    a_bad = a.copy()
    _, d_r, _ = bal.drag_with_jacobians(model.earth, x[:3], x[3:6], np.exp(-x[6]))
    a_bad[3:6, 0:3] -= d_r
    scale = np.abs(a_fd).max(axis=0, keepdims=True)
    assert np.max(np.abs(a_bad - a_fd) / scale) > 1e-4
    assert np.max(np.abs(a - a_fd) / scale) < 1e-6


def _state_enu(alt, v_enu, extra=()):
    lat, lon = np.radians(40.0), np.radians(130.0)
    v = enu_rotation(lat, lon).T @ np.asarray(v_enu, float)
    return np.r_[geodetic_to_ecef(lat, lon, alt), v, extra]


def test_rk4_against_solve_ivp_and_order():
    """Mean propagation over 300 s equals a tight solve_ivp reference; error shrinks ~h^4."""
    x0 = _state_enu(300e3, (3000.0, 1000.0, 500.0), [np.log(3000.0)])
    ref_model = Ballistic(drag_state=True)
    ref = solve_ivp(
        lambda t, y: ref_model.derivative(y), (0, 300), x0, method="DOP853", rtol=1e-12, atol=1e-9
    )
    err = {}
    for h in (4.0, 2.0):
        m = Ballistic(drag_state=True, max_step=h)
        err[h] = np.linalg.norm(m.propagate(x0, 300.0)[:3] - ref.y[:3, -1])
    assert err[2.0] < 1e-5  # metres after 300 s
    assert err[4.0] / err[2.0] > 8.0  # fourth order (16 nominal)
    # With drag through the upper atmosphere (100 km and rising): still sub-millimetre.
    x0 = _state_enu(100e3, (3000.0, 1000.0, 1500.0), [np.log(3000.0)])
    ref = solve_ivp(
        lambda t, y: ref_model.derivative(y), (0, 300), x0, method="DOP853", rtol=1e-12, atol=1e-9
    )
    assert np.linalg.norm(ref_model.propagate(x0, 300.0)[:3] - ref.y[:3, -1]) < 1e-3


def test_batched_with_per_element_dt():
    model = Ballistic(drag_state=True)
    x = np.stack([_state(60e3, extra=[np.log(5000.0)]), _state(70e3, extra=[np.log(800.0)])])
    dt = np.array([3.0, -2.5])
    x1, f = model.propagate_with_jacobian(x, dt)
    for i in range(2):
        xi, fi = model.propagate_with_jacobian(x[i], dt[i])
        np.testing.assert_allclose(x1[i], xi, rtol=1e-12)
        np.testing.assert_allclose(f[i], fi, rtol=1e-10, atol=1e-14)
    xb = np.broadcast_to(x, (4, 2, 7))
    assert model.propagate(xb, dt).shape == (4, 2, 7)
    assert model.process_noise(x, dt).shape == (2, 7, 7)


def test_zero_dt_is_identity():
    model = Ballistic(drag_state=True)
    x = _state(60e3, extra=[np.log(5000.0)])
    x1, f = model.propagate_with_jacobian(x, 0.0)
    np.testing.assert_array_equal(x1, x)
    np.testing.assert_array_equal(f, np.eye(7))


def test_vacuum_ballistic_conserves_jacobi_energy():
    """In the rotating frame with point-mass gravity, E = v^2/2 - mu/r - w^2 (x^2+y^2)/2 holds."""
    earth = EarthModel(gravity="point-mass", atmosphere="none")
    model = Ballistic(earth=earth, max_step=1.0)
    x0 = _state(300e3, (4000.0, 1000.0, 500.0))

    def energy(x):
        r, v = x[:3], x[3:6]
        return v @ v / 2 - earth.mu / np.linalg.norm(r) - earth.w**2 * (r[0] ** 2 + r[1] ** 2) / 2

    x1 = model.propagate(x0, 600.0)
    assert abs(energy(x1) - energy(x0)) < 1e-6 * abs(energy(x0))


def test_boost_known_thrust_rocket_equation():
    """Without gravity/rotation, speed gain = v_e ln(tau / (tau - t_burn)) (rocket equation)."""
    earth = EarthModel(gravity="point-mass", mu=1e10, rotating=False, atmosphere="none")
    model = BoostKnownThrust(
        exhaust_velocity=2600.0,
        tau=100.0,
        t_ignition=0.0,
        burn_time=60.0,
        earth=earth,
        max_step=0.5,
    )
    x0 = np.r_[1e7, 0, 0, 0, 100.0, 0]
    x1 = model.propagate(x0, 60.0, 0.0)
    gain = 2600.0 * np.log(100.0 / 40.0)
    assert abs(np.linalg.norm(x1[3:6]) - 100.0 - gain) < 0.2  # mu = 1e10 leaves ~1e-4 m/s^2
    # After burnout no thrust: a_T(t) = 0
    assert model.thrust_acceleration(61.0) == 0.0
    assert model.thrust_acceleration(30.0) == pytest.approx(2600.0 / 70.0)


def test_boost_thrust_state_matches_known_thrust():
    """a_T' = a_T^2/v_e with a_T(0) = v_e/tau reproduces the known-thrust trajectory."""
    known = BoostKnownThrust(exhaust_velocity=2600.0, tau=120.0, t_ignition=0.0, burn_time=80.0)
    state = BoostThrustState(exhaust_velocity=2600.0)
    x0 = _state(30e3, (300.0, 500.0, 1200.0))
    xk = known.propagate(x0, 50.0, 0.0)
    xs = state.propagate(np.r_[x0, 2600.0 / 120.0], 50.0, 0.0)
    np.testing.assert_allclose(xs[:6], xk, rtol=0, atol=1e-3)
    assert xs[6] == pytest.approx(2600.0 / 70.0, rel=1e-8)


def test_cv_process_noise_closed_form_equals_van_loan():
    """For the double integrator Van Loan gives exactly the closed form."""
    a = np.zeros((6, 6))
    a[:3, 3:] = np.eye(3)
    qc = np.zeros((6, 6))
    qc[3:, 3:] = 2.5 * np.eye(3)
    for dt in (0.1, 1.0, 7.0):
        _, q = van_loan(a, qc, dt)
        np.testing.assert_allclose(cv_process_noise(2.5, dt), q, rtol=1e-10, atol=1e-14)


def test_ballistic_process_noise_vs_van_loan_of_linearised_system():
    """Q of the ballistic model vs Van Loan with its linearised A (gravity gradient, Coriolis).

    At dt = 1 s they agree to 1e-3 relative (coupling terms ~2 w dt); at 200 s they do not,
    which shows the check can fail and bounds where the closed form is adequate.
    """
    model = Ballistic(drag_state=True, q=3.0, q_log_beta=1e-4)
    x = _state(300e3, (4000.0, 1000.0, 500.0), [np.log(5000.0)])
    _, a = model.derivative_with_jacobian(x)
    qc = np.diag([0, 0, 0, 3.0, 3.0, 3.0, 1e-4])
    _, q_vl = van_loan(a, qc, 1.0)
    q = model.process_noise(x, 1.0)
    assert np.max(np.abs(q - q_vl)) / np.max(np.abs(q_vl)) < 1e-3
    _, q_vl = van_loan(a, qc, 200.0)
    q = model.process_noise(x, 200.0)
    assert np.max(np.abs(q - q_vl)) / np.max(np.abs(q_vl)) > 1e-2


def test_boost_process_noise_vs_van_loan():
    """Thrust random walk along a fixed direction u: closed form equals Van Loan."""
    model = BoostThrustState(q=2.0, q_thrust=0.7)
    v = np.array([300.0, 400.0, 1200.0])
    u = v / np.linalg.norm(v)
    x = np.r_[_state(30e3, v), 40.0]
    a = np.zeros((7, 7))
    a[:3, 3:6] = np.eye(3)
    a[3:6, 6] = u
    qc = np.diag([0, 0, 0, 2.0, 2.0, 2.0, 0.7])
    for dt in (0.5, 3.0):
        _, q_vl = van_loan(a, qc, dt)
        np.testing.assert_allclose(model.process_noise(x, dt), q_vl, rtol=1e-9, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(model.process_noise(x, 3.0)) > 0)


def test_rk4_with_jacobian_linear_system_is_expm():
    """For x' = A x, Phi after many substeps approaches expm(A dt)."""
    from scipy.linalg import expm

    a = np.array([[0.0, 1.0], [-4.0, -0.3]])
    x0 = np.array([1.0, 0.0])
    x1, phi = rk4_with_jacobian(
        lambda x, t: (x @ a.T, np.broadcast_to(a, x.shape + (2,))), x0, 3.0, max_step=0.01
    )
    np.testing.assert_allclose(phi, expm(3.0 * a), atol=1e-8)
    np.testing.assert_allclose(x1, expm(3.0 * a) @ x0, atol=1e-8)
    np.testing.assert_allclose(rk4(lambda x, t: x @ a.T, x0, 3.0, max_step=0.01), x1, rtol=1e-14)


def test_substeps_and_bad_input():
    n, h = substeps(np.array([2.5, -1.0, 0.0]), 1.0)
    assert n == 3
    np.testing.assert_allclose(h, [2.5 / 3, -1 / 3, 0])
    with pytest.raises(ValueError, match="max_step"):
        substeps(1.0, 0.0)
    with pytest.raises(ValueError, match="dt"):
        substeps(np.nan, 1.0)
    with pytest.raises(ValueError, match=r"Ballistic.q "):
        Ballistic(q=-1.0)
    with pytest.raises(ValueError, match="beta"):
        Ballistic(beta=0.0)
    with pytest.raises(TypeError, match="earth"):
        Ballistic(earth="wgs84")
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 7\)"):
        Ballistic(drag_state=True).propagate(np.zeros(6), 1.0)
    with pytest.raises(ValueError, match="burn_time"):
        BoostKnownThrust(exhaust_velocity=2600.0, tau=50.0, burn_time=60.0)


def test_boost_known_thrust_splits_at_burnout():
    """A step across burnout equals two steps meeting at it; backward steps invert forward."""
    model = BoostKnownThrust(exhaust_velocity=2600.0, tau=120.0, t_ignition=0.0, burn_time=60.0)
    x0 = _state(30e3, (300.0, 500.0, 1200.0))
    one = model.propagate(x0, 20.0, 50.0)
    two = model.propagate(model.propagate(x0, 10.0, 50.0), 10.0, 60.0)
    np.testing.assert_allclose(one, two, rtol=0, atol=1e-6)
    back = model.propagate(one, -20.0, 70.0)
    np.testing.assert_allclose(back, x0, rtol=0, atol=1e-4)
    # batched dt, one element crosses burnout, one does not
    xb = model.propagate(np.stack([x0, x0]), np.array([20.0, 5.0]), 50.0)
    np.testing.assert_allclose(xb[0], one, rtol=1e-13)
    np.testing.assert_allclose(xb[1], model.propagate(x0, 5.0, 50.0), rtol=1e-9)  # substeps differ
    _, f = model.propagate_with_jacobian(x0, 20.0, 50.0)
    f_fd = _fd_jacobian(lambda y: model.propagate(y, 20.0, 50.0), x0, STEPS7[:6])
    assert np.max(np.abs(f - f_fd) / np.abs(f_fd).max(axis=0, keepdims=True)) < 1e-6


def test_fused_gravity_matches_trackers_earth():
    """forces.* (fused J2 + gradient + frame terms) equals trackers.earth term by term."""
    from trackers.earth import gravity
    from trackers.models import forces

    rng = np.random.default_rng(8)
    r = rng.normal(size=(50, 3)) * 7e6
    v = rng.normal(size=(50, 3)) * 3e3
    for earth in (EarthModel(), EarthModel(gravity="point-mass"), EarthModel(rotating=False)):
        acc, dr, dv = forces.gravity_frame_with_jacobians(earth, r, v)
        ref = earth.acceleration(r, v)
        np.testing.assert_allclose(acc, ref, rtol=1e-13, atol=1e-18)
        np.testing.assert_allclose(forces.gravity_frame(earth, r, v), ref, rtol=1e-13)
        wr, wv = earth.frame_jacobians()
        np.testing.assert_allclose(dr, earth.gravitation_gradient(r) + wr, rtol=1e-12, atol=1e-20)
        np.testing.assert_array_equal(dv, wv)
    _, g = forces.j2_with_gradient(r, 3.986e14, 6.378e6)
    np.testing.assert_allclose(g, gravity.j2_gradient(r, 3.986e14, 6.378e6), rtol=1e-12)
    np.testing.assert_allclose(g, np.swapaxes(g, -1, -2), rtol=1e-13)  # Hessian: symmetric


@pytest.mark.parametrize(("name", "model", "x"), MODELS[:4], ids=[m[0] for m in MODELS[:4]])
def test_kinematic_jacobian_path_equals_dense_rk4(name, model, x):
    """Blockwise batch-last variational RK4 = dense rk4_with_jacobian (to rounding).

    Batch (2, 3) with per-run dt over (3,) and 2 substeps; and one unbatched state. A
    Jacobian with a wrong block (d v'/d v dropped) differs: the comparison can fail.
    """
    rng = np.random.default_rng(5)
    scale = np.r_[np.full(3, 500.0), np.full(3, 5.0), np.zeros(x.size - 6)]
    xs = x + rng.normal(size=(2, 3, x.size)) * scale
    dt = np.array([1.0, 0.4, 1.7])
    ref = rk4_with_jacobian(model._fj, xs, dt, 3.0, model.max_step)
    got = model.propagate_with_jacobian(xs, dt, 3.0)
    assert got[1].shape == (2, 3, x.size, x.size) and got[1].flags.c_contiguous
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12, atol=1e-15)
    one = model.propagate_with_jacobian(x, 1.0)
    np.testing.assert_allclose(one[1], rk4_with_jacobian(model._fj, x, 1.0)[1], atol=1e-15)

    def wrong(xx, t):
        f, a = model._fj(xx, t)
        a[..., 3:6, 3:6] = 0.0
        return f, a

    bad = rk4_with_jacobian(wrong, xs, dt, 3.0, model.max_step)[1]
    assert np.abs(bad - got[1]).max() > 1e-6
