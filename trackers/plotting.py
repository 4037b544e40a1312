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
widened to hold every ground track.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from trackers.sim.truth import Flight

# the rv's thick line goes under the thin lines of the objects that share its path (the last
# stage follows it to impact), so that every track stays visible
_ROLE_STYLE = {"rv": dict(color="C3", lw=2.6, zorder=3)}
_PALETTE = ("C0", "C1", "C2", "C4", "C5", "C6", "C8", "C9", "C7")  # C3 (red) is the RV's

#: Map extent always shown [deg]: (lon_min, lon_max, lat_min, lat_max), from the Yellow Sea
#: coast of Korea to the east cape of Hokkaido and from Jeju to Cape Soya.
REGION_LON_LAT = (123.5, 147.0, 32.5, 46.5)

#: Labelled places (name, lat_deg, lon_deg).
PLACES: tuple[tuple[str, float, float], ...] = (
    ("Pyongyang", 39.02, 125.75),
    ("Seoul", 37.57, 126.98),
    ("Busan", 35.18, 129.08),
    ("Vladivostok", 43.12, 131.89),
    ("Sapporo", 43.06, 141.35),
    ("Aomori", 40.82, 140.74),
    ("Niigata", 37.92, 139.04),
    ("Tokyo", 35.68, 139.69),
)

#: Region names (name, lat_deg, lon_deg) written in grey italics.
REGION_NAMES: tuple[tuple[str, float, float], ...] = (
    ("KOREA", 36.3, 127.9),
    ("CHINA", 43.5, 125.3),
    ("RUSSIA", 45.6, 134.2),
    ("HOKKAIDO", 43.6, 142.9),
    ("HONSHU", 38.6, 140.9),
    ("Sea of Japan", 40.2, 135.0),
    ("Pacific Ocean", 36.0, 144.0),
)

#: Altitude-panel event markers: kind -> (marker, size, drawing options); burnout is a tall
#: tick drawn above the ignition triangle of the next stage 2 s later, so both stay visible.
_EVENT_STYLE: dict[str, dict] = {
    "ignition": dict(marker="^", ms=7, mfc="none", mec="k", mew=1.0, zorder=7),
    "burnout": dict(marker="|", ms=14, mec="k", mew=2.0, zorder=8),
    "separation": dict(marker="x", ms=7, mec="C3", mew=1.5, zorder=9),
    "apogee": dict(marker="o", ms=6, mfc="none", mec="k", mew=1.0, zorder=7),
    "impact": dict(marker="v", ms=7, mfc="k", mec="k", zorder=7),
}


@lru_cache(maxsize=1)
def map_outline() -> list[tuple[np.ndarray, np.ndarray]]:
    """Country outlines around East Asia as (lon_deg, lat_deg) rings (Natural Earth 1:110m)."""
    text = resources.files("trackers.data").joinpath("outline_east_asia.json").read_text()
    return [(np.array(r["lon_deg"]), np.array(r["lat_deg"])) for r in json.loads(text)["rings"]]


@lru_cache(maxsize=1)
def japan_outline() -> list[tuple[np.ndarray, np.ndarray]]:
    """Japan's land as (lon_deg, lat_deg) rings from the 1:10m region file
    (:func:`trackers.impact.regions.load_regions`, ``japan-land``), exteriors only."""
    from trackers.impact.regions import load_regions

    land = load_regions()["japan-land"].polygon
    polys = getattr(land, "geoms", [land])
    return [tuple(np.asarray(p.exterior.coords).T) for p in polys]  # type: ignore[misc]


@lru_cache(maxsize=1)
def _coastlines() -> list[tuple[np.ndarray, np.ndarray]]:
    """1:110m outlines without its coarse Japanese islands, plus 1:10m Japan.

    A 1:110m ring is Japanese when a vertex of it lies within 0.3 deg of a 1:10m Japanese
    vertex and its bounding box lies inside Japan's (Honshu-Kyushu, Hokkaido, Shikoku).
    """
    fine = japan_outline()
    pts = np.concatenate([np.column_stack(r) for r in fine])  # (P, 2) lon, lat
    lo, hi = pts.min(axis=0) - 0.5, pts.max(axis=0) + 0.5
    coarse = []
    for lon, lat in map_outline():
        ring = np.column_stack([lon, lat])
        inside = np.all(ring >= lo) and np.all(ring <= hi)
        near = inside and np.min(np.sum((ring[:1] - pts) ** 2, axis=1)) < 0.3**2
        if not near:
            coarse.append((lon, lat))
    return coarse + fine


def _style(role: str, k: int) -> dict:
    return _ROLE_STYLE.get(role, dict(color=_PALETTE[k % len(_PALETTE)], lw=1.2, zorder=4))


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
    x0, x1, y0, y1 = _extent(flight)
    for ring_lon, ring_lat in _coastlines():
        ax.fill(ring_lon, ring_lat, facecolor="0.92", edgecolor="0.5", lw=0.5, zorder=1)
    for label, (lat, lon) in (lines or {}).items():
        ax.plot(lon, lat, "--", color="0.35", lw=1.0, label=label, zorder=2)
    for name, lat, lon in PLACES:
        if x0 <= lon <= x1 and y0 <= lat <= y1:
            ax.plot(lon, lat, "s", color="0.3", ms=2.5, zorder=2)
            ax.annotate(name, (lon, lat), xytext=(3, 2), textcoords="offset points",
                        fontsize=7, color="0.25", zorder=2)  # fmt: skip
    for name, lat, lon in REGION_NAMES:
        if x0 <= lon <= x1 and y0 <= lat <= y1:
            ax.text(lon, lat, name, fontsize=8, color="0.45", style="italic", ha="center",
                    va="center", zorder=1.5)  # fmt: skip
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
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / np.cos(np.radians(0.5 * (y0 + y1))))
    ax.set_xlabel("longitude [deg E]")
    ax.set_ylabel("latitude [deg N]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    ax.set_title("ground tracks")


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
    ax_alt.legend(fontsize=7, loc="upper right", title="object", title_fontsize=7)
    ax_alt.set_title("altitude above the reference surface")
    ax_boost.legend(handles=handles, fontsize=7, loc="upper left", title="event",
                    title_fontsize=7)  # fmt: skip
    ax_boost.set_title(f"boost and staging (first {t_stage / 60.0:.1f} min)")
    fig.suptitle(title or f"{flight.scenario_id}  (epoch {flight.epoch_utc})")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
