"""Alert policies and timelines: hand-built logs with known answers, and a per-run oracle."""

import numpy as np
import pytest

from trackers.impact.alerts import (
    CONFIRMED,
    LABEL_DEBRIS,
    LABEL_RV,
    ImpactLog,
    NaivePolicy,
    ProbabilisticPolicy,
    TrackExistsPolicy,
    alert_timeline,
    row_flags,
)
from trackers.impact.regions import load_regions

HK = "hokkaido"
SAPPORO = (np.radians(43.06), np.radians(141.35))
SEA = (np.radians(41.0), np.radians(136.0))  # Sea of Japan, far from Hokkaido


def _log(rows):
    """rows: (run, t, track, label, status, age, n_upd, inside, p)."""
    a = np.array(rows, dtype=float)
    inside = a[:, 7].astype(bool)
    lat = np.where(inside, SAPPORO[0], SEA[0])
    lon = np.where(inside, SAPPORO[1], SEA[1])
    n = len(a)
    return ImpactLog(
        run=a[:, 0].astype(int),
        t=a[:, 1],
        track=a[:, 2].astype(int),
        label=a[:, 3].astype(int),
        status=a[:, 4].astype(int),
        track_age_s=a[:, 5],
        n_updates=a[:, 6].astype(int),
        t_impact=np.full(n, 600.0),
        lat=lat,
        lon=lon,
        cov_ground=np.broadcast_to(np.eye(2) * 1e6, (n, 2, 2)),
        p_region={HK: a[:, 8]},
    )


C, T = CONFIRMED, 1  # confirmed / tentative status
RV = LABEL_RV

# Run 0: a tentative track predicts Hokkaido at t=10, confirmed at t=20..40, then the
# prediction moves out at t=50; a placeholder (no track) at t=60, 70.
# Run 1: never inside; P small but >= 1e-6 at t=10 only.
# Run 2: confirmed inside at t=10, out at 20, back in at 40 (two episodes for cancel_after 0).
ROWS = [
    (0, 10, 1, RV, T, 0, 1, 1, 0.2),
    (0, 20, 1, RV, C, 10, 2, 1, 0.6),
    (0, 30, 1, RV, C, 20, 3, 1, 0.7),
    (0, 40, 1, RV, C, 30, 4, 1, 0.4),
    (0, 50, 1, RV, C, 40, 5, 0, 0.002),
    (0, 60, -1, 0, 0, 0, 0, 0, 0.0),
    (0, 70, -1, 0, 0, 0, 0, 0, 0.0),
    (1, 10, 7, LABEL_DEBRIS, C, 50, 9, 0, 1e-5),
    (1, 20, 7, LABEL_DEBRIS, C, 60, 10, 0, 1e-8),
    (2, 10, 3, RV, C, 5, 5, 1, 0.9),
    (2, 20, 3, RV, C, 15, 6, 0, 0.0),
    (2, 30, 3, RV, C, 25, 7, 0, 0.0),
    (2, 40, 3, RV, C, 35, 8, 1, 0.9),
    (2, 50, 3, RV, C, 45, 9, 1, 0.9),
]


@pytest.fixture(scope="module")
def log():
    rng = np.random.default_rng(0)
    lg = _log(ROWS)
    perm = rng.permutation(len(ROWS))  # row order must not matter
    return ImpactLog(
        *(getattr(lg, f)[perm] for f in ImpactLog._fields[:-1]), {HK: lg.p_region[HK][perm]}
    )


def test_naive_policy_known_timeline(log):
    tl = alert_timeline(log, NaivePolicy(cancel_after_s=0.0), HK)
    np.testing.assert_array_equal(tl.runs, [0, 1, 2])
    # run 0: confirmed inside first at 20 (the tentative row at 10 only sustains); out at 50
    # run 2: 10 -> cancelled 20; re-issued 40 (still active at the end)
    np.testing.assert_array_equal(tl.issued, [20.0, np.nan, 10.0])
    np.testing.assert_array_equal(tl.cancelled, [50.0, np.nan, 20.0])
    np.testing.assert_array_equal(tl.n_episodes, [1, 0, 2])
    np.testing.assert_array_equal(tl.n_updates, [3, 0, 1])  # refreshes at 20, 30, 40


def test_naive_policy_cancel_delay_merges_episodes(log):
    tl = alert_timeline(log, NaivePolicy(cancel_after_s=25.0), HK)
    # run 2: after the sustaining time 10 the first logged time >= 10 + 25 is 40, which is
    # sustaining again: no cancellation, one episode, still active at the end (NaN).
    # run 0: last sustaining time 40, first logged time >= 65 is the placeholder at 70.
    np.testing.assert_array_equal(tl.n_episodes, [1, 0, 1])
    np.testing.assert_array_equal(tl.cancelled, [70.0, np.nan, np.nan])  # run 0: 40 + 25 -> 70


