"""The track table: a fixed-capacity slot array per run, grown by doubling.

Per run n and slot k (arrays ``(N, K, ...)``):

    belief      estimator belief (a Gaussian or an IMM belief), leading axes (N, K)
    t           time of the belief [s] (tracks are predicted lazily, only when a report of a
                scan may be theirs; a track not touched keeps its last time)
    pv, P6      cached combined position/velocity mean (N, K, 6) and covariance (N, K, 6, 6)
    status      0 free slot, 1 tentative, 2 confirmed
    id, parent, root   track id (unique per run), parent id (-1), family root id
    born, t_update     birth time, time of the last associated report [s]
    hits, opps         associated reports / opportunities since birth
    consec_miss        opportunities without a report since the last one
    rate_h, rate_o     exponentially forgetting hits / opportunities (detection-rate evidence)
    thrust_last        last time the track was seen thrusting (mode-averaged IMM thrust
                       acceleration mu_boost a_boost > 5 m/s^2 without a break for at least
                       8 s, at least 5 s after birth) [s], -inf if never
    thrust_inherited   the parent's thrust evidence when this track was spawned from it [s]
    thrust_since       start of the current unbroken thrusting stretch [s], NaN if none
    cusum              NIS CUSUM statistic (separation / manoeuvre test)
    rv_hold            confidence of the last decisive "this is the rv" decision of the
                       classifier for this track, 0 if none (at most one track per run)
    handover_at        time at which a child spawned during the boost is checked for being
                       the stack rather than the spent stage [s], NaN if not pending
    hist, hist_t       with :meth:`keep_history` (late reports, ``delivery="retrodict"``): the
                       posteriors of the last L updates and their times, a ring ``(N, K, L,
                       ...)`` / ``(N, K, L)`` (NaN: empty), ``hist_n`` updates written; None
                       otherwise

Per-run differences are masks and indices; the table is only ever read and written through
fancy indexing over all runs at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trackers.filters.trees import tree_leaves, tree_map

__all__ = ["CONFIRMED", "FREE", "TENTATIVE", "TrackTable", "rank_within"]

FREE, TENTATIVE, CONFIRMED = 0, 1, 2


def rank_within(run: NDArray, N: int) -> NDArray:
    """0, 1, 2, ... for the occurrences of each value of ``run`` (in [0, N)), in order of
    appearance: the k-th new item of a run goes to that run's k-th free slot."""
    counts = np.bincount(run, minlength=N)
    order = np.argsort(run, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(run.size, np.int64)
    rank[order] = np.arange(run.size) - np.repeat(starts, counts)
    return rank


# scalar per-slot columns: name -> (dtype, fill value of a free slot)
_COLUMNS: dict[str, tuple[type, float]] = {
    "t": (np.float64, np.nan),
    "status": (np.int8, FREE),
    "id": (np.int64, -1),
    "parent": (np.int64, -1),
    "root": (np.int64, -1),
    "born": (np.float64, np.nan),
    "t_update": (np.float64, np.nan),
    "hits": (np.int32, 0),
    "opps": (np.int32, 0),
    "consec_miss": (np.int32, 0),
    "rate_h": (np.float64, 0.0),
    "rate_o": (np.float64, 0.0),
    "thrust_last": (np.float64, -np.inf),
    "thrust_inherited": (np.float64, -np.inf),
    "thrust_since": (np.float64, np.nan),
    "cusum": (np.float64, 0.0),
    "rv_hold": (np.float64, 0.0),
    "handover_at": (np.float64, np.nan),
}


class TrackTable:
    """Working storage of the tracker for runs ``[0, N)`` (module docstring).

    Parameters
    ----------
    runs : int
        N.
    capacity : int
        Initial slots per run K.
    belief_template : belief
        A belief with one batch axis of length 1 (e.g. a prior for one track): fixes the
        structure and trailing shapes of the stored beliefs.
    """

    # scalar per-slot columns (N, K), created from ``_COLUMNS`` in ``__init__`` / ``grow``
    t: NDArray[np.float64]
    status: NDArray[np.int8]
    id: NDArray[np.int64]
    parent: NDArray[np.int64]
    root: NDArray[np.int64]
    born: NDArray[np.float64]
    t_update: NDArray[np.float64]
    hits: NDArray[np.int32]
    opps: NDArray[np.int32]
    consec_miss: NDArray[np.int32]
    rate_h: NDArray[np.float64]
    rate_o: NDArray[np.float64]
    thrust_last: NDArray[np.float64]
    thrust_inherited: NDArray[np.float64]
    thrust_since: NDArray[np.float64]
    cusum: NDArray[np.float64]
    rv_hold: NDArray[np.float64]
    handover_at: NDArray[np.float64]

    def __init__(self, runs: int, capacity: int, belief_template: Any) -> None:
        self.N, self.K = int(runs), int(capacity)
        self.belief = tree_map(
            lambda a: np.broadcast_to(a[0], (self.N, self.K, *a.shape[1:])).copy(),
            belief_template,
        )
        for name, (dtype, fill) in _COLUMNS.items():
            setattr(self, name, np.full((self.N, self.K), fill, dtype=dtype))
        self.pv = np.zeros((self.N, self.K, 6))
        self.P6 = np.broadcast_to(np.eye(6), (self.N, self.K, 6, 6)).copy()
        self.next_id = np.zeros(self.N, np.int64)
        self.hist: Any = None
        self.hist_t: NDArray | None = None
        self.hist_n: NDArray | None = None

    def keep_history(self, depth: int) -> None:
        """Keep the posteriors of each slot's last ``depth`` updates (``hist``, ``hist_t``),
        which retrodicting a late report needs."""
        if self.hist is None:
            self.hist = tree_map(lambda a: np.repeat(a[:, :, None], depth, axis=2), self.belief)
            self.hist_t = np.full((self.N, self.K, depth), np.nan)
            self.hist_n = np.zeros((self.N, self.K), np.int64)

    def put_history(self, ri: NDArray, ki: NDArray, post: Any, t: float,
                    replace_last: bool = False) -> None:  # fmt: skip
        """Record the posterior of an update of slots (ri, ki) at time t (if kept), or
        with ``replace_last`` overwrite the last one recorded (its time unchanged)."""
        if self.hist is None or ri.size == 0:
            return
        assert self.hist_t is not None and self.hist_n is not None
        depth = self.hist_t.shape[2]
        n = self.hist_n[ri, ki] - (1 if replace_last else 0)
        j = n % depth
        for leaf, s in zip(tree_leaves(self.hist), tree_leaves(post), strict=True):
            leaf[ri, ki, j] = s
        if not replace_last:
            self.hist_t[ri, ki, j] = t
            self.hist_n[ri, ki] = n + 1

    def history(self, ri: NDArray, ki: NDArray) -> tuple[Any, NDArray]:
        """The recorded posteriors of slots (ri, ki), ``(C, L, ...)``, and their times
        ``(C, L)`` [s] (NaN: none)."""
        assert self.hist is not None and self.hist_t is not None
        return tree_map(lambda a: a[ri, ki], self.hist), self.hist_t[ri, ki]

    # ------------------------------------------------------------------ capacity
    def grow(self, need: int | NDArray) -> None:
        """Double K until every run has room for ``need`` (max over runs) more tracks.

        ``need`` is an int or per-run counts ``(N,)``.
        """
        free = (self.status == FREE).sum(axis=1)
        short = int(np.max(need - free)) if self.N else 0
        if short <= 0:
            return
        new_k = self.K
        while new_k - self.K < short:
            new_k *= 2
        extra = new_k - self.K

        def pad(a: NDArray, fill: Any) -> NDArray:
            block = np.empty((self.N, extra, *a.shape[2:]), dtype=a.dtype)
            block[...] = fill
            return np.concatenate([a, block], axis=1)

        self.belief = tree_map(lambda a: pad(a, a[:, :1]) if self.K else a, self.belief)
        if self.hist is not None:
            assert self.hist_t is not None and self.hist_n is not None
            self.hist = tree_map(lambda a: pad(a, a[:, :1]) if self.K else a, self.hist)
            self.hist_t = pad(self.hist_t, np.nan)
            self.hist_n = pad(self.hist_n, 0)
        for name, (_, fill) in _COLUMNS.items():
            setattr(self, name, pad(getattr(self, name), fill))
        self.pv = pad(self.pv, 0.0)
        self.P6 = pad(self.P6, np.eye(6))
        self.K = new_k

    def allocate(self, run: NDArray) -> NDArray:
        """Free slot indices for new tracks of runs ``run`` ``(J,)`` (any order, repeats)."""
        if run.size == 0:
            return np.zeros(0, np.int64)
        self.grow(np.bincount(run, minlength=self.N))
        # free slots of each run first, in slot order; the k-th new track takes the k-th
        free_first = np.argsort(self.status != FREE, axis=1, kind="stable")
        return free_first[run, rank_within(run, self.N)]

    # ------------------------------------------------------------------ access
    def take(self, ri: NDArray, ki: NDArray) -> Any:
        """Beliefs of slots (ri, ki), leading axis ``(C,)``."""
        return tree_map(lambda a: a[ri, ki], self.belief)

    def put(self, ri: NDArray, ki: NDArray, sub: Any) -> None:
        """Store beliefs (leading axis ``(C,)``) into slots (ri, ki)."""
        for leaf, s in zip(tree_leaves(self.belief), tree_leaves(sub), strict=True):
            leaf[ri, ki] = s

    #: The estimate of a slot: its belief plus these columns (time, caches, last update).
    ESTIMATE = ("pv", "P6", "t", "t_update")

    def move_estimate(self, r: NDArray, src: NDArray, dst: NDArray, swap: bool = False) -> None:
        """Copy the estimates of slots (r, src) into (r, dst), or exchange the two with
        ``swap``; ids, hit/miss history and status stay with their slots (the recorded
        posteriors, if kept, move with the estimate)."""
        cols = [*tree_leaves(self.belief), *(getattr(self, n) for n in self.ESTIMATE)]
        if self.hist is not None:
            cols += [*tree_leaves(self.hist), self.hist_t, self.hist_n]
        for a in cols:
            if swap:
                a[r, src], a[r, dst] = a[r, dst].copy(), a[r, src].copy()
            else:
                a[r, dst] = a[r, src]

    def clear(self, ri: NDArray, ki: NDArray) -> None:
        """Free slots (ri, ki) (their scalar columns reset)."""
        for name, (_, fill) in _COLUMNS.items():
            getattr(self, name)[ri, ki] = fill
        if self.hist_t is not None and self.hist_n is not None:
            self.hist_t[ri, ki] = np.nan
            self.hist_n[ri, ki] = 0
