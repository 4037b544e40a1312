"""The compiled (Numba) backend against the NumPy reference path (runner.run, keep="final").

Random seeded cases with per-run priors, missed detections, several sensors, unequal report
intervals (including dt = 0 and dt > max_step, i.e. two RK4 substeps). The final beliefs must
agree to 1e-12 relative (per run, relative to the largest entry). The NIS and log-likelihood
of radar updates are compared to 1e-9: the innovation nu = z - h(x) of a range of ~1e6 m with
a 20 m sigma loses ~1e6 * 2^-52 / 20 ~ 1e-11 of its relative accuracy to the rounding of
h(x) itself, so two correct implementations of the same equations (summing in a different
order) cannot agree better than that — the same holds for the IMM's mode probabilities, which
weight the modes by exp(loglik). The linear cases are well conditioned and compared to 1e-12
throughout. The sigma-point filters' covariance on the radar cases is compared against the
NumPy path's own sensitivity to a one-ulp change of the prior mean (measured in each test,
~1e-11): their covariance depends on the mean through h(X_i); their means agree to 1e-12.

Drag (fixed beta, 6 states, and the ln beta state, 7 states; US76 and exponential
atmospheres): the compiled drift, RK4 mean and variational Jacobian are checked against the
NumPy model on random states (means to the bit, Phi to 1e-14), then EKF, UKF, CKF and a
3-mode IMM on reentry-like runs (75 km, 6.5 km/s, beta 5e3-5e4 kg/m^2, radar with range
rate) and on the W5 benchmark, with the tolerances above, except the EKF covariances of the
reentry runs: 2e-11 (their conditioning: test_drag_ekf_on_reentry_matches_numpy_path).

The first run on a machine compiles the four kernels: ~110 s of CPU (~3 min wall on the
loaded 2-core machine, 2026-12-04), cached on disk afterwards (this file then runs in ~10 s).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

pytest.importorskip("numba")

from trackers.filters import (
    CKF,
    EKF,
    KF,
    UKF,
    Filter,
    Gaussian,
    compiled,
)
from trackers.filters.compiled import run_compiled
from trackers.filters.imm import IMM, Mode, SojournTransition
from trackers.filters.runner import MeasurementStream, run
from trackers.models import Ballistic, RadarMeasurement
from trackers.models.linear import CA, CV, LinearPosition
from trackers.models.reentry import ReentryMotion

P0_BAL = np.diag([500.0**2] * 3 + [20.0**2] * 3)


def _rel(a: np.ndarray, b: np.ndarray, nb: int = 1) -> float:
    """max over runs of max|a - b| / max|b| (per run: the leading nb axes are runs)."""
    a, b = np.asarray(a), np.asarray(b)
    axes = tuple(range(nb, a.ndim))
    den = np.max(np.abs(b), axis=axes) if axes else np.abs(b)
    return float(np.max(np.max(np.abs(a - b), axis=axes) / np.where(den > 0, den, 1.0)))


def _spd(rng: np.random.Generator, n: int, scale: np.ndarray) -> np.ndarray:
    a = rng.normal(size=(n, n))
    s = a @ a.T / n + np.eye(n)
    return s * np.sqrt(scale)[:, None] * np.sqrt(scale)[None, :]


def _times(rng: np.random.Generator, T: int) -> np.ndarray:
    """Report times with dt in {0, 0.5, 1, 2.5} s (dt = 0: a second sensor at the same time)."""
    dt = rng.choice([0.0, 0.5, 1.0, 2.5], size=T, p=[0.15, 0.25, 0.4, 0.2])
    dt[0] = 1.0
    return np.cumsum(dt)


def _miss(rng: np.random.Generator, z: np.ndarray, p: float) -> np.ndarray:
    miss = rng.random(z.shape[:-1]) < p
    return np.where(miss[..., None], np.nan, z)


def _compare_summaries(a, b, tol_state: float, tol_stats: float) -> None:
    assert _rel(b.final_gaussian.mean, a.final_gaussian.mean) < tol_state
    assert _rel(b.final_gaussian.cov, a.final_gaussian.cov) < tol_state
    np.testing.assert_array_equal(b.stats.nis_count, a.stats.nis_count)
    np.testing.assert_array_equal(b.stats.epoch_nis_count, a.stats.epoch_nis_count)
    np.testing.assert_array_equal(b.stats.epoch_nis_dof, a.stats.epoch_nis_dof)
    assert _rel(b.stats.nis_sum, a.stats.nis_sum, 0) < tol_stats
    assert _rel(b.stats.loglik_sum, a.stats.loglik_sum, 0) < tol_stats
    ok = ~np.isnan(a.stats.epoch_nis)
    np.testing.assert_array_equal(np.isnan(b.stats.epoch_nis), ~ok)
    assert _rel(b.stats.epoch_nis[ok], a.stats.epoch_nis[ok], 0) < tol_stats


def _radars() -> list[RadarMeasurement]:
    return [
        RadarMeasurement.from_degrees(
            38.1, 138.4, 0.0, sigma_range=20.0, sigma_azimuth=5e-4, sigma_elevation=5e-4
        ),
        RadarMeasurement.from_degrees(
            35.0, 133.0, 100.0, sigma_range=30.0, sigma_azimuth=1e-3, sigma_elevation=1e-3,
            sigma_range_rate=2.0,
        ),
    ]  # fmt: skip


def _ballistic_case(rng: np.random.Generator, n_runs: int, T: int):
    """Truth by the model's RK4 from a midcourse state; radar reports from two sites."""
    from trackers.earth import enu_rotation, geodetic_to_ecef

    lat, lon = np.radians(40.0), np.radians(129.5)
    xbar = np.r_[
        geodetic_to_ecef(lat, lon, 300e3), enu_rotation(lat, lon).T @ [5000.0, -500.0, 2500.0]
    ]
    model = Ballistic(q=0.05)
    radars = _radars()
    t = _times(rng, T)
    sensor = rng.integers(0, 2, size=T)
    x = xbar + rng.normal(size=(n_runs, 6)) * np.sqrt(np.diag(P0_BAL))
    z = np.full((n_runs, T, 4), np.nan)
    tp = 0.0
    for k in range(T):
        if t[k] > tp:
            x = model.propagate(x, t[k] - tp, tp)
        r = radars[sensor[k]]
        sd = np.sqrt(np.diag(r.noise_cov()))
        z[:, k, : r.ndim_meas] = r.measure(x) + rng.normal(size=(n_runs, r.ndim_meas)) * sd
        tp = t[k]
    mean = xbar + rng.normal(size=(n_runs, 6)) * 0.3 * np.sqrt(np.diag(P0_BAL))
    cov = np.stack([_spd(rng, 6, np.diag(P0_BAL)) for _ in range(n_runs)])
    return Gaussian(mean, cov), MeasurementStream(t, sensor, _miss(rng, z, 0.1)), radars


