"""Flight summary (the CLI's summary.json): apogee, range, flight time and impact per object.

Ground range is the geodesic distance on WGS-84 from the launch site to the impact point
(:func:`trackers.earth.wgs84.geodesic_distance`), apogee the largest sampled altitude above
the reference surface (the samples include the apogee event instant), flight time the
impact time minus the launch time (t = 0).
"""

from __future__ import annotations

import math

import numpy as np

from trackers.earth.wgs84 import geodesic_distance
from trackers.sim.truth import Flight


def flight_summary(flight: Flight) -> dict:
    """``{"scenario", "objects": [{"id", "role", "apogee_m", "range_m", "flight_time_s",
    "impact_lat_deg", "impact_lon_deg"}], "events": [{"t_s", "object", "kind"}]}``.

    Objects that did not reach the ground (none, for a complete simulation) get ``None``
    for range, flight time and impact point.
    """
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
                range_m=float(geodesic_distance(lat0, lon0, lat, lon)),
                flight_time_s=float(impacts[o.id]),
                impact_lat_deg=math.degrees(lat),
                impact_lon_deg=math.degrees(lon),
            )
        else:
            rec.update(range_m=None, flight_time_s=None, impact_lat_deg=None, impact_lon_deg=None)
        objs.append(rec)
    events = [{"t_s": float(e.t_s), "object": e.object, "kind": e.kind} for e in flight.events]
    return {"scenario": flight.scenario_id, "objects": objs, "events": events}
