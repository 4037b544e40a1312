"""Stone Soup ``MultiTargetTracker`` on our radar detections: the multi-object baseline.

One Monte Carlo run of a :class:`trackers.sensors.Detections` table is fed to Stone Soup
scan by scan, in measurement-time order; a *scan* is one radar's reports at one ``t_meas``
(a set of Stone Soup ``Detection`` objects carrying that radar's measurement model). The
components, all Stone Soup's own except the two models wrapped by
:mod:`trackers.baselines.stonesoup_adapters`:

    predictor     ExtendedKalmanPredictor over MotionAsTransitionModel(Ballistic())
                  (J2 gravity, Coriolis/centrifugal, white-acceleration Q with PSD q)
    updater       ExtendedKalmanUpdater (Joseph form); measurement model from the detection:
                  CartesianToElevationBearingRange (range, az, el), or with
                  ``use_range_rate`` CartesianToElevationBearingRangeRate for the radars
                  that also report range-rate (off by default, see the config)
    hypothesiser  DistanceHypothesiser with the Mahalanobis distance
                      d = sqrt(nu' S^-1 nu),   S = H P H' + R
                  and the chi-square gate d < gamma_m = sqrt(chi2_m^-1(P_G)), P_G = 0.999,
                  m = 3 or 4 the scan's measurement dimension (missed distance = gamma_m)
    associator    GNNWith2DAssignment (global nearest neighbour: the one-to-one assignment
                  of least total distance, a missed detection costing gamma_m)
    initiator     MultiMeasurementInitiator: every unassociated report opens a *holding*
                  (tentative) track, confirmed after ``min_points`` = 3 updates (the first
                  report included) before ``init_window`` = 15 s pass without an update —
                  a time form of an M-of-N rule with M = 3 whose N is set by the window
                  (at a 5 s revisit a holding track survives three missed scans in a row,
                  a fourth ends it); holding tracks start from
                  SimpleMeasurementInitiator: the report's position (the model's inverse,
                  covariance J+ R J+'), zero velocity with 1-sigma ``velocity_sigma`` per
                  axis (the radial velocity from the range-rate when measured)
    deleter       UpdateTimeDeleter: a confirmed track with no update during the last
                  ``delete_after`` = 30 s is deleted (time based, so independent of how many
                  radars report: UpdateTimeStepsDeleter would count every radar's scans)

Stone Soup's MultiTargetTracker predicts *every* track to *every* scan (missed tracks get a
prediction appended), so a track's history has one state per scan of any radar.

Time: Stone Soup needs ``datetime``s; t seconds maps to ``config.epoch + t`` (naive UTC, 1 us
resolution) at the edge, and back to float seconds on output. The default epoch is the
hokkaido-2023 scenario epoch, 2023-04-12T22:22:00 UTC (07:22 on 13 April local time).

Output (:class:`StoneSoupResult`): every state of every *confirmed* track (its tentative
history included), as arrays; :func:`to_track_log` turns them into snapshots at given epochs
in the long format of ``trackers.metrics.tracking.TrackLog``. Holding tracks that never
confirm are not reported.

References
----------
P. A. Thomas, J. Barr, B. Balaji, K. White, "An open source framework for tracking and state
estimation ('Stone Soup')", Proc. SPIE 10200, 2017.
S. Blackman, R. Popoli, *Design and Analysis of Modern Tracking Systems*, Artech House, 1999
(chi-square gating, global nearest neighbour assignment, M-of-N track confirmation).
Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, Wiley 2001, §10.3 (EKF).
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.baselines.stonesoup_adapters import (
    MotionAsTransitionModel,
    radar_model,
    to_stonesoup_z,
)
from trackers.models.base import MotionModel
from trackers.sensors.detections import Detections

__all__ = [
    "SCENARIO_EPOCH",
    "StoneSoupMTTConfig",
    "StoneSoupResult",
    "build_tracker",
    "measurement_models",
    "run_stonesoup_mtt",
    "to_track_log",
]

#: hokkaido-2023 scenario epoch (t = 0), naive UTC.
SCENARIO_EPOCH = _dt.datetime(2023, 4, 12, 22, 22, 0)


@dataclass(frozen=True)
class StoneSoupMTTConfig:
    """Settings of the Stone Soup multi-target tracker (module docstring).

    Attributes
    ----------
    motion : MotionModel or None
        6-state ECEF motion model for the EKF predictor; None: ``Ballistic(q=q)``.
    q : float
        Acceleration white-noise PSD [m^2/s^3] of the default Ballistic model.
    gate_probability : float
        Gate probability P_G of the chi-square Mahalanobis gate, in (0, 1).
    min_points : int
        Updates (first report included) that confirm a holding track (the M of M-of-N).
    init_window : float
        A holding track with no update for this long is dropped [s] (the N of M-of-N).
    delete_after : float
        A confirmed track with no update for this long is deleted [s].
    velocity_sigma : float
        1-sigma of the zero-mean velocity prior per ECEF axis of a new track [m/s].
    use_range_rate : bool
        Use the range-rate of the radars that report it (4-D measurement model). Off by
        default: the EKF update of a one-report holding track (zero-mean velocity prior) with
        a range-rate linearised at zero tangential velocity leaves velocity errors of ~2
        sigma, the next reports fall outside the gate and confirmation is delayed by minutes
        (two-object synthetic case: confirmed after 150 s instead of 4-12 s).
    analytic_jacobian : bool
        (range, az, el) model with our analytic Jacobian (True) or Stone Soup's forward
        differences (False); the range-rate model always uses Stone Soup's analytic one.
    epoch : datetime.datetime
        Stone Soup timestamp of t = 0 (naive UTC).
    """

    motion: MotionModel | None = None
    q: float = field(default=10.0, metadata={"units": "m^2/s^3"})
    gate_probability: float = 0.999
    min_points: int = 3
    init_window: float = field(default=15.0, metadata={"units": "s"})
    delete_after: float = field(default=30.0, metadata={"units": "s"})
    velocity_sigma: float = field(default=3000.0, metadata={"units": "m/s"})
    use_range_rate: bool = False
    analytic_jacobian: bool = True
    epoch: _dt.datetime = SCENARIO_EPOCH

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(
                f"StoneSoupMTTConfig.{name} = {getattr(self, name)!r}, expected {expected}"
            )

        if self.motion is not None:
            if not isinstance(self.motion, MotionModel):
                raise TypeError(
                    f"StoneSoupMTTConfig.motion must be a MotionModel or None, got "
                    f"{type(self.motion).__name__}"
                )
            if self.motion.ndim != 6:
                raise bad("motion", "a 6-state [r, v] ECEF model")
        for name in ("q", "init_window", "delete_after", "velocity_sigma"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise bad(name, "a finite number")
            if v < 0 or (v == 0 and name != "q"):
                raise bad(name, ">= 0" if name == "q" else "> 0")
        if not (isinstance(self.gate_probability, float) and 0.0 < self.gate_probability < 1.0):
            raise bad("gate_probability", "a float in (0, 1)")
        if isinstance(self.min_points, bool) or not isinstance(self.min_points, int):
            raise bad("min_points", "an int >= 1")
        if self.min_points < 1:
            raise bad("min_points", "an int >= 1")
        if not isinstance(self.epoch, _dt.datetime) or self.epoch.tzinfo is not None:
            raise bad("epoch", "a naive (UTC) datetime.datetime")

    def motion_model(self) -> MotionModel:
        """The EKF's motion model: ``motion`` or ``Ballistic(q=q)``."""
        if self.motion is not None:
            return self.motion
        from trackers.models import Ballistic

        return Ballistic(q=float(self.q))