def test_track_exists_policy(log):
    tl = alert_timeline(log, TrackExistsPolicy(), HK)
    # run 0: tentative track inside at 10 issues; at 50 P = 0.002 >= 1e-6 keeps it; the first
    # decision without a track (60) cancels.  run 1: P = 1e-5 at 10 issues, 1e-8 at 20 cancels.
    np.testing.assert_array_equal(tl.issued, [10.0, 10.0, 10.0])
    np.testing.assert_array_equal(tl.cancelled, [60.0, 20.0, 20.0])


def test_probabilistic_policy_gates_and_hysteresis(log):
    pol = ProbabilisticPolicy(threshold=0.5, cancel_factor=0.5, cancel_after_s=0.0)
    tl = alert_timeline(log, pol, HK)
    # run 0: P 0.6 at 20 (confirmed) issues; 0.4 >= 0.25 at 40 sustains; 0.002 at 50 cancels
    np.testing.assert_array_equal(tl.issued, [20.0, np.nan, 10.0])
    np.testing.assert_array_equal(tl.cancelled, [50.0, np.nan, 20.0])
    # track-age gate: run 2 first qualifies at t = 40 (age 35 >= 30); run 0 at t = 40 has
    # P = 0.4 < 0.5 and never triggers afterwards
    tl2 = alert_timeline(log, ProbabilisticPolicy(threshold=0.5, min_track_age_s=30.0), HK)
    np.testing.assert_array_equal(tl2.issued, [np.nan, np.nan, 40.0])
    # label gate: debris never alerts, however low the threshold
    tl3 = alert_timeline(log, ProbabilisticPolicy(threshold=1e-6), HK)
    assert np.isnan(tl3.issued[1])
    tl4 = alert_timeline(log, ProbabilisticPolicy(threshold=1e-6, only_labels=(3,)), HK)
    assert tl4.issued[1] == 10.0


def _oracle(log, policy, region):
    """Per-run state machine over the logged decision times (independent of the sort logic)."""
    trig, sus = row_flags(log, policy, region)
    out = {}
    for run in np.unique(log.run):
        times = np.unique(log.t[log.run == run])
        active, last_sus, issued, cancelled, eps, upd = False, -np.inf, np.nan, np.nan, 0, 0
        for t in times:
            sel = (log.run == run) & (log.t == t)
            tr, su = trig[sel].any(), sus[sel].any()
            if active:
                if su:
                    last_sus = t
                    upd += eps == 1
                elif t - last_sus >= policy.cancel_after_s:
                    active = False
                    if eps == 1:
                        cancelled = t
            if not active and tr:
                active, last_sus, eps = True, t, eps + 1
                if eps == 1:
                    issued, upd = t, 1
        out[run] = (issued, cancelled, eps, upd)
    return out


@pytest.mark.parametrize(
    "policy",
    [
        NaivePolicy(0.0),
        NaivePolicy(15.0),
        TrackExistsPolicy(),
        ProbabilisticPolicy(threshold=0.3, cancel_factor=0.3, cancel_after_s=20.0),
        ProbabilisticPolicy(threshold=0.05, min_updates=3, confirmed_only=False),
    ],
)
def test_vectorised_timeline_matches_per_run_oracle(policy):
    rng = np.random.default_rng(42)
    n_runs, n_t, n_tracks = 40, 30, 3
    run, t, tr = np.meshgrid(np.arange(n_runs), np.arange(n_t) * 2.0, np.arange(n_tracks))
    run, t, tr = run.ravel(), t.ravel(), tr.ravel()
    keep = rng.random(run.size) < 0.7  # tracks come and go
    run, t, tr = run[keep], t[keep], tr[keep]
    n = run.size
    inside = rng.random(n) < 0.3
    log = ImpactLog(
        run=run,
        t=t,
        track=tr,
        label=rng.choice([0, 1, 2, 3], n),
        status=rng.choice([1, 2], n),
        track_age_s=rng.uniform(0, 60, n),
        n_updates=rng.integers(0, 10, n),
        t_impact=np.full(n, 100.0),
        lat=np.where(inside, SAPPORO[0], SEA[0]),
        lon=np.where(inside, SAPPORO[1], SEA[1]),
        cov_ground=np.broadcast_to(np.eye(2), (n, 2, 2)),
        p_region={HK: np.where(rng.random(n) < 0.5, rng.random(n), 0.0)},
    )
    region = load_regions()[HK]
    tl = alert_timeline(log, policy, region)
    ref = _oracle(log, policy, region)
    assert tl.runs.size == n_runs
    for i, r in enumerate(tl.runs):
        issued, cancelled, eps, upd = ref[r]
        np.testing.assert_equal(
            (tl.issued[i], tl.cancelled[i], tl.n_episodes[i], tl.n_updates[i]),
            (issued, cancelled, eps, upd),
            err_msg=f"run {r}",
        )
    assert np.nansum(tl.n_episodes) > 0  # the test exercised alerts


