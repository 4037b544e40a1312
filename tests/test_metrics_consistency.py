"""NEES/NIS, chi-square bands, and the 100-run consistency study on CV + position data."""

import numpy as np
import oracle
import pytest

from trackers.filters import CKF, KF, UKF, Filter, Gaussian
from trackers.filters.runner import MeasurementStream, run
from trackers.metrics.consistency import anees, chi2_band, fraction_in_band, nees, nis
from trackers.metrics.errors import rmse_from_mean_sq, rmse_per_epoch, time_averaged_rmse
from trackers.models.linear import CV, LinearPosition

X0 = np.array([10e3, -5e3, 8e3, 200.0, 150.0, -20.0])
P0 = np.diag([100.0**2] * 3 + [20.0**2] * 3)


def test_chi2_band_reproduces_published_values():
    # Bar-Shalom et al. 2001 §5.4 / docs/references.md §4
    np.testing.assert_allclose(chi2_band(2, 50), [1.48, 2.59], atol=0.006)
    np.testing.assert_allclose(chi2_band(3, 100), [2.54, 3.50], atol=0.006)
    np.testing.assert_allclose(chi2_band(6, 100), [5.34, 6.70], atol=0.006)
    assert chi2_band([3, 6], [100, 100]).shape == (2, 2)
    with pytest.raises(ValueError, match="prob"):
        chi2_band(3, 10, prob=1.5)
    with pytest.raises(ValueError, match="dof and runs"):
        chi2_band(0, 10)


def test_nees_nis_and_band_fraction():
    rng = np.random.default_rng(51)
    A = rng.standard_normal((20, 4, 4))
    P = A @ np.swapaxes(A, -1, -2) + np.eye(4)
    e = rng.standard_normal((20, 4))
    expect = np.array([e[i] @ np.linalg.solve(P[i], e[i]) for i in range(20)])
    np.testing.assert_allclose(nees(e, P), expect, rtol=1e-10)
    np.testing.assert_allclose(nis(e, P), expect, rtol=1e-10)
    with pytest.raises(ValueError, match="cov must be"):
        nees(e, P[:, :3, :3])
    lo, hi = chi2_band(3, 100)
    v = np.array([lo - 0.1, lo + 0.01, 3.0, hi - 0.01, hi + 0.1, np.nan])
    assert fraction_in_band(v, 3, 100) == pytest.approx(3 / 5)
    assert fraction_in_band(v, 3, [100, 100, 100, 100, 100, 0]) == pytest.approx(3 / 5)
    assert anees([3.0, 3.3], 3) == pytest.approx(1.05)


def test_rmse_helpers():
    e = np.zeros((4, 3, 2))
    e[:, 1] = [3.0, 4.0]
    e[0, 2] = [6.0, 8.0]
    np.testing.assert_allclose(rmse_per_epoch(e), [0.0, 5.0, 5.0])
    np.testing.assert_allclose(rmse_per_epoch(e, [0]), [0.0, 3.0, 3.0])
    np.testing.assert_allclose(rmse_from_mean_sq((e**2).mean(0)), rmse_per_epoch(e))
    assert time_averaged_rmse([0.0, 5.0, 5.0]) == pytest.approx(10 / 3)
    with pytest.raises(ValueError, match="components"):
        rmse_per_epoch(e, [5])


def _cv_study(filter_model, runs=100, T=100, seed=52):
    rng = np.random.default_rng(seed)
    truth, sensor = CV(q=5.0), LinearPosition(30.0)
    dt = 2.0
    X = oracle.simulate_linear(
        truth.transition_matrix(dt), truth.noise_matrix(dt), X0, P0, T, runs, rng
    )
    Z = X[..., :3] + 30.0 * rng.standard_normal((runs, T, 3))
    stream = MeasurementStream(dt * np.arange(1, T + 1), np.zeros(T, int), Z)
    return run(
        filter_model,
        Gaussian(X0, P0),
        stream,
        [sensor],
        truth=X,
        keep="final",
    ).stats


@pytest.mark.parametrize("rule", [KF(), UKF(), CKF()])
def test_cv_position_filter_is_consistent_over_100_runs(rule):
    s = _cv_study(Filter(rule, CV(q=5.0)))
    f_nees = fraction_in_band(s.epoch_nees["state"], 6, s.runs)
    f_nis = fraction_in_band(s.epoch_nis, s.epoch_nis_dof, s.epoch_nis_count)
    assert f_nees >= 0.9 and f_nis >= 0.9, (f_nees, f_nis)
    lo, hi = chi2_band(6, s.runs) / 6
    assert lo < anees(s.epoch_nees["state"], 6) < hi


def test_process_noise_100x_too_small_is_flagged():
    s = _cv_study(Filter(KF(), CV(q=0.05)))
    f_nees = fraction_in_band(s.epoch_nees["state"], 6, s.runs)
    f_nis = fraction_in_band(s.epoch_nis, s.epoch_nis_dof, s.epoch_nis_count)
    assert f_nees < 0.3 and f_nis < 0.5, (f_nees, f_nis)
    assert anees(s.epoch_nees["state"], 6) > 2.0
