"""Per-step input checks of the filter API (rules, Filter, IMM), zero runs, radar site checks.

Each bad input must raise ValueError (or TypeError) naming the argument; valid inputs must
give exactly the unchecked result; inside ``validation.trusted()`` (the runner's time loop)
the per-step checks are skipped.
"""

import numpy as np
import pytest
from oracle import multi_sensor_stream

from trackers.filters import CKF, EKF, KF, UKF, Filter, Gaussian
from trackers.filters import rules as rules_module
from trackers.filters.imm import IMM, IMMBelief, Mode
from trackers.filters.runner import MeasurementStream, Summary, Track, run
from trackers.filters.validation import (
    check_belief,
    check_dt,
    check_measurement,
    check_probabilities,
    per_step_checks,
    trusted,
)
from trackers.models import RadarMeasurement
from trackers.models.linear import CV, LinearPosition

X0 = np.array([1000.0, -2000.0, 500.0, 30.0, 20.0, -5.0])
P0 = np.diag([400.0, 400.0, 400.0, 100.0, 100.0, 100.0])
MODEL = CV(q=1.0)
SENSOR = LinearPosition(sigma=10.0)
RULES = [KF(), EKF(), UKF(), CKF()]
RULE_IDS = ["KF", "EKF", "UKF", "CKF"]


def _batch(runs=4):
    return Gaussian(np.tile(X0, (runs, 1)), np.tile(P0, (runs, 1, 1)))


def _imm():
    return IMM([Mode(KF(), CV(q=0.1)), Mode(KF(), CV(q=10.0))], [[0.9, 0.1], [0.2, 0.8]])


# --- dt ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_negative_scalar_dt_is_refused_by_every_rule_and_filter(rule):
    with pytest.raises(ValueError, match=r"dt must be >= 0 s.*got -0\.5"):
        rule.predict(_batch(), MODEL, -0.5)
    with pytest.raises(ValueError, match=r"dt must be >= 0 s"):
        rule.predict_with_cross(_batch(), MODEL, -0.5)
    with pytest.raises(ValueError, match=r"dt must be >= 0 s"):
        Filter(rule, MODEL).predict(_batch(), -1e-9)


def test_negative_element_of_an_array_dt_is_refused():
    dt = np.array([0.5, -0.25, 1.0, 0.5])
    with pytest.raises(ValueError, match=r"dt must be >= 0 s.*found -0\.25 at index \(1,\)"):
        KF().predict(_batch(), MODEL, dt)
    with pytest.raises(ValueError, match=r"dt must be >= 0 s.*at index \(1,\)"):
        _imm().predict(_imm().initial_belief(_batch()), dt)
    # a valid per-run dt still works and equals per-run scalar predictions
    ok = KF().predict(_batch(), MODEL, np.abs(dt))
    one = KF().predict(Gaussian(X0, P0), MODEL, 0.25)
    np.testing.assert_allclose(ok.mean[1], one.mean, rtol=1e-14)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_dt_is_refused(bad):
    with pytest.raises(ValueError, match=r"dt must be finite"):
        EKF().predict(_batch(), MODEL, bad)
    with pytest.raises(ValueError, match=r"dt must be finite.*index \(2,\)"):
        UKF().predict(_batch(), MODEL, np.array([1.0, 1.0, bad, 1.0]))
    imm = _imm()
    with pytest.raises(ValueError, match=r"dt must be finite"):
        imm.predict(imm.initial_belief(_batch()), bad)


def test_check_dt_types():
    assert check_dt(np.float64(0.5)) == 0.5 and check_dt(2) == 2 and check_dt(0.0) == 0.0
    with pytest.raises(TypeError, match=r"dt must be a time step in s, got the bool True"):
        check_dt(True)
    with pytest.raises(TypeError, match=r"dt must be a float or an array of floats"):
        check_dt("1 s")


# --- z ----------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_measurement_is_refused(rule, bad):
    z = np.tile(X0[:3], (4, 1))
    z[2, 1] = bad
    with pytest.raises(ValueError, match=r"z must not contain \+-inf.*at index \(2, 1\)"):
        rule.update(_batch(), z, SENSOR)
    with pytest.raises(ValueError, match=r"z must not contain \+-inf"):
        Filter(rule, MODEL).update(_batch(), z, SENSOR)


