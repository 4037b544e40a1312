"""WGS-84 conversions against pymap3d (an independent implementation)."""

import numpy as np
import pymap3d as pm
import pytest

from trackers.earth import wgs84
from trackers.earth.rotation import ecef_to_eci, eci_to_ecef


@pytest.fixture
def points():
    rng = np.random.default_rng(1)
    lat = rng.uniform(-89.9, 89.9, 500)
    lon = rng.uniform(-180, 180, 500)
    alt = rng.uniform(-5e3, 5e6, 500)
    return lat, lon, alt


def test_geodetic_to_ecef_matches_pymap3d(points):
    lat, lon, alt = points
    ours = wgs84.geodetic_to_ecef(np.radians(lat), np.radians(lon), alt)
    ref = np.stack(pm.geodetic2ecef(lat, lon, alt), -1)
    np.testing.assert_allclose(ours, ref, atol=1e-6, rtol=0)


def test_ecef_to_geodetic_round_trip_and_pymap3d(points):
    lat, lon, alt = points
    r = wgs84.geodetic_to_ecef(np.radians(lat), np.radians(lon), alt)
    la, lo, al = wgs84.ecef_to_geodetic(r)
    np.testing.assert_allclose(np.degrees(la), lat, atol=1e-9)
    np.testing.assert_allclose(np.degrees(lo), lon, atol=1e-9)
    np.testing.assert_allclose(al, alt, atol=1e-5)
    ref = pm.ecef2geodetic(r[:, 0], r[:, 1], r[:, 2])
    np.testing.assert_allclose(al, ref[2], atol=1e-3)


def test_sphere_is_spherical_coordinates():
    r = wgs84.geodetic_to_ecef(0.3, 1.0, 1000.0, a=6.371e6, e2=0.0)
    assert np.linalg.norm(r) == pytest.approx(6.372e6, rel=1e-14)
    lat, lon, alt = wgs84.ecef_to_geodetic(r, a=6.371e6, e2=0.0)
    assert (float(lat), float(lon), float(alt)) == pytest.approx((0.3, 1.0, 1000.0), abs=1e-6)


def test_aer_matches_pymap3d(points):
    lat, lon, alt = points
    site = (np.radians(39.0), np.radians(125.8), 50.0)
    r = wgs84.geodetic_to_ecef(np.radians(lat), np.radians(lon), alt)
    az, el, rng = wgs84.ecef_to_aer(r, *site)
    raz, rel, rrng = pm.ecef2aer(r[:, 0], r[:, 1], r[:, 2], 39.0, 125.8, 50.0)
    np.testing.assert_allclose(rng, rrng, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(el, np.radians(rel), atol=1e-10)
    np.testing.assert_allclose(np.cos(az - np.radians(raz)), 1.0, atol=1e-12)
    back = wgs84.aer_to_ecef(az, el, rng, *site)
    np.testing.assert_allclose(back, r, atol=1e-6)


def test_azimuth_convention_north_clockwise():
    site = (np.radians(40.0), np.radians(130.0), 0.0)
    north = wgs84.geodetic_to_ecef(np.radians(40.1), np.radians(130.0), 0.0)
    east = wgs84.geodetic_to_ecef(np.radians(40.0), np.radians(130.1), 0.0)
    assert float(wgs84.ecef_to_aer(north, *site)[0]) == pytest.approx(0.0, abs=1e-3)
    assert float(wgs84.ecef_to_aer(east, *site)[0]) == pytest.approx(np.pi / 2, abs=2e-3)


def test_eci_ecef_round_trip_and_velocity_transport():
    rng = np.random.default_rng(2)
    r = rng.normal(size=(10, 3)) * 7e6
    v = rng.normal(size=(10, 3)) * 5e3
    t = rng.uniform(0, 5000, 10)
    re, ve = eci_to_ecef(t, r, v)
    r2, v2 = ecef_to_eci(t, re, ve)
    np.testing.assert_allclose(r2, r, rtol=1e-13, atol=1e-6)
    np.testing.assert_allclose(v2, v, rtol=1e-12, atol=1e-8)
    # A point fixed on the Earth has zero ECEF velocity and omega x r inertial velocity.
    p = wgs84.geodetic_to_ecef(0.5, 2.0, 0.0)
    _, vi = ecef_to_eci(0.0, p, np.zeros(3))
    assert np.linalg.norm(vi) == pytest.approx(wgs84.OMEGA_E * np.hypot(p[0], p[1]), rel=1e-12)


def test_geodesic_distance_one_degree_of_latitude():
    # One degree of latitude at the equator on WGS-84 is 110 574 m (meridian arc).
    d = wgs84.geodesic_distance(0.0, 0.0, np.radians(1.0), 0.0)
    assert float(d) == pytest.approx(110574.4, abs=1.0)
