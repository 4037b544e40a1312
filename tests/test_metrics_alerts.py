"""Alert scores: Wilson intervals vs scipy, hand-built timelines with known rates, the sweep."""

import numpy as np
import pytest
from scipy.stats import binomtest

from trackers.impact.alerts import CONFIRMED, LABEL_RV, AlertTimeline, ImpactLog
from trackers.metrics.alerts import (
    QUANTILES,
    median_ci,
    score_alerts,
    threshold_sweep,
    wilson_interval,
)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (17, 250), (1, 1)])
def test_wilson_matches_scipy(k, n):
    lo, hi = wilson_interval(k, n)
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert lo == pytest.approx(ref.low, abs=1e-12)
    assert hi == pytest.approx(ref.high, abs=1e-12)


def test_wilson_vectorised_and_errors():
    lo, hi = wilson_interval(np.array([0, 5]), np.array([0, 10]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])  # empty denominator
    assert lo[1] < 0.5 < hi[1]
    with pytest.raises(ValueError, match="k, n"):
        wilson_interval(5, 3)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 3, confidence=1.5)


def test_median_ci_brute_force_coverage():
    # Order-statistic CI: coverage >= 95 % on exponential samples (brute force, seeded).
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(400):
        x = rng.exponential(1.0, 25)
        lo, hi = median_ci(x)
        hits += lo <= np.log(2.0) <= hi
    assert hits / 400 > 0.93
    assert np.isnan(median_ci([])).all()


def _timeline(issued, cancelled):
    n = len(issued)
    return AlertTimeline(
        "hokkaido",
        np.arange(n),
        np.array(issued, float),
        np.array(cancelled, float),
        np.zeros(n, int),
        np.isfinite(issued).astype(int),
    )


def test_scores_hand_built():
    nan = np.nan
    # 6 runs; truth hits the region in runs 0-2.
    #   run 0: alerted at 100, impact 400 -> lead 300, never cancelled -> duration 300
    #   run 1: alerted at 450 after impact 400 -> missed (too late); never cancelled: duration 0
    #   run 2: no alert -> missed
    #   run 3: false alert 50 -> cancelled 80 (duration 30)
    #   run 4: false alert 200, never cancelled, impact 500 -> duration 300
    #   run 5: no alert, no hit -> correct rejection
    tl = _timeline([100, 450, nan, 50, 200, nan], [nan, nan, nan, 80, nan, nan])
    hit = np.array([1, 1, 1, 0, 0, 0], bool)
    t_imp = np.array([400, 400, 400, 300, 500, 300], float)
    s = score_alerts(tl, hit, t_imp)
    assert (s.n_runs, s.n_hit, s.n_false, s.n_missed) == (6, 3, 2, 2)
    assert s.false_alert_rate == pytest.approx(2 / 3)
    assert s.missed_alert_rate == pytest.approx(2 / 3)
    np.testing.assert_allclose(s.false_alert_ci, wilson_interval(2, 3))
    np.testing.assert_allclose(s.lead_time, [300.0])
    np.testing.assert_allclose(s.lead_time_quantiles, [300.0] * len(QUANTILES))
    np.testing.assert_allclose(np.sort(s.duration), [0.0, 30.0, 300.0, 300.0])


def test_scores_no_hits_gives_nan_missed_rate():
    tl = _timeline([np.nan, 5.0], [np.nan, np.nan])
    s = score_alerts(tl, [False, False], [10.0, 10.0])
    assert np.isnan(s.missed_alert_rate) and s.false_alert_rate == 0.5
    assert np.isnan(s.lead_time_quantiles).all()
    with pytest.raises(ValueError, match="truth_hit"):
        score_alerts(tl, [True], [10.0, 10.0])


def test_threshold_sweep_trade_off():
    # 4 runs, one confirmed RV track each, P constant in time: 0.5, 1e-3, 1e-5 (hits) and
    # 1e-2 (miss). Thresholds 1e-6, 1e-4, 1e-1 issue at t = 0 for P >= threshold.
    p_run = np.array([0.5, 1e-3, 1e-5, 1e-2])
    t = np.arange(0.0, 50.0, 10.0)
    run, tt = np.meshgrid(np.arange(4), t, indexing="ij")
    run, tt = run.ravel(), tt.ravel()
    n = run.size
    log = ImpactLog(
        run=run,
        t=tt,
        track=np.zeros(n, int),
        label=np.full(n, LABEL_RV),
        status=np.full(n, CONFIRMED),
        track_age_s=tt,
        n_updates=np.full(n, 10),
        t_impact=np.full(n, 100.0),
        lat=np.full(n, np.radians(41.0)),
        lon=np.full(n, np.radians(136.0)),
        cov_ground=np.broadcast_to(np.eye(2), (n, 2, 2)),
        p_region={"hokkaido": p_run[run]},
    )
    hit = np.array([True, True, True, False])
    sw = threshold_sweep(log, "hokkaido", hit, np.full(4, 100.0), thresholds=[1e-6, 1e-4, 1e-1])
    np.testing.assert_allclose(sw.missed_alert_rate, [0.0, 1 / 3, 2 / 3])
    np.testing.assert_allclose(sw.false_alert_rate, [1.0, 1.0, 0.0])
    np.testing.assert_allclose(sw.lead_time_median, [100.0, 100.0, 100.0])
    assert sw.false_alert_ci.shape == (3, 2)
    # default grid 1e-6 .. 1e-1: missed rate non-decreasing, false rate non-increasing
    full = threshold_sweep(log, "hokkaido", hit, np.full(4, 100.0))
    assert full.thresholds[0] == pytest.approx(1e-6) and full.thresholds[-1] == pytest.approx(0.1)
    assert np.all(np.diff(full.missed_alert_rate) >= 0)
    assert np.all(np.diff(full.false_alert_rate) <= 0)


