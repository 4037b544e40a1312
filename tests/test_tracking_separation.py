"""Separation handling of the separation-aware tracker on the calibrated hokkaido-2023 flight:
re-acquisition of tracks when an unresolved pair comes apart, thrust evidence inherited by
children, the detection-rate-aware deletion rule, and the optional drag mode."""

from __future__ import annotations

import math

import numpy as np
import pytest

import trackers.tracking.tracker as tracker_module
from trackers.alert_study import simulate_reports
from trackers.filters.trees import tree_leaves
from trackers.metrics.tracking import score
from trackers.tracking import ScanSequence, preset, separation_aware, track
from trackers.tracking.table import CONFIRMED
from trackers.tracking.tracker import _Sensor, _Tracker, build_estimator


@pytest.fixture(scope="module")
def early_flight():
    """One radar-noise draw of hokkaido-2023, reports measured before 400 s (boost, the three
    separations, and the rv / stage-3 pair coming apart)."""
    _sc, flight, radars, det = simulate_reports("hokkaido-2023", 1, 4)
    return flight, radars, det.select(det.t_meas < 400.0)


def test_reacquisition_keeps_one_track_per_object_when_the_pair_resolves(early_flight):
    """Negative case included: without re-acquisition the tracks fed the merged reports lose
    the resolved reports and children are spawned next to them (duplicates)."""
    flight, radars, det = early_flight
    scans = ScanSequence.from_detections(det, radars)
    out = {}
    for reacquire in (True, False):
        res = track(scans, radars, preset("separation-aware", reacquire=reacquire), epochs=5.0)
        out[reacquire] = score(res.log, flight, det, tracker="sa", keep_correspondence=True)
        out[reacquire]["events"] = res.events
    on, off = out[True], out[False]
    bad = {k: v["false_tracks_per_run"] + v["track_breaks_per_run"] for k, v in out.items()}
    assert on["false_tracks_per_run"] == 0
    assert bad[False] >= bad[True] + 3, (on, off)
    assert on["gospa_mean_m"] < 0.5 * off["gospa_mean_m"]
    kinds = tracker_module.EVENT_KINDS
    n_reacq = int(np.sum(on["events"].kind == kinds.index("reacquire")))
    assert n_reacq > 0
    assert np.sum(off["events"].kind == kinds.index("reacquire")) == 0


def test_children_inherit_the_thrust_evidence_of_their_parent(early_flight, monkeypatch):
    """A stage spawned from the thrusting stack carries the stack's last thrust time, so the
    rv candidates after the last separation are the stack and its last child."""
    _flight, radars, det = early_flight
    tables = []
    real = tracker_module.label_tracks

    def spy(tb, classify=True):
        tables.append((tb.status.copy(), tb.parent.copy(), tb.id.copy(),
                       tb.thrust_last.copy(), tb.thrust_inherited.copy()))  # fmt: skip
        return real(tb, classify)

    monkeypatch.setattr(tracker_module, "label_tracks", spy)
    track(ScanSequence.from_detections(det.select(det.t_meas < 260.0), radars), radars,
          preset("separation-aware"), epochs=np.array([259.0]))  # fmt: skip
    status, parent, ids, last, inherited = tables[-1]
    child = (status == CONFIRMED) & (parent >= 0)
    assert child.any()
    for r, k in zip(*np.nonzero(child), strict=True):
        p = np.flatnonzero((ids[r] == parent[r, k]) & (status[r] != 0))
        if p.size:  # the parent is still alive: the child's evidence is no later than its own
            assert inherited[r, k] <= max(last[r, p[0]], inherited[r, p[0]])
    # every separation here happens while the stack thrusts: children carry thrust evidence
    assert np.isfinite(inherited[child]).mean() >= 0.5


