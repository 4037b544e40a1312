"""Summaries of a detections table for the CLI and the scenario studies.

Clutter is excluded; a merged detection ``"a+b"`` counts as a detection of both a and b.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from trackers.sensors.detections import CLUTTER, Detections
from trackers.sensors.radar import Radar


def _object_codes(det: Detections, objects: Iterable[str] | None) -> NDArray[np.bool_]:
    """Bool per origin code: True if the origin involves one of ``objects`` (None: any)."""
    want = None if objects is None else {objects} if isinstance(objects, str) else set(objects)
    out = np.zeros(len(det.origins), bool)
    for i, lab in enumerate(det.origins):
        if lab == CLUTTER:
            continue
        parts = set(lab.split("+"))
        out[i] = want is None or bool(parts & want)
    return out


def first_detections(
    det: Detections, run: int | None = None, time: str = "t_meas"
) -> dict[tuple[str, str], float]:
    """Earliest detection time per (sensor, object): ``{(sensor, object): t}`` [s].

    ``run``: one Monte Carlo draw, or None for the earliest over all draws. ``time``:
    ``"t_meas"`` or ``"t_arrival"``. Pairs never detected are absent.
    """
    if time not in ("t_meas", "t_arrival"):
        raise ValueError(f"time = {time!r}, expected 't_meas' or 't_arrival'")
    d = det if run is None else det.for_run(run)
    t = getattr(d, time)
    table = np.full((len(d.sensors), len(d.origins)), np.inf)
    np.minimum.at(table, (d.sensor_index, d.origin_index), t)
    out: dict[tuple[str, str], float] = {}
    for j, lab in enumerate(d.origins):
        if lab == CLUTTER:
            continue
        for i, s in enumerate(d.sensors):
            if np.isfinite(table[i, j]):
                for obj in lab.split("+"):
                    key = (s, obj)
                    out[key] = min(out.get(key, np.inf), float(table[i, j]))
    return out


def first_detection_times(
    det: Detections,
    sensors: Iterable[str] | None = None,
    objects: Iterable[str] | None = None,
    time: str = "t_meas",
) -> NDArray[np.float64]:
    """Earliest detection time per run ``(runs,)`` [s] by any of ``sensors`` (None: all) of any
    of ``objects`` (None: any non-clutter origin); NaN for a run without such a detection."""
    if time not in ("t_meas", "t_arrival"):
        raise ValueError(f"time = {time!r}, expected 't_meas' or 't_arrival'")
    ok = _object_codes(det, objects)[det.origin_index]
    if sensors is not None:
        sensors = [sensors] if isinstance(sensors, str) else list(sensors)
        unknown = [s for s in sensors if s not in det.sensors]
        if unknown:
            raise ValueError(f"unknown sensor id(s) {unknown}; have {list(det.sensors)}")
        ok &= np.isin(det.sensor_index, [det.sensors.index(s) for s in sensors])
    out = np.full(det.runs, np.inf)
    np.minimum.at(out, det.run[ok], getattr(det, time)[ok])
    out[np.isinf(out)] = np.nan
    return out


def lead_time(
    det: Detections,
    radars: Sequence[Radar],
    leader: str = "KR",
    follower: str = "JP",
    objects: Iterable[str] | None = None,
    time: str = "t_meas",
) -> NDArray[np.float64]:
    """Per-run lead [s] of the ``leader`` nation's radars over the ``follower`` nation's:
    t_first(follower) - t_first(leader), positive when the leader detects first; NaN if
    either never detects. Nations come from :attr:`Radar.nation` of radars in ``det``."""
    present = [r for r in radars if r.id in det.sensors]
    lead = [r.id for r in present if r.nation == leader]
    foll = [r.id for r in present if r.nation == follower]
    if not lead or not foll:
        raise ValueError(
            f"need radars of both nations in the detections: {leader!r} -> {lead}, "
            f"{follower!r} -> {foll}"
        )
    t_lead = first_detection_times(det, lead, objects, time)
    t_foll = first_detection_times(det, foll, objects, time)
    return t_foll - t_lead


def detection_counts(det: Detections) -> dict[tuple[str, str], int]:
    """Number of detections per (sensor, origin label) over all runs (clutter included)."""
    table = np.zeros((len(det.sensors), len(det.origins)), np.int64)
    np.add.at(table, (det.sensor_index, det.origin_index), 1)
    return {
        (s, o): int(table[i, j])
        for i, s in enumerate(det.sensors)
        for j, o in enumerate(det.origins)
        if table[i, j]
    }


def report(det: Detections, radars: Sequence[Radar] | None = None) -> str:
    """Plain-text summary for the CLI: per-sensor first detection of each object (earliest over
    runs), detection and clutter counts per run, and the Korea-over-Japan lead when both
    nations' radars are present."""
    fd = first_detections(det)
    objects = sorted({o for _, o in fd})
    lines = [f"{len(det):,} detections over {det.runs} run(s), consumer {det.consumer or '-'}; "
             f"clutter {float(det.is_clutter.mean()) if len(det) else 0.0:.1%}"]  # fmt: skip
    width = max([len(s) for s in det.sensors] + [6])
    lines.append(f"{'sensor':<{width}}  " + "  ".join(f"{o:>10}" for o in objects) + "  det/run")
    per_sensor = np.bincount(det.sensor_index, minlength=len(det.sensors)) / det.runs
    for i, s in enumerate(det.sensors):
        cells = [f"{fd[(s, o)]:10.1f}" if (s, o) in fd else f"{'-':>10}" for o in objects]
        lines.append(f"{s:<{width}}  " + "  ".join(cells) + f"  {per_sensor[i]:7.1f}")
    lines.append("(first detection time [s after epoch], earliest over runs)")
    if radars is not None:
        nations = {r.nation for r in radars if r.id in det.sensors}
        if {"KR", "JP"} <= nations:
            lead = lead_time(det, radars, "KR", "JP")
            if np.any(np.isfinite(lead)):
                lines.append(
                    f"Korean radars lead Japanese radars by {np.nanmedian(lead):.1f} s "
                    f"(median over runs; min {np.nanmin(lead):.1f}, max {np.nanmax(lead):.1f})"
                )
    return "\n".join(lines)
