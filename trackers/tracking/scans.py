"""Scans: one radar's reports at one scan time, for every Monte Carlo run at once.

A :class:`Scan` is the measurement type between the radar network (:mod:`trackers.sensors`)
and the tracker. Radars scan on a fixed schedule (``t_k = phase + k T``), so every Monte Carlo
run shares the same list of scans; what differs between runs is how many reports each scan
holds (detections, merged reports, false alarms) and when they arrive at the consumer. A scan
therefore stores padded arrays

    z      (N, M, m)   reports (range [m], azimuth [rad], elevation [rad][, range-rate [m/s]])
    valid  (N, M)      which of the M slots hold a report in run n

with M the largest number of reports any run has in that scan (rows are NaN where invalid).
The truth tag ``origin`` travels with the scan for scoring only; the trackers never read it.

:class:`ScanSequence` cuts a :class:`~trackers.sensors.Detections` table into scans in
measurement-time order (ties: sensor order). How the reports' arrival at the consumer node is
handled (``delivery``):

``"ideal"``
    every report is used, in measurement-time order, as if it arrived at once (the reference:
    equivalent to processing each report when it arrives and reprocessing exactly any that
    arrives out of sequence, i.e. perfect retrodiction).
``"buffer"``
    a fixed-lag reorder buffer of ``lag`` seconds at the consumer: reports are released in
    measurement-time order at ``t_meas + lag``; a report that arrives later than that
    (``t_arrival - t_meas > lag``) has missed its slot and is dropped. Tracks are ``lag``
    seconds old when a decision reads them.
``"drop"``
    process in arrival order and discard out-of-sequence reports: a report is dropped when a
    report of the same run with a later measurement time arrived before it (it would have to
    be filtered backwards in time). Tracks are as fresh as the links allow.
``"retrodict"``
    as ``"drop"``, but an out-of-sequence report is not lost: it comes back as a *late scan*
    (``Scan.late``) at the point of the sequence where it reaches the consumer, and the
    tracker updates the tracks it belongs to by retrodiction (:mod:`trackers.tracking.oosm`;
    :mod:`trackers.tracking.late`).

Where a late report enters (per run n, late report measured in scan j, arriving at t_a): the
in-sequence reports of a run arrive in measurement order (report i is in sequence iff no
report measured later arrived before it, so their arrival times are non-decreasing), and a
report measured after t_a cannot have arrived by t_a. Processing the scans in measurement
order, the consumer of run n holds, at the moment the late report arrives, exactly the
in-sequence reports of the scans before

    p* = max(j + 1, min(first scan measured after t_a,
                        first scan with an in-sequence report of run n arriving after t_a)),

so the late report is processed just before regular scan p* (late reports entering at the
same p* in measurement order). Processing in measurement order is then the same as processing
in arrival order, run by run.

A radar sends one message per scan and run (all its reports share one arrival time). A run
whose message of a scan was not delivered (dropped, or past the buffer) did not see that scan
at all: ``Scan.received`` is False there, and the tracker counts no missed detection for it.

Each mode's cost in accuracy and delay is measured by ``benchmarks/oosm.py`` (one target)
and ``benchmarks/tracking_delivery.py`` (the multi-object tracker).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.sensors.detections import Detections

__all__ = [
    "DELIVERY_MODES",
    "Delivery",
    "Scan",
    "ScanSequence",
    "converted_covariance",
    "report_positions",
]

DELIVERY_MODES = ("ideal", "buffer", "drop", "retrodict")
Delivery = Literal["ideal", "buffer", "drop", "retrodict"]


class Scan(NamedTuple):
    """One radar's reports at one scan time, for runs ``[0, N)``.

    Attributes
    ----------
    index : int
        Position of the scan in its sequence.
    t : float
        Measurement time [s since epoch].
    sensor : int
        Index into the sequence's ``sensors``.
    z : (N, M, m) float
        Reports; NaN in invalid slots (m = 3, or 4 for radars that measure range-rate).
    valid : (N, M) bool
        Slot holds a report that the consumer uses (after the delivery rule).
    t_arrival : (N, M) float
        Arrival time at the consumer [s]; NaN in invalid slots.
    origin : (N, M) int32
        Truth tag (index into the sequence's ``origins``), -1 in invalid slots. Scoring only.
    late : bool
        A late scan (``delivery="retrodict"``): ``valid`` marks the reports of scan ``index``
        that reach the consumer out of sequence at this point of the sequence; ``t`` is
        still their measurement time.
    """

    # a field named like tuple.index (public API): the checker flags the shadowing, runtime is fine
    index: int  # type: ignore[assignment]
    t: float
    sensor: int
    z: NDArray
    valid: NDArray
    t_arrival: NDArray
    origin: NDArray
    late: bool = False

    @property
    def received(self) -> NDArray:
        """``(N,)`` bool: run n's message of this scan has reached the consumer (it held no
        report, or at least one of its reports is used). A run whose message was dropped or
        has not yet arrived did not see the scan: no missed detections count there."""
        sent = np.isfinite(self.t_arrival).any(axis=1)
        return ~sent | self.valid.any(axis=1)


def _drop_out_of_sequence(det: Detections) -> NDArray[np.bool_]:
    """Mask of reports that arrive after a report of the same run measured later, ``(n,)``.

    Per run, with reports sorted by measurement time, report i is out of sequence iff
    min_{j: t_meas_j > t_meas_i} t_arrival_j < t_arrival_i (a suffix minimum, vectorised over
    runs by sorting on (run, t_meas) and a segmented reverse cumulative minimum).
    """
    n = len(det)
    if n == 0:
        return np.zeros(0, bool)
    order = np.lexsort((det.t_meas, det.run))
    run, tm, ta = det.run[order], det.t_meas[order], det.t_arrival[order]
    # the suffix minimum must only look at strictly later measurement times: group equal
    # (run, t_meas) rows (one scan) and take the minimum arrival of each group
    new_group = np.ones(n, bool)
    new_group[1:] = (run[1:] != run[:-1]) | (tm[1:] != tm[:-1])
    gid = np.cumsum(new_group) - 1
    g_min = np.full(gid[-1] + 1, np.inf)
    np.minimum.at(g_min, gid, ta)
    g_run = run[new_group]
    # reverse segmented cumulative minimum over groups of the same run: offset each run by a
    # large multiple so that minima never cross run boundaries
    big = 1e12
    key = g_min + g_run * big
    suffix = np.minimum.accumulate(key[::-1])[::-1]
    # strictly later groups: shift by one group, and mask the last group of each run
    later = np.full_like(suffix, np.inf)
    later[:-1] = suffix[1:]
    same_run_next = np.zeros(len(g_run), bool)
    same_run_next[:-1] = g_run[1:] == g_run[:-1]
    later = np.where(same_run_next, later - g_run * big, np.inf)
    oos_sorted = later[gid] < ta
    out = np.empty(n, bool)
    out[order] = oos_sorted
    return out


def _time_sensor(t: NDArray, s: NDArray) -> NDArray:
    """(time, sensor) keys as a structured array, ordered by time then sensor."""
    out = np.empty(t.size, dtype=[("t", np.float64), ("s", np.int64)])
    out["t"], out["s"] = t, s
    return out


@dataclass(frozen=True, eq=False)
class ScanSequence:
    """Scans of a detections table, in measurement-time order (module docstring).

    Attributes
    ----------
    det : Detections
        The radar network's reports (with truth tags, kept for scoring).
    sensor_ndim : tuple[int, ...]
        Measurement dimension m of each of ``det.sensors`` (3, or 4 with range-rate).
    delivery : "ideal", "buffer", "drop" or "retrodict"
        How arrival at the consumer is handled (module docstring).
    lag : float
        Reorder-buffer lag [s] for ``delivery="buffer"``.
    schedule : tuple of (K_s,) arrays, or None
        Scan instants of each sensor [s] that are scans even when no run has a report there
        (the radar looked and saw nothing: a missed opportunity for every track it covers).
        Without it the scans are the instants with at least one report in *some* run, so a
        run's empty scans — and its tracks' misses — would depend on the other runs of the
        set. :meth:`from_detections` fills it from the radars' schedules.
    late_window : float
        ``delivery="retrodict"``: 0 places each late report exactly where its run's consumer
        receives it; W > 0 holds late reports until the end of the W-second window of their
        arrival, t in [k W, (k + 1) W) -> entry before the first scan measured at or after
        (k + 1) W (a delay of at most W + the in-sequence latency). Then the late reports of
        one scan that arrive in one window enter together in every run — one batched late
        scan instead of one per run — at the price of that delay.
    """

    det: Detections
    sensor_ndim: tuple[int, ...]
    delivery: Delivery = "ideal"
    lag: float = 0.0
    schedule: tuple[NDArray, ...] | None = None
    late_window: float = 0.0

    if TYPE_CHECKING:
        # Per-instance attributes derived in __post_init__ (object.__setattr__). Declared for
        # the type checker only, as ClassVar so that they are not taken for dataclass fields.
        times: ClassVar[NDArray]  # (S,) scan times [s]
        sensors_of_scans: ClassVar[NDArray]  # (S,) sensor index of each scan
        _order: ClassVar[NDArray]  # detection rows sorted by (scan, run)
        _scan_id: ClassVar[NDArray]  # scan of each sorted row
        _slot: ClassVar[NDArray]  # slot of each sorted row within its (scan, run) cell
        _starts: ClassVar[NDArray]  # (S + 1,) first sorted row of each scan, then n
        _used: ClassVar[NDArray]  # sorted rows kept by the delivery rule
        _mmax: ClassVar[NDArray]  # (S,) slots per run of each scan
        _late_rows: ClassVar[NDArray]  # sorted rows of the late scans, by (entry, scan, run)
        _late_groups: ClassVar[NDArray]  # (G + 1,) first late row of each late scan, then L
        _late_entry: ClassVar[NDArray]  # (G,) regular scan before which each late scan enters
        _late_scan: ClassVar[NDArray]  # (G,) scan the late reports belong to

    def __post_init__(self) -> None:
        if not isinstance(self.det, Detections):
            raise TypeError(f"ScanSequence.det must be Detections, got {type(self.det).__name__}")
        if len(self.sensor_ndim) != len(self.det.sensors):
            raise ValueError(
                f"ScanSequence.sensor_ndim must give m for each of the {len(self.det.sensors)} "
                f"sensors {self.det.sensors}, got {self.sensor_ndim}"
            )
        if any(m not in (3, 4) for m in self.sensor_ndim):
            raise ValueError(f"ScanSequence.sensor_ndim values must be 3 or 4, got "
                             f"{self.sensor_ndim}")  # fmt: skip
        if self.delivery not in DELIVERY_MODES:
            raise ValueError(f"delivery must be one of {DELIVERY_MODES}, got {self.delivery!r}")
        if not (np.isfinite(self.lag) and self.lag >= 0):
            raise ValueError(f"lag must be a finite number of seconds >= 0, got {self.lag!r}")
        if not (np.isfinite(self.late_window) and self.late_window >= 0):
            raise ValueError(f"late_window must be a finite number of seconds >= 0, got "
                             f"{self.late_window!r}")  # fmt: skip
        det = self.det
        if len(det) and (det.run.min() < 0 or det.run.max() >= det.runs):
            raise ValueError(f"Detections.run values must be in [0, {det.runs}), got "
                             f"[{det.run.min()}, {det.run.max()}]")  # fmt: skip
        if not np.all(np.isfinite(det.t_meas)):
            raise ValueError("Detections.t_meas must be finite")
        if np.any(det.t_arrival < det.t_meas):
            raise ValueError("Detections.t_arrival must be >= t_meas (arrival before measurement)")
        used = np.ones(len(det), bool)
        if self.delivery == "buffer":
            used = det.t_arrival - det.t_meas <= self.lag
        elif self.delivery in ("drop", "retrodict"):
            used = ~_drop_out_of_sequence(det)
        # scan key: (t_meas, sensor); rows sorted by (scan, run) with a slot index per (scan, run)
        order = np.lexsort((det.run, det.sensor_index, det.t_meas))
        tm, si, run = det.t_meas[order], det.sensor_index[order], det.run[order]
        n = len(order)
        # scans: the distinct (time, sensor) keys of the reports and of the schedule, sorted
        key_t, key_s = tm, si.astype(np.int64)
        if self.schedule is not None:
            if len(self.schedule) != len(det.sensors):
                raise ValueError(
                    f"ScanSequence.schedule must give scan times for each of the "
                    f"{len(det.sensors)} sensors, got {len(self.schedule)}"
                )
            st = [np.asarray(a, float).ravel() for a in self.schedule]
            if any(not np.all(np.isfinite(a)) for a in st):
                raise ValueError("ScanSequence.schedule times must be finite")
            key_t = np.concatenate([tm, *st])
            key_s = np.concatenate([key_s, *(np.full(a.size, i, np.int64)
                                             for i, a in enumerate(st))])  # fmt: skip
        keys = np.unique(_time_sensor(key_t, key_s))  # sorted by (t, s)
        times, sens = keys["t"].astype(float), keys["s"].astype(int)
        S = times.size
        rows_key = _time_sensor(tm, si)
        scan_id = np.searchsorted(keys, rows_key) if n else np.zeros(0, np.int64)
        new_cell = np.ones(n, bool)
        new_cell[1:] = (scan_id[1:] != scan_id[:-1]) | (run[1:] != run[:-1])
        cell_start = np.flatnonzero(new_cell)
        cell_len = np.diff(np.append(cell_start, n))
        slot = np.arange(n) - np.repeat(cell_start, cell_len)
        starts = np.searchsorted(scan_id, np.arange(S + 1))  # first row of each scan, then n
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_scan_id", scan_id)
        object.__setattr__(self, "_slot", slot)
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(self, "_used", used[order])
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "sensors_of_scans", sens)
        mmax = np.zeros(S, int)
        if n:
            np.maximum.at(mmax, scan_id, slot + 1)
        object.__setattr__(self, "_mmax", mmax)
        self._place_late(times)

    def _place_late(self, times: NDArray) -> None:
        """Late scans of ``delivery="retrodict"``: where each out-of-sequence report enters
        the sequence (module docstring, p*), grouped by (entry, scan)."""
        det, S = self.det, times.size
        late = np.zeros(0, np.int64)
        if self.delivery == "retrodict":
            late = np.flatnonzero(~self._used)  # positions in the sorted rows
        entry = np.zeros(late.size, np.int64)
        if late.size:
            rows = self._order
            run, ta = det.run[rows], det.t_arrival[rows]
            sid = self._scan_id
            p1 = np.searchsorted(times, ta[late], side="right")
            # in-sequence rows of each run in scan order, with the running maximum of their
            # arrival times; the first whose running maximum exceeds t_a is p2
            ins = np.flatnonzero(self._used)
            by_run = ins[np.lexsort((sid[ins], run[ins]))]
            a = ta[by_run]
            lo_a = float(min(a.min(), ta[late].min())) if a.size else 0.0
            span = float(max(a.max(), ta[late].max()) - lo_a + 1.0) if a.size else 1.0
            key = np.maximum.accumulate(run[by_run] * span + (a - lo_a))
            pos = np.searchsorted(key, run[late] * span + (ta[late] - lo_a), side="right")
            p2 = np.full(late.size, S, np.int64)
            inside = pos < by_run.size
            same = inside.copy()
            same[inside] = run[by_run[pos[inside]]] == run[late[inside]]
            p2[same] = sid[by_run[pos[same]]]
            entry = np.maximum(np.minimum(p1, p2), sid[late] + 1)
            W = self.late_window
            if W > 0:  # held to the end of the arrival's window (class docstring)
                end = (np.floor(ta[late] / W) + 1.0) * W
                entry = np.maximum(entry, np.searchsorted(times, end, side="left"))
        o = np.lexsort((self.det.run[self._order][late], self._scan_id[late], entry))
        late, entry = late[o], entry[o]
        new = np.ones(late.size, bool)
        if late.size:
            new[1:] = (entry[1:] != entry[:-1]) | (
                self._scan_id[late][1:] != self._scan_id[late][:-1]
            )
        starts = np.flatnonzero(new)
        object.__setattr__(self, "_late_rows", late)
        object.__setattr__(self, "_late_groups", np.append(starts, late.size))
        object.__setattr__(self, "_late_entry", entry[starts])
        object.__setattr__(self, "_late_scan", self._scan_id[late][starts])

    # ------------------------------------------------------------------ access
    @property
    def runs(self) -> int:
        """Number of Monte Carlo runs N."""
        return int(self.det.runs)

    @property
    def sensors(self) -> tuple[str, ...]:
        """Sensor ids (``Scan.sensor`` indexes into it)."""
        return self.det.sensors

    @property
    def origins(self) -> tuple[str, ...]:
        """Truth-tag labels (``Scan.origin`` indexes into it)."""
        return self.det.origins

    def __len__(self) -> int:
        return len(self.times)

    @property
    def late_scans(self) -> int:
        """Number of late scans (``delivery="retrodict"``; 0 otherwise)."""
        return int(self._late_entry.size)

    @property
    def late_reports(self) -> int:
        """Reports that reach the consumer out of sequence and come back as late scans."""
        return int(self._late_rows.size)

    def _runs(self, runs: slice | None) -> tuple[int, int]:
        return (0, self.runs) if runs is None else (runs.start or 0, runs.stop or self.runs)

    def _build(self, i: int, pos: NDArray, used: NDArray, lo: int, hi: int,
               late: bool) -> Scan:  # fmt: skip
        """Scan ``i``'s arrays for runs [lo, hi) from sorted-row positions ``pos``."""
        rows = self._order[pos]
        run = self.det.run[rows]
        keep = (run >= lo) & (run < hi)
        rows, run, slot, used = rows[keep], run[keep] - lo, self._slot[pos][keep], used[keep]
        s = int(self.sensors_of_scans[i])
        m = self.sensor_ndim[s]
        nr = hi - lo
        M = int(slot.max()) + 1 if len(slot) else 0
        z = np.full((nr, M, m), np.nan)
        valid = np.zeros((nr, M), bool)
        t_arr = np.full((nr, M), np.nan)
        origin = np.full((nr, M), -1, np.int32)
        z[run, slot] = self.det.z[rows, :m]
        valid[run, slot] = used
        t_arr[run, slot] = self.det.t_arrival[rows]
        origin[run, slot] = self.det.origin_index[rows]
        z[~valid] = np.nan
        return Scan(i, float(self.times[i]), s, z, valid, t_arr, origin, late)

    def scan(self, i: int, runs: slice | None = None) -> Scan:
        """Scan ``i`` for runs ``runs`` (a slice of ``[0, N)``, default all)."""
        if not 0 <= i < len(self):
            raise IndexError(f"scan index {i} outside [0, {len(self)})")
        lo, hi = self._runs(runs)
        pos = np.arange(int(self._starts[i]), int(self._starts[i + 1]))
        return self._build(i, pos, self._used[pos], lo, hi, False)

    def late_scan(self, g: int, runs: slice | None = None) -> Scan:
        """Late scan ``g`` (``Scan.late``) for runs ``runs``: the out-of-sequence reports of
        scan ``_late_scan[g]`` that enter before regular scan ``_late_entry[g]``."""
        if not 0 <= g < self.late_scans:
            raise IndexError(f"late scan index {g} outside [0, {self.late_scans})")
        lo, hi = self._runs(runs)
        pos = self._late_rows[self._late_groups[g] : self._late_groups[g + 1]]
        return self._build(int(self._late_scan[g]), pos, np.ones(pos.size, bool), lo, hi, True)

    def __iter__(self) -> Iterator[Scan]:
        """Every scan in processing order (late scans included: :meth:`iter_runs`)."""
        return self.iter_runs(0, self.runs)

    def iter_runs(self, lo: int, hi: int) -> Iterator[Scan]:
        """Scans restricted to runs ``[lo, hi)`` (a chunk), in order; with
        ``delivery="retrodict"`` each late scan just before the regular scan it enters before
        (late scans without a report in the chunk are skipped)."""
        g, G = 0, self.late_scans
        for i in range(len(self) + 1):
            while g < G and self._late_entry[g] == i:
                sc = self.late_scan(g, slice(lo, hi))
                if sc.valid.any():
                    yield sc
                g += 1
            if i < len(self):
                yield self.scan(i, slice(lo, hi))

    @classmethod
    def from_detections(
        cls,
        det: Detections,
        radars: Sequence,
        delivery: Delivery = "ideal",
        lag: float = 0.0,
        schedule: bool = True,
        late_window: float = 0.0,
    ) -> ScanSequence:
        """Scans of ``det`` with each sensor's m taken from ``radars`` (``sensors.Radar``).

        With ``schedule`` every scan instant of every radar (``Radar.scan_times``) between the
        first and the last report of ``det`` is a scan, reports or not, so that a run's
        result does not depend on which other runs share the set (up to the two ends).
        """
        by_id = {r.id: r for r in radars}
        missing = [s for s in det.sensors if s not in by_id]
        if missing:
            raise ValueError(f"radars do not include the detections' sensor(s) {missing}")
        ndim = tuple(int(by_id[s].ndim_meas) for s in det.sensors)
        sched = None
        if schedule and len(det):
            t0, t1 = float(det.t_meas.min()), float(det.t_meas.max())
            sched = tuple(by_id[s].scan_times(t0, t1) for s in det.sensors)
        return cls(det, ndim, delivery, lag, sched, late_window)


