"""P(impact in region): exact edge sum vs analytic rectangles, scipy, and Monte Carlo."""

import numpy as np
import pytest
import shapely
from scipy.stats import multivariate_normal, norm

from trackers.earth.wgs84 import ecef_to_geodetic, enu_rotation, geodetic_to_ecef
from trackers.impact.probability import (
    prob_in_polygon_plane,
    prob_in_region,
    prob_in_region_mixture,
)
from trackers.impact.regions import Region, contains, load_regions

N_MC = 100_000


def _cov(s1, s2, theta):
    c, s = np.cos(theta), np.sin(theta)
    r = np.array([[c, -s], [s, c]])
    return r @ np.diag([s1**2, s2**2]) @ r.T


def _mc(region, lat0_deg, lon0_deg, mean, cov, seed):
    """Monte Carlo oracle: sample the tangent plane, map each sample to lat/lon, test it."""
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(mean, cov, N_MC)
    lat0, lon0 = np.radians(lat0_deg), np.radians(lon0_deg)
    rot = enu_rotation(lat0, lon0)
    r = geodetic_to_ecef(lat0, lon0, 0.0) + x[:, :1] * rot[0] + x[:, 1:] * rot[1]
    lat, lon, _ = ecef_to_geodetic(r)
    return contains(region, lat, lon).mean()


def _assert_mc(p, p_mc):
    se = np.sqrt(max(p * (1 - p), 1e-12) / N_MC)
    assert abs(p - p_mc) < 3 * se + 1e-4 * (p * (1 - p) < 1e-6), (p, p_mc, se)


@pytest.fixture(scope="module")
def regions():
    return load_regions()


def test_plane_rectangle_matches_normal_cdfs():
    box = shapely.box(-1.0, -2.0, 3.0, 1.0)
    means = np.array([[0.3, 0.1], [5.0, 5.0], [-1.0, 0.0], [-1.0, -2.0], [40.0, 0.0]])
    cov = np.diag([2.0, 0.5])
    s = np.sqrt(np.diag(cov))
    ref = [
        (norm.cdf((3 - x) / s[0]) - norm.cdf((-1 - x) / s[0]))
        * (norm.cdf((1 - y) / s[1]) - norm.cdf((-2 - y) / s[1]))
        for x, y in means
    ]
    got = prob_in_polygon_plane(box, means, cov)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-15)
    assert got[1] > 0 and got[1] < 1e-8  # far: tiny, not negative


def test_plane_correlated_rectangle_matches_scipy_mvn():
    box = shapely.box(-1.0, -2.0, 3.0, 1.0)
    cov = np.array([[2.0, 0.9], [0.9, 0.7]])
    mvn = multivariate_normal([0.3, 0.1], cov)
    ref = mvn.cdf([3, 1]) - mvn.cdf([-1, 1]) - mvn.cdf([3, -2]) + mvn.cdf([-1, -2])
    assert prob_in_polygon_plane(box, [0.3, 0.1], cov) == pytest.approx(ref, abs=1e-6)


def test_plane_hole_and_multipolygon_add_up():
    outer = shapely.box(-3, -3, 3, 3)
    hole = shapely.box(-1, -1, 1, 1)
    ring = shapely.Polygon(outer.exterior, [hole.exterior])
    far = shapely.box(10, 10, 11, 11)
    cov = np.eye(2)
    p_ring = prob_in_polygon_plane(ring, [0.5, 0.2], cov)
    p_outer = prob_in_polygon_plane(outer, [0.5, 0.2], cov)
    p_hole = prob_in_polygon_plane(hole, [0.5, 0.2], cov)
    assert p_ring == pytest.approx(p_outer - p_hole, abs=1e-14)
    multi = shapely.MultiPolygon([ring, far])
    p_far = prob_in_polygon_plane(far, [0.5, 0.2], cov)
    assert prob_in_polygon_plane(multi, [0.5, 0.2], cov) == pytest.approx(p_ring + p_far)


def test_box_region_vs_monte_carlo_cases():
    reg = Region("box", "box", shapely.box(140.0, 42.0, 141.0, 43.0), "test")
    cases = [
        (42.5, 140.5, (0.0, 0.0), _cov(3e4, 1.5e4, 0.3)),  # inside, wide
        (42.0, 140.5, (0.0, 0.0), _cov(3e3, 1.5e3, 0.0)),  # mean on the southern edge
        (42.0, 140.0, (0.0, 0.0), _cov(5e3, 4e3, 0.7)),  # mean on a corner
        (42.2, 139.9, (0.0, 0.0), _cov(3e4, 30.0, np.radians(45.0))),  # 1000:1 thin ellipse
        (41.9, 140.2, (2e3, -1e3), _cov(1e4, 5e3, 1.0)),  # mean offset from the reference
    ]
    for i, (lat, lon, mean, cov) in enumerate(cases):
        p = float(prob_in_region(reg, np.radians(lat), np.radians(lon), mean, cov))
        _assert_mc(p, _mc(reg, lat, lon, mean, cov, seed=i))


