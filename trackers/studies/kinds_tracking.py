"""Experiment kinds ``tracking`` and ``alerts``: the tracker and alert comparisons as studies.

Both draw the radar network's reports of one simulated flight (a scenario, optionally with
another reporting network), run every tracker / system of the inner axis on the same reports,
and return one row per (run, tracker) or (run, system).

Reports. Run i's detections come from ``numpy.random.default_rng(stream_parent(seed, 0))``
through :func:`trackers.sensors.observe` with ``chunk_runs=1, first_run=a`` (run i draws from
spawn key (0, i) only), restricted to measurement times in ``[t_start_s, t_end_s]``.

Scans. A multi-run :class:`~trackers.tracking.ScanSequence` holds one scan per (measurement
time, radar) at which *any* of its runs has a report; a run without a report in that scan
sees an empty scan (its tracks in coverage are predicted and miss). The set of scans of a
chunk would thus depend on the other runs of the chunk. Here every scan of every radar's
schedule (``Radar.scan_times`` over the window) is present for every run: a phantom run N
holds one report per scheduled scan, delivered too late to be used (``delivery="buffer"``
with a lag below its latency), so the phantom run is empty and the real runs see exactly the
radar schedule. A study with many runs thus tracks as ``trackers track`` does (every scan has
some report in some run). The tracker's batched linear algebra is not bit-reproducible across
batch sizes (the last bits of a state differ, ~1e-9 m, when a run is tracked with 1 or 2
others), so by default (``batch = "run"``) each run is tracked in its own batch (with the
phantom run): results depend only on (seed, run), never on the chunking, at the cost of the
speed-up of batching runs (about 3x); ``batch = "chunk"`` tracks a chunk's runs together.

``tracking`` metrics, per run, from :func:`trackers.metrics.tracking.evaluate` with the
CLEAR-MOT persistent correspondence (as ``trackers track``; GOSPA of Rahmathullah, Garcia-
Fernandez & Svensson 2017 with cut-off c and alpha = 2; track breaks and identity switches of
Bernardin & Stiefelhagen 2008):

    gospa_mean_m          (1/E) sum_e GOSPA_e        mean over the E evaluation epochs
    gospa_*_m             its localisation / missed / false parts, same average
    false_tracks          confirmed tracks unassigned at > 50 % of their confirmed epochs
    id_switches           identity switches summed over the objects; rv_id_switches: the rv's
    track_breaks          breaks summed over the objects
    rv_label_correct_frac share of the run's scored epochs whose rv track is labelled rv
    spawn_delay_s         median over the run's separations of the spawn delay (NaN: no
                          separation resolved; inf: a resolved child never tracked)
    spawn_split_delay_s   the same for the split delay (child and parent both tracked)

The mean over runs of ``gospa_*``, ``false_tracks``, ``id_switches``, ``rv_id_switches`` and
``track_breaks`` is the per-run value :func:`trackers.metrics.tracking.score` reports.

``alerts`` metrics, per run, for the region of :mod:`trackers.alert_study` (Hokkaido) and each
system of :data:`trackers.alert_study.SYSTEMS` (tracker preset + alert policy), decisions every
``step_s`` (:func:`trackers.impact.from_tracks.impact_log`,
:func:`trackers.impact.alerts.alert_timeline`):

    alert_issued      1 if an alert was issued, else 0
    issue_time_s      time of the first issue [s since epoch] (NaN: none)
    cancelled         1 if the first alert was cancelled before the run's last decision
    cancel_time_s     its cancellation time [s] (NaN: never issued or never cancelled)
    lead_time_s       t_impact_true - issue_time_s if issued before the true impact, else NaN
    truth_hit         1 if the rv's true impact point lies in the region
    false_alert       alert_issued and not truth_hit
    missed_alert      truth_hit and no alert issued before the true impact
    in_force          an alert issued before the true impact and not cancelled before it
                      (for residents a withdrawn alert is no alert)
    episodes          number of alert episodes (issues) in the run

so that the mean of ``false_alert`` over a scenario whose rv misses the region is the false-
alert rate and the mean of ``missed_alert`` over one where it hits is the missed-alert rate
(:func:`trackers.metrics.alerts.score_alerts`).

References
----------
M. Rahmathullah, A. F. Garcia-Fernandez, L. Svensson, "Generalized optimal sub-pattern
assignment metric", Proc. FUSION 2017 (GOSPA).
K. Bernardin, R. Stiefelhagen, "Evaluating multiple object tracking performance: the CLEAR MOT
metrics", EURASIP J. Image and Video Processing, 2008 (track breaks, identity switches).
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from trackers.studies.registry import Metric, Param, register_kind
from trackers.studies.seeds import stream_parent

__all__ = ["TrackedRuns", "alerts_kind", "schedule_scans", "tracked_runs", "tracking_kind"]

#: Latency of the phantom run's reports [s]; the buffer lag sits between it and real latencies.
_PHANTOM_LATENCY_S = 1.0e9
_BUFFER_LAG_S = 1.0e6


def _tracker_names() -> tuple[str, ...]:
    from trackers.tracking import PRESETS

    return tuple(PRESETS)


def _system_names() -> tuple[str, ...]:
    from trackers.alert_study import SYSTEMS

    return tuple(SYSTEMS)


@functools.lru_cache(maxsize=4)
def _case(scenario: str, network: str) -> tuple[Any, tuple, Any]:
    """(flight, radars, network) of a scenario (cached per process: the flight is noise-free)."""
    from trackers.sensors import sensors_for_scenario
    from trackers.sim import load_scenario, simulate

    sc = load_scenario(scenario)
    flight = simulate(sc)
    table = sc.sensors if not network else {"network": network}
    try:
        radars, net = sensors_for_scenario(table)
    except (ValueError, FileNotFoundError) as exc:
        raise ValueError(f"config.network = {network!r}: {exc}") from exc
    return flight, tuple(radars), net


def _window(config: dict[str, Any], flight) -> tuple[float, float]:
    """``[t_start_s, t_end_s]`` with ``t_end_s = 0`` meaning the end of the flight [s]."""
    t_end_flight = max(float(o.t[-1]) for o in flight.objects)
    t0 = config["t_start_s"]
    t1 = config["t_end_s"] if config["t_end_s"] > 0 else t_end_flight
    if not t0 < t1:
        raise ValueError(
            f"config.t_start_s, t_end_s = {t0}, {config['t_end_s']}: expected t_start_s < "
            f"t_end_s (t_end_s = 0: the end of the flight, {t_end_flight:.1f} s)"
        )
    return t0, t1


def schedule_scans(det, radars, t0: float, t1: float):
    """Scans of ``det`` with every scheduled scan of every radar in ``[t0, t1]`` present.

    Parameters
    ----------
    det : trackers.sensors.Detections
        Reports of N runs (ideal delivery is assumed: latencies below 1e6 s).
    radars : sequence of trackers.sensors.Radar
        Sites of ``det.sensors``; their ``scan_times`` give the schedule.
    t0, t1 : float
        Window [s since epoch].

    Returns
    -------
    ScanSequence
        ``runs = N + 1``: runs ``[0, N)`` are ``det``'s, run N is the empty phantom run that
        holds the schedule (module docstring). Drop it from the tracker's output
        (:func:`tracked_runs` does).
    """
    from trackers.sensors.detections import CLUTTER
    from trackers.tracking import ScanSequence

    by_id = {r.id: r for r in radars}
    t_s, s_s = [], []
    for s, sid in enumerate(det.sensors):  # loop over radars (few)
        ts = by_id[sid].scan_times(t0, t1)
        t_s.append(ts)
        s_s.append(np.full(ts.size, s))
    t_sched = np.concatenate(t_s)
    n = t_sched.size
    origins = det.origins if CLUTTER in det.origins else (*det.origins, CLUTTER)
    z = np.zeros((n, 4))
    z[:, 0] = 1.0e6  # range [m]; never used (delivered too late)
    N = det.runs
    phantom = replace(
        det,
        run=np.full(n, N, dtype=det.run.dtype),
        sensor_index=np.concatenate(s_s).astype(det.sensor_index.dtype),
        t_meas=t_sched,
        t_arrival=t_sched + _PHANTOM_LATENCY_S,
        z=z,
        origin_index=np.full(n, origins.index(CLUTTER), dtype=det.origin_index.dtype),
        origins=origins,
        runs=N + 1,
    )
    both = replace(
        det,
        **{c: np.concatenate([getattr(det, c), getattr(phantom, c)])
           for c in ("run", "sensor_index", "t_meas", "t_arrival", "z", "origin_index")},
        origins=origins,
        runs=N + 1,
    )  # fmt: skip
    late = det.t_arrival - det.t_meas
    if late.size and late.max() >= _BUFFER_LAG_S:  # pragma: no cover - not a real network
        raise ValueError(f"det: a latency of {late.max():.3g} s exceeds {_BUFFER_LAG_S:.0e} s")
    return ScanSequence.from_detections(both, radars, delivery="buffer", lag=_BUFFER_LAG_S)


class TrackedRuns(NamedTuple):
    """Output of :func:`tracked_runs`.

    Attributes
    ----------
    flight : trackers.sim.truth.Flight
        Truth.
    det : trackers.sensors.Detections
        The chunk's reports, runs renumbered ``[0, N)`` (run ``a + i`` of the study is i).
    results : dict
        Tracker preset name -> :class:`~trackers.tracking.TrackerResult` (phantom run removed:
        ``log.runs = N``).
    epochs : (E,) float
        Evaluation epochs [s].
    window : (float, float)
        ``[t_start_s, t_end_s]`` actually used [s].
    """

    flight: Any
    det: Any
    results: dict
    epochs: NDArray
    window: tuple[float, float]


def tracked_runs(
    config: dict[str, Any], runs: range, seed: np.random.SeedSequence, trackers: list[str]
) -> TrackedRuns:
    """Reports of runs ``runs`` (stream 0) tracked by every preset of ``trackers``.

    ``config`` needs ``scenario``, ``network``, ``t_start_s``, ``t_end_s``, ``epoch_s`` and
    optionally ``batch`` ("run", the default: each run tracked alone with the phantom run;
    "chunk": all runs in one call). Every run sees every scheduled scan of the window.
    """
    from trackers.sensors import observe
    from trackers.tracking import preset, track

    flight, radars, net = _case(config["scenario"], config["network"])
    t0, t1 = _window(config, flight)
    N = len(runs)
    det = observe(
        flight,
        radars,
        net,
        np.random.default_rng(stream_parent(seed, 0)),  # run i <- spawn key (0, i)
        runs=N,
        chunk_runs=1,
        first_run=runs.start,
    )
    det = replace(det, run=(det.run - runs.start).astype(det.run.dtype), runs=N)  # runs [0, N)
    det = det.select((det.t_meas >= t0) & (det.t_meas <= t1))
    step = config["epoch_s"]
    epochs = np.arange(math.ceil(t0 / step) * step, t1 + 0.5 * step, step)  # fixed grid
    if config.get("batch", "run") == "chunk":  # the chunk's runs in one batch
        blocks = [(0, N)]
    else:  # one run per batch: bit-identical under any chunking
        blocks = [(i, i + 1) for i in range(N)]
    scans = []
    for a, b in blocks:  # one tracker call per block; batch = "run": per run, the price of
        # bit-identity across chunkings (module docstring); workers parallelise the runs
        d = det if (a, b) == (0, N) else det.select((det.run >= a) & (det.run < b))
        d = replace(d, run=(d.run - a).astype(d.run.dtype), runs=b - a)
        scans.append((a, schedule_scans(d, radars, t0, t1)))
    results = {}
    for name in trackers:  # inner axis: same reports for every tracker
        parts = []
        for a, sc in scans:
            res = track(sc, radars, preset(name), epochs=epochs)
            if np.any(res.log.run >= sc.runs - 1):  # pragma: no cover - phantom run is empty
                raise RuntimeError("the phantom run grew a track")
            parts.append((a, res))
        results[name] = _join(parts, N)
    return TrackedRuns(flight, det, results, epochs, (t0, t1))


def _join(parts: list, runs: int):
    """One TrackerResult of ``runs`` runs from results of consecutive blocks ``(a, result)``
    (rows and ``hits`` stay aligned; runs renumbered ``a + i``)."""
    a0, r0 = parts[0]
    if len(parts) == 1 and a0 == 0:
        return r0._replace(log=r0.log._replace(runs=runs))
    log0 = r0.log
    fields = [f for f in log0._fields if f not in ("runs", "epochs")]
    cols = {f: np.concatenate([np.asarray(getattr(r.log, f)) for _, r in parts]) for f in fields}
    cols["run"] = np.concatenate([np.asarray(r.log.run) + a for a, r in parts])
    return r0._replace(
        log=log0._replace(**cols, runs=runs),
        hits=np.concatenate([r.hits for _, r in parts]),
        reports=sum(r.reports for _, r in parts),
        seconds=sum(r.seconds for _, r in parts),
    )


_COMMON_PARAMS = {
    "scenario": Param(str, "hokkaido-2023", "built-in scenario id or TOML path"),
    "network": Param(str, "", "reporting network preset id or TOML path ('': the scenario's)"),
    "t_start_s": Param(float, 0.0, "first report time used [s since epoch]", minimum=0.0),
    "t_end_s": Param(
        float, 0.0, "last report time used [s] (0: the end of the flight)", minimum=0.0
    ),
    "batch": Param(
        str,
        "run",
        "runs tracked together: 'run' (one at a time: bit-identical under any chunking) or "
        "'chunk' (faster; last-bit differences between chunkings)",
        choices=("run", "chunk"),
    ),
}


# ----------------------------------------------------------------------------- tracking
@register_kind(
    "tracking",
    params={
        **_COMMON_PARAMS,
        "epoch_s": Param(float, 5.0, "evaluation epoch spacing [s]", minimum=0.01),
        "cutoff_m": Param(float, 20e3, "GOSPA / assignment cut-off c [m]", minimum=1.0),
        "window_s": Param(float, 10.0, "observability window W [s]", minimum=0.0),
        "tracker": Param(
            list,
            ["naive", "separation-aware"],
            "tracker presets compared on the same reports",
            choices=_tracker_names(),
            inner=True,
        ),
    },
    metrics={
        "gospa_mean_m": Metric("m", "GOSPA (c, alpha = 2) averaged over the run's epochs"),
        "gospa_localisation_m": Metric("m", "its localisation part"),
        "gospa_missed_m": Metric("m", "its missed-object part"),
        "gospa_false_m": Metric("m", "its false-track part"),
        "false_tracks": Metric("1", "confirmed tracks unassigned at > 50 % of their epochs"),
        "id_switches": Metric("1", "identity switches, all objects"),
        "rv_id_switches": Metric("1", "identity switches of the rv"),
        "track_breaks": Metric("1", "track breaks, all objects"),
        "rv_label_correct_frac": Metric("1", "share of scored epochs with the rv labelled rv"),
        "spawn_delay_s": Metric("s", "median spawn delay over the run's separations"),
        "spawn_split_delay_s": Metric("s", "median split delay over the run's separations"),
    },
)
def tracking_kind(
    config: dict[str, Any], runs: range, seed: np.random.SeedSequence
) -> pd.DataFrame:
    """Tracker presets on a scenario's radar reports: per-run GOSPA, false tracks, switches."""
    from trackers.metrics.tracking import ScoreConfig, evaluate

    tr = tracked_runs(config, runs, seed, config["tracker"])
    cfg = ScoreConfig(cutoff_m=config["cutoff_m"], window_s=config["window_s"],
                      keep_correspondence=True)  # fmt: skip
    parts = []
    for name, res in tr.results.items():
        ev = evaluate(res.log, tr.flight, tr.det, cfg)
        parts.append(pd.DataFrame({"run": np.arange(runs.start, runs.stop), "tracker": name,
                                   **per_run_tracking(ev)}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def per_run_tracking(ev) -> dict[str, NDArray]:
    """Per-run metric columns ``(N,)`` of an :class:`~trackers.metrics.tracking.Evaluation`."""
    asg = ev.assignment
    rv = [i for i, r in enumerate(ev.roles) if r == "rv"]
    ok = asg.rv_label_ok  # (N, E) 1 / 0 / NaN (not scored)
    scored = np.isfinite(ok).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rv_frac = np.nansum(ok, axis=1) / np.where(scored > 0, scored, np.nan)

    def median_over_events(x: NDArray) -> NDArray:  # (N, S) -> (N,), NaN if none resolved
        out = np.full(x.shape[0], np.nan)
        have = np.any(~np.isnan(x), axis=1)
        if x.shape[1]:
            out[have] = np.nanmedian(x[have], axis=1)
        return out

    return {
        "gospa_mean_m": asg.gospa.mean(axis=1),
        "gospa_localisation_m": asg.localisation.mean(axis=1),
        "gospa_missed_m": asg.missed.mean(axis=1),
        "gospa_false_m": asg.false.mean(axis=1),
        "false_tracks": ev.false_tracks.astype(float),
        "id_switches": ev.switches.sum(axis=1).astype(float),
        "rv_id_switches": (
            ev.switches[:, rv].sum(axis=1) if rv else np.full(ev.runs, np.nan)
        ).astype(float),
        "track_breaks": ev.breaks.sum(axis=1).astype(float),
        "rv_label_correct_frac": rv_frac,
        "spawn_delay_s": median_over_events(ev.spawn_delay),
        "spawn_split_delay_s": median_over_events(ev.spawn_split_delay),
    }


# ------------------------------------------------------------------------------- alerts
@register_kind(
    "alerts",
    params={
        **_COMMON_PARAMS,
        "step_s": Param(float, 5.0, "decision interval = track epoch spacing [s]", minimum=0.01),
        "system": Param(
            list,
            ["naive", "separation-aware"],
            "alert systems (tracker + policy) compared on the same reports",
            choices=_system_names(),
            inner=True,
        ),
    },
    metrics={
        "alert_issued": Metric("1", "1 if an alert for the region was issued"),
        "issue_time_s": Metric("s", "time of the first issue (NaN: none)"),
        "cancelled": Metric("1", "1 if the first alert was cancelled"),
        "cancel_time_s": Metric("s", "time of its cancellation (NaN: none)"),
        "lead_time_s": Metric("s", "true impact time - issue time, if issued before impact"),
        "truth_hit": Metric("1", "1 if the rv truly lands in the region"),
        "false_alert": Metric("1", "alert issued although the rv misses the region"),
        "missed_alert": Metric("1", "rv lands in the region, no alert before the impact"),
        "in_force": Metric("1", "an alert issued before the impact is still active at it"),
        "episodes": Metric("1", "alert episodes (issues) in the run"),
    },
)
def alerts_kind(config: dict[str, Any], runs: range, seed: np.random.SeedSequence) -> pd.DataFrame:
    """Alert systems (naive / separation-aware) on a scenario: per-run alert outcome and times."""
    from trackers.alert_study import REGION, SYSTEMS
    from trackers.impact.alerts import alert_timeline
    from trackers.impact.from_tracks import impact_log
    from trackers.impact.regions import contains, load_regions

    systems = config["system"]
    presets = sorted({SYSTEMS[s][0] for s in systems})
    tr = tracked_runs({**config, "epoch_s": config["step_s"]}, runs, seed, presets)
    region = load_regions()[REGION]
    rv = tr.flight.object("rv")
    hit = bool(contains(region, np.array([rv.lat[-1]]), np.array([rv.lon[-1]]))[0])
    t_imp = float(rv.t[-1])  # true impact time [s]
    N = len(runs)
    parts = []
    for name in systems:  # inner axis: same tracks for the systems sharing a tracker
        preset_name, policy = SYSTEMS[name]
        res = tr.results[preset_name]
        imp = impact_log(res.log, {REGION: region}, hits=res.hits, step=config["step_s"])
        issued, cancelled, episodes = np.full(N, np.nan), np.full(N, np.nan), np.zeros(N)
        if imp.run.size:
            tl = alert_timeline(imp, policy, region)
            issued[tl.runs], cancelled[tl.runs] = tl.issued, tl.cancelled  # runs without rows: none
            episodes[tl.runs] = tl.n_episodes
        alerted = np.isfinite(issued)
        timely = alerted & (issued < t_imp)  # issued before the true impact
        parts.append(pd.DataFrame({
            "run": np.arange(runs.start, runs.stop),
            "system": name,
            "alert_issued": alerted.astype(float),
            "issue_time_s": issued,
            "cancelled": np.isfinite(cancelled).astype(float),
            "cancel_time_s": cancelled,
            "lead_time_s": np.where(timely, t_imp - issued, np.nan),
            "truth_hit": np.full(N, float(hit)),
            "false_alert": (alerted & (not hit)).astype(float),
            "missed_alert": (hit & ~timely).astype(float),
            "in_force": (timely & ~(cancelled < t_imp)).astype(float),  # NaN: not cancelled
            "episodes": episodes,
        }))  # fmt: skip
    return pd.concat(parts, ignore_index=True)
