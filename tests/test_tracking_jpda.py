"""JPDA probabilities and the PDAF combined update (tracking.jpda).

Oracles: brute-force enumeration of joint events (itertools), the single-track PDAF closed
form, Stone Soup's JPDA associator, and a plain per-run loop of the PDAF equations.
"""

from __future__ import annotations

import datetime
import itertools

import numpy as np
import pytest
from scipy.stats import chi2, multivariate_normal

from trackers.tracking import jpda
from trackers.tracking.jpda import MAX_SHARED_REPORTS, jpda_probabilities, pda_combine


def _brute_force(loglik, feasible, pd, lam):
    """beta (K, M + 1) of one run by listing every joint event (Fortmann et al. 1983)."""
    k, m = loglik.shape
    beta = np.zeros((k, m + 1))
    total = 0.0
    options = [[-1] + [j for j in range(m) if feasible[t, j]] for t in range(k)]
    for event in itertools.product(*options):
        used = [j for j in event if j >= 0]
        if len(used) != len(set(used)):
            continue  # a report given to two tracks
        weight = 1.0
        for t, j in enumerate(event):
            weight *= pd[t] * np.exp(loglik[t, j]) / lam if j >= 0 else 1.0 - pd[t]
        total += weight
        for t, j in enumerate(event):
            beta[t, j if j >= 0 else m] += weight
    return beta / total


def _random_case(rng, n, k, m, density=None):
    loglik = rng.normal(-4.0, 2.0, (n, k, m))
    dens = rng.uniform(0.1, 1.0, (n, 1, 1)) if density is None else density
    feasible = rng.random((n, k, m)) < dens
    pd = rng.uniform(0.05, 0.99, (n, k))
    lam = 10.0 ** rng.uniform(-3.0, 0.0, n)
    return np.where(feasible, loglik, np.nan), feasible, pd, lam


def _check_against_brute_force(loglik, feasible, pd, lam):
    beta = jpda_probabilities(loglik, feasible, pd, lam)
    n, k, m = loglik.shape
    assert beta.shape == (n, k, m + 1)
    for r in range(n):
        np.testing.assert_allclose(
            beta[r], _brute_force(loglik[r], feasible[r], pd[r], lam[r]), rtol=0, atol=1e-9
        )
    return beta


@pytest.mark.parametrize(("k", "m"), [(2, 2), (4, 3), (3, 5), (5, 5), (6, 4)])
def test_equals_brute_force_enumeration(k, m):
    """Per-track pd, per-run clutter density, random gates (shared and private reports)."""
    rng = np.random.default_rng(10 * k + m)
    beta = _check_against_brute_force(*_random_case(rng, 40, k, m))
    np.testing.assert_allclose(beta.sum(axis=2), 1.0, atol=1e-12)


def test_hundreds_of_small_cases_including_empty_shapes():
    rng = np.random.default_rng(99)
    for _ in range(120):
        k, m = int(rng.integers(0, 5)), int(rng.integers(0, 5))
        loglik, feasible, pd, lam = _random_case(rng, 6, k, m)
        feasible[0] = False  # one all-infeasible run: every track missed
        beta = _check_against_brute_force(loglik, feasible, pd, lam)
        assert np.all(beta[0, :, m] == 1.0)


def test_dense_cluster_equals_brute_force():
    """Every report gated by every track: one cluster of 6 tracks and 6 shared reports
    (13 327 joint events)."""
    rng = np.random.default_rng(5)
    loglik, feasible, pd, lam = _random_case(rng, 3, 6, 6, density=1.0)
    _check_against_brute_force(loglik, feasible, pd, lam)


def test_chunked_tables_give_the_same_answer(monkeypatch):
    """Many runs with the same number of shared reports, computed in chunks of one run."""
    rng = np.random.default_rng(8)
    args = _random_case(rng, 50, 5, 4, density=0.7)
    full = jpda_probabilities(*args)
    monkeypatch.setattr(jpda, "_TABLE_ELEMENTS", 1)
    np.testing.assert_allclose(jpda_probabilities(*args), full, rtol=0, atol=1e-14)


