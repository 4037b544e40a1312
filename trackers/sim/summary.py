"""Flight summary (the CLI's summary.json): apogee, range, flight time and impact per object.

Ground range is the distance from the launch site to the impact point along the surface of
the scenario's own Earth (:func:`ground_range`): the geodesic on the WGS-84 ellipsoid
(Vincenty's inverse formula, T. Vincenty, "Direct and inverse solutions of geodesics on the
ellipsoid", Survey Review 23(176), 1975, via :func:`trackers.earth.wgs84.geodesic_distance`)
for ``shape = "wgs84"``, the great circle of the sphere's radius R for ``shape = "sphere"``
(haversine form, R. W. Sinnott, "Virtues of the haversine", Sky & Telescope 68(2), 1984):

    d = 2 R asin( sqrt( sin^2(dlat / 2) + cos lat1 cos lat2 sin^2(dlon / 2) ) )

(measuring a sphere's flight on WGS-84 would make ranges ~0.1 % too long at 40N for
R = 6371 km). Apogee is the largest sampled altitude above the reference surface (the
samples include the apogee event instant), flight time the impact time minus the launch time
(t = 0).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth.model import EarthModel
from trackers.earth.wgs84 import geodesic_distance, great_circle_distance
from trackers.sim.truth import Flight


def ground_range(
    earth: EarthModel, lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> NDArray:
    """Surface distance [m] between geodetic points on ``earth``'s reference surface.

    Parameters
    ----------
    earth : EarthModel
        ``shape = "wgs84"``: ellipsoidal geodesic; ``"sphere"``: great circle of radius
        ``earth.radius`` (module docstring).
    lat1, lon1, lat2, lon2 : array_like, broadcastable
        Geodetic (on a sphere: geocentric) latitudes and longitudes [rad].

    Returns
    -------
    distance : array of the broadcast shape [m]
    """
    if earth.shape == "sphere":
        return great_circle_distance(lat1, lon1, lat2, lon2, radius=earth.radius)
    return geodesic_distance(lat1, lon1, lat2, lon2)


def flight_summary(flight: Flight) -> dict:
    """``{"scenario", "objects": [{"id", "role", "apogee_m", "range_m", "flight_time_s",
    "impact_lat_deg", "impact_lon_deg"}], "events": [{"t_s", "object", "kind"}]}``.

    Objects that did not reach the ground (none, for a complete simulation) get ``None``
    for range, flight time and impact point. Ranges are measured on the flight's Earth
    (``flight.meta["earth"]``; WGS-84 when the flight carries no Earth, e.g. read from CSV).
    """
    earth = EarthModel(**flight.meta["earth"]) if "earth" in flight.meta else EarthModel()
    launch = flight.meta.get("launch", {})
    lat0 = math.radians(launch["lat_deg"]) if launch else float(flight.objects[0].lat[0])
    lon0 = math.radians(launch["lon_deg"]) if launch else float(flight.objects[0].lon[0])
    impacts = {e.object: e.t_s for e in flight.events if e.kind == "impact"}
    objs = []
    for o in flight.objects:
        rec = {"id": o.id, "role": o.role, "apogee_m": float(np.max(o.alt))}
        if o.id in impacts:
            lat, lon = float(o.lat[-1]), float(o.lon[-1])
            rec.update(
                range_m=float(ground_range(earth, lat0, lon0, lat, lon)),
                flight_time_s=float(impacts[o.id]),
                impact_lat_deg=math.degrees(lat),
                impact_lon_deg=math.degrees(lon),
            )
        else:
            rec.update(range_m=None, flight_time_s=None, impact_lat_deg=None, impact_lon_deg=None)
        objs.append(rec)
    events = [{"t_s": float(e.t_s), "object": e.object, "kind": e.kind} for e in flight.events]
    return {"scenario": flight.scenario_id, "objects": objs, "events": events}
