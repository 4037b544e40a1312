"""What the consumer holds, and when: delivery rules compared at measurement and consumer time.

The tracker processes scans in measurement order (:mod:`trackers.tracking.scans`); its
snapshot at epoch e holds every report the delivery rule let through up to that point. The
consumer (a command centre) has that snapshot only once the newest of those reports has
arrived:

    A(e) = max(e, latest arrival among the reports processed before the snapshot at e)
                                                  (ideal, drop, retrodict delivery)
    A(e) = e + L                                  (a reorder buffer of lag L releases a report
                                                   measured at t at t + L)

For ideal delivery A(e) is the consumer time of exact reprocessing,
max(e, max{arrival_i : t_meas_i <= e}) (:func:`trackers.linking_study.consumer_times`).
At a decision time tau the consumer reads the newest snapshot with A(e) <= tau; flown to tau
with a ballistic model it is the consumer's picture of the flight at tau
(:func:`at_consumer`). :func:`compare_deliveries` tracks one set of reports under several
delivery rules and scores both views (``benchmarks/tracking_delivery.py``, notebook 04).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from trackers.metrics.tracking import TrackLog, score
from trackers.models.ballistic import Ballistic
from trackers.tracking.config import TrackerConfig
from trackers.tracking.scans import Delivery, ScanSequence
from trackers.tracking.tracker import track

__all__ = ["at_consumer", "availability", "compare_deliveries"]

#: TrackLog columns with one value per row (the rest: runs, epochs).
_ROW_FIELDS = TrackLog._fields[:11]


def availability(seq: ScanSequence, epochs: NDArray, lag: float | None = None) -> NDArray:
    """A(e) ``(N, E)`` [s]: when the snapshot at each of ``epochs`` is complete at the
    consumer (module docstring), by walking ``seq`` in processing order as
    :func:`~trackers.tracking.track` does; ``lag``: the reorder buffer's, A(e) = e + lag."""
    epochs = np.asarray(epochs, float)
    N, E = seq.runs, epochs.size
    if lag is not None:
        return np.broadcast_to(epochs + lag, (N, E)).copy()
    out = np.empty((N, E))
    newest = np.full(N, -np.inf)
    e = 0
    for sc in seq.iter_runs(0, N):
        if not sc.late:
            while e < E and epochs[e] < sc.t:
                out[:, e] = np.maximum(newest, epochs[e])
                e += 1
        a = np.where(sc.valid, sc.t_arrival, -np.inf)
        if a.size:
            newest = np.maximum(newest, a.max(axis=1))
    while e < E:
        out[:, e] = np.maximum(newest, epochs[e])
        e += 1
    return out


