"""Sigma-point rules, unscented transform and the small closed-form linear algebra."""

import numpy as np
import pytest

from trackers.filters import Gaussian, cubature, merwe_scaled
from trackers.filters.linalg_small import cholesky_lower, inv_spd
from trackers.filters.sigma_points import SigmaPointRule, sigma_points, transform_moments
from trackers.filters.sigma_points import weighted_mean as wmean


def _spd(rng, shape, m):
    A = rng.standard_normal((*shape, m, m))
    return A @ np.swapaxes(A, -1, -2) + 0.1 * np.eye(m)


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7])
def test_inv_spd_and_cholesky_match_lapack(m):
    rng = np.random.default_rng(m)
    S = _spd(rng, (50,), m)
    inv, logdet = inv_spd(S)
    np.testing.assert_allclose(inv, np.linalg.inv(S), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(logdet, np.linalg.slogdet(S)[1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(cholesky_lower(S), np.linalg.cholesky(S), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_inv_spd_of_one_matrix_equals_its_batched_result(m):
    # one (m, m) matrix (shared covariance) takes a scalar path for m <= 3
    rng = np.random.default_rng(20 + m)
    S = _spd(rng, (3,), m)
    S[1, 0, -1] += 1e-9  # slightly asymmetric: only the symmetric part is used
    inv_b, logdet_b = inv_spd(S)
    for k in range(3):
        inv, logdet = inv_spd(S[k])
        assert inv.shape == (m, m) and np.ndim(logdet) == 0
        np.testing.assert_array_equal(inv, inv_b[k])
        np.testing.assert_allclose(logdet, logdet_b[k], rtol=1e-15, atol=1e-15)
    # not positive definite: the array path's NaN log-determinant, no exception
    _, logdet = inv_spd(-S[0])
    assert np.isnan(logdet)


@pytest.mark.parametrize("m", [1, 2, 3, 4, 6])
def test_non_pd_members_give_nan_not_exceptions(m):
    rng = np.random.default_rng(10 + m)
    S = _spd(rng, (4,), m)
    S[2] = -S[2]
    _, logdet = inv_spd(S)
    assert np.isnan(logdet[2]) and np.all(np.isfinite(logdet[[0, 1, 3]]))
    L = cholesky_lower(S)
    assert np.isnan(L[2]).any() and np.all(np.isfinite(L[[0, 1, 3]]))


@pytest.mark.parametrize("m", [2, 6, 9])
def test_cholesky_loop_on_large_batches_matches_lapack(m):
    # batches >= CHOLESKY_LAPACK_BELOW take the written-out loop for every n
    from trackers.filters.linalg_small import CHOLESKY_LAPACK_BELOW

    rng = np.random.default_rng(30 + m)
    S = _spd(rng, (3, CHOLESKY_LAPACK_BELOW), m)
    L = cholesky_lower(S)
    assert L.shape == S.shape and L.flags.c_contiguous
    np.testing.assert_allclose(L, np.linalg.cholesky(S), rtol=1e-10, atol=1e-12)
    S[1, 7] = -S[1, 7]
    L = cholesky_lower(S)
    assert np.isnan(L[1, 7]).any()
    bad = np.zeros(S.shape[:-2], bool)
    bad[1, 7] = True
    assert np.all(np.isfinite(L[~bad]))


def test_rules_weights_and_points():
    r = merwe_scaled(4, 0.5, 2.0, 1.0)
    lam = 0.25 * 5 - 4
    assert r.npoints == 9 and r.wm.sum() == pytest.approx(1.0)
    assert r.wm[0] == pytest.approx(lam / (4 + lam))
    assert r.wc[0] == pytest.approx(lam / (4 + lam) + 1 - 0.25 + 2.0)
    np.testing.assert_allclose(np.abs(r.unit_points[1:]).max(axis=1), np.sqrt(4 + lam))
    c = cubature(4)
    assert c.npoints == 8 and np.allclose(c.wm, 1 / 8) and np.allclose(c.wc, 1 / 8)


def test_cubature_is_merwe_alpha1_beta0_kappa0():
    # lambda = 0: Merwe points are +-sqrt(n) e_i plus a centre point with zero weights
    for n in (2, 5, 9):
        u, c = merwe_scaled(n, 1.0, 0.0, 0.0), cubature(n)
        assert u.wm[0] == 0.0 and u.wc[0] == 0.0
        np.testing.assert_allclose(u.unit_points[1:], c.unit_points)
        np.testing.assert_allclose(u.wm[1:], c.wm)
        np.testing.assert_allclose(u.wc[1:], c.wc)
        assert merwe_scaled(n, 1.0, 2.0, 0.0).wc[0] == 2.0  # beta != 0 differs


@pytest.mark.parametrize("rule", [merwe_scaled(3, 1e-3, 2.0, 0.0), merwe_scaled(3), cubature(3)])
def test_unscented_transform_exact_for_linear_maps(rule):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 3))
    P = _spd(rng, (6,), 3)
    A = rng.standard_normal((2, 3))
    X = sigma_points(Gaussian(x, P), rule)
    Y = X @ A.T + 1.0
    y, Pyy, Pxy = transform_moments(X, Y, x, rule)
    np.testing.assert_allclose(y, x @ A.T + 1.0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(Pyy, A @ P @ A.T, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(Pxy, P @ A.T, rtol=1e-7, atol=1e-7)


def test_angle_weighted_mean_across_the_cut():
    wm = np.full(4, 0.25)
    Y = np.array([[np.pi - 0.1], [-np.pi + 0.1], [np.pi - 0.05], [-np.pi + 0.05]])
    m = wmean(Y[None], wm, (0,))
    assert abs(abs(m[0, 0]) - np.pi) < 1e-12  # not 0, the naive mean
    assert wmean(Y[None], wm, ())[0, 0] == pytest.approx(0.0, abs=1e-12)


def test_rule_validation():
    from trackers.filters import UKF

    with pytest.raises(ValueError, match=r"UKF\.alpha must be > 0"):
        UKF(alpha=-1.0)
    with pytest.raises(ValueError, match=r"UKF\.beta must be a finite number"):
        UKF(beta=float("nan"))
    with pytest.raises(ValueError, match="alpha"):
        merwe_scaled(3, 0.0)
    with pytest.raises(ValueError, match="n \\+ lambda"):
        merwe_scaled(3, 1.0, 2.0, -3.0)
    with pytest.raises(ValueError, match="dimension"):
        cubature(0)
    with pytest.raises(ValueError, match="sum to 1"):
        SigmaPointRule(np.zeros((2, 1)), np.array([0.3, 0.3]), np.array([0.5, 0.5]))
