"""End to end: flight -> radar reports -> tracks -> impact predictions -> alerts -> scores.

This module ties the layers together for the command line (``trackers track``, ``trackers
demo``) and the benchmarks; the layers themselves know nothing of each other's scenarios.

The alert demo asks the toolkit's headline question: over Monte Carlo draws of the radar
noise, how often does a tracker + alert policy warn Hokkaido for a missile that falls in the
Sea of Japan (``hokkaido-2023``), and how often does it fail to warn when the reentry vehicle
really lands on Hokkaido (``hokkaido-2023-onland``, the counterfactual)? Two systems:

- ``naive``: the naive tracker (nearest neighbour, one ballistic EKF, tracks confirmed on two
  reports, no separation handling) with the naive policy (any confirmed track whose point
  prediction falls in the region alerts);
- ``separation-aware``: the separation-aware tracker with the probabilistic policy
  (P(impact in Hokkaido) >= threshold for a track labelled rv or unknown, at least
  ``min_track_age_s`` old with ``min_updates`` reports, hysteresis on cancellation, and
  cancellation only on contrary evidence: losing the track does not withdraw the warning).

For every false alert the triggering track is classified (:func:`explain_false_alerts`): issued
during the boost (a track still accelerating, flown ballistically), by a young track (< 60 s:
a few seconds of track gives an impact uncertainty of hundreds of km), or by an older track
(swap, centroid bias of merged reports, label error).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.impact.alerts import (
    LABEL_RV,
    LABEL_STAGE,
    LABEL_UNKNOWN,
    AlertTimeline,
    ImpactLog,
    NaivePolicy,
    ProbabilisticPolicy,
    alert_timeline,
)
from trackers.impact.from_tracks import impact_log
from trackers.impact.regions import contains, load_regions
from trackers.metrics.alerts import score_alerts
from trackers.sensors import observe, sensors_for_scenario
from trackers.sim import load_scenario, simulate
from trackers.tracking import ScanSequence, preset, track

__all__ = [
    "DEMO_SCENARIOS",
    "SYSTEMS",
    "AlertRun",
    "alert_demo",
    "explain_false_alerts",
    "simulate_reports",
    "summarise_demo",
    "sweep_thresholds",
]

DEMO_SCENARIOS = ("hokkaido-2023", "hokkaido-2023-onland")
REGION = "hokkaido"
#: The two systems compared: tracker preset and alert policy.
SYSTEMS: dict[str, tuple[str, Any]] = {
    "naive": ("naive", NaivePolicy()),
    "separation-aware": (
        "separation-aware",
        ProbabilisticPolicy(
            threshold=0.1,
            min_track_age_s=30.0,
            min_updates=10,
            cancel_factor=0.5,
            cancel_after_s=20.0,
            only_labels=(LABEL_RV, LABEL_UNKNOWN),
            hold_without_evidence=True,
            # a close rv / stage pair trades its labels with the noise: any qualifying track
            # still predicting the region sustains the alert (issuing needs rv / unknown)
            sustain_labels=(LABEL_RV, LABEL_UNKNOWN, LABEL_STAGE),
        ),
    ),
}


def simulate_reports(scenario_id: str, runs: int, seed: int, network: str | None = None):
    """(scenario, flight, radars, detections) of a scenario: one flight, ``runs`` noise draws
    of its radar network (``network`` overrides the scenario's)."""
    sc = load_scenario(scenario_id)
    flight = simulate(sc)
    radars, net = sensors_for_scenario(sc.sensors if network is None else {"network": network})
    det = observe(flight, radars, net, np.random.default_rng(seed), runs=runs)
    return sc, flight, radars, det


class AlertRun(NamedTuple):
    """One (scenario, system) of the demo."""

    scenario: str
    system: str
    runs: int
    timeline: AlertTimeline
    impacts: ImpactLog
    truth_hit: NDArray
    t_impact_true: float
    events: list[tuple[float, str, str]]
    rv_impact: tuple[float, float]
    tracking_seconds: float
    reports: int


def _one(args: tuple[str, str, int, int, float]) -> AlertRun:
    scenario_id, system, runs, seed, step = args
    tracker_name, policy = SYSTEMS[system]
    _sc, flight, radars, det = simulate_reports(scenario_id, runs, seed)
    scans = ScanSequence.from_detections(det, radars)
    res = track(scans, radars, preset(tracker_name), epochs=step)
    regions = {REGION: load_regions()[REGION]}
    imp = impact_log(res.log, regions, hits=res.hits, step=step)
    tl = alert_timeline(imp, policy, regions[REGION])
    rv = flight.object("rv")
    lat, lon = float(rv.lat[-1]), float(rv.lon[-1])
    hit = bool(contains(regions[REGION], np.array([lat]), np.array([lon]))[0])
    events = [(e.t_s, e.object, e.kind) for e in flight.events]
    return AlertRun(scenario_id, system, runs, tl, imp, np.full(tl.runs.size, hit),
                    float(rv.t[-1]), events, (lat, lon), res.seconds, res.reports)  # fmt: skip


def alert_demo(
    runs: int = 4,
    seed: int = 0,
    *,
    scenarios: Sequence[str] = DEMO_SCENARIOS,
    systems: Sequence[str] = tuple(SYSTEMS),
    step: float = 5.0,
    jobs: int | None = None,
) -> list[AlertRun]:
    """Run every (scenario, system) pair over ``runs`` radar-noise draws.

    The radar noise of scenario i is drawn from ``default_rng(seed + i)``: both systems see
    the same reports. Pairs run in ``jobs`` processes (default: the CPU count, at most 4).
    """
    if not (isinstance(runs, int) and runs >= 1):
        raise ValueError(f"runs must be an integer >= 1, got {runs!r}")
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown system(s) {unknown}; choose from {sorted(SYSTEMS)}")
    work = [(sc, sy, runs, seed + i, step) for i, sc in enumerate(scenarios) for sy in systems]
    jobs = min(len(work), jobs or min(4, os.cpu_count() or 1))
    if jobs <= 1:
        return [_one(w) for w in work]
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        return list(ex.map(_one, work))


def explain_false_alerts(run: AlertRun, boost_end: float) -> dict[str, float]:
    """Share of a system's false alerts by cause, from the track that triggered each.

    ``boost``: issued before ``boost_end`` (last burnout + 10 s); ``young track``: the
    triggering track was < 60 s old; ``old track``: otherwise. The triggering track is the one
    whose row at the issue time satisfies the policy's trigger (point in region for the naive
    policy, largest P otherwise).
    """
    tl, imp = run.timeline, run.impacts
    false = np.isfinite(tl.issued) & ~run.truth_hit
    n = int(false.sum())
    out = {"false_alerts": n, "boost": 0.0, "young track": 0.0, "old track": 0.0}
    if n == 0:
        return out
    p = imp.p_region[REGION]
    for r, t in zip(tl.runs[false], tl.issued[false], strict=True):
        rows = np.flatnonzero((imp.run == r) & (imp.t == t) & (imp.track >= 0))
        k = rows[np.argmax(p[rows])] if rows.size else None
        age = imp.track_age_s[k] if k is not None else np.nan
        if t < boost_end:
            out["boost"] += 1
        elif age < 60.0:
            out["young track"] += 1
        else:
            out["old track"] += 1
    for key in ("boost", "young track", "old track"):
        out[key] /= n
    return out


def summarise_demo(results: Sequence[AlertRun]) -> dict[str, Any]:
    """JSON-ready table: runs, false / missed alert rates and median lead time per system."""
    out: dict[str, Any] = {"runs": None, "false_alert_rate": {}, "false_alert_ci": {},
                           "missed_alert_rate": {}, "missed_alert_ci": {},
                           "median_lead_time_s": {}, "median_lead_time_ci_s": {},
                           "false_alert_causes": {}, "tracking_seconds": {}}  # fmt: skip
    for r in results:
        out["runs"] = r.runs
        sc = score_alerts(r.timeline, r.truth_hit, np.full(r.truth_hit.size, r.t_impact_true))
        out["tracking_seconds"][f"{r.system}/{r.scenario}"] = round(r.tracking_seconds, 1)
        if r.truth_hit.any():  # the counterfactual: missed alerts and lead time
            out["missed_alert_rate"][r.system] = sc.missed_alert_rate
            out["missed_alert_ci"][r.system] = [float(x) for x in sc.missed_alert_ci]
            med = float(np.median(sc.lead_time)) if sc.lead_time.size else None
            out["median_lead_time_s"][r.system] = med
            out["median_lead_time_ci_s"][r.system] = [
                None if not np.isfinite(x) else float(x) for x in sc.lead_time_median_ci
            ]
            # honest misses: an alert withdrawn before impact is a miss for the residents
            for key, rate, ci in (
                ("alert_in_force_rate", sc.in_force_rate, sc.in_force_ci),
                ("withdrawn_alert_rate", sc.withdrawn_rate, sc.withdrawn_ci),
                ("missed_in_force_rate", sc.missed_in_force_rate, sc.missed_in_force_ci),
            ):
                out.setdefault(key, {})[r.system] = _num(rate)
                out.setdefault(key.replace("_rate", "_ci"), {})[r.system] = [_num(x) for x in ci]
        else:
            out["false_alert_rate"][r.system] = sc.false_alert_rate
            out["false_alert_ci"][r.system] = [float(x) for x in sc.false_alert_ci]
            burnouts = [t for t, _, k in r.events if k == "burnout"]
            out["false_alert_causes"][r.system] = explain_false_alerts(
                r, max(burnouts, default=0.0) + 10.0
            )
            # false alerts: withdrawn before the impact? how long were they in force?
            out.setdefault("false_alert_withdrawn_rate", {})[r.system] = _num(
                sc.false_withdrawn_rate
            )
            out.setdefault("false_alert_withdrawn_ci", {})[r.system] = [
                _num(x) for x in sc.false_withdrawn_ci
            ]
            out.setdefault("median_false_alert_duration_s", {})[r.system] = (
                _num(np.median(sc.false_duration)) if sc.false_duration.size else None
            )
    out["threshold_sweep"] = sweep_thresholds(results)
    return out


def _num(x: float) -> float | None:
    """JSON number: None for NaN / inf."""
    return float(x) if np.isfinite(x) else None


def sweep_thresholds(results: Sequence[AlertRun], system: str = "separation-aware") -> dict:
    """The probabilistic policy's trade-off curve over its threshold (1e-6 ... 1e-1, 11
    log-spaced values, then 0.2 and 0.5): false-alert rate on the scenario whose rv misses the
    region, missed-alert rate and median lead time on the one where it hits, with the
    system's other gates unchanged (:func:`trackers.metrics.alerts.threshold_sweep`)."""
    from trackers.metrics.alerts import threshold_sweep

    policy = SYSTEMS[system][1]
    if not isinstance(policy, ProbabilisticPolicy):
        return {}
    thresholds = np.r_[np.logspace(-6, -1, 11), 0.2, 0.5]
    out: dict[str, Any] = {"system": system, "thresholds": thresholds.tolist()}
    for r in results:
        if r.system != system:
            continue
        sw = threshold_sweep(r.impacts, REGION, r.truth_hit, np.full(r.truth_hit.size,
                             r.t_impact_true), thresholds=thresholds, base=policy)  # fmt: skip
        if r.truth_hit.any():
            out["missed_alert_rate"] = sw.missed_alert_rate.tolist()
            out["median_lead_time_s"] = [None if not np.isfinite(x) else float(x)
                                         for x in sw.lead_time_median]  # fmt: skip
        else:
            out["false_alert_rate"] = sw.false_alert_rate.tolist()
    return out
