"""Tracker scoring (metrics.tracking, metrics.gospa): hand-made logs with known scores, a
brute-force GOSPA oracle, a per-run loop oracle for assignment / breaks / switches / false
tracks on random logs, and bad inputs."""

import datetime
import itertools
import json
import math

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from trackers.metrics.consistency import chi2_band
from trackers.metrics.gospa import _scipy_assign, assign_min_cost, gospa, gospa_from_distances
from trackers.metrics.tracking import (
    LABELS,
    ScoreConfig,
    TrackLog,
    concatenate,
    evaluate,
    observable_truth,
    score,
    summarise,
)
from trackers.sensors.detections import Detections
from trackers.sensors.synthetic import kepler_flight

EPOCHS = np.arange(0.0, 81.0)  # 1 s grid over the 80 s flight
OFFSET = 50.0  # track position error along the object's velocity [m]
SIG2 = OFFSET**2 / 3  # position variance making the position NEES exactly 3


@pytest.fixture(scope="module")
def flight():
    # rv from 0 s; stage-1 separates at 20 s, stage-2 at 40 s, both at 20 m/s
    return kepler_flight(duration_s=80.0, rate_hz=2.0, separations=(20.0, 40.0), separation_dv=20.0)


def make_det(rows, runs, origins=("rv", "stage-1", "stage-2", "rv+stage-1", "rv+stage-2")):
    """Detections from (run, t_meas, t_arrival, origin) tuples; z is irrelevant here."""
    origins = (*origins, "clutter")
    rows = sorted(rows, key=lambda r: (r[0], r[2]))
    n = len(rows)
    return Detections(
        run=np.array([r[0] for r in rows], np.int32),
        sensor_index=np.zeros(n, np.int16),
        t_meas=np.array([r[1] for r in rows], float),
        t_arrival=np.array([r[2] for r in rows], float),
        z=np.zeros((n, 4)),
        origin_index=np.array([origins.index(r[3]) for r in rows], np.int32),
        sensors=("r1",),
        sensor_sigmas=np.ones((1, 4)),
        origins=origins,
        runs=runs,
    )


def standard_det(runs, latency=0.0, resolve_after=3.0):
    """Every object reported each second: merged with the rv for ``resolve_after`` s after
    its separation (first report 1 s after it), alone afterwards."""
    rows = []
    for r in range(runs):
        for t in EPOCHS:
            rows.append((r, t, t + latency, "rv"))
            for k, ts in ((1, 20.0), (2, 40.0)):
                if t >= ts + 1:
                    tag = f"rv+stage-{k}" if t < ts + 1 + resolve_after else f"stage-{k}"
                    rows.append((r, t, t + latency, tag))
    return make_det(rows, runs)


def truth_row(flight, obj, t, sign=1.0):
    """Truth state of object ``obj`` at ``t`` moved by sign * OFFSET along its velocity."""
    s = flight.object(obj).state_at(t)
    x = s.copy()
    x[:3] += sign * OFFSET * s[3:] / np.linalg.norm(s[3:])
    return x


def make_log(flight, entries, runs, epochs=EPOCHS):
    """TrackLog from dict entries: run, epoch, track, obj (followed) or x, and options."""
    P = np.diag([SIG2] * 3 + [1.0] * 3)
    cols = {k: [] for k in ("run", "epoch", "track", "parent", "t", "x", "P", "status", "label",
                            "label_conf", "born")}  # fmt: skip
    for e in entries:
        x = e["x"] if "x" in e else truth_row(flight, e["obj"], e["epoch"], e.get("sign", 1.0))
        cols["run"].append(e["run"])
        cols["epoch"].append(e["epoch"])
        cols["track"].append(e["track"])
        cols["parent"].append(e.get("parent", -1))
        cols["t"].append(e["epoch"])
        cols["x"].append(x)
        cols["P"].append(P)
        cols["status"].append(e.get("status", 2))
        cols["label"].append(LABELS.index(e.get("label", "unknown")))
        cols["label_conf"].append(e.get("conf", 0.9))
        cols["born"].append(e.get("born", 0.0))
    return TrackLog(
        run=np.array(cols["run"], np.int32),
        epoch=np.array(cols["epoch"], float),
        track=np.array(cols["track"], np.int64),
        parent=np.array(cols["parent"], np.int64),
        t=np.array(cols["t"], float),
        x=np.array(cols["x"], float).reshape(-1, 6),
        P=np.array(cols["P"], float).reshape(-1, 6, 6),
        status=np.array(cols["status"], np.int8),
        label=np.array(cols["label"], np.int8),
        label_conf=np.array(cols["label_conf"], float),
        born=np.array(cols["born"], float),
        runs=runs,
        epochs=np.asarray(epochs, float),
    )