def test_permuting_tracks_and_reports_permutes_beta():
    """Runs of every cluster size in one batch; relabelling must not change the answer."""
    rng = np.random.default_rng(11)
    loglik, feasible, pd, lam = _random_case(rng, 200, 7, 6)
    beta = jpda_probabilities(loglik, feasible, pd, lam)
    pt, pm = rng.permutation(7), rng.permutation(6)
    beta_p = jpda_probabilities(loglik[:, pt][:, :, pm], feasible[:, pt][:, :, pm], pd[:, pt], lam)
    np.testing.assert_allclose(beta_p[:, :, :6], beta[:, pt][:, :, pm], atol=1e-12)
    np.testing.assert_allclose(beta_p[:, :, 6], beta[:, pt, 6], atol=1e-12)


def test_single_track_is_the_pdaf_weight():
    """beta_m = w_m / ((1 - pd) + sum w), w_m = pd L_m / lambda (Bar-Shalom & Tse 1975)."""
    rng = np.random.default_rng(4)
    loglik = rng.normal(-3.0, 1.0, (5, 1, 4))
    feasible = np.ones_like(loglik, dtype=bool)
    pd, lam = 0.7, 0.05
    w = pd * np.exp(loglik[:, 0]) / lam
    den = (1.0 - pd) + w.sum(axis=1, keepdims=True)
    expected = np.concatenate([w / den, (1.0 - pd) / den], axis=1)
    np.testing.assert_allclose(jpda_probabilities(loglik, feasible, pd, lam)[:, 0], expected)