def test_naive_policy_needs_no_probabilities(log):
    tl = alert_timeline(log._replace(p_region={}), NaivePolicy(), HK)
    np.testing.assert_array_equal(tl.issued, [20.0, np.nan, 10.0])


def test_bad_input(log):
    with pytest.raises(ValueError, match="region_id"):
        alert_timeline(log._replace(p_region={}), TrackExistsPolicy(), HK)
    with pytest.raises(ValueError, match="unknown id"):
        alert_timeline(log, NaivePolicy(), "atlantis")
    with pytest.raises(ValueError, match=r"log\.t"):
        alert_timeline(log._replace(t=log.t[:-1]), NaivePolicy(), HK)
    with pytest.raises(ValueError, match="threshold"):
        ProbabilisticPolicy(threshold=0.0)
    with pytest.raises(ValueError, match="cancel_after_s"):
        NaivePolicy(cancel_after_s=-1.0)
    with pytest.raises(TypeError, match="policy"):
        alert_timeline(log, object(), HK)


def test_holding_an_alert_without_evidence():
    """A lost track does not withdraw the alert when ``hold_without_evidence``; a gated track
    predicting elsewhere does (the negative case), and so does the plain policy."""
    rows = [(0, 10, 1, RV, C, 50, 10, 1, 0.9)]  # run 0: alert, then the track is lost
    rows += [(0, t, -1, 0, 0, 0, 0, 0, 0.0) for t in range(20, 200, 10)]
    rows += [(1, 10, 1, RV, C, 50, 10, 1, 0.9)]  # run 1: the same track then predicts the sea
    rows += [(1, t, 1, RV, C, 50 + t, 10 + t, 0, 1e-4) for t in range(20, 200, 10)]
    rows += [(2, 10, 1, RV, C, 50, 10, 1, 0.9)]  # run 2: a stage-labelled track only
    rows += [(2, t, 2, 2, C, 50 + t, 10 + t, 0, 1e-4) for t in range(20, 200, 10)]
    lg = _log(rows)
    kw = dict(threshold=0.1, cancel_after_s=30.0)
    plain = alert_timeline(lg, ProbabilisticPolicy(**kw), HK)
    hold = alert_timeline(lg, ProbabilisticPolicy(**kw, hold_without_evidence=True), HK)
    np.testing.assert_array_equal(plain.issued, [10, 10, 10])
    np.testing.assert_array_equal(plain.cancelled, [40, 40, 40])
    np.testing.assert_array_equal(hold.issued, [10, 10, 10])
    # run 0: nothing contradicts the alert; run 1: a gated rv track predicts the sea for
    # 30 s; run 2: the only track is labelled stage (no evidence about the rv): held
    np.testing.assert_array_equal(hold.cancelled, [np.nan, 40, np.nan])


def test_sustain_labels_keep_an_alert_through_a_label_swap():
    """The rv label moves from the alerting track to its neighbour, which predicts the sea,
    while the first track (now labelled stage) still predicts the region: with stage-labelled
    tracks allowed to sustain, the alert stays; without, it is withdrawn. A stage track that
    predicts the sea as well sustains nothing (the negative case)."""
    rows = [(0, 10, 1, RV, C, 50, 10, 1, 0.9), (1, 10, 1, RV, C, 50, 10, 1, 0.9)]
    for t in range(20, 200, 10):
        a, n = 50 + t, 10 + t  # age, updates
        rows += [(0, t, 1, 2, C, a, n, 1, 0.9), (0, t, 2, RV, C, a, n, 0, 1e-4)]
        rows += [(1, t, 1, 2, C, a, n, 0, 1e-4), (1, t, 2, RV, C, a, n, 0, 1e-4)]
    lg = _log(rows)
    kw = dict(threshold=0.1, cancel_after_s=30.0, hold_without_evidence=True)
    by_rv = alert_timeline(lg, ProbabilisticPolicy(**kw), HK)
    by_any = alert_timeline(lg, ProbabilisticPolicy(**kw, sustain_labels=(RV, 0, 2)), HK)
    np.testing.assert_array_equal(by_rv.issued, [10, 10])
    np.testing.assert_array_equal(by_any.issued, [10, 10])  # issuing still needs an rv track
    np.testing.assert_array_equal(by_rv.cancelled, [40, 40])
    np.testing.assert_array_equal(by_any.cancelled, [np.nan, 40])
    with pytest.raises(TypeError, match="sustain_labels"):
        ProbabilisticPolicy(sustain_labels=[1, 2])  # type: ignore[arg-type]
