"""Runner: multi-sensor streams, variable dt, keep='final' statistics, chunking, bad input."""

from dataclasses import dataclass

import numpy as np
import pytest
from oracle import multi_sensor_stream as _stream

from trackers.filters import CKF, EKF, KF, UKF, Filter, Gaussian, SquareRootCKF
from trackers.filters.imm import IMM, Mode
from trackers.filters.runner import Summary, Track, run, step
from trackers.models.linear import CV

X0 = np.array([5000.0, 8000.0, 2000.0, 50.0, -80.0, 5.0])
P0 = np.diag([100.0**2] * 3 + [10.0**2] * 3)


@pytest.mark.parametrize("rule", [KF(), EKF(), UKF()])
def test_runner_equals_hand_written_step_loop(rule):
    model, sensors, stream, _ = _stream()
    f = Filter(rule, model)
    track = run(f, Gaussian(X0, P0), stream, sensors)
    assert isinstance(track, Track) and track.mean.shape == (5, 12, 6)
    # real per-run copies (not broadcast views), so the rules take their batched path
    b = Gaussian(np.broadcast_to(X0, (5, 6)).copy(), np.broadcast_to(P0, (5, 6, 6)).copy())
    tp = 0.0
    for k, (tk, s) in enumerate(zip(stream.t, stream.sensor, strict=True)):
        if tk > tp:
            b = rule.predict(b, model, tk - tp, tp)
        m = sensors[s].ndim_meas
        b, info = rule.update(b, stream.z[:, k, :m], sensors[s])
        np.testing.assert_allclose(track.mean[:, k], b.mean, rtol=1e-12)
        np.testing.assert_allclose(track.cov[:, k], np.broadcast_to(b.cov, (5, 6, 6)), rtol=1e-12)
        np.testing.assert_allclose(track.nis[:, k], info.nis, rtol=1e-12)
        assert np.all(np.isnan(track.innovation[:, k, m:]))
        tp = tk
    assert np.isnan(track.nis[1, 3]) and np.isnan(track.nis[4, 8])


def test_final_statistics_match_the_full_track_and_chunking():
    model, sensors, stream, X = _stream(runs=7)
    f = Filter(UKF(), model)
    groups = {"pos": (0, 1, 2), "state": tuple(range(6))}
    full = run(f, Gaussian(X0, P0), stream, sensors, truth=X, nees_groups=groups)
    summ = run(
        f, Gaussian(X0, P0), stream, sensors, truth=X, nees_groups=groups, keep="final", chunk=3
    )
    assert isinstance(summ, Summary)
    np.testing.assert_allclose(summ.final.mean, full.mean[:, -1], rtol=1e-12)
    np.testing.assert_allclose(summ.final.cov, full.cov[:, -1], rtol=1e-12)
    e = X - full.mean
    Pinv = np.linalg.inv(full.cov)
    nees = np.einsum("rti,rtij,rtj->rt", e, Pinv, e)
    np.testing.assert_allclose(summ.stats.epoch_nees["state"], nees.mean(0), rtol=1e-8)
    np.testing.assert_allclose(summ.stats.nees_sum["state"], nees.sum(1), rtol=1e-8)
    Pp = np.linalg.inv(full.cov[..., :3, :3])
    nees_p = np.einsum("rti,rtij,rtj->rt", e[..., :3], Pp, e[..., :3])
    np.testing.assert_allclose(summ.stats.epoch_nees["pos"], nees_p.mean(0), rtol=1e-8)
    np.testing.assert_allclose(summ.stats.epoch_sq_err, (e**2).mean(0), rtol=1e-10)
    np.testing.assert_allclose(summ.stats.epoch_nis, np.nanmean(full.nis, axis=0), rtol=1e-10)
    np.testing.assert_array_equal(summ.stats.nis_count, (~np.isnan(full.nis)).sum(1))
    np.testing.assert_allclose(summ.stats.loglik_sum, full.loglik.sum(1), rtol=1e-10)
    np.testing.assert_array_equal(summ.stats.epoch_nis_dof, [3, 3, 2, 3, 3, 2, 3, 3, 3, 2, 3, 3])
    np.testing.assert_allclose(full.stats.epoch_nees["state"], summ.stats.epoch_nees["state"])


