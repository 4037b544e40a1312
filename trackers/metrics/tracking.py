"""Scoring a multi-object tracker against the truth: GOSPA, breaks, switches, spawn delay, labels.

The tracker hands over a :class:`TrackLog` (every live track of every Monte Carlo run at the
evaluation epochs); the scorer reads the truth (:class:`~trackers.sim.truth.Flight`) and the
truth tags of the detections (:class:`~trackers.sensors.Detections`). The tracker never sees
either. Everything is computed for all runs and epochs at once (no Python loop over runs).

Observable truth
----------------
Object o is *observable* at epoch e of run r when it is alive, t_start(o) <= e <= t_end(o), and
some radar reported it in that run within the window W before e:

    exists a detection of run r with o in origin (alone or merged "a+b") and e - W < t_meas <= e

(default W = 10 s, by measurement time). Objects never seen, or not seen for W seconds, are
not expected of the tracker.

Truth-to-track assignment
-------------------------
At each (run, epoch), the CONFIRMED tracks are assigned one-to-one to the observable objects by
minimising (optimal 2-D assignment, :func:`trackers.metrics.gospa.assign_min_cost`)

    sum_{assigned (o, k)} d_ok^2  +  c^2 * (number of unassigned objects),
    d_ok = | pos(x_k) - pos(truth_o(t_k)) |,   pairs with d_ok >= c forbidden

with t_k the time of track k's estimate (the truth is taken at t_k, not at the epoch) and
c the cut-off (default 20 km). This is exactly the assignment that minimises GOSPA with p = 2
(see :mod:`trackers.metrics.gospa`), so the GOSPA of each (run, epoch) and the assignment used by
every other metric come from one solve.

Optionally (``ScoreConfig.keep_correspondence``) the track-level metrics use CLEAR MOT
persistence instead (the mapping procedure of Bernardin & Stiefelhagen 2008): an object
keeps the track it had at the previous epoch while that track is confirmed and within c, and
only the rest is assigned optimally. Closely spaced objects (a stage drifting away from the
rv at a few m/s stays within a few km for many minutes) otherwise trade tracks whenever the
estimation noise makes the swapped pairing cheaper, and every trade counts as two id switches.

Metrics
-------
GOSPA (Rahmathullah, García-Fernández & Svensson 2017; alpha = 2, p = 2, cut-off c)
    per (run, epoch) between the observable objects and the confirmed tracks, with its
    localisation / missed / false parts (metres, total^2 = loc^2 + missed^2 + false^2);
    summarised by the mean over runs and every epoch of the grid.
Track breaks
    per (run, object): epochs where the assigned track id differs from the last id assigned
    to that object before (after a gap, or directly). A track lost and never replaced is no
    break; a track that comes back after a gap with the same id is none either.
Id switches
    the breaks at which the previous track still exists in the log (any status) at that epoch
    (the object moved to another track while its old one lived on; Bernardin & Stiefelhagen
    2008, CLEAR MOT). ``rv_id_switches`` counts those of the rv.
False confirmed tracks
    per run: confirmed tracks that were not assigned to any object at more than 50 % of the
    epochs at which they were confirmed. A track that follows an object which is alive but not
    observable at that epoch (a faint object between two of its sparse detections, which the
    tracker rightly coasts through) is not false there: after the assignment above, the
    confirmed tracks left unassigned are assigned one-to-one to the alive, unobservable
    objects (the same cost and cut-off c), and an epoch at which a track is so assigned counts
    as one on an object (``Assignment.row_unreported``). GOSPA, breaks,
    switches and every other metric ignore this second assignment (an object that is not
    observable is not expected of the tracker). ``ScoreConfig(unreported_objects=False)``
    gives the stricter count, in which such a track is false.
Time to confirm
    per (run, object): first epoch with a confirmed track assigned to the object minus the
    arrival time of the first detection reporting it (alone or merged). Quantised by the
    epoch grid; NaN if never assigned or never detected.
Spawn delay
    per (run, separation event of child c): t_res = first arrival time of a detection whose
    origin is exactly c (resolved, not merged) at or after the separation; the delay is the
    first epoch e >= t_res with a confirmed track assigned to c, minus t_res; +inf if none,
    NaN if c is never resolved in that run (excluded). Summarised by the median, the 95th
    percentile and the share <= 10 s over resolved events (+inf counts as > 10 s).
    At t_res the pair is only a radar resolution cell apart, far inside c, so one track on
    the pair is "assigned to c" whenever c happens to be the closer object. The *split*
    delay is therefore also given: the first epoch e >= t_res at which c AND its parent are
    both assigned confirmed tracks (necessarily two) and one of the two was born at or after
    the separation, minus t_res.
Rv label correctness
    over (run, epoch) after the last separation with the rv observable: the share where the
    confirmed track labelled rv (the highest ``label_conf`` if several; ties: first in the log)
    is the track assigned to the rv by the optimal assignment of that epoch (also with
    ``keep_correspondence``: the label is right when its track is on the rv now, whatever
    track the rv had before). No rv-labelled track, or an unassigned rv, is incorrect.
NEES
    of every confirmed assigned track, position (3 dof) and velocity (3 dof) blocks,
    eps = e' P^-1 e with e = truth(t_k) - x_k; averaged per epoch over the assigned
    (run, object) pairs, with the chi-square band of :mod:`trackers.metrics.consistency`
    (Bar-Shalom, Li & Kirubarajan 2001, §5.4) for that epoch's number of samples. The band
    assumes independent samples; two objects of one run are not quite, so read it as a guide.

References
----------
A. S. Rahmathullah, Á. F. García-Fernández, L. Svensson, "Generalized optimal sub-pattern
assignment metric", Proc. 20th Int. Conf. Information Fusion, 2017.
K. Bernardin, R. Stiefelhagen, "Evaluating multiple object tracking performance: the CLEAR MOT
metrics", EURASIP J. Image and Video Processing, 2008.
Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, Wiley 2001, §5.4 (NEES and its chi-square test).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.metrics.consistency import anees, chi2_band, fraction_in_band, nees
from trackers.metrics.gospa import assign_min_cost, gospa_from_distances

if TYPE_CHECKING:
    from trackers.sensors.detections import Detections
    from trackers.sim.truth import Flight

__all__ = [
    "CONFIRMED",
    "LABELS",
    "TENTATIVE",
    "Assignment",
    "EpochScores",
    "Evaluation",
    "ScoreConfig",
    "TrackLog",
    "assign_tracks",
    "concatenate",
    "evaluate",
    "observable_truth",
    "score",
    "summarise",
]

#: Track label codes of ``TrackLog.label``: index -> name.
LABELS = ("unknown", "rv", "stage", "debris")
#: ``TrackLog.status`` codes.
TENTATIVE, CONFIRMED = 1, 2
#: Spawn delays at most this long count as prompt (``spawn_within_10s_frac``) [s].
SPAWN_PROMPT_S = 10.0
#: Problems (run x epoch) solved per assignment call; bounds the (N, O, M) work arrays.
_CHUNK_ELEMENTS = 4_000_000

_ROW_FIELDS = ("run", "epoch", "track", "parent", "t", "x", "P", "status", "label",
               "label_conf", "born")  # fmt: skip
_CSV_COLUMNS = ("run", "epoch", "track", "parent", "t", "x", "y", "z", "vx", "vy", "vz",
                "sd_x", "sd_y", "sd_z", "sd_vx", "sd_vy", "sd_vz", "status", "label",
                "label_conf", "born")  # fmt: skip


class TrackLog(NamedTuple):
    """Snapshots of every live track of every run at evaluation epochs (long format, R rows).

    Attributes
    ----------
    run : (R,) int32
        Monte Carlo run index in [0, runs).
    epoch : (R,) float
        Evaluation time [s]; one of ``epochs``.
    track : (R,) int64
        Track id, unique within a run (never reused).
    parent : (R,) int64
        Id of the track it was spawned from at a separation, or -1.
    t : (R,) float
        Time of the estimate [s] (<= epoch: last update or prediction).
    x : (R, 6) float
        ECEF position [m] / velocity [m/s] estimate at time t.
    P : (R, 6, 6) float
        Its covariance [SI^2].
    status : (R,) int8
        1 tentative, 2 confirmed (:data:`TENTATIVE`, :data:`CONFIRMED`).
    label : (R,) int8
        Index into :data:`LABELS`: 0 unknown, 1 rv, 2 stage, 3 debris.
    label_conf : (R,) float
        Confidence of the label, in [0, 1].
    born : (R,) float
        Birth time of the track [s].
    runs : int
        Number of Monte Carlo runs covered.
    epochs : (E,) float
        The evaluation grid [s], strictly increasing.
    """

    run: NDArray
    epoch: NDArray
    track: NDArray
    parent: NDArray
    t: NDArray
    x: NDArray
    P: NDArray
    status: NDArray
    label: NDArray
    label_conf: NDArray
    born: NDArray
    runs: int
    epochs: NDArray

    @property
    def n_rows(self) -> int:
        """Number of rows R (``len()`` of a NamedTuple is its field count)."""
        return int(np.shape(self.run)[0])

    def checked(self) -> TrackLog:
        """The log with canonical dtypes, or ``ValueError`` naming the first bad field."""
        if not isinstance(self.runs, (int, np.integer)) or self.runs < 1:
            raise ValueError(f"TrackLog.runs must be an int >= 1, got {self.runs!r}")
        epochs = np.asarray(self.epochs, dtype=float)
        if epochs.ndim != 1 or epochs.size == 0 or np.any(np.diff(epochs) <= 0):
            raise ValueError(
                f"TrackLog.epochs must be 1-D, non-empty and strictly increasing, got "
                f"shape {epochs.shape}"
            )
        r = np.shape(self.run)[0] if np.ndim(self.run) == 1 else -1
        if r < 0:
            raise ValueError(f"TrackLog.run must be 1-D, got shape {np.shape(self.run)}")
        shapes = {"x": (r, 6), "P": (r, 6, 6)}
        for name in _ROW_FIELDS:
            want = shapes.get(name, (r,))
            if np.shape(getattr(self, name)) != want:
                raise ValueError(
                    f"TrackLog.{name} must have shape {want}, got {np.shape(getattr(self, name))}"
                )
        out = self._replace(
            run=np.asarray(self.run, dtype=np.int64),
            epoch=np.asarray(self.epoch, dtype=float),
            track=np.asarray(self.track, dtype=np.int64),
            parent=np.asarray(self.parent, dtype=np.int64),
            t=np.asarray(self.t, dtype=float),
            x=np.asarray(self.x, dtype=float),
            P=np.asarray(self.P, dtype=float),
            status=np.asarray(self.status, dtype=np.int8),
            label=np.asarray(self.label, dtype=np.int8),
            label_conf=np.asarray(self.label_conf, dtype=float),
            born=np.asarray(self.born, dtype=float),
            runs=int(self.runs),
            epochs=epochs,
        )
        if r == 0:
            return out
        bad = (out.run < 0) | (out.run >= out.runs)
        if bad.any():
            raise ValueError(f"TrackLog.run must be in [0, {out.runs}), got {out.run[bad][:3]}")
        j = _epoch_index(out.epoch, epochs)
        if np.any(j < 0):
            raise ValueError(
                f"TrackLog.epoch must be values of TrackLog.epochs, got {out.epoch[j < 0][:3]}"
            )
        late = out.t > out.epoch + 1e-9
        if late.any():
            raise ValueError(
                f"TrackLog.t must be <= epoch, got t = {out.t[late][:3]} at {out.epoch[late][:3]}"
            )
        bad = ~np.isin(out.status, (TENTATIVE, CONFIRMED))
        if bad.any():
            raise ValueError(f"TrackLog.status must be 1 or 2, got {np.unique(out.status[bad])}")
        bad = (out.label < 0) | (out.label >= len(LABELS))
        if bad.any():
            raise ValueError(f"TrackLog.label must index {LABELS}, got {np.unique(out.label[bad])}")
        bad = ~((out.label_conf >= 0) & (out.label_conf <= 1))  # also NaN
        if bad.any():
            raise ValueError(
                f"TrackLog.label_conf must be in [0, 1], got {out.label_conf[bad][:3]}"
            )
        if np.any(out.track < 0):
            raise ValueError(f"TrackLog.track must be >= 0, got {out.track[out.track < 0][:3]}")
        key = _row_key(out.run, j, out.track, epochs.size)
        if np.unique(key).size != r:
            raise ValueError("TrackLog has repeated (run, epoch, track) rows")
        return out

    def to_csv(self, path: str | Path) -> None:
        """Write one row per (run, epoch, track): columns run, epoch, track, parent, t,
        x, y, z, vx, vy, vz [m, m/s], sd_x..sd_vz (square roots of the diagonal of P),
        status, label (name from :data:`LABELS`), label_conf, born.

        Floats are written with ``repr`` (exact round trip); the off-diagonal of P is not kept.
        """
        log = self.checked()
        sd = np.sqrt(np.diagonal(log.P, axis1=1, axis2=2))  # (R, 6) standard deviations
        names = np.asarray(LABELS, dtype=object)[log.label]
        cols = [log.run, log.epoch, log.track, log.parent, log.t, *log.x.T, *sd.T, log.status,
                names, log.label_conf, log.born]  # fmt: skip
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(_CSV_COLUMNS)
            w.writerows(zip(*(np.asarray(c).tolist() for c in cols), strict=True))


def concatenate(parts: list[TrackLog]) -> TrackLog:
    """Stack logs of blocks of runs (run indices global, same epoch grid).

    A block covering runs ``[a, a + n)`` carries ``runs = a + n``; the result has the largest
    ``runs`` of the parts and rows sorted by (run, epoch, track). ``ValueError`` if the
    epoch grids differ or the list is empty.
    """
    if not parts:
        raise ValueError("concatenate needs at least one TrackLog, got an empty list")
    p0 = parts[0]
    for i, p in enumerate(parts[1:], start=1):
        if not np.array_equal(np.asarray(p.epochs), np.asarray(p0.epochs)):
            raise ValueError(f"concatenate: parts[{i}].epochs differ from parts[0].epochs")
    cols = {f: np.concatenate([np.asarray(getattr(p, f)) for p in parts]) for f in _ROW_FIELDS}
    order = np.lexsort((cols["track"], cols["epoch"], cols["run"]))
    return p0._replace(
        **{f: a[order] for f, a in cols.items()}, runs=max(int(p.runs) for p in parts)
    )


@dataclass(frozen=True)
class ScoreConfig:
    """Scoring parameters.

    Attributes
    ----------
    cutoff_m : float
        GOSPA / assignment cut-off c [m]: a track farther than c from an object is never
        assigned to it.
    window_s : float
        Observability window W [s]: an object counts at epoch e if reported in (e - W, e].
    false_track_share : float
        A confirmed track is false if unassigned at more than this share of its confirmed
        epochs (dimensionless, in [0, 1)).
    band_prob : float
        Probability of the two-sided NEES chi-square band.
    keep_correspondence : bool
        False (default): every metric uses the optimal assignment of each epoch. True: the
        track-level metrics (breaks, switches, false tracks, time to confirm, spawn delay,
        NEES; not the rv label) use CLEAR MOT persistence (an object keeps last epoch's track while
        it is confirmed and within the cut-off), so closely spaced objects whose optimal
        assignment flips with the estimation noise do not count switches; GOSPA is unchanged.
    unreported_objects : bool
        True (default): a confirmed track that follows an alive object not observable at
        that epoch is not unassigned there for the false-track count (module docstring).
        False: it is (the stricter count).
    """

    cutoff_m: float = field(default=20e3, metadata={"units": "m"})
    window_s: float = field(default=10.0, metadata={"units": "s"})
    false_track_share: float = field(default=0.5, metadata={"units": "1"})
    band_prob: float = field(default=0.95, metadata={"units": "1"})
    keep_correspondence: bool = False
    unreported_objects: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cutoff_m) and self.cutoff_m > 0):
            raise ValueError(f"cutoff_m must be finite and > 0 [m], got {self.cutoff_m!r}")
        if not (math.isfinite(self.window_s) and self.window_s > 0):
            raise ValueError(f"window_s must be finite and > 0 [s], got {self.window_s!r}")
        if not 0 <= self.false_track_share < 1:
            raise ValueError(f"false_track_share must be in [0, 1), got {self.false_track_share!r}")
        if not 0 < self.band_prob < 1:
            raise ValueError(f"band_prob must be in (0, 1), got {self.band_prob!r}")


class Assignment(NamedTuple):
    """Truth-to-track assignment at every (run, epoch); O = number of flight objects.

    Attributes
    ----------
    observable : (runs, E, O) bool
        Object observable (alive and reported within the window).
    row : (runs, E, O) int64
        Log row of the confirmed track assigned to the object, or -1 (the optimal
        assignment of each epoch, or the persistent one with ``keep_correspondence``).
    track : (runs, E, O) int64
        Its track id, or -1.
    dist : (runs, E, O) float
        Position distance [m] of the assigned pair, NaN if unassigned.
    row_object : (R,) int64
        Object index assigned to each log row, -1 (unassigned or tentative).
    gospa, localisation, missed, false : (runs, E) float
        GOSPA and its parts [m] (see :mod:`trackers.metrics.gospa`).
    n_confirmed : (runs, E) int64
        Number of confirmed tracks.
    rv_label_ok : (runs, E) float
        1 / 0 where the rv label is scored (after the last separation, rv observable), else NaN.
    row_unreported : (R,) bool
        Log rows of unassigned confirmed tracks matched one-to-one, within c, to an object
        alive but not observable at that epoch (module docstring, false confirmed tracks).
    """

    observable: NDArray
    row: NDArray
    track: NDArray
    dist: NDArray
    row_object: NDArray
    gospa: NDArray
    localisation: NDArray
    missed: NDArray
    false: NDArray
    n_confirmed: NDArray
    rv_label_ok: NDArray
    row_unreported: NDArray


class EpochScores(NamedTuple):
    """Per-epoch series for figures (means over runs; E epochs).

    Attributes
    ----------
    epochs : (E,) float
        Evaluation grid [s].
    gospa, localisation, missed, false : (E,) float
        Run-mean GOSPA and parts [m].
    n_observable, n_confirmed : (E,) float
        Run-mean number of observable objects and of confirmed tracks.
    rv_label_correct : (E,) float
        Share of scored runs with the rv label right (NaN where none is scored).
    nees_pos, nees_vel : (E,) float
        Mean NEES over the assigned (run, object) pairs (NaN where none).
    nees_count : (E,) int64
        Number of those pairs.
    nees_band : (E, 2) float
        Chi-square band (3 dof, ``nees_count`` samples); NaN where the count is 0.
    """

    epochs: NDArray
    gospa: NDArray
    localisation: NDArray
    missed: NDArray
    false: NDArray
    n_observable: NDArray
    n_confirmed: NDArray
    rv_label_correct: NDArray
    nees_pos: NDArray
    nees_vel: NDArray
    nees_count: NDArray
    nees_band: NDArray


class Evaluation(NamedTuple):
    """Everything :func:`summarise` condenses; arrays over runs, epochs and objects.

    Attributes
    ----------
    config : ScoreConfig
    runs : int
    objects, roles : tuple of str
        Flight object ids and roles (O of them), the object axis of the arrays.
    assignment : Assignment
    per_epoch : EpochScores
    breaks, switches : (runs, O) int64
        Track breaks and id switches per run and object.
    false_tracks : (runs,) int64
        False confirmed tracks per run.
    time_to_confirm : (runs, O) float
        [s], NaN if never confirmed-and-assigned or never detected.
    spawn_objects : tuple of str
        Child object of each separation event (S of them).
    spawn_delay : (runs, S) float
        [s]; NaN if the child is never resolved in that run, +inf if never tracked after.
    spawn_split_delay : (runs, S) float
        [s]; the same until child and parent are both tracked, one by a new track.
    nees_pos, nees_vel : (runs, E, O) float
        NEES of the assigned tracks (3 dof each), NaN where unassigned.
    """

    config: ScoreConfig
    runs: int
    objects: tuple[str, ...]
    roles: tuple[str, ...]
    assignment: Assignment
    per_epoch: EpochScores
    breaks: NDArray
    switches: NDArray
    false_tracks: NDArray
    time_to_confirm: NDArray
    spawn_objects: tuple[str, ...]
    spawn_delay: NDArray
    spawn_split_delay: NDArray
    nees_pos: NDArray
    nees_vel: NDArray


# ---------------------------------------------------------------------------------- helpers
def _epoch_index(epoch: NDArray, epochs: NDArray) -> NDArray:
    """Index of each value of ``epoch`` in the grid ``epochs`` (within 1 us), or -1."""
    j = np.clip(np.searchsorted(epochs, epoch), 0, epochs.size - 1)
    jm = np.maximum(j - 1, 0)
    j = np.where(np.abs(epochs[jm] - epoch) < np.abs(epochs[j] - epoch), jm, j)
    return np.where(np.abs(epochs[j] - epoch) <= 1e-6, j, -1)


def _row_key(run: NDArray, j: NDArray, track: NDArray, n_epochs: int) -> NDArray:
    """One int64 per (run, epoch index, track id): (run * E + j) * (max id + 1) + id."""
    width = int(track.max(initial=0)) + 1
    if (int(run.max(initial=0)) + 1) * n_epochs * width >= 2**62:
        raise ValueError(f"TrackLog.track ids up to {width - 1} are too large to key rows")
    return (run.astype(np.int64) * n_epochs + j) * width + track


def _origin_incidence(origins: tuple[str, ...], ids: tuple[str, ...]) -> NDArray:
    """``(n_origins, O)`` bool: origin label (object id, "a+b", "clutter") contains object."""
    inc = np.zeros((len(origins), len(ids)), dtype=bool)
    col = {o: i for i, o in enumerate(ids)}
    for k, name in enumerate(origins):
        if name == "clutter":
            continue
        for part in name.split("+"):
            if part not in col:
                raise ValueError(
                    f"det.origins has {name!r}: object {part!r} is not in the flight {ids}"
                )
            inc[k, col[part]] = True
    return inc


def _first_arrival(det: Detections, rows: NDArray, runs: int) -> NDArray:
    """Earliest ``t_arrival`` per run over the selected detection rows, ``(runs,)``; +inf."""
    out = np.full(runs, np.inf)
    np.minimum.at(out, det.run[rows], det.t_arrival[rows])
    return out


def _quantile(v: NDArray, q: float) -> float:
    """Linear-interpolation quantile of ``v`` that may hold +inf (NaN if empty)."""
    if v.size == 0:
        return math.nan
    big = 1e300  # stand-in for +inf so that interpolation next to it stays huge, not NaN
    r = float(np.quantile(np.where(np.isinf(v), big, v), q))
    return math.inf if r >= 1e299 else r


def _json(x):
    """Python floats/ints/None (NaN and inf -> None) for JSON."""
    if isinstance(x, dict):
        return {k: _json(v) for k, v in x.items()}
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


# ---------------------------------------------------------------------------------- truth
def observable_truth(
    flight: Flight, det: Detections, epochs: NDArray, runs: int, window_s: float
) -> NDArray:
    """Objects observable at each (run, epoch): alive and reported within ``(e - W, e]``.

    Parameters
    ----------
    flight : Flight
        Truth; the object axis follows ``flight.objects``.
    det : Detections
        Detections with their ``origin`` truth tags (merged "a+b" reports count for a and b).
    epochs : (E,) float
        Evaluation grid [s].
    runs : int
        Number of Monte Carlo runs.
    window_s : float
        W [s].

    Returns
    -------
    (runs, E, O) bool
    """
    epochs = np.asarray(epochs, dtype=float)
    ids = tuple(o.id for o in flight.objects)
    inc = _origin_incidence(det.origins, ids)
    E = epochs.size
    obs = np.zeros((runs, E, len(ids)), dtype=bool)
    for o, obj in enumerate(flight.objects):  # loop over objects (few), never over runs
        rows = np.flatnonzero(inc[det.origin_index, o])
        tm = det.t_meas[rows]
        # a report at t_meas covers the epochs e with t_meas <= e < t_meas + W
        j_lo = np.searchsorted(epochs, tm, side="left")
        j_hi = np.searchsorted(epochs, tm + window_s, side="left")
        base = det.run[rows].astype(np.int64) * (E + 1)
        # difference array over (run, epoch): +1 at j_lo, -1 at j_hi, then cumulative sum
        diff = np.bincount(base + j_lo, minlength=runs * (E + 1))
        diff -= np.bincount(base + j_hi, minlength=runs * (E + 1))
        covered = np.cumsum(diff.reshape(runs, E + 1), axis=1)[:, :E] > 0
        alive = (epochs >= obj.t_start) & (epochs <= obj.t_end)  # t_start <= e <= t_end
        obs[:, :, o] = covered & alive
    return obs


def _separations(flight: Flight) -> list[tuple[float, int]]:
    """(time, child object index) of every separation event, in time order."""
    ids = [o.id for o in flight.objects]
    out = []
    for ev in flight.events:
        if ev.kind == "separation":
            if ev.object not in ids:
                raise ValueError(f"separation event names unknown object {ev.object!r}")
            out.append((float(ev.t_s), ids.index(ev.object)))
    return out


# ---------------------------------------------------------------------------------- assignment
def _persistent_assignment(
    log: TrackLog, rows_all: NDArray, d_full: NDArray, observable: NDArray, cutoff_m: float
) -> NDArray:
    """Assignment with CLEAR MOT correspondence persistence, epoch by epoch (all runs at once).

    At epoch j an object keeps the track it was last matched to (at epoch j - 1, or before a
    stretch in which it was not observable or not assigned) while that track is confirmed and
    closer than the cut-off (CLEAR MOT mapping, Bernardin & Stiefelhagen 2008; as in
    py-motmetrics, the last match is remembered across such gaps); the other objects and
    tracks are assigned optimally as in :func:`assign_tracks`. Returns the slot per
    (problem, object), ``(runs * E, O)``. The loop runs over epochs (the persistence is
    sequential in time), never over runs.
    """
    runs, E, O = observable.shape
    M = rows_all.shape[1]
    rows3 = rows_all.reshape(runs, E, M)
    col = np.full((runs, E, O), -1, dtype=np.int64)
    prev = np.full((runs, O), -1, dtype=np.int64)  # track id each object had at j - 1
    c2 = float(cutoff_m) ** 2
    for j in range(E):
        rj = rows3[:, j]  # (runs, M) log rows of the confirmed tracks
        present = rj >= 0
        tid = np.where(present, log.track[np.maximum(rj, 0)], -2)  # track id per slot
        # d_ok of every (run, object, slot), NaN for empty slots
        dj = np.where(present[:, None, :], d_full[np.maximum(rj, 0)].transpose(0, 2, 1), np.nan)
        with np.errstate(invalid="ignore"):
            feas = observable[:, j, :, None] & present[:, None, :] & (dj < cutoff_m)
        # kept pairs: the object's last matched track, still confirmed and within c; a track
        # claimed by two objects (each last matched to it, at different epochs) stays with
        # the first object in flight order (py-motmetrics' order of step 1)
        keep = feas & (prev[:, :, None] == tid[:, None, :]) & (prev[:, :, None] >= 0)
        keep &= np.cumsum(keep, axis=1) == 1
        kept_o, kept_s = keep.any(axis=2), keep.any(axis=1)
        free = feas & ~kept_o[:, :, None] & ~kept_s[:, None, :]
        a = assign_min_cost(np.where(free, dj, 0.0) ** 2, free, c2)  # optimal for the rest
        cj = np.where(kept_o, keep.argmax(axis=2), a)
        col[:, j] = cj
        # the correspondence outlives epochs where the object is not observable or not
        # assigned (CLEAR MOT: the last match of an object is remembered)
        prev = np.where(cj >= 0, np.take_along_axis(tid, np.maximum(cj, 0), 1), prev)
    return col.reshape(runs * E, O)


def assign_tracks(
    log: TrackLog,
    flight: Flight,
    observable: NDArray,
    cutoff_m: float,
    keep_correspondence: bool = False,
) -> Assignment:
    """Assign confirmed tracks to observable objects at every (run, epoch) (GOSPA-optimal).

    Parameters
    ----------
    log : TrackLog
        Checked log (:meth:`TrackLog.checked`).
    flight : Flight
        Truth.
    observable : (runs, E, O) bool
        From :func:`observable_truth`.
    cutoff_m : float
        c [m].
    keep_correspondence : bool
        Use :func:`_persistent_assignment` (CLEAR MOT persistence) for the track-level
        metrics; GOSPA always uses the optimal assignment of each epoch.

    Returns
    -------
    Assignment
    """
    runs, E = log.runs, log.epochs.size
    O = len(flight.objects)
    N = runs * E
    rv = [i for i, o in enumerate(flight.objects) if o.role == "rv"]
    seps = _separations(flight)
    t_last_sep = max((t for t, _ in seps), default=-math.inf)
    # confirmed rows, grouped by problem g = run * E + epoch index, slot = rank in the group
    conf = np.flatnonzero(log.status == CONFIRMED)
    g = log.run[conf] * E + _epoch_index(log.epoch[conf], log.epochs)
    order = np.argsort(g, kind="stable")
    conf, g = conf[order], g[order]
    counts = np.bincount(g, minlength=N)
    start = np.cumsum(counts) - counts
    slot = np.arange(conf.size) - start[g]
    M = int(counts.max()) if conf.size else 0
    # d_ok = |pos(x_k) - pos(truth_o(t_k))| for every confirmed row and object
    d = np.empty((conf.size, O))
    for o, obj in enumerate(flight.objects):  # loop over objects (few)
        d[:, o] = np.linalg.norm(log.x[conf, :3] - obj.state_at(log.t[conf])[:, :3], axis=1)
    d_full = np.full((log.n_rows, O), np.nan)  # the same, indexed by log row
    d_full[conf] = d
    obs_flat = observable.reshape(N, O)
    rows_all = np.full((N, M), -1, dtype=np.int64)  # log row per (problem, slot)
    rows_all[g, slot] = conf
    col = np.full((N, O), -1, dtype=np.int64)  # assigned slot per (problem, object)
    parts = np.zeros((4, N))
    chunk = max(1, _CHUNK_ELEMENTS // max(1, O * M))
    for a in range(0, N, chunk):  # chunks of problems bound the (n, O, M) memory
        b = min(N, a + chunk)
        lo, hi = np.searchsorted(g, [a, b])
        gi, si = g[lo:hi] - a, slot[lo:hi]
        dist = np.full((b - a, O, M), np.nan)
        dist[gi[:, None], np.arange(O), si[:, None]] = d[lo:hi]
        res = gospa_from_distances(dist, obs_flat[a:b], rows_all[a:b] >= 0, cutoff_m, 2.0)
        parts[:, a:b] = res.total, res.localisation, res.missed, res.false
        col[a:b] = res.assignment
    col_opt = col  # the optimal assignment of each epoch: which track is on the rv now
    if keep_correspondence:
        col = _persistent_assignment(log, rows_all, d_full, observable, cutoff_m)
    row_flat = np.full(col.shape, -1, np.int64)  # log row on each object, -1 if none
    if M:
        row_flat = np.where(col >= 0, np.take_along_axis(rows_all, np.maximum(col, 0), 1), -1)
    rv_ok = np.full(N, np.nan)
    if rv:
        # the rv-labelled confirmed track of highest confidence (first slot on ties)
        label_rv = log.label[conf] == LABELS.index("rv")
        crv = np.full((N, M), -np.inf)  # rv-label confidence per (problem, slot)
        crv[g, slot] = np.where(label_rv, log.label_conf[conf], -np.inf)
        best = np.argmax(crv, axis=1) if M else np.zeros(N, dtype=np.int64)
        has = np.isfinite(crv.max(axis=1)) if M else np.zeros(N, dtype=bool)
        ok = has & (best == col_opt[:, rv[0]])
        # scored epochs: after the last separation, rv observable
        scored = np.tile(log.epochs > t_last_sep, runs) & obs_flat[:, rv[0]]
        rv_ok = np.where(scored, ok.astype(float), np.nan)
    row_unreported = _unreported_rows(flight, log.epochs, runs, obs_flat, rows_all, col, d_full,
                                      cutoff_m)  # fmt: skip
    row = row_flat.reshape(runs, E, O)
    hit = row >= 0
    track = np.where(hit, log.track[np.maximum(row, 0)], -1)
    # distance of each assigned pair, from the per-row distances
    dist = np.where(hit, d_full[np.maximum(row, 0), np.arange(O)], np.nan)
    row_object = np.full(log.n_rows, -1, dtype=np.int64)
    r_run, r_e, r_o = np.nonzero(hit)
    row_object[row[r_run, r_e, r_o]] = r_o
    return Assignment(
        observable=observable,
        row=row,
        track=track,
        dist=dist,
        row_object=row_object,
        gospa=parts[0].reshape(runs, E),
        localisation=parts[1].reshape(runs, E),
        missed=parts[2].reshape(runs, E),
        false=parts[3].reshape(runs, E),
        n_confirmed=counts.reshape(runs, E),
        rv_label_ok=rv_ok.reshape(runs, E),
        row_unreported=row_unreported,
    )


def _unreported_rows(
    flight: Flight,
    epochs: NDArray,
    runs: int,
    obs_flat: NDArray,
    rows_all: NDArray,
    col: NDArray,
    d_full: NDArray,
    cutoff_m: float,
) -> NDArray:
    """Log rows of unassigned confirmed tracks on alive, unobservable objects, ``(R,)`` bool.

    Per problem (run, epoch): the slots of ``rows_all`` (N, M) not taken by ``col`` (N, O) are
    assigned one-to-one to the objects alive at the epoch (t_start <= e <= t_end) but not
    observable, minimising sum d_ok^2 with pairs d_ok >= c forbidden (the assignment of
    :func:`assign_tracks` on what it left over).
    """
    M = rows_all.shape[1]
    O = obs_flat.shape[1]
    out = np.zeros(d_full.shape[0], dtype=bool)
    if M == 0:
        return out
    alive = np.stack([(epochs >= o.t_start) & (epochs <= o.t_end) for o in flight.objects], 1)
    unrep = np.tile(alive, (runs, 1)) & ~obs_flat  # (N, O)
    free = rows_all >= 0
    taken_p, taken_o = np.nonzero(col >= 0)
    free[taken_p, col[taken_p, taken_o]] = False  # slots the main assignment used
    probs = np.flatnonzero(unrep.any(axis=1) & free.any(axis=1))
    chunk = max(1, _CHUNK_ELEMENTS // max(1, O * M))
    for a in range(0, probs.size, chunk):
        p = probs[a : a + chunk]
        rows = rows_all[p]  # (n, M)
        dist = d_full[np.maximum(rows, 0)].transpose(0, 2, 1)  # (n, O, M)
        with np.errstate(invalid="ignore"):
            feas = unrep[p][:, :, None] & free[p][:, None, :] & (dist < cutoff_m)
        s = assign_min_cost(np.where(feas, dist, 0.0) ** 2, feas, float(cutoff_m) ** 2)
        n_i, o_i = np.nonzero(s >= 0)
        out[rows[n_i, s[n_i, o_i]]] = True
    return out


# ---------------------------------------------------------------------------------- metrics
def _breaks_and_switches(log: TrackLog, track: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Track breaks and id switches per (run, object) from assigned ids ``(runs, E, O)``.

    Returns ``breaks (runs, O)``, ``switches (runs, O)`` and the switch mask ``(runs, E, O)``.
    """
    E = track.shape[1]
    valid = track >= 0
    # index of the last assigned epoch strictly before e (-1 if none): forward fill
    idx = np.where(valid, np.arange(E)[None, :, None], -1)
    last = np.maximum.accumulate(idx, axis=1)
    prev = np.concatenate([np.full_like(last[:, :1], -1), last[:, :-1]], axis=1)
    prev_id = np.where(prev >= 0, np.take_along_axis(track, np.maximum(prev, 0), 1), -1)
    # break: assigned now, assigned before, to a different track
    change = valid & (prev_id >= 0) & (track != prev_id)
    # switch: the previous track still exists in the log at this epoch (any status)
    run_i, e_i, _ = np.nonzero(change)
    keys = np.sort(_row_key(log.run, _epoch_index(log.epoch, log.epochs), log.track, E))
    width = int(log.track.max(initial=0)) + 1  # prev_id are ids of the log: same key width
    probe = (run_i.astype(np.int64) * E + e_i) * width + prev_id[change]
    pos = np.clip(np.searchsorted(keys, probe), 0, max(keys.size - 1, 0))
    alive = (keys[pos] == probe) if keys.size else np.zeros(probe.size, dtype=bool)
    switch = np.zeros_like(change)
    switch[change] = alive
    return change.sum(axis=1), switch.sum(axis=1), switch


