"""Approximate geography for impact decisions: Japan's EEZ in the Sea of Japan, Hokkaido.

Vertices (lat_deg, lon_deg) from public gazetteer figures, listed in ``docs/scenarios.md``
("Geography for impact decisions"):

* ``JAPAN_EEZ_WEST``: a rough western limit of Japan's EEZ in the Sea of Japan, an
  equidistance estimate with an error of 30-50 km (the authoritative polygon is Marine
  Regions' World EEZ v12, CC-BY; this polyline is *not* derived from it), north to south;
* ``HOKKAIDO_WEST_COAST``: Hokkaido's west coast through its capes and islands (Cape Soya,
  Rebun/Rishiri, Cape Kamui, Okushiri, Oshima-Oshima, Cape Shirakami), north to south;
* ``HOKKAIDO``: a closed outline of Hokkaido, the west coast above plus the south, east and
  north coasts (Cape Esan, Uchiura Bay, Cape Erimo, Kushiro, Cape Nosappu, Shiretoko,
  Abashiri, Esashi), error ~5-10 km (bays are cut by chords);
* ``JAPAN_EEZ_SEA_OF_JAPAN``: a closed polygon of Japan's EEZ in the Sea of Japan between
  38.0N and 45.5N: the EEZ limit on the west, 38.0N on the south, Honshu's west coast
  (Niigata to Cape Tappi), the Tsugaru Strait, Hokkaido's west coast and La Perouse Strait
  (45.5N) on the north. It shares the west-coast vertices with ``HOKKAIDO``: a point is in at
  most one of them, and land is not EEZ.

Two kinds of question, both right everywhere on the globe:

* Regions (:func:`in_polygon`, :func:`on_hokkaido`, :func:`in_japan_eez_sea_of_japan`):
  even-odd ray casting (Shimrat, "Algorithm 112: Position of point relative to polygon",
  CACM 5(8), 1962; Haines, "Point in polygon strategies", Graphics Gems IV, 1994) in the
  (lon, lat) plane, with edges half-open in latitude so that a ray through a vertex counts
  once. Longitudes are reduced to [-180, 180), so a point given as 143.25 or -216.75 is the
  same; the polygons here do not cross the antimeridian. Far from a polygon the answer is
  False (a point in the Pacific is neither on Hokkaido nor in the Sea of Japan).
* Sides of a line (:func:`west_of`, :func:`east_of`): "is the point west (east) of the
  polyline at its own latitude?", counting polyline crossings of an eastward (westward) ray.
  Outside the line's latitude span both are False. A side of a line is *not* a region:
  41.8N 157.2E is east of Hokkaido's west coast, but not on Hokkaido; use the region helpers
  for "where did it fall".

These are stand-ins for the impact-prediction polygons and are good to the errors above.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Rough western limit of Japan's EEZ in the Sea of Japan (lat, lon) [deg], north to south.
JAPAN_EEZ_WEST: tuple[tuple[float, float], ...] = (
    (45.5, 139.3), (45.0, 139.2), (44.5, 138.9), (44.0, 138.35), (43.5, 138.0),
    (43.0, 137.45), (42.5, 137.1), (42.0, 136.75), (41.5, 136.25), (41.0, 135.9),
    (40.5, 135.55), (40.0, 134.5), (39.5, 133.75), (39.0, 133.8), (38.5, 133.4),
    (38.0, 132.95),
)  # fmt: skip

#: Hokkaido west coast (lat, lon) [deg], Cape Soya to Cape Shirakami.
HOKKAIDO_WEST_COAST: tuple[tuple[float, float], ...] = (
    (45.52, 141.94), (45.45, 140.96), (45.18, 141.14), (44.42, 141.30), (43.33, 140.35),
    (42.80, 140.20), (42.25, 139.55), (42.00, 139.42), (41.51, 139.37), (41.40, 140.20),
)  # fmt: skip

#: Hokkaido's south, east and north coasts (lat, lon) [deg], Cape Shirakami (excluded) to
#: Cape Soya (excluded): Hakodate, Cape Esan, Uchiura Bay (Mori, Oshamambe, Muroran),
#: Tomakomai, Urakawa, Cape Erimo (tip 41.91N), Hiroo, Kushiro, Cape Nosappu, Shibetsu,
#: Cape Shiretoko, Abashiri, Monbetsu, Esashi, Sarufutsu.
_HOKKAIDO_OTHER_COASTS: tuple[tuple[float, float], ...] = (
    (41.77, 140.72), (41.80, 141.18), (42.11, 140.58), (42.51, 140.38), (42.42, 140.85),
    (42.30, 140.98), (42.63, 141.60), (42.33, 142.37), (42.16, 142.77), (41.91, 143.25),
    (42.28, 143.32), (42.68, 143.65), (42.98, 144.38), (43.03, 144.85), (43.39, 145.82),
    (43.66, 145.13), (44.02, 145.19), (44.35, 145.33), (44.07, 144.99), (44.02, 144.27),
    (44.36, 143.35), (44.58, 142.96), (44.94, 142.58), (45.33, 142.10),
)  # fmt: skip

#: Closed outline of Hokkaido (lat, lon) [deg] (the last vertex joins the first).
HOKKAIDO: tuple[tuple[float, float], ...] = HOKKAIDO_WEST_COAST + _HOKKAIDO_OTHER_COASTS

#: Honshu's Sea of Japan coast (lat, lon) [deg], 38.0N near Niigata north to Cape Tappi:
#: Murakami, Nezugaseki, Sakata, Akita, Oga (Nyudozaki), Fukaura, Jusan, Cape Tappi.
_HONSHU_WEST_COAST: tuple[tuple[float, float], ...] = (
    (38.0, 139.25), (38.22, 139.42), (38.56, 139.55), (38.92, 139.82), (39.38, 140.03),
    (39.72, 140.05), (39.99, 139.70), (40.37, 139.98), (40.65, 139.93), (41.03, 140.33),
    (41.26, 140.35),
)  # fmt: skip

#: Closed polygon of Japan's EEZ in the Sea of Japan, 38.0N-45.5N (lat, lon) [deg]: the EEZ
#: limit (north to south), Honshu's coast (south to north), Tsugaru Strait, Hokkaido's west
#: coast (south to north); the last vertex (Cape Soya) joins the first along La Perouse.
JAPAN_EEZ_SEA_OF_JAPAN: tuple[tuple[float, float], ...] = (
    JAPAN_EEZ_WEST + _HONSHU_WEST_COAST + HOKKAIDO_WEST_COAST[::-1]
)


def _wrap_lon(lon: NDArray) -> NDArray:
    """Longitude reduced to [-180, 180) [deg]."""
    return (lon + 180.0) % 360.0 - 180.0


def in_polygon(
    lat_deg: ArrayLike, lon_deg: ArrayLike, polygon: Sequence[tuple[float, float]]
) -> NDArray | bool:
    """True where the point (lat, lon) lies inside the closed ``polygon`` (even-odd rule).

    Parameters
    ----------
    lat_deg, lon_deg : array_like, broadcastable to a common shape ``S``
        Point latitude and longitude [deg].
    polygon : sequence of (lat_deg, lon_deg)
        At least 3 vertices, not crossing the antimeridian; the last joins the first.

    Returns
    -------
    bool array of shape ``S`` (a Python bool for scalar input)
    """
    if len(polygon) < 3:
        raise ValueError(f"polygon must have >= 3 vertices, got {len(polygon)}")
    lat = np.asarray(lat_deg, float)
    lon = _wrap_lon(np.asarray(lon_deg, float))
    lat, lon = np.broadcast_arrays(lat, lon)
    vert = np.asarray(polygon, float)
    a_lat, a_lon = vert[:, 0], _wrap_lon(vert[:, 1])
    b_lat, b_lon = np.roll(a_lat, -1), np.roll(a_lon, -1)
    p_lat, p_lon = lat[..., None], lon[..., None]  # (..., 1) against edges (E,)
    # edge spans the point's latitude, half-open: exactly one of its ends is above
    spans = (a_lat > p_lat) != (b_lat > p_lat)
    with np.errstate(divide="ignore", invalid="ignore"):
        # longitude where the edge crosses the point's latitude
        x = a_lon + (p_lat - a_lat) / (b_lat - a_lat) * (b_lon - a_lon)
    crossings = np.sum(spans & (x > p_lon), axis=-1)  # edges crossed by the eastward ray
    inside = crossings % 2 == 1
    return bool(inside) if inside.ndim == 0 else inside


def on_hokkaido(lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray | bool:
    """True on Hokkaido's main island (``HOKKAIDO`` outline, ~5-10 km)."""
    return in_polygon(lat_deg, lon_deg, HOKKAIDO)


