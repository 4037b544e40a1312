"""Fast propagation to the ground (trackers.impact.ground) against the reference integrator
(trackers.models.events.propagate_to_altitude), and predict_impact's fast path against its
reference path (the issue's tolerance: 50 m and 2 % of the covariance)."""

import dataclasses

import numpy as np
import pytest

from trackers.earth.wgs84 import great_circle_distance
from trackers.filters.gaussian import Gaussian
from trackers.impact.ground import drag_free, numba_available, propagate_to_ground
from trackers.impact.predict import predict_impact
from trackers.models import Ballistic
from trackers.models.events import EventConfig, propagate_to_altitude
from trackers.sim.scenario import load_scenario
from trackers.sim.simulate import simulate

BACKENDS = ["numpy"] + (["numba"] if numba_available() else [])


@pytest.fixture(scope="module")
def states():
    """True states of every hokkaido-2023 object during its free flight, and their times."""
    fl = simulate(load_scenario("hokkaido-2023"), rate_hz=1.0)
    xs, ts = [], []
    for obj in fl.objects:
        t = np.linspace(max(obj.t_start, 230.0), obj.t_end - 30.0, 6)
        t = t[t > obj.t_start]
        xs.append(obj.state_at(t))
        ts.append(t)
    return np.concatenate(xs), np.concatenate(ts), fl


@pytest.mark.parametrize("backend", BACKENDS)
def test_fast_propagation_matches_the_reference(states, backend):
    x, t, _ = states
    model = Ballistic()  # the trackers' model: J2, rotation, no drag
    ref = propagate_to_altitude(model, x, t, stm=True)
    fast = propagate_to_ground(model, x, t, stm=True, backend=backend)
    assert ref.crossed.all() and fast.crossed.all()
    miss = np.linalg.norm(fast.state[:, :3] - ref.state[:, :3], axis=-1)
    assert miss.max() < 5.0, miss  # measured 0.5 m (60 s RK4 steps)
    np.testing.assert_allclose(fast.t, ref.t, atol=0.01)
    np.testing.assert_allclose(fast.stm, ref.stm, atol=1e-4 * np.abs(ref.stm).max())
    assert fast.steps < 0.5 * ref.steps  # the point: fewer steps (35 vs 102 measured)
    # a 10 s step integration (RK4 error ~1e-4 m): the 60 s error is the O(H^4) one
    fine = propagate_to_ground(model, x, t, step=10.0, backend=backend)
    assert np.linalg.norm(fine.state[:, :3] - fast.state[:, :3], axis=-1).max() < 5.0
    coarse = propagate_to_ground(model, x, t, step=300.0, backend=backend)
    assert np.linalg.norm(fine.state[:, :3] - coarse.state[:, :3], axis=-1).max() > 50.0


@pytest.mark.skipif(not numba_available(), reason="numba not installed")
def test_numba_and_numpy_backends_agree(states):
    x, t, _ = states
    x = x + np.random.default_rng(1).normal(0.0, 200.0, x.shape) * [1, 1, 1, 0.05, 0.05, 0.05]
    a = propagate_to_ground(Ballistic(), x, t, stm=True, backend="numba")
    b = propagate_to_ground(Ballistic(), x, t, stm=True, backend="numpy")
    # the same arithmetic up to rounding and the Newton stop (|d tau| < 1e-6 s: < 1 cm)
    np.testing.assert_allclose(a.state[:, :3], b.state[:, :3], rtol=0, atol=1e-2)
    np.testing.assert_allclose(a.t, b.t, atol=2e-6)
    np.testing.assert_allclose(a.stm, b.stm, atol=1e-9 * np.abs(b.stm).max())


@pytest.mark.parametrize("backend", BACKENDS)
def test_states_that_do_not_come_down_are_flagged_like_the_reference(states, backend):
    x, _, _ = states
    x0 = x[0].copy()
    below = x0.copy()
    below[:3] *= 6.3e6 / np.linalg.norm(below[:3])  # > 50 km under the surface
    escape = x0.copy()
    escape[3:] *= 4.0  # hyperbolic
    short = x0  # the flight is longer than max_time = 100 s
    xs = np.stack([below, escape, short, x0])
    cfg = EventConfig(max_time=100.0)
    ref = propagate_to_altitude(Ballistic(), xs, 0.0, cfg)
    fast = propagate_to_ground(Ballistic(), xs, 0.0, cfg, backend=backend)
    np.testing.assert_array_equal(fast.crossed, ref.crossed)
    assert not fast.crossed.any() and np.isnan(fast.t).all() and np.isnan(fast.state).all()
    long = propagate_to_ground(Ballistic(), xs, 0.0, backend=backend)
    np.testing.assert_array_equal(long.crossed, [False, False, True, True])