def test_multi_axis_batch_and_unbatched_stream():
    model, sensors, stream, _ = _stream(runs=6)
    f = Filter(KF(), model)
    flat = run(f, Gaussian(X0, P0), stream, sensors)
    z2 = stream.z.reshape(2, 3, 12, 3)
    grid = run(f, Gaussian(X0, P0), stream._replace(z=z2), sensors, chunk=4)
    np.testing.assert_allclose(grid.mean.reshape(6, 12, 6), flat.mean, rtol=1e-12)
    one = run(f, Gaussian(X0, P0), stream._replace(z=stream.z[2]), sensors)
    assert one.mean.shape == (12, 6) and one.nis.shape == (12,)
    np.testing.assert_allclose(one.mean, flat.mean[2], rtol=1e-12)


def test_bad_inputs_are_named():
    model, sensors, stream, X = _stream()
    f = Filter(KF(), model)
    g = Gaussian(X0, P0)
    with pytest.raises(ValueError, match=r"stream\.t must be nondecreasing"):
        run(f, g, stream._replace(t=stream.t[::-1].copy()), sensors)
    with pytest.raises(ValueError, match="before the prior time"):
        run(f, g, stream, sensors, t0=1.0)
    with pytest.raises(ValueError, match=r"stream.z must be \(\.\.\., T=12"):
        run(f, g, stream._replace(z=stream.z[:, :5]), sensors)
    with pytest.raises(ValueError, match=r"stream\.sensor values must be in"):
        run(f, g, stream._replace(sensor=stream.sensor + 1), sensors)
    with pytest.raises(ValueError, match=r"stream\.sensor must be an integer array"):
        run(f, g, stream._replace(sensor=stream.sensor.astype(float)), sensors)
    with pytest.raises(ValueError, match=r"prior\.cov must be symmetric"):
        P = P0.copy()
        P[0, 1] = 5.0
        run(f, Gaussian(X0, P), stream, sensors)
    with pytest.raises(ValueError, match=r"prior\.cov must be positive semi-definite"):
        run(f, Gaussian(X0, -P0), stream, sensors)
    with pytest.raises(ValueError, match=r"prior\.mean must be finite"):
        run(f, Gaussian(np.full(6, np.nan), P0), stream, sensors)
    with pytest.raises(ValueError, match=r"prior.cov must be \(\.\.\., 6, 6\)"):
        run(f, Gaussian(X0, np.eye(5)), stream, sensors)
    with pytest.raises(ValueError, match=r"prior.mean must be \(\.\.\., 6\).*got shape \(9,\)"):
        run(Filter(KF(), CV(q=1.0)), Gaussian(np.zeros(9), np.eye(9)), stream, sensors)
    with pytest.raises(ValueError, match="truth must be"):
        run(f, g, stream, sensors, truth=X[..., :3])
    with pytest.raises(ValueError, match="do not broadcast"):
        run(f, g, stream, sensors, truth=X[:2])
    with pytest.raises(ValueError, match="keep must be"):
        run(f, g, stream, sensors, keep="some")
    with pytest.raises(ValueError, match="chunk"):
        run(f, g, stream, sensors, chunk=0)
    with pytest.raises(ValueError, match="nees_groups"):
        run(f, g, stream, sensors, truth=X, nees_groups={"bad": (7,)})
    with pytest.raises(TypeError, match="sensors\\[1\\] must be a MeasurementModel"):
        run(f, g, stream, [sensors[0], object(), sensors[2]])
    with pytest.raises(ValueError, match=r"stream\.z must not contain inf"):
        z = stream.z.copy()
        z[0, 0, 0] = np.inf
        run(f, g, stream._replace(z=z), sensors)
    with pytest.raises(TypeError, match="rule must be"):
        Filter("KF", model)


def test_bad_model_noise_is_caught_at_the_boundary():
    @dataclass(frozen=True)
    class BrokenCV(CV):
        def noise_matrix(self, dt):
            Q = super().noise_matrix(dt).copy()  # the cached matrix is read-only
            Q[0, 0] = np.nan
            return Q

    _, sensors, stream, _ = _stream()
    with pytest.raises(
        ValueError, match=r"model.process_noise\(prior.mean, dt=0.5\) must be finite"
    ):
        run(Filter(KF(), BrokenCV(q=1.0)), Gaussian(X0, P0), stream, sensors)