def test_miss_limit_follows_the_tracks_own_detection_rate():
    cfg = separation_aware(delete_misses=12, delete_miss_prob=1e-3)
    tr = _Tracker(cfg, [], runs=1)
    tb = tr.table
    o = 100.0
    rates = np.array([0.99, 0.9, 0.6, 0.3, 0.1, 0.02])
    tb.grow(rates.size)
    k = np.arange(rates.size)
    tb.rate_o[0, k] = o
    tb.rate_h[0, k] = rates * (o + 2.0) - 1.0  # p_D = (h + 1) / (o + 2) = rates
    limit = tr._miss_limit(np.zeros(rates.size, int), k)
    for p, lim in zip(rates, limit, strict=True):
        # the smallest k with (1 - p)^k < 1e-3, floored at delete_misses
        k_min = next(j for j in range(1, 10_000) if (1 - p) ** j < 1e-3)
        assert lim == max(12, k_min), (p, lim, k_min)
    assert limit[0] == 12 and limit[-1] > 300
    # delete_miss_prob close to 1 gives back the plain consecutive-miss rule
    tr1 = _Tracker(separation_aware(delete_miss_prob=0.999), [], runs=1)
    tr1.table.grow(1)
    assert tr1._miss_limit(np.zeros(1, int), np.zeros(1, int))[0] == 12


def test_drag_mode_adds_a_ballistic_coefficient_state():
    imm = build_estimator(separation_aware(drag_mode=True, init_log_beta=(math.log(3000), 1.0)))
    assert [m.name for m in imm.modes] == ["boost", "ballistic", "drag"]
    assert imm.state_names[-1] == "log_beta" and imm.ndim == 8
    plain = build_estimator(separation_aware())
    assert len(plain.modes) == 2
    with pytest.raises(ValueError, match="init_log_beta"):
        separation_aware(init_log_beta=(-1.0, 1.0))


def test_drag_mode_tracks_the_stage_falling_back_into_the_air():
    """Stage 2 reenters between ~840 s and its impact at 1055 s (drag of tens of g): the drag
    mode follows it with fewer new tracks than the drag-free IMM on the same reports."""
    _sc, _flight, radars, det = simulate_reports("hokkaido-2023", 1, 5)
    det = det.select((det.t_meas > 800.0) & (det.t_meas < 1000.0))
    scans = ScanSequence.from_detections(det, radars)
    new_track = [tracker_module.EVENT_KINDS.index(k) for k in ("birth", "spawn")]
    births = {}
    for drag in (True, False):
        res = track(scans, radars, preset("separation-aware", drag_mode=drag), epochs=5.0)
        births[drag] = int(np.sum(np.isin(res.events.kind, new_track)))
    assert births[True] <= births[False], births


def test_a_track_with_a_non_finite_estimate_is_deleted_not_the_batch():
    tr = _Tracker(separation_aware(), [], runs=2)
    tb = tr.table
    slots = tb.allocate(np.array([0, 1]))
    tb.status[[0, 1], slots] = CONFIRMED
    tb.id[[0, 1], slots] = [7, 9]
    both = tb.take(np.array([0, 1]), slots)
    probs = both.probs.copy()
    probs[1] = np.nan  # run 1's IMM mode probabilities broke in an update
    tr._refresh(np.array([0, 1]), slots, both._replace(probs=probs))
    tr._drop_broken(10.0)
    assert tb.status[0, slots[0]] == CONFIRMED
    assert tb.status[1, slots[1]] == 0
    run, _t, tid, kind, _ = (np.concatenate(c) for c in zip(*tr.events, strict=True))
    assert list(zip(run, tid, kind, strict=True)) == [
        (1, 9, tracker_module.EVENT_KINDS.index("broken"))
    ]


def test_handover_keeps_the_parents_id_on_the_thrusting_stack():
    """Three runs of the first 260 s (three separations): the child that took the thrusting
    stack hands it back, so the rv keeps one track id; without the handover it changes id."""
    _sc, flight, radars, det = simulate_reports("hokkaido-2023", 3, 4)
    det = det.select(det.t_meas < 260.0)
    scans = ScanSequence.from_detections(det, radars)
    out = {}
    for handover in (True, False):
        res = track(scans, radars, preset("separation-aware", handover=handover), epochs=1.0)
        m = score(res.log, flight, det, tracker="sa", keep_correspondence=True)
        n = int(np.sum(res.events.kind == tracker_module.EVENT_KINDS.index("handover")))
        out[handover] = (m["rv_id_switches_per_run"], m["track_breaks_per_run"], n)
    assert out[True][2] >= 1 and out[False][2] == 0
    assert out[True][0] == 0.0
    assert out[False][0] > 0.0 and out[False][1] > out[True][1]


