"""Alert policies for a region and the alert timeline they produce, vectorised over runs.

Input: an :class:`ImpactLog`, one row per (run, decision time, track) with the track's impact
point prediction and its probability of falling in each region (:mod:`.probability`). The set
of decision times of a run is the set of ``t`` values logged for it; a decision time with no
track is marked by a row with ``track = -1`` (ignored by every policy).

A policy turns each row into two flags:

* ``trigger``  — the row alone justifies *issuing* the alert;
* ``sustain``  — the row keeps an issued alert alive (``trigger`` implies ``sustain``).

Per run and decision time the flags are OR-ed over tracks. The alert is issued at the first
decision time with a trigger; it is cancelled at the first logged decision time t with no
sustaining row in (t_s, t] and t - t_s >= ``cancel_after_s``, t_s the last sustaining decision
time (so ``cancel_after_s = 0`` cancels at the first decision time without a sustaining row).
It may be issued again later (another episode). This is a two-threshold (hysteresis) detector
as in sequential change detection (Basseville & Nikiforov 1993, §2.2).

The timeline is computed with sorts and segment reductions over all runs at once: sustaining
times are grouped into clusters (a new cluster starts where the cancellation time of the previous
sustaining time comes before the next one); a cluster holding a trigger is an alert episode,
issued at its first trigger and cancelled at the cancellation time of its last sustaining time.

References
----------
M. Basseville, I. V. Nikiforov, *Detection of Abrupt Changes: Theory and Application*,
Prentice Hall 1993, §2.2 (alarm with hysteresis).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.impact.regions import Region, contains, load_regions

__all__ = [
    "CONFIRMED",
    "LABEL_DEBRIS",
    "LABEL_RV",
    "LABEL_STAGE",
    "LABEL_UNKNOWN",
    "AlertTimeline",
    "ImpactLog",
    "NaivePolicy",
    "ProbabilisticPolicy",
    "TrackExistsPolicy",
    "alert_timeline",
    "row_flags",
]

LABEL_UNKNOWN, LABEL_RV, LABEL_STAGE, LABEL_DEBRIS = 0, 1, 2, 3
#: Track status code of a confirmed track.
CONFIRMED = 2


class ImpactLog(NamedTuple):
    """Impact predictions of every track at every decision time, stacked over rows (R,).

    Attributes
    ----------
    run : (R,) int array
        Monte Carlo run index.
    t : (R,) float array
        Decision time [s].
    track : (R,) int array
        Track id (``-1``: placeholder row marking a decision time with no track).
    label : (R,) int array
        Object class: 0 unknown, 1 re-entry vehicle, 2 stage, 3 debris.
    status : (R,) int array
        Track status (2 = confirmed; other values tentative / coasting).
    track_age_s : (R,) float array
        Time since track initiation [s].
    n_updates : (R,) int array
        Number of measurement updates of the track.
    t_impact : (R,) float array
        Predicted impact time [s].
    lat, lon : (R,) float arrays
        Predicted impact point, geodetic [rad] (NaN: no prediction).
    cov_ground : (R, 2, 2) float array
        Covariance of the impact point (east, north) [m^2].
    p_region : dict[str, (R,) float array]
        Probability of impact inside each region id.
    """

    run: NDArray
    t: NDArray
    track: NDArray
    label: NDArray
    status: NDArray
    track_age_s: NDArray
    n_updates: NDArray
    t_impact: NDArray
    lat: NDArray
    lon: NDArray
    cov_ground: NDArray
    p_region: dict[str, NDArray]


class AlertTimeline(NamedTuple):
    """Alert for one region in every run (N runs, ascending run id).

    Attributes
    ----------
    region_id : str
    runs : (N,) int array
        Run ids (every run present in the log).
    issued : (N,) float array
        Time the (first) alert was issued [s]; NaN: never.
    cancelled : (N,) float array
        Time the first alert was cancelled [s]; NaN: never issued, or still active at the run's
        last logged decision time.
    n_updates : (N,) int array
        Decision times at which the first alert was refreshed (sustaining rows at or after its
        issue, before its cancellation).
    n_episodes : (N,) int array
        Number of alert episodes (issues) in the run.
    episode_run : (M,) int array or None
        Every episode of every run (M = n_episodes.sum(), ordered by run then time): index
        into ``runs`` of its run. None (hand-built timelines): only the first alert is known.
    episode_issued : (M,) float array or None
        Issue time of each episode [s].
    episode_cancelled : (M,) float array or None
        Cancellation time of each episode [s]; NaN: still active at the run's last logged
        decision time.
    """

    region_id: str
    runs: NDArray
    issued: NDArray
    cancelled: NDArray
    n_updates: NDArray
    n_episodes: NDArray
    episode_run: NDArray | None = None
    episode_issued: NDArray | None = None
    episode_cancelled: NDArray | None = None


@dataclass(frozen=True)
class NaivePolicy:
    """Alert when any confirmed track's point prediction lies in the region.

    Issue at the first decision time a confirmed track's predicted impact point lies inside;
    keep the alert while any track's (confirmed or not) point prediction stays inside; cancel
    after ``cancel_after_s`` without one.
    """

    cancel_after_s: float = field(default=0.0, metadata={"units": "s"})

    def __post_init__(self) -> None:
        _check_nonneg("cancel_after_s", self.cancel_after_s)


@dataclass(frozen=True)
class TrackExistsPolicy:
    """ "As long as a track exists (predicting the region), alert."

    Issue when any track, even tentative, predicts the region: its point prediction is inside
    or its probability is >= ``p_min``. Cancel only when no such track exists any more (at the
    first decision time without one, ``cancel_after_s = 0``).
    """

    p_min: float = 1e-6
    cancel_after_s: float = field(default=0.0, metadata={"units": "s"})

    def __post_init__(self) -> None:
        _check_prob("p_min", self.p_min)
        _check_nonneg("cancel_after_s", self.cancel_after_s)


@dataclass(frozen=True)
class ProbabilisticPolicy:
    """Alert on P(impact in region) with track-quality gates and hysteresis.

    A row triggers when its track is confirmed (if ``confirmed_only``), its label is in
    ``only_labels``, it is at least ``min_track_age_s`` old with at least ``min_updates`` updates,
    and P >= ``threshold``. It sustains an issued alert with the same gates and
    P >= ``threshold * cancel_factor``; the alert is cancelled after ``cancel_after_s`` without a
    sustaining row.

    Attributes
    ----------
    threshold : float
        Issue threshold on P(impact in region), in (0, 1].
    min_track_age_s : float
        Minimum track age [s].
    min_updates : int
        Minimum number of measurement updates.
    cancel_factor : float
        Hysteresis: sustain while P >= threshold * cancel_factor, in (0, 1].
    cancel_after_s : float
        Time without a sustaining row before cancelling [s].
    only_labels : tuple[int, ...]
        Object labels that may alert (default: re-entry vehicle and unknown).
    confirmed_only : bool
        Only confirmed tracks alert.
    hold_without_evidence : bool
        Cancel only on contrary evidence: a decision time at which no track passes the
        quality gates (the tracks were lost, or none carries a sustaining label any more)
        holds an issued alert instead of counting towards ``cancel_after_s``. A warning
        withdrawn because the tracker lost the object is a miss for the residents.
    sustain_labels : tuple[int, ...] or None
        Labels whose tracks may sustain an issued alert (and, with
        ``hold_without_evidence``, whose tracks count as evidence); None: ``only_labels``.
        Labels decide who may *issue*; a wider set here keeps an alert while any qualifying
        track still predicts the region — e.g. after the rv label moved from one track of a
        close rv / stage pair to the other, which the tracker cannot resolve.
    """

    threshold: float = 1e-3
    min_track_age_s: float = field(default=0.0, metadata={"units": "s"})
    min_updates: int = 0
    cancel_factor: float = 0.5
    cancel_after_s: float = field(default=10.0, metadata={"units": "s"})
    only_labels: tuple[int, ...] = (LABEL_RV, LABEL_UNKNOWN)
    confirmed_only: bool = True
    hold_without_evidence: bool = False
    sustain_labels: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("only_labels", "sustain_labels"):
            labels = getattr(self, name)
            if labels is None and name == "sustain_labels":
                continue
            if not (isinstance(labels, tuple) and all(isinstance(v, int) for v in labels)):
                raise TypeError(f"{name}: expected a tuple of label codes (int), got {labels!r}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold: expected a value in (0, 1], got {self.threshold}")
        if not 0.0 < self.cancel_factor <= 1.0:
            raise ValueError(f"cancel_factor: expected a value in (0, 1], got {self.cancel_factor}")
        _check_nonneg("min_track_age_s", self.min_track_age_s)
        _check_nonneg("min_updates", self.min_updates)
        _check_nonneg("cancel_after_s", self.cancel_after_s)


Policy = NaivePolicy | TrackExistsPolicy | ProbabilisticPolicy


def _check_nonneg(name: str, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{name}: expected >= 0, got {value}")


def _check_prob(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {value}")


def _check_log(log: ImpactLog, region_id: str, need_p: bool) -> None:
    if not isinstance(log, ImpactLog):
        raise TypeError(f"log: expected an ImpactLog, got {type(log).__name__}")
    n = np.shape(log.run)[0]
    for name in ImpactLog._fields:
        if name == "p_region":
            continue
        shape = np.shape(getattr(log, name))
        if not shape or shape[0] != n:
            raise ValueError(f"log.{name}: expected {n} rows, got shape {shape}")
    if not need_p:
        return
    if region_id not in log.p_region:
        raise ValueError(
            f"region_id: {region_id!r} not in log.p_region (has {sorted(log.p_region)})"
        )
    if np.shape(log.p_region[region_id]) != (n,):
        raise ValueError(
            f"log.p_region[{region_id!r}]: expected shape ({n},), "
            f"got {np.shape(log.p_region[region_id])}"
        )


def _quality_gate(
    log: ImpactLog, policy: ProbabilisticPolicy, sustain: bool = False
) -> NDArray[np.bool_]:
    """Rows whose track may speak for the alert (label, age, updates, status), (R,): issue
    with ``only_labels``, or (``sustain``) sustain with ``sustain_labels``."""
    labels = policy.only_labels
    if sustain and policy.sustain_labels is not None:
        labels = policy.sustain_labels
    gate = np.asarray(log.track) >= 0  # placeholder rows never alert
    gate &= np.isin(np.asarray(log.label), labels)
    gate &= np.asarray(log.track_age_s) >= policy.min_track_age_s
    gate &= np.asarray(log.n_updates) >= policy.min_updates
    if policy.confirmed_only:
        gate &= np.asarray(log.status) == CONFIRMED
    return gate


def row_flags(
    log: ImpactLog, policy: Policy, region: Region
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per-row (trigger, sustain) flags of ``policy`` for ``region``, each (R,)."""
    real = np.asarray(log.track) >= 0  # placeholder rows never alert
    if isinstance(policy, NaivePolicy):
        point_in = contains(region, log.lat, log.lon)  # point prediction inside
        sustain = real & point_in
        trigger = sustain & (np.asarray(log.status) == CONFIRMED)
    elif isinstance(policy, TrackExistsPolicy):
        p = np.asarray(log.p_region[region.id], dtype=float)
        point_in = contains(region, log.lat, log.lon)
        trigger = real & (point_in | (p >= policy.p_min))
        sustain = trigger
    elif isinstance(policy, ProbabilisticPolicy):
        p = np.asarray(log.p_region[region.id], dtype=float)
        trigger = _quality_gate(log, policy) & (p >= policy.threshold)
        sustain = _quality_gate(log, policy, sustain=True)
        sustain &= p >= policy.threshold * policy.cancel_factor
    else:
        raise TypeError(f"policy: expected one of {Policy}, got {type(policy).__name__}")
    return trigger, sustain | trigger


