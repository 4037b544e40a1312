"""Matplotlib figures used by the CLI, notebooks and benchmarks.

Figures are built on an explicit ``Figure`` (no pyplot global state), so they work headless
and in parallel workers. Degrees and kilometres appear only here, at the edge.

The flight figure's map is an equirectangular plot (lon, lat in degrees) with the aspect
ratio 1 / cos(mid-latitude), so that distances are true to scale along the parallel through
the middle of the map (J. P. Snyder, *Map Projections: A Working Manual*, USGS Professional
Paper 1395, 1987, ch. 12, "equidistant cylindrical"). Its coastlines are Natural Earth's
1:110m country outlines, with Japan drawn from the 1:10m land polygons of
:mod:`trackers.impact.regions` (the 1:110m outline cuts Hokkaido's capes by tens of km). The
map always shows the region from the Korean peninsula to Hokkaido (:data:`REGION_LON_LAT`),
widened to hold every ground track. Style, colours and the map come from
:mod:`trackers.plotting_style`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from trackers.plotting_style import (
    PLACES,
    REGION_LON_LAT,
    REGION_NAMES,
    japan_outline,
    map_legend,
    map_outline,
    object_colour,
    region_map,
    styled,
)
from trackers.sim.truth import Flight

__all__ = ["PLACES", "REGION_LON_LAT", "REGION_NAMES", "japan_outline", "map_outline",
           "plot_flight"]  # fmt: skip

# the rv's thick line goes under the thin lines of the objects that share its path (the last
# stage follows it to impact), so that every track stays visible
_RV_STYLE = dict(lw=2.6, zorder=3)

#: Altitude-panel event markers: kind -> (marker, size, drawing options); burnout is a tall
#: tick drawn above the ignition triangle of the next stage 2 s later, so both stay visible.
_EVENT_STYLE: dict[str, dict] = {
    "ignition": dict(marker="^", ms=7, mfc="none", mec="k", mew=1.0, zorder=7),
    "burnout": dict(marker="|", ms=14, mec="k", mew=2.0, zorder=8),
    "separation": dict(marker="x", ms=7, mec=object_colour("rv"), mew=1.5, zorder=9),
    "apogee": dict(marker="o", ms=6, mfc="none", mec="k", mew=1.0, zorder=7),
    "impact": dict(marker="v", ms=7, mfc="k", mec="k", zorder=7),
}


def _style(role: str, k: int) -> dict:
    """Line style of object k of role ``role``: its fixed colour (plotting_style)."""
    base = _RV_STYLE if role == "rv" else dict(lw=1.2, zorder=4)
    return dict(color=object_colour(role, k), **base)


def _extent(flight: Flight, pad: float = 1.0) -> tuple[float, float, float, float]:
    """Map limits [deg]: the Korea-Hokkaido region widened to every track plus ``pad``."""
    lon = np.concatenate([np.degrees(o.lon) for o in flight.objects])
    lat = np.concatenate([np.degrees(o.lat) for o in flight.objects])
    x0, x1, y0, y1 = REGION_LON_LAT
    return (
        min(x0, float(lon.min()) - pad),
        max(x1, float(lon.max()) + pad),
        min(y0, float(lat.min()) - pad),
        max(y1, float(lat.max()) + pad),
    )


def _draw_map(ax, flight: Flight, lines: Mapping | None) -> None:
    region_map(ax, _extent(flight), title="ground tracks")
    for label, (lat, lon) in (lines or {}).items():
        ax.plot(lon, lat, "--", color="0.35", lw=1.0, label=label, zorder=2)
    # tracks; impact markers drawn largest first (the rv's) so that a spent stage landing on
    # the same spot leaves the rv's marker visible around its own
    order = sorted(range(len(flight.objects)), key=lambda k: flight.objects[k].role != "rv")
    for rank, k in enumerate(order):
        o = flight.objects[k]
        st = _style(o.role, k)
        lon, lat = np.degrees(o.lon), np.degrees(o.lat)
        ax.plot(lon, lat, label=o.id, **st)
        size = 13 if o.role == "rv" else 7
        ax.plot(lon[-1], lat[-1], "v", color=st["color"], ms=size, mec="k", mew=0.6,
                zorder=10 + rank)  # fmt: skip
    first = flight.objects[0]
    ax.plot(np.degrees(first.lon[0]), np.degrees(first.lat[0]), "k*", ms=11, label="launch",
            zorder=20)  # fmt: skip
    ax.plot([], [], "v", color="0.5", mec="k", mew=0.6, ms=7, label="impact")
    map_legend(ax, ncol=4)


def _draw_events(ax, flight: Flight, t_max: float | None = None) -> list[Line2D]:
    """Event markers on an altitude-vs-time axis [min, km] (events after ``t_max`` [s]
    skipped) and one legend entry per kind shown."""
    shown = set()
    for e in flight.events:
        if e.kind not in _EVENT_STYLE or (t_max is not None and e.t_s > t_max):
            continue
        o = flight.object(e.object)
        i = int(np.clip(np.searchsorted(o.t, e.t_s), 0, len(o.t) - 1))
        ax.plot(o.t[i] / 60.0, o.alt[i] / 1e3, ls="none", **_EVENT_STYLE[e.kind])
        shown.add(e.kind)
    return [
        Line2D([], [], ls="none", label=kind, **_EVENT_STYLE[kind])
        for kind in _EVENT_STYLE
        if kind in shown
    ]


@styled
def plot_flight(
    flight: Flight,
    path: str | Path | None = None,
    lines: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    title: str | None = None,
) -> Figure:
    """Ground tracks on a map of the region, altitude versus time, and the staging phase.

    Parameters
    ----------
    flight : Flight
        Simulator output.
    path : path, optional
        Where to save the figure (format from the suffix, e.g. ``.png``).
    lines : mapping, optional
        Extra reference polylines ``{label: (lat_deg, lon_deg)}`` (e.g. an EEZ limit).
    title : str, optional
        Figure title (default: scenario id and epoch).

    Returns
    -------
    Figure
        Three axes: the map (left), altitude over the whole flight (top right, legend of the
        objects) and the boost and staging phase with its events (bottom right, legend of
        the event markers).
    """
    fig = Figure(figsize=(13, 6.6), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[1.25, 1.0])
    ax_map = fig.add_subplot(grid[:, 0])
    ax_alt = fig.add_subplot(grid[0, 1])
    ax_boost = fig.add_subplot(grid[1, 1])
    _draw_map(ax_map, flight, lines)

    # staging window: up to the last separation / burnout, plus a margin
    staging = [e.t_s for e in flight.events if e.kind in ("burnout", "separation", "ignition")]
    t_stage = 1.25 * max(staging) + 20.0 if staging else 300.0
    for k, o in enumerate(flight.objects):
        st = _style(o.role, k)
        ax_alt.plot(o.t / 60.0, o.alt / 1e3, label=o.id, **st)
        sel = o.t <= t_stage
        ax_boost.plot(o.t[sel] / 60.0, o.alt[sel] / 1e3, **st)
    handles = _draw_events(ax_alt, flight)  # every kind of the flight, for the legend
    _draw_events(ax_boost, flight, t_max=t_stage)
    for ax in (ax_alt, ax_boost):
        ax.set_xlabel("time since launch [min]")
        ax.set_ylabel("altitude [km]")
        ax.grid(alpha=0.3)
    ax_alt.legend(loc="upper right", title="object")
    ax_alt.set_title("altitude above the reference surface")
    ax_boost.legend(handles=handles, loc="upper left", title="event")
    ax_boost.set_title(f"boost and staging (first {t_stage / 60.0:.1f} min)")
    fig.suptitle(title or f"{flight.scenario_id}  (epoch {flight.epoch_utc})")
    if path is not None:
        fig.savefig(path)
    return fig