def report_positions(z: NDArray, site_ecef: NDArray, enu_rotation: NDArray) -> NDArray:
    """ECEF positions of radar reports ``(..., m>=3) -> (..., 3)`` [m] (NaN stays NaN).

    e = rho cos(el) sin(az),  n = rho cos(el) cos(az),  u = rho sin(el)
    r = s + C' (e, n, u)      (C: ECEF -> ENU rotation of the site, rows e, n, u)
    """
    rho, az, el = z[..., 0], z[..., 1], z[..., 2]
    ce = np.cos(el)
    enu = np.stack([rho * ce * np.sin(az), rho * ce * np.cos(az), rho * np.sin(el)], axis=-1)
    return site_ecef + enu @ enu_rotation


def converted_covariance(z: NDArray, R3: NDArray, enu_rotation: NDArray) -> NDArray:
    """Covariance of the converted (ECEF) position of reports ``(..., m>=3) -> (..., 3, 3)``.

    First-order propagation of R3 = cov(range, az, el) through the spherical -> ENU map
    (Bar-Shalom, Li & Kirubarajan 2001, §10.4.3, converted measurements), then to ECEF:

        J = d(e, n, u) / d(rho, az, el)
          = [[ce sa, rho ce ca, -rho se sa],
             [ce ca, -rho ce sa, -rho se ca],
             [se,    0,           rho ce   ]]      (c = cos, s = sin, e = el, a = az)
        C_enu = J R3 J',   C_ecef = T' C_enu T     (T: ECEF -> ENU rotation)
    """
    rho, az, el = z[..., 0], z[..., 1], z[..., 2]
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    J = np.empty(z.shape[:-1] + (3, 3))
    J[..., 0, 0], J[..., 0, 1], J[..., 0, 2] = ce * sa, rho * ce * ca, -rho * se * sa
    J[..., 1, 0], J[..., 1, 1], J[..., 1, 2] = ce * ca, -rho * ce * sa, -rho * se * ca
    J[..., 2, 0], J[..., 2, 1], J[..., 2, 2] = se, 0.0, rho * ce
    A = np.swapaxes(enu_rotation, -1, -2) @ J  # d(ECEF)/d(rho, az, el)
    return A @ R3 @ np.swapaxes(A, -1, -2)