def alert_timeline(log: ImpactLog, policy: Policy, region: Region | str) -> AlertTimeline:
    """Alert timeline of ``policy`` for ``region`` in every run of ``log``.

    Parameters
    ----------
    log : ImpactLog
        Rows in any order; must contain ``p_region[region.id]``.
    policy : NaivePolicy | TrackExistsPolicy | ProbabilisticPolicy
    region : Region or str
        The region, or its id in :func:`~trackers.impact.regions.load_regions`.

    Returns
    -------
    AlertTimeline
    """
    if isinstance(region, str):
        regions = load_regions()
        if region not in regions:
            raise ValueError(f"region: unknown id {region!r}; expected one of {sorted(regions)}")
        region = regions[region]
    if not isinstance(region, Region):
        raise TypeError(f"region: expected a Region or region id, got {type(region).__name__}")
    _check_log(log, region.id, need_p=not isinstance(policy, NaivePolicy))
    trig_row, sus_row = row_flags(log, policy, region)
    run = np.asarray(log.run, dtype=np.int64)
    t = np.asarray(log.t, dtype=float)
    runs, run_idx = np.unique(run, return_inverse=True)
    n_runs = runs.size
    # Decision times per run: unique (run, t) keys, OR of the flags over tracks.
    order = np.lexsort((t, run_idx))
    ri, ti = run_idx[order], t[order]
    new_key = np.r_[True, (ri[1:] != ri[:-1]) | (ti[1:] != ti[:-1])]
    start = np.flatnonzero(new_key)
    k_run, k_t = ri[start], ti[start]  # (K,) sorted by (run, t)
    k_trig = np.logical_or.reduceat(trig_row[order], start)
    k_sus = np.logical_or.reduceat(sus_row[order], start)
    if isinstance(policy, ProbabilisticPolicy) and policy.hold_without_evidence:
        # a decision time without any track that passes the quality gates says nothing about
        # the impact: it holds an issued alert (cancellation needs contrary evidence)
        k_gate = np.logical_or.reduceat(_quality_gate(log, policy, sustain=True)[order], start)
        k_sus = k_sus | ~k_gate
    # Cancellation time of each decision time s: first logged time t > s of the same run with
    # t - s >= cancel_after_s (inf if none).
    cancel_after = float(policy.cancel_after_s)
    span = (k_t.max() - k_t.min()) + cancel_after + 1.0 if k_t.size else 1.0
    key = k_run * span + (k_t - (k_t.min() if k_t.size else 0.0))  # monotone in (run, t)
    target = key + cancel_after
    j = np.searchsorted(key, target, side="left" if cancel_after > 0 else "right")
    j_ok = (j < key.size) & (k_run[np.minimum(j, key.size - 1)] == k_run)
    k_cancel = np.where(j_ok, k_t[np.minimum(j, key.size - 1)], np.inf)
    # Sustaining decision times, clustered: a new cluster starts at a new run or where the
    # previous sustaining time's cancellation comes before this one.
    s_idx = np.flatnonzero(k_sus)
    issued = np.full(n_runs, np.nan)
    cancelled = np.full(n_runs, np.nan)
    n_updates = np.zeros(n_runs, dtype=np.int64)
    n_episodes = np.zeros(n_runs, dtype=np.int64)
    ep_run = np.zeros(0, dtype=np.int64)
    ep_issued = np.zeros(0)
    ep_cancelled = np.zeros(0)
    if s_idx.size:
        s_run, s_t, s_trig, s_cancel = k_run[s_idx], k_t[s_idx], k_trig[s_idx], k_cancel[s_idx]
        brk = np.r_[True, (s_run[1:] != s_run[:-1]) | (s_cancel[:-1] < s_t[1:])]
        c_start = np.flatnonzero(brk)
        cluster = np.cumsum(brk) - 1  # cluster id of each sustaining time
        # First trigger time in each cluster (inf: the cluster never issues).
        c_issue = np.minimum.reduceat(np.where(s_trig, s_t, np.inf), c_start)
        c_end = np.maximum.reduceat(np.arange(s_idx.size), c_start)  # last sustaining time
        c_cancel = s_cancel[c_end]
        c_run = s_run[c_start]
        # Refreshes: sustaining times at or after the issue within the cluster.
        c_updates = np.bincount(
            cluster, weights=(s_t >= c_issue[cluster]).astype(float), minlength=c_start.size
        ).astype(np.int64)
        ep = np.flatnonzero(np.isfinite(c_issue))  # clusters that issue: episodes
        ep_run = c_run[ep]
        n_episodes[:] = np.bincount(ep_run, minlength=n_runs)
        first = ep[np.r_[True, ep_run[1:] != ep_run[:-1]]] if ep.size else ep
        fr = c_run[first]
        issued[fr] = c_issue[first]
        cancelled[fr] = np.where(np.isfinite(c_cancel[first]), c_cancel[first], np.nan)
        n_updates[fr] = c_updates[first]
        ep_issued = c_issue[ep]
        ep_cancelled = np.where(np.isfinite(c_cancel[ep]), c_cancel[ep], np.nan)
    return AlertTimeline(region.id, runs, issued, cancelled, n_updates, n_episodes,
                         ep_run, ep_issued, ep_cancelled)  # fmt: skip
