"""Seeds for two-point track initiation: reports no track used, waiting for a partner.

Two-point initiation (Blackman & Popoli 1999, §3.3; Bar-Shalom, Willett & Tian 2011, §3.7):
a report that no track used is kept per run as a seed (its converted ECEF position r1 and
covariance C1, and its time t1). A later report r2 (time t2) pairs with the nearest seed that
satisfies the velocity gate

    |r2 - r1| <= v_max (t2 - t1) + 4 sqrt(tr C1 + tr C2),    t_min <= t2 - t1 <= life

and a tentative track starts from the pair. Clutter, uniform over a volume of millions of
km^3, rarely pairs, so false alarms cost no filter steps; seeds expire after ``life`` seconds.

Storage: ``(N, S)`` slots per run (S doubles when a run needs more live seeds than slots).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trackers.tracking.table import rank_within

__all__ = ["SeedPool"]

#: Shortest time between the two reports of a pair [s] (no pairs within one scan).
T_MIN = 0.5


class SeedPool:
    """Per-run seeds: position ``(N, S, 3)`` [m], covariance ``(N, S, 3, 3)`` [m^2], its trace
    ``(N, S)`` [m^2] (kept for the pairing gate), time ``(N, S)`` [s] (NaN = free slot)."""

    def __init__(self, runs: int, capacity: int) -> None:
        self.N, self.S = int(runs), int(capacity)
        self.pos = np.zeros((self.N, self.S, 3))
        self.cov = np.zeros((self.N, self.S, 3, 3))
        self.tr = np.zeros((self.N, self.S))
        self.t = np.full((self.N, self.S), np.nan)

    def pair(self, run: NDArray, pos: NDArray, cov: NDArray, t: float, v_max: float,
             life: float) -> NDArray:  # fmt: skip
        """For reports ``(J,)`` of runs ``run``: the slot of the seed each pairs with, or -1."""
        if run.size == 0:
            return np.zeros(0, np.int64)
        sp, st = self.pos[run], self.t[run]  # (J, S, 3), (J, S)
        dt = t - st
        d = np.linalg.norm(pos[:, None, :] - sp, axis=-1)
        tr = np.trace(cov, axis1=-2, axis2=-1)[:, None] + self.tr[run]
        with np.errstate(invalid="ignore"):
            ok = (dt >= T_MIN) & (dt <= life) & (d <= v_max * dt + 4.0 * np.sqrt(tr))
        best = np.argmin(np.where(ok, d, np.inf), axis=1)
        return np.where(ok.any(axis=1), best, -1)

    def take(self, run: NDArray, slot: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """(position, covariance, time) of seeds (run, slot); rows with slot -1 are zeros."""
        s = np.maximum(slot, 0)
        ok = slot >= 0
        return (np.where(ok[:, None], self.pos[run, s], 0.0),
                np.where(ok[:, None, None], self.cov[run, s], 0.0),
                np.where(ok, self.t[run, s], 0.0))  # fmt: skip

    def remove(self, run: NDArray, slot: NDArray) -> None:
        """Free the seeds (run, slot) (slot -1 ignored)."""
        ok = slot >= 0
        self.t[run[ok], slot[ok]] = np.nan

    def add(self, run: NDArray, pos: NDArray, cov: NDArray, t: float, life: float) -> None:
        """Store reports as seeds in free or expired slots (capacity doubled if needed)."""
        if run.size == 0:
            return
        # only the runs that store seeds now are touched: their expired seeds free their slots
        rows = np.unique(run)
        ts = self.t[rows]
        with np.errstate(invalid="ignore"):
            ts[~(t - ts <= life)] = np.nan
        self.t[rows] = ts
        counts = np.bincount(run, minlength=self.N)[rows]
        free = np.isnan(ts)
        short = int(np.max(counts - free.sum(axis=1)))
        if short > 0:
            extra = self.S
            while extra < short:
                extra *= 2
            self.pos = np.concatenate([self.pos, np.zeros((self.N, extra, 3))], axis=1)
            self.cov = np.concatenate([self.cov, np.zeros((self.N, extra, 3, 3))], axis=1)
            self.tr = np.concatenate([self.tr, np.zeros((self.N, extra))], axis=1)
            self.t = np.concatenate([self.t, np.full((self.N, extra), np.nan)], axis=1)
            self.S += extra
            free = np.isnan(self.t[rows])
        order = np.argsort(~free, axis=1, kind="stable")  # free slots first, per touched run
        slot = order[np.searchsorted(rows, run), rank_within(run, self.N)]
        self.pos[run, slot] = pos
        self.cov[run, slot] = cov
        self.tr[run, slot] = np.trace(cov, axis1=-2, axis2=-1)
        self.t[run, slot] = t