def test_mean_on_edge_is_half_for_a_straight_boundary():
    reg = Region("box", "box", shapely.box(140.0, 42.0, 141.0, 43.0), "test")
    p = prob_in_region(reg, np.radians(42.5), np.radians(140.0), [0.0, 0.0], np.eye(2) * 1e6)
    assert p == pytest.approx(0.5, abs=1e-3)  # edge is straight to < 1 m over +-8 km


def test_far_away_is_tiny_and_nonnegative(regions):
    hk = regions["hokkaido"]
    # 42.0 N 139.3 E: about 40 km west of Okushiri; sigma 6 km -> P ~ 1e-9 .. 1e-11
    p = float(prob_in_region(hk, np.radians(42.1), np.radians(139.0), [0, 0], np.eye(2) * 6e3**2))
    assert 0.0 < p < 1e-6
    # beyond the quick-exit radius: exactly 0
    p0 = prob_in_region(hk, np.radians(40.0), np.radians(135.0), [0, 0], np.eye(2) * 1e6)
    assert p0 == 0.0


def test_hokkaido_vs_monte_carlo(regions):
    hk = regions["hokkaido"]
    # Coastal cases where the answer is neither 0 nor 1.
    cases = [
        (42.10, 140.30, (0.0, 0.0), _cov(2e4, 8e3, 0.4)),
        (43.30, 140.45, (-5e3, 3e3), _cov(1.5e4, 1.5e4, 0.0)),
        (45.45, 141.90, (0.0, 0.0), _cov(8e3, 8.0, 1.2)),  # 1000:1 at Cape Soya
    ]
    for i, (lat, lon, mean, cov) in enumerate(cases):
        p = float(prob_in_region(hk, np.radians(lat), np.radians(lon), mean, cov))
        assert 0.01 < p < 0.99
        _assert_mc(p, _mc(hk, lat, lon, mean, cov, seed=10 + i))


def test_island_prefecture_vs_monte_carlo(regions):
    nagasaki = regions["jp-nagasaki"]  # 12 polygons: Tsushima, Iki, Goto, ...
    lat, lon, mean, cov = 33.5, 129.4, (0.0, 0.0), _cov(6e4, 4e4, 0.5)
    p = float(prob_in_region(nagasaki, np.radians(lat), np.radians(lon), mean, cov))
    _assert_mc(p, _mc(nagasaki, lat, lon, mean, cov, seed=20))


def test_batch_shapes_and_mixture(regions):
    hk = regions["hokkaido"]
    lat = np.radians(np.array([[42.1, 43.06], [40.0, 45.45]]))
    lon = np.radians(np.array([[140.3, 141.35], [135.0, 141.9]]))
    cov = np.broadcast_to(np.eye(2) * 1e8, (2, 2, 2, 2))
    p = prob_in_region(hk, lat, lon, np.zeros((2, 2, 2)), cov)
    assert p.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            one = prob_in_region(hk, lat[i, j], lon[i, j], [0.0, 0.0], cov[i, j])
            assert p[i, j] == pytest.approx(float(one), abs=1e-14)
    # Mixture = weighted sum of its components.
    w = np.array([0.25, 0.75])
    means = np.array([[0.0, 0.0], [-2e4, 1e4]])
    covs = np.array([np.eye(2) * 1e8, np.eye(2) * 4e8])
    pm = prob_in_region_mixture(hk, lat[0, 0], lon[0, 0], w, means, covs)
    comp = [prob_in_region(hk, lat[0, 0], lon[0, 0], means[k], covs[k]) for k in range(2)]
    assert pm == pytest.approx(w @ np.array(comp), abs=1e-14)


def test_bad_input(regions):
    hk = regions["hokkaido"]
    with pytest.raises(ValueError, match="cov"):
        prob_in_region(hk, 0.7, 2.4, [0, 0], [[1.0, 2.0], [2.0, 1.0]])  # not positive definite
    with pytest.raises(ValueError, match="mean"):
        prob_in_region(hk, 0.7, 2.4, [0, 0, 0], np.eye(2))
    with pytest.raises(TypeError, match="region"):
        prob_in_region("hokkaido", 0.7, 2.4, [0, 0], np.eye(2))
    with pytest.raises(ValueError, match="weights"):
        prob_in_region_mixture(
            hk, 0.7, 2.4, [0.5, 0.6], np.zeros((2, 2)), np.stack([np.eye(2)] * 2)
        )