@pytest.mark.parametrize("simd", [True, False])
def test_kf_per_run_covariances_match_numpy_path(simd):
    rng = np.random.default_rng(11)
    n_runs, T = 37, 80
    sensors = [LinearPosition(sigma=20.0), LinearPosition(sigma=(5.0, 50.0, 10.0))]
    t = _times(rng, T)
    sensor = rng.integers(0, 2, size=T)
    z = _miss(rng, rng.normal(size=(n_runs, T, 3)) * 30.0 + 100.0 * t[:, None], 0.1)
    for model in (CV(q=1.0), CA(q=0.1)):
        n = model.ndim
        scale = np.r_[[400.0] * 3, [100.0] * 3, [10.0] * (n - 6)]
        prior = Gaussian(
            rng.normal(size=(n_runs, n)) * 10.0,
            np.stack([_spd(rng, n, scale) for _ in range(n_runs)]),
        )
        est = Filter(KF(), model)
        ss = [LinearPosition(sigma=s.sigma, ndim_state=n) for s in sensors]
        stream = MeasurementStream(t, sensor, z)
        a = run(est, prior, stream, ss, keep="final")
        b = run_compiled(est, prior, stream, ss, block=8, simd=simd)
        _compare_summaries(a, b, 1e-12, 1e-12)
        assert np.all(np.isnan(b.stats.nis_sum) == False)  # noqa: E712
        assert b.stats.runs == n_runs


