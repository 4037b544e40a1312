"""Altitude-event propagation (trackers.models.events): Kepler closed form, step convergence,
state transition matrix against finite differences, flags for states that never come down."""

import numpy as np
import pytest

from trackers.earth.model import EarthModel
from trackers.models import CV, Ballistic
from trackers.models.events import EventConfig, propagate_to_altitude

#: Non-rotating spherical point-mass Earth without air: Kepler orbits, altitude = |r| - R.
KEPLER_EARTH = EarthModel(shape="sphere", gravity="point-mass", rotating=False, atmosphere="none")


def kepler_time_to_radius(r0, v0, radius, mu):
    """Closed-form time from (r0, v0) to the next descent through |r| = radius (elliptic orbit).

    a = -mu / (2 eps), e cos E = 1 - r / a, e sin E = (r . v) / sqrt(mu a), and Kepler's
    equation M = E - e sin E, t = sqrt(a^3 / mu) (M1 - M0) (Vallado 2013, §2.2-2.3).
    """
    rn = np.linalg.norm(r0, axis=-1)
    eps = 0.5 * np.sum(v0 * v0, -1) - mu / rn
    a = -mu / (2.0 * eps)
    ecos = 1.0 - rn / a
    esin = np.sum(r0 * v0, -1) / np.sqrt(mu * a)
    e = np.hypot(ecos, esin)
    e0 = np.mod(np.arctan2(esin, ecos), 2 * np.pi)
    e1 = 2 * np.pi - np.arccos((1.0 - radius / a) / e)  # descending branch: sin E < 0
    m0, m1 = e0 - e * np.sin(e0), e1 - e * np.sin(e1)
    return np.sqrt(a**3 / mu) * (m1 - m0)


def _states(earth, lat, lon, alt, speed, elev, az):
    """ECEF states from geodetic position and (speed, elevation, azimuth) of the velocity."""
    from trackers.earth.wgs84 import enu_rotation

    r = earth.to_ecef(lat, lon, alt)
    enu = np.stack(
        [
            speed * np.cos(elev) * np.sin(az),
            speed * np.cos(elev) * np.cos(az),
            speed * np.sin(elev),
        ],
        -1,
    )
    v = np.einsum("...ji,...j->...i", enu_rotation(lat, lon), enu)
    return np.concatenate([r, v], -1)


def test_event_time_matches_kepler_closed_form():
    earth = KEPLER_EARTH
    model = Ballistic(earth=earth)
    x = _states(
        earth,
        np.radians([10.0, 40.0, -30.0, 60.0, 0.0]),
        np.radians([0.0, 120.0, -60.0, 10.0, 200.0]),
        np.array([100e3, 1000e3, 300e3, 50e3, 2000e3]),
        np.array([6000.0, 5000.0, 3000.0, 2000.0, 4000.0]),
        np.radians([30.0, -20.0, 60.0, -5.0, 10.0]),
        np.radians([45.0, 90.0, 200.0, 300.0, 0.0]),
    )
    t0 = np.array([0.0, 10.0, 100.0, -5.0, 1.0])
    ev = propagate_to_altitude(model, x, t0)
    ref = kepler_time_to_radius(x[:, :3], x[:, 3:], earth.radius, earth.mu)
    assert ev.crossed.all()
    assert np.all(ref > 30.0)  # genuine flights (30 s to ~40 min)
    np.testing.assert_allclose(ev.t - t0, ref, rtol=0, atol=1e-3)  # < 1 ms
    # the crossing is on the surface, and energy is conserved by the RK4 arcs
    rn = np.linalg.norm(ev.state[:, :3], axis=-1)
    np.testing.assert_allclose(rn, earth.radius, atol=1e-3)
    eps0 = 0.5 * np.sum(x[:, 3:] ** 2, -1) - earth.mu / np.linalg.norm(x[:, :3], axis=-1)
    eps1 = 0.5 * np.sum(ev.state[:, 3:] ** 2, -1) - earth.mu / rn
    np.testing.assert_allclose(eps1, eps0, rtol=1e-7)