@pytest.mark.parametrize("keep", ["all", "final"])
def test_shared_prior_covariance_path_equals_per_run_covariances(keep):
    # the shared-covariance fast path (linear KF) must give what per-run covariances give,
    # including after the missed detections that make the runs' covariances differ
    model, sensors, stream, X = _stream(runs=5, linear_only=True)
    f = Filter(KF(), model)
    shared = run(f, Gaussian(X0, P0), stream, sensors, keep=keep, truth=X)
    # members differing in the last bit: the runner cannot share them and takes the per-run path
    eps = 1.0 + 1e-15 * np.arange(5)[:, None, None]
    per_run = Gaussian(np.broadcast_to(X0, (5, 6)).copy(), P0 * eps)
    batched = run(f, per_run, stream, sensors, keep=keep, truth=X, chunk=2)
    if keep == "all":
        np.testing.assert_allclose(shared.mean, batched.mean, rtol=1e-12)
        np.testing.assert_allclose(shared.cov, batched.cov, rtol=1e-12)
        assert not np.allclose(shared.cov[1, -1], shared.cov[0, -1])  # runs 1, 4 had misses
    else:
        np.testing.assert_allclose(shared.final.cov, batched.final.cov, rtol=1e-12)
        assert shared.final.cov.shape == (5, 6, 6)
    np.testing.assert_allclose(
        shared.stats.epoch_nees["state"], batched.stats.epoch_nees["state"], rtol=1e-10
    )


def test_non_finite_transition_jacobian_is_caught_at_the_boundary():
    @dataclass(frozen=True)
    class BrokenF(CV):
        def transition_matrix(self, dt):
            F = super().transition_matrix(dt).copy()  # the cached matrix is read-only
            F[0, 3] = np.inf
            return F

    _, sensors, stream, _ = _stream()
    with pytest.raises(
        ValueError, match=r"propagate_with_jacobian\(prior.mean, dt=0.5\).* must be finite"
    ):
        run(Filter(KF(), BrokenF(q=1.0)), Gaussian(X0, P0), stream, sensors)


@pytest.mark.parametrize("rule", [KF(), EKF(), UKF()])
def test_step_is_one_predict_and_update_and_skips_predict_at_dt_zero(rule):
    model, sensors, stream, _ = _stream(runs=3)
    f = Filter(rule, model)
    b = Gaussian(np.tile(X0, (3, 1)), np.tile(P0, (3, 1, 1)))
    z = stream.z[:, 0, :3]
    got, info = step(f, b, 0.5, 2.0, z, sensors[0])
    want, winfo = rule.update(rule.predict(b, model, 0.5, 2.0), z, sensors[0])
    np.testing.assert_array_equal(got.mean, want.mean)
    np.testing.assert_array_equal(info.nis, winfo.nis)
    same_time, _ = step(f, b, 0.0, 2.0, z, sensors[0])  # a second sensor at the same time
    np.testing.assert_array_equal(same_time.mean, rule.update(b, z, sensors[0])[0].mean)
    assert not np.allclose(same_time.mean, got.mean)  # predicting did change something


def test_step_refuses_negative_dt_even_for_estimators_without_checks():
    model, sensors, stream, _ = _stream(runs=2)
    sq = SquareRootCKF(model)
    b = sq.initial_belief(Gaussian(X0, P0))
    with pytest.raises(ValueError, match=r"dt must be >= 0 s.*got -1\.0"):
        step(sq, b, -1.0, 0.0, stream.z[:, 0, :3], sensors[0])


# --- backend= (the compiled backend behind the same call) ------------------------------------
def _numba_or_skip():
    from trackers.filters import compiled

    if not compiled.available():
        pytest.skip("numba is not installed (the 'compiled' extra)")
    return compiled


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("rule", [KF(), EKF(), UKF(), CKF()], ids=["kf", "ekf", "ukf", "ckf"])
def test_backend_numba_equals_numpy_path(rule):
    _numba_or_skip()
    model, sensors, stream, _ = _stream(runs=6, linear_only=True)
    f = Filter(rule, model)
    P = np.stack([P0 * (1.0 + 0.1 * i) for i in range(6)])  # per-run prior covariances
    g = Gaussian(X0 + np.arange(6.0)[:, None], P)
    a = run(f, g, stream, sensors, keep="final")
    for backend in ("numba", "auto"):
        b = run(f, g, stream, sensors, keep="final", backend=backend)
        assert isinstance(b, Summary) and b.final_gaussian.mean.shape == (6, 6)
        assert _rel(b.final_gaussian.mean, a.final_gaussian.mean) < 1e-12
        assert _rel(b.final_gaussian.cov, a.final_gaussian.cov) < 1e-12
        assert _rel(b.stats.nis_sum, a.stats.nis_sum) < 1e-12
        assert _rel(b.stats.loglik_sum, a.stats.loglik_sum) < 1e-12
        np.testing.assert_array_equal(b.stats.nis_count, a.stats.nis_count)
        np.testing.assert_allclose(b.stats.epoch_nis, a.stats.epoch_nis, rtol=1e-12)
        assert b.extra == a.extra == {}


