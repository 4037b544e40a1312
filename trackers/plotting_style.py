"""One matplotlib style for every figure of the package, and the map helpers they share.

- :func:`style`: a context manager (``matplotlib.rc_context``) with the package's fonts, sizes,
  line widths and a colour-blind-safe colour cycle; :func:`styled` wraps a plotting function
  in it. The palette is Okabe & Ito's eight colours (distinguishable under the common colour-
  vision deficiencies; Wong 2011).
- Fixed colours: :data:`OBJECT_COLOURS` per object kind (rv, stage-1/2/3, debris, clutter),
  :data:`TRACKER_COLOURS` per tracker (naive, separation-aware, stonesoup),
  :data:`LABEL_COLOURS` per track label, so an object or a tracker has one colour everywhere.
- :func:`region_map`: the region from Korea to Hokkaido (:data:`REGION_LON_LAT`) on an
  equirectangular plot with aspect 1 / cos(mid-latitude), true to scale along the middle
  parallel (Snyder 1987, ch. 12), coastlines from Natural Earth (1:110m countries, Japan from
  the 1:10m land polygons of :mod:`trackers.impact.regions`: the 1:110m outline cuts
  Hokkaido's capes by tens of km), place and sea names.
- :func:`impact_ellipse`: the n-sigma ellipse of a ground (east, north) covariance around a
  predicted impact point; :func:`shade_region`: an alert region filled.
- :func:`legend`: a legend on an axis wherever it has labelled artists; :func:`map_legend`
  puts a map's legend below the map, where it hides nothing.

Degrees and kilometres appear only in figures; the helpers take radians and metres.

References
----------
M. Okabe, K. Ito, "Color Universal Design (CUD): how to make figures and presentations that
are friendly to colorblind people", J*Fly, 2008.
B. Wong, "Points of view: Color blindness", Nature Methods 8, 441, 2011.
J. P. Snyder, *Map Projections: A Working Manual*, USGS Professional Paper 1395, 1987, ch. 12.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from typing import Any, TypeVar

import numpy as np
from cycler import cycler
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "LABEL_COLOURS",
    "OBJECT_COLOURS",
    "OKABE_ITO",
    "PLACES",
    "RC",
    "REGION_LON_LAT",
    "REGION_NAMES",
    "TRACKER_COLOURS",
    "coastlines",
    "ellipse_lonlat",
    "impact_ellipse",
    "japan_outline",
    "legend",
    "map_legend",
    "map_outline",
    "object_colour",
    "region_map",
    "shade_region",
    "style",
    "styled",
]

#: Okabe & Ito's colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
#: Colour of each object kind (role of a flight object; clutter for false reports).
OBJECT_COLOURS = {
    "rv": OKABE_ITO["vermillion"],
    "stage-1": OKABE_ITO["blue"],
    "stage-2": OKABE_ITO["bluish green"],
    "stage-3": OKABE_ITO["reddish purple"],
    "debris": "#999999",
    "clutter": "#BBBBBB",
}
#: Colour of each tracker.
TRACKER_COLOURS = {
    "naive": OKABE_ITO["orange"],
    "separation-aware": OKABE_ITO["sky blue"],
    "stonesoup": OKABE_ITO["black"],
}
#: Colour of each track label (index into trackers.tracking.LABELS: unknown, rv, stage, debris).
LABEL_COLOURS = {0: "#555555", 1: OBJECT_COLOURS["rv"], 2: OBJECT_COLOURS["stage-1"],
                 3: OBJECT_COLOURS["debris"]}  # fmt: skip
_CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish green", "reddish purple", "sky blue",
                                 "vermillion", "black", "yellow")]  # fmt: skip

#: rcParams of the package style.
RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 7.5,
    "legend.title_fontsize": 7.5,
    "legend.framealpha": 0.9,
    "figure.titlesize": 11.0,
    "lines.linewidth": 1.4,
    "lines.markersize": 5.0,
    "axes.prop_cycle": cycler(color=_CYCLE),
    "axes.grid": False,
    "grid.alpha": 0.3,
    "image.cmap": "viridis",
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
}

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

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which figures get the package style (:data:`RC`)."""
    import matplotlib as mpl  # here: importing this module does not import matplotlib

    with mpl.rc_context(RC):  # type: ignore[arg-type]
        yield