class StoneSoupResult(NamedTuple):
    """Confirmed tracks of one run, one row per track state, sorted by (track, t).

    Attributes
    ----------
    run : int
        Monte Carlo run index.
    track : (R,) int64
        Track number in ``[0, K)``, in order of confirmation.
    t : (R,) float
        State time [s since the epoch].
    x : (R, 6) float
        ECEF state [x, y, z, vx, vy, vz] [m, m/s].
    P_diag : (R, 6) float
        Diagonal of the state covariance [m^2, m^2/s^2].
    P : (R, 6, 6) float
        State covariance.
    report : (R,) int64
        Row of the input Detections used by the update; -1 for a prediction (no report).
    t_born : (K,) float
        Time of each track's first report [s].
    t_confirmed : (K,) float
        Time each track was confirmed (its ``min_points``-th update) [s].
    t_deleted : (K,) float
        Time each track was deleted [s]; NaN if it was still alive at the last scan.
    t_end : float
        Time of the last scan processed [s] (NaN if none).
    n_reports : int
        Reports fed to the tracker.
    n_scans : int
        Scans fed to the tracker.
    wall_time_s : float
        Wall-clock time of the whole run (building the Stone Soup objects included) [s].
    cpu_time_s : float
        CPU time of this process over the same span [s] (< wall time on a busy machine).
    config : StoneSoupMTTConfig
        Settings used.
    """

    run: int
    track: NDArray[np.int64]
    t: NDArray[np.float64]
    x: NDArray[np.float64]
    P_diag: NDArray[np.float64]
    P: NDArray[np.float64]
    report: NDArray[np.int64]
    t_born: NDArray[np.float64]
    t_confirmed: NDArray[np.float64]
    t_deleted: NDArray[np.float64]
    t_end: float
    n_reports: int
    n_scans: int
    wall_time_s: float
    cpu_time_s: float
    config: StoneSoupMTTConfig

    @property
    def n_tracks(self) -> int:
        """Number of confirmed tracks K."""
        return int(self.t_born.shape[0])

    @property
    def reports_per_second(self) -> float:
        """Throughput: reports processed per wall-clock second."""
        return self.n_reports / self.wall_time_s if self.wall_time_s > 0 else math.inf


