"""Radar measurement model: geometry against trackers.earth and pymap3d, Jacobian by FD."""

from __future__ import annotations

import numpy as np
import pymap3d
import pytest

from trackers.earth import ecef_to_aer, geodetic_to_ecef
from trackers.models import MeasurementModel, RadarMeasurement, residual

SITE = dict(lat=np.radians(40.9), lon=np.radians(140.3), alt=30.0)


def _targets(rng, n=50):
    lat = np.radians(rng.uniform(35, 45, n))
    lon = np.radians(rng.uniform(128, 142, n))
    alt = rng.uniform(20e3, 1500e3, n)
    r = geodetic_to_ecef(lat, lon, alt)
    v = rng.normal(0, 3000, (n, 3))
    return np.concatenate([r, v], axis=-1)


def test_protocol_and_noise():
    radar = RadarMeasurement(**SITE, sigma_range=20.0, sigma_azimuth=5e-4, sigma_elevation=6e-4)
    assert isinstance(radar, MeasurementModel)
    assert radar.ndim_meas == 3 and radar.angle_indices == (1, 2)
    np.testing.assert_allclose(np.diag(radar.noise_cov()), [400.0, 2.5e-7, 3.6e-7])
    rr = RadarMeasurement(**SITE, sigma_range_rate=2.0)
    assert rr.ndim_meas == 4 and rr.noise_cov()[3, 3] == 4.0


def test_against_trackers_earth_and_pymap3d():
    rng = np.random.default_rng(1)
    x = _targets(rng)
    radar = RadarMeasurement(**SITE)
    z = radar.measure(x)
    az, el, rng_ = ecef_to_aer(x[:, :3], SITE["lat"], SITE["lon"], SITE["alt"])
    np.testing.assert_allclose(z[:, 0], rng_, rtol=1e-12)
    np.testing.assert_allclose(z[:, 1], az, atol=1e-12)
    np.testing.assert_allclose(z[:, 2], el, atol=1e-12)
    az_p, el_p, r_p = pymap3d.ecef2aer(
        x[:, 0], x[:, 1], x[:, 2], np.degrees(SITE["lat"]), np.degrees(SITE["lon"]), SITE["alt"]
    )
    np.testing.assert_allclose(z[:, 0], r_p, rtol=1e-9)
    np.testing.assert_allclose(np.degrees(z[:, 1]), az_p, atol=1e-8)
    np.testing.assert_allclose(np.degrees(z[:, 2]), el_p, atol=1e-8)
    assert np.all((z[:, 1] >= 0) & (z[:, 1] < 2 * np.pi))


def test_range_rate_is_time_derivative_of_range():
    rng = np.random.default_rng(2)
    x = _targets(rng, 10)
    radar = RadarMeasurement(**SITE, sigma_range_rate=1.0)
    h = 1e-3
    fwd = x.copy()
    fwd[:, :3] += h * x[:, 3:6]
    bwd = x.copy()
    bwd[:, :3] -= h * x[:, 3:6]
    rdot = (radar.measure(fwd)[:, 0] - radar.measure(bwd)[:, 0]) / (2 * h)
    np.testing.assert_allclose(radar.measure(x)[:, 3], rdot, rtol=1e-7, atol=1e-6)


@pytest.mark.parametrize("with_rr", [False, True])
def test_jacobian_against_central_differences(with_rr):
    rng = np.random.default_rng(3)
    x = np.concatenate([_targets(rng, 20), rng.normal(size=(20, 1))], axis=-1)  # 7 states
    radar = RadarMeasurement(**SITE, sigma_range_rate=1.0 if with_rr else None)
    z, hj = radar.measure_with_jacobian(x)
    np.testing.assert_allclose(z, radar.measure(x), rtol=1e-14)
    assert hj.shape == (20, radar.ndim_meas, 7)
    steps = np.r_[np.full(3, 1.0), np.full(3, 1e-2), 1.0]
    cols = []
    for i, s in enumerate(steps):
        e = np.zeros(7)
        e[i] = s
        d = residual(radar.measure(x + e), radar.measure(x - e), radar.angle_indices)
        cols.append(d / (2 * s))
    h_fd = np.stack(cols, -1)
    scale = np.abs(h_fd).max(axis=-1, keepdims=True)  # per row (per measurement component)
    assert np.max(np.abs(hj - h_fd) / scale) < 1e-6
    np.testing.assert_array_equal(hj[..., 6], 0.0)


def test_jacobian_wrong_sign_detected():
    """Negative case: an azimuth measured counter-clockwise (east of north negated) fails."""
    radar = RadarMeasurement(**SITE)
    x = _targets(np.random.default_rng(4), 5)
    _, hj = radar.measure_with_jacobian(x)
    e = np.zeros(6)
    e[0] = 1.0
    d_az = residual(radar.measure(x + e), radar.measure(x - e), (1, 2))[:, 1] / 2
    assert np.max(np.abs(-hj[:, 1, 0] - d_az)) > 1e3 * np.max(np.abs(hj[:, 1, 0] - d_az))


def test_azimuth_wraps_near_north():
    radar = RadarMeasurement(**SITE)
    site = geodetic_to_ecef(SITE["lat"], SITE["lon"], SITE["alt"])
    rot = radar.enu_rotation
    east_of_north = site + rot.T @ np.array([1.0, 1e5, 1e4])
    west_of_north = site + rot.T @ np.array([-1.0, 1e5, 1e4])
    za, zb = radar.measure(east_of_north), radar.measure(west_of_north)
    assert za[1] < 1e-4 and zb[1] > 2 * np.pi - 1e-4
    assert abs(residual(za, zb, radar.angle_indices)[1]) < 3e-5


def test_bad_input():
    with pytest.raises(ValueError, match="sigma_range"):
        RadarMeasurement(**SITE, sigma_range=0.0)
    with pytest.raises(ValueError, match="lat"):
        RadarMeasurement(lat=2.0, lon=0.0)
    with pytest.raises(ValueError, match="sigma_range_rate"):
        RadarMeasurement(**SITE, sigma_range_rate=-1.0)
    with pytest.raises(ValueError, match=r"n>=6"):
        RadarMeasurement(**SITE, sigma_range_rate=1.0).measure(np.zeros(3))
    r = RadarMeasurement.from_degrees(40.9, 140.3, 30.0)
    assert r.lat == pytest.approx(SITE["lat"])


def test_from_ecef_site():
    site = geodetic_to_ecef(SITE["lat"], SITE["lon"], SITE["alt"])
    radar = RadarMeasurement.from_ecef(site, sigma_range=10.0)
    ref = RadarMeasurement(**SITE, sigma_range=10.0)
    np.testing.assert_allclose(radar.site_ecef, site, atol=1e-6)
    np.testing.assert_allclose(radar.enu_rotation, ref.enu_rotation, atol=1e-12)
    x = _targets(np.random.default_rng(6), 5)
    np.testing.assert_allclose(radar.measure(x), ref.measure(x), rtol=1e-10)
    with pytest.raises(ValueError, match="site_ecef"):
        RadarMeasurement.from_ecef([1.0, 2.0])