def test_backend_numba_runs_the_imm():
    _numba_or_skip()
    _, sensors, stream, _ = _stream(runs=4, linear_only=True)
    imm = IMM([Mode(KF(), CV(q=q)) for q in (0.1, 10.0)], np.array([[0.95, 0.05], [0.1, 0.9]]))
    prior = imm.initial_belief(Gaussian(X0, P0))
    a = run(imm, prior, stream, sensors, keep="final")
    b = run(imm, prior, stream, sensors, keep="final", backend="numba")
    assert _rel(b.final.probs, a.final.probs) < 1e-12
    assert _rel(b.final_gaussian.cov, a.final_gaussian.cov) < 1e-12
    assert _rel(b.stats.nis_sum, a.stats.nis_sum) < 1e-12


def test_backend_numba_names_what_it_does_not_support():
    _numba_or_skip()
    model, sensors, stream, X = _stream(linear_only=True)
    f, g = Filter(KF(), model), Gaussian(X0, P0)
    with pytest.raises(ValueError, match=r"backend='numba' does not support keep='all'"):
        run(f, g, stream, sensors, backend="numba")
    with pytest.raises(ValueError, match=r"does not support truth="):
        run(f, g, stream, sensors, keep="final", truth=X, backend="numba")
    rec = _NamedRecorder()
    with pytest.raises(ValueError, match=r"does not support recorders= \('counter'\)"):
        run(f, g, stream, sensors, keep="final", recorders=[rec], backend="numba")
    _, radar_sensors, radar_stream, _ = _stream()  # sensors[1] is a LocalRAE (no matrix())
    with pytest.raises(ValueError, match=r"sensors\[1\]: the compiled backend supports"):
        run(f, g, radar_stream, radar_sensors, keep="final", backend="numba")
    with pytest.raises(ValueError, match=r"supports Filter and IMM, got SquareRootCKF"):
        sq = SquareRootCKF(model)
        run(sq, sq.initial_belief(g), stream, sensors, keep="final", backend="numba")
    with pytest.raises(ValueError, match=r"backend must be one of .*got 'jax'"):
        run(f, g, stream, sensors, keep="final", backend="jax")


def test_backend_auto_falls_back_to_numpy_where_unsupported(monkeypatch):
    compiled = _numba_or_skip()
    calls = []
    real = compiled.run_compiled
    monkeypatch.setattr(compiled, "run_compiled", lambda *a, **k: calls.append(1) or real(*a, **k))
    model, sensors, stream, _ = _stream()  # a LocalRAE sensor: not supported
    f, g = Filter(EKF(), model), Gaussian(X0, P0)
    a = run(f, g, stream, sensors, keep="final")
    b = run(f, g, stream, sensors, keep="final", backend="auto")
    np.testing.assert_array_equal(b.final_gaussian.mean, a.final_gaussian.mean)
    t = run(f, g, stream, sensors, backend="auto")  # keep="all": the NumPy path's Track
    assert isinstance(t, Track) and not calls
    _, lin_sensors, lin_stream, _ = _stream(linear_only=True)
    run(f, g, lin_stream, lin_sensors, keep="final", backend="auto")
    assert calls == [1]


def test_backend_without_numba_explains_the_extra(monkeypatch):
    from trackers.filters import compiled

    real = compiled.importlib.import_module

    def fake(name, *args, **kw):
        if name in ("numba", "trackers.filters.compiled._kernels"):
            raise ImportError("No module named 'numba'")
        return real(name, *args, **kw)

    monkeypatch.setattr(compiled.importlib, "import_module", fake)
    model, sensors, stream, _ = _stream(linear_only=True)
    f, g = Filter(KF(), model), Gaussian(X0, P0)
    with pytest.raises(ImportError, match=r"pip install 'ballistic-trackers\[compiled\]'"):
        run(f, g, stream, sensors, keep="final", backend="numba")
    a = run(f, g, stream, sensors, keep="final")
    b = run(f, g, stream, sensors, keep="final", backend="auto")  # falls back
    np.testing.assert_array_equal(b.final_gaussian.cov, a.final_gaussian.cov)


class _NamedRecorder:
    name = "counter"

    def start(self, N, T, layout):
        self.n = 0

    def record(self, k, lo, hi, estimator, belief, info):
        self.n += 1

    def result(self):
        return self.n