# ---------------------------------------------------------------------------- Stone Soup parts
def measurement_models(radars: Sequence, config: StoneSoupMTTConfig = StoneSoupMTTConfig()):
    """Stone Soup measurement model of each radar (``trackers.sensors.Radar``), same order.

    The (range, az, el) model comes from :func:`stonesoup_adapters.radar_model` applied to
    ``radar.measurement_model()``; a radar reporting range-rate (and ``use_range_rate``) gets
    ``CartesianToElevationBearingRangeRate`` with the same site offset and NWU rotation,
    measuring (el, bearing, range, range-rate) with range-rate = (r - s) . v / |r - s|
    (site at rest in ECEF: ``velocity`` = 0), noise diag(sigma_el^2, sigma_az^2,
    sigma_range^2, sigma_rr^2).
    """
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRangeRate
    from stonesoup.types.array import CovarianceMatrix

    out = []
    for radar in radars:
        ours = radar.measurement_model()
        three = replace(ours, sigma_range_rate=None) if ours.ndim_meas == 4 else ours
        m3 = radar_model(three, 6, analytic_jacobian=config.analytic_jacobian)
        if ours.ndim_meas == 3 or not config.use_range_rate:
            out.append(m3)
            continue
        noise = np.diag(
            [
                ours.sigma_elevation**2,  # elevation
                ours.sigma_azimuth**2,  # bearing = -azimuth
                ours.sigma_range**2,  # range
                ours.sigma_range_rate**2,  # range-rate
            ]
        )
        out.append(
            CartesianToElevationBearingRangeRate(
                ndim_state=6,
                mapping=(0, 1, 2),
                velocity_mapping=(3, 4, 5),
                noise_covar=CovarianceMatrix(noise),
                translation_offset=m3.translation_offset,
                rotation_offset=m3.rotation_offset,
            )
        )
    return out


