"""Radar geometry and visibility: pymap3d oracle, 4/3-Earth horizon, coverage limits."""

from __future__ import annotations

import math

import numpy as np
import pymap3d as pm
import pytest
from pymap3d.vincenty import vreckon

from trackers.earth import wgs84
from trackers.sensors import Radar, coverage_intervals, effective_elevation, geometry
from trackers.sensors.synthetic import trajectory
from trackers.sensors.visibility import horizon_height
from trackers.sim.truth import Flight


def radar(**kw) -> Radar:
    base = dict(id="test", type="test", lat=math.radians(40.0), lon=math.radians(135.0),
                alt=0.0, max_range=1e8, measures_range_rate=True)  # fmt: skip
    base.update(kw)
    return Radar(**base)


def test_measure_matches_pymap3d_ecef2aer():
    rng = np.random.default_rng(11)
    for _ in range(5):
        lat0, lon0 = rng.uniform(-60, 60), rng.uniform(-180, 180)
        alt0 = rng.uniform(0, 500)
        rad = radar(lat=math.radians(lat0), lon=math.radians(lon0), alt=alt0)
        enu = rng.normal(size=(50, 3)) * 8e5 + [0, 0, 9e5]
        r = np.array([pm.enu2ecef(*e, lat0, lon0, alt0) for e in enu])
        v = rng.normal(size=(50, 3)) * 3e3
        z = rad.measure(np.concatenate([r, v], axis=1))
        az, el, rng_ = pm.ecef2aer(r[:, 0], r[:, 1], r[:, 2], lat0, lon0, alt0, deg=True)
        az, el = np.radians(az), np.radians(el)
        np.testing.assert_allclose(z[:, 0], rng_, atol=1e-3)  # mm
        np.testing.assert_allclose(np.angle(np.exp(1j * (z[:, 1] - az))), 0, atol=1e-6)  # urad
        np.testing.assert_allclose(z[:, 2], el, atol=1e-6)
        assert np.all((z[:, 1] >= 0) & (z[:, 1] < 2 * np.pi))


def test_range_rate_is_derivative_of_range():
    rad = radar()
    r0 = rad.site_ecef + np.array([3e5, -2e5, 4e5])
    v = np.array([2000.0, 1500.0, -3000.0])
    h = 1e-3
    x = lambda t: np.concatenate([r0 + v * t, v])  # noqa: E731
    fd = (rad.measure(x(h))[0] - rad.measure(x(-h))[0]) / (2 * h)
    assert rad.measure(x(0.0))[3] == pytest.approx(fd, rel=1e-7)
    # negative case: the range-rate is not the speed
    assert abs(rad.measure(x(0.0))[3] - np.linalg.norm(v)) > 100


def horizon_threshold(rad: Radar, distance: float, azimuth_deg: float = 60.0, k=4 / 3) -> float:
    """Lowest visible height [m] of a target at ground (ellipsoid) distance from the site."""
    lat, lon = vreckon(math.degrees(rad.lat), math.degrees(rad.lon), distance, azimuth_deg)
    h = np.linspace(0.0, 150e3, 150001)
    el, clear = effective_elevation(rad, math.radians(float(lat)), math.radians(float(lon)), h, k)
    ok = clear & (el >= rad.min_elevation)
    return float(h[np.argmax(ok)])


@pytest.mark.parametrize(("distance", "expected"), [(1000e3, 59e3), (800e3, 38e3)])
def test_four_thirds_earth_horizon(distance, expected):
    rad = radar()
    h = horizon_threshold(rad, distance)
    assert abs(h - expected) < 2e3
    assert abs(h - horizon_height(distance)) < 1.5e3
    # negative case: without refraction (k = 1) the same check fails by ~20 km
    h1 = horizon_threshold(rad, distance, k=1.0)
    assert h1 - expected > 10e3


def test_visibility_from_geometry_uses_horizon_and_limits():
    rad = radar(max_range=3e6, half_width_az=math.radians(30), boresight_az=math.radians(60))
    lat, lon = (math.radians(float(a)) for a in vreckon(40.0, 135.0, 1000e3, 60.0))
    hs = np.array([50e3, 70e3])
    r = wgs84.geodetic_to_ecef(lat, lon, hs)
    vis = geometry(rad, np.concatenate([r, np.zeros_like(r)], -1)).visible
    assert vis.tolist() == [False, True]  # below / above the ~59 km horizon
    # outside the azimuth field of regard (bearing 180 deg, boresight 60 +- 30)
    lat2, lon2 = (math.radians(float(a)) for a in vreckon(40.0, 135.0, 500e3, 180.0))
    r2 = wgs84.geodetic_to_ecef(lat2, lon2, 300e3)
    assert not geometry(rad, np.r_[r2, 0, 0, 0]).visible
    wide = radar(max_range=3e6)
    assert geometry(wide, np.r_[r2, 0, 0, 0]).visible
    # beyond the instrumented range
    short = radar(max_range=400e3)
    assert not geometry(short, np.r_[r2, 0, 0, 0]).visible
    # NaN state (object not alive) is invisible, not an error
    assert not geometry(wide, np.full(6, np.nan)).visible