def test_measurement_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match=r"z must be \(\.\.\., 3\) measurements, got shape"):
        KF().update(_batch(), np.zeros((4, 2)), SENSOR)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_partially_nan_row_counts_as_a_missed_detection(rule):
    rng = np.random.default_rng(3)
    z = X0[:3] + rng.normal(0.0, 10.0, (4, 3))
    z[1, 2] = np.nan  # one component missing: the whole row is a miss
    prior = _batch()
    post, info = rule.update(prior, z, SENSOR)
    np.testing.assert_array_equal(post.mean[1], prior.mean[1])
    np.testing.assert_array_equal(post.cov[1], prior.cov[1])
    assert np.isnan(info.nis[1]) and info.loglik[1] == 0.0
    assert np.all(np.isnan(info.innovation[1]))
    # the other runs are updated as if alone
    alone, info0 = rule.update(Gaussian(X0, P0), z[0], SENSOR)
    np.testing.assert_allclose(post.mean[0], alone.mean, rtol=1e-12)
    assert np.isfinite(info0.nis) and info.nis[0] == pytest.approx(float(info0.nis), rel=1e-12)


# --- belief covariance ------------------------------------------------------------------
@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_non_finite_covariance_is_refused(rule):
    b = _batch()
    b.cov[3, 2, 4] = b.cov[3, 4, 2] = np.nan
    with pytest.raises(ValueError, match=r"belief\.cov must be finite; found nan at index"):
        rule.predict(b, MODEL, 1.0)
    with pytest.raises(ValueError, match=r"belief\.cov must be finite"):
        rule.update(b, np.tile(X0[:3], (4, 1)), SENSOR)


def test_non_finite_mean_is_refused():
    b = _batch()
    b.mean[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"belief\.mean must be finite"):
        KF().predict(b, MODEL, 1.0)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_non_square_or_mismatched_covariance_is_refused(rule):
    with pytest.raises(ValueError, match=r"belief\.cov must be square \(\.\.\., n, n\)"):
        rule.predict(Gaussian(X0, np.ones((6, 5))), MODEL, 1.0)
    with pytest.raises(ValueError, match=r"belief\.mean must be \(\.\.\., 5\) to match"):
        rule.update(Gaussian(X0, np.eye(5)), X0[:3], SENSOR)
    with pytest.raises(TypeError, match=r"belief must be a Gaussian, got tuple"):
        rule.predict((X0, P0), MODEL, 1.0)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_negative_variance_is_refused(rule):
    b = _batch()
    b.cov[2] = -P0  # indefinite: negative diagonal (the cheap default test)
    with pytest.raises(ValueError, match=r"belief\.cov must be positive semi-definite; negative"):
        rule.predict(b, MODEL, 1.0)
    with pytest.raises(ValueError, match=r"negative variance -400 on the diagonal at index \(2,\)"):
        Filter(rule, MODEL).update(b, np.tile(X0[:3], (4, 1)), SENSOR)


def test_indefinite_covariance_with_positive_diagonal_needs_check_true():
    P = P0.copy()
    P[0, 3] = P[3, 0] = 300.0  # |rho| = 1.5 > 1: indefinite, diagonal still positive
    assert np.linalg.eigvalsh(P).min() < 0
    g = Gaussian(X0, P)
    KF().predict(g, MODEL, 1.0)  # the cheap default test cannot see it
    with pytest.raises(ValueError, match=r"belief\.cov must be positive semi-definite; small"):
        KF().predict(g, MODEL, 1.0, check=True)
    with pytest.raises(ValueError, match=r"belief\.cov must be positive semi-definite"):
        UKF().update(g, X0[:3], SENSOR, check=True)
    with pytest.raises(ValueError, match=r"belief\.cov must be symmetric"):
        Q = P0.copy()
        Q[0, 1] = 1.0
        EKF().predict(Gaussian(X0, Q), MODEL, 1.0, check=True)
    with pytest.raises(ValueError, match=r"belief\.modes\[0\]\.cov must be positive semi-def"):
        imm = _imm()
        imm.predict(imm.initial_belief(g), 1.0, check=True)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_checked_calls_return_exactly_the_unchecked_results(rule):
    rng = np.random.default_rng(5)
    b = _batch()
    z = X0[:3] + rng.normal(0.0, 10.0, (4, 3))
    with trusted():
        ref_p = rule.predict(b, MODEL, 0.7, 1.0)
        ref_u, ref_i = rule.update(ref_p, z, SENSOR)
    p = rule.predict(b, MODEL, 0.7, 1.0, check=True)
    u, i = rule.update(p, z, SENSOR, check=True)
    for got, want in ((p, ref_p), (u, ref_u), (i, ref_i)):
        for a, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, w)