def _false_tracks(
    log: TrackLog, row_object: NDArray, share: float, on_unreported: NDArray | None = None
) -> NDArray:
    """Confirmed tracks unassigned at more than ``share`` of their confirmed epochs, per run
    (rows flagged in ``on_unreported`` count as on an object)."""
    conf = np.flatnonzero(log.status == CONFIRMED)
    if conf.size == 0:
        return np.zeros(log.runs, dtype=np.int64)
    width = int(log.track.max()) + 1
    key = log.run[conf] * width + log.track[conf]  # one int per (run, track)
    uniq, inv = np.unique(key, return_inverse=True)
    n_conf = np.bincount(inv)  # confirmed epochs per (run, track)
    off = row_object[conf] < 0
    if on_unreported is not None:
        off &= ~on_unreported[conf]
    n_unassigned = np.bincount(inv, weights=off)
    false = n_unassigned > share * n_conf
    return np.bincount(uniq // width, weights=false, minlength=log.runs).astype(np.int64)


def _nees(log: TrackLog, flight: Flight, row: NDArray) -> tuple[NDArray, NDArray]:
    """Position and velocity NEES of the assigned tracks, ``(runs, E, O)`` each (NaN else)."""
    out_p = np.full(row.shape, np.nan)
    out_v = np.full(row.shape, np.nan)
    for o, obj in enumerate(flight.objects):  # loop over objects (few)
        sel: tuple[Any, ...] = np.nonzero(row[..., o] >= 0)
        r = row[..., o][sel]
        if r.size == 0:  # consistency.nees does not take an empty batch
            continue
        e = obj.state_at(log.t[r]) - log.x[r]  # estimation error truth(t_k) - x_k
        out_p[(*sel, o)] = nees(e[:, :3], log.P[r, :3, :3])
        out_v[(*sel, o)] = nees(e[:, 3:], log.P[r, 3:, 3:])
    return out_p, out_v


def evaluate(
    log: TrackLog, flight: Flight, det: Detections, config: ScoreConfig | None = None
) -> Evaluation:
    """Score a track log against the truth: every array :func:`summarise` needs.

    Parameters
    ----------
    log : TrackLog
        The tracker's output.
    flight : Flight
        Truth of the scenario the detections were drawn from.
    det : Detections
        The detections the tracker consumed (their truth tags are read here).
    config : ScoreConfig, optional
        Cut-off, window, thresholds (defaults: 20 km, 10 s).

    Returns
    -------
    Evaluation
    """
    cfg = ScoreConfig() if config is None else config
    if not isinstance(cfg, ScoreConfig):
        raise TypeError(f"config must be a ScoreConfig, got {type(cfg).__name__}")
    if not isinstance(log, TrackLog):
        raise TypeError(f"log must be a TrackLog, got {type(log).__name__}")
    log = log.checked()
    if det.runs != log.runs:
        raise ValueError(f"det.runs = {det.runs} differs from log.runs = {log.runs}")
    runs, epochs = log.runs, log.epochs
    ids = tuple(o.id for o in flight.objects)
    roles = tuple(o.role for o in flight.objects)
    obs = observable_truth(flight, det, epochs, runs, cfg.window_s)
    asg = assign_tracks(log, flight, obs, cfg.cutoff_m, cfg.keep_correspondence)
    breaks, switches, _ = _breaks_and_switches(log, asg.track)
    unrep = asg.row_unreported if cfg.unreported_objects else None
    false_tracks = _false_tracks(log, asg.row_object, cfg.false_track_share, unrep)
    # time to confirm: first assigned epoch minus first arrival of a report of the object
    inc = _origin_incidence(det.origins, ids)
    hit = asg.row >= 0
    first_e = np.where(hit.any(axis=1), epochs[np.argmax(hit, axis=1)], np.nan)  # (runs, O)
    first_arr = np.stack(
        [
            _first_arrival(det, np.flatnonzero(inc[det.origin_index, o]), runs)
            for o in range(len(ids))
        ],
        axis=1,
    )
    ttc = first_e - np.where(np.isinf(first_arr), np.nan, first_arr)
    # spawn delay per separation: resolvable at the first report of the child alone
    seps = _separations(flight)
    delay = np.full((runs, len(seps)), np.nan)
    exact = {name: k for k, name in enumerate(det.origins)}
    split = np.full((runs, len(seps)), np.nan)
    born = np.where(hit, log.born[np.maximum(asg.row, 0)], np.nan)  # (runs, E, O)
    for s, (t_sep, c) in enumerate(seps):  # loop over separation events (few)
        k = exact.get(ids[c], -1)
        rows = np.flatnonzero((det.origin_index == k) & (det.t_arrival >= t_sep))
        t_res = _first_arrival(det, rows, runs)  # (runs,) +inf if never resolved
        after_res = epochs[None, :] >= t_res[:, None]  # (runs, E)
        p = ids.index(flight.objects[c].parent) if flight.objects[c].parent in ids else c
        # brief definition: c has a confirmed track; split: c and its parent both have one,
        # and one of the two tracks was born at or after the separation
        ok = hit[:, :, c] & after_res
        ok_split = ok & hit[:, :, p] & ((born[:, :, c] >= t_sep) | (born[:, :, p] >= t_sep))
        for out, m in ((delay, ok), (split, ok_split)):
            d = np.where(m.any(axis=1), epochs[np.argmax(m, axis=1)] - t_res, np.inf)
            out[:, s] = np.where(np.isfinite(t_res), d, np.nan)
    nees_p, nees_v = _nees(log, flight, asg.row)
    count = hit.sum(axis=(0, 2))
    with np.errstate(invalid="ignore"):
        mean_p = np.nansum(nees_p, axis=(0, 2)) / np.where(count > 0, count, np.nan)
        mean_v = np.nansum(nees_v, axis=(0, 2)) / np.where(count > 0, count, np.nan)
    band = np.full((epochs.size, 2), np.nan)
    if np.any(count > 0):
        band[count > 0] = chi2_band(3, count[count > 0], cfg.band_prob)
    # share of scored runs with the rv label right, per epoch (NaN where none is scored)
    scored = np.isfinite(asg.rv_label_ok).sum(axis=0)
    rv_epoch = np.nansum(asg.rv_label_ok, axis=0) / np.where(scored > 0, scored, np.nan)
    per_epoch = EpochScores(
        epochs=epochs,
        gospa=asg.gospa.mean(axis=0),
        localisation=asg.localisation.mean(axis=0),
        missed=asg.missed.mean(axis=0),
        false=asg.false.mean(axis=0),
        n_observable=obs.sum(axis=2).mean(axis=0),
        n_confirmed=asg.n_confirmed.mean(axis=0),
        rv_label_correct=rv_epoch,
        nees_pos=mean_p,
        nees_vel=mean_v,
        nees_count=count,
        nees_band=band,
    )
    return Evaluation(
        config=cfg, runs=runs, objects=ids, roles=roles, assignment=asg, per_epoch=per_epoch,
        breaks=breaks, switches=switches, false_tracks=false_tracks, time_to_confirm=ttc,
        spawn_objects=tuple(ids[c] for _, c in seps), spawn_delay=delay, spawn_split_delay=split,
        nees_pos=nees_p, nees_vel=nees_v,
    )  # fmt: skip


def _spawn_summary(delay: NDArray, split: NDArray) -> dict:
    """Median, 95th percentile, share <= 10 s and counts of spawn delays (NaN excluded)."""
    out = {}
    for name, x in (("spawn", delay), ("spawn_split", split)):
        v = x[~np.isnan(x)]
        out[f"{name}_delay_s_median"] = _quantile(v, 0.5)
        out[f"{name}_delay_s_p95"] = _quantile(v, 0.95)
        out[f"{name}_within_10s_frac"] = float(np.mean(v <= SPAWN_PROMPT_S)) if v.size else math.nan
        out[f"{name}_never_tracked_frac"] = float(np.mean(np.isinf(v))) if v.size else math.nan
    out["spawn_resolved_events"] = int(np.sum(~np.isnan(delay)))
    return out


def _nan_stat(fn, v: NDArray) -> float:
    """``fn`` over the finite values of ``v``, NaN if there are none."""
    v = v[np.isfinite(v)]
    return float(fn(v)) if v.size else math.nan


def summarise(ev: Evaluation, *, tracker: str) -> dict:
    """Condense an :class:`Evaluation` into a JSON-serialisable dict (NaN/inf -> None).

    Keys: ``tracker``, ``runs``, ``epochs``, ``cutoff_m``, ``window_s``,
    ``keep_correspondence``, ``gospa_mean_m`` and
    ``gospa_localisation_m`` / ``_missed_m`` / ``_false_m`` (means over runs and epochs of the
    per-(run, epoch) values in metres), ``rv_label_correct_frac``, ``false_tracks_per_run``,
    ``id_switches_per_run``, ``rv_id_switches_per_run``, ``track_breaks_per_run``,
    ``spawn_delay_s_median``, ``spawn_delay_s_p95``, ``spawn_within_10s_frac``,
    ``spawn_never_tracked_frac``, the same four with ``spawn_split_`` (split delay),
    ``spawn_resolved_events``, ``time_to_confirm_s_median``,
    ``nees_pos_anees``, ``nees_vel_anees``, ``nees_pos_in_band_frac``,
    ``nees_vel_in_band_frac``, and ``by_role``: per object role a dict of
    ``tracked_frac`` (share of observable epochs with an assigned track),
    ``time_to_confirm_s_median``, ``track_breaks_per_run``, ``id_switches_per_run``,
    ``nees_pos_mean``, ``nees_vel_mean`` and, for separated objects, the spawn keys.
    """
    asg, pe, runs = ev.assignment, ev.per_epoch, ev.runs
    rv = [i for i, r in enumerate(ev.roles) if r == "rv"]
    ok = asg.rv_label_ok[np.isfinite(asg.rv_label_ok)]
    valid = pe.nees_count > 0
    out = {
        "tracker": str(tracker),
        "runs": runs,
        "epochs": int(pe.epochs.size),
        "cutoff_m": ev.config.cutoff_m,
        "window_s": ev.config.window_s,
        "keep_correspondence": ev.config.keep_correspondence,
        "gospa_mean_m": float(asg.gospa.mean()),
        "gospa_localisation_m": float(asg.localisation.mean()),
        "gospa_missed_m": float(asg.missed.mean()),
        "gospa_false_m": float(asg.false.mean()),
        "rv_label_correct_frac": float(ok.mean()) if ok.size else math.nan,
        "false_tracks_per_run": float(ev.false_tracks.mean()),
        "id_switches_per_run": float(ev.switches.sum() / runs),
        "rv_id_switches_per_run": float(ev.switches[:, rv].sum() / runs) if rv else math.nan,
        "track_breaks_per_run": float(ev.breaks.sum() / runs),
        **_spawn_summary(ev.spawn_delay, ev.spawn_split_delay),
        "time_to_confirm_s_median": _nan_stat(np.median, ev.time_to_confirm),
        "nees_pos_anees": anees(pe.nees_pos, 3) if valid.any() else math.nan,
        "nees_vel_anees": anees(pe.nees_vel, 3) if valid.any() else math.nan,
        "nees_pos_in_band_frac": (
            fraction_in_band(pe.nees_pos, 3, pe.nees_count, ev.config.band_prob)
            if valid.any() else math.nan
        ),
        "nees_vel_in_band_frac": (
            fraction_in_band(pe.nees_vel, 3, pe.nees_count, ev.config.band_prob)
            if valid.any() else math.nan
        ),
    }  # fmt: skip
    by_role = {}
    obs, hit = asg.observable, asg.row >= 0
    for o, role in enumerate(ev.roles):
        n_obs = obs[..., o].sum()
        entry = {
            "tracked_frac": float((hit[..., o] & obs[..., o]).sum() / n_obs) if n_obs else math.nan,
            "time_to_confirm_s_median": _nan_stat(np.median, ev.time_to_confirm[:, o]),
            "track_breaks_per_run": float(ev.breaks[:, o].sum() / runs),
            "id_switches_per_run": float(ev.switches[:, o].sum() / runs),
            "nees_pos_mean": _nan_stat(np.mean, ev.nees_pos[..., o]),
            "nees_vel_mean": _nan_stat(np.mean, ev.nees_vel[..., o]),
        }
        cols = [s for s, name in enumerate(ev.spawn_objects) if name == ev.objects[o]]
        if cols:
            entry.update(_spawn_summary(ev.spawn_delay[:, cols], ev.spawn_split_delay[:, cols]))
        by_role[role] = entry
    out["by_role"] = by_role
    return _json(out)


def score(
    log: TrackLog,
    flight: Flight,
    det: Detections,
    *,
    tracker: str,
    cutoff_m: float = 20e3,
    window_s: float = 10.0,
    keep_correspondence: bool = False,
) -> dict:
    """Score a tracker: :func:`evaluate` then :func:`summarise` (JSON-serialisable dict).

    Parameters
    ----------
    log : TrackLog
        Tracker output.
    flight : Flight
        Truth.
    det : Detections
        Detections with truth tags.
    tracker : str
        Name stored under ``"tracker"``.
    cutoff_m : float
        GOSPA / assignment cut-off c [m].
    window_s : float
        Observability window W [s].
    keep_correspondence : bool
        CLEAR MOT persistence for the track-level metrics (see :class:`ScoreConfig`).

    Returns
    -------
    dict
        See :func:`summarise`. Per-epoch arrays: ``evaluate(...).per_epoch``.
    """
    cfg = ScoreConfig(cutoff_m=cutoff_m, window_s=window_s, keep_correspondence=keep_correspondence)
    ev = evaluate(log, flight, det, cfg)
    return summarise(ev, tracker=tracker)