def perfect_entries(runs, first=(0.0, 21.0, 41.0)):
    """Track 1 on the rv (label rv), 2 and 3 on the stages (behind them, label stage)."""
    out = []
    for r in range(runs):
        for e in EPOCHS:
            out.append(dict(run=r, epoch=e, track=1, obj="rv", label="rv"))
            for k in (1, 2):
                if e >= first[k]:
                    out.append(dict(run=r, epoch=e, track=k + 1, obj=f"stage-{k}", sign=-1.0,
                                    label="stage", parent=1, born=first[k]))  # fmt: skip
    return out


# ------------------------------------------------------------------------------- GOSPA
def brute_gospa(X, Y, c, p=2.0):
    """min over partial injections X -> Y of the GOSPA sum, and its parts (loop oracle)."""
    n, m = len(X), len(Y)
    D = np.array([[np.linalg.norm(x - y) for y in Y] for x in X]).reshape(n, m)
    best = (math.inf, 0.0, 0, 0)
    for k in range(min(n, m) + 1):
        for xs in itertools.combinations(range(n), k):
            for ys in itertools.permutations(range(m), k):
                d = [D[i, j] for i, j in zip(xs, ys, strict=True)]
                if any(di >= c for di in d):
                    continue
                loc = sum(di**p for di in d)
                tot = loc + c**p / 2 * (n - k) + c**p / 2 * (m - k)
                if tot < best[0] - 1e-12:
                    best = (tot, loc, n - k, m - k)
    tot, loc, nm, nf = best
    half = c**p / 2
    return np.array([tot, loc, half * nm, half * nf]) ** (1 / p)


def test_gospa_analytic_case():
    # X = {0}, Y = {3, 100} on a line, c = 10: pair (0, 3) + one false: sqrt(9 + 50)
    X = np.array([[[0.0]]])
    Y = np.array([[[3.0], [100.0]]])
    g = gospa(X, [[True]], Y, [[True, True]], c=10.0)
    np.testing.assert_allclose(
        [g.total[0], g.localisation[0], g.missed[0], g.false[0]],
        [math.sqrt(59.0), 3.0, 0.0, math.sqrt(50.0)],
    )
    assert g.assignment.tolist() == [[0]]
    # the same truth 12 away from the only estimate: missed + false, no localisation
    g = gospa(X, [[True]], np.array([[[12.0]]]), [[True]], c=10.0)
    np.testing.assert_allclose([g.total[0], g.localisation[0]], [10.0, 0.0])
    assert g.assignment.tolist() == [[-1]]