def test_ray_must_clear_the_surface_from_an_elevated_site():
    # A site 10 km up may look below its horizontal (min_elevation < 0) but a ray grazing
    # the effective sphere is blocked: the target at sea level 1000 km away is hidden.
    rad = radar(alt=9000.0, min_elevation=math.radians(-5.0), el_min=math.radians(-10))
    lat, lon = (math.radians(float(a)) for a in vreckon(40.0, 135.0, 1000e3, 0.0))
    el, clear = effective_elevation(rad, lat, lon, np.array([0.0, 200e3]))
    assert el[0] > rad.min_elevation and not clear[0]
    assert clear[1]
    # close target below the horizontal but in direct view is visible
    lat, lon = (math.radians(float(a)) for a in vreckon(40.0, 135.0, 50e3, 0.0))
    el, clear = effective_elevation(rad, lat, lon, 0.0)
    assert el < 0 and clear


def test_coverage_intervals_of_rising_and_falling_object():
    rad = radar(max_range=3e6)
    t = np.arange(0.0, 200.0, 1.0)
    lat, lon = (math.radians(float(a)) for a in vreckon(40.0, 135.0, 1000e3, 0.0))
    h = 100e3 - 80e3 * np.abs(t - 100.0) / 100.0  # 20 km -> 100 km -> 20 km
    r = wgs84.geodetic_to_ecef(lat, lon, h)
    y = np.concatenate([r, np.gradient(r, t, axis=0)], axis=1)
    fl = Flight("t", "2023-01-01T00:00:00Z", (trajectory("rv", "rv", None, "launch", t, y),), ())
    (iv,) = coverage_intervals(fl, rad)["rv"]
    h_vis = horizon_threshold(rad, 1000e3, azimuth_deg=0.0)
    # visible while h >= h_vis: t in [100 - 100 (100e3 - h_vis)/80e3, symmetric]
    half = 100.0 * (100e3 - h_vis) / 80e3
    assert iv[0] == pytest.approx(100 - half, abs=1.01)
    assert iv[1] == pytest.approx(100 + half, abs=1.01)


def test_radar_validation_names_the_field():
    with pytest.raises(ValueError, match="sigma_range"):
        radar(sigma_range=-1.0)
    with pytest.raises(ValueError, match="revisit_phase"):
        radar(revisit=2.0, revisit_phase=3.0)
    with pytest.raises(ValueError, match="pfa"):
        radar(pfa=1.5)
    with pytest.raises(TypeError, match="lat"):
        radar(lat="40")
    with pytest.raises(ValueError, match="lat"):
        radar(lat=2.0)
    with pytest.raises(ValueError, match=r"'lon' = 135\.0"):
        radar(lon=135.0)  # degrees passed as radians: was accepted silently
    assert radar(lon=math.radians(-170.0)).lon < 0  # west longitudes are fine


def test_noise_cov_and_measurement_order():
    r3 = radar(measures_range_rate=False, sigma_range=30.0, sigma_az=5e-4, sigma_el=6e-4)
    np.testing.assert_allclose(r3.noise_cov(), np.diag([900.0, 2.5e-7, 3.6e-7]))
    assert r3.measurement_names == ("range", "azimuth", "elevation")
    r4 = radar(sigma_range_rate=2.0)
    assert r4.noise_cov().shape == (4, 4) and r4.noise_cov()[3, 3] == 4.0
    np.testing.assert_allclose(r4.site_ecef, wgs84.geodetic_to_ecef(r4.lat, r4.lon, r4.alt))
    # the filters' measurement model gives the same h(x)
    x = np.r_[r4.site_ecef + [1e5, 2e5, 3e5], 100.0, -200.0, 50.0]
    np.testing.assert_allclose(r4.measurement_model().measure(x), r4.measure(x), rtol=1e-12)


def test_field_of_regard_elevation_limits():
    rad = radar(el_min=math.radians(5.0), el_max=math.radians(60.0))
    pts = [wgs84.aer_to_ecef(0.3, math.radians(e), 3e5, rad.lat, rad.lon, rad.alt)
           for e in (3.0, 30.0, 70.0)]  # fmt: skip
    x = np.concatenate([np.array(pts), np.zeros((3, 3))], axis=1)
    assert geometry(rad, x).visible.tolist() == [False, True, False]
    assert geometry(radar(), x).visible.tolist() == [True, True, True]


@pytest.mark.parametrize(
    ("k", "exc"), [(0.0, ValueError), (-4 / 3, ValueError), (float("nan"), ValueError),
                   ("4/3", TypeError)]
)  # fmt: skip
def test_bad_refraction_factor_is_rejected_at_the_boundary(k, exc):
    """k = 0 or NaN gave NaN elevations (all silently invisible), k < 0 a plausible but wrong
    elevation (0.45 rad here); now a named error at the boundary."""
    from trackers.sensors import observe
    from trackers.sensors.synthetic import kepler_flight

    rad = radar()
    with pytest.raises(exc, match="k"):
        effective_elevation(rad, 0.7, 2.4, 1e5, k)
    with pytest.raises(exc, match="Earth-radius factor"):
        observe(kepler_flight(separations=(), duration_s=50.0), [rad], None, 1, k=k)
    # negative case: valid factors pass (k = 1: no refraction)
    assert np.isfinite(effective_elevation(rad, 0.7, 2.4, 1e5, 1.0)[0])
