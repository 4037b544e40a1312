"""Gravity, rotation terms and the configurable Earth model."""

import numpy as np
import pytest

from trackers.earth import gravity, wgs84
from trackers.earth.model import EarthModel
from trackers.earth.rotation import coriolis_centrifugal, coriolis_centrifugal_jacobians


def _num_grad(f, r, h=1.0):
    return np.stack([(f(r + h * e) - f(r - h * e)) / (2 * h) for e in np.eye(3)], axis=-1)


R = np.array([[4.0e6, 3.0e6, 5.0e6], [-6.0e6, 1.0e6, -2.0e6], [6.5e6, 0.0, 0.0]])


def test_surface_gravity_magnitudes():
    # Normal gravity magnitude (no rotation): ~9.814 m/s^2 at the equator, ~9.832 at the pole.
    eq = np.linalg.norm(gravity.j2(np.array([wgs84.A, 0, 0])))
    pole = np.linalg.norm(gravity.j2(np.array([0, 0, wgs84.B])))
    assert eq == pytest.approx(9.814, abs=2e-3)
    assert pole == pytest.approx(9.832, abs=2e-3)
    # With the centrifugal term the equatorial value drops to ~9.780 (Somigliana: 9.7803).
    e = EarthModel()
    g_eff = e.acceleration(np.array([wgs84.A, 0, 0]), np.zeros(3))
    assert np.linalg.norm(g_eff) == pytest.approx(9.7803, abs=2e-3)


def test_j2_reduces_to_point_mass_when_j2_zero():
    np.testing.assert_allclose(gravity.j2(R, j2=0.0), gravity.point_mass(R), rtol=1e-14)


def test_j2_is_gradient_of_potential():
    def potential(r):
        rn = np.linalg.norm(r, axis=-1)
        z = r[..., 2]
        return wgs84.GM / rn * (1 - wgs84.J2 * (wgs84.A / rn) ** 2 * (3 * z**2 / rn**2 - 1) / 2)

    num = _num_grad(potential, R, h=10.0)
    np.testing.assert_allclose(gravity.j2(R), num, rtol=1e-7)


@pytest.mark.parametrize(
    "acc,grad",
    [(gravity.point_mass, gravity.point_mass_gradient), (gravity.j2, gravity.j2_gradient)],
)
def test_gravity_gradients_match_finite_differences(acc, grad):
    g = grad(R)
    np.testing.assert_allclose(g, _num_grad(acc, R), rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(g, np.swapaxes(g, -1, -2), rtol=1e-12, atol=1e-20)


def test_coriolis_centrifugal_matches_cross_products_and_jacobians():
    rng = np.random.default_rng(3)
    r = rng.normal(size=(5, 3)) * 6e6
    v = rng.normal(size=(5, 3)) * 3e3
    w = np.array([0, 0, wgs84.OMEGA_E])
    ref = -2 * np.cross(w, v) - np.cross(w, np.cross(w, r))
    np.testing.assert_allclose(coriolis_centrifugal(r, v), ref, rtol=1e-12, atol=1e-15)
    dr, dv = coriolis_centrifugal_jacobians()
    np.testing.assert_allclose(coriolis_centrifugal(r, v), r @ dr.T + v @ dv.T, rtol=1e-12)


def test_earth_model_options_and_validation():
    flat = EarthModel(shape="sphere", radius=6.371e6, gravity="point-mass", rotating=False)
    r = np.array([7e6, 0.0, 0.0])
    assert flat.altitude(r) == pytest.approx(7e6 - 6.371e6)
    np.testing.assert_array_equal(flat.frame_acceleration(r, np.ones(3)), np.zeros(3))
    assert flat.air.density(0.0) == pytest.approx(1.225, rel=1e-3)
    assert EarthModel(atmosphere="none").air.density(0.0) == 0.0
    with pytest.raises(ValueError, match=r"earth\.gravity"):
        EarthModel(gravity="j4")
    with pytest.raises(ValueError, match=r"earth\.radius"):
        EarthModel(shape="sphere", radius=-1.0)
    with pytest.raises(TypeError, match=r"earth\.rotating"):
        EarthModel(rotating="yes")