def test_models_with_drag_use_the_reference_integrator_with_the_large_step(states):
    x, t, _ = states
    model = Ballistic(beta=5000.0)
    assert not drag_free(model) and drag_free(Ballistic())
    vacuum = dataclasses.replace(model.earth, atmosphere="none")
    assert drag_free(Ballistic(beta=5000.0, earth=vacuum))
    fast = propagate_to_ground(model, x[:4], t[:4])
    ref = propagate_to_altitude(model, x[:4], t[:4], EventConfig(max_step=60.0))
    np.testing.assert_array_equal(fast.state, ref.state)
    # and the 60 s vacuum steps stay close to the default 30 s ones (drag below 100 km)
    std = propagate_to_altitude(model, x[:4], t[:4])
    assert np.linalg.norm(fast.state[:, :3] - std.state[:, :3], axis=-1).max() < 5.0


@pytest.mark.parametrize("method", ["linear", "unscented", "montecarlo"])
def test_predict_impact_fast_path_equals_the_reference(states, method):
    """Tight (100 m, 5 m/s) and young-track (3 km, 60 m/s) beliefs: impact points within 50 m
    (measured < 1 m), ground covariance within 2 %, impact time within 0.05 s."""
    x, t, _ = states
    sel = slice(0, None, 3)
    x, t = x[sel], t[sel]
    model = Ballistic()
    for sig in ([100.0] * 3 + [5.0] * 3, [3000.0] * 3 + [60.0] * 3):
        belief = Gaussian(x, np.diag(np.square(sig)))
        kw = {"rng": np.random.default_rng(5), "samples": 100} if method == "montecarlo" else {}
        ref = predict_impact(belief, model, t, method, propagation="reference", **kw)
        kw = {"rng": np.random.default_rng(5), "samples": 100} if method == "montecarlo" else {}
        fast = predict_impact(belief, model, t, method, **kw)
        np.testing.assert_array_equal(fast.valid, ref.valid)
        ok = ref.valid
        # the mean impact point = p_0 + E' mean_enu: compare reference points and offsets
        d = great_circle_distance(fast.lat[ok], fast.lon[ok], ref.lat[ok], ref.lon[ok])
        assert d.max() < 50.0, d
        assert np.abs(fast.mean_enu[ok] - ref.mean_enu[ok]).max() < 50.0
        scale = np.trace(ref.cov_ground[ok], axis1=-2, axis2=-1)[:, None, None]
        assert np.abs(fast.cov_ground[ok] - ref.cov_ground[ok]).max() / scale.min() < 0.02
        np.testing.assert_allclose(fast.cov_ground[ok], ref.cov_ground[ok], rtol=0.02,
                                   atol=0.02 * scale.max())  # fmt: skip
        np.testing.assert_allclose(fast.t_impact[ok], ref.t_impact[ok], atol=0.05)


def test_bad_input_is_rejected(states):
    x, t, _ = states
    with pytest.raises(ValueError, match="step"):
        propagate_to_ground(Ballistic(), x, t, step=0.0)
    with pytest.raises(ValueError, match="backend"):
        propagate_to_ground(Ballistic(), x, t, backend="gpu")
    with pytest.raises(TypeError, match="config"):
        propagate_to_ground(Ballistic(), x, t, config={"level": 0.0})
    bad = x.copy()
    bad[0, 0] = np.nan
    for backend in BACKENDS:
        with pytest.raises(ValueError, match="finite"):
            propagate_to_ground(Ballistic(), bad, t, backend=backend)
        with pytest.raises(ValueError, match="shape"):
            propagate_to_ground(Ballistic(), x[:, :5], t, backend=backend)
    with pytest.raises(ValueError, match="propagation"):
        predict_impact(Gaussian(x, np.eye(6)), Ballistic(), t, propagation="quick")