def test_level_is_reached_on_the_wgs84_ellipsoid():
    model = Ballistic(beta=2000.0)
    x = _states(model.earth, 0.7, 2.0, 300e3, 4000.0, np.radians(-25.0), 1.0)
    for level in (0.0, 10e3):
        ev = propagate_to_altitude(model, x, 5.0, EventConfig(level=level))
        assert ev.crossed and ev.t > 5.0
        assert abs(model.earth.altitude(ev.state[:3]) - level) < 1e-3


def test_default_steps_converge_to_small_steps_with_drag():
    """Default steps vs much finer ones, for a light and a heavy body (random entries)."""
    rng = np.random.default_rng(3)
    fine = EventConfig(max_step=10.0, atmosphere_dz=500.0, atmosphere_max_step=1.0, eta=0.05)
    base = _states(
        Ballistic().earth,
        rng.uniform(-1, 1, 4),
        rng.uniform(-3, 3, 4),
        rng.uniform(150e3, 1500e3, 4),
        rng.uniform(3000.0, 6500.0, 4),
        np.radians(rng.uniform(-40, 20, 4)),
        rng.uniform(0, 6, 4),
    )
    for beta in (300.0, 5000.0):
        model = Ballistic(beta=beta)
        ev = propagate_to_altitude(model, base, 0.0)
        ref = propagate_to_altitude(model, base, 0.0, fine)
        assert ev.crossed.all() and ref.crossed.all()
        assert ev.steps < ref.steps / 3
        np.testing.assert_allclose(
            ev.state[:, :3], ref.state[:, :3], atol=10.0
        )  # metres (4 m measured)
        np.testing.assert_allclose(ev.t, ref.t, atol=0.05)


@pytest.mark.parametrize(
    ("model", "tol"),
    [
        # vacuum, J2, rotating: fixed 30 s steps, so the adaptive map is the RK4 map
        (Ballistic(earth=EarthModel(atmosphere="none")), 1e-5),
        # drag: the step sequence depends on x0 (dz / hdot), so finite differences of the
        # adaptive map match the STM of the RK4 map only to ~1 % (measured 1.4 % on dt_e)
        (Ballistic(beta=3000.0), 2e-2),
        (Ballistic(drag_state=True), 2e-2),
    ],
    ids=["vacuum", "fixed-beta", "log-beta-state"],
)
def test_stm_gives_event_sensitivities_like_finite_differences(model, tol):
    """dr_e/dx0 = (I - v u'/hdot) Phi_r and dt_e/dx0 = -u' Phi_r / hdot vs central differences."""
    x0 = _states(model.earth, 0.5, 1.0, 300e3, 5000.0, np.radians(-30.0), 2.0)
    if model.drag_state:
        x0 = np.append(x0, np.log(3000.0))
    ev = propagate_to_altitude(model, x0, 0.0, stm=True)
    lat, lon, _ = model.earth.geodetic(ev.state[:3])
    u = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    v = ev.state[3:6]
    hdot = u @ v
    phi_r = ev.stm[:3]
    dr = (np.eye(3) - np.outer(v, u) / hdot) @ phi_r
    dt = -(u @ phi_r) / hdot
    steps = np.array([1.0] * 3 + [0.01] * 3 + ([1e-4] if model.drag_state else []))
    evp = propagate_to_altitude(model, x0 + np.diag(steps), 0.0)
    evm = propagate_to_altitude(model, x0 - np.diag(steps), 0.0)
    fd_r = (evp.state[:, :3] - evm.state[:, :3]).T / (2 * steps)
    fd_t = (evp.t - evm.t) / (2 * steps)
    scale_r = np.abs(dr).max(axis=0)  # per column
    np.testing.assert_allclose(dr / scale_r, fd_r / scale_r, atol=tol)
    np.testing.assert_allclose(dt / np.abs(dt).max(), fd_t / np.abs(dt).max(), atol=tol)