# --- IMM probabilities and modes ----------------------------------------------------------
def test_imm_probabilities_must_be_finite_non_negative_and_sum_to_one():
    imm = _imm()
    good = imm.initial_belief(_batch())
    z = np.tile(X0[:3], (4, 1))
    for probs, msg in [
        (np.array([[0.5, np.nan]] * 4), r"belief\.probs must be finite; found nan"),
        (np.array([[0.5, 0.6]] * 4), r"belief\.probs must sum to 1 over the modes"),
        (np.array([[1.2, -0.2]] * 4), r"belief\.probs must be >= 0; found -0\.2"),
        (np.full((4, 3), 1 / 3), r"belief\.probs must be \(\.\.\., 2\) mode probabilities"),
    ]:
        bad = good._replace(probs=probs)
        with pytest.raises(ValueError, match=msg):
            imm.predict(bad, 1.0)
        with pytest.raises(ValueError, match=msg):
            imm.update(bad, z, SENSOR)
    # one run off by more than the tolerance is named by its row
    probs = good.probs.copy()
    probs[3] = [0.5, 0.5 + 1e-4]
    with pytest.raises(ValueError, match=r"row \(3,\) sums to 1\.0001"):
        imm.update(good._replace(probs=probs), z, SENSOR)
    # within the documented tolerance (round-off of predict) is accepted
    probs[3] = [0.5, 0.5 + 1e-9]
    imm.update(good._replace(probs=probs), z, SENSOR)


def test_imm_mode_beliefs_and_measurements_are_checked():
    imm = _imm()
    good = imm.initial_belief(_batch())
    bad_cov = good.modes[1].cov.copy()
    bad_cov[0, 4, 4] = -1.0
    bad = good._replace(modes=(good.modes[0], Gaussian(good.modes[1].mean, bad_cov)))
    with pytest.raises(ValueError, match=r"belief\.modes\[1\]\.cov must be positive semi-def"):
        imm.predict(bad, 1.0)
    with pytest.raises(ValueError, match=r"belief\.modes must hold 2 Gaussians"):
        imm.predict(IMMBelief(good.modes[:1], good.probs), 1.0)
    with pytest.raises(ValueError, match=r"belief\.modes\[0\]\.mean must be \(\.\.\., 6\)"):
        imm.update(
            IMMBelief((Gaussian(X0[:5], P0[:5, :5]), good.modes[1]), good.probs), X0[:3], SENSOR
        )
    with pytest.raises(TypeError, match=r"belief must be an IMMBelief, got Gaussian"):
        imm.predict(_batch(), 1.0)
    z = np.tile(X0[:3], (4, 1))
    z[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"z must not contain \+-inf"):
        imm.update(good, z, SENSOR)
    with pytest.raises(ValueError, match=r"dt must be >= 0 s"):
        imm.predict(good, -1.0)


def test_check_helpers_directly():
    assert check_probabilities("p", [0.25, 0.75], 2).shape == (2,)
    assert np.isnan(check_measurement("z", [1.0, np.nan, 2.0], 3)[1])  # NaN: missed, allowed
    g = check_belief("g", Gaussian(np.zeros((0, 6)), np.zeros((0, 6, 6))), full=True)
    assert g.mean.shape == (0, 6)  # empty batches pass (zero runs)


# --- the runner validates once and skips the per-step checks ------------------------------
def test_trusted_skips_per_step_checks_but_not_check_true():
    b = _batch()
    b.cov[2] = -P0
    assert per_step_checks()
    with trusted():
        assert not per_step_checks()
        with trusted():  # nesting restores the outer state
            pass
        assert not per_step_checks()
        out = KF().predict(b, MODEL, 1.0)  # the hot-loop rule: the bad run just propagates
        assert np.all(np.isfinite(out.mean))
        with pytest.raises(ValueError, match="positive semi-definite"):
            KF().predict(b, MODEL, 1.0, check=True)
    assert per_step_checks()
    with pytest.raises(RuntimeError), trusted():
        raise RuntimeError("leaves the block")
    assert per_step_checks()  # restored after an exception too


def test_run_does_not_repeat_the_per_step_checks(monkeypatch):
    calls = []
    real = rules_module.check_belief

    def counting(*args, **kw):
        calls.append(args[0])
        return real(*args, **kw)

    monkeypatch.setattr(rules_module, "check_belief", counting)
    model, sensors, stream, _ = multi_sensor_stream(runs=3)
    run(Filter(EKF(), model), Gaussian(X0, P0), stream, sensors)
    assert calls == []  # validated once up front, no checks inside the time loop
    Filter(EKF(), model).predict(Gaussian(X0, P0), 1.0)
    assert calls == ["belief"]  # the counter does count per-step calls


