"""Recorders of the runner: IMM mode probabilities, extra recorders, buffering, one Gaussian."""

import numpy as np
import pytest
from oracle import multi_sensor_stream

from trackers.filters import KF, UKF, Filter, Gaussian
from trackers.filters import recorders as rec
from trackers.filters.imm import IMM, Mode
from trackers.filters.recorders import History, ModeProbabilities, NisStats, Recorder
from trackers.filters.runner import MeasurementStream, Summary, Track, run
from trackers.models.linear import CA, CV, LinearPosition

X0 = np.array([5000.0, 8000.0, 2000.0, 50.0, -80.0, 5.0])
P0 = np.diag([100.0**2] * 3 + [10.0**2] * 3)


def _imm_case(runs=4, T=40, seed=21):
    """CV target that turns for a while, 2-mode IMM (CV + CA), position reports with misses."""
    rng = np.random.default_rng(seed)
    x = np.tile(np.r_[X0, 0.0, 0.0, 0.0], (runs, 1))
    z = np.empty((runs, T, 3))
    for k in range(T):
        acc = np.array([0.0, 20.0, 0.0]) if 15 <= k < 30 else np.zeros(3)
        x[:, 6:9] = acc
        x[:, 0:3] += x[:, 3:6] + 0.5 * acc
        x[:, 3:6] += acc
        z[:, k] = x[:, :3] + rng.normal(0.0, 30.0, (runs, 3))
    z[1, 5] = np.nan
    z[2, 20] = np.nan
    imm = IMM(
        [Mode(KF(), CV(q=0.5)), Mode(KF(), CA(q=5.0))],
        [[0.95, 0.05], [0.05, 0.95]],
        implied={"ax": 0.0, "ay": 0.0, "az": 0.0},
    )
    prior = imm.initial_belief(Gaussian(np.r_[X0, 0.0, 0.0, 0.0], np.diag([1e4] * 3 + [100.0] * 6)))
    stream = MeasurementStream(np.arange(1.0, T + 1.0), np.zeros(T, int), z)
    return imm, prior, stream, LinearPosition(sigma=30.0)


def test_imm_track_has_the_mode_probabilities_of_a_hand_written_loop():
    imm, prior, stream, sensor = _imm_case()
    track = run(imm, prior, stream, [sensor], keep="all", chunk=3)
    runs, T = stream.z.shape[:2]
    assert track.mode_probs.shape == (runs, T, 2)
    for i in range(runs):  # per-run oracle: the IMM driven by hand, one run at a time
        b = prior
        tp = 0.0
        for k, tk in enumerate(stream.t):
            b = imm.predict(b, tk - tp, tp)
            c = b.probs
            b, _ = imm.update(b, stream.z[i, k], sensor)
            np.testing.assert_allclose(track.mode_probs[i, k], b.probs, rtol=1e-12, atol=1e-15)
            if np.isnan(stream.z[i, k]).any():  # a miss keeps the predicted probabilities
                np.testing.assert_allclose(track.mode_probs[i, k], c, rtol=1e-12)
            tp = tk
    np.testing.assert_allclose(track.mode_probs.sum(-1), 1.0, atol=1e-12)
    # the turn is visible: the CA mode dominates inside it, the CV mode before it
    assert np.all(track.mode_probs[:, 25, 1] > 0.5) and np.all(track.mode_probs[:, 12, 0] > 0.5)


def test_single_model_track_has_no_mode_probabilities():
    model, sensors, stream, _ = multi_sensor_stream(runs=3)
    track = run(Filter(KF(), model), Gaussian(X0, P0), stream, sensors)
    assert track.mode_probs is None and track.extra == {}


def test_mode_probabilities_as_an_extra_recorder_of_a_summary():
    imm, prior, stream, sensor = _imm_case(runs=3)
    full = run(imm, prior, stream, [sensor])
    summ = run(imm, prior, stream, [sensor], keep="final", recorders=[ModeProbabilities()])
    assert isinstance(summ, Summary)
    np.testing.assert_array_equal(summ.extra["mode_probs"], full.mode_probs)
    np.testing.assert_array_equal(summ.final.probs, full.mode_probs[:, -1])


class MaxPositionError:
    """A user recorder: largest position error over time, per run (needs the Gaussian)."""

    name = "max_pos_err"

    def __init__(self, truth):
        self.truth = truth

    def start(self, N, T, layout):
        self.batch = layout.batch
        self.truth_flat = np.broadcast_to(self.truth, (*layout.batch, T, layout.n))
        self.truth_flat = self.truth_flat.reshape(N, T, layout.n)
        self.out = np.zeros(N)

    def record(self, k, lo, hi, estimator, belief, info):
        e = self.truth_flat[lo:hi, k, :3] - estimator.gaussian(belief).mean[..., :3]
        self.out[lo:hi] = np.maximum(self.out[lo:hi], np.linalg.norm(e, axis=-1))

    def result(self):
        return self.out.reshape(self.batch)