def _episode_timeline(episodes, n):
    """Timeline from (run, issued, cancelled) episodes (NaN cancelled: still active)."""
    ep = np.array(episodes, float).reshape(-1, 3)
    run = ep[:, 0].astype(int)
    order = np.lexsort((ep[:, 1], run))
    run, iss, can = run[order], ep[order, 1], ep[order, 2]
    first = np.full(n, np.nan)
    first_c = np.full(n, np.nan)
    for r in range(n)[::-1]:  # per-run oracle of the first episode (tests only)
        k = np.flatnonzero(run == r)
        if k.size:
            first[r], first_c[r] = iss[k[0]], can[k[0]]
    return AlertTimeline("hokkaido", np.arange(n), first, first_c, np.zeros(n, int),
                         np.bincount(run, minlength=n), run, iss, can)  # fmt: skip


def test_withdrawn_true_alert_counts_as_missed_for_the_residents():
    nan = np.nan
    # 5 runs hitting the region at t = 1000:
    #   run 0: issued 100, never cancelled             -> in force
    #   run 1: issued 100, cancelled 400               -> withdrawn (the old score: not missed)
    #   run 2: issued 100, cancelled 400, again 700    -> in force (second episode)
    #   run 3: no alert                                -> missed
    #   run 4: issued 990, never cancelled             -> in force at impact, not at 1000 - 60
    tl = _episode_timeline(
        [(0, 100, nan), (1, 100, 400), (2, 100, 400), (2, 700, nan), (4, 990, nan)], 5
    )
    hit = np.ones(5, bool)
    t_imp = np.full(5, 1000.0)
    s = score_alerts(tl, hit, t_imp)
    assert (s.n_missed, s.n_in_force, s.n_withdrawn) == (1, 3, 1)  # the old score misses 1
    assert s.missed_alert_rate == pytest.approx(1 / 5)  # unchanged (issued before impact)
    assert s.missed_in_force_rate == pytest.approx(2 / 5)  # the withdrawn run 1 is a miss
    assert s.withdrawn_rate == pytest.approx(1 / 5)
    np.testing.assert_allclose(s.in_force_ci, wilson_interval(3, 5))
    np.testing.assert_allclose(s.withdrawn_ci, wilson_interval(1, 5))
    np.testing.assert_allclose(s.missed_in_force_ci, wilson_interval(2, 5))
    # a 60 s horizon: run 4's alert (10 s before impact) is too late -> not in force
    h = score_alerts(tl, hit, t_imp, horizon_s=60.0)
    assert (h.n_in_force, h.n_withdrawn, h.horizon_s) == (2, 1, 60.0)
    assert h.missed_in_force_rate == pytest.approx(3 / 5)
    # a cancellation exactly at the reference time leaves nothing in force then
    c = score_alerts(_episode_timeline([(0, 100, 1000)], 1), [True], [1000.0])
    assert (c.n_in_force, c.n_withdrawn) == (0, 1)
    with pytest.raises(ValueError, match="horizon_s"):
        score_alerts(tl, hit, t_imp, horizon_s=-1.0)


def test_false_alert_duration_and_withdrawal():
    nan = np.nan
    # 4 runs, none hits; the missile falls at t = 2000:
    #   run 0: false alert 1980 (33 min) cancelled 3180 (20 min later, the 2023-04-13 record:
    #          after the impact -> not withdrawn before impact), duration 1200 s
    #   run 1: false alert 500 -> 600 and 800 -> 900: withdrawn, total duration 200 s
    #   run 2: false alert 1500, never cancelled: in force at impact, duration 500 s
    #   run 3: no alert
    tl = _episode_timeline([(0, 1980, 3180), (1, 500, 600), (1, 800, 900), (2, 1500, nan)], 4)
    s = score_alerts(tl, np.zeros(4, bool), np.full(4, 2000.0))
    assert s.n_false == 3 and s.n_false_withdrawn == 1
    np.testing.assert_array_equal(s.false_withdrawn, [False, True, False])
    np.testing.assert_allclose(s.false_duration, [1200.0, 200.0, 500.0])
    assert s.false_withdrawn_rate == pytest.approx(1 / 3)
    np.testing.assert_allclose(s.false_withdrawn_ci, wilson_interval(1, 3))
    assert np.isnan(s.in_force_rate) and np.isnan(s.missed_in_force_rate)  # no hitting run


