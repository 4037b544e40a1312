"""Our EKF radar update vs Stone Soup's ExtendedKalmanUpdater + CartesianToElevationBearingRange."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stonesoup")

from stonesoup.types.state import State

from trackers.baselines import stonesoup_adapters as sa
from trackers.earth import enu_rotation, geodetic_to_ecef
from trackers.filters import EKF, Gaussian
from trackers.models import Ballistic, RadarMeasurement

SIG = dict(sigma_range=30.0, sigma_azimuth=5e-4, sigma_elevation=5e-4)


def _state(lat_deg, lon_deg, alt=300e3, v_enu=(3000.0, 2000.0, 500.0)):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    v = enu_rotation(lat, lon).T @ np.asarray(v_enu)
    return np.r_[geodetic_to_ecef(lat, lon, alt), v]


def _sequence(radar, x0, steps, seed):
    """Priors and measurements along a short arc: our EKF predicts between updates."""
    rng = np.random.default_rng(seed)
    model = Ballistic(q=1.0)
    p = np.diag([1e4] * 3 + [100.0] * 3)
    mean = x0 + rng.normal(size=6) * np.sqrt(np.diag(p))
    truth, out = x0, []
    for k in range(steps):
        truth = model.propagate(truth, 2.0, 2.0 * k)
        g = EKF().predict(Gaussian(mean, p), model, 2.0, 2.0 * k)
        z = radar.measure(truth) + rng.normal(size=3) * np.sqrt(np.diag(radar.noise_cov()))
        out.append((g, z))
        post, _ = EKF().update(g, z, radar)
        mean, p = post.mean, post.cov
    return out


def test_measurement_function_and_conventions():
    radar = RadarMeasurement.from_degrees(38.1, 138.4, 50.0, **SIG)
    mm = sa.radar_model(radar)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = _state(rng.uniform(35, 45), rng.uniform(125, 140), rng.uniform(50e3, 1e6))
        theirs = np.asarray(mm.function(State(x[:, None])), float).ravel()
        np.testing.assert_allclose(sa.from_stonesoup_z(theirs), radar.measure(x), rtol=1e-12)
        np.testing.assert_allclose(sa.to_stonesoup_z(radar.measure(x)), theirs, rtol=1e-12)
    np.testing.assert_allclose(
        np.diag(mm.covar()), [SIG["sigma_elevation"] ** 2, SIG["sigma_azimuth"] ** 2, 900.0]
    )


@pytest.mark.parametrize("site", [(38.1, 138.4), (40.9, 140.3)])
def test_ekf_update_equals_stonesoup_same_jacobian(site):
    """Same linearisation (our analytic H inside Stone Soup): posteriors agree to 1e-8."""
    radar = RadarMeasurement.from_degrees(*site, 0.0, **SIG)
    mm = sa.radar_model(radar, analytic_jacobian=True)
    for prior, z in _sequence(radar, _state(40.0, 130.0), 8, seed=2):
        ours, _ = EKF().update(prior, z, radar)
        m, c = sa.ekf_update(mm, prior.mean, prior.cov, z)
        corr = np.abs(ours.mean - prior.mean).max()
        assert np.abs(m - ours.mean).max() <= 1e-8 * corr
        assert np.abs(c - ours.cov).max() <= 1e-8 * np.abs(ours.cov).max()


def test_ekf_update_equals_stonesoup_numerical_jacobian():
    """Stone Soup's own forward-difference Jacobian, geometry with positive ECEF coordinates.

    Its step is 1e8 * spacing(x) ~ 0.05-0.1 m, so agreement is at the forward-difference level
    (~1e-7 relative), not to round-off.
    """
    radar = RadarMeasurement.from_degrees(38.0, 35.0, 0.0, **SIG)
    mm = sa.radar_model(radar)
    for prior, z in _sequence(radar, _state(40.0, 40.0), 6, seed=3):
        assert np.all(prior.mean[:3] > 0)
        ours, _ = EKF().update(prior, z, radar)
        m, c = sa.ekf_update(mm, prior.mean, prior.cov, z)
        corr = np.abs(ours.mean - prior.mean).max()
        assert np.abs(m - ours.mean).max() <= 1e-5 * corr
        assert np.abs(c - ours.cov).max() <= 1e-6 * np.abs(ours.cov).max()


def test_stonesoup_numerical_jacobian_breaks_for_negative_coordinates():
    """Upstream observation (Stone Soup 1.9.1, stonesoup.functions.jacobian): the step
    delta = 1e8 * np.spacing(x) is negative for negative x and then clipped to 1e-8, a step
    far below the resolution of |x| ~ 3e6 m. Over East Asia ECEF x < 0, so its EKF is off by
    percent-level covariance errors there. If this test fails, upstream has fixed it.
    """
    radar = RadarMeasurement.from_degrees(38.0, 135.0, 0.0, **SIG)
    x = _state(40.0, 130.0)
    assert x[0] < 0
    h_ss = np.asarray(sa.radar_model(radar).jacobian(State(x[:, None])), float)
    _, h = radar.measure_with_jacobian(x)
    h_ours = np.stack([h[2], -h[1], h[0]])
    rel = np.abs(h_ss - h_ours).max(axis=1) / np.abs(h_ours).max(axis=1)
    assert rel.max() > 1e-3
    # ... while our analytic Jacobian matches a central difference there
    e = np.zeros(6)
    e[0] = 1.0
    fd = (radar.measure(x + e) - radar.measure(x - e)) / 2
    np.testing.assert_allclose(h[:, 0], fd, rtol=1e-6)


@pytest.mark.parametrize("unscented", [False, True], ids=["EKF", "UKF"])
def test_stonesoup_runner_matches_ours(unscented):
    """The benchmark's Stone Soup runner (our motion model wrapped) equals our filter."""
    from trackers.filters import UKF, Filter

    radar = RadarMeasurement.from_degrees(38.0, 135.0, 0.0, **SIG)
    model = Ballistic(q=1.0)
    x0 = _state(40.0, 130.0)
    rng = np.random.default_rng(5)
    truth, zs = x0, []
    for k in range(10):
        truth = model.propagate(truth, 1.0, float(k))
        zs.append(radar.measure(truth) + rng.normal(size=3) * np.sqrt(np.diag(radar.noise_cov())))
    p0 = np.diag([1e4] * 3 + [100.0] * 3)
    xs, ps = sa.run_ekf(model, radar, x0, p0, np.array(zs), 1.0, unscented=unscented)
    filt = Filter(UKF() if unscented else EKF(), model)
    g = Gaussian(x0, p0)
    for k, z in enumerate(zs):
        g, _ = filt.update(filt.predict(g, 1.0, float(k)), z, radar)
        np.testing.assert_allclose(xs[k], g.mean, rtol=0, atol=1e-6)
        np.testing.assert_allclose(ps[k], g.cov, rtol=1e-7, atol=1e-8 * np.abs(g.cov).max())