def styled(fn: F) -> F:
    """Decorator: run a plotting function inside :func:`style`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with style():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def object_colour(role: str, k: int = 0) -> str:
    """Colour of an object of role ``role`` (the cycle's k-th colour for an unknown role)."""
    return OBJECT_COLOURS.get(role, _CYCLE[k % len(_CYCLE)])


def legend(ax, **kwargs: Any):
    """``ax.legend(**kwargs)`` if ``ax`` has labelled artists (or ``handles`` are given)."""
    handles, _ = ax.get_legend_handles_labels()
    if not handles and "handles" not in kwargs:
        return None
    return ax.legend(**kwargs)


def map_legend(ax, ncol: int = 3, **kwargs: Any):
    """Legend of a map panel below the map (it hides no land, place or track)."""
    opts = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.1), "ncol": ncol, **kwargs}
    return legend(ax, **opts)


# ------------------------------------------------------------------------------ map data
@functools.lru_cache(maxsize=1)
def map_outline() -> list[tuple[NDArray, NDArray]]:
    """Country outlines around East Asia as (lon_deg, lat_deg) rings (Natural Earth 1:110m)."""
    text = resources.files("trackers.data").joinpath("outline_east_asia.json").read_text()
    return [(np.array(r["lon_deg"]), np.array(r["lat_deg"])) for r in json.loads(text)["rings"]]


@functools.lru_cache(maxsize=1)
def japan_outline() -> list[tuple[NDArray, NDArray]]:
    """Japan's land as (lon_deg, lat_deg) rings from the 1:10m region file
    (:func:`trackers.impact.regions.load_regions`, ``japan-land``), exteriors only."""
    from trackers.impact.regions import load_regions

    land = load_regions()["japan-land"].polygon
    polys = getattr(land, "geoms", [land])
    return [tuple(np.asarray(p.exterior.coords).T) for p in polys]  # type: ignore[misc]


