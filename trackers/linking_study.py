"""The Korea-Japan radar-linking study: what linking Korean radars to Japan's command centre
changes, and what the latency of the link costs.

Networks (``trackers/sensors/presets/networks.toml``): ``japan-only`` and ``korea-only`` (each
nation's own picture, consumed at its own centre) and ``linked-via-hub`` (Korean reports reach
the Japanese centre through the US hub), the latter with the Korea -> hub -> Japan latency L
set to each value of ``latencies_s`` (:func:`trackers.sensors.links.with_path_latency`: a
deterministic chain latency L on top of the radar -> Korean centre leg, 0.5 s + U(0, 0.5 s)).
For every network, scenario (``hokkaido-2023``; ``hokkaido-2023-onland`` for the alert time)
and system of :mod:`trackers.alert_study` (naive, separation-aware) the chain
flight -> reports -> tracks -> impact predictions -> alerts is run over Monte Carlo draws of
the radar noise, and four things are measured per run at the consuming node:

- the time of the first confirmed track on a true object (a confirmed track within
  ``true_track_m`` of an object at some snapshot; the confirmation event's time);
- the time of the first impact prediction of a confirmed track within ``accurate_m`` of the
  reentry vehicle's true impact point (great-circle distance on the mean sphere, within
  0.5 % of the WGS-84 geodesic at 50 km);
- on the onland counterfactual, the time the alert for Hokkaido is issued, and whether it is
  missed (never issued, or issued after the true impact);
- on hokkaido-2023 (the rv falls in the sea), whether a (false) alert is issued, as a rate
  with its Wilson 95 % interval (:func:`trackers.metrics.alerts.wilson_interval`).

Consumer time (exact reprocessing)
----------------------------------
The tracker processes reports in measurement-time order (``ScanSequence`` delivery
``"ideal"``), which is what a consumer that reprocesses every late report exactly (perfect
retrodiction, Bar-Shalom 2002) ends up with. Its tracks do not depend on the link latencies;
only *when* each result is known at the consumer does. A decision taken at measurement time t
in run r (a confirmation, a prediction, an alert) uses every report measured up to t, so it
is known once the last of them has arrived:

    tau_r(t) = max(t, max{ a_i : report i of run r with t_meas_i <= t })

with a_i the arrival time of report i at the consumer: a running maximum over the reports of
each run ordered by measurement time (:func:`consumer_times`, one sort and one
``np.maximum.accumulate`` for all runs). ``observe`` draws the link latencies after every
other random number of a radar, and :func:`~trackers.sensors.links.with_path_latency` keeps
the number and kind of those draws, so changing L leaves every measurement bit-identical and
only moves the Korean reports' arrival times (checked by :func:`same_reports` at every
latency). Each (network, scenario, system) is therefore tracked once and every latency's
consumer times follow from its arrival times. tau is an upper bound for the time at which a
real-time consumer could have taken *this* decision; one that acts on partial data may take
it (or another one) earlier. Empty scans send no report here, so a consumer that does not
wait for them is assumed.

The real-time alternative: a fixed-lag buffer
---------------------------------------------
A consumer that cannot reprocess holds reports in a reorder buffer of lag lambda = L +
``buffer_margin_s`` and releases them in measurement order at t_meas + lambda; a report later
than that is dropped (``ScanSequence`` delivery ``"buffer"``, Bar-Shalom, Chen & Mallick 2004
discuss the alternatives). Then tau(t) = t + lambda, and the tracks themselves change with L
(late Japanese reports: the TPY-2s via the hub, the ship, are lost when lambda is short), so
this variant is tracked once per latency, on the reports measured before ``buffer_t_end_s``
(the first track, the first accurate prediction and the onland alert come before ~250 s).

References
----------
Y. Bar-Shalom, "Update with out-of-sequence measurements in tracking: exact solution",
IEEE Trans. Aerospace and Electronic Systems 38(3), 769-778, 2002.
Y. Bar-Shalom, H. Chen, M. Mallick, "One-step solution for the multistep out-of-sequence
measurement problem in tracking", IEEE Trans. Aerospace and Electronic Systems 40(1), 27-37,
2004.
E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
J. Amer. Statist. Assoc. 22, 209-212, 1927.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.alert_study import DEMO_SCENARIOS, REGION, SYSTEMS
from trackers.earth.wgs84 import great_circle_distance
from trackers.impact.alerts import CONFIRMED, alert_timeline
from trackers.impact.from_tracks import impact_log
from trackers.impact.regions import contains, load_regions
from trackers.metrics.alerts import wilson_interval
from trackers.plotting_style import TRACKER_COLOURS, styled
from trackers.sensors import observe, sensors_for_scenario
from trackers.sensors.detections import Detections
from trackers.sensors.links import Network, load_network, with_path_latency
from trackers.sim import load_scenario, simulate
from trackers.tracking import ScanSequence, preset, track
from trackers.tracking.tracker import EVENT_KINDS

__all__ = [
    "KOREA_PATH",
    "LATENCIES_S",
    "LINKED",
    "NETWORKS",
    "TABLE_COLUMNS",
    "ConsumerTimes",
    "LinkingConfig",
    "consumer_times",
    "decision_times",
    "format_table",
    "linking_network",
    "linking_study",
    "plot_linking",
    "same_reports",
    "summarise_linking",
]

NETWORKS = ("japan-only", "korea-only", "linked-via-hub")
LINKED = "linked-via-hub"
#: Node path whose latency the study varies (Korean centre -> US hub -> Japanese centre).
KOREA_PATH = ("korea", "hub", "japan")
LATENCIES_S = (0.0, 2.0, 5.0, 10.0)
#: hokkaido-2023 (false alerts, track and prediction times), hokkaido-2023-onland (alert time).
SEA, ONLAND = DEMO_SCENARIOS


@dataclass(frozen=True)
class LinkingConfig:
    """What the linking study runs.

    Attributes
    ----------
    runs : int
        Monte Carlo draws of the radar noise per scenario (>= 1).
    seed : int
        Scenario i of :data:`trackers.alert_study.DEMO_SCENARIOS` (``hokkaido-2023``,
        ``hokkaido-2023-onland``) draws from ``default_rng(seed + i)``, as
        :func:`trackers.alert_study.alert_demo` does: both systems see the same reports,
        every latency the same measurements, and the linked network's tracks are the demo's.
    scenarios : tuple[str, ...]
        Subset of ``DEMO_SCENARIOS`` to run (both by default).
    networks : tuple[str, ...]
        Preset network names (subset of :data:`NETWORKS`).
    latencies_s : tuple[float, ...] [s]
        Korea -> hub -> Japan latencies L of the linked network (each >= 0).
    systems : tuple[str, ...]
        Systems of :data:`trackers.alert_study.SYSTEMS`.
    buffer_systems : tuple[str, ...]
        Systems also run with the fixed-lag buffer on the linked network at every latency
        (tracked once per latency; ``()`` to skip).
    buffer_margin_s : float [s]
        Buffer lag = L + margin; the default 1.0 s covers the radar -> Korean centre leg
        (0.5 s + U(0, 0.5 s)), so no Korean report is dropped.
    step_s : float [s]
        Decision interval of impact predictions and alerts (track log epochs).
    t_end_s : float or None [s]
        Keep only reports measured before this time (a short study for tests / CI); None: all.
    buffer_t_end_s : float or None [s]
        The same for the buffer runs (default 400 s: the first track, the first accurate
        prediction and the onland alert all come before ~250 s, and tracking the whole
        flight once per latency would dominate the cost). Missed- and false-alert rates of
        a cut run are not reported.
    accurate_m : float [m]
        A prediction within this distance of the rv's true impact point is accurate.
    true_track_m : float [m]
        A confirmed track within this distance of a flight object at a snapshot is true.
    jobs : int or None
        Worker processes (default: min(2, CPU count)); 1 runs in this process.
    """

    runs: int = 4
    seed: int = 0
    scenarios: tuple[str, ...] = DEMO_SCENARIOS
    networks: tuple[str, ...] = NETWORKS
    latencies_s: tuple[float, ...] = LATENCIES_S
    systems: tuple[str, ...] = tuple(SYSTEMS)
    buffer_systems: tuple[str, ...] = ("separation-aware",)
    buffer_margin_s: float = field(default=1.0, metadata={"units": "s"})
    step_s: float = field(default=5.0, metadata={"units": "s"})
    t_end_s: float | None = field(default=None, metadata={"units": "s"})
    buffer_t_end_s: float | None = field(default=400.0, metadata={"units": "s"})
    accurate_m: float = field(default=50e3, metadata={"units": "m"})
    true_track_m: float = field(default=20e3, metadata={"units": "m"})
    jobs: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.runs, bool) or not isinstance(self.runs, int) or self.runs < 1:
            raise ValueError(f"runs = {self.runs!r}, expected an integer >= 1")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed = {self.seed!r}, expected an integer >= 0")
        checks = (("scenarios", self.scenarios, DEMO_SCENARIOS),
                  ("networks", self.networks, NETWORKS),
                  ("systems", self.systems, tuple(SYSTEMS)),
                  ("buffer_systems", self.buffer_systems, tuple(SYSTEMS)))  # fmt: skip
        for name, given, allowed in checks:
            bad = [v for v in given if v not in allowed]
            if bad or (not given and name != "buffer_systems"):
                raise ValueError(f"{name} = {given!r}: expected a non-empty subset of {allowed}")
        if not self.latencies_s and LINKED in self.networks:
            raise ValueError("latencies_s is empty, expected at least one latency [s]")
        for v in self.latencies_s:
            if (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not (math.isfinite(v) and v >= 0)
            ):
                raise ValueError(f"latencies_s holds {v!r}, expected finite seconds >= 0")
        for name in ("buffer_margin_s", "step_s", "accurate_m", "true_track_m"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} = {v!r}, expected a finite number >= 0")
        if self.step_s <= 0:
            raise ValueError(f"step_s = {self.step_s!r}, expected > 0 s")
        for name in ("t_end_s", "buffer_t_end_s"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, int | float) and v > 0):
                raise ValueError(f"{name} = {v!r}, expected None or seconds > 0")
        if self.jobs is not None and not (isinstance(self.jobs, int) and self.jobs >= 1):
            raise ValueError(f"jobs = {self.jobs!r}, expected None or an integer >= 1")


# ------------------------------------------------------------------------------ consumer time
def consumer_times(
    report_run: NDArray,
    report_t_meas: NDArray,
    report_t_arrival: NDArray,
    query_run: NDArray,
    query_t: NDArray,
) -> NDArray[np.float64]:
    """Consumer time of decisions taken at measurement times ``query_t`` in runs ``query_run``.

        tau_r(t) = max(t, max{ a_i : run_i = r, t_meas_i <= t })

    Vectorised over runs: the reports are sorted by (run, t_meas) and the arrival times
    a_i get a running maximum within each run (``np.maximum.accumulate`` on integer keys
    run * n + rank(a_i), which never mixes runs and keeps every value exact); a query takes
    the running maximum at the last report of its run measured at or before t.

    Parameters
    ----------
    report_run : (n,) int
        Run of each report.
    report_t_meas, report_t_arrival : (n,) float [s]
        Measurement and arrival time of each report (arrival >= measurement).
    query_run : (q,) int
        Run of each decision.
    query_t : (q,) float [s]
        Measurement time of each decision; NaN (no decision) gives NaN.

    Returns
    -------
    (q,) float [s]
        tau >= t for every finite query.
    """
    run = np.asarray(report_run, np.int64)
    tm = np.asarray(report_t_meas, float)
    ta = np.asarray(report_t_arrival, float)
    qr = np.asarray(query_run, np.int64)
    qt = np.asarray(query_t, float)
    if not (run.shape == tm.shape == ta.shape and run.ndim == 1):
        raise ValueError(f"report arrays must be 1-D of one length, got shapes {run.shape}, "
                         f"{tm.shape}, {ta.shape}")  # fmt: skip
    if qr.shape != qt.shape or qr.ndim != 1:
        raise ValueError(f"query_run and query_t must be 1-D of one length, got {qr.shape}, "
                         f"{qt.shape}")  # fmt: skip
    if not (np.all(np.isfinite(tm)) and np.all(np.isfinite(ta))):
        raise ValueError("report times must be finite")
    if np.any(ta < tm):
        raise ValueError("report_t_arrival must be >= report_t_meas (arrival before measurement)")
    out = np.full(qt.shape, np.nan)
    ok = np.isfinite(qt)
    if not ok.any():
        return out
    out[ok] = qt[ok]
    if run.size == 0:
        return out
    lo = int(min(run.min(), qr[ok].min()))
    run, qrun = run - lo, qr[ok] - lo
    # running maximum of the arrival times per run, in (run, t_meas) order, on exact int keys
    order = np.lexsort((tm, run))
    run_s, tm_s = run[order], tm[order]
    n = run.size
    by_value = np.argsort(ta, kind="stable")
    rank = np.empty(n, np.int64)
    rank[by_value] = np.arange(n)
    acc = np.maximum.accumulate(run_s * n + rank[order])
    runmax = ta[by_value[acc - run_s * n]]
    # the last report of the query's run with t_meas <= t: searchsorted on (run, rank(t)) keys
    values, inverse = np.unique(np.concatenate([tm_s, qt[ok]]), return_inverse=True)
    u = values.size
    key_rep = run_s * u + inverse[:n]
    key_q = qrun * u + inverse[n:]
    pos = np.searchsorted(key_rep, key_q, side="right") - 1
    hit = (pos >= 0) & (run_s[np.maximum(pos, 0)] == qrun)
    out[np.flatnonzero(ok)[hit]] = np.maximum(qt[ok][hit], runmax[pos[hit]])
    return out


def same_reports(a: Detections, b: Detections) -> tuple[NDArray, NDArray]:
    """Row orders that make ``a`` and ``b`` the same reports, or ``ValueError``.

    Both tables are put in the canonical order (run, sensor, t_meas; rows of one scan message
    keep their order, which ``observe``'s stable sort preserves); the runs, sensors,
    measurement times, measurements (bit for bit) and truth tags must then be equal. Only the
    arrival times may differ.

    Returns
    -------
    (order_a, order_b) : (n,) int arrays
    """
    if len(a) != len(b) or a.sensors != b.sensors or a.runs != b.runs:
        raise ValueError(f"detections differ: {len(a)} vs {len(b)} rows, sensors "
                         f"{a.sensors} vs {b.sensors}, runs {a.runs} vs {b.runs}")  # fmt: skip
    oa = np.lexsort((a.t_meas, a.sensor_index, a.run))
    ob = np.lexsort((b.t_meas, b.sensor_index, b.run))
    for col in ("run", "sensor_index", "t_meas", "z", "origin_index"):
        if not np.array_equal(getattr(a, col)[oa], getattr(b, col)[ob], equal_nan=True):
            raise ValueError(f"detections differ in {col!r} (not only in arrival times)")
    return oa, ob


def linking_network(name: str, latency_s: float | None = None) -> Network:
    """Preset network ``name``; for :data:`LINKED` with ``latency_s``, the Korea -> hub ->
    Japan chain set to that deterministic latency (:func:`with_path_latency`)."""
    net = load_network(name)
    if latency_s is None:
        return net
    if name != LINKED:
        raise ValueError(f"latency_s applies to {LINKED!r} only, got network {name!r}")
    return with_path_latency(net, KOREA_PATH, latency_s)


# ------------------------------------------------------------------------ one tracked config
class ConsumerTimes(NamedTuple):
    """Per-run outcomes of one (network, latency, delivery, scenario, system).

    Attributes
    ----------
    network, scenario, system : str
    consumer : str
        Consuming node.
    latency_s : float
        Korea -> hub -> Japan latency L [s] (NaN for networks without it).
    delivery : str
        ``"exact"`` (ideal delivery, consumer time tau) or ``"buffer"`` (lag L + margin).
    t_decision : dict[str, (N,) float]
        Measurement time [s] of ``"confirm"``, ``"accurate"`` and ``"alert"`` per run (NaN:
        never).
    t_consumer : dict[str, (N,) float]
        The same at the consumer [s].
    false_alert : (N,) bool
        Alert issued although the rv does not land in the region (scenario hokkaido-2023).
    missed : (N,) bool
        No alert before the true impact although the rv lands in it (onland), at the consumer.
    truth_hit : bool
        The rv lands in the region.
    t_impact_true : float
        True rv impact time [s].
    t_end_s : float
        Reports measured from this time on were cut [s] (inf: the whole flight); the
        alert flags then cover only the window.
    tracking_seconds : float
    """

    network: str
    scenario: str
    system: str
    consumer: str
    latency_s: float
    delivery: str
    t_decision: dict[str, NDArray]
    t_consumer: dict[str, NDArray]
    false_alert: NDArray
    missed: NDArray
    truth_hit: bool
    t_impact_true: float
    t_end_s: float
    tracking_seconds: float


def decision_times(
    res: Any, flight: Any, imp: Any, issued: NDArray, runs: int, *,
    accurate_m: float = 50e3, true_track_m: float = 20e3,
) -> dict[str, NDArray]:  # fmt: skip
    """Measurement times [s] of the three decisions of every run, ``(runs,)`` each (NaN: none).

    ``confirm``: the earliest confirmation of a true track (confirm event, or birth for a
    track born confirmed), a true track being one that is, at some snapshot while confirmed,
    within ``true_track_m`` of a flight object alive at the snapshot's estimate time;
    ``accurate``: the first decision time at which a confirmed track's predicted impact point
    lies within ``accurate_m`` of the rv's true impact (great-circle; during the boost the
    drag-free prediction sweeps downrange and may pass the true point before burnout);
    ``alert``: the alert's issue time ``issued`` (indexed by run).

    Parameters
    ----------
    res : trackers.tracking.TrackerResult
    flight : trackers.sim.truth.Flight
    imp : trackers.impact.alerts.ImpactLog
    issued : (runs,) float [s]
    runs : int
    accurate_m, true_track_m : float [m]
    """
    log, ev = res.log, res.events
    # true tracks: confirmed snapshot within true_track_m of an alive object
    conf = np.flatnonzero(log.status == CONFIRMED)
    dmin = np.full(conf.size, np.inf)
    for obj in flight.objects:  # loop over objects (few), never over runs
        t = log.t[conf]
        alive = (t >= obj.t[0]) & (t <= obj.t[-1])
        d = np.linalg.norm(log.x[conf, :3] - obj.state_at(np.clip(t, obj.t[0], obj.t[-1]))[:, :3],
                           axis=1)  # fmt: skip
        dmin = np.minimum(dmin, np.where(alive, d, np.inf))
    good = conf[dmin < true_track_m]
    # a true track's confirmation: its confirm event, or its birth if it was born confirmed
    # (two-point initiation with confirm_m = 2 confirms at birth: no confirm event)
    big = np.int64(1) << 40
    keys, first = np.unique(log.run[good].astype(np.int64) * big + log.track[good],
                            return_index=True)  # fmt: skip
    t_event = np.full(keys.size, np.inf)
    is_conf = ev.kind == EVENT_KINDS.index("confirm")
    ev_keys = ev.run[is_conf].astype(np.int64) * big + ev.track[is_conf].astype(np.int64)
    k = np.searchsorted(keys, ev_keys)
    found = (k < keys.size) & (keys[np.minimum(k, keys.size - 1)] == ev_keys)
    np.minimum.at(t_event, k[found], ev.t[is_conf][found])
    t_conf = np.where(np.isfinite(t_event), t_event, log.born[good][first])
    t_confirm = np.full(runs, np.inf)
    np.minimum.at(t_confirm, keys // big, t_conf)
    # accurate predictions of confirmed tracks
    rv = flight.object("rv")
    ok = (imp.track >= 0) & (imp.status == CONFIRMED) & np.isfinite(imp.lat)
    d = np.full(imp.run.size, np.inf)
    d[ok] = great_circle_distance(imp.lat[ok], imp.lon[ok], float(rv.lat[-1]), float(rv.lon[-1]))
    acc = d < accurate_m
    t_acc = np.full(runs, np.inf)
    np.minimum.at(t_acc, imp.run[acc].astype(np.int64), imp.t[acc])
    inf2nan = lambda a: np.where(np.isfinite(a), a, np.nan)  # noqa: E731
    return {"confirm": inf2nan(t_confirm), "accurate": inf2nan(t_acc),
            "alert": np.asarray(issued, float)}  # fmt: skip


def _job(args: tuple) -> list[ConsumerTimes]:
    """Track one (network, scenario, system[, buffer latency]) and derive consumer times."""
    net_name, scenario_id, system, latencies, buffer_latency, cfg, seed = args
    tracker_name, policy = SYSTEMS[system]
    sc = load_scenario(scenario_id)
    flight = simulate(sc)
    radars, _ = sensors_for_scenario({"network": net_name})
    linked = net_name == LINKED
    lat_list: list[float | None] = list(latencies) if linked else [None]
    if buffer_latency is not None:
        lat_list = [buffer_latency]

    cuts = [cfg.t_end_s] + ([cfg.buffer_t_end_s] if buffer_latency is not None else [])
    t_end = min((c for c in cuts if c is not None), default=math.inf)

    def reports(latency: float | None) -> Detections:
        det = observe(flight, radars, linking_network(net_name, latency),
                      np.random.default_rng(seed), runs=cfg.runs)  # fmt: skip
        return det if math.isinf(t_end) else det.select(det.t_meas < t_end)

    dets = [reports(lat) for lat in lat_list]
    for d in dets[1:]:
        same_reports(dets[0], d)  # raises unless only the arrival times differ
    if buffer_latency is None:
        scans = ScanSequence.from_detections(dets[0], radars)
    else:
        lag = buffer_latency + cfg.buffer_margin_s
        scans = ScanSequence.from_detections(dets[0], radars, delivery="buffer", lag=lag)
    res = track(scans, radars, preset(tracker_name), epochs=cfg.step_s)
    regions = {REGION: load_regions()[REGION]}
    imp = impact_log(res.log, regions, hits=res.hits, step=cfg.step_s)
    tl = alert_timeline(imp, policy, regions[REGION])
    issued = np.full(cfg.runs, np.nan)
    issued[tl.runs] = tl.issued
    rv = flight.object("rv")
    hit = bool(contains(regions[REGION], np.array([rv.lat[-1]]), np.array([rv.lon[-1]]))[0])
    t_imp = float(rv.t[-1])
    t_dec = decision_times(res, flight, imp, issued, cfg.runs, accurate_m=cfg.accurate_m,
                           true_track_m=cfg.true_track_m)  # fmt: skip
    runs_idx = np.arange(cfg.runs)
    out = []
    for latency, det in zip(lat_list, dets, strict=True):
        if buffer_latency is None:
            t_con = {k: consumer_times(det.run, det.t_meas, det.t_arrival, runs_idx, v)
                     for k, v in t_dec.items()}  # fmt: skip
        else:
            t_con = {k: v + buffer_latency + cfg.buffer_margin_s for k, v in t_dec.items()}
        alerted = np.isfinite(t_con["alert"])
        in_time = alerted & (np.nan_to_num(t_con["alert"], nan=np.inf) < t_imp)
        out.append(ConsumerTimes(
            network=net_name, scenario=scenario_id, system=system, consumer=det.consumer,
            latency_s=float("nan") if latency is None else float(latency),
            delivery="exact" if buffer_latency is None else "buffer",
            t_decision=t_dec, t_consumer=t_con,
            false_alert=alerted & (not hit),
            missed=np.full(cfg.runs, hit) & ~in_time,
            truth_hit=hit, t_impact_true=t_imp, t_end_s=t_end, tracking_seconds=res.seconds,
        ))  # fmt: skip
    return out


def _job_or_error(args: tuple) -> list[ConsumerTimes] | str:
    try:
        return _job(args)
    except Exception as exc:  # reported by linking_study, never swallowed silently
        return f"{type(exc).__name__}: {exc}"


def linking_study(
    config: LinkingConfig | None = None, *, errors: list[str] | None = None
) -> list[ConsumerTimes]:
    """Run the study: every (network, scenario, system) tracked once with exact delivery
    (consumer times for every latency), plus the buffer variant of ``buffer_systems`` on the
    linked network at each latency. Work units run in ``config.jobs`` processes.

    Parameters
    ----------
    config : LinkingConfig
    errors : list, optional
        If given, a work unit that raises is skipped and ``"<unit>: <error>"`` is appended
        here (a long study keeps its other results); by default the first error is raised.

    Returns
    -------
    list of ConsumerTimes
        One per (network, latency, delivery, scenario, system).
    """
    cfg = LinkingConfig() if config is None else config
    if not isinstance(cfg, LinkingConfig):
        raise TypeError(f"config must be a LinkingConfig, got {type(cfg).__name__}")
    work: list[tuple[Any, ...]] = []
    for i, scenario_id in enumerate(DEMO_SCENARIOS):
        if scenario_id not in cfg.scenarios:
            continue
        for net in cfg.networks:
            for system in cfg.systems:
                work.append((net, scenario_id, system, tuple(cfg.latencies_s), None, cfg,
                             cfg.seed + i))  # fmt: skip
        if LINKED in cfg.networks:
            for system in cfg.buffer_systems:
                for lat in cfg.latencies_s:
                    work.append((LINKED, scenario_id, system, (), float(lat), cfg, cfg.seed + i))
    jobs = min(len(work), cfg.jobs or min(2, os.cpu_count() or 1))
    if jobs <= 1:
        parts = [_job_or_error(w) for w in work]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            parts = list(ex.map(_job_or_error, work))
    out: list[ConsumerTimes] = []
    for w, p in zip(work, parts, strict=True):
        if isinstance(p, str):
            unit = f"{w[0]}/{w[1]}/{w[2]}" + ("" if w[4] is None else f"/buffer L={w[4]:g} s")
            if errors is None:
                raise RuntimeError(f"linking study unit {unit} failed: {p}")
            errors.append(f"{unit}: {p}")
            continue
        out.extend(p)
    return out


# ------------------------------------------------------------------------------- the table
#: Columns of :func:`summarise_linking`'s rows.
TABLE_COLUMNS = (
    "network", "consumer", "latency_s", "delivery", "system", "runs",
    "confirm_median_s", "confirm_none", "accurate_median_s", "accurate_none",
    "alert_median_s", "alert_none", "lead_time_median_s", "missed_rate", "missed_ci",
    "false_alert_rate", "false_alert_ci", "t_end_s",
)  # fmt: skip


def _median(v: NDArray) -> float | None:
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else None


def summarise_linking(results: Sequence[ConsumerTimes]) -> list[dict[str, Any]]:
    """One row per (network, latency, delivery, system): the columns of :data:`TABLE_COLUMNS`.

    Times are consumer times [s since launch], medians over the runs that reach the decision
    (``*_none``: runs that never do); ``confirm`` and ``accurate`` from hokkaido-2023 (from the
    onland case if only that one ran: the two flights differ by a small change of guidance),
    the alert time, lead time (true impact minus alert) and missed-alert rate from the onland
    counterfactual, the false-alert rate from hokkaido-2023; rates with Wilson 95 % intervals.
    A quantity whose scenario was not run is None, and so are the missed- and false-alert
    rates of runs whose reports were cut (``t_end_s``, None for the whole flight).
    """
    groups: dict[tuple, dict[str, ConsumerTimes]] = {}
    for r in results:
        lat = None if math.isnan(r.latency_s) else r.latency_s
        groups.setdefault((r.network, lat, r.delivery, r.system), {})[r.scenario] = r
    rows = []
    for (net, lat, delivery, system), by_sc in groups.items():
        any_r = next(iter(by_sc.values()))
        row: dict[str, Any] = {k: None for k in TABLE_COLUMNS}
        row.update(network=net, consumer=any_r.consumer, latency_s=lat, delivery=delivery,
                   system=system, runs=int(any_r.false_alert.size))  # fmt: skip
        sea, land = by_sc.get(SEA), by_sc.get(ONLAND)
        t_end = min(r.t_end_s for r in by_sc.values())
        row["t_end_s"] = None if math.isinf(t_end) else t_end
        first = sea if sea is not None else land
        if first is not None:
            for k in ("confirm", "accurate"):
                v = first.t_consumer[k]
                row[f"{k}_median_s"] = _median(v)
                row[f"{k}_none"] = int(np.sum(~np.isfinite(v)))
        if sea is not None and math.isinf(sea.t_end_s):
            k_fa, n = int(sea.false_alert.sum()), sea.false_alert.size
            lo, hi = wilson_interval(k_fa, n)
            row["false_alert_rate"] = k_fa / n
            row["false_alert_ci"] = [float(lo), float(hi)]
        if land is not None:
            t = land.t_consumer["alert"]
            in_time = np.isfinite(t) & (t < land.t_impact_true)
            row["alert_median_s"] = _median(np.where(in_time, t, np.nan))
            row["lead_time_median_s"] = _median(np.where(in_time, land.t_impact_true - t, np.nan))
            row["alert_none"] = int(np.sum(~in_time))
        if land is not None and math.isinf(land.t_end_s):
            k_m, n = int(land.missed.sum()), land.missed.size
            lo, hi = wilson_interval(k_m, n)
            row["missed_rate"] = k_m / n
            row["missed_ci"] = [float(lo), float(hi)]
        rows.append(row)
    order = {n: i for i, n in enumerate(NETWORKS)}
    rows.sort(key=lambda r: (order.get(r["network"], 9), r["delivery"] != "exact",
                             -1.0 if r["latency_s"] is None else r["latency_s"],
                             r["system"]))  # fmt: skip
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The summary rows as a fixed-width text table (times in s since launch; ``-``: none)."""

    def f(v: Any, fmt: str = "{:.1f}") -> str:
        return "-" if v is None else fmt.format(v)

    def rate(r: dict[str, Any], k: str) -> str:
        if r[f"{k}_rate"] is None:
            return "-"
        lo, hi = r[f"{k}_ci"]
        return f"{r[f'{k}_rate']:.2f} [{lo:.2f},{hi:.2f}]"

    def time_none(r: dict[str, Any], k: str) -> str:
        none = r[f"{k}_none"]
        return f(r[f"{k}_median_s"]) + (f"*{none}" if none else "")

    head = (f"{'network':<15} {'consumer':<8} {'L [s]':>5} {'delivery':<8} {'system':<16} "
            f"{'runs':>4} {'confirm':>8} {'accurate':>9} {'alert':>7} {'lead':>6} "
            f"{'missed':>17} {'false alerts':>17} {'cut':>4}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['network']:<15} {r['consumer']:<8} {f(r['latency_s'], '{:g}'):>5} "
            f"{r['delivery']:<8} {r['system']:<16} {r['runs']:>4} "
            f"{time_none(r, 'confirm'):>8} {time_none(r, 'accurate'):>9} "
            f"{time_none(r, 'alert'):>7} {f(r['lead_time_median_s'], '{:.0f}'):>6} "
            f"{rate(r, 'missed'):>17} {rate(r, 'false_alert'):>17} "
            f"{f(r['t_end_s'], '{:.0f}'):>4}"
        )
    lines.append(
        "times: medians over runs at the consumer [s after launch]; *k: k runs never reach it "
        "(alert: not before impact);\nrates with Wilson 95 % intervals; cut: reports measured "
        "after this time [s] dropped (rates then not measured)"
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------- the figure
@styled
def plot_linking(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Consumer times against the Korea -> hub -> Japan latency, one panel per decision
    (first confirmed track, first accurate prediction, alert on the onland counterfactual)
    and the false-alert rate: the linked network exact (solid) and with the fixed-lag buffer
    (dashed), japan-only and korea-only as horizontal lines; one colour per system."""
    from matplotlib.figure import Figure

    panels = (("confirm_median_s", "first confirmed track [s]"),
              ("accurate_median_s", "first prediction within 50 km [s]"),
              ("alert_median_s", "alert on the onland case [s]"),
              ("false_alert_rate", "false-alert rate (hokkaido-2023)"))  # fmt: skip
    systems = sorted({r["system"] for r in rows})
    colours = {s: TRACKER_COLOURS.get(s, "C0") for s in systems}  # package style colours
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    lats = sorted({r["latency_s"] for r in rows if r["latency_s"] is not None}) or [0.0]
    for ax, (key, label) in zip(axes, panels, strict=True):
        ci = "false_alert_ci" if key == "false_alert_rate" else None
        for system in systems:
            c = colours[system]
            # buffer: hollow, larger markers, so that an equal exact point stays visible
            for delivery, ls, mk, ms in (("exact", "-", "o", 5), ("buffer", "--", "s", 9)):
                sel = [r for r in rows if r["network"] == LINKED and r["system"] == system
                       and r["delivery"] == delivery and r[key] is not None]  # fmt: skip
                if not sel:
                    continue
                x, y = [r["latency_s"] for r in sel], np.array([r[key] for r in sel])
                kw = dict(ls=ls, marker=mk, ms=ms, color=c, label=f"linked, {delivery}: {system}",
                          mfc="none" if delivery == "buffer" else c)  # fmt: skip
                if ci:
                    err = np.abs(np.array([r[ci] for r in sel]).T - y)
                    ax.errorbar(x, y, yerr=err, capsize=3, **kw)
                else:
                    ax.plot(x, y, **kw)
            for net, ls in (("japan-only", ":"), ("korea-only", "-.")):
                sel = [r for r in rows if r["network"] == net and r["system"] == system
                       and r[key] is not None]  # fmt: skip
                if sel:
                    ax.hlines(sel[0][key], lats[0], lats[-1], colors=c, linestyles=ls,
                              label=f"{net} ({sel[0]['consumer']}): {system}")  # fmt: skip
        ax.set_xlabel("Korea -> hub -> Japan latency L [s]")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "not measured\n(scenario not run, or reports cut)",
                    ha="center", va="center", transform=ax.transAxes, color="0.4")  # fmt: skip
    fig.suptitle(title or "Radar linking: median times at the consumer (s after launch)")
    out = Path(path)
    fig.savefig(out, dpi=100)
    return out
