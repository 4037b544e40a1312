"""Figures of tracks against truth and of alert timelines (matplotlib, Agg).

- :func:`plot_tracks`: one run's confirmed tracks over the true objects — ground tracks on a
  map from Korea to Hokkaido and altitude against time, spawned tracks marked where they
  start, each track coloured by its label (rv / stage / unknown).
- :func:`plot_alert_map`: true impact points, one run's predicted impact points and 95 %
  ellipses (2.448 sigma) as they evolve, and the alert region.
- :func:`plot_alert_timeline`: per system, the first alert of every run (issued to cancelled,
  or to the impact) against the flight's events (separations, burnouts).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from trackers.earth import wgs84

__all__ = ["plot_alert_map", "plot_alert_timeline", "plot_tracks"]

LABEL_COLOURS = {0: "tab:gray", 1: "tab:red", 2: "tab:blue", 3: "tab:purple"}
LABEL_NAMES = {0: "unknown", 1: "labelled rv", 2: "labelled stage", 3: "debris"}
#: Map extent (lon0, lon1, lat0, lat1) [deg]: Korea to Hokkaido.
REGION_EXTENT = (123.0, 147.0, 33.0, 46.5)
PLACES = {
    "Pyongyang": (39.02, 125.75), "Seoul": (37.57, 126.98), "Sapporo": (43.06, 141.35),
    "Tokyo": (35.68, 139.69), "Vladivostok": (43.12, 131.89), "Okushiri": (42.15, 139.47),
}  # fmt: skip


def _japan(ax) -> None:
    """Japan's land (1:10m polygons of trackers.impact.regions) as a light fill."""
    try:
        from trackers.impact.regions import load_regions

        land = load_regions()["japan-land"].polygon
        geoms = getattr(land, "geoms", [land])
        for g in geoms:
            x, y = g.exterior.xy
            ax.fill(x, y, color="0.88", ec="0.6", lw=0.4, zorder=0)
    except Exception:  # pragma: no cover - the map is decoration; never fail a figure on it
        pass
    for name, (la, lo) in PLACES.items():
        ax.plot(lo, la, "k.", ms=3, zorder=1)
        ax.annotate(name, (lo, la), fontsize=7, xytext=(3, 3), textcoords="offset points")