@functools.cache
def _gated_hypothesiser_class():
    from stonesoup.base import Property
    from stonesoup.hypothesiser.distance import DistanceHypothesiser

    class ChiSquareGatedHypothesiser(DistanceHypothesiser):
        """DistanceHypothesiser whose missed distance is the chi-square gate of the scan's
        measurement dimension m: gamma_m = sqrt(chi2_m^-1(P_G)) (module docstring)."""

        gates: dict = Property(doc="gate gamma_m [-] per measurement dimension m")

        def hypothesise(self, track, detections, timestamp, **kwargs):
            dims = {d.measurement_model.ndim_meas for d in detections}
            if len(dims) > 1:
                raise ValueError(f"one scan mixes measurement dimensions {sorted(dims)}")
            if dims:
                self.missed_distance = self.gates[dims.pop()]  # gamma_m of this scan
            return super().hypothesise(track, detections, timestamp, **kwargs)

    return ChiSquareGatedHypothesiser


def build_tracker(scans, config: StoneSoupMTTConfig = StoneSoupMTTConfig()):
    """Stone Soup ``MultiTargetTracker`` over ``scans`` (iterable of (datetime, set of
    Detection)) with the components of the module docstring."""
    from scipy.stats import chi2
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.initiator.simple import MultiMeasurementInitiator, SimpleMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    predictor = ExtendedKalmanPredictor(MotionAsTransitionModel(config.motion_model()))
    updater = ExtendedKalmanUpdater(measurement_model=None, use_joseph_cov=True)
    # gamma_m = sqrt(chi2_m^-1(P_G)) for the Mahalanobis distance (not its square)
    gates = {m: float(np.sqrt(chi2.ppf(config.gate_probability, m))) for m in (3, 4)}
    hypothesiser = _gated_hypothesiser_class()(
        predictor, updater, Mahalanobis(), missed_distance=gates[3], gates=gates
    )
    associator = GNNWith2DAssignment(hypothesiser)
    # new-track prior: position from the report (zeroed here), velocity N(0, sigma_v^2 I)
    prior = GaussianState(
        np.zeros((6, 1)), np.diag([0.0] * 3 + [config.velocity_sigma**2] * 3), config.epoch
    )
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        deleter=UpdateTimeDeleter(_dt.timedelta(seconds=config.init_window)),
        data_associator=associator,
        updater=updater,
        min_points=config.min_points,
        initiator=SimpleMeasurementInitiator(prior),
    )
    deleter = UpdateTimeDeleter(_dt.timedelta(seconds=config.delete_after))
    return MultiTargetTracker(
        initiator=initiator,
        deleter=deleter,
        detector=scans,
        data_associator=associator,
        updater=updater,
    )


# ---------------------------------------------------------------------------- input edge
def _check_inputs(det: Detections, radars: Sequence, run: int) -> list[int]:
    """Validate; return for each ``det.sensors`` entry the index of its radar."""
    if not isinstance(det, Detections):
        raise TypeError(f"det must be trackers.sensors.Detections, got {type(det).__name__}")
    if isinstance(run, bool) or not isinstance(run, int | np.integer):
        raise TypeError(f"run must be an int, got {run!r}")
    if not 0 <= run < det.runs:
        raise ValueError(f"run = {run} outside [0, det.runs = {det.runs})")
    ids = [getattr(r, "id", None) for r in radars]
    index = []
    for s, sid in enumerate(det.sensors):
        if sid not in ids:
            raise ValueError(f"radars: no radar with id {sid!r} (det.sensors[{s}]); have {ids}")
        r = radars[ids.index(sid)]
        if not np.allclose(r.sigmas4, det.sensor_sigmas[s], rtol=1e-12, equal_nan=True):
            raise ValueError(
                f"radars: {sid!r} sigmas {r.sigmas4} differ from det.sensor_sigmas[{s}] = "
                f"{det.sensor_sigmas[s]}"
            )
        index.append(ids.index(sid))
    return index