def test_one_report_shared_by_256_tracks_is_analytic():
    """One report, K tracks: beta_k0 = r_k / (1 + sum_i r_i), r_k = w_k / (1 - pd_k).
    K = 256 also checks the per-report track count (a uint8 count would wrap to 0)."""
    rng = np.random.default_rng(6)
    k = 256
    loglik = rng.normal(-6.0, 1.0, (2, k, 1))
    pd = rng.uniform(0.1, 0.9, (2, k))
    lam = np.array([0.01, 0.1])
    beta = jpda_probabilities(loglik, np.ones_like(loglik, dtype=bool), pd, lam)
    ratio = pd * np.exp(loglik[:, :, 0]) / lam[:, None] / (1.0 - pd)
    expected = ratio / (1.0 + ratio.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(beta[:, :, 0], expected, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(beta.sum(axis=2), 1.0, atol=1e-12)


def test_extreme_likelihoods_stay_finite_in_log_space():
    """Likelihood ratios of e^800 would overflow a linear-space evaluation."""
    loglik = np.array([[[800.0, 790.0], [795.0, 805.0]]])
    feasible = np.ones_like(loglik, dtype=bool)
    beta = jpda_probabilities(loglik, feasible, 0.9, 1.0)
    assert np.isfinite(beta).all()
    # two events dominate: {0->0, 1->1} (e^1605) and {0->1, 1->0} (e^1585); the others
    # are below e^806, negligible to 1e-300
    odds = np.exp(-20.0)
    assert beta[0, 0, 0] == pytest.approx(1.0 / (1.0 + odds), rel=1e-12)
    assert beta[0, 0, 1] == pytest.approx(odds / (1.0 + odds), rel=1e-9)
    assert beta[0, 1, 0] == pytest.approx(odds / (1.0 + odds), rel=1e-9)


def test_pd_one_and_zero():
    """pd = 0: nothing is ever assigned. pd = 1: a track must take a report; NaN only when
    no joint event is possible (two tracks, one report, both needing it)."""
    loglik = np.zeros((1, 2, 1))
    feasible = np.ones((1, 2, 1), dtype=bool)
    np.testing.assert_array_equal(jpda_probabilities(loglik, feasible, 0.0, 1.0)[0, :, 1], 1.0)
    beta = jpda_probabilities(loglik, feasible, np.array([[1.0, 0.5]]), 1.0)
    np.testing.assert_allclose(beta[0], [[1.0, 0.0], [0.0, 1.0]])
    assert np.isnan(jpda_probabilities(loglik, feasible, 1.0, 1.0)).all()


def test_limit_on_shared_reports_is_a_clear_error():
    m = MAX_SHARED_REPORTS + 1
    feasible = np.ones((2, 2, m), dtype=bool)
    with pytest.raises(ValueError, match=f"run 0 has {m} reports gated by two or more"):
        jpda_probabilities(np.zeros((2, 2, m)), feasible, 0.9, 1.0)


def test_bad_input_is_rejected():
    ll = np.zeros((2, 3, 4))
    gate = np.ones((2, 3, 4), dtype=bool)
    with pytest.raises(ValueError, match="loglik"):
        jpda_probabilities(ll[0], gate[0], 0.9, 1.0)
    with pytest.raises(TypeError, match="feasible"):
        jpda_probabilities(ll, gate.astype(float), 0.9, 1.0)
    with pytest.raises(ValueError, match="pd"):
        jpda_probabilities(ll, gate, 1.5, 1.0)
    with pytest.raises(ValueError, match="pd"):
        jpda_probabilities(ll, gate, np.full((2, 4), 0.9), 1.0)
    with pytest.raises(ValueError, match="clutter_density"):
        jpda_probabilities(ll, gate, 0.9, 0.0)
    with pytest.raises(ValueError, match="clutter_density"):
        jpda_probabilities(ll, gate, 0.9, np.ones(3))


def test_equals_stone_soup_jpda():
    """Stone Soup's JPDA with a PDAHypothesiser (miss weight 1 - PD PG, detection weight
    PD N / lambda, chi-square gate of probability PG) is our formula with pd = PD PG and
    loglik = log N - log PG (module notes); same gate, probabilities to 1e-9."""
    pytest.importorskip("stonesoup")
    from stonesoup.dataassociator.probability import JPDA
    from stonesoup.hypothesiser.probability import PDAHypothesiser
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.types.track import Track
    from stonesoup.updater.kalman import KalmanUpdater

    t0 = datetime.datetime(2026, 1, 1)
    R = np.diag([4.0, 9.0])  # position noise [m^2]
    H = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    mm = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=R)
    tm = CombinedLinearGaussianTransitionModel([ConstantVelocity(0.1)] * 2)
    PD, PG, LAM = 0.8, 0.99, 0.002
    assoc = JPDA(
        PDAHypothesiser(
            KalmanPredictor(tm),
            KalmanUpdater(mm),
            clutter_spatial_density=LAM,
            prob_detect=PD,
            prob_gate=PG,
        )
    )
    rng = np.random.default_rng(3)
    k, m = 3, 5
    means = [np.array([0.0, 1, 0, 1]), np.array([6.0, 0, 3, 0]), np.array([3.0, 0, -4, 0])]
    covs = [np.diag(rng.uniform(5.0, 20.0, 4)) for _ in range(k)]
    zs = rng.uniform(-6.0, 10.0, (m, 2))
    tracks = [
        Track([GaussianState(mu[:, None], P, timestamp=t0)])
        for mu, P in zip(means, covs, strict=True)
    ]
    dets = [Detection(z[:, None], timestamp=t0, measurement_model=mm) for z in zs]
    out = assoc.associate(set(tracks), set(dets), t0)  # predicted to t0 itself: dt = 0
    theirs = np.zeros((k, m + 1))
    for t, track in enumerate(tracks):
        for h in out[track]:
            j = dets.index(h.measurement) if h.measurement else m
            theirs[t, j] = float(h.probability)

    loglik = np.zeros((1, k, m))
    feasible = np.zeros((1, k, m), dtype=bool)
    for t in range(k):
        S = H @ covs[t] @ H.T + R
        zhat = H @ means[t]
        for j in range(m):
            nu = zs[j] - zhat
            loglik[0, t, j] = multivariate_normal.logpdf(zs[j], zhat, S)
            feasible[0, t, j] = nu @ np.linalg.solve(S, nu) <= chi2.ppf(PG, 2)
    assert feasible.sum(axis=1).max() >= 2 and not feasible.all()  # shared and gated out
    ours = jpda_probabilities(loglik - np.log(PG), feasible, PD * PG, LAM)[0]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


# ---------------------------------------------------------------------- PDAF combined update


def _pdaf_loop(x, P, nu, W, S, beta):
    """Plain per-run, per-track PDAF equations (Bar-Shalom & Tse 1975)."""
    n_run, k = x.shape[:2]
    m_rep = nu.shape[2]
    mean, cov = np.empty_like(x), np.empty_like(P)
    for r in range(n_run):
        for t in range(k):
            b, b0 = beta[r, t, :m_rep], beta[r, t, m_rep]
            v = np.zeros(nu.shape[3])
            spread = np.zeros((nu.shape[3],) * 2)
            for j in range(m_rep):
                if b[j] > 0:
                    v += b[j] * nu[r, t, j]
                    spread += b[j] * np.outer(nu[r, t, j], nu[r, t, j])
            spread -= np.outer(v, v)
            Wk = W[r, t]
            mean[r, t] = x[r, t] + Wk @ v
            Pc = P[r, t] - Wk @ S[r, t] @ Wk.T
            cov[r, t] = b0 * P[r, t] + (1 - b0) * Pc + Wk @ spread @ Wk.T
    return mean, cov


def _pdaf_case(rng, n_run=7, k=3, n=4, m=2, m_rep=4):
    A = rng.normal(size=(n_run, k, n, n))
    P = A @ A.swapaxes(-1, -2) + n * np.eye(n)
    H = rng.normal(size=(m, n))
    S = H @ P @ H.T + np.eye(m)
    W = P @ H.T @ np.linalg.inv(S)
    x = rng.normal(size=(n_run, k, n))
    nu = rng.normal(size=(n_run, k, m_rep, m))
    loglik, feasible, pd, lam = _random_case(rng, n_run, k, m_rep)
    beta = jpda_probabilities(loglik, feasible, pd, lam)
    nu = np.where(feasible[..., None], nu, np.nan)  # outside the gate: NaN innovations
    return x, P, nu, W, S, beta


def test_pda_combine_equals_per_run_loop():
    rng = np.random.default_rng(21)
    args = _pdaf_case(rng)
    post = pda_combine(*args)
    mean, cov = _pdaf_loop(*args)
    assert np.isfinite(post.mean).all()  # NaN innovations outside the gate were ignored
    np.testing.assert_allclose(post.mean, mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(post.cov, cov, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(post.cov, post.cov.swapaxes(-1, -2))


def test_pda_combine_limits():
    """beta_0 = 1: prior unchanged; one report with beta = 1: the Kalman update."""
    rng = np.random.default_rng(22)
    x, P, nu, W, S, _ = _pdaf_case(rng, m_rep=2)
    nu = np.nan_to_num(nu)
    miss = np.zeros((*x.shape[:2], 3))
    miss[..., 2] = 1.0
    post = pda_combine(x, P, nu, W, S, miss)
    np.testing.assert_allclose(post.mean, x)
    np.testing.assert_allclose(post.cov, P, atol=1e-12)
    first = np.zeros_like(miss)
    first[..., 0] = 1.0
    post = pda_combine(x, P, nu, W, S, first)
    np.testing.assert_allclose(post.mean, x + np.einsum("rtij,rtj->rti", W, nu[:, :, 0]))
    np.testing.assert_allclose(post.cov, P - W @ S @ W.swapaxes(-1, -2), atol=1e-12)


def test_pda_combine_rejects_bad_shapes():
    rng = np.random.default_rng(23)
    x, P, nu, W, S, beta = _pdaf_case(rng)
    with pytest.raises(ValueError, match="beta"):
        pda_combine(x, P, nu, W, S, beta[..., :-1])
    with pytest.raises(ValueError, match="gain"):
        pda_combine(x, P, nu, W[..., :1], S, beta)
    with pytest.raises(ValueError, match="mean_k"):
        pda_combine(x[0], P, nu, W, S, beta)
