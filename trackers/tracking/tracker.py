"""Batched multi-object tracking over Monte Carlo runs: scans in, tracks and snapshots out.

    track(scans, radars, config, epochs) -> TrackerResult

Central-level fusion: every radar's reports update one track table per run. For each scan
(one radar, one time, all runs at once; :mod:`trackers.tracking.scans`):

1. **Coarse gate.** Every live track is extrapolated from its own time with gravity only,
   p + v dt - mu p / |p|^3 dt^2 / 2, and checked against the radar's coverage (an
   *opportunity* to be detected) and against the scan's reports converted to ECEF (a
   generous distance gate). Only tracks with a report nearby are predicted properly — tracks
   are predicted lazily, so a scan of a far-away radar costs no filter steps.
2. **Prediction and gating.** Candidate tracks are predicted to the scan time with the
   tracker's estimator (one EKF, or the boost/ballistic(/drag) IMM) and linearised at the combined
   estimate: zhat = h(x), S = H P H' + R. Report m is in track k's gate when
   d2_km = nu' S^-1 nu < chi2_m^-1(gate_prob),  nu = z_m - zhat_k (angles wrapped).
3. **Association.** Cost c_km = d2_km + ln det S_k; GNN solves the optimal 2-D assignment per
   run with the miss cost G + ln det S_k (a report inside the gate is always preferred to a
   miss); NN lets each track take its cheapest report. (Blackman & Popoli 1999, §6.2.)
4. **Update.** Assigned tracks take the estimator's update.
   With ``reacquire``, a confirmed candidate left without a report then takes a free report
   inside its *spawn gate* (its prediction plus the separation allowance), by GNN among such
   tracks: when an unresolved pair comes apart, the tracks that were fed the merged
   centroid sit between the objects and a resolved report may fall outside the tight gate of
   the track that was following its object (an expanding gate after a miss; Blackman &
   Popoli 1999, §6.5). Without it the report would start a child and the old track would
   coast on as a duplicate.
   With ``merged_updates``, a confirmed track still without a report whose gate, widened by
   the resolution cell (R_cell = diag(dr^2, bw^2, bw^2) / 12: the variance of a uniform
   position inside the cell), holds a report assigned to another track — and no other
   report — is updated with that report and R + R_cell: two unresolved objects produce one
   power-weighted centroid report (Daum & Fitzgerald 1994; Blom & Bloem 2000 on unresolved
   measurements), so the report is evidence for both.
5. **Track management.** Hits and opportunities per track; M-of-N confirmation; deletion of
   a tentative track after ``confirm_n`` opportunities or ``max_coast_s`` without an update;
   of a confirmed track after k consecutive missed opportunities with
   k >= max(delete_misses, ln(delete_miss_prob) / ln(1 - p_D)) and p_D its own
   detection-rate estimate (a small reentry vehicle detected on one scan in four is not
   deleted after a dozen misses), when its position sigma exceeds ``max_pos_sigma``, or
   when its extrapolation is below the ground; the NIS CUSUM g = max(0, g + nis - m - drift)
   (Page 1954; a jump in the dynamics shows as a run of large NIS) logs separation /
   manoeuvre alarms. Detection-rate counters skip *unresolved* scans (fewer reports in the
   widened gates of a cluster than tracks in it), which say nothing about an object's own
   detection probability. Identity repairs: with ``handover`` a child spawned in the boost
   that turns out to be the thrusting stack exchanges estimates with its parent
   (:meth:`_Tracker._handover`); with ``continuation`` a track that lost its object continues
   on a new track started on it (:meth:`_Tracker._continue_lost`).
6. **Initiation and spawning.** With ``spawn``, a free report inside the spawn gate of a
   confirmed track that took another report of the same scan starts a *child*: prior = the
   parent's prediction with the allowance added, then the report's update; parent id and
   the parent's thrust evidence recorded. Other free reports are paired with *seeds*
   (reports of earlier scans no track used, kept ``seed_life_s``) within
   ``v_max dt + 4 sigma``: two-point initiation, x = [r2, (r2 - r1) / dt], with the
   converted-measurement covariances (Blackman & Popoli 1999, §3.3); unpaired reports
   become seeds, so clutter costs no filter steps.

With ``delivery="retrodict"`` the scan list also holds *late scans* (reports that reached the
consumer out of sequence, placed where they arrive): ``late_step``
(:mod:`trackers.tracking.late`) retrodicts them into the tracks from each track's recorded
posteriors, or starts tracks from them.

Every ``epochs`` instant the live tracks are snapshotted (their latest estimates) into a
:class:`~trackers.metrics.tracking.TrackLog`, labelled by :mod:`trackers.tracking.classify`.
Runs are processed in chunks (``chunk`` runs at a time); the result does not depend on the
chunk size (every operation is per run).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.stats import chi2

from trackers.earth import wgs84
from trackers.filters import EKF, Filter, Gaussian
from trackers.filters.gaussian import LOG_2PI, kalman_update
from trackers.filters.imm import IMM, Mode, SojournTransition
from trackers.filters.linalg_small import inv_spd, matmul, symmetrize
from trackers.filters.trees import tree_leaves, tree_map
from trackers.metrics.tracking import TrackLog
from trackers.models import Ballistic, BoostThrustState, residual, wrap_angle
from trackers.sensors.radar import Radar as RadarSite
from trackers.tracking.assignment import gnn_assign
from trackers.tracking.classify import hold_decisions, label_tracks
from trackers.tracking.coarse import extrapolate, near_reports
from trackers.tracking.config import TrackerConfig
from trackers.tracking.jpda import jpda_probabilities, pda_combine
from trackers.tracking.late import LateReports
from trackers.tracking.scans import Scan, ScanSequence, converted_covariance, report_positions
from trackers.tracking.seeds import SeedPool
from trackers.tracking.table import (
    CONFIRMED,
    FREE,
    TENTATIVE,
    TrackTable,
    rank_within,
)

__all__ = ["TrackerEvents", "TrackerResult", "build_estimator", "track"]

#: Forgetting factor of the detection-rate counters, per opportunity.
_RATE_FORGET = 0.98
#: Height below which a track's object has hit the ground [m] (margin for estimation error).
_GROUND = -2e3
#: Mode-averaged thrust acceleration above which a track counts as thrusting [m/s^2].
_THRUST_MIN = 5.0
#: Unbroken thrusting time before a track counts as seen thrusting [s].
_THRUST_SUSTAIN = 8.0
#: Period of the classifier's decision record (:func:`~trackers.tracking.classify.hold_decisions`)
#: in scan time [s]: fixed, so that labels do not depend on the snapshot grid.
_LABEL_TICK = 1.0
#: Handover (:meth:`_Tracker._handover`): the family's thrust evidence must be this recent [s]
_HANDOVER_S = 15.0
#: ... decided this long after the spawn [s] ...
_HANDOVER_DELAY = 12.0
#: ... when the child is this much faster than its parent along the velocity [std devs].
_HANDOVER_Z = 2.0
#: Continuation (:meth:`_Tracker._continue_lost`): a new track at most this old [s] ...
_CONTINUE_S = 30.0
#: ... continues an older track that missed at least this many opportunities in a row.
_CONTINUE_MISSES = 3

#: Updates per track kept for retrodicting late reports (``delivery="retrodict"``).
_HISTORY = 8

EVENT_KINDS = (
    "birth", "spawn", "confirm", "delete", "cusum", "reacquire", "broken", "handover",
    "continuation",
)  # fmt: skip


class TrackerEvents(NamedTuple):
    """Track-management events (long format): run, t [s], track id, kind (index into
    :data:`EVENT_KINDS`), other (parent id for a spawn, else -1)."""

    run: NDArray
    t: NDArray
    track: NDArray
    kind: NDArray
    other: NDArray


class TrackerResult(NamedTuple):
    """Output of :func:`track`.

    Attributes
    ----------
    log : TrackLog
        Snapshots of the live tracks at the epochs.
    hits : (R,) int array
        Reports associated with each logged track up to its snapshot (rows of ``log``).
    events : TrackerEvents
        Births, spawns, confirmations, deletions and CUSUM alarms.
    config : TrackerConfig
    reports : int
        Reports processed (valid slots over all scans and runs, late scans included).
    seconds : float
        Wall-clock time of the tracking loop.
    late_reports, late_used : int
        Out-of-sequence reports that came back as late scans (``delivery="retrodict"``),
        and how many of them updated a track.
    """

    log: Any
    hits: NDArray
    events: TrackerEvents
    config: TrackerConfig
    reports: int
    seconds: float
    late_reports: int = 0
    late_used: int = 0


def build_estimator(config: TrackerConfig) -> Filter | IMM:
    """The estimator of a configuration: one ballistic EKF, or the boost/ballistic(/drag) IMM.

    IMM modes: boost (x, y, z, vx, vy, vz, a_thrust) with thrust along the velocity, ballistic
    (x, y, z, vx, vy, vz) and, with ``drag_mode``, ballistic with drag (x, y, z, vx, vy, vz,
    ln beta), mixed in the common space (x, y, z, vx, vy, vz, a_thrust[, ln beta]) with
    a_thrust implied 0 outside the boost mode and ln beta filled from the drag mode (or its
    prior when the drag mode has no weight); Markov switching from mean sojourn times, with
    boost -> ballistic, ballistic -> boost or drag, drag -> ballistic (Blom & Bar-Shalom 1988;
    the drag mode as in Farina, Ristic & Benvenuti 2002, "Tracking a ballistic target:
    comparison of several nonlinear filters", IEEE TAES 38(3)).
    With ``config.backend == "numba"`` its compiled twin (:mod:`trackers.filters.compiled._step`).
    """
    if config.backend == "numba":
        from trackers.filters.compiled._step import compiled_estimator

        return compiled_estimator(build_estimator(replace(config, backend="numpy")))
    ballistic = Ballistic(
        earth=config.earth, q=config.q_ballistic, max_step=config.max_step_ballistic
    )
    if config.motion == "ballistic":
        return Filter(EKF(), ballistic)
    boost = BoostThrustState(
        earth=config.earth,
        q=config.q_boost,
        q_thrust=config.q_thrust,
        max_step=config.max_step_boost,
    )
    modes = [Mode(EKF(), boost, "boost"), Mode(EKF(), ballistic, "ballistic")]
    sojourn = [config.sojourn_boost, config.sojourn_ballistic]
    if not config.drag_mode:
        return IMM(modes=tuple(modes), transition=SojournTransition(np.array(sojourn)),
                   implied={"a_thrust": 0.0})  # fmt: skip
    drag = Ballistic(earth=config.earth, drag_state=True, q=config.q_ballistic,
                     q_log_beta=config.q_log_beta, max_step=config.max_step_drag)  # fmt: skip
    switching = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    mu, sd = config.init_log_beta
    return IMM(
        modes=(*modes, Mode(EKF(), drag, "drag")),
        transition=SojournTransition(np.array([*sojourn, config.sojourn_drag]), switching),
        implied={"a_thrust": 0.0},
        fill_prior={"log_beta": (mu, sd**2)},
    )


@dataclass(frozen=True, eq=False)
class _Sensor:
    """What the tracker knows of one radar: site, measurement model, merged-report model."""

    site: RadarSite
    model: Any
    model_merged: Any
    sigma_pos: float  # rough 1-sigma of a report's position at max range [m]
    site_ecef: NDArray  # (3,) [m]
    rot: NDArray  # (3, 3) ECEF -> ENU
    R3: NDArray  # (3, 3) noise covariance of (range, az, el)

    def covers(self, r: NDArray) -> NDArray:
        """Whether ECEF positions ``(A, 3)`` lie in the radar's coverage (an opportunity).

        The tracker's own, cheaper version of :func:`trackers.sensors.visibility.visible`:
        instrumented range, field of regard in azimuth, and geometric elevation between
        ``el_min`` and ``el_max`` and above ``min_elevation`` (no 4/3-Earth refraction, which
        only adds a fraction of a degree near the horizon).
        """
        s = self.site
        d = (r - self.site_ecef) @ self.rot.T
        rho = np.linalg.norm(d, axis=-1)
        el = np.arcsin(np.clip(d[:, 2] / np.maximum(rho, 1.0), -1.0, 1.0))
        az = np.arctan2(d[:, 0], d[:, 1])
        return ((rho >= s.min_range) & (rho <= s.max_range)
                & (np.abs(wrap_angle(az - s.boresight_az)) <= s.half_width_az)
                & (el >= max(s.el_min, s.min_elevation)) & (el <= s.el_max))  # fmt: skip

    @classmethod
    def of(cls, radar: RadarSite) -> _Sensor:
        model = radar.measurement_model()
        cell = np.array([radar.range_cell, radar.beamwidth, radar.beamwidth]) ** 2 / 12.0
        merged = replace(
            model,
            sigma_range=float(np.hypot(model.sigma_range, np.sqrt(cell[0]))),
            sigma_azimuth=float(np.hypot(model.sigma_azimuth, np.sqrt(cell[1]))),
            sigma_elevation=float(np.hypot(model.sigma_elevation, np.sqrt(cell[2]))),
        )
        sigma_pos = float(
            max(radar.sigma_range, radar.max_range * max(radar.sigma_az, radar.sigma_el))
        )
        return cls(
            radar,
            model,
            merged,
            sigma_pos,
            np.array(radar.site_ecef),
            np.array(radar.enu_rotation),
            model.noise_cov()[:3, :3],
        )


class _Tracker(LateReports):
    """One chunk of runs through the scan sequence (module docstring, steps 1-6; late scans:
    :class:`~trackers.tracking.late.LateReports`)."""

    def __init__(self, cfg: TrackerConfig, sensors: Sequence[_Sensor], runs: int,
                 retrodict: bool = False) -> None:  # fmt: skip
        self.cfg = cfg
        self.retrodict = retrodict
        self.sensors = sensors
        self.est = build_estimator(cfg)
        self.imm = isinstance(self.est, IMM)
        self.drag = self.imm and cfg.drag_mode
        self.n = (8 if self.drag else 7) if self.imm else 6
        self.gate = {m: float(chi2.ppf(cfg.gate_prob, m)) for m in (3, 4)}
        self.spawn_gate = {m: float(chi2.ppf(cfg.spawn_gate_prob, m)) for m in (3, 4)}
        one = np.ones((1, 3))
        template = self._prior(one, np.eye(3)[None], 2 * one, np.eye(3)[None], np.ones(1))
        self.table = TrackTable(runs, cfg.capacity, template)
        self.seeds = SeedPool(runs, 16)
        self.events: list[tuple[NDArray, ...]] = []
        self._suspect: list[tuple[NDArray, NDArray]] = []  # slots written non-finite
        self._indefinite: list[tuple[NDArray, NDArray, NDArray]] = []  # (run, slot, id)
        self._next_label = -np.inf  # next scan time at which classifier decisions are held
        self._now = -np.inf  # time of the last regular scan processed
        self.late_reports = 0  # late reports seen / used (delivery "retrodict")
        self.late_used = 0
        if retrodict:
            self.table.keep_history(_HISTORY)
            # retrodiction runs the NumPy models (backwards RK4 with its Jacobian)
            self.est_np = build_estimator(replace(cfg, backend="numpy"))

    # ------------------------------------------------------------------ beliefs
    def _prior(self, r1: NDArray, C1: NDArray, r2: NDArray, C2: NDArray, dt: NDArray,
               rr: tuple[NDArray, _Sensor] | None = None) -> Any:  # fmt: skip
        """Two-point prior from reports at ECEF r1 (time t - dt) and r2 (time t), ``(J, 3)``.

            x = [r2, (r2 - r1) / dt(, a0(, ln beta0))]
            P = [[C2, C2 / dt], [C2 / dt, (C1 + C2) / dt^2]] (+ floors; a_thrust, ln beta: priors)

        (the velocity difference shares r2's error, hence the cross term; Blackman & Popoli
        1999, §3.3). C1, C2 are the converted-measurement covariances ``(J, 3, 3)``.

        With ``rr = (z2, sensor)`` (reports ``(J, 4)`` of a radar that measures range-rate),
        the prior is then updated with the range-rate alone (an EKF update with the fourth
        row of H: d rr / d r = (v - rr l) / rho, d rr / d v = l, l the line of sight; rows
        with a NaN range-rate are left as they are).
        """
        cfg, J = self.cfg, r2.shape[0]
        d = dt[:, None, None]
        mean = np.zeros((J, self.n))
        mean[:, :3] = r2
        mean[:, 3:6] = (r2 - r1) / dt[:, None]
        cov = np.zeros((J, self.n, self.n))
        i3 = np.eye(3)
        cov[:, :3, :3] = C2 + cfg.init_pos_sigma**2 * i3
        cov[:, :3, 3:6] = C2 / d
        cov[:, 3:6, :3] = C2 / d
        cov[:, 3:6, 3:6] = (C1 + C2) / d**2 + cfg.init_vel_sigma**2 * i3
        if rr is not None:
            mean, cov = self._range_rate_update(Gaussian(mean, cov), *rr)
        if self.imm:
            assert isinstance(self.est, IMM)  # self.imm
            mean[:, 6] = cfg.init_thrust[0]
            cov[:, 6, 6] = cfg.init_thrust[1] ** 2
            if not self.drag:
                return self.est.initial_belief(Gaussian(mean, cov), np.array([0.5, 0.5]))
            mean[:, 7] = cfg.init_log_beta[0]
            cov[:, 7, 7] = cfg.init_log_beta[1] ** 2
            return self.est.initial_belief(Gaussian(mean, cov), np.array([0.4, 0.4, 0.2]))
        return Gaussian(mean, cov)

    @staticmethod
    def _range_rate_update(g: Gaussian, z: NDArray, sen: _Sensor) -> tuple[NDArray, NDArray]:
        """(mean, cov) of ``g`` ``(J, n)`` updated with the range-rate of reports z ``(J, 4)``.

            h = rr(x),  H = dh/dx (1 x n),  S = H P H' + s_rr^2,  K = P H' / S
            x+ = x + K (rr - h(x)),  P+ = P - K S K'
        """
        zhat, H = sen.model.measure_with_jacobian(g.mean)
        h = H[:, 3:4, :]  # (J, 1, n)
        R = sen.model.noise_cov()[3:, 3:]
        nu = z[:, 3:4] - zhat[:, 3:4]
        PHt = matmul(g.cov, h.swapaxes(-1, -2))
        S = matmul(h, PHt) + R
        post, _ = kalman_update(g, nu, S, PHt, missed=np.isnan(nu[:, 0]))
        return post.mean, post.cov

    def _inflate(self, belief: Any) -> Any:
        """Add the spawn allowance diag(sp^2 I, sv^2 I) to every mode's position/velocity."""
        add = np.diag(np.r_[np.full(3, self.cfg.spawn_pos_sigma**2),
                            np.full(3, self.cfg.spawn_vel_sigma**2)])  # fmt: skip

        def inflate(g: Gaussian) -> Gaussian:
            cov = g.cov.copy()
            cov[..., :6, :6] += add
            return Gaussian(g.mean, cov)

        if self.imm:
            return type(belief)(tuple(inflate(g) for g in belief.modes), belief.probs)
        return inflate(belief)

    def _refresh(self, ri: NDArray, ki: NDArray, belief: Any, g: Gaussian | None = None) -> None:
        """Store beliefs and their combined position/velocity moments in slots (ri, ki)
        (``g``: the beliefs' combined Gaussian, if already computed)."""
        tb = self.table
        tb.put(ri, ki, belief)
        g = self.est.gaussian(belief) if g is None else g
        tb.pv[ri, ki] = g.mean[:, :6]
        tb.P6[ri, ki] = g.cov[:, :6, :6]
        # remember slots written with a non-finite estimate (deleted by _drop_broken)
        bad = ~(
            np.isfinite(g.mean[:, :6]).all(axis=-1)
            & np.isfinite(g.cov[:, :6, :6]).all(axis=(-2, -1))
        )
        if bad.any():
            self._suspect.append((ri[bad], ki[bad]))

    def _predict(self, belief: Any, dt: NDArray) -> Any:
        """Predict beliefs ``(C,)`` by per-track ``dt`` ``(C,)`` [s].

        The RK4 integrators take n = ceil(max dt / max_step) equal substeps over a batch, so
        tracks are grouped by their own substep counts: a track's prediction then depends on
        its own dt only (not on which other runs share the batch — results are independent
        of the chunking), and one coasting track does not force its substeps on the others.
        """
        if dt.size == 0 or not np.any(dt > 0):
            return belief
        steps = [self.cfg.max_step_ballistic] + ([self.cfg.max_step_boost] if self.imm else [])
        steps += [self.cfg.max_step_drag] if self.drag else []
        key = np.zeros(dt.size, np.int64)
        for h in steps:
            key = key * 100003 + np.ceil(np.abs(dt) / h - 1e-12).astype(np.int64)
        groups = np.unique(key)
        if groups.size == 1:
            return self.est.predict(belief, dt, 0.0)
        out = tree_map(lambda a: np.array(a, copy=True), belief)
        for g in groups:
            sel = np.flatnonzero(key == g)
            # mypy cannot infer a lambda with a default argument (the group capture)
            part = self.est.predict(tree_map(lambda a, s=sel: a[s], belief), dt[sel], 0.0)  # type: ignore[misc]
            for leaf, p in zip(tree_leaves(out), tree_leaves(part), strict=True):
                leaf[sel] = p
        return out

    def _event(self, run: NDArray, t: float, track: NDArray, kind: str,
               other: NDArray | None = None) -> None:  # fmt: skip
        if run.size:
            k = np.full(run.size, EVENT_KINDS.index(kind), np.int8)
            o = np.full(run.size, -1, np.int64) if other is None else other
            self.events.append((run.astype(np.int32), np.full(run.size, t), track, k, o))

    def _refresh_stale(self, t: float) -> None:
        """Predict confirmed tracks not predicted for ``refresh_s`` to time t (no update)."""
        tb = self.table
        ri, ki = np.nonzero((tb.status == CONFIRMED) & (t - tb.t > self.cfg.refresh_s))
        if ri.size:
            self._refresh(ri, ki, self._predict(tb.take(ri, ki), t - tb.t[ri, ki]))
            tb.t[ri, ki] = t

    # ------------------------------------------------------------------ one scan
    def step(self, scan: Scan) -> None:
        """Process one scan for every run (module docstring, steps 1-6)."""
        cfg, tb = self.cfg, self.table
        sen = self.sensors[scan.sensor]
        t = scan.t
        z, valid = scan.z, scan.valid
        M = z.shape[1]
        self._now = t
        self._refresh_stale(t)
        act_r, act_k = np.nonzero(tb.status != FREE)

        # 1. coarse gate: extrapolate every live track with gravity only
        dt_a = t - tb.t[act_r, act_k]
        p_ex = extrapolate(tb.pv[act_r, act_k, :3], tb.pv[act_r, act_k, 3:], dt_a)
        # an opportunity to be detected, where the run's message of this scan has arrived
        opp = sen.covers(p_ex) & scan.received[act_r]
        _, _, alt_ex = wgs84.ecef_to_geodetic(p_ex)
        hit = np.zeros(act_r.size, bool)
        unres = np.zeros(act_r.size, bool)
        cand = np.zeros(act_r.size, bool)
        if M and act_r.size:
            rpos = report_positions(z, sen.site_ecef, sen.rot)  # (N, M, 3)
            near = near_reports(p_ex, tb.P6[act_r, act_k], dt_a, sen.sigma_pos, rpos[act_r],
                                valid[act_r])  # fmt: skip
            cand = np.any(near, axis=1)
        used = np.zeros(valid.shape, bool)
        ci = np.flatnonzero(cand)
        if ci.size:
            hit_c, used, unres_c = self._associate(scan, sen, act_r[ci], act_k[ci], near[ci],
                                                   dt_a[ci])  # fmt: skip
            hit[ci], unres[ci] = hit_c, unres_c
        # 5. track management: hits, opportunities, confirmation, deletion, duplicates
        opp = opp | hit
        self._manage(act_r, act_k, hit, opp, t, alt_ex < _GROUND, unres)
        if cfg.handover and self.imm:
            self._handover(t)
        if cfg.continuation and ci.size:
            self._continue_lost(t)
        if cfg.prune_d2 > 0 and ci.size > 1:
            self._prune_duplicates(t)
        # 6. initiation and spawning from the reports no track used
        free = valid & ~used
        if free.any():
            self._initiate(scan, sen, free, t)
        self._drop_broken(t)

    def _drop_broken(self, t: float) -> None:
        """Delete live tracks whose estimate is no longer finite, or whose innovation
        covariance was indefinite in this scan (:meth:`_gateable`) (event ``broken``).

        A numerically broken filter (e.g. every IMM mode's likelihood underflowing for a
        wildly wrong association) must cost its track, not the whole batch of runs.
        """
        tb = self.table
        if self._indefinite:
            r = np.concatenate([a for a, _, _ in self._indefinite])
            k = np.concatenate([b for _, b, _ in self._indefinite])
            i = np.concatenate([c for _, _, c in self._indefinite])
            self._indefinite.clear()
            # still the same live track (its slot may have been freed and reused this scan)
            drop = (tb.status[r, k] != FREE) & (tb.id[r, k] == i)
            key = np.unique(r[drop] * tb.K + k[drop])
            r, k = key // tb.K, key % tb.K
            if r.size:
                self._event(r, t, tb.id[r, k], "broken")
                tb.clear(r, k)
        if not self._suspect:
            return
        r = np.concatenate([a for a, _ in self._suspect])
        k = np.concatenate([b for _, b in self._suspect])
        self._suspect.clear()
        key = np.unique(r * tb.K + k)
        r, k = key // tb.K, key % tb.K
        # still live and still non-finite (a later write of this scan may have replaced it)
        ok = np.isfinite(tb.pv[r, k]).all(axis=-1) & np.isfinite(tb.P6[r, k]).all(axis=(-2, -1))
        drop = (tb.status[r, k] != FREE) & ~ok
        r, k = r[drop], k[drop]
        if r.size:
            self._event(r, t, tb.id[r, k], "broken")
            tb.clear(r, k)

    def _innovations(self, sen: _Sensor, g: Gaussian, zr: NDArray) -> tuple[NDArray, ...]:
        """Innovations of candidate beliefs ``g`` (C,) against reports ``zr`` (C, M, m):

            zhat = h(x), S = H P H' + R, nu = z - zhat (angles wrapped; NaN slots -> 0),
            d2 = nu' S^-1 nu

        Returns (zhat, H, HP, S, Sinv, logdet, nu, d2). With ``backend="numba"`` one compiled
        call (:mod:`trackers.filters.compiled._gate`; this code is its reference).
        """
        if self.cfg.backend == "numba":
            from trackers.filters.compiled._gate import compiled_innovations

            return compiled_innovations(sen.model, g, zr)
        zhat, H = sen.model.measure_with_jacobian(g.mean)  # (C, m), (C, m, n)
        HP = matmul(H, g.cov)
        S = symmetrize(matmul(HP, H.swapaxes(-1, -2)) + sen.model.noise_cov())
        Sinv, logdet = inv_spd(S)
        nu = residual(zr, zhat[:, None, :], sen.model.angle_indices)  # (C, M, m)
        nu = np.where(np.isnan(nu), 0.0, nu)
        d2 = np.einsum("cmi,cij,cmj->cm", nu, Sinv, nu)
        return zhat, H, HP, S, Sinv, logdet, nu, d2

    def _gateable(self, ri: NDArray, ki: NDArray, logdet: NDArray) -> NDArray:
        """Candidates whose innovation covariance S is positive definite, ``(C,)`` bool.

        A finite belief whose covariance has lost positive definiteness (rounding in an
        update or in the IMM mixing) gives an indefinite S, log det S = NaN and no valid gate.
        Such a track takes no report and is deleted at the end of the scan (event
        ``broken``): one broken filter must not stop the batch of runs.
        """
        ok = np.isfinite(logdet)
        if not ok.all():
            tb = self.table
            r, k = ri[~ok], ki[~ok]
            self._indefinite.append((r, k, tb.id[r, k]))
        return ok

    def _gnn(self, ri: NDArray, ki: NDArray, cost: NDArray, feas: NDArray,
             miss: NDArray) -> NDArray:  # fmt: skip
        """GNN over candidate tracks (ri, ki) with costs / gates ``(C, M)`` and miss costs
        ``(C,)``: the per-run problems padded to (N, K, M), solved only for runs with a
        feasible pair. Returns the report index per candidate, or -1."""
        tb = self.table
        M = cost.shape[1]
        full = np.full((tb.N, tb.K, M), np.inf)
        ffull = np.zeros((tb.N, tb.K, M), bool)
        mfull = np.zeros((tb.N, tb.K))
        full[ri, ki], ffull[ri, ki], mfull[ri, ki] = cost, feas, miss
        runs = np.flatnonzero(ffull.any(axis=(1, 2)))
        a_full = np.full((tb.N, tb.K), -1, np.int64)
        if runs.size:
            a_full[runs] = gnn_assign(full[runs], ffull[runs], mfull[runs])
        return a_full[ri, ki]

    def _associate(
        self, scan: Scan, sen: _Sensor, ri: NDArray, ki: NDArray, near: NDArray, dt: NDArray
    ) -> tuple[NDArray, NDArray, NDArray]:
        """Steps 2-4 for candidate tracks (ri, ki); returns (hit per candidate, used reports,
        unresolved per candidate: predicted inside the radar's resolution cell together with
        another candidate, so the scan says nothing about its own detection rate)."""
        cfg, tb = self.cfg, self.table
        z, valid = scan.z, scan.valid
        N, M, m = z.shape
        pred = self._predict(tb.take(ri, ki), np.maximum(dt, 0.0))
        g = self.est.gaussian(pred)
        zhat, H, HP, S, Sinv, logdet, nu, d2 = self._innovations(sen, g, z[ri])
        G = self.gate[m]
        ok = self._gateable(ri, ki, logdet)
        logdet = np.where(ok, logdet, 0.0)
        feas = near & valid[ri] & (d2 < G) & ok[:, None]
        cost = d2 + logdet[:, None]
        if cfg.association == "gnn":
            assign = self._gnn(ri, ki, cost, feas, G + logdet)
        elif cfg.association == "jpda":
            hit, used = self._jpda(scan, sen, ri, ki, pred, g, H, S, Sinv, logdet, nu, d2, feas)
            return hit, used, np.zeros(ri.size, bool)
        else:
            masked = np.where(feas, cost, np.inf)
            assign = np.where(feas.any(axis=1), np.argmin(masked, axis=1), -1)
        hit = assign >= 0
        used = np.zeros((N, M), bool)
        used[ri[hit], assign[hit]] = True
        # every candidate's belief moves to the scan time; assigned ones take the update
        self._refresh(ri, ki, pred, g)
        tb.t[ri, ki] = scan.t
        if hit.any():
            h = np.flatnonzero(hit)
            sub = tree_map(lambda a: a[h], pred)
            post, info = self.est.update(sub, z[ri[h], assign[h]], sen.model)
            self._refresh(ri[h], ki[h], post)
            self._after_update(ri[h], ki[h], post, info.nis, m, scan.t)
        # a confirmed track left without a report first looks for a free report in its
        # inflated gate (before it may share another track's report as unresolved)
        if cfg.reacquire:
            hit = self._reacquire(scan, sen, ri, ki, hit, used, assign)
        HPH = matmul(HP, H.swapaxes(-1, -2))
        # pairs of candidate tracks the radar cannot resolve (predicted within its cell):
        # candidate c's partners are Uc[li[c], rk[c]] by rank among its run's candidates
        unresolved = np.zeros(ri.size, bool)
        if cfg.merged_updates or cfg.classify:
            li, rk, Uc, rank_of = self._unresolvable(sen, ri, ki, zhat, HPH)
            # unresolved scans carry no evidence of an object's own detection rate
            unresolved = Uc[li, rk].any(axis=1)
        # merged (unresolved) reports: a confirmed track without a report is updated with
        # R + R_cell by a report taken by a track it is predicted unresolvable from, when that
        # report is the only one in its widened gate (the radar saw one blob where two tracks
        # are). Where the radar could resolve the two, a track without its own report missed
        # (a faint reentry vehicle next to a bright stage must not be pulled onto the stage).
        if cfg.merged_updates:
            # widened gates: R + R_cell (the resolution cell) around each candidate
            if cfg.backend == "numba":
                from trackers.filters.compiled._gate import compiled_widened_gate

                d2m = compiled_widened_gate(HPH, nu, sen.model_merged).d2
            else:
                Sm = symmetrize(HPH + sen.model_merged.noise_cov())
                Sminv, _ = inv_spd(Sm)
                d2m = np.einsum("cmi,cij,cmj->cm", nu, Sminv, nu)
            near_m = valid[ri] & (d2m < G) & ok[:, None]
            alone = near_m.sum(axis=1) == 1
            owner = np.full((N, M), -1, np.int64)  # slot of the track that took each report
            took = hit & (assign >= 0)  # (merged updates below take no report)
            owner[ri[took], assign[took]] = ki[took]
            own = owner[ri]  # (C, M)
            ro = np.where(own >= 0, rank_of[li[:, None], np.maximum(own, 0)], -1)
            by_unresolvable = (ro >= 0) & Uc[li[:, None], rk[:, None], np.maximum(ro, 0)]
            ok = (~hit & alone & (tb.status[ri, ki] == CONFIRMED))[:, None] & used[ri] & near_m
            ok &= by_unresolvable
            rows = np.flatnonzero(ok.any(axis=1))
            if rows.size:
                mm = np.argmin(np.where(ok[rows], d2m[rows], np.inf), axis=1)
                sub = tree_map(lambda a: a[rows], pred)
                post, info = self.est.update(sub, z[ri[rows], mm], sen.model_merged)
                self._refresh(ri[rows], ki[rows], post)
                self._after_update(ri[rows], ki[rows], post, info.nis, m, scan.t)
                hit[rows] = True
        return hit, used, unresolved

    def _unresolvable(
        self, sen: _Sensor, ri: NDArray, ki: NDArray, zhat: NDArray, HPH: NDArray
    ) -> tuple[NDArray, NDArray, NDArray, NDArray]:
        """Pairs of candidate tracks (same run) the radar is predicted not to resolve.

        The radar merges objects with |d range| < range_cell and line-of-sight angle
        < beamwidth (:mod:`trackers.sensors.observation`). With the predicted measurements
        zhat_i, zhat_j and their covariances H P H' (no R), a pair is unresolvable when

            |dr| < range_cell + 2 sqrt(s_r,i^2 + s_r,j^2)   and
            |dtheta| < beamwidth + 2 sqrt(s_a,i^2 + s_a,j^2),

        dtheta^2 = (d az cos el)^2 + d el^2, s_a^2 = (s_az cos el)^2 + s_el^2 (2-sigma margins
        for the uncertainty of the predictions).

        Returns ``li`` (C,) the candidate's row among the runs with candidates, ``rk`` (C,)
        its rank among its run's candidates, ``Uc`` (n, Kc, Kc) the pair flags by rank (False
        on the diagonal and for absent ranks) and ``rank_of`` (n, K) the rank of each slot
        (-1 for non-candidates).
        """
        tb, site = self.table, sen.site
        runs, li = np.unique(ri, return_inverse=True)  # only runs with candidates
        n = runs.size
        rk = rank_within(li, n)
        Kc = int(rk.max()) + 1 if rk.size else 0
        zf = np.full((n, Kc, 3), np.nan)
        sr = np.zeros((n, Kc))
        sa = np.zeros((n, Kc))
        zf[li, rk] = zhat[:, :3]
        cos_el = np.cos(zhat[:, 2])
        sr[li, rk] = HPH[:, 0, 0]
        sa[li, rk] = HPH[:, 1, 1] * cos_el**2 + HPH[:, 2, 2]
        dr = zf[:, :, None, 0] - zf[:, None, :, 0]
        daz = wrap_angle(zf[:, :, None, 1] - zf[:, None, :, 1])
        ce = np.cos(0.5 * (zf[:, :, None, 2] + zf[:, None, :, 2]))
        dth = np.hypot(daz * ce, zf[:, :, None, 2] - zf[:, None, :, 2])
        with np.errstate(invalid="ignore"):
            Uc = (np.abs(dr) < site.range_cell + 2.0 * np.sqrt(sr[:, :, None] + sr[:, None, :])) & (
                dth < site.beamwidth + 2.0 * np.sqrt(sa[:, :, None] + sa[:, None, :])
            )
        Uc &= ~np.eye(Kc, dtype=bool)
        rank_of = np.full((n, tb.K), -1, np.int64)
        rank_of[li, ki] = rk
        return li, rk, Uc, rank_of

    def _reacquire(self, scan: Scan, sen: _Sensor, ri: NDArray, ki: NDArray, hit: NDArray,
                   used: NDArray, assign: NDArray) -> NDArray:  # fmt: skip
        """Step 4b: confirmed candidate tracks left without a report take a free report inside
        their spawn gate (the prediction with the separation allowance added), by GNN.

        When two objects that were unresolved (one track per object, both fed the merged
        report) come apart, the centroid-fed tracks sit between them; a report of one object
        then falls outside the tight gate of the track that was following it. Without this
        step that report would start a child of the other track and the old track would coast
        on as a duplicate. Updating the old track from its inflated prediction keeps one track
        per object (an expanding gate after a miss; Blackman & Popoli 1999, §6.5). Updates
        ``used`` and ``assign`` (report per candidate) in place; returns the new hit mask.
        """
        tb = self.table
        z, valid = scan.z, scan.valid
        m = z.shape[-1]
        free = valid & ~used
        o = np.flatnonzero(~hit & (tb.status[ri, ki] == CONFIRMED) & free[ri].any(axis=1))
        if o.size == 0:
            return hit
        r, k = ri[o], ki[o]
        belief = self._inflate(tb.take(r, k))  # at the scan time since _associate
        g = self.est.gaussian(belief)
        *_, logdet, _nu, d2 = self._innovations(sen, g, z[r])
        G = self.spawn_gate[m]
        ok = self._gateable(r, k, logdet)
        logdet = np.where(ok, logdet, 0.0)
        feas = free[r] & (d2 < G) & ok[:, None]
        if not feas.any():
            return hit
        a = self._gnn(r, k, d2 + logdet[:, None], feas, G + logdet)
        h = np.flatnonzero(a >= 0)
        if h.size == 0:
            return hit
        post, info = self.est.update(tree_map(lambda b: b[h], belief), z[r[h], a[h]],
                                     sen.model)  # fmt: skip
        self._refresh(r[h], k[h], post)
        self._after_update(r[h], k[h], post, info.nis, m, scan.t)
        used[r[h], a[h]] = True
        self._event(r[h], scan.t, tb.id[r[h], k[h]], "reacquire")
        hit = hit.copy()
        hit[o[h]] = True
        assign[o[h]] = a[h]
        return hit

    def _jpda(self, scan, sen, ri, ki, pred, g, H, S, Sinv, logdet, nu, d2, feas):
        """JPDA association and the PDAF-combined update of candidate tracks (ri, ki).

        Gaussian likelihoods conditioned on the gate, L = N(nu; 0, S) / P_G, and P_D P_G as the
        detection probability (Bar-Shalom, Willett & Tian 2011, JPDA); clutter density
        lambda = false alarms per scan / (range span x azimuth span x elevation span) of the
        radar's surveillance volume. A report whose association probabilities sum to > 0.5 is
        used (not a seed); a track with any report in its gate counts as hit.
        """
        cfg, tb = self.cfg, self.table
        z, valid = scan.z, scan.valid
        N, M, m = z.shape
        site = sen.site
        vol = ((site.max_range - site.min_range) * 2.0 * site.half_width_az
               * max(site.el_max - site.el_min, 1e-6))  # fmt: skip
        lam = max(site.false_alarms_per_scan, 1e-3) / vol
        p_gate = cfg.gate_prob
        ll = -0.5 * (d2 + logdet[:, None] + m * LOG_2PI) - np.log(p_gate)
        full_ll = np.zeros((N, tb.K, M))
        full_f = np.zeros((N, tb.K, M), bool)
        full_ll[ri, ki], full_f[ri, ki] = ll, feas
        beta_full = np.zeros((N, tb.K, M + 1))
        beta_full[..., M] = 1.0
        runs = np.flatnonzero(full_f.any(axis=(1, 2)))
        if runs.size:
            beta_full[runs] = jpda_probabilities(full_ll[runs], full_f[runs],
                                                 cfg.detection_prob * p_gate, lam)  # fmt: skip
        beta = beta_full[ri, ki]  # (C, M + 1)
        gain = matmul(matmul(g.cov, H.swapaxes(-1, -2)), Sinv)
        post = pda_combine(g.mean[:, None], g.cov[:, None], nu[:, None], gain[:, None],
                           S[:, None], beta[:, None])  # fmt: skip
        hit = feas.any(axis=1)
        post = Gaussian(np.where(hit[:, None], post.mean[:, 0], pred.mean),
                        np.where(hit[:, None, None], post.cov[:, 0], pred.cov))  # fmt: skip
        self._refresh(ri, ki, post)
        tb.t[ri, ki] = scan.t
        h = np.flatnonzero(hit)
        if h.size:
            nis = np.min(np.where(feas[h], d2[h], np.inf), axis=1)
            self._after_update(ri[h], ki[h], tree_map(lambda a: a[h], post), nis, m, scan.t)
        used = valid & (beta_full[..., :M].sum(axis=1) > 0.5)
        return hit, used

    def _after_update(self, ri: NDArray, ki: NDArray, post: Any, nis: NDArray, m: int,
                      t: float) -> None:  # fmt: skip
        """Bookkeeping after an update: time of update, the posterior (kept for late
        reports), CUSUM, thrust evidence."""
        cfg, tb = self.cfg, self.table
        tb.t_update[ri, ki] = t
        tb.put_history(ri, ki, post, t)
        if cfg.separation_test:
            g = np.maximum(0.0, tb.cusum[ri, ki] + np.nan_to_num(nis) - m - cfg.cusum_drift)
            alarm = g > cfg.cusum_threshold
            self._event(ri[alarm], t, tb.id[ri[alarm], ki[alarm]], "cusum")
            tb.cusum[ri, ki] = np.where(alarm, 0.0, g)
        if self.imm:
            # the IMM's thrust estimate averaged over the modes, mu_boost E[a | boost] (0 in
            # the ballistic modes), must exceed _THRUST_MIN. During a burn the boost-mode
            # probability wanders between ~0.3 and 0.97 from scan to scan, so a threshold on
            # it alone breaks every stretch; the product is ~1 m/s^2 in a coast. Positive
            # thrust only: a stage falling back into the air decelerates (drag), which the
            # boost mode also explains, with a negative thrust acceleration.
            thrusting = (post.probs[:, 0] * post.modes[0].mean[:, 6] > _THRUST_MIN) & (
                t - tb.born[ri, ki] >= 5.0
            )
            # a burn lasts tens of seconds: only an unbroken stretch of _THRUST_SUSTAIN s
            # counts (a noisy or swapped track briefly explained by the boost mode does not)
            since = tb.thrust_since[ri, ki]
            since = np.where(thrusting, np.where(np.isnan(since), t, since), np.nan)
            tb.thrust_since[ri, ki] = since
            sustained = thrusting & (t - since >= _THRUST_SUSTAIN)
            tb.thrust_last[ri[sustained], ki[sustained]] = t

    def _manage(
        self,
        ri: NDArray,
        ki: NDArray,
        hit: NDArray,
        opp: NDArray,
        t: float,
        landed: NDArray,
        unresolved: NDArray | None = None,
    ) -> None:
        """Step 5: counters, M-of-N confirmation, deletion (also of tracks whose extrapolated
        position is below the ground, ``landed``: the object has impacted). The detection-rate
        counters skip ``unresolved`` scans (see :meth:`_associate`)."""
        cfg, tb = self.cfg, self.table
        if ri.size == 0:
            return
        tb.hits[ri, ki] += hit
        tb.opps[ri, ki] += opp
        tb.consec_miss[ri, ki] = np.where(hit, 0, tb.consec_miss[ri, ki] + (opp & ~hit))
        rate_opp = opp if unresolved is None else opp & ~unresolved
        lam = np.where(rate_opp, _RATE_FORGET, 1.0)
        tb.rate_h[ri, ki] = lam * tb.rate_h[ri, ki] + (hit & rate_opp)
        tb.rate_o[ri, ki] = lam * tb.rate_o[ri, ki] + rate_opp
        status = tb.status[ri, ki]
        tent = status == TENTATIVE
        confirm = tent & (tb.hits[ri, ki] >= cfg.confirm_m)
        tb.status[ri[confirm], ki[confirm]] = CONFIRMED
        self._event(ri[confirm], t, tb.id[ri[confirm], ki[confirm]], "confirm")
        tent_drop = (
            tent
            & ~confirm
            & ((tb.opps[ri, ki] >= cfg.confirm_n) | (t - tb.t_update[ri, ki] > cfg.max_coast_s))
        )
        pos_var = np.trace(tb.P6[ri, ki, :3, :3], axis1=-2, axis2=-1)
        drop = (
            tent_drop
            | landed
            | (pos_var > cfg.max_pos_sigma**2)
            | ((status == CONFIRMED) & (tb.consec_miss[ri, ki] >= self._miss_limit(ri, ki)))
        )
        if drop.any():
            self._event(ri[drop], t, tb.id[ri[drop], ki[drop]], "delete")
            tb.clear(ri[drop], ki[drop])

    def _handover(self, t: float) -> None:
        """Give the stack back its track when a child spawned during the boost took it.

        A stage separates from the stack, which ignites its next stage within seconds; the
        child track is spawned on whichever report fell outside the parent's gate, and that is
        often the stack, not the spent stage. ``_HANDOVER_DELAY`` s after the spawn of a child
        whose parent was seen thrusting within ``_HANDOVER_S`` (``tb.handover_at``), the
        along-track velocity difference of the (confirmed) child and its parent

            z = u' (v_c - v_p) / sqrt(u' (Pv_c + Pv_p) u),   u = v_p / |v_p|

        tells which one is thrusting away: the stack gains ~a dt along its velocity while the
        spent stage falls behind (v at each track's own time: both are updated on nearly
        every scan in the boost). With z > ``_HANDOVER_Z`` the two slots exchange their
        estimates (belief, time, caches), so that the parent's id, history and thrust
        evidence stay with the stack and the child becomes the spent stage (event
        ``handover``, other = the child's id). Decided once per child. At 12 s the stack,
        at ~20 m/s^2, is ~200 m/s faster than the stage and |z| is 3-14 on hokkaido-2023; at
        5 s, before the parent's thrust estimate has decayed, the sign is still unreliable
        (measured: 0.2 rv id switches per run against 0.0 at 12 s, 20 runs). A decision
        taken while the two tracks are within the scorer's 20 km cut-off costs no id switch
        under CLEAR MOT persistence; the per-epoch optimal assignment counts two.
        """
        tb = self.table
        due = tb.handover_at <= t
        if not due.any():
            return
        ri, ki = np.nonzero(due)
        tb.handover_at[ri, ki] = np.nan
        same = (tb.id[ri] == tb.parent[ri, ki][:, None]) & (tb.status[ri] == CONFIRMED)
        ok = (tb.status[ri, ki] == CONFIRMED) & same.any(axis=1)
        if not ok.any():
            return
        ri, ki, pk = ri[ok], ki[ok], np.argmax(same[ok], axis=1)
        vc, vp = tb.pv[ri, ki, 3:], tb.pv[ri, pk, 3:]
        u = vp / np.linalg.norm(vp, axis=-1, keepdims=True)
        var = np.einsum("ci,cij,cj->c", u, tb.P6[ri, ki, 3:, 3:] + tb.P6[ri, pk, 3:, 3:], u)
        z = np.einsum("ci,ci->c", u, vc - vp) / np.sqrt(np.maximum(var, 1e-300))
        swap = np.flatnonzero(np.isfinite(z) & (z > _HANDOVER_Z))
        if not swap.size:
            return
        # one exchange per slot: the fastest child of each parent, and no slot both a child
        # and a parent here
        swap = swap[np.argsort(-z[swap], kind="stable")]
        key_a, key_b = ri[swap] * tb.K + ki[swap], ri[swap] * tb.K + pk[swap]
        first = np.sort(np.unique(key_b, return_index=True)[1])
        swap, key_a = swap[first], key_a[first]
        swap = swap[~np.isin(key_a, key_b[first])]
        r, a, b = ri[swap], ki[swap], pk[swap]
        tb.move_estimate(r, a, b, swap=True)
        tb.consec_miss[r, a], tb.consec_miss[r, b] = tb.consec_miss[r, b], tb.consec_miss[r, a]
        self._event(r, t, tb.id[r, b], "handover", tb.id[r, a])

    def _miss_limit(self, ri: NDArray, ki: NDArray) -> NDArray:
        """Consecutive missed opportunities that delete a confirmed track ``(C,)``:

            k_del = max(delete_misses, ceil(ln(delete_miss_prob) / ln(1 - p_D)))

        with p_D = (h + 1) / (o + 2) the track's own detection-rate estimate (the forgetting
        counters): k_del misses in a row are that improbable for an object still there. A
        small reentry vehicle detected on one scan in four at long range is not deleted after
        a dozen misses, while a track of a bright object still is (a sequential test on the
        miss run; Blackman & Popoli 1999, §6.2 on score-based deletion).
        """
        cfg, tb = self.cfg, self.table
        p_d = (tb.rate_h[ri, ki] + 1.0) / (tb.rate_o[ri, ki] + 2.0)
        k = np.log(cfg.delete_miss_prob) / np.log1p(-np.minimum(p_d, 1.0 - 1e-9))
        return np.maximum(cfg.delete_misses, np.ceil(k))

    def _continue_lost(self, t: float) -> None:
        """Let a confirmed track that lost its object continue on a new track started on it.

        An object that manoeuvres beyond the motion model (a tumbling stage decelerating at
        tens of g in the last seconds of reentry, with the drag-free model) leaves its track's
        gate and even its spawn gate; its reports pair up and start a new track while the old
        one coasts on, missing. A confirmed new track (no parent, born within
        ``_CONTINUE_S``, updated in this scan) whose position lies inside the spawn gate of an
        older confirmed track of the same run that has missed at least ``_CONTINUE_MISSES``
        opportunities in a row,

            d2 = dp' (P_old + P_new + sigma_sp^2 I + (sigma_v dt)^2 I)^-1 dp < chi2_3^-1(p_sp),

        with the old track extrapolated to t with gravity only (as the coarse gate) — and
        nearer to it than to any confirmed track that is not missing — is the same object:
        the old track takes the new one's estimate and keeps its id and history, the new one is
        deleted (event ``continuation``, other = the new track's id).
        """
        tb = self.table
        cfg = self.cfg
        young = ((tb.status == CONFIRMED) & (tb.parent < 0) & (tb.t_update == t)
                 & (t - tb.born <= _CONTINUE_S))  # fmt: skip
        lost = (tb.status == CONFIRMED) & (tb.consec_miss >= _CONTINUE_MISSES)
        runs = np.flatnonzero(young.any(axis=1) & lost.any(axis=1))
        if runs.size == 0:
            return
        K = tb.K
        yr, yk = np.nonzero(young[runs])
        yr = runs[yr]
        # every (young, other confirmed track of its run) pair
        ok = (tb.status[yr] == CONFIRMED) & (np.arange(K)[None, :] != yk[:, None])
        pi, ok_k = np.nonzero(ok)
        r, a, b = yr[pi], yk[pi], ok_k  # a: young slot, b: other slot
        dt = t - tb.t[r, b]
        p_ex = extrapolate(tb.pv[r, b, :3], tb.pv[r, b, 3:], dt)
        sig_v2 = np.trace(tb.P6[r, b, 3:, 3:], axis1=-2, axis2=-1) / 3.0
        add = cfg.spawn_pos_sigma**2 + sig_v2 * dt**2
        C = tb.P6[r, b, :3, :3] + tb.P6[r, a, :3, :3] + add[:, None, None] * np.eye(3)
        dp = tb.pv[r, a, :3] - p_ex
        d2 = np.einsum("ci,cij,cj->c", dp, np.linalg.inv(C), dp)
        d2 = np.where(np.isfinite(d2), d2, np.inf)
        # the nearest other track of each young track must be a lost, older one
        full = np.full((yr.size, K), np.inf)
        full[pi, ok_k] = d2
        best = np.argmin(full, axis=1)
        d2b = full[np.arange(yr.size), best]
        cand = ((d2b < self.spawn_gate[3]) & lost[yr, best]
                & (tb.born[yr, best] < tb.born[yr, yk]))  # fmt: skip
        if not cand.any():
            return
        yr, yk, ok_b, d2b = yr[cand], yk[cand], best[cand], d2b[cand]
        # one young track per lost track (the nearest)
        order = np.argsort(d2b, kind="stable")
        first = np.sort(np.unique((yr * K + ok_b)[order], return_index=True)[1])
        sel = order[first]
        r, a, b = yr[sel], yk[sel], ok_b[sel]
        tb.move_estimate(r, a, b)
        tb.consec_miss[r, b] = 0
        self._event(r, t, tb.id[r, b], "continuation", tb.id[r, a])
        tb.clear(r, a)

    def _prune_duplicates(self, t: float) -> None:
        """Delete the weaker of two confirmed tracks of one run, both at time t, whose
        position/velocity estimates are closer than d2 = dx' (P_i + P_j)^-1 dx < prune_d2.

        Two filters fed by the same reports have strongly correlated errors, so a duplicate
        sits far inside the (P_i + P_j) ellipsoid; tracks of two resolved objects drift out of
        it (Bar-Shalom, Willett & Tian 2011, track-to-track association, with the cross
        covariance neglected). The track with fewer hits (then the younger) is deleted. Tracks
        younger than ``prune_after_s`` are exempt: a child and its parent right after a
        separation are as close as duplicates, and only time tells them apart.
        """
        tb = self.table
        # a young track is exempt: right after a separation parent and child look alike
        fresh = (tb.status == CONFIRMED) & (tb.t == t) & (t - tb.born >= self.cfg.prune_after_s)
        runs = np.flatnonzero(fresh.sum(axis=1) >= 2)
        if runs.size == 0:
            return
        f = fresh[runs]
        K = f.shape[1]
        i, j = np.triu_indices(K, 1)
        pair = f[:, i] & f[:, j]  # (R, P)
        pr, pp = np.nonzero(pair)
        if pr.size == 0:
            return
        r = runs[pr]
        a, b = i[pp], j[pp]
        dx = tb.pv[r, a] - tb.pv[r, b]
        Pinv = np.linalg.inv(tb.P6[r, a] + tb.P6[r, b])
        d2 = np.einsum("ci,cij,cj->c", dx, Pinv, dx)
        dup = d2 < self.cfg.prune_d2
        if not dup.any():
            return
        r, a, b = r[dup], a[dup], b[dup]
        # keep the track with more hits (then the older, then the lower id)
        ka = (tb.hits[r, a], -tb.born[r, a], -tb.id[r, a])
        kb = (tb.hits[r, b], -tb.born[r, b], -tb.id[r, b])
        a_wins = (ka[0] > kb[0]) | (
            (ka[0] == kb[0]) & ((ka[1] > kb[1]) | ((ka[1] == kb[1]) & (ka[2] > kb[2])))
        )
        lose = np.where(a_wins, b, a)
        key = np.unique(r * tb.K + lose)
        rr, kk = key // tb.K, key % tb.K
        self._event(rr, t, tb.id[rr, kk], "delete")
        tb.clear(rr, kk)

    def _initiate(self, scan: Scan, sen: _Sensor, free: NDArray, t: float) -> None:
        """Step 6: children next to confirmed tracks (``spawn``); two-point tracks from a
        report paired with a seed; the remaining reports become seeds."""
        cfg, tb = self.cfg, self.table
        fr, fm = np.nonzero(free)
        z = scan.z[fr, fm]  # (J, m)
        parent_k = np.full(fr.size, -1)
        if cfg.spawn:
            parent_k = self._spawn_parents(sen, fr, z, t)
        child = parent_k >= 0
        rpos = report_positions(z, sen.site_ecef, sen.rot)
        rcov = converted_covariance(z, sen.R3, sen.rot)
        seed = np.full(fr.size, -1)
        if (~child).any():
            nc = np.flatnonzero(~child)
            seed[nc] = self.seeds.pair(fr[nc], rpos[nc], rcov[nc], t, cfg.v_max,
                                       cfg.seed_life_s)  # fmt: skip
        paired = seed >= 0
        new = child | paired
        # unpaired, non-child reports wait as seeds
        rest = ~new
        self.seeds.add(fr[rest], rpos[rest], rcov[rest], t, cfg.seed_life_s)
        if not new.any():
            return
        fr, z = fr[new], z[new]
        child, parent_k, seed = child[new], parent_k[new], seed[new]
        rpos, rcov = rpos[new], rcov[new]
        slots = tb.allocate(fr)
        ids = tb.next_id[fr] + rank_within(fr, tb.N)
        np.add.at(tb.next_id, fr, 1)
        # two-point priors (already holding the second report) for the paired reports
        sp, sc, st = self.seeds.take(fr, seed)
        dt = np.where(child, 1.0, t - st)
        use_rr = cfg.init_range_rate and z.shape[-1] == 4
        prior = self._prior(
            np.where(child[:, None], rpos, sp),
            np.where(child[:, None, None], rcov, sc),
            rpos,
            rcov,
            dt,
            (z, sen) if use_rr else None,
        )
        belief = prior
        if child.any():
            # children: the parent's prediction with the separation allowance, then the report
            c = np.flatnonzero(child)
            par = self._inflate(tb.take(fr[c], parent_k[c]))
            post, _ = self.est.update(par, z[c], sen.model)
            for leaf, p in zip(tree_leaves(belief), tree_leaves(post), strict=True):
                leaf[c] = p
        self.seeds.remove(fr[~child], seed[~child])
        self._refresh(fr, slots, belief)
        tb.put_history(fr, slots, belief, t)
        tb.t[fr, slots] = t
        tb.t_update[fr, slots] = t
        tb.born[fr, slots] = t
        tb.id[fr, slots] = ids
        n0 = np.where(child, 1, 2)
        tb.hits[fr, slots] = n0
        tb.opps[fr, slots] = n0
        tb.consec_miss[fr, slots] = 0
        tb.rate_h[fr, slots] = n0
        tb.rate_o[fr, slots] = n0
        tb.thrust_last[fr, slots] = -np.inf
        tb.thrust_since[fr, slots] = np.nan
        # a child carries its parent's thrust evidence up to its spawn (classify.py)
        pk0 = np.maximum(parent_k, 0)
        tb.thrust_inherited[fr, slots] = np.where(
            child, np.maximum(tb.thrust_last[fr, pk0], tb.thrust_inherited[fr, pk0]), -np.inf
        )
        tb.cusum[fr, slots] = 0.0
        # a child of a family seen thrusting: which of the two is the stack is decided later
        recent = tb.thrust_inherited[fr, slots] >= t - _HANDOVER_S
        tb.handover_at[fr, slots] = np.where(child & recent, t + _HANDOVER_DELAY, np.nan)
        tb.status[fr, slots] = np.where(n0 >= cfg.confirm_m, CONFIRMED, TENTATIVE)
        pk = np.maximum(parent_k, 0)
        pid = np.where(child, tb.id[fr, pk], -1)
        tb.parent[fr, slots] = pid
        tb.root[fr, slots] = np.where(child, tb.root[fr, pk], ids)
        self._event(fr[~child], t, ids[~child], "birth")
        self._event(fr[child], t, ids[child], "spawn", pid[child])

    def _spawn_parents(self, sen: _Sensor, fr: NDArray, z: NDArray, t: float) -> NDArray:
        """Slot of the confirmed track updated in this scan whose spawn gate holds each
        free report, or -1: d2 = nu' (H (P + A) H' + R)^-1 nu < chi2^-1(spawn_gate_prob)."""
        cfg, tb = self.cfg, self.table
        parent_k = np.full(fr.size, -1)
        # a separation shows as two reports where one track was: only a confirmed track that
        # took another report of this very scan can be a parent (a report that merely fell
        # outside its track's gate is not evidence of a new object)
        fresh = (tb.status[fr] == CONFIRMED) & (tb.t_update[fr] == t)  # (J, K)
        if not fresh.any():
            return parent_k
        jr, jk = np.nonzero(fresh)
        r = fr[jr]
        zhat, H = sen.model.measure_with_jacobian(tb.pv[r, jk])
        add = np.diag(np.r_[np.full(3, cfg.spawn_pos_sigma**2),
                            np.full(3, cfg.spawn_vel_sigma**2)])  # fmt: skip
        S = symmetrize(matmul(matmul(H, tb.P6[r, jk] + add), H.swapaxes(-1, -2))
                       + sen.model.noise_cov())  # fmt: skip
        Sinv, _ = inv_spd(S)
        nu = residual(z[jr], zhat, sen.model.angle_indices)
        d2 = np.einsum("ci,cij,cj->c", nu, Sinv, nu)
        d2full = np.full(fresh.shape, np.inf)
        d2full[jr, jk] = d2
        best = np.argmin(d2full, axis=1)
        ok = d2full[np.arange(fr.size), best] < self.spawn_gate[z.shape[-1]]
        return np.where(ok, best, -1)

    # ------------------------------------------------------------------ snapshots
    def tick(self, t: float) -> None:
        """Record the classifier's decisive decisions once per ``_LABEL_TICK`` of scan time."""
        if t >= self._next_label:
            hold_decisions(self.table, self.cfg.classify)
            self._next_label = (np.floor(t / _LABEL_TICK) + 1.0) * _LABEL_TICK

    def snapshot(self, epoch: float) -> dict[str, NDArray]:
        """Live tracks at ``epoch`` with labels, as TrackLog columns."""
        tb = self.table
        label, conf = label_tracks(tb, self.cfg.classify)
        r, k = np.nonzero(tb.status != FREE)
        return {
            "run": r.astype(np.int32),
            "epoch": np.full(r.size, epoch),
            "track": tb.id[r, k],
            "parent": tb.parent[r, k],
            "t": tb.t[r, k],
            "x": tb.pv[r, k],
            "P": tb.P6[r, k],
            "status": tb.status[r, k].astype(np.int8),
            "label": label[r, k],
            "label_conf": conf[r, k],
            "born": tb.born[r, k],
            "hits": tb.hits[r, k],
        }


def track(
    scans: ScanSequence,
    radars: Sequence[RadarSite],
    config: TrackerConfig,
    *,
    epochs: NDArray | float = 1.0,
    chunk: int = 500,
    progress: bool = False,
) -> TrackerResult:
    """Track every run of ``scans`` with ``config``.

    Parameters
    ----------
    scans : ScanSequence
        The radar network's reports cut into scans.
    radars : sequence of sensors.Radar
        Sites of ``scans.sensors`` (extra radars are ignored).
    config : TrackerConfig
    epochs : (E,) array or float
        Snapshot times [s], or a spacing [s] for a regular grid over the scans' span.
    chunk : int
        Runs per chunk (memory; results do not depend on it).
    progress : bool
        Show a tqdm progress bar over scans x chunks.

    Returns
    -------
    TrackerResult
    """
    if not isinstance(scans, ScanSequence):
        raise TypeError(f"scans must be a ScanSequence, got {type(scans).__name__}")
    if not isinstance(config, TrackerConfig):
        raise TypeError(f"config must be a TrackerConfig, got {type(config).__name__}")
    if not (isinstance(chunk, int) and chunk >= 1):
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    by_id = {r.id: r for r in radars}
    missing = [s for s in scans.sensors if s not in by_id]
    if missing:
        raise ValueError(f"radars do not include the scans' sensor(s) {missing}")
    sensors = [_Sensor.of(by_id[s]) for s in scans.sensors]
    times = scans.times
    if np.ndim(epochs) == 0:
        step = float(epochs)
        if not (np.isfinite(step) and step > 0):
            raise ValueError(f"epochs spacing must be a finite number > 0 s, got {epochs!r}")
        t0, t1 = (times[0], times[-1]) if len(times) else (0.0, 0.0)
        epochs = np.arange(np.ceil(t0 / step) * step, t1 + step, step)
    epochs = np.asarray(epochs, float)
    if epochs.ndim != 1 or np.any(np.diff(epochs) <= 0) or not np.all(np.isfinite(epochs)):
        raise ValueError("epochs must be a strictly increasing 1-D array of finite times [s]")
    N = scans.runs
    bar = None
    if progress:
        try:
            from tqdm import tqdm
        except ImportError:  # tqdm comes with the [distributed] and [dev] extras
            tqdm = None
    if progress and tqdm is not None:
        bar = tqdm(total=(len(scans) + scans.late_scans) * ((N + chunk - 1) // chunk),
                   unit="scan", mininterval=1.0)  # fmt: skip
    start = time.perf_counter()
    rows: list[dict[str, NDArray]] = []
    events: list[tuple[NDArray, ...]] = []
    reports = late_reports = late_used = 0
    for lo in range(0, N, chunk):
        hi = min(N, lo + chunk)
        trk = _Tracker(config, sensors, hi - lo, retrodict=scans.delivery == "retrodict")
        e = 0
        for scan in scans.iter_runs(lo, hi):
            if scan.late:  # out-of-sequence reports, retrodicted into the tracks
                reports += int(scan.valid.sum())
                trk.late_step(scan)
                if bar is not None:
                    bar.update(1)
                continue
            while e < epochs.size and epochs[e] < scan.t:
                snap = trk.snapshot(float(epochs[e]))
                snap["run"] = snap["run"] + lo
                rows.append(snap)
                e += 1
            reports += int(scan.valid.sum())
            trk.tick(scan.t)
            trk.step(scan)
            if bar is not None:
                bar.update(1)
        while e < epochs.size:
            snap = trk.snapshot(float(epochs[e]))
            snap["run"] = snap["run"] + lo
            rows.append(snap)
            e += 1
        for ev in trk.events:
            events.append((ev[0] + lo, *ev[1:]))
        late_reports += trk.late_reports
        late_used += trk.late_used
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    cols = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]} if rows else None
    if cols is None:
        cols = {"run": np.zeros(0, np.int32), "epoch": np.zeros(0), "track": np.zeros(0, np.int64),
                "parent": np.zeros(0, np.int64), "t": np.zeros(0), "x": np.zeros((0, 6)),
                "P": np.zeros((0, 6, 6)), "status": np.zeros(0, np.int8),
                "label": np.zeros(0, np.int8), "label_conf": np.zeros(0),
                "born": np.zeros(0), "hits": np.zeros(0, np.int32)}  # fmt: skip
    # canonical row order (run, epoch, track): independent of the chunking
    order = np.lexsort((cols["track"], cols["epoch"], cols["run"]))
    cols = {k: v[order] for k, v in cols.items()}
    hits = cols.pop("hits")
    log = TrackLog(**cols, runs=N, epochs=epochs)
    if events:
        ev = TrackerEvents(*(np.concatenate([e[i] for e in events]) for i in range(5)))
        order = np.lexsort((ev.t, ev.run))
        ev = TrackerEvents(*(a[order] for a in ev))
    else:
        ev = TrackerEvents(np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int64),
                           np.zeros(0, np.int8), np.zeros(0, np.int64))  # fmt: skip
    return TrackerResult(log=log, hits=hits, events=ev, config=config, reports=reports,
                         seconds=seconds, late_reports=late_reports,
                         late_used=late_used)  # fmt: skip
