"""Demo summary, false-alert causes and the threshold sweep on hand-made alert runs."""

from __future__ import annotations

import numpy as np

from trackers.alert_study import AlertRun, explain_false_alerts, summarise_demo
from trackers.impact.alerts import ImpactLog, NaivePolicy, alert_timeline
from trackers.impact.regions import load_regions

SAPPORO = (np.radians(43.06), np.radians(141.35))
SEA = (np.radians(43.15), np.radians(136.37))


def _log(rows: list[tuple[int, float, int, float, tuple[float, float], float]]) -> ImpactLog:
    """rows: (run, t, track, age, (lat, lon), p_hokkaido)."""
    n = len(rows)
    run, t, trk, age, ll, p = (list(c) for c in zip(*rows, strict=True))
    return ImpactLog(
        run=np.array(run), t=np.array(t, float), track=np.array(trk), label=np.ones(n, int),
        status=np.full(n, 2), track_age_s=np.array(age, float), n_updates=np.full(n, 50),
        t_impact=np.full(n, 2300.0), lat=np.array([a for a, _ in ll]),
        lon=np.array([b for _, b in ll]), cov_ground=np.broadcast_to(np.eye(2) * 1e8, (n, 2, 2)),
        p_region={"hokkaido": np.array(p, float)},
    )  # fmt: skip


def _run(scenario: str, system: str, log: ImpactLog, hit: bool) -> AlertRun:
    tl = alert_timeline(log, NaivePolicy(), load_regions()["hokkaido"])
    events = [(70.0, "rv", "burnout"), (219.0, "rv", "burnout"), (220.0, "stage-3", "separation")]
    return AlertRun(scenario, system, tl.runs.size, tl, log, np.full(tl.runs.size, hit), 2300.0,
                    events, SEA, 1.0, 10)  # fmt: skip


def test_false_alert_causes_and_summary():
    # run 0: a 9 s old track predicts Sapporo at 600 s; run 1: an old track at 1000 s;
    # run 2: during the boost (100 s); run 3: nothing on land
    log = _log([
        (0, 600.0, 5, 9.0, SAPPORO, 0.9), (0, 600.0, 1, 500.0, SEA, 0.0),
        (1, 1000.0, 2, 700.0, SAPPORO, 0.8), (2, 100.0, 0, 90.0, SAPPORO, 0.7),
        (3, 600.0, 0, 500.0, SEA, 0.0),
    ])  # fmt: skip
    sea = _run("hokkaido-2023", "naive", log, hit=False)
    causes = explain_false_alerts(sea, boost_end=229.0)
    assert causes["false_alerts"] == 3
    assert np.isclose(causes["boost"], 1 / 3)
    assert np.isclose(causes["young track"], 1 / 3)
    assert np.isclose(causes["old track"], 1 / 3)
    onland = _run("hokkaido-2023-onland", "naive", _log([
        (0, 300.0, 0, 100.0, SAPPORO, 0.95), (1, 2400.0, 0, 100.0, SAPPORO, 0.95),
    ]), hit=True)  # fmt: skip
    out = summarise_demo([sea, onland])
    assert out["false_alert_rate"]["naive"] == 0.75
    assert out["missed_alert_rate"]["naive"] == 0.5  # run 1 alerts after the impact
    assert out["median_lead_time_s"]["naive"] == 2000.0
    assert out["false_alert_causes"]["naive"]["false_alerts"] == 3


def test_threshold_sweep_trades_false_against_missed_alerts():
    # separation-aware policy gates: rv label, >= 30 s old, >= 10 updates (all met here)
    sea = _run("hokkaido-2023", "separation-aware", _log([
        (0, 600.0, 1, 500.0, SEA, 0.05), (1, 600.0, 1, 500.0, SEA, 1e-4),
    ]), hit=False)  # fmt: skip
    onland = _run("hokkaido-2023-onland", "separation-aware", _log([
        (0, 600.0, 1, 500.0, SAPPORO, 0.3), (1, 600.0, 1, 500.0, SAPPORO, 0.9),
    ]), hit=True)  # fmt: skip
    sw = summarise_demo([sea, onland])["threshold_sweep"]
    th = np.array(sw["thresholds"])
    fa, ma = np.array(sw["false_alert_rate"]), np.array(sw["missed_alert_rate"])
    np.testing.assert_array_equal(fa, np.where(th <= 1e-4, 1.0, np.where(th <= 0.05, 0.5, 0.0)))
    np.testing.assert_array_equal(ma, np.where(th <= 0.3, 0.0, 0.5))
    assert np.all(np.diff(fa) <= 0) and np.all(np.diff(ma) >= 0)