def test_first_alert_only_timelines_still_score():
    # hand-built timelines without episode arrays: the first alert stands for the run
    tl = _timeline([100.0, 100.0, np.nan], [np.nan, 400.0, np.nan])
    s = score_alerts(tl, [True, True, True], [1000.0] * 3)
    assert (s.n_missed, s.n_in_force, s.n_withdrawn) == (1, 1, 1)


def test_timeline_episodes_from_the_policy_match_the_scores():
    # one run, one confirmed rv track: P high at 0-20, low at 30-50, high at 60-70 -> two
    # episodes of the probabilistic policy (cancel_after 0), the second in force at impact
    from trackers.impact.alerts import ProbabilisticPolicy, alert_timeline

    t = np.arange(0.0, 80.0, 10.0)
    p = np.array([0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.5, 0.5])
    n = t.size
    log = ImpactLog(
        run=np.zeros(n, int), t=t, track=np.zeros(n, int), label=np.full(n, LABEL_RV),
        status=np.full(n, CONFIRMED), track_age_s=t + 100.0, n_updates=np.full(n, 10),
        t_impact=np.full(n, 100.0), lat=np.full(n, np.radians(43.0)),
        lon=np.full(n, np.radians(141.0)), cov_ground=np.broadcast_to(np.eye(2), (n, 2, 2)),
        p_region={"hokkaido": p},
    )  # fmt: skip
    tl = alert_timeline(log, ProbabilisticPolicy(threshold=0.1, cancel_after_s=0.0), "hokkaido")
    assert tl.n_episodes[0] == 2
    np.testing.assert_allclose(tl.episode_issued, [0.0, 60.0])
    np.testing.assert_allclose(tl.episode_cancelled, [30.0, np.nan])
    s = score_alerts(tl, [True], [100.0])
    assert (s.n_in_force, s.n_withdrawn) == (1, 0)
    # the impact at 45 s falls between the episodes: withdrawn
    s = score_alerts(tl, [True], [45.0])
    assert (s.n_in_force, s.n_withdrawn) == (0, 1)


def test_demo_summary_reports_withdrawn_and_in_force_alerts():
    from trackers.alert_study import AlertRun, summarise_demo
    from trackers.impact.alerts import NaivePolicy, alert_timeline

    sapporo, sea = (np.radians(43.06), np.radians(141.35)), (np.radians(43.15), np.radians(136.37))

    def log(rows):  # (run, t, on land)
        run, t, land = (np.array(c) for c in zip(*rows, strict=True))
        n = run.size
        return ImpactLog(
            run=run, t=t.astype(float), track=np.zeros(n, int), label=np.ones(n, int),
            status=np.full(n, CONFIRMED), track_age_s=np.full(n, 100.0),
            n_updates=np.full(n, 50), t_impact=np.full(n, 2300.0),
            lat=np.where(land, sapporo[0], sea[0]), lon=np.where(land, sapporo[1], sea[1]),
            cov_ground=np.broadcast_to(np.eye(2) * 1e8, (n, 2, 2)),
            p_region={"hokkaido": land.astype(float)},
        )  # fmt: skip

    def run(scenario, lg, hit):
        tl = alert_timeline(lg, NaivePolicy(), "hokkaido")
        return AlertRun(scenario, "naive", tl.runs.size, tl, lg, np.full(tl.runs.size, hit),
                        2300.0, [], sea, 1.0, 10)  # fmt: skip

    # onland: run 0 alerted at 300 and in force; run 1 alerted at 300, withdrawn at 600
    rows = [(0, 300, 1), (0, 600, 1), (0, 2290, 1), (1, 300, 1), (1, 600, 0), (1, 2290, 0)]
    onland = run("hokkaido-2023-onland", log(rows), True)
    # sea: run 0 false alert 1980 -> withdrawn 2100 (before the 2300 s impact); run 1 none
    false = run("hokkaido-2023", log([(0, 1980, 1), (0, 2100, 0), (1, 1980, 0)]), False)
    out = summarise_demo([false, onland])
    assert out["missed_alert_rate"]["naive"] == 0.0  # the old score: both were "warned"
    assert out["missed_in_force_rate"]["naive"] == 0.5  # run 1's alert was withdrawn
    assert out["withdrawn_alert_rate"]["naive"] == 0.5
    assert out["alert_in_force_rate"]["naive"] == 0.5
    assert len(out["alert_in_force_ci"]["naive"]) == 2
    assert out["false_alert_withdrawn_rate"]["naive"] == 1.0
    assert out["median_false_alert_duration_s"]["naive"] == 120.0