def test_gospa_matches_brute_force_on_random_sets():
    rng = np.random.default_rng(7)
    N, K, M = 300, 4, 4
    X = rng.uniform(0, 30, (N, K, 2))
    Y = X[:, rng.permutation(K)] + rng.normal(0, 6, (N, M, 2))  # near the truths, shuffled
    xv = rng.random((N, K)) < 0.7
    yv = rng.random((N, M)) < 0.7
    for p in (2.0, 1.0):
        g = gospa(X, xv, Y, yv, c=10.0, p=p)
        want = np.array([brute_gospa(X[i][xv[i]], Y[i][yv[i]], 10.0, p) for i in range(N)])
        got = np.stack([g.total, g.localisation, g.missed, g.false], axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
        # decomposition: total^p = loc^p + missed^p + false^p
        np.testing.assert_allclose(g.total**p, got[:, 1:] @ np.ones(3) if p == 1 else
                                   (got[:, 1:] ** p).sum(axis=1), rtol=1e-12)  # fmt: skip
    assert {0, 1, 2, 3} <= set(np.unique((g.assignment >= 0).sum(axis=1)))


def test_gospa_matches_stone_soup():
    # Stone Soup's GOSPAMetric reports the parts as p-th powers; ours are their p-th roots
    ss = pytest.importorskip("stonesoup.metricgenerator.ospametric")
    from stonesoup.measures import Euclidean
    from stonesoup.types.state import State

    rng = np.random.default_rng(9)
    t = datetime.datetime(2023, 4, 12)
    metric = ss.GOSPAMetric(c=10.0, p=2.0, measure=Euclidean(mapping=(0, 1)))
    N = 40
    X = rng.uniform(0, 30, (N, 4, 2))
    Y = X + rng.normal(0, 6, (N, 4, 2))
    xv, yv = rng.random((N, 4)) < 0.7, rng.random((N, 4)) < 0.7
    ours = gospa(X, xv, Y, yv, c=10.0)
    for i in range(N):
        m, _ = metric.compute_gospa_metric(
            [State(y[:, None], timestamp=t) for y in Y[i][yv[i]]],
            [State(x[:, None], timestamp=t) for x in X[i][xv[i]]],
        )
        v = m.value
        np.testing.assert_allclose(
            [v["distance"], v["localisation"], v["missed"], v["false"]],
            [ours.total[i], ours.localisation[i] ** 2, ours.missed[i] ** 2, ours.false[i] ** 2],
            rtol=1e-9,
            atol=1e-9,
        )


def test_batched_assignment_equals_scipy_per_problem():
    rng = np.random.default_rng(8)
    cost = rng.uniform(0, 10, (200, 5, 6))
    feasible = rng.random((200, 5, 6)) < 0.6
    miss = np.full((200, 5), 6.0)
    a, b = assign_min_cost(cost, feasible, miss), _scipy_assign(cost, feasible, miss)

    def total(x):
        hit = x >= 0
        c = np.take_along_axis(cost, np.maximum(x, 0)[..., None], 2)[..., 0]
        return np.where(hit, c, miss).sum(axis=1)

    assert np.all(feasible[np.nonzero(a >= 0)[0], np.nonzero(a >= 0)[1], a[a >= 0]])
    np.testing.assert_allclose(total(a), total(b), rtol=1e-12)


def test_gospa_rejects_bad_input():
    X = np.zeros((1, 1, 2))
    with pytest.raises(ValueError, match="cut-off c"):
        gospa(X, [[True]], X, [[True]], c=0.0)
    with pytest.raises(ValueError, match="order p"):
        gospa(X, [[True]], X, [[True]], c=1.0, p=0.5)
    with pytest.raises(ValueError, match="truth_valid"):
        gospa_from_distances(np.zeros((1, 2, 1)), [[True]], [[True]], c=1.0)
    with pytest.raises(ValueError, match="X must be"):
        gospa(np.zeros((1, 2)), [[True]], X, [[True]], c=1.0)


# ------------------------------------------------------------------------------- hand-made logs
def test_observability_window_and_life(flight):
    det = make_det([(0, 10.0, 10.5, "rv"), (0, 30.0, 30.0, "rv+stage-1"), (1, 79.5, 79.5, "rv")],
                   runs=2)  # fmt: skip
    obs = observable_truth(flight, det, EPOCHS, 2, window_s=10.0)
    # reported at 10 s: observable for 10 <= e < 20 (window (e - W, e])
    assert np.flatnonzero(obs[0, :, 0]).tolist() == list(range(10, 20)) + list(range(30, 40))
    assert np.flatnonzero(obs[0, :, 1]).tolist() == list(range(30, 40))  # merged counts
    assert not obs[0, :, 2].any()
    # run 1: reported at 79.5 s, but the flight ends at 80 s: alive only at e = 80
    assert np.flatnonzero(obs[1, :, 0]).tolist() == [80]
    with pytest.raises(ValueError, match="not in the flight"):
        observable_truth(flight, make_det([(0, 1.0, 1.0, "rv+stage-9")], 1,
                                          origins=("rv+stage-9",)), EPOCHS, 1, 10.0)  # fmt: skip


def test_perfect_tracker_scores_localisation_only(flight):
    runs = 2
    det = standard_det(runs)
    log = make_log(flight, perfect_entries(runs), runs)
    ev = evaluate(log, flight, det)
    n_obs = ev.assignment.observable.sum(axis=2)
    np.testing.assert_array_equal(n_obs[0], 1 + (EPOCHS >= 21) + (EPOCHS >= 41))
    np.testing.assert_allclose(ev.assignment.gospa, OFFSET * np.sqrt(n_obs), rtol=1e-9)
    np.testing.assert_allclose(ev.assignment.localisation, ev.assignment.gospa, rtol=1e-12)
    assert not ev.assignment.missed.any() and not ev.assignment.false.any()
    # every object followed by its own track the whole time
    want = np.where(ev.assignment.observable, np.array([1, 2, 3]), -1)
    np.testing.assert_array_equal(ev.assignment.track, want)
    # NEES: position error 50 m with variance 2500/3 per axis -> exactly 3; velocity exact
    np.testing.assert_allclose(ev.per_epoch.nees_pos, 3.0, rtol=1e-6)
    np.testing.assert_allclose(ev.per_epoch.nees_vel, 0.0, atol=1e-9)
    np.testing.assert_allclose(ev.per_epoch.nees_band[-1], chi2_band(3, 3 * runs))
    s = summarise(ev, tracker="perfect")
    json.dumps(s, allow_nan=False)  # JSON-serialisable, no NaN
    assert s["gospa_mean_m"] == pytest.approx(np.mean(OFFSET * np.sqrt(n_obs)))
    assert s["gospa_missed_m"] == 0 and s["gospa_false_m"] == 0
    assert s["id_switches_per_run"] == 0 and s["track_breaks_per_run"] == 0
    assert s["rv_id_switches_per_run"] == 0 and s["false_tracks_per_run"] == 0
    assert s["rv_label_correct_frac"] == 1.0
    assert s["nees_pos_anees"] == pytest.approx(1.0) and s["nees_pos_in_band_frac"] == 1.0
    assert s["nees_vel_in_band_frac"] == 0.0  # zero error is too good: outside the band
    # children tracked at their first resolved report (t_sep + 4 s): delay 0
    assert s["spawn_delay_s_median"] == 0 and s["spawn_within_10s_frac"] == 1.0
    assert s["spawn_split_delay_s_median"] == 0 and s["spawn_resolved_events"] == 2 * runs
    assert s["time_to_confirm_s_median"] == 0
    assert s["by_role"]["stage-2"]["tracked_frac"] == 1.0
    assert s["by_role"]["rv"]["nees_pos_mean"] == pytest.approx(3.0)
    assert set(s["by_role"]) == {"rv", "stage-1", "stage-2"}


def test_swapped_rv_and_stage_halfway(flight):
    # tracks 1 (label rv) and 2 (label stage) swap objects at 51 s: the rv-labelled track then
    # follows the stage -> label right on 30 of the 60 scored epochs; one rv switch
    runs = 1
    flight1 = kepler_flight(duration_s=80.0, rate_hz=2.0, separations=(20.0,), separation_dv=20.0)
    det = standard_det(runs).select(~np.isin(standard_det(runs).origin, ["stage-2", "rv+stage-2"]))
    det = make_det([(0, t, t, o) for t, o in zip(det.t_meas, det.origin, strict=True)], runs,
                   origins=("rv", "stage-1", "rv+stage-1"))  # fmt: skip
    entries = []
    for e in EPOCHS:
        swap = e >= 51
        entries.append(dict(run=0, epoch=e, track=1, obj="stage-1" if swap else "rv",
                            sign=-1.0 if swap else 1.0, label="rv"))  # fmt: skip
        if e >= 21:
            entries.append(dict(run=0, epoch=e, track=2, obj="rv" if swap else "stage-1",
                                sign=1.0 if swap else -1.0, label="stage"))  # fmt: skip
    ev = evaluate(make_log(flight1, entries, runs), flight1, det)
    s = summarise(ev, tracker="swap")
    assert s["rv_label_correct_frac"] == 0.5
    assert s["rv_id_switches_per_run"] == 1
    assert s["id_switches_per_run"] == 2  # the stage moves from track 2 to track 1 as well
    assert s["track_breaks_per_run"] == 2
    assert ev.per_epoch.rv_label_correct[21:51].tolist() == [1.0] * 30
    assert ev.per_epoch.rv_label_correct[51:].tolist() == [0.0] * 30
    assert np.isnan(ev.per_epoch.rv_label_correct[:21]).all()  # before the last separation
    assert s["gospa_missed_m"] == 0 and s["false_tracks_per_run"] == 0


def test_correspondence_persistence_ignores_a_noise_swap(flight):
    # tracks 1 (rv) and 2 (stage-1) sit exactly on the other object at 45-46 s: the optimal
    # assignment swaps there and back (2 rv switches, 4 in all); with CLEAR MOT persistence
    # each object keeps its track (both still within c) -> 0 switches, same GOSPA
    runs = 1
    det = standard_det(runs)
    entries = []
    for e in EPOCHS:
        noisy = e in (45.0, 46.0)
        entries.append(dict(run=0, epoch=e, track=1, obj="stage-1" if noisy else "rv",
                            sign=0.0, label="rv"))  # fmt: skip
        if e >= 21:
            entries.append(dict(run=0, epoch=e, track=2, obj="rv" if noisy else "stage-1",
                                sign=0.0, label="stage"))  # fmt: skip
        if e >= 41:
            entries.append(dict(run=0, epoch=e, track=3, obj="stage-2", sign=0.0))
    log = make_log(flight, entries, runs)
    opt = evaluate(log, flight, det)
    per = evaluate(log, flight, det, ScoreConfig(keep_correspondence=True))
    assert opt.switches.tolist() == [[2, 2, 0]] and opt.breaks.sum() == 4
    assert per.switches.sum() == 0 and per.breaks.sum() == 0
    np.testing.assert_array_equal(per.assignment.gospa, opt.assignment.gospa)
    assert opt.assignment.gospa[0, 45] == 0.0  # the swapped pairing is exact
    assert per.assignment.track[0, 45].tolist() == [1, 2, 3]
    assert opt.assignment.track[0, 45].tolist() == [2, 1, 3]
    s = score(log, flight, det, tracker="p", keep_correspondence=True)
    assert s["keep_correspondence"] is True and s["rv_id_switches_per_run"] == 0
    # the rv label is judged on the epoch's optimal assignment under both: at 45-46 s the
    # rv-labelled track sits on stage-1, so the label is wrong there whatever the history
    assert s["rv_label_correct_frac"] == pytest.approx(38 / 40)
    assert summarise(opt, tracker="o")["rv_label_correct_frac"] == pytest.approx(38 / 40)


def test_clutter_track_counts_false_and_break_is_not_a_switch(flight):
    runs = 2
    det = standard_det(runs)
    entries = perfect_entries(runs)
    far = np.array([7e6, 0.0, 0.0, 0.0, 0.0, 0.0])  # nowhere near any object
    for e in range(10, 31):  # run 0: a confirmed clutter track for 21 epochs
        entries.append(dict(run=0, epoch=float(e), track=9, x=far))
    for e in range(0, 81):  # run 1: a tentative one never counts
        entries.append(dict(run=1, epoch=float(e), track=9, x=far, status=1))
    # run 1: the rv track 1 dies at 60 s and track 7 takes over from 65 s (a gap): break only
    entries = [x for x in entries if not (x["run"] == 1 and x["track"] == 1 and x["epoch"] >= 60)]
    entries += [dict(run=1, epoch=float(e), track=7, obj="rv", label="rv") for e in range(65, 81)]
    ev = evaluate(make_log(flight, entries, runs), flight, det)
    s = summarise(ev, tracker="clutter")
    assert ev.false_tracks.tolist() == [1, 0]
    assert s["false_tracks_per_run"] == 0.5
    c = 20e3
    np.testing.assert_allclose(ev.assignment.false[0, 10:31], c / math.sqrt(2))
    assert not ev.assignment.false[0, :10].any() and not ev.assignment.false[1].any()
    np.testing.assert_allclose(ev.assignment.missed[1, 60:65], c / math.sqrt(2))
    assert ev.breaks.tolist() == [[0, 0, 0], [1, 0, 0]]
    assert ev.switches.sum() == 0 and s["rv_id_switches_per_run"] == 0


def test_false_track_threshold_is_half_the_confirmed_life(flight):
    # track 5 confirmed for 10 epochs on the rv's path: 5 near the rv (run 0) -> not false;
    # 4 near (run 1) -> false (6 of 10 unassigned > 50 %)
    runs = 2
    det = standard_det(runs)
    entries = []
    for r, n_near in ((0, 5), (1, 4)):
        for i, e in enumerate(range(2, 12)):
            x = truth_row(flight, "rv", float(e)) + (0.0 if i < n_near else 30e3)
            entries.append(dict(run=r, epoch=float(e), track=5, x=x))
    ev = evaluate(make_log(flight, entries, runs), flight, det)
    assert ev.false_tracks.tolist() == [0, 1]


def test_child_confirmed_4s_after_resolvable(flight):
    # stage-1 resolvable when its first lone report arrives (t_meas 23.5 -> arrival 24.0);
    # run 0 confirms a child track at 28 s (delay 4), run 1 at 36 s (12), run 2 never;
    # run 3 confirms at 28 s a track born before the separation: spawn delay 4, split never
    runs = 4
    rows = []
    for r in range(runs):
        for t in np.arange(0.0, 80.5, 0.5):
            rows.append((r, t, t + 0.5, "rv"))
            if 21 <= t < 23.5:
                rows.append((r, t, t + 0.5, "rv+stage-1"))
            elif t >= 23.5:
                rows.append((r, t, t + 0.5, "stage-1"))
    det = make_det(rows, runs)
    entries = []
    for r, t_conf, born in ((0, 28.0, 25.0), (1, 36.0, 25.0), (2, math.inf, 25.0), (3, 28.0, 5.0)):
        for e in EPOCHS:
            entries.append(dict(run=r, epoch=e, track=1, obj="rv", label="rv"))
            if e >= 25:  # tentative from 25 s, confirmed from t_conf
                entries.append(dict(run=r, epoch=e, track=2, obj="stage-1", sign=-1.0, born=born,
                                    status=2 if e >= t_conf else 1, label="stage"))  # fmt: skip
    ev = evaluate(make_log(flight, entries, runs), flight, det)
    np.testing.assert_allclose(ev.spawn_delay[:, 0], [4.0, 12.0, np.inf, 4.0])
    np.testing.assert_allclose(ev.spawn_split_delay[:, 0], [4.0, 12.0, np.inf, np.inf])
    assert ev.spawn_objects == ("stage-1", "stage-2")
    assert np.isnan(ev.spawn_delay[:, 1]).all()  # stage-2 never reported alone
    s = summarise(ev, tracker="spawn")
    assert s["spawn_resolved_events"] == 4
    assert s["spawn_delay_s_median"] == 8.0
    assert s["spawn_delay_s_p95"] is None  # the 95th percentile is +inf (never tracked)
    assert s["spawn_within_10s_frac"] == 0.5
    assert s["spawn_never_tracked_frac"] == 0.25
    assert s["spawn_split_within_10s_frac"] == 0.25
    assert s["spawn_split_never_tracked_frac"] == 0.5
    assert s["by_role"]["stage-1"]["spawn_delay_s_median"] == 8.0
    assert "spawn_delay_s_median" not in s["by_role"]["rv"]
    # time to confirm: first report of stage-1 (merged) arrives at 21.5 s
    np.testing.assert_allclose(ev.time_to_confirm[:, 1], [6.5, 14.5, np.nan, 6.5])
    np.testing.assert_allclose(ev.time_to_confirm[:, 0], [-0.5] * 4)  # track before arrival
    json.dumps(s, allow_nan=False)


def test_tracks_beyond_cutoff_are_missed_and_false_not_localised(flight):
    # negative case: a track 52 km ahead of the rv is useless with c = 20 km
    runs = 1
    det = standard_det(runs)
    entries = []
    for e in EPOCHS:
        x = flight.object("rv").state_at(e)
        x[:3] += 52e3 * x[3:] / np.linalg.norm(x[3:])  # ahead along the velocity
        entries.append(dict(run=0, epoch=e, track=1, x=x, label="rv"))
    log = make_log(flight, entries, runs)
    s = score(log, flight, det, tracker="bad")
    assert s["gospa_localisation_m"] == 0.0
    assert s["gospa_false_m"] == pytest.approx(20e3 / math.sqrt(2))
    assert s["rv_label_correct_frac"] == 0.0 and s["false_tracks_per_run"] == 1
    assert s["time_to_confirm_s_median"] is None and s["by_role"]["rv"]["tracked_frac"] == 0
    # with a 60 km cut-off the same track is localised (on the rv, the stages being behind)
    s = score(log, flight, det, tracker="bad", cutoff_m=60e3)
    assert s["gospa_localisation_m"] == pytest.approx(52e3)
    assert s["false_tracks_per_run"] == 0 and s["rv_label_correct_frac"] == 1.0


# ------------------------------------------------------------------------------- loop oracle
def test_random_logs_against_per_run_loop_oracle(flight):
    rng = np.random.default_rng(11)
    runs, c = 3, 8e3
    det = standard_det(runs, latency=0.3)
    objs = ("rv", "stage-1", "stage-2")
    entries = []
    for r in range(runs):
        for tid in range(1, 9):  # tracks following a random object, hopping now and then
            a = int(rng.integers(0, 70))
            b = int(rng.integers(a + 1, 81))
            obj = objs[rng.integers(0, 3)]
            conf_from = a + int(rng.integers(0, 4))
            for e in range(a, b):
                if rng.random() < 0.05:
                    obj = objs[rng.integers(0, 3)]
                if flight.object(obj).t_start > e:
                    continue
                x = truth_row(flight, obj, float(e))
                x[:3] += rng.normal(0, 3e3, 3)
                entries.append(dict(run=r, epoch=float(e), track=tid, x=x,
                                    status=2 if e >= conf_from else 1))  # fmt: skip
    log = make_log(flight, entries, runs)
    ev = evaluate(log, flight, det, ScoreConfig(cutoff_m=c))
    obs = ev.assignment.observable
    truth = [flight.object(o) for o in objs]
    strict = evaluate(log, flight, det, ScoreConfig(cutoff_m=c, unreported_objects=False))
    n_checked, n_unreported = 0, 0
    for r in range(runs):  # oracle: plain loops over runs, epochs, objects
        ids = np.full((EPOCHS.size, 3), -1)
        on_unrep: set[tuple[float, int]] = set()  # (epoch, track) on an alive unobserved object
        for j, e in enumerate(EPOCHS):
            rows = np.flatnonzero((log.run == r) & (log.epoch == e) & (log.status == 2))
            objs_j = [o for o in range(3) if obs[r, j, o]]
            X = np.array([truth[o].state_at(e)[:3] for o in objs_j]).reshape(-1, 3)
            Y = log.x[rows, :3]
            want = brute_gospa(X, Y, c)
            got = [ev.assignment.gospa[r, j], ev.assignment.localisation[r, j],
                   ev.assignment.missed[r, j], ev.assignment.false[r, j]]  # fmt: skip
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)
            if len(X) and len(Y):
                n_checked += 1
                # scipy on min(d^2, c^2): a pair at d >= c costs the same as no pair
                D2 = ((X[:, None] - Y[None]) ** 2).sum(-1)
                ri, ci = linear_sum_assignment(np.minimum(D2, c**2))
                for i, k in zip(ri, ci, strict=True):
                    if D2[i, k] < c**2:
                        ids[j, objs_j[i]] = log.track[rows[k]]
            # leftover confirmed tracks vs objects alive but not observable: scipy again
            left = [k for k in rows if log.track[k] not in ids[j]]
            hidden = [o for o in range(3) if not obs[r, j, o]
                      and truth[o].t_start <= e <= truth[o].t_end]  # fmt: skip
            if left and hidden:
                Xh = np.array([truth[o].state_at(e)[:3] for o in hidden])
                D2 = ((Xh[:, None] - log.x[left, :3][None]) ** 2).sum(-1)
                ri, ci = linear_sum_assignment(np.minimum(D2, c**2))
                for i, k in zip(ri, ci, strict=True):
                    if D2[i, k] < c**2:
                        on_unrep.add((float(e), int(log.track[left[k]])))
        n_unreported += len(on_unrep)
        np.testing.assert_array_equal(ids, ev.assignment.track[r])
        for o in range(3):  # breaks and switches by walking the id sequence
            prev, nb, ns = -1, 0, 0
            for j in range(EPOCHS.size):
                cur = ids[j, o]
                if cur >= 0:
                    if prev >= 0 and cur != prev:
                        nb += 1
                        ns += bool(np.any((log.run == r) & (log.epoch == EPOCHS[j]) &
                                          (log.track == prev)))  # fmt: skip
                    prev = cur
            assert (ev.breaks[r, o], ev.switches[r, o]) == (nb, ns)
        n_false, n_false_strict = 0, 0
        for k in np.unique(log.track[log.run == r]):
            conf_e = EPOCHS[np.isin(EPOCHS, log.epoch[(log.run == r) & (log.track == k) &
                                                     (log.status == 2)])]  # fmt: skip
            if conf_e.size:
                assigned = [np.any(ids[int(e)] == k) for e in conf_e]
                n_false_strict += 1 - np.mean(assigned) > 0.5
                pairs = zip(assigned, conf_e, strict=True)
                on = [a or (float(e), int(k)) in on_unrep for a, e in pairs]
                n_false += 1 - np.mean(on) > 0.5
        assert ev.false_tracks[r] == n_false
        assert strict.false_tracks[r] == n_false_strict
    assert n_checked > 100 and ev.breaks.sum() > 0 and ev.switches.sum() > 0
    assert ev.false_tracks.sum() > 0
    # the case is exercised: some tracks sit on unobserved objects, and it changes the count
    assert n_unreported > 0 and ev.assignment.row_unreported.sum() == n_unreported
    assert strict.false_tracks.sum() > ev.false_tracks.sum()
    # CLEAR MOT persistence: keep the last matched track (across gaps) while confirmed and
    # within c, then scipy
    evp = evaluate(log, flight, det, ScoreConfig(cutoff_m=c, keep_correspondence=True))
    for r in range(runs):
        ids, prev = np.full((EPOCHS.size, 3), -1), {}
        for j, e in enumerate(EPOCHS):
            rows = np.flatnonzero((log.run == r) & (log.epoch == e) & (log.status == 2))
            tids = list(log.track[rows])
            for o, k in sorted(prev.items()):  # flight order; a track is kept by one object
                if obs[r, j, o] and k in tids and k not in ids[j]:
                    pos = truth[o].state_at(e)[:3]
                    if np.linalg.norm(log.x[rows[tids.index(k)], :3] - pos) < c:
                        ids[j, o] = k
            free_o = [o for o in range(3) if obs[r, j, o] and ids[j, o] < 0]
            free_k = [i for i, k in enumerate(tids) if k not in ids[j]]
            if free_o and free_k:
                X = np.array([truth[o].state_at(e)[:3] for o in free_o])
                D2 = ((X[:, None] - log.x[rows[free_k], :3][None]) ** 2).sum(-1)
                ri, ci = linear_sum_assignment(np.minimum(D2, c**2))
                for i, k in zip(ri, ci, strict=True):
                    if D2[i, k] < c**2:
                        ids[j, free_o[i]] = tids[free_k[k]]
            prev.update({o: ids[j, o] for o in range(3) if ids[j, o] >= 0})  # remembered
        np.testing.assert_array_equal(ids, evp.assignment.track[r])
    np.testing.assert_array_equal(evp.assignment.gospa, ev.assignment.gospa)
    assert evp.switches.sum() < ev.switches.sum()