# --- zero runs ----------------------------------------------------------------------------
@pytest.mark.parametrize("keep", ["all", "final"])
@pytest.mark.parametrize("rule", [KF(), UKF()], ids=["KF", "UKF"])
def test_zero_runs_give_empty_results(rule, keep):
    model, sensors, stream, X = multi_sensor_stream(runs=3)
    T = stream.t.size
    empty = stream._replace(z=stream.z[:0])
    out = run(Filter(rule, model), Gaussian(X0, P0), empty, sensors, keep=keep, truth=X[:0])
    st = out.stats
    assert st.runs == 0 and st.nis_sum.shape == (0,) and st.sq_err_sum.shape == (0, 6)
    assert np.all(np.isnan(st.epoch_nis)) and np.all(st.epoch_nis_count == 0)
    assert np.all(np.isnan(st.epoch_nees["state"])) and st.epoch_nis_dof.shape == (T,)
    if keep == "all":
        assert isinstance(out, Track)
        assert out.mean.shape == (0, T, 6) and out.cov.shape == (0, T, 6, 6)
        assert out.nis.shape == (0, T) and out.mode_probs is None
    else:
        assert isinstance(out, Summary)
        assert out.final.mean.shape == (0, 6) and out.final.cov.shape == (0, 6, 6)
    # per-run prior with a batch of 0 as well (no shared covariance)
    per_run = Gaussian(np.zeros((0, 6)) + X0, np.zeros((0, 6, 6)) + P0)
    out2 = run(Filter(rule, model), per_run, empty, sensors, keep=keep, chunk=2)
    assert out2.stats.nis_count.shape == (0,)


def test_zero_runs_imm():
    imm = _imm()
    t = np.arange(1.0, 6.0)
    stream = MeasurementStream(t, np.zeros(5, int), np.zeros((0, 5, 3)))
    out = run(imm, imm.initial_belief(Gaussian(X0, P0)), stream, [SENSOR])
    assert out.mean.shape == (0, 5, 6) and out.mode_probs.shape == (0, 5, 2)
    summ = run(imm, imm.initial_belief(Gaussian(X0, P0)), stream, [SENSOR], keep="final")
    assert summ.final.probs.shape == (0, 2) and summ.final_gaussian.mean.shape == (0, 6)


# --- RadarMeasurement ---------------------------------------------------------------------
SITE = dict(lat=np.radians(40.9), lon=np.radians(140.3), alt=30.0)


def test_radar_site_in_degrees_is_refused():
    with pytest.raises(ValueError, match=r"RadarMeasurement\.lon must be in \[-2 pi, 2 pi\]"):
        RadarMeasurement(lat=0.7, lon=140.3)
    with pytest.raises(ValueError, match=r"RadarMeasurement\.lon must be in .*got nan"):
        RadarMeasurement(lat=0.7, lon=float("nan"))
    with pytest.raises(ValueError, match=r"RadarMeasurement\.lat must be in \[-pi/2, pi/2\]"):
        RadarMeasurement(lat=40.9, lon=2.4)
    r = RadarMeasurement(lat=-np.pi / 2, lon=-2 * np.pi)  # the limits themselves are valid
    assert r.site_ecef.shape == (3,)


@pytest.mark.parametrize("rr", [None, 1.0])
def test_radar_state_at_the_site_raises(rr):
    radar = RadarMeasurement(**SITE, sigma_range_rate=rr)
    x = np.zeros((3, 6))
    x[:, :3] = radar.site_ecef + np.array([[1e4, 2e4, 3e4], [0.0, 0.0, 0.0], [5e3, 0.0, 0.0]])
    x[:, 3:] = 100.0
    x[1, :3] = radar.site_ecef
    with pytest.raises(ValueError, match=r"state at the radar site \(range 0\).*index \(1,\)"):
        radar.measure(x)
    with pytest.raises(ValueError, match=r"state at the radar site \(range 0\)"):
        radar.measure_with_jacobian(x)
    # elsewhere the measurement is finite (and the zenith singularity still gives a value)
    ok = radar.measure(x[[0, 2]])
    assert np.all(np.isfinite(ok))
    up = radar.site_ecef * (1.0 + 1e-3)  # roughly overhead, not at the site
    assert np.all(np.isfinite(radar.measure(np.r_[up, 0.0, 0.0, 0.0])))
    # a filter update with the predicted state at the site surfaces the same error
    g = Gaussian(np.r_[radar.site_ecef, 0.0, 0.0, 0.0], np.eye(6))
    with pytest.raises(ValueError, match=r"state at the radar site \(range 0\)"):
        EKF().update(g, np.array([1e3, 0.1, 0.1] + ([1.0] if rr else [])), radar)


def test_round_off_below_a_zero_variance_is_tolerated():
    P = P0.copy()
    P[5, 5] = -1e-12  # a zero variance after round-off: 1e-12 / 400 < 1e-10
    KF().predict(Gaussian(X0, P), MODEL, 1.0)
    P[5, 5] = -1e-6  # 2.5e-9 of the largest variance: indefinite
    with pytest.raises(ValueError, match=r"negative variance -1e-06 on the diagonal"):
        KF().predict(Gaussian(X0, P), MODEL, 1.0)