def in_japan_eez_sea_of_japan(lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray | bool:
    """True inside Japan's EEZ in the Sea of Japan, 38.0N-45.5N (``JAPAN_EEZ_SEA_OF_JAPAN``).

    Sea only: a point on Hokkaido or Honshu is not in it (see :func:`on_hokkaido`), nor is a
    point in the Pacific or west of the EEZ limit.
    """
    return in_polygon(lat_deg, lon_deg, JAPAN_EEZ_SEA_OF_JAPAN)


def _crossings_east(lat: float, lon: float, line: Sequence[tuple[float, float]]) -> int:
    """Number of polyline edges crossed by the ray from (lat, lon) due east."""
    n = 0
    for (a_lat, a_lon), (b_lat, b_lon) in itertools.pairwise(line):
        if (a_lat > lat) == (b_lat > lat):  # edge does not span this latitude (half-open)
            continue
        x = a_lon + (lat - a_lat) / (b_lat - a_lat) * (b_lon - a_lon)
        if x > lon:
            n += 1
    return n


def west_of(lat_deg: float, lon_deg: float, line: Sequence[tuple[float, float]]) -> bool:
    """True if the point lies west of the polyline ``line`` at its latitude.

    Side of a line, not a region (module docstring): odd number of crossings on the eastward
    ray; False outside the line's latitude span.
    """
    if len(line) < 2:
        raise ValueError(f"line must have >= 2 vertices, got {len(line)}")
    return _crossings_east(float(lat_deg), float(lon_deg), line) % 2 == 1


def east_of(lat_deg: float, lon_deg: float, line: Sequence[tuple[float, float]]) -> bool:
    """True if the point lies east of ``line`` at its latitude (westward ray; not a region)."""
    return west_of(lat_deg, -float(lon_deg), [(a, -o) for a, o in line])