def at_consumer(log: TrackLog, avail: NDArray, model: Ballistic) -> TrackLog:
    """The log as the consumer sees it: at each tau of ``log.epochs``, per run, the rows of
    the newest snapshot with A(e) <= tau (``avail`` ``(N, E)``), states flown to tau with
    ``model`` (t = epoch = tau; covariances as they were). No snapshot available yet: no rows.
    """
    epochs = log.epochs
    E = epochs.size
    avail = np.asarray(avail, float)
    N = log.runs
    if avail.shape != (N, E):
        raise ValueError(f"avail must have shape {(N, E)}, got {avail.shape}")
    if np.any(np.diff(avail, axis=1) < 0) or not np.all(np.isfinite(avail)):
        raise ValueError("avail must be finite and non-decreasing along the epochs (a later "
                         "snapshot is never complete before an earlier one)")  # fmt: skip
    # per (run, tau): index of the newest available snapshot, -1 if none yet, by one
    # searchsorted over run-offset keys (A non-decreasing per run); src is non-decreasing in
    # tau, so the taus that read snapshot e of run r are one contiguous range [j0, j1)
    lo = min(float(avail.min()), float(epochs.min())) if E else 0.0
    span = (max(float(avail.max()), float(epochs.max())) - lo + 1.0) if E else 1.0
    off = np.arange(N)[:, None] * span
    ka = (avail - lo + off).ravel()
    kq = (epochs[None, :] - lo + off).ravel()
    src = (np.searchsorted(ka, kq, side="right") - np.repeat(np.arange(N) * E, E) - 1)
    src = src.reshape(N, E)
    e_idx = np.searchsorted(epochs, log.epoch)
    # one sorted key per (run, tau): run (E + 1) + src + 1 (src + 1 in [0, E])
    key = (np.arange(log.runs)[:, None] * (E + 1) + src + 1).ravel()
    want = log.run.astype(np.int64) * (E + 1) + e_idx + 1
    base = log.run.astype(np.int64) * E
    j0 = np.searchsorted(key, want, side="left") - base
    j1 = np.searchsorted(key, want, side="right") - base
    counts = np.maximum(j1 - j0, 0)
    rows = np.repeat(np.arange(log.run.size), counts)
    # tau index of each repeated row: j0 of its row + 0, 1, ..., count - 1
    first = np.repeat(j0, counts)
    step = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    t = epochs[first + step]
    cols = {k: getattr(log, k)[rows] for k in _ROW_FIELDS}
    if rows.size:
        cols["x"] = model.propagate(log.x[rows], t - log.t[rows])
    cols.update(epoch=t, t=t)
    order = np.lexsort((cols["track"], cols["epoch"], cols["run"]))
    return TrackLog(**{k: v[order] for k, v in cols.items()}, runs=log.runs, epochs=epochs)


def compare_deliveries(
    flight,
    radars: Sequence,
    det,
    config: TrackerConfig,
    deliveries: Sequence[tuple[Delivery, float, float]],
    epoch: float = 1.0,
) -> list[dict]:
    """Track ``det`` with ``config`` once per delivery ``(name, lag [s], late_window [s])``.

    Returns one row per delivery: at measurement time ``gospa_m``, ``rv_label``,
    ``false_per_run``, ``rv_switches_per_run``, ``breaks_per_run`` (:func:`score` with the
    CLEAR-MOT persistence of ``trackers track``); at the consumer ``consumer_gospa_m``;
    ``delay_s`` = mean of A(e) - e; ``used_frac`` = reports the delivery rule passes to the
    tracker / reports; ``late_reports``, ``late_used`` (late reports that updated a track),
    ``late_scans``; ``seconds`` of :func:`track`.
    """
    model = Ballistic(earth=config.earth, max_step=config.max_step_ballistic)
    rows = []
    for name, lag, window in deliveries:
        seq = ScanSequence.from_detections(det, radars, delivery=name, lag=lag,
                                           late_window=window)  # fmt: skip
        t0 = time.perf_counter()
        res = track(seq, radars, config, epochs=epoch)
        seconds = time.perf_counter() - t0
        m = score(res.log, flight, det, tracker=config.name, keep_correspondence=True)
        avail = availability(seq, res.log.epochs, lag if name == "buffer" else None)
        mc = score(at_consumer(res.log, avail, model), flight, det, tracker=config.name)
        rows.append({
            "delivery": name, "lag_s": lag, "window_s": window, "runs": det.runs,
            "gospa_m": m["gospa_mean_m"], "rv_label": m["rv_label_correct_frac"],
            "false_per_run": m["false_tracks_per_run"],
            "rv_switches_per_run": m["rv_id_switches_per_run"],
            "breaks_per_run": m["track_breaks_per_run"],
            "consumer_gospa_m": mc["gospa_mean_m"],
            "delay_s": float(np.mean(avail - res.log.epochs[None, :])),
            "used_frac": res.reports / max(len(det), 1), "late_reports": res.late_reports,
            "late_used": res.late_used, "late_scans": seq.late_scans, "seconds": seconds,
        })  # fmt: skip
    return rows