def _geodetic_deg(x: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    lat, lon, alt = wgs84.ecef_to_geodetic(x[..., :3])
    return np.degrees(lat), np.degrees(lon), alt


def plot_tracks(log, flight, path: str | Path, run: int = 0, title: str = "") -> Path:
    """Confirmed tracks of ``run`` against the true objects (module docstring)."""
    fig, (ax_map, ax_alt) = plt.subplots(1, 2, figsize=(13, 5.2))
    _japan(ax_map)
    for obj in flight.objects:
        lat, lon = np.degrees(obj.lat), np.degrees(obj.lon)
        ax_map.plot(lon, lat, "k-", lw=1.0, alpha=0.5)
        ax_alt.plot(obj.t, obj.alt / 1e3, "k-", lw=1.0, alpha=0.5)
        ax_map.annotate(obj.id, (lon[-1], lat[-1]), fontsize=7)
    ax_map.plot([], [], "k-", alpha=0.5, label="truth")
    ax_alt.plot([], [], "k-", alpha=0.5, label="truth")
    sel = (log.run == run) & (log.status == 2)
    seen_labels: set[int] = set()
    for tid in np.unique(log.track[sel]):
        rows = np.flatnonzero(sel & (log.track == tid))
        lab = int(np.bincount(log.label[rows]).argmax())
        lat, lon, alt = _geodetic_deg(log.x[rows])
        kw = {"color": LABEL_COLOURS.get(lab, "k"), "lw": 1.2}
        if lab not in seen_labels:
            kw["label"] = f"track ({LABEL_NAMES.get(lab, lab)})"
            seen_labels.add(lab)
        ax_map.plot(lon, lat, ".-", ms=2, **kw)
        ax_alt.plot(log.t[rows], alt / 1e3, ".-", ms=2, **kw)
        if log.parent[rows[0]] >= 0:
            ax_map.plot(lon[0], lat[0], "g^", ms=6)
            ax_alt.plot(log.t[rows[0]], alt[0] / 1e3, "g^", ms=6)
    ax_map.plot([], [], "g^", label="spawned track starts")
    ax_alt.plot([], [], "g^", label="spawned track starts")
    ax_map.set_xlim(REGION_EXTENT[:2])
    ax_map.set_ylim(REGION_EXTENT[2:])
    ax_map.set_xlabel("longitude [deg E]")
    ax_map.set_ylabel("latitude [deg N]")
    ax_map.set_aspect(1.0 / np.cos(np.radians(40.0)))
    ax_map.legend(fontsize=7, loc="lower right")
    ax_alt.set_xlabel("time since launch [s]")
    ax_alt.set_ylabel("altitude [km]")
    ax_alt.legend(fontsize=7, loc="upper right")
    fig.suptitle(title or f"confirmed tracks of run {run} against truth")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _ellipse(lat0: float, lon0: float, cov: NDArray, k: float = 2.448) -> tuple[NDArray, NDArray]:
    """Lon/lat [deg] of the k-sigma ellipse of a tangent-plane (east, north) covariance."""
    w, v = np.linalg.eigh(cov)
    a = np.linspace(0, 2 * np.pi, 73)
    pts = (v @ (np.sqrt(np.maximum(w, 0))[:, None] * np.stack([np.cos(a), np.sin(a)]))) * k
    R = wgs84.A
    dlat = pts[1] / R
    dlon = pts[0] / (R * np.cos(lat0))
    return np.degrees(lon0 + dlon), np.degrees(lat0 + dlat)


def plot_alert_map(
    path: str | Path,
    true_impacts: dict[str, tuple[float, float]],
    impacts,
    run: int,
    region=None,
    title: str = "",
    times: Sequence[float] | None = None,
    highlight: float | None = None,
) -> Path:
    """Map of true impacts, one run's predicted impacts/ellipses over time and the region.

    ``true_impacts``: label -> (lat, lon) [rad]; ``impacts``: an ImpactLog; ``highlight``: a
    decision time (e.g. when an alert was issued) drawn in red on top of the others.
    """
    fig, ax = plt.subplots(figsize=(8.5, 6.5))
    _japan(ax)
    if region is not None:
        geoms = getattr(region.polygon, "geoms", [region.polygon])
        for i, g in enumerate(geoms):
            x, y = g.exterior.xy
            ax.fill(x, y, color="tab:orange", alpha=0.35, lw=0,
                    label=f"alert region ({region.name})" if i == 0 else None)  # fmt: skip
    sel = (impacts.run == run) & (impacts.track >= 0) & np.isfinite(impacts.lat)
    ts = np.unique(impacts.t[sel])
    if times is None:
        times = ts[np.linspace(0, ts.size - 1, min(8, ts.size)).astype(int)] if ts.size else []
    times = [float(t) for t in times]
    cmap = plt.get_cmap("viridis")
    for i, t in enumerate(times):
        rows = np.flatnonzero(sel & (impacts.t == t) & (impacts.status == 2))
        c = cmap(i / max(1, len(times) - 1))
        for j, k in enumerate(rows):
            lat, lon = impacts.lat[k], impacts.lon[k]
            ex, ey = _ellipse(lat, lon, impacts.cov_ground[k])
            ax.plot(ex, ey, "-", color=c, lw=0.8)
            ax.plot(np.degrees(lon), np.degrees(lat), "o", color=c, ms=4,
                    label=f"predicted, t = {t:.0f} s" if j == 0 else None)  # fmt: skip
    if highlight is not None:
        rows = np.flatnonzero(sel & (impacts.t == highlight) & (impacts.status == 2))
        for j, k in enumerate(rows):
            ex, ey = _ellipse(impacts.lat[k], impacts.lon[k], impacts.cov_ground[k])
            ax.plot(ex, ey, "-", color="tab:red", lw=1.6)
            ax.plot(np.degrees(impacts.lon[k]), np.degrees(impacts.lat[k]), "X", color="tab:red",
                    ms=9, mec="k", label=f"predicted at the alert, t = {highlight:.0f} s"
                    if j == 0 else None)  # fmt: skip
    for (name, (lat, lon)), star in zip(true_impacts.items(), ("gold", "tab:pink"), strict=False):
        ax.plot(np.degrees(lon), np.degrees(lat), "*", color=star, ms=15, mec="k",
                label=f"true: {name}")  # fmt: skip
    ax.set_xlim(REGION_EXTENT[:2])
    ax.set_ylim(REGION_EXTENT[2:])
    ax.set_aspect(1.0 / np.cos(np.radians(40.0)))
    ax.set_xlabel("longitude [deg E]")
    ax.set_ylabel("latitude [deg N]")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title or f"run {run}: predicted impacts (95 % ellipses) and truth", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_alert_timeline(path: str | Path, results: Sequence, title: str = "") -> Path:
    """Alert intervals per run and system against the flight's events (one panel each)."""
    fig, axes = plt.subplots(len(results), 1, figsize=(10, 1.2 + 1.1 * len(results)),
                             sharex=True, squeeze=False)  # fmt: skip
    for ax, r in zip(axes[:, 0], results, strict=True):
        tl = r.timeline
        for i, (iss, can) in enumerate(zip(tl.issued, tl.cancelled, strict=True)):
            if np.isfinite(iss):
                end = can if np.isfinite(can) else r.t_impact_true
                ax.plot([iss, end], [i, i], "-", color="tab:orange", lw=4,
                        label="alert active" if i == 0 else None)  # fmt: skip
        done = set()
        for t, _obj, kind in r.events:
            if kind in ("separation", "burnout", "impact"):
                ax.axvline(t, color={"separation": "tab:green", "burnout": "tab:blue",
                                     "impact": "k"}[kind], lw=0.8, alpha=0.6,
                           label=kind if kind not in done else None)  # fmt: skip
                done.add(kind)
        ax.set_ylabel("run")
        ax.set_yticks(range(tl.runs.size))
        ax.set_ylim(-0.8, max(1, tl.runs.size) - 0.2)
        ax.set_title(f"{r.system} on {r.scenario}", fontsize=9)
        ax.legend(fontsize=6, loc="upper left", ncol=4)
    axes[-1, 0].set_xlabel("time since launch [s]")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
