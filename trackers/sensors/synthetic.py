"""Synthetic truth for testing and benchmarking the sensors without the full simulator.

:func:`kepler_flight` builds a :class:`~trackers.sim.truth.Flight` whose objects coast on
point-mass-gravity arcs (r'' = -mu r / |r|^3, integrated with scipy's DOP853 and sampled at
``rate_hz``; the Earth is treated as non-rotating, which is fine for geometry tests). The
first object is the ``"rv"``; ``stage-k`` objects separate from it at given times with a
small relative velocity, which reproduces the close pair a radar sees right after staging.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from trackers.earth import wgs84
from trackers.sim.truth import Event, Flight, ObjectTrajectory


def _arc(r0, v0, t0, t1, rate_hz):
    def f(_t, y):
        r = y[:3]
        return np.concatenate([y[3:], -wgs84.GM * r / np.linalg.norm(r) ** 3])

    def ground(_t, y):
        alt = wgs84.geodetic_altitude(y[:3])
        return float(alt)

    ground.terminal = True
    ground.direction = -1
    sol = solve_ivp(f, (t0, t1), np.concatenate([r0, v0]), method="DOP853", rtol=1e-10,
                    atol=1e-6, dense_output=True, events=ground)  # fmt: skip
    t_end = float(sol.t[-1])
    n = max(math.floor((t_end - t0) * rate_hz) + 1, 2)
    t = t0 + np.arange(n) / rate_hz
    t = t[t <= t_end]
    if t.size < 2:
        t = np.array([t0, t_end])
    y = sol.sol(t).T
    return t, y


def trajectory(obj_id, role, parent, created_by, t, y, phase="midcourse") -> ObjectTrajectory:
    """ObjectTrajectory from samples ``t`` ``(K,)`` and states ``y`` ``(K, 6)``."""
    r, v = y[:, :3], y[:, 3:]
    acc = -wgs84.GM * r / np.linalg.norm(r, axis=1, keepdims=True) ** 3
    lat, lon, alt = wgs84.ecef_to_geodetic(r)
    k = t.size
    return ObjectTrajectory(
        id=obj_id, role=role, parent=parent, created_by=created_by, t=t, r=r, v=v, a=acc,
        lat=lat, lon=lon, alt=alt, phase=np.full(k, phase), mass=np.full(k, 1000.0),
        beta=np.full(k, np.inf),
    )  # fmt: skip


def kepler_flight(
    lat_deg: float = 39.0,
    lon_deg: float = 125.8,
    alt_m: float = 100e3,
    azimuth_deg: float = 80.0,
    speed: float = 5000.0,
    flight_path_deg: float = 60.0,
    duration_s: float = 2400.0,
    rate_hz: float = 10.0,
    separations: tuple[float, ...] = (60.0, 120.0),
    separation_dv: float = 2.0,
    scenario_id: str = "synthetic-kepler",
) -> Flight:
    """A multi-object coasting flight starting at (lat, lon, alt) with the given velocity.

    The velocity has magnitude ``speed`` [m/s], heading ``azimuth_deg`` (from north) and
    flight-path angle ``flight_path_deg`` above the local horizontal. At each time in
    ``separations`` [s] a ``stage-k`` object leaves the ``rv`` with relative velocity
    ``-separation_dv`` [m/s] along the velocity. Objects end at impact or ``duration_s``.
    """
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    r0 = wgs84.geodetic_to_ecef(lat, lon, alt_m)
    a, g = math.radians(azimuth_deg), math.radians(flight_path_deg)
    enu = np.array([math.cos(g) * math.sin(a), math.cos(g) * math.cos(a), math.sin(g)]) * speed
    v0 = wgs84.enu_rotation(lat, lon).T @ enu
    t_rv, y_rv = _arc(r0, v0, 0.0, duration_s, rate_hz)
    objects = [trajectory("rv", "rv", None, "launch", t_rv, y_rv)]
    events = [Event(0.0, "rv", "launch")]
    from scipy.interpolate import CubicHermiteSpline

    for i, ts in enumerate(separations, start=1):
        if ts >= t_rv[-1]:
            break
        spl = CubicHermiteSpline(t_rv, y_rv[:, :3], y_rv[:, 3:])
        r_s, v_s = spl(ts), spl(ts, 1)
        v_s = v_s - separation_dv * v_s / np.linalg.norm(v_s)
        t, y = _arc(r_s, v_s, ts, duration_s, rate_hz)
        objects.append(trajectory(f"stage-{i}", f"stage-{i}", "rv", "separation", t, y))
        events.append(Event(ts, f"stage-{i}", "separation"))
    return Flight(
        scenario_id=scenario_id,
        epoch_utc="2023-04-12T22:22:00Z",
        objects=tuple(objects),
        events=tuple(sorted(events, key=lambda e: e.t_s)),
    )
