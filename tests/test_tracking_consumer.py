"""What the consumer holds and when (``trackers.tracking.consumer``): availability of the
tracker's snapshots under each delivery rule, and the log seen at consumer time."""

from __future__ import annotations

import numpy as np
from synthetic_radar import late_detections

from trackers.linking_study import consumer_times
from trackers.metrics.tracking import TrackLog
from trackers.models.ballistic import Ballistic
from trackers.tracking import ScanSequence
from trackers.tracking.consumer import at_consumer, availability

EPOCHS = np.arange(0.0, 60.0, 1.5)


def test_ideal_availability_is_the_consumer_time_of_exact_reprocessing():
    """Walking the ideal sequence gives max(e, latest arrival of the reports measured by e),
    the independent running-maximum formula of the radar-linking study."""
    det = late_detections(0)
    got = availability(ScanSequence(det, (3, 3)), EPOCHS)
    run, t = np.meshgrid(np.arange(det.runs), EPOCHS, indexing="ij")
    ref = consumer_times(det.run, det.t_meas, det.t_arrival, run.ravel(), t.ravel())
    np.testing.assert_array_equal(got, ref.reshape(got.shape))


def test_availability_of_buffer_drop_and_retrodict():
    det = late_detections(1)
    np.testing.assert_array_equal(availability(ScanSequence(det, (3, 3), "buffer", 2.0),
                                               EPOCHS, lag=2.0), np.tile(EPOCHS + 2.0, (4, 1)))
    ideal = availability(ScanSequence(det, (3, 3)), EPOCHS)
    drop = availability(ScanSequence(det, (3, 3), "drop"), EPOCHS)
    retro = availability(ScanSequence(det, (3, 3), "retrodict"), EPOCHS)
    assert np.all(drop >= EPOCHS) and np.all(drop <= ideal)
    # retrodict holds more than drop (late reports), never what has not arrived before the
    # next in-sequence report: between the two
    assert np.all(retro >= drop) and np.any(retro > drop)
    assert np.all(retro <= ideal)


def _log() -> TrackLog:
    """Two runs, three tracks on a 4-epoch grid: states on a ballistic arc at their own t."""
    model = Ballistic()
    x0 = np.array([-3.2e6, 3.5e6, 4.3e6, 2.0e3, 1.5e3, 3.0e3])
    rows = []
    for run, tracks in ((0, (1, 2)), (1, (5,))):
        for e in (10.0, 20.0, 30.0, 40.0):
            for k in tracks:
                t = e - 0.7 * k  # each estimate a little older than the epoch
                x = model.propagate(x0 + 1e3 * k, t)
                rows.append((run, e, k, t, x))
    n = len(rows)
    return TrackLog(run=np.array([r[0] for r in rows], np.int32),
                    epoch=np.array([r[1] for r in rows]), track=np.array([r[2] for r in rows]),
                    parent=np.full(n, -1), t=np.array([r[3] for r in rows]),
                    x=np.array([r[4] for r in rows]), P=np.tile(np.eye(6), (n, 1, 1)),
                    status=np.full(n, 2, np.int8), label=np.zeros(n, np.int8),
                    label_conf=np.zeros(n), born=np.zeros(n), runs=2,
                    epochs=np.array([10.0, 20.0, 30.0, 40.0]))  # fmt: skip


def test_the_consumer_reads_the_newest_available_snapshot_flown_to_its_time():
    log, model = _log(), Ballistic()
    # no delay: every snapshot at its own epoch, states flown from t to the epoch
    now = at_consumer(log, np.tile(log.epochs, (2, 1)), model)
    np.testing.assert_array_equal(now.track, log.track)
    np.testing.assert_array_equal(now.t, log.epoch)
    np.testing.assert_allclose(now.x, model.propagate(log.x, log.epoch - log.t), rtol=1e-12)
    # a 12 s delay in run 0, none in run 1: run 0 reads at tau the snapshot of tau - 20 s
    # (10 s available at 22 s), and nothing before 22 s
    avail = np.vstack([log.epochs + 12.0, log.epochs])
    late = at_consumer(log, avail, model)
    r0 = late.run == 0
    assert set(late.epoch[r0]) == {30.0, 40.0}
    for tau in (30.0, 40.0):
        src = (log.run == 0) & (log.epoch == tau - 20.0)
        got = r0 & (late.epoch == tau)
        np.testing.assert_array_equal(late.track[got], log.track[src])
        np.testing.assert_allclose(late.x[got], model.propagate(log.x[src], tau - log.t[src]),
                                   rtol=1e-12)  # fmt: skip
    np.testing.assert_array_equal(late.track[~r0], log.track[log.run == 1])


def test_at_consumer_rejects_an_availability_that_goes_back_in_time():
    log = _log()
    avail = np.tile(log.epochs, (2, 1))
    avail[0, 2] = 5.0  # the snapshot at 30 s complete before the one at 20 s
    with np.testing.assert_raises_regex(ValueError, "non-decreasing"):
        at_consumer(log, avail, Ballistic())
