"""Approximate geography for impact decisions: Japan's EEZ limit and Hokkaido's west coast.

Source: /work/shared/SCENARIOS.md ("Geography for impact decisions"), which lists

* a rough western limit of Japan's EEZ in the Sea of Japan, an equidistance estimate with an
  error of 30-50 km (the authoritative polygon is Marine Regions' World EEZ v12, CC-BY; this
  polyline is *not* derived from it), and
* a west-coast polyline of Hokkaido through its capes and islands (Cape Soya, Cape Kamui,
  Okushiri, Oshima-Oshima, Cape Shirakami).

Both are lists of (lat_deg, lon_deg) vertices, north to south. :func:`west_of` answers "is a
point west of the polyline at its latitude?" by casting a ray from the point towards the
east and counting polyline crossings (an odd count means the line lies east of the point);
points outside the polyline's latitude span are reported as not west (the line says nothing
there).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

#: Rough western limit of Japan's EEZ in the Sea of Japan (lat, lon) [deg]; SCENARIOS.md.
JAPAN_EEZ_WEST: tuple[tuple[float, float], ...] = (
    (45.5, 139.3), (45.0, 139.2), (44.5, 138.9), (44.0, 138.35), (43.5, 138.0),
    (43.0, 137.45), (42.5, 137.1), (42.0, 136.75), (41.5, 136.25), (41.0, 135.9),
    (40.5, 135.55), (40.0, 134.5), (39.5, 133.75), (39.0, 133.8), (38.5, 133.4),
    (38.0, 132.95),
)  # fmt: skip

#: Hokkaido west coast (lat, lon) [deg], Cape Soya to Cape Shirakami; SCENARIOS.md.
HOKKAIDO_WEST_COAST: tuple[tuple[float, float], ...] = (
    (45.52, 141.94), (45.45, 140.96), (45.18, 141.14), (44.42, 141.30), (43.33, 140.35),
    (42.80, 140.20), (42.25, 139.55), (42.00, 139.42), (41.51, 139.37), (41.40, 140.20),
)  # fmt: skip


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
    """True if the point lies west of ``line`` (odd number of crossings on the eastward ray)."""
    if len(line) < 2:
        raise ValueError(f"line must have >= 2 vertices, got {len(line)}")
    return _crossings_east(float(lat_deg), float(lon_deg), line) % 2 == 1


def east_of(lat_deg: float, lon_deg: float, line: Sequence[tuple[float, float]]) -> bool:
    """True if the point lies east of ``line`` within its latitude span (westward ray)."""
    return west_of(lat_deg, -float(lon_deg), [(a, -o) for a, o in line])


def in_japan_eez_sea_of_japan(lat_deg: float, lon_deg: float) -> bool:
    """True if the point is east of the rough EEZ limit (inside Japan's EEZ, approximately)."""
    return east_of(lat_deg, lon_deg, JAPAN_EEZ_WEST)