def test_kf_shared_prior_broadcasts_over_run_axes():
    rng = np.random.default_rng(3)
    T = 30
    z = _miss(rng, rng.normal(size=(2, 3, T, 3)) * 20.0, 0.2)
    stream = MeasurementStream(np.arange(1.0, T + 1), np.zeros(T, int), z)
    prior = Gaussian(np.zeros(6), np.diag([400.0] * 3 + [100.0] * 3))
    est, sens = Filter(KF(), CV(q=1.0)), LinearPosition(sigma=20.0)
    a = run(est, prior, stream, [sens], keep="final")
    b = run_compiled(est, prior, stream, sens)
    assert b.final_gaussian.mean.shape == (2, 3, 6)
    assert b.final_gaussian.cov.shape == (2, 3, 6, 6)
    assert b.stats.nis_sum.shape == (2, 3)
    _compare_summaries(a, b, 1e-12, 1e-12)


@pytest.mark.parametrize("block", [1, 64])
def test_ballistic_ekf_with_radars_matches_numpy_path(block):
    rng = np.random.default_rng(5)
    prior, stream, radars = _ballistic_case(rng, 9, 40)
    est = Filter(EKF(), Ballistic(q=0.05, max_step=1.0))
    a = run(est, prior, stream, radars, keep="final")
    b = run_compiled(est, prior, stream, radars, block=block)
    _compare_summaries(a, b, 1e-12, 1e-9)
    # the stream really exercises both sensors, misses, dt = 0 and two RK4 substeps
    dts = np.diff(np.r_[0.0, stream.t])
    assert set(stream.sensor.tolist()) == {0, 1}
    assert np.any(dts == 0.0) and np.any(dts > 1.0)
    assert np.any(np.isnan(stream.z[..., 0]))


def test_point_mass_non_rotating_ballistic_matches_numpy_path():
    from trackers.earth.model import EarthModel

    rng = np.random.default_rng(8)
    prior, stream, radars = _ballistic_case(rng, 4, 25)
    earth = EarthModel(gravity="point-mass", rotating=False, atmosphere="none")
    est = Filter(EKF(), Ballistic(earth=earth, q=1.0, max_step=0.7))
    a = run(est, prior, stream, radars, keep="final")
    b = run_compiled(est, prior, stream, radars)
    _compare_summaries(a, b, 1e-12, 1e-9)


def test_imm_of_cv_kfs_matches_numpy_path():
    rng = np.random.default_rng(21)
    n_runs, T = 23, 60
    t = _times(rng, T)
    z = _miss(rng, rng.normal(size=(n_runs, T, 3)) * 20.0 + 150.0 * t[:, None], 0.1)
    trans = SojournTransition(np.array([20.0, 10.0, 5.0]), np.full((3, 3), 0.5) - 0.5 * np.eye(3))
    est = IMM([Mode(KF(), CV(q=q)) for q in (0.01, 1.0, 100.0)], trans)
    probs = rng.dirichlet(np.ones(3), size=n_runs)
    modes = [
        Gaussian(
            rng.normal(size=(n_runs, 6)) * 5.0,
            np.stack([_spd(rng, 6, np.r_[[400.0] * 3, [100.0] * 3]) for _ in range(n_runs)]),
        )
        for _ in range(3)
    ]
    prior = est.initial_belief(modes, probs)
    stream = MeasurementStream(t, np.zeros(T, int), z)
    sens = LinearPosition(sigma=20.0)
    a = run(est, prior, stream, [sens], keep="final")
    b = run_compiled(est, prior, stream, [sens], block=4)
    _compare_summaries(a, b, 1e-12, 1e-12)
    assert _rel(b.final.probs, a.final.probs) < 1e-12
    for ga, gb in zip(a.final.modes, b.final.modes, strict=True):
        assert _rel(gb.cov, ga.cov) < 1e-12


def test_imm_of_ballistic_ekfs_matches_numpy_path():
    rng = np.random.default_rng(9)
    prior_g, stream, radars = _ballistic_case(rng, 6, 30)
    est = IMM(
        [Mode(EKF(), Ballistic(q=q)) for q in (0.01, 1.0, 100.0)],
        np.array([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98]]),
    )
    prior = est.initial_belief(prior_g)
    a = run(est, prior, stream, radars, keep="final")
    b = run_compiled(est, prior, stream, radars)
    # mode probabilities inherit the likelihoods' conditioning (module docstring)
    _compare_summaries(a, b, 1e-9, 1e-9)
    assert _rel(b.final.probs, a.final.probs) < 1e-9
    np.testing.assert_allclose(b.final.probs.sum(-1), 1.0, rtol=0, atol=1e-14)