# ------------------------------------------------------------------------------- TrackLog I/O
def test_tracklog_csv_and_concatenate(flight, tmp_path):
    runs = 2
    log = make_log(flight, perfect_entries(runs), runs)
    fields = ("run", "epoch", "track", "parent", "t", "x", "P", "status", "label",
              "label_conf", "born")  # fmt: skip
    a, b = (
        log._replace(**{f: getattr(log, f)[log.run == r] for f in fields}, runs=r + 1)
        for r in (1, 0)
    )
    both = concatenate([a, b])
    assert both.runs == 2
    for f in ("run", "epoch", "track", "x", "P", "label"):
        np.testing.assert_array_equal(getattr(both, f), getattr(log, f))
    with pytest.raises(ValueError, match="epochs differ"):
        concatenate([a, b._replace(epochs=EPOCHS + 1)])
    with pytest.raises(ValueError, match="empty"):
        concatenate([])
    path = tmp_path / "log.csv"
    log.to_csv(path)
    lines = path.read_text().splitlines()
    assert lines[0].split(",")[:6] == ["run", "epoch", "track", "parent", "t", "x"]
    assert len(lines) == log.n_rows + 1
    first = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert first["label"] == "rv" and float(first["sd_x"]) == pytest.approx(math.sqrt(SIG2))
    assert float(first["x"]) == log.x[0, 0]


