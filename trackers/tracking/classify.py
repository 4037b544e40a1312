"""Which track is the reentry vehicle? Labels from thrust and detection-rate evidence.

After each separation the
payload stack keeps thrusting (the next stage ignites) while the spent stage falls; after the
last separation nothing thrusts and the two objects differ in radar cross-section: a reentry
vehicle of ~0.05 m^2 against a tumbling stage of several m^2, so the RV is detected less often
by the same radars. The label rule, per run and snapshot:

1. Candidates: confirmed tracks that were seen thrusting (boost mode, positive thrust
   acceleration, unbroken for at least 8 s) —
   themselves, or their parent up to the moment they were spawned from it — within 15 s of
   the latest thrust seen in the run (the final stack and what separated from it last), and
   tracks born more than 10 s after that thrust (an object re-acquired after the boost has no
   thrust history); every confirmed track if the run never showed thrust.
2. Detection-rate test: with exponentially forgetting hit / opportunity counts (h, o) per
   track (unresolved scans — one blob for two tracks — are not counted),
   p = (h + 1) / (o + 2). The candidate whose rate is lower than every other candidate's by
   z = (p_other - p) / sqrt(pbar (1 - pbar) (1/o + 1/o_other)) > 2
   (two-proportion z test) is the RV, with confidence Phi(z).
3. Otherwise the candidate seen thrusting last (the stack), then the one with most hits, is
   the RV, with confidence 0.5 + 0.1 tanh(hits / 50).
4. The other confirmed tracks are stages (one RV per run); tentative tracks are unknown.

The naive tracker (``classify=False``) labels the oldest confirmed track of each run "rv".
Debris (label 3) is not distinguished from stages here. The evidence is the tracker's own
(hit history and IMM mode probabilities); no truth is read.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from trackers.tracking.table import CONFIRMED, TrackTable

__all__ = ["LABELS", "label_tracks"]

#: Label codes used in track logs.
LABELS = ("unknown", "rv", "stage", "debris")
RV, STAGE = 1, 2


def label_tracks(tb: TrackTable, classify: bool = True) -> tuple[NDArray, NDArray]:
    """Labels ``(N, K)`` int8 (codes of :data:`LABELS`) and confidences ``(N, K)`` in [0, 1]."""
    N, K = tb.status.shape
    label = np.zeros((N, K), np.int8)
    conf = np.zeros((N, K))
    confirmed = tb.status == CONFIRMED
    if not confirmed.any():
        return label, conf
    if not classify:
        born = np.where(confirmed, tb.born, np.inf)
        k = np.argmin(born, axis=1)
        rows = np.flatnonzero(confirmed.any(axis=1))
        label[rows, k[rows]] = RV
        conf[rows, k[rows]] = 0.5
        return label, conf
    # 1. candidates: tracks that thrusted (themselves, or their parent up to their spawn)
    # within 15 s of the latest thrust seen in the run
    thrust = np.where(confirmed, np.maximum(tb.thrust_last, tb.thrust_inherited), -np.inf)
    run_thrust = np.max(thrust, axis=1, keepdims=True)  # (N, 1)
    never = ~np.isfinite(run_thrust)
    cand = confirmed & (never | (thrust >= run_thrust - 15.0) | (tb.born > run_thrust + 10.0))
    same = confirmed[:, :, None] & confirmed[:, None, :]
    both = same & cand[:, :, None] & cand[:, None, :]
    # 2. detection-rate test against the lowest-rate other candidate
    o = tb.rate_o
    p = (tb.rate_h + 1.0) / (o + 2.0)
    eye = np.eye(K, dtype=bool)
    other = both & ~eye
    p_other = np.where(other, p[:, None, :], np.inf)
    j = np.argmin(p_other, axis=2)
    has_other = other.any(axis=2)
    po = np.take_along_axis(p, j, axis=1)  # rate and count of that other candidate
    oo = np.take_along_axis(o, j, axis=1)
    pbar = (p * o + po * oo) / np.maximum(o + oo, 1e-9)
    var = np.maximum(pbar * (1 - pbar), 1e-12)
    se = np.sqrt(var * (1 / np.maximum(o, 1) + 1 / np.maximum(oo, 1)))
    z = np.where(cand & has_other, (po - p) / se, -np.inf)
    rate_rv = z > 2.0
    run_has_rate = np.any(same & rate_rv[:, None, :], axis=2)
    # 3. default: latest thrust, then the oldest (larger key wins)
    key = np.where(cand, np.where(np.isfinite(thrust), thrust, -1e12) * 1e3 + tb.hits, -np.inf)
    run_best = np.max(np.where(same & cand[:, None, :], key[:, None, :], -np.inf), axis=2)
    default_rv = cand & (key == run_best) & ~run_has_rate
    # ties of the key (same thrust time and birth) are broken by the smaller track id
    tie_id = np.where(default_rv, tb.id, np.iinfo(np.int64).max)
    run_min_id = np.min(np.where(same, tie_id[:, None, :], np.iinfo(np.int64).max), axis=2)
    default_rv &= tb.id == run_min_id
    rv = rate_rv | default_rv
    label[confirmed] = STAGE
    label[rv] = RV
    conf_rv = np.where(rate_rv, ndtr(np.where(np.isfinite(z), z, 0.0)),
                       0.5 + 0.1 * np.tanh(tb.hits / 50.0))  # fmt: skip
    conf[rv] = conf_rv[rv]
    stage = confirmed & ~rv
    run_conf = np.max(np.where(rv, conf_rv, 0.0), axis=1, keepdims=True)
    conf[stage] = np.broadcast_to(run_conf, conf.shape)[stage]
    return label, conf