def test_handover_exchanges_estimates_only_for_a_faster_confirmed_child():
    tr = _Tracker(separation_aware(), [], runs=4)
    tb = tr.table
    tb.grow(2)
    tb.status[:, :2] = CONFIRMED
    tb.id[:, :2] = [0, 1]
    tb.parent[:, :2] = [-1, 0]
    v = np.array([3000.0, 0.0, 0.0])
    tb.pv[:, 0, 3:] = v
    tb.P6[:, :, 3:, 3:] = np.eye(3) * 50.0**2  # z = dv / sqrt(2 * 2500) = dv / 70.7 m/s
    dv = np.array([200.0, -200.0, 200.0, 100.0])  # run 3: z = 1.41, not decisive
    tb.pv[:, 1, 3:] = v + dv[:, None] * np.array([1.0, 0.0, 0.0])
    tb.pv[:, 1, :3] = 7e6  # marks the child's estimate
    tb.status[2, 1] = 1  # run 2: the child is still tentative, nothing is decided
    tb.handover_at[:, 1] = 100.0
    leaf = tree_leaves(tb.belief)[0]
    leaf[:, 1] = 42.0  # a belief leaf that must travel with the child's estimate
    before = tb.pv.copy()
    tr._handover(99.0)  # not due yet
    np.testing.assert_array_equal(tb.pv, before)
    assert np.all(tb.handover_at[:, 1] == 100.0)
    tr._handover(100.0)
    # run 0: swapped estimates, ids and family links unchanged, one event
    np.testing.assert_array_equal(tb.pv[0, 0], before[0, 1])
    np.testing.assert_array_equal(tb.pv[0, 1], before[0, 0])
    assert np.all(leaf[0, 0] == 42.0) and not np.any(leaf[0, 1] == 42.0)
    assert tb.id[0, :2].tolist() == [0, 1] and tb.parent[0, :2].tolist() == [-1, 0]
    # runs 1-3: a slower child, a tentative child, an indecisive difference: unchanged
    np.testing.assert_array_equal(tb.pv[1:], before[1:])
    assert np.all(leaf[1:, 1] == 42.0)
    assert np.all(np.isnan(tb.handover_at))  # decided once
    ((run, _t, trk, kind, other),) = tr.events
    assert run.tolist() == [0] and trk.tolist() == [0] and other.tolist() == [1]
    assert kind.tolist() == [tracker_module.EVENT_KINDS.index("handover")]


def test_a_track_whose_covariance_lost_definiteness_is_deleted_not_the_batch():
    """A finite belief with an indefinite covariance (seen with the drag mode: explicit RK4
    is unstable for a low-beta track in dense air, rho |v| h / (2 beta) >> 1) gives log det
    S = NaN; before the guard the GNN miss cost NaN raised for the whole batch."""
    _sc, _flight, radars, det = simulate_reports("srbm-depressed", 2, 0)
    scans = ScanSequence.from_detections(det, radars)
    by_id = {r.id: r for r in radars}
    tr = _Tracker(separation_aware(), [_Sensor.of(by_id[s]) for s in scans.sensors], 2)
    tb = tr.table
    seq = list(scans)
    i = 0
    while not ((tb.status == CONFIRMED).any(axis=1)).all():
        tr.step(seq[i])
        i += 1
    r, k = np.nonzero(tb.status == CONFIRMED)
    k1 = k[r == 1][:1]
    victim = int(tb.id[1, k1[0]])
    belief = tb.take(np.ones(1, int), k1)
    sen = tr.sensors[seq[i].sensor]
    # position block with a negative variance along the line of sight (positive trace)
    u = tb.pv[1, k1[0], :3] - sen.site_ecef
    u /= np.linalg.norm(u)
    bad = 4e6 * np.eye(3) - 5e6 * np.outer(u, u)

    def corrupt(g):
        cov = g.cov.copy()
        cov[:, :3, :3] = bad
        return g._replace(cov=cov)

    tr._refresh(np.ones(1, int), k1, belief._replace(modes=tuple(map(corrupt, belief.modes))))
    assert not tr._suspect  # finite: not caught by the non-finite check
    g = tr.est.gaussian(tb.take(np.ones(1, int), k1))
    *_, logdet, _, _ = tr._innovations(sen, g, np.zeros((1, 0, sen.model.ndim_meas)))
    assert np.isnan(logdet).all()  # the precondition: no valid gate
    alive0 = set(tb.id[0][tb.status[0] == CONFIRMED].tolist())
    for scan in seq[i : i + 40]:
        tr.step(scan)
    kinds = tracker_module.EVENT_KINDS
    broken = [(int(a), int(c)) for ev in tr.events for a, c, kd in zip(ev[0], ev[2], ev[3],
              strict=True) if kd == kinds.index("broken")]  # fmt: skip
    assert broken == [(1, victim)]
    assert alive0 <= set(tb.id[0][tb.status[0] == CONFIRMED].tolist())  # run 0 unaffected