def test_bad_inputs_are_rejected(flight):
    runs = 1
    det = standard_det(runs)
    log = make_log(flight, perfect_entries(runs), runs)
    with pytest.raises(ValueError, match=r"TrackLog.t must be <= epoch"):
        evaluate(log._replace(t=log.t + 1.0), flight, det)
    with pytest.raises(ValueError, match=r"TrackLog.epoch must be values"):
        evaluate(log._replace(epoch=log.epoch + 0.5, t=log.t), flight, det)
    with pytest.raises(ValueError, match="status must be 1 or 2"):
        evaluate(log._replace(status=np.full(log.n_rows, 3, np.int8)), flight, det)
    with pytest.raises(ValueError, match=r"TrackLog.x must have shape"):
        evaluate(log._replace(x=log.x[:, :3]), flight, det)
    with pytest.raises(ValueError, match=r"label_conf must be in \[0, 1\]"):
        evaluate(log._replace(label_conf=np.full(log.n_rows, np.nan)), flight, det)
    with pytest.raises(ValueError, match="repeated"):
        evaluate(log._replace(track=np.ones(log.n_rows, np.int64)), flight, det)
    with pytest.raises(ValueError, match=r"det.runs"):
        evaluate(log, flight, standard_det(2))
    with pytest.raises(ValueError, match=r"TrackLog.run must be in"):
        evaluate(log._replace(run=log.run + 1), flight, det)
    with pytest.raises(ValueError, match="cutoff_m"):
        score(log, flight, det, tracker="x", cutoff_m=-1.0)
    with pytest.raises(ValueError, match="window_s"):
        ScoreConfig(window_s=0.0)
    with pytest.raises(TypeError, match="log must be a TrackLog"):
        evaluate(tuple(log), flight, det)


def test_gospa_without_any_estimate_is_all_missed():
    """No estimate slot at all (a tracker that never confirmed a track): every object is
    missed, c / 2^(1/p) each, and nothing fails on the empty axis."""
    d = np.zeros((3, 2, 0))
    tv = np.array([[True, True], [True, False], [False, False]])
    res = gospa_from_distances(d, tv, np.zeros((3, 0), bool), 100.0, 2.0)
    np.testing.assert_allclose(res.total, [100.0, 100.0 / math.sqrt(2.0), 0.0])
    np.testing.assert_allclose(res.localisation, 0.0)
    np.testing.assert_array_equal(res.assignment, -1)