def test_states_that_never_come_down_are_flagged():
    model = Ballistic(beta=1000.0)
    e = model.earth
    x = np.stack(
        [
            _states(e, 0.3, 0.0, -100.0, 100.0, 0.5, 0.0),  # starts below the level
            _states(e, 0.3, 0.0, 500e3, 12000.0, 0.3, 1.0),  # escapes
            _states(e, 0.0, 0.0, 500e3, 7612.0, 0.0, np.pi / 2 - 0.3),  # ~circular orbit
            _states(e, 0.3, 0.0, 300e3, 4000.0, -0.3, 1.0),  # comes down
        ]
    )
    ev = propagate_to_altitude(model, x, 0.0)
    assert ev.crossed.tolist() == [False, False, False, True]
    assert np.isnan(ev.t[:3]).all() and np.isnan(ev.state[:3]).all()
    # without the orbit screen the orbit runs into max_time (flagged, not an endless loop)
    cfg = EventConfig(orbit_screen_altitude=None, max_time=2000.0)
    ev2 = propagate_to_altitude(model, x[2], 0.0, cfg)
    assert not ev2.crossed and ev2.steps >= 2000.0 / cfg.max_step
    # a flight longer than max_time is flagged too
    ev3 = propagate_to_altitude(model, x[3], 0.0, EventConfig(max_time=10.0))
    assert not ev3.crossed


def test_batch_shapes_and_per_state_times():
    model = Ballistic(beta=3000.0)
    x = _states(
        model.earth,
        np.full((2, 3), 0.4),
        np.linspace(0, 1, 6).reshape(2, 3),
        np.full((2, 3), 200e3),
        np.full((2, 3), 3000.0),
        np.full((2, 3), -0.4),
        np.zeros((2, 3)),
    )
    t0 = np.arange(6.0).reshape(2, 3) * 10.0
    ev = propagate_to_altitude(model, x, t0, stm=True)
    assert ev.state.shape == (2, 3, 6) and ev.t.shape == (2, 3) and ev.stm.shape == (2, 3, 6, 6)
    one = propagate_to_altitude(model, x[1, 2], t0[1, 2], stm=True)
    np.testing.assert_allclose(ev.t[1, 2], one.t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ev.stm[1, 2], one.stm, rtol=1e-6, atol=1e-9)


def test_model_without_derivative_uses_its_own_propagate():
    """A CV model flies a straight line: |r0 + v t| = R in closed form on a sphere."""
    cfg = EventConfig(earth=KEPLER_EARTH)
    r0 = KEPLER_EARTH.to_ecef(0.2, 0.3, 5000.0)
    v = np.array([-200.0, 50.0, -300.0])
    ev = propagate_to_altitude(CV(q=1.0), np.concatenate([r0, v]), 0.0, cfg)
    # |r0 + v t|^2 = R^2:  (v.v) t^2 + 2 (r0.v) t + |r0|^2 - R^2 = 0, smaller positive root
    a, b, c = v @ v, 2 * r0 @ v, r0 @ r0 - KEPLER_EARTH.radius**2
    t_ref = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)
    assert ev.crossed and abs(ev.t - t_ref) < 1e-6


def test_bad_input_is_rejected():
    model = Ballistic(beta=1000.0)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 6\)"):
        propagate_to_altitude(model, np.zeros(7))
    with pytest.raises(ValueError, match="finite"):
        propagate_to_altitude(model, np.full(6, np.nan))
    with pytest.raises(ValueError, match="max_step"):
        EventConfig(max_step=0.0)
    with pytest.raises(ValueError, match="min_step"):
        EventConfig(min_step=5.0, max_step=1.0)
    with pytest.raises(TypeError, match="config"):
        propagate_to_altitude(model, np.ones(6) * 7e6, config={"level": 0})
    with pytest.raises(TypeError, match="MotionModel"):
        propagate_to_altitude(object(), np.ones(6))