def _continuation_table(runs: int):
    """Slot 0: an old confirmed track extrapolating to x0 at t = 100 s; slot 1: a young
    confirmed track (no parent, born at 90 s, updated at 100 s) 2 km from it."""
    tr = _Tracker(separation_aware(), [], runs=runs)
    tb = tr.table
    tb.grow(3)
    x0 = np.array([3.0e6, 3.0e6, 4.0e6])
    tb.status[:, :2] = CONFIRMED
    tb.id[:, :2] = [0, 5]
    tb.born[:, :2] = [10.0, 90.0]
    tb.t[:, :2] = 100.0
    tb.t_update[:, :2] = [97.0, 100.0]
    tb.pv[:, 0, :3] = x0
    tb.pv[:, 1, :3] = x0 + [2e3, 0.0, 0.0]
    tb.pv[:, :2, 3:] = [0.0, 0.0, 100.0]
    tb.P6[:, :2] = np.eye(6) * 100.0**2
    tb.consec_miss[:, 0] = 4
    tree_leaves(tb.belief)[0][:, 1] = 42.0  # travels with the young track's estimate
    return tr, tb


def test_continuation_gives_the_lost_tracks_id_the_new_estimate():
    """Run 0: the old track has missed 4 scans and the young one sits inside its spawn gate:
    the old id continues with the young estimate. Negative cases: run 1's old track has not
    missed, run 2's young track is a child (a separation), run 3 has a healthy third track
    nearer to the young one, run 4's young track is 30 km away."""
    tr, tb = _continuation_table(5)
    tb.consec_miss[1, 0] = 0
    tb.parent[2, 1] = 0
    tb.status[3, 2] = CONFIRMED
    tb.id[3, 2] = 9
    tb.t[3, 2] = 100.0
    tb.pv[3, 2] = tb.pv[3, 1] + [100.0, 0, 0, 0, 0, 0]
    tb.P6[3, 2] = np.eye(6) * 100.0**2
    tb.pv[4, 1, :3] += [28e3, 0.0, 0.0]
    before = tb.pv.copy()
    tr._continue_lost(100.0)
    np.testing.assert_array_equal(tb.pv[0, 0], before[0, 1])
    assert tb.status[0, 1] == 0 and tb.consec_miss[0, 0] == 0 and tb.id[0, 0] == 0
    assert np.all(tree_leaves(tb.belief)[0][0, 0] == 42.0)
    for run in (1, 2, 3, 4):
        np.testing.assert_array_equal(tb.pv[run, :2], before[run, :2])
        assert tb.status[run, 1] == CONFIRMED
    ((run, _t, trk, kind, other),) = tr.events
    assert run.tolist() == [0] and trk.tolist() == [0] and other.tolist() == [5]
    assert kind.tolist() == [tracker_module.EVENT_KINDS.index("continuation")]
