"""Figures of tracks against truth and of alert timelines (explicit matplotlib Figures).

- :func:`plot_tracks`: one run's confirmed tracks over the true objects — ground tracks on the
  Korea-Hokkaido map and altitude against time, spawned tracks marked where they start, each
  track coloured by its label (rv / stage / unknown), each true object by its kind.
- :func:`plot_alert_map`: true impact points, one run's predicted impact points and 95 %
  ellipses (2.4477 sigma of a 2-D Gaussian) as they evolve, and the alert region shaded.
- :func:`plot_alert_timeline`: per system, the first alert of every run (issued to cancelled,
  or to the impact) against the flight's events (separations, burnouts).

Every figure uses the package style and map of :mod:`trackers.plotting_style`; each returns
its ``Figure`` (saved to ``path`` when given).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from numpy.typing import NDArray

from trackers.earth import wgs84
from trackers.plotting_style import (
    LABEL_COLOURS,
    OKABE_ITO,
    REGION_LON_LAT,
    TRACKER_COLOURS,
    impact_ellipse,
    legend,
    map_legend,
    object_colour,
    region_map,
    shade_region,
    styled,
)

__all__ = ["plot_alert_map", "plot_alert_timeline", "plot_tracks"]

LABEL_NAMES = {0: "unknown", 1: "labelled rv", 2: "labelled stage", 3: "debris"}
#: Map extent (lon0, lon1, lat0, lat1) [deg]: Korea to Hokkaido.
REGION_EXTENT = REGION_LON_LAT
#: Timeline event lines: kind -> (line width, alpha, zorder).
_EVENT_LINE = {"separation": (4.0, 0.35, 1), "burnout": (1.2, 0.9, 2), "impact": (1.0, 0.8, 2)}
_SPAWN = dict(marker="^", color=OKABE_ITO["bluish green"], mec="k", mew=0.5, ms=6, ls="none",
              zorder=8)  # fmt: skip


def _geodetic_deg(x: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    lat, lon, alt = wgs84.ecef_to_geodetic(x[..., :3])
    return np.degrees(lat), np.degrees(lon), alt


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        fig.savefig(Path(path))
    return fig


@styled
def plot_tracks(log, flight, path: str | Path | None = None, run: int = 0,
                title: str = "") -> Figure:  # fmt: skip
    """Confirmed tracks of ``run`` against the true objects (module docstring).

    Parameters
    ----------
    log : trackers.metrics.tracking.TrackLog
    flight : trackers.sim.truth.Flight
    path : path, optional
        Where to save the figure.
    run : int
        Monte Carlo run shown.
    title : str
        Figure title.

    Returns
    -------
    Figure
        Two axes: the map and altitude [km] against time [s], each with a legend.
    """
    fig = Figure(figsize=(13, 5.4), layout="constrained")
    ax_map, ax_alt = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.55, 1.0]})
    region_map(ax_map, title="ground tracks")
    for k, obj in enumerate(flight.objects):  # truth: thin, light, under the tracks
        lat, lon = np.degrees(obj.lat), np.degrees(obj.lon)
        c = object_colour(obj.role, k)
        ax_map.plot(lon, lat, "-", color=c, lw=2.4, alpha=0.35, zorder=2,
                    label=f"truth: {obj.id}")  # fmt: skip
        ax_alt.plot(obj.t, obj.alt / 1e3, "-", color=c, lw=2.4, alpha=0.35, zorder=2,
                    label=f"truth: {obj.id}")  # fmt: skip
    sel = (log.run == run) & (log.status == 2)
    seen_labels: set[int] = set()
    spawned = False
    for tid in np.unique(log.track[sel]):
        rows = np.flatnonzero(sel & (log.track == tid))
        lab = int(np.bincount(log.label[rows]).argmax())
        lat, lon, alt = _geodetic_deg(log.x[rows])
        kw = {"color": LABEL_COLOURS.get(lab, "k"), "lw": 1.0, "ms": 2.5, "zorder": 5}
        if lab not in seen_labels:
            kw["label"] = f"track ({LABEL_NAMES.get(lab, lab)})"
            seen_labels.add(lab)
        ax_map.plot(lon, lat, ".-", **kw)
        ax_alt.plot(log.t[rows], alt / 1e3, ".-", **kw)
        if log.parent[rows[0]] >= 0:
            ax_map.plot(lon[0], lat[0], **_SPAWN)
            ax_alt.plot(log.t[rows[0]], alt[0] / 1e3, **_SPAWN)
            spawned = True
    if spawned:
        for ax in (ax_map, ax_alt):
            ax.plot([], [], label="spawned track starts", **_SPAWN)
    map_legend(ax_map, ncol=3)
    ax_alt.set_xlabel("time since launch [s]")
    ax_alt.set_ylabel("altitude [km]")
    ax_alt.set_title("altitude")
    ax_alt.grid(alpha=0.3)
    legend(ax_alt, loc="upper right")
    fig.suptitle(title or f"confirmed tracks of run {run} against truth")
    return _save(fig, path)


@styled
def plot_alert_map(
    path: str | Path | None,
    true_impacts: dict[str, tuple[float, float]],
    impacts,
    run: int,
    region=None,
    title: str = "",
    times: Sequence[float] | None = None,
    highlight: float | None = None,
) -> Figure:
    """Map of true impacts, one run's predicted impacts/ellipses over time and the region.

    Parameters
    ----------
    path : path or None
        Where to save the figure.
    true_impacts : dict
        Label -> (lat, lon) [rad] of true impact points.
    impacts : trackers.impact.alerts.ImpactLog
        Predictions (confirmed tracks of ``run`` are drawn).
    run : int
        Monte Carlo run shown.
    region : trackers.impact.regions.Region, optional
        Alert region, shaded.
    title : str
        Axes title.
    times : sequence of float, optional
        Decision times [s] drawn (default: up to 8 spread over the run).
    highlight : float, optional
        A decision time (e.g. when an alert was issued) drawn in vermillion on top.

    Returns
    -------
    Figure
    """
    fig = Figure(figsize=(9.0, 6.8), layout="constrained")
    ax = fig.subplots()
    region_map(ax)
    if region is not None:
        shade_region(ax, region)
    sel = (impacts.run == run) & (impacts.track >= 0) & np.isfinite(impacts.lat)
    ts = np.unique(impacts.t[sel])
    if times is None:
        times = ts[np.linspace(0, ts.size - 1, min(8, ts.size)).astype(int)] if ts.size else []
    times = [float(t) for t in times]
    cmap = colormaps["viridis"]
    for i, t in enumerate(times):  # older predictions first, later ones on top
        rows = np.flatnonzero(sel & (impacts.t == t) & (impacts.status == 2))
        c = cmap(0.85 * i / max(1, len(times) - 1))  # viridis up to green: no pale yellow
        for j, k in enumerate(rows):
            mean = (impacts.lat[k], impacts.lon[k])
            impact_ellipse(ax, mean, impacts.cov_ground[k], color=c, lw=0.8, zorder=4 + 0.01 * i)
            ax.plot(np.degrees(impacts.lon[k]), np.degrees(impacts.lat[k]), "o", color=c, ms=4,
                    mec="k", mew=0.3, zorder=6 + 0.01 * i,
                    label=f"predicted, t = {t:.0f} s" if j == 0 else None)  # fmt: skip
    if highlight is not None:
        rows = np.flatnonzero(sel & (impacts.t == highlight) & (impacts.status == 2))
        red = OKABE_ITO["vermillion"]
        for j, k in enumerate(rows):
            mean = (impacts.lat[k], impacts.lon[k])
            impact_ellipse(ax, mean, impacts.cov_ground[k], color=red, lw=1.6, zorder=7)
            ax.plot(np.degrees(impacts.lon[k]), np.degrees(impacts.lat[k]), "X", color=red,
                    ms=9, mec="k", mew=0.6, zorder=8, label=f"predicted at the alert, t = "
                    f"{highlight:.0f} s" if j == 0 else None)  # fmt: skip
    stars = (OKABE_ITO["yellow"], OKABE_ITO["reddish purple"], OKABE_ITO["sky blue"])
    for n, (name, (lat, lon)) in enumerate(true_impacts.items()):  # truth on top, its fill
        fill = to_rgba(stars[n % len(stars)], 0.6)  # translucent: predictions under it show
        ax.plot(np.degrees(lon), np.degrees(lat), "*", color=fill, mfc=fill, ms=16 - 2 * n,
                mec="k", mew=0.9, zorder=10 + n, label=f"true: {name}")  # fmt: skip
    map_legend(ax, ncol=3)
    ax.set_title(title or f"run {run}: predicted impacts (95 % ellipses) and truth")
    return _save(fig, path)


@styled
def plot_alert_timeline(path: str | Path | None, results: Sequence, title: str = "") -> Figure:
    """Alert intervals per run and system against the flight's events (one panel each).

    ``results``: :class:`trackers.alert_study.AlertRun` (or alike: ``timeline``,
    ``t_impact_true``, ``events``, ``system``, ``scenario``). Each system's bars have its
    colour (:data:`~trackers.plotting_style.TRACKER_COLOURS`). Returns the Figure.
    """
    fig = Figure(figsize=(11, 1.6 + 1.3 * len(results)), layout="constrained")
    axes = fig.subplots(len(results), 1, sharex=True, squeeze=False)
    event_colours = {"separation": OKABE_ITO["bluish green"], "burnout": OKABE_ITO["blue"],
                     "impact": OKABE_ITO["black"]}  # fmt: skip
    for ax, r in zip(axes[:, 0], results, strict=True):
        tl = r.timeline
        colour = TRACKER_COLOURS.get(r.system, OKABE_ITO["orange"])
        first = True
        # every alert episode (issued, cancelled) of every run; timelines without episode
        # arrays fall back to each run's first alert
        if getattr(tl, "episode_run", None) is not None:  # episode_run: index into runs
            eps = list(zip(tl.episode_run, tl.episode_issued, tl.episode_cancelled, strict=True))
        else:
            eps = list(zip(range(tl.runs.size), tl.issued, tl.cancelled, strict=True))
        for i, iss, can in eps:
            if np.isfinite(iss):
                end = can if np.isfinite(can) else r.t_impact_true
                ax.plot([iss, end], [i, i], "-", color=colour, lw=5, solid_capstyle="butt",
                        zorder=3, label="alert active" if first else None)  # fmt: skip
                ax.plot([iss], [i], "|", color="k", ms=10, mew=1.5, zorder=4,
                        label="alert issued" if first else None)  # fmt: skip
                first = False
        done = set()
        for t, _obj, kind in r.events:  # a separation and its burnout coincide: a wide light
            if kind in event_colours:  # band for the separation, a dotted line on top of it
                ax.axvline(t, color=event_colours[kind], zorder=_EVENT_LINE[kind][2],
                           lw=_EVENT_LINE[kind][0], alpha=_EVENT_LINE[kind][1],
                           ls=":" if kind == "burnout" else "-",
                           label=kind if kind not in done else None)  # fmt: skip
                done.add(kind)
        if first:  # no alert in any run: say so in the legend (no handle: nothing drawn)
            ax.plot([], [], " ", label="no alert in any run")
        ax.set_ylabel("run")
        ax.set_yticks(range(tl.runs.size))
        ax.set_yticklabels([str(int(x)) for x in tl.runs])
        ax.set_ylim(-0.8, max(1, tl.runs.size) - 0.2)
        ax.set_title(f"{r.system} on {r.scenario}")
        ax.grid(alpha=0.3, axis="x")
        legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: hides no bar
    axes[-1, 0].set_xlabel("time since launch [s]")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
