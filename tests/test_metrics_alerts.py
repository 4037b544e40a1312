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
