"""Tuning guidance or vehicle parameters to hit a ground range or an apogee.

:func:`solve_for` finds the value x of one scenario parameter (a dotted path such as
``guidance.pitch_kick_deg`` or ``guidance.stage_pitch_deg[2]``) with

    f(x) = achieved(x) - target = 0

by Brent's method (``scipy.optimize.brentq``) on a bracket [lo, hi] where f changes sign.
Each evaluation runs the fast outcome-only simulation :func:`flight_outcomes` (no output
sampling). Range is the surface distance launch -> impact on the scenario's own Earth
(:func:`trackers.sim.summary.ground_range`: WGS-84 geodesic or the sphere's great circle);
apogee the highest altitude above the reference surface.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq

from trackers.sim.scenario import Scenario, get_parameter, set_parameter
from trackers.sim.simulate import _Sim
from trackers.sim.summary import ground_range


def flight_outcomes(scenario: Scenario, spent: bool = True) -> dict[str, dict]:
    """Per object: apogee [m], ground range [m], flight time [s], impact lat/lon [deg].

    ``downrange_m`` is the range signed by the direction of the impact point: negative when
    it lies behind the launch site (bearing more than 90 deg from the launch azimuth), which
    keeps range monotonic in the guidance parameters for :func:`solve_for`.

    Runs the integration without output sampling (about 3x faster than ``simulate``);
    ``spent=False`` integrates the RV only. ``"_burnout"`` holds per-stage burnout states.
    """
    sim = _Sim(scenario, spent=spent)
    sim.run()
    lau, earth = scenario.launch, scenario.earth
    out: dict[str, dict] = {"_burnout": sim.meta_stages}  # type: ignore[dict-item]
    for body in sim.bodies:
        ev = {e.kind: e for e in body.events}
        last = body.segments[-1]
        if "apogee" in ev:
            apo = float(earth.altitude(last.sol(ev["apogee"].t_s)[:3]))
        else:
            ts = np.linspace(body.segments[0].t0, last.t1, 400)
            ys = np.concatenate(
                [sg.sol(ts[(ts >= sg.t0) & (ts <= sg.t1)])[:3].T for sg in body.segments]
            )
            apo = float(np.max(earth.altitude(ys)))
        t_imp = ev["impact"].t_s
        lat, lon, _ = earth.geodetic(last.sol(t_imp)[:3])
        rng = float(ground_range(earth, lau.lat, lau.lon, float(lat), float(lon)))
        # initial great-circle bearing launch -> impact, to sign the range (uprange < 0)
        dlon = float(lon) - lau.lon
        brg = math.atan2(
            math.sin(dlon) * math.cos(lat),
            math.cos(lau.lat) * math.sin(lat) - math.sin(lau.lat) * math.cos(lat) * math.cos(dlon),
        )
        ahead = math.cos(brg - lau.azimuth) >= 0.0
        out[body.id] = {
            "apogee_m": apo,
            "range_m": rng,
            "downrange_m": rng if ahead else -rng,
            "flight_time_s": t_imp,
            "impact_lat_deg": math.degrees(float(lat)),
            "impact_lon_deg": math.degrees(float(lon)),
        }
    return out


class SolveResult(NamedTuple):
    """Result of :func:`solve_for`: the parameter value, the tuned scenario, what it achieves."""

    value: float
    scenario: Scenario
    achieved: dict


def solve_for(
    scenario: Scenario,
    parameter: str,
    *,
    target_range_m: float | None = None,
    target_apogee_m: float | None = None,
    obj: str = "rv",
    bracket: tuple[float, float] | None = None,
    xtol: float = 1e-6,
) -> SolveResult:
    """Value of ``parameter`` at which object ``obj`` reaches the target range or apogee.

    Exactly one of ``target_range_m`` / ``target_apogee_m`` [m]. ``bracket`` = (lo, hi) must
    enclose a sign change of achieved - target; by default x -/+ max(|x| / 2, 1) around the
    current value x. Raises ``ValueError`` if the bracket does not enclose the target.
    Ranges are signed (``downrange_m``, negative behind the launch site) so that a bracket
    reaching over the vertical does not give a false root.
    """
    if (target_range_m is None) == (target_apogee_m is None):
        raise ValueError("give exactly one of target_range_m and target_apogee_m")
    key, target = (
        ("downrange_m", float(target_range_m))  # type: ignore[arg-type]
        if target_range_m is not None
        else ("apogee_m", float(target_apogee_m))  # type: ignore[arg-type]
    )
    if not (math.isfinite(target) and target > 0):
        raise ValueError(f"target {key} = {target!r} must be a positive number of metres")
    x0 = float(get_parameter(scenario, parameter))
    half = max(abs(x0) / 2.0, 1.0)
    lo, hi = bracket if bracket is not None else (x0 - half, x0 + half)
    spent = obj != "rv"

    def achieved(x: float) -> float:
        sc = set_parameter(scenario, parameter, float(x))
        return flight_outcomes(sc, spent=spent)[obj][key]

    f_lo, f_hi = achieved(lo) - target, achieved(hi) - target
    if f_lo * f_hi > 0:
        raise ValueError(
            f"{parameter} in [{lo}, {hi}] gives {key} from {f_lo + target:.6g} to "
            f"{f_hi + target:.6g} m, which does not enclose the target {target:.6g} m; "
            "widen the bracket"
        )
    x = brentq(lambda x: achieved(x) - target, lo, hi, xtol=xtol)
    sc = set_parameter(scenario, parameter, float(x))
    return SolveResult(float(x), sc, flight_outcomes(sc, spent=spent)[obj])
