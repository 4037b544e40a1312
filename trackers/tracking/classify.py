"""Which track is the reentry vehicle? Labels from thrust and detection-rate evidence.

After each separation the
payload stack keeps thrusting (the next stage ignites) while the spent stage falls; after the
last separation nothing thrusts and the two objects differ in radar cross-section: a reentry
vehicle of ~0.05 m^2 against a tumbling stage of several m^2, so the RV is detected less often
by the same radars. The label rule, per run and snapshot:

1. Candidates: confirmed tracks that were seen thrusting (mode-averaged IMM thrust
   acceleration above 5 m/s^2, unbroken for at least 8 s) —
   themselves, or their parent up to the moment they were spawned from it — within 15 s of
   the latest thrust seen in the run (the final stack and what separated from it last), and
   tracks born more than 10 s after that thrust (an object re-acquired after the boost has no
   thrust history); every confirmed track if the run never showed thrust.
2. Detection-rate test: with exponentially forgetting hit / opportunity counts (h, o) per
   track (unresolved scans — one blob for two tracks — are not counted),
   p = (h + 1) / (o + 2). The candidate whose rate is lower than every other candidate's by
   z = (p_other - p) / sqrt(pbar (1 - pbar) (1/o + 1/o_other)) > 2
   (two-proportion z test) is the RV, with confidence Phi(z): a *decisive* decision.
3. Otherwise the track of the run's last decisive decision, while it lives and is a
   candidate, stays the RV with that decision's confidence (the tracker records decisions
   once per second of scan time, :func:`hold_decisions`). The evidence of a lower detection
   rate is not forgotten when the rates converge — close to the radars, in reentry, the RV
   is detected on nearly every scan like the stage — nor overturned by a weaker contrary
   test; only a decisive test for another track moves it.
4. Otherwise (no decision yet) the candidate seen thrusting last (the stack), then the one
   with most hits, is the RV, with confidence 0.5 + 0.1 tanh(hits / 50). (Taking the
   candidate with z > 0 instead, the more probable one by the rates alone, measured no
   better: thrust keeps the stack labelled in the boost, and right after the last separation
   the two tracks on the unresolved pair still trade objects.)
5. The other confirmed tracks are stages (one RV per run); tentative tracks are unknown.

The naive tracker (``classify=False``) labels the oldest confirmed track of each run "rv".
Debris (label 3) is not distinguished from stages here. The evidence is the tracker's own
(hit history and IMM mode probabilities); no truth is read.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from trackers.tracking.table import CONFIRMED, TrackTable

__all__ = ["LABELS", "hold_decisions", "label_tracks"]

#: Label codes used in track logs.
LABELS = ("unknown", "rv", "stage", "debris")
RV, STAGE = 1, 2


def label_tracks(tb: TrackTable, classify: bool = True) -> tuple[NDArray, NDArray]:
    """Labels ``(N, K)`` int8 (codes of :data:`LABELS`) and confidences ``(N, K)`` in [0, 1]."""
    label, conf, _ = _label(tb, classify)
    return label, conf


def hold_decisions(tb: TrackTable, classify: bool = True) -> None:
    """Record this instant's decisive detection-rate decisions in ``tb.rv_hold`` (rule 3).

    In a run with a decisive test the decided track's hold becomes Phi(z) and every other
    track's hold 0; runs without one keep their holds (a freed slot's hold is reset by
    :meth:`TrackTable.clear`).
    """
    if not classify:
        return
    _, conf, decisive = _label(tb, classify)
    runs = decisive.any(axis=1)
    tb.rv_hold[runs] = np.where(decisive[runs], conf[runs], 0.0)


def _label(tb: TrackTable, classify: bool) -> tuple[NDArray, NDArray, NDArray]:
    """Labels, confidences and the decisive rv decisions ``(N, K)`` bool (rule 2)."""
    N, K = tb.status.shape
    label = np.zeros((N, K), np.int8)
    conf = np.zeros((N, K))
    decisive = np.zeros((N, K), bool)
    confirmed = tb.status == CONFIRMED
    if not confirmed.any():
        return label, conf, decisive
    if not classify:
        born = np.where(confirmed, tb.born, np.inf)
        k = np.argmin(born, axis=1)
        rows = np.flatnonzero(confirmed.any(axis=1))
        label[rows, k[rows]] = RV
        conf[rows, k[rows]] = 0.5
        return label, conf, decisive
    # 1. candidates: tracks that thrusted (themselves, or their parent up to their spawn)
    # within 15 s of the latest thrust seen in the run
    thrust = np.where(confirmed, np.maximum(tb.thrust_last, tb.thrust_inherited), -np.inf)
    run_thrust = np.max(thrust, axis=1, keepdims=True)  # (N, 1)
    never = ~np.isfinite(run_thrust)
    cand = confirmed & (never | (thrust >= run_thrust - 15.0) | (tb.born > run_thrust + 10.0))
    # 2. detection-rate test against the lowest-rate other candidate of the run: the run's
    # lowest-rate candidate j1 is every other candidate's, and j1's own is the second lowest j2
    # (first index on ties); per-run reductions, O(N K)
    o = tb.rate_o
    p = (tb.rate_h + 1.0) / (o + 2.0)
    pc = np.where(cand, p, np.inf)
    rows = np.arange(N)
    j1 = np.argmin(pc, axis=1)
    pc[rows, j1] = np.inf
    j2 = np.argmin(pc, axis=1)
    j = np.where(np.arange(K)[None, :] == j1[:, None], j2[:, None], j1[:, None])
    has_other = cand & (cand.sum(axis=1, keepdims=True) >= 2)
    po = np.take_along_axis(p, j, axis=1)  # rate and count of that other candidate
    oo = np.take_along_axis(o, j, axis=1)
    pbar = (p * o + po * oo) / np.maximum(o + oo, 1e-9)
    var = np.maximum(pbar * (1 - pbar), 1e-12)
    se = np.sqrt(var * (1 / np.maximum(o, 1) + 1 / np.maximum(oo, 1)))
    z = np.where(has_other, (po - p) / se, -np.inf)
    decisive = z > 2.0

    def run_any(mask: NDArray) -> NDArray:
        """(N, K): some confirmed track of the same run is in ``mask`` (a subset of them)."""
        return confirmed & mask.any(axis=1, keepdims=True)

    undecided = ~run_any(decisive)
    # 3. the run's last decisive decision, while its track lives as a candidate
    held = cand & (tb.rv_hold > 0.0) & undecided
    # 4. no decision yet: latest thrust, then the most hits
    undecided &= ~run_any(held)
    key = np.where(cand, np.where(np.isfinite(thrust), thrust, -1e12) * 1e3 + tb.hits, -np.inf)
    default_rv = cand & (key == key.max(axis=1, keepdims=True)) & undecided
    # ties of the key (same thrust time and birth) are broken by the smaller track id
    tie_id = np.where(default_rv, tb.id, np.iinfo(np.int64).max)
    default_rv &= tb.id == tie_id.min(axis=1, keepdims=True)
    rv = decisive | held | default_rv
    label[confirmed] = STAGE
    label[rv] = RV
    zf = np.where(np.isfinite(z), z, 0.0)
    conf_rv = np.where(decisive, ndtr(zf),
                       np.where(held, tb.rv_hold, 0.5 + 0.1 * np.tanh(tb.hits / 50.0)))  # fmt: skip
    conf[rv] = conf_rv[rv]
    stage = confirmed & ~rv
    run_conf = np.max(np.where(rv, conf_rv, 0.0), axis=1, keepdims=True)
    conf[stage] = np.broadcast_to(run_conf, conf.shape)[stage]
    return label, conf, decisive