def _scans(det, rows, models, sensor_to_radar, epoch, use_rr):
    """Yield (datetime, set of Detection) per (t_meas, sensor) group of ``rows``, in time order.

    Each Detection's metadata holds its ``row`` in ``det``.
    """
    from stonesoup.types.angle import Bearing, Elevation
    from stonesoup.types.array import StateVector
    from stonesoup.types.detection import Detection

    t, s = det.t_meas[rows], det.sensor_index[rows]
    order = np.lexsort((rows, s, t))  # by time, then sensor, then row (stable)
    rows, t, s = rows[order], t[order], s[order]
    starts = np.flatnonzero(np.r_[True, (np.diff(t) != 0) | (np.diff(s) != 0)])
    ends = np.r_[starts[1:], rows.size]
    z_ss = to_stonesoup_z(det.z[rows, :3])  # (el, bearing, range) per row
    rr = det.z[rows, 3]
    for a, b in zip(starts, ends, strict=True):
        model = models[sensor_to_radar[int(s[a])]]
        ts = epoch + _dt.timedelta(seconds=float(t[a]))
        four = use_rr and model.ndim_meas == 4
        scan = set()
        for k in range(a, b):
            vec = [Elevation(z_ss[k, 0]), Bearing(z_ss[k, 1]), float(z_ss[k, 2])]
            if four:
                vec.append(float(rr[k]))  # range-rate [m/s]
            meta = {"row": int(rows[k])}  # row of det, read only when scoring
            scan.add(Detection(StateVector(vec), ts, measurement_model=model, metadata=meta))
        yield ts, scan


# ---------------------------------------------------------------------------- the run
def run_stonesoup_mtt(
    det: Detections,
    radars: Sequence,
    run: int,
    *,
    config: StoneSoupMTTConfig = StoneSoupMTTConfig(),
    t_window: tuple[float, float] | None = None,
) -> StoneSoupResult:
    """Run Stone Soup's MultiTargetTracker on one run's reports (module docstring).

    Parameters
    ----------
    det : Detections
        Reports of one or more runs (``origin_index`` is never read).
    radars : sequence of trackers.sensors.Radar
        The sites; every id in ``det.sensors`` must be among them, with the same sigmas.
    run : int
        Monte Carlo run to track, in ``[0, det.runs)``.
    config : StoneSoupMTTConfig
        Tracker settings.
    t_window : (t0, t1) or None
        Only reports with ``t0 <= t_meas < t1`` [s] (None: all).

    Returns
    -------
    StoneSoupResult
        Confirmed tracks as arrays, wall-clock time, reports and scans processed.
    """
    sensor_to_radar = _check_inputs(det, radars, run)
    if not isinstance(config, StoneSoupMTTConfig):
        raise TypeError(f"config must be a StoneSoupMTTConfig, got {type(config).__name__}")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    a, b = np.searchsorted(det.run, [run, run + 1])
    rows = np.arange(a, b)
    if t_window is not None:
        t0, t1 = (float(v) for v in t_window)
        if not t0 < t1:
            raise ValueError(f"t_window = {t_window!r}: expected t0 < t1")
        rows = rows[(det.t_meas[rows] >= t0) & (det.t_meas[rows] < t1)]
    models = measurement_models(radars, config)
    epoch = config.epoch
    scans = _scans(det, rows, models, sensor_to_radar, epoch, config.use_range_rate)
    tracker = build_tracker(scans, config)

    confirmed: dict = {}  # Track.id -> Track, every track ever confirmed
    n_scans, last = 0, None
    for ts, tracks in tracker:
        n_scans, last = n_scans + 1, ts
        for tr in tracks:
            confirmed.setdefault(tr.id, tr)
    alive = {tr.id for tr in tracker.tracks}

    def sec(ts: _dt.datetime) -> float:
        return (ts - epoch).total_seconds()

    from stonesoup.types.update import Update

    tracks = list(confirmed.values())
    born, conf, dele, hist = [], [], [], []
    for tr in tracks:
        states = list(tr.states)
        n_upd = np.cumsum([isinstance(st, Update) for st in states])
        k_conf = int(np.searchsorted(n_upd, config.min_points))  # min_points-th update
        born.append(sec(states[0].timestamp))
        conf.append(sec(states[min(k_conf, len(states) - 1)].timestamp))
        dele.append(math.nan if tr.id in alive else sec(states[-1].timestamp))
        hist.append(states)
    # track numbers in order of confirmation (then birth, then first position: deterministic)
    key = [(conf[i], born[i], float(hist[i][0].state_vector[0, 0])) for i in range(len(tracks))]
    order = sorted(range(len(tracks)), key=key.__getitem__)
    cols: dict[str, list] = {"track": [], "t": [], "x": [], "P": [], "report": []}
    for k, i in enumerate(order):
        for st in hist[i]:
            hyp = getattr(st, "hypothesis", None)
            meas = getattr(hyp, "measurement", None) if isinstance(st, Update) else None
            cols["track"].append(k)
            cols["t"].append(sec(st.timestamp))
            cols["x"].append(np.asarray(st.state_vector, float).ravel())
            cols["P"].append(np.asarray(st.covar, float))
            cols["report"].append(meas.metadata.get("row", -1) if meas is not None else -1)
    P = np.array(cols["P"], float).reshape(-1, 6, 6)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return StoneSoupResult(
        run=int(run),
        track=np.array(cols["track"], np.int64),
        t=np.array(cols["t"], float),
        x=np.array(cols["x"], float).reshape(-1, 6),
        P_diag=np.diagonal(P, axis1=1, axis2=2).copy(),
        P=P,
        report=np.array(cols["report"], np.int64),
        t_born=np.array([born[i] for i in order], float),
        t_confirmed=np.array([conf[i] for i in order], float),
        t_deleted=np.array([dele[i] for i in order], float),
        t_end=sec(last) if last is not None else math.nan,
        n_reports=int(rows.size),
        n_scans=n_scans,
        wall_time_s=wall,
        cpu_time_s=cpu,
        config=config,
    )


