"""Matplotlib figures used by the CLI, notebooks and benchmarks.

Figures are built on an explicit ``Figure`` (no pyplot global state), so they work headless
and in parallel workers. Degrees and kilometres appear only here, at the edge.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from trackers.sim.truth import Flight

_ROLE_STYLE = {"rv": dict(color="C3", lw=2.0, zorder=5)}
_EVENT_MARK = {"separation": "x", "burnout": "|", "ignition": "^", "apogee": "o", "impact": "v"}


@lru_cache(maxsize=1)
def map_outline() -> list[tuple[np.ndarray, np.ndarray]]:
    """Country outlines around East Asia as (lon_deg, lat_deg) rings (Natural Earth 1:110m)."""
    text = resources.files("trackers.data").joinpath("outline_east_asia.json").read_text()
    return [(np.array(r["lon_deg"]), np.array(r["lat_deg"])) for r in json.loads(text)["rings"]]


_PALETTE = ("C0", "C1", "C2", "C4", "C5", "C6", "C8", "C9", "C7")  # C3 (red) is the RV's


def _style(role: str, k: int) -> dict:
    return _ROLE_STYLE.get(role, dict(color=_PALETTE[k % len(_PALETTE)], lw=1.2, zorder=3))


def plot_flight(
    flight: Flight,
    path: str | Path | None = None,
    lines: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    title: str | None = None,
) -> Figure:
    """Ground track of every object on a map outline, and altitude versus time.

    Parameters
    ----------
    flight : Flight
        Simulator output.
    path : path, optional
        Where to save the figure (format from the suffix, e.g. ``.png``).
    lines : mapping, optional
        Extra reference polylines ``{label: (lat_deg, lon_deg)}`` (e.g. an EEZ limit).
    """
    fig = Figure(figsize=(12, 5.2), layout="constrained")
    ax_map, ax_alt = fig.subplots(1, 2, width_ratios=[1.1, 1.0])
    lon_all = np.concatenate([np.degrees(o.lon) for o in flight.objects])
    lat_all = np.concatenate([np.degrees(o.lat) for o in flight.objects])
    pad, min_span = 3.0, 22.0  # [deg]; wide enough to show the neighbouring coasts
    x0, x1 = lon_all.min() - pad, lon_all.max() + pad
    y0, y1 = lat_all.min() - pad, lat_all.max() + pad
    if x1 - x0 < min_span:
        x0, x1 = 0.5 * (x0 + x1) - min_span / 2, 0.5 * (x0 + x1) + min_span / 2
    if y1 - y0 < 0.6 * min_span:
        y0, y1 = 0.5 * (y0 + y1) - 0.3 * min_span, 0.5 * (y0 + y1) + 0.3 * min_span
    for lon, lat in map_outline():
        ax_map.fill(lon, lat, facecolor="0.92", edgecolor="0.55", lw=0.6, zorder=1)
    for label, (lat, lon) in (lines or {}).items():
        ax_map.plot(lon, lat, "--", color="0.35", lw=1.0, label=label, zorder=2)
    for k, o in enumerate(flight.objects):
        st = _style(o.role, k)
        lon, lat = np.degrees(o.lon), np.degrees(o.lat)
        ax_map.plot(lon, lat, label=o.id, **st)
        ax_map.plot(lon[-1], lat[-1], "v", color=st["color"], ms=7, zorder=6)
        ax_alt.plot(o.t / 60.0, o.alt / 1e3, label=o.id, **st)
    for e in flight.events:
        if e.kind not in _EVENT_MARK:
            continue
        o = flight.object(e.object)
        i = int(np.clip(np.searchsorted(o.t, e.t_s), 0, len(o.t) - 1))
        ax_alt.plot(o.t[i] / 60.0, o.alt[i] / 1e3, _EVENT_MARK[e.kind], color="k", ms=5, zorder=7)
    first = flight.objects[0]
    ax_map.plot(np.degrees(first.lon[0]), np.degrees(first.lat[0]), "k*", ms=11, label="launch")
    ax_map.set_xlim(x0, x1)
    ax_map.set_ylim(y0, y1)
    ax_map.set_aspect(1.0 / np.cos(np.radians(0.5 * (y0 + y1))))
    ax_map.set_xlabel("longitude [deg E]")
    ax_map.set_ylabel("latitude [deg N]")
    ax_map.grid(alpha=0.3)
    ax_map.legend(fontsize=8, loc="best")
    ax_map.set_title("ground tracks (v = impact)")
    ax_alt.set_xlabel("time since launch [min]")
    ax_alt.set_ylabel("altitude above WGS-84 [km]")
    ax_alt.grid(alpha=0.3)
    ax_alt.set_title("altitude (x separation, | burnout, o apogee)")
    fig.suptitle(title or f"{flight.scenario_id}  (epoch {flight.epoch_utc})")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