def _ulp_floor(est, prior, stream, sensors):
    """How far the NumPy path itself moves when the prior mean moves by ~1 ulp: (mean, cov,
    nis_sum, loglik_sum) relative changes. The conditioning floor of any comparison."""
    a = run(est, prior, stream, sensors, keep="final")
    b = run(est, Gaussian(prior.mean * (1.0 + 2e-16), prior.cov), stream, sensors, keep="final")
    return a, (
        _rel(b.final_gaussian.mean, a.final_gaussian.mean),
        _rel(b.final_gaussian.cov, a.final_gaussian.cov),
        _rel(b.stats.nis_sum, a.stats.nis_sum, 0),
        _rel(b.stats.loglik_sum, a.stats.loglik_sum, 0),
    )


def _compare_to_floor(a, b, floor) -> None:
    """Compiled b vs NumPy a: means to 1e-12; covariance, NIS and log-likelihood sums to 1e-12
    or 5x the NumPy path's own 1-ulp sensitivity, whichever is larger."""
    tol = [max(1e-12, 5.0 * f) for f in floor]
    assert _rel(b.final_gaussian.mean, a.final_gaussian.mean) < 1e-12
    assert _rel(b.final_gaussian.cov, a.final_gaussian.cov) < tol[1]
    assert _rel(b.stats.nis_sum, a.stats.nis_sum, 0) < tol[2]
    assert _rel(b.stats.loglik_sum, a.stats.loglik_sum, 0) < tol[3]
    np.testing.assert_array_equal(b.stats.nis_count, a.stats.nis_count)
    np.testing.assert_array_equal(b.stats.epoch_nis_count, a.stats.epoch_nis_count)


@pytest.mark.parametrize(
    "rule", [UKF(), CKF(), UKF(alpha=0.5, beta=0.0, kappa=1.0)], ids=["ukf", "ckf", "ukf-scaled"]
)
def test_sigma_point_filters_with_radars_match_numpy_path(rule):
    """UKF / CKF on the ballistic model with two radars (one with range-rate), misses, dt = 0.

    The unscented covariance depends on the mean (sigma points through the radar's h), so the
    NumPy path's own covariance moves by ~1e-11 when its prior mean moves by one ulp
    (measured: UKF 1.1e-11, CKF 1.8e-11): covariances cannot agree to 1e-12 here, means do.
    """
    rng = np.random.default_rng(5)
    prior, stream, radars = _ballistic_case(rng, 9, 40)
    est = Filter(rule, Ballistic(q=0.05, max_step=1.0))
    a, floor = _ulp_floor(est, prior, stream, radars)
    b = run_compiled(est, prior, stream, radars, block=4)
    _compare_to_floor(a, b, floor)
    assert floor[1] < 1e-10  # the floor itself is small: the comparison is meaningful
    ok = ~np.isnan(a.stats.epoch_nis)
    np.testing.assert_array_equal(np.isnan(b.stats.epoch_nis), ~ok)
    assert _rel(b.stats.epoch_nis[ok], a.stats.epoch_nis[ok], 0) < max(1e-12, 5 * floor[2])