@functools.lru_cache(maxsize=1)
def coastlines() -> list[tuple[NDArray, NDArray]]:
    """1:110m outlines without their coarse Japanese islands, plus 1:10m Japan.

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


# ------------------------------------------------------------------------------- helpers
def region_map(
    ax,
    extent: Sequence[float] = REGION_LON_LAT,
    *,
    places: Sequence[tuple[str, float, float]] = PLACES,
    names: Sequence[tuple[str, float, float]] = REGION_NAMES,
    title: str | None = None,
):
    """Draw the land, place and sea names of ``extent`` and set limits, aspect and labels.

    Parameters
    ----------
    ax : matplotlib Axes
    extent : (lon_min, lon_max, lat_min, lat_max)
        Map limits [deg] (default: Korea to Hokkaido, :data:`REGION_LON_LAT`).
    places, names : sequences of (name, lat_deg, lon_deg)
        Cities (a small square and the name) and region names (grey italics); entries
        outside ``extent`` are skipped.
    title : str, optional
        Axes title.

    Returns
    -------
    ax
        Land at zorder 1, names at 1.5-2: everything drawn afterwards lies on top.
    """
    x0, x1, y0, y1 = (float(v) for v in extent)
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"extent = {tuple(extent)}: expected lon_min < lon_max, lat_min < lat_max")
    for ring_lon, ring_lat in coastlines():
        ax.fill(ring_lon, ring_lat, facecolor="0.92", edgecolor="0.5", lw=0.5, zorder=1)
    for name, lat, lon in places:
        if x0 <= lon <= x1 and y0 <= lat <= y1:
            ax.plot(lon, lat, "s", color="0.3", ms=2.5, zorder=2)
            ax.annotate(name, (lon, lat), xytext=(3, 2), textcoords="offset points",
                        fontsize=7, color="0.25", zorder=2)  # fmt: skip
    for name, lat, lon in names:
        if x0 <= lon <= x1 and y0 <= lat <= y1:
            ax.text(lon, lat, name, fontsize=8, color="0.45", style="italic", ha="center",
                    va="center", zorder=1.5)  # fmt: skip
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / np.cos(np.radians(0.5 * (y0 + y1))))  # true scale at mid-latitude
    ax.set_xlabel("longitude [deg E]")
    ax.set_ylabel("latitude [deg N]")
    ax.grid(alpha=0.3)
    if title is not None:
        ax.set_title(title)
    return ax


def ellipse_lonlat(
    mean: ArrayLike, cov: ArrayLike, nsigma: float = 2.4477, n: int = 73
) -> tuple[NDArray, NDArray]:
    """Lon, lat [deg] of the ``nsigma`` ellipse of a ground covariance around ``mean``.

    ``mean`` = (lat, lon) [rad]; ``cov`` (2, 2) [m^2] in the local (east, north) plane. The
    points e = nsigma V sqrt(W) (cos a, sin a) (cov = V W V') are mapped to the sphere of
    radius a_WGS84 (small offsets): dlat = e_n / a, dlon = e_e / (a cos lat). 2.4477 sigma
    holds 95 % of a 2-D Gaussian.
    """
    from trackers.earth import wgs84

    lat0, lon0 = (float(v) for v in np.asarray(mean, float).reshape(2))
    C = np.asarray(cov, float)
    if C.shape != (2, 2):
        raise ValueError(f"cov: expected shape (2, 2) [m^2], got {C.shape}")
    if not (np.isfinite(nsigma) and nsigma > 0):
        raise ValueError(f"nsigma = {nsigma!r}, expected a finite number > 0")
    w, v = np.linalg.eigh(0.5 * (C + C.T))
    a = np.linspace(0.0, 2.0 * np.pi, n)
    pts = nsigma * (v @ (np.sqrt(np.maximum(w, 0.0))[:, None] * np.stack([np.cos(a), np.sin(a)])))
    dlat = pts[1] / wgs84.A  # north offset [rad]
    dlon = pts[0] / (wgs84.A * np.cos(lat0))  # east offset [rad]
    return np.degrees(lon0 + dlon), np.degrees(lat0 + dlat)


def impact_ellipse(ax, mean: ArrayLike, cov: ArrayLike, nsigma: float = 2.4477, **kwargs: Any):
    """Draw the ``nsigma`` ellipse of an impact prediction (see :func:`ellipse_lonlat`).

    ``mean`` = (lat, lon) [rad], ``cov`` (2, 2) east/north [m^2]; ``kwargs`` go to
    ``ax.plot`` (default thin line at zorder 4). Returns the Line2D.
    """
    lon, lat = ellipse_lonlat(mean, cov, nsigma)
    opts = {"lw": 0.9, "zorder": 4, **kwargs}
    (line,) = ax.plot(lon, lat, "-", **opts)
    return line


def shade_region(ax, region, label: str | None = "", **kwargs: Any) -> list:
    """Fill an alert region (a :class:`trackers.impact.regions.Region` or its id).

    ``label``: legend text ("" for "alert region (<name>)", None for none). The fill lies at
    zorder 1.2, over the land and under every marker. Returns the polygons.
    """
    from trackers.impact.regions import Region, load_regions

    if isinstance(region, str):
        regions = load_regions()
        if region not in regions:
            raise ValueError(f"region = {region!r}: unknown id; expected one of {sorted(regions)}")
        region = regions[region]
    if not isinstance(region, Region):
        raise TypeError(f"region: expected a Region or region id, got {type(region).__name__}")
    opts = {"color": OKABE_ITO["orange"], "alpha": 0.35, "lw": 0, "zorder": 1.2, **kwargs}
    text = f"alert region ({region.name})" if label == "" else label
    out = []
    for i, g in enumerate(getattr(region.polygon, "geoms", [region.polygon])):
        x, y = g.exterior.xy
        out += ax.fill(np.asarray(x), np.asarray(y), label=text if i == 0 else None, **opts)
    return out