# ---------------------------------------------------------------------------- snapshots
TRACK_LOG_FIELDS = ("run", "epoch", "track", "parent", "t", "x", "P", "status", "label",
                    "label_conf", "born", "runs", "epochs")  # fmt: skip


def _latest_rows(track: NDArray, t: NDArray, qk: NDArray, qt: NDArray) -> NDArray:
    """Index of the latest row with ``track == qk`` and ``t <= qt`` per query, -1 if none.

    Rows and queries are merged in one lexicographic sort by (track, t, row-before-query);
    a running maximum of row indices then gives each query its predecessor row.
    """
    n = track.size
    kind = np.r_[np.zeros(n, np.int8), np.ones(qk.size, np.int8)]
    order = np.lexsort((kind, np.r_[t, qt], np.r_[track, qk]))
    prev = np.maximum.accumulate(np.where(order < n, order, -1))  # latest row so far
    out = np.empty(qk.size, np.int64)
    is_q = order >= n
    out[order[is_q] - n] = prev[is_q]
    ok = out >= 0
    ok[ok] = track[out[ok]] == qk[ok]  # the predecessor must belong to the same track
    return np.where(ok, out, -1)


def to_track_log(
    result: StoneSoupResult | Sequence[StoneSoupResult],
    epochs: ArrayLike,
    *,
    predict: bool = False,
):
    """Snapshots of the confirmed tracks at ``epochs``, long format (one row per live track).

    A track is live at epoch e if ``t_born <= e`` and e is before its deletion (never deleted:
    ``e <= t_end + delete_after``). Its snapshot is its latest state with t <= e (an update or
    a prediction to a scan time: Stone Soup predicts every track to every scan), as is; with
    ``predict`` it is predicted to e by the EKF prediction of the run's motion model,
    x(e) = f(x, e - t), P(e) = F P F' + Q(e - t) (Bar-Shalom et al. 2001, §10.3), for all rows
    in one batched call, and t = e. Status is 2 (confirmed) once e >= ``t_confirmed``, else 1
    (tentative); labels are 0 (unknown) with confidence 0; Stone Soup tracks have no parent
    (-1). Track ids are the result's track numbers (unique within a run).

    Parameters
    ----------
    result : StoneSoupResult or a sequence of them (several runs, distinct ``run``)
    epochs : (E,) float
        Snapshot times [s since the epoch], strictly increasing.
    predict : bool
        Predict each snapshot to its epoch.

    Returns
    -------
    ``trackers.metrics.tracking.TrackLog`` (checked), or if that cannot be imported a dict
    with its fields: run, track, parent (R,) int64; epoch, t (R,) float [s]; x (R, 6);
    P (R, 6, 6); status, label (R,) int8; label_conf, born (R,) float; runs int (largest run
    + 1); epochs (E,) float. Rows sorted by (run, epoch, track).
    """
    from trackers.filters.gaussian import linear_predict

    results = [result] if isinstance(result, StoneSoupResult) else list(result)
    if not results or not all(isinstance(r, StoneSoupResult) for r in results):
        raise TypeError("result must be a StoneSoupResult or a non-empty sequence of them")
    runs = [r.run for r in results]
    if len(set(runs)) != len(runs):
        raise ValueError(f"result: runs {runs} repeat; give each run once")
    ep = np.asarray(epochs, float)
    if ep.ndim != 1 or ep.size == 0 or not np.all(np.isfinite(ep)) or np.any(np.diff(ep) <= 0):
        raise ValueError(f"epochs must be a 1-D finite strictly increasing array, got {ep!r}")
    parts: dict[str, list] = {f: [] for f in TRACK_LOG_FIELDS[:-2]}
    kk: NDArray  # (pairs,) after the ravel below
    for res in results:
        kk, ee = np.meshgrid(np.arange(res.n_tracks), np.arange(ep.size), indexing="ij")
        kk, e = kk.ravel(), ep[ee.ravel()]  # candidate (track, epoch) pairs
        gone = res.t_deleted[kk]
        alive_end = np.where(np.isnan(gone), e <= res.t_end + res.config.delete_after, e < gone)
        live = (res.t_born[kk] <= e) & alive_end
        kk, e = kk[live], e[live]
        row = _latest_rows(res.track, res.t, kk, e)  # >= 0 since t_born <= e
        x, P, t = res.x[row], res.P[row], res.t[row]
        if predict and row.size:
            motion = res.config.motion_model()
            dt = e - t
            mean, F = motion.propagate_with_jacobian(x, dt)
            g = linear_predict(mean, P, F, motion.process_noise(x, dt))
            x, P, t = g.mean, g.cov, e
        n = row.size
        parts["run"].append(np.full(n, res.run, np.int64))
        parts["epoch"].append(e)
        parts["track"].append(kk.astype(np.int64))
        parts["parent"].append(np.full(n, -1, np.int64))
        parts["t"].append(np.asarray(t, float))
        parts["x"].append(np.asarray(x, float).reshape(n, 6))
        parts["P"].append(np.asarray(P, float).reshape(n, 6, 6))
        parts["status"].append(np.where(e >= res.t_confirmed[kk], 2, 1).astype(np.int8))
        parts["label"].append(np.zeros(n, np.int8))
        parts["label_conf"].append(np.zeros(n, float))
        parts["born"].append(res.t_born[kk])
    cols: dict[str, Any] = {f: np.concatenate(v) for f, v in parts.items()}
    order = np.lexsort((cols["track"], cols["epoch"], cols["run"]))  # by run, epoch, track
    cols = {f: v[order] for f, v in cols.items()}
    cols["runs"] = max(runs) + 1
    cols["epochs"] = ep
    try:
        from trackers.metrics.tracking import TrackLog
    except ImportError:  # the scoring module is not there: plain columns
        return cols
    return TrackLog(**cols).checked()