def test_sigma_point_filters_on_the_w3_benchmark_match_numpy_path(monkeypatch):
    """The W3 workload of benchmarks/speed.py (UKF, J2 + rotation, one radar), 30 runs x 150
    steps, and the CKF on the same data."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    sp = importlib.import_module("speed")
    est, sensor, kind = sp.ours_estimators()["W3"]
    n_runs, T = 30, 150
    z = sp.ballistic_data(n_runs, T, 7)[1]
    stream = MeasurementStream(sp.DT * np.arange(1, T + 1), np.zeros(T, int), z)
    prior = sp.prior_for(est, kind, n_runs)
    for e in (est, Filter(CKF(), est.model)):
        a, floor = _ulp_floor(e, prior, stream, [sensor])
        b = run_compiled(e, prior, stream, [sensor])
        _compare_to_floor(a, b, floor)


def test_sigma_point_filters_linear_match_numpy_path_to_1e12():
    """UKF / CKF with a linear model (CV, CA) and linear sensors: well conditioned, 1e-12."""
    rng = np.random.default_rng(13)
    n_runs, T = 11, 50
    t = _times(rng, T)
    sensor = rng.integers(0, 2, size=T)
    z = _miss(rng, rng.normal(size=(n_runs, T, 3)) * 30.0 + 100.0 * t[:, None], 0.1)
    for model, rule in ((CV(q=1.0), UKF()), (CA(q=0.1), CKF())):
        n = model.ndim
        prior = Gaussian(
            rng.normal(size=(n_runs, n)) * 10.0,
            np.stack([_spd(rng, n, np.r_[[400.0] * 3, [100.0] * (n - 3)]) for _ in range(n_runs)]),
        )
        ss = [LinearPosition(sigma=20.0, ndim_state=n), LinearPosition(sigma=(5.0, 50.0, 10.0),
                                                                        ndim_state=n)]  # fmt: skip
        est = Filter(rule, model)
        stream = MeasurementStream(t, sensor, z)
        a = run(est, prior, stream, ss, keep="final")
        b = run_compiled(est, prior, stream, ss, block=3)
        _compare_summaries(a, b, 1e-12, 1e-12)


@pytest.mark.parametrize(
    ("est", "match"),
    [
        (IMM([Mode(UKF(), Ballistic(q=1.0))] * 2, np.eye(2)), "analytic EKF \\(in IMM modes\\)"),
        (Filter(EKF(numerical=True), Ballistic(q=1.0)), "KF, the analytic EKF, the UKF"),
        (Filter(EKF(), ReentryMotion()), "linear models .* and Ballistic"),
    ],
)
def test_unsupported_configurations_are_refused(est, match):
    n = est.model.ndim if isinstance(est, Filter) else 6
    p0 = np.eye(n)
    p0[: min(n, 6), : min(n, 6)] = P0_BAL[:n, :n]
    prior = Gaussian(np.zeros((2, n)) + 7e6, np.broadcast_to(p0, (2, n, n)).copy())
    if isinstance(est, IMM):
        prior = est.initial_belief(prior)
    stream = MeasurementStream(np.array([1.0]), np.array([0]), np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match=match):
        run_compiled(est, prior, stream, _radars()[:1])
    assert compiled.unsupported(est, _radars()[:1]) is not None


def test_bad_arguments_are_refused():
    est = Filter(KF(), CV(q=1.0))
    prior = Gaussian(np.zeros(6), np.eye(6))
    stream = MeasurementStream(np.array([1.0, 2.0]), np.array([0, 0]), np.zeros((3, 2, 3)))
    sens = LinearPosition(sigma=1.0)
    with pytest.raises(ValueError, match="block must be an int >= 1, got 0"):
        run_compiled(est, prior, stream, sens, block=0)
    with pytest.raises(ValueError, match=r"stream\.sensor values"):
        run_compiled(est, prior, stream._replace(sensor=np.array([0, 1])), sens)
    with pytest.raises(ValueError, match="nondecreasing"):
        run_compiled(est, prior, stream._replace(t=np.array([2.0, 1.0])), sens)
    with pytest.raises(TypeError, match="prior must be a Gaussian"):
        run_compiled(est, (prior.mean, prior.cov), stream, sens)
    imm = IMM([Mode(KF(), CV(q=1.0)), Mode(KF(), CA(q=1.0))], np.eye(2))
    with pytest.raises(ValueError, match="common state vector"):
        run_compiled(imm, imm.initial_belief(Gaussian(np.zeros(9), np.eye(9))), stream, sens)


def test_missing_numba_gives_install_instructions(monkeypatch):
    real = importlib.import_module

    def fake(name, *args, **kw):
        if name in ("numba", "trackers.filters.compiled._kernels"):
            raise ImportError("No module named 'numba'")
        return real(name, *args, **kw)

    monkeypatch.setattr(compiled.importlib, "import_module", fake)
    assert not compiled.available()
    prior = Gaussian(np.zeros(6), np.eye(6))
    stream = MeasurementStream(np.array([1.0]), np.array([0]), np.zeros((1, 3)))
    with pytest.raises(ImportError, match=r"pip install 'ballistic-trackers\[compiled\]'"):
        run_compiled(Filter(KF(), CV(q=1.0)), prior, stream, LinearPosition(sigma=1.0))


# --- drag: fixed beta (6 states) and ln beta (7 states) ---------------------------------------
LN_BETA0 = float(np.log(1.5e4))


def _reentry_case(rng: np.random.Generator, n_runs: int, T: int, drag_state: bool, earth=None):
    """Reentry-like runs: 75 km altitude, 6.5 km/s, 15 deg below the horizon towards a radar
    with range-rate (and a second one without), beta per run in [5e3, 5e4] kg/m^2, truth by
    the NumPy model's RK4 (flies down to ~35 km, drag up to ~10 g). Returns (model, prior,
    stream, radars); the prior means are off the truth by 0.3 prior sigma."""
    from trackers.earth import enu_rotation, geodetic_to_ecef
    from trackers.earth.model import WGS84_FULL

    earth = WGS84_FULL if earth is None else earth
    lat, lon = np.radians(39.0), np.radians(137.5)
    g = np.radians(15.0)
    v_enu = 6500.0 * np.array([np.cos(g) * np.sin(2.4), np.cos(g) * np.cos(2.4), -np.sin(g)])
    xbar = np.r_[geodetic_to_ecef(lat, lon, 75e3), enu_rotation(lat, lon).T @ v_enu]
    radars = _radars()[::-1]  # sensor 0: range-rate radar (35 N 133 E), 1: (38.1 N 138.4 E)
    truth_beta = np.exp(rng.uniform(np.log(5e3), np.log(5e4), size=n_runs))
    sd = np.r_[[300.0] * 3, [30.0] * 3]
    x = xbar + rng.normal(size=(n_runs, 6)) * sd
    x = np.c_[x, np.log(truth_beta)]
    truth = Ballistic(earth=earth, drag_state=True, q=1.0)
    t = _times(rng, T)
    sensor = (rng.random(T) < 0.3).astype(int)
    z = np.full((n_runs, T, 4), np.nan)
    tp = 0.0
    for k in range(T):
        if t[k] > tp:
            x = truth.propagate(x, t[k] - tp, tp)
        r = radars[sensor[k]]
        s = np.sqrt(np.diag(r.noise_cov()))
        z[:, k, : r.ndim_meas] = r.measure(x[:, :6]) + rng.normal(size=(n_runs, r.ndim_meas)) * s
        tp = t[k]
    n = 7 if drag_state else 6
    scale = np.r_[sd**2, [0.5**2] * (n - 6)]
    mean = np.c_[xbar + rng.normal(size=(n_runs, 6)) * 0.3 * sd,
                 LN_BETA0 + 0.5 * rng.normal(size=(n_runs, 1))][:, :n]  # fmt: skip
    cov = np.stack([_spd(rng, n, scale) for _ in range(n_runs)])
    model = (
        Ballistic(earth=earth, drag_state=True, q=1.0, q_log_beta=1e-3, max_step=1.0)
        if drag_state
        else Ballistic(earth=earth, beta=float(np.exp(LN_BETA0)), q=1.0, max_step=1.0)
    )
    return model, Gaussian(mean, cov), MeasurementStream(t, sensor, _miss(rng, z, 0.1)), radars


def test_drag_kernels_match_numpy_model_on_random_states():
    """The compiled drift, RK4 mean and variational Jacobian (fixed beta and ln beta; US76,
    exponential; WGS-84 and sphere) against Ballistic.propagate / propagate_with_jacobian on
    random states from 20 km to 1200 km (both sides of the US76 86 km joint and of the
    1000 km tail), and the US76 density against earth.air.density (to the bit)."""
    from trackers.earth import enu_rotation, geodetic_to_ecef
    from trackers.earth.atmosphere import US76
    from trackers.earth.model import EarthModel
    from trackers.filters.compiled import _kernels as K
    from trackers.filters.compiled._params import motion_params

    rng = np.random.default_rng(17)
    h = np.r_[np.linspace(-4e3, 1.3e6, 4001), 86e3, 86e3 + 1e-9, 1e6, 90e3, 110e3]
    par = motion_params(Ballistic(beta=1e4), "model")
    np.testing.assert_array_equal([K._density(v, par) for v in h], US76().density(h))
    earths = (
        EarthModel(),
        EarthModel(atmosphere="exponential"),
        EarthModel(shape="sphere", gravity="point-mass", rotating=False, atmosphere="exponential",
                   rho0=1.0, scale_height=8000.0),
    )  # fmt: skip
    worst = 0.0
    for earth in earths:
        for model in (Ballistic(earth=earth, beta=2e4, max_step=0.7),
                      Ballistic(earth=earth, drag_state=True)):  # fmt: skip
            n, par = model.ndim, motion_params(model, "model")
            for alt in (20e3, 60e3, 86e3 - 0.5, 86e3 + 0.3, 150e3, 1.2e6):
                lat, lon = rng.uniform(-1.2, 1.2), rng.uniform(-np.pi, np.pi)
                d = rng.normal(size=3)
                d[2] = -abs(d[2])
                v = enu_rotation(lat, lon).T @ (6500.0 * d / np.linalg.norm(d))
                x = np.r_[geodetic_to_ecef(lat, lon, alt), v, rng.uniform(8.5, 10.8)][:n]
                dt = rng.choice([0.5, 1.0, 2.5])
                xr, fr = model.propagate_with_jacobian(x, dt)
                xo, xo2, f = np.empty(n), np.empty(n), np.empty((n, n))
                ws1, ws2, ar = np.empty((6, n)), np.empty((5, 6, n)), np.empty((3, 7))
                K._ballistic(x, dt, par, model.max_step, n, xo, f, ws1, ws2, ar, True)
                K._ballistic(x, dt, par, model.max_step, n, xo2, f.copy(), ws1, ws2, ar, False)
                assert _rel(xo, xr, 0) < 1e-15
                assert _rel(xo2, model.propagate(x, dt), 0) < 1e-15
                worst = max(worst, _rel(f, fr, 0))
                # the drag columns are really there: without drag Phi differs
                if alt < 100e3:
                    nd = Ballistic(earth=EarthModel(atmosphere="none"), drag_state=n == 7)
                    assert _rel(nd.propagate_with_jacobian(x, dt)[1], fr, 0) > 1e-9
    assert worst < 1e-14


@pytest.mark.parametrize(
    ("drag_state", "atmosphere"),
    [(False, "us76"), (True, "us76"), (True, "exponential")],
    ids=["beta-us76", "lnbeta-us76", "lnbeta-exponential"],
)
def test_drag_ekf_on_reentry_matches_numpy_path(drag_state, atmosphere):
    """EKF with drag on reentry runs: means to 1e-12, covariances to 2e-11, NIS and
    log-likelihood to 1e-9 (radar, module docstring).

    The range-rate updates shrink P by orders of magnitude (P+ = P- - K C' cancels), which
    makes the covariance sensitive to rounding: the NumPy path's own covariance moves by
    3e-14 to 3e-12 when its prior mean moves by one ulp (36 seeded cases of this function,
    both drag models and atmospheres), and the compiled covariance differs from it by 3e-14
    to 6.4e-12 (7.6e-13 on this case). 1e-12 is at this problem's conditioning limit; the
    means agree to ~1e-15.
    """
    from trackers.earth.model import EarthModel

    rng = np.random.default_rng(31)
    model, prior, stream, radars = _reentry_case(
        rng, 8, 30, drag_state, EarthModel(atmosphere=atmosphere)
    )
    est = Filter(EKF(), model)
    a = run(est, prior, stream, radars, keep="final")
    b = run_compiled(est, prior, stream, radars, block=3)
    assert _rel(b.final_gaussian.mean, a.final_gaussian.mean) < 1e-12
    assert _rel(b.final_gaussian.cov, a.final_gaussian.cov) < 2e-11
    _compare_summaries(a, b, 2e-11, 1e-9)
    # the case is a reentry (ends low and decelerated) and ln beta is being estimated
    x = a.final_gaussian.mean
    assert np.all(model.earth.altitude(x[:, :3]) < 50e3)
    assert np.all(np.linalg.norm(x[:, 3:6], axis=1) < 6300.0)
    if drag_state:
        sd = np.sqrt(a.final_gaussian.cov[:, 6, 6])
        assert np.all(sd < 0.5 * np.sqrt(np.diagonal(prior.cov, axis1=1, axis2=2)[:, 6]))


@pytest.mark.parametrize("rule", [UKF(), CKF()], ids=["ukf", "ckf"])
def test_drag_sigma_point_filters_on_reentry_match_numpy_path(rule):
    rng = np.random.default_rng(32)
    model, prior, stream, radars = _reentry_case(rng, 6, 25, True)
    est = Filter(rule, model)
    a, floor = _ulp_floor(est, prior, stream, radars)
    b = run_compiled(est, prior, stream, radars, block=4)
    _compare_to_floor(a, b, floor)
    assert floor[1] < 1e-10


def test_imm_of_drag_ekfs_on_reentry_matches_numpy_path():
    """Three EKF modes sharing (x, y, z, vx, vy, vz, ln beta): two ln-beta drag modes with
    different noise and one vacuum mode (atmosphere "none": ln beta carried, no drag)."""
    from trackers.earth.model import EarthModel

    rng = np.random.default_rng(33)
    model, prior_g, stream, radars = _reentry_case(rng, 6, 25, True)
    vac = Ballistic(earth=EarthModel(atmosphere="none"), drag_state=True, q=10.0)
    noisy = Ballistic(drag_state=True, q=50.0, q_log_beta=1e-2)
    modes = [Mode(EKF(), model), Mode(EKF(), noisy), Mode(EKF(), vac)]
    trans = SojournTransition(np.array([10.0, 5.0, 5.0]), np.full((3, 3), 0.5) - 0.5 * np.eye(3))
    est = IMM(modes, trans)
    prior = est.initial_belief(prior_g)
    a = run(est, prior, stream, radars, keep="final")
    b = run_compiled(est, prior, stream, radars, block=4)
    _compare_summaries(a, b, 1e-9, 1e-9)
    assert _rel(b.final.probs, a.final.probs) < 1e-9
    for ga, gb in zip(a.final.modes, b.final.modes, strict=True):
        assert _rel(gb.mean, ga.mean) < 1e-12
    # the modes are told apart: the low-noise drag mode beats the q = 50 one in every run
    assert np.all(a.final.probs[:, 0] > a.final.probs[:, 1])


def test_drag_negative_cases():
    """A wrong beta gives a different answer (the comparison can fail), and an atmosphere the
    kernels do not implement is refused naming the field."""
    from trackers.earth.model import EarthModel

    rng = np.random.default_rng(34)
    model, prior, stream, radars = _reentry_case(rng, 4, 20, False)
    a = run(Filter(EKF(), model), prior, stream, radars, keep="final")
    wrong = Ballistic(beta=1.1 * model.beta, q=model.q, max_step=model.max_step)
    b = run_compiled(Filter(EKF(), wrong), prior, stream, radars)
    assert _rel(b.final_gaussian.mean, a.final_gaussian.mean) > 1e-7
    earth = EarthModel()
    object.__setattr__(earth, "atmosphere", "msis00")  # bypass EarthModel's own check
    est = Filter(EKF(), Ballistic(earth=earth, beta=1e4))
    with pytest.raises(ValueError, match=r"earth\.atmosphere in .*got 'msis00'"):
        run_compiled(est, prior, stream, radars)
    assert "earth.atmosphere" in compiled.unsupported(est, radars)


def test_drag_ekf_on_the_w5_benchmark_matches_numpy_path(monkeypatch):
    """The W5 workload of benchmarks/speed_compiled.py (reentry EKF with the ln beta state,
    radar with range rate at 20 Hz, 75 km down to ~16 km), 10 runs x 1000 steps."""
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(bench))
    sc = importlib.import_module("speed_compiled")
    est, sensor, kind = sc.estimators()["W5"]
    n_runs, T = 10, 1000
    z = sc.data_for(kind, n_runs, T, 7)
    stream = MeasurementStream(sc.dt_for(kind) * np.arange(1, T + 1), np.zeros(T, int), z)
    prior = sc.prior_for(est, kind, n_runs)
    a = run(est, prior, stream, [sensor], keep="final")
    b = run_compiled(est, prior, stream, [sensor])
    _compare_summaries(a, b, 1e-12, 1e-9)
    assert np.all(est.model.earth.altitude(a.final_gaussian.mean[:, :3]) < 25e3)
