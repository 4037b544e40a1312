"""The rv / stage classifier on hand-made track tables: the detection-rate test, the held
decision, and the default rule."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from trackers.tracking import separation_aware
from trackers.tracking.classify import LABELS, _label, hold_decisions, label_tracks
from trackers.tracking.table import CONFIRMED
from trackers.tracking.tracker import _Tracker

RV, STAGE = LABELS.index("rv"), LABELS.index("stage")


def _pair(runs: int = 2):
    """Runs of two confirmed sibling tracks after the last separation: slot 0 the parent
    (more hits), slot 1 its child; both carry the same thrust evidence."""
    tb = _Tracker(separation_aware(), [], runs=runs).table
    tb.grow(2)
    tb.status[:, :2] = CONFIRMED
    tb.id[:, :2] = [0, 1]
    tb.parent[:, :2] = [-1, 0]
    tb.born[:, :2] = [0.0, 230.0]
    tb.hits[:, :2] = [400, 100]
    tb.thrust_last[:, 0] = 220.0
    tb.thrust_inherited[:, 1] = 220.0
    return tb


def _rates(tb, run: int, p: tuple[float, float], o: float = 60.0) -> None:
    """Set the forgetting counters of the pair in ``run`` to rates ``p`` over ``o`` chances."""
    tb.rate_o[run, :2] = o
    tb.rate_h[run, :2] = np.array(p) * (o + 2.0) - 1.0


def test_a_decisive_rate_test_labels_the_rarely_detected_track():
    tb = _pair()
    _rates(tb, 0, (0.95, 0.55))  # the child is seen far less often: the rv
    _rates(tb, 1, (0.80, 0.78))  # no evidence: the default (thrust, then hits) -> parent
    label, conf = label_tracks(tb)
    assert label[0, :2].tolist() == [STAGE, RV]
    assert label[1, :2].tolist() == [RV, STAGE]
    # confidence: Phi(z) of the two-proportion test, shared by the stage
    p, q, o = 0.55, 0.95, 60.0
    z = (q - p) / np.sqrt(0.75 * 0.25 * 2 / o)
    np.testing.assert_allclose(conf[0, 1], ndtr(z), rtol=1e-12)
    assert conf[0, 0] == conf[0, 1] and 0.5 < conf[1, 0] < 0.6


def test_a_held_decision_survives_converging_rates_until_a_decisive_contrary_test():
    tb = _pair()
    _rates(tb, 0, (0.95, 0.55))
    _rates(tb, 1, (0.95, 0.55))
    hold_decisions(tb)
    held = tb.rv_hold.copy()
    assert held[0, 1] > 0.99 and held[0, 0] == 0.0
    # reentry: both detected on nearly every scan, no decisive test in run 0 any more
    _rates(tb, 0, (0.97, 0.96))
    hold_decisions(tb)  # an undecided instant keeps the hold
    np.testing.assert_array_equal(tb.rv_hold[0], held[0])
    label, conf = label_tracks(tb)
    assert label[0, :2].tolist() == [STAGE, RV]
    assert conf[0, 1] == held[0, 1]
    # negative case: without the held decision the same rates give the default (the parent)
    tb.rv_hold[0] = 0.0
    assert label_tracks(tb)[0][0, :2].tolist() == [RV, STAGE]
    tb.rv_hold[0] = held[0]
    # a decisive test for the other track moves the label and the hold
    _rates(tb, 0, (0.50, 0.96))
    hold_decisions(tb)
    assert tb.rv_hold[0, 0] > 0.99 and tb.rv_hold[0, 1] == 0.0
    assert label_tracks(tb)[0][0, :2].tolist() == [RV, STAGE]
    # run 1 was never touched by run 0's decisions
    np.testing.assert_array_equal(tb.rv_hold[1], held[1])


def test_a_freed_slot_loses_its_hold_and_the_naive_rule_ignores_holds():
    tb = _pair(1)
    _rates(tb, 0, (0.95, 0.55))
    hold_decisions(tb)
    tb.clear(np.array([0]), np.array([1]))
    assert tb.rv_hold[0, 1] == 0.0
    label, _ = label_tracks(tb)
    assert label[0, 0] == RV  # the survivor, by default
    tb2 = _pair(1)
    _rates(tb2, 0, (0.95, 0.55))
    hold_decisions(tb2, classify=False)
    assert not tb2.rv_hold.any()
    # the naive rule: the oldest confirmed track is the rv, the others stay unknown
    assert label_tracks(tb2, classify=False)[0][0, :2].tolist() == [RV, LABELS.index("unknown")]


def _pairwise_reference(tb):
    """The label rules written with explicit (N, K, K) pair arrays: the lowest-rate *other*
    candidate by a masked argmin over every pair, per-run maxima and minima over the pairs of
    confirmed tracks."""
    N, K = tb.status.shape
    confirmed = tb.status == CONFIRMED
    label = np.zeros((N, K), np.int8)
    conf = np.zeros((N, K))
    thrust = np.where(confirmed, np.maximum(tb.thrust_last, tb.thrust_inherited), -np.inf)
    run_thrust = np.max(thrust, axis=1, keepdims=True)
    never = ~np.isfinite(run_thrust)
    cand = confirmed & (never | (thrust >= run_thrust - 15.0) | (tb.born > run_thrust + 10.0))
    same = confirmed[:, :, None] & confirmed[:, None, :]
    other = same & cand[:, :, None] & cand[:, None, :] & ~np.eye(K, dtype=bool)
    o = tb.rate_o
    p = (tb.rate_h + 1.0) / (o + 2.0)
    j = np.argmin(np.where(other, p[:, None, :], np.inf), axis=2)
    po, oo = np.take_along_axis(p, j, axis=1), np.take_along_axis(o, j, axis=1)
    pbar = (p * o + po * oo) / np.maximum(o + oo, 1e-9)
    se = np.sqrt(np.maximum(pbar * (1 - pbar), 1e-12) * (1 / np.maximum(o, 1)
                                                        + 1 / np.maximum(oo, 1)))  # fmt: skip
    z = np.where(cand & other.any(axis=2), (po - p) / se, -np.inf)
    decisive = z > 2.0
    undecided = ~np.any(same & decisive[:, None, :], axis=2)
    held = cand & (tb.rv_hold > 0.0) & undecided
    undecided &= ~np.any(same & held[:, None, :], axis=2)
    key = np.where(cand, np.where(np.isfinite(thrust), thrust, -1e12) * 1e3 + tb.hits, -np.inf)
    best = np.max(np.where(same & cand[:, None, :], key[:, None, :], -np.inf), axis=2)
    default = cand & (key == best) & undecided
    big = np.iinfo(np.int64).max
    tie = np.where(default, tb.id, big)
    default &= tb.id == np.min(np.where(same, tie[:, None, :], big), axis=2)
    rv = decisive | held | default
    label[confirmed] = STAGE
    label[rv] = RV
    zf = np.where(np.isfinite(z), z, 0.0)
    c = np.where(decisive, ndtr(zf), np.where(held, tb.rv_hold, 0.5 + 0.1 * np.tanh(tb.hits / 50)))
    conf[rv] = c[rv]
    run_conf = np.broadcast_to(np.max(np.where(rv, c, 0.0), axis=1, keepdims=True), conf.shape)
    conf[confirmed & ~rv] = run_conf[confirmed & ~rv]
    return label, conf


def test_labels_equal_the_pairwise_formulation_on_random_tables():
    """The per-run reductions of classify._label against the (N, K, K) pair formulation, on
    random tables with ties of rates, thrust times and hits, holds, and runs with 0-8
    confirmed tracks."""
    rng = np.random.default_rng(11)
    N = 400
    tb = _Tracker(separation_aware(), [], runs=N).table
    K = tb.K
    tb.status[:] = rng.choice([0, 1, 2, 2, 2], size=(N, K))
    tb.id[:] = rng.permutation(N * K).reshape(N, K)
    tb.born[:] = rng.choice([0.0, 100.0, 230.0, 400.0], size=(N, K))
    tb.hits[:] = rng.choice([5, 50, 400], size=(N, K))
    tb.thrust_last[:] = rng.choice([-np.inf, 200.0, 220.0], size=(N, K))
    tb.thrust_inherited[:] = rng.choice([-np.inf, 220.0], size=(N, K))
    tb.rate_o[:] = rng.choice([0.0, 10.0, 60.0], size=(N, K))
    tb.rate_h[:] = np.round(rng.uniform(0.0, 1.0, (N, K)), 1) * tb.rate_o
    tb.rv_hold[:] = np.where(rng.uniform(size=(N, K)) < 0.15, 0.99, 0.0)
    label, conf = label_tracks(tb)
    ref_label, ref_conf = _pairwise_reference(tb)
    np.testing.assert_array_equal(label, ref_label)
    np.testing.assert_array_equal(conf, ref_conf)
    # the draw exercises every rule: decisive, held and default decisions all occur
    _, _, decisive = _label(tb, True)
    held = (tb.rv_hold > 0) & (label == RV) & ~decisive
    assert decisive.any() and held.any() and ((label == RV) & ~decisive & ~held).any()