@pytest.mark.parametrize("keep", ["all", "final"])
def test_extra_recorder_results_are_returned_by_name_and_do_not_depend_on_chunks(keep):
    model, sensors, stream, X = multi_sensor_stream(runs=7)
    f = Filter(UKF(), model)
    assert isinstance(MaxPositionError(X), Recorder)
    one = run(f, Gaussian(X0, P0), stream, sensors, keep=keep, recorders=[MaxPositionError(X)])
    chunked = run(
        f, Gaussian(X0, P0), stream, sensors, keep=keep, chunk=3, recorders=[MaxPositionError(X)]
    )
    ref = run(f, Gaussian(X0, P0), stream, sensors)  # brute force from the stored history
    want = np.linalg.norm(X[..., :3] - ref.mean[..., :3], axis=-1).max(axis=1)
    np.testing.assert_allclose(one.extra["max_pos_err"], want, rtol=1e-12)
    np.testing.assert_allclose(chunked.extra["max_pos_err"], want, rtol=1e-12)
    assert set(one.extra) == {"max_pos_err"}


def test_bad_extra_recorders_are_refused():
    model, sensors, stream, X = multi_sensor_stream(runs=2)
    f = Filter(KF(), model)
    g = Gaussian(X0, P0)
    with pytest.raises(ValueError, match=r"recorders\[1\]\.name 'max_pos_err' is used twice"):
        run(f, g, stream, sensors, recorders=[MaxPositionError(X), MaxPositionError(X)])
    with pytest.raises(TypeError, match=r"recorders\[0\] must have start\(N, T, layout\)"):
        run(f, g, stream, sensors, recorders=[object()])
    nameless = MaxPositionError(X)
    nameless.name = ""
    with pytest.raises(TypeError, match=r"recorders\[0\]\.name must be a non-empty str"):
        run(f, g, stream, sensors, recorders=[nameless])


class CountingFilter:
    """A Filter that counts ``gaussian`` calls (to see that recorders share one per step)."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def predict(self, b, dt, t=0.0):
        return self.f.predict(b, dt, t)

    def update(self, b, z, s):
        return self.f.update(b, z, s)

    def gaussian(self, b):
        self.calls += 1
        return b


def test_recorders_share_one_gaussian_per_step():
    model, sensors, stream, X = multi_sensor_stream(runs=6)
    est = CountingFilter(Filter(KF(), model))
    prior = Gaussian(np.tile(X0, (6, 1)), np.tile(P0, (6, 1, 1)))
    # History, TruthErrors and the extra recorder all ask for the Gaussian at every step
    out = run(est, prior, stream, sensors, truth=X, chunk=2, recorders=[MaxPositionError(X)])
    T, chunks = stream.t.size, 3
    assert T * chunks < est.calls <= T * chunks + 3  # + the prior's, outside the loop
    ref = run(Filter(KF(), model), prior, stream, sensors, truth=X)  # shared-cov path
    np.testing.assert_allclose(out.mean, ref.mean, rtol=1e-13)


def test_nis_buffer_flushes_give_the_unbuffered_statistics(monkeypatch):
    # a buffer of 8 elements with 3 runs per chunk: flushes every 2 steps, plus the tail
    model, sensors, stream, _ = multi_sensor_stream(runs=7)
    f = Filter(UKF(), model)
    big = run(f, Gaussian(X0, P0), stream, sensors, keep="final", chunk=3)
    monkeypatch.setattr(rec, "_STATS_BUFFER", 8)
    small = run(f, Gaussian(X0, P0), stream, sensors, keep="final", chunk=3)
    for a, b in zip(big.stats[:7], small.stats[:7], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13)
    full = run(f, Gaussian(X0, P0), stream, sensors)  # independent: sums of the history
    np.testing.assert_allclose(small.stats.nis_sum, np.nansum(full.nis, axis=1), rtol=1e-12)
    np.testing.assert_allclose(small.stats.epoch_nis, np.nanmean(full.nis, axis=0), rtol=1e-12)


def test_recorders_used_directly_match_the_track():
    model, sensors, stream, _ = multi_sensor_stream(runs=4)
    f = Filter(KF(), model)
    track = run(f, Gaussian(X0, P0), stream, sensors, keep="all")
    hist, nis = History(), NisStats()
    summ = run(f, Gaussian(X0, P0), stream, sensors, keep="final", recorders=[hist, nis])
    h = summ.extra["history"]
    for name in ("mean", "cov", "innovation", "S", "nis", "loglik"):
        np.testing.assert_array_equal(getattr(h, name), getattr(track, name))
    np.testing.assert_array_equal(summ.extra["nis"].loglik_sum, track.stats.loglik_sum)
    assert isinstance(track, Track) and summ.extra["nis"].runs == 4
